/*
 * status_internal.h — what the status page (status.c) and its Prometheus
 * rendering (status_metrics.c) share: one pass over the scoreboard gathers
 * every figure either of them prints.
 */
#ifndef WEFT_MODULES_STATUS_INTERNAL_H
#define WEFT_MODULES_STATUS_INTERNAL_H

#include <stdint.h>
#include <time.h>

#include "../core/buffer.h"
#include "../http/request.h"
#include "../mpm/scoreboard.h"

#ifndef WEFT_BUILD_DATE
#define WEFT_BUILD_DATE __DATE__ " " __TIME__
#endif
#define STATUS_BUILD_DATE WEFT_BUILD_DATE
#define STATUS_SERVER_DESCRIPTION WEFT_NAME "/" WEFT_VERSION " (Unix)"

enum { STATUS_CPU_USER, STATUS_CPU_SYSTEM, STATUS_CPU_CHILDREN_USER, STATUS_CPU_CHILDREN_SYSTEM };

typedef struct {
    /* Threads, counted as mod_status does: processes with a pid that are
     * not quiescing; idle = '_' of the current generation; graceful = 'G';
     * busy = anything but '_', '.', 'S', 'I', 'G'. */
    int busy, idle, graceful;
    int processes, stopping;          /* live children, and those of them quiescing */
    int connections, parked;          /* open connections, and those parked between requests */
    /* Cumulative over every slot (ExtendedStatus). */
    uint64_t accesses, bytes, duration_us;
    uint64_t status_classes[5];       /* 1xx .. 5xx */
    uint64_t duration_buckets[SCOREBOARD_DURATION_BUCKETS];
    unsigned long long cpu_ticks[4];  /* STATUS_CPU_*, in clock ticks */
    long ticks_per_second;
    /* The scoreboard as shown: slots 0 .. last_slot - 1, `threads` each. */
    int last_slot, threads;
    unsigned slot_states[256];        /* how many shown slots have each status letter */
    int generation, config_generation;
    time_t now, restart, start;
    unsigned long uptime;             /* seconds since the last restart, as Apache */
    uint64_t children_started, children_crashed, spawn_rate_events;
} status_facts;

void status_gather(const request *r, const scoreboard *board, status_facts *f);
/* The status letter of a thread as the page shows it ('?' if unknown). */
char status_scoreboard_char(const scoreboard *board, int slot, int thread);

/* APR's "%g" as Apache's ?auto prints numbers: six significant digits, no
 * leading zero before the point (".25"), exponent without padding ("1.e+6"
 * for a round million).  Returns the length written (snprintf semantics). */
size_t status_format_apache_g(char *out, size_t size, double value);

/* Byte figures of the HTML page, as mod_status's format_byte_out ("4096 B",
 * "12.5 kB", "3.2 MB", "1.0 GB") and format_kbyte_out ("800 kB", "1.5 MB"). */
size_t status_format_bytes(char *out, size_t size, uint64_t bytes);
size_t status_format_kbytes(char *out, size_t size, uint64_t kbytes);

/* text[0 .. length) as a JSON string, quotes included: '"', '\\', control
 * characters, DEL, '<', '>' and '&' escaped; well-formed UTF-8 kept; any
 * other byte (a request line is any bytes) as the Latin-1 character it is
 * on the HTML page, \u00XX, so the document is always valid JSON. */
void status_json_string(buffer *b, const char *text, size_t length);

/* ?json (status_json.c): everything the page shows, and the regulation's
 * account; per-request detail only with extended. */
void status_render_json(buffer *b, request *r, const scoreboard *board, const status_facts *f, bool extended);

/* ?live (status_live.c): the page that draws ?json; sets its own
 * Content-Security-Policy. */
void status_render_live(buffer *b, request *r);

/* ?metrics: the Prometheus text exposition format 0.0.4. */
void status_render_metrics(buffer *b, const scoreboard *board, const status_facts *f);

#endif
