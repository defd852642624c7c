/*
 * The notices routes (#12): GET /api/v1/notices lists the notices of the caller's post (a lead or
 * an auditor sees every post's, or one post's with ?post=), POST /api/v1/notices/{id}/read marks
 * one read in the caller's name.  engine/notices.c does the work; staff reach their own post's
 * notices only, and another post's is "not found", whatever its id.  Where several courts are
 * served, everyone sees their own court's notices only: another court's is "not found" too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/notices.h"
#include "internal.h"

void cf_h_notices(cf_srv *s, cf_req *r)
{
    /* Of the caller's court (routes.c: cf_req_court), as every list of the server is. */
    cf_notice_filter f = {
        .post = cf_req_reach(r), .court = cf_req_court(s, r), .home = s->cfg->courts[0].code};
    const char *post, *unread;
    char err[512];
    json_t *v;
    PGconn *db;
    int bad = 0, rc;

    post = cf_req_query(r, "post", &bad);
    unread = bad ? NULL : cf_req_query(r, "unread", &bad);
    f.limit = bad ? 0 : (int)cf_req_query_int(r, "limit", 50, 1, 500, &bad);
    f.offset = bad ? 0 : (int)cf_req_query_int(r, "offset", 0, 0, 10000000, &bad);
    if (bad)
        return;
    if (post && f.post && strcmp(post, f.post) != 0) {
        cf_reply_problem(r, 403, "other-post", "staff see their own post's notices only", NULL);
        return;
    }
    if (post && !cf_post_known(s->reg, post)) {
        cf_reply_problem(r, 404, "not-found", "no workflow declares this post", NULL);
        return;
    }
    if (unread && strcmp(unread, "true") != 0 && strcmp(unread, "false") != 0) {
        cf_reply_problem(r, 400, "bad-parameter", "unread is true or false",
                         json_pack("{s:s}", "parameter", "unread"));
        return;
    }
    if (post)
        f.post = post;
    f.unread = unread && strcmp(unread, "true") == 0;
    if (!(db = cf_req_db(s, r)))
        return;
    if ((rc = cf_notices_list(db, &f, &v, err, sizeof err)) != 0) {
        cf_reply_error(r, rc, err);
        return;
    }
    json_object_set_new(v, "post", f.post ? json_string(f.post) : json_null());
    json_object_set_new(v, "limit", json_integer(f.limit));
    json_object_set_new(v, "offset", json_integer(f.offset));
    cf_reply_json(r, 200, v);
}

void cf_h_notice_read(cf_srv *s, cf_req *r)
{
    cf_notice_filter f = {
        .post = cf_req_reach(r), .court = cf_req_court(s, r), .home = s->cfg->courts[0].code};
    char err[512], *end;
    long long id = strtoll(r->params[0], &end, 10);
    json_t *v;
    PGconn *db;
    int already, rc;

    if (*end || id <= 0) {
        cf_reply_problem(r, 404, "not-found", "a notice's id is a positive whole number", NULL);
        return;
    }
    if (!(db = cf_req_db(s, r)))
        return;
    if ((rc = cf_notices_read(db, id, &f, r->who.name, &v, &already, err, sizeof err)) != 0) {
        cf_reply_error(r, rc, err);
        return;
    }
    cf_reply_json(r, 200, json_pack("{s:o, s:b}", "notice", v, "already", already));
}
