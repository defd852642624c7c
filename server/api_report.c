/*
 * The command center report as JSON (GET /api/v1/report): engine/report.c's report of a period,
 * the same object `caseflow report --json` prints.  It holds counts, titles and case numbers in
 * the archive ledgers, no party's personal data, so leads and auditors see it alike.
 */
#include <stdio.h>
#include <string.h>

#include "engine/report.h"
#include "internal.h"

/* The bound `name` (since or until) of the query as timestamptz text in `out`, "" when absent.
 * Returns 0, or -1 after answering 400. */
static int bound(cf_req *r, const char *name, int until, char *out, size_t n)
{
    int bad = 0;
    const char *v = cf_req_query(r, name, &bad);
    char err[256];

    out[0] = '\0';
    if (bad)
        return -1;
    if (v && cf_report_bound(v, until, out, n, err, sizeof err) != 0) {
        cf_reply_problem(r, 400, "bad-parameter", err, json_pack("{s:s}", "parameter", name));
        return -1;
    }
    return 0;
}

void cf_h_report(cf_srv *s, cf_req *r)
{
    char since[CF_REPORT_BOUND_BUFSZ], until[CF_REPORT_BOUND_BUFSZ], err[1024] = "";
    json_t *v;
    PGconn *db;
    int rc;

    if (bound(r, "since", 0, since, sizeof since) != 0 ||
        bound(r, "until", 1, until, sizeof until) != 0 || !(db = cf_req_db(s, r)))
        return;
    /* A lead's or auditor's report is their court's (routes.c: cf_req_court). */
    rc = cf_report_build(db, s->reg, *since ? since : NULL, *until ? until : NULL,
                         cf_req_court(s, r), s->cfg->courts[0].code, &v, err, sizeof err);
    if (rc == 0)
        cf_reply_json(r, 200, v);
    else
        cf_reply_error(r, rc, err);
}
