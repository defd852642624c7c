/*
 * The ACLs of docs/kafka-acls.md, holding on a broker of its own: `scripts/stack up --secure`
 * (SASL with SCRAM-SHA-512 and PLAIN, StandardAuthorizer, nothing allowed without an ACL, the
 * page's kafka-acls.sh commands applied).  caseflow's clients use PLAIN: the librdkafka of
 * Debian 12 (2.0.2) sends a SCRAM nonce that Kafka 4 refuses, which the last test records.  A
 * worker's principal may write caseflow.events and is refused (TOPIC_AUTHORIZATION_FAILED) on
 * caseflow.transitions; the filing system's principal cannot read a task topic; nobody gets in
 * without the password; and the engine, a worker and a reader of the feed, each with its
 * credentials as librdkafka settings in its configuration file, carry a case from its filing to the
 * public feed.  The stack is this test's own, on its own ports, and is taken down at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/bus.h"
#include "io/store.h"
#include "kit/kit.h"

#define CASE_NO "(2026)豫0381执701号"

static char dir[512], src[512], bin[512];
static char pg[512], pg_owner[512], brokers[128];
static struct user {
    char name[64], password[80];
} users[32];
static size_t nusers;
static pid_t children[8];
static size_t nchildren;

static const char *password_of(const char *name)
{
    for (size_t i = 0; i < nusers; i++)
        if (strcmp(users[i].name, name) == 0)
            return users[i].password;
    fail_msg("no Kafka user %s in %s/kafka/users", name, dir);
    return NULL;
}

static void stack_down(void)
{
    char cmd[1600];
    for (size_t i = 0; i < nchildren; i++)
        if (children[i] > 0 && kill(children[i], SIGKILL) == 0)
            waitpid(children[i], NULL, 0);
    nchildren = 0;
    if (!*dir)
        return;
    snprintf(cmd, sizeof cmd, "'%s/scripts/stack' down '%s' >/dev/null 2>&1", src, dir);
    if (system(cmd) != 0)
        fprintf(stderr, "stack down %s failed\n", dir);
    *dir = '\0';
}

/* A client of the secure broker as `principal` with SASL `mechanism`. */
static rd_kafka_conf_t *client_with(const char *mechanism, const char *principal,
                                    const char *password)
{
    char err[512];
    rd_kafka_conf_t *conf = cf_bus_conf_new(brokers, err, sizeof err);
    assert_non_null(conf);
    assert_int_equal(cf_bus_conf_set(conf, "security.protocol", "SASL_PLAINTEXT", err, sizeof err),
                     0);
    assert_int_equal(cf_bus_conf_set(conf, "sasl.mechanisms", mechanism, err, sizeof err), 0);
    assert_int_equal(cf_bus_conf_set(conf, "sasl.username", principal, err, sizeof err), 0);
    assert_int_equal(
        cf_bus_conf_set(conf, "sasl.password", password ? password : "", err, sizeof err), 0);
    return conf;
}

/* A client as caseflow's processes are configured on this stack (see the file's comment). */
static rd_kafka_conf_t *client(const char *principal, const char *password)
{
    return client_with("PLAIN", principal, password);
}

static int setup(void **state)
{
    char cmd[2048], path[700], line[1024];
    FILE *f;
    const char *base = getenv("CASEFLOW_STACK_DIR");

    (void)state;
    snprintf(src, sizeof src, "%s", getenv("CASEFLOW_SOURCE_DIR"));
    snprintf(bin, sizeof bin, "%s", getenv("CASEFLOW_BIN"));
    snprintf(dir, sizeof dir, "%s/secure-%ld", base ? base : "/tmp", (long)getpid());
    atexit(stack_down);
    snprintf(cmd, sizeof cmd, "'%s/scripts/stack' up --secure '%s' >/dev/null", src, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "%s failed\n", cmd);
        return -1;
    }
    snprintf(path, sizeof path, "%s/env", dir);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        /* The precision says what fits (an -O3 build proves the line may be longer). */
        if (strncmp(line, "CASEFLOW_PG=", 12) == 0)
            snprintf(pg, sizeof pg, "%.*s", (int)sizeof pg - 1, line + 12);
        else if (strncmp(line, "CASEFLOW_PG_OWNER=", 18) == 0)
            snprintf(pg_owner, sizeof pg_owner, "%.*s", (int)sizeof pg_owner - 1, line + 18);
        else if (strncmp(line, "CASEFLOW_KAFKA=", 15) == 0)
            snprintf(brokers, sizeof brokers, "%.*s", (int)sizeof brokers - 1, line + 15);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/kafka/users", dir);
    if (!(f = fopen(path, "r")))
        return -1;
    while (nusers < sizeof users / sizeof users[0] &&
           fscanf(f, "%63s %79s", users[nusers].name, users[nusers].password) == 2)
        nusers++;
    fclose(f);
    fprintf(stderr, "secure stack in %s: kafka %s, %zu users\n", dir, brokers, nusers);
    return *pg && *brokers && nusers > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    stack_down();
    return 0;
}

/* ---- producing and consuming as one principal ---- */

static rd_kafka_resp_err_t delivered;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    delivered = m->err;
}

/* Produces one message to `topic` as `principal` and returns how its delivery ended. */
static rd_kafka_resp_err_t produce_as(const char *principal, const char *topic, const char *key,
                                      const char *value)
{
    char err[512], why[512];
    rd_kafka_conf_t *conf = client(principal, password_of(principal));
    rd_kafka_t *rk;
    rd_kafka_resp_err_t e;

    assert_int_equal(cf_bus_conf_set(conf, "enable.idempotence", "true", err, sizeof err), 0);
    assert_int_equal(cf_bus_conf_set(conf, "message.timeout.ms", "20000", err, sizeof err), 0);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    assert_non_null(rk);
    delivered = RD_KAFKA_RESP_ERR__IN_PROGRESS;
    e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                          RD_KAFKA_V_VALUE((void *)value, strlen(value)),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_flush(rk, 30000);
    rd_kafka_destroy(rk);
    fprintf(stderr, "  %-22s writes %-22s -> %s\n", principal, topic, rd_kafka_err2name(delivered));
    return delivered;
}

/* Reads `topic` as `principal`, subscribed in `group`.  Returns the first error, or NO_ERROR
 * once a message came (with the key `want_key` when not NULL). */
static rd_kafka_resp_err_t consume_as(const char *principal, const char *topic, const char *group,
                                      const char *want_key, int seconds)
{
    char err[512], why[512];
    rd_kafka_conf_t *conf = client(principal, password_of(principal));
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t result = RD_KAFKA_RESP_ERR__TIMED_OUT;
    rd_kafka_t *rk;

    assert_int_equal(cf_bus_conf_set(conf, "group.id", group, err, sizeof err), 0);
    assert_int_equal(cf_bus_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err), 0);
    assert_int_equal(cf_bus_conf_set(conf, "enable.auto.commit", "false", err, sizeof err), 0);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
    assert_non_null(rk);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_add(parts, topic, RD_KAFKA_PARTITION_UA);
    assert_int_equal(rd_kafka_subscribe(rk, parts), 0);
    rd_kafka_topic_partition_list_destroy(parts);
    for (int i = 0; i < seconds * 2 && result == RD_KAFKA_RESP_ERR__TIMED_OUT; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        if (!m)
            continue;
        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            result = m->err;
        else if (!m->err && (!want_key || (m->key_len == strlen(want_key) &&
                                           memcmp(m->key, want_key, m->key_len) == 0)))
            result = RD_KAFKA_RESP_ERR_NO_ERROR;
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    fprintf(stderr, "  %-22s reads  %-22s in %s -> %s\n", principal, topic, group,
            rd_kafka_err2name(result));
    return result;
}

/* What the cluster tells `principal` about `topic`: NO_ERROR when it may see it. */
static rd_kafka_resp_err_t describe_as(const char *principal, const char *topic)
{
    char why[512];
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_t *rk =
        rd_kafka_new(RD_KAFKA_PRODUCER, client(principal, password_of(principal)), why, sizeof why);
    rd_kafka_topic_t *rkt;
    rd_kafka_resp_err_t e;

    assert_non_null(rk);
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    e = rd_kafka_metadata(rk, 0, rkt, &md, 15000);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1)
        e = md->topics[0].err;
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    fprintf(stderr, "  %-22s sees   %-22s -> %s\n", principal, topic, rd_kafka_err2name(e));
    return e;
}

/* Creates `topic` as the administrator, as a cluster's operators would before the first start. */
static void admin_creates(const char *topic)
{
    char err[512], why[512];
    rd_kafka_t *rk =
        rd_kafka_new(RD_KAFKA_PRODUCER, client("admin", password_of("admin")), why, sizeof why);
    assert_non_null(rk);
    if (cf_bus_create_topic(rk, topic, 4, 15000, err, sizeof err) != 0)
        fail_msg("%s", err);
    rd_kafka_destroy(rk);
}

static void test_worker_writes_events_only(void **state)
{
    (void)state;
    admin_creates("caseflow.events");
    admin_creates("caseflow.transitions");
    assert_int_equal(produce_as("worker-network_query", "caseflow.events", "-", "{}"),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(produce_as("worker-network_query", "caseflow.transitions", "-", "{}"),
                     RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    assert_int_equal(produce_as("filing", "caseflow.transitions", "-", "{}"),
                     RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    assert_int_equal(produce_as("feed-reader", "caseflow.events", "-", "{}"),
                     RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
}

static void test_filing_reads_no_tasks(void **state)
{
    (void)state;
    admin_creates("caseflow.tasks.network_query");
    /* The worker of the kind may see its topic; the filing system may not (so it cannot fetch
     * from it), nor may another kind's worker. */
    assert_int_equal(describe_as("worker-network_query", "caseflow.tasks.network_query"),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(describe_as("filing", "caseflow.tasks.network_query"),
                     RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    assert_int_equal(describe_as("worker-auction", "caseflow.tasks.network_query"),
                     RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    /* Consuming: the filing system is refused in the worker's group and in a group of its own. */
    assert_int_equal(consume_as("filing", "caseflow.tasks.network_query",
                                "caseflow-worker-network_query", NULL, 20),
                     RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED);
    assert_int_equal(
        consume_as("filing", "caseflow.tasks.network_query", "caseflow-feed-filing", NULL, 20),
        RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED);
}

static void test_no_password_no_entry(void **state)
{
    (void)state;
    char why[512];
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_t *rk =
        rd_kafka_new(RD_KAFKA_PRODUCER, client("engine", "not-the-password"), why, sizeof why);
    rd_kafka_resp_err_t e;

    assert_non_null(rk);
    e = rd_kafka_metadata(rk, 0, NULL, &md, 10000);
    fprintf(stderr, "  engine with a wrong password: metadata -> %s\n", rd_kafka_err2name(e));
    assert_int_not_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
}

/* ---- the engine and a worker, each as its principal ---- */

/* Writes a caseflow configuration file giving `principal`'s credentials to librdkafka. */
static void config_for(const char *principal, char *path, size_t size)
{
    FILE *f;
    snprintf(path, size, "%s/%s.yaml", dir, principal);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "kafka:\n"
            "  bootstrap: %s\n"
            "  settings:\n"
            "    security.protocol: SASL_PLAINTEXT\n"
            "    sasl.mechanisms: PLAIN\n"
            "    sasl.username: %s\n"
            "    sasl.password: \"%s\"\n",
            brokers, principal, password_of(principal));
    fclose(f);
}

/* Starts `caseflow ARG1 [ARG2]` with configuration file `config`; output to DIR/<log>. */
static pid_t start(const char *config, const char *log, const char *arg1, const char *arg2,
                   int as_owner)
{
    char logpath[700], workflows[1200];
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        int fd;
        snprintf(logpath, sizeof logpath, "%s/%s", dir, log);
        fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        snprintf(workflows, sizeof workflows,
                 "%s/workflows/enforcement_case.yaml,%s/workflows/voluntary_payment.yaml", src,
                 src);
        setenv("CASEFLOW_CONFIG", config, 1);
        setenv("CASEFLOW_PG", pg, 1);
        if (as_owner)
            setenv("CASEFLOW_PG_OWNER", pg_owner, 1);
        else
            unsetenv("CASEFLOW_PG_OWNER");
        setenv("CASEFLOW_KAFKA", brokers, 1);
        setenv("CASEFLOW_WORKFLOWS", workflows, 1);
        setenv("CASEFLOW_CLOCK", "simulated", 1);
        setenv("CASEFLOW_CLOCK_START", "2026-03-02T08:00:00+08:00", 1);
        setenv("CASEFLOW_SIM_LATENCY_MS", "0", 1);
        setenv("CASEFLOW_SIM_JITTER_MS", "0", 1);
        setenv("CASEFLOW_SIM_ERROR", "0", 1);
        setenv("CASEFLOW_SIM_TIMEOUT", "0", 1);
        setenv("CASEFLOW_SIM_FOUND", "75", 1);
        setenv("CASEFLOW_LOG_LEVEL", "info", 1);
        unsetenv("CASEFLOW_TOPIC_PREFIX");
        unsetenv("CASEFLOW_GROUP");
        if (chdir(src) != 0)
            _exit(126);
        execl(bin, bin, arg1, arg2, (char *)NULL);
        _exit(127);
    }
    if (nchildren < sizeof children / sizeof children[0])
        children[nchildren++] = pid;
    return pid;
}

static int stop(pid_t pid, int sig)
{
    int status = 0;
    if (sig)
        kill(pid, sig);
    for (int i = 0; i < 300; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            goto done;
        kit_sleep_ms(100);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
done:
    for (size_t i = 0; i < nchildren; i++)
        if (children[i] == pid)
            children[i] = 0;
    return status;
}

static long long wait_count(PGconn *db, const char *sql, long long want, int seconds)
{
    long long v = -1;
    for (int i = 0; i < seconds * 10; i++) {
        PGresult *res = PQexec(db, sql);
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
            v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        if (v == want)
            break;
        kit_sleep_ms(100);
    }
    if (v != want)
        fprintf(stderr, "waited %d s for %s = %lld, last saw %lld\n", seconds, sql, want, v);
    return v;
}

static void test_engine_and_worker_through_sasl(void **state)
{
    (void)state;
    char engine_cfg[700], worker_cfg[700], ops_cfg[700], err[512];
    pid_t migrate, engine, worker;
    char *filed;
    json_t *event;
    PGconn *db;
    int status;

    config_for("engine", engine_cfg, sizeof engine_cfg);
    config_for("worker-network_query", worker_cfg, sizeof worker_cfg);
    config_for("ops", ops_cfg, sizeof ops_cfg);
    migrate = start(ops_cfg, "migrate.log", "db", "migrate", 1);
    status = stop(migrate, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    engine = start(engine_cfg, "engine.log", "engine", NULL, 0);
    worker = start(worker_cfg, "worker-network_query.log", "worker", "network_query", 0);
    event = kit_filed(CASE_NO, "acl-filed-1", "2026-03-02T09:00:00+08:00");
    filed = json_dumps(event, JSON_COMPACT);
    json_decref(event);
    assert_int_equal(produce_as("filing", "caseflow.events", CASE_NO, filed),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    free(filed);

    db = cf_store_connect(pg, err, sizeof err);
    if (!db)
        fail_msg("%s", err);
    /* Filed (the engine read the filing system's event), the network query went to its worker
     * (the engine wrote the task topic), the worker read it and wrote its result (events), and
     * the engine applied that. */
    assert_int_equal(wait_count(db,
                                "select count(*) from tasks where kind = 'network_query' and "
                                "status = 'done'",
                                1, 90),
                     1);
    assert_int_equal(wait_count(db,
                                "select count(*) from events where source = "
                                "'worker:network_query'",
                                1, 30),
                     1);
    PQfinish(db);
    /* The public feed has the case, for a reader in a group of its own. */
    assert_int_equal(
        consume_as("feed-reader", "caseflow.transitions", "caseflow-feed-test", CASE_NO, 60),
        RD_KAFKA_RESP_ERR_NO_ERROR);

    status = stop(worker, SIGTERM);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    status = stop(engine, SIGTERM);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/*
 * SCRAM-SHA-512 from this librdkafka: refused by Kafka 4 before librdkafka 2.6.1, which fixed the
 * nonce it sends (librdkafka PR 4895, Kafka's fix of CVE-2024-56128); required to work from 2.6.1
 * on, when caseflow's clients can move from PLAIN to SCRAM (docs/kafka-acls.md).
 */
static void test_scram_with_this_librdkafka(void **state)
{
    (void)state;
    char why[512];
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER,
                                  client_with("SCRAM-SHA-512", "engine", password_of("engine")),
                                  why, sizeof why);
    rd_kafka_resp_err_t e;
    int fixed = rd_kafka_version() >= 0x02060100;

    assert_non_null(rk);
    e = rd_kafka_metadata(rk, 0, NULL, &md, 10000);
    fprintf(stderr, "  SCRAM-SHA-512 from librdkafka %s: metadata -> %s (%s)\n",
            rd_kafka_version_str(), rd_kafka_err2name(e),
            fixed ? "expected to work" : "expected to be refused: librdkafka < 2.6.1");
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    if (fixed)
        assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
    else
        assert_int_not_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worker_writes_events_only),
        cmocka_unit_test(test_filing_reads_no_tasks),
        cmocka_unit_test(test_no_password_no_entry),
        cmocka_unit_test(test_engine_and_worker_through_sasl),
        cmocka_unit_test(test_scram_with_this_librdkafka),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
