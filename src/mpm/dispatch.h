/*
 * dispatch.h — how the threads of one child share its epoll set: which idle
 * thread waits for events, how many events it takes at once, how a thread
 * about to block gives away the events it took, and the watchdog that sees
 * to it when a thread blocks without saying so.
 *
 * Pollers and followers.  Only `poller_limit` threads (the child's share of
 * the CPUs the process may run on) wait in epoll_wait at a time; the
 * child's other idle threads (followers) wait on a condition variable.
 * With every idle thread in epoll_wait, the kernel wakes one for each
 * event, and on a busy CPU the woken thread preempts the one serving: the
 * CPU switches between threads instead of requests.  With as many pollers
 * as CPUs, a thread that finishes a request finds the next event itself.
 * A poller that takes events does not wake a replacement: while it serves,
 * it uses the CPU a replacement would need.  Several children share the
 * CPUs: each polls with its share of them (dispatch_set_sharing).
 *
 * Batches.  A poller takes up to DISPATCH_BATCH events per epoll_wait and
 * handles them one after another: one system call for many requests.
 *
 * Blocking.  A thread about to sleep while it serves (a CGI script, a slow
 * reader of a streamed response) calls blocking_announce() (core/blocking.h).
 * Dispatch then moves the events left in its batch to the child's hand-off
 * queue, wakes a thread to take them, and, if a poller place is free, lets
 * a follower take it.
 *
 * The watchdog.  A thread may also block without announcing it (a slow
 * disk under open or pread, a page fault, a lock).  A watchdog thread looks
 * every DISPATCH_WATCHDOG_TICK_MS: a thread that has been in the same event
 * for a tick, used less than half of it on a CPU and sleeps in the kernel
 * (not merely waiting for a CPU) is stalled; the
 * watchdog moves the rest of its batch to the hand-off queue and wakes a
 * follower to poll in its place.  It also wakes a follower when no thread
 * entered epoll_wait for four ticks while events are pending.  So polling
 * never depends on a thread that may block.  A stalled thread that comes
 * back finds the poller places taken and becomes a follower.
 *
 * The hand-off queue.  Event data is (tag << 32) | key.  The queue holds at
 * most one event per key (a later event of a key merges into the queued
 * one, or replaces it when its tag, a connection's generation, is newer),
 * and it has a place for every key: it cannot overflow.  (If it ever did,
 * the ASan build asserts, the others grow it.)
 *
 * "Idle" (THREAD_READY in the scoreboard) is exactly a thread waiting in
 * epoll_wait or as a follower; from the moment it takes an event until it
 * waits again it is busy (THREAD_READING until the connection layer says
 * more), wherever it blocks.
 */
#ifndef WEFT_MPM_DISPATCH_H
#define WEFT_MPM_DISPATCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/types.h>
#include <time.h>

#include "scoreboard.h"

#define DISPATCH_BATCH 32
#define DISPATCH_WATCHDOG_TICK_MS 5

/* One thread's view: the batch it took and has not handled yet.  The
 * watchdog may take the rest of the batch of a stalled thread, hence the
 * lock (uncontended otherwise). */
typedef struct {
    struct dispatch *shared;
    scoreboard_thread *score;      /* THREAD_READY exactly while it waits; may be NULL */
    pthread_mutex_t lock;          /* batch, next, count */
    struct epoll_event batch[DISPATCH_BATCH];
    int next;
    int count;
    _Atomic bool active;           /* a thread is bound to this record */
    _Atomic bool waiting;          /* in epoll_wait or waiting as a follower */
    _Atomic uint64_t progress;     /* events taken and waits begun */
    clockid_t cpu_clock;           /* the thread's CPU time, for the watchdog */
    pid_t tid;                     /* and its state in /proc */
    /* The watchdog's own. */
    uint64_t seen_progress;
    int64_t seen_cpu_ns;           /* -1: not measured since progress moved */
    bool stalled;
} dispatch_thread;

typedef struct dispatch {
    int epoll_fd;
    int handoff_fd;                /* eventfd in the epoll set: "the hand-off queue has events" */
    uint64_t handoff_data;         /* its epoll data, never returned to callers */
    int cpus;
    _Atomic int poller_limit;      /* this child's share of the CPUs */
    _Atomic int pollers;
    _Atomic int followers;
    _Atomic uint64_t poll_entries; /* poller places claimed so far */
    _Atomic bool *finished;        /* the child's; followers stop waiting when it is set */
    pthread_mutex_t lock;          /* followers' condition and the hand-off queue */
    pthread_cond_t follower_wake;
    struct epoll_event *queue;     /* ring buffer of handed-off events */
    int queue_capacity;
    int queue_head;
    _Atomic int queue_length;
    int32_t *queued_at;            /* per key: its event's place in the ring + 1, or 0: none
                                    * (zero, so that the table is untouched until used) */
    int queued_at_capacity;        /* its entries (the ring may grow, the keys do not) */
    uint32_t connection_keys;      /* keys [0, connection_keys) ... */
    uint32_t special_base;         /* ... and [special_base, special_base + special_keys) */
    uint32_t special_keys;
    uint64_t urgent_low, urgent_high;  /* events with data in [low, high) go first in a batch */

    dispatch_thread *threads;      /* [thread_capacity], one per worker thread index */
    int thread_capacity;
    int (*sharing)(void *);        /* children sharing the CPUs (dispatch_set_sharing) */
    void *sharing_argument;
    pthread_t watchdog;
    bool watchdog_started;
    _Atomic bool watchdog_stop;
    _Atomic bool watchdog_dozing;  /* asleep until a thread takes an event */
    pthread_mutex_t watchdog_lock;
    pthread_cond_t watchdog_wake;
    _Atomic uint64_t stalls;       /* stalled threads seen, for tests and debugging */
} dispatch;

/* Sets up dispatch for `threads` worker threads of one child: an eventfd
 * added to epoll_fd with `handoff_data` as its event data (a value the
 * caller never uses for anything else), the hand-off queue for the keys
 * [0, connection_keys) and [special_base, special_base + special_keys), and
 * the watchdog thread.  WEFT_OK or WEFT_ERROR (errno set). */
int dispatch_init(dispatch *d, int epoll_fd, uint64_t handoff_data, int threads, uint32_t connection_keys,
                  uint32_t special_base, uint32_t special_keys, _Atomic bool *finished);
/* Stops the watchdog (call after the worker threads were joined). */
void dispatch_destroy(dispatch *d);

/* Events whose data is in [low, high) are handled before the others taken
 * with them (a change notification before the requests that follow it). */
void dispatch_set_urgent(dispatch *d, uint64_t low, uint64_t high);

/* count(argument), asked by the watchdog every DISPATCH_SHARE_MS, tells how
 * many children share the CPUs; this child then polls with its share of
 * them (at least one thread).  Without it, with all of them. */
void dispatch_set_sharing(dispatch *d, int (*count)(void *), void *argument);

/* Wakes every follower: call after setting *finished.  Pollers are the
 * caller's to wake (through the epoll set). */
void dispatch_wake_all(dispatch *d);

/* Binds the calling thread to record `index` (< threads) and installs its
 * blocking_announce() hook. */
dispatch_thread *dispatch_thread_start(dispatch *d, int index, scoreboard_thread *score);
void dispatch_thread_stop(dispatch_thread *t);

/* The next event for this thread to handle, waiting as long as it takes.
 * false when the child finished or epoll_wait failed (logged). */
bool dispatch_next(dispatch_thread *t, struct epoll_event *event);

/* Queues work for the calling thread itself: an event with no flags
 * (DISPATCH_DEFERRED) and `data`, which dispatch_next() returns after the
 * rest of the batch, or hands off with it.  false if the batch is full. */
#define DISPATCH_DEFERRED 0u
bool dispatch_defer(dispatch_thread *t, uint64_t data);

#endif
