/* Unit tests of core/form and the `result:` of staff tasks in core/workflow: the court's
 * declarations load, the form a client draws says what they say, results are checked against
 * them, and mistakes in a declaration are reported where they are. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/decision.h"
#include "core/form.h"
#include "core/workflow.h"
#include "fixture.h"

/* Checks `json` (a result) against staff task `kind` of `wf`; returns the code, the message in
 * `err`. */
static int check(const cf_workflow *wf, const char *kind, const char *json, char *err, size_t n)
{
    json_t *v = json_loads(json, 0, NULL);
    const cf_task_kind *k = cf_workflow_kind(wf, kind);
    int rc;
    assert_non_null(v);
    assert_non_null(k);
    err[0] = '\0';
    rc = cf_form_check(wf, k, NULL, v, err, n);
    json_decref(v);
    return rc;
}

static void test_court_forms(void **state)
{
    (void)state;
    cf_workflow *wf = fx_workflow_load("workflows/enforcement_case.yaml");
    const cf_task_kind *k = cf_workflow_kind(wf, "intake_check");
    json_t *form, *fields, *f;
    char err[256];

    assert_int_equal(k->nresult, 3);
    form = cf_form_json(wf, k, NULL);
    assert_string_equal(json_string_value(json_object_get(form, "title")), "立案信息核查");
    assert_true(json_is_true(json_object_get(form, "declared")));
    fields = json_object_get(form, "fields");
    f = json_array_get(fields, 0);
    assert_string_equal(json_string_value(json_object_get(f, "name")), "complete");
    assert_string_equal(json_string_value(json_object_get(f, "type")), "yes_no");
    assert_true(json_is_true(json_object_get(f, "required")));
    f = json_array_get(fields, 1);
    assert_true(json_is_false(json_object_get(json_object_get(f, "required_if"), "complete")));
    assert_int_equal(json_integer_value(json_object_get(f, "max")), 500);
    f = json_array_get(fields, 2);
    assert_int_equal(json_array_size(json_object_get(f, "choices")), 4);
    json_decref(form);

    /* A post field's choices carry the posts' titles. */
    form = cf_form_json(wf, cf_workflow_kind(wf, "handler_decision"), NULL);
    f = json_array_get(json_object_get(form, "fields"), 0);
    assert_string_equal(json_string_value(json_object_get(f, "type")), "post");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(f, "choices"), 1), "title")),
                        "执行二团队");
    json_decref(form);

    /* A court with three teams (a view, as engine/registry.c makes) offers those three and the
     * posts that are no team, and refuses another team of the workflow's six (#16). */
    {
        static const char *three[] = {"team_1", "team_2", "team_3"};
        cf_workflow court = *wf;
        const cf_task_kind *hd = cf_workflow_kind(wf, "handler_decision");
        json_t *result = json_pack("{s:s}", "post", "team_5");
        court.teams = three;
        court.nteams = 3;
        form = cf_form_json(wf, hd, &court);
        f = json_object_get(json_array_get(json_object_get(form, "fields"), 0), "choices");
        assert_int_equal(json_array_size(f), 4);
        assert_string_equal(json_string_value(json_object_get(json_array_get(f, 2), "value")),
                            "team_3");
        assert_string_equal(json_string_value(json_object_get(json_array_get(f, 3), "value")),
                            "terminate_handler");
        json_decref(form);
        assert_int_equal(cf_form_check(wf, hd, &court, result, err, sizeof err), CF_EINVAL);
        assert_string_equal(err, "/result/post: is a team this court does not have");
        assert_int_equal(cf_form_check(wf, hd, wf, result, err, sizeof err), 0);
        json_decref(result);
    }

    assert_int_equal(check(wf, "intake_check", "{\"complete\": true}", err, sizeof err), 0);
    assert_int_equal(check(wf, "intake_check", "{}", err, sizeof err), CF_EINVAL);
    assert_string_equal(err, "/result/complete: is required");
    assert_int_equal(check(wf, "intake_check", "{\"complete\": \"yes\"}", err, sizeof err),
                     CF_EINVAL);
    assert_string_equal(err, "/result/complete: must be true or false");
    /* No, with the reason: the reason is then required, and empty text is no reason. */
    assert_int_equal(
        check(wf, "intake_check", "{\"complete\": false, \"problems\": \"\"}", err, sizeof err),
        CF_EINVAL);
    assert_string_equal(err, "/result/problems: is required");
    assert_int_equal(check(wf, "intake_check",
                           "{\"complete\": false, \"problems\": \"缺少送达地址\"}", err,
                           sizeof err),
                     0);
    assert_int_equal(
        check(wf, "intake_check", "{\"complete\": true, \"special\": \"串案\"}", err, sizeof err),
        CF_EINVAL);
    assert_string_equal(err, "/result/special: is not one of its 4 choices");
    /* What the form does not declare passes: the workflow's dry run judges it. */
    assert_int_equal(check(wf, "execution_plan", "{\"measures\": [\"冻结存款\"]}", err, sizeof err),
                     0);
    assert_int_equal(check(wf, "handler_decision", "{\"post\": \"team_7\"}", err, sizeof err),
                     CF_EINVAL);
#define PAYEE "\"payee\": \"张三\", \"account\": \"6222020000001234567\""
    assert_int_equal(check(wf, "payout", "{\"amount\": 1234.56, " PAYEE "}", err, sizeof err), 0);
    assert_int_equal(check(wf, "payout", "{\"amount\": 1234.56}", err, sizeof err), CF_EINVAL);
    assert_string_equal(err, "/result/payee: is required");
    assert_int_equal(check(wf, "payout", "{\"amount\": 12.345, " PAYEE "}", err, sizeof err),
                     CF_EINVAL);
    assert_string_equal(err, "/result/amount: at most two decimals (fen)");
    assert_int_equal(check(wf, "payout", "{\"amount\": -1, " PAYEE "}", err, sizeof err),
                     CF_EINVAL);
    assert_int_equal(check(wf, "payout", "{\"amount\": 1, \"paid_on\": \"2026-02-29\", " PAYEE "}",
                           err, sizeof err),
                     CF_EINVAL);
    assert_int_equal(check(wf, "payout", "{\"amount\": 1, \"paid_on\": \"2028-02-29\", " PAYEE "}",
                           err, sizeof err),
                     0);
#undef PAYEE
    assert_int_equal(check(wf, "intake_check", "[true]", err, sizeof err), CF_EINVAL);
    cf_workflow_free(wf);

    wf = fx_workflow_load("workflows/voluntary_payment.yaml");
    /* A match names an open case (apply_to) or the judgment (case_no): the workflow refuses one
     * with neither (tests/scenarios/voluntary_payment_applied); the form checks each field. */
    assert_int_equal(check(wf, "match_payment", "{\"matched\": \"yes\"}", err, sizeof err),
                     CF_EINVAL);
    assert_string_equal(err, "/result/matched: must be true or false");
    assert_int_equal(check(wf, "match_payment",
                           "{\"matched\": true, \"apply_to\": \"(2026)豫0381执1号\"}", err,
                           sizeof err),
                     0);
    assert_int_equal(check(wf, "match_payment", "{\"matched\": false}", err, sizeof err), 0);
    cf_workflow_free(wf);
}

/* The names of the decisions in `list` (cf_decision_list), ", "-separated, into `out`. */
static const char *names(json_t *list, char *out, size_t n)
{
    size_t o = 0, i;
    json_t *d;

    out[0] = '\0';
    json_array_foreach (list, i, d)
        o += (size_t)snprintf(out + o, o < n ? n - o : 0, "%s%s", i ? ", " : "",
                              json_string_value(json_object_get(d, "decision")));
    return out;
}

/* The court's decisions carry fields (`fields:`) checked as a result is; who may make which
 * decision where is the engine's rule (core/decision.h), here listed for one post. */
static void test_decision_forms(void **state)
{
    (void)state;
    cf_workflow *wf = fx_workflow_load("workflows/enforcement_case.yaml");
    const cf_decision *close = cf_workflow_decision(wf, "close");
    const cf_decision *defer = cf_workflow_decision(wf, "defer");
    json_t *v, *list, *f, *st;
    char err[256], buf[2048];

    assert_int_equal(close->nfields, 1);
    f = cf_form_fields_json(wf, NULL, close->fields, close->nfields);
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 0), "name")),
                        "close_method");
    assert_int_equal(json_array_size(json_object_get(json_array_get(f, 0), "choices")), 6);
    json_decref(f);
    v = json_pack("{s:s, s:s}", "decision", "close", "close_method", "结了");
    assert_int_equal(
        cf_form_check_fields(wf, NULL, close->fields, close->nfields, v, "", err, sizeof err),
        CF_EINVAL);
    assert_string_equal(err, "/close_method: is not one of its 6 choices");
    json_object_set_new(v, "close_method", json_string("执行完毕"));
    assert_int_equal(
        cf_form_check_fields(wf, NULL, close->fields, close->nfields, v, "", err, sizeof err), 0);
    json_object_del(v, "close_method");
    assert_int_equal(
        cf_form_check_fields(wf, NULL, close->fields, close->nfields, v, "", err, sizeof err),
        CF_EINVAL);
    assert_string_equal(err, "/close_method: is required");
    json_decref(v);
    /* A number is whole and from 0. */
    v = json_pack("{s:f}", "months", 1.5);
    assert_int_equal(
        cf_form_check_fields(wf, NULL, defer->fields, defer->nfields, v, "", err, sizeof err),
        CF_EINVAL);
    assert_string_equal(err, "/months: must be a whole number from 0");
    json_object_set_new(v, "months", json_integer(3));
    assert_int_equal(
        cf_form_check_fields(wf, NULL, defer->fields, defer->nfields, v, "", err, sizeof err), 0);
    json_decref(v);

    /* A handler team decides on its own cases, the bureau lead on every one; nobody in a final
     * state, and only the bureau lead suspends. */
    st = json_pack("{s:s, s:{s:s}}", "state", "execution", "data", "handler_post", "team_1");
    list = cf_decision_list(wf, st, "team_1", err, sizeof err);
    assert_non_null(list);
    assert_non_null(strstr(names(list, buf, sizeof buf), "close"));
    assert_null(strstr(buf, "suspend"));
    assert_null(strstr(buf, "payout_confirmed"));
    json_decref(list);
    list = cf_decision_list(wf, st, "team_2", err, sizeof err);
    assert_string_equal(names(list, buf, sizeof buf), "");
    json_decref(list);
    list = cf_decision_list(wf, st, "bureau_lead", err, sizeof err);
    assert_non_null(strstr(names(list, buf, sizeof buf), "suspend"));
    json_decref(list);
    list = cf_decision_list(wf, st, "finance", err, sizeof err);
    assert_string_equal(names(list, buf, sizeof buf), "payout_confirmed");
    json_decref(list);
    json_object_set_new(st, "state", json_string("closed"));
    list = cf_decision_list(wf, st, "team_1", err, sizeof err);
    assert_string_equal(names(list, buf, sizeof buf), "");
    json_decref(list);
    json_object_set_new(st, "state", json_string("archived"));
    list = cf_decision_list(wf, st, "finance", err, sizeof err);
    assert_string_equal(names(list, buf, sizeof buf), "");
    json_decref(list);
    json_decref(st);
    cf_workflow_free(wf);
}

static cf_workflow *parse(const char *tasks, cf_diags *d)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "workflow: unit\nversion: 1\ncalendar: ../../workflows/calendars/cn.yaml\n"
             "schemas: ../../schemas/events\ninitial: filed\n"
             "posts: {intake: 集约启动岗, team_1: 执行一团队}\n"
             "workers:\n  documents: {title: 文书, post: intake}\n"
             "staff_tasks:\n%s"
             "events: [case.filed]\nstates:\n  filed:\n    final: true\n"
             "returns: {default: requeue}\n",
             tasks);
    return fx_workflow_parse(yaml, d);
}

/* Each broken declaration, and the line:column and message of its first problem. */
static void test_declaration_mistakes(void **state)
{
    (void)state;
    static const struct {
        const char *tasks, *want;
    } cases[] = {
        {"  a:\n    post: intake\n    result:\n      x: {title: X}\n",
         "13:10: result field 'x' needs a type"},
        {"  a:\n    post: intake\n    result:\n      x: {type: count}\n",
         "13:17: unknown field type 'count'"},
        {"  a:\n    post: intake\n    result:\n      x: {type: choice}\n",
         "13:10: result field 'x' is a choice: give its choices"},
        {"  a:\n    post: intake\n    result:\n      x: {type: post, choices: [team_9]}\n",
         "13:32: result field 'x': 'team_9' is not a post of the workflow"},
        {"  a:\n    post: intake\n    result:\n      x: {type: text, required_if: {y: true}}\n",
         "13:7: result field 'x': required_if names 'y', which is no yes/no field"},
        {"  a:\n    post: intake\n    result:\n      x: {type: yes_no, max: 3}\n",
         "13:30: max is for text fields"},
        {"  a:\n    post: intake\n    result:\n      x: {type: text, colour: red}\n",
         "13:23: unknown key 'colour' in a result field"},
    };
    int wrong = 0;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cf_diags d;
        cf_workflow *wf = parse(cases[i].tasks, &d);
        const char *m = d.count ? strstr(d.lines[0], "unit.yaml:") : NULL;
        if (!m || !strstr(m, cases[i].want)) {
            print_error("case %zu: want '%s', got '%s'\n", i, cases[i].want,
                        d.count ? d.lines[0] : "(nothing)");
            wrong++;
        }
        assert_null(wf);
        cf_diags_free(&d);
    }
    assert_int_equal(wrong, 0);
    {
        /* A worker kind has no form. */
        cf_diags d;
        cf_workflow *wf;
        const char *yaml =
            "workflow: unit\nversion: 1\ncalendar: ../../workflows/calendars/cn.yaml\n"
            "schemas: ../../schemas/events\ninitial: filed\nposts: {intake: 岗}\n"
            "workers:\n  documents: {title: 文书, post: intake, result: {}}\n"
            "events: [case.filed]\nstates:\n  filed:\n    final: true\n";
        wf = fx_workflow_parse(yaml, &d);
        assert_null(wf);
        assert_non_null(strstr(d.lines[0], "only staff tasks declare a result form"));
        cf_diags_free(&d);
    }
    {
        /* A decision's fields are declared as a result's, and none is called `decision`. */
        static const struct {
            const char *fields, *want;
        } bad[] = {
            {"{x: {type: choice}}", "result field 'x' is a choice: give its choices"},
            {"{decision: {type: text}}", "a field may not be called 'decision'"},
            {"[x]", "fields must be a mapping"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            cf_diags d;
            cf_workflow *wf;
            char yaml[1024];
            snprintf(yaml, sizeof yaml,
                     "workflow: unit\nversion: 1\ncalendar: ../../workflows/calendars/cn.yaml\n"
                     "schemas: ../../schemas/events\ninitial: filed\nposts: {intake: 岗}\n"
                     "events: [case.filed, case.decided]\nstates:\n  filed:\n"
                     "    on:\n      - event: case.decided\n        to: done\n"
                     "  done:\n    final: true\n"
                     "decisions:\n  close: {by: [intake], fields: %s}\n",
                     bad[i].fields);
            wf = fx_workflow_parse(yaml, &d);
            assert_null(wf);
            if (!d.count || !strstr(d.lines[0], bad[i].want))
                fail_msg("case %zu: want '%s', got '%s'", i, bad[i].want,
                         d.count ? d.lines[0] : "(nothing)");
            cf_diags_free(&d);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_court_forms),
        cmocka_unit_test(test_declaration_mistakes),
        cmocka_unit_test(test_decision_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
