/*
 * bench/engine: the engine's throughput and latency on a real local stack,
 * against the physical limit measured in the same run.
 *
 *  1. throughput: N events (per case: case.filed, then three case.corrected) are
 *     produced first; then one engine consumes them.  The rate counts from the
 *     first committed event until every event is committed and the outbox is
 *     empty (published back to Kafka).
 *  2. baseline: the same rows (event log, state upsert, outbox, offsets) written
 *     by plain batched INSERTs, 500 events per transaction, one connection,
 *     into a fresh database with the same schema.
 *  4. replay: every case's log read back, its chain verified and its events re-run through
 *     the workflow, against `COPY (SELECT ...) TO STDOUT` of the same rows; and one case.
 *  3. latency: events produced at a steady 2,000/s to an engine on the real
 *     clock; for each event, the time from produce to its transition arriving
 *     on <prefix>.transitions, which the engine publishes after the commit (so
 *     it bounds produce-to-commit from above).
 *
 * Run it through bench/run, which builds without sanitizers and starts a stack.
 * It prints figures; it asserts nothing.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/bus.h"
#include "io/store.h"
#include "core/caltime.h"
#include "core/replay.h"
#include "core/workflow.h"
#include "../tests/integration/kit/kit.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static json_t *corrected(const char *case_no, const char *id, const char *time, int n)
{
    char cause[64];
    snprintf(cause, sizeof cause, "民间借贷纠纷（更正%d）", n);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:{s:s}}}", "id", id, "type", "case.corrected",
                     "case", case_no, "time", time, "source", "filing", "data", "fields", "cause",
                     cause);
}

static void produce_case(kit *k, int c, const char *time)
{
    char case_no[64], id[64];
    snprintf(case_no, sizeof case_no, "(2026)豫0381执%d号", c + 1);
    snprintf(id, sizeof id, "b-%d-0", c);
    kit_send_json(k, kit_filed(case_no, id, time));
    for (int i = 1; i <= 3; i++) {
        snprintf(id, sizeof id, "b-%d-%d", c, i);
        kit_send_json(k, corrected(case_no, id, time, i));
    }
}

static double throughput(kit *k, int cases)
{
    long long n = 4LL * cases, seen = 0;
    double t0 = 0, t1;
    long long c0 = 0;
    pid_t engine;

    for (int c = 0; c < cases; c++)
        produce_case(k, c, "2026-03-02T09:00:00+08:00");
    kit_flush(k);
    engine = kit_engine_start(k, (const char *const[]){"CASEFLOW_LOG_LEVEL=warn", NULL});
    for (;;) {
        seen = kit_count(k, "select count(*) from events");
        if (seen > 0 && t0 == 0) {
            t0 = now_s();
            c0 = seen;
        }
        if (seen >= n && kit_count(k, "select count(*) from outbox") == 0)
            break;
        kit_sleep_ms(20);
    }
    t1 = now_s();
    kit_engine_stop(k, engine, SIGTERM);
    printf("engine:   %lld events in %.2f s = %.0f events/s (Kafka -> commit -> outbox -> Kafka)\n",
           n - c0, t1 - t0, (double)(n - c0) / (t1 - t0));
    return (double)(n - c0) / (t1 - t0);
}

/* The same rows the engine wrote, written again by plain batched INSERTs into a fresh schema. */
static double baseline(kit *k, const char *migrations)
{
    char err[512], uri[600];
    PGconn *db;
    PGresult *rows, *res;
    int total;
    double t0, t1;
    const char *dbname = "bench_baseline";

    /* The owner role: it may create the schema in the new database. */
    snprintf(uri, sizeof uri, "%s", k->pg_owner);
    res = PQexec(k->db, "drop database if exists bench_baseline");
    PQclear(res);
    res = PQexec(k->db, "create database bench_baseline");
    PQclear(res);
    {
        char *slash = strrchr(uri, '/');
        snprintf(slash + 1, sizeof uri - (size_t)(slash + 1 - uri), "%s", dbname);
    }
    db = cf_store_connect(uri, err, sizeof err);
    if (!db) {
        fprintf(stderr, "baseline: %s\n", err);
        return 0;
    }
    {
        char cmd[8192];
        snprintf(cmd, sizeof cmd, "psql -q -X -v ON_ERROR_STOP=1 '%s' -f %s/001_init.sql", uri,
                 migrations);
        if (system(cmd) != 0)
            fprintf(stderr, "baseline: schema failed\n");
    }
    res = PQexec(db, "insert into consumer_offsets values ('g', 't', 0, 0, 1, 'bench')");
    PQclear(res);
    rows = PQexec(k->db, "select e.case_no, e.seq::text, e.event_id, e.type, e.source, "
                         "e.event_time::text, e.applied_at::text, e.body::text, e.state_before, "
                         "e.state_after, e.actions::text, e.prev_hash, e.hash, c.body::text, "
                         "c.workflow from events e join cases c using (case_no) order by "
                         "e.applied_at, e.case_no, e.seq");
    total = PQntuples(rows);
    t0 = now_s();
    for (int start = 0; start < total; start += 500) {
        int end = start + 500 < total ? start + 500 : total;
        cf_sqlarr ev[13], cs[4], ob[4];
        const char *p[13];
        for (int i = 0; i < 13; i++)
            cf_sqlarr_init(&ev[i]);
        for (int i = 0; i < 4; i++) {
            cf_sqlarr_init(&cs[i]);
            cf_sqlarr_init(&ob[i]);
        }
        for (int r = start; r < end; r++) {
            for (int i = 0; i < 13; i++)
                cf_sqlarr_add(&ev[i], PQgetvalue(rows, r, i));
            cf_sqlarr_add(&cs[0], PQgetvalue(rows, r, 0));
            cf_sqlarr_add(&cs[1], PQgetvalue(rows, r, 9));
            cf_sqlarr_add(&cs[2], PQgetvalue(rows, r, 13));
            cf_sqlarr_add(&cs[3], PQgetvalue(rows, r, 12));
            cf_sqlarr_add(&ob[0], "caseflow.transitions");
            cf_sqlarr_add(&ob[1], PQgetvalue(rows, r, 0));
            cf_sqlarr_add(&ob[2], PQgetvalue(rows, r, 2));
            cf_sqlarr_add(&ob[3], PQgetvalue(rows, r, 10));
        }
        PQclear(PQexec(db, "begin"));
        for (int i = 0; i < 13; i++)
            p[i] = cf_sqlarr_text(&ev[i]);
        PQclear(PQexecParams(
            db,
            "insert into events select * from unnest($1::text[], $2::bigint[], $3::text[], "
            "$4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::jsonb[], "
            "$9::text[], $10::text[], $11::jsonb[], $12::text[], $13::text[])",
            13, NULL, p, NULL, NULL, 0));
        for (int i = 0; i < 4; i++)
            p[i] = cf_sqlarr_text(&cs[i]);
        /* A case appears several times in a batch: the last row wins, as in the engine. */
        PQclear(PQexecParams(db,
                             "insert into cases (case_no, workflow, version, state, seq, body, "
                             "created_at, updated_at, head_hash) select distinct on (c) c, "
                             "'enforcement_case', 1, s, 1, b::jsonb, now(), now(), h from "
                             "unnest($1::text[], $2::text[], $3::text[], $4::text[]) with "
                             "ordinality u(c, s, b, h, o) order by c, o desc on conflict "
                             "(case_no) do update set state = excluded.state, body = "
                             "excluded.body, head_hash = excluded.head_hash",
                             4, NULL, p, NULL, NULL, 0));
        for (int i = 0; i < 4; i++)
            p[i] = cf_sqlarr_text(&ob[i]);
        PQclear(PQexecParams(db,
                             "insert into outbox (topic, key, msg_id, payload) select t, k, m, "
                             "convert_to(pl, 'UTF8') from unnest($1::text[], $2::text[], "
                             "$3::text[], $4::text[]) u(t, k, m, pl)",
                             4, NULL, p, NULL, NULL, 0));
        PQclear(PQexec(db, "update consumer_offsets set next_offset = next_offset + 500 "
                           "where group_id = 'g' and generation = 1"));
        res = PQexec(db, "commit");
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            fprintf(stderr, "baseline: %s\n", PQresultErrorMessage(res));
        PQclear(res);
        for (int i = 0; i < 13; i++)
            cf_sqlarr_free(&ev[i]);
        for (int i = 0; i < 4; i++) {
            cf_sqlarr_free(&cs[i]);
            cf_sqlarr_free(&ob[i]);
        }
    }
    t1 = now_s();
    printf("baseline: %d events in %.2f s = %.0f events/s (plain batched INSERT of the same "
           "rows, 500 per transaction, 1 connection)\n",
           total, t1 - t0, total / (t1 - t0));
    {
        long long n = 0;
        res = PQexec(db, "select count(*) from events");
        if (PQresultStatus(res) == PGRES_TUPLES_OK)
            n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        if (n != total)
            fprintf(stderr, "baseline: wrote %lld of %d rows\n", n, total);
    }
    PQclear(rows);
    PQfinish(db);
    return total / (t1 - t0);
}

static const char *const LOG_SQL =
    "select case_no, seq, event_id, type, source, (extract(epoch from event_time) * 1000)::bigint, "
    "(extract(epoch from applied_at) * 1000)::bigint, body::text, state_before, state_after, "
    "actions::text, prev_hash, hash from events";

/* Verifies the cases whose rows are res[from, to); returns how many did not verify. */
static int verify_rows(const cf_workflow *wf, PGresult *res, PGresult *cases, int from, int to)
{
    size_t n = (size_t)(to - from);
    cf_replay_row *rows = calloc(n, sizeof *rows);
    json_t **owned = calloc(2 * n, sizeof *owned);
    const char *case_no = PQgetvalue(res, from, 0);
    cf_replay_case c = {.case_no = case_no, .workflow = wf->name, .version = wf->version};
    cf_replay r;
    int bad = 0;

    for (int k = from; k < to; k++) {
        cf_replay_row *row = &rows[k - from];
        row->seq = strtoll(PQgetvalue(res, k, 1), NULL, 10);
        row->event_id = PQgetvalue(res, k, 2);
        row->type = PQgetvalue(res, k, 3);
        row->source = PQgetvalue(res, k, 4);
        row->event_time = strtoll(PQgetvalue(res, k, 5), NULL, 10);
        row->applied_at = strtoll(PQgetvalue(res, k, 6), NULL, 10);
        row->body = owned[2 * (k - from)] = json_loads(PQgetvalue(res, k, 7), 0, NULL);
        row->body_text = PQgetvalue(res, k, 7);
        row->body_len = (size_t)PQgetlength(res, k, 7);
        row->state_before = PQgetvalue(res, k, 8);
        row->state_after = PQgetvalue(res, k, 9);
        row->actions = owned[2 * (k - from) + 1] = json_loads(PQgetvalue(res, k, 10), 0, NULL);
        row->prev_hash = PQgetvalue(res, k, 11);
        row->hash = PQgetvalue(res, k, 12);
    }
    /* The stored state and head hash of the case, from the second result (same order). */
    for (int k = 0; k < PQntuples(cases); k++)
        if (strcmp(PQgetvalue(cases, k, 0), case_no) == 0) {
            c.body = json_loads(PQgetvalue(cases, k, 1), 0, NULL);
            c.head_hash = PQgetvalue(cases, k, 2);
            break;
        }
    if (cf_replay_verify(wf, &c, rows, n, CF_REPLAY_ALL, &r) != 0 || r.chain_seq || r.replay_seq ||
        r.final != 1)
        bad = 1;
    cf_replay_clear(&r);
    json_decref((json_t *)c.body);
    for (size_t i = 0; i < 2 * n; i++)
        json_decref(owned[i]);
    free(owned);
    free(rows);
    return bad;
}

static void replay(kit *k)
{
    char err[1024], path[4096], sql[512];
    cf_diags d;
    cf_workflow *wf;
    PGresult *res, *cases;
    double t0, t1;
    long long copied = 0;
    int bad = 0, total, from = 0;
    char *buf;

    snprintf(path, sizeof path, "%s/workflows/enforcement_case.yaml", k->src);
    cf_diags_init(&d);
    wf = cf_workflow_load(path, &d);
    cf_diags_free(&d);
    if (!wf) {
        fprintf(stderr, "replay: cannot load %s\n", path);
        return;
    }
    /* The physical limit: the same rows out of PostgreSQL with COPY. */
    snprintf(sql, sizeof sql, "copy (%s order by case_no, seq) to stdout", LOG_SQL);
    t0 = now_s();
    res = PQexec(k->db, sql);
    if (PQresultStatus(res) == PGRES_COPY_OUT) {
        int len;
        while ((len = PQgetCopyData(k->db, &buf, 0)) > 0) {
            copied++;
            PQfreemem(buf);
        }
    }
    PQclear(res);
    while ((res = PQgetResult(k->db)))
        PQclear(res);
    t1 = now_s();
    printf("copy:     %lld rows in %.2f s = %.0f rows/s (COPY (SELECT ...) TO STDOUT)\n", copied,
           t1 - t0, copied / (t1 - t0));
    {
        double copy_rate = copied / (t1 - t0);
        snprintf(sql, sizeof sql, "%s order by case_no, seq", LOG_SQL);
        t0 = now_s();
        res = PQexec(k->db, sql);
        cases = PQexec(k->db, "select case_no, body::text, head_hash from cases order by case_no");
        total = PQntuples(res);
        for (int r = 1; r <= total; r++)
            if (r == total || strcmp(PQgetvalue(res, r, 0), PQgetvalue(res, from, 0)) != 0) {
                bad += verify_rows(wf, res, cases, from, r);
                from = r;
            }
        t1 = now_s();
        printf("replay:   %d rows in %.2f s = %.0f rows/s, %d cases did not verify; ratio to copy "
               "%.2f (target >= 0.8)\n",
               total, t1 - t0, total / (t1 - t0), bad, (total / (t1 - t0)) / copy_rate);
        PQclear(res);
        PQclear(cases);
    }
    {
        /* One case, as `caseflow replay` does it: its rows, its state, the verification. */
        const char *p[1] = {"(2026)豫0381执2500号"};
        int reps = 200;
        snprintf(sql, sizeof sql, "%s where case_no = $1 order by seq", LOG_SQL);
        t0 = now_s();
        for (int i = 0; i < reps; i++) {
            res = PQexecParams(k->db, sql, 1, NULL, p, NULL, NULL, 0);
            cases = PQexecParams(k->db,
                                 "select case_no, body::text, head_hash from cases where case_no "
                                 "= $1",
                                 1, NULL, p, NULL, NULL, 0);
            if (PQntuples(res) > 0)
                bad += verify_rows(wf, res, cases, 0, PQntuples(res));
            PQclear(res);
            PQclear(cases);
        }
        t1 = now_s();
        printf("replay:   one case of 4 events: %.2f ms each (read + verify, %d runs)\n",
               (t1 - t0) * 1000 / reps, reps);
    }
    (void)err;
    cf_workflow_free(wf);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void latency(kit *k, int rate, int seconds)
{
    char topic[200];
    int n = rate * seconds, got = 0;
    double *lat = calloc((size_t)n, sizeof *lat);
    char prefix[32];
    pid_t engine;
    json_t *msgs;
    size_t i;
    json_t *m;

    snprintf(prefix, sizeof prefix, "lat%d-", rate);
    engine =
        kit_engine_start(k, (const char *const[]){"CASEFLOW_LOG_LEVEL=warn", "CASEFLOW_CLOCK=real",
                                                  "CASEFLOW_BATCH_MS=5", NULL});
    kit_sleep_ms(3000); /* joined and assigned */
    {
        double start = now_s();
        for (int i2 = 0; i2 < n; i2++) {
            char case_no[64], id[64], when[64];
            /* Paced: event i leaves at start + i / rate. */
            while (now_s() < start + (double)i2 / rate)
                kit_sleep_ms(1);
            /* Each run its own cases and ids, so that a second run is not dropped as duplicates. */
            snprintf(case_no, sizeof case_no, "(2026)豫0381执%d号", 500000 + rate * 100 + i2);
            snprintf(id, sizeof id, "%s%d", prefix, i2);
            cf_time_format(wall_ms(), 480, when, sizeof when);
            kit_send_json(k, kit_filed(case_no, id, when));
        }
        kit_flush(k);
    }
    snprintf(topic, sizeof topic, "%s.transitions", k->prefix);
    msgs = kit_consume(k, topic, (size_t)(1 << 30), 20);
    /* Each transition's arrival time is taken as it is consumed; kit_consume returns them all at
     * the end, so measure again from the message timestamps instead: the broker's append time
     * of the transition, against the event's own time. */
    json_array_foreach (msgs, i, m) {
        json_t *v = json_object_get(m, "value");
        const char *event = json_string_value(json_object_get(v, "event_id"));
        cf_time t;
        long long ts = json_integer_value(json_object_get(m, "timestamp"));
        if (!event || strncmp(event, prefix, strlen(prefix)) != 0 || got >= n)
            continue;
        if (cf_time_parse(json_string_value(json_object_get(v, "time")), &t) != 0 || ts <= 0)
            continue;
        lat[got++] = (double)(ts - t);
    }
    kit_engine_stop(k, engine, SIGTERM);
    qsort(lat, (size_t)got, sizeof *lat, cmp_double);
    if (got > 0)
        printf("latency:  %d events at %d/s: p50 %.0f ms, p99 %.0f ms, max %.0f ms (produce -> "
               "commit -> transition appended to Kafka)\n",
               got, rate, lat[got / 2], lat[(int)(got * 0.99)], lat[got - 1]);
    else
        printf("latency:  no transitions seen\n");
    json_decref(msgs);
    free(lat);
}

int main(int argc, char **argv)
{
    int cases = argc > 1 ? atoi(argv[1]) : 5000;
    char migrations[4096];
    kit k;
    double e, b;

    snprintf(migrations, sizeof migrations, "%s/schemas/sql", getenv("CASEFLOW_SOURCE_DIR"));
    kit_init(&k, "bench");
    printf("bench/engine: %d cases x 4 events, batches of 500; 2 cores, everything local\n", cases);
    e = throughput(&k, cases);
    b = baseline(&k, migrations);
    if (b > 0)
        printf("ratio:    engine / baseline = %.2f (target >= 0.5)\n", e / b);
    replay(&k);
    latency(&k, 2000, 10);
    latency(&k, 500, 10);
    kit_done(&k);
    return 0;
}
