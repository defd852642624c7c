/* base/utf8: where whole characters end, for texts cut at a byte limit, and display width. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/utf8.h"

static void test_whole_text_is_kept(void **state)
{
    (void)state;
    const char *s = "执行 ok \xF0\x9F\x98\x80";
    assert_int_equal(cf_utf8_whole(s, strlen(s)), strlen(s));
    assert_int_equal(cf_utf8_whole("", 0), 0);
}

static void test_a_cut_character_is_dropped(void **state)
{
    (void)state;
    const char *s = "执行"; /* E6 89 A7 E8 A1 8C */
    for (size_t n = 0; n <= 6; n++)
        assert_int_equal(cf_utf8_whole(s, n), n < 3 ? 0 : n < 6 ? 3 : 6);
    {
        char buf[16];
        strcpy(buf, "拒绝");
        buf[4] = '\0'; /* inside 绝 */
        assert_int_equal(cf_utf8_clip(buf), 3);
        assert_string_equal(buf, "拒");
    }
}

static void test_malformed_bytes_end_the_prefix(void **state)
{
    (void)state;
    assert_int_equal(cf_utf8_whole("ab\xff", 3), 2);            /* never a lead byte */
    assert_int_equal(cf_utf8_whole("a\xC0\xAF", 3), 1);         /* overlong '/' */
    assert_int_equal(cf_utf8_whole("a\xE0\x80\xAF", 4), 1);     /* overlong three-byte */
    assert_int_equal(cf_utf8_whole("a\xED\xA0\x80", 4), 1);     /* a surrogate */
    assert_int_equal(cf_utf8_whole("a\xF4\x90\x80\x80", 5), 1); /* above U+10FFFF */
    assert_int_equal(cf_utf8_whole("a\x80", 2), 1);             /* a lone continuation */
    assert_int_equal(cf_utf8_whole("a\xE6\x89x", 4), 1);        /* a lead without its tail */
}

static void test_chinese_takes_two_columns(void **state)
{
    (void)state;
    assert_int_equal(cf_utf8_width("执行指挥中心"), 12);
    assert_int_equal(cf_utf8_width("(2026)豫0381执7号"), 17);     /* 14 ASCII, 3 汉字 */
    assert_int_equal(cf_utf8_width("（２０２６）"), 12);          /* full-width forms */
    assert_int_equal(cf_utf8_width("intake 集约启动岗"), 7 + 10); /* mixed */
    assert_int_equal(cf_utf8_width("\xF0\xA0\x80\x80"), 2);       /* U+20000, CJK Extension B */
    assert_int_equal(cf_utf8_width("가"), 2);                     /* Hangul */
}

static void test_narrow_and_zero_width(void **state)
{
    (void)state;
    assert_int_equal(cf_utf8_width(""), 0);
    assert_int_equal(cf_utf8_width(NULL), 0);
    assert_int_equal(cf_utf8_width("claimed_by"), 10);
    assert_int_equal(cf_utf8_width("e\xCC\x81"), 1); /* e and a combining acute accent */
    assert_int_equal(cf_utf8_width("a\tb"), 2);      /* a control character takes none */
    assert_int_equal(cf_utf8_width("\xC3\xA9t\xC3\xA9"), 3);
}

static void test_bytes_that_are_not_utf8_take_one_column(void **state)
{
    (void)state;
    assert_int_equal(cf_utf8_width("a\xff"), 2);
    assert_int_equal(cf_utf8_width("\xE6\x89"), 1); /* 执 cut short */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_text_is_kept),
        cmocka_unit_test(test_a_cut_character_is_dropped),
        cmocka_unit_test(test_malformed_bytes_end_the_prefix),
        cmocka_unit_test(test_chinese_takes_two_columns),
        cmocka_unit_test(test_narrow_and_zero_width),
        cmocka_unit_test(test_bytes_that_are_not_utf8_take_one_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
