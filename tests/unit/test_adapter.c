/*
 * Adapters: the simulator is deterministic from seed, case and operation, its
 * outcomes follow the configured weights, failures are drawn per try; the HTTP
 * adapter speaks JSON to a small server started here and sorts its answers into
 * passing and lasting failures; worker.kinds overrides the settings per kind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "workers/adapter.h"
#include "workers/runtime.h"

static cf_adapter_options sim_options(int found, int nothing, int error, int timeout)
{
    cf_adapter_options o = {.name = "test",
                            .type = CF_ADAPTER_SIMULATOR,
                            .seed = 42,
                            .latency_ms = 0,
                            .jitter_ms = 0,
                            .weights = {found, nothing, error, timeout}};
    return o;
}

static json_t *request(const char *case_no, int attempt)
{
    return json_pack("{s:s, s:i, s:s}", "case", case_no, "attempt", attempt, "category",
                     "deposits");
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the simulator ---- */

static void test_draw_is_a_function_of_its_inputs(void **state)
{
    (void)state;
    double a = cf_adapter_draw(7, "(2026)豫0381执1号", "query", "deposits", 1);
    assert_true(a >= 0.0 && a < 1.0);
    assert_true(a == cf_adapter_draw(7, "(2026)豫0381执1号", "query", "deposits", 1));
    assert_true(a != cf_adapter_draw(8, "(2026)豫0381执1号", "query", "deposits", 1));
    assert_true(a != cf_adapter_draw(7, "(2026)豫0381执2号", "query", "deposits", 1));
    assert_true(a != cf_adapter_draw(7, "(2026)豫0381执1号", "check", "deposits", 1));
    assert_true(a != cf_adapter_draw(7, "(2026)豫0381执1号", "query", "deposits", 2));
    /* Text boundaries count: ("ab", "c") is not ("a", "bc"). */
    assert_true(cf_adapter_draw(1, "ab", "c", NULL, 0) != cf_adapter_draw(1, "a", "bc", NULL, 0));
}

static void test_same_seed_same_answers(void **state)
{
    (void)state;
    cf_adapter_options o = sim_options(70, 25, 3, 2);
    cf_adapter *a, *b, *c;
    char err[256];
    int differ = 0;

    assert_int_equal(cf_adapter_new(&o, &a, err, sizeof err), 0);
    assert_int_equal(cf_adapter_new(&o, &b, err, sizeof err), 0);
    o.seed = 43;
    assert_int_equal(cf_adapter_new(&o, &c, err, sizeof err), 0);
    for (int i = 1; i <= 300; i++) {
        char case_no[64];
        json_t *req, *ra = NULL, *rb = NULL, *rc = NULL;
        int ca, cb, cc;
        snprintf(case_no, sizeof case_no, "(2026)豫0381执%d号", i);
        req = request(case_no, 1);
        ca = cf_adapter_call(a, "query", req, &ra, err, sizeof err);
        cb = cf_adapter_call(b, "query", req, &rb, err, sizeof err);
        cc = cf_adapter_call(c, "query", req, &rc, err, sizeof err);
        assert_int_equal(ca, cb);
        if (ca == 0)
            assert_true(json_equal(ra, rb));
        differ += ca != cc || (ca == 0 && !json_equal(ra, rc));
        json_decref(ra);
        json_decref(rb);
        json_decref(rc);
        json_decref(req);
    }
    /* Another seed is another world. */
    assert_true(differ > 30);
    cf_adapter_free(a);
    cf_adapter_free(b);
    cf_adapter_free(c);
}

static void test_outcomes_follow_the_weights(void **state)
{
    (void)state;
    enum { N = 20000 };
    cf_adapter_options o = sim_options(70, 25, 3, 2);
    int found = 0, nothing = 0, error = 0, timeout = 0;
    cf_adapter *a;
    char err[256];

    assert_int_equal(cf_adapter_new(&o, &a, err, sizeof err), 0);
    for (int i = 1; i <= N; i++) {
        char case_no[64];
        json_t *req, *resp = NULL;
        int rc;
        snprintf(case_no, sizeof case_no, "(2026)豫0381执%d号", i);
        req = request(case_no, 1);
        rc = cf_adapter_call(a, "query", req, &resp, err, sizeof err);
        if (rc == 0) {
            json_t *items = json_object_get(resp, "items");
            if (json_is_true(json_object_get(resp, "found"))) {
                found++;
                /* What is found is described: a bank, a masked account, a balance. */
                assert_true(json_array_size(items) >= 1 && json_array_size(items) <= 3);
                assert_non_null(
                    json_string_value(json_object_get(json_array_get(items, 0), "bank")));
                assert_non_null(
                    strstr(json_string_value(json_object_get(json_array_get(items, 0), "account")),
                           "****"));
            } else {
                nothing++;
                assert_int_equal(json_array_size(items), 0);
            }
        } else if (rc == CF_EIO) {
            error++;
        } else {
            assert_int_equal(rc, CF_ETIMEOUT);
            timeout++;
        }
        json_decref(resp);
        json_decref(req);
    }
    printf("found %d, nothing %d, error %d, timeout %d of %d\n", found, nothing, error, timeout, N);
    /* Within about four standard deviations of the weights. */
    assert_in_range(found, N * 68 / 100, N * 72 / 100);
    assert_in_range(nothing, N * 23 / 100, N * 27 / 100);
    assert_in_range(error, N * 25 / 1000, N * 35 / 1000);
    assert_in_range(timeout, N * 15 / 1000, N * 25 / 1000);
    cf_adapter_free(a);
}

static void test_failures_are_drawn_per_try_property_is_not(void **state)
{
    (void)state;
    cf_adapter_options o = sim_options(50, 0, 50, 0);
    cf_adapter *a;
    char err[256];
    int recovered = 0;

    assert_int_equal(cf_adapter_new(&o, &a, err, sizeof err), 0);
    for (int i = 1; i <= 50; i++) {
        char case_no[64];
        json_t *first = NULL;
        snprintf(case_no, sizeof case_no, "(2026)豫0381执%d号", i);
        for (int attempt = 1; attempt <= 12; attempt++) {
            json_t *req = request(case_no, attempt), *resp = NULL;
            int rc = cf_adapter_call(a, "query", req, &resp, err, sizeof err);
            json_decref(req);
            if (rc != 0) {
                assert_int_equal(rc, CF_EIO);
                assert_non_null(strstr(err, "simulated"));
                continue;
            }
            recovered += attempt > 1 && !first;
            /* Every successful try sees the same property. */
            if (first)
                assert_true(json_equal(first, resp));
            else
                first = json_incref(resp);
            json_decref(resp);
        }
        assert_non_null(first);
        json_decref(first);
    }
    assert_true(recovered > 5);
    cf_adapter_free(a);
}

static void test_always_failing(void **state)
{
    (void)state;
    cf_adapter_options o = sim_options(0, 0, 100, 0);
    cf_adapter *a;
    char err[256];
    json_t *req = request("(2026)豫0381执9号", 1), *resp = NULL;

    assert_int_equal(cf_adapter_new(&o, &a, err, sizeof err), 0);
    for (int attempt = 1; attempt <= 20; attempt++) {
        json_object_set_new(req, "attempt", json_integer(attempt));
        assert_int_equal(cf_adapter_call(a, "query", req, &resp, err, sizeof err), CF_EIO);
        assert_null(resp);
    }
    cf_adapter_free(a);
    o = sim_options(0, 0, 0, 100);
    assert_int_equal(cf_adapter_new(&o, &a, err, sizeof err), 0);
    assert_int_equal(cf_adapter_call(a, "query", req, &resp, err, sizeof err), CF_ETIMEOUT);
    cf_adapter_free(a);
    json_decref(req);
}

static void test_bad_options(void **state)
{
    (void)state;
    cf_adapter_options o = sim_options(70, 25, 3, 3);
    cf_adapter *a = (cf_adapter *)&o;
    char err[256];

    assert_int_equal(cf_adapter_new(&o, &a, err, sizeof err), CF_EINVAL);
    assert_null(a);
    assert_non_null(strstr(err, "add up to 100"));
    o.type = CF_ADAPTER_HTTP;
    o.url = "";
    assert_int_equal(cf_adapter_new(&o, &a, err, sizeof err), CF_EINVAL);
    assert_non_null(strstr(err, "worker.url"));
    o = sim_options(100, 0, 0, 0);
    assert_int_equal(cf_adapter_new(&o, &a, err, sizeof err), 0);
    /* The simulator keys on the case: a request without one is refused. */
    {
        json_t *req = json_pack("{s:s}", "category", "deposits"), *resp = NULL;
        assert_int_equal(cf_adapter_call(a, "query", req, &resp, err, sizeof err), CF_EINVAL);
        json_decref(req);
    }
    cf_adapter_free(a);
}

static void test_shapes_and_latency(void **state)
{
    (void)state;
    cf_adapter_options o = sim_options(100, 0, 0, 0);
    cf_adapter *a;
    char err[256];
    json_t *req, *resp = NULL;
    long long t0;

    o.latency_ms = 60;
    o.jitter_ms = 0;
    assert_int_equal(cf_adapter_new(&o, &a, err, sizeof err), 0);
    /* Many categories at once: an answer per category. */
    req = json_pack("{s:s, s:[s, s, s]}", "case", "(2026)豫0381执5号", "categories", "deposits",
                    "vehicles", "real_estate");
    t0 = now_ms();
    assert_int_equal(cf_adapter_call(a, "query", req, &resp, err, sizeof err), 0);
    assert_true(now_ms() - t0 >= 50);
    assert_int_equal(json_object_size(json_object_get(resp, "categories")), 3);
    assert_true(json_is_true(json_object_get(
        json_object_get(json_object_get(resp, "categories"), "vehicles"), "found")));
    assert_non_null(json_string_value(json_object_get(
        json_array_get(
            json_object_get(json_object_get(json_object_get(resp, "categories"), "vehicles"),
                            "items"),
            0),
        "plate")));
    json_decref(req);
    json_decref(resp);
    /* One trip for many cases: an answer per case. */
    req = json_pack("{s:[{s:s, s:s}, {s:s, s:s}]}", "cases", "case", "(2026)豫0381执5号",
                    "category", "real_estate", "case", "(2026)豫0381执6号", "category", "tax");
    assert_int_equal(cf_adapter_call(a, "check", req, &resp, err, sizeof err), 0);
    assert_int_equal(json_array_size(json_object_get(resp, "results")), 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(resp, "results"), 1), "case")),
                        "(2026)豫0381执6号");
    json_decref(req);
    json_decref(resp);
    cf_adapter_free(a);
}

static void *cancel_later(void *arg)
{
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL);
    cf_adapter_cancel(arg);
    return NULL;
}

static void test_cancel_ends_a_slow_call(void **state)
{
    (void)state;
    cf_adapter_options o = sim_options(100, 0, 0, 0);
    cf_adapter *a;
    pthread_t t;
    char err[256];
    json_t *req = request("(2026)豫0381执7号", 1), *resp = NULL;
    long long t0;

    o.latency_ms = 20000;
    assert_int_equal(cf_adapter_new(&o, &a, err, sizeof err), 0);
    pthread_create(&t, NULL, cancel_later, a);
    t0 = now_ms();
    assert_int_equal(cf_adapter_call(a, "query", req, &resp, err, sizeof err), CF_ETIMEOUT);
    assert_true(now_ms() - t0 < 5000);
    assert_non_null(strstr(err, "stopping"));
    pthread_join(t, NULL);
    json_decref(req);
    cf_adapter_free(a);
}

/* ---- HTTP, against a small server of our own ---- */

typedef struct server {
    int fd, port, stop, requests;
    char last_type[128];
    pthread_t thread;
} server;

static void reply(int fd, const char *status, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, strlen(body));
    /* The client may have given up already (the timeout case): no SIGPIPE for that. */
    if (send(fd, head, (size_t)n, MSG_NOSIGNAL) < 0 ||
        send(fd, body, strlen(body), MSG_NOSIGNAL) < 0)
        return;
}

/* Finds header `name` (with its colon) in the request head, ignoring case; NULL when absent. */
static const char *header(const char *head, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = head; *p; p++)
        if (strncasecmp(p, name, n) == 0)
            return p + n;
    return NULL;
}

/* Reads one request (headers and Content-Length body) and answers by its path. */
static void serve_one(server *s, int fd)
{
    char buf[65536], path[256] = "", *end;
    const char *cl, *ct;
    size_t got = 0, want = 0;

    for (;;) {
        ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
        if (n <= 0)
            return;
        got += (size_t)n;
        buf[got] = '\0';
        if ((end = strstr(buf, "\r\n\r\n")) != NULL)
            break;
    }
    cl = header(buf, "Content-Length:");
    if (cl)
        want = (size_t)strtoul(cl, NULL, 10);
    while (got - (size_t)(end + 4 - buf) < want) {
        ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
        if (n <= 0)
            return;
        got += (size_t)n;
        buf[got] = '\0';
    }
    sscanf(buf, "POST %255s", path);
    ct = header(buf, "Content-Type:");
    if (ct)
        sscanf(ct, " %127[^\r\n]", s->last_type);
    s->requests++;
    if (strcmp(path, "/api/echo") == 0) {
        json_t *got_json = json_loadb(end + 4, want, 0, NULL);
        json_t *answer =
            json_pack("{s:s, s:o}", "path", path, "request", got_json ? got_json : json_null());
        char *text = json_dumps(answer, JSON_COMPACT);
        reply(fd, "200 OK", text);
        free(text);
        json_decref(answer);
    } else if (strcmp(path, "/api/busy") == 0) {
        reply(fd, "503 Service Unavailable", "{}");
    } else if (strcmp(path, "/api/refuse") == 0) {
        reply(fd, "422 Unprocessable Entity", "{\"error\":\"no such party\"}");
    } else if (strcmp(path, "/api/slow") == 0) {
        struct timespec ts = {1, 500 * 1000000L};
        nanosleep(&ts, NULL);
        reply(fd, "200 OK", "{}");
    } else if (strcmp(path, "/api/text") == 0) {
        reply(fd, "200 OK", "hello");
    } else {
        reply(fd, "404 Not Found", "{}");
    }
}

static void *server_main(void *arg)
{
    server *s = arg;
    while (!s->stop) {
        struct pollfd p = {s->fd, POLLIN, 0};
        int c;
        if (poll(&p, 1, 50) <= 0)
            continue;
        c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        serve_one(s, c);
        close(c);
    }
    return NULL;
}

static void server_start(server *s)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof addr;

    memset(s, 0, sizeof *s);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&addr, &len), 0);
    s->port = ntohs(addr.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_stop(server *s)
{
    s->stop = 1;
    pthread_join(s->thread, NULL);
    close(s->fd);
}

static void test_http_adapter(void **state)
{
    (void)state;
    server s;
    char url[128], err[512];
    cf_adapter_options o = {.name = "network_query", .type = CF_ADAPTER_HTTP, .timeout_ms = 400};
    cf_adapter *a;
    json_t *req = json_pack("{s:s, s:i, s:[s]}", "case", "(2026)豫0381执11号", "attempt", 1,
                            "categories", "deposits"),
           *resp = NULL;

    server_start(&s);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/", s.port);
    o.url = url;
    assert_int_equal(cf_adapter_new(&o, &a, err, sizeof err), 0);

    /* The request goes as JSON to <url>/<operation>; the answer comes back parsed. */
    assert_int_equal(cf_adapter_call(a, "echo", req, &resp, err, sizeof err), 0);
    assert_string_equal(json_string_value(json_object_get(resp, "path")), "/api/echo");
    assert_true(json_equal(json_object_get(resp, "request"), req));
    assert_non_null(strstr(s.last_type, "application/json"));
    json_decref(resp);
    resp = NULL;

    /* A busy server is a passing failure, a refusal a lasting one. */
    assert_int_equal(cf_adapter_call(a, "busy", req, &resp, err, sizeof err), CF_EIO);
    assert_non_null(strstr(err, "503"));
    assert_int_equal(cf_adapter_call(a, "refuse", req, &resp, err, sizeof err), CF_EINVAL);
    assert_non_null(strstr(err, "422"));
    /* An answer that is not JSON: the partner is broken, trying again will not help. */
    assert_int_equal(cf_adapter_call(a, "text", req, &resp, err, sizeof err), CF_EPARSE);
    assert_null(resp);
    /* No answer within the time: a timeout (the last call: the server sleeps on it). */
    assert_int_equal(cf_adapter_call(a, "slow", req, &resp, err, sizeof err), CF_ETIMEOUT);
    assert_true(s.requests >= 5);
    cf_adapter_free(a);
    server_stop(&s);

    /* Nobody listening any more: a passing failure. */
    assert_int_equal(cf_adapter_new(&o, &a, err, sizeof err), 0);
    assert_int_equal(cf_adapter_call(a, "echo", req, &resp, err, sizeof err), CF_EIO);
    cf_adapter_free(a);
    json_decref(req);
}

/* ---- settings per kind ---- */

static void test_settings_per_kind(void **state)
{
    (void)state;
    char path[] = "/tmp/caseflow-test-adapter-XXXXXX", err[512];
    cf_config cfg;
    cf_worker_settings s;
    FILE *f;
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fprintf(f, "worker:\n  concurrency: 3\n  sim:\n    error: 10\n    found: 63\n"
               "  kinds:\n    six_checks.sim.error: 100\n    six_checks.sim.found: 0\n"
               "    six_checks.sim.nothing: 0\n    six_checks.sim.timeout: 0\n"
               "    auction.adapter: http\n    auction.url: http://127.0.0.1:1/x\n");
    fclose(f);
    assert_int_equal(cf_config_load(&cfg, path, err, sizeof err), 0);
    assert_int_equal(cf_worker_settings_get(&cfg, "network_query", &s, err, sizeof err), 0);
    assert_int_equal(s.concurrency, 3);
    assert_int_equal(s.adapter.weights[CF_SIM_ERROR], 10);
    assert_int_equal(s.adapter.weights[CF_SIM_FOUND], 63);
    assert_int_equal(s.adapter.type, CF_ADAPTER_SIMULATOR);
    assert_int_equal(cf_worker_settings_get(&cfg, "six_checks", &s, err, sizeof err), 0);
    assert_int_equal(s.adapter.weights[CF_SIM_ERROR], 100);
    assert_int_equal(s.adapter.weights[CF_SIM_FOUND], 0);
    assert_int_equal(s.concurrency, 3);
    assert_int_equal(cf_worker_settings_get(&cfg, "auction", &s, err, sizeof err), 0);
    assert_int_equal(s.adapter.type, CF_ADAPTER_HTTP);
    assert_string_equal(s.adapter.url, "http://127.0.0.1:1/x");
    cf_config_free(&cfg);

    /* A mistyped setting is found, whichever kind it is for. */
    f = fopen(path, "w");
    fprintf(f, "worker:\n  kinds:\n    archive.sim.eror: 5\n");
    fclose(f);
    assert_int_equal(cf_config_load(&cfg, path, err, sizeof err), 0);
    assert_int_equal(cf_worker_settings_get(&cfg, "six_checks", &s, err, sizeof err), CF_EINVAL);
    assert_non_null(strstr(err, "sim.eror"));
    cf_config_free(&cfg);
    f = fopen(path, "w");
    fprintf(f, "worker:\n  kinds:\n    six_checks.concurrency: 0\n");
    fclose(f);
    assert_int_equal(cf_config_load(&cfg, path, err, sizeof err), 0);
    assert_int_equal(cf_worker_settings_get(&cfg, "six_checks", &s, err, sizeof err), CF_EINVAL);
    assert_non_null(strstr(err, "from 1 to 256"));
    cf_config_free(&cfg);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_draw_is_a_function_of_its_inputs),
        cmocka_unit_test(test_same_seed_same_answers),
        cmocka_unit_test(test_outcomes_follow_the_weights),
        cmocka_unit_test(test_failures_are_drawn_per_try_property_is_not),
        cmocka_unit_test(test_always_failing),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_shapes_and_latency),
        cmocka_unit_test(test_cancel_ends_a_slow_call),
        cmocka_unit_test(test_http_adapter),
        cmocka_unit_test(test_settings_per_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
