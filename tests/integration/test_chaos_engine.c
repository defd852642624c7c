/*
 * The engine killed with SIGKILL at 50 random moments (#16) while cases stream in and the
 * network_query worker answers them, on the three-broker cluster: restarted each time, it
 * applies every filing and every task result exactly once, each case's sequence without a gap.
 * The moments come from a seed that is printed, so that a failing run can be replayed
 * (CHAOS_SEED=<seed>).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kit/chaos.h"

enum { CASES = 2000, PER_SECOND = 20, KILLS = 50, WAIT = 300 };

static void test_engine_killed_50_times(void **state)
{
    (void)state;
    kit k;
    chaos_load load;
    pid_t engine, worker;
    unsigned seed = getenv("CHAOS_SEED") ? (unsigned)strtoul(getenv("CHAOS_SEED"), NULL, 10)
                                         : (unsigned)time(NULL);
    /* Static membership: a restarted engine takes its partitions back at once instead of
     * waiting for the group to notice that the killed one is gone. */
    static const char *const instance[] = {"CASEFLOW_INSTANCE=engine-1", "CASEFLOW_BATCH_SIZE=100",
                                           NULL};
    int kills = 0;

    printf("seed %u\n", seed);
    srand(seed);
    chaos_begin(&k, "kills", &load, CASES, PER_SECOND, NULL, &worker);
    for (; kills < KILLS; kills++) {
        engine = kit_engine_start(&k, instance);
        kit_sleep_ms(1000 + rand() % 2000);
        kit_engine_stop(&k, engine, SIGKILL);
        if (kills % 10 == 9)
            printf("kill %d: %lld events applied, %d filings produced\n", kills + 1,
                   kit_count(&k, "select count(*) from events"), load.sent);
    }
    printf("the engine survived %d kills with SIGKILL\n", kills);
    engine = kit_engine_start(&k, instance);
    assert_int_equal(chaos_finish(&k, &load, engine, worker, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_engine_killed_50_times)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
