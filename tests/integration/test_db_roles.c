/*
 * The engine's database role cannot rewrite history: as the role the engine, workers and CLI
 * connect as, switching off the event log's triggers, UPDATE, DELETE and TRUNCATE of events (and
 * the other ways around the triggers) are refused by PostgreSQL's privileges, while the owner
 * that ran `caseflow db migrate` can still do all of it (which is what the chain's anchor outside
 * the database is for).  And the engine does not migrate: on a schema that is behind it stops
 * at start and names `caseflow db migrate`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "io/store.h"
#include "kit/kit.h"

#define CASE_NO "(2026)豫0381执501号"

/* Runs `sql` on `db` and returns its SQLSTATE ("00000" when it succeeded). */
static const char *outcome(PGconn *db, const char *sql)
{
    static char state[6];
    PGresult *res = PQexec(db, sql);
    ExecStatusType st = PQresultStatus(res);
    const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    snprintf(state, sizeof state, "%s",
             st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? "00000"
             : code                                          ? code
                                                             : "?????");
    fprintf(stderr, "  %-9s %s%s%s", strcmp(state, "00000") == 0 ? "done:" : "refused:", sql,
            strcmp(state, "00000") == 0 ? "\n" : "\n            ", PQresultErrorMessage(res));
    PQclear(res);
    return state;
}

static void test_engine_role_cannot_change_the_log(void **state)
{
    (void)state;
    kit k;
    pid_t engine;
    PGconn *db;
    char err[512];

    kit_init(&k, "roles");
    engine = kit_engine_start(&k, NULL);
    kit_send_json(&k, kit_filed(CASE_NO, "roles-1", "2026-03-02T09:00:00+08:00"));
    kit_flush(&k);
    assert_int_equal(kit_wait_count(&k, "select count(*) from events", 1, 60), 1);
    kit_engine_stop(&k, engine, SIGTERM);

    /* The engine's role: it appended the event, it reads it, and that is all. */
    db = cf_store_connect(k.pg, err, sizeof err);
    if (!db)
        fail_msg("%s", err);
    fprintf(stderr, "as the engine's role:\n");
    assert_string_equal(outcome(db, "select count(*) from events"), "00000");
    /* 42501 insufficient_privilege: "must be owner of table events", "permission denied". */
    assert_string_equal(outcome(db, "alter table events disable trigger user"), "42501");
    assert_string_equal(outcome(db, "alter table events disable trigger events_no_update"),
                        "42501");
    assert_string_equal(outcome(db, "update events set source = 'forged'"), "42501");
    assert_string_equal(outcome(db, "delete from events"), "42501");
    assert_string_equal(outcome(db, "truncate events"), "42501");
    assert_string_equal(outcome(db, "drop table events"), "42501");
    assert_string_equal(outcome(db, "alter table events rename to events_old"), "42501");
    assert_string_equal(outcome(db, "set session_replication_role = replica"), "42501");
    assert_string_equal(outcome(db, "create table events2 (like events)"), "42501");
    assert_string_equal(outcome(db, "update dead_letters set reason = ''"), "42501");
    assert_string_equal(outcome(db, "delete from cf_schema_migrations"), "42501");
    /* Nothing moved. */
    assert_int_equal(kit_count(&k, "select count(*) from events where source = 'forged'"), 0);
    assert_int_equal(kit_count(&k, "select count(*) from events"), 1);
    PQfinish(db);

    /* The owner can: the database alone cannot protect the log from it. */
    fprintf(stderr, "as the owner:\n");
    assert_string_equal(outcome(k.db, "alter table events disable trigger user"), "00000");
    assert_string_equal(outcome(k.db, "update events set source = 'forged'"), "00000");
    assert_int_equal(kit_count(&k, "select count(*) from events where source = 'forged'"), 1);
    assert_string_equal(outcome(k.db, "delete from events"), "00000");
    assert_string_equal(outcome(k.db, "truncate events"), "00000");
    assert_string_equal(outcome(k.db, "alter table events enable trigger user"), "00000");
    kit_done(&k);
}

static void test_engine_does_not_migrate(void **state)
{
    (void)state;
    kit k;
    pid_t engine;
    int status;
    char *out = NULL, *err = NULL, log[700];
    FILE *f;
    size_t n;

    kit_init(&k, "nomigrate");
    /* A migration missing, as after an upgrade of caseflow (numbered below others applied:
     * branches merge in any order). */
    assert_string_equal(outcome(k.db, "delete from cf_schema_migrations where version = 2"),
                        "00000");
    engine = kit_engine_start(&k, NULL);
    status = kit_engine_stop(&k, engine, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    snprintf(log, sizeof log, "%s/engine-1.log", k.logdir);
    f = fopen(log, "r");
    assert_non_null(f);
    out = calloc(1, 65536);
    n = fread(out, 1, 65535, f);
    fclose(f);
    out[n] = '\0';
    fprintf(stderr, "%s", out);
    assert_non_null(strstr(out, "the database lacks migration 002_roles.sql"));
    assert_non_null(strstr(out, "caseflow db migrate"));
    /* The engine changed nothing meanwhile. */
    assert_int_equal(kit_count(&k, "select count(*) from cf_schema_migrations where version = 2"),
                     0);
    free(out);
    out = NULL;

    /* The owner's migrate applies what is missing, though higher numbers are applied; then the
     * engine starts and works. */
    assert_int_equal(kit_migrate(&k), 0);
    assert_int_equal(kit_count(&k, "select count(*) from cf_schema_migrations where version = 2"),
                     1);
    engine = kit_engine_start(&k, NULL);
    kit_send_json(&k, kit_filed(CASE_NO, "nomigrate-1", "2026-03-02T09:00:00+08:00"));
    kit_flush(&k);
    assert_int_equal(kit_wait_count(&k, "select count(*) from events", 1, 60), 1);
    kit_engine_stop_ok(&k, engine);

    /* Migrating needs the owner's connection string: the engine's is not taken instead. */
    assert_int_equal(kit_cli(&k, &out, &err, (const char *[]){"db", "migrate", NULL}), 1);
    assert_non_null(strstr(err, "postgres_owner"));
    free(out);
    free(err);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_role_cannot_change_the_log),
        cmocka_unit_test(test_engine_does_not_migrate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
