/*
 * The workplace API while PostgreSQL or Kafka is away: ingest answers 503 while Kafka is stopped
 * and, once it is back, the same batch sent again lands exactly once; the staff routes answer 503
 * while PostgreSQL is stopped and serve again when it is back, without restarting the server.
 * It stops the servers of the shared stack, so ctest runs it alone (RUN_SERIAL).
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
#include <sys/wait.h>
#include <unistd.h>

#include "kit/kit.h"

static char base[64];

/* Sends a request; returns the status and the body in *out (free it; may be NULL). */
static long request(const char *method, const char *path, const char *headers[], const char *body,
                    char **out)
{
    char url[1024];
    const kit_req q = {.method = method, .url = url, .body = body, .headers = headers};
    kit_reply r;
    size_t len;
    long status;

    snprintf(url, sizeof url, "%s%s", base, path);
    status = kit_request(&q, &r);
    *out = kit_reply_body(&r, &len);
    kit_reply_free(&r);
    return status;
}

/* Runs `scripts/stack CMD DIR SERVER` and waits for it. */
static void stack(const char *cmd, const char *server)
{
    char script[1024];
    int status = 0;
    pid_t pid;

    snprintf(script, sizeof script, "%s/scripts/stack", getenv("CASEFLOW_SOURCE_DIR"));
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(script, script, cmd, getenv("CASEFLOW_STACK_DIR"), server, (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", script, strerror(errno));
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static char *line_of(const char *case_no, const char *id)
{
    json_t *ev = kit_filed(case_no, id, "2026-03-02T10:00:00+08:00");
    char *s = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    return s;
}

static void test_outages(void **state)
{
    (void)state;
    kit k;
    pid_t engine, server;
    int port;
    char *out = NULL, token[160], cookie[320], csrf[160], auth[220], nd[8192];
    char *a = line_of("(2026)豫0381执401号", "outage-1"),
         *b = line_of("(2026)豫0381执402号", "outage-2");
    const char *nd_headers[3];
    const char *session_headers[3];
    json_t *doc;
    long s;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    kit_init(&k, "apiout");
    kit_wait_migrated(&k);
    assert_int_equal(kit_add_user(&k, "wang", "staff", "intake"), 0);
    kit_add_token(&k, "filing", token, sizeof token);
    server = kit_serve_start(&k, NULL, &port);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    nd_headers[0] = auth;
    nd_headers[1] = "Content-Type: application/x-ndjson";
    nd_headers[2] = NULL;
    snprintf(nd, sizeof nd, "%s\n%s\n", a, b);

    /* Kafka away: the batch is not acknowledged, so it is refused as a whole.  The engine starts
     * meanwhile: it waits for Kafka (a broker shutting down, fenced, or gone) rather than exit. */
    stack("stop", "kafka");
    engine = kit_engine_start(&k, NULL);
    s = request("POST", "/api/v1/events", nd_headers, nd, &out);
    fprintf(stderr, "ingest without Kafka: %ld %s\n", s, out ? out : "");
    assert_int_equal(s, 503);
    doc = json_loads(out, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(doc, "failed")), 2);
    json_decref(doc);
    free(out);
    assert_int_equal(request("GET", "/readyz", NULL, NULL, &out), 503);
    free(out);
    stack("start", "kafka");
    for (int i = 0; i < 60 && (s = request("GET", "/readyz", NULL, NULL, &out)) != 200; i++) {
        free(out);
        kit_sleep_ms(500);
    }
    free(out);
    assert_int_equal(s, 200);
    /* The same batch again lands, once. */
    s = request("POST", "/api/v1/events", nd_headers, nd, &out);
    fprintf(stderr, "ingest again: %ld %s\n", s, out ? out : "");
    assert_int_equal(s, 200);
    free(out);
    assert_int_equal(kit_wait_count(&k,
                                    "select count(*) from events where event_id in ('outage-1', "
                                    "'outage-2')",
                                    2, 60),
                     2);
    s = request("POST", "/api/v1/events", nd_headers, nd, &out);
    assert_int_equal(s, 200);
    doc = json_loads(out, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(doc, "duplicates")), 2);
    json_decref(doc);
    free(out);

    /* PostgreSQL away: the staff routes answer 503, and serve again when it is back. */
    {
        char session[256], token_csrf[128];
        assert_int_equal(
            kit_login(base, "wang", NULL, session, sizeof session, token_csrf, sizeof token_csrf),
            200);
        snprintf(cookie, sizeof cookie, "Cookie: cf_session=%s", session);
        snprintf(csrf, sizeof csrf, "X-CSRF-Token: %s", token_csrf);
    }
    session_headers[0] = cookie;
    session_headers[1] = csrf;
    session_headers[2] = NULL;
    assert_int_equal(request("GET", "/api/v1/posts/intake/tasks", session_headers, NULL, &out),
                     200);
    free(out);
    stack("stop", "postgres");
    assert_int_equal(request("GET", "/api/v1/posts/intake/tasks", session_headers, NULL, &out),
                     503);
    free(out);
    assert_int_equal(request("GET", "/api/v1/me", session_headers, NULL, &out), 503);
    free(out);
    assert_int_equal(request("GET", "/healthz", NULL, NULL, &out), 200);
    free(out);
    stack("start", "postgres");
    for (int i = 0; i < 40 && (s = request("GET", "/api/v1/posts/intake/tasks", session_headers,
                                           NULL, &out)) != 200;
         i++) {
        free(out);
        kit_sleep_ms(250);
    }
    free(out);
    assert_int_equal(s, 200);
    assert_int_equal(kit_count(&k, "select count(*) from events where event_id like 'outage-%'"),
                     2);

    assert_int_equal(kit_engine_stop(&k, server, SIGTERM), 0);
    kit_engine_stop(&k, engine, SIGTERM);
    free(a);
    free(b);
    kit_done(&k);
    curl_global_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_outages)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
