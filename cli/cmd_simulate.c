/*
 * `caseflow simulate FILE [--until TIME] < events.jsonl`: runs the pure core
 * on a stream of event envelopes, with no Kafka and no database.  Timers fire
 * and batches are dispatched in time order between the input events, as the
 * engine would do, and every applied event is printed as one JSON line.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/path.h"
#include "commands.h"
#include "core/machine.h"
#include "core/message.h"

typedef struct sim {
    cf_workflow *wf;
    json_t *cases;   /* case number -> state */
    json_t *pending; /* batched kind -> group -> [ {case, id, activity} ] */
    json_t *next;    /* batched kind -> next dispatch time (integer ms) */
    long applied, rejected, timers, batches;
    long line;
} sim;

static void print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    if (s) {
        puts(s);
        free(s);
    }
}

static json_t *time_string(const sim *S, cf_time t)
{
    char buf[64];
    cf_time_format(t, cf_calendar_utc_offset(S->wf->calendar), buf, sizeof buf);
    return json_string(buf);
}

/* Drops the task `id` from the batches still waiting. */
static void unbatch(sim *S, const char *id)
{
    const char *k, *g;
    json_t *groups, *list;

    if (!id)
        return;
    json_object_foreach (S->pending, k, groups) {
        json_object_foreach (groups, g, list) {
            for (size_t j = 0; j < json_array_size(list); j++)
                if (strcmp(json_string_value(json_object_get(json_array_get(list, j), "id")), id) ==
                    0)
                    json_array_remove(list, j--);
        }
    }
}

/* Keeps batched tasks until their kind's next dispatch, and drops cancelled ones. */
static void track_batches(sim *S, const char *case_no, json_t *actions, cf_time now)
{
    size_t i;
    json_t *a;

    json_array_foreach (actions, i, a) {
        const char *kind = json_string_value(json_object_get(a, "kind"));
        if (strcmp(kind, "task") == 0 && json_object_get(a, "batch")) {
            const char *task = json_string_value(json_object_get(a, "task"));
            const cf_task_kind *tk = cf_workflow_kind(S->wf, task);
            json_t *groups = json_object_get(S->pending, task), *list;
            const char *group = json_string_value(json_object_get(a, "batch"));
            if (!groups)
                json_object_set_new(S->pending, task, groups = json_object());
            if (!group)
                group = "-";
            list = json_object_get(groups, group);
            if (!list)
                json_object_set_new(groups, group, list = json_array());
            json_array_append_new(list, json_pack("{s:s, s:O, s:O}", "case", case_no, "id",
                                                  json_object_get(a, "id"), "activity",
                                                  json_object_get(a, "activity")));
            if (!json_object_get(S->next, task) && tk && tk->batch)
                json_object_set_new(
                    S->next, task, json_integer(cf_schedule_next(tk->batch, S->wf->calendar, now)));
        } else if (strcmp(kind, "task.cancel") == 0) {
            unbatch(S, json_string_value(json_object_get(a, "id")));
        }
    }
}

/* Applies one event at `now` and prints what happened, or reports why it was rejected; returns 0
 * when it was applied. */
static int apply(sim *S, json_t *event, cf_time now, const char *where)
{
    char err[512];
    cf_step step;
    const char *case_no = json_string_value(json_object_get(event, "case"));
    const char *type = json_string_value(json_object_get(event, "type"));
    json_t *state = json_object_get(S->cases, case_no), *line;

    if (cf_machine_apply(S->wf, state, event, now, &step, err, sizeof err) != 0) {
        fprintf(stderr, "%s: case %s: %s rejected: %s\n", where, case_no, type, err);
        S->rejected++;
        return -1;
    }
    for (size_t i = 0; i < json_array_size(step.warnings); i++)
        fprintf(stderr, "%s: case %s: warning: %s\n", where, case_no,
                json_string_value(json_array_get(step.warnings, i)));
    line = json_pack("{s:O, s:s, s:s, s:s, s:s, s:O}", "time", json_object_get(event, "time"),
                     "case", case_no, "event", type, "from", step.from, "to", step.to, "actions",
                     step.actions);
    if (json_array_size(step.path) > 2)
        json_object_set(line, "path", step.path);
    if (strcmp(type, "timer.fired") == 0)
        json_object_set(line, "data", json_object_get(event, "data"));
    print_json(line);
    json_decref(line);
    /* A task finished before its batch went out is no longer part of it. */
    if (strncmp(type, "task.", 5) == 0)
        unbatch(S, json_string_value(json_object_get(json_object_get(event, "data"), "task_id")));
    track_batches(S, case_no, step.actions, now);
    json_object_set(S->cases, case_no, step.state);
    cf_step_clear(&step);
    S->applied++;
    return 0;
}

/* Finds the earliest timer over all cases; returns 0 when there is none. */
static int earliest_timer(sim *S, cf_time *at, const char **case_no, const char **name)
{
    const char *c, *n;
    json_t *state, *due;
    int found = 0;

    json_object_foreach (S->cases, c, state) {
        json_object_foreach (json_object_get(state, "timers"), n, due) {
            cf_time t;
            if (cf_time_parse(json_string_value(due), &t) != 0)
                continue;
            if (!found || t < *at) {
                *at = t;
                *case_no = c;
                *name = n;
                found = 1;
            }
        }
    }
    return found;
}

static int earliest_batch(sim *S, cf_time *at, const char **kind)
{
    const char *k;
    json_t *t;
    int found = 0;
    json_object_foreach (S->next, k, t) {
        if (!found || json_integer_value(t) < *at) {
            *at = json_integer_value(t);
            *kind = k;
            found = 1;
        }
    }
    return found;
}

static void dispatch(sim *S, const char *kind, cf_time at)
{
    const cf_task_kind *tk = cf_workflow_kind(S->wf, kind);
    json_t *groups = json_object_get(S->pending, kind), *list;
    const char *group;

    json_object_foreach (groups, group, list) {
        json_t *line;
        if (json_array_size(list) == 0)
            continue;
        line = json_pack("{s:o, s:s, s:s, s:s, s:O}", "time", time_string(S, at), "event",
                         "batch.dispatched", "kind", kind, "group", group, "tasks", list);
        print_json(line);
        json_decref(line);
        S->batches++;
    }
    json_object_del(S->pending, kind);
    json_object_set_new(S->next, kind,
                        json_integer(cf_schedule_next(tk->batch, S->wf->calendar, at)));
    /* Stop scheduling a kind while nothing waits for it; the next task starts it again. */
    if (!json_object_get(S->pending, kind))
        json_object_del(S->next, kind);
}

/* Fires every timer and dispatches every batch due up to `until`, in time order. */
static void advance(sim *S, cf_time until)
{
    for (;;) {
        cf_time tt = 0, bt = 0;
        const char *case_no = NULL, *name = NULL, *kind = NULL;
        int has_t = earliest_timer(S, &tt, &case_no, &name);
        int has_b = earliest_batch(S, &bt, &kind);

        if (has_b && bt <= until && (!has_t || bt <= tt)) {
            dispatch(S, kind, bt);
        } else if (has_t && tt <= until) {
            char c[256], n[128];
            json_t *ev, *state;
            /* Copies: applying the event replaces the state that owns these strings. */
            snprintf(c, sizeof c, "%s", case_no);
            snprintf(n, sizeof n, "%s", name);
            case_no = c;
            name = n;
            ev = cf_msg_timer_fired_new(case_no, name, tt, cf_calendar_utc_offset(S->wf->calendar));
            S->timers++;
            /* A timer the workflow rejected must not fire again and again; one that its own
             * firing started again (a restarted timer) stays. */
            if (apply(S, ev, tt, "timer") != 0) {
                state = json_object_get(S->cases, case_no);
                json_object_del(json_object_get(state, "timers"), name);
            }
            json_decref(ev);
        } else {
            return;
        }
    }
}

/* In simulate input a task_id written "@activity" names the case's open task of that activity,
 * since real task ids are hashes that a person writing a scenario cannot know. */
static void resolve_task_ref(sim *S, json_t *event)
{
    json_t *data = json_object_get(event, "data");
    const char *id = json_string_value(json_object_get(data, "task_id"));
    json_t *state, *act;

    if (!id || id[0] != '@')
        return;
    state = json_object_get(S->cases, json_string_value(json_object_get(event, "case")));
    act = json_object_get(json_object_get(state, "activities"), id + 1);
    if (json_object_get(act, "task_id"))
        json_object_set(data, "task_id", json_object_get(act, "task_id"));
}

static int usage(FILE *out, int code)
{
    fprintf(out,
            "usage: caseflow simulate FILE [--until TIME] < events.jsonl\n\n"
            "Runs the workflow in FILE on event envelopes read from stdin, one JSON object a\n"
            "line: {\"id\", \"type\", \"case\", \"time\", \"source\", \"data\"}. Timers fire and\n"
            "batches are dispatched in time order between events, and after the last event up\n"
            "to --until (a date such as 2026-06-30 means the end of that day). Prints one JSON\n"
            "line per applied event: time, case, event, from, to, actions (and path when the\n"
            "case passed through several states, data for timer.fired). Invalid events are\n"
            "reported on stderr with the reason and skipped.\n"
            "In the input, a task_id written \"@activity\" names the case's open task of that\n"
            "activity.\n"
            "A FILE that the current folder lacks is looked up in the data folder\n"
            "(workflows/enforcement_case.yaml is the installed workflow).\n");
    return code;
}

int cf_cmd_simulate(int argc, char **argv)
{
    const char *file = NULL, *until_text = NULL;
    cf_time until = 0;
    cf_diags d;
    sim S;
    char *buf = NULL, path[PATH_MAX];
    size_t cap = 0;
    ssize_t len;
    int rc = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return usage(stdout, 0);
        if (strcmp(argv[i], "--until") == 0 && i + 1 < argc)
            until_text = argv[++i];
        else if (argv[i][0] == '-')
            return fprintf(stderr, "caseflow simulate: unknown option '%s'\n", argv[i]),
                   usage(stderr, 2);
        else if (!file)
            file = argv[i];
        else
            return usage(stderr, 2);
    }
    if (!file)
        return usage(stderr, 2);
    memset(&S, 0, sizeof S);
    cf_diags_init(&d);
    S.wf = cf_workflow_load(cf_path_find(file, path, sizeof path), &d);
    for (size_t k = 0; k < d.count; k++)
        if (d.lines[k])
            fprintf(stderr, "%s\n", d.lines[k]);
    cf_diags_free(&d);
    if (!S.wf)
        return 1;
    if (until_text) {
        cf_date day;
        char why[128];
        if (cf_date_parse(until_text, &day) == 0) {
            until = cf_time_at(day + 1, 0, cf_calendar_utc_offset(S.wf->calendar)) - 1;
        } else if (cf_time_parse_err(until_text, &until, why, sizeof why) != 0) {
            fprintf(stderr,
                    "caseflow simulate: --until '%s' is neither a date (2026-06-30) nor a "
                    "time (2026-06-30T17:00:00+08:00): %s\n",
                    until_text, why);
            cf_workflow_free(S.wf);
            return 2;
        }
    }
    S.cases = json_object();
    S.pending = json_object();
    S.next = json_object();

    while ((len = getline(&buf, &cap, stdin)) > 0) {
        char where[64], err[512];
        json_error_t jerr;
        json_t *ev;
        const cf_event_decl *decl;
        const char *type, *when;
        cf_time t;

        S.line++;
        snprintf(where, sizeof where, "line %ld", S.line);
        if (strspn(buf, " \t\r\n") == (size_t)len)
            continue;
        ev = json_loadb(buf, (size_t)len, 0, &jerr);
        if (!ev) {
            fprintf(stderr, "%s: not JSON: %s (column %d)\n", where, jerr.text, jerr.column);
            S.rejected++;
            continue;
        }
        type = json_string_value(json_object_get(ev, "type"));
        decl = type ? cf_workflow_event(S.wf, type) : NULL;
        if (!type) {
            fprintf(stderr, "%s: the event has no type\n", where);
        } else if (!decl) {
            fprintf(stderr, "%s: event type '%s' is unknown to workflow %s\n", where, type,
                    S.wf->name);
        } else if (decl->schema && cf_schema_validate(decl->schema, ev, err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s breaks its schema: %s\n", where, type, err);
        } else if (!(when = json_string_value(json_object_get(ev, "time"))) ||
                   cf_time_parse(when, &t) != 0) {
            fprintf(stderr, "%s: the event's time is missing or not ISO 8601\n", where);
        } else {
            /* Timers due before the event fire first; "@activity" may name a task they made. */
            advance(&S, t);
            resolve_task_ref(&S, ev);
            apply(&S, ev, t, where);
            json_decref(ev);
            continue;
        }
        S.rejected++;
        json_decref(ev);
    }
    free(buf);
    if (until_text)
        advance(&S, until);
    fprintf(stderr, "simulate: %ld events applied (%ld timers fired), %ld rejected, %ld batches\n",
            S.applied, S.timers, S.rejected, S.batches);
    json_decref(S.cases);
    json_decref(S.pending);
    json_decref(S.next);
    cf_workflow_free(S.wf);
    return rc;
}
