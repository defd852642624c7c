/*
 * Notices to posts (#12): a decision refused because the sender's post may not make it gives that
 * post a notice (once, also when the same event comes again); on Monday each post with overdue
 * staff tasks gets its list and the bureau lead gets all of them, once per week also across an
 * engine's restart; staff see and mark read their own post's notices only, through the API, and
 * the reader is recorded.
 *
 * The simulated clock starts on Sunday 2026-03-01, in the week of Monday 02-23, whose lists go
 * out at once.  The case is filed on Friday 02-27: its filing review was due that day at 17:30,
 * so on Monday 03-02 it is overdue, though not by three working days (no escalation: 02-28 is a
 * make-up working day, and the review was due after 02-27 began); its intake check waits for the
 * review (version 3), so the intake post has nothing overdue.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "kit/kit.h"

static const char *const CASE = "(2026)豫0381执4301号";

static kit K;
static pid_t engine;

static void stop_engine(void)
{
    int status = kit_engine_stop(&K, engine, SIGTERM);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Team 4 closes a case that is not its own: the workflow refuses it (decisions: close is made by
 * the handler's post or the bureau lead). */
static json_t *foreign_close(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "id", "nt-decide-1", "type",
                     "case.decided", "case", CASE, "time", "2026-03-01T11:00:00+08:00", "source",
                     "staff:team_4:li4", "data", "decision", "close", "close_method", "执行完毕");
}

static void test_refused_decision_tells_the_senders_post(void **state)
{
    char *v;

    (void)state;
    kit_send_json(&K, foreign_close());
    kit_flush(&K);
    assert_int_equal(kit_wait_count(&K,
                                    "select count(*) from notices where post = 'team_4' and kind "
                                    "= 'refusal'",
                                    1, 60),
                     1);
    v = kit_value(&K, "select title || ' | ' || (body ->> 'reason') from notices where post = $1",
                  1, (const char *[]){"team_4"});
    assert_non_null(v);
    fprintf(stderr, "refusal notice: %s\n", v);
    assert_non_null(strstr(v, CASE));
    assert_non_null(strstr(v, "结案：执行完毕"));
    assert_non_null(strstr(v, "may not make it"));
    free(v);
    /* The same refused event again: a second dead letter, still one notice. */
    kit_send_json(&K, foreign_close());
    kit_flush(&K);
    assert_int_equal(kit_wait_count(&K,
                                    "select count(*) from dead_letters where event_id = "
                                    "'nt-decide-1'",
                                    2, 60),
                     2);
    assert_int_equal(kit_count(&K, "select count(*) from notices where kind = 'refusal'"), 1);
}

static void test_monday_overdue_lists_once_a_week(void **state)
{
    char *v;

    (void)state;
    kit_advance(&K, NULL, "2026-03-02T08:00:00+08:00");
    /* The review's post and the bureau lead; the intake post has nothing overdue. */
    assert_int_equal(kit_wait_count(&K,
                                    "select count(*) from notices where key like "
                                    "'overdue:2026-03-02:%'",
                                    2, 60),
                     2);
    v = kit_value(&K,
                  "select string_agg(post || '=' || (body ->> 'count'), ',' order by post) from "
                  "notices where key like 'overdue:2026-03-02:%'",
                  0, NULL);
    assert_non_null(v);
    assert_string_equal(v, "bureau_lead=1,filing_review=1");
    free(v);
    v = kit_value(&K,
                  "select body -> 'tasks' -> 0 ->> 'case' from notices where key = "
                  "'overdue:2026-03-02:filing_review'",
                  0, NULL);
    assert_non_null(v);
    assert_string_equal(v, CASE);
    free(v);
    /* A restart on the same Monday sends nothing again. */
    stop_engine();
    engine = kit_engine_start(&K, NULL);
    kit_advance(&K, NULL, "2026-03-02T09:00:00+08:00");
    kit_sleep_ms(2000);
    /* The next Monday: the review is three working days late (03-04, 03-05, 03-06) and has gone
     * to the bureau lead, whose list is that week's only one (the intake check still waits for
     * the review); the week before keeps one of each. */
    kit_advance(&K, NULL, "2026-03-09T08:00:00+08:00");
    v = kit_wait_value(&K,
                       "select string_agg(post || '=' || (body ->> 'count'), ',' order by post) "
                       "from notices where key like 'overdue:2026-03-09:%'",
                       0, NULL, "bureau_lead=1", 60);
    assert_non_null(v);
    assert_string_equal(v, "bureau_lead=1");
    free(v);
    assert_int_equal(kit_count(&K, "select count(*) from notices where key like "
                                   "'overdue:2026-03-02:%'"),
                     2);
    assert_int_equal(kit_count(&K, "select count(*) from notice_weeks where list = 'overdue' and "
                                   "week = '2026-03-02'"),
                     1);
}

typedef struct who {
    char session[256], csrf[128];
} who;

static json_t *call(const char *base, const who *w, const char *method, const char *path, long want)
{
    char url[512];
    kit_reply r;
    json_t *v;

    snprintf(url, sizeof url, "%s%s", base, path);
    kit_http_csrf(method, url, w ? w->session : NULL, w ? w->csrf : NULL, NULL, &r);
    if (r.status != want)
        fprintf(stderr, "%s %s: %ld %s\n", method, path, r.status, r.body ? r.body : "");
    assert_int_equal(r.status, want);
    v = r.body ? json_loads(r.body, 0, NULL) : NULL;
    kit_reply_free(&r);
    return v;
}

static void login(const char *base, const char *name, who *w)
{
    assert_int_equal(
        kit_login(base, name, NULL, w->session, sizeof w->session, w->csrf, sizeof w->csrf), 200);
}

static void test_staff_read_their_posts_notices(void **state)
{
    char base[64], path[128];
    who li4, boss;
    json_t *v, *n;
    long long mine, lead_notice;
    pid_t server;
    int port;

    (void)state;
    assert_int_equal(kit_add_user(&K, "li4", "staff", "team_4"), 0);
    assert_int_equal(kit_add_user(&K, "boss", "lead", NULL), 0);
    server = kit_serve_start(&K, NULL, &port);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    login(base, "li4", &li4);
    login(base, "boss", &boss);

    v = call(base, &li4, "GET", "/api/v1/notices", 200);
    assert_int_equal(json_integer_value(json_object_get(v, "total")), 1);
    assert_int_equal(json_integer_value(json_object_get(v, "unread")), 1);
    n = json_array_get(json_object_get(v, "notices"), 0);
    assert_string_equal(json_string_value(json_object_get(n, "kind")), "refusal");
    assert_string_equal(json_string_value(json_object_get(n, "post")), "team_4");
    mine = json_integer_value(json_object_get(n, "id"));
    json_decref(v);
    json_decref(call(base, &li4, "GET", "/api/v1/notices?post=bureau_lead", 403));

    /* The lead sees every post's: the bureau lead's lists of the weeks of 02-23 (none overdue
     * yet), 03-02 and 03-09; the review post's list of 03-02 and the refusal. */
    v = call(base, &boss, "GET", "/api/v1/notices?post=bureau_lead", 200);
    assert_int_equal(json_integer_value(json_object_get(v, "total")), 3);
    lead_notice =
        json_integer_value(json_object_get(json_array_get(json_object_get(v, "notices"), 0), "id"));
    json_decref(v);
    v = call(base, &boss, "GET", "/api/v1/notices", 200);
    assert_int_equal(json_integer_value(json_object_get(v, "total")), 5);
    json_decref(v);

    /* Another post's notice is not found for staff; their own is read in their name, once. */
    snprintf(path, sizeof path, "/api/v1/notices/%lld/read", lead_notice);
    json_decref(call(base, &li4, "POST", path, 404));
    snprintf(path, sizeof path, "/api/v1/notices/%lld/read", mine);
    v = call(base, &li4, "POST", path, 200);
    assert_false(json_is_true(json_object_get(v, "already")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(v, "notice"), "read_by")),
                        "li4");
    assert_non_null(strstr(
        json_string_value(json_object_get(json_object_get(v, "notice"), "read_at")), "2026-03-"));
    json_decref(v);
    v = call(base, &boss, "POST", path, 200);
    assert_true(json_is_true(json_object_get(v, "already")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(v, "notice"), "read_by")),
                        "li4");
    json_decref(v);
    v = call(base, &li4, "GET", "/api/v1/notices?unread=true", 200);
    assert_int_equal(json_integer_value(json_object_get(v, "total")), 0);
    json_decref(v);
    assert_int_equal(kit_engine_stop(&K, server, SIGTERM) != -1, 1);
}

static int setup(void **state)
{
    json_t *ev;
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    kit_init(&K, "notices");
    snprintf(K.start, sizeof K.start, "2026-03-01T10:00:00+08:00");
    ev = kit_filed(CASE, "nt-1", "2026-03-01T10:00:00+08:00");
    json_object_set_new(json_object_get(ev, "data"), "filed_at",
                        json_string("2026-02-27T09:00:00+08:00"));
    kit_send_json(&K, ev);
    kit_flush(&K);
    engine = kit_engine_start(&K, NULL);
    /* The filing review comes first (version 3): no intake check yet. */
    assert_int_equal(
        kit_wait_count(&K, "select count(*) from tasks where activity = 'filing_review'", 1, 60),
        1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    stop_engine();
    kit_done(&K);
    curl_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_decision_tells_the_senders_post),
        cmocka_unit_test(test_monday_overdue_lists_once_a_week),
        cmocka_unit_test(test_staff_read_their_posts_notices),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
