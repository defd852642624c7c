/*
 * Kafka access shared by the engine, the workers, the server and the CLI: the names of
 * caseflow's topics, the one way to make a producer and a consumer (librdkafka settings of the
 * deployment pass through unchanged), the one produce function, checking that a cluster answers,
 * its watermarks, and creating topics.  Nothing outside io/ makes a Kafka client or produces.
 */
#ifndef CF_BUS_H
#define CF_BUS_H

#include <librdkafka/rdkafka.h>
#include <signal.h>

#include "base/config.h"
#include "base/err.h"

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
 * `timeout_ms`.  A topic that exists already is success.  CF_ETIMEOUT says the cluster
 * could not do it now (no answer, brokers fenced or starting, fewer up than the replication
 * factor): trying again later may succeed.  CF_EKAFKA is any other refusal.
 */
int cf_bus_create_topic(rd_kafka_t *rk, const char *topic, int partitions, int timeout_ms,
                        char *err, size_t errsz) CF_MUST_CHECK;

/* The same, with topic settings: `config` holds name, value, name, value, ..., NULL. */
int cf_bus_create_topic_with(rd_kafka_t *rk, const char *topic, int partitions,
                             const char *const *config, int timeout_ms, char *err,
                             size_t errsz) CF_MUST_CHECK;

/*
 * cf_bus_create_topic_with for a process starting up: while the cluster cannot do it now
 * (CF_ETIMEOUT: starting, stopping, electing, brokers fenced) it warns and tries again with
 * backoff, until `*stop` is set.  Any other refusal is returned at once.
 */
int cf_bus_create_topic_waiting(rd_kafka_t *rk, const char *topic, int partitions,
                                const char *const *config, volatile sig_atomic_t *stop, char *err,
                                size_t errsz) CF_MUST_CHECK;

/*
 * Writes the name of caseflow's topic `name` ("events", "transitions", "dlq", "tasks.<kind>",
 * or "tasks." for the prefix of every task topic) under the deployment's topic prefix into
 * `out` and returns `out`: "caseflow.events" with the default prefix.
 */
const char *cf_bus_topic(const cf_config *cfg, const char *name, char *out, size_t outsz);

/* What a producer is made with. */
typedef struct cf_bus_producer_opts {
    const char *client_id;       /* its name in Kafka's logs and quotas */
    const char *const *settings; /* name, value, ..., NULL: what this producer needs besides the
                                    defaults (idempotence, acks=all); NULL: none */
    /* Called from rd_kafka_poll/flush for every message, with the `msg_opaque` that
     * cf_bus_produce was given in m->_private; NULL: nobody listens. */
    void (*on_delivery)(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
    /* Called from rd_kafka_poll for errors of the client as a whole; NULL: librdkafka logs. */
    void (*on_error)(rd_kafka_t *rk, int err, const char *reason, void *opaque);
    void *opaque; /* handed to both callbacks */
} cf_bus_producer_opts;

/*
 * Returns an idempotent producer (enable.idempotence, acks=all) for `cfg`'s cluster, with the
 * settings of `o` and then the deployment's kafka.settings; NULL with the reason in `err`.  The
 * caller destroys it with rd_kafka_destroy (after rd_kafka_flush).
 */
rd_kafka_t *cf_bus_producer_new(const cf_config *cfg, const cf_bus_producer_opts *o, char *err,
                                size_t errsz);

/*
 * An idempotent producer that raised a fatal error refuses every message from then on, and
 * librdkafka never mends it.  librdkafka 2.0 does so after a broker refused a batch for want of
 * in-sync replicas (NOT_ENOUGH_REPLICAS while two brokers of three are down: "rewound sequence
 * number", OUT_OF_ORDER_SEQUENCE_NUMBER).  Returns 1 with the reason in `why` (NULL: not
 * wanted) when `rk` has failed so, else 0.
 */
int cf_bus_producer_failed(rd_kafka_t *rk, char *why, size_t whysz);

/*
 * Replaces the producer `*rk`, which failed for good, by a new one made from `cfg` and `o` (a new
 * producer id, so its sequence numbers start again), and logs why at error level.  The old one's
 * messages are purged: their delivery reports come from here, with RD_KAFKA_RESP_ERR__PURGE_QUEUE
 * or __PURGE_INFLIGHT (or __FATAL), before it is destroyed.  Returns 0 with the new producer in
 * `*rk`; CF_EKAFKA (logged) when none can be made, and then `*rk` is left as it was: the caller
 * tries again later.  What the old one did not deliver is the caller's to send again; a message
 * it had written after all then comes twice, with the same id, and consumers drop the second.
 */
int cf_bus_producer_renew(rd_kafka_t **rk, const cf_config *cfg,
                          const cf_bus_producer_opts *o) CF_MUST_CHECK;

/*
 * Queues one message to `topic`: `key` (NULL: none) picks the partition (the case number keeps a
 * case's messages in order), `id` (NULL: none) goes in the `caseflow-id` header by which
 * consumers drop a second copy, the payload is copied, `msg_opaque` comes back to the delivery
 * report.  For tests only: with CASEFLOW_TEST_KAFKA_FATAL=CLIENT:N in the environment, the
 * producer of client.id CLIENT fails for good (cf_bus_producer_failed) right after it took its
 * Nth message, once per process.  While librdkafka's queue is full it serves the producer's
 * delivery reports on this thread (rd_kafka_poll) and tries again, for at most `wait_ms`.  Returns
 * 0 when the message is queued (its delivery report says the rest), else CF_EKAFKA with
 * librdkafka's reason in `err`.
 */
int cf_bus_produce(rd_kafka_t *rk, const char *topic, const char *key, const char *id,
                   const void *payload, size_t len, void *msg_opaque, int wait_ms, char *err,
                   size_t errsz) CF_MUST_CHECK;

/* What a consumer is made with. */
typedef struct cf_bus_consumer_opts {
    const char *client_id;
    const char *group;    /* the consumer group */
    const char *instance; /* group.instance.id, for static membership; NULL or "": none */
    const char *topic;    /* the one topic it subscribes to */
    /* librdkafka's rebalance callback: the caller assigns, seeking where it keeps offsets. */
    void (*on_rebalance)(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque);
    void *opaque;
} cf_bus_consumer_opts;

/*
 * Returns a consumer of `o->topic` in group `o->group`, subscribed, its offsets neither committed
 * nor stored by librdkafka (the caller keeps them: in PostgreSQL, or committed by hand after the
 * work is done), starting at the earliest offset of a partition without one, and serving its
 * events through rd_kafka_consumer_poll.  NULL with the reason in `err`.  The caller closes it
 * with rd_kafka_consumer_close and rd_kafka_destroy.
 */
rd_kafka_t *cf_bus_consumer_new(const cf_config *cfg, const cf_bus_consumer_opts *o, char *err,
                                size_t errsz);

/*
 * The watermarks of each partition of `topic`, as the cluster says within `timeout_ms` for each
 * question, asked through the client `rk`: low[p] the first offset still kept, high[p] the offset
 * the next message will get, for partitions p below `max`; *n is the topic's number of
 * partitions.  Returns 0, or CF_EKAFKA with librdkafka's words in `err` (the topic is unknown,
 * or Kafka is away).
 */
int cf_bus_watermarks(rd_kafka_t *rk, const char *topic, long long *low, long long *high, int max,
                      int *n, int timeout_ms, char *err, size_t errsz) CF_MUST_CHECK;

#endif
