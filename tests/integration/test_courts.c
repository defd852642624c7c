/*
 * Two courts in one installation (#16): 豫0381 on the national calendar and 新0102 on a calendar
 * with one local day off (tests/data/courts/local_day_off.yaml), served by one engine and one
 * `caseflow serve` against the real PostgreSQL and Kafka.
 *
 * What it proves: the same filing day gives each court's case the deadline of its own calendar
 * (and replay, on the same calendar, gives the stored state back); an event of a court the
 * installation does not serve, and a filing whose court disagrees with its case number, are
 * dead-lettered with the reason and applied to nothing; each court deals its cases to its own
 * teams; an account sees and works its own court's
 * cases only: a lead of one court gets "not found" for the other court's case, a member of staff
 * for the other court's task (read or claimed), and the lists, the command center's figures and
 * the report (`caseflow report --court`) hold their own court's alone; an
 * overdue task escalates after three working days of its own court's calendar.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit/kit.h"

static const char *const CASE_A = "(2026)豫0381执501号";      /* court A, national calendar */
static const char *const CASE_B = "(2026)新0102执502号";      /* court B, its local day off */
static const char *const CASE_X = "(2026)豫0307执501号";      /* a court not served */
static const char *const CASE_M = "(2026)豫0381执502号";      /* filed as court B's: refused */
static const char *const CASE_A_LATE = "(2026)豫0381执503号"; /* filed 02-26: overdue */
static const char *const CASE_B_LATE = "(2026)新0102执503号"; /* the same, court B */
static const char *const FILED = "2026-03-02T09:00:00+08:00";

static kit K;
static int port;

/* A session: its cookie and CSRF token. */
typedef struct session {
    char cookie[256], csrf[128];
} session;

static void log_in(const char *name, session *s)
{
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    assert_int_equal(
        kit_login(base, name, NULL, s->cookie, sizeof s->cookie, s->csrf, sizeof s->csrf), 200);
}

/* `method` /api/v1/<path>, where a "%s" in `path` is `arg` escaped as one path segment; returns the
 * status and the answer's JSON (NULL when it is none) in *out. */
static long api(const session *s, const char *method, const char *path, const char *arg,
                const char *body, json_t **out)
{
    CURL *c = curl_easy_init();
    char *escaped = arg ? curl_easy_escape(c, arg, 0) : NULL;
    char tail[512], url[700];
    kit_reply r;
    long status;

    {
        const char *hole = strstr(path, "%s");
        if (hole)
            snprintf(tail, sizeof tail, "%.*s%s%s", (int)(hole - path), path,
                     escaped ? escaped : "", hole + 2);
        else
            snprintf(tail, sizeof tail, "%s", path);
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/%s", port, tail);
    status = kit_http_csrf(method, url, s->cookie, s->csrf, body, &r);
    if (out)
        *out = r.body ? json_loads(r.body, 0, NULL) : NULL;
    print_message("%s %s -> %ld\n", method, tail, status);
    kit_reply_free(&r);
    curl_free(escaped);
    curl_easy_cleanup(c);
    return status;
}

/* Adds an account of court `court` through the administrator's API, as the workplace does. */
static void add_court_user(const session *admin, const char *name, const char *role,
                           const char *post, const char *court)
{
    json_t *body = json_pack("{s:s, s:s, s:s?, s:s, s:s+}", "name", name, "role", role, "post",
                             post, "court", court, "password", "password-of-", name);
    char *text = json_dumps(body, 0);
    json_t *ans = NULL;

    assert_int_equal(api(admin, "POST", "accounts", NULL, text, &ans), 201);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(ans, "account"), "court")), court);
    json_decref(ans);
    json_decref(body);
    free(text);
}

static json_t *filed_as(const char *case_no, const char *id, const char *court)
{
    json_t *ev = kit_filed(case_no, id, FILED);
    json_object_set_new(json_object_get(ev, "data"), "court", json_string(court));
    return ev;
}

static char *deadline_of(const char *case_no)
{
    const char *p[1] = {case_no};
    return kit_wait_value(&K,
                          "select body -> 'data' ->> 'handling_deadline' from cases where "
                          "case_no = $1",
                          1, p, NULL, 60);
}

static char *task_of(const char *case_no, const char *activity)
{
    const char *p[2] = {case_no, activity};
    return kit_wait_value(&K, "select task_id from tasks where case_no = $1 and activity = $2", 2,
                          p, NULL, 60);
}

/* The number of cases in the caller's /api/v1/stats, every workflow and state. */
static long stats_cases(const session *s)
{
    json_t *v = NULL, *states;
    const char *wf, *state;
    json_t *n;
    long total = 0;

    assert_int_equal(api(s, "GET", "stats", NULL, NULL, &v), 200);
    json_object_foreach (json_object_get(v, "cases"), wf, states) {
        json_object_foreach (states, state, n)
            total += (long)json_integer_value(n);
    }
    json_decref(v);
    return total;
}

static void test_two_courts(void **state)
{
    static char config_env[700];
    char config[640], *a, *b, *task_a, *task_b;
    session admin, lead_a, lead_b, staff_a, staff_b;
    json_t *v = NULL;
    FILE *f;
    (void)state;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    kit_init(&K, "courts");
    snprintf(config, sizeof config, "%s/courts.yaml", K.logdir);
    f = fopen(config, "w");
    assert_non_null(f);
    fputs("courts:\n"
          "  - code: 豫0381\n"
          "    name: 河南省洛阳市偃师区人民法院\n"
          "  - code: 新0102\n"
          "    name: 新疆维吾尔自治区乌鲁木齐市天山区人民法院\n"
          "    calendar: tests/data/courts/local_day_off.yaml\n"
          "    teams: [team_1, team_2, team_3]\n",
          f);
    fclose(f);
    snprintf(config_env, sizeof config_env, "CASEFLOW_CONFIG=%s", config);
    {
        const char *const extra[] = {config_env, NULL};
        kit_engine_start(&K, extra);
        kit_serve_start(&K, extra, &port);
    }

    /* One filing day, two courts; a third court and a filing that contradicts its number. */
    kit_send_json(&K, filed_as(CASE_A, "filed-a", "豫0381"));
    kit_send_json(&K, filed_as(CASE_B, "filed-b", "新0102"));
    kit_send_json(&K, filed_as(CASE_X, "filed-x", "豫0307"));
    kit_send_json(&K, filed_as(CASE_M, "filed-m", "新0102"));
    kit_flush(&K);
    assert_int_equal(kit_wait_count(&K,
                                    "select count(*) from dead_letters where event_id = 'filed-x' "
                                    "and reason like '%of court 豫0307, which this installation "
                                    "does not serve (courts: 豫0381, 新0102)%'",
                                    1, 60),
                     1);
    assert_int_equal(kit_wait_count(&K,
                                    "select count(*) from dead_letters where event_id = 'filed-m' "
                                    "and reason like '%its filing names court 新0102%'",
                                    1, 60),
                     1);
    assert_int_equal(kit_wait_count(&K, "select count(*) from cases", 2, 60), 2);
    assert_int_equal(
        kit_count(&K, "select count(*) from cases where case_no in ('(2026)豫0307执501号', "
                      "'(2026)豫0381执502号')"),
        0);

    /* Six months from 2026-03-02 is Wednesday 2026-09-02: a working day at court A, court B's
     * local day off, so B's limit ends the day after. */
    a = deadline_of(CASE_A);
    b = deadline_of(CASE_B);
    assert_string_equal(a, "2026-09-02T23:59:00+08:00");
    assert_string_equal(b, "2026-09-03T23:59:00+08:00");
    free(a);
    free(b);

    /* Accounts: the home court's by the CLI (no --court), the other's by the administrator. */
    assert_int_equal(kit_add_user(&K, "管理员", "admin", NULL), 0);
    assert_int_equal(kit_add_user(&K, "陈局", "lead", NULL), 0);
    assert_int_equal(kit_add_user(&K, "王芳", "staff", "intake"), 0);
    log_in("管理员", &admin);
    add_court_user(&admin, "艾局", "lead", NULL, "新0102");
    add_court_user(&admin, "阿依", "staff", "intake", "新0102");
    assert_int_equal(api(&admin, "POST", "accounts", NULL,
                         "{\"name\": \"某人\", \"role\": \"lead\", \"court\": \"豫0307\", "
                         "\"password\": \"password-of-某人\"}",
                         NULL),
                     422);
    log_in("陈局", &lead_a);
    log_in("艾局", &lead_b);
    log_in("王芳", &staff_a);
    log_in("阿依", &staff_b);

    /* A lead sees the own court's case, and not the other's, by number or in a search. */
    assert_int_equal(api(&lead_a, "GET", "cases/%s", CASE_A, NULL, NULL), 200);
    assert_int_equal(api(&lead_a, "GET", "cases/%s", CASE_B, NULL, NULL), 404);
    assert_int_equal(api(&lead_a, "GET", "cases/%s/timeline", CASE_B, NULL, NULL), 404);
    assert_int_equal(api(&lead_b, "GET", "cases/%s", CASE_A, NULL, NULL), 404);
    assert_int_equal(api(&lead_a, "GET", "cases", NULL, NULL, &v), 200);
    assert_int_equal(json_integer_value(json_object_get(v, "total")), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(v, "cases"), 0), "case")),
        CASE_A);
    json_decref(v);
    assert_int_equal(api(&lead_b, "GET", "cases", NULL, NULL, &v), 200);
    assert_int_equal(json_integer_value(json_object_get(v, "total")), 1);
    json_decref(v);
    /* The command center's figures are the caller's court's: one case each, of two. */
    assert_int_equal(stats_cases(&lead_a), 1);
    assert_int_equal(stats_cases(&lead_b), 1);
    /* So are the report's, over HTTP and by `caseflow report --court`. */
    assert_int_equal(api(&lead_a, "GET", "report", NULL, NULL, &v), 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "cases"), "total")), 1);
    json_decref(v);
    {
        const char *by_court[] = {"report",  "--json", "--config", config,
                                  "--court", "新0102", NULL};
        const char *other[] = {"report", "--json", "--config", config, "--court", "豫0307", NULL};
        char *out = NULL, *err = NULL;
        if (kit_run(&K, by_court, &out, &err) != 0)
            fail_msg("caseflow report --court 新0102: %s", err ? err : "");
        v = json_loads(out, 0, NULL);
        assert_non_null(v);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "cases"), "total")),
                         1);
        json_decref(v);
        free(out);
        free(err);
        assert_int_equal(kit_run(&K, other, NULL, &err), 2);
        assert_non_null(strstr(err, "not a court this installation serves"));
        free(err);
    }

    /* Replay of court B's case runs on court B's calendar and gives its state back. */
    assert_int_equal(api(&lead_b, "GET", "cases/%s/replay", CASE_B, NULL, &v), 200);
    assert_true(json_is_true(json_object_get(json_object_get(v, "verification"), "ok")));
    json_decref(v);

    /* A lead hands a task of their court to an account of their court only: court B's filing
     * review (version 3: it comes before the intake check) goes to 阿依, who does it; court A's
     * is done by its filing reviewer. */
    task_a = task_of(CASE_B, "filing_review");
    assert_int_equal(api(&lead_b, "POST", "tasks/%s/reassign", task_a,
                         "{\"post\": \"intake\", \"account\": \"王芳\"}", NULL),
                     422);
    assert_int_equal(api(&lead_a, "POST", "tasks/%s/reassign", task_a,
                         "{\"post\": \"intake\", \"account\": \"王芳\"}", NULL),
                     404);
    assert_int_equal(api(&lead_b, "POST", "tasks/%s/reassign", task_a,
                         "{\"post\": \"intake\", \"account\": \"阿依\"}", NULL),
                     200);
    assert_int_equal(api(&staff_b, "POST", "tasks/%s/complete", task_a,
                         "{\"result\": {\"enforceable\": true, \"parties_ok\": true}}", NULL),
                     200);
    free(task_a);
    kit_review(&K, CASE_A, FILED);

    /* Staff of one post in two courts: each queue holds its own court's task; the other court's
     * task is not found, to read or to claim. */
    task_a = task_of(CASE_A, "intake_check");
    task_b = task_of(CASE_B, "intake_check");
    assert_int_equal(api(&staff_a, "GET", "posts/intake/tasks", NULL, NULL, &v), 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "counts"), "total")), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(v, "tasks"), 0), "id")),
        task_a);
    json_decref(v);
    assert_int_equal(api(&staff_b, "GET", "posts/intake/tasks", NULL, NULL, &v), 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "counts"), "total")), 1);
    json_decref(v);
    assert_int_equal(api(&staff_a, "GET", "tasks/%s", task_b, NULL, NULL), 404);
    assert_int_equal(api(&staff_a, "POST", "tasks/%s/claim", task_b, "{}", NULL), 404);
    assert_int_equal(api(&staff_b, "POST", "tasks/%s/claim", task_b, "{}", NULL), 200);
    assert_int_equal(api(&staff_a, "POST", "tasks/%s/claim", task_a, "{}", NULL), 200);

    /* Completed by court B's staff, the intake check deals the case to court B's teams: sequence
     * 502 goes to team_1 of its three (of the workflow's six it would be team_4). */
    assert_int_equal(api(&staff_a, "POST", "tasks/%s/complete", task_b,
                         "{\"result\": {\"complete\": true}}", NULL),
                     404);
    assert_int_equal(api(&staff_b, "POST", "tasks/%s/complete", task_b,
                         "{\"result\": {\"complete\": true}}", NULL),
                     200);
    {
        const char *p[1] = {CASE_B};
        char *team =
            kit_wait_value(&K, "select team from cases where case_no = $1", 1, p, "team_1", 60);
        assert_string_equal(team, "team_1");
        free(team);
    }
    free(task_a);
    free(task_b);

    /* Overdue escalation counts its court's working days.  Filing reviews due Thursday 02-26,
     * by the clock's Monday 03-02: court A counts back 02-28 (调休), 02-27, 02-26, three working
     * days, and moves its task to the bureau lead; court B's 02-27 is its local day off, two
     * working days, and its task stays.  Court B's task is there before court A's case is sent,
     * so the run that moves A's has seen B's. */
    {
        json_t *ev = filed_as(CASE_B_LATE, "filed-b-late", "新0102");
        json_object_set_new(json_object_get(ev, "data"), "filed_at",
                            json_string("2026-02-26T09:00:00+08:00"));
        kit_send_json(&K, ev);
        kit_flush(&K);
        free(task_of(CASE_B_LATE, "filing_review"));
        ev = filed_as(CASE_A_LATE, "filed-a-late", "豫0381");
        json_object_set_new(json_object_get(ev, "data"), "filed_at",
                            json_string("2026-02-26T09:00:00+08:00"));
        kit_send_json(&K, ev);
        kit_flush(&K);
    }
    {
        const char *p[1] = {CASE_A_LATE};
        char *post = kit_wait_value(
            &K, "select post from tasks where case_no = $1 and activity = 'filing_review'", 1, p,
            "bureau_lead", 60);
        assert_string_equal(post, "bureau_lead");
        free(post);
        p[0] = CASE_B_LATE;
        post = kit_value(
            &K, "select post from tasks where case_no = $1 and activity = 'filing_review'", 1, p);
        assert_non_null(post);
        assert_string_equal(post, "filing_review");
        free(post);
    }
    kit_done(&K);
    curl_global_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_two_courts)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
