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

const char *cf_mask_member(const char *key, const char *in, char *out, size_t outsz)
{
    switch (personal_kind(key)) {
    case 0: return cf_mask_name(in, out, outsz);
    case 1: return cf_mask_number(in, out, outsz);
    case 2: return cf_mask_phone(in, out, outsz);
    case 3: snprintf(out, outsz, "***"); return out;
    default: return NULL;
    }
}
