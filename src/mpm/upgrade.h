/*
 * upgrade.h — a binary upgrade: a new weft takes the listening sockets
 * over from the running control process, starts its children, and only
 * then has the old one stop (docs/fleet.md, "Binary upgrade").
 *
 * The handshake, between the new process (`weft -k upgrade`, before it
 * detaches) and the old control process:
 *   1. new: binds the abstract unix address "\0weft-upgrade-<its pid>",
 *      sends SIGUSR2 to the pid in the PidFile
 *   2. old: the SIGUSR2 names the sender (signalfd); if it may signal us
 *      (root, or our uid) the old process connects to that address, checks
 *      that the process listening there is the sender, and sends its
 *      listening sockets (SCM_RIGHTS); it keeps serving and keeps the
 *      connection open
 *   3. new: checks that the peer is the pid of the PidFile, adopts the
 *      sockets (listen.h: a Listen of the same address uses them), starts
 *      as usual but writes no PidFile yet
 *   4. new: once a child serves, writes 'T' on the connection, then its
 *      PidFile; old: on 'T', a graceful stop without DrainDelay (the new
 *      children accept on the same sockets).  If the connection closes
 *      without 'T' (the new one failed or crashed) the old one logs it and
 *      keeps serving as if nothing happened.
 */
#ifndef WEFT_MPM_UPGRADE_H
#define WEFT_MPM_UPGRADE_H

#include <stdbool.h>
#include <sys/types.h>

/* ---- the new process ---- */

/* Steps 1 and 3 with the old control process old_pid: WEFT_OK with its
 * sockets adopted, or WEFT_ERROR with a sentence in error. */
int upgrade_receive_sockets(pid_t old_pid, char *error, size_t size);
/* Between a successful upgrade_receive_sockets and the takeover. */
bool upgrade_pending(void);
/* Step 4: tells the old process to stop; the caller then writes the PidFile. */
void upgrade_take_over(void);

/* ---- the old process ---- */

/* Step 2 for a SIGUSR2 from new_pid with uid: returns the connection to
 * watch (readable: call upgrade_watch), or -1 after logging why not. */
int upgrade_send_sockets(pid_t new_pid, uid_t uid);
/* The connection is readable: WEFT_OK (take-over: stop gracefully),
 * WEFT_ERROR (the new process is gone: keep serving; the connection is
 * closed), WEFT_AGAIN (nothing yet). */
int upgrade_watch(int fd);

#endif
