/*
 * The engine's clock and what happens by time alone: due timers become
 * timer.fired events, and batched task kinds (集约) are dispatched on their
 * schedules, one message per group.  Each step is one transaction that both
 * takes the rows (so that no other engine takes them too) and writes the
 * outbox rows that carry them on; the relay publishes them after the commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
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

/* Hands the rows an INSERT ... RETURNING id, topic, key, msg_id, payload gave to the relay. */
static void relay_rows(cf_engine *e, PGresult *res)
{
    for (int r = 0; r < PQntuples(res); r++)
        cf_relay_send(e, strtoll(PQgetvalue(res, r, 0), NULL, 10), PQgetvalue(res, r, 1),
                      PQgetisnull(res, r, 2) ? NULL : PQgetvalue(res, r, 2), PQgetvalue(res, r, 3),
                      PQgetvalue(res, r, 4), (size_t)PQgetlength(res, r, 4));
}

static int fire_timers(cf_engine *e, char *err, size_t errsz)
{
    char now[64], limit[16], why[512], suffix[16], minutes[16];
    const char *p[5] = {now, limit, minutes, suffix, e->t_events};
    PGresult *res;
    int off = e->offset_min < 0 ? -e->offset_min : e->offset_min;

    cf_time_format(e->now, e->offset_min, now, sizeof now);
    snprintf(limit, sizeof limit, "%d", TIMERS_PER_TICK);
    /* Event times are written at the court's fixed offset, as every other time caseflow writes
     * (cf_time_format).  The offset is added to UTC rather than the zone's name given to AT TIME
     * ZONE: the zone database knows Asia/Shanghai before 1901 as local mean time, +08:05:43, and
     * a due time written that way with "+08:00" after it is another instant, which the case
     * then refused as a stale firing: timers before 1901 were lost.  Milliseconds are kept when
     * there are any, for the same reason. */
    snprintf(minutes, sizeof minutes, "%d", e->offset_min);
    snprintf(suffix, sizeof suffix, "%c%02d:%02d", e->offset_min < 0 ? '-' : '+', off / 60,
             off % 60);
    /* One statement: the timers leave the table exactly when their events enter the outbox.
     * SKIP LOCKED lets several engines tick at once without taking the same timer. */
    res = cf_store_exec(
        e->db,
        "with due as (delete from timers where ctid in (select ctid from timers where due_at <= "
        "$1::timestamptz order by due_at limit $2::int for update skip locked) returning case_no, "
        "name, due_at), loc as (select *, (due_at at time zone 'UTC') + make_interval(mins => "
        "$3::int) as l from due), ev as (select case_no, name, due_at, to_char(l, "
        "'YYYY-MM-DD\"T\"HH24:MI:SS') || case when to_char(l, 'MS') <> '000' then '.' || "
        "to_char(l, 'MS') else '' end || $4 as due, 'timer:' || case_no || ':' || name || ':' || "
        "(extract(epoch from due_at) * 1000)::bigint as id from loc) "
        "insert into outbox (topic, key, msg_id, payload) select $5, case_no, id, "
        "convert_to(json_build_object('id', id, 'type', 'timer.fired', 'case', case_no, 'time', "
        "due, 'source', 'engine', 'data', json_build_object('timer', name, 'due', due))::text, "
        "'UTF8') from ev order by due_at returning id, topic, key, msg_id, "
        "convert_from(payload, 'UTF8')",
        5, p, why, sizeof why);
    if (!res)
        return cf_errf(err, errsz, CF_EDB, "firing timers: %s", why);
    if (PQntuples(res) > 0)
        cf_debug("%d timers fired", PQntuples(res));
    e->n.timers_fired += PQntuples(res);
    relay_rows(e, res);
    PQclear(res);
    return 0;
}

/* Dispatches the tasks of `kind` gathered up to `at`, one message per group, in one transaction. */
static int dispatch(cf_engine *e, const cf_task_kind *tk, cf_time at, char *err, size_t errsz)
{
    char when[64], next[64], why[512], topic[256], per_message[16];
    const char *p[4];
    PGresult *res;
    int rc = 0;

    cf_time_format(at, e->offset_min, when, sizeof when);
    cf_time_format(cf_schedule_next(tk->batch, e->reg->wf[0]->calendar, at), e->offset_min, next,
                   sizeof next);
    snprintf(topic, sizeof topic, "%s%s", e->t_tasks, tk->name);
    /* A trip with many cases (a month's ledger) travels in parts, so that no message outgrows
     * what Kafka takes; the parts share the batch's time and group, and the worker reports per
     * case either way. */
    snprintf(per_message, sizeof per_message, "%d", TASKS_PER_MESSAGE);
    /* Each statement gets exactly the parameters it uses: PostgreSQL cannot type one it never
     * sees ("could not determine data type of parameter"). */
    p[0] = tk->name;
    p[1] = when;
    p[2] = topic;
    p[3] = per_message;
    res = cf_store_exec(e->db, "begin", 0, NULL, why, sizeof why);
    PQclear(res);
    if (!res)
        return cf_errf(err, errsz, CF_EDB, "dispatching %s: %s", tk->name, why);
    /* The schedule row is the lock: an engine that cannot take it leaves this occurrence to the
     * engine that did. */
    res = cf_store_exec(e->db,
                        "select 1 from batch_schedule where kind = $1 and next_at <= "
                        "$2::timestamptz for update skip locked",
                        2, p, why, sizeof why);
    if (!res || PQntuples(res) == 0) {
        PQclear(res);
        PQclear(PQexec(e->db, "rollback"));
        return res ? 0 : cf_errf(err, errsz, CF_EDB, "dispatching %s: %s", tk->name, why);
    }
    PQclear(res);
    /* A month's ledger: each case gets its volume number before the ledger goes out. */
    if (tk->group_by && strcmp(tk->group_by, CF_VOLUME_LEDGER_GROUP) == 0 &&
        (rc = cf_volume_assign(e->db, tk->name, when, err, errsz)) != 0) {
        PQclear(PQexec(e->db, "rollback"));
        return rc;
    }
    res = cf_store_exec(
        e->db,
        "with taken as (update tasks set dispatched_at = $2::timestamptz where kind = $1 and "
        "status = 'open' and dispatched_at is null and batch_group is not null and created_at "
        "<= $2::timestamptz returning task_id, case_no, activity, params, due_at, title, "
        "batch_group), numbered as (select taken.*, (row_number() over (partition by "
        "batch_group order by case_no, task_id) - 1) / $4::int as part from taken), grouped as "
        "(select batch_group, part, json_agg(json_build_object('task_id', task_id, 'case', "
        "case_no, 'activity', activity, 'params', params, 'due', due_at, 'data', (select "
        "c.body -> 'data' from cases c where c.case_no = numbered.case_no)) order by case_no, "
        "task_id) as tasks from numbered group by batch_group, part), msg as (select 'batch:' "
        "|| $1 || ':' || $2 || ':' || batch_group || ':' || part as id, batch_group, part, tasks "
        "from grouped) insert into outbox (topic, key, msg_id, payload) select $3, batch_group, "
        "id, convert_to(json_build_object('batch_id', id, 'kind', $1, 'group', batch_group, "
        "'part', part + 1, 'at', $2, 'tasks', tasks)::text, 'UTF8') from msg order by "
        "batch_group, part returning id, topic, key, msg_id, "
        "convert_from(payload, 'UTF8')",
        4, p, why, sizeof why);
    if (!res) {
        rc = cf_errf(err, errsz, CF_EDB, "dispatching %s: %s", tk->name, why);
        PQclear(PQexec(e->db, "rollback"));
        return rc;
    }
    {
        const char *u[2] = {tk->name, next};
        PGresult *upd = cf_store_exec(e->db,
                                      "update batch_schedule set next_at = $2::timestamptz where "
                                      "kind = $1",
                                      2, u, why, sizeof why);
        PGresult *commit = upd ? cf_store_exec(e->db, "commit", 0, NULL, why, sizeof why) : NULL;
        if (!upd || !commit) {
            rc = cf_errf(err, errsz, CF_EDB, "dispatching %s: %s", tk->name, why);
            PQclear(PQexec(e->db, "rollback"));
        } else {
            if (PQntuples(res) > 0)
                cf_info("dispatched %d %s batch%s of %s", PQntuples(res), tk->name,
                        PQntuples(res) == 1 ? "" : "es", when);
            e->n.task_batches += PQntuples(res);
            relay_rows(e, res);
        }
        PQclear(upd);
        PQclear(commit);
    }
    PQclear(res);
    return rc;
}

/* Walks a batched kind's schedule up to now, dispatching at each occurrence passed. */
static int run_schedule(cf_engine *e, const cf_task_kind *tk, char *err, size_t errsz)
{
    char now[64], first[64], why[512];
    const char *p[3];
    PGresult *res;

    cf_time_format(e->now, e->offset_min, now, sizeof now);
    cf_time_format(cf_schedule_next(tk->batch, e->reg->wf[0]->calendar, e->now), e->offset_min,
                   first, sizeof first);
    p[0] = tk->name;
    p[1] = first;
    p[2] = now;
    res = cf_store_exec(e->db,
                        "with ins as (insert into batch_schedule (kind, next_at) values ($1, "
                        "$2::timestamptz) on conflict (kind) do nothing) select (extract(epoch "
                        "from next_at) * 1000)::bigint from batch_schedule where kind = $1 and "
                        "next_at <= $3::timestamptz",
                        3, p, why, sizeof why);
    if (!res)
        return cf_errf(err, errsz, CF_EDB, "reading the schedule of %s: %s", tk->name, why);
    if (PQntuples(res) == 1) {
        cf_time at = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        /* Several occurrences may have passed (a simulated clock jumps): each forms its own
         * batches of the tasks gathered before it, as on the day itself. */
        for (int i = 0; i < OCCURRENCES_PER_TICK && at <= e->now; i++) {
            int rc = dispatch(e, tk, at, err, errsz);
            if (rc)
                return rc;
            at = cf_schedule_next(tk->batch, e->reg->wf[0]->calendar, at);
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
            if (!seen && (rc = run_schedule(e, tk, err, errsz)))
                return rc;
        }
    }
    return 0;
}
