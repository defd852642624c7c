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

static void send_wave(kit *k, int from, int to)
{
    for (int c = from; c < to; c++) {
        char case_no[64], id1[32], id2[32];
        snprintf(case_no, sizeof case_no, "(2026)豫0381执%d号", c + 1);
        snprintf(id1, sizeof id1, "filed-%d", c + 1);
        snprintf(id2, sizeof id2, "withdrawn-%d", c + 1);
        kit_send_json(k, kit_filed(case_no, id1, "2026-03-02T09:00:00+08:00"));
        kit_send_json(k, kit_withdrawn(case_no, id2, "2026-03-03T10:00:00+08:00"));
    }
    kit_flush(k);
}

static void test_three_engines_one_group(void **state)
{
    (void)state;
    static const char *const small[] = {"CASEFLOW_BATCH_SIZE=50", NULL};
    kit k;
    pid_t a, b, c = 0;
    int per_wave = CASES / WAVES, status;

    kit_init(&k, "group");
    a = kit_engine_start(&k, small);
    b = kit_engine_start(&k, small);
    for (int w = 0; w < WAVES; w++) {
        send_wave(&k, w * per_wave, (w + 1) * per_wave);
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
    status = kit_engine_stop(&k, a, SIGTERM);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    status = kit_engine_stop(&k, b, SIGTERM);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_three_engines_one_group)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
