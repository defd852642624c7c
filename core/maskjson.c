/* Masking of personal data in JSON documents (core/maskjson.h), member by member. */
#include "maskjson.h"

#include "base/mask.h"

/* The masked copy of `v`, the value of the personal member `key`. */
static json_t *mask_member(const char *key, const json_t *v)
{
    char out[512];

    if (!json_is_string(v))
        return json_string("***");
    return json_string(cf_mask_member(key, json_string_value(v), out, sizeof out));
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
            json_t *m = cf_mask_is_personal_key(key) && !json_is_null(member)
                            ? mask_member(key, member)
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
