/*
 * log.c — the error log (contract in log.h).
 *
 * Every line is assembled in a stack buffer and handed to the kernel with one
 * write(2): with O_APPEND that is what keeps lines from threads and from the
 * child processes (which share the descriptor through fork) whole.  Nothing
 * here allocates or takes a lock, so logging works while memory is short and
 * from any thread.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int log_threshold = LOG_LEVEL_WARN;

/* Written by log_use() (configuration time, one thread) and read by every
 * logging thread, hence the atomics: a reader sees the old or the new
 * descriptor, never a torn value. */
static int log_fd = STDERR_FILENO;
/* Set by the first failed write and cleared by the next successful one, so a
 * full disk produces one complaint on stderr instead of one per line. */
static bool log_write_failing;

static const char *const log_level_names[] = {
    "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug",
    "trace1", "trace2", "trace3", "trace4", "trace5", "trace6", "trace7", "trace8",
};

/* English names whatever the locale: log readers parse these. */
static const char log_day_names[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char log_month_names[12][4] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

int log_level_parse(const char *name)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < COUNT_OF(log_level_names); i++)
        if (strcasecmp(name, log_level_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *log_level_name(int level)
{
    if (level < 0 || (size_t)level >= COUNT_OF(log_level_names))
        return "unknown";
    return log_level_names[level];
}

int log_open_file(const char *path)
{
    /* Opening "/dev/stderr" by name fails when stderr is a socket (systemd's
     * journal) and would follow a later redirection of fd 2; a duplicate keeps
     * writing where stderr pointed when the log was opened.  The duplicate is
     * >= 3 so that log_use() may close it like any other log file. */
    if (strcmp(path, "/dev/stderr") == 0)
        return fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (strcmp(path, "/dev/stdout") == 0)
        return fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    /* Children are forked, not exec'd, so they inherit the descriptor anyway;
     * O_CLOEXEC only keeps it away from CGI programs. */
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

void log_use(int fd, int level)
{
    if (fd < 0)
        fd = STDERR_FILENO;
    int previous = __atomic_exchange_n(&log_fd, fd, __ATOMIC_ACQ_REL);
    log_threshold = level;
    __atomic_store_n(&log_write_failing, false, __ATOMIC_RELAXED);
    if (previous > STDERR_FILENO && previous != fd)
        close(previous);
}

int log_current_fd(void)
{
    return __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);
}

int log_current_level(void)
{
    return log_threshold;
}

/* localtime_r takes glibc's timezone lock; one conversion per second and
 * thread is plenty.  Thread-local, so no sharing and no lock of our own. */
static _Thread_local time_t log_cached_second = -1;
static _Thread_local struct tm log_cached_tm;

static size_t log_format_time(char *out, size_t size)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec != log_cached_second) {
        if (!localtime_r(&now.tv_sec, &log_cached_tm))
            memset(&log_cached_tm, 0, sizeof log_cached_tm);
        log_cached_second = now.tv_sec;
    }
    const struct tm *t = &log_cached_tm;
    int length = snprintf(out, size, "%s %s %02d %02d:%02d:%02d.%06ld %d",
                          log_day_names[(unsigned)t->tm_wday % 7],
                          log_month_names[(unsigned)t->tm_mon % 12], t->tm_mday, t->tm_hour,
                          t->tm_min, t->tm_sec, now.tv_nsec / 1000, t->tm_year + 1900);
    return length < 0 ? 0 : (size_t)length < size ? (size_t)length : size - 1;
}

static void log_report_write_failure(int fd, int error)
{
    if (fd == STDERR_FILENO)
        return;  /* the complaint would go where the failure is */
    char description[128];
    char text[320];
    const char *name = strerrorname_np(error);
    int length = snprintf(text, sizeof text,
                          "weft: writing to the error log failed: %s (%s); "
                          "messages are lost until it works again\n",
                          strerror_r(error, description, sizeof description), name ? name : "?");
    if (length <= 0)
        return;
    if ((size_t)length >= sizeof text)
        length = sizeof text - 1;
    ssize_t ignored = write(STDERR_FILENO, text, (size_t)length);
    (void)ignored;
}

static void log_write_line(const char *line, size_t length)
{
    int fd = log_current_fd();
    ssize_t written;
    do
        written = write(fd, line, length);
    while (written < 0 && errno == EINTR);

    if (LIKELY(written == (ssize_t)length)) {
        if (UNLIKELY(__atomic_load_n(&log_write_failing, __ATOMIC_RELAXED)))
            __atomic_store_n(&log_write_failing, false, __ATOMIC_RELAXED);
        return;
    }
    /* A short write to an O_APPEND file means the disk is full; retrying the
     * rest could interleave with other writers, so the tail is dropped. */
    int error = written < 0 ? errno : ENOSPC;
    if (!__atomic_exchange_n(&log_write_failing, true, __ATOMIC_RELAXED))
        log_report_write_failure(fd, error);
}

/* Builds "[time] [level] [pid N:tid N] " + message (+ suffix) + "\n" and
 * writes it.  Newlines inside the message become spaces so that one call
 * stays one line, whatever the caller passed in.  errno is preserved: callers
 * log first and look at errno afterwards. */
static void log_vwrite(int level, const char *suffix, const char *format, va_list args)
{
    int saved_errno = errno;
    char line[LOG_LINE_MAX];
    size_t length = 1;
    line[0] = '[';
    length += log_format_time(line + length, sizeof line - length);
    int prefix = snprintf(line + length, sizeof line - length, "] [%s] [pid %ld:tid %ld] ",
                          log_level_name(level), (long)getpid(), (long)gettid());
    if (prefix > 0)
        length += (size_t)prefix;

    size_t message_start = length;
    int message = vsnprintf(line + length, sizeof line - length, format, args);
    if (message > 0)
        length += (size_t)message;
    if (suffix && length < sizeof line) {
        int added = snprintf(line + length, sizeof line - length, "%s", suffix);
        if (added > 0)
            length += (size_t)added;
    }
    if (length > sizeof line - 1)
        length = sizeof line - 1;  /* truncated: keep room for the newline */

    while (length > message_start && (line[length - 1] == '\n' || line[length - 1] == '\r'))
        length--;
    for (size_t i = message_start; i < length; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[length++] = '\n';
    log_write_line(line, length);
    errno = saved_errno;
}

void log_message(int level, const char *format, ...)
{
    if (!log_enabled(level))
        return;
    va_list args;
    va_start(args, format);
    log_vwrite(level, NULL, format, args);
    va_end(args);
}

void log_error_number(int level, int error, const char *format, ...)
{
    if (!log_enabled(level))
        return;
    char description[128];
    char suffix[200];
    const char *name = strerrorname_np(error);
    snprintf(suffix, sizeof suffix, ": %s (%s)", strerror_r(error, description, sizeof description),
             name ? name : "unknown errno");
    va_list args;
    va_start(args, format);
    log_vwrite(level, suffix, format, args);
    va_end(args);
}
