/*
 * `caseflow replay CASE_NO`: the audit view of one case.  Reads the case's event log and its
 * row from PostgreSQL, prints the timeline (when, what, who, from which state to which, what was
 * created), and verifies with core/replay that the hash chain is intact and that the workflow
 * version the case was filed under, run again over the log, gives exactly the stored state.
 * Parties' personal data is masked in everything printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/mask.h"
#include "base/store.h"
#include "commands.h"
#include "session.h"
#include "core/replay.h"
#include "engine/registry.h"
#include "paths.h"

/* How much of an event's data a text timeline line shows (the JSON output has all of it). */
enum { DATA_TEXT_MAX = 400 };

static int usage(FILE *out, int code)
{
    fprintf(out,
            "usage: caseflow replay CASE_NO [--as-of DATE] [--json]\n"
            "\n"
            "Prints the case's timeline from its event log: for each event when it happened and\n"
            "when the engine applied it, its type, who sent it (a system, worker:<kind> or\n"
            "staff:<post>:<name>), the state before and after, and what it created (tasks with\n"
            "their posts and due dates, timers, assignments, notices, fields set).  Then it\n"
            "verifies the case:\n"
            "  hash chain   every stored event gives its stored hash, each links to the one\n"
            "               before, and the last one is the case's head hash;\n"
            "  replay       the events run again, in order, through the workflow version the\n"
            "               case was filed under (with now = the time each was applied) give\n"
            "               the stored states and actions, event by event;\n"
            "  final state  and at the end exactly the stored state of the case.\n"
            "A break names the first event where the log and the replay part.\n"
            "CASE_NO may be written with full-width brackets and digits, and spaces:\n"
            "（2026）豫0381执７号 is (2026)豫0381执7号.\n"
            "\n"
            "  --as-of DATE  stop at the last event applied at or before DATE (YYYY-MM-DD: the\n"
            "                end of that day in the court's zone; or an ISO 8601 time with\n"
            "                offset) and show the state the case was in then\n"
            "  --json        one JSON object: {case, workflow, version, as_of, events,\n"
            "                timeline, verification: {chain, replay, final_state, ok}, state}\n"
            "\n"
            "The workflows come from the configuration (CASEFLOW_WORKFLOWS or `workflows`).\n"
            "Exit status: 0 when everything verifies, 1 when something does not (or the case\n"
            "or its workflow version cannot be found), 2 for bad usage.\n");
    return code;
}

/* The rows of the case's log and the JSON values they own. */
typedef struct log_rows {
    PGresult *res;
    cf_replay_row *rows;
    json_t **owned; /* 2 per row: body, actions */
    size_t n;
} log_rows;

static void log_free(log_rows *l)
{
    for (size_t i = 0; l->owned && i < 2 * l->n; i++)
        json_decref(l->owned[i]);
    free(l->owned);
    free(l->rows);
    PQclear(l->res);
    memset(l, 0, sizeof *l);
}

/* Reads the case's events in seq order into `l`; returns 0 or 1 after saying why. */
static int read_log(PGconn *db, const char *case_no, log_rows *l)
{
    char err[1024];
    const char *p[1] = {case_no};

    memset(l, 0, sizeof *l);
    /* Instants travel as milliseconds: the engine's clock counts them, and PostgreSQL's own
     * text form of a timestamptz is not what the engine wrote. */
    l->res = cf_store_exec(db,
                           "select seq, event_id, type, source, (extract(epoch from event_time) * "
                           "1000)::bigint, (extract(epoch from applied_at) * 1000)::bigint, "
                           "body::text, state_before, state_after, actions::text, prev_hash, "
                           "hash from events where case_no = $1 order by seq",
                           1, p, err, sizeof err);
    if (!l->res) {
        fprintf(stderr, "caseflow replay: reading the event log: %s\n", err);
        return 1;
    }
    l->n = (size_t)PQntuples(l->res);
    l->rows = calloc(l->n + 1, sizeof *l->rows);
    l->owned = calloc(2 * l->n + 1, sizeof *l->owned);
    if (!l->rows || !l->owned) {
        fprintf(stderr, "caseflow replay: out of memory for %zu events\n", l->n);
        return 1;
    }
    for (size_t i = 0; i < l->n; i++) {
        cf_replay_row *r = &l->rows[i];
        int k = (int)i;
        r->seq = strtoll(PQgetvalue(l->res, k, 0), NULL, 10);
        r->event_id = PQgetvalue(l->res, k, 1);
        r->type = PQgetvalue(l->res, k, 2);
        r->source = PQgetvalue(l->res, k, 3);
        r->event_time = strtoll(PQgetvalue(l->res, k, 4), NULL, 10);
        r->applied_at = strtoll(PQgetvalue(l->res, k, 5), NULL, 10);
        l->owned[2 * i] = json_loads(PQgetvalue(l->res, k, 6), 0, NULL);
        l->owned[2 * i + 1] = json_loads(PQgetvalue(l->res, k, 9), 0, NULL);
        r->body = l->owned[2 * i];
        r->body_text = PQgetvalue(l->res, k, 6);
        r->body_len = (size_t)PQgetlength(l->res, k, 6);
        r->state_before = PQgetvalue(l->res, k, 7);
        r->state_after = PQgetvalue(l->res, k, 8);
        r->actions = l->owned[2 * i + 1];
        r->prev_hash = PQgetvalue(l->res, k, 10);
        r->hash = PQgetvalue(l->res, k, 11);
    }
    return 0;
}

/* Loads the configured workflows and finds `name` at `version`; returns 0 or 1 after saying
 * why. */
static int find_workflow(const cf_config *cfg, cf_registry *reg, const char *case_no,
                         const char *name, int version, const cf_workflow **wf)
{
    char err[2048];
    char **paths = calloc(cfg->nworkflows + 1, sizeof *paths);
    int rc = 1, loaded;

    memset(reg, 0, sizeof *reg);
    for (size_t i = 0; paths && i < cfg->nworkflows; i++) {
        char buf[4096];
        paths[i] = strdup(cf_path_find(cfg->workflows[i], buf, sizeof buf));
    }
    loaded = paths && cf_registry_load(reg, paths, cfg->nworkflows, err, sizeof err) == 0;
    if (!loaded) {
        fprintf(stderr, "caseflow replay: loading the workflows: %s\n",
                paths ? err : "out of memory");
    } else if (!(*wf = cf_registry_find(reg, name, version))) {
        fprintf(stderr,
                "caseflow replay: case %s was filed under workflow %s version %d, which is not "
                "among the configured workflows (",
                case_no, name, version);
        for (size_t i = 0; i < reg->n; i++)
            fprintf(stderr, "%s%s v%d", i ? ", " : "", reg->wf[i]->name, reg->wf[i]->version);
        fprintf(stderr, "): add its file to CASEFLOW_WORKFLOWS to replay it\n");
    } else {
        rc = 0;
    }
    for (size_t i = 0; paths && i < cfg->nworkflows; i++)
        free(paths[i]);
    free(paths);
    return rc;
}

/* ---- text output ---------------------------------------------------------------------------- */

static const char *s_or(const json_t *v, const char *dflt)
{
    return json_string_value(v) ? json_string_value(v) : dflt;
}

/* Prints `v` compactly, cut at `max` bytes on a character boundary. */
static void print_compact(const json_t *v, size_t max)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t len;

    if (!text)
        return;
    len = strlen(text);
    if (len > max) {
        len = max;
        while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
            len--;
        printf("%.*s...", (int)len, text);
    } else {
        fputs(text, stdout);
    }
    free(text);
}

/* One line for a stored action (already masked): what it created, cancelled or changed. */
static void print_action(const json_t *a)
{
    const char *kind = s_or(json_object_get(a, "kind"), "?");

    printf("      ");
    if (strcmp(kind, "task") == 0) {
        printf("+ task %s (%s %s) for %s, due %s", s_or(json_object_get(a, "activity"), "?"),
               json_is_true(json_object_get(a, "worker")) ? "worker" : "staff",
               s_or(json_object_get(a, "task"), "?"), s_or(json_object_get(a, "post"), "-"),
               s_or(json_object_get(a, "due"), "-"));
        if (json_string_value(json_object_get(a, "id")))
            printf(" [%s]", json_string_value(json_object_get(a, "id")));
    } else if (strcmp(kind, "task.cancel") == 0) {
        printf("- task %s cancelled", s_or(json_object_get(a, "activity"), "?"));
    } else if (strcmp(kind, "timer") == 0) {
        printf("+ timer %s at %s", s_or(json_object_get(a, "name"), "?"),
               s_or(json_object_get(a, "at"), "?"));
    } else if (strcmp(kind, "timer.cancel") == 0) {
        printf("- timer %s cancelled", s_or(json_object_get(a, "name"), "?"));
    } else if (strcmp(kind, "set") == 0) {
        printf("= %s: ", s_or(json_object_get(a, "field"), "?"));
        print_compact(json_object_get(a, "value"), 200);
    } else if (strcmp(kind, "merge") == 0) {
        printf("= merged ");
        print_compact(json_object_get(a, "fields"), 200);
    } else if (strcmp(kind, "assign") == 0) {
        printf("> assigned to %s", s_or(json_object_get(a, "post"), "-"));
    } else if (strcmp(kind, "notify") == 0) {
        printf("! notice to %s: %s", s_or(json_object_get(a, "post"), "-"),
               s_or(json_object_get(a, "message"), ""));
    } else {
        printf("%s ", kind);
        print_compact(a, 200);
    }
    printf("\n");
}

static void print_entry(const json_t *e)
{
    const char *from = s_or(json_object_get(e, "from"), "");
    size_t i;
    const json_t *a;

    printf("#%lld  %s  %s  by %s\n", (long long)json_integer_value(json_object_get(e, "seq")),
           s_or(json_object_get(e, "time"), "?"), s_or(json_object_get(e, "type"), "?"),
           s_or(json_object_get(e, "source"), "?"));
    printf("      applied %s · id %s · %s -> %s\n", s_or(json_object_get(e, "applied_at"), "?"),
           s_or(json_object_get(e, "id"), "?"), *from ? from : "(new)",
           s_or(json_object_get(e, "to"), "?"));
    if (json_object_size(json_object_get(e, "data")) > 0) {
        printf("      data ");
        print_compact(json_object_get(e, "data"), DATA_TEXT_MAX);
        printf("\n");
    }
    json_array_foreach (json_object_get(e, "actions"), i, a) {
        print_action(a);
    }
}

/* The state the replay ended in (masked): name, open tasks, timers, data. */
static void print_state(const json_t *st, const char *as_of)
{
    const char *name;
    const json_t *a, *due;
    int any = 0;

    if (!st) {
        printf("state: none%s%s (the case did not exist yet)\n", as_of ? " as of " : "",
               as_of ? as_of : "");
        return;
    }
    printf("state: %s after event %lld%s%s (updated %s)\n", s_or(json_object_get(st, "state"), "?"),
           (long long)json_integer_value(json_object_get(st, "seq")), as_of ? ", as of " : "",
           as_of ? as_of : "", s_or(json_object_get(st, "updated_at"), "?"));
    printf("  open tasks:");
    json_object_foreach ((json_t *)json_object_get(st, "activities"), name, a) {
        if (strcmp(s_or(json_object_get(a, "status"), ""), "open") != 0)
            continue;
        printf("%s %s (%s, due %s)", any++ ? "," : "", name, s_or(json_object_get(a, "post"), "-"),
               s_or(json_object_get(a, "due"), "-"));
    }
    printf("%s\n  timers:", any ? "" : " none");
    any = 0;
    json_object_foreach ((json_t *)json_object_get(st, "timers"), name, due) {
        printf("%s %s at %s", any++ ? "," : "", name, s_or(due, "?"));
    }
    printf("%s\n  data ", any ? "" : " none");
    print_compact(json_object_get(st, "data"), 4 * DATA_TEXT_MAX);
    printf("\n");
}

/* ---- the command ---------------------------------------------------------------------------- */

int cf_cmd_replay(int argc, char **argv)
{
    const char *case_no = NULL, *as_of_text = NULL, *p[1];
    char err[1024], canon[256];
    int as_json = 0, rc = 1, offset;
    cf_time as_of = CF_REPLAY_ALL;
    cf_config cfg;
    cf_registry reg;
    const cf_workflow *wf = NULL;
    PGconn *db = NULL;
    PGresult *cres = NULL;
    json_t *cbody = NULL, *timeline = NULL, *state = NULL, *doc = NULL;
    log_rows log;
    cf_replay_case c;
    cf_replay r;
    size_t shown = 0;

    memset(&cfg, 0, sizeof cfg);
    memset(&reg, 0, sizeof reg);
    memset(&log, 0, sizeof log);
    memset(&r, 0, sizeof r);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return usage(stdout, 0);
        if (strcmp(argv[i], "--json") == 0) {
            as_json = 1;
        } else if (strcmp(argv[i], "--as-of") == 0 && i + 1 < argc) {
            as_of_text = argv[++i];
        } else if (argv[i][0] != '-' && !case_no) {
            case_no = argv[i];
        } else {
            fprintf(stderr, "caseflow replay: unexpected argument '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (!case_no)
        return usage(stderr, 2);
    if (!(case_no = cf_cli_case_no(case_no, canon, sizeof canon, "caseflow replay")))
        return 2;
    if (as_of_text &&
        cf_replay_parse_as_of(as_of_text, CF_CALTIME_DEFAULT_UTC_OFFSET, &as_of) != 0) {
        char why[128] = "";
        cf_time t;
        if (cf_time_parse_err(as_of_text, &t, why, sizeof why) == 0)
            why[0] = '\0';
        fprintf(stderr,
                "caseflow replay: --as-of '%s' is neither a date (YYYY-MM-DD) nor an ISO 8601 "
                "time with an offset (2026-03-02T17:00:00+08:00)%s%s\n",
                as_of_text, why[0] ? ": " : "", why);
        return 2;
    }

    if (!(db = cf_cli_connect(&cfg, "caseflow replay")))
        goto out;
    p[0] = case_no;
    cres = cf_store_exec(db,
                         "select workflow, version, body::text, head_hash from cases where "
                         "case_no = $1",
                         1, p, err, sizeof err);
    if (!cres) {
        fprintf(stderr, "caseflow replay: %s\n", err);
        goto out;
    }
    if (PQntuples(cres) == 0) {
        fprintf(stderr, "caseflow replay: there is no case %s\n", case_no);
        goto out;
    }
    if (find_workflow(&cfg, &reg, case_no, PQgetvalue(cres, 0, 0), atoi(PQgetvalue(cres, 0, 1)),
                      &wf) != 0)
        goto out;
    offset = cf_calendar_utc_offset(wf->calendar);
    /* A date ends at midnight in the court's zone, which the workflow's calendar names. */
    if (as_of_text && cf_replay_parse_as_of(as_of_text, offset, &as_of) != 0)
        goto out;
    if (read_log(db, case_no, &log) != 0)
        goto out;
    cbody = json_loads(PQgetvalue(cres, 0, 2), 0, NULL);
    c.case_no = case_no;
    c.workflow = wf->name;
    c.version = wf->version;
    c.body = cbody;
    c.head_hash = PQgetvalue(cres, 0, 3);
    rc = cf_replay_verify(wf, &c, log.rows, log.n, as_of, &r);
    if (rc == CF_ENOMEM) {
        fprintf(stderr, "caseflow replay: out of memory\n");
        rc = 1;
        goto out;
    }
    timeline = json_array();
    while (shown < log.n && log.rows[shown].applied_at <= as_of)
        json_array_append_new(timeline, cf_replay_entry(&log.rows[shown++], offset));
    state = r.state ? cf_mask_json(r.state) : json_null();
    if (as_json) {
        char *text;
        doc = json_pack("{s:s, s:s, s:i, s:s?, s:I, s:O, s:{s:s, s:s, s:s, s:b}, s:O}", "case",
                        case_no, "workflow", wf->name, "version", wf->version, "as_of", as_of_text,
                        "events", (json_int_t)log.n, "timeline", timeline, "verification", "chain",
                        r.chain, "replay", r.replay, "final_state", r.final_text, "ok", rc == 0,
                        "state", state);
        text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
        if (!text) {
            fprintf(stderr, "caseflow replay: out of memory writing the JSON output\n");
            rc = 1;
            goto out;
        }
        puts(text);
        free(text);
    } else {
        size_t i;
        const json_t *e;
        printf("case %s · workflow %s version %d · %zu event%s", case_no, wf->name, wf->version,
               log.n, log.n == 1 ? "" : "s");
        if (as_of_text)
            printf(" · as of %s: %zu", as_of_text, shown);
        printf("\n\n");
        json_array_foreach (timeline, i, e) {
            print_entry(e);
        }
        printf("\nverification\n  hash chain   %s\n  replay       %s\n  final state  %s\n\n",
               r.chain, r.replay, r.final_text);
        print_state(r.state ? state : NULL, as_of_text);
    }
    if (rc == 0) {
        if (!as_json && r.final == 1)
            printf("\nverified: the log of %s is intact and replays to its stored state\n",
                   case_no);
        else if (!as_json)
            printf("\nverified: the log of %s is intact, and replayed as of %s it gives the "
                   "states and actions it recorded\n",
                   case_no, as_of_text);
    } else {
        fprintf(stderr,
                "caseflow replay: case %s does NOT verify: hash chain %s; replay %s; final "
                "state %s\n",
                case_no, r.chain, r.replay, r.final_text);
        rc = 1;
    }
out:
    json_decref(doc);
    json_decref(state);
    json_decref(timeline);
    json_decref(cbody);
    cf_replay_clear(&r);
    log_free(&log);
    cf_registry_free(&reg);
    PQclear(cres);
    if (db)
        PQfinish(db);
    cf_config_free(&cfg);
    return rc;
}
