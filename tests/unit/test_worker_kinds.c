/*
 * The query, auction and archive kinds' handlers, called directly with the
 * simulator: the shapes of their results, the measures proposed for property
 * found, a batch answered per case, and failures passed on as the runtime
 * expects them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "workers/adapter.h"
#include "workers/worker.h"

static cf_worker_ctx make_ctx(const char *kind, int found, int nothing, int error)
{
    cf_adapter_options o = {.name = kind,
                            .type = CF_ADAPTER_SIMULATOR,
                            .seed = 1,
                            .weights = {found, nothing, error, 100 - found - nothing - error}};
    cf_worker_ctx ctx = {.kind = kind, .seed = 1};
    char err[256];
    assert_int_equal(cf_adapter_new(&o, &ctx.adapter, err, sizeof err), 0);
    return ctx;
}

static cf_task make_task(const char *case_no, const char *activity, json_t *params, json_t *data)
{
    cf_task t = {.task_id = "t-0123456789",
                 .case_no = case_no,
                 .kind = "test",
                 .activity = activity,
                 .params = params,
                 .data = data,
                 .attempt = 1};
    return t;
}

static void test_registry(void **state)
{
    (void)state;
    const char *names[] = {"documents", "service", "network_query", "six_checks",
                           "auction",   "archive", "payments"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const cf_worker_kind *k = cf_worker_kind_find(names[i]);
        assert_non_null(k);
        assert_string_equal(k->name, names[i]);
        assert_non_null(k->handle);
    }
    assert_null(cf_worker_kind_find("payment"));
    assert_non_null(cf_worker_kind_find("six_checks")->handle_batch);
}

static void test_network_query(void **state)
{
    (void)state;
    cf_worker_ctx ctx = make_ctx("network_query", 100, 0, 0);
    json_t *params = json_pack("{s:i}", "round", 2), *result = NULL;
    json_t *data = json_pack("{s:[{s:s, s:s, s:s}]}", "respondents", "kind", "person", "name",
                             "李四", "id_number", "410381198512310011");
    cf_task t = make_task("(2026)豫0381执1号", "network_query", params, data);
    char err[256];

    assert_int_equal(
        cf_worker_kind_find("network_query")->handle(&ctx, &t, &result, err, sizeof err), 0);
    assert_int_equal(json_integer_value(json_object_get(result, "round")), 2);
    /* The court's list (车辆、房产、证券、理财、工商、银行、户籍) and online funds. */
    assert_int_equal(json_object_size(json_object_get(result, "categories")), 8);
    assert_int_equal(json_array_size(json_object_get(result, "found")), 8);
    assert_non_null(
        json_object_get(json_object_get(result, "categories"), "household_registration"));
    assert_non_null(json_object_get(json_object_get(result, "categories"), "wealth_management"));
    assert_non_null(json_string_value(json_object_get(result, "queried_at")));
    /* The respondents go to the outside system, not into the result. */
    {
        char *text = json_dumps(result, 0);
        assert_non_null(text);
        assert_null(strstr(text, "李四"));
        assert_null(strstr(text, "410381198512310011"));
        free(text);
    }
    json_decref(result);
    cf_adapter_free(ctx.adapter);

    /* An outside system that fails: a passing failure for the runtime to retry. */
    ctx = make_ctx("network_query", 0, 0, 100);
    result = NULL;
    assert_int_equal(
        cf_worker_kind_find("network_query")->handle(&ctx, &t, &result, err, sizeof err), CF_EIO);
    assert_null(result);
    cf_adapter_free(ctx.adapter);
    json_decref(params);
    json_decref(data);
}

static void test_six_checks_batch(void **state)
{
    (void)state;
    cf_worker_ctx ctx = make_ctx("six_checks", 100, 0, 0);
    json_t *vehicles = json_pack("{s:s, s:s}", "office", "车管所", "category", "vehicles");
    json_t *tax = json_pack("{s:s, s:s}", "office", "车管所", "category", "tax");
    cf_task tasks[2] = {make_task("(2026)豫0381执1号", "check_vehicles", vehicles, NULL),
                        make_task("(2026)豫0381执2号", "check_tax", tax, NULL)};
    json_t *results[2] = {NULL, NULL};
    int codes[2] = {0, 0};
    char errs[2][256] = {"", ""};

    assert_int_equal(
        cf_worker_kind_find("six_checks")->handle_batch(&ctx, tasks, 2, results, codes, errs), 0);
    assert_int_equal(codes[0], 0);
    assert_int_equal(codes[1], 0);
    assert_string_equal(json_string_value(json_object_get(results[0], "office")), "车管所");
    assert_string_equal(json_string_value(json_object_get(results[0], "category")), "vehicles");
    assert_true(json_is_true(json_object_get(results[0], "found")));
    /* A vehicle found is to be seized; a tax record is a lead, not property. */
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(results[0], "measures"), 0), "measure")),
                        "seize");
    assert_string_equal(json_string_value(json_object_get(results[1], "category")), "tax");
    assert_int_equal(json_array_size(json_object_get(results[1], "measures")), 0);
    json_decref(results[0]);
    json_decref(results[1]);
    cf_adapter_free(ctx.adapter);

    /* The trip fails as a whole. */
    ctx = make_ctx("six_checks", 0, 0, 100);
    results[0] = results[1] = NULL;
    assert_int_equal(
        cf_worker_kind_find("six_checks")->handle_batch(&ctx, tasks, 2, results, codes, errs),
        CF_EIO);
    assert_non_null(strstr(errs[0], "simulated"));
    cf_adapter_free(ctx.adapter);
    json_decref(vehicles);
    json_decref(tax);
}

/* Marriage and housing-fund registers hold natural persons only: a company is not asked about
 * there (no trip, not even a failing one), a person is. */
static void test_six_checks_natural_persons(void **state)
{
    (void)state;
    cf_worker_ctx ctx = make_ctx("six_checks", 0, 0, 100);
    json_t *marriage = json_pack("{s:s, s:s}", "office", "民政局", "category", "marriage");
    json_t *company = json_pack("{s:[{s:s, s:s, s:s}]}", "respondents", "kind", "company", "name",
                                "洛阳某某建材有限公司", "id_number", "91410300MA44L7QK3C");
    json_t *person = json_pack("{s:[{s:s, s:s, s:s}]}", "respondents", "kind", "person", "name",
                               "李四", "id_number", "410381198512310011");
    cf_task firm = make_task("(2026)豫0381执1号", "check_marriage", marriage, company);
    cf_task man = make_task("(2026)豫0381执2号", "check_marriage", marriage, person);
    json_t *result = NULL;
    char err[256];

    /* The office always fails here: a company's check succeeds only because nobody went. */
    assert_int_equal(
        cf_worker_kind_find("six_checks")->handle(&ctx, &firm, &result, err, sizeof err), 0);
    assert_true(json_is_false(json_object_get(result, "applicable")));
    assert_true(json_is_false(json_object_get(result, "found")));
    assert_string_equal(json_string_value(json_object_get(result, "category")), "marriage");
    json_decref(result);
    result = NULL;
    assert_int_equal(
        cf_worker_kind_find("six_checks")->handle(&ctx, &man, &result, err, sizeof err), CF_EIO);
    cf_adapter_free(ctx.adapter);

    /* With an office that answers, the person's check is made and answered. */
    ctx = make_ctx("six_checks", 100, 0, 0);
    assert_int_equal(
        cf_worker_kind_find("six_checks")->handle(&ctx, &man, &result, err, sizeof err), 0);
    assert_null(json_object_get(result, "applicable"));
    assert_true(json_is_true(json_object_get(result, "found")));
    json_decref(result);
    cf_adapter_free(ctx.adapter);
    json_decref(marriage);
    json_decref(company);
    json_decref(person);
}

static void test_auction_and_archive(void **state)
{
    (void)state;
    cf_worker_ctx ctx = make_ctx("auction", 100, 0, 0);
    const cf_worker_kind *auction = cf_worker_kind_find("auction");
    json_t *params = json_pack("{s:s, s:s, s:s, s:[s]}", "step", "price", "method", "网络询价",
                               "asset_kind", "real_estate", "assets", "房产"),
           *result = NULL, *raised;
    json_t *round2 = json_pack("{s:s, s:i, s:i}", "step", "result", "round", 2, "reserve", 400000);
    json_t *closed = json_pack("{s:s}", "closed_at", "2026-03-18T10:00:00+08:00");
    json_t *ledger_params = json_pack("{s:s, s:s, s:s}", "close_method", "执行完毕", "volume",
                                      "2026-03-0007", "ledger_month", "2026-03");
    json_t *next_params = json_pack("{s:s, s:s, s:s}", "close_method", "执行完毕", "volume",
                                    "2026-03-0008", "ledger_month", "2026-03");
    cf_task t = make_task("(2026)豫0381执3号", "auction", params, NULL);
    cf_task a[2] = {make_task("(2026)豫0381执3号", "archive", ledger_params, closed),
                    make_task("(2026)豫0381执4号", "archive", next_params, closed)};
    json_t *results[2] = {NULL, NULL};
    int codes[2] = {0, 0};
    const char *type = NULL;
    char err[256], errs[2][256] = {"", ""};

    /* The price: the platforms give one, and a price raises nothing. */
    assert_int_equal(auction->handle(&ctx, &t, &result, err, sizeof err), 0);
    assert_string_equal(json_string_value(json_object_get(result, "outcome")), "priced");
    assert_string_equal(json_string_value(json_object_get(result, "method")), "网络询价");
    assert_true(json_integer_value(json_object_get(result, "price")) > 0);
    assert_null(auction->raises(&t, result, &type));
    json_decref(result);
    /* A round at its reserve: sold at the reserve or above, which raises proceeds.received. */
    t = make_task("(2026)豫0381执3号", "auction_round", round2, NULL);
    assert_int_equal(auction->handle(&ctx, &t, &result, err, sizeof err), 0);
    assert_string_equal(json_string_value(json_object_get(result, "outcome")), "sold");
    assert_true(json_integer_value(json_object_get(result, "price")) >= 400000);
    raised = auction->raises(&t, result, &type);
    assert_non_null(raised);
    assert_string_equal(type, "proceeds.received");
    assert_string_equal(json_string_value(json_object_get(raised, "source")), "auction");
    assert_true(json_equal(json_object_get(raised, "amount"), json_object_get(result, "price")));
    json_decref(raised);
    json_decref(result);
    /* A step the kind does not know is a lasting failure, named. */
    json_object_set_new(round2, "step", json_string("announce"));
    assert_int_equal(auction->handle(&ctx, &t, &result, err, sizeof err), CF_EINVAL);
    assert_non_null(strstr(err, "announce"));
    cf_adapter_free(ctx.adapter);
    json_decref(round2);

    /* The archive system accepts both files: each answer carries its archive id, and the
     * volume numbers are the engine's, as the tasks brought them. */
    ctx = make_ctx("archive", 100, 0, 0);
    assert_int_equal(cf_worker_kind_find("archive")->handle_batch(&ctx, a, 2, results, codes, errs),
                     0);
    assert_int_equal(codes[0], 0);
    assert_string_equal(json_string_value(json_object_get(results[0], "outcome")), "accepted");
    assert_non_null(strstr(json_string_value(json_object_get(results[0], "archive_id")), "档执"));
    assert_string_equal(json_string_value(json_object_get(results[0], "ledger")), "2026-03");
    assert_string_equal(json_string_value(json_object_get(results[0], "volume")), "2026-03-0007");
    assert_string_equal(json_string_value(json_object_get(results[1], "volume")), "2026-03-0008");
    json_decref(results[0]);
    json_decref(results[1]);
    cf_adapter_free(ctx.adapter);

    /* It refuses them: the reason it gave is the result, with no archive id. */
    ctx = make_ctx("archive", 0, 100, 0);
    results[0] = results[1] = NULL;
    assert_int_equal(cf_worker_kind_find("archive")->handle_batch(&ctx, a, 2, results, codes, errs),
                     0);
    assert_int_equal(codes[1], 0);
    assert_string_equal(json_string_value(json_object_get(results[1], "outcome")), "refused");
    assert_true(strlen(json_string_value(json_object_get(results[1], "reason"))) > 0);
    assert_null(json_object_get(results[1], "archive_id"));
    json_decref(results[0]);
    json_decref(results[1]);

    /* A task without the engine's volume number was not sent as a ledger: refused, not numbered
     * by the worker. */
    {
        json_t *bare = json_pack("{s:s}", "close_method", "执行完毕");
        cf_task b = make_task("(2026)豫0381执5号", "archive", bare, closed);
        assert_int_equal(cf_worker_kind_find("archive")->handle(&ctx, &b, &result, err, sizeof err),
                         CF_EINVAL);
        assert_non_null(strstr(err, "no volume number"));
        json_decref(bare);
    }
    cf_adapter_free(ctx.adapter);
    json_decref(params);
    json_decref(closed);
    json_decref(ledger_params);
    json_decref(next_params);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_network_query),
        cmocka_unit_test(test_six_checks_batch),
        cmocka_unit_test(test_six_checks_natural_persons),
        cmocka_unit_test(test_auction_and_archive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
