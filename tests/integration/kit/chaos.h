/*
 * The chaos tests' tools (#16): the stack's servers by name, signalled, stopped and started; a
 * steady load of new cases produced from a thread of its own while a test breaks things; and the
 * audit that says whether every event fed was applied exactly once.
 *
 * Servers are named as scripts/stack names them: "postgres", "kafka" (node 1) and "kafka2",
 * "kafka3" of a cluster.  The stack is the one in CASEFLOW_STACK_DIR, where the ctest fixture
 * put it.
 */
#ifndef CF_KIT_CHAOS_H
#define CF_KIT_CHAOS_H

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "kit.h"

/* The pid of server `part` from its pid file, or -1 when it has none (stopped). */
pid_t chaos_server_pid(const char *part);

/*
 * Sends `sig` to server `part`.  PostgreSQL gets it in every process (the postmaster and each
 * backend it started): a SIGSTOP to the postmaster alone would leave the open connections
 * served.  Returns how many processes were signalled.
 */
int chaos_signal(const char *part, int sig);

/* Runs `scripts/stack CMD [--hard] DIR PART` (stop, start, restart); returns its exit status.
 * Its output goes to <logdir>/stack.log. */
int chaos_stack(kit *k, const char *cmd, int hard, const char *part);

/* The server name of the broker leading the most partitions of `topic` ("kafka", "kafka2", ...),
 * written into `part`; returns 0, or -1 when the cluster did not say. */
int chaos_leader(kit *k, const char *topic, char *part, size_t size);

/*
 * A load: `cases` new cases filed at about `per_second` a second, from a thread with its own
 * idempotent producer (acks=all) that never gives up on a message.  Case n is
 * "(2026)豫0381执<n>号", filed with the event id "filed-<n>".
 */
typedef struct chaos_load {
    kit *k;
    int cases, per_second;
    pthread_t thread;
    volatile int sent;      /* produced so far */
    volatile int delivered; /* confirmed by the cluster */
    volatile int resent;    /* refused by the client or the cluster, and sent again */
    volatile int failed;    /* could not be sent even again: must stay 0 */
    rd_kafka_t *rk;         /* its producer, replaced when it fails for good */
    void *held;             /* filings the failed producer did not deliver, for the next one */
    int renewed;            /* producers replaced */
} chaos_load;

void chaos_load_start(chaos_load *l, kit *k, int cases, int per_second);
/* Waits until every case is produced and confirmed (or failed); returns the number confirmed. */
int chaos_load_wait(chaos_load *l);

/*
 * The audit after a fault, with the network_query worker running: waits up to `seconds` for
 * `cases` filings and their network query results to be applied and the lag to drain, then
 * checks that each case has its events exactly once with sequence numbers 1..n without a gap,
 * that every worker task was settled by exactly one event, that nothing was dead-lettered and
 * that the outbox is empty.  Prints each finding; returns the number of failed checks (0: all
 * good).
 */
int chaos_audit(kit *k, int cases, int seconds);

/*
 * The start of a chaos test: a fresh kit named `name`, the engine (not when `engine` is NULL) and
 * the network_query worker started, a load of `cases` filings at `per_second` running; with an
 * engine, returns once it has applied its first events and a few seconds more have passed.
 */
void chaos_begin(kit *k, const char *name, chaos_load *l, int cases, int per_second, pid_t *engine,
                 pid_t *worker);
/* chaos_begin on a kit already made (a test that changes the stack first): the engine, the worker
 * and the load started, and the wait for the first events. */
void chaos_start(kit *k, chaos_load *l, int cases, int per_second, pid_t *engine, pid_t *worker);
/* chaos_start with the engine's environment changed by `engine_env` ("NAME=value" pairs ended by
 * NULL, as kit_engine_start takes them): a connection string through a proxy, a timeout. */
void chaos_start_with(kit *k, chaos_load *l, int cases, int per_second,
                      const char *const *engine_env, pid_t *engine, pid_t *worker);

/*
 * The end of a chaos test: waits for the load (every filing confirmed), runs chaos_audit, and,
 * when `untouched`, checks that `engine` and `worker` are still the processes chaos_begin started
 * (they carried on by themselves); then stops both with SIGTERM, each of which must exit 0.
 * Prints each finding; returns the number of failed checks.
 */
int chaos_finish(kit *k, chaos_load *l, pid_t engine, pid_t worker, int untouched);

/* Writes zeros to `path` until its filesystem is full, down to the last byte (a disk filling up);
 * returns the bytes written, or -1 when `path` cannot be made. */
long long chaos_fill(const char *path);

/* Seconds since `t0` (CLOCK_MONOTONIC), for what a test prints. */
double chaos_seconds_since(const struct timespec *t0);

/* Asks `caseflow serve` at `base` ("http://127.0.0.1:PORT") for the intake post's queue as the
 * member of staff whose session is `cookie`, during or after a fault, and prints the answer with
 * `when` and how long it took (kit_http gives up after 120 s: a hang).  Returns the status; sets
 * *database when it is a 503 that names the database. */
long chaos_ask_queue(const char *base, const char *cookie, const char *when, int *database);

/* The consumer group's lag on <prefix>.events: the brokers' high watermarks less the offsets the
 * engine stored in PostgreSQL; -1 when the cluster did not answer. */
long long chaos_lag(kit *k);

#endif
