/*
 * control.c — the control process: startup, the signal loop, restarts,
 * stopping and -X.  The work on children (forking, reaping, regulation) is
 * in maintenance.c, the -k commands in control_command.c.
 *
 * Startup order: the error log is opened (but stderr stays the log until
 * every startup step that can fail has passed, so those failures are seen
 * on the terminal), access logs, listening sockets, scoreboard; then detach
 * (unless -D FOREGROUND or -X), switch to the error log, write the PidFile,
 * fork StartServers children.  The detached server tells the `weft` command
 * that started it when the first child is up (or why it failed), so the
 * command returns only when the server answers.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/module.h"
#include "../core/piped_log.h"
#include "../os/os.h"
#include "../os/sd_notify.h"
#include "child.h"
#include "control.h"
#include "control_internal.h"
#include "listen.h"
#include "upgrade.h"
#include "../os/socket_passing.h"

#define READY_TIMEOUT_MS 10000  /* report "started" even if no child is fully up by then */

scoreboard *weft_scoreboard;

/* Inherited by the children through fork; -1 in -X and before startup. */
static int control_wake_fd = -1;

void control_child_stopping(void)
{
    if (control_wake_fd < 0)
        return;
    uint64_t one = 1;
    ssize_t ignored = write(control_wake_fd, &one, sizeof one);  /* EAGAIN: already pending */
    (void)ignored;
}

void control_notice(const char *format, ...)
{
    char text[LOG_LINE_MAX];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    int saved = log_threshold;
    if (log_threshold < LOG_LEVEL_NOTICE)
        log_threshold = LOG_LEVEL_NOTICE;  /* the control process is single-threaded */
    log_message(LOG_LEVEL_NOTICE, "%s", text);
    log_threshold = saved;
}

static bool is_special_log(const char *path)
{
    return strcmp(path, "/dev/stderr") == 0 || strcmp(path, "/dev/stdout") == 0;
}

/* A startup failure: into the log, and to whoever started us — the
 * terminal, or the original process waiting on the readiness pipe. */
PRINTF_LIKE(2, 3)
static void startup_failed(control_state *s, const char *format, ...)
{
    char text[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    /* With ErrorLog /dev/stderr the log line already is on the terminal. */
    bool on_terminal = false;
    if (log_current_fd() != STDERR_FILENO) {
        log_message(LOG_LEVEL_EMERG, "%s", text);
        on_terminal = s->server->error_log && is_special_log(s->server->error_log);
    }
    if (s->ready_fd >= 0) {
        char message[1100] = "";
        if (!on_terminal)  /* else the waiting command needs only the verdict */
            snprintf(message, sizeof message, "weft: %s", text);
        os_daemon_ready(s->ready_fd, message);
        s->ready_fd = -1;
    } else if (!s->detached && !on_terminal) {
        fprintf(stderr, "weft: %s\n", text);
    }
}

/* A file, /dev/stderr, syslog[:facility] or "|program" (log.h). */
static int open_error_log(const server_config *server, log_target *target, char *error, size_t size)
{
    return log_target_open(server->error_log ? server->error_log : "/dev/stderr", target, error, size);
}

/* Makes target the error log; a detached server also points its stderr at
 * a log file, so that anything written to stderr (sanitizer reports,
 * library warnings) lands in the log instead of /dev/null. */
static void use_error_log(control_state *s, log_target *target, const server_config *server)
{
    int fd = target->fd;
    log_target_use(target, server->log_level);
    if (s->detached && fd >= 0 && server->error_log && !is_special_log(server->error_log))
        dup2(fd, STDERR_FILENO);
}

static int write_pid_file(control_state *s, const char *path)
{
    bool stale = false;
    if (os_pid_file_write(path, getpid(), &stale) != WEFT_OK) {
        startup_failed(s, "could not create pid file %s: %s", path, strerror(errno));
        return WEFT_ERROR;
    }
    if (stale)
        log_message(LOG_LEVEL_WARN, "pid file %s overwritten -- Unclean shutdown of previous weft run?",
                    path);
    free(s->pid_file);
    s->pid_file = xstrdup(path);
    return WEFT_OK;
}

static void remove_pid_file(control_state *s)
{
    if (s->pid_file)
        os_pid_file_remove(s->pid_file);
    free(s->pid_file);
    s->pid_file = NULL;
}

/* The private header first, then the mapping gets a copy of it. */
static void stamp_generation(control_state *s)
{
    scoreboard_header *own = &s->header;
    atomic_store_explicit(&own->running_generation, s->generation, memory_order_relaxed);
    atomic_store_explicit(&own->config_generation, s->config_generation, memory_order_relaxed);
    atomic_store_explicit(&own->restart_time_ms, realtime_ms(), memory_order_relaxed);
    scoreboard_check_header(&s->board, own);
    s->server->config_generation = s->config_generation;
}

/* ---- signals ------------------------------------------------------------ */

static const int handled_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD };

/* Blocks the signals before the PidFile exists, so that a signal sent as
 * soon as it appears waits (in the signalfd, or with -X for the child's
 * own) instead of killing us with its default action.  Returns the
 * signalfd, or -1 (with -X: 0 when blocked, as there is no signalfd). */
static int open_signal_fd(bool single)
{
    sigset_t mask;
    sigemptyset(&mask);
    for (size_t i = 0; i < COUNT_OF(handled_signals); i++)
        if (!single || handled_signals[i] != SIGCHLD)
            sigaddset(&mask, handled_signals[i]);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0)
        return -1;
    return single ? 0 : signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
}

static void read_signals(control_state *s)
{
    struct signalfd_siginfo info;
    while (read(s->signal_fd, &info, sizeof info) == (ssize_t)sizeof info) {
        control_action action = ACTION_NONE;
        switch (info.ssi_signo) {
        case SIGTERM:
        case SIGINT: action = ACTION_STOP; break;
        case SIGWINCH: action = ACTION_GRACEFUL_STOP; break;
        case SIGHUP: action = ACTION_RESTART; break;
        case SIGUSR1: action = ACTION_GRACEFUL_RESTART; break;
        case SIGUSR2:  /* upgrade.h: a new weft asks for the listening sockets */
            if (s->upgrade_fd >= 0 || s->stopping)
                log_message(LOG_LEVEL_WARN, "SIGUSR2 from pid %ld ignored: %s", (long)info.ssi_pid,
                            s->stopping ? "stopping" : "an upgrade is already under way");
            else if ((s->upgrade_fd = upgrade_send_sockets((pid_t)info.ssi_pid, (uid_t)info.ssi_uid)) >= 0)
                control_notice("SIGUSR2 received: listening sockets handed to the new weft (pid %ld); "
                               "serving until it takes over", (long)info.ssi_pid);
            break;
        default: break;  /* SIGCHLD: the caller reaps anyway */
        }
        if (action > s->action)
            s->action = action;
    }
}

/* Waits up to timeout_ms for a signal or a child's wake-up; returns after
 * reading them.  While a wake-up is pending the eventfd is not watched: a
 * child writing to it in a loop cannot make the control process spin. */
static void wait_for_signal(control_state *s, int timeout_ms)
{
    struct pollfd p[3] = {
        { .fd = s->signal_fd, .events = POLLIN },
        { .fd = s->upgrade_fd, .events = POLLIN },  /* -1: ignored */
        { .fd = s->wake_fd, .events = POLLIN },
    };
    if (poll(p, s->wake_fd >= 0 && !s->wake_pending ? 3 : 2, timeout_ms < 0 ? 0 : timeout_ms) <= 0)
        return;
    if (p[0].revents)
        read_signals(s);
    if (p[1].revents && s->upgrade_fd >= 0) {
        int verdict = upgrade_watch(s->upgrade_fd);
        if (verdict != WEFT_AGAIN)
            s->upgrade_fd = -1;
        if (verdict == WEFT_OK) {
            control_notice("the new weft took over the listening sockets; stopping gracefully");
            s->handed_over = true;
            if (s->action < ACTION_GRACEFUL_STOP)
                s->action = ACTION_GRACEFUL_STOP;
        }
    }
    uint64_t count;
    if (s->wake_fd >= 0 && p[2].revents && read(s->wake_fd, &count, sizeof count) == (ssize_t)sizeof count)
        s->wake_pending = true;
}

/* ---- draining ----------------------------------------------------------- */

/* Draining (scoreboard.h) is the DrainFile's presence or a graceful stop's
 * DrainDelay; the children read it from the scoreboard header. */
static void update_draining(control_state *s)
{
    const char *file = s->server->drain_file;
    bool present = file && access(file, F_OK) == 0;
    if (present != s->drain_file_present)
        control_notice(present ? "DrainFile %s appeared: draining (health checks fail, kept-alive "
                                 "connections close), still serving"
                               : "DrainFile %s is gone: serving normally", file ? file : "");
    s->drain_file_present = present;
    unsigned char draining = present || s->stop_draining;
    if (atomic_load_explicit(&s->header.draining, memory_order_relaxed) == draining)
        return;
    atomic_store_explicit(&s->header.draining, draining, memory_order_relaxed);
    atomic_store_explicit(&s->board.header->draining, draining, memory_order_relaxed);
}

/* ---- restarts ----------------------------------------------------------- */

static server_config *reload_configuration(control_state *s, const char *signal_name)
{
    config_messages errors = { 0 }, warnings = { 0 };
    server_config *next = config_load(s->options, &errors, &warnings);
    if (!next) {
        for (int i = 0; i < errors.count; i++)
            log_message(LOG_LEVEL_ERROR, "%s", errors.messages[i]);
        log_message(LOG_LEVEL_ERROR, "%s received, but the configuration has %d error%s: still running "
                                     "on the previous configuration",
                    signal_name, errors.count, errors.count == 1 ? "" : "s");
    } else {
        for (int i = 0; i < warnings.count; i++)
            log_message(LOG_LEVEL_WARN, "%s", warnings.messages[i]);
    }
    config_messages_free(&errors);
    config_messages_free(&warnings);
    return next;
}

/* After an ungraceful restart every child is gone: statistics start over. */
static void reset_scoreboard(control_state *s)
{
    size_t threads = (size_t)s->server_limit * (size_t)s->thread_limit;
    memset(s->board.threads, 0, sizeof(scoreboard_thread) * threads);
    for (size_t i = 0; i < threads; i++)
        scoreboard_set_status(&s->board.threads[i], THREAD_DEAD);
    memset(s->board.processes, 0, sizeof(scoreboard_process) * (size_t)s->server_limit);
}

static void restart(control_state *s, bool graceful)
{
    const char *signal_name = graceful ? "SIGUSR1" : "SIGHUP";
    server_config *next = reload_configuration(s, signal_name);
    if (!next)
        return;
    mpm_keep_limits(next, s->server_limit, s->thread_limit);
    char error[512];
    if (listen_prepare(next, error, sizeof error) != WEFT_OK) {
        log_message(LOG_LEVEL_ERROR, "%s received, but %s: still running on the previous configuration",
                    signal_name, error);
        config_free(next);
        return;
    }

    if (graceful) {
        control_notice("SIGUSR1 received. Doing graceful restart");
    } else {
        control_notice("SIGHUP received.  Attempting to restart");
        s->stopping = true;
        control_terminate_children(s);
        s->stopping = false;
        reset_scoreboard(s);
    }

    log_target target;
    if (open_error_log(next, &target, error, sizeof error) != WEFT_OK) {
        log_message(LOG_LEVEL_ERROR, "%s: keeping the previous error log", error);
        log_threshold = next->log_level;
    } else {
        use_error_log(s, &target, next);
    }
    if (modules_open_logs(next) != WEFT_OK)
        log_message(LOG_LEVEL_ERROR, "the access logs of the new configuration could not be opened; "
                                     "new children write none");
    modules_close_logs(s->server);  /* a piped log both use keeps its program */
    piped_log_maintain(monotonic_ms());
    listen_commit();

    server_config *old = s->server;
    s->server = next;
    config_free(old);  /* the children have their own copy since fork */
    s->generation++;
    s->config_generation++;
    stamp_generation(s);

    if (s->pid_file && next->pid_file && strcmp(s->pid_file, next->pid_file) != 0) {
        char *previous = xstrdup(s->pid_file);
        if (write_pid_file(s, next->pid_file) == WEFT_OK)
            os_pid_file_remove(previous);
        free(previous);
    }

    int64_t now = monotonic_ms();
    for (int slot = 0; slot < s->server_limit; slot++)
        if (s->children[slot].pid && s->children[slot].generation != s->generation)
            control_quiesce_child(s, slot, now);
    s->spawn_rate = 1;
    s->hold_off_cycles = graceful ? HOLD_OFF_CYCLES : 0;
    s->surplus_since = 0;
    s->reported_scoreboard_full = false;
    control_start_servers(s);
}

/* ---- stopping ----------------------------------------------------------- */

static void stop_now(control_state *s)
{
    s->stopping = true;
    control_terminate_children(s);
    remove_pid_file(s);
    control_notice("caught SIGTERM, shutting down");
}

/* -k graceful-stop with DrainDelay: the health check fails and kept-alive
 * responses close while the listeners still accept, so that a balancer
 * takes us out before a connection is refused.  Not after an upgrade: the
 * new weft serves on the same sockets. */
static void drain_before_stop(control_state *s)
{
    int delay = s->server->drain_delay;
    if (delay <= 0 || s->handed_over)
        return;
    control_notice("caught SIGWINCH, draining for %d s before closing the listening sockets", delay);
    s->stop_draining = true;
    update_draining(s);
    int64_t deadline = monotonic_ms() + (int64_t)delay * 1000;
    s->action = ACTION_NONE;
    for (int64_t now = monotonic_ms(); now < deadline; now = monotonic_ms()) {
        wait_for_signal(s, deadline - now < REGULATION_INTERVAL_MS ? (int)(deadline - now) : REGULATION_INTERVAL_MS);
        control_reap(s);
        if (s->action == ACTION_STOP || s->fatal)
            return;  /* the caller's loop sees the TERM again */
        control_regulate(s, monotonic_ms());
    }
}

static void stop_gracefully(control_state *s)
{
    drain_before_stop(s);
    if (s->action == ACTION_STOP) {
        stop_now(s);
        return;
    }
    s->stopping = true;
    listen_close_all();
    int64_t now = monotonic_ms();
    for (int slot = 0; slot < s->server_limit; slot++)
        control_quiesce_child(s, slot, now);
    remove_pid_file(s);
    control_notice(s->handed_over ? "handed over to the new weft, shutting down gracefully"
                                  : "caught SIGWINCH, shutting down gracefully");

    int timeout = s->server->graceful_shutdown_timeout;
    int64_t deadline = timeout > 0 ? now + (int64_t)timeout * 1000 : 0;
    s->action = ACTION_NONE;
    while (control_live_children(s) > 0) {
        wait_for_signal(s, 100);
        control_reap(s);
        if (s->action == ACTION_STOP)
            break;  /* a TERM during a graceful stop makes it ungraceful */
        if (deadline && monotonic_ms() >= deadline) {
            log_message(LOG_LEVEL_WARN, "GracefulShutdownTimeout of %d s reached, stopping the "
                                        "remaining children", timeout);
            break;
        }
    }
    control_terminate_children(s);
}

/* ---- the loop ----------------------------------------------------------- */

static void report_ready_if_due(control_state *s, int64_t now, int64_t ready_deadline)
{
    if (s->ready_fd < 0)
        return;
    if (s->had_healthy_child || now >= ready_deadline) {
        os_daemon_ready(s->ready_fd, NULL);
        s->ready_fd = -1;
    }
}

/* A binary upgrade (upgrade.h): our children serve, so the old control
 * process may stop; the PidFile becomes ours. */
static void take_over(control_state *s)
{
    /* The PidFile first: the old process removes it when it stops unless it
     * names someone else, and it stops when it hears from us. */
    const char *path = s->server->pid_file;
    bool replaced;
    if (path && os_pid_file_write(path, getpid(), &replaced) != WEFT_OK) {
        log_message(LOG_LEVEL_ERROR, "could not write pid file %s: %s", path, strerror(errno));
    } else if (path) {
        free(s->pid_file);
        s->pid_file = xstrdup(path);
    }
    upgrade_take_over();
    control_notice("took over the listening sockets from the previous weft");
}

static control_action run_loop(control_state *s)
{
    int64_t next_cycle = 0;
    int64_t ready_deadline = monotonic_ms() + READY_TIMEOUT_MS;
    for (;;) {
        int64_t now = monotonic_ms();
        /* A child's wake-up runs a cycle at once, but at most one every
         * WAKE_INTERVAL_MS: the eventfd is the children's to write. */
        int64_t due = next_cycle;
        if (s->wake_pending && s->last_wake_cycle + WAKE_INTERVAL_MS < due)
            due = s->last_wake_cycle + WAKE_INTERVAL_MS;
        wait_for_signal(s, due > now ? (int)(due - now) : 0);
        int reaped = control_reap(s);
        if (s->fatal)
            return ACTION_STOP;
        control_action action = s->action;
        s->action = ACTION_NONE;
        if (action == ACTION_STOP || action == ACTION_GRACEFUL_STOP)
            return action;
        if (action == ACTION_RESTART || action == ACTION_GRACEFUL_RESTART) {
            control_notify_reloading();
            restart(s, action == ACTION_GRACEFUL_RESTART);
            control_notify_reloaded(s);
            next_cycle = 0;
        }
        now = monotonic_ms();
        bool woken = s->wake_pending && now - s->last_wake_cycle >= WAKE_INTERVAL_MS;
        if (reaped || woken || now >= next_cycle) {
            if (woken)
                s->last_wake_cycle = now;
            s->wake_pending = false;
            control_regulate(s, now);
            if (now >= next_cycle)
                next_cycle = now + REGULATION_INTERVAL_MS;
        }
        update_draining(s);
        if (upgrade_pending() && s->had_healthy_child)
            take_over(s);
        report_ready_if_due(s, now, ready_deadline);
        piped_log_maintain(now);
        control_notify_tick(s, now, s->had_healthy_child || now >= ready_deadline);
    }
}

/* ---- startup ------------------------------------------------------------ */

/* -X: one child's work in this process, slot 0, no regulation. */
static int run_single_process(control_state *s)
{
    scoreboard_process *record = scoreboard_process_at(&s->board, 0);
    atomic_store_explicit(&record->pid, getpid(), memory_order_relaxed);
    atomic_store_explicit(&record->generation, 0, memory_order_relaxed);
    atomic_store_explicit(&record->started_ms, realtime_ms(), memory_order_relaxed);
    int count;
    const int *fds = listen_fds(&count);
    child_context context = {
        .server = s->server,
        .board = &s->board,
        .slot = 0,
        .generation = 0,
        .listen_fds = fds,
        .listen_count = count,
        .single_process = true,
    };
    control_notice("%s/%s (Unix) configured -- resuming normal operations (single process)", WEFT_NAME,
                   WEFT_VERSION);
    control_notify_ready(s);
    int rc = child_main(&context);
    control_notify_stopping();
    remove_pid_file(s);
    control_notice("single process stopped (exit code %d)", rc);
    return rc;
}

/* Steps that may fail while stderr is still the terminal.  Fills the
 * error log target and returns WEFT_OK, or WEFT_ERROR after reporting. */
static int prepare(control_state *s, log_target *target)
{
    server_config *server = s->server;
    char error[512];
    if (open_error_log(server, target, error, sizeof error) != WEFT_OK) {
        startup_failed(s, "%s", error);
        return WEFT_ERROR;
    }
    log_threshold = server->log_level;  /* still on stderr */
    if (server->listen_count == 0) {
        startup_failed(s, "no listening sockets available, shutting down");
    } else if (modules_open_logs(server) != WEFT_OK) {
        startup_failed(s, "could not open the access logs");
    } else if (listen_prepare(server, error, sizeof error) != WEFT_OK) {
        startup_failed(s, "%s", error);
    } else {
        listen_commit();
        s->server_limit = server->server_limit;
        s->thread_limit = server->thread_limit;
        if (scoreboard_create(&s->board, s->server_limit, s->thread_limit, server->scoreboard_file) == WEFT_OK) {
            s->scoreboard_file = server->scoreboard_file ? xstrdup(server->scoreboard_file) : NULL;
            /* No child exists yet: the start time is still ours to read. */
            atomic_store_explicit(&s->header.start_time_ms,
                                  atomic_load_explicit(&s->board.header->start_time_ms, memory_order_relaxed),
                                  memory_order_relaxed);
            return WEFT_OK;
        }
        if (server->scoreboard_file)
            startup_failed(s, "unable to create or access scoreboard \"%s\": %s", server->scoreboard_file,
                           strerror(errno));
        else
            startup_failed(s, "Unable to create or access scoreboard (anonymous shared memory failure): %s",
                           strerror(errno));
    }
    log_target_discard(target);
    return WEFT_ERROR;
}

static void clean_up(control_state *s)
{
    listen_close_all();
    modules_close_logs(s->server);
    remove_pid_file(s);
    weft_scoreboard = NULL;
    scoreboard_destroy(&s->board);
    if (s->scoreboard_file)
        unlink(s->scoreboard_file);
    free(s->scoreboard_file);
    free(s->children);
    if (s->signal_fd >= 0)
        close(s->signal_fd);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    if (s->upgrade_fd >= 0)
        close(s->upgrade_fd);
    control_wake_fd = -1;
    if (s->ready_fd >= 0)
        os_daemon_ready(s->ready_fd, "weft: the server stopped during startup; see the error log");
    log_use(STDERR_FILENO, s->server->log_level);
    config_free(s->server);
    piped_log_shutdown();  /* the children are gone: the programs get the end of their input */
    sd_notify_close();
}

int control_run(const config_options *options, server_config *server, int flags)
{
    control_state state = { .options = options, .server = server, .signal_fd = -1, .wake_fd = -1,
                            .ready_fd = -1, .upgrade_fd = -1 };
    control_state *s = &state;
    s->board.fd = -1;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    /* Before anything is forked: nothing else may inherit NOTIFY_SOCKET. */
    int notify = sd_notify_init();
    /* Socket activation: systemd's sockets serve the Listen of their address. */
    if (os_systemd_listen_fds(listen_adopt) < 0)
        fprintf(stderr, "weft: LISTEN_PID/LISTEN_FDS are malformed: binding the sockets itself\n");

    log_target target;
    if (prepare(s, &target) != WEFT_OK) {
        listen_close_all();
        modules_close_logs(server);
        if (s->board.header)
            scoreboard_destroy(&s->board);
        config_free(server);
        piped_log_shutdown();
        sd_notify_close();
        return 1;
    }
    bool single = flags & CONTROL_SINGLE_PROCESS;
    if (!single && !(flags & CONTROL_FOREGROUND)) {
        if (os_daemonize(&s->ready_fd) != WEFT_OK) {
            startup_failed(s, "could not detach: %s", strerror(errno));
            log_target_discard(&target);
            clean_up(s);
            return 1;
        }
        s->detached = true;
        if (options->server_root && options->server_root[0] == '/' && chdir("/") != 0)
            log_message(LOG_LEVEL_WARN, "chdir(\"/\") failed: %s", strerror(errno));
    }
    use_error_log(s, &target, server);
    if (notify == WEFT_ERROR)
        log_message(LOG_LEVEL_WARN, "NOTIFY_SOCKET is set but names no usable socket: systemd will not hear "
                                    "from weft");
    piped_log_maintain(monotonic_ms());  /* from the detached process: it reaps them */
    weft_scoreboard = &s->board;
    s->config_generation = 1;
    stamp_generation(s);

    int rc = 0;
    int signal_fd = open_signal_fd(single);
    if (!single)
        s->signal_fd = signal_fd;
    if (signal_fd < 0) {
        startup_failed(s, "could not set up signal handling: %s", strerror(errno));
        rc = 1;
    } else if (server->pid_file && !upgrade_pending() && write_pid_file(s, server->pid_file) != WEFT_OK) {
        rc = 1;
    } else if (single) {
        if (upgrade_pending())
            take_over(s);  /* -X serves in this process: nothing more to wait for */
        rc = run_single_process(s);
    } else {
        s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        control_wake_fd = s->wake_fd;  /* -1 on failure: children just cannot hurry us */
        s->children = xcalloc((size_t)s->server_limit, sizeof(child_record));
        s->spawn_rate = 1;
        control_notice("%s/%s (Unix) configured -- resuming normal operations", WEFT_NAME, WEFT_VERSION);
        char capacity[128];
        mpm_describe_capacity(server, capacity, sizeof capacity);
        log_message(LOG_LEVEL_INFO, "%s", capacity);
        if (control_start_servers(s) == 0) {
            startup_failed(s, "could not start any child process");
            rc = 1;
        } else {
            control_action action = run_loop(s);
            control_notify_stopping();
            if (s->fatal) {
                if (s->ready_fd >= 0)
                    startup_failed(s, "a child process could not start; see the error log");
                s->stopping = true;
                control_terminate_children(s);
                rc = 1;
            } else if (action == ACTION_GRACEFUL_STOP) {
                stop_gracefully(s);
            } else {
                stop_now(s);
            }
        }
    }
    clean_up(s);
    return rc;
}
