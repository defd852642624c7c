/*
 * PostgreSQL access shared by the engine, the workers and the CLI: connecting
 * with clear errors, and running parameterized statements.  SQL text never
 * carries values; they always travel as parameters.
 */
#ifndef CF_STORE_H
#define CF_STORE_H

#include <libpq-fe.h>

#include "err.h"

/*
 * Connects to the database named by `conninfo` (a URI or key=value string,
 * passed to libpq unchanged).  Returns a connection the caller closes with
 * PQfinish, or NULL with the reason in `err`.
 */
PGconn *cf_store_connect(const char *conninfo, char *err, size_t errsz);

/*
 * Prepares a new or reset session: the time zone (CASEFLOW_TZ, default
 * Asia/Shanghai) and server notices routed to debug logging.  Returns 0 or CF_EDB.
 */
int cf_store_session(PGconn *db, char *err, size_t errsz) CF_MUST_CHECK;

/*
 * Runs `sql` with `nparams` text parameters and returns the result when its
 * status is COMMAND_OK or TUPLES_OK; the caller frees it with PQclear.
 * On failure returns NULL and writes the server's message into `err`.
 */
PGresult *cf_store_exec(PGconn *db, const char *sql, int nparams, const char *const *params,
                        char *err, size_t errsz);

/*
 * Like cf_store_exec; on failure also writes the error's SQLSTATE into `state` (five characters,
 * or "" when there is none: the connection broke before the server answered).
 */
PGresult *cf_store_exec_state(PGconn *db, const char *sql, int nparams, const char *const *params,
                              char state[6], char *err, size_t errsz);

/*
 * Returns 1 when SQLSTATE `state` says the statement's data was at fault (the same statement
 * with the same data fails again), 0 when the failure may pass (a connection lost, a timeout,
 * a deadlock, a full disk).
 */
int cf_store_data_error(const char *state);

/*
 * A PostgreSQL array literal built element by element ("{\"a\",NULL}"), for
 * passing a column of a whole batch as one parameter to INSERT ... SELECT FROM
 * unnest($1::text[], ...).  Elements are quoted and escaped; NULL is SQL NULL.
 */
typedef struct cf_sqlarr {
    char *buf;
    size_t len, cap;
    size_t count;
    int failed; /* set when memory ran out; the literal is then unusable */
} cf_sqlarr;

void cf_sqlarr_init(cf_sqlarr *a);
void cf_sqlarr_add(cf_sqlarr *a, const char *text);
void cf_sqlarr_addf(cf_sqlarr *a, const char *fmt, ...) CF_PRINTF(2, 3);
/* Returns the literal ("{}" when empty); valid until the next add or free. */
const char *cf_sqlarr_text(cf_sqlarr *a);
void cf_sqlarr_reset(cf_sqlarr *a);
void cf_sqlarr_free(cf_sqlarr *a);

#endif
