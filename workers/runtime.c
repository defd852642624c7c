/*
 * The worker runtime: consume a kind's task topic, run its handler on a
 * bounded pool of threads with retries, produce each result event, and
 * commit a message's offset only after Kafka confirmed the results of it and
 * of every message before it in its partition.
 *
 * Threads: the main thread owns Kafka (consumer, producer, delivery reports,
 * commits) and every message's bookkeeping; the pool's threads only run
 * handlers.  They meet in two lists under one lock: the job queue (main to
 * pool, and pool to pool for retries) and the inbox of finished tasks (pool
 * to main).  A message's memory is freed only by the main thread, once no
 * job, notice or delivery refers to it.
 */
#include "workers/runtime.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/backoff.h"
#include "base/log.h"
#include "base/path.h"
#include "io/bus.h"
#include "core/caltime.h"
#include "core/deadletter.h"
#include "core/message.h"
#include "core/workflow.h"
#include "workers/worker.h"

/*
 * TOPIC_PARTITIONS: of a task topic when the worker creates it (the engine creates it with as
 * many).  INFLIGHT_PER_THREAD: messages taken per handler thread before consumption pauses.
 * COURT_OFFSET_MIN: the court's zone, UTC+8, for event times.  DEAD: the index of a message's
 * dead letter among its deliveries (its tasks' are 0 .. ntasks - 1).
 */
enum { TOPIC_PARTITIONS = 4, INFLIGHT_PER_THREAD = 4, ERRSZ = 256 };
#define DEAD ((size_t)-1)

typedef struct msg msg;

/* Where a produced event belongs: the delivery report's opaque. */
typedef struct ref {
    msg *m;
    size_t i;
} ref;

/* One Kafka message of the task topic: one task, or a batch of them. */
struct msg {
    int32_t partition;
    int64_t offset;
    int batch;      /* a batch message: {"batch_id", "tasks": [...]} */
    json_t *doc;    /* the parsed payload: the tasks' strings point into it */
    cf_task *tasks; /* ntasks of them */
    size_t ntasks;
    /* Per slot, kept until Kafka confirms it: slot i < ntasks is task i's result, slot ntasks + i
     * the event its kind raised beside it (cf_worker_kind.raises), if any. */
    char **events; /* the event produced */
    char **ids;    /* that event's id */
    ref *refs;
    char *dead; /* the dead letter of what in it is no task, kept until Kafka confirms it */
    ref dead_ref;
    cf_time at;       /* the engine's time when it issued the message ("at"), or -1 */
    size_t unsettled; /* tasks whose event is not confirmed (and not dropped) */
    int dropped;      /* a task was abandoned: this message must be done again by someone */
    int abandoned;    /* its partition is no longer ours (read by the pool under the lock) */
    int tracked;      /* in its partition's list, waiting for its commit */
    msg *next;
};

/* A partition assigned to this worker: its messages in offset order. */
typedef struct part {
    int32_t partition;
    msg *head, *tail;
    int64_t commit; /* the next offset to commit */
    int dirty;
} part;

/* Work for the pool: tasks of one message, at one try. */
typedef struct job {
    msg *m;
    size_t *idx; /* which of the message's tasks */
    size_t n;
    int attempt;
    long long not_before; /* wall-clock ms: a retry waits for its backoff */
    struct job *next;
} job;

/* A finished task for the main thread: its event to produce, or NULL when it was dropped, and
 * the event its kind raised beside it, or NULL. */
typedef struct notice {
    msg *m;
    size_t i;
    char *event, *id;
    char *raised, *raised_id;
    struct notice *next;
} notice;

typedef struct worker {
    const cf_worker_kind *kind;
    cf_worker_settings set;
    cf_worker_ctx ctx;
    rd_kafka_t *consumer, *producer;
    char t_tasks[256], t_events[256], t_dlq[256], group[256], by[200], source[128];
    int simulated; /* engine.clock is simulated: results carry the engine's time, not the wall's */
    part *parts;
    size_t nparts;
    msg *orphans; /* messages of partitions taken away, still waiting for threads or Kafka */
    size_t tracked, max_tracked;
    int paused, fatal;
    int producer_failed; /* the producer raised a fatal error: replace_producer makes a new one */
    const cf_config *cfg;
    char client[200]; /* the producer's client.id, kept to make it again */
    /* The pool. */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    job *queue; /* ordered by not_before */
    notice *inbox, **inbox_tail;
    int draining, quit, running;
    pthread_t *threads;
    int nthreads;
    unsigned long long rng;
    /* Counters for the log. */
    long long n_done, n_failed, n_retried, n_dropped, n_messages;
} worker;

/* The court's offset from UTC in minutes, from the calendar of its first workflow as the engine
 * takes it; set once by cf_worker_run before any thread starts. */
static int court_offset_min = CF_CALTIME_DEFAULT_UTC_OFFSET;

/* The time the task a handler thread works on reports: the engine's, when its clock is
 * simulated (set by run_job around the handler); -1: the wall clock's. */
static _Thread_local cf_time task_now = -1;

const char *cf_worker_now(char *buf, size_t n)
{
    cf_time_format(task_now >= 0 ? task_now : cf_wall_ms() / 1000 * 1000, court_offset_min, buf, n);
    return buf;
}

/* Reads the court's offset from the calendar of the configuration's first workflow.  Returns 0,
 * or CF_EINVAL with the workflow's first problem in `err`. */
static int read_court_offset(const cf_config *cfg, char *err, size_t errsz)
{
    char path[4096];
    cf_diags d;
    cf_workflow *wf;
    int rc = 0;

    if (cfg->nworkflows == 0)
        return 0;
    cf_diags_init(&d);
    wf = cf_workflow_load(cf_path_find(cfg->workflows[0], path, sizeof path), &d);
    if (wf)
        court_offset_min = cf_calendar_utc_offset(wf->calendar);
    else
        rc = cf_errf(err, errsz, CF_EINVAL, "the court's calendar: %s",
                     d.count ? d.lines[0] : "its workflow does not load");
    cf_workflow_free(wf);
    cf_diags_free(&d);
    return rc;
}

/* ---- messages ---- */

static void msg_free(msg *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < 2 * m->ntasks; i++) {
        free(m->events[i]);
        free(m->ids[i]);
    }
    free(m->events);
    free(m->ids);
    free(m->refs);
    free(m->tasks);
    free(m->dead);
    json_decref(m->doc);
    free(m);
}

/* Reads one task object (core/message.h); returns 0, or CF_EINVAL when a member it needs is
 * missing. */
static int read_task(const json_t *o, const char *kind, cf_task *t)
{
    cf_task_msg m;
    int rc = cf_msg_task_read(o, kind, &m);

    t->task_id = m.task_id;
    t->case_no = m.case_no;
    t->activity = m.activity;
    t->kind = m.kind;
    t->due = m.due;
    t->params = m.params;
    t->data = m.data;
    t->attempt = 1;
    return rc;
}

/*
 * Refuses what in `km` is no task: logs why and makes the message's dead letter, which goes to
 * <prefix>.dlq with the reason and the original bytes before the message is committed past.
 */
static void refuse(worker *w, msg *m, const rd_kafka_message_t *km, const char *case_no,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void refuse(worker *w, msg *m, const rd_kafka_message_t *km, const char *case_no,
                   const char *fmt, ...)
{
    char reason[1024];
    va_list ap;
    json_t *dl;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    cf_error("%s/%d@%lld: %s (to %s)", w->t_tasks, (int)km->partition, (long long)km->offset,
             reason, w->t_dlq);
    dl = cf_deadletter_new(w->t_tasks, km->partition, km->offset, km->payload, km->len, reason,
                           NULL, case_no);
    m->dead = dl ? json_dumps(dl, JSON_COMPACT) : NULL;
    json_decref(dl);
    if (!m->dead) {
        /* Never skipped silently: stop, leaving the message uncommitted for a successor. */
        cf_error("out of memory making a dead letter: stopping");
        w->fatal = 1;
    }
    m->dead_ref.m = m;
    m->dead_ref.i = DEAD;
}

/* The engine's time in the message ("at"), or -1 when it has none. */
static cf_time issued_at(const json_t *doc)
{
    const char *at = json_string_value(json_object_get(doc, "at"));
    cf_time t;
    return at && cf_time_parse(at, &t) == 0 ? t : -1;
}

/*
 * Parses a message into its tasks.  What is no task (not JSON, not an object, a task without
 * its task_id, case or activity) is refused to the dead-letter topic; the good tasks of a batch
 * are done all the same.  Returns NULL only when memory runs out.
 */
static msg *msg_parse(worker *w, const rd_kafka_message_t *km)
{
    json_error_t jerr;
    msg *m = calloc(1, sizeof *m);
    const json_t *list;
    size_t n, i, bad = 0, first_bad = 0;
    json_t *o;

    if (!m)
        return NULL;
    m->partition = km->partition;
    m->offset = km->offset;
    m->at = -1;
    m->doc = km->payload ? json_loadb(km->payload, km->len, 0, &jerr) : NULL;
    if (!km->payload)
        refuse(w, m, km, NULL, "not a task: the message is empty");
    else if (!m->doc)
        refuse(w, m, km, NULL, "not JSON: %s at line %d, column %d", jerr.text, jerr.line,
               jerr.column);
    else if (!json_is_object(m->doc))
        refuse(w, m, km, NULL, "not a task: the message is JSON but not an object");
    if (!json_is_object(m->doc))
        goto out;
    m->at = issued_at(m->doc);
    list = json_object_get(m->doc, "tasks");
    m->batch = json_is_array(list);
    n = m->batch ? json_array_size(list) : 1;
    m->tasks = calloc(n + 1, sizeof *m->tasks);
    m->events = calloc(2 * n + 2, sizeof *m->events);
    m->ids = calloc(2 * n + 2, sizeof *m->ids);
    m->refs = calloc(2 * n + 2, sizeof *m->refs);
    if (!m->tasks || !m->events || !m->ids || !m->refs) {
        msg_free(m);
        return NULL;
    }
    if (!m->batch) {
        if (read_task(m->doc, w->kind->name, &m->tasks[0]) == 0)
            m->ntasks = 1;
        else
            refuse(w, m, km, json_string_value(json_object_get(m->doc, "case")),
                   "not a task: task_id, case or activity is missing");
    } else {
        const char *bkind = json_string_value(json_object_get(m->doc, "kind"));
        json_array_foreach (list, i, o) {
            if (read_task(o, bkind ? bkind : w->kind->name, &m->tasks[m->ntasks]) == 0)
                m->ntasks++;
            else if (bad++ == 0)
                first_bad = i;
        }
        if (n == 0)
            refuse(w, m, km, NULL, "not a task: batch %s holds no task",
                   json_string_value(json_object_get(m->doc, "batch_id")));
        else if (bad > 0)
            refuse(w, m, km, NULL,
                   "not a task: in batch %s, %zu of %zu tasks (the first: task %zu) have no "
                   "task_id, case or activity; the others are done",
                   json_string_value(json_object_get(m->doc, "batch_id")), bad, n, first_bad + 1);
    }
    for (i = 0; i < 2 * m->ntasks; i++) {
        m->refs[i].m = m;
        m->refs[i].i = i;
    }
out:
    m->unsettled = m->ntasks + (m->dead != NULL);
    return m;
}

static part *find_part(worker *w, int32_t partition)
{
    for (size_t i = 0; i < w->nparts; i++)
        if (w->parts[i].partition == partition)
            return &w->parts[i];
    return NULL;
}

/* Pops the partition's finished messages from its head: their offsets may be committed. */
static void advance(worker *w, part *p)
{
    while (p->head && p->head->unsettled == 0 && !p->head->dropped) {
        msg *m = p->head;
        p->head = m->next;
        if (!p->head)
            p->tail = NULL;
        p->commit = m->offset + 1;
        p->dirty = 1;
        w->tracked--;
        msg_free(m);
    }
}

static void commit(worker *w, int async)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)w->nparts + 1);
    rd_kafka_resp_err_t kerr;

    for (size_t i = 0; i < w->nparts; i++)
        if (w->parts[i].dirty) {
            rd_kafka_topic_partition_list_add(list, w->t_tasks, w->parts[i].partition)->offset =
                w->parts[i].commit;
            w->parts[i].dirty = 0;
        }
    if (list->cnt > 0 && (kerr = rd_kafka_commit(w->consumer, list, async)) != 0)
        cf_warn("committing offsets of %s: %s (the tasks may be done again)", w->t_tasks,
                rd_kafka_err2str(kerr));
    rd_kafka_topic_partition_list_destroy(list);
}

/* A task of `m` is settled: its event is confirmed, or it was dropped. */
static void settle(worker *w, msg *m)
{
    m->unsettled--;
    if (m->unsettled > 0)
        return;
    if (m->tracked) {
        part *p = find_part(w, m->partition);
        if (p)
            advance(w, p);
        return;
    }
    /* An orphan: nothing waits for it any more. */
    for (msg **pp = &w->orphans; *pp; pp = &(*pp)->next)
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    msg_free(m);
}

/* Lets go of every partition's messages: they will not be committed by this worker. */
static void abandon_all(worker *w)
{
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < w->nparts; i++)
        for (msg *m = w->parts[i].head; m; m = m->next)
            m->abandoned = 1;
    pthread_mutex_unlock(&w->lock);
    for (size_t i = 0; i < w->nparts; i++) {
        msg *m = w->parts[i].head, *next;
        for (; m; m = next) {
            next = m->next;
            m->tracked = 0;
            if (m->unsettled == 0) {
                msg_free(m);
            } else {
                m->next = w->orphans;
                w->orphans = m;
            }
        }
    }
    free(w->parts);
    w->parts = NULL;
    w->nparts = 0;
    w->tracked = 0;
}

/* ---- Kafka callbacks (main thread) ---- */

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t kerr,
                         rd_kafka_topic_partition_list_t *list, void *opaque)
{
    worker *w = opaque;

    if (kerr == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        abandon_all(w);
        w->parts = calloc((size_t)list->cnt + 1, sizeof *w->parts);
        for (int i = 0; w->parts && i < list->cnt; i++) {
            w->parts[i].partition = list->elems[i].partition;
            w->parts[i].commit = -1;
        }
        w->nparts = w->parts ? (size_t)list->cnt : 0;
        w->paused = 0;
        cf_info("assigned %d partition%s of %s", list->cnt, list->cnt == 1 ? "" : "s", w->t_tasks);
        rd_kafka_assign(rk, list);
        /* A partition paused by flow() stays paused when it is assigned again (librdkafka keeps
         * an application's pause across a rebalance), and nothing would resume it: the
         * messages in progress are gone with the revocation.  Seen when a broker outage held
         * results up until the group's session timed out. */
        rd_kafka_resume_partitions(rk, list);
    } else {
        /* What is finished is committed now; what is not is done again by the new owner. */
        commit(w, 0);
        if (w->tracked > 0)
            cf_info("partitions revoked: %zu message%s in progress left to their new owner",
                    w->tracked, w->tracked == 1 ? "" : "s");
        abandon_all(w);
        rd_kafka_assign(rk, NULL);
    }
}

static void produce(worker *w, msg *m, size_t i);
static void produce_dead(worker *w, msg *m);

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *km, void *opaque)
{
    worker *w = opaque;
    ref *r = km->_private;
    (void)rk;

    if (km->err) {
        if (w->fatal || km->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
            km->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
            return; /* stopping, or replace_producer: the event stays held */
        if (km->err == RD_KAFKA_RESP_ERR__FATAL || w->producer_failed ||
            cf_bus_producer_failed(w->producer, NULL, 0)) {
            /* Its event is still held: replace_producer sends it again with a new producer. */
            w->producer_failed = 1;
            return;
        }
        if (r->i == DEAD) {
            cf_warn("publishing the dead letter of %s/%d@%lld failed: %s (sending it again)",
                    w->t_tasks, (int)r->m->partition, (long long)r->m->offset,
                    rd_kafka_err2str(km->err));
            produce_dead(w, r->m);
            return;
        }
        cf_case_warn(r->m->tasks[r->i % r->m->ntasks].case_no,
                     "publishing %s failed: %s (sending it again)", r->m->ids[r->i],
                     rd_kafka_err2str(km->err));
        produce(w, r->m, r->i);
        return;
    }
    if (r->i == DEAD) {
        free(r->m->dead);
        r->m->dead = NULL;
    } else {
        free(r->m->events[r->i]);
        r->m->events[r->i] = NULL;
    }
    settle(w, r->m);
}

/* Produces the event of slot `i` of `m` (a task's result, or the event raised beside it). */
static void produce(worker *w, msg *m, size_t i)
{
    const char *key = m->tasks[i % m->ntasks].case_no, *ev = m->events[i], *id = m->ids[i];
    char err[512];

    if (w->producer_failed)
        return; /* replace_producer sends it with the new producer */
    if (cf_bus_produce(w->producer, w->t_events, key, id, ev, strlen(ev), &m->refs[i], 60000, err,
                       sizeof err) != 0) {
        if (cf_bus_producer_failed(w->producer, err, sizeof err)) {
            w->producer_failed = 1;
            return;
        }
        /* Never confirmed, so never committed: the task is done again after a restart. */
        cf_case_error(key, "cannot publish: %s (stopping)", err);
        w->fatal = 1;
    }
}

/* Sends the message's dead letter to <prefix>.dlq, keyed by its case when it names one. */
static void produce_dead(worker *w, msg *m)
{
    json_t *dl = json_loads(m->dead, 0, NULL);
    const char *key = json_string_value(json_object_get(dl, "case"));
    const char *id = json_string_value(json_object_get(dl, "id"));
    char err[512] = "no id";

    if (w->producer_failed) {
        /* replace_producer sends it with the new producer. */
    } else if (!id || cf_bus_produce(w->producer, w->t_dlq, key, id, m->dead, strlen(m->dead),
                                     &m->dead_ref, 60000, err, sizeof err) != 0) {
        if (id && cf_bus_producer_failed(w->producer, err, sizeof err)) {
            w->producer_failed = 1;
        } else {
            /* Never confirmed, so never committed: refused again after a restart. */
            cf_error("cannot publish the dead letter of %s/%d@%lld: %s (stopping)", w->t_tasks,
                     (int)m->partition, (long long)m->offset, err);
            w->fatal = 1;
        }
    }
    json_decref(dl);
}

/* Sends again every event of `m` that Kafka has not confirmed: the events raised beside a
 * result before the results, as serve_inbox does, and the dead letter. */
static void produce_held(worker *w, msg *m)
{
    for (size_t i = m->ntasks; i < 2 * m->ntasks; i++)
        if (m->events[i])
            produce(w, m, i);
    for (size_t i = 0; i < m->ntasks; i++)
        if (m->events[i])
            produce(w, m, i);
    if (m->dead)
        produce_dead(w, m);
}

/* Takes the finished tasks from the pool: produces their events, settles the dropped ones. */
static void serve_inbox(worker *w)
{
    notice *list, *next;

    pthread_mutex_lock(&w->lock);
    list = w->inbox;
    w->inbox = NULL;
    w->inbox_tail = &w->inbox;
    pthread_mutex_unlock(&w->lock);
    for (; list; list = next) {
        next = list->next;
        if (list->event && list->raised) {
            /* Produced before the result, with the same key: the idempotent producer keeps
             * the order in the partition, and the message is committed only when both are
             * confirmed. */
            size_t slot = list->m->ntasks + list->i;
            list->m->events[slot] = list->raised;
            list->m->ids[slot] = list->raised_id;
            list->m->unsettled++;
            produce(w, list->m, slot);
        } else {
            free(list->raised);
            free(list->raised_id);
        }
        if (list->event) {
            list->m->events[list->i] = list->event;
            list->m->ids[list->i] = list->id;
            produce(w, list->m, list->i);
        } else {
            list->m->dropped = 1;
            w->n_dropped++;
            settle(w, list->m);
        }
        free(list);
    }
}

/* ---- the pool ---- */

/* Adds `j` to the queue in not_before order; call with the lock held. */
static void enqueue(worker *w, job *j)
{
    job **pp = &w->queue;
    while (*pp && (*pp)->not_before <= j->not_before)
        pp = &(*pp)->next;
    j->next = *pp;
    *pp = j;
    pthread_cond_signal(&w->wake);
}

/* Passes a finished (or, with event NULL, dropped) task to the main thread, with the event its
 * kind raised beside it (or NULL); takes the texts over; lock held. */
static void post_raised(worker *w, msg *m, size_t i, char *event, char *id, char *raised,
                        char *raised_id)
{
    notice *n = calloc(1, sizeof *n);
    if (!n) {
        /* Without its notice the message is never settled: it is never committed, which is
         * safe; the task is done again by the next worker. */
        cf_error("out of memory: a finished task of %s is left uncommitted", m->tasks[i].case_no);
        free(event);
        free(id);
        free(raised);
        free(raised_id);
        return;
    }
    n->m = m;
    n->i = i;
    n->event = event;
    n->id = id;
    n->raised = raised;
    n->raised_id = raised_id;
    *w->inbox_tail = n;
    w->inbox_tail = &n->next;
}

static void post(worker *w, msg *m, size_t i, char *event, char *id)
{
    post_raised(w, m, i, event, id, NULL, NULL);
}

static void drop_job(worker *w, job *j)
{
    for (size_t k = 0; k < j->n; k++)
        post(w, j->m, j->idx[k], NULL, NULL);
    free(j->idx);
    free(j);
}

/* The delay before try `attempt` + 1: doubling from backoff_ms up to the cap, half of it
 * random so that many tasks failing together do not come back together; lock held. */
static long long backoff(worker *w, int attempt)
{
    return cf_backoff_delay(w->set.backoff_ms, w->set.backoff_max_ms, attempt, &w->rng);
}

static int transient(int code)
{
    return code == CF_ETIMEOUT || code == CF_EIO;
}

/* Cuts `s` before a UTF-8 sequence that a truncation left incomplete or that is not UTF-8. */
static void utf8_trim(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        size_t len = *p < 0x80             ? 1
                     : (*p & 0xe0) == 0xc0 ? 2
                     : (*p & 0xf0) == 0xe0 ? 3
                     : (*p & 0xf8) == 0xf0 ? 4
                                           : 0;
        size_t k = 1;
        while (len && k < len && (p[k] & 0xc0) == 0x80)
            k++;
        if (!len || k < len) {
            *p = '\0';
            return;
        }
        p += len;
    }
}

/* The event of a finished task, as compact JSON; `result` is stolen (NULL: a failure). */
static char *make_event(worker *w, const cf_task *t, json_t *result, const char *error,
                        int attempts, char **id)
{
    char now[64], eid[200];
    json_t *ev;
    char *text;

    cf_worker_now(now, sizeof now);
    cf_msg_task_event_id(t->task_id, result ? CF_TASK_DONE : CF_TASK_FAILED, eid, sizeof eid);
    {
        const cf_envelope env = {.id = eid,
                                 .type = result ? "task.completed" : "task.failed",
                                 .case_no = t->case_no,
                                 .time = now,
                                 .source = w->source};
        json_t *data =
            result ? json_pack("{s:s, s:s, s:s, s:o, s:i, s:s}", "task_id", t->task_id, "activity",
                               t->activity, "kind", t->kind, "result", result, "attempts", attempts,
                               "by", w->by)
                   : json_pack("{s:s, s:s, s:s, s:s, s:i}", "task_id", t->task_id, "activity",
                               t->activity, "kind", t->kind, "error", error, "attempts", attempts);
        ev = data ? cf_msg_event_new(&env, data) : NULL;
    }
    text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    *id = text ? strdup(eid) : NULL;
    if (text && !*id) {
        free(text);
        text = NULL;
    }
    return text;
}

/*
 * The event the kind raises beside the result of task `t` (cf_worker_kind.raises), as compact
 * JSON with the id "<task_id>:<type>", or NULL when it raises none (or memory ran out: then the
 * task's result goes alone, and the log says so).
 */
static char *make_raised(worker *w, const cf_task *t, const json_t *result, char **id)
{
    const char *type = NULL;
    json_t *data, *ev;
    char now[64], eid[200], *text = NULL;

    *id = NULL;
    if (!w->kind->raises || !(data = w->kind->raises(t, result, &type)))
        return NULL;
    snprintf(eid, sizeof eid, "%s:%s", t->task_id, type);
    ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "id", eid, "type", type, "case", t->case_no,
                   "time", cf_worker_now(now, sizeof now), "source", w->source, "data", data);
    if (ev && (text = json_dumps(ev, JSON_COMPACT)) && !(*id = strdup(eid))) {
        free(text);
        text = NULL;
    }
    if (!text)
        cf_case_error(t->case_no, "out of memory: %s of %s is not raised", type, t->task_id);
    json_decref(ev);
    return text;
}

/* Runs one job: the handler (or the batch handler), then each task's outcome. */
static void run_job(worker *w, job *j)
{
    cf_task *tasks = calloc(j->n, sizeof *tasks);
    json_t **results = calloc(j->n, sizeof *results);
    int *codes = calloc(j->n, sizeof *codes);
    char(*errs)[ERRSZ] = calloc(j->n, sizeof *errs);
    char **events = calloc(j->n, sizeof *events), **ids = calloc(j->n, sizeof *ids);
    char **raised = calloc(j->n, sizeof *raised), **raised_ids = calloc(j->n, sizeof *raised_ids);
    size_t *again = calloc(j->n, sizeof *again), nagain = 0, n = j->n;
    int max_tries = w->set.retries + 1, draining;

    pthread_mutex_lock(&w->lock);
    draining = w->draining;
    pthread_mutex_unlock(&w->lock);
    /* On a simulated clock the results (and the times handlers write into them) carry the
     * engine's time of the task, not the wall clock's: a case that lives through 120 days in
     * minutes must not get a result from the real date. */
    task_now = w->simulated ? j->m->at : -1;

    if (!tasks || !results || !codes || !errs || !events || !ids || !raised || !raised_ids ||
        !again) {
        cf_error("out of memory running a job: its tasks are left to be done again");
        pthread_mutex_lock(&w->lock);
        drop_job(w, j);
        pthread_mutex_unlock(&w->lock);
        goto out;
    }
    for (size_t k = 0; k < j->n; k++) {
        tasks[k] = j->m->tasks[j->idx[k]];
        tasks[k].attempt = j->attempt;
    }
    if (j->m->batch && w->kind->handle_batch) {
        int rc = w->kind->handle_batch(&w->ctx, tasks, j->n, results, codes, errs);
        if (rc != 0)
            for (size_t k = 0; k < j->n; k++) {
                json_decref(results[k]);
                results[k] = NULL;
                codes[k] = rc;
                if (k > 0)
                    memcpy(errs[k], errs[0], sizeof errs[k]);
            }
    } else {
        for (size_t k = 0; k < j->n; k++)
            codes[k] = w->kind->handle(&w->ctx, &tasks[k], &results[k], errs[k], ERRSZ);
    }

    /* Outcomes, and the events of the finished tasks, built outside the lock. */
    for (size_t k = 0; k < j->n; k++) {
        const cf_task *t = &tasks[k];
        if (codes[k] == 0 && !json_is_object(results[k])) {
            codes[k] = CF_EINVAL;
            snprintf(errs[k], ERRSZ, "the %s handler returned no result object", t->kind);
        }
        if (codes[k] != 0) {
            json_decref(results[k]);
            results[k] = NULL;
            if (!errs[k][0])
                snprintf(errs[k], ERRSZ, "%s", cf_strerror(codes[k]));
            utf8_trim(errs[k]);
        }
        if (codes[k] == 0) {
            raised[k] = make_raised(w, t, results[k], &raised_ids[k]);
            events[k] = make_event(w, t, results[k], NULL, j->attempt, &ids[k]);
            results[k] = NULL;
            cf_case_info(t->case_no, "%s %s done (try %d)", t->activity, t->task_id, j->attempt);
        } else if (transient(codes[k]) && j->attempt < max_tries) {
            again[nagain++] = j->idx[k];
        } else if (!transient(codes[k]) || !draining) {
            events[k] =
                make_event(w, t, NULL, errs[k][0] ? errs[k] : "failed", j->attempt, &ids[k]);
            cf_case_error(t->case_no, "%s %s failed after %d tr%s: %s", t->activity, t->task_id,
                          j->attempt, j->attempt == 1 ? "y" : "ies", errs[k]);
        }
    }

    pthread_mutex_lock(&w->lock);
    for (size_t k = 0; k < j->n; k++) {
        int is_again = 0;
        for (size_t a = 0; a < nagain; a++)
            is_again |= again[a] == j->idx[k];
        if (is_again)
            continue;
        if (events[k]) {
            w->n_done += codes[k] == 0;
            w->n_failed += codes[k] != 0;
        }
        /* A task whose event could not be made (out of memory) is dropped: done again later. */
        post_raised(w, j->m, j->idx[k], events[k], ids[k], raised[k], raised_ids[k]);
        events[k] = ids[k] = raised[k] = raised_ids[k] = NULL;
    }
    if (nagain > 0) {
        if (w->draining || j->m->abandoned) {
            /* Stopping, or the partition went elsewhere: the retry is someone else's. */
            for (size_t a = 0; a < nagain; a++)
                post(w, j->m, again[a], NULL, NULL);
        } else {
            long long delay = backoff(w, j->attempt);
            size_t first = 0;
            for (size_t k = 0; k < j->n; k++)
                if (j->idx[k] == again[0])
                    first = k;
            cf_case_warn(tasks[first].case_no,
                         "%zu task%s of %s failed on try %d of %d: %s "
                         "(again in %lld ms)",
                         nagain, nagain == 1 ? "" : "s", tasks[first].activity, j->attempt,
                         max_tries, errs[first], delay);
            memcpy(j->idx, again, nagain * sizeof *again);
            j->n = nagain;
            j->attempt++;
            j->not_before = cf_wall_ms() + delay;
            w->n_retried += (long long)nagain;
            enqueue(w, j);
            j = NULL;
        }
    }
    pthread_mutex_unlock(&w->lock);
    if (j) {
        free(j->idx);
        free(j);
    }
out:
    task_now = -1;
    for (size_t k = 0; results && k < n; k++)
        json_decref(results[k]);
    free(tasks);
    free(results);
    free(codes);
    free(errs);
    free(events);
    free(ids);
    for (size_t k = 0; raised && raised_ids && k < n; k++) {
        free(raised[k]);
        free(raised_ids[k]);
    }
    free(raised);
    free(raised_ids);
    free(again);
}

static void *thread_main(void *arg)
{
    worker *w = arg;

    pthread_mutex_lock(&w->lock);
    while (!w->quit) {
        job *j = w->queue;
        long long now = cf_wall_ms();
        if (!j || w->draining) {
            pthread_cond_wait(&w->wake, &w->lock);
            continue;
        }
        if (j->not_before > now) {
            struct timespec until = {(time_t)(j->not_before / 1000),
                                     (long)(j->not_before % 1000) * 1000000L};
            pthread_cond_timedwait(&w->wake, &w->lock, &until);
            continue;
        }
        w->queue = j->next;
        if (j->m->abandoned) {
            drop_job(w, j);
            continue;
        }
        w->running++;
        pthread_mutex_unlock(&w->lock);
        run_job(w, j);
        pthread_mutex_lock(&w->lock);
        w->running--;
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Takes a message into the worker: tracked in its partition, its tasks queued for the pool. */
static void take(worker *w, const rd_kafka_message_t *km)
{
    msg *m = msg_parse(w, km);
    part *p;
    long long now = cf_wall_ms();

    if (!m) {
        cf_error("out of memory: leaving %s/%d@%lld to be done again", w->t_tasks,
                 (int)km->partition, (long long)km->offset);
        w->fatal = 1;
        return;
    }
    w->n_messages++;
    p = find_part(w, m->partition);
    if (p) {
        m->tracked = 1;
        if (p->tail)
            p->tail->next = m;
        else
            p->head = m;
        p->tail = m;
        w->tracked++;
    } else {
        /* Not (or no longer) ours: done, but not committed by this worker. */
        m->next = w->orphans;
        w->orphans = m;
    }
    if (m->dead)
        produce_dead(w, m);
    if (m->ntasks == 0)
        return;
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < m->ntasks;) {
        /* A batch goes to the batch handler as one trip; otherwise each task is a job. */
        size_t n = m->batch && w->kind->handle_batch ? m->ntasks : 1;
        job *j = calloc(1, sizeof *j);
        if (j)
            j->idx = calloc(n, sizeof *j->idx);
        if (!j || !j->idx) {
            free(j);
            for (; i < m->ntasks; i++)
                post(w, m, i, NULL, NULL);
            break;
        }
        for (size_t k = 0; k < n; k++)
            j->idx[k] = i + k;
        j->m = m;
        j->n = n;
        j->attempt = 1;
        j->not_before = now;
        enqueue(w, j);
        i += n;
    }
    pthread_mutex_unlock(&w->lock);
}

/* Pauses consumption while too many messages are in progress, and resumes it. */
static void flow(worker *w)
{
    rd_kafka_topic_partition_list_t *list = NULL;

    if (!w->paused && w->tracked >= w->max_tracked) {
        if (rd_kafka_assignment(w->consumer, &list) == 0 && list) {
            rd_kafka_pause_partitions(w->consumer, list);
            w->paused = 1;
            cf_debug("%zu messages in progress: pausing", w->tracked);
        }
    } else if (w->paused && w->tracked <= w->max_tracked / 2) {
        if (rd_kafka_assignment(w->consumer, &list) == 0 && list) {
            rd_kafka_resume_partitions(w->consumer, list);
            w->paused = 0;
        }
    }
    if (list)
        rd_kafka_topic_partition_list_destroy(list);
}

/* ---- the producer ---- */

/* The worker's producer: what it is made with, the first time and when it is replaced. */
static cf_bus_producer_opts producer_opts(worker *w)
{
    static const char *const settings[] = {"linger.ms", "5", NULL};
    const cf_bus_producer_opts po = {
        .client_id = w->client, .settings = settings, .on_delivery = on_delivery, .opaque = w};
    return po;
}

/*
 * A producer that failed for good (cf_bus_producer_failed) is replaced rather than the worker
 * stopped, which would leave its tasks to a restart that may never come: the new producer sends
 * again every event not yet confirmed, each still held by its message.
 */
static void replace_producer(worker *w)
{
    const cf_bus_producer_opts po = producer_opts(w);

    /* The purged messages' reports are ignored (on_delivery): their events stay held. */
    if (cf_bus_producer_renew(&w->producer, w->cfg, &po) != 0)
        return; /* tried again at the next turn */
    w->producer_failed = 0;
    for (size_t p = 0; p < w->nparts; p++)
        for (msg *m = w->parts[p].head; m; m = m->next)
            produce_held(w, m);
    for (msg *m = w->orphans; m; m = m->next)
        produce_held(w, m);
}

/* ---- start and stop ---- */

static int start_kafka(worker *w, const cf_config *cfg, const char *client,
                       volatile sig_atomic_t *stop, char *err, size_t errsz)
{
    cf_bus_producer_opts po;
    const cf_bus_consumer_opts co = {.client_id = client,
                                     .group = w->group,
                                     .topic = w->t_tasks,
                                     .on_rebalance = on_rebalance,
                                     .opaque = w};
    int rc;

    w->cfg = cfg;
    snprintf(w->client, sizeof w->client, "%s", client);
    po = producer_opts(w);
    if (!(w->producer = cf_bus_producer_new(cfg, &po, err, errsz)))
        return CF_EKAFKA;
    /* The engine creates the task topics too; whoever comes first makes it.  A cluster that is
     * starting or electing is waited for. */
    rc = cf_bus_create_topic_waiting(w->producer, w->t_tasks, TOPIC_PARTITIONS, NULL, stop, err,
                                     errsz);
    if (rc)
        return rc;
    if (!(w->consumer = cf_bus_consumer_new(cfg, &co, err, errsz)))
        return CF_EKAFKA;
    return 0;
}

static int start_pool(worker *w, char *err, size_t errsz)
{
    w->threads = calloc((size_t)w->set.concurrency, sizeof *w->threads);
    if (!w->threads)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    for (int i = 0; i < w->set.concurrency; i++) {
        if (pthread_create(&w->threads[i], NULL, thread_main, w) != 0)
            return cf_errf(err, errsz, CF_ENOMEM, "cannot start handler thread %d", i + 1);
        w->nthreads++;
    }
    return 0;
}

static void stop_pool(worker *w)
{
    pthread_mutex_lock(&w->lock);
    w->quit = 1;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
    for (int i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    w->nthreads = 0;
}

/* Whether nothing is queued, running, waiting in the inbox or waiting for Kafka. */
static int quiet(worker *w)
{
    int q;
    pthread_mutex_lock(&w->lock);
    q = !w->queue && !w->running && !w->inbox;
    pthread_mutex_unlock(&w->lock);
    return q && rd_kafka_outq_len(w->producer) == 0;
}

/*
 * The graceful stop: no new work; queued tasks are dropped; running handlers
 * get grace_ms to finish, and their results are published and committed.
 */
static void drain(worker *w)
{
    long long until = cf_wall_ms() + w->set.grace_ms;
    job *j, *next;

    pthread_mutex_lock(&w->lock);
    w->draining = 1;
    for (j = w->queue, w->queue = NULL; j; j = next) {
        next = j->next;
        drop_job(w, j);
    }
    pthread_mutex_unlock(&w->lock);
    while (!quiet(w) && cf_wall_ms() < until && !w->fatal) {
        serve_inbox(w);
        rd_kafka_poll(w->producer, 10);
        if (w->producer_failed || cf_bus_producer_failed(w->producer, NULL, 0))
            replace_producer(w);
        commit(w, 1);
    }
    /* Handlers still running are told to give up; their tasks are left uncommitted. */
    cf_adapter_cancel(w->ctx.adapter);
    stop_pool(w);
    serve_inbox(w);
    until = cf_wall_ms() + 5000;
    while (rd_kafka_outq_len(w->producer) > 0 && cf_wall_ms() < until && !w->fatal)
        rd_kafka_poll(w->producer, 10);
    commit(w, 0);
}

static void free_all(worker *w)
{
    msg *m, *next;
    job *j, *jn;
    notice *n, *nn;

    for (size_t i = 0; i < w->nparts; i++)
        for (m = w->parts[i].head; m; m = next) {
            next = m->next;
            msg_free(m);
        }
    free(w->parts);
    for (m = w->orphans; m; m = next) {
        next = m->next;
        msg_free(m);
    }
    for (j = w->queue; j; j = jn) {
        jn = j->next;
        free(j->idx);
        free(j);
    }
    for (n = w->inbox; n; n = nn) {
        nn = n->next;
        free(n->event);
        free(n->id);
        free(n);
    }
    free(w->threads);
}

int cf_worker_run(const cf_config *cfg, const char *kind, volatile sig_atomic_t *stop, char *err,
                  size_t errsz)
{
    worker w;
    char host[64] = "localhost", client[200], name[160];
    int rc, inited = 0;

    memset(&w, 0, sizeof w);
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.wake, NULL);
    w.inbox_tail = &w.inbox;
    if (!(w.kind = cf_worker_kind_find(kind))) {
        rc = cf_errf(err, errsz, CF_ENOTFOUND, "no worker kind '%s'", kind);
        goto out;
    }
    if ((rc = cf_worker_settings_get(cfg, kind, &w.set, err, errsz)) ||
        (rc = read_court_offset(cfg, err, errsz)))
        goto out;
    gethostname(host, sizeof host - 1);
    snprintf(name, sizeof name, "tasks.%s", kind);
    cf_bus_topic(cfg, name, w.t_tasks, sizeof w.t_tasks);
    cf_bus_topic(cfg, "events", w.t_events, sizeof w.t_events);
    cf_bus_topic(cfg, "dlq", w.t_dlq, sizeof w.t_dlq);
    w.simulated = cfg->clock && strcmp(cfg->clock, "simulated") == 0;
    snprintf(w.group, sizeof w.group, "%s-worker-%s", cfg->topic_prefix, kind);
    snprintf(w.source, sizeof w.source, "worker:%s", kind);
    snprintf(w.by, sizeof w.by, "worker:%s:%s:%ld", kind, host, (long)getpid());
    snprintf(client, sizeof client, "caseflow-worker-%s-%ld", kind, (long)getpid());
    w.max_tracked = (size_t)w.set.concurrency * INFLIGHT_PER_THREAD;
    w.rng = (unsigned long long)cf_wall_ms() * 2654435761ULL ^ (unsigned long long)getpid();
    if (!w.rng)
        w.rng = 1;
    w.ctx.cfg = cfg;
    w.ctx.kind = w.kind->name;
    w.ctx.seed = w.set.adapter.seed;
    if ((rc = cf_adapter_new(&w.set.adapter, &w.ctx.adapter, err, errsz)))
        goto out;
    if (w.kind->init && (rc = w.kind->init(&w.ctx, err, errsz)))
        goto out;
    inited = 1;
    if ((rc = start_kafka(&w, cfg, client, stop, err, errsz)) || (rc = start_pool(&w, err, errsz)))
        goto out;
    cf_info("worker %s started: %s, %d thread%s, %d retr%s from %d ms, %s adapter", kind, w.t_tasks,
            w.set.concurrency, w.set.concurrency == 1 ? "" : "s", w.set.retries,
            w.set.retries == 1 ? "y" : "ies", w.set.backoff_ms,
            w.set.adapter.type == CF_ADAPTER_HTTP ? "HTTP" : "simulator");

    while (!*stop && !w.fatal) {
        rd_kafka_message_t *km;
        flow(&w);
        km = rd_kafka_consumer_poll(w.consumer, 10);
        if (km) {
            if (!km->err)
                take(&w, km);
            else if (km->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                cf_warn("consuming %s: %s", w.t_tasks, rd_kafka_message_errstr(km));
            rd_kafka_message_destroy(km);
        }
        serve_inbox(&w);
        rd_kafka_poll(w.producer, 0);
        if (w.producer_failed || cf_bus_producer_failed(w.producer, NULL, 0))
            replace_producer(&w);
        commit(&w, 1);
    }
    cf_info("stopping: finishing the tasks in progress (up to %d ms)", w.set.grace_ms);
    drain(&w);
    rc = w.fatal ? cf_errf(err, errsz, CF_EKAFKA, "stopped on a Kafka failure") : 0;
out:
    if (w.nthreads)
        stop_pool(&w);
    if (w.consumer) {
        /* Revokes the partitions: the rebalance callback commits what is finished. */
        rd_kafka_consumer_close(w.consumer);
        rd_kafka_destroy(w.consumer);
    }
    if (w.producer) {
        rd_kafka_flush(w.producer, 2000);
        /* Messages still unconfirmed are purged: their delivery reports come now, while the
         * messages they point to still exist; their tasks stay uncommitted. */
        rd_kafka_purge(w.producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        w.fatal = 1; /* no sending again from the delivery reports of purged messages */
        rd_kafka_poll(w.producer, 0);
        rd_kafka_destroy(w.producer);
    }
    if (w.kind)
        cf_info("worker %s stopped: %lld messages, %lld tasks done, %lld failed, %lld retries, "
                "%lld abandoned",
                kind, w.n_messages, w.n_done, w.n_failed, w.n_retried, w.n_dropped);
    if (inited && w.kind->fini)
        w.kind->fini(&w.ctx);
    cf_adapter_free(w.ctx.adapter);
    free_all(&w);
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.wake);
    return rc;
}
