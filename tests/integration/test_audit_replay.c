/*
 * Audit replay end to end: a case walks from filing to the archive over a week of simulated
 * time (staff tasks through `caseflow tasks`, worker tasks completed by the test as a stand-in
 * worker), then `caseflow replay` prints its timeline and verifies it; --as-of shows earlier
 * states; a case on a workflow version that is not configured is refused; and an event altered
 * behind the engine's back by the database owner, or its stored actions, is reported at exactly
 * that event.
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

static const char *const CASE_NO = "(2026)豫0381执401号";

static const char TASK_SQL[] = "select task_id from tasks where case_no = $1 and activity = $2";
static const char STATE_SQL[] = "select state from cases where case_no = $1";
static const char SEQ_SQL[] = "select seq::text from cases where case_no = $1";

static char *task_of(kit *k, const char *activity)
{
    char *id = kit_wait_value(k, TASK_SQL, 2, (const char *[]){CASE_NO, activity}, NULL, 60);
    assert_non_null(id);
    return id;
}

static void wait_state(kit *k, const char *want)
{
    char *v = kit_wait_value(k, STATE_SQL, 1, (const char *[]){CASE_NO}, want, 60);
    assert_non_null(v);
    assert_string_equal(v, want);
    free(v);
}

static void wait_seq(kit *k, const char *want)
{
    char *v = kit_wait_value(k, SEQ_SQL, 1, (const char *[]){CASE_NO}, want, 60);
    assert_non_null(v);
    assert_string_equal(v, want);
    free(v);
}

/* Completes the case's worker task `activity` as its worker would. */
static void worker_done(kit *k, const char *activity, const char *kind, const char *time,
                        json_t *result /* stolen */)
{
    char *id = task_of(k, activity), event_id[160], source[64];
    snprintf(event_id, sizeof event_id, "%s:done", id);
    snprintf(source, sizeof source, "worker:%s", kind);
    kit_send_json(k, json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:o, s:i}}", "id",
                               event_id, "type", "task.completed", "case", CASE_NO, "time", time,
                               "source", source, "data", "task_id", id, "activity", activity,
                               "kind", kind, "result", result, "attempts", 1));
    free(id);
}

/* `caseflow replay CASE_NO --json [extra]`: its exit status and parsed output. */
static json_t *replay_json(kit *k, const char *as_of, int *rc)
{
    char *out = NULL, *err = NULL;
    json_t *doc;
    *rc = kit_cli(k, &out, &err,
                  as_of ? (const char *[]){"replay", CASE_NO, "--json", "--as-of", as_of, NULL}
                        : (const char *[]){"replay", CASE_NO, "--json", NULL});
    doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    free(out);
    free(err);
    return doc;
}

static const char *verdict(const json_t *doc, const char *what)
{
    return json_string_value(json_object_get(json_object_get(doc, "verification"), what));
}

static const char *state_name(const json_t *doc)
{
    return json_string_value(json_object_get(json_object_get(doc, "state"), "state"));
}

/* Walks the case to the archive; returns the number of events it has then. */
static void walk(kit *k)
{
    char *out = NULL, *err = NULL, *id;
    const char *checks[] = {"check_vehicles", "check_real_estate",  "check_business", "check_tax",
                            "check_marriage", "check_housing_fund", "check_housing"};

    /* Monday 2 March: filed at 09:00, reviewed by the filing reviewer, checked by the intake
     * post. */
    kit_advance(k, "rp-clock-1", "2026-03-02T09:00:00+08:00");
    kit_send_json(k, kit_filed(CASE_NO, "rp-filed", "2026-03-02T09:00:00+08:00"));
    kit_flush(k);
    id = task_of(k, "filing_review");
    assert_int_equal(
        kit_staff_complete(k, "吴十", id, "{\"enforceable\": true, \"parties_ok\": true}"), 0);
    free(id);
    wait_state(k, "intake");
    id = task_of(k, "intake_check");
    assert_int_equal(kit_staff_complete(k, "王芳", id, "{\"complete\": true}"), 0);
    free(id);
    wait_state(k, "notices");

    /* Tuesday: the notices are made, the network query is back. */
    kit_advance(k, "rp-clock-2", "2026-03-03T10:00:00+08:00");
    worker_done(k, "notices", "documents", "2026-03-03T10:00:00+08:00",
                json_pack("{s:[s, s]}", "documents", "执行通知书", "报告财产令"));
    wait_seq(k, "4");
    worker_done(k, "network_query", "network_query", "2026-03-03T10:00:00+08:00",
                json_pack("{s:[]}", "found"));
    wait_seq(k, "5");

    /* Wednesday: served, and the six checks come back. */
    kit_advance(k, "rp-clock-3", "2026-03-04T15:00:00+08:00");
    worker_done(k, "service", "service", "2026-03-04T15:00:00+08:00", json_object());
    wait_state(k, "queries");
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
        worker_done(k, checks[i], "six_checks", "2026-03-04T15:00:00+08:00",
                    json_pack("{s:b}", "found", 0));
    wait_state(k, "execution");

    /* Thursday: the handler's team reports its measures. */
    kit_advance(k, "rp-clock-4", "2026-03-05T11:00:00+08:00");
    id = task_of(k, "execution_plan");
    assert_int_equal(
        kit_staff_complete(k, "赵强", id, "{\"auction\": false, \"measures\": [\"冻结存款\"]}"), 0);
    free(id);
    wait_seq(k, "14");

    /* Monday 9 March: closed; the next day the file is archived. */
    kit_advance(k, "rp-clock-5", "2026-03-09T10:00:00+08:00");
    kit_send_json(k, json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "id", "rp-decided",
                               "type", "case.decided", "case", CASE_NO, "time",
                               "2026-03-09T10:00:00+08:00", "source", "staff:team_5:赵强", "data",
                               "decision", "close", "close_method", "执行完毕"));
    kit_flush(k);
    wait_state(k, "closed");
    kit_advance(k, "rp-clock-6", "2026-03-10T09:00:00+08:00");
    /* The archive system accepts the file; the archive group binds it. */
    worker_done(k, "archive", "archive", "2026-03-10T09:00:00+08:00",
                json_pack("{s:s, s:s, s:s}", "outcome", "accepted", "archive_id", "档执000001",
                          "volume", "2026-03-0001"));
    wait_seq(k, "16");
    id = task_of(k, "archive_file");
    assert_int_equal(kit_staff_complete(k, "孙丽", id, "{\"note\": \"已装订移交\"}"), 0);
    free(id);
    wait_state(k, "archived");
    wait_seq(k, "17");
    free(out);
    free(err);
}

/* Runs `sql` as the database owner with the event log's guard switched off. */
static void behind_the_engines_back(kit *k, const char *sql, const char *p1)
{
    PGresult *res = PQexec(k->db, "alter table events disable trigger user");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    res = PQexecParams(k->db, sql, 1, NULL, (const char *[]){p1}, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(res));
    assert_string_equal(PQcmdTuples(res), "1");
    PQclear(res);
    res = PQexec(k->db, "alter table events enable trigger user");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
}

static void test_replay_verifies_and_finds_the_altered_event(void **state)
{
    (void)state;
    kit k;
    pid_t engine, server;
    char url[64];
    int port;
    char *out = NULL, *err = NULL, *saved;
    json_t *doc;
    int rc;

    kit_init(&k, "replay");
    engine = kit_engine_start(&k, NULL);
    /* Staff complete their tasks through the workplace API. */
    server = kit_serve_start(&k, NULL, &port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    setenv("CASEFLOW_SERVER", url, 1);
    walk(&k);
    unsetenv("CASEFLOW_SERVER");
    kit_engine_stop(&k, server, SIGTERM);
    kit_engine_stop(&k, engine, SIGTERM);

    /* The whole life verifies, and the timeline tells it. */
    assert_int_equal(kit_cli(&k, &out, &err, (const char *[]){"replay", CASE_NO, NULL}), 0);
    assert_non_null(strstr(out, "hash chain   ok"));
    assert_non_null(strstr(out, "replay       ok"));
    assert_non_null(strstr(out, "final state  ok"));
    assert_non_null(strstr(out, "verified: the log of"));
    assert_non_null(strstr(out, "#1  2026-03-02T09:00:00+08:00  case.filed  by filing"));
    assert_non_null(strstr(out, "(new) -> review"));
    assert_non_null(strstr(out, "+ task intake_check (staff intake_check) for intake, due "
                                "2026-03-02T17:30:00+08:00"));
    assert_non_null(strstr(out, "by staff:filing_review:吴十"));
    assert_non_null(strstr(out, "review -> intake"));
    assert_non_null(strstr(out, "by staff:intake:王芳"));
    assert_non_null(strstr(out, "intake -> notices"));
    assert_non_null(strstr(out, "> assigned to team_5"));
    assert_non_null(strstr(out, "by staff:team_5:赵强"));
    assert_non_null(strstr(out, "closed -> archived"));
    assert_non_null(strstr(out, "state: archived after event 17"));
    assert_null(strstr(out, "张三"));
    assert_null(strstr(out, "41038119900101123X"));

    doc = replay_json(&k, NULL, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(verdict(doc, "chain"), "ok");
    assert_string_equal(verdict(doc, "replay"), "ok");
    assert_string_equal(verdict(doc, "final_state"), "ok");
    assert_true(json_is_true(json_object_get(json_object_get(doc, "verification"), "ok")));
    assert_int_equal(json_array_size(json_object_get(doc, "timeline")), 17);
    assert_string_equal(json_string_value(json_object_get(doc, "workflow")), "enforcement_case");
    assert_string_equal(state_name(doc), "archived");
    json_decref(doc);

    /* As of earlier days: the state the case was in then. */
    doc = replay_json(&k, "2026-03-02", &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(state_name(doc), "notices");
    assert_int_equal(json_array_size(json_object_get(doc, "timeline")), 3);
    /* The handling limit as of the filing day's end: filed Monday 03-02, six months to
     * Wednesday 09-02 (184 days on), nothing used yet (the starting day is not counted). */
    {
        const json_t *ck = json_array_get(json_object_get(doc, "clocks"), 0);
        assert_string_equal(json_string_value(json_object_get(ck, "clock")), "handling");
        assert_string_equal(json_string_value(json_object_get(ck, "status")), "running");
        assert_int_equal(json_integer_value(json_object_get(ck, "days_used")), 0);
        assert_int_equal(json_integer_value(json_object_get(ck, "days_left")), 184);
        assert_string_equal(json_string_value(json_object_get(ck, "last_date")), "2026-09-02");
    }
    assert_non_null(strstr(verdict(doc, "final_state"), "not compared"));
    json_decref(doc);
    doc = replay_json(&k, "2026-03-04T23:00:00+08:00", &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(state_name(doc), "execution");
    json_decref(doc);
    assert_int_equal(
        kit_cli(&k, &out, &err, (const char *[]){"replay", CASE_NO, "--as-of", "2026-03-05", NULL}),
        0);
    assert_non_null(strstr(out, "state: execution after event 14, as of 2026-03-05"));
    assert_non_null(strstr(out, "执行期限 handling: running, 3 days used"));
    assert_int_equal(
        kit_cli(&k, &out, &err, (const char *[]){"replay", CASE_NO, "--as-of", "soon", NULL}), 2);
    assert_int_equal(
        kit_cli(&k, &out, &err, (const char *[]){"replay", "(2026)豫0381执999号", NULL}), 1);
    assert_non_null(strstr(err, "there is no case"));

    /* A case number may be typed in any of its forms: full-width brackets and digits, spaces. */
    assert_int_equal(
        kit_cli(&k, &out, &err, (const char *[]){"replay", "（２０２６）豫0381执401号", NULL}), 0);
    assert_non_null(strstr(out, "verified: the log of"));
    assert_int_equal(
        kit_cli(&k, &out, &err, (const char *[]){"case", "show", "( 2026 )豫0381执４０１号", NULL}),
        0);
    assert_non_null(strstr(out, CASE_NO));
    assert_non_null(strstr(out, "archived"));
    assert_int_equal(
        kit_cli(&k, &out, &err,
                (const char *[]){"case", "show", "〔2026〕豫0381执401号", "--json", NULL}),
        0);
    assert_non_null(strstr(out, CASE_NO));
    /* A time PostgreSQL could not take is refused with the reason. */
    assert_int_equal(
        kit_cli(&k, &out, &err,
                (const char *[]){"replay", CASE_NO, "--as-of", "2026-03-05T00:00:00+17:00", NULL}),
        2);
    assert_non_null(strstr(err, "the UTC offset must be within -15:59 and +15:59"));

    /* A case on a workflow version that is not configured cannot be replayed. */
    {
        /* The version the case is on, to put back afterwards. */
        char *was = kit_value(&k, "select version::text from cases where case_no = $1", 1,
                              (const char *[]){CASE_NO});
        PGresult *res = PQexecParams(k.db, "update cases set version = 9 where case_no = $1", 1,
                                     NULL, (const char *[]){CASE_NO}, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
        PQclear(res);
        assert_int_equal(kit_cli(&k, &out, &err, (const char *[]){"replay", CASE_NO, NULL}), 1);
        assert_non_null(strstr(err, "workflow enforcement_case version 9, which is not among"));
        res = PQexecParams(k.db, "update cases set version = $2::int where case_no = $1", 2, NULL,
                           (const char *[]){CASE_NO, was}, NULL, NULL, 0);
        PQclear(res);
        free(was);
    }

    /* The database owner changes what the documents worker reported (event 4). */
    saved = kit_value(&k, "select body::text from events where case_no = $1 and seq = 4", 1,
                      (const char *[]){CASE_NO});
    assert_non_null(saved);
    behind_the_engines_back(&k,
                            "update events set body = jsonb_set(body::jsonb, "
                            "'{data,result,documents}', '[\"执行通知书\"]')::json "
                            "where case_no = $1 and seq = 4",
                            CASE_NO);
    assert_int_equal(kit_cli(&k, &out, &err, (const char *[]){"replay", CASE_NO, NULL}), 1);
    assert_non_null(strstr(out, "hash chain   broken at seq 4: "));
    assert_non_null(strstr(err, "does NOT verify"));
    doc = replay_json(&k, NULL, &rc);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(verdict(doc, "chain"), "broken at seq 4: the stored event does not "
                                                  "give its stored hash"));
    /* The service task's documents came from that result: the replay parts there too. */
    assert_non_null(strstr(verdict(doc, "replay"), "differs at seq 4 "));
    assert_non_null(strstr(verdict(doc, "replay"), "action 1 (task service): /params/documents: "
                                                   "stored [\"执行通知书\",\"报告财产令\"], "
                                                   "replayed [\"执行通知书\"]"));
    assert_true(json_is_false(json_object_get(json_object_get(doc, "verification"), "ok")));
    json_decref(doc);

    /* Put back, it verifies again; then the stored actions of event 13 (the execution plan's
     * task) are removed: they are not hashed, only the replay can tell. */
    behind_the_engines_back(&k,
                            "update events set body = $1::json where seq = 4 and event_id = "
                            "$1::json ->> 'id'",
                            saved);
    doc = replay_json(&k, NULL, &rc);
    assert_int_equal(rc, 0);
    json_decref(doc);
    behind_the_engines_back(&k, "update events set actions = '[]' where case_no = $1 and seq = 13",
                            CASE_NO);
    doc = replay_json(&k, NULL, &rc);
    assert_int_equal(rc, 1);
    assert_string_equal(verdict(doc, "chain"), "ok");
    assert_non_null(strstr(verdict(doc, "replay"), "differs at seq 13 "));
    assert_non_null(strstr(verdict(doc, "replay"), "actions: stored 0 actions, replay gives 1"));
    json_decref(doc);

    free(saved);
    free(out);
    free(err);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_verifies_and_finds_the_altered_event)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
