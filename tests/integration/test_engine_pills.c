/*
 * Poison pills: events that look right to a careless or hostile sender — most of them valid
 * JSON of the right shape — but that the database, the workflow or the rules of who may speak
 * for a task refuse.  They are fed interleaved with good events, in the same batches.  Every good
 * event must be applied exactly once, every bad one must land in the dead-letter topic with its
 * reason and original bytes and in dead_letters, and the engine must never stick.
 *
 * Three of them pass every check the engine makes and are refused by the database itself (a
 * trigger and a constraint this test adds stand in for whatever the next such case is): the
 * engine must find each by applying the refused batch one event at a time, dead-letter it with
 * the database's message, and go back to batches.
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

#define T0 "2026-03-02T09:00:00+08:00"

/* Case numbers: C(n) is "(2026)豫0381执<n>号". */
static const char *C(int n)
{
    static char buf[16][64];
    static int at;
    char *b = buf[at++ % 16];
    snprintf(b, 64, "(2026)豫0381执%d号", n);
    return b;
}

static void send_text(kit *k, const char *key, const char *text)
{
    kit_send(k, NULL, key, text, strlen(text));
}

/* A case.filed whose data member `field` is replaced by `value` (stolen). */
static json_t *filed_with(int n, const char *id, const char *field, json_t *value)
{
    json_t *ev = kit_filed(C(n), id, T0);
    json_object_set_new(json_object_get(ev, "data"), field, value);
    return ev;
}

static void sql(kit *k, const char *text)
{
    PGresult *res = PQexec(k->db, text);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", text, PQresultErrorMessage(res));
    PQclear(res);
}

/* The reason of the dead letter of event `id`, or NULL (free it). */
static char *reason_of(kit *k, const char *id)
{
    return kit_value(k, "select reason from dead_letters where event_id = $1", 1,
                     (const char *const[]){id});
}

static void expect_reason(kit *k, const char *id, const char *part)
{
    char *r = reason_of(k, id);
    if (!r || !strstr(r, part))
        fail_msg("dead letter of %s: expected a reason with \"%s\", got \"%s\"", id, part,
                 r ? r : "(no dead letter)");
    free(r);
}

static void test_pills_are_dead_lettered_and_the_rest_applied(void **state)
{
    (void)state;
    kit k;
    pid_t engine;
    char dlq[160], *task, *wtask, *v;
    json_t *ev, *msgs, *m;
    size_t i;
    /* The bad events: each must have a dead letter whose reason says this. */
    static const struct {
        const char *id, *reason;
    } bad[] = {
        {"pill-year-0000", "year"},
        {"pill-offset-17", "offset"},
        {"pill-filed-0000", "/data/filed_at"},
        {"pill-filed-off16", "/data/filed_at"},
        {"pill-amount-1e20", "/data/amount"},
        {"pill-date-0000", "effective_date"},
        {"good-1", "id reused with different content"},
        {"pill-unknown-case", "unknown case"},
        {"pill-not-allowed", "not expected in state"},
        {"pill-db-trigger", "the database refused the event: writing the event log: PostgreSQL: "
                            "refused by the test's trigger"},
        {"pill-db-long", "这个事件不能写入数据库"},
        {"pill-db-case", "pill_case"},
        {"pill-filed-again", "exists already"},
        {"pill-no-task", "case has no task no-such-task"},
        {"pill-corrected-0", "/data/fields/filed_at"},
        {"pill-result-1e300", "/data/result/amount"},
        {"pill-unclaimed", "is not claimed"},
        {"pill-not-claimer", "claimed by 王芳"},
        {"pill-forged-worker", "worker's"},
    };
    const size_t nbad = sizeof bad / sizeof *bad;
    /* Messages that carry no id the engine could read: not JSON at all. */
    const size_t nanon = 2;

    kit_init(&k, "pills");
    snprintf(dlq, sizeof dlq, "%s.dlq", k.prefix);
    engine = kit_engine_start(&k, NULL);
    v = kit_wait_value(&k, "select to_regclass('events')::text", 0, NULL, "events", 60);
    free(v);
    /* What stands in for a refusal no validation foresaw: a trigger on the event log, one with
     * a long message in Chinese (it is cut at a character boundary), and a constraint on cases. */
    sql(&k, "create function pill_refuse() returns trigger language plpgsql as $$ begin "
            "if new.event_id = 'pill-db-trigger' then raise exception using errcode = '22023', "
            "message = 'refused by the test''s trigger'; end if; "
            "if new.event_id = 'pill-db-long' then raise exception using errcode = '22023', "
            "message = '拒绝' || repeat('这个事件不能写入数据库', 200); end if; "
            "return new; end $$");
    sql(&k, "create trigger pill_refuse before insert on events for each row execute function "
            "pill_refuse()");
    sql(&k, "alter table cases add constraint pill_case check (case_no <> '(2026)豫0381执666号')");

    /* Good and bad, interleaved, so that the database's refusals fall in batches with good ones. */
    kit_send_json(&k, kit_filed(C(1), "good-1", T0));
    kit_send_json(&k, kit_filed(C(90), "pill-year-0000", "0000-03-02T09:00:00+08:00"));
    kit_send_json(&k, kit_filed(C(2), "good-2", T0));
    kit_send_json(&k, kit_filed(C(91), "pill-offset-17", "2026-03-02T09:00:00+17:00"));
    kit_send_json(&k, filed_with(92, "pill-filed-0000", "filed_at",
                                 json_string("0000-01-01T09:00:00+08:00")));
    kit_send_json(&k, filed_with(93, "pill-filed-off16", "filed_at",
                                 json_string("2026-03-02T09:00:00+16:00")));
    kit_send_json(&k, filed_with(94, "pill-amount-1e20", "amount", json_real(1e20)));
    /* Good: an amount written 1.0E7, which jsonb would render as 10000000. */
    {
        json_t *g3 = kit_filed(C(3), "good-3", T0);
        char *text, raw[4096], *at;
        json_object_set_new(json_object_get(g3, "data"), "amount", json_integer(424242));
        text = json_dumps(g3, JSON_COMPACT);
        at = strstr(text, "424242");
        snprintf(raw, sizeof raw, "%.*s1.0E7%s", (int)(at - text), text, at + 6);
        send_text(&k, C(3), raw);
        free(text);
        json_decref(g3);
    }
    /* Keyed by the canonical number, as `caseflow feed` and the server send it: a key as
     * written could put it on another partition than the case's other events. */
    {
        json_t *g4 =
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:{s:s}}}", "id", "good-4", "type",
                      "case.corrected", "case", "（２０２６）豫0381执2号", "time", T0, "source",
                      "filing", "data", "note", "更正", "fields", "cause", "借款合同纠纷");
        char *text = json_dumps(g4, JSON_COMPACT);
        send_text(&k, C(2), text);
        free(text);
        json_decref(g4);
    }
    kit_send_json(
        &k, filed_with(95, "pill-date-0000", "basis",
                       json_pack("{s:s, s:s, s:s}", "document_no", "(2025)豫0381民初1号",
                                 "court_name", "偃师区人民法院", "effective_date", "0000-01-01")));
    kit_send_json(&k, kit_withdrawn(C(97), "pill-unknown-case", T0));
    kit_send_json(&k, json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "id", "pill-not-allowed",
                                "type", "case.decided", "case", C(2), "time", T0, "source",
                                "staff:bureau_lead:王强", "data", "decision", "postpone"));
    {
        static const char nul[] = "{\"id\":\"nul\",\"type\":\"case.filed\",\"x\":\"a\0b\"}";
        kit_send(&k, NULL, C(1), nul, sizeof nul - 1);
    }
    send_text(&k, C(1), "{\"id\":\"dup-key\",\"id\":\"dup-key\",\"type\":\"case.filed\"}");
    kit_send_json(&k, kit_filed(C(4), "good-5", T0));
    kit_send_json(&k, kit_filed(C(98), "pill-db-trigger", T0));
    kit_send_json(&k, kit_filed(C(5), "good-6", T0));
    kit_send_json(&k, kit_filed(C(99), "pill-db-long", T0));
    kit_send_json(&k, kit_filed(C(666), "pill-db-case", T0));
    kit_send_json(&k, kit_filed(C(2), "pill-filed-again", T0));
    kit_send_json(&k, json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:{s:b}}}", "id",
                                "pill-no-task", "type", "task.completed", "case", C(4), "time", T0,
                                "source", "staff:intake:王芳", "data", "task_id", "no-such-task",
                                "activity", "intake_check", "kind", "intake_check", "result",
                                "complete", 1));
    kit_send_json(&k, json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:{s:s}}}", "id",
                                "pill-corrected-0", "type", "case.corrected", "case", C(4), "time",
                                T0, "source", "filing", "data", "note", "更正", "fields",
                                "filed_at", "0000-01-01T00:00:00+08:00"));
    kit_send_json(&k, kit_filed(C(6), "good-7", T0));
    kit_flush(&k);

    /* The intake task of case 1: completed first unclaimed, then by someone else than the
     * claimer, then by the claimer; then its worker task is "completed" by a member of staff.
     * The filing review comes before it (version 3). */
    kit_review(&k, C(1), T0);
    task =
        kit_wait_value(&k, "select task_id from tasks where case_no = $1 and kind = 'intake_check'",
                       1, (const char *const[]){C(1)}, NULL, 60);
    assert_non_null(task);
    /* good-1 is applied (its case has its task): its id again for another case is refused;
     * the same bytes again are a counted duplicate. */
    kit_send_json(&k, kit_filed(C(96), "good-1", T0));
    kit_send_json(&k, kit_filed(C(1), "good-1", T0));
    ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:{s:b}}}", "id", "pill-unclaimed",
                   "type", "task.completed", "case", C(1), "time", T0, "source",
                   "staff:intake:王芳", "data", "task_id", task, "activity", "intake_check", "kind",
                   "intake_check", "result", "complete", 1);
    kit_send_json(&k, ev);
    kit_flush(&k);
    assert_int_equal(kit_wait_count(&k,
                                    "select count(*) from dead_letters where event_id = "
                                    "'pill-unclaimed'",
                                    1, 60),
                     1);
    kit_claim(&k, task, "王芳");
    ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:{s:b}}}", "id",
                   "pill-not-claimer", "type", "task.completed", "case", C(1), "time", T0, "source",
                   "staff:intake:李明", "data", "task_id", task, "activity", "intake_check", "kind",
                   "intake_check", "result", "complete", 1);
    kit_send_json(&k, ev);
    ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:{s:b}}}", "id", "good-8", "type",
                   "task.completed", "case", C(1), "time", T0, "source", "staff:intake:王芳",
                   "data", "task_id", task, "activity", "intake_check", "kind", "intake_check",
                   "result", "complete", 1);
    kit_send_json(&k, ev);
    kit_flush(&k);
    wtask = kit_wait_value(&k, "select task_id from tasks where case_no = $1 and worker limit 1", 1,
                           (const char *const[]){C(1)}, NULL, 60);
    assert_non_null(wtask);
    {
        char *kind = kit_value(&k, "select kind from tasks where task_id = $1", 1,
                               (const char *const[]){wtask});
        ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:{s:b}}}", "id",
                       "pill-forged-worker", "type", "task.completed", "case", C(1), "time", T0,
                       "source", "staff:intake:王芳", "data", "task_id", wtask, "activity", kind,
                       "kind", kind, "result", "found", 1);
        free(kind);
    }
    kit_send_json(&k, ev);
    kit_send_json(&k, json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:{s:f}}}", "id",
                                "pill-result-1e300", "type", "task.completed", "case", C(1), "time",
                                T0, "source", "worker:none", "data", "task_id", wtask, "activity",
                                "x", "kind", "x", "result", "amount", 1e300));
    kit_send_json(&k, kit_filed(C(7), "good-last", T0));
    kit_flush(&k);

    /* Everything settles: the last good event is applied, every bad one dead-lettered. */
    assert_int_equal(
        kit_wait_count(&k, "select count(*) from events where event_id = 'good-last'", 1, 120), 1);
    assert_int_equal(
        kit_wait_count(&k, "select count(*) from dead_letters", (long long)(nbad + nanon), 120),
        (long long)(nbad + nanon));
    /* Each good event applied exactly once; the duplicate of good-1 counted, not applied. */
    assert_int_equal(kit_count(&k, "select count(*) from events where event_id like 'good-%'"), 9);
    assert_int_equal(kit_count(&k, "select count(distinct event_id) from events where event_id "
                                   "like 'good-%'"),
                     9);
    assert_int_equal(kit_count(&k, "select coalesce(sum(seen), 0) from duplicates where event_id "
                                   "= 'good-1'"),
                     1);
    assert_int_equal(kit_count(&k, "select count(*) from events where event_id like 'pill-%'"), 0);
    assert_int_equal(kit_count(&k, "select count(*) from cases"), 7);
    /* The correction written with full-width brackets and digits went to case 2. */
    v = kit_value(&k, "select case_no from events where event_id = 'good-4'", 0, NULL);
    assert_non_null(v);
    assert_string_equal(v, C(2));
    free(v);

    for (i = 0; i < nbad; i++)
        expect_reason(&k, bad[i].id, bad[i].reason);
    /* The database's DETAIL ("Failing row contains ...") would copy the parties into the reason. */
    assert_int_equal(kit_count(&k, "select count(*) from dead_letters where reason like "
                                   "'%410381198512310011%' or reason like '%李四%'"),
                     0);

    /* The dead-letter topic has every one, each with its reason and its original bytes. */
    msgs = kit_consume(&k, dlq, nbad + nanon, 60);
    assert_int_equal(json_array_size(msgs), nbad + nanon);
    json_array_foreach (msgs, i, m) {
        json_t *d = json_object_get(m, "value");
        const char *reason = json_string_value(json_object_get(d, "reason"));
        if (!reason || !*reason)
            fail_msg("dead letter %zu has no reason", i);
        if (!json_object_get(d, "original") && !json_object_get(d, "original_base64"))
            fail_msg("dead letter %zu (%s) has no original bytes", i, reason);
    }
    json_decref(msgs);

    /* The engine found the three refusals one event at a time and says so. */
    assert_int_equal(kit_count(&k, "select coalesce(sum(isolated), 0) from engine_status"), 3);
    /* And the good event written 1.0E7 is stored as written and its chain verifies. */
    v = kit_value(&k, "select body::text from events where event_id = 'good-3'", 0, NULL);
    assert_non_null(v);
    assert_non_null(strstr(v, "1.0E7"));
    free(v);
    {
        char *out = NULL, *err = NULL;
        assert_int_equal(kit_cli(&k, &out, &err, (const char *[]){"replay", C(3), NULL}), 0);
        free(out);
        free(err);
    }
    free(task);
    free(wtask);
    kit_engine_stop(&k, engine, SIGTERM);
    kit_done(&k);
}

/* A stored state that cannot be read (here: a number too large for the engine's JSON reader,
 * written behind the engine's back) is named as such, never taken for "no case". */
static void test_unreadable_state_is_named(void **state)
{
    (void)state;
    kit k;
    pid_t engine;

    kit_init(&k, "unreadable");
    engine = kit_engine_start(&k, NULL);
    kit_send_json(&k, kit_filed(C(1), "u-1", T0));
    kit_flush(&k);
    assert_int_equal(kit_wait_count(&k, "select count(*) from cases", 1, 60), 1);
    kit_engine_stop(&k, engine, SIGTERM);
    sql(&k, "update cases set body = jsonb_set(body, '{data,amount}', "
            "'100000000000000000000'::jsonb)");
    engine = kit_engine_start(&k, NULL);
    kit_send_json(&k, kit_withdrawn(C(1), "u-2", "2026-03-03T09:00:00+08:00"));
    kit_send_json(&k, kit_filed(C(2), "u-3", T0));
    kit_flush(&k);
    assert_int_equal(kit_wait_count(&k, "select count(*) from cases", 2, 60), 2);
    assert_int_equal(kit_wait_count(&k, "select count(*) from dead_letters", 1, 60), 1);
    expect_reason(&k, "u-2", "the stored state of case (2026)豫0381执1号 cannot be read");
    kit_engine_stop(&k, engine, SIGTERM);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pills_are_dead_lettered_and_the_rest_applied),
        cmocka_unit_test(test_unreadable_state_is_named)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
