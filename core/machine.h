/*
 * The transition function: (workflow, case state, event, now) -> (new state,
 * actions).  It is pure: no I/O, no wall clock, no globals, so that the engine,
 * `caseflow simulate` and audit replay all compute the same result from the
 * same inputs.
 *
 * A case's state is a JSON object:
 *   { "workflow": name, "version": n, "case": case number, "state": state name,
 *     "seq": events applied, "data": { case fields },
 *     "activities": { name: { "task_id", "kind", "status": open|done|failed|returned|cancelled,
 *                             "post", "due", "created_at", "result"?, "error"? } },
 *     "timers": { name: ISO time }, "updated_at": ISO time }
 *
 * Actions are typed (cf_step_action below), one per kind of docs/workflow-language.md:
 * "task" | "task.cancel" | "timer" | "timer.cancel" | "set" | "merge" | "assign" | "notify" |
 * "clock" | "record".  cf_step_action_json renders one as the JSON object the event log stores
 * (events.actions) and the feed carries: that text is hashed and compared by audit replay, so
 * its members and their order must not change.
 */
#ifndef CF_MACHINE_H
#define CF_MACHINE_H

#include <jansson.h>

#include "core/caltime.h"
#include "core/workflow.h"

typedef enum cf_step_action_kind {
    CF_SA_TASK,
    CF_SA_TASK_CANCEL,
    CF_SA_TIMER,
    CF_SA_TIMER_CANCEL,
    CF_SA_SET,
    CF_SA_MERGE,
    CF_SA_ASSIGN,
    CF_SA_NOTIFY,
    CF_SA_CLOCK,
    CF_SA_RECORD
} cf_step_action_kind;

/* One thing the engine must do after an event.  The texts and JSON values are the action's own
 * (released by cf_step_clear); a JSON value may be shared with the step's state. */
typedef struct cf_step_action {
    cf_step_action_kind kind;
    union {
        struct { /* a task opened on activity `activity` */
            char *task, *activity, *id;
            json_t *post, *due; /* a text or null */
            json_t *params;     /* an object */
            json_t *title;      /* a text, or NULL when the task has none */
            json_t *batch;      /* the batch group (a text or null), or NULL when not batched */
            int worker;         /* a worker takes it, not staff */
        } task;
        struct {
            char *activity;
            json_t *id; /* the cancelled task's id */
        } task_cancel;
        struct {
            char *name;
            json_t *at; /* the time (a text); NULL for timer.cancel */
        } timer;        /* CF_SA_TIMER and CF_SA_TIMER_CANCEL */
        struct {
            char *field;
            json_t *value;
        } set;
        struct {
            json_t *fields; /* an object */
        } merge;
        struct {
            json_t *post;
        } assign;
        struct {
            json_t *post; /* a text or null */
            json_t *message;
        } notify;
        struct {
            char *name, *op;
            json_t *status;   /* or NULL */
            json_t *last_day; /* or NULL */
            json_t *ground;   /* or NULL */
        } clock;
        struct {
            char *field;
            json_t *key, *value;
        } record;
    } u;
} cf_step_action;

/* Releases what action `a` holds (its texts and JSON references). */
void cf_step_action_clear(cf_step_action *a);

/* The action as the event log stores it: a JSON object whose "kind" names it (new reference;
 * NULL when out of memory). */
json_t *cf_step_action_json(const cf_step_action *a);

/* The actions of `n` as a JSON array, in order (new reference; NULL when out of memory). */
json_t *cf_step_actions_json(const cf_step_action *acts, size_t n);

typedef struct cf_step {
    json_t *state;        /* the case's state after the event (new reference) */
    cf_step_action *acts; /* what the engine must now do, in order (owned) */
    size_t nacts;
    json_t *actions;  /* the same actions as JSON, as the event log stores them (new reference) */
    json_t *path;     /* the states passed through, first the one before the event */
    json_t *warnings; /* texts worth telling a person, e.g. a date computed past the calendar's
                         data with the Monday-Friday fallback (new reference, maybe empty) */
    char from[64];    /* the state before the event ("" when the event created the case) */
    char to[64];      /* the state after it */
} cf_step;

/*
 * Applies `event` (a validated envelope: id, type, case, time, source, data) to
 * the case `state` (NULL when the case does not exist yet) at time `now`.
 * Neither input is changed.  On success returns 0 and fills `out`, which the
 * caller releases with cf_step_clear.  Errors leave `out` empty:
 *   CF_ENOTFOUND  the case does not exist and the event does not create one,
 *                 or a task.* event names a task the case does not have;
 *   CF_EDUP       the case exists already, or the task is no longer open;
 *   CF_ESTATE     the event is not expected in the case's state, the timer is not set, or
 *                 it is stale: timer.fired's data.due is not the time the case's timer of
 *                 that name is set for now (it was restarted after this firing was made), so
 *                 the old firing must not be consumed ("stale" is in the message);
 *   CF_EINVAL     the workflow cannot be evaluated on this input (message says where).
 */
int cf_machine_apply(const cf_workflow *wf, const json_t *state, const json_t *event, cf_time now,
                     cf_step *out, char *err, size_t errsz) CF_MUST_CHECK;

/* Releases what a step holds; safe on a zeroed or cleared step. */
void cf_step_clear(cf_step *step);

#endif
