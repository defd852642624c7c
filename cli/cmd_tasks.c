/*
 * `caseflow tasks`: the staff task queues from the command line, as a client of `caseflow serve`
 * (docs/api.md).  A member of staff lists their post's open and claimed tasks, claims one, and
 * completes or returns it; the server authenticates them, decides what they may do and names
 * them in the events it sends, as it does for every other client.  This file parses the options,
 * finds the server and the person (cli/client.c) and prints.  Nothing of a case but its number
 * and the task's title is shown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/utf8.h"
#include "client.h"
#include "commands.h"

/* How long complete and return wait for the engine by default, in seconds. */
#define DEFAULT_WAIT 10

/* Tasks asked for in one request while listing (the server gives at most 500). */
#define PAGE 500

static int usage(FILE *out, int code)
{
    fprintf(out,
            "usage: caseflow tasks list [--post POST] [--overdue] [--json]\n"
            "       caseflow tasks claim ID\n"
            "       caseflow tasks complete ID --result JSON [--wait SECONDS]\n"
            "       caseflow tasks return ID --reason TEXT [--wait SECONDS]\n"
            "  each with [--server URL] [--user NAME [--password-stdin]]\n"
            "\n"
            "The staff task queues, through the workplace API of `caseflow serve`: the server\n"
            "decides what you may do, as it does for the web workplace.\n"
            "\n"
            "  list      the open and claimed staff tasks of POST (your own post when you are\n"
            "            staff), the earliest due first: id, case number, title, status, who\n"
            "            claimed it, due date; a task past its due date by the engine's clock is\n"
            "            marked overdue (--overdue: only those).  --json prints\n"
            "            {post, now, clock, counts, tasks: [...]}.\n"
            "  claim     takes an open task: it is then yours until completed or returned.  A\n"
            "            task claimed by someone else is refused; claiming your own again does\n"
            "            nothing.\n"
            "  complete  finishes a task you claimed, or an open one (claiming it in the same\n"
            "            step), with the result JSON (an object, e.g. '{\"complete\": true}').\n"
            "            The server runs it through the workflow first (a result it would refuse\n"
            "            is not sent), sends task.completed (id <task id>:done) in your name, and\n"
            "            waits up to --wait seconds (default %d, 0: do not wait; at most the\n"
            "            server's server.wait_ms) for the engine to apply it or refuse it.\n"
            "  return    sends a task back with a reason (task.returned, id <task id>:returned),\n"
            "            under the same rules as complete.\n"
            "\n"
            "The server is --server URL, else CASEFLOW_SERVER, else the one of `caseflow login`.\n"
            "You are, in this order: --user NAME (the password is asked on the terminal, or is\n"
            "the first line of stdin with --password-stdin; the session ends with the command);\n"
            "the account of the bearer token in CASEFLOW_TOKEN; the session `caseflow login`\n"
            "kept.  Worker tasks are done by their workers and are refused.  Exit status: 0\n"
            "done, 1 refused or failed (the message names the task and why), 2 bad usage or no\n"
            "server or person configured.\n",
            DEFAULT_WAIT);
    return code;
}

/* ---- options ---------------------------------------------------------------------------- */

typedef struct options {
    const char *action, *id, *post, *result, *reason;
    int overdue, json, wait;
    cf_client_opts client;
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
                            : strcmp(a, "--result") == 0 ? &o->result
                            : strcmp(a, "--reason") == 0 ? &o->reason
                            : strcmp(a, "--server") == 0 ? &o->client.server
                            : strcmp(a, "--user") == 0   ? &o->client.user
                                                         : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout, 0);
            return 1;
        }
        if (strcmp(a, "--as") == 0) {
            fprintf(stderr,
                    "caseflow tasks %s: --as is gone: the server names who acts from their "
                    "login (--user NAME, or `caseflow login`)\n",
                    o->action);
            return 2;
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
        } else if (strcmp(a, "--password-stdin") == 0) {
            o->client.password_stdin = 1;
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

    if (list && (o->post && !*o->post))
        why = "--post needs a post";
    else if (list && (o->id || o->result || o->reason))
        why = "takes only --post, --overdue and --json";
    else if (!list && (!o->id || !*o->id))
        why = "needs the task's ID";
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
                       : "takes only ID";
    if (why) {
        fprintf(stderr, "caseflow tasks %s: %s (see caseflow tasks --help)\n", o->action, why);
        return 2;
    }
    return 0;
}

/* ---- output helpers ---------------------------------------------------------------------- */

/* Prints `s` padded with spaces to `width` columns, and a separating space. */
static void cell(const char *s, int width)
{
    int w = cf_utf8_width(s);
    fputs(s, stdout);
    for (; w < width; w++)
        putchar(' ');
    putchar(' ');
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* Says why a request was refused or failed; returns the exit code (1). */
static int refused(const char *who, const cf_reply *r)
{
    if (r->status == 0)
        fprintf(stderr, "%s: no answer from the server: %s\n", who, r->detail);
    else if (r->status == 401)
        fprintf(stderr, "%s: not logged in, or the session ended (%s): log in again\n", who,
                r->detail);
    else if (r->status == 503)
        fprintf(stderr, "%s: %s (nothing was done; try again)\n", who, r->detail);
    else
        fprintf(stderr, "%s: %s\n", who, r->detail);
    return 1;
}

/* ---- list ----------------------------------------------------------------------------- */

/* The post of the account the client acts for ("" when it has none), or NULL after saying why. */
static int my_post(cf_client *c, const char *who, char *post, size_t n)
{
    cf_reply r;
    int rc = 0;

    if (cf_client_call(c, "GET", "/api/v1/me", NULL, &r) != 200)
        rc = refused(who, &r);
    else
        snprintf(post, n, "%s", str(json_object_get(r.json, "account"), "post"));
    cf_reply_free(&r);
    return rc;
}

static int list(cf_client *c, const options *o)
{
    const char *who = "caseflow tasks list";
    char post[256], epost[800], path[1200];
    json_t *tasks = json_array(), *first = NULL, *t;
    long long total = 0;
    size_t i;
    int rc = 1;

    if (o->post) {
        snprintf(post, sizeof post, "%s", o->post);
    } else {
        if (my_post(c, who, post, sizeof post) != 0)
            goto out;
        if (!*post) {
            fprintf(stderr, "%s: needs --post POST (your role may see every post)\n", who);
            rc = 2;
            goto out;
        }
    }
    if (cf_client_escape(post, epost, sizeof epost) != 0) {
        fprintf(stderr, "%s: the post '%s' is too long\n", who, post);
        rc = 2;
        goto out;
    }
    /* Page by page until every task the filter matches is here. */
    for (long long offset = 0; !first || offset < total; offset += PAGE) {
        cf_reply r;
        snprintf(path, sizeof path, "/api/v1/posts/%s/tasks?limit=%d&offset=%lld%s", epost, PAGE,
                 offset, o->overdue ? "&overdue=true" : "");
        if (cf_client_call(c, "GET", path, NULL, &r) != 200) {
            refused(who, &r);
            cf_reply_free(&r);
            goto out;
        }
        json_array_extend(tasks, json_object_get(r.json, "tasks"));
        total = json_integer_value(json_object_get(json_object_get(r.json, "counts"), "total"));
        if (!first)
            first = json_incref(r.json);
        cf_reply_free(&r);
        if (json_array_size(tasks) >= (size_t)total)
            break;
    }
    if (o->json) {
        json_t *doc =
            json_pack("{s:s, s:O, s:O, s:O, s:O}", "post", post, "now",
                      json_object_get(first, "now"), "clock", json_object_get(first, "clock"),
                      "counts", json_object_get(first, "counts"), "tasks", tasks);
        char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
        json_decref(doc);
        if (!text) {
            fprintf(stderr, "%s: out of memory\n", who);
            goto out;
        }
        puts(text);
        free(text);
    } else {
        int wid = 2, wcase = 4, wtitle = 5, wwho = 10, w;
        size_t n = json_array_size(tasks);
        printf("post %s · engine clock %s (%s) · %zu task%s%s", post, str(first, "now"),
               str(first, "clock"), n, n == 1 ? "" : "s", o->overdue ? " overdue" : "");
        if (!o->overdue && n > 0)
            printf(", %lld overdue", (long long)json_integer_value(json_object_get(
                                         json_object_get(first, "counts"), "overdue")));
        printf("\n");
        json_array_foreach (tasks, i, t) {
            if ((w = cf_utf8_width(str(t, "id"))) > wid)
                wid = w;
            if ((w = cf_utf8_width(str(t, "case"))) > wcase)
                wcase = w;
            if ((w = cf_utf8_width(str(t, "title"))) > wtitle)
                wtitle = w;
            if ((w = cf_utf8_width(str(t, "claimed_by"))) > wwho)
                wwho = w;
        }
        if (n > 0) {
            cell("ID", wid), cell("CASE", wcase), cell("TITLE", wtitle), cell("STATUS", 7);
            cell("CLAIMED BY", wwho);
            printf("DUE\n");
        }
        json_array_foreach (tasks, i, t) {
            const char *due = str(t, "due");
            cell(str(t, "id"), wid);
            cell(str(t, "case"), wcase);
            cell(str(t, "title"), wtitle);
            cell(str(t, "status"), 7);
            cell(*str(t, "claimed_by") ? str(t, "claimed_by") : "-", wwho);
            /* "2026-03-02T17:30:00+08:00" is shown as "2026-03-02 17:30". */
            if (strlen(due) >= 16)
                printf("%.10s %.5s", due, due + 11);
            else
                printf("-");
            printf("%s\n", json_is_true(json_object_get(t, "overdue")) ? "  OVERDUE" : "");
        }
    }
    rc = 0;
out:
    json_decref(first);
    json_decref(tasks);
    return rc;
}

/* ---- claim -------------------------------------------------------------------------------- */

static int claim(cf_client *c, const options *o, const char *eid)
{
    char path[1200];
    cf_reply r;
    int rc = 0;

    snprintf(path, sizeof path, "/api/v1/tasks/%s/claim", eid);
    if (cf_client_call(c, "POST", path, NULL, &r) == 200) {
        const json_t *t = json_object_get(r.json, "task");
        if (json_is_true(json_object_get(r.json, "already")))
            printf("task %s is already claimed by %s since %s\n", o->id, str(t, "claimed_by"),
                   str(t, "claimed_since"));
        else
            printf("task %s (%s, case %s, post %s) claimed by %s\n", o->id, str(t, "title"),
                   str(t, "case"), *str(t, "post") ? str(t, "post") : "-", str(t, "claimed_by"));
    } else {
        rc = refused("caseflow tasks claim", &r);
    }
    cf_reply_free(&r);
    return rc;
}

/* ---- complete and return ------------------------------------------------------------------- */

static int finish(cf_client *c, const options *o, const char *eid)
{
    int completing = strcmp(o->action, "complete") == 0;
    const char *who = completing ? "caseflow tasks complete" : "caseflow tasks return";
    char path[1300];
    json_error_t jerr;
    json_t *result = NULL, *body = NULL;
    cf_reply r = {0};
    long status;
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
        body = json_pack("{s:O}", "result", result);
    } else {
        body = json_pack("{s:s}", "reason", o->reason);
    }
    if (!body) {
        fprintf(stderr, "%s: out of memory\n", who);
        goto out;
    }
    snprintf(path, sizeof path, "/api/v1/tasks/%s/%s?wait=%d", eid,
             completing ? "complete" : "return", o->wait);
    status = cf_client_call(c, "POST", path, body, &r);
    if (status == 200) {
        printf("task %s %s: the engine applied %s as event %lld of the case (%s -> %s)\n", o->id,
               completing ? "completed" : "returned", str(r.json, "event"),
               (long long)json_integer_value(json_object_get(r.json, "seq")),
               *str(r.json, "from") ? str(r.json, "from") : "(new)", str(r.json, "to"));
        rc = 0;
    } else if (status == 202 && o->wait == 0) {
        printf("task %s: %s sent as %s\n", o->id, completing ? "task.completed" : "task.returned",
               str(r.json, "event"));
        rc = 0;
    } else if (status == 202) {
        fprintf(stderr,
                "%s: %s is on its way but the engine has not applied it within the wait (is it "
                "running?); the task turns %s when it does\n",
                who, str(r.json, "event"), completing ? "done" : "returned");
        rc = 0;
    } else if (status == 422 && strcmp(r.type, "refused-by-engine") == 0) {
        fprintf(stderr, "%s: the engine refused %s for task %s: %s\n", who, str(r.json, "event"),
                o->id, r.detail);
    } else if (status == 422) {
        /* The workflow, run as the engine runs it, refuses the result: nothing was sent. */
        fprintf(stderr,
                "%s: the engine refused the result for task %s: %s (not sent; the task stays "
                "claimed by you)\n",
                who, o->id, r.detail);
    } else {
        refused(who, &r);
    }
out:
    cf_reply_free(&r);
    json_decref(body);
    json_decref(result);
    return rc;
}

int cf_cmd_tasks(int argc, char **argv)
{
    options o;
    char who[64], eid[600];
    cf_client *c = NULL;
    int rc = parse(argc, argv, &o), usage_error;

    if (rc)
        return rc == 1 ? 0 : rc;
    if ((rc = check_options(&o)))
        return rc;
    if (o.id && cf_client_escape(o.id, eid, sizeof eid) != 0) {
        fprintf(stderr, "caseflow tasks %s: the task ID is too long\n", o.action);
        return 2;
    }
    snprintf(who, sizeof who, "caseflow tasks %s", o.action);
    o.client.command = who;
    if (!(c = cf_client_open(&o.client, &usage_error)))
        return usage_error ? 2 : 1;
    if (strcmp(o.action, "list") == 0)
        rc = list(c, &o);
    else if (strcmp(o.action, "claim") == 0)
        rc = claim(c, &o, eid);
    else
        rc = finish(c, &o, eid);
    cf_client_close(c);
    return rc;
}
