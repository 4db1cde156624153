/*
 * socket_passing.h — handing listening sockets from one process to another
 * (Linux): SCM_RIGHTS over a unix stream socket for a binary upgrade
 * (mpm/upgrade.c), and systemd's socket activation (LISTEN_FDS).
 */
#ifndef WEFT_OS_SOCKET_PASSING_H
#define WEFT_OS_SOCKET_PASSING_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "../core/common.h"

#define OS_PASS_MAX_FDS 64  /* one message carries at most this many */

/* Sends count (<= OS_PASS_MAX_FDS) descriptors with one byte of data.
 * WEFT_OK or WEFT_ERROR (errno set). */
int os_send_fds(int channel, const int *fds, int count);
/* Receives up to max descriptors sent by os_send_fds, close-on-exec, waiting
 * at most timeout_ms.  Returns how many (0: the peer sent none or closed),
 * or -1 (errno set; ETIMEDOUT after the wait). */
int os_receive_fds(int channel, int *fds, int max, int timeout_ms);

/* The pid and uid of the process at the other end of a unix socket. */
int os_peer_credentials(int channel, pid_t *pid, uid_t *uid);

/* The abstract unix address "\0weft-upgrade-<pid>" a process waiting for
 * sockets listens on; fills address and returns its length. */
socklen_t os_upgrade_address(pid_t pid, struct sockaddr_un *address);

/* systemd socket activation: when LISTEN_PID names this process, the
 * LISTEN_FDS descriptors from 3 on are stream sockets in the listening
 * state it passed.  Each one is made close-on-exec and non-blocking and
 * given to adopt; the variables are removed from the environment either
 * way, so that nothing started later takes them for its own.  Returns the
 * number adopted, 0 when there are none, -1 when the variables are
 * malformed (nothing adopted). */
int os_systemd_listen_fds(void (*adopt)(int fd));

#endif
