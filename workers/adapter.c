/*
 * The adapters to outside systems: the simulator (sim/outside.c) and the HTTP client (libcurl,
 * JSON in and out).
 */
#include "adapter.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Idle HTTP handles kept for reuse (their connections stay open), and the largest answer read. */
enum { IDLE_HANDLES = 16, RESPONSE_MAX = 16 * 1024 * 1024, SLICE_MS = 5 };

struct cf_adapter {
    enum cf_adapter_type type;
    char name[64];
    char *url;
    int timeout_ms;
    cf_sim_world sim; /* the simulator's world; its `cancelled` points at ours */
    atomic_int cancelled;
    pthread_mutex_t lock; /* guards idle */
    CURL *idle[IDLE_HANDLES];
    int nidle;
};

/* ---- HTTP ---- */

typedef struct buffer {
    char *data;
    size_t len;
    int too_big;
} buffer;

static size_t on_data(char *p, size_t size, size_t n, void *opaque)
{
    buffer *b = opaque;
    size_t add = size * n;
    char *d;

    if (b->len + add > RESPONSE_MAX) {
        b->too_big = 1;
        return 0;
    }
    d = realloc(b->data, b->len + add + 1);
    if (!d)
        return 0;
    memcpy(d + b->len, p, add);
    b->len += add;
    d[b->len] = '\0';
    b->data = d;
    return add;
}

static int on_progress(void *opaque, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    cf_adapter *a = opaque;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return atomic_load(&a->cancelled) != 0; /* non-zero aborts the transfer */
}

static CURL *take_handle(cf_adapter *a)
{
    CURL *h = NULL;
    pthread_mutex_lock(&a->lock);
    if (a->nidle > 0)
        h = a->idle[--a->nidle];
    pthread_mutex_unlock(&a->lock);
    if (h)
        curl_easy_reset(h);
    else
        h = curl_easy_init();
    return h;
}

static void give_handle(cf_adapter *a, CURL *h)
{
    pthread_mutex_lock(&a->lock);
    if (a->nidle < IDLE_HANDLES) {
        a->idle[a->nidle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&a->lock);
    if (h)
        curl_easy_cleanup(h);
}

static int http_call(cf_adapter *a, const char *operation, const json_t *req, json_t **response,
                     char *err, size_t errsz)
{
    char url[2048], curlerr[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    buffer body = {0};
    char *payload = json_dumps(req, JSON_COMPACT);
    CURL *h = take_handle(a);
    CURLcode cc;
    long status = 0;
    json_t *answer;
    int rc;

    if (!payload || !h) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "%s: out of memory", a->name);
        goto out;
    }
    snprintf(url, sizeof url, "%s/%s", a->url, operation);
    headers = curl_slist_append(headers, "Content-Type: application/json; charset=utf-8");
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)a->timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for timeouts */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, a);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curlerr);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "caseflow-worker");
    cc = curl_easy_perform(h);
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        rc = cf_errf(err, errsz, CF_ETIMEOUT, "%s: POST %s: no answer within %d ms", a->name, url,
                     a->timeout_ms);
        goto out;
    }
    if (cc == CURLE_ABORTED_BY_CALLBACK) {
        rc = cf_errf(err, errsz, CF_ETIMEOUT, "%s: POST %s cancelled: the worker is stopping",
                     a->name, url);
        goto out;
    }
    if (cc != CURLE_OK) {
        rc = cf_errf(err, errsz, body.too_big ? CF_ERANGE : CF_EIO, "%s: POST %s: %s", a->name, url,
                     body.too_big ? "answer over 16 MB"
                     : *curlerr   ? curlerr
                                  : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status == 408 || status == 429 || status >= 500) {
        /* The other side is busy or broken for now: worth another try. */
        rc = cf_errf(err, errsz, status == 408 ? CF_ETIMEOUT : CF_EIO, "%s: POST %s: HTTP %ld",
                     a->name, url, status);
        goto out;
    }
    if (status < 200 || status >= 300) {
        rc = cf_errf(err, errsz, CF_EINVAL, "%s: POST %s: refused with HTTP %ld", a->name, url,
                     status);
        goto out;
    }
    answer = body.data ? json_loadb(body.data, body.len, 0, NULL) : NULL;
    if (!json_is_object(answer)) {
        json_decref(answer);
        rc = cf_errf(err, errsz, CF_EPARSE, "%s: POST %s: the answer is not a JSON object", a->name,
                     url);
        goto out;
    }
    *response = answer;
    rc = 0;
out:
    curl_slist_free_all(headers);
    if (h)
        give_handle(a, h);
    free(body.data);
    free(payload);
    return rc;
}

/* ---- the interface ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_start(void)
{
    /* Not thread-safe itself: done once, before any thread calls. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int cf_adapter_new(const cf_adapter_options *opt, cf_adapter **out, char *err, size_t errsz)
{
    cf_adapter *a;
    int sum = 0;

    *out = NULL;
    for (int i = 0; i < CF_SIM_OUTCOMES; i++) {
        if (opt->weights[i] < 0)
            return cf_errf(err, errsz, CF_EINVAL, "%s: simulator weights must not be negative",
                           opt->name);
        sum += opt->weights[i];
    }
    if (opt->type == CF_ADAPTER_SIMULATOR && sum != 100)
        return cf_errf(err, errsz, CF_EINVAL,
                       "%s: worker.sim.found, .nothing, .error and .timeout must add up to 100, "
                       "not %d (%d + %d + %d + %d)",
                       opt->name, sum, opt->weights[0], opt->weights[1], opt->weights[2],
                       opt->weights[3]);
    if (opt->type == CF_ADAPTER_HTTP && (!opt->url || !*opt->url))
        return cf_errf(err, errsz, CF_EINVAL, "%s: the HTTP adapter needs worker.url", opt->name);
    a = calloc(1, sizeof *a);
    if (!a)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    a->type = opt->type;
    snprintf(a->name, sizeof a->name, "%s", opt->name ? opt->name : "adapter");
    if (opt->url) {
        size_t n = strlen(opt->url);
        while (n > 0 && opt->url[n - 1] == '/')
            n--;
        a->url = strndup(opt->url, n);
        if (!a->url) {
            free(a);
            return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        }
    }
    a->timeout_ms = opt->timeout_ms > 0 ? opt->timeout_ms : 10000;
    atomic_init(&a->cancelled, 0);
    a->sim = (cf_sim_world){.name = a->name,
                            .seed = opt->seed,
                            .latency_ms = opt->latency_ms,
                            .jitter_ms = opt->jitter_ms,
                            .cancelled = &a->cancelled};
    memcpy(a->sim.weights, opt->weights, sizeof a->sim.weights);
    pthread_mutex_init(&a->lock, NULL);
    if (a->type == CF_ADAPTER_HTTP)
        pthread_once(&curl_once, curl_start);
    *out = a;
    return 0;
}

int cf_adapter_call(cf_adapter *a, const char *operation, const json_t *request, json_t **response,
                    char *err, size_t errsz)
{
    *response = NULL;
    if (!json_is_object(request))
        return cf_errf(err, errsz, CF_EINVAL, "%s: %s: the request must be a JSON object", a->name,
                       operation);
    if (atomic_load(&a->cancelled))
        return cf_errf(err, errsz, CF_ETIMEOUT, "%s: %s cancelled: the worker is stopping", a->name,
                       operation);
    if (a->type == CF_ADAPTER_HTTP)
        return http_call(a, operation, request, response, err, errsz);
    return cf_sim_call(&a->sim, operation, request, response, err, errsz);
}

void cf_adapter_cancel(cf_adapter *a)
{
    if (a)
        atomic_store(&a->cancelled, 1);
}

void cf_adapter_free(cf_adapter *a)
{
    if (!a)
        return;
    for (int i = 0; i < a->nidle; i++)
        curl_easy_cleanup(a->idle[i]);
    pthread_mutex_destroy(&a->lock);
    free(a->url);
    free(a);
}

double cf_adapter_draw(unsigned long long seed, const char *a, const char *b, const char *c, long n)
{
    return cf_sim_draw(seed, a, b, c, n);
}

int cf_adapter_trip(cf_adapter *a, const char *operation, const char *group_key, const char *group,
                    const char *first_case, int attempt, json_t *cases, json_t **response,
                    char *err, size_t errsz)
{
    char trip[512];
    json_t *req;
    int rc;

    snprintf(trip, sizeof trip, "%s:%s:%zu", group, first_case, json_array_size(cases));
    req = json_pack("{s:s, s:s, s:s, s:i, s:o}", group_key, group, "case", first_case, "trip", trip,
                    "attempt", attempt, "cases", cases);
    if (!req)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    rc = cf_adapter_call(a, operation, req, response, err, errsz);
    json_decref(req);
    return rc;
}

const json_t *cf_adapter_result_for(const json_t *response, const char *case_no)
{
    const json_t *r;
    size_t i;

    json_array_foreach (json_object_get(response, "results"), i, r) {
        const char *c = json_string_value(json_object_get(r, "case"));
        if (c && strcmp(c, case_no) == 0)
            return r;
    }
    return NULL;
}
