/*
 * status.c — mod_status: the "server-status" handler.
 *
 *   <Location "/server-status">
 *       SetHandler server-status
 *       Require ip 127.0.0.1
 *   </Location>
 *
 * Query options, found anywhere in the query string as Apache does:
 *   ?auto        Apache 2.4.58's machine-readable text, key for key, in the
 *                same order and with APR's number formatting, so that
 *                Prometheus' apache_exporter and other scrapers parse it;
 *   ?metrics     the same figures (and a request duration histogram) in the
 *                Prometheus text format (status_metrics.c);
 *   ?refresh=N   a Refresh header (N < 1: 10 seconds, as Apache 2.4);
 *   ?notable     the HTML page without the per-thread table;
 *   ?json        everything the page shows and the regulation's account, as
 *                one JSON document (status_json.c, docs/operations.md);
 *   ?live        a page that polls ?json and draws it (status_live.c).
 * Without ?auto or ?metrics an HTML page says the same for people, with
 * ExtendedStatus's per-thread table (client, virtual host and request line
 * of what each thread serves or served last, URL passwords removed).
 *
 * ExtendedStatus On (the default, as in Apache 2.4 with mod_status loaded)
 * adds the totals; Off leaves them out of ?auto and the page.  Everything
 * comes from the shared scoreboard, so whichever child answers, the page
 * covers every process.
 */
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
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
#include "status_internal.h"

/* ExtendedStatus */
typedef struct {
    bool extended_status;
} status_server_config;

extern const module status_module;

#define SERVER_DESCRIPTION STATUS_SERVER_DESCRIPTION
#define SCOREBOARD_LINE 64
#define KBYTE 1024

/* ---- gathering ------------------------------------------------------------ */

/* utime, stime, cutime, cstime of a process from /proc (clock ticks). */
static bool read_cpu_ticks(pid_t pid, unsigned long long ticks[4])
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
    if (!field || field[1] != ' ')
        return false;
    /* After ") " come the fields from 3 (state, a letter) on; utime is 14,
     * then stime, cutime, cstime. */
    char *cursor = (char *)field + 2;
    for (int number = 3; number <= 17; number++) {
        while (*cursor == ' ')
            cursor++;
        char *end;
        unsigned long long value = number == 3 ? 0 : strtoull(cursor, &end, 10);
        if (number == 3)
            end = cursor + 1;
        if (end == cursor)
            return false;
        if (number >= 14)
            ticks[number - 14] = value;
        cursor = end;
    }
    return true;
}

char status_scoreboard_char(const scoreboard *board, int slot, int thread)
{
    unsigned char status = scoreboard_status(scoreboard_thread_at(board, slot, thread));
    return scoreboard_status_known(status) ? (char)status : '?';
}

static void add_thread_totals(status_facts *f, scoreboard_thread *thread)
{
    f->accesses += atomic_load_explicit(&thread->access_count, memory_order_relaxed);
    f->bytes += atomic_load_explicit(&thread->bytes_served, memory_order_relaxed);
    f->duration_us += atomic_load_explicit(&thread->duration_total_us, memory_order_relaxed);
    for (int i = 0; i < 5; i++)
        f->status_classes[i] += atomic_load_explicit(&thread->status_classes[i], memory_order_relaxed);
    for (int i = 0; i < SCOREBOARD_DURATION_BUCKETS; i++)
        f->duration_buckets[i] += atomic_load_explicit(&thread->duration_buckets[i], memory_order_relaxed);
}

static void count_thread(status_facts *f, unsigned char status, bool current)
{
    if (status == THREAD_READY) {
        if (current)
            f->idle++;
    } else if (status == THREAD_GRACEFUL) {
        f->graceful++;
    } else if (status != THREAD_DEAD && status != THREAD_STARTING && status != THREAD_IDLE_KILL) {
        f->busy++;
    }
}

/* A sum of per-process counts (each any int, if a sibling wrote it) as an
 * int the page can print: 0 .. INT_MAX. */
static int clamp_count(int64_t sum)
{
    return sum < 0 ? 0 : sum > INT_MAX ? INT_MAX : (int)sum;
}

void status_gather(const request *r, const scoreboard *board, status_facts *f)
{
    const server_config *server = r->server;
    scoreboard_header *header = board->header;
    memset(f, 0, sizeof *f);
    f->generation = atomic_load_explicit(&header->running_generation, memory_order_relaxed);
    f->config_generation = atomic_load_explicit(&header->config_generation, memory_order_relaxed);
    f->now = time(NULL);
    f->restart = (time_t)(atomic_load_explicit(&header->restart_time_ms, memory_order_relaxed) / 1000);
    f->start = (time_t)(atomic_load_explicit(&header->start_time_ms, memory_order_relaxed) / 1000);
    f->children_started = atomic_load_explicit(&header->children_started, memory_order_relaxed);
    f->children_crashed = atomic_load_explicit(&header->children_crashed, memory_order_relaxed);
    f->spawn_rate_events = atomic_load_explicit(&header->spawn_rate_events, memory_order_relaxed);
    /* Clock values a sibling may have overwritten: nothing before the
     * epoch or after now, so that every later difference is small. */
    if (f->restart < 0 || f->restart > f->now)
        f->restart = f->now;
    if (f->start < 0 || f->start > f->restart)
        f->start = f->restart;
    f->uptime = (unsigned long)(f->now - f->restart);
    f->threads = server->threads_per_child < board->thread_limit ? server->threads_per_child : board->thread_limit;
    f->last_slot = server->max_processes < board->server_limit ? server->max_processes : board->server_limit;
    f->ticks_per_second = sysconf(_SC_CLK_TCK);
    if (f->ticks_per_second <= 0)
        f->ticks_per_second = 100;

    /* Every index below comes from this process's memory (the handle's
     * limits, the configuration); what the scoreboard holds is only data,
     * which a sibling may have overwritten with anything. */
    int64_t connections = 0, parked = 0;
    for (int slot = 0; slot < board->server_limit; slot++) {
        scoreboard_process *process = scoreboard_process_at(board, slot);
        pid_t pid = atomic_load_explicit(&process->pid, memory_order_relaxed);
        bool quiescing = atomic_load_explicit(&process->quiescing, memory_order_relaxed) != 0;
        bool current = atomic_load_explicit(&process->generation, memory_order_relaxed) == f->generation;
        if (pid) {
            f->processes++;
            f->stopping += quiescing;
            connections += atomic_load_explicit(&process->connections, memory_order_relaxed);
            parked += atomic_load_explicit(&process->parked, memory_order_relaxed);
            if (slot >= f->last_slot)
                f->last_slot = slot + 1;  /* old-generation processes beyond the cap */
        }
        for (int t = 0; t < board->thread_limit; t++) {
            scoreboard_thread *thread = scoreboard_thread_at(board, slot, t);
            add_thread_totals(f, thread);
            if (pid && !quiescing && t < f->threads)
                count_thread(f, scoreboard_status(thread), current);
        }
        unsigned long long ticks[4];
        if (pid > 0 && read_cpu_ticks(pid, ticks)) {
            f->cpu_ticks[STATUS_CPU_USER] += ticks[0];
            f->cpu_ticks[STATUS_CPU_SYSTEM] += ticks[1];
        }
    }
    f->connections = clamp_count(connections);
    f->parked = clamp_count(parked);
    for (int slot = 0; slot < f->last_slot; slot++)
        for (int t = 0; t < f->threads; t++)
            f->slot_states[(unsigned char)status_scoreboard_char(board, slot, t)]++;

    /* The control process: its own time, and that of the children it reaped. */
    unsigned long long ticks[4];
    pid_t parent = getppid();
    if (os_process_is_weft(parent) && read_cpu_ticks(parent, ticks)) {
        f->cpu_ticks[STATUS_CPU_USER] += ticks[0];
        f->cpu_ticks[STATUS_CPU_SYSTEM] += ticks[1];
        f->cpu_ticks[STATUS_CPU_CHILDREN_USER] = ticks[2];
        f->cpu_ticks[STATUS_CPU_CHILDREN_SYSTEM] = ticks[3];
    }
}

static void append_g(buffer *b, const char *key, double value)
{
    char number[64];
    status_format_apache_g(number, sizeof number, value);
    buffer_printf(b, "%s: %s\n", key, number);
}

/* ---- the text and HTML pages ------------------------------------------------- */

/* Apache's DEFAULT_TIME_FORMAT, local time: "Thursday, 26-Nov-2026 00:24:01 UTC". */
static void format_time(char *out, size_t size, time_t when)
{
    struct tm local;
    if (!localtime_r(&when, &local)) {
        snprintf(out, size, "-");
        return;
    }
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
        default:
            if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
                buffer_printf(b, "\\x%02x", (unsigned char)*c);
            else
                buffer_append_char(b, *c);
            break;
        }
    }
}

/* Apache's ap_get_server_name: the Host the client asked for
 * (UseCanonicalName Off), else ServerName's host (request.h). */
static const char *server_name_for(request *r)
{
    return request_server_name(r);
}

/* Apache's figures are floats divided by floats (mod_status.c), printed
 * with six digits: computing them the same way gives the same text. */
static void render_auto(buffer *b, request *r, const scoreboard *board, const status_facts *f, bool extended)
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

    if (extended) {
        unsigned long long kbytes = f->bytes / KBYTE, milliseconds = f->duration_us / 1000;
        float tick = (float)f->ticks_per_second, uptime = (float)f->uptime, count = (float)f->accesses;
        buffer_printf(b, "Total Accesses: %llu\n", (unsigned long long)f->accesses);
        buffer_printf(b, "Total kBytes: %llu\n", kbytes);
        buffer_printf(b, "Total Duration: %llu\n", milliseconds);
        append_g(b, "CPUUser", (float)f->cpu_ticks[STATUS_CPU_USER] / tick);
        append_g(b, "CPUSystem", (float)f->cpu_ticks[STATUS_CPU_SYSTEM] / tick);
        append_g(b, "CPUChildrenUser", (float)f->cpu_ticks[STATUS_CPU_CHILDREN_USER] / tick);
        append_g(b, "CPUChildrenSystem", (float)f->cpu_ticks[STATUS_CPU_CHILDREN_SYSTEM] / tick);
        unsigned long long cpu = f->cpu_ticks[0] + f->cpu_ticks[1] + f->cpu_ticks[2] + f->cpu_ticks[3];
        if (cpu)  /* Apache divides by an uptime of 0 too; a new server has no CPU time yet */
            append_g(b, "CPULoad", f->uptime ? (float)cpu / tick / uptime * 100. : 0.0);
        buffer_printf(b, "Uptime: %lu\n", f->uptime);
        if (f->uptime > 0) {
            append_g(b, "ReqPerSec", count / uptime);
            append_g(b, "BytesPerSec", KBYTE * (float)kbytes / uptime);
        }
        if (f->accesses > 0) {
            append_g(b, "BytesPerReq", KBYTE * (float)kbytes / count);
            append_g(b, "DurationPerReq", (float)milliseconds / count);
        }
    }
    buffer_printf(b, "BusyWorkers: %d\n", f->busy);
    buffer_printf(b, "GracefulWorkers: %d\n", f->graceful);
    buffer_printf(b, "IdleWorkers: %d\n", f->idle);
    buffer_append_string(b, "Scoreboard: ");
    for (int slot = 0; slot < f->last_slot; slot++)
        for (int t = 0; t < f->threads; t++)
            buffer_append_char(b, status_scoreboard_char(board, slot, t));
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
    buffer_append_string(b, "<h2>Processes</h2>\n<table border=\"1\"><tr><th>Slot</th><th>PID</th>"
                            "<th>Generation</th><th>Quiescing</th><th>Accepting</th><th>Connections</th>"
                            "<th>Parked</th><th>Busy</th><th>Idle</th></tr>\n");
    for (int slot = 0; slot < board->server_limit; slot++) {
        scoreboard_process *p = scoreboard_process_at(board, slot);
        pid_t pid = atomic_load_explicit(&p->pid, memory_order_relaxed);
        if (!pid)
            continue;
        int idle, busy;
        int generation = atomic_load_explicit(&p->generation, memory_order_relaxed);
        scoreboard_count_process(board, slot, f->threads, &idle, &busy);
        buffer_printf(b, "<tr><td>%d</td><td>%ld</td><td>%d%s</td><td>%s</td><td>%s</td><td>%d</td>"
                         "<td>%d</td><td>%d</td><td>%d</td></tr>\n",
                      slot, (long)pid, generation, generation == f->generation ? "" : " (old)",
                      atomic_load_explicit(&p->quiescing, memory_order_relaxed) ? "yes" : "no",
                      atomic_load_explicit(&p->not_accepting, memory_order_relaxed) ? "no" : "yes",
                      atomic_load_explicit(&p->connections, memory_order_relaxed),
                      atomic_load_explicit(&p->parked, memory_order_relaxed), busy, idle);
    }
    buffer_append_string(b, "</table>\n");
}

/* A copy of one of the thread's text fields, terminated whatever a
 * concurrent writer is doing. */
static void copy_field(char *out, const char *field, size_t size)
{
    memcpy(out, field, size);
    out[size - 1] = '\0';
}

/* ExtendedStatus's per-thread table (mod_status's columns, minus the CPU
 * and per-connection counts weft does not keep per thread). */
static void render_threads(buffer *b, const scoreboard *board, const status_facts *f)
{
    buffer_append_string(b, "<h2>Threads</h2>\n<table border=\"0\"><tr><th>Srv</th><th>PID</th>"
                            "<th>Gen</th><th>Acc</th><th>M</th><th>SS</th><th>Req</th><th>Slot</th>"
                            "<th>Client</th><th>VHost</th><th>Request</th></tr>\n");
    int64_t now_ms = (int64_t)f->now * 1000;
    for (int slot = 0; slot < board->server_limit; slot++) {
        for (int t = 0; t < board->thread_limit; t++) {
            scoreboard_thread *thread = scoreboard_thread_at(board, slot, t);
            uint64_t accesses = atomic_load_explicit(&thread->access_count, memory_order_relaxed);
            unsigned char status = scoreboard_status(thread);
            if (accesses == 0 && (status == THREAD_READY || status == THREAD_DEAD))
                continue;
            char client[SCOREBOARD_CLIENT_SIZE], request_line[SCOREBOARD_REQUEST_SIZE],
                vhost[SCOREBOARD_VHOST_SIZE];
            copy_field(client, thread->client, sizeof client);
            copy_field(request_line, thread->request, sizeof request_line);
            copy_field(vhost, thread->vhost, sizeof vhost);
            int64_t last = atomic_load_explicit(&thread->last_used_ms, memory_order_relaxed);
            long since = last > 0 && now_ms >= last ? (long)((now_ms - last) / 1000) : 0;
            /* As mod_status: the thread's own pid and generation if the
             * MPM keeps them (weft does not), else its process's. */
            const scoreboard_process *process = scoreboard_process_at(board, slot);
            pid_t pid = atomic_load_explicit(&thread->pid, memory_order_relaxed);
            int generation = atomic_load_explicit(&thread->generation, memory_order_relaxed);
            if (!pid) {
                pid = atomic_load_explicit(&((scoreboard_process *)process)->pid, memory_order_relaxed);
                generation = atomic_load_explicit(&((scoreboard_process *)process)->generation, memory_order_relaxed);
            }
            buffer_printf(b, "<tr><td><b>%d-%d</b></td><td>", slot, t);
            if (status == THREAD_DEAD || !pid)
                buffer_append_string(b, "-");
            else
                buffer_printf(b, "%ld", (long)pid);
            buffer_printf(b, "</td><td>%d</td><td>%llu</td><td><b>%c</b></td><td>%ld</td><td>%llu</td>"
                             "<td>%-2.2f</td><td>",
                          generation, (unsigned long long)accesses, status_scoreboard_char(board, slot, t), since,
                          (unsigned long long)(atomic_load_explicit(&thread->last_duration_us,
                                                                    memory_order_relaxed) / 1000),
                          (double)((float)atomic_load_explicit(&thread->bytes_served, memory_order_relaxed) /
                                   (KBYTE * KBYTE)));
            append_html(b, client);
            buffer_append_string(b, "</td><td nowrap>");
            append_html(b, vhost);
            buffer_append_string(b, "</td><td nowrap>");
            append_html(b, request_line);
            buffer_append_string(b, "</td></tr>\n");
        }
    }
    buffer_append_string(b, "</table>\n<hr />\n<table>\n"
                            "<tr><th>Srv</th><td>Child Server number - thread number</td></tr>\n"
                            "<tr><th>PID</th><td>OS process ID</td></tr>\n"
                            "<tr><th>Gen</th><td>Generation (restart count) of the process</td></tr>\n"
                            "<tr><th>Acc</th><td>Number of accesses this slot</td></tr>\n"
                            "<tr><th>M</th><td>Mode of operation</td></tr>\n"
                            "<tr><th>SS</th><td>Seconds since beginning of most recent request</td></tr>\n"
                            "<tr><th>Req</th><td>Milliseconds required to process most recent request</td></tr>\n"
                            "<tr><th>Slot</th><td>Total megabytes transferred this slot</td></tr>\n"
                            "</table>\n");
}

/* Bytes per `per` (seconds or requests) as Apache computes it, in float,
 * but clamped: the byte count comes from memory every child can write, and
 * a float beyond uint64_t's range converted to it is undefined. */
static uint64_t bounded_rate(uint64_t kbytes, uint64_t per)
{
    double rate = KBYTE * (double)(float)kbytes / (double)(float)per;
    return rate >= 18446744073709549568.0 ? UINT64_MAX : (uint64_t)rate;
}

static void render_html(buffer *b, request *r, const scoreboard *board, const status_facts *f, bool extended,
                        bool table)
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
    if (extended) {
        /* Apache's byte figures: whole kB (body bytes, summed), in its
         * units; the rates are computed from those kB, as there. */
        double tick = (double)f->ticks_per_second;
        uint64_t kbytes = f->bytes / KBYTE;
        char traffic[32];
        status_format_kbytes(traffic, sizeof traffic, kbytes);
        buffer_printf(b, "<dt>Total accesses: %llu - Total Traffic: %s - Total Duration: %llu</dt>\n",
                      (unsigned long long)f->accesses, traffic, (unsigned long long)(f->duration_us / 1000));
        double cpu = (double)(f->cpu_ticks[0] + f->cpu_ticks[1] + f->cpu_ticks[2] + f->cpu_ticks[3]) / tick;
        buffer_printf(b, "<dt>CPU Usage: u%g s%g cu%g cs%g - %.3g%% CPU load</dt>\n",
                      (double)f->cpu_ticks[0] / tick, (double)f->cpu_ticks[1] / tick,
                      (double)f->cpu_ticks[2] / tick, (double)f->cpu_ticks[3] / tick,
                      f->uptime ? cpu / (double)f->uptime * 100.0 : 0.0);
        buffer_append_string(b, "<dt>");
        char rate[32];
        if (f->uptime > 0) {
            status_format_bytes(rate, sizeof rate, bounded_rate(kbytes, (uint64_t)f->uptime));
            buffer_printf(b, "%.3g requests/sec - %s/second",
                          (double)((float)f->accesses / (float)f->uptime), rate);
        }
        if (f->accesses > 0) {
            status_format_bytes(rate, sizeof rate, bounded_rate(kbytes, (uint64_t)f->accesses));
            buffer_printf(b, "%s%s/request - %g ms/request", f->uptime > 0 ? " - " : "", rate,
                          (double)((float)(f->duration_us / 1000) / (float)f->accesses));
        }
        buffer_append_string(b, "</dt>\n");
    }
    buffer_printf(b, "<dt>%d requests currently being processed, %d workers gracefully restarting, "
                     "%d idle workers</dt>\n</dl>",
                  f->busy, f->graceful, f->idle);

    buffer_append_string(b, "<pre>");
    int column = 0;
    for (int slot = 0; slot < f->last_slot; slot++) {
        for (int t = 0; t < f->threads; t++) {
            buffer_append_char(b, status_scoreboard_char(board, slot, t));
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
    buffer_append_string(b, "</p>\n");
    render_processes(b, board, f);
    if (extended && table)
        render_threads(b, board, f);
    buffer_append_string(b, "</body></html>\n");
}

/* ---- the handler ------------------------------------------------------------ */

static bool query_has(const char *query, const char *option)
{
    return query && strstr(query, option) != NULL;
}

/* Apache 2.4: "refresh" alone or with N < 1 means 10 seconds. */
static void add_refresh(request *r)
{
    const char *refresh = r->query ? strstr(r->query, "refresh") : NULL;
    if (!refresh)
        return;
    long seconds = refresh[7] == '=' ? strtol(refresh + 8, NULL, 10) : 0;
    if (seconds < 1 || seconds > 86400)
        seconds = seconds < 1 ? 10 : 86400;
    response_add_header(r, "Refresh", pool_printf(r->pool, "%ld", seconds));
}

static int send_body(request *r, buffer *body)
{
    char *data = pool_strndup(r->pool, body->data, body->length);
    response_set_body_memory(r, data, body->length);
    buffer_free(body);
    r->status = 200;
    return WEFT_OK;
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

    const status_server_config *config = module_server_config(r->server, &status_module);
    bool extended = config->extended_status;
    buffer body;
    const char *query = r->query;
    if (query_has(query, "live") && !query_has(query, "json") && !query_has(query, "auto") &&
        !query_has(query, "metrics")) {
        /* The page only: its figures come from ?json, polled. */
        buffer_init(&body, 16384);
        status_render_live(&body, r);
        r->content_type = "text/html; charset=utf-8";
        return send_body(r, &body);
    }
    status_facts facts;
    status_gather(r, board, &facts);
    buffer_init(&body, 8192);
    if (query_has(r->query, "metrics")) {
        status_render_metrics(&body, board, &facts);
        r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    } else if (query_has(r->query, "json")) {
        status_render_json(&body, r, board, &facts, extended);
        r->content_type = "application/json";
        response_add_header(r, "Cache-Control", "no-store");
    } else if (query_has(r->query, "auto")) {
        render_auto(&body, r, board, &facts, extended);
        r->content_type = "text/plain; charset=ISO-8859-1";
    } else {
        render_html(&body, r, board, &facts, extended, !query_has(r->query, "notable"));
        r->content_type = "text/html; charset=ISO-8859-1";
    }
    add_refresh(r);
    return send_body(r, &body);
}

static const config_directive status_directives[] = {
    { .name = "ExtendedStatus", .contexts = CONTEXT_SERVER_ONLY, .scope = SCOPE_SERVER,
      .offset = offsetof(status_server_config, extended_status), .size = sizeof(bool), .min_args = 1,
      .max_args = 1, .set = config_set_flag, .default_value = "On", .syntax = "On|Off",
      .help = "whether the status page shows totals and the per-thread table (weft keeps the "
              "counters either way)" },
    { .name = NULL },
};

static const char *const status_handlers[] = { "server-status", NULL };

const module status_module = {
    .name = "status",
    .handlers = status_handlers,
    .directives = status_directives,
    .server_config_size = sizeof(status_server_config),
    .handler = status_handler,
};
