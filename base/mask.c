/* Masking of personal data (names, identity numbers, phones, addresses, amounts) for logs. */
#include "mask.h"

#include <stdio.h>
#include <string.h>

/* Length in bytes of the UTF-8 sequence that starts with byte `c`. */
static size_t utf8_len(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0)
        return 2;
    if ((c & 0xF0) == 0xE0)
        return 3;
    if ((c & 0xF8) == 0xF0)
        return 4;
    return 1;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (size_t i = 0; s[i]; i += utf8_len((unsigned char)s[i]))
        n++;
    return n;
}

/* Keeps the first `head` and last `tail` characters of `in` and writes '*' for the rest. */
static const char *keep_ends(const char *in, size_t head, size_t tail, char *out, size_t outsz)
{
    size_t total, pos = 0, o = 0, idx = 0;

    if (outsz == 0)
        return out;
    if (!in)
        in = "";
    total = utf8_chars(in);
    if (head + tail >= total) {
        /* Too short to show any part safely: hide every character but the first. */
        head = total > 1 ? 1 : 0;
        tail = 0;
    }
    while (in[pos] && o + 5 < outsz) {
        size_t len = utf8_len((unsigned char)in[pos]);
        if (idx < head || idx >= total - tail) {
            memcpy(out + o, in + pos, len);
            o += len;
        } else {
            out[o++] = '*';
        }
        pos += len;
        idx++;
    }
    out[o] = '\0';
    return out;
}

const char *cf_mask_name(const char *in, char *out, size_t outsz)
{
    return keep_ends(in, 1, 0, out, outsz);
}

const char *cf_mask_number(const char *in, char *out, size_t outsz)
{
    return keep_ends(in, 2, 2, out, outsz);
}

const char *cf_mask_phone(const char *in, char *out, size_t outsz)
{
    return keep_ends(in, 3, 4, out, outsz);
}

/* Keys whose values are parties' personal data.  The schemas in schemas/ use these names. */
static const struct {
    const char *key;
    int kind; /* 0 name, 1 number, 2 phone, 3 hidden whole */
} personal_keys[] = {
    {"name", 0},      {"party_name", 0}, {"payer_name", 0},     {"legal_representative", 0},
    {"id_number", 1}, {"account", 1},    {"account_number", 1}, {"credit_code", 1},
    {"phone", 2},     {"mobile", 2},     {"address", 3},        {"delivery_address", 3},
    {"amount", 3},    {"principal", 3},  {"remark", 3},         {"payee", 0},
};

static int personal_kind(const char *key)
{
    for (size_t i = 0; i < sizeof personal_keys / sizeof personal_keys[0]; i++)
        if (strcmp(key, personal_keys[i].key) == 0)
            return personal_keys[i].kind;
    return -1;
}

int cf_mask_is_personal_key(const char *key)
{
    return personal_kind(key) >= 0;
}

static json_t *mask_value(int kind, const json_t *v)
{
    char in[512], out[512];

    if (kind == 3 || !json_is_string(v))
        return json_string("***");
    snprintf(in, sizeof in, "%s", json_string_value(v));
    switch (kind) {
    case 0: cf_mask_name(in, out, sizeof out); break;
    case 1: cf_mask_number(in, out, sizeof out); break;
    default: cf_mask_phone(in, out, sizeof out); break;
    }
    return json_string(out);
}

json_t *cf_mask_json(const json_t *v)
{
    if (json_is_object(v)) {
        json_t *copy = json_object();
        const char *key;
        json_t *member;
        if (!copy)
            return NULL;
        /* jansson's iteration macro takes a non-const object; it does not modify it. */
        json_object_foreach ((json_t *)v, key, member) {
            int kind = personal_kind(key);
            json_t *m = kind >= 0 && !json_is_null(member) ? mask_value(kind, member)
                                                           : cf_mask_json(member);
            if (!m || json_object_set_new(copy, key, m) != 0) {
                json_decref(copy);
                return NULL;
            }
        }
        return copy;
    }
    if (json_is_array(v)) {
        json_t *copy = json_array();
        size_t i;
        json_t *item;
        if (!copy)
            return NULL;
        json_array_foreach ((json_t *)v, i, item) {
            json_t *m = cf_mask_json(item);
            if (!m || json_array_append_new(copy, m) != 0) {
                json_decref(copy);
                return NULL;
            }
        }
        return copy;
    }
    return json_deep_copy(v);
}

char *cf_mask_json_dumps(const json_t *v)
{
    json_t *m = cf_mask_json(v);
    char *s;
    if (!m)
        return NULL;
    s = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(m);
    return s;
}
