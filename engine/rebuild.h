/*
 * `caseflow db rebuild`: every case's state, timers and open tasks recomputed from its event
 * log alone, with the pure transition function (core/replay.h, core/rebuild.h), and compared
 * with what the database stores.  It reads, in one snapshot, and never writes: a difference is
 * reported for a person to look into, since the log is the truth and the stored state the
 * engine's cache of it.
 */
#ifndef CF_ENGINE_REBUILD_H
#define CF_ENGINE_REBUILD_H

#include <libpq-fe.h>
#include <stddef.h>

#include "base/err.h"
#include "engine/registry.h"

/* One case's verdict, borrowed for the length of the callback. */
typedef struct cf_rebuild_case {
    const char *case_no;
    size_t events;      /* events in its log */
    int checked;        /* 0: its workflow version is not loaded, so nothing was recomputed */
    size_t differences; /* 0: the database agrees with the log */
    size_t in_flight;   /* timers that fired whose timer.fired is not applied yet */
    const char *report; /* one line per difference ("" when none), each ending in "\n" */
} cf_rebuild_case;

typedef struct cf_rebuild_totals {
    size_t cases, events;
    size_t differ;    /* cases with a difference */
    size_t unchecked; /* cases whose workflow version is not loaded */
    size_t in_flight; /* timers fired whose events are on their way */
} cf_rebuild_totals;

/* Called for every case, in case number order; a non-zero return stops the run (and is
 * returned). */
typedef int (*cf_rebuild_fn)(const cf_rebuild_case *c, void *arg);

/*
 * Recomputes every case (only `only` when it is not NULL) from its log with the workflow
 * version it was filed under (from `reg`) and compares the result with the stored case, its
 * timers and its open tasks, all read in one REPEATABLE READ READ ONLY transaction, so that an
 * engine at work does not make a case look different.  Checked: the hash chain, every event's
 * stored states and actions, the final state, the case row's state and seq, the timers and the
 * open tasks (core/rebuild.h).  Fills `tot`.
 * Returns 0 when every case agrees, CF_ESTATE when one differs or could not be checked,
 * CF_ENOTFOUND when `only` names no case, CF_EDB or CF_ENOMEM (with `err`), or what `each`
 * returned to stop.
 */
int cf_rebuild_check(PGconn *db, const cf_registry *reg, const char *only, cf_rebuild_fn each,
                     void *arg, cf_rebuild_totals *tot, char *err, size_t errsz) CF_MUST_CHECK;

#endif
