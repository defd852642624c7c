/*
 * Kafka access shared by the engine, the workers and the CLI: building client
 * configurations (librdkafka settings pass through unchanged), checking that a
 * cluster answers, and creating the topics caseflow uses.
 */
#ifndef CF_BUS_H
#define CF_BUS_H

#include <librdkafka/rdkafka.h>

#include "config.h"
#include "err.h"

/*
 * Returns a new configuration with bootstrap.servers set to `brokers`, or NULL
 * with the reason in `err`.  The caller owns it until it passes it to
 * rd_kafka_new (which takes it over on success).
 */
rd_kafka_conf_t *cf_bus_conf_new(const char *brokers, char *err, size_t errsz);

/*
 * Returns a configuration for a client of caseflow's cluster: bootstrap.servers
 * from `cfg`, then the `pairs` (name, value, name, value, ..., NULL: what this
 * client needs), then the deployment's kafka.settings, which come last so that
 * TLS, SASL or timeouts apply unchanged.  NULL with the reason in `err`.
 */
rd_kafka_conf_t *cf_bus_conf_for(const cf_config *cfg, const char *const *pairs, char *err,
                                 size_t errsz);

/* Sets one librdkafka property; returns 0, or CF_EINVAL naming the property and why. */
int cf_bus_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                    size_t errsz) CF_MUST_CHECK;

/*
 * Asks the cluster at `brokers` for its metadata within `timeout_ms`.  Returns 0
 * and the number of brokers in `*nbrokers`, or CF_EKAFKA / CF_ETIMEOUT with the reason.
 */
int cf_bus_ping(const char *brokers, int timeout_ms, int *nbrokers, char *err,
                size_t errsz) CF_MUST_CHECK;

/*
 * Creates `topic` with `partitions` partitions on the cluster of `rk` (any client
 * handle), replicated as the cluster's default.replication.factor says, and waits up to
 * `timeout_ms`.  A topic that exists already is success.
 */
int cf_bus_create_topic(rd_kafka_t *rk, const char *topic, int partitions, int timeout_ms,
                        char *err, size_t errsz) CF_MUST_CHECK;

/* The same, with topic settings: `config` holds name, value, name, value, ..., NULL. */
int cf_bus_create_topic_with(rd_kafka_t *rk, const char *topic, int partitions,
                             const char *const *config, int timeout_ms, char *err,
                             size_t errsz) CF_MUST_CHECK;

#endif
