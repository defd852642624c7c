/*
 * libFuzzer target for the working-day calendar (core/caltime.h): any bytes are read as a
 * calendar's YAML.  A refused calendar says where ("calendar:line:column: ..."); an accepted one
 * answers every question about the days of its years consistently: the next working day is a
 * working day and none lies between, adding and then subtracting working days comes back, and
 * a named day is one the data lists.
 */
#include "fuzz.h"

#include "core/caltime.h"

/* Days looked at around each known year's first day: the holidays of a year fall inside it. */
#define SPAN 400

static void check_day(const cf_calendar *cal, cf_date d)
{
    cf_date next = cf_calendar_next_working_day(cal, d);
    cf_date prev = cf_calendar_prev_working_day(cal, d);

    FUZZ_CHECK(next >= d && prev <= d);
    FUZZ_CHECK(cf_calendar_is_working_day(cal, next) && cf_calendar_is_working_day(cal, prev));
    for (cf_date k = d; k < next; k++)
        FUZZ_CHECK(!cf_calendar_is_working_day(cal, k));
    if (cf_calendar_is_working_day(cal, d)) {
        cf_date later = cf_calendar_add_working_days(cal, d, 15);
        FUZZ_CHECK(later > d && cf_calendar_add_working_days(cal, later, -15) == d);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512] = "";
    cf_calendar *cal = cf_calendar_parse("calendar", (const char *)data, size, err, sizeof err);
    int first, last;

    if (!cal) {
        fuzz_check_position(err, "calendar");
        return 0;
    }
    FUZZ_CHECK(cf_calendar_zone(cal) != NULL);
    FUZZ_CHECK(cf_calendar_utc_offset(cal) > -24 * 60 && cf_calendar_utc_offset(cal) < 24 * 60);
    if (cf_calendar_years(cal, &first, &last) == 0) {
        FUZZ_CHECK(first <= last);
        FUZZ_CHECK(cf_calendar_year_source(cal, first) != NULL);
        for (int y = first; y <= last && y <= first + 2; y++) {
            cf_date start = cf_date_from_ymd(y, 1, 1);
            for (cf_date d = start - 10; d < start + SPAN; d++) {
                check_day(cal, d);
                if (cf_calendar_day_name(cal, d))
                    FUZZ_CHECK(cf_calendar_knows(cal, d));
            }
        }
    }
    cf_calendar_free(cal);
    return 0;
}
