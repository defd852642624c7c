/*
 * The case routes: search, one case, its tasks, timers, timeline and audit replay, and the
 * command center's counts.  Staff reach only the cases their post's tasks reach (others are
 * "not found"); parties' personal data is shown whole to staff and leads, who work the cases,
 * and masked (base/mask.h) for auditors, who check how a case was handled, not who is in it.
 */
#include <stdio.h>
#include <string.h>

#include "io/bus.h"
#include "core/maskjson.h"
#include "core/caseno.h"
#include "core/replay.h"
#include "engine/cases.h"
#include "internal.h"

/* The {case} of the path in its canonical form, so that （２０２６）豫0381执7号 finds
 * (2026)豫0381执7号 (core/caseno.h); a number that cannot be made canonical stays as it came and
 * is simply not found. */
const char *cf_req_case(cf_req *r)
{
    char canon[sizeof r->params[0]];
    if (cf_caseno_normalize(r->params[0], canon, sizeof canon) == 0)
        memcpy(r->params[0], canon, sizeof canon);
    return r->params[0];
}

static int sees_personal_data(const cf_req *r)
{
    return r->who.role == CF_ROLE_STAFF || r->who.role == CF_ROLE_LEAD;
}

/* Answers with `v` (stolen), masked for roles that must not see personal data, or with the
 * error `rc` when `v` is NULL. */
static void answer(cf_req *r, json_t *v, int rc, const char *err)
{
    if (!v) {
        cf_reply_error(r, rc ? rc : CF_ENOMEM, err);
        return;
    }
    if (!sees_personal_data(r)) {
        json_t *masked = cf_mask_json(v);
        json_decref(v);
        v = masked;
    }
    cf_reply_json(r, 200, v);
}

void cf_h_cases(cf_srv *s, cf_req *r)
{
    int bad = 0, rc = 0;
    const char *q = cf_req_query(r, "q", &bad);
    long limit = bad ? 0 : cf_req_query_int(r, "limit", 50, 1, 200, &bad);
    long offset = bad ? 0 : cf_req_query_int(r, "offset", 0, 0, 10000000, &bad);
    char err[512] = "";
    json_t *v;
    PGconn *db;

    if (bad || !(db = cf_req_db(s, r)))
        return;
    /* A name is matched only for roles that see names: for the others a hit would tell that
     * a person is a party. */
    v = cf_cases_search(db, q, sees_personal_data(r), cf_req_reach(r), cf_req_court(s, r),
                        s->cfg->courts[0].code, (int)limit, (int)offset, err, sizeof err);
    if (!v)
        rc = CF_EDB;
    answer(r, v, rc, err);
}

/* What one case route reads: the case itself, or one of its lists. */
typedef json_t *case_reader(const cf_srv *s, PGconn *db, const char *case_no, const char *reach,
                            int *rc, char *err, size_t errsz);

static json_t *read_case(const cf_srv *s, PGconn *db, const char *case_no, const char *reach,
                         int *rc, char *err, size_t errsz)
{
    return cf_case_get(db, s->reg, case_no, reach, rc, err, errsz);
}

static json_t *read_tasks(const cf_srv *s, PGconn *db, const char *case_no, const char *reach,
                          int *rc, char *err, size_t errsz)
{
    (void)s;
    return cf_case_tasks(db, case_no, reach, rc, err, errsz);
}

static json_t *read_timers(const cf_srv *s, PGconn *db, const char *case_no, const char *reach,
                           int *rc, char *err, size_t errsz)
{
    (void)s;
    return cf_case_timers(db, case_no, reach, rc, err, errsz);
}

/* Answers with what `read` finds of the path's case: as it is when `list` is NULL, else as
 * {"case": ..., list: [...]}. */
static void case_route(cf_srv *s, cf_req *r, case_reader *read, const char *list)
{
    char err[512] = "";
    int rc = 0;
    PGconn *db = cf_req_db(s, r);
    json_t *v;

    if (!db)
        return;
    v = read(s, db, cf_req_case(r), cf_req_reach(r), &rc, err, sizeof err);
    if (v && list)
        v = json_pack("{s:s, s:o}", "case", r->params[0], list, v);
    answer(r, v, rc, err);
}

void cf_h_case(cf_srv *s, cf_req *r)
{
    case_route(s, r, read_case, NULL);
}

void cf_h_case_tasks(cf_srv *s, cf_req *r)
{
    case_route(s, r, read_tasks, "tasks");
}

void cf_h_case_timers(cf_srv *s, cf_req *r)
{
    case_route(s, r, read_timers, "timers");
}

/* The timeline, and with `verify` the replay, as of the query's as_of. */
static void history(cf_srv *s, cf_req *r, int verify)
{
    char err[512] = "";
    int bad = 0, rc = 0;
    const char *as_of_text = cf_req_query(r, "as_of", &bad);
    cf_time as_of = CF_REPLAY_ALL;
    PGconn *db;
    json_t *v;

    if (bad)
        return;
    /* A date ends at midnight in the court's zone (UTC+08:00). */
    if (as_of_text &&
        cf_replay_parse_as_of(as_of_text, CF_CALTIME_DEFAULT_UTC_OFFSET, &as_of) != 0) {
        cf_reply_problem(r, 400, "bad-parameter",
                         "as_of is a date (YYYY-MM-DD) or an ISO 8601 time with its offset",
                         json_pack("{s:s}", "parameter", "as_of"));
        return;
    }
    if (!(db = cf_req_db(s, r)))
        return;
    v = cf_case_history(db, s->reg, cf_req_case(r), cf_req_reach(r), verify, as_of, &rc, err,
                        sizeof err);
    if (v && as_of_text)
        json_object_set_new(v, "as_of", json_string(as_of_text));
    answer(r, v, rc, err);
}

void cf_h_case_timeline(cf_srv *s, cf_req *r)
{
    history(s, r, 0);
}

void cf_h_case_replay(cf_srv *s, cf_req *r)
{
    history(s, r, 1);
}

void cf_h_stats(cf_srv *s, cf_req *r)
{
    char err[512] = "";
    PGconn *db = cf_req_db(s, r);
    char topic[256];
    json_t *v;

    if (!db)
        return;
    cf_bus_topic(s->cfg, "events", topic, sizeof topic);
    /* A lead's or auditor's figures are those of their court (routes.c: cf_req_court). */
    v = cf_stats(db, s->cfg->group, topic, cf_req_court(s, r), s->cfg->courts[0].code, err,
                 sizeof err);
    answer(r, v, v ? 0 : CF_EDB, err);
}
