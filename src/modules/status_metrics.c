/*
 * status_metrics.c — /server-status?metrics: the scoreboard in the
 * Prometheus text exposition format, version 0.0.4, so that Prometheus
 * scrapes weft directly (no apache_exporter in between) and gets what ?auto
 * cannot carry: responses by status class, a request duration histogram,
 * child restarts and crashes.
 *
 * Every family has one HELP and one TYPE line before its samples; counters
 * end in _total and only grow (until an ungraceful restart clears the
 * scoreboard, which Prometheus reads as a counter reset).  The histogram is
 * summed over the per-thread buckets of the scoreboard; _count is its +Inf
 * bucket, so the two always agree.
 */
#include <stdio.h>
#include <string.h>

#include "../core/buffer.h"
#include "status_internal.h"

static void family(buffer *b, const char *name, const char *type, const char *help)
{
    buffer_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_unsigned(buffer *b, const char *name, const char *labels, uint64_t value)
{
    buffer_printf(b, "%s%s %llu\n", name, labels ? labels : "", (unsigned long long)value);
}

static void sample_double(buffer *b, const char *name, const char *labels, double value)
{
    buffer_printf(b, "%s%s %.17g\n", name, labels ? labels : "", value);
}

/* Label values are fixed words here, so no escaping is needed. */
static const struct {
    char letter;
    const char *name;
} slot_states[] = {
    { '_', "idle" },    { 'S', "starting" }, { 'R', "reading" },  { 'W', "sending" },
    { 'K', "keepalive" }, { 'D', "dns" },    { 'C', "closing" },  { 'L', "logging" },
    { 'G', "graceful" }, { 'I', "idle_cleanup" }, { '.', "open" },
};

static void render_histogram(buffer *b, const status_facts *f)
{
    static const int64_t bounds_us[] = SCOREBOARD_DURATION_BOUNDS_US;
    const char *name = "weft_request_duration_seconds";
    family(b, name, "histogram", "Time from the first byte of a request to the end of its response.");
    uint64_t cumulative = 0;
    for (int i = 0; i < SCOREBOARD_DURATION_BUCKETS; i++) {
        cumulative += f->duration_buckets[i];
        char labels[48];
        if (i < (int)COUNT_OF(bounds_us))
            snprintf(labels, sizeof labels, "{le=\"%g\"}", (double)bounds_us[i] / 1e6);
        else
            snprintf(labels, sizeof labels, "{le=\"+Inf\"}");
        sample_unsigned(b, "weft_request_duration_seconds_bucket", labels, cumulative);
    }
    sample_double(b, "weft_request_duration_seconds_sum", NULL, (double)f->duration_us / 1e6);
    sample_unsigned(b, "weft_request_duration_seconds_count", NULL, cumulative);
}

void status_render_metrics(buffer *b, const scoreboard *board, const status_facts *f)
{
    (void)board;
    family(b, "weft_info", "gauge", "Version and process model of the running server.");
    buffer_printf(b, "weft_info{version=\"%s\",mpm=\"worker\"} 1\n", WEFT_VERSION);
    family(b, "weft_start_time_seconds", "gauge", "When the control process started (Unix time).");
    sample_unsigned(b, "weft_start_time_seconds", NULL, (uint64_t)f->start);
    family(b, "weft_restart_time_seconds", "gauge", "When the server last started or restarted (Unix time).");
    sample_unsigned(b, "weft_restart_time_seconds", NULL, (uint64_t)f->restart);
    family(b, "weft_generation", "gauge", "Restart generation: mpm counts every restart, config every "
                                          "successful configuration read.");
    buffer_printf(b, "weft_generation{kind=\"mpm\"} %d\n", f->generation);
    buffer_printf(b, "weft_generation{kind=\"config\"} %d\n", f->config_generation);

    family(b, "weft_requests_total", "counter", "Requests served.");
    sample_unsigned(b, "weft_requests_total", NULL, f->accesses);
    family(b, "weft_sent_bytes_total", "counter",
           "Response body bytes sent (header fields not counted, as in Apache's mod_status).");
    sample_unsigned(b, "weft_sent_bytes_total", NULL, f->bytes);
    family(b, "weft_responses_total", "counter", "Responses by status class.");
    for (int i = 0; i < 5; i++) {
        char labels[24];
        snprintf(labels, sizeof labels, "{class=\"%dxx\"}", i + 1);
        sample_unsigned(b, "weft_responses_total", labels, f->status_classes[i]);
    }
    render_histogram(b, f);

    family(b, "weft_threads", "gauge", "Worker threads of current children, as mod_status counts them.");
    buffer_printf(b, "weft_threads{state=\"busy\"} %d\n", f->busy);
    buffer_printf(b, "weft_threads{state=\"idle\"} %d\n", f->idle);
    buffer_printf(b, "weft_threads{state=\"graceful\"} %d\n", f->graceful);
    family(b, "weft_scoreboard_slots", "gauge", "Scoreboard thread slots by state.");
    for (size_t i = 0; i < COUNT_OF(slot_states); i++)
        buffer_printf(b, "weft_scoreboard_slots{state=\"%s\"} %u\n", slot_states[i].name,
                      f->slot_states[(unsigned char)slot_states[i].letter]);
    family(b, "weft_processes", "gauge", "Child processes alive.");
    sample_unsigned(b, "weft_processes", NULL, (uint64_t)f->processes);
    family(b, "weft_processes_stopping", "gauge", "Child processes finishing their requests before they exit.");
    sample_unsigned(b, "weft_processes_stopping", NULL, (uint64_t)f->stopping);
    family(b, "weft_connections", "gauge", "Open client connections, parked ones included.");
    sample_unsigned(b, "weft_connections", NULL, (uint64_t)(f->connections > 0 ? f->connections : 0));
    family(b, "weft_connections_parked", "gauge", "Open connections waiting between requests (no thread held).");
    sample_unsigned(b, "weft_connections_parked", NULL, (uint64_t)(f->parked > 0 ? f->parked : 0));

    family(b, "weft_children_started_total", "counter", "Child processes forked by the control process.");
    sample_unsigned(b, "weft_children_started_total", NULL, f->children_started);
    family(b, "weft_children_crashed_total", "counter", "Child processes that died of a signal nobody sent them.");
    sample_unsigned(b, "weft_children_crashed_total", NULL, f->children_crashed);
    family(b, "weft_spawn_rate_events_total", "counter",
           "Maintenance cycles that forked 8 or more children at once (\"server seems busy\").");
    sample_unsigned(b, "weft_spawn_rate_events_total", NULL, f->spawn_rate_events);

    family(b, "weft_cpu_seconds_total", "counter", "CPU time of the control process and its children.");
    static const char *const modes[] = { "user", "system", "children_user", "children_system" };
    for (int i = 0; i < 4; i++) {
        char labels[32];
        snprintf(labels, sizeof labels, "{mode=\"%s\"}", modes[i]);
        sample_double(b, "weft_cpu_seconds_total", labels, (double)f->cpu_ticks[i] / (double)f->ticks_per_second);
    }
    family(b, "weft_uptime_seconds", "gauge", "Seconds since the last start or restart.");
    sample_unsigned(b, "weft_uptime_seconds", NULL, f->uptime);
}
