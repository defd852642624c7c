/*
 * The arithmetic of statutory clocks (clock.h): a clock's last day from its start, length and
 * pauses, and an account of each clock for people to read.
 */
#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long int_member(const json_t *o, const char *key)
{
    return (long)json_integer_value(json_object_get(o, key));
}

int cf_clock_last_day(const cf_clock *c, const cf_calendar *cal, const json_t *ck, cf_date *day,
                      cf_time *at)
{
    const char *started = json_string_value(json_object_get(ck, "started"));
    int off = cf_calendar_utc_offset(cal);
    long months = int_member(ck, "months"), days = int_member(ck, "days");
    long paused = int_member(ck, "paused_days");
    cf_time t0;
    cf_date d;

    if (!started || cf_time_parse(started, &t0) != 0 || months < 0 || days < 0 || paused < 0 ||
        months > 100000 || days > 10000000 || paused > 10000000)
        return CF_EINVAL;
    /* The starting day is not counted: N months after it ends on the same day of the month. */
    d = cf_date_add_months(cf_time_date(t0, off), (int)months) + (cf_date)days + (cf_date)paused;
    if (!c->exact)
        d = cf_calendar_next_working_day(cal, d);
    *day = d;
    *at = cf_time_at(d, c->minute, off);
    return 0;
}

/* The date "YYYY-MM-DD" in member `key` of `o`, or `fallback`. */
static cf_date date_member(const json_t *o, const char *key, cf_date fallback)
{
    cf_date d;
    const char *s = json_string_value(json_object_get(o, key));
    return s && cf_date_parse(s, &d) == 0 ? d : fallback;
}

/* Describes one clock `ck` of a case as of `today`; NULL when it is not a clock. */
static json_t *describe_one(const char *name, const char *title, const json_t *ck, cf_date today,
                            int off)
{
    const char *status = json_string_value(json_object_get(ck, "status"));
    const char *started = json_string_value(json_object_get(ck, "started"));
    const char *last_day = json_string_value(json_object_get(ck, "last_day"));
    json_t *pauses = json_object_get(ck, "pauses"), *last = NULL, *p;
    cf_date end = today, last_date, start;
    cf_time t0, tl;
    long open = 0, used, left;
    size_t k;
    char day[CF_DATE_BUFSZ];

    if (!status || !started || !last_day || cf_time_parse(started, &t0) != 0 ||
        cf_time_parse(last_day, &tl) != 0)
        return NULL;
    start = cf_time_date(t0, off);
    last_date = cf_time_date(tl, off);
    if (strcmp(status, "stopped") == 0)
        end = date_member(ck, "stopped_on", today);
    json_array_foreach (pauses, k, p) {
        last = p;
    }
    /* A pause still open: the days since it began are not counted either. */
    if (last && json_is_null(json_object_get(last, "to")) && json_object_get(last, "from"))
        open = (long)(end - date_member(last, "from", end));
    if (open < 0)
        open = 0;
    used = (long)(end - start) - int_member(ck, "paused_days") - open;
    left = (long)(last_date - end) + open;
    cf_date_format(last_date, day, sizeof day);
    return json_pack("{s:s, s:s?, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:O?, s:O?}", "clock", name,
                     "title", title, "status", status, "started", started, "last_day", last_day,
                     "last_date", day, "days_used", (int)(used < 0 ? 0 : used), "days_left",
                     (int)left, "paused_days", (int)(int_member(ck, "paused_days") + open),
                     "pauses", pauses, "extensions", json_object_get(ck, "extensions"));
}

json_t *cf_clock_describe(const cf_workflow *wf, const json_t *state, cf_time now)
{
    json_t *out = json_array(), *clocks = json_object_get(state, "clocks"), *ck, *one;
    int off = wf ? cf_calendar_utc_offset(wf->calendar) : CF_CALTIME_DEFAULT_UTC_OFFSET;
    cf_date today = cf_time_date(now, off);
    const char *name;

    if (!out)
        return NULL;
    if (wf) {
        for (size_t i = 0; i < wf->nclocks; i++) {
            const cf_clock *c = &wf->clocks[i];
            if ((one =
                     describe_one(c->name, c->title, json_object_get(clocks, c->name), today, off)))
                json_array_append_new(out, one);
        }
        return out;
    }
    json_object_foreach (clocks, name, ck) {
        if ((one = describe_one(name, NULL, ck, today, off)))
            json_array_append_new(out, one);
    }
    return out;
}

/* Prints a ground: a text as it is, anything else as compact JSON. */
static void print_ground(FILE *out, const json_t *g)
{
    if (json_is_string(g)) {
        fputs(json_string_value(g), out);
    } else if (g && !json_is_null(g)) {
        char *s = json_dumps(g, JSON_COMPACT | JSON_ENCODE_ANY);
        fputs(s ? s : "?", out);
        free(s);
    }
}

void cf_clock_print(FILE *out, const json_t *described, const char *indent)
{
    size_t i, k, g;
    const json_t *c, *p, *x;

    json_array_foreach (described, i, c) {
        const char *title = json_string_value(json_object_get(c, "title"));
        long left = (long)json_integer_value(json_object_get(c, "days_left"));
        fprintf(out, "%s%s%s%s: %s, %lld days used, ", indent, title ? title : "", title ? " " : "",
                json_string_value(json_object_get(c, "clock")),
                json_string_value(json_object_get(c, "status")),
                (long long)json_integer_value(json_object_get(c, "days_used")));
        if (left >= 0)
            fprintf(out, "%ld left", left);
        else
            fprintf(out, "%ld over", -left);
        fprintf(out, " (last day %s)\n", json_string_value(json_object_get(c, "last_date")));
        json_array_foreach (json_object_get(c, "pauses"), k, p) {
            const char *to = json_string_value(json_object_get(p, "to"));
            fprintf(out, "%s  paused %s - %s", indent,
                    json_string_value(json_object_get(p, "from")), to ? to : "(still paused)");
            if (to)
                fprintf(out, " (%lld days)",
                        (long long)json_integer_value(json_object_get(p, "days")));
            fprintf(out, ":");
            json_array_foreach (json_object_get(p, "grounds"), g, x) {
                fputs(g ? "、" : " ", out);
                print_ground(out, x);
            }
            fputc('\n', out);
        }
        json_array_foreach (json_object_get(c, "extensions"), k, x) {
            fprintf(out, "%s  extended %s by %lld months %lld days", indent,
                    json_string_value(json_object_get(x, "on")),
                    (long long)json_integer_value(json_object_get(x, "months")),
                    (long long)json_integer_value(json_object_get(x, "days")));
            if (json_string_value(json_object_get(x, "by")))
                fprintf(out, ", by %s", json_string_value(json_object_get(x, "by")));
            if (json_object_get(x, "ground") && !json_is_null(json_object_get(x, "ground"))) {
                fputs(": ", out);
                print_ground(out, json_object_get(x, "ground"));
            }
            fputc('\n', out);
        }
    }
}
