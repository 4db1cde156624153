/*
 * bench-scoreboard.c — what the per-request scoreboard work costs: the
 * extended status copy (scoreboard_note_request) and the counters, status
 * class and histogram bucket (scoreboard_count_request), against the three
 * locked atomic additions the connection layer made before.
 *
 *   cc -O2 -std=c17 -D_GNU_SOURCE -Isrc -o build/bench-scoreboard tools/bench-scoreboard.c
 *   build/bench-scoreboard
 */
#include "mpm/scoreboard.c"

#include <stdio.h>

static double seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

int main(void)
{
    scoreboard board;
    if (scoreboard_create(&board, 1, 1, NULL) != WEFT_OK)
        return 1;
    scoreboard_thread *t = scoreboard_thread_at(&board, 0, 0);
    const char *line = "GET /index.html HTTP/1.1";
    const int n = 20000000;

    double t0 = seconds();
    for (int i = 0; i < n; i++) {
        scoreboard_note_request(t, "127.0.0.1", line, strnlen(line, 4 * SCOREBOARD_REQUEST_SIZE), "localhost", 1000);
        __asm__ volatile("" : : "r"(t) : "memory");
    }
    double t1 = seconds();
    for (int i = 0; i < n; i++)
        scoreboard_count_request(t, 200, 512, 1200 + (i & 1023));
    double t2 = seconds();
    for (int i = 0; i < n; i++) {
        atomic_fetch_add_explicit(&t->access_count, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&t->bytes_served, 512, memory_order_relaxed);
        atomic_fetch_add_explicit(&t->duration_total_us, 1200, memory_order_relaxed);
    }
    double t3 = seconds();
    printf("per request: note %.1f ns, count %.1f ns (before: three locked additions, %.1f ns)\n",
           (t1 - t0) / n * 1e9, (t2 - t1) / n * 1e9, (t3 - t2) / n * 1e9);
    scoreboard_destroy(&board);
    return 0;
}
