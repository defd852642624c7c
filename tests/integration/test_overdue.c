/*
 * Overdue staff tasks escalate (engine/overdue.c): a staff task still open three working days
 * (the enforcement workflow's overdue_escalation_working_days) after it was due moves to the
 * bureau lead's queue, once, recorded as a reassignment by engine:overdue.  The kit's simulated
 * clock stands at Monday 2026-03-02; counted back over working days, Saturday 02-28 is a
 * make-up working day (调休): 02-28, 02-27, 02-26.  A task due on Thursday 02-26 has been overdue
 * three working days and moves; one due on Friday 02-27 has not and stays.
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
#include <sys/wait.h>

#include "kit/kit.h"

static const char *const MOVED = "(2026)豫0381执4101号", *const STAYS = "(2026)豫0381执4102号";

/* A case filed on `filed_at`: its filing review is due that day at 17:30. */
static void file(kit *k, const char *case_no, const char *id, const char *filed_at)
{
    json_t *ev = kit_filed(case_no, id, "2026-03-02T09:00:00+08:00");
    json_object_set_new(json_object_get(ev, "data"), "filed_at", json_string(filed_at));
    kit_send_json(k, ev);
}

static void test_overdue_tasks_go_to_the_bureau_lead(void **state)
{
    kit k;
    pid_t engine;
    char *v;

    (void)state;
    kit_init(&k, "overdue");
    file(&k, MOVED, "od-1", "2026-02-26T09:00:00+08:00");
    file(&k, STAYS, "od-2", "2026-02-27T09:00:00+08:00");
    kit_flush(&k);
    engine = kit_engine_start(&k, NULL);
    v = kit_wait_value(&k,
                       "select post from tasks where case_no = $1 and activity = 'filing_review'",
                       1, (const char *[]){MOVED}, "bureau_lead", 60);
    assert_string_equal(v, "bureau_lead");
    free(v);
    v = kit_value(&k,
                  "select from_post || ' -> ' || to_post || ' by ' || by_account from "
                  "task_reassignments r join tasks t using (task_id) where t.case_no = $1",
                  1, (const char *[]){MOVED});
    assert_non_null(v);
    assert_string_equal(v, "filing_review -> bureau_lead by engine:overdue");
    free(v);
    /* Both cases were there at the same ticks: the one due a day later is still its post's. */
    v = kit_value(&k, "select post from tasks where case_no = $1 and activity = 'filing_review'", 1,
                  (const char *[]){STAYS});
    assert_non_null(v);
    assert_string_equal(v, "filing_review");
    free(v);
    /* The intake checks wait for the reviews (version 3): none is made, so none moves. */
    assert_int_equal(kit_count(&k, "select count(*) from tasks where activity = 'intake_check'"),
                     0);
    kit_engine_stop_ok(&k, engine);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overdue_tasks_go_to_the_bureau_lead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
