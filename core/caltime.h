/*
 * Legal time for the workflow core: civil dates, instants, and calendars of
 * working days (statutory holidays and 调休 make-up working days, loaded from
 * data such as workflows/calendars/cn.yaml).
 *
 * Everything here is pure computation on values; nothing reads the clock.  The
 * only I/O is cf_calendar_load, which reads the calendar file.
 *
 * Dates and instants:
 *  - cf_time is an instant, milliseconds since 1970-01-01T00:00:00Z.
 *  - cf_date is a civil date in the court's local calendar, days since
 *    1970-01-01 (negative before it), proleptic Gregorian.  "Day 15" is a
 *    date, never 15 x 24 hours.
 *  - Offsets are minutes east of UTC (480 for Asia/Shanghai).  China has no
 *    daylight saving time, so a calendar carries one fixed offset.
 *
 * A NULL calendar is accepted wherever a `const cf_calendar *` is taken: it
 * means "no holiday data": Monday to Friday are working days, at
 * CF_CALTIME_DEFAULT_UTC_OFFSET.
 */
#ifndef CF_CALTIME_H
#define CF_CALTIME_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef int64_t cf_time; /* milliseconds since 1970-01-01T00:00:00Z */
typedef int32_t cf_date; /* days since 1970-01-01, a civil date in the court's local calendar */

/* The court's offset (Asia/Shanghai, UTC+08:00) used where no calendar says otherwise: a bare
 * date given to cf_time_parse, and a NULL calendar. */
#define CF_CALTIME_DEFAULT_UTC_OFFSET 480

#define CF_MS_PER_MINUTE ((cf_time)60 * 1000)
#define CF_MS_PER_HOUR   ((cf_time)60 * CF_MS_PER_MINUTE)
#define CF_MS_PER_DAY    ((cf_time)24 * CF_MS_PER_HOUR)

/* Buffer sizes that always hold a formatted value (with room to spare). */
#define CF_DATE_BUFSZ 16
#define CF_TIME_BUFSZ 40

/* ---- Civil dates ---------------------------------------------------------------------------- */

/* Returns the date of year y, month m (1-12), day d (1-31).  The caller passes a valid date; an
 * out-of-range day is not checked (use cf_date_parse for outside input). */
cf_date cf_date_from_ymd(int y, int m, int d);

/* Splits a date into year, month (1-12) and day (1-31).  Any pointer may be NULL. */
void cf_date_to_ymd(cf_date d, int *y, int *m, int *day);

/* Returns the ISO weekday: 1 = Monday ... 7 = Sunday. */
int cf_date_weekday(cf_date d);

/* Returns the number of days of month m (1-12) of year y: 28-31. */
int cf_date_days_in_month(int y, int m);

/* Returns 1 when y is a Gregorian leap year, else 0. */
int cf_date_is_leap_year(int y);

/* Returns the date `months` months after d (before it when negative): the same day of the
 * month, or the last day of the target month when that day does not exist there
 * (2026-01-31 + 1 month = 2026-02-28; 2024-01-31 + 1 month = 2024-02-29). */
cf_date cf_date_add_months(cf_date d, int months);

/*
 * Parses exactly "YYYY-MM-DD" (four-digit year 0001-9999: PostgreSQL has no year 0) into `*out`.
 * Returns 0, or CF_EPARSE for any other text, including a month or day that
 * does not exist ("2026-02-29", "2026-04-31").  `*out` is untouched on error.
 */
int cf_date_parse(const char *s, cf_date *out) CF_MUST_CHECK;

/* Writes "YYYY-MM-DD" into buf of n bytes (CF_DATE_BUFSZ is always enough), NUL-terminated and
 * truncated when n is too small. */
void cf_date_format(cf_date d, char *buf, size_t n);

/* ---- Instants ------------------------------------------------------------------------------- */

/*
 * Parses an ISO 8601 / RFC 3339 instant into `*out`:
 *   "2026-03-01T09:00:00+08:00", "2026-03-01T01:00:00Z", "2026-03-01T09:00+08:00",
 *   "2026-03-01T09:00:00.250+08:00" (any number of fraction digits, truncated to the
 *   millisecond), and a bare date "2026-03-01", which is local midnight at UTC+08:00.
 * The year is 0001-9999.  The separator may be 'T', 't' or one space; the offset is 'Z', 'z',
 * "+HH:MM" or "+HHMM", within -15:59 and +15:59 (what PostgreSQL takes).  A date-time without
 * an offset is rejected: an instant needs one.  Seconds run 00-59 (no leap second 60).
 * Returns 0, or CF_EPARSE for anything else; `*out` is untouched on error.
 */
int cf_time_parse(const char *s, cf_time *out) CF_MUST_CHECK;

/* The same, and on CF_EPARSE says what is wrong in err ("the UTC offset must be within -15:59
 * and +15:59"), for messages to whoever wrote the time. */
int cf_time_parse_err(const char *s, cf_time *out, char *err, size_t errsz) CF_MUST_CHECK;

/*
 * Writes t as RFC 3339 at the given offset (minutes east of UTC) into buf of n bytes
 * (CF_TIME_BUFSZ is always enough): "2026-03-01T09:00:00+08:00"; milliseconds only when
 * non-zero ("2026-03-01T09:00:00.250+08:00"); offset 0 is written "Z".
 */
void cf_time_format(cf_time t, int utc_offset_min, char *buf, size_t n);

/* Returns the local civil date of instant t at the given offset. */
cf_date cf_time_date(cf_time t, int utc_offset_min);

/* Returns the local minute of the day (0-1439) of instant t at the given offset. */
int cf_time_minute_of_day(cf_time t, int utc_offset_min);

/* Returns the instant of local date d at minute_of_day (hh * 60 + mm) at the given offset. */
cf_time cf_time_at(cf_date d, int minute_of_day, int utc_offset_min);

/* ---- Calendars of working days -------------------------------------------------------------- */

typedef struct cf_calendar cf_calendar;

/*
 * Loads a calendar from YAML text of `len` bytes (see workflows/calendars/cn.yaml for the
 * format).  `name` (usually the file's path) prefixes messages.  Validates that every date
 * parses, ranges are ordered, each date lies in the year it is listed under, no date is listed
 * twice or both off and working, make-up working days fall on a Saturday or Sunday, and every
 * year names its source.
 * Returns the calendar, owned by the caller (cf_calendar_free), or NULL with one line
 * "name:line:column: message" in err (columns count characters, as libyaml does).
 */
cf_calendar *cf_calendar_parse(const char *name, const char *yaml_text, size_t len, char *err,
                               size_t errsz);

/* Reads the file at `path` (at most 1 MiB) and parses it with cf_calendar_parse, named by the
 * path.  Returns the calendar (caller frees) or NULL with a message in err. */
cf_calendar *cf_calendar_load(const char *path, char *err, size_t errsz);

/* Frees a calendar; NULL is allowed. */
void cf_calendar_free(cf_calendar *cal);

/* Returns the calendar's offset in minutes east of UTC: 480 for Asia/Shanghai. */
int cf_calendar_utc_offset(const cf_calendar *cal);

/* Returns the calendar's zone name ("Asia/Shanghai"), owned by the calendar. */
const char *cf_calendar_zone(const cf_calendar *cal);

/* Returns 1 when d is a working day, else 0: statutory holidays are off, 调休 make-up days are
 * on, every other day follows Monday-Friday.  Outside the known years only Monday-Friday
 * applies (see cf_calendar_knows). */
int cf_calendar_is_working_day(const cf_calendar *cal, cf_date d);

/* Returns 1 when d's year is covered by the calendar's data, 0 when the Monday-Friday fallback
 * applies to it.  Callers that compute a deadline should say so when the result is not known. */
int cf_calendar_knows(const cf_calendar *cal, cf_date d);

/* Sets *first and *last to the first and last year the data covers (years in between may be
 * missing).  Returns 0, or CF_ENOTFOUND when the calendar knows no year (or is NULL). */
int cf_calendar_years(const cf_calendar *cal, int *first, int *last) CF_MUST_CHECK;

/* Returns the name the data gives to day d ("春节", "国庆节调休"), owned by the calendar, or NULL
 * when the day is not listed or has no name. */
const char *cf_calendar_day_name(const cf_calendar *cal, cf_date d);

/* Returns the `source` text of a known year (the State Council notice), owned by the calendar,
 * or NULL when the year is not known. */
const char *cf_calendar_year_source(const cf_calendar *cal, int year);

/* Returns d itself when it is a working day, else the first working day after it. */
cf_date cf_calendar_next_working_day(const cf_calendar *cal, cf_date d);

/* Returns d itself when it is a working day, else the last working day before it. */
cf_date cf_calendar_prev_working_day(const cf_calendar *cal, cf_date d);

/*
 * Counts working days from d, d itself not counted: for n > 0 returns the n-th working day
 * after d, for n < 0 the |n|-th working day before d, for n = 0 d itself (whatever kind of day
 * it is).  2026-09-30 + 1 = 2026-10-08 (国庆 off Oct 1-7).
 */
cf_date cf_calendar_add_working_days(const cf_calendar *cal, cf_date d, int n);

#endif
