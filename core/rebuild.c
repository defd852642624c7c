/*
 * Timers and open tasks recomputed from a case's event log, compared with the stored rows
 * (core/rebuild.h).  Differences are written as lines of text for an operator.
 */
#include "rebuild.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"

/* Where the lines go, and how many differences were found (counted even when cut). */
typedef struct report {
    char *out;
    size_t size, count;
    int offset;
} report;

void cf_rebuild_note(char *out, size_t outsz, const char *fmt, ...)
{
    size_t used = outsz ? strnlen(out, outsz - 1) : 0, room;
    va_list ap;
    int n;

    if (used + 2 > outsz)
        return;
    /* The text, cut to leave room for its newline. */
    room = outsz - used - 1;
    va_start(ap, fmt);
    n = vsnprintf(out + used, room, fmt, ap);
    va_end(ap);
    used += n < 0 ? 0 : (size_t)n < room ? (size_t)n : room - 1;
    out[used++] = '\n';
    out[used] = '\0';
}

#define line(r, ...) ((r)->count++, cf_rebuild_note((r)->out, (r)->size, __VA_ARGS__))

static const char *when(const report *r, cf_time t, char *buf, size_t n)
{
    cf_time_format(t, r->offset, buf, n);
    return buf;
}

static const char *or_none(const char *s)
{
    return s && *s ? s : "(none)";
}

static int same_text(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static void compare_timers(report *r, const json_t *expected, const cf_rebuild_timer *timers,
                           size_t n, cf_time now, size_t *in_flight)
{
    const char *name;
    json_t *v;
    char a[64], b[64];

    json_object_foreach ((json_t *)expected, name, v) {
        const cf_rebuild_timer *row = NULL;
        cf_time due;
        for (size_t i = 0; i < n && !row; i++)
            if (strcmp(timers[i].name, name) == 0)
                row = &timers[i];
        if (!json_is_string(v) || cf_time_parse(json_string_value(v), &due) != 0) {
            line(r, "timer %s: the log gives no time for it", name);
        } else if (!row) {
            if (due <= now)
                (*in_flight)++;
            else
                line(r, "timer %s: the log sets it for %s, the database has no such timer", name,
                     when(r, due, a, sizeof a));
        } else if (row->due != due) {
            line(r, "timer %s: the database has it due %s, the log %s", name,
                 when(r, row->due, a, sizeof a), when(r, due, b, sizeof b));
        }
    }
    for (size_t i = 0; i < n; i++)
        if (!json_object_get(expected, timers[i].name))
            line(r, "timer %s: the database has it due %s, the log has no such timer",
                 timers[i].name, when(r, timers[i].due, a, sizeof a));
}

/* The stored task `t` against the log's open activity `name` (`act`). */
static void compare_task(report *r, const cf_rebuild_task *t, const char *name, const json_t *act)
{
    const char *kind = json_string_value(json_object_get(act, "kind"));
    const char *post = json_string_value(json_object_get(act, "post"));
    const char *due_text = json_string_value(json_object_get(act, "due"));
    const char *stored_post = t->moved ? t->post_before_moves : t->post;
    cf_time due = 0;
    char a[64], b[64];

    if (strcmp(t->activity, name) != 0)
        line(r, "task %s: the database has it for activity %s, the log for %s", t->task_id,
             t->activity, name);
    if (!same_text(t->kind, kind))
        line(r, "task %s (%s): the database has kind %s, the log %s", t->task_id, name, t->kind,
             or_none(kind));
    if (!same_text(stored_post, post))
        line(r, "task %s (%s): the database has post %s%s, the log %s", t->task_id, name,
             or_none(stored_post), t->moved ? " before it was reassigned" : "", or_none(post));
    if (due_text && cf_time_parse(due_text, &due) != 0)
        line(r, "task %s (%s): the log's due time '%s' is not a time", t->task_id, name, due_text);
    else if (!due_text != !t->has_due || (due_text && due != t->due))
        line(r, "task %s (%s): the database has it due %s, the log %s", t->task_id, name,
             t->has_due ? when(r, t->due, a, sizeof a) : "(none)",
             due_text ? when(r, due, b, sizeof b) : "(none)");
}

static void compare_tasks(report *r, const json_t *activities, const cf_rebuild_task *tasks,
                          size_t n)
{
    const char *name;
    json_t *act;

    json_object_foreach ((json_t *)activities, name, act) {
        const char *id = json_string_value(json_object_get(act, "task_id"));
        const char *status = json_string_value(json_object_get(act, "status"));
        const cf_rebuild_task *row = NULL;
        if (!status || strcmp(status, "open") != 0)
            continue;
        for (size_t i = 0; id && i < n && !row; i++)
            if (strcmp(tasks[i].task_id, id) == 0)
                row = &tasks[i];
        if (row)
            compare_task(r, row, name, act);
        else
            line(r, "task %s (%s): open in the log, not open in the database", or_none(id), name);
    }
    for (size_t i = 0; i < n; i++) {
        int found = 0;
        json_object_foreach ((json_t *)activities, name, act) {
            const char *status = json_string_value(json_object_get(act, "status"));
            if (status && strcmp(status, "open") == 0 &&
                same_text(json_string_value(json_object_get(act, "task_id")), tasks[i].task_id))
                found = 1;
        }
        if (!found)
            line(r, "task %s (%s): open in the database, not in the log", tasks[i].task_id,
                 tasks[i].activity);
    }
}

size_t cf_rebuild_compare(const json_t *state, const cf_rebuild_timer *timers, size_t ntimers,
                          const cf_rebuild_task *tasks, size_t ntasks, cf_time now,
                          int utc_offset_min, size_t *in_flight, char *out, size_t outsz)
{
    json_t *none = json_object();
    const json_t *t = json_object_get(state, "timers"), *a = json_object_get(state, "activities");
    report r = {.out = out, .size = outsz, .offset = utc_offset_min};

    *in_flight = 0;
    /* A state without timers or activities has none: every stored row is then a difference. */
    compare_timers(&r, json_is_object(t) ? t : none, timers, ntimers, now, in_flight);
    compare_tasks(&r, json_is_object(a) ? a : none, tasks, ntasks);
    json_decref(none);
    return r.count;
}
