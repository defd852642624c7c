/* Unit tests of base/mask: personal data never leaves in clear. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/mask.h"
#include "core/maskjson.h"

static void test_names(void **state)
{
    (void)state;
    char out[64];
    assert_string_equal(cf_mask_name("张三丰", out, sizeof out), "张**");
    assert_string_equal(cf_mask_name("洛阳某某建材有限公司", out, sizeof out), "洛*********");
    assert_string_equal(cf_mask_name("", out, sizeof out), "");
    assert_string_equal(cf_mask_name(NULL, out, sizeof out), "");
}

static void test_numbers_and_phones(void **state)
{
    (void)state;
    char out[64];
    assert_string_equal(cf_mask_number("410381199001011234", out, sizeof out),
                        "41**************34");
    assert_string_equal(cf_mask_phone("13812345678", out, sizeof out), "138****5678");
    /* Too short to show both ends: only the first character stays. */
    assert_string_equal(cf_mask_phone("12345", out, sizeof out), "1****");
}

static void test_truncation_keeps_utf8_whole(void **state)
{
    (void)state;
    char out[8];
    cf_mask_name("张三丰张三丰", out, sizeof out);
    /* 8 bytes: the first character (3 bytes) and stars, never half a character. */
    assert_true(strlen(out) < sizeof out);
    assert_memory_equal(out, "张", 3);
}

static void test_json_masks_at_any_depth(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *in = json_loads("{\"case\":\"(2026)豫0381执1号\",\"parties\":[{\"name\":\"李四\","
                            "\"id_number\":\"410381199001011234\",\"phone\":\"13812345678\","
                            "\"address\":\"偃师区某路1号\"}],\"amount\":12000.5}",
                            0, &jerr);
    assert_non_null(in);
    char *s = cf_mask_json_dumps(in);
    assert_non_null(s);
    assert_null(strstr(s, "李四"));
    assert_null(strstr(s, "199001011"));
    assert_null(strstr(s, "偃师区"));
    assert_null(strstr(s, "12000"));
    assert_non_null(strstr(s, "\"李*\""));
    assert_non_null(strstr(s, "(2026)豫0381执1号"));
    free(s);
    json_decref(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_numbers_and_phones),
        cmocka_unit_test(test_truncation_keeps_utf8_whole),
        cmocka_unit_test(test_json_masks_at_any_depth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
