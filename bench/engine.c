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
 * The throughput and latency runs print the WAL the server wrote per event while the engine ran
 * (pg_current_wal_insert_lsn before and after): what each COMMIT waits to flush.
 *
 * Two more modes (bench/run growth, bench/run memory): `bench_engine growth CASES`, the rate and a
 * post's queue with CASES cases and their log stored against an empty database (growth below);
 * `bench_engine memory EVENTS`, the engine's peak RSS over EVENTS events at one cache setting.
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
#include "engine/queue.h"
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

/* "CASEFLOW_CONFIG=<file>" for the engines the throughput runs start, or "" (the defaults):
 * the memory run sets engine.cache_cases through it. */
static char engine_config[800];

/*
 * Starts `engines` engines on a stream produced before, and returns the rate from the first
 * committed event until all are committed and the outbox is empty; *rss_kb gets the largest
 * peak RSS of the engines.  0 when the engines did not finish within ten minutes, or at 500
 * events/s for a longer stream (bench/run memory's 1,000,000 events).
 */
static double throughput(kit *k, int cases, int engines, long *rss_kb, double *cpu_ms,
                         double *server_ms, double *wal_per_event)
{
    long long n = produce_stream(k, cases), seen = 0, c0 = 0, w0 = wal_lsn(k->db);
    double t0 = 0, t1, limit = now_s() + (n / 500 > 600 ? (double)n / 500 : 600);
    pid_t pid[4];

    for (int i = 0; i < engines; i++)
        pid[i] = kit_engine_start(
            k, (const char *const[]){log_level(), engine_config[0] ? engine_config : NULL, NULL});
    for (;;) {
        /* The stream's cases are all of 2026: the events of the cases bench/run growth stored
         * before (of 2020) are neither counted nor read (counting 4,000,000 rows every 20 ms
         * would measure the bench). */
        seen = kit_count(k, "select count(*) from events where case_no >= '(2026)'");
        if (seen > 0 && t0 == 0) {
            t0 = now_s();
            c0 = seen;
        }
        if (seen >= n && kit_count(k, "select count(*) from outbox") == 0)
            break;
        if (now_s() > limit) {
            fprintf(stderr, "throughput: %lld of %lld events in the time allowed\n", seen, n);
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
        /* Parsed only when the replayed actions do not render to the same text. */
        row->actions_text = PQgetvalue(res, k, 10);
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
               missed ? ": MISSED" : "", w0 >= 0 && w1 >= 0 ? (double)(w1 - w0) / n : NAN, load1());
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

/* ---- growth: the engine's rate and a post's queue with many cases stored ---- */

static void die_sql(PGconn *db, const char *sql)
{
    PGresult *res = PQexec(db, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "bench/engine: %.200s: %s\n", sql, PQresultErrorMessage(res));
        exit(1);
    }
    PQclear(res);
}

/* A checkpoint as the cluster's superuser (the bench's role may not): each run starts with the
 * same clean buffers. */
static void checkpoint(void)
{
    char err[512];
    const char *admin = getenv("CASEFLOW_PG_ADMIN");
    PGconn *db = admin ? cf_store_connect(admin, err, sizeof err) : NULL;
    if (db)
        die_sql(db, "checkpoint");
    PQfinish(db);
}

/* What a preloaded case looks like: a case.filed stored by the engine (state, log row and its
 * actions), with @ for the case number.  Sizes as the engine writes them (body 1.7 KB). */
static const char *const GROWN_STATE =
    "{\"seq\": 1, \"case\": \"@\", \"data\": {\"basis\": {\"court_name\": \"偃师区人民法院\", "
    "\"document_no\": \"(2025)豫0381民初1号\", \"effective_date\": \"2025-12-01\"}, \"cause\": "
    "\"民间借贷纠纷\", \"court\": \"豫0381\", \"amount\": 50000, \"filed_at\": "
    "\"2026-03-02T09:00:00+08:00\", \"case_type\": \"执\", \"applicants\": [{\"kind\": "
    "\"person\", \"name\": \"张三\", \"id_number\": \"41038119900101123X\"}], \"claim_kind\": "
    "\"money\", \"respondents\": [{\"kind\": \"person\", \"name\": \"李四\", \"id_number\": "
    "\"410381198512310011\"}], \"handling_deadline\": \"2026-09-02T23:59:00+08:00\"}, "
    "\"state\": \"investigating\", \"clocks\": {\"handling\": {\"days\": 0, \"months\": 6, "
    "\"pauses\": [], \"status\": \"running\", \"started\": \"2026-03-02T09:00:00+08:00\", "
    "\"last_day\": \"2026-09-02T23:59:00+08:00\", \"extensions\": [], \"paused_days\": 0}}, "
    "\"timers\": {\"handling_limit\": \"2026-09-05T09:00:00+08:00\"}, \"version\": 3, "
    "\"workflow\": \"enforcement_case\", \"activities\": {}, \"updated_at\": "
    "\"2026-03-02T09:00:00+08:00\"}";
static const char *const GROWN_EVENT =
    "{\"id\":\"@\",\"type\":\"case.filed\",\"case\":\"@\",\"time\":\"2026-03-02T09:00:00+08:00\","
    "\"source\":\"filing\",\"data\":{\"court\":\"豫0381\",\"case_type\":\"执\",\"filed_at\":"
    "\"2026-03-02T09:00:00+08:00\",\"cause\":\"民间借贷纠纷\",\"basis\":{\"document_no\":"
    "\"(2025)豫0381民初1号\",\"court_name\":\"偃师区人民法院\",\"effective_date\":\"2025-12-01\"},"
    "\"applicants\":[{\"kind\":\"person\",\"name\":\"张三\",\"id_number\":\"41038119900101123X\"}],"
    "\"respondents\":[{\"kind\":\"person\",\"name\":\"李四\",\"id_number\":\"410381198512310011\"}]"
    ","
    "\"amount\":50000,\"claim_kind\":\"money\"}}";
static const char *const GROWN_ACTIONS =
    "[{\"kind\":\"task\",\"task\":\"network_query\",\"activity\":\"network_query\",\"id\":\"@\","
    "\"post\":\"property_control\",\"due\":\"2026-03-03T17:30:00+08:00\",\"params\":{\"round\":0},"
    "\"worker\":true,\"title\":\"网络财产统查（总对总）\"},{\"kind\":\"timer\",\"name\":"
    "\"query_day_15\",\"at\":\"2026-03-17T09:00:00+08:00\"},{\"kind\":\"timer\",\"name\":"
    "\"query_day_30\",\"at\":\"2026-04-01T09:00:00+08:00\"},{\"kind\":\"timer\",\"name\":"
    "\"query_day_45\",\"at\":\"2026-04-16T09:00:00+08:00\"},{\"kind\":\"set\",\"field\":"
    "\"handling_deadline\",\"value\":\"2026-09-02T23:59:00+08:00\"},{\"kind\":\"clock\",\"name\":"
    "\"handling\",\"op\":\"start\",\"status\":\"running\",\"last_day\":"
    "\"2026-09-02T23:59:00+08:00\"},{\"kind\":\"timer\",\"name\":\"handling_limit\",\"at\":"
    "\"2026-09-05T09:00:00+08:00\"},{\"kind\":\"task\",\"task\":\"filing_review\",\"activity\":"
    "\"filing_review\",\"id\":\"@\",\"post\":\"filing_review\",\"due\":"
    "\"2026-03-03T17:30:00+08:00\",\"params\":{},\"worker\":false,\"title\":\"立案审查\"}]";

/* The staff posts the preloaded tasks are spread over. */
static const char *const GROWN_POSTS =
    "array['filing_review','intake','bureau_lead','property_control','auction_clerk',"
    "'payment_clerk','archive_group','president']";

/*
 * Stores `cases` cases of earlier years into `k`'s database with `per_case` events each (the
 * first a case.filed), two tasks each (a worker's, done, and a staff task, open for 1 case in
 * 100, over eight posts, due after the streams' simulated clock so that none is escalated as
 * overdue) and one timer, written by the server from generate_series in
 * transactions of 50,000 cases; then VACUUM ANALYZE and a checkpoint, as a database in service
 * would have.  Returns the seconds it took.
 */
static double preload(kit *k, int cases, int per_case)
{
    char sql[8192], st[2048], ev[1024], ac[2048];
    double t0 = now_s();

    /* The templates as SQL literals: no quote inside them. */
    snprintf(st, sizeof st, "%s", GROWN_STATE);
    snprintf(ev, sizeof ev, "%s", GROWN_EVENT);
    snprintf(ac, sizeof ac, "%s", GROWN_ACTIONS);
    die_sql(k->db, "set statement_timeout = 0"); /* a statement writes 50,000 cases' rows */
    for (int from = 1; from <= cases; from += 50000) {
        int to = from + 49999 < cases ? from + 49999 : cases;
        /* Case numbers of 2020, away from the streams' (2026) ones. */
        snprintf(sql, sizeof sql,
                 "insert into cases (case_no, workflow, version, state, seq, body, team, "
                 "created_at, updated_at, head_hash) select '(2020)豫0381执' || g || '号', "
                 "'enforcement_case', 3, (array['investigating','review','enforcing',"
                 "'closed'])[1 + g %% 4], %d, replace('%s', '@', '(2020)豫0381执' || g || '号')"
                 "::jsonb, null, timestamptz '2020-03-02 09:00+08' + g * interval '1 minute', "
                 "timestamptz '2020-03-02 09:00+08' + g * interval '1 minute', "
                 "encode(sha256(g::text::bytea), 'hex') from generate_series(%d, %d) g",
                 per_case, st, from, to);
        die_sql(k->db, sql);
        snprintf(sql, sizeof sql,
                 "insert into events (case_no, seq, event_id, type, source, event_time, "
                 "applied_at, body, state_before, state_after, actions, prev_hash, hash) select "
                 "'(2020)豫0381执' || g || '号', s, 'grown-' || g || '-' || s, case when s = 1 "
                 "then 'case.filed' else 'case.corrected' end, 'filing', timestamptz "
                 "'2020-03-02 09:00+08' + g * interval '1 minute', timestamptz '2020-03-02 "
                 "09:00+08' + g * interval '1 minute' + s * interval '1 second', replace('%s', "
                 "'@', '(2020)豫0381执' || g || '号')::json, case when s = 1 then '' else "
                 "'investigating' end, 'investigating', replace('%s', '@', 't-' || g || '-' || "
                 "s)::json, encode(sha256((g * 1000 + s - 1)::text::bytea), 'hex'), "
                 "encode(sha256((g * 1000 + s)::text::bytea), 'hex') from generate_series(%d, "
                 "%d) g, generate_series(1, %d) s",
                 ev, ac, from, to, per_case);
        die_sql(k->db, sql);
        snprintf(
            sql, sizeof sql,
            "insert into tasks (task_id, case_no, activity, kind, post, worker, status, "
            "title, due_at, dispatched_at, created_at, updated_at, court) select 't-' || g || '-' "
            "|| w::int, '(2020)豫0381执' || g || '号', case when w then 'network_query' "
            "else 'review' end, case when w then 'network_query' else 'review' end, case "
            "when w then 'property_control' else (%s)[1 + g / 100 %% 8] end, w, case when "
            "not w and g %% 100 = 0 then 'open' else 'done' end, '立案审查', timestamptz "
            "'2026-06-01 17:30+08' + g * interval '1 minute', null, timestamptz "
            "'2020-03-02 09:00+08' + g * interval '1 minute', timestamptz '2020-03-02 "
            "09:00+08' + g * interval '1 minute', '豫0381' from generate_series(%d, %d) g, "
            "unnest(array[true, false]) w",
            GROWN_POSTS, from, to);
        die_sql(k->db, sql);
        snprintf(sql, sizeof sql,
                 "insert into timers (case_no, name, due_at) select '(2020)豫0381执' || g || "
                 "'号', 'handling_limit', timestamptz '2030-01-01 09:00+08' + g * interval '1 "
                 "minute' from generate_series(%d, %d) g",
                 from, to);
        die_sql(k->db, sql);
        fprintf(stderr, "growth: %d of %d cases stored (%.0f s)\n", to, cases, now_s() - t0);
    }
    die_sql(k->db, "vacuum analyze");
    checkpoint();
    return now_s() - t0;
}

/* `n` listings of `post`'s queue (the first page of 50 and the counts) through the server's
 * own query (engine/queue.c, as GET /api/v1/posts/{post}/tasks), one after the other; returns
 * the p99 in ms and sets *p50 and *open. */
static double list_p99(kit *k, const char *post, int n, double *p50, long long *open)
{
    cf_queue_filter f = {.post = post, .court = "豫0381", .home = "豫0381", .limit = 50};
    double *lat = calloc((size_t)n, sizeof *lat), p99;
    char err[512];
    int got = 0;

    *open = -1;
    for (int i = 0; lat && i < n; i++) {
        cf_task_list l;
        double t0 = now_s();
        int rc = cf_queue_list(k->db, &f, &l, err, sizeof err);
        if (rc == 0) {
            lat[got++] = (now_s() - t0) * 1000;
            *open = l.total;
        } else
            fprintf(stderr, "listing %s: %s\n", post, err);
        cf_task_list_free(&l);
        if (rc != 0)
            break;
    }
    qsort(lat, (size_t)got, sizeof *lat, cmp_double);
    *p50 = got ? lat[got / 2] : NAN;
    p99 = got == n ? lat[(int)(n * 0.99)] : INFINITY;
    free(lat);
    return p99;
}

/* The stream of `stream` cases into `k`'s database, then its filing_review queue listed 1,000
 * times; prints both as `label` and returns the rate, the queue's p99 in *p99. */
static double rate_and_queue(kit *k, const char *label, int stream, double *p99)
{
    long rss;
    long long open;
    double cpu, server, wal, p50, rate = throughput(k, stream, 1, &rss, &cpu, &server, &wal);

    *p99 = list_p99(k, "filing_review", 1000, &p50, &open);
    printf("%-9s %.0f events/s, WAL %.0f bytes per event; filing_review's queue (%lld open) "
           "listed 1,000 times: p50 %.2f ms, p99 %.2f ms [load %.1f]\n",
           label, rate, wal, open, p50, *p99, load1());
    return rate;
}

/*
 * bench/run growth [CASES]: the engine's rate on an empty database and on one with CASES cases
 * (1,000,000) and their log stored, the same stream into each (BENCH_GROWTH_STREAM cases of 4
 * events, 2,000), and a post's queue listed on both.  Targets (#14): the rate within 20 % of the
 * empty database's, the queue's p99 under 20 ms.  Returns 1 when one is missed.
 */
static int growth(int stored)
{
    int stream = env_int("BENCH_GROWTH_STREAM", 2000), per_case = env_int("BENCH_GROWTH_EVENTS", 4);
    int slower, queue_missed;
    double empty, grown, p99_empty, p99, secs;
    kit k;

    printf("bench/engine growth: %d cases x %d events stored, then a stream of %d cases x 4 "
           "events + 1 x %d; load average %.2f\n",
           stored, per_case, stream, LONG_EVENTS, load1());
    kit_init(&k, "empty");
    checkpoint();
    empty = rate_and_queue(&k, "empty:", stream, &p99_empty);
    kit_done(&k);

    kit_init(&k, "grown");
    secs = preload(&k, stored, per_case);
    printf("stored:   %d cases, %lld events, %lld tasks in %.0f s (generate_series in the server; "
           "then VACUUM ANALYZE and CHECKPOINT) [load %.1f]\n",
           stored, kit_count(&k, "select count(*) from events"),
           kit_count(&k, "select count(*) from tasks"), secs, load1());
    grown = rate_and_queue(&k, "grown:", stream, &p99);
    kit_done(&k);

    slower = !(empty > 0 && grown / empty >= 0.8);
    queue_missed = !(p99 < 20);
    printf("growth:   engine rate grown / empty = %.2f (target >= 0.8, within 20 %%%s)\n",
           empty > 0 ? grown / empty : 0, slower ? ": MISSED" : "");
    printf("growth:   queue p99 %.2f ms with %d cases stored, %.2f ms empty (target < 20 ms%s)\n",
           p99, stored, p99_empty, queue_missed ? ": MISSED" : "");
    if (slower || queue_missed)
        printf("bench/engine growth: a target is MISSED\n");
    return slower || queue_missed;
}

/*
 * bench/run memory [EVENTS]: the engine's peak RSS over a stream of EVENTS events (1,000,000;
 * new cases of 4 events each), and over a fifth of it, with engine.cache_cases at
 * BENCH_CACHE_CASES (20,000, the default).  Both streams have more cases than the cache holds,
 * so a memory bounded by the cache setting is the same for both: target, the longer run's peak
 * within 1.25 x the shorter's.  Returns 1 when missed.
 */
static int memory(int events)
{
    int cache = env_int("BENCH_CACHE_CASES", 20000), missed;
    int runs[2] = {events / 5 / 4, events / 4};
    long rss[2];
    double rate[2];

    printf("bench/engine memory: %d and %d events, engine.cache_cases %d; load average %.2f\n",
           runs[0] * 4 + LONG_EVENTS, runs[1] * 4 + LONG_EVENTS, cache, load1());
    if (runs[0] <= cache)
        printf("memory:   the shorter stream's %d cases fit in the cache of %d: the comparison "
               "says little (raise EVENTS or lower BENCH_CACHE_CASES)\n",
               runs[0], cache);
    for (int i = 0; i < 2; i++) {
        char name[32], path[700];
        double cpu, server, wal;
        FILE *f;
        kit k;

        snprintf(name, sizeof name, "memory%d", i);
        kit_init(&k, name);
        snprintf(path, sizeof path, "%s/engine-cache.yaml", k.logdir);
        if (!(f = fopen(path, "w"))) {
            perror(path);
            return 1;
        }
        fprintf(f, "engine:\n  cache_cases: %d\n", cache);
        fclose(f);
        snprintf(engine_config, sizeof engine_config, "CASEFLOW_CONFIG=%s", path);
        rate[i] = throughput(&k, runs[i], 1, &rss[i], &cpu, &server, &wal);
        engine_config[0] = '\0';
        printf("memory:   %d events: peak RSS %ld MiB (%.0f events/s, engine.cache_cases %d) "
               "[load %.1f]\n",
               runs[i] * 4 + LONG_EVENTS, rss[i] / 1024, rate[i], cache, load1());
        kit_done(&k);
    }
    missed = !(rate[0] > 0 && rate[1] > 0 && rss[1] <= rss[0] * 1.25);
    printf("memory:   peak RSS %d events / %d events = %.2f (target <= 1.25: bounded by the "
           "cache%s)\n",
           runs[1] * 4 + LONG_EVENTS, runs[0] * 4 + LONG_EVENTS,
           rss[0] > 0 ? (double)rss[1] / (double)rss[0] : 0, missed ? ": MISSED" : "");
    return missed;
}

int main(int argc, char **argv)
{
    int cases, seconds = env_int("BENCH_LATENCY_S", 60);
    int missed = 0;
    long rss;
    kit k;
    double e = 0, b, cpu, server, base_server, wal;

    setvbuf(stdout, NULL, _IOLBF, 0); /* each figure as it comes, also into a file */
    if (argc > 1 && strcmp(argv[1], "growth") == 0)
        return growth(argc > 2 ? atoi(argv[2]) : 1000000);
    if (argc > 1 && strcmp(argv[1], "memory") == 0)
        return memory(argc > 2 ? atoi(argv[2]) : 1000000);
    cases = argc > 1 ? atoi(argv[1]) : 5000;
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
