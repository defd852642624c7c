/*
 * A broker paused (#16): under load, the broker leading the most partitions of the events topic
 * is stopped with SIGSTOP for 20 s — alive to the network, answering nothing, which is worse
 * than dead — and resumed.  The engine and the network_query worker carry on by themselves;
 * every filing and task result is applied exactly once and the lag drains.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "kit/chaos.h"

enum { CASES = 2000, PER_SECOND = 100, PAUSE_S = 20, WAIT = 300 };

static void test_broker_paused(void **state)
{
    (void)state;
    kit k;
    chaos_load load;
    pid_t engine, worker;
    char leader[16];

    chaos_begin(&k, "brokerpause", &load, CASES, PER_SECOND, &engine, &worker);
    assert_int_equal(chaos_leader(&k, k.events, leader, sizeof leader), 0);
    assert_int_equal(chaos_signal(leader, SIGSTOP), 1);
    printf("%s paused for %d s after %lld events applied\n", leader, PAUSE_S,
           kit_count(&k, "select count(*) from events"));
    kit_sleep_ms(PAUSE_S * 1000);
    assert_int_equal(chaos_signal(leader, SIGCONT), 1);
    printf("%s resumed after %lld events applied\n", leader,
           kit_count(&k, "select count(*) from events"));
    assert_int_equal(chaos_finish(&k, &load, engine, worker, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_broker_paused)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
