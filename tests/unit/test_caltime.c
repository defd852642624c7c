/* Unit tests of core/caltime: date arithmetic, instants, and the working-day calendar of
 * workflows/calendars/cn.yaml with its loader's errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/caltime.h"
#include "fixture.h"

#define D(y, m, d) cf_date_from_ymd((y), (m), (d))
#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static cf_date parse_date(const char *s)
{
    cf_date d = 0;
    int rc = cf_date_parse(s, &d);
    if (rc != 0)
        fail_msg("test data: bad date %s", s);
    return d;
}

/* ---- Civil dates ---------------------------------------------------------------------------- */

static void test_ymd_known_days(void **state)
{
    (void)state;
    /* Day numbers and ISO weekdays checked against an independent implementation. */
    static const struct {
        int y, m, d;
        cf_date days;
        int weekday;
    } cases[] = {
        {1970, 1, 1, 0, 4},        {1969, 12, 31, -1, 3},   {2000, 2, 29, 11016, 2},
        {2000, 3, 1, 11017, 3},    {1900, 3, 1, -25508, 4}, {1, 1, 1, -719162, 1},
        {2024, 2, 29, 19782, 4},   {2026, 3, 1, 20513, 7},  {9999, 12, 31, 2932896, 5},
        {1600, 2, 29, -135081, 2},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        assert_int_equal(D(cases[i].y, cases[i].m, cases[i].d), cases[i].days);
        int y, m, d;
        cf_date_to_ymd(cases[i].days, &y, &m, &d);
        assert_int_equal(y, cases[i].y);
        assert_int_equal(m, cases[i].m);
        assert_int_equal(d, cases[i].d);
        assert_int_equal(cf_date_weekday(cases[i].days), cases[i].weekday);
    }
}

static void test_ymd_walk(void **state)
{
    (void)state;
    /* Walk day by day from 1599-12-01 to 2401-03-01: each next day is the day after in the
     * civil calendar, so every month end and every leap rule (1600, 1700, 2000, 2100, 2400) is
     * crossed once. */
    int y = 1599, m = 12, d = 1;
    int wd = cf_date_weekday(D(y, m, d));
    for (cf_date day = D(y, m, d); day <= D(2401, 3, 1); day++) {
        int yy, mm, dd;
        cf_date_to_ymd(day, &yy, &mm, &dd);
        if (yy != y || mm != m || dd != d)
            fail_msg("day %d: got %04d-%02d-%02d, want %04d-%02d-%02d", (int)day, yy, mm, dd, y, m,
                     d);
        assert_int_equal(D(y, m, d), day);
        assert_int_equal(cf_date_weekday(day), wd);
        wd = wd % 7 + 1;
        if (++d > cf_date_days_in_month(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
}

static void test_days_in_month(void **state)
{
    (void)state;
    static const struct {
        int y, m, days;
    } cases[] = {
        {2026, 1, 31},  {2026, 2, 28},  {2024, 2, 29}, {2000, 2, 29}, {1900, 2, 28},
        {2100, 2, 28},  {2400, 2, 29},  {2026, 4, 30}, {2026, 6, 30}, {2026, 9, 30},
        {2026, 11, 30}, {2026, 12, 31}, {2026, 7, 31}, {2026, 8, 31},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++)
        assert_int_equal(cf_date_days_in_month(cases[i].y, cases[i].m), cases[i].days);
}

static void test_add_months(void **state)
{
    (void)state;
    static const struct {
        const char *from;
        int months;
        const char *want;
    } cases[] = {
        {"2026-01-31", 1, "2026-02-28"}, /* the month has no 31st: its last day */
        {"2024-01-31", 1, "2024-02-29"}, /* leap year */
        {"2026-01-15", 1, "2026-02-15"},   {"2026-03-31", 1, "2026-04-30"},
        {"2026-03-31", -1, "2026-02-28"},  {"2026-08-31", 6, "2027-02-28"},
        {"2027-08-31", 6, "2028-02-29"},   {"2026-03-31", 6, "2026-09-30"},
        {"2025-12-15", 1, "2026-01-15"}, /* across the year */
        {"2026-01-15", -1, "2025-12-15"},  {"2026-05-20", 12, "2027-05-20"},
        {"2026-05-20", -13, "2025-04-20"}, {"2024-02-29", 12, "2025-02-28"},
        {"2024-02-29", 48, "2028-02-29"},  {"2026-02-28", 1, "2026-03-28"}, /* not month-end */
        {"2026-07-04", 0, "2026-07-04"},   {"1970-01-31", -1, "1969-12-31"},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        char got[CF_DATE_BUFSZ];
        cf_date_format(cf_date_add_months(parse_date(cases[i].from), cases[i].months), got,
                       sizeof got);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("%s %+d months: got %s, want %s", cases[i].from, cases[i].months, got,
                     cases[i].want);
    }
}

static void test_date_parse_and_format(void **state)
{
    (void)state;
    static const char *const good[] = {"2026-03-01", "2024-02-29", "2000-02-29", "1969-12-31",
                                       "0001-01-01", "9999-12-31", "2026-12-31"};
    for (size_t i = 0; i < N_ELEMS(good); i++) {
        cf_date d;
        char buf[CF_DATE_BUFSZ];
        assert_int_equal(cf_date_parse(good[i], &d), 0);
        cf_date_format(d, buf, sizeof buf);
        assert_string_equal(buf, good[i]);
    }
    static const char *const bad[] = {
        "",
        "2026-02-29",
        "1900-02-29",
        "2026-04-31",
        "2026-13-01",
        "2026-00-10",
        "2026-01-00",
        "2026-1-01",
        "2026-01-1",
        "26-01-01",
        "2026/01/01",
        "2026-01-01x",
        " 2026-01-01",
        "2026-01-01 ",
        "2026-01-01T00:00:00Z",
        "２０２６-01-01",
        "+2026-01-01",
        "0000-01-01", /* PostgreSQL has no year 0 */
        "10000-01-01",
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        cf_date d = 12345;
        if (cf_date_parse(bad[i], &d) != CF_EPARSE)
            fail_msg("'%s' parsed", bad[i]);
        assert_int_equal(d, 12345); /* untouched on error */
    }
    cf_date d;
    assert_int_equal(cf_date_parse(NULL, &d), CF_EPARSE);

    char small[6];
    cf_date_format(D(2026, 3, 1), small, sizeof small);
    assert_string_equal(small, "2026-");
}

/* ---- Instants ------------------------------------------------------------------------------- */

static void test_time_parse(void **state)
{
    (void)state;
    /* Milliseconds checked against an independent implementation. */
    static const struct {
        const char *text;
        cf_time want;
    } good[] = {
        {"2026-03-01T09:00:00+08:00", 1772326800000},
        {"2026-03-01T01:00:00Z", 1772326800000},
        {"2026-03-01t01:00:00z", 1772326800000},
        {"2026-03-01 09:00:00+08:00", 1772326800000},
        {"2026-03-01T09:00+08:00", 1772326800000},
        {"2026-03-01T09:00:00+0800", 1772326800000},
        {"2026-03-01T09:00:00.250+08:00", 1772326800250},
        {"2026-03-01T09:00:00.25+08:00", 1772326800250},
        {"2026-03-01T09:00:00.2+08:00", 1772326800200},
        {"2026-03-01T09:00:00.2509999+08:00", 1772326800250}, /* truncated, not rounded */
        {"2026-03-01T09:00:00-05:30", 1772375400000},
        {"2026-12-31T23:59:59+14:00", 1798711199000},
        {"2026-03-01", 1772294400000}, /* local midnight at UTC+8 */
        {"1969-12-31T23:59:59.999Z", -1},
        {"1970-01-01T00:00:00Z", 0},
    };
    for (size_t i = 0; i < N_ELEMS(good); i++) {
        cf_time t = 0;
        if (cf_time_parse(good[i].text, &t) != 0)
            fail_msg("'%s' did not parse", good[i].text);
        if (t != good[i].want)
            fail_msg("'%s': got %lld, want %lld", good[i].text, (long long)t,
                     (long long)good[i].want);
    }
    static const char *const bad[] = {
        "",
        "2026-03-01T09:00:00", /* no offset: not an instant */
        "2026-03-01T",
        "2026-03-01T9:00+08:00",
        "2026-03-01T24:00:00+08:00",
        "2026-03-01T09:60:00+08:00",
        "2026-03-01T09:00:60+08:00",
        "2026-03-01T09:00:00.+08:00",
        "2026-03-01T09:00.5+08:00",
        "2026-03-01T09:00:00+8:00",
        "2026-03-01T09:00:00+08:0",
        "2026-03-01T09:00:00+19:00",
        "2026-03-01T09:00:00+16:00",
        "2026-03-01T09:00:00+08:60",
        "2026-03-01T09:00:00Z ",
        "2026-03-01T09:00:00+08:00x",
        "2026-02-30T09:00:00+08:00",
        "2026-03-01X09:00:00+08:00",
        "2026-03-01  09:00:00+08:00",
        "2026-03-01T09:00:00 +08:00",
        "2026-03-01T09:00:00UTC",
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        cf_time t = 77;
        if (cf_time_parse(bad[i], &t) != CF_EPARSE)
            fail_msg("'%s' parsed", bad[i]);
        assert_int_equal(t, 77);
    }
    cf_time t;
    assert_int_equal(cf_time_parse(NULL, &t), CF_EPARSE);
}

/* The edges of what PostgreSQL stores: years 0001-9999, offsets within -15:59 and +15:59.  A
 * time that parses here must not fail inside the database. */
static void test_time_parse_bounds(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        cf_time want;
    } good[] = {
        {"0001-01-01T00:00:00Z", -62135596800000},
        {"9999-12-31T23:59:59Z", 253402300799000},
        {"2026-03-01T09:00:00+15:59", 1772326800000 + (8 * 60 - 959) * CF_MS_PER_MINUTE},
        {"2026-03-01T09:00:00-15:59", 1772326800000 + (8 * 60 + 959) * CF_MS_PER_MINUTE},
        {"2026-03-01T09:00:00+1559", 1772326800000 + (8 * 60 - 959) * CF_MS_PER_MINUTE},
        {"0001-01-01", -62135596800000 - 8 * CF_MS_PER_HOUR},
    };
    for (size_t i = 0; i < N_ELEMS(good); i++) {
        cf_time t = 0;
        char err[128] = "";
        if (cf_time_parse_err(good[i].text, &t, err, sizeof err) != 0)
            fail_msg("'%s' did not parse: %s", good[i].text, err);
        if (t != good[i].want)
            fail_msg("'%s': got %lld, want %lld", good[i].text, (long long)t,
                     (long long)good[i].want);
    }
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"0000-01-01T00:00:00Z", "the year must be 0001 to 9999"},
        {"0000-12-31T23:59:59+08:00", "the year must be 0001 to 9999"},
        {"0000-01-01", "the year must be 0001 to 9999"},
        {"10000-01-01T00:00:00Z", "the year must be 0001 to 9999"},
        {"2026-03-01T09:00:00+16:00", "the UTC offset must be within -15:59 and +15:59"},
        {"2026-03-01T09:00:00-16:00", "the UTC offset must be within -15:59 and +15:59"},
        {"2026-03-01T09:00:00+17:00", "the UTC offset must be within -15:59 and +15:59"},
        {"2026-03-01T09:00:00+1700", "the UTC offset must be within -15:59 and +15:59"},
        {"2026-03-01T09:00:00+18:00", "the UTC offset must be within -15:59 and +15:59"},
        {"2026-03-01T09:00:00+08:60", "the UTC offset must be within -15:59 and +15:59"},
        {"2026-03-01T09:00:00-15:60", "the UTC offset must be within -15:59 and +15:59"},
        {"2026-03-01T09:00:00+8:00", "the UTC offset must be +HH:MM or -HH:MM"},
        {"2026-03-01T09:00:00", "a time needs its UTC offset (Z or +08:00)"},
        {"2026-02-30T09:00:00Z", "no such day"},
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        cf_time t = 77;
        char err[128] = "";
        if (cf_time_parse_err(bad[i].text, &t, err, sizeof err) != CF_EPARSE)
            fail_msg("'%s' parsed", bad[i].text);
        if (strcmp(err, bad[i].why) != 0)
            fail_msg("'%s': got '%s', want '%s'", bad[i].text, err, bad[i].why);
        assert_int_equal(cf_time_parse(bad[i].text, &t), CF_EPARSE);
        assert_int_equal(t, 77);
    }
}

static void test_time_format(void **state)
{
    (void)state;
    static const struct {
        cf_time t;
        int offset;
        const char *want;
    } cases[] = {
        {1772326800000, 480, "2026-03-01T09:00:00+08:00"},
        {1772326800250, 480, "2026-03-01T09:00:00.250+08:00"},
        {1772326800007, 480, "2026-03-01T09:00:00.007+08:00"},
        {1772326800000, 0, "2026-03-01T01:00:00Z"},
        {1772375400000, -330, "2026-03-01T09:00:00-05:30"},
        {1772294400000 - 1, 480, "2026-02-28T23:59:59.999+08:00"},
        {-1, 0, "1969-12-31T23:59:59.999Z"},
        {0, 480, "1970-01-01T08:00:00+08:00"},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        char buf[CF_TIME_BUFSZ];
        cf_time back;
        cf_time_format(cases[i].t, cases[i].offset, buf, sizeof buf);
        assert_string_equal(buf, cases[i].want);
        assert_int_equal(cf_time_parse(buf, &back), 0);
        assert_int_equal(back, cases[i].t);
    }
    /* Round trips over a spread of instants before and after 1970. */
    for (cf_time t = -3000000000000; t < 4000000000000; t += 7777777777) {
        char buf[CF_TIME_BUFSZ];
        cf_time back;
        cf_time_format(t, 480, buf, sizeof buf);
        assert_int_equal(cf_time_parse(buf, &back), 0);
        assert_int_equal(back, t);
    }
}

static void test_time_local_parts(void **state)
{
    (void)state;
    cf_time t;
    assert_int_equal(cf_time_parse("2026-03-01T23:30:00Z", &t), 0);
    /* 23:30 UTC is 07:30 the next day in Shanghai. */
    assert_int_equal(cf_time_date(t, 480), D(2026, 3, 2));
    assert_int_equal(cf_time_minute_of_day(t, 480), 7 * 60 + 30);
    assert_int_equal(cf_time_date(t, 0), D(2026, 3, 1));
    assert_int_equal(cf_time_minute_of_day(t, 0), 23 * 60 + 30);
    assert_int_equal(cf_time_at(D(2026, 3, 2), 7 * 60 + 30, 480), t);
    /* Before 1970 the day still starts at local midnight. */
    assert_int_equal(cf_time_date(-1, 0), -1);
    assert_int_equal(cf_time_minute_of_day(-1, 0), 1439);
    assert_int_equal(cf_time_date(-8 * 3600000 - 1, 480), -1);
    assert_int_equal(cf_time_at(-1, 0, 0), -86400000);
    for (cf_date d = D(1969, 12, 25); d < D(1970, 1, 5); d++) {
        for (int minute = 0; minute < 1440; minute += 37) {
            cf_time at = cf_time_at(d, minute, 480);
            assert_int_equal(cf_time_date(at, 480), d);
            assert_int_equal(cf_time_minute_of_day(at, 480), minute);
        }
    }
}

/* ---- The calendar of workflows/calendars/cn.yaml -------------------------------------------- */

/* Every holiday period and make-up working day of the State Council's notices, written out
 * here again so that the data file is checked against a second copy. */
static const struct {
    const char *from, *to, *name;
} holidays[] = {
    {"2025-01-01", "2025-01-01", "元旦"},   {"2025-01-28", "2025-02-04", "春节"},
    {"2025-04-04", "2025-04-06", "清明节"}, {"2025-05-01", "2025-05-05", "劳动节"},
    {"2025-05-31", "2025-06-02", "端午节"}, {"2025-10-01", "2025-10-08", "国庆节、中秋节"},
    {"2026-01-01", "2026-01-03", "元旦"},   {"2026-02-15", "2026-02-23", "春节"},
    {"2026-04-04", "2026-04-06", "清明节"}, {"2026-05-01", "2026-05-05", "劳动节"},
    {"2026-06-19", "2026-06-21", "端午节"}, {"2026-09-25", "2026-09-27", "中秋节"},
    {"2026-10-01", "2026-10-07", "国庆节"},
};

static const char *const makeup_days[] = {
    "2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11", "2026-01-04",
    "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10",
};

static void test_calendar_meta(void **state)
{
    (void)state;
    assert_string_equal(cf_calendar_zone(fx_cn), "Asia/Shanghai");
    assert_int_equal(cf_calendar_utc_offset(fx_cn), 480);
    int first, last;
    assert_int_equal(cf_calendar_years(fx_cn, &first, &last), 0);
    assert_int_equal(first, 2025);
    assert_int_equal(last, 2026);
    assert_non_null(strstr(cf_calendar_year_source(fx_cn, 2025), "国办发明电〔2024〕12号"));
    assert_non_null(strstr(cf_calendar_year_source(fx_cn, 2026), "2026年部分节假日安排"));
    assert_null(cf_calendar_year_source(fx_cn, 2027));
}

static void test_calendar_every_day_of_both_years(void **state)
{
    (void)state;
    for (cf_date d = D(2025, 1, 1); d <= D(2026, 12, 31); d++) {
        int want = cf_date_weekday(d) <= 5;
        const char *name = NULL;
        for (size_t i = 0; i < N_ELEMS(holidays); i++) {
            if (d >= parse_date(holidays[i].from) && d <= parse_date(holidays[i].to)) {
                want = 0;
                name = holidays[i].name;
            }
        }
        for (size_t i = 0; i < N_ELEMS(makeup_days); i++) {
            if (d == parse_date(makeup_days[i])) {
                /* A make-up day is a weekend day the notice turns into a working day. */
                assert_true(cf_date_weekday(d) >= 6);
                want = 1;
            }
        }
        char ds[CF_DATE_BUFSZ];
        cf_date_format(d, ds, sizeof ds);
        if (cf_calendar_is_working_day(fx_cn, d) != want)
            fail_msg("%s: working day is %d, want %d", ds, cf_calendar_is_working_day(fx_cn, d),
                     want);
        assert_int_equal(cf_calendar_knows(fx_cn, d), 1);
        if (name) {
            const char *got = cf_calendar_day_name(fx_cn, d);
            if (!got || strcmp(got, name) != 0)
                fail_msg("%s: name '%s', want '%s'", ds, got ? got : "(none)", name);
        }
    }
    assert_string_equal(cf_calendar_day_name(fx_cn, D(2026, 2, 14)), "春节调休上班");
    assert_null(cf_calendar_day_name(fx_cn, D(2026, 3, 3)));
}

static void test_next_working_day(void **state)
{
    (void)state;
    static const struct {
        const char *from, *want;
    } cases[] = {
        {"2026-02-15", "2026-02-24"}, /* first day of 春节 2026: the whole span is skipped */
        {"2026-02-21", "2026-02-24"}, {"2026-02-23", "2026-02-24"},
        {"2026-02-14", "2026-02-14"},                               /* make-up Saturday */
        {"2026-02-13", "2026-02-13"}, {"2025-01-28", "2025-02-05"}, /* 春节 2025 */
        {"2025-01-25", "2025-01-26"}, /* Sat, then the make-up Sunday */
        {"2026-01-01", "2026-01-04"}, /* 元旦, then the make-up Sunday */
        {"2026-10-01", "2026-10-08"}, {"2026-09-25", "2026-09-28"},
        {"2025-12-31", "2025-12-31"}, {"2026-03-07", "2026-03-09"},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        char got[CF_DATE_BUFSZ];
        cf_date_format(cf_calendar_next_working_day(fx_cn, parse_date(cases[i].from)), got,
                       sizeof got);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("next working day from %s: got %s, want %s", cases[i].from, got,
                     cases[i].want);
    }
    assert_int_equal(cf_calendar_prev_working_day(fx_cn, D(2026, 2, 23)), D(2026, 2, 14));
    assert_int_equal(cf_calendar_prev_working_day(fx_cn, D(2026, 2, 24)), D(2026, 2, 24));
}

static void test_add_working_days(void **state)
{
    (void)state;
    static const struct {
        const char *from;
        int n;
        const char *want;
    } cases[] = {
        {"2026-09-30", 1, "2026-10-08"}, /* 国庆 Oct 1-7 off */
        {"2026-09-30", 3, "2026-10-10"}, /* Oct 8, 9, and the make-up Saturday Oct 10 */
        {"2026-09-28", 5, "2026-10-10"},  {"2026-09-18", 1, "2026-09-20"}, /* the make-up Sunday */
        {"2026-09-24", 1, "2026-09-28"},                                   /* 中秋 Sep 25-27 */
        {"2026-10-08", -1, "2026-09-30"}, {"2026-10-08", -3, "2026-09-28"},
        {"2026-10-12", -2, "2026-10-09"}, /* back over the make-up Saturday Oct 10 */
        {"2025-09-30", 1, "2025-10-09"},  /* 国庆+中秋 2025 Oct 1-8 */
        {"2025-09-26", 1, "2025-09-28"},  {"2026-02-13", 2, "2026-02-24"},
        {"2026-02-15", 0, "2026-02-15"}, /* n = 0 is the day itself */
        {"2026-03-02", 5, "2026-03-09"},  {"2026-03-02", 10, "2026-03-16"},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        char got[CF_DATE_BUFSZ];
        cf_date_format(cf_calendar_add_working_days(fx_cn, parse_date(cases[i].from), cases[i].n),
                       got, sizeof got);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("%s %+d working days: got %s, want %s", cases[i].from, cases[i].n, got,
                     cases[i].want);
    }
}

static void test_fallback_outside_known_years(void **state)
{
    (void)state;
    /* 2027 is not in the data: Monday-Friday, and the calendar says it does not know. */
    assert_int_equal(cf_calendar_knows(fx_cn, D(2027, 1, 1)), 0);
    assert_int_equal(cf_calendar_knows(fx_cn, D(2024, 12, 31)), 0);
    assert_int_equal(cf_calendar_knows(fx_cn, D(2025, 1, 1)), 1);
    assert_int_equal(cf_calendar_is_working_day(fx_cn, D(2027, 1, 1)), 1); /* a Friday */
    assert_int_equal(cf_calendar_is_working_day(fx_cn, D(2027, 1, 2)), 0);
    assert_int_equal(cf_calendar_is_working_day(fx_cn, D(2024, 10, 1)), 1); /* a Tuesday */
    assert_int_equal(cf_calendar_next_working_day(fx_cn, D(2026, 12, 31)), D(2026, 12, 31));
    assert_int_equal(cf_calendar_add_working_days(fx_cn, D(2026, 12, 31), 2), D(2027, 1, 4));
    assert_int_equal(cf_calendar_add_working_days(fx_cn, D(2025, 1, 2), -2), D(2024, 12, 30));
    assert_null(cf_calendar_day_name(fx_cn, D(2027, 1, 1)));

    /* A NULL calendar is Monday-Friday at UTC+08:00 everywhere. */
    assert_int_equal(cf_calendar_knows(NULL, D(2026, 2, 16)), 0);
    assert_int_equal(cf_calendar_is_working_day(NULL, D(2026, 2, 16)), 1);
    assert_int_equal(cf_calendar_is_working_day(NULL, D(2026, 2, 14)), 0);
    assert_int_equal(cf_calendar_utc_offset(NULL), 480);
    int first, last;
    assert_int_equal(cf_calendar_years(NULL, &first, &last), CF_ENOTFOUND);
}

/* ---- The loader ----------------------------------------------------------------------------- */

static void test_loader_accepts_lists_and_maps(void **state)
{
    (void)state;
    static const char text[] = "# a comment\n"
                               "zone: Asia/Shanghai\n"
                               "utc_offset: +08:00\n"
                               "years:\n"
                               "  2025:\n"
                               "    source: test\n"
                               "    holidays: [2025-01-01, \"2025-01-28..2025-02-04\"]\n"
                               "    working_weekends:\n"
                               "      - 2025-01-26\n"
                               "      - '2025-02-08'\n"
                               "  2030:\n"
                               "    source: test\n"
                               "    holidays:\n"
                               "      2030-10-01..2030-10-03:\n";
    char err[256] = "";
    cf_calendar *cal = cf_calendar_parse("t.yaml", text, strlen(text), err, sizeof err);
    if (!cal)
        fail_msg("%s", err);
    assert_int_equal(cf_calendar_is_working_day(cal, D(2025, 1, 1)), 0);
    assert_int_equal(cf_calendar_is_working_day(cal, D(2025, 2, 4)), 0);
    assert_int_equal(cf_calendar_is_working_day(cal, D(2025, 2, 5)), 1);
    assert_int_equal(cf_calendar_is_working_day(cal, D(2025, 2, 8)), 1);
    assert_int_equal(cf_calendar_is_working_day(cal, D(2030, 10, 2)), 0);
    assert_null(cf_calendar_day_name(cal, D(2030, 10, 2)));
    /* Years between the listed ones are not known. */
    assert_int_equal(cf_calendar_knows(cal, D(2027, 6, 1)), 0);
    assert_int_equal(cf_calendar_knows(cal, D(2030, 6, 1)), 1);
    int first, last;
    assert_int_equal(cf_calendar_years(cal, &first, &last), 0);
    assert_int_equal(first, 2025);
    assert_int_equal(last, 2030);
    cf_calendar_free(cal);
}

/* A valid header for the broken texts below; the year starts on line 4. */
#define HEAD "zone: Asia/Shanghai\nutc_offset: \"+08:00\"\nyears:\n"

static void test_loader_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *want; /* the start of the message */
    } cases[] = {
        {"", "t.yaml:1:1: empty calendar"},
        {"- 1\n- 2\n", "t.yaml:1:1: expected a mapping with zone, utc_offset and years, found a "
                       "list"},
        {"zone: [x\n", "t.yaml:2:1: did not find expected"},
        {"zone: Asia/Shanghai\nzone: x\n", "t.yaml:2:1: duplicate key 'zone'"},
        {"zone: Asia/Shanghai\ntimezone: x\n", "t.yaml:2:1: unknown key 'timezone'"},
        {"zone: Asia/Shanghai\nutc_offset: \"+8\"\n", "t.yaml:2:13: 'utc_offset' must be"},
        {"zone: Asia/Shanghai\nutc_offset: \"+19:00\"\n", "t.yaml:2:13: 'utc_offset' must be"},
        {"zone: Asia/Shanghai\nutc_offset: \"-16:00\"\n", "t.yaml:2:13: 'utc_offset' must be"},
        {"utc_offset: \"+08:00\"\nyears: {}\n", "t.yaml:1:1: missing 'zone'"},
        {"zone: Asia/Shanghai\nyears: {}\n", "t.yaml:1:1: missing 'utc_offset'"},
        {"zone: Asia/Shanghai\nutc_offset: \"+08:00\"\n", "t.yaml:1:1: missing 'years'"},
        {HEAD "  26:\n    source: s\n    holidays: []\n",
         "t.yaml:4:3: expected a year (1900-2199), found '26'"},
        {HEAD "  2026: [2026-01-01]\n", "t.yaml:4:9: expected the year's source"},
        {HEAD "  2026:\n    holidays: [2026-01-01]\n", "t.yaml:4:3: year 2026 has no 'source'"},
        {HEAD "  2026:\n    source: s\n", "t.yaml:4:3: year 2026 has no 'holidays'"},
        {HEAD "  2026:\n    source: s\n    holiday: []\n",
         "t.yaml:6:5: unknown key 'holiday' (expected source, holidays, working_weekends)"},
        {HEAD "  2026:\n    source: s\n    holidays: [2026-02-30]\n",
         "t.yaml:6:16: '2026-02-30' is not a date (YYYY-MM-DD)"},
        {HEAD "  2026:\n    source: s\n    holidays: [2026-1-1]\n",
         "t.yaml:6:16: '2026-1-1' is not a date"},
        {HEAD "  2026:\n    source: s\n    holidays: [\"2026-02-15..2026-02-3\"]\n",
         "t.yaml:6:29: '2026-02-3' is not a date"},
        {HEAD "  2026:\n    source: s\n    holidays:\n      2026-02-23..2026-02-15: 春节\n",
         "t.yaml:7:19: the range ends before it starts (2026-02-23..2026-02-15)"},
        {HEAD "  2026:\n    source: s\n    holidays: [2025-12-31..2026-01-01]\n",
         "t.yaml:6:16: 2025-12-31 is not in 2026"},
        {HEAD "  2026:\n    source: s\n    holidays: [2026-01-01, 2026-01-01..2026-01-03]\n",
         "t.yaml:6:28: 2026-01-01 is listed twice (also on line 6)"},
        {HEAD "  2026:\n    source: s\n    holidays: [2026-02-15..2026-02-23]\n"
              "    working_weekends: [2026-02-14, 2026-02-22]\n",
         "t.yaml:7:36: 2026-02-22 is both a holiday and a make-up working day (see line 6)"},
        {HEAD "  2026:\n    source: s\n    holidays: [2026-01-01]\n"
              "    working_weekends: [2026-02-13]\n",
         "t.yaml:7:24: 2026-02-13 is a Friday, a working day anyway"},
        {HEAD "  2026:\n    source: s\n    holidays: [2026-01-01]\n  2026:\n    source: t\n"
              "    holidays: [2026-01-02]\n",
         "t.yaml:7:3: year 2026 is listed twice"},
        {HEAD "  2026:\n    source: s\n    holidays: 2026-01-01\n",
         "t.yaml:6:15: expected a list of dates or a mapping of date to name, found a scalar"},
        {HEAD "  2026:\n    source: s\n    holidays:\n      2026-01-01: [a]\n",
         "t.yaml:7:19: expected the name of the holiday, found a list"},
        {HEAD "  2026:\n    source: s\n    holidays: [[2026-01-01]]\n",
         "t.yaml:6:16: expected a date or a range"},
        {HEAD "  2026:\n    source: \"\"\n    holidays: []\n",
         "t.yaml:5:13: 'source' must name the notice"},
        {HEAD "  2026:\n    source: s\n    holidays:\n    - 2026-01-01\n   - x\n", "t.yaml:8:4:"},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        char err[512] = "";
        cf_calendar *cal =
            cf_calendar_parse("t.yaml", cases[i].text, strlen(cases[i].text), err, sizeof err);
        if (cal) {
            cf_calendar_free(cal);
            fail_msg("case %zu loaded; want error '%s'", i, cases[i].want);
        }
        if (strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu:\n got: %s\nwant: %s", i, err, cases[i].want);
    }
}

static void test_load_missing_file(void **state)
{
    (void)state;
    char err[256] = "";
    assert_null(cf_calendar_load("/nonexistent/cn.yaml", err, sizeof err));
    assert_string_equal(err, "/nonexistent/cn.yaml: cannot open: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ymd_known_days),
        cmocka_unit_test(test_ymd_walk),
        cmocka_unit_test(test_days_in_month),
        cmocka_unit_test(test_add_months),
        cmocka_unit_test(test_date_parse_and_format),
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_time_parse_bounds),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_time_local_parts),
        cmocka_unit_test(test_calendar_meta),
        cmocka_unit_test(test_calendar_every_day_of_both_years),
        cmocka_unit_test(test_next_working_day),
        cmocka_unit_test(test_add_working_days),
        cmocka_unit_test(test_fallback_outside_known_years),
        cmocka_unit_test(test_loader_accepts_lists_and_maps),
        cmocka_unit_test(test_loader_errors),
        cmocka_unit_test(test_load_missing_file),
    };
    return cmocka_run_group_tests(tests, fx_cn_setup, fx_cn_teardown);
}
