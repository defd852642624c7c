/* Unit tests of engine/cache: a case put is found with its state, head hash and creation time;
 * a put again replaces them; the least recently used case goes first when the cache is full
 * (a get counts as a use); the size never passes the limit however many cases pass through;
 * clear empties it; a limit of 0 keeps nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "engine/cache.h"

static const char H1[] = "1111111111111111111111111111111111111111111111111111111111111111";
static const char H2[] = "2222222222222222222222222222222222222222222222222222222222222222";

static void put_then_get(void **state)
{
    cf_cache *c = cf_cache_new(4);
    json_t *st = json_pack("{s:s, s:i}", "state", "filed", "seq", 1);
    const cf_cached *got;

    (void)state;
    assert_null(cf_cache_get(c, "A"));
    cf_cache_put(c, "A", st, H1, 1000);
    got = cf_cache_get(c, "A");
    assert_non_null(got);
    assert_ptr_equal(got->state, st);
    assert_string_equal(got->hash, H1);
    assert_true(got->created_at == 1000);
    /* The cache holds its own reference. */
    json_decref(st);
    assert_string_equal(json_string_value(json_object_get(got->state, "state")), "filed");

    st = json_pack("{s:s}", "state", "assigned");
    cf_cache_put(c, "A", st, H2, 1000);
    json_decref(st);
    got = cf_cache_get(c, "A");
    assert_string_equal(got->hash, H2);
    assert_string_equal(json_string_value(json_object_get(got->state, "state")), "assigned");
    assert_int_equal(cf_cache_size(c), 1);
    cf_cache_free(c);
}

static void least_recently_used_goes_first(void **state)
{
    cf_cache *c = cf_cache_new(3);
    json_t *st = json_object();

    (void)state;
    cf_cache_put(c, "A", st, H1, 1);
    cf_cache_put(c, "B", st, H1, 2);
    cf_cache_put(c, "C", st, H1, 3);
    assert_non_null(cf_cache_get(c, "A")); /* A is now the most recent: B goes next */
    cf_cache_put(c, "D", st, H1, 4);
    assert_null(cf_cache_get(c, "B"));
    assert_non_null(cf_cache_get(c, "A"));
    assert_non_null(cf_cache_get(c, "C"));
    assert_non_null(cf_cache_get(c, "D"));
    assert_int_equal(cf_cache_size(c), 3);
    json_decref(st);
    cf_cache_free(c);
}

static void bounded_whatever_passes_through(void **state)
{
    cf_cache *c = cf_cache_new(100);
    char key[32];

    (void)state;
    for (int i = 0; i < 20000; i++) {
        json_t *st = json_pack("{s:i}", "n", i);
        snprintf(key, sizeof key, "(2026)豫0381执%d号", i);
        cf_cache_put(c, key, st, H1, i);
        json_decref(st);
        assert_true(cf_cache_size(c) <= 100);
    }
    /* The last hundred are there, with what was put. */
    for (int i = 19900; i < 20000; i++) {
        const cf_cached *got;
        snprintf(key, sizeof key, "(2026)豫0381执%d号", i);
        got = cf_cache_get(c, key);
        assert_non_null(got);
        assert_int_equal(json_integer_value(json_object_get(got->state, "n")), i);
        assert_true(got->created_at == i);
    }
    snprintf(key, sizeof key, "(2026)豫0381执%d号", 19899);
    assert_null(cf_cache_get(c, key));
    cf_cache_clear(c);
    assert_int_equal(cf_cache_size(c), 0);
    assert_null(cf_cache_get(c, key));
    cf_cache_free(c);
}

static void limit_zero_keeps_nothing(void **state)
{
    cf_cache *c = cf_cache_new(0);
    json_t *st = json_object();

    (void)state;
    cf_cache_put(c, "A", st, H1, 1);
    assert_null(cf_cache_get(c, "A"));
    assert_int_equal(cf_cache_size(c), 0);
    json_decref(st);
    cf_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_then_get),
        cmocka_unit_test(least_recently_used_goes_first),
        cmocka_unit_test(bounded_whatever_passes_through),
        cmocka_unit_test(limit_zero_keeps_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
