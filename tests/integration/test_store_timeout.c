/*
 * A frozen database does not hang caseflow silently.  Every connection of io/store carries TCP
 * keepalives and the server's statement and idle-in-transaction timeouts unless its connection
 * string says otherwise; a statement that runs too long ends with the server's error; and when
 * the server process stops answering altogether (SIGSTOP of the backend that serves the
 * connection: what a frozen machine looks like from the client, and it leaves the other tests on
 * the shared stack alone), the wait is logged and the statement ends with an error, its
 * connection closed, within the statement timeout and 5 s more; once the server runs again,
 * PQreset connects again.  A prepared statement (what the engine's commit runs) is bounded the
 * same way, and its failures carry the SQLSTATE the engine acts on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "io/store.h"

static const char *need_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        fail_msg("%s is not set: run through ctest (the stack fixture sets it)", name);
    return v;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The first column of the first row of `sql`, into a static buffer ("" on failure). */
static const char *value(PGconn *db, const char *sql)
{
    static char out[256];
    char err[512];
    PGresult *res = cf_store_exec(db, sql, 0, NULL, err, sizeof err);
    snprintf(out, sizeof out, "%s", res && PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
    if (!res)
        fprintf(stderr, "%s: %s\n", sql, err);
    PQclear(res);
    return out;
}

/* The value libpq uses for connection option `key` on `db` ("" when unset). */
static const char *option(PGconn *db, const char *key)
{
    static char out[256];
    PQconninfoOption *opts = PQconninfo(db);
    out[0] = '\0';
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, key) == 0 && o->val)
            snprintf(out, sizeof out, "%s", o->val);
    PQconninfoFree(opts);
    return out;
}

static void test_keepalives_and_timeouts_unless_given(void **state)
{
    (void)state;
    char err[512], uri[1024];
    PGconn *db;

    cf_store_set_timeouts(30000, 60000);
    db = cf_store_connect(need_env("CASEFLOW_PG"), err, sizeof err);
    if (!db)
        fail_msg("%s", err);
    assert_string_equal(option(db, "keepalives"), "1");
    assert_string_equal(option(db, "keepalives_idle"), "10");
    assert_string_equal(option(db, "keepalives_interval"), "5");
    assert_string_equal(option(db, "keepalives_count"), "3");
    assert_string_equal(option(db, "connect_timeout"), "10");
    assert_string_equal(value(db, "show statement_timeout"), "30s");
    assert_string_equal(value(db, "show idle_in_transaction_session_timeout"), "1min");
    PQfinish(db);

    /* What the connection string sets stays as it says; the rest is added. */
    snprintf(uri, sizeof uri,
             "%s?keepalives_idle=60&application_name=mine&options=-c%%20statement_timeout%%3D5000",
             need_env("CASEFLOW_PG"));
    db = cf_store_connect(uri, err, sizeof err);
    if (!db)
        fail_msg("%s", err);
    assert_string_equal(option(db, "keepalives_idle"), "60");
    assert_string_equal(option(db, "keepalives_count"), "3");
    assert_string_equal(value(db, "show statement_timeout"), "5s");
    assert_string_equal(value(db, "show idle_in_transaction_session_timeout"), "1min");
    assert_string_equal(value(db, "show application_name"), "mine");
    PQfinish(db);

    /* 0 is no timeout. */
    cf_store_set_timeouts(0, 0);
    db = cf_store_connect(need_env("CASEFLOW_PG"), err, sizeof err);
    if (!db)
        fail_msg("%s", err);
    assert_string_equal(value(db, "show statement_timeout"), "0");
    PQfinish(db);
    cf_store_set_timeouts(30000, 60000);
}

/* A connection whose statements may run for 1 s (cf_store_set_timeouts(30000, ...) restores
 * the default). */
static PGconn *connect_with_short_timeout(void)
{
    char err[512];
    PGconn *db;
    cf_store_set_timeouts(1000, 60000);
    db = cf_store_connect(need_env("CASEFLOW_PG"), err, sizeof err);
    if (!db)
        fail_msg("%s", err);
    return db;
}

static void test_long_statement_ends_with_the_servers_error(void **state)
{
    (void)state;
    char err[512];
    PGconn *db;
    PGresult *res;
    double t0;

    db = connect_with_short_timeout();
    t0 = now_s();
    res = cf_store_exec(db, "select pg_sleep(20)", 0, NULL, err, sizeof err);
    assert_null(res);
    fprintf(stderr, "after %.1f s: %s\n", now_s() - t0, err);
    assert_true(now_s() - t0 < 5);
    assert_non_null(strstr(err, "statement timeout"));
    /* The connection is still good. */
    assert_int_equal(PQstatus(db), CONNECTION_OK);
    assert_string_equal(value(db, "select 1"), "1");
    PQfinish(db);
    cf_store_set_timeouts(30000, 60000);
}

static void test_prepared_statement_is_bounded_and_says_why(void **state)
{
    (void)state;
    char err[512], st[6];
    const char *zero[1] = {"0"}, *long_one[1] = {"20"};
    PGconn *db;
    PGresult *res;
    double t0;

    db = connect_with_short_timeout();
    assert_int_equal(
        cf_store_prepare(db, "nap", "select pg_sleep($1::float8), 'slept'", 1, st, err, sizeof err),
        0);
    /* The same name twice on one session: refused, and the SQLSTATE says why. */
    assert_int_equal(cf_store_prepare(db, "nap", "select 1", 0, st, err, sizeof err), CF_EDB);
    assert_string_equal(st, "42P05");
    res = cf_store_exec_prepared(db, "nap", 1, zero, NULL, NULL, st, err, sizeof err);
    assert_non_null(res);
    assert_string_equal(PQgetvalue(res, 0, 1), "slept");
    PQclear(res);
    t0 = now_s();
    res = cf_store_exec_prepared(db, "nap", 1, long_one, NULL, NULL, st, err, sizeof err);
    assert_null(res);
    assert_true(now_s() - t0 < 5);
    assert_string_equal(st, "57014");
    assert_non_null(strstr(err, "statement timeout"));
    /* A new session has none of them. */
    PQreset(db);
    assert_int_equal(PQstatus(db), CONNECTION_OK);
    res = cf_store_exec_prepared(db, "nap", 1, zero, NULL, NULL, st, err, sizeof err);
    assert_null(res);
    assert_string_equal(st, "26000");
    PQfinish(db);
    cf_store_set_timeouts(30000, 60000);
}

static pid_t stopped_backend;

static void resume_backend(void)
{
    if (stopped_backend > 0)
        kill(stopped_backend, SIGCONT);
    stopped_backend = 0;
}

/* Reads what the log wrote into `path` since it was redirected there. */
static char *read_log(const char *path)
{
    static char buf[65536];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return buf;
}

static void test_frozen_server_is_logged_and_given_up(void **state)
{
    (void)state;
    char err[512], logpath[600];
    PGconn *db;
    PGresult *res;
    double t0, took;
    int saved_stderr, fd;
    const char *log;

    cf_log_threshold = CF_LOG_INFO;
    cf_log_set_component("test");
    cf_store_set_timeouts(1500, 60000);
    db = cf_store_connect(need_env("CASEFLOW_PG"), err, sizeof err);
    if (!db)
        fail_msg("%s", err);
    stopped_backend = (pid_t)atol(value(db, "select pg_backend_pid()"));
    assert_true(stopped_backend > 0);
    atexit(resume_backend);
    if (kill(stopped_backend, SIGSTOP) != 0) {
        fprintf(stderr,
                "cannot stop the backend %ld: %s (the test needs to run as the server's "
                "user or root); skipped\n",
                (long)stopped_backend, strerror(errno));
        stopped_backend = 0;
        PQfinish(db);
        skip();
    }

    /* The log goes to stderr: catch it in a file for the length of the wait. */
    snprintf(logpath, sizeof logpath, "%s/store-timeout-%ld.log",
             getenv("CASEFLOW_STACK_DIR") ? getenv("CASEFLOW_STACK_DIR") : "/tmp", (long)getpid());
    fflush(stderr);
    saved_stderr = dup(2);
    fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    dup2(fd, 2);
    close(fd);
    t0 = now_s();
    res = cf_store_exec(db, "select count(*) from pg_class", 0, NULL, err, sizeof err);
    took = now_s() - t0;
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    resume_backend();

    log = read_log(logpath);
    fprintf(stderr, "after %.1f s: %s\nthe log said:\n%s", took, res ? "(an answer)" : err, log);
    assert_null(res);
    /* statement_timeout 1.5 s, and 5 s more for a server that cannot send its own error. */
    assert_true(took >= 6.0 && took < 10.0);
    assert_non_null(strstr(err, "did not answer"));
    assert_non_null(strstr(log, "waiting 5 s for PostgreSQL to answer: select count(*)"));
    assert_non_null(strstr(log, "PostgreSQL has not answered for 6 s"));
    assert_int_equal(PQstatus(db), CONNECTION_BAD);

    /* The server runs again: the same connection object connects anew. */
    PQreset(db);
    assert_int_equal(PQstatus(db), CONNECTION_OK);
    assert_string_equal(value(db, "select 1"), "1");
    PQfinish(db);
    unlink(logpath);
    cf_store_set_timeouts(30000, 60000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keepalives_and_timeouts_unless_given),
        cmocka_unit_test(test_long_statement_ends_with_the_servers_error),
        cmocka_unit_test(test_prepared_statement_is_bounded_and_says_why),
        cmocka_unit_test(test_frozen_server_is_logged_and_given_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
