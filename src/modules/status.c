/*
 * status.c — mod_status: the "server-status" handler.
 *
 *   <Location "/server-status">
 *       SetHandler server-status
 *   </Location>
 *
 * ?auto gives Apache 2.4.58's machine-readable text, key for key and in the
 * same order (Prometheus' apache_exporter and other scrapers parse it);
 * without it a small HTML page says the same and adds a per-process table.
 * ?refresh=N adds a Refresh header.  ExtendedStatus is always on, as in
 * Apache 2.4 with mod_status loaded.
 *
 * Everything comes from the shared scoreboard (weft_scoreboard, set by the
 * control process before it forks), so whichever child answers, the page
 * covers every process.  Counting follows mod_status: only processes with a
 * pid that are not quiescing; idle = '_' in the current generation;
 * graceful = 'G'; busy = anything but '_', '.', 'S', 'I', 'G'.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../core/buffer.h"
#include "../core/module.h"
#include "../http/request.h"
#include "../http/response.h"
#include "../mpm/control.h"
#include "../mpm/scoreboard.h"
#include "../os/os.h"

#ifndef WEFT_BUILD_DATE
#define WEFT_BUILD_DATE __DATE__ " " __TIME__
#endif

#define SERVER_DESCRIPTION WEFT_NAME "/" WEFT_VERSION " (Unix)"
#define SCOREBOARD_LINE 64

typedef struct {
    int busy, idle, graceful;
    uint64_t accesses, bytes, duration_us;
    double cpu_user, cpu_system, cpu_children_user, cpu_children_system;  /* seconds */
    int last_slot;            /* scoreboard slots shown: 0 .. last_slot - 1 */
    int threads;              /* per slot shown: ThreadsPerChild */
    int generation, config_generation;
    time_t now, restart;
    unsigned long uptime;
} status_facts;

/* utime, stime, cutime, cstime of a process from /proc (clock ticks). */
static bool read_cpu_times(pid_t pid, double times[4])
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t length = read(fd, text, sizeof text - 1);
    close(fd);
    if (length <= 0)
        return false;
    text[length] = '\0';
    const char *field = strrchr(text, ')');  /* the command name may contain spaces */
    if (!field)
        return false;
    /* After ") " come the fields from 3 (state) on; utime is 14, then
     * stime, cutime, cstime. */
    char *cursor = (char *)field + 1;
    for (int number = 3; number <= 17; number++) {
        char *end;
        double value = strtod(cursor, &end);
        if (number >= 14)
            times[number - 14] = value;
        if (number == 3) {  /* the state is a letter, not a number */
            while (*cursor == ' ')
                cursor++;
            end = cursor + 1;
        }
        cursor = end;
    }
    return true;
}

static void gather(const request *r, const scoreboard *board, status_facts *f)
{
    const server_config *server = r->server;
    scoreboard_header *header = board->header;
    memset(f, 0, sizeof *f);
    f->generation = atomic_load_explicit(&header->running_generation, memory_order_relaxed);
    f->config_generation = atomic_load_explicit(&header->config_generation, memory_order_relaxed);
    f->now = time(NULL);
    f->restart = (time_t)(atomic_load_explicit(&header->restart_time_ms, memory_order_relaxed) / 1000);
    f->uptime = f->now > f->restart ? (unsigned long)(f->now - f->restart) : 0;
    f->threads = server->threads_per_child < header->thread_limit ? server->threads_per_child
                                                                   : header->thread_limit;
    f->last_slot = server->max_processes < header->server_limit ? server->max_processes : header->server_limit;

    long ticks = sysconf(_SC_CLK_TCK);
    if (ticks <= 0)
        ticks = 100;
    for (int slot = 0; slot < header->server_limit; slot++) {
        scoreboard_process *process = scoreboard_process_at(board, slot);
        pid_t pid = atomic_load_explicit(&process->pid, memory_order_relaxed);
        bool quiescing = atomic_load_explicit(&process->quiescing, memory_order_relaxed);
        int generation = atomic_load_explicit(&process->generation, memory_order_relaxed);
        if (pid && slot >= f->last_slot)
            f->last_slot = slot + 1;  /* old-generation processes beyond the cap */
        for (int t = 0; t < header->thread_limit; t++) {
            scoreboard_thread *thread = scoreboard_thread_at(board, slot, t);
            f->accesses += atomic_load_explicit(&thread->access_count, memory_order_relaxed);
            f->bytes += atomic_load_explicit(&thread->bytes_served, memory_order_relaxed);
            f->duration_us += atomic_load_explicit(&thread->duration_total_us, memory_order_relaxed);
            if (!pid || quiescing || t >= f->threads)
                continue;
            unsigned char status = scoreboard_status(thread);
            if (status == THREAD_READY) {
                if (generation == f->generation)
                    f->idle++;
            } else if (status == THREAD_GRACEFUL) {
                f->graceful++;
            } else if (status != THREAD_DEAD && status != THREAD_STARTING && status != THREAD_IDLE_KILL) {
                f->busy++;
            }
        }
        double times[4];
        if (pid && read_cpu_times(pid, times)) {
            f->cpu_user += times[0] / (double)ticks;
            f->cpu_system += times[1] / (double)ticks;
        }
    }
    /* The control process: its own time, and that of the children it reaped. */
    double times[4];
    pid_t parent = getppid();
    if (os_process_is_weft(parent) && read_cpu_times(parent, times)) {
        f->cpu_user += times[0] / (double)ticks;
        f->cpu_system += times[1] / (double)ticks;
        f->cpu_children_user = times[2] / (double)ticks;
        f->cpu_children_system = times[3] / (double)ticks;
    }
}

/* Apache's DEFAULT_TIME_FORMAT, local time: "Thursday, 26-Nov-2026 00:24:01 UTC". */
static void format_time(char *out, size_t size, time_t when)
{
    struct tm local;
    localtime_r(&when, &local);
    strftime(out, size, "%A, %d-%b-%Y %H:%M:%S %Z", &local);
}

/* " 1 day 2 hours 5 seconds", as mod_status's show_time (empty for 0). */
static void append_uptime(buffer *b, unsigned long seconds)
{
    unsigned long secs = seconds % 60, mins = seconds / 60 % 60, hours = seconds / 3600 % 24,
                  days = seconds / 86400;
    if (days)
        buffer_printf(b, " %lu day%s", days, days == 1 ? "" : "s");
    if (hours)
        buffer_printf(b, " %lu hour%s", hours, hours == 1 ? "" : "s");
    if (mins)
        buffer_printf(b, " %lu minute%s", mins, mins == 1 ? "" : "s");
    if (secs)
        buffer_printf(b, " %lu second%s", secs, secs == 1 ? "" : "s");
}

static void append_html(buffer *b, const char *text)
{
    for (const char *c = text; *c; c++) {
        switch (*c) {
        case '<': buffer_append_string(b, "&lt;"); break;
        case '>': buffer_append_string(b, "&gt;"); break;
        case '&': buffer_append_string(b, "&amp;"); break;
        case '"': buffer_append_string(b, "&quot;"); break;
        default: buffer_append_char(b, *c); break;
        }
    }
}

/* The host the client asked for (UseCanonicalName Off), else ServerName. */
static const char *server_name_for(request *r)
{
    const char *host = request_header(r, "Host");
    if (host && *host) {
        char *copy = pool_strdup(r->pool, host);
        if (copy[0] == '[') {
            char *end = strchr(copy, ']');
            if (end)
                end[1] = '\0';
        } else {
            char *colon = strchr(copy, ':');
            if (colon)
                *colon = '\0';
        }
        return copy;
    }
    return r->server->server_name ? r->server->server_name : "localhost";
}

static char scoreboard_char(const scoreboard *board, int slot, int thread)
{
    unsigned char status = scoreboard_status(scoreboard_thread_at(board, slot, thread));
    return strchr("._SRWKLCGID", status) && status ? (char)status : '?';
}

static void render_auto(buffer *b, request *r, const scoreboard *board, const status_facts *f)
{
    char current[64], restarted[64];
    format_time(current, sizeof current, f->now);
    format_time(restarted, sizeof restarted, f->restart);
    double loads[3] = { 0, 0, 0 };
    getloadavg(loads, 3);

    buffer_printf(b, "%s\n", server_name_for(r));
    buffer_printf(b, "ServerVersion: %s\n", SERVER_DESCRIPTION);
    buffer_printf(b, "ServerMPM: worker\n");
    buffer_printf(b, "Server Built: %s\n", WEFT_BUILD_DATE);
    buffer_printf(b, "CurrentTime: %s\n", current);
    buffer_printf(b, "RestartTime: %s\n", restarted);
    buffer_printf(b, "ParentServerConfigGeneration: %d\n", f->config_generation);
    buffer_printf(b, "ParentServerMPMGeneration: %d\n", f->generation);
    buffer_printf(b, "ServerUptimeSeconds: %lu\n", f->uptime);
    buffer_append_string(b, "ServerUptime:");
    append_uptime(b, f->uptime);
    buffer_append_char(b, '\n');
    buffer_printf(b, "Load1: %.2f\nLoad5: %.2f\nLoad15: %.2f\n", loads[0], loads[1], loads[2]);

    buffer_printf(b, "Total Accesses: %llu\n", (unsigned long long)f->accesses);
    buffer_printf(b, "Total kBytes: %llu\n", (unsigned long long)(f->bytes / 1024));
    buffer_printf(b, "Total Duration: %llu\n", (unsigned long long)(f->duration_us / 1000));
    buffer_printf(b, "CPUUser: %g\nCPUSystem: %g\nCPUChildrenUser: %g\nCPUChildrenSystem: %g\n",
                  f->cpu_user, f->cpu_system, f->cpu_children_user, f->cpu_children_system);
    double cpu = f->cpu_user + f->cpu_system + f->cpu_children_user + f->cpu_children_system;
    if (cpu > 0)
        buffer_printf(b, "CPULoad: %g\n", f->uptime ? cpu / (double)f->uptime * 100.0 : 0.0);
    buffer_printf(b, "Uptime: %lu\n", f->uptime);
    if (f->uptime > 0) {
        buffer_printf(b, "ReqPerSec: %g\n", (double)f->accesses / (double)f->uptime);
        buffer_printf(b, "BytesPerSec: %g\n", (double)f->bytes / (double)f->uptime);
    }
    if (f->accesses > 0) {
        buffer_printf(b, "BytesPerReq: %g\n", (double)f->bytes / (double)f->accesses);
        buffer_printf(b, "DurationPerReq: %g\n", (double)f->duration_us / 1000.0 / (double)f->accesses);
    }
    buffer_printf(b, "BusyWorkers: %d\n", f->busy);
    buffer_printf(b, "GracefulWorkers: %d\n", f->graceful);
    buffer_printf(b, "IdleWorkers: %d\n", f->idle);
    buffer_append_string(b, "Scoreboard: ");
    for (int slot = 0; slot < f->last_slot; slot++)
        for (int t = 0; t < f->threads; t++)
            buffer_append_char(b, scoreboard_char(board, slot, t));
    buffer_append_char(b, '\n');
}

static const char *const legend[][2] = {
    { "_", "Waiting for Connection" }, { "S", "Starting up" },     { "R", "Reading Request" },
    { "W", "Sending Reply" },          { "K", "Keepalive (read)" }, { "D", "DNS Lookup" },
    { "C", "Closing connection" },     { "L", "Logging" },          { "G", "Gracefully finishing" },
    { "I", "Idle cleanup of worker" }, { ".", "Open slot with no current process" },
};

static void render_processes(buffer *b, const scoreboard *board, const status_facts *f)
{
    buffer_append_string(b, "<table border=\"1\"><tr><th>Slot</th><th>PID</th><th>Generation</th>"
                            "<th>Quiescing</th><th>Accepting</th><th>Connections</th><th>Parked</th>"
                            "<th>Busy</th><th>Idle</th></tr>\n");
    for (int slot = 0; slot < board->header->server_limit; slot++) {
        scoreboard_process *p = scoreboard_process_at(board, slot);
        pid_t pid = atomic_load_explicit(&p->pid, memory_order_relaxed);
        if (!pid)
            continue;
        int idle, busy;
        scoreboard_count_process(board, slot, f->threads, &idle, &busy);
        buffer_printf(b, "<tr><td>%d</td><td>%ld</td><td>%d%s</td><td>%s</td><td>%s</td><td>%d</td>"
                         "<td>%d</td><td>%d</td><td>%d</td></tr>\n",
                      slot, (long)pid, atomic_load_explicit(&p->generation, memory_order_relaxed),
                      atomic_load_explicit(&p->generation, memory_order_relaxed) == f->generation ? ""
                                                                                                 : " (old)",
                      atomic_load_explicit(&p->quiescing, memory_order_relaxed) ? "yes" : "no",
                      atomic_load_explicit(&p->not_accepting, memory_order_relaxed) ? "no" : "yes",
                      atomic_load_explicit(&p->connections, memory_order_relaxed),
                      atomic_load_explicit(&p->parked, memory_order_relaxed), busy, idle);
    }
    buffer_append_string(b, "</table>\n");
}

static void render_html(buffer *b, request *r, const scoreboard *board, const status_facts *f)
{
    char current[64], restarted[64];
    format_time(current, sizeof current, f->now);
    format_time(restarted, sizeof restarted, f->restart);
    double loads[3] = { 0, 0, 0 };
    getloadavg(loads, 3);

    buffer_append_string(b, "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n<html><head>\n"
                            "<title>Weft Status</title>\n</head><body>\n<h1>Weft Server Status for ");
    append_html(b, server_name_for(r));
    buffer_append_string(b, "</h1>\n\n");
    buffer_printf(b, "<dl><dt>Server Version: %s</dt>\n<dt>Server MPM: worker</dt>\n"
                     "<dt>Server Built: %s\n</dt></dl><hr /><dl>\n",
                  SERVER_DESCRIPTION, WEFT_BUILD_DATE);
    buffer_printf(b, "<dt>Current Time: %s</dt>\n<dt>Restart Time: %s</dt>\n", current, restarted);
    buffer_printf(b, "<dt>Parent Server Config. Generation: %d</dt>\n", f->config_generation);
    buffer_printf(b, "<dt>Parent Server MPM Generation: %d</dt>\n", f->generation);
    buffer_append_string(b, "<dt>Server uptime: ");
    append_uptime(b, f->uptime);
    buffer_append_string(b, "</dt>\n");
    buffer_printf(b, "<dt>Server load: %.2f %.2f %.2f</dt>\n", loads[0], loads[1], loads[2]);
    buffer_printf(b, "<dt>Total accesses: %llu - Total Traffic: %.1f kB - Total Duration: %llu ms</dt>\n",
                  (unsigned long long)f->accesses, (double)f->bytes / 1024.0,
                  (unsigned long long)(f->duration_us / 1000));
    double cpu = f->cpu_user + f->cpu_system + f->cpu_children_user + f->cpu_children_system;
    buffer_printf(b, "<dt>CPU Usage: u%g s%g cu%g cs%g - %.3g%% CPU load</dt>\n", f->cpu_user,
                  f->cpu_system, f->cpu_children_user, f->cpu_children_system,
                  f->uptime ? cpu / (double)f->uptime * 100.0 : 0.0);
    if (f->uptime > 0)
        buffer_printf(b, "<dt>%.3g requests/sec - %.3g B/second", (double)f->accesses / (double)f->uptime,
                      (double)f->bytes / (double)f->uptime);
    else
        buffer_append_string(b, "<dt>0 requests/sec - 0 B/second");
    if (f->accesses > 0)
        buffer_printf(b, " - %.3g B/request - %.3g ms/request", (double)f->bytes / (double)f->accesses,
                      (double)f->duration_us / 1000.0 / (double)f->accesses);
    buffer_append_string(b, "</dt>\n");
    buffer_printf(b, "<dt>%d requests currently being processed, %d idle workers</dt>\n", f->busy, f->idle);
    buffer_printf(b, "<dt>%d workers gracefully restarting</dt>\n</dl>", f->graceful);

    buffer_append_string(b, "<pre>");
    int column = 0;
    for (int slot = 0; slot < f->last_slot; slot++) {
        for (int t = 0; t < f->threads; t++) {
            buffer_append_char(b, scoreboard_char(board, slot, t));
            if (++column == SCOREBOARD_LINE) {
                buffer_append_char(b, '\n');
                column = 0;
            }
        }
    }
    buffer_append_string(b, "</pre>\n<p>Scoreboard Key:<br />\n");
    for (size_t i = 0; i < COUNT_OF(legend); i++)
        buffer_printf(b, "\"<b><code>%s</code></b>\" %s%s\n", legend[i][0], legend[i][1],
                      i + 1 < COUNT_OF(legend) ? "," : "<br />");
    buffer_append_string(b, "</p>\n<h2>Processes</h2>\n");
    render_processes(b, board, f);
    buffer_append_string(b, "</body></html>\n");
}

static bool query_has(const char *query, const char *option)
{
    return query && strstr(query, option) != NULL;
}

static void add_refresh(request *r)
{
    const char *refresh = r->query ? strstr(r->query, "refresh") : NULL;
    if (!refresh)
        return;
    int seconds = refresh[7] == '=' ? atoi(refresh + 8) : 0;
    if (seconds < 1)
        seconds = 10;
    response_add_header(r, "Refresh", pool_printf(r->pool, "%d", seconds));
}

static int status_handler(request *r)
{
    if (!r->dir || !r->dir->handler || strcasecmp(r->dir->handler, "server-status") != 0)
        return WEFT_DECLINED;
    if (r->method != HTTP_METHOD_GET && r->method != HTTP_METHOD_HEAD) {
        response_add_header(r, "Allow", "GET, HEAD, OPTIONS");
        return 405;
    }
    const scoreboard *board = weft_scoreboard;
    if (!board || !board->header)
        return 503;

    status_facts facts;
    gather(r, board, &facts);
    buffer body;
    buffer_init(&body, 4096);
    bool short_report = query_has(r->query, "auto");
    if (short_report) {
        render_auto(&body, r, board, &facts);
        r->content_type = "text/plain; charset=ISO-8859-1";
    } else {
        render_html(&body, r, board, &facts);
        r->content_type = "text/html; charset=ISO-8859-1";
    }
    add_refresh(r);
    char *data = pool_strndup(r->pool, body.data, body.length);
    response_set_body_memory(r, data, body.length);
    buffer_free(&body);
    r->status = 200;
    return WEFT_OK;
}

const module status_module = {
    .name = "status",
    .directives = NULL,
    .post_config = NULL,
    .handler = status_handler,
};
