/* Unit tests of core/keyed: instance names NAME#KEY, matching them to the workflow's names, and
 * the order `each` walks a record's entries in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/keyed.h"

static void test_name_from_text_and_number(void **state)
{
    char buf[32];
    json_t *k = json_integer(12), *s = json_string("a1");
    (void)state;
    assert_int_equal(cf_keyed_name("measure", k, buf, sizeof buf), 0);
    assert_string_equal(buf, "measure#12");
    assert_int_equal(cf_keyed_name("measure", s, buf, sizeof buf), 0);
    assert_string_equal(buf, "measure#a1");
    json_decref(k);
    json_decref(s);
}

static void test_name_refuses_bad_keys(void **state)
{
    char buf[16];
    json_t *keys[] = {json_null(), json_string(""), json_string("a#b"), json_real(1.5),
                      json_object()};
    json_t *long_key = json_string("0123456789abcdef");
    (void)state;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        assert_int_equal(cf_keyed_name("m", keys[i], buf, sizeof buf), CF_EINVAL);
        json_decref(keys[i]);
    }
    assert_int_equal(cf_keyed_name("measure", long_key, buf, sizeof buf), CF_ERANGE);
    json_decref(long_key);
}

static void test_match_plain_and_keyed(void **state)
{
    const char *key = "x";
    (void)state;
    assert_true(cf_keyed_match("measure", "measure", &key));
    assert_null(key);
    assert_true(cf_keyed_match("measure", "measure#3", &key));
    assert_string_equal(key, "3");
    /* Another name that starts alike is not an instance. */
    assert_false(cf_keyed_match("measure", "measure_renewal#3", &key));
    assert_false(cf_keyed_match("measure_renewal", "measure", &key));
    assert_string_equal(cf_keyed_key("measure_lapsed#2"), "2");
    assert_null(cf_keyed_key("handling_limit"));
}

static void test_entries_sorted_by_name(void **state)
{
    json_t *obj = json_pack("{s:i, s:i, s:i}", "2", 0, "10", 0, "1", 0);
    json_t *names = cf_keyed_entries(obj), *none = cf_keyed_entries(NULL);
    (void)state;
    assert_int_equal(json_array_size(names), 3);
    assert_string_equal(json_string_value(json_array_get(names, 0)), "1");
    assert_string_equal(json_string_value(json_array_get(names, 1)), "10");
    assert_string_equal(json_string_value(json_array_get(names, 2)), "2");
    assert_int_equal(json_array_size(none), 0);
    json_decref(obj);
    json_decref(names);
    json_decref(none);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_from_text_and_number),
        cmocka_unit_test(test_name_refuses_bad_keys),
        cmocka_unit_test(test_match_plain_and_keyed),
        cmocka_unit_test(test_entries_sorted_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
