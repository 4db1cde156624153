/*
 * child.c — a child process: ThreadsPerChild threads around one epoll set
 * (see child.h for the model).
 *
 * Ownership of a connection: at any moment a connection is either run by
 * exactly one thread or parked (linked in the park list of what it waits
 * for; its socket is registered edge-triggered in epoll, see park()).  A thread that gets an event
 * claims the connection under the lock; the timer sweep claims expired ones
 * the same way.  Connections live in a fixed table of slots, and the epoll
 * data carries (slot, generation), so an event that arrives for a slot that
 * has since been closed or reused is recognised and ignored instead of
 * touching freed memory.
 */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/module.h"
#include "../http/connection.h"
#include "../os/os.h"
#include "capacity.h"
#include "control.h"
#include "dispatch.h"

#define TICK_MS 100                 /* timer sweep period: timeouts are this precise */
#define TRIM_AFTER_QUIET_MS 500     /* malloc_trim once a child has been this long without work */
#define STOP_GRACE_MS 2000          /* how long a stopping child still answers parked connections */
#define THREAD_STACK_SIZE (512 * 1024)
/* A keep-alive connection idle for less than this is likely to carry the
 * next request any moment (a load generator, a page loading its assets):
 * closing it would race with that request, so it is not evicted. */
#define EVICT_MIN_IDLE_MS 1000
#define ACCEPT_PAUSE_MS 100         /* after EMFILE and friends */
#define ACCEPT_ERROR_LOG_INTERVAL_MS 60000
#define EVICT_AFTER_SATURATED_MS 1000
#define BUDGET_MAX_CUTS 64          /* victims one reclaim may cut (RequestBufferBudget) */
#define BUDGET_LOG_INTERVAL_MS 1000

/* epoll data: (generation << 32) | index.  Indices from SPECIAL_BASE up are
 * not connections. */
#define SPECIAL_BASE 0xFFFF0000u
#define SPECIAL_TIMER (SPECIAL_BASE + 0)
#define SPECIAL_SIGNAL (SPECIAL_BASE + 1)
#define SPECIAL_WAKE (SPECIAL_BASE + 2)
#define SPECIAL_HANDOFF (SPECIAL_BASE + 3)
#define SPECIAL_MODULE (SPECIAL_BASE + 16)  /* + module index: modules' child_event_fd */
#define SPECIAL_MODULE_END (SPECIAL_BASE + 80)
#define SPECIAL_LISTEN (SPECIAL_BASE + 80)   /* + listener index */

enum { PARK_LISTS = 5 };  /* the connection_wait values before CONNECTION_CLOSE */

typedef struct connection_slot {
    connection connection;
    struct connection_slot *previous;
    struct connection_slot *next;
    uint32_t index;
    uint32_t generation;
    bool in_use;
    bool registered;       /* added to epoll since the socket was accepted */
    bool parked;
    uint32_t event_pending; /* events of edges that came while a thread ran it (0: none):
                             * run it again before parking */
    uint32_t armed_events; /* what it is registered for in epoll */
    /* The backend socket of its request (http/backend.h), registered with
     * the connection's own event data: a duplicate, so that the module may
     * close or pool its descriptor whenever it likes. */
    int backend_fd;        /* our duplicate, -1: none */
    unsigned backend_serial;
    uint32_t backend_armed;
    connection_wait waiting;
    int64_t parked_at_ms;
    int64_t deadline_ms;
} connection_slot;

typedef struct {
    connection_slot *head;
    connection_slot *tail;
} slot_list;

typedef struct {
    const child_context *context;
    const server_config *server;
    scoreboard_process *process;
    int epoll_fd;
    int timer_fd;
    int signal_fd;
    int wake_fd;

    connection_slot *slots;
    uint32_t slot_count;
    uint32_t slots_touched;   /* slots [0, slots_touched) have been used; the rest are untouched zero pages */

    pthread_mutex_t lock;     /* guards everything below */
    slot_list free_slots;
    slot_list parked[PARK_LISTS];
    uint32_t open_connections;
    uint64_t connections_accepted;
    /* Giving freed memory back once a burst is over (sweep_timeouts):
     * the activity count at the last tick, how many ticks it has not
     * moved, and whether memory was trimmed since it last moved. */
    uint64_t activity_seen;
    int quiet_ticks;
    bool trimmed;
    bool accepting;
    bool standby;             /* a sibling in a lower slot takes the new connections */
    bool listening;           /* the listening sockets are in the epoll set: accepting && !standby */
    _Atomic bool stopping;        /* written under the lock, read without it by serve() */
    int64_t stop_grace_end_ms;
    int64_t stop_deadline_ms;
    int64_t accept_error_logged_ms;   /* when "out of resources" was last logged; 0: never */
    uint64_t accept_pauses_unlogged;  /* pauses since then, reported with the next line */
    int64_t accept_paused_until_ms;
    int64_t saturated_since_ms;  /* at the connection cap since; 0 = not */

    _Atomic bool finished;

    dispatch dispatch;            /* which idle thread waits for events (dispatch.h) */

    memory_budget budget;         /* RequestBufferBudget (budget.h); cut_buffer_hogs() makes room */
    int64_t budget_logged_ms;     /* under the lock: when the last cut was logged; 0: never */
    uint64_t budget_cuts_unlogged;
    uint64_t budget_refusals_unlogged;
} child_state;

typedef struct {
    child_state *state;
    int thread_index;
    pthread_t thread;
} worker_thread;

static void list_append(slot_list *list, connection_slot *slot)
{
    slot->next = NULL;
    slot->previous = list->tail;
    if (list->tail)
        list->tail->next = slot;
    else
        list->head = slot;
    list->tail = slot;
}

static void list_remove(slot_list *list, connection_slot *slot)
{
    if (slot->previous)
        slot->previous->next = slot->next;
    else
        list->head = slot->next;
    if (slot->next)
        slot->next->previous = slot->previous;
    else
        list->tail = slot->previous;
    slot->next = slot->previous = NULL;
}

static connection_slot *list_pop(slot_list *list)
{
    connection_slot *slot = list->head;
    if (slot)
        list_remove(list, slot);
    return slot;
}

static uint64_t event_data(uint32_t index, uint32_t generation)
{
    return ((uint64_t)generation << 32) | index;
}

static void wake_all_threads(child_state *state)
{
    uint64_t one = 1;
    ssize_t ignored = write(state->wake_fd, &one, sizeof(one));
    (void)ignored;
    dispatch_wake_all(&state->dispatch);
}

/* The listening sockets are in this child's epoll set while it accepts and
 * is not on standby.  EPOLLEXCLUSIVE: of all children, the kernel wakes one
 * whose epoll set has a waiting (idle) thread.  Called with the lock held. */
static void update_listening(child_state *state)
{
    bool listening = state->accepting && !state->standby;
    if (state->listening == listening)
        return;
    for (int i = 0; i < state->context->listen_count; i++) {
        int fd = state->context->listen_fds[i];
        if (listening) {
            struct epoll_event event = { .events = EPOLLIN | EPOLLET | EPOLLEXCLUSIVE,
                                         .data.u64 = event_data(SPECIAL_LISTEN + (uint32_t)i, 0) };
            if (epoll_ctl(state->epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0)
                log_error_number(LOG_LEVEL_ERROR, errno, "child: cannot watch listening socket");
        } else {
            epoll_ctl(state->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
        }
    }
    state->listening = listening;
}

/* Whether this child takes new connections at all (not at its cap, not
 * stopping).  Called with the lock held. */
static void set_accepting(child_state *state, bool accepting)
{
    if (state->accepting == accepting)
        return;
    state->accepting = accepting;
    update_listening(state);
    if (state->process)
        atomic_store_explicit(&state->process->not_accepting, !accepting, memory_order_relaxed);
}

static uint32_t connection_cap(const child_state *state)
{
    return state->slot_count;
}

static void begin_stop(child_state *state)
{
    pthread_mutex_lock(&state->lock);
    if (state->stopping) {
        pthread_mutex_unlock(&state->lock);
        return;
    }
    state->stopping = true;
    set_accepting(state, false);
    int64_t now = monotonic_ms();
    int64_t grace = STOP_GRACE_MS;
    if (state->server->keep_alive_timeout_ms < grace)
        grace = state->server->keep_alive_timeout_ms;
    state->stop_grace_end_ms = now + grace;
    int timeout = state->server->graceful_shutdown_timeout;
    state->stop_deadline_ms = timeout > 0 ? now + (int64_t)timeout * 1000 : INT64_MAX;
    /* Parked keep-alive connections get the grace: a request that arrives
     * in it is answered with Connection: close; then they are closed. */
    for (connection_slot *slot = state->parked[CONNECTION_WAIT_REQUEST].head; slot; slot = slot->next)
        if (slot->deadline_ms > state->stop_grace_end_ms)
            slot->deadline_ms = state->stop_grace_end_ms;
    bool done = state->open_connections == 0;
    pthread_mutex_unlock(&state->lock);
    if (state->process)
        atomic_store_explicit(&state->process->quiescing, true, memory_order_relaxed);
    if (!state->context->single_process)
        control_child_stopping();  /* so the control process replaces us now, not next cycle */
    if (done) {
        state->finished = true;
        wake_all_threads(state);
    }
}

static void stop_now(child_state *state)
{
    pthread_mutex_lock(&state->lock);
    state->stopping = true;
    set_accepting(state, false);
    pthread_mutex_unlock(&state->lock);
    state->finished = true;
    wake_all_threads(state);
}

/* Stops watching the backend socket (deregistered first: the module's own
 * descriptor keeps the socket, and so its registration, alive). */
static void drop_backend(child_state *state, connection_slot *slot)
{
    if (slot->backend_fd < 0)
        return;
    epoll_ctl(state->epoll_fd, EPOLL_CTL_DEL, slot->backend_fd, NULL);
    close(slot->backend_fd);
    slot->backend_fd = -1;
    slot->backend_armed = 0;
}

/* Registers the backend socket of slot's request for what it waits, with
 * the slot's own event data: any event runs the connection, which tries
 * both sides (backend.h).  Not waiting for the backend: armed for nothing,
 * so that it raises no event.  false on failure (logged). */
static bool watch_backend(child_state *state, connection_slot *slot, connection_wait wait)
{
    connection *c = &slot->connection;
    unsigned wants;
    int64_t deadline;
    int fd = connection_backend_wait(c, &wants, &deadline);
    if (fd < 0 || c->backend_serial != slot->backend_serial) {
        drop_backend(state, slot);
        if (fd < 0)
            return true;
    }
    uint32_t wanted = EPOLLET;
    if (wait == CONNECTION_WAIT_BACKEND) {
        if (wants & CONNECTION_IO_WANTS_READ)
            wanted |= EPOLLIN | EPOLLRDHUP;
        if (wants & CONNECTION_IO_WANTS_WRITE)
            wanted |= EPOLLOUT;
    }
    int operation = EPOLL_CTL_MOD;
    if (slot->backend_fd < 0) {
        slot->backend_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (slot->backend_fd < 0) {
            log_error_number(LOG_LEVEL_ERROR, errno, "child: cannot watch a backend");
            return false;
        }
        slot->backend_serial = c->backend_serial;
        operation = EPOLL_CTL_ADD;
    } else if (slot->backend_armed == wanted) {
        return true;
    }
    struct epoll_event event = { .events = wanted, .data.u64 = event_data(slot->index, slot->generation) };
    if (epoll_ctl(state->epoll_fd, operation, slot->backend_fd, &event) < 0) {
        log_error_number(LOG_LEVEL_ERROR, errno, "child: cannot watch a backend");
        return false;
    }
    slot->backend_armed = wanted;
    return true;
}

static void close_slot(child_state *state, connection_slot *slot)
{
    connection *c = &slot->connection;
    drop_backend(state, slot);
    c->io->close(c);  /* closing the descriptor also removes it from epoll */
    connection_release(c);
    pthread_mutex_lock(&state->lock);
    slot->generation++;
    slot->in_use = false;
    slot->parked = false;
    slot->registered = false;
    list_append(&state->free_slots, slot);
    state->open_connections--;
    if (state->open_connections < connection_cap(state))
        state->saturated_since_ms = 0;
    if (!state->accepting && !state->stopping && state->open_connections < connection_cap(state) &&
        monotonic_ms() >= state->accept_paused_until_ms)
        set_accepting(state, true);
    bool done = state->stopping && state->open_connections == 0;
    pthread_mutex_unlock(&state->lock);
    if (state->process)
        atomic_fetch_sub_explicit(&state->process->connections, 1, memory_order_relaxed);
    if (done) {
        state->finished = true;
        wake_all_threads(state);
    }
}

static int64_t park_timeout_ms(const child_state *state, const connection_slot *slot, connection_wait wait)
{
    switch (wait) {
    case CONNECTION_WAIT_REQUEST:
        return state->server->keep_alive_timeout_ms;
    case CONNECTION_WAIT_LINGER:
        return 2000;
    case CONNECTION_WAIT_BACKEND: {
        unsigned wants;
        int64_t deadline;
        connection_backend_wait(&slot->connection, &wants, &deadline);
        int64_t timeout = (int64_t)state->server->timeout * 1000;
        int64_t now = monotonic_ms();
        return deadline < now + timeout ? (deadline > now ? deadline - now : 0) : timeout;
    }
    default:
        return (int64_t)state->server->timeout * 1000;
    }
}

/* What an event says about the peer: its end of stream (or an error) is
 * queued, and a short read does not consume it (connection.h). */
#define PEER_CLOSED_EVENTS (EPOLLRDHUP | EPOLLHUP | EPOLLERR)

/* Parks slot until its socket is ready for `wait`.  Returns false when an
 * event already arrived while we owned it: the caller keeps the connection
 * and runs it again.
 *
 * A connection is registered once, edge-triggered, for input; only a write
 * that would block switches it to output (and back afterwards).  So the
 * usual keep-alive request costs no epoll_ctl at all.  No edge is lost:
 *  - connection_run returns a wait for input only when its socket is not
 *    read_ready (connection.h: its last read said EAGAIN or was short), so
 *    every byte still to come arrives later and raises an edge;
 *  - an edge that arrives while a thread runs the connection sets
 *    event_pending, which this function turns into "run again" with
 *    read_ready set;
 *  - EPOLL_CTL_ADD and EPOLL_CTL_MOD poll the socket once more and report
 *    what is queued already (ep_insert/ep_modify in fs/eventpoll.c): so
 *    input that came before the registration (a fresh connection parked
 *    unread by on_listen_event, or served first and registered only now)
 *    or while it was armed for EPOLLOUT only is reported as it becomes
 *    EPOLLIN.
 * EPOLLRDHUP is asked for as nginx does: an end of stream reported with the
 * last data keeps read_ready set through short reads until a read sees it. */
static bool park(child_state *state, connection_slot *slot, connection_wait wait)
{
    int64_t now = monotonic_ms();
    int64_t deadline = now + park_timeout_ms(state, slot, wait);
    if (wait == CONNECTION_WAIT_READ) {
        int64_t read_deadline = connection_read_deadline_ms(&slot->connection);
        if (read_deadline < deadline)
            deadline = read_deadline;
    }
    if (wait == CONNECTION_WAIT_REQUEST)
        connection_idle(&slot->connection);
    slot->waiting = wait;
    slot->parked_at_ms = now;

    uint32_t wanted = (wait == CONNECTION_WAIT_WRITE ? EPOLLOUT : EPOLLIN | EPOLLRDHUP) | EPOLLET;
    /* An I/O layer (TLS) may need the other direction to make progress:
     * a handshake that reads must first send its flight. */
    if (slot->connection.io_wants & CONNECTION_IO_WANTS_WRITE)
        wanted |= EPOLLOUT;
    if (slot->connection.io_wants & CONNECTION_IO_WANTS_READ)
        wanted |= EPOLLIN | EPOLLRDHUP;
    if (!slot->registered || slot->armed_events != wanted) {
        struct epoll_event event = { .events = wanted, .data.u64 = event_data(slot->index, slot->generation) };
        int operation = slot->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(state->epoll_fd, operation, slot->connection.fd, &event) < 0) {
            log_error_number(LOG_LEVEL_ERROR, errno, "child: cannot park a connection");
            close_slot(state, slot);
            return true;
        }
        slot->registered = true;
        slot->armed_events = wanted;
    }
    if ((wait == CONNECTION_WAIT_BACKEND || slot->backend_fd >= 0) && !watch_backend(state, slot, wait)) {
        close_slot(state, slot);
        return true;
    }

    pthread_mutex_lock(&state->lock);
    uint32_t pending = slot->event_pending;
    if (pending) {
        slot->event_pending = 0;
        pthread_mutex_unlock(&state->lock);
        connection_input_ready(&slot->connection, pending & PEER_CLOSED_EVENTS);
        return false;
    }
    if (state->stopping && wait == CONNECTION_WAIT_REQUEST && deadline > state->stop_grace_end_ms)
        deadline = state->stop_grace_end_ms;
    slot->deadline_ms = deadline;
    slot->parked = true;
    list_append(&state->parked[wait], slot);
    pthread_mutex_unlock(&state->lock);
    if (state->process && wait == CONNECTION_WAIT_REQUEST)
        atomic_fetch_add_explicit(&state->process->parked, 1, memory_order_relaxed);
    return true;
}

static void serve(child_state *state, connection_slot *slot, connection_worker *worker)
{
    for (;;) {
        /* Draining (scoreboard.h): answer with Connection: close, as when stopping. */
        worker->stopping = state->stopping ||
                           (state->context->board && scoreboard_draining(state->context->board->header));
        connection_wait wait = connection_run(&slot->connection, worker);
        if (wait == CONNECTION_CLOSE) {
            if (worker->score)
                scoreboard_set_status(worker->score, THREAD_CLOSING);
            close_slot(state, slot);
            return;
        }
        if (park(state, slot, wait))
            return;
    }
}

/* Takes a parked slot out of its list.  Called with the lock held. */
static void unpark(child_state *state, connection_slot *slot)
{
    list_remove(&state->parked[slot->waiting], slot);
    slot->parked = false;
    if (state->process && slot->waiting == CONNECTION_WAIT_REQUEST)
        atomic_fetch_sub_explicit(&state->process->parked, 1, memory_order_relaxed);
}

static void on_connection_event(child_state *state, uint32_t index, uint32_t generation, uint32_t events,
                                connection_worker *worker)
{
    if (index >= state->slot_count)
        return;
    connection_slot *slot = &state->slots[index];
    pthread_mutex_lock(&state->lock);
    if (!slot->in_use || slot->generation != generation) {
        pthread_mutex_unlock(&state->lock);
        return;  /* stale: the slot was closed or reused since */
    }
    if (!slot->parked) {
        slot->event_pending |= events;  /* its owner is arming it and will run it */
        pthread_mutex_unlock(&state->lock);
        return;
    }
    unpark(state, slot);
    pthread_mutex_unlock(&state->lock);
    /* Any event makes the socket worth a read: an input event says so, and
     * an output event ends a wait during which the registration was
     * EPOLLOUT only, so input that came meanwhile raised no edge.  (Going
     * back to EPOLLIN would report it too, see park(), but one read when
     * the response is done is cheaper than an extra wake-up.) */
    connection_input_ready(&slot->connection, events & PEER_CLOSED_EVENTS);
    serve(state, slot, worker);
}

/* A saturated child first stops accepting: the control process then counts
 * none of its threads as idle and forks siblings (within a regulation
 * cycle), which take the new connections.  Only if that does not relieve
 * it within EVICT_AFTER_SATURATED_MS (MaxClients reached) does it close its
 * oldest idle keep-alive connection for each new one.  Called with the lock
 * held. */
static bool may_evict(const child_state *state, int64_t now)
{
    const connection_slot *oldest = state->parked[CONNECTION_WAIT_REQUEST].head;
    return state->saturated_since_ms && now - state->saturated_since_ms >= EVICT_AFTER_SATURATED_MS &&
           oldest && oldest->parked_at_ms <= now - EVICT_MIN_IDLE_MS;
}

/* Prepares slot `index` for its first connection: slots are set up when
 * first needed, not at start.  Called with the lock held. */
static connection_slot *first_use(child_state *state, uint32_t index)
{
    connection_slot *slot = &state->slots[index];
    slot->index = index;
    slot->connection.fd = -1;
    slot->connection.body_file = -1;
    slot->backend_fd = -1;
    return slot;
}

/* Takes a free slot for one more connection (counted at once, so that
 * threads accepting in parallel cannot overshoot the cap), evicting an idle
 * keep-alive connection if the child is full.  NULL when this child should
 * not accept now. */
static connection_slot *reserve_slot(child_state *state)
{
    connection_slot *evicted = NULL;
    pthread_mutex_lock(&state->lock);
    if (!state->accepting || state->stopping) {
        pthread_mutex_unlock(&state->lock);
        return NULL;
    }
    if (state->open_connections >= connection_cap(state)) {
        /* Saturated: an idle keep-alive connection is the cheapest thing to
         * give up (its client reconnects); only when there is none do we
         * stop accepting and leave new connections to our siblings. */
        int64_t now = monotonic_ms();
        if (!state->saturated_since_ms)
            state->saturated_since_ms = now;
        if (may_evict(state, now)) {
            evicted = state->parked[CONNECTION_WAIT_REQUEST].head;
            unpark(state, evicted);
            evicted->generation++;
        } else {
            set_accepting(state, false);
            pthread_mutex_unlock(&state->lock);
            return NULL;
        }
    }
    pthread_mutex_unlock(&state->lock);
    if (evicted)
        close_slot(state, evicted);

    pthread_mutex_lock(&state->lock);
    connection_slot *slot = NULL;
    if (state->open_connections < connection_cap(state) && !state->stopping) {
        slot = list_pop(&state->free_slots);
        if (!slot)  /* below the cap, so an untouched slot is left */
            slot = first_use(state, state->slots_touched++);
        state->open_connections++;
        slot->in_use = true;
        slot->parked = false;
        slot->registered = false;
        slot->event_pending = 0;
        slot->armed_events = 0;
    }
    pthread_mutex_unlock(&state->lock);
    return slot;
}

/* Gives back a reserved slot whose accept() found nothing. */
static void unreserve_slot(child_state *state, connection_slot *slot)
{
    pthread_mutex_lock(&state->lock);
    slot->in_use = false;
    list_append(&state->free_slots, slot);
    state->open_connections--;
    bool done = state->stopping && state->open_connections == 0;
    pthread_mutex_unlock(&state->lock);
    if (done) {
        state->finished = true;
        wake_all_threads(state);
    }
}

/* Accepts one connection into a slot.  NULL when there is none to take
 * (EAGAIN), when the child is saturated or stopping, or on errors. */
static connection_slot *accept_one(child_state *state, int listen_index, connection_worker *worker)
{
    int listen_fd = state->context->listen_fds[listen_index];
    connection_slot *slot = reserve_slot(state);
    if (!slot)
        return NULL;
    struct sockaddr_storage peer;
    socklen_t peer_length = sizeof(peer);
    int fd = accept4(listen_fd, (struct sockaddr *)&peer, &peer_length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        int error = errno;
        unreserve_slot(state, slot);
        if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
            /* Out of descriptors or memory: pause accepting (the sweep
             * resumes it) instead of spinning on a ready listening socket.
             * Logged at most once a minute: a child that stays short of
             * descriptors would otherwise write a line every pause, and a
             * descriptor freed for a moment must not restart the flood. */
            int64_t now = monotonic_ms();
            pthread_mutex_lock(&state->lock);
            bool log_now = state->accept_error_logged_ms == 0 ||
                           now - state->accept_error_logged_ms >= ACCEPT_ERROR_LOG_INTERVAL_MS;
            uint64_t unlogged = state->accept_pauses_unlogged;
            if (log_now) {
                state->accept_error_logged_ms = now;
                state->accept_pauses_unlogged = 0;
            } else {
                state->accept_pauses_unlogged++;
            }
            state->accept_paused_until_ms = now + ACCEPT_PAUSE_MS;
            set_accepting(state, false);
            pthread_mutex_unlock(&state->lock);
            if (log_now) {
                char since[64] = "";
                if (unlogged)
                    snprintf(since, sizeof(since), " (%llu pauses since the last report)",
                             (unsigned long long)unlogged);
                log_error_number(LOG_LEVEL_ERROR, error, "accept: out of resources, pausing for %d ms%s",
                                 ACCEPT_PAUSE_MS, since);
            }
        }
        return NULL;  /* EAGAIN: the backlog is empty; others: that client left */
    }
    /* TCP_NODELAY and buffer sizes come from the listening socket (listen.c). */
    pthread_mutex_lock(&state->lock);
    state->connections_accepted++;
    int limit = state->server->max_connections_per_child;
    bool recycle = limit > 0 && state->connections_accepted >= (uint64_t)limit;
    pthread_mutex_unlock(&state->lock);

    if (state->process)
        atomic_fetch_add_explicit(&state->process->connections, 1, memory_order_relaxed);
    if (worker->score)
        atomic_fetch_add_explicit(&worker->score->connection_count, 1, memory_order_relaxed);
    connection_init(&slot->connection, fd, state->server, &peer);
    slot->connection.budget = &state->budget;
    slot->connection.listen_index = listen_index;
    if (connection_open_modules(&slot->connection) != WEFT_OK) {
        close_slot(state, slot);
        return NULL;
    }
    if (recycle) {
        log_message(LOG_LEVEL_INFO, "child reached MaxConnectionsPerChild (%d): recycling", limit);
        begin_stop(state);
    }
    return slot;
}

/* RequestBufferBudget is exhausted (budget.h): cuts the parked connections
 * that hold the most buffered bytes for the longest (bytes x age) until
 * `wanted` bytes are free.  A running connection is never a candidate, so
 * the one asking is not what pays for its request.  One pass keeps the
 * best candidates in a short list sorted by score, so the lock is held
 * for one walk of the parked lists. */
static size_t cut_buffer_hogs(void *context, size_t wanted)
{
    child_state *state = context;
    connection_slot *candidates[BUDGET_MAX_CUTS];
    double scores[BUDGET_MAX_CUTS];
    int count = 0;
    int64_t now = monotonic_ms();
    pthread_mutex_lock(&state->lock);
    for (int kind = 0; kind < PARK_LISTS; kind++) {
        for (connection_slot *slot = state->parked[kind].head; slot; slot = slot->next) {
            const connection *c = &slot->connection;
            if (!c->input_charged)
                continue;
            double score = (double)c->input_charged * (double)(now - c->input_charged_ms + 1);
            if (count == BUDGET_MAX_CUTS && score <= scores[count - 1])
                continue;
            int at = count < BUDGET_MAX_CUTS ? count++ : count - 1;
            while (at > 0 && scores[at - 1] < score) {
                candidates[at] = candidates[at - 1];
                scores[at] = scores[at - 1];
                at--;
            }
            candidates[at] = slot;
            scores[at] = score;
        }
    }
    size_t freed = 0;
    int cut = 0;
    slot_list victims = { NULL, NULL };
    while (cut < count && freed < wanted) {
        connection_slot *slot = candidates[cut++];
        unpark(state, slot);
        slot->generation++;  /* an event already queued for it is stale now */
        freed += slot->connection.input_charged;
        list_append(&victims, slot);
    }
    state->budget_cuts_unlogged += (uint64_t)cut;
    if (cut == 0)
        state->budget_refusals_unlogged++;
    bool log_now = now - state->budget_logged_ms >= BUDGET_LOG_INTERVAL_MS;
    uint64_t cuts = state->budget_cuts_unlogged, refusals = state->budget_refusals_unlogged;
    if (log_now) {
        state->budget_logged_ms = now;
        state->budget_cuts_unlogged = state->budget_refusals_unlogged = 0;
    }
    pthread_mutex_unlock(&state->lock);
    connection_slot *slot;
    while ((slot = list_pop(&victims)))
        close_slot(state, slot);
    if (log_now)
        log_message(LOG_LEVEL_WARN,
                    "child: RequestBufferBudget (%lld bytes) exhausted: cut %llu connection(s) holding the "
                    "most buffered request bytes for the longest, found nothing to cut %llu time(s), "
                    "since the last report",
                    (long long)state->budget.limit, (unsigned long long)cuts, (unsigned long long)refusals);
    return freed;
}

/* The listening socket is edge-triggered, so we take every pending
 * connection (until EAGAIN, the connection cap or a stop): a connection left
 * behind would get no further event.  This thread serves the first one and
 * queues the others in its own batch (dispatch.h), which hands them to a
 * sibling if it blocks; only when the batch is full are they parked for
 * whichever thread of this child polls next. */
static void on_listen_event(child_state *state, int listen_index, connection_worker *worker,
                            dispatch_thread *thread)
{
    connection_slot *first = NULL;
    connection_slot *slot;
    while ((slot = accept_one(state, listen_index, worker))) {
        if (!first) {
            first = slot;
            continue;
        }
        /* A new connection's request has usually arrived with it: it joins
         * this thread's batch and is served without the epoll_ctl a parked
         * connection costs (one that sends a single request never needs
         * one).  Parked only when the batch is full. */
        if (dispatch_defer(thread, event_data(slot->index, slot->generation)))
            continue;
        /* Parked unread: registering it (EPOLL_CTL_ADD) reports a request
         * that is already queued, see park(). */
        if (!park(state, slot, CONNECTION_WAIT_READ))
            serve(state, slot, worker);
    }
    if (first)
        serve(state, first, worker);
}

/* Re-arms the timer or the signalfd (EPOLLONESHOT: one thread handles each
 * tick or signal).  A child that can no longer see its timer or its signals
 * would hold connections past every timeout and ignore the control process,
 * so on failure it marks itself stopping in the scoreboard, which gets it a
 * successor at once, and closes everything. */
static void rearm_special(child_state *state, int fd, uint32_t index, const char *what)
{
    struct epoll_event event = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = event_data(index, 0) };
    if (epoll_ctl(state->epoll_fd, EPOLL_CTL_MOD, fd, &event) == 0)
        return;
    log_error_number(LOG_LEVEL_ERROR, errno, "child: cannot re-arm its %s, stopping to be replaced", what);
    if (state->process)
        atomic_store_explicit(&state->process->quiescing, true, memory_order_relaxed);
    if (!state->context->single_process)
        control_child_stopping();
    stop_now(state);
}

/* Requests served and connections accepted by this child so far. */
static uint64_t child_activity(const child_state *state)
{
    uint64_t total = state->connections_accepted;
    const child_context *context = state->context;
    if (context->board)
        for (int i = 0; i < state->server->threads_per_child; i++)
            total += atomic_load_explicit(&scoreboard_thread_at(context->board, context->slot, i)->access_count,
                                          memory_order_relaxed);
    return total;
}

/* A burst of connections leaves freed memory in every worker thread's
 * malloc arena (a TLS handshake alone allocates and frees tens of
 * kilobytes); glibc keeps it.  Once the child has served nothing for
 * half a second, hand it back to the kernel, once per burst: idle keep-alive
 * connections then cost what they hold, not what their handshakes used.
 * Decided with the lock held; the trim itself runs after it is released. */
static bool time_to_trim(child_state *state)
{
    uint64_t activity = child_activity(state);
    if (activity != state->activity_seen) {
        state->activity_seen = activity;
        state->quiet_ticks = 0;
        state->trimmed = false;
        return false;
    }
    if (state->trimmed || ++state->quiet_ticks < TRIM_AFTER_QUIET_MS / TICK_MS)
        return false;
    state->trimmed = true;
    return true;
}

static void sweep_timeouts(child_state *state)
{
    uint64_t expirations;
    ssize_t ignored = read(state->timer_fd, &expirations, sizeof(expirations));
    (void)ignored;
    int64_t now = monotonic_ms();
    slot_list expired = { NULL, NULL };
    pthread_mutex_lock(&state->lock);
    bool force = state->stopping && now >= state->stop_deadline_ms;
    bool trim = time_to_trim(state);
    /* At the connection cap we stopped accepting; once a keep-alive
     * connection has been idle long enough to be evicted, listen again so
     * that a waiting client can take its place. */
    if (!state->accepting && !state->stopping && now >= state->accept_paused_until_ms &&
        (may_evict(state, now) || state->open_connections < connection_cap(state)))
        set_accepting(state, true);
    /* Keep-alive waits share one timeout, so that list is ordered by
     * deadline; the others carry per-connection deadlines (the request
     * read timeout grows with the data received) and are scanned whole. */
    slot_list *keep_alive = &state->parked[CONNECTION_WAIT_REQUEST];
    while (keep_alive->head && (force || keep_alive->head->deadline_ms <= now)) {
        connection_slot *slot = keep_alive->head;
        unpark(state, slot);
        slot->generation++;
        list_append(&expired, slot);
    }
    for (int kind = 0; kind < PARK_LISTS; kind++) {
        if (kind == CONNECTION_WAIT_REQUEST)
            continue;
        connection_slot *slot = state->parked[kind].head;
        while (slot) {
            connection_slot *next = slot->next;
            if (force || slot->deadline_ms <= now) {
                unpark(state, slot);
                slot->generation++;
                list_append(&expired, slot);
            }
            slot = next;
        }
    }
    pthread_mutex_unlock(&state->lock);
    if (trim)
        malloc_trim(0);
    connection_slot *slot;
    connection_worker worker = { .score = NULL, .stopping = true };
    while ((slot = list_pop(&expired))) {
        if ((slot->waiting == CONNECTION_WAIT_READ || slot->waiting == CONNECTION_WAIT_BACKEND) && !force)
            connection_expire(&slot->connection, &worker);
        close_slot(state, slot);
    }
    if (force) {
        log_message(LOG_LEVEL_WARN, "child: GracefulShutdownTimeout reached, closing remaining connections");
        state->finished = true;
        wake_all_threads(state);
    }
    rearm_special(state, state->timer_fd, SPECIAL_TIMER, "timer");
}

static void on_signal(child_state *state)
{
    struct signalfd_siginfo info;
    while (read(state->signal_fd, &info, sizeof(info)) == (ssize_t)sizeof(info)) {
        if (info.ssi_signo == SIGUSR1 || info.ssi_signo == SIGWINCH)
            begin_stop(state);
        else if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT || info.ssi_signo == SIGHUP)
            stop_now(state);
    }
    rearm_special(state, state->signal_fd, SPECIAL_SIGNAL, "signal descriptor");
}

/* A worker thread takes the next event its child's dispatch gives it
 * (dispatch.h: its own batch, handed-off events, or epoll_wait as a poller)
 * and handles it to the end: it serves a connection until it parks or
 * closes. */
static void *worker_main(void *argument)
{
    worker_thread *self = argument;
    child_state *state = self->state;
    const child_context *context = state->context;
    connection_worker worker = { .score = NULL, .stopping = false };
    if (context->board) {
        worker.score = scoreboard_thread_at(context->board, context->slot, self->thread_index);
        atomic_store_explicit(&worker.score->pid, getpid(), memory_order_relaxed);
        atomic_store_explicit(&worker.score->generation, context->generation, memory_order_relaxed);
    }
    dispatch_thread *thread = dispatch_thread_start(&state->dispatch, self->thread_index, worker.score);
    struct epoll_event event;
    while (!state->finished && dispatch_next(thread, &event)) {
        uint32_t index = (uint32_t)event.data.u64;
        uint32_t generation = (uint32_t)(event.data.u64 >> 32);
        if (index < SPECIAL_BASE && event.events == DISPATCH_DEFERRED)
            serve(state, &state->slots[index], &worker);  /* accepted by on_listen_event */
        else if (index < SPECIAL_BASE)
            on_connection_event(state, index, generation, event.events, &worker);
        else if (index >= SPECIAL_LISTEN)
            on_listen_event(state, (int)(index - SPECIAL_LISTEN), &worker, thread);
        else if (index >= SPECIAL_MODULE && index < SPECIAL_MODULE_END)
            weft_modules[index - SPECIAL_MODULE]->child_event();
        else if (index == SPECIAL_TIMER)
            sweep_timeouts(state);
        else if (index == SPECIAL_SIGNAL)
            on_signal(state);
        /* SPECIAL_WAKE: level-triggered and never read, so it wakes every
         * thread once finished is set. */
    }
    dispatch_thread_stop(thread);
    if (worker.score)
        scoreboard_set_status(worker.score, THREAD_DEAD);
    connection_thread_exit();
    return NULL;
}

static int add_special(child_state *state, int fd, uint32_t index, uint32_t events)
{
    struct epoll_event event = { .events = events, .data.u64 = event_data(index, 0) };
    return epoll_ctl(state->epoll_fd, EPOLL_CTL_ADD, fd, &event);
}

/* Sharing the CPUs with sibling children (docs/mpm.md, "Threads inside a
 * child").  Asked by the dispatch watchdog every DISPATCH_SHARE_MS.
 *
 * Standby: a child takes new connections only while every current child in
 * a lower slot is saturated (at its connection cap, or without an idle
 * thread).  So the load goes to as few children as it needs, and several
 * children on few CPUs cost what one does: the others hold no connection
 * and their threads sleep.  A standby child still counts its idle threads
 * for regulation (its not_accepting stays false): it is capacity, one tick
 * away.
 *
 * Returns the children that are serving now (this one and the siblings
 * with a busy thread): this child polls with its share of the CPUs. */
static int share_cpus_with_siblings(void *argument)
{
    child_state *state = argument;
    const scoreboard *board = state->context->board;
    if (!board || state->context->single_process)
        return 1;
    bool lower_saturated = true;
    int serving = 1;
    for (int slot = 0; slot < state->server->server_limit; slot++) {
        scoreboard_process *record = scoreboard_process_at(board, slot);
        if (slot == state->context->slot || atomic_load_explicit(&record->pid, memory_order_relaxed) == 0 ||
            atomic_load_explicit(&record->quiescing, memory_order_relaxed) ||
            atomic_load_explicit(&record->generation, memory_order_relaxed) != state->context->generation)
            continue;
        int idle, busy;
        scoreboard_count_process(board, slot, state->server->threads_per_child, &idle, &busy);
        if (slot < state->context->slot && idle > 0 &&
            !atomic_load_explicit(&record->not_accepting, memory_order_relaxed))
            lower_saturated = false;
        if (busy > 0)
            serving++;
    }
    pthread_mutex_lock(&state->lock);
    state->standby = !lower_saturated;
    update_listening(state);
    pthread_mutex_unlock(&state->lock);
    return serving;
}

static int setup(child_state *state, sigset_t *signals)
{
    state->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    state->signal_fd = signalfd(-1, signals, SFD_NONBLOCK | SFD_CLOEXEC);
    state->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    state->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (state->epoll_fd < 0 || state->signal_fd < 0 || state->wake_fd < 0 || state->timer_fd < 0)
        return WEFT_ERROR;
    struct itimerspec tick = { .it_interval = { 0, TICK_MS * 1000000L }, .it_value = { 0, TICK_MS * 1000000L } };
    if (timerfd_settime(state->timer_fd, 0, &tick, NULL) < 0)
        return WEFT_ERROR;
    if (add_special(state, state->timer_fd, SPECIAL_TIMER, EPOLLIN | EPOLLONESHOT) < 0 ||
        add_special(state, state->signal_fd, SPECIAL_SIGNAL, EPOLLIN | EPOLLONESHOT) < 0 ||
        add_special(state, state->wake_fd, SPECIAL_WAKE, EPOLLIN) < 0)
        return WEFT_ERROR;

    /* Both factors are reconciled (capacity.h: at most ThreadLimit and
     * MPM_MAX_CONNECTIONS_PER_THREAD), so the product fits; it is formed in
     * 64 bits and clamped anyway, never wrapped. */
    const server_config *server = state->server;
    uint64_t threads = server->threads_per_child > 0 ? (uint64_t)server->threads_per_child : 1;
    uint64_t per_thread = server->connections_per_thread > 0 ? (uint64_t)server->connections_per_thread : 1;
    uint64_t slots = threads * per_thread;
    uint64_t most = (uint64_t)MPM_HARD_THREAD_LIMIT * MPM_MAX_CONNECTIONS_PER_THREAD;
    state->slot_count = (uint32_t)(slots < most ? slots : most);
    /* Untouched zero pages: a slot costs memory only from its first use
     * (first_use), so an idle child with a large connection cap stays small. */
    state->slots = xcalloc_untouched(state->slot_count, sizeof(connection_slot));
    for (int i = 0; weft_modules[i]; i++)
        if (weft_modules[i]->child_init)
            weft_modules[i]->child_init(state->server);
    /* Modules' own descriptors (the file cache's inotify instance).  Their
     * events go first in a batch: a change must be seen before requests
     * that arrived after it. */
    for (int i = 0; weft_modules[i]; i++) {
        const module *m = weft_modules[i];
        if (!m->child_event_fd || !m->child_event)
            continue;
        int fd = m->child_event_fd(state->server);
        if (fd < 0)
            continue;
        if (SPECIAL_MODULE + (uint32_t)i >= SPECIAL_MODULE_END ||
            add_special(state, fd, SPECIAL_MODULE + (uint32_t)i, EPOLLIN | EPOLLET) < 0)
            log_error_number(LOG_LEVEL_WARN, errno, "child: cannot watch module %s's events", m->name);
    }
    /* The hand-off queue's keys: a slot index per connection, and the
     * child's own descriptors (timer, signals, modules, listeners). */
    if (dispatch_init(&state->dispatch, state->epoll_fd, event_data(SPECIAL_HANDOFF, 0),
                      state->server->threads_per_child, state->slot_count, SPECIAL_BASE,
                      SPECIAL_LISTEN - SPECIAL_BASE + (uint32_t)state->context->listen_count,
                      &state->finished) != WEFT_OK)
        return WEFT_ERROR;
    dispatch_set_sharing(&state->dispatch, share_cpus_with_siblings, state);
    dispatch_set_urgent(&state->dispatch, event_data(SPECIAL_MODULE, 0), event_data(SPECIAL_MODULE_END, 0));
    pthread_mutex_lock(&state->lock);
    set_accepting(state, true);
    pthread_mutex_unlock(&state->lock);
    return WEFT_OK;
}

static void teardown(child_state *state)
{
    dispatch_destroy(&state->dispatch);  /* first: its watchdog looks at the epoll set */
    for (uint32_t i = 0; i < state->slots_touched; i++) {
        connection_slot *slot = &state->slots[i];
        drop_backend(state, slot);
        if (slot->in_use) {
            slot->connection.io->close(&slot->connection);
            connection_release(&slot->connection);
        }
        buffer_free(&slot->connection.input);
        buffer_free(&slot->connection.output);
        pool_destroy(slot->connection.request_pool);
    }
    free_untouched(state->slots, state->slot_count, sizeof(connection_slot));
    close(state->epoll_fd);
    close(state->signal_fd);
    close(state->wake_fd);
    close(state->timer_fd);
    pthread_mutex_destroy(&state->lock);
}

int child_main(const child_context *context)
{
    const server_config *server = context->server;
    if (!context->single_process && os_drop_privileges(server) != WEFT_OK)
        return CHILD_EXIT_FATAL;

    /* Signals arrive through a signalfd in the epoll set, so they must be
     * blocked in every thread: block them before any thread exists. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    sigaddset(&signals, SIGUSR1);
    sigaddset(&signals, SIGWINCH);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    child_state state;
    memset(&state, 0, sizeof(state));
    state.context = context;
    state.server = server;
    state.stop_deadline_ms = INT64_MAX;
    pthread_mutex_init(&state.lock, NULL);
    budget_init(&state.budget, server->request_buffer_budget, cut_buffer_hogs, &state);
    if (context->board) {
        state.process = scoreboard_process_at(context->board, context->slot);
        atomic_store_explicit(&state.process->connections, 0, memory_order_relaxed);
        atomic_store_explicit(&state.process->parked, 0, memory_order_relaxed);
        for (int i = 0; i < server->threads_per_child; i++)
            scoreboard_set_status(scoreboard_thread_at(context->board, context->slot, i), THREAD_STARTING);
    }
    if (setup(&state, &signals) != WEFT_OK) {
        log_error_number(LOG_LEVEL_ERROR, errno, "child: cannot set up its event loop");
        return CHILD_EXIT_SICK;
    }

    int thread_count = server->threads_per_child;
    worker_thread *threads = xcalloc((size_t)thread_count, sizeof(worker_thread));
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, THREAD_STACK_SIZE);
    int started = 0;
    for (int i = 0; i < thread_count; i++) {
        threads[i].state = &state;
        threads[i].thread_index = i;
        int rc = pthread_create(&threads[i].thread, &attributes, worker_main, &threads[i]);
        if (rc != 0) {
            log_error_number(LOG_LEVEL_ERROR, rc, "child: could only start %d of %d threads", started, thread_count);
            if (context->board)
                for (int j = i; j < thread_count; j++)
                    scoreboard_set_status(scoreboard_thread_at(context->board, context->slot, j), THREAD_DEAD);
            break;
        }
        started++;
    }
    pthread_attr_destroy(&attributes);
    if (started == 0) {
        teardown(&state);
        free(threads);
        return CHILD_EXIT_SICK;
    }
    if (state.process)
        atomic_store_explicit(&state.process->started_ms, realtime_ms(), memory_order_relaxed);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i].thread, NULL);
    free(threads);
    teardown(&state);
    return started < thread_count ? CHILD_EXIT_SICK : CHILD_EXIT_OK;
}
