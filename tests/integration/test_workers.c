/*
 * Engine and workers on the real stack, with the simulated clock: filed cases
 * get their network query (总对总) into the case data, their six checks (六查)
 * go out in batches per registry office on Monday, Wednesday and Friday, and
 * (when the documents kind is built) their notices are made as PDFs and served.
 * A six-checks worker is stopped (SIGTERM, no grace) in the middle of its
 * batches, its successor killed (SIGKILL) in the middle of what was left, and
 * a third finishes: every task still gets its result exactly once.  A kind whose
 * outside system always fails ends each task in task.failed and an incident on
 * the property control post, once, not in a loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/message.h"
#include "core/schema.h"
#include "kit/kit.h"

/* Checks per case: the six checks and the housing authority (房管局, #13). */
enum { WAVE = 6, CHECKS = 7, WAIT = 120 };

static void case_no(int n, char *out, size_t size)
{
    snprintf(out, size, "(2026)豫0381执%d号", n);
}

/* The SQL list of the case numbers first..last, for "case_no in (...)". */
static void case_list(int first, int last, char *out, size_t size)
{
    size_t used = 0;
    for (int n = first; n <= last && used < size; n++) {
        char c[64];
        case_no(n, c, sizeof c);
        used += (size_t)snprintf(out + used, size - used, "%s'%s'", n > first ? "," : "", c);
    }
}

/* `query` with its "@" replaced by the case numbers first..last, quoted and separated. */
static void with_cases(const char *query, int first, int last, char *out, size_t size)
{
    char list[2048];
    const char *at = strchr(query, '@');
    case_list(first, last, list, sizeof list);
    assert_non_null(at);
    snprintf(out, size, "%.*s%s%s", (int)(at - query), query, list, at + 1);
}

static long long count_in(kit *k, const char *query, int first, int last)
{
    char sql[4096];
    with_cases(query, first, last, sql, sizeof sql);
    return kit_count(k, sql);
}

static long long wait_in(kit *k, const char *query, int first, int last, long long want)
{
    char sql[4096];
    with_cases(query, first, last, sql, sizeof sql);
    return kit_wait_count(k, sql, want, WAIT);
}

static void file_cases(kit *k, int first, int last, const char *time)
{
    for (int n = first; n <= last; n++) {
        char c[64], id[32];
        case_no(n, c, sizeof c);
        snprintf(id, sizeof id, "filed-%d", n);
        kit_send_json(k, kit_filed(c, id, time));
    }
    kit_flush(k);
    /* The filing reviewer finds each in order (version 3: before the intake check). */
    for (int n = first; n <= last; n++) {
        char c[64];
        case_no(n, c, sizeof c);
        kit_review(k, c, time);
    }
    assert_int_equal(wait_in(k,
                             "select count(*) from tasks where activity = 'intake_check' and "
                             "case_no in (@)",
                             first, last, last - first + 1),
                     last - first + 1);
}

/* The intake post finds the filing data complete: task.completed for each intake check. */
static void complete_intake(kit *k, int first, int last, const char *time)
{
    char sql[4096];
    PGresult *res;

    with_cases("select case_no, task_id from tasks where activity = 'intake_check' and status = "
               "'open' and case_no in (@)",
               first, last, sql, sizeof sql);
    res = PQexec(k->db, sql);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), last - first + 1);
    for (int r = 0; r < PQntuples(res); r++) {
        char id[160];
        snprintf(id, sizeof id, "intake-%s", PQgetvalue(res, r, 1));
        kit_claim(k, PQgetvalue(res, r, 1), "王五");
        kit_send_json(k, json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:{s:b}}}", "id",
                                   id, "type", "task.completed", "case", PQgetvalue(res, r, 0),
                                   "time", time, "source", "staff:intake:王五", "data", "task_id",
                                   PQgetvalue(res, r, 1), "activity", "intake_check", "kind",
                                   "intake_check", "result", "complete", 1));
    }
    PQclear(res);
    kit_flush(k);
    /* Assigned: the six checks of each case wait for the next trip. */
    assert_int_equal(wait_in(k,
                             "select count(*) from tasks where kind = 'six_checks' and case_no "
                             "in (@)",
                             first, last, (long long)CHECKS * (last - first + 1)),
                     (long long)CHECKS * (last - first + 1));
}

/* Whether workers/kind_documents.c is still the temporary stub of the documents kind. */
static int documents_built(const kit *k)
{
    char path[1024], buf[4096];
    size_t n;
    FILE *f;

    snprintf(path, sizeof path, "%s/workers/kind_documents.c", k->src);
    if (!(f = fopen(path, "r")))
        return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strstr(buf, "TEMPORARY STUB") == NULL;
}

static int file_sha256(const char *path, char hex[65])
{
    unsigned char buf[65536], md[32];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f || !ctx) {
        if (f)
            fclose(f);
        EVP_MD_CTX_free(ctx);
        return -1;
    }
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        EVP_DigestUpdate(ctx, buf, n);
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    fclose(f);
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* Each notices result names its PDFs: they exist, are PDFs, have the recorded SHA-256, and the
 * enforcement notice's text is Chinese with the case number filled in. */
static void check_documents(kit *k)
{
    PGresult *res = PQexec(k->db, "select case_no, result::text from tasks where activity = "
                                  "'notices' and status = 'done' order by case_no");
    int text_checked = 0;

    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    for (int r = 0; r < PQntuples(res); r++) {
        json_t *result = json_loads(PQgetvalue(res, r, 1), 0, NULL), *doc;
        size_t i;
        assert_non_null(result);
        assert_true(json_array_size(json_object_get(result, "documents")) >= 3);
        json_array_foreach (json_object_get(result, "documents"), i, doc) {
            const char *file = json_string_value(json_object_get(doc, "file"));
            const char *sha = json_string_value(json_object_get(doc, "sha256"));
            char hex[65] = "", head[5] = "";
            FILE *f;
            assert_non_null(file);
            assert_non_null(sha);
            assert_int_equal(file_sha256(file, hex), 0);
            assert_string_equal(hex, sha);
            f = fopen(file, "rb");
            assert_non_null(f);
            assert_int_equal(fread(head, 1, 4, f), 4);
            fclose(f);
            assert_string_equal(head, "%PDF");
            if (!text_checked &&
                strstr(json_string_value(json_object_get(doc, "name")), "执行通知书") &&
                access("/usr/bin/pdftotext", X_OK) == 0) {
                char cmd[2048], out[65536];
                size_t n;
                FILE *p;
                snprintf(cmd, sizeof cmd, "/usr/bin/pdftotext -enc UTF-8 '%s' -", file);
                p = popen(cmd, "r");
                assert_non_null(p);
                n = fread(out, 1, sizeof out - 1, p);
                out[n] = '\0';
                pclose(p);
                assert_non_null(strstr(out, "执行通知书"));
                assert_non_null(strstr(out, PQgetvalue(res, r, 0)));
                text_checked = 1;
            }
        }
        json_decref(result);
    }
    printf("documents: %d notices with their PDFs checked%s\n", PQntuples(res),
           text_checked ? ", the enforcement notice's text read back" : "");
    PQclear(res);
}

/* No worker's log holds a party's name or identity number in clear. */
static void check_logs_masked(kit *k)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "grep -l -e '李四' -e '410381198512310011' -e '41038119900101123X' %s/worker-*.log",
             k->logdir);
    assert_int_not_equal(system(cmd), 0);
}

/* How many six checks of wave C (the third) are done. */
static long long wave_c_done(kit *k)
{
    return count_in(k,
                    "select count(*) from tasks where kind = 'six_checks' and status = 'done' and "
                    "case_no in (@)",
                    2 * WAVE + 1, 3 * WAVE);
}

/* Waits until more than `than` six checks of wave C are done; returns how many are. */
static long long wait_more_done(kit *k, long long than)
{
    long long n = wave_c_done(k);
    for (int i = 0; i < WAIT * 20 && n <= than; i++) {
        kit_sleep_ms(50);
        n = wave_c_done(k);
    }
    assert_true(n > than);
    return n;
}

/* The processes started and not yet stopped: a failing test leaves none behind. */
static pid_t running[32];

static pid_t started(pid_t pid)
{
    for (size_t i = 0; i < sizeof running / sizeof running[0]; i++)
        if (!running[i]) {
            running[i] = pid;
            break;
        }
    return pid;
}

static void stopped(pid_t pid)
{
    for (size_t i = 0; i < sizeof running / sizeof running[0]; i++)
        if (running[i] == pid)
            running[i] = 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof running / sizeof running[0]; i++)
        if (running[i]) {
            int status;
            kill(running[i], SIGKILL);
            waitpid(running[i], &status, 0);
            running[i] = 0;
        }
    return 0;
}

static int stop_process(kit *k, pid_t pid)
{
    int status = kit_engine_stop(k, pid, SIGTERM);
    stopped(pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Checks each message of `topic` against `schema` and its caseflow-id header against the id
 * the message names (`id_of`); returns how many there were. */
static size_t check_topic(kit *k, const char *topic, const cf_schema *schema, size_t want,
                          const char *(*id_of)(const json_t *))
{
    json_t *msgs = kit_consume(k, topic, want, WAIT), *m;
    size_t i, n = json_array_size(msgs);
    char err[1024];

    json_array_foreach (msgs, i, m) {
        const json_t *v = json_object_get(m, "value");
        if (cf_schema_validate(schema, v, err, sizeof err) != 0)
            fail_msg("%s message %zu breaks its schema: %s", topic, i, err);
        assert_string_equal(json_string_value(json_object_get(m, "id")), id_of(v));
    }
    json_decref(msgs);
    return n;
}

static const char *task_message_id(const json_t *v)
{
    cf_task_msg t;
    const char *batch = json_string_value(json_object_get(v, "batch_id"));
    if (batch)
        return batch;
    assert_int_equal(cf_msg_task_read(v, NULL, &t), 0);
    return t.task_id;
}

static const char *transition_id(const json_t *v)
{
    cf_transition_rec r;
    char err[256];
    if (cf_msg_transition_read(v, &r, err, sizeof err) != 0)
        fail_msg("a transition record: %s", err);
    return json_string_value(json_object_get(v, "id"));
}

static const char *event_id(const json_t *v)
{
    cf_envelope ev;
    char err[256];
    if (cf_msg_event_read(v, &ev, err, sizeof err) != 0)
        fail_msg("an event: %s", err);
    return ev.id;
}

/*
 * Every message the run put on Kafka against its JSON Schema (schemas/messages, schemas/events):
 * the task messages and batches the engine sent each worker kind, the transition records of the
 * public feed, and the events the workers sent back; and each one's caseflow-id header is the id
 * it names (core/message.h).
 */
static void check_messages(kit *k, const char *const *kinds)
{
    char dir[1024], topic[256], err[1024];
    cf_schema_set *set = cf_schema_set_new();
    long long want;
    size_t n;

    assert_non_null(set);
    snprintf(dir, sizeof dir, "%s/schemas/events", k->src);
    if (cf_schema_set_load_dir(set, dir, err, sizeof err) != 0)
        fail_msg("%s", err);
    snprintf(dir, sizeof dir, "%s/schemas/messages", k->src);
    if (cf_schema_set_load_dir(set, dir, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(kit_wait_count(k, "select count(*) from outbox", 0, WAIT), 0);

    want = kit_count(k, "select count(*) from events");
    snprintf(topic, sizeof topic, "%s.transitions", k->prefix);
    n = check_topic(k, topic, cf_schema_set_get(set, "transition"), (size_t)want, transition_id);
    assert_true(n >= (size_t)want); /* at least once: a copy sent again is a valid record too */
    printf("%zu transition records valid\n", n);

    for (const char *const *kind = kinds; *kind; kind++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "select count(distinct coalesce(batch_group || dispatched_at, task_id)) from "
                 "tasks where kind = '%s' and dispatched_at is not null",
                 *kind);
        want = kit_count(k, sql);
        snprintf(topic, sizeof topic, "%s.tasks.%s", k->prefix, *kind);
        n = check_topic(k, topic, cf_schema_set_get(set, "task"), (size_t)want, task_message_id);
        assert_true(n > 0);
        printf("%zu %s task messages valid\n", n, *kind);
    }

    /* The events the workers sent: each against its type's schema. */
    {
        json_t *msgs = kit_consume(k, k->events,
                                   (size_t)kit_count(k, "select count(*) from "
                                                        "events"),
                                   WAIT),
               *m;
        size_t i, nworker = 0;
        json_array_foreach (msgs, i, m) {
            const json_t *v = json_object_get(m, "value");
            const char *type = json_string_value(json_object_get(v, "type"));
            const char *source = json_string_value(json_object_get(v, "source"));
            if (!source || strncmp(source, "worker:", 7) != 0)
                continue;
            if (cf_schema_validate(cf_schema_set_get(set, type), v, err, sizeof err) != 0)
                fail_msg("a %s event of %s breaks its schema: %s", type, source, err);
            assert_string_equal(json_string_value(json_object_get(m, "id")), event_id(v));
            nworker++;
        }
        assert_true(nworker > 0);
        printf("%zu worker events valid\n", nworker);
        json_decref(msgs);
    }
    cf_schema_set_free(set);
}

static void test_workers(void **state)
{
    (void)state;
    kit k;
    pid_t engine, nq, sc, docs = 0, service = 0;
    /* One thread takes four messages at most: a wave of six pauses consumption and resumes it. */
    static const char *const nq_env[] = {"CASEFLOW_WORKER_CONCURRENCY=1", NULL};
    /* The slow six-checks worker: each trip takes 0.5 to 5.5 s, so that a kill finds some trips
     * done and some in progress (with this seed, a trip done is often behind one in progress in
     * its partition: its results are published but not committed, and come again). */
    static const char *const slow_env[] = {
        "CASEFLOW_WORKER_GRACE_MS=0", "CASEFLOW_SIM_LATENCY_MS=3000", "CASEFLOW_SIM_JITTER_MS=2500",
        "CASEFLOW_WORKER_SEED=2", NULL};
    /* The failing network: every call fails; two retries 20 ms apart, then task.failed. */
    static const char *const failing_env[] = {"CASEFLOW_SIM_FOUND=0",
                                              "CASEFLOW_SIM_NOTHING=0",
                                              "CASEFLOW_SIM_ERROR=100",
                                              "CASEFLOW_SIM_TIMEOUT=0",
                                              "CASEFLOW_WORKER_RETRIES=2",
                                              "CASEFLOW_WORKER_BACKOFF_MS=20",
                                              NULL};
    int with_docs;
    long long done_at_stop, done_at_kill, dups;
    const char *worker_kinds = "('network_query', 'six_checks')";
    char sql[1024];

    kit_init(&k, "workers");
    with_docs = documents_built(&k);
    if (!with_docs)
        printf("SKIPPED PART: the documents and service kinds are not built yet "
               "(workers/kind_documents.c is the temporary stub): notices and service are not "
               "checked in this run\n");
    else
        worker_kinds = "('network_query', 'six_checks', 'documents', 'service')";
    engine = started(kit_engine_start(&k, NULL));
    nq = started(kit_worker_start(&k, "network_query", nq_env));
    sc = started(kit_worker_start(&k, "six_checks", NULL));
    if (with_docs) {
        docs = started(kit_worker_start(&k, "documents", NULL));
        service = started(kit_worker_start(&k, "service", NULL));
    }

    /* Wave A: filed Monday 2026-03-02 before the 09:00 trip; the trip takes them. */
    file_cases(&k, 1, WAVE, "2026-03-02T08:30:00+08:00");
    complete_intake(&k, 1, WAVE, "2026-03-02T08:40:00+08:00");
    kit_advance(&k, NULL, "2026-03-02T12:00:00+08:00");
    assert_int_equal(wait_in(&k,
                             "select count(*) from tasks where kind = 'six_checks' and status "
                             "= 'done' and case_no in (@)",
                             1, WAVE, CHECKS * WAVE),
                     CHECKS * WAVE);

    /* Wave B: filed Tuesday; no trip on Tuesday, they go on Wednesday's. */
    kit_advance(&k, NULL, "2026-03-03T10:00:00+08:00");
    file_cases(&k, WAVE + 1, 2 * WAVE, "2026-03-03T10:00:00+08:00");
    complete_intake(&k, WAVE + 1, 2 * WAVE, "2026-03-03T10:10:00+08:00");
    kit_advance(&k, NULL, "2026-03-03T23:00:00+08:00");
    kit_sleep_ms(1500);
    assert_int_equal(count_in(&k,
                              "select count(*) from tasks where kind = 'six_checks' and "
                              "dispatched_at is not null and case_no in (@)",
                              WAVE + 1, 2 * WAVE),
                     0);
    kit_advance(&k, NULL, "2026-03-04T12:00:00+08:00");
    assert_int_equal(wait_in(&k,
                             "select count(*) from tasks where kind = 'six_checks' and status "
                             "= 'done' and case_no in (@)",
                             WAVE + 1, 2 * WAVE, CHECKS * WAVE),
                     CHECKS * WAVE);

    /* Wave C: filed Thursday, Friday's trip, with slow trips that are interrupted twice. */
    kit_advance(&k, NULL, "2026-03-05T10:00:00+08:00");
    file_cases(&k, 2 * WAVE + 1, 3 * WAVE, "2026-03-05T10:00:00+08:00");
    complete_intake(&k, 2 * WAVE + 1, 3 * WAVE, "2026-03-05T10:10:00+08:00");
    assert_int_equal(stop_process(&k, sc), 0);
    sc = started(kit_worker_start(&k, "six_checks", slow_env));
    kit_advance(&k, NULL, "2026-03-06T12:00:00+08:00");
    assert_int_equal(wait_in(&k,
                             "select count(*) from tasks where kind = 'six_checks' and "
                             "dispatched_at is not null and case_no in (@)",
                             2 * WAVE + 1, 3 * WAVE, CHECKS * WAVE),
                     CHECKS * WAVE);
    /* The slow worker joins its group and starts its trips.  As soon as the first is back, it is
     * stopped gracefully with no grace: the trips on their way are abandoned, uncommitted. */
    wait_more_done(&k, 0);
    assert_int_equal(stop_process(&k, sc), 0);
    done_at_stop = wave_c_done(&k);
    assert_true(done_at_stop > 0 && done_at_stop < CHECKS * WAVE);
    /* A second slow worker takes the abandoned trips; it is killed with SIGKILL as soon as one
     * more is back, while the others are still on their way. */
    sc = started(kit_worker_start(&k, "six_checks", slow_env));
    wait_more_done(&k, done_at_stop);
    kit_engine_stop(&k, sc, SIGKILL);
    stopped(sc);
    done_at_kill = wave_c_done(&k);
    assert_true(done_at_kill < CHECKS * WAVE);
    printf("wave C: %lld of %d checks done when the slow worker was stopped, %lld when its "
           "successor was killed\n",
           done_at_stop, CHECKS * WAVE, done_at_kill);
    sc = started(kit_worker_start(&k, "six_checks", NULL));
    assert_int_equal(wait_in(&k,
                             "select count(*) from tasks where kind = 'six_checks' and status "
                             "= 'done' and case_no in (@)",
                             2 * WAVE + 1, 3 * WAVE, CHECKS * WAVE),
                     CHECKS * WAVE);

    /* The network query of the filing day is in every case's data, with its eight categories
     * (户籍 and 理财 among them, #13). */
    assert_int_equal(wait_in(&k,
                             "select count(*) from tasks where kind = 'network_query' and "
                             "status = 'done' and case_no in (@)",
                             1, 3 * WAVE, 3 * WAVE),
                     3 * WAVE);
    assert_int_equal(count_in(&k,
                              "select count(*) from cases where case_no in (@) and "
                              "jsonb_typeof(body -> 'data' -> 'property' -> 'categories') = "
                              "'object' and body -> 'data' -> 'property' ? 'queried_at' and "
                              "(select count(*) from jsonb_object_keys(body -> 'data' -> "
                              "'property' -> 'categories')) = 8",
                              1, 3 * WAVE),
                     3 * WAVE);

    /* The trips: Monday, Wednesday and Friday at 09:00, each wave on its day, one batch per
     * office and day, each result about its own office and category. */
    assert_int_equal(count_in(&k,
                              "select count(*) from tasks where kind = 'six_checks' and "
                              "dispatched_at = '2026-03-02T09:00:00+08:00' and case_no in (@)",
                              1, WAVE),
                     CHECKS * WAVE);
    assert_int_equal(count_in(&k,
                              "select count(*) from tasks where kind = 'six_checks' and "
                              "dispatched_at = '2026-03-04T09:00:00+08:00' and case_no in (@)",
                              WAVE + 1, 2 * WAVE),
                     CHECKS * WAVE);
    assert_int_equal(count_in(&k,
                              "select count(*) from tasks where kind = 'six_checks' and "
                              "dispatched_at = '2026-03-06T09:00:00+08:00' and case_no in (@)",
                              2 * WAVE + 1, 3 * WAVE),
                     CHECKS * WAVE);
    assert_int_equal(kit_count(&k, "select count(*) from tasks where kind = 'six_checks' and "
                                   "extract(isodow from dispatched_at at time zone "
                                   "'Asia/Shanghai') not in (1, 3, 5)"),
                     0);
    assert_int_equal(kit_count(&k, "select count(*) from tasks where kind = 'six_checks' and "
                                   "(result ->> 'office' is distinct from params ->> 'office' or "
                                   "result ->> 'category' is distinct from params ->> 'category' "
                                   "or jsonb_typeof(result -> 'found') <> 'boolean')"),
                     0);

    if (with_docs) {
        /* Notices made, then served by the next day's 14:00 service run: every case has gone on
         * to its property results. */
        assert_int_equal(wait_in(&k,
                                 "select count(*) from tasks where activity = 'notices' and "
                                 "status = 'done' and case_no in (@)",
                                 1, 3 * WAVE, 3 * WAVE),
                         3 * WAVE);
        kit_advance(&k, NULL, "2026-03-06T15:00:00+08:00");
        assert_int_equal(wait_in(&k,
                                 "select count(*) from cases where case_no in (@) and state "
                                 "in ('queries', 'execution')",
                                 1, 3 * WAVE, 3 * WAVE),
                         3 * WAVE);
        assert_int_equal(count_in(&k,
                                  "select count(*) from tasks where activity = 'notices' and "
                                  "status = 'done' and case_no in (@)",
                                  1, 3 * WAVE),
                         3 * WAVE);
        check_documents(&k);
    }

    /* Exactly once: every worker task is settled by one applied event, and nothing was rejected;
     * results done twice (by the killed worker and its successor) were dropped as duplicates. */
    snprintf(sql, sizeof sql,
             "select count(*) from tasks where worker and kind in %s and status not in ('done', "
             "'failed')",
             worker_kinds);
    assert_int_equal(kit_wait_count(&k, sql, 0, WAIT), 0);
    snprintf(sql, sizeof sql,
             "select count(*) from tasks t where worker and kind in %s and (select count(*) from "
             "events e where e.type in ('task.completed', 'task.failed') and e.body -> 'data' ->> "
             "'task_id' = t.task_id) <> 1",
             worker_kinds);
    assert_int_equal(kit_count(&k, sql), 0);
    assert_int_equal(kit_count(&k, "select count(*) from events where source like 'worker:%' and "
                                   "event_id not like '%:done' and event_id not like '%:failed'"),
                     0);
    assert_int_equal(kit_count(&k, "select count(*) from dead_letters"), 0);
    dups = kit_count(&k, "select coalesce(sum(seen), 0) from duplicates");
    printf("the engine dropped %lld duplicate event%s\n", dups, dups == 1 ? "" : "s");

    /* A network that always fails: task.failed after the last try, an incident on the property
     * control post, and no further try. */
    assert_int_equal(stop_process(&k, nq), 0);
    nq = started(kit_worker_start(&k, "network_query", failing_env));
    file_cases(&k, 3 * WAVE + 1, 3 * WAVE + 2, "2026-03-06T12:30:00+08:00");
    assert_int_equal(wait_in(&k,
                             "select count(*) from tasks where kind = 'network_query' and "
                             "status = 'failed' and case_no in (@)",
                             3 * WAVE + 1, 3 * WAVE + 2, 2),
                     2);
    assert_int_equal(wait_in(&k,
                             "select count(*) from tasks where activity = "
                             "'incident_network_query' and post = 'property_control' and "
                             "status = 'open' and case_no in (@)",
                             3 * WAVE + 1, 3 * WAVE + 2, 2),
                     2);
    assert_int_equal(count_in(&k,
                              "select count(*) from events where type = 'task.failed' and "
                              "(body -> 'data' ->> 'attempts')::int = 3 and body -> 'data' ->> "
                              "'error' like '%simulated error%' and case_no in (@)",
                              3 * WAVE + 1, 3 * WAVE + 2),
                     2);
    kit_sleep_ms(3000);
    assert_int_equal(count_in(&k,
                              "select count(*) from events where type like 'task.%' and "
                              "source = 'worker:network_query' and case_no in (@)",
                              3 * WAVE + 1, 3 * WAVE + 2),
                     2);
    assert_int_equal(count_in(&k,
                              "select count(*) from tasks where kind = 'network_query' and "
                              "case_no in (@)",
                              3 * WAVE + 1, 3 * WAVE + 2),
                     2);

    check_logs_masked(&k);
    {
        static const char *const plain[] = {"network_query", "six_checks", NULL};
        static const char *const all[] = {"network_query", "six_checks", "documents", "service",
                                          NULL};
        check_messages(&k, with_docs ? all : plain);
    }
    /* A graceful stop: every worker finishes, commits and exits 0. */
    assert_int_equal(stop_process(&k, nq), 0);
    assert_int_equal(stop_process(&k, sc), 0);
    if (with_docs) {
        assert_int_equal(stop_process(&k, docs), 0);
        assert_int_equal(stop_process(&k, service), 0);
    }
    assert_int_equal(stop_process(&k, engine), 0);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test_teardown(test_workers, teardown)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
