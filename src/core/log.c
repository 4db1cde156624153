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
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "piped_log.h"

int log_threshold = LOG_LEVEL_WARN;

/* Written by log_use() (configuration time, one thread) and read by every
 * logging thread, hence the atomics: a reader sees the old or the new
 * descriptor, never a torn value. */
static int log_fd = STDERR_FILENO;
/* Set instead of a descriptor of ours when the log is a pipe or syslog
 * (changed only by the single-threaded control process). */
static piped_log *log_pipe;
static bool log_syslog;
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

/* Forgets the pipe or syslog connection the log used so far. */
static void release_special_target(void)
{
    piped_log *pipe = __atomic_exchange_n(&log_pipe, NULL, __ATOMIC_ACQ_REL);
    if (pipe)
        piped_log_release(pipe);
    if (__atomic_exchange_n(&log_syslog, false, __ATOMIC_ACQ_REL))
        closelog();
}

void log_use(int fd, int level)
{
    if (fd < 0)
        fd = STDERR_FILENO;
    bool was_pipe = __atomic_load_n(&log_pipe, __ATOMIC_ACQUIRE) != NULL;
    int previous = __atomic_exchange_n(&log_fd, fd, __ATOMIC_ACQ_REL);
    release_special_target();
    log_threshold = level;
    __atomic_store_n(&log_write_failing, false, __ATOMIC_RELAXED);
    if (previous > STDERR_FILENO && previous != fd && !was_pipe)
        close(previous);  /* a pipe's descriptor belongs to its piped_log */
}

static const struct {
    const char *name;
    int facility;
} syslog_facilities[] = {
    { "auth", LOG_AUTH },     { "authpriv", LOG_AUTHPRIV }, { "cron", LOG_CRON },     { "daemon", LOG_DAEMON },
    { "ftp", LOG_FTP },       { "kern", LOG_KERN },         { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
    { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },     { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
    { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },     { "lpr", LOG_LPR },       { "mail", LOG_MAIL },
    { "news", LOG_NEWS },     { "syslog", LOG_SYSLOG },     { "user", LOG_USER },     { "uucp", LOG_UUCP },
};

int log_syslog_facility(const char *name)
{
    for (size_t i = 0; i < COUNT_OF(syslog_facilities); i++)
        if (strcasecmp(name, syslog_facilities[i].name) == 0)
            return syslog_facilities[i].facility;
    return -1;
}

int log_target_open(const char *spec, log_target *target, char *error, size_t size)
{
    log_target opened = { .fd = -1, .pipe = NULL, .syslog_facility = -1 };
    if (strncmp(spec, "syslog", 6) == 0 && (spec[6] == '\0' || spec[6] == ':')) {
        /* Apache's default facility. */
        opened.syslog_facility = spec[6] ? log_syslog_facility(spec + 7) : LOG_LOCAL7;
        if (opened.syslog_facility < 0) {
            snprintf(error, size, "unknown syslog facility '%s'", spec + 7);
            return WEFT_ERROR;
        }
    } else if (spec[0] == '|') {
        opened.pipe = piped_log_open(spec + 1, error, size);
        if (!opened.pipe)
            return WEFT_ERROR;
    } else {
        opened.fd = log_open_file(spec);
        if (opened.fd < 0) {
            snprintf(error, size, "could not open error log file %s: %s", spec, strerror(errno));
            return WEFT_ERROR;
        }
    }
    *target = opened;
    return WEFT_OK;
}

void log_target_use(const log_target *target, int level)
{
    if (target->fd >= 0) {
        log_use(target->fd, level);
        return;
    }
    log_use(STDERR_FILENO, level);  /* closes a previous file and forgets a pipe */
    if (target->pipe) {
        __atomic_store_n(&log_fd, piped_log_fd(target->pipe), __ATOMIC_RELEASE);
        __atomic_store_n(&log_pipe, target->pipe, __ATOMIC_RELEASE);
    } else if (target->syslog_facility >= 0) {
        /* LOG_NDELAY: connect now, so that children share the socket
         * instead of each opening its own on first use. */
        openlog(WEFT_NAME, LOG_PID | LOG_NDELAY, target->syslog_facility);
        __atomic_store_n(&log_syslog, true, __ATOMIC_RELEASE);
    }
}

void log_target_discard(log_target *target)
{
    if (target->fd > STDERR_FILENO)
        close(target->fd);
    if (target->pipe)
        piped_log_release(target->pipe);
    target->fd = -1;
    target->pipe = NULL;
    target->syslog_facility = -1;
}

bool log_is_file(void)
{
    return !__atomic_load_n(&log_pipe, __ATOMIC_ACQUIRE) && !__atomic_load_n(&log_syslog, __ATOMIC_ACQUIRE) &&
           log_current_fd() > STDERR_FILENO;
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

/* syslog(3) adds its own time stamp: the line goes without ours, from the
 * level on, and without the newline. */
static void log_write_syslog(int level, const char *line, size_t length)
{
    int priority = level < LOG_LEVEL_EMERG ? LOG_EMERG : level > LOG_LEVEL_DEBUG ? LOG_DEBUG : level;
    syslog(priority, "%.*s", (int)(length > 0 ? length - 1 : 0), line);
}

static void log_write_line(const char *line, size_t length)
{
    piped_log *pipe = __atomic_load_n(&log_pipe, __ATOMIC_ACQUIRE);
    if (pipe) {
        piped_log_write(pipe, line, length);  /* losses are counted and reported by the control process */
        return;
    }
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
static void log_vwrite(int level, const char *module_name, const char *suffix, const char *format,
                       va_list args)
{
    int saved_errno = errno;
    char line[LOG_LINE_MAX];
    size_t length = 1;
    line[0] = '[';
    length += log_format_time(line + length, sizeof line - length);
    size_t level_start = length + 2;  /* after "] " */
    int prefix = snprintf(line + length, sizeof line - length, "] [%s%s%s] [pid %ld:tid %ld] ",
                          module_name ? module_name : "", module_name ? ":" : "", log_level_name(level),
                          (long)getpid(), (long)gettid());
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
    if (__atomic_load_n(&log_syslog, __ATOMIC_ACQUIRE))
        log_write_syslog(level, line + level_start, length - level_start);
    else
        log_write_line(line, length);
    errno = saved_errno;
}

void log_message(int level, const char *format, ...)
{
    if (!log_enabled(level))
        return;
    va_list args;
    va_start(args, format);
    log_vwrite(level, NULL, NULL, format, args);
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
    log_vwrite(level, NULL, suffix, format, args);
    va_end(args);
}

void log_module_message(int level, const char *module_name, const char *format, ...)
{
    if (!log_enabled(level))
        return;
    va_list args;
    va_start(args, format);
    log_vwrite(level, module_name, NULL, format, args);
    va_end(args);
}

void log_module_message_forced(int level, const char *module_name, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    log_vwrite(level, module_name, NULL, format, args);
    va_end(args);
}
