/*
 * A Kafka producer that fails for good in the middle of its work (#16), in the processes that
 * had no way past it: `caseflow feed` (it stopped with exit 1) and the payments worker's own
 * producer of payment.matched events (every later payment would have failed).  The fault is
 * librdkafka's own fatal error, raised by rd_kafka_test_fatal_error through
 * CASEFLOW_TEST_KAFKA_FATAL (io/bus.h) after a given message: the cluster raises it only under
 * rare faults (librdkafka 2.0's rewound sequence numbers, docs/reliability.md).  Each process
 * must replace its producer and carry on, and every event must be applied exactly once.
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

#include "io/bus.h"
#include "kit/kit.h"

enum { LINES = 400, FAIL_AT = 150, PAYMENTS = 8, WAIT = 120 };

static const char TIME[] = "2026-03-02T09:00:00+08:00";

/* Whether `text` holds `needle`, said in the test's output. */
static int says(const char *what, const char *text, const char *needle)
{
    int yes = text && strstr(text, needle);
    printf("%s says \"%s\": %s\n", what, needle, yes ? "yes" : "no   <-- WRONG");
    return yes;
}

static void test_feed_renews_its_producer(void **state)
{
    (void)state;
    kit k;
    pid_t engine;
    char path[700], *out = NULL, *err = NULL, fault[64];
    FILE *f;

    kit_init(&k, "feedfatal");
    engine = kit_engine_start(&k, NULL);
    snprintf(path, sizeof path, "%s/feed.jsonl", k.logdir);
    assert_non_null(f = fopen(path, "w"));
    for (int n = 1; n <= LINES; n++) {
        char case_no[64], id[32], *line;
        json_t *ev;
        snprintf(case_no, sizeof case_no, "(2026)豫0381执%d号", n);
        snprintf(id, sizeof id, "filed-%d", n);
        ev = kit_filed(case_no, id, TIME);
        line = json_dumps(ev, JSON_COMPACT);
        fprintf(f, "%s\n", line);
        free(line);
        json_decref(ev);
    }
    fclose(f);

    /* The feed's producer fails for good right after it took line FAIL_AT: the lines before it
     * may be in flight, delivered or not. */
    snprintf(fault, sizeof fault, "caseflow-feed:%d", FAIL_AT);
    setenv("CASEFLOW_TEST_KAFKA_FATAL", fault, 1);
    assert_int_equal(kit_cli(&k, &out, &err, (const char *const[]){"feed", path, NULL}), 0);
    unsetenv("CASEFLOW_TEST_KAFKA_FATAL");
    assert_true(says("the feed", err, "the producer failed for good"));
    assert_true(says("the feed", err, "a new Kafka producer took over"));
    assert_true(says("the feed", err, "400 sent to"));

    /* Every line applied once: nothing lost, a line sent twice dropped by its id. */
    assert_int_equal(
        kit_wait_count(&k, "select count(*) from events where type = 'case.filed'", LINES, WAIT),
        LINES);
    assert_int_equal(kit_count(&k, "select count(*) from cases"), LINES);
    assert_int_equal(kit_count(&k, "select count(*) from (select case_no from events group by "
                                   "case_no having count(*) <> 1) g"),
                     0);
    assert_int_equal(kit_count(&k, "select count(*) from dead_letters"), 0);
    printf("%lld lines sent twice and dropped by the engine\n",
           kit_count(&k, "select coalesce(sum(seen), 0) from duplicates"));
    kit_engine_stop_ok(&k, engine);
    free(out);
    free(err);
    kit_done(&k);
}

/*
 * Lines the cluster refuses for good are named, at the line and at the end in ranges, so that
 * what to send again is known: a topic whose messages may be at most 1,000 bytes refuses lines
 * 2, 4 and 5 (a 600-byte cause each), and takes the others.  One message a batch
 * (batch.num.messages, a librdkafka setting of the configuration), so that a refused batch holds
 * one line only.
 */
static void test_feed_names_the_lines_not_sent(void **state)
{
    (void)state;
    static const char *const small[] = {"max.message.bytes", "1000", NULL};
    kit k;
    char path[700], conf[700], topic[160], err_text[1024], cause[700] = "", *out = NULL,
                                                           *err = NULL;
    FILE *f;

    kit_init(&k, "feedsmall");
    snprintf(topic, sizeof topic, "%s.small", k.prefix);
    assert_int_equal(
        cf_bus_create_topic_with(k.producer, topic, 1, small, 60000, err_text, sizeof err_text), 0);
    for (int i = 0; i < 200; i++)
        strcat(cause, "债");
    snprintf(conf, sizeof conf, "%s/feed.yaml", k.logdir);
    assert_non_null(f = fopen(conf, "w"));
    fputs("kafka:\n  settings:\n    batch.num.messages: \"1\"\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/feed.jsonl", k.logdir);
    assert_non_null(f = fopen(path, "w"));
    for (int n = 1; n <= 6; n++) {
        char case_no[64], id[32], *line;
        json_t *ev;
        snprintf(case_no, sizeof case_no, "(2026)豫0381执%d号", n);
        snprintf(id, sizeof id, "filed-%d", n);
        ev = kit_filed(case_no, id, TIME);
        if (n == 2 || n == 4 || n == 5)
            json_object_set_new(json_object_get(ev, "data"), "cause", json_string(cause));
        line = json_dumps(ev, JSON_COMPACT);
        fprintf(f, "%s\n", line);
        free(line);
        json_decref(ev);
    }
    fclose(f);
    assert_int_equal(
        kit_cli(&k, &out, &err,
                (const char *const[]){"feed", path, "--topic", topic, "--config", conf, NULL}),
        1);
    assert_true(says("the feed", err, "feed.jsonl:2: not delivered"));
    assert_true(says("the feed", err, "feed.jsonl:5: not delivered"));
    assert_true(says("the feed", err, "3 sent to"));
    assert_true(says("the feed", err, "lines not sent: 2, 4-5"));
    free(out);
    free(err);
    kit_done(&k);
}

static void test_payments_worker_renews_its_producer(void **state)
{
    (void)state;
    kit k;
    pid_t engine, worker;
    char log[700], *text;
    int alive;
    /* Its second payment.matched event meets a producer that failed for good. */
    const char *const extra[] = {"CASEFLOW_TEST_KAFKA_FATAL=caseflow-worker-payments-events:2",
                                 NULL};

    kit_init(&k, "payfatal");
    engine = kit_engine_start(&k, NULL);
    worker = kit_worker_start(&k, "payments", extra);
    for (int n = 1; n <= PAYMENTS; n++) {
        char case_no[64], id[32];
        snprintf(case_no, sizeof case_no, "(2026)豫0381执%d号", 111 * n);
        snprintf(id, sizeof id, "filed-%d", n);
        kit_send_json(&k, kit_filed(case_no, id, TIME));
    }
    kit_flush(&k);
    assert_int_equal(kit_wait_count(&k, "select count(*) from cases", PAYMENTS, WAIT), PAYMENTS);
    /* Each payment names its case in the remark and its payer is the respondent: sure matches,
     * each applied by the worker's producer.  The numbers differ in two digits: a neighbour one
     * typo away would be a close second candidate, and the match not sure. */
    for (int n = 1; n <= PAYMENTS; n++) {
        char key[32], id[48], remark[96];
        snprintf(key, sizeof key, "PAY-2026-%06d", n);
        snprintf(id, sizeof id, "bank-%s", key);
        snprintf(remark, sizeof remark, "(2026)豫0381执%d号 李四还款", 111 * n);
        kit_send_json(&k,
                      json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:i, s:s, s:s, s:s}}", "id", id,
                                "type", "payment.received", "case", key, "time", TIME, "source",
                                "bank", "data", "payment_id", key + 4, "amount", 1000 + n,
                                "paid_at", TIME, "payer_name", "李四", "remark", remark));
    }
    kit_flush(&k);

    assert_int_equal(kit_wait_count(&k,
                                    "select count(*) from cases where case_no like 'PAY-%' and "
                                    "state = 'applied'",
                                    PAYMENTS, WAIT),
                     PAYMENTS);
    /* Each case got its payment once; a second copy sent by the new producer would be dropped. */
    assert_int_equal(kit_count(&k, "select count(*) from events where type = 'payment.matched'"),
                     PAYMENTS);
    assert_int_equal(kit_count(&k, "select count(*) from (select case_no from events where type "
                                   "= 'payment.matched' group by case_no having count(*) <> 1) g"),
                     0);
    assert_int_equal(kit_count(&k, "select count(*) from dead_letters"), 0);
    alive = waitpid(worker, NULL, WNOHANG) == 0;
    printf("the payments worker %s\n",
           alive ? "carried on without a restart" : "is gone   <-- WRONG");
    assert_true(alive);
    snprintf(log, sizeof log, "%s/worker-payments-1.log", k.logdir);
    text = kit_read_file(log);
    assert_true(says("the worker's log", text, "the Kafka producer failed for good"));
    free(text);
    assert_int_equal(kit_engine_stop(&k, worker, SIGTERM), 0);
    kit_engine_stop_ok(&k, engine);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feed_renews_its_producer),
        cmocka_unit_test(test_feed_names_the_lines_not_sent),
        cmocka_unit_test(test_payments_worker_renews_its_producer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
