/*
 * dispatch.c — pollers, followers, batches, hand-off and the watchdog (see
 * dispatch.h).
 */
#include "dispatch.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../core/blocking.h"
#include "../core/log.h"

#if defined(__SANITIZE_ADDRESS__)
#define DISPATCH_ASSERT_QUEUE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DISPATCH_ASSERT_QUEUE 1
#endif
#endif

#define DISPATCH_SHARE_MS 20           /* how often the siblings are looked at */
#define WATCHDOG_STARVED_TICKS 4       /* no thread entered epoll_wait for this long: promote */
#define WATCHDOG_DOZE_TICKS 20         /* every thread waiting for 100 ms: sleep until one takes an event... */
#define WATCHDOG_DOZE_MS 50            /* ...or this long (the siblings may need us) */
#define WATCHDOG_STACK_SIZE (256 * 1024)

/* The CPUs this process may run on (its affinity mask: taskset, a cgroup
 * cpuset), at least 1. */
static int usable_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
}

static void *watchdog_main(void *argument);

int dispatch_init(dispatch *d, int epoll_fd, uint64_t handoff_data, int threads, uint32_t connection_keys,
                  uint32_t special_base, uint32_t special_keys, _Atomic bool *finished)
{
    d->epoll_fd = epoll_fd;
    d->handoff_data = handoff_data;
    d->cpus = usable_cpus();
    atomic_init(&d->poller_limit, d->cpus);
    atomic_init(&d->pollers, 0);
    atomic_init(&d->followers, 0);
    atomic_init(&d->poll_entries, 0);
    d->finished = finished;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->follower_wake, NULL);
    /* A place for every key: the queue holds at most one event per key. */
    d->connection_keys = connection_keys;
    d->special_base = special_base;
    d->special_keys = special_keys;
    d->queue_capacity = (int)(connection_keys + special_keys);
    /* Sized for every connection a child may hold, touched only as far as
     * the queue ever gets: an idle child pays a page or two. */
    d->queue = xcalloc_untouched((size_t)d->queue_capacity, sizeof(struct epoll_event));
    d->queued_at_capacity = d->queue_capacity;
    d->queued_at = xcalloc_untouched((size_t)d->queued_at_capacity, sizeof(int32_t));
    d->queue_head = 0;
    atomic_init(&d->queue_length, 0);
    d->thread_capacity = threads;
    d->threads = xcalloc((size_t)threads, sizeof(dispatch_thread));
    for (int i = 0; i < threads; i++) {
        pthread_mutex_init(&d->threads[i].lock, NULL);
        atomic_init(&d->threads[i].active, false);
        atomic_init(&d->threads[i].waiting, false);
        atomic_init(&d->threads[i].progress, 0);
    }
    atomic_init(&d->watchdog_stop, false);
    atomic_init(&d->watchdog_dozing, false);
    atomic_init(&d->stalls, 0);
    pthread_mutex_init(&d->watchdog_lock, NULL);
    pthread_cond_init(&d->watchdog_wake, NULL);
    d->handoff_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (d->handoff_fd < 0)
        return WEFT_ERROR;
    struct epoll_event event = { .events = EPOLLIN | EPOLLET, .data.u64 = handoff_data };
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, d->handoff_fd, &event) < 0)
        return WEFT_ERROR;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, WATCHDOG_STACK_SIZE);
    int rc = pthread_create(&d->watchdog, &attributes, watchdog_main, d);
    pthread_attr_destroy(&attributes);
    if (rc != 0) {
        errno = rc;
        return WEFT_ERROR;
    }
    d->watchdog_started = true;
    return WEFT_OK;
}

void dispatch_destroy(dispatch *d)
{
    if (d->watchdog_started) {
        pthread_mutex_lock(&d->watchdog_lock);
        atomic_store(&d->watchdog_stop, true);
        pthread_cond_signal(&d->watchdog_wake);
        pthread_mutex_unlock(&d->watchdog_lock);
        pthread_join(d->watchdog, NULL);
        d->watchdog_started = false;
    }
    if (d->handoff_fd >= 0)
        close(d->handoff_fd);
    d->handoff_fd = -1;
    free_untouched(d->queue, (size_t)d->queue_capacity, sizeof(struct epoll_event));
    d->queue = NULL;
    free_untouched(d->queued_at, (size_t)d->queued_at_capacity, sizeof(int32_t));
    d->queued_at = NULL;
    for (int i = 0; i < d->thread_capacity; i++)
        pthread_mutex_destroy(&d->threads[i].lock);
    free(d->threads);
    d->threads = NULL;
    pthread_cond_destroy(&d->watchdog_wake);
    pthread_mutex_destroy(&d->watchdog_lock);
    pthread_cond_destroy(&d->follower_wake);
    pthread_mutex_destroy(&d->lock);
}

void dispatch_set_urgent(dispatch *d, uint64_t low, uint64_t high)
{
    d->urgent_low = low;
    d->urgent_high = high;
}

void dispatch_set_sharing(dispatch *d, int (*count)(void *), void *argument)
{
    pthread_mutex_lock(&d->watchdog_lock);
    d->sharing = count;
    d->sharing_argument = argument;
    pthread_mutex_unlock(&d->watchdog_lock);
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

/* Wakes up to `count` followers to take free poller places. */
static void promote_followers(dispatch *d, int count)
{
    if (atomic_load(&d->followers) == 0)
        return;
    pthread_mutex_lock(&d->lock);
    for (int i = 0; i < count; i++)
        pthread_cond_signal(&d->follower_wake);
    pthread_mutex_unlock(&d->lock);
}

/* ---- the hand-off queue --------------------------------------------------- */

/* Where the queue notes a key's event; NULL for a key outside the ranges
 * given to dispatch_init (a caller's bug: such events are queued without
 * merging). */
static int32_t *queued_at(dispatch *d, uint64_t data)
{
    uint32_t key = (uint32_t)data;
    if (key < d->connection_keys)
        return &d->queued_at[key];
    if (key >= d->special_base && key - d->special_base < d->special_keys)
        return &d->queued_at[d->connection_keys + (key - d->special_base)];
    return NULL;
}

/* Only reached through a key outside the ranges: doubles the ring. */
static void queue_grow(dispatch *d)
{
    int length = atomic_load(&d->queue_length);
    int capacity = d->queue_capacity * 2;
    struct epoll_event *queue = xcalloc_untouched((size_t)capacity, sizeof(struct epoll_event));
    for (int i = 0; i < length; i++) {
        queue[i] = d->queue[(d->queue_head + i) % d->queue_capacity];
        int32_t *at = queued_at(d, queue[i].data.u64);
        if (at)
            *at = i + 1;
    }
    free_untouched(d->queue, (size_t)d->queue_capacity, sizeof(struct epoll_event));
    d->queue = queue;
    d->queue_capacity = capacity;
    d->queue_head = 0;
    log_message(LOG_LEVEL_ERROR, "child: hand-off queue full (event data outside its keys), grown to %d",
                capacity);
}

/* Appends an event, or merges it into the queued event of its key.  Called
 * with d->lock held. */
static void queue_push(dispatch *d, struct epoll_event event)
{
    int32_t *at = queued_at(d, event.data.u64);
    if (at && *at > 0) {
        struct epoll_event *queued = &d->queue[*at - 1];
        uint32_t queued_tag = (uint32_t)(queued->data.u64 >> 32);
        uint32_t tag = (uint32_t)(event.data.u64 >> 32);
        if (tag == queued_tag) {
            /* The same connection: one run handles both.  A deferred event
             * (a connection no thread owns yet) must stay deferred. */
            if (queued->events != DISPATCH_DEFERRED)
                queued->events = event.events == DISPATCH_DEFERRED ? DISPATCH_DEFERRED
                                                                   : queued->events | event.events;
        } else if ((int32_t)(tag - queued_tag) > 0) {
            *queued = event;  /* the queued one is of a connection closed since */
        }
        return;
    }
    int length = atomic_load(&d->queue_length);
#ifdef DISPATCH_ASSERT_QUEUE
    assert(length < d->queue_capacity);  /* one place per key: cannot be full */
#endif
    if (length >= d->queue_capacity)
        queue_grow(d);
    int position = (d->queue_head + length) % d->queue_capacity;
    d->queue[position] = event;
    if (at)
        *at = position + 1;
    atomic_store(&d->queue_length, length + 1);
}

/* Moves [t->next, t->count) to the hand-off queue and signals it.  Called
 * with t->lock held. */
static void hand_off_rest(dispatch_thread *t)
{
    dispatch *d = t->shared;
    if (t->next >= t->count)
        return;
    pthread_mutex_lock(&d->lock);
    for (int i = t->next; i < t->count; i++)
        queue_push(d, t->batch[i]);
    pthread_mutex_unlock(&d->lock);
    t->count = t->next;
    uint64_t one = 1;
    ssize_t ignored = write(d->handoff_fd, &one, sizeof(one));
    (void)ignored;
}

/* Appends handed-off events to the thread's batch, as many as it has room
 * for; signals the rest to another poller (this thread may block in what
 * it took).  false if it took none.  Called with t->lock held. */
static bool take_handoff(dispatch_thread *t)
{
    dispatch *d = t->shared;
    if (atomic_load(&d->queue_length) == 0)
        return false;
    if (t->next > 0) {
        memmove(t->batch, t->batch + t->next, (size_t)(t->count - t->next) * sizeof(t->batch[0]));
        t->count -= t->next;
        t->next = 0;
    }
    int room = DISPATCH_BATCH - t->count;
    pthread_mutex_lock(&d->lock);
    int length = atomic_load(&d->queue_length);
    int count = length < room ? length : room;
    for (int i = 0; i < count; i++) {
        struct epoll_event *event = &t->batch[t->count + i];
        *event = d->queue[d->queue_head];
        int32_t *at = queued_at(d, event->data.u64);
        if (at && *at == d->queue_head + 1)
            *at = 0;
        d->queue_head = (d->queue_head + 1) % d->queue_capacity;
    }
    atomic_store(&d->queue_length, length - count);
    pthread_mutex_unlock(&d->lock);
    t->count += count;
    if (length > count) {
        uint64_t one = 1;
        ssize_t ignored = write(d->handoff_fd, &one, sizeof(one));
        (void)ignored;
    }
    return count > 0;
}

/* ---- pollers and followers ------------------------------------------------ */

/* Takes one of the poller places, if one is free. */
static bool claim_poller(dispatch *d)
{
    int pollers = atomic_load(&d->pollers);
    while (pollers < atomic_load_explicit(&d->poller_limit, memory_order_relaxed))
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

/* blocking_announce() of a worker thread: it is about to sleep in the
 * middle of an event.  The rest of its batch goes to the hand-off queue
 * (the eventfd wakes a poller for it), and a follower takes the poller
 * place this thread's CPU time no longer needs. */
static void before_blocking(void *argument)
{
    dispatch_thread *t = argument;
    dispatch *d = t->shared;
    pthread_mutex_lock(&t->lock);
    hand_off_rest(t);
    pthread_mutex_unlock(&t->lock);
    if (atomic_load(&d->pollers) < atomic_load_explicit(&d->poller_limit, memory_order_relaxed))
        promote_followers(d, 1);
}

dispatch_thread *dispatch_thread_start(dispatch *d, int index, scoreboard_thread *score)
{
    dispatch_thread *t = &d->threads[index];
    pthread_mutex_lock(&t->lock);
    t->shared = d;
    t->score = score;
    t->next = 0;
    t->count = 0;
    t->tid = gettid();
    if (pthread_getcpuclockid(pthread_self(), &t->cpu_clock) != 0)
        t->cpu_clock = (clockid_t)-1;
    pthread_mutex_unlock(&t->lock);
    atomic_store(&t->active, true);
    blocking_set_hook(before_blocking, t);
    return t;
}

void dispatch_thread_stop(dispatch_thread *t)
{
    blocking_set_hook(NULL, NULL);
    pthread_mutex_lock(&t->lock);
    t->next = t->count = 0;
    pthread_mutex_unlock(&t->lock);
    atomic_store(&t->active, false);
}

bool dispatch_defer(dispatch_thread *t, uint64_t data)
{
    pthread_mutex_lock(&t->lock);
    if (t->count == DISPATCH_BATCH && t->next > 0) {
        memmove(t->batch, t->batch + t->next, (size_t)(t->count - t->next) * sizeof(t->batch[0]));
        t->count -= t->next;
        t->next = 0;
    }
    bool room = t->count < DISPATCH_BATCH;
    if (room) {
        t->batch[t->count].events = DISPATCH_DEFERRED;  /* epoll never reports an event without flags */
        t->batch[t->count].data.u64 = data;
        t->count++;
    }
    pthread_mutex_unlock(&t->lock);
    return room;
}

/* The thread waits for events: idle in the scoreboard and for the
 * watchdog.  The store and the load below pair with the watchdog's in
 * watchdog_doze(): either it sees this thread busy, or this thread sees it
 * dozing and wakes it. */
static void set_waiting(dispatch_thread *t, bool waiting)
{
    dispatch *d = t->shared;
    if (t->score)
        scoreboard_set_status(t->score, waiting ? THREAD_READY : THREAD_READING);
    atomic_store(&t->waiting, waiting);
    if (!waiting && atomic_load(&d->watchdog_dozing)) {
        pthread_mutex_lock(&d->watchdog_lock);
        atomic_store(&d->watchdog_dozing, false);
        pthread_cond_signal(&d->watchdog_wake);
        pthread_mutex_unlock(&d->watchdog_lock);
    }
}

bool dispatch_next(dispatch_thread *t, struct epoll_event *event)
{
    dispatch *d = t->shared;
    atomic_fetch_add_explicit(&t->progress, 1, memory_order_relaxed);
    for (;;) {
        pthread_mutex_lock(&t->lock);
        while (t->next < t->count) {
            *event = t->batch[t->next++];
            if (event->data.u64 != d->handoff_data) {
                pthread_mutex_unlock(&t->lock);
                return true;
            }
            /* The signal is reset, so the queue is taken at once (behind
             * the rest of the batch): in the batch, the events are handed
             * on if this thread blocks; left in the queue unsignalled, no
             * thread would look for them until this one is done. */
            uint64_t counter;
            ssize_t ignored = read(d->handoff_fd, &counter, sizeof(counter));
            (void)ignored;
            take_handoff(t);
        }
        bool taken = !atomic_load(d->finished) && take_handoff(t);
        pthread_mutex_unlock(&t->lock);
        if (atomic_load(d->finished))
            return false;
        if (taken)
            continue;
        set_waiting(t, true);
        if (!claim_poller(d) && !wait_as_follower(d)) {
            set_waiting(t, false);
            return false;
        }
        atomic_fetch_add_explicit(&d->poll_entries, 1, memory_order_relaxed);
        if (atomic_load(&d->queue_length) > 0) {
            /* Handed-off events came while it waited as a follower (their
             * signal may have gone to a poller that took only a batch). */
            atomic_fetch_sub(&d->pollers, 1);
            set_waiting(t, false);
            continue;
        }
        struct epoll_event batch[DISPATCH_BATCH];
        int count = epoll_wait(d->epoll_fd, batch, DISPATCH_BATCH, -1);
        int error = errno;
        atomic_fetch_sub(&d->pollers, 1);
        set_waiting(t, false);
        atomic_fetch_add_explicit(&t->progress, 1, memory_order_relaxed);
        if (count < 0 && error != EINTR) {
            log_error_number(LOG_LEVEL_ERROR, error, "child: epoll_wait");
            return false;
        }
        if (count > 1)
            urgent_first(d, batch, count);
        pthread_mutex_lock(&t->lock);
        memcpy(t->batch, batch, (size_t)(count > 0 ? count : 0) * sizeof(batch[0]));
        t->next = 0;
        t->count = count > 0 ? count : 0;
        pthread_mutex_unlock(&t->lock);
    }
}

/* ---- the watchdog --------------------------------------------------------- */

static int64_t thread_cpu_ns(const dispatch_thread *t)
{
    struct timespec now;
    if (t->cpu_clock == (clockid_t)-1 || clock_gettime(t->cpu_clock, &now) != 0)
        return -1;
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/* Is the thread asleep in the kernel ('S', 'D'...) rather than running or
 * waiting for a CPU ('R')?  A thread preempted on a busy machine is not
 * stalled: waking another poller would only add to the queue for the CPU. */
static bool thread_sleeping(const dispatch_thread *t)
{
    char path[64], text[512];
    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)t->tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;  /* no /proc: trust the CPU clock */
    ssize_t length = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (length <= 0)
        return true;
    text[length] = '\0';
    const char *end = strrchr(text, ')');  /* the name may hold anything but ends there */
    return !end || end[1] != ' ' || end[2] != 'R';
}

/* Are there events no thread took yet?  poll() on an epoll descriptor
 * reports its ready list without consuming it. */
static bool events_pending(dispatch *d)
{
    if (atomic_load(&d->queue_length) > 0)
        return true;
    struct pollfd p = { .fd = d->epoll_fd, .events = POLLIN };
    return poll(&p, 1, 0) > 0;
}

/* One look at the threads.  Returns how many were found stalled just now;
 * *all_waiting tells whether every thread waits for events. */
static int watch_threads(dispatch *d, bool *all_waiting)
{
    int stalled = 0;
    *all_waiting = true;
    for (int i = 0; i < d->thread_capacity; i++) {
        dispatch_thread *t = &d->threads[i];
        if (!atomic_load(&t->active))
            continue;
        uint64_t progress = atomic_load_explicit(&t->progress, memory_order_relaxed);
        bool waiting = atomic_load(&t->waiting);
        if (!waiting)
            *all_waiting = false;
        if (progress != t->seen_progress) {
            t->seen_progress = progress;
            t->seen_cpu_ns = -1;
            t->stalled = false;
            continue;
        }
        if (waiting || t->stalled)
            continue;
        /* In the same event for a tick at least: blocked, or computing? */
        int64_t cpu = thread_cpu_ns(t);
        if (t->seen_cpu_ns < 0 || cpu < 0 || cpu - t->seen_cpu_ns >= DISPATCH_WATCHDOG_TICK_MS * 500000) {
            t->seen_cpu_ns = cpu;
            continue;
        }
        if (!thread_sleeping(t))
            continue;  /* runnable, waiting for a CPU: looked at again next tick */
        t->stalled = true;
        stalled++;
        atomic_fetch_add_explicit(&d->stalls, 1, memory_order_relaxed);
        pthread_mutex_lock(&t->lock);
        hand_off_rest(t);
        pthread_mutex_unlock(&t->lock);
    }
    return stalled;
}

/* This child's share of the CPUs: all of them divided among the children
 * that share them, rounded up, at least 1. */
static void update_share(dispatch *d)
{
    pthread_mutex_lock(&d->watchdog_lock);
    int (*sharing)(void *) = d->sharing;
    void *argument = d->sharing_argument;
    pthread_mutex_unlock(&d->watchdog_lock);
    int children = sharing ? sharing(argument) : 1;
    if (children < 1)
        children = 1;
    int limit = (d->cpus + children - 1) / children;
    int old = atomic_exchange(&d->poller_limit, limit);
    if (limit > old)
        promote_followers(d, limit - old);
}

/* Every thread has been waiting at each look for a while (the timer sweep
 * in between does not count: it is short): sleep until one takes an event
 * (set_waiting() wakes us), or WATCHDOG_DOZE_MS pass. */
static void watchdog_doze(dispatch *d)
{
    pthread_mutex_lock(&d->watchdog_lock);
    atomic_store(&d->watchdog_dozing, true);
    bool all_waiting = true;
    for (int i = 0; i < d->thread_capacity && all_waiting; i++)
        if (atomic_load(&d->threads[i].active) && !atomic_load(&d->threads[i].waiting))
            all_waiting = false;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += WATCHDOG_DOZE_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (all_waiting && atomic_load(&d->watchdog_dozing) && !atomic_load(&d->watchdog_stop))
        if (pthread_cond_timedwait(&d->watchdog_wake, &d->watchdog_lock, &until) == ETIMEDOUT)
            break;
    atomic_store(&d->watchdog_dozing, false);
    pthread_mutex_unlock(&d->watchdog_lock);
}

static void *watchdog_main(void *argument)
{
    dispatch *d = argument;
    uint64_t seen_entries = 0;
    int starved_ticks = 0, quiet_ticks = 0, share_ticks = 0;
    update_share(d);
    while (!atomic_load(&d->watchdog_stop)) {
        struct timespec tick = { 0, DISPATCH_WATCHDOG_TICK_MS * 1000000L };
        clock_nanosleep(CLOCK_MONOTONIC, 0, &tick, NULL);
        if (++share_ticks >= DISPATCH_SHARE_MS / DISPATCH_WATCHDOG_TICK_MS) {
            share_ticks = 0;
            update_share(d);
        }
        bool all_waiting;
        int stalled = watch_threads(d, &all_waiting);
        uint64_t entries = atomic_load_explicit(&d->poll_entries, memory_order_relaxed);
        if (atomic_load(&d->pollers) == 0 && entries == seen_entries)
            starved_ticks++;
        else
            starved_ticks = 0;
        seen_entries = entries;
        if (starved_ticks >= WATCHDOG_STARVED_TICKS && events_pending(d)) {
            stalled++;
            starved_ticks = 0;
        }
        if (stalled > 0)
            promote_followers(d, stalled);
        quiet_ticks = all_waiting ? quiet_ticks + 1 : 0;
        if (quiet_ticks >= WATCHDOG_DOZE_TICKS) {
            watchdog_doze(d);
            update_share(d);
            share_ticks = 0;
        }
    }
    return NULL;
}
