/*
 * The route table and the one place where a request is authorized: each route names the roles
 * that may use it, the dispatcher authenticates the caller, refuses the other roles, and checks
 * the CSRF token of every state-changing request made with a session cookie.  What a role may see
 * inside a route (a member of staff sees their post's tasks and cases only) is the reach the
 * handlers pass to the engine library: cf_req_reach.  Where one installation serves several
 * courts, an account sees its own court's cases only: the dispatcher answers "not found" for a
 * case or task of another court, and the lists are filtered by cf_req_court.
 */
#include <stdio.h>
#include <string.h>

#include "engine/cases.h"
#include "internal.h"

#define STAFF   CF_ROLE_STAFF
#define LEAD    CF_ROLE_LEAD
#define AUDITOR CF_ROLE_AUDITOR
#define ADMIN   CF_ROLE_ADMIN
#define INGEST  CF_ROLE_INGEST
#define PEOPLE  (STAFF | LEAD | AUDITOR | ADMIN)
#define PUBLIC  0u

const cf_route cf_routes[] = {
    {"POST", "/api/v1/login", PUBLIC, cf_h_login, "log in: a session cookie and a CSRF token"},
    {"POST", "/api/v1/logout", PEOPLE, cf_h_logout, "end the session"},
    {"GET", "/api/v1/me", PEOPLE | INGEST, cf_h_me, "who is asking"},
    {"GET", "/api/v1/posts/{post}/tasks", STAFF | LEAD | AUDITOR, cf_h_post_tasks,
     "a post's open and claimed tasks, with filters, counts and pages"},
    {"GET", "/api/v1/tasks/{id}", STAFF | LEAD | AUDITOR, cf_h_task, "one task"},
    {"POST", "/api/v1/tasks/{id}/claim", STAFF, cf_h_claim, "claim an open task"},
    {"POST", "/api/v1/tasks/{id}/complete", STAFF, cf_h_complete,
     "complete a task with its result"},
    {"POST", "/api/v1/tasks/{id}/return", STAFF, cf_h_return, "send a task back with a reason"},
    {"POST", "/api/v1/tasks/{id}/reassign", LEAD, cf_h_reassign,
     "move a task to another post or person"},
    /* Notices to posts (#12, api_notices.c): refused decisions, the workflow's notify, the
     * week's overdue lists. */
    {"GET", "/api/v1/notices", STAFF | LEAD | AUDITOR, cf_h_notices,
     "the notices of the caller's post (a lead's or auditor's: every post's, or ?post=)"},
    {"POST", "/api/v1/notices/{id}/read", STAFF | LEAD, cf_h_notice_read,
     "mark a notice read, in the caller's name"},
    {"GET", "/api/v1/cases", STAFF | LEAD | AUDITOR, cf_h_cases,
     "search cases by number or party name"},
    {"GET", "/api/v1/cases/{case}", STAFF | LEAD | AUDITOR, cf_h_case,
     "a case's state, data, deadlines, timers and open tasks"},
    {"GET", "/api/v1/cases/{case}/tasks", STAFF | LEAD | AUDITOR, cf_h_case_tasks,
     "every task of a case"},
    {"GET", "/api/v1/cases/{case}/timers", STAFF | LEAD | AUDITOR, cf_h_case_timers,
     "a case's running timers"},
    {"GET", "/api/v1/cases/{case}/decisions", STAFF, cf_h_case_decisions,
     "the decisions the caller's post may make on a case now, with their forms"},
    {"POST", "/api/v1/cases/{case}/decisions", STAFF, cf_h_case_decide,
     "make a decision on a case (case.decided) in the caller's name"},
    {"GET", "/api/v1/cases/{case}/timeline", STAFF | LEAD | AUDITOR, cf_h_case_timeline,
     "a case's events from its log"},
    {"GET", "/api/v1/cases/{case}/replay", LEAD | AUDITOR, cf_h_case_replay,
     "a case's log verified: hash chain and replay, as of a date"},
    {"GET", "/api/v1/stats", LEAD | AUDITOR, cf_h_stats, "counts for the command center"},
    /* The command center report (api_report.c). */
    {"GET", "/api/v1/report", LEAD | AUDITOR, cf_h_report,
     "the command center report of a period, as `caseflow report --json`"},
    /* The monthly archive ledger as Excel (#13, api_ledger.c); of the staff, the archive group. */
    {"GET", "/api/v1/ledger/{month}.xlsx", STAFF | LEAD | AUDITOR, cf_h_ledger,
     "the archive ledger of a month (YYYY-MM) as an Excel workbook"},
    {"POST", "/api/v1/events", INGEST, cf_h_events,
     "send events (one, a JSON array, or NDJSON); answered after Kafka has them"},
    {"GET", "/api/v1/openapi.json", PUBLIC, cf_h_openapi, "this API's OpenAPI document"},
    {"GET", "/metrics", PUBLIC, cf_h_metrics, "Prometheus metrics"},
    {"GET", "/healthz", PUBLIC, cf_h_healthz, "the process serves"},
    {"GET", "/readyz", PUBLIC, cf_h_readyz, "PostgreSQL and Kafka answer"},
    /* The web workplace (#11, api_web.c and stream.c): the completion form, the queue's event
     * stream, documents, and the administrator's accounts. */
    {"GET", "/api/v1/workflows", PEOPLE, cf_h_workflows,
     "the workflows loaded: states with their titles, their edges, and the posts"},
    {"GET", "/api/v1/tasks/{id}/form", STAFF | LEAD | AUDITOR, cf_h_task_form,
     "a staff task with the form of its result, as its workflow declares it"},
    {"GET", "/api/v1/posts/{post}/stream", STAFF | LEAD | AUDITOR, cf_h_post_stream,
     "server-sent events: the post's queue changed"},
    {"GET", "/api/v1/cases/{case}/documents", STAFF | LEAD | AUDITOR, cf_h_case_documents,
     "the documents made for a case"},
    {"GET", "/api/v1/cases/{case}/documents/{n}", STAFF | LEAD, cf_h_case_document,
     "one document of a case, as PDF"},
    {"GET", "/api/v1/accounts", ADMIN, cf_h_accounts, "every account"},
    {"POST", "/api/v1/accounts", ADMIN, cf_h_account_add, "add an account"},
    {"POST", "/api/v1/accounts/{name}/disable", ADMIN, cf_h_account_disable,
     "disable an account and end its sessions"},
    {"POST", "/api/v1/accounts/{name}/enable", ADMIN, cf_h_account_enable, "enable an account"},
    {"POST", "/api/v1/accounts/{name}/password", ADMIN, cf_h_account_password,
     "set a new password and end the account's sessions"},
};
const size_t cf_nroutes = sizeof cf_routes / sizeof cf_routes[0];

const char *cf_req_reach(const cf_req *r)
{
    return r->who.role == CF_ROLE_STAFF ? r->who.post : NULL;
}

const char *cf_req_court(const cf_srv *s, const cf_req *r)
{
    if (s->cfg->ncourts < 2)
        return NULL;
    return r->who.court[0] ? r->who.court : s->cfg->courts[0].code;
}

/*
 * Whether the caller's court is that of the case or task the path names ({case}, or {id} of
 * /api/v1/tasks/): 1 when it is (or the installation serves one court, or the path names
 * neither, or there is no such case: the handler says so); else 0 after answering "not found",
 * as for a case of another post, so that guessing numbers tells nothing.
 */
static int same_court(cf_srv *s, cf_req *r)
{
    const char *court = cf_req_court(s, r), *pattern = r->route->pattern;
    int is_case = strncmp(pattern, "/api/v1/cases/{case}", 20) == 0;
    int is_task = strncmp(pattern, "/api/v1/tasks/{id}", 18) == 0;
    char theirs[64], err[256];
    int rc;

    if (!court || (!is_case && !is_task) || r->who.role == CF_ROLE_INGEST)
        return 1;
    if (!cf_req_db(s, r))
        return 0;
    rc = cf_case_court(r->db, is_case ? cf_req_case(r) : NULL, is_task ? r->params[0] : NULL,
                       s->cfg->courts[0].code, theirs, sizeof theirs, err, sizeof err);
    if (rc == CF_ENOTFOUND || (rc == 0 && strcmp(theirs, court) == 0))
        return 1;
    if (rc != 0)
        cf_reply_error(r, rc, err);
    else
        cf_reply_problem(r, 404, "not-found",
                         is_case ? "there is no such case" : "there is no such task", NULL);
    return 0;
}

/*
 * Matches `path` against `pattern`, filling the {placeholders} of `r` (each one path segment,
 * not empty).  Returns 1 when it matches.
 */
static int match(const char *pattern, const char *path, cf_req *r)
{
    int k = 0;

    while (*pattern && *path) {
        if (*pattern == '{') {
            /* A placeholder ends at the next '/', or at the text the pattern has after it
             * ("{month}.xlsx" ends at the '.'). */
            const char *close = strchr(pattern, '}');
            char stop[3] = {'/', close && close[1] != '/' ? close[1] : '\0', '\0'};
            size_t n = strcspn(path, stop);
            if (n == 0 || n >= sizeof r->params[0] || k >= CF_REQ_PARAMS)
                return 0;
            memcpy(r->params[k], path, n);
            r->params[k++][n] = '\0';
            path += n;
            pattern = strchr(pattern, '}');
            if (!pattern)
                return 0;
            pattern++;
        } else if (*pattern++ != *path++) {
            return 0;
        }
    }
    return *pattern == '\0' && *path == '\0';
}

/* A state-changing method: it needs the session's CSRF token. */
static int changes(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

void cf_dispatch(cf_srv *s, cf_req *r)
{
    const char *token;
    size_t allowed = 0;

    for (size_t i = 0; i < cf_nroutes && !r->route; i++) {
        if (!match(cf_routes[i].pattern, r->path, r))
            continue;
        if (strcmp(cf_routes[i].method, r->method) == 0 ||
            (strcmp(r->method, "HEAD") == 0 && strcmp(cf_routes[i].method, "GET") == 0))
            r->route = &cf_routes[i];
        else if (allowed + strlen(cf_routes[i].method) + 3 < sizeof r->allow)
            allowed += (size_t)snprintf(r->allow + allowed, sizeof r->allow - allowed, "%s%s",
                                        allowed ? ", " : "", cf_routes[i].method);
    }
    if (!r->route && !allowed && strncmp(r->path, "/api/", 5) != 0 &&
        strcmp(r->path, "/api") != 0 && strcmp(r->path, "/metrics") != 0) {
        /* Everything else is the web workplace's files (static.c): read only. */
        if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) {
            cf_static(s, r);
        } else {
            snprintf(r->allow, sizeof r->allow, "GET, HEAD");
            cf_reply_problem(r, 405, "method-not-allowed", "the workplace's files are read only",
                             NULL);
        }
        return;
    }
    if (!r->route) {
        if (allowed)
            cf_reply_problem(r, 405, "method-not-allowed", "this path takes another method", NULL);
        else
            cf_reply_problem(r, 404, "not-found", "there is no such route", NULL);
        return;
    }
    r->allow[0] = '\0';
    for (int k = 0; k < CF_REQ_PARAMS; k++)
        if (!cf_utf8_ok(r->params[k])) {
            cf_reply_problem(r, 400, "bad-parameter", "a path segment is not UTF-8 text", NULL);
            return;
        }
    if (r->route->roles != PUBLIC) {
        if (cf_authenticate(s, r) != 0)
            return;
        if (!(r->route->roles & r->who.role)) {
            char detail[160];
            snprintf(detail, sizeof detail, "the role %s may not use %s %s",
                     cf_role_name(r->who.role), r->route->method, r->route->pattern);
            cf_reply_problem(r, 403, "forbidden", detail, NULL);
            return;
        }
        /* A bearer token is sent on purpose by its holder; a cookie comes with any request a
         * browser makes, so a change made with one must carry the token only the page has. */
        if (changes(r->method) && !r->by_token &&
            (!(token = cf_req_header(r, "X-CSRF-Token")) || !cf_secret_equal(token, r->csrf))) {
            cf_reply_problem(r, 403, "csrf",
                             "a state-changing request needs the session's X-CSRF-Token header",
                             NULL);
            return;
        }
        if (!same_court(s, r))
            return;
    }
    r->route->fn(s, r);
}
