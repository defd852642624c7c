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

static size_t keep(char *p, size_t size, size_t n, void *arg)
{
    char **out = arg;
    size_t len = *out ? strlen(*out) : 0;
    char *b = realloc(*out, len + size * n + 1);
    if (!b)
        return 0;
    memcpy(b + len, p, size * n);
    b[len + size * n] = '\0';
    *out = b;
    return size * n;
}

/* Sends a request; returns the status and the body in *out (free it; may be NULL). */
static long request(const char *method, const char *path, const char *headers[], const char *body,
                    char **out)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[1024];
    long status = -1;

    *out = NULL;
    snprintf(url, sizeof url, "%s%s", base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    for (size_t i = 0; headers && headers[i]; i++)
        h = curl_slist_append(h, headers[i]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
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

/* The kit's own connection does not survive a restart of PostgreSQL: reset it when it broke. */
static long long count(kit *k, const char *sql)
{
    long long v = kit_count(k, sql);
    if (v < 0 && PQstatus(k->db) != CONNECTION_OK) {
        PQreset(k->db);
        v = kit_count(k, sql);
    }
    return v;
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
    char *out = NULL, *err = NULL, token[160], cookie[200], csrf[160], auth[220], nd[8192];
    char *a = line_of("(2026)豫0381执401号", "outage-1"),
         *b = line_of("(2026)豫0381执402号", "outage-2");
    const char *nd_headers[3], *json_headers[] = {"Content-Type: application/json", NULL};
    const char *session_headers[3];
    json_t *doc;
    long s;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    kit_init(&k, "apiout");
    assert_int_equal(kit_wait_count(&k,
                                    "select count(*) from information_schema.tables where "
                                    "table_name = 'accounts'",
                                    1, 60),
                     1);
    assert_int_equal(kit_run_in(&k, "password-of-wang\n",
                                (const char *[]){"users", "add", "wang", "--role", "staff",
                                                 "--post", "intake", "--password-stdin", NULL},
                                &out, &err),
                     0);
    free(out);
    free(err);
    assert_int_equal(kit_run(&k,
                             (const char *[]){"tokens", "add", "filing", "--scope", "ingest", NULL},
                             &out, &err),
                     0);
    snprintf(token, sizeof token, "%.*s", (int)strcspn(out, "\n"), out);
    free(out);
    free(err);
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
        /* Logging in with curl's cookie engine, which reads the session from Set-Cookie. */
        CURL *c = curl_easy_init();
        struct curl_slist *cookies = NULL, *h = NULL;
        char url[256];
        snprintf(url, sizeof url, "%s/api/v1/login", base);
        h = curl_slist_append(h, json_headers[0]);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_COOKIEFILE, "");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS,
                         "{\"name\": \"wang\", \"password\": \"password-of-wang\"}");
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
        out = NULL;
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
        assert_int_equal(curl_easy_perform(c), CURLE_OK);
        curl_easy_getinfo(c, CURLINFO_COOKIELIST, &cookies);
        assert_non_null(cookies);
        /* Netscape format: the value is the last tab-separated field. */
        snprintf(cookie, sizeof cookie, "Cookie: cf_session=%s", strrchr(cookies->data, '\t') + 1);
        doc = json_loads(out, 0, NULL);
        snprintf(csrf, sizeof csrf, "X-CSRF-Token: %s",
                 json_string_value(json_object_get(doc, "csrf")));
        json_decref(doc);
        free(out);
        curl_slist_free_all(cookies);
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
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
    assert_int_equal(count(&k, "select count(*) from events where event_id like 'outage-%'"), 2);

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
