/*
 * The routes for operators and machines: /metrics (Prometheus text), /healthz (the process
 * serves), /readyz (PostgreSQL and Kafka answer) and the OpenAPI document.  None needs an
 * account; none shows a case or a person.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/store.h"
#include "internal.h"

/* Appends to a growing text; the same as metrics.c's, for the database's part. */
static void add(char **out, size_t *len, size_t *cap, const char *text)
{
    size_t n = strlen(text);
    if (*len + n + 1 > *cap) {
        size_t nc = *cap ? *cap : 4096;
        char *b;
        while (nc < *len + n + 1)
            nc *= 2;
        if (!(b = realloc(*out, nc)))
            return;
        *out = b;
        *cap = nc;
    }
    memcpy(*out + *len, text, n + 1);
    *len += n;
}

/* Prometheus label values escape backslash, quote and newline; posts are plain words anyway. */
static void label(char *out, size_t n, const char *v)
{
    size_t k = 0;
    for (; *v && k + 2 < n; v++) {
        if (*v == '"' || *v == '\\' || *v == '\n')
            out[k++] = '\\';
        out[k++] = *v == '\n' ? 'n' : *v;
    }
    out[k] = '\0';
}

/* What the database says: open and overdue staff tasks per post, events applied, dead letters. */
static void database_metrics(cf_srv *s, cf_req *r, char **out, size_t *len, size_t *cap)
{
    char err[256], line[512], post[256];
    PGresult *res;
    PGconn *db = cf_req_db_quiet(s, r, 2000);

    snprintf(line, sizeof line,
             "# HELP caseflow_database_up Whether PostgreSQL answered this scrape.\n"
             "# TYPE caseflow_database_up gauge\ncaseflow_database_up %d\n",
             db ? 1 : 0);
    add(out, len, cap, line);
    if (!db)
        return;
    res = cf_store_exec(db,
                        "select coalesce(post, '-'), count(*), count(*) filter (where due_at < "
                        "k.now) from tasks, (select coalesce((select case when mode = "
                        "'simulated' then now else now() end from engine_clock where id = 1), "
                        "now()) now) k where status in ('open', 'claimed') and not worker group "
                        "by 1 order by 1",
                        0, NULL, err, sizeof err);
    if (res) {
        add(out, len, cap,
            "# HELP caseflow_tasks_open Open and claimed staff tasks per post.\n"
            "# TYPE caseflow_tasks_open gauge\n");
        for (int i = 0; i < PQntuples(res); i++) {
            label(post, sizeof post, PQgetvalue(res, i, 0));
            snprintf(line, sizeof line, "caseflow_tasks_open{post=\"%s\"} %s\n", post,
                     PQgetvalue(res, i, 1));
            add(out, len, cap, line);
        }
        add(out, len, cap,
            "# HELP caseflow_tasks_overdue Open and claimed staff tasks past their due date, "
            "per post.\n# TYPE caseflow_tasks_overdue gauge\n");
        for (int i = 0; i < PQntuples(res); i++) {
            label(post, sizeof post, PQgetvalue(res, i, 0));
            snprintf(line, sizeof line, "caseflow_tasks_overdue{post=\"%s\"} %s\n", post,
                     PQgetvalue(res, i, 2));
            add(out, len, cap, line);
        }
        PQclear(res);
    }
    res = cf_store_exec(db,
                        "select (select count(*) from events), (select count(*) from "
                        "dead_letters), (select count(*) from outbox)",
                        0, NULL, err, sizeof err);
    if (res) {
        snprintf(line, sizeof line,
                 "# HELP caseflow_events_applied_total Events in the event log.\n"
                 "# TYPE caseflow_events_applied_total counter\n"
                 "caseflow_events_applied_total %s\n"
                 "# HELP caseflow_dead_letters_total Events the engine refused.\n"
                 "# TYPE caseflow_dead_letters_total counter\n"
                 "caseflow_dead_letters_total %s\n"
                 "# HELP caseflow_outbox_pending Messages waiting in the outbox.\n"
                 "# TYPE caseflow_outbox_pending gauge\ncaseflow_outbox_pending %s\n",
                 PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
        add(out, len, cap, line);
        PQclear(res);
    }
}

enum { MAX_PARTITIONS = 1024 };

/*
 * The engines' own health, which they keep in PostgreSQL (engine_status) and Kafka: commit
 * failures, events isolated as dead letters, and the consumer group's lag on <prefix>.events
 * (each partition's high watermark in Kafka less the offset the engines committed with their
 * last batch in consumer_offsets).  The engine runs in other processes; this is what any serve
 * can read of it.
 */
static void engine_metrics(cf_srv *s, cf_req *r, char **out, size_t *len, size_t *cap)
{
    static long long low[MAX_PARTITIONS], high[MAX_PARTITIONS];
    static pthread_mutex_t once = PTHREAD_MUTEX_INITIALIZER;
    char err[256], line[768], owner[256];
    const char *p[2] = {s->cfg->group, s->topic};
    PGresult *res;
    int n = 0, kafka_ok;

    if (r->db) {
        res = cf_store_exec(r->db,
                            "select owner, commit_failures, failing, isolated, extract(epoch from "
                            "now() - updated_at)::bigint from engine_status order by owner",
                            0, NULL, err, sizeof err);
        if (res) {
            add(out, len, cap,
                "# HELP caseflow_engine_commit_failures_total Batch commits that failed, per "
                "engine process (engine_status).\n"
                "# TYPE caseflow_engine_commit_failures_total counter\n");
            for (int i = 0; i < PQntuples(res); i++) {
                label(owner, sizeof owner, PQgetvalue(res, i, 0));
                snprintf(line, sizeof line,
                         "caseflow_engine_commit_failures_total{engine=\"%s\"} %s\n", owner,
                         PQgetvalue(res, i, 1));
                add(out, len, cap, line);
            }
            add(out, len, cap,
                "# HELP caseflow_engine_commits_failing Batch commits failed in a row now (0: "
                "healthy), per engine process.\n# TYPE caseflow_engine_commits_failing gauge\n");
            for (int i = 0; i < PQntuples(res); i++) {
                label(owner, sizeof owner, PQgetvalue(res, i, 0));
                snprintf(line, sizeof line, "caseflow_engine_commits_failing{engine=\"%s\"} %s\n",
                         owner, PQgetvalue(res, i, 2));
                add(out, len, cap, line);
            }
            add(out, len, cap,
                "# HELP caseflow_engine_isolated_total Events the database refused that the "
                "engine dead-lettered, per engine process.\n"
                "# TYPE caseflow_engine_isolated_total counter\n");
            for (int i = 0; i < PQntuples(res); i++) {
                label(owner, sizeof owner, PQgetvalue(res, i, 0));
                snprintf(line, sizeof line, "caseflow_engine_isolated_total{engine=\"%s\"} %s\n",
                         owner, PQgetvalue(res, i, 3));
                add(out, len, cap, line);
            }
            add(out, len, cap,
                "# HELP caseflow_engine_status_age_seconds Seconds since the engine process last "
                "wrote its health.\n# TYPE caseflow_engine_status_age_seconds gauge\n");
            for (int i = 0; i < PQntuples(res); i++) {
                label(owner, sizeof owner, PQgetvalue(res, i, 0));
                snprintf(line, sizeof line,
                         "caseflow_engine_status_age_seconds{engine=\"%s\"} %s\n", owner,
                         PQgetvalue(res, i, 4));
                add(out, len, cap, line);
            }
            PQclear(res);
        }
    }
    /* One scrape at a time asks Kafka, into the one table of watermarks. */
    pthread_mutex_lock(&once);
    kafka_ok = cf_sender_watermarks(s->sender, s->topic, low, high, MAX_PARTITIONS, &n, 1000, err,
                                    sizeof err) == 0;
    snprintf(line, sizeof line,
             "# HELP caseflow_kafka_up Whether Kafka answered this scrape.\n"
             "# TYPE caseflow_kafka_up gauge\ncaseflow_kafka_up %d\n",
             kafka_ok);
    add(out, len, cap, line);
    if (kafka_ok && r->db &&
        (res = cf_store_exec(r->db,
                             "select partition, next_offset from consumer_offsets where group_id "
                             "= $1 and topic = $2",
                             2, p, err, sizeof err))) {
        add(out, len, cap,
            "# HELP caseflow_consumer_lag Events on the events topic the engines have not "
            "committed yet, per partition.\n# TYPE caseflow_consumer_lag gauge\n");
        for (int part = 0; part < n && part < MAX_PARTITIONS; part++) {
            /* No offset stored yet (none, or -1): the engine starts at the oldest kept. */
            long long next = -1;
            for (int i = 0; i < PQntuples(res); i++)
                if (atoi(PQgetvalue(res, i, 0)) == part)
                    next = strtoll(PQgetvalue(res, i, 1), NULL, 10);
            if (next < low[part])
                next = low[part];
            snprintf(line, sizeof line, "caseflow_consumer_lag{partition=\"%d\"} %lld\n", part,
                     high[part] > next ? high[part] - next : 0);
            add(out, len, cap, line);
        }
        PQclear(res);
    }
    pthread_mutex_unlock(&once);
}

void cf_h_metrics(cf_srv *s, cf_req *r)
{
    char *out = NULL;
    size_t len = 0, cap = 0;

    cf_metrics_write(s->metrics, &out, &len, &cap);
    database_metrics(s, r, &out, &len, &cap);
    engine_metrics(s, r, &out, &len, &cap);
    if (!out) {
        cf_reply_problem(r, 500, "out-of-memory", "the metrics could not be written", NULL);
        return;
    }
    cf_reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", out, len);
}

void cf_h_healthz(cf_srv *s, cf_req *r)
{
    (void)s;
    cf_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

void cf_h_readyz(cf_srv *s, cf_req *r)
{
    char perr[256] = "ok", kerr[256] = "ok";
    PGresult *res = NULL;
    int pg_ok = 0, kafka_ok;

    if ((r->db || (r->db = cf_pool_get(s->pool, 2000, perr, sizeof perr))) &&
        (res = cf_store_exec(r->db, "select 1", 0, NULL, perr, sizeof perr)))
        pg_ok = 1;
    PQclear(res);
    kafka_ok = cf_sender_ping(s->sender, 2000, kerr, sizeof kerr) == 0;
    if (!pg_ok || !kafka_ok)
        r->retry_after = 5;
    cf_reply_json(r, pg_ok && kafka_ok ? 200 : 503,
                  json_pack("{s:s, s:s, s:s}", "status", pg_ok && kafka_ok ? "ready" : "not ready",
                            "postgres", perr, "kafka", kerr));
}

void cf_h_openapi(cf_srv *s, cf_req *r)
{
    char *copy = malloc(s->openapi_len + 1);
    if (!copy) {
        cf_reply_problem(r, 500, "out-of-memory", "", NULL);
        return;
    }
    memcpy(copy, s->openapi, s->openapi_len + 1);
    cf_reply_text(r, 200, "application/json", copy, s->openapi_len);
}
