/* Unit tests of core/replay: a log made by running the machine verifies; a changed body, a
 * broken link, a missing event, changed actions or state, a changed case row are each reported
 * at the row where they happen; --as-of stops where it should; personal data is masked; and
 * against an anchor, a history rewritten with every hash recomputed is caught.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/chain.h"
#include "core/machine.h"
#include "core/replay.h"
#include "fixture.h"

#define CASE_NO "(2026)豫0381执7号"
#define MAXROWS 8

/* A case's log built by running the machine, as the engine would have stored it. */
typedef struct fixture {
    cf_workflow *wf;
    size_t n;
    json_t *body[MAXROWS], *actions[MAXROWS];
    char *text[MAXROWS]; /* body[i] as stored: what the chain hashes (see render) */
    char id[MAXROWS][64], type[MAXROWS][64], source[MAXROWS][64];
    char before[MAXROWS][64], after[MAXROWS][64];
    char prev[MAXROWS][65], hash[MAXROWS][65];
    cf_replay_row rows[MAXROWS];
    json_t *state; /* the case's stored state */
    char head[65];
    cf_replay_case c;
} fixture;

static json_t *filed(void)
{
    json_error_t jerr;
    json_t *ev = json_pack_ex(
        &jerr, 0,
        "{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}, "
        "s:[{s:s, s:s, s:s}], s:[{s:s, s:s, s:s}], s:i, s:s}}",
        "id", "f-1", "type", "case.filed", "case", CASE_NO, "time", "2026-03-02T09:00:00+08:00",
        "source", "filing", "data", "court", "豫0381", "case_type", "执", "filed_at",
        "2026-03-02T09:00:00+08:00", "cause", "民间借贷纠纷", "basis", "document_no",
        "(2025)豫0381民初1号", "court_name", "偃师区人民法院", "effective_date", "2025-12-01",
        "applicants", "kind", "person", "name", "张三", "id_number", "41038119900101123X",
        "respondents", "kind", "person", "name", "李四", "id_number", "410381198512310011",
        "amount", 50000, "claim_kind", "money");
    assert_non_null(ev);
    return ev;
}

static json_t *completed(const json_t *state, const char *activity, const char *id,
                         const char *time, const char *source, json_t *result /* stolen */)
{
    json_t *a = json_object_get(json_object_get(state, "activities"), activity);
    assert_non_null(a);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:O, s:s, s:O, s:o, s:s}}", "id", id, "type",
                     "task.completed", "case", CASE_NO, "time", time, "source", source, "data",
                     "task_id", json_object_get(a, "task_id"), "activity", activity, "kind",
                     json_object_get(a, "kind"), "result", result, "by", "王芳");
}

/* Applies `ev` (stolen) at `applied` and stores the row as the engine would. */
static void add(fixture *f, json_t *ev, const char *applied)
{
    char err[512];
    cf_step step;
    cf_time now;
    size_t i = f->n++;
    cf_replay_row *r = &f->rows[i];

    assert_true(i < MAXROWS);
    assert_int_equal(cf_time_parse(applied, &now), 0);
    if (cf_machine_apply(f->wf, f->state, ev, now, &step, err, sizeof err) != 0)
        fail_msg("applying %s: %s", json_string_value(json_object_get(ev, "type")), err);
    /* As stored and read back: the bytes that came, and those bytes parsed. */
    f->text[i] = json_dumps(ev, JSON_COMPACT);
    f->body[i] = json_loads(f->text[i], 0, NULL);
    json_decref(ev);
    f->actions[i] = json_incref(step.actions);
    snprintf(f->id[i], sizeof f->id[i], "%s", json_string_value(json_object_get(f->body[i], "id")));
    snprintf(f->type[i], sizeof f->type[i], "%s",
             json_string_value(json_object_get(f->body[i], "type")));
    snprintf(f->source[i], sizeof f->source[i], "%s",
             json_string_value(json_object_get(f->body[i], "source")));
    snprintf(f->before[i], sizeof f->before[i], "%s", step.from);
    snprintf(f->after[i], sizeof f->after[i], "%s", step.to);
    snprintf(f->prev[i], sizeof f->prev[i], "%s", i ? f->hash[i - 1] : cf_chain_genesis);
    assert_int_equal(cf_chain_hash(f->prev[i], CASE_NO, (long long)i + 1, f->id[i], f->text[i],
                                   strlen(f->text[i]), f->after[i], f->hash[i]),
                     0);
    r->seq = (long long)i + 1;
    r->event_id = f->id[i];
    r->type = f->type[i];
    r->source = f->source[i];
    assert_int_equal(
        cf_time_parse(json_string_value(json_object_get(f->body[i], "time")), &r->event_time), 0);
    r->applied_at = now;
    r->body = f->body[i];
    r->body_text = f->text[i];
    r->body_len = strlen(f->text[i]);
    r->state_before = f->before[i];
    r->state_after = f->after[i];
    r->actions = f->actions[i];
    r->prev_hash = f->prev[i];
    r->hash = f->hash[i];
    json_decref(f->state);
    f->state = json_incref(step.state);
    snprintf(f->head, sizeof f->head, "%s", f->hash[i]);
    cf_step_clear(&step);
}

/* Filed on 2 March, checked the same day, notices made on 3 March, served on 4 March: a case
 * filed under version 2 of the workflow (kept in enforcement_case.v2.yaml for such cases), which
 * replays through that version (version 3 has the filing review before the check). */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->wf = fx_workflow_load("workflows/enforcement_case.v2.yaml");
    add(f, filed(), "2026-03-02T09:00:05+08:00");
    add(f,
        completed(f->state, "intake_check", "c-1", "2026-03-02T10:00:00+08:00", "staff:intake:王芳",
                  json_pack("{s:b}", "complete", 1)),
        "2026-03-02T10:00:01+08:00");
    add(f,
        completed(f->state, "notices", "c-2", "2026-03-03T10:00:00+08:00", "worker:documents",
                  json_pack("{s:[s]}", "documents", "执行通知书")),
        "2026-03-03T10:00:01.250+08:00");
    add(f,
        completed(f->state, "service", "c-3", "2026-03-04T15:00:00+08:00", "worker:service",
                  json_object()),
        "2026-03-04T15:00:02+08:00");
    assert_string_equal(f->after[3], "queries");
    f->c.case_no = CASE_NO;
    f->c.workflow = f->wf->name;
    f->c.version = f->wf->version;
    f->c.body = f->state;
    f->c.head_hash = f->head;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < f->n; i++) {
        json_decref(f->body[i]);
        free(f->text[i]);
        json_decref(f->actions[i]);
    }
    json_decref(f->state);
    cf_workflow_free(f->wf);
    free(f);
    return 0;
}

/* Stores each body again as text after a test changed it, as a rewrite in the database would. */
static void render(fixture *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->text[i]);
        f->text[i] = json_dumps(f->body[i], JSON_COMPACT);
        assert_non_null(f->text[i]);
    }
    /* Rows may have been moved about by a test: each keeps the text of its own body. */
    for (size_t r = 0; r < f->n; r++)
        for (size_t i = 0; i < f->n; i++)
            if (f->rows[r].body == f->body[i]) {
                f->rows[r].body_text = f->text[i];
                f->rows[r].body_len = strlen(f->text[i]);
            }
}

/* Verifies rows[0 .. n) of the fixture (with its possibly changed parts). */
static int verify(fixture *f, size_t n, cf_time as_of, cf_replay *out)
{
    int rc;
    render(f);
    rc = cf_replay_verify(f->wf, &f->c, f->rows, n, as_of, out);
    assert_true(rc == 0 || rc == CF_ESTATE);
    return rc;
}

/* Re-hashes rows from `from` on, as someone who rewrites the chain after a change would. */
static void rehash(fixture *f, size_t from)
{
    for (size_t i = from; i < f->n; i++) {
        snprintf(f->prev[i], sizeof f->prev[i], "%s", i ? f->hash[i - 1] : cf_chain_genesis);
        char *text = json_dumps(f->body[i], JSON_COMPACT);
        assert_non_null(text);
        assert_int_equal(cf_chain_hash(f->prev[i], CASE_NO, f->rows[i].seq, f->id[i], text,
                                       strlen(text), f->after[i], f->hash[i]),
                         0);
        free(text);
    }
    snprintf(f->head, sizeof f->head, "%s", f->hash[f->n - 1]);
}

static void test_intact_log_verifies(void **state)
{
    fixture *f = *state;
    cf_replay r;

    assert_int_equal(verify(f, f->n, CF_REPLAY_ALL, &r), 0);
    assert_string_equal(r.chain, "ok");
    assert_string_equal(r.replay, "ok");
    assert_string_equal(r.final_text, "ok");
    assert_int_equal(r.final, 1);
    assert_int_equal(r.replayed, f->n);
    assert_true(json_equal(r.state, f->state));
    cf_replay_clear(&r);
}

static void test_changed_body_breaks_the_chain_at_its_row(void **state)
{
    fixture *f = *state;
    cf_replay r;
    json_t *data = json_object_get(f->body[1], "data");

    json_object_set_new(json_object_get(data, "result"), "complete", json_false());
    assert_int_equal(verify(f, f->n, CF_REPLAY_ALL, &r), CF_ESTATE);
    assert_int_equal(r.chain_seq, 2);
    assert_non_null(strstr(r.chain, "broken at seq 2: "));
    /* The changed result sends the case to correction instead of assigned; the notices' task
     * that follows does not exist there, and replay stops at it. */
    assert_int_equal(r.replay_seq, 2);
    assert_non_null(strstr(r.replay, "differs at seq 2 (c-1, task.completed): state after: "
                                     "stored 'notices', replayed 'correction'"));
    assert_int_equal(r.stopped, 3);
    assert_string_equal(r.final_text, "not compared: the replay stopped at seq 3");
    cf_replay_clear(&r);
    json_object_set_new(json_object_get(data, "result"), "complete", json_true());
    assert_int_equal(verify(f, f->n, CF_REPLAY_ALL, &r), 0);
    cf_replay_clear(&r);
}

static void test_broken_link_is_named(void **state)
{
    fixture *f = *state;
    cf_replay r;

    f->prev[2][0] = f->prev[2][0] == 'a' ? 'b' : 'a';
    assert_int_equal(verify(f, f->n, CF_REPLAY_ALL, &r), CF_ESTATE);
    assert_int_equal(r.chain_seq, 3);
    assert_non_null(strstr(r.chain, "broken at seq 3: its prev_hash"));
    assert_string_equal(r.replay, "ok");
    cf_replay_clear(&r);
    rehash(f, 0);
}

static void test_missing_event_and_head(void **state)
{
    fixture *f = *state;
    cf_replay r;
    cf_replay_row saved = f->rows[1];

    /* Row 2 removed: the third row now stands second. */
    memmove(&f->rows[1], &f->rows[2], 2 * sizeof f->rows[0]);
    assert_int_equal(verify(f, 3, CF_REPLAY_ALL, &r), CF_ESTATE);
    assert_int_equal(r.chain_seq, 3);
    assert_non_null(strstr(r.chain, "expected seq 2 here: events are missing before it"));
    cf_replay_clear(&r);
    memmove(&f->rows[2], &f->rows[1], 2 * sizeof f->rows[0]);
    f->rows[1] = saved;

    /* The last event removed: only the case's head hash tells. */
    assert_int_equal(verify(f, 3, CF_REPLAY_ALL, &r), CF_ESTATE);
    assert_int_equal(r.chain_seq, 3);
    assert_non_null(strstr(r.chain, "head hash"));
    cf_replay_clear(&r);
}

static void test_changed_actions_and_columns(void **state)
{
    fixture *f = *state;
    cf_replay r;
    json_t *saved = f->actions[2], *changed = json_deep_copy(saved);
    size_t i;
    json_t *a;

    /* Actions are not hashed: only the replay sees the changed due date. */
    json_array_foreach (changed, i, a) {
        if (strcmp(json_string_value(json_object_get(a, "kind")), "task") == 0)
            json_object_set_new(a, "due", json_string("2026-04-01T00:00:00+08:00"));
    }
    f->rows[2].actions = changed;
    assert_int_equal(verify(f, f->n, CF_REPLAY_ALL, &r), CF_ESTATE);
    assert_string_equal(r.chain, "ok");
    assert_int_equal(r.replay_seq, 3);
    assert_non_null(strstr(r.replay, "differs at seq 3 (c-2, task.completed): actions: action 1 "
                                     "(task service): /due: stored \"2026-04-01T00:00:00+08:00\", "
                                     "replayed \""));
    cf_replay_clear(&r);

    /* The same actions in another order are the same actions. */
    json_array_clear(changed);
    for (i = json_array_size(saved); i > 0; i--)
        json_array_append(changed, json_array_get(saved, i - 1));
    assert_int_equal(verify(f, f->n, CF_REPLAY_ALL, &r), 0);
    cf_replay_clear(&r);
    f->rows[2].actions = saved;
    json_decref(changed);

    /* state_before is not hashed either. */
    f->rows[3].state_before = "execution";
    assert_int_equal(verify(f, f->n, CF_REPLAY_ALL, &r), CF_ESTATE);
    assert_non_null(strstr(r.replay, "differs at seq 4 (c-3, task.completed): state before: "
                                     "stored 'execution', replayed 'notices'"));
    cf_replay_clear(&r);
    f->rows[3].state_before = f->before[3];

    /* A type column that is not its body's breaks the chain at that row. */
    f->rows[1].type = "case.withdrawn";
    assert_int_equal(verify(f, f->n, CF_REPLAY_ALL, &r), CF_ESTATE);
    assert_non_null(strstr(r.chain, "broken at seq 2: the row's type"));
    cf_replay_clear(&r);
    f->rows[1].type = f->type[1];
}

/* Actions given as their stored text (events.actions, the engine's bytes) instead of parsed: the
 * same text agrees without parsing, another rendering of the same actions (PostgreSQL's jsonb
 * kept them so before they were json) agrees as a collection, and a changed value differs. */
static void test_actions_as_stored_text(void **state)
{
    fixture *f = *state;
    cf_replay r;
    char *texts[MAXROWS];
    json_t *changed;
    size_t i;
    json_t *a;

    for (i = 0; i < f->n; i++) {
        texts[i] = json_dumps(f->actions[i], JSON_COMPACT);
        f->rows[i].actions = NULL;
        f->rows[i].actions_text = texts[i];
    }
    assert_int_equal(verify(f, f->n, CF_REPLAY_ALL, &r), 0);
    cf_replay_clear(&r);

    /* Sorted keys and spaces, in reverse order: the same actions. */
    changed = json_array();
    for (i = json_array_size(f->actions[2]); i > 0; i--)
        json_array_append(changed, json_array_get(f->actions[2], i - 1));
    f->rows[2].actions_text = json_dumps(changed, JSON_SORT_KEYS);
    assert_int_not_equal(strcmp(f->rows[2].actions_text, texts[2]), 0);
    assert_int_equal(verify(f, f->n, CF_REPLAY_ALL, &r), 0);
    cf_replay_clear(&r);
    free((char *)f->rows[2].actions_text);
    json_decref(changed);

    /* One due date changed in the text: the replay names it. */
    changed = json_deep_copy(f->actions[2]);
    json_array_foreach (changed, i, a) {
        if (strcmp(json_string_value(json_object_get(a, "kind")), "task") == 0)
            json_object_set_new(a, "due", json_string("2026-04-01T00:00:00+08:00"));
    }
    f->rows[2].actions_text = json_dumps(changed, JSON_COMPACT);
    assert_int_equal(verify(f, f->n, CF_REPLAY_ALL, &r), CF_ESTATE);
    assert_int_equal(r.replay_seq, 3);
    assert_non_null(strstr(r.replay, "differs at seq 3 (c-2, task.completed): actions: action 1 "
                                     "(task service): /due: stored \"2026-04-01T00:00:00+08:00\""));
    cf_replay_clear(&r);
    free((char *)f->rows[2].actions_text);
    json_decref(changed);

    for (i = 0; i < f->n; i++) {
        f->rows[i].actions = f->actions[i];
        f->rows[i].actions_text = NULL;
        free(texts[i]);
    }
}

static void test_rewritten_chain_is_caught_by_replay(void **state)
{
    fixture *f = *state;
    cf_replay r;

    /* Someone changes the state a row led to and recomputes every hash after it. */
    snprintf(f->after[1], sizeof f->after[1], "special_review");
    rehash(f, 1);
    assert_int_equal(verify(f, f->n, CF_REPLAY_ALL, &r), CF_ESTATE);
    assert_string_equal(r.chain, "ok");
    assert_non_null(strstr(r.replay, "differs at seq 2 (c-1, task.completed): state after: "
                                     "stored 'special_review', replayed 'notices'"));
    cf_replay_clear(&r);
    snprintf(f->after[1], sizeof f->after[1], "notices");
    rehash(f, 1);

    /* A body the workflow refuses: the notices' completion names a task the case lacks. */
    json_object_set_new(json_object_get(f->body[2], "data"), "task_id", json_string("t-none"));
    rehash(f, 2);
    assert_int_equal(verify(f, f->n, CF_REPLAY_ALL, &r), CF_ESTATE);
    assert_string_equal(r.chain, "ok");
    assert_int_equal(r.replay_seq, 3);
    assert_non_null(strstr(r.replay, "the workflow refuses the event: case has no task t-none"));
    assert_int_equal(r.final, -1);
    assert_int_equal(r.replayed, 2);
    cf_replay_clear(&r);
}

static void test_changed_case_row(void **state)
{
    fixture *f = *state;
    cf_replay r;
    json_t *body = json_deep_copy(f->state);

    json_object_set_new(json_object_get(body, "data"), "cause", json_string("买卖合同纠纷"));
    f->c.body = body;
    assert_int_equal(verify(f, f->n, CF_REPLAY_ALL, &r), CF_ESTATE);
    assert_string_equal(r.chain, "ok");
    assert_string_equal(r.replay, "ok");
    assert_int_equal(r.final, 0);
    assert_non_null(strstr(r.final_text, "differs: /data/cause: stored \"买卖合同纠纷\", replayed "
                                         "\"民间借贷纠纷\""));
    cf_replay_clear(&r);

    /* A party's name that differs is named by its place, its values masked. */
    json_object_set_new(json_object_get(body, "data"), "cause", json_string("民间借贷纠纷"));
    json_object_set_new(
        json_array_get(json_object_get(json_object_get(body, "data"), "respondents"), 0), "name",
        json_string("李四五"));
    assert_int_equal(verify(f, f->n, CF_REPLAY_ALL, &r), CF_ESTATE);
    assert_non_null(strstr(r.final_text, "/data/respondents/0/name"));
    assert_null(strstr(r.final_text, "李四五"));
    cf_replay_clear(&r);
    f->c.body = f->state;
    json_decref(body);
}

static void test_as_of(void **state)
{
    fixture *f = *state;
    cf_replay r;
    cf_time t;

    assert_int_equal(cf_replay_parse_as_of("2026-03-02", 480, &t), 0);
    {
        char text[CF_TIME_BUFSZ];
        cf_time_format(t, 480, text, sizeof text);
        assert_string_equal(text, "2026-03-02T23:59:59.999+08:00");
    }
    assert_int_equal(verify(f, f->n, t, &r), 0);
    assert_int_equal(r.replayed, 2);
    assert_string_equal(json_string_value(json_object_get(r.state, "state")), "notices");
    assert_int_equal(r.final, -1);
    assert_string_equal(r.final_text, "not compared: replayed as of seq 2 of 4");
    cf_replay_clear(&r);

    /* An instant: the third row was applied at 10:00:01.250, so 10:00:01 is before it. */
    assert_int_equal(cf_replay_parse_as_of("2026-03-03T10:00:01+08:00", 480, &t), 0);
    assert_int_equal(verify(f, f->n, t, &r), 0);
    assert_int_equal(r.replayed, 2);
    cf_replay_clear(&r);
    assert_int_equal(cf_replay_parse_as_of("2026-03-03T10:00:01.250+08:00", 480, &t), 0);
    assert_int_equal(verify(f, f->n, t, &r), 0);
    assert_int_equal(r.replayed, 3);
    cf_replay_clear(&r);

    /* Before the first event the case did not exist. */
    assert_int_equal(cf_replay_parse_as_of("2026-03-01", 480, &t), 0);
    assert_int_equal(verify(f, f->n, t, &r), 0);
    assert_int_equal(r.replayed, 0);
    assert_null(r.state);
    cf_replay_clear(&r);

    assert_int_equal(cf_replay_parse_as_of("yesterday", 480, &t), CF_EPARSE);
    assert_int_equal(cf_replay_parse_as_of("2026-02-30", 480, &t), CF_EPARSE);
    assert_int_equal(cf_replay_parse_as_of("2026-03-02T10:00:00", 480, &t), CF_EPARSE);
}

static void test_entry_masks_personal_data(void **state)
{
    fixture *f = *state;
    json_t *e = cf_replay_entry(&f->rows[0], 480);
    char *text;

    assert_non_null(e);
    assert_int_equal(json_integer_value(json_object_get(e, "seq")), 1);
    assert_string_equal(json_string_value(json_object_get(e, "from")), "");
    assert_string_equal(json_string_value(json_object_get(e, "to")), "intake");
    assert_string_equal(json_string_value(json_object_get(e, "applied_at")),
                        "2026-03-02T09:00:05+08:00");
    assert_string_equal(json_string_value(json_object_get(e, "time")), "2026-03-02T09:00:00+08:00");
    assert_true(json_array_size(json_object_get(e, "actions")) > 0);
    text = json_dumps(e, JSON_COMPACT);
    assert_null(strstr(text, "张三"));
    assert_null(strstr(text, "41038119900101123X"));
    assert_non_null(strstr(text, "民间借贷纠纷"));
    /* A timer's name is the timer's, not a person's. */
    assert_non_null(strstr(text, "\"name\":\"query_day_15\""));
    /* Nor is a clock's: the handling limit's clock starts at filing. */
    assert_non_null(strstr(text, "\"kind\":\"clock\""));
    assert_non_null(strstr(text, "\"name\":\"handling\""));
    free(text);
    json_decref(e);

    /* A field set to a party's name is masked by the field's name. */
    {
        cf_replay_row row = f->rows[1];
        json_t *actions =
            json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]", "kind", "set", "field", "payer_name",
                      "value", "王小明", "kind", "set", "field", "cause", "value", "借款");
        row.actions = actions;
        e = cf_replay_entry(&row, 480);
        text = json_dumps(e, JSON_COMPACT);
        assert_null(strstr(text, "王小明"));
        assert_non_null(strstr(text, "借款"));
        free(text);
        json_decref(e);
        json_decref(actions);
    }
}

/* Checks rows[0 .. n) against the anchored (seq, hash); returns the verdict. */
static int against_anchor(fixture *f, size_t n, long long seq, const char *hash, long long *first,
                          char *text, size_t textsz)
{
    cf_replay_anchor a;

    render(f);
    cf_replay_anchor_begin(&a, CASE_NO, seq, hash);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(cf_replay_anchor_take(&a, &f->rows[i]), 0);
    return cf_replay_anchor_end(&a, first, text, textsz);
}

static void test_anchor_matches_the_intact_log(void **state)
{
    fixture *f = *state;
    char text[1024], anchored[65];
    long long first;

    assert_int_equal(against_anchor(f, f->n, 4, f->hash[3], &first, text, sizeof text),
                     CF_REPLAY_ANCHOR_MATCH);
    assert_string_equal(text, "matches the anchor at seq 4");
    /* An anchor of an earlier moment: the rows after its seq are not its business. */
    snprintf(anchored, sizeof anchored, "%s", f->hash[1]);
    assert_int_equal(against_anchor(f, f->n, 2, anchored, &first, text, sizeof text),
                     CF_REPLAY_ANCHOR_MATCH);
    f->prev[3][0] = f->prev[3][0] == 'a' ? 'b' : 'a';
    assert_int_equal(against_anchor(f, f->n, 2, anchored, &first, text, sizeof text),
                     CF_REPLAY_ANCHOR_MATCH);
    rehash(f, 0);
}

static void test_anchor_catches_the_rewrite_the_chain_cannot(void **state)
{
    fixture *f = *state;
    char text[1024], anchored[65];
    long long first;
    cf_replay r;

    snprintf(anchored, sizeof anchored, "%s", f->head);
    /* The owner changes who completed the intake check and recomputes every hash after it:
     * the chain and the replay are content. */
    json_object_set_new(f->body[1], "source", json_string("staff:intake:李明"));
    snprintf(f->source[1], sizeof f->source[1], "staff:intake:李明");
    rehash(f, 1);
    assert_int_equal(verify(f, f->n, CF_REPLAY_ALL, &r), 0);
    cf_replay_clear(&r);

    assert_int_equal(against_anchor(f, f->n, 4, anchored, &first, text, sizeof text),
                     CF_REPLAY_ANCHOR_DIFFERS);
    assert_int_equal(first, 0);
    assert_non_null(strstr(text, "does not match the anchor at seq 4: the stored events give "));
    assert_non_null(strstr(text, "an event up to seq 4 was changed and the hashes after it "
                                 "recomputed"));
}

static void test_anchor_names_where_the_log_breaks(void **state)
{
    fixture *f = *state;
    char text[1024], anchored[65];
    long long first;
    cf_replay_row saved;

    snprintf(anchored, sizeof anchored, "%s", f->head);
    /* A body changed without recomputing: the chain breaks at its row. */
    json_object_set_new(json_object_get(f->body[2], "data"), "attempts", json_integer(9));
    assert_int_equal(against_anchor(f, f->n, 4, anchored, &first, text, sizeof text),
                     CF_REPLAY_ANCHOR_DIFFERS);
    assert_int_equal(first, 3);
    assert_non_null(strstr(text, "the log breaks at seq 3: the stored event does not give its "
                                 "stored hash"));
    json_object_del(json_object_get(f->body[2], "data"), "attempts");

    /* An event removed in the middle, or the last ones. */
    saved = f->rows[1];
    memmove(&f->rows[1], &f->rows[2], 2 * sizeof f->rows[0]);
    assert_int_equal(against_anchor(f, 3, 4, anchored, &first, text, sizeof text),
                     CF_REPLAY_ANCHOR_DIFFERS);
    assert_int_equal(first, 2);
    assert_non_null(strstr(text, "breaks at seq 2: expected seq 2 here: events are missing"));
    memmove(&f->rows[2], &f->rows[1], 2 * sizeof f->rows[0]);
    f->rows[1] = saved;
    assert_int_equal(against_anchor(f, 2, 4, anchored, &first, text, sizeof text),
                     CF_REPLAY_ANCHOR_DIFFERS);
    assert_int_equal(first, 3);
    assert_non_null(strstr(text, "the log ends at seq 2"));

    /* No event at all. */
    assert_int_equal(against_anchor(f, 0, 4, anchored, &first, text, sizeof text),
                     CF_REPLAY_ANCHOR_MISSING);
    assert_non_null(strstr(text, "missing: the anchor has it at seq 4"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_intact_log_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_body_breaks_the_chain_at_its_row, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_broken_link_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_event_and_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_actions_and_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_actions_as_stored_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewritten_chain_is_caught_by_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_case_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_as_of, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_masks_personal_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_anchor_matches_the_intact_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_anchor_catches_the_rewrite_the_chain_cannot, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_anchor_names_where_the_log_breaks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
