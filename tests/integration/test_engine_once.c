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

    /* The moments are random; the seed is printed so that a failing run can be replayed. */
    printf("seed %u\n", seed);
    srand(seed);
    kit_init(&k, "once");
    /* The whole stream first: each case filed and then withdrawn (same key, so in order). */
    kit_file_and_withdraw(&k, 0, CASES);
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
    kit_check_withdrawn(&k, CASES);
    /* What was committed is published, however often the engine died: the outbox empties. */
    assert_int_equal(kit_wait_count(&k, "select count(*) from outbox", 0, 120), 0);
    kit_engine_stop_ok(&k, engine);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sigkill_many_times)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
