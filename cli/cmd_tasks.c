/*
 * `caseflow tasks`: the staff task queues.  A member of staff lists the open and claimed tasks
 * of a post, claims one, and completes or returns it.  Completing or returning produces the
 * task.completed or task.returned event that moves the case on; the engine marks the task done
 * or returned when it applies that event, so the tasks table never runs ahead of the case.
 *
 * A claim is one conditional UPDATE (open -> claimed by NAME), so two people never hold the same
 * task.  Completing or returning an open task claims it in the same statement.  Worker tasks
 * belong to their worker processes and are refused.  Times (due dates, overdue marks, claims,
 * event times) come from the engine's clock: the real one, or the simulated one it keeps in
 * engine_clock.  Nothing of a case but its number and the task's title is shown.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/bus.h"
#include "base/config.h"
#include "base/store.h"
#include "commands.h"
#include "session.h"
#include "core/caltime.h"
#include "core/schema.h"
#include "engine/registry.h"
#include "paths.h"

/* The engine's clock as PostgreSQL sees it: the simulated time, or the real one. */
#define CLOCK_SQL                                                                                  \
    "coalesce((select case when c.mode = 'simulated' then c.now else now() end from engine_clock " \
    "c where c.id = 1), now())"

/* How long complete and return wait for the engine by default, in seconds. */
#define DEFAULT_WAIT 10

static int usage(FILE *out, int code)
{
    fprintf(out,
            "usage: caseflow tasks list --post POST [--overdue] [--json]\n"
            "       caseflow tasks claim ID --as NAME\n"
            "       caseflow tasks complete ID --result JSON --as NAME [--wait SECONDS]\n"
            "       caseflow tasks return ID --reason TEXT --as NAME [--wait SECONDS]\n"
            "\n"
            "The staff task queues, in the database named by CASEFLOW_PG.\n"
            "\n"
            "  list      the open and claimed staff tasks of POST, the earliest due first:\n"
            "            id, case number, title, status, who claimed it, due date; a task past\n"
            "            its due date by the engine's clock is marked overdue (--overdue: only\n"
            "            those).  --json prints {post, now, clock, tasks: [...]}.\n"
            "  claim     takes an open task: it is then NAME's until completed or returned.\n"
            "            A task claimed by someone else is refused; claiming your own again\n"
            "            does nothing.\n"
            "  complete  finishes a task claimed by NAME, or an open one (claiming it in the same\n"
            "            step), with the result JSON (an object, e.g. '{\"complete\": true}'):\n"
            "            produces task.completed to <prefix>.events with the stable id\n"
            "            <task id>:done, and waits up to --wait seconds (default %d, 0: do not\n"
            "            wait) for the engine to apply it or refuse it.\n"
            "  return    sends a task back with a reason (task.returned, id <task id>:returned),\n"
            "            under the same rules as complete.\n"
            "\n"
            "NAME is one word without ':' (the event's source is staff:<post>:<NAME>).\n"
            "Worker tasks are done by their workers and are refused.  Exit status: 0 done,\n"
            "1 refused or failed (the message names the task and why), 2 bad usage.\n",
            DEFAULT_WAIT);
    return code;
}

/* ---- options ---------------------------------------------------------------------------- */

typedef struct options {
    const char *action, *id, *post, *as, *result, *reason;
    int overdue, json, wait;
} options;

/* Returns 0 and the options, or 2 for bad usage after saying why, or 1 after --help. */
static int parse(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->wait = DEFAULT_WAIT;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return argc < 2 ? (usage(stderr, 2), 2) : (usage(stdout, 0), 1);
    o->action = argv[1];
    if (strcmp(o->action, "list") != 0 && strcmp(o->action, "claim") != 0 &&
        strcmp(o->action, "complete") != 0 && strcmp(o->action, "return") != 0) {
        fprintf(stderr, "caseflow tasks: unknown action '%s' (see caseflow tasks --help)\n",
                o->action);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = strcmp(a, "--post") == 0     ? &o->post
                            : strcmp(a, "--as") == 0     ? &o->as
                            : strcmp(a, "--result") == 0 ? &o->result
                            : strcmp(a, "--reason") == 0 ? &o->reason
                                                         : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout, 0);
            return 1;
        }
        if (slot || strcmp(a, "--wait") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "caseflow tasks %s: %s needs a value\n", o->action, a);
                return 2;
            }
            if (slot) {
                *slot = argv[++i];
            } else {
                char *end;
                long w = strtol(argv[++i], &end, 10);
                if (*end || end == argv[i] || w < 0 || w > 3600) {
                    fprintf(stderr, "caseflow tasks %s: --wait takes seconds, 0 to 3600\n",
                            o->action);
                    return 2;
                }
                o->wait = (int)w;
            }
        } else if (strcmp(a, "--overdue") == 0) {
            o->overdue = 1;
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (a[0] != '-' && !o->id) {
            o->id = a;
        } else {
            fprintf(stderr, "caseflow tasks %s: unexpected argument '%s' (see --help)\n", o->action,
                    a);
            return 2;
        }
    }
    return 0;
}

/* Says what an action lacks or has too much of; returns 0 or 2 (bad usage). */
static int check_options(const options *o)
{
    int list = strcmp(o->action, "list") == 0, complete = strcmp(o->action, "complete") == 0,
        ret = strcmp(o->action, "return") == 0;
    const char *why = NULL;

    if (list && (!o->post || !*o->post))
        why = "needs --post POST";
    else if (list && (o->id || o->as || o->result || o->reason))
        why = "takes only --post, --overdue and --json";
    else if (!list && (!o->id || !*o->id))
        why = "needs the task's ID";
    else if (!list && (!o->as || !*o->as))
        why = "needs --as NAME";
    else if (!list && (o->post || o->overdue || o->json))
        why = "does not take --post, --overdue or --json";
    else if (complete && !o->result)
        why = "needs --result JSON";
    else if (ret && (!o->reason || !*o->reason))
        why = "needs --reason TEXT";
    else if ((complete && o->reason) || (ret && o->result) ||
             (strcmp(o->action, "claim") == 0 && (o->result || o->reason)))
        why = complete ? "takes --result, not --reason"
              : ret    ? "takes --reason, not --result"
                       : "takes only ID and --as NAME";
    if (!why && o->as) {
        for (const unsigned char *p = (const unsigned char *)o->as; *p && !why; p++)
            if (*p == ':' || *p <= ' ' || *p == 0x7f)
                why = "--as NAME must be one word without ':' or spaces (the event's source is "
                      "staff:<post>:<NAME>)";
        if (!why && strlen(o->as) > 100)
            why = "--as NAME is longer than 100 bytes";
    }
    if (why) {
        fprintf(stderr, "caseflow tasks %s: %s (see caseflow tasks --help)\n", o->action, why);
        return 2;
    }
    return 0;
}

/* ---- output helpers ---------------------------------------------------------------------- */

/* The columns a UTF-8 text takes on a terminal: CJK and full-width characters take two. */
static int display_width(const char *s)
{
    int w = 0;
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        unsigned cp = *p;
        int len = cp < 0x80 ? 1 : cp < 0xe0 ? 2 : cp < 0xf0 ? 3 : 4;
        for (int i = 1; i < len; i++)
            cp = (cp << 6) | (p[i] & 0x3f);
        if (len == 2)
            cp &= 0x7ff;
        else if (len == 3)
            cp &= 0xffff;
        else if (len == 4)
            cp &= 0x1fffff;
        w += (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
                     (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
                     (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
                     (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x20000 && cp <= 0x3fffd)
                 ? 2
                 : 1;
        for (int i = 0; i < len && *p; i++)
            p++;
    }
    return w;
}

/* Prints `s` padded with spaces to `width` columns, and a separating space. */
static void cell(const char *s, int width)
{
    int w = display_width(s);
    fputs(s, stdout);
    for (; w < width; w++)
        putchar(' ');
    putchar(' ');
}

/* ---- the database ------------------------------------------------------------------------ */

/* Runs `sql`; on failure says so (prefixed by `who`) and returns NULL. */
static PGresult *query(PGconn *db, const char *who, const char *sql, int n, const char *const *p)
{
    char err[1024];
    PGresult *res = cf_store_exec(db, sql, n, p, err, sizeof err);
    if (!res)
        fprintf(stderr, "%s: %s\n", who, err);
    return res;
}

static const char *col(PGresult *res, int row, int c)
{
    return PQgetisnull(res, row, c) ? NULL : PQgetvalue(res, row, c);
}

/*
 * Returns 1 when some configured workflow declares `post`, 0 when none does (and lists the
 * posts that exist in `known`), or -1 when the workflows cannot be loaded (then no one can say).
 */
static int post_declared(const cf_config *cfg, const char *post, char *known, size_t n)
{
    char err[2048];
    char **paths = calloc(cfg->nworkflows + 1, sizeof *paths);
    cf_registry reg;
    int found = -1;
    size_t used = 0;

    known[0] = '\0';
    for (size_t i = 0; paths && i < cfg->nworkflows; i++) {
        char buf[4096];
        paths[i] = strdup(cf_path_find(cfg->workflows[i], buf, sizeof buf));
    }
    if (paths && cf_registry_load(&reg, paths, cfg->nworkflows, err, sizeof err) == 0) {
        found = 0;
        for (size_t w = 0; w < reg.n; w++)
            for (size_t p = 0; p < reg.wf[w]->nposts; p++) {
                const char *id = reg.wf[w]->posts[p].id;
                if (strcmp(id, post) == 0)
                    found = 1;
                if (used < n && !strstr(known, id))
                    used += (size_t)snprintf(known + used, n - used, "%s%s", used ? ", " : "", id);
            }
        cf_registry_free(&reg);
    }
    for (size_t i = 0; paths && i < cfg->nworkflows; i++)
        free(paths[i]);
    free(paths);
    return found;
}

/* ---- list ----------------------------------------------------------------------------- */

static int list(PGconn *db, const cf_config *cfg, const options *o)
{
    const char *who = "caseflow tasks list";
    const char *p[2] = {o->post, o->overdue ? "t" : "f"};
    char known[1024];
    PGresult *res = NULL, *clock = NULL;
    json_t *tasks = json_array();
    int rc = 1, overdue = 0, n;

    if (post_declared(cfg, o->post, known, sizeof known) == 0) {
        fprintf(stderr, "%s: no workflow declares the post '%s' (posts: %s)\n", who, o->post,
                known);
        rc = 2;
        goto out;
    }
    clock = query(db, who,
                  "select to_char(" CLOCK_SQL ", 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM'), "
                  "coalesce((select mode from engine_clock where id = 1), 'real')",
                  0, NULL);
    res = query(db, who,
                "select t.task_id, t.case_no, coalesce(t.title, t.activity), t.status, "
                "t.claimed_by, to_char(t.due_at, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM'), "
                "coalesce(t.due_at < k.now, false), t.activity, t.kind, "
                "to_char(t.due_at, 'YYYY-MM-DD HH24:MI'), "
                "case when t.status = 'claimed' then to_char(t.updated_at, "
                "'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM') end "
                "from tasks t, (select " CLOCK_SQL " as now) k "
                "where t.post = $1 and t.status in ('open', 'claimed') and not t.worker "
                "and (not $2::boolean or t.due_at < k.now) "
                "order by t.due_at nulls last, t.created_at, t.case_no, t.task_id",
                2, p);
    if (!clock || !res || !tasks)
        goto out;
    n = PQntuples(res);
    for (int r = 0; r < n; r++) {
        int late = strcmp(PQgetvalue(res, r, 6), "t") == 0;
        overdue += late;
        json_array_append_new(
            tasks, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:b}", "id",
                             col(res, r, 0), "case", col(res, r, 1), "title", col(res, r, 2),
                             "activity", col(res, r, 7), "kind", col(res, r, 8), "status",
                             col(res, r, 3), "claimed_by", col(res, r, 4), "claimed_since",
                             col(res, r, 10), "due", col(res, r, 5), "overdue", late));
    }
    if (o->json) {
        json_t *doc =
            json_pack("{s:s, s:s, s:s, s:O}", "post", o->post, "now", PQgetvalue(clock, 0, 0),
                      "clock", PQgetvalue(clock, 0, 1), "tasks", tasks);
        char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
        if (text)
            puts(text);
        free(text);
        json_decref(doc);
    } else {
        int wid = 2, wcase = 4, wtitle = 5, wwho = 10;
        printf("post %s · engine clock %s (%s) · %d task%s%s", o->post, PQgetvalue(clock, 0, 0),
               PQgetvalue(clock, 0, 1), n, n == 1 ? "" : "s", o->overdue ? " overdue" : "");
        if (!o->overdue && n > 0)
            printf(", %d overdue", overdue);
        printf("\n");
        for (int r = 0; r < n; r++) {
            int w;
            if ((w = display_width(PQgetvalue(res, r, 0))) > wid)
                wid = w;
            if ((w = display_width(PQgetvalue(res, r, 1))) > wcase)
                wcase = w;
            if ((w = display_width(PQgetvalue(res, r, 2))) > wtitle)
                wtitle = w;
            if ((w = display_width(PQgetvalue(res, r, 4))) > wwho)
                wwho = w;
        }
        if (n > 0) {
            cell("ID", wid), cell("CASE", wcase), cell("TITLE", wtitle), cell("STATUS", 7);
            cell("CLAIMED BY", wwho);
            printf("DUE\n");
        }
        for (int r = 0; r < n; r++) {
            cell(PQgetvalue(res, r, 0), wid);
            cell(PQgetvalue(res, r, 1), wcase);
            cell(PQgetvalue(res, r, 2), wtitle);
            cell(PQgetvalue(res, r, 3), 7);
            cell(col(res, r, 4) ? col(res, r, 4) : "-", wwho);
            printf("%s%s\n", col(res, r, 9) ? col(res, r, 9) : "-",
                   strcmp(PQgetvalue(res, r, 6), "t") == 0 ? "  OVERDUE" : "");
        }
    }
    rc = 0;
out:
    PQclear(clock);
    PQclear(res);
    json_decref(tasks);
    return rc;
}

/* ---- refusals ----------------------------------------------------------------------------- */

/*
 * After a conditional UPDATE changed nothing: says why task `id` cannot be `verb`ed by `name`.
 * Returns the exit code: 1, or 0 when `name` already holds the claim and `ok_if_mine` is set.
 */
static int explain(PGconn *db, const char *who, const char *id, const char *name, const char *verb,
                   int ok_if_mine)
{
    const char *p[1] = {id};
    PGresult *res = query(db, who,
                          "select status, worker, claimed_by, kind, coalesce(title, activity), "
                          "case_no, to_char(updated_at, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM') "
                          "from tasks where task_id = $1",
                          1, p);
    int rc = 1;

    if (!res)
        return 1;
    if (PQntuples(res) == 0) {
        fprintf(stderr, "%s: there is no task %s\n", who, id);
    } else {
        const char *status = PQgetvalue(res, 0, 0), *holder = col(res, 0, 2);
        const char *kind = PQgetvalue(res, 0, 3), *since = PQgetvalue(res, 0, 6);
        if (strcmp(PQgetvalue(res, 0, 1), "t") == 0) {
            fprintf(stderr,
                    "%s: task %s (%s, case %s) is a worker task: the %s worker does it, staff "
                    "cannot %s it\n",
                    who, id, PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 5), kind, verb);
        } else if (strcmp(status, "claimed") == 0 && holder && strcmp(holder, name) == 0 &&
                   ok_if_mine) {
            printf("task %s is already claimed by %s since %s\n", id, name, since);
            rc = 0;
        } else if (strcmp(status, "claimed") == 0 && strcmp(verb, "claim") == 0) {
            fprintf(stderr, "%s: task %s is claimed by %s since %s\n", who, id,
                    holder ? holder : "someone", since);
        } else if (strcmp(status, "claimed") == 0) {
            fprintf(stderr, "%s: task %s is claimed by %s since %s: only %s can %s it\n", who, id,
                    holder ? holder : "someone", since, holder ? holder : "they", verb);
        } else {
            fprintf(stderr, "%s: task %s (%s, case %s) is %s since %s: there is nothing to %s\n",
                    who, id, PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 5), status, since, verb);
        }
    }
    PQclear(res);
    return rc;
}

/* ---- claim -------------------------------------------------------------------------------- */

static int claim(PGconn *db, const options *o)
{
    const char *who = "caseflow tasks claim";
    const char *p[2] = {o->id, o->as};
    PGresult *res = query(db, who,
                          "update tasks set status = 'claimed', claimed_by = $2, updated_at = "
                          "" CLOCK_SQL " where task_id = $1 and status = 'open' and not worker "
                          "returning case_no, coalesce(title, activity), post",
                          2, p);
    int rc = 1;

    if (!res)
        return 1;
    if (PQntuples(res) == 1) {
        printf("task %s (%s, case %s, post %s) claimed by %s\n", o->id, PQgetvalue(res, 0, 1),
               PQgetvalue(res, 0, 0), col(res, 0, 2) ? col(res, 0, 2) : "-", o->as);
        rc = 0;
    } else {
        rc = explain(db, who, o->id, o->as, "claim", 1);
    }
    PQclear(res);
    return rc;
}

/* ---- complete and return ------------------------------------------------------------------- */

/* Delivery reports: the first error is kept in the producer's opaque. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    rd_kafka_resp_err_t *first = opaque;
    (void)rk;
    if (m->err && *first == RD_KAFKA_RESP_ERR_NO_ERROR)
        *first = m->err;
}

/* Produces `event` to `topic` keyed by its case, with its id in the caseflow-id header, and
 * waits for the broker's acknowledgement.  Returns 0, or 1 after saying why. */
static int produce(const cf_config *cfg, const char *topic, const json_t *event, const char *who)
{
    char err[512], why[256];
    const char *id = json_string_value(json_object_get(event, "id"));
    const char *key = json_string_value(json_object_get(event, "case"));
    char *text = json_dumps(event, JSON_COMPACT);
    static const char *const pairs[] = {
        "enable.idempotence", "true",  "acks", "all", "client.id", "caseflow-tasks",
        "message.timeout.ms", "15000", NULL};
    rd_kafka_conf_t *conf = cf_bus_conf_for(cfg, pairs, err, sizeof err);
    rd_kafka_resp_err_t delivery = RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_error_t *kerr = NULL;
    rd_kafka_t *rk = NULL;
    rd_kafka_vu_t vu[5];
    int rc = 1;

    if (!text || !conf)
        goto out;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &delivery);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    if (!rk) {
        snprintf(err, sizeof err, "creating the Kafka producer: %s", why);
        goto out;
    }
    conf = NULL; /* rd_kafka_new took it over */
    /* The vector form of producev: its macros are GNU statement expressions, which clang
     * refuses under -Wpedantic. */
    memset(vu, 0, sizeof vu);
    vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[0].u.cstr = topic;
    vu[1].vtype = RD_KAFKA_VTYPE_KEY;
    vu[1].u.mem.ptr = (void *)key;
    vu[1].u.mem.size = strlen(key);
    vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[2].u.mem.ptr = text;
    vu[2].u.mem.size = strlen(text);
    vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[3].u.i = RD_KAFKA_MSG_F_COPY;
    vu[4].vtype = RD_KAFKA_VTYPE_HEADER;
    vu[4].u.header.name = "caseflow-id";
    vu[4].u.header.val = id;
    vu[4].u.header.size = (ssize_t)strlen(id);
    kerr = rd_kafka_produceva(rk, vu, 5);
    if (kerr) {
        snprintf(err, sizeof err, "%s", rd_kafka_error_string(kerr));
        goto out;
    }
    if (rd_kafka_flush(rk, 20000) != RD_KAFKA_RESP_ERR_NO_ERROR && !delivery)
        delivery = RD_KAFKA_RESP_ERR__TIMED_OUT;
    if (delivery) {
        snprintf(err, sizeof err, "%s", rd_kafka_err2str(delivery));
        goto out;
    }
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "%s: %s was not sent to %s: %s\n", who, id ? id : "the event", topic,
                text ? err : "out of memory");
    if (kerr)
        rd_kafka_error_destroy(kerr);
    if (conf)
        rd_kafka_conf_destroy(conf);
    if (rk)
        rd_kafka_destroy(rk);
    free(text);
    return rc;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/*
 * Waits up to `seconds` for the engine to apply event `event_id` (a row in events) or to refuse
 * it (a dead letter newer than `mark`).  Returns the exit code and says what happened.
 */
static int await_engine(PGconn *db, const char *who, const char *task_id, const char *event_id,
                        const char *mark, const char *done_text, int seconds)
{
    const char *p[2] = {event_id, mark};
    int rc = 0;

    for (int i = 0; i <= seconds * 10; i++) {
        PGresult *res =
            query(db, who,
                  "select 'applied', case when state_before = '' then '(new)' else state_before "
                  "end || ' -> ' || state_after, seq::text from events where event_id = $1 "
                  "union all (select 'refused', reason, null from dead_letters where event_id = "
                  "$1 and id > $2::bigint order by id desc limit 1) order by 1",
                  2, p);
        if (!res)
            return 1;
        if (PQntuples(res) > 0) {
            if (strcmp(PQgetvalue(res, 0, 0), "applied") == 0) {
                printf("task %s %s: the engine applied %s as event %s of the case (%s)\n", task_id,
                       done_text, event_id, PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 1));
            } else {
                fprintf(stderr, "%s: the engine refused %s for task %s: %s\n", who, event_id,
                        task_id, PQgetvalue(res, 0, 1));
                rc = 1;
            }
            PQclear(res);
            return rc;
        }
        PQclear(res);
        if (i < seconds * 10)
            sleep_ms(100);
    }
    if (seconds > 0)
        fprintf(stderr,
                "%s: %s is on its way but the engine has not applied it within %d s (is it "
                "running?); the task turns %s when it does\n",
                who, event_id, seconds, strcmp(done_text, "completed") == 0 ? "done" : "returned");
    return 0;
}

/* Loads the schema of event `type` from the schemas/events folder; NULL after saying why. */
static cf_schema_set *load_schemas(const char *who)
{
    char dir[4096], err[1024];
    cf_schema_set *set = cf_schema_set_new();

    if (!set) {
        fprintf(stderr, "%s: out of memory\n", who);
        return NULL;
    }
    if (cf_schema_set_load_dir(set, cf_path_find("schemas/events", dir, sizeof dir), err,
                               sizeof err) != 0) {
        fprintf(stderr, "%s: loading the event schemas: %s\n", who, err);
        cf_schema_set_free(set);
        return NULL;
    }
    return set;
}

/* complete and return: claim (or hold) the task, produce its event, wait for the engine. */
static int finish(PGconn *db, const cf_config *cfg, const options *o)
{
    int completing = strcmp(o->action, "complete") == 0;
    const char *who = completing ? "caseflow tasks complete" : "caseflow tasks return";
    const char *type = completing ? "task.completed" : "task.returned";
    const char *p[2] = {o->id, o->as};
    char err[1024], event_id[256], source[256], topic[256], mark[32] = "0", now[CF_TIME_BUFSZ];
    json_error_t jerr;
    json_t *result = NULL, *event = NULL;
    cf_schema_set *schemas = NULL;
    PGresult *res = NULL;
    int rc = 1;

    if (completing) {
        result = json_loads(o->result, JSON_REJECT_DUPLICATES, &jerr);
        if (!result || !json_is_object(result)) {
            if (!result)
                fprintf(stderr, "%s: --result is not JSON: %s (column %d)\n", who, jerr.text,
                        jerr.column);
            else
                fprintf(stderr, "%s: --result must be a JSON object, e.g. '{\"complete\": true}'\n",
                        who);
            rc = 2;
            goto out;
        }
    }
    if (!(schemas = load_schemas(who)))
        goto out;
    /* Dead letters newer than this are about what this command sends. */
    res = query(db, who, "select coalesce(max(id), 0)::text from dead_letters", 0, NULL);
    if (!res)
        goto out;
    snprintf(mark, sizeof mark, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    /* Claim it, or keep the claim NAME holds, in one statement: no one else can come between. */
    res = query(db, who,
                "update tasks set status = 'claimed', claimed_by = $2, updated_at = case when "
                "status = 'open' then " CLOCK_SQL " else updated_at end where task_id = $1 and "
                "not worker and (status = 'open' or (status = 'claimed' and claimed_by = $2)) "
                "returning case_no, activity, kind, post, "
                "(extract(epoch from " CLOCK_SQL ") * 1000)::bigint::text, "
                "(extract(timezone from " CLOCK_SQL ") / 60)::int::text",
                2, p);
    if (!res)
        goto out;
    if (PQntuples(res) == 0) {
        rc = explain(db, who, o->id, o->as, completing ? "complete" : "return", 0);
        goto out;
    }
    cf_time_format(strtoll(PQgetvalue(res, 0, 4), NULL, 10), atoi(PQgetvalue(res, 0, 5)), now,
                   sizeof now);
    snprintf(event_id, sizeof event_id, "%s:%s", o->id, completing ? "done" : "returned");
    snprintf(source, sizeof source, "staff:%s:%s", col(res, 0, 3) ? col(res, 0, 3) : "-", o->as);
    snprintf(topic, sizeof topic, "%s.events", cfg->topic_prefix);
    if (completing)
        event = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:O, s:s}}", "id", event_id,
                          "type", type, "case", PQgetvalue(res, 0, 0), "time", now, "source",
                          source, "data", "task_id", o->id, "activity", PQgetvalue(res, 0, 1),
                          "kind", PQgetvalue(res, 0, 2), "result", result, "by", o->as);
    else
        event = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}}", "id", event_id, "type",
                          type, "case", PQgetvalue(res, 0, 0), "time", now, "source", source,
                          "data", "task_id", o->id, "reason", o->reason, "by", o->as);
    if (!event) {
        fprintf(stderr, "%s: out of memory\n", who);
        goto out;
    }
    if (cf_schema_validate(cf_schema_set_get(schemas, type), event, err, sizeof err) != 0) {
        fprintf(stderr,
                "%s: the %s event for task %s breaks its schema: %s (not sent; the task "
                "stays claimed by %s)\n",
                who, type, o->id, err, o->as);
        goto out;
    }
    if (produce(cfg, topic, event, who) != 0) {
        fprintf(stderr, "%s: task %s stays claimed by %s; try again\n", who, o->id, o->as);
        goto out;
    }
    if (o->wait == 0) {
        printf("task %s: %s sent as %s to %s\n", o->id, type, event_id, topic);
        rc = 0;
        goto out;
    }
    rc = await_engine(db, who, o->id, event_id, mark, completing ? "completed" : "returned",
                      o->wait);
out:
    PQclear(res);
    json_decref(event);
    json_decref(result);
    cf_schema_set_free(schemas);
    return rc;
}

int cf_cmd_tasks(int argc, char **argv)
{
    options o;
    cf_config cfg;
    PGconn *db = NULL;
    int rc = parse(argc, argv, &o);

    if (rc)
        return rc == 1 ? 0 : rc;
    if ((rc = check_options(&o)))
        return rc;
    memset(&cfg, 0, sizeof cfg);
    rc = 1;
    if (!(db = cf_cli_connect(&cfg, "caseflow tasks")))
        goto out;
    if (strcmp(o.action, "list") == 0)
        rc = list(db, &cfg, &o);
    else if (strcmp(o.action, "claim") == 0)
        rc = claim(db, &o);
    else
        rc = finish(db, &cfg, &o);
out:
    if (db)
        PQfinish(db);
    cf_config_free(&cfg);
    return rc;
}
