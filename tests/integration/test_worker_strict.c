/*
 * Workers as strict as the engine (#16): a task message that is not JSON, not an object, a task
 * without its task_id, or a batch with a broken task goes to <prefix>.dlq with the reason and
 * the original bytes, and the worker carries on with the next message (a broken batch's good
 * tasks are still done).  On the simulated clock a worker's result carries the engine's time of
 * the task, never the wall clock's date.
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

#include "kit/kit.h"

enum { WAIT = 120 };

/* The dead letters on `dlq` that came from `tasks`, by their reason's first words. */
static json_t *worker_letters(kit *k, const char *dlq, const char *tasks, size_t want)
{
    json_t *all = kit_consume(k, dlq, want, WAIT), *mine = json_array(), *m;
    size_t i;
    json_array_foreach (all, i, m) {
        json_t *v = json_object_get(m, "value");
        if (json_is_object(v) && strcmp(json_string_value(json_object_get(v, "topic")), tasks) == 0)
            json_array_append(mine, v);
    }
    json_decref(all);
    return mine;
}

static const json_t *letter_with(const json_t *letters, const char *reason_start)
{
    size_t i;
    json_t *v;
    json_array_foreach ((json_t *)letters, i, v) {
        const char *r = json_string_value(json_object_get(v, "reason"));
        if (r && strncmp(r, reason_start, strlen(reason_start)) == 0)
            return v;
    }
    fprintf(stderr, "no dead letter whose reason starts with '%s'\n", reason_start);
    return NULL;
}

static void test_refused_tasks_and_engine_time(void **state)
{
    (void)state;
    kit k;
    pid_t engine, worker;
    char tasks[160], dlq[160];
    static const char not_json[] = "{\"task_id\": \"t-1\", \"case\": ";
    static const char array[] = "[1, 2, 3]";
    static const char no_id[] =
        "{\"case\": \"(2026)豫0381执9号\", \"activity\": \"network_query\"}";
    json_t *letters;
    const json_t *l;
    char *time;

    kit_init(&k, "strict");
    snprintf(tasks, sizeof tasks, "%s.tasks.network_query", k.prefix);
    snprintf(dlq, sizeof dlq, "%s.dlq", k.prefix);
    engine = kit_engine_start(&k, NULL);
    worker = kit_worker_start(&k, "network_query", NULL);

    /* Three messages that are no task, then a case whose network query is a real task. */
    kit_send(&k, tasks, "x", not_json, strlen(not_json));
    kit_send(&k, tasks, "x", array, strlen(array));
    kit_send(&k, tasks, "(2026)豫0381执9号", no_id, strlen(no_id));
    kit_flush(&k);
    kit_send_json(&k, kit_filed("(2026)豫0381执1号", "filed-1", "2026-03-02T08:30:00+08:00"));
    kit_flush(&k);

    /* The real task is done: the worker did not stop at what it refused. */
    assert_int_equal(kit_wait_count(&k,
                                    "select count(*) from tasks where kind = 'network_query' "
                                    "and status = 'done'",
                                    1, WAIT),
                     1);
    letters = worker_letters(&k, dlq, tasks, 3);
    printf("%zu dead letters from the worker:\n", json_array_size(letters));
    {
        size_t i;
        json_t *v;
        json_array_foreach (letters, i, v)
            printf("  %s\n", json_string_value(json_object_get(v, "reason")));
    }
    assert_int_equal(json_array_size(letters), 3);
    assert_non_null(l = letter_with(letters, "not JSON: "));
    assert_string_equal(json_string_value(json_object_get(l, "original")), not_json);
    assert_non_null(l = letter_with(letters, "not a task: the message is JSON but not an object"));
    assert_string_equal(json_string_value(json_object_get(l, "original")), array);
    assert_non_null(l = letter_with(letters, "not a task: task_id, case or activity is missing"));
    assert_string_equal(json_string_value(json_object_get(l, "case")), "(2026)豫0381执9号");
    json_decref(letters);
    /* Refused, not applied: the engine saw nothing of them. */
    assert_int_equal(kit_count(&k, "select count(*) from dead_letters"), 0);

    /* The result carries the engine's time (the simulated 2 March 2026), not today's date. */
    time = kit_value(&k,
                     "select body ->> 'time' from events where type = 'task.completed' and "
                     "source = 'worker:network_query'",
                     0, NULL);
    assert_non_null(time);
    printf("the network query's result is stamped %s\n", time);
    assert_true(strncmp(time, "2026-03-02T", 11) == 0);
    free(time);
    time = kit_value(&k, "select result ->> 'queried_at' from tasks where kind = 'network_query'",
                     0, NULL);
    assert_non_null(time);
    assert_true(strncmp(time, "2026-03-02T", 11) == 0);
    free(time);

    assert_int_equal(kit_engine_stop(&k, worker, SIGTERM), 0);
    assert_int_equal(kit_engine_stop(&k, engine, SIGTERM), 0);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_refused_tasks_and_engine_time)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
