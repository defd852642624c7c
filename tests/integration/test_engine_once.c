/*
 * Exactly once under SIGKILL: the engine is killed at random moments, many
 * times, while it consumes a stream, and restarted each time.  In the end
 * every event is applied exactly once: the count, and each case's sequence
 * 1, 2 with nothing missing and nothing twice.
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
#include <time.h>

#include "kit/kit.h"

enum { CASES = 4000, KILLS = 12 };

static void test_sigkill_many_times(void **state)
{
    (void)state;
    kit k;
    pid_t engine;
    unsigned seed = (unsigned)time(NULL);
    /* Static membership: a restarted engine takes its partitions back without waiting for the
     * group to notice that the killed one is gone. */
    static const char *const instance[] = {"CASEFLOW_INSTANCE=engine-1", "CASEFLOW_BATCH_SIZE=100",
                                           NULL};
    int status;

    /* The moments are random; the seed is printed so that a failing run can be replayed. */
    printf("seed %u\n", seed);
    srand(seed);
    kit_init(&k, "once");
    /* The whole stream first: each case filed and then withdrawn (same key, so in order). */
    for (int c = 0; c < CASES; c++) {
        char case_no[64], id1[32], id2[32];
        snprintf(case_no, sizeof case_no, "(2026)豫0381执%d号", c + 1);
        snprintf(id1, sizeof id1, "filed-%d", c + 1);
        snprintf(id2, sizeof id2, "withdrawn-%d", c + 1);
        kit_send_json(&k, kit_filed(case_no, id1, "2026-03-02T09:00:00+08:00"));
        kit_send_json(&k, kit_withdrawn(case_no, id2, "2026-03-03T10:00:00+08:00"));
    }
    kit_flush(&k);
    /* Then kill the engine at random moments while it consumes, and start it again. */
    for (int kill_no = 0; kill_no < KILLS; kill_no++) {
        long long applied;
        engine = kit_engine_start(&k, instance);
        kit_sleep_ms(500 + rand() % 2500);
        kit_engine_stop(&k, engine, SIGKILL);
        applied = kit_count(&k, "select count(*) from events");
        printf("kill %d: %lld of %d events applied\n", kill_no + 1, applied, 2 * CASES);
    }
    engine = kit_engine_start(&k, instance);
    assert_int_equal(kit_wait_count(&k, "select count(*) from events", 2 * CASES, 180), 2 * CASES);
    assert_int_equal(kit_count(&k, "select count(distinct case_no) from events"), CASES);
    /* Each case: exactly seq 1 and 2, the first its filing, the second its withdrawal. */
    assert_int_equal(kit_count(&k, "select count(*) from (select case_no from events group by "
                                   "case_no having count(*) <> 2 or min(seq) <> 1 or max(seq) <> "
                                   "2 or min(type) <> 'case.filed' or max(type) <> "
                                   "'case.withdrawn') bad"),
                     0);
    assert_int_equal(kit_count(&k, "select count(*) from cases where state = 'withdrawal_review' "
                                   "and seq = 2"),
                     CASES);
    assert_int_equal(kit_count(&k, "select count(*) from dead_letters"), 0);
    /* What was committed is published, however often the engine died: the outbox empties. */
    assert_int_equal(kit_wait_count(&k, "select count(*) from outbox", 0, 120), 0);
    status = kit_engine_stop(&k, engine, SIGTERM);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sigkill_many_times)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
