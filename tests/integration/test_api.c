/*
 * The workplace API end to end: `caseflow serve` against the real PostgreSQL and Kafka, with an
 * engine applying what it sends.  Accounts are made with `caseflow users` and `caseflow tokens`
 * as an administrator would; every request goes over HTTP with libcurl.
 *
 * What it proves: every role against every route (allowed or refused, and a member of staff of
 * one post guessing another post's task and case ids gets "not found"); staff work their queue
 * (claim, complete, return) with the events attributed to their account and results checked
 * against the workflow; exactly one of two people claiming a task at once wins; a lead
 * reassigns; personal data is masked for auditors; hostile input gets a clear 4xx and the server
 * keeps serving; sessions end by logout and by idling, CSRF is required, failed logins lock a
 * name, a disabled account and a revoked token are shut out; HTTP ingest lands events the engine
 * applies, refuses forged task results, and answers a repeat as a duplicate; staff make the
 * decisions their post may make on a case (the handler team closes, finance confirms a payout),
 * in their own name, once per Idempotency-Key, and a decision another post may not make, or one
 * the state or the form does not allow, is refused before anything is sent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit/kit.h"

static const char *const CASE_A = "(2026)豫0381执301号"; /* completed by wang: to team_1 */
static const char *const CASE_B = "(2026)豫0381执302号"; /* stays in intake */
static const char *const CASE_C = "(2026)豫0381执303号"; /* special: the bureau lead decides */
static const char *const CASE_D = "(2026)豫0381执304号"; /* reassigned by the lead */
static const char *const CASE_E = "(2026)豫0381执305号"; /* returned by zhou */
static const char *const CASE_F = "(2026)豫0381执306号"; /* money paid in: finance confirms */

/* ---- HTTP ----------------------------------------------------------------------------------- */

/* Who sends a request: a session (cookie and CSRF token), a bearer token, or nobody. */
typedef struct who {
    char session[256], csrf[128], token[128];
} who;

typedef struct reply {
    long status;
    char *body;
    size_t len;
    json_t *json;
    char cookie[256];
    char retry_after[16];
} reply;

static void reply_free(reply *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

static char base[64];

/*
 * Sends `method path` (`path` already escaped) as `w`, with `body` of `ctype` (NULL: none), and
 * fills `r` (JSON parsed when it is).  `extra` is one more header or NULL.  Returns the status.
 */
static long http_ex(const who *w, const char *method, const char *path, const char *ctype,
                    const char *body, size_t len, const char *extra, reply *r)
{
    char url[4096];
    const char *const headers[] = {extra, NULL};
    kit_req q = {
        .method = method, .url = url, .ctype = ctype, .body = body, .len = len, .headers = headers};
    kit_reply k;

    if (w) {
        q.cookie = w->session;
        q.csrf = w->csrf;
        q.bearer = w->token;
    }
    snprintf(url, sizeof url, "%s%s", base, path);
    memset(r, 0, sizeof *r);
    r->status = kit_request(&q, &k);
    r->body = kit_reply_body(&k, &r->len);
    snprintf(r->cookie, sizeof r->cookie, "%s", k.cookie);
    kit_reply_header(&k, "Retry-After", r->retry_after, sizeof r->retry_after);
    kit_reply_free(&k);
    if (r->body)
        r->json = json_loads(r->body, 0, NULL);
    return r->status;
}

static long http(const who *w, const char *method, const char *path, const char *body, reply *r)
{
    return http_ex(w, method, path, body ? "application/json" : NULL, body, body ? strlen(body) : 0,
                   NULL, r);
}

/* The status of `method path` as `w`, with the reply dropped. */
static long status_of(const who *w, const char *method, const char *path, const char *body)
{
    reply r;
    long s = http(w, method, path, body, &r);
    if (s >= 400 && r.body)
        fprintf(stderr, "  %s %s -> %ld %s\n", method, path, s, r.body);
    reply_free(&r);
    return s;
}

/* `path` with `text` escaped into its %s. */
static char *pathf(const char *fmt, const char *text)
{
    CURL *c = curl_easy_init();
    char *e = curl_easy_escape(c, text, 0);
    const char *at = strstr(fmt, "%s");
    size_t head = (size_t)(at - fmt);
    char *out = malloc(strlen(fmt) + strlen(e) + 1);
    memcpy(out, fmt, head);
    strcpy(out + head, e);
    strcat(out, at + 2);
    curl_free(e);
    curl_easy_cleanup(c);
    return out;
}

static const char *str(const json_t *v, const char *key)
{
    return json_string_value(json_object_get(v, key));
}

/* ---- the stack, the accounts and the cases ----------------------------------------------------
 */

static kit K;
static pid_t engine, server, server_b;
static int port_a, port_b;
static who wang, zhou, li, ju, boss, audit, root, filing, anon;
static char *task_a, *task_b, *task_c, *task_d, *task_e;

static void use_server(int port)
{
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
}

static void make_token(const char *name, who *w, char *id, size_t idsz)
{
    long long n;

    memset(w, 0, sizeof *w);
    n = kit_add_token(&K, name, w->token, sizeof w->token);
    assert_true(strncmp(w->token, "cft_", 4) == 0);
    if (id)
        snprintf(id, idsz, "%lld", n);
}

/* Logs `name` in on the current server; returns the status and fills `w` on success. */
static long login_as(const char *name, const char *password, who *w)
{
    char body[256], pw[128];
    reply r;
    long s;

    snprintf(pw, sizeof pw, "password-of-%s", name);
    snprintf(body, sizeof body, "{\"name\": \"%s\", \"password\": \"%s\"}", name,
             password ? password : pw);
    s = http(NULL, "POST", "/api/v1/login", body, &r);
    if (s == 200) {
        memset(w, 0, sizeof *w);
        snprintf(w->session, sizeof w->session, "%s", r.cookie);
        snprintf(w->csrf, sizeof w->csrf, "%s", str(r.json, "csrf"));
        assert_true(strlen(w->session) >= 43);
    }
    reply_free(&r);
    return s;
}

static char *task_of(const char *case_no, const char *activity)
{
    char *id = kit_wait_value(&K, "select task_id from tasks where case_no = $1 and activity = $2",
                              2, (const char *[]){case_no, activity}, NULL, 60);
    assert_non_null(id);
    return id;
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    kit_init(&K, "api");
    engine = kit_engine_start(&K, NULL);
    /* The engine migrates the database at start; accounts need migration 3. */
    kit_wait_migrated(&K);
    assert_int_equal(kit_add_user(&K, "wang", "staff", "intake"), 0);
    assert_int_equal(kit_add_user(&K, "zhou", "staff", "intake"), 0);
    assert_int_equal(kit_add_user(&K, "li", "staff", "team_1"), 0);
    assert_int_equal(kit_add_user(&K, "ju", "staff", "bureau_lead"), 0);
    assert_int_equal(kit_add_user(&K, "boss", "lead", NULL), 0);
    assert_int_equal(kit_add_user(&K, "audit", "auditor", NULL), 0);
    assert_int_equal(kit_add_user(&K, "root", "admin", NULL), 0);
    assert_int_equal(kit_add_user(&K, "xu", "staff", "team_1"), 0);
    assert_int_equal(kit_add_user(&K, "qian", "staff", "team_2"), 0);
    assert_int_equal(kit_add_user(&K, "cai", "staff", "finance"), 0);
    make_token("filing", &filing, NULL, 0);
    {
        /* Server A reads the lag of the kit's engines' consumer group for /metrics. */
        static char group[160];
        static const char *with_group[] = {group, NULL};
        snprintf(group, sizeof group, "CASEFLOW_GROUP=%s", K.group);
        server = kit_serve_start(&K, with_group, &port_a);
    }
    {
        const char *const quick[] = {"CASEFLOW_SESSION_IDLE=2", "CASEFLOW_LOCK_AFTER=3",
                                     "CASEFLOW_LOCK_SECONDS=60", NULL};
        server_b = kit_serve_start(&K, quick, &port_b);
    }
    kit_send_json(&K, kit_filed(CASE_A, "api-a-1", "2026-03-02T09:00:00+08:00"));
    kit_send_json(&K, kit_filed(CASE_B, "api-b-1", "2026-03-02T09:01:00+08:00"));
    kit_send_json(&K, kit_filed(CASE_C, "api-c-1", "2026-03-02T09:02:00+08:00"));
    kit_send_json(&K, kit_filed(CASE_D, "api-d-1", "2026-03-02T09:03:00+08:00"));
    kit_send_json(&K, kit_filed(CASE_E, "api-e-1", "2026-03-02T09:04:00+08:00"));
    {
        /* Case F has the applicant's account, so that money paid in can be paid out. */
        json_t *f = kit_filed(CASE_F, "api-f-1", "2026-03-02T09:05:00+08:00");
        json_object_set_new(json_object_get(f, "data"), "payee_account",
                            json_pack("{s:s, s:s, s:s}", "name", "张三", "bank",
                                      "中国工商银行偃师支行", "account", "6222020000001234567"));
        kit_send_json(&K, f);
    }
    kit_flush(&K);
    /* The filing reviewer's review comes first (version 3), then the intake check. */
    kit_review(&K, CASE_A, "2026-03-02T09:00:00+08:00");
    kit_review(&K, CASE_B, "2026-03-02T09:01:00+08:00");
    kit_review(&K, CASE_C, "2026-03-02T09:02:00+08:00");
    kit_review(&K, CASE_D, "2026-03-02T09:03:00+08:00");
    kit_review(&K, CASE_E, "2026-03-02T09:04:00+08:00");
    kit_review(&K, CASE_F, "2026-03-02T09:05:00+08:00");
    task_a = task_of(CASE_A, "intake_check");
    task_b = task_of(CASE_B, "intake_check");
    task_c = task_of(CASE_C, "intake_check");
    task_d = task_of(CASE_D, "intake_check");
    task_e = task_of(CASE_E, "intake_check");
    use_server(port_a);
    assert_int_equal(login_as("wang", NULL, &wang), 200);
    assert_int_equal(login_as("zhou", NULL, &zhou), 200);
    assert_int_equal(login_as("li", NULL, &li), 200);
    assert_int_equal(login_as("ju", NULL, &ju), 200);
    assert_int_equal(login_as("boss", NULL, &boss), 200);
    assert_int_equal(login_as("audit", NULL, &audit), 200);
    assert_int_equal(login_as("root", NULL, &root), 200);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    /* A graceful stop: each server answers what it has and exits 0. */
    assert_int_equal(kit_engine_stop(&K, server, SIGTERM), 0);
    assert_int_equal(kit_engine_stop(&K, server_b, SIGTERM), 0);
    kit_engine_stop(&K, engine, SIGTERM);
    free(task_a);
    free(task_b);
    free(task_c);
    free(task_d);
    free(task_e);
    kit_done(&K);
    curl_global_cleanup();
    return 0;
}

/* ---- every role against every route ---------------------------------------------------------- */

static void test_authorization_matrix(void **state)
{
    (void)state;
    /* Who may use what: s staff (of the post that holds the task and the case), l lead,
     * a auditor, d admin, i ingest, p public.  Requests that pass are shaped to change nothing
     * (an unknown task, an empty batch): what matters is that they are not refused. */
    char *tb = pathf("/api/v1/tasks/%s", task_b), *cb = pathf("/api/v1/cases/%s", CASE_B);
    char cb_tasks[512], cb_timers[512], cb_timeline[512], cb_replay[512], cb_decisions[512];
    struct {
        const char *method, *path, *body, *who;
    } rows[] = {
        {"GET", "/api/v1/me", NULL, "sladi"},
        {"GET", "/api/v1/posts/intake/tasks", NULL, "sla"},
        {"GET", tb, NULL, "sla"},
        {"POST", "/api/v1/tasks/t-none/claim", "{}", "s"},
        {"POST", "/api/v1/tasks/t-none/complete", "{\"result\": {}}", "s"},
        {"POST", "/api/v1/tasks/t-none/return", "{\"reason\": \"x\"}", "s"},
        {"POST", "/api/v1/tasks/t-none/reassign", "{\"post\": \"team_2\"}", "l"},
        {"GET", "/api/v1/cases", NULL, "sla"},
        {"GET", cb, NULL, "sla"},
        {"GET", cb_tasks, NULL, "sla"},
        {"GET", cb_timers, NULL, "sla"},
        {"GET", cb_timeline, NULL, "sla"},
        {"GET", cb_replay, NULL, "la"},
        {"GET", cb_decisions, NULL, "s"},
        {"POST", cb_decisions, "{\"decision\": \"none\"}", "s"},
        {"GET", "/api/v1/stats", NULL, "la"},
        {"GET", "/api/v1/report?since=2026-03-01", NULL, "la"},
        {"POST", "/api/v1/events", "[]", "i"},
        {"GET", "/api/v1/openapi.json", NULL, "p"},
        {"GET", "/metrics", NULL, "p"},
        {"GET", "/healthz", NULL, "p"},
        {"GET", "/readyz", NULL, "p"},
    };
    struct {
        char letter;
        const who *w;
        const char *name;
    } roles[] = {{'s', &wang, "staff"}, {'l', &boss, "lead"},     {'a', &audit, "auditor"},
                 {'d', &root, "admin"}, {'i', &filing, "ingest"}, {0, &anon, "nobody"}};
    int wrong = 0;

    use_server(port_a);
    snprintf(cb_tasks, sizeof cb_tasks, "%s/tasks", cb);
    snprintf(cb_timers, sizeof cb_timers, "%s/timers", cb);
    snprintf(cb_timeline, sizeof cb_timeline, "%s/timeline", cb);
    snprintf(cb_replay, sizeof cb_replay, "%s/replay", cb);
    snprintf(cb_decisions, sizeof cb_decisions, "%s/decisions", cb);
    /* Every route of the table but login and logout (tested with sessions below). */
    assert_int_equal(sizeof rows / sizeof rows[0], 22);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        for (size_t k = 0; k < sizeof roles / sizeof roles[0]; k++) {
            int public = strchr(rows[i].who, 'p') != NULL;
            int allowed = public || (roles[k].letter && strchr(rows[i].who, roles[k].letter));
            long want = allowed ? 0 : roles[k].letter ? 403 : 401;
            long got = status_of(roles[k].w, rows[i].method, rows[i].path, rows[i].body);
            if ((allowed && (got == 401 || got == 403 || got < 0 || got >= 500)) ||
                (!allowed && got != want)) {
                fprintf(stderr, "%s %s as %s: got %ld, want %s\n", rows[i].method, rows[i].path,
                        roles[k].name, got,
                        allowed       ? "not refused"
                        : want == 401 ? "401"
                                      : "403");
                wrong++;
            }
        }
    assert_int_equal(wrong, 0);
    free(tb);
    free(cb);
}

static void test_other_post_guesses_ids(void **state)
{
    (void)state;
    char *tb = pathf("/api/v1/tasks/%s", task_b), *cb = pathf("/api/v1/cases/%s", CASE_B);
    char p[512];

    use_server(port_a);
    /* li works team_1: the intake post's task and case are not there for them. */
    assert_int_equal(status_of(&li, "GET", tb, NULL), 404);
    snprintf(p, sizeof p, "%s/claim", tb);
    assert_int_equal(status_of(&li, "POST", p, "{}"), 404);
    snprintf(p, sizeof p, "%s/complete", tb);
    assert_int_equal(status_of(&li, "POST", p, "{\"result\": {\"complete\": true}}"), 404);
    snprintf(p, sizeof p, "%s/return", tb);
    assert_int_equal(status_of(&li, "POST", p, "{\"reason\": \"mine now\"}"), 404);
    assert_int_equal(status_of(&li, "GET", cb, NULL), 404);
    snprintf(p, sizeof p, "%s/timeline", cb);
    assert_int_equal(status_of(&li, "GET", p, NULL), 404);
    snprintf(p, sizeof p, "%s/tasks", cb);
    assert_int_equal(status_of(&li, "GET", p, NULL), 404);
    assert_int_equal(status_of(&li, "GET", "/api/v1/posts/intake/tasks", NULL), 403);
    {
        /* Searching finds nothing of another post's cases either. */
        reply r;
        char *q = pathf("/api/v1/cases?q=%s", "张三");
        assert_int_equal(http(&li, "GET", q, NULL, &r), 200);
        assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 0);
        reply_free(&r);
        free(q);
    }
    /* Nothing changed hands. */
    {
        char *v = kit_value(&K, "select status from tasks where task_id = $1", 1,
                            (const char *[]){task_b});
        assert_string_equal(v, "open");
        free(v);
    }
    free(tb);
    free(cb);
}

/* ---- the queue ------------------------------------------------------------------------------ */

static void test_claim_complete_return(void **state)
{
    (void)state;
    char *ta = pathf("/api/v1/tasks/%s/claim", task_a), *v;
    char p[512];
    reply r;
    json_t *t;
    size_t i;
    int seen = 0;

    use_server(port_a);
    assert_int_equal(http(&wang, "GET", "/api/v1/posts/intake/tasks?limit=2", NULL, &r), 200);
    assert_true(json_integer_value(json_object_get(json_object_get(r.json, "counts"), "total")) >=
                5);
    assert_int_equal(json_array_size(json_object_get(r.json, "tasks")), 2);
    assert_string_equal(str(r.json, "clock"), "simulated");
    reply_free(&r);
    assert_int_equal(http(&wang, "GET", "/api/v1/posts/intake/tasks?q=301", NULL, &r), 200);
    json_array_foreach (json_object_get(r.json, "tasks"), i, t) {
        seen += strcmp(str(t, "id"), task_a) == 0;
    }
    assert_int_equal(seen, 1);
    reply_free(&r);

    assert_int_equal(http(&wang, "POST", ta, "{}", &r), 200);
    assert_string_equal(str(json_object_get(r.json, "task"), "claimed_by"), "wang");
    reply_free(&r);
    assert_int_equal(http(&zhou, "POST", ta, "{}", &r), 409);
    assert_string_equal(str(r.json, "claimed_by"), "wang");
    reply_free(&r);
    free(ta);

    /* Completing: the result goes through the workflow, the event names wang's account. */
    snprintf(p, sizeof p, "/api/v1/tasks/%s/complete", task_a);
    assert_int_equal(http(&zhou, "POST", p, "{\"result\": {\"complete\": true}}", &r), 409);
    reply_free(&r);
    assert_int_equal(http(&wang, "POST", p, "{\"result\": [true]}", &r), 422);
    assert_string_equal(str(r.json, "field"), "/result");
    reply_free(&r);
    assert_int_equal(http(&wang, "POST", p, "{\"result\": {\"complete\": true}}", &r), 200);
    assert_string_equal(str(r.json, "status"), "applied");
    assert_string_equal(str(r.json, "to"), "notices");
    reply_free(&r);
    v = kit_value(&K, "select source from events where event_id = $1 || ':done'", 1,
                  (const char *[]){task_a});
    assert_string_equal(v, "staff:intake:wang");
    free(v);
    assert_int_equal(http(&wang, "POST", p, "{\"result\": {\"complete\": true}}", &r), 409);
    reply_free(&r);

    /* Returning: zhou sends case E's check back, claimed and returned in one go. */
    snprintf(p, sizeof p, "/api/v1/tasks/%s/return", task_e);
    assert_int_equal(http(&zhou, "POST", p, "{\"reason\": \"\"}", &r), 422);
    assert_string_equal(str(r.json, "field"), "/reason");
    reply_free(&r);
    assert_int_equal(http(&zhou, "POST", p, "{\"reason\": \"立案材料缺失\"}", &r), 200);
    reply_free(&r);
    v = kit_wait_value(&K, "select status from tasks where task_id = $1", 1,
                       (const char *[]){task_e}, "returned", 30);
    assert_string_equal(v, "returned");
    free(v);
    v = kit_value(&K, "select source from events where event_id = $1 || ':returned'", 1,
                  (const char *[]){task_e});
    assert_string_equal(v, "staff:intake:zhou");
    free(v);
}

static void test_result_checked_against_workflow(void **state)
{
    (void)state;
    char p[512], *handler;
    reply r;

    use_server(port_a);
    snprintf(p, sizeof p, "/api/v1/tasks/%s/complete", task_c);
    assert_int_equal(
        http(&wang, "POST", p, "{\"result\": {\"complete\": true, \"special\": \"related\"}}", &r),
        200);
    assert_string_equal(str(r.json, "to"), "special_review");
    reply_free(&r);
    handler = task_of(CASE_C, "handler_decision");
    snprintf(p, sizeof p, "/api/v1/tasks/%s/complete", handler);
    /* The bureau lead's decision must name the handler's post: without it the workflow refuses,
     * and nothing is sent. */
    assert_int_equal(http(&ju, "POST", p, "{\"result\": {}}", &r), 422);
    assert_string_equal(str(r.json, "type"), "urn:caseflow:problem:result-refused");
    assert_string_equal(str(r.json, "field"), "/result");
    reply_free(&r);
    assert_int_equal(kit_count(&K, "select count(*) from dead_letters"), 0);
    assert_int_equal(http(&ju, "POST", p, "{\"result\": {\"post\": \"team_2\"}}", &r), 200);
    assert_string_equal(str(r.json, "to"), "notices");
    reply_free(&r);
    free(handler);
}

/* Two people of one post claim one task at the same moment. */
struct racer {
    const who *w;
    const char *path;
    long status;
};

static void *race(void *arg)
{
    struct racer *x = arg;
    reply r;
    x->status = http(x->w, "POST", x->path, "{}", &r);
    reply_free(&r);
    return NULL;
}

static void test_concurrent_claim(void **state)
{
    (void)state;
    char *path = pathf("/api/v1/tasks/%s/claim", task_b);
    struct racer a = {&wang, path, 0}, b = {&zhou, path, 0};
    pthread_t ta, tb;
    char *v;

    use_server(port_a);
    pthread_create(&ta, NULL, race, &a);
    pthread_create(&tb, NULL, race, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_true((a.status == 200 && b.status == 409) || (a.status == 409 && b.status == 200));
    v = kit_value(&K, "select claimed_by from tasks where task_id = $1", 1,
                  (const char *[]){task_b});
    assert_string_equal(v, a.status == 200 ? "wang" : "zhou");
    free(v);
    free(path);
}

static void test_lead_reassigns(void **state)
{
    (void)state;
    char p[512], *v;
    reply r;

    use_server(port_a);
    snprintf(p, sizeof p, "/api/v1/tasks/%s/reassign", task_d);
    assert_int_equal(http(&boss, "POST", p, "{\"post\": \"nowhere\"}", &r), 422);
    assert_string_equal(str(r.json, "field"), "/post");
    reply_free(&r);
    /* li is staff of team_1, not of team_2. */
    assert_int_equal(http(&boss, "POST", p, "{\"post\": \"team_2\", \"account\": \"li\"}", &r),
                     422);
    assert_string_equal(str(r.json, "field"), "/account");
    reply_free(&r);
    assert_int_equal(http(&boss, "POST", p, "{\"post\": \"team_1\", \"account\": \"li\"}", &r),
                     200);
    assert_string_equal(str(json_object_get(r.json, "task"), "post"), "team_1");
    assert_string_equal(str(json_object_get(r.json, "task"), "claimed_by"), "li");
    reply_free(&r);
    v = kit_value(&K,
                  "select from_post || '>' || to_post || ' ' || to_account || ' by ' || "
                  "by_account from task_reassignments where task_id = $1",
                  1, (const char *[]){task_d});
    assert_string_equal(v, "intake>team_1 li by boss");
    free(v);
    snprintf(p, sizeof p, "/api/v1/tasks/%s", task_d);
    assert_int_equal(status_of(&wang, "GET", p, NULL), 404);
    assert_int_equal(status_of(&li, "GET", p, NULL), 200);
}

/* ---- cases ---------------------------------------------------------------------------------- */

static void test_cases_masked_for_auditors(void **state)
{
    (void)state;
    char *cb = pathf("/api/v1/cases/%s", CASE_B), *ca = pathf("/api/v1/cases/%s/replay", CASE_A);
    char *q = pathf("/api/v1/cases?q=%s", "张三");
    reply r;
    const char *name;

    use_server(port_a);
    assert_int_equal(http(&boss, "GET", cb, NULL, &r), 200);
    name = str(json_array_get(json_object_get(json_object_get(r.json, "data"), "applicants"), 0),
               "name");
    assert_string_equal(name, "张三");
    assert_string_equal(str(r.json, "state"), "intake");
    assert_non_null(json_object_get(json_object_get(r.json, "deadlines"), "handling_deadline"));
    reply_free(&r);
    {
        /* However the number is written: full-width parentheses and digits find the case. */
        char *wide = pathf("/api/v1/cases/%s", "（２０２６）豫0381执302号");
        assert_int_equal(http(&boss, "GET", wide, NULL, &r), 200);
        assert_string_equal(str(r.json, "case"), CASE_B);
        reply_free(&r);
        free(wide);
    }
    assert_int_equal(http(&audit, "GET", cb, NULL, &r), 200);
    name = str(json_array_get(json_object_get(json_object_get(r.json, "data"), "applicants"), 0),
               "name");
    assert_non_null(name);
    assert_string_not_equal(name, "张三");
    assert_null(strstr(r.body, "41038119900101123X"));
    reply_free(&r);
    /* Staff of the post find the case by a party's name; auditors do not search by names. */
    assert_int_equal(http(&wang, "GET", q, NULL, &r), 200);
    assert_true(json_integer_value(json_object_get(r.json, "total")) >= 1);
    reply_free(&r);
    assert_int_equal(http(&audit, "GET", q, NULL, &r), 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 0);
    reply_free(&r);
    /* The auditor replays case A: chain and replay verify. */
    assert_int_equal(http(&audit, "GET", ca, NULL, &r), 200);
    assert_true(json_is_true(json_object_get(json_object_get(r.json, "verification"), "ok")));
    assert_true(json_integer_value(json_object_get(r.json, "events")) >= 2);
    reply_free(&r);
    free(cb);
    free(ca);
    free(q);
}

/* ---- hostile input -------------------------------------------------------------------------- */

static void test_hostile_input(void **state)
{
    (void)state;
    static const char *const injections[] = {"' or '1'='1",           "'; drop table tasks; --",
                                             "1; select pg_sleep(5)", "\") or true --",
                                             "%27%20or%201%3D1",      NULL};
    char *big = malloc(10 * 1024 * 1024 + 1), p[512];
    long status;
    long events = kit_count(&K, "select count(*) from events");
    reply r;

    use_server(port_a);
    for (size_t i = 0; injections[i]; i++) {
        char *tp = pathf("/api/v1/tasks/%s", injections[i]);
        char *cp = pathf("/api/v1/cases/%s/timeline", injections[i]);
        char *qp = pathf("/api/v1/posts/intake/tasks?q=%s", injections[i]);
        char *sp = pathf("/api/v1/cases?q=%s", injections[i]);
        char *rp = pathf("/api/v1/report?since=%s", injections[i]);
        char *wp = pathf("/api/v1/tasks/t-none/complete?wait=%s", injections[i]);
        assert_int_equal(status_of(&boss, "GET", rp, NULL), 400);
        assert_int_equal(status_of(&wang, "POST", wp, "{\"result\": {}}"), 400);
        free(rp);
        free(wp);
        assert_int_equal(status_of(&wang, "GET", tp, NULL), 404);
        assert_int_equal(status_of(&wang, "GET", cp, NULL), 404);
        assert_int_equal(http(&wang, "GET", qp, NULL, &r), 200);
        assert_int_equal(json_array_size(json_object_get(r.json, "tasks")), 0);
        reply_free(&r);
        assert_int_equal(http(&boss, "GET", sp, NULL, &r), 200);
        assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 0);
        reply_free(&r);
        snprintf(p, sizeof p, "{\"name\": \"%s\", \"password\": \"x\"}", "a'b");
        assert_int_equal(status_of(NULL, "POST", "/api/v1/login", p), 401);
        free(tp);
        free(cp);
        free(qp);
        free(sp);
    }
    /* Bad parameters. */
    assert_int_equal(status_of(&wang, "GET", "/api/v1/posts/intake/tasks?limit=abc", NULL), 400);
    assert_int_equal(status_of(&wang, "GET", "/api/v1/posts/intake/tasks?limit=100000", NULL), 400);
    assert_int_equal(status_of(&wang, "GET", "/api/v1/posts/intake/tasks?status=done", NULL), 400);
    assert_int_equal(status_of(&wang, "GET", "/api/v1/posts/intake/tasks?due_before=soon", NULL),
                     400);
    assert_int_equal(status_of(&wang, "GET", "/api/v1/posts/intake/tasks?overdue=maybe", NULL),
                     400);
    assert_int_equal(status_of(&audit, "GET", "/api/v1/cases/x/replay?as_of=never", NULL), 400);
    /* Invalid UTF-8 in a path segment, a query parameter and a JSON body. */
    assert_int_equal(status_of(&wang, "GET", "/api/v1/cases/%FF%FE", NULL), 400);
    assert_int_equal(status_of(&wang, "GET", "/api/v1/cases?q=%C3%28", NULL), 400);
    assert_int_equal(
        http(NULL, "POST", "/api/v1/login", "{\"name\": \"\xff\", \"password\": \"x\"}", &r), 400);
    assert_non_null(json_object_get(r.json, "position"));
    reply_free(&r);
    /* A truncated body: 400 naming where the JSON stops. */
    snprintf(p, sizeof p, "/api/v1/tasks/%s/complete", task_b);
    assert_int_equal(http(&wang, "POST", p, "{\"result\": {\"complete\": tr", &r), 400);
    assert_string_equal(str(r.json, "type"), "urn:caseflow:problem:bad-json");
    assert_true(json_integer_value(json_object_get(r.json, "position")) > 0);
    reply_free(&r);
    /* The wrong media type, and a duplicate key. */
    assert_int_equal(http_ex(&wang, "POST", p, "text/plain", "{}", 2, NULL, &r), 415);
    reply_free(&r);
    assert_int_equal(status_of(&wang, "POST", p, "{\"result\": {}, \"result\": {}}"), 400);
    /* 10 MB: refused before it is read (Expect: 100-continue), and when it is sent anyway. */
    memset(big, 'a', 10 * 1024 * 1024);
    big[10 * 1024 * 1024] = '\0';
    assert_int_equal(http_ex(&filing, "POST", "/api/v1/events", "application/x-ndjson", big,
                             strlen(big), NULL, &r),
                     413);
    reply_free(&r);
    /* Sent anyway, the server answers 413 on the announced length and closes: a client still
     * sending may see the connection reset before it reads the answer. */
    status = http_ex(&wang, "POST", p, "application/json", big, strlen(big), "Expect:", &r);
    assert_true(status == 413 || status == -1);
    reply_free(&r);
    free(big);
    /* Unknown routes and methods. */
    assert_int_equal(status_of(&wang, "GET", "/api/v1/nothing", NULL), 404);
    assert_int_equal(status_of(&wang, "DELETE", "/api/v1/me", NULL), 405);
    /* The server still serves, and nothing was stored. */
    assert_int_equal(status_of(NULL, "GET", "/healthz", NULL), 200);
    assert_int_equal(status_of(&wang, "GET", "/api/v1/me", NULL), 200);
    assert_int_equal(kit_count(&K, "select count(*) from tasks") > 0, 1);
    assert_int_equal(kit_count(&K, "select count(*) from events"), events);
    assert_int_equal(kit_count(&K, "select count(*) from dead_letters"), 0);
}

/* ---- sessions, logins, tokens ---------------------------------------------------------------- */

static void test_sessions(void **state)
{
    (void)state;
    char p[512], *out = NULL, *err = NULL, token_id[32];
    who s1, s2, forged, tok;
    reply r;

    use_server(port_b); /* sessions idle out after 2 s; 3 failed logins lock a name */
    assert_int_equal(login_as("wang", NULL, &s1), 200);
    assert_int_equal(status_of(&s1, "GET", "/api/v1/me", NULL), 200);
    /* CSRF: missing, or someone else's. */
    snprintf(p, sizeof p, "/api/v1/tasks/%s/claim", task_d);
    forged = s1;
    forged.csrf[0] = '\0';
    assert_int_equal(http(&forged, "POST", p, "{}", &r), 403);
    assert_string_equal(str(r.json, "type"), "urn:caseflow:problem:csrf");
    reply_free(&r);
    snprintf(forged.csrf, sizeof forged.csrf, "%s", wang.csrf);
    assert_int_equal(status_of(&forged, "POST", p, "{}"), 403);
    assert_int_equal(status_of(&forged, "POST", "/api/v1/logout", "{}"), 403);
    /* Logout ends the session for good. */
    assert_int_equal(status_of(&s1, "POST", "/api/v1/logout", "{}"), 200);
    assert_int_equal(status_of(&s1, "GET", "/api/v1/me", NULL), 401);
    /* Idle for longer than the timeout. */
    assert_int_equal(login_as("wang", NULL, &s2), 200);
    kit_sleep_ms(3500);
    assert_int_equal(status_of(&s2, "GET", "/api/v1/me", NULL), 401);
    /* A forged cookie. */
    memset(&forged, 0, sizeof forged);
    snprintf(forged.session, sizeof forged.session, "%s",
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_int_equal(status_of(&forged, "GET", "/api/v1/me", NULL), 401);

    /* Three wrong passwords lock the name: then even the right one is refused, for a while. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(login_as("zhou", "not-the-password", &s1), 401);
    assert_int_equal(http(NULL, "POST", "/api/v1/login",
                          "{\"name\": \"zhou\", \"password\": \"password-of-zhou\"}", &r),
                     429);
    assert_true(atoi(r.retry_after) > 0);
    reply_free(&r);
    /* A name without an account locks the same way: nothing tells which names exist. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(login_as("ghost", "whatever-it-is", &s1), 401);
    assert_int_equal(login_as("ghost", "whatever-it-is", &s1), 429);

    /* A disabled account: its session ends, and it cannot log in. */
    assert_int_equal(login_as("li", NULL, &s1), 200);
    assert_int_equal(kit_cli(&K, &out, &err, (const char *[]){"users", "disable", "li", NULL}), 0);
    assert_int_equal(status_of(&s1, "GET", "/api/v1/me", NULL), 401);
    assert_int_equal(login_as("li", NULL, &s1), 403);
    assert_int_equal(kit_cli(&K, &out, &err, (const char *[]){"users", "enable", "li", NULL}), 0);
    assert_int_equal(login_as("li", NULL, &s1), 200);

    /* A revoked token. */
    make_token("filing-2", &tok, token_id, sizeof token_id);
    assert_int_equal(status_of(&tok, "GET", "/api/v1/me", NULL), 200);
    assert_int_equal(kit_cli(&K, &out, &err, (const char *[]){"tokens", "revoke", token_id, NULL}),
                     0);
    assert_int_equal(status_of(&tok, "GET", "/api/v1/me", NULL), 401);
    /* Nothing secret is stored. */
    assert_int_equal(kit_count(&K, "select count(*) from accounts where password_hash not like "
                                   "'$argon2id$%'"),
                     0);
    free(out);
    free(err);
}

/* ---- ingest, metrics ------------------------------------------------------------------------ */

static char *event_text(const char *case_no, const char *id)
{
    json_t *ev = kit_filed(case_no, id, "2026-03-02T10:00:00+08:00");
    char *s = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    return s;
}

static void test_ingest(void **state)
{
    (void)state;
    const char *c10 = "(2026)豫0381执310号", *c11 = "(2026)豫0381执311号",
               *c12 = "(2026)豫0381执312号";
    char *one = event_text(c10, "ingest-10"), *a = event_text(c11, "ingest-11"),
         *b = event_text(c12, "ingest-12"), *v, nd[16384];
    const char *forged = "{\"id\":\"forged-1\",\"type\":\"task.completed\",\"case\":"
                         "\"(2026)豫0381执302号\",\"time\":\"2026-03-02T10:00:00+08:00\","
                         "\"source\":\"staff:intake:wang\",\"data\":{\"task_id\":\"t-x\","
                         "\"activity\":\"intake_check\",\"kind\":\"intake_check\",\"result\":{}}}";
    reply r;
    json_t *res;

    use_server(port_a);
    assert_int_equal(http(&filing, "POST", "/api/v1/events", one, &r), 202);
    assert_string_equal(str(r.json, "status"), "accepted");
    reply_free(&r);
    v = kit_wait_value(&K, "select state from cases where case_no = $1", 1, (const char *[]){c10},
                       "review", 30);
    assert_string_equal(v, "review");
    free(v);
    /* Again: the engine has it, so it is a duplicate and is not sent. */
    assert_int_equal(http(&filing, "POST", "/api/v1/events", one, &r), 200);
    assert_string_equal(str(r.json, "status"), "duplicate");
    reply_free(&r);
    /* A schema violation names the field. */
    assert_int_equal(http(&filing, "POST", "/api/v1/events",
                          "{\"id\": \"x\", \"type\": "
                          "\"case.filed\"}",
                          &r),
                     422);
    assert_string_equal(str(r.json, "field"), "/time");
    reply_free(&r);
    /* NDJSON: two cases, a line that is not JSON, and a forged staff result. */
    snprintf(nd, sizeof nd, "%s\n{not json\n%s\n\n%s\n", a, forged, b);
    assert_int_equal(http_ex(&filing, "POST", "/api/v1/events", "application/x-ndjson", nd,
                             strlen(nd), NULL, &r),
                     200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "accepted")), 2);
    assert_int_equal(json_integer_value(json_object_get(r.json, "rejected")), 2);
    res = json_object_get(r.json, "results");
    assert_string_equal(str(json_array_get(res, 0), "status"), "accepted");
    assert_string_equal(str(json_array_get(res, 1), "status"), "invalid");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(res, 1), "line")), 2);
    assert_string_equal(str(json_array_get(res, 2), "status"), "forbidden");
    assert_string_equal(str(json_array_get(res, 3), "status"), "accepted");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(res, 3), "line")), 5);
    reply_free(&r);
    v = kit_wait_value(&K, "select state from cases where case_no = $1", 1, (const char *[]){c12},
                       "review", 30);
    assert_string_equal(v, "review");
    free(v);
    assert_int_equal(kit_count(&K, "select count(*) from events where event_id = 'forged-1'"), 0);
    /* People do not send events; a token does not log in. */
    assert_int_equal(status_of(&wang, "POST", "/api/v1/events", one), 403);
    assert_int_equal(http_ex(&filing, "POST", "/api/v1/events", "text/csv", "a,b", 3, NULL, &r),
                     415);
    reply_free(&r);
    free(one);
    free(a);
    free(b);
}

static void test_metrics_and_probes(void **state)
{
    (void)state;
    reply r;

    use_server(port_a);
    assert_int_equal(http(NULL, "GET", "/metrics", NULL, &r), 200);
    assert_non_null(strstr(r.body, "caseflow_http_requests_total{method=\"GET\",route=\"/api/v1/"
                                   "me\",status=\"200\"}"));
    assert_non_null(strstr(r.body, "caseflow_http_requests_total{method=\"POST\",route=\"/api/v1/"
                                   "tasks/{id}/claim\",status=\"409\"}"));
    assert_non_null(strstr(r.body, "caseflow_tasks_open{post=\"intake\"}"));
    assert_non_null(strstr(r.body, "caseflow_tasks_overdue{post=\"intake\"}"));
    assert_non_null(strstr(r.body, "caseflow_events_applied_total"));
    assert_non_null(strstr(r.body, "caseflow_dead_letters_total 0"));
    assert_non_null(strstr(r.body, "caseflow_http_request_duration_seconds_bucket"));
    /* The engines' own health: commit failures from engine_status, and the consumer lag. */
    assert_non_null(strstr(r.body, "# TYPE caseflow_engine_commit_failures_total counter"));
    assert_non_null(strstr(r.body, "caseflow_kafka_up 1"));
    assert_non_null(strstr(r.body, "caseflow_consumer_lag{partition=\"7\"}"));
    reply_free(&r);
    {
        /* Once the engine has committed everything sent, no partition lags. */
        long long lag = -1;
        for (int tries = 0; tries < 100 && lag != 0; tries++) {
            const char *p;
            if (tries)
                kit_sleep_ms(200);
            assert_int_equal(http(NULL, "GET", "/metrics", NULL, &r), 200);
            lag = 0;
            for (p = r.body; (p = strstr(p, "\ncaseflow_consumer_lag{")); p++)
                lag += strtoll(strchr(p, '}') + 1, NULL, 10);
            if (lag != 0 && tries == 99)
                fprintf(stderr, "%s\n", strstr(r.body, "# HELP caseflow_consumer_lag"));
            reply_free(&r);
        }
        if (lag != 0) {
            char *v = kit_value(&K,
                                "select string_agg(partition || ':' || next_offset, ' ' order by "
                                "partition) from consumer_offsets",
                                0, NULL);
            fprintf(stderr, "consumer_offsets: %s\n", v ? v : "(none)");
            free(v);
        }
        assert_int_equal(lag, 0);
    }
    assert_int_equal(http(NULL, "GET", "/readyz", NULL, &r), 200);
    assert_string_equal(str(r.json, "postgres"), "ok");
    assert_string_equal(str(r.json, "kafka"), "ok");
    reply_free(&r);
    assert_int_equal(http(NULL, "GET", "/api/v1/openapi.json", NULL, &r), 200);
    assert_string_equal(str(r.json, "openapi"), "3.1.0");
    reply_free(&r);
    assert_int_equal(http(&boss, "GET", "/api/v1/stats", NULL, &r), 200);
    assert_non_null(json_object_get(json_object_get(r.json, "tasks"), "intake"));
    reply_free(&r);
}

/* ---- decisions ----------------------------------------------------------------------------- */

/* Whether `list` (GET .../decisions) offers decision `name`; its entry or NULL. */
static json_t *offered(const json_t *list, const char *name)
{
    size_t i;
    json_t *d;
    json_array_foreach (json_object_get(list, "decisions"), i, d)
        if (strcmp(str(d, "decision"), name) == 0)
            return d;
    return NULL;
}

/* Sends decision `body` on `path` as `w` with Idempotency-Key `key` (NULL: none). */
static long decide(const who *w, const char *path, const char *key, const char *body, reply *r)
{
    char header[256];
    if (key)
        snprintf(header, sizeof header, "Idempotency-Key: %s", key);
    return http_ex(w, "POST", path, "application/json", body, strlen(body), key ? header : NULL, r);
}

static void test_decisions(void **state)
{
    (void)state;
    char *pa = pathf("/api/v1/cases/%s/decisions", CASE_A);
    char *pf = pathf("/api/v1/cases/%s/decisions", CASE_F);
    const char *close = "{\"decision\": \"close\", \"close_method\": \"执行完毕\"}";
    who xu, qian, cai;
    long long dead = kit_count(&K, "select count(*) from dead_letters");
    json_t *d;
    reply r;
    char *v;

    use_server(port_a);
    assert_int_equal(login_as("xu", NULL, &xu), 200);
    assert_int_equal(login_as("qian", NULL, &qian), 200);
    assert_int_equal(login_as("cai", NULL, &cai), 200);
    /* Case A is team_1's (test_claim_complete_return): its clerk may close it, with the methods
     * the workflow handles; team_2's clerk may make no decision on it, the bureau lead more. */
    assert_int_equal(http(&xu, "GET", pa, NULL, &r), 200);
    assert_string_equal(str(r.json, "state"), "notices");
    assert_non_null(d = offered(r.json, "close"));
    assert_string_equal(str(d, "title"), "结案");
    d = json_array_get(json_object_get(d, "fields"), 0);
    assert_string_equal(str(d, "name"), "close_method");
    assert_int_equal(json_array_size(json_object_get(d, "choices")), 6);
    assert_null(offered(r.json, "suspend"));
    reply_free(&r);
    assert_int_equal(http(&qian, "GET", pa, NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "decisions")), 0);
    reply_free(&r);
    assert_int_equal(http(&ju, "GET", pa, NULL, &r), 200);
    assert_non_null(offered(r.json, "suspend"));
    reply_free(&r);

    /* Another team's clerk: 403, and nothing is sent (the engine would have dead-lettered it
     * before the close below, on the case's one partition). */
    assert_int_equal(decide(&qian, pa, NULL, close, &r), 403);
    assert_string_equal(str(r.json, "type"), "urn:caseflow:problem:not-your-decision");
    reply_free(&r);
    /* A method the workflow does not handle, a decision it does not know, a field that is no
     * text: 422 naming the field. */
    assert_int_equal(
        decide(&xu, pa, NULL, "{\"decision\": \"close\", \"close_method\": \"结了\"}", &r), 422);
    assert_string_equal(str(r.json, "field"), "/close_method");
    reply_free(&r);
    assert_int_equal(decide(&xu, pa, NULL, "{\"decision\": \"close\"}", &r), 422);
    assert_string_equal(str(r.json, "field"), "/close_method");
    reply_free(&r);
    assert_int_equal(decide(&xu, pa, NULL, "{\"decision\": \"shut\"}", &r), 422);
    assert_string_equal(str(r.json, "field"), "/decision");
    reply_free(&r);
    assert_int_equal(decide(&xu, pa, "bad key", close, &r), 400);
    reply_free(&r);

    /* The handler team's clerk closes, in their own name. */
    assert_int_equal(decide(&xu, pa, "close-a-1", close, &r), 200);
    assert_string_equal(str(r.json, "status"), "applied");
    assert_string_equal(str(r.json, "to"), "closed");
    assert_true(json_is_false(json_object_get(r.json, "already")));
    reply_free(&r);
    v = kit_value(&K,
                  "select source || ' ' || (body -> 'data' ->> 'close_method') from events where "
                  "case_no = $1 and type = 'case.decided'",
                  1, (const char *[]){CASE_A});
    assert_string_equal(v, "staff:team_1:xu 执行完毕");
    free(v);
    /* The same key again is the same event: answered as applied, applied once. */
    assert_int_equal(decide(&xu, pa, "close-a-1", close, &r), 200);
    assert_true(json_is_true(json_object_get(r.json, "already")));
    reply_free(&r);
    /* A new decision on the closed case: 409, and the list is empty. */
    assert_int_equal(decide(&xu, pa, "close-a-2", close, &r), 409);
    assert_string_equal(str(r.json, "type"), "urn:caseflow:problem:decision-refused");
    reply_free(&r);
    assert_int_equal(http(&xu, "GET", pa, NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "decisions")), 0);
    reply_free(&r);
    assert_int_equal(kit_count(&K, "select count(*) from events where case_no = "
                                   "'(2026)豫0381执301号' and type = 'case.decided'"),
                     1);
    assert_int_equal(kit_count(&K, "select count(*) from dead_letters"), dead);

    /* Finance confirms a payout: none is waiting yet (the workflow refuses: 409, nothing sent),
     * then money comes in and the payment clerk pays it out. */
    assert_int_equal(decide(&cai, pf, NULL, "{\"decision\": \"payout_confirmed\"}", &r), 409);
    assert_non_null(strstr(str(r.json, "detail"), "没有待财务确认的案款发放"));
    reply_free(&r);
    kit_send_json(&K,
                  json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:i, s:s, s:s, s:s, s:i}}",
                            "id", "api-f-paid", "type", "payment.matched", "case", CASE_F, "time",
                            "2026-03-03T10:00:00+08:00", "source", "worker:payments", "data",
                            "payment_id", "TX20260303000306", "payment_key", "PAY-2026-000306",
                            "amount", 20000, "paid_at", "2026-03-03T08:12:00+08:00", "payer_name",
                            "李四", "method", "auto", "confidence", 100));
    kit_flush(&K);
    kit_complete(&K, CASE_F, "payout", "payment_clerk", "孙会", "2026-03-04T10:00:00+08:00",
                 json_pack("{s:i, s:s, s:s, s:s}", "amount", 20000, "payee", "张三", "account",
                           "6222020000001234567", "paid_on", "2026-03-04"));
    v = kit_wait_value(&K,
                       "select body -> 'data' ->> 'payout_pending' from cases where case_no = $1",
                       1, (const char *[]){CASE_F}, "20000", 60);
    assert_string_equal(v, "20000");
    free(v);
    assert_int_equal(http(&cai, "GET", pf, NULL, &r), 200);
    assert_string_equal(str(json_array_get(json_object_get(r.json, "decisions"), 0), "decision"),
                        "payout_confirmed");
    assert_int_equal(json_array_size(json_object_get(r.json, "decisions")), 1);
    reply_free(&r);
    assert_int_equal(decide(&xu, pf, NULL, "{\"decision\": \"payout_confirmed\"}", &r), 403);
    reply_free(&r);
    assert_int_equal(decide(&cai, pf, "confirm-f-1", "{\"decision\": \"payout_confirmed\"}", &r),
                     200);
    assert_string_equal(str(r.json, "status"), "applied");
    reply_free(&r);
    v = kit_value(&K,
                  "select (body -> 'data' ->> 'payout_confirmed_by') || ' ' || (body -> 'data' ->> "
                  "'paid_total') from cases where case_no = $1",
                  1, (const char *[]){CASE_F});
    assert_string_equal(v, "cai 20000");
    free(v);
    free(pa);
    free(pf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authorization_matrix),
        cmocka_unit_test(test_other_post_guesses_ids),
        cmocka_unit_test(test_claim_complete_return),
        cmocka_unit_test(test_result_checked_against_workflow),
        cmocka_unit_test(test_concurrent_claim),
        cmocka_unit_test(test_lead_reassigns),
        cmocka_unit_test(test_cases_masked_for_auditors),
        cmocka_unit_test(test_hostile_input),
        cmocka_unit_test(test_sessions),
        cmocka_unit_test(test_ingest),
        cmocka_unit_test(test_metrics_and_probes),
        cmocka_unit_test(test_decisions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
