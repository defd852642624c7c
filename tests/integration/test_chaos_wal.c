/*
 * The disk under PostgreSQL's write-ahead log filling up (#16).  As root, the test stops the
 * chaos stack's PostgreSQL, moves its pg_wal onto a small tmpfs of its own and links it from the
 * data directory (what `initdb --waldir` makes), and starts the server again.  Under load it
 * fills that filesystem to the last byte.  PostgreSQL cannot create the next WAL segment: it
 * PANICs, and its crash recovery cannot write its end-of-recovery checkpoint either, so it
 * stops.  The engine waits, reconnecting with its backoff.  The test then acts as the operator:
 * frees the space and starts PostgreSQL again (`scripts/stack start`, what `systemctl start
 * postgresql` is in production), which recovers from the WAL; the engine carries on by itself,
 * and every filing and task result is applied exactly once.  `caseflow serve` runs beside it: a
 * member of staff asking for the post's queue while the server is down gets 503 naming the
 * database, never a crash or a hang, and the queue again once PostgreSQL is back.  At the end
 * the WAL goes back to the data directory.  Not root: skipped, saying so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/store.h"
#include "kit/chaos.h"

enum { CASES = 2000, PER_SECOND = 100, OUTAGE_S = 10, WAIT = 300 };

/* The tmpfs holding the WAL and the data directory linking to it; the teardown puts the WAL
 * back even when the test fails half-way, so that the next chaos test finds its stack whole. */
static char space[64], pgdata[PATH_MAX], filler[128];
static int mounted, linked;
static kit *the_kit;

/* Runs argv (a program on PATH) and returns its exit status, -1 when it did not exit. */
static int run(const char *const *argv)
{
    int status;
    pid_t pid;

    fflush(NULL);
    if ((pid = fork()) < 0)
        return -1;
    if (pid == 0) {
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The bytes the files directly in `dir` take. */
static long long dir_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    struct stat st;
    char path[PATH_MAX + 256];
    long long total = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
            total += (long long)st.st_size;
    }
    closedir(d);
    return total;
}

/* With PostgreSQL stopped: pg_wal copied onto a tmpfs `spare_mb` larger than the WAL it holds,
 * the copy linked as pg_wal, the original kept as pg_wal.disk.  Returns 0, or -1 saying why. */
static int wal_to_tmpfs(const struct passwd *pg, int spare_mb)
{
    char wal[PATH_MAX + 16], disk[PATH_MAX + 16], opts[64], from[PATH_MAX + 16];
    long long bytes;

    snprintf(wal, sizeof wal, "%s/pg_wal", pgdata);
    snprintf(disk, sizeof disk, "%s/pg_wal.disk", pgdata);
    snprintf(from, sizeof from, "%s/pg_wal/.", pgdata);
    if ((bytes = dir_bytes(wal)) < 0)
        return -1;
    snprintf(opts, sizeof opts, "size=%lldm,mode=0700", bytes / (1 << 20) + spare_mb);
    if (mount("caseflow-wal-test", space, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0) {
        printf("cannot mount a tmpfs on %s: %s\n", space, strerror(errno));
        return -1;
    }
    mounted = 1;
    if (chown(space, pg->pw_uid, pg->pw_gid) != 0 ||
        run((const char *const[]){"cp", "-a", from, space, NULL}) != 0)
        return -1;
    if (rename(wal, disk) != 0)
        return -1;
    if (symlink(space, wal) != 0) {
        rename(disk, wal);
        return -1;
    }
    linked = 1;
    printf("pg_wal (%lld MB) moved onto a %s tmpfs at %s\n", bytes >> 20, opts, space);
    return 0;
}

/* With PostgreSQL stopped: the WAL copied back from the tmpfs into a directory pg_wal, the old
 * copy removed, the tmpfs unmounted.  Returns 0, or -1. */
static int wal_back(void)
{
    char wal[PATH_MAX + 16], disk[PATH_MAX + 16];
    int bad = 0;

    snprintf(wal, sizeof wal, "%s/pg_wal", pgdata);
    snprintf(disk, sizeof disk, "%s/pg_wal.disk", pgdata);
    unlink(filler);
    if (linked) {
        /* cp -a of the mount point: a directory pg_wal with its owner and mode 0700. */
        if (unlink(wal) != 0 || run((const char *const[]){"cp", "-a", space, wal, NULL}) != 0 ||
            run((const char *const[]){"rm", "-rf", disk, NULL}) != 0)
            bad = -1;
        linked = 0;
    }
    if (mounted) {
        if (umount(space) != 0)
            bad = -1;
        else
            rmdir(space);
        mounted = 0;
    }
    return bad;
}

static int teardown(void **state)
{
    (void)state;
    if (linked || mounted) {
        if (the_kit)
            chaos_stack(the_kit, "stop", 0, "postgres");
        if (wal_back() != 0)
            fprintf(stderr, "the WAL could not be put back in %s/pg_wal\n", pgdata);
        if (the_kit)
            chaos_stack(the_kit, "start", 0, "postgres");
    }
    return 0;
}

/* Whether the postmaster of the stack runs. */
static int postgres_runs(void)
{
    pid_t pid = chaos_server_pid("postgres");
    return pid > 0 && kill(pid, 0) == 0;
}

/* Prints the lines of the server log after byte `from` that hold `needle`; returns how many. */
static int log_lines(const char *log, size_t from, const char *needle)
{
    char *text = kit_read_file(log), *p, *end;
    int n = 0;

    if (!text)
        return 0;
    if (from < strlen(text))
        for (p = text + from; (p = strstr(p, needle)) != NULL; p = end) {
            char *start = p;
            while (start > text + from && start[-1] != '\n')
                start--;
            if ((end = strchr(p, '\n')) == NULL)
                end = p + strlen(p);
            printf("  pg.log: %.*s\n", (int)(end - start), start);
            n++;
        }
    free(text);
    return n;
}

static void test_wal_disk_full_then_freed(void **state)
{
    (void)state;
    static kit k;
    chaos_load load;
    pid_t engine, worker, server;
    struct passwd *pg = getpwnam("postgres");
    char pglink[PATH_MAX], log[PATH_MAX], sql[256], engine_log[600];
    const char *stack = getenv("CASEFLOW_STACK_DIR");
    struct timespec freed;
    size_t log_from;
    long long filled, before, applied;
    int switches = 0, port, database;
    char *text, base[64], cookie[256], csrf[128];
    long s;

    if (geteuid() != 0 || !pg || !stack) {
        printf("SKIPPED: the WAL disk test mounts a tmpfs for PostgreSQL's pg_wal, which needs "
               "root and the stack's postgres user; run scripts/test as root to run it\n");
        skip();
    }
    snprintf(pglink, sizeof pglink, "%s/pg", stack);
    snprintf(log, sizeof log, "%s/pg.log", stack);
    assert_non_null(realpath(pglink, pgdata));
    snprintf(space, sizeof space, "/tmp/caseflow-wal.XXXXXX");
    assert_non_null(mkdtemp(space));
    snprintf(filler, sizeof filler, "%s/filler", space);

    kit_init(&k, "wal");
    the_kit = &k;
    assert_int_equal(chaos_stack(&k, "stop", 0, "postgres"), 0);
    if (wal_to_tmpfs(pg, 40) != 0) {
        wal_back();
        assert_int_equal(chaos_stack(&k, "start", 0, "postgres"), 0);
        printf("SKIPPED: the WAL could not be moved onto a tmpfs\n");
        skip();
    }
    assert_int_equal(chaos_stack(&k, "start", 0, "postgres"), 0);
    PQreset(k.db);

    chaos_start(&k, &load, CASES, PER_SECOND, &engine, &worker);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    assert_int_equal(kit_add_user(&k, "wang", "staff", "intake"), 0);
    server = kit_serve_start(&k, NULL, &port);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    assert_int_equal(kit_login(base, "wang", NULL, cookie, sizeof cookie, csrf, sizeof csrf), 200);
    assert_int_equal(chaos_ask_queue(base, cookie, "before the fill", &database), 200);

    text = kit_read_file(log);
    log_from = text ? strlen(text) : 0;
    free(text);
    before = kit_count(&k, "select count(*) from events");
    filled = chaos_fill(filler);
    printf("the WAL's filesystem filled with %lld bytes after %lld events applied\n", filled,
           before);
    assert_true(filled >= 0);

    /*
     * The server still has room in its current segment and may have recycled segments ready:
     * it stops once the load has used them.  pg_switch_wal() moves it on to the next segment at
     * once (what a busy court's hours of filings would do), so the test need not wait for that.
     */
    while (postgres_runs() && switches < 120) {
        char err[512];
        PGconn *admin = cf_store_connect(getenv("CASEFLOW_PG_ADMIN"), err, sizeof err);
        if (admin) {
            PQclear(PQexec(admin, "select pg_switch_wal()"));
            PQfinish(admin);
        }
        switches++;
        kit_sleep_ms(1000);
        if ((applied = kit_count(&k, "select count(*) from events")) > before)
            before = applied;
    }
    printf("after %d WAL switches PostgreSQL %s; %d filings produced\n", switches,
           postgres_runs() ? "still runs   <-- WRONG" : "has stopped", load.sent);
    assert_false(postgres_runs());
    printf("the server log since the fill:\n");
    assert_true(log_lines(log, log_from, "PANIC:") > 0);
    log_lines(log, log_from, "FATAL:  could not write");
    log_lines(log, log_from, "shutting down due to");

    /* The engine waits while the server is down, however long that takes; the server answers
     * that the database is away. */
    s = chaos_ask_queue(base, cookie, "with PostgreSQL down", &database);
    assert_int_equal(s, 503);
    assert_true(database);
    kit_sleep_ms(OUTAGE_S * 1000);
    printf("PostgreSQL down for %d s more; %d filings produced; freeing the space\n", OUTAGE_S,
           load.sent);
    assert_int_equal(unlink(filler), 0);
    clock_gettime(CLOCK_MONOTONIC, &freed);
    /* The operator starts the server again; it recovers from the WAL. */
    assert_int_equal(chaos_stack(&k, "start", 0, "postgres"), 0);
    printf("PostgreSQL serves again %.1f s after the space was freed\n",
           chaos_seconds_since(&freed));
    PQreset(k.db);
    for (int i = 0;
         i < WAIT && (s = chaos_ask_queue(base, cookie, "after the restart", &database)) != 200;
         i++)
        kit_sleep_ms(1000);
    printf("serve answered the queue again %.1f s after the space was freed\n",
           chaos_seconds_since(&freed));
    assert_int_equal(s, 200);
    assert_int_equal(kit_engine_stop(&k, server, SIGTERM), 0);
    /* Applied by the engine on its own, without a restart: more events than the last count seen
     * before the server stopped. */
    snprintf(sql, sizeof sql, "select (count(*) > %lld)::int from events", before);
    assert_int_equal(kit_wait_count(&k, sql, 1, WAIT), 1);
    applied = kit_count(&k, "select count(*) from events");
    printf("the engine applied again %.1f s after the space was freed (%lld events)\n",
           chaos_seconds_since(&freed), applied);
    snprintf(engine_log, sizeof engine_log, "%s/engine-1.log", k.logdir);
    /* The committer's session may apply before the engine's own session finds the server gone
     * (at its next tick) and says so: the line is waited for, not read once. */
    for (int i = 0;; i++) {
        int said;
        text = kit_read_file(engine_log);
        assert_non_null(text);
        said = strstr(text, "connected to PostgreSQL again") != NULL;
        free(text);
        if (said || i == WAIT) {
            printf("the engine's log says \"connected to PostgreSQL again\": %s\n",
                   said ? "yes" : "no   <-- WRONG");
            assert_true(said);
            break;
        }
        kit_sleep_ms(1000);
    }

    assert_int_equal(chaos_finish(&k, &load, engine, worker, 1), 0);
    printf("everything applied %.1f s after the space was freed\n", chaos_seconds_since(&freed));

    /* The WAL back on the stack's disk for the tests after this one. */
    assert_int_equal(chaos_stack(&k, "stop", 0, "postgres"), 0);
    assert_int_equal(wal_back(), 0);
    assert_int_equal(chaos_stack(&k, "start", 0, "postgres"), 0);
    the_kit = NULL;
    curl_global_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_wal_disk_full_then_freed, teardown)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
