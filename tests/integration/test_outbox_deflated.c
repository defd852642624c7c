/*
 * Outbox rows stored deflated (schemas/sql/017_outbox_deflated.sql) are published as they were
 * before deflating.  The engine publishes a committed batch from memory; it reads a row back only
 * when the row was left behind (its engine died, or Kafka did not take it): the relay's sweep.
 * Here three rows wait in the outbox from an hour ago, as a dead engine would leave them: one
 * deflated (2.6 KB of JSON, the length a case.filed's transition has), one stored as it is, and
 * one whose bytes are not what its inflated length says.  A new engine's sweep must publish the
 * first two as they were and leave the third in the outbox, and the transition of a case filed
 * through it is published beside them.
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
#include <zlib.h>

#include "kit/kit.h"

/* Inserts an outbox row for `topic` created an hour ago: `payload` deflated when `deflate`,
 * else as it is; `lie` stores a wrong inflated length. */
static void leave_row(kit *k, const char *topic, const char *msg_id, const char *payload,
                      int deflate, int lie)
{
    unsigned char buf[8192];
    uLongf n = sizeof buf;
    char len[24];
    const char *p[5];
    int lengths[5] = {0}, formats[5] = {0};
    PGresult *res;

    if (deflate)
        assert_int_equal(compress2(buf, &n, (const Bytef *)payload, strlen(payload), 1), Z_OK);
    else
        memcpy(buf, payload, n = strlen(payload));
    snprintf(len, sizeof len, "%zu", strlen(payload) + (lie ? 7 : 0));
    p[0] = topic;
    p[1] = msg_id;
    p[2] = msg_id;
    p[3] = (const char *)buf;
    lengths[3] = (int)n;
    formats[3] = 1; /* the bytes as they are */
    p[4] = deflate ? len : NULL;
    res = PQexecParams(k->db,
                       "insert into outbox (topic, key, msg_id, payload, inflated_len, "
                       "created_at) values ($1, $2, $3, $4::bytea, $5::int, now() - interval "
                       "'1 hour')",
                       5, NULL, p, lengths, formats, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        fail_msg("inserting an outbox row: %s", PQresultErrorMessage(res));
    PQclear(res);
}

static void test_sweep_inflates(void **state)
{
    char topic[300], big[4096];
    kit k;
    pid_t engine;
    json_t *msgs, *m, *want_big, *want_small;
    size_t i, at = 0;
    int seen_big = 0, seen_small = 0, seen_filed = 0;

    (void)state;
    kit_init(&k, "deflated");
    /* The transitions' topic, which the engine makes: the rows join its own messages there. */
    snprintf(topic, sizeof topic, "%s.transitions", k.prefix);
    /* A JSON object of 2.6 KB with repeated keys, as transitions are: it deflates well. */
    at += (size_t)snprintf(big + at, sizeof big - at, "{\"kind\":\"left\",\"items\":[");
    for (int n = 0; n < 40; n++)
        at += (size_t)snprintf(big + at, sizeof big - at,
                               "%s{\"kind\":\"timer\",\"name\":\"查询第%d天\",\"at\":"
                               "\"2026-03-%02dT09:00:00+08:00\"}",
                               n ? "," : "", n, 1 + n % 28);
    snprintf(big + at, sizeof big - at, "]}");
    leave_row(&k, topic, "left-big", big, 1, 0);
    leave_row(&k, topic, "left-small", "{\"kind\":\"left\",\"n\":1}", 0, 0);
    leave_row(&k, topic, "left-bad", "{\"kind\":\"left\",\"n\":2}", 1, 1);
    assert_int_equal(kit_count(&k, "select count(*) from outbox where inflated_len is not null"),
                     2);

    engine = kit_engine_start(&k, NULL);
    /* What the engine writes itself is published too. */
    kit_send_json(&k, kit_filed("(2026)豫0381执1号", "filed-1", "2026-03-02T09:00:00+08:00"));
    kit_flush(&k);
    msgs = kit_consume(&k, topic, 3, 90);
    want_big = json_loads(big, 0, NULL);
    want_small = json_loads("{\"kind\":\"left\",\"n\":1}", 0, NULL);
    json_array_foreach (msgs, i, m) {
        const json_t *v = json_object_get(m, "value");
        const char *id = json_string_value(json_object_get(m, "id"));
        const char *event = json_string_value(json_object_get(v, "event_id"));
        printf("published %s\n", id ? id : "(no id)");
        if (id && strcmp(id, "left-big") == 0)
            seen_big += json_equal(v, want_big);
        else if (id && strcmp(id, "left-small") == 0)
            seen_small += json_equal(v, want_small);
        else if (event && strcmp(event, "filed-1") == 0)
            seen_filed++;
    }
    assert_int_equal(seen_big, 1);
    assert_int_equal(seen_small, 1);
    assert_int_equal(seen_filed, 1);
    /* The row that does not inflate to its length stays: nothing is published from it. */
    assert_int_equal(kit_wait_count(&k, "select count(*) from outbox", 1, 60), 1);
    assert_int_equal(kit_count(&k, "select count(*) from outbox where msg_id = 'left-bad'"), 1);
    kit_engine_stop_ok(&k, engine);
    json_decref(want_big);
    json_decref(want_small);
    json_decref(msgs);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sweep_inflates)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
