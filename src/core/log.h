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
 *
 * Where lines go (ErrorLog): a file, /dev/stderr or /dev/stdout (one write
 * per line, as above); "syslog[:facility]" (syslog(3) with ident "weft",
 * the facility local7 unless named, the level as priority, no time stamp);
 * "|program" (a piped log, piped_log.h: lines longer than PIPE_BUF are cut).
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
/* The descriptor lines are written to; STDERR_FILENO also while syslog is
 * the log (nothing of ours is open then). */
int log_current_fd(void);

struct piped_log;

/* An error log as a configuration names it, opened (by the control process)
 * but not yet in use. */
typedef struct {
    int fd;                    /* a file (or a duplicate of stderr/stdout); -1 otherwise */
    struct piped_log *pipe;    /* "|program"; NULL otherwise */
    int syslog_facility;       /* "syslog[:facility]": LOG_LOCAL7 etc.; -1 otherwise */
} log_target;

/* Opens what ErrorLog names.  WEFT_OK, or WEFT_ERROR with a reason in error
 * (and target unchanged). */
int log_target_open(const char *spec, log_target *target, char *error, size_t size);
/* Makes target the error log, taking it over, and releases the previous
 * one.  A target that will not be used: log_target_discard. */
void log_target_use(const log_target *target, int level);
void log_target_discard(log_target *target);
/* Is the current error log a file of ours (as opposed to stderr, syslog or
 * a pipe)? */
bool log_is_file(void);

/* "local7" -> LOG_LOCAL7 (syslog.h); -1 if not a facility name. */
int log_syslog_facility(const char *name);
int log_current_level(void);
static inline bool log_enabled(int level);

void log_message(int level, const char *format, ...) PRINTF_LIKE(2, 3);
/* Tagged "[module:level]" as Apache 2.4 tags its lines (e.g. "[cgi:error]"). */
void log_module_message(int level, const char *module, const char *format, ...) PRINTF_LIKE(3, 4);
/* The same whatever the error log's threshold: for a module whose own
 * LogLevel (LogLevel rewrite:trace3) lets more through; it checked that. */
void log_module_message_forced(int level, const char *module, const char *format, ...) PRINTF_LIKE(3, 4);
/* Appends ": <strerror(error)> (errno name)" to the message. */
void log_error_number(int level, int error, const char *format, ...) PRINTF_LIKE(3, 4);

extern int log_threshold;
static inline bool log_enabled(int level)
{
    return level <= log_threshold;
}

#endif
