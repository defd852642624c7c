/*
 * The worker kinds: what a kind of bulk work (documents, network_query,
 * six_checks, ...) provides to the runtime that consumes its task topic.
 *
 * A kind is a table of callbacks.  The runtime (workers/runtime.c) calls
 * `handle` once per task, from a pool of threads, so a handler must be safe to
 * run concurrently with itself on the same context: `ctx->state` is shared and
 * read-only after `init` unless the kind locks it.  A handler reaches the
 * outside world only through `ctx->adapter` (workers/adapter.h).
 *
 * Everything a handler gets is borrowed for the call; what it returns (the
 * result object) is a new reference that the runtime takes over.
 */
#ifndef CF_WORKER_H
#define CF_WORKER_H

#include <jansson.h>
#include <stddef.h>

#include "base/config.h"
#include "base/err.h"

struct cf_adapter;

/* One task as the engine published it. */
typedef struct cf_task {
    const char *task_id, *case_no, *kind, *activity, *due; /* due may be NULL */
    /* params: the task's; data: the case's data (parties, amounts...) — personal: never log it
     * unmasked.  Either is NULL when the message holds no object for it. */
    const json_t *params, *data;
    int attempt; /* 1 for the first try */
} cf_task;

typedef struct cf_worker_ctx {
    const cf_config *cfg;
    const char *kind;
    unsigned long long seed;    /* simulator seed */
    struct cf_adapter *adapter; /* the outside system of this kind (simulator or HTTP) */
    void *state;                /* the kind's own, from init */
} cf_worker_ctx;

/*
 * Returns 0 and a result object (new reference) for the task.completed event;
 * CF_ETIMEOUT or CF_EIO for a transient failure (retried with backoff); any
 * other code for a permanent failure (task.failed at once).  err says why.
 */
typedef int (*cf_handle_fn)(cf_worker_ctx *ctx, const cf_task *task, json_t **result, char *err,
                            size_t errsz);

/*
 * Batched kinds: the whole batch as one trip; results[i] / codes[i] / errs per task.
 * The arrays hold `n` entries, zeroed by the runtime; each codes[i] means what
 * handle's return value means, and results[i] (a new reference) counts only
 * where codes[i] is 0.  Returns 0 when it filled the codes, or a code for the
 * trip as a whole (errs[0] says why): then every task of the batch fails with
 * it.  Tasks that failed for a passing reason come again, together, in a later
 * call with the tasks of this batch that are left.
 */
typedef int (*cf_handle_batch_fn)(cf_worker_ctx *ctx, const cf_task *tasks, size_t n,
                                  json_t **results, int *codes, char (*errs)[256]);

typedef struct cf_worker_kind {
    const char *name;
    int (*init)(cf_worker_ctx *ctx, char *err, size_t errsz); /* may be NULL */
    cf_handle_fn handle;                                      /* required */
    cf_handle_batch_fn handle_batch;  /* may be NULL: then each task of a batch goes to handle */
    void (*fini)(cf_worker_ctx *ctx); /* may be NULL */
    /*
     * May be NULL.  An event the kind raises beside a task's result, for a workflow to react to
     * on its own terms (an auction's sale raises proceeds.received for the payout): returns its
     * data (a new reference) and sets *type, or returns NULL when this result raises none.  The
     * runtime publishes it just before the task.completed event, with the id
     * "<task_id>:<type>", so that a task done twice raises it once.
     */
    json_t *(*raises)(const cf_task *task, const json_t *result, const char **type);
} cf_worker_kind;

/* Returns the kind named `name` from the registry (workers/registry.c), or NULL when there is none.
 */
const cf_worker_kind *cf_worker_kind_find(const char *name);

/* Writes the current time, to the second, as RFC 3339 in the court's zone
 * ("2026-03-02T09:30:00+08:00") into `buf` of `n` bytes (64 is enough); returns `buf`.
 * For the times a result reports (queried_at, archived_at). */
const char *cf_worker_now(char *buf, size_t n);

#endif
