/*
 * Unit tests: the hand-off queue of mpm/dispatch.c (one place per key, so
 * it cannot overflow; merging keeps deferred events deferred and newer
 * generations) and the watchdog taking the batch of a thread that blocks
 * without announcing it.
 */
#include "tap.h"

#include <stdarg.h>

#include "core/blocking.c"
#include "core/pool.c"
#include "mpm/dispatch.c"

/* The log is not under test: its lines go to standard error. */
int log_threshold = LOG_LEVEL_WARN;
void log_message(int level, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    vfprintf(stderr, format, ap);
    va_end(ap);
    fputc('\n', stderr);
    (void)level;
}
void log_error_number(int level, int error, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    vfprintf(stderr, format, ap);
    va_end(ap);
    fprintf(stderr, ": %s\n", strerror(error));
    (void)level;
}

#include <sys/epoll.h>

#define CONNECTIONS 8u
#define SPECIAL_BASE_KEY 0xFFFF0000u
#define SPECIALS 4u

static uint64_t data_of(uint32_t key, uint32_t tag)
{
    return ((uint64_t)tag << 32) | key;
}

static struct epoll_event event_of(uint32_t flags, uint32_t key, uint32_t tag)
{
    struct epoll_event e = { .events = flags, .data.u64 = data_of(key, tag) };
    return e;
}

static void test_queue(dispatch *d)
{
    is_int(d->queue_capacity, (int)(CONNECTIONS + SPECIALS), "a place for every key");
    pthread_mutex_lock(&d->lock);
    queue_push(d, event_of(EPOLLIN, 3, 7));
    queue_push(d, event_of(EPOLLOUT, 3, 7));
    is_int(atomic_load(&d->queue_length), 1, "a second event of a queued connection merges");
    is_int((int)d->queue[d->queued_at[3] - 1].events, EPOLLIN | EPOLLOUT, "its flags are merged");
    queue_push(d, event_of(DISPATCH_DEFERRED, 3, 7));
    is_int((int)d->queue[d->queued_at[3] - 1].events, DISPATCH_DEFERRED, "a deferred event stays deferred");
    queue_push(d, event_of(EPOLLIN, 3, 7));
    is_int((int)d->queue[d->queued_at[3] - 1].events, DISPATCH_DEFERRED, "even when an epoll event follows");
    queue_push(d, event_of(EPOLLIN, 3, 6));
    ok(d->queue[d->queued_at[3] - 1].data.u64 == data_of(3, 7), "an older generation is stale: dropped");
    queue_push(d, event_of(EPOLLIN, 3, 8));
    ok(d->queue[d->queued_at[3] - 1].data.u64 == data_of(3, 8) && d->queue[d->queued_at[3] - 1].events == EPOLLIN,
       "a newer generation replaces the event of the closed connection");
    /* Every key, several times over: never more than one place each. */
    for (int round = 0; round < 5; round++) {
        for (uint32_t key = 0; key < CONNECTIONS; key++)
            queue_push(d, event_of(EPOLLIN, key, 8 + (uint32_t)round));
        for (uint32_t key = 0; key < SPECIALS; key++)
            queue_push(d, event_of(EPOLLIN, SPECIAL_BASE_KEY + key, 0));
    }
    is_int(atomic_load(&d->queue_length), (int)(CONNECTIONS + SPECIALS), "every key queued: the queue is full, not over");
    is_int(d->queue_capacity, (int)(CONNECTIONS + SPECIALS), "and it did not have to grow");
    pthread_mutex_unlock(&d->lock);

    dispatch_thread *t = dispatch_thread_start(d, 0, NULL);
    int taken = 0;
    pthread_mutex_lock(&t->lock);
    while (take_handoff(t))
        taken += t->count;
    t->next = t->count = 0;
    pthread_mutex_unlock(&t->lock);
    is_int(taken, (int)(CONNECTIONS + SPECIALS), "all of them are taken out");
    int cleared = 0;
    for (int i = 0; i < d->queue_capacity; i++)
        cleared += d->queued_at[i] == 0;
    is_int(cleared, d->queue_capacity, "and no key is noted as queued any more");
    dispatch_thread_stop(t);
}

/* A worker thread that takes one of three deferred events and then sleeps
 * in the middle of it without announcing it. */
static void *stalling_worker(void *argument)
{
    dispatch *d = argument;
    dispatch_thread *t = dispatch_thread_start(d, 1, NULL);
    for (uint32_t key = 0; key < 3; key++)
        dispatch_defer(t, data_of(key, 1));
    struct epoll_event event;
    dispatch_next(t, &event);
    struct timespec pause = { 0, 200 * 1000000L };
    nanosleep(&pause, NULL);
    dispatch_thread_stop(t);
    return NULL;
}

static void test_watchdog(dispatch *d)
{
    pthread_t worker;
    pthread_create(&worker, NULL, stalling_worker, d);
    struct timespec pause = { 0, 100 * 1000000L };
    nanosleep(&pause, NULL);
    ok(atomic_load(&d->stalls) >= 1, "the watchdog sees the thread stalled within 100 ms");
    is_int(atomic_load(&d->queue_length), 2, "and hands the rest of its batch off");
    pthread_join(worker, NULL);
}

int main(void)
{
    int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    _Atomic bool finished = false;
    dispatch d;
    memset(&d, 0, sizeof d);
    is_int(dispatch_init(&d, epoll_fd, data_of(SPECIAL_BASE_KEY + 3, 0), 2, CONNECTIONS, SPECIAL_BASE_KEY, SPECIALS,
                         &finished), WEFT_OK, "dispatch_init");
    test_queue(&d);
    test_watchdog(&d);
    dispatch_destroy(&d);
    close(epoll_fd);
    return done_testing();
}
