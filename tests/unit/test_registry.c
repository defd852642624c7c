/* Unit tests of engine/registry: the courts of an installation, each on its own calendar and
 * teams as views of the same workflows, the court of a case, and the mistakes of `courts:`. */
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
#include "engine/registry.h"
#include "fixture.h"

/* Loads configuration text (its calendar paths relative to the source tree) and the
 * enforcement workflow into `reg`; returns what cf_registry_courts returned. */
static int load(const char *yaml, cf_config *cfg, cf_registry *reg, char *err, size_t errsz)
{
    char path[] = "/tmp/test_registry_XXXXXX", wf[1024];
    char *paths[1] = {wf};
    int fd = mkstemp(path), rc;
    FILE *f;

    assert_true(fd >= 0);
    assert_non_null(f = fdopen(fd, "w"));
    fputs(yaml, f);
    fclose(f);
    assert_int_equal(chdir(fx_source_dir()), 0);
    assert_int_equal(cf_config_load(cfg, path, err, errsz), 0);
    unlink(path);
    fx_source_path(wf, sizeof wf, "workflows/enforcement_case.yaml");
    assert_int_equal(cf_registry_load(reg, paths, 1, err, errsz), 0);
    rc = cf_registry_courts(reg, cfg, err, errsz);
    return rc;
}

static const char TWO[] = "courts:\n"
                          "  - code: 豫0381\n"
                          "    name: 甲院\n"
                          "  - code: 新0102\n"
                          "    name: 乙院\n"
                          "    calendar: tests/data/courts/local_day_off.yaml\n"
                          "    teams: [team_1, team_2, team_3]\n";

static void test_views(void **state)
{
    (void)state;
    char err[1024];
    cf_config cfg;
    cf_registry reg;
    const cf_workflow *wf, *a, *b;
    cf_date day;

    assert_int_equal(load(TWO, &cfg, &reg, err, sizeof err), 0);
    assert_int_equal(reg.ncourts, 2);
    wf = reg.wf[0];
    /* Court A changes nothing: its workflow is the workflow. */
    a = cf_registry_in_court(&reg, 0, wf);
    assert_ptr_equal(a, wf);
    /* Court B: the same definition on its calendar and teams. */
    b = cf_registry_in_court(&reg, 1, wf);
    assert_ptr_not_equal(b, wf);
    assert_string_equal(b->name, wf->name);
    assert_ptr_equal(b->states, wf->states);
    assert_int_equal(b->nteams, 3);
    assert_string_equal(b->teams[2], "team_3");
    assert_int_equal(wf->nteams, 6);
    assert_int_equal(cf_date_parse("2026-09-02", &day), 0);
    assert_true(cf_calendar_is_working_day(a->calendar, day));
    assert_false(cf_calendar_is_working_day(b->calendar, day));
    /* Out of range: the workflow itself. */
    assert_ptr_equal(cf_registry_in_court(&reg, 7, wf), wf);
    cf_registry_free(&reg);
    cf_config_free(&cfg);
}

static void test_court_of(void **state)
{
    (void)state;
    char err[1024];
    cf_config cfg;
    cf_registry reg;

    assert_int_equal(load(TWO, &cfg, &reg, err, sizeof err), 0);
    assert_int_equal(cf_registry_court_of(&reg, "(2026)豫0381执1号", "豫0381", err, sizeof err), 0);
    assert_int_equal(cf_registry_court_of(&reg, "(2026)新0102执1号", NULL, err, sizeof err), 1);
    assert_int_equal(cf_registry_court_of(&reg, "(2013)洛执字第1号", "新0102", err, sizeof err), 1);
    /* A key that names no court, filed without one: the home court. */
    assert_int_equal(cf_registry_court_of(&reg, "PAY-1", NULL, err, sizeof err), 0);
    assert_int_equal(cf_registry_court_of(&reg, "(2026)豫0307执1号", NULL, err, sizeof err), -1);
    assert_string_equal(err, "case (2026)豫0307执1号 is of court 豫0307, which this installation "
                             "does not serve (courts: 豫0381, 新0102)");
    assert_int_equal(cf_registry_court_of(&reg, "(2013)洛执字第1号", "豫0307", err, sizeof err),
                     -1);
    assert_int_equal(cf_registry_court_of(&reg, "(2026)豫0381执1号", "新0102", err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "is of court 豫0381 by its number, but its filing names court "
                                "新0102"));
    cf_registry_free(&reg);
    cf_config_free(&cfg);

    /* A registry without courts serves every court, as loaded. */
    memset(&reg, 0, sizeof reg);
    assert_int_equal(cf_registry_court_of(&reg, "(2026)豫0307执1号", NULL, err, sizeof err), 0);
}

/* A court's calendar that does not load and a team that is no post are named where written. */
static void test_mistakes(void **state)
{
    (void)state;
    char err[1024];
    cf_config cfg;
    cf_registry reg;

    assert_int_equal(load("courts:\n  - code: 豫0381\n    name: 甲院\n"
                          "    calendar: tests/data/courts/none.yaml\n",
                          &cfg, &reg, err, sizeof err),
                     CF_EINVAL);
    assert_non_null(strstr(err, ":4:15: courts: calendar of 豫0381: "));
    cf_registry_free(&reg);
    cf_config_free(&cfg);
    assert_int_equal(load("courts:\n  - code: 豫0381\n    name: 甲院\n"
                          "    teams: [team_1, team_9]\n",
                          &cfg, &reg, err, sizeof err),
                     CF_EINVAL);
    assert_non_null(strstr(
        err, ":4:12: courts: team 'team_9' of 豫0381 is not a post of workflow enforcement_case"));
    cf_registry_free(&reg);
    cf_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_views),
        cmocka_unit_test(test_court_of),
        cmocka_unit_test(test_mistakes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
