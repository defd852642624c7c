/* Checking one line of the filing system's export: JSON, the case number, the schemas. */
#include "feedline.h"

#include <stdlib.h>
#include <string.h>

#include "core/caseno.h"

/* Puts the event's case number in the canonical form; 0, or an error code with `err` set. */
static int canonical_case(json_t *ev, char *err, size_t errsz)
{
    const char *given = json_string_value(json_object_get(ev, "case"));
    size_t n;
    char *canon;
    int rc = 0;

    if (!given)
        return 0;
    n = strlen(given) + 1;
    if (!(canon = malloc(n)))
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    if (cf_caseno_normalize(given, canon, n) != 0 ||
        json_object_set_new(ev, "case", json_string(canon)) != 0)
        rc = cf_errf(err, errsz, CF_EINVAL, "/case: cannot be put in its canonical form");
    free(canon);
    return rc;
}

int cf_feedline_check(const cf_schema_set *schemas, const cf_schema *envelope, const char *text,
                      size_t len, json_t **event, char *err, size_t errsz)
{
    char why[512];
    json_error_t jerr;
    const cf_schema *schema;
    const char *type, *key;
    cf_caseno caseno;
    json_t *ev;
    int rc;

    *event = NULL;
    ev = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!ev) {
        /* jansson quotes the text near the error, which may be a party's name: drop it. */
        char *near = strstr(jerr.text, " near '");
        if (near)
            *near = '\0';
        return cf_errf(err, errsz, CF_EINVAL, "column %d: not JSON: %s", jerr.column, jerr.text);
    }
    if (!json_is_object(ev)) {
        rc = cf_errf(err, errsz, CF_EINVAL, "not an event: a JSON object is expected");
        goto bad;
    }
    /* One case has one number however it is written: the line is checked with its case in the
     * canonical form, and keyed by it, so that every form of a case lands in the same
     * partition. */
    if ((rc = canonical_case(ev, err, errsz)) != 0)
        goto bad;
    /* The schema can only say that a case number matches none of its patterns; the parser
     * says what is wrong with it. */
    key = json_string_value(json_object_get(ev, "case"));
    if (key && strncmp(key, "PAY-", 4) != 0 && strcmp(key, "-") != 0 &&
        cf_caseno_parse(key, &caseno, why, sizeof why) != 0) {
        rc = cf_errf(err, errsz, CF_EINVAL, "/case: %s", why);
        goto bad;
    }
    if (cf_schema_validate(envelope, ev, why, sizeof why) != 0) {
        rc = cf_errf(err, errsz, CF_EINVAL, "envelope: %s", why);
        goto bad;
    }
    type = json_string_value(json_object_get(ev, "type"));
    if (!(schema = cf_schema_set_get(schemas, type))) {
        rc = cf_errf(err, errsz, CF_EINVAL, "/type: no schema for event type '%s'", type);
        goto bad;
    }
    if (cf_schema_validate(schema, ev, why, sizeof why) != 0) {
        rc = cf_errf(err, errsz, CF_EINVAL, "%s: %s", type, why);
        goto bad;
    }
    *event = ev;
    return 0;
bad:
    json_decref(ev);
    return rc;
}
