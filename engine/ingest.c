/* HTTP ingest: validation, the allow-list of what outside systems may send, duplicates, sending. */
#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/store.h"
#include "core/caseno.h"

void cf_ingest_error_field(const char *message, char *out, size_t n)
{
    const char *colon = strstr(message, ": ");
    const char *missing = strstr(message, "missing required property '");
    size_t len = colon ? (size_t)(colon - message) : 0;

    out[0] = '\0';
    if (!colon)
        return;
    if (strncmp(message, "(root)", 6) == 0)
        len = 0;
    snprintf(out, n, "%.*s", (int)len, message);
    if (missing) {
        const char *name = missing + strlen("missing required property '");
        size_t nl = strcspn(name, "'");
        size_t used = strlen(out);
        snprintf(out + used, used < n ? n - used : 0, "/%.*s", (int)nl, name);
    }
}

/*
 * Returns NULL when an outside system may send `event`, else why not.  Task results, timer
 * firings and clock moves come only from caseflow's own workers, staff actions and engine; an
 * outside system that could send them could complete a member of staff's task in their name.
 */
static const char *forbidden(const json_t *event)
{
    const char *type = json_string_value(json_object_get(event, "type"));
    const char *source = json_string_value(json_object_get(event, "source"));

    if (type && (strncmp(type, "task.", 5) == 0 || strncmp(type, "timer.", 6) == 0 ||
                 strncmp(type, "clock.", 6) == 0))
        return "events of this type come only from caseflow's own workers, staff and engine";
    if (source && (strncmp(source, "staff:", 6) == 0 || strncmp(source, "worker:", 7) == 0 ||
                   strncmp(source, "engine", 6) == 0))
        return "this source names one of caseflow's own processes or staff";
    return NULL;
}

static void judge(const cf_registry *reg, cf_ingest_item *it)
{
    const char *type = json_string_value(json_object_get(it->event, "type"));
    const char *id = json_string_value(json_object_get(it->event, "id"));
    const cf_schema *schema;
    const char *why;
    char msg[512];

    it->outcome = CF_INGEST_INVALID;
    if (id)
        snprintf(it->id, sizeof it->id, "%s", id);
    if (!json_is_object(it->event)) {
        snprintf(it->detail, sizeof it->detail, "an event is a JSON object");
        return;
    }
    if (!type) {
        snprintf(it->field, sizeof it->field, "/type");
        snprintf(it->detail, sizeof it->detail, "the event has no type");
        return;
    }
    /* What a service account may not send is refused before anything else is said about it. */
    if ((why = forbidden(it->event))) {
        it->outcome = CF_INGEST_FORBIDDEN;
        snprintf(it->detail, sizeof it->detail, "%s", why);
        return;
    }
    if (!(schema = cf_registry_schema(reg, type))) {
        snprintf(it->field, sizeof it->field, "/type");
        snprintf(it->detail, sizeof it->detail, "unknown event type '%.200s'", type);
        return;
    }
    if (cf_schema_validate(schema, it->event, msg, sizeof msg) != 0) {
        cf_ingest_error_field(msg, it->field, sizeof it->field);
        snprintf(it->detail, sizeof it->detail, "breaks the schema of %.100s: %s", type, msg);
        return;
    }
    it->outcome = CF_INGEST_ACCEPTED;
}

/* Marks items whose id the event log holds already, or that an earlier item has. */
static void mark_duplicates(PGconn *db, cf_ingest_item *items, size_t n)
{
    cf_sqlarr ids;
    char err[256];
    PGresult *res = NULL;

    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < i && items[i].outcome == CF_INGEST_ACCEPTED; k++)
            if (items[k].outcome == CF_INGEST_ACCEPTED && strcmp(items[k].id, items[i].id) == 0) {
                items[i].outcome = CF_INGEST_DUPLICATE;
                snprintf(items[i].detail, sizeof items[i].detail,
                         "the same id came earlier in this request");
            }
    if (!db)
        return;
    cf_sqlarr_init(&ids);
    for (size_t i = 0; i < n; i++)
        if (items[i].outcome == CF_INGEST_ACCEPTED)
            cf_sqlarr_add(&ids, items[i].id);
    /* Without the database the engine still drops what it applied before. */
    if (ids.count > 0 && !ids.failed &&
        (res = cf_store_exec(db, "select event_id from events where event_id = any($1::text[])", 1,
                             (const char *[]){cf_sqlarr_text(&ids)}, err, sizeof err))) {
        for (int r = 0; r < PQntuples(res); r++)
            for (size_t i = 0; i < n; i++)
                if (items[i].outcome == CF_INGEST_ACCEPTED &&
                    strcmp(items[i].id, PQgetvalue(res, r, 0)) == 0) {
                    items[i].outcome = CF_INGEST_DUPLICATE;
                    snprintf(items[i].detail, sizeof items[i].detail,
                             "the engine applied this event already");
                }
    }
    PQclear(res);
    cf_sqlarr_free(&ids);
}

int cf_ingest(PGconn *db, const cf_registry *reg, cf_sender *sender, const char *topic,
              cf_ingest_item *items, size_t n, char *err, size_t errsz)
{
    cf_outmsg *msgs = calloc(n ? n : 1, sizeof *msgs);
    char **texts = calloc(n ? n : 1, sizeof *texts);
    size_t *which = calloc(n ? n : 1, sizeof *which);
    size_t m = 0;
    int rc = 0;

    if (!msgs || !texts || !which) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        judge(reg, &items[i]);
    mark_duplicates(db, items, n);
    for (size_t i = 0; i < n; i++) {
        if (items[i].outcome != CF_INGEST_ACCEPTED)
            continue;
        if (!(texts[m] = json_dumps(items[i].event, JSON_COMPACT))) {
            rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
            goto out;
        }
        /* One case's events share a partition however its number is written. */
        {
            const char *c = json_string_value(json_object_get(items[i].event, "case"));
            if (!c || cf_caseno_normalize(c, items[i].key, sizeof items[i].key) != 0)
                snprintf(items[i].key, sizeof items[i].key, "%s", c ? c : "");
        }
        msgs[m].key = items[i].key;
        msgs[m].id = items[i].id;
        msgs[m].payload = texts[m];
        msgs[m].len = strlen(texts[m]);
        which[m++] = i;
    }
    if (m > 0 && (rc = cf_sender_send(sender, topic, msgs, m, err, errsz)) != 0) {
        for (size_t k = 0; k < m; k++) {
            cf_ingest_item *it = &items[which[k]];
            it->outcome = CF_INGEST_FAILED;
            snprintf(it->detail, sizeof it->detail, "not sent: %s",
                     msgs[k].err ? msgs[k].reason : "another event of the batch was not sent");
        }
    }
out:
    for (size_t k = 0; texts && k < m; k++)
        free(texts[k]);
    free(texts);
    free(msgs);
    free(which);
    return rc;
}
