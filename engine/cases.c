/*
 * Case reads for the workplace: one query per answer, the reach of a post as one SQL predicate,
 * and the audit replay of core/replay.c over the rows of the event log.
 */
#include "cases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/maskjson.h"
#include "io/store.h"
#include "core/replay.h"

/* Whether post $2 reaches case c (every case when $2 is NULL). */
#define REACH                                                                                 \
    "($2::text is null or c.team = $2 or c.body -> 'data' ->> 'handler_post' = $2 or exists " \
    "(select 1 from tasks r where r.case_no = c.case_no and r.post = $2))"

#define ISO "'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM'"

/* Runs `sql` (one row, one JSON column, or no row) and parses its value; NULL with `*rc`. */
static json_t *one_json(PGconn *db, const char *sql, int n, const char *const *p, const char *what,
                        int *rc, char *err, size_t errsz)
{
    PGresult *res = cf_store_exec(db, sql, n, p, err, errsz);
    json_t *v = NULL;

    *rc = 0;
    if (!res) {
        *rc = CF_EDB;
        return NULL;
    }
    if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0))
        *rc = cf_errf(err, errsz, CF_ENOTFOUND, "there is no %s", what);
    else if (!(v = json_loads(PQgetvalue(res, 0, 0), 0, NULL)))
        *rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    PQclear(res);
    return v;
}

int cf_case_court(PGconn *db, const char *case_no, const char *task_id, const char *home, char *out,
                  size_t n, char *err, size_t errsz)
{
    const char *p[2] = {task_id ? task_id : case_no, home};
    PGresult *res = cf_store_exec(
        db,
        task_id ? "select " CF_CASE_COURT_SQL("c", "$2") " from tasks t join cases c using "
                                                         "(case_no) where t.task_id = $1"
                : "select " CF_CASE_COURT_SQL("c", "$2") " from cases c where c.case_no = $1",
        2, p, err, errsz);
    int rc = 0;

    if (!res)
        return CF_EDB;
    if (PQntuples(res) == 0)
        rc =
            cf_errf(err, errsz, CF_ENOTFOUND, "there is no %s %s", task_id ? "task" : "case", p[0]);
    else
        snprintf(out, n, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return rc;
}

json_t *cf_cases_search(PGconn *db, const char *q, int by_name, const char *reach,
                        const char *court, const char *home, int limit, int offset, char *err,
                        size_t errsz)
{
    char lim[24], off[24];
    const char *p[7] = {q && *q ? q : NULL, reach, by_name ? "t" : "f", lim, off, court, home};
    int rc;

    snprintf(lim, sizeof lim, "%d", limit);
    snprintf(off, sizeof off, "%d", offset);
    /* Party names are matched whole: a search for a part of a name would find people by the
     * first character that masking leaves visible. */
    return one_json(
        db,
        "with m as (select c.* from cases c where ($1::text is null or strpos(c.case_no, $1) > 0 "
        "or ($3::boolean and exists (select 1 from jsonb_array_elements(coalesce(c.body -> "
        "'data' -> 'applicants', '[]') || coalesce(c.body -> 'data' -> 'respondents', '[]')) p "
        "where p ->> 'name' = $1))) and " REACH " and ($6::text is null or " CF_CASE_COURT_SQL(
            "c",
            "$7::text") " = $6)) select json_build_object('total', (select "
                        "count(*) from m), 'cases', coalesce((select json_agg(x) from (select "
                        "json_build_object('case', m.case_no, 'workflow', m.workflow, 'version', "
                        "m.version, "
                        "'state', m.state, 'team', m.team, 'updated_at', to_char(m.updated_at, " ISO
                        "), 'applicants', m.body -> 'data' -> 'applicants', 'respondents', m.body "
                        "-> 'data' -> "
                        "'respondents') x from m order by m.updated_at desc, m.case_no limit "
                        "$4::bigint offset "
                        "$5::bigint) y), '[]'::json))",
        7, p, "case", &rc, err, errsz);
}

/* Whether a case field holds a deadline: it is what the workflows name them. */
static int deadline_name(const char *key)
{
    size_t n = strlen(key);
    return (n > 9 && strcmp(key + n - 9, "_deadline") == 0) ||
           (n > 9 && strcmp(key + n - 9, "_earliest") == 0) || strncmp(key, "next_", 5) == 0;
}

json_t *cf_case_get(PGconn *db, const cf_registry *reg, const char *case_no, const char *reach,
                    int *rc, char *err, size_t errsz)
{
    const char *p[2] = {case_no, reach};
    json_t *c = one_json(
        db,
        "select json_build_object('case', c.case_no, 'workflow', c.workflow, 'version', "
        "c.version, 'state', c.state, 'team', c.team, 'seq', c.seq, 'created_at', "
        "to_char(c.created_at, " ISO "), 'updated_at', to_char(c.updated_at, " ISO
        "), 'head_hash', c.head_hash, 'body', c.body, 'open_tasks', coalesce((select "
        "json_agg(json_build_object('id', t.task_id, 'activity', t.activity, 'title', "
        "coalesce(t.title, t.activity), 'kind', t.kind, 'post', t.post, 'status', t.status, "
        "'worker', t.worker, 'due', to_char(t.due_at, " ISO
        ")) order by t.due_at nulls last, t.created_at) from tasks t where t.case_no = "
        "c.case_no and t.status in ('open', 'claimed')), '[]'::json)) from cases c where "
        "c.case_no = $1 and " REACH,
        2, p, "case", rc, err, errsz);
    json_t *body, *data, *deadlines, *v;
    const cf_workflow *wf;
    const char *key;

    if (!c)
        return NULL;
    body = json_object_get(c, "body");
    data = json_object_get(body, "data");
    deadlines = json_object();
    json_object_foreach (data, key, v) {
        if (deadline_name(key))
            json_object_set(deadlines, key, v);
    }
    json_object_set(c, "data", data ? data : json_object());
    json_object_set(c, "timers", json_object_get(body, "timers"));
    json_object_set_new(c, "deadlines", deadlines);
    wf = reg ? cf_registry_find(reg, json_string_value(json_object_get(c, "workflow")),
                                (int)json_integer_value(json_object_get(c, "version")))
             : NULL;
    if (wf) {
        int i = cf_workflow_state_index(wf, json_string_value(json_object_get(c, "state")));
        if (i >= 0 && wf->states[i].title)
            json_object_set_new(c, "state_title", json_string(wf->states[i].title));
    }
    json_object_del(c, "body");
    return c;
}

json_t *cf_case_tasks(PGconn *db, const char *case_no, const char *reach, int *rc, char *err,
                      size_t errsz)
{
    const char *p[2] = {case_no, reach};
    return one_json(db,
                    "select coalesce((select json_agg(json_build_object('id', t.task_id, "
                    "'activity', t.activity, 'kind', t.kind, 'title', coalesce(t.title, "
                    "t.activity), 'post', t.post, 'status', t.status, 'worker', t.worker, "
                    "'claimed_by', t.claimed_by, 'due', to_char(t.due_at, " ISO
                    "), 'created_at', to_char(t.created_at, " ISO "), 'updated_at', "
                    "to_char(t.updated_at, " ISO ")) order by t.created_at, t.task_id) from "
                    "tasks t where t.case_no = c.case_no), '[]'::json) from cases c where "
                    "c.case_no = $1 and " REACH,
                    2, p, "case", rc, err, errsz);
}

json_t *cf_case_timers(PGconn *db, const char *case_no, const char *reach, int *rc, char *err,
                       size_t errsz)
{
    const char *p[2] = {case_no, reach};
    return one_json(
        db,
        "select coalesce((select json_agg(json_build_object('name', t.name, 'due', "
        "to_char(t.due_at, " ISO ")) order by t.due_at, t.name) from timers t where "
        "t.case_no = c.case_no), '[]'::json) from cases c where c.case_no = $1 and " REACH,
        2, p, "case", rc, err, errsz);
}

/* ---- history and replay -------------------------------------------------------------------- */

void cf_case_log_free(cf_case_log *l)
{
    for (size_t i = 0; l->owned && i < 2 * l->n; i++)
        json_decref(l->owned[i]);
    free(l->owned);
    free(l->rows);
    PQclear(l->res);
    memset(l, 0, sizeof *l);
}

void cf_case_log_fill(const PGresult *res, int k, int col, cf_replay_row *r, json_t **owned)
{
    /* Instants travel as milliseconds: the engine's clock counts them, and PostgreSQL's own
     * text form of a timestamptz is not what the engine wrote. */
    r->seq = strtoll(PQgetvalue(res, k, col + 0), NULL, 10);
    r->event_id = PQgetvalue(res, k, col + 1);
    r->type = PQgetvalue(res, k, col + 2);
    r->source = PQgetvalue(res, k, col + 3);
    r->event_time = strtoll(PQgetvalue(res, k, col + 4), NULL, 10);
    r->applied_at = strtoll(PQgetvalue(res, k, col + 5), NULL, 10);
    owned[0] = json_loads(PQgetvalue(res, k, col + 6), 0, NULL);
    owned[1] = json_loads(PQgetvalue(res, k, col + 9), 0, NULL);
    r->body = owned[0];
    /* The chain hashes the stored bytes of the envelope, not a rendering of them. */
    r->body_text = PQgetvalue(res, k, col + 6);
    r->body_len = (size_t)PQgetlength(res, k, col + 6);
    r->state_before = PQgetvalue(res, k, col + 7);
    r->state_after = PQgetvalue(res, k, col + 8);
    r->actions = owned[1];
    r->actions_text = PQgetvalue(res, k, col + 9);
    r->prev_hash = PQgetvalue(res, k, col + 10);
    r->hash = PQgetvalue(res, k, col + 11);
}

int cf_case_log_read(PGconn *db, const char *case_no, cf_case_log *l, char *err, size_t errsz)
{
    memset(l, 0, sizeof *l);
    l->res = cf_store_exec(
        db, "select " CF_CASE_LOG_COLUMNS " from events where case_no = $1 order by seq", 1,
        (const char *[]){case_no}, err, errsz);
    if (!l->res)
        return CF_EDB;
    l->n = (size_t)PQntuples(l->res);
    l->rows = calloc(l->n + 1, sizeof *l->rows);
    l->owned = calloc(2 * l->n + 1, sizeof *l->owned);
    if (!l->rows || !l->owned)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory for %zu events", l->n);
    for (size_t i = 0; i < l->n; i++)
        cf_case_log_fill(l->res, (int)i, 0, &l->rows[i], &l->owned[2 * i]);
    return 0;
}

json_t *cf_case_history(PGconn *db, const cf_registry *reg, const char *case_no, const char *reach,
                        int verify, cf_time as_of, int *rc, char *err, size_t errsz)
{
    const char *p[2] = {case_no, reach};
    PGresult *cres = cf_store_exec(db,
                                   "select c.workflow, c.version, c.body::text, c.head_hash from "
                                   "cases c where c.case_no = $1 and " REACH,
                                   2, p, err, errsz);
    const cf_workflow *wf;
    json_t *cbody = NULL, *timeline = NULL, *doc = NULL;
    cf_case_log log;
    cf_replay r;
    size_t shown = 0;
    int offset;

    memset(&log, 0, sizeof log);
    memset(&r, 0, sizeof r);
    *rc = 0;
    if (!cres) {
        *rc = CF_EDB;
        return NULL;
    }
    if (PQntuples(cres) == 0) {
        *rc = cf_errf(err, errsz, CF_ENOTFOUND, "there is no case %s", case_no);
        goto out;
    }
    if (!(wf = cf_registry_find(reg, PQgetvalue(cres, 0, 0), atoi(PQgetvalue(cres, 0, 1))))) {
        *rc = cf_errf(err, errsz, CF_ENOTFOUND,
                      "case %s was filed under workflow %s version %s, which this server has not "
                      "loaded",
                      case_no, PQgetvalue(cres, 0, 0), PQgetvalue(cres, 0, 1));
        goto out;
    }
    offset = cf_calendar_utc_offset(wf->calendar);
    if ((*rc = cf_case_log_read(db, case_no, &log, err, errsz)) != 0)
        goto out;
    timeline = json_array();
    while (timeline && shown < log.n && log.rows[shown].applied_at <= as_of)
        json_array_append_new(timeline, cf_replay_entry(&log.rows[shown++], offset));
    doc = json_pack("{s:s, s:s, s:i, s:I, s:O}", "case", case_no, "workflow", wf->name, "version",
                    wf->version, "events", (json_int_t)log.n, "timeline", timeline);
    if (doc && verify) {
        cf_replay_case c = {.case_no = case_no,
                            .workflow = wf->name,
                            .version = wf->version,
                            .body = cbody = json_loads(PQgetvalue(cres, 0, 2), 0, NULL),
                            .head_hash = PQgetvalue(cres, 0, 3)};
        int vrc;
        wf = cf_registry_for_case(reg, wf, case_no, cbody);
        vrc = cf_replay_verify(wf, &c, log.rows, log.n, as_of, &r);
        if (vrc == CF_ENOMEM) {
            *rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory replaying %s", case_no);
            json_decref(doc);
            doc = NULL;
            goto out;
        }
        json_object_set_new(doc, "verification",
                            json_pack("{s:s, s:s, s:s, s:b}", "chain", r.chain, "replay", r.replay,
                                      "final_state", r.final_text, "ok", vrc == 0));
        /* Each event shown says whether its own link holds and whether replay agreed there. */
        for (size_t i = 0; i < shown; i++) {
            json_t *e = json_array_get(timeline, i);
            char why[512];
            int lrc = cf_replay_link(&c, log.rows, i, why, sizeof why);
            long long seq = log.rows[i].seq;
            if (lrc < 0) {
                *rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory replaying %s", case_no);
                json_decref(doc);
                doc = NULL;
                goto out;
            }
            json_object_set_new(e, "hash", json_string(log.rows[i].hash));
            json_object_set_new(e, "link", json_string(why));
            json_object_set_new(e, "replay",
                                json_string(r.replay_seq && seq == r.replay_seq  ? "differs"
                                            : r.replay_seq && seq > r.replay_seq ? "not compared"
                                            : i < r.replayed                     ? "ok"
                                                                                 : "not replayed"));
        }
        json_object_set_new(doc, "state", r.state ? cf_mask_json(r.state) : json_null());
        json_object_set_new(doc, "replayed", json_integer((json_int_t)r.replayed));
    }
    if (!doc)
        *rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
out:
    json_decref(timeline);
    json_decref(cbody);
    cf_replay_clear(&r);
    cf_case_log_free(&log);
    PQclear(cres);
    return doc;
}

/* SQL: whether the row's case_no is of court $3 (NULL: every court; $4 the home court). */
#define OF_COURT                                                                               \
    "($3::text is null or case_no in (select c.case_no from cases c where " CF_CASE_COURT_SQL( \
        "c", "$4::text") " = $3))"
/* The same for the tasks table, by its court column. */
#define TASKS_OF_COURT CF_TASK_COURT_SQL("tasks", "$3", "$4")

json_t *cf_stats(PGconn *db, const char *group, const char *events_topic, const char *court,
                 const char *home, char *err, size_t errsz)
{
    int rc;
    const char *p[4] = {group, events_topic, court, home};
    return one_json(
        db,
        "select json_build_object("
        "'cases', coalesce((select json_object_agg(w, states) from (select workflow w, "
        "json_object_agg(state, n) states from (select workflow, state, count(*) n from cases "
        "where " OF_COURT " group by 1, 2) x group by 1) y), '{}'::json), "
        "'tasks', coalesce((select json_object_agg(p, st) from (select coalesce(post, '-') p, "
        "json_object_agg(status, n) st from (select post, status, count(*) n from tasks "
        "where " TASKS_OF_COURT " group by 1, 2) x group by 1) y), '{}'::json), "
        "'overdue', coalesce((select json_object_agg(p, n) from (select post p, count(*) n from "
        "tasks, (select coalesce((select case when mode = 'simulated' then now else now() end "
        "from engine_clock where id = 1), now()) k) k where status in ('open', 'claimed') and "
        "not worker and due_at < k.k and " TASKS_OF_COURT " group by post) x), '{}'::json), "
        "'timers', (select count(*) from timers where " OF_COURT "), "
        "'events', (select count(*) from events where " OF_COURT "), "
        "'dead_letters', (select count(*) from dead_letters), "
        "'duplicates', (select coalesce(sum(seen), 0) from duplicates), "
        "'outbox', (select count(*) from outbox), "
        "'clock', (select json_build_object('mode', mode, 'now', to_char(now, " ISO
        ")) from engine_clock), "
        "'engines', coalesce((select json_agg(json_build_object('owner', owner, 'failing', "
        "failing, 'commit_failures', commit_failures, 'isolated', isolated, 'last_failure', "
        "last_failure, 'last_failure_at', to_char(last_failure_at, " ISO "), 'updated_at', "
        "to_char(updated_at, " ISO ")) order by owner) from engine_status), '[]'::json), "
        "'offsets', coalesce((select json_agg(json_build_object('partition', partition, "
        "'next_offset', next_offset, 'generation', generation, 'owner', owner) order by "
        "partition) from consumer_offsets where group_id = $1 and topic = $2), '[]'::json))",
        4, p, "statistics", &rc, err, errsz);
}

/* ---- documents ------------------------------------------------------------------------------ */

/* The case's documents in one list: each done documents task's result.documents, in order. */
#define DOCUMENTS                                                                                \
    "select d.doc, t.task_id, t.result ->> 'made_at' made_at, (row_number() over (order by "     \
    "t.created_at, t.task_id, d.n) - 1)::int idx from cases c join tasks t on t.case_no = "      \
    "c.case_no cross join lateral jsonb_array_elements(case when jsonb_typeof(t.result -> "      \
    "'documents') = 'array' then t.result -> 'documents' else '[]' end) with ordinality d(doc, " \
    "n) "                                                                                        \
    "where c.case_no = $1 and " REACH " and t.kind = 'documents' and t.status = 'done' and "     \
    "jsonb_typeof(d.doc) = 'object'"

json_t *cf_case_documents(PGconn *db, const char *case_no, const char *reach, int *rc, char *err,
                          size_t errsz)
{
    const char *p[2] = {case_no, reach};
    return one_json(db,
                    "select case when exists (select 1 from cases c where c.case_no = $1 and " REACH
                    ") then coalesce((select json_agg(json_build_object('index', x.idx, 'name', "
                    "x.doc ->> 'name', 'pages', x.doc -> 'pages', 'sha256', x.doc ->> 'sha256', "
                    "'made_at', x.made_at, 'task', x.task_id) order by x.idx) from (" DOCUMENTS
                    ") x), '[]'::json) end",
                    2, p, "case", rc, err, errsz);
}

int cf_case_document(PGconn *db, const char *case_no, const char *reach, int index,
                     cf_document *out, char *err, size_t errsz)
{
    char idx[24];
    const char *p[3] = {case_no, reach, idx};
    PGresult *res;
    int rc = 0;

    memset(out, 0, sizeof *out);
    snprintf(idx, sizeof idx, "%d", index);
    res = cf_store_exec(db,
                        "select coalesce(x.doc ->> 'name', ''), coalesce(x.doc ->> 'file', ''), "
                        "coalesce(x.doc ->> 'sha256', '') from (" DOCUMENTS
                        ") x where x.idx = $3::int",
                        3, p, err, errsz);
    if (!res)
        return CF_EDB;
    if (PQntuples(res) != 1 || !PQgetvalue(res, 0, 1)[0])
        rc = cf_errf(err, errsz, CF_ENOTFOUND, "the case has no document %d", index);
    else {
        snprintf(out->name, sizeof out->name, "%s", PQgetvalue(res, 0, 0));
        snprintf(out->path, sizeof out->path, "%s", PQgetvalue(res, 0, 1));
        snprintf(out->sha256, sizeof out->sha256, "%s", PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    return rc;
}
