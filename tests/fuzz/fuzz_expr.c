/*
 * libFuzzer target for core/expr: any bytes are parsed as an expression and, when they parse,
 * evaluated against a small case, checking the promises of expr.h (a message and a column in
 * range for every parse error, a result or a message for every evaluation) and leaving memory
 * and undefined behaviour to the sanitizers.  tests/unit/test_expr.c runs the same function over
 * nasty inputs, so this file must also build without libFuzzer.
 *
 * Built by -DCASEFLOW_FUZZ=ON (tests/fuzz/CMakeLists.txt); fuzz it for five minutes with
 *   scripts/fuzz --time 300 expr
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/expr.h"
#include "fuzz.h"

static const char fuzz_root[] =
    "{\"case\": {\"amount\": 120000, \"rate\": 0.5, \"special\": \"串案\", \"tags\": [\"失信\", 1],"
    " \"parties\": [{\"name\": \"张三\", \"role\": \"被执行人\"}], \"big\": 9223372036854775807,"
    " \"empty\": \"\", \"obj\": {\"a\": null}},"
    " \"event\": {\"result\": {\"found\": true, \"count\": 0}},"
    " \"activities\": {\"notices\": {\"status\": \"done\"}, \"queries\": {\"status\": \"open\"}},"
    " \"now\": \"2026-03-01T09:00:00+08:00\", \"state\": \"queries\"}";

/* Checks the result of one evaluation: exactly one of a value or a message. */
static void check_eval(const cf_expr *e, const json_t *root)
{
    char err[256] = "";
    json_t *result = (json_t *)1;
    int rc = cf_expr_eval(e, root, &result, err, sizeof err);
    if (rc == 0) {
        FUZZ_CHECK(result != NULL);
        json_decref(result);
    } else {
        FUZZ_CHECK(rc == CF_EINVAL || rc == CF_ENOMEM);
        FUZZ_CHECK(result == NULL && err[0] != '\0');
    }
    int truth = -1;
    int rc2 = cf_expr_test(e, root, &truth, err, sizeof err);
    FUZZ_CHECK(rc2 == rc); /* evaluation is deterministic */
    FUZZ_CHECK(truth == 0 || truth == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256] = "";
    int col = -1;
    size_t chars = 0;
    json_t *root = NULL;
    cf_expr *e = NULL;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0'; /* the parser reads up to the first NUL, as from YAML */
    for (const char *s = text; *s; s++)
        chars += ((unsigned char)*s & 0xC0) != 0x80;

    e = cf_expr_parse(text, err, sizeof err, &col);
    if (!e) {
        FUZZ_CHECK(err[0] != '\0');
        FUZZ_CHECK(col >= 0 && (size_t)col <= chars + 1);
        goto out;
    }
    for (size_t i = 0; i < cf_expr_path_count(e); i++)
        FUZZ_CHECK(cf_expr_path(e, i) && cf_expr_path(e, i)[0] != '\0');
    FUZZ_CHECK(cf_expr_path(e, cf_expr_path_count(e)) == NULL);
    for (size_t i = 0; i < cf_expr_call_count(e); i++)
        FUZZ_CHECK(cf_expr_call_name(e, i) != NULL);
    FUZZ_CHECK(cf_expr_call_name(e, cf_expr_call_count(e)) == NULL);
    for (size_t i = 0; i < cf_expr_activity_count(e); i++)
        FUZZ_CHECK(cf_expr_activity(e, i) != NULL);

    json_error_t jerr;
    root = json_loads(fuzz_root, 0, &jerr);
    FUZZ_CHECK(root != NULL);
    check_eval(e, root);
    check_eval(e, NULL);

out:
    cf_expr_free(e);
    json_decref(root);
    free(text);
    return 0;
}
