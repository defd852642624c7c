/*
 * The HTTP plumbing on libmicrohttpd: gathering a request's body within the configured limit,
 * reading headers and parameters, and turning a handler's answer into a response with the
 * headers every answer carries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/store.h"
#include "base/utf8.h"
#include "internal.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cf_utf8_ok(const char *s)
{
    size_t n = strlen(s);
    if (cf_utf8_whole(s, n) != n)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

void cf_utf8_clean(const char *in, char *out, size_t n)
{
    size_t left = strlen(in), k = 0;

    if (n == 0)
        return;
    while (left > 0 && k + 1 < n) {
        size_t whole = cf_utf8_whole(in, left), fit;
        if (whole == 0) { /* a byte that starts no whole character */
            out[k++] = '?';
            in++;
            left--;
            continue;
        }
        /* What fits, ending on a whole character. */
        fit = whole <= n - 1 - k ? whole : cf_utf8_whole(in, n - 1 - k);
        memcpy(out + k, in, fit);
        k += fit;
        in += fit;
        left -= fit;
        if (fit < whole)
            break;
    }
    out[k] = '\0';
}

const char *cf_req_header(cf_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *cf_req_query(cf_req *r, const char *name, int *bad)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
    if (v && (strlen(v) > 1000 || !cf_utf8_ok(v))) {
        char detail[160];
        snprintf(detail, sizeof detail,
                 "the query parameter '%s' must be UTF-8 text of at most 1,000 bytes", name);
        cf_reply_problem(r, 400, "bad-parameter", detail, json_pack("{s:s}", "parameter", name));
        *bad = 1;
        return NULL;
    }
    return v;
}

long cf_req_query_int(cf_req *r, const char *name, long dflt, long min, long max, int *bad)
{
    const char *v = cf_req_query(r, name, bad);
    char *end;
    long n;

    if (*bad)
        return -1;
    if (!v)
        return dflt;
    n = strtol(v, &end, 10);
    if (*v == '\0' || *end || n < min || n > max) {
        char detail[200];
        snprintf(detail, sizeof detail,
                 "the query parameter '%s' is a whole number from %ld to %ld", name, min, max);
        cf_reply_problem(r, 400, "bad-parameter", detail, json_pack("{s:s}", "parameter", name));
        *bad = 1;
        return -1;
    }
    return n;
}

json_t *cf_req_json(cf_req *r)
{
    const char *ctype = cf_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    json_error_t jerr;
    json_t *v;

    if (!ctype || strncmp(ctype, "application/json", 16) != 0 ||
        (ctype[16] != '\0' && ctype[16] != ';' && ctype[16] != ' ')) {
        cf_reply_problem(r, 415, "unsupported-media-type",
                         "send the body as application/json (UTF-8)", NULL);
        return NULL;
    }
    v = json_loadb(r->body ? r->body : "", r->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v) {
        cf_reply_bad_json(r, &jerr);
        return NULL;
    }
    if (!json_is_object(v)) {
        cf_reply_problem(r, 422, "not-an-object", "the body must be a JSON object",
                         json_pack("{s:s}", "field", ""));
        json_decref(v);
        return NULL;
    }
    return v;
}

PGconn *cf_req_db_quiet(cf_srv *s, cf_req *r, int wait_ms)
{
    char err[256];
    if (!r->db)
        r->db = cf_pool_get(s->pool, wait_ms, err, sizeof err);
    return r->db;
}

PGconn *cf_req_db(cf_srv *s, cf_req *r)
{
    char err[512];
    if (!r->db && !(r->db = cf_pool_get(s->pool, 5000, err, sizeof err))) {
        r->retry_after = 5;
        cf_reply_problem(r, 503, "database-unavailable", err, NULL);
    }
    return r->db;
}

/* ---- answers -------------------------------------------------------------------------------- */

static void set_answer(cf_req *r, int status, const char *ctype, char *text, size_t len)
{
    free(r->resp);
    r->status = status;
    r->ctype = ctype;
    r->resp = text;
    r->resp_len = len;
}

void cf_reply_text(cf_req *r, int status, const char *ctype, char *text, size_t len)
{
    set_answer(r, status, ctype, text, len);
}

void cf_reply_json(cf_req *r, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        cf_reply_problem(r, 500, "out-of-memory", "the answer could not be written", NULL);
        return;
    }
    set_answer(r, status, "application/json", text, strlen(text));
}

static const char *title_of(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return status >= 500 ? "Internal Server Error" : "Error";
    }
}

void cf_reply_problem(cf_req *r, int status, const char *slug, const char *detail, json_t *extra)
{
    char type[128], clean[2048], instance[1024];
    json_t *p;
    char *text;

    /* The detail may quote a request, cut short; the path may be anything a client sent. */
    snprintf(type, sizeof type, "urn:caseflow:problem:%s", slug);
    cf_utf8_clean(detail ? detail : "", clean, sizeof clean);
    cf_utf8_clean(r->path ? r->path : "", instance, sizeof instance);
    p = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title", title_of(status), "status",
                  status, "detail", clean, "instance", instance);
    if (p && extra)
        json_object_update(p, extra);
    json_decref(extra);
    text = p ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    if (!text) {
        static const char oom[] =
            "{\"type\":\"urn:caseflow:problem:out-of-memory\",\"status\":500}";
        text = strdup(oom);
        status = 500;
    }
    set_answer(r, status, "application/problem+json", text, text ? strlen(text) : 0);
}

void cf_reply_bad_json(cf_req *r, const json_error_t *e)
{
    char detail[300];
    snprintf(detail, sizeof detail, "the body is not JSON: %s", e->text);
    cf_reply_problem(r, 400, "bad-json", detail,
                     json_pack("{s:i, s:i, s:i}", "line", e->line, "column", e->column, "position",
                               e->position));
}

void cf_reply_error(cf_req *r, int rc, const char *err)
{
    switch (rc) {
    case CF_ENOTFOUND: cf_reply_problem(r, 404, "not-found", err, NULL); break;
    case CF_EDB:
        if (r->db && PQstatus(r->db) != CONNECTION_OK) {
            r->retry_after = 5;
            cf_reply_problem(r, 503, "database-unavailable",
                             "PostgreSQL does not answer: try again", NULL);
        } else {
            cf_reply_problem(r, 500, "database-error", err, NULL);
        }
        break;
    case CF_EKAFKA:
    case CF_ETIMEOUT:
        r->retry_after = 5;
        cf_reply_problem(r, 503, "kafka-unavailable", err, NULL);
        break;
    default: cf_reply_problem(r, 500, "internal", err, NULL);
    }
}

/* ---- libmicrohttpd's callbacks -------------------------------------------------------------- */

static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

size_t cf_http_unescape(void *cls, struct MHD_Connection *conn, char *text)
{
    char *in = text, *out = text;
    (void)cls;
    (void)conn;

    /* As libmicrohttpd's own, but "%00" stays as it is: a decoded NUL would cut the path short
     * in every C string after it ("/index.html%00.js" would serve /index.html). */
    while (*in) {
        int hi, lo;
        if (in[0] == '%' && (hi = hex_digit(in[1])) >= 0 && (lo = hex_digit(in[2])) >= 0 &&
            (hi | lo) != 0) {
            *out++ = (char)(hi * 16 + lo);
            in += 3;
        } else {
            *out++ = *in++;
        }
    }
    *out = '\0';
    return (size_t)(out - text);
}

/* Queues the request's answer with the headers every answer carries. */
static enum MHD_Result send_answer(cf_srv *s, cf_req *r)
{
    struct MHD_Response *resp;
    enum MHD_Result ok;
    char retry[16];

    if (!r->status)
        cf_reply_problem(r, 500, "internal", "the handler gave no answer", NULL);
    if (r->reader) {
        /* A stream: the reader's state goes with the response. */
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, r->reader, r->reader_cls,
                                                 r->reader_free);
        if (!resp)
            return MHD_NO;
        r->reader = NULL;
        r->reader_cls = NULL;
    } else {
        resp = MHD_create_response_from_buffer(r->resp_len, r->resp, MHD_RESPMEM_MUST_FREE);
        if (!resp)
            return MHD_NO;
        r->resp = NULL; /* the response owns it now */
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, r->cache ? r->cache : "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            r->csp ? r->csp : "default-src 'none'");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    if (r->etag[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, r->etag);
    if (r->disposition[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, r->disposition);
    if (s->tls)
        MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
    if (r->cookie[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, r->cookie);
    if (r->allow[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (r->status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer realm=\"caseflow\"");
    if (r->retry_after > 0) {
        snprintf(retry, sizeof retry, "%d", r->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry);
    }
    ok = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

enum MHD_Result cf_http_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload,
                                   size_t *upload_size, void **state)
{
    cf_srv *s = cls;
    cf_req *r = *state;
    size_t limit = (size_t)s->cfg->server_body_limit;
    (void)version;

    if (!r) {
        const char *cl;
        if (!(r = calloc(1, sizeof *r)))
            return MHD_NO;
        r->conn = conn;
        r->method = method;
        r->path = url;
        r->start = now_s();
        *state = r;
        pthread_mutex_lock(&s->mu);
        s->active++;
        pthread_mutex_unlock(&s->mu);
        /* A body announced too large is refused before it is read. */
        cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > limit) {
            r->too_large = 1;
            cf_reply_problem(r, 413, "body-too-large", "the body is larger than server.body_limit",
                             json_pack("{s:I}", "limit", (json_int_t)limit));
            return send_answer(s, r);
        }
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!r->too_large && r->len + *upload_size > limit) {
            r->too_large = 1;
            free(r->body);
            r->body = NULL;
            r->len = r->cap = 0;
        }
        if (!r->too_large) {
            if (r->len + *upload_size + 1 > r->cap) {
                size_t cap = r->cap ? r->cap : 4096;
                char *b;
                while (cap < r->len + *upload_size + 1)
                    cap *= 2;
                if (!(b = realloc(r->body, cap)))
                    return MHD_NO;
                r->body = b;
                r->cap = cap;
            }
            memcpy(r->body + r->len, upload, *upload_size);
            r->len += *upload_size;
            r->body[r->len] = '\0';
        }
        *upload_size = 0; /* consumed (or dropped, past the limit) */
        return MHD_YES;
    }
    if (r->status) /* answered already (413 before the body) */
        return MHD_YES;
    if (r->too_large)
        cf_reply_problem(r, 413, "body-too-large", "the body is larger than server.body_limit",
                         json_pack("{s:I}", "limit", (json_int_t)limit));
    else
        cf_dispatch(s, r);
    if (r->db) {
        cf_pool_put(s->pool, r->db);
        r->db = NULL;
    }
    return send_answer(s, r);
}

void cf_http_on_completed(void *cls, struct MHD_Connection *conn, void **state,
                          enum MHD_RequestTerminationCode why)
{
    cf_srv *s = cls;
    cf_req *r = *state;
    (void)conn;
    (void)why;

    if (!r)
        return;
    cf_metrics_count(s->metrics, r->method, r->route ? r->route->pattern : "-",
                     r->status ? r->status : 499, now_s() - r->start);
    if (r->db)
        cf_pool_put(s->pool, r->db);
    if (r->reader_cls && r->reader_free) /* a stream whose answer was never queued */
        r->reader_free(r->reader_cls);
    free(r->body);
    free(r->resp);
    free(r);
    *state = NULL;
    pthread_mutex_lock(&s->mu);
    s->active--;
    pthread_mutex_unlock(&s->mu);
}
