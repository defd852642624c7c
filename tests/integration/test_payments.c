/*
 * Voluntary payments and payout on the real stack: the engine and a `caseflow worker payments`
 * on real PostgreSQL and Kafka.  Payments from the bank arrive on the events topic; the worker
 * matches each against the open cases it reads from PostgreSQL: the sure ones are applied to
 * their case at once (payment.matched), the others wait on the payment clerk's queue with their
 * candidates, and the clerk's choice is applied the same way.  Then the payout: to another
 * account it is refused (a dead letter with the reason), to the case's own account it waits for
 * finance, whose confirmation closes the case as 执行完毕; an auction's proceeds go to payout too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/registry.h"
#include "engine/taskform.h"
#include "kit/kit.h"

enum { WAIT = 120 };

static const char A[] = "(2026)豫0381执1234号", B[] = "(2026)豫0381执1235号",
                  C[] = "(2025)豫0381执1234号";
static const char ACCOUNT[] = "6222020000001234567";
static const char NOW[] = "2026-03-09T10:00:00+08:00";

static kit K;
static pid_t engine, worker;

/* A case of `respondent`, enforcing judgment `basis`, its money paid out to 王五's account. */
static void file_case(const char *no, const char *respondent, const char *basis, int amount)
{
    char id[160];
    json_t *ev, *data;

    snprintf(id, sizeof id, "filed-%s", no);
    ev = kit_filed(no, id, "2026-03-02T09:00:00+08:00");
    data = json_object_get(ev, "data");
    json_object_set_new(json_array_get(json_object_get(data, "respondents"), 0), "name",
                        json_string(respondent));
    json_object_set_new(json_object_get(data, "basis"), "document_no", json_string(basis));
    json_object_set_new(data, "amount", json_integer(amount));
    json_object_set_new(data, "payee_account",
                        json_pack("{s:s, s:s, s:s}", "name", "张三", "bank", "中国工商银行偃师支行",
                                  "account", ACCOUNT));
    kit_send_json(&K, ev);
}

static void pay(const char *key, const char *payer, const char *remark, int amount)
{
    char id[160];
    snprintf(id, sizeof id, "bank-%s", key);
    kit_send_json(&K, json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:i, s:s, s:s, s:s}}", "id", id,
                                "type", "payment.received", "case", key, "time", NOW, "source",
                                "bank", "data", "payment_id", key + 4, "amount", amount, "paid_at",
                                NOW, "payer_name", payer, "remark", remark));
}

static char *wait_value(const char *sql, const char *param, const char *want)
{
    const char *p[1] = {param};
    char *v = kit_wait_value(&K, sql, 1, p, want, WAIT);
    if (want) {
        if (!v || strcmp(v, want) != 0)
            fprintf(stderr, "waited for %s (%s) to be %s, saw %s\n", sql, param, want,
                    v ? v : "nothing");
        assert_non_null(v);
        assert_string_equal(v, want);
    }
    return v;
}

static void expect(const char *sql, const char *param, const char *want)
{
    free(wait_value(sql, param, want));
}

/* The open (or claimed) staff task of `activity` on case `no`: its id (free it). */
static char *open_task(const char *no, const char *activity)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "select task_id from tasks where case_no = $1 and activity = '%s' and status in "
             "('open', 'claimed')",
             activity);
    return wait_value(sql, no, NULL);
}

/* A member of staff of `post` claims the task and completes it with `result` (stolen). */
static void complete(const char *no, const char *activity, const char *post, const char *account,
                     const char *id_tag, json_t *result)
{
    char *task = open_task(no, activity), source[160], id[200];

    assert_non_null(task);
    kit_claim(&K, task, account);
    snprintf(source, sizeof source, "staff:%s:%s", post, account);
    snprintf(id, sizeof id, "%s-%s", id_tag, task);
    kit_send_json(&K, json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:o}}", "id", id,
                                "type", "task.completed", "case", no, "time", NOW, "source", source,
                                "data", "task_id", task, "activity", activity, "kind", activity,
                                "result", result));
    kit_flush(&K);
    free(task);
}

/* The clerk's form of the payment's match_payment (GET /api/v1/tasks/{id}/form answers it):
 * the candidates with their confidence, and the field the chosen case goes into. */
static void expect_form_candidates(const char *key)
{
    char a[1024], b[1024], err[1024];
    char *const paths[] = {a, b};
    char *task = open_task(key, "match_payment");
    cf_registry reg;
    json_t *form, *fields, *f, *first;
    size_t i;
    int rc, apply_to = 0;

    snprintf(a, sizeof a, "%s/workflows/enforcement_case.yaml", K.src);
    snprintf(b, sizeof b, "%s/workflows/voluntary_payment.yaml", K.src);
    assert_int_equal(cf_registry_load(&reg, paths, 2, err, sizeof err), 0);
    form = cf_task_form(K.db, &reg, task, "payment_clerk", &rc, err, sizeof err);
    assert_non_null(form);
    first = json_array_get(json_object_get(json_object_get(form, "params"), "candidates"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "case_no")), A);
    assert_int_equal(json_integer_value(json_object_get(first, "confidence")), 80);
    assert_string_equal(json_string_value(json_object_get(first, "why")),
                        "与案号相差一个字符；付款人是本案被执行人");
    fields = json_object_get(json_object_get(form, "form"), "fields");
    json_array_foreach (fields, i, f)
        apply_to |= strcmp(json_string_value(json_object_get(f, "name")), "apply_to") == 0;
    assert_true(apply_to);
    json_decref(form);
    cf_registry_free(&reg);
    free(task);
}

static void test_payments(void **state)
{
    (void)state;
    kit_init(&K, "payments");
    engine = kit_engine_start(&K, NULL);
    worker = kit_worker_start(&K, "payments", NULL);

    file_case(A, "张三", "(2025)豫0381民初567号", 30000);
    file_case(B, "李四", "(2025)豫0381民初890号", 8000);
    file_case(C, "王五", "(2024)豫0381民初3321号", 5000);
    kit_flush(&K);
    assert_int_equal(
        kit_wait_count(&K, "select count(*) from cases where case_no not like 'PAY-%'", 3, WAIT),
        3);

    /* The bank's week: two sure, three not. */
    pay("PAY-2026-000001", "张三", "（2026）豫0381执1234号 张三还款", 20000);
    pay("PAY-2026-000002", "李四", "还款 李四", 5000);
    pay("PAY-2026-000003", "张三", "(2026)豫0381执1235号 张三", 100);
    pay("PAY-2026-000004", "赵某某", "案款", 300);
    pay("PAY-2026-000005", "张三", "(2025)豫0381民初567号 张三 履行判决款", 10000);
    kit_flush(&K);

    /* Sure: applied to A at once, by the worker. */
    expect("select state from cases where case_no = $1", "PAY-2026-000001", "applied");
    expect("select state from cases where case_no = $1", "PAY-2026-000005", "applied");
    expect("select body -> 'data' ->> 'applied_to' from cases where case_no = $1",
           "PAY-2026-000001", A);
    expect("select count(*) from events where case_no = $1 and type = 'payment.matched' and "
           "body -> 'data' ->> 'method' = 'auto'",
           A, "2");
    expect("select body -> 'data' ->> 'received_total' from cases where case_no = $1", A, "30000");
    expect("select params ->> 'balance' from tasks where case_no = $1 and activity = 'payout' and "
           "status = 'open'",
           A, "30000");

    /* Not sure: on the clerk's queue with the candidates, best first. */
    expect("select state from cases where case_no = $1", "PAY-2026-000002", "clearing");
    expect("select params -> 'candidates' -> 0 ->> 'case_no' from tasks where case_no = $1 and "
           "activity = 'match_payment' and status = 'open'",
           "PAY-2026-000002", B);
    expect("select state from cases where case_no = $1", "PAY-2026-000003", "clearing");
    expect("select params -> 'candidates' -> 0 ->> 'case_no' from tasks where case_no = $1 and "
           "activity = 'match_payment'",
           "PAY-2026-000003", A);
    expect("select params -> 'candidates' -> 1 ->> 'case_no' from tasks where case_no = $1 and "
           "activity = 'match_payment'",
           "PAY-2026-000003", B);
    expect("select params -> 'candidates' -> 0 ->> 'confidence' from tasks where case_no = $1 "
           "and activity = 'match_payment'",
           "PAY-2026-000003", "80");
    expect_form_candidates("PAY-2026-000003");
    expect("select state from cases where case_no = $1", "PAY-2026-000004", "clearing");
    expect("select jsonb_array_length(params -> 'candidates') from tasks where case_no = $1 and "
           "activity = 'match_payment'",
           "PAY-2026-000004", "0");
    expect("select count(*) from events where case_no = $1 and type = 'payment.matched'", B, "0");

    /* The clerk applies the name-only payment to the candidate. */
    complete("PAY-2026-000002", "match_payment", "payment_clerk", "王会", "clerk",
             json_pack("{s:b, s:s}", "matched", 1, "apply_to", B));
    expect("select state from cases where case_no = $1", "PAY-2026-000002", "applied");
    expect("select body -> 'data' ->> 'matched_by' from events where case_no = $1 and type = "
           "'payment.matched'",
           B, "王会");
    expect("select body -> 'data' ->> 'method' from events where case_no = $1 and type = "
           "'payment.matched'",
           B, "manual");

    /* The auction's proceeds of B go into the same payout: its balance grows. */
    kit_send_json(&K, json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:i, s:s}}", "id",
                                "auction-proceeds-1", "type", "proceeds.received", "case", B,
                                "time", NOW, "source", "worker:auction", "data", "case_no", B,
                                "amount", 3000, "source", "auction"));
    kit_flush(&K);
    expect("select params ->> 'balance' from tasks where case_no = $1 and activity = 'payout' and "
           "status = 'open'",
           B, "8000");

    /* A's payout: to another account refused with the reason, to its own waits for finance. */
    complete(A, "payout", "payment_clerk", "王会", "payout-wrong",
             json_pack("{s:i, s:s, s:s}", "amount", 30000, "payee", "张三", "account",
                       "6222020000009999999"));
    assert_int_equal(kit_wait_count(&K,
                                    "select count(*) from dead_letters where reason like "
                                    "'%收款账号不是本案登记的申请执行人账户%'",
                                    1, WAIT),
                     1);
    complete(A, "payout", "payment_clerk", "王会", "payout",
             json_pack("{s:i, s:s, s:s}", "amount", 30000, "payee", "张三", "account", ACCOUNT));
    expect("select body -> 'data' ->> 'payout_pending' from cases where case_no = $1", A, "30000");
    /* The payout leaves the case where it was: waiting for its filing review. */
    expect("select state from cases where case_no = $1", A, "review");

    /* Finance confirms: the whole claim paid, the case closes as fully performed. */
    kit_send_json(&K, json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "id", "finance-1", "type",
                                "case.decided", "case", A, "time", NOW, "source",
                                "staff:finance:钱会计", "data", "decision", "payout_confirmed"));
    kit_flush(&K);
    expect("select state from cases where case_no = $1", A, "closed");
    expect("select body -> 'data' ->> 'close_method' from cases where case_no = $1", A, "执行完毕");
    expect("select body -> 'data' ->> 'paid_total' from cases where case_no = $1", A, "30000");
}

static int teardown(void **state)
{
    (void)state;
    if (worker > 0)
        kit_engine_stop(&K, worker, SIGTERM);
    if (engine > 0)
        kit_engine_stop(&K, engine, SIGTERM);
    kit_done(&K);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test_teardown(test_payments, teardown)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
