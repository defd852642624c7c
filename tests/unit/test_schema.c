/*
 * Unit tests of core/schema: the official JSON-Schema-Test-Suite (draft-07), error messages and
 * their instance locations, load errors, references across a folder of schemas, the recursion
 * bound, and the event schemas of schemas/events against the samples in tests/data/events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/schema.h"
#include "fixture.h"

/* Installed by the Debian package json-schema-test-suite, a declared test dependency. */
#define SUITE_DIR "/usr/share/json-schema-test-suite/tests/draft7"

/* The draft-07 meta-schema (http://json-schema.org/draft-07/schema), which a few suite cases
 * refer to.  Remote references are never fetched, so the test loads it into each set itself. */
static const char draft07_meta_schema[] =
    "{\"$schema\":\"http://json-schema.org/draft-07/schema#\","
    "\"$id\":\"http://json-schema.org/draft-07/schema#\",\"title\":\"Core schema meta-schema\","
    "\"definitions\":{\"schemaArray\":{\"type\":\"array\",\"minItems\":1,\"items\":{\"$ref\":\"#\"}"
    "},"
    "\"nonNegativeInteger\":{\"type\":\"integer\",\"minimum\":0},"
    "\"nonNegativeIntegerDefault0\":{\"allOf\":[{\"$ref\":\"#/definitions/nonNegativeInteger\"},"
    "{\"default\":0}]},\"simpleTypes\":{\"enum\":[\"array\",\"boolean\",\"integer\",\"null\","
    "\"number\","
    "\"object\",\"string\"]},\"stringArray\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
    "\"uniqueItems\":true,\"default\":[]}},\"type\":[\"object\",\"boolean\"],"
    "\"properties\":{\"$id\":{\"type\":\"string\",\"format\":\"uri-reference\"},"
    "\"$schema\":{\"type\":\"string\",\"format\":\"uri\"},\"$ref\":{\"type\":\"string\","
    "\"format\":\"uri-reference\"},\"$comment\":{\"type\":\"string\"},\"title\":{\"type\":"
    "\"string\"},"
    "\"description\":{\"type\":\"string\"},\"default\":true,\"readOnly\":{\"type\":\"boolean\","
    "\"default\":false},\"examples\":{\"type\":\"array\",\"items\":true},\"multipleOf\":{\"type\":"
    "\"number\","
    "\"exclusiveMinimum\":0},\"maximum\":{\"type\":\"number\"},\"exclusiveMaximum\":{\"type\":"
    "\"number\"},"
    "\"minimum\":{\"type\":\"number\"},\"exclusiveMinimum\":{\"type\":\"number\"},"
    "\"maxLength\":{\"$ref\":\"#/definitions/nonNegativeInteger\"},"
    "\"minLength\":{\"$ref\":\"#/definitions/nonNegativeIntegerDefault0\"},"
    "\"pattern\":{\"type\":\"string\",\"format\":\"regex\"},\"additionalItems\":{\"$ref\":\"#\"},"
    "\"items\":{\"anyOf\":[{\"$ref\":\"#\"},{\"$ref\":\"#/definitions/"
    "schemaArray\"}],\"default\":true},"
    "\"maxItems\":{\"$ref\":\"#/definitions/nonNegativeInteger\"},"
    "\"minItems\":{\"$ref\":\"#/definitions/nonNegativeIntegerDefault0\"},"
    "\"uniqueItems\":{\"type\":\"boolean\",\"default\":false},\"contains\":{\"$ref\":\"#\"},"
    "\"maxProperties\":{\"$ref\":\"#/definitions/nonNegativeInteger\"},"
    "\"minProperties\":{\"$ref\":\"#/definitions/nonNegativeIntegerDefault0\"},"
    "\"required\":{\"$ref\":\"#/definitions/"
    "stringArray\"},\"additionalProperties\":{\"$ref\":\"#\"},"
    "\"definitions\":{\"type\":\"object\",\"additionalProperties\":{\"$ref\":\"#\"},\"default\":{}}"
    ","
    "\"properties\":{\"type\":\"object\",\"additionalProperties\":{\"$ref\":\"#\"},\"default\":{}},"
    "\"patternProperties\":{\"type\":\"object\",\"additionalProperties\":{\"$ref\":\"#\"},"
    "\"propertyNames\":{\"format\":\"regex\"},\"default\":{}},\"dependencies\":{\"type\":"
    "\"object\","
    "\"additionalProperties\":{\"anyOf\":[{\"$ref\":\"#\"},{\"$ref\":\"#/definitions/"
    "stringArray\"}]}},"
    "\"propertyNames\":{\"$ref\":\"#\"},\"const\":true,\"enum\":{\"type\":\"array\",\"items\":true}"
    ","
    "\"type\":{\"anyOf\":[{\"$ref\":\"#/definitions/simpleTypes\"},{\"type\":\"array\","
    "\"items\":{\"$ref\":\"#/definitions/simpleTypes\"},\"minItems\":1,\"uniqueItems\":true}]},"
    "\"format\":{\"type\":\"string\"},\"contentMediaType\":{\"type\":\"string\"},"
    "\"contentEncoding\":{\"type\":\"string\"},\"if\":{\"$ref\":\"#\"},\"then\":{\"$ref\":\"#\"},"
    "\"else\":{\"$ref\":\"#\"},\"allOf\":{\"$ref\":\"#/definitions/schemaArray\"},"
    "\"anyOf\":{\"$ref\":\"#/definitions/schemaArray\"},"
    "\"oneOf\":{\"$ref\":\"#/definitions/"
    "schemaArray\"},\"not\":{\"$ref\":\"#\"}},\"default\":true}";

/* ---- the official test suite ------------------------------------------------------------ */

/* The files of SUITE_DIR that are run: every keyword the validator supports. */
static const char *const suite_files[] = {
    "additionalItems.json",
    "additionalProperties.json",
    "allOf.json",
    "anyOf.json",
    "boolean_schema.json",
    "const.json",
    "contains.json",
    "default.json",
    "definitions.json",
    "dependencies.json",
    "enum.json",
    "exclusiveMaximum.json",
    "exclusiveMinimum.json",
    "if-then-else.json",
    "items.json",
    "maxItems.json",
    "maxLength.json",
    "maxProperties.json",
    "maximum.json",
    "minItems.json",
    "minLength.json",
    "minProperties.json",
    "minimum.json",
    "multipleOf.json",
    "not.json",
    "oneOf.json",
    "pattern.json",
    "patternProperties.json",
    "properties.json",
    "propertyNames.json",
    "ref.json",
    "required.json",
    "type.json",
    "uniqueItems.json",
    /* Optional tests that hold for this validator: 1.0 is an integer, as draft-07 says, and the
     * three formats it asserts. */
    "optional/zeroTerminatedFloats.json",
    "optional/format/date-time.json",
    "optional/format/date.json",
    "optional/format/email.json",
};

/* Every other file of SUITE_DIR, and why it is not run.  A file in neither list fails the test,
 * so that a new version of the suite is looked at rather than silently half-run. */
static const struct {
    const char *file;
    const char *reason;
} skipped_files[] = {
    {"refRemote.json", "needs schemas served from http://localhost:1234; remote references are "
                       "never fetched"},
    {"optional/bignum.json", "optional: integers beyond 64 bits, which jansson cannot parse"},
    {"optional/content.json", "optional: contentMediaType and contentEncoding are not asserted"},
    {"optional/ecmascript-regex.json", "optional: tests format \"regex\", which is not asserted"},
    {"optional/format/hostname.json", "format not asserted (accepted and ignored)"},
    {"optional/format/idn-email.json", "format not asserted (accepted and ignored)"},
    {"optional/format/idn-hostname.json", "format not asserted (accepted and ignored)"},
    {"optional/format/ipv4.json", "format not asserted (accepted and ignored)"},
    {"optional/format/ipv6.json", "format not asserted (accepted and ignored)"},
    {"optional/format/iri-reference.json", "format not asserted (accepted and ignored)"},
    {"optional/format/iri.json", "format not asserted (accepted and ignored)"},
    {"optional/format/json-pointer.json", "format not asserted (accepted and ignored)"},
    {"optional/format/regex.json", "format not asserted (accepted and ignored)"},
    {"optional/format/relative-json-pointer.json", "format not asserted (accepted and ignored)"},
    {"optional/format/time.json", "format not asserted (accepted and ignored)"},
    {"optional/format/uri-reference.json", "format not asserted (accepted and ignored)"},
    {"optional/format/uri-template.json", "format not asserted (accepted and ignored)"},
    {"optional/format/uri.json", "format not asserted (accepted and ignored)"},
};

/* Single cases of the files run that are skipped (file, group, test; NULL test: the whole
 * group), and why.  None is needed at present; the last entry only ends the list. */
static const struct {
    const char *file;
    const char *group;
    const char *test;
    const char *reason;
} skipped_cases[] = {
    {NULL, NULL, NULL, NULL},
};

struct tally {
    int passed, skipped, failed;
};

static const char *skip_reason(const char *file, const char *group, const char *test)
{
    for (size_t i = 0; skipped_cases[i].file; i++) {
        if (strcmp(skipped_cases[i].file, file) == 0 &&
            strcmp(skipped_cases[i].group, group) == 0 &&
            (!skipped_cases[i].test || strcmp(skipped_cases[i].test, test) == 0))
            return skipped_cases[i].reason;
    }
    return NULL;
}

static int is_listed(const char *file)
{
    for (size_t i = 0; i < sizeof suite_files / sizeof *suite_files; i++) {
        if (strcmp(suite_files[i], file) == 0)
            return 1;
    }
    for (size_t i = 0; i < sizeof skipped_files / sizeof *skipped_files; i++) {
        if (strcmp(skipped_files[i].file, file) == 0)
            return 1;
    }
    return 0;
}

/* Fails for each *.json below SUITE_DIR/`sub` that neither list accounts for. */
static int count_unlisted(const char *sub)
{
    char path[512], rel[512];
    int unlisted = 0;
    snprintf(path, sizeof path, "%s%s%s", SUITE_DIR, *sub ? "/" : "", sub);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        snprintf(rel, sizeof rel, "%s%s%s", sub, *sub ? "/" : "", e->d_name);
        if (!is_listed(rel)) {
            print_error("suite file %s is neither run nor listed as skipped\n", rel);
            unlisted++;
        }
    }
    closedir(d);
    return unlisted;
}

static void run_suite_file(const char *file, struct tally *t)
{
    char path[512], err[1024];
    json_error_t jerr;
    snprintf(path, sizeof path, "%s/%s", SUITE_DIR, file);
    json_t *groups = json_load_file(path, 0, &jerr);
    json_t *meta = json_loads(draft07_meta_schema, 0, &jerr);
    size_t gi, ti;
    json_t *group, *test;
    assert_non_null(meta);
    if (!groups) {
        print_error("%s:%d:%d: %s\n", path, jerr.line, jerr.column, jerr.text);
        t->failed++;
        json_decref(meta);
        return;
    }
    json_array_foreach (groups, gi, group) {
        const char *gdesc = json_string_value(json_object_get(group, "description"));
        cf_schema_set *set = cf_schema_set_new();
        assert_non_null(set);
        assert_int_equal(cf_schema_set_add(set, "draft-07", meta, err, sizeof err), 0);
        int rc = cf_schema_set_add(set, "case", json_object_get(group, "schema"), err, sizeof err);
        const cf_schema *schema = cf_schema_set_get(set, "case");
        json_array_foreach (json_object_get(group, "tests"), ti, test) {
            const char *tdesc = json_string_value(json_object_get(test, "description"));
            int expect = json_is_true(json_object_get(test, "valid"));
            char verr[1024];
            if (skip_reason(file, gdesc, tdesc)) {
                t->skipped++;
                continue;
            }
            if (rc != 0) {
                print_error("FAIL %s | %s | %s: schema rejected: %s\n", file, gdesc, tdesc, err);
                t->failed++;
                continue;
            }
            int vrc = cf_schema_validate(schema, json_object_get(test, "data"), verr, sizeof verr);
            int valid = vrc == 0;
            if ((vrc != 0 && vrc != CF_ESCHEMA) || valid != expect || (!valid && !verr[0])) {
                print_error("FAIL %s | %s | %s: expected %s, got %s (%s)\n", file, gdesc, tdesc,
                            expect ? "valid" : "invalid", valid ? "valid" : "invalid",
                            valid ? "" : verr);
                t->failed++;
            } else {
                t->passed++;
            }
        }
        cf_schema_set_free(set);
    }
    json_decref(groups);
    json_decref(meta);
}

static void test_official_suite(void **state)
{
    (void)state;
    struct stat st;
    struct tally t = {0, 0, 0};
    if (stat(SUITE_DIR, &st) != 0 || !S_ISDIR(st.st_mode))
        fail_msg("the JSON-Schema-Test-Suite is missing: %s does not exist. Install the Debian "
                 "package json-schema-test-suite (a declared dependency of the tests).",
                 SUITE_DIR);
    int unlisted =
        count_unlisted("") + count_unlisted("optional") + count_unlisted("optional/format");
    for (size_t i = 0; i < sizeof suite_files / sizeof *suite_files; i++)
        run_suite_file(suite_files[i], &t);
    print_message("draft7 suite: %d cases passed, %d skipped, %d failed; %zu files run, %zu "
                  "files skipped\n",
                  t.passed, t.skipped, t.failed, sizeof suite_files / sizeof *suite_files,
                  sizeof skipped_files / sizeof *skipped_files);
    for (size_t i = 0; i < sizeof skipped_files / sizeof *skipped_files; i++)
        print_message("  skipped %s: %s\n", skipped_files[i].file, skipped_files[i].reason);
    for (size_t i = 0; skipped_cases[i].file; i++)
        print_message("  skipped %s | %s | %s: %s\n", skipped_cases[i].file, skipped_cases[i].group,
                      skipped_cases[i].test ? skipped_cases[i].test : "(all)",
                      skipped_cases[i].reason);
    assert_int_equal(unlisted, 0);
    assert_int_equal(t.failed, 0);
    assert_true(t.passed > 400);
}

/* ---- helpers for the tests of our own ---------------------------------------------------- */

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!j)
        fail_msg("test JSON does not parse: %s: %s", jerr.text, text);
    return j;
}

/* Compiles `schema` as the only document of a new set; the caller frees the set. */
static cf_schema_set *compile_one(const char *schema, const cf_schema **out)
{
    char err[512];
    cf_schema_set *set = cf_schema_set_new();
    json_t *j = parse(schema);
    assert_non_null(set);
    int rc = cf_schema_set_add(set, "t", j, err, sizeof err);
    json_decref(j);
    if (rc != 0)
        fail_msg("schema rejected: %s", err);
    *out = cf_schema_set_get(set, "t");
    assert_non_null(*out);
    return set;
}

/* Validates `instance` against `schema`: expects `message` exactly, or validity when NULL. */
static void expect(const char *schema, const char *instance, const char *message)
{
    const cf_schema *s;
    cf_schema_set *set = compile_one(schema, &s);
    json_t *x = parse(instance);
    char err[512];
    int rc = cf_schema_validate(s, x, err, sizeof err);
    if (message) {
        assert_int_equal(rc, CF_ESCHEMA);
        assert_string_equal(err, message);
    } else {
        if (rc != 0)
            fail_msg("expected valid, got: %s", err);
        assert_string_equal(err, "");
    }
    json_decref(x);
    cf_schema_set_free(set);
}

/* Expects `schema` to be rejected with a message that contains `part`. */
static void expect_bad_schema(const char *schema, int code, const char *part)
{
    char err[512];
    cf_schema_set *set = cf_schema_set_new();
    json_t *j = parse(schema);
    int rc = cf_schema_set_add(set, "bad", j, err, sizeof err);
    json_decref(j);
    assert_int_equal(rc, code);
    if (!strstr(err, part))
        fail_msg("message '%s' lacks '%s'", err, part);
    assert_null(cf_schema_set_get(set, "bad"));
    cf_schema_set_free(set);
}

static char *make_dir(void)
{
    char tmpl[] = "/tmp/cf-schema-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void remove_dir(char *dir)
{
    char path[512];
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
    free(dir);
}

/* ---- error messages ---------------------------------------------------------------------- */

static const char event_schema[] =
    "{\"type\": \"object\", \"properties\": {\"data\": {\"type\": \"object\","
    " \"required\": [\"court\"], \"additionalProperties\": false,"
    " \"properties\": {\"court\": {\"type\": \"string\"}, \"kind\": {\"enum\": [\"money\", "
    "\"act\"]},"
    "  \"parties\": {\"type\": \"array\", \"items\": {\"type\": \"object\", \"properties\":"
    "   {\"id_number\": {\"type\": \"string\", \"pattern\": \"^[0-9]{17}[0-9X]$\"}}}}}}}}";

static void test_messages_name_the_location(void **state)
{
    (void)state;
    expect(event_schema,
           "{\"data\": {\"court\": \"豫0381\", \"parties\": [{\"id_number\": "
           "\"41038119900101123X\"}]}}",
           NULL);
    expect(event_schema,
           "{\"data\": {\"court\": \"豫0381\", \"parties\": [{\"id_number\": \"4103811990\"}]}}",
           "/data/parties/0/id_number: does not match pattern ^[0-9]{17}[0-9X]$");
    expect(event_schema, "{\"data\": {\"parties\": []}}",
           "/data: missing required property 'court'");
    expect(event_schema, "{\"data\": {\"court\": \"x\", \"courtt\": 1}}",
           "/data: property 'courtt' is not allowed");
    expect(event_schema, "{\"data\": {\"court\": \"x\", \"kind\": \"cash\"}}",
           "/data/kind: must be one of [\"money\",\"act\"]");
    expect(event_schema, "[]", "(root): expected object, got array");
    expect(event_schema, "{\"data\": {\"court\": 5}}", "/data/court: expected string, got integer");
    /* "~" and "/" in member names are escaped as JSON pointers require. */
    expect("{\"properties\": {\"a/b\": {\"properties\": {\"c~d\": {\"type\": \"null\"}}}}}",
           "{\"a/b\": {\"c~d\": 1}}", "/a~1b/c~0d: expected null, got integer");
    expect("{\"type\": [\"string\", \"null\"]}", "1.5",
           "(root): expected null or string, got number");
    expect("{\"minimum\": 0, \"exclusiveMaximum\": 10, \"multipleOf\": 0.01}", "-1",
           "(root): must be >= 0");
    expect("{\"minimum\": 0, \"exclusiveMaximum\": 10, \"multipleOf\": 0.01}", "10",
           "(root): must be < 10");
    expect("{\"multipleOf\": 0.01}", "12000.07", NULL);
    expect("{\"multipleOf\": 0.01}", "0.015", "(root): must be a multiple of 0.01");
    expect("{\"items\": [{}, {}], \"additionalItems\": false}", "[1, 2, 3]",
           "(root): has 3 items, at most 2 allowed");
    expect("{\"uniqueItems\": true}", "[1, {\"a\": [1.0]}, {\"a\": [1]}]",
           "(root): items 1 and 2 are equal, but items must be unique");
    expect("{\"dependencies\": {\"amount\": [\"claim_kind\"]}}", "{\"amount\": 1}",
           "(root): property 'amount' requires property 'claim_kind'");
    expect("{\"propertyNames\": {\"pattern\": \"^[a-z_]+$\"}}", "{\"ok\": 1, \"Bad\": 2}",
           "(root): property name 'Bad' is not allowed");
    expect("{\"const\": \"-\"}", "\"x\"", "(root): must be \"-\"");
    expect("{\"not\": {\"type\": \"string\"}}", "\"x\"",
           "(root): must not match the schema of 'not'");
    expect("{\"oneOf\": [{\"type\": \"integer\"}, {\"minimum\": 0}]}", "1",
           "(root): matches alternatives 0 and 1 of oneOf, but must match one only");
    expect("{\"properties\": {\"case\": {\"anyOf\": [{\"pattern\": \"^\\\\(\"}, {\"pattern\": "
           "\"^PAY-\"}]}}}",
           "{\"case\": \"x\"}",
           "/case: matches none of the 2 alternatives of anyOf: /case: does not match pattern "
           "^\\(; /case: does not match pattern ^PAY-");
    expect("{\"contains\": {\"const\": 1}}", "[2, 3]",
           "(root): has no item that matches 'contains'");
    expect("{\"items\": false}", "[1]", "/0: no value is allowed here");
    /* if/then: the violation is reported from the branch that applies, at its place. */
    expect("{\"if\": {\"properties\": {\"kind\": {\"const\": \"person\"}}}, \"then\": "
           "{\"properties\": {\"id\": {\"pattern\": \"^[0-9]{17}[0-9X]$\"}}}, \"else\": "
           "{\"properties\": {\"id\": {\"maxLength\": 3}}}}",
           "{\"kind\": \"company\", \"id\": \"1234\"}", "/id: is longer than 3 characters");
}

static void test_strings_count_code_points(void **state)
{
    (void)state;
    const char *schema = "{\"minLength\": 2, \"maxLength\": 3}";
    expect(schema, "\"张三\"", NULL);
    expect(schema, "\"张三丰\"", NULL);
    expect(schema, "\"张\"", "(root): is shorter than 2 characters");
    expect(schema, "\"洛阳市某\"", "(root): is longer than 3 characters");
    /* As in ECMAScript, "$" does not match before a final newline. */
    expect("{\"pattern\": \"^[0-9]{17}[0-9X]$\"}", "\"41038119900101123X\\n\"",
           "(root): does not match pattern ^[0-9]{17}[0-9X]$");
    expect("{\"pattern\": \"^\\\\p{Han}{2}$\"}", "\"执恢\"", NULL);
}

static void test_formats(void **state)
{
    (void)state;
    const char *dt = "{\"format\": \"date-time\"}";
    expect(dt, "\"2026-03-02T09:30:00+08:00\"", NULL);
    expect(dt, "\"2024-02-29T23:59:59.999Z\"", NULL);
    expect(dt, "\"2016-12-31T23:59:60Z\"", NULL);
    expect(dt, "\"2017-01-01T07:59:60+08:00\"", NULL);
    const char *bad_dt[] = {"\"2026-03-02T09:30:00\"",      "\"2026-03-02 09:30:00+08:00\"",
                            "\"2023-02-29T00:00:00Z\"",     "\"2026-03-02T24:00:00Z\"",
                            "\"2026-03-02T09:30:00+8:00\"", "\"2026-03-02T09:30:00.Z\"",
                            "\"2026-03-02T12:00:60Z\"",     "\"2026-13-01T00:00:00Z\""};
    for (size_t i = 0; i < sizeof bad_dt / sizeof *bad_dt; i++)
        expect(dt, bad_dt[i],
               "(root): is not a date-time (RFC 3339, e.g. 2026-03-01T09:30:00+08:00)");
    /* What PostgreSQL stores: years 0001-9999 and offsets within -15:59 and +15:59. */
    expect(dt, "\"0001-01-01T00:00:00Z\"", NULL);
    expect(dt, "\"9999-12-31T23:59:59.999Z\"", NULL);
    expect(dt, "\"2026-03-02T09:30:00+15:59\"", NULL);
    expect(dt, "\"2026-03-02T09:30:00-15:59\"", NULL);
    const char *bad_offset[] = {"\"2026-03-02T09:30:00+16:00\"", "\"2026-03-02T09:30:00-16:00\"",
                                "\"2026-03-02T09:30:00+17:00\"", "\"2026-03-02T09:30:00+23:59\"",
                                "\"2026-03-02T09:30:00-23:00\""};
    for (size_t i = 0; i < sizeof bad_offset / sizeof *bad_offset; i++)
        expect(dt, bad_offset[i],
               "(root): is not a date-time: the UTC offset must be within -15:59 and +15:59");
    expect(dt, "\"2026-03-02T09:30:00+08:60\"",
           "(root): is not a date-time (RFC 3339, e.g. 2026-03-01T09:30:00+08:00)");
    expect(dt, "\"0000-01-01T00:00:00Z\"",
           "(root): is not a date-time: the year must be 0001 to 9999");
    expect(dt, "\"0000-12-31T23:59:59+08:00\"",
           "(root): is not a date-time: the year must be 0001 to 9999");
    expect(dt, "\"10000-01-01T00:00:00Z\"",
           "(root): is not a date-time (RFC 3339, e.g. 2026-03-01T09:30:00+08:00)");
    expect("{\"format\": \"date\"}", "\"0001-01-01\"", NULL);
    expect("{\"format\": \"date\"}", "\"9999-12-31\"", NULL);
    expect("{\"format\": \"date\"}", "\"0000-01-01\"",
           "(root): is not a date: the year must be 0001 to 9999");
    expect("{\"format\": \"date\"}", "\"10000-01-01\"",
           "(root): is not a date (RFC 3339 full-date, e.g. 2026-03-01)");
    expect("{\"format\": \"date\"}", "\"2000-02-29\"", NULL);
    expect("{\"format\": \"date\"}", "\"1900-02-29\"",
           "(root): is not a date (RFC 3339 full-date, e.g. 2026-03-01)");
    expect("{\"format\": \"email\"}", "\"zhangsan@court.gov.cn\"", NULL);
    expect("{\"format\": \"email\"}", "\"zhang san@court\"", "(root): is not an e-mail address");
    /* Formats the validator does not know are accepted, as the specification allows. */
    expect("{\"format\": \"hostname\"}", "\"-- not a host --\"", NULL);
}

/* ---- bad schemas and load errors --------------------------------------------------------- */

static void test_bad_schemas_are_rejected(void **state)
{
    (void)state;
    expect_bad_schema("{\"properties\": {\"id\": {\"pattern\": \"^[0-9\"}}}", CF_EINVAL,
                      "bad: #/properties/id/pattern: invalid regular expression '^[0-9' at offset");
    expect_bad_schema("{\"patternProperties\": {\"(x\": {}}}", CF_EINVAL,
                      "bad: #/patternProperties/(x: invalid regular expression");
    expect_bad_schema("{\"minLength\": -1}", CF_EINVAL,
                      "bad: #/minLength: 'minLength' must be a non-negative integer");
    expect_bad_schema("{\"items\": {\"maxItems\": 1.5}}", CF_EINVAL,
                      "bad: #/items/maxItems: 'maxItems' must be a non-negative integer");
    expect_bad_schema("{\"type\": \"text\"}", CF_EINVAL,
                      "bad: #/type: 'type' has an unknown type 'text'");
    expect_bad_schema("{\"required\": [\"a\", \"a\"]}", CF_EINVAL,
                      "#/required: 'required' names 'a' twice");
    expect_bad_schema("{\"allOf\": []}", CF_EINVAL, "#/allOf: 'allOf' must be a non-empty array");
    expect_bad_schema("{\"properties\": {\"a\": 5}}", CF_EINVAL,
                      "#/properties/a: a schema must be an object or a boolean");
    expect_bad_schema("{\"multipleOf\": 0}", CF_EINVAL,
                      "#/multipleOf: 'multipleOf' must be a positive number");
    expect_bad_schema("{\"definitions\": {\"unused\": {\"enum\": 1}}}", CF_EINVAL,
                      "#/definitions/unused/enum: 'enum' must be an array");
    expect_bad_schema("{\"$ref\": \"#/definitions/nothing\"}", CF_EINVAL,
                      "bad: #/$ref: cannot resolve '#/definitions/nothing'");
    expect_bad_schema(
        "{\"$ref\": \"other.json\"}", CF_EINVAL,
        "bad: #/$ref: cannot resolve 'other.json': no schema 'other.json' in the set");
    expect_bad_schema("{\"$ref\": 5}", CF_EINVAL, "#/$ref: '$ref' must be a string");
}

static void test_load_dir_errors(void **state)
{
    (void)state;
    char err[512];
    cf_schema_set *set = cf_schema_set_new();
    char *dir = make_dir();
    char expect_at[600];

    /* A file that is not JSON: file:line:column. */
    write_file(dir, "a.json", "{\"type\": \"object\"}\n");
    write_file(dir, "b.json", "{\n  \"type\": \"object\",\n  \"required\": [\"x\",]\n}\n");
    assert_int_equal(cf_schema_set_load_dir(set, dir, err, sizeof err), CF_EPARSE);
    snprintf(expect_at, sizeof expect_at, "%s/b.json:3:", dir);
    if (strncmp(err, expect_at, strlen(expect_at)) != 0)
        fail_msg("'%s' does not start with '%s'", err, expect_at);
    /* Nothing of the folder was added: a.json, loaded before b.json failed, is gone too. */
    assert_null(cf_schema_set_get(set, "a"));

    /* Duplicate keys are refused: the second would silently win. */
    write_file(dir, "b.json", "{\"type\": \"object\", \"type\": \"string\"}");
    assert_int_equal(cf_schema_set_load_dir(set, dir, err, sizeof err), CF_EPARSE);
    assert_non_null(strstr(err, "b.json:1:"));

    /* A bad regex: the file and the JSON pointer of the keyword. */
    write_file(dir, "b.json", "{\"properties\": {\"phone\": {\"pattern\": \"^1[3-9\"}}}");
    assert_int_equal(cf_schema_set_load_dir(set, dir, err, sizeof err), CF_EINVAL);
    snprintf(expect_at, sizeof expect_at,
             "%s/b.json: #/properties/phone/pattern: invalid regular "
             "expression '^1[3-9' at offset",
             dir);
    if (strncmp(err, expect_at, strlen(expect_at)) != 0)
        fail_msg("'%s' does not start with '%s'", err, expect_at);

    /* The set is still usable after failed loads. */
    write_file(dir, "b.json", "{\"type\": \"string\"}");
    assert_int_equal(cf_schema_set_load_dir(set, dir, err, sizeof err), 0);
    assert_non_null(cf_schema_set_get(set, "a"));
    assert_non_null(cf_schema_set_get(set, "b"));
    /* Loading the same names again is refused and changes nothing. */
    assert_int_equal(cf_schema_set_load_dir(set, dir, err, sizeof err), CF_EDUP);
    assert_non_null(strstr(err, "a schema named 'a' is already loaded"));
    assert_non_null(cf_schema_set_get(set, "b"));

    assert_int_equal(cf_schema_set_load_dir(set, "/nonexistent/schemas", err, sizeof err), CF_EIO);
    assert_string_equal(err, "/nonexistent/schemas: cannot open folder");
    remove_dir(dir);
    cf_schema_set_free(set);
}

/* ---- references -------------------------------------------------------------------------- */

static void test_refs_across_a_folder(void **state)
{
    (void)state;
    char err[512];
    cf_schema_set *set = cf_schema_set_new();
    char *dir = make_dir();
    /* "event" sorts before "common": references must not depend on the loading order. */
    write_file(dir, "common.json",
               "{\"definitions\": {\"case_no\": {\"type\": \"string\", \"pattern\": \"号$\"},"
               " \"odd~/name%\": {\"const\": 1}}}");
    write_file(dir, "a.event.json",
               "{\"properties\": {\"case\": {\"$ref\": \"common.json#/definitions/case_no\"},"
               " \"n\": {\"$ref\": \"common#/definitions/odd~0~1name%25\"},"
               " \"ids\": {\"$ref\": \"https://example.org/schemas/ids.json\"},"
               " \"local\": {\"$ref\": \"#/$defs/x\"}}, \"$defs\": {\"x\": {\"type\": \"null\"}}}");
    write_file(dir, "ids.json",
               "{\"$id\": \"https://example.org/schemas/ids.json\", \"type\": \"array\","
               " \"items\": {\"$ref\": \"common.json#/definitions/case_no\"}}");
    assert_int_equal(cf_schema_set_load_dir(set, dir, err, sizeof err), 0);
    const cf_schema *s = cf_schema_set_get(set, "a.event");
    assert_non_null(s);
    json_t *ok =
        parse("{\"case\": \"(2026)豫0381执1号\", \"n\": 1, \"ids\": [\"1号\"], \"local\": null}");
    json_t *bad = parse("{\"ids\": [\"1号\", \"2\"]}");
    assert_int_equal(cf_schema_validate(s, ok, err, sizeof err), 0);
    assert_int_equal(cf_schema_validate(s, bad, err, sizeof err), CF_ESCHEMA);
    assert_string_equal(err, "/ids/1: does not match pattern 号$");
    json_decref(ok);
    json_decref(bad);

    /* Added one by one, a document may only refer to those added before it. */
    cf_schema_set *set2 = cf_schema_set_new();
    json_t *event = parse("{\"$ref\": \"common.json#/definitions/case_no\"}");
    json_t *common = parse("{\"definitions\": {\"case_no\": {\"pattern\": \"号$\"}}}");
    assert_int_equal(cf_schema_set_add(set2, "event", event, err, sizeof err), CF_EINVAL);
    assert_string_equal(err, "event: #/$ref: cannot resolve 'common.json#/definitions/case_no': "
                             "no schema 'common.json' in the set");
    assert_null(cf_schema_set_get(set2, "event"));
    assert_int_equal(cf_schema_set_add(set2, "common", common, err, sizeof err), 0);
    assert_int_equal(cf_schema_set_add(set2, "event", event, err, sizeof err), 0);
    assert_int_equal(cf_schema_set_add(set2, "event", event, err, sizeof err), CF_EDUP);
    json_t *x = parse("\"abc\"");
    assert_int_equal(cf_schema_validate(cf_schema_set_get(set2, "event"), x, err, sizeof err),
                     CF_ESCHEMA);
    assert_string_equal(err, "(root): does not match pattern 号$");
    json_decref(x);
    json_decref(event);
    json_decref(common);
    cf_schema_set_free(set2);

    remove_dir(dir);
    cf_schema_set_free(set);
}

static json_t *nest(const char *key, int depth)
{
    json_t *v = json_null();
    for (int i = 0; i < depth; i++) {
        json_t *o = json_object();
        json_object_set_new(o, key, v);
        v = o;
    }
    return v;
}

static void test_recursion_is_bounded(void **state)
{
    (void)state;
    char err[512];
    const cf_schema *s;

    /* A schema that refers to itself compiles once and validates nested data... */
    cf_schema_set *set = compile_one("{\"type\": [\"object\", \"null\"], \"properties\": "
                                     "{\"a\": {\"$ref\": \"#\"}}, \"additionalProperties\": false}",
                                     &s);
    json_t *x = nest("a", 50);
    assert_int_equal(cf_schema_validate(s, x, err, sizeof err), 0);
    json_decref(x);
    /* ...but data nested deeper than the bound is an error, not a stack overflow. */
    x = nest("a", 5000);
    assert_int_equal(cf_schema_validate(s, x, err, sizeof err), CF_ESCHEMA);
    assert_non_null(strstr(err, ": validation nests deeper than 256 schemas"));
    assert_int_equal(strncmp(err, "/a/a/a/a/", 9), 0);
    /* The location is shortened in the middle so that what went wrong is still said. */
    assert_non_null(strstr(err, "/a/.../a/"));
    json_decref(x);
    cf_schema_set_free(set);

    /* A loop that never consumes the instance hits the bound at once, also where only validity
     * matters: "not" must not turn the failure into a success. */
    set = compile_one("{\"anyOf\": [{\"$ref\": \"#\"}]}", &s);
    x = parse("1");
    assert_int_equal(cf_schema_validate(s, x, err, sizeof err), CF_ESCHEMA);
    assert_string_equal(err, "(root): validation nests deeper than 256 schemas (does a schema "
                             "refer to itself?)");
    cf_schema_set_free(set);
    set = compile_one("{\"definitions\": {\"loop\": {\"not\": {\"$ref\": \"#/definitions/loop\"}}},"
                      " \"$ref\": \"#/definitions/loop\"}",
                      &s);
    assert_int_equal(cf_schema_validate(s, x, err, sizeof err), CF_ESCHEMA);
    assert_non_null(strstr(err, "validation nests deeper than 256"));
    json_decref(x);
    cf_schema_set_free(set);

    /* References that lead only to each other are refused when the schema is loaded. */
    expect_bad_schema("{\"$ref\": \"#\"}", CF_EINVAL, "bad: #/$ref: '#' leads back to itself");
    expect_bad_schema("{\"definitions\": {\"a\": {\"$ref\": \"#/definitions/b\"}, \"b\": {\"$ref\":"
                      " \"#/definitions/a\"}}, \"properties\": {\"x\": {\"$ref\": "
                      "\"#/definitions/a\"}}}",
                      CF_EINVAL, "leads back to itself through $refs alone");
}

static void test_messages_fit_any_buffer(void **state)
{
    (void)state;
    const cf_schema *s;
    cf_schema_set *set = compile_one(event_schema, &s);
    json_t *x = parse("{\"data\": {}}");
    char small[8];
    assert_int_equal(cf_schema_validate(s, x, small, sizeof small), CF_ESCHEMA);
    assert_string_equal(small, "/data: ");
    assert_int_equal(cf_schema_validate(s, x, NULL, 0), CF_ESCHEMA);
    assert_int_equal(cf_schema_validate(NULL, x, small, sizeof small), CF_EINVAL);
    json_decref(x);
    cf_schema_set_free(set);
    cf_schema_set_free(NULL);
}

/* ---- the event schemas ------------------------------------------------------------------- */

/* Validates one sample event against the schema named by its type. */
static int check_event(const cf_schema_set *set, const char *path, char *err, size_t errsz)
{
    json_error_t jerr;
    json_t *ev = json_load_file(path, 0, &jerr);
    if (!ev)
        fail_msg("%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
    const char *type = json_string_value(json_object_get(ev, "type"));
    const cf_schema *s = type ? cf_schema_set_get(set, type) : NULL;
    if (!s)
        fail_msg("%s: no schema for event type '%s'", path, type ? type : "(none)");
    int rc = cf_schema_validate(s, ev, err, errsz);
    json_decref(ev);
    return rc;
}

static int run_samples(const cf_schema_set *set, const char *dir, int want_valid)
{
    char path[1024], err[1024], reason[512];
    int n = 0;
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("%s: cannot open folder", dir);
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int rc = check_event(set, path, err, sizeof err);
        n++;
        if (want_valid) {
            if (rc != 0)
                fail_msg("%s should be valid: %s", path, err);
            continue;
        }
        if (rc != CF_ESCHEMA)
            fail_msg("%s should be invalid, got %d", path, rc);
        snprintf(path + strlen(path) - 5, 8, ".reason");
        FILE *f = fopen(path, "r");
        if (!f || !fgets(reason, sizeof reason, f))
            fail_msg("%s: missing or empty: each invalid sample needs the reason it fails", path);
        fclose(f);
        reason[strcspn(reason, "\n")] = '\0';
        if (!strstr(err, reason))
            fail_msg("%s: message '%s' lacks '%s'", e->d_name, err, reason);
    }
    closedir(d);
    return n;
}

static void test_event_schemas(void **state)
{
    (void)state;
    char path[1024], err[1024];
    const char *src = fx_source_dir();
    cf_schema_set *set = cf_schema_set_new();
    snprintf(path, sizeof path, "%s/schemas/events", src);
    if (cf_schema_set_load_dir(set, path, err, sizeof err) != 0)
        fail_msg("%s", err);
    const char *types[] = {"envelope",       "common",           "case.filed",     "case.corrected",
                           "case.withdrawn", "payment.received", "task.completed", "task.failed",
                           "task.returned",  "timer.fired",      "clock.advance",  "case.decided"};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        if (!cf_schema_set_get(set, types[i]))
            fail_msg("schemas/events has no %s.json", types[i]);
    }
    snprintf(path, sizeof path, "%s/tests/data/events/valid", src);
    int valid = run_samples(set, path, 1);
    snprintf(path, sizeof path, "%s/tests/data/events/invalid", src);
    int invalid = run_samples(set, path, 0);
    print_message("event samples: %d valid and %d invalid behave as expected\n", valid, invalid);
    assert_true(valid > 0 && invalid > 0);
    cf_schema_set_free(set);
}

/* ---- numbers ------------------------------------------------------------------------------- */

static void expect_numbers(const char *instance, const char *message)
{
    json_t *x = parse(instance);
    char err[256] = "?";
    int ok = cf_json_numbers_sane(x, err, sizeof err);
    if (message) {
        if (ok)
            fail_msg("%s: expected '%s', found sane", instance, message);
        assert_string_equal(err, message);
    } else {
        if (!ok)
            fail_msg("%s: expected sane, got: %s", instance, err);
        assert_string_equal(err, "");
    }
    json_decref(x);
}

/* Every number at any depth stays within 1e15 and finite, whatever the schema says of it. */
static void test_numbers_sane(void **state)
{
    (void)state;
    expect_numbers("{\"a\": 1, \"b\": [1.5, -2, {\"c\": 0}], \"d\": \"1e99\", \"e\": null}", NULL);
    expect_numbers("{\"max\": 1000000000000000, \"min\": -1000000000000000}", NULL);
    expect_numbers("[1e15, -1e15, 999999999999999.9, 1.0E7]", NULL);
    expect_numbers("{\"data\": {\"amount\": 1e20}}",
                   "/data/amount: the number's magnitude exceeds 1e15");
    expect_numbers("{\"data\": {\"amount\": -1.0000001e15}}",
                   "/data/amount: the number's magnitude exceeds 1e15");
    expect_numbers("{\"data\": {\"n\": 1000000000000001}}",
                   "/data/n: the number's magnitude exceeds 1e15");
    expect_numbers("{\"data\": {\"n\": -9223372036854775807}}",
                   "/data/n: the number's magnitude exceeds 1e15");
    expect_numbers("{\"data\": {\"result\": {\"rows\": [0, 1, {\"a/b~c\": [1e300]}]}}}",
                   "/data/result/rows/2/a~1b~0c/0: the number's magnitude exceeds 1e15");
    expect_numbers("1e16", "(root): the number's magnitude exceeds 1e15");
    /* The first offending number is named; those before it are fine. */
    expect_numbers("[1, 2, 3e15, 4e15]", "/2: the number's magnitude exceeds 1e15");
    assert_true(cf_json_numbers_sane(NULL, NULL, 0));

    /* jansson refuses to make a real that is not finite; should one come through anyway, it is
     * named. */
    json_t *inf = json_real(INFINITY);
    if (inf) {
        json_t *o = json_pack("{s:o}", "x", inf);
        char err[64];
        assert_false(cf_json_numbers_sane(o, err, sizeof err));
        assert_string_equal(err, "/x: the number is not finite");
        json_decref(o);
    }

    /* A message that does not fit is cut, never overrun. */
    json_t *x = parse("{\"data\": {\"amount\": 1e20}}");
    char small[8];
    assert_false(cf_json_numbers_sane(x, small, sizeof small));
    assert_int_equal(strlen(small), sizeof small - 1);
    json_decref(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_official_suite),
        cmocka_unit_test(test_messages_name_the_location),
        cmocka_unit_test(test_strings_count_code_points),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_bad_schemas_are_rejected),
        cmocka_unit_test(test_load_dir_errors),
        cmocka_unit_test(test_refs_across_a_folder),
        cmocka_unit_test(test_recursion_is_bounded),
        cmocka_unit_test(test_messages_fit_any_buffer),
        cmocka_unit_test(test_event_schemas),
        cmocka_unit_test(test_numbers_sane),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
