/* Unit tests of core/when: time expressions and schedules of workflow YAML, evaluated on the
 * calendar of workflows/calendars/cn.yaml. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/when.h"

/* The fuzz target itself, so that the nasty inputs below go through exactly the code the
 * fuzzer runs. */
#include "fixture.h"
#include "../fuzz/fuzz_when.c"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static cf_time at(const char *s)
{
    cf_time t = 0;
    if (cf_time_parse(s, &t) != 0)
        fail_msg("test data: bad instant %s", s);
    return t;
}

static const char *fmt(cf_time t, char *buf)
{
    cf_time_format(t, 480, buf, CF_TIME_BUFSZ);
    return buf;
}

/* The case under test: named instants; any other name is a date the case does not have. */
struct facts {
    const char *name[4];
    cf_time value[4];
};

static int resolve(void *ctx, const char *ref, cf_time *out)
{
    const struct facts *f = ctx;
    for (size_t i = 0; i < 4 && f->name[i]; i++) {
        if (strcmp(f->name[i], ref) == 0) {
            *out = f->value[i];
            return 0;
        }
    }
    return CF_ENOTFOUND;
}

/* Parses and evaluates `expr` with one reference `ref` at instant `ref_at`. */
static void check_eval(const char *expr, const char *ref, const char *ref_at, const char *want)
{
    char err[256] = "", got[CF_TIME_BUFSZ];
    int col = 0;
    cf_when *w = cf_when_parse(expr, err, sizeof err, &col);
    if (!w)
        fail_msg("'%s' did not parse: column %d: %s", expr, col, err);
    struct facts f = {{ref}, {at(ref_at)}};
    cf_time t = 0;
    int rc = cf_when_eval(w, fx_cn, resolve, &f, &t);
    cf_when_free(w);
    if (rc != 0)
        fail_msg("'%s' with %s = %s: error %d", expr, ref, ref_at, rc);
    if (strcmp(fmt(t, got), want) != 0)
        fail_msg("'%s' with %s = %s:\n got %s\nwant %s", expr, ref, ref_at, got, want);
}

static const struct {
    const char *expr, *ref, *ref_at, *want;
} eval_cases[] = {
    /* The starting day is not counted. */
    {"15 days after case.filed_at", "case.filed_at", "2026-01-01T10:00:00+08:00",
     "2026-01-16T09:00:00+08:00"},
    /* Lands on 春节 (Feb 15): rolls to the first working day after the span. */
    {"15 days after case.filed_at", "case.filed_at", "2026-01-31T10:00:00+08:00",
     "2026-02-24T09:00:00+08:00"},
    /* Lands on the make-up Saturday Feb 14: a working day, so no roll. */
    {"15 days after case.filed_at", "case.filed_at", "2026-01-30T10:00:00+08:00",
     "2026-02-14T09:00:00+08:00"},
    {"15 days after case.filed_at exact", "case.filed_at", "2026-01-31T10:00:00+08:00",
     "2026-02-15T09:00:00+08:00"},
    /* The local date counts, not the UTC one: 17:00Z is 01:00 the next day in Shanghai. */
    {"15 days after case.filed_at", "case.filed_at", "2026-01-31T17:00:00Z",
     "2026-02-24T09:00:00+08:00"},
    {"15 days after case.filed_at at 23:59", "case.filed_at", "2026-01-01T10:00:00+08:00",
     "2026-01-16T23:59:00+08:00"},
    {"1 day after case.filed_at", "case.filed_at", "2026-03-02T18:00:00+08:00",
     "2026-03-03T09:00:00+08:00"},
    /* Months: same day, or the month's last day; Feb 28 2026 is a make-up Saturday. */
    {"1 month after case.closed_at", "case.closed_at", "2026-01-31T16:00:00+08:00",
     "2026-02-28T09:00:00+08:00"},
    {"1 month after case.closed_at exact", "case.closed_at", "2024-01-31T16:00:00+08:00",
     "2024-02-29T09:00:00+08:00"},
    {"6 months after case.filed_at", "case.filed_at", "2026-03-31T09:30:00+08:00",
     "2026-09-30T09:00:00+08:00"},
    {"6 months after case.filed_at", "case.filed_at", "2025-08-31T09:30:00+08:00",
     "2026-02-28T09:00:00+08:00"},
    {"6 months after case.filed_at", "case.filed_at", "2026-04-05T09:30:00+08:00",
     "2026-10-08T09:00:00+08:00"}, /* Oct 5 is in 国庆 */
    {"2 weeks after case.filed_at", "case.filed_at", "2026-02-02T09:30:00+08:00",
     "2026-02-24T09:00:00+08:00"},
    /* Working days across 国庆 2026 (Oct 1-7 off, Oct 10 a make-up Saturday). */
    {"5 working days after event.time", "event.time", "2026-09-28T11:00:00+08:00",
     "2026-10-10T09:00:00+08:00"},
    {"1 working day after event.time at 17:00", "event.time", "2026-09-30T15:00:00+08:00",
     "2026-10-08T17:00:00+08:00"},
    {"3 working days before event.time", "event.time", "2026-10-08T15:00:00+08:00",
     "2026-09-28T09:00:00+08:00"},
    /* Before, landing on a Sunday: rolls FORWARD to Monday. */
    {"3 days before event.time", "event.time", "2026-03-04T15:00:00+08:00",
     "2026-03-02T09:00:00+08:00"},
    {"3 days before event.time exact", "event.time", "2026-03-04T15:00:00+08:00",
     "2026-03-01T09:00:00+08:00"},
    /* Hours: plain arithmetic, even into a holiday. */
    {"48 hours after event.time", "event.time", "2026-02-14T16:20:00+08:00",
     "2026-02-16T16:20:00+08:00"},
    {"1 hour before event.time", "event.time", "2026-03-01T00:30:00+08:00",
     "2026-02-28T23:30:00+08:00"},
    {"0 hours after event.time exact", "event.time", "2026-02-15T12:00:00+08:00",
     "2026-02-15T12:00:00+08:00"},
    /* A reference alone is the instant itself; with "at" it is a rolled date. */
    {"case.filed_at", "case.filed_at", "2026-02-15T10:15:30.500+08:00",
     "2026-02-15T10:15:30.500+08:00"},
    {"case.filed_at at 17:00", "case.filed_at", "2026-02-15T10:15:30+08:00",
     "2026-02-24T17:00:00+08:00"},
    {"event.time at 08:00 exact", "event.time", "2026-02-15T10:15:30+08:00",
     "2026-02-15T08:00:00+08:00"},
    {"event.time exact at 8:00", "event.time", "2026-02-15T10:15:30+08:00",
     "2026-02-15T08:00:00+08:00"},
    {"0 days after now", "now", "2026-02-21T11:00:00+08:00", "2026-02-24T09:00:00+08:00"},
    /* Days of the month. */
    {"day 25 of the month after case.closed_at", "case.closed_at", "2026-03-10T10:00:00+08:00",
     "2026-04-27T09:00:00+08:00"}, /* Apr 25 is a Saturday */
    {"the 25th of the month after case.closed_at", "case.closed_at", "2026-03-10T10:00:00+08:00",
     "2026-04-27T09:00:00+08:00"},
    {"day 25 of the month of case.closed_at", "case.closed_at", "2026-03-10T10:00:00+08:00",
     "2026-03-25T09:00:00+08:00"},
    {"day 31 of the month after case.closed_at", "case.closed_at", "2026-01-15T10:00:00+08:00",
     "2026-02-28T09:00:00+08:00"},
    {"day 1 of the month after case.closed_at exact", "case.closed_at", "2026-12-15T10:00:00+08:00",
     "2027-01-01T09:00:00+08:00"},
    {"the first working day of the month after case.closed_at", "case.closed_at",
     "2026-09-10T10:00:00+08:00", "2026-10-08T09:00:00+08:00"},
    {"the first working day of the month after case.closed_at", "case.closed_at",
     "2025-12-20T10:00:00+08:00", "2026-01-04T09:00:00+08:00"}, /* a make-up Sunday */
    {"the first working day of the month of case.closed_at at 08:30", "case.closed_at",
     "2026-02-20T10:00:00+08:00", "2026-02-02T08:30:00+08:00"},
    /* Archiving: within one month, and by the 25th of the next month: whichever is earlier. */
    {"1 month after case.closed_at or day 25 of the month after case.closed_at", "case.closed_at",
     "2026-01-20T10:00:00+08:00",
     "2026-02-24T09:00:00+08:00"}, /* Feb 20 in 春节 rolls to Feb 24, before Feb 25 */
    {"1 month after case.closed_at or day 25 of the month after case.closed_at", "case.closed_at",
     "2026-01-31T10:00:00+08:00", "2026-02-25T09:00:00+08:00"},
    {"1 month after case.closed_at or day 25 of the month after case.closed_at", "case.closed_at",
     "2025-12-31T10:00:00+08:00",
     "2026-01-26T09:00:00+08:00"}, /* Jan 25 is a Sunday; Jan 31 a Saturday */
    {"1 month after case.closed_at or day 25 of the month after case.closed_at", "case.closed_at",
     "2025-12-10T10:00:00+08:00", "2026-01-12T09:00:00+08:00"}, /* Jan 10 is a Saturday */
    {"1 month after case.closed_at or day 25 of the month after case.closed_at, whichever is "
     "earlier",
     "case.closed_at", "2026-12-28T10:00:00+08:00",
     "2027-01-25T09:00:00+08:00"}, /* into 2027: Monday-Friday fallback */
    {"day 25 of the month after case.closed_at or 1 month after case.closed_at whichever is "
     "earliest",
     "case.closed_at", "2025-12-10T10:00:00+08:00", "2026-01-12T09:00:00+08:00"},
    /* Keywords are case-insensitive, and so is the root of a reference. */
    {"1 DAY After Case.filed_at", "case.filed_at", "2026-03-02T18:00:00+08:00",
     "2026-03-03T09:00:00+08:00"},
    {"  15   days\tafter case.filed_at  ", "case.filed_at", "2026-01-01T10:00:00+08:00",
     "2026-01-16T09:00:00+08:00"},
};

static void test_eval_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(eval_cases); i++)
        check_eval(eval_cases[i].expr, eval_cases[i].ref, eval_cases[i].ref_at, eval_cases[i].want);
}

static void test_eval_missing_reference(void **state)
{
    (void)state;
    cf_when *w =
        cf_when_parse("5 days after case.filed_at or 1 month after case.closed_at", NULL, 0, NULL);
    assert_non_null(w);
    struct facts f = {{"case.filed_at"}, {at("2026-03-02T10:00:00+08:00")}};
    cf_time t = 42;
    /* The earliest of two cannot be known while one of them is unknown. */
    assert_int_equal(cf_when_eval(w, fx_cn, resolve, &f, &t), CF_ENOTFOUND);
    assert_int_equal(t, 42);
    assert_int_equal(cf_when_eval(w, fx_cn, NULL, &f, &t), CF_EINVAL);
    cf_when_free(w);
}

static void test_eval_without_calendar(void **state)
{
    (void)state;
    /* No calendar: Monday-Friday at UTC+08:00, so 春节 is not a holiday. */
    cf_when *w = cf_when_parse("15 days after case.filed_at", NULL, 0, NULL);
    assert_non_null(w);
    struct facts f = {{"case.filed_at"}, {at("2026-02-01T10:00:00+08:00")}};
    cf_time t;
    char buf[CF_TIME_BUFSZ];
    assert_int_equal(cf_when_eval(w, NULL, resolve, &f, &t), 0);
    assert_string_equal(fmt(t, buf), "2026-02-16T09:00:00+08:00");
    cf_when_free(w);
}

static void test_refs(void **state)
{
    (void)state;
    cf_when *w = cf_when_parse("now or 3 days after Case.filed_at or day 1 of the month after "
                               "case.filed_at or 2 hours after event.payload.served_at",
                               NULL, 0, NULL);
    assert_non_null(w);
    assert_int_equal(cf_when_ref_count(w), 3);
    assert_string_equal(cf_when_ref(w, 0), "now");
    assert_string_equal(cf_when_ref(w, 1), "case.filed_at");
    assert_string_equal(cf_when_ref(w, 2), "event.payload.served_at");
    assert_null(cf_when_ref(w, 3));
    cf_when_free(w);

    /* Several references: the earliest alternative wins. */
    w = cf_when_parse("now or 15 days after case.filed_at", NULL, 0, NULL);
    assert_non_null(w);
    struct facts f = {{"now", "case.filed_at"},
                      {at("2026-03-20T10:00:00+08:00"), at("2026-03-01T10:00:00+08:00")}};
    cf_time t;
    char buf[CF_TIME_BUFSZ];
    assert_int_equal(cf_when_eval(w, fx_cn, resolve, &f, &t), 0);
    assert_string_equal(fmt(t, buf), "2026-03-16T09:00:00+08:00");
    f.value[0] = at("2026-03-10T10:00:00+08:00");
    assert_int_equal(cf_when_eval(w, fx_cn, resolve, &f, &t), 0);
    assert_string_equal(fmt(t, buf), "2026-03-10T10:00:00+08:00");
    cf_when_free(w);
}

/* A count may come from a setting, bound after parsing; a clock's last day is a reference. */
static void test_setting_counts_and_clocks(void **state)
{
    (void)state;
    char err[256] = "", got[CF_TIME_BUFSZ];
    int col = 0;
    cf_time t;
    struct facts f = {{"clock.handling"}, {at("2026-09-02T23:59:00+08:00")}};
    cf_when *w = cf_when_parse("settings.lead days before clock.handling at 23:59 exact", err,
                               sizeof err, &col);

    assert_non_null(w);
    assert_int_equal(cf_when_ref_count(w), 1);
    assert_string_equal(cf_when_ref(w, 0), "clock.handling");
    assert_int_equal(cf_when_count_count(w), 1);
    assert_string_equal(cf_when_count_name(w, 0), "lead");
    /* Unbound, it cannot be evaluated. */
    assert_int_equal(cf_when_eval(w, fx_cn, resolve, &f, &t), CF_EINVAL);
    assert_int_equal(cf_when_bind_count(w, 1, 5), CF_ERANGE);
    assert_int_equal(cf_when_bind_count(w, 0, -1), CF_ERANGE);
    assert_int_equal(cf_when_bind_count(w, 0, 5), 0);
    assert_int_equal(cf_when_eval(w, fx_cn, resolve, &f, &t), 0);
    /* Five days before Wednesday 09-02 is Friday 08-28, not moved (exact). */
    assert_string_equal(fmt(t, got), "2026-08-28T23:59:00+08:00");
    cf_when_free(w);

    /* The same setting twice, and a number beside it. */
    w = cf_when_parse("settings.n working days after now or settings.n days after case.x or 3 "
                      "days after now",
                      err, sizeof err, &col);
    assert_non_null(w);
    assert_int_equal(cf_when_count_count(w), 1);
    cf_when_free(w);

    assert_null(cf_when_parse("settings.a.b days after now", err, sizeof err, &col));
    assert_non_null(strstr(err, "must name one setting"));
    assert_int_equal(col, 1);
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int col;
        const char *msg; /* a part of the message */
    } cases[] = {
        {"", 1, "empty time expression"},
        {"   ", 1, "empty time expression"},
        {"15 dayz after case.filed_at", 4, "expected a unit after the number"},
        {"15 days afterr case.filed_at", 9, "expected 'after' or 'before', found 'afterr'"},
        {"15 days case.filed_at", 9, "expected 'after' or 'before'"},
        {"15 days after", 14,
         "expected a reference (now, case.<field>, event.<field>, record.<field> or "
         "clock.<name>), found the end"},
        {"15 days after filing.date", 15, "expected a reference"},
        {"15 days after case.", 20, "needs a field name"},
        {"15 days after case.9x", 20, "needs a field name"},
        {"15 days after case.filed_at at 25:00", 32, "'25:00' is not a time of day"},
        {"15 days after case.filed_at at 09:60", 32, "is not a time of day"},
        {"15 days after case.filed_at at 9", 32, "expected a time of day HH:MM after 'at'"},
        {"15 days after case.filed_at at 09:00 at 10:00", 38, "'at' is given twice"},
        {"15 days after case.filed_at exact exact", 35, "'exact' is given twice"},
        {"48 hours after event.time at 09:00", 27, "'at' does not go with hours"},
        {"day 32 of the month after case.closed_at", 5, "must be 1 to 31"},
        {"day 0 of the month after case.closed_at", 5, "must be 1 to 31"},
        {"day 25 of month after case.closed_at", 11, "expected 'the'"},
        {"day 25 of the month before case.closed_at", 21, "expected 'after' or 'of'"},
        {"the 22th of the month after case.closed_at", 5, "neither a number nor an ordinal"},
        {"the 32nd of the month after case.closed_at", 5, "must be 1st to 31st"},
        {"the last working day of the month after case.closed_at", 5,
         "expected 'first working day' or a day such as '25th'"},
        {"the first day of the month after case.closed_at", 11, "expected 'working'"},
        {"1 month after case.closed_at or", 32, "expected a time expression"},
        {"or 1 month after case.closed_at", 1, "expected a time expression"},
        {"case.filed_at, whichever is earlier", 16, "needs alternatives joined by 'or'"},
        {"now or case.filed_at, whichever is later", 36, "only 'whichever is earlier'"},
        {"now or case.filed_at whichever comes first", 32, "expected 'whichever is earlier'"},
        {"15 days after case.filed_at, 1 day after now", 30,
         "expected 'whichever is earlier' after ','"},
        {"15 days after case.filed_at 9", 29, "unexpected '9'"},
        {"15 days after case.filed_at and now", 29, "unexpected 'and'"},
        {"15 days after case.filed_at 期", 29, "unexpected character '期'"},
        {"15 days after 立案日期", 15, "unexpected character '立'"},
        {"十五 days after case.filed_at", 1, "unexpected character '十'"},
        {"15days after case.filed_at", 1, "write a space after a number"},
        {"100001 days after case.filed_at", 1, "at most 100000"},
        {"99999999999999999999 days after case.filed_at", 1, "at most 100000"},
        {"-3 days after case.filed_at", 1, "unexpected character '-'"},
        {"15 days after 2026-03-01", 15, "expected a reference"},
        {"fifteen days after case.filed_at", 1, "expected a time expression"},
        {"15 working hours after case.filed_at", 12, "expected 'days' after 'working'"},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        char err[256] = "";
        int col = -1;
        cf_when *w = cf_when_parse(cases[i].text, err, sizeof err, &col);
        if (w) {
            cf_when_free(w);
            fail_msg("'%s' parsed", cases[i].text);
        }
        if (col != cases[i].col || !strstr(err, cases[i].msg))
            fail_msg("'%s':\n got column %d: %s\nwant column %d: ...%s...", cases[i].text, col, err,
                     cases[i].col, cases[i].msg);
    }
    /* NULL text, and NULL err/errcol, are allowed. */
    assert_null(cf_when_parse(NULL, NULL, 0, NULL));
    assert_null(cf_when_parse("15 days", NULL, 0, NULL));
}

/* ---- Schedules ------------------------------------------------------------------------------ */

static cf_schedule *must_schedule(const char *text)
{
    char err[256] = "";
    int col = 0;
    cf_schedule *s = cf_schedule_parse(text, err, sizeof err, &col);
    if (!s)
        fail_msg("'%s' did not parse: column %d: %s", text, col, err);
    return s;
}

static const struct {
    const char *schedule, *after, *want;
} next_cases[] = {
    {"every Mon, Wed, Fri at 09:00", "2026-02-12T12:00:00+08:00", "2026-02-13T09:00:00+08:00"},
    {"every Mon, Wed, Fri at 09:00", "2026-02-13T08:59:59.999+08:00", "2026-02-13T09:00:00+08:00"},
    /* Mon 16, Wed 18, Fri 20 and Mon 23 are all in 春节: they move to Tue 24, ONE occurrence. */
    {"every Mon, Wed, Fri at 09:00", "2026-02-13T09:00:00+08:00", "2026-02-24T09:00:00+08:00"},
    {"every Mon, Wed, Fri at 09:00", "2026-02-24T09:00:00+08:00", "2026-02-25T09:00:00+08:00"},
    {"every Mon, Wed, Fri at 09:00", "2025-01-24T09:00:00+08:00", "2025-01-27T09:00:00+08:00"},
    {"every Mon, Wed, Fri at 09:00", "2025-01-27T09:00:00+08:00", "2025-02-05T09:00:00+08:00"},
    {"every Mon, Wed, Fri at 09:00", "2025-02-05T09:00:00+08:00", "2025-02-07T09:00:00+08:00"},
    {"every working day at 09:00", "2026-02-13T09:00:00+08:00", "2026-02-14T09:00:00+08:00"},
    {"every working day at 09:00", "2026-02-14T09:00:00+08:00", "2026-02-24T09:00:00+08:00"},
    {"every working day at 09:00", "2026-12-31T09:00:00+08:00", "2027-01-01T09:00:00+08:00"},
    {"every day at 08:00", "2026-02-14T08:00:00+08:00", "2026-02-24T08:00:00+08:00"},
    {"every day at 08:00", "2026-09-30T09:00:00+08:00", "2026-10-08T08:00:00+08:00"},
    {"every day at 08:00 exact", "2026-02-14T08:00:00+08:00", "2026-02-15T08:00:00+08:00"},
    /* A Monday holiday (清明 2026-04-06; 端午 2025-06-02): Tuesday instead. */
    {"every week on Mon at 09:00", "2026-04-01T00:00:00+08:00", "2026-04-07T09:00:00+08:00"},
    {"every week on Mon at 09:00", "2026-04-07T09:00:00+08:00", "2026-04-13T09:00:00+08:00"},
    {"every week on Mon at 09:00", "2025-05-30T00:00:00+08:00", "2025-06-03T09:00:00+08:00"},
    {"every Monday at 09:00", "2026-09-29T00:00:00+08:00", "2026-10-08T09:00:00+08:00"},
    /* Sat Feb 7 is an ordinary weekend day: it moves to Monday.  Sat Feb 14 is a make-up
     * working day and stays.  Sat Feb 21 is in 春节 and moves to Tue Feb 24. */
    {"every Sat at 10:00", "2026-02-06T00:00:00+08:00", "2026-02-09T10:00:00+08:00"},
    {"every Sat at 10:00", "2026-02-09T10:00:00+08:00", "2026-02-14T10:00:00+08:00"},
    {"every Sat at 10:00", "2026-02-14T10:00:00+08:00", "2026-02-24T10:00:00+08:00"},
    {"every Sat at 10:00 exact", "2026-02-14T10:00:00+08:00", "2026-02-21T10:00:00+08:00"},
    /* Monthly. */
    {"every month on day 1 at 08:30", "2026-01-15T00:00:00+08:00", "2026-02-02T08:30:00+08:00"},
    {"every month on day 1 at 08:30", "2026-09-15T00:00:00+08:00", "2026-10-08T08:30:00+08:00"},
    {"every month on day 1 at 08:30", "2026-10-08T08:30:00+08:00", "2026-11-02T08:30:00+08:00"},
    {"every month on day 1 at 08:30", "2026-12-15T00:00:00+08:00", "2027-01-01T08:30:00+08:00"},
    {"the 1st of every month at 08:30", "2025-12-31T12:00:00+08:00", "2026-01-04T08:30:00+08:00"},
    {"the 1st of every month at 08:30", "2026-03-31T12:00:00+08:00", "2026-04-01T08:30:00+08:00"},
    /* Jan 31 2026 is a Saturday: January's occurrence is Monday Feb 2.  February has no 31st:
     * its last day, the make-up Saturday Feb 28. */
    {"every month on day 31 at 09:00", "2026-02-01T00:00:00+08:00", "2026-02-02T09:00:00+08:00"},
    {"every month on day 31 at 09:00", "2026-02-02T09:00:00+08:00", "2026-02-28T09:00:00+08:00"},
    {"every month on day 31 at 09:00", "2026-04-01T00:00:00+08:00", "2026-04-30T09:00:00+08:00"},
    {"every month on days 30, 31", "2026-02-02T09:00:00+08:00", "2026-02-28T09:00:00+08:00"},
    {"every month on days 30, 31", "2026-02-28T09:00:00+08:00", "2026-03-30T09:00:00+08:00"},
    {"the 1st and 15th of every month at 14:00", "2026-02-02T14:00:00+08:00",
     "2026-02-24T14:00:00+08:00"},
    /* Time zones: "after" is an instant, the schedule is local. */
    {"every working day at 09:00", "2026-03-02T00:59:59Z", "2026-03-02T09:00:00+08:00"},
    {"every working day at 09:00", "2026-03-02T01:00:00Z", "2026-03-03T09:00:00+08:00"},
};

static void test_schedule_next_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(next_cases); i++) {
        cf_schedule *s = must_schedule(next_cases[i].schedule);
        char got[CF_TIME_BUFSZ];
        fmt(cf_schedule_next(s, fx_cn, at(next_cases[i].after)), got);
        cf_schedule_free(s);
        if (strcmp(got, next_cases[i].want) != 0)
            fail_msg("'%s' after %s:\n got %s\nwant %s", next_cases[i].schedule,
                     next_cases[i].after, got, next_cases[i].want);
    }
}

/* A second, deliberately naive definition of schedules: list every nominal occurrence in a
 * window, move each to its working day, and take the first after `after`. */
struct naive {
    const char *text;
    int (*is_nominal)(cf_date d);
    int minute, exact;
};

static int mon_wed_fri(cf_date d)
{
    int w = cf_date_weekday(d);
    return w == 1 || w == 3 || w == 5;
}

static int every_day(cf_date d)
{
    (void)d;
    return 1;
}

static int sundays(cf_date d)
{
    return cf_date_weekday(d) == 7;
}

static int first_and_last_of_month(cf_date d)
{
    int y, m, day;
    cf_date_to_ymd(d, &y, &m, &day);
    return day == 1 || day == cf_date_days_in_month(y, m);
}

static cf_time naive_next(const struct naive *n, cf_time after)
{
    cf_date from = cf_time_date(after, 480);
    cf_time best = INT64_MAX;
    for (cf_date d = from - 40; d < from + 70; d++) {
        if (!n->is_nominal(d))
            continue;
        cf_date real = n->exact ? d : cf_calendar_next_working_day(fx_cn, d);
        cf_time t = cf_time_at(real, n->minute, 480);
        if (t > after && t < best)
            best = t;
    }
    return best;
}

static void test_schedule_matches_naive_definition(void **state)
{
    (void)state;
    static const struct naive defs[] = {
        {"every Mon, Wed and Fri at 09:00", mon_wed_fri, 540, 0},
        {"every day at 23:30", every_day, 1410, 0},
        {"every Sunday at 07:15", sundays, 435, 0},
        {"every Sunday at 07:15 exact", sundays, 435, 1},
        {"the 1st and 31st of every month at 00:00", first_and_last_of_month, 0, 0},
    };
    for (size_t i = 0; i < N_ELEMS(defs); i++) {
        cf_schedule *s = must_schedule(defs[i].text);
        for (cf_time t = at("2024-11-01T00:00:00+08:00"); t < at("2027-03-01T00:00:00+08:00");
             t += 7 * CF_MS_PER_HOUR + 13 * CF_MS_PER_MINUTE) {
            cf_time got = cf_schedule_next(s, fx_cn, t), want = naive_next(&defs[i], t);
            if (got != want) {
                char a[CF_TIME_BUFSZ], g[CF_TIME_BUFSZ], w[CF_TIME_BUFSZ];
                fail_msg("'%s' after %s: got %s, want %s", defs[i].text, fmt(t, a), fmt(got, g),
                         fmt(want, w));
            }
        }
        cf_schedule_free(s);
    }
}

static void test_schedule_walk_counts_working_days(void **state)
{
    (void)state;
    /* Following "every working day" through 2025-2026 meets each working day exactly once. */
    cf_schedule *s = must_schedule("every working day at 09:00");
    int want = 0, got = 0;
    for (cf_date d = cf_date_from_ymd(2025, 1, 1); d <= cf_date_from_ymd(2026, 12, 31); d++)
        want += cf_calendar_is_working_day(fx_cn, d);
    cf_time end = at("2027-01-01T00:00:00+08:00");
    for (cf_time t = cf_schedule_next(s, fx_cn, at("2024-12-31T12:00:00+08:00")); t < end;
         t = cf_schedule_next(s, fx_cn, t)) {
        assert_int_equal(cf_calendar_is_working_day(fx_cn, cf_time_date(t, 480)), 1);
        assert_int_equal(cf_time_minute_of_day(t, 480), 540);
        got++;
    }
    assert_int_equal(got, want);
    cf_schedule_free(s);
}

static void test_schedule_parse_forms(void **state)
{
    (void)state;
    static const char *const good[] = {
        "every Mon, Wed, Fri at 09:00",         "every day at 08:00",
        "every working day at 09:00",           "every month on day 1 at 08:30",
        "the 1st of every month at 08:30",      "every week on Mon at 09:00",
        "EVERY MONDAY AND THURSDAY AT 14:30",   "every Tue, Thu, and Sat",
        "every tues and thurs at 7:05 exact",   "every month on days 1, 15 and 28 at 08:30",
        "the 2nd, 3rd and 21st of every month", "every day exact at 08:00",
    };
    for (size_t i = 0; i < N_ELEMS(good); i++)
        cf_schedule_free(must_schedule(good[i]));

    static const struct {
        const char *text;
        int col;
        const char *msg;
    } bad[] = {
        {"", 1, "empty schedule"},
        {"every", 6, "expected day, working day, a day of the week"},
        {"every fortnight", 7, "expected day, working day"},
        {"every Funday at 09:00", 7, "expected day, working day"},
        {"every Mon, Mon at 09:00", 12, "'Mon' is listed twice"},
        {"every Mon, at 09:00", 12, "expected a day of the week"},
        {"every Monday at 9", 17, "expected a time of day HH:MM"},
        {"every Monday at 24:00", 17, "not a time of day"},
        {"every week at 09:00", 12, "expected 'on'"},
        {"every working at 09:00", 15, "expected 'day' after 'every working'"},
        {"every month on day 32", 20, "must be 1 to 31"},
        {"every month on day 1, 1", 23, "day 1 is listed twice"},
        {"every month on the 1st", 16, "expected 'day'"},
        {"every month at 08:30", 13, "expected 'on'"},
        {"the 1st of each month", 12, "expected 'every'"},
        {"the first of every month", 5, "expected a day of the month such as 1st"},
        {"every Mon at 09:00 sharp", 20, "unexpected 'sharp'"},
        {"daily at 09:00", 1, "expected a schedule such as"},
        {"every day at 08:00 at 09:00", 20, "'at' is given twice"},
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        char err[256] = "";
        int col = -1;
        cf_schedule *s = cf_schedule_parse(bad[i].text, err, sizeof err, &col);
        if (s) {
            cf_schedule_free(s);
            fail_msg("'%s' parsed", bad[i].text);
        }
        if (col != bad[i].col || !strstr(err, bad[i].msg))
            fail_msg("'%s':\n got column %d: %s\nwant column %d: ...%s...", bad[i].text, col, err,
                     bad[i].col, bad[i].msg);
    }
    assert_null(cf_schedule_parse(NULL, NULL, 0, NULL));
}

/* ---- The fuzz target on nasty inputs ------------------------------------------------------- */

static void fuzz_string(const char *s)
{
    LLVMFuzzerTestOneInput((const uint8_t *)s, strlen(s));
}

static void test_fuzz_inputs(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "",
        " \t\n",
        "99999 working days after now",
        "99999 working days before now",
        "100000 months after now",
        "100000 weeks before now exact",
        "100000 hours before case.missing",
        "day 31 of the month of case.missing or now",
        "the first working day of the month of event.a.b.c.d",
        "case.a.b.",
        "at 09:00",
        "or or or",
        ", whichever is earlier",
        "1 day after now,",
        "23:59",
        "24:00",
        "1st",
        "0th",
        "111th",
        "every month on days 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,"
        "26,27,28,29,30,31",
        "the 31st of every month exact",
        "every mon, tue, wed, thu, fri, sat, sun at 23:59",
        "every day and",
        "every Mon,, Tue",
        "2026-02-29",
        "2024-02-29",
        "0000-01-01T00:00:00+18:00",
        "0000-01-01T00:00:00-18:00",
        "9999-12-31T23:59:59.999-18:00",
        "2026-03-01T09:00:00.99999999999999999999+08:00",
        "\xff\xfe\x80",
        "15 days after case.\xe6\x9c\x9f",
        "zone: x\nutc_offset: \"+00:00\"\nyears: &y {2026: {source: s, holidays: *y}}\n",
        "&a [*a]",
        "years: {2026: {source: s, holidays: {2026-01-01: &n [*n]}}}",
        "{zone: x, utc_offset: \"+08:00\", years: {2199: {source: s, holidays: [2199-12-31]},"
        " 1900: {source: s, holidays: [1900-01-01]}}}",
    };
    for (size_t i = 0; i < N_ELEMS(inputs); i++)
        fuzz_string(inputs[i]);

    /* Long inputs: many alternatives, deep YAML nesting. */
    char buf[FUZZ_MAX_INPUT + 1] = "";
    while (strlen(buf) + 40 < sizeof buf)
        strcat(buf, "1 working day after case.a or ");
    strcat(buf, "now");
    fuzz_string(buf);
    memset(buf, '[', 500);
    memset(buf + 500, ']', 500);
    buf[1000] = '\0';
    fuzz_string(buf);
    /* Every single byte, alone. */
    for (int c = 1; c < 256; c++) {
        uint8_t b = (uint8_t)c;
        LLVMFuzzerTestOneInput(&b, 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval_table),
        cmocka_unit_test(test_eval_missing_reference),
        cmocka_unit_test(test_eval_without_calendar),
        cmocka_unit_test(test_refs),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_setting_counts_and_clocks),
        cmocka_unit_test(test_schedule_next_table),
        cmocka_unit_test(test_schedule_matches_naive_definition),
        cmocka_unit_test(test_schedule_walk_counts_working_days),
        cmocka_unit_test(test_schedule_parse_forms),
        cmocka_unit_test(test_fuzz_inputs),
    };
    return cmocka_run_group_tests(tests, fx_cn_setup, fx_cn_teardown);
}
