/*
 * scoreboard.h — the shared-memory table through which the control process
 * sees every child and every thread.
 *
 * Layout: one header, server_limit process records, then server_limit x
 * thread_limit thread records (thread t of process slot p is at
 * p * thread_limit + t).  Both limits are fixed for the life of the control
 * process, which is why ServerLimit and ThreadLimit cannot change on restart.
 *
 * Concurrency: no locks.  Every field has one writer at a time — a thread
 * writes its own record, a child writes its process record's counters, the
 * control process writes pid/generation/quiescing when it forks or reaps —
 * and readers (control process, status page) tolerate a value that is a
 * moment old.  Fields are C11 atomics accessed with relaxed ordering.
 *
 * Thread status letters are those of Apache's mod_status, stored as is:
 *   '.' open slot, 'S' starting, '_' ready (idle: waiting in epoll_wait for a
 *   connection or a request), 'R' reading a request, 'W' handling it and
 *   sending the reply, 'K' keep-alive (unused: parked connections hold no
 *   thread), 'L' logging, 'C' closing, 'G' gracefully finishing,
 *   'I' idle cleanup, 'D' DNS lookup (unused).
 * "Idle" means '_' everywhere: in regulation, in the status page, in tests.
 */
#ifndef WEFT_MPM_SCOREBOARD_H
#define WEFT_MPM_SCOREBOARD_H

#include <stdatomic.h>
#include <sys/types.h>
#include <time.h>

#include "../core/common.h"

enum {
    THREAD_DEAD = '.',
    THREAD_STARTING = 'S',
    THREAD_READY = '_',
    THREAD_READING = 'R',
    THREAD_WRITING = 'W',
    THREAD_KEEPALIVE = 'K',
    THREAD_LOGGING = 'L',
    THREAD_CLOSING = 'C',
    THREAD_GRACEFUL = 'G',
    THREAD_IDLE_KILL = 'I',
    THREAD_DNS = 'D',
};

#define SCOREBOARD_CLIENT_SIZE 48
#define SCOREBOARD_REQUEST_SIZE 64
#define SCOREBOARD_VHOST_SIZE 32

/* Upper bounds (microseconds) of the request duration histogram buckets:
 * Prometheus' default buckets, 5 ms to 10 s. */
#define SCOREBOARD_DURATION_BOUNDS_US \
    { 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000 }
#define SCOREBOARD_DURATION_BUCKETS 12  /* the bounds above, then +Inf */

typedef struct {
    _Atomic unsigned char status;
    _Atomic pid_t pid;                 /* the process the thread belongs to */
    _Atomic int generation;
    _Atomic uint64_t access_count;     /* requests, cumulative over the slot's life */
    _Atomic uint64_t bytes_served;
    _Atomic uint64_t connection_count;
    _Atomic uint64_t duration_total_us; /* sum of request durations */
    _Atomic int64_t last_used_ms;      /* CLOCK_REALTIME ms when the last request started */
    _Atomic uint64_t last_duration_us; /* of the last finished request */
    /* For ?metrics: finished requests by status class (1xx..5xx) and by
     * duration, one count per bucket of SCOREBOARD_DURATION_BOUNDS_US (the
     * last bucket is everything slower).  Cumulated only by the reader. */
    _Atomic uint64_t status_classes[5];
    _Atomic uint64_t duration_buckets[SCOREBOARD_DURATION_BUCKETS];
    /* Extended status: what the thread serves or served last.  Plain bytes
     * written by the thread and read without a lock: a reader copies them
     * and may see a mix of two requests, never a read past the end. */
    char client[SCOREBOARD_CLIENT_SIZE];
    char request[SCOREBOARD_REQUEST_SIZE];
    char vhost[SCOREBOARD_VHOST_SIZE];
} scoreboard_thread;

typedef struct {
    _Atomic pid_t pid;                 /* 0 = slot free */
    _Atomic int generation;
    _Atomic bool quiescing;            /* going down gracefully: counts neither busy nor idle */
    _Atomic bool not_accepting;        /* at its connection cap */
    _Atomic int connections;           /* open connections, served or parked */
    _Atomic int parked;                /* of which parked between requests */
    _Atomic int64_t started_ms;        /* CLOCK_REALTIME ms at fork */
} scoreboard_process;

typedef struct {
    int server_limit;
    int thread_limit;
    _Atomic int running_generation;    /* MPM generation: bumped by every restart */
    _Atomic int config_generation;     /* successful config reads */
    _Atomic int64_t restart_time_ms;   /* last (re)start, CLOCK_REALTIME ms */
    _Atomic int64_t start_time_ms;     /* first start */
    /* Counters the control process keeps for status and metrics. */
    _Atomic uint64_t children_started;
    _Atomic uint64_t children_crashed;
    _Atomic uint64_t spawn_rate_events;
} scoreboard_header;

typedef struct {
    scoreboard_header *header;
    scoreboard_process *processes;     /* [server_limit] */
    scoreboard_thread *threads;        /* [server_limit * thread_limit] */
    size_t size;
    int fd;                            /* backing file for ScoreBoardFile, else -1 */
} scoreboard;

/* Creates (zeroed) shared memory for the limits: anonymous, or a file at
 * path when path is not NULL.  All threads start as THREAD_DEAD.  Returns
 * WEFT_OK or WEFT_ERROR with errno set. */
int scoreboard_create(scoreboard *board, int server_limit, int thread_limit, const char *path);
void scoreboard_destroy(scoreboard *board);

static inline scoreboard_process *scoreboard_process_at(const scoreboard *board, int slot)
{
    return &board->processes[slot];
}

static inline scoreboard_thread *scoreboard_thread_at(const scoreboard *board, int slot, int thread)
{
    return &board->threads[(size_t)slot * (size_t)board->header->thread_limit + (size_t)thread];
}

static inline void scoreboard_set_status(scoreboard_thread *thread, unsigned char status)
{
    atomic_store_explicit(&thread->status, status, memory_order_relaxed);
}

static inline unsigned char scoreboard_status(const scoreboard_thread *thread)
{
    return atomic_load_explicit(&((scoreboard_thread *)thread)->status, memory_order_relaxed);
}

/* Extended status, called by the connection layer once a request's head is
 * parsed: copies the client address, the request line (at most
 * SCOREBOARD_REQUEST_SIZE - 1 bytes, with the password of a URL's userinfo
 * replaced by '*') and the virtual host name; no allocation, no system call.
 * request_line need not be NUL-terminated within length. */
void scoreboard_note_request(scoreboard_thread *thread, const char *client, const char *request_line,
                             size_t length, const char *vhost, time_t started);
/* Accounting for a finished request (its final status, bytes sent and
 * duration): access and byte counters, status class, histogram bucket. */
void scoreboard_count_request(scoreboard_thread *thread, int status, uint64_t bytes, int64_t duration_us);

/* Counts for one process slot: threads in '_' (idle) and busy ones (not
 * '_', '.', 'S', 'I', 'G'), over its first thread_count entries. */
void scoreboard_count_process(const scoreboard *board, int slot, int thread_count,
                              int *idle, int *busy);

#endif
