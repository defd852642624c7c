/*
 * libFuzzer target for `caseflow feed`'s line check (core/feedline.h): any bytes are one line of
 * the filing system's export, checked against the envelope and its type's schema with the
 * court's event schemas (schemas/events).  The promises: a line is refused with a reason that
 * never quotes it (it may hold a party's name), or accepted as an event whose case number is
 * canonical already (checking the accepted event again changes nothing).
 */
#include "fuzz.h"

#include <jansson.h>

#include "core/caseno.h"
#include "core/feedline.h"
#include "core/schema.h"

static cf_schema_set *schemas(void)
{
    static cf_schema_set *set;
    char dir[4096], err[512];

    if (set)
        return set;
    set = cf_schema_set_new();
    FUZZ_CHECK(set != NULL);
    if (cf_schema_set_load_dir(set, fuzz_source_path("schemas/events", dir, sizeof dir), err,
                               sizeof err) != 0) {
        fprintf(stderr, "fuzz_feedline: %s\n", err);
        abort();
    }
    return set;
}

/* The reason must not carry a piece of the line longer than a few bytes that a name could be. */
static void check_reason(const char *err, const char *line, size_t len)
{
    FUZZ_CHECK(err[0] != '\0');
    /* jansson's "near 'TOKEN'" echoes the line: not in a reason (unless the line wrote it, as a
     * property's name the schema then names). */
    if (!strstr(line, " near '"))
        FUZZ_CHECK(strstr(err, " near '") == NULL);
    if (len >= 24 && memchr(line, '\0', len) == NULL)
        FUZZ_CHECK(strstr(err, line) == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const cf_schema_set *set = schemas();
    const cf_schema *envelope = cf_schema_set_get(set, "envelope");
    char err[1024] = "", *text = fuzz_copy(data, size), *again_text;
    json_t *ev = NULL, *again = NULL;

    FUZZ_CHECK(envelope != NULL);
    if (!text)
        return 0;
    if (cf_feedline_check(set, envelope, text, size, &ev, err, sizeof err) != 0) {
        FUZZ_CHECK(ev == NULL);
        check_reason(err, text, size);
        free(text);
        return 0;
    }
    /* What was accepted, written out and checked again, is accepted as it is. */
    again_text = json_dumps(ev, JSON_COMPACT);
    FUZZ_CHECK(again_text != NULL);
    FUZZ_CHECK(cf_feedline_check(set, envelope, again_text, strlen(again_text), &again, err,
                                 sizeof err) == 0);
    FUZZ_CHECK(json_equal(ev, again));
    json_decref(again);
    free(again_text);
    json_decref(ev);
    free(text);
    return 0;
}
