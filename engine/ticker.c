/*
 * The engine's clock and what happens by time alone: due timers become
 * timer.fired events, and batched task kinds (集约) are dispatched on their
 * schedules, one message per group (each court's on its own calendar, of its
 * own cases, #16).  Each step is one transaction that both
 * takes the rows (so that no other engine takes them too) and writes the
 * outbox rows that carry them on, their messages made by core/message.c; the
 * relay publishes them after the commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "core/message.h"
#include "engine/cases.h"
#include "engine/internal.h"
#include "engine/volume.h"

/* At most this many timers or batch occurrences per tick, so that a tick stays short. */
enum { TIMERS_PER_TICK = 2000, OCCURRENCES_PER_TICK = 64, TASKS_PER_MESSAGE = 100 };

int cf_clock_read(cf_engine *e, char *err, size_t errsz)
{
    PGresult *res;
    char why[512];

    if (!e->simulated) {
        e->now = cf_wall_ms();
        return 0;
    }
    res = cf_store_exec(e->db,
                        "select (extract(epoch from now) * 1000)::bigint from engine_clock "
                        "where id = 1",
                        0, NULL, why, sizeof why);
    if (!res)
        return cf_errf(err, errsz, CF_EDB, "reading the simulated clock: %s", why);
    /* The simulated clock only moves forward, and a batch in flight may already have moved it
     * further than the database says. */
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        cf_time t = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        if (t > e->now)
            e->now = t;
    }
    PQclear(res);
    return 0;
}

/* Runs `sql` on the engine's connection; on failure rolls back the transaction open there and
 * returns NULL with the reason in `err`, naming `what`. */
static PGresult *step(cf_engine *e, const char *what, const char *sql, int n, const char *const *p,
                      char *err, size_t errsz)
{
    char why[512];
    PGresult *res = cf_store_exec(e->db, sql, n, p, why, sizeof why);

    if (!res) {
        cf_errf(err, errsz, CF_EDB, "%s: %s", what, why);
        PQclear(PQexec(e->db, "rollback"));
    }
    return res;
}

/* Writes the messages gathered in `b` to the outbox in the transaction open on e->db, commits it
 * and hands them to the relay.  On failure the transaction is rolled back. */
static int publish(cf_engine *e, cf_batch *b, const char *what, char *err, size_t errsz)
{
    PGresult *res;
    int rc;

    b->db = e->db;
    if ((rc = cf_batch_write_outbox(b, err, errsz)) != 0) {
        PQclear(PQexec(e->db, "rollback"));
        return rc;
    }
    if (!(res = step(e, what, "commit", 0, NULL, err, errsz)))
        return CF_EDB;
    PQclear(res);
    for (size_t i = 0; i < b->outbox.n; i++) {
        const cf_outbox_row *o = &b->outbox.v[i];
        cf_relay_send(e, b->ids[i], o->topic, o->key, o->msg_id, o->payload, o->len);
    }
    return 0;
}

/* Puts message `m` (taken) in the outbox rows of `b`; a message that could not be made breaks
 * the batch, which then does not commit. */
static void add_message(cf_batch *b, const char *topic, const char *key, const char *id, json_t *m)
{
    cf_batch_outbox(b, topic, key, id, m ? json_dumps(m, JSON_COMPACT) : NULL);
    json_decref(m);
}

static int fire_timers(cf_engine *e, char *err, size_t errsz)
{
    char now[CF_TIME_BUFSZ], limit[16];
    const char *p[2] = {now, limit};
    PGresult *res;
    cf_batch b;
    int rc;

    cf_time_format(e->now, e->offset_min, now, sizeof now);
    snprintf(limit, sizeof limit, "%d", TIMERS_PER_TICK);
    if (!(res = step(e, "firing timers", "begin", 0, NULL, err, errsz)))
        return CF_EDB;
    PQclear(res);
    /* The timers leave the table in the transaction in which their events enter the outbox.
     * SKIP LOCKED lets several engines tick at once without taking the same timer. */
    if (!(res = step(e, "firing timers",
                     "with due as (delete from timers where ctid in (select ctid from timers "
                     "where due_at <= $1::timestamptz order by due_at limit $2::int for update "
                     "skip locked) returning case_no, name, due_at) select case_no, name, "
                     "(extract(epoch from due_at) * 1000)::bigint from due order by due_at",
                     2, p, err, errsz)))
        return CF_EDB;
    cf_batch_init(&b);
    /* Event times are written at the court's fixed offset, as every other time caseflow writes
     * (cf_time_format), not in the zone the database knows: it knows Asia/Shanghai before 1901
     * as local mean time, +08:05:43, and a due time written that way with "+08:00" after it is
     * another instant, which the case then refused as a stale firing. */
    for (int r = 0; r < PQntuples(res); r++) {
        cf_time due = strtoll(PQgetvalue(res, r, 2), NULL, 10);
        char id[512];
        cf_msg_timer_event_id(PQgetvalue(res, r, 0), PQgetvalue(res, r, 1), due, id, sizeof id);
        add_message(&b, e->t_events, PQgetvalue(res, r, 0), id,
                    cf_msg_timer_fired_new(PQgetvalue(res, r, 0), PQgetvalue(res, r, 1), due,
                                           e->offset_min));
    }
    PQclear(res);
    if ((rc = publish(e, &b, "firing timers", err, errsz)) == 0) {
        if (b.outbox.n > 0)
            cf_debug("%zu timers fired", b.outbox.n);
        e->n.timers_fired += (long long)b.outbox.n;
    }
    cf_batch_free(&b);
    return rc;
}

/* A JSON value the database wrote, or NULL for SQL null. */
static json_t *json_at(PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? NULL : json_loads(PQgetvalue(res, r, c), 0, NULL);
}

/* Makes the messages of the tasks `res` took (ordered by group, part, case and task), one per
 * part of a group, into the outbox rows of `b`. */
static void batch_messages(cf_engine *e, cf_batch *b, PGresult *res, const cf_task_kind *tk,
                           const char *court, const char *topic, const char *when)
{
    json_t *m = NULL;

    for (int r = 0; r < PQntuples(res); r++) {
        const char *group = PQgetvalue(res, r, 5);
        int part = atoi(PQgetvalue(res, r, 6)) + 1;
        json_t *params = json_at(res, r, 3), *data = json_at(res, r, 7);
        char due[CF_TIME_BUFSZ];
        cf_task_msg t = {.task_id = PQgetvalue(res, r, 0),
                         .case_no = PQgetvalue(res, r, 1),
                         .activity = PQgetvalue(res, r, 2),
                         .due = PQgetisnull(res, r, 4) ? NULL : due,
                         .params = params,
                         .data = data};

        if (t.due)
            cf_time_format(strtoll(PQgetvalue(res, r, 4), NULL, 10), e->offset_min, due,
                           sizeof due);
        if (!m) {
            const cf_batch_msg head = {
                .kind = tk->name, .group = group, .at = when, .part = part, .court = court};
            if (!(m = cf_msg_batch_new(&head)))
                b->broken = 1;
        }
        if (m && cf_msg_batch_add(m, &t) != 0)
            b->broken = 1;
        json_decref(params);
        json_decref(data);
        /* The last task of its part: the message is whole. */
        if (r + 1 == PQntuples(res) || strcmp(group, PQgetvalue(res, r + 1, 5)) != 0 ||
            strcmp(PQgetvalue(res, r, 6), PQgetvalue(res, r + 1, 6)) != 0) {
            add_message(b, topic, group, json_string_value(json_object_get(m, "batch_id")), m);
            m = NULL;
        }
    }
}

/*
 * A batched kind's schedule at one court (#16): court `court` (an index in e->reg->courts) walks it
 * on its own calendar and dispatches its own cases' tasks.  Its row in batch_schedule is
 * (kind, its code), the home court's (kind, ''): the row a one-court installation had.  Where one
 * court is served, its tasks are not filtered.
 */
typedef struct schedule {
    const cf_task_kind *tk;
    const cf_calendar *calendar;
    const char *row;   /* batch_schedule.court */
    const char *court; /* the court whose cases' tasks go, or NULL: every task */
    const char *home;
    const char *batch; /* the court in the batches' ids, or NULL (the home court's) */
} schedule;

static schedule schedule_of(const cf_engine *e, const cf_task_kind *tk, int court)
{
    const cf_registry *r = e->reg;
    schedule s = {.tk = tk,
                  .calendar = cf_registry_in_court(r, court, r->wf[0])->calendar,
                  .row = court > 0 ? r->courts[court].code : "",
                  .court = r->ncourts > 1 ? r->courts[court].code : NULL,
                  .home = r->ncourts > 1 ? r->courts[0].code : NULL,
                  .batch = court > 0 ? r->courts[court].code : NULL};
    return s;
}

/* Dispatches the tasks of `s`'s kind and court gathered up to `at`, one message per group, in one
 * transaction. */
static int dispatch(cf_engine *e, const schedule *s, cf_time at, char *err, size_t errsz)
{
    const cf_task_kind *tk = s->tk;
    char when[CF_TIME_BUFSZ], next[CF_TIME_BUFSZ], what[200], topic[256], per_message[16];
    const char *p[5];
    PGresult *res;
    cf_batch b;
    int rc = 0;

    cf_time_format(at, e->offset_min, when, sizeof when);
    cf_time_format(cf_schedule_next(tk->batch, s->calendar, at), e->offset_min, next, sizeof next);
    snprintf(topic, sizeof topic, "%s%s", e->t_tasks, tk->name);
    snprintf(what, sizeof what, "dispatching %s%s%s", tk->name, s->batch ? " of " : "",
             s->batch ? s->batch : "");
    /* A trip with many cases (a month's ledger) travels in parts, so that no message outgrows
     * what Kafka takes; the parts share the batch's time and group, and the worker reports per
     * case either way. */
    snprintf(per_message, sizeof per_message, "%d", TASKS_PER_MESSAGE);
    /* Each statement gets exactly the parameters it uses: PostgreSQL cannot type one it never
     * sees ("could not determine data type of parameter"). */
    p[0] = tk->name;
    p[1] = when;
    p[2] = s->row;
    if (!(res = step(e, what, "begin", 0, NULL, err, errsz)))
        return CF_EDB;
    PQclear(res);
    /* The schedule row is the lock: an engine that cannot take it leaves this occurrence to the
     * engine that did. */
    if (!(res = step(e, what,
                     "select 1 from batch_schedule where kind = $1 and court = $3 and next_at <= "
                     "$2::timestamptz for update skip locked",
                     3, p, err, errsz)))
        return CF_EDB;
    if (PQntuples(res) == 0) {
        PQclear(res);
        PQclear(PQexec(e->db, "rollback"));
        return 0;
    }
    PQclear(res);
    /* A month's ledger: each case gets its volume number before the ledger goes out. */
    if (tk->group_by && strcmp(tk->group_by, CF_VOLUME_LEDGER_GROUP) == 0 &&
        (rc = cf_volume_assign(e->db, tk->name, when, s->court, s->home, err, errsz)) != 0) {
        PQclear(PQexec(e->db, "rollback"));
        return rc;
    }
    p[1] = next;
    if (!(res = step(e, what,
                     "update batch_schedule set next_at = $2::timestamptz where kind = $1 and "
                     "court = $3",
                     3, p, err, errsz)))
        return CF_EDB;
    PQclear(res);
    p[1] = when;
    p[2] = per_message;
    p[3] = s->court;
    p[4] = s->home;
    if (!(res =
              step(e, what,
                   "with taken as (update tasks set dispatched_at = $2::timestamptz where kind "
                   "= $1 and status = 'open' and dispatched_at is null and batch_group is not "
                   "null and created_at <= $2::timestamptz and " CF_TASK_COURT_SQL(
                       "tasks", "$4",
                       "$5") " returning task_id, case_no, "
                             "activity, params, due_at, batch_group), numbered as (select "
                             "taken.*, "
                             "(row_number() over (partition by batch_group order by case_no, "
                             "task_id) - "
                             "1) / $3::int as part from taken) select task_id, case_no, activity, "
                             "params, (extract(epoch from due_at) * 1000)::bigint, batch_group, "
                             "part, "
                             "(select c.body -> 'data' from cases c where c.case_no = "
                             "numbered.case_no) "
                             "from numbered order by batch_group, part, case_no, task_id",
                   5, p, err, errsz)))
        return CF_EDB;
    cf_batch_init(&b);
    batch_messages(e, &b, res, tk, s->batch, topic, when);
    PQclear(res);
    if ((rc = publish(e, &b, what, err, errsz)) == 0) {
        if (b.outbox.n > 0)
            cf_info("dispatched %zu %s batch%s of %s%s%s", b.outbox.n, tk->name,
                    b.outbox.n == 1 ? "" : "es", when, s->batch ? " at " : "",
                    s->batch ? s->batch : "");
        e->n.task_batches += (long long)b.outbox.n;
    }
    cf_batch_free(&b);
    return rc;
}

/* Walks a batched kind's schedule at a court up to now, dispatching at each occurrence passed. */
static int run_schedule(cf_engine *e, const schedule *s, char *err, size_t errsz)
{
    const cf_task_kind *tk = s->tk;
    char now[64], first[64], why[512];
    const char *p[4];
    PGresult *res;

    cf_time_format(e->now, e->offset_min, now, sizeof now);
    cf_time_format(cf_schedule_next(tk->batch, s->calendar, e->now), e->offset_min, first,
                   sizeof first);
    p[0] = tk->name;
    p[1] = first;
    p[2] = now;
    p[3] = s->row;
    res =
        cf_store_exec(e->db,
                      "with ins as (insert into batch_schedule (kind, court, next_at) values ($1, "
                      "$4, $2::timestamptz) on conflict (kind, court) do nothing) select "
                      "(extract(epoch from next_at) * 1000)::bigint from batch_schedule where "
                      "kind = $1 and court = $4 and next_at <= $3::timestamptz",
                      4, p, why, sizeof why);
    if (!res)
        return cf_errf(err, errsz, CF_EDB, "reading the schedule of %s: %s", tk->name, why);
    if (PQntuples(res) == 1) {
        cf_time at = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        /* Several occurrences may have passed (a simulated clock jumps): each forms its own
         * batches of the tasks gathered before it, as on the day itself. */
        for (int i = 0; i < OCCURRENCES_PER_TICK && at <= e->now; i++) {
            int rc = dispatch(e, s, at, err, errsz);
            if (rc)
                return rc;
            at = cf_schedule_next(tk->batch, s->calendar, at);
        }
        return 0;
    }
    PQclear(res);
    return 0;
}

int cf_ticker_run(cf_engine *e, char *err, size_t errsz)
{
    int rc;

    if ((rc = cf_clock_read(e, err, errsz)) || (rc = fire_timers(e, err, errsz)) ||
        (rc = cf_overdue_run(e, err, errsz)))
        return rc;
    /* Each batched kind once, even when several workflows declare it. */
    for (size_t w = 0; w < e->reg->n; w++) {
        const cf_workflow *wf = e->reg->wf[w];
        for (size_t k = 0; k < wf->nkinds; k++) {
            const cf_task_kind *tk = &wf->kinds[k];
            int seen = 0;
            if (!tk->batch)
                continue;
            for (size_t v = 0; v < w && !seen; v++)
                seen = cf_workflow_kind(e->reg->wf[v], tk->name) &&
                       cf_workflow_kind(e->reg->wf[v], tk->name)->batch;
            for (size_t j = 0; j < k && !seen; j++)
                seen = strcmp(wf->kinds[j].name, tk->name) == 0;
            for (int c = 0; !seen && (c == 0 || (size_t)c < e->reg->ncourts); c++) {
                schedule s = schedule_of(e, tk, c);
                if ((rc = run_schedule(e, &s, err, errsz)))
                    return rc;
            }
        }
    }
    return 0;
}
