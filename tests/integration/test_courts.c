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
 * overdue task escalates after three working days of its own court's calendar.  And (#16, the
 * rest): notices are their court's (a refusal to staff of one post in two courts, a lead's list,
 * another court's notice not found), a post's change stream wakes its own court's followers only,
 * a court's forms offer its own teams, a voluntary payment is matched among its own court's cases,
 * each court's weekly overdue lists hold its own tasks, and each court's batched kinds go by its
 * own calendar.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit/kit.h"

static const char *const CASE_A = "(2026)豫0381执501号";        /* court A, national calendar */
static const char *const CASE_B = "(2026)新0102执502号";        /* court B, its local day off */
static const char *const CASE_X = "(2026)豫0307执501号";        /* a court not served */
static const char *const CASE_M = "(2026)豫0381执502号";        /* filed as court B's: refused */
static const char *const CASE_A_LATE = "(2026)豫0381执503号";   /* filed 02-26: overdue */
static const char *const CASE_B_LATE = "(2026)新0102执503号";   /* the same, court B */
static const char *const CASE_B_STREAM = "(2026)新0102执504号"; /* filed while streams listen */
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

/* The one value `sql` with parameter `arg` answers now (freed here); "" for none. */
static void expect_db(const char *sql, const char *arg, const char *want)
{
    const char *p[1] = {arg};
    char *v = kit_value(&K, sql, arg ? 1 : 0, arg ? p : NULL), got[512];
    snprintf(got, sizeof got, "%s", v ? v : "nothing");
    free(v);
    if (strcmp(got, want) != 0)
        fail_msg("%s (%s): want %s, got %s", sql, arg ? arg : "", want, got);
}

/* Team 4 closes a case it does not handle: the workflow refuses it, and the sender's post gets a
 * notice (engine.c, refusal_notice). */
static json_t *foreign_close(const char *case_no, const char *id, const char *account)
{
    char source[128];
    snprintf(source, sizeof source, "staff:team_4:%s", account);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "id", id, "type", "case.decided",
                     "case", case_no, "time", FILED, "source", source, "data", "decision", "close",
                     "close_method", "执行完毕");
}

/* The id of the only notice in the caller's GET /api/v1/notices (`query` after the ?), checking
 * it is of `case_no`. */
static long long only_notice(const session *s, const char *query, const char *case_no)
{
    char path[128];
    json_t *v = NULL, *n;
    long long id;

    snprintf(path, sizeof path, "notices%s%s", query ? "?" : "", query ? query : "");
    assert_int_equal(api(s, "GET", path, NULL, NULL, &v), 200);
    assert_int_equal(json_integer_value(json_object_get(v, "total")), 1);
    n = json_array_get(json_object_get(v, "notices"), 0);
    assert_string_equal(json_string_value(json_object_get(n, "case")), case_no);
    id = json_integer_value(json_object_get(n, "id"));
    json_decref(v);
    return id;
}

/* Notices are their court's: a refusal carries its case's court, and staff, leads and auditors
 * see and mark read their own court's only. */
static void notices_per_court(const session *admin, const session *lead_a, const session *lead_b)
{
    session four_a, four_b;
    char path[64];
    long long id_a, id_b;

    assert_int_equal(kit_add_user(&K, "李肆", "staff", "team_4"), 0);
    add_court_user(admin, "买买提", "staff", "team_4", "新0102");
    log_in("李肆", &four_a);
    log_in("买买提", &four_b);
    kit_send_json(&K, foreign_close(CASE_A, "refuse-a", "李肆"));
    kit_send_json(&K, foreign_close(CASE_B, "refuse-b", "买买提"));
    kit_flush(&K);
    assert_int_equal(
        kit_wait_count(&K, "select count(*) from notices where kind = 'refusal'", 2, 60), 2);
    expect_db("select court from notices where key = $1", "refusal:refuse-a", "豫0381");
    expect_db("select court from notices where key = $1", "refusal:refuse-b", "新0102");
    /* One post, two courts: each member of staff sees their court's notice. */
    id_a = only_notice(&four_a, NULL, CASE_A);
    id_b = only_notice(&four_b, NULL, CASE_B);
    /* A lead's notices are their court's, every post's or one post's. */
    assert_int_equal(only_notice(lead_a, "post=team_4", CASE_A), id_a);
    assert_int_equal(only_notice(lead_b, "post=team_4", CASE_B), id_b);
    /* Another court's notice is not found, to staff of the same post and to the lead. */
    snprintf(path, sizeof path, "notices/%lld/read", id_b);
    assert_int_equal(api(&four_a, "POST", path, NULL, "{}", NULL), 404);
    assert_int_equal(api(lead_a, "POST", path, NULL, "{}", NULL), 404);
    assert_int_equal(api(&four_b, "POST", path, NULL, "{}", NULL), 200);
    expect_db("select read_by from notices where key = $1", "refusal:refuse-b", "买买提");
}

/* The total of the intake queue as `who` sees it. */
static long long intake_total(const session *who)
{
    json_t *v = NULL;
    long long n;

    assert_int_equal(api(who, "GET", "posts/intake/tasks", NULL, NULL, &v), 200);
    n = json_integer_value(json_object_get(json_object_get(v, "counts"), "total"));
    json_decref(v);
    return n;
}

/* A court's queue goes by the task's court column (schemas/sql/016_tasks_court.sql), which the
 * engine wrote from the case's number; a task whose court is NULL (made before 016 of a case whose
 * number names no court) is the home court's (court A's), in its queue and not in court B's. */
static void queue_by_court_column(const session *staff_a, const session *staff_b,
                                  const char *task_a, const char *task_b)
{
    const char *p[1] = {task_a};
    char *court = kit_value(&K, "select court from tasks where task_id = $1", 1, p);

    assert_string_equal(court, "豫0381");
    free(court);
    p[0] = task_b;
    court = kit_value(&K, "select court from tasks where task_id = $1", 1, p);
    assert_string_equal(court, "新0102");
    free(court);
    p[0] = task_a;
    free(kit_value(&K, "update tasks set court = null where task_id = $1 returning task_id", 1, p));
    assert_int_equal(intake_total(staff_a), 1);
    assert_int_equal(intake_total(staff_b), 1);
    p[0] = task_b;
    free(kit_value(&K, "update tasks set court = null where task_id = $1 returning task_id", 1, p));
    assert_int_equal(intake_total(staff_a), 2);
    assert_int_equal(intake_total(staff_b), 0);
    free(kit_value(&K, "update tasks set court = '新0102' where task_id = $1 returning task_id", 1,
                   p));
    p[0] = task_a;
    free(kit_value(&K, "update tasks set court = '豫0381' where task_id = $1 returning task_id", 1,
                   p));
}

/* One stream of the queue of `post`, followed for `seconds` (a thread's work). */
typedef struct follow {
    const session *s;
    const char *post;
    int seconds;
    char *body; /* what the stream said */
} follow;

static void *follow_main(void *arg)
{
    follow *f = arg;
    char url[256];
    const kit_req q = {.method = "GET", .url = url, .cookie = f->s->cookie, .timeout = f->seconds};
    kit_reply r;

    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/posts/%s/stream", port, f->post);
    kit_request(&q, &r); /* ends by the timeout: a stream does not end by itself */
    f->body = r.body ? strdup(r.body) : NULL;
    kit_reply_free(&r);
    return NULL;
}

/* A post's change stream is its court's: a new filing of court B changes court B's filing review
 * queue, whose lead's stream says so, and not court A's, whose lead's stream stays silent. */
static void stream_per_court(const session *lead_a, const session *lead_b)
{
    follow fa = {lead_a, "filing_review", 8, NULL}, fb = {lead_b, "filing_review", 8, NULL};
    pthread_t ta, tb;

    assert_int_equal(pthread_create(&ta, NULL, follow_main, &fa), 0);
    assert_int_equal(pthread_create(&tb, NULL, follow_main, &fb), 0);
    kit_sleep_ms(1500); /* both streams have said hello: they wait for a change */
    kit_send_json(&K, filed_as(CASE_B_STREAM, "filed-b-stream", "新0102"));
    kit_flush(&K);
    free(task_of(CASE_B_STREAM, "filing_review"));
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_non_null(fa.body);
    assert_non_null(fb.body);
    print_message("court A's stream:\n%s\ncourt B's stream:\n%s\n", fa.body, fb.body);
    assert_non_null(strstr(fb.body, "event: queue"));
    assert_null(strstr(fa.body, "event: queue"));
    free(fa.body);
    free(fb.body);
}

/* A court's forms offer its own teams: court B (three teams) asks its bureau lead to name the
 * handler of a complex case (handler_decision), whose post field offers team_1..3 and the
 * terminate handler, not the workflow's six teams, and a fifth team is refused. */
static void teams_per_court(const session *admin)
{
    static const struct {
        const char *post;
        long status;
    } tries[] = {{"team_5", 422}, {"team_2", 200}};
    session lead_post;
    json_t *v = NULL, *choices, *c;
    char *task, values[256] = "";
    size_t i, used = 0;

    add_court_user(admin, "艾力", "staff", "bureau_lead", "新0102");
    log_in("艾力", &lead_post);
    kit_complete(&K, CASE_B_STREAM, "intake_check", "intake", "阿依", FILED,
                 json_pack("{s:b, s:s}", "complete", 1, "special", "complex"));
    task = task_of(CASE_B_STREAM, "handler_decision");
    assert_int_equal(api(&lead_post, "GET", "tasks/%s/form", task, NULL, &v), 200);
    choices = json_object_get(
        json_array_get(json_object_get(json_object_get(v, "form"), "fields"), 0), "choices");
    json_array_foreach (choices, i, c)
        used +=
            (size_t)snprintf(values + used, used < sizeof values ? sizeof values - used : 0, "%s%s",
                             i ? "," : "", json_string_value(json_object_get(c, "value")));
    assert_string_equal(values, "team_1,team_2,team_3,terminate_handler");
    json_decref(v);
    assert_int_equal(api(&lead_post, "POST", "tasks/%s/claim", task, "{}", NULL), 200);
    /* A team of the workflow's six that court B does not have, then one it has. */
    for (i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        char body[96];
        snprintf(body, sizeof body, "{\"result\": {\"post\": \"%s\"}}", tries[i].post);
        assert_int_equal(api(&lead_post, "POST", "tasks/%s/complete", task, body, NULL),
                         tries[i].status);
    }
    free(task);
}

/* A voluntary payment received at key `key` into court `court`'s account (NULL: the home
 * court's), its remark naming sequence 502 of 2026 without a court. */
static void pay(const char *key, const char *court)
{
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:i, s:s, s:s, s:s}}", "id", key,
                           "type", "payment.received", "case", key, "time", FILED, "source", "bank",
                           "data", "payment_id", key, "amount", 100, "paid_at", FILED, "payer_name",
                           "李四", "remark", "2026执502号还款");
    if (court)
        json_object_set_new(json_object_get(ev, "data"), "court", json_string(court));
    kit_send_json(&K, ev);
}

/* A payment is matched within its court: the remark's number without a court is read as the
 * payment's court's, and only that court's cases are candidates. */
static void payments_per_court(const char *config_env)
{
    const char *const extra[] = {config_env, NULL};
    const char *candidates = "select string_agg(c ->> 'case_no', ',' order by c ->> 'case_no') "
                             "from cases, jsonb_array_elements(body -> 'data' -> 'candidates') "
                             "c where case_no = $1";
    char *v;

    kit_worker_start(&K, "payments", extra);
    pay("PAY-XJ-000001", "新0102");
    pay("PAY-HA-000001", NULL);
    kit_flush(&K);
    v = kit_wait_value(&K, "select state from cases where case_no = $1", 1,
                       (const char *[]){"PAY-HA-000001"}, "clearing", 60);
    assert_string_equal(v, "clearing");
    free(v);
    v = kit_wait_value(&K, "select state from cases where case_no = $1", 1,
                       (const char *[]){"PAY-XJ-000001"}, "clearing", 60);
    assert_string_equal(v, "clearing");
    free(v);
    /* Court B's payment: its case 502 first (the number read as court B's, 60, and the payer, 30:
     * read as the home court's it would be no number of court B's at all), then 503 and 504 (one
     * typo). */
    expect_db(candidates, "PAY-XJ-000001",
              "(2026)新0102执502号,(2026)新0102执503号,(2026)新0102执504号");
    expect_db("select body -> 'data' -> 'candidates' -> 0 ->> 'confidence' from cases where "
              "case_no = $1",
              "PAY-XJ-000001", "90");
    /* The home court's: its own cases, one typo from 502; court B's 502 is none of them. */
    expect_db(candidates, "PAY-HA-000001", "(2026)豫0381执501号,(2026)豫0381执503号");
}

/* Each court's weekly overdue lists: its own tasks, to its own lead, on its own Monday. */
static void lists_per_court(void)
{
    /* The tasks on list $1 whose case is not of $2's court. */
    const char *foreign = "select count(*)::text from notices n, jsonb_array_elements(n.body -> "
                          "'tasks') t where n.key = $1 and t ->> 'case' not like '(2026)' || $2 "
                          "|| '%'";
    const char *on_list = "select count(*) from notices n, jsonb_array_elements(n.body -> "
                          "'tasks') t where n.key = $1 and t ->> 'case' = $2";
    char *v;

    /* The week of 03-02 went out at the engine's start, one list for each court's lead. */
    expect_db("select court from notices where key = $1", "overdue:2026-03-02:bureau_lead",
              "豫0381");
    expect_db("select court from notices where key = $1", "overdue:新0102:2026-03-02:bureau_lead",
              "新0102");
    kit_advance(&K, NULL, "2026-03-09T09:00:00+08:00");
    assert_int_equal(kit_wait_count(&K,
                                    "select count(*) from notices where key in "
                                    "('overdue:2026-03-09:bureau_lead', "
                                    "'overdue:新0102:2026-03-09:bureau_lead')",
                                    2, 60),
                     2);
    /* Court A's lead list holds its escalated filing review, court B's its own that stayed, and
     * neither the other court's tasks. */
    v = kit_value(&K, foreign, 2, (const char *[]){"overdue:2026-03-09:bureau_lead", "豫0381"});
    assert_string_equal(v, "0");
    free(v);
    v = kit_value(&K, foreign, 2,
                  (const char *[]){"overdue:新0102:2026-03-09:bureau_lead", "新0102"});
    assert_string_equal(v, "0");
    free(v);
    v = kit_value(&K, on_list, 2, (const char *[]){"overdue:2026-03-09:bureau_lead", CASE_A_LATE});
    assert_string_equal(v, "1");
    free(v);
    v = kit_value(&K, on_list, 2,
                  (const char *[]){"overdue:新0102:2026-03-09:bureau_lead", CASE_B_LATE});
    assert_string_equal(v, "1");
    free(v);
}

/* Each court's batches follow its own calendar: on Tuesday 2026-09-01 after 14:00 the next
 * service trip and registry visit of court A are on Wednesday 09-02, court B's local day off,
 * whose trips wait for Thursday 09-03. */
static void schedules_per_court(void)
{
    static const struct {
        const char *kind, *court, *next;
    } want[] = {{"service", "", "09-02 14:00"},
                {"service", "新0102", "09-03 14:00"},
                {"six_checks", "", "09-02 09:00"},
                {"six_checks", "新0102", "09-03 09:00"}};

    kit_advance(&K, NULL, "2026-09-01T15:00:00+08:00");
    /* The ticker walks each schedule up to the clock, some occurrences a tick. */
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char *v =
            kit_wait_value(&K,
                           "select to_char(next_at at time zone 'Asia/Shanghai', 'MM-DD "
                           "HH24:MI') from batch_schedule where kind = $1 and court = $2",
                           2, (const char *[]){want[i].kind, want[i].court}, want[i].next, 60);
        print_message("%s at court '%s': next %s\n", want[i].kind, want[i].court, v ? v : "-");
        assert_non_null(v);
        assert_string_equal(v, want[i].next);
        free(v);
    }
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
    queue_by_court_column(&staff_a, &staff_b, task_a, task_b);
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
    notices_per_court(&admin, &lead_a, &lead_b);
    stream_per_court(&lead_a, &lead_b);
    teams_per_court(&admin);
    payments_per_court(config_env);
    lists_per_court();
    schedules_per_court();
    kit_done(&K);
    curl_global_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_two_courts)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
