/*
 * The web workplace end to end: `caseflow serve` with its web/ folder, an engine and the workers
 * on the test stack, and accounts made as an administrator would.
 *
 * What it proves: the files under / are served with their types, caching and a strict
 * Content-Security-Policy, and no path a client sends (.., %2e%2e, an encoded slash, an absolute
 * path, a NUL, a folder, a link out of the folder) reaches anything else; the routes the pages
 * added (a task's form, a post's event stream, the administrator's accounts) answer as their
 * table says; and the scenario of issue #11 passes in a real headless Chromium
 * (tests/browser/workplace.py, driven by python3-selenium), with a screenshot of each step under
 * the build folder (browser/), axe-core on every page and no request leaving 127.0.0.1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit/kit.h"

/* The new case of the scenario (sequence 301: team_1 handles it) and the copy that is tampered. */
static const char *const CASE = "(2026)豫0381执301号";
static const char *const COPY = "(2026)豫0381执302号";

static kit K;
static pid_t engine, server, server_links, workers[4];
static int port, port_links;
static char token[128];

/* ---- HTTP ----------------------------------------------------------------------------------- */

typedef struct reply {
    long status;
    char *body;
    size_t len;
    char ctype[128], csp[512], etag[128], cache[128], allow[64];
} reply;

/* Sends `method path` to `at` exactly as written (no .. folded by curl), with the session
 * cookie and CSRF token when given. */
static long http(int at, const char *method, const char *path, const char *cookie, const char *csrf,
                 const char *extra, const char *body, reply *r)
{
    char url[4096];
    const char *const headers[] = {extra, NULL};
    const kit_req q = {.method = method,
                       .url = url,
                       .cookie = cookie,
                       .csrf = csrf,
                       .ctype = body ? "application/json" : NULL,
                       .body = body,
                       .headers = headers};
    kit_reply k;

    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", at, path);
    memset(r, 0, sizeof *r);
    r->status = kit_request(&q, &k);
    r->body = kit_reply_body(&k, &r->len);
    kit_reply_header(&k, "Content-Type", r->ctype, sizeof r->ctype);
    kit_reply_header(&k, "Content-Security-Policy", r->csp, sizeof r->csp);
    kit_reply_header(&k, "ETag", r->etag, sizeof r->etag);
    kit_reply_header(&k, "Cache-Control", r->cache, sizeof r->cache);
    kit_reply_header(&k, "Allow", r->allow, sizeof r->allow);
    kit_reply_free(&k);
    return r->status;
}

static long status_of(int at, const char *method, const char *path)
{
    reply r;
    long s = http(at, method, path, NULL, NULL, NULL, NULL, &r);
    free(r.body);
    return s;
}

/* A session: the cookie and CSRF token of `name` (password "password-of-<name>"). */
typedef struct who {
    char cookie[128], csrf[128];
} who;

/* The status of `method path` with `body` (NULL: none) as `w`, with its CSRF token when `csrf`;
 * the answer dropped. */
static long status_as(const who *w, int csrf, const char *method, const char *path,
                      const char *body)
{
    reply r;
    long st = http(port, method, path, w->cookie, csrf ? w->csrf : NULL, NULL, body, &r);
    free(r.body);
    return st;
}

static void log_in(const char *name, who *w)
{
    char base[64];

    memset(w, 0, sizeof *w);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    assert_int_equal(
        kit_login(base, name, NULL, w->cookie, sizeof w->cookie, w->csrf, sizeof w->csrf), 200);
    assert_true(w->cookie[0] && w->csrf[0]);
}

/* ---- the stack -------------------------------------------------------------------------------
 */

static char docs_env[700], web_env[700], links_env[700];

static int setup(void **state)
{
    static const char *const kinds[] = {"documents", "service", "network_query", "six_checks"};
    char links[600], *v;
    (void)state;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    kit_init(&K, "web");
    engine = kit_engine_start(&K, NULL);
    kit_wait_migrated(&K);
    for (size_t i = 0; i < 4; i++)
        workers[i] = kit_worker_start(&K, kinds[i], NULL);
    assert_int_equal(kit_add_user(&K, "陈局", "lead", NULL), 0);
    assert_int_equal(kit_add_user(&K, "吴十", "staff", "filing_review"), 0);
    assert_int_equal(kit_add_user(&K, "王芳", "staff", "intake"), 0);
    assert_int_equal(kit_add_user(&K, "李明", "staff", "team_1"), 0);
    assert_int_equal(kit_add_user(&K, "赵强", "staff", "team_2"), 0);
    assert_int_equal(kit_add_user(&K, "孙审", "auditor", NULL), 0);
    assert_int_equal(kit_add_user(&K, "管理员", "admin", NULL), 0);
    kit_add_token(&K, "filing", token, sizeof token);

    /* The server reads the documents where the workers write them, and the web folder of the
     * source tree. */
    snprintf(docs_env, sizeof docs_env, "CASEFLOW_DOCUMENTS=%s/documents", K.logdir);
    snprintf(web_env, sizeof web_env, "CASEFLOW_WEB=%s/web", K.src);
    {
        const char *const env[] = {docs_env, web_env, NULL};
        server = kit_serve_start(&K, env, &port);
    }
    /* A second server whose web folder holds a link to a file outside it. */
    snprintf(links, sizeof links, "%s/webroot", K.logdir);
    assert_true(mkdir(links, 0755) == 0 || errno == EEXIST);
    {
        char path[700], target[700];
        FILE *f;
        snprintf(path, sizeof path, "%s/index.html", links);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs("<!doctype html><title>t</title>", f);
        fclose(f);
        snprintf(path, sizeof path, "%s/secret.txt", K.logdir);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs("outside the web folder", f);
        fclose(f);
        snprintf(target, sizeof target, "%s/link.txt", links);
        unlink(target);
        assert_int_equal(symlink(path, target), 0);
    }
    snprintf(links_env, sizeof links_env, "CASEFLOW_WEB=%s", links);
    {
        const char *const env[] = {links_env, NULL};
        server_links = kit_serve_start(&K, env, &port_links);
    }

    /* The copy of the scenario's case, filed before it, stays at intake; its filing is then
     * changed in the database behind the engine's back. */
    kit_send_json(&K, kit_filed(COPY, "web-copy-1", "2026-03-02T08:30:00+08:00"));
    /* Three more cases that wait at intake, so that the inbox is not empty. */
    kit_send_json(&K, kit_filed("(2026)豫0381执303号", "web-bg-3", "2026-03-02T08:31:00+08:00"));
    kit_send_json(&K, kit_filed("(2026)豫0381执304号", "web-bg-4", "2026-03-02T08:32:00+08:00"));
    kit_send_json(&K, kit_filed("(2026)豫0381执305号", "web-bg-5", "2026-03-02T08:33:00+08:00"));
    kit_flush(&K);
    /* Each reviewed by the filing reviewer first (version 3), so that they wait at intake. */
    kit_review(&K, COPY, "2026-03-02T08:30:00+08:00");
    kit_review(&K, "(2026)豫0381执303号", "2026-03-02T08:31:00+08:00");
    kit_review(&K, "(2026)豫0381执304号", "2026-03-02T08:32:00+08:00");
    kit_review(&K, "(2026)豫0381执305号", "2026-03-02T08:33:00+08:00");
    v = kit_wait_value(&K, "select state from cases where case_no = $1", 1, (const char *[]){COPY},
                       "intake", 60);
    assert_string_equal(v, "intake");
    free(v);
    {
        /* As the database's owner could: past the trigger that keeps the log append-only. */
        PGresult *res = PQexec(K.db, "alter table events disable trigger user");
        assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
        PQclear(res);
        res = PQexecParams(K.db,
                           "update events set body = jsonb_set(body::jsonb, '{data,amount}', "
                           "'5000')::json where case_no = $1 and seq = 1",
                           1, NULL, (const char *[]){COPY}, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            fail_msg("tampering: %s", PQresultErrorMessage(res));
        assert_string_equal(PQcmdTuples(res), "1");
        PQclear(res);
        res = PQexec(K.db, "alter table events enable trigger user");
        assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
        PQclear(res);
    }
    assert_int_equal(kit_wait_count(&K,
                                    "select count(*) from tasks where activity = "
                                    "'intake_check'",
                                    4, 60),
                     4);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(kit_engine_stop(&K, server, SIGTERM), 0);
    assert_int_equal(kit_engine_stop(&K, server_links, SIGTERM), 0);
    for (size_t i = 0; i < 4; i++)
        kit_engine_stop(&K, workers[i], SIGTERM);
    kit_engine_stop(&K, engine, SIGTERM);
    kit_done(&K);
    curl_global_cleanup();
    return 0;
}

/* ---- the files under / ------------------------------------------------------------------------
 */

static void test_static_files(void **state)
{
    (void)state;
    reply r;
    char etag[128];
    static const char *const outside[] = {
        "/../server/openapi.json",
        "/%2e%2e/server/openapi.json",
        "/js/%2e%2e/%2e%2e/server/openapi.json",
        "/..%2fserver%2fopenapi.json",
        "/js/..%2f..%2fserver/openapi.json",
        "/%2fetc%2fpasswd",
        "//etc/passwd",
        "/etc/passwd",
        "/web/index.html",
        "/.git/config",
        "/js/.hidden.js",
        "/index.html%00.js",
        "/js\\api.js",
        "/js/",
        "/js",
        "/nothing.html",
        "/app.css.bak",
    };

    /* The pages and their parts, with their types, revalidated by ETag. */
    assert_int_equal(http(port, "GET", "/", NULL, NULL, NULL, NULL, &r), 200);
    assert_string_equal(r.ctype, "text/html; charset=utf-8");
    assert_non_null(strstr(r.body, "<html lang=\"zh-CN\">"));
    /* A strict policy: this origin only, no inline script or style, no framing. */
    assert_non_null(strstr(r.csp, "default-src 'self'"));
    assert_non_null(strstr(r.csp, "script-src 'self'"));
    assert_non_null(strstr(r.csp, "frame-ancestors 'none'"));
    assert_null(strstr(r.csp, "unsafe-inline"));
    assert_null(strstr(r.csp, "unsafe-eval"));
    assert_string_equal(r.cache, "no-cache");
    snprintf(etag, sizeof etag, "%s", r.etag);
    assert_true(etag[0] == '"');
    free(r.body);
    {
        char inm[200];
        snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
        assert_int_equal(http(port, "GET", "/", NULL, NULL, inm, NULL, &r), 304);
        free(r.body);
    }
    assert_int_equal(http(port, "GET", "/app.css", NULL, NULL, NULL, NULL, &r), 200);
    assert_string_equal(r.ctype, "text/css; charset=utf-8");
    free(r.body);
    assert_int_equal(http(port, "GET", "/js/pages/index.js", NULL, NULL, NULL, NULL, &r), 200);
    assert_string_equal(r.ctype, "text/javascript; charset=utf-8");
    free(r.body);
    assert_int_equal(http(port, "HEAD", "/login.html", NULL, NULL, NULL, NULL, &r), 200);
    free(r.body);
    assert_int_equal(http(port, "GET", "/icon.svg", NULL, NULL, NULL, NULL, &r), 200);
    assert_string_equal(r.ctype, "image/svg+xml");
    free(r.body);
    /* No HTML page of web/ holds an inline script or style: the policy would refuse them. */
    {
        static const char *const pages[] = {
            "/index.html",  "/login.html", "/task.html",     "/case.html", "/wall.html",
            "/replay.html", "/404.html",   "/accounts.html", "/app.html",  NULL};
        for (size_t i = 0; pages[i]; i++) {
            assert_int_equal(http(port, "GET", pages[i], NULL, NULL, NULL, NULL, &r), 200);
            assert_null(strstr(r.body, "<script>"));
            assert_null(strstr(r.body, "style="));
            assert_null(strstr(r.body, "<style"));
            assert_null(strstr(r.body, "http://"));
            assert_null(strstr(r.body, "https://"));
            free(r.body);
        }
    }

    /* Nothing outside the folder, and no listing of a folder. */
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        long s = http(port, "GET", outside[i], NULL, NULL, NULL, NULL, &r);
        if (s != 404 || (r.body && strstr(r.body, "\"openapi\"")) ||
            (r.body && strstr(r.body, "root:")))
            fail_msg("GET %s: %ld %s", outside[i], s, r.body ? r.body : "");
        free(r.body);
    }
    /* Every page is the one frame, whose script draws the page the path names. */
    assert_int_equal(http(port, "GET", "/case.html", NULL, NULL, NULL, NULL, &r), 200);
    assert_non_null(strstr(r.body, "src=\"/js/main.js\""));
    free(r.body);
    /* A missing page is a page people can read, even where a module of that name exists. */
    assert_int_equal(http(port, "GET", "/api.html", NULL, NULL, NULL, NULL, &r), 404);
    free(r.body);
    assert_int_equal(http(port, "GET", "/nothing.html", NULL, NULL, NULL, NULL, &r), 404);
    assert_string_equal(r.ctype, "text/html; charset=utf-8");
    assert_non_null(strstr(r.body, "页面不存在"));
    free(r.body);
    /* The files are read only; /api/ stays the API's. */
    assert_int_equal(http(port, "POST", "/index.html", NULL, NULL, NULL, "{}", &r), 405);
    assert_string_equal(r.allow, "GET, HEAD");
    free(r.body);
    assert_int_equal(http(port, "GET", "/api/v1/index.html", NULL, NULL, NULL, NULL, &r), 404);
    assert_string_equal(r.ctype, "application/problem+json");
    free(r.body);

    /* A link inside the folder to a file outside it is not followed. */
    assert_int_equal(status_of(port_links, "GET", "/index.html"), 200);
    assert_int_equal(http(port_links, "GET", "/link.txt", NULL, NULL, NULL, NULL, &r), 404);
    assert_true(!r.body || !strstr(r.body, "outside the web folder"));
    free(r.body);
}

/* ---- the routes the pages added -------------------------------------------------------------- */

static void test_web_routes(void **state)
{
    (void)state;
    static const char wu[] = "{\"name\": \"吴新\", \"role\": \"staff\", \"post\": \"team_3\", "
                             "\"password\": \"a-long-password\"}";
    who wang, li, admin;
    reply r;
    char path[512], *task;
    json_t *j;

    log_in("王芳", &wang);
    log_in("李明", &li);
    log_in("管理员", &admin);
    task = kit_value(&K, "select task_id from tasks where case_no = $1 and activity = $2", 2,
                     (const char *[]){COPY, "intake_check"});
    assert_non_null(task);

    /* The form of the intake check, as the workflow declares it. */
    snprintf(path, sizeof path, "/api/v1/tasks/%s/form", task);
    assert_int_equal(http(port, "GET", path, wang.cookie, NULL, NULL, NULL, &r), 200);
    j = json_loads(r.body, 0, NULL);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_object_get(j, "form"), "fields"), 0), "name")),
        "complete");
    json_decref(j);
    free(r.body);
    /* Another post's task has no form for this clerk: not found, as the task itself. */
    assert_int_equal(status_as(&li, 0, "GET", path, NULL), 404);
    /* A result that breaks the form is refused, naming the field, before anything is sent. */
    snprintf(path, sizeof path, "/api/v1/tasks/%s/complete", task);
    assert_int_equal(http(port, "POST", path, wang.cookie, wang.csrf, NULL,
                          "{\"result\": {\"complete\": true, \"special\": \"串案\"}}", &r),
                     422);
    j = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "field")), "/result/special");
    json_decref(j);
    free(r.body);
    assert_int_equal(kit_count(&K, "select count(*) from dead_letters"), 0);

    /* The stream of the intake post: a hello, then silence until the queue changes. */
    assert_int_equal(status_as(&wang, 0, "GET", "/api/v1/posts/team_1/stream", NULL), 403);
    {
        char url[256];
        const kit_req q = {.method = "GET", .url = url, .cookie = wang.cookie, .timeout = 3};
        kit_reply s;
        char ctype[128];
        snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/posts/intake/stream", port);
        kit_request(&q, &s); /* ends by the timeout: a stream does not end by itself */
        assert_string_equal(kit_reply_header(&s, "Content-Type", ctype, sizeof ctype),
                            "text/event-stream; charset=utf-8");
        assert_non_null(s.body);
        assert_non_null(strstr(s.body, "event: hello\ndata: {\"post\":\"intake\""));
        kit_reply_free(&s);
    }

    /* The administrator's accounts: list, add, a name taken, their own account kept. */
    assert_int_equal(http(port, "GET", "/api/v1/accounts", admin.cookie, NULL, NULL, NULL, &r),
                     200);
    assert_non_null(strstr(r.body, "\"name\":\"李明\""));
    free(r.body);
    assert_int_equal(status_as(&li, 0, "GET", "/api/v1/accounts", NULL), 403);
    assert_int_equal(status_as(&admin, 1, "POST", "/api/v1/accounts", wu), 201);
    assert_int_equal(status_as(&admin, 1, "POST", "/api/v1/accounts", wu), 409); /* taken */
    assert_int_equal(status_as(&admin, 1, "POST", "/api/v1/accounts",
                               "{\"name\": \"吴新2\", \"role\": \"ingest\", \"password\": "
                               "\"a-long-password\"}"),
                     422);
    assert_int_equal(status_as(&admin, 1, "POST", "/api/v1/accounts/管理员/disable", NULL), 409);
    assert_int_equal(status_as(&admin, 0, "POST", "/api/v1/accounts/吴新/disable", NULL),
                     403); /* no CSRF token */
    assert_int_equal(
        status_as(&admin, 1, "POST", "/api/v1/accounts/吴新/password", "{\"password\": \"short\"}"),
        422);
    assert_int_equal(status_as(&admin, 1, "POST", "/api/v1/accounts/吴新/disable", NULL), 200);
    assert_int_equal(kit_count(&K, "select count(*) from accounts where name = '吴新' and "
                                   "disabled_at is not null"),
                     1);
    free(task);
}

/* ---- the browser ------------------------------------------------------------------------------
 */

static void test_browser_scenario(void **state)
{
    (void)state;
    const char *python = getenv("CF_BROWSER_PYTHON") ? getenv("CF_BROWSER_PYTHON") : "python3";
    const char *shots = getenv("CF_WEB_SHOTS") ? getenv("CF_WEB_SHOTS") : "browser";
    char script[700], base[64], workflows[2048];
    int status;
    pid_t pid;

    if (access("/usr/bin/chromium", X_OK) != 0 || access("/usr/bin/chromedriver", X_OK) != 0)
        fail_msg("the browser test needs Debian's chromium and chromium-driver: run scripts/setup");
    snprintf(script, sizeof script, "%s/tests/browser/workplace.py", K.src);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    snprintf(workflows, sizeof workflows,
             "%s/workflows/enforcement_case.yaml,%s/workflows/voluntary_payment.yaml", K.src,
             K.src);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("CF_WEB_BASE", base, 1);
        setenv("CF_WEB_SHOTS", shots, 1);
        setenv("CF_WEB_TOKEN", token, 1);
        setenv("CF_WEB_CASE", CASE, 1);
        setenv("CF_WEB_COPY", COPY, 1);
        /* For `caseflow feed` (the clock) and psql: the kit's database and topics. */
        setenv("CASEFLOW_PG", K.pg, 1);
        setenv("CASEFLOW_KAFKA", K.brokers, 1);
        setenv("CASEFLOW_TOPIC_PREFIX", K.prefix, 1);
        setenv("CASEFLOW_WORKFLOWS", workflows, 1);
        unsetenv("CASEFLOW_CONFIG");
        execl(python, python, script, (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", python, strerror(errno));
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("the browser scenario failed (see its output above; screenshots in %s; server "
                 "log in %s)",
                 shots, K.logdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_static_files),
        cmocka_unit_test(test_web_routes),
        cmocka_unit_test(test_browser_scenario),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
