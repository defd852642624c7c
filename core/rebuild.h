/*
 * The pure half of `caseflow db rebuild`: the timers and open tasks that a case's state,
 * recomputed from its event log alone (core/replay.h), says the case has, against the rows the
 * database holds for it.  engine/rebuild.c reads the rows and replays the log; nothing here does
 * I/O or reads the clock.
 */
#ifndef CF_REBUILD_H
#define CF_REBUILD_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "core/caltime.h"

/* A row of the timers table.  Pointers are borrowed for the length of a call. */
typedef struct cf_rebuild_timer {
    const char *name;
    cf_time due;
} cf_rebuild_timer;

/* A row of the tasks table whose status is open or claimed (a claim is no event: both are an
 * open activity to the log).  Borrowed like the timers. */
typedef struct cf_rebuild_task {
    const char *task_id;
    const char *activity;
    const char *kind;
    const char *post; /* NULL: none */
    int has_due;
    cf_time due;
    /* Staff may reassign a task (engine/queue.c), which moves its post without an event: then
     * the post before the first move (task_reassignments) is the one the log must give. */
    int moved;
    const char *post_before_moves; /* NULL: none, or not moved */
} cf_rebuild_task;

/*
 * Compares the timers ("timers": {name: time}) and the open activities ("activities": {name:
 * {task_id, kind, status, post, due}}) of `state`, a case state recomputed by replay
 * (core/machine.h), with the case's stored `timers` and open `tasks`, each in any order.
 * Appends one line per difference (cf_rebuild_note) to the NUL-terminated text in `out` of
 * `outsz` bytes, each naming the timer or task, what the database holds and what the log gives,
 * with times at `utc_offset_min`.
 *
 * A timer of the state that has no row and is due at or before `now` (the engine's clock) has
 * fired, and its timer.fired event is on its way through Kafka: it is counted in `*in_flight`,
 * not as a difference.
 *
 * Returns the number of differences (0: the database agrees with the log).
 */
size_t cf_rebuild_compare(const json_t *state, const cf_rebuild_timer *timers, size_t ntimers,
                          const cf_rebuild_task *tasks, size_t ntasks, cf_time now,
                          int utc_offset_min, size_t *in_flight, char *out, size_t outsz);

/*
 * Appends one line (the formatted text and "\n") to the NUL-terminated text in `out` of
 * `outsz` bytes, cutting the text when it does not fit; the report of a case is made of these.
 */
void cf_rebuild_note(char *out, size_t outsz, const char *fmt, ...) CF_PRINTF(3, 4);

#endif
