/*
 * PostgreSQL under load (#16), on the three-broker stack: every PostgreSQL process paused with
 * SIGSTOP for 30 s and resumed, then the server restarted (fast shutdown), then restarted hard
 * (immediate: a crash, with recovery from the WAL).  The engine and the network_query worker are
 * never restarted: the engine waits, reconnects and carries on, and every filing and task result
 * is applied exactly once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "kit/chaos.h"

enum { CASES = 2000, PER_SECOND = 50, PAUSE_S = 30, WAIT = 300 };

static void test_postgres_paused_and_restarted(void **state)
{
    (void)state;
    kit k;
    chaos_load load;
    pid_t engine, worker;
    int stopped;

    chaos_begin(&k, "pgpause", &load, CASES, PER_SECOND, &engine, &worker);
    /* The kit's own connection would hang on a stopped server: it waits with the rest. */
    stopped = chaos_signal("postgres", SIGSTOP);
    printf("PostgreSQL paused (%d processes stopped) for %d s, %d filings produced\n", stopped,
           PAUSE_S, load.sent);
    assert_true(stopped > 1);
    kit_sleep_ms(PAUSE_S * 1000);
    chaos_signal("postgres", SIGCONT);
    printf("PostgreSQL resumed, %d filings produced\n", load.sent);
    kit_sleep_ms(5000);
    printf("%lld events applied\n", kit_count(&k, "select count(*) from events"));

    /* The kit's connection dies with the server: reconnect after each restart. */
    assert_int_equal(chaos_stack(&k, "restart", 0, "postgres"), 0);
    PQreset(k.db);
    kit_sleep_ms(5000);
    printf("after a restart: %lld events applied\n", kit_count(&k, "select count(*) from events"));
    assert_int_equal(chaos_stack(&k, "restart", 1, "postgres"), 0);
    PQreset(k.db);
    assert_int_equal(chaos_finish(&k, &load, engine, worker, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_postgres_paused_and_restarted)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
