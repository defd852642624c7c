/* Unit tests of core/workflow: loading the court's workflows, the model the loader builds, and
 * the positions of the problems `caseflow check` reports (tests/workflows/broken/ has one file
 * per class of mistake; these tests cover what a file cannot: order, folded scalars, memory). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/workflow.h"
#include "fixture.h"

/* The message of problem i without its "path:" prefix: "line:column: message". */
static const char *where(const cf_diags *d, size_t i)
{
    const char *s = d->lines[i], *m = strstr(s, "unit.yaml:");
    return m ? m + strlen("unit.yaml:") : s;
}

static const char HEAD[] = "workflow: unit\n"
                           "version: 1\n"
                           "calendar: ../../workflows/calendars/cn.yaml\n"
                           "schemas: ../../schemas/events\n"
                           "initial: filed\n"
                           "posts: {intake: 集约启动岗, team_1: 执行一团队}\n"
                           "staff_tasks: {intake_check: {title: 核查, post: intake},\n"
                           "  incident: {title: 异常, post: intake}}\n"
                           "returns: {default: requeue}\n"
                           "events: [case.filed]\n";

static void test_enforcement_case_loads(void **state)
{
    (void)state;
    cf_workflow *wf = fx_workflow_load("workflows/enforcement_case.yaml");
    static const char *const spine[] = {"filed",     "assigned", "notices", "queries",
                                        "execution", "closed",   "archived"};

    assert_string_equal(wf->name, "enforcement_case");
    /* Version 3: the filing review before the intake check (versions 1 and 2 are kept). */
    assert_int_equal(wf->version, 3);
    assert_string_equal(wf->creates_on, "case.filed");
    assert_string_equal(wf->states[wf->initial].name, "filed");
    for (size_t i = 0; i < sizeof spine / sizeof spine[0]; i++)
        assert_true(cf_workflow_state_index(wf, spine[i]) >= 0);
    assert_true(wf->states[cf_workflow_state_index(wf, "archived")].final);
    assert_false(wf->states[cf_workflow_state_index(wf, "closed")].final);

    /* Six teams in order, each a declared post. */
    assert_int_equal(wf->nteams, 6);
    assert_string_equal(wf->teams[0], "team_1");
    assert_string_equal(wf->teams[5], "team_6");
    for (size_t i = 0; i < wf->nteams; i++)
        assert_non_null(cf_workflow_post(wf, wf->teams[i]));
    assert_non_null(cf_workflow_post(wf, "bureau_lead"));
    assert_non_null(cf_workflow_post(wf, "terminate_handler"));

    /* The batched kinds and what they are grouped by. */
    assert_string_equal(cf_workflow_kind(wf, "six_checks")->group_by, "office");
    assert_string_equal(cf_workflow_kind(wf, "service")->group_by, "route");
    assert_string_equal(cf_workflow_kind(wf, "archive")->group_by, "ledger");
    assert_null(cf_workflow_kind(wf, "documents")->batch);
    assert_true(cf_workflow_kind(wf, "documents")->worker);
    assert_false(cf_workflow_kind(wf, "intake_check")->worker);

    /* Every declared event has its schema. */
    for (size_t i = 0; i < wf->nevents; i++)
        assert_non_null(wf->events[i].schema);
    assert_non_null(wf->calendar);
    cf_workflow_free(wf);
}

/* Does transition `t` make the filing review task, due at `due`? */
static int makes_review(const cf_transition *t, const char *due)
{
    for (size_t i = 0; i < t->nactions; i++)
        if (t->actions[i].kind == CF_ACT_TASK && strcmp(t->actions[i].name, "filing_review") == 0)
            return strcmp(t->actions[i].at_text, due) == 0;
    return 0;
}

/* Version 3 (#12): the filing reviewer's work comes before the intake check.  `filed` goes to
 * `review` with the review task due on the filing day at 17:30 (a preservation case, 执保, to
 * `intake` at once, unreviewed); `review` goes on to `intake` or back to `correction`; a
 * correction comes back to `review` with the task due that day; no transition of any state
 * takes the review any more.  Version 2 stays loadable beside it. */
static void test_filing_review_before_intake(void **state)
{
    (void)state;
    cf_workflow *wf = fx_workflow_load("workflows/enforcement_case.yaml");
    cf_workflow *v2 = fx_workflow_load("workflows/enforcement_case.v2.yaml");
    const cf_state *filed = &wf->states[cf_workflow_state_index(wf, "filed")];
    const cf_state *review = &wf->states[cf_workflow_state_index(wf, "review")];
    const cf_state *correction = &wf->states[cf_workflow_state_index(wf, "correction")];
    size_t to_intake = 0, to_review = 0, to_correction = 0;

    assert_true(cf_workflow_state_index(wf, "review") >= 0);
    for (size_t i = 0; i < filed->nenter; i++)
        assert_false(filed->enter[i].kind == CF_ACT_TASK &&
                     strcmp(filed->enter[i].name, "filing_review") == 0);
    for (size_t i = 0; i < filed->non; i++) {
        assert_null(filed->on[i].on);
        if (strcmp(filed->on[i].to, "intake") == 0) {
            assert_string_equal(filed->on[i].guard_text, "case.case_type == \"执保\"");
            assert_false(makes_review(&filed->on[i], "case.filed_at at 17:30"));
            to_intake++;
        } else {
            assert_string_equal(filed->on[i].to, "review");
            assert_true(makes_review(&filed->on[i], "case.filed_at at 17:30"));
            to_review++;
        }
    }
    assert_int_equal(to_intake, 1);
    assert_int_equal(to_review, 2);

    assert_string_equal(cf_workflow_kind(wf, "filing_review")->post, "filing_review");
    to_intake = 0;
    for (size_t i = 0; i < review->non; i++) {
        assert_string_equal(review->on[i].on, "task.completed");
        assert_string_equal(review->on[i].task, "filing_review");
        if (strcmp(review->on[i].to, "intake") == 0)
            to_intake++;
        else if (strcmp(review->on[i].to, "correction") == 0)
            to_correction++;
    }
    assert_int_equal(to_intake, 1);
    assert_int_equal(to_correction, 1);

    for (size_t i = 0; i < correction->non; i++)
        if (strcmp(correction->on[i].on, "case.corrected") == 0) {
            assert_string_equal(correction->on[i].to, "review");
            assert_true(makes_review(&correction->on[i], "now at 17:30"));
        }
    for (size_t i = 0; i < wf->nany; i++)
        assert_false(wf->any[i].task && strcmp(wf->any[i].task, "filing_review") == 0);

    assert_int_equal(v2->version, 2);
    assert_int_equal(cf_workflow_state_index(v2, "review"), -1);
    cf_workflow_free(v2);
    cf_workflow_free(wf);
}

static void test_voluntary_payment_loads(void **state)
{
    (void)state;
    cf_workflow *wf = fx_workflow_load("workflows/voluntary_payment.yaml");
    assert_string_equal(wf->creates_on, "payment.received");
    assert_true(wf->states[cf_workflow_state_index(wf, "unmatched")].final);
    assert_true(wf->states[cf_workflow_state_index(wf, "archived")].final);
    cf_workflow_free(wf);
}

/* The timers of days 15, 30 and 45 are started on filing with the rule the issue names. */
static void test_query_timers_declared(void **state)
{
    (void)state;
    cf_workflow *wf = fx_workflow_load("workflows/enforcement_case.yaml");
    const cf_state *filed = &wf->states[cf_workflow_state_index(wf, "filed")];
    static const char *const names[] = {"query_day_15", "query_day_30", "query_day_45"};
    static const char *const at[] = {"15 days after case.filed_at", "30 days after case.filed_at",
                                     "45 days after case.filed_at"};
    size_t found = 0;

    for (size_t i = 0; i < filed->nenter; i++)
        for (size_t k = 0; k < 3; k++)
            if (filed->enter[i].kind == CF_ACT_TIMER &&
                strcmp(filed->enter[i].name, names[k]) == 0) {
                assert_string_equal(filed->enter[i].at_text, at[k]);
                found++;
            }
    assert_int_equal(found, 3);
    cf_workflow_free(wf);
}

/* Timers say what they remind of in the workflow, on the action or on the clock's deadline: the
 * report takes their titles from there, not from C. */
static void test_timer_titles(void **state)
{
    (void)state;
    cf_workflow *wf = fx_workflow_load("workflows/enforcement_case.yaml");

    assert_string_equal(cf_workflow_timer_title(wf, "query_day_15"), "立案第15日 再次查控提醒");
    assert_string_equal(cf_workflow_timer_title(wf, "handling_warning"), "执行期限届满前提醒");
    assert_string_equal(cf_workflow_timer_title(wf, "handling_limit"), "超过执行期限");
    assert_string_equal(cf_workflow_timer_title(wf, "requery"), "终本案件定期查控");
    assert_null(cf_workflow_timer_title(wf, "no_such_timer"));
    /* The deadline's mapping form keeps its time expression. */
    assert_string_equal(cf_workflow_clock(wf, "handling")->deadlines[0].text,
                        "15 days before clock.handling");
    cf_workflow_free(wf);
}

/* Problems come in the order of the file, whatever order the checks found them in. */
static void test_problems_sorted_by_position(void **state)
{
    (void)state;
    cf_diags d;
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "%s"
             "states:\n"
             "  filed:\n"
             "    on_enter:\n"
             "      - task: intake_chek\n" /* line 14: unknown kind */
             "    on:\n"
             "      - event: task.completed\n"
             "        to: nowhere\n" /* line 17: unknown state */
             "  done:\n"
             "    final: true\n"
             "    titel: x\n", /* line 20: unknown key */
             HEAD);
    cf_workflow *wf = fx_workflow_parse(yaml, &d);
    assert_null(wf);
    assert_int_equal(d.count, 3);
    assert_string_equal(where(&d, 0), "14:15: unknown task kind 'intake_chek' (declare it under "
                                      "workers or staff_tasks)");
    assert_string_equal(where(&d, 1), "17:13: unknown state 'nowhere'");
    assert_string_equal(where(&d, 2), "20:5: unknown key 'titel' in a state");
    cf_diags_free(&d);
}

/* An expression folded over several lines (`>-`), a literal block and a quoted text with an
 * escape: the column of a problem is found in the file, not only in the joined text. */
static void test_positions_inside_multiline_scalars(void **state)
{
    (void)state;
    cf_diags d;
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "%s"
             "states:\n"
             "  filed:\n"
             "    on_enter:\n"
             "      - task: intake_check\n"
             "    on:\n"
             "      - event: task.completed\n"
             "        if: >-\n"              /* line 17 */
             "          exists(case.a)\n"    /* line 18 */
             "\n"                            /* line 19 */
             "          and case.b == = 1\n" /* line 20: '=' at column 25 */
             "        to: done\n"
             "      - event: task.completed\n"
             "        if: |\n"              /* line 23 */
             "          exists(case.a)\n"   /* line 24 */
             "            and case.b ! 1\n" /* line 25: '!' at column 24 */
             "        to: done\n"
             "      - event: task.completed\n"
             "        if: \"case.x == \\\"a\\\" and ?\"\n" /* line 28: '?' at column 34 */
             "        to: done\n"
             "  done:\n"
             "    final: true\n",
             HEAD);
    cf_workflow *wf = fx_workflow_parse(yaml, &d);
    assert_null(wf);
    assert_int_equal(d.count, 3);
    assert_true(strncmp(where(&d, 0), "20:25: if: ", 11) == 0);
    assert_true(strncmp(where(&d, 1), "25:24: if: ", 11) == 0);
    assert_true(strncmp(where(&d, 2), "28:34: if: ", 11) == 0);
    cf_diags_free(&d);
}

/* `cancel_task: [a, b]` is one action per name, each placed at its name. */
static void test_cancel_lists(void **state)
{
    (void)state;
    cf_diags d;
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "%s"
             "states:\n"
             "  filed:\n"
             "    on_enter:\n"
             "      - task: intake_check\n"
             "      - timer: t1\n"
             "        at: 1 day after now\n"
             "    on:\n"
             "      - event: task.completed\n"
             "        to: done\n"
             "        do:\n"
             "          - cancel_task: [intake_check, nothing]\n" /* line 21 */
             "          - cancel_timer: [t1]\n"
             "  done:\n"
             "    final: true\n",
             HEAD);
    cf_workflow *wf = fx_workflow_parse(yaml, &d);
    assert_null(wf);
    assert_int_equal(d.count, 1);
    assert_string_equal(where(&d, 0),
                        "21:41: cancel_task 'nothing' names no task of this workflow");
    cf_diags_free(&d);

    /* Without the mistake it loads, and the list is two actions. */
    snprintf(yaml, sizeof yaml,
             "%s"
             "states:\n"
             "  filed:\n"
             "    on_enter:\n"
             "      - task: intake_check\n"
             "      - task: intake_check\n"
             "        as: second\n"
             "    on:\n"
             "      - event: task.completed\n"
             "        to: done\n"
             "        do:\n"
             "          - cancel_task: [intake_check, second]\n"
             "  done:\n"
             "    final: true\n",
             HEAD);
    wf = fx_workflow_parse(yaml, &d);
    assert_non_null(wf);
    {
        const cf_transition *t = &wf->states[0].on[0];
        assert_int_equal(t->nactions, 2);
        assert_int_equal(t->actions[0].kind, CF_ACT_CANCEL_TASK);
        assert_string_equal(t->actions[0].name, "intake_check");
        assert_string_equal(t->actions[1].name, "second");
        assert_int_equal(t->actions[1].name_pos.col, 41);
    }
    cf_workflow_free(wf);
    cf_diags_free(&d);
}

/* An activity named at run time (`as: incident_${task.name}`) is not a name done() can use. */
static void test_templated_activity_names(void **state)
{
    (void)state;
    cf_diags d;
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "%s"
             "states:\n"
             "  filed:\n"
             "    on_enter:\n"
             "      - task: intake_check\n"
             "    on:\n"
             "      - when: done(incident_x)\n" /* line 16 */
             "        to: done\n"
             "  done:\n"
             "    final: true\n"
             "any_state:\n"
             "  - event: task.failed\n"
             "    do:\n"
             "      - task: incident\n"
             "        as: incident_${task.name}\n",
             HEAD);
    cf_workflow *wf = fx_workflow_parse(yaml, &d);
    assert_null(wf);
    assert_int_equal(d.count, 1);
    assert_true(strncmp(where(&d, 0), "16:20: when: no task of this workflow is named 'incident_x'",
                        59) == 0);
    cf_diags_free(&d);
}

static void test_bad_yaml_and_empty(void **state)
{
    (void)state;
    cf_diags d;
    cf_workflow *wf = fx_workflow_parse("workflow: x\n  version: 1\n", &d);
    assert_null(wf);
    assert_int_equal(d.count, 1);
    assert_non_null(strstr(d.lines[0], "unit.yaml:2:10: bad YAML: "));
    cf_diags_free(&d);

    wf = fx_workflow_parse("", &d);
    assert_null(wf);
    assert_int_equal(d.count, 1);
    assert_non_null(strstr(d.lines[0], "unit.yaml:1:1: the file is empty"));
    cf_diags_free(&d);

    cf_diags_init(&d);
    assert_null(cf_workflow_load("/nonexistent/dir/x.yaml", &d));
    assert_int_equal(d.count, 1);
    assert_non_null(strstr(d.lines[0], "/nonexistent/dir/x.yaml:1:1: cannot open: "));
    cf_diags_free(&d);
    cf_workflow_free(NULL);
}

/* Many problems: the list grows and keeps them all, in order. */
static void test_diags_grow(void **state)
{
    (void)state;
    cf_diags d;
    cf_diags_init(&d);
    for (int i = 100; i > 0; i--)
        cf_diags_add(&d, "f.yaml", (cf_pos){i, 1}, "problem %d", i);
    assert_int_equal(d.count, 100);
    assert_int_equal(d.lost, 0);
    assert_string_equal(d.lines[0], "f.yaml:100:1: problem 100");
    assert_int_equal(d.where[99].line, 1);
    cf_diags_free(&d);
    assert_int_equal(d.count, 0);
    assert_null(d.lines);
}

/* Damaged files (cut short, bytes changed) never crash the loader, and every problem it reports
 * has a position inside the file.  Runs under the sanitizers like every unit test. */
static void test_damaged_files(void **state)
{
    (void)state;
    char path[1024];
    FILE *f;
    char *text, *copy;
    long len;
    unsigned rnd = 12345;
    int lines = 1;

    snprintf(path, sizeof path, "%s/workflows/enforcement_case.yaml", fx_source_dir());
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    text = malloc((size_t)len + 1);
    copy = malloc((size_t)len + 1);
    assert_non_null(text);
    assert_non_null(copy);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    text[len] = '\0';
    for (long i = 0; i < len; i++)
        lines += text[i] == '\n';

    for (int round = 0; round < 160; round++) {
        long n = len;
        cf_diags d;
        cf_workflow *wf;

        memcpy(copy, text, (size_t)len + 1);
        if (round % 2 == 0) {
            n = (long)((unsigned long)len * (unsigned long)round / 160); /* cut short */
        } else {
            for (int k = 0; k < 3; k++) { /* three bytes changed to ones that matter to YAML */
                static const char bad[] = ":-[]{}#'\"\n >|&*!%@`,?\t";
                rnd = rnd * 1103515245u + 12345u;
                copy[(rnd >> 8) % (unsigned)len] = bad[(rnd >> 20) % (sizeof bad - 1)];
            }
        }
        cf_diags_init(&d);
        wf = cf_workflow_parse(path, copy, (size_t)n, &d);
        assert_true(wf != NULL || d.count + d.lost > 0);
        for (size_t i = 0; i < d.count; i++) {
            assert_true(d.where[i].line >= 1 && d.where[i].line <= lines + 1);
            assert_true(d.where[i].col >= 1);
        }
        cf_workflow_free(wf);
        cf_diags_free(&d);
    }
    free(text);
    free(copy);
}

/* The column of an unknown activity is that of the name itself, not of the same word inside a
 * quoted text or as part of a path before it. */
static void test_word_columns(void **state)
{
    (void)state;
    cf_diags d;
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "%s"
             "states:\n"
             "  filed:\n"
             "    on_enter:\n"
             "      - task: intake_check\n"
             "    on:\n"
             "      - when: 'case.n == \"x\\\" nope\" and case.nope and done(nope)'\n" /* line 16 */
             "        to: done\n"
             "  done:\n"
             "    final: true\n",
             HEAD);
    cf_workflow *wf = fx_workflow_parse(yaml, &d);
    assert_null(wf);
    assert_int_equal(d.count, 1);
    /* The text starts after the quote, at column 16; the name in done(nope) is its 45th. */
    assert_true(
        strncmp(where(&d, 0), "16:60: when: no task of this workflow is named 'nope'", 53) == 0);
    cf_diags_free(&d);
}

/* A definition of 5,000 states (each with a task, an event transition to the next and an automatic
 * one a few states on) loads and is checked whole: every name is looked up through the
 * workflow's sorted indexes, so loading grows with the states, not with their square (measured
 * for 1,000, 5,000 and 20,000 states in the report of #15; tests do not assert timings). */
static void test_large_definition_loads(void **state)
{
    (void)state;
    enum { N = 5000 };
    fx_text t = {0};
    cf_diags d;
    cf_workflow *wf;
    char name[32];

    /* HEAD, starting from s0. */
    fx_put(&t, "%.*ss0%s", (int)(strstr(HEAD, "filed\n") - HEAD), HEAD,
           strstr(HEAD, "\n"
                        "posts"));
    fx_put(&t, "states:\n");
    for (int i = 0; i < N; i++)
        fx_put(&t,
               "  s%d:\n"
               "    on_enter:\n"
               "      - task: intake_check\n"
               "        as: check_%d\n"
               "    on:\n"
               "      - event: task.completed\n"
               "        task: check_%d\n"
               "        to: s%d\n"
               "      - when: done(check_%d) and case.n > %d\n"
               "        to: s%d\n",
               i, i, i, i + 1, i, i, i + 2 + i % 5 < N ? i + 2 + i % 5 : N);
    fx_put(&t, "  s%d:\n    final: true\n", N);
    fx_put(&t, "any_state:\n  - event: case.filed\n    except: [s0, s1, s%d]\n    to: s%d\n", N, N);
    wf = fx_workflow_parse(t.s, &d);
    for (size_t i = 0; i < d.count && i < 5; i++)
        print_error("%s\n", d.lines[i]);
    assert_int_equal(d.count + d.lost, 0);
    assert_non_null(wf);
    assert_int_equal(wf->nstates, N + 1);
    for (int i = 0; i <= N; i += 997) {
        snprintf(name, sizeof name, "s%d", i);
        assert_int_equal(cf_workflow_state_index(wf, name), i);
    }
    assert_int_equal(cf_workflow_state_index(wf, "s5001"), -1);
    assert_int_equal(wf->states[N - 1].on[0].to_index, N);
    assert_int_equal(wf->states[10].on[1].to_index, 12);
    assert_non_null(cf_workflow_post(wf, "team_1"));
    assert_non_null(cf_workflow_kind(wf, "incident"));
    assert_non_null(cf_workflow_event(wf, "timer.fired"));
    assert_null(cf_workflow_event(wf, "case.exploded"));
    cf_workflow_free(wf);
    cf_diags_free(&d);
    free(t.s);
}

/* Names declared twice are reported at each declaration after the first, whatever their
 * number. */
static void test_declared_twice(void **state)
{
    (void)state;
    cf_diags d;
    static const char yaml[] = "workflow: unit\n"
                               "version: 1\n"
                               "calendar: ../../workflows/calendars/cn.yaml\n"
                               "schemas: ../../schemas/events\n"
                               "initial: filed\n"
                               "posts:\n"
                               "  intake: 集约启动岗\n"
                               "  intake: 集约启动岗\n" /* line 8 */
                               "staff_tasks:\n"
                               "  intake_check: {title: 核查, post: intake}\n"
                               "workers:\n"
                               "  intake_check: {title: 核查, post: intake}\n" /* line 12 */
                               "events: [case.filed]\n"
                               "states:\n"
                               "  filed:\n"
                               "    on:\n"
                               "      - event: case.filed\n"
                               "        to: done\n"
                               "  done:\n"
                               "    final: true\n"
                               "  done:\n" /* line 21 */
                               "    final: true\n"
                               "  done:\n" /* line 23 */
                               "    final: true\n"
                               "returns: {default: requeue}\n";
    cf_workflow *wf = fx_workflow_parse(yaml, &d);
    assert_null(wf);
    assert_int_equal(d.count, 4);
    assert_string_equal(where(&d, 0), "8:3: post 'intake' is declared twice");
    assert_string_equal(where(&d, 1), "10:3: task kind 'intake_check' is declared twice");
    assert_string_equal(where(&d, 2), "21:3: state 'done' is declared twice");
    assert_string_equal(where(&d, 3), "23:3: state 'done' is declared twice");
    cf_diags_free(&d);
}

/* A cycle of automatic transitions is refused with its states named, also through any_state;
 * a chain, or an any_state transition its target is excepted from, is not a cycle. */
static void test_automatic_cycles(void **state)
{
    (void)state;
    static const struct {
        const char *states, *problem;
    } cases[] = {
        {"  filed:\n"
         "    on:\n"
         "      - when: case.n > 1\n" /* line 14 */
         "        to: a\n"
         "  a:\n"
         "    on:\n"
         "      - when: case.n > 2\n"
         "        to: b\n"
         "      - event: case.filed\n"
         "        to: done\n"
         "  b:\n"
         "    on:\n"
         "      - when: case.n > 3\n"
         "        to: filed\n"
         "  done:\n"
         "    final: true\n",
         "14:9: automatic transitions ('when') go round in a cycle of 3 states: filed -> a -> b "
         "-> filed; a case would go round it with no event to stop it"},
        {"  filed:\n"
         "    on:\n"
         "      - when: case.n > 1\n"
         "        to: filed\n" /* a state that enters itself again */
         "      - event: case.filed\n"
         "        to: done\n"
         "  done:\n"
         "    final: true\n",
         "14:9: automatic transitions ('when') go round in a cycle of 1 state: filed -> filed; a "
         "case would go round it with no event to stop it"},
        {"  filed:\n"
         "    on:\n"
         "      - event: case.filed\n"
         "        to: hold\n"
         "  hold:\n"
         "    on:\n"
         "      - event: case.filed\n"
         "        to: done\n"
         "  done:\n"
         "    final: true\n"
         "any_state:\n"
         "  - when: case.held == true\n" /* line 23 */
         "    to: hold\n",
         "23:5: automatic transitions ('when') go round in a cycle of 1 state: hold -> hold; a "
         "case would go round it with no event to stop it"},
        {"  filed:\n"
         "    on:\n"
         "      - when: case.n > 1\n"
         "        to: a\n"
         "  a:\n"
         "    on:\n"
         "      - when: case.n > 2\n"
         "        to: hold\n"
         "  hold:\n"
         "    on:\n"
         "      - event: case.filed\n"
         "        to: done\n"
         "  done:\n"
         "    final: true\n"
         "any_state:\n"
         "  - when: case.held == true\n"
         "    except: [hold]\n"
         "    to: hold\n",
         NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[4096];
        cf_diags d;
        cf_workflow *wf;
        snprintf(yaml, sizeof yaml, "%sstates:\n%s", HEAD, cases[i].states);
        wf = fx_workflow_parse(yaml, &d);
        if (!cases[i].problem) {
            for (size_t k = 0; k < d.count; k++)
                print_error("%s\n", d.lines[k]);
            assert_int_equal(d.count, 0);
            assert_non_null(wf);
        } else {
            assert_null(wf);
            if (d.count != 1)
                fail_msg("case %zu: %zu problems, the first '%s'", i, d.count,
                         d.count ? d.lines[0] : "");
            assert_string_equal(where(&d, 0), cases[i].problem);
        }
        cf_workflow_free(wf);
        cf_diags_free(&d);
    }
}

/* A file with a problem on each of thousands of lines reports the first 1000 and counts the
 * rest, so that placing them costs no more than reading the file. */
static void test_problems_capped(void **state)
{
    (void)state;
    fx_text t = {0};
    cf_diags d;
    fx_put(&t, "%s", HEAD);
    for (int i = 0; i < 1500; i++)
        fx_put(&t, "unknown_%d: 1\n", i);
    fx_put(&t, "states:\n  filed:\n    final: true\n");
    assert_null(fx_workflow_parse(t.s, &d));
    assert_int_equal(d.count, 1001);
    assert_string_equal(where(&d, 0), "11:1: unknown key 'unknown_0' in the workflow");
    assert_string_equal(where(&d, 999), "1010:1: unknown key 'unknown_999' in the workflow");
    assert_non_null(
        strstr(where(&d, 1000), "and 500 more problems, not shown (the first 1000 are)"));
    cf_diags_free(&d);
    free(t.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enforcement_case_loads),
        cmocka_unit_test(test_filing_review_before_intake),
        cmocka_unit_test(test_voluntary_payment_loads),
        cmocka_unit_test(test_query_timers_declared),
        cmocka_unit_test(test_problems_sorted_by_position),
        cmocka_unit_test(test_positions_inside_multiline_scalars),
        cmocka_unit_test(test_cancel_lists),
        cmocka_unit_test(test_templated_activity_names),
        cmocka_unit_test(test_bad_yaml_and_empty),
        cmocka_unit_test(test_diags_grow),
        cmocka_unit_test(test_damaged_files),
        cmocka_unit_test(test_word_columns),
        cmocka_unit_test(test_large_definition_loads),
        cmocka_unit_test(test_declared_twice),
        cmocka_unit_test(test_timer_titles),
        cmocka_unit_test(test_automatic_cycles),
        cmocka_unit_test(test_problems_capped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
