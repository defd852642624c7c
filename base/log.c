/* The log writer behind the cf_log macros: timestamps, levels and case context on stderr. */
#include "log.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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

void cf_log_write(int level, const char *case_no, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    size_t n;
    va_list ap;

    /* Log times are shown in the court's zone (UTC+8, no daylight saving since 1991). */
    clock_gettime(CLOCK_REALTIME, &ts);
    time_t local = ts.tv_sec + 8 * 3600;
    gmtime_r(&local, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, ".%03ld+08:00 %-5s %s ", ts.tv_nsec / 1000000,
                          level_names[level < 0   ? 0
                                      : level > 4 ? 4
                                                  : level],
                          component);
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
