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
 * Actions are JSON objects with "kind" = "task" | "task.cancel" | "timer" |
 * "timer.cancel" | "set" | "merge" | "assign" | "notify", described in docs/workflow-language.md.
 */
#ifndef CF_MACHINE_H
#define CF_MACHINE_H

#include <jansson.h>

#include "core/caltime.h"
#include "core/workflow.h"

typedef struct cf_step {
    json_t *state;    /* the case's state after the event (new reference) */
    json_t *actions;  /* what the engine must now do, in order (new reference) */
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
