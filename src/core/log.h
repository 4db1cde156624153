/*
 * log.h — the error log.
 *
 * Contract:
 *  - One line per call, written with a single write(2) on a descriptor opened
 *    with O_APPEND, so lines from any number of threads and processes never
 *    interleave (lines are capped at LOG_LINE_MAX bytes and truncated).
 *  - Format: "[Thu Nov 26 00:24:01.123456 2026] [level] [pid N:tid N] message".
 *  - Before log_open() (and when it fails) lines go to stderr.
 *  - A failing write (disk full, file deleted) never blocks or stops the
 *    caller; the first failure after a success is reported on stderr once.
 *  - Safe to call from any thread; async-signal-safety is NOT promised.
 */
#ifndef WEFT_LOG_H
#define WEFT_LOG_H

#include "common.h"

enum {
    LOG_LEVEL_EMERG = 0,
    LOG_LEVEL_ALERT,
    LOG_LEVEL_CRIT,
    LOG_LEVEL_ERROR,
    LOG_LEVEL_WARN,
    LOG_LEVEL_NOTICE,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG,
    LOG_LEVEL_TRACE1,
    LOG_LEVEL_TRACE8 = LOG_LEVEL_TRACE1 + 7,
};

#define LOG_LINE_MAX 8192

/* "warn" -> LOG_LEVEL_WARN, case-insensitive; -1 if unknown. */
int log_level_parse(const char *name);
const char *log_level_name(int level);

/* Opens path for appending (creating it 0644); "/dev/stderr" and
 * "/dev/stdout" use the process's descriptors.  Returns the descriptor, or
 * -1 with errno set.  Does not change the current log. */
int log_open_file(const char *path);
/* Makes fd the error log for this process with the given threshold; the
 * previous descriptor is closed unless it is 0, 1 or 2. */
void log_use(int fd, int level);
int log_current_fd(void);
int log_current_level(void);
static inline bool log_enabled(int level);

void log_message(int level, const char *format, ...) PRINTF_LIKE(2, 3);
/* Appends ": <strerror(error)> (errno name)" to the message. */
void log_error_number(int level, int error, const char *format, ...) PRINTF_LIKE(3, 4);

extern int log_threshold;
static inline bool log_enabled(int level)
{
    return level <= log_threshold;
}

#endif
