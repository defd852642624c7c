/*
 * The smaller kinds: auction (网络询价、评估与网络拍卖: a price from the online
 * inquiry platform, then the online auction) and archive (卷宗归档: the monthly
 * ledger of last month's closed cases, one batch per ledger, a volume number
 * per case).
 */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "workers/adapter.h"
#include "workers/worker.h"

/* ---- auction ---- */

static int auction(cf_worker_ctx *ctx, const cf_task *t, json_t **result, char *err, size_t errsz)
{
    const json_t *assets = json_object_get(t->params, "assets");
    json_t *req, *price = NULL, *sale = NULL, *valuation, *outcome;
    char now[64];
    int rc;

    /* 1. The price: the online inquiry platforms (网络询价) value the assets. */
    req = json_pack("{s:s, s:i, s:s, s:O?}", "case", t->case_no, "attempt", t->attempt, "category",
                    "valuation", "assets", assets);
    if (!req)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    rc = cf_adapter_call(ctx->adapter, "valuation", req, &price, err, errsz);
    json_decref(req);
    if (rc)
        return rc;
    valuation = json_array_get(json_object_get(price, "items"), 0);
    if (!json_is_true(json_object_get(price, "found")) || !valuation) {
        /* No platform gave a price: the clerk orders a valuation by an appraiser instead. */
        *result = json_pack("{s:s, s:n, s:n, s:s}", "outcome", "no_price", "valuation", "auction",
                            "decided_at", cf_worker_now(now, sizeof now));
        json_decref(price);
        return *result ? 0 : cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    }

    /* 2. The online auction at the price found (the first round starts at it). */
    req = json_pack("{s:s, s:i, s:s, s:O}", "case", t->case_no, "attempt", t->attempt, "category",
                    "auction", "valuation", valuation);
    if (!req) {
        json_decref(price);
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    }
    rc = cf_adapter_call(ctx->adapter, "auction", req, &sale, err, errsz);
    json_decref(req);
    if (rc) {
        json_decref(price);
        return rc;
    }
    outcome = json_array_get(json_object_get(sale, "items"), 0);
    *result = json_pack("{s:s, s:O, s:O?, s:s}", "outcome",
                        json_is_true(json_object_get(sale, "found")) && outcome ? "sold" : "unsold",
                        "valuation", valuation, "auction", outcome, "decided_at",
                        cf_worker_now(now, sizeof now));
    json_decref(price);
    json_decref(sale);
    if (!*result)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    cf_case_info(t->case_no, "auction: %s", json_string_value(json_object_get(*result, "outcome")));
    return 0;
}

const cf_worker_kind cf_kind_auction = {
    .name = "auction",
    .handle = auction,
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
