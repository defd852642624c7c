/*
 * Notices to posts: listing them and marking them read (notices.h).  PostgreSQL builds the JSON
 * the server answers with: a notice's body is JSON already, and nothing here looks inside it.
 */
#include "engine/notices.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/store.h"
#include "engine/queue.h"

/* One notice of `n` as JSON. */
#define NOTICE_JSON                                                                                \
    "json_build_object('id', n.id, 'post', n.post, 'court', n.court, 'kind', n.kind, 'case', "     \
    "n.case_no, 'title', n.title, 'body', n.body, 'created_at', to_char(n.created_at, " CF_ISO_SQL \
    "), 'read_at', to_char(n.read_at, " CF_ISO_SQL "), 'read_by', n.read_by)"

/* Whether notice row `n` is of the post $P and the court $C (NULL: any), $H the home court. */
#define OF_POST_AND_COURT(n, P, C, H)                                                     \
    "(" P "::text is null or " n ".post = " P ") and (" C "::text is null or coalesce(" n \
    ".court, " H "::text) = " C ")"

/* Parses the one JSON text a statement answered into *out. */
static int take_json(PGresult *res, json_t **out, char *err, size_t errsz)
{
    json_error_t jerr;
    *out = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
    PQclear(res);
    if (!*out)
        return cf_errf(err, errsz, CF_ENOMEM, "reading notices: %s", jerr.text);
    return 0;
}

int cf_notices_list(PGconn *db, const cf_notice_filter *f, json_t **out, char *err, size_t errsz)
{
    char limit[24], offset[24];
    const char *p[6] = {f->post, f->unread ? "true" : "false", NULL, offset, f->court, f->home};
    char why[512];
    PGresult *res;

    *out = NULL;
    if (f->limit > 0) {
        snprintf(limit, sizeof limit, "%d", f->limit);
        p[2] = limit;
    }
    snprintf(offset, sizeof offset, "%d", f->offset > 0 ? f->offset : 0);
    res = cf_store_exec(
        db,
        "with f as (select * from notices n where " OF_POST_AND_COURT(
            "n", "$1", "$5", "$6") " and "
                                   "(not $2::boolean or read_at is null)), page as (select * from "
                                   "f order by created_at desc, id "
                                   "desc limit $3::int offset $4::int) select "
                                   "json_build_object('notices', coalesce((select "
                                   "json_agg(" NOTICE_JSON
                                   " order by n.created_at desc, n.id desc) from page n), '[]'), "
                                   "'total', (select count(*) from f), 'unread', (select count(*) "
                                   "from f where read_at is "
                                   "null))::text",
        6, p, why, sizeof why);
    if (!res)
        return cf_errf(err, errsz, CF_EDB, "listing notices: %s", why);
    return take_json(res, out, err, errsz);
}

int cf_notices_read(PGconn *db, long long id, const cf_notice_filter *f, const char *account,
                    json_t **out, int *already, char *err, size_t errsz)
{
    char idtext[24], why[512];
    const char *p[5] = {idtext, f->post, f->court, f->home, account};
    PGresult *res;

    *out = NULL;
    *already = 0;
    snprintf(idtext, sizeof idtext, "%lld", id);
    /* The first reader is the one recorded: a notice read already stays as it was. */
    res = cf_store_exec(
        db,
        "with u as (update notices n set read_at = " CF_CLOCK_SQL ", read_by = $5 "
        "where id = $1::bigint and " OF_POST_AND_COURT(
            "n", "$2", "$3", "$4") " and "
                                   "read_at is null returning id) select count(*) from u",
        5, p, why, sizeof why);
    if (!res)
        return cf_errf(err, errsz, CF_EDB, "marking notice %lld read: %s", id, why);
    *already = strcmp(PQgetvalue(res, 0, 0), "0") == 0;
    PQclear(res);
    res = cf_store_exec(db,
                        "select " NOTICE_JSON
                        "::text from notices n where n.id = $1::bigint and " OF_POST_AND_COURT(
                            "n", "$2", "$3", "$4"),
                        4, p, why, sizeof why);
    if (!res)
        return cf_errf(err, errsz, CF_EDB, "reading notice %lld: %s", id, why);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return cf_errf(err, errsz, CF_ENOTFOUND, "no notice %lld%s%s", id,
                       f->post ? " for post " : "", f->post ? f->post : "");
    }
    return take_json(res, out, err, errsz);
}
