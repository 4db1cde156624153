/*
 * blocking.c — the per-thread "about to sleep" hook (see blocking.h).
 */
#include "blocking.h"

#include <stddef.h>

static _Thread_local blocking_hook *thread_hook;
static _Thread_local void *thread_hook_argument;

void blocking_set_hook(blocking_hook *hook, void *argument)
{
    thread_hook = hook;
    thread_hook_argument = argument;
}

void blocking_announce(void)
{
    if (thread_hook)
        thread_hook(thread_hook_argument);
}

int blocking_poll(struct pollfd *fds, nfds_t count, int64_t timeout_ms)
{
    if (timeout_ms < 0)
        timeout_ms = 0;
    if (timeout_ms > 60000)
        timeout_ms = 60000;
    if (timeout_ms > 0)
        blocking_announce();
    return poll(fds, count, (int)timeout_ms);
}
