/*
 * libFuzzer target for core/when and core/caltime: any bytes are parsed as a time expression,
 * a schedule, a date, an instant and a calendar, checking the promises of the headers (a
 * message and a column in range for every parse error; an evaluation that succeeds or says
 * which date is missing; a next occurrence strictly later; exact round trips of dates and
 * instants) and leaving memory and undefined behaviour to the sanitizers.
 * tests/unit/test_when.c runs the same function over nasty inputs, so this file must also build
 * without libFuzzer.
 *
 * Built by -DCASEFLOW_FUZZ=ON (tests/fuzz/CMakeLists.txt); fuzz it for five minutes with
 *   scripts/fuzz --time 300 when
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/when.h"
#include "fuzz.h"

/* Long inputs only repeat what short ones find, and "99999 working days" a thousand times over
 * would only measure the loop. */
#define FUZZ_MAX_INPUT 1024

/* A small calendar with a long holiday, so that rolling and moving are exercised. */
static const char fuzz_calendar[] = "zone: Asia/Shanghai\n"
                                    "utc_offset: \"+08:00\"\n"
                                    "years:\n"
                                    "  2026:\n"
                                    "    source: fuzz\n"
                                    "    holidays: {2026-02-15..2026-02-23: 春节}\n"
                                    "    working_weekends: [2026-02-14, 2026-02-28]\n";

/* Every reference resolves to the same instant, except those naming a missing date. */
static int fuzz_resolve(void *ctx, const char *ref, cf_time *out)
{
    (void)ctx;
    if (strstr(ref, "missing"))
        return CF_ENOTFOUND;
    *out = INT64_C(1771200000000); /* 2026-02-16T08:00:00+08:00, inside the holiday */
    return 0;
}

/* Checks a parse error's promises: a message, and a column within the text or just past it. */
static void check_error(const char *text, const char *err, int col)
{
    FUZZ_CHECK(err[0] != '\0');
    FUZZ_CHECK(col >= 1 && (size_t)col <= strlen(text) + 1);
}

static void fuzz_when(const char *text, const cf_calendar *cal)
{
    char err[256] = "";
    int col = 0;
    cf_when *w = cf_when_parse(text, err, sizeof err, &col);
    if (!w) {
        check_error(text, err, col);
        return;
    }
    FUZZ_CHECK(cf_when_ref_count(w) >= 1);
    for (size_t i = 0; i < cf_when_ref_count(w); i++) {
        const char *ref = cf_when_ref(w, i);
        /* record.* is the entry of keyed work (core/keyed.h): a measure's expiry. */
        FUZZ_CHECK(strcmp(ref, "now") == 0 || strncmp(ref, "case.", 5) == 0 ||
                   strncmp(ref, "event.", 6) == 0 || strncmp(ref, "clock.", 6) == 0 ||
                   strncmp(ref, "record.", 7) == 0);
    }
    /* Counts named by settings are bound first, as the loader does from the workflow's settings
     * (an expression with one unbound is refused by cf_when_eval, rightly). */
    for (size_t i = 0; i < cf_when_count_count(w); i++)
        FUZZ_CHECK(cf_when_bind_count(w, i, 3) == 0);
    cf_time t = 0;
    int rc = cf_when_eval(w, cal, fuzz_resolve, NULL, &t);
    FUZZ_CHECK(rc == 0 || rc == CF_ENOTFOUND);
    cf_when_free(w);
}

static void fuzz_schedule(const char *text, const cf_calendar *cal)
{
    char err[256] = "";
    int col = 0;
    cf_schedule *s = cf_schedule_parse(text, err, sizeof err, &col);
    if (!s) {
        check_error(text, err, col);
        return;
    }
    cf_time after = INT64_C(1771200000000);
    for (int i = 0; i < 5; i++) {
        cf_time next = cf_schedule_next(s, cal, after);
        /* Every schedule occurs at least monthly, moved past at most a holiday. */
        FUZZ_CHECK(next > after && next - after < 62 * CF_MS_PER_DAY);
        after = next;
    }
    cf_schedule_free(s);
}

static void fuzz_dates(const char *text)
{
    cf_date d;
    cf_time t;
    char buf[CF_TIME_BUFSZ];
    if (cf_date_parse(text, &d) == 0) {
        cf_date_format(d, buf, sizeof buf);
        FUZZ_CHECK(strcmp(buf, text) == 0);
    }
    if (cf_time_parse(text, &t) == 0) {
        /* Offsets can carry an instant of year 0000 or 9999 into a neighbouring year at
         * UTC+08:00, which has no four-digit form: only years 0001-9998 must round-trip. */
        cf_time back;
        int inside = t >= cf_time_at(cf_date_from_ymd(1, 1, 1), 0, 0) &&
                     t < cf_time_at(cf_date_from_ymd(9999, 1, 1), 0, 0);
        cf_time_format(t, 480, buf, sizeof buf);
        int rc = cf_time_parse(buf, &back);
        FUZZ_CHECK(rc == 0 || !inside);
        FUZZ_CHECK(rc != 0 || back == t);
    }
}

static void fuzz_calendar_text(const uint8_t *data, size_t size)
{
    char err[256] = "";
    cf_calendar *cal = cf_calendar_parse("fuzz", (const char *)data, size, err, sizeof err);
    if (!cal)
        FUZZ_CHECK(strncmp(err, "fuzz:", 5) == 0);
    cf_calendar_free(cal);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static cf_calendar *cal;
    if (size > FUZZ_MAX_INPUT)
        return 0;
    if (!cal) {
        cal = cf_calendar_parse("fuzz", fuzz_calendar, sizeof fuzz_calendar - 1, NULL, 0);
        FUZZ_CHECK(cal != NULL); /* kept for the whole run */
    }
    char *text = malloc(size + 1);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    fuzz_when(text, cal);
    fuzz_schedule(text, cal);
    fuzz_dates(text);
    fuzz_calendar_text(data, size);
    free(text);
    return 0;
}
