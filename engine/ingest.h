/*
 * Events sent by outside systems over HTTP (the filing system's `POST /api/v1/events`): each is
 * checked against its JSON Schema and against what a service account may send, a repeat of an
 * event the engine applied already is answered as a duplicate without sending it again, and the
 * rest go to <prefix>.events in one batch that counts as accepted only when Kafka acknowledged
 * every message.  The engine drops a second copy of an event id, so a retried batch lands
 * exactly once.
 */
#ifndef CF_INGEST_H
#define CF_INGEST_H

#include <jansson.h>
#include <libpq-fe.h>

#include "base/err.h"
#include "engine/registry.h"
#include "io/sender.h"

/* Outcomes of one event. */
enum cf_ingest_outcome {
    CF_INGEST_ACCEPTED = 0,  /* Kafka acknowledged it */
    CF_INGEST_DUPLICATE = 1, /* the engine applied this id already (or it came twice here) */
    CF_INGEST_INVALID = 2,   /* not an event, or it breaks its schema: `field` names where */
    CF_INGEST_FORBIDDEN = 3, /* a type or source that only caseflow's own processes send */
    CF_INGEST_FAILED = 4,    /* Kafka did not take it */
};

typedef struct cf_ingest_item {
    const json_t *event; /* borrowed */
    enum cf_ingest_outcome outcome;
    char id[136];     /* the event's id, when it has one */
    char key[256];    /* its case number in canonical form: the Kafka key */
    char field[160];  /* INVALID: the JSON pointer of the field at fault ("" when none) */
    char detail[768]; /* what is wrong, in one line */
} cf_ingest_item;

/*
 * Judges and sends the `n` items.  `db` may be NULL (then no duplicate is recognized here; the
 * engine still drops it).  Returns 0 when every acceptable event was acknowledged, CF_EKAFKA or
 * CF_ETIMEOUT when Kafka took none or not all of them (their items say FAILED: the caller
 * retries the whole batch), or CF_ENOMEM.
 */
int cf_ingest(PGconn *db, const cf_registry *reg, cf_sender *sender, const char *topic,
              cf_ingest_item *items, size_t n, char *err, size_t errsz) CF_MUST_CHECK;

/* The JSON pointer a schema error message names ("/data/amount: must be >= 0" gives
 * "/data/amount"; "(root): missing required property 'case'" gives "/case"), into `out`. */
void cf_ingest_error_field(const char *message, char *out, size_t n);

#endif
