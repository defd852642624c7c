/*
 * A worker killed in the middle of its work, for every worker kind (#16).  Six cases go through
 * their life — filed, checked, notices made and served, property queried and checked, sent to
 * auction, closed and archived — and each kind's work is first taken by a slow worker (every
 * outside call 2 to 4 s) that is killed with SIGKILL while its messages are in progress, then
 * finished by a successor.  Every task of every kind is settled by exactly one event; the
 * results the killed worker had published but not committed come again and are dropped by the
 * engine as duplicates.
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

/* Seven local checks a case (the six registries and the housing authority), and two service
 * items (the applicant's and the respondent's documents). */
enum { CASES = 6, CHECKS = 7, ITEMS = 2, WAIT = 180 };
#define UNSETTLED "select count(*) from tasks where worker and status in ('open', 'claimed')"

static long long count_kind(kit *k, const char *kind, const char *status_in)
{
    char sql[256];
    snprintf(sql, sizeof sql, "select count(*) from tasks where kind = '%s'%s%s%s", kind,
             status_in ? " and status in (" : "", status_in ? status_in : "", status_in ? ")" : "");
    return kit_count(k, sql);
}

static void wait_kind(kit *k, const char *kind, const char *status_in, long long want)
{
    char sql[256];
    snprintf(sql, sizeof sql, "select count(*) from tasks where kind = '%s'%s%s%s", kind,
             status_in ? " and status in (" : "", status_in ? status_in : "", status_in ? ")" : "");
    assert_int_equal(kit_wait_count(k, sql, want, WAIT), want);
}

/* Whether the worker's log says it was given its partitions. */
static int assigned(const char *log)
{
    char line[1024];
    int found = 0;
    FILE *f = fopen(log, "r");
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, "assigned ") != NULL;
    if (f)
        fclose(f);
    return found;
}

/*
 * The kill: a slow worker of `kind` takes the `total` tasks waiting for it (each outside call
 * 2 to 4 s) and is killed with SIGKILL 2 s after it was given its partitions or at its first
 * result, whichever comes first: in the middle of its messages, or of its one batch.  A normal
 * worker then finishes.  Returns the normal worker.
 */
static pid_t kill_mid(kit *k, const char *kind, long long total)
{
    static const char *const slow[] = {"CASEFLOW_WORKER_GRACE_MS=0",
                                       "CASEFLOW_SIM_LATENCY_MS=3000",
                                       "CASEFLOW_SIM_JITTER_MS=1000",
                                       "CASEFLOW_SIM_FOUND=75",
                                       "CASEFLOW_SIM_ERROR=0",
                                       "CASEFLOW_SIM_TIMEOUT=0",
                                       NULL};
    long long before = count_kind(k, kind, "'done', 'failed'"), at_kill;
    pid_t w = kit_worker_start(k, kind, slow);
    char log[700];

    snprintf(log, sizeof log, "%s/worker-%s-%d.log", k->logdir, kind, k->workers_started);
    for (int i = 0; i < WAIT * 10 && !assigned(log); i++) {
        assert_int_equal(waitpid(w, NULL, WNOHANG), 0); /* it did not stop at start */
        kit_sleep_ms(100);
    }
    for (int i = 0; i < 20 && count_kind(k, kind, "'done', 'failed'") == before; i++)
        kit_sleep_ms(100);
    kit_engine_stop(k, w, SIGKILL);
    at_kill = count_kind(k, kind, "'done', 'failed'");
    printf("%s: worker killed with %lld of %lld tasks settled\n", kind, at_kill, total);
    w = kit_worker_start(k, kind, NULL);
    /* At least the tasks that were waiting get settled; an answer may make more of the kind (an
     * auction without a price is asked again by valuation), which the normal worker also does. */
    {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "select (count(*) >= %lld)::int from tasks where kind = '%s' and status in "
                 "('done', 'failed')",
                 total, kind);
        assert_int_equal(kit_wait_count(k, sql, 1, WAIT), 1);
    }
    return w;
}

static void advance(kit *k, const char *to)
{
    kit_advance(k, NULL, to);
}

/* Staff of the task's post claim and complete every open task of `activity` with `result`. */
static void staff_complete(kit *k, const char *activity, const char *result, const char *time)
{
    const char *p[1] = {activity};
    PGresult *res = PQexecParams(k->db,
                                 "select case_no, task_id, post from tasks where activity = $1 "
                                 "and status = 'open' order by case_no",
                                 1, NULL, p, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), CASES);
    for (int r = 0; r < PQntuples(res); r++) {
        char id[160], source[160];
        snprintf(id, sizeof id, "staff-%s", PQgetvalue(res, r, 1));
        snprintf(source, sizeof source, "staff:%s:张三", PQgetvalue(res, r, 2));
        kit_claim(k, PQgetvalue(res, r, 1), "张三");
        kit_send_json(k, json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:o}}", "id", id,
                                   "type", "task.completed", "case", PQgetvalue(res, r, 0), "time",
                                   time, "source", source, "data", "task_id", PQgetvalue(res, r, 1),
                                   "activity", activity, "kind", activity, "result",
                                   json_loads(result, 0, NULL)));
    }
    PQclear(res);
    kit_flush(k);
}

static void wait_state(kit *k, const char *state)
{
    char sql[256];
    snprintf(sql, sizeof sql, "select count(*) from cases where state = '%s'", state);
    assert_int_equal(kit_wait_count(k, sql, CASES, WAIT), CASES);
}

static void test_every_kind_killed_mid_work(void **state)
{
    (void)state;
    kit k;
    pid_t engine, workers[6];
    long long dups;

    kit_init(&k, "kinds");
    engine = kit_engine_start(&k, NULL);

    /* Monday 2 March 08:30: filed; the network query goes out at once. */
    for (int n = 1; n <= CASES; n++) {
        char c[64], id[32];
        snprintf(c, sizeof c, "(2026)豫0381执%d号", n);
        snprintf(id, sizeof id, "filed-%d", n);
        kit_send_json(&k, kit_filed(c, id, "2026-03-02T08:30:00+08:00"));
    }
    kit_flush(&k);
    wait_kind(&k, "network_query", NULL, CASES);
    workers[0] = kill_mid(&k, "network_query", CASES);

    /* Reviewed by the filing reviewer, then checked by the intake post: the notices are made,
     * the local checks wait for 09:00. */
    staff_complete(&k, "filing_review", "{\"enforceable\": true, \"parties_ok\": true}",
                   "2026-03-02T08:35:00+08:00");
    wait_kind(&k, "intake_check", NULL, CASES);
    staff_complete(&k, "intake_check", "{\"complete\": true}", "2026-03-02T08:40:00+08:00");
    wait_kind(&k, "documents", NULL, CASES);
    workers[1] = kill_mid(&k, "documents", CASES);
    advance(&k, "2026-03-02T12:00:00+08:00");
    workers[2] = kill_mid(&k, "six_checks", CHECKS * CASES);

    /* The day's service round at 14:00, one batch per delivery route. */
    wait_kind(&k, "service", NULL, ITEMS * CASES);
    advance(&k, "2026-03-02T15:00:00+08:00");
    workers[3] = kill_mid(&k, "service", ITEMS * CASES);

    /* Property found: the handler sends it to auction. */
    wait_state(&k, "execution");
    staff_complete(&k, "execution_plan", "{\"auction\": true}", "2026-03-03T10:00:00+08:00");
    wait_kind(&k, "auction", NULL, CASES);
    workers[4] = kill_mid(&k, "auction", CASES);
    /* A round that did not sell asks for another: the case closes once none is in progress, or
     * the late answer of a cancelled round would be refused (rightly) to the dead-letter topic. */
    assert_int_equal(kit_wait_count(&k, UNSETTLED, 0, WAIT), 0);

    /* Closed by the bureau lead; the ledger of March goes to the archive system on 1 April (the
     * archive group then binds each file: staff work, not this test's). */
    for (int n = 1; n <= CASES; n++) {
        char c[64], id[32];
        snprintf(c, sizeof c, "(2026)豫0381执%d号", n);
        snprintf(id, sizeof id, "closed-%d", n);
        kit_send_json(&k, json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "id", id, "type",
                                    "case.decided", "case", c, "time", "2026-03-05T11:00:00+08:00",
                                    "source", "staff:bureau_lead:张三", "data", "decision", "close",
                                    "close_method", "执行完毕"));
    }
    kit_flush(&k);
    wait_state(&k, "closed");
    advance(&k, "2026-04-01T10:00:00+08:00");
    workers[5] = kill_mid(&k, "archive", CASES);
    wait_kind(&k, "archive", "'done', 'failed'", CASES);

    /* An answer may have made more work after its kind was counted (a valuation asks for another
     * auction round): every worker task settles before the counts. */
    assert_int_equal(kit_wait_count(&k, UNSETTLED, 0, WAIT), 0);
    /* Exactly once, every kind: no worker task settled twice, none left without its result (a
     * task cancelled by the case's end may have none), nothing refused. */
    assert_int_equal(kit_count(&k, "select count(*) from tasks t join (select body -> 'data' ->> "
                                   "'task_id' as task_id, count(*) as n from events where type in "
                                   "('task.completed', 'task.failed') group by 1) r using "
                                   "(task_id) where t.worker and r.n > 1"),
                     0);
    assert_int_equal(kit_count(&k, "select count(*) from tasks t where t.worker and t.status <> "
                                   "'cancelled' and not exists (select 1 from events e where "
                                   "e.type in ('task.completed', 'task.failed') and e.body -> "
                                   "'data' ->> 'task_id' = t.task_id)"),
                     0);
    assert_int_equal(kit_count(&k, "select count(distinct kind) from tasks where worker"), 6);
    assert_int_equal(kit_count(&k, "select count(*) from dead_letters"), 0);
    dups = kit_count(&k, "select coalesce(sum(seen), 0) from duplicates");
    printf("6 kinds killed mid-work; the engine dropped %lld duplicate result%s\n", dups,
           dups == 1 ? "" : "s");
    for (int i = 0; i < 6; i++)
        assert_int_equal(kit_engine_stop(&k, workers[i], SIGTERM), 0);
    assert_int_equal(kit_engine_stop(&k, engine, SIGTERM), 0);
    kit_done(&k);
}

int main(void)
{
    /* A test that fails half-way leaves its processes to the kit, which kills them at exit. */
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_every_kind_killed_mid_work)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
