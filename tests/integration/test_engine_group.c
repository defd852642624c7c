/*
 * Scale-out: two engines share the partitions of one group while a third joins
 * and later leaves.  Partitions move between them several times; fencing by
 * generation keeps any partition from being committed by two engines, so every
 * event is still applied exactly once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "kit/kit.h"

enum { CASES = 3000, WAVES = 6 };

static void test_three_engines_one_group(void **state)
{
    (void)state;
    static const char *const small[] = {"CASEFLOW_BATCH_SIZE=50", NULL};
    kit k;
    pid_t a, b, c = 0;
    int per_wave = CASES / WAVES;

    kit_init(&k, "group");
    a = kit_engine_start(&k, small);
    b = kit_engine_start(&k, small);
    for (int w = 0; w < WAVES; w++) {
        kit_file_and_withdraw(&k, w * per_wave, (w + 1) * per_wave);
        kit_flush(&k);
        if (w == 1)
            c = kit_engine_start(&k, small); /* a third engine joins mid-stream */
        if (w == 4) {
            kit_engine_stop(&k, c, SIGTERM); /* and leaves again, gracefully */
            c = 0;
        }
        kit_sleep_ms(700);
    }
    assert_int_equal(kit_wait_count(&k, "select count(*) from events", 2 * CASES, 180), 2 * CASES);
    assert_int_equal(kit_count(&k, "select count(*) from (select case_no from events group by "
                                   "case_no having count(*) <> 2 or min(seq) <> 1 or max(seq) <> "
                                   "2) bad"),
                     0);
    assert_int_equal(kit_count(&k, "select count(*) from cases where seq = 2"), CASES);
    /* Partitions did move: each was claimed more than once. */
    assert_true(kit_count(&k, "select min(generation) from consumer_offsets") > 1);
    assert_int_equal(kit_count(&k, "select count(*) from dead_letters"), 0);
    kit_engine_stop_ok(&k, a);
    kit_engine_stop_ok(&k, b);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_three_engines_one_group)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
