/*
 * control_notify.c — what the control process tells systemd (Type=notify,
 * os/sd_notify.h): READY=1 once the first children serve, RELOADING=1 and
 * READY=1 around a restart, STOPPING=1 when it stops, and a STATUS= line
 * with the scoreboard summary ("Idle/busy workers 23/2; 1234 requests"),
 * sent when it changes and at most once a second.  Without NOTIFY_SOCKET
 * all of this costs one test per call.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../os/sd_notify.h"
#include "control_internal.h"

#define STATUS_INTERVAL_MS 1000

static bool ready_sent;
static int64_t status_sent_at;
static char status_sent[160];

/* The summary mod_systemd sends, from the scoreboard: idle and busy threads
 * of current children, and every request served so far. */
static void summarize(const control_state *s, char *out, size_t size)
{
    int idle_total = 0, busy_total = 0;
    uint64_t requests = 0;
    int threads = s->server->threads_per_child < s->thread_limit ? s->server->threads_per_child : s->thread_limit;
    for (int slot = 0; slot < s->server_limit; slot++) {
        for (int t = 0; t < s->thread_limit; t++)
            requests += atomic_load_explicit(&scoreboard_thread_at(&s->board, slot, t)->access_count,
                                             memory_order_relaxed);
        if (!s->children || !s->children[slot].pid || s->children[slot].quiescing ||
            s->children[slot].generation != s->generation)
            continue;
        int idle, busy;
        scoreboard_count_process(&s->board, slot, threads, &idle, &busy);
        idle_total += idle;
        busy_total += busy;
    }
    snprintf(out, size, "Idle/busy workers %d/%d; %llu requests", idle_total, busy_total,
             (unsigned long long)requests);
}

void control_notify_ready(control_state *s)
{
    if (!sd_notify_enabled())
        return;
    char status[sizeof status_sent];
    summarize(s, status, sizeof status);
    if (s->detached)
        sd_notify_printf("READY=1\nMAINPID=%ld\nSTATUS=%s", (long)getpid(), status);
    else
        sd_notify_printf("READY=1\nSTATUS=%s", status);
    ready_sent = true;
    memcpy(status_sent, status, sizeof status_sent);
    status_sent_at = monotonic_ms();
}

void control_notify_tick(control_state *s, int64_t now, bool started)
{
    if (!sd_notify_enabled())
        return;
    if (!ready_sent) {
        if (started)
            control_notify_ready(s);
        return;
    }
    if (now - status_sent_at < STATUS_INTERVAL_MS)
        return;
    char status[sizeof status_sent];
    summarize(s, status, sizeof status);
    if (strcmp(status, status_sent) == 0)
        return;
    sd_notify_printf("STATUS=%s", status);
    memcpy(status_sent, status, sizeof status_sent);
    status_sent_at = now;
}

void control_notify_reloading(void)
{
    if (!sd_notify_enabled() || !ready_sent)
        return;
    /* MONOTONIC_USEC lets a systemd with Type=notify-reload (253+) match
     * this reload to its request; older ones ignore it. */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    sd_notify_printf("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading the configuration",
                     (unsigned long long)now.tv_sec * 1000000ULL + (unsigned long long)now.tv_nsec / 1000);
}

void control_notify_reloaded(control_state *s)
{
    if (ready_sent)
        control_notify_ready(s);
}

void control_notify_stopping(void)
{
    sd_notify_send("STOPPING=1\nSTATUS=Stopping");
}
