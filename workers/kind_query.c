/*
 * The property queries: network_query (网络财产统查, "总对总": the national
 * network asked about every asset category at once, on the filing day and
 * again on the handler's reminders) and six_checks (六查: a clerk's trip to a
 * registry office with all its pending cases, one batch per office; the
 * registers of natural persons are asked only about natural persons).
 */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "workers/adapter.h"
#include "workers/worker.h"

/* What the network query asks about when the task's params do not say: the court's measures
 * (集约化执行工作机制实施办法 二(三)2: 车辆、房产、证券、理财、工商、银行、户籍) and online funds
 * (DOMAIN.md, 总对总). */
static const char *const default_categories[] = {
    "deposits",          "real_estate",           "vehicles",     "securities",
    "wealth_management", "business_registration", "online_funds", "household_registration",
};

/*
 * Registers that hold only natural persons: marriage (婚姻登记条例 art. 2: 内地居民办理婚姻登记)
 * and the housing fund (住房公积金管理条例 art. 2: 职工缴存).  A company or other organisation is
 * not asked about there.
 */
static int persons_only(const char *category)
{
    return category && (strcmp(category, "marriage") == 0 || strcmp(category, "housing_fund") == 0);
}

/* A natural person (自然人), as the filing system marks parties: not a company or organisation. */
static int natural_person(const json_t *party)
{
    const char *kind = json_string_value(json_object_get(party, "kind"));
    return kind && strcmp(kind, "person") == 0;
}

/* The respondents (被执行人) the outside system is asked about: names and identity numbers only,
 * natural persons only when `persons` is set.  Personal data: it goes to the outside system,
 * never into a log. */
static json_t *respondents(const cf_task *t, int persons)
{
    json_t *out = json_array(), *p;
    size_t i;

    json_array_foreach (json_object_get(t->data, "respondents"), i, p) {
        if (persons && !natural_person(p))
            continue;
        json_array_append_new(out,
                              json_pack("{s:O?, s:O?, s:O?}", "kind", json_object_get(p, "kind"),
                                        "name", json_object_get(p, "name"), "id_number",
                                        json_object_get(p, "id_number")));
    }
    return out;
}

static json_t *subjects(const cf_task *t)
{
    return respondents(t, 0);
}

/* ---- network_query ---- */

static int network_query(cf_worker_ctx *ctx, const cf_task *t, json_t **result, char *err,
                         size_t errsz)
{
    const json_t *wanted = json_object_get(t->params, "categories");
    json_t *req, *resp = NULL, *cats, *per, *found, *v;
    const char *cat;
    char now[64];
    int rc;

    if (json_is_array(wanted)) {
        cats = json_deep_copy(wanted);
    } else {
        cats = json_array();
        for (size_t i = 0; i < sizeof default_categories / sizeof default_categories[0]; i++)
            json_array_append_new(cats, json_string(default_categories[i]));
    }
    req =
        json_pack("{s:s, s:i, s:O?, s:o, s:o}", "case", t->case_no, "attempt", t->attempt, "round",
                  json_object_get(t->params, "round"), "categories", cats, "subjects", subjects(t));
    if (!req)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    rc = cf_adapter_call(ctx->adapter, "query", req, &resp, err, errsz);
    json_decref(req);
    if (rc)
        return rc;
    per = json_object_get(resp, "categories");
    if (!json_is_object(per)) {
        json_decref(resp);
        return cf_errf(err, errsz, CF_EPARSE, "the network query answered without categories");
    }
    /* Which categories found something, for the handler's first glance.  A category whose answer
     * does not say whether it found anything is the other side's mistake, never "nothing". */
    json_object_foreach (per, cat, v)
        if (!json_is_boolean(json_object_get(v, "found"))) {
            json_decref(resp);
            return cf_errf(err, errsz, CF_EPARSE,
                           "the network query answered category %s without 'found'", cat);
        }
    found = json_array();
    json_object_foreach (per, cat, v)
        if (json_is_true(json_object_get(v, "found")))
            json_array_append_new(found, json_string(cat));
    *result =
        json_pack("{s:O?, s:O, s:o, s:s}", "round", json_object_get(t->params, "round"),
                  "categories", per, "found", found, "queried_at", cf_worker_now(now, sizeof now));
    json_decref(resp);
    if (!*result)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    cf_case_debug(t->case_no, "network query round %lld: %zu categories with property",
                  (long long)json_integer_value(json_object_get(t->params, "round")),
                  json_array_size(json_object_get(*result, "found")));
    return 0;
}

const cf_worker_kind cf_kind_network_query = {
    .name = "network_query",
    .handle = network_query,
};

/* ---- six_checks ---- */

/* The measure a clerk proposes for property found: money is frozen (冻结), things are seized
 * (查封); a marriage or a tax record is a lead, not property. */
static const char *measure_for(const char *category)
{
    if (strcmp(category, "housing_fund") == 0 || strcmp(category, "business_registration") == 0)
        return "freeze";
    if (strcmp(category, "vehicles") == 0 || strcmp(category, "real_estate") == 0 ||
        strcmp(category, "housing") == 0)
        return "seize";
    return NULL;
}

static json_t *check_result(const char *office, const char *category, const json_t *answer)
{
    const char *measure = measure_for(category);
    int found = json_is_true(json_object_get(answer, "found"));
    json_t *items = json_object_get(answer, "items"), *measures = json_array(), *item;
    char now[64];
    size_t i;

    if (found && measure)
        json_array_foreach (items, i, item)
            json_array_append_new(measures, json_pack("{s:s, s:s, s:I}", "measure", measure,
                                                      "category", category, "item", (json_int_t)i));
    return json_pack("{s:s, s:s, s:b, s:O, s:o, s:s}", "office", office, "category", category,
                     "found", found, "items", json_is_array(items) ? items : json_array(),
                     "measures", measures, "checked_at", cf_worker_now(now, sizeof now));
}

static int same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/*
 * The result of a check that is not made: a register of natural persons (marriage, housing fund)
 * and a case whose respondents are all companies or organisations.  Nothing is asked, so nothing
 * is found; `applicable: false` says why the clerk has no answer to read.
 */
static json_t *not_applicable(const char *office, const char *category)
{
    char now[64];
    return json_pack("{s:s, s:s, s:b, s:b, s:s, s:[], s:[], s:s}", "office", office, "category",
                     category, "found", 0, "applicable", 0, "reason",
                     "被执行人均为法人或其他组织，不查询该项登记", "items", "measures",
                     "checked_at", cf_worker_now(now, sizeof now));
}

/* Whether the check of `t` is made: persons-only registers only for natural persons. */
static int applicable(const cf_task *t, const char *category)
{
    const json_t *p;
    size_t i;

    if (!persons_only(category))
        return 1;
    json_array_foreach (json_object_get(t->data, "respondents"), i, p)
        if (natural_person(p))
            return 1;
    return 0;
}

/* One trip to one registry office: every case of the batch asked about in one request. */
static int six_checks_batch(cf_worker_ctx *ctx, const cf_task *tasks, size_t n, json_t **results,
                            int *codes, char (*errs)[256])
{
    const char *office = json_string_value(json_object_get(tasks[0].params, "office"));
    json_t *cases = json_array(), *resp = NULL, *answers;
    int rc;

    if (!office)
        office = "";
    for (size_t i = 0; i < n; i++) {
        const char *category = json_string_value(json_object_get(tasks[i].params, "category"));
        if (!applicable(&tasks[i], category))
            continue;
        json_array_append_new(cases, json_pack("{s:s, s:s, s:o}", "case", tasks[i].case_no,
                                               "category", category ? category : "", "subjects",
                                               respondents(&tasks[i], persons_only(category))));
    }
    /* Only when some case of the trip is asked about does the clerk go. */
    if (json_array_size(cases) > 0) {
        rc = cf_adapter_trip(ctx->adapter, "check", "office", office, tasks[0].case_no,
                             tasks[0].attempt, cases, &resp, errs[0], 256);
        if (rc)
            return rc;
    } else {
        json_decref(cases);
    }
    answers = json_object_get(resp, "results");
    for (size_t i = 0; i < n; i++) {
        const char *category = json_string_value(json_object_get(tasks[i].params, "category"));
        const json_t *answer = NULL, *a;
        size_t k;
        json_array_foreach (answers, k, a)
            if (same(json_string_value(json_object_get(a, "case")), tasks[i].case_no) &&
                same(json_string_value(json_object_get(a, "category")), category))
                answer = a;
        if (!category || !*category) {
            codes[i] =
                cf_errf(errs[i], 256, CF_EINVAL, "%s has no category to check", tasks[i].activity);
        } else if (!applicable(&tasks[i], category)) {
            if (!(results[i] = not_applicable(office, category)))
                codes[i] = cf_errf(errs[i], 256, CF_ENOMEM, "out of memory");
        } else if (!answer) {
            /* The office said nothing about this case: worth asking again on the next try. */
            codes[i] = cf_errf(errs[i], 256, CF_EIO, "%s gave no answer for this case", office);
        } else if (!json_is_boolean(json_object_get(answer, "found"))) {
            /* An answer that does not say whether anything was found is no answer: an
             * incident, never "nothing found". */
            codes[i] = cf_errf(errs[i], 256, CF_EPARSE, "%s answered %s without 'found'", office,
                               category);
        } else if (!(results[i] = check_result(office, category, answer))) {
            codes[i] = cf_errf(errs[i], 256, CF_ENOMEM, "out of memory");
        }
    }
    cf_info("six checks at %s: %zu case%s in one trip", office, n, n == 1 ? "" : "s");
    json_decref(resp);
    return 0;
}

/* A six-checks task that comes alone is a trip with one case. */
static int six_checks_one(cf_worker_ctx *ctx, const cf_task *t, json_t **result, char *err,
                          size_t errsz)
{
    char errs[1][256] = {""};
    int code = 0;
    int rc = six_checks_batch(ctx, t, 1, result, &code, errs);

    if (rc == 0)
        rc = code;
    if (rc)
        cf_errf(err, errsz, rc, "%s", errs[0]);
    return rc;
}

const cf_worker_kind cf_kind_six_checks = {
    .name = "six_checks",
    .handle = six_checks_one,
    .handle_batch = six_checks_batch,
};
