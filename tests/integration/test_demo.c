/*
 * `caseflow demo` at a small size against a real stack with the engine, every worker and
 * `caseflow serve`: the scripted staff are accounts of the workplace API, one clerk per post with
 * a password made for the run (written to the accounts file, readable by its owner only), and
 * every staff task they finish and every decision they make goes through the server, attributed
 * to the clerk of its post.
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
#include <sys/stat.h>

#include "kit/kit.h"

static void test_demo_staff_work_through_the_api(void **state)
{
    (void)state;
    static const char *const kinds[] = {"documents", "service", "network_query", "six_checks",
                                        "auction",   "archive", "payments"};
    kit k;
    pid_t engine, server, workers[7];
    char url[64], accounts[700], *out = NULL, *err = NULL, *text, line[256], password[80] = "";
    int port;
    FILE *f;
    struct stat st;
    long long done, by_clerks;

    kit_init(&k, "demo");
    engine = kit_engine_start(&k, NULL);
    for (size_t i = 0; i < 7; i++)
        workers[i] = kit_worker_start(&k, kinds[i], NULL);
    server = kit_serve_start(&k, NULL, &port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    snprintf(accounts, sizeof accounts, "%s/accounts.txt", k.logdir);
    /* The demo paces itself by the engine's consumer group. */
    setenv("CASEFLOW_GROUP", k.group, 1);

    assert_int_equal(
        kit_cli(&k, &out, &err,
                (const char *[]){"demo", "--server", url, "--accounts", accounts, "--cases", "12",
                                 "--days", "3", "--through", "8", NULL}),
        0);
    assert_non_null(strstr(err, "clerks logged in to"));
    assert_null(strstr(err, "the server refused"));

    /* The accounts: one clerk per post, a lead and an auditor, with passwords of this run,
     * readable by the owner only. */
    assert_int_equal(stat(accounts, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    f = fopen(accounts, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        char name[64], role[16], post[64], pw[64];
        if (sscanf(line, " %63s %15s %63s %63s", name, role, post, pw) == 4 &&
            strcmp(name, "clerk-intake") == 0)
            snprintf(password, sizeof password, "%s\n", pw);
    }
    fclose(f);
    assert_int_equal(strlen(password), 25);
    assert_int_equal(kit_count(&k, "select count(*) from accounts where role = 'staff' and name "
                                   "= 'clerk-' || post"),
                     kit_count(&k, "select count(*) from accounts where role = 'staff'"));
    assert_int_equal(
        kit_count(&k, "select count(*) from accounts where name in ('lead', 'auditor')"), 2);
    /* The password in the file is the account's: the intake clerk can log in with it. */
    setenv("CASEFLOW_SERVER", url, 1);
    free(out);
    free(err);
    assert_int_equal(kit_run_in(&k, password,
                                (const char *[]){"tasks", "list", "--user", "clerk-intake",
                                                 "--password-stdin", NULL},
                                &out, &err),
                     0);
    assert_non_null(strstr(out, "post intake"));
    unsetenv("CASEFLOW_SERVER");

    /* Every staff task the script finished went through the server in its clerk's name. */
    done = kit_count(&k, "select count(*) from events where type = 'task.completed' and source "
                         "like 'staff:%'");
    by_clerks = kit_count(&k, "select count(*) from events e join tasks t on e.event_id = "
                              "t.task_id || ':done' where e.type = 'task.completed' and e.source = "
                              "'staff:' || t.post || ':clerk-' || t.post and t.claimed_by = "
                              "'clerk-' || t.post and e.body -> 'data' ->> 'by' = t.claimed_by");
    fprintf(stderr, "demo: %lld staff tasks completed, %lld by their post's clerk\n", done,
            by_clerks);
    assert_true(done > 12);
    assert_int_equal(by_clerks, done);
    /* Nothing staff do bears the demo's name: decisions too are made by a post's clerk. */
    assert_int_equal(kit_count(&k, "select count(*) from events where source like '%:demo'"), 0);
    assert_int_equal(kit_count(&k, "select count(*) from events where type = 'case.decided' and "
                                   "source !~ '^staff:([a-z0-9_]+):clerk-\\1$'"),
                     0);
    /* The clerks logged out at the end. */
    assert_int_equal(kit_count(&k, "select count(*) from sessions"), 0);
    text = kit_value(&k, "select count(*)::text from cases where state <> 'filed'", 0, NULL);
    assert_non_null(text);
    assert_true(atoi(text) > 0);
    free(text);

    free(out);
    free(err);
    unsetenv("CASEFLOW_GROUP");
    for (size_t i = 0; i < 7; i++)
        kit_engine_stop(&k, workers[i], SIGTERM);
    assert_int_equal(kit_engine_stop(&k, server, SIGTERM), 0);
    kit_engine_stop(&k, engine, SIGTERM);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_demo_staff_work_through_the_api)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
