/*
 * A network partition between the engine and PostgreSQL under load (#16).  The engine and
 * `caseflow serve` reach PostgreSQL through the kit's TCP proxy (kit/proxy.h), which blackholes
 * the traffic for PARTITION_S seconds: every connection open then, and every one made while it
 * lasts, is held open and silent, as a firewall dropping packets leaves them (no reset, no
 * error: keepalives to the proxy are answered by its kernel, so only the client's own deadlines
 * can tell).  The engine runs with a statement timeout of 5 s, so its deadline (the timeout and
 * 5 s of grace, io/store.c) and libpq's connect_timeout (10 s) both pass inside the partition.
 * It must notice, reconnect once the network heals and carry on without a restart; the audit
 * checks every filing and task result applied exactly once, sequences without a gap.  The
 * server meanwhile answers the staff's requests with 503 naming the database, within its
 * deadline, and serves again after the heal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kit/chaos.h"
#include "kit/proxy.h"

enum { CASES = 1500, PER_SECOND = 50, PARTITION_S = 20, WAIT = 120 };

static void test_partition_engine_postgres(void **state)
{
    (void)state;
    kit k;
    chaos_load load;
    kit_proxy *proxy;
    pid_t engine, worker, server;
    char via[600], pg_env[640], base[64], cookie[256], csrf[128], sql[160];
    const char *env[] = {pg_env, "CASEFLOW_PG_STATEMENT_TIMEOUT_MS=5000", NULL};
    struct timespec cut, healed;
    long long before, during;
    int port, answered503 = 0, asked = 0, database;
    long s;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    kit_init(&k, "partition");
    proxy = kit_proxy_start_pg(k.pg, via, sizeof via);
    snprintf(pg_env, sizeof pg_env, "CASEFLOW_PG=%s", via);
    assert_int_equal(kit_add_user(&k, "wang", "staff", "intake"), 0);
    server = kit_serve_start(&k, env, &port);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    assert_int_equal(kit_login(base, "wang", NULL, cookie, sizeof cookie, csrf, sizeof csrf), 200);
    assert_int_equal(chaos_ask_queue(base, cookie, "before the partition", &database), 200);

    chaos_start_with(&k, &load, CASES, PER_SECOND, env, &engine, &worker);
    before = kit_count(&k, "select count(*) from events");
    kit_proxy_blackhole(proxy);
    clock_gettime(CLOCK_MONOTONIC, &cut);
    printf("partition: PostgreSQL cut off from the engine and the server after %lld events, %d "
           "filings produced, %d connections through the proxy\n",
           before, load.sent, kit_proxy_accepted(proxy));

    /* The server answers within its deadline, saying the database is away. */
    while (chaos_seconds_since(&cut) < PARTITION_S) {
        chaos_ask_queue(base, cookie, "in the partition", &database);
        asked++;
        answered503 += database;
        kit_sleep_ms(2000);
    }
    during = kit_count(&k, "select count(*) from events");
    printf("partition: %d s; %lld events applied meanwhile (in flight when it began), %d "
           "connections held silent, %d filings produced\n",
           PARTITION_S, during - before, kit_proxy_held(proxy), load.sent);
    printf("partition: %d of %d requests answered 503 naming the database\n", answered503, asked);
    assert_true(asked > 0);
    assert_int_equal(answered503, asked);

    kit_proxy_heal(proxy);
    clock_gettime(CLOCK_MONOTONIC, &healed);
    snprintf(sql, sizeof sql, "select (count(*) > %lld)::int from events", during);
    assert_int_equal(kit_wait_count(&k, sql, 1, WAIT), 1);
    printf("partition: the engine applied again %.1f s after the heal\n",
           chaos_seconds_since(&healed));
    for (int i = 0;
         i < WAIT && (s = chaos_ask_queue(base, cookie, "after the heal", &database)) != 200; i++)
        kit_sleep_ms(1000);
    printf("partition: the server answered %ld %.1f s after the heal\n", s,
           chaos_seconds_since(&healed));
    assert_int_equal(s, 200);

    assert_int_equal(kit_engine_stop(&k, server, SIGTERM), 0);
    assert_int_equal(chaos_finish(&k, &load, engine, worker, 1), 0);
    printf("partition: everything applied %.1f s after the heal\n", chaos_seconds_since(&healed));
    kit_proxy_stop(proxy);
    curl_global_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_partition_engine_postgres)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
