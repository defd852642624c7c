/*
 * PostgreSQL access shared by the engine, the workers and the CLI: connecting
 * with clear errors, and running parameterized statements.  SQL text never
 * carries values; they always travel as parameters.
 */
#ifndef CF_STORE_H
#define CF_STORE_H

#include <libpq-fe.h>

#include "base/err.h"

/*
 * Connects to the database named by `conninfo` (a URI or key=value string,
 * passed to libpq).  What the string (or libpq's environment: PGCONNECT_TIMEOUT,
 * PGOPTIONS) does not set, caseflow sets, so that a frozen or vanished server
 * is noticed rather than waited for without end: TCP keepalives (after 10 s
 * idle, every 5 s, 3 probes), connect_timeout 10 s, and the server's
 * statement_timeout and idle_in_transaction_session_timeout from
 * cf_store_set_timeouts.  Returns a connection the caller closes with PQfinish,
 * or NULL with the reason in `err`.
 */
PGconn *cf_store_connect(const char *conninfo, char *err, size_t errsz);

/*
 * Sets the statement and idle-in-transaction timeouts (milliseconds, 0: none)
 * of the connections made from now on, and how long cf_store_exec waits for an
 * answer: `statement_ms` and 5 s more, after which it drops the connection (a
 * stopped server never sends the statement_timeout's error).  The defaults are
 * 30000 and 60000, the configuration's postgres_statement_timeout_ms and
 * postgres_idle_tx_timeout_ms.  Call before starting threads that connect.
 */
void cf_store_set_timeouts(int statement_ms, int idle_tx_ms);

/*
 * Writes the role that `conninfo` connects as into `out`: its user, else libpq's
 * default (PGUSER, then the operating system's user name).  Returns 0, or
 * CF_EINVAL when the string cannot be parsed (libpq's reason in `out`).
 */
int cf_store_conninfo_user(const char *conninfo, char *out, size_t outsz) CF_MUST_CHECK;

/*
 * Prepares a new or reset session: the time zone (CASEFLOW_TZ, default
 * Asia/Shanghai) and server notices routed to debug logging.  Returns 0 or CF_EDB.
 */
int cf_store_session(PGconn *db, char *err, size_t errsz) CF_MUST_CHECK;

/*
 * Runs `sql` with `nparams` text parameters and returns the result when its
 * status is COMMAND_OK or TUPLES_OK; the caller frees it with PQclear.
 * On failure returns NULL and writes the server's message into `err`.  A wait
 * for the answer is logged every 5 s; one longer than the statement timeout and
 * 5 s more ends with the connection closed (PQstatus then says CONNECTION_BAD,
 * and PQreset connects again) and "did not answer" in `err`.
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
 * Like cf_store_exec_state, with each parameter's length and format as PQexecParams takes them
 * (format 1: binary, `lengths` counts its bytes); NULL `lengths` and `formats`: all text.
 */
PGresult *cf_store_exec_bin(PGconn *db, const char *sql, int nparams, const char *const *params,
                            const int *lengths, const int *formats, char state[6], char *err,
                            size_t errsz);

/*
 * Prepares `sql` on `db` under `name` (the statement's parameter types come from its casts).
 * Returns 0, or CF_EDB with the SQLSTATE in `state` ("42P05": `name` is prepared on this session
 * already) and the server's message in `err`.  A prepared statement lives as long as the
 * session: PQreset ends it.
 */
int cf_store_prepare(PGconn *db, const char *name, const char *sql, int nparams, char state[6],
                     char *err, size_t errsz) CF_MUST_CHECK;

/* Like cf_store_exec_bin, for the statement prepared under `name` on this session. */
PGresult *cf_store_exec_prepared(PGconn *db, const char *name, int nparams,
                                 const char *const *params, const int *lengths, const int *formats,
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
