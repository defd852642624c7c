/*
 * The smaller kinds: auction (网络询价、评估与网络拍卖: a price from the online
 * inquiry platform, then the online auction) and archive (卷宗归档: the monthly
 * ledger of last month's closed cases, one batch per ledger, each file handed
 * to the archive system under the volume number the engine gave it).
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
