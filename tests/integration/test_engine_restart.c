/*
 * The servers go away under load: while one engine consumes a stream, the
 * stack's PostgreSQL is killed (immediate shutdown) and started again, then
 * kept down for a few seconds, and the Kafka broker is restarted and later
 * killed and kept down for a few seconds (scripts/stack stop/start/restart).
 * The engine must recover by itself (the same process all along) and in the
 * end every event is applied exactly once, nothing is dead-lettered, the
 * outbox empties and every applied event's transition reached
 * <prefix>.transitions at least once.
 *
 * It restarts the servers of the shared stack, so ctest runs it alone
 * (RUN_SERIAL).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kit/kit.h"

enum {
    CASES = 4000,
    EVENTS = 2 * CASES,
    SEGMENTS = 5,          /* the stream in parts, an outage in the middle of each but the last */
    CHUNK = 20,            /* cases produced at once ... */
    CHUNK_PAUSE_MS = 40,   /* ... then a pause: about 1,000 events/s while the engine consumes */
    OUTAGE_SLEEP_MS = 3000 /* how long a "stop, wait, start" keeps the server away */
};

/* One outage: `stop`, then `start` once `pause_ms` have passed; or, with no pause, `restart`. */
typedef struct outage {
    const char *what;
    const char *server;
    const char *stop;  /* stop's flag: "--hard" or "" */
    int pause_ms;      /* 0: `restart` */
    const char *flags; /* restart's flag: "--hard" or "" */
} outage;

static const outage outages[SEGMENTS - 1] = {
    {"PostgreSQL killed (immediate) and restarted", "postgres", NULL, 0, "--hard"},
    {"PostgreSQL killed (immediate), down 3 s", "postgres", "--hard", OUTAGE_SLEEP_MS, NULL},
    {"Kafka broker restarted (SIGTERM)", "kafka", NULL, 0, ""},
    {"Kafka broker killed (SIGKILL), down 3 s", "kafka", "--hard", OUTAGE_SLEEP_MS, NULL},
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *need(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "%s is not set: run this test through ctest (the stack fixture sets it)\n",
                name);
        exit(1);
    }
    return v;
}

/* Starts `scripts/stack CMD [FLAG] DIR SERVER` in the background; its progress goes to stderr. */
static pid_t stack_start(const char *cmd, const char *flag, const char *server)
{
    char script[1024];
    const char *dir = need("CASEFLOW_STACK_DIR");
    pid_t pid;

    snprintf(script, sizeof script, "%s/scripts/stack", need("CASEFLOW_SOURCE_DIR"));
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (flag && *flag)
            execl(script, script, cmd, flag, dir, server, (char *)NULL);
        else
            execl(script, script, cmd, dir, server, (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", script, strerror(errno));
        _exit(127);
    }
    return pid;
}

static void stack_wait(pid_t pid, const char *what)
{
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("scripts/stack failed during: %s (status %d)", what, status);
}

/* Waits up to `seconds` until `sql` gives at least `want` (or exactly, with `exact`). */
static long long wait_count(kit *k, const char *sql, long long want, int exact, int seconds)
{
    long long v = -1;
    double until = now_s() + seconds;
    do {
        v = kit_count(k, sql);
        if (exact ? v == want : v >= want)
            return v;
        kit_sleep_ms(100);
    } while (now_s() < until);
    fprintf(stderr, "waited %d s for %s %s %lld, last saw %lld\n", seconds, sql,
            exact ? "=" : ">=", want, v);
    return v;
}

/* Produces cases [from, to), each filed and then withdrawn, at a steady pace. */
static void produce(kit *k, int from, int to)
{
    for (int c = from; c < to; c += CHUNK) {
        kit_file_and_withdraw(k, c, c + CHUNK < to ? c + CHUNK : to);
        if (c + CHUNK <= to)
            kit_sleep_ms(CHUNK_PAUSE_MS);
    }
}

/* The engine has not exited: it is still the process the test started. */
static void assert_running(pid_t engine, const char *when)
{
    int status = 0;
    pid_t r = waitpid(engine, &status, WNOHANG);
    if (r != 0)
        fail_msg("the engine (pid %ld) exited %s: %s %d", (long)engine, when,
                 r == engine && WIFSIGNALED(status) ? "signal" : "status",
                 r == engine && WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

/* How many lines of `path` contain `needle`. */
static int log_lines(const char *path, const char *needle)
{
    char line[4096];
    int n = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strstr(line, needle))
            n++;
    fclose(f);
    return n;
}

/* How many messages `topic` holds: the sum of its partitions' high minus low watermarks. */
static long long topic_messages(kit *k, const char *topic)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(k->producer, topic, NULL);
    long long total = 0;

    assert_non_null(t);
    assert_int_equal(rd_kafka_metadata(k->producer, 0, t, &md, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(md->topic_cnt, 1);
    for (int p = 0; p < md->topics[0].partition_cnt; p++) {
        int64_t lo = 0, hi = 0;
        assert_int_equal(rd_kafka_query_watermark_offsets(
                             k->producer, topic, md->topics[0].partitions[p].id, &lo, &hi, 10000),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        total += hi - lo;
    }
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    return total;
}

static void test_servers_restart_under_load(void **state)
{
    (void)state;
    static const char *const env[] = {"CASEFLOW_BATCH_SIZE=100", NULL};
    const char *const applied_sql = "select count(*) from events";
    int per_segment = CASES / SEGMENTS;
    char log[640], topic[160];
    double t0 = now_s(), t;
    kit k;
    pid_t engine;

    need("CASEFLOW_STACK_DIR");
    kit_init(&k, "restart");
    engine = kit_engine_start(&k, env);
    snprintf(log, sizeof log, "%s/engine-1.log", k.logdir);
    printf("engine pid %ld, log %s\n", (long)engine, log);

    for (int s = 0; s < SEGMENTS; s++) {
        int from = s * per_segment, mid = from + per_segment / 2, to = from + per_segment;
        const outage *o = s < SEGMENTS - 1 ? &outages[s] : NULL;
        long long applied;

        produce(&k, from, mid);
        if (!o) {
            produce(&k, mid, to);
            break;
        }
        /* Mid-stream: the engine has recovered from the previous outage, caught up with the
         * earlier segments and is applying this one's events when its server goes away. */
        applied = wait_count(&k, applied_sql, 2LL * from + (mid - from), 0, 90);
        assert_true(applied >= 2LL * from + (mid - from));
        assert_running(engine, "before an outage");
        printf("%s: %lld of %d events applied when it began\n", o->what, applied, EVENTS);
        fflush(stdout);
        t = now_s();
        if (o->pause_ms == 0) {
            /* The second half of the segment is produced while the server restarts. */
            pid_t pid = stack_start("restart", o->flags, o->server);
            produce(&k, mid, to);
            stack_wait(pid, o->what);
        } else {
            stack_wait(stack_start("stop", o->stop, o->server), o->what);
            /* Produced while the server is away (kept in the producer's queue while Kafka is). */
            produce(&k, mid, to);
            while (now_s() - t < o->pause_ms / 1000.0)
                kit_sleep_ms(50);
            stack_wait(stack_start("start", NULL, o->server), o->what);
        }
        printf("%s: back after %.1f s, %lld events applied\n", o->what, now_s() - t,
               kit_count(&k, applied_sql));
        fflush(stdout);
        assert_running(engine, "during an outage");
    }
    kit_flush(&k);
    printf("all %d events produced after %.1f s\n", EVENTS, now_s() - t0);

    /* Exactly once: every event applied, each case's sequence 1, 2 with nothing twice. */
    t = now_s();
    assert_int_equal(wait_count(&k, applied_sql, EVENTS, 1, 180), EVENTS);
    printf("all events applied %.1f s later\n", now_s() - t);
    assert_int_equal(kit_count(&k, "select count(distinct event_id) from events"), EVENTS);
    kit_check_withdrawn(&k, CASES);
    printf("duplicates dropped: %lld\n",
           kit_count(&k, "select coalesce(sum(seen), 0) from duplicates"));

    /* What was committed is published: the outbox empties (rows whose delivery failed wait
     * for the relay's sweep, which takes them after 30 s). */
    t = now_s();
    assert_int_equal(wait_count(&k, "select count(*) from outbox", 0, 1, 120), 0);
    printf("outbox empty %.1f s later\n", now_s() - t);

    /* Every applied event's transition reached the public feed at least once. */
    snprintf(topic, sizeof topic, "%s.transitions", k.prefix);
    {
        long long held = topic_messages(&k, topic);
        json_t *msgs, *ids = json_object(), *events = json_object(), *m;
        size_t i;

        assert_true(held >= EVENTS);
        msgs = kit_consume(&k, topic, (size_t)held, 120);
        printf("%s: %zu messages read of %lld held\n", topic, json_array_size(msgs), held);
        assert_int_equal(json_array_size(msgs), held);
        json_array_foreach (msgs, i, m) {
            json_t *v = json_object_get(m, "value");
            const char *id = json_string_value(json_object_get(m, "id"));
            if (!id)
                id = json_string_value(json_object_get(v, "id"));
            assert_non_null(id);
            json_object_set_new(ids, id, json_true());
            if (json_is_string(json_object_get(v, "event_id")))
                json_object_set_new(events, json_string_value(json_object_get(v, "event_id")),
                                    json_true());
        }
        assert_int_equal(json_object_size(ids), EVENTS);
        assert_int_equal(json_object_size(events), EVENTS);
        json_decref(ids);
        json_decref(events);
        json_decref(msgs);
    }

    /* It recovered by itself: the process the test started has run all along, and it did see
     * PostgreSQL go away. */
    assert_running(engine, "after the outages");
    printf("engine reconnected to PostgreSQL %d times\n",
           log_lines(log, "connected to PostgreSQL again"));
    assert_true(log_lines(log, "connected to PostgreSQL again") >= 1);
    kit_engine_stop_ok(&k, engine);
    printf("done in %.1f s\n", now_s() - t0);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_servers_restart_under_load)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
