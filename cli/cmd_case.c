/*
 * `caseflow case show CASE_NO` and `caseflow stats`: what the database knows
 * about one case, and about all of them.  Parties' personal data is masked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/bus.h"
#include "base/config.h"
#include "core/maskjson.h"
#include "io/store.h"
#include "engine/cases.h"
#include "commands.h"
#include "core/clock.h"
#include "base/path.h"
#include "session.h"

/* Runs a query that returns one JSON value in one row; NULL (reported) on failure. */
static json_t *query_json(PGconn *db, const char *sql, int n, const char *const *p, const char *who)
{
    char err[1024];
    PGresult *res = cf_store_exec(db, sql, n, p, err, sizeof err);
    json_t *v = NULL;
    if (!res) {
        fprintf(stderr, "%s: %s\n", who, err);
        return NULL;
    }
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        v = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    return v;
}

/* The service items of the case (one per party and its documents) with their outcomes, and the
 * auction's progress, from the case's activities and data. */
static void print_service_and_auction(const json_t *state)
{
    const json_t *data = json_object_get(state, "data"), *a, *r;
    const char *name;
    int heading = 0;

    json_object_foreach ((json_t *)json_object_get(state, "activities"), name, a) {
        if (!json_is_string(json_object_get(a, "kind")) ||
            strcmp(json_string_value(json_object_get(a, "kind")), "service") != 0)
            continue;
        if (!heading++)
            printf("service\n");
        r = json_object_get(a, "result");
        printf("  %-22s %-8s %-10s %s%s%s\n", name, json_string_value(json_object_get(a, "status")),
               json_string_value(json_object_get(r, "route"))
                   ? json_string_value(json_object_get(r, "route"))
                   : "-",
               json_string_value(json_object_get(r, "outcome"))
                   ? json_string_value(json_object_get(r, "outcome"))
                   : "",
               json_string_value(json_object_get(r, "method")) ? " " : "",
               json_string_value(json_object_get(r, "method"))
                   ? json_string_value(json_object_get(r, "method"))
                   : "");
    }
    if (json_is_true(json_object_get(data, "served_by_announcement")))
        printf("  公告送达: deemed served after the announcement period\n");
    if (json_object_get(data, "auction_round")) {
        char round[64] = "", reserve[64] = "";
        size_t n = json_dumpb(json_object_get(data, "auction_round"), round, sizeof round - 1,
                              JSON_ENCODE_ANY);
        round[n < sizeof round ? n : 0] = '\0';
        n = json_dumpb(json_object_get(data, "auction_reserve"), reserve, sizeof reserve - 1,
                       JSON_ENCODE_ANY);
        reserve[n < sizeof reserve ? n : 0] = '\0';
        printf("auction   round %s, reserve %s, outcome %s\n", round, reserve,
               json_string_value(json_object_get(data, "auction_outcome"))
                   ? json_string_value(json_object_get(data, "auction_outcome"))
                   : "pending");
    }
}

static void print_case_text(json_t *c)
{
    json_t *state = json_object_get(c, "body"), *tasks = json_object_get(c, "open_tasks"), *t;
    const char *name;
    json_t *due;
    size_t i;

    printf("case      %s\n", json_string_value(json_object_get(c, "case")));
    printf("workflow  %s version %lld\n", json_string_value(json_object_get(c, "workflow")),
           (long long)json_integer_value(json_object_get(c, "version")));
    printf("state     %s\n", json_string_value(json_object_get(c, "state")));
    printf("team      %s\n", json_string_value(json_object_get(c, "team"))
                                 ? json_string_value(json_object_get(c, "team"))
                                 : "-");
    printf("events    %lld (last applied %s)\n",
           (long long)json_integer_value(json_object_get(c, "events")),
           json_string_value(json_object_get(c, "updated_at")));
    printf("timers   ");
    json_object_foreach (json_object_get(state, "timers"), name, due) {
        printf(" %s@%s", name, json_string_value(due));
    }
    if (json_array_size(json_object_get(c, "clocks")) > 0) {
        printf("\nclocks\n");
        cf_clock_print(stdout, json_object_get(c, "clocks"), "  ");
    } else {
        printf("\n");
    }
    print_service_and_auction(state);
    printf("open tasks\n");
    json_array_foreach (tasks, i, t) {
        printf("  %-24s %-18s %-12s due %s\n", json_string_value(json_object_get(t, "task_id")),
               json_string_value(json_object_get(t, "activity")),
               json_string_value(json_object_get(t, "post"))
                   ? json_string_value(json_object_get(t, "post"))
                   : "-",
               json_string_value(json_object_get(t, "due_at"))
                   ? json_string_value(json_object_get(t, "due_at"))
                   : "-");
    }
}

/* The definition the case runs on, from the configured workflows (for the clocks' titles), or
 * NULL: the clocks are then shown without them. */
static cf_workflow *case_workflow(const cf_config *cfg, const json_t *c)
{
    const char *name = json_string_value(json_object_get(c, "workflow"));
    long long version = json_integer_value(json_object_get(c, "version"));
    for (size_t i = 0; name && i < cfg->nworkflows; i++) {
        char path[4096];
        cf_diags d;
        cf_workflow *wf;
        cf_diags_init(&d);
        wf = cf_workflow_load(cf_path_find(cfg->workflows[i], path, sizeof path), &d);
        cf_diags_free(&d);
        if (wf && strcmp(wf->name, name) == 0 && wf->version == version)
            return wf;
        cf_workflow_free(wf);
    }
    return NULL;
}

/* Adds "clocks" to the case `c`: each statutory clock as of the engine's clock `now`. */
static void add_clocks(const cf_config *cfg, json_t *c)
{
    cf_workflow *wf = case_workflow(cfg, c);
    cf_time now;
    if (cf_time_parse(json_string_value(json_object_get(c, "clock_now")), &now) == 0)
        json_object_set_new(c, "clocks", cf_clock_describe(wf, json_object_get(c, "body"), now));
    json_object_del(c, "clock_now");
    cf_workflow_free(wf);
}

int cf_cmd_case(int argc, char **argv)
{
    const char *case_no = NULL;
    char canon[256];
    int as_json = 0, rc = 1;
    cf_config cfg;
    PGconn *db;
    json_t *c;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf("usage: caseflow case show CASE_NO [--json]\n\n"
               "Shows a case's state, team, data (personal data masked), event count,\n"
               "timers, statutory clocks (running or paused, days used and left, the\n"
               "paused periods with their grounds) and open tasks, from the database named\n"
               "by CASEFLOW_PG.  CASE_NO may be written with full-width brackets and digits,\n"
               "and spaces: （2026）豫0381执７号\n"
               "is (2026)豫0381执7号.\n");
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "show") != 0) {
        fprintf(stderr, "caseflow case: unknown action '%s' (see --help)\n", argv[1]);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            as_json = 1;
        else if (!case_no && argv[i][0] != '-')
            case_no = argv[i];
        else {
            fprintf(stderr, "caseflow case show: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!case_no) {
        fprintf(stderr, "usage: caseflow case show CASE_NO [--json]\n");
        return 2;
    }
    if (!(case_no = cf_cli_case_no(case_no, canon, sizeof canon, "caseflow case show")))
        return 2;
    if (!(db = cf_cli_connect(&cfg, "caseflow case show")))
        goto out;
    c = query_json(
        db,
        "select json_build_object('case', c.case_no, 'workflow', c.workflow, "
        "'version', c.version, 'state', c.state, 'team', c.team, 'seq', c.seq, "
        "'events', (select count(*) from events e where e.case_no = c.case_no), "
        "'created_at', c.created_at, 'updated_at', c.updated_at, 'head_hash', "
        "c.head_hash, 'body', c.body, 'open_tasks', coalesce((select "
        "json_agg(json_build_object('task_id', t.task_id, 'activity', t.activity, "
        "'kind', t.kind, 'post', t.post, 'status', t.status, 'due_at', t.due_at) "
        "order by t.created_at) from tasks t where t.case_no = c.case_no and t.status "
        "in ('open', 'claimed')), '[]'::json), 'clock_now', coalesce((select case when mode = "
        "'simulated' then now end from engine_clock where id = 1), now())) from cases c "
        "where c.case_no = $1",
        1, (const char *[]){case_no}, "caseflow case show");
    if (!c) {
        fprintf(stderr, "caseflow case show: no case %s\n", case_no);
        goto out;
    }
    add_clocks(&cfg, c);
    {
        json_t *masked = cf_mask_json(c);
        json_t *data = json_object_get(json_object_get(masked, "body"), "data");
        json_object_set(masked, "data", data);
        if (as_json) {
            char *s = json_dumps(masked, JSON_INDENT(2));
            puts(s);
            free(s);
        } else {
            print_case_text(masked);
        }
        json_decref(masked);
    }
    json_decref(c);
    rc = 0;
out:
    cf_cli_disconnect(db, &cfg);
    return rc;
}

/* Lag per partition: the broker's high watermark less the offset stored in PostgreSQL. */
static json_t *lag(const cf_config *cfg, json_t *offsets)
{
    enum { MAXPART = 256 };
    char err[512], topic[160];
    const cf_bus_producer_opts po = {.client_id = "caseflow-stats"};
    rd_kafka_t *rk = cf_bus_producer_new(cfg, &po, err, sizeof err);
    long long low[MAXPART], high[MAXPART], total = 0;
    int n = 0;
    json_t *out = json_object(), *o;
    size_t i;

    cf_bus_topic(cfg, "events", topic, sizeof topic);
    if (!rk)
        return out;
    if (cf_bus_watermarks(rk, topic, low, high, MAXPART, &n, 5000, err, sizeof err) != 0)
        n = 0;
    json_array_foreach (offsets, i, o) {
        int p = (int)json_integer_value(json_object_get(o, "partition"));
        long long next = json_integer_value(json_object_get(o, "next_offset")), l;
        char key[16];
        if (p < 0 || p >= n || p >= MAXPART)
            continue;
        l = high[p] - (next >= 0 ? next : low[p]);
        snprintf(key, sizeof key, "%d", p);
        json_object_set_new(out, key, json_integer(l));
        total += l;
    }
    json_object_set_new(out, "total", json_integer(total));
    rd_kafka_destroy(rk);
    return out;
}

int cf_cmd_stats(int argc, char **argv)
{
    char events_topic[160];
    int as_json = 0, rc = 1;
    cf_config cfg;
    PGconn *db;
    json_t *s;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: caseflow stats [--json]\n\n"
                   "Cases per workflow and state, tasks per post and status, timers, dead\n"
                   "letters, duplicates dropped, the outbox and the engine's lag per partition.\n");
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0) {
            as_json = 1;
        } else {
            fprintf(stderr, "caseflow stats: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!(db = cf_cli_connect(&cfg, "caseflow stats")))
        goto out;
    cf_bus_topic(&cfg, "events", events_topic, sizeof events_topic);
    {
        char err[512];
        if (!(s = cf_stats(db, cfg.group, events_topic, NULL, NULL, err, sizeof err)))
            fprintf(stderr, "caseflow stats: %s\n", err);
    }
    if (!s)
        goto out;
    json_object_set_new(s, "lag", lag(&cfg, json_object_get(s, "offsets")));
    if (as_json) {
        char *text = json_dumps(s, JSON_INDENT(2));
        puts(text);
        free(text);
    } else {
        const char *w, *st;
        json_t *states, *n;
        printf("cases\n");
        json_object_foreach (json_object_get(s, "cases"), w, states) {
            json_object_foreach (states, st, n) {
                printf("  %-20s %-20s %lld\n", w, st, (long long)json_integer_value(n));
            }
        }
        printf("events %lld, timers %lld, dead letters %lld, duplicates %lld, outbox %lld, lag "
               "%lld\n",
               (long long)json_integer_value(json_object_get(s, "events")),
               (long long)json_integer_value(json_object_get(s, "timers")),
               (long long)json_integer_value(json_object_get(s, "dead_letters")),
               (long long)json_integer_value(json_object_get(s, "duplicates")),
               (long long)json_integer_value(json_object_get(s, "outbox")),
               (long long)json_integer_value(json_object_get(json_object_get(s, "lag"), "total")));
        {
            size_t i;
            json_t *en;
            json_array_foreach (json_object_get(s, "engines"), i, en) {
                long long failing = json_integer_value(json_object_get(en, "failing"));
                printf("engine %s: %s, %lld commits failed, %lld events refused by the database"
                       "%s%s\n",
                       json_string_value(json_object_get(en, "owner")),
                       failing ? "FAILING" : "committing",
                       (long long)json_integer_value(json_object_get(en, "commit_failures")),
                       (long long)json_integer_value(json_object_get(en, "isolated")),
                       json_is_string(json_object_get(en, "last_failure")) ? "; last failure: "
                                                                           : "",
                       json_is_string(json_object_get(en, "last_failure"))
                           ? json_string_value(json_object_get(en, "last_failure"))
                           : "");
            }
        }
    }
    json_decref(s);
    rc = 0;
out:
    cf_cli_disconnect(db, &cfg);
    return rc;
}
