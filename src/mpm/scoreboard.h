/*
 * scoreboard.h — the shared-memory table through which the control process
 * sees every child and every thread.
 *
 * Layout: one header, server_limit process records, then server_limit x
 * thread_limit thread records (thread t of process slot p is at
 * p * thread_limit + t), then the regulation's own account in a block of
 * SCOREBOARD_REGULATION_SIZE bytes at the end.  Both limits are fixed for the life of the control
 * process, which is why ServerLimit and ThreadLimit cannot change on restart.
 *
 * Trust: every child maps this memory read-write, so nothing in it is
 * trusted by a reader.  The geometry (both limits, hence every offset) is
 * kept in the scoreboard handle, in each process's private memory, copied
 * at creation and inherited through fork; the limits in the header are for
 * outside readers of a ScoreBoardFile only.  Values read from the mapping
 * are data: a status letter outside the enum below is no known state, a
 * count is any number, a pid is never signalled (the control process keeps
 * its own table of the children it forked).  scoreboard_check_header() and
 * scoreboard_check_slot() are how the control process finds and undoes
 * writes that no child should have made.
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
    _Atomic uint64_t bytes_served;     /* response bodies only, as Apache's */
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

/* The flags are bytes, not bool: a byte other than 0 or 1 written by a
 * hostile child must read as "set", not as an invalid bool. */
typedef struct {
    _Atomic pid_t pid;                 /* 0 = slot free */
    _Atomic int generation;
    _Atomic unsigned char quiescing;   /* going down gracefully: counts neither busy nor idle */
    _Atomic unsigned char not_accepting; /* at its connection cap */
    _Atomic int connections;           /* open connections, served or parked */
    _Atomic int parked;                /* of which parked between requests */
    _Atomic int64_t started_ms;        /* CLOCK_REALTIME ms at fork */
} scoreboard_process;

typedef struct {
    int server_limit;                  /* for outside readers; processes use the handle's */
    int thread_limit;
    _Atomic int running_generation;    /* MPM generation: bumped by every restart */
    _Atomic int config_generation;     /* successful config reads */
    _Atomic int64_t restart_time_ms;   /* last (re)start, CLOCK_REALTIME ms */
    _Atomic int64_t start_time_ms;     /* first start */
    /* Counters the control process keeps for status and metrics. */
    _Atomic uint64_t children_started;
    _Atomic uint64_t children_crashed;
    _Atomic uint64_t spawn_rate_events;
    /* Set by the control process while the server drains (DrainFile,
     * DrainDelay, an upgrade's handover): the health-check handler answers
     * 503 and kept-alive responses carry Connection: close. */
    _Atomic unsigned char draining;
} scoreboard_header;

/* Is the server draining?  For children and modules; false without a
 * scoreboard.  A byte other than 0 written by a child reads as draining
 * until the control process puts it back (a cycle later). */
static inline bool scoreboard_draining(const scoreboard_header *header)
{
    return header && atomic_load_explicit(&((scoreboard_header *)header)->draining, memory_order_relaxed) != 0;
}
/* ---- the regulation's account ---------------------------------------------
 * What the control process decided and why, for the status page (?json,
 * ?live): written by the control process only, every maintenance cycle,
 * and never read back by it (its own state is private).  A reader takes it
 * as data like the rest: the ring index is the count modulo the reader's
 * own constant, codes outside the enums below are unknown. */
enum {
    REGULATION_FORK = 1,      /* children forked */
    REGULATION_RETIRE,        /* a child asked to stop (SIGUSR1) */
    REGULATION_HOLD,          /* more children wanted, none forked */
    REGULATION_ACTIONS        /* one past the last */
};

enum {
    REASON_STARTUP = 1,       /* StartServers, at start or restart */
    REASON_SHORTAGE,          /* idle < MinSpareThreads */
    REASON_SURPLUS,           /* idle > MaxSpareThreads for SURPLUS_HOLD_MS */
    REASON_SUCCESSOR,         /* a child recycling itself gets its successor */
    REASON_RECYCLED,          /* a recycled child left before its successor came */
    REASON_CRASH,             /* a crashed child replaced in its slot */
    REASON_CRASH_LOOP,        /* in a crash loop: one replacement a second */
    REASON_MAX_CLIENTS,       /* MaxRequestWorkers (MaxClients) reached */
    REASON_SCOREBOARD_FULL,   /* old-generation children hold every slot */
    REGULATION_REASONS        /* one past the last */
};

#define SCOREBOARD_DECISIONS 32
#define SCOREBOARD_REGULATION_SIZE 1024

typedef struct {
    _Atomic int64_t time_ms;           /* CLOCK_REALTIME */
    _Atomic unsigned char action;      /* REGULATION_* */
    _Atomic unsigned char reason;      /* REASON_* */
    _Atomic int count;                 /* children forked or retired */
    _Atomic int idle;                  /* idle threads the decision saw */
    _Atomic int children;              /* current children it saw */
} scoreboard_decision;

typedef struct {
    _Atomic int64_t updated_ms;        /* CLOCK_REALTIME of the last cycle */
    _Atomic int idle;                  /* idle threads as regulation counts them */
    _Atomic int min_spare, max_spare;  /* MinSpareThreads, MaxSpareThreads in force */
    _Atomic int spawn_rate;            /* children the next shortage cycle forks */
    _Atomic int children;              /* current-generation children not stopping */
    _Atomic int starting;              /* of those, with threads not yet up */
    _Atomic int stopping;              /* children asked to stop or of an old generation */
    _Atomic uint64_t decisions;        /* ever recorded; the newest is at (decisions - 1) % SCOREBOARD_DECISIONS */
    scoreboard_decision decision[SCOREBOARD_DECISIONS];
} scoreboard_regulation;

_Static_assert(sizeof(scoreboard_regulation) <= SCOREBOARD_REGULATION_SIZE, "the regulation block fits");

/* The handle: private memory of each process, never in the mapping. */
typedef struct {
    scoreboard_header *header;
    scoreboard_regulation *regulation; /* the block after the threads */
    scoreboard_process *processes;     /* [server_limit] */
    scoreboard_thread *threads;        /* [server_limit * thread_limit] */
    size_t size;
    int fd;                            /* backing file for ScoreBoardFile, else -1 */
    int server_limit;                  /* the geometry, as created: every offset comes from these */
    int thread_limit;
} scoreboard;

/* Creates (zeroed) shared memory for the limits: anonymous, or a file at
 * path when path is not NULL.  All threads start as THREAD_DEAD.  Returns
 * WEFT_OK or WEFT_ERROR with errno set. */
int scoreboard_create(scoreboard *board, int server_limit, int thread_limit, const char *path);
void scoreboard_destroy(scoreboard *board);

/* slot < board->server_limit and thread < board->thread_limit, values the
 * caller took from its own memory, never from the mapping. */
static inline scoreboard_process *scoreboard_process_at(const scoreboard *board, int slot)
{
    return &board->processes[slot];
}

static inline scoreboard_thread *scoreboard_thread_at(const scoreboard *board, int slot, int thread)
{
    return &board->threads[(size_t)slot * (size_t)board->thread_limit + (size_t)thread];
}

static inline void scoreboard_set_status(scoreboard_thread *thread, unsigned char status)
{
    atomic_store_explicit(&thread->status, status, memory_order_relaxed);
}

static inline unsigned char scoreboard_status(const scoreboard_thread *thread)
{
    return atomic_load_explicit(&((scoreboard_thread *)thread)->status, memory_order_relaxed);
}

/* Is status one of the letters above?  Anything else is no known state. */
static inline bool scoreboard_status_known(unsigned char status)
{
    switch (status) {
    case THREAD_DEAD: case THREAD_STARTING: case THREAD_READY: case THREAD_READING:
    case THREAD_WRITING: case THREAD_KEEPALIVE: case THREAD_LOGGING: case THREAD_CLOSING:
    case THREAD_GRACEFUL: case THREAD_IDLE_KILL: case THREAD_DNS:
        return true;
    default:
        return false;
    }
}

/* Extended status, called by the connection layer once a request's head is
 * parsed: copies the client address, the request line (at most
 * SCOREBOARD_REQUEST_SIZE - 1 bytes, with the password of a URL's userinfo
 * replaced by '*') and the virtual host name; no allocation, no system call.
 * request_line need not be NUL-terminated within length. */
void scoreboard_note_request(scoreboard_thread *thread, const char *client, const char *request_line,
                             size_t length, const char *vhost, time_t started);
/* Accounting for a finished request (its final status, body bytes sent —
 * Apache's bytes_served leaves the head out — and duration): access and
 * byte counters, status class, histogram bucket. */
void scoreboard_count_request(scoreboard_thread *thread, int status, uint64_t bytes, int64_t duration_us);

/* Counts for one process slot: threads in '_' (idle) and busy ones (known
 * letters other than '_', '.', 'S', 'I', 'G'), over its first thread_count
 * entries (at most the handle's thread_limit). */
void scoreboard_count_process(const scoreboard *board, int slot, int thread_count,
                              int *idle, int *busy);

/* Writes decision number `index` (the control process's private count) into
 * the ring and publishes index + 1 as the count. */
void scoreboard_note_decision(scoreboard *board, uint64_t index, int action, int reason, int count, int idle,
                              int children);
/* The names of codes in the ring: NULL for a code no version wrote. */
const char *scoreboard_action_name(unsigned action);
const char *scoreboard_reason_text(unsigned reason);

/* ---- checks by the control process ---------------------------------------
 * Each compares the mapping with what the caller knows from its own memory,
 * rewrites what differs where the caller is the owner, and returns how many
 * values were not as expected (0: nothing to report). */

/* The header against expected (the control process's private copy, whose
 * limits are ignored: the handle's are used). */
int scoreboard_check_header(scoreboard *board, const scoreboard_header *expected);
/* Process slot `slot` against the control process's record of it: pid 0
 * means free.  A free slot must be empty (no pid, no flags or connections,
 * every thread '.'); it is cleared.  A live slot must carry that pid (0 is
 * tolerated: a reset) and generation, which are restored; its first
 * `threads` threads (the child's ThreadsPerChild) must hold known letters,
 * which are left to their owners, and the rest '.', which is restored. */
int scoreboard_check_slot(scoreboard *board, int slot, pid_t pid, int generation, int threads);

#endif
