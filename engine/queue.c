/*
 * The staff task queues on the tasks table: conditional UPDATEs for claims, the events that
 * complete or return a task (checked against the workflow before they are sent), and the
 * engine's verdict read back from the event log and the dead letters.
 */
#include "queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/store.h"
#include "core/message.h"
#include "core/caltime.h"
#include "core/form.h"
#include "core/machine.h"
#include "engine/cases.h"

#define CLOCK_SQL CF_CLOCK_SQL
#define ISO       CF_ISO_SQL

/* The columns fill() reads, from `tasks t` and `(select CLOCK_SQL as now) k`. */
#define TASK_COLS                                                                                  \
    "t.task_id, t.case_no, coalesce(t.title, t.activity), t.activity, t.kind, "                    \
    "coalesce(t.post, ''), t.status, coalesce(t.claimed_by, ''), to_char(t.updated_at, " ISO "), " \
    "coalesce(to_char(t.due_at, " ISO "), ''), t.worker, coalesce(t.due_at < k.now, false), "      \
    "to_char(t.created_at, " ISO ")"

static void fill(PGresult *res, int row, cf_task *t)
{
    char *const dst[] = {t->id,   t->case_no, t->title,      t->activity, t->kind,
                         t->post, t->status,  t->claimed_by, t->since,    t->due};
    const size_t size[] = {
        sizeof t->id,   sizeof t->case_no, sizeof t->title,      sizeof t->activity, sizeof t->kind,
        sizeof t->post, sizeof t->status,  sizeof t->claimed_by, sizeof t->since,    sizeof t->due};

    for (int c = 0; c < 10; c++)
        snprintf(dst[c], size[c], "%s", PQgetvalue(res, row, c));
    t->worker = strcmp(PQgetvalue(res, row, 10), "t") == 0;
    t->overdue = strcmp(PQgetvalue(res, row, 11), "t") == 0;
    snprintf(t->created, sizeof t->created, "%s", PQgetvalue(res, row, 12));
}

/* ---- list ---------------------------------------------------------------------------------- */

/* The filter as SQL over `tasks t` and `k`; the parameters are $1 .. $7 of cf_queue_list's p. */
#define LIST_WHERE                                                                                \
    " from tasks t, (select " CLOCK_SQL " as now) k where t.status in ('open', 'claimed') and "   \
    "not t.worker and ($1::text is null or t.post = $1) and ($2::text is null or t.status = $2) " \
    "and (not $3::boolean or t.due_at < k.now) and ($4::timestamptz is null or t.due_at < "       \
    "$4::timestamptz) and ($5::text is null or strpos(t.case_no, $5) > 0 or "                     \
    "strpos(coalesce(t.title, t.activity), $5) > 0) and " CF_TASK_COURT_SQL("t", "$6", "$7")

int cf_queue_list(PGconn *db, const cf_queue_filter *f, cf_task_list *out, char *err, size_t errsz)
{
    char limit[24], offset[24];
    cf_time before;
    const char *p[9] = {f->post,
                        f->status,
                        f->overdue ? "t" : "f",
                        f->due_before,
                        f->text && *f->text ? f->text : NULL,
                        f->court,
                        f->home,
                        NULL,
                        offset};
    PGresult *res = NULL, *counts = NULL;
    int rc = 0;

    memset(out, 0, sizeof *out);
    if (f->status && strcmp(f->status, "open") != 0 && strcmp(f->status, "claimed") != 0)
        return cf_errf(err, errsz, CF_EINVAL, "status must be open or claimed, not '%s'",
                       f->status);
    if (f->due_before && cf_time_parse(f->due_before, &before) != 0)
        return cf_errf(err, errsz, CF_EINVAL,
                       "due_before must be an ISO 8601 time with its offset, not '%s'",
                       f->due_before);
    if (f->limit < 0 || f->offset < 0)
        return cf_errf(err, errsz, CF_EINVAL, "limit and offset cannot be negative");
    snprintf(limit, sizeof limit, "%d", f->limit);
    snprintf(offset, sizeof offset, "%d", f->offset);
    p[7] = f->limit > 0 ? limit : NULL;

    counts = cf_store_exec(
        db,
        "select count(*), count(*) filter (where t.status = 'open'), "
        "count(*) filter (where t.status = 'claimed'), count(*) filter (where "
        "t.due_at < k.now), (select to_char(" CLOCK_SQL ", " ISO
        ")), coalesce((select mode from engine_clock where id = 1), 'real')" LIST_WHERE,
        7, p, err, errsz);
    if (!counts) {
        rc = CF_EDB;
        goto out;
    }
    out->total = strtoll(PQgetvalue(counts, 0, 0), NULL, 10);
    out->open = strtoll(PQgetvalue(counts, 0, 1), NULL, 10);
    out->claimed = strtoll(PQgetvalue(counts, 0, 2), NULL, 10);
    out->overdue = strtoll(PQgetvalue(counts, 0, 3), NULL, 10);
    snprintf(out->now, sizeof out->now, "%s", PQgetvalue(counts, 0, 4));
    snprintf(out->clock, sizeof out->clock, "%s", PQgetvalue(counts, 0, 5));

    res = cf_store_exec(db,
                        "select " TASK_COLS LIST_WHERE
                        " order by t.due_at nulls last, t.created_at, t.case_no, t.task_id "
                        "limit $8::bigint offset $9::bigint",
                        9, p, err, errsz);
    if (!res) {
        rc = CF_EDB;
        goto out;
    }
    out->n = (size_t)PQntuples(res);
    out->tasks = calloc(out->n + 1, sizeof *out->tasks);
    if (!out->tasks) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory for %zu tasks", out->n);
        out->n = 0;
        goto out;
    }
    for (size_t i = 0; i < out->n; i++)
        fill(res, (int)i, &out->tasks[i]);
out:
    PQclear(counts);
    PQclear(res);
    return rc;
}

void cf_task_list_free(cf_task_list *l)
{
    free(l->tasks);
    memset(l, 0, sizeof *l);
}

/* ---- one task ------------------------------------------------------------------------------ */

int cf_queue_get(PGconn *db, const char *id, const char *post, cf_task *t, char *err, size_t errsz)
{
    const char *p[2] = {id, post};
    PGresult *res = cf_store_exec(db,
                                  "select " TASK_COLS " from tasks t, (select " CLOCK_SQL
                                  " as now) k where t.task_id = $1 and ($2::text is null or "
                                  "t.post = $2)",
                                  2, p, err, errsz);
    int rc = 0;

    memset(t, 0, sizeof *t);
    if (!res)
        return CF_EDB;
    if (PQntuples(res) == 0)
        rc = cf_errf(err, errsz, CF_ENOTFOUND, "there is no task %s", id);
    else
        fill(res, 0, t);
    PQclear(res);
    return rc;
}

/*
 * After a conditional UPDATE on task `id` changed nothing: reads the task into `t` and returns
 * why `a` cannot `verb` it (see cf_queue_claim).
 */
static int refusal(PGconn *db, const char *id, const cf_actor *a, const char *verb, cf_task *t,
                   char *err, size_t errsz)
{
    int rc = cf_queue_get(db, id, a->post, t, err, errsz);

    if (rc != 0)
        return rc;
    if (t->worker)
        return cf_errf(err, errsz, CF_EPERM,
                       "task %s (%s, case %s) is a worker task: the %s worker does it, staff "
                       "cannot %s it",
                       id, t->title, t->case_no, t->kind, verb);
    if (strcmp(t->status, "claimed") == 0 && strcmp(t->claimed_by, a->account) == 0)
        return cf_errf(err, errsz, CF_EDUP, "task %s is already claimed by %s since %s", id,
                       a->account, t->since);
    if (strcmp(t->status, "claimed") == 0 && strcmp(verb, "claim") == 0)
        return cf_errf(err, errsz, CF_ESTATE, "task %s is claimed by %s since %s", id,
                       t->claimed_by[0] ? t->claimed_by : "someone", t->since);
    if (strcmp(t->status, "claimed") == 0)
        return cf_errf(err, errsz, CF_ESTATE,
                       "task %s is claimed by %s since %s: only %s can %s it", id,
                       t->claimed_by[0] ? t->claimed_by : "someone", t->since,
                       t->claimed_by[0] ? t->claimed_by : "they", verb);
    return cf_errf(err, errsz, CF_ESTATE,
                   "task %s (%s, case %s) is %s since %s: there is nothing to %s", id, t->title,
                   t->case_no, t->status, t->since, verb);
}

int cf_queue_claim(PGconn *db, const char *id, const cf_actor *a, cf_task *t, char *err,
                   size_t errsz)
{
    const char *p[3] = {id, a->account, a->post};
    PGresult *res =
        cf_store_exec(db,
                      "with c as (update tasks set status = 'claimed', claimed_by = "
                      "$2, updated_at = " CLOCK_SQL " where task_id = $1 and status = "
                      "'open' and not worker and ($3::text is null or post = $3) "
                      "returning *) select " TASK_COLS " from c t, (select " CLOCK_SQL " as now) k",
                      3, p, err, errsz);
    int rc = 0;

    memset(t, 0, sizeof *t);
    if (!res)
        return CF_EDB;
    if (PQntuples(res) == 1)
        fill(res, 0, t);
    else
        rc = refusal(db, id, a, "claim", t, err, errsz);
    PQclear(res);
    return rc;
}

/* ---- complete and return ------------------------------------------------------------------- */

/*
 * Runs `event` through the workflow of its case as the engine would at `now`, without keeping
 * anything.  Returns 0 when the workflow takes it (or when the case or its workflow version is
 * not at hand here: then the engine alone judges), CF_EINVAL with the workflow's reason, or
 * CF_EDB.
 */
static int dry_run(PGconn *db, const cf_registry *reg, const json_t *event, cf_time now, char *err,
                   size_t errsz)
{
    const char *p[1] = {json_string_value(json_object_get(event, "case"))};
    char why[1024];
    PGresult *res = cf_store_exec(db,
                                  "select workflow, version, body::text from cases where "
                                  "case_no = $1",
                                  1, p, err, errsz);
    const cf_workflow *wf;
    json_t *state = NULL;
    cf_step step;
    int rc = 0;

    if (!res)
        return CF_EDB;
    if (PQntuples(res) == 1 &&
        (wf = cf_registry_find(reg, PQgetvalue(res, 0, 0), atoi(PQgetvalue(res, 0, 1)))) &&
        (state = json_loads(PQgetvalue(res, 0, 2), 0, NULL))) {
        /* On the case's court's calendar and teams, as the engine applies it (#16). */
        const cf_workflow *view = cf_registry_for_case(reg, wf, p[0], state);
        memset(&step, 0, sizeof step);
        if (cf_machine_apply(view, state, event, now, &step, why, sizeof why) != 0)
            rc = cf_errf(err, errsz, CF_EINVAL, "%s", why);
        cf_step_clear(&step);
        /* What the workflow accepts must also fit the form it declares for the task. */
        if (rc == 0 &&
            strcmp(json_string_value(json_object_get(event, "type")), "task.completed") == 0) {
            const json_t *data = json_object_get(event, "data");
            const char *name = json_string_value(json_object_get(data, "kind"));
            const cf_task_kind *kind = name ? cf_workflow_kind(wf, name) : NULL;
            if (kind && !kind->worker &&
                cf_form_check(wf, kind, view, json_object_get(data, "result"), why, sizeof why) !=
                    0)
                rc = cf_errf(err, errsz, CF_EINVAL, "%s", why);
        }
    }
    json_decref(state);
    PQclear(res);
    return rc;
}

int cf_queue_finish(PGconn *db, const cf_queue_ctx *ctx, const char *id, const cf_actor *a,
                    const json_t *result, const char *reason, cf_task *t, cf_queue_sent *out,
                    char *err, size_t errsz)
{
    int completing = result != NULL;
    const char *type = completing ? "task.completed" : "task.returned";
    const char *p[3] = {id, a->account, a->post};
    char source[300], now_text[CF_TIME_BUFSZ], why[1024];
    cf_time now;
    json_t *event = NULL;
    PGresult *res = NULL;
    int rc = 0;

    memset(out, 0, sizeof *out);
    memset(t, 0, sizeof *t);
    snprintf(out->type, sizeof out->type, "%s", type);
    /* Dead letters newer than this are about what is sent now. */
    if (!(res = cf_store_exec(db, "select coalesce(max(id), 0) from dead_letters", 0, NULL, err,
                              errsz)))
        return CF_EDB;
    out->mark = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    /* Claim it, or keep the claim the actor holds, in one statement: no one else can come
     * between. */
    res = cf_store_exec(db,
                        "with c as (update tasks set status = 'claimed', claimed_by = $2, "
                        "updated_at = case when status = 'open' then " CLOCK_SQL
                        " else updated_at end where task_id = $1 and not worker and ($3::text is "
                        "null or post = $3) and (status = 'open' or (status = 'claimed' and "
                        "claimed_by = $2)) returning *) select " TASK_COLS
                        ", (extract(epoch from k.now) * 1000)::bigint, (extract(timezone from "
                        "k.now) / 60)::int from c t, (select " CLOCK_SQL " as now) k",
                        3, p, err, errsz);
    if (!res)
        return CF_EDB;
    if (PQntuples(res) == 0) {
        rc = refusal(db, id, a, completing ? "complete" : "return", t, err, errsz);
        /* Holding the claim already is what finishing needs; anything else is a refusal. */
        goto out;
    }
    fill(res, 0, t);
    now = strtoll(PQgetvalue(res, 0, 13), NULL, 10);
    cf_time_format(now, atoi(PQgetvalue(res, 0, 14)), now_text, sizeof now_text);
    cf_msg_task_event_id(id, completing ? CF_TASK_DONE : CF_TASK_RETURNED, out->event_id,
                         sizeof out->event_id);
    snprintf(source, sizeof source, "staff:%s:%s", t->post[0] ? t->post : "-", a->account);
    {
        const cf_envelope env = {.id = out->event_id,
                                 .type = type,
                                 .case_no = t->case_no,
                                 .time = now_text,
                                 .source = source};
        json_t *data =
            completing ? json_pack("{s:s, s:s, s:s, s:O, s:s}", "task_id", id, "activity",
                                   t->activity, "kind", t->kind, "result", result, "by", a->account)
                       : json_pack("{s:s, s:s, s:s}", "task_id", id, "reason", reason ? reason : "",
                                   "by", a->account);
        event = data ? cf_msg_event_new(&env, data) : NULL;
    }
    if (!event) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        goto out;
    }
    if (cf_schema_validate(cf_registry_schema(ctx->reg, type), event, why, sizeof why) != 0) {
        rc = cf_errf(err, errsz, CF_ESCHEMA, "the %s event for task %s breaks its schema: %s", type,
                     id, why);
        goto out;
    }
    if ((rc = dry_run(db, ctx->reg, event, now, why, sizeof why)) != 0) {
        cf_errf(err, errsz, rc, "%s", why);
        goto out;
    }
    rc = cf_queue_send_event(ctx, event, err, errsz);
out:
    json_decref(event);
    PQclear(res);
    return rc;
}

int cf_queue_send_event(const cf_queue_ctx *ctx, const json_t *event, char *err, size_t errsz)
{
    char *text = json_dumps(event, JSON_COMPACT);
    cf_outmsg msg;
    int rc;

    if (!text)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    memset(&msg, 0, sizeof msg);
    msg.key = json_string_value(json_object_get(event, "case"));
    msg.id = json_string_value(json_object_get(event, "id"));
    msg.payload = text;
    msg.len = strlen(text);
    rc = cf_sender_send(ctx->sender, ctx->topic, &msg, 1, err, errsz);
    free(text);
    return rc;
}

int cf_queue_verdict(PGconn *db, const cf_queue_sent *sent, cf_verdict *v, char *err, size_t errsz)
{
    char mark[32];
    const char *p[2] = {sent->event_id, mark};
    PGresult *res;

    memset(v, 0, sizeof *v);
    v->state = -1;
    snprintf(mark, sizeof mark, "%lld", sent->mark);
    res = cf_store_exec(db,
                        "select 'applied', state_before, state_after, seq::text from events "
                        "where event_id = $1 union all (select 'refused', reason, null, null from "
                        "dead_letters where event_id = $1 and id > $2::bigint order by id desc "
                        "limit 1) order by 1",
                        2, p, err, errsz);
    if (!res)
        return CF_EDB;
    if (PQntuples(res) > 0) {
        if (strcmp(PQgetvalue(res, 0, 0), "applied") == 0) {
            v->state = 1;
            snprintf(v->from, sizeof v->from, "%s", PQgetvalue(res, 0, 1));
            snprintf(v->to, sizeof v->to, "%s", PQgetvalue(res, 0, 2));
            v->seq = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
        } else {
            v->state = 0;
            snprintf(v->reason, sizeof v->reason, "%s", PQgetvalue(res, 0, 1));
        }
    }
    PQclear(res);
    return 0;
}

/* ---- reassign ------------------------------------------------------------------------------ */

int cf_queue_reassign(PGconn *db, const char *id, const char *to_post, const char *to_account,
                      const char *by, cf_task *t, char *err, size_t errsz)
{
    const char *p[4] = {id, to_post, to_account, by};
    PGresult *res = cf_store_exec(
        db,
        "with old as (select task_id, post, claimed_by from tasks where task_id = $1 and not "
        "worker and status in ('open', 'claimed') for update), c as (update tasks t set post = "
        "coalesce($2, t.post), claimed_by = $3, status = case when $3::text is null then 'open' "
        "else 'claimed' end, updated_at = " CLOCK_SQL " from old where t.task_id = old.task_id "
        "returning t.*), log as (insert into task_reassignments (task_id, from_post, to_post, "
        "from_account, to_account, by_account, at) select old.task_id, old.post, c.post, "
        "old.claimed_by, c.claimed_by, $4, c.updated_at from old, c) select " TASK_COLS
        " from c t, (select " CLOCK_SQL " as now) k",
        4, p, err, errsz);
    int rc = 0;

    memset(t, 0, sizeof *t);
    if (!res)
        return CF_EDB;
    if (PQntuples(res) == 1) {
        fill(res, 0, t);
    } else if ((rc = cf_queue_get(db, id, NULL, t, err, errsz)) == 0) {
        rc = t->worker ? cf_errf(err, errsz, CF_EPERM, "task %s is a worker task", id)
                       : cf_errf(err, errsz, CF_ESTATE,
                                 "task %s is %s: only open or claimed "
                                 "tasks can be reassigned",
                                 id, t->status);
    }
    PQclear(res);
    return rc;
}

json_t *cf_queue_task_json(const cf_task *t)
{
    int claimed = strcmp(t->status, "claimed") == 0;
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s, s:s?, s:s?, s:s?, s:b, s:s}", "id",
                     t->id, "case", t->case_no, "title", t->title, "activity", t->activity, "kind",
                     t->kind, "post", t->post[0] ? t->post : NULL, "status", t->status,
                     "claimed_by", t->claimed_by[0] ? t->claimed_by : NULL, "claimed_since",
                     claimed ? t->since : NULL, "due", t->due[0] ? t->due : NULL, "overdue",
                     t->overdue, "created_at", t->created);
}
