/*
 * The bulk work of #13 on the real stack.
 *
 * Archiving a month of closed cases: 300 cases close in March 2026; on the 1st of April the
 * engine numbers their volumes and the real `caseflow worker archive` hands the ledger to the
 * archive system (the simulator, failing now and then so that the worker tries again); each case
 * keeps the system's answer and the archive group gets its file.  A ledger sent again keeps every
 * number.  The Excel ledger is then written by `caseflow report --ledger` and downloaded from
 * `caseflow serve`, and read back with openpyxl (ledger_check.py) both times; a member of staff
 * of another post is refused it.
 *
 * The six checks of a natural person and of a company: the real `caseflow worker six_checks`
 * asks the marriage registry and the housing fund about the person only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kit/kit.h"

enum { NCASES = 300, FIRST = 5001, TEAMS_SHOWN = 30, FILED_BY_HAND = 10 };

static kit k;
static int next_id;

static void case_no(int i, char *out, size_t n)
{
    snprintf(out, n, "(2026)豫0381执%d号", FIRST + i);
}

/* Sends one event of `type` for `c` at `time` from `source`; `data` is stolen. */
static void send_event(const char *type, const char *c, const char *time, const char *source,
                       json_t *data)
{
    char id[64];
    snprintf(id, sizeof id, "arc-%ld-%d", (long)getpid(), ++next_id);
    kit_send_json(&k, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "id", id, "type", type, "case", c,
                                "time", time, "source", source, "data", data));
}

static void clock_to(const char *to)
{
    kit_advance(&k, NULL, to);
}

/* Waits until `sql` counts `want`, or fails naming it. */
static void wait_for(const char *sql, long long want, int seconds)
{
    long long got = kit_wait_count(&k, sql, want, seconds);
    if (got != want)
        fail_msg("%s: %lld after %d s, not %lld (logs in %s)", sql, got, seconds, want, k.logdir);
}

/* Completes the open staff task of `kind` of case `c` as `post`'s tester with `result`. */
static void complete_staff(const char *c, const char *kind, const char *post, const char *time,
                           json_t *result)
{
    const char *p[2] = {c, kind};
    char *task = kit_value(&k,
                           "select task_id from tasks where case_no = $1 and kind = $2 and status "
                           "= 'open'",
                           2, p);
    char source[160];

    if (!task)
        fail_msg("%s has no open %s task", c, kind);
    kit_claim(&k, task, "tester");
    snprintf(source, sizeof source, "staff:%s:tester", post);
    send_event("task.completed", c, time, source,
               json_pack("{s:s, s:s, s:s, s:o}", "task_id", task, "activity", kind, "kind", kind,
                         "result", result));
    free(task);
}

/* March: 300 cases filed on the 2nd, the first 30 assigned to their teams, all closed over the
 * month in three waves. */
static void close_a_month(void)
{
    static const char *const methods[] = {"终结执行", "销案", "不予执行"};
    static const char *const days[] = {"2026-03-10T10:00:00+08:00", "2026-03-20T10:00:00+08:00",
                                       "2026-03-31T16:00:00+08:00"};
    char c[64], id[64];

    clock_to("2026-03-02T09:00:00+08:00");
    for (int i = 0; i < NCASES; i++) {
        case_no(i, c, sizeof c);
        snprintf(id, sizeof id, "arc-filed-%ld-%d", (long)getpid(), i);
        kit_send_json(&k, kit_filed(c, id, "2026-03-02T09:00:00+08:00"));
    }
    kit_flush(&k);
    /* Each waits for the filing review (version 3); the first are reviewed, then checked. */
    wait_for("select count(*) from tasks where kind = 'filing_review'", NCASES, 180);
    for (int i = 0; i < TEAMS_SHOWN; i++) {
        case_no(i, c, sizeof c);
        complete_staff(c, "filing_review", "filing_review", "2026-03-02T09:20:00+08:00",
                       json_pack("{s:b, s:b}", "enforceable", 1, "parties_ok", 1));
    }
    kit_flush(&k);
    wait_for("select count(*) from tasks where kind = 'intake_check'", TEAMS_SHOWN, 120);
    for (int i = 0; i < TEAMS_SHOWN; i++) {
        case_no(i, c, sizeof c);
        complete_staff(c, "intake_check", "intake", "2026-03-02T09:30:00+08:00",
                       json_pack("{s:b}", "complete", 1));
    }
    kit_flush(&k);
    wait_for("select count(*) from cases where body -> 'data' ? 'handler_post'", TEAMS_SHOWN, 120);
    for (int wave = 0; wave < 3; wave++) {
        clock_to(days[wave]);
        for (int i = wave * NCASES / 3; i < (wave + 1) * NCASES / 3; i++) {
            case_no(i, c, sizeof c);
            send_event(
                "case.decided", c, days[wave], "staff:bureau_lead:tester",
                json_pack("{s:s, s:s}", "decision", "close", "close_method", methods[i % 3]));
        }
        kit_flush(&k);
        wait_for("select count(*) from cases where state = 'closed'", (wave + 1) * NCASES / 3, 180);
    }
}

static void volumes_unique_and_kept(void)
{
    /* One number per case, unique in the month, 0001 to 0300 in the order the cases closed in
     * (a wave at a time), then of their case numbers. */
    wait_for("select count(*) from archive_volumes where month = '2026-03'", NCASES, 60);
    assert_int_equal(kit_count(&k, "select count(distinct volume) from archive_volumes"), NCASES);
    assert_int_equal(kit_count(&k,
                               "select count(*) from (select v.seq, row_number() over (order by "
                               "c.body -> 'data' ->> 'closed_at', case_no) as n, v.volume from "
                               "archive_volumes v join cases c using (case_no)) x where seq <> n "
                               "or volume <> '2026-03-' || lpad(n::text, 4, '0')"),
                     0);
    /* The ledger's tasks carried them, and each case keeps the archive system's answer. */
    wait_for("select count(*) from cases c join archive_volumes v using (case_no) where "
             "c.body -> 'data' ->> 'volume' = v.volume",
             NCASES, 240);
    assert_int_equal(kit_count(&k, "select count(*) from tasks t join archive_volumes v using "
                                   "(case_no) where t.kind = 'archive' and t.params ->> 'volume' = "
                                   "v.volume and t.params ->> 'ledger_month' = '2026-03'"),
                     NCASES);
    assert_int_equal(
        kit_count(&k, "select count(*) from cases where (body -> 'data' -> 'archive' ->> 'outcome' "
                      "= 'accepted' and body -> 'data' ->> 'archive_id' like '档执%') or (body -> "
                      "'data' -> 'archive' ->> 'outcome' = 'refused' and length(body -> 'data' -> "
                      "'archive' ->> 'reason') > 0)"),
        NCASES);
    assert_true(kit_count(&k, "select count(*) from cases where body -> 'data' -> 'archive' ->> "
                              "'outcome' = 'refused'") > 0);
    wait_for("select count(*) from tasks where kind = 'archive_file' and status = 'open' and post "
             "= 'archive_group' and due_at is not null",
             NCASES, 60);

    /* The worker did try again: the simulator's failures are drawn from the seed, and a part of
     * the ledger failed its first tries (the worker's log says so). */
    {
        char path[600], line[1024];
        int retried = 0;
        FILE *f;
        snprintf(path, sizeof path, "%s/worker-archive-1.log", k.logdir);
        assert_non_null(f = fopen(path, "r"));
        while (fgets(line, sizeof line, f))
            retried |= strstr(line, "failed on try 1") != NULL;
        fclose(f);
        assert_true(retried);
    }

    /* The ledger goes out again for three of its cases (a message delivered twice, a task sent
     * again): they keep their numbers, and no number is added. */
    {
        PGresult *res = PQexec(
            k.db,
            "update tasks set status = 'open', dispatched_at = null where kind = 'archive' "
            "and case_no in (select case_no from archive_volumes where seq in (1, 150, 300))");
        assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
        PQclear(res);
        res = PQexec(k.db, "update batch_schedule set next_at = (select now from engine_clock) "
                           "where kind = 'archive'");
        assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
        PQclear(res);
    }
    wait_for("select count(*) from tasks where kind = 'archive' and dispatched_at is null", 0, 60);
    assert_int_equal(kit_count(&k, "select count(*) from tasks t join archive_volumes v using "
                                   "(case_no) where t.kind = 'archive' and t.params ->> 'volume' = "
                                   "v.volume"),
                     NCASES);
    assert_int_equal(kit_count(&k, "select count(*) from archive_volumes"), NCASES);
    assert_int_equal(kit_count(&k, "select max(seq) from archive_volumes"), NCASES);
    {
        char topic[160];
        json_t *msgs, *m, *t;
        size_t i, j;
        json_t *seen = json_object();
        int again = 0;
        snprintf(topic, sizeof topic, "%s.tasks.archive", k.prefix);
        msgs = kit_consume(&k, topic, 100, 10);
        json_array_foreach (msgs, i, m) {
            json_array_foreach (json_object_get(json_object_get(m, "value"), "tasks"), j, t) {
                const char *c = json_string_value(json_object_get(t, "case"));
                json_t *vol = json_object_get(json_object_get(t, "params"), "volume");
                json_t *before = json_object_get(seen, c);
                assert_true(json_is_string(vol));
                if (before) {
                    again++;
                    assert_string_equal(json_string_value(before), json_string_value(vol));
                } else {
                    json_object_set(seen, c, vol);
                }
            }
        }
        assert_int_equal(json_object_size(seen), NCASES);
        assert_int_equal(again, 3);
        json_decref(seen);
        json_decref(msgs);
    }
}

/* The archive group binds the first ten files by volume (a refused one with the new id). */
static void archive_ten(void)
{
    char *c;
    clock_to("2026-04-02T10:00:00+08:00");
    for (int seq = 1; seq <= FILED_BY_HAND; seq++) {
        char n[16];
        const char *p[1] = {n};
        snprintf(n, sizeof n, "%d", seq);
        c = kit_value(&k, "select case_no from archive_volumes where seq = $1::int", 1, p);
        assert_non_null(c);
        complete_staff(c, "archive_file", "archive_group", "2026-04-02T10:00:00+08:00",
                       json_pack("{s:s}", "note", "已装订移交档案室"));
        free(c);
    }
    kit_flush(&k);
    wait_for("select count(*) from cases where state = 'archived' and body -> 'data' ? "
             "'archived_at'",
             FILED_BY_HAND, 120);
}

/* What the ledger of March must hold, from the database, as ledger_check.py reads it. */
static void write_expected(const char *path)
{
    PGresult *res = PQexec(
        k.db,
        "select json_build_object('month', '2026-03', 'rows', json_agg(json_build_object("
        "'case_no', c.case_no, 'team', case c.body -> 'data' ->> 'handler_post' when 'team_1' then "
        "'执行一团队' when 'team_2' then '执行二团队' when 'team_3' then '执行三团队' when "
        "'team_4' "
        "then '执行四团队' when 'team_5' then '执行五团队' when 'team_6' then '执行六团队' end, "
        "'closed', left(c.body -> 'data' ->> 'closed_at', 10), 'method', c.body -> 'data' ->> "
        "'close_method', 'volume', v.volume, 'archived', left(c.body -> 'data' ->> 'archived_at', "
        "10)) order by v.seq))::text from cases c join archive_volumes v using (case_no)");
    FILE *f = fopen(path, "w");

    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_non_null(f);
    fputs(PQgetvalue(res, 0, 0), f);
    fclose(f);
    PQclear(res);
}

/* ledger_check.py on `xlsx`: the workbook as a clerk opens it. */
static void check_workbook(const char *xlsx, const char *expected)
{
    char cmd[2048];
    /* Debian's Python, which python3-openpyxl is installed for (not another python3 on PATH). */
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/integration/ledger_check.py '%s' '%s' >&2",
             k.src, xlsx, expected);
    if (system(cmd) != 0)
        fail_msg("%s does not hold the expected ledger (see above)", xlsx);
}

static void ledger_by_cli(const char *expected)
{
    char path[600], *out = NULL, *err = NULL;
    snprintf(path, sizeof path, "%s/ledger-2026-03.xlsx", k.logdir);
    assert_int_equal(
        kit_cli(&k, &out, &err,
                (const char *[]){"report", "--ledger", "2026-03", "--out", path, NULL}),
        0);
    assert_non_null(strstr(out, "300 cases"));
    assert_non_null(strstr(out, path));
    check_workbook(path, expected);
    /* Bad input is named. */
    assert_int_equal(
        kit_cli(&k, &out, &err, (const char *[]){"report", "--ledger", "2026-13", NULL}), 2);
    assert_non_null(strstr(err, "'2026-13' is not a month (YYYY-MM)"));
    assert_int_equal(kit_cli(&k, &out, &err, (const char *[]){"report", "--ledger", "三月", NULL}),
                     2);
    assert_non_null(strstr(err, "'三月' is not a month"));
    assert_int_equal(kit_cli(&k, &out, &err, (const char *[]){"report", "--out", path, NULL}), 2);
    assert_non_null(strstr(err, "--ledger MONTH"));
    free(out);
    free(err);
}

/* ---- over HTTP ---- */

static void add_user(const char *name, const char *post)
{
    char *out = NULL, *err = NULL;
    assert_int_equal(kit_run_in(&k, "a long passphrase\n",
                                (const char *[]){"users", "add", name, "--role", "staff", "--post",
                                                 post, "--password-stdin", NULL},
                                &out, &err),
                     0);
    free(out);
    free(err);
}

static void login(const char *base, const char *name, char cookie[256])
{
    char url[128], json[160];
    kit_reply r;
    snprintf(url, sizeof url, "%s/api/v1/login", base);
    snprintf(json, sizeof json, "{\"name\": \"%s\", \"password\": \"a long passphrase\"}", name);
    assert_int_equal(kit_http("POST", url, NULL, json, &r), 200);
    snprintf(cookie, 256, "%s", r.cookie);
    kit_reply_free(&r);
    assert_true(strlen(cookie) > 40);
}

static void ledger_by_api(const char *expected)
{
    char base[64], url[160], archivist[256], clerk[256], path[600];
    int port;
    pid_t server;
    kit_reply r;
    FILE *f;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    add_user("archivist", "archive_group");
    add_user("clerk", "intake");
    server = kit_serve_start(&k, NULL, &port);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    login(base, "archivist", archivist);
    login(base, "clerk", clerk);

    snprintf(url, sizeof url, "%s/api/v1/ledger/2026-03.xlsx", base);
    assert_int_equal(kit_http("GET", url, archivist, NULL, &r), 200);
    assert_string_equal(r.type,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert_true(r.len > 4 && memcmp(r.body, "PK", 2) == 0);
    snprintf(path, sizeof path, "%s/downloaded-2026-03.xlsx", k.logdir);
    assert_non_null(f = fopen(path, "wb"));
    assert_int_equal(fwrite(r.body, 1, r.len, f), r.len);
    fclose(f);
    kit_reply_free(&r);
    check_workbook(path, expected);

    /* A clerk of another post may not have it; a month that is none is named. */
    assert_int_equal(kit_http("GET", url, clerk, NULL, &r), 403);
    assert_non_null(strstr(r.body, "归档组"));
    kit_reply_free(&r);
    assert_int_equal(kit_http("GET", url, NULL, NULL, &r), 401);
    kit_reply_free(&r);
    snprintf(url, sizeof url, "%s/api/v1/ledger/2026-3.xlsx", base);
    assert_int_equal(kit_http("GET", url, archivist, NULL, &r), 400);
    assert_non_null(strstr(r.body, "is not a month"));
    kit_reply_free(&r);
    assert_int_equal(kit_engine_stop(&k, server, SIGTERM), 0);
    curl_global_cleanup();
}

static void test_archive_month(void **state)
{
    char expected[600];
    pid_t engine, worker;
    (void)state;

    kit_init(&k, "archive");
    next_id = 0;
    engine = kit_engine_start(&k, NULL);
    close_a_month();
    /* The archive system fails three calls in ten: the worker tries again with the same task. */
    worker =
        kit_worker_start(&k, "archive",
                         (const char *[]){"CASEFLOW_SIM_FOUND=50", "CASEFLOW_SIM_NOTHING=20",
                                          "CASEFLOW_SIM_ERROR=30", "CASEFLOW_SIM_TIMEOUT=0", NULL});
    /* Wednesday 1 April, 08:30: the ledger of March goes out. */
    clock_to("2026-04-01T08:30:00+08:00");
    volumes_unique_and_kept();
    archive_ten();
    snprintf(expected, sizeof expected, "%s/ledger-2026-03.json", k.logdir);
    write_expected(expected);
    ledger_by_cli(expected);
    ledger_by_api(expected);
    assert_int_equal(kit_engine_stop(&k, worker, SIGTERM), 0);
    assert_int_equal(kit_engine_stop(&k, engine, SIGTERM), 0);
    kit_done(&k);
}

/* The six checks' results of case `c`'s activity `activity`, once done (a new reference). */
static json_t *check_of(const char *c, const char *activity)
{
    const char *p[2] = {c, activity};
    char *text = kit_wait_value(&k,
                                "select result::text from tasks where case_no = $1 and activity "
                                "= $2 and status = 'done'",
                                2, p, NULL, 120);
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;

    if (!v)
        fail_msg("%s: %s was not done (logs in %s)", c, activity, k.logdir);
    free(text);
    return v;
}

static void test_checks_natural_persons(void **state)
{
    static const char *const person = "(2026)豫0381执7101号", *const company =
                                                                  "(2026)豫0381执7102号";
    static const char *const persons_only[] = {"check_marriage", "check_housing_fund"};
    pid_t engine, worker;
    json_t *filing, *v;
    (void)state;

    kit_init(&k, "persons");
    engine = kit_engine_start(&k, NULL);
    worker =
        kit_worker_start(&k, "six_checks",
                         (const char *[]){"CASEFLOW_SIM_FOUND=100", "CASEFLOW_SIM_NOTHING=0",
                                          "CASEFLOW_SIM_ERROR=0", "CASEFLOW_SIM_TIMEOUT=0", NULL});
    clock_to("2026-03-02T09:00:00+08:00");
    kit_send_json(&k, kit_filed(person, "persons-filed-1", "2026-03-02T09:00:00+08:00"));
    filing = kit_filed(company, "persons-filed-2", "2026-03-02T09:00:00+08:00");
    json_object_set_new(json_object_get(filing, "data"), "respondents",
                        json_pack("[{s:s, s:s, s:s}]", "kind", "company", "name",
                                  "洛阳某某建材有限公司", "id_number", "91410300MA44L7QK3C"));
    kit_send_json(&k, filing);
    kit_flush(&k);
    wait_for("select count(*) from tasks where kind = 'filing_review'", 2, 120);
    complete_staff(person, "filing_review", "filing_review", "2026-03-02T09:20:00+08:00",
                   json_pack("{s:b, s:b}", "enforceable", 1, "parties_ok", 1));
    complete_staff(company, "filing_review", "filing_review", "2026-03-02T09:20:00+08:00",
                   json_pack("{s:b, s:b}", "enforceable", 1, "parties_ok", 1));
    kit_flush(&k);
    wait_for("select count(*) from tasks where kind = 'intake_check'", 2, 120);
    complete_staff(person, "intake_check", "intake", "2026-03-02T09:30:00+08:00",
                   json_pack("{s:b}", "complete", 1));
    complete_staff(company, "intake_check", "intake", "2026-03-02T09:30:00+08:00",
                   json_pack("{s:b}", "complete", 1));
    kit_flush(&k);
    wait_for("select count(*) from tasks where kind = 'six_checks'", 14, 120);
    /* Wednesday 09:00: the clerk's trip to every registry office. */
    clock_to("2026-03-04T09:00:00+08:00");
    for (size_t i = 0; i < 2; i++) {
        v = check_of(person, persons_only[i]);
        assert_true(json_is_true(json_object_get(v, "found")));
        assert_null(json_object_get(v, "applicable"));
        json_decref(v);
        v = check_of(company, persons_only[i]);
        assert_true(json_is_false(json_object_get(v, "applicable")));
        assert_true(json_is_false(json_object_get(v, "found")));
        assert_int_equal(json_array_size(json_object_get(v, "items")), 0);
        json_decref(v);
    }
    /* The company's other registers are asked as before. */
    v = check_of(company, "check_real_estate");
    assert_true(json_is_true(json_object_get(v, "found")));
    json_decref(v);
    assert_int_equal(kit_engine_stop(&k, worker, SIGTERM), 0);
    assert_int_equal(kit_engine_stop(&k, engine, SIGTERM), 0);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_archive_month),
        cmocka_unit_test(test_checks_natural_persons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
