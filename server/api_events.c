/*
 * POST /api/v1/events: the filing system sends events over HTTP.  The body is one event (a JSON
 * object), a JSON array of events, or NDJSON (application/x-ndjson, one event a line); each is
 * judged and sent by engine/ingest.c, and the answer, given only after Kafka acknowledged what
 * was accepted, says per event (per line for NDJSON) what became of it.  Sending the same events
 * again is safe: the engine keeps one copy of an event id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/ingest.h"
#include "internal.h"

static const char *outcome_name(enum cf_ingest_outcome o)
{
    switch (o) {
    case CF_INGEST_ACCEPTED: return "accepted";
    case CF_INGEST_DUPLICATE: return "duplicate";
    case CF_INGEST_INVALID: return "invalid";
    case CF_INGEST_FORBIDDEN: return "forbidden";
    default: return "failed";
    }
}

/* Whether the Content-Type is `type` (parameters such as charset allowed). */
static int is_type(const char *ctype, const char *type)
{
    size_t n = strlen(type);
    return ctype && strncmp(ctype, type, n) == 0 &&
           (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

/* The answer to one event sent alone. */
static void single(cf_req *r, const cf_ingest_item *it, int rc)
{
    if (rc != 0 || it->outcome == CF_INGEST_FAILED) {
        r->retry_after = 5;
        cf_reply_problem(r, 503, "kafka-unavailable", it->detail, json_pack("{s:s}", "id", it->id));
    } else if (it->outcome == CF_INGEST_INVALID) {
        cf_reply_problem(r, 422, "invalid-event", it->detail,
                         json_pack("{s:s, s:s}", "field", it->field, "id", it->id));
    } else if (it->outcome == CF_INGEST_FORBIDDEN) {
        cf_reply_problem(r, 403, "event-not-allowed", it->detail, json_pack("{s:s}", "id", it->id));
    } else {
        cf_reply_json(r, it->outcome == CF_INGEST_ACCEPTED ? 202 : 200,
                      json_pack("{s:s, s:s}", "id", it->id, "status", outcome_name(it->outcome)));
    }
}

void cf_h_events(cf_srv *s, cf_req *r)
{
    const char *ctype = cf_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    int ndjson = is_type(ctype, "application/x-ndjson") || is_type(ctype, "application/jsonl");
    json_t *doc = NULL, **events = NULL, *results = NULL;
    cf_ingest_item *items = NULL;
    int *lines = NULL;
    size_t n = 0, cap = 0;
    size_t counts[5] = {0};
    char err[512];
    json_error_t jerr;
    int rc;

    if (!ndjson && !is_type(ctype, "application/json")) {
        cf_reply_problem(r, 415, "unsupported-media-type",
                         "send application/json (an event or an array of events) or "
                         "application/x-ndjson (one event a line)",
                         NULL);
        return;
    }
    if (ndjson) {
        /* Every line is an event; a line that is not JSON is answered as invalid, by number. */
        const char *p = r->body ? r->body : "", *end = p + r->len;
        int line = 0;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            size_t k = 0;
            line++;
            while (k < len && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r'))
                k++;
            if (k < len) {
                if (n == cap) {
                    size_t nc = cap ? cap * 2 : 64;
                    json_t **e = realloc(events, nc * sizeof *e);
                    int *l = e ? realloc(lines, nc * sizeof *l) : NULL;
                    if (e)
                        events = e;
                    if (!e || !l) {
                        cf_reply_problem(r, 500, "out-of-memory", "too many lines", NULL);
                        goto out;
                    }
                    lines = l;
                    cap = nc;
                }
                events[n] = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr);
                if (!events[n])
                    events[n] =
                        json_pack("{s:s, s:i}", "\x01not-json", jerr.text, "column", jerr.column);
                lines[n++] = line;
            }
            p += len + 1;
        }
    } else {
        doc = json_loadb(r->body ? r->body : "", r->len, JSON_REJECT_DUPLICATES, &jerr);
        if (!doc) {
            cf_reply_bad_json(r, &jerr);
            goto out;
        }
        n = json_is_array(doc) ? json_array_size(doc) : 1;
        if (!(events = calloc(n ? n : 1, sizeof *events))) {
            cf_reply_problem(r, 500, "out-of-memory", "too many events", NULL);
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            events[i] = json_incref(json_is_array(doc) ? json_array_get(doc, i) : doc);
    }
    if (n == 0) {
        cf_reply_problem(r, 422, "no-events", "the body holds no event", NULL);
        goto out;
    }
    if (!(items = calloc(n, sizeof *items))) {
        cf_reply_problem(r, 500, "out-of-memory", "too many events", NULL);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        items[i].event = events[i];
    /* The duplicate check needs PostgreSQL, but ingest does not: without it the engine still
     * keeps one copy of each id. */
    rc = cf_ingest(cf_req_db_quiet(s, r, 1000), s->reg, s->sender, s->topic, items, n, err,
                   sizeof err);
    /* Lines that were not JSON at all say so rather than "breaks the schema". */
    for (size_t i = 0; i < n; i++) {
        json_t *why = json_object_get(events[i], "\x01not-json");
        if (why) {
            items[i].outcome = CF_INGEST_INVALID;
            items[i].id[0] = items[i].field[0] = '\0';
            snprintf(items[i].detail, sizeof items[i].detail, "not JSON: %s (column %d)",
                     json_string_value(why),
                     (int)json_integer_value(json_object_get(events[i], "column")));
        }
    }
    if (rc == CF_ENOMEM) {
        cf_reply_problem(r, 500, "out-of-memory", err, NULL);
        goto out;
    }
    if (!ndjson && !json_is_array(doc)) {
        single(r, &items[0], rc);
        goto out;
    }
    results = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *one =
            json_pack("{s:s, s:s}", "id", items[i].id, "status", outcome_name(items[i].outcome));
        counts[items[i].outcome]++;
        if (ndjson)
            json_object_set_new(one, "line", json_integer(lines[i]));
        else
            json_object_set_new(one, "index", json_integer((json_int_t)i));
        if (items[i].outcome != CF_INGEST_ACCEPTED) {
            char detail[sizeof items[i].detail];
            cf_utf8_clean(items[i].detail, detail, sizeof detail);
            json_object_set_new(one, "detail", json_string(detail));
        }
        if (items[i].field[0])
            json_object_set_new(one, "field", json_string(items[i].field));
        json_array_append_new(results, one);
    }
    if (rc != 0)
        r->retry_after = 5;
    /* When Kafka failed nothing counts as sent: the caller sends the whole batch again. */
    cf_reply_json(r, rc != 0 ? 503 : 200,
                  json_pack("{s:I, s:I, s:I, s:I, s:o}", "accepted", (json_int_t)counts[0],
                            "duplicates", (json_int_t)counts[1], "rejected",
                            (json_int_t)(counts[2] + counts[3]), "failed", (json_int_t)counts[4],
                            "results", results));
out:
    for (size_t i = 0; events && i < n; i++)
        json_decref(events[i]);
    free(events);
    free(lines);
    free(items);
    json_decref(doc);
}
