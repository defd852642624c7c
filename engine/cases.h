/*
 * Reading cases for people: search, a case's state, data, deadlines, timers, tasks, its timeline
 * and its audit replay, and the command center's counts.  The HTTP server calls these; the
 * results are JSON because they go straight out to a client.
 *
 * Every function that reads one case takes `reach`: NULL reads any case, a post reads only the
 * cases that post reaches (a task of the case is, or was, on its queue, or the case is
 * assigned to it); any other case is "not found", so that guessing numbers tells nothing.
 * Personal data is returned whole: the caller masks it (base/mask.h) for roles that must not
 * see it.
 *
 * Where one installation serves several courts, lists take a `court` too (NULL: every court) and
 * the installation's `home` court, which keys that name no court belong to; the server checks
 * one case's or task's court with cf_case_court before anything else.
 */
#ifndef CF_CASES_H
#define CF_CASES_H

#include <jansson.h>
#include <libpq-fe.h>

#include "base/err.h"
#include "core/caltime.h"
#include "core/replay.h"
#include "engine/registry.h"

/* SQL: the court of case row `c` (schemas/sql/014_courts.sql), or `home` when its key names none.
 */
#define CF_CASE_COURT_SQL(c, home) \
    "coalesce(caseflow_court(" c ".case_no, " c ".body -> 'data' ->> 'court'), " home ")"

/* SQL: whether task row `t` is of court `court` (NULL: any) where `home` is the home court, by
 * its court column (schemas/sql/016_tasks_court.sql: NULL is the home court's).  Given the
 * values, the planner keeps `t.court = court`, which tasks_court_queue serves, or for the home
 * court `coalesce(t.court, home) = court`, which tasks_staff_queue_court checks on its entries
 * of the post (an OR of the code and NULL would read the tasks' rows, a bitmap scan). */
#define CF_TASK_COURT_SQL(t, court, home)                                                     \
    "(" court "::text is null or case when " court "::text = " home "::text then coalesce(" t \
    ".court, " home "::text) = " court "::text else " t ".court = " court "::text end)"

/*
 * The court of case `case_no` or, when `task_id` is not NULL, of the case of that task, into
 * `out` (`home` when its key names none).  Returns 0, CF_ENOTFOUND (no such case or task) or
 * CF_EDB.
 */
int cf_case_court(PGconn *db, const char *case_no, const char *task_id, const char *home, char *out,
                  size_t n, char *err, size_t errsz) CF_MUST_CHECK;

/*
 * Cases whose number holds `q`, or (when `by_name`) one of whose parties is named `q` exactly;
 * `q` NULL or "": every case.  A page of at most `limit` from `offset`, the most recently
 * changed first.  Returns {total, cases: [{case, workflow, version, state, team, updated_at,
 * applicants, respondents}]} (new reference) or NULL with the reason in `err`.
 */
json_t *cf_cases_search(PGconn *db, const char *q, int by_name, const char *reach,
                        const char *court, const char *home, int limit, int offset, char *err,
                        size_t errsz);

/*
 * One case: {case, workflow, version, state, state_title, team, seq, created_at, updated_at,
 * head_hash, data, deadlines, timers, open_tasks}.  NULL with CF_ENOTFOUND or CF_EDB in `*rc`.
 * `reg` gives the state's title and (when not NULL) lets deadlines be told from other data:
 * fields named *_deadline, *_earliest or next_*.
 */
json_t *cf_case_get(PGconn *db, const cf_registry *reg, const char *case_no, const char *reach,
                    int *rc, char *err, size_t errsz);

/* The case's tasks, every status, oldest first: [{id, activity, kind, title, post, status,
 * worker, claimed_by, due, created_at, updated_at}].  NULL with `*rc` as cf_case_get. */
json_t *cf_case_tasks(PGconn *db, const char *case_no, const char *reach, int *rc, char *err,
                      size_t errsz);

/* The case's running timers: [{name, due}], the earliest first.  NULL as cf_case_get. */
json_t *cf_case_timers(PGconn *db, const char *case_no, const char *reach, int *rc, char *err,
                       size_t errsz);

/*
 * The case's timeline (core/replay.h: cf_replay_entry, personal data masked) and, when
 * `verify`, its audit replay against the workflow version it was filed under, up to `as_of`
 * (CF_REPLAY_ALL: everything): {case, workflow, version, events, timeline, verification:
 * {chain, replay, final_state, ok}, state (as of), as_of}; with `verify`, each timeline entry
 * also has its `hash`, `link` ("ok" or why its own link of the chain is broken,
 * cf_replay_link) and `replay` ("ok", "differs", "not compared" after a difference, or
 * "not replayed" past the as-of time).  NULL as cf_case_get, or CF_ENOTFOUND
 * when the workflow version is not loaded (said in `err`).
 */
json_t *cf_case_history(PGconn *db, const cf_registry *reg, const char *case_no, const char *reach,
                        int verify, cf_time as_of, int *rc, char *err, size_t errsz);

/* A case's stored event log, read for replay: the rows (core/replay.h) borrow from `res`. */
typedef struct cf_case_log {
    PGresult *res;
    cf_replay_row *rows;
    json_t **owned; /* 2 per row: body and actions parsed */
    size_t n;
} cf_case_log;

/* The columns of an events row that cf_case_log_fill reads, in its order. */
#define CF_CASE_LOG_COLUMNS                                                                    \
    "seq, event_id, type, source, (extract(epoch from event_time) * 1000)::bigint, "           \
    "(extract(epoch from applied_at) * 1000)::bigint, body::text, state_before, state_after, " \
    "actions::text, prev_hash, hash"

/*
 * Fills `r` from row `k` of `res`, whose columns from `col` on are CF_CASE_LOG_COLUMNS.  The
 * strings are borrowed from `res`; the two JSON values parsed (body, actions) go to owned[0] and
 * owned[1], which the caller releases.
 */
void cf_case_log_fill(const PGresult *res, int k, int col, cf_replay_row *r, json_t **owned);

/* Reads case `case_no`'s events in seq order into `l` (released with cf_case_log_free, also
 * after a failure).  Returns 0, CF_EDB or CF_ENOMEM with the reason in `err`. */
int cf_case_log_read(PGconn *db, const char *case_no, cf_case_log *l, char *err,
                     size_t errsz) CF_MUST_CHECK;
void cf_case_log_free(cf_case_log *l);

/* Counts for the command center: {cases: {workflow: {state: n}}, tasks: {post: {status: n}},
 * overdue: {post: n}, timers, events, dead_letters, duplicates, outbox, clock, engines: [the
 * health each engine keeps in engine_status], offsets: [the stored offsets of consumer group
 * `group` on `events_topic`]}.  With `court` (not NULL) the cases, tasks, overdue tasks, timers
 * and events are that court's alone (`home`: the court of keys that name none); the rest is the
 * installation's own health, the same for every court. */
json_t *cf_stats(PGconn *db, const char *group, const char *events_topic, const char *court,
                 const char *home, char *err, size_t errsz);

/* ---- documents (the documents worker's PDFs) ------------------------------------------------ */

/*
 * The case's documents as its done documents tasks recorded them, oldest first:
 * [{index, name, pages, sha256, made_at, task}] (`index` is the place in this list, the
 * download route's key).  NULL as cf_case_get.
 */
json_t *cf_case_documents(PGconn *db, const char *case_no, const char *reach, int *rc, char *err,
                          size_t errsz);

typedef struct cf_document {
    char name[256];  /* 执行通知书 */
    char path[4096]; /* the file, as the worker recorded it */
    char sha256[65]; /* of its bytes, as the worker recorded it */
} cf_document;

/*
 * Document `index` of cf_case_documents' list.  The path comes from the database, never from
 * the caller, who still checks that it lies in the documents folder before opening it.
 * Returns 0, CF_ENOTFOUND (no such case for `reach`, or no such document) or CF_EDB.
 */
int cf_case_document(PGconn *db, const char *case_no, const char *reach, int index,
                     cf_document *out, char *err, size_t errsz) CF_MUST_CHECK;

#endif
