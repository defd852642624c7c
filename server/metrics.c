/*
 * The server's own counters for /metrics: requests by method, route and status, with a histogram
 * of their durations.  Routes are the route table's patterns, never the paths asked for, so the
 * number of series stays bounded whatever clients send.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Upper bounds of the duration buckets, in seconds. */
static const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
enum { NBOUNDS = sizeof bounds / sizeof bounds[0], MAX_SERIES = 1024 };

typedef struct series {
    char method_buf[16];
    const char *route; /* a pattern of the route table, or "-" (static storage) */
    int status;
    unsigned long long count, buckets[NBOUNDS];
    double sum;
} series;

struct cf_metrics {
    pthread_mutex_t mu;
    series s[MAX_SERIES];
    size_t n;
};

cf_metrics *cf_metrics_new(void)
{
    cf_metrics *m = calloc(1, sizeof *m);
    if (m)
        pthread_mutex_init(&m->mu, NULL);
    return m;
}

void cf_metrics_free(cf_metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void cf_metrics_count(cf_metrics *m, const char *method, const char *route, int status,
                      double seconds)
{
    series *x = NULL;
    char meth[16];

    /* Methods outside the usual few are counted together. */
    snprintf(meth, sizeof meth, "%s",
             strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0 ||
                     strcmp(method, "HEAD") == 0 || strcmp(method, "PUT") == 0 ||
                     strcmp(method, "DELETE") == 0 || strcmp(method, "PATCH") == 0
                 ? method
                 : "OTHER");
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n && !x; i++)
        if (m->s[i].status == status && strcmp(m->s[i].route, route) == 0 &&
            strcmp(m->s[i].method_buf, meth) == 0)
            x = &m->s[i];
    if (!x && m->n < MAX_SERIES) {
        x = &m->s[m->n++];
        snprintf(x->method_buf, sizeof x->method_buf, "%s", meth);
        x->route = route;
        x->status = status;
    }
    if (x) {
        x->count++;
        x->sum += seconds;
        for (int b = 0; b < NBOUNDS; b++)
            if (seconds <= bounds[b])
                x->buckets[b]++;
    }
    pthread_mutex_unlock(&m->mu);
}

static void append(char **out, size_t *len, size_t *cap, const char *fmt, ...) CF_PRINTF(4, 5);

static void append(char **out, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        size_t room = *cap - *len;
        va_start(ap, fmt);
        n = vsnprintf(*out ? *out + *len : NULL, *out ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (*out && (size_t)n < room) {
            *len += (size_t)n;
            return;
        }
        {
            size_t ncap = *cap ? *cap * 2 : 8192;
            char *b;
            while (ncap < *len + (size_t)n + 1)
                ncap *= 2;
            if (!(b = realloc(*out, ncap)))
                return;
            *out = b;
            *cap = ncap;
        }
    }
}

void cf_metrics_write(cf_metrics *m, char **out, size_t *len, size_t *cap)
{
    append(out, len, cap,
           "# HELP caseflow_http_requests_total HTTP requests answered, by route and status.\n"
           "# TYPE caseflow_http_requests_total counter\n");
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n; i++)
        append(out, len, cap,
               "caseflow_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %llu\n",
               m->s[i].method_buf, m->s[i].route, m->s[i].status, m->s[i].count);
    append(out, len, cap,
           "# HELP caseflow_http_request_duration_seconds Time from a request's headers to its "
           "answer.\n# TYPE caseflow_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < m->n; i++) {
        const series *x = &m->s[i];
        for (int b = 0; b < NBOUNDS; b++)
            append(out, len, cap,
                   "caseflow_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\","
                   "status=\"%d\",le=\"%g\"} %llu\n",
                   x->method_buf, x->route, x->status, bounds[b], x->buckets[b]);
        append(out, len, cap,
               "caseflow_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\","
               "status=\"%d\",le=\"+Inf\"} %llu\n"
               "caseflow_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\","
               "status=\"%d\"} %.6f\n"
               "caseflow_http_request_duration_seconds_count{method=\"%s\",route=\"%s\","
               "status=\"%d\"} %llu\n",
               x->method_buf, x->route, x->status, x->count, x->method_buf, x->route, x->status,
               x->sum, x->method_buf, x->route, x->status, x->count);
    }
    pthread_mutex_unlock(&m->mu);
}
