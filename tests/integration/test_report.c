/*
 * `caseflow report` against a real engine: cases are filed, withdrawn, decided and paid; a
 * stand-in for staff and workers completes their tasks from the tasks table; the simulated clock
 * runs four months day by day so that reminders fire, batches go out and monthly ledgers are
 * made.  Then every number of `caseflow report --json` is checked against the database with SQL
 * written here (and the stages and documents computed here in C), a few against what was fed,
 * and the --svg chart is checked to be written as SVG and PNG.  `GET /api/v1/report` of
 * `caseflow serve` must answer the very same object, for the whole time and for a period.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/bus.h"
#include "base/err.h"
#include "kit/kit.h"

enum { NCASES = 9, DAYS = 123 };

typedef struct run {
    kit k;
    pid_t engine;
    int npart; /* partitions of the kit's events topic */
    int next_id;
    char now[64];           /* the simulated time of the current step */
    char cases[NCASES][64]; /* c[0] .. c[8] below */
    char pay[64], pay_case[64];
} run;

/* ---- small helpers ---- */

static PGresult *sql(run *r, const char *q, int n, const char *const *p)
{
    PGresult *res = PQexecParams(r->k.db, q, n, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", q, PQresultErrorMessage(res));
    return res;
}

/* The first column of the one row of `q` as a number (NULL is 0). */
static long long sql_ll(run *r, const char *q, int n, const char *const *p)
{
    PGresult *res = sql(r, q, n, p);
    long long v;
    if (PQntuples(res) != 1)
        fail_msg("%s: %d rows", q, PQntuples(res));
    v = PQgetisnull(res, 0, 0) ? 0 : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

static char *sql_text(run *r, const char *q, int n, const char *const *p)
{
    PGresult *res = sql(r, q, n, p);
    char *v = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) ? strdup(PQgetvalue(res, 0, 0)) : NULL;
    PQclear(res);
    return v;
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static json_t *at(const json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);
    return b ? json_object_get(v, b) : v;
}

/* The numbers of the report that a check has compared, by address. */
static json_t *checked;

static void mark(const json_t *v)
{
    char key[32];
    snprintf(key, sizeof key, "%p", (const void *)v);
    json_object_set_new(checked, key, json_true());
}

/* Compares one integer of the report with what the database says, and marks it checked. */
static void expect(const json_t *v, long long want, const char *fmt, ...) CF_PRINTF(3, 4);
static void expect(const json_t *v, long long want, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (!json_is_integer(v))
        fail_msg("%s: the report has no integer (database: %lld)", what, want);
    if (json_integer_value(v) != want)
        fail_msg("%s: the report says %lld, the database %lld", what,
                 (long long)json_integer_value(v), want);
    mark(v);
}

/* Fails for any number of the report that no check compared. */
static void all_checked(const json_t *v, const char *path)
{
    char sub[512], key[32];
    const char *name;
    json_t *x;
    size_t i;

    if (json_is_number(v)) {
        snprintf(key, sizeof key, "%p", (const void *)v);
        if (!json_object_get(checked, key))
            fail_msg("%s: this number of the report was not checked against the database", path);
    } else if (json_is_object(v)) {
        json_object_foreach ((json_t *)v, name, x) {
            snprintf(sub, sizeof sub, "%s.%s", path, name);
            all_checked(x, sub);
        }
    } else if (json_is_array(v)) {
        json_array_foreach (v, i, x) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            all_checked(x, sub);
        }
    }
}

static void day_time(int day, int hour, char *buf, size_t n)
{
    struct tm tm = {.tm_year = 2026 - 1900, .tm_mon = 2, .tm_mday = 2 + day};
    time_t t = timegm(&tm);
    gmtime_r(&t, &tm);
    snprintf(buf, n, "%04d-%02d-%02dT%02d:00:00+08:00", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, hour);
}

static const char *new_id(run *r, char *buf, size_t n)
{
    snprintf(buf, n, "rep-%ld-%d", (long)getpid(), ++r->next_id);
    return buf;
}

/* ---- driving the engine ---- */

/* Whether the engine has done everything it can at its clock: every event read and applied, the
 * outbox published, no timer and no batch due. */
static int idle(run *r)
{
    const char *p[3] = {r->k.group, r->k.events, NULL};
    if (kit_count(&r->k, "select count(*) from outbox") != 0 ||
        kit_count(&r->k, "select count(*) from timers t, engine_clock c where t.due_at <= c.now") !=
            0 ||
        kit_count(&r->k, "select count(*) from batch_schedule b, engine_clock c where b.next_at <= "
                         "c.now") != 0)
        return 0;
    for (int i = 0; i < r->npart; i++) {
        char part[16];
        int64_t lo = 0, hi = 0;
        if (rd_kafka_query_watermark_offsets(r->k.producer, r->k.events, i, &lo, &hi, 5000) != 0)
            return 0;
        if (hi == 0)
            continue;
        snprintf(part, sizeof part, "%d", i);
        p[2] = part;
        if (sql_ll(r,
                   "select coalesce((select next_offset from consumer_offsets where group_id = $1 "
                   "and topic = $2 and partition = $3::int), -1)",
                   3, p) != hi)
            return 0;
    }
    return 1;
}

/* Waits until the engine is idle, and stays so for a moment: a timer event may be on its way
 * from the outbox through Kafka. */
static void settle(run *r)
{
    int calm = 0;
    kit_flush(&r->k);
    for (int i = 0; i < 1200; i++) {
        calm = idle(r) ? calm + 1 : 0;
        if (calm == 4)
            return;
        kit_sleep_ms(60);
    }
    fail_msg("the engine did not settle at %s within 72 s (log in %s)", r->now, r->k.logdir);
}

static void clock_to(run *r, const char *to)
{
    char id[64];
    snprintf(r->now, sizeof r->now, "%s", to);
    kit_send_json(&r->k, json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "id",
                                   new_id(r, id, sizeof id), "type", "clock.advance", "case", "-",
                                   "time", to, "source", "test", "data", "to", to));
}

static void decide(run *r, int c, const char *method)
{
    char id[64];
    kit_send_json(&r->k,
                  json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "id",
                            new_id(r, id, sizeof id), "type", "case.decided", "case", r->cases[c],
                            "time", r->now, "source", "staff:bureau_lead:tester", "data",
                            "decision", "close", "close_method", method));
}

/* A decision of the bureau lead on case c other than closing; `data` is stolen. */
static void decide_other(run *r, int c, json_t *data)
{
    char id[64];
    kit_send_json(&r->k, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "id", new_id(r, id, sizeof id),
                                   "type", "case.decided", "case", r->cases[c], "time", r->now,
                                   "source", "staff:bureau_lead:tester", "data", data));
}

static void payment(run *r, const char *key, const char *remark)
{
    char id[64], pid[64];
    snprintf(pid, sizeof pid, "P%ld-%d", (long)getpid(), r->next_id);
    kit_send_json(&r->k, json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:f, s:s, s:s, s:s}}", "id",
                                   new_id(r, id, sizeof id), "type", "payment.received", "case",
                                   key, "time", r->now, "source", "payment", "data", "payment_id",
                                   pid, "amount", 12000.0, "paid_at", r->now, "payer_name", "李四",
                                   "remark", remark));
}

/* What the stand-in answers for each kind of task. */
static json_t *result_for(run *r, const char *kind)
{
    if (strcmp(kind, "filing_review") == 0)
        return json_pack("{s:b, s:b}", "enforceable", 1, "parties_ok", 1);
    if (strcmp(kind, "intake_check") == 0)
        return json_pack("{s:b}", "complete", 1);
    if (strcmp(kind, "handler_decision") == 0)
        return json_pack("{s:s}", "post", "team_1");
    if (strcmp(kind, "documents") == 0)
        return json_pack("{s:[s, s, s, s]}", "documents", "执行通知书", "报告财产令", "财产申报表",
                         "风险告知书");
    if (strcmp(kind, "execution_plan") == 0)
        return json_pack("{s:b}", "auction", 0);
    if (strcmp(kind, "extension_request") == 0)
        return json_pack("{s:b}", "approved", 0);
    if (strcmp(kind, "match_payment") == 0)
        return json_pack("{s:b, s:s}", "matched", 1, "case_no", r->pay_case);
    if (strcmp(kind, "file_case") == 0)
        return json_pack("{s:s}", "case_no", r->pay_case);
    /* The archive system's answer (#13): the file accepted under an archive id. */
    if (strcmp(kind, "archive") == 0)
        return json_pack("{s:s, s:s}", "outcome", "accepted", "archive_id", "档执000001");
    return json_pack("{s:b}", "ok", 1);
}

/*
 * Completes every task a person or a worker would finish now: open staff tasks (the handler's
 * execution plan on its due day), and worker tasks that went out.  Left alone on purpose, to be
 * open and overdue in the report: the reminders and the payout of case 7 and every incident; the
 * filing-day network query of case 8 fails. Returns how many tasks it settled.
 */
static int work(run *r)
{
    PGresult *res =
        sql(r,
            "select task_id, case_no, activity, kind, coalesce(post, '-'), worker from "
            "tasks where status = 'open' and (not worker or dispatched_at is not null) "
            "and (kind <> 'execution_plan' or due_at <= (select now from engine_clock)) "
            "order by created_at, task_id",
            0, NULL);
    int n = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *task = PQgetvalue(res, i, 0), *case_no = PQgetvalue(res, i, 1);
        const char *activity = PQgetvalue(res, i, 2), *kind = PQgetvalue(res, i, 3);
        const char *post = PQgetvalue(res, i, 4);
        int worker = strcmp(PQgetvalue(res, i, 5), "t") == 0;
        char id[300], source[200];
        json_t *ev;

        if (strcmp(kind, "incident") == 0 || strcmp(kind, "payout") == 0 ||
            (strcmp(kind, "query_reminder") == 0 && strcmp(case_no, r->cases[6]) == 0))
            continue;
        snprintf(id, sizeof id, "rep-done-%s", task);
        if (worker)
            snprintf(source, sizeof source, "worker:%s", kind);
        else
            snprintf(source, sizeof source, "staff:%s:tester", post);
        if (!worker)
            kit_claim(&r->k, task, "tester");
        if (strcmp(kind, "network_query") == 0 && strcmp(case_no, r->cases[7]) == 0 &&
            strcmp(activity, "network_query") == 0 &&
            kit_count(&r->k, "select count(*) from tasks where status = 'failed'") == 0) {
            ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:i}}", "id", id,
                           "type", "task.failed", "case", case_no, "time", r->now, "source", source,
                           "data", "task_id", task, "activity", activity, "kind", kind, "error",
                           "总对总查询系统超时", "attempts", 3);
        } else {
            ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:o}}", "id", id, "type",
                           "task.completed", "case", case_no, "time", r->now, "source", source,
                           "data", "task_id", task, "activity", activity, "kind", kind, "result",
                           result_for(r, kind));
        }
        kit_send_json(&r->k, ev);
        n++;
    }
    PQclear(res);
    return n;
}

/* What happens on a day besides the clock: filings, withdrawals, payments, decisions. */
static void script(run *r, int day)
{
    char id[64];
    /* Cases 1..8 are filed one a day over the first week (so that the six checks of each go out
     * on the next Monday, Wednesday or Friday), case 9 five weeks later. */
    if (day < NCASES - 1) {
        char fid[64];
        kit_send_json(&r->k, kit_filed(r->cases[day], new_id(r, fid, sizeof fid), r->now));
        if (day == 0) {
            /* The filing system sends one filing twice, and a line that is no JSON. */
            kit_send_json(&r->k, kit_filed(r->cases[0], fid, r->now));
            kit_send(&r->k, NULL, "x", "not json{", 9);
        }
    }
    if (day == 2)
        kit_send_json(&r->k, kit_withdrawn(r->cases[1], new_id(r, id, sizeof id), r->now));
    if (day == 7)
        payment(r, r->pay, "自动履行 案款");
    if (day == 14)
        payment(r, r->cases[6], "执行款");
    if (day == 21)
        decide(r, 0, "执行完毕");
    if (day == 35)
        kit_send_json(&r->k, kit_filed(r->cases[8], new_id(r, id, sizeof id), r->now));
    if (day == 42)
        kit_send_json(&r->k, kit_withdrawn(r->cases[2], new_id(r, id, sizeof id), r->now));
    if (day == 50)
        decide(r, 3, "执行完毕");
    if (day == 70)
        decide(r, 5, "驳回申请");
    /* 终本 needs the consumption restriction order, the 失信 question settled and the applicant
     * heard (the interview is a staff task that work() completes). */
    if (day == 90) {
        decide_other(r, 4,
                     json_pack("{s:s, s:b}", "decision", "restrict_consumption", "dishonest", 0));
        decide_other(r, 4, json_pack("{s:s}", "decision", "hear_applicant"));
    }
    if (day == 98)
        decide(r, 4, "终结本次执行程序");
}

static void drive(run *r)
{
    for (int day = 0; day < DAYS; day++) {
        char to[64];
        day_time(day, 18, to, sizeof to);
        clock_to(r, to);
        settle(r);
        script(r, day);
        settle(r);
        for (int round = 0; round < 20 && work(r) > 0; round++)
            settle(r);
    }
}

/* ---- checking the report, section by section ---- */

static void check_head(run *r, const json_t *rep)
{
    const char *p[1];
    expect(at(rep, "events", NULL), sql_ll(r, "select count(*) from events", 0, NULL), "events");
    expect(at(rep, "dead_letters", NULL), sql_ll(r, "select count(*) from dead_letters", 0, NULL),
           "dead_letters");
    expect(at(rep, "duplicates", "events"), sql_ll(r, "select count(*) from duplicates", 0, NULL),
           "duplicates.events");
    expect(at(rep, "duplicates", "dropped"),
           sql_ll(r, "select coalesce(sum(seen), 0) from duplicates", 0, NULL),
           "duplicates.dropped");
    assert_string_equal(str(at(rep, "clock", NULL), "mode"), "simulated");
    p[0] = str(at(rep, "clock", NULL), "now");
    assert_non_null(p[0]);
    assert_int_equal(
        sql_ll(r, "select count(*) from engine_clock where now = $1::timestamptz", 1, p), 1);
    /* What was fed: one line that is no JSON, one filing sent twice, the clock's last step. */
    assert_int_equal(json_integer_value(at(rep, "dead_letters", NULL)), 1);
    assert_true(json_integer_value(at(rep, "duplicates", "events")) >= 1);
    assert_int_equal(
        sql_ll(r, "select count(*) from engine_clock where now = '2026-07-02T18:00:00+08:00'", 0,
               NULL),
        1);
    assert_true(json_is_null(at(rep, "period", "since")) &&
                json_is_null(at(rep, "period", "until")));
}

static void check_cases(run *r, const json_t *rep)
{
    const json_t *c = at(rep, "cases", NULL);
    json_t *w, *s;
    size_t i, j;
    int seen_enforcement = 0, seen_voluntary = 0;

    expect(at(c, "total", NULL), sql_ll(r, "select count(*) from cases", 0, NULL), "cases.total");
    assert_int_equal(json_array_size(at(c, "workflows", NULL)),
                     sql_ll(r, "select count(distinct workflow) from cases", 0, NULL));
    json_array_foreach (at(c, "workflows", NULL), i, w) {
        const char *p[2] = {str(w, "workflow"), NULL};
        expect(at(w, "cases", NULL),
               sql_ll(r, "select count(*) from cases where workflow = $1", 1, p), "cases of %s",
               p[0]);
        assert_int_equal(
            json_array_size(at(w, "states", NULL)),
            sql_ll(r, "select count(distinct state) from cases where workflow = $1", 1, p));
        json_array_foreach (at(w, "states", NULL), j, s) {
            p[1] = str(s, "state");
            expect(at(s, "cases", NULL),
                   sql_ll(r, "select count(*) from cases where workflow = $1 and state = $2", 2, p),
                   "cases of %s in %s", p[0], p[1]);
        }
        assert_int_equal(json_array_size(at(w, "close_methods", NULL)),
                         sql_ll(r,
                                "select count(distinct body #>> '{data,close_method}') from cases "
                                "where workflow = $1",
                                1, p));
        json_array_foreach (at(w, "close_methods", NULL), j, s) {
            p[1] = str(s, "close_method");
            expect(at(s, "cases", NULL),
                   sql_ll(r,
                          "select count(*) from cases where workflow = $1 and body #>> "
                          "'{data,close_method}' = $2",
                          2, p),
                   "%s cases closed by %s", p[0], p[1]);
        }
        /* What was fed: nine filings, two withdrawn (终结执行), two fully performed. */
        if (strcmp(p[0], "enforcement_case") == 0) {
            seen_enforcement = 1;
            assert_int_equal(json_integer_value(at(w, "cases", NULL)), NCASES);
            assert_string_equal(str(w, "title"), "执行实施案件");
            json_array_foreach (at(w, "close_methods", NULL), j, s) {
                if (strcmp(str(s, "close_method"), "终结执行") == 0)
                    assert_int_equal(json_integer_value(at(s, "cases", NULL)), 2);
                if (strcmp(str(s, "close_method"), "执行完毕") == 0)
                    assert_int_equal(json_integer_value(at(s, "cases", NULL)), 2);
            }
        } else if (strcmp(p[0], "voluntary_payment") == 0) {
            seen_voluntary = 1;
            assert_int_equal(json_integer_value(at(w, "cases", NULL)), 1);
        }
    }
    assert_true(seen_enforcement && seen_voluntary);
}

static void check_task_rows(run *r, const json_t *rows, int worker)
{
    static const struct {
        const char *key, *where;
    } counts[] = {
        {"total", "true"},
        {"done", "status = 'done'"},
        {"open", "status in ('open', 'claimed')"},
        {"claimed", "status = 'claimed'"},
        {"overdue", "status in ('open', 'claimed') and due_at < (select now from engine_clock)"},
        {"failed", "status = 'failed'"},
        {"returned", "status = 'returned'"},
        {"cancelled", "status = 'cancelled'"},
    };
    json_t *x;
    size_t i;

    assert_int_equal(json_array_size(rows),
                     sql_ll(r,
                            worker ? "select count(distinct kind) from tasks where worker"
                                   : "select count(distinct coalesce(post, '-')) from tasks where "
                                     "not worker",
                            0, NULL));
    json_array_foreach (rows, i, x) {
        const char *p[1] = {str(x, worker ? "kind" : "post")};
        for (size_t k = 0; k < sizeof counts / sizeof *counts; k++) {
            char q[512];
            snprintf(q, sizeof q, "select count(*) from tasks where %s and %s and %s",
                     worker ? "worker" : "not worker",
                     worker ? "kind = $1" : "coalesce(post, '-') = $1", counts[k].where);
            expect(at(x, counts[k].key, NULL), sql_ll(r, q, 1, p), "tasks of %s: %s", p[0],
                   counts[k].key);
        }
    }
}

static void check_tasks(run *r, const json_t *rep)
{
    json_t *x;
    size_t i;
    long long failed = 0, overdue = 0;

    check_task_rows(r, at(rep, "tasks", "staff"), 0);
    check_task_rows(r, at(rep, "tasks", "workers"), 1);
    /* What was fed: one network query failed; left overdue were case 7's last reminder (each
     * reminder calls off the one before) and its payout, and case 8's incident. */
    json_array_foreach (at(rep, "tasks", "workers"), i, x)
        if (strcmp(str(x, "kind"), "network_query") == 0)
            failed = json_integer_value(at(x, "failed", NULL));
    json_array_foreach (at(rep, "tasks", "staff"), i, x)
        overdue += json_integer_value(at(x, "overdue", NULL));
    assert_int_equal(failed, 1);
    assert_int_equal(overdue, 3);
}

static const char *const weekdays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

static void check_weekdays(run *r, const json_t *wd, const char *kind, const char *group)
{
    for (int d = 0; d < 7; d++) {
        const char *p[3] = {kind, weekdays[d], group};
        expect(at(wd, weekdays[d], NULL),
               sql_ll(r,
                      group ? "select count(distinct dispatched_at) from tasks where kind = $1 and "
                              "batch_group = $3 and dispatched_at is not null and "
                              "to_char(dispatched_at, 'Dy') = $2"
                            : "select count(distinct dispatched_at) from tasks where kind = $1 and "
                              "batch_group is not null and dispatched_at is not null and "
                              "to_char(dispatched_at, 'Dy') = $2",
                      group ? 3 : 2, p),
               "%s %s went out on %s", kind, group ? group : "", weekdays[d]);
    }
}

static void check_batches(run *r, const json_t *rep)
{
    json_t *b, *g;
    size_t i, j;
    int six = 0;

    assert_int_equal(
        json_array_size(at(rep, "batches", NULL)),
        sql_ll(r, "select count(distinct kind) from tasks where batch_group is not null", 0, NULL));
    json_array_foreach (at(rep, "batches", NULL), i, b) {
        const char *p[2] = {str(b, "kind"), NULL};
        expect(
            at(b, "batches", NULL),
            sql_ll(r,
                   "select count(*) from (select distinct batch_group, dispatched_at from tasks "
                   "where kind = $1 and batch_group is not null and dispatched_at is not null) x",
                   1, p),
            "batches of %s", p[0]);
        expect(at(b, "tasks", NULL),
               sql_ll(r,
                      "select count(*) from tasks where kind = $1 and batch_group is not null and "
                      "dispatched_at is not null",
                      1, p),
               "tasks in batches of %s", p[0]);
        expect(at(b, "dispatches", NULL),
               sql_ll(r,
                      "select count(distinct dispatched_at) from tasks where kind = $1 and "
                      "batch_group is not null",
                      1, p),
               "dispatches of %s", p[0]);
        expect(at(b, "waiting", NULL),
               sql_ll(r,
                      "select count(*) from tasks where kind = $1 and batch_group is not null and "
                      "dispatched_at is null and status = 'open'",
                      1, p),
               "%s waiting", p[0]);
        check_weekdays(r, at(b, "weekdays", NULL), p[0], NULL);
        assert_int_equal(json_array_size(at(b, "groups", NULL)),
                         sql_ll(r,
                                "select count(distinct batch_group) from tasks where kind = $1 and "
                                "dispatched_at is not null and batch_group is not null",
                                1, p));
        json_array_foreach (at(b, "groups", NULL), j, g) {
            p[1] = str(g, "group");
            expect(at(g, "batches", NULL),
                   sql_ll(r,
                          "select count(distinct dispatched_at) from tasks where kind = $1 and "
                          "batch_group = $2",
                          2, p),
                   "batches of %s for %s", p[0], p[1]);
            expect(at(g, "tasks", NULL),
                   sql_ll(r,
                          "select count(*) from tasks where kind = $1 and batch_group = $2 and "
                          "dispatched_at is not null",
                          2, p),
                   "tasks of %s for %s", p[0], p[1]);
            check_weekdays(r, at(g, "weekdays", NULL), p[0], p[1]);
        }
        /* The six checks go out on Mondays, Wednesdays and Fridays, to six offices and the
         * housing authority (房管局, #13). */
        if (strcmp(p[0], "six_checks") == 0) {
            const json_t *wd = at(b, "weekdays", NULL);
            six = 1;
            assert_true(json_integer_value(at(wd, "Mon", NULL)) > 0);
            assert_true(json_integer_value(at(wd, "Wed", NULL)) > 0);
            assert_true(json_integer_value(at(wd, "Fri", NULL)) > 0);
            assert_int_equal(json_integer_value(at(wd, "Sat", NULL)), 0);
            assert_int_equal(json_integer_value(at(wd, "Sun", NULL)), 0);
            assert_int_equal(json_array_size(at(b, "groups", NULL)), 7);
        }
    }
    assert_true(six);
}

static void check_reminders(run *r, const json_t *rep)
{
    const json_t *rem = at(rep, "reminders", NULL);
    json_t *x;
    size_t i;

    expect(at(rem, "total", NULL),
           sql_ll(r, "select count(*) from events where type = 'timer.fired'", 0, NULL),
           "reminders.total");
    assert_int_equal(json_array_size(at(rem, "timers", NULL)),
                     sql_ll(r,
                            "select count(*) from (select body #>> '{data,timer}' from events "
                            "where type = 'timer.fired' union select unnest(array['query_day_15', "
                            "'query_day_30', 'query_day_45'])) x",
                            0, NULL));
    json_array_foreach (at(rem, "timers", NULL), i, x) {
        const char *p[1] = {str(x, "timer")};
        expect(at(x, "fired", NULL),
               sql_ll(r,
                      "select count(*) from events where type = 'timer.fired' and body #>> "
                      "'{data,timer}' = $1",
                      1, p),
               "timer %s fired", p[0]);
        /* Cases 2..9 but the one withdrawn on day 2 were open on their 15th day. */
        if (strcmp(p[0], "query_day_15") == 0)
            assert_int_equal(json_integer_value(at(x, "fired", NULL)), NCASES - 1);
    }
}

/* The voluntary payment the run fed: the worker's part played by `work` (no candidates), the
 * clerk's match to a judgment (a new case); and the payment into case 7, not paid out. */
static void check_payments(run *r, const json_t *rep)
{
    static const struct {
        const char *key, *sql;
    } counts[] = {
        {"received", "select count(distinct case_no) from events where type = 'payment.received' "
                     "and case_no like 'PAY-%'"},
        {"auto", "select count(*) from events where type = 'payment.matched' and body #>> "
                 "'{data,method}' = 'auto'"},
        {"by_hand", "select count(*) from events where type = 'payment.matched' and body #>> "
                    "'{data,method}' = 'manual'"},
        {"by_hand_new_case", "select count(distinct case_no) from events where case_no like "
                             "'PAY-%' and state_after = 'confirming'"},
        {"unmatched", "select count(distinct case_no) from events where case_no like 'PAY-%' and "
                      "state_after = 'unmatched'"},
        {"waiting", "select count(*) from cases where case_no like 'PAY-%' and state in "
                    "('received', 'clearing', 'applying')"},
        {"payouts_confirmed", "select count(*) from events where type = 'case.decided' and body "
                              "#>> '{data,decision}' = 'payout_confirmed'"},
    };
    const json_t *p = at(rep, "payments", NULL), *in = at(p, "into_cases", NULL);

    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        expect(at(p, counts[i].key, NULL), sql_ll(r, counts[i].sql, 0, NULL), "payments.%s",
               counts[i].key);
    expect(at(in, "paid_in", NULL),
           sql_ll(r,
                  "select count(*) from events where type = 'payment.received' and case_no not "
                  "like 'PAY-%'",
                  0, NULL),
           "payments.into_cases.paid_in");
    expect(at(in, "matched", NULL),
           sql_ll(r, "select count(*) from events where type = 'payment.matched'", 0, NULL),
           "payments.into_cases.matched");
    expect(at(in, "auction_proceeds", NULL),
           sql_ll(r, "select count(*) from events where type = 'proceeds.received'", 0, NULL),
           "payments.into_cases.auction_proceeds");
    /* What was fed: one voluntary payment, matched by the clerk to its judgment; one paid in. */
    assert_int_equal(json_integer_value(at(p, "received", NULL)), 1);
    assert_int_equal(json_integer_value(at(p, "by_hand_new_case", NULL)), 1);
    assert_int_equal(json_integer_value(at(in, "paid_in", NULL)), 1);
}

static void check_documents(run *r, const json_t *rep)
{
    const json_t *d = at(rep, "documents", NULL);
    PGresult *res = sql(r,
                        "select result::text from tasks where kind = 'documents' and status = "
                        "'done'",
                        0, NULL);
    json_t *want = json_object(), *x;
    long long total = 0;
    size_t i;

    /* Counted here from the results themselves. */
    for (int row = 0; row < PQntuples(res); row++) {
        json_t *result = json_loads(PQgetvalue(res, row, 0), 0, NULL), *doc;
        size_t k;
        json_array_foreach (json_object_get(result, "documents"), k, doc) {
            const char *name = json_string_value(doc);
            json_object_set_new(want, name,
                                json_integer(json_integer_value(json_object_get(want, name)) + 1));
            total++;
        }
        json_decref(result);
    }
    expect(at(d, "tasks", NULL), PQntuples(res), "documents tasks");
    expect(at(d, "total", NULL), total, "documents made");
    assert_int_equal(json_array_size(at(d, "documents", NULL)), json_object_size(want));
    json_array_foreach (at(d, "documents", NULL), i, x)
        expect(at(x, "count", NULL), json_integer_value(json_object_get(want, str(x, "document"))),
               "documents %s", str(x, "document"));
    /* Every case that got its notices got the four documents. */
    assert_int_equal(json_object_size(want), 4);
    assert_true(PQntuples(res) >= NCASES - 1);
    PQclear(res);
    json_decref(want);
}

/* Adds 1 to member `what` of the object `key` of `o` (made when missing). */
static void bump(json_t *o, const char *key, const char *what)
{
    json_t *g = json_object_get(o, key);
    if (!g)
        json_object_set_new(o, key, g = json_object());
    json_object_set_new(g, what, json_integer(json_integer_value(json_object_get(g, what)) + 1));
}

/* Service items per route, counted here from the tasks themselves. */
static void check_service(run *r, const json_t *rep)
{
    const json_t *s = at(rep, "service", NULL), *x;
    PGresult *res = sql(r,
                        "select coalesce(batch_group, '?'), status, result ->> 'outcome', "
                        "result ->> 'role' from tasks where kind = 'service'",
                        0, NULL);
    json_t *want = json_object(), *total = json_object(), *g;
    size_t i;

    for (int row = 0; row < PQntuples(res); row++) {
        const char *route = PQgetvalue(res, row, 0), *status = PQgetvalue(res, row, 1);
        const char *outcome = PQgetisnull(res, row, 2) ? "served" : PQgetvalue(res, row, 2);
        const char *what = strcmp(status, "failed") == 0 ? "failed"
                           : strcmp(status, "open") == 0 || strcmp(status, "claimed") == 0 ? "open"
                           : strcmp(status, "done") != 0                                   ? NULL
                           : strcmp(outcome, "unreachable") == 0 ? "unreachable"
                                                                 : "served";
        bump(want, route, "items");
        bump(total, "all", "items");
        if (what) {
            bump(want, route, what);
            bump(total, "all", what);
        }
        if (strcmp(outcome, "unreachable") == 0 &&
            strcmp(PQgetvalue(res, row, 3), "respondents") == 0)
            bump(total, "all", "announced");
    }
    g = json_object_get(total, "all");
    expect(at(s, "items", NULL), json_integer_value(json_object_get(g, "items")), "service items");
    expect(at(s, "served", NULL), json_integer_value(json_object_get(g, "served")), "served");
    expect(at(s, "unreachable", NULL), json_integer_value(json_object_get(g, "unreachable")),
           "not reached");
    expect(at(s, "announced", NULL), json_integer_value(json_object_get(g, "announced")),
           "served by announcement");
    expect(at(s, "failed", NULL), json_integer_value(json_object_get(g, "failed")),
           "service failed");
    expect(at(s, "deemed_served", NULL),
           sql_ll(r,
                  "select count(*) from events where type = 'timer.fired' and body -> 'data' ->> "
                  "'timer' = 'announcement_served'",
                  0, NULL),
           "deemed served");
    assert_int_equal(json_array_size(at(s, "routes", NULL)), json_object_size(want));
    json_array_foreach (at(s, "routes", NULL), i, x) {
        const json_t *w = json_object_get(want, str(x, "route"));
        for (const char *const *k =
                 (const char *const[]){"items", "served", "unreachable", "failed", "open", NULL};
             *k; k++)
            expect(at(x, *k, NULL), json_integer_value(json_object_get(w, *k)), "%s of route %s",
                   *k, str(x, "route"));
    }
    assert_true(json_integer_value(json_object_get(g, "items")) >= NCASES - 1);
    PQclear(res);
    json_decref(want);
    json_decref(total);
}

/* Auctions by round, against the database (this run's execution plans send nothing to auction;
 * tests/integration/test_service_auction.c drives the rounds). */
static void check_auctions(run *r, const json_t *rep)
{
    const json_t *a = at(rep, "auctions", NULL);

    expect(at(a, "priced", NULL),
           sql_ll(r,
                  "select count(*) from tasks where kind = 'auction' and result ->> 'outcome' = "
                  "'priced'",
                  0, NULL),
           "auction prices");
    expect(at(a, "in_payment", NULL),
           sql_ll(r,
                  "select count(*) from tasks where kind = 'auction_disposal' and result ->> "
                  "'disposal' = 'in_payment'",
                  0, NULL),
           "以物抵债");
    expect(at(a, "released", NULL),
           sql_ll(r,
                  "select count(*) from tasks where kind = 'auction_disposal' and result ->> "
                  "'disposal' = 'release'",
                  0, NULL),
           "released");
    expect(at(a, "proceeds", NULL),
           sql_ll(r,
                  "select coalesce(sum((body -> 'data' ->> 'amount')::numeric), 0)::bigint from "
                  "events where type = 'proceeds.received'",
                  0, NULL),
           "proceeds");
    assert_int_equal(json_array_size(at(a, "rounds", NULL)),
                     sql_ll(r,
                            "select count(distinct params ->> 'round') from tasks where kind = "
                            "'auction' and params ->> 'step' = 'result'",
                            0, NULL));
}

static void check_ledgers(run *r, const json_t *rep)
{
    PGresult *res = sql(r,
                        "select to_char(t.dispatched_at, 'YYYY-MM'), t.case_no, "
                        "c.body #>> '{data,close_method}', c.workflow from tasks t join cases c "
                        "on c.case_no = t.case_no where t.kind = 'archive' and t.status = 'done' "
                        "and t.dispatched_at is not null",
                        0, NULL);
    json_t *months = json_object(), *m, *x;
    size_t i, j;
    int april = 0;

    for (int row = 0; row < PQntuples(res); row++) {
        json_t *month = json_object_get(months, PQgetvalue(res, row, 0));
        if (!month) {
            month = json_object();
            json_object_set_new(months, PQgetvalue(res, row, 0), month);
        }
        json_object_set_new(month, PQgetvalue(res, row, 1), json_string(PQgetvalue(res, row, 2)));
    }
    PQclear(res);
    assert_int_equal(json_array_size(at(rep, "archive_ledgers", NULL)), json_object_size(months));
    json_array_foreach (at(rep, "archive_ledgers", NULL), i, m) {
        const char *p[2] = {str(m, "month"), NULL};
        json_t *want = json_object_get(months, p[0]);
        assert_non_null(want);
        expect(at(m, "cases", NULL), (long long)json_object_size(want), "cases in ledger %s", p[0]);
        assert_int_equal(json_array_size(at(m, "entries", NULL)), json_object_size(want));
        json_array_foreach (at(m, "entries", NULL), j, x) {
            const json_t *method = json_object_get(want, str(x, "case_no"));
            assert_non_null(method);
            assert_string_equal(str(x, "close_method"), json_string_value(method));
        }
        assert_int_equal(json_array_size(at(m, "dispatched", NULL)),
                         sql_ll(r,
                                "select count(distinct dispatched_at) from tasks where kind = "
                                "'archive' and status = 'done' and to_char(dispatched_at, "
                                "'YYYY-MM') = $1",
                                1, p));
        json_array_foreach (at(m, "close_methods", NULL), j, x) {
            long long n = 0;
            const char *cn;
            json_t *v;
            json_object_foreach (want, cn, v)
                n += strcmp(json_string_value(v), str(x, "close_method")) == 0;
            expect(at(x, "cases", NULL), n, "ledger %s: %s", p[0], str(x, "close_method"));
        }
        /* What was fed: April's ledger holds case 1 (fully performed on 03-23) and case 2
         * (withdrawn on 03-04). */
        if (strcmp(p[0], "2026-04") == 0) {
            april = 1;
            assert_string_equal(json_string_value(json_object_get(want, r->cases[0])), "执行完毕");
            assert_string_equal(json_string_value(json_object_get(want, r->cases[1])), "终结执行");
        }
    }
    assert_true(april);
    json_decref(months);
}

/* ---- stages, computed here from the event log ---- */

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* percentile_cont: linear between the two nearest ranks. */
static double percentile(double *v, size_t n, double p)
{
    double pos = p * (double)(n - 1);
    size_t lo = (size_t)floor(pos), hi = (size_t)ceil(pos);
    return v[lo] + (v[hi] - v[lo]) * (pos - (double)lo);
}

static double round2(double v)
{
    return round(v * 100) / 100;
}

typedef struct stage {
    char workflow[64], state[64];
    double *days;
    size_t n, cap;
    long long still;
    double p50, p90, max;
} stage;

static stage *stage_of(stage *all, size_t *n, const char *workflow, const char *state)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(all[i].workflow, workflow) == 0 && strcmp(all[i].state, state) == 0)
            return &all[i];
    memset(&all[*n], 0, sizeof all[*n]);
    snprintf(all[*n].workflow, sizeof all[*n].workflow, "%s", workflow);
    snprintf(all[*n].state, sizeof all[*n].state, "%s", state);
    return &all[(*n)++];
}

static void expect_days(const json_t *v, const stage *s, double want, const char *what)
{
    if (s->n == 0) {
        if (!json_is_null(v))
            fail_msg("%s/%s %s: the report has a number, but no stay ended", s->workflow, s->state,
                     what);
        return;
    }
    /* The report rounds to hundredths of a day. */
    if (!json_is_number(v) || fabs(json_number_value(v) - want) > 0.0051)
        fail_msg("%s/%s %s: the report says %g, the event log %.4f", s->workflow, s->state, what,
                 json_number_value(v), want);
    mark(v);
}

static void expect_stage(const json_t *x, const stage *s)
{
    expect(at(x, "stays", NULL), (long long)s->n, "%s/%s stays", s->workflow, s->state);
    expect(at(x, "still_in", NULL), s->still, "%s/%s still in", s->workflow, s->state);
    expect_days(at(x, "p50_days", NULL), s, s->p50, "p50");
    expect_days(at(x, "p90_days", NULL), s, s->p90, "p90");
    expect_days(at(x, "max_days", NULL), s, s->max, "max");
}

static int slower(const void *a, const void *b)
{
    const stage *x = a, *y = b;
    if (round2(x->p50) != round2(y->p50))
        return round2(x->p50) > round2(y->p50) ? -1 : 1;
    if (round2(x->p90) != round2(y->p90))
        return round2(x->p90) > round2(y->p90) ? -1 : 1;
    if (strcmp(x->workflow, y->workflow) != 0)
        return strcmp(x->workflow, y->workflow);
    return strcmp(x->state, y->state);
}

static void check_stages(run *r, const json_t *rep)
{
    PGresult *res = sql(r,
                        "select e.case_no, c.workflow, e.state_before, e.state_after, "
                        "extract(epoch from e.applied_at)::float8 from events e join cases c on "
                        "c.case_no = e.case_no order by e.case_no, e.seq",
                        0, NULL);
    stage all[64], ended[64];
    size_t n = 0, nended = 0;
    stage *cur = NULL;
    double entered = 0;
    const char *case_no = "";
    json_t *x;
    size_t i;

    for (int row = 0; row < PQntuples(res); row++) {
        const char *c = PQgetvalue(res, row, 0), *before = PQgetvalue(res, row, 2);
        const char *after = PQgetvalue(res, row, 3);
        double t = strtod(PQgetvalue(res, row, 4), NULL);
        if (strcmp(c, case_no) != 0) {
            if (cur)
                cur->still++;
            cur = NULL;
            case_no = c;
        }
        if (strcmp(before, after) == 0)
            continue;
        if (cur) {
            if (cur->n == cur->cap) {
                cur->cap = cur->cap ? cur->cap * 2 : 16;
                cur->days = realloc(cur->days, cur->cap * sizeof *cur->days);
            }
            cur->days[cur->n++] = (t - entered) / 86400;
        }
        assert_true(n < 63);
        cur = stage_of(all, &n, PQgetvalue(res, row, 1), after);
        entered = t;
    }
    if (cur)
        cur->still++;
    for (i = 0; i < n; i++) {
        stage *s = &all[i];
        if (s->n > 0) {
            qsort(s->days, s->n, sizeof *s->days, by_double);
            s->p50 = percentile(s->days, s->n, 0.5);
            s->p90 = percentile(s->days, s->n, 0.9);
            s->max = s->days[s->n - 1];
            ended[nended++] = *s;
        }
    }
    assert_int_equal(json_array_size(at(rep, "stages", NULL)), n);
    json_array_foreach (at(rep, "stages", NULL), i, x) {
        size_t before = n;
        stage *s = stage_of(all, &n, str(x, "workflow"), str(x, "state"));
        assert_int_equal(n, before);
        expect_stage(x, s);
        /* Cases still in a state are the cases in it now. */
        {
            const char *p[2] = {s->workflow, s->state};
            assert_int_equal(s->still, sql_ll(r,
                                              "select count(*) from cases where workflow = $1 and "
                                              "state = $2",
                                              2, p));
        }
    }
    qsort(ended, nended, sizeof *ended, slower);
    assert_int_equal(json_array_size(at(rep, "slowest_stages", NULL)), nended < 5 ? nended : 5);
    json_array_foreach (at(rep, "slowest_stages", NULL), i, x) {
        assert_string_equal(str(x, "workflow"), ended[i].workflow);
        assert_string_equal(str(x, "state"), ended[i].state);
        expect_stage(x, &ended[i]);
    }
    for (i = 0; i < n; i++)
        free(all[i].days);
    PQclear(res);
}

/* The statutory clocks: each count against the clocks of the stored states, counted here by
 * walking the states rather than by the report's query. */
static void check_clocks(run *r, const json_t *rep)
{
    static const char *const statuses[] = {"running", "paused", "stopped"};
    const json_t *clocks = at(rep, "clocks", NULL), *x, *g;
    size_t i, k;

    assert_true(json_array_size(clocks) > 0);
    json_array_foreach (clocks, i, x) {
        const char *p[2] = {str(x, "clock"), NULL};
        for (size_t s = 0; s < 3; s++) {
            p[1] = statuses[s];
            expect(json_object_get(x, statuses[s]),
                   sql_ll(r,
                          "select count(*) from cases where body -> 'clocks' -> $1 ->> 'status' "
                          "= $2",
                          2, p),
                   "clocks %s %s", p[0], statuses[s]);
        }
        expect(json_object_get(x, "overdue"),
               sql_ll(r,
                      "select count(*) from cases, (select coalesce((select now from "
                      "engine_clock where id = 1 and mode = 'simulated'), now()) as now) k "
                      "where body -> 'clocks' -> $1 ->> 'status' = 'running' and "
                      "(body -> 'clocks' -> $1 ->> 'last_day')::timestamptz < k.now",
                      1, p),
               "clocks %s overdue", p[0]);
        expect(json_object_get(x, "extended"),
               sql_ll(r,
                      "select count(*) from cases where jsonb_array_length(coalesce(body -> "
                      "'clocks' -> $1 -> 'extensions', '[]')) > 0",
                      1, p),
               "clocks %s extended", p[0]);
        json_array_foreach (json_object_get(x, "paused_on"), k, g) {
            p[1] = str(g, "ground");
            expect(json_object_get(g, "cases"),
                   sql_ll(r,
                          "select count(*) from cases where body -> 'clocks' -> $1 ->> 'status' "
                          "= 'paused' and body -> 'clocks' -> $1 -> 'pauses' -> -1 -> 'grounds' "
                          "? $2",
                          2, p),
                   "clocks %s paused on %s", p[0], p[1]);
        }
    }
}

static void check_chart(run *r, const json_t *rep)
{
    const json_t *chart = at(rep, "chart", NULL), *days = at(chart, "days", NULL);
    const json_t *states = at(chart, "states", NULL);
    char *first = sql_text(r,
                           "select to_char(min(e.applied_at), 'YYYY-MM-DD') from events e join "
                           "cases c on c.case_no = e.case_no where c.workflow = 'enforcement_case'",
                           0, NULL);
    char *last = sql_text(r, "select to_char(now, 'YYYY-MM-DD') from engine_clock", 0, NULL);
    json_t *x;
    size_t i;

    assert_string_equal(str(chart, "workflow"), "enforcement_case");
    assert_int_equal(json_array_size(days),
                     sql_ll(r,
                            "select (select now from engine_clock)::date - (select "
                            "min(e.applied_at) from events e join cases c on c.case_no = "
                            "e.case_no where c.workflow = 'enforcement_case')::date + 1",
                            0, NULL));
    assert_string_equal(json_string_value(json_array_get(days, 0)), first);
    assert_string_equal(json_string_value(json_array_get(days, json_array_size(days) - 1)), last);
    assert_int_equal(json_array_size(states),
                     sql_ll(r,
                            "select count(distinct e.state_after) from events e join cases c on "
                            "c.case_no = e.case_no where c.workflow = 'enforcement_case' and "
                            "e.state_before <> e.state_after",
                            0, NULL));
    json_array_foreach (states, i, x)
        assert_int_equal(json_array_size(at(x, "counts", NULL)), json_array_size(days));
    /* Each day: each case in the state of its last event before the day ended. */
    for (size_t d = 0; d < json_array_size(days); d++) {
        const char *p[1] = {json_string_value(json_array_get(days, d))};
        PGresult *res = sql(r,
                            "select x.state, count(*) from cases c cross join lateral (select "
                            "e.state_after as state from events e where e.case_no = c.case_no and "
                            "e.applied_at < ($1::date + 1)::timestamptz order by e.seq desc limit "
                            "1) x where c.workflow = 'enforcement_case' group by 1",
                            1, p);
        json_array_foreach (states, i, x) {
            long long want = 0;
            for (int row = 0; row < PQntuples(res); row++)
                if (strcmp(PQgetvalue(res, row, 0), str(x, "state")) == 0)
                    want = strtoll(PQgetvalue(res, row, 1), NULL, 10);
            expect(json_array_get(at(x, "counts", NULL), d), want, "chart: %s on %s",
                   str(x, "state"), p[0]);
        }
        for (int row = 0; row < PQntuples(res); row++) {
            int found = 0;
            json_array_foreach (states, i, x)
                found |= strcmp(PQgetvalue(res, row, 0), str(x, "state")) == 0;
            assert_true(found);
        }
        PQclear(res);
    }
    free(first);
    free(last);
}

/* A period: only what happened in April. */
static void check_period(run *r)
{
    const char *args[] = {"report",  "--json",     "--since", "2026-04-01",
                          "--until", "2026-04-30", NULL};
    char *out = NULL, *err = NULL;
    json_t *rep;
    json_t *x;
    size_t i;

    assert_int_equal(kit_run(&r->k, args, &out, &err), 0);
    rep = json_loads(out, 0, NULL);
    assert_non_null(rep);
    assert_non_null(str(at(rep, "period", NULL), "since"));
    assert_int_equal(sql_ll(r,
                            "select count(*) where $1::timestamptz = '2026-04-01T00:00:00+08:00' "
                            "and $2::timestamptz = '2026-05-01T00:00:00+08:00'",
                            2,
                            (const char *[]){str(at(rep, "period", NULL), "since"),
                                             str(at(rep, "period", NULL), "until")}),
                     1);
    assert_int_equal(
        json_integer_value(at(at(rep, "cases", NULL), "total", NULL)),
        sql_ll(r,
               "select count(*) from cases where created_at >= '2026-04-01T00:00:00+08:00' and "
               "created_at < '2026-05-01T00:00:00+08:00'",
               0, NULL));
    /* Case 9 was filed on 04-06. */
    assert_int_equal(json_integer_value(at(at(rep, "cases", NULL), "total", NULL)), 1);
    assert_int_equal(
        json_integer_value(at(rep, "events", NULL)),
        sql_ll(r,
               "select count(*) from events where applied_at >= '2026-04-01T00:00:00+08:00' and "
               "applied_at < '2026-05-01T00:00:00+08:00'",
               0, NULL));
    assert_int_equal(json_integer_value(at(at(rep, "reminders", NULL), "total", NULL)),
                     sql_ll(r,
                            "select count(*) from events where type = 'timer.fired' and "
                            "applied_at >= '2026-04-01T00:00:00+08:00' and applied_at < "
                            "'2026-05-01T00:00:00+08:00'",
                            0, NULL));
    json_array_foreach (at(rep, "batches", NULL), i, x) {
        const char *p[1] = {str(x, "kind")};
        assert_int_equal(
            json_integer_value(at(x, "dispatches", NULL)),
            sql_ll(r,
                   "select count(distinct dispatched_at) from tasks where kind = $1 "
                   "and batch_group is not null and dispatched_at >= '2026-04-01T00:00:00+08:00' "
                   "and dispatched_at < '2026-05-01T00:00:00+08:00'",
                   1, p));
    }
    assert_int_equal(json_array_size(at(rep, "archive_ledgers", NULL)), 1);
    assert_int_equal(json_array_size(at(at(rep, "chart", NULL), "days", NULL)), 30);
    json_decref(rep);
    free(out);
    free(err);
}

/* The chart: an SVG and a PNG of the same drawing (what is drawn is tests/unit/test_chart.c's). */
static void check_svg(run *r, const json_t *rep)
{
    char path[640], png[640], *out = NULL, *err = NULL, *svg;
    const char *args[] = {"report", "--svg", path, NULL};
    unsigned char sig[8] = {0};
    FILE *f;
    long len;

    (void)rep;
    snprintf(path, sizeof path, "%s/cases.svg", r->k.logdir);
    snprintf(png, sizeof png, "%s/cases.png", r->k.logdir);
    assert_int_equal(kit_run(&r->k, args, &out, &err), 0);
    /* The tables went to stdout meanwhile. */
    assert_non_null(strstr(out, "执行指挥中心工作报告"));
    assert_non_null(strstr(out, "归档台账"));
    assert_non_null(strstr(err, "cases.png"));
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    svg = calloc((size_t)len + 1, 1);
    assert_int_equal(fread(svg, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    assert_int_equal(strncmp(svg, "<?xml", 5), 0);
    assert_non_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_non_null(strstr(svg, "</svg>"));
    f = fopen(png, "rb");
    assert_non_null(f);
    assert_int_equal(fread(sig, 1, 8, f), 8);
    fclose(f);
    assert_int_equal(memcmp(sig, "\x89PNG\r\n\x1a\n", 8), 0);
    free(svg);
    free(out);
    free(err);
}

/* Stops the engine and frees the run, also after a failed check. */
/* ---- the same report over HTTP ---- */

/* `method url` with the session `cookie` (may be "") and JSON `body` (may be NULL) through
 * kit_http; returns the status and the body in *out (free it), and a new session cookie in
 * `set_cookie` (256 bytes, may be NULL). */
static long http(const char *method, const char *url, const char *cookie, const char *body,
                 char *set_cookie, char **out)
{
    kit_reply r;
    long status = kit_http(method, url, cookie, body, &r);

    *out = r.body;
    r.body = NULL;
    if (set_cookie && r.cookie[0])
        snprintf(set_cookie, 256, "%s", r.cookie);
    kit_reply_free(&r);
    return status;
}

/* `caseflow report --json ARGS` and GET /api/v1/report?QUERY as `cookie` must be equal. */
static void same_over_http(run *r, const char *base, const char *cookie, const char *query,
                           const char *const *args)
{
    char url[512], set_cookie[256] = "", *body = NULL, *out = NULL, *err = NULL;
    json_t *cli, *api;

    snprintf(url, sizeof url, "%s/api/v1/report%s", base, query);
    assert_int_equal(http("GET", url, cookie, NULL, set_cookie, &body), 200);
    assert_int_equal(kit_run(&r->k, args, &out, &err), 0);
    cli = json_loads(out, 0, NULL);
    api = json_loads(body, 0, NULL);
    assert_non_null(cli);
    assert_non_null(api);
    if (!json_equal(cli, api))
        fail_msg("GET /api/v1/report%s differs from caseflow report --json:\n%s\n---\n%s", query,
                 body, out);
    json_decref(cli);
    json_decref(api);
    free(body);
    free(out);
    free(err);
}

static void check_api(run *r)
{
    const char *const lead[] = {"users", "add", "boss", "--role", "lead", "--password-stdin", NULL};
    const char *const staff[] = {
        "users", "add", "wang", "--role", "staff", "--post", "intake", "--password-stdin", NULL};
    char base[64], cookie[256] = "", staff_cookie[256] = "", *body = NULL, *out = NULL, *err = NULL;
    int port;
    pid_t server;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    assert_int_equal(kit_run_in(&r->k, "a lead's passphrase\n", lead, &out, &err), 0);
    free(out);
    free(err);
    assert_int_equal(kit_run_in(&r->k, "a clerk's passphrase\n", staff, &out, &err), 0);
    free(out);
    free(err);
    server = kit_serve_start(&r->k, NULL, &port);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    {
        char url[128];
        snprintf(url, sizeof url, "%s/api/v1/login", base);
        assert_int_equal(http("POST", url, NULL,
                              "{\"name\": \"boss\", \"password\": \"a lead's passphrase\"}", cookie,
                              &body),
                         200);
        free(body);
        assert_int_equal(http("POST", url, NULL,
                              "{\"name\": \"wang\", \"password\": \"a clerk's passphrase\"}",
                              staff_cookie, &body),
                         200);
        free(body);
        assert_true(strlen(cookie) > 40 && strlen(staff_cookie) > 40);
    }
    same_over_http(r, base, cookie, "", (const char *[]){"report", "--json", NULL});
    same_over_http(r, base, cookie, "?since=2026-04-01&until=2026-04-30",
                   (const char *[]){"report", "--json", "--since", "2026-04-01", "--until",
                                    "2026-04-30", NULL});
    same_over_http(
        r, base, cookie, "?since=2026-04-06T12:00:00%2B08:00",
        (const char *[]){"report", "--json", "--since", "2026-04-06T12:00:00+08:00", NULL});
    {
        char url[256];
        json_t *p;
        snprintf(url, sizeof url, "%s/api/v1/report?until=April", base);
        assert_int_equal(http("GET", url, cookie, NULL, NULL, &body), 400);
        p = json_loads(body, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(p, "parameter")), "until");
        assert_non_null(strstr(json_string_value(json_object_get(p, "detail")), "'April'"));
        json_decref(p);
        free(body);
        /* Staff do the work; the report is the command center's. */
        snprintf(url, sizeof url, "%s/api/v1/report", base);
        assert_int_equal(http("GET", url, staff_cookie, NULL, NULL, &body), 403);
        free(body);
    }
    assert_int_equal(kit_engine_stop(&r->k, server, SIGTERM), 0);
    curl_global_cleanup();
}

static int teardown(void **state)
{
    run *r = *state;
    if (!r)
        return 0;
    if (r->engine > 0)
        kit_engine_stop(&r->k, r->engine, SIGTERM);
    json_decref(checked);
    checked = NULL;
    kit_done(&r->k);
    free(r);
    return 0;
}

static void test_report_matches_the_database(void **state)
{
    run *r = calloc(1, sizeof *r);
    const char *args[] = {"report", "--json", NULL};
    char *out = NULL, *err = NULL;
    json_t *rep;
    int base = (int)(getpid() % 9000 + 1000) * 10;

    assert_non_null(r);
    *state = r;
    kit_init(&r->k, "report");
    r->npart = 8;
    checked = json_object();
    for (int c = 0; c < NCASES; c++) {
        snprintf(r->cases[c], sizeof r->cases[c], "(2026)豫0381执%d号", base + c + 1);
    }
    snprintf(r->pay, sizeof r->pay, "PAY-rep-%ld", (long)getpid());
    snprintf(r->pay_case, sizeof r->pay_case, "(2026)豫0381执%d号", base + 9);
    r->engine = kit_engine_start(&r->k, NULL);

    drive(r);

    assert_int_equal(kit_run(&r->k, args, &out, &err), 0);
    rep = json_loads(out, 0, NULL);
    if (!rep)
        fail_msg("caseflow report --json gave no JSON: %s", err ? err : "");
    check_head(r, rep);
    check_cases(r, rep);
    check_tasks(r, rep);
    check_batches(r, rep);
    check_reminders(r, rep);
    check_documents(r, rep);
    check_service(r, rep);
    check_auctions(r, rep);
    check_payments(r, rep);
    check_ledgers(r, rep);
    check_stages(r, rep);
    check_clocks(r, rep);
    check_chart(r, rep);
    all_checked(rep, "report");
    fprintf(stderr, "report: %zu numbers checked against the database\n",
            json_object_size(checked));
    check_period(r);
    check_svg(r, rep);
    check_api(r);
    json_decref(rep);
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_report_matches_the_database, teardown)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
