/* The log writer behind the cf_log macros: timestamps, levels and case context on stderr. */
#include "log.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int cf_log_threshold = CF_LOG_INFO;
static char component[64] = "caseflow";

static const char *level_names[] = {"ERROR", "WARN", "INFO", "DEBUG", "TRACE"};

void cf_log_set_component(const char *name)
{
    snprintf(component, sizeof component, "%s", name);
}

int cf_log_parse_level(const char *text, int *level)
{
    for (int i = 0; i < (int)(sizeof level_names / sizeof level_names[0]); i++) {
        if (strcasecmp(text, level_names[i]) == 0) {
            *level = i;
            return 0;
        }
    }
    return CF_EINVAL;
}

/*
 * Whether stderr is systemd's stream to the journal: systemd names that stream's device and
 * inode in JOURNAL_STREAM, and a child whose stderr was redirected no longer matches.
 */
static int to_journal(void)
{
    static atomic_int known; /* 0: not looked yet, 1: no, 2: yes */
    int v = atomic_load(&known);

    if (v == 0) {
        const char *js = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;
        v = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
                    (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino
                ? 2
                : 1;
        atomic_store(&known, v);
    }
    return v == 2;
}

void cf_log_write(int level, const char *case_no, const char *fmt, ...)
{
    /* The syslog priority of each level, for the journal: err, warning, info, debug, debug. */
    static const int priorities[] = {3, 4, 6, 7, 7};
    char line[2048];
    struct timespec ts;
    struct tm tm;
    size_t n;
    va_list ap;

    level = level < 0 ? 0 : level > 4 ? 4 : level;
    if (to_journal()) {
        /* The journal stamps each line itself and reads its priority from the "<N>" prefix,
         * so that `journalctl -p warning -u caseflow-engine` shows the warnings. */
        n = (size_t)snprintf(line, sizeof line, "<%d>%-5s %s ", priorities[level],
                             level_names[level], component);
    } else {
        /* Log times are shown in the court's zone (UTC+8, no daylight saving since 1991). */
        clock_gettime(CLOCK_REALTIME, &ts);
        time_t local = ts.tv_sec + 8 * 3600;
        gmtime_r(&local, &tm);
        n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
        n += (size_t)snprintf(line + n, sizeof line - n, ".%03ld+08:00 %-5s %s ",
                              ts.tv_nsec / 1000000, level_names[level], component);
    }
    if (case_no && n < sizeof line)
        n += (size_t)snprintf(line + n, sizeof line - n, "[%s] ", case_no);
    if (n < sizeof line) {
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof line - n, fmt, ap);
        va_end(ap);
    }
    /* A long message is cut at the buffer's end: not inside a character. */
    line[sizeof line - 2] = '\0';
    cf_utf8_clip(line);
    /* One fputs per line keeps lines whole when several threads log. */
    n = strlen(line);
    if (n + 1 < sizeof line) {
        line[n] = '\n';
        line[n + 1] = '\0';
    } else {
        line[sizeof line - 2] = '\n';
    }
    fputs(line, stderr);
}
