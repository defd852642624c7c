/* Unit tests of core/message: each message's constructor and reader agree, its ids follow one
 * rule, and the public transition record carries names, never values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/message.h"

static void test_ids(void **state)
{
    (void)state;
    char out[128];
    assert_string_equal(cf_msg_task_event_id("t-1", CF_TASK_DONE, out, sizeof out), "t-1:done");
    assert_string_equal(cf_msg_task_event_id("t-1", CF_TASK_FAILED, out, sizeof out), "t-1:failed");
    assert_string_equal(cf_msg_task_event_id("t-1", CF_TASK_RETURNED, out, sizeof out),
                        "t-1:returned");
    assert_string_equal(cf_msg_transition_id("(2026)豫0381执1号", 7, out, sizeof out),
                        "tr:(2026)豫0381执1号:7");
    assert_string_equal(cf_msg_dlq_id("caseflow.events", 3, 42, out, sizeof out),
                        "dlq:caseflow.events:3:42");
    assert_string_equal(
        cf_msg_timer_event_id("(2026)豫0381执1号", "remind", 1772413200000LL, out, sizeof out),
        "timer:(2026)豫0381执1号:remind:1772413200000");
    assert_string_equal(
        cf_msg_batch_id("six_checks", "2026-03-02T09:00:00+08:00", "房管局", 1, out, sizeof out),
        "batch:six_checks:2026-03-02T09:00:00+08:00:房管局:1");
}

/* timer.fired: its id says which firing it is; its times are at the court's fixed offset, also
 * before 1901 (where the zone database would have written local mean time), with milliseconds
 * kept when there are any. */
static void test_timer_fired(void **state)
{
    (void)state;
    json_t *ev = cf_msg_timer_fired_new("(2026)豫0381执1号", "remind", 1772413200000LL, 480);
    cf_envelope e;
    char err[128];

    assert_int_equal(cf_msg_event_read(ev, &e, err, sizeof err), 0);
    assert_string_equal(e.id, "timer:(2026)豫0381执1号:remind:1772413200000");
    assert_string_equal(e.type, "timer.fired");
    assert_string_equal(e.case_no, "(2026)豫0381执1号");
    assert_string_equal(e.time, "2026-03-02T09:00:00+08:00");
    assert_string_equal(e.source, "engine");
    assert_string_equal(json_string_value(json_object_get(e.data, "timer")), "remind");
    assert_string_equal(json_string_value(json_object_get(e.data, "due")), e.time);
    json_decref(ev);

    ev = cf_msg_timer_fired_new("c", "old", -2208988800000LL + 1, 480);
    assert_int_equal(cf_msg_event_read(ev, &e, err, sizeof err), 0);
    assert_string_equal(e.time, "1900-01-01T08:00:00.001+08:00");
    assert_string_equal(e.id, "timer:c:old:-2208988799999");
    json_decref(ev);
}

/* A batch: its head names the kind once, and each task reads as a task of that kind. */
static void test_batch(void **state)
{
    (void)state;
    const cf_batch_msg head = {
        .kind = "six_checks", .group = "房管局", .at = "2026-03-02T09:00:00+08:00", .part = 2};
    json_t *params = json_pack("{s:s}", "registry", "房管局");
    json_t *data = json_pack("{s:s}", "debtor", "张三");
    const cf_task_msg a = {.task_id = "t-1",
                           .case_no = "c-1",
                           .activity = "check",
                           .due = "2026-03-09T17:00:00+08:00",
                           .params = params,
                           .data = data};
    const cf_task_msg b = {.task_id = "t-2", .case_no = "c-2", .activity = "check"};
    json_t *m = cf_msg_batch_new(&head);
    cf_task_msg t;

    assert_non_null(m);
    assert_int_equal(cf_msg_batch_add(m, &a), 0);
    assert_int_equal(cf_msg_batch_add(m, &b), 0);
    assert_string_equal(json_string_value(json_object_get(m, "batch_id")),
                        "batch:six_checks:2026-03-02T09:00:00+08:00:房管局:1");
    assert_int_equal(json_integer_value(json_object_get(m, "part")), 2);
    assert_string_equal(json_string_value(json_object_get(m, "group")), "房管局");
    assert_int_equal(json_array_size(json_object_get(m, "tasks")), 2);
    /* Another court's trip to an office of the same name at the same time is another batch
     * (#16); its group is the office still. */
    {
        cf_batch_msg other = head;
        json_t *o;
        other.court = "新0102";
        o = cf_msg_batch_new(&other);
        assert_string_equal(json_string_value(json_object_get(o, "batch_id")),
                            "batch:six_checks:2026-03-02T09:00:00+08:00:新0102/房管局:1");
        assert_string_equal(json_string_value(json_object_get(o, "group")), "房管局");
        json_decref(o);
    }

    assert_int_equal(cf_msg_task_read(json_array_get(json_object_get(m, "tasks"), 0),
                                      json_string_value(json_object_get(m, "kind")), &t),
                     0);
    assert_string_equal(t.task_id, "t-1");
    assert_string_equal(t.kind, "six_checks");
    assert_string_equal(t.due, a.due);
    assert_string_equal(json_string_value(json_object_get(t.data, "debtor")), "张三");
    assert_string_equal(json_string_value(json_object_get(t.params, "registry")), "房管局");
    assert_null(t.title);

    /* What a task has not is null in the message, as the schema allows. */
    {
        json_t *o = json_array_get(json_object_get(m, "tasks"), 1);
        assert_true(json_is_null(json_object_get(o, "due")));
        assert_true(json_is_null(json_object_get(o, "data")));
        assert_null(json_object_get(o, "kind"));
    }
    json_decref(params);
    json_decref(data);
    json_decref(m);
}

static void test_event_round_trip(void **state)
{
    (void)state;
    const cf_envelope in = {.id = "e-1",
                            .type = "task.completed",
                            .case_no = "(2026)豫0381执1号",
                            .time = "2026-03-02T09:00:00+08:00",
                            .source = "worker:documents"};
    json_t *ev = cf_msg_event_new(&in, json_pack("{s:s}", "task_id", "t-1"));
    cf_envelope out;
    char err[128];

    assert_non_null(ev);
    assert_int_equal(cf_msg_event_read(ev, &out, err, sizeof err), 0);
    assert_string_equal(out.id, "e-1");
    assert_string_equal(out.type, "task.completed");
    assert_string_equal(out.case_no, "(2026)豫0381执1号");
    assert_string_equal(json_string_value(json_object_get(out.data, "task_id")), "t-1");
    json_decref(ev);

    /* A control event has no case; a missing member is named. */
    {
        const cf_envelope clock = {
            .id = "c", .type = "clock.advance", .time = in.time, .source = "demo"};
        ev = cf_msg_event_new(&clock, NULL);
        assert_null(json_object_get(ev, "case"));
        assert_int_equal(cf_msg_event_read(ev, &out, err, sizeof err), 0);
        assert_null(out.case_no);
        json_object_del(ev, "source");
        assert_int_equal(cf_msg_event_read(ev, &out, err, sizeof err), CF_EINVAL);
        assert_non_null(strstr(err, "/source"));
        json_decref(ev);
    }
}

static void test_task_round_trip(void **state)
{
    (void)state;
    json_t *params = json_pack("{s:s}", "office", "不动产登记中心");
    const cf_task_msg in = {.task_id = "t-9",
                            .case_no = "(2026)豫0381执2号",
                            .kind = "six_checks",
                            .activity = "check_real_estate",
                            .workflow = "enforcement_case",
                            .version = 3,
                            .params = params};
    json_t *m = cf_msg_task_new(&in);
    cf_task_msg out;

    assert_non_null(m);
    assert_true(json_is_null(json_object_get(m, "due")));
    assert_int_equal(cf_msg_task_read(m, NULL, &out), 0);
    assert_string_equal(out.task_id, "t-9");
    assert_string_equal(out.kind, "six_checks");
    assert_string_equal(out.activity, "check_real_estate");
    assert_int_equal(out.version, 3);
    assert_null(out.due);
    assert_null(out.data);
    assert_true(json_equal((json_t *)out.params, params));
    /* An item of a batch names no kind: the batch's is taken. */
    json_object_del(m, "kind");
    assert_int_equal(cf_msg_task_read(m, "six_checks", &out), 0);
    assert_string_equal(out.kind, "six_checks");
    json_object_del(m, "activity");
    assert_int_equal(cf_msg_task_read(m, "six_checks", &out), CF_EINVAL);
    json_decref(m);
    json_decref(params);
}

static void test_transition_keeps_names_only(void **state)
{
    (void)state;
    json_t *path = json_pack("[s, s]", "filed", "assigned");
    json_t *actions =
        json_pack("[{s:s, s:{s:s}}, {s:s, s:s, s:s}]", "kind", "set", "values", "party_name",
                  "张三", "kind", "timer", "name", "reminder", "at", "2026-03-17T09:00:00+08:00");
    const cf_transition_rec in = {.case_no = "(2026)豫0381执3号",
                                  .seq = 2,
                                  .event = "case.decided",
                                  .event_id = "e-2",
                                  .from = "filed",
                                  .to = "assigned",
                                  .time = "2026-03-02T09:00:00+08:00",
                                  .applied_at = "2026-03-02T09:00:01+08:00",
                                  .hash = "ab",
                                  .path = path,
                                  .actions = actions};
    json_t *r = cf_msg_transition_new(&in);
    cf_transition_rec out;
    char err[128], *text;

    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "id")), "tr:(2026)豫0381执3号:2");
    text = json_dumps(r, JSON_COMPACT);
    assert_null(strstr(text, "张三"));
    free(text);
    assert_int_equal(cf_msg_transition_read(r, &out, err, sizeof err), 0);
    assert_int_equal(out.seq, 2);
    assert_string_equal(out.to, "assigned");
    assert_int_equal(json_array_size(out.actions), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(out.actions, 1), "name")),
                        "reminder");
    json_decref(r);
    json_decref(path);
    json_decref(actions);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_event_round_trip),
        cmocka_unit_test(test_task_round_trip),
        cmocka_unit_test(test_timer_fired),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_transition_keeps_names_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
