/*
 * One case through every state of its life as people would take it: the filing
 * system's export goes in with `caseflow feed` (clock moves included, as control
 * lines of the same export), staff work their queues with `caseflow tasks`, the
 * real worker processes make and serve the notices, query and check property and
 * archive the file, and `caseflow replay` then verifies the whole history.
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

#include "kit/kit.h"

static const char *const CASE_NO = "(2026)豫0381执301号";
static const char *const STATE_SQL = "select state from cases where case_no = $1";

/* Sends JSON lines through `caseflow feed`, as the filing system's export would come. */
static void feed(kit *k, const char *name, json_t *lines /* stolen: an array of events */)
{
    char path[700], *out = NULL, *err = NULL;
    FILE *f;
    size_t i;
    json_t *ev;

    snprintf(path, sizeof path, "%s/%s.jsonl", k->logdir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    json_array_foreach (lines, i, ev) {
        char *s = json_dumps(ev, JSON_COMPACT);
        fprintf(f, "%s\n", s);
        free(s);
    }
    fclose(f);
    json_decref(lines);
    if (kit_run(k, (const char *[]){"feed", path, NULL}, &out, &err) != 0)
        fail_msg("caseflow feed %s failed: %s", path, err ? err : "");
    free(out);
    free(err);
}

static void wait_state(kit *k, const char *want, int seconds)
{
    char *v = kit_wait_value(k, STATE_SQL, 1, (const char *[]){CASE_NO}, want, seconds);
    if (!v || strcmp(v, want) != 0)
        fail_msg("case %s is in state %s, expected %s", CASE_NO, v ? v : "(none)", want);
    free(v);
}

/* Waits until the workers have done the case's task `activity`: people wait for the post too. */
static void wait_done(kit *k, const char *activity, int seconds)
{
    char *v = kit_wait_value(k,
                             "select status from tasks where case_no = $1 and activity = $2 "
                             "order by created_at desc limit 1",
                             2, (const char *[]){CASE_NO, activity}, "done", seconds);
    if (!v || strcmp(v, "done") != 0)
        fail_msg("task %s of %s is %s, not done", activity, CASE_NO, v ? v : "missing");
    free(v);
}

/* Runs `caseflow ARGS... --user NAME --password-stdin` as NAME; returns its exit status. */
static int as(kit *k, const char *name, const char *const *args, char **out, char **err)
{
    const char *argv[24];
    char pw[128];
    size_t n = 0;

    for (; args[n] && n < 20; n++)
        argv[n] = args[n];
    argv[n++] = "--user";
    argv[n++] = name;
    argv[n++] = "--password-stdin";
    argv[n] = NULL;
    snprintf(pw, sizeof pw, "password-of-%s\n", name);
    return kit_run_in(k, pw, argv, out, err);
}

/* Finds the case's task on their post's queue as staff would see it, and completes it. */
static void staff_completes(kit *k, const char *name, const char *result)
{
    char *out = NULL, *err = NULL, *id = NULL;
    json_t *list = NULL, *t;
    size_t i;

    for (int tries = 0; tries < 100 && !id; tries++) {
        if (as(k, name, (const char *[]){"tasks", "list", "--json", NULL}, &out, &err) != 0)
            fail_msg("caseflow tasks list as %s: %s", name, err ? err : "");
        list = json_loads(out, 0, NULL);
        json_array_foreach (json_object_get(list, "tasks"), i, t) {
            if (strcmp(json_string_value(json_object_get(t, "case")), CASE_NO) == 0)
                id = strdup(json_string_value(json_object_get(t, "id")));
        }
        json_decref(list);
        free(out);
        free(err);
        out = err = NULL;
        if (!id)
            kit_sleep_ms(200);
    }
    if (!id)
        fail_msg("no task of %s on %s's queue", CASE_NO, name);
    if (as(k, name, (const char *[]){"tasks", "complete", id, "--result", result, NULL}, &out,
           &err) != 0)
        fail_msg("caseflow tasks complete %s as %s: %s", id, name, err ? err : "");
    free(id);
    free(out);
    free(err);
}

static void test_one_case_through_every_state(void **state)
{
    (void)state;
    static const char *const kinds[] = {"documents", "service", "network_query", "six_checks",
                                        "archive"};
    static const char *const spine[] = {"filed",   "review",    "intake", "assigned", "notices",
                                        "queries", "execution", "closed", "archived"};
    kit k;
    pid_t engine, server, workers[5];
    char *out = NULL, *err = NULL, topic[160], url[64];
    int port;
    json_t *feedlog, *doc, *m, *seen = json_object();
    size_t i;

    kit_init(&k, "walk");
    engine = kit_engine_start(&k, NULL);
    for (i = 0; i < 5; i++)
        workers[i] = kit_worker_start(&k, kinds[i], NULL);
    /* The filing reviewer, the intake clerk and the handler of team 1 work through the
     * workplace API. */
    assert_int_equal(kit_add_user(&k, "吴十", "staff", "filing_review"), 0);
    assert_int_equal(kit_add_user(&k, "王芳", "staff", "intake"), 0);
    assert_int_equal(kit_add_user(&k, "赵强", "staff", "team_1"), 0);
    assert_int_equal(kit_add_user(&k, "孙丽", "staff", "archive_group"), 0);
    server = kit_serve_start(&k, NULL, &port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    setenv("CASEFLOW_SERVER", url, 1);

    /* Monday 2 March, 09:00: the case is filed; the filing reviewer reviews it, then the intake
     * post checks it. */
    feed(&k, "monday",
         json_pack("[o, o]", kit_clock_to("w-clock-1", "2026-03-02T09:00:00+08:00"),
                   kit_filed(CASE_NO, "w-filed", "2026-03-02T09:00:00+08:00")));
    staff_completes(&k, "吴十", "{\"enforceable\": true, \"parties_ok\": true}");
    staff_completes(&k, "王芳", "{\"complete\": true}");
    /* The notices are made in the morning; the day's service round goes out at 14:00. */
    wait_done(&k, "notices", 120);
    feed(&k, "afternoon", json_pack("[o]", kit_clock_to("w-clock-2", "2026-03-02T16:00:00+08:00")));
    /* Each party's documents are a service item of their own: the risk notice to the applicant,
     * the others to the respondent. */
    wait_done(&k, "service_applicant_1", 60);
    wait_done(&k, "service_respondent_1", 60);
    /* Wednesday 09:00: the clerk's trip to the registry offices (the six checks). */
    feed(&k, "wednesday", json_pack("[o]", kit_clock_to("w-clock-3", "2026-03-04T12:00:00+08:00")));
    wait_state(&k, "execution", 90);

    /* Thursday: the handler's team (sequence 301: team_1) reports its measures, and the
     * case is closed as fully performed. */
    feed(&k, "thursday", json_pack("[o]", kit_clock_to("w-clock-4", "2026-03-05T10:00:00+08:00")));
    staff_completes(&k, "赵强", "{\"measures\": [\"冻结存款\"]}");
    feed(&k, "decision",
         json_pack("[{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}]", "id", "w-decided", "type",
                   "case.decided", "case", CASE_NO, "time", "2026-03-05T11:00:00+08:00", "source",
                   "staff:team_1:赵强", "data", "decision", "close", "close_method", "执行完毕"));
    wait_state(&k, "closed", 60);

    /* 1 April: the ledger of March's closed cases goes to the archive system under the volume
     * numbers the engine gives; whatever it answered is kept, and the archive group binds the
     * file. */
    feed(&k, "april", json_pack("[o]", kit_clock_to("w-clock-5", "2026-04-01T10:00:00+08:00")));
    staff_completes(&k, "孙丽", "{\"note\": \"已装订移交档案室\"}");
    wait_state(&k, "archived", 90);
    {
        char *volume = kit_value(&k,
                                 "select c.body -> 'data' ->> 'volume' from cases c join "
                                 "archive_volumes v on v.case_no = c.case_no and v.volume = "
                                 "c.body -> 'data' ->> 'volume' where c.case_no = $1 and c.body "
                                 "-> 'data' -> 'archive' ->> 'outcome' in ('accepted', 'refused')",
                                 1, (const char *[]){CASE_NO});
        assert_non_null(volume);
        assert_string_equal(volume, "2026-03-0001");
        free(volume);
    }

    /* The case passed through every state of the spine (the public feed shows each path). */
    snprintf(topic, sizeof topic, "%s.transitions", k.prefix);
    feedlog = kit_consume(&k, topic, 1000, 15);
    json_array_foreach (feedlog, i, m) {
        json_t *v = json_object_get(m, "value"), *s;
        size_t j;
        if (strcmp(json_string_value(json_object_get(v, "case")), CASE_NO) != 0)
            continue;
        json_array_foreach (json_object_get(v, "path"), j, s)
            json_object_set_new(seen, json_string_value(s), json_true());
    }
    json_decref(feedlog);
    for (i = 0; i < sizeof spine / sizeof spine[0]; i++)
        if (!json_object_get(seen, spine[i]))
            fail_msg("the case never passed through %s", spine[i]);
    json_decref(seen);

    /* And its history verifies: the chain holds and replay gives the stored state. */
    assert_int_equal(kit_run(&k, (const char *[]){"replay", CASE_NO, "--json", NULL}, &out, &err),
                     0);
    doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    {
        json_t *v = json_object_get(doc, "verification");
        assert_string_equal(json_string_value(json_object_get(v, "chain")), "ok");
        assert_string_equal(json_string_value(json_object_get(v, "replay")), "ok");
        assert_string_equal(json_string_value(json_object_get(v, "final_state")), "ok");
    }
    assert_true(json_is_true(json_object_get(json_object_get(doc, "verification"), "ok")));
    json_decref(doc);
    free(out);
    free(err);

    for (i = 0; i < 5; i++)
        kit_engine_stop(&k, workers[i], SIGTERM);
    unsetenv("CASEFLOW_SERVER");
    kit_engine_stop(&k, server, SIGTERM);
    kit_engine_stop(&k, engine, SIGTERM);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_one_case_through_every_state)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
