/*
 * Statutory clocks (法定期限) as the case's state keeps them: the arithmetic of a clock's last
 * day, and the account of each clock that `caseflow case show`, replay and the report print.
 * Pure: the machine (machine.c) changes clocks, this module only reads them.
 *
 * A clock in a case's state ("clocks": {name: clock}) is an object:
 *   { "status": "running" | "paused" | "stopped",
 *     "started": ISO instant it counts from,
 *     "months": n, "days": n,            the length, extensions included
 *     "paused_days": n,                  calendar days of the pauses that have ended
 *     "pauses": [ { "from": "YYYY-MM-DD", "to": "YYYY-MM-DD" | null, "days": n | null,
 *                   "grounds": [ ... ], "by": source } ],
 *     "extensions": [ { "on": "YYYY-MM-DD", "months": n, "days": n, "ground": ..., "by": source }
 * ], "last_day": ISO instant,           the current last day, at the clock's time of day
 *     "stopped_on": "YYYY-MM-DD" }       once stopped
 *
 * The last day is the start's date plus the months (the same day of the month, or the month's
 * last day), plus the days, plus the paused days, moved to the next working day unless the
 * clock is exact.  A pause from day P to day R adds R - P days: the day it began counts as
 * paused, the day it ended does not.
 */
#ifndef CF_CLOCK_H
#define CF_CLOCK_H

#include <jansson.h>
#include <stdio.h>

#include "base/err.h"
#include "core/caltime.h"
#include "core/workflow.h"

/*
 * Computes the last day of clock `ck` (the state's object) declared as `c`: its date in *day
 * and its instant (at the clock's time of day) in *at.  A pause still open does not count (the
 * day is the one the clock would reach if it resumed today).  Returns 0, or CF_EINVAL when the
 * object lacks a valid start or length.
 */
int cf_clock_last_day(const cf_clock *c, const cf_calendar *cal, const json_t *ck, cf_date *day,
                      cf_time *at) CF_MUST_CHECK;

/*
 * Describes every clock of `state` (a case's state under `wf`) as of `now`, one object per
 * clock in the order the workflow declares them (in the state's order, without titles, when
 * `wf` is NULL: a reader that has not loaded the workflow):
 *   { "clock", "title", "status", "started", "last_day", "days_used", "days_left",
 *     "paused_days", "pauses", "extensions" }
 * days_used counts calendar days since the start (its day not counted) less the paused ones;
 * days_left runs to the last day (negative: overdue); a paused clock's days_left stays what it
 * was when it paused.  Returns a new array (empty when the case has no clock), or NULL when out
 * of memory.
 */
json_t *cf_clock_describe(const cf_workflow *wf, const json_t *state, cf_time now);

/* Writes the description of cf_clock_describe as text lines to `out`, each starting with
 * `indent`: "执行期限 handling: running, 40 days used, 143 left (last day 2026-09-02); paused
 * 2026-04-01 - 2026-04-13 (12 days): 中止执行". */
void cf_clock_print(FILE *out, const json_t *described, const char *indent);

#endif
