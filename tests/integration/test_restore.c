/*
 * A database restored from a backup resumes from its own point in Kafka: the engines' offsets
 * are rows of the database, so a restored database has the offsets of its own moment, and the
 * events applied after the backup are read from Kafka again and applied once more, in order,
 * each once.  The test takes a pg_dump while the engine works, lets cases be filed and moved on
 * afterwards, restores the dump over the database with pg_restore, starts the engine again and
 * finds the same cases in the same states with the same events, nothing dead-lettered, and
 * `caseflow db rebuild` agreeing (docs/operations.md, "Backup and restore").
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
#include <unistd.h>

#include "kit/kit.h"

/* What must come back: every case's state and seq, and every event id in each case's order. */
static const char CASES_SQL[] =
    "select coalesce(string_agg(case_no || ' ' || state || ' ' || seq, ', ' order by case_no), "
    "'') from cases";
static const char EVENTS_SQL[] =
    "select coalesce(string_agg(event_id, ', ' order by case_no, seq), '') from events";

/* Series 'A' (filed before the backup) is 801-803, 'B' (after it) 811-813. */
static void case_no(char series, int i, char *buf, size_t n)
{
    snprintf(buf, n, "(2026)豫0381执%d号", (series == 'A' ? 800 : 810) + i);
}

static void file_cases(kit *k, char series, const char *at)
{
    char no[64], id[64];
    for (int i = 1; i <= 3; i++) {
        case_no(series, i, no, sizeof no);
        snprintf(id, sizeof id, "rs-filed-%c%d", series, i);
        kit_send_json(k, kit_filed(no, id, at));
    }
    kit_flush(k);
}

/* Runs a PostgreSQL client tool; returns its exit status. */
static int tool(const char *const *argv)
{
    int status;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *value(kit *k, const char *sql)
{
    char *v = kit_value(k, sql, 0, NULL);
    assert_non_null(v);
    return v;
}

static void test_restore_resumes_from_its_own_offsets(void **state)
{
    char dump[600], no[64], *cases_after, *events_after, *v, *out = NULL, *err = NULL;
    kit k;
    pid_t engine;
    (void)state;

    kit_init(&k, "restore");
    snprintf(dump, sizeof dump, "%s/backup.dump", k.logdir);
    engine = kit_engine_start(&k, NULL);
    kit_advance(&k, "rs-clock-1", "2026-03-02T09:00:00+08:00");
    file_cases(&k, 'A', "2026-03-02T09:00:00+08:00");
    assert_int_equal(kit_wait_count(&k, "select count(*) from cases", 3, 60), 3);

    /* The backup, taken while the engine runs, as the owner. */
    assert_int_equal(tool((const char *[]){"pg_dump", "-Fc", "-f", dump, "-d", k.pg_owner, NULL}),
                     0);

    /* After it: three more cases, a day later a result for one of the first. */
    file_cases(&k, 'B', "2026-03-02T09:00:00+08:00");
    assert_int_equal(kit_wait_count(&k, "select count(*) from cases", 6, 60), 6);
    kit_advance(&k, "rs-clock-2", "2026-03-03T10:00:00+08:00");
    case_no('A', 1, no, sizeof no);
    v = kit_wait_value(&k,
                       "select task_id from tasks where case_no = $1 and activity = "
                       "'network_query'",
                       1, (const char *[]){no}, NULL, 60);
    assert_non_null(v);
    {
        char id[160];
        snprintf(id, sizeof id, "%s:done", v);
        kit_send_json(&k, json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:{s:[]}, s:i}}",
                                    "id", id, "type", "task.completed", "case", no, "time",
                                    "2026-03-03T10:00:00+08:00", "source", "worker:network_query",
                                    "data", "task_id", v, "activity", "network_query", "kind",
                                    "network_query", "result", "found", "attempts", 1));
        kit_flush(&k);
    }
    assert_int_equal(kit_wait_count(&k, "select count(*) from tasks where status = 'done'", 1, 60),
                     1);
    free(v);
    assert_int_equal(kit_wait_count(&k, "select count(*) from outbox", 0, 60), 0);
    cases_after = value(&k, CASES_SQL);
    events_after = value(&k, EVENTS_SQL);
    assert_int_equal(kit_engine_stop(&k, engine, SIGTERM), 0);

    /* The disk is lost: the backup goes back over the database. */
    assert_int_equal(
        tool((const char *[]){"pg_restore", "--clean", "--if-exists", "--single-transaction",
                              "--exit-on-error", "-d", k.pg_owner, dump, NULL}),
        0);
    assert_int_equal(kit_count(&k, "select count(*) from cases"), 3);
    assert_int_equal(kit_count(&k, "select count(*) from tasks where status = 'done'"), 0);

    /* The engine starts from the restored offsets, reads what followed the backup again and
     * applies it once: the same cases, states and events as before the loss. */
    engine = kit_engine_start(&k, NULL);
    v = kit_wait_value(&k, CASES_SQL, 0, NULL, cases_after, 90);
    assert_non_null(v);
    assert_string_equal(v, cases_after);
    free(v);
    assert_int_equal(kit_wait_count(&k, "select count(*) from outbox", 0, 60), 0);
    v = value(&k, EVENTS_SQL);
    assert_string_equal(v, events_after);
    free(v);
    assert_int_equal(kit_count(&k, "select count(*) from dead_letters"), 0);
    assert_int_equal(kit_count(&k, "select count(*) from tasks where status = 'done'"), 1);
    assert_int_equal(kit_engine_stop(&k, engine, SIGTERM), 0);
    assert_int_equal(kit_cli(&k, &out, &err, (const char *[]){"db", "rebuild", NULL}), 0);
    assert_non_null(strstr(out, "db rebuild: 6 cases, "));

    free(cases_after);
    free(events_after);
    free(out);
    free(err);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restore_resumes_from_its_own_offsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
