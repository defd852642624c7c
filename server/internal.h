/*
 * What the server's modules share (not for use outside server/): the server's state, one
 * request as the handlers see it, the answers they give, and the handlers of the route table.
 *
 * A request's life: http.c reads it (headers, then the body up to server.body_limit), routes.c
 * finds its route, authenticates the caller and decides whether the caller's role may use it
 * (the one place where that is decided), then calls the route's handler, which calls the engine
 * library and answers with one of the cf_reply_* functions.  Every answer that is an error is an
 * RFC 9457 problem (application/problem+json).
 */
#ifndef CF_SERVER_INTERNAL_H
#define CF_SERVER_INTERNAL_H

#include <jansson.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/config.h"
#include "engine/accounts.h"
#include "engine/queue.h"
#include "engine/registry.h"
#include "io/sender.h"

/* ---- the database pool (pool.c) ------------------------------------------------------------ */

typedef struct cf_pool cf_pool;

/* A pool of at most `size` connections to `conninfo`, made when first needed. */
cf_pool *cf_pool_new(const char *conninfo, int size);
void cf_pool_free(cf_pool *p);
/* Takes a connection, waiting up to `wait_ms` for one to be free; NULL with the reason when
 * none is free or PostgreSQL does not answer. */
PGconn *cf_pool_get(cf_pool *p, int wait_ms, char *err, size_t errsz);
/* Gives a connection back; a broken one is closed and made again when next needed. */
void cf_pool_put(cf_pool *p, PGconn *db);

/* ---- metrics (metrics.c) ------------------------------------------------------------------- */

typedef struct cf_metrics cf_metrics;

cf_metrics *cf_metrics_new(void);
void cf_metrics_free(cf_metrics *m);
/* Counts one answered request of route `route` (its pattern, "-" for none). */
void cf_metrics_count(cf_metrics *m, const char *method, const char *route, int status,
                      double seconds);
/* Appends the counters in Prometheus text format to `out` (a growing buffer). */
void cf_metrics_write(cf_metrics *m, char **out, size_t *len, size_t *cap);

/* ---- the queue watch for server-sent events (stream.c) -------------------------------------- */

typedef struct cf_watch cf_watch;

/* A thread that, while anyone listens, looks at the staff queues in `conninfo`'s database every
 * `poll_ms` and tells the listeners of a post when its open and claimed tasks change.  `home`
 * (the home court's code, or NULL where one court is served) makes each court's queue of a post
 * its own.  NULL when memory runs out or the thread cannot start. */
cf_watch *cf_watch_new(const char *conninfo, const char *home, int poll_ms);
/* Wakes every listener with "stopping" (cf_watch_wait returns -1 from then on). */
void cf_watch_stop(cf_watch *w);
/* Stops the thread and frees; after cf_watch_stop and once no request uses it. */
void cf_watch_free(cf_watch *w);

/* ---- the server ---------------------------------------------------------------------------- */

typedef struct cf_srv {
    const cf_config *cfg;
    const cf_registry *reg;
    cf_sender *sender;
    cf_pool *pool;
    cf_metrics *metrics;
    cf_login_policy policy;
    char topic[200]; /* <prefix>.events */
    char *openapi;   /* the OpenAPI document served as is */
    size_t openapi_len;
    int tls;
    char web[4096];  /* the web workplace's folder, resolved (realpath); "" when there is none */
    char docs[4096]; /* documents_dir, resolved; "" when it does not exist */
    cf_watch *watch; /* the queues' changes, for /api/v1/posts/{post}/stream */
    pthread_mutex_t mu;
    int active; /* requests being handled, for a graceful stop */
} cf_srv;

struct cf_route;

enum { CF_REQ_PARAMS = 2 };

typedef struct cf_req {
    struct MHD_Connection *conn;
    const char *method, *path;
    const struct cf_route *route;
    char params[CF_REQ_PARAMS][256]; /* the route's {placeholders}, in order */
    /* The body, as it came (NUL-terminated for convenience; it may hold NULs). */
    char *body;
    size_t len, cap;
    int too_large;
    /* Who asks (after authentication). */
    int authed, by_token;
    cf_account who;
    char csrf[CF_SECRET_BUFSZ];
    PGconn *db; /* taken from the pool on first use, given back after the handler */
    /* The answer. */
    int status;
    char *resp;
    size_t resp_len;
    const char *ctype;
    char cookie[256]; /* a Set-Cookie header, or "" */
    char allow[64];   /* an Allow header for 405, or "" */
    int retry_after;  /* a Retry-After header in seconds, or 0 */
    double start;     /* monotonic seconds when the request came */
    /* Answers that are not API JSON (static.c, stream.c): the defaults are "no-store" and
     * "default-src 'none'". */
    const char *cache;     /* Cache-Control, or NULL */
    const char *csp;       /* Content-Security-Policy, or NULL */
    char etag[64];         /* an ETag header, or "" */
    char disposition[600]; /* a Content-Disposition header, or "" */
    /* A streamed answer: `reader` is called for each piece (libmicrohttpd's content reader)
     * and `reader_free` frees `reader_cls` when the connection ends. */
    ssize_t (*reader)(void *cls, uint64_t pos, char *buf, size_t max);
    void *reader_cls;
    void (*reader_free)(void *cls);
} cf_req;

/* The header value `name` of the request, or NULL. */
const char *cf_req_header(cf_req *r, const char *name);
/* The query parameter `name`, or NULL.  Answers 400 and returns NULL with *bad set when the value
 * is not UTF-8 or is longer than 1,000 bytes. */
const char *cf_req_query(cf_req *r, const char *name, int *bad);
/* A whole-number query parameter from `min` to `max`, `dflt` when absent; answers 400 and
 * returns -1 (with *bad set) when it is not one. */
long cf_req_query_int(cf_req *r, const char *name, long dflt, long min, long max, int *bad);
/*
 * The body as a JSON object (new reference).  Answers and returns NULL: 415 when the
 * Content-Type is not application/json, 400 with the position when it is not JSON, 422 when it
 * is not an object.
 */
json_t *cf_req_json(cf_req *r);
/* The request's database connection (taken from the pool); answers 503 and returns NULL when
 * PostgreSQL does not answer. */
PGconn *cf_req_db(cf_srv *s, cf_req *r);
/* The request's database connection when one can be had within `wait_ms`, else NULL without an
 * answer: for routes that serve without PostgreSQL. */
PGconn *cf_req_db_quiet(cf_srv *s, cf_req *r, int wait_ms);
/* Returns 1 when `s` is valid UTF-8 without control characters. */
int cf_utf8_ok(const char *s);
/* Copies `in` into `out` (n bytes, NUL-terminated) with each byte that is not part of valid UTF-8
 * replaced by '?', so that a text cut short or taken from a request can go into JSON. */
void cf_utf8_clean(const char *in, char *out, size_t n);

/* Answers with `body` as JSON (stolen). */
void cf_reply_json(cf_req *r, int status, json_t *body);
/* Answers with `text` (stolen, `len` bytes) of type `ctype`. */
void cf_reply_text(cf_req *r, int status, const char *ctype, char *text, size_t len);
/* Answers with a problem: `slug` names its type (urn:caseflow:problem:<slug>), `detail` says
 * what happened; `extra` (stolen, may be NULL) adds members such as "field". */
void cf_reply_problem(cf_req *r, int status, const char *slug, const char *detail, json_t *extra);
/* Answers 400 bad-json: the body is not JSON, where the parser `e` stopped. */
void cf_reply_bad_json(cf_req *r, const json_error_t *e);
/* Reads `n` bytes of `fd` into `buf`, again when a signal interrupts; returns how many it got
 * (fewer: the file ended, or reading failed). */
size_t cf_read_full(int fd, char *buf, size_t n);
/* Answers for an engine function's error code: CF_ENOTFOUND 404, CF_EDB 503 when the connection
 * is gone (else 500), CF_ENOMEM 500, others 500. */
void cf_reply_error(cf_req *r, int rc, const char *err);

/* ---- libmicrohttpd's callbacks (http.c) ------------------------------------------------------ */

enum MHD_Result cf_http_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload,
                                   size_t *upload_size, void **state);
void cf_http_on_completed(void *cls, struct MHD_Connection *conn, void **state,
                          enum MHD_RequestTerminationCode why);
/* Decodes %HH in a path or query value in place, except %00; returns the new length. */
size_t cf_http_unescape(void *cls, struct MHD_Connection *conn, char *text);

/* ---- routes (routes.c) and their handlers --------------------------------------------------- */

typedef void (*cf_handler)(cf_srv *s, cf_req *r);

typedef struct cf_route {
    const char *method;
    const char *pattern; /* "/api/v1/tasks/{id}/claim" */
    unsigned roles;      /* the cf_role bits allowed; 0: public, no authentication */
    cf_handler fn;
    const char *summary;
} cf_route;

extern const cf_route cf_routes[];
extern const size_t cf_nroutes;

/* Routes, authenticates, authorizes and handles one request whose body has come. */
void cf_dispatch(cf_srv *s, cf_req *r);

/* auth.c */
int cf_authenticate(cf_srv *s, cf_req *r); /* 0, or answered (401/503) */
void cf_h_login(cf_srv *s, cf_req *r);
void cf_h_logout(cf_srv *s, cf_req *r);
void cf_h_me(cf_srv *s, cf_req *r);
/* api_tasks.c */
void cf_h_post_tasks(cf_srv *s, cf_req *r);
void cf_h_task(cf_srv *s, cf_req *r);
void cf_h_claim(cf_srv *s, cf_req *r);
void cf_h_complete(cf_srv *s, cf_req *r);
void cf_h_return(cf_srv *s, cf_req *r);
void cf_h_reassign(cf_srv *s, cf_req *r);
/* The query's `wait` (seconds) in milliseconds, never more than server.wait_ms (its default);
 * answers 400 with *bad set when it is no whole number. */
long cf_req_wait_ms(cf_srv *s, cf_req *r, int *bad);
/* Waits up to `wait_ms` for the engine's verdict on `sent` (v->state -1 when none came), giving
 * the request's database connection back between looks. */
void cf_await_verdict(cf_srv *s, cf_req *r, const cf_queue_sent *sent, long wait_ms, cf_verdict *v);
/* Answers with verdict `v` on `sent`: 200 applied (with the members of `applied`, stolen, may be
 * NULL), 422 refused-by-engine naming `field`, or 202 sent. */
void cf_reply_verdict(cf_req *r, const cf_queue_sent *sent, const cf_verdict *v, const char *field,
                      json_t *applied);
/* api_decisions.c */
void cf_h_case_decisions(cf_srv *s, cf_req *r);
void cf_h_case_decide(cf_srv *s, cf_req *r);
/* api_cases.c */
void cf_h_cases(cf_srv *s, cf_req *r);
void cf_h_case(cf_srv *s, cf_req *r);
void cf_h_case_tasks(cf_srv *s, cf_req *r);
void cf_h_case_timers(cf_srv *s, cf_req *r);
void cf_h_case_timeline(cf_srv *s, cf_req *r);
void cf_h_case_replay(cf_srv *s, cf_req *r);
void cf_h_stats(cf_srv *s, cf_req *r);
/* api_notices.c */
void cf_h_notices(cf_srv *s, cf_req *r);
void cf_h_notice_read(cf_srv *s, cf_req *r);
/* api_report.c */
void cf_h_report(cf_srv *s, cf_req *r);
/* api_ledger.c */
void cf_h_ledger(cf_srv *s, cf_req *r);
/* api_events.c */
void cf_h_events(cf_srv *s, cf_req *r);
/* api_ops.c */
void cf_h_metrics(cf_srv *s, cf_req *r);
void cf_h_healthz(cf_srv *s, cf_req *r);
void cf_h_readyz(cf_srv *s, cf_req *r);
void cf_h_openapi(cf_srv *s, cf_req *r);

/* static.c: the web workplace under / (GET and HEAD of a path outside /api/). */
void cf_static(cf_srv *s, cf_req *r);
/* api_web.c: the routes the web workplace added (#11). */
void cf_h_task_form(cf_srv *s, cf_req *r);
void cf_h_post_stream(cf_srv *s, cf_req *r);
void cf_h_case_documents(cf_srv *s, cf_req *r);
void cf_h_case_document(cf_srv *s, cf_req *r);
void cf_h_accounts(cf_srv *s, cf_req *r);
void cf_h_account_add(cf_srv *s, cf_req *r);
void cf_h_account_disable(cf_srv *s, cf_req *r);
void cf_h_account_enable(cf_srv *s, cf_req *r);
void cf_h_account_password(cf_srv *s, cf_req *r);
void cf_h_workflows(cf_srv *s, cf_req *r);

/* Whether some workflow of `reg` declares `post` (api_tasks.c). */
int cf_post_known(const cf_registry *reg, const char *post);

/* The {case} of the request's path (params[0]) in canonical form, written back into params[0],
 * so that （２０２６）豫0381执7号 finds (2026)豫0381执7号; a number that cannot be made canonical
 * stays as it came and is simply not found (api_cases.c). */
const char *cf_req_case(cf_req *r);

/* The post a request is confined to: the caller's own for staff, NULL (every post) otherwise. */
const char *cf_req_reach(const cf_req *r);

/* The court a request is confined to: the caller's own (the home court when the account names
 * none), or NULL when the installation serves one court only, so that nothing is filtered. */
const char *cf_req_court(const cf_srv *s, const cf_req *r);

#endif
