/*
 * Connecting to PostgreSQL with keepalives and timeouts, and running parameterized statements
 * with readable errors and a bounded, logged wait for the answer.
 */
#include "io/store.h"

#include "base/log.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* A wait for PostgreSQL is logged after this long, and again each time it passes. */
#define WAIT_LOG_MS 5000
/* How much longer than statement_timeout a statement may go unanswered before the connection is
 * given up: the server's own timeout, when it can still act, comes first with a better error. */
#define GRACE_MS 5000

static int statement_timeout_ms = 30000;
static int idle_tx_timeout_ms = 60000;

void cf_store_set_timeouts(int statement_ms, int idle_tx_ms)
{
    statement_timeout_ms = statement_ms > 0 ? statement_ms : 0;
    idle_tx_timeout_ms = idle_tx_ms > 0 ? idle_tx_ms : 0;
}

/* Copies libpq's message without its trailing newline, which would break one-line errors. */
static void copy_message(const char *msg, char *err, size_t errsz, const char *what)
{
    size_t n;
    cf_errf(err, errsz, CF_EDB, "%s: %s", what, msg ? msg : "unknown error");
    if (err && errsz > 0) {
        n = strlen(err);
        while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
            err[--n] = '\0';
    }
}

/* Server notices ("relation exists, skipping") are debug output, not warnings for operators. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    cf_debug("PostgreSQL: %.*s", (int)strcspn(message, "\n"), message);
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Sends what is queued on `db` (non-blocking) and waits until an answer can be read without
 * blocking, logging a long wait.  Returns 0 (also when the connection failed: PQgetResult then
 * says why), or CF_ETIMEOUT after closing a connection that stayed silent past the deadline.
 */
static int await_answer(PGconn *db, const char *sql, char *err, size_t errsz)
{
    long long start = mono_ms(), next_log = start + WAIT_LOG_MS;
    long long deadline = statement_timeout_ms ? start + statement_timeout_ms + GRACE_MS : 0;
    int sock = PQsocket(db);

    for (;;) {
        int pending = PQflush(db), ready;
        long long now, until;
        struct pollfd pfd;
        if (pending < 0)
            return 0;
        if (!pending && !PQisBusy(db))
            return 0;
        now = mono_ms();
        if (deadline && now >= deadline) {
            cf_error("PostgreSQL has not answered for %lld s (statement_timeout %d ms): closing "
                     "the connection; the statement: %.*s",
                     (now - start) / 1000, statement_timeout_ms, (int)strcspn(sql, "\n"), sql);
            /* libpq sees the end of the connection and marks it bad; the caller's PQreset or
             * PQfinish takes it from there. */
            shutdown(sock, SHUT_RDWR);
            PQconsumeInput(db);
            return cf_errf(err, errsz, CF_ETIMEOUT,
                           "PostgreSQL did not answer in %lld s: the connection was closed",
                           (now - start) / 1000);
        }
        if (now >= next_log) {
            cf_warn("waiting %lld s for PostgreSQL to answer: %.*s", (now - start) / 1000,
                    (int)strcspn(sql, "\n"), sql);
            next_log += WAIT_LOG_MS;
        }
        until = deadline && deadline < next_log ? deadline : next_log;
        pfd.fd = sock;
        pfd.events = (short)(POLLIN | (pending ? POLLOUT : 0));
        pfd.revents = 0;
        ready = poll(&pfd, 1, (int)(until - now));
        if (ready < 0 && errno != EINTR)
            return 0;
        if (ready > 0 && (pfd.revents & (POLLIN | POLLERR | POLLHUP)) && !PQconsumeInput(db))
            return 0;
    }
}

/*
 * Runs `sql` as PQexecParams would, with the wait bounded (see cf_store_exec); with a `name`,
 * prepares `sql` under it instead, or (NULL `sql`) runs the statement prepared under it.  Returns
 * the last result (the first failed one, if any), or NULL with the reason in `err`.
 */
static PGresult *run(PGconn *db, const char *name, const char *sql, int nparams,
                     const char *const *params, const int *lengths, const int *formats, char *err,
                     size_t errsz)
{
    int blocking = !PQisnonblocking(db), sent;
    PGresult *res = NULL, *r;

    if (blocking)
        PQsetnonblocking(db, 1);
    if (!name)
        sent = PQsendQueryParams(db, sql, nparams, NULL, params, lengths, formats, 0);
    else if (sql)
        sent = PQsendPrepare(db, name, sql, nparams, NULL);
    else
        sent = PQsendQueryPrepared(db, name, nparams, params, lengths, formats, 0);
    if (!sent) {
        copy_message(PQerrorMessage(db), err, errsz, "PostgreSQL");
        goto out;
    }
    for (;;) {
        if (await_answer(db, sql ? sql : name, err, errsz) != 0) {
            PQclear(res);
            res = NULL;
            /* The connection is bad now: what libpq still holds ends at once. */
            while ((r = PQgetResult(db)))
                PQclear(r);
            goto out;
        }
        if (!(r = PQgetResult(db)))
            break;
        if (res && PQresultStatus(res) == PGRES_FATAL_ERROR) {
            PQclear(r);
            continue;
        }
        PQclear(res);
        res = r;
    }
    if (!res)
        copy_message(PQerrorMessage(db), err, errsz, "PostgreSQL");
out:
    if (blocking)
        PQsetnonblocking(db, 0);
    return res;
}

int cf_store_session(PGconn *db, char *err, size_t errsz)
{
    const char *zone = getenv("CASEFLOW_TZ");
    const char *p[1] = {zone && *zone ? zone : "Asia/Shanghai"};
    PGresult *res;

    PQsetNoticeProcessor(db, on_notice, NULL);
    /* Times the database prints (timestamptz as text) are in the court's zone, as caseflow's. */
    res = run(db, NULL, "select set_config('TimeZone', $1, false)", 1, p, NULL, NULL, err, errsz);
    if (!res)
        return CF_EDB;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        copy_message(PQresultErrorMessage(res), err, errsz, "setting the time zone");
        PQclear(res);
        return CF_EDB;
    }
    PQclear(res);
    return 0;
}

/* True when `options` (libpq's options: "-c name=value ...") sets the server setting `name`. */
static int sets(const char *options, const char *name)
{
    return options && strstr(options, name) != NULL;
}

static void param(const char **keys, const char **values, int *n, const char *key,
                  const char *value)
{
    keys[*n] = key;
    values[*n] = value;
    ++*n;
}

PGconn *cf_store_connect(const char *conninfo, char *err, size_t errsz)
{
    const char *keys[12], *values[12];
    char *perr = NULL, options[2048], st[80], it[80];
    const char *given = getenv("PGOPTIONS");
    PQconninfoOption *parsed;
    PGconn *db;
    int n = 0;

    if (!conninfo || !*conninfo) {
        cf_errf(err, errsz, CF_EINVAL, "no PostgreSQL connection string (set CASEFLOW_PG)");
        return NULL;
    }
    parsed = PQconninfoParse(conninfo, &perr);
    if (!parsed) {
        copy_message(perr ? perr : "out of memory", err, errsz, "PostgreSQL connection string");
        PQfreemem(perr);
        return NULL;
    }
    for (PQconninfoOption *o = parsed; o->keyword; o++)
        if (strcmp(o->keyword, "options") == 0 && o->val)
            given = o->val;
    /* Keywords before "dbname" are defaults: the expanded connection string overrides them. */
    param(keys, values, &n, "keepalives", "1");
    param(keys, values, &n, "keepalives_idle", "10");
    param(keys, values, &n, "keepalives_interval", "5");
    param(keys, values, &n, "keepalives_count", "3");
    if (!getenv("PGCONNECT_TIMEOUT"))
        param(keys, values, &n, "connect_timeout", "10");
    param(keys, values, &n, "dbname", conninfo);
    /* Server settings travel in "options", which the string may set for its own reasons: add
     * ours to what it says rather than replace it. */
    st[0] = it[0] = '\0';
    if (statement_timeout_ms && !sets(given, "statement_timeout"))
        snprintf(st, sizeof st, "-c statement_timeout=%d ", statement_timeout_ms);
    if (idle_tx_timeout_ms && !sets(given, "idle_in_transaction_session_timeout"))
        snprintf(it, sizeof it, "-c idle_in_transaction_session_timeout=%d ", idle_tx_timeout_ms);
    if (*st || *it) {
        snprintf(options, sizeof options, "%s%s%s", st, it, given ? given : "");
        param(keys, values, &n, "options", options);
    }
    param(keys, values, &n, NULL, NULL);
    db = PQconnectdbParams(keys, values, 1);
    PQconninfoFree(parsed);
    if (!db) {
        cf_errf(err, errsz, CF_ENOMEM, "connecting to PostgreSQL: out of memory");
        return NULL;
    }
    if (PQstatus(db) != CONNECTION_OK) {
        copy_message(PQerrorMessage(db), err, errsz, "connecting to PostgreSQL");
        PQfinish(db);
        return NULL;
    }
    if (cf_store_session(db, err, errsz) != 0) {
        PQfinish(db);
        return NULL;
    }
    return db;
}

int cf_store_conninfo_user(const char *conninfo, char *out, size_t outsz)
{
    char *perr = NULL;
    const char *user = NULL;
    PQconninfoOption *parsed = PQconninfoParse(conninfo ? conninfo : "", &perr), *defaults = NULL;
    int rc = 0;

    if (!parsed) {
        snprintf(out, outsz, "%s", perr ? perr : "out of memory");
        PQfreemem(perr);
        return CF_EINVAL;
    }
    for (PQconninfoOption *o = parsed; o->keyword; o++)
        if (strcmp(o->keyword, "user") == 0 && o->val && *o->val)
            user = o->val;
    if (!user && (defaults = PQconndefaults()))
        for (PQconninfoOption *o = defaults; o->keyword; o++)
            if (strcmp(o->keyword, "user") == 0 && o->val && *o->val)
                user = o->val;
    if (user)
        snprintf(out, outsz, "%s", user);
    else
        rc = cf_errf(out, outsz, CF_EINVAL, "the connection string names no user");
    PQconninfoFree(parsed);
    if (defaults)
        PQconninfoFree(defaults);
    return rc;
}

PGresult *cf_store_exec(PGconn *db, const char *sql, int nparams, const char *const *params,
                        char *err, size_t errsz)
{
    char state[6];
    return cf_store_exec_state(db, sql, nparams, params, state, err, errsz);
}

PGresult *cf_store_exec_state(PGconn *db, const char *sql, int nparams, const char *const *params,
                              char state[6], char *err, size_t errsz)
{
    return cf_store_exec_bin(db, sql, nparams, params, NULL, NULL, state, err, errsz);
}

/* The answer `res` of a statement: itself when it succeeded, else NULL with its SQLSTATE in
 * `state` and its message in `err` (`res` is cleared). */
static PGresult *answer(PGresult *res, char state[6], char *err, size_t errsz)
{
    ExecStatusType st = PQresultStatus(res);
    const char *code;

    state[0] = '\0';
    if (!res) /* no answer: the connection failed or was given up (`err` says which) */
        return NULL;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (code)
        snprintf(state, 6, "%s", code);
    if (PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)) {
        /* The primary message and the constraint's name, never the DETAIL: "Failing row
         * contains (...)" would copy a case's parties into logs and dead letters. */
        const char *constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
        cf_errf(err, errsz, CF_EDB, "PostgreSQL: %s%s%s%s",
                PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), constraint ? " (constraint " : "",
                constraint ? constraint : "", constraint ? ")" : "");
    } else {
        copy_message(PQresultErrorMessage(res), err, errsz, "PostgreSQL");
    }
    PQclear(res);
    return NULL;
}

PGresult *cf_store_exec_bin(PGconn *db, const char *sql, int nparams, const char *const *params,
                            const int *lengths, const int *formats, char state[6], char *err,
                            size_t errsz)
{
    return answer(run(db, NULL, sql, nparams, params, lengths, formats, err, errsz), state, err,
                  errsz);
}

int cf_store_prepare(PGconn *db, const char *name, const char *sql, int nparams, char state[6],
                     char *err, size_t errsz)
{
    PGresult *res =
        answer(run(db, name, sql, nparams, NULL, NULL, NULL, err, errsz), state, err, errsz);
    if (!res)
        return CF_EDB;
    PQclear(res);
    return 0;
}

PGresult *cf_store_exec_prepared(PGconn *db, const char *name, int nparams,
                                 const char *const *params, const int *lengths, const int *formats,
                                 char state[6], char *err, size_t errsz)
{
    return answer(run(db, name, NULL, nparams, params, lengths, formats, err, errsz), state, err,
                  errsz);
}

int cf_store_data_error(const char *state)
{
    /* 22: data exception (a time out of range, a number too large, bad text); 23: integrity
     * constraint violation; 54: program limit exceeded (a value too large for an index). */
    return state && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0 ||
                     strncmp(state, "54", 2) == 0);
}

void cf_sqlarr_init(cf_sqlarr *a)
{
    memset(a, 0, sizeof *a);
}

static void put(cf_sqlarr *a, const char *s, size_t n)
{
    if (a->failed)
        return;
    if (a->len + n + 3 > a->cap) {
        size_t cap = a->cap ? a->cap : 256;
        char *b;
        while (a->len + n + 3 > cap)
            cap *= 2;
        b = realloc(a->buf, cap);
        if (!b) {
            a->failed = 1;
            return;
        }
        a->buf = b;
        a->cap = cap;
    }
    memcpy(a->buf + a->len, s, n);
    a->len += n;
}

void cf_sqlarr_add(cf_sqlarr *a, const char *text)
{
    put(a, a->count ? "," : "{", 1);
    a->count++;
    if (!text) {
        put(a, "NULL", 4);
        return;
    }
    put(a, "\"", 1);
    /* Inside a quoted array element only the double quote and the backslash need escaping. */
    for (const char *p = text; *p;) {
        size_t run = strcspn(p, "\"\\");
        put(a, p, run);
        p += run;
        if (*p) {
            put(a, "\\", 1);
            put(a, p, 1);
            p++;
        }
    }
    put(a, "\"", 1);
}

void cf_sqlarr_addf(cf_sqlarr *a, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    cf_sqlarr_add(a, buf);
}

const char *cf_sqlarr_text(cf_sqlarr *a)
{
    if (a->count == 0)
        return "{}";
    put(a, "}", 1);
    a->len--; /* the closing brace is written again after the next element */
    if (a->failed)
        return "{}";
    a->buf[a->len + 1] = '\0';
    return a->buf;
}

void cf_sqlarr_reset(cf_sqlarr *a)
{
    a->len = 0;
    a->count = 0;
    a->failed = 0;
}

void cf_sqlarr_free(cf_sqlarr *a)
{
    free(a->buf);
    memset(a, 0, sizeof *a);
}
