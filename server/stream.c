/*
 * Server-sent events for the workplace's inbox: GET /api/v1/posts/{post}/stream tells a browser
 * when the open and claimed tasks of a post change (a task arrived, was claimed, done, returned
 * or moved), so that the page fetches the queue again without anyone reloading it.
 *
 * One watch thread per server process looks at the database, not one per browser: while anyone
 * listens, it reads a fingerprint of each post's queue (count, and a sum of the tasks' ids,
 * statuses and holders) every poll_ms and raises a post's version when its fingerprint changes;
 * the streams wait on a condition variable for the version of their post.  The database is the
 * source of truth, so claims (which produce no Kafka message) are seen too, and several serve
 * processes need nothing from each other.  Where several courts are served, a post's queue is
 * one per court ("<court>/<post>"), and a stream follows its caller's court's (#16): court A's
 * staff are not woken by court B's tasks.  A stream ends after server.stream_s; the browser's
 * EventSource then reconnects, which authenticates it again, so an ended session also ends its
 * stream.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "io/store.h"
#include "engine/cases.h"
#include "internal.h"

typedef struct post_state {
    char post[256];  /* the post, or "<court>/<post>" where several courts are served */
    char print[128]; /* the queue's fingerprint at the last look */
    long long version;
} post_state;

struct cf_watch {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t changed; /* a version moved, or stopping */
    pthread_cond_t wake;    /* a listener came, or quitting */
    char *conninfo;
    char *home; /* the home court's code where several courts are served, else NULL */
    int poll_ms;
    int stopping, quit, listeners, primed;
    post_state *posts;
    size_t nposts, cap;
};

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static post_state *find(cf_watch *w, const char *post)
{
    for (size_t i = 0; i < w->nposts; i++)
        if (strcmp(w->posts[i].post, post) == 0)
            return &w->posts[i];
    return NULL;
}

/* Takes in one look at the queues (under the lock); returns 1 when a version moved. */
static int take_in(cf_watch *w, PGresult *res)
{
    int moved = 0;

    /* A post absent from the look has no open or claimed task: its fingerprint is "". */
    for (size_t i = 0; i < w->nposts; i++) {
        int there = 0;
        for (int k = 0; k < PQntuples(res) && !there; k++)
            there = strcmp(PQgetvalue(res, k, 0), w->posts[i].post) == 0;
        if (!there && w->posts[i].print[0]) {
            w->posts[i].print[0] = '\0';
            w->posts[i].version++;
            moved = 1;
        }
    }
    for (int k = 0; k < PQntuples(res); k++) {
        const char *post = PQgetvalue(res, k, 0), *print = PQgetvalue(res, k, 1);
        post_state *p = find(w, post);
        if (!p) {
            if (w->nposts == w->cap) {
                size_t cap = w->cap ? w->cap * 2 : 32;
                post_state *more = realloc(w->posts, cap * sizeof *more);
                if (!more)
                    continue;
                w->posts = more;
                w->cap = cap;
            }
            p = &w->posts[w->nposts++];
            memset(p, 0, sizeof *p);
            snprintf(p->post, sizeof p->post, "%s", post);
            /* A post seen for the first time after the first look got its first task. */
            p->version = w->primed ? 1 : 0;
            moved |= w->primed;
        } else if (strcmp(p->print, print) != 0) {
            p->version++;
            moved = 1;
        }
        snprintf(p->print, sizeof p->print, "%s", print);
    }
    w->primed = 1;
    return moved;
}

/* SQL: the fingerprint of a group of tasks `t`, and the tasks that make up a post's queue. */
#define FINGERPRINT                                                                          \
    "count(*)::text || ':' || coalesce(sum(hashtext(t.task_id || ':' || t.status || ':' || " \
    "coalesce(t.claimed_by, '') || ':' || coalesce(t.due_at::text, '')))::text, '0')"
#define OPEN_STAFF_TASKS \
    "where not t.worker and t.post is not null and t.status in ('open', 'claimed')"

static void *run(void *arg)
{
    cf_watch *w = arg;
    PGconn *db = NULL;
    char err[512];

    pthread_mutex_lock(&w->mu);
    while (!w->quit) {
        struct timespec until;
        PGresult *res;

        if (w->listeners == 0 || w->stopping) {
            deadline_in(&until, 1000);
            pthread_cond_timedwait(&w->wake, &w->mu, &until);
            continue;
        }
        pthread_mutex_unlock(&w->mu);
        if (!db && !(db = cf_store_connect(w->conninfo, err, sizeof err)))
            cf_warn("stream: PostgreSQL does not answer: %s", err);
        res = !db ? NULL
              : !w->home
                  ? cf_store_exec(db,
                                  "select post, " FINGERPRINT " from tasks t " OPEN_STAFF_TASKS
                                  " group by post",
                                  0, NULL, err, sizeof err)
                  : cf_store_exec(db,
                                  "select coalesce(t.court, $1) || '/' || t.post, " FINGERPRINT
                                  " from tasks t " OPEN_STAFF_TASKS " group by 1",
                                  1, (const char *const *)&w->home, err, sizeof err);
        if (db && !res && PQstatus(db) != CONNECTION_OK) {
            PQfinish(db);
            db = NULL;
        }
        pthread_mutex_lock(&w->mu);
        if (res && take_in(w, res))
            pthread_cond_broadcast(&w->changed);
        PQclear(res);
        deadline_in(&until, w->poll_ms);
        while (!w->quit && pthread_cond_timedwait(&w->wake, &w->mu, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&w->mu);
    if (db)
        PQfinish(db);
    return NULL;
}

cf_watch *cf_watch_new(const char *conninfo, const char *home, int poll_ms)
{
    cf_watch *w = calloc(1, sizeof *w);
    pthread_condattr_t ca;

    if (!w || !(w->conninfo = strdup(conninfo)) || (home && !(w->home = strdup(home)))) {
        if (w)
            free(w->conninfo);
        free(w);
        return NULL;
    }
    w->poll_ms = poll_ms;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->changed, &ca);
    pthread_cond_init(&w->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&w->thread, NULL, run, w) != 0) {
        pthread_cond_destroy(&w->changed);
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->mu);
        free(w->conninfo);
        free(w->home);
        free(w);
        return NULL;
    }
    return w;
}

void cf_watch_stop(cf_watch *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_broadcast(&w->changed);
    pthread_mutex_unlock(&w->mu);
}

void cf_watch_free(cf_watch *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = w->quit = 1;
    pthread_cond_broadcast(&w->changed);
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->changed);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->mu);
    free(w->posts);
    free(w->conninfo);
    free(w->home);
    free(w);
}

/* The version of `post` now (0 while unknown). */
static long long version_of(cf_watch *w, const char *post)
{
    post_state *p;
    long long v;
    pthread_mutex_lock(&w->mu);
    p = find(w, post);
    v = p ? p->version : 0;
    pthread_mutex_unlock(&w->mu);
    return v;
}

/* Waits up to `ms` for the version of `post` to differ from *version.  Returns 1 (changed, the
 * new version in *version), 0 (time is up) or -1 (the server stops). */
static int watch_wait(cf_watch *w, const char *post, long long *version, int ms)
{
    struct timespec until;
    int rc = 0;

    deadline_in(&until, ms);
    pthread_mutex_lock(&w->mu);
    w->listeners++;
    pthread_cond_signal(&w->wake);
    for (;;) {
        post_state *p = find(w, post);
        long long v = p ? p->version : 0;
        if (w->stopping) {
            rc = -1;
            break;
        }
        if (v != *version) {
            *version = v;
            rc = 1;
            break;
        }
        if (pthread_cond_timedwait(&w->changed, &w->mu, &until) != 0)
            break;
    }
    w->listeners--;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* ---- one stream ----------------------------------------------------------------------------- */

typedef struct stream {
    cf_watch *watch;
    char post[256];
    char key[300]; /* what the watch knows the queue by: the post, or "<court>/<post>" */
    long long version;
    struct timespec end;
    int said_hello;
    char out[768];
    size_t len, off;
} stream;

static int past(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

static int ms_left(const struct timespec *t)
{
    struct timespec now;
    long long ms;
    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (long long)(t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
    return ms < 0 ? 0 : ms > 15000 ? 15000 : (int)ms;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream *st = cls;
    size_t n;
    int rc;
    (void)pos;

    while (st->off >= st->len) {
        st->off = st->len = 0;
        if (!st->said_hello) {
            /* The browser reconnects 3 s after the stream ends. */
            st->len = (size_t)snprintf(st->out, sizeof st->out,
                                       "retry: 3000\nevent: hello\ndata: {\"post\":\"%s\","
                                       "\"version\":%lld}\n\n",
                                       st->post, st->version);
            st->said_hello = 1;
            break;
        }
        if (past(&st->end))
            return MHD_CONTENT_READER_END_OF_STREAM;
        rc = watch_wait(st->watch, st->key, &st->version, ms_left(&st->end));
        if (rc < 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (rc == 1)
            st->len = (size_t)snprintf(st->out, sizeof st->out,
                                       "event: queue\ndata: {\"post\":\"%s\",\"version\":%lld}\n\n",
                                       st->post, st->version);
        else /* a comment every 15 s keeps proxies and the browser from giving up */
            st->len = (size_t)snprintf(st->out, sizeof st->out, ": still here\n\n");
    }
    n = st->len - st->off < max ? st->len - st->off : max;
    memcpy(buf, st->out + st->off, n);
    st->off += n;
    return (ssize_t)n;
}

void cf_h_post_stream(cf_srv *s, cf_req *r)
{
    const char *post = r->params[0], *court = cf_req_court(s, r);
    stream *st;

    if (r->who.role == CF_ROLE_STAFF && strcmp(post, r->who.post) != 0) {
        cf_reply_problem(r, 403, "other-post", "staff follow their own post's queue only", NULL);
        return;
    }
    if (!cf_post_known(s->reg, post)) {
        cf_reply_problem(r, 404, "not-found", "no workflow declares this post", NULL);
        return;
    }
    if (!s->watch || !(st = calloc(1, sizeof *st))) {
        cf_reply_problem(r, 503, "unavailable", "the queue watch is not running", NULL);
        return;
    }
    st->watch = s->watch;
    /* Post ids are declared words of the workflow (checked above): safe inside JSON text. */
    snprintf(st->post, sizeof st->post, "%s", post);
    snprintf(st->key, sizeof st->key, "%s%s%s", court ? court : "", court ? "/" : "", post);
    st->version = version_of(s->watch, st->key);
    deadline_in(&st->end, s->cfg->server_stream_s * 1000);
    /* The database connection is not needed while the stream waits. */
    if (r->db) {
        cf_pool_put(s->pool, r->db);
        r->db = NULL;
    }
    r->status = 200;
    r->ctype = "text/event-stream; charset=utf-8";
    r->reader = stream_read;
    r->reader_cls = st;
    r->reader_free = free;
}
