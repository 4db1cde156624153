/*
 * status_json.c — /server-status?json: one JSON document with everything the
 * HTML page shows and the regulation's own account (what the control process
 * decided, and why), for the ?live page and for programs.
 *
 * The format is stable: "version" is 1, fields are documented one by one in
 * docs/operations.md, and later versions only add fields.
 *
 * Cheap by design, as ?live polls it every second: the thread states are
 * read from the scoreboard once, into a snapshot, and every figure that
 * depends on them (per process, per state, the totals) comes from that one
 * snapshot, so they add up whatever the threads do meanwhile; the document
 * is written into the one buffer the handler sends.
 *
 * Trust: the scoreboard is data any child may have overwritten.  Every
 * index comes from this process's memory (the handle's limits, the
 * configuration, SCOREBOARD_DECISIONS); a state letter outside the known
 * ones shows as "?", a code no version wrote as "unknown", and every string
 * goes through status_json_string, so the document stays valid JSON.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/buffer.h"
#include "../core/pool.h"
#include "../http/request.h"
#include "../mpm/scoreboard.h"
#include "status_internal.h"

#define JSON_VERSION 1

/* ---- small writers -------------------------------------------------------- */

/* `,"key":` — every member after the first of its object. */
static void key(buffer *b, const char *name)
{
    buffer_append_string(b, ",\"");
    buffer_append_string(b, name);
    buffer_append_string(b, "\":");
}

static void put_int(buffer *b, int64_t value)
{
    if (value < 0) {
        buffer_append_char(b, '-');
        buffer_append_unsigned(b, (uint64_t)0 - (uint64_t)value);
    } else {
        buffer_append_unsigned(b, (uint64_t)value);
    }
}

static void member_int(buffer *b, const char *name, int64_t value)
{
    key(b, name);
    put_int(b, value);
}

static void member_unsigned(buffer *b, const char *name, uint64_t value)
{
    key(b, name);
    buffer_append_unsigned(b, value);
}

static void member_bool(buffer *b, const char *name, bool value)
{
    key(b, name);
    buffer_append_string(b, value ? "true" : "false");
}

static void member_string(buffer *b, const char *name, const char *value)
{
    key(b, name);
    status_json_string(b, value, strlen(value));
}

/* Seconds with three decimals; finite by construction (a ratio of counts). */
static void member_seconds(buffer *b, const char *name, double value)
{
    key(b, name);
    buffer_printf(b, "%.3f", value);
}

/* ---- the snapshot ------------------------------------------------------------ */

typedef struct {
    pid_t pid;
    int generation;
    bool quiescing, accepting;
    int connections, parked;
    int64_t started_ms;
    int busy, idle;
} process_view;

typedef struct {
    int busy, idle, graceful, other;   /* threads of live, non-quiescing children */
    int processes;                     /* of those */
} worker_counts;

static bool counts_busy(unsigned char status)
{
    return scoreboard_status_known(status) && status != THREAD_READY && status != THREAD_DEAD &&
           status != THREAD_STARTING && status != THREAD_IDLE_KILL && status != THREAD_GRACEFUL;
}

/* One read of every process record and every thread state (first `threads`
 * of each slot); states holds server_limit x threads letters. */
static void take_snapshot(const scoreboard *board, const status_facts *f, process_view *views,
                          unsigned char *states, worker_counts *w)
{
    memset(w, 0, sizeof *w);
    for (int slot = 0; slot < board->server_limit; slot++) {
        scoreboard_process *record = scoreboard_process_at(board, slot);
        process_view *v = &views[slot];
        v->pid = atomic_load_explicit(&record->pid, memory_order_relaxed);
        v->generation = atomic_load_explicit(&record->generation, memory_order_relaxed);
        v->quiescing = atomic_load_explicit(&record->quiescing, memory_order_relaxed) != 0;
        v->accepting = atomic_load_explicit(&record->not_accepting, memory_order_relaxed) == 0;
        v->connections = atomic_load_explicit(&record->connections, memory_order_relaxed);
        v->parked = atomic_load_explicit(&record->parked, memory_order_relaxed);
        v->started_ms = atomic_load_explicit(&record->started_ms, memory_order_relaxed);
        v->busy = v->idle = 0;
        bool counted = v->pid && !v->quiescing;
        bool current = v->generation == f->generation;
        w->processes += counted;
        unsigned char *row = states + (size_t)slot * (size_t)f->threads;
        for (int t = 0; t < f->threads; t++) {
            unsigned char status = scoreboard_status(scoreboard_thread_at(board, slot, t));
            if (!scoreboard_status_known(status))
                status = '?';
            row[t] = status;
            v->idle += status == THREAD_READY;
            v->busy += counts_busy(status);
            if (!counted)
                continue;
            /* As mod_status: idle only in the current generation. */
            if (status == THREAD_READY && current)
                w->idle++;
            else if (status == THREAD_GRACEFUL)
                w->graceful++;
            else if (counts_busy(status))
                w->busy++;
            else
                w->other++;
        }
    }
}

/* ---- the parts ---------------------------------------------------------------- */

static void render_totals(buffer *b, const status_facts *f)
{
    buffer_append_string(b, ",\"totals\":{\"accesses\":");
    buffer_append_unsigned(b, f->accesses);
    member_unsigned(b, "bytes", f->bytes);
    member_unsigned(b, "duration_ms", f->duration_us / 1000);
    buffer_append_string(b, ",\"responses\":{");
    for (int i = 0; i < 5; i++) {
        buffer_printf(b, "%s\"%dxx\":", i ? "," : "", i + 1);
        buffer_append_unsigned(b, f->status_classes[i]);
    }
    double tick = (double)f->ticks_per_second;
    buffer_printf(b, "},\"cpu\":{\"user\":%.3f", (double)f->cpu_ticks[STATUS_CPU_USER] / tick);
    member_seconds(b, "system", (double)f->cpu_ticks[STATUS_CPU_SYSTEM] / tick);
    member_seconds(b, "children_user", (double)f->cpu_ticks[STATUS_CPU_CHILDREN_USER] / tick);
    member_seconds(b, "children_system", (double)f->cpu_ticks[STATUS_CPU_CHILDREN_SYSTEM] / tick);
    buffer_append_string(b, "}}");
}

static void render_scoreboard(buffer *b, const scoreboard *board, const status_facts *f, const process_view *views,
                              const unsigned char *states)
{
    /* The rows shown: up to the process cap, or further where an
     * old-generation process still holds a slot (as the page). */
    int last_slot = f->last_slot;
    for (int slot = last_slot; slot < board->server_limit; slot++)
        if (views[slot].pid)
            last_slot = slot + 1;
    unsigned counts[256] = { 0 };
    buffer_append_string(b, ",\"scoreboard\":{\"threads_per_child\":");
    buffer_append_unsigned(b, (uint64_t)f->threads);
    member_int(b, "slots", last_slot);
    key(b, "states");
    buffer_append_char(b, '"');
    size_t length = (size_t)last_slot * (size_t)f->threads;
    buffer_append(b, states, length);  /* known letters and '?', none needing an escape */
    buffer_append_char(b, '"');
    for (size_t i = 0; i < length; i++)
        counts[states[i]]++;
    buffer_append_string(b, ",\"counts\":{");
    bool first = true;
    for (int letter = 0; letter < 256; letter++) {
        if (!counts[letter])
            continue;
        buffer_printf(b, "%s\"%c\":%u", first ? "" : ",", letter, counts[letter]);
        first = false;
    }
    buffer_append_string(b, "}}");
}

static void render_processes(buffer *b, const scoreboard *board, const status_facts *f, const process_view *views)
{
    buffer_append_string(b, ",\"processes\":[");
    bool first = true;
    for (int slot = 0; slot < board->server_limit; slot++) {
        const process_view *v = &views[slot];
        if (!v->pid)
            continue;
        buffer_append_string(b, first ? "{\"slot\":" : ",{\"slot\":");
        first = false;
        put_int(b, slot);
        member_int(b, "pid", v->pid);
        member_int(b, "generation", v->generation);
        member_bool(b, "old", v->generation != f->generation);
        member_bool(b, "quiescing", v->quiescing);
        member_bool(b, "accepting", v->accepting);
        member_int(b, "connections", v->connections);
        member_int(b, "parked", v->parked);
        member_int(b, "busy", v->busy);
        member_int(b, "idle", v->idle);
        member_int(b, "started_ms", v->started_ms);
        buffer_append_char(b, '}');
    }
    buffer_append_char(b, ']');
}

/* A copy of a thread's text field, terminated whatever its writer does. */
static size_t copy_field(char *out, const char *field, size_t size)
{
    memcpy(out, field, size);
    out[size - 1] = '\0';
    return strlen(out);
}

static void member_field(buffer *b, const char *name, const char *field, size_t size)
{
    char text[SCOREBOARD_REQUEST_SIZE > SCOREBOARD_CLIENT_SIZE ? SCOREBOARD_REQUEST_SIZE : SCOREBOARD_CLIENT_SIZE];
    if (size > sizeof text)
        size = sizeof text;
    size_t length = copy_field(text, field, size);
    key(b, name);
    status_json_string(b, text, length);
}

/* ExtendedStatus's per-thread rows: the threads that ever served. */
static void render_threads(buffer *b, const scoreboard *board, const status_facts *f, const process_view *views)
{
    buffer_append_string(b, ",\"threads\":[");
    bool first = true;
    int64_t now_ms = (int64_t)f->now * 1000;
    for (int slot = 0; slot < board->server_limit; slot++) {
        for (int t = 0; t < board->thread_limit; t++) {
            scoreboard_thread *thread = scoreboard_thread_at(board, slot, t);
            uint64_t accesses = atomic_load_explicit(&thread->access_count, memory_order_relaxed);
            unsigned char status = scoreboard_status(thread);
            if (accesses == 0 && (status == THREAD_READY || status == THREAD_DEAD))
                continue;
            buffer_append_string(b, first ? "{\"slot\":" : ",{\"slot\":");
            first = false;
            put_int(b, slot);
            member_int(b, "thread", t);
            pid_t pid = atomic_load_explicit(&thread->pid, memory_order_relaxed);
            int generation = atomic_load_explicit(&thread->generation, memory_order_relaxed);
            if (!pid) {
                pid = views[slot].pid;
                generation = views[slot].generation;
            }
            member_int(b, "pid", pid);
            member_int(b, "generation", generation);
            key(b, "state");
            buffer_append_char(b, '"');
            buffer_append_char(b, scoreboard_status_known(status) ? (char)status : '?');
            buffer_append_char(b, '"');
            member_unsigned(b, "accesses", accesses);
            member_unsigned(b, "bytes", atomic_load_explicit(&thread->bytes_served, memory_order_relaxed));
            int64_t last = atomic_load_explicit(&thread->last_used_ms, memory_order_relaxed);
            member_int(b, "seconds_since", last > 0 && now_ms >= last ? (now_ms - last) / 1000 : 0);
            member_unsigned(b, "last_duration_ms",
                            atomic_load_explicit(&thread->last_duration_us, memory_order_relaxed) / 1000);
            member_field(b, "client", thread->client, sizeof thread->client);
            member_field(b, "vhost", thread->vhost, sizeof thread->vhost);
            member_field(b, "request", thread->request, sizeof thread->request);
            buffer_append_char(b, '}');
        }
    }
    buffer_append_char(b, ']');
}

static void render_decisions(buffer *b, const scoreboard_regulation *shown)
{
    scoreboard_regulation *regulation = (scoreboard_regulation *)shown;
    uint64_t recorded = atomic_load_explicit(&regulation->decisions, memory_order_acquire);
    uint64_t count = recorded < SCOREBOARD_DECISIONS ? recorded : SCOREBOARD_DECISIONS;
    member_unsigned(b, "decisions_total", recorded);
    buffer_append_string(b, ",\"decisions\":[");
    for (uint64_t k = 0; k < count; k++) {
        scoreboard_decision *d = &regulation->decision[(recorded - 1 - k) % SCOREBOARD_DECISIONS];
        unsigned action = atomic_load_explicit(&d->action, memory_order_relaxed);
        unsigned reason = atomic_load_explicit(&d->reason, memory_order_relaxed);
        const char *action_name = scoreboard_action_name(action);
        const char *reason_text = scoreboard_reason_text(reason);
        buffer_append_string(b, k ? ",{\"time_ms\":" : "{\"time_ms\":");
        put_int(b, atomic_load_explicit(&d->time_ms, memory_order_relaxed));
        member_string(b, "action", action_name ? action_name : "unknown");
        member_unsigned(b, "reason_code", reason);
        member_string(b, "reason", reason_text ? reason_text : "unknown");
        member_int(b, "count", atomic_load_explicit(&d->count, memory_order_relaxed));
        int idle = atomic_load_explicit(&d->idle, memory_order_relaxed);
        key(b, "idle");
        if (idle < 0)
            buffer_append_string(b, "null");
        else
            put_int(b, idle);
        member_int(b, "children", atomic_load_explicit(&d->children, memory_order_relaxed));
        buffer_append_char(b, '}');
    }
    buffer_append_char(b, ']');
}

static void render_regulation(buffer *b, const request *r, const scoreboard *board, const status_facts *f)
{
    scoreboard_regulation *shown = board->regulation;
    int64_t updated = atomic_load_explicit(&shown->updated_ms, memory_order_relaxed);
    buffer_append_string(b, ",\"regulation\":{\"updated_ms\":");
    put_int(b, updated);
    member_int(b, "idle", atomic_load_explicit(&shown->idle, memory_order_relaxed));
    /* Before the control process's first cycle, the configuration's. */
    member_int(b, "min_spare_threads",
               updated ? atomic_load_explicit(&shown->min_spare, memory_order_relaxed) : r->server->min_spare_threads);
    member_int(b, "max_spare_threads",
               updated ? atomic_load_explicit(&shown->max_spare, memory_order_relaxed) : r->server->max_spare_threads);
    member_int(b, "spawn_rate", atomic_load_explicit(&shown->spawn_rate, memory_order_relaxed));
    member_int(b, "children", atomic_load_explicit(&shown->children, memory_order_relaxed));
    member_int(b, "starting", atomic_load_explicit(&shown->starting, memory_order_relaxed));
    member_int(b, "stopping", atomic_load_explicit(&shown->stopping, memory_order_relaxed));
    member_int(b, "max_processes", r->server->max_processes);
    member_unsigned(b, "children_started", f->children_started);
    member_unsigned(b, "children_crashed", f->children_crashed);
    member_unsigned(b, "spawn_rate_events", f->spawn_rate_events);
    render_decisions(b, shown);
    buffer_append_char(b, '}');
}

/* ---- the document ---------------------------------------------------------------- */

void status_render_json(buffer *b, request *r, const scoreboard *board, const status_facts *f, bool extended)
{
    process_view *views = pool_alloc(r->pool, sizeof *views * (size_t)board->server_limit);
    unsigned char *states = pool_alloc(r->pool, (size_t)board->server_limit * (size_t)(f->threads ? f->threads : 1));
    worker_counts w;
    take_snapshot(board, f, views, states, &w);
    double loads[3] = { 0, 0, 0 };
    getloadavg(loads, 3);

    buffer_reserve(b, 2048 + (size_t)board->server_limit * (size_t)f->threads * (extended ? 300 : 1));
    buffer_append_string(b, "{\"version\":");
    buffer_append_unsigned(b, JSON_VERSION);
    buffer_append_string(b, ",\"server\":{\"name\":");
    const char *name = request_server_name(r);
    status_json_string(b, name, strlen(name));
    member_string(b, "version", STATUS_SERVER_DESCRIPTION);
    member_string(b, "mpm", "worker");
    member_string(b, "built", STATUS_BUILD_DATE);
    member_bool(b, "extended_status", extended);
    buffer_append_string(b, "},\"time\":{\"now_ms\":");
    put_int(b, realtime_ms());
    member_int(b, "now", f->now);
    member_int(b, "restart", f->restart);
    member_int(b, "start", f->start);
    member_unsigned(b, "uptime", f->uptime);
    buffer_printf(b, "},\"load\":[%.2f,%.2f,%.2f]", loads[0], loads[1], loads[2]);
    buffer_printf(b, ",\"generation\":{\"mpm\":%d,\"config\":%d}", f->generation, f->config_generation);
    render_totals(b, f);
    buffer_append_string(b, ",\"workers\":{\"busy\":");
    put_int(b, w.busy);
    member_int(b, "idle", w.idle);
    member_int(b, "graceful", w.graceful);
    member_int(b, "other", w.other);
    member_int(b, "processes", w.processes);
    buffer_append_char(b, '}');
    buffer_printf(b, ",\"connections\":{\"open\":%d,\"parked\":%d}", f->connections, f->parked);
    render_scoreboard(b, board, f, views, states);
    render_processes(b, board, f, views);
    render_regulation(b, r, board, f);
    if (extended)
        render_threads(b, board, f, views);
    buffer_append_string(b, "}\n");
}
