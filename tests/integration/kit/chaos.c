/* The chaos tests' tools: the stack's servers by name, a load from a thread, the audit. */
#include "chaos.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/bus.h"

static const char *stack_dir(void)
{
    const char *d = getenv("CASEFLOW_STACK_DIR");
    return d && *d ? d : ".";
}

/* The first number in `path`, or -1. */
static long first_number(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

pid_t chaos_server_pid(const char *part)
{
    char path[1024];
    if (strcmp(part, "postgres") == 0)
        snprintf(path, sizeof path, "%s/pg/postmaster.pid", stack_dir());
    else if (strcmp(part, "kafka") == 0 || strcmp(part, "kafka1") == 0)
        snprintf(path, sizeof path, "%s/kafka.pid", stack_dir());
    else
        snprintf(path, sizeof path, "%s/%s.pid", stack_dir(), part);
    return (pid_t)first_number(path);
}

/* The parent of process `pid` from /proc, or -1. */
static pid_t parent_of(pid_t pid)
{
    char path[64], buf[512], *close_paren;
    FILE *f;
    size_t n;
    int ppid = -1;

    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* "pid (comm) state ppid ...": comm may hold spaces, so read after its last ')'. */
    if ((close_paren = strrchr(buf, ')')) == NULL || sscanf(close_paren + 1, " %*c %d", &ppid) != 1)
        return -1;
    return (pid_t)ppid;
}

int chaos_signal(const char *part, int sig)
{
    pid_t main_pid = chaos_server_pid(part);
    int n = 0;
    DIR *proc;
    struct dirent *d;

    if (main_pid <= 0)
        return 0;
    if (strcmp(part, "postgres") == 0 && (proc = opendir("/proc")) != NULL) {
        /* The backends first, so that none answers while the postmaster is already stopped. */
        while ((d = readdir(proc)) != NULL) {
            pid_t pid = (pid_t)atol(d->d_name);
            if (pid > 0 && parent_of(pid) == main_pid && kill(pid, sig) == 0)
                n++;
        }
        closedir(proc);
    }
    if (kill(main_pid, sig) == 0)
        n++;
    return n;
}

int chaos_stack(kit *k, const char *cmd, int hard, const char *part)
{
    char script[1024], log[640];
    int status = 0;
    pid_t pid;

    snprintf(script, sizeof script, "%s/scripts/stack", k->src);
    snprintf(log, sizeof log, "%s/stack.log", k->logdir);
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        kit_output_to(log);
        if (hard)
            execl(script, script, cmd, "--hard", stack_dir(), part, (char *)NULL);
        else
            execl(script, script, cmd, stack_dir(), part, (char *)NULL);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    printf("scripts/stack %s%s %s: exit %d\n", cmd, hard ? " --hard" : "", part,
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int chaos_leader(kit *k, const char *topic, char *part, size_t size)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(k->producer, topic, NULL);
    int32_t best = -1, count[16] = {0};

    if (!t)
        return -1;
    if (rd_kafka_metadata(k->producer, 0, t, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < md->topic_cnt; i++)
            for (int p = 0; p < md->topics[i].partition_cnt; p++) {
                int32_t leader = md->topics[i].partitions[p].leader;
                if (leader > 0 && leader < 16 && ++count[leader] > (best > 0 ? count[best] : 0))
                    best = leader;
            }
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(t);
    if (best <= 0)
        return -1;
    if (best == 1)
        snprintf(part, size, "kafka");
    else
        snprintf(part, size, "kafka%d", (int)best);
    return 0;
}

/* ---- the load ---- */

/* A filing to send again with a new producer: key, then payload. */
typedef struct held {
    struct held *next;
    size_t key_len, len;
    char data[];
} held;

/* Keeps a copy of a filing that a producer which failed for good did not deliver. */
static void hold(chaos_load *l, const void *key, size_t key_len, const void *text, size_t len)
{
    held *h = malloc(sizeof *h + key_len + len);
    if (!h) {
        __atomic_add_fetch(&l->failed, 1, __ATOMIC_SEQ_CST);
        return;
    }
    h->key_len = key_len;
    h->len = len;
    memcpy(h->data, key, key_len);
    memcpy(h->data + key_len, text, len);
    h->next = l->held;
    l->held = h;
}

/* Produces one filing keyed by its case; sends it again while the client refuses it for a
 * passing reason (its queue full, the topic not yet known).  A producer that failed for good
 * refuses everything: the filing is held for the next one (mend).  Returns 0, or the last
 * error. */
static rd_kafka_resp_err_t produce_filing(chaos_load *l, const void *key, size_t key_len,
                                          const void *text, size_t len)
{
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int tries = 0; tries < 600; tries++) {
        err = rd_kafka_producev(l->rk, RD_KAFKA_V_TOPIC(l->k->events), RD_KAFKA_V_KEY(key, key_len),
                                RD_KAFKA_V_VALUE((void *)text, len),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
            hold(l, key, key_len, text, len);
            return RD_KAFKA_RESP_ERR_NO_ERROR;
        }
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
        rd_kafka_poll(l->rk, 100);
    }
    return err;
}

/*
 * A filing the producer gave up on is sent again, as the filing system must: a new topic's
 * metadata may not have reached every broker when the first filings go out ("unknown
 * partition").  What the cluster acknowledged must then never be lost: that is what the test
 * checks downstream.
 */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    chaos_load *l = opaque;
    char why[256];
    if (!m->err) {
        __atomic_add_fetch(&l->delivered, 1, __ATOMIC_SEQ_CST);
        return;
    }
    __atomic_add_fetch(&l->resent, 1, __ATOMIC_SEQ_CST);
    if (rd_kafka_fatal_error(rk, why, sizeof why) || m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
        m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
        hold(l, m->key, m->key_len, m->payload, m->len);
        return;
    }
    fprintf(stderr, "load: a filing was not delivered: %s (sending it again)\n",
            rd_kafka_err2str(m->err));
    if (produce_filing(l, m->key, m->key_len, m->payload, m->len) != 0)
        __atomic_add_fetch(&l->failed, 1, __ATOMIC_SEQ_CST);
}

static rd_kafka_t *load_producer(chaos_load *l);

/*
 * An idempotent producer that raised a fatal error refuses every message for good (librdkafka
 * 2.0 does so after NOT_ENOUGH_REPLICAS: "rewound sequence number"), as the engine's and the
 * workers' producers do: a new one sends again what the old one did not deliver, as a filing
 * system must.
 */
static void mend(chaos_load *l)
{
    char why[512];
    if (!rd_kafka_fatal_error(l->rk, why, sizeof why))
        return;
    fprintf(stderr,
            "load: the producer failed for good: %s (a new one sends again what it did "
            "not deliver)\n",
            why);
    rd_kafka_purge(l->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(l->rk, 0);
    rd_kafka_destroy(l->rk);
    l->rk = load_producer(l);
    l->renewed++;
    while (l->held) {
        held *h = l->held;
        l->held = h->next;
        if (produce_filing(l, h->data, h->key_len, h->data + h->key_len, h->len) != 0)
            __atomic_add_fetch(&l->failed, 1, __ATOMIC_SEQ_CST);
        free(h);
    }
}

static rd_kafka_t *load_producer(chaos_load *l)
{
    char err[512];
    rd_kafka_conf_t *conf = cf_bus_conf_new(l->k->brokers, err, sizeof err);
    rd_kafka_t *rk;

    /* message.timeout.ms 0: the producer waits for the cluster as long as it takes, so that a
     * filing is never lost on the way in (what the filing system's feed must do too). */
    if (!conf || cf_bus_conf_set(conf, "enable.idempotence", "true", err, sizeof err) != 0 ||
        cf_bus_conf_set(conf, "acks", "all", err, sizeof err) != 0 ||
        cf_bus_conf_set(conf, "message.timeout.ms", "0", err, sizeof err) != 0 ||
        cf_bus_conf_set(conf, "linger.ms", "5", err, sizeof err) != 0) {
        fprintf(stderr, "load: %s\n", err);
        exit(1);
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, l);
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err))) {
        fprintf(stderr, "load: %s\n", err);
        exit(1);
    }
    return rk;
}

/* Waits until the cluster knows the events topic: a producer told "unknown topic" by a broker
 * that has not yet heard of a topic just made fails its messages at once. */
static void wait_topic(rd_kafka_t *rk, const char *topic)
{
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    for (int tries = 0; t && tries < 120; tries++) {
        const struct rd_kafka_metadata *md = NULL;
        int known = rd_kafka_metadata(rk, 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                    md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                    md->topics[0].partition_cnt > 0;
        if (md)
            rd_kafka_metadata_destroy(md);
        if (known)
            break;
        kit_sleep_ms(500);
    }
    if (t)
        rd_kafka_topic_destroy(t);
}

static void *load_main(void *arg)
{
    chaos_load *l = arg;
    int pause_ms = l->per_second > 0 ? 1000 / l->per_second : 0;

    l->rk = load_producer(l);
    wait_topic(l->rk, l->k->events);

    for (int n = 1; n <= l->cases; n++) {
        char case_no[64], id[32], *text;
        json_t *ev;
        rd_kafka_resp_err_t err;

        snprintf(case_no, sizeof case_no, "(2026)豫0381执%d号", n);
        snprintf(id, sizeof id, "filed-%d", n);
        ev = kit_filed(case_no, id, "2026-03-02T09:00:00+08:00");
        text = json_dumps(ev, JSON_COMPACT);
        json_decref(ev);
        err = produce_filing(l, case_no, strlen(case_no), text, strlen(text));
        free(text);
        if (err) {
            fprintf(stderr, "load: producing case %d: %s\n", n, rd_kafka_err2str(err));
            __atomic_add_fetch(&l->failed, 1, __ATOMIC_SEQ_CST);
        }
        __atomic_add_fetch(&l->sent, 1, __ATOMIC_SEQ_CST);
        rd_kafka_poll(l->rk, 0);
        mend(l);
        if (pause_ms)
            kit_sleep_ms(pause_ms);
    }
    while (rd_kafka_outq_len(l->rk) > 0 || l->held) {
        rd_kafka_poll(l->rk, 100);
        mend(l);
    }
    rd_kafka_destroy(l->rk);
    return NULL;
}

void chaos_load_start(chaos_load *l, kit *k, int cases, int per_second)
{
    memset(l, 0, sizeof *l);
    l->k = k;
    l->cases = cases;
    l->per_second = per_second;
    if (pthread_create(&l->thread, NULL, load_main, l) != 0) {
        fprintf(stderr, "load: cannot start its thread\n");
        exit(1);
    }
}

int chaos_load_wait(chaos_load *l)
{
    pthread_join(l->thread, NULL);
    printf("load: %d filings produced, %d confirmed, %d sent again, %d failed, %d producer%s "
           "replaced\n",
           l->sent, l->delivered, l->resent, l->failed, l->renewed, l->renewed == 1 ? "" : "s");
    return l->delivered;
}

/* ---- the audit ---- */

long long chaos_lag(kit *k)
{
    PGresult *res;
    long long lag = 0;
    const char *p[2] = {k->group, k->events};

    res = PQexecParams(k->db,
                       "select partition, next_offset from consumer_offsets where group_id = $1 "
                       "and topic = $2",
                       2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        return -1;
    }
    /* Every partition: one the engine never stored an offset for lags by its whole length. */
    for (int32_t part = 0; part < 8; part++) {
        int64_t low = 0, high = 0, next = 0;
        if (rd_kafka_query_watermark_offsets(k->producer, k->events, part, &low, &high, 10000) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
            lag = -1;
            break;
        }
        for (int r = 0; r < PQntuples(res); r++)
            if (atoi(PQgetvalue(res, r, 0)) == part)
                next = strtoll(PQgetvalue(res, r, 1), NULL, 10);
        lag += high - (next > low ? next : low);
    }
    PQclear(res);
    return lag;
}

/* One check: prints it and counts a failure. */
static int check(const char *what, long long got, long long want)
{
    printf("audit: %-58s %lld%s\n", what, got, got == want ? "" : "   <-- WRONG");
    if (got != want)
        printf("audit: expected %lld\n", want);
    return got != want;
}

int chaos_audit(kit *k, int cases, int seconds)
{
    int bad = 0;
    long long lag = -1;

    /* One deadline for all: when a filing is lost, each wait would otherwise take it all. */
    for (int i = 0; i < seconds; i++) {
        if (kit_count(k, "select count(*) from events where type = 'case.filed'") == cases &&
            kit_count(k, "select count(*) from tasks where kind = 'network_query' and status in "
                         "('done', 'failed')") == cases &&
            kit_count(k, "select count(*) from outbox") == 0 && (lag = chaos_lag(k)) == 0)
            break;
        kit_sleep_ms(1000);
    }
    bad += check("filings applied",
                 kit_count(k, "select count(*) from events where type = "
                              "'case.filed'"),
                 cases);
    bad += check("cases", kit_count(k, "select count(*) from cases"), cases);
    bad += check("cases whose sequence is not 1..n without a gap",
                 kit_count(k, "select count(*) from (select case_no from events group by case_no "
                              "having min(seq) <> 1 or max(seq) <> count(*)) g"),
                 0);
    bad += check("cases whose head is not their last event",
                 kit_count(k, "select count(*) from cases c where c.seq <> (select max(seq) from "
                              "events e where e.case_no = c.case_no)"),
                 0);
    bad += check("network queries settled",
                 kit_count(k, "select count(*) from tasks where kind = 'network_query' and status "
                              "in ('done', 'failed')"),
                 cases);
    /* One pass over the results (a subquery per task would read the log once per task). */
    bad += check("worker tasks not settled by exactly one event",
                 kit_count(k, "select count(*) from tasks t left join (select body -> 'data' ->> "
                              "'task_id' as task_id, count(*) as n from events where type in "
                              "('task.completed', 'task.failed') group by 1) r using (task_id) "
                              "where t.worker and t.status in ('done', 'failed') and "
                              "coalesce(r.n, 0) <> 1"),
                 0);
    bad += check("dead letters", kit_count(k, "select count(*) from dead_letters"), 0);
    bad += check("outbox rows not yet published", kit_count(k, "select count(*) from outbox"), 0);
    bad += check("lag of the engines' group on the events topic", lag, 0);
    printf("audit: %lld duplicate deliveries dropped by the engine (counted, not applied)\n",
           kit_count(k, "select coalesce(sum(seen), 0) from duplicates"));
    return bad;
}

/* ---- a chaos test's start and end ---- */

void chaos_begin(kit *k, const char *name, chaos_load *l, int cases, int per_second, pid_t *engine,
                 pid_t *worker)
{
    kit_init(k, name);
    chaos_start(k, l, cases, per_second, engine, worker);
}

void chaos_start(kit *k, chaos_load *l, int cases, int per_second, pid_t *engine, pid_t *worker)
{
    chaos_start_with(k, l, cases, per_second, NULL, engine, worker);
}

void chaos_start_with(kit *k, chaos_load *l, int cases, int per_second,
                      const char *const *engine_env, pid_t *engine, pid_t *worker)
{
    if (engine)
        *engine = kit_engine_start(k, engine_env);
    *worker = kit_worker_start(k, "network_query", NULL);
    chaos_load_start(l, k, cases, per_second);
    if (engine) {
        kit_wait_count(k, "select least(count(*), 1) from events", 1, 300);
        kit_sleep_ms(3000);
    }
}

/* Whether child `pid` still runs, printed as `what`; 1 when it does not (a failed check). */
static int gone(pid_t pid, const char *what)
{
    int running = waitpid(pid, NULL, WNOHANG) == 0;
    printf("%s %s\n", what, running ? "carried on without a restart" : "is gone   <-- WRONG");
    return !running;
}

int chaos_finish(kit *k, chaos_load *l, pid_t engine, pid_t worker, int untouched)
{
    int bad = check("filings confirmed by the cluster", chaos_load_wait(l), l->cases);
    bad += check("filings the producer gave up on", l->failed, 0);
    bad += chaos_audit(k, l->cases, 300);
    if (untouched) {
        bad += gone(engine, "the engine");
        bad += gone(worker, "the worker");
    }
    bad += check("the worker's exit status after SIGTERM", kit_engine_stop(k, worker, SIGTERM), 0);
    bad += check("the engine's exit status after SIGTERM", kit_engine_stop(k, engine, SIGTERM), 0);
    kit_done(k);
    return bad;
}

long long chaos_fill(const char *path)
{
    static char block[1 << 16];
    long long total = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ssize_t n;

    if (fd < 0)
        return -1;
    while ((n = write(fd, block, sizeof block)) > 0)
        total += n;
    /* The last partial block: the filesystem down to its last byte. */
    while ((n = write(fd, block, 512)) > 0)
        total += n;
    close(fd);
    return total;
}

double chaos_seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

long chaos_ask_queue(const char *base, const char *cookie, const char *when, int *database)
{
    char url[128];
    struct timespec t0;
    kit_reply r;
    long s;

    snprintf(url, sizeof url, "%s/api/v1/posts/intake/tasks", base);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    s = kit_http("GET", url, cookie, NULL, &r);
    *database = s == 503 && r.body && strstr(r.body, "database") != NULL;
    printf("serve %s: %ld after %.1f s %.160s\n", when, s, chaos_seconds_since(&t0),
           r.body ? r.body : "");
    kit_reply_free(&r);
    return s;
}
