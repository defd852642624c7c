/*
 * The smaller kinds: auction (网络询价、评估与网络拍卖: the reference price, then the
 * outcome of each online auction round) and archive (卷宗归档: the monthly
 * ledger of last month's closed cases, one batch per ledger, each file handed
 * to the archive system under the volume number the engine gave it).
 */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "workers/adapter.h"
#include "workers/worker.h"

/* ---- auction ---- */

/*
 * The auction clerk's calls to the court's valuation and auction platforms, one per step of the
 * workflow (params.step):
 *   price   the reference price (处置参考价) by the method the handler chose (议价, 网络询价 or
 *           委托评估): operation "price", answered {"found", "items": [{"value", ...}]}; found
 *           false means no price could be given (the workflow turns to a valuation);
 *   result  the outcome of an online auction round (params.round, params.reserve) once its
 *           bidding has ended, or of the sale by 变卖 (round "变卖"): operation "auction",
 *           answered {"found", "items": [{"price", "bidders", ...}]}; found true is a sale at
 *           items[0].price, false no bid (流拍).
 * An answer without its outcome ("found" missing, or a sale without its price) is refused as
 * CF_EPARSE, which becomes an incident of the auction clerk: never a guess.
 */
static int ask(cf_worker_ctx *ctx, const cf_task *t, const char *operation, const char *category,
               json_t **resp, char *err, size_t errsz)
{
    json_t *req = json_pack(
        "{s:s, s:i, s:s, s:O?, s:O?, s:O?, s:O?, s:O?}", "case", t->case_no, "attempt", t->attempt,
        "category", category, "method", json_object_get(t->params, "method"), "assets",
        json_object_get(t->params, "assets"), "asset_kind",
        json_object_get(t->params, "asset_kind"), "round", json_object_get(t->params, "round"),
        "reserve", json_object_get(t->params, "reserve"));
    int rc;

    if (!req)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    rc = cf_adapter_call(ctx->adapter, operation, req, resp, err, errsz);
    json_decref(req);
    return rc;
}

/* The first item of an answer with its outcome: 1 found (the item in *item), 0 not found, or
 * CF_EPARSE when the answer says neither. */
static int outcome_of(const json_t *resp, const char *member, const json_t **item)
{
    const json_t *found = json_object_get(resp, "found");

    *item = json_array_get(json_object_get(resp, "items"), 0);
    if (!json_is_boolean(found))
        return CF_EPARSE;
    if (json_is_false(found))
        return 0;
    return *item && json_is_number(json_object_get(*item, member)) ? 1 : CF_EPARSE;
}

static int auction_price(cf_worker_ctx *ctx, const cf_task *t, json_t **result, char *err,
                         size_t errsz)
{
    const char *method = json_string_value(json_object_get(t->params, "method"));
    const json_t *item;
    json_t *resp = NULL;
    int rc, found;

    if (!method)
        return cf_errf(err, errsz, CF_EINVAL,
                       "params.method must name how the price is set "
                       "(议价, 网络询价 or 委托评估)");
    if ((rc = ask(ctx, t, "price", "valuation", &resp, err, errsz)))
        return rc;
    found = outcome_of(resp, "value", &item);
    if (found < 0)
        rc = cf_errf(err, errsz, CF_EPARSE,
                     "the price platform answered %s's %s without a price or 'found': false",
                     t->case_no, method);
    else
        *result = json_pack("{s:s, s:s, s:s, s:O?, s:O?, s:O?, s:O?}", "step", "price", "outcome",
                            found ? "priced" : "no_price", "method", method, "price",
                            found ? json_object_get(item, "value") : NULL, "platform",
                            found ? json_object_get(item, "platform") : NULL, "asset_kind",
                            json_object_get(t->params, "asset_kind"), "assets",
                            json_object_get(t->params, "assets"));
    json_decref(resp);
    if (!rc && !*result)
        rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    return rc;
}

static int auction_result(cf_worker_ctx *ctx, const cf_task *t, json_t **result, char *err,
                          size_t errsz)
{
    const json_t *item, *round = json_object_get(t->params, "round");
    json_t *resp = NULL;
    int rc, sold;

    if (!json_is_number(json_object_get(t->params, "reserve")))
        return cf_errf(err, errsz, CF_EINVAL, "params.reserve must be the round's reserve price");
    if ((rc = ask(ctx, t, "auction", "auction", &resp, err, errsz)))
        return rc;
    sold = outcome_of(resp, "price", &item);
    if (sold < 0)
        rc = cf_errf(err, errsz, CF_EPARSE,
                     "the auction platform answered %s's round without its outcome ('found') or "
                     "the price of the sale",
                     t->case_no);
    else
        *result = json_pack("{s:s, s:s, s:O?, s:O, s:O?, s:O?}", "step", "result", "outcome",
                            sold ? "sold" : "unsold", "round", round, "reserve",
                            json_object_get(t->params, "reserve"), "price",
                            sold ? json_object_get(item, "price") : NULL, "bidders",
                            sold ? json_object_get(item, "bidders") : NULL);
    json_decref(resp);
    if (!rc && !*result)
        rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    if (!rc)
        cf_case_info(t->case_no, "auction: %s", sold ? "sold" : "unsold");
    return rc;
}

static int auction(cf_worker_ctx *ctx, const cf_task *t, json_t **result, char *err, size_t errsz)
{
    const char *step = json_string_value(json_object_get(t->params, "step"));

    if (step && strcmp(step, "price") == 0)
        return auction_price(ctx, t, result, err, errsz);
    if (step && strcmp(step, "result") == 0)
        return auction_result(ctx, t, result, err, errsz);
    return cf_errf(err, errsz, CF_EINVAL, "params.step must be price or result, not %s",
                   step ? step : "missing");
}

/* A sale raises proceeds.received: the price is money the court now holds for the case, to be
 * paid out (docs/workers.md). */
static json_t *auction_raises(const cf_task *t, const json_t *result, const char **type)
{
    const char *outcome = json_string_value(json_object_get(result, "outcome"));

    if (!outcome || strcmp(outcome, "sold") != 0)
        return NULL;
    *type = "proceeds.received";
    return json_pack("{s:s, s:O, s:s, s:O?}", "case_no", t->case_no, "amount",
                     json_object_get(result, "price"), "source", "auction", "round",
                     json_object_get(result, "round"));
}

const cf_worker_kind cf_kind_auction = {
    .name = "auction",
    .handle = auction,
    .raises = auction_raises,
};

/* ---- archive ---- */

/*
 * What the archive system (档案管理系统) answered for one case: accepted, with the archive id it
 * gave the file, or refused, with its reason.  Anything else is no answer, and nothing is made
 * up in its place: the task fails (an incident on the archive group's queue).
 */
static int archive_answer(const cf_task *t, const json_t *answer, const char *now, json_t **result,
                          char *err, size_t errsz)
{
    const json_t *accepted = json_object_get(answer, "accepted");
    const char *id = json_string_value(json_object_get(answer, "archive_id"));
    const char *reason = json_string_value(json_object_get(answer, "reason"));

    if (!answer)
        return cf_errf(err, errsz, CF_EIO, "the archive system gave no answer for this case");
    if (json_is_true(accepted) && id && *id)
        *result = json_pack("{s:s, s:s, s:O, s:O?, s:s}", "outcome", "accepted", "archive_id", id,
                            "volume", json_object_get(t->params, "volume"), "ledger",
                            json_object_get(t->params, "ledger_month"), "answered_at", now);
    else if (json_is_false(accepted) && reason && *reason)
        *result = json_pack("{s:s, s:s, s:O, s:O?, s:s}", "outcome", "refused", "reason", reason,
                            "volume", json_object_get(t->params, "volume"), "ledger",
                            json_object_get(t->params, "ledger_month"), "answered_at", now);
    else
        return cf_errf(err, errsz, CF_EPARSE,
                       "the archive system's answer has neither an archive id (accepted) nor a "
                       "reason (refused)");
    return *result ? 0 : cf_errf(err, errsz, CF_ENOMEM, "out of memory");
}

/*
 * One ledger, one trip: the month's files are handed to the archive system under the volume
 * numbers the engine gave them (volume.h), and each case gets the system's answer.
 */
static int archive_batch(cf_worker_ctx *ctx, const cf_task *tasks, size_t n, json_t **results,
                         int *codes, char (*errs)[256])
{
    const char *ledger = json_string_value(json_object_get(tasks[0].params, "ledger_month"));
    json_t *cases = json_array(), *resp = NULL;
    char now[64];
    int rc;

    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            cases, json_pack("{s:s, s:s, s:O?, s:O?, s:O?}", "case", tasks[i].case_no, "category",
                             "archive", "volume", json_object_get(tasks[i].params, "volume"),
                             "close_method", json_object_get(tasks[i].params, "close_method"),
                             "closed_at", json_object_get(tasks[i].data, "closed_at")));
    rc = cf_adapter_trip(ctx->adapter, "archive", "ledger", ledger ? ledger : "", tasks[0].case_no,
                         tasks[0].attempt, cases, &resp, errs[0], 256);
    if (rc)
        return rc;
    cf_worker_now(now, sizeof now);
    for (size_t i = 0; i < n; i++) {
        /* Only the engine numbers volumes: a task without one was not sent as a ledger. */
        if (!json_is_string(json_object_get(tasks[i].params, "volume")))
            codes[i] = cf_errf(errs[i], 256, CF_EINVAL,
                               "%s has no volume number: archive tasks go out in the ledger batch",
                               tasks[i].activity);
        else
            codes[i] = archive_answer(&tasks[i], cf_adapter_result_for(resp, tasks[i].case_no), now,
                                      &results[i], errs[i], 256);
    }
    cf_info("archive: %zu case%s of ledger %s handed over", n, n == 1 ? "" : "s",
            ledger ? ledger : "?");
    json_decref(resp);
    return 0;
}
static int archive_one(cf_worker_ctx *ctx, const cf_task *t, json_t **result, char *err,
                       size_t errsz)
{
    char errs[1][256] = {""};
    int code = 0;
    int rc = archive_batch(ctx, t, 1, result, &code, errs);

    if (rc == 0)
        rc = code;
    if (rc)
        cf_errf(err, errsz, rc, "%s", errs[0]);
    return rc;
}

const cf_worker_kind cf_kind_archive = {
    .name = "archive",
    .handle = archive_one,
    .handle_batch = archive_batch,
};
