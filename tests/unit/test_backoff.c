/* Unit tests of base/backoff: the delay before trying again doubles up to its cap, and the
 * random half keeps it between half and all of that. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/backoff.h"

static void test_doubles_up_to_the_cap(void **state)
{
    (void)state;
    assert_int_equal(cf_backoff_delay(200, 5000, 1, NULL), 200);
    assert_int_equal(cf_backoff_delay(200, 5000, 2, NULL), 400);
    assert_int_equal(cf_backoff_delay(200, 5000, 5, NULL), 3200);
    assert_int_equal(cf_backoff_delay(200, 5000, 6, NULL), 5000);
    assert_int_equal(cf_backoff_delay(200, 5000, 1000, NULL), 5000);
    /* A first delay above the cap is the cap. */
    assert_int_equal(cf_backoff_delay(9000, 5000, 1, NULL), 5000);
}

static void test_jitter_stays_in_the_upper_half(void **state)
{
    (void)state;
    unsigned long long rng = 12345;
    int differ = 0;
    long long first = cf_backoff_delay(1000, 30000, 3, &rng);

    for (int i = 0; i < 1000; i++) {
        long long d = cf_backoff_delay(1000, 30000, 3, &rng);
        assert_true(d >= 2000 && d <= 4000);
        differ |= d != first;
    }
    assert_true(differ); /* many clients failing together do not come back together */
    rng = 7;
    assert_int_equal(cf_backoff_delay(1, 1, 1, &rng), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doubles_up_to_the_cap),
        cmocka_unit_test(test_jitter_stays_in_the_upper_half),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
