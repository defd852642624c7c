/* Unit tests of base/yamldoc: YAML loaded within bounds.  Each limit passes at its value and
 * fails one past it, with the position of the node that passes it; an alias bomb is refused in
 * one pass; a recursive alias is refused; a syntax error keeps libyaml's words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/yamldoc.h"
#include "fixture.h"

/* Loads `yaml`; expects success (problem NULL) or the code, position and problem given. */
static void expect(const char *yaml, size_t len, int code, int line, int col, const char *problem)
{
    yaml_document_t doc;
    cf_yamldoc_error e;
    int rc = cf_yamldoc_load(&doc, yaml, len, &e);
    if (!problem) {
        if (rc != 0)
            fail_msg("expected to load, got %d at %d:%d: %s", rc, e.line, e.col, e.problem);
        assert_non_null(yaml_document_get_root_node(&doc));
        yaml_document_delete(&doc);
        return;
    }
    assert_int_equal(rc, code);
    if (!strstr(e.problem, problem))
        fail_msg("problem '%s' lacks '%s'", e.problem, problem);
    if (e.line != line || e.col != col)
        fail_msg("'%s' at %d:%d, expected %d:%d", e.problem, e.line, e.col, line, col);
}

static void test_depth(void **state)
{
    (void)state;
    for (int depth = 63; depth <= 66; depth++) {
        fx_text t = {0};
        fx_put(&t, "top:\n  ");
        /* The top-level mapping is one level; the flow lists are the others. */
        for (int i = 1; i < depth; i++)
            fx_put(&t, "[");
        fx_put(&t, "x");
        for (int i = 1; i < depth; i++)
            fx_put(&t, "]");
        fx_put(&t, "\n");
        if (depth <= CF_YAML_MAX_DEPTH)
            expect(t.s, t.len, 0, 0, 0, NULL);
        else
            expect(t.s, t.len, CF_ERANGE, 2, 3 + CF_YAML_MAX_DEPTH - 1, "nested more than 64 deep");
        free(t.s);
    }
}

static void test_aliases_and_anchors(void **state)
{
    (void)state;
    for (int n = CF_YAML_MAX_ALIASES; n <= CF_YAML_MAX_ALIASES + 1; n++) {
        fx_text t = {0};
        fx_put(&t, "a: &a x\nb:\n");
        for (int i = 0; i < n; i++)
            fx_put(&t, "  - *a\n");
        if (n <= CF_YAML_MAX_ALIASES)
            expect(t.s, t.len, 0, 0, 0, NULL);
        else
            expect(t.s, t.len, CF_ERANGE, 3 + CF_YAML_MAX_ALIASES, 5, "more than 1000 aliases");
        free(t.s);
    }
    for (int n = CF_YAML_MAX_ANCHORS; n <= CF_YAML_MAX_ANCHORS + 1; n++) {
        fx_text t = {0};
        for (int i = 0; i < n; i++)
            fx_put(&t, "k%d: &a%d x\n", i, i);
        if (n <= CF_YAML_MAX_ANCHORS)
            expect(t.s, t.len, 0, 0, 0, NULL);
        else
            /* The last anchor, after "k<n-1>: ", is the one too many. */
            expect(t.s, t.len, CF_ERANGE, n, snprintf(NULL, 0, "k%d: ", n - 1) + 1,
                   "more than 1000 anchors");
        free(t.s);
    }
}

/* The billion laughs: 9 levels of 10 aliases (90 aliases in 700 bytes) would stand for a
 * billion nodes; it is refused at the alias that takes it past the limit. */
static void test_alias_bomb(void **state)
{
    (void)state;
    fx_text t = {0};
    fx_put(&t, "l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n");
    for (int i = 1; i < 10; i++) {
        fx_put(&t, "l%d: &l%d [", i, i);
        for (int k = 0; k < 10; k++)
            fx_put(&t, "%s*l%d", k ? ", " : "", i - 1);
        fx_put(&t, "]\n");
    }
    /* l5's list: 1 + 111,111 nodes after its first alias, 222,223 after its second. */
    expect(t.s, t.len, CF_ERANGE, 6, 15, "the aliases expand the document to more than 200000");
    free(t.s);

    /* A few levels stand for fewer nodes than the limit and load. */
    static const char few[] = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                              "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                              "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n";
    expect(few, sizeof few - 1, 0, 0, 0, NULL);
}

static void test_nodes(void **state)
{
    (void)state;
    for (int n = CF_YAML_MAX_NODES - 2; n <= CF_YAML_MAX_NODES - 1; n++) {
        fx_text t = {0};
        /* The document's nodes: the list and its n items. */
        fx_put(&t, "[");
        for (int i = 0; i < n; i++)
            fx_put(&t, "%s1", i ? "," : "");
        fx_put(&t, "]\n");
        if (n + 1 <= CF_YAML_MAX_NODES)
            expect(t.s, t.len, 0, 0, 0, NULL);
        else
            expect(t.s, t.len, CF_ERANGE, 1, 2 * n, "more than 200000 nodes");
        free(t.s);
    }
}

static void test_recursive_alias(void **state)
{
    (void)state;
    expect("a: &a [x, *a]\n", strlen("a: &a [x, *a]\n"), CF_ERANGE, 1, 11, "a recursive alias");
    expect("a: &a {b: [*a]}\n", strlen("a: &a {b: [*a]}\n"), CF_ERANGE, 1, 12, "a recursive alias");
}

static void test_size_and_syntax(void **state)
{
    (void)state;
    size_t big = CF_YAML_MAX_BYTES + 1;
    char *s = malloc(big);
    assert_non_null(s);
    /* A document and a long comment after it. */
    memset(s, '#', big);
    memcpy(s, "a: x\n", 5);
    expect(s, big, CF_ERANGE, 1, 1, "larger than 4194304 bytes");
    expect(s, big - 1, 0, 0, 0, NULL);
    free(s);
    expect("a: [1, 2\n", strlen("a: [1, 2\n"), CF_EPARSE, 2, 1, "did not find expected ',' or ']'");
    /* An unknown alias is libyaml's to report. */
    expect("a: *nothing\n", strlen("a: *nothing\n"), CF_EPARSE, 1, 4, "found undefined alias");
    /* Only the first document counts, as libyaml loads only it. */
    static const char two[] =
        "a: 1\n---\n[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
        "[[[[[[[[[[";
    expect(two, sizeof two - 1, 0, 0, 0, NULL);
}

static void test_read_file(void **state)
{
    (void)state;
    char path[] = "/tmp/cf-yamldoc-XXXXXX", err[256], *text_;
    size_t len;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "0123456789", 10), 10);
    close(fd);
    assert_int_equal(cf_yamldoc_read_file(path, 10, &text_, &len, err, sizeof err), 0);
    assert_int_equal(len, 10);
    assert_string_equal(text_, "0123456789");
    free(text_);
    assert_int_equal(cf_yamldoc_read_file(path, 9, &text_, &len, err, sizeof err), CF_ERANGE);
    assert_string_equal(err, "larger than 9 bytes");
    assert_null(text_);
    unlink(path);
    assert_int_equal(cf_yamldoc_read_file(path, 9, &text_, &len, err, sizeof err), CF_EIO);
    assert_non_null(strstr(err, "cannot open: "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depth),           cmocka_unit_test(test_aliases_and_anchors),
        cmocka_unit_test(test_alias_bomb),      cmocka_unit_test(test_nodes),
        cmocka_unit_test(test_recursive_alias), cmocka_unit_test(test_size_and_syntax),
        cmocka_unit_test(test_read_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
