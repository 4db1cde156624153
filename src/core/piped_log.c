/*
 * piped_log.c — "|program" logs (contract in piped_log.h).
 *
 * The table of logs lives in the control process; children get a copy of it
 * with fork and only ever call piped_log_write on their copy.  What all of
 * them must agree on -- lines lost, congestion -- is in one shared anonymous
 * mapping made before the first child is forked.
 */
#include "piped_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "blocking.h"

#define PIPED_LOG_SHARED_SLOTS 128  /* logs over the control process's life that get shared counters */
#define PIPED_LOG_PIPE_SIZE (1 << 20)
#define QUICK_DEATH_MS 1000         /* a program dying sooner is restarted once a second at most */
#define REPORT_INTERVAL_MS 1000
#define SHUTDOWN_DRAIN_MS 2000      /* programs get this long to finish after the pipe closes */
#define SHUTDOWN_TERM_MS 1000

typedef struct {
    _Atomic uint64_t lost;
    _Atomic uint64_t truncated;
    _Atomic int64_t congested_until_ms;
} shared_counters;

struct piped_log {
    struct piped_log *next;
    char *spec;                 /* as configured, after the first '|': the reuse key */
    char *command;              /* what /bin/sh -c runs */
    int read_fd;
    int write_fd;
    pid_t pid;                  /* 0 = not running */
    int users;                  /* configurations using it; 0 = retired, waiting for its program */
    int64_t started_ms;
    int64_t start_at_ms;        /* start (again) when now >= this, if not running */
    shared_counters *shared;
    shared_counters local;      /* when no shared slot was available */
    uint64_t reported_lost, reported_truncated;
    int64_t reported_at_ms;
};

static piped_log *piped_logs;
static shared_counters *shared_slots;
static int shared_slots_used;


static shared_counters *allocate_counters(void)
{
    if (!shared_slots) {
        void *memory = mmap(NULL, sizeof(shared_counters) * PIPED_LOG_SHARED_SLOTS, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED)
            return NULL;
        shared_slots = memory;
    }
    return shared_slots_used < PIPED_LOG_SHARED_SLOTS ? &shared_slots[shared_slots_used++] : NULL;
}

piped_log *piped_log_open(const char *spec, char *error, size_t size)
{
    for (piped_log *log = piped_logs; log; log = log->next) {
        if (log->users > 0 && strcmp(log->spec, spec) == 0) {
            log->users++;
            return log;
        }
    }
    bool shell = spec[0] == '$';
    const char *program = spec + (spec[0] == '$' || spec[0] == '|');
    while (*program == ' ' || *program == '\t')
        program++;
    if (!*program) {
        snprintf(error, size, "piped log \"|%s\" names no program", spec);
        return NULL;
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(error, size, "could not create the pipe for piped log \"|%s\": %s", spec, strerror(errno));
        return NULL;
    }
    /* Only the writers' side is non-blocking: the program reads normally. */
    fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
    fcntl(fds[1], F_SETPIPE_SZ, PIPED_LOG_PIPE_SIZE);  /* best effort: the limit is the system's */

    piped_log *log = xcalloc(1, sizeof *log);
    log->spec = xstrdup(spec);
    size_t length = strlen(program) + 8;
    log->command = xmalloc(length);
    bool has_exec = strncmp(program, "exec", 4) == 0 && (program[4] == ' ' || program[4] == '\t');
    snprintf(log->command, length, "%s%s", shell || has_exec ? "" : "exec ", program);
    log->read_fd = fds[0];
    log->write_fd = fds[1];
    log->users = 1;
    log->shared = allocate_counters();
    if (!log->shared)
        log->shared = &log->local;
    log->next = piped_logs;
    piped_logs = log;
    return log;
}

static void close_ends(piped_log *log)
{
    if (log->read_fd >= 0)
        close(log->read_fd);
    if (log->write_fd >= 0)
        close(log->write_fd);
    log->read_fd = log->write_fd = -1;
}

static void forget(piped_log *log)
{
    for (piped_log **link = &piped_logs; *link; link = &(*link)->next) {
        if (*link == log) {
            *link = log->next;
            break;
        }
    }
    free(log->spec);
    free(log->command);
    free(log);
}

void piped_log_release(piped_log *log)
{
    if (!log || log->users <= 0 || --log->users > 0)
        return;
    close_ends(log);
    if (!log->pid)
        forget(log);
}

int piped_log_fd(const piped_log *log)
{
    return log->write_fd;
}

const char *piped_log_command(const piped_log *log)
{
    return log->spec;
}

uint64_t piped_log_lost_lines(const piped_log *log)
{
    return atomic_load_explicit(&log->shared->lost, memory_order_relaxed);
}

/* ---- writing (any process, any thread) ------------------------------------- */

static int lose(piped_log *log)
{
    atomic_fetch_add_explicit(&log->shared->lost, 1, memory_order_relaxed);
    return WEFT_ERROR;
}

int piped_log_write(piped_log *log, const char *line, size_t length)
{
    int saved_errno = errno;
    char cut[PIPE_BUF];
    if (UNLIKELY(length > PIPE_BUF)) {
        /* Longer writes to a pipe may interleave with other writers'. */
        memcpy(cut, line, PIPE_BUF - 1);
        cut[PIPE_BUF - 1] = '\n';
        line = cut;
        length = PIPE_BUF;
        atomic_fetch_add_explicit(&log->shared->truncated, 1, memory_order_relaxed);
    }
    int64_t deadline = 0;
    int rc = WEFT_OK;
    for (int attempt = 0;; attempt++) {
        ssize_t written = write(log->write_fd, line, length);
        if (LIKELY(written == (ssize_t)length))
            break;
        if (written < 0 && errno == EINTR)
            continue;
        if (written >= 0 || errno != EAGAIN) {
            rc = lose(log);  /* cannot happen while the control process holds the read end */
            break;
        }
        int64_t now = monotonic_ms();
        if (attempt == 0) {
            if (now < atomic_load_explicit(&log->shared->congested_until_ms, memory_order_relaxed)) {
                rc = lose(log);
                break;
            }
            deadline = now + PIPED_LOG_WAIT_MS;
        }
        if (now >= deadline) {
            atomic_store_explicit(&log->shared->congested_until_ms, now + PIPED_LOG_CONGESTION_MS,
                                  memory_order_relaxed);
            rc = lose(log);
            break;
        }
        /* POLLOUT on a pipe means a free buffer slot: room for PIPE_BUF bytes. */
        struct pollfd p = { .fd = log->write_fd, .events = POLLOUT };
        blocking_poll(&p, 1, deadline - now);
    }
    errno = saved_errno;
    return rc;
}

/* ---- the programs (control process) ------------------------------------------ */

static void start_program(piped_log *log, int64_t now)
{
    pid_t pid = fork();
    if (pid < 0) {
        log_error_number(LOG_LEVEL_ERROR, errno, "could not start piped log program \"%s\"", log->command);
        log->start_at_ms = now + QUICK_DEATH_MS;
        return;
    }
    if (pid == 0) {
        /* The control process blocks the signals it reads from a signalfd
         * and ignores SIGPIPE; the program gets a normal start.  Its own
         * process group keeps a terminal's Ctrl-C away from it, so that it
         * outlives the server long enough to write what is left. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGXFSZ, SIG_DFL);
        setpgid(0, 0);
        if (dup2(log->read_fd, STDIN_FILENO) < 0)
            _exit(127);
        execl("/bin/sh", "sh", "-c", log->command, (char *)NULL);
        _exit(127);
    }
    log->pid = pid;
    log->started_ms = now;
    log->start_at_ms = 0;
    log_message(LOG_LEVEL_DEBUG, "piped log program \"%s\" started (pid %ld)", log->command, (long)pid);
}

bool piped_log_child_exited(pid_t pid, int status, int64_t now_ms)
{
    piped_log *log = piped_logs;
    while (log && log->pid != pid)
        log = log->next;
    if (!log)
        return false;
    log->pid = 0;
    if (log->users == 0) {
        forget(log);  /* retired: its writers are gone */
        return true;
    }
    char how[64];
    if (WIFSIGNALED(status))
        snprintf(how, sizeof how, "was killed by signal %d", WTERMSIG(status));
    else
        snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(status));
    bool quick = now_ms - log->started_ms < QUICK_DEATH_MS;
    log_message(LOG_LEVEL_ERROR, "piped log program \"%s\" (pid %ld) %s: %s", log->command, (long)pid, how,
                quick ? "restarting it in a second (lines wait in the pipe)" : "restarting it");
    if (quick)
        log->start_at_ms = log->started_ms + QUICK_DEATH_MS;
    else
        start_program(log, now_ms);
    return true;
}

static void report_losses(piped_log *log, int64_t now)
{
    uint64_t lost = atomic_load_explicit(&log->shared->lost, memory_order_relaxed);
    uint64_t truncated = atomic_load_explicit(&log->shared->truncated, memory_order_relaxed);
    if ((lost == log->reported_lost && truncated == log->reported_truncated) ||
        now - log->reported_at_ms < REPORT_INTERVAL_MS)
        return;
    if (lost != log->reported_lost)
        log_message(LOG_LEVEL_WARN, "piped log \"|%s\": %llu line%s lost because the pipe stayed full "
                                    "for %d ms (%llu in all)",
                    log->spec, (unsigned long long)(lost - log->reported_lost),
                    lost - log->reported_lost == 1 ? "" : "s", PIPED_LOG_WAIT_MS, (unsigned long long)lost);
    if (truncated != log->reported_truncated)
        log_message(LOG_LEVEL_WARN, "piped log \"|%s\": %llu line%s longer than %d bytes cut short",
                    log->spec, (unsigned long long)(truncated - log->reported_truncated),
                    truncated - log->reported_truncated == 1 ? "" : "s", PIPE_BUF);
    log->reported_lost = lost;
    log->reported_truncated = truncated;
    log->reported_at_ms = now;
}

void piped_log_maintain(int64_t now_ms)
{
    for (piped_log *log = piped_logs; log; log = log->next) {
        if (log->users > 0 && !log->pid && now_ms >= log->start_at_ms)
            start_program(log, now_ms);
        report_losses(log, now_ms);
    }
}

static bool any_running(void)
{
    for (piped_log *log = piped_logs; log; log = log->next)
        if (log->pid)
            return true;
    return false;
}

/* Reaps our programs until none runs or the deadline passes. */
static void wait_programs(int64_t deadline)
{
    while (any_running() && monotonic_ms() < deadline) {
        for (piped_log *log = piped_logs; log; log = log->next) {
            int status;
            if (log->pid && waitpid(log->pid, &status, WNOHANG) == log->pid)
                log->pid = 0;
        }
        struct timespec pause = { 0, 10 * 1000 * 1000 };
        nanosleep(&pause, NULL);
    }
}

void piped_log_shutdown(void)
{
    for (piped_log *log = piped_logs; log; log = log->next) {
        report_losses(log, INT64_MAX);
        close_ends(log);
        log->users = 0;
    }
    wait_programs(monotonic_ms() + SHUTDOWN_DRAIN_MS);
    for (piped_log *log = piped_logs; log; log = log->next)
        if (log->pid)
            kill(log->pid, SIGTERM);
    wait_programs(monotonic_ms() + SHUTDOWN_TERM_MS);
    for (piped_log *log = piped_logs; log; log = log->next) {
        if (log->pid) {
            kill(log->pid, SIGKILL);
            waitpid(log->pid, NULL, 0);
            log->pid = 0;
        }
    }
    while (piped_logs)
        forget(piped_logs);
}
