/*
 * The command center report's queries (engine/report.h).  Every number is computed by PostgreSQL
 * in one parameterized query per section, which returns the section as JSON; only labels (the
 * titles of states, posts and task kinds) come from the workflow definitions.
 */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cases.h"
#include "io/store.h"
#include "core/caltime.h"
#include "core/workflow.h"

/* ---- the queries: $1 and $2 are the period [since, until), as timestamptz text ---- */

/* The engine's clock: the simulated one when it runs simulated, else the real one. */
#define CLOCK_CTE                                                                     \
    "clk as (select coalesce((select case when mode = 'simulated' then now end from " \
    "engine_clock where id = 1), now()) as now)"

/* How many times something went out on each weekday of the court's zone, from column `at`. */
#define WEEKDAYS(n)                                                                           \
    "json_build_object('Mon', " n " filter (where extract(isodow from at) = 1), 'Tue', " n    \
    " filter (where extract(isodow from at) = 2), 'Wed', " n " filter (where extract(isodow " \
    "from at) = 3), 'Thu', " n " filter (where extract(isodow from at) = 4), 'Fri', " n       \
    " filter (where extract(isodow from at) = 5), 'Sat', " n " filter (where extract(isodow " \
    "from at) = 6), 'Sun', " n " filter (where extract(isodow from at) = 7))"

static const char SQL_HEAD[] =
    "with " CLOCK_CTE " "
    "select json_build_object("
    " 'clock', json_build_object('mode', coalesce((select mode from engine_clock where id = 1),"
    "  'real'), 'now', (select now from clk)),"
    " 'period', json_build_object('since', nullif($1::timestamptz, '-infinity'),"
    "  'until', nullif($2::timestamptz, 'infinity')),"
    " 'events', (select count(*) from events where applied_at >= $1::timestamptz"
    "  and applied_at < $2::timestamptz),"
    " 'dead_letters', (select count(*) from dead_letters),"
    " 'duplicates', json_build_object('events', (select count(*) from duplicates),"
    "  'dropped', (select coalesce(sum(seen), 0) from duplicates)))";

/* $3: "workflow/state" in the order of the definitions, for the order of the rows. */
static const char SQL_CASES[] =
    "with c as (select workflow, state, body -> 'data' ->> 'close_method' as method from cases"
    " where created_at >= $1::timestamptz and created_at < $2::timestamptz) "
    "select json_build_object('total', (select count(*) from c), 'workflows', coalesce(("
    " select json_agg(json_build_object('workflow', w.workflow, 'cases', w.n,"
    "  'states', (select json_agg(json_build_object('state', s.state, 'cases', s.n)"
    "   order by array_position($3::text[], w.workflow || '/' || s.state) nulls last, s.state)"
    "   from (select state, count(*) as n from c where c.workflow = w.workflow group by state) s),"
    "  'close_methods', coalesce((select json_agg(json_build_object('close_method', m.method,"
    "   'cases', m.n) order by m.n desc, m.method) from (select method, count(*) as n from c"
    "   where c.workflow = w.workflow and method is not null group by method) m), '[]'))"
    "  order by w.workflow)"
    " from (select workflow, count(*) as n from c group by workflow) w), '[]'))";

#define TASK_COUNTS                                                                        \
    "'total', total, 'done', done, 'open', open, 'claimed', claimed, 'overdue', overdue, " \
    "'failed', failed, 'returned', returned, 'cancelled', cancelled"

static const char SQL_TASKS[] =
    "with " CLOCK_CTE ", "
    "a as (select t.worker, case when t.worker then t.kind else coalesce(t.post, '-') end as key,"
    " count(*) as total, count(*) filter (where t.status = 'done') as done,"
    " count(*) filter (where t.status in ('open', 'claimed')) as open,"
    " count(*) filter (where t.status = 'claimed') as claimed,"
    " count(*) filter (where t.status in ('open', 'claimed') and t.due_at < clk.now) as overdue,"
    " count(*) filter (where t.status = 'failed') as failed,"
    " count(*) filter (where t.status = 'returned') as returned,"
    " count(*) filter (where t.status = 'cancelled') as cancelled"
    " from tasks t, clk where t.created_at >= $1::timestamptz and t.created_at < $2::timestamptz"
    " group by 1, 2) "
    "select json_build_object("
    " 'staff', coalesce((select json_agg(json_build_object('post', key, " TASK_COUNTS ")"
    "  order by key) from a where not worker), '[]'),"
    " 'workers', coalesce((select json_agg(json_build_object('kind', key, " TASK_COUNTS ")"
    "  order by key) from a where worker), '[]'))";

/* A batch is the tasks of one kind and group that went out at one instant. */
static const char SQL_BATCHES[] =
    "with b as (select kind, batch_group as grp, dispatched_at as at, count(*) as n from tasks"
    " where batch_group is not null and dispatched_at is not null"
    " and dispatched_at >= $1::timestamptz and dispatched_at < $2::timestamptz group by 1, 2, 3),"
    " kinds as (select distinct kind from tasks where batch_group is not null) "
    "select coalesce(json_agg(json_build_object('kind', k.kind,"
    " 'batches', (select count(*) from b where b.kind = k.kind),"
    " 'tasks', (select coalesce(sum(n), 0)::bigint from b where b.kind = k.kind),"
    " 'dispatches', (select count(distinct at) from b where b.kind = k.kind),"
    " 'waiting', (select count(*) from tasks t where t.kind = k.kind and t.batch_group is not null"
    "  and t.dispatched_at is null and t.status = 'open' and t.created_at >= $1::timestamptz"
    "  and t.created_at < $2::timestamptz),"
    " 'weekdays', (select " WEEKDAYS(
        "count(distinct at)") " from b where b.kind = k.kind),"
                              " 'groups', coalesce((select json_agg(json_build_object('group', "
                              "g.grp, 'batches', g.batches,"
                              "  'tasks', g.tasks, 'weekdays', g.weekdays) order by g.tasks desc, "
                              "g.grp) from (select grp,"
                              "  count(*) as batches, sum(n)::bigint as tasks, " WEEKDAYS(
                                  "count(*)") " as weekdays"
                                              "  from b where b.kind = k.kind group by grp) g), "
                                              "'[]'))"
                                              " order by k.kind), '[]') from kinds k";

static const char SQL_REMINDERS[] =
    "with f as (select coalesce(body -> 'data' ->> 'timer', '?') as timer, count(*) as n"
    " from events where type = 'timer.fired' and applied_at >= $1::timestamptz"
    " and applied_at < $2::timestamptz group by 1),"
    " w as (select * from unnest(array['query_day_15', 'query_day_30', 'query_day_45'])"
    " with ordinality as w(timer, ord)),"
    " r as (select coalesce(f.timer, w.timer) as timer, coalesce(f.n, 0) as n,"
    " coalesce(w.ord, 99) as ord from f full join w on w.timer = f.timer) "
    "select json_build_object('total', (select coalesce(sum(n), 0) from f)::bigint,"
    " 'timers', coalesce((select json_agg(json_build_object('timer', timer, 'fired', n)"
    " order by ord, timer) from r), '[]'))";

/* A documents task's result lists what it made: names, or objects with a name. */
static const char SQL_DOCUMENTS[] =
    "with t as (select task_id, result from tasks where kind = 'documents' and status = 'done'"
    " and updated_at >= $1::timestamptz and updated_at < $2::timestamptz),"
    " d as (select case when jsonb_typeof(x) = 'string' then x #>> '{}'"
    " else coalesce(x ->> 'name', x ->> 'document', x ->> 'title', '?') end as name"
    " from t cross join lateral jsonb_array_elements(case when jsonb_typeof(t.result ->"
    " 'documents') = 'array' then t.result -> 'documents' else '[]'::jsonb end) as e(x)) "
    "select json_build_object('tasks', (select count(*) from t), 'total', (select count(*) from d),"
    " 'documents', coalesce((select json_agg(json_build_object('document', name, 'count', n)"
    " order by n desc, name) from (select name, count(*) as n from d group by name) g), '[]'))";

/* Service items (集约送达), one per party and its documents, per delivery route: served (a result
 * of a worker before outcomes, without one, was a service), not reached (then served by
 * announcement when a respondent), failed (an incident), still open; and the announcements that
 * ran their 30 days (deemed served). */
static const char SQL_SERVICE[] =
    "with t as (select coalesce(batch_group, '?') as route, status, result ->> 'outcome' as "
    "outcome,"
    " result ->> 'role' as role from tasks where kind = 'service' and updated_at >= $1::timestamptz"
    " and updated_at < $2::timestamptz),"
    " g as (select route, count(*) as items,"
    " count(*) filter (where status = 'done' and coalesce(outcome, 'served') = 'served')"
    " as served,"
    " count(*) filter (where status = 'done' and outcome = 'unreachable') as unreachable,"
    " count(*) filter (where status = 'failed') as failed,"
    " count(*) filter (where status in ('open', 'claimed')) as open from t group by route) "
    "select json_build_object('items', (select count(*) from t),"
    " 'served', (select coalesce(sum(served), 0) from g)::bigint,"
    " 'unreachable', (select coalesce(sum(unreachable), 0) from g)::bigint,"
    " 'announced', (select count(*) from t where outcome = 'unreachable' and role = 'respondents'),"
    " 'deemed_served', (select count(*) from events where type = 'timer.fired'"
    " and body -> 'data' ->> 'timer' = 'announcement_served' and applied_at >= $1::timestamptz"
    " and applied_at < $2::timestamptz),"
    " 'failed', (select coalesce(sum(failed), 0) from g)::bigint,"
    " 'routes', coalesce((select json_agg(json_build_object('route', route, 'items', items,"
    " 'served', served, 'unreachable', unreachable, 'failed', failed, 'open', open)"
    " order by items desc, route) from g), '[]'))";

/* Auctions (网拍) by round: the rounds asked of the platform and what each gave, the prices set,
 * how unsold property ended (以物抵债 or released), and the proceeds raised by sales. */
static const char SQL_AUCTIONS[] =
    "with a as (select params ->> 'step' as step, params ->> 'round' as round, status,"
    " result ->> 'outcome' as outcome from tasks where kind = 'auction'"
    " and updated_at >= $1::timestamptz and updated_at < $2::timestamptz),"
    " d as (select result ->> 'disposal' as disposal from tasks where kind = 'auction_disposal'"
    " and status = 'done' and updated_at >= $1::timestamptz and updated_at < $2::timestamptz) "
    "select json_build_object('priced', (select count(*) from a where step = 'price'"
    " and outcome = 'priced'),"
    " 'rounds', coalesce((select json_agg(json_build_object('round', round, 'asked', n,"
    " 'sold', sold, 'unsold', unsold) order by round) from (select round, count(*) as n,"
    " count(*) filter (where outcome = 'sold') as sold,"
    " count(*) filter (where outcome = 'unsold') as unsold"
    " from a where step = 'result' group by round) r), '[]'),"
    " 'in_payment', (select count(*) from d where disposal = 'in_payment'),"
    " 'released', (select count(*) from d where disposal = 'release'),"
    " 'proceeds', (select coalesce(sum((body -> 'data' ->> 'amount')::numeric), 0) from events"
    " where type = 'proceeds.received' and applied_at >= $1::timestamptz"
    " and applied_at < $2::timestamptz))";

/* The statutory clocks of the period's cases (core/clock.h): per clock, how many run, are
 * paused (and on which grounds), are stopped, and run past their last day at the engine's
 * clock; how many have had an extension. */
static const char SQL_CLOCKS[] =
    "with " CLOCK_CTE ","
    " k as (select e.key as clock, e.value as ck from cases c cross join lateral jsonb_each("
    "  case when jsonb_typeof(c.body -> 'clocks') = 'object' then c.body -> 'clocks'"
    "  else '{}'::jsonb end) e where c.created_at >= $1::timestamptz"
    "  and c.created_at < $2::timestamptz),"
    " g as (select k.clock, x.ground, count(*) as n from k cross join lateral"
    "  jsonb_array_elements_text(coalesce(k.ck -> 'pauses' -> -1 -> 'grounds', '[]'::jsonb))"
    "  as x(ground) where k.ck ->> 'status' = 'paused' group by 1, 2),"
    " s as (select clock, count(*) filter (where ck ->> 'status' = 'running') as running,"
    "  count(*) filter (where ck ->> 'status' = 'paused') as paused,"
    "  count(*) filter (where ck ->> 'status' = 'stopped') as stopped,"
    "  count(*) filter (where ck ->> 'status' = 'running'"
    "   and (ck ->> 'last_day')::timestamptz < (select now from clk)) as overdue,"
    "  count(*) filter (where jsonb_array_length(coalesce(ck -> 'extensions', '[]'::jsonb)) > 0)"
    "   as extended from k group by clock) "
    "select coalesce(json_agg(json_build_object('clock', s.clock, 'running', s.running,"
    " 'paused', s.paused, 'stopped', s.stopped, 'overdue', s.overdue, 'extended', s.extended,"
    " 'paused_on', coalesce((select json_agg(json_build_object('ground', g.ground, 'cases', g.n)"
    " order by g.n desc, g.ground) from g where g.clock = s.clock), '[]')) order by s.clock),"
    " '[]') from s";

/* The ledger of a month is the archive batch that went out in it; its cases closed before. */
static const char SQL_LEDGERS[] =
    "with a as (select t.case_no, c.workflow, coalesce(c.body -> 'data' ->> 'close_method',"
    " t.params ->> 'close_method') as method, c.body -> 'data' ->> 'closed_at' as closed_at,"
    " t.dispatched_at, t.updated_at, to_char(t.dispatched_at, 'YYYY-MM') as month"
    " from tasks t left join cases c on c.case_no = t.case_no where t.kind = 'archive'"
    " and t.status = 'done' and t.dispatched_at is not null"
    " and t.dispatched_at >= $1::timestamptz and t.dispatched_at < $2::timestamptz) "
    "select coalesce(json_agg(json_build_object('month', m.month, 'cases', m.n,"
    " 'dispatched', (select json_agg(at order by at) from (select distinct dispatched_at as at"
    "  from a where a.month = m.month) d),"
    " 'close_methods', (select json_agg(json_build_object('close_method', method, 'cases', n)"
    "  order by n desc, method) from (select coalesce(method, '-') as method, count(*) as n"
    "  from a where a.month = m.month group by 1) x),"
    " 'entries', (select json_agg(json_build_object('case_no', case_no, 'workflow', workflow,"
    "  'close_method', method, 'closed_at', closed_at, 'archived_at', updated_at)"
    "  order by workflow, length(case_no), case_no) from a where a.month = m.month))"
    " order by m.month), '[]') from (select month, count(*) as n from a group by month) m";

/*
 * A case enters a state with the event that moves it there and leaves it with the next event
 * that moves it on; a stay without a next one is still going on.  Stays count in the period they
 * began in.  $3 orders the rows as the definitions do.
 */
#define STAYS_CTE                                                                          \
    "s as (select c.workflow, e.case_no, e.state_after as state, e.applied_at as entered," \
    " lead(e.applied_at) over (partition by e.case_no order by e.seq) as left_at"          \
    " from events e join cases c on c.case_no = e.case_no where e.state_before <> e.state_after)"

#define STAGE_JSON                                                                             \
    "json_build_object('workflow', workflow, 'state', state, 'stays', stays, 'p50_days', p50," \
    " 'p90_days', p90, 'max_days', mx, 'still_in', still)"

static const char SQL_STAGES[] =
    "with " STAYS_CTE ","
    " d as (select workflow, state, extract(epoch from left_at - entered)::float8 / 86400 as days,"
    " left_at is null as open from s where entered >= $1::timestamptz"
    " and entered < $2::timestamptz),"
    " g as (select workflow, state, count(*) filter (where not open) as stays,"
    " round((percentile_cont(0.5) within group (order by days) filter (where not open))::numeric,"
    " 2) as p50,"
    " round((percentile_cont(0.9) within group (order by days) filter (where not open))::numeric,"
    " 2) as p90,"
    " round((max(days) filter (where not open))::numeric, 2) as mx,"
    " count(*) filter (where open) as still from d group by 1, 2) "
    "select json_build_object("
    " 'stages', coalesce((select json_agg(" STAGE_JSON " order by array_position($3::text[],"
    "  workflow || '/' || state) nulls last, workflow, state) from g), '[]'),"
    " 'slowest', coalesce((select json_agg(" STAGE_JSON " order by p50 desc, p90 desc, workflow,"
    "  state) from (select * from g where stays > 0 order by p50 desc, p90 desc, workflow, state"
    "  limit 5) top), '[]'))";

/*
 * Voluntary payments (自动履行案款, the PAY-… cases filed in the period) by how they were matched:
 * by the payments worker (payment.matched, method auto), by the payment clerk to an open case
 * (method manual) or to a judgment whose enforcement case is filed for it (the states after
 * `confirming` of voluntary_payment.yaml), returned unmatched, or still waiting; and the payouts
 * of the period: sums in (payment.*, proceeds.received), payouts confirmed by finance.
 */
static const char SQL_PAYMENTS[] =
    "with p as (select case_no, state from cases where case_no like 'PAY-%'"
    " and created_at >= $1::timestamptz and created_at < $2::timestamptz),"
    " m as (select e.body -> 'data' ->> 'method' as method from events e"
    " join p on p.case_no = e.body -> 'data' ->> 'payment_key' where e.type = 'payment.matched'),"
    " e as (select type, body -> 'data' ->> 'decision' as decision from events"
    " where applied_at >= $1::timestamptz and applied_at < $2::timestamptz"
    " and type in ('payment.received', 'payment.matched', 'proceeds.received', 'case.decided')"
    " and case_no not like 'PAY-%') "
    "select json_build_object('received', (select count(*) from p),"
    " 'auto', (select count(*) from m where method = 'auto'),"
    " 'by_hand', (select count(*) from m where method = 'manual'),"
    " 'by_hand_new_case', (select count(*) from p where state in ('confirming', 'papers',"
    "  'filing', 'payout', 'closed', 'archived')),"
    " 'unmatched', (select count(*) from p where state = 'unmatched'),"
    " 'waiting', (select count(*) from p where state in ('received', 'clearing', 'applying')),"
    " 'into_cases', json_build_object("
    "  'paid_in', (select count(*) from e where type = 'payment.received'),"
    "  'matched', (select count(*) from e where type = 'payment.matched'),"
    "  'auction_proceeds', (select count(*) from e where type = 'proceeds.received')),"
    " 'payouts_confirmed', (select count(*) from e where type = 'case.decided'"
    "  and decision = 'payout_confirmed'))";

/*
 * Cases of one workflow ($4) per state at the end of each day, from the day of the first event
 * to the clock's day, within the period.  A case is counted in the state of its last event
 * applied before the day ended.
 */
static const char SQL_CHART[] =
    "with " CLOCK_CTE ", " STAYS_CTE ","
    " w as (select * from s where workflow = $4),"
    " span as (select date_trunc('day', greatest(min(entered), $1::timestamptz)) as first_day,"
    " date_trunc('day', least((select now from clk), $2::timestamptz - interval '1 microsecond'))"
    " as last_day from w having count(*) > 0),"
    " days as (select generate_series(first_day, last_day, interval '1 day') as d from span),"
    " n as (select days.d, w.state, count(*) as n from days join w on w.entered < days.d +"
    " interval '1 day' and (w.left_at is null or w.left_at >= days.d + interval '1 day')"
    " group by 1, 2),"
    " st as (select distinct state from w),"
    " series as (select st.state, json_agg(coalesce(n.n, 0) order by days.d) as counts"
    " from st cross join days left join n on n.d = days.d and n.state = st.state"
    " group by st.state) "
    "select json_build_object('workflow', $4::text,"
    " 'days', coalesce((select json_agg(to_char(d, 'YYYY-MM-DD') order by d) from days), '[]'),"
    " 'states', coalesce((select json_agg(json_build_object('state', state, 'counts', counts)"
    " order by array_position($3::text[], $4 || '/' || state) nulls last, state) from series),"
    " '[]'))";

const cf_workflow *cf_report_workflow(const cf_registry *l, const char *name)
{
    for (size_t i = 0; name && i < l->n; i++)
        if (strcmp(l->wf[i]->name, name) == 0)
            return l->wf[i];
    return NULL;
}

static const char *state_title(const cf_registry *l, const char *workflow, const char *state)
{
    const cf_workflow *wf = cf_report_workflow(l, workflow);
    int i = wf && state ? cf_workflow_state_index(wf, state) : -1;
    return i >= 0 ? wf->states[i].title : NULL;
}

static const char *kind_title(const cf_registry *l, const char *kind)
{
    for (size_t i = 0; kind && i < l->n; i++) {
        const cf_task_kind *k = cf_workflow_kind(l->wf[i], kind);
        if (k && k->title)
            return k->title;
    }
    return NULL;
}

/* What each timer reminds of: its title in the first definition that gives it one. */
static const char *timer_title(const cf_registry *l, const char *timer)
{
    const char *t = NULL;
    for (size_t i = 0; timer && i < l->n && !t; i++)
        t = cf_workflow_timer_title(l->wf[i], timer);
    return t;
}

/* "workflow/state" of every loaded definition, in its order: the rows' order in the report. */
static void state_order(const cf_registry *l, cf_sqlarr *a)
{
    for (size_t w = 0; w < l->n; w++)
        for (size_t s = 0; s < l->wf[w]->nstates; s++)
            cf_sqlarr_addf(a, "%s/%s", l->wf[w]->name, l->wf[w]->states[s].name);
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void set_title(json_t *o, const char *title)
{
    json_object_set_new(o, "title", title ? json_string(title) : json_null());
}

/* Adds the titles to the rows of the report; rows without one get null. */
static void add_titles(json_t *r, const cf_registry *l)
{
    json_t *x, *y;
    size_t i, j;

    json_array_foreach (json_object_get(json_object_get(r, "cases"), "workflows"), i, x) {
        const cf_workflow *wf = cf_report_workflow(l, str(x, "workflow"));
        set_title(x, wf ? wf->title : NULL);
        json_array_foreach (json_object_get(x, "states"), j, y)
            set_title(y, state_title(l, str(x, "workflow"), str(y, "state")));
    }
    json_array_foreach (json_object_get(json_object_get(r, "tasks"), "staff"), i, x)
        set_title(x, cf_registry_post_title(l, str(x, "post")));
    json_array_foreach (json_object_get(json_object_get(r, "tasks"), "workers"), i, x)
        set_title(x, kind_title(l, str(x, "kind")));
    json_array_foreach (json_object_get(r, "batches"), i, x)
        set_title(x, kind_title(l, str(x, "kind")));
    json_array_foreach (json_object_get(json_object_get(r, "reminders"), "timers"), i, x)
        set_title(x, timer_title(l, str(x, "timer")));
    json_array_foreach (json_object_get(r, "stages"), i, x)
        set_title(x, state_title(l, str(x, "workflow"), str(x, "state")));
    json_array_foreach (json_object_get(r, "slowest_stages"), i, x)
        set_title(x, state_title(l, str(x, "workflow"), str(x, "state")));
    json_array_foreach (json_object_get(json_object_get(r, "chart"), "states"), i, x)
        set_title(x, state_title(l, str(json_object_get(r, "chart"), "workflow"), str(x, "state")));
}

/* ---- the period ---- */

int cf_report_bound(const char *v, int until, char *out, size_t n, char *err, size_t errsz)
{
    char why[128];
    cf_date d;
    cf_time t;

    /* One parser for days and times everywhere: years 0001-9999 and offsets within -15:59 and
     * +15:59, which is what PostgreSQL takes. */
    if (strlen(v) == 10 && cf_date_parse(v, &d) == 0) {
        cf_date_format(d + (until ? 1 : 0), out, n);
        return 0;
    }
    if (cf_time_parse_err(v, &t, why, sizeof why) == 0 && strlen(v) < n) {
        snprintf(out, n, "%s", v);
        return 0;
    }
    return cf_errf(err, errsz, CF_EINVAL, "'%s' is not a day (YYYY-MM-DD) or an ISO 8601 time: %s",
                   v, strlen(v) < n ? why : "too long");
}

/* ---- querying ---- */

/* Runs one section's query into *v; returns 0, or CF_EDB or CF_ENOMEM with the reason in `err`. */
static int section(PGconn *db, const char *what, const char *sql, int n, const char *const *params,
                   const char *scope, json_t **v, char *err, size_t errsz)
{
    char why[1024];
    PGresult *res = NULL;
    int rc = 0;

    *v = NULL;
    /* One court's report: its cases, tasks and events stand in for the tables (every section
     * begins "with "; a non-recursive WITH's own table names are the tables in its bodies). */
    if (scope) {
        size_t len = strlen(scope) + strlen(sql) + 1;
        char *q = malloc(len);
        if (!q)
            return cf_errf(err, errsz, CF_ENOMEM, "%s: out of memory", what);
        snprintf(q, len, "%s%s", scope, sql + strlen("with "));
        res = cf_store_exec(db, q, n, params, why, sizeof why);
        free(q);
    } else {
        res = cf_store_exec(db, sql, n, params, why, sizeof why);
    }
    if (!res)
        return cf_errf(err, errsz, CF_EDB, "%s: %s", what, why);
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
        rc = cf_errf(err, errsz, CF_EDB, "%s: the query gave no JSON", what);
    else if (!(*v = json_loads(PQgetvalue(res, 0, 0), 0, NULL)))
        rc = cf_errf(err, errsz, CF_ENOMEM, "%s: out of memory", what);
    PQclear(res);
    return rc;
}

/* Runs `sql` (BEGIN, COMMIT, ROLLBACK); returns 0 or CF_EDB with the reason in `err`. */
static int command(PGconn *db, const char *sql, char *err, size_t errsz)
{
    PGresult *res = PQexec(db, sql);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK
                 ? 0
                 : cf_errf(err, errsz, CF_EDB, "%s: %s", sql, PQerrorMessage(db));
    PQclear(res);
    return rc;
}

/* The WITH before a section's own that keeps one court's rows: %s the home court, %s the court
 * (SQL literals). */
#define COURT_SCOPE                                                                              \
    "with cases as (select * from cases where " CF_CASE_COURT_SQL(                               \
        "cases", "%s") " = %s), tasks "                                                          \
                       "as (select * from tasks where case_no in (select case_no from cases)), " \
                       "events as (select * "                                                    \
                       "from events where case_no in (select case_no from cases)), "

/* The WITH that makes one court's report: `court` and `home` as SQL literals.  NULL when out of
 * memory. */
static char *court_scope(PGconn *db, const char *court, const char *home)
{
    char *c = PQescapeLiteral(db, court, strlen(court));
    char *h = home ? PQescapeLiteral(db, home, strlen(home)) : NULL;
    char *scope = NULL;
    size_t len;

    if (c && (h || !home)) {
        const char *hv = h ? h : "null::text";
        len = 512 + strlen(c) + strlen(hv);
        if ((scope = malloc(len)))
            snprintf(scope, len, COURT_SCOPE, hv, c);
    }
    PQfreemem(c);
    PQfreemem(h);
    return scope;
}

int cf_report_build(PGconn *db, const cf_registry *l, const char *since, const char *until,
                    const char *court, const char *home, json_t **out, char *err, size_t errsz)
{
    static const struct {
        const char *key, *what, *sql;
        int nparams;
    } parts[] = {
        {"cases", "cases per state", SQL_CASES, 3},
        {"tasks", "tasks per post", SQL_TASKS, 2},
        {"batches", "batches", SQL_BATCHES, 2},
        {"reminders", "reminders", SQL_REMINDERS, 2},
        {"documents", "documents", SQL_DOCUMENTS, 2},
        {"service", "service", SQL_SERVICE, 2},
        {"auctions", "auctions", SQL_AUCTIONS, 2},
        {"archive_ledgers", "archive ledgers", SQL_LEDGERS, 2},
        {"payments", "voluntary payments", SQL_PAYMENTS, 2},
        {"stages", "stages", SQL_STAGES, 3},
        {"clocks", "statutory clocks", SQL_CLOCKS, 2},
        {"chart", "the chart", SQL_CHART, 4},
    };
    cf_sqlarr order;
    const char *p[4];
    json_t *r = NULL, *v;
    char *scope = NULL;
    int rc, begun = 0;

    *out = NULL;
    if (court && !(scope = court_scope(db, court, home)))
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    cf_sqlarr_init(&order);
    state_order(l, &order);
    p[0] = since ? since : "-infinity";
    p[1] = until ? until : "infinity";
    p[2] = cf_sqlarr_text(&order);
    p[3] = CF_REPORT_CHART_WORKFLOW;
    if (order.failed) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        goto out;
    }
    /* One snapshot for every section, so that the sections of a report taken while the engine
     * works agree with each other. */
    if ((rc = command(db, "begin isolation level repeatable read read only", err, errsz)) != 0)
        goto out;
    begun = 1;
    if ((rc = section(db, "the clock and counts", SQL_HEAD, 2, p, scope, &r, err, errsz)) != 0)
        goto out;
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        if ((rc = section(db, parts[i].what, parts[i].sql, parts[i].nparams, p, scope, &v, err,
                          errsz)))
            goto out;
        if (strcmp(parts[i].key, "stages") == 0) {
            json_object_set(r, "stages", json_object_get(v, "stages"));
            json_object_set(r, "slowest_stages", json_object_get(v, "slowest"));
            json_decref(v);
        } else {
            json_object_set_new(r, parts[i].key, v);
        }
    }
    rc = command(db, "commit", err, errsz);
    begun = 0;
    if (rc == 0) {
        add_titles(r, l);
        *out = r;
        r = NULL;
    }
out:
    if (begun) {
        /* The reason is the query's; a failed rollback leaves a broken connection, which its
         * owner closes. */
        char ignored[256];
        (void)command(db, "rollback", ignored, sizeof ignored);
    }
    json_decref(r);
    cf_sqlarr_free(&order);
    free(scope);
    return rc;
}
