/*
 * The payments kind (自动履行案款): money paid into the court's account names its case only in the
 * payer's remark.  Each payment of the weekly clean-up is matched against the open enforcement
 * cases — core/paymatch.c judges, from candidates read here from PostgreSQL (read-only) — and a
 * sure match is applied at once: a payment.matched event to that case, which pays it out.  The
 * others go back to the payment clerk with the candidates; the case the clerk then chooses is
 * applied the same way (operation "apply").  docs/payments.md tells the whole story.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "io/bus.h"
#include "io/sender.h"
#include "io/store.h"
#include "core/caseno.h"
#include "core/paymatch.h"
#include "workers/worker.h"

/* Candidates read per payment at most, and shown to the clerk at most. */
enum { MAX_CANDIDATES = 50, SHOWN = 5, TEXT = 2048 };

typedef struct payments {
    PGconn *db; /* read-only; one statement at a time, under `lock` */
    pthread_mutex_t lock;
    /* The payment.matched events, from any handler thread: a producer that fails for good is
     * replaced by the sender under its lock (io/sender.c), as the server's is. */
    cf_sender *sender;
    char topic[256];
    const char *court; /* the home court's code */
} payments;

/* SQL: case row `c` is of the payment's court `court` (`home`: of a key naming none). */
#define OF_COURT(court, home) \
    "coalesce(caseflow_court(c.case_no, c.body -> 'data' ->> 'court'), " home ") = " court

/*
 * The open enforcement cases a payment may belong to: a case number or judgment whose sequence
 * is one typo from a sequence in the remark ($1), or a respondent who is the payer ($2) or is
 * named in the remark ($3).  Closed and archived cases take no more money.  Only the cases of the
 * payment's court ($4): the money is in that court's account (#16).
 */
static const char candidates_sql[] =
    "select c.case_no, c.body -> 'data' -> 'basis' ->> 'document_no', "
    "(select coalesce(json_agg(r ->> 'name'), '[]') from jsonb_array_elements(coalesce(c.body -> "
    "'data' -> 'respondents', '[]')) r) "
    "from cases c where c.case_no not like 'PAY-%' and c.state not in ('closed', 'archived') "
    "and " OF_COURT("$4",
                    "$5") " and (substring(c.case_no from '([0-9]+)号$') = any($1::text[]) or "
                          "substring(c.body -> 'data' -> 'basis' ->> 'document_no' from "
                          "'([0-9]+)号$') = any($1::text[]) "
                          "or exists (select from jsonb_array_elements(coalesce(c.body -> 'data' "
                          "-> 'respondents', "
                          "'[]')) r where r ->> 'name' = $2 or (length(r ->> 'name') >= 2 and "
                          "strpos($3, r ->> 'name') "
                          "> 0))) order by c.case_no limit 50";

static const char open_case_sql[] =
    "select state from cases c where case_no = $1 and case_no not like 'PAY-%' and state not in "
    "('closed', 'archived') and " OF_COURT("$2", "$3");

/* ---- PostgreSQL, read-only ---- */

/* Runs a read under the lock; NULL with CF_EIO's reason when the database failed (it may pass:
 * the connection is made again for the next try). */
static PGresult *read_db(payments *p, const char *sql, int n, const char *const *params, char *err,
                         size_t errsz)
{
    PGresult *res;

    pthread_mutex_lock(&p->lock);
    if (PQstatus(p->db) != CONNECTION_OK)
        PQreset(p->db);
    res = cf_store_exec(p->db, sql, n, params, err, errsz);
    pthread_mutex_unlock(&p->lock);
    return res;
}

/* The sequences as a PostgreSQL array literal: digits only, so nothing needs quoting. */
static void array_literal(const json_t *seqs, char *out, size_t n)
{
    size_t i, o = 0;
    json_t *v;

    o += (size_t)snprintf(out, n, "{");
    json_array_foreach (seqs, i, v)
        if (o < n)
            o += (size_t)snprintf(out + o, n - o, "%s%s", i ? "," : "", json_string_value(v));
    if (o < n)
        snprintf(out + o, n - o, "}");
}

/* The court of task `t`'s payment (its key's code, else the court its data names, else the home
 * court) into `buf`: the court whose account the money came into. */
static const char *court_of(const payments *p, const cf_task *t, char *buf, size_t n)
{
    const char *c =
        cf_caseno_court(t->case_no, json_string_value(json_object_get(t->data, "court")), buf, n);
    return c ? c : p->court;
}

/* ---- Kafka: one event, confirmed ---- */

/*
 * Publishes event `ev` with id `id` to the events topic under `key` and waits until Kafka has
 * it: a payment is applied before its task is reported done, so a worker killed in between
 * applies it again under the same id, which the engine drops.  Returns 0 or CF_EIO, which the
 * runtime retries: so is an event the producer held when it failed for good, sent again by the
 * new one.
 */
static int publish(payments *p, const char *key, const json_t *ev, const char *id, char *err,
                   size_t errsz)
{
    char *text = json_dumps(ev, JSON_COMPACT);
    cf_outmsg m = {.key = key, .id = id};
    int rc;

    if (!text)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    m.payload = text;
    m.len = strlen(text);
    rc = cf_sender_send(p->sender, p->topic, &m, 1, err, errsz);
    free(text);
    return rc == 0 ? 0 : rc == CF_ENOMEM ? rc : CF_EIO;
}

/* The payment.matched event of task `t`'s payment for `case_no`. */
static int apply(payments *p, const cf_task *t, const char *case_no, const char *method,
                 int confidence, const char *by, char *err, size_t errsz)
{
    char id[200], now[64];
    json_t *data = json_pack("{s:O?, s:s, s:O?, s:O?, s:O?, s:s}", "payment_id",
                             json_object_get(t->data, "payment_id"), "payment_key", t->case_no,
                             "amount", json_object_get(t->data, "amount"), "paid_at",
                             json_object_get(t->data, "paid_at"), "payer_name",
                             json_object_get(t->data, "payer_name"), "method", method);
    json_t *ev;
    int rc;

    if (!data)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    if (confidence >= 0)
        json_object_set_new(data, "confidence", json_integer(confidence));
    if (by)
        json_object_set_new(data, "matched_by", json_string(by));
    snprintf(id, sizeof id, "%s:apply", t->task_id);
    ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "id", id, "type", "payment.matched", "case",
                   case_no, "time", cf_worker_now(now, sizeof now), "source", "worker:payments",
                   "data", data);
    if (!ev)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    rc = publish(p, case_no, ev, id, err, errsz);
    json_decref(ev);
    if (rc == 0)
        cf_case_info(t->case_no, "payment applied to %s (%s)", case_no, method);
    return rc;
}

/* ---- the two operations ---- */

/* The proposals as the clerk's form shows them: case, confidence, and why. */
static json_t *shown(const cf_paymatch *m, size_t n)
{
    json_t *list = json_array();

    for (size_t i = 0; i < n && i < SHOWN; i++) {
        char why[256];
        snprintf(why, sizeof why, "%s%s%s", m[i].number_why,
                 m[i].number_why[0] && m[i].party_why[0] ? "；" : "", m[i].party_why);
        json_array_append_new(list, json_pack("{s:s, s:i, s:s}", "case_no", m[i].case_no,
                                              "confidence", m[i].confidence, "why", why));
    }
    return list;
}

/* Scores the rows of candidates_sql for the payment to `court`; fills `out` as cf_paymatch_run. */
static int score(const cf_task *t, const char *court, PGresult *res, cf_paymatch *out, size_t *n,
                 int *sure)
{
    int rows = PQntuples(res), rc;
    cf_paycase cands[MAX_CANDIDATES];
    json_t *names[MAX_CANDIDATES];
    const char *ptrs[MAX_CANDIDATES][8];

    for (int r = 0; r < rows && r < MAX_CANDIDATES; r++) {
        size_t k;
        json_t *v;
        names[r] = json_loads(PQgetvalue(res, r, 2), 0, NULL);
        cands[r] = (cf_paycase){PQgetvalue(res, r, 0),
                                PQgetisnull(res, r, 1) ? NULL : PQgetvalue(res, r, 1), ptrs[r], 0};
        json_array_foreach (names[r], k, v)
            if (json_is_string(v) && cands[r].nrespondents < 8)
                ptrs[r][cands[r].nrespondents++] = json_string_value(v);
    }
    rc = cf_paymatch_run(json_string_value(json_object_get(t->data, "remark")),
                         json_string_value(json_object_get(t->data, "payer_name")), court, cands,
                         (size_t)rows, out, MAX_CANDIDATES, n, sure);
    for (int r = 0; r < rows && r < MAX_CANDIDATES; r++)
        json_decref(names[r]);
    return rc;
}

static int match(payments *p, const cf_task *t, json_t **result, char *err, size_t errsz)
{
    const char *remark = json_string_value(json_object_get(t->data, "remark"));
    const char *payer = json_string_value(json_object_get(t->data, "payer_name"));
    char seqs[TEXT], who[TEXT], text[TEXT], now[64], code[32];
    const char *court = court_of(p, t, code, sizeof code);
    const char *params[5] = {seqs, who, text, court, p->court};
    json_t *variants = json_array();
    cf_paymatch m[MAX_CANDIDATES];
    size_t n = 0;
    int sure = 0, rc;
    PGresult *res;

    if (cf_paymatch_sequences(remark, variants) != 0 ||
        cf_paymatch_normalize(payer ? payer : "", who, sizeof who) != 0 ||
        cf_paymatch_normalize(remark ? remark : "", text, sizeof text) != 0) {
        json_decref(variants);
        return cf_errf(err, errsz, CF_EINVAL,
                       "the payment's remark or payer is not UTF-8 text of at most 2000 bytes");
    }
    array_literal(variants, seqs, sizeof seqs);
    json_decref(variants);
    if (!(res = read_db(p, candidates_sql, 5, params, err, errsz)))
        return CF_EIO;
    /* The proposals' case numbers point into `res`: it is cleared at the end. */
    if ((rc = score(t, court, res, m, &n, &sure)) != 0) {
        cf_errf(err, errsz, rc, "matching the payment's remark failed");
        goto out;
    }
    if (sure && (rc = apply(p, t, m[0].case_no, "auto", m[0].confidence, NULL, err, errsz)))
        goto out;
    *result = json_pack("{s:b, s:o, s:s}", "sure", sure, "candidates", shown(m, n), "matched_at",
                        cf_worker_now(now, sizeof now));
    if (*result && sure) {
        json_object_set_new(*result, "case_no", json_string(m[0].case_no));
        json_object_set_new(*result, "confidence", json_integer(m[0].confidence));
    }
    if (!*result) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        goto out;
    }
    cf_case_info(t->case_no, "payment matched: %zu candidate%s, %s", n, n == 1 ? "" : "s",
                 sure ? "sure" : "to the payment clerk");
out:
    PQclear(res);
    return rc;
}

/* The clerk chose `apply_to`: it must be an open enforcement case. */
static int apply_chosen(payments *p, const cf_task *t, json_t **result, char *err, size_t errsz)
{
    const char *chosen = json_string_value(json_object_get(t->params, "apply_to"));
    const char *by = json_string_value(json_object_get(t->params, "matched_by"));
    char case_no[256], code[32];
    const char *court = court_of(p, t, code, sizeof code);
    const char *params[3] = {case_no, court, p->court};
    PGresult *res;
    int open, rc;

    if (!chosen || cf_caseno_normalize(chosen, case_no, sizeof case_no) != 0)
        return cf_errf(err, errsz, CF_EINVAL,
                       "the task names no case to apply the payment to "
                       "(params.apply_to)");
    if (!(res = read_db(p, open_case_sql, 3, params, err, errsz)))
        return CF_EIO;
    open = PQntuples(res) > 0;
    PQclear(res);
    if (!open)
        return cf_errf(err, errsz, CF_EINVAL,
                       "%s is not an open enforcement case of court %s: the payment cannot be "
                       "applied to it",
                       case_no, court);
    if ((rc = apply(p, t, case_no, "manual", -1, by, err, errsz)))
        return rc;
    *result = json_pack("{s:s, s:s}", "applied", case_no, "method", "manual");
    return *result ? 0 : cf_errf(err, errsz, CF_ENOMEM, "out of memory");
}

static int handle(cf_worker_ctx *ctx, const cf_task *t, json_t **result, char *err, size_t errsz)
{
    const char *op = json_string_value(json_object_get(t->params, "op"));

    if (op && strcmp(op, "apply") == 0)
        return apply_chosen(ctx->state, t, result, err, errsz);
    if (op && strcmp(op, "match") != 0)
        return cf_errf(err, errsz, CF_EINVAL,
                       "unknown payments operation '%s' (params.op: match or apply)", op);
    return match(ctx->state, t, result, err, errsz);
}

/* ---- life ---- */

static void fini(cf_worker_ctx *ctx)
{
    payments *p = ctx->state;

    if (!p)
        return;
    cf_sender_free(p->sender);
    if (p->db)
        PQfinish(p->db);
    pthread_mutex_destroy(&p->lock);
    free(p);
    ctx->state = NULL;
}

static int init(cf_worker_ctx *ctx, char *err, size_t errsz)
{
    payments *p = calloc(1, sizeof *p);
    PGresult *res;

    if (!p)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    pthread_mutex_init(&p->lock, NULL);
    ctx->state = p;
    p->court = ctx->cfg->courts[0].code; /* the home court: a remark without a court means it */
    cf_bus_topic(ctx->cfg, "events", p->topic, sizeof p->topic);
    if (!(p->db = cf_store_connect(ctx->cfg->postgres, err, errsz)) ||
        cf_store_session(p->db, err, errsz) != 0)
        goto fail;
    /* The worker only reads the cases; the engine alone writes them. */
    if (!(res = cf_store_exec(p->db, "set session characteristics as transaction read only", 0,
                              NULL, err, errsz)))
        goto fail;
    PQclear(res);
    if (!(p->sender =
              cf_sender_new(ctx->cfg, "caseflow-worker-payments-events", 30000, err, errsz)))
        goto fail;
    return 0;
fail:
    fini(ctx);
    return CF_EIO;
}

const cf_worker_kind cf_kind_payments = {
    .name = "payments",
    .init = init,
    .handle = handle,
    .fini = fini,
};
