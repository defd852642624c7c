/*
 * Proves the plumbing against the real stack: a topic is created, messages go
 * through the real Kafka broker and back, and rows go through the real
 * PostgreSQL server.  Fails when either is not there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/bus.h"
#include "io/store.h"

enum { NMSG = 20 };

static const char *need_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        fail_msg("%s is not set: run this test through ctest (the stack fixture sets it)", name);
    return v;
}

static void test_kafka_roundtrip(void **state)
{
    (void)state;
    char err[512], topic[128], group[128], why[512];
    const char *brokers = need_env("CASEFLOW_KAFKA");
    int nbrokers = 0, seen[NMSG] = {0}, got = 0;
    rd_kafka_conf_t *conf;
    rd_kafka_t *producer, *consumer;
    rd_kafka_topic_partition_list_t *topics;

    assert_int_equal(cf_bus_ping(brokers, 10000, &nbrokers, err, sizeof err), 0);
    assert_int_equal(nbrokers, 1);

    snprintf(topic, sizeof topic, "caseflow.test.plumbing.%ld", (long)getpid());
    snprintf(group, sizeof group, "plumbing-%ld", (long)getpid());

    conf = cf_bus_conf_new(brokers, err, sizeof err);
    assert_non_null(conf);
    assert_int_equal(cf_bus_conf_set(conf, "enable.idempotence", "true", err, sizeof err), 0);
    producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    assert_non_null(producer);
    if (cf_bus_create_topic(producer, topic, 2, 10000, err, sizeof err) != 0)
        fail_msg("%s", err);

    for (int i = 0; i < NMSG; i++) {
        char key[32], val[64];
        snprintf(key, sizeof key, "(2026)豫0381执%d号", i);
        snprintf(val, sizeof val, "{\"n\":%d}", i);
        rd_kafka_resp_err_t kerr =
            rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_VALUE(val, strlen(val)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        assert_int_equal(kerr, RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    assert_int_equal(rd_kafka_flush(producer, 15000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(producer);

    conf = cf_bus_conf_new(brokers, err, sizeof err);
    assert_non_null(conf);
    assert_int_equal(cf_bus_conf_set(conf, "group.id", group, err, sizeof err), 0);
    assert_int_equal(cf_bus_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err), 0);
    consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
    assert_non_null(consumer);
    rd_kafka_poll_set_consumer(consumer);
    topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
    assert_int_equal(rd_kafka_subscribe(consumer, topics), 0);
    rd_kafka_topic_partition_list_destroy(topics);

    /* Bounded: 60 polls of a second each are far more than a local broker needs. */
    for (int tries = 0; tries < 60 && got < NMSG; tries++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 1000);
        if (!m)
            continue;
        if (!m->err) {
            int n = -1;
            char buf[64] = {0};
            memcpy(buf, m->payload, m->len < sizeof buf - 1 ? m->len : sizeof buf - 1);
            assert_int_equal(sscanf(buf, "{\"n\":%d}", &n), 1);
            assert_true(n >= 0 && n < NMSG);
            assert_int_equal(seen[n], 0);
            seen[n] = 1;
            got++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    assert_int_equal(got, NMSG);
}

/* Delivery reports of test_producer_renewed: how many came, and how many of them failed. */
static int reports, reports_failed;

static void count_report(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    reports++;
    reports_failed += m->err != RD_KAFKA_RESP_ERR_NO_ERROR;
}

/*
 * An idempotent producer that failed for good (as librdkafka 2.0 does after NOT_ENOUGH_REPLICAS,
 * #16) is replaced by one that delivers, and every message of the old one gets its report, so
 * that its caller knows what to send again.
 */
static void test_producer_renewed(void **state)
{
    (void)state;
    char err[512], why[512], topic[128];
    cf_config cfg;
    const cf_bus_producer_opts o = {.client_id = "plumbing", .on_delivery = count_report};
    rd_kafka_t *p, *fresh;

    need_env("CASEFLOW_KAFKA");
    if (cf_config_load(&cfg, NULL, err, sizeof err) != 0)
        fail_msg("%s", err);
    snprintf(topic, sizeof topic, "caseflow.test.renew.%ld", (long)getpid());
    p = cf_bus_producer_new(&cfg, &o, err, sizeof err);
    assert_non_null(p);
    if (cf_bus_create_topic(p, topic, 1, 10000, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(cf_bus_producer_failed(p, why, sizeof why), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(cf_bus_produce(p, topic, "k", NULL, "old", 3, NULL, 1000, err, sizeof err),
                         0);
    assert_int_equal(rd_kafka_test_fatal_error(p, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                                               "as after NOT_ENOUGH_REPLICAS"),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(cf_bus_producer_failed(p, why, sizeof why), 1);
    assert_non_null(strstr(why, "NOT_ENOUGH_REPLICAS"));
    assert_int_not_equal(
        cf_bus_produce(p, topic, "k", NULL, "refused", 7, NULL, 0, err, sizeof err), 0);

    fresh = p;
    assert_int_equal(cf_bus_producer_renew(&fresh, &cfg, &o), 0);
    assert_ptr_not_equal(fresh, p);
    assert_int_equal(reports, 5); /* each message of the old producer has its report */
    assert_int_equal(cf_bus_producer_failed(fresh, why, sizeof why), 0);
    reports = reports_failed = 0;
    assert_int_equal(cf_bus_produce(fresh, topic, "k", NULL, "new", 3, NULL, 1000, err, sizeof err),
                     0);
    assert_int_equal(rd_kafka_flush(fresh, 15000), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(reports, 1);
    assert_int_equal(reports_failed, 0);
    rd_kafka_destroy(fresh);
    cf_config_free(&cfg);
}

static void test_postgres_roundtrip(void **state)
{
    (void)state;
    char err[512];
    PGconn *db = cf_store_connect(need_env("CASEFLOW_PG"), err, sizeof err);
    PGresult *res;
    const char *params[2] = {"(2026)豫0381执1号", "filed"};

    if (!db)
        fail_msg("%s", err);
    res =
        cf_store_exec(db, "create temporary table plumbing (case_no text primary key, state text)",
                      0, NULL, err, sizeof err);
    assert_non_null(res);
    PQclear(res);
    res = cf_store_exec(db, "insert into plumbing values ($1, $2)", 2, params, err, sizeof err);
    assert_non_null(res);
    PQclear(res);
    res = cf_store_exec(db, "select state from plumbing where case_no = $1", 1, params, err,
                        sizeof err);
    assert_non_null(res);
    assert_int_equal(PQntuples(res), 1);
    assert_string_equal(PQgetvalue(res, 0, 0), "filed");
    PQclear(res);

    /* A statement error comes back as a message, not a crash. */
    res = cf_store_exec(db, "select * from no_such_table", 0, NULL, err, sizeof err);
    assert_null(res);
    assert_non_null(strstr(err, "no_such_table"));
    PQfinish(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kafka_roundtrip),
        cmocka_unit_test(test_producer_renewed),
        cmocka_unit_test(test_postgres_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
