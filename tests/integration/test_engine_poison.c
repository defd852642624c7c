/*
 * Poison input: bytes that are not JSON, a 10 MB event, wrong types, an unknown
 * event type, an event for a case that does not exist and an event the case's
 * state does not allow each land in the dead-letter topic with the reason, the
 * original bytes and where they came from; the events after them are applied.
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

static const char *const CASE_A = "(2026)豫0381执101号";
static const char *const CASE_B = "(2026)豫0381执102号";

/* Finds the dead-letter message whose reason contains `what`. */
static json_t *find_reason(json_t *msgs, const char *what)
{
    size_t i;
    json_t *m;
    json_array_foreach (msgs, i, m) {
        const char *reason =
            json_string_value(json_object_get(json_object_get(m, "value"), "reason"));
        if (reason && strstr(reason, what))
            return json_object_get(m, "value");
    }
    /* Say what there was, so that a failure explains itself. */
    json_array_foreach (msgs, i, m) {
        json_t *v = json_object_get(m, "value");
        fprintf(stderr, "dead letter %zu: %s\n", i,
                json_is_object(v)   ? json_string_value(json_object_get(v, "reason"))
                : json_is_string(v) ? json_string_value(v)
                                    : "(not JSON)");
    }
    return NULL;
}

static void test_poison_goes_to_the_dead_letter_topic(void **state)
{
    (void)state;
    kit k;
    pid_t engine;
    char dlq[160];
    json_t *ev, *msgs, *d;
    char *big;
    size_t bigsize = 10 * 1024 * 1024;
    const char garbage[] = "\xff\xfe not json at all";

    kit_init(&k, "poison");
    snprintf(dlq, sizeof dlq, "%s.dlq", k.prefix);
    engine = kit_engine_start(&k, NULL);

    /* 1: not JSON (and not even UTF-8). */
    kit_send(&k, NULL, CASE_A, garbage, sizeof garbage - 1);
    /* 2: a 10 MB event. */
    big = malloc(bigsize + 64);
    assert_non_null(big);
    memset(big, 'x', bigsize + 64);
    {
        const char head[] = "{\"id\":\"big\",\"type\":\"case.filed\",\"pad\":\"";
        memcpy(big, head, sizeof head - 1);
    }
    memcpy(big + bigsize - 2, "\"}", 2);
    kit_send(&k, NULL, CASE_A, big, bigsize);
    free(big);
    /* 3: wrong types: the amount is text. */
    ev = kit_filed(CASE_A, "wrong-type", "2026-03-02T09:00:00+08:00");
    json_object_set_new(json_object_get(ev, "data"), "amount", json_string("五万元"));
    kit_send_json(&k, ev);
    /* 4: an unknown event type. */
    ev = kit_withdrawn(CASE_A, "unknown-type", "2026-03-02T09:00:00+08:00");
    json_object_set_new(ev, "type", json_string("case.exploded"));
    kit_send_json(&k, ev);
    /* 5: an event for a case that does not exist. */
    kit_send_json(&k, kit_withdrawn(CASE_A, "no-such-case", "2026-03-02T09:00:00+08:00"));
    /* 6: filed properly, then an event its state does not allow (a decision the workflow does
     * not know, while the case waits for its filing review). */
    kit_send_json(&k, kit_filed(CASE_B, "filed-b", "2026-03-02T09:00:00+08:00"));
    kit_send_json(&k,
                  json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "id", "not-allowed", "type",
                            "case.decided", "case", CASE_B, "time", "2026-03-02T10:00:00+08:00",
                            "source", "staff:bureau_lead:王强", "data", "decision", "postpone"));
    /* 7: and the events after the poison are applied. */
    kit_send_json(&k, kit_filed(CASE_A, "filed-a", "2026-03-02T11:00:00+08:00"));
    kit_flush(&k);

    assert_int_equal(kit_wait_count(&k, "select count(*) from dead_letters", 6, 60), 6);
    assert_int_equal(kit_wait_count(&k, "select count(*) from cases", 2, 60), 2);
    assert_int_equal(kit_count(&k, "select count(*) from cases where state = 'review'"), 2);
    assert_int_equal(kit_count(&k, "select count(*) from events"), 2);

    msgs = kit_consume(&k, dlq, 6, 60);
    assert_int_equal(json_array_size(msgs), 6);
    d = find_reason(msgs, "not JSON");
    assert_non_null(d);
    /* Bytes that are not UTF-8 travel as base64: "\xff\xfe n" is "//4gbm". */
    assert_non_null(json_object_get(d, "original_base64"));
    assert_int_equal(strncmp(json_string_value(json_object_get(d, "original_base64")), "//4gbm", 6),
                     0);
    assert_string_equal(json_string_value(json_object_get(d, "topic")), k.events);
    assert_non_null(json_object_get(d, "partition"));
    assert_non_null(json_object_get(d, "offset"));
    d = find_reason(msgs, "too large");
    assert_non_null(d);
    assert_int_equal(json_integer_value(json_object_get(d, "size")), (json_int_t)bigsize);
    assert_true(json_is_true(json_object_get(d, "truncated")));
    d = find_reason(msgs, "/data/amount");
    assert_non_null(d);
    assert_string_equal(json_string_value(json_object_get(d, "event_id")), "wrong-type");
    /* The original is the event as it came, for whoever mends it. */
    assert_non_null(strstr(json_string_value(json_object_get(d, "original")), "五万元"));
    assert_non_null(find_reason(msgs, "unknown event type 'case.exploded'"));
    assert_non_null(find_reason(msgs, "unknown case"));
    assert_non_null(find_reason(msgs, "not expected in state 'review'"));
    json_decref(msgs);

    kit_engine_stop(&k, engine, SIGTERM);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_poison_goes_to_the_dead_letter_topic)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
