/*
 * The server's route table against its OpenAPI document: every route is documented with the
 * roles that may use it, and the document lists no route the server lacks.  Also the UTF-8 check
 * every path segment and query parameter passes, and the field a schema error names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/ingest.h"
#include "server/internal.h"

static json_t *load_openapi(void)
{
    char path[4096];
    json_error_t jerr;
    json_t *doc;

    snprintf(path, sizeof path, "%s/server/openapi.json",
             getenv("CASEFLOW_SOURCE_DIR") ? getenv("CASEFLOW_SOURCE_DIR") : ".");
    doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        fprintf(stderr, "%s:%d:%d: %s\n", path, jerr.line, jerr.column, jerr.text);
    assert_non_null(doc);
    return doc;
}

static void lower(const char *in, char *out, size_t n)
{
    size_t i = 0;
    for (; in[i] && i + 1 < n; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

static void test_every_route_is_documented(void **state)
{
    (void)state;
    json_t *doc = load_openapi(), *paths = json_object_get(doc, "paths");
    int missing = 0;

    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    for (size_t i = 0; i < cf_nroutes; i++) {
        const cf_route *r = &cf_routes[i];
        char method[16];
        json_t *op, *roles, *v;
        unsigned documented = 0;
        size_t k;

        lower(r->method, method, sizeof method);
        op = json_object_get(json_object_get(paths, r->pattern), method);
        if (!op) {
            fprintf(stderr, "server/openapi.json lacks %s %s\n", r->method, r->pattern);
            missing++;
            continue;
        }
        roles = json_object_get(op, "x-roles");
        assert_true(json_is_array(roles));
        json_array_foreach (roles, k, v) {
            cf_role role;
            assert_int_equal(cf_role_parse(json_string_value(v), &role), 0);
            documented |= role;
        }
        if (documented != r->roles) {
            fprintf(stderr, "%s %s: the document says roles %#x, the route table %#x\n", r->method,
                    r->pattern, documented, r->roles);
            missing++;
        }
    }
    assert_int_equal(missing, 0);
    json_decref(doc);
}

static void test_document_lists_only_real_routes(void **state)
{
    (void)state;
    json_t *doc = load_openapi(), *ops;
    const char *path, *method;
    int extra = 0;

    json_object_foreach (json_object_get(doc, "paths"), path, ops) {
        json_t *op;
        (void)op;
        json_object_foreach (ops, method, op) {
            int found = 0;
            for (size_t i = 0; i < cf_nroutes && !found; i++) {
                char m[16];
                lower(cf_routes[i].method, m, sizeof m);
                found = strcmp(cf_routes[i].pattern, path) == 0 && strcmp(m, method) == 0;
            }
            if (!found) {
                fprintf(stderr, "server/openapi.json documents %s %s, which the server lacks\n",
                        method, path);
                extra++;
            }
        }
    }
    assert_int_equal(extra, 0);
    json_decref(doc);
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(cf_utf8_ok("(2026)豫0381执301号"));
    assert_true(cf_utf8_ok(""));
    assert_false(cf_utf8_ok("\xff"));
    assert_false(cf_utf8_ok("a\xc3"));        /* cut short */
    assert_false(cf_utf8_ok("\xc0\xaf"));     /* overlong '/' */
    assert_false(cf_utf8_ok("\xed\xa0\x80")); /* a surrogate */
    assert_false(cf_utf8_ok("a\nb"));         /* a control character */
}

static void test_utf8_clean(void **state)
{
    char out[16];
    (void)state;
    cf_utf8_clean("a\xff"
                  "b",
                  out, sizeof out);
    assert_string_equal(out, "a?b");
    cf_utf8_clean("豫0381执", out, sizeof out);
    assert_string_equal(out, "豫0381执");
    cf_utf8_clean("豫豫豫豫豫豫", out, 8); /* room for two characters and a half */
    assert_string_equal(out, "豫豫");
    cf_utf8_clean("ab\xe8\xb1", out, sizeof out); /* cut inside a character */
    assert_string_equal(out, "ab??");
}

static void test_error_field(void **state)
{
    char f[128];
    (void)state;
    cf_ingest_error_field("/data/amount: must be >= 0", f, sizeof f);
    assert_string_equal(f, "/data/amount");
    cf_ingest_error_field("(root): missing required property 'case'", f, sizeof f);
    assert_string_equal(f, "/case");
    cf_ingest_error_field("/data: missing required property 'court'", f, sizeof f);
    assert_string_equal(f, "/data/court");
    cf_ingest_error_field("no colon here", f, sizeof f);
    assert_string_equal(f, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_is_documented),
        cmocka_unit_test(test_document_lists_only_real_routes),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_utf8_clean),
        cmocka_unit_test(test_error_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
