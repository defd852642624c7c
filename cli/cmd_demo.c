/*
 * `caseflow demo`: drives a running stack (engine on a simulated clock, the
 * workers, `caseflow serve`) through months of a command center's work in
 * minutes.  It feeds a generated month of filings day by day, moves the engine's
 * clock through each day, plays the staff of every post (scripted decisions,
 * below), waits until the engine and the workers are idle, and goes on to the
 * next day.
 *
 * The staff work as staff do: each post's clerk is an account of the workplace
 * API (made here with a generated password), logs in to `caseflow serve`, lists
 * the post's queue, reads the cases it needs and completes tasks there; the
 * server claims, checks and attributes each one.  Decisions (closing a case,
 * confirming a payout) go through the server too, made by the clerk of the
 * post that makes them.  The rest of the world (the filing system's feed, the
 * clock) goes to Kafka as before, and the pacing reads the database.
 *
 * The scripted staff are the demo's, not the court's: each decision is a
 * plausible one, drawn deterministically from the case number, and each case's
 * tasks of the day are worked in the order they were made (several cases at
 * once, a case always in the same lane), so that a demo run ends the same every
 * time.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "io/bus.h"
#include "base/backoff.h"
#include "base/config.h"
#include "base/log.h"
#include "io/store.h"
#include "client.h"
#include "commands.h"
#include "core/caseno.h"
#include "core/caltime.h"
#include "sim/feedgen.h"
#include "base/path.h"
#include "engine/accounts.h"
#include "engine/registry.h"
#include "session.h"

/* A post's clerk: an account of the workplace API and its session.  One account per post: the
 * president's post never approves as the handler who asked (the workflow refuses an approval by
 * the requester's own account). */
/*
 * The day's work goes in LANES streams at once, a case always in the same one and in the order its
 * tasks were made, so that waiting for Kafka's acknowledgement of one completion does not hold up
 * every other case's; each clerk has a session per lane.
 */
enum { LANES = 4 };

typedef struct clerk {
    char post[128], name[160], password[40];
    cf_client *api[LANES];
} clerk;

typedef struct demo {
    cf_config cfg;
    PGconn *db;
    rd_kafka_t *producer;
    cf_calendar *cal;
    char events_topic[160];
    json_t *feed; /* the generated events, in time order */
    size_t next;  /* the first event not yet sent */
    long sent, decisions;
    int offset;
    unsigned long long seed;
    int idle_timeouts;
    clerk *clerks; /* one per post of the workflows */
    size_t nclerks;
    _Atomic long refused;     /* requests the server refused (said on stderr) */
    _Atomic long gone;        /* tasks done or cancelled between the day's list and their turn */
    _Atomic long clerks_done; /* staff tasks the clerks completed */
    long unconfirmable;       /* payouts finance was not offered to confirm (case archived) */
} demo;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* A number from 0 to 99 that is the same for the same case and purpose in every run. */
static int draw(const demo *d, const char *case_no, const char *what)
{
    unsigned long long h = 1469598103934665603ULL ^ d->seed;
    for (const char *p = case_no; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    for (const char *p = what; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h ^= h >> 29;
    return (int)(h % 100);
}

static int send_event(demo *d, json_t *ev /* stolen */)
{
    char *s = json_dumps(ev, JSON_COMPACT), err[512];
    const char *key = json_string_value(json_object_get(ev, "case"));
    int rc = s ? cf_bus_produce(d->producer, d->events_topic, key ? key : "clock",
                                json_string_value(json_object_get(ev, "id")), s, strlen(s), NULL,
                                10000, err, sizeof err)
               : cf_errf(err, sizeof err, CF_ENOMEM, "out of memory");

    free(s);
    json_decref(ev);
    if (rc != 0) {
        fprintf(stderr, "caseflow demo: %s\n", err);
        return -1;
    }
    return 0;
}

static void time_text(const demo *d, cf_time t, char *buf, size_t n)
{
    cf_time_format(t, d->offset, buf, n);
}

static void clock_to(demo *d, cf_time t)
{
    char when[64], id[96];
    time_text(d, t, when, sizeof when);
    snprintf(id, sizeof id, "demo-clock-%lld", (long long)t);
    send_event(d, json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "id", id, "type", "clock.advance",
                            "case", "-", "time", when, "source", "demo", "data", "to", when));
}

static long long count(demo *d, const char *sql, int n, const char *const *p)
{
    char err[512];
    PGresult *res = cf_store_exec(d->db, sql, n, p, err, sizeof err);
    long long v = -1;
    if (res && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    if (!res)
        fprintf(stderr, "caseflow demo: %s\n", err);
    PQclear(res);
    return v;
}

/* Events on the topic that the engine has not committed yet, over all partitions. */
static long long engine_lag(demo *d)
{
    enum { MAXPART = 256 };
    long long low[MAXPART], high[MAXPART], next[MAXPART], lag = 0;
    char err[512];
    int n = 0;
    PGresult *res;
    const char *p[2] = {d->cfg.group, d->events_topic};

    if (cf_bus_watermarks(d->producer, d->events_topic, low, high, MAXPART, &n, 5000, err,
                          sizeof err) != 0)
        return -1;
    res = cf_store_exec(d->db,
                        "select partition, next_offset from consumer_offsets where group_id = $1 "
                        "and topic = $2",
                        2, p, err, sizeof err);
    for (int i = 0; i < n && i < MAXPART; i++)
        next[i] = 0;
    for (int r = 0; res && r < PQntuples(res); r++) {
        long part = strtol(PQgetvalue(res, r, 0), NULL, 10);
        if (part >= 0 && part < n && part < MAXPART)
            next[part] = strtoll(PQgetvalue(res, r, 1), NULL, 10);
    }
    for (int i = 0; i < n && i < MAXPART; i++)
        lag += high[i] - (next[i] < low[i] ? low[i] : next[i]);
    PQclear(res);
    return lag;
}

/* Waits until the engine has applied everything sent, the outbox is empty and no worker task
 * is in flight; gives up after `seconds` (a worker in long retries) and says so. */
static void wait_idle(demo *d, int seconds)
{
    int quiet = 0;
    rd_kafka_flush(d->producer, 30000);
    for (int i = 0; i < seconds * 20 && !interrupted; i++) {
        long long lag = engine_lag(d);
        long long outbox = count(d, "select count(*) from outbox", 0, NULL);
        long long busy = count(d,
                               "select count(*) from tasks where worker and status = 'open' and "
                               "dispatched_at is not null",
                               0, NULL);
        if (lag == 0 && outbox == 0 && busy == 0) {
            /* Twice in a row: a result may be on its way between the checks. */
            if (++quiet >= 2)
                return;
        } else {
            quiet = 0;
        }
        cf_sleep_ms(50);
    }
    d->idle_timeouts++;
}

/* ---- the scripted staff ---- */

static const char *const teams[] = {"team_1", "team_2", "team_3", "team_4", "team_5", "team_6"};

/* The result a person of the task's post would give; NULL to leave the task for now. */
static json_t *decide(demo *d, const char *kind, const char *case_no, json_t *data,
                      const char *state, double days_open)
{
    (void)state;
    if (strcmp(kind, "intake_check") == 0) {
        /* The filing data is complete when every respondent has an address to serve. */
        size_t i;
        json_t *p;
        json_array_foreach (json_object_get(data, "respondents"), i, p) {
            if (!json_object_get(p, "address"))
                return json_pack("{s:b, s:s}", "complete", 0, "problems", "被执行人送达地址缺失");
        }
        return json_pack("{s:b}", "complete", 1);
    }
    /* The filing reviewer finds the generated cases enforceable, with their parties right. */
    if (strcmp(kind, "filing_review") == 0)
        return json_pack("{s:b, s:b}", "enforceable", 1, "parties_ok", 1);
    if (strcmp(kind, "handler_decision") == 0)
        return json_pack("{s:s}", "post", teams[draw(d, case_no, "handler") % 6]);
    if (strcmp(kind, "execution_plan") == 0) {
        long long amount = json_integer_value(json_object_get(data, "amount"));
        if (amount > 300000 && draw(d, case_no, "auction") < 40 &&
            !json_object_get(data, "auction_asset_kind"))
            return json_pack("{s:b, s:s, s:s, s:[{s:s, s:s}]}", "auction", 1, "price_method",
                             draw(d, case_no, "price") < 70 ? "网络询价" : "委托评估", "asset_kind",
                             "real_estate", "assets", "kind", "real_estate", "note",
                             "查封房产一处");
        return json_pack("{s:[s]}", "measures",
                         draw(d, case_no, "measure") < 50 ? "冻结存款" : "查询无财产");
    }
    /* The handler asks for an extension in most cases; the president approves most requests. */
    if (strcmp(kind, "extension_request") == 0)
        return json_pack("{s:b, s:s}", "request", draw(d, case_no, "extension") < 80, "reason",
                         "财产尚待处置");
    if (strcmp(kind, "extension_approval") == 0)
        return json_pack("{s:b, s:s}", "approved", draw(d, case_no, "approval") < 90, "basis",
                         "案情复杂，经院长批准");
    /* After two rounds without a bid the applicant takes the property in payment in half the
     * cases; a third goes to 变卖 and the rest are released. */
    if (strcmp(kind, "auction_disposal") == 0) {
        int r = draw(d, case_no, "disposal");
        return json_pack("{s:s}", "disposal", r < 50 ? "in_payment" : r < 80 ? "sell" : "release");
    }
    if (strcmp(kind, "notices_manual") == 0)
        return json_pack("{s:[s,s]}", "documents", "执行通知书", "风险告知书");
    if (strcmp(kind, "preservation_measures") == 0)
        return json_pack("{s:[s]}", "measures", "冻结银行存款");
    if (strcmp(kind, "applicant_interview") == 0)
        return json_pack("{s:s}", "opinion", "同意终结本次执行程序");
    /* The payment clerk takes the payments worker's best candidate, as a person checking it
     * would most times; without one, the judgment the remark names (a new case is filed). */
    if (strcmp(kind, "match_payment") == 0) {
        const char *best = json_string_value(
            json_object_get(json_array_get(json_object_get(data, "candidates"), 0), "case_no"));
        if (best && !json_is_string(json_object_get(data, "error")) &&
            draw(d, case_no, "candidate") < 90)
            return json_pack("{s:b, s:s}", "matched", 1, "apply_to", best);
        if (draw(d, case_no, "match") < 10)
            return json_pack("{s:b}", "matched", 0);
        return json_pack("{s:b, s:s}", "matched", 1, "case_no", "(2025)豫0381民初1号");
    }
    /* The whole balance to the account recorded on the case; none recorded: left for now. */
    if (strcmp(kind, "payout") == 0) {
        const json_t *balance = json_object_get(data, "balance");
        if (!json_is_string(json_object_get(data, "account")) || !json_is_number(balance) ||
            json_number_value(balance) <= 0)
            return NULL;
        return json_pack("{s:O, s:O, s:O}", "amount", balance, "payee",
                         json_object_get(data, "payee"), "account",
                         json_object_get(data, "account"));
    }
    if (strcmp(kind, "file_case") == 0) {
        char no[64];
        snprintf(no, sizeof no, "(2026)豫0381执%d号",
                 90000 + draw(d, case_no, "file") * 100 + draw(d, case_no, "file2"));
        return json_pack("{s:s}", "case_no", no);
    }
    /* The other staff tasks (reminders, payouts, reviews, incidents) are done when seen;
     * a correction follow-up waits for the filing office's correction. */
    if (strcmp(kind, "correction_follow_up") == 0 && days_open < 3)
        return NULL;
    return json_object();
}

/* ---- the clerks ---- */

/* A password of 24 characters from the kernel's randomness. */
static int new_password(char out[40])
{
    static const char alphabet[] =
        "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_"; /* no 0/O, 1/l/I */
    unsigned char b[24];

    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        return -1;
    for (size_t i = 0; i < sizeof b; i++)
        out[i] = alphabet[b[i] % (sizeof alphabet - 1)];
    out[sizeof b] = '\0';
    return 0;
}

/* Makes (or gives a new password to) account `name`; returns 0 or -1 after saying why. */
static int make_account(demo *d, const char *name, cf_role role, const char *post,
                        const char *password)
{
    char err[512];
    int rc = cf_account_add(d->db, name, role, post, NULL, password, err, sizeof err);

    if (rc == CF_EDUP)
        rc = cf_account_passwd(d->db, name, password, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "caseflow demo: account %s: %s\n", name, err);
    return rc ? -1 : 0;
}

/*
 * One clerk for each post the workflows declare, a lead and an auditor, with new passwords,
 * written to `accounts` (readable by its owner only) when not NULL; the clerks log in to
 * `server`.  Returns 0 or -1 after saying why.
 */
static int hire_staff(demo *d, const char *server, const char *accounts)
{
    cf_registry reg;
    char err[1024], lead_pw[40], auditor_pw[40];
    FILE *f = NULL;
    int rc = -1, wname = (int)strlen("account"), wpost = (int)strlen("post");

    if (cf_cli_workflows(&d->cfg, &reg, "caseflow demo") != 0)
        return -1;
    for (size_t w = 0; w < reg.n; w++)
        for (size_t p = 0; p < reg.wf[w]->nposts; p++) {
            const char *post = reg.wf[w]->posts[p].id;
            int seen = 0;
            clerk *more;
            for (size_t k = 0; k < d->nclerks; k++)
                seen |= strcmp(d->clerks[k].post, post) == 0;
            if (seen)
                continue;
            if (!(more = realloc(d->clerks, (d->nclerks + 1) * sizeof *more)))
                goto out;
            d->clerks = more;
            memset(&d->clerks[d->nclerks], 0, sizeof *more);
            snprintf(d->clerks[d->nclerks].post, sizeof more->post, "%s", post);
            snprintf(d->clerks[d->nclerks].name, sizeof more->name, "clerk-%s", post);
            d->nclerks++;
        }
    /* The columns as wide as their longest entry ("clerk-terminate_handler"). */
    for (size_t k = 0; k < d->nclerks; k++) {
        if ((int)strlen(d->clerks[k].name) > wname)
            wname = (int)strlen(d->clerks[k].name);
        if ((int)strlen(d->clerks[k].post) > wpost)
            wpost = (int)strlen(d->clerks[k].post);
    }
    if (accounts) {
        int fd = open(accounts, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || !(f = fdopen(fd, "w"))) {
            fprintf(stderr, "caseflow demo: %s: %s\n", accounts, strerror(errno));
            if (fd >= 0)
                close(fd);
            goto out;
        }
        fprintf(f, "# the demo's accounts on %s, passwords made for this run\n", server);
        fprintf(f, "# %-*s %-8s %-*s %s\n", wname, "account", "role", wpost, "post", "password");
    }
    for (size_t k = 0; k < d->nclerks; k++) {
        clerk *c = &d->clerks[k];
        if (new_password(c->password) != 0 ||
            make_account(d, c->name, CF_ROLE_STAFF, c->post, c->password) != 0)
            goto out;
        if (f)
            fprintf(f, "  %-*s %-8s %-*s %s\n", wname, c->name, "staff", wpost, c->post,
                    c->password);
    }
    if (new_password(lead_pw) != 0 || new_password(auditor_pw) != 0 ||
        make_account(d, "lead", CF_ROLE_LEAD, NULL, lead_pw) != 0 ||
        make_account(d, "auditor", CF_ROLE_AUDITOR, NULL, auditor_pw) != 0)
        goto out;
    if (f) {
        fprintf(f, "  %-*s %-8s %-*s %s\n", wname, "lead", "lead", wpost, "-", lead_pw);
        fprintf(f, "  %-*s %-8s %-*s %s\n", wname, "auditor", "auditor", wpost, "-", auditor_pw);
    }
    for (size_t k = 0; k < d->nclerks; k++)
        for (int l = 0; l < LANES; l++) {
            clerk *c = &d->clerks[k];
            if (!(c->api[l] = cf_client_new(server, err, sizeof err)) ||
                cf_client_login(c->api[l], c->name, c->password, err, sizeof err) != 0) {
                fprintf(stderr, "caseflow demo: %s logging in to %s: %s\n", c->name, server, err);
                goto out;
            }
        }
    rc = 0;
out:
    if (f && fclose(f) != 0) {
        fprintf(stderr, "caseflow demo: %s: %s\n", accounts, strerror(errno));
        rc = -1;
    }
    explicit_bzero(lead_pw, sizeof lead_pw);
    explicit_bzero(auditor_pw, sizeof auditor_pw);
    cf_registry_free(&reg);
    return rc;
}

static void dismiss_staff(demo *d)
{
    for (size_t k = 0; k < d->nclerks; k++) {
        for (int l = 0; l < LANES; l++)
            if (d->clerks[k].api[l]) {
                cf_client_logout(d->clerks[k].api[l]);
                cf_client_free(d->clerks[k].api[l]);
            }
        explicit_bzero(d->clerks[k].password, sizeof d->clerks[k].password);
    }
    free(d->clerks);
    d->clerks = NULL;
    d->nclerks = 0;
}

/* ---- the scripted staff's day ---- */

/* A task on a clerk's queue that is due to be worked today. */
typedef struct todo {
    json_t *task; /* borrowed from the day's lists */
    clerk *by;
    cf_time created;
} todo;

static int by_creation(const void *a, const void *b)
{
    const todo *x = a, *y = b;
    if (x->created != y->created)
        return x->created < y->created ? -1 : 1;
    return strcmp(json_string_value(json_object_get(x->task, "id")),
                  json_string_value(json_object_get(y->task, "id")));
}

/* Says why the server refused a clerk's request (the first few times; the rest are counted). */
static void refused(demo *d, const clerk *c, const char *what, const cf_reply *r)
{
    if (++d->refused <= 20)
        fprintf(stderr, "caseflow demo: %s %s: %ld %s\n", c->name, what, r->status, r->detail);
}

/* Lists clerk `c`'s queue page by page into `lists` (each page's answer appended). */
static void list_queue(demo *d, clerk *c, json_t *lists)
{
    char post[400], path[600];
    long long total = -1, seen = 0;

    if (cf_client_escape(c->post, post, sizeof post) != 0)
        return;
    while (total < 0 || seen < total) {
        cf_reply r;
        snprintf(path, sizeof path, "/api/v1/posts/%s/tasks?limit=500&offset=%lld", post, seen);
        if (cf_client_call(c->api[0], "GET", path, NULL, &r) != 200) {
            refused(d, c, "listing the queue", &r);
            cf_reply_free(&r);
            return;
        }
        total = json_integer_value(json_object_get(json_object_get(r.json, "counts"), "total"));
        seen += (long long)json_array_size(json_object_get(r.json, "tasks"));
        json_array_append(lists, r.json);
        if (json_array_size(json_object_get(r.json, "tasks")) == 0)
            total = seen;
        cf_reply_free(&r);
    }
}

/* The case's data and state as the clerk sees them (new references), or -1. */
static int read_case(demo *d, clerk *c, cf_client *api, const char *case_no, json_t **data,
                     char *state, size_t n)
{
    char no[400], path[500];
    cf_reply r;
    int rc = -1;

    *data = NULL;
    if (cf_client_escape(case_no, no, sizeof no) != 0)
        return -1;
    snprintf(path, sizeof path, "/api/v1/cases/%s", no);
    if (cf_client_call(api, "GET", path, NULL, &r) == 200) {
        *data = json_incref(json_object_get(r.json, "data"));
        snprintf(state, n, "%s", json_string_value(json_object_get(r.json, "state")));
        rc = 0;
    } else {
        refused(d, c, "reading the case", &r);
    }
    cf_reply_free(&r);
    return rc;
}

/* The params of task `id` as its form shows them to the clerk (a new reference), or -1. */
static int read_params(demo *d, clerk *c, cf_client *api, const char *id, json_t **params)
{
    char esc[400], path[500];
    cf_reply r;
    int rc = -1;

    *params = NULL;
    if (!id || cf_client_escape(id, esc, sizeof esc) != 0)
        return -1;
    snprintf(path, sizeof path, "/api/v1/tasks/%s/form", esc);
    if (cf_client_call(api, "GET", path, NULL, &r) == 200) {
        *params = json_incref(json_object_get(r.json, "params"));
        rc = 0;
    } else {
        refused(d, c, "reading the task's form", &r);
    }
    cf_reply_free(&r);
    return rc;
}

/* One lane of the day's work: the tasks of the cases whose number falls to it, in order. */
typedef struct lane {
    demo *d;
    const todo *work;
    size_t n;
    int index;
    cf_time now;
} lane;

static int lane_of(const char *case_no)
{
    unsigned h = 2166136261u;
    for (const char *p = case_no; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return (int)(h % LANES);
}

static void *work_lane(void *arg)
{
    lane *ln = arg;
    demo *d = ln->d;

    for (size_t i = 0; i < ln->n && !interrupted; i++) {
        const todo *w = &ln->work[i];
        const char *kind = json_string_value(json_object_get(w->task, "kind"));
        const char *case_no = json_string_value(json_object_get(w->task, "case"));
        cf_client *api = w->by->api[ln->index];
        char id[400], path[600], state[64] = "";
        json_t *data = NULL, *result, *body;
        cf_reply r;
        long status;

        if (lane_of(case_no) != ln->index)
            continue;
        /* Only these decisions read the case or what the task was given; the others are made
         * from the task alone. */
        if ((strcmp(kind, "intake_check") == 0 || strcmp(kind, "execution_plan") == 0) &&
            read_case(d, w->by, api, case_no, &data, state, sizeof state) != 0)
            continue;
        if ((strcmp(kind, "match_payment") == 0 || strcmp(kind, "payout") == 0) &&
            read_params(d, w->by, api, json_string_value(json_object_get(w->task, "id")), &data) !=
                0)
            continue;
        result = decide(d, kind, case_no, data, state,
                        (double)(ln->now - w->created) / (24.0 * 3600 * 1000));
        json_decref(data);
        if (!result)
            continue;
        if (cf_client_escape(json_string_value(json_object_get(w->task, "id")), id, sizeof id) !=
            0) {
            json_decref(result);
            continue;
        }
        body = json_pack("{s:o}", "result", result);
        /* wait=0: the answer comes once Kafka has the event; wait_idle waits for the engine. */
        snprintf(path, sizeof path, "/api/v1/tasks/%s/complete?wait=0", id);
        status = cf_client_call(api, "POST", path, body, &r);
        if (status == 200 || status == 202)
            d->clerks_done++;
        else if (status == 409 && strcmp(r.type, "not-open") == 0)
            /* An earlier completion of the day cancelled it (a reminder whose work is done):
             * the clerk works from the morning's list, as people do. */
            d->gone++;
        else
            refused(d, w->by, path, &r);
        cf_reply_free(&r);
        json_decref(body);
    }
    return NULL;
}

/* Works through the open staff tasks whose due date is near, as the posts would in a day: a task
 * due today is done today, a report due in four weeks is done shortly before then.  Each clerk
 * sees their own post's queue and completes through the server. */
static void staff_day(demo *d, cf_time now)
{
    json_t *lists = json_array(), *page, *t;
    todo *work = NULL;
    size_t n = 0, cap = 0, i, k;
    const cf_time horizon = now + 2LL * 24 * 3600 * 1000;

    for (k = 0; k < d->nclerks && !interrupted; k++) {
        size_t from = json_array_size(lists);
        list_queue(d, &d->clerks[k], lists);
        for (size_t p = from; p < json_array_size(lists); p++) {
            page = json_array_get(lists, p);
            json_array_foreach (json_object_get(page, "tasks"), i, t) {
                const char *due = json_string_value(json_object_get(t, "due"));
                cf_time created, due_at;
                if (cf_time_parse(json_string_value(json_object_get(t, "created_at")), &created) !=
                        0 ||
                    created > now)
                    continue;
                if (due && (cf_time_parse(due, &due_at) != 0 || due_at > horizon))
                    continue;
                if (n == cap) {
                    todo *more = realloc(work, (cap = cap ? cap * 2 : 256) * sizeof *more);
                    if (!more)
                        goto out;
                    work = more;
                }
                work[n++] = (todo){.task = t, .by = &d->clerks[k], .created = created};
            }
        }
    }
    /* The day's work in the order it came, whatever the post: the run is the same every time. */
    if (n > 0)
        qsort(work, n, sizeof *work, by_creation);
    {
        lane lanes[LANES];
        pthread_t th[LANES];
        int started[LANES] = {0};
        for (int l = 0; l < LANES; l++) {
            lanes[l] = (lane){.d = d, .work = work, .n = n, .index = l, .now = now};
            started[l] = pthread_create(&th[l], NULL, work_lane, &lanes[l]) == 0;
            if (!started[l])
                work_lane(&lanes[l]);
        }
        for (int l = 0; l < LANES; l++)
            if (started[l])
                pthread_join(th[l], NULL);
    }
out:
    free(work);
    json_decref(lists);
}

/* The clerk of `post`, or NULL when the workflows declare no such post. */
static clerk *clerk_of(demo *d, const char *post)
{
    for (size_t k = 0; k < d->nclerks; k++)
        if (strcmp(d->clerks[k].post, post) == 0)
            return &d->clerks[k];
    return NULL;
}

/*
 * The clerk of `post` makes decision `body` (stolen) on `case_no` through the server, as staff
 * do from the case's page: in their name, checked there, with the Idempotency-Key `key` (a
 * repeat with the same key on the same case is the same event, which is applied once).  wait=0:
 * the answer comes once Kafka has the event; wait_idle waits for the engine.
 */
static void decide_as(demo *d, const char *post, const char *case_no, const char *key, json_t *body)
{
    clerk *c = clerk_of(d, post);
    char no[400], path[500], header[200];
    cf_reply r;
    long status;

    if (!c || cf_client_escape(case_no, no, sizeof no) != 0) {
        fprintf(stderr, "caseflow demo: no clerk of %s for case %s\n", post, case_no);
        d->refused++;
        json_decref(body);
        return;
    }
    snprintf(path, sizeof path, "/api/v1/cases/%s/decisions?wait=0", no);
    snprintf(header, sizeof header, "Idempotency-Key: %s", key);
    status = cf_client_call_ex(c->api[lane_of(case_no)], "POST", path, body, header, &r);
    if (status == 200 || status == 202)
        d->decisions++;
    else
        refused(d, c, path, &r);
    cf_reply_free(&r);
    json_decref(body);
}

/* Whether the server offers the clerk of `post` decision `name` on `case_no` now, as the case's
 * page would list it. */
static int offered(demo *d, const char *post, const char *case_no, const char *name)
{
    clerk *c = clerk_of(d, post);
    char no[400], path[500];
    cf_reply r;
    size_t i;
    json_t *x;
    int yes = 0;

    if (!c || cf_client_escape(case_no, no, sizeof no) != 0)
        return 0;
    snprintf(path, sizeof path, "/api/v1/cases/%s/decisions", no);
    if (cf_client_call(c->api[lane_of(case_no)], "GET", path, NULL, &r) != 200)
        refused(d, c, path, &r);
    json_array_foreach (json_object_get(r.json, "decisions"), i, x)
        yes |= strcmp(json_string_value(json_object_get(x, "decision")), name) == 0;
    cf_reply_free(&r);
    return yes;
}

/* Handlers close cases after some weeks of execution, each with one closing method: the clerk
 * of the case's handler team (the bureau lead's when it has none) decides. */
static void decisions_day(demo *d, cf_time now)
{
    char when[64], err[512];
    const char *p[1] = {when};
    PGresult *res;

    time_text(d, now, when, sizeof when);
    res = cf_store_exec(
        d->db,
        "select c.case_no, extract(epoch from ($1::timestamptz - e.applied_at)) / 86400, "
        "extract(epoch from ($1::timestamptz - (c.body -> 'data' ->> 'filed_at')::timestamptz)) "
        "/ 86400, coalesce(c.body -> 'data' ->> 'handler_post', 'bureau_lead') from cases c "
        "join lateral (select applied_at from events where case_no = c.case_no and state_after "
        "= 'execution' order by seq limit 1) e on true where c.state = 'execution' order by "
        "c.case_no",
        1, p, err, sizeof err);
    if (!res) {
        fprintf(stderr, "caseflow demo: reading cases in execution: %s\n", err);
        return;
    }
    for (int r = 0; r < PQntuples(res) && !interrupted; r++) {
        const char *case_no = PQgetvalue(res, r, 0), *handler = PQgetvalue(res, r, 3);
        double in_execution = strtod(PQgetvalue(res, r, 1), NULL);
        double since_filing = strtod(PQgetvalue(res, r, 2), NULL);
        int x = draw(d, case_no, "close");
        const char *method;
        char key[80];
        /* No property: before 终本 the handler issues the consumption restriction order, settles
         * the 失信 question and hears the applicant (终本规定 art. 1), from day 80 (a working day
         * in the week after; a repeat is the same event, applied once). */
        if (x >= 55 && x < 90 && since_filing >= 80 && since_filing < 88) {
            decide_as(d, handler, case_no, "demo-restrict",
                      json_pack("{s:s, s:b}", "decision", "restrict_consumption", "dishonest",
                                draw(d, case_no, "dishonest") < 50));
            decide_as(d, handler, case_no, "demo-hear",
                      json_pack("{s:s}", "decision", "hear_applicant"));
            continue;
        }
        /* Paid in full after 10 to 50 days; no property: 终本 once three months have passed. */
        if (x < 55 && in_execution >= 10 + draw(d, case_no, "days") * 0.4)
            method = "执行完毕";
        else if (x >= 55 && x < 90 && since_filing > 95)
            method = "终结本次执行程序";
        else if (x >= 90 && in_execution >= 30)
            method = "终结执行";
        else
            continue;
        /* A 终本 request still missing a condition is refused by the workflow (a notice to the
         * team); the handler asks again the next day, as a new decision. */
        if (strcmp(method, "终结本次执行程序") == 0)
            snprintf(key, sizeof key, "demo-close-%d", (int)since_filing);
        else
            snprintf(key, sizeof key, "demo-close");
        decide_as(d, handler, case_no, key,
                  json_pack("{s:s, s:s}", "decision", "close", "close_method", method));
    }
    PQclear(res);
}

/* Finance confirms the payouts the payment clerk sent it the day before or earlier. */
static void finance_day(demo *d)
{
    char err[512], key[80];
    PGresult *res = cf_store_exec(d->db,
                                  "select case_no, seq from cases where (body -> 'data' ->> "
                                  "'payout_pending')::numeric > 0 order by case_no",
                                  0, NULL, err, sizeof err);

    if (!res) {
        fprintf(stderr, "caseflow demo: reading payouts for finance: %s\n", err);
        return;
    }
    for (int r = 0; r < PQntuples(res) && !interrupted; r++) {
        const char *case_no = PQgetvalue(res, r, 0);
        /* Finance confirms where its page offers it: not on a case archived meanwhile. */
        if (!offered(d, "finance", case_no, "payout_confirmed")) {
            d->unconfirmable++;
            continue;
        }
        /* One confirmation per state of the case: a repeat the next day is a new decision. */
        snprintf(key, sizeof key, "demo-finance-%s", PQgetvalue(res, r, 1));
        decide_as(d, "finance", case_no, key, json_pack("{s:s}", "decision", "payout_confirmed"));
    }
    PQclear(res);
}

/* ---- the run ---- */

static int collect(const json_t *event, void *arg)
{
    json_array_append(arg, (json_t *)event);
    return 0;
}

static void send_until(demo *d, cf_time until)
{
    while (d->next < json_array_size(d->feed)) {
        json_t *ev = json_array_get(d->feed, d->next);
        cf_time t;
        if (cf_time_parse(json_string_value(json_object_get(ev, "time")), &t) != 0 || t > until)
            break;
        send_event(d, json_incref(ev));
        d->sent++;
        d->next++;
    }
}

static void progress(demo *d, int day, int days, cf_date date)
{
    char ds[16];
    long long cases = count(d, "select count(*) from cases", 0, NULL);
    long long closed = count(d,
                             "select count(*) from cases where state in ('closed', "
                             "'archived', 'terminated_watch')",
                             0, NULL);
    long long open =
        count(d, "select count(*) from tasks where status in ('open', 'claimed')", 0, NULL);
    cf_date_format(date, ds, sizeof ds);
    fprintf(stderr, "day %3d/%d %s: %lld cases, %lld closed, %lld tasks open, %ld events sent\n",
            day, days, ds, cases, closed, open, d->sent);
}

static int usage(FILE *out, int code)
{
    fprintf(out,
            "usage: caseflow demo --server URL [--accounts FILE] [--cases N] [--days D]\n"
            "                     [--through T] [--seed S] [--start DATE]\n\n"
            "Drives a running engine (simulated clock), workers and `caseflow serve` at URL\n"
            "through T days (120): N generated cases (2000) filed over D days (30) from DATE\n"
            "(2026-03-02), the clock moved day by day, the staff of every post played by a\n"
            "script that logs in to the server as the post's clerk.  The clerks (clerk-<post>),\n"
            "a lead and an auditor are made as accounts with new passwords, written to FILE\n"
            "(readable by you only).  Needs CASEFLOW_PG, CASEFLOW_KAFKA (and the engine's\n"
            "topic prefix and group).\n");
    return code;
}

int cf_cmd_demo(int argc, char **argv)
{
    demo d;
    cf_feedgen_opts o;
    char err[1024], path[4096];
    long cases = 2000;
    int days = 30, through = 120, rc = 1;
    cf_date start;
    const char *server = NULL, *accounts = NULL;

    memset(&d, 0, sizeof d);
    d.seed = 1;
    if (cf_date_parse("2026-03-02", &start) != 0)
        return 1;
    /* Every option takes a value: they come in pairs. */
    for (int i = 1; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return usage(stdout, 0);
        if (!v)
            return usage(stderr, 2);
        if (strcmp(argv[i], "--cases") == 0)
            cases = atol(v);
        else if (strcmp(argv[i], "--days") == 0)
            days = atoi(v);
        else if (strcmp(argv[i], "--through") == 0)
            through = atoi(v);
        else if (strcmp(argv[i], "--seed") == 0)
            d.seed = strtoull(v, NULL, 10);
        else if (strcmp(argv[i], "--server") == 0)
            server = v;
        else if (strcmp(argv[i], "--accounts") == 0)
            accounts = v;
        else if (strcmp(argv[i], "--start") == 0) {
            if (cf_date_parse(v, &start) != 0) {
                fprintf(stderr, "caseflow demo: --start '%s' is not a date\n", v);
                return 2;
            }
        } else
            return usage(stderr, 2);
    }
    if (cases < 1 || days < 1 || through < days) {
        fprintf(stderr, "caseflow demo: need --cases >= 1, --days >= 1, --through >= --days\n");
        return 2;
    }
    if (!server) {
        fprintf(stderr, "caseflow demo: needs --server URL: the demo's staff work through "
                        "`caseflow serve`\n");
        return 2;
    }
    if (cf_config_load(&d.cfg, getenv("CASEFLOW_CONFIG"), err, sizeof err) != 0) {
        fprintf(stderr, "caseflow demo: %s\n", err);
        goto out;
    }
    cf_bus_topic(&d.cfg, "events", d.events_topic, sizeof d.events_topic);
    d.cal = cf_calendar_load(cf_path_find("workflows/calendars/cn.yaml", path, sizeof path), err,
                             sizeof err);
    if (!d.cal) {
        fprintf(stderr, "caseflow demo: %s\n", err);
        goto out;
    }
    d.offset = cf_calendar_utc_offset(d.cal);
    cf_store_set_timeouts(d.cfg.pg_statement_timeout_ms, d.cfg.pg_idle_tx_timeout_ms);
    if (!(d.db = cf_store_connect(d.cfg.postgres, err, sizeof err))) {
        fprintf(stderr, "caseflow demo: %s\n", err);
        goto out;
    }
    {
        const cf_bus_producer_opts po = {.client_id = "caseflow-demo"};
        if (!(d.producer = cf_bus_producer_new(&d.cfg, &po, err, sizeof err))) {
            fprintf(stderr, "caseflow demo: Kafka: %s\n", err);
            goto out;
        }
    }
    if (hire_staff(&d, server, accounts) != 0)
        goto out;
    fprintf(stderr, "demo: %zu clerks logged in to %s\n", d.nclerks, server);

    cf_feedgen_defaults(&o);
    o.cases = cases;
    o.seed = d.seed;
    o.start = start;
    o.days = days;
    o.calendar = d.cal;
    d.feed = json_array();
    if (cf_feedgen_run(&o, collect, d.feed, err, sizeof err) != 0) {
        fprintf(stderr, "caseflow demo: generating the feed: %s\n", err);
        goto out;
    }
    fprintf(stderr, "demo: %zu events for %ld cases filed over %d days, running %d days\n",
            json_array_size(d.feed), cases, days, through);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    for (int day = 0; day < through && !interrupted; day++) {
        cf_date date = start + day;
        int working = cf_calendar_is_working_day(d.cal, date);
        /* The morning: the clock moves to 08:30, the day's filings come in. */
        clock_to(&d, cf_time_at(date, 8 * 60 + 30, d.offset));
        wait_idle(&d, 30);
        send_until(&d, cf_time_at(date, 17 * 60 + 59, d.offset));
        clock_to(&d, cf_time_at(date, 12 * 60, d.offset));
        wait_idle(&d, 60);
        /* The afternoon: finance confirms payouts at 15:30, staff work through their queues at
         * 16:00 and decide at 16:30; a decision made through the server is timed by the
         * engine's clock, which is moved there first. */
        if (working) {
            clock_to(&d, cf_time_at(date, 15 * 60 + 30, d.offset));
            wait_idle(&d, 60);
            finance_day(&d);
        }
        clock_to(&d, cf_time_at(date, 16 * 60, d.offset));
        wait_idle(&d, 60);
        if (working) {
            staff_day(&d, cf_time_at(date, 16 * 60, d.offset));
            clock_to(&d, cf_time_at(date, 16 * 60 + 30, d.offset));
            wait_idle(&d, 60);
            decisions_day(&d, cf_time_at(date, 16 * 60 + 30, d.offset));
            wait_idle(&d, 60);
        }
        /* The evening: reminders and batches of the rest of the day. */
        clock_to(&d, cf_time_at(date, 23 * 60 + 30, d.offset));
        wait_idle(&d, 60);
        progress(&d, day + 1, through, date);
    }
    fprintf(stderr,
            "demo: %ld events fed, %ld staff tasks done by the script, %ld closing "
            "decisions%s\n",
            d.sent, (long)d.clerks_done, d.decisions, interrupted ? " (interrupted)" : "");
    if (d.idle_timeouts)
        fprintf(stderr, "demo: %d waits for idle timed out (a worker retrying?)\n",
                d.idle_timeouts);
    if (d.gone)
        fprintf(stderr, "demo: %ld tasks of the day's lists were cancelled before their turn\n",
                (long)d.gone);
    if (d.refused)
        fprintf(stderr, "demo: the server refused %ld of the clerks' requests\n", (long)d.refused);
    if (d.unconfirmable)
        fprintf(stderr,
                "demo: %ld times a payout waited on a case finance could no longer confirm it on "
                "(archived)\n",
                d.unconfirmable);
    rc = interrupted ? 1 : 0;
out:
    dismiss_staff(&d);
    if (d.producer) {
        rd_kafka_flush(d.producer, 10000);
        rd_kafka_destroy(d.producer);
    }
    if (d.db)
        PQfinish(d.db);
    json_decref(d.feed);
    cf_calendar_free(d.cal);
    cf_config_free(&d.cfg);
    return rc;
}
