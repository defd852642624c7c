/*
 * Logging: one macro family that checks the level before it evaluates its
 * arguments, and carries the case number as context (as PgBouncer's slog_*).
 *
 * Lines go to stderr as `2026-11-28T10:00:00.123+08:00 INFO engine [case] text`; under
 * systemd, when stderr is the journal, as `<6>INFO engine [case] text` (the journal keeps the
 * time, and the syslog priority in front lets `journalctl -p` filter by level).
 * Personal data of parties must never be passed in clear: mask it first with
 * the cf_mask_* functions in mask.h.
 */
#ifndef CF_LOG_H
#define CF_LOG_H

#include "err.h"

enum cf_log_level {
    CF_LOG_ERROR = 0,
    CF_LOG_WARN = 1,
    CF_LOG_INFO = 2,
    CF_LOG_DEBUG = 3,
    CF_LOG_TRACE = 4,
};

/* The current threshold; lines above it are not formatted at all. */
extern int cf_log_threshold;

/* Sets the process's name shown in each line ("engine", "worker:documents"). */
void cf_log_set_component(const char *name);

/*
 * Parses "error", "warn", "info", "debug" or "trace" into `*level`.
 * Returns 0, or CF_EINVAL for any other text.
 */
int cf_log_parse_level(const char *text, int *level) CF_MUST_CHECK;

/* Writes one line; use the macros below instead, which check the level first. */
void cf_log_write(int level, const char *case_no, const char *fmt, ...) CF_PRINTF(3, 4);

#define cf_log(level, case_no, ...)                        \
    do {                                                   \
        if ((level) <= cf_log_threshold)                   \
            cf_log_write((level), (case_no), __VA_ARGS__); \
    } while (0)

#define cf_error(...) cf_log(CF_LOG_ERROR, NULL, __VA_ARGS__)
#define cf_warn(...)  cf_log(CF_LOG_WARN, NULL, __VA_ARGS__)
#define cf_info(...)  cf_log(CF_LOG_INFO, NULL, __VA_ARGS__)
#define cf_debug(...) cf_log(CF_LOG_DEBUG, NULL, __VA_ARGS__)

/* The same, with a case number as context. */
#define cf_case_error(case_no, ...) cf_log(CF_LOG_ERROR, (case_no), __VA_ARGS__)
#define cf_case_warn(case_no, ...)  cf_log(CF_LOG_WARN, (case_no), __VA_ARGS__)
#define cf_case_info(case_no, ...)  cf_log(CF_LOG_INFO, (case_no), __VA_ARGS__)
#define cf_case_debug(case_no, ...) cf_log(CF_LOG_DEBUG, (case_no), __VA_ARGS__)

#endif
