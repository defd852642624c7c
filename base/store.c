/* Connecting to PostgreSQL and running parameterized statements with readable errors. */
#include "store.h"

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
    return db;
}

PGresult *cf_store_exec(PGconn *db, const char *sql, int nparams, const char *const *params,
                        char *err, size_t errsz)
{
    PGresult *res = PQexecParams(db, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    copy_message(res ? PQresultErrorMessage(res) : PQerrorMessage(db), err, errsz, "PostgreSQL");
    PQclear(res);
    return NULL;
}
