/*
 * A three-broker Kafka cluster under load (#16): while cases stream in and the network_query
 * worker answers them, the broker leading most partitions of the events topic is killed
 * (SIGKILL), then a second broker, which takes the KRaft quorum and min.insync.replicas away;
 * then both come back.  The engine and the worker are never restarted: they carry on by
 * themselves, every filing is applied exactly once with each case's sequence without a gap,
 * every task result once, and the lag drains.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "kit/chaos.h"

enum { CASES = 2000, PER_SECOND = 100, WAIT = 300 };

static void test_brokers_killed_under_load(void **state)
{
    (void)state;
    kit k;
    chaos_load load;
    pid_t engine, worker;
    char first[16], second[16];

    chaos_begin(&k, "cluster", &load, CASES, PER_SECOND, &engine, &worker);
    /* The leader of the events topic goes first, while the load runs. */
    assert_int_equal(chaos_leader(&k, k.events, first, sizeof first), 0);
    printf("killing %s, the leader of most partitions of %s, after %lld events applied\n", first,
           k.events, kit_count(&k, "select count(*) from events"));
    assert_int_equal(chaos_stack(&k, "stop", 1, first), 0);

    /* Then a second broker: one node of three is left, without a quorum or an in-sync pair. */
    kit_sleep_ms(5000);
    snprintf(second, sizeof second, "%s", strcmp(first, "kafka3") == 0 ? "kafka2" : "kafka3");
    printf("killing %s too, after %lld events applied\n", second,
           kit_count(&k, "select count(*) from events"));
    assert_int_equal(chaos_stack(&k, "stop", 1, second), 0);
    kit_sleep_ms(5000);

    /* Both come back; nothing is restarted on caseflow's side. */
    assert_int_equal(chaos_stack(&k, "start", 0, first), 0);
    assert_int_equal(chaos_stack(&k, "start", 0, second), 0);
    assert_int_equal(chaos_finish(&k, &load, engine, worker, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_brokers_killed_under_load)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
