/*
 * The disk under the database filling up (#16).  As root, the test mounts a small tmpfs, makes it
 * a PostgreSQL tablespace and moves the tables every event writes to (events, cases, tasks) onto
 * it; under load it then fills the filesystem to the last byte.  PostgreSQL refuses to extend the
 * tables ("No space left on device", SQLSTATE 53100); the engine keeps its batch, waits and
 * retries, and dead-letters nothing.  When the space is freed it carries on by itself, and every
 * filing and task result is applied exactly once.  Not root: skipped, saying so.
 *
 * The write-ahead log stays on the stack's own disk here: a full WAL disk makes PostgreSQL stop (a
 * PANIC) until it is started again, which test_chaos_wal covers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/store.h"
#include "kit/chaos.h"

enum { CASES = 2000, PER_SECOND = 100, WAIT = 300 };

/* The tmpfs, unmounted by the teardown even when the test fails half-way. */
static char space[64];
static int mounted;

static int teardown(void **state)
{
    (void)state;
    if (mounted && umount2(space, MNT_DETACH) == 0)
        rmdir(space);
    mounted = 0;
    return 0;
}

/* Runs `sql` as the cluster's superuser (CASEFLOW_PG_ADMIN); returns 0 or -1, saying why. */
static int as_admin(const char *sql)
{
    char err[512];
    PGconn *db = cf_store_connect(getenv("CASEFLOW_PG_ADMIN"), err, sizeof err);
    PGresult *res;
    int ok;

    if (!db) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    res = PQexec(db, sql);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(res));
    PQclear(res);
    PQfinish(db);
    return ok ? 0 : -1;
}

static void test_disk_full_then_freed(void **state)
{
    (void)state;
    kit k;
    chaos_load load;
    pid_t engine, worker;
    char filler[128], sql[1024], dbname[160];
    struct passwd *pg = getpwnam("postgres");
    long long filled;
    char *failure;

    if (geteuid() != 0 || !pg || !getenv("CASEFLOW_PG_ADMIN")) {
        printf("SKIPPED: the disk test mounts a tmpfs for a PostgreSQL tablespace, which needs "
               "root and the stack's postgres user; run scripts/test as root to run it\n");
        skip();
    }
    kit_init(&k, "disk");
    /* Under /tmp, which the postgres user can reach (the build tree may be closed to it). */
    snprintf(space, sizeof space, "/tmp/caseflow-disk.XXXXXX");
    assert_non_null(mkdtemp(space));
    snprintf(filler, sizeof filler, "%s/filler", space);
    if (mount("caseflow-disk-test", space, "tmpfs", MS_NOSUID | MS_NODEV, "size=48m,mode=0700") !=
        0) {
        printf("SKIPPED: cannot mount a tmpfs on %s: %s\n", space, strerror(errno));
        skip();
    }
    mounted = 1;
    assert_int_equal(chown(space, pg->pw_uid, pg->pw_gid), 0);
    snprintf(sql, sizeof sql, "create tablespace small_%ld location '%s'", (long)getpid(), space);
    assert_int_equal(as_admin(sql), 0);
    snprintf(sql, sizeof sql, "grant create on tablespace small_%ld to caseflow_owner",
             (long)getpid());
    assert_int_equal(as_admin(sql), 0);
    snprintf(sql, sizeof sql,
             "alter table events set tablespace small_%ld; alter table cases set tablespace "
             "small_%ld; alter table tasks set tablespace small_%ld",
             (long)getpid(), (long)getpid(), (long)getpid());
    PQclear(PQexec(k.db, sql));
    assert_int_equal(kit_count(&k, "select count(*) from pg_tables where tablename in ('events', "
                                   "'cases', 'tasks') and tablespace like 'small_%'"),
                     3);

    chaos_start(&k, &load, CASES, PER_SECOND, &engine, &worker);

    filled = chaos_fill(filler);
    printf("the tablespace's filesystem filled with %lld bytes after %lld events applied\n", filled,
           kit_count(&k, "select count(*) from events"));
    assert_true(filled >= 0);
    failure = kit_wait_value(&k,
                             "select last_failure from engine_status where last_failure like "
                             "'%No space left on device%'",
                             0, NULL, NULL, WAIT);
    assert_non_null(failure);
    printf("the engine's last failure: %s\n", failure);
    free(failure);
    kit_sleep_ms(5000);
    printf("the disk still full, %lld events applied; freeing the space\n",
           kit_count(&k, "select count(*) from events"));
    assert_int_equal(unlink(filler), 0);

    assert_int_equal(chaos_finish(&k, &load, engine, worker, 1), 0);

    /* Leave no tablespace or mount behind. */
    snprintf(dbname, sizeof dbname, "t_disk_%ld", (long)getpid());
    snprintf(sql, sizeof sql, "drop database %s with (force)", dbname);
    assert_int_equal(as_admin(sql), 0);
    snprintf(sql, sizeof sql, "drop tablespace small_%ld", (long)getpid());
    assert_int_equal(as_admin(sql), 0);
    assert_int_equal(umount(space), 0);
    mounted = 0;
    rmdir(space);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_disk_full_then_freed, teardown)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
