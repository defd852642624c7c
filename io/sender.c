/*
 * A producer whose callers wait for Kafka's acknowledgement: a thread polls the producer, and
 * each delivery report marks its message done and wakes the threads that wait.
 */
#include "sender.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "io/bus.h"

struct cf_sender {
    /* Replaced by the polling thread when it fails for good (replace_producer), under the write
     * lock; the threads that send use it under the read lock. */
    rd_kafka_t *rk;
    pthread_rwlock_t lock;
    const cf_config *cfg;
    char client_id[128], timeout[32];
    pthread_t poller;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int stop; /* set by cf_sender_free, read by the polling thread */
};

/* What a message in flight points to (its opaque): the message and its caller's count. */
struct slot {
    cf_outmsg *m;
    size_t *pending;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    cf_sender *s = opaque;
    struct slot *slot = msg->_private;
    (void)rk;

    pthread_mutex_lock(&s->mu);
    if (msg->err) {
        slot->m->err = msg->err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT ? CF_ETIMEOUT : CF_EKAFKA;
        snprintf(slot->m->reason, sizeof slot->m->reason, "%s", rd_kafka_err2str(msg->err));
    }
    (*slot->pending)--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* What the sender's producer is made with (`settings` holds its settings). */
static cf_bus_producer_opts producer_opts(cf_sender *s, const char *settings[5])
{
    const cf_bus_producer_opts o = {
        .client_id = s->client_id, .settings = settings, .on_delivery = on_delivery, .opaque = s};
    settings[0] = "linger.ms";
    settings[1] = "2";
    settings[2] = "message.timeout.ms";
    settings[3] = s->timeout;
    settings[4] = NULL;
    return o;
}

/*
 * A producer that failed for good (cf_bus_producer_failed) refuses every message: the server
 * would answer every event sent to it with an error until it is restarted.  It is replaced; the
 * messages it held get their reports now, as failures, and their senders may send them again.
 */
static void replace_producer(cf_sender *s)
{
    const char *settings[5];
    const cf_bus_producer_opts o = producer_opts(s, settings);

    pthread_rwlock_wrlock(&s->lock);
    if (cf_bus_producer_renew(&s->rk, s->cfg, &o) != 0)
        cf_warn("the server answers events with an error until Kafka takes them again");
    pthread_rwlock_unlock(&s->lock);
}

static void *poll_loop(void *arg)
{
    cf_sender *s = arg;
    /* This thread alone replaces the producer: it reads s->rk without the lock. */
    while (!atomic_load(&s->stop)) {
        rd_kafka_poll(s->rk, 100);
        if (cf_bus_producer_failed(s->rk, NULL, 0))
            replace_producer(s);
    }
    return NULL;
}

cf_sender *cf_sender_new(const cf_config *cfg, const char *client_id, int timeout_ms, char *err,
                         size_t errsz)
{
    const char *settings[5];
    cf_bus_producer_opts o;
    cf_sender *s = calloc(1, sizeof *s);

    if (!s) {
        cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        return NULL;
    }
    s->cfg = cfg;
    snprintf(s->client_id, sizeof s->client_id, "%s", client_id);
    snprintf(s->timeout, sizeof s->timeout, "%d", timeout_ms);
    o = producer_opts(s, settings);
    if (!(s->rk = cf_bus_producer_new(cfg, &o, err, errsz))) {
        free(s);
        return NULL;
    }
    pthread_rwlock_init(&s->lock, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->poller, NULL, poll_loop, s) != 0) {
        cf_errf(err, errsz, CF_ENOMEM, "cannot start the producer's thread");
        rd_kafka_destroy(s->rk);
        pthread_rwlock_destroy(&s->lock);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        free(s);
        return NULL;
    }
    return s;
}

void cf_sender_free(cf_sender *s)
{
    if (!s)
        return;
    rd_kafka_flush(s->rk, 30000);
    atomic_store(&s->stop, 1);
    pthread_join(s->poller, NULL);
    rd_kafka_destroy(s->rk);
    pthread_rwlock_destroy(&s->lock);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

int cf_sender_send(cf_sender *s, const char *topic, cf_outmsg *msgs, size_t n, char *err,
                   size_t errsz)
{
    struct slot *slots = calloc(n ? n : 1, sizeof *slots);
    size_t pending = 0;
    int rc = 0;

    if (!slots)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    pthread_rwlock_rdlock(&s->lock);
    for (size_t i = 0; i < n; i++) {
        cf_outmsg *m = &msgs[i];

        m->err = 0;
        m->reason[0] = '\0';
        slots[i].m = m;
        slots[i].pending = &pending;
        /* The count goes up before the message can be reported on. */
        pthread_mutex_lock(&s->mu);
        pending++;
        pthread_mutex_unlock(&s->mu);
        if (cf_bus_produce(s->rk, topic, m->key, m->id, m->payload, m->len, &slots[i], 30000,
                           m->reason, sizeof m->reason) != 0) {
            pthread_mutex_lock(&s->mu);
            pending--;
            m->err = CF_EKAFKA;
            pthread_mutex_unlock(&s->mu);
        }
    }
    pthread_rwlock_unlock(&s->lock);
    /* librdkafka reports on every message it took, at the latest after message.timeout.ms. */
    pthread_mutex_lock(&s->mu);
    while (pending > 0)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < n && rc == 0; i++)
        if (msgs[i].err)
            rc = cf_errf(err, errsz, msgs[i].err, "%s was not sent to %s: %s",
                         msgs[i].id ? msgs[i].id : "a message", topic, msgs[i].reason);
    free(slots);
    return rc;
}

int cf_sender_ping(cf_sender *s, int timeout_ms, char *err, size_t errsz)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e;

    pthread_rwlock_rdlock(&s->lock);
    e = rd_kafka_metadata(s->rk, 0, NULL, &md, timeout_ms);
    pthread_rwlock_unlock(&s->lock);
    if (md)
        rd_kafka_metadata_destroy(md);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return cf_errf(err, errsz, CF_EKAFKA, "Kafka does not answer: %s", rd_kafka_err2str(e));
    return 0;
}

int cf_sender_watermarks(cf_sender *s, const char *topic, long long *low, long long *high, int max,
                         int *n, int timeout_ms, char *err, size_t errsz)
{
    int rc;
    pthread_rwlock_rdlock(&s->lock);
    rc = cf_bus_watermarks(s->rk, topic, low, high, max, n, timeout_ms, err, errsz);
    pthread_rwlock_unlock(&s->lock);
    return rc;
}
