/*
 * os.h — the Linux-specific calls of the process model, wrapped once:
 * user and group switching (privileges.c), daemonizing, the pid file and
 * signal names (process.c).
 *
 * Nothing here logs except os_drop_privileges (its caller, child_main, only
 * exits); the other functions return WEFT_OK / WEFT_ERROR with errno set, or
 * fill an error text, and the caller decides where the message goes.
 */
#ifndef WEFT_OS_H
#define WEFT_OS_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "../core/server.h"

/* ---- privileges.c ------------------------------------------------------ */

/* In a child, when the effective uid is 0: setgid(Group), setgroups(the
 * groups of User, and Group), chroot(ChrootDir) and chdir("/") when ChrootDir is set,
 * setuid(User), then prctl(PR_SET_DUMPABLE, 1) when
 * CoreDumpDirectory is set (the kernel turns core dumps off after a uid
 * change).  Verifies that the real and effective uid and gid are the targets
 * afterwards.  Not root: nothing to do, WEFT_OK (WEFT_ERROR with ChrootDir,
 * which needs root).  On failure logs the reason
 * (ALERT) and returns WEFT_ERROR; the caller exits with CHILD_EXIT_FATAL. */
int os_drop_privileges(const server_config *server);
/* In the control process, before it forks a child of server's
 * configuration: resolves User, Group and the supplementary groups there
 * (once per generation), so that the child switches without asking the
 * name service.  Failures are reported by the child's os_drop_privileges. */
void os_prepare_privileges(const server_config *server, int generation);

/* "name" or "#uid".  WEFT_OK and the ids (gid = the user's primary group),
 * or WEFT_ERROR with a sentence in error. */
int os_resolve_user(const char *name, uid_t *uid, gid_t *gid, char *error, size_t error_size);
/* "name" or "#gid". */
int os_resolve_group(const char *name, gid_t *gid, char *error, size_t error_size);
/* The name of group gid, or "#gid", in out. */
void os_group_name(gid_t gid, char *out, size_t size);

/* ---- process.c --------------------------------------------------------- */

/* Detaches from the terminal: fork, setsid, fork again; stdin and stdout
 * become /dev/null (stderr is left alone: the caller points it at the error
 * log).  Only the grandchild returns (WEFT_OK, with *ready_fd the write end
 * of a pipe the original process reads).  The original process waits until
 * os_daemon_ready() is called on that descriptor (or it is closed) and then
 * _exits: 0 after success, 1 after printing the failure on stderr.  So when
 * `weft` returns to the shell, the server is listening and the pid file
 * exists — or it has said why not.  WEFT_ERROR if the first fork fails (in
 * the original process, nothing detached). */
int os_daemonize(int *ready_fd);
/* Tells the waiting original process how startup ended (error NULL =
 * success) and closes the descriptor.  Harmless with fd < 0. */
void os_daemon_ready(int ready_fd, const char *error);

/* Writes "pid\n" to a temporary file next to path and renames it into
 * place.  *overwrote_stale is set when a pid file was already there.
 * WEFT_OK or WEFT_ERROR with errno set. */
int os_pid_file_write(const char *path, pid_t pid, bool *overwrote_stale);
/* WEFT_OK with *pid, WEFT_DECLINED when the file does not exist,
 * WEFT_ERROR (errno set; EINVAL for contents that are not a pid). */
int os_pid_file_read(const char *path, pid_t *pid);
void os_pid_file_remove(const char *path);

/* Is pid a live process other than us, and (when /proc says) a weft?  A
 * recycled pid that now belongs to another program is "not running". */
bool os_process_is_weft(pid_t pid);

/* "SIGTERM" for SIGTERM, "signal 42" for unknown ones.  Static storage:
 * for the single-threaded control process only. */
const char *os_signal_name(int signo);

/* In a freshly forked child: the signals the control process handles back
 * to their default action (SIGPIPE stays ignored); the signal mask holds
 * exactly TERM, INT, HUP, USR1 and WINCH, which child_main reads from its
 * signalfd (blocked from the fork on, so none sent early is lost). */
void os_reset_signals(void);

/* ---- shared_memory.c ----------------------------------------------------- */

/* Memory every process forked afterwards shares (anonymous MAP_SHARED),
 * zeroed; NULL with errno set.  Freed with munmap; a child keeps its own
 * mapping after the parent unmaps. */
void *os_shared_region(size_t size);
/* A mutex for such memory: process-shared and robust, so that a child that
 * dies holding it does not stop its siblings.  0 or an errno value. */
int os_shared_mutex_init(pthread_mutex_t *mutex);
/* Locks it; when its last holder died holding it (EOWNERDEAD), takes it
 * over and marks it consistent: the data it guards must be safe to read
 * half-written (lengths set last, checksums).  false if it could not be
 * locked at all. */
bool os_shared_mutex_lock(pthread_mutex_t *mutex);

#endif
