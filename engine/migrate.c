/*
 * Applying schemas/sql/NNN_*.sql to PostgreSQL in order, once each, as the owner role; and the
 * engine's check at start that the database has them all.
 */
#include "migrate.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/yamldoc.h"
#include "io/store.h"

/* Any constant will do; it only has to be the same for every caseflow process. */
#define MIGRATION_LOCK "727274001"
/* A migration is pages of SQL, not megabytes: a larger file is refused before it is read whole. */
#define MIGRATION_MAX_BYTES ((size_t)64 << 20)

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int exec_simple(PGconn *db, const char *sql, char *err, size_t errsz, const char *what)
{
    PGresult *res = PQexec(db, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = cf_errf(err, errsz, CF_EDB, "%s: %s", what, PQresultErrorMessage(res));
    PQclear(res);
    return rc;
}

/* The migration files in `dir` (NNN_name.sql), sorted; *files is the caller's (free_list). */
static int list_files(const char *dir, char ***files, size_t *n, char *err, size_t errsz)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int rc = 0;

    *files = NULL;
    *n = 0;
    if (!d)
        return cf_errf(err, errsz, CF_EIO, "migrations folder %s: %s", dir, strerror(errno));
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        char **f;
        if (len < 8 || strcmp(de->d_name + len - 4, ".sql") != 0 || de->d_name[0] < '0' ||
            de->d_name[0] > '9')
            continue;
        f = realloc(*files, (*n + 1) * sizeof *f);
        if (!f || !(f[*n] = strdup(de->d_name))) {
            *files = f ? f : *files;
            rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
            break;
        }
        *files = f;
        (*n)++;
    }
    closedir(d);
    if (*n > 1)
        qsort(*files, *n, sizeof **files, by_name);
    return rc;
}

static void free_list(char **files, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
}

/* True when `versions` (rows of cf_schema_migrations.version) holds the version of `file`.  By
 * set, not by the highest: a migration numbered below one applied already (branches merged in
 * another order) is still missing and still applied. */
static int has_version(const PGresult *versions, const char *file)
{
    long version = strtol(file, NULL, 10);
    for (int r = 0; r < PQntuples(versions); r++)
        if (strtol(PQgetvalue(versions, r, 0), NULL, 10) == version)
            return 1;
    return 0;
}

int cf_migrate(PGconn *db, const char *dir, const char *engine_role, int *applied, char *err,
               size_t errsz)
{
    char **files = NULL;
    size_t n = 0;
    int rc = 0, done = 0, locked = 0;
    PGresult *res, *versions = NULL;

    if (applied)
        *applied = 0;
    if ((rc = list_files(dir, &files, &n, err, errsz)))
        goto out;
    /* Every migration may name the engine's role (002_roles.sql grants to it). */
    res = cf_store_exec(db, "select set_config('caseflow.engine_role', $1, false)", 1,
                        (const char *const[]){engine_role ? engine_role : ""}, err, errsz);
    if (!res) {
        rc = CF_EDB;
        goto out;
    }
    PQclear(res);
    if ((rc = exec_simple(db, "select pg_advisory_lock(" MIGRATION_LOCK ")", err, errsz,
                          "taking the migration lock")))
        goto out;
    locked = 1;
    if ((rc = exec_simple(db,
                          "create table if not exists cf_schema_migrations (version integer "
                          "primary key, name text not null, applied_at timestamptz not null "
                          "default now())",
                          err, errsz, "creating cf_schema_migrations")))
        goto out;
    versions = PQexec(db, "select version from cf_schema_migrations");
    if (PQresultStatus(versions) != PGRES_TUPLES_OK) {
        rc = cf_errf(err, errsz, CF_EDB, "reading cf_schema_migrations: %s",
                     PQresultErrorMessage(versions));
        goto out;
    }

    for (size_t i = 0; i < n; i++) {
        long version = strtol(files[i], NULL, 10);
        char path[4096], vtext[32], why[256];
        char *sql;
        size_t len;
        const char *params[2];
        if (has_version(versions, files[i]))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if ((rc = cf_yamldoc_read_file(path, MIGRATION_MAX_BYTES, &sql, &len, why, sizeof why))) {
            cf_errf(err, errsz, rc, "%s: %s", path, why);
            goto out;
        }
        if ((rc = exec_simple(db, "begin", err, errsz, path)) == 0 &&
            (rc = exec_simple(db, sql, err, errsz, path)) == 0) {
            snprintf(vtext, sizeof vtext, "%ld", version);
            params[0] = vtext;
            params[1] = files[i];
            res = cf_store_exec(db,
                                "insert into cf_schema_migrations (version, name) values "
                                "($1, $2)",
                                2, params, err, errsz);
            if (!res)
                rc = CF_EDB;
            PQclear(res);
        }
        free(sql);
        if (rc) {
            PQclear(PQexec(db, "rollback"));
            goto out;
        }
        if ((rc = exec_simple(db, "commit", err, errsz, path)))
            goto out;
        cf_info("applied migration %s", files[i]);
        done++;
    }
    if (applied)
        *applied = done;
out:
    if (locked)
        PQclear(PQexec(db, "select pg_advisory_unlock(" MIGRATION_LOCK ")"));
    PQclear(versions);
    free_list(files, n);
    return rc;
}

int cf_migrate_check(PGconn *db, const char *dir, char *err, size_t errsz)
{
    char **files = NULL;
    size_t n = 0, missing = 0, first = 0;
    int rc;
    PGresult *res = NULL;
    const char *state;

    if ((rc = list_files(dir, &files, &n, err, errsz)))
        goto out;
    if (n == 0) {
        rc = cf_errf(err, errsz, CF_ENOTFOUND, "no migrations in %s", dir);
        goto out;
    }
    res = PQexec(db, "select version from cf_schema_migrations");
    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (state && strcmp(state, "42P01") == 0) /* undefined_table */
            rc = cf_errf(err, errsz, CF_ESTATE,
                         "the database has no caseflow schema: run `caseflow db migrate` first, "
                         "with the owner's connection string (postgres_owner, CASEFLOW_PG_OWNER)");
        else
            rc = cf_errf(err, errsz, CF_EDB, "reading the schema's version: %s",
                         PQresultErrorMessage(res));
        goto out;
    }
    for (size_t i = n; i-- > 0;)
        if (!has_version(res, files[i])) {
            missing++;
            first = i;
        }
    if (missing) {
        rc = cf_errf(err, errsz, CF_ESTATE,
                     "the database lacks migration %s%s: run `caseflow db migrate` first, with "
                     "the owner's connection string (postgres_owner, CASEFLOW_PG_OWNER)",
                     files[first], missing > 1 ? " and others" : "");
        goto out;
    }
    PQclear(res);
    /* Working with more rights than it needs is allowed, but said: such a role can rewrite the
     * event log unseen by the database. */
    res = PQexec(db, "select current_user, pg_has_role(c.relowner, 'USAGE') or "
                     "has_table_privilege(c.oid, 'UPDATE, DELETE, TRUNCATE') "
                     "from pg_class c where c.oid = 'events'::regclass");
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
        strcmp(PQgetvalue(res, 0, 1), "t") == 0)
        cf_warn("the role %s owns or may change the event log (UPDATE, DELETE or TRUNCATE on "
                "events): run the engine with a role of its own, which `caseflow db migrate` "
                "grants only what it needs (docs/engine.md)",
                PQgetvalue(res, 0, 0));
out:
    PQclear(res);
    free_list(files, n);
    return rc;
}
