/*
 * child.h — one child process: ThreadsPerChild threads that accept and serve.
 *
 * All idle threads of a child wait in epoll_wait on one epoll set holding the
 * listening sockets (EPOLLEXCLUSIVE, so the kernel wakes a child that has a
 * waiting thread and leaves the connection to a sibling otherwise), the
 * parked connections (EPOLLONESHOT: exactly one thread gets each), a timer
 * and a signalfd.  The thread that wakes serves the request to the end, then
 * re-arms the connection.  There is no hand-off between threads.
 *
 * Signals the control process sends a child:
 *   SIGUSR1  graceful stop: stop accepting, finish requests in flight, answer
 *            requests arriving on parked connections within a short grace
 *            with "Connection: close", then exit 0
 *   SIGTERM  stop now: close everything, exit 0
 *
 * Exit codes: 0 normal, CHILD_EXIT_SICK (resource shortage: the control
 * process throttles respawning), CHILD_EXIT_FATAL (cannot ever work, e.g.
 * privileges cannot be dropped: the control process stops the server).
 */
#ifndef WEFT_MPM_CHILD_H
#define WEFT_MPM_CHILD_H

#include "../core/server.h"
#include "scoreboard.h"

enum {
    CHILD_EXIT_OK = 0,
    CHILD_EXIT_SICK = 7,
    CHILD_EXIT_FATAL = 15,
};

typedef struct {
    const server_config *server;
    scoreboard *board;
    int slot;                  /* process slot in the scoreboard */
    int generation;
    const int *listen_fds;     /* non-blocking listening sockets, inherited */
    int listen_count;
    bool single_process;       /* -X: run in the control process, no regulation */
} child_context;

/* Runs the child until it stops; returns its exit code.  The caller has
 * forked (unless single_process) and recorded pid and generation in the
 * scoreboard.  child_main drops privileges first (os_drop_privileges). */
int child_main(const child_context *context);

#endif
