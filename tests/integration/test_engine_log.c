/*
 * The event log is append-only and hash-chained: PostgreSQL itself refuses to
 * change or remove an event, and the chain recomputed from the stored rows
 * gives every stored hash and the case's head hash.
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

#include "core/chain.h"
#include "kit/kit.h"

static const char *const CASE_NO = "(2026)豫0381执201号";

static void expect_refused(kit *k, const char *sql)
{
    PGresult *res = PQexec(k->db, sql);
    assert_int_not_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    assert_non_null(strstr(PQresultErrorMessage(res), "append-only"));
    PQclear(res);
}

static void test_log_is_append_only_and_chained(void **state)
{
    (void)state;
    kit k;
    pid_t engine;
    PGresult *res;
    char prev[65], hash[65];

    kit_init(&k, "log");
    engine = kit_engine_start(&k, NULL);
    kit_send_json(&k, kit_filed(CASE_NO, "log-1", "2026-03-02T09:00:00+08:00"));
    kit_send_json(&k, kit_withdrawn(CASE_NO, "log-2", "2026-03-03T09:00:00+08:00"));
    kit_flush(&k);
    assert_int_equal(kit_wait_count(&k, "select count(*) from events", 2, 60), 2);
    kit_engine_stop(&k, engine, SIGTERM);

    expect_refused(&k, "update events set type = 'case.filed' where seq = 2");
    expect_refused(&k, "delete from events where seq = 2");
    expect_refused(&k, "truncate events");
    assert_int_equal(kit_count(&k, "select count(*) from events"), 2);

    res = PQexecParams(k.db,
                       "select seq, event_id, body::text, state_after, prev_hash, hash from "
                       "events where case_no = $1 order by seq",
                       1, NULL, (const char *[]){CASE_NO}, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), 2);
    snprintf(prev, sizeof prev, "%s", cf_chain_genesis);
    for (int r = 0; r < PQntuples(res); r++) {
        /* The hash is over the stored bytes, so the database alone can recompute it. */
        assert_string_equal(PQgetvalue(res, r, 4), prev);
        assert_int_equal(cf_chain_hash(prev, CASE_NO, strtoll(PQgetvalue(res, r, 0), NULL, 10),
                                       PQgetvalue(res, r, 1), PQgetvalue(res, r, 2),
                                       (size_t)PQgetlength(res, r, 2), PQgetvalue(res, r, 3), hash),
                         0);
        assert_string_equal(hash, PQgetvalue(res, r, 5));
        snprintf(prev, sizeof prev, "%s", hash);
    }
    PQclear(res);
    res = PQexecParams(k.db, "select head_hash from cases where case_no = $1", 1, NULL,
                       (const char *[]){CASE_NO}, NULL, NULL, 0);
    assert_int_equal(PQntuples(res), 1);
    assert_string_equal(PQgetvalue(res, 0, 0), prev);
    PQclear(res);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_log_is_append_only_and_chained)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
