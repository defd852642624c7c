/*
 * bench/core: the CPU of the pure core alone, with no PostgreSQL and no Kafka (issue #14).
 *
 *   bench_core WORKFLOW EVENTS.jsonl... [-n CASES] [-r ROUNDS]
 *
 *  1. apply: the scenarios' events (every line of every EVENTS file, in order; a task_id written
 *     "@activity" names the case's open task of that activity, as `caseflow simulate` reads it)
 *     run through cf_machine_apply, each at its own time, ROUNDS times over; events the workflow
 *     refuses (timers are not fired here) are counted and left out of the figure.  Then the engine
 *     bench's stream: CASES cases of case.filed (the first case.filed of the files, renumbered)
 *     and three case.corrected each, and one case of 50 events.  Printed: microseconds per
 *     apply, the step's actions rendered as JSON included (the engine stores them).
 *  2. replay: every case applied in 1 stored as the engine stores it (body text, actions text,
 *     state names, hash chain, the case's final state), then verified as `caseflow replay` and
 *     bench/engine do it (bodies and the case's state parsed, the actions passed as their text,
 *     cf_replay_verify); microseconds per replayed row on one thread, and the longest case alone
 *     (the engine stream's case of 50 events: issue #14's target is < 5 ms with the reading).
 *
 * Built without sanitizers by `bench/run core`; the figures go to docs/performance.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/chain.h"
#include "core/machine.h"
#include "core/replay.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One stored row, as the engine writes it. */
typedef struct stored {
    long long seq;
    char *case_no, *body, *actions, *from, *to, *prev, *hash;
    cf_time applied_at, event_time;
} stored;

/* The events of one run and what applying them stored. */
typedef struct log {
    const cf_workflow *wf;
    json_t **events;
    size_t nevents;
    stored *rows;
    size_t nrows, cap;
    json_t *cases; /* case number -> state */
    json_t *last;  /* case number -> its last stored row's index */
} log;

static void die(const char *what)
{
    fprintf(stderr, "bench_core: %s\n", what);
    exit(2);
}

static void add_event(log *l, json_t *ev)
{
    json_t **e = realloc(l->events, (l->nevents + 1) * sizeof *e);
    if (!e)
        die("out of memory");
    l->events = e;
    l->events[l->nevents++] = ev;
}

static void read_events(log *l, const char *path)
{
    char line[65536];
    FILE *f = fopen(path, "r");
    if (!f)
        die(path);
    while (fgets(line, sizeof line, f)) {
        json_t *ev = json_loads(line, 0, NULL);
        if (json_is_object(ev))
            add_event(l, ev);
        else
            json_decref(ev);
    }
    fclose(f);
}

/* The engine bench's stream: `cases` cases of four events, and one of 50, from `filed`. */
static void engine_stream(log *l, const json_t *filed, int cases)
{
    for (int c = 0; c <= cases; c++) {
        int events = c < cases ? 4 : 50;
        char case_no[64], id[64], cause[64];
        json_t *ev = json_deep_copy(filed);
        snprintf(case_no, sizeof case_no, "(2026)豫0381执%d号", 900000 + c);
        snprintf(id, sizeof id, "b-%d-0", c);
        json_object_set_new(ev, "case", json_string(case_no));
        json_object_set_new(ev, "id", json_string(id));
        add_event(l, ev);
        for (int i = 1; i < events; i++) {
            snprintf(id, sizeof id, "b-%d-%d", c, i);
            snprintf(cause, sizeof cause, "民间借贷纠纷（更正%d）", i);
            add_event(l, json_pack("{s:s, s:s, s:s, s:O, s:s, s:{s:{s:s}}}", "id", id, "type",
                                   "case.corrected", "case", case_no, "time",
                                   json_object_get(filed, "time"), "source", "filing", "data",
                                   "fields", "cause", cause));
        }
    }
}

/* A task_id "@activity" names the case's open task of that activity (as in `caseflow simulate`). */
static json_t *resolve_task(const log *l, const json_t *ev)
{
    json_t *copy, *data = json_object_get(ev, "data");
    const char *id = json_string_value(json_object_get(data, "task_id"));
    json_t *act;
    if (!id || id[0] != '@')
        return json_incref((json_t *)ev);
    act = json_object_get(
        json_object_get(json_object_get(l->cases, json_string_value(json_object_get(ev, "case"))),
                        "activities"),
        id + 1);
    copy = json_deep_copy(ev);
    if (json_object_get(act, "task_id"))
        json_object_set(json_object_get(copy, "data"), "task_id", json_object_get(act, "task_id"));
    return copy;
}

static char *dup_text(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        die("out of memory");
    return d;
}

/* Stores the row of `ev` applied as `step` at `t`, after the case's row before (if any). */
static void store_row(log *l, const char *case_no, const json_t *ev, const cf_step *step, cf_time t)
{
    stored *r, *before = NULL;
    char hash[65];
    if (l->nrows == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 1024;
        if (!(l->rows = realloc(l->rows, l->cap * sizeof *l->rows)))
            die("out of memory");
    }
    if (json_object_get(l->last, case_no))
        before = &l->rows[json_integer_value(json_object_get(l->last, case_no))];
    json_object_set_new(l->last, case_no, json_integer((json_int_t)l->nrows));
    r = &l->rows[l->nrows++];
    memset(r, 0, sizeof *r);
    r->seq = json_integer_value(json_object_get(step->state, "seq"));
    r->case_no = dup_text(case_no);
    if (!(r->body = json_dumps(ev, JSON_COMPACT)) ||
        !(r->actions = json_dumps(step->actions, JSON_COMPACT)))
        die("out of memory");
    r->from = dup_text(step->from);
    r->to = dup_text(step->to);
    r->prev = dup_text(before ? before->hash : cf_chain_genesis);
    if (cf_chain_hash(r->prev, case_no, r->seq, json_string_value(json_object_get(ev, "id")),
                      r->body, strlen(r->body), r->to, hash) != 0)
        die("out of memory");
    r->hash = dup_text(hash);
    r->applied_at = t;
    if (cf_time_parse(json_string_value(json_object_get(ev, "time")), &r->event_time) != 0)
        die("an event's time");
}

/* Applies every event of `l` once to fresh cases; stores the rows when `keep`.  Returns the
 * events applied, and counts the refused in *refused. */
static long apply_all(log *l, int keep, long *refused)
{
    long applied = 0;
    json_object_clear(l->cases);
    for (size_t i = 0; i < l->nevents; i++) {
        json_t *ev = resolve_task(l, l->events[i]);
        const char *case_no = json_string_value(json_object_get(ev, "case"));
        const json_t *state = case_no ? json_object_get(l->cases, case_no) : NULL;
        cf_time t;
        cf_step step;
        char err[512];
        if (!case_no || cf_time_parse(json_string_value(json_object_get(ev, "time")), &t) != 0) {
            json_decref(ev);
            continue;
        }
        /* The engine's clock runs a little after the event's time. */
        t += 500;
        if (cf_machine_apply(l->wf, state, ev, t, &step, err, sizeof err) != 0) {
            (*refused)++;
            json_decref(ev);
            continue;
        }
        applied++;
        if (keep)
            store_row(l, case_no, ev, &step, t);
        json_object_set(l->cases, case_no, step.state);
        cf_step_clear(&step);
        json_decref(ev);
    }
    return applied;
}

static int by_case(const void *a, const void *b)
{
    const stored *x = a, *y = b;
    int c = strcmp(x->case_no, y->case_no);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* Verifies the case of rows[from, to) as bench/engine does: the texts parsed, then
 * cf_replay_verify.  Returns 1 when it does not verify. */
static int verify_case(const log *l, const char *const *case_text, size_t from, size_t to)
{
    size_t n = to - from;
    cf_replay_row *rows = calloc(n, sizeof *rows);
    json_t **bodies = calloc(n, sizeof *bodies);
    const char *case_no = l->rows[from].case_no;
    cf_replay_case c = {.case_no = case_no, .workflow = l->wf->name, .version = l->wf->version};
    cf_replay r;
    int bad = 0;
    if (!rows || !bodies)
        die("out of memory");
    for (size_t k = from; k < to; k++) {
        const stored *s = &l->rows[k];
        cf_replay_row *row = &rows[k - from];
        row->seq = s->seq;
        row->body_text = s->body;
        row->body_len = strlen(s->body);
        row->body = bodies[k - from] = json_loads(s->body, 0, NULL);
        row->event_id = json_string_value(json_object_get(row->body, "id"));
        row->type = json_string_value(json_object_get(row->body, "type"));
        row->source = json_string_value(json_object_get(row->body, "source"));
        row->event_time = s->event_time;
        row->applied_at = s->applied_at;
        row->state_before = s->from;
        row->state_after = s->to;
        row->actions_text = s->actions; /* parsed only when the replay renders other text */
        row->prev_hash = s->prev;
        row->hash = s->hash;
    }
    c.body = json_loads(case_text[0], 0, NULL);
    c.head_hash = l->rows[to - 1].hash;
    bad = cf_replay_verify(l->wf, &c, rows, n, CF_REPLAY_ALL, &r) != 0;
    if (bad)
        fprintf(stderr, "bench_core: %s does not verify: %s; %s; %s\n", case_no, r.chain, r.replay,
                r.final_text);
    cf_replay_clear(&r);
    while (n > 0)
        json_decref(bodies[--n]);
    json_decref((json_t *)c.body);
    free(bodies);
    free(rows);
    return bad;
}

/* Applies `l` `rounds` times and prints the figure; keeps the rows of the first round. */
static void bench_apply(log *l, const char *what, int rounds)
{
    long applied = 0, refused = 0, once;
    double t0, c0, t1, c1;
    once = apply_all(l, 1, &refused);
    refused = 0;
    t0 = now_s();
    c0 = cpu_s();
    for (int i = 0; i < rounds; i++)
        applied += apply_all(l, 0, &refused);
    t1 = now_s();
    c1 = cpu_s();
    printf("apply:  %-22s %5ld events applied (%ld refused) x %d: %.1f us per apply (CPU %.1f "
           "us",
           what, once, refused / rounds, rounds, (t1 - t0) * 1e6 / (double)applied,
           (c1 - c0) * 1e6 / (double)applied);
    printf(")\n");
}

/* Replays every stored row `rounds` times and prints the figure. */
static void bench_replay(log *l, int rounds)
{
    size_t ncases = 0, *starts = calloc(l->nrows + 1, sizeof *starts);
    char **case_text = calloc(l->nrows + 1, sizeof *case_text);
    size_t longest = 0;
    double t0, c0, t1, c1;
    int bad = 0;
    if (!starts || !case_text)
        die("out of memory");
    qsort(l->rows, l->nrows, sizeof *l->rows, by_case);
    for (size_t i = 0; i < l->nrows; i++)
        if (i == 0 || strcmp(l->rows[i].case_no, l->rows[i - 1].case_no) != 0) {
            case_text[ncases] =
                json_dumps(json_object_get(l->cases, l->rows[i].case_no), JSON_COMPACT);
            starts[ncases++] = i;
        }
    starts[ncases] = l->nrows;
    for (size_t c = 0; c < ncases; c++)
        if (starts[c + 1] - starts[c] > starts[longest + 1] - starts[longest])
            longest = c;
    t0 = now_s();
    c0 = cpu_s();
    for (int k = 0; k < rounds; k++)
        for (size_t c = 0; c < ncases; c++)
            bad += verify_case(l, (const char *const *)&case_text[c], starts[c], starts[c + 1]);
    t1 = now_s();
    c1 = cpu_s();
    printf("replay: %zu rows of %zu cases x %d: %.1f us per row (CPU %.1f us", l->nrows, ncases,
           rounds, (t1 - t0) * 1e6 / (double)(l->nrows * (size_t)rounds),
           (c1 - c0) * 1e6 / (double)(l->nrows * (size_t)rounds));
    printf("), %d did not verify\n", bad);
    t0 = now_s();
    for (int k = 0; k < 100; k++)
        bad += verify_case(l, (const char *const *)&case_text[longest], starts[longest],
                           starts[longest + 1]);
    t1 = now_s();
    printf("replay: the case of %zu events alone: %.3f ms (parse + verify, no reading)\n",
           starts[longest + 1] - starts[longest], (t1 - t0) * 1000 / 100);
    for (size_t c = 0; c < ncases; c++)
        free(case_text[c]);
    free(case_text);
    free(starts);
    if (bad)
        exit(1);
}

static void log_free(log *l)
{
    for (size_t i = 0; i < l->nevents; i++)
        json_decref(l->events[i]);
    for (size_t i = 0; i < l->nrows; i++) {
        stored *r = &l->rows[i];
        free(r->case_no);
        free(r->body);
        free(r->actions);
        free(r->from);
        free(r->to);
        free(r->prev);
        free(r->hash);
    }
    free(l->events);
    free(l->rows);
    json_decref(l->cases);
    json_decref(l->last);
}

int main(int argc, char **argv)
{
    int cases = 2000, rounds = 20, nfiles = 0;
    const char *files[256];
    cf_diags d;
    cf_workflow *wf;
    log scen = {0}, eng = {0};
    const json_t *filed = NULL;

    if (argc < 3) {
        fprintf(stderr, "usage: bench_core WORKFLOW EVENTS.jsonl... [-n CASES] [-r ROUNDS]\n");
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            cases = atoi(argv[++i]);
        else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (nfiles < 256)
            files[nfiles++] = argv[i];
    }
    cf_diags_init(&d);
    wf = cf_workflow_load(argv[1], &d);
    for (size_t k = 0; k < d.count; k++)
        fprintf(stderr, "%s\n", d.lines[k]);
    cf_diags_free(&d);
    if (!wf)
        die("cannot load the workflow");
    scen.wf = eng.wf = wf;
    scen.cases = json_object();
    eng.cases = json_object();
    scen.last = json_object();
    eng.last = json_object();
    for (int i = 0; i < nfiles; i++)
        read_events(&scen, files[i]);
    for (size_t i = 0; i < scen.nevents && !filed; i++)
        if (strcmp(json_string_value(json_object_get(scen.events[i], "type")), "case.filed") == 0)
            filed = scen.events[i];
    if (!filed)
        die("no case.filed in the events");
    engine_stream(&eng, filed, cases);

    bench_apply(&scen, "scenarios", rounds);
    bench_apply(&eng, "engine bench's stream", 1);
    bench_replay(&scen, rounds);
    bench_replay(&eng, 1);
    log_free(&scen);
    log_free(&eng);
    cf_workflow_free(wf);
    return 0;
}
