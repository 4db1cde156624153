/*
 * process.c — daemonizing, the pid file, signal names and resets.
 */
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- daemonizing ------------------------------------------------------- */

/* The original process: wait for the one message the daemon sends through
 * the pipe ("ok\n" or "E<text>\n", in a single write below PIPE_BUF so it
 * arrives whole), then leave with the matching status.  _exit: this process
 * shares the caller's heap and must not run exit handlers for it. */
static void wait_for_daemon(int fd, pid_t first)
{
    char message[4096];
    ssize_t length;
    do
        length = read(fd, message, sizeof message - 1);
    while (length < 0 && errno == EINTR);
    waitpid(first, NULL, 0);
    if (length >= 3 && memcmp(message, "ok\n", 3) == 0)
        _exit(0);
    if (length > 1 && message[0] == 'E') {
        message[length] = '\0';
        if (length > 2)  /* "E\n": the daemon already said it on our terminal */
            fputs(message + 1, stderr);
    } else {
        fputs("weft: the server exited during startup; see the error log\n", stderr);
    }
    fflush(stderr);
    _exit(1);
}

static void redirect_to_null(int target)
{
    int null = open("/dev/null", O_RDWR);
    if (null < 0)
        return;
    if (null != target) {
        dup2(null, target);
        close(null);
    }
}

int os_daemonize(int *ready_fd)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return WEFT_ERROR;
    fflush(stdout);
    fflush(stderr);
    pid_t first = fork();
    if (first < 0) {
        int error = errno;
        close(fds[0]);
        close(fds[1]);
        errno = error;
        return WEFT_ERROR;
    }
    if (first > 0) {
        close(fds[1]);
        wait_for_daemon(fds[0], first);  /* does not return */
    }

    close(fds[0]);
    /* A session of our own: no controlling terminal, no job-control signals
     * from the shell we were started from. */
    setsid();
    pid_t second = fork();
    if (second < 0) {
        char text[256];
        snprintf(text, sizeof text, "weft: fork while detaching failed: %s", strerror(errno));
        os_daemon_ready(fds[1], text);
        _exit(1);
    }
    if (second > 0)
        _exit(0);  /* the session leader goes; the grandchild can never regain a terminal */

    redirect_to_null(STDIN_FILENO);
    redirect_to_null(STDOUT_FILENO);
    *ready_fd = fds[1];
    return WEFT_OK;
}

void os_daemon_ready(int ready_fd, const char *error)
{
    if (ready_fd < 0)
        return;
    char message[4000];
    int length;
    if (error)
        length = snprintf(message, sizeof message, "E%s\n", error);
    else
        length = snprintf(message, sizeof message, "ok\n");
    if (length > (int)sizeof message - 1) {
        length = (int)sizeof message - 1;
        message[length - 1] = '\n';
    }
    ssize_t written;
    do
        written = write(ready_fd, message, (size_t)length);
    while (written < 0 && errno == EINTR);
    close(ready_fd);
}

/* ---- pid file ---------------------------------------------------------- */

int os_pid_file_write(const char *path, pid_t pid, bool *overwrote_stale)
{
    char temporary[4096];
    if (snprintf(temporary, sizeof temporary, "%s.tmp.%ld", path, (long)getpid()) >=
        (int)sizeof temporary) {
        errno = ENAMETOOLONG;
        return WEFT_ERROR;
    }
    int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return WEFT_ERROR;
    char text[32];
    int length = snprintf(text, sizeof text, "%ld\n", (long)pid);
    ssize_t written = write(fd, text, (size_t)length);
    int error = errno;
    if (close(fd) != 0 && written == length) {
        written = -1;
        error = errno;
    }
    if (written != length) {
        unlink(temporary);
        errno = written < 0 ? error : ENOSPC;
        return WEFT_ERROR;
    }
    struct stat info;
    *overwrote_stale = stat(path, &info) == 0;
    if (rename(temporary, path) != 0) {
        error = errno;
        unlink(temporary);
        errno = error;
        return WEFT_ERROR;
    }
    return WEFT_OK;
}

int os_pid_file_read(const char *path, pid_t *pid)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? WEFT_DECLINED : WEFT_ERROR;
    char text[64];
    ssize_t length = read(fd, text, sizeof text - 1);
    int error = errno;
    close(fd);
    if (length < 0) {
        errno = error;
        return WEFT_ERROR;
    }
    text[length] = '\0';
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    while (*end == '\n' || *end == '\r' || *end == ' ' || *end == '\t')
        end++;
    if (end == text || *end != '\0' || errno != 0 || value <= 0 || value > INT32_MAX) {
        errno = EINVAL;
        return WEFT_ERROR;
    }
    *pid = (pid_t)value;
    return WEFT_OK;
}

void os_pid_file_remove(const char *path)
{
    /* Only our own: after a binary upgrade the file names the new weft. */
    pid_t pid;
    if (path && (os_pid_file_read(path, &pid) != WEFT_OK || pid == getpid()))
        unlink(path);
}

/* ---- processes and signals --------------------------------------------- */

/* The first line of a small /proc file. */
static bool read_comm(const char *path, char *out, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t length = read(fd, out, size - 1);
    close(fd);
    if (length <= 0)
        return false;
    out[length] = '\0';
    out[strcspn(out, "\n")] = '\0';
    return true;
}

bool os_process_is_weft(pid_t pid)
{
    if (pid <= 0 || pid == getpid())
        return false;
    if (kill(pid, 0) != 0 && errno != EPERM)
        return false;
    char path[64], theirs[64], ours[64];
    /* A zombie has exited: only its parent has not collected it yet (for a
     * detached server that is init, which may take its time). */
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    char line[512];
    if (read_comm(path, line, sizeof line)) {
        const char *end = strrchr(line, ')');
        if (end && end[1] == ' ' && (end[2] == 'Z' || end[2] == 'X'))
            return false;
    }
    snprintf(path, sizeof path, "/proc/%ld/comm", (long)pid);
    if (read_comm(path, theirs, sizeof theirs) && read_comm("/proc/self/comm", ours, sizeof ours))
        return strcmp(theirs, ours) == 0;
    return true;  /* no /proc: trust kill() as Apache does */
}

const char *os_signal_name(int signo)
{
    static char name[32];
    const char *abbreviation = sigabbrev_np(signo);
    if (abbreviation)
        snprintf(name, sizeof name, "SIG%s", abbreviation);
    else
        snprintf(name, sizeof name, "signal %d", signo);
    return name;
}

void os_reset_signals(void)
{
    static const int changed[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD, SIGXFSZ };
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < sizeof changed / sizeof changed[0]; i++)
        sigaction(changed[i], &action, NULL);
    /* The stop signals stay blocked: child_main blocks them anyway and
     * reads them from its signalfd, and one sent before it gets there must
     * wait for it rather than kill the child with its default action. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGWINCH);
    sigprocmask(SIG_SETMASK, &mask, NULL);
}
