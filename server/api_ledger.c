/*
 * The monthly archive ledger as Excel (GET /api/v1/ledger/{month}.xlsx, #13): engine/ledger.c's
 * workbook, the very file `caseflow report --ledger MONTH` writes.  It holds case numbers, teams,
 * dates and volume numbers, no party's personal data.  The route lets staff, leads and auditors
 * in; of the staff only the archive group (归档组) works the ledger, so the others are refused
 * here, the one thing the route table cannot say.
 */
#include <stdio.h>
#include <string.h>

#include "engine/ledger.h"
#include "internal.h"

/* The post whose staff may download the ledger. */
#define LEDGER_POST "archive_group"

void cf_h_ledger(cf_srv *s, cf_req *r)
{
    char month[CF_LEDGER_MONTH_BUFSZ], err[1024] = "", *buf = NULL;
    size_t len = 0;
    PGconn *db;
    int rc;

    if (r->who.role == CF_ROLE_STAFF && strcmp(r->who.post, LEDGER_POST) != 0) {
        cf_reply_problem(r, 403, "forbidden",
                         "the archive ledger is for the archive group (归档组), leads and auditors",
                         NULL);
        return;
    }
    if (cf_ledger_month(r->params[0], month, err, sizeof err) != 0) {
        cf_reply_problem(r, 400, "bad-parameter", err, json_pack("{s:s}", "parameter", "month"));
        return;
    }
    if (!(db = cf_req_db(s, r)))
        return;
    if ((rc = cf_ledger_xlsx(db, s->reg, month, cf_req_court(s, r), s->cfg->courts[0].code, &buf,
                             &len, NULL, err, sizeof err)) != 0) {
        cf_reply_error(r, rc, err);
        return;
    }
    snprintf(r->disposition, sizeof r->disposition, "attachment; filename=\"ledger-%s.xlsx\"",
             month);
    r->cache = "private, no-store";
    cf_reply_text(r, 200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", buf,
                  len);
}
