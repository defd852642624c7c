/*
 * bench/api: the workplace API (`caseflow serve`) under load on a real local stack, beside the
 * raw limits measured in the same run.
 *
 *  1. list: 100,000 tasks stored (60 % worker tasks, 30 % done staff tasks, 10 % open or
 *     claimed staff tasks over the 14 posts: about 700 on the intake post's queue); 200 members
 *     of staff of the intake post, each logged in with a session of their own; Debian's wrk,
 *     200 connections from 2 threads for 20 s, GETs /api/v1/posts/intake/tasks (the first page
 *     of 50, with the counts), each request with one of the 200 sessions in turn: first with
 *     each connection listing once a second (200 people with their queue open, refreshing it),
 *     then back to back (the server's saturation, where a closed loop of 200 makes the latency
 *     200 / the rate).  p50, p99 and the rate, against the target p99 <= 20 ms.
 *     raw: the same listing (engine/queue.c's cf_queue_list, the same two SELECTs) from as many
 *     threads and connections as the server's pool has (server.db_connections, 8), no HTTP.
 *     The tasks are vacuumed first, as autovacuum would have done on a table this size.
 *  2. ingest: N case.filed events as NDJSON batches of B from 4 clients to POST /api/v1/events
 *     with a service token, counted until the last batch is answered (every event acknowledged
 *     by Kafka), against the target >= 5,000 events/s.
 *     raw: the same messages produced with librdkafka's idempotent producer (acks=all) and
 *     flushed.
 *
 * The engine does not run: listing reads the tasks table, and ingest answers once Kafka has the
 * events.  Run it through bench/run, which builds without sanitizers and starts a stack.  It
 * prints figures; it asserts nothing.
 */
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/store.h"
#include "engine/queue.h"
#include "../tests/integration/kit/kit.h"

enum { TASKS = 100000, STAFF = 200, POOL = 8 };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of `v` (n values, sorted here). */
static double quantile(double *v, size_t n, double q)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, by_value);
    return v[(size_t)fmin((double)n - 1, floor(q * (double)n))];
}

static void die_sql(kit *k, const char *sql)
{
    PGresult *res = PQexec(k->db, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "bench/api: %s: %s\n", sql, PQresultErrorMessage(res));
        exit(1);
    }
    PQclear(res);
}

/* ---- the data ------------------------------------------------------------------------------ */

static void store_tasks(kit *k)
{
    char sql[3000];

    snprintf(sql, sizeof sql,
             "insert into tasks (task_id, case_no, activity, kind, post, worker, status, title, "
             "due_at, claimed_by, created_at, updated_at, court) "
             "select 'b-' || g, '(2026)豫0381执' || (g %% 25000 + 1) || '号', "
             "case when g %% 10 < 6 then 'network_query' else 'intake_check' end, "
             "case when g %% 10 < 6 then 'network_query' else 'intake_check' end, "
             "case when g %% 10 < 6 then null else (array['intake', 'filing_review', "
             "'payment_clerk', 'property_control', 'auction_clerk', 'archive_group', "
             "'bureau_lead', 'terminate_handler', 'team_1', 'team_2', 'team_3', 'team_4', "
             "'team_5', 'team_6'])[g / 10 %% 14 + 1] end, g %% 10 < 6, "
             "case when g %% 10 < 9 then 'done' when g %% 3 = 0 then 'claimed' else 'open' end, "
             "'立案信息核查', timestamptz '2026-03-02 17:30+08' + (g %% 2000) * interval '1 "
             "hour', case when g %% 10 = 9 and g %% 3 = 0 then 'bench-' || (g %% %d) end, "
             "timestamptz '2026-03-02 08:00+08' + g * interval '1 minute', timestamptz "
             "'2026-03-02 08:00+08' + g * interval '1 minute', '豫0381' from generate_series(1, "
             "%d) g",
             STAFF, TASKS);
    die_sql(k, sql);
    die_sql(k, "vacuum analyze tasks");
}

/* Makes STAFF accounts of the intake post, bench-0 .. bench-199, all with one password. */
static void hire(kit *k)
{
    const char *args[] = {"users",  "add",    "bench-0",          "--role", "staff",
                          "--post", "intake", "--password-stdin", NULL};
    char *out = NULL, *err = NULL, sql[400];

    if (kit_run_in(k, "bench password 0\n", args, &out, &err) != 0) {
        fprintf(stderr, "bench/api: caseflow users add: %s\n", err ? err : "");
        exit(1);
    }
    free(out);
    free(err);
    /* The same Argon2id hash for the others: one hashing instead of two hundred. */
    snprintf(sql, sizeof sql,
             "insert into accounts (name, role, post, password_hash) select 'bench-' || g, "
             "'staff', 'intake', (select password_hash from accounts where name = 'bench-0') "
             "from generate_series(1, %d) g",
             STAFF - 1);
    die_sql(k, sql);
}

/* ---- HTTP with libcurl ----------------------------------------------------------------------- */

/* POSTs `body` of `ctype` to `url` on the handle `c` (its connection kept) with the extra
 * header `hdr` (or NULL); frees what `r` held, fills it and returns the status. */
static long post(CURL *c, const char *url, const char *ctype, const char *body, size_t len,
                 const char *hdr, kit_reply *r)
{
    const char *const headers[] = {hdr, NULL};
    const kit_req q = {.method = "POST",
                       .url = url,
                       .ctype = ctype,
                       .body = body,
                       .len = len,
                       .headers = headers,
                       .curl = c};
    kit_reply_free(r);
    return kit_request(&q, r);
}

/* ---- 1. listing a post's queue -----------------------------------------------------------------
 */

/* The load average of the last minute: other work on the machine, to read the figures by. */
static double load(void)
{
    double v = NAN;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f && fscanf(f, "%lf", &v) != 1)
        v = NAN;
    if (f)
        fclose(f);
    return v;
}

/*
 * Runs wrk against the list route with the sessions in `cookies`, each connection waiting
 * `pace_ms` after each answer before its next request (0: none, the server's saturation);
 * prints the figures.
 */
static void list_http(kit *k, int port, char cookies[][256], int n, int pace_ms)
{
    char lua[700], cmd[2000], line[512];
    double p50 = NAN, p99 = NAN, rate = NAN;
    long long non2xx = 0, errors = 0;
    FILE *f;

    snprintf(lua, sizeof lua, "%s/bench-list.lua", k->logdir);
    if (!(f = fopen(lua, "w"))) {
        perror(lua);
        return;
    }
    /* Each request takes the next session: 200 people, not one person 200 times. */
    fprintf(f, "local cookies = {\n");
    for (int i = 0; i < n; i++)
        fprintf(f, "  \"cf_session=%s\",\n", cookies[i]);
    fprintf(f, "}\nlocal i = 0\nrequest = function()\n  i = i + 1\n"
               "  return wrk.format(\"GET\", nil, {[\"Cookie\"] = cookies[i %% #cookies + 1]})\n"
               "end\n");
    /* Spread over the pace, so that the 200 do not keep in step and come as one burst. */
    if (pace_ms > 0)
        fprintf(f, "delay = function()\n  return math.random(%d, %d)\nend\n", pace_ms / 2,
                pace_ms * 3 / 2);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "wrk -t2 -c%d -d20s --timeout 10s --latency -s %s "
             "http://127.0.0.1:%d/api/v1/posts/intake/tasks 2>&1",
             n, lua, port);
    if (!(f = popen(cmd, "r"))) {
        perror("wrk");
        return;
    }
    while (fgets(line, sizeof line, f)) {
        double v;
        char unit[8];
        int pct;
        fputs(line, stderr);
        if (sscanf(line, " %d%% %lf%7s", &pct, &v, unit) == 3 && (pct == 50 || pct == 99)) {
            v *= strcmp(unit, "us") == 0 ? 0.001 : strcmp(unit, "s") == 0 ? 1000 : 1;
            *(pct == 50 ? &p50 : &p99) = v;
        }
        sscanf(line, "Requests/sec: %lf", &rate);
        sscanf(line, "  Non-2xx or 3xx responses: %lld", &non2xx);
        if (strstr(line, "Socket errors"))
            errors = 1;
    }
    if (pclose(f) != 0)
        fprintf(stderr, "bench/api: wrk failed (is it installed? scripts/setup installs it)\n");
    if (pace_ms > 0)
        printf(
            "list:     GET /api/v1/posts/intake/tasks, %d clients each listing about every %d ms: "
            "p50 %.2f ms, p99 %.2f ms, %.0f requests/s%s (target p99 <= 20 ms: %s)\n",
            n, pace_ms, p50, p99, rate, errors ? ", socket errors" : "",
            p99 <= 20 ? "met" : "NOT met");
    else
        printf("list:     GET /api/v1/posts/intake/tasks, %d clients back to back (saturation): "
               "p50 %.2f ms, p99 %.2f ms, %.0f requests/s%s (target p99 <= 20 ms: %s)\n",
               n, p50, p99, rate, errors ? ", socket errors" : "", p99 <= 20 ? "met" : "NOT met");
    if (non2xx)
        printf("          %lld answers were not 200\n", non2xx);
}

typedef struct raw_list {
    const char *pg;
    double until;
    double *lat;
    size_t n, cap;
    int failed;
} raw_list;

static void *raw_list_thread(void *arg)
{
    raw_list *r = arg;
    char err[512];
    PGconn *db = cf_store_connect(r->pg, err, sizeof err);
    cf_queue_filter f = {.post = "intake", .limit = 50};

    if (!db) {
        fprintf(stderr, "bench/api: %s\n", err);
        r->failed = 1;
        return NULL;
    }
    while (now_s() < r->until) {
        cf_task_list l;
        double t0 = now_s();
        if (cf_queue_list(db, &f, &l, err, sizeof err) != 0) {
            fprintf(stderr, "bench/api: %s\n", err);
            r->failed = 1;
            cf_task_list_free(&l);
            break;
        }
        cf_task_list_free(&l);
        if (r->n == r->cap) {
            double *m = realloc(r->lat, (r->cap = r->cap ? r->cap * 2 : 4096) * sizeof *m);
            if (!m)
                break;
            r->lat = m;
        }
        r->lat[r->n++] = (now_s() - t0) * 1000;
    }
    PQfinish(db);
    return NULL;
}

/* The same listing straight from the engine library, POOL threads on POOL connections. */
static void list_raw(kit *k)
{
    raw_list r[POOL];
    pthread_t t[POOL];
    double *all = NULL, t0 = now_s(), secs;
    size_t n = 0;

    memset(r, 0, sizeof r);
    for (int i = 0; i < POOL; i++) {
        r[i].pg = k->pg;
        r[i].until = t0 + 10;
        pthread_create(&t[i], NULL, raw_list_thread, &r[i]);
    }
    for (int i = 0; i < POOL; i++) {
        pthread_join(t[i], NULL);
        n += r[i].n;
    }
    secs = now_s() - t0;
    all = calloc(n + 1, sizeof *all);
    n = 0;
    for (int i = 0; i < POOL; i++) {
        memcpy(all + n, r[i].lat, r[i].n * sizeof *all);
        n += r[i].n;
        free(r[i].lat);
    }
    printf("raw list: cf_queue_list (the same SELECTs), %d connections, no HTTP: p50 %.2f ms, "
           "p99 %.2f ms, %.0f lists/s\n",
           POOL, quantile(all, n, 0.5), quantile(all, n, 0.99), (double)n / secs);
    free(all);
}

/* ---- 2. ingest ----------------------------------------------------------------------------- */

typedef struct ingest {
    const char *url, *auth;
    char **bodies; /* one NDJSON batch each */
    size_t *lens;
    int nbatches, batch;
    int next; /* the next batch to send */
    long long accepted;
    int failed;
    pthread_mutex_t mu;
} ingest;

static void *ingest_thread(void *arg)
{
    ingest *g = arg;
    CURL *c = curl_easy_init();
    kit_reply b = {0};

    for (;;) {
        int i;
        long status;
        json_t *doc;
        pthread_mutex_lock(&g->mu);
        i = g->next++;
        pthread_mutex_unlock(&g->mu);
        if (i >= g->nbatches)
            break;
        status = post(c, g->url, "application/x-ndjson", g->bodies[i], g->lens[i], g->auth, &b);
        doc = status == 200 && b.body ? json_loads(b.body, 0, NULL) : NULL;
        pthread_mutex_lock(&g->mu);
        if (doc)
            g->accepted += json_integer_value(json_object_get(doc, "accepted"));
        else if (g->failed++ == 0)
            fprintf(stderr, "bench/api: ingest answered %ld: %.300s\n", status,
                    b.body ? b.body : "");
        pthread_mutex_unlock(&g->mu);
        json_decref(doc);
    }
    kit_reply_free(&b);
    curl_easy_cleanup(c);
    return NULL;
}

static void ingest_bench(kit *k, int port, int events, int batch)
{
    char url[128], token[160], auth[200];
    ingest g;
    pthread_t t[4];
    double t0, secs, http_rate, raw_rate;

    kit_add_token(k, "bench-filing", token, sizeof token);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/events", port);
    memset(&g, 0, sizeof g);
    pthread_mutex_init(&g.mu, NULL);
    g.url = url;
    g.auth = auth;
    g.batch = batch;
    g.nbatches = (events + batch - 1) / batch;
    g.bodies = calloc((size_t)g.nbatches, sizeof *g.bodies);
    g.lens = calloc((size_t)g.nbatches, sizeof *g.lens);
    for (int i = 0; i < g.nbatches; i++) {
        size_t cap = 0;
        FILE *m = open_memstream(&g.bodies[i], &cap);
        for (int j = 0; j < batch && i * batch + j < events; j++) {
            char case_no[64], id[64], *line;
            int n = i * batch + j;
            json_t *ev;
            snprintf(case_no, sizeof case_no, "(2026)豫0381执%d号", 100000 + n);
            snprintf(id, sizeof id, "bench-ingest-%d", n);
            ev = kit_filed(case_no, id, "2026-03-02T09:00:00+08:00");
            line = json_dumps(ev, JSON_COMPACT);
            fprintf(m, "%s\n", line);
            free(line);
            json_decref(ev);
        }
        fclose(m);
        g.lens[i] = cap;
    }
    t0 = now_s();
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, ingest_thread, &g);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    secs = now_s() - t0;
    http_rate = (double)g.accepted / secs;
    printf("ingest:   %lld of %d events accepted in %.2f s = %.0f events/s (NDJSON batches of %d, "
           "4 clients; target >= 5,000: %s)\n",
           g.accepted, events, secs, http_rate, batch, http_rate >= 5000 ? "met" : "NOT met");

    /* The raw limit: the same messages, produced and flushed. */
    t0 = now_s();
    for (int i = 0; i < g.nbatches; i++) {
        char *p = g.bodies[i], *end = p + g.lens[i];
        while (p < end) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            json_t *ev = json_loadb(p, (size_t)(nl - p), 0, NULL);
            const char *key = json_string_value(json_object_get(ev, "case"));
            kit_send(k, NULL, key, p, (size_t)(nl - p));
            json_decref(ev);
            p = nl + 1;
        }
    }
    kit_flush(k);
    secs = now_s() - t0;
    raw_rate = (double)events / secs;
    printf("raw produce: %d events in %.2f s = %.0f events/s (librdkafka, idempotent, flushed); "
           "ingest / raw = %.2f\n",
           events, secs, raw_rate, http_rate / raw_rate);
    for (int i = 0; i < g.nbatches; i++)
        free(g.bodies[i]);
    free(g.bodies);
    free(g.lens);
    pthread_mutex_destroy(&g.mu);
}

int main(int argc, char **argv)
{
    int events = argc > 1 ? atoi(argv[1]) : 100000, batch = argc > 2 ? atoi(argv[2]) : 1000;
    static char cookies[STAFF][256];
    const char *const quiet[] = {"CASEFLOW_LOG_LEVEL=warn", NULL};
    char url[128];
    kit k;
    pid_t server;
    int port, in = 0;
    CURL *c;
    kit_reply b = {0};

    curl_global_init(CURL_GLOBAL_DEFAULT);
    kit_init(&k, "benchapi");
    printf("bench/api: %d tasks stored, %d staff sessions; ingest of %d events in NDJSON batches "
           "of %d; 2 cores, everything local\n",
           TASKS, STAFF, events, batch);
    store_tasks(&k);
    hire(&k);
    server = kit_serve_start(&k, quiet, &port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/login", port);
    c = curl_easy_init();
    for (int i = 0; i < STAFF; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"name\": \"bench-%d\", \"password\": \"bench password 0\"}",
                 i);
        if (post(c, url, "application/json", body, strlen(body), NULL, &b) == 200 && b.cookie[0])
            snprintf(cookies[in++], sizeof cookies[0], "%s", b.cookie);
    }
    curl_easy_cleanup(c);
    kit_reply_free(&b);
    if (in < STAFF) {
        fprintf(stderr, "bench/api: only %d of %d logins worked\n", in, STAFF);
        return 1;
    }
    printf("load:     %.2f (1-minute load average before the runs)\n", load());
    list_http(&k, port, cookies, in, 1000);
    list_http(&k, port, cookies, in, 0);
    list_raw(&k);
    ingest_bench(&k, port, events, batch);
    printf("load:     %.2f (1-minute load average after the runs)\n", load());
    kit_engine_stop(&k, server, SIGTERM);
    kit_done(&k);
    curl_global_cleanup();
    return 0;
}
