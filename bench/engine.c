/*
 * bench/engine: the engine's throughput, latency, replay, memory and scale-out on a real local
 * stack, each against the physical limit measured in the same run, with the targets of
 * ARCHITECTURE.md and issue #14:
 *
 *  1. throughput: N cases (case.filed, then three case.corrected each, and one case of 50
 *     events) are produced first; then one engine consumes them.  The rate counts from the first
 *     committed event until every event is committed and the outbox is empty (published back to
 *     Kafka).  The engine's peak RSS (VmHWM) is read before it stops.
 *  2. baseline: the same rows (event log, state upsert, outbox, offsets) written by plain
 *     batched INSERTs, 500 events per transaction, one connection, into a fresh database with
 *     the same schema.  Target: engine >= 0.5 x baseline.
 *  3. replay: every case's log read back, its chain verified and its events re-run through the
 *     workflow, against `COPY (SELECT ...) TO STDOUT` of the same rows (target >= 0.8 x); and the
 *     case of 50 events alone (target < 5 ms).
 *  4. latency: case.filed events produced at a steady 2,000/s, then 500/s, to an engine on the
 *     real clock; for each, the time from produce to its transition on <prefix>.transitions,
 *     which the engine publishes after the commit (target p99 <= 50 ms).
 *  5. scale-out: the same stream as 1 into two engines of one group (8 partitions: 4 each),
 *     then three, against one engine.
 *
 * Run it through bench/run, which builds without sanitizers and starts a stack.  It prints every
 * figure beside its limit and target, and exits 1 when a ratio target is missed.
 * Environment: BENCH_LATENCY_S (60) seconds per latency run (0 skips them); BENCH_RATES (2000,500)
 * the latency runs' rates; BENCH_SCALE=0 skips scale-out; BENCH_THROUGHPUT=0 skips 1-3;
 * BENCH_LOG_LEVEL (warn) the engines' log level.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>

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

/* The 1-minute load average: the machine is shared, and each figure is printed beside it. */
static double load1(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
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

/* The case whose replay alone is measured: filed, then corrected 49 times. */
#define LONG_CASE "(2026)豫0381执900001号"
enum { LONG_EVENTS = 50 };

static void produce_case(kit *k, const char *case_no, int c, int events, const char *time)
{
    char id[64];
    snprintf(id, sizeof id, "b-%d-0", c);
    kit_send_json(k, kit_filed(case_no, id, time));
    for (int i = 1; i < events; i++) {
        snprintf(id, sizeof id, "b-%d-%d", c, i);
        kit_send_json(k, corrected(case_no, id, time, i));
    }
}

/* Produces the stream of the throughput run: `cases` cases of 4 events, and the long case. */
static long long produce_stream(kit *k, int cases)
{
    for (int c = 0; c < cases; c++) {
        char case_no[64];
        snprintf(case_no, sizeof case_no, "(2026)豫0381执%d号", c + 1);
        produce_case(k, case_no, c, 4, "2026-03-02T09:00:00+08:00");
    }
    produce_case(k, LONG_CASE, cases, LONG_EVENTS, "2026-03-02T09:00:00+08:00");
    kit_flush(k);
    return 4LL * cases + LONG_EVENTS;
}

/* The peak resident set of process `pid` in KiB (VmHWM), or -1. */
static long peak_rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* The CPU time process `pid` has used so far (user + system), in seconds, or -1.  Unlike the
 * rate, it hardly moves with what else runs on the machine. */
static double cpu_s(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long ut, st;
    FILE *f;
    size_t n;
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields 14 and 15, counted after the command's closing parenthesis. */
    if (!(p = strrchr(buf, ')')) ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The CPU time the server's sessions on `k`'s database have used so far, in seconds: every
 * session but the bench's own (the engines' sessions, while they run). */
static double sessions_cpu_s(kit *k)
{
    /* backend_type is hidden from another role's sessions; their database is not. */
    PGresult *res = PQexec(k->db, "select pid from pg_stat_activity where datname = "
                                  "current_database() and pid <> pg_backend_pid()");
    double total = 0;
    for (int i = 0; PQresultStatus(res) == PGRES_TUPLES_OK && i < PQntuples(res); i++) {
        double c = cpu_s((pid_t)atol(PQgetvalue(res, i, 0)));
        if (c > 0)
            total += c;
    }
    PQclear(res);
    return total;
}

/* The engines' log level: warn, or BENCH_LOG_LEVEL (debug logs each batch's timings into the
 * engine's log under the stack's directory). */
static const char *log_level(void)
{
    static char env[64];
    const char *v = getenv("BENCH_LOG_LEVEL");
    snprintf(env, sizeof env, "CASEFLOW_LOG_LEVEL=%s", v && *v ? v : "warn");
    return env;
}

/* The server's WAL insert position in bytes (the whole cluster: the bench's own stack), or -1. */
static long long wal_lsn(PGconn *db)
{
    PGresult *res = PQexec(db, "select (pg_current_wal_insert_lsn() - '0/0')::bigint");
    long long at = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1
                       ? strtoll(PQgetvalue(res, 0, 0), NULL, 10)
                       : -1;
    PQclear(res);
    return at;
}

/*
 * Starts `engines` engines on a stream produced before, and returns the rate from the first
 * committed event until all are committed and the outbox is empty; *rss_kb gets the largest
 * peak RSS of the engines.  0 when the engines did not finish within ten minutes.
 */
static double throughput(kit *k, int cases, int engines, long *rss_kb, double *cpu_ms,
                         double *server_ms, double *wal_per_event)
{
    long long n = produce_stream(k, cases), seen = 0, c0 = 0, w0 = wal_lsn(k->db);
    double t0 = 0, t1, limit = now_s() + 600;
    pid_t pid[4];

    for (int i = 0; i < engines; i++)
        pid[i] = kit_engine_start(k, (const char *const[]){log_level(), NULL});
    for (;;) {
        seen = kit_count(k, "select count(*) from events");
        if (seen > 0 && t0 == 0) {
            t0 = now_s();
            c0 = seen;
        }
        if (seen >= n && kit_count(k, "select count(*) from outbox") == 0)
            break;
        if (now_s() > limit) {
            fprintf(stderr, "throughput: %lld of %lld events after ten minutes\n", seen, n);
            break;
        }
        kit_sleep_ms(20);
    }
    t1 = now_s();
    *wal_per_event = w0 >= 0 ? (double)(wal_lsn(k->db) - w0) / (double)n : -1;
    *rss_kb = 0;
    *cpu_ms = 0;
    *server_ms = sessions_cpu_s(k) * 1000 / ((double)n / 1000);
    for (int i = 0; i < engines; i++) {
        long kb = peak_rss_kb(pid[i]);
        *cpu_ms += cpu_s(pid[i]) * 1000 / ((double)n / 1000);
        if (kb > *rss_kb)
            *rss_kb = kb;
        kit_engine_stop(k, pid[i], SIGTERM);
    }
    if (seen < n || t1 <= t0)
        return 0;
    return (double)(n - c0) / (t1 - t0);
}

/* The same rows the engine wrote, written again by plain batched INSERTs into a fresh schema. */
static double baseline(kit *k, double *server_ms)
{
    kit base;
    PGconn *db;
    PGresult *rows, *res;
    int total;
    double t0, t1, cpu0;
    long long w0;

    /* A fresh database with every migration applied: the engine's own schema. */
    kit_init(&base, "baseline");
    db = base.db;
    res = PQexec(db, "insert into consumer_offsets values ('g', 't', 0, 0, 1, 'bench')");
    PQclear(res);
    rows = PQexec(k->db, "select e.case_no, e.seq::text, e.event_id, e.type, e.source, "
                         "e.event_time::text, e.applied_at::text, e.body::text, e.state_before, "
                         "e.state_after, e.actions::text, e.prev_hash, e.hash, c.body::text, "
                         "c.workflow from events e join cases c using (case_no) order by "
                         "e.applied_at, e.case_no, e.seq");
    total = PQntuples(rows);
    cpu0 = cpu_s(PQbackendPID(db));
    w0 = wal_lsn(db);
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
            "$4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::json[], "
            "$9::text[], $10::text[], $11::json[], $12::text[], $13::text[])",
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
    *server_ms = (cpu_s(PQbackendPID(db)) - cpu0) * 1000 / ((double)total / 1000);
    printf("baseline: %d events in %.2f s = %.0f events/s (plain batched INSERT of the same "
           "rows, 500 per transaction, 1 connection: the limit); its server's CPU %.0f ms per "
           "1,000 events, WAL %.0f bytes per event [load %.1f]\n",
           total, t1 - t0, total / (t1 - t0), *server_ms,
           (double)(wal_lsn(db) - w0) / (total ? total : 1), load1());
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
    kit_done(&base);
    return total / (t1 - t0);
}

static const char *const LOG_SQL =
    "select case_no, seq, event_id, type, source, (extract(epoch from event_time) * 1000)::bigint, "
    "(extract(epoch from applied_at) * 1000)::bigint, body::text, state_before, state_after, "
    "actions::text, prev_hash, hash from events";

/* Verifies the case whose rows are res[from, to) and whose row is row `ci` of `cases`; returns
 * 1 when it did not verify. */
static int verify_rows(const cf_workflow *wf, const PGresult *res, const PGresult *cases, int ci,
                       int from, int to)
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
    if (ci < PQntuples(cases) && strcmp(PQgetvalue(cases, ci, 0), case_no) == 0) {
        c.body = json_loads(PQgetvalue(cases, ci, 1), 0, NULL);
        c.head_hash = PQgetvalue(cases, ci, 2);
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

/* One replay thread's share: every case of the log whose index is `first` modulo `step`. */
typedef struct share {
    const cf_workflow *wf;
    const PGresult *res, *cases;
    const int *starts; /* the first row of each case, and the row count at the end */
    int ncases, first, step;
    int bad;
} share;

static void *verify_share(void *arg)
{
    share *s = arg;
    for (int c = s->first; c < s->ncases; c += s->step)
        s->bad += verify_rows(s->wf, s->res, s->cases, c, s->starts[c], s->starts[c + 1]);
    return NULL;
}

/* Verifies every case of `res` (ordered by case, then seq) on two threads, one per core; the
 * case rows in `cases` are in the same order.  Returns how many cases did not verify. */
static int verify_all(const cf_workflow *wf, const PGresult *res, const PGresult *cases)
{
    int total = PQntuples(res), ncases = 0, bad = 0;
    int *starts = calloc((size_t)total + 2, sizeof *starts);
    share sh[2];
    pthread_t t;

    for (int r = 0; r < total; r++)
        if (r == 0 || strcmp(PQgetvalue(res, r, 0), PQgetvalue(res, r - 1, 0)) != 0)
            starts[ncases++] = r;
    starts[ncases] = total;
    for (int i = 0; i < 2; i++)
        sh[i] = (share){wf, res, cases, starts, ncases, i, 2, 0};
    if (pthread_create(&t, NULL, verify_share, &sh[1]) != 0) {
        sh[0].step = 1;
        verify_share(&sh[0]);
    } else {
        verify_share(&sh[0]);
        pthread_join(t, NULL);
        bad += sh[1].bad;
    }
    bad += sh[0].bad;
    free(starts);
    return bad;
}

/* Rows out of PostgreSQL with COPY, read and dropped: the physical limit of reading them. */
static long long copy_out(kit *k, const char *sql)
{
    PGresult *res = PQexec(k->db, sql);
    long long copied = 0;
    char *buf;
    if (PQresultStatus(res) == PGRES_COPY_OUT)
        while (PQgetCopyData(k->db, &buf, 0) > 0) {
            copied++;
            PQfreemem(buf);
        }
    PQclear(res);
    while ((res = PQgetResult(k->db)))
        PQclear(res);
    return copied;
}

/* The replay figures; returns 1 when a target is missed. */
static int replay(kit *k)
{
    char path[4096], sql[512];
    cf_diags d;
    cf_workflow *wf;
    PGresult *res, *cases;
    double t0, t1, copy_rate, rate, one_ms;
    long long copied;
    int bad, total, missed = 0;

    snprintf(path, sizeof path, "%s/workflows/enforcement_case.yaml", k->src);
    cf_diags_init(&d);
    wf = cf_workflow_load(path, &d);
    cf_diags_free(&d);
    if (!wf) {
        fprintf(stderr, "replay: cannot load %s\n", path);
        return 1;
    }
    snprintf(sql, sizeof sql, "copy (%s order by case_no, seq) to stdout", LOG_SQL);
    t0 = now_s();
    copied = copy_out(k, sql);
    t1 = now_s();
    copy_rate = copied / (t1 - t0);
    printf("copy:     %lld rows in %.2f s = %.0f rows/s (COPY (SELECT ...) TO STDOUT: the limit)\n",
           copied, t1 - t0, copy_rate);

    snprintf(sql, sizeof sql, "%s order by case_no, seq", LOG_SQL);
    t0 = now_s();
    res = PQexec(k->db, sql);
    cases = PQexec(k->db, "select case_no, body::text, head_hash from cases order by case_no");
    total = PQntuples(res);
    bad = verify_all(wf, res, cases);
    t1 = now_s();
    rate = total / (t1 - t0);
    missed |= rate / copy_rate < 0.8 || bad > 0;
    printf("replay:   %d rows in %.2f s = %.0f rows/s, %d cases did not verify; replay / copy = "
           "%.2f (target >= 0.8%s) [load %.1f]\n",
           total, t1 - t0, rate, bad, rate / copy_rate, rate / copy_rate < 0.8 ? ": MISSED" : "",
           load1());
    PQclear(res);
    PQclear(cases);
    {
        /* One case, as `caseflow replay` does it: its rows, its state, the verification. */
        const char *p[1] = {LONG_CASE};
        int reps = 100, n = 0;
        snprintf(sql, sizeof sql, "%s where case_no = $1 order by seq", LOG_SQL);
        t0 = now_s();
        for (int i = 0; i < reps; i++) {
            res = PQexecParams(k->db, sql, 1, NULL, p, NULL, NULL, 0);
            cases = PQexecParams(k->db,
                                 "select case_no, body::text, head_hash from cases where case_no "
                                 "= $1",
                                 1, NULL, p, NULL, NULL, 0);
            n = PQntuples(res);
            if (n > 0)
                bad += verify_rows(wf, res, cases, 0, 0, n);
            PQclear(res);
            PQclear(cases);
        }
        t1 = now_s();
        one_ms = (t1 - t0) * 1000 / reps;
        printf("replay:   one case of %d events: %.2f ms each (read + verify, %d runs; target < 5 "
               "ms%s)\n",
               n, one_ms, reps, one_ms >= 5 ? ": MISSED" : "");
    }
    cf_workflow_free(wf);
    return missed;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Events at `rate` per second for `seconds` into a fresh engine; prints the latencies and
 * returns 1 when the p99 is over the target (or events were not seen at all). */
static int latency(kit *k, int rate, int seconds)
{
    char topic[200];
    int n = rate * seconds, got = 0;
    double *lat = calloc((size_t)n, sizeof *lat);
    char prefix[32];
    pid_t engine;
    json_t *msgs;
    size_t i;
    json_t *m;
    long long w0 = wal_lsn(k->db), w1;

    snprintf(prefix, sizeof prefix, "lat%d-", rate);
    engine = kit_engine_start(
        k, (const char *const[]){log_level(), "CASEFLOW_CLOCK=real", "CASEFLOW_BATCH_MS=5", NULL});
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
    msgs = kit_consume(k, topic, (size_t)n, 30);
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
    w1 = wal_lsn(k->db);
    qsort(lat, (size_t)got, sizeof *lat, cmp_double);
    /* An event whose transition never came counts as slower than every one that did. */
    {
        double p99 = got > (int)(n * 0.99) ? lat[(int)(n * 0.99)] : INFINITY;
        int missed = !(p99 <= 50);
        printf("latency:  %d s at %d/s: %d of %d seen; p50 %.0f ms, p99 %.0f ms, max %.0f ms "
               "(produce -> commit -> transition on Kafka; target p99 <= 50 ms%s); WAL %.0f "
               "bytes per case.filed [load %.1f]\n",
               seconds, rate, got, n, got ? lat[got / 2] : NAN, p99, got ? lat[got - 1] : NAN,
               missed ? ": MISSED" : "", w0 >= 0 && w1 >= 0 ? (double)(w1 - w0) / n : NAN,
               load1());
        json_decref(msgs);
        free(lat);
        return missed;
    }
}

/* The same stream into `engines` engines of one group, on a fresh database and topics. */
static double scale_out(int cases, int engines, double one)
{
    char name[32];
    kit k;
    long rss;
    double rate, cpu, server, wal;

    snprintf(name, sizeof name, "scale%d", engines);
    kit_init(&k, name);
    rate = throughput(&k, cases, engines, &rss, &cpu, &server, &wal);
    printf("scale:    %d engines (8 partitions): %.0f events/s = %.2f x one engine [load %.1f]\n",
           engines, rate, one > 0 ? rate / one : 0, load1());
    kit_done(&k);
    return rate;
}

static int env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : dflt;
}

int main(int argc, char **argv)
{
    int cases = argc > 1 ? atoi(argv[1]) : 5000, seconds = env_int("BENCH_LATENCY_S", 60);
    int missed = 0;
    long rss;
    kit k;
    double e = 0, b, cpu, server, base_server, wal;

    setvbuf(stdout, NULL, _IOLBF, 0); /* each figure as it comes, also into a file */
    printf("bench/engine: %d cases x 4 events + 1 case x %d, batches of 500; 2 cores, everything "
           "local; load average %.2f\n",
           cases, LONG_EVENTS, load1());
    if (env_int("BENCH_THROUGHPUT", 1) == 0)
        goto latencies;
    kit_init(&k, "bench");
    e = throughput(&k, cases, 1, &rss, &cpu, &server, &wal);
    printf(
        "engine:   %.0f events/s (Kafka -> commit -> outbox -> Kafka, 1 engine); its CPU %.0f ms "
        "per 1,000 events, its sessions' in the server %.0f ms; peak RSS %ld MiB "
        "(engine.cache_cases 20000) [load %.1f]\n",
        e, cpu, server, rss / 1024, load1());
    /* The WAL the server wrote while the engine ran (its outbox deletes and any checkpoint's
     * full-page images included): what a COMMIT waits to flush. */
    printf("wal:      %.0f bytes of WAL per event (%d cases x 4 events: a case.filed and three "
           "case.corrected each)\n",
           wal, cases);
    b = baseline(&k, &base_server);
    missed |= !(b > 0 && e / b >= 0.5);
    printf("ratio:    engine / baseline = %.2f (target >= 0.5%s; aim 0.7)\n", b > 0 ? e / b : 0,
           missed ? ": MISSED" : "");
    /* CPU time hardly moves with the machine's load, where the rates above do: the server's
     * work per event, the engine's against the baseline's, is the steadier comparison. */
    printf(
        "server:   PostgreSQL's CPU per 1,000 events: baseline / engine = %.2f (%.0f / %.0f ms)\n",
        server > 0 ? base_server / server : 0, base_server, server);
    missed |= replay(&k);
    kit_done(&k);
latencies:
    if (seconds > 0) {
        const char *rates =
            getenv("BENCH_RATES") && *getenv("BENCH_RATES") ? getenv("BENCH_RATES") : "2000,500";
        int runs = 0;
        for (const char *r = rates; *r; r += strcspn(r, ","), r += *r == ',') {
            char name[32];
            kit l;
            int rate = atoi(r);
            if (rate <= 0)
                continue;
            /* A database of its own for each run, also for a rate given twice. */
            snprintf(name, sizeof name, "lat%d_%d", rate, ++runs);
            kit_init(&l, name);
            latency(&l, rate, seconds);
            kit_done(&l);
        }
    }
    if (e > 0 && env_int("BENCH_SCALE", 1)) {
        scale_out(cases, 2, e);
        scale_out(cases, 3, e);
    }
    if (missed)
        printf("bench/engine: a ratio target is MISSED\n");
    return missed ? 1 : 0;
}
