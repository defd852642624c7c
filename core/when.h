/*
 * Time expressions and schedules written in workflow YAML ("15 days after case.filed_at",
 * "every Mon, Wed, Fri at 09:00"), parsed once when a workflow is loaded and evaluated
 * against a calendar of working days (core/caltime.h).  Pure computation: no clock, no I/O;
 * "now" is whatever instant the caller's resolver gives.
 *
 * TIME EXPRESSIONS
 *
 * Keywords are English and case-insensitive; a reference's field is kept as written.
 *
 *   expression  := alternative { "or" alternative } [ [","] "whichever is earlier|earliest" ]
 *   alternative := base { "at" HH:MM | "exact" }          (each suffix at most once)
 *   base        := REF
 *                | COUNT unit ("after" | "before") REF
 *                | "day" D "of the month" ("after" | "of") REF
 *                | "the" Dth "of the month" ("after" | "of") REF      (the 25th of ...)
 *                | "the first working day of the month" ("after" | "of") REF
 *   unit        := "day[s]" | "working day[s]" | "week[s]" | "month[s]" | "hour[s]"
 *   REF         := "now" | "case." FIELD | "event." FIELD             (event.time, case.closed_at)
 *                | "clock." NAME              (the current last day of a statutory clock)
 *   FIELD       := NAME { "." NAME },  NAME := [A-Za-z_][A-Za-z0-9_]*
 *   COUNT       := N | "settings." NAME       (a whole number the workflow's settings give)
 *   N           := 0 ... 100000 (decimal digits);  D := 1 ... 31;  Dth := 1st ... 31st
 *   HH:MM       := 00:00 ... 23:59 (H:MM also accepted)
 *
 * Meaning (民诉法 期间 rules; dates are local dates of the calendar's zone):
 *  - The starting day is not counted: "15 days after" a filing on 2026-01-01 is 2026-01-16.
 *    "N weeks" is 7N days.  "N months" ends on the same day of the month, or on the month's
 *    last day when that day does not exist (1 month after 2026-01-31 is 2026-02-28).
 *  - "N working days after REF" counts working days of the calendar from REF's date.
 *  - "day D of the month after REF" is day D of the month following REF's month ("of" REF:
 *    REF's own month, even when that day is before REF); day 31 of a shorter month is its last
 *    day.  "the first working day of the month after REF" is that month's first working day.
 *  - Rolling: a resulting date that is not a working day moves FORWARD to the next working day.
 *    This holds for legal deadlines and staff reminders alike, and also after "before":
 *    "3 days before" a Wednesday is the Sunday, which rolls to Monday.  The suffix "exact"
 *    turns rolling off.  A 调休 make-up Saturday is a working day and does not roll.
 *  - Time of day: the result is at 09:00 local time, or at the time that "at HH:MM" names.
 *    (A legal deadline that runs to the end of its last day can say "at 23:59".)
 *  - "N hours after REF" is plain arithmetic on the instant: no calendar, no rolling, and
 *    "at" is refused ("exact" is allowed and changes nothing).
 *  - REF alone is the instant itself, unrolled.  "REF at HH:MM" is REF's date at that time,
 *    rolled unless "exact"; "0 days after REF" is REF's date at 09:00, rolled.
 *  - "A or B": each alternative is computed on its own (rolling included), and the earliest
 *    instant wins; ", whichever is earlier" may be added to say so.  Suffixes belong to the
 *    alternative they follow: in "A or B at 17:00" only B is at 17:00.
 *  - Outside the calendar's known years, working days are Monday to Friday
 *    (cf_calendar_knows tells whether a result date is backed by data).
 *
 *  - "clock.NAME" is the current last day of the case's clock NAME (core/machine.h): the day
 *    and time its deadline falls on now, with the pauses and extensions it has had.
 *
 * Examples: "15 days after case.filed_at", "3 working days after event.time at 17:00",
 *   "6 months after case.filed_at exact", "48 hours after event.time",
 *   "1 month after case.closed_at or day 25 of the month after case.closed_at".
 *
 * SCHEDULES
 *
 *   schedule := "every" period [suffixes]
 *             | "the" Dth { ("," | "and") Dth } "of every month" [suffixes]
 *   period   := "day" | "working day" | WEEKDAYS | "week on" WEEKDAYS
 *             | "month on" ("day" | "days") D { ("," | "and") D }
 *   WEEKDAYS := WEEKDAY { ("," | "and") WEEKDAY }   (Mon, Monday, Tue, Tues, Tuesday, Wed, ...)
 *   suffixes := { "at" HH:MM | "exact" }           (default time 09:00)
 *
 * Examples: "every Mon, Wed, Fri at 09:00", "every day at 08:00", "every working day at 09:00",
 *   "every month on day 1 at 08:30", "the 1st of every month at 08:30",
 *   "every week on Mon at 09:00".
 *
 * A nominal occurrence on a non-working day moves to the next working day at the same time of
 * day, and occurrences that then fall on the same day are ONE occurrence: "every Mon, Wed, Fri"
 * over the 2026 Spring Festival (Feb 15-23 off) gives Fri Feb 13 and then a single Tue Feb 24.
 * So "every day" and "every working day" agree unless "exact" is given, which keeps every
 * nominal occurrence where it is.  Day 29-31 of a shorter month is the month's last day.
 */
#ifndef CF_WHEN_H
#define CF_WHEN_H

#include <stddef.h>

#include "base/err.h"
#include "core/caltime.h"

typedef struct cf_when cf_when;

/* Resolves a reference named in an expression ("case.filed_at", "event.time", "now",
 * "case.closed_at") to an instant; returns 0, or CF_ENOTFOUND when the case has no such date
 * yet (any other negative code is passed through as well). */
typedef int (*cf_when_resolver)(void *ctx, const char *ref, cf_time *out);

/*
 * Parses a time expression (grammar above).  Returns the expression, owned by the caller
 * (cf_when_free), or NULL with a message (without position) in err and the 1-based column of
 * the problem in *errcol; columns count characters (UTF-8 code points), as libyaml's marks do,
 * so a caller adds it to the column of the YAML scalar.  err and errcol may be NULL/0.
 */
cf_when *cf_when_parse(const char *text, char *err, size_t errsz, int *errcol);

/*
 * Computes the instant an expression names, with the working days and offset of `cal` (NULL:
 * Monday-Friday at UTC+08:00), asking `resolve` for each reference.  Returns 0 with *out set;
 * the resolver's error (CF_ENOTFOUND when the case has no such date yet) when any reference of
 * any alternative cannot be resolved, since the earliest of them is then unknown; CF_EINVAL for
 * NULL arguments.
 */
int cf_when_eval(const cf_when *w, const cf_calendar *cal, cf_when_resolver resolve, void *ctx,
                 cf_time *out) CF_MUST_CHECK;

/* The distinct references an expression names, in order of first use, so that
 * `caseflow check` can verify them.  The strings are owned by the expression; a root is
 * written in lower case ("case.filed_at", "event.time", "now"). */
size_t cf_when_ref_count(const cf_when *w);
const char *cf_when_ref(const cf_when *w, size_t i);

/* The settings that counts name ("5 days" written "settings.extension_lead_days days"), in order
 * of first use, without the "settings." prefix; owned by the expression.  Each must be given its
 * value with cf_when_bind_count (the loader does so from the workflow's settings) before the
 * expression can be evaluated: cf_when_eval refuses an expression with a count unbound. */
size_t cf_when_count_count(const cf_when *w);
const char *cf_when_count_name(const cf_when *w, size_t i);

/* Gives count i its value, 0 ... 100000.  Returns 0, or CF_ERANGE for a value out of bounds or
 * an index out of range. */
int cf_when_bind_count(cf_when *w, size_t i, long value) CF_MUST_CHECK;

/* Frees an expression; NULL is allowed. */
void cf_when_free(cf_when *w);

typedef struct cf_schedule cf_schedule;

/* Parses a schedule (grammar above).  Returns it, owned by the caller (cf_schedule_free), or
 * NULL with a message in err and the 1-based column (in characters) in *errcol. */
cf_schedule *cf_schedule_parse(const char *text, char *err, size_t errsz, int *errcol);

/*
 * Returns the first occurrence strictly after `after`, with the working days and offset of
 * `cal` (NULL: Monday-Friday at UTC+08:00).  Takes time proportional to the days between the
 * two, never minute by minute.  `s` must be a parsed schedule.
 */
cf_time cf_schedule_next(const cf_schedule *s, const cf_calendar *cal, cf_time after);

/* Frees a schedule; NULL is allowed. */
void cf_schedule_free(cf_schedule *s);

#endif
