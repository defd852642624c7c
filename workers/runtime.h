/*
 * The worker runtime: the process behind `caseflow worker KIND`.  It consumes
 * <prefix>.tasks.<kind> in the consumer group <prefix>-worker-<kind>, runs the
 * kind's handler on a bounded pool of threads with retries, produces each
 * result to <prefix>.events, and commits a message's offset only once the
 * results of every task in it, and of every message before it in its
 * partition, are confirmed by Kafka: at-least-once, with stable event ids
 * ("<task_id>:done", "<task_id>:failed") so that the engine drops duplicates.
 */
#ifndef CF_WORKER_RUNTIME_H
#define CF_WORKER_RUNTIME_H

#include <signal.h>
#include <stddef.h>

#include "base/config.h"
#include "base/err.h"
#include "workers/adapter.h"

/* A worker kind's settings (workers/settings.c): the worker.* rows of the configuration, with
 * the overrides of worker.kinds ("<kind>.<setting>") for this kind applied. */
typedef struct cf_worker_settings {
    int concurrency;    /* handler threads */
    int retries;        /* tries after the first for a passing failure */
    int backoff_ms;     /* the first retry's delay, doubled each try */
    int backoff_max_ms; /* the cap of the delay */
    int grace_ms;       /* on SIGTERM: how long running handlers may finish */
    cf_adapter_options adapter;
    char adapter_url[1024]; /* the storage of adapter.url */
} cf_worker_settings;

/*
 * Resolves the settings of `kind` from `cfg`.  Returns 0, or CF_EINVAL naming
 * the worker.kinds entry that is unknown or out of its bounds.
 */
int cf_worker_settings_get(const cf_config *cfg, const char *kind, cf_worker_settings *s, char *err,
                           size_t errsz) CF_MUST_CHECK;

/*
 * Runs the worker of `kind` until `*stop` becomes non-zero (SIGTERM), then
 * stops taking work, lets running handlers finish for up to worker.grace_ms,
 * publishes and commits what finished, and abandons the rest uncommitted (a
 * later worker does it again).  Returns 0 after a clean stop, or an error code
 * with the reason in `err` (unknown kind, Kafka unusable, kind's init failed).
 */
int cf_worker_run(const cf_config *cfg, const char *kind, volatile sig_atomic_t *stop, char *err,
                  size_t errsz) CF_MUST_CHECK;

#endif
