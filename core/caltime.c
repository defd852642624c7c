/*
 * Civil dates, instants and calendars of working days: the arithmetic of legal periods, and
 * the loader of the yearly holiday data (the only part of this module that does I/O).
 */
#include "caltime.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/yamldoc.h"

/* ---- Civil dates ---------------------------------------------------------------------------- */

/* Division and remainder rounding towards minus infinity, so that instants and dates before
 * 1970 land on the right day. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    return a - floor_div(a, b) * b;
}

/* The conversions are Howard Hinnant's days_from_civil / civil_from_days: exact for the whole
 * proleptic Gregorian calendar, with no tables and no loops. */
cf_date cf_date_from_ymd(int y, int m, int d)
{
    int64_t yy = (int64_t)y - (m <= 2);
    int64_t era = floor_div(yy, 400);
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (cf_date)(era * 146097 + doe - 719468);
}

void cf_date_to_ymd(cf_date d, int *y, int *m, int *day)
{
    int64_t z = (int64_t)d + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int dd = (int)(doy - (153 * mp + 2) / 5 + 1);
    int mm = (int)(mp < 10 ? mp + 3 : mp - 9);
    int yy = (int)(yoe + era * 400 + (mm <= 2));
    if (y)
        *y = yy;
    if (m)
        *m = mm;
    if (day)
        *day = dd;
}

int cf_date_weekday(cf_date d)
{
    /* 1970-01-01 was a Thursday (4). */
    return (int)floor_mod((int64_t)d + 3, 7) + 1;
}

int cf_date_is_leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int cf_date_days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    return m == 2 && cf_date_is_leap_year(y) ? 29 : days[m - 1];
}

cf_date cf_date_add_months(cf_date d, int months)
{
    int y, m, day;
    cf_date_to_ymd(d, &y, &m, &day);
    int64_t total = (int64_t)y * 12 + (m - 1) + months;
    int ny = (int)floor_div(total, 12);
    int nm = (int)floor_mod(total, 12) + 1;
    int dim = cf_date_days_in_month(ny, nm);
    return cf_date_from_ymd(ny, nm, day > dim ? dim : day);
}

/* Reads exactly n ASCII digits at s into *val; returns 1 on success. */
static int digits(const char *s, int n, int *val)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *val = v;
    return 1;
}

/* Parses the "YYYY-MM-DD" at the start of s, checking that the day exists; returns NULL on
 * success, else what is wrong.  Shared by dates and instants.  Year 0000 is refused because
 * PostgreSQL refuses it (there is no year 0 in its calendar): a date that passes here must be
 * storable. */
static const char *parse_date_prefix(const char *s, cf_date *out)
{
    int y, m, d;
    if (digits(s, 5, &y))
        return "the year must be 0001 to 9999";
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) || s[7] != '-' ||
        !digits(s + 8, 2, &d))
        return "not a date as 2026-03-01";
    if (y < 1)
        return "the year must be 0001 to 9999";
    if (m < 1 || m > 12 || d < 1 || d > cf_date_days_in_month(y, m))
        return "no such day";
    *out = cf_date_from_ymd(y, m, d);
    return NULL;
}

int cf_date_parse(const char *s, cf_date *out)
{
    cf_date d;
    if (!s || strlen(s) != 10 || parse_date_prefix(s, &d))
        return CF_EPARSE;
    *out = d;
    return 0;
}

void cf_date_format(cf_date d, char *buf, size_t n)
{
    int y, m, day;
    if (!buf || n == 0)
        return;
    cf_date_to_ymd(d, &y, &m, &day);
    snprintf(buf, n, "%04d-%02d-%02d", y, m, day);
}

/* ---- Instants ------------------------------------------------------------------------------- */

/* The parser behind cf_time_parse and cf_time_parse_err: returns NULL, or what is wrong. */
static const char *parse_time(const char *s, cf_time *out)
{
    cf_date date;
    int hh, mm, ss = 0, ms = 0, off = 0;
    const char *why;
    if (!s || strlen(s) < 10)
        return "not a time as 2026-03-01T09:00:00+08:00";
    if ((why = parse_date_prefix(s, &date)))
        return why;
    const char *p = s + 10;
    if (*p == '\0') {
        *out = cf_time_at(date, 0, CF_CALTIME_DEFAULT_UTC_OFFSET);
        return NULL;
    }
    if (*p != 'T' && *p != 't' && *p != ' ')
        return "not a time as 2026-03-01T09:00:00+08:00";
    p++;
    if (!digits(p, 2, &hh) || p[2] != ':' || !digits(p + 3, 2, &mm) || hh > 23 || mm > 59)
        return "the time of day must be HH:MM from 00:00 to 23:59";
    p += 5;
    if (*p == ':') {
        if (!digits(p + 1, 2, &ss) || ss > 59)
            return "the seconds must be 00 to 59";
        p += 3;
        if (*p == '.') {
            /* Any number of fraction digits; those past the millisecond are dropped. */
            int n = 0;
            for (p++; *p >= '0' && *p <= '9'; p++, n++) {
                if (n < 3)
                    ms = ms * 10 + (*p - '0');
            }
            if (n == 0)
                return "a fraction of a second needs digits after the '.'";
            for (; n < 3; n++)
                ms *= 10;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        int sign = *p == '-' ? -1 : 1;
        if (!digits(p + 1, 2, &oh))
            return "the UTC offset must be +HH:MM or -HH:MM";
        p += 3;
        if (*p == ':')
            p++;
        if (!digits(p, 2, &om))
            return "the UTC offset must be +HH:MM or -HH:MM";
        /* PostgreSQL takes offsets up to 15:59 either way; a larger one would pass here and
         * fail inside the database. */
        if (oh > 15 || om > 59)
            return "the UTC offset must be within -15:59 and +15:59";
        p += 2;
        off = sign * (oh * 60 + om);
    } else {
        return "a time needs its UTC offset (Z or +08:00)";
    }
    if (*p != '\0')
        return "unexpected text after the time";
    *out = cf_time_at(date, hh * 60 + mm, off) + (cf_time)ss * 1000 + ms;
    return NULL;
}

int cf_time_parse(const char *s, cf_time *out)
{
    return parse_time(s, out) ? CF_EPARSE : 0;
}

int cf_time_parse_err(const char *s, cf_time *out, char *err, size_t errsz)
{
    const char *why = parse_time(s, out);
    return why ? cf_errf(err, errsz, CF_EPARSE, "%s", why) : 0;
}

/* Writes `v` (0 <= v < 10^width) in `width` digits, zeros first; returns the end. */
static char *put_digits(char *p, int v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

void cf_time_format(cf_time t, int utc_offset_min, char *buf, size_t n)
{
    if (!buf || n == 0)
        return;
    int64_t local = t + (int64_t)utc_offset_min * CF_MS_PER_MINUTE;
    cf_date d = (cf_date)floor_div(local, CF_MS_PER_DAY);
    int64_t in_day = floor_mod(local, CF_MS_PER_DAY);
    int y, m, day;
    cf_date_to_ymd(d, &y, &m, &day);
    int hh = (int)(in_day / CF_MS_PER_HOUR);
    int mi = (int)(in_day / CF_MS_PER_MINUTE % 60);
    int ss = (int)(in_day / 1000 % 60);
    int ms = (int)(in_day % 1000);

    /* The usual case by hand (the transition function formats several times per event, and
     * snprintf was a tenth of its time); the same text as the general case below. */
    if (y >= 0 && y <= 9999 && n >= 30 && utc_offset_min > -6000 && utc_offset_min < 6000) {
        char *p = buf;
        int a = utc_offset_min < 0 ? -utc_offset_min : utc_offset_min;
        p = put_digits(p, y, 4);
        *p++ = '-';
        p = put_digits(p, m, 2);
        *p++ = '-';
        p = put_digits(p, day, 2);
        *p++ = 'T';
        p = put_digits(p, hh, 2);
        *p++ = ':';
        p = put_digits(p, mi, 2);
        *p++ = ':';
        p = put_digits(p, ss, 2);
        if (ms != 0) {
            *p++ = '.';
            p = put_digits(p, ms, 3);
        }
        if (utc_offset_min == 0) {
            *p++ = 'Z';
        } else {
            *p++ = utc_offset_min < 0 ? '-' : '+';
            p = put_digits(p, a / 60, 2);
            *p++ = ':';
            p = put_digits(p, a % 60, 2);
        }
        *p = '\0';
        return;
    }
    char frac[8] = "";
    if (ms != 0)
        snprintf(frac, sizeof frac, ".%03d", ms);
    char zone[8] = "Z";
    if (utc_offset_min != 0) {
        int a = utc_offset_min < 0 ? -utc_offset_min : utc_offset_min;
        snprintf(zone, sizeof zone, "%c%02d:%02d", utc_offset_min < 0 ? '-' : '+', a / 60 % 100,
                 a % 60);
    }
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d%s%s", y, m, day, hh, mi, ss, frac, zone);
}

cf_date cf_time_date(cf_time t, int utc_offset_min)
{
    return (cf_date)floor_div(t + (int64_t)utc_offset_min * CF_MS_PER_MINUTE, CF_MS_PER_DAY);
}

int cf_time_minute_of_day(cf_time t, int utc_offset_min)
{
    int64_t local = t + (int64_t)utc_offset_min * CF_MS_PER_MINUTE;
    return (int)(floor_mod(local, CF_MS_PER_DAY) / CF_MS_PER_MINUTE);
}

cf_time cf_time_at(cf_date d, int minute_of_day, int utc_offset_min)
{
    return (cf_time)d * CF_MS_PER_DAY +
           (cf_time)(minute_of_day - utc_offset_min) * CF_MS_PER_MINUTE;
}

/* ---- Calendars: the model and its queries --------------------------------------------------- */

/* What the data says about one day; DAY_PLAIN days follow Monday-Friday. */
enum { DAY_PLAIN = 0, DAY_OFF = 1, DAY_WORK = 2 };

/* Calendar years are sane civil years, which also bounds the table below. */
#define YEAR_MIN 1900
#define YEAR_MAX 2199

struct cal_year {
    int known;                /* 1 when the data lists this year */
    char *source;             /* the notice the dates come from */
    unsigned char kind[366];  /* DAY_* by day of the year (0 = Jan 1) */
    unsigned short name[366]; /* 1-based index into cf_calendar.names, 0 = no name */
};

struct cf_calendar {
    char *zone;
    int utc_offset;
    int first_year;         /* the year of years[0] */
    int nyears;             /* years covers first_year .. first_year + nyears - 1 */
    struct cal_year *years; /* some may be unknown: the data may skip a year */
    char **names;           /* distinct day names, each owned */
    size_t nnames;
};

static const struct cal_year *known_year(const cf_calendar *cal, int y)
{
    if (!cal || y < cal->first_year || y - cal->first_year >= cal->nyears)
        return NULL;
    const struct cal_year *cy = &cal->years[y - cal->first_year];
    return cy->known ? cy : NULL;
}

/* Finds what the data says about d: returns its year's entry (NULL when unknown) and sets
 * *index to d's day of the year. */
static const struct cal_year *lookup(const cf_calendar *cal, cf_date d, int *index)
{
    int y;
    cf_date_to_ymd(d, &y, NULL, NULL);
    const struct cal_year *cy = known_year(cal, y);
    if (cy)
        *index = (int)(d - cf_date_from_ymd(y, 1, 1));
    return cy;
}

int cf_calendar_utc_offset(const cf_calendar *cal)
{
    return cal ? cal->utc_offset : CF_CALTIME_DEFAULT_UTC_OFFSET;
}

const char *cf_calendar_zone(const cf_calendar *cal)
{
    return cal ? cal->zone : "Asia/Shanghai";
}

int cf_calendar_is_working_day(const cf_calendar *cal, cf_date d)
{
    int i;
    const struct cal_year *cy = lookup(cal, d, &i);
    if (cy && cy->kind[i] != DAY_PLAIN)
        return cy->kind[i] == DAY_WORK;
    return cf_date_weekday(d) <= 5;
}

int cf_calendar_knows(const cf_calendar *cal, cf_date d)
{
    int i;
    return lookup(cal, d, &i) != NULL;
}

int cf_calendar_years(const cf_calendar *cal, int *first, int *last)
{
    int lo = 0, hi = -1;
    for (int i = 0; cal && i < cal->nyears; i++) {
        if (!cal->years[i].known)
            continue;
        if (hi < lo)
            lo = cal->first_year + i;
        hi = cal->first_year + i;
    }
    if (hi < lo)
        return CF_ENOTFOUND;
    *first = lo;
    *last = hi;
    return 0;
}

const char *cf_calendar_day_name(const cf_calendar *cal, cf_date d)
{
    int i;
    const struct cal_year *cy = lookup(cal, d, &i);
    return cy && cy->name[i] ? cal->names[cy->name[i] - 1] : NULL;
}

const char *cf_calendar_year_source(const cf_calendar *cal, int year)
{
    const struct cal_year *cy = known_year(cal, year);
    return cy ? cy->source : NULL;
}

/* Both walks end: inside a known year only listed days can be off, and past the data the
 * Monday-Friday fallback has a working day in every three consecutive days. */
cf_date cf_calendar_next_working_day(const cf_calendar *cal, cf_date d)
{
    while (!cf_calendar_is_working_day(cal, d))
        d++;
    return d;
}

cf_date cf_calendar_prev_working_day(const cf_calendar *cal, cf_date d)
{
    while (!cf_calendar_is_working_day(cal, d))
        d--;
    return d;
}

cf_date cf_calendar_add_working_days(const cf_calendar *cal, cf_date d, int n)
{
    int step = n < 0 ? -1 : 1;
    long long left = n < 0 ? -(long long)n : n;
    while (left > 0) {
        d += step;
        if (cf_calendar_is_working_day(cal, d))
            left--;
    }
    return d;
}

void cf_calendar_free(cf_calendar *cal)
{
    if (!cal)
        return;
    for (int i = 0; i < cal->nyears; i++)
        free(cal->years[i].source);
    for (size_t i = 0; i < cal->nnames; i++)
        free(cal->names[i]);
    free(cal->names);
    free(cal->years);
    free(cal->zone);
    free(cal);
}

/* ---- Calendars: the loader ------------------------------------------------------------------ */

/* Where each listed day was written, kept while loading to name both places of a conflict. */
struct day_marks {
    int line[366];
};

struct loader {
    const char *name;
    char *err;
    size_t errsz;
    yaml_document_t *doc;
    cf_calendar *cal;
    struct day_marks *marks; /* parallel to cal->years */
};

/* Writes "name:line:column: message" (1-based, from a libyaml mark plus `shift` characters
 * into the scalar) and returns CF_ESCHEMA. */
static int fail_at(struct loader *ld, yaml_mark_t mark, size_t shift, const char *fmt, ...)
    CF_PRINTF(4, 5);

static int fail_at(struct loader *ld, yaml_mark_t mark, size_t shift, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cf_errf(ld->err, ld->errsz, CF_ESCHEMA, "%s:%zu:%zu: %s", ld->name, mark.line + 1,
                   mark.column + 1 + shift, msg);
}

static yaml_node_t *node_at(struct loader *ld, int index)
{
    return yaml_document_get_node(ld->doc, index);
}

/* Returns the text of a scalar node, or NULL when it is not a scalar or holds a NUL byte. */
static const char *scalar(const yaml_node_t *n)
{
    if (!n || n->type != YAML_SCALAR_NODE)
        return NULL;
    const char *s = (const char *)n->data.scalar.value;
    return strlen(s) == n->data.scalar.length ? s : NULL;
}

/* The column of a scalar's first character: a quoted scalar's mark is at its quote. */
static size_t text_shift(const yaml_node_t *n)
{
    yaml_scalar_style_t st = n->data.scalar.style;
    return st == YAML_SINGLE_QUOTED_SCALAR_STYLE || st == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
}

static const char *node_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE: return "a scalar";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "nothing";
    }
}

/* Parses "+HH:MM" / "-HH:MM" into minutes; returns 1 on success. */
static int parse_offset(const char *s, int *out)
{
    int h, m;
    if ((s[0] != '+' && s[0] != '-') || !digits(s + 1, 2, &h) || s[3] != ':' ||
        !digits(s + 4, 2, &m) || s[6] != '\0' || m > 59 || h > 15)
        return 0;
    *out = (s[0] == '-' ? -1 : 1) * (h * 60 + m);
    return 1;
}

/* Returns the 1-based index of `name` in the calendar's names, adding it when new; 0 when
 * memory runs out or there are too many names for the table. */
static unsigned short intern_name(cf_calendar *cal, const char *name)
{
    for (size_t i = 0; i < cal->nnames; i++) {
        if (strcmp(cal->names[i], name) == 0)
            return (unsigned short)(i + 1);
    }
    if (cal->nnames >= 65535)
        return 0;
    char **grown = realloc(cal->names, (cal->nnames + 1) * sizeof *grown);
    if (!grown)
        return 0;
    cal->names = grown;
    if (!(cal->names[cal->nnames] = strdup(name)))
        return 0;
    return (unsigned short)++cal->nnames;
}

static const char *const weekday_names[8] = {"",         "Monday", "Tuesday",  "Wednesday",
                                             "Thursday", "Friday", "Saturday", "Sunday"};

/*
 * Records one entry of a year's list: a date "2026-01-04" or an inclusive range
 * "2026-02-15..2026-02-23", with an optional name, as days of `kind`.
 */
static int add_entry(struct loader *ld, int year, int kind, const yaml_node_t *key,
                     const yaml_node_t *value)
{
    const char *text = scalar(key);
    if (!text)
        return fail_at(ld, key->start_mark, 0,
                       "expected a date or a range such as 2026-02-15..2026-02-23, found %s",
                       node_kind(key));
    size_t shift = text_shift(key);
    const char *what = kind == DAY_OFF ? "holiday" : "make-up working day";

    const char *name = NULL;
    if (value) {
        name = scalar(value);
        if (!name)
            return fail_at(ld, value->start_mark, 0, "expected the name of the %s, found %s", what,
                           node_kind(value));
        if (name[0] == '\0')
            name = NULL;
    }

    cf_date from, to;
    char buf[16];
    const char *dots = strstr(text, "..");
    size_t first_len = dots ? (size_t)(dots - text) : strlen(text);
    if (first_len >= sizeof buf)
        return fail_at(ld, key->start_mark, shift, "'%s' is not a date (YYYY-MM-DD)", text);
    memcpy(buf, text, first_len);
    buf[first_len] = '\0';
    if (cf_date_parse(buf, &from) != 0)
        return fail_at(ld, key->start_mark, shift, "'%s' is not a date (YYYY-MM-DD)", buf);
    to = from;
    if (dots) {
        size_t at = first_len + 2;
        if (cf_date_parse(text + at, &to) != 0)
            return fail_at(ld, key->start_mark, shift + at, "'%s' is not a date (YYYY-MM-DD)",
                           text + at);
        if (to < from)
            return fail_at(ld, key->start_mark, shift + at,
                           "the range ends before it starts (%s..%s)", buf, text + at);
    }

    unsigned short name_index = 0;
    if (name && !(name_index = intern_name(ld->cal, name)))
        return cf_errf(ld->err, ld->errsz, CF_ENOMEM, "%s: out of memory", ld->name);

    struct cal_year *cy = &ld->cal->years[year - ld->cal->first_year];
    struct day_marks *marks = &ld->marks[year - ld->cal->first_year];
    cf_date jan1 = cf_date_from_ymd(year, 1, 1);
    for (cf_date d = from; d <= to; d++) {
        char ds[CF_DATE_BUFSZ];
        int y;
        cf_date_to_ymd(d, &y, NULL, NULL);
        cf_date_format(d, ds, sizeof ds);
        if (y != year)
            return fail_at(ld, key->start_mark, shift,
                           "%s is not in %d: list each date under its own year (a span over New "
                           "Year is split between the two years)",
                           ds, year);
        int i = (int)(d - jan1);
        if (cy->kind[i] == kind)
            return fail_at(ld, key->start_mark, shift, "%s is listed twice (also on line %d)", ds,
                           marks->line[i]);
        if (cy->kind[i] != DAY_PLAIN)
            return fail_at(ld, key->start_mark, shift,
                           "%s is both a holiday and a make-up working day (see line %d)", ds,
                           marks->line[i]);
        int wd = cf_date_weekday(d);
        if (kind == DAY_WORK && wd <= 5)
            return fail_at(ld, key->start_mark, shift,
                           "%s is a %s, a working day anyway: a make-up working day falls on a "
                           "Saturday or Sunday",
                           ds, weekday_names[wd]);
        cy->kind[i] = (unsigned char)kind;
        cy->name[i] = name_index;
        marks->line[i] = (int)key->start_mark.line + 1;
    }
    return 0;
}

/* Records a year's `holidays` or `working_weekends`: a list of dates and ranges, or a mapping
 * of date or range to its name. */
static int add_list(struct loader *ld, int year, int kind, const yaml_node_t *list)
{
    int rc = 0;
    if (list->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = list->data.sequence.items.start;
             rc == 0 && it < list->data.sequence.items.top; it++)
            rc = add_entry(ld, year, kind, node_at(ld, *it), NULL);
    } else if (list->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = list->data.mapping.pairs.start;
             rc == 0 && p < list->data.mapping.pairs.top; p++)
            rc = add_entry(ld, year, kind, node_at(ld, p->key), node_at(ld, p->value));
    } else {
        rc = fail_at(ld, list->start_mark, 0,
                     "expected a list of dates or a mapping of date to name, found %s",
                     node_kind(list));
    }
    return rc;
}

/* Parses a year key: four digits in YEAR_MIN..YEAR_MAX; returns the year or 0. */
static int parse_year(const yaml_node_t *key)
{
    const char *s = scalar(key);
    int y;
    if (!s || strlen(s) != 4 || !digits(s, 4, &y) || y < YEAR_MIN || y > YEAR_MAX)
        return 0;
    return y;
}

static int load_year(struct loader *ld, const yaml_node_t *key, const yaml_node_t *body)
{
    int year = parse_year(key);
    struct cal_year *cy = &ld->cal->years[year - ld->cal->first_year];
    if (cy->known)
        return fail_at(ld, key->start_mark, 0, "year %d is listed twice", year);
    cy->known = 1;
    if (body->type != YAML_MAPPING_NODE)
        return fail_at(ld, body->start_mark, 0,
                       "expected the year's source, holidays and working_weekends, found %s",
                       node_kind(body));

    const yaml_node_t *holidays = NULL, *working = NULL;
    for (yaml_node_pair_t *p = body->data.mapping.pairs.start; p < body->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = node_at(ld, p->key), *v = node_at(ld, p->value);
        const char *ks = scalar(k);
        if (ks && strcmp(ks, "source") == 0) {
            const char *s = scalar(v);
            if (!s || !s[0])
                return fail_at(ld, v->start_mark, 0,
                               "'source' must name the notice the dates come from");
            if (cy->source)
                return fail_at(ld, k->start_mark, 0, "duplicate key 'source'");
            if (!(cy->source = strdup(s)))
                return cf_errf(ld->err, ld->errsz, CF_ENOMEM, "%s: out of memory", ld->name);
        } else if (ks && strcmp(ks, "holidays") == 0) {
            if (holidays)
                return fail_at(ld, k->start_mark, 0, "duplicate key 'holidays'");
            holidays = v;
        } else if (ks && strcmp(ks, "working_weekends") == 0) {
            if (working)
                return fail_at(ld, k->start_mark, 0, "duplicate key 'working_weekends'");
            working = v;
        } else {
            return fail_at(ld, k->start_mark, 0,
                           "unknown key '%s' (expected source, holidays, working_weekends)",
                           ks ? ks : "?");
        }
    }
    if (!cy->source)
        return fail_at(ld, key->start_mark, 0,
                       "year %d has no 'source' (the State Council notice its dates come from)",
                       year);
    if (!holidays)
        return fail_at(ld, key->start_mark, 0, "year %d has no 'holidays'", year);
    int rc = add_list(ld, year, DAY_OFF, holidays);
    if (rc == 0 && working)
        rc = add_list(ld, year, DAY_WORK, working);
    return rc;
}

static int load_years(struct loader *ld, const yaml_node_t *years)
{
    if (years->type != YAML_MAPPING_NODE)
        return fail_at(ld, years->start_mark, 0, "'years' must map each year to its days, found %s",
                       node_kind(years));
    /* A first pass finds the span of years, so that the table is allocated once. */
    int lo = YEAR_MAX + 1, hi = YEAR_MIN - 1;
    for (yaml_node_pair_t *p = years->data.mapping.pairs.start; p < years->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = node_at(ld, p->key);
        int y = parse_year(k);
        if (!y)
            return fail_at(ld, k->start_mark, 0, "expected a year (%d-%d), found '%s'", YEAR_MIN,
                           YEAR_MAX, scalar(k) ? scalar(k) : node_kind(k));
        lo = y < lo ? y : lo;
        hi = y > hi ? y : hi;
    }
    if (hi < lo)
        return fail_at(ld, years->start_mark, 0, "'years' lists no year");

    ld->cal->first_year = lo;
    ld->cal->nyears = hi - lo + 1;
    ld->cal->years = calloc((size_t)ld->cal->nyears, sizeof *ld->cal->years);
    ld->marks = calloc((size_t)ld->cal->nyears, sizeof *ld->marks);
    if (!ld->cal->years || !ld->marks)
        return cf_errf(ld->err, ld->errsz, CF_ENOMEM, "%s: out of memory", ld->name);

    int rc = 0;
    for (yaml_node_pair_t *p = years->data.mapping.pairs.start;
         rc == 0 && p < years->data.mapping.pairs.top; p++)
        rc = load_year(ld, node_at(ld, p->key), node_at(ld, p->value));
    return rc;
}

static int load_root(struct loader *ld, const yaml_node_t *root)
{
    if (root->type != YAML_MAPPING_NODE)
        return fail_at(ld, root->start_mark, 0,
                       "expected a mapping with zone, utc_offset and years, found %s",
                       node_kind(root));
    const yaml_node_t *years = NULL;
    int have_offset = 0;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = node_at(ld, p->key), *v = node_at(ld, p->value);
        const char *ks = scalar(k);
        const char *vs = scalar(v);
        if (ks && strcmp(ks, "zone") == 0) {
            if (ld->cal->zone)
                return fail_at(ld, k->start_mark, 0, "duplicate key 'zone'");
            if (!vs || !vs[0] || strpbrk(vs, " \t\r\n"))
                return fail_at(ld, v->start_mark, 0,
                               "'zone' must be a time zone name such as Asia/Shanghai");
            if (!(ld->cal->zone = strdup(vs)))
                return cf_errf(ld->err, ld->errsz, CF_ENOMEM, "%s: out of memory", ld->name);
        } else if (ks && strcmp(ks, "utc_offset") == 0) {
            if (have_offset)
                return fail_at(ld, k->start_mark, 0, "duplicate key 'utc_offset'");
            if (!vs || !parse_offset(vs, &ld->cal->utc_offset))
                return fail_at(ld, v->start_mark, 0,
                               "'utc_offset' must be \"+HH:MM\" or \"-HH:MM\" (at most 15:59), "
                               "such as \"+08:00\"");
            have_offset = 1;
        } else if (ks && strcmp(ks, "years") == 0) {
            if (years)
                return fail_at(ld, k->start_mark, 0, "duplicate key 'years'");
            years = v;
        } else {
            return fail_at(ld, k->start_mark, 0,
                           "unknown key '%s' (expected zone, utc_offset, years)", ks ? ks : "?");
        }
    }
    if (!ld->cal->zone)
        return fail_at(ld, root->start_mark, 0, "missing 'zone' (such as Asia/Shanghai)");
    if (!have_offset)
        return fail_at(ld, root->start_mark, 0, "missing 'utc_offset' (such as \"+08:00\")");
    if (!years)
        return fail_at(ld, root->start_mark, 0, "missing 'years'");
    return load_years(ld, years);
}

cf_calendar *cf_calendar_parse(const char *name, const char *yaml_text, size_t len, char *err,
                               size_t errsz)
{
    yaml_document_t doc;
    cf_yamldoc_error ye;
    int have_doc = 0, rc = 0;
    struct loader ld = {.name = name ? name : "calendar", .err = err, .errsz = errsz, .doc = &doc};

    if (!yaml_text) {
        cf_errf(err, errsz, CF_EINVAL, "%s: no text", ld.name);
        return NULL;
    }
    if (!(ld.cal = calloc(1, sizeof *ld.cal))) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "%s: out of memory", ld.name);
        goto out;
    }
    if ((rc = cf_yamldoc_load(&doc, yaml_text, len, &ye)) != 0) {
        if (rc == CF_ENOMEM)
            cf_errf(err, errsz, rc, "%s: out of memory", ld.name);
        else
            cf_errf(err, errsz, rc, "%s:%d:%d: %s%s%s", ld.name, ye.line, ye.col, ye.problem,
                    ye.context[0] ? " " : "", ye.context);
        goto out;
    }
    have_doc = 1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        rc = cf_errf(err, errsz, CF_ESCHEMA,
                     "%s:1:1: empty calendar (expected a mapping with zone, utc_offset and years)",
                     ld.name);
        goto out;
    }
    rc = load_root(&ld, root);

out:
    if (have_doc)
        yaml_document_delete(&doc);
    free(ld.marks);
    if (rc != 0) {
        cf_calendar_free(ld.cal);
        return NULL;
    }
    return ld.cal;
}

/* A calendar is a few kilobytes; anything far larger is the wrong file. */
#define CALENDAR_MAX_BYTES (1024 * 1024)

cf_calendar *cf_calendar_load(const char *path, char *err, size_t errsz)
{
    char why[256], *buf;
    size_t len;
    cf_calendar *cal;
    int rc = cf_yamldoc_read_file(path, CALENDAR_MAX_BYTES, &buf, &len, why, sizeof why);

    if (rc == CF_ERANGE) {
        cf_errf(err, errsz, rc, "%s: %s: not a calendar", path, why);
        return NULL;
    }
    if (rc) {
        cf_errf(err, errsz, rc, "%s: %s", path, why);
        return NULL;
    }
    cal = cf_calendar_parse(path, buf, len, err, errsz);
    free(buf);
    return cal;
}
