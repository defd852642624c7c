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
#include "base/utf8.h"
#include "core/maskjson.h"
#include "io/store.h"
#include "commands.h"
#include "session.h"
#include "core/anchor.h"
#include "core/clock.h"
#include "core/replay.h"
#include "engine/cases.h"
#include "engine/registry.h"
#include "base/path.h"

/* How much of an event's data a text timeline line shows (the JSON output has all of it). */
enum { DATA_TEXT_MAX = 400 };

static int usage(FILE *out, int code)
{
    fprintf(out,
            "usage: caseflow replay CASE_NO [--as-of DATE] [--json]\n"
            "       caseflow replay --anchor FILE [--pub PUB] [CASE_NO]\n"
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
            "With --anchor FILE (made by `caseflow anchor write`, kept out of the database's\n"
            "reach), it checks every case of the anchor (or CASE_NO alone) instead: the stored\n"
            "event at the anchored seq must still have the anchored hash, and the chain\n"
            "recomputed from the first event must give it.  That catches a history rewritten\n"
            "with every hash recomputed, which the hash chain alone cannot.  The file's digest\n"
            "is verified first, and its signature with --pub PUB (default: anchor.pub).  It\n"
            "prints each case that does not match (with the first seq where its log breaks,\n"
            "when that can be told) and a summary: cases checked, matching, not, missing.\n"
            "\n"
            "The workflows come from the configuration (CASEFLOW_WORKFLOWS or `workflows`).\n"
            "Exit status: 0 when everything verifies, 1 when something does not (or the case\n"
            "or its workflow version cannot be found), 2 for bad usage.\n");
    return code;
}

/* Reads the case's events in seq order into `l`; returns 0 or 1 after saying why. */
static int read_log(PGconn *db, const char *case_no, cf_case_log *l)
{
    char err[1024];
    if (cf_case_log_read(db, case_no, l, err, sizeof err) != 0) {
        fprintf(stderr, "caseflow replay: reading the event log: %s\n", err);
        return 1;
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
    loaded = paths && cf_registry_load(reg, paths, cfg->nworkflows, err, sizeof err) == 0 &&
             cf_registry_courts(reg, cfg, err, sizeof err) == 0;
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
        len = cf_utf8_whole(text, max);
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
    } else if (strcmp(kind, "clock") == 0) {
        /* "clock handling start: running, last day 2026-09-03T23:59:00+08:00, ground ..." */
        printf("~ clock %s %s: %s", s_or(json_object_get(a, "name"), "?"),
               s_or(json_object_get(a, "op"), "?"), s_or(json_object_get(a, "status"), "?"));
        if (json_string_value(json_object_get(a, "last_day")))
            printf(", last day %s", json_string_value(json_object_get(a, "last_day")));
        if (json_object_get(a, "ground")) {
            printf(", ground ");
            print_compact(json_object_get(a, "ground"), 200);
        }
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

/* ---- against an anchor ----------------------------------------------------------------------- */

/* Anchored cases looked up together, and rows fetched at a time: FETCH_SQL says the latter. */
enum { BATCH_CASES = 256, FETCH_ROWS = 1000 };
static const char FETCH_SQL[] = "fetch 1000 from replay_rows";

/*
 * The stored events of a batch of anchored cases up to each one's anchored seq, in the batch's
 * order ($1 case numbers, $2 seqs): each case is one range of the primary key, and neither the
 * events after the anchored ones nor the cases filed since are read.
 */
static const char BATCH_SQL[] =
    "declare replay_rows no scroll cursor for select a.ord, " CF_CASE_LOG_COLUMNS
    " from unnest($1::text[], $2::bigint[]) with ordinality as a(case_no, upto, ord) "
    "join events e on e.case_no = a.case_no and e.seq <= a.upto order by a.ord, e.seq";

/* A batch of anchor entries, copied out of the reader. */
typedef struct anchor_batch {
    char *case_no[BATCH_CASES];
    long long seq[BATCH_CASES];
    char hash[BATCH_CASES][65];
    size_t n;
} anchor_batch;

static void batch_clear(anchor_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->case_no[i]);
    b->n = 0;
}

/* The rows of a batch, read through a cursor one fetch at a time. */
typedef struct row_stream {
    PGconn *db;
    PGresult *res;
    int i, n, end;
    char err[1024];
} row_stream;

/* Returns 1 when the stream has a current row (res, i), 0 at its end, -1 on an error (in err). */
static int rs_peek(row_stream *s)
{
    if (s->res && s->i < s->n)
        return 1;
    if (s->end)
        return 0;
    PQclear(s->res);
    s->res = cf_store_exec(s->db, FETCH_SQL, 0, NULL, s->err, sizeof s->err);
    if (!s->res)
        return -1;
    s->i = 0;
    s->n = PQntuples(s->res);
    s->end = s->n < FETCH_ROWS;
    return s->n > 0;
}

/* Checks entry `k` of the batch against its rows (those whose ord is k + 1); returns its verdict
 * (CF_REPLAY_ANCHOR_*, the line in `text`) or -1 after an error (in s->err). */
static int check_case(row_stream *s, const anchor_batch *b, size_t k, char *text, size_t n)
{
    cf_replay_anchor a;
    long long first;
    int more;

    cf_replay_anchor_begin(&a, b->case_no[k], b->seq[k], b->hash[k]);
    while ((more = rs_peek(s)) == 1 &&
           strtoull(PQgetvalue(s->res, s->i, 0), NULL, 10) == (unsigned long long)k + 1) {
        cf_replay_row row;
        json_t *owned[2];
        int rc;
        cf_case_log_fill(s->res, s->i, 1, &row, owned);
        rc = cf_replay_anchor_take(&a, &row);
        json_decref(owned[0]);
        json_decref(owned[1]);
        if (rc != 0) {
            snprintf(s->err, sizeof s->err, "out of memory");
            return -1;
        }
        s->i++;
    }
    if (more < 0)
        return -1;
    return cf_replay_anchor_end(&a, &first, text, n);
}

/* What replay_anchor counts and prints as it goes. */
typedef struct anchor_tally {
    long long checked, counts[3];
    int reported, all; /* lines printed; 1 to print matching cases too */
} anchor_tally;

/* Checks a batch of anchored cases in the open snapshot of `s->db`; returns 0 or -1 after
 * saying why. */
static int check_batch(row_stream *s, anchor_batch *b, anchor_tally *t)
{
    char text[1024], err[1024];
    cf_sqlarr cases, seqs;
    const char *p[2];
    PGresult *res;
    int rc = -1;

    cf_sqlarr_init(&cases);
    cf_sqlarr_init(&seqs);
    for (size_t k = 0; k < b->n; k++) {
        cf_sqlarr_add(&cases, b->case_no[k]);
        cf_sqlarr_addf(&seqs, "%lld", b->seq[k]);
    }
    if (cases.failed || seqs.failed) {
        fprintf(stderr, "caseflow replay: out of memory\n");
        goto out;
    }
    p[0] = cf_sqlarr_text(&cases);
    p[1] = cf_sqlarr_text(&seqs);
    if (!(res = cf_store_exec(s->db, BATCH_SQL, 2, p, err, sizeof err))) {
        fprintf(stderr, "caseflow replay: reading the event log: %s\n", err);
        goto out;
    }
    PQclear(res);
    s->res = NULL;
    s->i = s->n = s->end = 0;
    for (size_t k = 0; k < b->n; k++) {
        int verdict = check_case(s, b, k, text, sizeof text);
        if (verdict < 0) {
            fprintf(stderr, "caseflow replay: reading the event log: %s\n", s->err);
            goto out;
        }
        t->checked++;
        t->counts[verdict]++;
        if (verdict != CF_REPLAY_ANCHOR_MATCH || t->all)
            printf("%s%s: %s\n", t->reported++ ? "" : "\n", b->case_no[k], text);
    }
    PQclear(s->res);
    s->res = NULL;
    if (!(res = cf_store_exec(s->db, "close replay_rows", 0, NULL, err, sizeof err))) {
        fprintf(stderr, "caseflow replay: reading the event log: %s\n", err);
        goto out;
    }
    PQclear(res);
    rc = 0;
out:
    cf_sqlarr_free(&cases);
    cf_sqlarr_free(&seqs);
    batch_clear(b);
    return rc;
}

/* Verifies the anchor file's digest, and its signature when `pub` is set; prints what it is. */
static int verify_file(const char *path, const cf_anchor_key *pub)
{
    char err[2048];
    cf_anchor_reader *r = cf_anchor_open(path, err, sizeof err);
    const cf_anchor_head *h;

    if (!r || cf_anchor_verify(r, pub, err, sizeof err) != 0) {
        fprintf(stderr,
                "caseflow replay: %s\ncaseflow replay: the anchor %s does NOT verify: "
                "nothing was checked against it\n",
                err, path);
        cf_anchor_close(r);
        return 1;
    }
    h = cf_anchor_head_of(r);
    printf("anchor %s: %lld case%s as of %s, made %s\n  digest     ok\n", path, h->cases,
           h->cases == 1 ? "" : "s", h->as_of_time == CF_ANCHOR_ALL ? "its making" : h->as_of,
           h->made);
    if (pub)
        printf("  signature  ok: key %s\n", h->key_id);
    else if (h->is_signed)
        printf("  signature  not checked: give the public key of %s (--pub or anchor.pub)\n",
               h->key_id);
    else
        printf("  signature  none: the file is not signed\n");
    cf_anchor_close(r);
    return 0;
}

/*
 * `caseflow replay --anchor FILE [CASE_NO]`: every case of the anchor (or the one named) against
 * its stored log.  The file is verified first; then it is read again, a batch of cases at a
 * time, and each batch's events are read through a cursor, so that neither the file nor the
 * log is held in memory.
 */
static int replay_anchor(const char *path, const char *pub_path, const char *only)
{
    char err[2048];
    cf_config cfg;
    cf_anchor_key *pub = NULL;
    cf_anchor_reader *r = NULL;
    cf_anchor_entry e;
    row_stream s;
    anchor_batch *b = calloc(1, sizeof *b);
    anchor_tally t = {.all = only != NULL};
    PGresult *res = NULL;
    int rc = 1, next, in_tx = 0;

    memset(&cfg, 0, sizeof cfg);
    memset(&s, 0, sizeof s);
    if (!b) {
        fprintf(stderr, "caseflow replay: out of memory\n");
        return 1;
    }
    if (!(s.db = cf_cli_connect(&cfg, "caseflow replay")))
        goto out;
    if (!pub_path && cfg.anchor_pub && *cfg.anchor_pub)
        pub_path = cfg.anchor_pub;
    if (pub_path && !(pub = cf_anchor_key_load(pub_path, err, sizeof err))) {
        fprintf(stderr, "caseflow replay: %s\n", err);
        goto out;
    }
    if (verify_file(path, pub) != 0)
        goto out;
    if (!(r = cf_anchor_open(path, err, sizeof err))) {
        fprintf(stderr, "caseflow replay: %s\n", err);
        goto out;
    }
    /* One snapshot of the log, whatever the engine commits meanwhile. */
    res = cf_store_exec(s.db, "begin isolation level repeatable read, read only", 0, NULL, err,
                        sizeof err);
    if (!res) {
        fprintf(stderr, "caseflow replay: %s\n", err);
        goto out;
    }
    in_tx = 1;
    PQclear(res);
    while ((next = cf_anchor_next(r, &e, err, sizeof err)) == 1) {
        if (only && strcmp(e.case_no, only) != 0)
            continue;
        if (!(b->case_no[b->n] = strdup(e.case_no))) {
            fprintf(stderr, "caseflow replay: out of memory\n");
            goto out;
        }
        b->seq[b->n] = e.seq;
        memcpy(b->hash[b->n], e.hash, sizeof b->hash[0]);
        if (++b->n == BATCH_CASES && check_batch(&s, b, &t) != 0)
            goto out;
    }
    if (next < 0) {
        /* The file changed since it was verified. */
        fprintf(stderr, "caseflow replay: %s\n", err);
        goto out;
    }
    if (b->n > 0 && check_batch(&s, b, &t) != 0)
        goto out;
    if (only && t.checked == 0) {
        fprintf(stderr, "caseflow replay: case %s is not in the anchor %s\n", only, path);
        goto out;
    }
    printf("\nchecked %lld case%s against the anchor: %lld match, %lld do%s not match, %lld "
           "missing\n",
           t.checked, t.checked == 1 ? "" : "s", t.counts[CF_REPLAY_ANCHOR_MATCH],
           t.counts[CF_REPLAY_ANCHOR_DIFFERS], t.counts[CF_REPLAY_ANCHOR_DIFFERS] == 1 ? "es" : "",
           t.counts[CF_REPLAY_ANCHOR_MISSING]);
    if (t.counts[CF_REPLAY_ANCHOR_DIFFERS] + t.counts[CF_REPLAY_ANCHOR_MISSING] > 0) {
        long long bad = t.counts[CF_REPLAY_ANCHOR_DIFFERS] + t.counts[CF_REPLAY_ANCHOR_MISSING];
        fprintf(stderr,
                "caseflow replay: %lld case%s do%s NOT match the anchor %s: %s history was "
                "changed after it was made\n",
                bad, bad == 1 ? "" : "s", bad == 1 ? "es" : "", path, bad == 1 ? "its" : "their");
        goto out;
    }
    if (only)
        printf("verified: %s still has the history the anchor %s recorded\n", only, path);
    else
        printf("verified: every case of the anchor %s still has the history it recorded\n", path);
    rc = 0;
out:
    if (in_tx)
        PQclear(PQexec(s.db, "rollback"));
    PQclear(s.res);
    batch_clear(b);
    free(b);
    cf_anchor_close(r);
    cf_anchor_key_free(pub);
    if (s.db)
        PQfinish(s.db);
    cf_config_free(&cfg);
    return rc;
}

/* ---- the command ---------------------------------------------------------------------------- */

int cf_cmd_replay(int argc, char **argv)
{
    const char *case_no = NULL, *as_of_text = NULL, *anchor = NULL, *pub = NULL, *p[1];
    char err[1024], canon[256];
    int as_json = 0, rc = 1, offset;
    cf_time as_of = CF_REPLAY_ALL;
    cf_config cfg;
    cf_registry reg;
    const cf_workflow *wf = NULL;
    PGconn *db = NULL;
    PGresult *cres = NULL;
    json_t *cbody = NULL, *timeline = NULL, *state = NULL, *doc = NULL, *clocks = NULL;
    cf_case_log log;
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
        } else if (strcmp(argv[i], "--anchor") == 0 && i + 1 < argc) {
            anchor = argv[++i];
        } else if (strcmp(argv[i], "--pub") == 0 && i + 1 < argc) {
            pub = argv[++i];
        } else if (argv[i][0] != '-' && !case_no) {
            case_no = argv[i];
        } else {
            fprintf(stderr, "caseflow replay: unexpected argument '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (anchor && (as_of_text || as_json)) {
        fprintf(stderr, "caseflow replay: --anchor checks the moment the anchor records: it "
                        "takes neither --as-of nor --json\n");
        return 2;
    }
    if (pub && !anchor) {
        fprintf(stderr, "caseflow replay: --pub checks the signature of an --anchor file\n");
        return 2;
    }
    if (anchor)
        return replay_anchor(anchor, pub, case_no);
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
    wf = cf_registry_for_case(&reg, wf, case_no, cbody);
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
    /* The clocks as the replayed state holds them, counted to the as-of time or to the last
     * event replayed: what the audit sees does not depend on when it runs. */
    clocks = cf_clock_describe(wf, r.state,
                               as_of_text ? as_of
                               : shown    ? log.rows[shown - 1].applied_at
                                          : 0);
    if (as_json) {
        char *text;
        doc = json_pack("{s:s, s:s, s:i, s:s?, s:I, s:O, s:{s:s, s:s, s:s, s:b}, s:O}", "case",
                        case_no, "workflow", wf->name, "version", wf->version, "as_of", as_of_text,
                        "events", (json_int_t)log.n, "timeline", timeline, "verification", "chain",
                        r.chain, "replay", r.replay, "final_state", r.final_text, "ok", rc == 0,
                        "state", state);
        json_object_set(doc, "clocks", clocks ? clocks : json_null());
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
        if (json_array_size(clocks) > 0) {
            printf("  clocks\n");
            cf_clock_print(stdout, clocks, "    ");
        }
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
    json_decref(clocks);
    json_decref(state);
    json_decref(timeline);
    json_decref(cbody);
    cf_replay_clear(&r);
    cf_case_log_free(&log);
    cf_registry_free(&reg);
    PQclear(cres);
    cf_cli_disconnect(db, &cfg);
    return rc;
}
