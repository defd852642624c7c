/*
 * Versioned SQL migrations: schemas/sql/NNN_name.sql files applied in order,
 * each in its own transaction, each once (recorded in cf_schema_migrations).
 * Engines starting together take turns through an advisory lock.
 */
#ifndef CF_MIGRATE_H
#define CF_MIGRATE_H

#include <libpq-fe.h>

#include "base/err.h"

/*
 * Applies the migrations in folder `dir` that `db` lacks.  Returns 0 and the
 * number applied in `*applied` (may be NULL), or an error naming the file and
 * PostgreSQL's message in `err`.
 */
int cf_migrate(PGconn *db, const char *dir, int *applied, char *err, size_t errsz) CF_MUST_CHECK;

#endif
