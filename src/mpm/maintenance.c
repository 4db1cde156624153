/*
 * maintenance.c — the control process's work on its children: forking
 * them, reaping them, replacing crashed ones, and keeping the number of
 * idle threads between MinSpareThreads and MaxSpareThreads (the
 * "self-regulation" of the seed document).
 *
 * One cycle every REGULATION_INTERVAL_MS (100 ms, ten times Apache's pace:
 * capacity follows a burst within a tenth of a second), and at once after a
 * child was reaped so that a child that left is replaced without a dip.
 *   idle < MinSpareThreads  fork 1, 2, 4 ... 32 children per cycle while the
 *                           shortage lasts (the rate resets when it ends)
 *   idle > MaxSpareThreads  for SURPLUS_HOLD_MS (1 s, ten cycles) without a
 *                           break: retire the child with the most idle
 *                           threads, then the second must wait another second
 * "Idle" is '_' in current-generation children that are not quiescing; a
 * child younger than STARTUP_GRACE_MS also counts its threads that have not
 * started yet, so a child that is still starting is not forked again.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/piped_log.h"
#include "../os/os.h"
#include "child.h"
#include "control.h"
#include "control_internal.h"
#include "listen.h"

/* ---- forking ------------------------------------------------------------ */

int control_fork_child(control_state *s, int slot)
{
    scoreboard_process *record = scoreboard_process_at(&s->board, slot);
    /* Zeroed before the fork: from the fork on the child owns its counters. */
    atomic_store_explicit(&record->pid, 0, memory_order_relaxed);
    atomic_store_explicit(&record->quiescing, false, memory_order_relaxed);
    atomic_store_explicit(&record->not_accepting, false, memory_order_relaxed);
    atomic_store_explicit(&record->connections, 0, memory_order_relaxed);
    atomic_store_explicit(&record->parked, 0, memory_order_relaxed);
    atomic_store_explicit(&record->generation, s->generation, memory_order_relaxed);
    atomic_store_explicit(&record->started_ms, realtime_ms(), memory_order_relaxed);

    os_prepare_privileges(s->server, s->generation);
    pid_t pid = fork();
    if (pid < 0) {
        log_error_number(LOG_LEVEL_ERROR, errno, "fork: Unable to fork new process");
        s->fork_paused_until = monotonic_ms() + FORK_FAILURE_PAUSE_MS;
        return WEFT_ERROR;
    }
    if (pid == 0) {
        close(s->signal_fd);  /* the wake eventfd stays: control_child_stopping() writes to it */
        if (s->ready_fd >= 0)
            close(s->ready_fd);
        /* The mapping stays; the ScoreBoardFile's descriptor goes, so that
         * a child cannot truncate the file under the control process (its
         * mapping would then fault with SIGBUS). */
        if (s->board.fd >= 0)
            close(s->board.fd);
        s->board.fd = -1;
        os_reset_signals();
        atomic_store_explicit(&record->pid, getpid(), memory_order_relaxed);
        weft_scoreboard = &s->board;
        int count;
        const int *fds = listen_fds(&count);
        child_context context = {
            .server = s->server,
            .board = &s->board,
            .slot = slot,
            .generation = s->generation,
            .listen_fds = fds,
            .listen_count = count,
            .single_process = false,
        };
        _exit(child_main(&context));
    }

    child_record *child = &s->children[slot];
    memset(child, 0, sizeof *child);
    child->pid = pid;
    child->generation = s->generation;
    child->threads = s->server->threads_per_child;
    child->started = monotonic_ms();
    atomic_store_explicit(&record->pid, pid, memory_order_relaxed);
    CONTROL_COUNT(s, children_started);
    log_message(LOG_LEVEL_DEBUG, "child pid %ld started in slot %d (generation %d)", (long)pid, slot,
                s->generation);
    return WEFT_OK;
}

/* A live child of the current generation that is not on its way out: we
 * did not ask it to stop, and it did not start stopping by itself (it sets
 * quiescing in the scoreboard when it reaches MaxConnectionsPerChild).
 * Only such children count toward max_processes and toward idle threads,
 * so a recycling child is replaced before it is gone. */
static bool is_current(const control_state *s, int slot)
{
    const child_record *child = &s->children[slot];
    if (!child->pid || child->generation != s->generation || child->quiescing)
        return false;
    scoreboard_process *record = scoreboard_process_at(&s->board, slot);
    return !atomic_load_explicit(&record->quiescing, memory_order_relaxed);
}

static int current_children(const control_state *s)
{
    int count = 0;
    for (int slot = 0; slot < s->server_limit; slot++)
        if (is_current(s, slot))
            count++;
    return count;
}

int control_start_children(control_state *s, int count)
{
    int room = s->server->max_processes - current_children(s);
    int started = 0;
    for (int slot = 0; slot < s->server_limit && started < count && started < room; slot++) {
        if (s->children[slot].pid)
            continue;
        if (monotonic_ms() < s->fork_paused_until || control_fork_child(s, slot) != WEFT_OK)
            break;
        started++;
    }
    return started;
}

int control_start_servers(control_state *s)
{
    int started = control_start_children(s, s->server->start_servers);
    control_note_decision(s, REGULATION_FORK, REASON_STARTUP, started, -1);
    return started;
}

void control_note_decision(control_state *s, int action, int reason, int count, int idle)
{
    if (action == REGULATION_HOLD && s->last_action == action && s->last_reason == reason)
        return;  /* held back every cycle while it lasts: noted once */
    if (action == REGULATION_FORK && count <= 0)
        return;
    scoreboard_note_decision(&s->board, s->decisions++, action, reason, count, idle, current_children(s));
    s->last_action = (unsigned char)action;
    s->last_reason = (unsigned char)reason;
}

int control_live_children(const control_state *s)
{
    int count = 0;
    for (int slot = 0; slot < s->server_limit; slot++)
        if (s->children[slot].pid)
            count++;
    return count;
}

void control_clear_slot(control_state *s, int slot)
{
    for (int t = 0; t < s->thread_limit; t++)
        scoreboard_set_status(scoreboard_thread_at(&s->board, slot, t), THREAD_DEAD);
    scoreboard_process *record = scoreboard_process_at(&s->board, slot);
    atomic_store_explicit(&record->pid, 0, memory_order_relaxed);
    atomic_store_explicit(&record->quiescing, false, memory_order_relaxed);
    atomic_store_explicit(&record->not_accepting, false, memory_order_relaxed);
    atomic_store_explicit(&record->connections, 0, memory_order_relaxed);
    atomic_store_explicit(&record->parked, 0, memory_order_relaxed);
    memset(&s->children[slot], 0, sizeof s->children[slot]);
}

/* ---- what the children may not change --------------------------------- */

void control_check_scoreboard(control_state *s, int64_t now)
{
    int header = scoreboard_check_header(&s->board, &s->header);
    int first_slot = -1, slots = 0;
    for (int slot = 0; slot < s->server_limit; slot++) {
        const child_record *child = &s->children[slot];
        if (scoreboard_check_slot(&s->board, slot, child->pid, child->generation, child->threads) == 0)
            continue;
        if (first_slot < 0)
            first_slot = slot;
        slots++;
    }
    if (!header && !slots)
        return;
    /* Whoever writes there keeps doing it, probably every cycle: one line
     * now, then one a minute at most. */
    if (s->corruption_logged_at && now - s->corruption_logged_at < CORRUPTION_LOG_INTERVAL_MS) {
        s->corruption_unreported++;
        return;
    }
    char where[64], what[64], since[80] = "";
    if (first_slot >= 0) {
        snprintf(where, sizeof where, "slot %d%s", first_slot, slots > 1 ? " (and others)" : "");
        snprintf(what, sizeof what, "%d slot%s%s", slots, slots == 1 ? "" : "s", header ? " and the header" : "");
    } else {
        snprintf(where, sizeof where, "the header");
        snprintf(what, sizeof what, "the header only");
    }
    if (s->corruption_logged_at)
        snprintf(since, sizeof since, "; %llu more cycle%s found some since the last report",
                 (unsigned long long)s->corruption_unreported, s->corruption_unreported == 1 ? "" : "s");
    log_message(LOG_LEVEL_ERROR, "scoreboard: %s holds values the control process did not expect; "
                                 "ignoring them (%s%s); a child process may be compromised",
                where, what, since);
    s->corruption_logged_at = now;
    s->corruption_unreported = 0;
}

void control_quiesce_child(control_state *s, int slot, int64_t now)
{
    child_record *child = &s->children[slot];
    if (!child->pid || child->stage != STOP_NONE)
        return;
    child->quiescing = true;
    child->stage = STOP_ASKED;
    int timeout = s->server->graceful_shutdown_timeout;
    child->deadline = timeout > 0 ? now + (int64_t)timeout * 1000 : 0;
    atomic_store_explicit(&scoreboard_process_at(&s->board, slot)->quiescing, true, memory_order_relaxed);
    kill(child->pid, SIGUSR1);
}

/* GracefulShutdownTimeout is over: TERM; TERM_GRACE_MS later: KILL. */
static void escalate_stops(control_state *s, int64_t now)
{
    for (int slot = 0; slot < s->server_limit; slot++) {
        child_record *child = &s->children[slot];
        if (!child->pid || child->stage == STOP_NONE || child->stage == STOP_KILLED ||
            child->deadline == 0 || now < child->deadline)
            continue;
        if (child->stage == STOP_ASKED) {
            log_message(LOG_LEVEL_WARN, "child pid %ld did not finish within GracefulShutdownTimeout, "
                                        "sending a SIGTERM", (long)child->pid);
            kill(child->pid, SIGTERM);
            child->stage = STOP_TERMINATED;
            child->deadline = now + TERM_GRACE_MS;
        } else {
            log_message(LOG_LEVEL_ERROR, "child process %ld still did not exit, sending a SIGKILL",
                        (long)child->pid);
            kill(child->pid, SIGKILL);
            child->stage = STOP_KILLED;
        }
    }
}

/* ---- reaping ------------------------------------------------------------ */

static int slot_of(const control_state *s, pid_t pid)
{
    for (int slot = 0; slot < s->server_limit; slot++)
        if (s->children[slot].pid == pid)
            return slot;
    return -1;
}

/* TERM, KILL, USR1 and HUP are how a child is stopped: silent when we sent
 * them.  A child that dies of one we did not send (the OOM killer, an
 * administrator's kill -9) is reported and replaced like a crash. */
static bool expected_signal(int signo, const child_record *child, bool stopping)
{
    bool stop_signal = signo == SIGTERM || signo == SIGKILL || signo == SIGUSR1 || signo == SIGHUP;
    return stop_signal && (child->stage != STOP_NONE || stopping);
}

/* Is this crash part of a loop?  CRASH_BURST crashes within CRASH_WINDOW_MS. */
static bool crash_loop(control_state *s, int64_t now)
{
    s->crash_times[s->crash_next] = now;
    s->crash_next = (s->crash_next + 1) % CRASH_BURST;
    for (int i = 0; i < CRASH_BURST; i++)
        if (s->crash_times[i] == 0 || now - s->crash_times[i] > CRASH_WINDOW_MS)
            return false;
    return true;
}

static bool crash_throttled(const control_state *s, int64_t now)
{
    int recent = 0;
    for (int i = 0; i < CRASH_BURST; i++)
        if (s->crash_times[i] && now - s->crash_times[i] <= CRASH_WINDOW_MS)
            recent++;
    return recent >= CRASH_BURST;
}

/* Signals whose default action dumps core. */
static bool dumps_core(int signo)
{
    return signo == SIGSEGV || signo == SIGBUS || signo == SIGABRT || signo == SIGFPE || signo == SIGILL ||
           signo == SIGQUIT || signo == SIGSYS || signo == SIGTRAP;
}

static void child_crashed(control_state *s, int slot, pid_t pid, int signo, bool current, int64_t now)
{
    const char *directory = dumps_core(signo) ? s->server->core_dump_directory : NULL;
    control_notice("child pid %ld exit signal %s (%d)%s%s", (long)pid, strsignal(signo), signo,
                   directory ? ", possible coredump in " : "", directory ? directory : "");
    CONTROL_COUNT(s, children_crashed);
    if (!current || s->stopping)
        return;
    if (crash_loop(s, now)) {
        if (!s->crash_burst_warned)
            log_message(LOG_LEVEL_WARN, "children are killed successively! (%d crashes within %d ms): "
                                        "crashed children are now replaced at most once a second",
                        CRASH_BURST, CRASH_WINDOW_MS);
        s->crash_burst_warned = true;
        return;
    }
    if (now >= s->fork_paused_until && control_fork_child(s, slot) == WEFT_OK)
        control_note_decision(s, REGULATION_FORK, REASON_CRASH, 1, -1);  /* at once, in the same slot */
}

static void child_exited(control_state *s, pid_t pid, int code, bool current)
{
    if (s->fatal)
        return;  /* already stopping for that; one ALERT is enough */
    if (code == CHILD_EXIT_FATAL) {
        if (current) {
            log_message(LOG_LEVEL_ALERT, "child pid %ld returned a fatal error... weft is exiting!",
                        (long)pid);
            s->fatal = true;
        } else {
            log_message(LOG_LEVEL_WARN, "Ignoring fatal error in child of previous generation (pid %ld).",
                        (long)pid);
        }
    } else if (code == CHILD_EXIT_SICK) {
        s->spawn_rate = 1;
        if (!s->had_healthy_child && current) {
            log_message(LOG_LEVEL_ALERT, "A resource shortage or other unrecoverable failure was "
                                         "encountered before any child process initialized "
                                         "successfully... weft is exiting!");
            s->fatal = true;
        } else {
            log_message(LOG_LEVEL_WARN, "child pid %ld exited after a resource shortage (status %d)",
                        (long)pid, code);
        }
    } else if (code != 0) {
        log_message(LOG_LEVEL_WARN, "child pid %ld exited with status %d", (long)pid, code);
    }
}

int control_reap(control_state *s)
{
    int reaped = 0;
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            break;
        reaped++;
        if (piped_log_child_exited(pid, status, monotonic_ms()))
            continue;  /* a log program, not a server child: restarted there */
        int slot = slot_of(s, pid);
        if (slot < 0) {
            log_message(LOG_LEVEL_WARN, "long lost child came home! (pid %ld)", (long)pid);
            continue;
        }
        child_record child = s->children[slot];
        bool current = child.generation == s->generation && !child.quiescing;
        log_message(LOG_LEVEL_DEBUG, "child pid %ld (slot %d, generation %d) %s %d", (long)pid, slot,
                    child.generation, WIFSIGNALED(status) ? "killed by signal" : "exited with status",
                    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        control_clear_slot(s, slot);
        if (WIFSIGNALED(status) && !expected_signal(WTERMSIG(status), &child, s->stopping))
            child_crashed(s, slot, pid, WTERMSIG(status), current, monotonic_ms());
        else if (WIFEXITED(status)) {
            child_exited(s, pid, WEXITSTATUS(status), child.generation == s->generation);
            /* A child that recycled itself (MaxConnectionsPerChild) and was
             * gone before we could fork its successor: fork it now, so that
             * capacity does not wait for the next regulation cycle. */
            if (WEXITSTATUS(status) == CHILD_EXIT_OK && current && !child.replaced && !s->stopping &&
                !s->fatal && monotonic_ms() >= s->fork_paused_until && control_fork_child(s, slot) == WEFT_OK)
                control_note_decision(s, REGULATION_FORK, REASON_RECYCLED, 1, -1);
        }
    }
    return reaped;
}

void control_terminate_children(control_state *s)
{
    for (int slot = 0; slot < s->server_limit; slot++) {
        child_record *child = &s->children[slot];
        if (child->pid && child->stage != STOP_KILLED) {
            kill(child->pid, SIGTERM);
            child->stage = STOP_TERMINATED;
        }
    }
    int64_t deadline = monotonic_ms() + TERM_GRACE_MS;
    bool killed = false;
    while (control_live_children(s) > 0) {
        control_reap(s);
        if (control_live_children(s) == 0)
            break;
        int64_t now = monotonic_ms();
        if (now >= deadline) {
            if (killed) {
                for (int slot = 0; slot < s->server_limit; slot++)
                    if (s->children[slot].pid)
                        log_message(LOG_LEVEL_ERROR, "could not make child process %ld exit, "
                                                     "attempting to continue anyway",
                                    (long)s->children[slot].pid);
                break;
            }
            for (int slot = 0; slot < s->server_limit; slot++) {
                child_record *child = &s->children[slot];
                if (!child->pid)
                    continue;
                log_message(LOG_LEVEL_ERROR, "child process %ld still did not exit, sending a SIGKILL",
                            (long)child->pid);
                kill(child->pid, SIGKILL);
                child->stage = STOP_KILLED;
            }
            killed = true;
            deadline = now + TERM_GRACE_MS;
        }
        struct timespec pause = { 0, 10 * 1000 * 1000 };
        nanosleep(&pause, NULL);
    }
}

/* ---- regulation --------------------------------------------------------- */

typedef struct {
    int idle;           /* effective idle threads of current children */
    int current;        /* current-generation, non-quiescing children */
    int free_slots;
    int retire_slot;    /* the current child with the most idle threads */
    int retire_idle;
    int retire_connections;
    int successors;     /* recycling children that need a replacement now */
    int starting;       /* current children whose threads are not all up */
    int stopping;       /* live children that are not current */
} census;

/* A current-generation child that began stopping on its own (it reached
 * MaxConnectionsPerChild) gets a successor at once, whatever the spare
 * threads say: otherwise, with a few children recycling together, there
 * are moments with no child at all and new connections wait. */
static bool needs_successor(control_state *s, int slot)
{
    child_record *child = &s->children[slot];
    if (!child->pid || child->generation != s->generation || child->quiescing || child->replaced)
        return false;
    scoreboard_process *record = scoreboard_process_at(&s->board, slot);
    if (!atomic_load_explicit(&record->quiescing, memory_order_relaxed))
        return false;
    child->replaced = true;
    return true;
}

static void take_census(control_state *s, int64_t now, census *c)
{
    int tpc = s->server->threads_per_child;
    memset(c, 0, sizeof *c);
    c->retire_slot = -1;
    c->retire_idle = -1;
    for (int slot = 0; slot < s->server_limit; slot++) {
        const child_record *child = &s->children[slot];
        if (!child->pid) {
            c->free_slots++;
            continue;
        }
        if (needs_successor(s, slot))
            c->successors++;
        if (!is_current(s, slot)) {
            c->stopping++;
            continue;
        }
        c->current++;
        int idle = 0, not_started = 0;
        for (int t = 0; t < tpc && t < s->thread_limit; t++) {
            unsigned char status = scoreboard_status(scoreboard_thread_at(&s->board, slot, t));
            if (status == THREAD_READY)
                idle++;
            else if (status == THREAD_DEAD || status == THREAD_STARTING)
                not_started++;
        }
        c->starting += not_started > 0;
        if (not_started == 0)
            s->had_healthy_child = true;
        else if (now - child->started < STARTUP_GRACE_MS)
            idle += not_started;
        /* A child at its connection cap takes no new connection, whatever
         * its threads are doing: its idle threads are no capacity. */
        const scoreboard_process *record = scoreboard_process_at(&s->board, slot);
        if (atomic_load_explicit(&((scoreboard_process *)record)->not_accepting, memory_order_relaxed))
            idle = 0;
        c->idle += idle;
        /* Retire the child with the most idle threads; among equals, the
         * one holding the fewest connections, whose clients lose least. */
        int connections = atomic_load_explicit(&((scoreboard_process *)record)->connections, memory_order_relaxed);
        if (idle > c->retire_idle || (idle == c->retire_idle && connections < c->retire_connections)) {
            c->retire_idle = idle;
            c->retire_slot = slot;
            c->retire_connections = connections;
        }
    }
}

static void regulate_shortage(control_state *s, int64_t now, const census *c)
{
    s->surplus_since = 0;
    if (now < s->fork_paused_until)
        return;
    int room = s->server->max_processes - c->current;
    int count = s->spawn_rate;
    if (count > room)
        count = room;
    if (count > c->free_slots)
        count = c->free_slots;
    int reason = REASON_SHORTAGE;
    if (count > 0 && crash_throttled(s, now)) {
        /* In a crash loop: one replacement a second, not 32 every 100 ms. */
        if (now - s->last_throttled_fork < 1000)
            return;
        count = 1;
        s->last_throttled_fork = now;
        reason = REASON_CRASH_LOOP;
    }
    if (count <= 0) {
        control_note_decision(s, REGULATION_HOLD, room <= 0 ? REASON_MAX_CLIENTS : REASON_SCOREBOARD_FULL, 0,
                              c->idle);
        if (room <= 0) {
            if (!s->reported_max_clients)
                log_message(LOG_LEVEL_ERROR, "server reached MaxClients setting, consider raising the "
                                             "MaxClients setting");
            s->reported_max_clients = true;
        } else if (!s->reported_scoreboard_full) {
            log_message(LOG_LEVEL_ERROR, "scoreboard is full, not at MaxClients: children of the "
                                         "previous generation still hold every slot. Increase ServerLimit.");
            s->reported_scoreboard_full = true;
        }
        s->spawn_rate = 1;
        return;
    }
    s->reported_scoreboard_full = false;
    if (s->spawn_rate >= BUSY_SPAWN_LOG_RATE) {
        log_message(LOG_LEVEL_INFO, "server seems busy, (you may need to increase StartServers, "
                                    "ThreadsPerChild or Min/MaxSpareThreads), spawning %d children, "
                                    "there are around %d idle threads, and %d total children",
                    count, c->idle, c->current);
        CONTROL_COUNT(s, spawn_rate_events);
    }
    control_note_decision(s, REGULATION_FORK, reason, control_start_children(s, count), c->idle);
    /* Cycles also run at once when a child exits or starts stopping; the
     * rate still grows only once per interval. */
    if (now - s->last_doubling < REGULATION_INTERVAL_MS)
        return;
    s->last_doubling = now;
    if (s->hold_off_cycles > 0)
        s->hold_off_cycles--;
    else if (s->spawn_rate < MAX_SPAWN_RATE)
        s->spawn_rate *= 2;
}

static void regulate_surplus(control_state *s, int64_t now, const census *c)
{
    s->spawn_rate = 1;
    if (s->surplus_since == 0) {
        s->surplus_since = now;
        return;
    }
    if (now - s->surplus_since < SURPLUS_HOLD_MS || c->retire_slot < 0 || c->current < 2)
        return;
    log_message(LOG_LEVEL_DEBUG, "retiring child pid %ld (slot %d, %d idle threads): %d idle threads "
                                 "> MaxSpareThreads %d",
                (long)s->children[c->retire_slot].pid, c->retire_slot, c->retire_idle, c->idle,
                s->server->max_spare_threads);
    control_quiesce_child(s, c->retire_slot, now);
    control_note_decision(s, REGULATION_RETIRE, REASON_SURPLUS, 1, c->idle);
    s->surplus_since = now;  /* the next one only after another full second of surplus */
}

/* The state the status page shows beside the decisions (?json). */
static void publish_regulation(control_state *s, const census *c)
{
    scoreboard_regulation *shown = s->board.regulation;
    atomic_store_explicit(&shown->updated_ms, realtime_ms(), memory_order_relaxed);
    atomic_store_explicit(&shown->idle, c->idle, memory_order_relaxed);
    atomic_store_explicit(&shown->min_spare, s->server->min_spare_threads, memory_order_relaxed);
    atomic_store_explicit(&shown->max_spare, s->server->max_spare_threads, memory_order_relaxed);
    atomic_store_explicit(&shown->spawn_rate, s->spawn_rate, memory_order_relaxed);
    atomic_store_explicit(&shown->children, current_children(s), memory_order_relaxed);
    atomic_store_explicit(&shown->starting, c->starting, memory_order_relaxed);
    atomic_store_explicit(&shown->stopping, c->stopping, memory_order_relaxed);
}

void control_regulate(control_state *s, int64_t now)
{
    escalate_stops(s, now);
    control_check_scoreboard(s, now);
    if (s->stopping || s->fatal)
        return;
    if (s->crash_burst_warned && !crash_throttled(s, now))
        s->crash_burst_warned = false;  /* the burst is over */

    census c;
    take_census(s, now, &c);
    if (c.successors > 0 && now >= s->fork_paused_until) {
        int started = control_start_children(s, c.successors);
        control_note_decision(s, REGULATION_FORK, REASON_SUCCESSOR, started, c.idle);
        c.free_slots -= started;
        c.current += started;
        /* Their threads are not up yet, but they will be idle soon: do not
         * fork for the same shortage twice. */
        c.idle += started * s->server->threads_per_child;
    }
    if (c.idle >= s->server->min_spare_threads && s->last_action == REGULATION_HOLD)
        s->last_action = 0;  /* the next hold is news again */
    if (c.idle < s->server->min_spare_threads) {
        regulate_shortage(s, now, &c);
    } else if (c.idle > s->server->max_spare_threads) {
        regulate_surplus(s, now, &c);
    } else {
        s->spawn_rate = 1;
        s->surplus_since = 0;
    }
    publish_regulation(s, &c);
}
