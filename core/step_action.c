/*
 * The transition function's actions as values: releasing one, and rendering it as the JSON the
 * event log stores (core/machine.h).  Kept apart from the transition function, which builds them.
 */
#include <stdlib.h>
#include <string.h>

#include "machine.h"

void cf_step_action_clear(cf_step_action *a)
{
    switch (a->kind) {
    case CF_SA_TASK:
        free(a->u.task.task);
        free(a->u.task.activity);
        free(a->u.task.id);
        json_decref(a->u.task.post);
        json_decref(a->u.task.due);
        json_decref(a->u.task.params);
        json_decref(a->u.task.title);
        json_decref(a->u.task.batch);
        break;
    case CF_SA_TASK_CANCEL:
        free(a->u.task_cancel.activity);
        json_decref(a->u.task_cancel.id);
        break;
    case CF_SA_TIMER:
    case CF_SA_TIMER_CANCEL:
        free(a->u.timer.name);
        json_decref(a->u.timer.at);
        break;
    case CF_SA_SET:
        free(a->u.set.field);
        json_decref(a->u.set.value);
        break;
    case CF_SA_MERGE: json_decref(a->u.merge.fields); break;
    case CF_SA_ASSIGN: json_decref(a->u.assign.post); break;
    case CF_SA_NOTIFY:
        json_decref(a->u.notify.post);
        json_decref(a->u.notify.message);
        break;
    case CF_SA_CLOCK:
        free(a->u.clock.name);
        free(a->u.clock.op);
        json_decref(a->u.clock.status);
        json_decref(a->u.clock.last_day);
        json_decref(a->u.clock.ground);
        break;
    case CF_SA_RECORD:
        free(a->u.record.field);
        json_decref(a->u.record.key);
        json_decref(a->u.record.value);
        break;
    }
    memset(a, 0, sizeof *a);
}

/* Adds member `key` (a name of this file) holding `v`, whose reference it takes; 0, or -1 when
 * `v` is NULL (memory ran out, or a value the action must have is missing). */
static int put(json_t *o, const char *key, json_t *v)
{
    return json_object_set_new_nocheck(o, key, v);
}

/* A text the action holds, as JSON (NULL when it is missing or not UTF-8, as json_pack refuses
 * it). */
static json_t *text(const char *s)
{
    return s ? json_string(s) : NULL;
}

/* The object of action `a`, member by member in the order the log has always stored them (as
 * json_pack("{s:s, ...}") built them: with a third of the transition function's time spent
 * parsing its formats, they are now built directly). */
static int fill(json_t *o, const cf_step_action *a)
{
    switch (a->kind) {
    case CF_SA_TASK:
        return put(o, "kind", json_string_nocheck("task")) ||
               put(o, "task", text(a->u.task.task)) ||
               put(o, "activity", text(a->u.task.activity)) || put(o, "id", text(a->u.task.id)) ||
               put(o, "post", json_incref(a->u.task.post)) ||
               put(o, "due", json_incref(a->u.task.due)) ||
               put(o, "params", json_incref(a->u.task.params)) ||
               put(o, "worker", json_boolean(a->u.task.worker)) ||
               (a->u.task.title && put(o, "title", json_incref(a->u.task.title))) ||
               (a->u.task.batch && put(o, "batch", json_incref(a->u.task.batch)));
    case CF_SA_TASK_CANCEL:
        return put(o, "kind", json_string_nocheck("task.cancel")) ||
               put(o, "activity", text(a->u.task_cancel.activity)) ||
               put(o, "id", json_incref(a->u.task_cancel.id));
    case CF_SA_TIMER:
        return put(o, "kind", json_string_nocheck("timer")) ||
               put(o, "name", text(a->u.timer.name)) || put(o, "at", json_incref(a->u.timer.at));
    case CF_SA_TIMER_CANCEL:
        return put(o, "kind", json_string_nocheck("timer.cancel")) ||
               put(o, "name", text(a->u.timer.name));
    case CF_SA_SET:
        return put(o, "kind", json_string_nocheck("set")) ||
               put(o, "field", text(a->u.set.field)) ||
               put(o, "value", json_incref(a->u.set.value));
    case CF_SA_MERGE:
        return put(o, "kind", json_string_nocheck("merge")) ||
               put(o, "fields", json_incref(a->u.merge.fields));
    case CF_SA_ASSIGN:
        return put(o, "kind", json_string_nocheck("assign")) ||
               put(o, "post", json_incref(a->u.assign.post));
    case CF_SA_NOTIFY:
        return put(o, "kind", json_string_nocheck("notify")) ||
               put(o, "post", json_incref(a->u.notify.post)) ||
               put(o, "message", json_incref(a->u.notify.message));
    case CF_SA_CLOCK:
        return put(o, "kind", json_string_nocheck("clock")) ||
               put(o, "name", text(a->u.clock.name)) || put(o, "op", text(a->u.clock.op)) ||
               put(o, "status", a->u.clock.status ? json_incref(a->u.clock.status) : json_null()) ||
               (a->u.clock.last_day && put(o, "last_day", json_incref(a->u.clock.last_day))) ||
               (a->u.clock.ground && put(o, "ground", json_incref(a->u.clock.ground)));
    case CF_SA_RECORD:
        return put(o, "kind", json_string_nocheck("record")) ||
               put(o, "field", text(a->u.record.field)) ||
               put(o, "key", json_incref(a->u.record.key)) ||
               put(o, "value", json_incref(a->u.record.value));
    }
    return -1;
}

json_t *cf_step_action_json(const cf_step_action *a)
{
    json_t *o = json_object();

    if (o && fill(o, a) != 0) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

json_t *cf_step_actions_json(const cf_step_action *acts, size_t n)
{
    json_t *all = json_array();

    for (size_t i = 0; all && i < n; i++) {
        if (json_array_append_new(all, cf_step_action_json(&acts[i])) != 0) {
            json_decref(all);
            all = NULL;
        }
    }
    return all;
}
