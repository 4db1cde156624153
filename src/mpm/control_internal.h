/*
 * control_internal.h — what control.c (startup, signals, restarts, -k) and
 * maintenance.c (forking, reaping, regulation) and control_notify.c
 * (systemd notifications) share.  Nothing else includes it.
 *
 * The control process keeps its own record of every child (pid, generation,
 * whether it was told to stop) and of the scoreboard header.  The scoreboard
 * copy of those fields is for readers only: shared memory is writable by
 * every child, and the control process (possibly root) never sends a signal
 * to a pid it read from there, never takes a size or an offset from there,
 * and puts back what a child overwrote (control_check_scoreboard).
 */
#ifndef WEFT_MPM_CONTROL_INTERNAL_H
#define WEFT_MPM_CONTROL_INTERNAL_H

#include "../core/config.h"
#include "../core/server.h"
#include "scoreboard.h"

/* The numbers of the regulation loop (docs/mpm.md explains them). */
#define REGULATION_INTERVAL_MS 100   /* one maintenance cycle */
#define WAKE_INTERVAL_MS 10          /* cycles a child's wake-up asks for: at most one this often */
#define SURPLUS_HOLD_MS 1000         /* idle > MaxSpareThreads this long before a child is retired */
#define STARTUP_GRACE_MS 1000        /* threads of a younger child not yet '_' count as idle */
#define MAX_SPAWN_RATE 32            /* children forked per cycle at most */
#define BUSY_SPAWN_LOG_RATE 8        /* log "server seems busy" from this rate on */
#define HOLD_OFF_CYCLES 10           /* after a graceful restart: no exponential spawning */
#define FORK_FAILURE_PAUSE_MS 1000   /* no forking after fork() failed */
/* CRASH_BURST crashes within CRASH_WINDOW_MS are a crash loop; two a second
 * (an operator, a fault-injection test) are not. */
#define CRASH_WINDOW_MS 1000
#define CRASH_BURST 5
#define TERM_GRACE_MS 3000           /* SIGTERM, then SIGKILL this much later */
#define CORRUPTION_LOG_INTERVAL_MS 60000  /* a scoreboard a child keeps overwriting: one line a minute */

typedef enum {
    STOP_NONE = 0,
    STOP_ASKED,       /* SIGUSR1 sent: finish requests in flight, then exit */
    STOP_TERMINATED,  /* SIGTERM sent */
    STOP_KILLED,      /* SIGKILL sent */
} stop_stage;

typedef struct {
    pid_t pid;              /* 0 = free slot */
    int generation;
    int threads;            /* its ThreadsPerChild: scoreboard entries beyond are nobody's */
    bool quiescing;         /* asked to stop: counts neither busy nor idle */
    stop_stage stage;
    int64_t deadline;       /* monotonic ms of the next escalation; 0 = none (wait forever) */
    int64_t started;        /* monotonic ms at fork */
    bool replaced;          /* it began stopping by itself (recycling) and a successor was forked */
} child_record;

typedef enum {
    ACTION_NONE = 0,
    ACTION_GRACEFUL_RESTART,  /* USR1 */
    ACTION_RESTART,           /* HUP */
    ACTION_GRACEFUL_STOP,     /* WINCH */
    ACTION_STOP,              /* TERM, INT */
} control_action;             /* a stronger (higher) request replaces a weaker pending one */

typedef struct {
    const config_options *options;
    server_config *server;        /* the current configuration */
    scoreboard board;
    scoreboard_header header;     /* what the shared header must say (its limits unused) */
    child_record *children;       /* [board server_limit] */
    int server_limit;             /* fixed for the life of the process */
    int thread_limit;
    int generation;               /* running (MPM) generation */
    int config_generation;
    char *pid_file;               /* as written (the configuration may change it) */
    char *scoreboard_file;        /* as created, NULL for anonymous memory */
    int signal_fd;
    int wake_fd;                  /* eventfd children write to when they start stopping */
    bool wake_pending;            /* a child wrote to it: regulate now */
    int64_t last_wake_cycle;      /* monotonic ms of the last cycle a wake-up ran */
    int ready_fd;                 /* daemon readiness pipe; -1 once reported */
    bool detached;
    bool stopping;                /* no regulation, no respawning */
    bool fatal;                   /* a child said the server cannot work: stop, exit 1 */
    control_action action;        /* pending, from a signal */

    /* Fleet (drain.c is in control.c; upgrade.h). */
    int upgrade_fd;               /* old process: the connection to the new weft until it takes over */
    bool handed_over;             /* old process: the new weft took over; stop without DrainDelay */
    bool drain_file_present;      /* DrainFile exists (checked every cycle) */
    bool stop_draining;           /* -k graceful-stop's DrainDelay is running */

    /* Regulation. */
    int spawn_rate;
    int64_t last_doubling;        /* the rate doubles at most once per REGULATION_INTERVAL_MS */
    int hold_off_cycles;
    int64_t surplus_since;        /* 0 = idle is not above MaxSpareThreads */
    int64_t fork_paused_until;
    bool reported_max_clients;    /* once per process lifetime, as Apache */
    bool reported_scoreboard_full;
    bool had_healthy_child;       /* some child got all its threads started */
    uint64_t decisions;           /* recorded in the scoreboard's ring so far */
    unsigned char last_action, last_reason; /* of the newest: a "hold" is not repeated */

    /* Crash loops. */
    int64_t crash_times[CRASH_BURST];
    int crash_next;
    bool crash_burst_warned;
    int64_t last_throttled_fork;

    /* A scoreboard holding values no child should have written. */
    int64_t corruption_logged_at; /* monotonic ms of the last report; 0 = never */
    uint64_t corruption_unreported; /* cycles that found some since that report */
} control_state;

/* NOTICE lines reach the log whatever LogLevel says (as in Apache). */
void control_notice(const char *format, ...) PRINTF_LIKE(1, 2);

/* maintenance.c */
int control_fork_child(control_state *s, int slot);
/* Forks up to count current-generation children into free slots, within
 * max_processes.  Returns how many were forked. */
int control_start_children(control_state *s, int count);
/* StartServers children, noted as a decision.  Returns how many were forked. */
int control_start_servers(control_state *s);
/* Notes a decision in the scoreboard's ring for the status page (idle < 0:
 * not counted for it). */
void control_note_decision(control_state *s, int action, int reason, int count, int idle);
/* Reaps every exited child (never blocks).  Returns how many. */
int control_reap(control_state *s);
/* One maintenance cycle: escalate overdue stops, then regulate. */
void control_regulate(control_state *s, int64_t now);
/* Sends SIGUSR1 and starts the GracefulShutdownTimeout clock. */
void control_quiesce_child(control_state *s, int slot, int64_t now);
int control_live_children(const control_state *s);
/* SIGTERM every child, SIGKILL after TERM_GRACE_MS, reap them all. */
void control_terminate_children(control_state *s);
/* Clears the scoreboard records of a slot whose process is gone. */
void control_clear_slot(control_state *s, int slot);
/* Compares the scoreboard with the control process's own records, puts
 * back what it owns, and reports a difference (rate-limited). */
void control_check_scoreboard(control_state *s, int64_t now);
/* Counts an event in one of the header's counters (children_started ...):
 * the private copy is the count, the mapping gets a copy of it. */
#define CONTROL_COUNT(s, field)                                                                     \
    atomic_store_explicit(&(s)->board.header->field,                                               \
                          atomic_fetch_add_explicit(&(s)->header.field, 1, memory_order_relaxed) + 1, \
                          memory_order_relaxed)

/* control_notify.c: systemd notifications (no-ops without NOTIFY_SOCKET).
 * tick: READY=1 the first time `started` holds, then STATUS= lines. */
void control_notify_tick(control_state *s, int64_t now, bool started);
void control_notify_ready(control_state *s);
void control_notify_reloading(void);
void control_notify_reloaded(control_state *s);
void control_notify_stopping(void);

#endif
