/*
 * `caseflow feed` against the real Kafka broker of the stack: a file with broken lines is
 * reported line by line and every valid line arrives exactly once, keyed by its case number;
 * --strict sends nothing after the first bad line; a generated feed piped through stdin arrives
 * whole; a broker that does not answer fails the command instead of hanging it; the ways of
 * writing one case number are one key; and a closed standard input is refused.
 *
 * Each run uses topics of its own (caseflow.test.feed.<pid>.*), so runs do not interfere.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/caseno.h"
#include "kit/kit.h"

/* Partitions of a test topic at most (engine.partitions defaults to 8). */
#define MAX_PARTS 1024

static char tmpdir[256];

static const char *need_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        fail_msg("%s is not set: run this test through ctest (the stack fixture sets it)", name);
    return v;
}

static void topic_name(char *buf, size_t n, const char *what)
{
    snprintf(buf, n, "caseflow.test.feed.%ld.%s", (long)getpid(), what);
}

/* Runs a shell command line; returns the command's exit status (-1 when it did not exit). */
static int run(const char *cmd)
{
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
    char *s = kit_read_file(path);
    if (!s)
        fail_msg("cannot read %s", path);
    return s;
}

/* The lines of a file, without their newlines, as a JSON array of strings. */
static json_t *lines_of(const char *path)
{
    char *s = slurp(path), *p = s, *nl;
    json_t *a = json_array();
    while (*p) {
        nl = strchr(p, '\n');
        if (!nl)
            nl = p + strlen(p);
        json_array_append_new(a, json_stringn(p, (size_t)(nl - p)));
        p = *nl ? nl + 1 : nl;
    }
    free(s);
    return a;
}

/*
 * Consumes `topic` from the beginning until every partition is at its end and at least `want`
 * messages came (or 60 s passed); returns {value: count} and fills *keys with {value: key}.
 */
static json_t *consume(const char *topic, size_t want, json_t **keys, size_t *total)
{
    static const char *const eof[] = {"enable.partition.eof", "true", NULL};
    rd_kafka_t *c = kit_consumer(topic, eof);
    json_t *seen = json_object();
    int eof_parts = 0, nparts = -1, at_end[MAX_PARTS] = {0};

    *keys = json_object();
    *total = 0;

    /* Bounded: 60 seconds are far more than a local broker needs. */
    for (time_t deadline = time(NULL) + 60; time(NULL) < deadline;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 1000);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (nparts < 0) {
                const struct rd_kafka_metadata *md;
                rd_kafka_topic_t *t = rd_kafka_topic_new(c, topic, NULL);
                if (rd_kafka_metadata(c, 0, t, &md, 5000) == 0) {
                    nparts = md->topics[0].partition_cnt;
                    rd_kafka_metadata_destroy(md);
                }
                rd_kafka_topic_destroy(t);
            }
            if (m->partition >= 0 && m->partition < MAX_PARTS && !at_end[m->partition]) {
                at_end[m->partition] = 1;
                eof_parts++;
            }
        } else if (m->err) {
            fail_msg("consuming %s: %s", topic, rd_kafka_message_errstr(m));
        } else {
            json_t *v = json_stringn(m->payload, m->len);
            const char *value = json_string_value(v);
            json_t *n = json_object_get(seen, value);
            json_object_set_new(seen, value, json_integer(n ? json_integer_value(n) + 1 : 1));
            json_object_set_new(*keys, value,
                                m->key ? json_stringn(m->key, m->key_len) : json_null());
            json_decref(v);
            (*total)++;
            /* A partition that delivers a message was not at its end after all. */
            if (m->partition >= 0 && m->partition < MAX_PARTS && at_end[m->partition]) {
                at_end[m->partition] = 0;
                eof_parts--;
            }
        }
        rd_kafka_message_destroy(m);
        if (nparts > 0 && eof_parts >= nparts && *total >= want)
            break;
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return seen;
}

/* Checks that exactly the lines `valid` (indices into `lines`) arrived once each, as written,
 * keyed by `key` (NULL: by the canonical form of the envelope's case). */
static void expect_keyed(const char *topic, json_t *lines, const int *valid, size_t nvalid,
                         const char *key)
{
    size_t total;
    json_t *keys, *seen = consume(topic, nvalid, &keys, &total);

    for (size_t i = 0; i < nvalid; i++) {
        const char *line = json_string_value(json_array_get(lines, (size_t)valid[i] - 1));
        json_t *ev = json_loads(line, 0, NULL), *n = json_object_get(seen, line);
        if (!n)
            fail_msg("%s: line %d never arrived", topic, valid[i]);
        if (json_integer_value(n) != 1)
            fail_msg("%s: line %d arrived %lld times", topic, valid[i],
                     (long long)json_integer_value(n));
        char canon[256];
        assert_int_equal(cf_caseno_normalize(json_string_value(json_object_get(ev, "case")), canon,
                                             sizeof canon),
                         0);
        assert_string_equal(json_string_value(json_object_get(keys, line)), key ? key : canon);
        json_decref(ev);
    }
    if (total != nvalid)
        fail_msg("%s: %zu messages, expected %zu", topic, total, nvalid);
    json_decref(seen);
    json_decref(keys);
}

static void expect_exactly(const char *topic, json_t *lines, const int *valid, size_t nvalid)
{
    expect_keyed(topic, lines, valid, nvalid, NULL);
}

/* Writes `text` to `path`. */
static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f || fputs(text, f) == EOF || fclose(f) != 0)
        fail_msg("cannot write %s", path);
}

/* Replaces the first `from` in `s` (a malloc'd string, consumed) by `to`; returns the new one. */
static char *replace(char *s, const char *from, const char *to)
{
    char *at = strstr(s, from), *out;
    if (!at)
        fail_msg("test data: '%s' not found", from);
    out = malloc(strlen(s) - strlen(from) + strlen(to) + 1);
    assert_non_null(out);
    sprintf(out, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    free(s);
    return out;
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/caseflow-test-feed-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[512];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return run(cmd) == 0 ? 0 : -1;
}

/* The bad lines of tests/data/feed/broken.jsonl and what each report must say. */
static const struct {
    int line;
    const char *reason;
} bad_lines[] = {
    {2, "not JSON"},                                       /* cut off in the middle */
    {3, "/case: case number '(2026)豫381执9001号'"},       /* court code of 3 digits */
    {5, "/data: missing required property 'respondents'"}, /* no party against whom */
    {6, "/data/amount: expected number"},                  /* "十二万元" */
    {10, "duplicate event id 'filing-2026-000101' (first on line 1)"},
    {12, "not an event"},                                          /* [1,2,3] */
    {13, "no schema for event type 'case.exploded'"},              /* unknown type */
    {14, "/data/respondents/0/id_number: does not match pattern"}, /* 17 digits */
};
/* Line 7 is blank; every other line is valid. */
static const int valid_lines[] = {1, 4, 8, 9, 11};

static void test_broken_lines_reported_and_valid_ones_sent(void **state)
{
    (void)state;
    char data[1024], cmd[4096], errpath[512], topic[160], want[1400];
    char *err;
    json_t *lines;
    int rc;

    snprintf(data, sizeof data, "%s/tests/data/feed/broken.jsonl", need_env("CASEFLOW_SOURCE_DIR"));
    snprintf(errpath, sizeof errpath, "%s/broken.err", tmpdir);
    topic_name(topic, sizeof topic, "broken");
    snprintf(cmd, sizeof cmd, "'%s' feed '%s' --topic '%s' 2>'%s'", need_env("CASEFLOW_BIN"), data,
             topic, errpath);
    rc = run(cmd);
    err = slurp(errpath);
    if (rc != 1)
        fail_msg("exit status %d, expected 1; stderr:\n%s", rc, err);
    /* Each bad line is named with its number and reason, and nothing else is reported. */
    for (size_t i = 0; i < sizeof bad_lines / sizeof bad_lines[0]; i++) {
        char *at, *eol;
        snprintf(want, sizeof want, "%s:%d: ", data, bad_lines[i].line);
        at = strstr(err, want);
        if (!at)
            fail_msg("line %d is not reported; stderr:\n%s", bad_lines[i].line, err);
        eol = strchr(at, '\n');
        *eol = '\0';
        if (!strstr(at, bad_lines[i].reason))
            fail_msg("line %d: reason '%s' expected in: %s", bad_lines[i].line, bad_lines[i].reason,
                     at);
        *eol = '\n';
    }
    {
        /* Reports are "FILE:LINE: ..."; the summary names the file too, without a line. */
        int reported = 0;
        for (char *p = err; (p = strstr(p, data)) != NULL; p += strlen(data))
            reported += p[strlen(data)] == ':';
        assert_int_equal(reported, (int)(sizeof bad_lines / sizeof bad_lines[0]));
    }
    snprintf(want, sizeof want, "5 sent to %s, 8 rejected, 0 not delivered (14 lines", topic);
    if (!strstr(err, want))
        fail_msg("summary '%s' expected; stderr:\n%s", want, err);
    /* No personal data in the reports: no name, identity number or phone of the file. */
    assert_null(strstr(err, "410381"));
    assert_null(strstr(err, "河南省"));
    free(err);

    lines = lines_of(data);
    expect_exactly(topic, lines, valid_lines, sizeof valid_lines / sizeof valid_lines[0]);
    json_decref(lines);
}

static void test_strict_stops_at_first_bad_line(void **state)
{
    (void)state;
    char data[1024], cmd[4096], errpath[512], topic[160];
    static const int sent[] = {1};
    char *err;
    json_t *lines;
    int rc;

    snprintf(data, sizeof data, "%s/tests/data/feed/broken.jsonl", need_env("CASEFLOW_SOURCE_DIR"));
    snprintf(errpath, sizeof errpath, "%s/strict.err", tmpdir);
    topic_name(topic, sizeof topic, "strict");
    snprintf(cmd, sizeof cmd, "'%s' feed --strict --topic '%s' - <'%s' 2>'%s'",
             need_env("CASEFLOW_BIN"), topic, data, errpath);
    rc = run(cmd);
    err = slurp(errpath);
    if (rc != 1)
        fail_msg("exit status %d, expected 1; stderr:\n%s", rc, err);
    assert_non_null(strstr(err, "<stdin>:2: column"));
    assert_null(strstr(err, "<stdin>:3:"));
    assert_non_null(strstr(err, "stopped at line 2 (--strict)"));
    assert_non_null(strstr(err, "1 sent to"));
    free(err);
    lines = lines_of(data);
    expect_exactly(topic, lines, sent, 1);
    json_decref(lines);
}

static void test_generated_feed_through_stdin(void **state)
{
    (void)state;
    char cmd[4096], feedpath[512], errpath[512], topic[160], want[256];
    const char *bin = need_env("CASEFLOW_BIN");
    char *err;
    json_t *lines;
    int *all, rc;
    size_t n;

    snprintf(feedpath, sizeof feedpath, "%s/generated.jsonl", tmpdir);
    snprintf(errpath, sizeof errpath, "%s/generated.err", tmpdir);
    topic_name(topic, sizeof topic, "generated");
    snprintf(cmd, sizeof cmd, "'%s' feed --generate 500 --seed 11 >'%s'", bin, feedpath);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof cmd, "'%s' feed - --topic '%s' <'%s' 2>'%s'", bin, topic, feedpath,
             errpath);
    rc = run(cmd);
    err = slurp(errpath);
    if (rc != 0)
        fail_msg("feeding the generated feed: exit status %d; stderr:\n%s", rc, err);
    lines = lines_of(feedpath);
    n = json_array_size(lines);
    assert_true(n > 500);
    snprintf(want, sizeof want, "%zu sent to %s, 0 rejected, 0 not delivered", n, topic);
    if (!strstr(err, want))
        fail_msg("summary '%s' expected; stderr:\n%s", want, err);
    free(err);
    all = calloc(n, sizeof *all);
    for (size_t i = 0; i < n; i++)
        all[i] = (int)i + 1;
    expect_exactly(topic, lines, all, n);
    free(all);
    json_decref(lines);
}

static void test_no_broker_fails_fast(void **state)
{
    (void)state;
    char data[1024], cmd[4096], errpath[512];
    char *err;
    int rc;

    snprintf(data, sizeof data, "%s/tests/data/feed/broken.jsonl", need_env("CASEFLOW_SOURCE_DIR"));
    snprintf(errpath, sizeof errpath, "%s/nobroker.err", tmpdir);
    /* Port 1 on the loopback has no broker; the command must give up, not wait for ever. */
    snprintf(cmd, sizeof cmd, "CASEFLOW_KAFKA=127.0.0.1:1 timeout 60 '%s' feed '%s' 2>'%s'",
             need_env("CASEFLOW_BIN"), data, errpath);
    rc = run(cmd);
    err = slurp(errpath);
    if (rc != 1)
        fail_msg("exit status %d, expected 1; stderr:\n%s", rc, err);
    assert_non_null(strstr(err, "Kafka at 127.0.0.1:1 does not answer"));
    free(err);
}

/*
 * One case however its number is written: full-width or tortoise-shell brackets, full-width
 * digits and spaces are checked in the canonical form and keyed by it, so that they reach the
 * same partition; each line goes out as written.  Times and amounts that PostgreSQL could not
 * store are refused with the reason.
 */
static void test_case_numbers_normalized(void **state)
{
    (void)state;
    static const char *const forms[] = {
        "(2026)豫0381执77号",         "（2026）豫0381执77号", "( 2026 )豫0381执７７号",
        "〔２０２６〕　豫0381执77号", "(2026）豫0381执77号",
    };
    static const struct {
        const char *from, *to, *reason;
    } bad[] = {
        {"\"time\":\"2026-03-02T08:41:56+08:00\"", "\"time\":\"2026-03-02T08:41:56+17:00\"",
         "/time: is not a date-time: the UTC offset must be within -15:59 and +15:59"},
        {"\"filed_at\":\"2026-03-02T08:41:56+08:00\"", "\"filed_at\":\"0000-03-02T08:41:56+08:00\"",
         "/data/filed_at: is not a date-time: the year must be 0001 to 9999"},
        {"\"amount\":201000", "\"amount\":1e20", "/data/amount: must be <= 10000000000000"},
    };
    const char *bin = need_env("CASEFLOW_BIN");
    char data[1024], path[512], errpath[512], cmd[4096], topic[160], id[64], want[700];
    char *first, *text = NULL, *err;
    size_t len = 0;
    int valid[sizeof forms / sizeof forms[0]], rc, lineno = 0;
    json_t *lines;

    snprintf(data, sizeof data, "%s/tests/data/feed/broken.jsonl", need_env("CASEFLOW_SOURCE_DIR"));
    lines = lines_of(data);
    first = strdup(json_string_value(json_array_get(lines, 0)));
    json_decref(lines);
    assert_non_null(first);
    text = strdup("");
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char *line = replace(strdup(first), "(2026)豫0381执1号", forms[i]);
        snprintf(id, sizeof id, "normalized-%zu", i);
        line = replace(line, "filing-2026-000101", id);
        len += strlen(line) + 1;
        text = realloc(text, len + 1);
        strcat(strcat(text, line), "\n");
        free(line);
        valid[i] = ++lineno;
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *line = replace(strdup(first), bad[i].from, bad[i].to);
        snprintf(id, sizeof id, "refused-%zu", i);
        line = replace(line, "filing-2026-000101", id);
        len += strlen(line) + 1;
        text = realloc(text, len + 1);
        strcat(strcat(text, line), "\n");
        free(line);
    }
    free(first);
    snprintf(path, sizeof path, "%s/normalized.jsonl", tmpdir);
    snprintf(errpath, sizeof errpath, "%s/normalized.err", tmpdir);
    spit(path, text);
    free(text);
    topic_name(topic, sizeof topic, "normalized");
    snprintf(cmd, sizeof cmd, "'%s' feed '%s' --topic '%s' 2>'%s'", bin, path, topic, errpath);
    rc = run(cmd);
    err = slurp(errpath);
    if (rc != 1)
        fail_msg("exit status %d, expected 1; stderr:\n%s", rc, err);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(want, sizeof want, "%s:%d: ", path, lineno + (int)i + 1);
        char *at = strstr(err, want);
        if (!at)
            fail_msg("line %d is not reported; stderr:\n%s", lineno + (int)i + 1, err);
        if (bad[i].reason && !strstr(at, bad[i].reason))
            fail_msg("line %d: '%s' expected; stderr:\n%s", lineno + (int)i + 1, bad[i].reason,
                     err);
    }
    snprintf(want, sizeof want, "%d sent to %s, 3 rejected", lineno, topic);
    if (!strstr(err, want))
        fail_msg("summary '%s' expected; stderr:\n%s", want, err);
    free(err);
    lines = lines_of(path);
    expect_keyed(topic, lines, valid, sizeof valid / sizeof valid[0], "(2026)豫0381执77号");
    json_decref(lines);
}

/* With standard input closed, descriptor 0 would be the next thing opened (a socket of
 * librdkafka's): the feed refuses at once instead of reading it. */
static void test_closed_stdin_refused(void **state)
{
    (void)state;
    char cmd[4096], errpath[512], topic[160];
    char *err;
    int rc;

    snprintf(errpath, sizeof errpath, "%s/closed.err", tmpdir);
    topic_name(topic, sizeof topic, "closed");
    snprintf(cmd, sizeof cmd, "timeout 30 '%s' feed --topic '%s' <&- 2>'%s'",
             need_env("CASEFLOW_BIN"), topic, errpath);
    rc = run(cmd);
    err = slurp(errpath);
    if (rc != 2)
        fail_msg("exit status %d, expected 2; stderr:\n%s", rc, err);
    assert_non_null(strstr(err, "caseflow feed: standard input is closed"));
    free(err);
    snprintf(cmd, sizeof cmd, "timeout 30 '%s' feed - --dry-run <&- 2>'%s'",
             need_env("CASEFLOW_BIN"), errpath);
    rc = run(cmd);
    err = slurp(errpath);
    if (rc != 2)
        fail_msg("--dry-run: exit status %d, expected 2; stderr:\n%s", rc, err);
    assert_non_null(strstr(err, "caseflow feed: standard input is closed"));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broken_lines_reported_and_valid_ones_sent),
        cmocka_unit_test(test_strict_stops_at_first_bad_line),
        cmocka_unit_test(test_generated_feed_through_stdin),
        cmocka_unit_test(test_no_broker_fails_fast),
        cmocka_unit_test(test_case_numbers_normalized),
        cmocka_unit_test(test_closed_stdin_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
