/* Unit tests of core/machine: the pure transition function.  Same inputs give byte-identical
 * outputs and leave the inputs alone; task ids are stable; each error has its code; automatic
 * transitions are bounded; a final state leaves nothing pending; a stale timer firing is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/machine.h"
#include "fixture.h"

/* A small workflow: `open` has a staff task, a worker task and a timer that restarts itself;
 * completing the check assigns a team; a close decision ends the case. */
static const char SMALL[] = "workflow: unit\n"
                            "version: 3\n"
                            "calendar: ../../workflows/calendars/cn.yaml\n"
                            "schemas: ../../schemas/events\n"
                            "initial: open\n"
                            "posts: {intake: 集约启动岗, team_1: 执行一团队, team_2: 执行二团队}\n"
                            "assignment: {teams: [team_1, team_2]}\n"
                            "workers:\n"
                            "  lookup: {title: 查询, post: intake}\n"
                            "staff_tasks:\n"
                            "  check: {title: 核查, post: intake}\n"
                            "returns: {default: requeue}\n"
                            "events: [case.filed, case.decided]\n"
                            "states:\n"
                            "  open:\n"
                            "    on_enter:\n"
                            "      - task: check\n"
                            "        due: 1 working day after now\n"
                            "      - task: lookup\n"
                            "        due: now at 17:30\n"
                            "        params: {office: \"车管所\", n: case.n}\n"
                            "      - timer: remind\n"
                            "        at: 2 days after case.filed_at\n"
                            "    on:\n"
                            "      - event: task.completed\n"
                            "        task: check\n"
                            "        to: working\n"
                            "        do:\n"
                            "          - assign: team\n"
                            "  working:\n"
                            "    on:\n"
                            "      - event: case.decided\n"
                            "        if: event.decision == \"close\"\n"
                            "        to: done\n"
                            "  done:\n"
                            "    final: true\n"
                            "any_state:\n"
                            "  - event: timer.fired\n"
                            "    timer: remind\n"
                            "    do:\n"
                            "      - timer: remind\n"
                            "        at: 2 days after now\n";

static cf_time at(const char *s)
{
    cf_time t = 0;
    if (cf_time_parse(s, &t) != 0)
        fail_msg("test data: bad instant %s", s);
    return t;
}

/* An event envelope; `data` is taken (a new reference is stolen). */
static json_t *event(const char *type, const char *case_no, const char *time, json_t *data)
{
    json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "id", "e-1", "type", type, "case",
                          case_no, "time", time, "source", "test", "data", data);
    assert_non_null(e);
    return e;
}

static json_t *filed(const char *case_no, const char *time)
{
    return event("case.filed", case_no, time, json_pack("{s:s, s:i}", "filed_at", time, "n", 7));
}

/* A canonical text of a value: the same value always gives the same bytes. */
static char *dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    assert_non_null(s);
    return s;
}

/* The typed actions of a step render, one by one and as an array, as the step's JSON actions
 * do, byte for byte (the event log keeps that text, and replay compares it). */
static void check_typed_actions(const cf_step *s)
{
    char *want = json_dumps(s->actions, JSON_COMPACT), *got;
    json_t *all = cf_step_actions_json(s->acts, s->nacts);

    assert_non_null(want);
    assert_int_equal(s->nacts, json_array_size(s->actions));
    got = json_dumps(all, JSON_COMPACT);
    assert_string_equal(got, want);
    free(got);
    free(want);
    json_decref(all);
    for (size_t i = 0; i < s->nacts; i++) {
        json_t *one = cf_step_action_json(&s->acts[i]);
        assert_true(json_equal(one, json_array_get(s->actions, i)));
        json_decref(one);
    }
}

/* Applies `ev` to `state` at the event's own time; returns the code and fills `out`. */
static int apply(const cf_workflow *wf, const json_t *state, const json_t *ev, cf_step *out,
                 char *err, size_t errsz)
{
    int rc = cf_machine_apply(wf, state, ev, at(json_string_value(json_object_get(ev, "time"))),
                              out, err, errsz);
    if (rc == 0)
        check_typed_actions(out);
    else
        assert_int_equal(out->nacts, 0);
    return rc;
}

/* Applies an event that must succeed; returns the new state (a new reference). */
static json_t *step_ok(const cf_workflow *wf, const json_t *state, json_t *ev)
{
    cf_step s;
    char err[512] = "";
    int rc = apply(wf, state, ev, &s, err, sizeof err);
    if (rc != 0)
        fail_msg("apply failed (%d): %s", rc, err);
    json_t *next = json_incref(s.state);
    cf_step_clear(&s);
    json_decref(ev);
    return next;
}

static const char *task_id_of(const json_t *state, const char *activity)
{
    return json_string_value(json_object_get(
        json_object_get(json_object_get(state, "activities"), activity), "task_id"));
}

static json_t *completed(const char *case_no, const char *time, const json_t *state,
                         const char *activity)
{
    return event("task.completed", case_no, time,
                 json_pack("{s:s, s:s, s:s, s:{}}", "task_id", task_id_of(state, activity),
                           "activity", activity, "kind", activity, "result"));
}

/* A case of enforcement_case filed at `time` and through its filing review (version 3: the review
 * comes before the intake check), all in order. */
static json_t *reviewed(const cf_workflow *wf, const char *case_no, const char *time)
{
    json_t *s = step_ok(wf, NULL, filed(case_no, time));
    json_t *next =
        step_ok(wf, s,
                event("task.completed", case_no, time,
                      json_pack("{s:s, s:s, s:s, s:{s:b, s:b}}", "task_id",
                                task_id_of(s, "filing_review"), "activity", "filing_review", "kind",
                                "filing_review", "result", "enforceable", 1, "parties_ok", 1)));
    json_decref(s);
    return next;
}

static json_t *fired(const char *case_no, const char *time, const char *timer, const char *due)
{
    return event("timer.fired", case_no, time, json_pack("{s:s, s:s}", "timer", timer, "due", due));
}

/* The same inputs give byte-identical outputs, and the inputs are not changed. */
static void test_pure_and_deterministic(void **state)
{
    (void)state;
    cf_workflow *wf = fx_workflow_parse_ok(SMALL);
    json_t *ev = filed("(2026)豫0381执3号", "2026-03-02T09:00:00+08:00");
    char *ev_before = dump(ev), err[256];
    cf_step a, b;

    assert_int_equal(apply(wf, NULL, ev, &a, err, sizeof err), 0);
    assert_int_equal(apply(wf, NULL, ev, &b, err, sizeof err), 0);
    char *sa = dump(a.state), *sb = dump(b.state), *aa = dump(a.actions), *ab = dump(b.actions);
    assert_string_equal(sa, sb);
    assert_string_equal(aa, ab);
    assert_string_equal(a.from, "");
    assert_string_equal(a.to, "open");
    /* The case records the definition it was filed under: it stays on that version. */
    assert_string_equal(json_string_value(json_object_get(a.state, "workflow")), "unit");
    assert_int_equal(json_integer_value(json_object_get(a.state, "version")), 3);
    char *ev_after = dump(ev);
    assert_string_equal(ev_before, ev_after);

    /* The state a step returns is its own: changing it does not reach the event. */
    json_object_set_new(json_object_get(a.state, "data"), "n", json_integer(99));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "data"), "n")), 7);

    /* Applying to a stored state leaves that state as it was. */
    char *stored = dump(b.state);
    json_t *done = completed("(2026)豫0381执3号", "2026-03-02T10:00:00+08:00", b.state, "check");
    cf_step c, c2;
    assert_int_equal(apply(wf, b.state, done, &c, err, sizeof err), 0);
    assert_int_equal(apply(wf, b.state, done, &c2, err, sizeof err), 0);
    char *after = dump(b.state), *sc = dump(c.state), *sc2 = dump(c2.state);
    assert_string_equal(stored, after);
    assert_string_equal(sc, sc2);
    assert_string_not_equal(sc, stored);
    assert_string_equal(c.from, "open");
    assert_string_equal(c.to, "working");
    assert_int_equal(json_integer_value(json_object_get(c.state, "seq")), 2);
    /* "now" is the caller's: nothing reads a clock. */
    assert_string_equal(json_string_value(json_object_get(c.state, "updated_at")),
                        "2026-03-02T10:00:00+08:00");

    free(ev_before);
    free(ev_after);
    free(sa);
    free(sb);
    free(aa);
    free(ab);
    free(stored);
    free(after);
    free(sc);
    free(sc2);
    json_decref(done);
    json_decref(ev);
    cf_step_clear(&a);
    cf_step_clear(&b);
    cf_step_clear(&c);
    cf_step_clear(&c2);
    cf_step_clear(&c); /* clearing twice is allowed */
    cf_workflow_free(wf);
}

/* Task ids depend on the case, the event's place in its life and the action: the same on every
 * replay, different between tasks and between cases. */
static void test_task_ids_stable(void **state)
{
    (void)state;
    cf_workflow *wf = fx_workflow_parse_ok(SMALL);
    json_t *s1 = step_ok(wf, NULL, filed("(2026)豫0381执3号", "2026-03-02T09:00:00+08:00"));
    json_t *s2 = step_ok(wf, NULL, filed("(2026)豫0381执3号", "2026-03-05T11:00:00+08:00"));
    json_t *s3 = step_ok(wf, NULL, filed("(2026)豫0381执4号", "2026-03-02T09:00:00+08:00"));
    const char *check = task_id_of(s1, "check"), *lookup = task_id_of(s1, "lookup");

    assert_non_null(check);
    assert_int_equal(strlen(check), 22);
    assert_true(strncmp(check, "t-", 2) == 0);
    assert_string_equal(check, task_id_of(s2, "check"));
    assert_string_not_equal(check, lookup);
    assert_string_not_equal(check, task_id_of(s3, "check"));
    json_decref(s1);
    json_decref(s2);
    json_decref(s3);
    cf_workflow_free(wf);
}

static void test_errors(void **state)
{
    (void)state;
    cf_workflow *wf = fx_workflow_parse_ok(SMALL);
    const char *no = "(2026)豫0381执3号";
    json_t *s = step_ok(wf, NULL, filed(no, "2026-03-02T09:00:00+08:00"));
    json_t *ev;
    cf_step out;
    char err[512];

    /* An event for a case that does not exist and that does not create one. */
    ev = completed(no, "2026-03-02T10:00:00+08:00", s, "check");
    assert_int_equal(apply(wf, NULL, ev, &out, err, sizeof err), CF_ENOTFOUND);
    assert_non_null(strstr(err, "unknown case"));
    assert_null(out.state);
    assert_null(out.actions);
    json_decref(ev);

    /* The creating event again. */
    ev = filed(no, "2026-03-02T09:30:00+08:00");
    assert_int_equal(apply(wf, s, ev, &out, err, sizeof err), CF_EDUP);
    assert_null(out.state);
    json_decref(ev);

    /* An event the state does not expect. */
    ev = event("case.decided", no, "2026-03-02T10:00:00+08:00",
               json_pack("{s:s}", "decision", "close"));
    assert_int_equal(apply(wf, s, ev, &out, err, sizeof err), CF_ESTATE);
    assert_non_null(strstr(err, "not expected in state 'open'"));
    json_decref(ev);

    /* A task the case does not have. */
    ev = event("task.completed", no, "2026-03-02T10:00:00+08:00",
               json_pack("{s:s, s:s, s:s, s:{}}", "task_id", "t-nothing", "activity", "check",
                         "kind", "check", "result"));
    assert_int_equal(apply(wf, s, ev, &out, err, sizeof err), CF_ENOTFOUND);
    json_decref(ev);

    /* Completing a task twice. */
    ev = completed(no, "2026-03-02T10:00:00+08:00", s, "check");
    json_t *s2 = step_ok(wf, s, json_incref(ev));
    assert_int_equal(apply(wf, s2, ev, &out, err, sizeof err), CF_EDUP);
    assert_non_null(strstr(err, "done already"));
    json_decref(ev);

    /* An event without a time. */
    ev = json_pack("{s:s, s:s, s:{}}", "type", "case.filed", "case", no, "data");
    assert_int_equal(cf_machine_apply(wf, NULL, ev, 0, &out, err, sizeof err), CF_EINVAL);
    json_decref(ev);

    /* After the final state nothing is accepted. */
    ev = event("case.decided", no, "2026-03-03T10:00:00+08:00",
               json_pack("{s:s}", "decision", "close"));
    json_t *s3 = step_ok(wf, s2, json_incref(ev));
    assert_string_equal(json_string_value(json_object_get(s3, "state")), "done");
    assert_int_equal(apply(wf, s3, ev, &out, err, sizeof err), CF_ESTATE);
    assert_non_null(strstr(err, "its life has ended"));
    json_decref(ev);

    json_decref(s);
    json_decref(s2);
    json_decref(s3);
    cf_workflow_free(wf);
}

/* Automatic transitions that keep firing stop with an error instead of spinning.  A cycle of
 * them is refused when the workflow is loaded (test_workflow); a chain longer than the bound is
 * what remains for the machine to stop. */
static void test_automatic_loop_bound(void **state)
{
    (void)state;
    char yaml[8192];
    size_t len = (size_t)snprintf(yaml, sizeof yaml,
                                  "workflow: chain\n"
                                  "version: 1\n"
                                  "calendar: ../../workflows/calendars/cn.yaml\n"
                                  "schemas: ../../schemas/events\n"
                                  "initial: s0\n"
                                  "posts: {intake: 集约启动岗}\n"
                                  "events: [case.filed, case.decided]\n"
                                  "states:\n");
    for (int i = 0; i < 40; i++)
        len += (size_t)snprintf(yaml + len, sizeof yaml - len,
                                "  s%d:\n    on:\n      - when: \"true\"\n        to: s%d\n", i,
                                i + 1);
    snprintf(yaml + len, sizeof yaml - len,
             "  s40:\n    on:\n      - event: case.decided\n        to: end\n"
             "  end:\n    final: true\n");
    cf_workflow *wf = fx_workflow_parse_ok(yaml);
    json_t *ev = filed("(2026)豫0381执3号", "2026-03-02T09:00:00+08:00");
    cf_step out;
    char err[512];

    assert_int_equal(apply(wf, NULL, ev, &out, err, sizeof err), CF_EINVAL);
    assert_non_null(strstr(err, "keep firing"));
    assert_null(out.state);
    json_decref(ev);
    cf_workflow_free(wf);
}

static int has_action(const json_t *actions, const char *kind, const char *key, const char *value)
{
    size_t i;
    json_t *a;
    json_array_foreach (actions, i, a) {
        const char *k = json_string_value(json_object_get(a, "kind"));
        const char *v = json_string_value(json_object_get(a, key));
        if (k && v && strcmp(k, kind) == 0 && strcmp(v, value) == 0)
            return 1;
    }
    return 0;
}

/* Reaching a final state cancels every open task and pending timer. */
static void test_final_state_cancels_everything(void **state)
{
    (void)state;
    cf_workflow *wf = fx_workflow_parse_ok(SMALL);
    const char *no = "(2026)豫0381执3号";
    json_t *s = step_ok(wf, NULL, filed(no, "2026-03-02T09:00:00+08:00"));
    json_t *s2 = step_ok(wf, s, completed(no, "2026-03-02T10:00:00+08:00", s, "check"));
    json_t *ev = event("case.decided", no, "2026-03-03T10:00:00+08:00",
                       json_pack("{s:s}", "decision", "close"));
    cf_step out;
    char err[512];

    assert_int_equal(apply(wf, s2, ev, &out, err, sizeof err), 0);
    assert_string_equal(out.to, "done");
    assert_true(has_action(out.actions, "task.cancel", "activity", "lookup"));
    assert_false(has_action(out.actions, "task.cancel", "activity", "check"));
    assert_true(has_action(out.actions, "timer.cancel", "name", "remind"));
    assert_int_equal(json_object_size(json_object_get(out.state, "timers")), 0);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(out.state, "activities"), "lookup"), "status")),
        "cancelled");
    cf_step_clear(&out);
    json_decref(ev);
    json_decref(s);
    json_decref(s2);
    cf_workflow_free(wf);
}

/* A timer.fired whose due time is not the case's current timer of that name is stale: the timer
 * was restarted after this firing was made.  It is refused, and the new timer stays set. */
static void test_stale_timer(void **state)
{
    (void)state;
    cf_workflow *wf = fx_workflow_parse_ok(SMALL);
    const char *no = "(2026)豫0381执3号";
    json_t *s = step_ok(wf, NULL, filed(no, "2026-03-02T09:00:00+08:00"));
    json_t *ev;
    cf_step out;
    char err[512];

    /* 2 days after Monday 03-02 is Wednesday 03-04, at 09:00. */
    assert_string_equal(json_string_value(json_object_get(json_object_get(s, "timers"), "remind")),
                        "2026-03-04T09:00:00+08:00");

    /* A firing for another time. */
    ev = fired(no, "2026-03-04T09:00:00+08:00", "remind", "2026-03-03T09:00:00+08:00");
    assert_int_equal(apply(wf, s, ev, &out, err, sizeof err), CF_ESTATE);
    assert_non_null(strstr(err, "stale"));
    json_decref(ev);

    /* The right firing, written in UTC: the same instant, accepted; the timer restarts. */
    ev = fired(no, "2026-03-04T01:00:00Z", "remind", "2026-03-04T01:00:00Z");
    json_t *s2 = step_ok(wf, s, json_incref(ev));
    assert_string_equal(json_string_value(json_object_get(json_object_get(s2, "timers"), "remind")),
                        "2026-03-06T09:00:00+08:00");

    /* The old firing again (a redelivery): stale now, and the new timer is untouched. */
    assert_int_equal(apply(wf, s2, ev, &out, err, sizeof err), CF_ESTATE);
    assert_non_null(strstr(err, "stale"));
    assert_null(out.state);
    json_decref(ev);

    /* A timer the case does not have. */
    ev = fired(no, "2026-03-04T09:00:00+08:00", "nothing", "2026-03-04T09:00:00+08:00");
    assert_int_equal(apply(wf, s, ev, &out, err, sizeof err), CF_ESTATE);
    assert_non_null(strstr(err, "not set"));
    json_decref(ev);

    /* A firing without its due time. */
    ev = event("timer.fired", no, "2026-03-04T09:00:00+08:00",
               json_pack("{s:s}", "timer", "remind"));
    assert_int_equal(apply(wf, s, ev, &out, err, sizeof err), CF_ESTATE);
    assert_non_null(strstr(err, "stale"));
    json_decref(ev);

    json_decref(s);
    json_decref(s2);
    cf_workflow_free(wf);
}

/* Teams are dealt by the case number's sequence; the actions name task, post and due. */
static void test_assignment_and_actions(void **state)
{
    (void)state;
    cf_workflow *wf = fx_workflow_parse_ok(SMALL);
    static const struct {
        const char *no, *team;
    } cases[] = {{"(2026)豫0381执1号", "team_1"},
                 {"(2026)豫0381执2号", "team_2"},
                 {"(2026)豫0381执3号", "team_1"},
                 {"(2013)洛执字第1984号", "team_2"}};

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *s = step_ok(wf, NULL, filed(cases[i].no, "2026-03-02T09:00:00+08:00"));
        json_t *s2 =
            step_ok(wf, s, completed(cases[i].no, "2026-03-02T10:00:00+08:00", s, "check"));
        assert_string_equal(json_string_value(json_object_get(json_object_get(s2, "data"), "team")),
                            cases[i].team);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(s2, "data"), "handler_post")),
            cases[i].team);
        json_decref(s);
        json_decref(s2);
    }

    {
        json_t *ev = filed("(2026)豫0381执5号", "2026-03-06T16:00:00+08:00");
        cf_step out;
        char err[256];
        assert_int_equal(apply(wf, NULL, ev, &out, err, sizeof err), 0);
        json_t *check = json_array_get(out.actions, 0), *lookup = json_array_get(out.actions, 1);
        assert_string_equal(json_string_value(json_object_get(check, "kind")), "task");
        assert_string_equal(json_string_value(json_object_get(check, "task")), "check");
        assert_string_equal(json_string_value(json_object_get(check, "post")), "intake");
        /* 1 working day after Friday is Monday. */
        assert_string_equal(json_string_value(json_object_get(check, "due")),
                            "2026-03-09T09:00:00+08:00");
        assert_false(json_is_true(json_object_get(check, "worker")));
        assert_true(json_is_true(json_object_get(lookup, "worker")));
        assert_string_equal(json_string_value(json_object_get(lookup, "due")),
                            "2026-03-06T17:30:00+08:00");
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(lookup, "params"), "office")),
            "车管所");
        assert_int_equal(
            json_integer_value(json_object_get(json_object_get(lookup, "params"), "n")), 7);
        assert_int_equal(json_array_size(out.warnings), 0);
        /* The typed actions say the same, and render as the event log has always kept them. */
        assert_int_equal(out.acts[0].kind, CF_SA_TASK);
        assert_string_equal(out.acts[0].u.task.task, "check");
        assert_string_equal(out.acts[0].u.task.activity, "check");
        assert_string_equal(json_string_value(out.acts[0].u.task.post), "intake");
        assert_false(out.acts[0].u.task.worker);
        assert_int_equal(out.acts[1].kind, CF_SA_TASK);
        assert_true(out.acts[1].u.task.worker);
        {
            json_t *one = cf_step_action_json(&out.acts[0]);
            char *text = json_dumps(one, JSON_COMPACT), want[512];
            snprintf(want, sizeof want,
                     "{\"kind\":\"task\",\"task\":\"check\",\"activity\":\"check\","
                     "\"id\":\"%s\",\"post\":\"intake\",\"due\":\"2026-03-09T09:00:00+08:00\","
                     "\"params\":{},\"worker\":false,\"title\":\"核查\"}",
                     out.acts[0].u.task.id);
            assert_string_equal(text, want);
            free(text);
            json_decref(one);
        }
        cf_step_clear(&out);
        json_decref(ev);
    }
    cf_workflow_free(wf);
}

/* The court's workflow: a date past the calendar's years is computed Monday to Friday and the
 * step says so; one within them says nothing. */
static void test_calendar_fallback_warns(void **state)
{
    (void)state;
    cf_workflow *wf = fx_workflow_load("workflows/enforcement_case.yaml");
    json_t *ev = filed("(2026)豫0381执3号", "2026-03-02T09:00:00+08:00");
    cf_step out;
    char err[256];

    assert_int_equal(apply(wf, NULL, ev, &out, err, sizeof err), 0);
    assert_int_equal(json_array_size(out.warnings), 0);
    assert_string_equal(out.to, "review");
    cf_step_clear(&out);
    json_decref(ev);

    ev = filed("(2026)豫0381执4号", "2026-08-21T09:00:00+08:00");
    assert_int_equal(apply(wf, NULL, ev, &out, err, sizeof err), 0);
    assert_true(json_array_size(out.warnings) >= 1);
    assert_non_null(strstr(json_string_value(json_array_get(out.warnings, 0)), "2027-02-22"));
    cf_step_clear(&out);
    json_decref(ev);
    cf_workflow_free(wf);
}

/* A time expression that comes to a year outside 0001-9999 refuses the event: PostgreSQL would
 * refuse the timer and with it every event of the batch. */
static void test_times_outside_the_years(void **state)
{
    static const char YEARS[] = "workflow: years\n"
                                "version: 1\n"
                                "calendar: ../../workflows/calendars/cn.yaml\n"
                                "schemas: ../../schemas/events\n"
                                "initial: open\n"
                                "posts: {intake: 集约启动岗}\n"
                                "events: [case.filed, case.decided]\n"
                                "states:\n"
                                "  open:\n"
                                "    on_enter:\n"
                                "      - timer: before\n"
                                "        at: 30 days before case.filed_at\n"
                                "      - timer: after\n"
                                "        at: 96000 months after case.filed_at\n"
                                "    on:\n"
                                "      - event: case.decided\n"
                                "        to: done\n"
                                "  done:\n"
                                "    final: true\n";
    static const struct {
        const char *filed_at, *message;
    } cases[] = {
        {"0001-01-20T09:00:00+08:00", "'30 days before case.filed_at' comes to the year 0,"},
        {"2026-03-02T09:00:00+08:00",
         "'96000 months after case.filed_at' comes to the year 10026,"},
        {"0001-02-05T09:00:00+08:00", NULL},
    };
    (void)state;
    cf_workflow *wf = fx_workflow_parse_ok(YEARS);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *ev = event("case.filed", "(2026)豫0381执3号", "2026-03-02T09:00:00+08:00",
                           json_pack("{s:s}", "filed_at", cases[i].filed_at));
        cf_step out;
        char err[512] = "";
        int rc = apply(wf, NULL, ev, &out, err, sizeof err);
        if (cases[i].message) {
            assert_int_equal(rc, CF_ERANGE);
            if (!strstr(err, cases[i].message))
                fail_msg("'%s' lacks '%s'", err, cases[i].message);
            assert_null(out.state);
        } else {
            /* 30 days before 0001-02-05 and 96000 months after it (8001) are both fine. */
            if (rc != 0)
                fail_msg("apply failed (%d): %s", rc, err);
            cf_step_clear(&out);
        }
        json_decref(ev);
    }
    cf_workflow_free(wf);
}

/* Failed worker tasks each get their own incident, on the post of the failed task. */
static void test_incident_per_failed_task(void **state)
{
    (void)state;
    cf_workflow *wf = fx_workflow_load("workflows/enforcement_case.yaml");
    const char *no = "(2026)豫0381执3号";
    json_t *s = step_ok(wf, NULL, filed(no, "2026-03-02T09:00:00+08:00"));
    json_t *fail1 = event("task.failed", no, "2026-03-02T12:00:00+08:00",
                          json_pack("{s:s, s:s, s:s, s:s, s:i}", "task_id",
                                    task_id_of(s, "network_query"), "activity", "network_query",
                                    "kind", "network_query", "error", "timeout", "attempts", 5));
    json_t *s2 = step_ok(wf, s, fail1);
    json_t *acts = json_object_get(s2, "activities");
    json_t *inc = json_object_get(acts, "incident_network_query");

    assert_non_null(inc);
    assert_string_equal(json_string_value(json_object_get(inc, "post")), "property_control");
    assert_string_equal(json_string_value(json_object_get(inc, "kind")), "incident");
    assert_string_equal(json_string_value(json_object_get(inc, "status")), "open");
    json_decref(s);
    json_decref(s2);
    cf_workflow_free(wf);
}

/* `for_each` makes one task per element: the documents' service items each get their own activity,
 * id and batch (route), and the same event gives the same ids again. */
static void test_a_task_for_each_item(void **state)
{
    (void)state;
    cf_workflow *wf = fx_workflow_load("workflows/enforcement_case.yaml");
    const char *no = "(2026)豫0381执3号";
    json_t *s = reviewed(wf, no, "2026-03-02T09:00:00+08:00"), *s2, *s3, *again, *acts;
    json_t *items = json_pack(
        "[{s:s, s:s, s:i, s:[s], s:s}, {s:s, s:s, s:i, s:[s], s:s}, {s:s, s:s, s:i, s:[s], s:s}]",
        "party", "applicant_1", "role", "applicants", "index", 0, "documents", "风险告知书",
        "route", "南线", "party", "respondent_1", "role", "respondents", "index", 0, "documents",
        "执行通知书", "route", "城区线", "party", "respondent_2", "role", "respondents", "index", 1,
        "documents", "执行通知书", "route", "北线");
    json_t *intake = event("task.completed", no, "2026-03-02T10:00:00+08:00",
                           json_pack("{s:s, s:s, s:s, s:{s:b}}", "task_id",
                                     task_id_of(s, "intake_check"), "activity", "intake_check",
                                     "kind", "intake_check", "result", "complete", 1));
    json_t *docs;
    const char *ids[3];
    static const char *const names[] = {"service_applicant_1", "service_respondent_1",
                                        "service_respondent_2"};

    s2 = step_ok(wf, s, intake);
    docs = event("task.completed", no, "2026-03-02T11:00:00+08:00",
                 json_pack("{s:s, s:s, s:s, s:{s:[], s:O}}", "task_id", task_id_of(s2, "notices"),
                           "activity", "notices", "kind", "documents", "result", "documents",
                           "service", items));
    s3 = step_ok(wf, s2, json_incref(docs));
    again = step_ok(wf, s2, docs);
    acts = json_object_get(s3, "activities");
    for (int i = 0; i < 3; i++) {
        json_t *a = json_object_get(acts, names[i]);
        assert_non_null(a);
        assert_string_equal(json_string_value(json_object_get(a, "kind")), "service");
        ids[i] = json_string_value(json_object_get(a, "task_id"));
        assert_string_equal(ids[i], task_id_of(again, names[i]));
        for (int k = 0; k < i; k++)
            assert_string_not_equal(ids[i], ids[k]);
    }
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(s3, "data"), "service_open")), 3);
    json_decref(items);
    json_decref(s);
    json_decref(s2);
    json_decref(s3);
    json_decref(again);
    cf_workflow_free(wf);
}

/* A workflow with a clock: six months from filing, paused and resumed by decisions that only the
 * lead may make, extended by one; a refusal and a requirement. */
static const char CLOCKED[] =
    "workflow: clocked\n"
    "version: 1\n"
    "calendar: ../../workflows/calendars/cn.yaml\n"
    "schemas: ../../schemas/events\n"
    "initial: open\n"
    "posts: {lead: 执行局责任人, team_1: 执行一团队}\n"
    "settings: {lead_days: 5, max_months: 3}\n"
    "clocks:\n"
    "  limit:\n"
    "    field: deadline\n"
    "    deadlines: {warning: 15 days before clock.limit}\n"
    "    dates: {ask_by: settings.lead_days days before clock.limit at 23:59 exact}\n"
    "decisions:\n"
    "  pause: {by: [lead]}\n"
    "  resume: {by: [lead]}\n"
    "  extend: {by: [lead, case.handler_post], except: [done]}\n"
    "  close: {by: [lead]}\n"
    "events: [case.filed, case.decided]\n"
    "states:\n"
    "  open:\n"
    "    on_enter:\n"
    "      - start_clock: limit\n"
    "        from: case.filed_at\n"
    "        months: 6\n"
    "      - set: {handler_post: \"team_1\"}\n"
    "    on:\n"
    "      - event: case.decided\n"
    "        if: event.decision == \"close\"\n"
    "        to: done\n"
    "  done:\n"
    "    on_enter:\n"
    "      - stop_clock: limit\n"
    "    on:\n"
    "      - event: case.decided\n"
    "        to: gone\n"
    "  gone:\n"
    "    final: true\n"
    "any_state:\n"
    "  - event: case.decided\n"
    "    if: event.decision == \"pause\"\n"
    "    do:\n"
    "      - pause_clock: limit\n"
    "        ground: event.ground\n"
    "  - event: case.decided\n"
    "    if: event.decision == \"resume\"\n"
    "    do:\n"
    "      - resume_clock: limit\n"
    "        ground: event.ground\n"
    "  - event: case.decided\n"
    "    if: event.decision == \"extend\" and event_account == \"self\"\n"
    "    refuse: ${event_account} may not extend\n"
    "  - event: case.decided\n"
    "    if: event.decision == \"extend\"\n"
    "    requires:\n"
    "      - that: event.months <= settings.max_months\n"
    "        missing: at most ${settings.max_months} months\n"
    "    else:\n"
    "      - notify: event_post\n"
    "        message: 'no: ${missing}'\n"
    "    do:\n"
    "      - extend_clock: limit\n"
    "        months: event.months\n"
    "  - event: timer.fired\n"
    "    timer: warning\n"
    "    do:\n"
    "      - notify: lead\n"
    "        message: ends ${case.deadline}\n";

static json_t *decided(const char *time, const char *source, json_t *data)
{
    json_t *e = event("case.decided", "(2026)豫0381执3101号", time, data);
    json_object_set_new(e, "source", json_string(source));
    return e;
}

/* Applies an event that must succeed to *st, replacing it. */
static void next(const cf_workflow *wf, json_t **st, json_t *ev)
{
    json_t *n = step_ok(wf, *st, ev);
    json_decref(*st);
    *st = n;
}

static const char *clock_member(const json_t *st, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(st, "clocks"), "limit"), key));
}

/* A pause moves the last day by its calendar days, and the deadlines and dates with it. */
static void test_clock_pauses_and_extensions(void **state)
{
    (void)state;
    cf_workflow *wf = fx_workflow_parse_ok(CLOCKED);
    const char *L = "staff:lead:王局";
    json_t *st = step_ok(wf, NULL, filed("(2026)豫0381执3101号", "2026-01-05T09:00:00+08:00"));
    json_t *ck, *d;
    char err[512];
    cf_step s;

    /* Six months from Monday 01-05 is Sunday 07-05: Monday 07-06. */
    assert_string_equal(clock_member(st, "last_day"), "2026-07-06T23:59:00+08:00");
    assert_string_equal(json_string_value(json_object_get(json_object_get(st, "data"), "deadline")),
                        "2026-07-06T23:59:00+08:00");
    assert_string_equal(json_string_value(json_object_get(json_object_get(st, "data"), "ask_by")),
                        "2026-07-01T23:59:00+08:00");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(st, "timers"), "warning")),
        "2026-06-22T09:00:00+08:00");

    /* Paused on two grounds, 02-10 and 02-12; one ends 02-20, the other 02-26: one pause of 16
     * days, its deadline off while it lasts. */
    next(wf, &st,
         decided("2026-02-10T10:00:00+08:00", L,
                 json_pack("{s:s, s:s}", "decision", "pause", "ground", "中止执行")));
    assert_string_equal(clock_member(st, "status"), "paused");
    assert_null(json_object_get(json_object_get(st, "timers"), "warning"));
    next(wf, &st,
         decided("2026-02-12T10:00:00+08:00", L,
                 json_pack("{s:s, s:s}", "decision", "pause", "ground", "请示")));
    next(wf, &st,
         decided("2026-02-20T10:00:00+08:00", L,
                 json_pack("{s:s, s:s}", "decision", "resume", "ground", "请示")));
    assert_string_equal(clock_member(st, "status"), "paused");
    /* Resuming a ground that holds nothing changes nothing. */
    next(wf, &st,
         decided("2026-02-21T10:00:00+08:00", L,
                 json_pack("{s:s, s:s}", "decision", "resume", "ground", "公告送达")));
    assert_string_equal(clock_member(st, "status"), "paused");

    /* How the clock reads on 02-24, in the pause: 50 days from 01-05 less the 14 paused. */
    d = cf_clock_describe(wf, st, at("2026-02-24T12:00:00+08:00"));
    assert_int_equal(json_array_size(d), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(d, 0), "days_used")), 36);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(d, 0), "paused_days")), 14);
    /* 07-06 is 132 days after 02-24; the 14 days of the pause are added back. */
    assert_int_equal(json_integer_value(json_object_get(json_array_get(d, 0), "days_left")), 146);
    json_decref(d);

    next(wf, &st,
         decided("2026-02-26T10:00:00+08:00", L,
                 json_pack("{s:s, s:s}", "decision", "resume", "ground", "中止执行")));
    ck = json_object_get(json_object_get(st, "clocks"), "limit");
    assert_int_equal(json_integer_value(json_object_get(ck, "paused_days")), 16);
    /* 07-05 + 16 = Tuesday 07-21. */
    assert_string_equal(clock_member(st, "last_day"), "2026-07-21T23:59:00+08:00");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(st, "timers"), "warning")),
        "2026-07-06T09:00:00+08:00");

    /* An extension asked by the case's handler team: 9 months (10-05) plus 16 days: 10-21. */
    next(wf, &st,
         decided("2026-03-02T10:00:00+08:00", "staff:team_1:赵六",
                 json_pack("{s:s, s:i}", "decision", "extend", "months", 3)));
    assert_string_equal(clock_member(st, "last_day"), "2026-10-21T23:59:00+08:00");

    /* Too long: taken in, not carried out, the sender told what is missing. */
    json_t *ev = decided("2026-03-03T10:00:00+08:00", "staff:team_1:赵六",
                         json_pack("{s:s, s:i}", "decision", "extend", "months", 4));
    assert_int_equal(apply(wf, st, ev, &s, err, sizeof err), 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(s.actions, 0), "message")),
                        "no: at most 3 months");
    assert_string_equal(json_string_value(json_object_get(json_array_get(s.actions, 0), "post")),
                        "team_1");
    cf_step_clear(&s);
    json_decref(ev);

    /* Refused by a rule of the workflow, and by the list of who may decide. */
    ev = decided("2026-03-03T10:00:00+08:00", "staff:lead:self",
                 json_pack("{s:s, s:i}", "decision", "extend", "months", 1));
    assert_int_equal(apply(wf, st, ev, &s, err, sizeof err), CF_EPERM);
    assert_string_equal(err, "refused: self may not extend");
    json_decref(ev);
    ev = decided("2026-03-03T10:00:00+08:00", "staff:team_1:赵六",
                 json_pack("{s:s, s:s}", "decision", "pause", "ground", "x"));
    assert_int_equal(apply(wf, st, ev, &s, err, sizeof err), CF_EPERM);
    assert_non_null(strstr(err, "decision 'pause' is made by staff of lead"));
    json_decref(ev);
    ev = decided("2026-03-03T10:00:00+08:00", L, json_pack("{s:s}", "decision", "nothing"));
    assert_int_equal(apply(wf, st, ev, &s, err, sizeof err), CF_EPERM);
    assert_non_null(strstr(err, "not expected in state 'open'"));
    json_decref(ev);

    /* Closing stops the clock and its deadline; an extension is then not expected. */
    next(wf, &st, decided("2026-03-04T10:00:00+08:00", L, json_pack("{s:s}", "decision", "close")));
    assert_string_equal(clock_member(st, "status"), "stopped");
    assert_string_equal(clock_member(st, "stopped_on"), "2026-03-04");
    assert_null(json_object_get(json_object_get(st, "timers"), "warning"));
    ev = decided("2026-03-05T10:00:00+08:00", L,
                 json_pack("{s:s, s:i}", "decision", "extend", "months", 1));
    assert_int_equal(apply(wf, st, ev, &s, err, sizeof err), CF_ESTATE);
    json_decref(ev);
    json_decref(st);
    cf_workflow_free(wf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pure_and_deterministic),
        cmocka_unit_test(test_task_ids_stable),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_automatic_loop_bound),
        cmocka_unit_test(test_final_state_cancels_everything),
        cmocka_unit_test(test_stale_timer),
        cmocka_unit_test(test_assignment_and_actions),
        cmocka_unit_test(test_calendar_fallback_warns),
        cmocka_unit_test(test_times_outside_the_years),
        cmocka_unit_test(test_incident_per_failed_task),
        cmocka_unit_test(test_a_task_for_each_item),
        cmocka_unit_test(test_clock_pauses_and_extensions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
