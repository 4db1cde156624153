/*
 * dispatch.c — pollers, followers, batches and hand-off (see dispatch.h).
 */
#include "dispatch.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../core/blocking.h"
#include "../core/log.h"

/* The CPUs this process may run on (its affinity mask: taskset, a cgroup
 * cpuset), at least 1: the number of pollers. */
static int usable_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
}

int dispatch_init(dispatch *d, int epoll_fd, uint64_t handoff_data, int capacity, _Atomic bool *finished)
{
    d->epoll_fd = epoll_fd;
    d->handoff_data = handoff_data;
    d->poller_limit = usable_cpus();
    atomic_init(&d->pollers, 0);
    atomic_init(&d->followers, 0);
    d->finished = finished;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->follower_wake, NULL);
    /* Each connection has at most one event outstanding (edge-triggered,
     * handled by one thread at a time), so the queue never holds more than
     * the connections plus the child's own descriptors. */
    d->queue_capacity = capacity;
    d->queue = xcalloc((size_t)capacity, sizeof(struct epoll_event));
    d->queue_head = 0;
    atomic_init(&d->queue_length, 0);
    d->handoff_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (d->handoff_fd < 0)
        return WEFT_ERROR;
    struct epoll_event event = { .events = EPOLLIN | EPOLLET, .data.u64 = handoff_data };
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, d->handoff_fd, &event) < 0)
        return WEFT_ERROR;
    return WEFT_OK;
}

void dispatch_destroy(dispatch *d)
{
    if (d->handoff_fd >= 0)
        close(d->handoff_fd);
    d->handoff_fd = -1;
    free(d->queue);
    d->queue = NULL;
    pthread_cond_destroy(&d->follower_wake);
    pthread_mutex_destroy(&d->lock);
}

void dispatch_set_urgent(dispatch *d, uint64_t low, uint64_t high)
{
    d->urgent_low = low;
    d->urgent_high = high;
}

/* Moves urgent events to the front of a fresh batch, keeping the order of
 * the rest. */
static void urgent_first(dispatch *d, struct epoll_event *batch, int count)
{
    for (int i = 1; i < count; i++) {
        uint64_t data = batch[i].data.u64;
        if (data < d->urgent_low || data >= d->urgent_high)
            continue;
        struct epoll_event urgent = batch[i];
        memmove(batch + 1, batch, (size_t)i * sizeof(batch[0]));
        batch[0] = urgent;
    }
}

void dispatch_wake_all(dispatch *d)
{
    pthread_mutex_lock(&d->lock);
    pthread_cond_broadcast(&d->follower_wake);
    pthread_mutex_unlock(&d->lock);
}

/* Takes one of the poller places, if one is free. */
static bool claim_poller(dispatch *d)
{
    int pollers = atomic_load(&d->pollers);
    while (pollers < d->poller_limit)
        if (atomic_compare_exchange_weak(&d->pollers, &pollers, pollers + 1))
            return true;
    return false;
}

/* Waits until a poller place is free (and takes it) or the child finishes.
 * The follower count is raised before the last look at the places, and
 * before_blocking() reads it after a place was given back: one of the two
 * sees the other, so no place stays empty while a follower sleeps. */
static bool wait_as_follower(dispatch *d)
{
    pthread_mutex_lock(&d->lock);
    atomic_fetch_add(&d->followers, 1);
    bool claimed;
    while (!(claimed = claim_poller(d)) && !atomic_load(d->finished))
        pthread_cond_wait(&d->follower_wake, &d->lock);
    atomic_fetch_sub(&d->followers, 1);
    pthread_mutex_unlock(&d->lock);
    return claimed;
}

/* Moves handed-off events into the thread's empty batch.  false if there
 * were none. */
static bool take_handoff(dispatch_thread *t)
{
    dispatch *d = t->shared;
    if (atomic_load(&d->queue_length) == 0)
        return false;
    pthread_mutex_lock(&d->lock);
    int length = atomic_load(&d->queue_length);
    int count = length < DISPATCH_BATCH ? length : DISPATCH_BATCH;
    for (int i = 0; i < count; i++) {
        t->batch[i] = d->queue[d->queue_head];
        d->queue_head = (d->queue_head + 1) % d->queue_capacity;
    }
    atomic_store(&d->queue_length, length - count);
    pthread_mutex_unlock(&d->lock);
    t->next = 0;
    t->count = count;
    return count > 0;
}

/* blocking_announce() of a worker thread: it is about to sleep in the
 * middle of an event.  The rest of its batch goes to the hand-off queue
 * (the eventfd wakes a poller for it), and a follower takes the poller
 * place this thread's CPU time no longer needs. */
static void before_blocking(void *argument)
{
    dispatch_thread *t = argument;
    dispatch *d = t->shared;
    if (t->next < t->count) {
        pthread_mutex_lock(&d->lock);
        int length = atomic_load(&d->queue_length);
        for (int i = t->next; i < t->count && length < d->queue_capacity; i++, length++)
            d->queue[(d->queue_head + length) % d->queue_capacity] = t->batch[i];
        atomic_store(&d->queue_length, length);
        pthread_mutex_unlock(&d->lock);
        t->count = t->next;
        uint64_t one = 1;
        ssize_t ignored = write(d->handoff_fd, &one, sizeof(one));
        (void)ignored;
    }
    if (atomic_load(&d->pollers) < d->poller_limit && atomic_load(&d->followers) > 0) {
        pthread_mutex_lock(&d->lock);
        pthread_cond_signal(&d->follower_wake);
        pthread_mutex_unlock(&d->lock);
    }
}

void dispatch_thread_start(dispatch_thread *t, dispatch *d, scoreboard_thread *score)
{
    t->shared = d;
    t->score = score;
    t->next = 0;
    t->count = 0;
    blocking_set_hook(before_blocking, t);
}

void dispatch_thread_stop(dispatch_thread *t)
{
    blocking_set_hook(NULL, NULL);
    t->next = t->count = 0;
}

bool dispatch_defer(dispatch_thread *t, uint64_t data)
{
    if (t->count == DISPATCH_BATCH && t->next > 0) {
        memmove(t->batch, t->batch + t->next, (size_t)(t->count - t->next) * sizeof(t->batch[0]));
        t->count -= t->next;
        t->next = 0;
    }
    if (t->count == DISPATCH_BATCH)
        return false;
    t->batch[t->count].events = DISPATCH_DEFERRED;  /* epoll never reports an event without flags */
    t->batch[t->count].data.u64 = data;
    t->count++;
    return true;
}

bool dispatch_next(dispatch_thread *t, struct epoll_event *event)
{
    dispatch *d = t->shared;
    for (;;) {
        while (t->next < t->count) {
            *event = t->batch[t->next++];
            if (event->data.u64 != d->handoff_data)
                return true;
            uint64_t counter;  /* reset it; the queue is taken below */
            ssize_t ignored = read(d->handoff_fd, &counter, sizeof(counter));
            (void)ignored;
        }
        if (atomic_load(d->finished))
            return false;
        if (take_handoff(t))
            continue;
        if (t->score)
            scoreboard_set_status(t->score, THREAD_READY);
        if (!claim_poller(d) && !wait_as_follower(d))
            return false;
        int count = epoll_wait(d->epoll_fd, t->batch, DISPATCH_BATCH, -1);
        atomic_fetch_sub(&d->pollers, 1);
        t->next = 0;
        t->count = count > 0 ? count : 0;
        if (count > 1)
            urgent_first(d, t->batch, count);
        if (count < 0 && errno != EINTR) {
            log_error_number(LOG_LEVEL_ERROR, errno, "child: epoll_wait");
            return false;
        }
    }
}
