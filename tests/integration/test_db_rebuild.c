/*
 * `caseflow db rebuild` on a real database: cases filed and carried past their first timers by
 * the engine agree with their event logs; then the database owner changes, behind the engine's
 * back, one case's stored state, another's timer, a third's open task and a fourth's state
 * column, and rebuild names exactly those four cases and what differs, run as the engine's
 * role (it only reads).
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

#include "kit/kit.h"

#define NCASES 6

static const char *const FILED_AT = "2026-03-02T09:00:00+08:00";

static void case_no(int i, char *buf, size_t n)
{
    snprintf(buf, n, "(2026)豫0381执%d号", 701 + i);
}

/* Waits until no timer is due, the outbox is empty and the log has stopped growing. */
static void wait_quiet(kit *k)
{
    long long before = -1, now;
    assert_int_equal(kit_wait_count(k,
                                    "select count(*) from timers where due_at <= (select now "
                                    "from engine_clock where id = 1)",
                                    0, 60),
                     0);
    assert_int_equal(kit_wait_count(k, "select count(*) from outbox", 0, 60), 0);
    for (int i = 0; i < 60 && (now = kit_count(k, "select count(*) from events")) != before; i++) {
        before = now;
        kit_sleep_ms(1000);
    }
}

static int rebuild(kit *k, const char *only, char **out)
{
    char *err = NULL;
    int rc = kit_cli(k, out, &err,
                     only ? (const char *[]){"db", "rebuild", "--case", only, NULL}
                          : (const char *[]){"db", "rebuild", NULL});
    free(err);
    return rc;
}

static void exec(kit *k, const char *sql, int n, const char *const *params)
{
    PGresult *res = PQexecParams(k->db, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK || strcmp(PQcmdTuples(res), "1") != 0)
        fail_msg("%s: %s (%s rows)", sql, PQresultErrorMessage(res), PQcmdTuples(res));
    PQclear(res);
}

static void test_rebuild(void **state)
{
    char no[NCASES][64], id[64], *out = NULL;
    kit k;
    pid_t engine;
    (void)state;

    kit_init(&k, "db_rebuild");
    engine = kit_engine_start(&k, NULL);
    kit_advance(&k, "rb-clock-1", FILED_AT);
    for (int i = 0; i < NCASES; i++) {
        case_no(i, no[i], sizeof no[i]);
        snprintf(id, sizeof id, "rb-filed-%d", i);
        kit_send_json(&k, kit_filed(no[i], id, FILED_AT));
    }
    kit_flush(&k);
    assert_int_equal(kit_wait_count(&k, "select count(*) from cases", NCASES, 60), NCASES);
    /* Past the fifteenth day: every case's first query reminder fires and is applied. */
    kit_advance(&k, "rb-clock-2", "2026-03-20T09:00:00+08:00");
    wait_quiet(&k);
    assert_true(kit_count(&k, "select count(*) from events where type = 'timer.fired'") >= NCASES);
    assert_int_equal(kit_engine_stop(&k, engine, SIGTERM), 0);

    /* Untouched, every case agrees with its log. */
    assert_int_equal(rebuild(&k, NULL, &out), 0);
    assert_non_null(strstr(out, "db rebuild: 6 cases, "));
    assert_non_null(strstr(out, "all agree with the database"));

    /* The owner changes four cases, each in one way, without an event. */
    exec(&k, "update cases set body = jsonb_set(body, '{data,amount}', '1') where case_no = $1", 1,
         (const char *[]){no[0]});
    exec(&k, "delete from timers where case_no = $1 and name = 'query_day_30'", 1,
         (const char *[]){no[1]});
    exec(&k,
         "update tasks set due_at = due_at + interval '1 day' where task_id = (select task_id "
         "from tasks where case_no = $1 and status = 'open' and due_at is not null order by "
         "task_id limit 1)",
         1, (const char *[]){no[2]});
    exec(&k, "update cases set state = 'closed' where case_no = $1", 1, (const char *[]){no[3]});

    assert_int_equal(rebuild(&k, NULL, &out), 1);
    {
        char want[256];
        snprintf(want, sizeof want, "%s: state: differs: /data/amount: stored ", no[0]);
        assert_non_null(strstr(out, want));
        snprintf(want, sizeof want, "%s: timer query_day_30: the log sets it for ", no[1]);
        assert_non_null(strstr(out, want));
        assert_non_null(strstr(out, ", the database has no such timer"));
        snprintf(want, sizeof want, "%s: task ", no[2]);
        assert_non_null(strstr(out, want));
        assert_non_null(strstr(out, ": the database has it due "));
        snprintf(want, sizeof want, "%s: the case row says state closed, the log gives ", no[3]);
        assert_non_null(strstr(out, want));
        for (int i = 4; i < NCASES; i++)
            assert_null(strstr(out, no[i]));
        assert_non_null(strstr(out, "db rebuild: 6 cases, "));
        assert_non_null(strstr(out, ": 4 differ, 0 not checked"));
    }

    /* One case alone; and one that does not exist. */
    assert_int_equal(rebuild(&k, no[1], &out), 1);
    assert_non_null(strstr(out, "db rebuild: 1 case, "));
    assert_null(strstr(out, no[0]));
    assert_int_equal(rebuild(&k, no[4], &out), 0);
    assert_int_equal(rebuild(&k, "(2026)豫0381执999号", &out), 1);

    free(out);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rebuild),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
