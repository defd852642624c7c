/*
 * The smaller kinds: auction (网络询价、评估与网络拍卖: the reference price, then the
 * outcome of each online auction round) and archive (卷宗归档: the monthly
 * ledger of last month's closed cases, one batch per ledger, a volume number
 * per case).
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

/* The ledger a closed case belongs to: the month it closed in ("2026-03"), from its data. */
static void ledger_of(const cf_task *t, char *out, size_t n)
{
    const char *closed = json_string_value(json_object_get(t->data, "closed_at"));
    char now[64];

    if (!closed || strlen(closed) < 7)
        closed = cf_worker_now(now, sizeof now);
    snprintf(out, n, "%.7s", closed);
}

/* One ledger, one trip to the archive room: every case gets its volume number. */
static int archive_batch(cf_worker_ctx *ctx, const cf_task *tasks, size_t n, json_t **results,
                         int *codes, char (*errs)[256])
{
    json_t *req, *cases = json_array(), *resp = NULL;
    char ledger[16], now[64], trip[256];
    int rc;

    ledger_of(&tasks[0], ledger, sizeof ledger);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            cases, json_pack("{s:s, s:s}", "case", tasks[i].case_no, "category", "archive"));
    snprintf(trip, sizeof trip, "%s:%s:%zu", ledger, tasks[0].case_no, n);
    req = json_pack("{s:s, s:s, s:s, s:i, s:o}", "ledger", ledger, "case", tasks[0].case_no, "trip",
                    trip, "attempt", tasks[0].attempt, "cases", cases);
    if (!req)
        return cf_errf(errs[0], 256, CF_ENOMEM, "out of memory");
    rc = cf_adapter_call(ctx->adapter, "archive", req, &resp, errs[0], 256);
    json_decref(req);
    if (rc)
        return rc;
    cf_worker_now(now, sizeof now);
    for (size_t i = 0; i < n; i++) {
        char own[16], volume[48];
        ledger_of(&tasks[i], own, sizeof own);
        /* Volumes are numbered in the ledger's order, which is the batch's (by case number). */
        snprintf(volume, sizeof volume, "%s-%03zu", own, i + 1);
        results[i] =
            json_pack("{s:s, s:s, s:s, s:O?}", "archived_at", now, "ledger", own, "volume", volume,
                      "close_method", json_object_get(tasks[i].params, "close_method"));
        if (!results[i])
            codes[i] = cf_errf(errs[i], 256, CF_ENOMEM, "out of memory");
    }
    cf_info("archived %zu case%s in ledger %s", n, n == 1 ? "" : "s", ledger);
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
