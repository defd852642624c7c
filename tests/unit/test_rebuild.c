/* Unit tests of core/rebuild: a replayed state's timers and open tasks against stored rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/rebuild.h"

#define CST (8 * 60)

/* 2026-03-02T09:00:00+08:00 and a day, in milliseconds. */
static const cf_time T0 = 1772413200000LL;
static const cf_time DAY = 86400000LL;

/* A state with two timers and two activities, one open and one done. */
static json_t *state(void)
{
    json_t *s = json_loads("{\"state\": \"notices\", \"timers\": {"
                           "\"report_deadline\": \"2026-03-09T09:00:00+08:00\", "
                           "\"service_due\": \"2026-03-03T09:00:00+08:00\"}, "
                           "\"activities\": {"
                           "\"intake_check\": {\"task_id\": \"t-1\", \"kind\": \"intake_check\", "
                           "\"status\": \"open\", \"post\": \"intake\", "
                           "\"due\": \"2026-03-04T09:00:00+08:00\"}, "
                           "\"notices\": {\"task_id\": \"t-2\", \"kind\": \"documents\", "
                           "\"status\": \"done\", \"post\": null, \"due\": null}}}",
                           0, NULL);
    assert_non_null(s);
    return s;
}

typedef struct rows {
    cf_rebuild_timer timers[4];
    cf_rebuild_task tasks[4];
    size_t nt, nk;
} rows;

/* The rows the engine stores for state(): they agree with it. */
static rows stored(void)
{
    rows r = {.timers = {{"service_due", T0 + DAY}, {"report_deadline", T0 + 7 * DAY}},
              .tasks = {{.task_id = "t-1",
                         .activity = "intake_check",
                         .kind = "intake_check",
                         .post = "intake",
                         .has_due = 1,
                         .due = T0 + 2 * DAY}},
              .nt = 2,
              .nk = 1};
    return r;
}

static size_t compare(const rows *r, cf_time now, size_t *flying, char *out, size_t n)
{
    json_t *s = state();
    size_t d;
    out[0] = '\0';
    d = cf_rebuild_compare(s, r->timers, r->nt, r->tasks, r->nk, now, CST, flying, out, n);
    json_decref(s);
    return d;
}

static void test_agree(void **state_)
{
    rows r = stored();
    char out[1024];
    size_t flying = 9;
    (void)state_;
    assert_int_equal(compare(&r, T0, &flying, out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(flying, 0);
}

static void test_timer_moved_missing_and_extra(void **state_)
{
    rows r = stored();
    char out[1024];
    size_t flying;
    (void)state_;
    r.timers[0].due = T0 + 2 * DAY;                /* service_due moved a day */
    r.timers[1] = (cf_rebuild_timer){"ghost", T0}; /* report_deadline gone, ghost added */
    assert_int_equal(compare(&r, T0, &flying, out, sizeof out), 3);
    assert_string_equal(out, "timer report_deadline: the log sets it for "
                             "2026-03-09T09:00:00+08:00, the database has no such timer\n"
                             "timer service_due: the database has it due "
                             "2026-03-04T09:00:00+08:00, the log 2026-03-03T09:00:00+08:00\n"
                             "timer ghost: the database has it due 2026-03-02T09:00:00+08:00, "
                             "the log has no such timer\n");
}

/* A timer whose row is gone and whose time has come has fired: its event is on its way. */
static void test_fired_timer_is_in_flight(void **state_)
{
    rows r = stored();
    char out[1024];
    size_t flying;
    (void)state_;
    r.nt = 1; /* report_deadline's row is gone ... */
    assert_int_equal(compare(&r, T0 + 7 * DAY, &flying, out, sizeof out), 0);
    assert_int_equal(flying, 1); /* ... and it was due by then */
    assert_int_equal(compare(&r, T0 + 7 * DAY - 1, &flying, out, sizeof out), 1);
    assert_int_equal(flying, 0);
}

static void test_task_fields(void **state_)
{
    rows r = stored();
    char out[1024];
    size_t flying;
    (void)state_;
    r.tasks[0].post = "filing_review";
    r.tasks[0].due = T0 + 3 * DAY;
    r.tasks[0].kind = "other";
    assert_int_equal(compare(&r, T0, &flying, out, sizeof out), 3);
    assert_string_equal(out, "task t-1 (intake_check): the database has kind other, the log "
                             "intake_check\n"
                             "task t-1 (intake_check): the database has post filing_review, the "
                             "log intake\n"
                             "task t-1 (intake_check): the database has it due "
                             "2026-03-05T09:00:00+08:00, the log 2026-03-04T09:00:00+08:00\n");
    /* A reassignment moves the post without an event: the post before it must be the log's. */
    r = stored();
    r.tasks[0].post = "filing_review";
    r.tasks[0].moved = 1;
    r.tasks[0].post_before_moves = "intake";
    assert_int_equal(compare(&r, T0, &flying, out, sizeof out), 0);
    r.tasks[0].post_before_moves = "payment_clerk";
    assert_int_equal(compare(&r, T0, &flying, out, sizeof out), 1);
    assert_non_null(strstr(out, "post payment_clerk before it was reassigned, the log intake"));
    /* No due time on either side agrees; on one side only it does not. */
    r = stored();
    r.tasks[0].has_due = 0;
    assert_int_equal(compare(&r, T0, &flying, out, sizeof out), 1);
    assert_non_null(strstr(out, "the database has it due (none), the log 2026-03-04"));
}

static void test_task_missing_and_extra(void **state_)
{
    rows r = stored();
    char out[1024];
    size_t flying;
    (void)state_;
    r.tasks[0].task_id = "t-9"; /* t-1 is not open in the database; t-9 is, for no reason */
    assert_int_equal(compare(&r, T0, &flying, out, sizeof out), 2);
    assert_string_equal(out, "task t-1 (intake_check): open in the log, not open in the database\n"
                             "task t-9 (intake_check): open in the database, not in the log\n");
}

/* A report cut by its buffer still counts every difference, and ends in a newline. */
static void test_cut_report(void **state_)
{
    rows r = {.nt = 0, .nk = 0};
    char out[40];
    size_t flying;
    (void)state_;
    assert_int_equal(compare(&r, T0, &flying, out, sizeof out), 3);
    assert_int_equal(strlen(out), sizeof out - 1);
    assert_int_equal(out[sizeof out - 2], '\n');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agree),
        cmocka_unit_test(test_timer_moved_missing_and_extra),
        cmocka_unit_test(test_fired_timer_is_in_flight),
        cmocka_unit_test(test_task_fields),
        cmocka_unit_test(test_task_missing_and_extra),
        cmocka_unit_test(test_cut_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
