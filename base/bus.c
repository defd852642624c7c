/* Kafka client configuration, cluster checks and topic creation on top of librdkafka. */
#include "bus.h"

#include <stdio.h>
#include <string.h>

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

    for (size_t i = 0; conf && pairs && pairs[i]; i += 2)
        if (cf_bus_conf_set(conf, pairs[i], pairs[i + 1], err, errsz) != 0)
            goto fail;
    for (size_t i = 0; conf && i < cfg->nkafka_settings; i++)
        if (cf_bus_conf_set(conf, cfg->kafka_settings[i].key, cfg->kafka_settings[i].value, err,
                            errsz) != 0)
            goto fail;
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
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
        rc = cf_errf(err, errsz, CF_EKAFKA, "creating topic %s: %s", topic,
                     rd_kafka_event_error_string(ev));
    } else {
        size_t n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        for (size_t i = 0; i < n; i++) {
            rd_kafka_resp_err_t terr = rd_kafka_topic_result_error(res[i]);
            if (terr && terr != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                rc = cf_errf(err, errsz, CF_EKAFKA, "creating topic %s: %s", topic,
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
