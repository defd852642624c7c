/*
 * Producing events that someone waits for: a member of staff completing a task, the filing
 * system sending events over HTTP (the server), a payment applied to its case (the payments
 * worker's handler threads).  A sender is one idempotent producer (acks=all) with a thread
 * that serves its delivery reports, so that any number of threads can each hand it messages and
 * wait until Kafka has acknowledged them, or says why not.  The engine's outbox relay does not
 * use it: it never waits for one message.
 */
#ifndef CF_SENDER_H
#define CF_SENDER_H

#include <stddef.h>

#include "base/config.h"
#include "base/err.h"

typedef struct cf_sender cf_sender;

/* One message to send: `id` goes in the caseflow-id header (the engine drops a second copy). */
typedef struct cf_outmsg {
    const char *key; /* the case number: one case's events stay in order in one partition */
    const char *id;
    const char *payload;
    size_t len;
    int err;          /* out: 0 acknowledged, CF_EKAFKA or CF_ETIMEOUT */
    char reason[160]; /* out: librdkafka's words when err is set */
} cf_outmsg;

/*
 * Returns a sender for `cfg`'s cluster named `client_id` in Kafka's logs, or NULL with the
 * reason in `err`.  Messages not acknowledged within `timeout_ms` fail.  Free with
 * cf_sender_free, which waits for what is still in flight.  `cfg` must outlive the sender: a
 * producer that fails for good is replaced by a new one made from it.
 */
cf_sender *cf_sender_new(const cf_config *cfg, const char *client_id, int timeout_ms, char *err,
                         size_t errsz);
void cf_sender_free(cf_sender *s);

/*
 * Produces the `n` messages to `topic` (payloads are copied) and waits until Kafka has
 * acknowledged or refused every one.  Returns 0 when all were acknowledged, else the first
 * failure's code (CF_EKAFKA, CF_ETIMEOUT, CF_ENOMEM) with its reason in `err`; each message's
 * own outcome is in its `err` and `reason`.  Safe to call from several threads at once.
 */
int cf_sender_send(cf_sender *s, const char *topic, cf_outmsg *msgs, size_t n, char *err,
                   size_t errsz) CF_MUST_CHECK;

/* Asks the cluster for its brokers within `timeout_ms`: 0 when it answers, else CF_EKAFKA with
 * librdkafka's words in `err`. */
int cf_sender_ping(cf_sender *s, int timeout_ms, char *err, size_t errsz) CF_MUST_CHECK;

/*
 * The watermarks of each partition of `topic`, as the cluster says within `timeout_ms` for each
 * question: low[p] the first offset still kept, high[p] the offset the next message will get, for
 * partitions p below `max`; *n is the topic's number of partitions.  Returns 0, or CF_EKAFKA with
 * librdkafka's words in `err` (the topic is unknown, or Kafka is away).
 */
int cf_sender_watermarks(cf_sender *s, const char *topic, long long *low, long long *high, int max,
                         int *n, int timeout_ms, char *err, size_t errsz) CF_MUST_CHECK;

#endif
