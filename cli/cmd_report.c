/*
 * `caseflow report`: what the command center did, from the database alone — cases per state and
 * closing method, tasks per post, batches, reminders, documents, the monthly archive ledgers,
 * the slowest stages, dead letters — as aligned tables with Chinese and English labels, as one
 * JSON object (docs/report.md), and as a chart of cases per state over the simulated days.
 *
 * Every number is computed by PostgreSQL in one parameterized query per section, which returns
 * the section as JSON; the text and the chart are drawn from that JSON, so that the three forms
 * cannot disagree.  Only labels (the titles of states, posts and task kinds) come from the
 * workflow definitions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "base/config.h"
#include "base/store.h"
#include "commands.h"
#include "session.h"
#include "core/caltime.h"
#include "core/workflow.h"
#include "base/path.h"
#include "svg.h"

/* The workflow whose states the chart shows. */
static const char CHART_WORKFLOW[] = "enforcement_case";

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

/* ---- options, labels ---- */

typedef struct opts {
    int json;
    const char *svg;
    long ledger_rows; /* entries shown per ledger in text; -1: all */
} opts;

/* The workflow definitions, for titles only; any of them may be missing. */
typedef struct labels {
    cf_workflow **wf;
    size_t n;
} labels;

static void labels_load(labels *l, const cf_config *cfg)
{
    l->wf = calloc(cfg->nworkflows + 1, sizeof *l->wf);
    l->n = 0;
    for (size_t i = 0; l->wf && i < cfg->nworkflows; i++) {
        char path[4096];
        cf_diags d;
        cf_diags_init(&d);
        l->wf[l->n] = cf_workflow_load(cf_path_find(cfg->workflows[i], path, sizeof path), &d);
        if (l->wf[l->n])
            l->n++;
        else
            fprintf(stderr, "caseflow report: %s: %s (its titles are left out)\n", path,
                    d.count ? d.lines[0] : "cannot be loaded");
        cf_diags_free(&d);
    }
}

static void labels_free(labels *l)
{
    for (size_t i = 0; i < l->n; i++)
        cf_workflow_free(l->wf[i]);
    free(l->wf);
}

static const cf_workflow *find_wf(const labels *l, const char *name)
{
    for (size_t i = 0; name && i < l->n; i++)
        if (strcmp(l->wf[i]->name, name) == 0)
            return l->wf[i];
    return NULL;
}

static const char *state_title(const labels *l, const char *workflow, const char *state)
{
    const cf_workflow *wf = find_wf(l, workflow);
    int i = wf && state ? cf_workflow_state_index(wf, state) : -1;
    return i >= 0 ? wf->states[i].title : NULL;
}

static const char *post_title(const labels *l, const char *post)
{
    for (size_t i = 0; post && i < l->n; i++) {
        const cf_post *p = cf_workflow_post(l->wf[i], post);
        if (p && p->title)
            return p->title;
    }
    return NULL;
}

static const char *kind_title(const labels *l, const char *kind)
{
    for (size_t i = 0; kind && i < l->n; i++) {
        const cf_task_kind *k = cf_workflow_kind(l->wf[i], kind);
        if (k && k->title)
            return k->title;
    }
    return NULL;
}

/* What each timer reminds of, for the text (the definitions give timers no titles). */
static const char *timer_title(const char *timer)
{
    static const char *const titles[][2] = {
        {"query_day_15", "立案第15日 再次查控提醒"},
        {"query_day_30", "立案第30日 再次查控提醒"},
        {"query_day_45", "立案第45日 再次查控提醒"},
        {"handling_warning", "执行期限届满前提醒"},
        {"handling_limit", "超过执行期限"},
        {"archive_warning", "上月结案归档提醒"},
        {"requery", "终本案件定期查控"},
    };
    for (size_t i = 0; timer && i < sizeof titles / sizeof *titles; i++)
        if (strcmp(titles[i][0], timer) == 0)
            return titles[i][1];
    return NULL;
}

/* "workflow/state" of every loaded definition, in its order: the rows' order in the report. */
static void state_order(const labels *l, cf_sqlarr *a)
{
    for (size_t w = 0; w < l->n; w++)
        for (size_t s = 0; s < l->wf[w]->nstates; s++)
            cf_sqlarr_addf(a, "%s/%s", l->wf[w]->name, l->wf[w]->states[s].name);
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static long long num(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static void set_title(json_t *o, const char *title)
{
    json_object_set_new(o, "title", title ? json_string(title) : json_null());
}

/* Adds the titles to the rows of the report; rows without one get null. */
static void add_titles(json_t *r, const labels *l)
{
    json_t *x, *y;
    size_t i, j;

    json_array_foreach (json_object_get(json_object_get(r, "cases"), "workflows"), i, x) {
        const cf_workflow *wf = find_wf(l, str(x, "workflow"));
        set_title(x, wf ? wf->title : NULL);
        json_array_foreach (json_object_get(x, "states"), j, y)
            set_title(y, state_title(l, str(x, "workflow"), str(y, "state")));
    }
    json_array_foreach (json_object_get(json_object_get(r, "tasks"), "staff"), i, x)
        set_title(x, post_title(l, str(x, "post")));
    json_array_foreach (json_object_get(json_object_get(r, "tasks"), "workers"), i, x)
        set_title(x, kind_title(l, str(x, "kind")));
    json_array_foreach (json_object_get(r, "batches"), i, x)
        set_title(x, kind_title(l, str(x, "kind")));
    json_array_foreach (json_object_get(json_object_get(r, "reminders"), "timers"), i, x)
        set_title(x, timer_title(str(x, "timer")));
    json_array_foreach (json_object_get(r, "stages"), i, x)
        set_title(x, state_title(l, str(x, "workflow"), str(x, "state")));
    json_array_foreach (json_object_get(r, "slowest_stages"), i, x)
        set_title(x, state_title(l, str(x, "workflow"), str(x, "state")));
    json_array_foreach (json_object_get(json_object_get(r, "chart"), "states"), i, x)
        set_title(x, state_title(l, str(json_object_get(r, "chart"), "workflow"), str(x, "state")));
}

/* ---- the period ---- */

/*
 * Turns a --since/--until value into timestamptz text: a day (YYYY-MM-DD) is its midnight in
 * the court's zone, and --until of a day takes that day in (the period ends at the next
 * midnight); anything else must be an ISO 8601 time.
 */
static int period_bound(const char *opt, const char *v, int until, char *out, size_t n)
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
    if (cf_time_parse_err(v, &t, why, sizeof why) == 0) {
        snprintf(out, n, "%s", v);
        return 0;
    }
    fprintf(stderr, "caseflow report: %s '%s' is not a day (YYYY-MM-DD) or an ISO 8601 time: %s\n",
            opt, v, why);
    return -1;
}

/* ---- querying ---- */

/* Runs one section's query; returns its JSON, or NULL with the reason in `err`. */
static json_t *section(PGconn *db, const char *what, const char *sql, int n,
                       const char *const *params, char *err, size_t errsz)
{
    char why[1024];
    PGresult *res = cf_store_exec(db, sql, n, params, why, sizeof why);
    json_t *v = NULL;

    if (!res) {
        cf_errf(err, errsz, CF_EDB, "%s: %s", what, why);
        return NULL;
    }
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        v = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    if (!v)
        cf_errf(err, errsz, CF_EDB, "%s: the query gave no JSON", what);
    PQclear(res);
    return v;
}

/* Builds the whole report; returns it, or NULL with the reason in `err`. */
static json_t *build(PGconn *db, const char *since, const char *until, const labels *l, char *err,
                     size_t errsz)
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
        {"archive_ledgers", "archive ledgers", SQL_LEDGERS, 2},
        {"stages", "stages", SQL_STAGES, 3},
        {"chart", "the chart", SQL_CHART, 4},
    };
    cf_sqlarr order;
    const char *p[4];
    json_t *r = NULL, *v;

    cf_sqlarr_init(&order);
    state_order(l, &order);
    p[0] = since;
    p[1] = until;
    p[2] = cf_sqlarr_text(&order);
    p[3] = CHART_WORKFLOW;
    if (order.failed) {
        cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        goto out;
    }
    r = section(db, "the clock and counts", SQL_HEAD, 2, p, err, errsz);
    for (size_t i = 0; r && i < sizeof parts / sizeof *parts; i++) {
        v = section(db, parts[i].what, parts[i].sql, parts[i].nparams, p, err, errsz);
        if (!v) {
            json_decref(r);
            r = NULL;
        } else if (strcmp(parts[i].key, "stages") == 0) {
            json_object_set(r, "stages", json_object_get(v, "stages"));
            json_object_set(r, "slowest_stages", json_object_get(v, "slowest"));
            json_decref(v);
        } else {
            json_object_set_new(r, parts[i].key, v);
        }
    }
    if (r)
        add_titles(r, l);
out:
    cf_sqlarr_free(&order);
    return r;
}

/* ---- text ---- */

/* Columns a UTF-8 text takes in a terminal: East Asian wide characters take two. */
static int display_width(const char *s)
{
    int w = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (p && *p) {
        unsigned cp;
        int len;
        if (*p < 0x80) {
            cp = *p;
            len = 1;
        } else if ((*p & 0xE0) == 0xC0) {
            cp = *p & 0x1F;
            len = 2;
        } else if ((*p & 0xF0) == 0xE0) {
            cp = *p & 0x0F;
            len = 3;
        } else {
            cp = *p & 0x07;
            len = 4;
        }
        for (int i = 1; i < len; i++)
            cp = p[i] ? (cp << 6) | (p[i] & 0x3F) : cp;
        for (int i = 0; i < len && *p; i++)
            p++;
        w += (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                     (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                     (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                     (cp >= 0xFFE0 && cp <= 0xFFE6) || cp >= 0x20000
                 ? 2
                 : 1;
    }
    return w;
}

enum { MAX_COLS = 12 };

/* A table of text cells printed with aligned columns; numbers align to the right. */
typedef struct table {
    int ncols;
    const char *head[MAX_COLS];
    int right[MAX_COLS];
    char **cells; /* rows * ncols, owned */
    size_t rows, cap;
} table;

static void tbl_init(table *t, int ncols, const char *const *head, const int *right)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    for (int i = 0; i < ncols; i++) {
        t->head[i] = head[i];
        t->right[i] = right[i];
    }
}

/* Adds a row of `ncols` cells (copied; NULL prints as "-"). */
static void tbl_row(table *t, const char *const *cells)
{
    if (t->rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **c = realloc(t->cells, cap * (size_t)t->ncols * sizeof *c);
        if (!c)
            return;
        t->cells = c;
        t->cap = cap;
    }
    for (int i = 0; i < t->ncols; i++)
        t->cells[t->rows * (size_t)t->ncols + (size_t)i] = strdup(cells[i] ? cells[i] : "-");
    t->rows++;
}

static void pad(const char *s, int width, int right, int last)
{
    int n = width - display_width(s);
    if (right)
        printf("%*s%s", n > 0 ? n : 0, "", s);
    else if (last)
        printf("%s", s);
    else
        printf("%s%*s", s, n > 0 ? n : 0, "");
}

static void tbl_print(table *t, int indent)
{
    int w[MAX_COLS];

    for (int c = 0; c < t->ncols; c++) {
        w[c] = display_width(t->head[c]);
        for (size_t r = 0; r < t->rows; r++) {
            int x = display_width(t->cells[r * (size_t)t->ncols + (size_t)c]);
            if (x > w[c])
                w[c] = x;
        }
    }
    for (size_t r = 0; r <= t->rows; r++) {
        printf("%*s", indent, "");
        for (int c = 0; c < t->ncols; c++) {
            const char *s = r == 0 ? t->head[c] : t->cells[(r - 1) * (size_t)t->ncols + (size_t)c];
            if (c > 0)
                printf("  ");
            pad(s, w[c], t->right[c], c == t->ncols - 1);
        }
        printf("\n");
    }
    for (size_t i = 0; i < t->rows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

/* "2026-03-02T08:30:00+08:00" as "2026-03-02 08:30" (the court's zone is every time's zone). */
static const char *when(const char *iso, char *buf, size_t n)
{
    if (!iso)
        return "-";
    snprintf(buf, n, "%.16s", iso);
    if (strlen(buf) > 10 && buf[10] == 'T')
        buf[10] = ' ';
    return buf;
}

static const char *fmt_num(const json_t *o, const char *key, char *buf, size_t n)
{
    json_t *v = json_object_get(o, key);
    if (json_is_integer(v))
        snprintf(buf, n, "%lld", (long long)json_integer_value(v));
    else if (json_is_number(v))
        snprintf(buf, n, "%.2f", json_number_value(v));
    else
        snprintf(buf, n, "-");
    return buf;
}

static void heading(const char *zh, const char *en)
{
    printf("\n%s %s\n", zh, en);
}

static void print_cases(const json_t *r)
{
    const json_t *c = json_object_get(r, "cases");
    json_t *w, *x;
    size_t i, j;
    table t;

    heading("一、案件", "Cases per workflow, state and closing method");
    printf("  合计 total: %lld\n", num(c, "total"));
    json_array_foreach (json_object_get(c, "workflows"), i, w) {
        static const char *const head[] = {"状态 state", "名称 title", "案件 cases"};
        static const int right[] = {0, 0, 1};
        printf("\n  %s %s: %lld\n", str(w, "workflow"), str(w, "title") ? str(w, "title") : "",
               num(w, "cases"));
        tbl_init(&t, 3, head, right);
        json_array_foreach (json_object_get(w, "states"), j, x) {
            char n[32];
            tbl_row(&t, (const char *[]){str(x, "state"), str(x, "title"),
                                         fmt_num(x, "cases", n, sizeof n)});
        }
        tbl_print(&t, 4);
        if (json_array_size(json_object_get(w, "close_methods")) > 0) {
            static const char *const mhead[] = {"结案方式 closing method", "案件 cases"};
            static const int mright[] = {0, 1};
            printf("\n");
            tbl_init(&t, 2, mhead, mright);
            json_array_foreach (json_object_get(w, "close_methods"), j, x) {
                char n[32];
                tbl_row(&t,
                        (const char *[]){str(x, "close_method"), fmt_num(x, "cases", n, sizeof n)});
            }
            tbl_print(&t, 4);
        }
    }
}

static void print_task_rows(json_t *rows, const char *key, const char *label)
{
    static const int right[] = {0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    const char *head[] = {
        label,          "名称 title",  "完成 done",     "待办 open",      "已领 claimed",
        "逾期 overdue", "失败 failed", "退回 returned", "撤销 cancelled", "合计 total"};
    static const char *const counts[] = {"done",   "open",     "claimed",   "overdue",
                                         "failed", "returned", "cancelled", "total"};
    table t;
    json_t *x;
    size_t i;

    tbl_init(&t, 10, head, right);
    json_array_foreach (rows, i, x) {
        char n[8][32];
        const char *cells[10] = {str(x, key), str(x, "title")};
        for (int k = 0; k < 8; k++)
            cells[2 + k] = fmt_num(x, counts[k], n[k], sizeof n[k]);
        tbl_row(&t, cells);
    }
    tbl_print(&t, 2);
}

static void print_tasks(const json_t *r)
{
    const json_t *t = json_object_get(r, "tasks");
    heading("二、任务", "Tasks per post (open includes claimed; overdue: open past due at the "
                        "engine's clock)");
    printf("  人工岗位 Staff posts\n");
    print_task_rows(json_object_get(t, "staff"), "post", "岗位 post");
    printf("\n  工作进程 Worker kinds\n");
    print_task_rows(json_object_get(t, "workers"), "kind", "类型 kind");
}

static const char *const weekday_keys[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const weekday_zh[] = {"周一", "周二", "周三", "周四", "周五", "周六", "周日"};

/* "周一 Mon 4, 周三 Wed 3": the weekdays something went out on, with how often. */
static void weekdays_text(const json_t *wd, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int d = 0; d < 7; d++) {
        long long k = num(wd, weekday_keys[d]);
        if (k > 0 && used < n)
            used += (size_t)snprintf(buf + used, n - used, "%s%s %s %lld", used ? ", " : "",
                                     weekday_zh[d], weekday_keys[d], k);
    }
    if (!buf[0])
        snprintf(buf, n, "-");
}

static void print_batches(const json_t *r)
{
    static const char *const head[] = {"分组 group", "批次 batches", "任务 tasks",
                                       "出发日 weekdays"};
    static const int right[] = {0, 1, 1, 0};
    json_t *b, *g;
    size_t i, j;
    table t;

    heading("三、集约批次", "Batches per office, route and ledger");
    if (json_array_size(json_object_get(r, "batches")) == 0)
        printf("  (none 无)\n");
    json_array_foreach (json_object_get(r, "batches"), i, b) {
        char wd[256];
        weekdays_text(json_object_get(b, "weekdays"), wd, sizeof wd);
        printf("\n  %s %s: %lld batches 批, %lld tasks 件, went out %lld times 次 (%s); "
               "waiting 待发 %lld\n",
               str(b, "kind"), str(b, "title") ? str(b, "title") : "", num(b, "batches"),
               num(b, "tasks"), num(b, "dispatches"), wd, num(b, "waiting"));
        tbl_init(&t, 4, head, right);
        json_array_foreach (json_object_get(b, "groups"), j, g) {
            char nb[32], nt[32];
            weekdays_text(json_object_get(g, "weekdays"), wd, sizeof wd);
            tbl_row(&t, (const char *[]){str(g, "group"), fmt_num(g, "batches", nb, sizeof nb),
                                         fmt_num(g, "tasks", nt, sizeof nt), wd});
        }
        tbl_print(&t, 4);
    }
}

static void print_reminders(const json_t *r)
{
    static const char *const head[] = {"定时器 timer", "说明 what", "触发 fired"};
    static const int right[] = {0, 0, 1};
    const json_t *rem = json_object_get(r, "reminders");
    json_t *x;
    size_t i;
    table t;

    heading("四、提醒", "Reminders fired (timers)");
    printf("  合计 total: %lld\n", num(rem, "total"));
    tbl_init(&t, 3, head, right);
    json_array_foreach (json_object_get(rem, "timers"), i, x) {
        char n[32];
        tbl_row(&t, (const char *[]){str(x, "timer"), str(x, "title"),
                                     fmt_num(x, "fired", n, sizeof n)});
    }
    tbl_print(&t, 2);
}

static void print_documents(const json_t *r)
{
    static const char *const head[] = {"文书 document", "份数 made"};
    static const int right[] = {0, 1};
    const json_t *d = json_object_get(r, "documents");
    json_t *x;
    size_t i;
    table t;

    heading("五、文书", "Documents made");
    printf("  %lld documents 份 from %lld done documents tasks 件\n", num(d, "total"),
           num(d, "tasks"));
    tbl_init(&t, 2, head, right);
    json_array_foreach (json_object_get(d, "documents"), i, x) {
        char n[32];
        tbl_row(&t, (const char *[]){str(x, "document"), fmt_num(x, "count", n, sizeof n)});
    }
    tbl_print(&t, 2);
}

static void print_ledgers(const json_t *r, long rows)
{
    static const char *const head[] = {"案号 case", "流程 workflow", "结案方式 closing method",
                                       "结案 closed", "归档 archived"};
    static const int right[] = {0, 0, 0, 0, 0};
    json_t *m, *x;
    size_t i, j;
    table t;

    heading("六、归档台账", "Archive ledger of each month (the cases of the month's archive "
                            "batch)");
    if (json_array_size(json_object_get(r, "archive_ledgers")) == 0)
        printf("  (none 无)\n");
    json_array_foreach (json_object_get(r, "archive_ledgers"), i, m) {
        char d[32], methods[512];
        size_t used = 0;
        methods[0] = '\0';
        json_array_foreach (json_object_get(m, "close_methods"), j, x) {
            if (used < sizeof methods)
                used += (size_t)snprintf(methods + used, sizeof methods - used, "%s%s %lld",
                                         used ? ", " : "", str(x, "close_method"), num(x, "cases"));
        }
        printf("\n  %s 台账 ledger — 件数 cases %lld — 批次 batch %s — %s\n", str(m, "month"),
               num(m, "cases"),
               when(json_string_value(json_array_get(json_object_get(m, "dispatched"), 0)), d,
                    sizeof d),
               methods);
        tbl_init(&t, 5, head, right);
        json_array_foreach (json_object_get(m, "entries"), j, x) {
            char c[32], a[32];
            if (rows >= 0 && (long)j >= rows)
                break;
            tbl_row(&t,
                    (const char *[]){str(x, "case_no"), str(x, "workflow"), str(x, "close_method"),
                                     when(str(x, "closed_at"), c, sizeof c),
                                     when(str(x, "archived_at"), a, sizeof a)});
        }
        tbl_print(&t, 4);
        if (rows >= 0 && (size_t)rows < json_array_size(json_object_get(m, "entries")))
            printf("    … %zu more 另有 (--json has all)\n",
                   json_array_size(json_object_get(m, "entries")) - (size_t)rows);
    }
}

static void print_stages(const json_t *r)
{
    static const char *const head[] = {"流程 workflow", "状态 state",   "名称 title",
                                       "停留 stays",    "p50 天 days",  "p90 天 days",
                                       "最长 max days", "在办 still in"};
    static const int right[] = {0, 0, 0, 1, 1, 1, 1, 1};
    json_t *x;
    size_t i;
    table t;

    heading("七、最慢环节", "Slowest stages (days cases stayed in a state; the 5 slowest by p50)");
    tbl_init(&t, 8, head, right);
    json_array_foreach (json_object_get(r, "slowest_stages"), i, x) {
        char n[5][32];
        tbl_row(&t, (const char *[]){str(x, "workflow"), str(x, "state"), str(x, "title"),
                                     fmt_num(x, "stays", n[0], sizeof n[0]),
                                     fmt_num(x, "p50_days", n[1], sizeof n[1]),
                                     fmt_num(x, "p90_days", n[2], sizeof n[2]),
                                     fmt_num(x, "max_days", n[3], sizeof n[3]),
                                     fmt_num(x, "still_in", n[4], sizeof n[4])});
    }
    tbl_print(&t, 2);
    printf("\n  所有环节 All stages\n");
    tbl_init(&t, 8, head, right);
    json_array_foreach (json_object_get(r, "stages"), i, x) {
        char n[5][32];
        tbl_row(&t, (const char *[]){str(x, "workflow"), str(x, "state"), str(x, "title"),
                                     fmt_num(x, "stays", n[0], sizeof n[0]),
                                     fmt_num(x, "p50_days", n[1], sizeof n[1]),
                                     fmt_num(x, "p90_days", n[2], sizeof n[2]),
                                     fmt_num(x, "max_days", n[3], sizeof n[3]),
                                     fmt_num(x, "still_in", n[4], sizeof n[4])});
    }
    tbl_print(&t, 2);
}

static void print_text(const json_t *r, long ledger_rows)
{
    const json_t *clock = json_object_get(r, "clock"), *period = json_object_get(r, "period");
    const json_t *dup = json_object_get(r, "duplicates");
    char a[32], b[32];

    printf("执行指挥中心工作报告  Command center report\n");
    printf("  引擎时钟 engine clock: %s (%s)\n", when(str(clock, "now"), a, sizeof a),
           str(clock, "mode") && strcmp(str(clock, "mode"), "simulated") == 0 ? "simulated 模拟"
                                                                              : "real 实时");
    if (str(period, "since") || str(period, "until"))
        printf("  统计区间 period: from %s up to %s (exclusive)\n",
               str(period, "since") ? when(str(period, "since"), a, sizeof a) : "…",
               str(period, "until") ? when(str(period, "until"), b, sizeof b) : "…");
    else
        printf("  统计区间 period: all 全部\n");
    print_cases(r);
    print_tasks(r);
    print_batches(r);
    print_reminders(r);
    print_documents(r);
    print_ledgers(r, ledger_rows);
    print_stages(r);
    heading("八、其他", "Events, dead letters, duplicates");
    printf("  事件 events applied: %lld\n", num(r, "events"));
    printf("  死信 dead letters: %lld\n", num(r, "dead_letters"));
    printf("  重复事件 duplicates: %lld events 个, dropped %lld times 次\n", num(dup, "events"),
           num(dup, "dropped"));
}

/* ---- the chart ---- */

/*
 * The colour of each state of the court's workflow in the chart, the same in every report: the
 * bands that grow large (execution, closed, archived) get the strongest colours.  A state not
 * named here takes the palette's colour of its place in its workflow.
 */
static const char *state_color(const labels *l, const char *workflow, const char *state)
{
    static const char *const colors[][2] = {
        {"filed", "#9c755f"},
        {"intake", "#ff9da7"},
        {"correction", "#d37295"},
        {"special_review", "#b07aa1"},
        {"assigned", "#bab0ac"},
        {"notices", "#edc948"},
        {"queries", "#76b7b2"},
        {"execution", "#59a14f"},
        {"withdrawal_review", "#f28e2b"},
        {"closed", "#e15759"},
        {"terminated_watch", "#499894"},
        {"archived", "#4e79a7"},
    };
    const cf_workflow *wf = find_wf(l, workflow);
    int i = wf ? cf_workflow_state_index(wf, state) : -1;

    if (strcmp(workflow, CHART_WORKFLOW) == 0)
        for (size_t k = 0; k < sizeof colors / sizeof *colors; k++)
            if (strcmp(colors[k][0], state) == 0)
                return colors[k][1];
    return i >= 0 ? cf_svg_color((size_t)i) : NULL;
}

/* FILE.svg's picture as FILE.png (FILE.png when FILE has another ending). */
static void png_path(const char *svg, char *out, size_t n)
{
    size_t len = strlen(svg);
    if (len > 4 && strcmp(svg + len - 4, ".svg") == 0)
        snprintf(out, n, "%.*s.png", (int)(len - 4), svg);
    else
        snprintf(out, n, "%s.png", svg);
}

static int write_chart(const json_t *r, const labels *l, const char *path)
{
    const json_t *chart = json_object_get(r, "chart");
    const json_t *states = json_object_get(chart, "states"), *days = json_object_get(chart, "days");
    size_t ns = json_array_size(states), nd = json_array_size(days);
    cf_svg_series *series = calloc(ns + 1, sizeof *series);
    long long *values = calloc(ns * nd + 1, sizeof *values);
    const char **dayv = calloc(nd + 1, sizeof *dayv);
    char **label = calloc(ns + 1, sizeof *label);
    char title[256], subtitle[256], err[1024], png[4096];
    const cf_workflow *wf = find_wf(l, str(chart, "workflow"));
    cf_svg_chart c;
    int rc = 1;

    if (!series || !values || !dayv || !label) {
        fprintf(stderr, "caseflow report: out of memory\n");
        goto out;
    }
    for (size_t d = 0; d < nd; d++)
        dayv[d] = json_string_value(json_array_get(days, d));
    for (size_t s = 0; s < ns; s++) {
        const json_t *st = json_array_get(states, s);
        const json_t *counts = json_object_get(st, "counts");
        char buf[256];
        for (size_t d = 0; d < nd; d++)
            values[s * nd + d] = (long long)json_integer_value(json_array_get(counts, d));
        /* The legend names the state, its title and how many cases it holds at the end. */
        snprintf(buf, sizeof buf, "%s %s (%lld)", str(st, "state"),
                 str(st, "title") ? str(st, "title") : "", nd ? values[s * nd + nd - 1] : 0);
        label[s] = strdup(buf);
        series[s].name = str(st, "state");
        series[s].label = label[s];
        series[s].color = state_color(l, str(chart, "workflow"), str(st, "state"));
        series[s].values = values + s * nd;
    }
    /* Stacked as a flow: the states a case reaches last at the bottom, so that the bands that
     * grow with time (closed, archived) lie on the axis. */
    for (size_t s = 0; s < ns / 2; s++) {
        cf_svg_series tmp = series[s];
        series[s] = series[ns - 1 - s];
        series[ns - 1 - s] = tmp;
    }
    snprintf(title, sizeof title, "%s 各状态案件数  Cases per state, day by day",
             wf && wf->title ? wf->title : str(chart, "workflow"));
    if (nd > 0)
        snprintf(subtitle, sizeof subtitle,
                 "%s, %s – %s (%zu days 天, each day's end; engine clock %s)",
                 str(chart, "workflow"), dayv[0], dayv[nd - 1], nd,
                 str(json_object_get(r, "clock"), "mode"));
    else
        snprintf(subtitle, sizeof subtitle, "%s", str(chart, "workflow"));
    c = (cf_svg_chart){.title = title,
                       .subtitle = subtitle,
                       .x_title = "日期 Day (simulated 模拟)",
                       .y_title = "案件数 Cases",
                       .days = dayv,
                       .ndays = nd,
                       .series = series,
                       .nseries = ns};
    if (cf_svg_write_file(path, &c, err, sizeof err) != 0) {
        fprintf(stderr, "caseflow report: %s\n", err);
        goto out;
    }
    png_path(path, png, sizeof png);
    switch (cf_svg_to_png(path, png, err, sizeof err)) {
    case 0: fprintf(stderr, "caseflow report: wrote %s and %s\n", path, png); break;
    case CF_ENOTFOUND: fprintf(stderr, "caseflow report: wrote %s; %s\n", path, err); break;
    default: fprintf(stderr, "caseflow report: wrote %s; %s\n", path, err); goto out;
    }
    rc = 0;
out:
    for (size_t s = 0; label && s < ns; s++)
        free(label[s]);
    free(label);
    free(series);
    free(values);
    free(dayv);
    return rc;
}

/* ---- the command ---- */

static int usage(FILE *out, int rc)
{
    fprintf(out,
            "usage: caseflow report [--json] [--svg FILE] [--since DATE] [--until DATE]\n"
            "                       [--ledger-rows N]\n\n"
            "The command center's work, from the database (CASEFLOW_PG): cases per workflow,\n"
            "state and closing method; tasks per post (done, open, overdue at the engine's\n"
            "clock, failed, cancelled); batches per office, route and ledger with the weekdays\n"
            "they went out; reminders fired; documents made; the archive ledger of each month;\n"
            "the slowest stages; dead letters and duplicates.\n\n"
            "  --json          one JSON object instead of tables (docs/report.md)\n"
            "  --svg FILE      also draw cases per state per day as an SVG chart, and FILE.png\n"
            "                  beside it when rsvg-convert is installed\n"
            "  --since DATE    only what happened from DATE on (YYYY-MM-DD or ISO 8601)\n"
            "  --until DATE    only what happened before DATE ends (a day counts in full)\n"
            "  --ledger-rows N show at most N cases per monthly ledger in the tables\n");
    return rc;
}

int cf_cmd_report(int argc, char **argv)
{
    char err[1024], since[64] = "-infinity", until[64] = "infinity";
    opts o = {.ledger_rows = -1};
    cf_config cfg;
    labels l = {0};
    PGconn *db = NULL;
    json_t *r = NULL;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return usage(stdout, 0);
        if (strcmp(a, "--json") == 0) {
            o.json = 1;
        } else if ((strcmp(a, "--svg") == 0 || strcmp(a, "--since") == 0 ||
                    strcmp(a, "--until") == 0 || strcmp(a, "--ledger-rows") == 0) &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(a, "--svg") == 0) {
                o.svg = v;
            } else if (strcmp(a, "--ledger-rows") == 0) {
                char *end;
                o.ledger_rows = strtol(v, &end, 10);
                if (*end || o.ledger_rows < 0) {
                    fprintf(stderr, "caseflow report: --ledger-rows '%s' is not a number\n", v);
                    return 2;
                }
            } else if (period_bound(a, v, strcmp(a, "--until") == 0,
                                    strcmp(a, "--since") == 0 ? since : until, sizeof since)) {
                return 2;
            }
        } else {
            fprintf(stderr, "caseflow report: unexpected argument '%s' (see --help)\n", a);
            return 2;
        }
    }
    if (!(db = cf_cli_connect(&cfg, "caseflow report")))
        goto out;
    labels_load(&l, &cfg);
    if (!(r = build(db, since, until, &l, err, sizeof err))) {
        fprintf(stderr, "caseflow report: %s\n", err);
        goto out;
    }
    if (o.json) {
        char *s = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s)
            puts(s);
        free(s);
    } else {
        print_text(r, o.ledger_rows);
    }
    if (o.svg && write_chart(r, &l, o.svg) != 0)
        goto out;
    rc = fflush(stdout) == 0 ? 0 : 1;
out:
    json_decref(r);
    labels_free(&l);
    if (db)
        PQfinish(db);
    cf_config_free(&cfg);
    return rc;
}
