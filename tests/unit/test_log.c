/* Unit tests of base/log: the line's form on a terminal or file, and under systemd's journal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"

/* Sends stderr to a new temporary file; returns its descriptor for reading back. */
static int capture_stderr(char *path, size_t n)
{
    int fd;
    snprintf(path, n, "/tmp/cf_log_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    return fd;
}

static void read_back(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    size_t len;
    assert_non_null(f);
    len = fread(buf, 1, n - 1, f);
    buf[len] = '\0';
    fclose(f);
}

/* Elsewhere (a terminal, a file, or a journal stream redirected away), a line starts with the
 * time in the court's zone.  Run in a child, so that the process's answer stays unlooked-up. */
static void test_plain_lines_carry_time(void **state)
{
    char path[64], out[1024];
    pid_t pid;
    int status, saved = dup(STDERR_FILENO), fd;
    (void)state;

    fd = capture_stderr(path, sizeof path);
    close(fd);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("JOURNAL_STREAM", "1:2", 1); /* another stream than this stderr */
        cf_log_set_component("worker:documents");
        cf_warn("slow");
        fflush(stderr);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    dup2(saved, STDERR_FILENO);
    close(saved);
    read_back(path, out, sizeof out);
    unlink(path);
    /* 2026-11-28T10:00:00.123+08:00 WARN  worker:documents slow */
    assert_int_equal(strlen(out), 29 + strlen(" WARN  worker:documents slow\n"));
    assert_int_equal(out[10], 'T');
    assert_memory_equal(out + 23, "+08:00 WARN  worker:documents slow\n", 35);
}

/* When stderr is the stream JOURNAL_STREAM names, each line starts with its syslog priority
 * and carries no time of its own.  (The answer is looked up once per process, so this one test
 * sets the journal up before the first line is written.) */
static void test_journal_lines_carry_priority(void **state)
{
    char path[64], env[64], out[1024];
    struct stat st;
    int saved = dup(STDERR_FILENO), fd;
    (void)state;

    fd = capture_stderr(path, sizeof path);
    assert_int_equal(fstat(STDERR_FILENO, &st), 0);
    snprintf(env, sizeof env, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", env, 1);
    cf_log_set_component("engine");
    cf_log_threshold = CF_LOG_DEBUG;
    cf_error("the database is gone");
    cf_case_warn("(2026)豫0381执1号", "late");
    cf_info("started");
    cf_debug("detail");
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    read_back(path, out, sizeof out);
    unlink(path);
    assert_string_equal(out, "<3>ERROR engine the database is gone\n"
                             "<4>WARN  engine [(2026)豫0381执1号] late\n"
                             "<6>INFO  engine started\n"
                             "<7>DEBUG engine detail\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_lines_carry_time),
        cmocka_unit_test(test_journal_lines_carry_priority),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
