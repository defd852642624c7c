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

json_t *cf_step_action_json(const cf_step_action *a)
{
    json_t *o = NULL;

    switch (a->kind) {
    case CF_SA_TASK:
        o = json_pack("{s:s, s:s, s:s, s:s, s:O, s:O, s:O, s:b}", "kind", "task", "task",
                      a->u.task.task, "activity", a->u.task.activity, "id", a->u.task.id, "post",
                      a->u.task.post, "due", a->u.task.due, "params", a->u.task.params, "worker",
                      a->u.task.worker);
        if (o && a->u.task.title && json_object_set(o, "title", a->u.task.title) != 0)
            goto oom;
        if (o && a->u.task.batch && json_object_set(o, "batch", a->u.task.batch) != 0)
            goto oom;
        return o;
    case CF_SA_TASK_CANCEL:
        return json_pack("{s:s, s:s, s:O}", "kind", "task.cancel", "activity",
                         a->u.task_cancel.activity, "id", a->u.task_cancel.id);
    case CF_SA_TIMER:
        return json_pack("{s:s, s:s, s:O}", "kind", "timer", "name", a->u.timer.name, "at",
                         a->u.timer.at);
    case CF_SA_TIMER_CANCEL:
        return json_pack("{s:s, s:s}", "kind", "timer.cancel", "name", a->u.timer.name);
    case CF_SA_SET:
        return json_pack("{s:s, s:s, s:O}", "kind", "set", "field", a->u.set.field, "value",
                         a->u.set.value);
    case CF_SA_MERGE: return json_pack("{s:s, s:O}", "kind", "merge", "fields", a->u.merge.fields);
    case CF_SA_ASSIGN: return json_pack("{s:s, s:O}", "kind", "assign", "post", a->u.assign.post);
    case CF_SA_NOTIFY:
        return json_pack("{s:s, s:O, s:O}", "kind", "notify", "post", a->u.notify.post, "message",
                         a->u.notify.message);
    case CF_SA_CLOCK:
        o = json_pack("{s:s, s:s, s:s, s:O?}", "kind", "clock", "name", a->u.clock.name, "op",
                      a->u.clock.op, "status", a->u.clock.status);
        if (o && a->u.clock.last_day && json_object_set(o, "last_day", a->u.clock.last_day) != 0)
            goto oom;
        if (o && a->u.clock.ground && json_object_set(o, "ground", a->u.clock.ground) != 0)
            goto oom;
        return o;
    case CF_SA_RECORD:
        return json_pack("{s:s, s:s, s:O, s:O}", "kind", "record", "field", a->u.record.field,
                         "key", a->u.record.key, "value", a->u.record.value);
    }
    return NULL;
oom:
    json_decref(o);
    return NULL;
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
