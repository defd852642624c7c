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
#include <time.h>

#include "base/bus.h"

struct cf_sender {
    rd_kafka_t *rk;
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

static void *poll_loop(void *arg)
{
    cf_sender *s = arg;
    while (!atomic_load(&s->stop))
        rd_kafka_poll(s->rk, 100);
    return NULL;
}

cf_sender *cf_sender_new(const cf_config *cfg, const char *client_id, int timeout_ms, char *err,
                         size_t errsz)
{
    char timeout[32], why[256];
    const char *const pairs[] = {"enable.idempotence", "true",    "acks",      "all",
                                 "client.id",          client_id, "linger.ms", "2",
                                 "message.timeout.ms", timeout,   NULL};
    rd_kafka_conf_t *conf;
    cf_sender *s = calloc(1, sizeof *s);

    if (!s) {
        cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        return NULL;
    }
    snprintf(timeout, sizeof timeout, "%d", timeout_ms);
    if (!(conf = cf_bus_conf_for(cfg, pairs, err, errsz))) {
        free(s);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, s);
    if (!(s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why))) {
        cf_errf(err, errsz, CF_EKAFKA, "creating the Kafka producer: %s", why);
        rd_kafka_conf_destroy(conf);
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->poller, NULL, poll_loop, s) != 0) {
        cf_errf(err, errsz, CF_ENOMEM, "cannot start the producer's thread");
        rd_kafka_destroy(s->rk);
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
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int cf_sender_send(cf_sender *s, const char *topic, cf_outmsg *msgs, size_t n, char *err,
                   size_t errsz)
{
    struct slot *slots = calloc(n ? n : 1, sizeof *slots);
    size_t pending = 0;
    int rc = 0;

    if (!slots)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        cf_outmsg *m = &msgs[i];
        rd_kafka_error_t *kerr = NULL;
        rd_kafka_vu_t vu[6];

        m->err = 0;
        m->reason[0] = '\0';
        slots[i].m = m;
        slots[i].pending = &pending;
        /* The vector form of producev: its macros are GNU statement expressions, which clang
         * refuses under -Wpedantic. */
        memset(vu, 0, sizeof vu);
        vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
        vu[0].u.cstr = topic;
        vu[1].vtype = RD_KAFKA_VTYPE_KEY;
        vu[1].u.mem.ptr = (void *)m->key;
        vu[1].u.mem.size = m->key ? strlen(m->key) : 0;
        vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
        vu[2].u.mem.ptr = (void *)m->payload;
        vu[2].u.mem.size = m->len;
        vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
        vu[3].u.i = RD_KAFKA_MSG_F_COPY;
        vu[4].vtype = RD_KAFKA_VTYPE_HEADER;
        vu[4].u.header.name = "caseflow-id";
        vu[4].u.header.val = m->id;
        vu[4].u.header.size = m->id ? (ssize_t)strlen(m->id) : 0;
        vu[5].vtype = RD_KAFKA_VTYPE_OPAQUE;
        vu[5].u.ptr = &slots[i];
        /* The count goes up before the message can be reported on. */
        pthread_mutex_lock(&s->mu);
        pending++;
        pthread_mutex_unlock(&s->mu);
        for (int tries = 0; tries < 3000; tries++) {
            if (kerr)
                rd_kafka_error_destroy(kerr);
            kerr = rd_kafka_produceva(s->rk, vu, 6);
            if (!kerr || rd_kafka_error_code(kerr) != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                break;
            sleep_ms(10); /* the poller drains the queue */
        }
        if (kerr) {
            pthread_mutex_lock(&s->mu);
            pending--;
            m->err = CF_EKAFKA;
            snprintf(m->reason, sizeof m->reason, "%s", rd_kafka_error_string(kerr));
            pthread_mutex_unlock(&s->mu);
            rd_kafka_error_destroy(kerr);
        }
    }
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
    rd_kafka_resp_err_t e = rd_kafka_metadata(s->rk, 0, NULL, &md, timeout_ms);

    if (md)
        rd_kafka_metadata_destroy(md);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return cf_errf(err, errsz, CF_EKAFKA, "Kafka does not answer: %s", rd_kafka_err2str(e));
    return 0;
}

int cf_sender_watermarks(cf_sender *s, const char *topic, long long *low, long long *high, int max,
                         int *n, int timeout_ms, char *err, size_t errsz)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(s->rk, topic, NULL);
    rd_kafka_resp_err_t e;
    int rc = 0;

    *n = 0;
    if (!t)
        return cf_errf(err, errsz, CF_EKAFKA, "%s: %s", topic,
                       rd_kafka_err2str(rd_kafka_last_error()));
    e = rd_kafka_metadata(s->rk, 0, t, &md, timeout_ms);
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
        e = rd_kafka_query_watermark_offsets(s->rk, topic, part, &lo, &hi, timeout_ms);
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
