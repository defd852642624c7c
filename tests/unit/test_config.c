/* Unit tests of base/config: the table's new keys, the courts served, and that printing it never
 * shows a secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"

static const char *mask(const char *in)
{
    static char out[512];
    return cf_config_mask_conninfo(in, out, sizeof out);
}

static void test_uri_passwords(void **state)
{
    (void)state;
    assert_string_equal(mask("postgresql://engine:s3cr%40t@127.0.0.1:5432/caseflow"),
                        "postgresql://engine:****@127.0.0.1:5432/caseflow");
    assert_string_equal(mask("postgres://u:p@h1:5432,h2:5433/db?sslmode=require"),
                        "postgres://u:****@h1:5432,h2:5433/db?sslmode=require");
    assert_string_equal(mask("postgresql://u@h/db?password=x&sslpassword=y&application_name=a"),
                        "postgresql://u@h/db?password=****&sslpassword=****&application_name=a");
    /* No password: unchanged, an '@' in the path or query does not count. */
    assert_string_equal(mask("postgresql://127.0.0.1/caseflow"), "postgresql://127.0.0.1/caseflow");
    assert_string_equal(mask("postgresql://u@h/db?application_name=a:b@c"),
                        "postgresql://u@h/db?application_name=a:b@c");
    assert_string_equal(mask(NULL), "");
}

static void test_keyvalue_passwords(void **state)
{
    (void)state;
    assert_string_equal(mask("host=h user=u password=secret dbname=caseflow"),
                        "host=h user=u password=**** dbname=caseflow");
    assert_string_equal(mask("password = 'a secret' host=h"), "password = **** host=h");
    assert_string_equal(mask("host=h password='a \\' b' sslpassword=k port=5432"),
                        "host=h password=**** sslpassword=**** port=5432");
    assert_string_equal(mask("dbname=caseflow"), "dbname=caseflow");
}

static void test_cut_short(void **state)
{
    (void)state;
    char out[24];
    /* A buffer too small still never shows what comes after the user's colon. */
    cf_config_mask_conninfo("postgresql://engine:topsecret@h/db", out, sizeof out);
    assert_string_equal(out, "postgresql://engine:***");
}

static void test_secret_kafka_settings(void **state)
{
    (void)state;
    assert_true(cf_config_is_secret("sasl.password"));
    assert_true(cf_config_is_secret("ssl.key.password"));
    assert_true(cf_config_is_secret("ssl.keystore.password"));
    assert_true(cf_config_is_secret("sasl.oauthbearer.client.secret"));
    assert_true(cf_config_is_secret("client.secret"));
    assert_true(cf_config_is_secret("ssl.key.pem"));
    assert_false(cf_config_is_secret("sasl.username"));
    assert_false(cf_config_is_secret("security.protocol"));
    assert_false(cf_config_is_secret("ssl.certificate.location"));
}

static void test_dump_masks(void **state)
{
    (void)state;
    char path[] = "/tmp/test_config_XXXXXX", err[512];
    char *text = NULL;
    size_t len = 0;
    FILE *f, *out;
    cf_config cfg;
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fputs("postgres: postgresql://engine:pg-engine-pw@db:5432/caseflow\n"
          "kafka:\n"
          "  bootstrap: broker:9092\n"
          "  settings:\n"
          "    security.protocol: SASL_SSL\n"
          "    sasl.username: engine\n"
          "    sasl.password: kafka-pw\n"
          "    ssl.key.password: key-pw\n"
          "    ssl.keystore.password: store-pw\n"
          "    sasl.oauthbearer.client.secret: oauth-secret\n",
          f);
    fclose(f);
    setenv("CASEFLOW_PG_OWNER", "host=db user=owner password='owner pw' dbname=caseflow", 1);
    unsetenv("CASEFLOW_PG");
    unsetenv("CASEFLOW_PG_STATEMENT_TIMEOUT_MS");
    assert_int_equal(cf_config_load(&cfg, path, err, sizeof err), 0);
    assert_int_equal(cfg.pg_statement_timeout_ms, 30000);
    assert_int_equal(cfg.pg_idle_tx_timeout_ms, 60000);
    out = open_memstream(&text, &len);
    cf_config_dump(&cfg, out);
    fclose(out);
    cf_config_free(&cfg);
    unsetenv("CASEFLOW_PG_OWNER");
    unlink(path);

    for (const char *const *s = (const char *const[]){"pg-engine-pw", "kafka-pw", "key-pw",
                                                      "store-pw", "oauth-secret", "owner pw", NULL};
         *s; s++)
        if (strstr(text, *s)) {
            fprintf(stderr, "the dump shows '%s':\n%s", *s, text);
            fail();
        }
    assert_non_null(strstr(text, "postgres: \"postgresql://engine:****@db:5432/caseflow\""));
    assert_non_null(strstr(text, "postgres_owner: \"host=db user=owner password=**** "));
    assert_non_null(strstr(text, "  sasl.password: \"****\""));
    assert_non_null(strstr(text, "  sasl.username: engine"));
    assert_non_null(strstr(text, "postgres_statement_timeout_ms: 30000"));
    free(text);
}

static void test_timeouts_from_environment(void **state)
{
    (void)state;
    char err[512];
    cf_config cfg;

    setenv("CASEFLOW_PG_STATEMENT_TIMEOUT_MS", "1500", 1);
    setenv("CASEFLOW_PG_IDLE_TX_TIMEOUT_MS", "0", 1);
    assert_int_equal(cf_config_load(&cfg, NULL, err, sizeof err), 0);
    assert_int_equal(cfg.pg_statement_timeout_ms, 1500);
    assert_int_equal(cfg.pg_idle_tx_timeout_ms, 0);
    cf_config_free(&cfg);
    setenv("CASEFLOW_PG_STATEMENT_TIMEOUT_MS", "-1", 1);
    assert_int_not_equal(cf_config_load(&cfg, NULL, err, sizeof err), 0);
    assert_non_null(strstr(err, "CASEFLOW_PG_STATEMENT_TIMEOUT_MS"));
    cf_config_free(&cfg);
    unsetenv("CASEFLOW_PG_STATEMENT_TIMEOUT_MS");
    unsetenv("CASEFLOW_PG_IDLE_TX_TIMEOUT_MS");
}

/* Writes `text` to a new temporary file whose name goes into `path` (a mkstemp template). */
static void write_file(char *path, const char *text)
{
    int fd = mkstemp(path);
    FILE *f;

    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_one_court_without_a_list(void **state)
{
    (void)state;
    char path[] = "/tmp/test_config_XXXXXX", err[512], codes[64];
    cf_config cfg;

    /* The settings of one court are that court: nothing changes for a one-court installation. */
    write_file(path, "court:\n  code: 豫0307\ndocument:\n  court_name: 某某区人民法院\n");
    unsetenv("CASEFLOW_COURT");
    assert_int_equal(cf_config_load(&cfg, path, err, sizeof err), 0);
    assert_int_equal(cfg.ncourts, 1);
    assert_string_equal(cfg.courts[0].code, "豫0307");
    assert_string_equal(cfg.courts[0].name, "某某区人民法院");
    assert_null(cfg.courts[0].calendar);
    assert_null(cfg.courts[0].routes);
    assert_int_equal(cfg.courts[0].nteams, 0);
    assert_ptr_equal(cf_config_court(&cfg, "豫0307"), &cfg.courts[0]);
    assert_null(cf_config_court(&cfg, "豫0381"));
    assert_string_equal(cf_config_court_codes(&cfg, codes, sizeof codes), "豫0307");
    cf_config_free(&cfg);
    unlink(path);

    /* The defaults: the 偃师 court. */
    assert_int_equal(cf_config_load(&cfg, NULL, err, sizeof err), 0);
    assert_int_equal(cfg.ncourts, 1);
    assert_string_equal(cfg.courts[0].code, "豫0381");
    cf_config_free(&cfg);
}

static void test_courts_list(void **state)
{
    (void)state;
    char path[] = "/tmp/test_config_XXXXXX", err[512], codes[64], where[600];
    char *text = NULL;
    size_t len = 0;
    const cf_court_cfg *b;
    FILE *out;
    cf_config cfg;

    write_file(path, "courts:\n"
                     "  - code: 豫0381\n"
                     "    name: 河南省洛阳市偃师区人民法院\n"
                     "  - code: 新0102\n"
                     "    name: 天山区人民法院\n"
                     "    calendar: calendars/xj.yaml\n"
                     "    routes: routes/tianshan.yaml\n"
                     "    teams: [team_1, team_2]\n");
    assert_int_equal(cf_config_load(&cfg, path, err, sizeof err), 0);
    assert_int_equal(cfg.ncourts, 2);
    assert_string_equal(cf_config_court_codes(&cfg, codes, sizeof codes), "豫0381, 新0102");
    assert_null(cfg.courts[0].calendar);
    assert_non_null(b = cf_config_court(&cfg, "新0102"));
    assert_string_equal(b->name, "天山区人民法院");
    assert_string_equal(b->calendar, "calendars/xj.yaml");
    assert_string_equal(b->routes, "routes/tianshan.yaml");
    assert_int_equal(b->nteams, 2);
    assert_string_equal(b->teams[1], "team_2");
    /* Where each was written, for the messages of whoever loads the calendar and the teams. */
    snprintf(where, sizeof where, "%s:4:5", path);
    assert_string_equal(b->where, where);
    snprintf(where, sizeof where, "%s:6:15", path);
    assert_string_equal(b->calendar_at, where);
    snprintf(where, sizeof where, "%s:8:12", path);
    assert_string_equal(b->teams_at, where);
    out = open_memstream(&text, &len);
    cf_config_dump(&cfg, out);
    fclose(out);
    assert_non_null(strstr(text, "  - code: \"新0102\"\n    name: \"天山区人民法院\"\n"
                                 "    calendar: \"calendars/xj.yaml\"\n"));
    assert_non_null(strstr(text, "    teams: [team_1, team_2]\n"));
    free(text);
    cf_config_free(&cfg);

    /* With the list, the home court is its first: CASEFLOW_COURT naming another is refused with
     * both named, and naming the first changes nothing. */
    setenv("CASEFLOW_COURT", "新0102", 1);
    assert_int_equal(cf_config_load(&cfg, path, err, sizeof err), CF_EINVAL);
    snprintf(where, sizeof where,
             "CASEFLOW_COURT=新0102 conflicts with the courts: list (%s:2:5), whose first court, "
             "豫0381, is the home court",
             path);
    assert_non_null(strstr(err, where));
    cf_config_free(&cfg);
    setenv("CASEFLOW_COURT", "豫0381", 1);
    assert_int_equal(cf_config_load(&cfg, path, err, sizeof err), 0);
    assert_string_equal(cfg.courts[0].code, "豫0381");
    cf_config_free(&cfg);
    unsetenv("CASEFLOW_COURT");
    unlink(path);
}

/* Each mistake in `courts:` is refused with the file, line and column and what is wrong. */
static void test_courts_mistakes(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *where, *says;
    } cases[] = {
        {"courts: 豫0381\n", ":1:9:", "courts must list the courts served"},
        {"courts: []\n", ":1:9:", "courts must list the courts served"},
        {"courts:\n  - 豫0381\n", ":2:5:", "each court is a mapping"},
        {"courts:\n  - code: 豫0381\n", ":2:5:", "a court needs its name"},
        {"courts:\n  - name: 某院\n", ":2:5:", "a court needs its code"},
        {"courts:\n  - code: 0381\n    name: 某院\n", ":2:11:", "code '0381' is not a court code"},
        {"courts:\n  - code: 豫03\n    name: 某院\n", ":2:11:", "code '豫03' is not a court code"},
        {"courts:\n  - code: 豫0381\n    name: 某院\n    calender: x.yaml\n",
         ":4:15:", "unknown setting 'calender' of a court"},
        {"courts:\n  - code: 豫0381\n    name: 某院\n    teams: team_1\n",
         ":4:12:", "teams must list the court's teams"},
        {"courts:\n  - code: 豫0381\n    name: 某院\n    teams: [team_1, [x]]\n",
         ":4:21:", "a team is a post's id"},
        {"courts:\n  - code: 豫0381\n    name: [某院]\n", ":3:11:", "name must be a single value"},
        {"courts:\n  - code: 豫0381\n    name: 甲院\n  - code: 豫0381\n    name: 乙院\n",
         ":4:5:", "court 豫0381 is listed twice (first at "},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[] = "/tmp/test_config_XXXXXX", err[1024], want[600];
        cf_config cfg;
        write_file(path, cases[i].yaml);
        assert_int_equal(cf_config_load(&cfg, path, err, sizeof err), CF_EINVAL);
        snprintf(want, sizeof want, "%s%s", path, cases[i].where);
        if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, cases[i].says)) {
            fprintf(stderr, "for:\n%swant: %s ... %s\ngot:  %s\n", cases[i].yaml, want,
                    cases[i].says, err);
            fail();
        }
        cf_config_free(&cfg);
        unlink(path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uri_passwords),
        cmocka_unit_test(test_keyvalue_passwords),
        cmocka_unit_test(test_cut_short),
        cmocka_unit_test(test_secret_kafka_settings),
        cmocka_unit_test(test_dump_masks),
        cmocka_unit_test(test_timeouts_from_environment),
        cmocka_unit_test(test_one_court_without_a_list),
        cmocka_unit_test(test_courts_list),
        cmocka_unit_test(test_courts_mistakes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
