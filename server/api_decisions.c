/*
 * The decision routes: the decisions the caller's post may make on a case now, with their
 * forms, and making one (engine/decide.c), in the caller's name.  Which post may make which
 * decision where is the workflow's rule (core/decision.h), not the case's reach: the bureau
 * lead and finance decide on cases no task of theirs leads to.
 */
#include <stdio.h>
#include <string.h>

#include "engine/decide.h"
#include "internal.h"

void cf_h_case_decisions(cf_srv *s, cf_req *r)
{
    char err[512] = "";
    int rc = 0;
    json_t *v;

    if (!cf_req_db(s, r))
        return;
    v = cf_decide_list(r->db, s->reg, cf_req_case(r), r->who.post, &rc, err, sizeof err);
    if (v)
        cf_reply_json(r, 200, v);
    else
        cf_reply_error(r, rc, err);
}

/* The client's Idempotency-Key: printable ASCII, 1 to 200 characters.  NULL without one; answers
 * 400 and sets *bad for one that is not. */
static const char *idempotency_key(cf_req *r, int *bad)
{
    const char *k = cf_req_header(r, "Idempotency-Key");
    size_t n = k ? strlen(k) : 0;

    for (size_t i = 0; k && i < n && !*bad; i++)
        *bad = k[i] < 0x21 || k[i] > 0x7e;
    if (k && (*bad || n == 0 || n > 200)) {
        *bad = 1;
        cf_reply_problem(r, 400, "bad-header",
                         "Idempotency-Key is 1 to 200 printable ASCII characters",
                         json_pack("{s:s}", "header", "Idempotency-Key"));
    }
    return k;
}

void cf_h_case_decide(cf_srv *s, cf_req *r)
{
    cf_queue_ctx ctx = {.reg = s->reg, .sender = s->sender, .topic = s->topic};
    cf_actor a = {.account = r->who.name, .post = r->who.post};
    cf_verdict v = {.state = -1};
    cf_queue_sent sent;
    char err[1024] = "", field[160];
    int bad = 0, rc;
    long wait_ms = cf_req_wait_ms(s, r, &bad);
    const char *key = bad ? NULL : idempotency_key(r, &bad);
    json_t *body;

    if (bad || !(body = cf_req_json(r)))
        return;
    if (!cf_req_db(s, r))
        goto out;
    rc = cf_decide_send(r->db, &ctx, cf_req_case(r), &a, body, key, &sent, err, sizeof err);
    switch (rc) {
    case 0: break;
    case CF_EDUP: /* the same key again: answer as the first time */
        if (cf_queue_verdict(r->db, &sent, &v, err, sizeof err) != 0)
            v.state = -1;
        break;
    case CF_EPERM: cf_reply_problem(r, 403, "not-your-decision", err, NULL); goto out;
    case CF_ESTATE:
        cf_reply_problem(r, 409, "decision-refused", err,
                         json_pack("{s:s}", "decision",
                                   json_string_value(json_object_get(body, "decision"))
                                       ? json_string_value(json_object_get(body, "decision"))
                                       : ""));
        goto out;
    case CF_EINVAL:
    case CF_ESCHEMA:
        /* The form's check names the field it refused: "/<name>: ..." (core/form.c). */
        snprintf(field, sizeof field, "/decision");
        if (rc == CF_EINVAL && err[0] == '/' && strchr(err, ':'))
            snprintf(field, sizeof field, "%.*s", (int)(strchr(err, ':') - err), err);
        cf_reply_problem(r, 422, "invalid-field", err, json_pack("{s:s}", "field", field));
        goto out;
    default: cf_reply_error(r, rc, err); goto out;
    }
    if (rc == 0)
        cf_await_verdict(s, r, &sent, wait_ms, &v);
    cf_reply_verdict(r, &sent, &v, "/decision", json_pack("{s:b}", "already", rc == CF_EDUP));
out:
    json_decref(body);
}
