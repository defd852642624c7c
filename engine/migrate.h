/*
 * Versioned SQL migrations: schemas/sql/NNN_name.sql files applied in order,
 * each in its own transaction, each once (recorded in cf_schema_migrations;
 * whichever is not recorded is applied, even below the highest that is).
 * `caseflow db migrate` applies them as the owner role; the engine only checks
 * them.  Several migrations running together take turns through an advisory lock.
 */
#ifndef CF_MIGRATE_H
#define CF_MIGRATE_H

#include <libpq-fe.h>

#include "base/err.h"

/*
 * Applies the migrations in folder `dir` that `db` lacks.  `db` is connected as
 * the role that owns the tables; `engine_role` names the role the engine, the
 * workers and the CLI connect as (002_roles.sql grants it what it needs, read
 * by migrations as current_setting('caseflow.engine_role')).  Returns 0 and the
 * number applied in `*applied` (may be NULL), or an error naming the file and
 * PostgreSQL's message in `err`.
 */
int cf_migrate(PGconn *db, const char *dir, const char *engine_role, int *applied, char *err,
               size_t errsz) CF_MUST_CHECK;

/*
 * The engine's check at start: returns 0 when `db` has every migration in `dir`,
 * or CF_ESTATE with a message naming the first one missing and `caseflow db
 * migrate` (CF_EDB, CF_EIO when it cannot tell).  Logs a warning when the role of
 * `db` owns the event log or may change it.
 */
int cf_migrate_check(PGconn *db, const char *dir, char *err, size_t errsz) CF_MUST_CHECK;

#endif
