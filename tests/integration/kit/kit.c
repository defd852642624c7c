/* The integration tests' kit: fresh databases and topics, engine processes, producing, waiting. */
#include "kit.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/yamldoc.h"
#include "io/bus.h"
#include "io/store.h"

static void die(const char *fmt, ...) CF_PRINTF(1, 2);

static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "kit: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(1);
}

void kit_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static const char *need(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        die("%s is not set: run integration tests through ctest (the stack fixture sets it)", name);
    return v;
}

/* Replaces the database name at the end of a postgresql:// URI. */
static void with_dbname(const char *uri, const char *db, char *out, size_t n)
{
    const char *slash = strrchr(uri, '/');
    const char *q = strchr(uri, '?');
    if (!slash || slash < uri + 13)
        die("cannot place a database name into %s", uri);
    snprintf(out, n, "%.*s/%s%s", (int)(slash - uri), uri, db, q ? q : "");
}

/*
 * The engines and workers a test started.  A test that fails stops half-way (cmocka returns from
 * it), so whatever it left running is killed when the process exits: a failed run must not leave
 * processes behind that keep a database connection and retry forever.
 */
static pid_t children[256];
static size_t nchildren;

static void kill_children(void)
{
    for (size_t i = 0; i < nchildren; i++)
        if (children[i] > 0 && kill(children[i], SIGKILL) == 0)
            waitpid(children[i], NULL, 0);
}

static void remember(pid_t pid)
{
    static int registered;
    if (!registered) {
        atexit(kill_children);
        registered = 1;
    }
    if (nchildren < sizeof children / sizeof children[0])
        children[nchildren++] = pid;
}

static void forget(pid_t pid)
{
    for (size_t i = 0; i < nchildren; i++)
        if (children[i] == pid)
            children[i] = 0;
}

static int run(kit *k, const char *input, const char *const *args, int as_owner, char **out,
               char **err);

void kit_init(kit *k, const char *name)
{
    char err[512], dbname[96], sql[256];
    PGconn *admin;
    PGresult *res;
    rd_kafka_conf_t *conf;
    char why[512];
    const char *base, *base_owner;

    memset(k, 0, sizeof *k);
    /* Line by line: a test's progress interleaves in order with what its children log. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(k->name, sizeof k->name, "%s", name);
    base = need("CASEFLOW_PG");
    base_owner = need("CASEFLOW_PG_OWNER");
    k->brokers = need("CASEFLOW_KAFKA");
    k->bin = need("CASEFLOW_BIN");
    k->src = need("CASEFLOW_SOURCE_DIR");
    snprintf(dbname, sizeof dbname, "t_%s_%ld", name, (long)getpid());
    snprintf(k->prefix, sizeof k->prefix, "t.%s.%ld", name, (long)getpid());
    snprintf(k->group, sizeof k->group, "g-%s-%ld", name, (long)getpid());
    snprintf(k->events, sizeof k->events, "%s.events", k->prefix);
    snprintf(k->start, sizeof k->start, "2026-03-02T08:00:00+08:00");
    snprintf(k->logdir, sizeof k->logdir, "%s/logs-%s-%ld",
             getenv("CASEFLOW_STACK_DIR") ? getenv("CASEFLOW_STACK_DIR") : "/tmp", name,
             (long)getpid());
    if (mkdir(k->logdir, 0755) != 0 && errno != EEXIST)
        die("mkdir %s: %s", k->logdir, strerror(errno));

    /* The owner role makes the database (it owns it) and migrates it. */
    admin = cf_store_connect(base_owner, err, sizeof err);
    if (!admin)
        die("%s", err);
    snprintf(sql, sizeof sql, "create database %s", dbname);
    res = PQexec(admin, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        die("%s: %s", sql, PQresultErrorMessage(res));
    PQclear(res);
    PQfinish(admin);
    with_dbname(base, dbname, k->pg, sizeof k->pg);
    with_dbname(base_owner, dbname, k->pg_owner, sizeof k->pg_owner);
    if (kit_migrate(k) != 0)
        die("caseflow db migrate failed");
    k->db = cf_store_connect(k->pg_owner, err, sizeof err);
    if (!k->db)
        die("%s", err);

    /* The test's producer stands in for the filing system, which resends rather than being
     * idempotent: with idempotence, a broker killed mid-batch can leave librdkafka's sequence
     * numbers out of step and fail the producer for good (a fatal error), ending the test that
     * killed the broker on purpose.  One request in flight keeps the order through retries; a
     * message sent twice has the same caseflow id, which the engine drops. */
    conf = cf_bus_conf_new(k->brokers, err, sizeof err);
    if (!conf || cf_bus_conf_set(conf, "enable.idempotence", "false", err, sizeof err) != 0 ||
        cf_bus_conf_set(conf, "acks", "all", err, sizeof err) != 0 ||
        cf_bus_conf_set(conf, "max.in.flight.requests.per.connection", "1", err, sizeof err) != 0 ||
        cf_bus_conf_set(conf, "message.max.bytes", "16777216", err, sizeof err) != 0 ||
        cf_bus_conf_set(conf, "linger.ms", "5", err, sizeof err) != 0)
        die("%s", err);
    k->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    if (!k->producer)
        die("producer: %s", why);
    {
        static const char *const big[] = {"max.message.bytes", "16777216", NULL};
        /* Created here, before any engine, so that the first events are not produced into an
         * auto-created topic with the broker's default settings. */
        if (cf_bus_create_topic_with(k->producer, k->events, 8, big, 60000, err, sizeof err) != 0)
            die("%s", err);
    }
}

void kit_done(kit *k)
{
    if (k->producer) {
        rd_kafka_flush(k->producer, 10000);
        rd_kafka_destroy(k->producer);
    }
    if (k->db)
        PQfinish(k->db);
}

/* The environment every caseflow process of a test gets: its database, broker, topics and the
 * source tree's workflows.  Called in the child, after fork. */
static void child_env(const kit *k)
{
    char workflows[2048];
    snprintf(workflows, sizeof workflows,
             "%s/workflows/enforcement_case.yaml,%s/workflows/voluntary_payment.yaml", k->src,
             k->src);
    setenv("CASEFLOW_PG", k->pg, 1);
    /* Only `caseflow db migrate` needs the owner; nothing else a test starts gets its password. */
    unsetenv("CASEFLOW_PG_OWNER");
    unsetenv("CASEFLOW_PG_ADMIN");
    setenv("CASEFLOW_KAFKA", k->brokers, 1);
    setenv("CASEFLOW_TOPIC_PREFIX", k->prefix, 1);
    setenv("CASEFLOW_WORKFLOWS", workflows, 1);
}

void kit_output_to(const char *log)
{
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
}

/*
 * Starts `caseflow ARGS...` with the kit's environment (the test's database, topics and the
 * source tree's workflows), then the `env` pairs of the caller's kind of process, then the
 * test's `extra` overrides; stdout and stderr go to `log`.  The child starts in the source tree,
 * where workers find their templates.
 */
static pid_t spawn(kit *k, const char *log, const char *const *env, const char *const *extra,
                   const char *arg1, const char *arg2)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        kit_output_to(log);
        child_env(k);
        setenv("CASEFLOW_LOG_LEVEL", "info", 1);
        for (size_t i = 0; env[i]; i += 2)
            setenv(env[i], env[i + 1], 1);
        for (size_t i = 0; extra && extra[i]; i++)
            putenv((char *)extra[i]);
        if (chdir(k->src) != 0)
            _exit(126);
        execl(k->bin, k->bin, arg1, arg2, (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", k->bin, strerror(errno));
        _exit(127);
    }
    remember(pid);
    return pid;
}

pid_t kit_engine_start(kit *k, const char *const *extra)
{
    char log[640];
    const char *const env[] = {
        "CASEFLOW_GROUP", k->group, "CASEFLOW_CLOCK", "simulated", "CASEFLOW_CLOCK_START",
        k->start,         NULL};

    snprintf(log, sizeof log, "%s/engine-%d.log", k->logdir, ++k->engines_started);
    return spawn(k, log, env, extra, "engine", NULL);
}

pid_t kit_worker_start(kit *k, const char *kind, const char *const *extra)
{
    char log[640], docs[600];
    /* The engines' clock is simulated: so is the workers', whose results then carry the
     * engine's time. */
    const char *const env[] = {"CASEFLOW_DOCUMENTS",
                               docs,
                               "CASEFLOW_SIM_LATENCY_MS",
                               "0",
                               "CASEFLOW_SIM_JITTER_MS",
                               "0",
                               "CASEFLOW_CLOCK",
                               "simulated",
                               NULL};

    snprintf(log, sizeof log, "%s/worker-%s-%d.log", k->logdir, kind, ++k->workers_started);
    snprintf(docs, sizeof docs, "%s/documents", k->logdir);
    return spawn(k, log, env, extra, "worker", kind);
}

pid_t kit_serve_start(kit *k, const char *const *extra, int *port)
{
    static int served;
    char log[640];
    const char *const env[] = {"CASEFLOW_PORT", "0", "CASEFLOW_LISTEN", "127.0.0.1", NULL};
    pid_t pid;

    snprintf(log, sizeof log, "%s/serve-%d.log", k->logdir, ++served);
    pid = spawn(k, log, env, extra, "serve", NULL);
    *port = 0;
    for (int i = 0; i < 600 && *port == 0; i++) {
        FILE *f = fopen(log, "r");
        char line[1024];
        while (f && fgets(line, sizeof line, f))
            if (strstr(line, "caseflow serve: listening on "))
                *port = atoi(strrchr(line, ':') + 1);
        if (f)
            fclose(f);
        if (*port == 0) {
            if (waitpid(pid, NULL, WNOHANG) == pid)
                die("caseflow serve ended at start: see %s", log);
            kit_sleep_ms(100);
        }
    }
    if (*port == 0)
        die("caseflow serve did not say where it listens within 60 s: see %s", log);
    return pid;
}

int kit_engine_stop(kit *k, pid_t pid, int sig)
{
    forget(pid);
    int status = 0;
    (void)k;
    kill(pid, sig);
    /* A graceful stop finishes its batch and flushes: give it time, then insist. */
    for (int i = 0; i < 300; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status;
        kit_sleep_ms(100);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return status;
}

void kit_engine_stop_ok(kit *k, pid_t pid)
{
    int status = kit_engine_stop(k, pid, SIGTERM);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("process %d did not shut down cleanly (wait status %d)", (int)pid, status);
}

void kit_send(kit *k, const char *topic, const char *key, const void *value, size_t len)
{
    char err[512];
    /* As the filing system sends: no caseflow-id header, the event's id is in its body. */
    if (cf_bus_produce(k->producer, topic ? topic : k->events, key, NULL, value, len, NULL, 10000,
                       err, sizeof err) != 0)
        die("%s", err);
    rd_kafka_poll(k->producer, 0);
}

void kit_send_json(kit *k, json_t *event)
{
    char *s = json_dumps(event, JSON_COMPACT);
    kit_send(k, NULL, json_string_value(json_object_get(event, "case")), s, strlen(s));
    free(s);
    json_decref(event);
}

void kit_flush(kit *k)
{
    if (rd_kafka_flush(k->producer, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        die("flushing the producer timed out");
}

json_t *kit_filed(const char *case_no, const char *id, const char *time)
{
    json_error_t jerr;
    json_t *ev = json_pack_ex(
        &jerr, 0,
        "{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}, "
        "s:[{s:s, s:s, s:s}], s:[{s:s, s:s, s:s}], s:i, s:s}}",
        "id", id, "type", "case.filed", "case", case_no, "time", time, "source", "filing", "data",
        "court", "豫0381", "case_type", "执", "filed_at", time, "cause", "民间借贷纠纷", "basis",
        "document_no", "(2025)豫0381民初1号", "court_name", "偃师区人民法院", "effective_date",
        "2025-12-01", "applicants", "kind", "person", "name", "张三", "id_number",
        "41038119900101123X", "respondents", "kind", "person", "name", "李四", "id_number",
        "410381198512310011", "amount", 50000, "claim_kind", "money");
    if (!ev)
        die("building case.filed: %s", jerr.text);
    return ev;
}

json_t *kit_withdrawn(const char *case_no, const char *id, const char *time)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "id", id, "type", "case.withdrawn",
                     "case", case_no, "time", time, "source", "filing", "data", "reason",
                     "申请人撤回执行申请", "withdrawn_at", time);
}

void kit_file_and_withdraw(kit *k, int from, int to)
{
    for (int c = from; c < to; c++) {
        char case_no[64], id1[32], id2[32];
        snprintf(case_no, sizeof case_no, "(2026)豫0381执%d号", c + 1);
        snprintf(id1, sizeof id1, "filed-%d", c + 1);
        snprintf(id2, sizeof id2, "withdrawn-%d", c + 1);
        kit_send_json(k, kit_filed(case_no, id1, "2026-03-02T09:00:00+08:00"));
        kit_send_json(k, kit_withdrawn(case_no, id2, "2026-03-03T10:00:00+08:00"));
    }
}

void kit_check_withdrawn(kit *k, int cases)
{
    static const struct {
        const char *what, *sql;
        int all; /* 1: every case counts, 0: none may */
    } checks[] = {
        {"cases in the log", "select count(distinct case_no) from events", 1},
        {"cases whose log is not exactly filed (seq 1), withdrawn (seq 2)",
         "select count(*) from (select case_no from events group by case_no having count(*) <> 2 "
         "or min(seq) <> 1 or max(seq) <> 2 or min(type) <> 'case.filed' or max(type) <> "
         "'case.withdrawn') bad",
         0},
        {"cases in withdrawal_review at seq 2",
         "select count(*) from cases where state = 'withdrawal_review' and seq = 2", 1},
        {"dead letters", "select count(*) from dead_letters", 0},
    };

    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        long long n = kit_count(k, checks[i].sql), want = checks[i].all ? cases : 0;
        if (n != want)
            die("%s: %lld, expected %lld", checks[i].what, n, want);
    }
}

json_t *kit_clock_to(const char *id, const char *to)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "id", id, "type", "clock.advance",
                     "case", "-", "time", to, "source", "test", "data", "to", to);
}

void kit_advance(kit *k, const char *id, const char *to)
{
    char own[96], sql[256];
    if (!id) {
        snprintf(own, sizeof own, "clock-%s", to);
        id = own;
    }
    kit_send_json(k, kit_clock_to(id, to));
    kit_flush(k);
    snprintf(sql, sizeof sql, "select count(*) from engine_clock where now >= '%s'::timestamptz",
             to);
    if (kit_wait_count(k, sql, 1, 120) != 1)
        die("the engine did not reach %s within 120 s", to);
}

long long kit_count(kit *k, const char *sql)
{
    PGresult *res = PQexec(k->db, sql);
    long long v = -1;

    /* The kit's own connection does not survive a restart of PostgreSQL (the outage and restart
     * tests make one): it connects again, once. */
    if (PQstatus(k->db) != CONNECTION_OK) {
        PQclear(res);
        PQreset(k->db);
        res = PQexec(k->db, sql);
    }
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

/*
 * How long a wait may last, in seconds: the test's bound times CASEFLOW_TEST_WAIT_SCALE (a whole
 * number, 1 when unset).  The ThreadSanitizer build sets it (tests/CMakeLists.txt): every process
 * runs several times slower there, and a bound on "eventually" must not turn into a failure.
 */
static int wait_bound(int seconds)
{
    const char *v = getenv("CASEFLOW_TEST_WAIT_SCALE");
    int scale = v ? atoi(v) : 1;
    return seconds * (scale >= 1 && scale <= 20 ? scale : 1);
}

long long kit_wait_count(kit *k, const char *sql, long long want, int seconds)
{
    long long v = -1;
    seconds = wait_bound(seconds);
    for (int i = 0; i < seconds * 10; i++) {
        v = kit_count(k, sql);
        if (v == want)
            return v;
        kit_sleep_ms(100);
    }
    fprintf(stderr, "kit: waited %d s for %s = %lld, last saw %lld\n", seconds, sql, want, v);
    return v;
}

rd_kafka_t *kit_consumer(const char *topic, const char *const *conf)
{
    static int n;
    char err[512], why[512], group[160];
    rd_kafka_conf_t *c = cf_bus_conf_new(need("CASEFLOW_KAFKA"), err, sizeof err);
    rd_kafka_t *r;
    rd_kafka_topic_partition_list_t *t;

    snprintf(group, sizeof group, "kit-%ld-%ld-%d", (long)getpid(), (long)time(NULL), n++);
    if (!c || cf_bus_conf_set(c, "group.id", group, err, sizeof err) != 0 ||
        cf_bus_conf_set(c, "auto.offset.reset", "earliest", err, sizeof err) != 0 ||
        cf_bus_conf_set(c, "enable.auto.commit", "false", err, sizeof err) != 0)
        die("%s", err);
    for (size_t i = 0; conf && conf[i]; i += 2)
        if (cf_bus_conf_set(c, conf[i], conf[i + 1], err, sizeof err) != 0)
            die("%s", err);
    if (!(r = rd_kafka_new(RD_KAFKA_CONSUMER, c, why, sizeof why)))
        die("consumer: %s", why);
    rd_kafka_poll_set_consumer(r);
    t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, topic, RD_KAFKA_PARTITION_UA);
    if (rd_kafka_subscribe(r, t) != RD_KAFKA_RESP_ERR_NO_ERROR)
        die("subscribing to %s", topic);
    rd_kafka_topic_partition_list_destroy(t);
    return r;
}

json_t *kit_consume(kit *k, const char *topic, size_t max, int seconds)
{
    rd_kafka_t *c = kit_consumer(topic, NULL);
    json_t *out = json_array();
    long long until;
    struct timespec ts;

    (void)k;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    until = ts.tv_sec + seconds;
    while (json_array_size(out) < max) {
        rd_kafka_message_t *m;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        if (ts.tv_sec >= until)
            break;
        m = rd_kafka_consumer_poll(c, 500);
        if (!m)
            continue;
        if (!m->err) {
            json_t *v = json_loadb(m->payload, m->len, 0, NULL);
            rd_kafka_headers_t *hdrs = NULL;
            const void *hv;
            size_t hl;
            json_t *item = json_object();
            if (!v)
                v = json_stringn_nocheck(m->payload, m->len);
            json_object_set_new(item, "key",
                                m->key ? json_stringn_nocheck(m->key, m->key_len) : json_null());
            json_object_set_new(item, "value", v);
            json_object_set_new(item, "timestamp",
                                json_integer(rd_kafka_message_timestamp(m, NULL)));
            if (rd_kafka_message_headers(m, &hdrs) == 0 &&
                rd_kafka_header_get_last(hdrs, "caseflow-id", &hv, &hl) == 0)
                json_object_set_new(item, "id", json_stringn_nocheck(hv, hl));
            json_array_append_new(out, item);
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return out;
}

char *kit_read_file(const char *path)
{
    char *buf, why[256];
    size_t len;
    return cf_yamldoc_read_file(path, (size_t)1 << 30, &buf, &len, why, sizeof why) == 0 ? buf
                                                                                         : NULL;
}

int kit_migrate(kit *k)
{
    char *out = NULL, *err = NULL;
    int rc = run(k, NULL, (const char *const[]){"db", "migrate", NULL}, 1, &out, &err);
    if (rc != 0)
        fprintf(stderr, "caseflow db migrate (exit %d): %s%s", rc, out ? out : "", err ? err : "");
    free(out);
    free(err);
    return rc;
}

int kit_run(kit *k, const char *const *args, char **out, char **err)
{
    return run(k, NULL, args, 0, out, err);
}

int kit_run_in(kit *k, const char *input, const char *const *args, char **out, char **err)
{
    return run(k, input, args, 0, out, err);
}

/* kit_run_in, and with `as_owner` CASEFLOW_PG_OWNER set to the test's database as the owner. */
static int run(kit *k, const char *input, const char *const *args, int as_owner, char **out,
               char **err)
{
    static int runs;
    char outpath[640], errpath[640], inpath[640];
    const char *argv[64];
    size_t n = 0;
    int status = 0;
    pid_t pid;

    snprintf(outpath, sizeof outpath, "%s/run-%d.out", k->logdir, ++runs);
    snprintf(errpath, sizeof errpath, "%s/run-%d.err", k->logdir, runs);
    argv[n++] = k->bin;
    for (size_t i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    snprintf(inpath, sizeof inpath, "%s/run-%d.in", k->logdir, runs);
    {
        FILE *f = fopen(inpath, "wb");
        if (!f)
            die("%s: %s", inpath, strerror(errno));
        if (input)
            fputs(input, f);
        fclose(f);
    }
    pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        int fo = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fi = open(inpath, O_RDONLY);
        if (fo < 0 || fe < 0 || fi < 0)
            _exit(126);
        dup2(fi, 0);
        close(fi);
        dup2(fo, 1);
        dup2(fe, 2);
        close(fo);
        close(fe);
        child_env(k);
        if (as_owner)
            setenv("CASEFLOW_PG_OWNER", k->pg_owner, 1);
        unsetenv("CASEFLOW_CONFIG");
        execv(k->bin, (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", k->bin, strerror(errno));
        _exit(127);
    }
    if (waitpid(pid, &status, 0) != pid)
        die("waitpid: %s", strerror(errno));
    if (out)
        *out = kit_read_file(outpath);
    if (err)
        *err = kit_read_file(errpath);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

char *kit_value(kit *k, const char *sql, int n, const char *const *params)
{
    PGresult *res = PQexecParams(k->db, sql, n, NULL, params, NULL, NULL, 0);
    char *v = NULL;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        v = strdup(PQgetvalue(res, 0, 0));
    else if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fprintf(stderr, "kit: %s: %s", sql, PQresultErrorMessage(res));
    PQclear(res);
    return v;
}

void kit_wait_migrated(kit *k)
{
    if (kit_wait_count(k,
                       "select count(*) from information_schema.tables where table_name = "
                       "'accounts'",
                       1, 60) != 1)
        die("the database was not migrated within a minute");
}

int kit_add_user(kit *k, const char *name, const char *role, const char *post)
{
    char pw[128], *out = NULL, *err = NULL;
    const char *args[] = {
        "users", "add", name, "--role", role, "--password-stdin", post ? "--post" : NULL,
        post,    NULL};
    int rc;

    snprintf(pw, sizeof pw, "password-of-%s\n", name);
    rc = kit_run_in(k, pw, args, &out, &err);
    free(out);
    free(err);
    return rc;
}

long long kit_add_token(kit *k, const char *name, char *token, size_t n)
{
    const char *args[] = {"tokens", "add", name, "--scope", "ingest", NULL};
    char *out = NULL, *err = NULL;
    const char *id = NULL;
    long long v;

    if (kit_run(k, args, &out, &err) != 0 || !out || !err || !(id = strstr(err, "token ")))
        die("caseflow tokens add %s: %s", name, err ? err : "");
    snprintf(token, n, "%.*s", (int)strcspn(out, "\n"), out);
    v = strtoll(id + 6, NULL, 10);
    free(out);
    free(err);
    return v;
}

int kit_staff_complete(kit *k, const char *name, const char *id, const char *result)
{
    char pw[128], *out = NULL, *err = NULL;
    char *post = kit_value(k, "select post from tasks where task_id = $1", 1, (const char *[]){id});
    int rc;

    if (!post)
        die("there is no task %s", id);
    snprintf(pw, sizeof pw, "password-of-%s\n", name);
    /* A second add of the same name is refused: the account is there already. */
    (void)kit_add_user(k, name, "staff", post);
    rc = kit_run_in(k, pw,
                    (const char *[]){"tasks", "complete", id, "--result", result, "--user", name,
                                     "--password-stdin", NULL},
                    &out, &err);
    if (rc != 0)
        fprintf(stderr, "caseflow tasks complete %s as %s: %s%s\n", id, name, out ? out : "",
                err ? err : "");
    free(out);
    free(err);
    free(post);
    return rc;
}

void kit_claim(kit *k, const char *task_id, const char *account)
{
    char *v = kit_value(k,
                        "update tasks set status = 'claimed', claimed_by = $2 where task_id = $1 "
                        "and not worker returning task_id",
                        2, (const char *const[]){task_id, account});
    if (!v)
        fprintf(stderr, "kit: could not claim task %s for %s\n", task_id, account);
    free(v);
}

char *kit_wait_value(kit *k, const char *sql, int n, const char *const *params, const char *want,
                     int seconds)
{
    char *v = NULL;
    seconds = wait_bound(seconds);
    for (int i = 0; i < seconds * 10; i++) {
        free(v);
        v = kit_value(k, sql, n, params);
        if (v && (!want || strcmp(v, want) == 0))
            return v;
        kit_sleep_ms(100);
    }
    fprintf(stderr, "kit: waited %d s for %s = %s, last saw %s\n", seconds, sql,
            want ? want : "(a value)", v ? v : "(nothing)");
    return v;
}

int kit_cli(kit *k, char **out, char **err, const char *const *args)
{
    int rc;
    free(*out);
    free(*err);
    *out = *err = NULL;
    rc = kit_run(k, args, out, err);
    if (!*out || !*err)
        die("caseflow %s: its output could not be read", args[0]);
    fprintf(stderr, "$ caseflow");
    for (size_t i = 0; args[i]; i++)
        fprintf(stderr, " %s", args[i]);
    fprintf(stderr, "   (exit %d)\n%s%s", rc, *out, *err);
    return rc;
}

void kit_review(kit *k, const char *case_no, const char *time)
{
    kit_complete(k, case_no, "filing_review", "filing_review", "吴十", time,
                 json_pack("{s:b, s:b}", "enforceable", 1, "parties_ok", 1));
}

/* The open task `activity` of `case_no`, waited for a minute; for an intake check, a filing
 * review still open on the case is done first (at `time`), as the workflow wants it before. */
static char *open_task(kit *k, const char *case_no, const char *activity, const char *time)
{
    static const char sql[] =
        "select task_id from tasks where case_no = $1 and activity = $2 and status = 'open'";
    int seconds = wait_bound(60);
    int review = strcmp(activity, "intake_check") == 0;

    for (int i = 0; i < seconds * 10; i++) {
        char *v = kit_value(k, sql, 2, (const char *const[]){case_no, activity});
        if (v)
            return v;
        if (review) {
            v = kit_value(k, sql, 2, (const char *const[]){case_no, "filing_review"});
            if (v) {
                review = 0;
                kit_review(k, case_no, time);
            }
            free(v);
        }
        kit_sleep_ms(100);
    }
    fprintf(stderr, "kit: waited %d s for the open task %s of %s\n", seconds, activity, case_no);
    return NULL;
}

void kit_complete(kit *k, const char *case_no, const char *activity, const char *post,
                  const char *account, const char *time, json_t *result)
{
    char *task = open_task(k, case_no, activity, time);
    char id[200], source[200];

    if (!task)
        die("%s: no open task %s to complete", case_no, activity);
    kit_claim(k, task, account);
    snprintf(id, sizeof id, "done-%s", task);
    snprintf(source, sizeof source, "staff:%s:%s", post, account);
    kit_send_json(k, json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:o}}", "id", id,
                               "type", "task.completed", "case", case_no, "time", time, "source",
                               source, "data", "task_id", task, "activity", activity, "kind",
                               activity, "result", result));
    kit_flush(k);
    free(task);
}

/* ---- HTTP ---- */

/* Appends `n` bytes to the NUL-terminated buffer *buf of *len bytes; 0 when memory ran out. */
static size_t append(char **buf, size_t *len, const char *p, size_t n)
{
    char *b = realloc(*buf, *len + n + 1);
    if (!b)
        return 0;
    memcpy(b + *len, p, n);
    *len += n;
    b[*len] = '\0';
    *buf = b;
    return n;
}

static size_t on_reply_body(char *p, size_t size, size_t n, void *arg)
{
    kit_reply *r = arg;
    return append(&r->body, &r->len, p, size * n);
}

static size_t on_reply_header(char *p, size_t size, size_t n, void *arg)
{
    kit_reply *r = arg;
    if (size * n > 23 && strncasecmp(p, "Set-Cookie: cf_session=", 23) == 0)
        snprintf(r->cookie, sizeof r->cookie, "%.*s", (int)strcspn(p + 23, ";\r\n"), p + 23);
    return append(&r->head, &r->headlen, p, size * n);
}

/* Adds the header line "`name`: `value`" to `h` when `value` is not empty. */
static struct curl_slist *header(struct curl_slist *h, const char *name, const char *value)
{
    char line[1024];
    if (!value || !*value)
        return h;
    snprintf(line, sizeof line, "%s: %s", name, value);
    return curl_slist_append(h, line);
}

long kit_request(const kit_req *q, kit_reply *r)
{
    CURL *c = q->curl ? q->curl : curl_easy_init();
    struct curl_slist *h = NULL;
    char cookie[320], *ctype = NULL;

    memset(r, 0, sizeof *r);
    r->status = -1;
    if (!c)
        die("curl_easy_init failed");
    if (q->curl)
        curl_easy_reset(c);
    h = header(h, "Content-Type", q->ctype);
    if (q->cookie && *q->cookie) {
        snprintf(cookie, sizeof cookie, "cf_session=%s", q->cookie);
        h = header(h, "Cookie", cookie);
    }
    h = header(h, "X-CSRF-Token", q->csrf);
    if (q->bearer && *q->bearer) {
        snprintf(cookie, sizeof cookie, "Bearer %s", q->bearer);
        h = header(h, "Authorization", cookie);
    }
    for (size_t i = 0; q->headers && q->headers[i]; i++)
        h = curl_slist_append(h, q->headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, q->url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
    if (q->method && strcmp(q->method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_reply_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_reply_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, q->timeout ? q->timeout : 120L);
    if (q->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(q->len ? q->len : strlen(q->body)));
    }
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype)
            snprintf(r->type, sizeof r->type, "%s", ctype);
    }
    curl_slist_free_all(h);
    if (!q->curl)
        curl_easy_cleanup(c);
    return r->status;
}

long kit_http(const char *method, const char *url, const char *cookie, const char *body,
              kit_reply *r)
{
    return kit_http_csrf(method, url, cookie, NULL, body, r);
}

long kit_http_csrf(const char *method, const char *url, const char *cookie, const char *csrf,
                   const char *body, kit_reply *r)
{
    const kit_req q = {.method = method,
                       .url = url,
                       .cookie = cookie,
                       .csrf = csrf,
                       .ctype = "application/json",
                       .body = body};
    return kit_request(&q, r);
}

long kit_login(const char *base, const char *name, const char *password, char *cookie,
               size_t cookiesz, char *csrf, size_t csrfsz)
{
    char url[512], pw[256];
    json_t *body, *doc;
    char *text;
    kit_reply r;

    snprintf(url, sizeof url, "%s/api/v1/login", base);
    snprintf(pw, sizeof pw, "password-of-%s", name);
    body = json_pack("{s:s, s:s}", "name", name, "password", password ? password : pw);
    text = json_dumps(body, JSON_COMPACT);
    if (kit_http("POST", url, NULL, text, &r) == 200) {
        doc = json_loads(r.body, 0, NULL);
        snprintf(cookie, cookiesz, "%s", r.cookie);
        snprintf(csrf, csrfsz, "%s", json_string_value(json_object_get(doc, "csrf")));
        json_decref(doc);
    }
    json_decref(body);
    free(text);
    kit_reply_free(&r);
    return r.status;
}

const char *kit_reply_header(const kit_reply *r, const char *name, char *out, size_t n)
{
    size_t k = strlen(name);

    snprintf(out, n, "%s", "");
    for (const char *l = r->head; l && *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != '\0'))
        if (strncasecmp(l, name, k) == 0 && l[k] == ':') {
            const char *v = l + k + 1 + strspn(l + k + 1, " \t");
            snprintf(out, n, "%.*s", (int)strcspn(v, "\r\n"), v);
        }
    return out;
}

void kit_reply_free(kit_reply *r)
{
    free(r->body);
    free(r->head);
    r->body = r->head = NULL;
    r->len = r->headlen = 0;
}

char *kit_reply_body(kit_reply *r, size_t *len)
{
    char *b = r->body;
    *len = r->len;
    r->body = NULL;
    r->len = 0;
    return b;
}
