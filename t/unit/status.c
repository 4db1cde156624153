/*
 * Unit tests: APR's "%g" as the status page's ?auto prints numbers
 * (modules/status_format.c), the scoreboard's per-request accounting (status
 * classes, duration histogram) and its extended status fields, passwords
 * removed (mpm/scoreboard.c), and the piped log writer's cut at PIPE_BUF
 * (core/piped_log.c, on a pipe of the test's own).
 */
#include "tap.h"

#include "core/buffer.c"
#include "core/log.c"
#include "core/pool.c"
#include "core/blocking.c"
#include "core/piped_log.c"
#include "modules/status_format.c"
#include "mpm/scoreboard.c"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- APR's %g ------------------------------------------------------------- */

static void check_g(double value, const char *expected)
{
    char text[64];
    status_format_apache_g(text, sizeof text, value);
    ok(strcmp(text, expected) == 0, "%%g of %.10g is \"%s\" (got \"%s\")", value, expected, text);
}

static void test_apache_g(void)
{
    /* Values seen in real Apache 2.4 ?auto output. */
    check_g(0, "0");
    check_g(0.25, ".25");
    check_g(0.0262535, ".0262535");
    check_g(0.146931, ".146931");
    check_g(178.275, "178.275");
    check_g(1213.33, "1213.33");
    check_g(1.9425, "1.9425");
    check_g(18.02, "18.02");
    /* Six significant digits, rounded. */
    check_g(2.0 / 3.0, ".666667");
    check_g(1234.56789, "1234.57");
    /* Plain notation while at most four zeros pad the digits, then E-style
     * with an unpadded exponent and the point kept. */
    check_g(3, "3");
    check_g(100, "100");
    check_g(1234567, "1234570");
    check_g(12345678, "12345700");
    check_g(1e6, "1.e+6");
    check_g(2.5e7, "2.5e+7");
    check_g(1e100, "1.e+100");
    check_g(0.0001, ".0001");
    check_g(0.00001, "1.e-5");
    check_g(0.000012345, "1.2345e-5");
    check_g(-0.5, "-.5");
    /* The float arithmetic mod_status does before printing. */
    check_g((float)1 / (float)3, ".333333");
    check_g(1024 * (float)33011 / (float)189613, "178.275");
}

/* ---- scoreboard accounting -------------------------------------------------- */

static void test_counting(void)
{
    scoreboard board;
    ok(scoreboard_create(&board, 1, 2, NULL) == WEFT_OK, "scoreboard created");
    scoreboard_thread *t = scoreboard_thread_at(&board, 0, 0);
    scoreboard_count_request(t, 200, 100, 4000);      /* 4 ms: first bucket (le 5 ms) */
    scoreboard_count_request(t, 404, 50, 5000);       /* exactly 5 ms: still le 5 ms */
    scoreboard_count_request(t, 503, 10, 700000);     /* 0.7 s: le 1 s */
    scoreboard_count_request(t, 301, 0, 60000000);    /* a minute: +Inf */
    scoreboard_count_request(t, 101, 0, -3);          /* clock went back: counted as 0 */
    is_int((int)t->access_count, 5, "five requests counted");
    is_int((int)t->bytes_served, 160, "bytes added up");
    is_int((int)t->status_classes[0], 1, "one 1xx");
    is_int((int)t->status_classes[1], 1, "one 2xx");
    is_int((int)t->status_classes[2], 1, "one 3xx");
    is_int((int)t->status_classes[3], 1, "one 4xx");
    is_int((int)t->status_classes[4], 1, "one 5xx");
    is_int((int)t->duration_buckets[0], 3, "4 ms, 5 ms and 0 in the first bucket (le is inclusive)");
    is_int((int)t->duration_buckets[7], 1, "0.7 s in the le=1 bucket");
    is_int((int)t->duration_buckets[SCOREBOARD_DURATION_BUCKETS - 1], 1, "a minute in +Inf");
    uint64_t total = 0;
    for (int i = 0; i < SCOREBOARD_DURATION_BUCKETS; i++)
        total += t->duration_buckets[i];
    is_int((int)total, 5, "every request in exactly one bucket");
    is_int((int)t->last_duration_us, 0, "last duration kept");
    scoreboard_destroy(&board);
}

static void check_note(const char *line, const char *expected)
{
    scoreboard_thread t;
    memset(&t, 0, sizeof t);
    scoreboard_note_request(&t, "192.0.2.1", line, strnlen(line, 4 * SCOREBOARD_REQUEST_SIZE), "www.example",
                            1000);
    ok(strcmp(t.request, expected) == 0, "request shown as \"%s\" (got \"%s\")", expected, t.request);
}

static void test_extended_fields(void)
{
    scoreboard_thread t;
    memset(&t, 0, sizeof t);
    scoreboard_note_request(&t, "2001:db8::1", "GET / HTTP/1.1", 14, "a.example", 1234);
    is_string(t.client, "2001:db8::1", "client copied");
    is_string(t.vhost, "a.example", "vhost copied");
    is_string(t.request, "GET / HTTP/1.1", "request line copied");
    is_int((int)(t.last_used_ms / 1000), 1234, "start time kept (ms)");
    scoreboard_note_request(&t, NULL, NULL, 0, NULL, 0);
    is_string(t.request, "", "no request line: empty");

    check_note("GET http://user:secret@example.com/x HTTP/1.1", "GET http://user@example.com/x HTTP/1.1");
    check_note("GET http://example.com:8080/x HTTP/1.1", "GET http://example.com:8080/x HTTP/1.1");
    check_note("GET /path?user:pass@x HTTP/1.1", "GET /path?user:pass@x HTTP/1.1");
    check_note("GET ftp://a:b@h HTTP/1.1", "GET ftp://a@h HTTP/1.1");
    check_note("OPTIONS * HTTP/1.1", "OPTIONS * HTTP/1.1");
    /* The '@' may lie beyond what is copied: the colon's tail is dropped. */
    char long_line[600];
    snprintf(long_line, sizeof long_line, "GET http://user:%0300d@example.com/ HTTP/1.1", 7);
    scoreboard_thread u;
    memset(&u, 0, sizeof u);
    scoreboard_note_request(&u, "c", long_line, 200, "v", 0);
    ok(strstr(u.request, "0000") == NULL, "a password cut off by the copy window is not shown (\"%s\")",
       u.request);
    scoreboard_note_request(&u, "c", long_line, strlen(long_line), "v", 0);
    is_string(u.request, "GET http://user@example.com/ HTTP/1.1", "the whole line seen: the password goes");
    scoreboard_note_request(&u, "c", long_line + 15, strlen(long_line + 15), "v", 0);
    is_int((int)strlen(u.request), SCOREBOARD_REQUEST_SIZE - 1, "the copy is capped");
    char long_client[200];
    memset(long_client, 'a', sizeof long_client - 1);
    long_client[sizeof long_client - 1] = '\0';
    scoreboard_note_request(&u, long_client, "GET / HTTP/1.1", 14, long_client, 0);
    is_int((int)strlen(u.client), SCOREBOARD_CLIENT_SIZE - 1, "client capped");
    is_int((int)strlen(u.vhost), SCOREBOARD_VHOST_SIZE - 1, "vhost capped");
}

/* ---- piped log writes ---------------------------------------------------------- */

static void test_piped_write(void)
{
    char error[256];
    piped_log *log = piped_log_open("cat", error, sizeof error);
    ok(log != NULL, "piped log opened (its program is not started here)");
    if (!log)
        return;
    ok(fcntl(piped_log_fd(log), F_GETFL) & O_NONBLOCK, "the write end is non-blocking");
    ok(piped_log_open("cat", error, sizeof error) == log, "the same command is the same log");
    piped_log_release(log);
    is_int(piped_log_write(log, "one line\n", 9), WEFT_OK, "a short line is written");
    char big[PIPE_BUF + 100];
    memset(big, 'x', sizeof big);
    big[sizeof big - 1] = '\n';
    is_int(piped_log_write(log, big, sizeof big), WEFT_OK, "a long line is written, cut");
    char got[2 * PIPE_BUF];
    ssize_t n = read(log->read_fd, got, sizeof got);
    is_int((int)n, 9 + PIPE_BUF, "one short line and one of PIPE_BUF bytes");
    ok(n > 9 && got[n - 1] == '\n', "the cut line still ends with a newline");
    is_int((int)atomic_load(&log->shared->truncated), 1, "the cut is counted");
    piped_log_shutdown();
}

/* mod_status's format_byte_out and format_kbyte_out (HTML page figures). */
static void check_bytes(uint64_t bytes, bool kilo, const char *expected)
{
    char text[64];
    if (kilo)
        status_format_kbytes(text, sizeof text, bytes);
    else
        status_format_bytes(text, sizeof text, bytes);
    ok(strcmp(text, expected) == 0, "%s %llu is \"%s\" (got \"%s\")", kilo ? "kbytes" : "bytes",
       (unsigned long long)bytes, expected, text);
}

static void test_byte_units(void)
{
    check_bytes(0, false, "0 B");
    check_bytes(5119, false, "5119 B");
    check_bytes(5120, false, "5.0 kB");
    check_bytes(524287, false, "512.0 kB");
    check_bytes(524288, false, "0.5 MB");
    check_bytes(536870911, false, "512.0 MB");
    check_bytes(536870912, false, "0.5 GB");
    check_bytes(0, true, "0 kB");
    check_bytes(1023, true, "1023 kB");
    check_bytes(1024, true, "1.0 MB");
    check_bytes(1536, true, "1.5 MB");
    check_bytes(1048576, true, "1.0 GB");
}

int main(void)
{
    test_apache_g();
    test_byte_units();
    test_counting();
    test_extended_fields();
    test_piped_write();
    return done_testing();
}
