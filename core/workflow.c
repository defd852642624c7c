/*
 * The workflow loader: reads a YAML definition with libyaml's document API,
 * builds the model of workflow.h, and checks it as a whole (names that must
 * exist, states that must be reachable, events that must have schemas and
 * handlers).  Every problem is reported with its file, line and column, and
 * loading goes on after a problem so that one run shows them all.
 */
#include "workflow.h"

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

/* ---- diagnostics ---- */

void cf_diags_init(cf_diags *d)
{
    memset(d, 0, sizeof *d);
}

void cf_diags_free(cf_diags *d)
{
    for (size_t i = 0; i < d->count && d->lines; i++)
        free(d->lines[i]);
    free(d->lines);
    free(d->where);
    memset(d, 0, sizeof *d);
}

void cf_diags_add(cf_diags *d, const char *file, cf_pos pos, const char *fmt, ...)
{
    char msg[1024];
    int n = snprintf(msg, sizeof msg, "%s:%d:%d: ", file, pos.line, pos.col);
    va_list ap;

    if (n < 0 || (size_t)n >= sizeof msg)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    if (d->count == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        char **lines = realloc(d->lines, cap * sizeof *lines);
        cf_pos *where;
        if (lines)
            d->lines = lines;
        where = lines ? realloc(d->where, cap * sizeof *where) : NULL;
        if (!where) {
            d->lost++;
            return;
        }
        d->where = where;
        d->cap = cap;
    }
    d->lines[d->count] = strdup(msg);
    if (!d->lines[d->count]) {
        d->lost++;
        return;
    }
    d->where[d->count++] = pos;
}

static int pos_before(cf_pos a, cf_pos b)
{
    return a.line < b.line || (a.line == b.line && a.col < b.col);
}

/* Orders the lines from `from` on by their position in the file, keeping the order of lines at
 * the same position: a reader goes through the file from top to bottom.  A merge sort, so that
 * thousands of problems cost no more than their number times its logarithm. */
static void diags_sort(cf_diags *d, size_t from)
{
    size_t n = d->count - from;
    char **lines, **lt;
    cf_pos *where, *wt;

    if (!d->lines || !d->where || n < 2)
        return;
    lines = d->lines + from;
    where = d->where + from;
    lt = malloc(n * sizeof *lt);
    wt = malloc(n * sizeof *wt);
    if (!lt || !wt) {
        free(lt);
        free(wt);
        return;
    }
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n,
                   hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                /* Equal positions take the left one first: the sort is stable. */
                size_t from_right = pos_before(where[j], where[i]);
                size_t x = from_right ? j++ : i++;
                lt[k] = lines[x];
                wt[k++] = where[x];
            }
            while (i < mid) {
                lt[k] = lines[i];
                wt[k++] = where[i++];
            }
            while (j < hi) {
                lt[k] = lines[j];
                wt[k++] = where[j++];
            }
        }
        memcpy(lines, lt, n * sizeof *lines);
        memcpy(where, wt, n * sizeof *where);
    }
    free(lt);
    free(wt);
}

/* ---- files that the workflow names ---- */

/* Joins `rel` to the folder of `base`, unless `rel` is absolute. */
static char *relative_to(loader *L, const char *base, const char *rel)
{
    const char *slash = strrchr(base, '/');
    size_t dirlen = slash ? (size_t)(slash - base) + 1 : 0;
    char *out;

    if (rel[0] == '/' || dirlen == 0)
        return cf_arena_strdup(L->ar, rel);
    out = cf_arena_alloc(L->ar, dirlen + strlen(rel) + 1);
    if (out) {
        memcpy(out, base, dirlen);
        strcpy(out + dirlen, rel);
    }
    return out;
}

static void load_calendar(loader *L, yaml_node_t *n)
{
    char err[512];
    const char *path;

    if (!n) {
        ERR(L, L->root, "the workflow names no calendar ('calendar: calendars/cn.yaml')");
        return;
    }
    path = relative_to(L, L->file, wf_raw(n));
    if (!path)
        return;
    L->wf->calendar = cf_calendar_load(path, err, sizeof err);
    if (!L->wf->calendar)
        ERR(L, wf_pos_of(n), "calendar: %s", err);
}

static void load_schemas(loader *L, yaml_node_t *n)
{
    char err[512];
    const char *path = relative_to(L, L->file, n ? wf_raw(n) : "../schemas/events");

    L->wf->schemas = cf_schema_set_new();
    if (!path || !L->wf->schemas)
        return;
    if (cf_schema_set_load_dir(L->wf->schemas, path, err, sizeof err) != 0)
        ERR(L, wf_pos_of(n), "schemas: %s", err);
}

/* ---- lookups by name ---- */
static int named_cmp(const void *a, const void *b)
{
    const struct named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : x->i < y->i ? -1 : x->i > y->i;
}

/* Sorts the names found at base + i * stride (a `const char *` member of an array of n structs;
 * NULL names left out) into a new list owned by the arena; NULL when memory runs out. */
static struct named *index_names(cf_arena *ar, const void *base, size_t n, size_t stride,
                                 size_t *count)
{
    struct named *v = n ? cf_arena_alloc(ar, n * sizeof *v) : NULL;
    *count = 0;
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *name = *(const char *const *)(const void *)((const char *)base + i * stride);
        if (name)
            v[(*count)++] = (struct named){name, i};
    }
    qsort(v, *count, sizeof *v, named_cmp);
    return v;
}

/* The index of the first declaration of `name` in a sorted list, or -1. */
static long index_find(const struct named *v, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(v[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && strcmp(v[lo].name, name) == 0 ? (long)v[lo].i : -1;
}

/* Indexes the workflow's states, posts, task kinds and events by name.  Without it (out of
 * memory) the lookups search linearly. */
static void build_index(loader *L)
{
    cf_workflow *wf = L->wf;
    struct cf_workflow_index *x = cf_arena_alloc(L->ar, sizeof *x);
    if (!x)
        return;
    x->states = index_names(L->ar, wf->states ? &wf->states[0].name : NULL, wf->nstates,
                            sizeof *wf->states, &x->nstates);
    x->posts = index_names(L->ar, wf->posts ? &wf->posts[0].id : NULL, wf->nposts,
                           sizeof *wf->posts, &x->nposts);
    x->kinds = index_names(L->ar, wf->kinds ? &wf->kinds[0].name : NULL, wf->nkinds,
                           sizeof *wf->kinds, &x->nkinds);
    x->events = index_names(L->ar, wf->events ? &wf->events[0].type : NULL, wf->nevents,
                            sizeof *wf->events, &x->nevents);
    if ((wf->nstates && !x->states) || (wf->nposts && !x->posts) || (wf->nkinds && !x->kinds) ||
        (wf->nevents && !x->events))
        return;
    wf->index = x;
}

int cf_workflow_state_index(const cf_workflow *wf, const char *name)
{
    if (name && wf->index)
        return (int)index_find(wf->index->states, wf->index->nstates, name);
    for (size_t i = 0; name && i < wf->nstates; i++)
        if (wf->states[i].name && strcmp(wf->states[i].name, name) == 0)
            return (int)i;
    return -1;
}

const cf_post *cf_workflow_post(const cf_workflow *wf, const char *id)
{
    if (id && wf->index) {
        long i = index_find(wf->index->posts, wf->index->nposts, id);
        return i < 0 ? NULL : &wf->posts[i];
    }
    for (size_t i = 0; id && i < wf->nposts; i++)
        if (wf->posts[i].id && strcmp(wf->posts[i].id, id) == 0)
            return &wf->posts[i];
    return NULL;
}

const cf_task_kind *cf_workflow_kind(const cf_workflow *wf, const char *name)
{
    if (name && wf->index) {
        long i = index_find(wf->index->kinds, wf->index->nkinds, name);
        return i < 0 ? NULL : &wf->kinds[i];
    }
    for (size_t i = 0; name && i < wf->nkinds; i++)
        if (wf->kinds[i].name && strcmp(wf->kinds[i].name, name) == 0)
            return &wf->kinds[i];
    return NULL;
}

const cf_event_decl *cf_workflow_event(const cf_workflow *wf, const char *type)
{
    if (type && wf->index) {
        long i = index_find(wf->index->events, wf->index->nevents, type);
        return i < 0 ? NULL : &wf->events[i];
    }
    for (size_t i = 0; type && i < wf->nevents; i++)
        if (wf->events[i].type && strcmp(wf->events[i].type, type) == 0)
            return &wf->events[i];
    return NULL;
}

/* Clocks, settings and decisions are few: a linear search is enough. */
const cf_clock *cf_workflow_clock(const cf_workflow *wf, const char *name)
{
    for (size_t i = 0; name && i < wf->nclocks; i++)
        if (wf->clocks[i].name && strcmp(wf->clocks[i].name, name) == 0)
            return &wf->clocks[i];
    return NULL;
}

const cf_setting *cf_workflow_setting(const cf_workflow *wf, const char *name)
{
    for (size_t i = 0; name && i < wf->nsettings; i++)
        if (wf->settings[i].name && strcmp(wf->settings[i].name, name) == 0)
            return &wf->settings[i];
    return NULL;
}

const cf_decision *cf_workflow_decision(const cf_workflow *wf, const char *name)
{
    for (size_t i = 0; name && i < wf->ndecisions; i++)
        if (wf->decisions[i].name && strcmp(wf->decisions[i].name, name) == 0)
            return &wf->decisions[i];
    return NULL;
}

/* The title of the first action of `acts` that starts timer `name`, or NULL. */
static const char *timer_title_in(const cf_action *acts, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (acts[i].kind == CF_ACT_TIMER && acts[i].title && acts[i].name &&
            strcmp(acts[i].name, name) == 0)
            return acts[i].title;
    return NULL;
}

static const char *timer_title_on(const cf_transition *ts, size_t n, const char *name)
{
    const char *t = NULL;
    for (size_t i = 0; i < n && !t; i++)
        if (!(t = timer_title_in(ts[i].actions, ts[i].nactions, name)))
            t = timer_title_in(ts[i].otherwise, ts[i].notherwise, name);
    return t;
}

const char *cf_workflow_timer_title(const cf_workflow *wf, const char *name)
{
    const char *t = NULL;

    if (!name)
        return NULL;
    for (size_t c = 0; c < wf->nclocks && !t; c++)
        for (size_t d = 0; d < wf->clocks[c].ndeadlines && !t; d++)
            if (wf->clocks[c].deadlines[d].name &&
                strcmp(wf->clocks[c].deadlines[d].name, name) == 0)
                t = wf->clocks[c].deadlines[d].title;
    for (size_t s = 0; s < wf->nstates && !t; s++) {
        const cf_state *st = &wf->states[s];
        if (!(t = timer_title_in(st->enter, st->nenter, name)) &&
            !(t = timer_title_in(st->exit, st->nexit, name)))
            t = timer_title_on(st->on, st->non, name);
    }
    return t ? t : timer_title_on(wf->any, wf->nany, name);
}

/* ---- the top level ---- */

static const char *const top_keys[] = {
    "workflow",  "version",  "title",   "description", "calendar", "schemas",    "created_by",
    "initial",   "posts",    "workers", "staff_tasks", "events",   "assignment", "states",
    "any_state", "settings", "clocks",  "decisions",   "returns",  NULL};

static void parse_top(loader *L, yaml_node_t *root)
{
    cf_workflow *wf = L->wf;
    yaml_node_t *n, *states;
    size_t i = 0, at = 0;

    if (!wf_is_map(L, root, "a workflow file"))
        return;
    L->root = L->created_by = wf_pos_of(root);
    wf_check_keys(L, root, top_keys, "the workflow");

    if (!(n = wf_get(L, root, "workflow")))
        ERR(L, wf_pos_of(root), "the workflow has no name ('workflow: enforcement_case')");
    wf->name = n ? wf_text(L, n, "workflow") : NULL;
    if (!(n = wf_get(L, root, "version"))) {
        ERR(L, wf_pos_of(root), "the workflow has no version ('version: 1')");
    } else {
        char *end;
        long v;
        errno = 0;
        v = strtol(wf_raw(n), &end, 10);
        if (errno || *end || end == wf_raw(n) || v < 1 || v > INT_MAX)
            ERR(L, wf_pos_of(n), "version must be a whole number from 1, not '%s'", wf_raw(n));
        wf->version = (int)v;
    }
    if ((n = wf_get(L, root, "title")))
        wf->title = wf_text(L, n, "title");
    wf->creates_on = "case.filed";
    if ((n = wf_get(L, root, "created_by"))) {
        wf->creates_on = wf_text(L, n, "created_by");
        L->created_by = wf_pos_of(n);
    }

    load_calendar(L, wf_get(L, root, "calendar"));
    load_schemas(L, wf_get(L, root, "schemas"));
    /* Settings first: time expressions everywhere may count with them. */
    wf_parse_settings(L, wf_get(L, root, "settings"));
    wf_parse_clocks(L, wf_get(L, root, "clocks"));
    wf_parse_decisions(L, wf_get(L, root, "decisions"));
    wf_parse_posts(L, wf_get(L, root, "posts"));
    wf->nkinds =
        wf_map_len(wf_get(L, root, "workers")) + wf_map_len(wf_get(L, root, "staff_tasks"));
    wf->kinds = wf_alloc_array(L, wf->nkinds, sizeof *wf->kinds);
    if (wf->kinds) {
        wf_parse_kinds(L, wf_get(L, root, "workers"), 1, &at);
        wf_parse_kinds(L, wf_get(L, root, "staff_tasks"), 0, &at);
    }
    wf_parse_events(L, wf_get(L, root, "events"));
    wf_parse_assignment(L, wf_get(L, root, "assignment"));
    wf_parse_returns(L, wf_get(L, root, "returns"));

    states = wf_get(L, root, "states");
    if (!states) {
        ERR(L, wf_pos_of(root), "the workflow has no states");
    } else if (wf_is_map(L, states, "states")) {
        wf->nstates = wf_map_len(states);
        wf->states = wf_alloc_array(L, wf->nstates, sizeof *wf->states);
        for (yaml_node_pair_t *p = PAIRS(states); wf->states && p < PAIRS_END(states); p++, i++)
            wf_parse_state(L, wf_node(L, p->key), wf_node(L, p->value), &wf->states[i]);
    }
    wf->any = wf_parse_transitions(L, wf_get(L, root, "any_state"), &wf->nany, 1);
    if (wf->nany > CF_WORKFLOW_MAX_ANY)
        ERR(L, wf_pos_of(wf_get(L, root, "any_state")),
            "any_state has %zu transitions, more than %d: every event of every case tries them all",
            wf->nany, CF_WORKFLOW_MAX_ANY);
    build_index(L);

    wf->initial = -1;
    if (!(n = wf_get(L, root, "initial"))) {
        ERR(L, wf_pos_of(root), "the workflow has no initial state ('initial: filed')");
    } else {
        wf->initial = cf_workflow_state_index(wf, wf_raw(n));
        if (wf->initial < 0)
            ERR(L, wf_pos_of(n), "unknown state '%s'", wf_raw(n));
    }
    wf_check_workflow(L);
}

cf_workflow *cf_workflow_parse(const char *path, const char *text_, size_t len, cf_diags *diags)
{
    loader L;
    cf_yamldoc_error ye;
    yaml_node_t *root;
    int rc;

    memset(&L, 0, sizeof L);
    L.d = diags;
    L.errors_at_start = diags->count + diags->lost;
    L.ar = cf_arena_new();
    /* The workflow and the head of its list of owned expressions share one allocation. */
    L.wf = L.ar ? cf_arena_alloc(L.ar, sizeof(cf_workflow) + sizeof(struct owned *)) : NULL;
    if (!L.wf) {
        cf_arena_free(L.ar);
        cf_diags_add(diags, path, TOP, "out of memory");
        return NULL;
    }
    L.wf->arena = L.ar;
    L.wf->path = L.file = cf_arena_strdup(L.ar, path);
    L.src = text_;
    L.srclen = len;

    rc = cf_yamldoc_load(&L.doc, text_, len, &ye);
    if (rc) {
        cf_pos p = {ye.line, ye.col};
        if (rc == CF_EPARSE)
            cf_diags_add(diags, path, p, "bad YAML: %s%s%s", ye.problem, ye.context[0] ? " " : "",
                         ye.context);
        else if (rc == CF_ERANGE)
            cf_diags_add(diags, path, p, "refused: %s", ye.problem);
        else
            cf_diags_add(diags, path, TOP, "out of memory");
        goto fail;
    }
    if (!wf_chars_index(&L)) {
        yaml_document_delete(&L.doc);
        cf_diags_add(diags, path, TOP, "out of memory");
        goto fail;
    }
    root = yaml_document_get_root_node(&L.doc);
    if (!root)
        cf_diags_add(diags, path, TOP, "the file is empty");
    else
        parse_top(&L, root);
    yaml_document_delete(&L.doc);
    wf_loader_free(&L);
    diags_sort(diags, L.errors_at_start <= diags->count ? L.errors_at_start : diags->count);
    if (L.skipped)
        cf_diags_add(diags, path, diags->count ? diags->where[diags->count - 1] : TOP,
                     "and %zu more problems, not shown (the first %d are)", L.skipped,
                     MAX_PROBLEMS);
    if (diags->count + diags->lost > L.errors_at_start)
        goto fail;
    return L.wf;
fail:
    wf_loader_free(&L);
    cf_workflow_free(L.wf);
    return NULL;
}

cf_workflow *cf_workflow_load(const char *path, cf_diags *diags)
{
    char err[256], *buf;
    size_t len;
    cf_workflow *wf;

    if (cf_yamldoc_read_file(path, CF_YAML_MAX_BYTES, &buf, &len, err, sizeof err) != 0) {
        cf_diags_add(diags, path, TOP, "%s", err);
        return NULL;
    }
    wf = cf_workflow_parse(path, buf, len, diags);
    free(buf);
    return wf;
}

void cf_workflow_free(cf_workflow *wf)
{
    if (!wf)
        return;
    for (struct owned *o = *wf_owned_list(wf); o; o = o->next) {
        cf_expr_free(o->expr);
        cf_when_free(o->when);
        cf_schedule_free(o->schedule);
        json_decref(o->json);
    }
    cf_calendar_free(wf->calendar);
    cf_schema_set_free(wf->schemas);
    cf_arena_free(wf->arena);
}
