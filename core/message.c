/* The messages on Kafka and their ids: one constructor and one reader each (core/message.h). */
#include "core/message.h"

#include <stdio.h>
#include <string.h>

/* ---- ids ---- */

const char *cf_msg_task_event_id(const char *task_id, cf_task_outcome outcome, char *out,
                                 size_t outsz)
{
    static const char *const ending[] = {"done", "failed", "returned"};
    snprintf(out, outsz, "%s:%s", task_id, ending[outcome]);
    return out;
}

const char *cf_msg_transition_id(const char *case_no, long long seq, char *out, size_t outsz)
{
    snprintf(out, outsz, "tr:%s:%lld", case_no, seq);
    return out;
}

const char *cf_msg_dlq_id(const char *topic, int partition, long long offset, char *out,
                          size_t outsz)
{
    snprintf(out, outsz, "dlq:%s:%d:%lld", topic, partition, offset);
    return out;
}

const char *cf_msg_timer_event_id(const char *case_no, const char *name, cf_time due, char *out,
                                  size_t outsz)
{
    snprintf(out, outsz, "timer:%s:%s:%lld", case_no, name, (long long)due);
    return out;
}

const char *cf_msg_batch_id(const char *kind, const char *at, const char *group, int index,
                            char *out, size_t outsz)
{
    snprintf(out, outsz, "batch:%s:%s:%s:%d", kind, at, group, index);
    return out;
}

/* ---- reading ---- */

/* The text member `key` of `o` into *out; 0, or CF_EINVAL naming it when `required` and it is
 * missing or no text. */
static int text(const json_t *o, const char *key, int required, const char **out, char *err,
                size_t errsz)
{
    *out = json_string_value(json_object_get(o, key));
    if (!*out && required)
        return cf_errf(err, errsz, CF_EINVAL, "/%s: missing, or not a text", key);
    return 0;
}

/* ---- the event envelope ---- */

json_t *cf_msg_event_new(const cf_envelope *ev, json_t *data)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", ev->id, "type", ev->type, "time",
                          ev->time, "source", ev->source, "data", data ? data : json_object());

    if (o && ev->case_no && json_object_set_new(o, "case", json_string(ev->case_no)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *cf_msg_timer_fired_new(const char *case_no, const char *name, cf_time due, int offset_min)
{
    char id[512], time[CF_TIME_BUFSZ];
    const cf_envelope ev = {
        .id = id, .type = "timer.fired", .case_no = case_no, .time = time, .source = "engine"};

    cf_msg_timer_event_id(case_no, name, due, id, sizeof id);
    cf_time_format(due, offset_min, time, sizeof time);
    return cf_msg_event_new(&ev, json_pack("{s:s, s:s}", "timer", name, "due", time));
}

int cf_msg_event_read(const json_t *ev, cf_envelope *out, char *err, size_t errsz)
{
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = text(ev, "id", 1, &out->id, err, errsz)) ||
        (rc = text(ev, "type", 1, &out->type, err, errsz)) ||
        (rc = text(ev, "case", 0, &out->case_no, err, errsz)) ||
        (rc = text(ev, "time", 1, &out->time, err, errsz)) ||
        (rc = text(ev, "source", 1, &out->source, err, errsz)))
        return rc;
    out->data = json_object_get(ev, "data");
    if (!json_is_object(out->data))
        return cf_errf(err, errsz, CF_EINVAL, "/data: missing, or not an object");
    return 0;
}

/* ---- the task message ---- */

json_t *cf_msg_task_new(const cf_task_msg *t)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:O?, s:s?, s:s?, s:s, s:i, s:O?, s:s?}",
                     "task_id", t->task_id, "case", t->case_no, "kind", t->kind, "activity",
                     t->activity, "title", t->title, "params", t->params, "due", t->due, "post",
                     t->post, "workflow", t->workflow, "version", t->version, "data", t->data, "at",
                     t->at);
}

json_t *cf_msg_batch_new(const cf_batch_msg *b)
{
    char id[1024], group[512]; /* id: room for the whole group, never cut */

    snprintf(group, sizeof group, "%s%s%s", b->court ? b->court : "", b->court ? "/" : "",
             b->group);
    cf_msg_batch_id(b->kind, b->at, group, b->part - 1, id, sizeof id);
    return json_pack("{s:s, s:s, s:s, s:i, s:s, s:[]}", "batch_id", id, "kind", b->kind, "group",
                     b->group, "part", b->part, "at", b->at, "tasks");
}

int cf_msg_batch_add(json_t *batch, const cf_task_msg *t)
{
    json_t *item =
        json_pack("{s:s, s:s, s:s, s:O?, s:s?, s:O?}", "task_id", t->task_id, "case", t->case_no,
                  "activity", t->activity, "params", t->params, "due", t->due, "data", t->data);

    return json_array_append_new(json_object_get(batch, "tasks"), item) == 0 ? 0 : CF_ENOMEM;
}

int cf_msg_task_read(const json_t *o, const char *kind, cf_task_msg *t)
{
    const json_t *params = json_object_get(o, "params"), *data = json_object_get(o, "data");

    memset(t, 0, sizeof *t);
    t->task_id = json_string_value(json_object_get(o, "task_id"));
    t->case_no = json_string_value(json_object_get(o, "case"));
    t->activity = json_string_value(json_object_get(o, "activity"));
    t->kind = json_string_value(json_object_get(o, "kind"));
    if (!t->kind)
        t->kind = kind;
    t->title = json_string_value(json_object_get(o, "title"));
    t->due = json_string_value(json_object_get(o, "due"));
    t->post = json_string_value(json_object_get(o, "post"));
    t->at = json_string_value(json_object_get(o, "at"));
    t->workflow = json_string_value(json_object_get(o, "workflow"));
    t->version = (int)json_integer_value(json_object_get(o, "version"));
    t->params = json_is_object(params) ? params : NULL;
    t->data = json_is_object(data) ? data : NULL;
    return t->task_id && *t->task_id && t->case_no && *t->case_no && t->activity && *t->activity
               ? 0
               : CF_EINVAL;
}

/* ---- the transition record ---- */

/* The names of what each action did, without its values (see cf_transition_rec). */
static json_t *action_names(const json_t *actions)
{
    static const char *const keep[] = {"kind", "task", "activity", "id",    "post",
                                       "due",  "name", "at",       "field", NULL};
    json_t *out = json_array(), *a;
    size_t i;

    json_array_foreach ((json_t *)actions, i, a) {
        json_t *s = json_object();
        for (const char *const *k = keep; *k; k++) {
            json_t *v = json_object_get(a, *k);
            if (v)
                json_object_set(s, *k, v);
        }
        json_array_append_new(out, s);
    }
    return out;
}

json_t *cf_msg_transition_new(const cf_transition_rec *r)
{
    char id[300];

    cf_msg_transition_id(r->case_no, r->seq, id, sizeof id);
    return json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:O, s:s, s:s, s:s, s:o}", "id", id,
                     "case", r->case_no, "seq", (json_int_t)r->seq, "event", r->event, "event_id",
                     r->event_id, "from", r->from, "to", r->to, "path", r->path, "time", r->time,
                     "applied_at", r->applied_at, "hash", r->hash, "actions",
                     action_names(r->actions));
}

int cf_msg_transition_read(const json_t *o, cf_transition_rec *r, char *err, size_t errsz)
{
    int rc;

    memset(r, 0, sizeof *r);
    if ((rc = text(o, "case", 1, &r->case_no, err, errsz)) ||
        (rc = text(o, "event", 1, &r->event, err, errsz)) ||
        (rc = text(o, "event_id", 1, &r->event_id, err, errsz)) ||
        (rc = text(o, "from", 1, &r->from, err, errsz)) ||
        (rc = text(o, "to", 1, &r->to, err, errsz)) ||
        (rc = text(o, "time", 1, &r->time, err, errsz)) ||
        (rc = text(o, "applied_at", 1, &r->applied_at, err, errsz)) ||
        (rc = text(o, "hash", 1, &r->hash, err, errsz)))
        return rc;
    if (!json_is_integer(json_object_get(o, "seq")))
        return cf_errf(err, errsz, CF_EINVAL, "/seq: missing, or not a whole number");
    r->seq = json_integer_value(json_object_get(o, "seq"));
    r->path = json_object_get(o, "path");
    r->actions = json_object_get(o, "actions");
    if (!json_is_array(r->actions))
        return cf_errf(err, errsz, CF_EINVAL, "/actions: missing, or not a list");
    return 0;
}
