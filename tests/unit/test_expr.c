/*
 * Unit tests of core/expr, the guard and value language: tables of expression, expected value
 * or expected error and column, evaluated against one case, plus depth limits, introspection,
 * concurrent evaluation and the fuzz target's handling of nasty inputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/expr.h"

/* The fuzz target itself, so that the inputs below go through exactly the code the fuzzer
 * runs (it is not built by CMake on its own). */
#include "../fuzz/fuzz_expr.c"

static const char root_json[] =
    "{\"case\": {\"amount\": 120000, \"rate\": 0.5, \"special\": \"串案\","
    " \"tags\": [\"失信\", \"限高\"],"
    " \"parties\": [{\"name\": \"张三\", \"role\": \"被执行人\"}, {\"name\": "
    "\"洛阳某某建材有限公司\"}],"
    " \"filed\": \"2026-01-15T10:00:00+08:00\", \"big\": 9223372036854775807, \"huge\": 1e308,"
    " \"zero\": 0, \"empty\": \"\", \"none\": null, \"obj\": {\"k\": 1},"
    " \"obj2\": {\"k\": 1.0}, \"obj3\": {\"k\": 2}},"
    " \"event\": {\"result\": {\"found\": true, \"count\": 0}},"
    " \"activities\": {\"notices\": {\"status\": \"done\"}, \"queries\": {\"status\": \"open\"},"
    " \"freeze\": {\"status\": \"failed\"}},"
    " \"now\": \"2026-03-01T09:00:00+08:00\", \"state\": \"queries\"}";

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!v)
        fail_msg("bad test JSON %s: %s", text, jerr.text);
    return v;
}

/* ---- Values ------------------------------------------------------------------------------ */

static const struct {
    const char *expr;
    const char *want; /* JSON; compared with json_equal, so 4 and 4.0 differ */
} values[] = {
    /* Precedence and associativity. */
    {"1 + 2 * 3", "7"},
    {"(1 + 2) * 3", "9"},
    {"10 - 4 - 3", "3"},
    {"24 / 4 / 2", "3"},
    {"-2 * 3", "-6"},
    {"2 - -3", "5"},
    {"-(2 + 3)", "-5"},
    {"-case.amount", "-120000"},
    {"1 + 2 == 3", "true"},
    {"true or false and false", "true"},
    {"(true or false) and false", "false"},
    {"not false and false", "false"},
    {"not 1 == 2", "true"},
    {"not not 3", "true"},
    {"1 == 1 and 2 == 2 or false", "true"},
    {"done(notices)\n  and\tcase.amount >= 50000", "true"},
    /* Arithmetic: integers stay integers, / is exact. */
    {"7 / 2", "3.5"},
    {"8 / 2", "4"},
    {"-7 / 2", "-3.5"},
    {"1.5 * 2", "3.0"},
    {"case.amount * 0.1", "12000.0"},
    {"case.rate + 1", "1.5"},
    {"case.big - 1", "9223372036854775806"},
    {"-9223372036854775807 - 1", "-9223372036854775808"},
    {"0.1 + 0.2 > 0.3", "true"},
    /* Strings: escapes, both quotes, UTF-8 and Chinese text. */
    {"'a' + \"b\"", "\"ab\""},
    {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\\"\\\\/\\b\\f\\n\\r\\t\""},
    {"'it\\'s'", "\"it's\""},
    {"\"say \\\"hi\\\"\" == 'say \"hi\"'", "true"},
    {"\"\\u4e32\\u6848\" == case.special", "true"},
    {"\"\\uD83D\\uDE00\"", "\"😀\""},
    {"case.special == \"串案\"", "true"},
    {"case.special != '串案'", "false"},
    {"case.special + \"（合并）\"", "\"串案（合并）\""},
    {"lower(\"ABC Def 串\")", "\"abc def 串\""},
    {"lower(\"ＡＢＣ\")", "\"ＡＢＣ\""},
    /* Comparisons: numbers by value, int against real exactly, strings by bytes. */
    {"1 == 1.0", "true"},
    {"1 < 1.5", "true"},
    {"2 > 1.5", "true"},
    {"2 <= 2.0", "true"},
    {"case.rate >= 0.5", "true"},
    {"9007199254740993 > 9007199254740992.0", "true"}, /* 2^53 + 1: lost as a double */
    {"9007199254740993 == 9007199254740992.0", "false"},
    {"case.big < 9223372036854775807.0", "true"}, /* that double is 2^63 */
    {"-9223372036854775807 - 1 == -9223372036854775808.0", "true"},
    {"now >= case.filed", "true"},
    {"\"2026-03-01T09:00:00+08:00\" > \"2026-02-28T23:59:59+08:00\"", "true"},
    {"\"b\" > \"abc\"", "true"},
    {"\"ab\" < \"abc\"", "true"},
    {"\"串\" > \"a\"", "true"},
    {"1 == \"1\"", "false"},
    {"null == false", "false"},
    {"0 == false", "false"},
    {"null == null", "true"},
    {"[1, 2] == [1.0, 2]", "true"},
    {"[1] != [1, 2]", "true"},
    {"case.obj == case.obj", "true"},
    {"case.obj == case.obj2", "true"},
    {"case.obj == case.obj3", "false"},
    {"case.obj == case.parties.1", "false"},
    {"case.parties.0 == case.parties.1", "false"},
    /* Paths: missing members are null, numeric segments index lists. */
    {"case.missing", "null"},
    {"case.missing.deeper.still", "null"},
    {"nothing.at.all", "null"},
    {"case.parties.0.name", "\"张三\""},
    {"case.parties.1.name", "\"洛阳某某建材有限公司\""},
    {"case.parties.5.name", "null"},
    {"case.parties.01.name", "null"},
    {"case.special.0", "null"},
    {"case.none == null", "true"},
    {"case.missing == null", "true"},
    {"event.result.found", "true"},
    {"event.result.count", "0"},
    {"state", "\"queries\""},
    {"state == \"queries\"", "true"},
    {"case.obj", "{\"k\": 1}"},
    {"inx == null and order == null and notes == null",
     "true"}, /* names that start like keywords */
    /* in and not in. */
    {"2 in [1, 2, 3]", "true"},
    {"2.0 in [1, 2]", "true"},
    {"\"失信\" in case.tags", "true"},
    {"\"x\" in case.tags", "false"},
    {"[1] in [[1], 2]", "true"},
    {"\"\" in \"abc\"", "true"},
    {"\"案\" in case.special", "true"},
    {"\"串案件\" in case.special", "false"},
    {"\"obj\" in case", "true"},
    {"\"k\" in case.obj", "true"},
    {"\"失信\" not in case.tags", "false"},
    {"\"x\" not in case.tags", "true"},
    {"1 not\n in [2]", "true"},
    {"not 1 in [2]", "true"},
    /* Functions. */
    {"done(notices)", "true"},
    {"done(queries)", "false"},
    {"open(queries)", "true"},
    {"failed(freeze)", "true"},
    {"failed(notices)", "false"},
    {"done(nothing)", "false"},
    {"all_done(notices)", "true"},
    {"all_done(notices, queries)", "false"},
    {"any_done(queries, notices)", "true"},
    {"any_done(queries, freeze)", "false"},
    {"exists(case.amount)", "true"},
    {"exists(case.zero)", "true"},
    {"exists(case.none)", "false"},
    {"exists(case.missing)", "false"},
    {"len(case.tags)", "2"},
    {"len(case.obj)", "1"},
    {"len(\"\")", "0"},
    {"len(case.parties.1.name)", "10"},
    {"len(\"😀串a\")", "3"},
    {"starts_with(now, \"2026-03\")", "true"},
    {"starts_with(case.special, \"串\")", "true"},
    {"starts_with(\"a\", \"ab\")", "false"},
    {"coalesce(case.missing, case.none, \"默认\")", "\"默认\""},
    {"coalesce(null, null)", "null"},
    {"coalesce(case.zero, 5)", "0"},
    {"choose(case.amount > 1, [\"甲\", \"乙\"], [\"甲\"])", "[\"甲\", \"乙\"]"},
    {"choose(case.missing, 1, 2)", "2"},
    {"[\"a\"] + choose(case.zero, [\"b\"], [])", "[\"a\"]"},
    /* Short-circuit: the undecided right side is never evaluated, so its errors are not raised. */
    {"true or 1 / 0", "true"},
    {"false and 1 / 0", "false"},
    {"false or true and true or 1 / 0", "true"},
    {"case.amount > 1 or case.special < 1", "true"},
    {"exists(case.missing) and case.missing > 1", "false"},
    {"any_done(notices) or \"a\" in case.missing", "true"},
    {"coalesce(1, 1 / 0)", "1"},
    {"choose(true, 1, 1 / 0)", "1"},
    {"choose(false, 1 / 0, 2)", "2"},
    /* Truthiness. */
    {"not 0", "true"},
    {"not 0.0", "true"},
    {"not \"\"", "true"},
    {"not \"0\"", "false"},
    {"not []", "true"},
    {"not case.obj", "false"},
    {"not case.missing", "true"},
    {"1 and \"x\"", "true"},
    /* Lists. */
    {"[1, \"a\", [true, null]]", "[1, \"a\", [true, null]]"},
    {"[]", "[]"},
    {"[1] + [2, 3]", "[1, 2, 3]"},
    {"[case.amount, state]", "[120000, \"queries\"]"},
};

static void test_values(void **state)
{
    (void)state;
    json_t *root = load(root_json);
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char err[256] = "";
        int col = -1;
        cf_expr *e = cf_expr_parse(values[i].expr, err, sizeof err, &col);
        if (!e)
            fail_msg("%s: parse error at column %d: %s", values[i].expr, col, err);
        json_t *got = NULL, *want = load(values[i].want);
        if (cf_expr_eval(e, root, &got, err, sizeof err) != 0)
            fail_msg("%s: %s", values[i].expr, err);
        if (!json_equal(got, want)) {
            char *s = json_dumps(got, JSON_ENCODE_ANY);
            fail_msg("%s: got %s, want %s", values[i].expr, s, values[i].want);
        }
        int truth = -1;
        assert_int_equal(cf_expr_test(e, root, &truth, err, sizeof err), 0);
        int falsy = json_is_false(want) || json_is_null(want) ||
                    (json_is_number(want) && json_number_value(want) == 0) ||
                    (json_is_string(want) && json_string_length(want) == 0) ||
                    (json_is_array(want) && json_array_size(want) == 0);
        assert_int_equal(truth, !falsy);
        json_decref(got);
        json_decref(want);
        cf_expr_free(e);
    }
    json_decref(root);
}

/* ---- Runtime errors ---------------------------------------------------------------------- */

static const struct {
    const char *expr;
    int col;
    const char *msg;
} runtime_errors[] = {
    {"case.special < 1", 14, "'<' needs two numbers or two strings, got string and number"},
    {"case.missing > 100", 14, "got null and number"},
    {"[1] < [2]", 5, "got list and list"},
    {"true >= false", 6, "got boolean and boolean"},
    {"1 / 0", 3, "division by zero"},
    {"1.5 / 0", 5, "division by zero"},
    {"1 / 0.0", 3, "division by zero"},
    {"case.big + 1", 10, "integer overflow in '+'"},
    {"case.big * 2", 10, "integer overflow in '*'"},
    {"-case.big - 2", 11, "integer overflow in '-'"},
    {"-(-9223372036854775807 - 1)", 1, "integer overflow in '-'"},
    {"(-9223372036854775807 - 1) / -1", 28, "integer overflow in '/'"},
    {"case.huge * 10", 11, "number out of range"},
    {"\"a\" in case.missing", 5, "'in' needs a list, string or object on the right, got null"},
    {"\"a\" not in 5", 5, "got number"},
    {"1 in \"abc\"", 3, "'in' a string needs a string on the left, got number"},
    {"1 in case.obj", 3, "'in' an object needs a member name (a string) on the left, got number"},
    {"len(case.amount)", 1, "len() needs a string, list or object, got number"},
    {"len(case.missing)", 1, "got null"},
    {"lower(1)", 1, "lower() needs a string, got number"},
    {"starts_with(now, 1)", 1, "starts_with() needs a string, got number"},
    {"\"a\" + 1", 5, "'+' needs two numbers, two strings or two lists, got string and number"},
    {"\"a\" - \"b\"", 5, "'-' needs two numbers, got string and string"},
    {"-\"x\"", 1, "'-' needs a number, got string"},
    {"false or 1 / 0", 12, "division by zero"},
    {"true and case.tags > 1", 20, "got list and number"},
    {"coalesce(null, 1 / 0)", 18, "division by zero"},
    {"[1, 2 / 0]", 7, "division by zero"},
    {"exists(1 / 0)", 10, "division by zero"},
};

static void test_runtime_errors(void **state)
{
    (void)state;
    json_t *root = load(root_json);
    for (size_t i = 0; i < sizeof runtime_errors / sizeof runtime_errors[0]; i++) {
        char err[256] = "", prefix[32];
        int col = -1;
        cf_expr *e = cf_expr_parse(runtime_errors[i].expr, err, sizeof err, &col);
        if (!e)
            fail_msg("%s: parse error at column %d: %s", runtime_errors[i].expr, col, err);
        json_t *got = (json_t *)1;
        int rc = cf_expr_eval(e, root, &got, err, sizeof err);
        if (rc != CF_EINVAL)
            fail_msg("%s: evaluated without an error", runtime_errors[i].expr);
        assert_null(got);
        snprintf(prefix, sizeof prefix, "column %d: ", runtime_errors[i].col);
        if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, runtime_errors[i].msg))
            fail_msg("%s: got \"%s\", want column %d and \"%s\"", runtime_errors[i].expr, err,
                     runtime_errors[i].col, runtime_errors[i].msg);
        int truth = -1;
        assert_int_equal(cf_expr_test(e, root, &truth, err, sizeof err), CF_EINVAL);
        assert_int_equal(truth, 0);
        cf_expr_free(e);
    }
    json_decref(root);
}

/* ---- Parse errors ------------------------------------------------------------------------ */

static const struct {
    const char *expr;
    int col; /* in characters, not bytes */
    const char *msg;
} parse_errors[] = {
    /* Structure. */
    {"", 1, "empty expression"},
    {"   ", 1, "empty expression"},
    {"1 +", 4, "the expression ends where a value is expected"},
    {"not", 4, "ends where a value is expected"},
    {"-", 2, "ends where a value is expected"},
    {"(1 + 2", 7, "expected ')' to close the '(' at column 1"},
    {"[1, 2", 6, "expected ',' or ']', found the end of the expression"},
    {"[1, 2,]", 7, "expected a value, found ']'"},
    {")", 1, "expected a value, found ')'"},
    {"1 2", 3, "expected an operator or the end of the expression, found a number"},
    {"a b", 3, "found name 'b'"},
    {"a not b", 3, "found 'not'"},
    {"a < b < c", 7, "comparisons do not chain: join them with 'and'"},
    {"a == b != c", 8, "comparisons do not chain"},
    {"a\n< b < c", 7, "comparisons do not chain"},
    {"x == not y", 6, "put 'not ...' in parentheses here"},
    {"1 + not x", 5, "put 'not ...' in parentheses here"},
    /* Operators from other languages. */
    {"x = 1", 3, "use '==' to compare"},
    {"!x", 1, "use 'not'"},
    {"a && b", 3, "use 'and'"},
    {"a || b", 3, "use 'or'"},
    {"True", 1, "write 'true' in lower case"},
    {"x AND y", 3, "write 'and' in lower case"},
    {"NULL", 1, "write 'null' in lower case"},
    {"{", 1, "unexpected '{'"},
    {"a ? b : c", 3, "unexpected '?'"},
    {"a\x01", 2, "unexpected control character U+0001"},
    /* Functions: unknown names and wrong arguments. */
    {"foo(1)", 1, "unknown function 'foo' (known: done,"},
    {"x and Done(notices)", 7, "unknown function 'Done'"},
    {"case.len(1)", 1, "unknown function 'case.len'"},
    {"choose(1, 2)", 12, "choose() takes 3 arguments"},
    {"done()", 6, "done() takes 1 argument"},
    {"done(a, b)", 9, "done() takes 1 argument"},
    {"done(\"notices\")", 6, "write the activity name without quotes: done(notices)"},
    {"done(case.x)", 6, "done() takes activity names such as done(notices), found name 'case.x'"},
    {"failed(1)", 8, "found a number"},
    {"all_done()", 10, "all_done() takes at least 1 argument"},
    {"any_done(a,)", 12, "takes activity names"},
    {"starts_with(\"a\")", 16, "starts_with() takes 2 arguments"},
    {"coalesce(1)", 11, "coalesce() takes at least 2 arguments"},
    {"len(1, 2)", 8, "len() takes 1 argument"},
    {"len(1 2)", 7, "expected ',' or ')', found a number"},
    {"len(", 5, "the expression ends where a value is expected"},
    /* Strings. */
    {"\"abc", 1, "string is not closed: \" missing"},
    {"x == 'abc\"", 6, "string is not closed: ' missing"},
    {"\"abc\\", 1, "string is not closed"},
    {"\"a\\qb\"", 3, "unknown escape '\\q'"},
    {"\"\\u12\"", 2, "\\u needs four hex digits"},
    {"\"\\u12", 2, "\\u needs four hex digits"},
    {"\"\\uDE00\"", 2, "\\uDE00 is half of a surrogate pair"},
    {"\"\\uD83D\"", 2, "must be followed by a low surrogate"},
    {"\"\\uD83D\\u0041\"", 2, "must be followed by a low surrogate"},
    {"\"\\u0000\"", 2, "\\u0000 is not allowed"},
    {"\"a\nb\"", 3, "control character in a string"},
    /* Numbers and paths. */
    {"1.", 1, "digits must follow '.'"},
    {"1.2.3", 1, "malformed number"},
    {"1e5", 1, "malformed number"},
    {"x > 12abc", 5, "malformed number"},
    {"007", 1, "a number cannot start with 0"},
    {"99999999999999999999", 1, "number out of range"},
    {".5", 1, "unexpected '.'"},
    {"case..x", 6, "a name or index must follow '.'"},
    {"case. x", 6, "a name or index must follow '.'"},
    {"case.amount.", 13, "a name or index must follow '.'"},
    /* Text and full-width punctuation from a Chinese input method; columns count characters. */
    {"串案", 1, "unexpected '串': text must be in quotes"},
    {"case.special == 串案", 17, "text must be in quotes"},
    {"case.special == “串案”", 17, "full-width '“': write the ASCII '\"'"},
    {"done（notices）", 5, "full-width '（': write the ASCII '('"},
    {"done(a，b)", 7, "full-width '，': write the ASCII ','"},
    {"a　and b", 2, "full-width space: write an ASCII space"},
    {"a ＝＝ b", 3, "write the ASCII '='"},
    {"\"串案\" == 1 +", 12, "ends where a value is expected"},
    {"\"串\xff\"", 3, "invalid UTF-8"},
    {"\xc0\x80", 1, "invalid UTF-8"},         /* overlong NUL */
    {"\"\xed\xa0\x80\"", 2, "invalid UTF-8"}, /* a surrogate */
    {"\"\xe4\xb8\"", 2, "invalid UTF-8"},     /* cut short */
};

static void test_parse_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_errors / sizeof parse_errors[0]; i++) {
        char err[256] = "";
        int col = -1;
        cf_expr *e = cf_expr_parse(parse_errors[i].expr, err, sizeof err, &col);
        if (e)
            fail_msg("%s: parsed, want an error", parse_errors[i].expr);
        if (col != parse_errors[i].col || !strstr(err, parse_errors[i].msg))
            fail_msg("%s: got column %d \"%s\", want column %d \"%s\"", parse_errors[i].expr, col,
                     err, parse_errors[i].col, parse_errors[i].msg);
    }
}

static void test_parse_error_buffers(void **state)
{
    (void)state;
    char small[8];
    int col = -1;
    /* No buffer, no column: still an error, and nothing written. */
    assert_null(cf_expr_parse("(", NULL, 0, NULL));
    assert_null(cf_expr_parse(NULL, small, sizeof small, &col));
    assert_string_equal(small, "empty e"); /* truncated, terminated */
    assert_int_equal(col, 1);
    char *long_text = malloc(CF_EXPR_MAX_LEN + 2);
    assert_non_null(long_text);
    memset(long_text, ' ', CF_EXPR_MAX_LEN + 1);
    long_text[CF_EXPR_MAX_LEN] = '1';
    long_text[CF_EXPR_MAX_LEN + 1] = '\0';
    char err[128];
    assert_null(cf_expr_parse(long_text, err, sizeof err, &col));
    assert_non_null(strstr(err, "longer than 16384 bytes"));
    long_text[CF_EXPR_MAX_LEN] = '\0'; /* exactly the limit: fine */
    long_text[CF_EXPR_MAX_LEN - 1] = '1';
    cf_expr *e = cf_expr_parse(long_text, err, sizeof err, &col);
    assert_non_null(e);
    cf_expr_free(e);
    free(long_text);
}

/* ---- Depth limits ------------------------------------------------------------------------ */

/* Returns prefix repeated n times, then middle, then suffix repeated n times; caller frees. */
static char *nest(const char *prefix, size_t n, const char *middle, const char *suffix)
{
    size_t lp = strlen(prefix), lm = strlen(middle), ls = strlen(suffix);
    char *s = malloc(n * (lp + ls) + lm + 1), *w = s;
    assert_non_null(s);
    for (size_t i = 0; i < n; i++, w += lp)
        memcpy(w, prefix, lp);
    memcpy(w, middle, lm);
    w += lm;
    for (size_t i = 0; i < n; i++, w += ls)
        memcpy(w, suffix, ls);
    *w = '\0';
    return s;
}

/* Parses text, expecting success (col 0) or a depth error at column col (-1: any column). */
static void check_depth(char *text, int col)
{
    char err[256] = "";
    int got_col = -2;
    cf_expr *e = cf_expr_parse(text, err, sizeof err, &got_col);
    if (col == 0) {
        if (!e)
            fail_msg("%.60s...: %s", text, err);
        json_t *root = load(root_json), *result = NULL;
        if (cf_expr_eval(e, root, &result, err, sizeof err) != 0)
            fail_msg("%.60s...: %s", text, err);
        json_decref(result);
        json_decref(root);
    } else {
        if (e)
            fail_msg("%.60s...: parsed, want a depth error", text);
        if (!strstr(err, "nested too deeply") || (col > 0 && got_col != col))
            fail_msg("%.60s...: got column %d \"%s\", want column %d", text, got_col, err, col);
    }
    cf_expr_free(e);
    free(text);
}

static void test_depth_limit(void **state)
{
    (void)state;
    /* The outermost expression is one level, so 99 parentheses fit and the 100th does not; the
     * column is the token that would go one level deeper. */
    check_depth(nest("(", 99, "1", ")"), 0);
    check_depth(nest("(", 100, "1", ")"), 101);
    check_depth(nest("(", 5000, "1", ")"), 101);
    check_depth(nest("[", 99, "1", "]"), 0);
    check_depth(nest("[", 5000, "", "]"), 101);
    check_depth(nest("not ", 98, "x", ""), 0);
    check_depth(nest("not ", 4000, "x", ""), -1);
    check_depth(nest("-", 5000, "case.amount", ""), -1);
    check_depth(nest("len(", 200, "\"x\"", ")"), -1);
    check_depth(nest("coalesce(null, ", 200, "1", ")"), -1);
    /* A left-deep chain grows the tree without deepening the parser's recursion: the 100th
     * '+' (column 399) makes the tree 101 levels high. */
    check_depth(nest("1 + ", 99, "1", ""), 0);
    check_depth(nest("1 + ", 100, "1", ""), 399);
    /* `and`/`or` chains are flat, so long lists of conditions are fine. */
    check_depth(nest("state == \"x\" or ", 1000, "done(notices)", ""), 0);
    check_depth(nest("exists(case.amount) and ", 600, "true", ""), 0);
}

static void test_deep_data(void **state)
{
    (void)state;
    /* Case data may nest as deep as jansson allows; comparing it stops with an error. */
    char *deep = nest("[", 1000, "1", "]");
    char *text = malloc(strlen(deep) + 32);
    assert_non_null(text);
    sprintf(text, "{\"case\": {\"deep\": %s}}", deep);
    json_t *root = load(text), *result = NULL;
    char err[256];
    int col;
    cf_expr *e = cf_expr_parse("case.deep == case.deep", err, sizeof err, &col);
    assert_non_null(e);
    assert_int_equal(cf_expr_eval(e, root, &result, err, sizeof err), CF_EINVAL);
    assert_non_null(strstr(err, "column 11: values nest too deeply to compare"));
    cf_expr_free(e);
    e = cf_expr_parse("len(case.deep) == 1 and 2 not in case.deep", err, sizeof err, &col);
    assert_non_null(e);
    int truth = 0;
    assert_int_equal(cf_expr_test(e, root, &truth, err, sizeof err), 0);
    assert_true(truth);
    cf_expr_free(e);
    json_decref(root);
    free(text);
    free(deep);
}

/* ---- Roots ------------------------------------------------------------------------------- */

static void test_roots(void **state)
{
    (void)state;
    char err[256];
    int col;
    json_t *result = NULL;
    cf_expr *e = cf_expr_parse("coalesce(case.amount, 1 + 1)", err, sizeof err, &col);
    assert_non_null(e);
    /* No root is an empty one. */
    assert_int_equal(cf_expr_eval(e, NULL, &result, err, sizeof err), 0);
    assert_int_equal(json_integer_value(result), 2);
    json_decref(result);
    json_t *list = json_array();
    assert_int_equal(cf_expr_eval(e, list, &result, err, sizeof err), CF_EINVAL);
    assert_null(result);
    assert_non_null(strstr(err, "must be a JSON object, not a list"));
    json_decref(list);
    cf_expr_free(e);
    cf_expr_free(NULL);
    assert_int_equal(cf_expr_eval(NULL, NULL, &result, err, sizeof err), CF_EINVAL);
}

/* ---- Introspection ----------------------------------------------------------------------- */

static const struct {
    const char *expr;
    const char *paths;      /* '|'-separated, in order */
    const char *calls;      /* name=arg or name (no argument text), '|'-separated */
    const char *activities; /* '|'-separated */
} introspection[] = {
    {"done(notices) and case.amount >= 50000 and case.special == \"串案\"",
     "case.amount|case.special", "done=notices", "notices"},
    {"all_done(notices, queries) or any_done(freeze, notices) and not failed(queries)", "",
     "all_done=notices|any_done=freeze|failed=queries", "notices|queries|freeze"},
    {"exists(event.result.found) and len(state) > 0 and lower('ABC') == case.x",
     "event.result.found|state|case.x", "exists|len=state|lower=ABC", ""},
    {"case.a + case.a + case.b * case.a", "case.a|case.b", "", ""},
    {"coalesce(len(case.tags), 0)", "case.tags", "coalesce|len", ""},
    {"starts_with(\"串案\", now)", "now", "starts_with=串案", ""},
    {"[event.x, 1] == [case.parties.0.name]", "event.x|case.parties.0.name", "", ""},
    {"1 + 2", "", "", ""},
};

/* Joins n strings from get(e, i) with '|' (NULL as the bare name, for calls). */
static void join(char *out, size_t outsz, size_t n, const cf_expr *e,
                 const char *(*get)(const cf_expr *, size_t),
                 const char *(*arg)(const cf_expr *, size_t))
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(out);
        const char *a = arg ? arg(e, i) : NULL;
        snprintf(out + len, outsz - len, "%s%s%s%s", i ? "|" : "", get(e, i), a ? "=" : "",
                 a ? a : "");
    }
}

static void test_introspection(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof introspection / sizeof introspection[0]; i++) {
        char err[256], got[512];
        int col;
        cf_expr *e = cf_expr_parse(introspection[i].expr, err, sizeof err, &col);
        if (!e)
            fail_msg("%s: %s", introspection[i].expr, err);
        join(got, sizeof got, cf_expr_path_count(e), e, cf_expr_path, NULL);
        assert_string_equal(got, introspection[i].paths);
        join(got, sizeof got, cf_expr_call_count(e), e, cf_expr_call_name, cf_expr_call_arg);
        assert_string_equal(got, introspection[i].calls);
        join(got, sizeof got, cf_expr_activity_count(e), e, cf_expr_activity, NULL);
        assert_string_equal(got, introspection[i].activities);
        assert_null(cf_expr_path(e, cf_expr_path_count(e)));
        assert_null(cf_expr_call_name(e, cf_expr_call_count(e)));
        assert_null(cf_expr_call_arg(e, cf_expr_call_count(e)));
        assert_null(cf_expr_activity(e, cf_expr_activity_count(e)));
        cf_expr_free(e);
    }
    assert_int_equal(cf_expr_path_count(NULL), 0);
    assert_int_equal(cf_expr_call_count(NULL), 0);
}

/* ---- Threads ----------------------------------------------------------------------------- */

struct shared {
    const cf_expr *guard, *value;
    const json_t *root;
    int failures;
};

static void *evaluate_many(void *arg)
{
    struct shared *sh = arg;
    for (int i = 0; i < 2000; i++) {
        char err[256];
        int truth = 0;
        json_t *v = NULL;
        if (cf_expr_test(sh->guard, sh->root, &truth, err, sizeof err) != 0 || !truth)
            __atomic_add_fetch(&sh->failures, 1, __ATOMIC_RELAXED);
        /* The value shares the literal and the root's members with every other thread. */
        if (cf_expr_eval(sh->value, sh->root, &v, err, sizeof err) != 0 || json_array_size(v) != 3)
            __atomic_add_fetch(&sh->failures, 1, __ATOMIC_RELAXED);
        json_decref(v);
    }
    return NULL;
}

static void test_concurrent_evaluation(void **state)
{
    (void)state;
    char err[256];
    int col;
    json_t *root = load(root_json);
    cf_expr *guard = cf_expr_parse("done(notices) and case.parties.0.name == \"张三\" and "
                                   "len(case.special) == 2 and \"失信\" in case.tags",
                                   err, sizeof err, &col);
    cf_expr *value = cf_expr_parse("[\"串案\", case.obj, case.tags]", err, sizeof err, &col);
    assert_non_null(guard);
    assert_non_null(value);
    struct shared sh = {.guard = guard, .value = value, .root = root};
    pthread_t threads[4];
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, evaluate_many, &sh), 0);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    assert_int_equal(sh.failures, 0);
    cf_expr_free(guard);
    cf_expr_free(value);
    json_decref(root);
}

/* ---- The fuzz target on nasty inputs ----------------------------------------------------- */

static void fuzz_string(const char *s)
{
    assert_int_equal(LLVMFuzzerTestOneInput((const uint8_t *)s, strlen(s)), 0);
}

static void fuzz_nested(const char *prefix, size_t n, const char *middle, const char *suffix)
{
    char *s = nest(prefix, n, middle, suffix);
    fuzz_string(s);
    free(s);
}

static void test_fuzz_inputs(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "",
        "\"",
        "'",
        "\\",
        "\"\\",
        "\"\\u",
        "\"\\uD83D\\u",
        "\"\\uD83D\\uDE0",
        "\xff\xfe",
        "\xe4\xb8",
        "\xf4\x90\x80\x80",
        "case.",
        "done(",
        "done(notices",
        "all_done(notices,",
        "coalesce(",
        "1/0 or 1",
        "case.big * case.big",
        "-case.big - case.big",
        "case.huge * case.huge",
        "case.amount / case.event",
        "not",
        "not in",
        "1 not in",
        "[[[[",
        "]]]]",
        "((((",
        "case.parties.99999999999999999999999.name",
        "case.tags.18446744073709551615",
        "case.tags.18446744073709551616",
        "len(lower(case.special + case.special)) > starts_with(now, state)",
        "\"a\" in \"\"",
        "\"\" in \"\"",
        "case == case and event != case",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        fuzz_string(inputs[i]);
    /* Bytes after a NUL are never read. */
    static const uint8_t with_nul[] = {'1', ' ', '+', '\0', '(', '(', '('};
    assert_int_equal(LLVMFuzzerTestOneInput(with_nul, sizeof with_nul), 0);
    fuzz_nested("(", 20000, "1", ")");
    fuzz_nested("(", 20000, "", "");
    fuzz_nested("-", 16000, "1", "");
    fuzz_nested("not ", 4000, "x", "");
    fuzz_nested("1+", 8000, "1", "");
    fuzz_nested("x or ", 3270, "x", "");
    fuzz_nested("\"", 1, "", "");
    fuzz_nested("a.", 8000, "a", "");
    fuzz_nested("\\u4e32", 2700, "", "");
    fuzz_nested("\"", 1, "\\u4e32\\u4e32\\u4e32\\u4e32\\u4e32\\u4e32\\u4e32\\u4e32", "\"");
    fuzz_nested("\"x\" + ", 2000, "\"y\"", "");
    fuzz_nested("[", 8000, "", "]");
    fuzz_nested("串", 5000, "", "");
    fuzz_nested(" ", CF_EXPR_MAX_LEN, "1", "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_runtime_errors),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_error_buffers),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_deep_data),
        cmocka_unit_test(test_roots),
        cmocka_unit_test(test_introspection),
        cmocka_unit_test(test_concurrent_evaluation),
        cmocka_unit_test(test_fuzz_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
