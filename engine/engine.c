/*
 * The engine's loop: consume a batch, apply each event, commit the batch with
 * its offsets in one transaction, publish the outbox, tick timers.  Exactly
 * once on the database: offsets live in PostgreSQL with the effects they
 * cover, the engine seeks to them when it gets a partition, and a partition's
 * generation number fences a previous owner whose commit comes too late.
 */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/bus.h"
#include "base/log.h"
#include "base/utf8.h"
#include "core/caseno.h"
#include "core/chain.h"
#include "core/deadletter.h"
#include "core/machine.h"
#include "core/message.h"
#include "engine/internal.h"
#include "engine/migrate.h"

/* The largest event accepted: a case event is a few kilobytes; a megabyte is a mistake or an
 * attack. */
enum { EVENT_MAX = 1024 * 1024 };

/* The engine's waits for PostgreSQL: from 200 ms, doubling, at most 5 s. */
enum { RETRY_FIRST_MS = 200, RETRY_MAX_MS = 5000 };

static int retry_delay(int attempt)
{
    return (int)cf_backoff_delay(RETRY_FIRST_MS, RETRY_MAX_MS, attempt, NULL);
}

static void time_text(const cf_engine *e, cf_time t, char *buf, size_t n)
{
    cf_time_format(t, e->offset_min, buf, n);
}

/* ---- partitions: claiming, fencing, seeking ---- */

/*
 * Claims `list`'s partitions in the database: each one's generation goes up by
 * one (so that a previous owner's late commit fails) and its stored offset is
 * written into the list for the consumer to start from.
 */
static int claim(cf_engine *e, rd_kafka_topic_partition_list_t *list, char *err, size_t errsz)
{
    cf_sqlarr parts;
    const char *p[4];
    PGresult *res;

    cf_sqlarr_init(&parts);
    for (int i = 0; i < list->cnt; i++)
        cf_sqlarr_addf(&parts, "%d", list->elems[i].partition);
    p[0] = e->cfg->group;
    p[1] = e->t_events;
    p[2] = cf_sqlarr_text(&parts);
    p[3] = e->owner;
    res = cf_store_exec(e->db,
                        "insert into consumer_offsets (group_id, topic, partition, next_offset, "
                        "generation, owner) select $1, $2, p, -1, 1, $4 from unnest($3::int[]) p "
                        "on conflict (group_id, topic, partition) do update set generation = "
                        "consumer_offsets.generation + 1, owner = excluded.owner "
                        "returning partition, next_offset, generation",
                        4, p, err, errsz);
    cf_sqlarr_free(&parts);
    if (!res)
        return CF_EDB;
    free(e->parts);
    e->parts = calloc((size_t)PQntuples(res) + 1, sizeof *e->parts);
    e->nparts = 0;
    for (int r = 0; e->parts && r < PQntuples(res); r++) {
        int32_t pn = (int32_t)strtol(PQgetvalue(res, r, 0), NULL, 10);
        long long next = strtoll(PQgetvalue(res, r, 1), NULL, 10);
        e->parts[e->nparts].partition = pn;
        e->parts[e->nparts].generation = strtoll(PQgetvalue(res, r, 2), NULL, 10);
        e->nparts++;
        for (int i = 0; i < list->cnt; i++)
            if (list->elems[i].partition == pn)
                list->elems[i].offset = next >= 0 ? next : RD_KAFKA_OFFSET_BEGINNING;
    }
    PQclear(res);
    return 0;
}

static int reconnect(cf_engine *e);
static void settle_for_rebalance(cf_engine *e);

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t kerr,
                         rd_kafka_topic_partition_list_t *list, void *opaque)
{
    cf_engine *e = opaque;
    char err[512];

    /* States carried from batch to batch must not cross a change of partitions: the batch in
     * flight is settled first (fencing decides whether it still counts). */
    settle_for_rebalance(e);
    cf_cache_clear(e->cache);
    if (kerr == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        /* Without the claim the engine may not consume: wait for the database. */
        for (int attempt = 1; claim(e, list, err, sizeof err) != 0; attempt++) {
            cf_warn("claiming partitions: %s (retrying in %d ms)", err, retry_delay(attempt));
            if (*e->stop)
                return;
            cf_sleep_ms(retry_delay(attempt));
            if (PQstatus(e->db) != CONNECTION_OK && reconnect(e) != 0)
                return;
        }
        cf_info("assigned %d partition%s of %s", list->cnt, list->cnt == 1 ? "" : "s", e->t_events);
        rd_kafka_assign(rk, list);
        /* resync pauses a partition another engine took; librdkafka keeps an application's
         * pause across a rebalance, so without this the partition, given back to this engine
         * later, would be assigned and never fetched again. */
        rd_kafka_resume_partitions(rk, list);
    } else {
        cf_info("partitions revoked");
        e->nparts = 0;
        rd_kafka_assign(rk, NULL);
    }
}

/*
 * After a batch failed to commit: keeps the partitions whose generation is
 * still ours, seeks them back to their stored offsets (the uncommitted events
 * come again), and lets go of the ones another engine took.
 */
static int resync(cf_engine *e, char *err, size_t errsz)
{
    rd_kafka_topic_partition_list_t *seek, *lost;
    const char *p[2] = {e->cfg->group, e->t_events};
    PGresult *res;
    size_t kept = 0;

    cf_cache_clear(e->cache);
    res = cf_store_exec(e->db,
                        "select partition, next_offset, generation from consumer_offsets where "
                        "group_id = $1 and topic = $2",
                        2, p, err, errsz);
    if (!res)
        return CF_EDB;
    seek = rd_kafka_topic_partition_list_new((int)e->nparts + 1);
    lost = rd_kafka_topic_partition_list_new((int)e->nparts + 1);
    for (size_t k = 0; k < e->nparts; k++) {
        int mine = 0;
        long long next = -1;
        for (int r = 0; r < PQntuples(res); r++)
            if (strtol(PQgetvalue(res, r, 0), NULL, 10) == e->parts[k].partition) {
                next = strtoll(PQgetvalue(res, r, 1), NULL, 10);
                mine = strtoll(PQgetvalue(res, r, 2), NULL, 10) == e->parts[k].generation;
            }
        if (mine) {
            rd_kafka_topic_partition_list_add(seek, e->t_events, e->parts[k].partition)->offset =
                next >= 0 ? next : RD_KAFKA_OFFSET_BEGINNING;
            e->parts[kept++] = e->parts[k];
        } else {
            rd_kafka_topic_partition_list_add(lost, e->t_events, e->parts[k].partition);
            cf_warn("partition %d has a newer owner: leaving it", e->parts[k].partition);
        }
    }
    e->nparts = kept;
    PQclear(res);
    if (lost->cnt > 0)
        rd_kafka_pause_partitions(e->consumer, lost);
    if (seek->cnt > 0) {
        rd_kafka_error_t *kerr = rd_kafka_seek_partitions(e->consumer, seek, 5000);
        if (kerr) {
            cf_warn("seeking back after a failed batch: %s", rd_kafka_error_string(kerr));
            rd_kafka_error_destroy(kerr);
        }
    }
    rd_kafka_topic_partition_list_destroy(seek);
    rd_kafka_topic_partition_list_destroy(lost);
    return 0;
}

/* Reconnects to PostgreSQL with backoff until it answers or the engine is told to stop. */
static int reconnect(cf_engine *e)
{
    for (int attempt = 1; !*e->stop; attempt++) {
        char why[512];
        PQreset(e->db);
        if (PQstatus(e->db) == CONNECTION_OK && cf_store_session(e->db, why, sizeof why) == 0) {
            cf_info("connected to PostgreSQL again");
            return 0;
        }
        const char *msg = PQerrorMessage(e->db);
        cf_warn("PostgreSQL does not answer: %.*s (retrying in %d ms)", (int)strcspn(msg, "\n"),
                msg, retry_delay(attempt));
        cf_sleep_ms(retry_delay(attempt));
    }
    return CF_ETIMEOUT;
}

/* ---- applying one event ---- */

/* Adds an outbox row; when memory runs out the batch is marked broken and is not committed. */
static void add_outbox(cf_engine *e, const char *topic, const char *key, const char *msg_id,
                       json_t *payload /* stolen */)
{
    char *text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    if (!text)
        cf_error("out of memory building the outbox message %s: the batch is retried", msg_id);
    cf_batch_outbox(e->cur, topic, key, msg_id, text); /* a NULL text breaks the batch */
    json_decref(payload);
}

/* Rejects a message: a dead-letter row, and a message to caseflow.dlq with the original bytes. */
static void dead_letter(cf_engine *e, const rd_kafka_message_t *m, const char *event_id,
                        const char *case_no, const char *reason_in)
{
    char reason[1024];
    json_t *payload;

    snprintf(reason, sizeof reason, "%s", reason_in);
    cf_utf8_clip(reason);
    payload = cf_deadletter_new(rd_kafka_topic_name(m->rkt), m->partition, m->offset, m->payload,
                                m->len, reason, event_id, case_no);
    cf_batch_dead(e->cur, event_id, case_no, reason, rd_kafka_topic_name(m->rkt), m->partition,
                  (long long)m->offset, (long long)m->len);
    if (!payload || e->cur->broken) {
        /* Only memory can fail here now; a dead letter without its reason is never sent. */
        cf_error("out of memory recording a dead letter at %s/%d@%lld: the batch is retried",
                 rd_kafka_topic_name(m->rkt), m->partition, (long long)m->offset);
        json_decref(payload);
        e->cur->broken = 1;
        return;
    }
    add_outbox(e, e->t_dlq, case_no, json_string_value(json_object_get(payload, "id")),
               json_incref(payload));
    json_decref(payload);
    e->n.rejected++;
    cf_case_warn(case_no, "rejected %s at %s/%d@%lld: %s", event_id ? event_id : "a message",
                 rd_kafka_topic_name(m->rkt), m->partition, (long long)m->offset, reason);
}

/* The JSON text of `v` for a json column: NULL for none or JSON null; marks the batch broken
 * when memory runs out. */
static char *json_text(cf_engine *e, const json_t *v)
{
    char *s;
    if (!v || json_is_null(v))
        return NULL;
    if (!(s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)))
        e->cur->broken = 1;
    return s;
}

static void set_task(cf_engine *e, const char *id, const char *status, const json_t *result)
{
    cf_task_row *t = cf_batch_task(e->cur, id);
    if (!t)
        return;
    t->status = status;
    t->updated_at = e->now;
    if (result) {
        free(t->result);
        t->result = json_text(e, result);
    }
}

static const char *member(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The message that hands the task of action `a` to its worker (core/message.h). */
static json_t *task_message(const cf_step_action *a, const char *case_no, const cf_workflow *wf,
                            const cf_step *step, const char *now)
{
    const cf_task_msg t = {.task_id = a->u.task.id,
                           .case_no = case_no,
                           .kind = a->u.task.task,
                           .activity = a->u.task.activity,
                           .title = json_string_value(a->u.task.title),
                           .due = json_string_value(a->u.task.due),
                           .post = json_string_value(a->u.task.post),
                           .workflow = wf->name,
                           .version = wf->version,
                           .params = a->u.task.params,
                           .data = json_object_get(step->state, "data"),
                           .at = now};
    return cf_msg_task_new(&t);
}

/* A task the step creates: its row, and its message when a worker takes it at once. */
static void new_task(cf_engine *e, const char *case_no, const cf_workflow *wf, const cf_step *step,
                     const cf_step_action *a)
{
    const char *id = a->u.task.id, *task = a->u.task.task;
    cf_task_row *t = cf_batch_task(e->cur, id);
    cf_batch *b = e->cur;
    char court[32];

    if (!t)
        return;
    t->is_new = 1;
    t->worker = a->u.task.worker;
    t->dispatched = t->worker && !a->u.task.batch;
    t->status = "open";
    t->created_at = t->updated_at = e->now;
    cf_batch_set(b, &t->case_no, case_no);
    cf_batch_set(b, &t->activity, a->u.task.activity);
    cf_batch_set(b, &t->kind, task);
    cf_batch_set(b, &t->post, json_string_value(a->u.task.post));
    cf_batch_set(b, &t->title, json_string_value(a->u.task.title));
    cf_batch_set(b, &t->due, json_string_value(a->u.task.due));
    cf_batch_set(b, &t->batch_group, json_string_value(a->u.task.batch));
    /* Its case's court, which the queues of a court filter by (schemas/sql/016_tasks_court.sql). */
    cf_batch_set(b, &t->court,
                 cf_caseno_court(case_no, member(json_object_get(step->state, "data"), "court"),
                                 court, sizeof court));
    free(t->params);
    t->params = json_text(e, a->u.task.params);
    free(t->result);
    t->result = NULL;
    if (t->dispatched) {
        char topic[256];
        snprintf(topic, sizeof topic, "%s%s", e->t_tasks, task);
        char now[64];
        time_text(e, e->now, now, sizeof now);
        add_outbox(e, topic, case_no, id, task_message(a, case_no, wf, step, now));
    }
}

/* A `notify` action with a post: a notice on that post (the feed has the action too).  The key
 * is the event's place in the case and the action's in the event, so that it is made once. */
static void notify_post(cf_engine *e, const char *case_no, const cf_step *step, size_t i,
                        const cf_step_action *a)
{
    const char *post = json_string_value(a->u.notify.post);
    const char *message = json_string_value(a->u.notify.message);
    char key[512], *body;

    if (!post)
        return;
    snprintf(key, sizeof key, "notify:%s:%lld:%zu", case_no,
             (long long)json_integer_value(json_object_get(step->state, "seq")), i);
    body = json_text(e, json_array_get(step->actions, i));
    cf_batch_notice(e->cur, key, post,
                    cf_registry_court_code(e->reg, case_no,
                                           member(json_object_get(step->state, "data"), "court")),
                    "workflow", case_no, message ? message : "案件动态", body, e->now);
    free(body);
}

/* Turns the actions of a step into rows: timers, tasks, messages to workers, notices. */
static void record_actions(cf_engine *e, const char *case_no, const cf_workflow *wf,
                           const cf_step *step)
{
    for (size_t i = 0; i < step->nacts; i++) {
        const cf_step_action *a = &step->acts[i];
        switch (a->kind) {
        case CF_SA_NOTIFY: notify_post(e, case_no, step, i, a); break;
        case CF_SA_TIMER:
        case CF_SA_TIMER_CANCEL:
            cf_batch_timer(e->cur, case_no, a->u.timer.name, json_string_value(a->u.timer.at));
            break;
        case CF_SA_TASK: new_task(e, case_no, wf, step, a); break;
        case CF_SA_TASK_CANCEL:
            set_task(e, json_string_value(a->u.task_cancel.id), "cancelled", NULL);
            break;
        case CF_SA_SET:
        case CF_SA_MERGE:
        case CF_SA_ASSIGN:
        case CF_SA_CLOCK:
        case CF_SA_RECORD: break; /* in the case's state already */
        }
    }
}

/* The task a task.* event reports on is settled in the tasks table too. */
static void settle_task(cf_engine *e, const char *type, const json_t *data)
{
    const char *tid = member(data, "task_id");
    const char *status = strcmp(type, "task.completed") == 0 ? "done"
                         : strcmp(type, "task.failed") == 0  ? "failed"
                                                             : "returned";
    json_t *result = strcmp(type, "task.completed") == 0
                         ? json_incref(json_object_get(data, "result"))
                         : json_pack("{s:O?, s:O?}", "error", json_object_get(data, "error"),
                                     "reason", json_object_get(data, "reason"));
    if (tid)
        set_task(e, tid, status, result);
    json_decref(result);
}

/* The case as the event leaves it: its row, and the state the case's next event starts from. */
static void record_case(cf_engine *e, const char *case_no, const cf_workflow *wf,
                        const cf_step *step, long long seq, const char *hash, cf_time created_at)
{
    cf_case_row *c = cf_batch_case(e->cur, case_no);
    if (!c)
        return;
    c->workflow = wf->name;
    c->version = wf->version;
    snprintf(c->state, sizeof c->state, "%s", step->to);
    c->seq = seq;
    json_incref(step->state);
    json_decref(c->body);
    c->body = step->state;
    snprintf(c->hash, sizeof c->hash, "%s", hash);
    c->created_at = created_at;
    c->updated_at = e->now;
}

static void record_event(cf_engine *e, const rd_kafka_message_t *m, json_t *ev, const char *id,
                         const char *type, const char *case_no, const cf_workflow *wf,
                         const cf_step *step, const char *prev_hash, const char *hash,
                         cf_time created_at)
{
    char now[64], msg_id[300];
    char *actions = json_dumps(step->actions, JSON_COMPACT);
    long long n = json_integer_value(json_object_get(step->state, "seq"));

    if (!actions) {
        cf_error("out of memory recording event %s: the batch is retried", id);
        e->cur->broken = 1;
    }
    /* The event as it came, byte for byte (a json column keeps it so): the chain hashes these. */
    cf_batch_event(e->cur, case_no, n, id, type, member(ev, "source"), member(ev, "time"), e->now,
                   m->payload, m->len, step->from, step->to, actions, prev_hash, hash);
    free(actions);
    record_case(e, case_no, wf, step, n, hash, created_at);
    if (strncmp(type, "task.", 5) == 0)
        settle_task(e, type, json_object_get(ev, "data"));
    record_actions(e, case_no, wf, step);

    time_text(e, e->now, now, sizeof now);
    {
        const cf_transition_rec tr = {.case_no = case_no,
                                      .seq = n,
                                      .event = type,
                                      .event_id = id,
                                      .from = step->from,
                                      .to = step->to,
                                      .time = member(ev, "time"),
                                      .applied_at = now,
                                      .hash = hash,
                                      .path = step->path,
                                      .actions = step->actions};
        add_outbox(e, e->t_transitions, case_no,
                   cf_msg_transition_id(case_no, n, msg_id, sizeof msg_id),
                   cf_msg_transition_new(&tr));
    }
}

/* Finds a case's current state for this batch: changed in it or in the batch in flight, cached,
 * or prefetched.  NULL when the case does not exist; *unreadable is set when it does, but what
 * is stored of it cannot be read (the reason). */
static const json_t *lookup_state(cf_engine *e, const lookups *l, const char *case_no,
                                  char hash[65], cf_time *created_at, const char **unreadable)
{
    const cf_case_row *c = cf_batch_find_case(e->cur, case_no);
    const cf_cached *cached;
    long i;

    *unreadable = NULL;
    if (!c && e->inflight)
        c = cf_batch_find_case(e->inflight, case_no);
    if (c) {
        snprintf(hash, 65, "%s", c->hash);
        *created_at = c->created_at;
        return c->body;
    }
    if ((cached = cf_cache_get(e->cache, case_no))) {
        snprintf(hash, 65, "%s", cached->hash);
        *created_at = cached->created_at;
        return cached->state;
    }
    if ((i = cf_index_find(&l->state_ix, case_no)) >= 0) {
        const stored_case *st = &l->states[i];
        snprintf(hash, 65, "%s", st->hash);
        *created_at = st->created_at;
        if (st->state && json_is_object(st->state))
            return st->state;
        *unreadable = st->error ? st->error : "not a JSON object";
        return NULL;
    }
    return NULL;
}

/*
 * The task a task.* event reports on: as stored (where a claim is recorded: the stored row wins,
 * also over the batch in flight, which may have committed it already), or else as created by
 * this batch or the one in flight.  Returns 0 when it is found (`out` borrows from the rows).
 */
static int find_task(const cf_engine *e, const lookups *l, const char *task_id, task_owner *out)
{
    const cf_batch *bs[2] = {e->cur, e->inflight};
    long i = cf_index_find(&l->task_ix, task_id);
    if (i >= 0) {
        *out = l->tasks[i];
        return 0;
    }
    for (int k = 0; k < 2; k++) {
        const cf_task_row *t = bs[k] ? cf_batch_find_task(bs[k], task_id) : NULL;
        if (t && t->is_new) {
            *out = (task_owner){.worker = t->worker, .kind = t->kind, .post = t->post};
            return 0;
        }
    }
    return CF_ENOTFOUND;
}

/*
 * Returns 1 when `source` may report on `task`: a worker task only from its worker kind
 * ("worker:<kind>"), a staff task only from the account that claimed it ("staff:<post>:<account>"),
 * which is what the queue's claim records.  Otherwise 0, with the reason in `why`.
 */
static int task_source_ok(const task_owner *task, const char *task_id, const char *source,
                          char *why, size_t n)
{
    const char *kind = task->kind, *post = task->post, *claimer = task->claimed_by;
    char want[512];

    if (task->worker) {
        snprintf(want, sizeof want, "worker:%s", kind ? kind : "");
        if (strcmp(source, want) == 0)
            return 1;
        snprintf(why, n, "task %s is the %s worker's: a report on it from '%s' is not accepted",
                 task_id, kind ? kind : "?", source);
        return 0;
    }
    if (!claimer) {
        snprintf(why, n,
                 "task %s is not claimed: a member of staff claims a task before completing or "
                 "returning it (report from '%s' not accepted)",
                 task_id, source);
        return 0;
    }
    if (post)
        snprintf(want, sizeof want, "staff:%s:%s", post, claimer);
    if (post ? strcmp(source, want) == 0
             : strncmp(source, "staff:", 6) == 0 && strchr(source + 6, ':') &&
                   strcmp(strchr(source + 6, ':') + 1, claimer) == 0)
        return 1;
    snprintf(why, n,
             "task %s is claimed by %s of post %s: a report on it from '%s' is not accepted",
             task_id, claimer, post ? post : "-", source);
    return 0;
}

static int same_member(const json_t *a, const json_t *b, const char *key)
{
    json_t *x = json_object_get(a, key), *y = json_object_get(b, key);
    return x && y ? json_equal(x, y) : x == y;
}

/*
 * Returns 1 when the event `ev` (the bytes of `m`) is a repeat of the event stored as `stored`
 * (text), 0 when its id was reused for another event.  A repeat is the same bytes; or the same
 * event sent again at another time (all but `time` equal); or a worker's report on the same task
 * by the same kind, which at-least-once delivery makes when a worker dies after reporting and its
 * successor does the task again (the first report stands).
 */
static int same_event(const char *stored, size_t len, const rd_kafka_message_t *m, const json_t *ev)
{
    json_t *old, *a = NULL, *b = NULL;
    const char *type, *source;
    int same = 0;

    if (len == m->len && memcmp(stored, m->payload, m->len) == 0)
        return 1;
    old = json_loadb(stored, len, JSON_REJECT_DUPLICATES, NULL);
    if (old)
        cf_caseno_normalize_event(old);
    if (!old || !same_member(old, ev, "type") || !same_member(old, ev, "case") ||
        !same_member(old, ev, "source"))
        goto out;
    type = json_string_value(json_object_get(ev, "type"));
    source = json_string_value(json_object_get(ev, "source"));
    if (type && source && strncmp(type, "task.", 5) == 0 && strncmp(source, "worker:", 7) == 0) {
        same = same_member(json_object_get(old, "data"), json_object_get(ev, "data"), "task_id");
        goto out;
    }
    a = json_copy(old);
    b = json_copy((json_t *)ev);
    if (a && b) {
        json_object_del(a, "time");
        json_object_del(b, "time");
        same = json_equal(a, b);
    }
out:
    json_decref(a);
    json_decref(b);
    json_decref(old);
    return same;
}

static void note_offset(cf_engine *e, const rd_kafka_message_t *m)
{
    cf_batch_offset(e->cur, m->partition, m->offset + 1);
}

/* The body of the event applied before with `id` (stored, in this batch or in the one in
 * flight), or NULL. */
static const char *known_event(const cf_engine *e, const lookups *l, const char *id, size_t *len)
{
    const cf_event_row *ev = cf_batch_find_event(e->cur, id);
    long i;
    if (!ev && e->inflight)
        ev = cf_batch_find_event(e->inflight, id);
    if (ev) {
        *len = ev->len;
        return ev->body;
    }
    if ((i = cf_index_find(&l->known_ix, id)) < 0)
        return NULL;
    *len = strlen(l->known[i]);
    return l->known[i];
}

/*
 * An event whose id was applied before: a repeat of it is dropped and counted, another event
 * under the same id is dead-lettered.  Returns 1 when the event was settled so, 0 when its id is
 * new.
 */
static int settled_as_repeat(cf_engine *e, const lookups *l, const rd_kafka_message_t *m,
                             const json_t *ev, const char *id, const char *case_no)
{
    char err[512];
    size_t len;
    const char *known = known_event(e, l, id, &len);

    if (!known)
        return 0;
    if (!same_event(known, len, m, ev)) {
        snprintf(err, sizeof err,
                 "id reused with different content: event id '%s' was applied before to another "
                 "event; an id names one event only",
                 id);
        dead_letter(e, m, id, case_no, err);
        return 1;
    }
    cf_batch_dup(e->cur, id);
    e->n.duplicates++;
    cf_case_debug(case_no, "duplicate event %s dropped", id);
    return 1;
}

/*
 * An event of a member of staff ("staff:<post>:<account>") that the workflow refused goes to the
 * dead-letter topic, which staff do not read: their post gets a notice saying what was refused
 * and why (a decision their post may not make, or not in this state).  Once per event id.
 */
static void refusal_notice(cf_engine *e, const json_t *ev, const cf_workflow *wf, const char *id,
                           const char *type, const char *case_no, const char *court,
                           const char *reason)
{
    const char *source = member(ev, "source"), *colon;
    const json_t *data = json_object_get(ev, "data");
    char post[128], key[512], title[1024], what[512];
    json_t *body;
    char *text;

    if (!source || strncmp(source, "staff:", 6) != 0 || !(colon = strchr(source + 6, ':')) ||
        colon == source + 6 || (size_t)(colon - source - 6) >= sizeof post || !id)
        return;
    snprintf(post, sizeof post, "%.*s", (int)(colon - source - 6), source + 6);
    if (strcmp(type, "case.decided") == 0) {
        const char *name = member(data, "decision"), *method = member(data, "close_method");
        const cf_decision *d = wf && name ? cf_workflow_decision(wf, name) : NULL;
        snprintf(what, sizeof what, "%s%s%s",
                 d && d->title ? d->title
                 : name        ? name
                               : "决定",
                 method ? "：" : "", method ? method : "");
        snprintf(title, sizeof title, "您关于案件%s的决定（%s）未被接受", case_no ? case_no : "",
                 what);
    } else {
        snprintf(title, sizeof title, "您提交的%s（案件%s）未被接受", type, case_no ? case_no : "");
    }
    cf_utf8_clip(title);
    snprintf(key, sizeof key, "refusal:%s", id);
    body = json_pack("{s:s, s:s, s:s, s:s, s:O?}", "reason", reason, "event_id", id, "type", type,
                     "source", source, "data", data);
    text = json_text(e, body);
    json_decref(body);
    cf_batch_notice(e->cur, key, post, court, "refusal", case_no, title, text, e->now);
    free(text);
}

static void apply_one(cf_engine *e, const rd_kafka_message_t *m, json_t *parsed, lookups *l)
{
    char err[1024], hash[65], prev[65] = "";
    json_error_t jerr;
    json_t *ev = NULL;
    const json_t *state;
    const char *type, *id, *case_no, *unreadable;
    cf_time created_at = e->now;
    const cf_schema *schema;
    const cf_workflow *wf;
    cf_step step;
    int rc, court;

    note_offset(e, m);
    if (m->len > EVENT_MAX) {
        snprintf(err, sizeof err, "event too large: %zu bytes, the limit is %d", m->len, EVENT_MAX);
        dead_letter(e, m, NULL, NULL, err);
        return;
    }
    /* Parsed once for the whole batch; only a message that failed is parsed again, for the
     * parser's message. */
    ev = parsed       ? json_incref(parsed)
         : m->payload ? json_loadb(m->payload, m->len, JSON_REJECT_DUPLICATES, &jerr)
                      : NULL;
    if (!ev) {
        snprintf(err, sizeof err, "not JSON: %s (line %d, column %d)",
                 m->payload ? jerr.text : "empty message", jerr.line, jerr.column);
        dead_letter(e, m, NULL, NULL, err);
        return;
    }
    if (!json_is_object(ev)) {
        dead_letter(e, m, NULL, NULL, "not an event: the message is JSON but not an object");
        goto out;
    }
    if (!parsed)
        cf_caseno_normalize_event(ev);
    type = json_string_value(json_object_get(ev, "type"));
    id = json_string_value(json_object_get(ev, "id"));
    case_no = json_string_value(json_object_get(ev, "case"));
    if (!type) {
        dead_letter(e, m, id, case_no, "the event has no type");
        goto out;
    }
    if (!cf_json_numbers_sane(ev, err, sizeof err)) {
        dead_letter(e, m, id, case_no, err);
        goto out;
    }
    schema = cf_registry_schema(e->reg, type);
    if (!schema) {
        snprintf(err, sizeof err, "unknown event type '%s'", type);
        dead_letter(e, m, id, case_no, err);
        goto out;
    }
    if (cf_schema_validate(schema, ev, err + 100, sizeof err - 100) != 0) {
        memcpy(err, "breaks its schema: ", 19);
        memmove(err + 19, err + 100, strlen(err + 100) + 1);
        dead_letter(e, m, id, case_no, err);
        goto out;
    }
    if (strncmp(type, "clock.", 6) == 0) {
        cf_time to;
        const char *text = json_string_value(json_object_get(json_object_get(ev, "data"), "to"));
        if (!e->simulated) {
            dead_letter(e, m, id, case_no,
                        "clock.advance needs a simulated clock (engine.clock: simulated)");
        } else if (!text || cf_time_parse(text, &to) != 0) {
            dead_letter(e, m, id, case_no, "clock.advance needs data.to as an ISO 8601 time");
        } else if (to > e->now) {
            e->now = to;
            time_text(e, to, e->cur->clock, sizeof e->cur->clock);
            cf_info("simulated clock moved to %s", e->cur->clock);
        }
        goto out;
    }
    if (memchr(m->payload, '\0', m->len)) {
        dead_letter(e, m, id, case_no, "the event holds a NUL byte, which JSON text may not");
        goto out;
    }
    if (settled_as_repeat(e, l, m, ev, id, case_no))
        goto out;
    if (strncmp(type, "task.", 5) == 0) {
        const char *tid =
            json_string_value(json_object_get(json_object_get(ev, "data"), "task_id"));
        task_owner task;
        if (tid && find_task(e, l, tid, &task) == 0 &&
            !task_source_ok(&task, tid, json_string_value(json_object_get(ev, "source")), err,
                            sizeof err)) {
            dead_letter(e, m, id, case_no, err);
            goto out;
        }
    }
    state = lookup_state(e, l, case_no, prev, &created_at, &unreadable);
    if (unreadable) {
        /* Never "no case": the case exists, and what is stored of it cannot be read. */
        snprintf(err, sizeof err,
                 "the stored state of case %s cannot be read (%s): the event is held here until "
                 "the state is mended",
                 case_no, unreadable);
        cf_case_error(case_no, "%s", err);
        dead_letter(e, m, id, case_no, err);
        goto out;
    }
    if (state) {
        const char *name = json_string_value(json_object_get(state, "workflow"));
        int version = (int)json_integer_value(json_object_get(state, "version"));
        wf = cf_registry_find(e->reg, name, version);
        if (!wf) {
            snprintf(err, sizeof err,
                     "case is on workflow %s version %d, which this engine has "
                     "not loaded",
                     name, version);
            dead_letter(e, m, id, case_no, err);
            goto out;
        }
    } else {
        wf = cf_registry_creator(e->reg, type);
        if (!wf) {
            snprintf(err, sizeof err, "unknown case: no case %s exists, and %s does not create one",
                     case_no, type);
            dead_letter(e, m, id, case_no, err);
            goto out;
        }
        snprintf(prev, sizeof prev, "%s", cf_chain_genesis);
    }
    /* The case's court decides the calendar and teams its workflow runs with; a court this
     * installation does not serve gets nothing applied. */
    {
        const json_t *data = json_object_get(state ? state : ev, "data");
        court = cf_registry_court_of(
            e->reg, case_no, json_string_value(json_object_get(data, "court")), err, sizeof err);
        if (court < 0) {
            dead_letter(e, m, id, case_no, err);
            goto out;
        }
        wf = cf_registry_in_court(e->reg, court, wf);
    }
    rc = cf_machine_apply(wf, state, ev, e->now, &step, err, sizeof err);
    if (rc != 0) {
        if (strcmp(type, "timer.fired") == 0 && rc == CF_ESTATE) {
            /* A timer cancelled or restarted after it fired: its late event changes nothing. */
            e->n.stale_timers++;
            cf_case_debug(case_no, "timer event %s ignored: %s", id, err);
        } else {
            dead_letter(e, m, id, case_no, err);
            refusal_notice(e, ev, wf, id, type, case_no,
                           e->reg->ncourts ? e->reg->courts[court].code : NULL, err);
        }
        goto out;
    }
    if (cf_chain_hash(prev, case_no, json_integer_value(json_object_get(step.state, "seq")), id,
                      m->payload, m->len, step.to, hash) != 0) {
        dead_letter(e, m, id, case_no, "out of memory hashing the event");
        cf_step_clear(&step);
        goto out;
    }
    /* The batch's rows now hold the case's new state and the event's id and body, for the
     * events after this one. */
    record_event(e, m, ev, id, type, case_no, wf, &step, prev, hash, created_at);
    cf_case_debug(case_no, "%s: %s -> %s", type, step.from[0] ? step.from : "(new)", step.to);
    e->n.applied++;
    cf_step_clear(&step);
out:
    json_decref(ev);
}

/* ---- a batch ---- */

/* ---- the committer: commits one batch while the engine applies the next ---- */

static void *committer_main(void *arg)
{
    cf_engine *e = arg;
    pthread_mutex_lock(&e->mu);
    for (;;) {
        while (e->job != 1 && !e->quit)
            pthread_cond_wait(&e->cv, &e->mu);
        if (e->job != 1)
            break;
        pthread_mutex_unlock(&e->mu);
        {
            char err[1024] = "";
            int rc = cf_batch_commit(e, e->inflight, err, sizeof err);
            pthread_mutex_lock(&e->mu);
            e->job_rc = rc;
            snprintf(e->job_err, sizeof e->job_err, "%s", err);
            e->job = 2;
            pthread_cond_broadcast(&e->cv);
        }
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

/* A failed commit leaves the committer's connection to be mended before the next batch. */
static void mend_commit_connection(cf_engine *e)
{
    char why[512];
    for (int attempt = 1; !*e->stop && PQstatus(e->cdb) != CONNECTION_OK; attempt++) {
        PQreset(e->cdb);
        if (PQstatus(e->cdb) == CONNECTION_OK && cf_store_session(e->cdb, why, sizeof why) == 0)
            break;
        cf_sleep_ms(retry_delay(attempt));
    }
}

/* Commits failed in a row before the log says so at error level (then again at 8, 16, ...). */
enum { CF_FAILING_ALERT = 4 };

/* Keeps this engine's health where operators and /metrics read it (engine_status); best effort:
 * when the database is away, the log has said it already. */
static void record_health(cf_engine *e)
{
    char failing[16], total[32], isolated[32], why[512];
    const char *p[5] = {e->owner, failing, total, isolated, e->failing ? e->last_failure : NULL};
    PGresult *res;

    snprintf(failing, sizeof failing, "%d", e->failing);
    snprintf(total, sizeof total, "%lld", e->n.commit_failures);
    snprintf(isolated, sizeof isolated, "%lld", e->n.isolated);
    res =
        cf_store_exec(e->db,
                      "insert into engine_status (owner, failing, commit_failures, isolated, "
                      "last_failure, last_failure_at, updated_at) values ($1, $2::int, $3::bigint, "
                      "$4::bigint, $5::text, case when $5::text is null then null else now() "
                      "end, now()) on conflict (owner) "
                      "do update set failing = excluded.failing, commit_failures = "
                      "excluded.commit_failures, isolated = excluded.isolated, last_failure = "
                      "coalesce(excluded.last_failure, engine_status.last_failure), "
                      "last_failure_at = coalesce(excluded.last_failure_at, "
                      "engine_status.last_failure_at), updated_at = now()",
                      5, p, why, sizeof why);
    if (!res)
        cf_warn("recording the engine's health: %s", why);
    PQclear(res);
}

/* A batch committed: its outbox rows go to the relay, its states into the cache. */
static void settle_committed(cf_engine *e, cf_batch *b)
{
    for (size_t i = 0; i < b->outbox.n; i++) {
        const cf_outbox_row *o = &b->outbox.v[i];
        cf_relay_send(e, b->ids[i], o->topic, o->key, o->msg_id, o->payload, o->len);
    }
    for (size_t i = 0; i < b->cases.n; i++) {
        const cf_case_row *c = &b->cases.v[i];
        cf_cache_put(e->cache, c->case_no, c->body, c->hash, c->created_at);
    }
    e->n.batches++;
    if (e->failing > 0) {
        cf_info("commits succeed again after %d failure%s", e->failing, e->failing == 1 ? "" : "s");
        e->failing = 0;
        record_health(e);
    }
    cf_batch_reset(b);
}

/*
 * Counts a failed commit.  A few in a row are an outage the engine rides out; more is what an
 * operator must hear about: the log says so at error level, and engine_status (read by
 * `caseflow stats` and the server's /metrics) keeps the count and the last reason.
 */
static void note_failure(cf_engine *e, const char *why)
{
    e->failing++;
    e->n.commit_failures++;
    snprintf(e->last_failure, sizeof e->last_failure, "%s", why);
    if (e->failing >= CF_FAILING_ALERT && (e->failing & (e->failing - 1)) == 0)
        cf_error("commits keep failing: %d in a row; the last: %s", e->failing, why);
    record_health(e);
}

/* After a batch failed on a data error: its partitions' events up to where it reached are
 * applied one at a time from now on (see isolate_one). */
static void isolate_batch(cf_engine *e, const cf_batch *b)
{
    for (size_t i = 0; i < b->offsets.n; i++) {
        char part[16];
        json_t *have;
        snprintf(part, sizeof part, "%d", b->offsets.v[i].partition);
        have = json_object_get(e->isolate, part);
        if (!have || json_integer_value(have) < b->offsets.v[i].next)
            json_object_set_new(e->isolate, part, json_integer(b->offsets.v[i].next));
    }
}

/* A batch did not commit: nothing of it happened, nor of the batch applied on top of it. */
static void failed_commit(cf_engine *e, cf_batch *b, int rc, const char *err)
{
    char why[1024];
    if (rc == CF_EFENCED) {
        e->n.fenced++;
    } else if (cf_store_data_error(b->sqlstate)) {
        isolate_batch(e, b);
        isolate_batch(e, e->cur);
        cf_error("a batch was refused by the database (SQLSTATE %s): %s; its events are now "
                 "applied one at a time to find the one at fault",
                 b->sqlstate, err);
    }
    cf_warn("a batch was not committed: %s", err);
    if (rc != CF_EFENCED)
        note_failure(e, err);
    cf_batch_reset(b);
    cf_batch_reset(e->cur);
    mend_commit_connection(e);
    if (PQstatus(e->db) != CONNECTION_OK)
        reconnect(e);
    if (resync(e, why, sizeof why) != 0)
        cf_warn("resynchronizing partitions: %s", why);
}

/*
 * Waits for the batch in flight and settles it: on success its outbox rows go to the relay and
 * its states into the cache; on failure nothing of it happened, nor of the batch applied on top
 * of it (`cur`, discarded here too), and the partitions are sought back to their stored offsets.
 * Returns 0 when the batch in flight (if any) committed.
 */
static int finish_inflight(cf_engine *e)
{
    cf_batch *b = e->inflight;
    int rc;
    char err[1024];

    if (!b)
        return 0;
    pthread_mutex_lock(&e->mu);
    while (e->job != 2)
        pthread_cond_wait(&e->cv, &e->mu);
    rc = e->job_rc;
    snprintf(err, sizeof err, "%s", e->job_err);
    e->job = 0;
    e->inflight = NULL;
    pthread_mutex_unlock(&e->mu);
    if (rc == 0) {
        settle_committed(e, b);
        return 0;
    }
    failed_commit(e, b, rc, err);
    return rc;
}

/* Settles the batch in flight if its commit is over, without waiting for it. */
static void settle_if_done(cf_engine *e)
{
    int done;
    if (!e->inflight)
        return;
    pthread_mutex_lock(&e->mu);
    done = e->job == 2;
    pthread_mutex_unlock(&e->mu);
    if (done)
        finish_inflight(e);
}

/*
 * Whether the ticker runs now: every 100 ms while no batch is in flight, but at most once a second
 * while batches keep coming.  The ticker reads timers and tasks from the tables, so it must wait
 * for the batch in flight to commit first; ticking every 100 ms drained the pipeline after nearly
 * every batch (a batch of 500 takes longer than that to apply), and apply and commit never
 * overlapped.
 */
static int tick_due(const cf_engine *e)
{
    long long since = cf_wall_ms() - e->last_tick_ms;
    return since >= 100 && (!e->inflight || since >= 1000);
}

/* Inside a rebalance: waits for the batch in flight; success is settled as usual, failure only
 * discards it (the new assignment starts from the stored offsets anyway). */
static void settle_for_rebalance(cf_engine *e)
{
    cf_batch *b = e->inflight;
    if (!b)
        return;
    pthread_mutex_lock(&e->mu);
    while (e->job != 2)
        pthread_cond_wait(&e->cv, &e->mu);
    pthread_mutex_unlock(&e->mu);
    if (e->job_rc == 0) {
        finish_inflight(e);
        return;
    }
    pthread_mutex_lock(&e->mu);
    e->job = 0;
    e->inflight = NULL;
    pthread_mutex_unlock(&e->mu);
    if (e->job_rc == CF_EFENCED)
        e->n.fenced++;
    else if (cf_store_data_error(b->sqlstate))
        isolate_batch(e, b);
    cf_warn("a batch was not committed: %s", e->job_err);
    cf_batch_reset(b);
    mend_commit_connection(e);
}

/* Writes into the batch the generation of each partition this engine holds now: the commit
 * moves a partition's offset only while that generation is still the stored one (-1 for a
 * partition no longer held: that batch is fenced). */
static void stamp_generations(cf_engine *e, cf_batch *b)
{
    for (size_t i = 0; i < b->offsets.n; i++) {
        b->offsets.v[i].generation = -1;
        for (size_t k = 0; k < e->nparts; k++)
            if (e->parts[k].partition == b->offsets.v[i].partition)
                b->offsets.v[i].generation = e->parts[k].generation;
    }
}

/* Hands the applied batch `cur` to the committer and takes the other buffer for the next. */
static void hand_over(cf_engine *e)
{
    cf_batch *b = e->cur;
    stamp_generations(e, b);
    pthread_mutex_lock(&e->mu);
    e->inflight = b;
    e->cur = b == &e->bufs[0] ? &e->bufs[1] : &e->bufs[0];
    e->job = 1;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

/* Commits `cur` on this thread (the committer is idle: nothing is in flight). */
static int commit_here(cf_engine *e, char *err, size_t errsz)
{
    stamp_generations(e, e->cur);
    return cf_batch_commit(e, e->cur, err, errsz);
}

/*
 * Applies and commits one message alone, for isolation.  When the database refuses it for its
 * data, the message goes to the dead-letter topic with the database's own words instead, and
 * the engine goes on.  Returns 0 when the message is settled (applied, rejected or
 * dead-lettered), or the commit's error when it may pass (the caller seeks back and retries).
 */
static int isolate_one(cf_engine *e, rd_kafka_message_t *m, json_t *parsed)
{
    char err[1024], reason[1200];
    lookups l;
    int rc;

    cf_lookups_init(&l);
    rc = cf_lookups_read(e, &parsed, 1, &l, err, sizeof err);
    if (rc == 0) {
        apply_one(e, m, parsed, &l);
        rc = commit_here(e, err, sizeof err);
    }
    cf_lookups_free(&l);
    if (rc == 0) {
        settle_committed(e, e->cur);
        return 0;
    }
    if (!cf_store_data_error(e->cur->sqlstate)) {
        failed_commit(e, e->cur, rc, err);
        return rc;
    }
    /* This event is the one at fault. */
    cf_batch_reset(e->cur);
    e->n.isolated++;
    snprintf(reason, sizeof reason, "the database refused the event: %s", err);
    note_offset(e, m);
    dead_letter(e, m, json_string_value(json_object_get(parsed, "id")),
                json_string_value(json_object_get(parsed, "case")), reason);
    if ((rc = commit_here(e, err, sizeof err)) != 0 && cf_store_data_error(e->cur->sqlstate)) {
        /* Even its dead letter is refused (an id or case the database cannot hold): the
         * dead letter goes without them. */
        cf_batch_reset(e->cur);
        note_offset(e, m);
        dead_letter(e, m, NULL, NULL, reason);
        rc = commit_here(e, err, sizeof err);
    }
    if (rc != 0) {
        failed_commit(e, e->cur, rc, err);
        return rc;
    }
    settle_committed(e, e->cur);
    record_health(e);
    return 0;
}

/* Applies a batch one message at a time while isolation lasts; returns when it is over or a
 * commit failed in a way that may pass (then the partitions were sought back). */
static void process_isolated(cf_engine *e, rd_kafka_message_t **msgs, json_t **parsed, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char part[16];
        json_t *until;
        if (isolate_one(e, msgs[i], parsed[i]) != 0)
            return;
        snprintf(part, sizeof part, "%d", msgs[i]->partition);
        until = json_object_get(e->isolate, part);
        if (until && msgs[i]->offset + 1 >= json_integer_value(until)) {
            json_object_del(e->isolate, part);
            if (json_object_size(e->isolate) == 0)
                cf_info("isolation over: batches again (%lld event%s dead-lettered for the "
                        "database's refusal so far)",
                        e->n.isolated, e->n.isolated == 1 ? "" : "s");
        }
    }
}

static void process(cf_engine *e, rd_kafka_message_t **msgs, size_t n)
{
    char err[1024];
    lookups l;
    json_t **parsed = calloc(n, sizeof *parsed);
    long long t0, t1, t2;
    int rc;

    cf_lookups_init(&l);
    if (!parsed) {
        cf_error("out of memory for a batch of %zu events", n);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (msgs[i]->payload && msgs[i]->len <= EVENT_MAX &&
            (parsed[i] = json_loadb(msgs[i]->payload, msgs[i]->len, JSON_REJECT_DUPLICATES, NULL)))
            cf_caseno_normalize_event(parsed[i]);
    if (json_object_size(e->isolate) > 0) {
        if (finish_inflight(e) == 0 && (rc = cf_clock_read(e, err, sizeof err)) == 0)
            process_isolated(e, msgs, parsed, n);
        goto out;
    }
    t0 = cf_wall_ms();
    if ((rc = cf_clock_read(e, err, sizeof err)) == 0 &&
        (rc = cf_lookups_read(e, parsed, n, &l, err, sizeof err)) == 0) {
        t1 = cf_wall_ms();
        for (size_t i = 0; i < n; i++)
            apply_one(e, msgs[i], parsed[i], &l);
        t2 = cf_wall_ms();
        /* The next batch may only go to the committer once the one before it has committed:
         * it was applied on that batch's states. */
        if (finish_inflight(e) == 0)
            hand_over(e);
        cf_debug("batch of %zu: read %lld ms, apply %lld ms, waited %lld ms for the batch before",
                 n, t1 - t0, t2 - t1, cf_wall_ms() - t2);
    } else {
        cf_warn("batch of %zu events not applied: %s", n, err);
        if (finish_inflight(e) == 0) {
            /* Nothing of this batch happened: read again from the stored offsets. */
            cf_batch_reset(e->cur);
            if (PQstatus(e->db) != CONNECTION_OK)
                reconnect(e);
            if (resync(e, err, sizeof err) != 0)
                cf_warn("resynchronizing partitions: %s", err);
        }
    }
out:
    for (size_t i = 0; parsed && i < n; i++)
        json_decref(parsed[i]);
    free(parsed);
    cf_lookups_free(&l);
}

/* ---- start and stop ---- */

static int connect_db(cf_engine *e, char *err, size_t errsz)
{
    for (int attempt = 1;; attempt++) {
        e->db = cf_store_connect(e->cfg->postgres, err, errsz);
        if (e->db)
            return 0;
        if (*e->stop)
            return CF_EDB;
        cf_warn("%s (retrying in %d ms)", err, retry_delay(attempt));
        cf_sleep_ms(retry_delay(attempt));
    }
}

static int init_clock(cf_engine *e, char *err, size_t errsz)
{
    char start[64];
    const char *p[2];
    PGresult *res;

    e->simulated = strcmp(e->cfg->clock, "simulated") == 0;
    if (e->cfg->start && *e->cfg->start) {
        cf_time t;
        if (cf_time_parse(e->cfg->start, &t) != 0)
            return cf_errf(err, errsz, CF_EINVAL, "engine.start '%s' is not an ISO 8601 time",
                           e->cfg->start);
        time_text(e, t, start, sizeof start);
    } else {
        time_text(e, cf_wall_ms(), start, sizeof start);
    }
    p[0] = e->simulated ? "simulated" : "real";
    p[1] = start;
    /* A simulated clock keeps its time across restarts: only a new database takes the start. */
    res = cf_store_exec(e->db,
                        "insert into engine_clock (id, mode, now) values (1, $1, $2::timestamptz) "
                        "on conflict (id) do update set mode = excluded.mode",
                        2, p, err, errsz);
    if (!res)
        return CF_EDB;
    PQclear(res);
    return cf_clock_read(e, err, errsz);
}

/* Kafka may be starting, stopping or electing when the engine starts: it waits, as for the
 * database, and gives up only on a refusal that waiting cannot change. */
static int create_topics(cf_engine *e, char *err, size_t errsz)
{
    /* Events may be large (documents' metadata, long remarks); poison tests send 10 MB. */
    static const char *const events_config[] = {"max.message.bytes", "16777216", NULL};
    int rc;

    if ((rc = cf_bus_create_topic_waiting(e->producer, e->t_events, e->cfg->partitions,
                                          events_config, e->stop, err, errsz)) ||
        (rc = cf_bus_create_topic_waiting(e->producer, e->t_transitions, e->cfg->partitions, NULL,
                                          e->stop, err, errsz)) ||
        (rc = cf_bus_create_topic_waiting(e->producer, e->t_dlq, 1, NULL, e->stop, err, errsz)))
        return rc;
    for (size_t w = 0; w < e->reg->n; w++)
        for (size_t k = 0; k < e->reg->wf[w]->nkinds; k++) {
            char topic[256];
            if (!e->reg->wf[w]->kinds[k].worker)
                continue;
            snprintf(topic, sizeof topic, "%s%s", e->t_tasks, e->reg->wf[w]->kinds[k].name);
            if ((rc =
                     cf_bus_create_topic_waiting(e->producer, topic, 4, NULL, e->stop, err, errsz)))
                return rc;
        }
    return 0;
}

static int init_consumer(cf_engine *e, char *err, size_t errsz)
{
    const cf_bus_consumer_opts o = {.client_id = e->owner,
                                    .group = e->cfg->group,
                                    /* Static membership when the engine has a stable name. */
                                    .instance = e->cfg->instance,
                                    .topic = e->t_events,
                                    .on_rebalance = on_rebalance,
                                    .opaque = e};

    if (!(e->consumer = cf_bus_consumer_new(e->cfg, &o, err, errsz)))
        return CF_EKAFKA;
    return 0;
}

/* Collects up to batch_size messages, waiting at most batch_ms once the first has come. */
static size_t collect(cf_engine *e, rd_kafka_message_t **msgs)
{
    size_t n = 0, max = (size_t)e->cfg->batch_size;
    long long first = 0;

    while (n < max && !*e->stop) {
        /* With a batch in flight, come back soon: its outbox is published once it committed. */
        int wait = e->inflight ? 5 : 100;
        rd_kafka_message_t *m;
        if (n > 0) {
            long long left = e->cfg->batch_ms - (cf_wall_ms() - first);
            if (left <= 0)
                break;
            wait = (int)left;
        }
        m = rd_kafka_consumer_poll(e->consumer, wait);
        if (!m) {
            if (n == 0)
                break;
            continue;
        }
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                cf_warn("consuming %s: %s", e->t_events, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (n == 0)
            first = cf_wall_ms();
        msgs[n++] = m;
    }
    return n;
}

int cf_engine_run(const cf_config *cfg, const cf_registry *reg, const char *migrations,
                  volatile sig_atomic_t *stop, char *err, size_t errsz)
{
    cf_engine e;
    rd_kafka_message_t **msgs = NULL;
    char host[64] = "localhost";
    int rc;

    memset(&e, 0, sizeof e);
    e.cfg = cfg;
    e.reg = reg;
    e.stop = stop;
    e.offset_min = cf_calendar_utc_offset(reg->wf[0]->calendar);
    gethostname(host, sizeof host - 1);
    snprintf(e.owner, sizeof e.owner, "%s:%ld", host, (long)getpid());
    cf_bus_topic(cfg, "events", e.t_events, sizeof e.t_events);
    cf_bus_topic(cfg, "transitions", e.t_transitions, sizeof e.t_transitions);
    cf_bus_topic(cfg, "dlq", e.t_dlq, sizeof e.t_dlq);
    cf_bus_topic(cfg, "tasks.", e.t_tasks, sizeof e.t_tasks);
    cf_batch_init(&e.bufs[0]);
    cf_batch_init(&e.bufs[1]);
    e.cur = &e.bufs[0];
    pthread_mutex_init(&e.mu, NULL);
    pthread_cond_init(&e.cv, NULL);
    e.cache = cf_cache_new((size_t)cfg->cache_cases);
    e.isolate = json_object();
    msgs = calloc((size_t)cfg->batch_size, sizeof *msgs);
    if (!e.cache || !msgs || !e.isolate) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = connect_db(&e, err, errsz)) ||
        (rc = cf_migrate_check(e.db, migrations, err, errsz)) ||
        (rc = init_clock(&e, err, errsz)) || (rc = cf_relay_init(&e, err, errsz)) ||
        (rc = create_topics(&e, err, errsz)) || (rc = init_consumer(&e, err, errsz)))
        goto out;
    /* The committer's own connection: a batch commits there while the next is applied. */
    if (!(e.cdb = cf_store_connect(cfg->postgres, err, errsz))) {
        rc = CF_EDB;
        goto out;
    }
    e.bufs[0].db = e.bufs[1].db = e.cdb;
    if (pthread_create(&e.committer, NULL, committer_main, &e) != 0) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "cannot start the committer thread");
        goto out;
    }
    e.committer_started = 1;
    cf_info("engine %s started: %zu workflow%s, %s clock, batches of up to %d events", e.owner,
            reg->n, reg->n == 1 ? "" : "s", e.simulated ? "simulated" : "real", cfg->batch_size);

    while (!*stop) {
        size_t n = collect(&e, msgs);
        if (n > 0) {
            process(&e, msgs, n);
            for (size_t i = 0; i < n; i++)
                rd_kafka_message_destroy(msgs[i]);
        }
        settle_if_done(&e);
        if (tick_due(&e)) {
            char why[512];
            e.last_tick_ms = cf_wall_ms();
            /* Timers and batches are taken from the tables: what the batch in flight writes must
             * be there first, or a batch's tasks would miss the occurrence they belong to. */
            finish_inflight(&e);
            if (cf_ticker_run(&e, why, sizeof why) != 0) {
                cf_warn("%s", why);
                if (PQstatus(e.db) != CONNECTION_OK && reconnect(&e) == 0 &&
                    resync(&e, why, sizeof why) != 0)
                    cf_warn("resynchronizing partitions: %s", why);
            }
        }
        cf_relay_poll(&e, 0);
    }
    finish_inflight(&e);
    cf_info("stopping: publishing what is left in the outbox");
    cf_relay_flush(&e, 10000);
    rc = 0;
out:
    if (e.consumer) {
        rd_kafka_consumer_close(e.consumer);
        rd_kafka_destroy(e.consumer);
    }
    if (e.producer)
        rd_kafka_destroy(e.producer);
    cf_info("engine stopped: %lld applied, %lld rejected, %lld duplicates, %lld batches, "
            "%lld timers fired, %lld task batches, %lld published, %lld commits failed, "
            "%lld events refused by the database",
            e.n.applied, e.n.rejected, e.n.duplicates, e.n.batches, e.n.timers_fired,
            e.n.task_batches, e.n.published, e.n.commit_failures, e.n.isolated);
    if (e.db)
        PQfinish(e.db);
    cf_cache_free(e.cache);
    if (e.committer_started) {
        pthread_mutex_lock(&e.mu);
        e.quit = 1;
        pthread_cond_broadcast(&e.cv);
        pthread_mutex_unlock(&e.mu);
        pthread_join(e.committer, NULL);
    }
    if (e.cdb)
        PQfinish(e.cdb);
    cf_batch_free(&e.bufs[0]);
    cf_batch_free(&e.bufs[1]);
    pthread_mutex_destroy(&e.mu);
    pthread_cond_destroy(&e.cv);
    free(e.parts);
    free(e.delivered);
    free(msgs);
    json_decref(e.isolate);
    return rc;
}
