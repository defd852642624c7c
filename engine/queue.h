/*
 * The staff task queues (ARCHITECTURE.md: "the queue operations live in the engine library"):
 * listing a post's tasks, claiming one, completing or returning it, reassigning it, and reading
 * the engine's verdict on what was sent.  `caseflow tasks` and `caseflow serve` both call these;
 * they decide who is acting, and these functions take the actor as an argument.
 *
 * A claim is one conditional UPDATE (open -> claimed by the actor), so two people never hold the
 * same task; completing or returning an open task claims it in the same statement.  Completing
 * produces task.completed (id <task id>:done) and returning task.returned (<task id>:returned)
 * with the source staff:<the task's post>:<actor>; the engine marks the task done or returned
 * when it applies the event, so the tasks table never runs ahead of the case.  Worker tasks are
 * refused.  Times come from the engine's clock (real, or the simulated one in engine_clock).
 */
#ifndef CF_QUEUE_H
#define CF_QUEUE_H

#include <jansson.h>
#include <libpq-fe.h>

#include "base/err.h"
#include "engine/registry.h"
#include "io/sender.h"

/* The engine's clock as PostgreSQL sees it (an SQL expression): the simulated time, or the real
 * one.  Staff actions are timed by it, as the engine times what it does. */
#define CF_CLOCK_SQL                                                                               \
    "coalesce((select case when c.mode = 'simulated' then c.now else now() end from engine_clock " \
    "c where c.id = 1), now())"

/* A timestamptz column as ISO 8601 at the session's offset (an argument of to_char). */
#define CF_ISO_SQL "'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM'"

/* Who acts on a task.  `account` is attributed in the event's source and data.by; a non-NULL
 * `post` confines the actor to that post's tasks (others are "not found"), NULL allows any. */
typedef struct cf_actor {
    const char *account;
    const char *post;
} cf_actor;

/* A task as staff see it.  Empty texts stand for SQL NULL (no post, no holder, no due date). */
typedef struct cf_task {
    char id[160], case_no[160], title[256], activity[128], kind[128], post[128], status[16];
    char claimed_by[128];
    char since[40];   /* when the status last changed (the claim's time while claimed) */
    char due[40];     /* ISO 8601 at the court's offset */
    char created[40]; /* when the engine made the task (the engine's clock) */
    int worker, overdue;
} cf_task;

/* Which tasks a list shows.  NULL or 0 members do not filter. */
typedef struct cf_queue_filter {
    const char *post;       /* the post's queue; NULL: every post */
    const char *status;     /* "open" or "claimed"; NULL: both */
    int overdue;            /* only tasks past their due date by the engine's clock */
    const char *due_before; /* only tasks due before this ISO 8601 instant */
    const char *text;       /* only tasks whose case number or title holds this text */
    const char *court;      /* only tasks of this court's cases (engine/cases.h), and ... */
    const char *home;       /* ... the installation's home court, of keys that name none */
    int limit, offset;      /* a page of the result; limit 0: all */
} cf_queue_filter;

typedef struct cf_task_list {
    cf_task *tasks; /* the page, the earliest due first */
    size_t n;
    long long total, open, claimed, overdue; /* of every task the filter matches, not the page */
    char now[40];                            /* the engine's clock */
    char clock[16];                          /* "real" or "simulated" */
} cf_task_list;

/*
 * Lists the open and claimed staff tasks `f` matches into `out` (free with
 * cf_task_list_free, also after an error).  Returns 0, CF_EINVAL (a filter value is bad, named
 * in `err`) or CF_EDB.
 */
int cf_queue_list(PGconn *db, const cf_queue_filter *f, cf_task_list *out, char *err,
                  size_t errsz) CF_MUST_CHECK;
void cf_task_list_free(cf_task_list *l);

/* The task as JSON: {id, case, title, activity, kind, post, status, claimed_by, claimed_since, due,
 * overdue, created_at}, absent values as null.  New reference, NULL when memory runs out. */
json_t *cf_queue_task_json(const cf_task *t);

/*
 * Reads task `id` into `t`.  Returns 0, CF_ENOTFOUND when there is none or it is not a task of
 * `post` (when not NULL), or CF_EDB.
 */
int cf_queue_get(PGconn *db, const char *id, const char *post, cf_task *t, char *err,
                 size_t errsz) CF_MUST_CHECK;

/*
 * Claims open task `id` for `a`.  Returns 0 when claimed now, CF_EDUP when `a` holds it already,
 * CF_ENOTFOUND (no such task, or not of a->post), CF_EPERM (a worker task), CF_ESTATE (claimed
 * by someone else, or not open: `t->status` and `t->claimed_by` say which) or CF_EDB.  `t`
 * describes the task whenever it exists.
 */
int cf_queue_claim(PGconn *db, const char *id, const cf_actor *a, cf_task *t, char *err,
                   size_t errsz) CF_MUST_CHECK;

/* What finishing a task needs besides the database. */
typedef struct cf_queue_ctx {
    const cf_registry *reg; /* the workflows: event schemas and the dry run */
    cf_sender *sender;
    const char *topic; /* <prefix>.events */
} cf_queue_ctx;

/* What was sent for a finished task, to wait for the engine's verdict on it. */
typedef struct cf_queue_sent {
    char event_id[200];
    char type[32];
    long long mark; /* dead letters after this id are about what was sent */
} cf_queue_sent;

/*
 * Completes task `id` with `result` (a JSON object) when `result` is not NULL, else returns it
 * with `reason`: claims it for `a` when open (or keeps a's claim), checks the event against the
 * schema and against the workflow (the case's current state run through the transition
 * function: a result the workflow would refuse is not sent), produces it and waits for Kafka's
 * acknowledgement.  Returns 0 with `out` filled, or
 *   CF_ENOTFOUND, CF_EPERM, CF_ESTATE  as cf_queue_claim (someone else's claim, or not open);
 *   CF_EINVAL    the workflow refuses the result (`err` holds its reason);
 *   CF_ESCHEMA   the event breaks its schema;
 *   CF_EKAFKA, CF_ETIMEOUT  Kafka did not take it;  CF_EDB, CF_ENOMEM.
 * On every failure after the claim, the claim stays with `a`.  `t` describes the task whenever
 * it exists; `err` says why in one line.
 */
int cf_queue_finish(PGconn *db, const cf_queue_ctx *ctx, const char *id, const cf_actor *a,
                    const json_t *result, const char *reason, cf_task *t, cf_queue_sent *out,
                    char *err, size_t errsz) CF_MUST_CHECK;

/* Produces `event` to ctx->topic keyed by its case, with its id, and waits for Kafka's
 * acknowledgement.  Returns 0, CF_EKAFKA, CF_ETIMEOUT or CF_ENOMEM. */
int cf_queue_send_event(const cf_queue_ctx *ctx, const json_t *event, char *err,
                        size_t errsz) CF_MUST_CHECK;

/* The engine's verdict on a sent event. */
typedef struct cf_verdict {
    int state; /* 1 applied, 0 refused (a dead letter), -1 not yet */
    long long seq;
    char from[64], to[64];
    char reason[1024];
} cf_verdict;

/* Looks once for the engine's verdict on `sent`.  Returns 0 with `v` filled, or CF_EDB. */
int cf_queue_verdict(PGconn *db, const cf_queue_sent *sent, cf_verdict *v, char *err,
                     size_t errsz) CF_MUST_CHECK;

/*
 * Moves open or claimed staff task `id` to post `to_post` (NULL: it stays on its post) and to
 * account `to_account` (claimed by it; NULL: open, without a holder), recording who did it in
 * task_reassignments.  The caller checks that the post exists and that the account may hold it.
 * Returns 0, CF_ENOTFOUND, CF_EPERM (a worker task), CF_ESTATE (not open or claimed) or CF_EDB.
 */
int cf_queue_reassign(PGconn *db, const char *id, const char *to_post, const char *to_account,
                      const char *by, cf_task *t, char *err, size_t errsz) CF_MUST_CHECK;

#endif
