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

/* Writes gathered while a batch of events is applied, committed in one transaction. */
enum { CF_BATCH_SCRATCH = 19 };

typedef struct cf_batch {
    cf_sqlarr ev[13];                    /* events: one array per column */
    cf_sqlarr scratch[CF_BATCH_SCRATCH]; /* the other tables' columns, reused batch after batch */
    size_t nevents;
    json_t *cases;    /* case_no -> row */
    json_t *timers;   /* "case\x1fname" -> {case, name, due|null} */
    json_t *tasks;    /* task_id -> row ("new": true when inserted by this batch) */
    json_t *outbox;   /* [ {topic, key, msg_id, payload} ] */
    json_t *dead;     /* [ dead letter rows ] */
    json_t *dups;     /* event_id -> count */
    json_t *offsets;  /* partition (text) -> next offset */
    json_t *gens;     /* partition (text) -> the generation held when the batch was handed over */
    json_t *dirty;    /* case_no -> {state, hash, created_at}: the states this batch leaves */
    json_t *ids_seen; /* event ids this batch applied */
    char clock[64];   /* the simulated clock's new time, or "" */
    char sqlstate[6]; /* after a failed commit: the SQLSTATE of the statement that failed */
    int broken;       /* a row could not be built (memory ran out): the batch must not commit */
    PGconn *db;       /* the connection it is committed on */
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
/* overdue.c: moves staff tasks overdue by the workflow's number of working days to its post. */
int cf_overdue_run(cf_engine *e, char *err, size_t errsz) CF_MUST_CHECK;

#endif
