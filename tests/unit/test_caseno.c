/* Unit tests of core/caseno: parsing case numbers, and the canonical form that makes the ways
 * of writing one case number (half- and full-width brackets and digits, spaces) one case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/caseno.h"

static void test_normalize_forms_of_one_case(void **state)
{
    static const char *const forms[] = {
        "(2026)豫0381执7号",    "（2026）豫0381执7号",          "〔2026〕豫0381执7号",
        "( 2026 )豫0381执７号", "（２０２６）豫０３８１执７号", "　(2026)　豫0381执7号 ",
        "(2026）豫0381执7号",
    };
    (void)state;
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char out[64];
        assert_int_equal(cf_caseno_normalize(forms[i], out, sizeof out), 0);
        assert_string_equal(out, "(2026)豫0381执7号");
    }
}

static void test_normalize_keeps_everything_else(void **state)
{
    char out[128];
    (void)state;
    /* The old form, other brackets, letters, tabs and other full-width signs stay as written. */
    assert_int_equal(cf_caseno_normalize("（2013）洛执字第1984号", out, sizeof out), 0);
    assert_string_equal(out, "(2013)洛执字第1984号");
    assert_int_equal(cf_caseno_normalize("PAY-ab_1.2", out, sizeof out), 0);
    assert_string_equal(out, "PAY-ab_1.2");
    assert_int_equal(cf_caseno_normalize("[2026]\t豫Ａ【1】", out, sizeof out), 0);
    assert_string_equal(out, "[2026]\t豫Ａ【1】");
    assert_int_equal(cf_caseno_normalize("", out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(cf_caseno_normalize("   　", out, sizeof out), 0);
    assert_string_equal(out, "");
}

static void test_normalize_in_place(void **state)
{
    char buf[64] = "（２０２６） 豫0381执７号";
    (void)state;
    assert_int_equal(cf_caseno_normalize(buf, buf, sizeof buf), 0);
    assert_string_equal(buf, "(2026)豫0381执7号");
}

static void test_normalize_refuses_what_is_not_utf8(void **state)
{
    static const char *const bad[] = {
        "(2026)\xff",       /* a byte that is never UTF-8 */
        "(2026)\xe8\xb1",   /* a character cut short */
        "\xc0\xa8",         /* an overlong '(' */
        "\xe0\x80\xa8",     /* an overlong '(' in three bytes */
        "\xed\xa0\x80",     /* a surrogate */
        "\xf4\x90\x80\x80", /* beyond U+10FFFF */
        "\x80",             /* a lone continuation byte */
        "（2026\xef\xbc",   /* a full-width bracket cut short */
    };
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[64];
        assert_int_equal(cf_caseno_normalize(bad[i], out, sizeof out), CF_EINVAL);
    }
    assert_int_equal(cf_caseno_normalize(NULL, (char[8]){0}, 8), CF_EINVAL);
}

static void test_normalize_checks_the_room(void **state)
{
    char out[32];
    const char *in = "（2026）豫0381执7号"; /* 18 bytes once normalized, 17 + NUL */
    (void)state;
    assert_int_equal(cf_caseno_normalize(in, out, 0), CF_EINVAL);
    assert_int_equal(cf_caseno_normalize(in, out, 1), CF_EINVAL);
    assert_int_equal(cf_caseno_normalize(in, out, strlen("(2026)豫0381执7号")), CF_EINVAL);
    assert_int_equal(cf_caseno_normalize(in, out, strlen("(2026)豫0381执7号") + 1), 0);
    assert_string_equal(out, "(2026)豫0381执7号");
    /* A multi-byte character that would not fit whole is not cut. */
    assert_int_equal(cf_caseno_normalize("a豫", out, 4), CF_EINVAL);
    assert_int_equal(cf_caseno_normalize("a豫", out, 5), 0);
}

static void test_normalized_forms_parse_alike(void **state)
{
    char out[64], err[256];
    cf_caseno a, b;
    (void)state;
    assert_int_equal(cf_caseno_normalize("（２０２６）豫０３８１执恢１２号", out, sizeof out), 0);
    assert_int_equal(cf_caseno_parse(out, &a, err, sizeof err), 0);
    assert_int_equal(cf_caseno_parse("(2026)豫0381执恢12号", &b, err, sizeof err), 0);
    assert_memory_equal(&a, &b, sizeof a);
    assert_int_equal(a.year, 2026);
    assert_int_equal(a.seq, 12);
    assert_string_equal(a.type, "执恢");
}

/* Found by fuzz_feedline: a year of fifty digits overflowed the int it was summed into. */
static void test_a_long_year_is_refused_without_overflow(void **state)
{
    char err[256];
    cf_caseno c;
    (void)state;
    assert_int_equal(
        cf_caseno_parse("(202699999999999999999999999999999999999999999999999)豫0381执3号", &c, err,
                        sizeof err),
        CF_EPARSE);
    assert_non_null(strstr(err, "the year must have 4 digits"));
    assert_int_equal(cf_caseno_parse("(20261)豫0381执3号", &c, err, sizeof err), CF_EPARSE);
}

/* A case's court: its number's court code, else the court its filing named, else none. */
static void test_court_of_a_key(void **state)
{
    (void)state;
    char buf[32];

    assert_string_equal(cf_caseno_court("(2026)豫0381执7号", NULL, buf, sizeof buf), "豫0381");
    assert_string_equal(cf_caseno_court("(2026)新0102执恢12号", "", buf, sizeof buf), "新0102");
    /* The number wins over the filing (the engine refuses the two disagreeing). */
    assert_string_equal(cf_caseno_court("(2026)豫0381执7号", "新0102", buf, sizeof buf), "豫0381");
    assert_string_equal(cf_caseno_court("(2013)洛执字第1984号", "豫0381", buf, sizeof buf),
                        "豫0381");
    assert_null(cf_caseno_court("(2013)洛执字第1984号", NULL, buf, sizeof buf));
    assert_string_equal(cf_caseno_court("PAY-20260302-001", "豫0307", buf, sizeof buf), "豫0307");
    assert_null(cf_caseno_court("PAY-20260302-001", "", buf, sizeof buf));
    assert_null(cf_caseno_court(NULL, NULL, buf, sizeof buf));
    /* No room for the code: as if the key named none. */
    assert_null(cf_caseno_court("(2026)豫0381执7号", NULL, buf, 7));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_forms_of_one_case),
        cmocka_unit_test(test_normalize_keeps_everything_else),
        cmocka_unit_test(test_normalize_in_place),
        cmocka_unit_test(test_normalize_refuses_what_is_not_utf8),
        cmocka_unit_test(test_normalize_checks_the_room),
        cmocka_unit_test(test_normalized_forms_parse_alike),
        cmocka_unit_test(test_a_long_year_is_refused_without_overflow),
        cmocka_unit_test(test_court_of_a_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
