/*
 * `caseflow db rebuild` (engine/rebuild.h): cases are read a batch at a time through a cursor,
 * with their events, timers and open tasks, inside one read-only snapshot, and each case is
 * replayed from its log and compared with what is stored.
 */
#include "engine/rebuild.h"

#include <stdlib.h>
#include <string.h>

#include "io/store.h"
#include "core/rebuild.h"
#include "core/replay.h"
#include "engine/cases.h"

/* Cases per fetch: each batch's events are held in memory while its cases are checked. */
#define BATCH "200"

#define MS(x) "(extract(epoch from " x ") * 1000)::bigint"

/* Every list is ordered by the bytes of the case number (collate "C"), as strcmp orders them,
 * so that the batch's lists can be walked side by side. */
static const char CASES_SQL[] =
    "declare rebuild_cases no scroll cursor for select case_no, workflow, version, state, seq, "
    "body::text, head_hash from cases where $1::text is null or case_no = $1 "
    "order by case_no collate \"C\"";
static const char EVENTS_SQL[] = "select case_no, " CF_CASE_LOG_COLUMNS " from events where "
                                 "case_no = any($1::text[]) order by case_no collate \"C\", seq";
static const char TIMERS_SQL[] = "select case_no, name, " MS(
    "due_at") " from timers where "
              "case_no = any($1::text[]) order by case_no collate \"C\"";
static const char TASKS_SQL[] = "select t.case_no, t.task_id, t.activity, t.kind, t.post, " MS(
    "t.due_at") ", m.from_post, "
                "m.id is not null from tasks t left join lateral (select r.id, r.from_post from "
                "task_reassignments r where r.task_id = t.task_id order by r.id limit 1) m on true "
                "where t.case_no = any($1::text[]) and t.status in ('open', 'claimed') "
                "order by t.case_no collate \"C\"";
/* The engine's clock: a timer due at or before it has fired. */
static const char CLOCK_SQL[] =
    "select " MS("coalesce((select case when mode = 'simulated' then now else now() end from "
                 "engine_clock where id = 1), now())");

/* One fetched batch: the cases and, for them, the rows of each table. */
typedef struct batch {
    PGresult *cases, *events, *timers, *tasks;
} batch;

typedef struct run {
    PGconn *db;
    const cf_registry *reg;
    cf_time now;
    cf_rebuild_fn each;
    void *arg;
    cf_rebuild_totals *tot;
    char report[16384];
} run;

static void batch_clear(batch *b)
{
    PQclear(b->cases);
    PQclear(b->events);
    PQclear(b->timers);
    PQclear(b->tasks);
    memset(b, 0, sizeof *b);
}

/* The end of case `no`'s rows in `res` from row `from` (column 0 holds the case number). */
static int rows_of(const PGresult *res, int from, const char *no)
{
    int n = PQntuples(res);
    while (from < n && strcmp(PQgetvalue(res, from, 0), no) == 0)
        from++;
    return from;
}

static cf_time ms(const PGresult *res, int row, int col)
{
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* Replays one case (row `i` of the batch's cases) and compares; its events, timers and tasks
 * are rows [e0, e1), [t0, t1) and [k0, k1) of theirs.  Returns 0, CF_ENOMEM, or what the
 * callback returned. */
static int check_case(run *R, const batch *b, int i, int e0, int e1, int t0, int t1, int k0, int k1)
{
    const char *no = PQgetvalue(b->cases, i, 0), *workflow = PQgetvalue(b->cases, i, 1);
    const cf_workflow *wf = cf_registry_find(R->reg, workflow, atoi(PQgetvalue(b->cases, i, 2)));
    size_t n = (size_t)(e1 - e0), nt = (size_t)(t1 - t0), nk = (size_t)(k1 - k0);
    cf_replay_row *rows = calloc(n + 1, sizeof *rows);
    json_t **owned = calloc(2 * n + 1, sizeof *owned), *body = NULL;
    cf_rebuild_timer *timers = calloc(nt + 1, sizeof *timers);
    cf_rebuild_task *tasks = calloc(nk + 1, sizeof *tasks);
    cf_rebuild_case c = {.case_no = no, .events = n, .report = R->report};
    cf_replay rep;
    size_t diffs = 0;
    int rc = 0;

#define NOTE(...) (diffs++, cf_rebuild_note(R->report, sizeof R->report, __VA_ARGS__))
    memset(&rep, 0, sizeof rep);
    R->report[0] = '\0';
    if (!rows || !owned || !timers || !tasks) {
        rc = CF_ENOMEM;
        goto out;
    }
    if (!wf) {
        cf_rebuild_note(R->report, sizeof R->report,
                        "not checked: workflow %s version %s is not loaded", workflow,
                        PQgetvalue(b->cases, i, 2));
        R->tot->unchecked++;
        goto report;
    }
    c.checked = 1;
    for (size_t j = 0; j < n; j++)
        cf_case_log_fill(b->events, e0 + (int)j, 1, &rows[j], &owned[2 * j]);
    body = json_loads(PQgetvalue(b->cases, i, 5), 0, NULL);
    wf = cf_registry_for_case(R->reg, wf, no, body);
    {
        cf_replay_case rc_case = {.case_no = no,
                                  .workflow = wf->name,
                                  .version = wf->version,
                                  .body = body,
                                  .head_hash = PQgetvalue(b->cases, i, 6)};
        if (cf_replay_verify(wf, &rc_case, rows, n, CF_REPLAY_ALL, &rep) == CF_ENOMEM) {
            rc = CF_ENOMEM;
            goto out;
        }
    }
    if (n == 0)
        NOTE("the case has no events");
    if (rep.chain_seq)
        NOTE("chain: %s", rep.chain);
    if (rep.replay_seq || rep.stopped)
        NOTE("replay: %s", rep.replay);
    if (rep.final != 1)
        NOTE("state: %s", rep.final_text);
    if (rep.state) {
        const char *st = json_string_value(json_object_get(rep.state, "state"));
        json_int_t seq = json_integer_value(json_object_get(rep.state, "seq"));
        int offset = cf_calendar_utc_offset(wf->calendar);
        size_t flying = 0;
        /* The columns kept beside the body, which the queues and reports read. */
        if (!st || strcmp(st, PQgetvalue(b->cases, i, 3)) != 0)
            NOTE("the case row says state %s, the log gives %s", PQgetvalue(b->cases, i, 3),
                 st ? st : "(none)");
        if (seq != strtoll(PQgetvalue(b->cases, i, 4), NULL, 10))
            NOTE("the case row says seq %s, the log %lld", PQgetvalue(b->cases, i, 4),
                 (long long)seq);
        for (size_t j = 0; j < nt; j++)
            timers[j] = (cf_rebuild_timer){.name = PQgetvalue(b->timers, t0 + (int)j, 1),
                                           .due = ms(b->timers, t0 + (int)j, 2)};
        for (size_t j = 0; j < nk; j++) {
            int r = k0 + (int)j;
            tasks[j] = (cf_rebuild_task){
                .task_id = PQgetvalue(b->tasks, r, 1),
                .activity = PQgetvalue(b->tasks, r, 2),
                .kind = PQgetvalue(b->tasks, r, 3),
                .post = PQgetisnull(b->tasks, r, 4) ? NULL : PQgetvalue(b->tasks, r, 4),
                .has_due = !PQgetisnull(b->tasks, r, 5),
                .due = PQgetisnull(b->tasks, r, 5) ? 0 : ms(b->tasks, r, 5),
                .post_before_moves =
                    PQgetisnull(b->tasks, r, 6) ? NULL : PQgetvalue(b->tasks, r, 6),
                .moved = PQgetvalue(b->tasks, r, 7)[0] == 't'};
        }
        diffs += cf_rebuild_compare(rep.state, timers, nt, tasks, nk, R->now, offset, &flying,
                                    R->report, sizeof R->report);
        c.in_flight = flying;
        R->tot->in_flight += flying;
    }
report:
#undef NOTE
    c.differences = diffs;
    if (c.differences)
        R->tot->differ++;
    R->tot->cases++;
    R->tot->events += n;
    if (R->each)
        rc = R->each(&c, R->arg);
out:
    for (size_t j = 0; owned && j < 2 * n; j++)
        json_decref(owned[j]);
    free(owned);
    free(rows);
    free(timers);
    free(tasks);
    json_decref(body);
    cf_replay_clear(&rep);
    return rc;
}

/* Reads the rows of the batch's cases from the three tables, then checks each case. */
static int check_batch(run *R, batch *b, char *err, size_t errsz)
{
    int ncases = PQntuples(b->cases), e = 0, t = 0, k = 0, rc = 0;
    cf_sqlarr nos;
    const char *p[1];

    cf_sqlarr_init(&nos);
    for (int i = 0; i < ncases; i++)
        cf_sqlarr_add(&nos, PQgetvalue(b->cases, i, 0));
    if (nos.failed) {
        cf_sqlarr_free(&nos);
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    }
    p[0] = cf_sqlarr_text(&nos);
    if (!(b->events = cf_store_exec(R->db, EVENTS_SQL, 1, p, err, errsz)) ||
        !(b->timers = cf_store_exec(R->db, TIMERS_SQL, 1, p, err, errsz)) ||
        !(b->tasks = cf_store_exec(R->db, TASKS_SQL, 1, p, err, errsz))) {
        cf_sqlarr_free(&nos);
        return CF_EDB;
    }
    cf_sqlarr_free(&nos);
    for (int i = 0; i < ncases && rc == 0; i++) {
        const char *no = PQgetvalue(b->cases, i, 0);
        int e1 = rows_of(b->events, e, no), t1 = rows_of(b->timers, t, no),
            k1 = rows_of(b->tasks, k, no);
        rc = check_case(R, b, i, e, e1, t, t1, k, k1);
        e = e1, t = t1, k = k1;
    }
    if (rc == CF_ENOMEM)
        cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    return rc;
}

int cf_rebuild_check(PGconn *db, const cf_registry *reg, const char *only, cf_rebuild_fn each,
                     void *arg, cf_rebuild_totals *tot, char *err, size_t errsz)
{
    run *R = calloc(1, sizeof *R);
    PGresult *res;
    batch b;
    int rc = 0;

    memset(tot, 0, sizeof *tot);
    memset(&b, 0, sizeof b);
    if (!R)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    *R = (run){.db = db, .reg = reg, .each = each, .arg = arg, .tot = tot};
    /* One snapshot for the whole run: an engine committing meanwhile changes nothing seen. */
    if (!(res = cf_store_exec(db, "begin isolation level repeatable read read only", 0, NULL, err,
                              errsz))) {
        free(R);
        return CF_EDB;
    }
    PQclear(res);
    if (!(res = cf_store_exec(db, CLOCK_SQL, 0, NULL, err, errsz))) {
        rc = CF_EDB;
        goto out;
    }
    R->now = ms(res, 0, 0);
    PQclear(res);
    if (!(res = cf_store_exec(db, CASES_SQL, 1, (const char *[]){only}, err, errsz))) {
        rc = CF_EDB;
        goto out;
    }
    PQclear(res);
    for (;;) {
        batch_clear(&b);
        if (!(b.cases =
                  cf_store_exec(db, "fetch " BATCH " from rebuild_cases", 0, NULL, err, errsz))) {
            rc = CF_EDB;
            break;
        }
        if (PQntuples(b.cases) == 0 || (rc = check_batch(R, &b, err, errsz)) != 0)
            break;
    }
    if (rc == 0 && only && tot->cases == 0)
        rc = cf_errf(err, errsz, CF_ENOTFOUND, "there is no case %s", only);
    else if (rc == 0 && (tot->differ || tot->unchecked))
        rc = CF_ESTATE;
out:
    batch_clear(&b);
    /* Read only: ending the transaction either way changes nothing. */
    PQclear(cf_store_exec(db, "rollback", 0, NULL, NULL, 0));
    free(R);
    return rc;
}
