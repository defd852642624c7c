/*
 * What the engine's modules share: the engine's state (engine.c owns it), the
 * batch of writes (batch.c), the outbox relay (relay.c) and the ticker that
 * fires timers and dispatches batched tasks (ticker.c).  Not for use outside engine/.
 */
#ifndef CF_ENGINE_INTERNAL_H
#define CF_ENGINE_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>

#include "base/backoff.h"
#include "base/config.h"
#include "io/store.h"
#include "core/caltime.h"
#include "engine/cache.h"
#include "engine/registry.h"
#include "engine/rows.h"

#define CF_TOPIC_EVENTS       "caseflow.events"
#define CF_TOPIC_TRANSITIONS  "caseflow.transitions"
#define CF_TOPIC_DLQ          "caseflow.dlq"
#define CF_TOPIC_TASKS_PREFIX "caseflow.tasks."

/* A partition this engine owns, with the generation that fences its previous owners. */
typedef struct cf_part {
    int32_t partition;
    long long generation;
} cf_part;

/* Counters shown by `caseflow stats` and logged at shutdown. */
typedef struct cf_counters {
    long long applied, rejected, duplicates, stale_timers, batches, fenced, timers_fired,
        task_batches, published, commit_failures, isolated;
} cf_counters;

/*
 * Text keys to row numbers, for the rows of a batch that a later event of it may change (a
 * case's state, a task, a timer) or look up.  Open addressing with linear probing; a key is
 * never removed, only the whole index cleared for the next batch.
 */
typedef struct cf_index {
    struct cf_slot {
        char *key; /* owned */
        size_t row;
    } * slots;
    size_t nslots, count;
} cf_index;

/* The row of `key`, or -1. */
long cf_index_find(const cf_index *x, const char *key);
/* Sets the row of `key` (a copy of it is kept).  0, or CF_ENOMEM. */
int cf_index_put(cf_index *x, const char *key, size_t row) CF_MUST_CHECK;
void cf_index_clear(cf_index *x);
void cf_index_free(cf_index *x);

/* An event this batch applied: the log's row is in the column table; this is what a later
 * event with the same id is compared with. */
typedef struct cf_event_row {
    char *id;   /* owned */
    char *body; /* the bytes that came off the bus (owned) */
    size_t len;
} cf_event_row;

/* A case as this batch leaves it: its row of the cases table, and the state its next event
 * starts from (in this batch or the next, until the batch has committed). */
typedef struct cf_case_row {
    char *case_no; /* owned */
    const char *workflow;
    int version;
    char state[64];
    long long seq;
    json_t *body; /* the case's state object (a reference) */
    char hash[65];
    cf_time created_at, updated_at;
} cf_case_row;

/* A timer set (due is the time as the workflow wrote it) or cancelled (due NULL). */
typedef struct cf_timer_row {
    char *case_no, *name, *due; /* owned */
} cf_timer_row;

/* A task created by this batch (is_new), or one whose status it changes. */
typedef struct cf_task_row {
    char *id, *case_no, *activity, *kind, *post, *title, *due, *batch_group; /* owned */
    char *params, *result; /* JSON text (owned), or NULL */
    char *court;           /* owned: its case's court (cf_caseno_court); NULL: the home court's */
    int is_new, worker, dispatched;
    const char *status; /* a constant: open, done, failed, returned, cancelled */
    cf_time created_at, updated_at;
} cf_task_row;

typedef struct cf_outbox_row {
    char *topic, *key, *msg_id, *payload; /* owned; key may be NULL */
    size_t len;
} cf_outbox_row;

typedef struct cf_dead_row {
    char *event_id, *case_no, *reason, *topic; /* owned; the first two may be NULL */
    int partition;
    long long offset, size;
} cf_dead_row;

/* A notice to a post (schemas/sql/013_notices.sql): `key` makes it once. */
typedef struct cf_notice_row {
    char *key, *post, *kind, *case_no, *title, *body; /* owned; case_no may be NULL, body JSON */
    char *court; /* owned; NULL: the home court's (or the one court's) */
    cf_time at;
} cf_notice_row;

typedef struct cf_dup_row {
    char *event_id; /* owned */
    long long count;
} cf_dup_row;

/* A partition's next offset after this batch, and the generation held when it was handed over
 * (-1 until then). */
typedef struct cf_offset_row {
    int32_t partition;
    long long next, generation;
} cf_offset_row;

/* A growable array of rows of one kind. */
#define CF_VEC(T)      \
    struct {           \
        T *v;          \
        size_t n, cap; \
    }

/* Writes gathered while a batch of events is applied, committed in one transaction. */
typedef struct cf_batch {
    cf_rows events; /* the event log's rows, straight into their column table */
    CF_VEC(cf_event_row) applied;
    CF_VEC(cf_case_row) cases;
    CF_VEC(cf_timer_row) timers;
    CF_VEC(cf_task_row) tasks;
    CF_VEC(cf_outbox_row) outbox;
    CF_VEC(cf_dead_row) dead;
    CF_VEC(cf_notice_row) notices;
    CF_VEC(cf_dup_row) dups;
    CF_VEC(cf_offset_row) offsets;
    cf_index case_ix, timer_ix, task_ix, event_ix, dup_ix;
    cf_rows scratch;  /* the other tables' columns, one table at a time, memory kept */
    char clock[64];   /* the simulated clock's new time, or "" */
    char sqlstate[6]; /* after a failed commit: the SQLSTATE of the statement that failed */
    int broken;       /* a row could not be built (memory ran out): the batch must not commit */
    PGconn *db;       /* the connection it is committed on */
    int prepared_pid; /* the session (backend pid) of `db` that has the statements prepared */
    long long *ids;   /* after a commit: the outbox rows' ids, in row order */
} cf_batch;

typedef struct cf_engine {
    const cf_config *cfg;
    const cf_registry *reg;
    volatile sig_atomic_t *stop;
    PGconn *db;
    rd_kafka_t *consumer, *producer;
    cf_cache *cache;
    char owner[128];
    /* Topic names, from the configured prefix: <prefix>.events and so on. */
    char t_events[160], t_transitions[160], t_dlq[160], t_tasks[160];
    cf_part *parts;
    size_t nparts;
    int simulated;
    cf_time now; /* the engine's clock as of the batch or tick at hand */
    int offset_min;
    /*
     * Two batches take turns: the engine applies events into `cur` while the committer thread
     * commits `inflight` on its own connection.  A batch's states stay visible to the next one
     * (its `dirty` map) until it has committed; if it fails, the next is discarded too.
     */
    cf_batch bufs[2];
    cf_batch *cur, *inflight;
    PGconn *cdb;
    pthread_t committer;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int job; /* 1: inflight waits to be committed, 2: done (result in job_rc), 0: idle */
    int job_rc;
    char job_err[1024];
    int quit;
    int committer_started;
    /* The relay: outbox ids whose delivery Kafka confirmed, waiting to be deleted. */
    long long *delivered;
    size_t ndelivered, capdelivered;
    long long unconfirmed; /* messages the producer has not reported on yet */
    int delivery_failed;
    int producer_failed;      /* the producer raised a fatal error: it is replaced (relay.c) */
    long long last_report_ms; /* when the last delivery report (success or failure) came */
    cf_counters n;
    long long last_sweep_ms, last_tick_ms;
    long long overdue_ms; /* when overdue tasks were last looked for (wall clock) */
    /*
     * After a batch failed on a data error (an event the database refuses, though it passed
     * validation): partition (text) -> the offset up to which events are applied and committed
     * one at a time, so that the event at fault is found and dead-lettered and no other is lost.
     */
    json_t *isolate;
    int failing; /* commits failed in a row; at CF_FAILING_ALERT the log says so at error */
    char last_failure[512];
} cf_engine;

/* batch.c */
void cf_batch_init(cf_batch *b);
void cf_batch_reset(cf_batch *b);
void cf_batch_free(cf_batch *b);
/* Commits the batch and its offsets on b->db; CF_EFENCED when a partition has a newer owner.  On
 * success b->ids holds the ids of the outbox rows, for the relay.  Runs on the committer thread:
 * it reads only the engine's configuration and topic names. */
int cf_batch_commit(const cf_engine *e, cf_batch *b, char *err, size_t errsz) CF_MUST_CHECK;
/* Writes only the batch's outbox rows, in the transaction the caller holds open on b->db, their
 * ids into b->ids: for the ticker, which takes its rows from the database in that transaction. */
int cf_batch_write_outbox(cf_batch *b, char *err, size_t errsz) CF_MUST_CHECK;

/*
 * The rows of a batch, each added by one function.  A function that returns a row returns NULL
 * when memory ran out, and then the batch is marked broken (it will not commit): callers need
 * not check, but must not use the NULL.  Strings are copied; `body` gets a new reference.
 */
/* The event log's row of an applied event; `body` is its bytes as received. */
void cf_batch_event(cf_batch *b, const char *case_no, long long seq, const char *id,
                    const char *type, const char *source, const char *event_time,
                    cf_time applied_at, const char *body, size_t len, const char *from,
                    const char *to, const char *actions, const char *prev_hash, const char *hash);
/* The case's row: the one this batch already has for it (to be updated), or a new one. */
cf_case_row *cf_batch_case(cf_batch *b, const char *case_no);
/* The case's row if this batch has one, else NULL; the event applied with `id`, likewise. */
cf_case_row *cf_batch_find_case(const cf_batch *b, const char *case_no);
const cf_event_row *cf_batch_find_event(const cf_batch *b, const char *id);
void cf_batch_timer(cf_batch *b, const char *case_no, const char *name, const char *due);
/* The task's row: the one this batch has, or a new one (not is_new: a change of status). */
cf_task_row *cf_batch_task(cf_batch *b, const char *id);
cf_task_row *cf_batch_find_task(const cf_batch *b, const char *id);
/* Takes `payload` (malloc'ed JSON text). */
void cf_batch_outbox(cf_batch *b, const char *topic, const char *key, const char *msg_id,
                     char *payload);
void cf_batch_dead(cf_batch *b, const char *event_id, const char *case_no, const char *reason,
                   const char *topic, int partition, long long offset, long long size);
/* A notice to `post` of court `court` (NULL: the home court's); `body` is JSON text (NULL: {}). */
void cf_batch_notice(cf_batch *b, const char *key, const char *post, const char *court,
                     const char *kind, const char *case_no, const char *title, const char *body,
                     cf_time at);
void cf_batch_dup(cf_batch *b, const char *event_id);
void cf_batch_offset(cf_batch *b, int32_t partition, long long next);
/* Sets a string member of a row (freeing what it held); marks the batch broken on failure. */
void cf_batch_set(cf_batch *b, char **member, const char *value);

/* lookups.c: what a batch reads from the database before it applies its events. */
/* A case as stored before this batch, read by cf_lookups_read: its state, head hash and creation
 * time, or why its stored state cannot be read. */
typedef struct stored_case {
    json_t *state; /* owned; NULL when it cannot be read */
    char hash[65];
    cf_time created_at;
    char *error;
} stored_case;

/* A task as stored, for checking who may report on it. */
typedef struct task_owner {
    int worker;
    char *kind, *post, *claimed_by;
} task_owner;

/* What a batch reads from the database before it applies its events. */
typedef struct lookups {
    cf_index state_ix; /* case_no -> states[] of cases not cached */
    stored_case *states;
    size_t nstates;
    cf_index known_ix; /* event id -> known[]: the stored body text of an applied event */
    char **known;
    size_t nknown;
    cf_index task_ix; /* task_id -> tasks[] of the tasks task.* events name */
    task_owner *tasks;
    size_t ntasks;
} lookups;

void cf_lookups_init(lookups *l);
void cf_lookups_free(lookups *l);
/* Reads the stored states of the events' cases that neither the batches nor the cache hold, the
 * stored bodies of ids seen before, and the owners of the tasks task.* events name.  0 or an
 * error (CF_EDB, CF_ENOMEM) with the reason in `err`. */
int cf_lookups_read(cf_engine *e, json_t **parsed, size_t n, lookups *l, char *err,
                    size_t errsz) CF_MUST_CHECK;

/* relay.c */
int cf_relay_init(cf_engine *e, char *err, size_t errsz) CF_MUST_CHECK;
/* Publishes one outbox row; `payload` is copied. */
void cf_relay_send(cf_engine *e, long long id, const char *topic, const char *key,
                   const char *msg_id, const char *payload, size_t len);
/* Serves delivery reports and deletes delivered rows; every few seconds re-sends old rows. */
void cf_relay_poll(cf_engine *e, int timeout_ms);
/* Waits up to `timeout_ms` for every message in flight, then deletes what was delivered. */
void cf_relay_flush(cf_engine *e, int timeout_ms);

/* ticker.c: fires due timers and dispatches due batches; returns what it published. */
int cf_ticker_run(cf_engine *e, char *err, size_t errsz) CF_MUST_CHECK;
/* Reads the engine's clock (the wall clock, or the simulated one from the database). */
int cf_clock_read(cf_engine *e, char *err, size_t errsz) CF_MUST_CHECK;
/* overdue.c: moves staff tasks overdue by the workflow's number of working days to its post,
 * and once a week sends each post and the bureau lead the list of overdue tasks (notices). */
int cf_overdue_run(cf_engine *e, char *err, size_t errsz) CF_MUST_CHECK;

#endif
