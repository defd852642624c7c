/*
 * A post's decisions on a case, and sending one: the case is read once (state, workflow, the
 * engine's clock), the workflow's rule and form are applied, the event is run through the
 * transition function without keeping anything, and only then produced to the events topic,
 * keyed by the case as every event of it is.
 */
#include "decide.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/caltime.h"
#include "core/decision.h"
#include "core/form.h"
#include "core/machine.h"
#include "core/message.h"
#include "io/store.h"

/* A case as a decision needs it. */
typedef struct stored {
    const cf_workflow *wf;
    json_t *state;  /* the stored case state (core/machine.h) */
    cf_time now;    /* the engine's clock */
    int offset;     /* its zone, minutes east of UTC */
    long long mark; /* the newest dead letter's id */
} stored;

/* Reads case `case_no`; 0, CF_ENOTFOUND or CF_EDB. */
static int load(PGconn *db, const cf_registry *reg, const char *case_no, stored *c, char *err,
                size_t errsz)
{
    const char *p[1] = {case_no};
    PGresult *res = cf_store_exec(
        db,
        "select c.workflow, c.version, c.body::text, (extract(epoch from k.now) * 1000)::bigint, "
        "(extract(timezone from k.now) / 60)::int, (select coalesce(max(id), 0) from "
        "dead_letters) from cases c, (select " CF_CLOCK_SQL " as now) k where c.case_no = $1",
        1, p, err, errsz);
    int rc = 0;

    memset(c, 0, sizeof *c);
    if (!res)
        return CF_EDB;
    if (PQntuples(res) != 1)
        rc = cf_errf(err, errsz, CF_ENOTFOUND, "no case %s", case_no);
    else if (!(c->wf = cf_registry_find(reg, PQgetvalue(res, 0, 0), atoi(PQgetvalue(res, 0, 1)))))
        rc = cf_errf(err, errsz, CF_ENOTFOUND, "case %s is of workflow %s version %s, not loaded",
                     case_no, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
    else if (!(c->state = json_loads(PQgetvalue(res, 0, 2), 0, NULL)))
        rc = cf_errf(err, errsz, CF_ENOMEM, "case %s: its stored state is not JSON", case_no);
    if (rc == 0) {
        c->now = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
        c->offset = atoi(PQgetvalue(res, 0, 4));
        c->mark = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
    }
    PQclear(res);
    return rc;
}

json_t *cf_decide_list(PGconn *db, const cf_registry *reg, const char *case_no, const char *post,
                       int *rc, char *err, size_t errsz)
{
    stored c;
    json_t *list, *v = NULL;
    const char *st;
    int s;

    if ((*rc = load(db, reg, case_no, &c, err, errsz)) != 0)
        return NULL;
    st = json_string_value(json_object_get(c.state, "state"));
    s = st ? cf_workflow_state_index(c.wf, st) : -1;
    if (!(list = cf_decision_list(c.wf, c.state, post, err, errsz)))
        *rc = CF_ENOMEM;
    else if (!(v = json_pack("{s:s, s:s, s:i, s:s?, s:s?, s:o}", "case", case_no, "workflow",
                             c.wf->name, "version", c.wf->version, "state", st, "state_title",
                             s >= 0 ? c.wf->states[s].title : NULL, "decisions", list)))
        *rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    json_decref(c.state);
    return v;
}

/* The event id: from the client's key, so that a retry is the same event to the engine's
 * once-only check, or fresh.  Either way "decision:" and 32 hex digits. */
static int event_id(const char *case_no, const char *account, const char *key, char *out, size_t n,
                    char *err, size_t errsz)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t got = 0;

    if (key) {
        EVP_MD_CTX *x = EVP_MD_CTX_new();
        int ok = x && EVP_DigestInit_ex(x, EVP_sha256(), NULL) &&
                 EVP_DigestUpdate(x, case_no, strlen(case_no) + 1) &&
                 EVP_DigestUpdate(x, account, strlen(account) + 1) &&
                 EVP_DigestUpdate(x, key, strlen(key)) && EVP_DigestFinal_ex(x, md, &mdlen);
        EVP_MD_CTX_free(x);
        if (!ok)
            return cf_errf(err, errsz, CF_ENOMEM, "SHA-256 failed");
    } else {
        while (got < 16) {
            ssize_t r = getrandom(md + got, 16 - got, 0);
            if (r <= 0)
                return cf_errf(err, errsz, CF_EIO, "the kernel gave no random bytes");
            got += (size_t)r;
        }
    }
    snprintf(out, n, "decision:");
    for (int i = 0; i < 16; i++)
        snprintf(out + 9 + 2 * i, n - 9 - 2 * (size_t)i, "%02x", md[i]);
    return 0;
}

/* Whether the event log holds `id` already; 1, 0 or CF_EDB. */
static int applied(PGconn *db, const char *id, char *err, size_t errsz)
{
    const char *p[1] = {id};
    PGresult *res = cf_store_exec(db, "select 1 from events where event_id = $1", 1, p, err, errsz);
    int n;

    if (!res)
        return CF_EDB;
    n = PQntuples(res) > 0;
    PQclear(res);
    return n;
}

int cf_decide_send(PGconn *db, const cf_queue_ctx *ctx, const char *case_no, const cf_actor *a,
                   const json_t *body, const char *key, cf_queue_sent *out, char *err, size_t errsz)
{
    const char *name = json_string_value(json_object_get(body, "decision"));
    char source[300], now_text[CF_TIME_BUFSZ], why[1024], posts[512];
    const cf_decision *d;
    json_t *event = NULL, *root = NULL;
    const char *st;
    cf_step step;
    stored c;
    int rc, may;

    memset(out, 0, sizeof *out);
    snprintf(out->type, sizeof out->type, "case.decided");
    if ((rc = load(db, ctx->reg, case_no, &c, err, errsz)) != 0)
        return rc;
    out->mark = c.mark;
    if ((rc = event_id(case_no, a->account, key, out->event_id, sizeof out->event_id, err,
                       errsz)) != 0)
        goto out;
    if (key && (rc = applied(db, out->event_id, err, errsz)) != 0) {
        if (rc == 1)
            rc = cf_errf(err, errsz, CF_EDUP, "event %s is applied already", out->event_id);
        goto out;
    }
    if (!name || !(d = cf_workflow_decision(c.wf, name))) {
        rc = cf_errf(err, errsz, CF_EINVAL, "/decision: %s",
                     name ? "no such decision of the case's workflow"
                          : "is required: the decision's name");
        goto out;
    }
    st = json_string_value(json_object_get(c.state, "state"));
    if (!(root = cf_decision_root(c.wf, c.state))) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        goto out;
    }
    /* Who first: a post that may not make the decision learns nothing more of the case. */
    if ((may = cf_decision_by(d, root, a->post, posts, sizeof posts, why, sizeof why)) <= 0) {
        rc = may < 0 ? cf_errf(err, errsz, CF_EINVAL, "decision '%s': %s", name, why)
                     : cf_errf(err, errsz, CF_EPERM,
                               "decision '%s' is made by staff of %s; %s may not make it", name,
                               posts[0] ? posts : "no post", a->post);
        goto out;
    }
    if (!cf_decision_open(c.wf, d, st)) {
        rc = cf_errf(err, errsz, CF_ESTATE, "decision '%s' is not expected in state '%s'", name,
                     st ? st : "");
        goto out;
    }
    if ((rc = cf_form_check_fields(c.wf, NULL, d->fields, d->nfields, body, "", err, errsz)) != 0)
        goto out;
    cf_time_format(c.now, c.offset, now_text, sizeof now_text);
    snprintf(source, sizeof source, "staff:%s:%s", a->post, a->account);
    {
        const cf_envelope env = {.id = out->event_id,
                                 .type = "case.decided",
                                 .case_no = case_no,
                                 .time = now_text,
                                 .source = source};
        json_t *data = json_deep_copy(body);
        event = data ? cf_msg_event_new(&env, data) : NULL;
    }
    if (!event) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        goto out;
    }
    if (cf_schema_validate(cf_registry_schema(ctx->reg, "case.decided"), event, why, sizeof why) !=
        0) {
        rc = cf_errf(err, errsz, CF_ESCHEMA, "the case.decided event breaks its schema: %s", why);
        goto out;
    }
    memset(&step, 0, sizeof step);
    rc = cf_machine_apply(c.wf, c.state, event, c.now, &step, why, sizeof why);
    cf_step_clear(&step);
    if (rc != 0) {
        rc = cf_errf(err, errsz, CF_ESTATE, "%s", why);
        goto out;
    }
    rc = cf_queue_send_event(ctx, event, err, errsz);
out:
    json_decref(event);
    json_decref(root);
    json_decref(c.state);
    return rc;
}
