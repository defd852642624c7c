/*
 * The integration tests' kit: each test gets its own database on the stack's
 * PostgreSQL and its own topic prefix on the stack's Kafka, so that tests run
 * side by side; it starts and kills real `caseflow engine` processes, produces
 * events, and waits for the database to show what it should.  Every wait is
 * bounded; a failure names what was awaited and what was seen.
 *
 * The database is made by the stack's owner role (CASEFLOW_PG_OWNER) and
 * migrated with `caseflow db migrate`, as in production; the engines, workers
 * and commands a test starts connect as the engine's role (CASEFLOW_PG), which
 * may not change the event log.  The kit's own connection is the owner's.
 */
#ifndef CF_KIT_H
#define CF_KIT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <sys/types.h>

typedef struct kit {
    char name[64];
    char pg[512];       /* connection string of the test's own database, the engine's role */
    char pg_owner[512]; /* the same database as the owner role, which ran the migrations */
    char prefix[96];    /* topic prefix: <prefix>.events ... */
    char group[96];     /* the engines' consumer group */
    char events[128];   /* <prefix>.events */
    char logdir[512];   /* where engine logs go */
    char start[64];     /* the simulated clock's start */
    const char *brokers;
    const char *bin; /* the caseflow binary */
    const char *src; /* the source tree */
    PGconn *db;      /* connected as the owner: may do what the engine's role may not */
    rd_kafka_t *producer;
    int engines_started;
    int workers_started;
} kit;

/* Sets up a fresh, migrated database and topic prefix named after `name`; aborts the test on
 * failure. */
void kit_init(kit *k, const char *name);
void kit_done(kit *k);

/* Starts `caseflow engine` for this kit (simulated clock); `extra` is NULL or "NAME=value" pairs
 * ended by NULL.  Returns its pid; its log is <logdir>/engine-<n>.log. */
pid_t kit_engine_start(kit *k, const char *const *extra);
/* Sends `sig` and waits for the process to end; returns its wait status. */
int kit_engine_stop(kit *k, pid_t pid, int sig);
/* Stops the process `pid` with SIGTERM as kit_engine_stop does; exits unless it ended by itself
 * with status 0 (a clean shutdown). */
void kit_engine_stop_ok(kit *k, pid_t pid);

/* Starts `caseflow worker KIND` for this kit (its topics, the simulated clock, the simulator with
 * no latency unless `extra` says otherwise; documents under <logdir>/documents); `extra` is NULL or
 * "NAME=value" pairs ended by NULL.  Returns its pid; its log is <logdir>/worker-<kind>-<n>.log.
 * Stop it with kit_engine_stop. */
pid_t kit_worker_start(kit *k, const char *kind, const char *const *extra);

/* Starts `caseflow serve` for this kit on a free 127.0.0.1 port (CASEFLOW_PORT=0) with `extra`
 * ("NAME=value" pairs ended by NULL, or NULL), waits until it says where it listens and writes
 * the port into *port.  Its log is <logdir>/serve-<n>.log.  Stop it with kit_engine_stop. */
pid_t kit_serve_start(kit *k, const char *const *extra, int *port);

/* Produces one message to <prefix>.events (or to `topic` when not NULL); copies the bytes. */
void kit_send(kit *k, const char *topic, const char *key, const void *value, size_t len);
void kit_send_json(kit *k, json_t *event /* stolen */);
void kit_flush(kit *k);

/* A valid case.filed envelope for `case_no`, filed at `time` (ISO 8601). New reference. */
json_t *kit_filed(const char *case_no, const char *id, const char *time);
/* A case.withdrawn envelope. */
json_t *kit_withdrawn(const char *case_no, const char *id, const char *time);
/* Sends cases from+1 .. to, "(2026)豫0381执<n>号", each filed (event "filed-<n>") and then
 * withdrawn ("withdrawn-<n>"), the stream of the engine's restart tests; kit_flush sends them
 * for sure. */
void kit_file_and_withdraw(kit *k, int from, int to);
/* Checks what kit_file_and_withdraw(k, 0, cases) leaves once all is applied: each case's log is
 * its filing (seq 1) and its withdrawal (seq 2), nothing twice, every case in withdrawal_review,
 * no dead letter.  Exits saying what is wrong otherwise. */
void kit_check_withdrawn(kit *k, int cases);
/* A clock.advance envelope moving the simulated clock to `to`. */
json_t *kit_clock_to(const char *id, const char *to);
/* Moves the simulated clock to `to` (event id `id`, or "clock-<to>" when NULL) and waits until
 * the engine has it. */
void kit_advance(kit *k, const char *id, const char *to);

/* The first column of the first row of `sql` as a number (-1 on error); a connection that broke
 * (PostgreSQL restarted) is made again first. */
long long kit_count(kit *k, const char *sql);
/* Waits up to `seconds` until `sql` gives `want`; returns the last value seen. */
long long kit_wait_count(kit *k, const char *sql, long long want, int seconds);

/* A consumer of `topic` from its beginning, in a group of its own (CASEFLOW_KAFKA), that commits
 * nothing; `conf` are more settings, name and value after each other up to a NULL (NULL: none).
 * Exits when it cannot be made.  End it with rd_kafka_consumer_close and rd_kafka_destroy. */
rd_kafka_t *kit_consumer(const char *topic, const char *const *conf);
/* Consumes `topic` from the beginning for up to `seconds` or until `max` messages; returns them
 * as a JSON array of {key, value (parsed when JSON, else text), id (the caseflow-id header),
 * timestamp (ms, as the producer stamped it)}. */
json_t *kit_consume(kit *k, const char *topic, size_t max, int seconds);

void kit_sleep_ms(int ms);

/* In a child after fork: its stdout and stderr appended to `log`. */
void kit_output_to(const char *log);

/*
 * Runs the caseflow binary with `args` (ended by NULL, without the program's name) in the kit's
 * environment: CASEFLOW_PG, CASEFLOW_KAFKA, CASEFLOW_TOPIC_PREFIX and CASEFLOW_WORKFLOWS as the
 * kit's engines have them (and no CASEFLOW_PG_OWNER).  Returns its exit status (-1 when it did not
 * exit normally); its stdout and stderr go to *out and *err (caller frees; either may be NULL to
 * drop it).
 */
int kit_run(kit *k, const char *const *args, char **out, char **err);
/* kit_run with `input` (NULL: nothing) on the command's stdin. */
int kit_run_in(kit *k, const char *input, const char *const *args, char **out, char **err);

/* Runs `caseflow db migrate` on the test's database as the owner (what kit_init does first);
 * returns its exit status, its output on stderr. */
int kit_migrate(kit *k);
/* kit_run as a transcript: frees what *out and *err held, runs `caseflow args...`, prints the
 * command, its exit status and its output on stderr, and returns the exit status. */
int kit_cli(kit *k, char **out, char **err, const char *const *args);

/* Claims staff task `task_id` for `account` as `caseflow tasks claim` does: the engine accepts a
 * staff task's result only from "staff:<post>:<account>" of the account that claimed it. */
void kit_claim(kit *k, const char *task_id, const char *account);

/* Completes the open staff task `activity` of `case_no` as "staff:<post>:<account>" at `time`:
 * claims it for the account and sends task.completed with `result` (stolen).  Aborts the test
 * when no such task is open within a minute. */
void kit_complete(kit *k, const char *case_no, const char *activity, const char *post,
                  const char *account, const char *time, json_t *result);

/* The filing review of `case_no` (version 3 of enforcement_case: state `review`, before the intake
 * check) done at `time` by the filing reviewer 吴十, all in order: kit_complete of its open
 * filing_review task.  kit_complete of an intake check does this first when the case is still
 * in review. */
void kit_review(kit *k, const char *case_no, const char *time);

/* The first column of the first row of `sql` with text parameters, as a new string (free it),
 * or NULL when there is no row, the value is NULL or the query failed. */
/* Reads the file at `path` whole into a new NUL-terminated string (free it); NULL when it
 * cannot. */
char *kit_read_file(const char *path);

/* Waits up to a minute until an engine has migrated the database (the accounts table is there);
 * exits when it has not. */
void kit_wait_migrated(kit *k);
/* Adds the ingest token `name` (`caseflow tokens add NAME --scope ingest`), writes its secret
 * into `token` and returns its id; exits when it is refused. */
long long kit_add_token(kit *k, const char *name, char *token, size_t n);

/* Completes task `id` with `result` as member of staff `name`, through `caseflow serve` at
 * CASEFLOW_SERVER as staff do: their account (password "password-of-<name>") is made on the
 * task's post when there is none.  Returns the exit status of `caseflow tasks complete`. */
int kit_staff_complete(kit *k, const char *name, const char *id, const char *result);

/* Adds account `name` of `role` (on `post` for staff, else NULL) with the password
 * "password-of-<name>" as `caseflow users add` does; returns its exit status (not 0 when the
 * name is taken). */
int kit_add_user(kit *k, const char *name, const char *role, const char *post);

char *kit_value(kit *k, const char *sql, int n, const char *const *params);
/* Waits up to `seconds` until kit_value gives `want` (any value when `want` is NULL); returns
 * the last value seen (free it). */
char *kit_wait_value(kit *k, const char *sql, int n, const char *const *params, const char *want,
                     int seconds);

/* What kit_http and kit_request got back. */
typedef struct kit_reply {
    long status; /* the HTTP status, -1 when there was no answer */
    char *body;  /* the body, NUL-terminated (it may hold NULs: use len), or NULL */
    size_t len;
    char type[160];   /* its Content-Type, or "" */
    char cookie[256]; /* the cf_session cookie the answer set (a login), or "" */
    char *head;       /* every header line of the answer as received, or NULL */
    size_t headlen;
} kit_reply;

/* A request for kit_request; members left zero are not sent. */
typedef struct kit_req {
    const char *method, *url; /* the url's path is sent as written: no ".." folded */
    const char *cookie;       /* the cf_session cookie */
    const char *csrf;         /* the X-CSRF-Token */
    const char *bearer;       /* a token, sent as Authorization: Bearer */
    const char *ctype;        /* the body's Content-Type */
    const char *body;         /* the body, `len` bytes (0: up to its NUL) */
    size_t len;
    const char *const *headers; /* more header lines, up to a NULL (a NULL list: none) */
    void *curl;                 /* a CURL handle to use again (its connection kept), or NULL */
    long timeout;               /* seconds before it gives up (0: 120); a stream ends so */
} kit_req;

/* Sends `q`; fills *r (free it with kit_reply_free) and returns r->status.  A HEAD request asks
 * for no body.  Binary bodies (a PDF, an Excel workbook) come back whole. */
long kit_request(const kit_req *q, kit_reply *r);

/* `method` `url` with the session `cookie` (NULL or "" for none) and a JSON `body` (NULL for
 * none); fills *r (free it with kit_reply_free) and returns r->status. */
long kit_http(const char *method, const char *url, const char *cookie, const char *body,
              kit_reply *r);

/* Logs `name` in at the server `base` ("http://127.0.0.1:PORT") with `password` (NULL: the kit's
 * "password-of-<name>"); on success fills `cookie` with the cf_session and `csrf` with the token
 * that changes need.  Returns the status of the login. */
long kit_login(const char *base, const char *name, const char *password, char *cookie,
               size_t cookiesz, char *csrf, size_t csrfsz);

/* Copies the value of the answer's header `name` (the last one, when several) into `out` and
 * returns `out`: "" when there is none. */
const char *kit_reply_header(const kit_reply *r, const char *name, char *out, size_t n);
/* kit_http with the session's CSRF token (NULL: none), which a change made with a session
 * cookie needs. */
long kit_http_csrf(const char *method, const char *url, const char *cookie, const char *csrf,
                   const char *body, kit_reply *r);
void kit_reply_free(kit_reply *r);
/* Takes the body out of `r`: returns it (the caller frees it; NULL when there was none) with its
 * length in *len. */
char *kit_reply_body(kit_reply *r, size_t *len);

#endif
