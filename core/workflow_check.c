/*
 * The workflow loader's checks over the whole workflow, once every section is parsed: names
 * that must exist, expressions and time expressions that must make sense, states that must be
 * reachable, and no cycle of automatic transitions.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/arena.h"
#include "base/yamldoc.h"
#include "core/workflow_loader.h"

/* ---- checks over the whole workflow ---- */

/* Names collected from the whole workflow, for checking references against them. */
typedef struct names {
    const char **v;
    size_t n, cap;
} names;

/* Adds a name; names_seal sorts the list and drops repeats before names_has is asked. */
static void names_add(names *s, const char *name)
{
    if (!name)
        return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        const char **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = name;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void names_seal(names *s)
{
    size_t k = 0;
    if (s->n == 0)
        return;
    qsort(s->v, s->n, sizeof *s->v, str_cmp);
    for (size_t i = 1; i < s->n; i++)
        if (strcmp(s->v[i], s->v[k]) != 0)
            s->v[++k] = s->v[i];
    s->n = k + 1;
}

static int names_has(const names *s, const char *name)
{
    return name && s->n && bsearch(&name, s->v, s->n, sizeof *s->v, str_cmp) != NULL;
}

typedef struct catalog {
    names activities, timers, handled, started_clocks, records;
    names returned;   /* the tasks a task.returned transition names */
    int returned_any; /* an any_state task.returned transition takes every task */
} catalog;

static void collect_actions(catalog *c, const cf_action *acts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* An activity named at run time (incident_${task.name}) cannot be named in advance. */
        if (acts[i].kind == CF_ACT_TASK && !acts[i].as_template)
            names_add(&c->activities, acts[i].as);
        else if (acts[i].kind == CF_ACT_TIMER)
            names_add(&c->timers, acts[i].name);
        else if (acts[i].kind == CF_ACT_START_CLOCK)
            names_add(&c->started_clocks, acts[i].name);
        else if (acts[i].kind == CF_ACT_RECORD)
            names_add(&c->records, acts[i].name);
    }
}

static void collect_transitions(catalog *c, const cf_transition *ts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        collect_actions(c, ts[i].actions, ts[i].nactions);
        collect_actions(c, ts[i].otherwise, ts[i].notherwise);
        names_add(&c->handled, ts[i].on);
        if (ts[i].on && strcmp(ts[i].on, "task.returned") == 0) {
            names_add(&c->returned, ts[i].task);
            c->returned_any |= !ts[i].task && !ts[i].guard && ts[i].nexcept == 0;
        }
    }
}

/* The top-level names an expression may read. */
static const char *const expr_roots[] = {"case",       "event",         "task",     "activities",
                                         "timers",     "state",         "now",      "event_type",
                                         "event_time", "event_source",  "settings", "clocks",
                                         "event_post", "event_account", "missing",  "item",
                                         "record",     "timer",         NULL};

/* Where `word` stands in the expression `e`, or `pos` when that cannot be told. */
static cf_pos word_pos(loader *L, const cf_expr *e, const char *word, cf_pos pos)
{
    const yaml_node_t *n = wf_expr_node(L, e);
    return n ? wf_pos_in(L, n, wf_word_column(wf_raw((yaml_node_t *)n), word)) : pos;
}

static void check_expr(loader *L, const catalog *c, const cf_expr *e, cf_pos pos, const char *what)
{
    if (!e)
        return;
    if (wf_expr_node(L, e))
        pos = wf_pos_of(wf_expr_node(L, e));
    for (size_t i = 0; i < cf_expr_path_count(e); i++) {
        const char *path = cf_expr_path(e, i);
        size_t len = strcspn(path, ".");
        int ok = 0;
        for (const char *const *r = expr_roots; *r; r++)
            ok |= strlen(*r) == len && strncmp(*r, path, len) == 0;
        if (!ok)
            ERR(L, word_pos(L, e, path, pos),
                "%s reads '%s': expressions read case.*, event.*, task.*, timer.*, record.*, "
                "activities.*, timers.*, clocks.*, settings.*, state, now, event_type, "
                "event_time, event_source, event_post, event_account, missing or item",
                what, path);
        else if (len == 8 && strncmp(path, "settings", 8) == 0) {
            char name[128];
            size_t nl = strcspn(path + 9, ".");
            snprintf(name, sizeof name, "%.*s", (int)(nl < sizeof name ? nl : sizeof name - 1),
                     path + 9);
            if (!path[8] || !cf_workflow_setting(L->wf, name))
                ERR(L, word_pos(L, e, path, pos),
                    "%s reads '%s', but no setting is named so (declare it under settings)", what,
                    path);
        } else if (len == 6 && strncmp(path, "clocks", 6) == 0 && path[6] == '.') {
            char name[128];
            size_t nl = strcspn(path + 7, ".");
            snprintf(name, sizeof name, "%.*s", (int)(nl < sizeof name ? nl : sizeof name - 1),
                     path + 7);
            if (!cf_workflow_clock(L->wf, name))
                ERR(L, word_pos(L, e, path, pos),
                    "%s reads '%s', but no clock is named '%s' (declare it under clocks)", what,
                    path, name);
        }
    }
    for (size_t i = 0; i < cf_expr_activity_count(e); i++) {
        const char *name = cf_expr_activity(e, i);
        if (!names_has(&c->activities, name))
            ERR(L, word_pos(L, e, name, pos),
                "%s: no task of this workflow is named '%s' (done, failed, open, all_done and "
                "any_done take the name of an activity)",
                what, name);
    }
}

static void check_when(loader *L, const cf_when *w, cf_pos pos, const char *what)
{
    if (!w)
        return;
    for (size_t i = 0; i < cf_when_ref_count(w); i++) {
        const char *ref = cf_when_ref(w, i);
        if (strncmp(ref, "clock.", 6) == 0) {
            /* A deadline on a clock that does not exist: on none. */
            if (!cf_workflow_clock(L->wf, ref + 6))
                ERR(L, wf_when_word_pos(L, w, ref, pos),
                    "%s counts from '%s', but no clock is named '%s': a deadline must be on a "
                    "clock of this workflow (declare it under clocks)",
                    what, ref, ref + 6);
        } else if (strcmp(ref, "now") != 0 && strncmp(ref, "case.", 5) != 0 &&
                   strncmp(ref, "event.", 6) != 0 && strncmp(ref, "record.", 7) != 0) {
            ERR(L, wf_when_word_pos(L, w, ref, pos),
                "%s counts from '%s': a time counts from case.*, event.*, record.*, clock.* or "
                "now",
                what, ref);
        }
    }
}

/* The clock whose deadlines (timers) include `timer`, or NULL. */
static const cf_clock *deadline_clock(const cf_workflow *wf, const char *timer)
{
    for (size_t i = 0; timer && i < wf->nclocks; i++)
        for (size_t k = 0; k < wf->clocks[i].ndeadlines; k++)
            if (wf->clocks[i].deadlines[k].name &&
                strcmp(wf->clocks[i].deadlines[k].name, timer) == 0)
                return &wf->clocks[i];
    return NULL;
}

static void check_field(loader *L, const catalog *c, const cf_field *f, const char *what)
{
    if (f)
        check_expr(L, c, f->expr, f->pos, what);
}

static void check_post_ref(loader *L, const char *post, cf_pos pos)
{
    if (post && !cf_workflow_post(L->wf, post))
        ERR(L, pos, "unknown post '%s'", post);
}

/* Every staff task has a path for task.returned: an entry of `returns` (or its default), or a
 * transition that takes it. */
static void check_returns(loader *L, const catalog *c, const cf_task_kind *tk)
{
    if (tk->worker || !tk->name)
        return;
    check_post_ref(L, tk->returned_post, tk->returned_pos);
    check_expr(L, c, tk->returned_expr, tk->returned_pos, "returns");
    if (!tk->returned_requeue && !tk->returned_post && !tk->returned_expr && !c->returned_any &&
        !names_has(&c->returned, tk->name))
        ERR(L, tk->pos,
            "staff task '%s' has no path for task.returned: say where a returned one goes under "
            "returns (or its default), or add a transition 'event: task.returned, task: %s'",
            tk->name, tk->name);
}

static void check_actions(loader *L, const catalog *c, const cf_action *acts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const cf_action *a = &acts[i];
        const cf_task_kind *tk;
        check_expr(L, c, a->key, a->key_pos, "key");
        check_expr(L, c, a->each, a->key_pos, "each");
        check_expr(L, c, a->where, a->key_pos, "where");
        switch (a->kind) {
        case CF_ACT_RECORD:
            for (size_t f = 0; f < a->nfields; f++)
                check_expr(L, c, a->fields[f].expr, a->fields[f].pos, a->fields[f].name);
            for (size_t f = 0; f < a->ntimes; f++)
                check_when(L, a->times[f].when, a->times[f].pos, a->times[f].name);
            break;
        case CF_ACT_TASK:
            tk = cf_workflow_kind(L->wf, a->name);
            if (a->name && !tk)
                ERR(L, a->name_pos,
                    "unknown task kind '%s' (declare it under workers or staff_tasks)", a->name);
            check_post_ref(L, a->post, a->post_pos);
            check_expr(L, c, a->post_expr, a->pos, "post");
            check_expr(L, c, a->for_each, a->pos, "for_each");
            check_when(L, a->at, a->pos, "due");
            for (size_t f = 0; f < a->nfields; f++)
                check_expr(L, c, a->fields[f].expr, a->fields[f].pos, a->fields[f].name);
            if (tk && tk->batch && tk->group_by) {
                int grouped = 0;
                for (size_t f = 0; f < a->nfields; f++)
                    grouped |= a->fields[f].name && strcmp(a->fields[f].name, tk->group_by) == 0;
                if (!grouped)
                    ERR(L, a->pos, "task '%s' is batched by '%s' but its params do not set it",
                        a->name, tk->group_by);
            }
            break;
        case CF_ACT_CANCEL_TASK:
            if (a->name && !names_has(&c->activities, a->name))
                ERR(L, a->name_pos, "cancel_task '%s' names no task of this workflow", a->name);
            break;
        case CF_ACT_TIMER:
            check_when(L, a->at, a->pos, "at");
            if (deadline_clock(L->wf, a->name))
                ERR(L, a->name_pos,
                    "timer '%s' is a deadline of clock '%s': the clock sets it and moves it with "
                    "its pauses, no action starts it",
                    a->name, deadline_clock(L->wf, a->name)->name);
            break;
        case CF_ACT_START_CLOCK:
        case CF_ACT_PAUSE_CLOCK:
        case CF_ACT_RESUME_CLOCK:
        case CF_ACT_EXTEND_CLOCK:
        case CF_ACT_STOP_CLOCK:
            if (a->name && !cf_workflow_clock(L->wf, a->name))
                ERR(L, a->name_pos, "unknown clock '%s' (declare it under clocks)", a->name);
            check_when(L, a->at, a->pos, "from");
            check_field(L, c, a->months, "months");
            check_field(L, c, a->days, "days");
            check_field(L, c, a->ground, "ground");
            break;
        case CF_ACT_CANCEL_TIMER:
            if (a->name && !names_has(&c->timers, a->name))
                ERR(L, a->name_pos, "cancel_timer '%s' names no timer this workflow starts",
                    a->name);
            break;
        case CF_ACT_SET:
        case CF_ACT_SET_TIME:
            for (size_t f = 0; f < a->nfields; f++) {
                check_expr(L, c, a->fields[f].expr, a->fields[f].pos, a->fields[f].name);
                check_when(L, a->fields[f].when, a->fields[f].pos, a->fields[f].name);
            }
            break;
        case CF_ACT_ASSIGN:
            if (a->name && strcmp(a->name, "team") == 0 && L->wf->nteams == 0)
                ERR(L, a->name_pos, "'assign: team' needs an 'assignment' with its teams");
            check_post_ref(L, a->post, a->post_pos);
            check_expr(L, c, a->post_expr, a->pos, "assign");
            break;
        case CF_ACT_MERGE: check_expr(L, c, a->value, a->pos, "merge"); break;
        case CF_ACT_NOTIFY:
            check_post_ref(L, a->post, a->post_pos);
            check_expr(L, c, a->post_expr, a->pos, "notify");
            break;
        }
    }
}

static void check_transitions(loader *L, const catalog *c, cf_transition *ts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cf_transition *t = &ts[i];
        if (t->to) {
            t->to_index = cf_workflow_state_index(L->wf, t->to);
            if (t->to_index < 0)
                ERR(L, t->to_pos, "unknown state '%s'", t->to);
        }
        if (t->on && !cf_workflow_event(L->wf, t->on))
            ERR(L, t->on_pos, "unknown event '%s' (declare it under events)", t->on);
        if (t->task && !names_has(&c->activities, t->task))
            ERR(L, t->task_pos, "task '%s' names no task of this workflow", t->task);
        if (t->timer && !names_has(&c->timers, t->timer))
            ERR(L, t->timer_pos, "timer '%s' is never started", t->timer);
        if (t->of && !names_has(&c->records, t->of))
            ERR(L, t->of_pos, "of: no action records entries in '%s' (record: %s)", t->of, t->of);
        for (size_t e = 0; e < t->nexcept; e++)
            if (t->except[e] && cf_workflow_state_index(L->wf, t->except[e]) < 0)
                ERR(L, t->pos, "unknown state '%s' in except", t->except[e]);
        check_expr(L, c, t->guard, t->pos, t->on ? "if" : "when");
        check_actions(L, c, t->actions, t->nactions);
        for (size_t r = 0; r < t->nrequires; r++)
            check_expr(L, c, t->requires[r].that, t->requires[r].pos, "that");
        check_actions(L, c, t->otherwise, t->notherwise);
    }
}

/* Clocks: each is started somewhere, its deadlines count from something that exists; decisions
 * name declared posts and states. */
static void check_clocks_and_decisions(loader *L, const catalog *c)
{
    cf_workflow *wf = L->wf;

    for (size_t i = 0; i < wf->nclocks; i++) {
        const cf_clock *k = &wf->clocks[i];
        if (!k->name)
            continue;
        if (cf_workflow_clock(wf, k->name) != k)
            ERR(L, k->pos, "clock '%s' is declared twice", k->name);
        if (!names_has(&c->started_clocks, k->name))
            ERR(L, k->pos, "clock '%s' is never started (no action 'start_clock: %s')", k->name,
                k->name);
        for (size_t d = 0; d < k->ndeadlines; d++)
            check_when(L, k->deadlines[d].at, k->deadlines[d].pos, k->deadlines[d].name);
        for (size_t d = 0; d < k->ndates; d++)
            check_when(L, k->dates[d].at, k->dates[d].pos, k->dates[d].name);
    }
    for (size_t i = 0; i < wf->ndecisions; i++) {
        const cf_decision *d = &wf->decisions[i];
        if (!d->name)
            continue;
        if (cf_workflow_decision(wf, d->name) != d)
            ERR(L, d->pos, "decision '%s' is declared twice", d->name);
        for (size_t b = 0; b < d->nby; b++) {
            check_post_ref(L, d->by[b].post, d->by[b].pos);
            check_expr(L, c, d->by[b].expr, d->by[b].pos, "by");
        }
        for (size_t s = 0; s < d->nin; s++)
            if (d->in[s] && cf_workflow_state_index(wf, d->in[s]) < 0)
                ERR(L, d->in_pos[s], "unknown state '%s'", d->in[s]);
        for (size_t s = 0; s < d->nexcept; s++)
            if (d->except[s] && cf_workflow_state_index(wf, d->except[s]) < 0)
                ERR(L, d->except_pos[s], "unknown state '%s'", d->except[s]);
        /* The fields are the event's data beside `decision`, which names the decision. */
        for (size_t f = 0; f < d->nfields; f++) {
            if (d->fields[f].name && strcmp(d->fields[f].name, "decision") == 0)
                ERR(L, d->fields[f].pos,
                    "decision '%s': a field may not be called 'decision' (the event's data "
                    "names the decision with it)",
                    d->name);
            for (size_t g = 0; g < f; g++)
                if (d->fields[f].name && d->fields[g].name &&
                    strcmp(d->fields[f].name, d->fields[g].name) == 0)
                    ERR(L, d->fields[f].pos, "decision '%s': field '%s' is declared twice", d->name,
                        d->fields[f].name);
        }
    }
    if (wf->ndecisions && !cf_workflow_event(wf, "case.decided"))
        ERR(L, wf->decisions[0].pos,
            "decisions are made with case.decided: declare it under events");
}

/* For each state, the any_state transitions whose `except` names it, sorted: exc[s] to
 * exc[s + 1] in `of`.  Built once, so that a check of every state against every any_state
 * transition is a merge of two sorted lists. */
typedef struct exceptions {
    size_t *start; /* nstates + 1 offsets into of */
    size_t *of;
} exceptions;

static int exceptions_build(const cf_workflow *wf, exceptions *x)
{
    size_t total = 0, *fill;

    x->start = calloc(wf->nstates + 1, sizeof *x->start);
    for (size_t t = 0; t < wf->nany; t++)
        total += wf->any[t].nexcept;
    x->of = malloc((total ? total : 1) * sizeof *x->of);
    fill = calloc(wf->nstates + 1, sizeof *fill);
    if (!x->start || !x->of || !fill) {
        free(fill);
        return 0;
    }
    /* Counting sort by state; within a state the transitions come in ascending order. */
    for (size_t t = 0; t < wf->nany; t++)
        for (size_t e = 0; e < wf->any[t].nexcept; e++) {
            int s = cf_workflow_state_index(wf, wf->any[t].except[e]);
            if (s >= 0)
                x->start[s + 1]++;
        }
    for (size_t s = 0; s < wf->nstates; s++)
        x->start[s + 1] += x->start[s];
    for (size_t t = 0; t < wf->nany; t++)
        for (size_t e = 0; e < wf->any[t].nexcept; e++) {
            int s = cf_workflow_state_index(wf, wf->any[t].except[e]);
            if (s >= 0 && (fill[s] == 0 || x->of[x->start[s] + fill[s] - 1] != t))
                x->of[x->start[s] + fill[s]++] = t;
        }
    /* A state named twice in one list counts once: close the gaps its repeats left. */
    for (size_t s = 0, k = 0; s < wf->nstates; s++) {
        size_t from = x->start[s];
        x->start[s] = k;
        for (size_t j = 0; j < fill[s]; j++)
            x->of[k++] = x->of[from + j];
        if (s + 1 == wf->nstates)
            x->start[s + 1] = k;
    }
    free(fill);
    return 1;
}

static void exceptions_free(exceptions *x)
{
    free(x->start);
    free(x->of);
}

/* Walks the any_state transitions that apply in state s (not final, not excepted), in order:
 * call with *t = 0 and *e = x->start[s], then again while it returns 1. */
static int next_applying(const cf_workflow *wf, const exceptions *x, size_t s, size_t *t, size_t *e,
                         size_t *out)
{
    if (wf->states[s].final)
        return 0;
    for (; *t < wf->nany; (*t)++) {
        while (*e < x->start[s + 1] && x->of[*e] < *t)
            (*e)++;
        if (*e < x->start[s + 1] && x->of[*e] == *t)
            continue;
        *out = (*t)++;
        return 1;
    }
    return 0;
}

/* Reports states that no path from the initial state reaches, and dead ends. */
static void check_reachability(loader *L, const exceptions *x)
{
    cf_workflow *wf = L->wf;
    char *seen = calloc(wf->nstates ? wf->nstates : 1, 1);
    int *queue = calloc(wf->nstates ? wf->nstates : 1, sizeof *queue);
    size_t head = 0, tail = 0, t, e, a;

    if (!seen || !queue || wf->initial < 0)
        goto out;
    seen[wf->initial] = 1;
    queue[tail++] = wf->initial;
    while (head < tail) {
        size_t si = (size_t)queue[head++];
        const cf_state *s = &wf->states[si];
        for (size_t i = 0; i < s->non; i++) {
            int to = s->on[i].to_index;
            if (to >= 0 && !seen[to]) {
                seen[to] = 1;
                queue[tail++] = to;
            }
        }
        for (t = 0, e = x->start[si]; next_applying(wf, x, si, &t, &e, &a);) {
            int to = wf->any[a].to_index;
            if (to >= 0 && !seen[to]) {
                seen[to] = 1;
                queue[tail++] = to;
            }
        }
    }
    for (size_t i = 0; i < wf->nstates; i++) {
        const cf_state *s = &wf->states[i];
        int leaves = 0;
        if (!seen[i])
            ERR(L, s->pos, "state '%s' cannot be reached from '%s'", s->name,
                wf->states[wf->initial].name);
        for (size_t k = 0; k < s->non; k++)
            leaves |= s->on[k].to_index >= 0 && s->on[k].to_index != (int)i;
        for (t = 0, e = x->start[i]; !leaves && next_applying(wf, x, i, &t, &e, &a);)
            leaves |= wf->any[a].to_index >= 0;
        if (!s->final && !leaves)
            ERR(L, s->pos, "state '%s' is not final but no transition leaves it", s->name);
        if (s->final && s->non > 0)
            ERR(L, s->on[0].pos, "state '%s' is final: nothing may happen after it", s->name);
    }
out:
    free(seen);
    free(queue);
}

/* Cycles reported per workflow at most. */
#define MAX_CYCLES 10
/* States named in a cycle's message at most. */
#define CYCLE_NAMES 12

/* A node on the path of the search for cycles: a state (< nstates) or an automatic any_state
 * transition, where its edges stand, and the transition of the last edge taken from it. */
struct step {
    size_t node, own, t, e;
    const cf_transition *via;
};

/* Reports the cycle path[0] -> ... -> path[n - 1] -> path[0], at the transition that leaves
 * path[0]. */
static void report_cycle(loader *L, const struct step *path, size_t n)
{
    const cf_workflow *wf = L->wf;
    char text[1024];
    size_t len = 0, states = 0, first = wf->nstates;

    text[0] = '\0';
    for (size_t k = 0; k <= n; k++) {
        size_t node = k < n ? path[k].node : first;
        int w;
        if (node >= wf->nstates)
            continue; /* an any_state transition: the states around it say enough */
        if (k < n && first == wf->nstates)
            first = node;
        if (k < n && ++states > CYCLE_NAMES) {
            if (states == CYCLE_NAMES + 1 && len + 8 < sizeof text) {
                memcpy(text + len, " -> ...", 8);
                len += 7;
            }
            continue;
        }
        w = snprintf(text + len, sizeof text - len, "%s%s", len ? " -> " : "",
                     wf->states[node].name);
        if (w < 0 || (size_t)w >= sizeof text - len)
            break;
        len += (size_t)w;
    }
    ERR(L, path[0].via ? path[0].via->pos : TOP,
        "automatic transitions ('when') go round in a cycle of %zu state%s: %s; a case would go "
        "round it with no event to stop it",
        states, states == 1 ? "" : "s", text);
}

/*
 * Reports cycles of automatic transitions (`when`, no event): a case in such a cycle would go
 * round it as long as the conditions hold, with no event to stop it (the engine gives up after
 * 32 steps with an error).  The graph has a node per state and one per automatic any_state
 * transition, which every state where it applies leads to; an iterative depth-first search
 * finds each cycle as an edge back to a node on the current path.  Linear in the states and
 * transitions, times the automatic any_state transitions (rarely more than a few).
 */
static void check_automatic_cycles(loader *L, const exceptions *x)
{
    cf_workflow *wf = L->wf;
    size_t ns = wf->nstates, nw = 0, *auto_any = NULL, nodes, depth = 0;
    struct step *stack = NULL;
    char *color = NULL; /* 0 unvisited, 1 on the path, 2 done */
    int cycles = 0;

    for (size_t t = 0; t < wf->nany; t++)
        nw += !wf->any[t].on && wf->any[t].to_index >= 0;
    nodes = ns + nw;
    auto_any = malloc((nw ? nw : 1) * sizeof *auto_any);
    color = calloc(nodes ? nodes : 1, 1);
    stack = malloc((nodes ? nodes : 1) * sizeof *stack);
    if (!auto_any || !color || !stack)
        goto out;
    nw = 0;
    for (size_t t = 0; t < wf->nany; t++)
        if (!wf->any[t].on && wf->any[t].to_index >= 0)
            auto_any[nw++] = t;

    for (size_t root = 0; root < ns && cycles < MAX_CYCLES; root++) {
        if (color[root])
            continue;
        color[root] = 1;
        stack[depth++] = (struct step){root, 0, 0, x->start[root], NULL};
        while (depth > 0) {
            struct step *f = &stack[depth - 1];
            size_t next = nodes;
            if (f->node < ns) {
                const cf_state *s = &wf->states[f->node];
                /* The state's own automatic transitions, then the automatic any_state ones that
                 * apply in it (both lists ascending, as its exceptions are). */
                while (f->own < s->non && next == nodes) {
                    const cf_transition *t = &s->on[f->own++];
                    if (!t->on && t->to_index >= 0) {
                        next = (size_t)t->to_index;
                        f->via = t;
                    }
                }
                while (next == nodes && !s->final && f->t < nw) {
                    size_t a = auto_any[f->t];
                    while (f->e < x->start[f->node + 1] && x->of[f->e] < a)
                        f->e++;
                    if (f->e < x->start[f->node + 1] && x->of[f->e] == a) {
                        f->t++;
                        continue;
                    }
                    next = ns + f->t++;
                    f->via = &wf->any[a];
                }
            } else if (f->own++ == 0) {
                f->via = &wf->any[auto_any[f->node - ns]];
                next = (size_t)f->via->to_index;
            }
            if (next == nodes) {
                color[f->node] = 2;
                depth--;
            } else if (color[next] == 0) {
                color[next] = 1;
                stack[depth++] = (struct step){next, 0, 0, next < ns ? x->start[next] : 0, NULL};
            } else if (color[next] == 1 && cycles < MAX_CYCLES) {
                size_t at = depth - 1;
                while (stack[at].node != next)
                    at--;
                report_cycle(L, stack + at, depth - at);
                cycles++;
            }
        }
    }
out:
    free(auto_any);
    free(color);
    free(stack);
}

void wf_check_workflow(loader *L)
{
    cf_workflow *wf = L->wf;
    catalog c;
    int nfinal = 0;

    memset(&c, 0, sizeof c);
    for (size_t i = 0; i < wf->nstates; i++) {
        collect_actions(&c, wf->states[i].enter, wf->states[i].nenter);
        collect_actions(&c, wf->states[i].exit, wf->states[i].nexit);
        collect_transitions(&c, wf->states[i].on, wf->states[i].non);
        nfinal += wf->states[i].final;
    }
    collect_transitions(&c, wf->any, wf->nany);
    names_add(&c.handled, wf->creates_on);
    /* A clock's deadlines are timers that its clock starts. */
    for (size_t i = 0; i < wf->nclocks; i++)
        for (size_t k = 0; k < wf->clocks[i].ndeadlines; k++)
            names_add(&c.timers, wf->clocks[i].deadlines[k].name);
    names_seal(&c.activities);
    names_seal(&c.timers);
    names_seal(&c.handled);
    names_seal(&c.started_clocks);
    names_seal(&c.records);
    names_seal(&c.returned);
    if (L->exprs)
        qsort(L->exprs, L->nexprs, sizeof *L->exprs, wf_expr_at_cmp);

    if (wf->index) {
        REPORT_TWICE(L, wf->index->posts, wf->index->nposts, "post", wf->posts[i].pos);
        REPORT_TWICE(L, wf->index->kinds, wf->index->nkinds, "task kind", wf->kinds[i].pos);
        REPORT_TWICE(L, wf->index->states, wf->index->nstates, "state", wf->states[i].pos);
    }
    for (size_t i = 0; i < wf->nkinds; i++) {
        check_post_ref(L, wf->kinds[i].post, wf->kinds[i].post_pos);
        check_returns(L, &c, &wf->kinds[i]);
    }
    {
        /* The engine moves overdue staff tasks to this post (engine/overdue.c). */
        const cf_setting *to = cf_workflow_setting(wf, "overdue_escalation_post");
        if (to &&
            (!json_is_string(to->value) || !cf_workflow_post(wf, json_string_value(to->value))))
            ERR(L, to->pos, "overdue_escalation_post must name a declared post");
        /* The engine sends the week's overdue lists of every post to this one (engine/overdue.c)
         * on this weekday. */
        to = cf_workflow_setting(wf, "overdue_list_post");
        if (to &&
            (!json_is_string(to->value) || !cf_workflow_post(wf, json_string_value(to->value))))
            ERR(L, to->pos, "overdue_list_post must name a declared post");
        to = cf_workflow_setting(wf, "overdue_list_weekday");
        if (to && (!json_is_integer(to->value) || json_integer_value(to->value) < 1 ||
                   json_integer_value(to->value) > 7))
            ERR(L, to->pos, "overdue_list_weekday must be a weekday from 1 (Monday) to 7 (Sunday)");
    }
    for (size_t i = 0; i < wf->nteams; i++)
        if (wf->teams[i] && !cf_workflow_post(wf, wf->teams[i]))
            ERR(L, wf->team_pos[i], "assignment: team '%s' is not a declared post", wf->teams[i]);
    for (size_t i = 0; i < wf->nevents; i++) {
        cf_event_decl *e = &wf->events[i];
        if (!e->type)
            continue;
        e->schema = wf->schemas ? cf_schema_set_get(wf->schemas, e->type) : NULL;
        if (!e->schema)
            ERR(L, e->pos, "event '%s' has no schema (expected %s.json in the schema folder)",
                e->type, e->type);
        if (!wf_is_builtin_event(e->type) && !names_has(&c.handled, e->type))
            ERR(L, e->pos, "event '%s' is declared but no transition handles it", e->type);
    }
    if (!cf_workflow_event(wf, wf->creates_on))
        ERR(L, L->created_by, "created_by: event '%s' is not declared under events",
            wf->creates_on);
    if (nfinal == 0 && wf->nstates > 0)
        ERR(L, L->root, "no state is final (mark the end of a case's life 'final: true')");

    for (size_t i = 0; i < wf->nstates; i++) {
        cf_state *s = &wf->states[i];
        check_actions(L, &c, s->enter, s->nenter);
        check_actions(L, &c, s->exit, s->nexit);
        check_transitions(L, &c, s->on, s->non);
    }
    check_transitions(L, &c, wf->any, wf->nany);
    check_clocks_and_decisions(L, &c);
    if (L->d->count + L->d->lost == L->errors_at_start) {
        exceptions x;
        if (exceptions_build(wf, &x)) {
            check_reachability(L, &x);
            if (L->d->count + L->d->lost == L->errors_at_start)
                check_automatic_cycles(L, &x);
        }
        exceptions_free(&x);
    }
    free(c.activities.v);
    free(c.timers.v);
    free(c.handled.v);
    free(c.started_clocks.v);
    free(c.records.v);
    free(c.returned.v);
}
