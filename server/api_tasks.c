/*
 * The staff queue routes: a post's tasks, one task, claim, complete, return and reassign.  Each
 * calls engine/queue.c with the authenticated account as the actor, confined to the account's
 * post for staff; a task of another post is "not found", whatever its id.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/backoff.h"
#include "engine/queue.h"
#include "internal.h"

int cf_post_known(const cf_registry *reg, const char *post)
{
    for (size_t w = 0; w < reg->n; w++)
        if (cf_workflow_post(reg->wf[w], post))
            return 1;
    return 0;
}

static cf_actor actor_of(const cf_req *r)
{
    cf_actor a = {.account = r->who.name, .post = cf_req_reach(r)};
    return a;
}

/* Answers for a refused queue operation on task `t`. */
static void refused(cf_req *r, int rc, const cf_task *t, const char *err)
{
    switch (rc) {
    case CF_EPERM: cf_reply_problem(r, 403, "worker-task", err, NULL); break;
    case CF_ESTATE:
    case CF_EDUP:
        cf_reply_problem(r, 409, strcmp(t->status, "claimed") == 0 ? "claimed" : "not-open", err,
                         json_pack("{s:s, s:s?}", "task_status", t->status, "claimed_by",
                                   t->claimed_by[0] ? t->claimed_by : NULL));
        break;
    default: cf_reply_error(r, rc, err);
    }
}

void cf_h_post_tasks(cf_srv *s, cf_req *r)
{
    const char *post = r->params[0];
    cf_queue_filter f = {.post = post};
    const char *overdue;
    char err[512];
    cf_task_list l;
    json_t *tasks;
    PGconn *db;
    int bad = 0, rc;

    if (r->who.role == CF_ROLE_STAFF && strcmp(post, r->who.post) != 0) {
        cf_reply_problem(r, 403, "other-post", "staff see their own post's queue only", NULL);
        return;
    }
    if (!cf_post_known(s->reg, post)) {
        cf_reply_problem(r, 404, "not-found", "no workflow declares this post", NULL);
        return;
    }
    f.status = cf_req_query(r, "status", &bad);
    overdue = bad ? NULL : cf_req_query(r, "overdue", &bad);
    f.due_before = bad ? NULL : cf_req_query(r, "due_before", &bad);
    f.text = bad ? NULL : cf_req_query(r, "q", &bad);
    f.limit = bad ? 0 : (int)cf_req_query_int(r, "limit", 50, 1, 500, &bad);
    f.offset = bad ? 0 : (int)cf_req_query_int(r, "offset", 0, 0, 10000000, &bad);
    if (bad)
        return;
    if (overdue && strcmp(overdue, "true") != 0 && strcmp(overdue, "false") != 0) {
        cf_reply_problem(r, 400, "bad-parameter", "overdue is true or false",
                         json_pack("{s:s}", "parameter", "overdue"));
        return;
    }
    f.overdue = overdue && strcmp(overdue, "true") == 0;
    f.court = cf_req_court(s, r);
    f.home = s->cfg->courts[0].code;
    if (!(db = cf_req_db(s, r)))
        return;
    if ((rc = cf_queue_list(db, &f, &l, err, sizeof err)) != 0) {
        if (rc == CF_EINVAL)
            cf_reply_problem(r, 400, "bad-parameter", err, NULL);
        else
            cf_reply_error(r, rc, err);
        cf_task_list_free(&l);
        return;
    }
    tasks = json_array();
    for (size_t i = 0; tasks && i < l.n; i++)
        json_array_append_new(tasks, cf_queue_task_json(&l.tasks[i]));
    cf_reply_json(r, 200,
                  json_pack("{s:s, s:s, s:s, s:{s:I, s:I, s:I, s:I}, s:i, s:i, s:o}", "post", post,
                            "now", l.now, "clock", l.clock, "counts", "total", (json_int_t)l.total,
                            "open", (json_int_t)l.open, "claimed", (json_int_t)l.claimed, "overdue",
                            (json_int_t)l.overdue, "limit", f.limit, "offset", f.offset, "tasks",
                            tasks));
    cf_task_list_free(&l);
}

void cf_h_task(cf_srv *s, cf_req *r)
{
    char err[512];
    cf_task t;
    PGconn *db = cf_req_db(s, r);
    int rc;

    if (!db)
        return;
    if ((rc = cf_queue_get(db, r->params[0], cf_req_reach(r), &t, err, sizeof err)) != 0)
        cf_reply_error(r, rc, err);
    else
        cf_reply_json(r, 200, cf_queue_task_json(&t));
}

void cf_h_claim(cf_srv *s, cf_req *r)
{
    cf_actor a = actor_of(r);
    char err[512];
    cf_task t;
    PGconn *db = cf_req_db(s, r);
    int rc;

    if (!db)
        return;
    rc = cf_queue_claim(db, r->params[0], &a, &t, err, sizeof err);
    if (rc == 0 || rc == CF_EDUP)
        cf_reply_json(
            r, 200,
            json_pack("{s:o, s:b}", "task", cf_queue_task_json(&t), "already", rc == CF_EDUP));
    else
        refused(r, rc, &t, err);
}

void cf_await_verdict(cf_srv *s, cf_req *r, const cf_queue_sent *sent, long wait_ms, cf_verdict *v)
{
    char err[512];

    v->state = -1;
    if (r->db)
        cf_pool_put(s->pool, r->db);
    r->db = NULL;
    for (long waited = 0; waited < wait_ms && v->state < 0; waited += 100) {
        cf_sleep_ms(100);
        if (!(r->db = cf_pool_get(s->pool, 5000, err, sizeof err)))
            break;
        if (cf_queue_verdict(r->db, sent, v, err, sizeof err) != 0)
            v->state = -1;
        cf_pool_put(s->pool, r->db);
        r->db = NULL;
    }
}

void cf_reply_verdict(cf_req *r, const cf_queue_sent *sent, const cf_verdict *v, const char *field,
                      json_t *applied)
{
    if (v->state == 1) {
        json_t *body =
            json_pack("{s:s, s:s, s:I, s:s, s:s}", "status", "applied", "event", sent->event_id,
                      "seq", (json_int_t)v->seq, "from", v->from, "to", v->to);
        if (body && applied)
            json_object_update(body, applied);
        cf_reply_json(r, 200, body);
    } else if (v->state == 0) {
        cf_reply_problem(r, 422, "refused-by-engine", v->reason,
                         json_pack("{s:s, s:s}", "event", sent->event_id, "field", field));
    } else {
        cf_reply_json(r, 202,
                      json_pack("{s:s, s:s, s:s}", "status", "sent", "event", sent->event_id,
                                "detail", "Kafka has it; the engine has not applied it yet"));
    }
    json_decref(applied);
}

long cf_req_wait_ms(cf_srv *s, cf_req *r, int *bad)
{
    long wait_s = cf_req_query_int(r, "wait", -1, 0, 3600, bad);
    return wait_s < 0 || wait_s * 1000 > s->cfg->server_wait_ms ? s->cfg->server_wait_ms
                                                                : wait_s * 1000;
}

/* Completes (`result` not NULL) or returns the task, then waits for the engine's verdict, giving
 * the database connection back between looks: as long as the query's `wait` (seconds) says, but
 * never longer than server.wait_ms. */
static void finish(cf_srv *s, cf_req *r, const json_t *result, const char *reason)
{
    cf_queue_ctx ctx = {.reg = s->reg, .sender = s->sender, .topic = s->topic};
    cf_actor a = actor_of(r);
    char err[1024];
    cf_queue_sent sent;
    cf_verdict v = {.state = -1};
    cf_task t;
    int rc, bad = 0;
    long wait_ms = cf_req_wait_ms(s, r, &bad);

    if (bad || !cf_req_db(s, r))
        return;
    rc = cf_queue_finish(r->db, &ctx, r->params[0], &a, result, reason, &t, &sent, err, sizeof err);
    if (rc == CF_EINVAL || rc == CF_ESCHEMA) {
        char field[160] = "/result";
        if (rc == CF_ESCHEMA && strstr(err, "/data/reason"))
            snprintf(field, sizeof field, "/reason");
        /* The form's check names the field it refused: "/result/<name>: ..." (core/form.c). */
        else if (rc == CF_EINVAL && strncmp(err, "/result/", 8) == 0 && strchr(err, ':'))
            snprintf(field, sizeof field, "%.*s", (int)(strchr(err, ':') - err), err);
        cf_reply_problem(r, 422, "result-refused", err, json_pack("{s:s}", "field", field));
        return;
    }
    if (rc != 0) {
        refused(r, rc, &t, err);
        return;
    }
    cf_await_verdict(s, r, &sent, wait_ms, &v);
    cf_reply_verdict(r, &sent, &v, "/result", json_pack("{s:o}", "task", cf_queue_task_json(&t)));
}

void cf_h_complete(cf_srv *s, cf_req *r)
{
    json_t *body = cf_req_json(r), *result;

    if (!body)
        return;
    result = json_object_get(body, "result");
    if (!json_is_object(result))
        cf_reply_problem(r, 422, "invalid-field", "result is required: a JSON object",
                         json_pack("{s:s}", "field", "/result"));
    else
        finish(s, r, result, NULL);
    json_decref(body);
}

void cf_h_return(cf_srv *s, cf_req *r)
{
    json_t *body = cf_req_json(r);
    const char *reason;

    if (!body)
        return;
    reason = json_string_value(json_object_get(body, "reason"));
    if (!reason || !*reason || strlen(reason) > 1000)
        cf_reply_problem(r, 422, "invalid-field", "reason is required: text of 1 to 1,000 bytes",
                         json_pack("{s:s}", "field", "/reason"));
    else
        finish(s, r, NULL, reason);
    json_decref(body);
}

void cf_h_reassign(cf_srv *s, cf_req *r)
{
    json_t *body = cf_req_json(r);
    const char *post, *account;
    char err[512];
    cf_account to;
    cf_task t;
    int rc;

    if (!body)
        return;
    post = json_string_value(json_object_get(body, "post"));
    account = json_string_value(json_object_get(body, "account"));
    if ((json_object_get(body, "post") && !post) ||
        (json_object_get(body, "account") && !account) || (!post && !account)) {
        cf_reply_problem(r, 422, "invalid-field", "give post, account or both, as text",
                         json_pack("{s:s}", "field",
                                   post || !json_object_get(body, "post") ? "/account" : "/post"));
        goto out;
    }
    if (post && !cf_post_known(s->reg, post)) {
        cf_reply_problem(r, 422, "invalid-field", "no workflow declares this post",
                         json_pack("{s:s}", "field", "/post"));
        goto out;
    }
    if (!cf_req_db(s, r))
        goto out;
    if ((rc = cf_queue_get(r->db, r->params[0], NULL, &t, err, sizeof err)) != 0) {
        cf_reply_error(r, rc, err);
        goto out;
    }
    if (account) {
        rc = cf_account_get(r->db, account, &to, err, sizeof err);
        if (rc != 0 && rc != CF_ENOTFOUND) {
            cf_reply_error(r, rc, err);
            goto out;
        }
        /* Of the task's court too: the dispatcher confined the lead to their court's tasks. */
        if (rc == CF_ENOTFOUND || to.role != CF_ROLE_STAFF || to.disabled ||
            strcmp(to.post, post ? post : t.post) != 0 ||
            (cf_req_court(s, r) &&
             strcmp(to.court[0] ? to.court : s->cfg->courts[0].code, cf_req_court(s, r)) != 0)) {
            cf_reply_problem(r, 422, "invalid-field",
                             "account must be an enabled staff account of the task's (new) post "
                             "and court",
                             json_pack("{s:s}", "field", "/account"));
            goto out;
        }
    }
    rc = cf_queue_reassign(r->db, r->params[0], post, account, r->who.name, &t, err, sizeof err);
    if (rc == 0)
        cf_reply_json(r, 200, json_pack("{s:o}", "task", cf_queue_task_json(&t)));
    else
        refused(r, rc, &t, err);
out:
    json_decref(body);
}
