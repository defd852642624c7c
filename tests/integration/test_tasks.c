/*
 * The staff task queues end to end, through `caseflow serve`: a filed case's intake check shows
 * in the intake post's queue (and only there), one person claims it, another is refused claiming
 * or completing it, the holder completes it with `caseflow tasks complete` and the engine moves
 * the case on; an open task past its due date is marked overdue by the engine's (simulated)
 * clock, and `caseflow tasks return` sends another case's task back.  The real binary runs as
 * staff would run it: each person is an account made with `caseflow users add` who logs in
 * (--user NAME --password-stdin, or once with `caseflow login`), and the server decides what
 * they may do.  Without a server or a person the command says so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kit/kit.h"

static const char *const CASE_A = "(2026)豫0381执301号";
static const char *const CASE_B = "(2026)豫0381执302号";
static const char *const CASE_C = "(2026)豫0381执303号";

static const char TASK_SQL[] = "select task_id from tasks where case_no = $1 and activity = $2";

/* The id of the case's task for `activity`, waiting for the engine to make it. */
static char *task_of(kit *k, const char *case_no, const char *activity)
{
    char *id = kit_wait_value(k, TASK_SQL, 2, (const char *[]){case_no, activity}, NULL, 60);
    assert_non_null(id);
    return id;
}

/* The entry of task `id` in a `tasks list --json` output, or NULL. */
static json_t *listed(json_t *doc, const char *id)
{
    size_t i;
    json_t *t;
    json_array_foreach (json_object_get(doc, "tasks"), i, t) {
        if (strcmp(json_string_value(json_object_get(t, "id")), id) == 0)
            return t;
    }
    return NULL;
}

/*
 * `caseflow ARGS... --user NAME --password-stdin` as a transcript (kit_cli's, with the password of
 * NAME on stdin; NAME NULL: as the environment says, nothing on stdin).  Frees what *out and *err
 * held; returns the exit status.
 */
static int as(kit *k, const char *name, char **out, char **err, const char *const *args)
{
    const char *argv[40];
    char pw[128];
    size_t n = 0;
    int rc;

    for (; args[n] && n < 36; n++)
        argv[n] = args[n];
    if (name) {
        argv[n++] = "--user";
        argv[n++] = name;
        argv[n++] = "--password-stdin";
    }
    argv[n] = NULL;
    snprintf(pw, sizeof pw, "password-of-%s\n", name ? name : "");
    free(*out);
    free(*err);
    *out = *err = NULL;
    rc = kit_run_in(k, name ? pw : NULL, argv, out, err);
    fprintf(stderr, "$ caseflow");
    for (size_t i = 0; argv[i]; i++)
        fprintf(stderr, " %s", argv[i]);
    fprintf(stderr, "  (as %s)\n-> %d\n%s%s", name ? name : "the environment says", rc,
            *out ? *out : "", *err ? *err : "");
    return rc;
}

static void test_queue_claim_complete_return(void **state)
{
    (void)state;
    kit k;
    pid_t engine, server;
    int port;
    char *out = NULL, *err = NULL, *tid, *tid_b, *worker_tid, *v, url[64], session[700];
    json_t *doc, *t;

    kit_init(&k, "tasks");
    engine = kit_engine_start(&k, NULL);
    assert_int_equal(kit_add_user(&k, "王芳", "staff", "intake"), 0);
    assert_int_equal(kit_add_user(&k, "李明", "staff", "intake"), 0);
    assert_int_equal(kit_add_user(&k, "局长", "staff", "bureau_lead"), 0);
    assert_int_equal(kit_add_user(&k, "boss", "lead", NULL), 0);
    server = kit_serve_start(&k, NULL, &port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    snprintf(session, sizeof session, "%s/session.json", k.logdir);
    unsetenv("CASEFLOW_TOKEN");
    setenv("CASEFLOW_SESSION_FILE", session, 1);

    kit_send_json(&k, kit_filed(CASE_A, "tasks-a-1", "2026-03-02T09:00:00+08:00"));
    kit_send_json(&k, kit_filed(CASE_B, "tasks-b-1", "2026-03-02T09:05:00+08:00"));
    kit_flush(&k);
    /* The filing reviewer's review comes first (version 3). */
    kit_review(&k, CASE_A, "2026-03-02T09:00:00+08:00");
    kit_review(&k, CASE_B, "2026-03-02T09:05:00+08:00");
    tid = task_of(&k, CASE_A, "intake_check");
    tid_b = task_of(&k, CASE_B, "intake_check");
    worker_tid = task_of(&k, CASE_A, "network_query");

    /* Without a server to ask, or without a person, the command says what it lacks. */
    unsetenv("CASEFLOW_SERVER");
    assert_int_equal(as(&k, "王芳", &out, &err, (const char *[]){"tasks", "list", NULL}), 2);
    assert_non_null(strstr(err, "no server to ask: give --server URL or set CASEFLOW_SERVER"));
    assert_int_equal(
        as(&k, NULL, &out, &err, (const char *[]){"tasks", "list", "--server", url, NULL}), 2);
    assert_non_null(strstr(err, "not logged in"));
    assert_int_equal(
        as(&k, "王芳", &out, &err, (const char *[]){"tasks", "list", "--server", "ftp://x", NULL}),
        2);
    assert_non_null(strstr(err, "is not an http:// or https:// URL"));
    setenv("CASEFLOW_SERVER", url, 1);
    {
        const char *args[] = {"tasks", "list", "--user", "王芳", "--password-stdin", NULL};
        free(out);
        free(err);
        assert_int_equal(kit_run_in(&k, "not-her-password\n", args, &out, &err), 1);
        assert_non_null(strstr(err, "logging in to"));
    }

    /* The intake post sees both intake checks, earliest due first; no worker task is shown.  A
     * member of staff lists their own post without naming it. */
    assert_int_equal(as(&k, "王芳", &out, &err, (const char *[]){"tasks", "list", NULL}), 0);
    assert_non_null(strstr(out, "post intake"));
    assert_non_null(strstr(out, tid));
    assert_non_null(strstr(out, tid_b));
    assert_non_null(strstr(out, CASE_A));
    assert_non_null(strstr(out, "立案信息核查"));
    assert_null(strstr(out, worker_tid));
    assert_null(strstr(out, "张三")); /* nothing of the case's data */
    assert_int_equal(as(&k, "王芳", &out, &err,
                        (const char *[]){"tasks", "list", "--post", "intake", "--json", NULL}),
                     0);
    doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "clock")), "simulated");
    assert_int_equal(json_array_size(json_object_get(doc, "tasks")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "counts"), "total")),
                     2);
    t = listed(doc, tid);
    assert_non_null(t);
    assert_string_equal(json_string_value(json_object_get(t, "case")), CASE_A);
    assert_string_equal(json_string_value(json_object_get(t, "status")), "open");
    assert_string_equal(json_string_value(json_object_get(t, "due")), "2026-03-02T17:30:00+08:00");
    assert_true(json_is_false(json_object_get(t, "overdue")));
    assert_true(json_is_null(json_object_get(t, "claimed_by")));
    json_decref(doc);

    /* Staff see no other post's queue; a lead sees every post's, and must say which; a post no
     * workflow declares is not found. */
    assert_int_equal(
        as(&k, "王芳", &out, &err, (const char *[]){"tasks", "list", "--post", "team_1", NULL}), 1);
    assert_non_null(strstr(err, "staff see their own post's queue only"));
    assert_int_equal(
        as(&k, "boss", &out, &err, (const char *[]){"tasks", "list", "--post", "team_1", NULL}), 0);
    assert_null(strstr(out, tid));
    assert_int_equal(
        as(&k, "boss", &out, &err, (const char *[]){"tasks", "list", "--post", "intake", NULL}), 0);
    assert_non_null(strstr(out, tid));
    assert_int_equal(
        as(&k, "boss", &out, &err, (const char *[]){"tasks", "list", "--post", "intak", NULL}), 1);
    assert_non_null(strstr(err, "no workflow declares this post"));
    assert_int_equal(as(&k, "boss", &out, &err, (const char *[]){"tasks", "list", NULL}), 2);
    assert_non_null(strstr(err, "needs --post POST"));
    assert_int_equal(as(&k, NULL, &out, &err, (const char *[]){"tasks", "claim", "--help", NULL}),
                     0);

    /* 王芳 claims it; 李明 may neither claim nor complete it; a lead does not work tasks. */
    assert_int_equal(as(&k, "王芳", &out, &err, (const char *[]){"tasks", "claim", tid, NULL}), 0);
    assert_non_null(strstr(out, "claimed by 王芳"));
    v = kit_value(&k, "select status || '/' || claimed_by from tasks where task_id = $1", 1,
                  (const char *[]){tid});
    assert_string_equal(v, "claimed/王芳");
    free(v);
    assert_int_equal(as(&k, "王芳", &out, &err, (const char *[]){"tasks", "claim", tid, NULL}), 0);
    assert_non_null(strstr(out, "already claimed by 王芳"));
    assert_int_equal(as(&k, "李明", &out, &err, (const char *[]){"tasks", "claim", tid, NULL}), 1);
    assert_non_null(strstr(err, "is claimed by 王芳 since 2026-03-02T08:00:00+08:00"));
    assert_non_null(strstr(err, tid));
    assert_int_equal(
        as(&k, "李明", &out, &err,
           (const char *[]){"tasks", "complete", tid, "--result", "{\"complete\": true}", NULL}),
        1);
    assert_non_null(strstr(err, "only 王芳 can complete it"));
    assert_int_equal(as(&k, "李明", &out, &err,
                        (const char *[]){"tasks", "return", tid, "--reason", "不是我的", NULL}),
                     1);
    assert_int_equal(as(&k, "boss", &out, &err, (const char *[]){"tasks", "claim", tid, NULL}), 1);
    assert_non_null(strstr(err, "the role lead may not use"));

    /* Bad usage: a result that is not an object, the old --as, a missing ID. */
    assert_int_equal(as(&k, "王芳", &out, &err,
                        (const char *[]){"tasks", "complete", tid, "--result", "[true]", NULL}),
                     2);
    assert_non_null(strstr(err, "must be a JSON object"));
    assert_int_equal(as(&k, "王芳", &out, &err,
                        (const char *[]){"tasks", "complete", tid, "--result", "{complete", NULL}),
                     2);
    assert_int_equal(
        as(&k, NULL, &out, &err, (const char *[]){"tasks", "claim", tid, "--as", "王芳", NULL}), 2);
    assert_non_null(strstr(err, "--as is gone"));
    assert_int_equal(as(&k, "王芳", &out, &err, (const char *[]){"tasks", "claim", NULL}), 2);

    /* Worker tasks are their workers': they are on no post's queue, so for staff they are not
     * there at all; nor is a task that does not exist. */
    assert_int_equal(
        as(&k, "王芳", &out, &err, (const char *[]){"tasks", "claim", worker_tid, NULL}), 1);
    assert_non_null(strstr(err, "there is no task"));
    assert_non_null(strstr(err, worker_tid));
    assert_int_equal(as(&k, "王芳", &out, &err,
                        (const char *[]){"tasks", "complete", worker_tid, "--result", "{}", NULL}),
                     1);
    assert_non_null(strstr(err, "there is no task"));
    assert_int_equal(
        as(&k, "王芳", &out, &err, (const char *[]){"tasks", "claim", "t-nosuchtask", NULL}), 1);
    assert_non_null(strstr(err, "there is no task t-nosuchtask"));

    /* 王芳 completes it: the engine applies task.completed in her name and the case leaves
     * intake. */
    assert_int_equal(
        as(&k, "王芳", &out, &err,
           (const char *[]){"tasks", "complete", tid, "--result", "{\"complete\": true}", NULL}),
        0);
    assert_non_null(strstr(out, "intake -> notices"));
    v = kit_wait_value(&k, "select state from cases where case_no = $1", 1,
                       (const char *[]){CASE_A}, "notices", 30);
    assert_string_equal(v, "notices");
    free(v);
    v = kit_value(&k,
                  "select t.status || ' ' || t.claimed_by || ' ' || t.result::text || ' ' || "
                  "e.source || ' ' || e.type from tasks t join events e on e.event_id = "
                  "t.task_id || ':done' where t.task_id = $1",
                  1, (const char *[]){tid});
    assert_non_null(v);
    assert_string_equal(v, "done 王芳 {\"complete\": true} staff:intake:王芳 task.completed");
    free(v);
    assert_int_equal(
        as(&k, "王芳", &out, &err,
           (const char *[]){"tasks", "complete", tid, "--result", "{\"complete\": true}", NULL}),
        1);
    assert_non_null(strstr(err, "is done since"));

    /* At 18:00 on the filing day the other intake check (due 17:30) is overdue. */
    {
        json_t *advance =
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "id", "tasks-clock-1", "type",
                      "clock.advance", "case", "-", "time", "2026-03-02T18:00:00+08:00", "source",
                      "test", "data", "to", "2026-03-02T18:00:00+08:00");
        kit_send_json(&k, advance);
        kit_flush(&k);
        assert_int_equal(kit_wait_count(&k,
                                        "select count(*) from engine_clock where now >= "
                                        "'2026-03-02T18:00:00+08:00'",
                                        1, 30),
                         1);
    }

    /* 李明 logs in once with `caseflow login`; the commands after it use the kept session. */
    {
        const char *args[] = {"login", "--user", "李明", "--password-stdin", NULL};
        struct stat st;
        free(out);
        free(err);
        assert_int_equal(kit_run_in(&k, "password-of-李明\n", args, &out, &err), 0);
        assert_non_null(strstr(out, "logged in to"));
        assert_non_null(strstr(out, "as 李明 (staff, post intake)"));
        assert_int_equal(stat(session, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
    }
    assert_int_equal(
        as(&k, NULL, &out, &err, (const char *[]){"tasks", "list", "--overdue", "--json", NULL}),
        0);
    doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    t = listed(doc, tid_b);
    assert_non_null(t);
    assert_true(json_is_true(json_object_get(t, "overdue")));
    assert_null(listed(doc, tid));
    json_decref(doc);
    assert_int_equal(as(&k, NULL, &out, &err, (const char *[]){"tasks", "list", "--overdue", NULL}),
                     0);
    assert_non_null(strstr(out, "OVERDUE"));

    /* 李明 returns the open task: claimed and returned in one go; the engine marks it returned. */
    assert_int_equal(
        as(&k, NULL, &out, &err,
           (const char *[]){"tasks", "return", tid_b, "--reason", "立案材料缺失", NULL}),
        0);
    v = kit_wait_value(&k, "select status from tasks where task_id = $1", 1,
                       (const char *[]){tid_b}, "returned", 30);
    assert_string_equal(v, "returned");
    free(v);
    v = kit_value(&k,
                  "select type || ' ' || source || ' ' || (body -> 'data' ->> 'reason') from "
                  "events where event_id = $1 || ':returned'",
                  1, (const char *[]){tid_b});
    assert_non_null(v);
    assert_string_equal(v, "task.returned staff:intake:李明 立案材料缺失");
    free(v);
    assert_int_equal(as(&k, NULL, &out, &err, (const char *[]){"tasks", "list", NULL}), 0);
    assert_null(strstr(out, tid_b));
    /* After logout the kept session is gone, on the server and on disk. */
    assert_int_equal(as(&k, NULL, &out, &err, (const char *[]){"logout", NULL}), 0);
    assert_int_equal(access(session, F_OK), -1);
    assert_int_equal(kit_count(&k, "select count(*) from sessions s join accounts a on a.id = "
                                   "s.account_id where a.name = '李明'"),
                     0);
    assert_int_equal(as(&k, NULL, &out, &err, (const char *[]){"tasks", "list", NULL}), 2);
    assert_non_null(strstr(err, "not logged in"));
    /* Each --user command ended its own session too. */
    assert_int_equal(kit_count(&k, "select count(*) from sessions"), 0);

    /* A filing system's token is no person: the server refuses it the queues. */
    {
        char tok[128];
        kit_add_token(&k, "filing", tok, sizeof tok);
        setenv("CASEFLOW_TOKEN", tok, 1);
        assert_int_equal(
            as(&k, NULL, &out, &err, (const char *[]){"tasks", "list", "--post", "intake", NULL}),
            1);
        assert_non_null(strstr(err, "the role ingest may not use"));
        unsetenv("CASEFLOW_TOKEN");
    }

    /* A completion the engine refuses is reported, the task stays claimed, and the same
     * person can try again with a better result (the refused event id is not in the log). */
    kit_send_json(&k, kit_filed(CASE_C, "tasks-c-1", "2026-03-02T09:10:00+08:00"));
    kit_flush(&k);
    free(tid);
    kit_review(&k, CASE_C, "2026-03-02T09:10:00+08:00");
    tid = task_of(&k, CASE_C, "intake_check");
    assert_int_equal(as(&k, "王芳", &out, &err,
                        (const char *[]){"tasks", "complete", tid, "--result",
                                         "{\"complete\": true, \"special\": \"related\"}", NULL}),
                     0);
    assert_non_null(strstr(out, "intake -> special_review"));
    free(tid);
    tid = task_of(&k, CASE_C, "handler_decision");
    assert_int_equal(as(&k, "局长", &out, &err,
                        (const char *[]){"tasks", "complete", tid, "--result", "{}", NULL}),
                     1);
    assert_non_null(strstr(err, "the engine refused"));
    assert_non_null(strstr(err, tid));
    v = kit_value(&k, "select status || '/' || claimed_by from tasks where task_id = $1", 1,
                  (const char *[]){tid});
    assert_string_equal(v, "claimed/局长");
    free(v);
    /* --wait 0: the answer comes once Kafka has the event; the engine applies it after. */
    assert_int_equal(as(&k, "局长", &out, &err,
                        (const char *[]){"tasks", "complete", tid, "--result",
                                         "{\"post\": \"team_2\"}", "--wait", "0", NULL}),
                     0);
    assert_non_null(strstr(out, "task.completed sent as"));
    v = kit_wait_value(&k, "select state from cases where case_no = $1", 1,
                       (const char *[]){CASE_C}, "notices", 30);
    assert_string_equal(v, "notices");
    free(v);

    free(out);
    free(err);
    free(tid);
    free(tid_b);
    free(worker_tid);
    unsetenv("CASEFLOW_SERVER");
    unsetenv("CASEFLOW_SESSION_FILE");
    assert_int_equal(kit_engine_stop(&k, server, SIGTERM), 0);
    kit_engine_stop(&k, engine, SIGTERM);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_queue_claim_complete_return)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
