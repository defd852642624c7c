/* Connecting to PostgreSQL and running parameterized statements with readable errors. */
#include "store.h"

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int cf_store_session(PGconn *db, char *err, size_t errsz)
{
    const char *zone = getenv("CASEFLOW_TZ");
    const char *p[1] = {zone && *zone ? zone : "Asia/Shanghai"};
    PGresult *res;

    PQsetNoticeProcessor(db, on_notice, NULL);
    /* Times the database prints (timestamptz as text) are in the court's zone, as caseflow's. */
    res = PQexecParams(db, "select set_config('TimeZone', $1, false)", 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        copy_message(PQresultErrorMessage(res), err, errsz, "setting the time zone");
        PQclear(res);
        return CF_EDB;
    }
    PQclear(res);
    return 0;
}

PGconn *cf_store_connect(const char *conninfo, char *err, size_t errsz)
{
    PGconn *db;

    if (!conninfo || !*conninfo) {
        cf_errf(err, errsz, CF_EINVAL, "no PostgreSQL connection string (set CASEFLOW_PG)");
        return NULL;
    }
    db = PQconnectdb(conninfo);
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

PGresult *cf_store_exec(PGconn *db, const char *sql, int nparams, const char *const *params,
                        char *err, size_t errsz)
{
    char state[6];
    return cf_store_exec_state(db, sql, nparams, params, state, err, errsz);
}

PGresult *cf_store_exec_state(PGconn *db, const char *sql, int nparams, const char *const *params,
                              char state[6], char *err, size_t errsz)
{
    PGresult *res = PQexecParams(db, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    const char *code;

    state[0] = '\0';
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    code = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (code)
        snprintf(state, 6, "%s", code);
    if (res && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)) {
        /* The primary message and the constraint's name, never the DETAIL: "Failing row
         * contains (...)" would copy a case's parties into logs and dead letters. */
        const char *constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
        cf_errf(err, errsz, CF_EDB, "PostgreSQL: %s%s%s%s",
                PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), constraint ? " (constraint " : "",
                constraint ? constraint : "", constraint ? ")" : "");
    } else {
        copy_message(res ? PQresultErrorMessage(res) : PQerrorMessage(db), err, errsz,
                     "PostgreSQL");
    }
    PQclear(res);
    return NULL;
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
