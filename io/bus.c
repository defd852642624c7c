/*
 * Kafka on top of librdkafka: topic names, client configuration, the producer and the consumer
 * every process uses, producing, cluster checks, watermarks and topic creation.
 */
#include "io/bus.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/backoff.h"
#include "base/log.h"

const char *cf_bus_topic(const cf_config *cfg, const char *name, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s.%s", cfg->topic_prefix, name);
    return out;
}

/* Makes a client of `type` from `conf`, which it takes over either way. */
static rd_kafka_t *client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, char *err, size_t errsz)
{
    char why[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, why, sizeof why);

    if (!rk) {
        rd_kafka_conf_destroy(conf);
        cf_errf(err, errsz, CF_EKAFKA, "creating the Kafka %s: %s",
                type == RD_KAFKA_PRODUCER ? "producer" : "consumer", why);
    }
    return rk;
}

/* Sets each name, value pair of `pairs` (NULL: none); 0 or CF_EINVAL naming the setting. */
static int conf_set_all(rd_kafka_conf_t *conf, const char *const *pairs, char *err, size_t errsz)
{
    for (size_t i = 0; pairs && pairs[i]; i += 2)
        if (cf_bus_conf_set(conf, pairs[i], pairs[i + 1], err, errsz) != 0)
            return CF_EINVAL;
    return 0;
}

/* Sets the deployment's kafka.settings, which come after what caseflow sets so that TLS, SASL or
 * timeouts apply unchanged; 0 or CF_EINVAL naming the setting. */
static int conf_set_deployment(rd_kafka_conf_t *conf, const cf_config *cfg, char *err, size_t errsz)
{
    for (size_t i = 0; i < cfg->nkafka_settings; i++)
        if (cf_bus_conf_set(conf, cfg->kafka_settings[i].key, cfg->kafka_settings[i].value, err,
                            errsz) != 0)
            return CF_EINVAL;
    return 0;
}

rd_kafka_conf_t *cf_bus_conf_new(const char *brokers, char *err, size_t errsz)
{
    rd_kafka_conf_t *conf;

    if (!brokers || !*brokers) {
        cf_errf(err, errsz, CF_EINVAL, "no Kafka bootstrap servers (set CASEFLOW_KAFKA)");
        return NULL;
    }
    conf = rd_kafka_conf_new();
    if (cf_bus_conf_set(conf, "bootstrap.servers", brokers, err, errsz) != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

rd_kafka_conf_t *cf_bus_conf_for(const cf_config *cfg, const char *const *pairs, char *err,
                                 size_t errsz)
{
    rd_kafka_conf_t *conf = cf_bus_conf_new(cfg->kafka, err, errsz);

    if (conf && (conf_set_all(conf, pairs, err, errsz) != 0 ||
                 conf_set_deployment(conf, cfg, err, errsz) != 0)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

int cf_bus_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                    size_t errsz)
{
    char why[256];

    if (rd_kafka_conf_set(conf, name, value, why, sizeof why) != RD_KAFKA_CONF_OK)
        return cf_errf(err, errsz, CF_EINVAL, "Kafka setting %s: %s", name, why);
    return 0;
}

int cf_bus_ping(const char *brokers, int timeout_ms, int *nbrokers, char *err, size_t errsz)
{
    char why[512];
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t kerr;
    rd_kafka_conf_t *conf = cf_bus_conf_new(brokers, err, errsz);
    rd_kafka_t *rk;

    if (!conf)
        return CF_EINVAL;
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return cf_errf(err, errsz, CF_EKAFKA, "creating a Kafka client: %s", why);
    }
    kerr = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms);
    if (kerr) {
        rd_kafka_destroy(rk);
        return cf_errf(err, errsz, kerr == RD_KAFKA_RESP_ERR__TIMED_OUT ? CF_ETIMEOUT : CF_EKAFKA,
                       "Kafka at %s does not answer: %s", brokers, rd_kafka_err2str(kerr));
    }
    *nbrokers = md->broker_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return 0;
}

int cf_bus_create_topic(rd_kafka_t *rk, const char *topic, int partitions, int timeout_ms,
                        char *err, size_t errsz)
{
    return cf_bus_create_topic_with(rk, topic, partitions, NULL, timeout_ms, err, errsz);
}

/*
 * Errors a cluster gives while it is starting, stopping or electing: the same request
 * succeeds later.  A broker shutting down or just started is fenced, and KRaft then refuses
 * new topics as INVALID_REPLICATION_FACTOR ("All brokers are currently fenced"), as it does
 * while fewer brokers are up than the replication factor asks.
 */
static int transient(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NOT_CONTROLLER:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR: return 1;
    default: return 0;
    }
}

int cf_bus_create_topic_with(rd_kafka_t *rk, const char *topic, int partitions,
                             const char *const *config, int timeout_ms, char *err, size_t errsz)
{
    char why[512];
    int rc = 0;
    rd_kafka_NewTopic_t *nt;
    rd_kafka_AdminOptions_t *opts;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_event_t *ev;

    /* -1: the cluster's default.replication.factor, so that a production cluster's topics get
     * its three replicas (and min.insync.replicas applies) while a single test broker gets one. */
    nt = rd_kafka_NewTopic_new(topic, partitions, -1, why, sizeof why);
    if (!nt) {
        rd_kafka_queue_destroy(q);
        return cf_errf(err, errsz, CF_EINVAL, "topic %s: %s", topic, why);
    }
    for (size_t i = 0; config && config[i] && config[i + 1]; i += 2)
        rd_kafka_NewTopic_set_config(nt, config[i], config[i + 1]);
    opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, why, sizeof why);
    rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
    ev = rd_kafka_queue_poll(q, timeout_ms + 1000);
    if (!ev) {
        rc = cf_errf(err, errsz, CF_ETIMEOUT, "creating topic %s: no answer in %d ms", topic,
                     timeout_ms);
    } else if (rd_kafka_event_error(ev)) {
        rc = cf_errf(err, errsz, transient(rd_kafka_event_error(ev)) ? CF_ETIMEOUT : CF_EKAFKA,
                     "creating topic %s: %s", topic, rd_kafka_event_error_string(ev));
    } else {
        size_t n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        for (size_t i = 0; i < n; i++) {
            rd_kafka_resp_err_t terr = rd_kafka_topic_result_error(res[i]);
            if (terr && terr != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                rc = cf_errf(err, errsz, transient(terr) ? CF_ETIMEOUT : CF_EKAFKA,
                             "creating topic %s: %s", topic,
                             rd_kafka_topic_result_error_string(res[i]));
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    return rc;
}

int cf_bus_create_topic_waiting(rd_kafka_t *rk, const char *topic, int partitions,
                                const char *const *config, volatile sig_atomic_t *stop, char *err,
                                size_t errsz)
{
    int rc;
    for (int attempt = 1; (rc = cf_bus_create_topic_with(rk, topic, partitions, config, 15000, err,
                                                         errsz)) == CF_ETIMEOUT &&
                          !*stop;
         attempt++) {
        long long delay = cf_backoff_delay(200, 5000, attempt, NULL);
        cf_warn("%s (retrying in %lld ms)", err, delay);
        cf_sleep_ms(delay);
    }
    return rc;
}

rd_kafka_t *cf_bus_producer_new(const cf_config *cfg, const cf_bus_producer_opts *o, char *err,
                                size_t errsz)
{
    const char *const defaults[] = {"enable.idempotence",
                                    "true",
                                    "acks",
                                    "all",
                                    "client.id",
                                    o->client_id ? o->client_id : "caseflow",
                                    NULL};
    rd_kafka_conf_t *conf = cf_bus_conf_new(cfg->kafka, err, errsz);

    if (!conf)
        return NULL;
    if (conf_set_all(conf, defaults, err, errsz) != 0 ||
        conf_set_all(conf, o->settings, err, errsz) != 0 ||
        conf_set_deployment(conf, cfg, err, errsz) != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (o->on_delivery)
        rd_kafka_conf_set_dr_msg_cb(conf, o->on_delivery);
    if (o->on_error)
        rd_kafka_conf_set_error_cb(conf, o->on_error);
    rd_kafka_conf_set_opaque(conf, o->opaque);
    return client_new(RD_KAFKA_PRODUCER, conf, err, errsz);
}

int cf_bus_producer_failed(rd_kafka_t *rk, char *why, size_t whysz)
{
    char none[8];
    if (!why)
        return rd_kafka_fatal_error(rk, none, sizeof none) != RD_KAFKA_RESP_ERR_NO_ERROR;
    return rd_kafka_fatal_error(rk, why, whysz) != RD_KAFKA_RESP_ERR_NO_ERROR;
}

int cf_bus_producer_renew(rd_kafka_t **rk, const cf_config *cfg, const cf_bus_producer_opts *o)
{
    char why[512] = "", err[512];
    long long until;
    rd_kafka_t *old = *rk, *fresh = cf_bus_producer_new(cfg, o, err, sizeof err);

    cf_bus_producer_failed(old, why, sizeof why);
    if (!fresh) {
        cf_error("the Kafka producer failed for good (%s) and a new one cannot be made: %s", why,
                 err);
        return CF_EKAFKA;
    }
    cf_error("the Kafka producer failed for good: %s; it is replaced, and what it had not "
             "delivered is sent again",
             why);
    rd_kafka_purge(old, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    /* Messages in flight are purged by the broker threads: their reports come shortly. */
    until = cf_wall_ms() + 5000;
    do
        rd_kafka_poll(old, 10);
    while (rd_kafka_outq_len(old) > 0 && cf_wall_ms() < until);
    rd_kafka_destroy(old);
    *rk = fresh;
    return 0;
}

/* The fault CASEFLOW_TEST_KAFKA_FATAL asks for (cf_bus_produce): the client.id it hits, and after
 * how many of that client's messages; read once. */
static struct {
    pthread_once_t once;
    char client[128];
    long at;
    atomic_long taken;
} fault = {.once = PTHREAD_ONCE_INIT};

static void fault_read(void)
{
    const char *v = getenv("CASEFLOW_TEST_KAFKA_FATAL"), *colon = v ? strrchr(v, ':') : NULL;
    if (colon && colon > v && (size_t)(colon - v) < sizeof fault.client) {
        memcpy(fault.client, v, (size_t)(colon - v));
        fault.at = atol(colon + 1);
    }
}

/*
 * Fault injection for the tests of #16: a fatal error of an idempotent producer comes from the
 * cluster only under rare faults (librdkafka 2.0's rewound sequence numbers), so a test names a
 * client.id and a count, and the producer of that client which takes the message of that count
 * fails for good at once, through librdkafka's own rd_kafka_test_fatal_error; once per process.
 */
static void maybe_fail(rd_kafka_t *rk)
{
    const char *name;
    pthread_once(&fault.once, fault_read);
    if (fault.at <= 0)
        return;
    name = rd_kafka_name(rk); /* "<client.id>#producer-<n>" */
    if (strncmp(name, fault.client, strlen(fault.client)) != 0 || name[strlen(fault.client)] != '#')
        return;
    if (atomic_fetch_add(&fault.taken, 1) + 1 == fault.at) {
        cf_warn("CASEFLOW_TEST_KAFKA_FATAL: the producer %s fails for good after its message %ld",
                name, fault.at);
        rd_kafka_test_fatal_error(rk, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                                  "fault injected by CASEFLOW_TEST_KAFKA_FATAL");
    }
}

int cf_bus_produce(rd_kafka_t *rk, const char *topic, const char *key, const char *id,
                   const void *payload, size_t len, void *msg_opaque, int wait_ms, char *err,
                   size_t errsz)
{
    long long until = cf_wall_ms() + wait_ms;
    rd_kafka_vu_t vu[6];
    size_t nvu = 0;
    rd_kafka_error_t *kerr;
    int rc = 0;

    /* The vector form of producev: its macros are GNU statement expressions, which clang
     * refuses under -Wpedantic. */
    memset(vu, 0, sizeof vu);
    vu[nvu].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[nvu++].u.cstr = topic;
    vu[nvu].vtype = RD_KAFKA_VTYPE_KEY;
    vu[nvu].u.mem.ptr = (void *)key;
    vu[nvu++].u.mem.size = key ? strlen(key) : 0;
    vu[nvu].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[nvu].u.mem.ptr = (void *)payload;
    vu[nvu++].u.mem.size = len;
    vu[nvu].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[nvu++].u.i = RD_KAFKA_MSG_F_COPY;
    if (id) {
        vu[nvu].vtype = RD_KAFKA_VTYPE_HEADER;
        vu[nvu].u.header.name = "caseflow-id";
        vu[nvu].u.header.val = id;
        vu[nvu++].u.header.size = (ssize_t)strlen(id);
    }
    vu[nvu].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vu[nvu++].u.ptr = msg_opaque;
    while ((kerr = rd_kafka_produceva(rk, vu, nvu)) &&
           rd_kafka_error_code(kerr) == RD_KAFKA_RESP_ERR__QUEUE_FULL && cf_wall_ms() < until) {
        rd_kafka_error_destroy(kerr);
        /* The local queue is full: serve delivery reports so that it drains, then again. */
        rd_kafka_poll(rk, 50);
    }
    if (kerr) {
        rc = cf_errf(err, errsz, CF_EKAFKA, "producing %s to %s: %s", id ? id : "a message", topic,
                     rd_kafka_error_string(kerr));
        rd_kafka_error_destroy(kerr);
    } else {
        maybe_fail(rk);
    }
    return rc;
}

rd_kafka_t *cf_bus_consumer_new(const cf_config *cfg, const cf_bus_consumer_opts *o, char *err,
                                size_t errsz)
{
    int with_instance = o->instance && *o->instance;
    const char *const pairs[] = {"group.id",
                                 o->group,
                                 "enable.auto.commit",
                                 "false",
                                 "enable.auto.offset.store",
                                 "false",
                                 "auto.offset.reset",
                                 "earliest",
                                 "session.timeout.ms",
                                 "10000",
                                 "client.id",
                                 o->client_id ? o->client_id : "caseflow",
                                 with_instance ? "group.instance.id" : NULL,
                                 o->instance,
                                 NULL};
    rd_kafka_conf_t *conf = cf_bus_conf_for(cfg, pairs, err, errsz);
    rd_kafka_topic_partition_list_t *topics;
    rd_kafka_resp_err_t kerr;
    rd_kafka_t *rk;

    if (!conf)
        return NULL;
    if (o->on_rebalance)
        rd_kafka_conf_set_rebalance_cb(conf, o->on_rebalance);
    rd_kafka_conf_set_opaque(conf, o->opaque);
    if (!(rk = client_new(RD_KAFKA_CONSUMER, conf, err, errsz)))
        return NULL;
    rd_kafka_poll_set_consumer(rk);
    topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, o->topic, RD_KAFKA_PARTITION_UA);
    kerr = rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (kerr) {
        cf_errf(err, errsz, CF_EKAFKA, "subscribing to %s: %s", o->topic, rd_kafka_err2str(kerr));
        rd_kafka_destroy(rk);
        return NULL;
    }
    return rk;
}

int cf_bus_watermarks(rd_kafka_t *rk, const char *topic, long long *low, long long *high, int max,
                      int *n, int timeout_ms, char *err, size_t errsz)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t e;
    int rc = 0;

    *n = 0;
    if (!t)
        return cf_errf(err, errsz, CF_EKAFKA, "%s: %s", topic,
                       rd_kafka_err2str(rd_kafka_last_error()));
    e = rd_kafka_metadata(rk, 0, t, &md, timeout_ms);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && md->topics[0].err)
        e = md->topics[0].err;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rc = cf_errf(err, errsz, CF_EKAFKA, "%s: %s", topic, rd_kafka_err2str(e));
        goto out;
    }
    *n = md->topic_cnt == 1 ? md->topics[0].partition_cnt : 0;
    for (int i = 0; i < *n && rc == 0; i++) {
        int32_t part = md->topics[0].partitions[i].id;
        int64_t lo = 0, hi = 0;
        if (part < 0 || part >= max)
            continue;
        e = rd_kafka_query_watermark_offsets(rk, topic, part, &lo, &hi, timeout_ms);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
            rc = cf_errf(err, errsz, CF_EKAFKA, "%s [%d]: %s", topic, part, rd_kafka_err2str(e));
        else {
            low[part] = (long long)lo;
            high[part] = (long long)hi;
        }
    }
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    return rc;
}
