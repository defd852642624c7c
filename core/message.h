/*
 * The home of every message caseflow puts on Kafka: the event envelope (caseflow.events; the
 * engine's own timer.fired too), the task message (caseflow.tasks.<kind>, engine to worker: one
 * task, or a batch of like tasks) and the public transition record (caseflow.transitions).  Each
 * has one constructor and one reader here, and one JSON Schema: schemas/events/envelope.json,
 * schemas/messages/task.json, schemas/messages/transition.json. The ids of messages, by which
 * consumers drop a second copy, are made here too, so that a rule such as "<task>:done" is written
 * once.
 *
 * Ownership: constructors return a new reference (json_decref) or NULL when memory runs out;
 * readers fill a struct of pointers borrowed from the JSON value they read, valid as long as it.
 */
#ifndef CF_MESSAGE_H
#define CF_MESSAGE_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "core/caltime.h"

/* ---- ids ---- */

/* How a task ended, as the id of the event that says so ends. */
typedef enum cf_task_outcome {
    CF_TASK_DONE,     /* task.completed: "<task>:done" */
    CF_TASK_FAILED,   /* task.failed: "<task>:failed" */
    CF_TASK_RETURNED, /* task.returned: "<task>:returned" */
} cf_task_outcome;

/*
 * Writes the id of the event that ends task `task_id` with `outcome` into `out` and returns
 * `out`.  One task ends once: a worker that does it twice, or a clerk who clicks twice, sends the
 * same id, and the engine drops the second.
 */
const char *cf_msg_task_event_id(const char *task_id, cf_task_outcome outcome, char *out,
                                 size_t outsz);

/* Writes "tr:<case>:<seq>", the id of the transition record of a case's event `seq`. */
const char *cf_msg_transition_id(const char *case_no, long long seq, char *out, size_t outsz);

/* Writes "dlq:<topic>:<partition>:<offset>", the id of the dead letter of a rejected message. */
const char *cf_msg_dlq_id(const char *topic, int partition, long long offset, char *out,
                          size_t outsz);

/* Writes "timer:<case>:<name>:<due>", the id of the timer.fired event of timer `name` of case
 * `case_no` due at `due` (ms since the epoch): a timer set again for another time fires again,
 * one firing sent twice is dropped. */
const char *cf_msg_timer_event_id(const char *case_no, const char *name, cf_time due, char *out,
                                  size_t outsz);

/* Writes "batch:<kind>:<at>:<group>:<index>", the id of a batch message: the tasks of `kind`
 * gathered in `group` up to the occurrence `at` of the kind's schedule, its part `index` counted
 * from 0 (the message's `part` counts from 1). */
const char *cf_msg_batch_id(const char *kind, const char *at, const char *group, int index,
                            char *out, size_t outsz);

/* ---- the event envelope ---- */

/* An event's envelope: every member borrowed; `case_no` is NULL for control events (clock.*). */
typedef struct cf_envelope {
    const char *id, *type, *case_no, *time, *source;
    const json_t *data;
} cf_envelope;

/* Returns the event {id, type, case, time, source, data}; `data` is stolen (NULL: {}); a NULL
 * `case_no` leaves `case` out. */
json_t *cf_msg_event_new(const cf_envelope *ev, json_t *data);

/* Returns the event timer.fired of timer `name` of case `case_no`, due at `due` (ms since the
 * epoch): its id made by cf_msg_timer_event_id, its time and data.due the due time written
 * `offset_min` minutes east of UTC, its source "engine". */
json_t *cf_msg_timer_fired_new(const char *case_no, const char *name, cf_time due, int offset_min);

/* Reads the envelope of `ev`.  Returns 0, or CF_EINVAL naming the member that is missing or no
 * text (the schema says the rest). */
int cf_msg_event_read(const json_t *ev, cf_envelope *out, char *err, size_t errsz) CF_MUST_CHECK;

/* ---- the task message ---- */

/*
 * One task for a worker.  `params` are the task's, `data` the case's data (parties, amounts...):
 * personal, never logged unmasked.  title, due and post may be NULL (null in the message).
 */
typedef struct cf_task_msg {
    const char *task_id, *case_no, *kind, *activity, *title, *due, *post, *workflow;
    const char *at; /* the engine's time when it made the task (its clock, simulated or real) */
    int version;
    const json_t *params, *data;
} cf_task_msg;

/* Returns the message of one task. */
json_t *cf_msg_task_new(const cf_task_msg *t);

/* A batch of like tasks, dispatched on the kind's schedule (集约): one part of a group. */
typedef struct cf_batch_msg {
    const char *kind, *group;
    const char *at;    /* the occurrence of the schedule that dispatched it */
    int part;          /* from 1: a large group travels in several messages */
    const char *court; /* a court other than the home court whose batch it is (#16), else NULL */
} cf_batch_msg;

/* Returns the batch message {batch_id, kind, group, part, at, tasks: []}, its id made by
 * cf_msg_batch_id, with "<court>/<group>" for the group when the batch is of b->court, so that two
 * courts' trips to offices of the same name at the same time are two batches; cf_msg_batch_add
 * fills `tasks`. */
json_t *cf_msg_batch_new(const cf_batch_msg *b);

/* Appends task `t` to the `tasks` of `batch` as {task_id, case, activity, params, due, data}: its
 * kind is the batch's, and it has no title, post or workflow.  Returns 0, or CF_ENOMEM. */
int cf_msg_batch_add(json_t *batch, const cf_task_msg *t) CF_MUST_CHECK;

/*
 * Reads one task of a message: the message itself, or an item of a batch's `tasks`; `kind` is
 * taken when the task names none (the batch names it once).  params and data are NULL when the
 * message holds no object for them.  Returns 0, or CF_EINVAL when task_id, case or activity is
 * missing or empty.
 */
int cf_msg_task_read(const json_t *o, const char *kind, cf_task_msg *t) CF_MUST_CHECK;

/* ---- the transition record ---- */

/*
 * What an event did to a case, for the public feed.  `actions` are the step's actions, of
 * which the record keeps only the names (kind, task, activity, id, post, due, name, at, field):
 * a value set on a case or a task's params may hold parties' personal data, and the feed is read
 * far and wide.
 */
typedef struct cf_transition_rec {
    const char *case_no;
    long long seq;
    const char *event, *event_id, *from, *to, *time, *applied_at, *hash;
    const json_t *path, *actions;
} cf_transition_rec;

/* Returns the record, its id made by cf_msg_transition_id. */
json_t *cf_msg_transition_new(const cf_transition_rec *r);

/* Reads a record.  Returns 0, or CF_EINVAL naming the member that is missing. */
int cf_msg_transition_read(const json_t *o, cf_transition_rec *r, char *err,
                           size_t errsz) CF_MUST_CHECK;

#endif
