/*
 * The outbox relay: publishes outbox rows with the idempotent producer and
 * deletes each row once Kafka has confirmed it.  A row whose delivery failed,
 * or that an engine left behind when it died, stays in the outbox and is sent
 * again by the sweep: at-least-once to Kafka, and every message carries its
 * stable id in the `caseflow-id` header (and in its body) so consumers drop
 * duplicates.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io/bus.h"
#include "base/log.h"
#include "engine/internal.h"

/* How old an outbox row must be before the sweep takes it for lost and sends it again. */
enum { SWEEP_EVERY_MS = 5000, SWEEP_AGE_S = 30, SWEEP_LIMIT = 5000 };

/* Delivery reports arrive on the engine's thread, from rd_kafka_poll. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    cf_engine *e = opaque;
    long long id = (long long)(intptr_t)m->_private;
    (void)rk;

    e->unconfirmed--;
    e->last_report_ms = cf_wall_ms();
    if (m->err) {
        /* The row stays in the outbox; the sweep sends it again.  After a fatal error every
         * message fails alike: replace_producer says it once. */
        if (m->err == RD_KAFKA_RESP_ERR__FATAL)
            e->producer_failed = 1;
        if (!e->producer_failed)
            cf_warn("publishing outbox row %lld to %s failed: %s", id, rd_kafka_topic_name(m->rkt),
                    rd_kafka_err2str(m->err));
        e->delivery_failed = 1;
        return;
    }
    if (e->ndelivered == e->capdelivered) {
        size_t cap = e->capdelivered ? e->capdelivered * 2 : 1024;
        long long *d = realloc(e->delivered, cap * sizeof *d);
        if (!d)
            return; /* not deleted now: sent again later, and dropped as a duplicate */
        e->delivered = d;
        e->capdelivered = cap;
    }
    e->delivered[e->ndelivered++] = id;
    e->n.published++;
}

/* The relay's producer: what it is made with, the first time and when it is replaced. */
static cf_bus_producer_opts producer_opts(cf_engine *e)
{
    static const char *const settings[] = {"linger.ms", "5", NULL};
    const cf_bus_producer_opts o = {.client_id = "caseflow-engine",
                                    .settings = settings,
                                    .on_delivery = on_delivery,
                                    .opaque = e};
    return o;
}

int cf_relay_init(cf_engine *e, char *err, size_t errsz)
{
    const cf_bus_producer_opts o = producer_opts(e);
    if (!(e->producer = cf_bus_producer_new(e->cfg, &o, err, errsz)))
        return CF_EKAFKA;
    return 0;
}

void cf_relay_send(cf_engine *e, long long id, const char *topic, const char *key,
                   const char *msg_id, const char *payload, size_t len)
{
    char err[512];

    if (cf_bus_produce(e->producer, topic, key, msg_id, payload, len, (void *)(intptr_t)id, 10000,
                       err, sizeof err) != 0) {
        if (cf_bus_producer_failed(e->producer, err, sizeof err))
            e->producer_failed = 1;
        else
            cf_warn("queueing outbox row %lld: %s (it stays in the outbox)", id, err);
        return;
    }
    e->unconfirmed++;
}

static void delete_delivered(cf_engine *e)
{
    cf_sqlarr ids;
    const char *p[1];
    char err[512];
    PGresult *res;

    if (e->ndelivered == 0 || !e->db)
        return;
    cf_sqlarr_init(&ids);
    for (size_t i = 0; i < e->ndelivered; i++)
        cf_sqlarr_addf(&ids, "%lld", e->delivered[i]);
    p[0] = cf_sqlarr_text(&ids);
    res = cf_store_exec(e->db, "delete from outbox where id = any($1::bigint[])", 1, p, err,
                        sizeof err);
    if (res)
        e->ndelivered = 0;
    else
        cf_warn("deleting delivered outbox rows (will retry): %s", err);
    PQclear(res);
    cf_sqlarr_free(&ids);
}

/*
 * The payload of row `r` of an outbox SELECT, whose column `col` is the payload (bytea, in text
 * format) and `col` + 1 its inflated length (NULL: stored as it is; batch.c deflates the longer
 * ones), as a malloc'ed buffer of *len bytes; NULL when it cannot be read back.
 */
static char *stored_payload(const PGresult *res, int r, int col, size_t *len)
{
    size_t n;
    unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, r, col), &n);
    char *plain;
    uLongf out;

    if (!raw)
        return NULL;
    if (PQgetisnull(res, r, col + 1)) {
        plain = malloc(n + 1);
        if (plain)
            memcpy(plain, raw, n);
        *len = n;
        PQfreemem(raw);
        return plain;
    }
    out = (uLongf)strtoul(PQgetvalue(res, r, col + 1), NULL, 10);
    plain = malloc(out + 1);
    if (plain && (uncompress((Bytef *)plain, &out, raw, (uLong)n) != Z_OK ||
                  out != strtoul(PQgetvalue(res, r, col + 1), NULL, 10))) {
        free(plain);
        plain = NULL;
    }
    *len = out;
    PQfreemem(raw);
    return plain;
}

/* Sends again rows older than `age_s` seconds: their engine died, or their delivery failed. */
static void sweep(cf_engine *e, int age_s)
{
    char err[512], age[16];
    const char *p[2];
    char limit[16];
    PGresult *res;

    snprintf(age, sizeof age, "%d", age_s);
    snprintf(limit, sizeof limit, "%d", SWEEP_LIMIT);
    p[0] = age;
    p[1] = limit;
    res = cf_store_exec(e->db,
                        "select id, topic, key, msg_id, payload, inflated_len from outbox "
                        "where created_at < now() - make_interval(secs => $1::int) "
                        "order by id limit $2::int",
                        2, p, err, sizeof err);
    if (!res) {
        cf_warn("sweeping the outbox: %s", err);
        return;
    }
    if (PQntuples(res) > 0)
        cf_info("sending %d outbox rows again that waited over %d s", PQntuples(res), age_s);
    for (int r = 0; r < PQntuples(res); r++) {
        long long id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        size_t len;
        char *payload = stored_payload(res, r, 4, &len);
        if (!payload) {
            cf_warn("outbox row %lld: its payload cannot be read back (it stays in the outbox)",
                    id);
            continue;
        }
        cf_relay_send(e, id, PQgetvalue(res, r, 1),
                      PQgetisnull(res, r, 2) ? NULL : PQgetvalue(res, r, 2), PQgetvalue(res, r, 3),
                      payload, len);
        free(payload);
    }
    PQclear(res);
}

/*
 * A producer that failed for good (cf_bus_producer_failed) is replaced: what it had not
 * delivered is still in the outbox, and is sent again at once rather than after the sweep's age.
 */
static void replace_producer(cf_engine *e)
{
    const cf_bus_producer_opts o = producer_opts(e);

    /* The purged messages' reports say nothing new: their rows stay in the outbox. */
    if (cf_bus_producer_renew(&e->producer, e->cfg, &o) != 0)
        return; /* tried again at the next poll */
    e->unconfirmed = 0;
    e->producer_failed = 0;
    delete_delivered(e);
    sweep(e, 0);
    e->last_sweep_ms = cf_wall_ms();
}

void cf_relay_poll(cf_engine *e, int timeout_ms)
{
    long long now = cf_wall_ms();

    rd_kafka_poll(e->producer, timeout_ms);
    if (e->producer_failed || cf_bus_producer_failed(e->producer, NULL, 0))
        replace_producer(e);
    delete_delivered(e);
    if (now - e->last_sweep_ms >= SWEEP_EVERY_MS) {
        e->last_sweep_ms = now;
        /* Rows this engine has in flight are young while Kafka answers, so the age bound keeps
         * them out.  While it does not (messages in flight and no delivery report for a sweep
         * period: the broker is away), the old rows are still in the producer's queue, and
         * sending them again would only queue one more copy of each every few seconds until
         * the queue is full.  They are delivered, or fail and are swept, once it is back. */
        if (e->unconfirmed == 0 || now - e->last_report_ms < SWEEP_EVERY_MS)
            sweep(e, SWEEP_AGE_S);
    }
}

void cf_relay_flush(cf_engine *e, int timeout_ms)
{
    long long until = cf_wall_ms() + timeout_ms;
    while (e->unconfirmed > 0 && cf_wall_ms() < until)
        rd_kafka_poll(e->producer, 50);
    rd_kafka_flush(e->producer, 100);
    delete_delivered(e);
}
