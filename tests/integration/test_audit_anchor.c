/*
 * The anchor of the hash chains, end to end: the engine runs three cases, `caseflow anchor
 * write` records their head hashes in files, and then the database's superuser rewrites one
 * case's history consistently (an event's body changed, every later hash and the head hash
 * recomputed with core/chain.c).  Plain `caseflow replay` still says "verified" (the hole the
 * anchor closes); `caseflow replay --anchor` reports exactly that case, and the untouched ones
 * match.  A changed anchor file fails verification, and a signed one verifies with its public key
 * only.
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

/* In the anchor's order: byte by byte. */
static const char *const CASES[] = {"(2026)豫0381执501号", "(2026)豫0381执502号",
                                    "(2026)豫0381执503号"};
#define REWRITTEN CASES[1]

/* Runs `sql` on the kit's connection (the stack's superuser); fails the test on an error. */
static void exec_ok(kit *k, const char *sql, int n, const char *const *params)
{
    PGresult *res = PQexecParams(k->db, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(res));
    PQclear(res);
}

/*
 * What a database owner can do: with the append-only guard off, the source of the case's event
 * `seq` is changed (who completed the intake check), every hash from there on recomputed with
 * the chain's own function, and the case's head hash set to the last one.  One transaction.
 */
static void rewrite_history(kit *k, const char *case_no, const char *seq, const char *source)
{
    char prev[65], hash[65], seqtext[32];
    PGresult *res;

    exec_ok(k, "begin", 0, NULL);
    exec_ok(k, "alter table events disable trigger user", 0, NULL);
    exec_ok(k,
            "update events set source = $3, body = jsonb_set(body::jsonb, '{source}', "
            "to_jsonb($3::text))::json "
            "where case_no = $1 and seq = $2",
            3, (const char *[]){case_no, seq, source});
    res = PQexecParams(k->db,
                       "select seq, event_id, body::text, state_after, prev_hash from events "
                       "where case_no = $1 order by seq",
                       1, NULL, (const char *[]){case_no}, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    snprintf(prev, sizeof prev, "%s", cf_chain_genesis);
    for (int i = 0; i < PQntuples(res); i++) {
        long long s = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        assert_int_equal(cf_chain_hash(prev, case_no, s, PQgetvalue(res, i, 1),
                                       PQgetvalue(res, i, 2), (size_t)PQgetlength(res, i, 2),
                                       PQgetvalue(res, i, 3), hash),
                         0);
        snprintf(seqtext, sizeof seqtext, "%lld", s);
        exec_ok(k, "update events set prev_hash = $3, hash = $4 where case_no = $1 and seq = $2", 4,
                (const char *[]){case_no, seqtext, prev, hash});
        memcpy(prev, hash, sizeof prev);
    }
    PQclear(res);
    exec_ok(k, "update cases set head_hash = $2 where case_no = $1", 2,
            (const char *[]){case_no, prev});
    exec_ok(k, "alter table events enable trigger user", 0, NULL);
    exec_ok(k, "commit", 0, NULL);
}

/* Runs a shell command (openssl); fails the test when it does not succeed. */
static void shell(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0)
        fail_msg("%s failed", cmd);
}

/* Copies the file `from` to `to` with the first `find` replaced by `repl` (as long). */
static void copy_changed(const char *from, const char *to, const char *find, const char *repl)
{
    char buf[65536], *at;
    FILE *f = fopen(from, "rb");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    at = strstr(buf, find);
    assert_non_null(at);
    assert_int_equal(strlen(find), strlen(repl));
    memcpy(at, repl, strlen(repl));
    f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    fclose(f);
}

static void test_anchor_catches_the_consistent_rewrite(void **state)
{
    (void)state;
    kit k;
    pid_t engine, server;
    char url[64];
    int port;
    char *out = NULL, *err = NULL, *id, *line, *hash;
    char all[700], early[700], feb[700], changed[700], signed_[700], key1[700], key2[700];
    char pub1[700], pub2[700], find[160], repl[160];

    kit_init(&k, "anchor");
    snprintf(all, sizeof all, "%s/anchor-all.txt", k.logdir);
    snprintf(early, sizeof early, "%s/anchor-0302.txt", k.logdir);
    snprintf(feb, sizeof feb, "%s/anchor-2026-02.txt", k.logdir);
    snprintf(changed, sizeof changed, "%s/anchor-changed.txt", k.logdir);
    snprintf(signed_, sizeof signed_, "%s/anchor-signed.txt", k.logdir);

    /* Three cases filed on 2 March; on 3 March the filing review (seq 2) and the intake check
     * (seq 3) of the second are done. */
    engine = kit_engine_start(&k, NULL);
    for (int i = 0; i < 3; i++) {
        char eid[32];
        snprintf(eid, sizeof eid, "an-filed-%d", i);
        kit_send_json(&k, kit_filed(CASES[i], eid, "2026-03-02T09:00:00+08:00"));
    }
    kit_flush(&k);
    assert_int_equal(kit_wait_count(&k, "select count(*) from cases", 3, 60), 3);
    kit_advance(&k, "an-clock-1", "2026-03-03T10:00:00+08:00");
    server = kit_serve_start(&k, NULL, &port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    setenv("CASEFLOW_SERVER", url, 1);
    id = kit_wait_value(&k,
                        "select task_id from tasks where case_no = $1 and activity = "
                        "'filing_review'",
                        1, (const char *[]){REWRITTEN}, NULL, 60);
    assert_non_null(id);
    assert_int_equal(
        kit_staff_complete(&k, "吴十", id, "{\"enforceable\": true, \"parties_ok\": true}"), 0);
    free(id);
    id = kit_wait_value(&k,
                        "select task_id from tasks where case_no = $1 and activity = "
                        "'intake_check'",
                        1, (const char *[]){REWRITTEN}, NULL, 60);
    assert_non_null(id);
    assert_int_equal(kit_staff_complete(&k, "王芳", id, "{\"complete\": true}"), 0);
    unsetenv("CASEFLOW_SERVER");
    kit_engine_stop(&k, server, SIGTERM);
    free(id);
    free(kit_wait_value(&k, "select state from cases where case_no = $1", 1,
                        (const char *[]){REWRITTEN}, "notices", 60));
    kit_engine_stop(&k, engine, SIGTERM);

    /* Anchors: now, as of the end of 2 March (the second case at its filing), February. */
    assert_int_equal(
        kit_cli(&k, &out, &err, (const char *[]){"anchor", "write", "--out", all, NULL}), 0);
    assert_non_null(strstr(out, ": 3 cases as of now"));
    assert_non_null(strstr(out, "signature  none"));
    assert_int_equal(
        kit_cli(&k, &out, &err,
                (const char *[]){"anchor", "write", "--as-of", "2026-03-02", "--out", early, NULL}),
        0);
    assert_non_null(strstr(out, "3 cases as of 2026-03-02T23:59:59.999+08:00"));
    assert_int_equal(
        kit_cli(&k, &out, &err,
                (const char *[]){"anchor", "write", "--month", "2026-02", "--out", feb, NULL}),
        0);
    assert_non_null(strstr(out, "0 cases as of 2026-02-28T23:59:59.999+08:00"));
    /* The file holds each case's last event as of then, with its stored hash. */
    {
        char pattern[1200];
        line = kit_value(&k, "select hash from events where case_no = $1 and seq = 1", 1,
                         (const char *[]){REWRITTEN});
        hash = kit_value(&k, "select hash from events where case_no = $1 and seq = 3", 1,
                         (const char *[]){REWRITTEN});
        assert_non_null(line);
        assert_non_null(hash);
        assert_int_equal(kit_cli(&k, &out, &err, (const char *[]){"anchor", "verify", early, NULL}),
                         0);
        snprintf(pattern, sizeof pattern, "grep -qxF '%s 1 %s' %s", REWRITTEN, line, early);
        shell("%s", pattern);
        snprintf(pattern, sizeof pattern, "grep -qxF '%s 3 %s' %s", REWRITTEN, hash, all);
        shell("%s", pattern);
        free(line);
        free(hash);
    }
    /* Written once: replacing it takes --force. */
    assert_int_equal(
        kit_cli(&k, &out, &err, (const char *[]){"anchor", "write", "--out", all, NULL}), 1);
    assert_non_null(strstr(err, "exists already (--force replaces it)"));
    assert_int_equal(
        kit_cli(&k, &out, &err, (const char *[]){"anchor", "write", "--out", all, "--force", NULL}),
        0);
    assert_int_equal(kit_cli(&k, &out, &err, (const char *[]){"anchor", "verify", all, NULL}), 0);
    assert_non_null(strstr(out, "digest     ok"));
    assert_non_null(strstr(out, "verified: "));

    /* Before anything happens, every case matches. */
    assert_int_equal(kit_cli(&k, &out, &err, (const char *[]){"replay", "--anchor", all, NULL}), 0);
    assert_non_null(
        strstr(out, "checked 3 cases against the anchor: 3 match, 0 do not match, 0 missing"));

    /* The superuser says someone else did the intake check, and rewrites the chain to fit. */
    rewrite_history(&k, REWRITTEN, "3", "staff:intake:李明");

    /* The hole: the chain and the replay alone are content. */
    assert_int_equal(kit_cli(&k, &out, &err, (const char *[]){"replay", REWRITTEN, NULL}), 0);
    assert_non_null(strstr(out, "by staff:intake:李明"));
    assert_non_null(strstr(out, "hash chain   ok"));
    assert_non_null(strstr(out, "verified: the log of"));

    /* The anchor names that case, and only it. */
    assert_int_equal(kit_cli(&k, &out, &err, (const char *[]){"replay", "--anchor", all, NULL}), 1);
    {
        char want[200];
        snprintf(want, sizeof want,
                 "%s: does not match the anchor at seq 3: the stored events give ", REWRITTEN);
        assert_non_null(strstr(out, want));
    }
    assert_null(strstr(out, CASES[0]));
    assert_null(strstr(out, CASES[2]));
    assert_non_null(
        strstr(out, "checked 3 cases against the anchor: 2 match, 1 does not match, 0 missing"));
    assert_non_null(strstr(err, "1 case does NOT match the anchor"));
    assert_int_equal(
        kit_cli(&k, &out, &err, (const char *[]){"replay", "--anchor", all, CASES[0], NULL}), 0);
    assert_non_null(strstr(out, "matches the anchor at seq 1"));
    assert_int_equal(
        kit_cli(&k, &out, &err, (const char *[]){"replay", "--anchor", all, REWRITTEN, NULL}), 1);
    assert_non_null(
        strstr(out, "checked 1 case against the anchor: 0 match, 1 does not match, 0 missing"));
    assert_int_equal(
        kit_cli(&k, &out, &err,
                (const char *[]){"replay", "--anchor", all, "(2026)豫0381执999号", NULL}),
        1);
    assert_non_null(strstr(err, "is not in the anchor"));
    /* An anchor proves the history up to its moment: the older one predates the change. */
    assert_int_equal(kit_cli(&k, &out, &err, (const char *[]){"replay", "--anchor", early, NULL}),
                     0);

    /* A changed anchor file: one hash of an untouched case, by one digit. */
    line = kit_value(&k, "select hash from events where case_no = $1 and seq = 1", 1,
                     (const char *[]){CASES[2]});
    assert_non_null(line);
    snprintf(find, sizeof find, " 1 %s", line);
    snprintf(repl, sizeof repl, " 1 %s", line);
    repl[3] = repl[3] == '0' ? '1' : '0';
    free(line);
    copy_changed(all, changed, find, repl);
    assert_int_equal(kit_cli(&k, &out, &err, (const char *[]){"anchor", "verify", changed, NULL}),
                     1);
    assert_non_null(strstr(err, ":9: the case lines do not give the digest"));
    assert_non_null(strstr(err, "does NOT verify"));
    assert_int_equal(kit_cli(&k, &out, &err, (const char *[]){"replay", "--anchor", changed, NULL}),
                     1);
    assert_non_null(strstr(err, "does NOT verify: nothing was checked against it"));

    /* Signed with one Ed25519 key: it verifies with that key's public half only. */
    snprintf(key1, sizeof key1, "%s/key1.pem", k.logdir);
    snprintf(key2, sizeof key2, "%s/key2.pem", k.logdir);
    snprintf(pub1, sizeof pub1, "%s/pub1.pem", k.logdir);
    snprintf(pub2, sizeof pub2, "%s/pub2.pem", k.logdir);
    shell("openssl genpkey -algorithm ed25519 -out '%s' 2>/dev/null", key1);
    shell("openssl genpkey -algorithm ed25519 -out '%s' 2>/dev/null", key2);
    shell("openssl pkey -in '%s' -pubout -out '%s'", key1, pub1);
    shell("openssl pkey -in '%s' -pubout -out '%s'", key2, pub2);
    assert_int_equal(
        kit_cli(&k, &out, &err,
                (const char *[]){"anchor", "write", "--key", key1, "--out", signed_, NULL}),
        0);
    assert_non_null(strstr(out, "signature  ed25519, key "));
    assert_int_equal(
        kit_cli(&k, &out, &err, (const char *[]){"anchor", "verify", signed_, "--pub", pub1, NULL}),
        0);
    assert_non_null(strstr(out, "signature  ok"));
    assert_int_equal(
        kit_cli(&k, &out, &err, (const char *[]){"anchor", "verify", signed_, "--pub", pub2, NULL}),
        1);
    assert_non_null(strstr(err, "not with the key given"));
    assert_int_equal(kit_cli(&k, &out, &err, (const char *[]){"anchor", "verify", signed_, NULL}),
                     0);
    assert_non_null(strstr(out, "signature  not checked"));
    /* The unsigned file does not pass where a signature is expected. */
    assert_int_equal(
        kit_cli(&k, &out, &err, (const char *[]){"anchor", "verify", all, "--pub", pub1, NULL}), 1);
    assert_non_null(strstr(err, "the file is not signed"));
    assert_int_equal(kit_cli(&k, &out, &err,
                             (const char *[]){"replay", "--anchor", signed_, "--pub", pub2, NULL}),
                     1);
    assert_non_null(strstr(err, "does NOT verify: nothing was checked against it"));
    /* Made after the rewrite, it records the rewritten history: it matches. */
    assert_int_equal(kit_cli(&k, &out, &err,
                             (const char *[]){"replay", "--anchor", signed_, "--pub", pub1, NULL}),
                     0);
    assert_non_null(strstr(out, "signature  ok"));
    /* A public key cannot sign. */
    assert_int_equal(kit_cli(&k, &out, &err,
                             (const char *[]){"anchor", "write", "--key", pub1, "--out", changed,
                                              "--force", NULL}),
                     1);
    assert_non_null(strstr(err, "is a public key"));

    free(out);
    free(err);
    kit_done(&k);
}

/* Stores `n` cases of EVENTS events each, chained with core/chain.c, as an engine would have. */
enum { EVENTS = 5 };
static void store_synthetic_cases(kit *k, int n)
{
    exec_ok(k, "begin", 0, NULL);
    for (int i = 1; i <= n; i++) {
        char case_no[64], prev[65], hash[65], seq[8], id[64];
        snprintf(case_no, sizeof case_no, "(2026)豫0381执%04d号", i);
        snprintf(prev, sizeof prev, "%s", cf_chain_genesis);
        for (int s = 1; s <= EVENTS; s++) {
            json_t *body;
            char *text;
            snprintf(id, sizeof id, "syn-%d-%d", i, s);
            snprintf(seq, sizeof seq, "%d", s);
            body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:i}}", "id", id, "type", "note", "case",
                             case_no, "time", "2026-03-02T09:00:00+08:00", "source", "test", "data",
                             "n", s);
            text = json_dumps(body, JSON_COMPACT);
            assert_int_equal(cf_chain_hash(prev, case_no, s, id, text, strlen(text), "open", hash),
                             0);
            exec_ok(k,
                    "insert into events (case_no, seq, event_id, type, source, event_time, "
                    "applied_at, body, state_before, state_after, actions, prev_hash, hash) "
                    "values ($1, $2, $3, 'note', 'test', '2026-03-02T09:00:00+08:00', "
                    "'2026-03-02T09:00:00+08:00', $4, '', 'open', '[]', $5, $6)",
                    6, (const char *[]){case_no, seq, id, text, prev, hash});
            memcpy(prev, hash, sizeof prev);
            free(text);
            json_decref(body);
        }
        exec_ok(k,
                "insert into cases (case_no, workflow, version, state, seq, body, created_at, "
                "updated_at, head_hash) values ($1, 'enforcement_case', 1, 'open', 5, '{}', "
                "now(), now(), $2)",
                2, (const char *[]){case_no, prev});
    }
    exec_ok(k, "commit", 0, NULL);
}

/* Many cases (256 to a batch, more than one fetch of 1,000 rows each): the anchor and the log are
 * read in batches and fetches; each kind of change is
 * reported at its case, and only there. */
static void test_anchor_of_many_cases(void **state)
{
    (void)state;
    kit k;
    char *out = NULL, *err = NULL, path[700];

    kit_init(&k, "anchormany");
    snprintf(path, sizeof path, "%s/anchor-many.txt", k.logdir);
    /* kit_init migrated the database as the owner already; doing it again changes nothing. */
    assert_int_equal(kit_migrate(&k), 0);
    store_synthetic_cases(&k, 700);
    assert_int_equal(
        kit_cli(&k, &out, &err, (const char *[]){"anchor", "write", "--out", path, NULL}), 0);
    assert_non_null(strstr(out, ": 700 cases as of now"));
    assert_int_equal(kit_cli(&k, &out, &err, (const char *[]){"replay", "--anchor", path, NULL}),
                     0);
    assert_non_null(
        strstr(out, "checked 700 cases against the anchor: 700 match, 0 do not match, 0 missing"));

    /* A consistent rewrite in the second batch, a case's events removed, and a body changed
     * without recomputing its hash in the third. */
    rewrite_history(&k, "(2026)豫0381执0400号", "1", "someone");
    exec_ok(&k, "begin", 0, NULL);
    exec_ok(&k, "alter table events disable trigger user", 0, NULL);
    exec_ok(&k, "delete from events where case_no = '(2026)豫0381执0123号'", 0, NULL);
    exec_ok(
        &k,
        "update events set body = jsonb_set(body::jsonb, '{data,n}', '7')::json where case_no = "
        "'(2026)豫0381执0555号' and seq = 2",
        0, NULL);
    exec_ok(&k, "alter table events enable trigger user", 0, NULL);
    exec_ok(&k, "commit", 0, NULL);

    assert_int_equal(kit_cli(&k, &out, &err, (const char *[]){"replay", "--anchor", path, NULL}),
                     1);
    assert_non_null(strstr(out, "\n(2026)豫0381执0123号: missing: the anchor has it at seq 5"));
    assert_non_null(strstr(out, "\n(2026)豫0381执0400号: does not match the anchor at seq 5: the "
                                "stored events give "));
    assert_non_null(strstr(out, "\n(2026)豫0381执0555号: does not match the anchor at seq 5: the "
                                "log breaks at seq 2: the stored event does not give its stored "
                                "hash"));
    assert_non_null(
        strstr(out, "checked 700 cases against the anchor: 697 match, 2 do not match, 1 missing"));
    assert_non_null(strstr(err, "3 cases do NOT match the anchor"));

    free(out);
    free(err);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anchor_catches_the_consistent_rewrite),
        cmocka_unit_test(test_anchor_of_many_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
