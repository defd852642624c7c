/*
 * Timers fire at their instant whatever the year.  The zone database knows Asia/Shanghai before
 * 1901 as local mean time (+08:05:43): a case filed in 1900 had every timer refused as a stale
 * firing and lost, because the engine wrote the due time in the zone's local time with +08:00
 * after it.  Here a case filed in 1900 and one filed in 2025 each get every timer of their
 * filing fired and applied, and nothing is dead-lettered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "kit/kit.h"

/* The timers the enforcement workflow sets from the filing day; all are due long before the
 * kit's simulated clock (2026-03-02). */
static const char *const TIMERS[] = {"query_day_15", "query_day_30", "query_day_45",
                                     "handling_warning", "handling_limit"};

static void file(kit *k, const char *case_no, const char *id, const char *filed_at)
{
    json_t *ev = kit_filed(case_no, id, "2026-03-02T09:00:00+08:00");
    json_object_set_new(json_object_get(ev, "data"), "filed_at", json_string(filed_at));
    kit_send_json(k, ev);
}

static void test_timers_fire_in_any_year(void **state)
{
    static const struct {
        const char *case_no, *filed_at;
    } cases[] = {
        {"(2026)豫0381执1900号", "1900-03-01T09:00:00+08:00"},
        {"(2026)豫0381执1901号", "1901-01-01T00:00:00+08:00"},
        {"(2026)豫0381执2025号", "2025-06-02T09:00:00+08:00"},
    };
    kit k;
    pid_t engine;
    char sql[512], id[32];

    (void)state;
    kit_init(&k, "timers");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        snprintf(id, sizeof id, "filed-%zu", c);
        file(&k, cases[c].case_no, id, cases[c].filed_at);
    }
    kit_flush(&k);
    engine = kit_engine_start(&k, NULL);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (size_t t = 0; t < sizeof TIMERS / sizeof TIMERS[0]; t++) {
            long long n;
            /* The body is read as jsonb whatever type stores it. */
            snprintf(sql, sizeof sql,
                     "select count(*) from events where case_no = '%s' and type = 'timer.fired' "
                     "and (body::jsonb) #>> '{data,timer}' = '%s'",
                     cases[c].case_no, TIMERS[t]);
            n = kit_wait_count(&k, sql, 1, 60);
            if (n != 1)
                fail_msg("case filed at %s: timer %s fired and applied %lld times, expected once",
                         cases[c].filed_at, TIMERS[t], n);
        }
        snprintf(sql, sizeof sql, "select count(*) from dead_letters where case_no = '%s'",
                 cases[c].case_no);
        assert_int_equal(kit_count(&k, sql), 0);
    }
    kit_engine_stop_ok(&k, engine);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timers_fire_in_any_year),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
