/*
 * piped_log.h — piped logs: `ErrorLog "|program"` and `CustomLog
 * "|program" format`, as Apache's.
 *
 * The control process makes a pipe, starts the program with the read end as
 * its standard input (through /bin/sh -c, as Apache does) and keeps both
 * ends for the life of the log.  Children inherit the write end through
 * fork and write whole lines to it.  When the program dies the control
 * process notices (its reaper hands the pid to piped_log_child_exited) and
 * starts it again on the same read end: lines written in between wait in
 * the pipe (enlarged to 1 MiB when the system allows) and nothing is lost.
 *
 *   "|command" and "||command"  run as /bin/sh -c "exec command"
 *   "|$command"                 run as /bin/sh -c "command" (a shell stays)
 *
 * Writers never block for long: a line of at most PIPE_BUF bytes is written
 * atomically or not at all (longer lines are cut to PIPE_BUF, ending in a
 * newline); when the pipe is full a writer waits PIPED_LOG_WAIT_MS at most,
 * then drops the line and counts it.  After such a timeout the log counts as
 * congested for PIPED_LOG_CONGESTION_MS, during which writers that find the
 * pipe full drop at once.  The counters are in shared memory; the control
 * process reports growth in the error log, once a second at most.
 *
 * The same command in the old and the new configuration of a graceful
 * restart keeps its program (and its pipe): lines stay in order.
 */
#ifndef WEFT_CORE_PIPED_LOG_H
#define WEFT_CORE_PIPED_LOG_H

#include <sys/types.h>

#include "common.h"

#define PIPED_LOG_WAIT_MS 1000
#define PIPED_LOG_CONGESTION_MS 1000

typedef struct piped_log piped_log;

/* Control process.  `spec` is the log's value without the leading '|'
 * ("$cmd" or "|cmd" allowed).  Returns the log for that command -- the one
 * already open (one more user) or a new one whose program starts at the next
 * piped_log_maintain() -- or NULL with a reason in error. */
piped_log *piped_log_open(const char *spec, char *error, size_t size);
/* Control process: one user fewer.  At zero its ends of the pipe are
 * closed; the program sees the end of its input once the children holding
 * the write end are gone, and exits. */
void piped_log_release(piped_log *log);

int piped_log_fd(const piped_log *log);
const char *piped_log_command(const piped_log *log);

/* Any process, any thread.  WEFT_OK, or WEFT_ERROR when the line was lost
 * (counted).  errno is preserved. */
int piped_log_write(piped_log *log, const char *line, size_t length);

/* Control process, from its reaper: true if pid was a log program (the
 * caller then has nothing more to do with it). */
bool piped_log_child_exited(pid_t pid, int status, int64_t now_ms);
/* Control process, from its loop: starts programs that are due (new logs,
 * and restarts held back after a program died right after starting), and
 * reports lost lines.  Never blocks. */
void piped_log_maintain(int64_t now_ms);
/* Control process, when it exits: closes every pipe, gives the programs a
 * moment to write what is left, then stops those still running. */
void piped_log_shutdown(void);

/* Lines lost and lines cut, for the status page (shared counters). */
uint64_t piped_log_lost_lines(const piped_log *log);

#endif
