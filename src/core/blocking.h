/*
 * blocking.h — a thread that is about to sleep in the middle of serving a
 * request (poll() on a CGI pipe or a slow client, a pause before a retry)
 * says so first.
 *
 * Why: a child lets only as many of its threads wait for events as it has
 * CPUs to run them on (mpm/dispatch.c); its other idle threads wait aside, so
 * that on a busy machine the thread that holds a CPU keeps serving instead
 * of being preempted by a sibling woken for every event.  A thread that
 * sleeps gives its CPU back, so before it does, a sibling must be able to
 * take over the events: blocking_announce() lets the event loop see to it.
 *
 * The hook is per thread; a thread without one (the control process, unit
 * tests) makes blocking_announce() a no-op.  It is cheap enough to call
 * before every wait.
 */
#ifndef WEFT_CORE_BLOCKING_H
#define WEFT_CORE_BLOCKING_H

#include <poll.h>
#include <stdint.h>

typedef void blocking_hook(void *argument);

/* Installs the calling thread's hook (NULL removes it). */
void blocking_set_hook(blocking_hook *hook, void *argument);

/* The calling thread is about to wait for I/O or time. */
void blocking_announce(void);

/* poll(2) for a thread that is serving: announces the wait first (unless
 * timeout_ms is 0).  A timeout over a minute is cut to a minute, so callers
 * loop until their own deadline.  Returns what poll returns. */
int blocking_poll(struct pollfd *fds, nfds_t count, int64_t timeout_ms);

#endif
