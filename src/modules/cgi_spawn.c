/*
 * cgi_spawn.c — starting and stopping CGI scripts from a multi-threaded child.
 *
 * posix_spawn, not fork: glibc implements it with clone(CLONE_VM |
 * CLONE_VFORK), so nothing of the child's address space is copied and the
 * calling thread alone pauses until the script has exec'd (docs/cgi.md has
 * the measurements).  Nothing but async-signal-safe work happens between
 * clone and exec, which is what makes spawning from a threaded process safe.
 *
 * What the script gets:
 *  - stdin, stdout and stderr on pipes, and no other descriptor: weft opens
 *    everything close-on-exec, and posix_spawn_file_actions_addclosefrom_np
 *    closes anything a library might have leaked all the same;
 *  - its own process group (so a timeout kills whatever it started too);
 *  - an empty signal mask and default signal dispositions (a weft child
 *    blocks its stop signals and ignores SIGPIPE; ignored dispositions
 *    would otherwise survive exec);
 *  - the script's directory as its working directory;
 *  - the child's uid and gid (the children have dropped privileges).
 *
 * Reaping: only waitpid() on the script's own pid, never on -1, and no
 * SIGCHLD handler: other threads' children are not ours to take.  A pidfd
 * (Linux 5.3+) lets us wait for the exit with a timeout.
 */
#include "cgi.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/blocking.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434   /* the same number on every architecture */
#endif

/* glibc >= 2.34 */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
#define HAVE_ADDCLOSEFROM 1
#endif

/* A pipe's end must not be 0, 1 or 2 (possible when weft runs with a
 * standard descriptor closed): the dup2 onto the standard descriptors
 * would overwrite it before it is used. */
static int move_above_standard(int fd)
{
    if (fd > STDERR_FILENO)
        return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    close(fd);
    return moved;
}

static int make_pipe(int ends[2])
{
    if (pipe2(ends, O_CLOEXEC) != 0)
        return errno;
    ends[0] = move_above_standard(ends[0]);
    ends[1] = move_above_standard(ends[1]);
    if (ends[0] < 0 || ends[1] < 0) {
        int error = errno;
        if (ends[0] >= 0)
            close(ends[0]);
        if (ends[1] >= 0)
            close(ends[1]);
        return error;
    }
    return 0;
}

static void close_if_open(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int cgi_spawn(const char *path, char *const argv[], char *const envp[], const char *directory,
              cgi_process *process)
{
    int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
    *process = (cgi_process){ .pid = -1, .pidfd = -1, .input = -1, .output = -1, .errors = -1 };
    int error = make_pipe(in);
    if (!error)
        error = make_pipe(out);
    if (!error)
        error = make_pipe(err);
    if (error) {
        for (int i = 0; i < 2; i++) {
            close_if_open(&in[i]);
            close_if_open(&out[i]);
            close_if_open(&err[i]);
        }
        return error;
    }

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    posix_spawn_file_actions_addchdir_np(&actions, directory);
#ifdef HAVE_ADDCLOSEFROM
    posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
#endif
    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &empty);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                              POSIX_SPAWN_SETSIGDEF);

    pid_t pid;
    error = posix_spawn(&pid, path, &actions, &attributes, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    if (error) {
        close(in[1]);
        close(out[0]);
        close(err[0]);
        return error;
    }
    process->pid = pid;
    process->input = in[1];
    process->output = out[0];
    process->errors = err[0];
    fcntl(process->input, F_SETFL, O_NONBLOCK);
    fcntl(process->output, F_SETFL, O_NONBLOCK);
    fcntl(process->errors, F_SETFL, O_NONBLOCK);
    /* The script is not reaped yet, so its pid cannot have been reused. */
    long pidfd = syscall(SYS_pidfd_open, pid, 0);
    process->pidfd = pidfd >= 0 ? (int)pidfd : -1;  /* close-on-exec by definition */
    return 0;
}

void cgi_close_pipes(cgi_process *process)
{
    close_if_open(&process->input);
    close_if_open(&process->output);
    close_if_open(&process->errors);
}


/* Has the script exited (reaping it if so)? */
static bool try_reap(cgi_process *process, int *status)
{
    if (process->reaped)
        return true;
    pid_t done;
    do
        done = waitpid(process->pid, status, WNOHANG);
    while (done < 0 && errno == EINTR);
    if (done == process->pid || (done < 0 && errno == ECHILD)) {
        process->reaped = true;
        return true;
    }
    return false;
}

/* Waits up to timeout_ms for the script to exit, without reaping it (so its
 * pid, which is also its process group's id, stays ours to signal). */
static bool wait_exit(cgi_process *process, int timeout_ms)
{
    int64_t deadline = monotonic_ms() + timeout_ms;
    for (;;) {
        siginfo_t info = { 0 };
        if (waitid(P_PID, (id_t)process->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid != 0)
            return true;
        int64_t left = deadline - monotonic_ms();
        if (left <= 0)
            return false;
        if (process->pidfd >= 0) {
            struct pollfd p = { .fd = process->pidfd, .events = POLLIN };
            blocking_poll(&p, 1, left);
        } else {
            struct timespec pause = { 0, (left < 10 ? left : 10) * 1000000L };
            blocking_announce();
            nanosleep(&pause, NULL);
        }
    }
}

/* The group first, then the leader in case it left the group; while the
 * leader is unreaped its pid cannot name anyone else. */
static void signal_script(const cgi_process *process, int signal_number)
{
    kill(-process->pid, signal_number);
    kill(process->pid, signal_number);
}

int cgi_stop(cgi_process *process, int grace_ms)
{
    int status = -1;
    cgi_close_pipes(process);
    if (process->pid > 0 && !process->reaped) {
        if (grace_ms <= 0 || !wait_exit(process, grace_ms)) {
            /* Its whole group: what the script started goes with it. */
            signal_script(process, SIGTERM);
            wait_exit(process, CGI_KILL_GRACE_MS);
            signal_script(process, SIGKILL);
        }
        if (!try_reap(process, &status)) {
            pid_t done;
            do
                done = waitpid(process->pid, &status, 0);
            while (done < 0 && errno == EINTR);
            process->reaped = true;
        }
    }
    close_if_open(&process->pidfd);
    return status;
}
