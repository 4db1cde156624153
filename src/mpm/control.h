/*
 * control.h — the control process: it binds, forks, watches and replaces
 * the children, and never serves a request itself.  docs/mpm.md describes
 * the whole process model; this is the interface main.c and the status
 * module use.
 *
 * Signals it answers (Apache's meanings):
 *   TERM, INT  stop now: SIGTERM every child, SIGKILL after 3 s, exit 0
 *   HUP        restart now: SIGTERM every child, re-read the configuration,
 *              fresh scoreboard statistics, StartServers new children
 *   USR1       graceful restart: re-read the configuration (a broken one is
 *              logged and the old one kept), reopen logs, old children finish
 *              their requests while new ones start at once
 *   WINCH      graceful stop: close the listening sockets, let children
 *              finish (GracefulShutdownTimeout, 0 = forever), then stop
 */
#ifndef WEFT_MPM_CONTROL_H
#define WEFT_MPM_CONTROL_H

#include "../core/config.h"
#include "../core/server.h"
#include "scoreboard.h"

enum {
    CONTROL_FOREGROUND = 1 << 0,     /* -D FOREGROUND: do not detach */
    CONTROL_SINGLE_PROCESS = 1 << 1, /* -X: serve in this process (slot 0), no fork, no detach */
};

/* Runs the server on an already loaded configuration until it stops.
 * options are kept to re-read the configuration on restart; server becomes
 * the control process's (it frees it when a restart replaces it, and at the
 * end).  Returns the process exit code: 0 after a normal stop, 1 when
 * startup failed or a child reported a fatal error. */
int control_run(const config_options *options, server_config *server, int flags);

/* -k start|stop|restart|graceful|graceful-stop (reference 9.2), with the
 * configuration already loaded (for PidFile).  Returns an exit code, or
 * CONTROL_START when the caller should go on and start the server (start,
 * or restart/graceful with nothing running). */
#define CONTROL_START (-1)
int control_signal_command(const char *command, const server_config *server);

/* For a child (any thread) that starts stopping by itself — it reached
 * MaxConnectionsPerChild, or gave up after an accept error — right after it
 * has set quiescing in its scoreboard record: wakes the control process so
 * that it can fork a replacement while this child is still finishing, and
 * capacity never dips.  Never blocks, async-signal-safe; a no-op in -X. */
void control_child_stopping(void);

/* The scoreboard, for code running in a child (the status module).  Set by
 * the control process before it forks the first child; NULL in `weft -t`. */
extern scoreboard *weft_scoreboard;

/* mpm_module.c: "capacity: 16 processes x 25 threads = 400 simultaneous
 * clients" for `weft -t`. */
void mpm_describe_capacity(const server_config *s, char *out, size_t size);
/* mpm_module.c: on restart, ServerLimit and ThreadLimit must stay what the
 * scoreboard was sized for; puts them back (logging a warning each) and
 * reconciles the dependent values again.  Returns how many it put back. */
int mpm_keep_limits(server_config *server, int server_limit, int thread_limit);

#endif
