/* Unit tests of base/path: where data files are found, from the current folder, the
 * configuration's data_dir and the executable's own place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/path.h"

static int reset(void **state)
{
    (void)state;
    assert_int_equal(cf_path_set_data_dir(NULL), 0);
    return 0;
}

static void test_absolute_is_itself(void **state)
{
    char out[PATH_MAX];
    (void)state;
    assert_int_equal(cf_path_set_data_dir("/srv/caseflow"), 0);
    assert_string_equal(cf_path_find("/etc/hostname", out, sizeof out), "/etc/hostname");
    assert_string_equal(cf_path_find("/no/such/file", out, sizeof out), "/no/such/file");
}

/* An operator's own file in the current folder wins over the data folder. */
static void test_current_folder_first(void **state)
{
    char out[PATH_MAX], dir[] = "/tmp/cf_path_XXXXXX", cwd[PATH_MAX];
    FILE *f;
    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    f = fopen("mine.yaml", "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(cf_path_set_data_dir("/srv/caseflow"), 0);
    assert_string_equal(cf_path_find("mine.yaml", out, sizeof out), "mine.yaml");
    assert_string_equal(cf_path_find("theirs.yaml", out, sizeof out), "/srv/caseflow/theirs.yaml");
    assert_int_equal(unlink("mine.yaml"), 0);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rmdir(dir), 0);
}

/* The configured folder is the answer even where it lacks the file: the error names it. */
static void test_configured_folder(void **state)
{
    char out[PATH_MAX];
    (void)state;
    assert_int_equal(cf_path_set_data_dir("/srv/caseflow"), 0);
    assert_string_equal(cf_path_data_dir(out, sizeof out), "/srv/caseflow");
    assert_string_equal(cf_path_find("workflows/enforcement_case.yaml", out, sizeof out),
                        "/srv/caseflow/workflows/enforcement_case.yaml");
    assert_int_equal(cf_path_set_data_dir(""), 0);
    assert_string_not_equal(cf_path_data_dir(out, sizeof out), "/srv/caseflow");
}

/* Without a configured folder and outside a build tree (a unit test's folder has no
 * caseflow-source-dir), the data folder is found from the executable: ../share/caseflow. */
static void test_install_prefix_from_executable(void **state)
{
    char exe[PATH_MAX], want[2 * PATH_MAX], out[PATH_MAX], *slash;
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    (void)state;
    assert_true(len > 0);
    exe[len] = '\0';
    slash = strrchr(exe, '/');
    assert_non_null(slash);
    *slash = '\0';
    snprintf(want, sizeof want, "%s/caseflow-source-dir", exe);
    if (access(want, F_OK) == 0)
        skip();
    snprintf(want, sizeof want, "%s/../share/caseflow", exe);
    assert_string_equal(cf_path_data_dir(out, sizeof out), want);
    snprintf(want, sizeof want, "%s/../share/caseflow/schemas/sql", exe);
    assert_string_equal(cf_path_find("schemas/sql", out, sizeof out), want);
}

/* A path that does not fit is no path at all, never a shortened one. */
static void test_too_long(void **state)
{
    char out[24], dir[PATH_MAX], big[PATH_MAX + 10];
    (void)state;
    assert_int_equal(cf_path_set_data_dir("/srv/caseflow"), 0);
    assert_string_equal(cf_path_find("workflows/enforcement_case.yaml", out, sizeof out), "");
    memset(big, 'a', sizeof big - 1);
    big[0] = '/';
    big[sizeof big - 1] = '\0';
    /* Refused, and the folder named before is forgotten rather than kept. */
    assert_int_equal(cf_path_set_data_dir(big), CF_ERANGE);
    assert_true(!cf_path_data_dir(dir, sizeof dir) || strcmp(dir, "/srv/caseflow") != 0);
}

/* data_dir in the configuration (here from the environment) names the folder for every later
 * lookup of the process. */
static void test_config_names_the_folder(void **state)
{
    char err[256] = "", out[PATH_MAX];
    cf_config cfg;
    (void)state;
    setenv("CASEFLOW_DATA_DIR", "/opt/court/caseflow", 1);
    assert_int_equal(cf_config_load(&cfg, NULL, err, sizeof err), 0);
    assert_string_equal(cfg.data_dir, "/opt/court/caseflow");
    assert_string_equal(cf_path_find("web", out, sizeof out), "/opt/court/caseflow/web");
    cf_config_free(&cfg);
    unsetenv("CASEFLOW_DATA_DIR");
    assert_int_equal(cf_config_load(&cfg, NULL, err, sizeof err), 0);
    assert_string_not_equal(cf_path_find("web", out, sizeof out), "/opt/court/caseflow/web");
    cf_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_absolute_is_itself, reset),
        cmocka_unit_test_teardown(test_current_folder_first, reset),
        cmocka_unit_test_teardown(test_configured_folder, reset),
        cmocka_unit_test_setup_teardown(test_install_prefix_from_executable, reset, reset),
        cmocka_unit_test_teardown(test_too_long, reset),
        cmocka_unit_test_teardown(test_config_names_the_folder, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
