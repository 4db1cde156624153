/*
 * dispatch.h — how the threads of one child share its epoll set: which idle
 * thread waits for events, how many events it takes at once, and how a
 * thread about to block gives away the events it took.
 *
 * Pollers and followers.  Only `poller_limit` threads (the CPUs the process
 * may run on) wait in epoll_wait at a time; the child's other idle threads
 * (followers) wait on a condition variable.  With every idle thread in
 * epoll_wait, the kernel wakes one for each event, and on a busy CPU the
 * woken thread preempts the one serving: the CPU switches between threads
 * instead of requests, and a thread preempted in the middle of a response
 * waits behind every thread woken after it.  With as many pollers as CPUs,
 * a thread that finishes a request finds the next event itself.  A poller
 * that takes events does not wake a replacement: while it serves, it uses
 * the CPU a replacement would need.
 *
 * Batches.  A poller takes up to DISPATCH_BATCH events per epoll_wait and
 * handles them one after another: one system call for many requests.
 *
 * Blocking.  A thread about to sleep while it serves (a CGI script, a slow
 * reader of a streamed response) calls blocking_announce() (core/blocking.h).
 * Dispatch then moves the events left in its batch to the child's hand-off
 * queue, wakes a thread to take them, and, if a poller place is free, lets
 * a follower take it.  So a blocked thread never holds up other connections,
 * and the child keeps listening while it blocks.
 *
 * "Idle" (THREAD_READY in the scoreboard) covers pollers and followers.
 */
#ifndef WEFT_MPM_DISPATCH_H
#define WEFT_MPM_DISPATCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "scoreboard.h"

#define DISPATCH_BATCH 32

typedef struct {
    int epoll_fd;
    int handoff_fd;                /* eventfd in the epoll set: "the hand-off queue has events" */
    uint64_t handoff_data;         /* its epoll data, never returned to callers */
    int poller_limit;
    _Atomic int pollers;
    _Atomic int followers;
    _Atomic bool *finished;        /* the child's; followers stop waiting when it is set */
    pthread_mutex_t lock;          /* followers' condition and the hand-off queue */
    pthread_cond_t follower_wake;
    struct epoll_event *queue;     /* ring buffer of handed-off events */
    int queue_capacity;
    int queue_head;
    _Atomic int queue_length;
    uint64_t urgent_low, urgent_high;  /* events with data in [low, high) go first in a batch */
} dispatch;

/* One thread's view: the batch it took and has not handled yet. */
typedef struct {
    dispatch *shared;
    scoreboard_thread *score;      /* set to THREAD_READY while it waits; may be NULL */
    struct epoll_event batch[DISPATCH_BATCH];
    int next;
    int count;
} dispatch_thread;

/* Sets up dispatch for the threads of one child: an eventfd added to
 * epoll_fd with `handoff_data` as its event data (a value the caller never
 * uses for anything else).  WEFT_OK or WEFT_ERROR (errno set). */
int dispatch_init(dispatch *d, int epoll_fd, uint64_t handoff_data, int threads, _Atomic bool *finished);
void dispatch_destroy(dispatch *d);

/* Events whose data is in [low, high) are handled before the others taken
 * with them (a change notification before the requests that follow it). */
void dispatch_set_urgent(dispatch *d, uint64_t low, uint64_t high);

/* Wakes every follower: call after setting *finished.  Pollers are the
 * caller's to wake (through the epoll set). */
void dispatch_wake_all(dispatch *d);

/* Binds the calling thread: installs its blocking_announce() hook. */
void dispatch_thread_start(dispatch_thread *t, dispatch *d, scoreboard_thread *score);
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
