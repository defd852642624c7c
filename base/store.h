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
 * Runs `sql` with `nparams` text parameters and returns the result when its
 * status is COMMAND_OK or TUPLES_OK; the caller frees it with PQclear.
 * On failure returns NULL and writes the server's message into `err`.
 */
PGresult *cf_store_exec(PGconn *db, const char *sql, int nparams, const char *const *params,
                        char *err, size_t errsz);

#endif
