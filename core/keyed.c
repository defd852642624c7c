/*
 * Keyed work (keyed.h): naming instances NAME#KEY and matching them to the workflow's names.
 */
#include "keyed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cf_keyed_name(const char *name, const json_t *key, char *buf, size_t n)
{
    char k[128];
    int len;

    if (json_is_string(key))
        snprintf(k, sizeof k, "%s", json_string_value(key));
    else if (json_is_integer(key))
        snprintf(k, sizeof k, "%lld", (long long)json_integer_value(key));
    else
        return CF_EINVAL;
    if (!k[0] || strchr(k, CF_KEYED_SEP))
        return CF_EINVAL;
    len = snprintf(buf, n, "%s%c%s", name, CF_KEYED_SEP, k);
    return len < 0 || (size_t)len >= n ? CF_ERANGE : 0;
}

int cf_keyed_match(const char *name, const char *instance, const char **key)
{
    size_t len = strlen(name);

    *key = NULL;
    if (strncmp(name, instance, len) != 0)
        return 0;
    if (instance[len] == '\0')
        return 1;
    if (instance[len] != CF_KEYED_SEP)
        return 0;
    *key = instance + len + 1;
    return 1;
}

const char *cf_keyed_key(const char *instance)
{
    const char *sep = instance ? strchr(instance, CF_KEYED_SEP) : NULL;
    return sep ? sep + 1 : NULL;
}

static int by_bytes(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *cf_keyed_entries(const json_t *obj)
{
    size_t n = json_is_object(obj) ? json_object_size(obj) : 0, i = 0;
    const char **names = malloc((n ? n : 1) * sizeof *names);
    json_t *out = json_array(), *v;
    const char *k;

    if (!names || !out) {
        free(names);
        json_decref(out);
        return NULL;
    }
    if (n) {
        json_object_foreach ((json_t *)obj, k, v) {
            (void)v;
            names[i++] = k;
        }
        qsort(names, n, sizeof *names, by_bytes);
    }
    for (i = 0; i < n; i++)
        json_array_append_new(out, json_string(names[i]));
    free(names);
    return out;
}
