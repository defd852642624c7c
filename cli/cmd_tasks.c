/*
 * `caseflow tasks`: the staff task queues from the command line.  A member of staff lists the
 * open and claimed tasks of a post, claims one, and completes or returns it.  What each action
 * does is engine/queue.c's (the HTTP server calls the same functions); this file parses the
 * options, names the actor (--as NAME) and prints.  Nothing of a case but its number and the
 * task's title is shown.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/config.h"
#include "base/store.h"
#include "commands.h"
#include "session.h"
#include "engine/queue.h"
#include "engine/registry.h"
#include "engine/sender.h"

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
            "            wait) for the engine to apply it or refuse it.  A result the\n"
            "            workflow would refuse in the case's current state is not sent.\n"
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

/* ---- list ----------------------------------------------------------------------------- */

static int list(PGconn *db, const cf_config *cfg, const options *o)
{
    const char *who = "caseflow tasks list";
    cf_queue_filter f = {.post = o->post, .overdue = o->overdue};
    char known[1024], err[1024];
    cf_registry reg;
    cf_task_list l;
    int rc = 1;

    memset(&l, 0, sizeof l);
    /* A post no workflow declares is a typing mistake; when the workflows cannot be loaded, no
     * one can say, and the list is shown anyway. */
    if (cf_cli_workflows(cfg, &reg, who) == 0) {
        int found = cf_cli_post_declared(&reg, o->post, known, sizeof known);
        cf_registry_free(&reg);
        if (!found) {
            fprintf(stderr, "%s: no workflow declares the post '%s' (posts: %s)\n", who, o->post,
                    known);
            return 2;
        }
    }
    if (cf_queue_list(db, &f, &l, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", who, err);
        goto out;
    }
    if (o->json) {
        json_t *tasks = json_array(), *doc;
        char *text;
        for (size_t i = 0; tasks && i < l.n; i++)
            json_array_append_new(tasks, cf_queue_task_json(&l.tasks[i]));
        doc = json_pack("{s:s, s:s, s:s, s:o}", "post", o->post, "now", l.now, "clock", l.clock,
                        "tasks", tasks);
        text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
        if (!text) {
            fprintf(stderr, "%s: out of memory\n", who);
            json_decref(doc);
            goto out;
        }
        puts(text);
        free(text);
        json_decref(doc);
    } else {
        int wid = 2, wcase = 4, wtitle = 5, wwho = 10;
        printf("post %s · engine clock %s (%s) · %zu task%s%s", o->post, l.now, l.clock, l.n,
               l.n == 1 ? "" : "s", o->overdue ? " overdue" : "");
        if (!o->overdue && l.n > 0)
            printf(", %lld overdue", l.overdue);
        printf("\n");
        for (size_t r = 0; r < l.n; r++) {
            int w;
            if ((w = display_width(l.tasks[r].id)) > wid)
                wid = w;
            if ((w = display_width(l.tasks[r].case_no)) > wcase)
                wcase = w;
            if ((w = display_width(l.tasks[r].title)) > wtitle)
                wtitle = w;
            if ((w = display_width(l.tasks[r].claimed_by)) > wwho)
                wwho = w;
        }
        if (l.n > 0) {
            cell("ID", wid), cell("CASE", wcase), cell("TITLE", wtitle), cell("STATUS", 7);
            cell("CLAIMED BY", wwho);
            printf("DUE\n");
        }
        for (size_t r = 0; r < l.n; r++) {
            const cf_task *t = &l.tasks[r];
            cell(t->id, wid);
            cell(t->case_no, wcase);
            cell(t->title, wtitle);
            cell(t->status, 7);
            cell(t->claimed_by[0] ? t->claimed_by : "-", wwho);
            /* "2026-03-02T17:30:00+08:00" is shown as "2026-03-02 17:30". */
            if (t->due[0])
                printf("%.10s %.5s", t->due, t->due + 11);
            else
                printf("-");
            printf("%s\n", t->overdue ? "  OVERDUE" : "");
        }
    }
    rc = 0;
out:
    cf_task_list_free(&l);
    return rc;
}

/* ---- claim -------------------------------------------------------------------------------- */

static int claim(PGconn *db, const options *o)
{
    cf_actor a = {.account = o->as, .post = NULL};
    char err[1024];
    cf_task t;
    int rc = cf_queue_claim(db, o->id, &a, &t, err, sizeof err);

    if (rc == 0) {
        printf("task %s (%s, case %s, post %s) claimed by %s\n", o->id, t.title, t.case_no,
               t.post[0] ? t.post : "-", o->as);
        return 0;
    }
    if (rc == CF_EDUP) {
        printf("%s\n", err);
        return 0;
    }
    fprintf(stderr, "caseflow tasks claim: %s\n", err);
    return 1;
}

/* ---- complete and return ------------------------------------------------------------------- */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/*
 * Waits up to `seconds` for the engine to apply or refuse what was sent for task `task_id`.
 * Returns the exit code and says what happened.
 */
static int await_engine(PGconn *db, const char *who, const char *task_id, const cf_queue_sent *sent,
                        const char *done_text, int seconds)
{
    char err[1024];
    cf_verdict v;

    for (int i = 0; i <= seconds * 10; i++) {
        if (cf_queue_verdict(db, sent, &v, err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s\n", who, err);
            return 1;
        }
        if (v.state == 1) {
            printf("task %s %s: the engine applied %s as event %lld of the case (%s -> %s)\n",
                   task_id, done_text, sent->event_id, v.seq, v.from[0] ? v.from : "(new)", v.to);
            return 0;
        }
        if (v.state == 0) {
            fprintf(stderr, "%s: the engine refused %s for task %s: %s\n", who, sent->event_id,
                    task_id, v.reason);
            return 1;
        }
        if (i < seconds * 10)
            sleep_ms(100);
    }
    fprintf(stderr,
            "%s: %s is on its way but the engine has not applied it within %d s (is it "
            "running?); the task turns %s when it does\n",
            who, sent->event_id, seconds,
            strcmp(done_text, "completed") == 0 ? "done" : "returned");
    return 0;
}

/* complete and return: claim (or hold) the task, produce its event, wait for the engine. */
static int finish(PGconn *db, const cf_config *cfg, const options *o)
{
    int completing = strcmp(o->action, "complete") == 0;
    const char *who = completing ? "caseflow tasks complete" : "caseflow tasks return";
    cf_actor a = {.account = o->as, .post = NULL};
    char err[1024], topic[256];
    json_error_t jerr;
    json_t *result = NULL;
    cf_registry reg;
    cf_queue_ctx ctx = {.reg = &reg, .topic = topic};
    cf_queue_sent sent;
    cf_task t;
    int rc = 1, loaded = 0;

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
    if (cf_cli_workflows(cfg, &reg, who) != 0)
        goto out;
    loaded = 1;
    snprintf(topic, sizeof topic, "%s.events", cfg->topic_prefix);
    if (!(ctx.sender = cf_sender_new(cfg, "caseflow-tasks", 15000, err, sizeof err))) {
        fprintf(stderr, "%s: %s\n", who, err);
        goto out;
    }
    rc = cf_queue_finish(db, &ctx, o->id, &a, result, o->reason, &t, &sent, err, sizeof err);
    switch (rc) {
    case 0: break;
    case CF_EINVAL:
        /* The workflow, run as the engine runs it, refuses the result: nothing was sent. */
        fprintf(stderr,
                "%s: the engine refused the result for task %s: %s (not sent; the task "
                "stays claimed by %s)\n",
                who, o->id, err, o->as);
        break;
    case CF_ESCHEMA:
        fprintf(stderr, "%s: %s (not sent; the task stays claimed by %s)\n", who, err, o->as);
        break;
    case CF_EKAFKA:
    case CF_ETIMEOUT:
        fprintf(stderr, "%s: %s\n%s: task %s stays claimed by %s; try again\n", who, err, who,
                o->id, o->as);
        break;
    default: fprintf(stderr, "%s: %s\n", who, err);
    }
    if (rc != 0) {
        rc = 1;
        goto out;
    }
    if (o->wait == 0) {
        printf("task %s: %s sent as %s to %s\n", o->id, sent.type, sent.event_id, topic);
        goto out;
    }
    rc = await_engine(db, who, o->id, &sent, completing ? "completed" : "returned", o->wait);
out:
    cf_sender_free(ctx.sender);
    if (loaded)
        cf_registry_free(&reg);
    json_decref(result);
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
