/* Unit tests of core/paymatch: the table of real-looking remarks in tests/data/payments (each
 * matched to its expected case, sure or for the clerk), the scoring's parts, and the sequence
 * numbers the worker looks candidates up by. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/paymatch.h"

enum { MAX_CASES = 32, MAX_NAMES = 4 };

typedef struct table_case {
    char no[128], basis[128], names[MAX_NAMES][128];
    const char *name_ptrs[MAX_NAMES];
} table_case;

static table_case cases[MAX_CASES];
static cf_paycase cands[MAX_CASES];
static size_t ncases;

static FILE *open_data(const char *name)
{
    char path[1024];
    const char *src = getenv("CASEFLOW_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/data/payments/%s", src ? src : ".", name);
    return fopen(path, "r");
}

/* Splits `line` at tabs into at most `max` fields; returns their count. */
static int fields(char *line, char **f, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    while (n < max) {
        f[n++] = line;
        if (!(line = strchr(line, '\t')))
            break;
        *line++ = '\0';
    }
    return n;
}

static int load_cases(void **state)
{
    char line[1024], *f[3];
    FILE *in = open_data("cases.tsv");
    (void)state;
    if (!in)
        return -1;
    while (fgets(line, sizeof line, in) && ncases < MAX_CASES) {
        table_case *c = &cases[ncases];
        size_t k = 0;
        char *name, *next;
        if (line[0] == '#' || fields(line, f, 3) != 3)
            continue;
        snprintf(c->no, sizeof c->no, "%s", f[0]);
        snprintf(c->basis, sizeof c->basis, "%s", f[1]);
        /* 、 is three bytes: strtok would split at each of them. */
        for (name = f[2]; name && k < MAX_NAMES; name = next, k++) {
            if ((next = strstr(name, "、"))) {
                *next = '\0';
                next += strlen("、");
            }
            snprintf(c->names[k], sizeof c->names[k], "%s", name);
            c->name_ptrs[k] = c->names[k];
        }
        cands[ncases] = (cf_paycase){c->no, c->basis, c->name_ptrs, k};
        ncases++;
    }
    fclose(in);
    return ncases > 0 ? 0 : -1;
}

static void test_remarks_table(void **state)
{
    char line[2048], *f[4];
    FILE *in = open_data("remarks.tsv");
    int rows = 0, wrong = 0;
    (void)state;
    assert_non_null(in);
    while (fgets(line, sizeof line, in)) {
        cf_paymatch m[MAX_CASES];
        size_t n = 0;
        int sure = 0, ok;
        const char *got;
        if (line[0] == '#' || fields(line, f, 4) != 4)
            continue;
        rows++;
        assert_int_equal(
            cf_paymatch_run(f[0], f[1], "豫0381", cands, ncases, m, MAX_CASES, &n, &sure), 0);
        got = n ? m[0].case_no : "no match";
        ok = strcmp(got, f[2]) == 0 && sure == (strcmp(f[3], "sure") == 0);
        if (!ok) {
            wrong++;
            fprintf(stderr, "remark %-40s payer %-12s: want %s %s, got %s %s (%d: %s%s%s)\n", f[0],
                    f[1], f[2], f[3], got, sure ? "sure" : "clerk", n ? m[0].confidence : 0,
                    n ? m[0].number_why : "", n ? " " : "", n ? m[0].party_why : "");
        }
    }
    fclose(in);
    assert_true(rows >= 30);
    assert_int_equal(wrong, 0);
}

static void test_confidence_parts(void **state)
{
    cf_paymatch m[MAX_CASES];
    size_t n;
    int sure;
    (void)state;
    assert_int_equal(cf_paymatch_run("（2026）豫0381执1234号 张三还款", "张三", "豫0381", cands,
                                     ncases, m, MAX_CASES, &n, &sure),
                     0);
    assert_true(n >= 1);
    assert_int_equal(m[0].number, 70);
    assert_int_equal(m[0].party, 30);
    assert_int_equal(m[0].confidence, 100);
    assert_string_equal(m[0].number_why, "案号一致");
    assert_string_equal(m[0].party_why, "付款人是本案被执行人");
    /* The list is ordered, best first, and holds only candidates with some evidence. */
    for (size_t i = 1; i < n; i++) {
        assert_true(m[i].confidence <= m[i - 1].confidence);
        assert_true(m[i].confidence > 0);
    }
    /* Room for one: the best only. */
    assert_int_equal(cf_paymatch_run("周八还款", "周八", "豫0381", cands, ncases, m, 1, &n, &sure),
                     0);
    assert_int_equal(n, 1);
    assert_false(sure);
}

static void test_no_candidates_and_bad_text(void **state)
{
    cf_paymatch m[4];
    size_t n = 9;
    int sure = 1;
    (void)state;
    assert_int_equal(
        cf_paymatch_run("(2026)豫0381执1234号", "张三", "豫0381", NULL, 0, m, 4, &n, &sure), 0);
    assert_int_equal(n, 0);
    assert_false(sure);
    assert_int_equal(cf_paymatch_run(NULL, NULL, "豫0381", cands, ncases, m, 4, &n, &sure), 0);
    assert_int_equal(n, 0);
    assert_int_equal(cf_paymatch_run("\xff\xfe", "张三", "豫0381", cands, ncases, m, 4, &n, &sure),
                     CF_EINVAL);
}

static int has(const json_t *a, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach (a, i, v)
        if (strcmp(json_string_value(v), s) == 0)
            return 1;
    return 0;
}

static void test_sequences_one_typo_away(void **state)
{
    json_t *a = json_array();
    (void)state;
    assert_int_equal(cf_paymatch_sequences("（2026）豫0381执１２３４号 张三", a), 0);
    assert_true(has(a, "1234"));
    assert_true(has(a, "1235"));  /* changed */
    assert_true(has(a, "234"));   /* left out */
    assert_true(has(a, "12345")); /* added */
    assert_false(has(a, "1243")); /* two changes */
    assert_false(has(a, "0234")); /* no sequence starts with 0 */
    json_array_clear(a);
    assert_int_equal(cf_paymatch_sequences("还款 李四", a), 0);
    assert_int_equal(json_array_size(a), 0);
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remarks_table),
        cmocka_unit_test(test_confidence_parts),
        cmocka_unit_test(test_no_candidates_and_bad_text),
        cmocka_unit_test(test_sequences_one_typo_away),
    };
    return cmocka_run_group_tests(tests, load_cases, NULL);
}
