/*
 * Overdue staff tasks escalate: a staff task still open (or claimed) a number of working days
 * after it was due moves to the queue of the post the workflow names, once, recorded as a
 * reassignment by "engine:overdue".  The number and the post are the court's own choice,
 * settings of the workflow (overdue_escalation_working_days, overdue_escalation_post); a
 * workflow without them escalates nothing.  Run by the ticker, by the engine's clock.
 *
 * Once a week each post gets the list of its overdue staff tasks as a notice, and the bureau lead
 * the list of all of them (#12: 每周一 each post and the bureau lead get the week's overdue
 * list): on the week's first tick on or after the day the workflow names
 * (overdue_list_weekday, 1 = Monday, by the court's calendar and the engine's clock, real or
 * simulated), to the post it names (overdue_list_post).  Where several courts are served, each
 * court gets its own lists, of its own cases' tasks, on its own calendar's day (#16).  A task is on
 * the list when it was due before that day began.  The week's row in notice_weeks commits with its
 * lists, so the lists go out once per week whatever engines run or restart.
 */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "engine/cases.h"
#include "engine/internal.h"

/* At most this many tasks per workflow and tick, so that a tick stays short. */
enum { ESCALATIONS_PER_TICK = 500, OVERDUE_EVERY_MS = 5000 };

/* The first instant of the day after the one `n` working days before `now`'s date: a task due
 * before it has been overdue for n working days. */
static cf_time cutoff(const cf_workflow *wf, cf_time now, long n)
{
    int off = cf_calendar_utc_offset(wf->calendar);
    cf_date d = cf_time_date(now, off);

    for (long i = 0; i < n; i++)
        d = cf_calendar_prev_working_day(wf->calendar, d - 1);
    return (cf_time)(d + 1) * CF_MS_PER_DAY - (cf_time)off * CF_MS_PER_MINUTE;
}

/* Escalates the overdue tasks of `wf`'s cases of court `court` (an index in e->reg->courts; with
 * no courts configured, every case), counting working days by that court's calendar. */
static int escalate(cf_engine *e, const cf_workflow *wf, int court, long days, const char *post,
                    char *err, size_t errsz)
{
    const cf_registry *r = e->reg;
    char version[16], before[CF_TIME_BUFSZ], now[CF_TIME_BUFSZ], limit[16], why[512];
    const char *p[8] = {wf->name,
                        version,
                        before,
                        post,
                        now,
                        limit,
                        r->ncourts ? r->courts[court].code : NULL,
                        r->ncourts ? r->courts[0].code : NULL};
    PGresult *res;

    snprintf(version, sizeof version, "%d", wf->version);
    snprintf(limit, sizeof limit, "%d", ESCALATIONS_PER_TICK);
    cf_time_format(cutoff(cf_registry_in_court(r, court, wf), e->now, days), e->offset_min, before,
                   sizeof before);
    cf_time_format(e->now, e->offset_min, now, sizeof now);
    /* Once per task: a task the lead hands back is not escalated again. */
    res = cf_store_exec(
        e->db,
        "with t as (select t.task_id, t.post, t.claimed_by from tasks t join cases c on "
        "c.case_no = t.case_no where c.workflow = $1 and c.version = $2::int and not t.worker "
        "and t.status in ('open', 'claimed') and t.due_at < $3::timestamptz and t.post is "
        "distinct from $4 and " CF_TASK_COURT_SQL(
            "t", "$7",
            "$8") " and not exists (select "
                  "1 from task_reassignments r where r.task_id = t.task_id and r.by_account = "
                  "'engine:overdue') limit $6::int for update of t skip locked), u as (update "
                  "tasks x set "
                  "post = $4, claimed_by = null, status = 'open', updated_at = $5::timestamptz "
                  "from t "
                  "where x.task_id = t.task_id returning x.task_id), log as (insert into "
                  "task_reassignments (task_id, from_post, to_post, from_account, to_account, "
                  "by_account, "
                  "at) select t.task_id, t.post, $4, t.claimed_by, null, 'engine:overdue', "
                  "$5::timestamptz from t) select count(*) from u",
        8, p, why, sizeof why);
    if (!res)
        return cf_errf(err, errsz, CF_EDB, "escalating overdue tasks of %s: %s", wf->name, why);
    if (atoi(PQgetvalue(res, 0, 0)) > 0)
        cf_info("%s overdue staff tasks of %s moved to %s", PQgetvalue(res, 0, 0), wf->name, post);
    PQclear(res);
    return 0;
}

/* The JSON of one overdue task on a list (the columns of `t` below). */
#define LIST_ITEM                                                                           \
    "json_build_object('task_id', task_id, 'case', case_no, 'title', title, 'post', post, " \
    "'claimed_by', claimed_by, 'due', to_char(due_at, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM'))"

/* Sends court `court`'s overdue lists of the week when they have not gone out (an index in
 * e->reg->courts; with no courts configured, every case's): the week of `weekday` (1 = Monday) by
 * the court's view of `wf`'s calendar, each post its own tasks of the court's cases, `lead` all of
 * them.  The home court's (and a one-court installation's) lists keep the names they had before
 * there were courts (list 'overdue', keys overdue:<week>:<post>); another court's carry its code
 * (list 'overdue:<court>', keys overdue:<court>:<week>:<post>). */
static int weekly_lists(cf_engine *e, const cf_workflow *wf, int court, int weekday,
                        const char *lead, char *err, size_t errsz)
{
    const cf_registry *r = e->reg;
    int off = cf_calendar_utc_offset(cf_registry_in_court(r, court, wf)->calendar);
    cf_date today = cf_time_date(e->now, off);
    cf_date day = today - (cf_date_weekday(today) - weekday + 7) % 7;
    char week[CF_DATE_BUFSZ], since[CF_TIME_BUFSZ], now[CF_TIME_BUFSZ], list[64], why[512];
    const char *code = r->ncourts ? r->courts[court].code : NULL;
    const char *p[7] = {week, since, now, lead, code, r->ncourts ? r->courts[0].code : NULL, list};
    PGresult *res;
    int rc = 0;

    cf_date_format(day, week, sizeof week);
    cf_time_format(cf_time_at(day, 0, off), e->offset_min, since, sizeof since);
    cf_time_format(e->now, e->offset_min, now, sizeof now);
    snprintf(list, sizeof list, "overdue%s%s", court > 0 ? ":" : "", court > 0 ? code : "");
    if (!(res = cf_store_exec(e->db, "begin", 0, NULL, why, sizeof why)))
        return cf_errf(err, errsz, CF_EDB, "sending the week's overdue lists: %s", why);
    PQclear(res);
    /* The week's row is the lock and the record: an engine that finds it there has nothing to
     * do, and one that made it sends the lists in the same transaction. */
    res = cf_store_exec(e->db,
                        "insert into notice_weeks (list, week, at) values ($3, $1::date, "
                        "$2::timestamptz) on conflict do nothing",
                        3, (const char *[]){week, now, list}, why, sizeof why);
    if (!res || strcmp(PQcmdTuples(res), "1") != 0) {
        PQclear(res);
        PQclear(PQexec(e->db, "rollback"));
        return res ? 0 : cf_errf(err, errsz, CF_EDB, "sending the week's overdue lists: %s", why);
    }
    PQclear(res);
    res = cf_store_exec(
        e->db,
        "with t as (select t.task_id, t.case_no, coalesce(t.title, t.activity) as title, t.post, "
        "t.claimed_by, t.due_at from tasks t where not t.worker and t.status in ('open', "
        "'claimed') and t.post is not null and t.due_at < $2::timestamptz and " CF_TASK_COURT_SQL(
            "t", "$5",
            "$6") "), "
                  "lists as (select post, count(*) as n, json_agg(" LIST_ITEM
                  " order by due_at, task_id) "
                  "as items from t where post <> $4 group by post union all select $4, "
                  "count(*), "
                  "coalesce(json_agg(" LIST_ITEM
                  " order by due_at, task_id), '[]') from t) insert into "
                  "notices (key, post, court, kind, title, body, created_at) select $7 || "
                  "':' || $1 || "
                  "':' || post, post, $5, 'overdue', case when post = $4 then "
                  "'全院超期任务清单（' else '本岗位超期任务清单（' end || $1 || "
                  "'起一周）：' || n || '件', "
                  "json_build_object('week', $1, 'since', $2, 'count', n, 'tasks', items), "
                  "$3::timestamptz from lists on conflict (key) do nothing",
        7, p, why, sizeof why);
    if (!res) {
        rc = cf_errf(err, errsz, CF_EDB, "sending the week's overdue lists: %s", why);
        PQclear(PQexec(e->db, "rollback"));
        return rc;
    }
    cf_info("the overdue lists of the week of %s%s%s went to %s posts", week, code ? " of " : "",
            code ? code : "", PQcmdTuples(res));
    PQclear(res);
    if (!(res = cf_store_exec(e->db, "commit", 0, NULL, why, sizeof why))) {
        PQclear(PQexec(e->db, "rollback"));
        return cf_errf(err, errsz, CF_EDB, "sending the week's overdue lists: %s", why);
    }
    PQclear(res);
    return 0;
}

/* The first workflow that asks for weekly lists sends them, for every workflow's tasks, to each
 * court its own (#16). */
static int run_weekly_lists(cf_engine *e, char *err, size_t errsz)
{
    for (size_t w = 0; w < e->reg->n; w++) {
        const cf_workflow *wf = e->reg->wf[w];
        const cf_setting *day = cf_workflow_setting(wf, "overdue_list_weekday");
        const cf_setting *to = cf_workflow_setting(wf, "overdue_list_post");
        int rc;
        if (!day || !to || !json_is_integer(day->value) || json_integer_value(day->value) < 1 ||
            json_integer_value(day->value) > 7 || !json_is_string(to->value) ||
            !cf_workflow_post(wf, json_string_value(to->value)))
            continue;
        for (int c = 0; c == 0 || (size_t)c < e->reg->ncourts; c++)
            if ((rc = weekly_lists(e, wf, c, (int)json_integer_value(day->value),
                                   json_string_value(to->value), err, errsz)))
                return rc;
        return 0;
    }
    return 0;
}

int cf_overdue_run(cf_engine *e, char *err, size_t errsz)
{
    /* Every few seconds of real time is often enough (a simulated clock may stand still or
     * leap), and keeps the query off the hot path of every tick. */
    long long wall = cf_wall_ms();
    if (e->overdue_ms && wall < e->overdue_ms + OVERDUE_EVERY_MS)
        return 0;
    e->overdue_ms = wall;
    for (size_t w = 0; w < e->reg->n; w++) {
        const cf_workflow *wf = e->reg->wf[w];
        const cf_setting *n = cf_workflow_setting(wf, "overdue_escalation_working_days");
        const cf_setting *to = cf_workflow_setting(wf, "overdue_escalation_post");
        int rc;
        if (!n || !to || !json_is_integer(n->value) || json_integer_value(n->value) < 1 ||
            !json_is_string(to->value) || !cf_workflow_post(wf, json_string_value(to->value)))
            continue;
        /* Each court's cases by its own calendar's working days. */
        for (int c = 0; c == 0 || (size_t)c < e->reg->ncourts; c++)
            if ((rc = escalate(e, wf, c, (long)json_integer_value(n->value),
                               json_string_value(to->value), err, errsz)))
                return rc;
    }
    /* After the escalations: the lists show each task where it is now. */
    return run_weekly_lists(e, err, errsz);
}
