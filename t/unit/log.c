/*
 * Unit tests for the error log (log.c) and the access log (access_log.c).
 *
 * The connection layer and the configuration engine are not linked: the
 * functions access_log.c borrows from them are defined below as stand-ins
 * over a fake connection, a fake header table and a fake config_parse.
 */
#include "tap.h"

/* module_server_config / module_dir_config are defined below (module.h). */
#define WEFT_MODULE_CONFIG_STUBS

#include "core/buffer.c"
#include "core/pool.c"
#include "core/log.c"
#include "core/blocking.c"
#include "core/piped_log.c"
#include "modules/access_log.c"

#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- stand-ins ------------------------------------------------------------ */

struct connection {
    const char *peer_address;
    int peer_port;
    const char *local_address;
    int local_port;
};

/* As request.c's (names case-insensitive). */
const char *request_get_env(const request *r, const char *name)
{
    for (int i = 0; i < r->env_count; i++)
        if (strcasecmp(r->env[i].name, name) == 0)
            return r->env[i].value;
    return NULL;
}

const char *connection_peer_address(const connection *c) { return c->peer_address; }
const char *request_remote_host(request *r) { return NULL; }
int connection_peer_port(const connection *c) { return c->peer_port; }
const char *connection_local_address(const connection *c) { return c->local_address; }
int connection_local_port(const connection *c) { return c->local_port; }

/* The request variables (http/request_vars.c) as a TLS request has them. */
const char *request_expr_variable(void *request_pointer, const char *name, pool *p)
{
    static const char *const variables[][2] = {
        { "SSL_PROTOCOL", "TLSv1.3" }, { "SSL_CIPHER", "TLS_AES_128_GCM_SHA256" }, { "HTTPS", "on" },
        { "SSL_CLIENT_S_DN", "CN=alice \"A\",O=Example" }, { "SSL_TLS_SNI", "" },
    };
    for (size_t i = 0; i < COUNT_OF(variables); i++)
        if (strcmp(variables[i][0], name) == 0)
            return variables[i][1];
    return NULL;
}

typedef struct {
    const char *name;
    const char *value;
} test_header;

/* Request headers of the fake requests, by request (at most two at a time). */
typedef struct {
    const request *r;
    test_header headers[8];
    int count;
} test_head;

static _Thread_local test_head test_heads[2];

static void set_headers(const request *r, const test_header *headers, int count)
{
    test_head *head = test_heads[0].r == r || !test_heads[0].r ? &test_heads[0] : &test_heads[1];
    head->r = r;
    head->count = count;
    for (int i = 0; i < count; i++)
        head->headers[i] = headers[i];
}

bool request_header_slice(const request *r, const char *name, slice *value)
{
    for (int h = 0; h < 2; h++) {
        if (test_heads[h].r != r)
            continue;
        for (int i = 0; i < test_heads[h].count; i++)
            if (strcasecmp(test_heads[h].headers[i].name, name) == 0) {
                *value = slice_from_string(test_heads[h].headers[i].value);
                return true;
            }
    }
    return false;
}

struct config_parse {
    server_config *server;
    char error[512];
    int error_count;
};

int config_error(config_parse *parse, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(parse->error, sizeof parse->error, format, args);
    va_end(args);
    parse->error_count++;
    return WEFT_ERROR;
}

struct server_config *config_server(config_parse *parse) { return parse->server; }
pool *config_pool(config_parse *parse) { return parse->server->pool; }
/* No <VirtualHost> here (core/vhost.c), and no DUMP_CONFIG (core/config_dump.c). */
int vhost_count(const server_config *main) { return 0; }
server_config *vhost_server(const server_config *main, int index) { return NULL; }
void config_dump_line(FILE *out, const config_directive *directive, int argc, const char *const *argv) {}

/* module_server_config (core/config_merge.c, not linked): the module's
 * struct for each server_config the tests use, found by address;
 * server_init() empties it. */
static struct {
    const server_config *server;
    access_log_server_config config;
} module_configs[8];

void *module_server_config(const server_config *server, const module *m)
{
    for (size_t i = 0; i < COUNT_OF(module_configs); i++)
        if (module_configs[i].server == server)
            return &module_configs[i].config;
    for (size_t i = 0; i < COUNT_OF(module_configs); i++)
        if (!module_configs[i].server) {
            module_configs[i].server = server;
            return &module_configs[i].config;
        }
    abort();
}

char *config_resolve_path(config_parse *parse, const char *path)
{
    if (path[0] == '/')
        return pool_strdup(parse->server->pool, path);
    return pool_printf(parse->server->pool, "%s/%s", parse->server->server_root, path);
}

/* ---- helpers --------------------------------------------------------------- */

static char temporary_directory[] = "/tmp/weft-log-test-XXXXXX";

static char *temporary_path(const char *name)
{
    static char path[4][512];
    static int next;
    char *result = path[next++ % 4];
    snprintf(result, sizeof path[0], "%s/%s", temporary_directory, name);
    return result;
}

/* The whole file, NUL-terminated (caller frees). */
static char *read_file(const char *path, size_t *length)
{
    int fd = open(path, O_RDONLY);
    buffer b;
    buffer_init(&b, 4096);
    if (fd >= 0) {
        char chunk[65536];
        ssize_t got;
        while ((got = read(fd, chunk, sizeof chunk)) > 0)
            buffer_append(&b, chunk, (size_t)got);
        close(fd);
    }
    if (length)
        *length = b.length;
    return b.data;
}

static bool matches(const char *text, const char *pattern)
{
    regex_t regex;
    if (regcomp(&regex, pattern, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    bool result = regexec(&regex, text, 0, NULL, 0) == 0;
    regfree(&regex);
    return result;
}

static size_t count_lines(const char *text)
{
    size_t count = 0;
    for (; *text; text++)
        count += *text == '\n';
    return count;
}

/* Descriptions of access log checks quote formats, full of '%'. */
#define is_line(got, expected, description) is_string(got, expected, "%s", description)

#define LOG_TIME_PATTERN                                                                        \
    "\\[(Sun|Mon|Tue|Wed|Thu|Fri|Sat) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "      \
    "[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{6} [0-9]{4}\\]"

/* ---- error log ---------------------------------------------------------------- */

static void test_levels(void)
{
    static const char *const names[] = {
        "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug",
        "trace1", "trace2", "trace3", "trace4", "trace5", "trace6", "trace7", "trace8",
    };
    bool all_parse = true, all_named = true;
    for (int i = 0; i < (int)COUNT_OF(names); i++) {
        all_parse &= log_level_parse(names[i]) == i;
        all_named &= strcmp(log_level_name(i), names[i]) == 0;
    }
    ok(all_parse, "log_level_parse knows emerg..trace8");
    ok(all_named, "log_level_name names emerg..trace8");
    is_int(log_level_parse("WARN"), LOG_LEVEL_WARN, "level names are case-insensitive");
    is_int(log_level_parse("Trace8"), LOG_LEVEL_TRACE8, "Trace8");
    is_int(log_level_parse("warning"), -1, "unknown level name");
    is_int(log_level_parse("trace9"), -1, "trace9 is unknown");
    is_int(log_level_parse(NULL), -1, "NULL level name");
    is_string(log_level_name(LOG_LEVEL_TRACE8 + 1), "unknown", "level past trace8 has no name");
    is_string(log_level_name(-1), "unknown", "negative level has no name");
    is_int(log_threshold, LOG_LEVEL_WARN, "default threshold is warn");
    is_int(log_current_fd(), STDERR_FILENO, "before log_use the error log is stderr");
}

static void test_line_format(void)
{
    const char *path = temporary_path("error_log");
    int fd = log_open_file(path);
    ok(fd > STDERR_FILENO, "log_open_file opens %s", path);
    int flags = fcntl(fd, F_GETFL);
    ok((flags & O_APPEND) && (flags & O_ACCMODE) == O_WRONLY, "error log is O_WRONLY|O_APPEND");
    ok(fcntl(fd, F_GETFD) & FD_CLOEXEC, "error log is close-on-exec");
    struct stat st;
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644, "error log is created 0644");

    log_use(fd, LOG_LEVEL_INFO);
    is_int(log_current_fd(), fd, "log_use installs the descriptor");
    is_int(log_current_level(), LOG_LEVEL_INFO, "log_use sets the threshold");
    ok(log_enabled(LOG_LEVEL_INFO) && !log_enabled(LOG_LEVEL_DEBUG), "log_enabled follows the threshold");

    log_message(LOG_LEVEL_ERROR, "hello %d", 42);
    log_message(LOG_LEVEL_DEBUG, "filtered out");
    log_message(LOG_LEVEL_INFO, "second");
    log_error_number(LOG_LEVEL_WARN, ENOENT, "cannot open %s", "x.conf");
    log_error_number(LOG_LEVEL_DEBUG, EACCES, "filtered too");
    log_message(LOG_LEVEL_NOTICE, "two\nlines\r\n");
    errno = EAGAIN;
    log_message(LOG_LEVEL_ERROR, "errno survives");
    is_int(errno, EAGAIN, "log_message preserves errno");

    char pattern[512];
    char *text = read_file(path, NULL);
    snprintf(pattern, sizeof pattern, "^%s \\[error\\] \\[pid %ld:tid %ld\\] hello 42\n", LOG_TIME_PATTERN,
             (long)getpid(), (long)gettid());
    ok(matches(text, pattern), "line format: [time] [level] [pid N:tid N] message");
    ok(!strstr(text, "filtered"), "messages below the threshold are dropped");
    ok(matches(text, "\n" LOG_TIME_PATTERN " \\[info\\] \\[pid [0-9]+:tid [0-9]+\\] second\n"), "info line");
    ok(strstr(text, "] cannot open x.conf: No such file or directory (ENOENT)\n") != NULL,
       "log_error_number appends strerror and the errno name");
    ok(strstr(text, "] two lines\n") != NULL, "embedded newlines become spaces, trailing ones go");
    is_int(count_lines(text), 5, "one line per logged call");
    free(text);

    /* Truncation keeps the newline and the LOG_LINE_MAX limit. */
    int before = (int)strlen(text = read_file(path, NULL));
    free(text);
    char *huge = xmalloc(20001);
    memset(huge, 'a', 20000);
    huge[20000] = '\0';
    log_message(LOG_LEVEL_ERROR, "%s", huge);
    free(huge);
    size_t length;
    text = read_file(path, &length);
    is_int(length - (size_t)before, LOG_LINE_MAX, "a long message is cut to LOG_LINE_MAX bytes");
    ok(text[length - 1] == '\n' && text[length - 2] == 'a', "a truncated line still ends with a newline");
    free(text);
}

static void test_standard_streams(void)
{
    int fd = log_open_file("/dev/stderr");
    ok(fd > STDERR_FILENO && (fcntl(fd, F_GETFD) & FD_CLOEXEC), "/dev/stderr is a close-on-exec duplicate");
    struct stat a, b;
    ok(fstat(fd, &a) == 0 && fstat(STDERR_FILENO, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev,
       "the duplicate is stderr");
    int out = log_open_file("/dev/stdout");
    ok(out > STDERR_FILENO, "/dev/stdout is a duplicate too");
    close(out);

    /* log_use closes the log it replaces, but never 0, 1 or 2. */
    int previous = log_current_fd();
    log_use(fd, LOG_LEVEL_WARN);
    ok(fcntl(previous, F_GETFD) < 0 && errno == EBADF, "log_use closed the previous log file");
    log_use(STDERR_FILENO, LOG_LEVEL_WARN);
    ok(fcntl(fd, F_GETFD) < 0, "log_use closed the stderr duplicate");
    log_use(STDERR_FILENO, LOG_LEVEL_WARN);
    ok(fcntl(STDERR_FILENO, F_GETFD) >= 0, "log_use never closes fd 2");
}

static void test_write_failures(void)
{
    /* Capture stderr, where the complaint goes. */
    const char *report_path = temporary_path("stderr");
    int saved_stderr = dup(STDERR_FILENO);
    int report = open(report_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(report, STDERR_FILENO);
    close(report);

    const char *good_path = temporary_path("error_log_failures");
    int good = open(good_path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    int bad = open("/dev/null", O_RDONLY);
    int fd = dup(bad);  /* the log descriptor: made bad, good, bad again */
    log_use(fd, LOG_LEVEL_WARN);
    log_message(LOG_LEVEL_ERROR, "lost 1");
    log_message(LOG_LEVEL_ERROR, "lost 2");
    dup2(good, fd);
    log_message(LOG_LEVEL_ERROR, "kept");
    dup2(bad, fd);
    log_message(LOG_LEVEL_ERROR, "lost 3");
    log_message(LOG_LEVEL_ERROR, "lost 4");
    log_use(STDERR_FILENO, LOG_LEVEL_WARN);

    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    close(good);
    close(bad);
    char *complaints = read_file(report_path, NULL);
    char *kept = read_file(good_path, NULL);
    is_int(count_lines(complaints), 2, "a failing log is reported once per run of failures");
    ok(strstr(complaints, "writing to the error log failed: Bad file descriptor (EBADF)") != NULL,
       "the report names the reason");
    ok(strstr(kept, "] kept\n") != NULL && !strstr(kept, "lost"), "logging resumes when writes work again");
    free(complaints);
    free(kept);
}

enum { THREADS = 8, LINES_PER_THREAD = 1000 };

static void *error_log_thread(void *argument)
{
    int thread = (int)(intptr_t)argument;
    char padding[301];
    memset(padding, 'a' + thread, 300);
    padding[300] = '\0';
    for (int i = 0; i < LINES_PER_THREAD; i++)
        log_message(LOG_LEVEL_ERROR, "thread %d line %d %s", thread, i, padding);
    return NULL;
}

/* Checks that every "thread T line N <300 x letter T>" arrived whole, once. */
static bool check_thread_lines(char *text, const char *prefix_pattern, int *line_count)
{
    static bool seen[THREADS][LINES_PER_THREAD];
    memset(seen, 0, sizeof seen);
    bool intact = true;
    int count = 0;
    regex_t prefix;
    regcomp(&prefix, prefix_pattern, REG_EXTENDED | REG_NOSUB);
    for (char *line = text, *end; *line; line = end + 1) {
        end = strchr(line, '\n');
        if (!end)
            return false;
        *end = '\0';
        count++;
        const char *message = strstr(line, "thread ");
        int thread, number, offset = 0;
        if (!message || sscanf(message, "thread %d line %d %n", &thread, &number, &offset) != 2 ||
            thread < 0 || thread >= THREADS || number < 0 || number >= LINES_PER_THREAD ||
            seen[thread][number] || strlen(message + offset) != 300 ||
            strspn(message + offset, (char[]){ (char)('a' + thread), 0 }) != 300 ||
            regexec(&prefix, line, 0, NULL, 0) != 0) {
            intact = false;
            continue;
        }
        seen[thread][number] = true;
    }
    regfree(&prefix);
    *line_count = count;
    return intact;
}

static void test_threads(void)
{
    const char *path = temporary_path("error_log_threads");
    log_use(log_open_file(path), LOG_LEVEL_WARN);
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&threads[i], NULL, error_log_thread, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    log_use(STDERR_FILENO, LOG_LEVEL_WARN);

    char *text = read_file(path, NULL);
    int lines = 0;
    bool intact = check_thread_lines(text, "^" LOG_TIME_PATTERN " \\[error\\] \\[pid [0-9]+:tid [0-9]+\\] thread ",
                                     &lines);
    is_int(lines, THREADS * LINES_PER_THREAD, "8 threads x 1000 error log lines all arrived");
    ok(intact, "no error log line is interleaved, cut or duplicated");
    free(text);
}

/* ---- access log: formats ----------------------------------------------------- */

typedef struct {
    request r;
    struct connection connection;
    server_config server;
} fake_request;

static void fake_request_init(fake_request *f, pool *p)
{
    memset(f, 0, sizeof *f);
    f->connection = (struct connection){ "192.0.2.7", 51234, "198.51.100.1", 8080 };
    f->server.server_name = "www.example.com";
    f->r.pool = p;
    f->r.connection = &f->connection;
    f->r.server = &f->server;
    f->r.request_line = "GET /index.html?x=1 HTTP/1.1";
    f->r.method_name = "GET";
    f->r.method = HTTP_METHOD_GET;
    f->r.target = "/index.html?x=1";
    f->r.path = "/index.html";
    f->r.query = "x=1";
    f->r.version_major = 1;
    f->r.version_minor = 1;
    f->r.start_seconds = 1791640536;  /* Sat Oct 10 13:55:36 UTC 2026 */
    clock_gettime(CLOCK_MONOTONIC, &f->r.start_time);
    f->r.status = 200;
    f->r.keep_alive = true;
    set_headers(&f->r, NULL, 0);
}

/* The line for format_text without its newline, in p; or the compile error. */
static const char *line_for(pool *p, const char *format_text, request *r)
{
    char *error = NULL;
    struct access_log_format *format = access_log_compile(p, format_text, &error);
    if (!format)
        return pool_printf(p, "error: %s", error);
    size_t length = access_log_format(format, r, NULL, 0);
    char *line = pool_alloc(p, length + 1);
    access_log_format(format, r, line, length + 1);
    if (length && line[length - 1] == '\n')
        line[length - 1] = '\0';
    else
        return "(no newline)";
    return line;
}

static void test_common_and_combined(pool *p)
{
    fake_request f;
    fake_request_init(&f, p);
    setenv("TZ", "UTC", 1);
    tzset();
    is_line(line_for(p, ACCESS_LOG_FORMAT_COMMON, &f.r),
              "192.0.2.7 - - [10/Oct/2026:13:55:36 +0000] \"GET /index.html?x=1 HTTP/1.1\" 200 -",
              "common: byte-exact, '-' for an empty body");

    f.r.body_bytes_sent = 1234;
    f.r.user = "alice";
    f.r.status = 404;
    static const test_header headers[] = {
        { "Referer", "http://example.com/a b" },
        { "User-Agent", "Mozilla/5.0 \"quoted\" back\\slash \x01 \xc3\xa9\tend" },
    };
    set_headers(&f.r, headers, 2);
    is_line(line_for(p, ACCESS_LOG_FORMAT_COMBINED, &f.r),
              "192.0.2.7 - alice [10/Oct/2026:13:55:36 +0000] \"GET /index.html?x=1 HTTP/1.1\" 404 1234 "
              "\"http://example.com/a b\" \"Mozilla/5.0 \\\"quoted\\\" back\\\\slash \\x01 \\xc3\\xa9\\tend\"",
              "combined: byte-exact, User-Agent escaped like Apache");

    set_headers(&f.r, NULL, 0);
    f.r.request_line = "GET /a\"b\\c\x7f\r\n HTTP/1.1";
    is_line(line_for(p, "\"%r\" \"%{Referer}i\" \"%{User-Agent}i\"", &f.r),
              "\"GET /a\\\"b\\\\c\\x7f\\r\\n HTTP/1.1\" \"-\" \"-\"",
              "%r escapes quotes, backslashes and control bytes; absent headers are '-'");
    f.r.request_line = NULL;
    is_line(line_for(p, "%r", &f.r), "-", "%r without a request line is '-'");

    is_line(line_for(p, "combinedio", &f.r), "combinedio", "nicknames are not formats (resolved by config)");
    is_line(line_for(p, ACCESS_LOG_FORMAT_COMBINEDIO, &f.r) + strlen(line_for(p, ACCESS_LOG_FORMAT_COMBINED, &f.r)),
              " 0 0", "combinedio appends %I %O");

    /* %t: local time with a numeric offset (distinct seconds: the
     * conversion is cached per second). */
    f.r.start_seconds += 100;
    setenv("TZ", "IST-5:30", 1);
    tzset();
    is_line(line_for(p, "%t", &f.r), "[10/Oct/2026:19:27:16 +0530]", "%t east of UTC");
    f.r.start_seconds += 100;
    setenv("TZ", "PST8", 1);
    tzset();
    is_line(line_for(p, "%t", &f.r), "[10/Oct/2026:05:58:56 -0800]", "%t west of UTC");
    setenv("TZ", "UTC", 1);
    tzset();
    f.r.start_seconds = 1791640536 - 86400 * 9;
    is_line(line_for(p, "%t", &f.r), "[01/Oct/2026:13:55:36 +0000]", "%t pads the day");
}

static void test_directives(pool *p)
{
    fake_request f;
    fake_request_init(&f, p);
    request *r = &f.r;
    r->start_time.tv_sec -= 2;  /* the request began 2 seconds ago */
    r->body_bytes_sent = 0;
    r->bytes_sent = 180;
    r->bytes_received = 75;
    r->file_path = "/srv/www/index.html";

    is_line(line_for(p, "100%% %a %A %h", r), "100% 192.0.2.7 198.51.100.1 192.0.2.7", "%% %a %A %h");
    request_env_entry env[] = { { "FOO", "bar \"baz\"" }, { "empty", "" } };
    r->env = env;
    r->env_count = 2;
    is_line(line_for(p, "%{FOO}e|%{foo}e|%{empty}e|%{none}e", r), "bar \\\"baz\\\"|bar \\\"baz\\\"||-",
            "%{VAR}e: the request environment, escaped; case-insensitive names; unset is -");
    r->env = NULL;
    r->env_count = 0;
    is_line(line_for(p, "%{SSL_PROTOCOL}x %{SSL_CIPHER}x %{HTTPS}x|%{SSL_CLIENT_S_DN}x|%{SSL_TLS_SNI}x %{NONE}x %x", r),
            "TLSv1.3 TLS_AES_128_GCM_SHA256 on|CN=alice \\\"A\\\",O=Example|- - -",
            "%{VAR}x: request variables (mod_ssl's), escaped; empty, unknown or none is -");
    is_line(line_for(p, "%{version}c %{cipher}c %{subjectdn}c %{errcode}c %c", r),
            "TLSv1.3 TLS_AES_128_GCM_SHA256 CN=alice \\\"A\\\",O=Example - -",
            "mod_ssl's %{version}c, %{cipher}c, %{subjectdn}c; others -");
    is_line(line_for(p, "%{c}a %{c}h", r), "192.0.2.7 192.0.2.7", "%{c}a (no proxy: the peer)");
    is_line(line_for(p, "%b %B %O %I %S", r), "- 0 180 75 255", "%b %B %O %I %S");
    r->body_bytes_sent = 42;
    is_line(line_for(p, "%b %B", r), "42 42", "%b and %B with a body");
    is_line(line_for(p, "%T %{s}T", r), "2 2", "%T and %{s}T in whole seconds");
    long milliseconds = atol(line_for(p, "%{ms}T", r));
    ok(milliseconds >= 2000 && milliseconds < 3000, "%%{ms}T in milliseconds (%ld)", milliseconds);
    long microseconds = atol(line_for(p, "%D", r)), us = atol(line_for(p, "%{us}T", r));
    ok(microseconds >= 2000000 && microseconds < 3000000 && us >= microseconds,
       "%%D and %%{us}T in microseconds (%ld, %ld)", microseconds, us);
    is_line(line_for(p, "%H %m %l %e %{HOME}e %n %L", r), "HTTP/1.1 GET - - - - -", "%H %m %l %e %n %L");
    r->version_minor = 0;
    is_line(line_for(p, "%H", r), "HTTP/1.0", "%H HTTP/1.0");
    is_line(line_for(p, "%p %{canonical}p %{local}p %{remote}p", r), "8080 8080 8080 51234", "%p variants");
    is_line(line_for(p, "%P", r), pool_printf(p, "%ld", (long)getpid()), "%P is the pid");
    is_line(line_for(p, "%{pid}P %{tid}P %{hextid}P", r),
              pool_printf(p, "%ld %ld %lx", (long)getpid(), (long)gettid(), (long)gettid()), "%{pid|tid|hextid}P");
    is_line(line_for(p, "[%q] %U %f", r), "[?x=1] /index.html /srv/www/index.html", "%q %U %f");
    r->query = NULL;
    r->path = "/caf\xc3\xa9 \"x\"";
    is_line(line_for(p, "[%q] %U", r), "[] /caf\\xc3\\xa9 \\\"x\\\"", "%q without a query, %U escaped");
    is_line(line_for(p, "%s %>s %<s", r), "200 200 200", "%s %>s %<s");
    r->status = 0;
    is_line(line_for(p, "%s", r), "-", "%s before a status is '-'");
    r->status = 200;

    is_line(line_for(p, "%u", r), "-", "%u without a user");
    r->user = "";
    is_line(line_for(p, "%u", r), "\"\"", "%u empty user, as Apache");
    r->user = "bob\"\n";
    is_line(line_for(p, "%u", r), "bob\\\"\\n", "%u escaped");

    is_line(line_for(p, "%v %V", r), "www.example.com www.example.com", "%v, and %V without Host");
    static const test_header host[] = { { "Host", "WWW.Example.COM:8080" }, { "Cookie", "a=1; Session = xyz ;c=\"q\"" } };
    set_headers(r, host, 2);
    is_line(line_for(p, "%V", r), "www.example.com", "%V: Host lower-cased, without port");
    is_line(line_for(p, "%{session}C|%{c}C|%{none}C|%C", r), "xyz|\\\"q\\\"|-|-", "%{name}C cookies");
    static const test_header host6[] = { { "Host", "[2001:DB8::1]:443" } };
    set_headers(r, host6, 1);
    is_line(line_for(p, "%V", r), "[2001:db8::1]", "%V: IPv6 Host keeps its brackets");

    is_line(line_for(p, "%X", r), "+", "%X keep-alive");
    r->keep_alive = false;
    is_line(line_for(p, "%X", r), "-", "%X close");
    r->body = BODY_MEMORY;
    r->body_length = 100;
    r->body_bytes_sent = 40;
    is_line(line_for(p, "%X", r), "X", "%X aborted before the body was sent");
    r->head_only = true;
    is_line(line_for(p, "%X", r), "-", "%X: HEAD sends no body, not aborted");

    response_header extra[] = {
        { "X-Custom", "v\"1" }, { "Set-Cookie", "a=1" }, { "set-cookie", "b=2" }, { "Vary", "A" }, { "vary", "B" },
    };
    r->headers = extra;
    r->header_count = 5;
    r->content_type = "text/html; charset=utf-8";
    r->etag = "\"abc\"";
    r->last_modified = 784111777;
    is_line(line_for(p, "%{X-Custom}o|%{Set-Cookie}o|%{Vary}o|%{Missing}o", r), "v\\\"1|a=1, b=2|A|-",
              "%{name}o from handler headers (Set-Cookie joined)");
    is_line(line_for(p, "%{Content-Type}o|%{Content-Length}o|%{ETag}o|%{Last-Modified}o", r),
              "text/html|100|\\\"abc\\\"|Sun, 06 Nov 1994 08:49:37 GMT", "%{name}o derived fields");
    r->body = BODY_NONE;
    r->content_type = NULL;
    is_line(line_for(p, "%{Content-Type}o %{Content-Length}o", r), "- -", "%{name}o absent fields");
}

static void test_times(pool *p)
{
    fake_request f;
    fake_request_init(&f, p);
    request *r = &f.r;
    setenv("TZ", "UTC", 1);
    tzset();
    is_line(line_for(p, "%{%Y-%m-%d %H:%M:%S}t", r), "2026-10-10 13:55:36", "%{strftime}t");
    is_line(line_for(p, "%{begin:%d/%b}t %{begin}t", r), "10/Oct [10/Oct/2026:13:55:36 +0000]", "%{begin:...}t");
    is_line(line_for(p, "%{sec}t %{begin:sec}t", r), "1791640536 1791640536", "%{sec}t");
    long end = atol(line_for(p, "%{end:sec}t", r));
    ok(labs(end - (long)time(NULL)) <= 1, "%%{end:sec}t is now");
    const char *fraction = line_for(p, "%{msec_frac}t.%{usec_frac}t", r);
    ok(matches(fraction, "^[0-9]{3}\\.[0-9]{6}$"), "%%{msec_frac}t and %%{usec_frac}t are zero-padded (%s)", fraction);
    long long msec = atoll(line_for(p, "%{end:msec}t", r)), usec = atoll(line_for(p, "%{end:usec}t", r));
    ok(msec / 1000 - time(NULL) <= 1 && usec / 1000 >= msec, "%%{end:msec}t and %%{end:usec}t");
}

static void test_conditions_and_errors(pool *p)
{
    fake_request f;
    fake_request_init(&f, p);
    request *r = &f.r;
    static const test_header headers[] = { { "User-Agent", "curl/8" }, { "Referer", "/from" } };
    set_headers(r, headers, 2);
    const char *format = "%400,501{User-agent}i %!200,304{Referer}i";
    is_line(line_for(p, format, r), "- -", "conditions: 200 is neither listed nor excluded");
    r->status = 501;
    is_line(line_for(p, format, r), "curl/8 /from", "conditions: 501 listed, not excluded");
    r->status = 304;
    is_line(line_for(p, format, r), "- -", "conditions: 304 excluded by '!'");
    is_line(line_for(p, "%!304s %304s", r), "- 304", "conditions on %s");

    is_line(line_for(p, "%h %Z", r), "error: unknown format directive %Z", "unknown directive named");
    is_line(line_for(p, "%{Referer", r), "error: missing '}' after %{", "unterminated %{");
    is_line(line_for(p, "abc %", r), "error: incomplete format directive at the end of the format", "lone % at the end");
    is_line(line_for(p, "%{hours}T", r), "error: unknown argument %{hours}T", "bad %T unit");
    is_line(line_for(p, "%{peer}p", r), "error: unknown argument %{peer}p", "bad %p argument");
    is_line(line_for(p, "%^ti", r), "error: unknown format directive %^", "%^ti is not supported");
    is_line(line_for(p, "a\\tb\\nc\\\\d\\qe", r), "a\tb\nc\\d\\qe", "backslash escapes in literal text");
    is_line(line_for(p, "", r), "", "empty format gives an empty line");

    char small[10];
    struct access_log_format *compiled = access_log_compile(p, ACCESS_LOG_FORMAT_COMMON, &(char *){ NULL });
    size_t needed = access_log_format(compiled, r, small, sizeof small);
    ok(needed == strlen(line_for(p, ACCESS_LOG_FORMAT_COMMON, r)) + 1 && strcmp(small, "192.0.2.7") == 0,
       "access_log_format truncates like snprintf and returns the full length");
}

/* ---- access log: configuration and files ------------------------------------ */

static int run_directive(config_parse *parse, const char *name, int argc, const char **argv)
{
    for (const config_directive *d = access_log_module.directives; d->name; d++)
        if (strcmp(d->name, name) == 0) {
            if (argc < d->min_args || (d->max_args != ARGS_UNLIMITED && argc > d->max_args))
                return config_error(parse, "%s: wrong number of arguments", name);
            return d->set(parse, d, (char *)module_server_config(parse->server, &access_log_module) + d->offset, argc,
                          (char **)argv);
        }
    return config_error(parse, "no directive %s", name);
}

static void server_init(server_config *server, config_parse *parse)
{
    memset(server, 0, sizeof *server);
    memset(module_server_config(server, &access_log_module), 0, sizeof(access_log_server_config));
    server->pool = pool_create(8192);
    server->server_root = temporary_directory;
    server->server_name = "www.example.com";
    memset(parse, 0, sizeof *parse);
    parse->server = server;
}

static void test_configuration(void)
{
    is_line(access_log_module.name, "log_config", "module name answers <IfModule mod_log_config.c>");
    ok(access_log_module.post_config != NULL, "the module compiles formats in post_config");

    server_config server;
    config_parse parse;
    server_init(&server, &parse);
    is_int(run_directive(&parse, "LogFormat", 2, (const char *[]){ "%h %Z", "bad" }), WEFT_ERROR, "LogFormat %%Z refused");
    is_line(parse.error, "LogFormat: unknown format directive %Z", "LogFormat error names the directive");
    is_int(run_directive(&parse, "CustomLog", 2, (const char *[]){ "|", "common" }), WEFT_ERROR,
           "a piped CustomLog without a program refused");
    is_line(parse.error, "CustomLog: the piped log \"|\" names no program", "empty pipe message");
    run_directive(&parse, "CustomLog", 2, (const char *[]){ "logs/x", "%h %Z" });
    is_line(parse.error, "CustomLog: unknown format directive %Z", "CustomLog format checked where written");
    run_directive(&parse, "CustomLog", 3, (const char *[]){ "logs/x", "common", "expr=true" });
    is_line(parse.error, "CustomLog: the condition 'expr=true' is not supported: weft takes env=[!]variable",
            "expr= refused");
    run_directive(&parse, "CustomLog", 3, (const char *[]){ "logs/x", "common", "env=" });
    is_line(parse.error, "CustomLog: the condition 'env=' is not supported: weft takes env=[!]variable",
            "env= without a name refused");
    is_int(log_settings(&server)->custom_log_count + log_settings(&server)->log_format_count, 0, "refused directives store nothing");

    parse.error_count = 0;
    run_directive(&parse, "LogFormat", 2, (const char *[]){ "%h %>s", "short" });
    run_directive(&parse, "LogFormat", 1, (const char *[]){ "%m %U" });
    run_directive(&parse, "CustomLog", 2, (const char *[]){ "short_log", "short" });
    run_directive(&parse, "CustomLog", 2, (const char *[]){ "later_log", "later" });
    run_directive(&parse, "CustomLog", 2, (const char *[]){ "combined_log", "combined" });
    run_directive(&parse, "CustomLog", 2, (const char *[]){ "/dev/stdout", "%h\\t%s" });
    run_directive(&parse, "TransferLog", 1, (const char *[]){ "transfer_log" });
    run_directive(&parse, "LogFormat", 2, (const char *[]){ "%U later", "later" });
    run_directive(&parse, "LogFormat", 2, (const char *[]){ "%U redefined", "short" });
    is_int(parse.error_count, 0, "valid LogFormat/CustomLog/TransferLog accepted");
    is_int(access_log_module.post_config(&parse, &server), WEFT_OK, "post_config accepts them");
    is_int(log_settings(&server)->custom_log_count, 5, "five logs defined");
    is_line(log_settings(&server)->custom_logs[0].path, temporary_path("short_log"), "paths resolve against ServerRoot");
    is_line(log_settings(&server)->custom_logs[3].path, "/dev/stdout", "/dev/stdout stays");
    is_line(log_settings(&server)->custom_logs[0].format, "%U redefined", "the last definition of a nickname wins");
    is_line(log_settings(&server)->custom_logs[1].format, "%U later", "nicknames defined after CustomLog resolve");
    is_line(log_settings(&server)->custom_logs[2].format, ACCESS_LOG_FORMAT_COMBINED, "combined is predefined");
    is_line(log_settings(&server)->custom_logs[4].format, "%m %U", "TransferLog uses the one-argument LogFormat");
    ok(log_settings(&server)->access_logs && log_settings(&server)->access_logs->count == 5 && log_settings(&server)->access_logs->files[0].fd == -1,
       "post_config compiles every log, nothing opened yet");
    pool_destroy(server.pool);

    server_init(&server, &parse);
    run_directive(&parse, "CustomLog", 2, (const char *[]){ "x_log", "nope" });
    run_directive(&parse, "TransferLog", 1, (const char *[]){ "t_log" });
    is_int(access_log_module.post_config(&parse, &server), WEFT_ERROR, "unknown nickname refused");
    is_line(parse.error, pool_printf(server.pool, "CustomLog %s: unknown log format nickname \"nope\"",
                                       temporary_path("x_log")), "unknown nickname message");
    is_line(log_settings(&server)->custom_logs[1].format, ACCESS_LOG_FORMAT_COMMON, "TransferLog defaults to common");
    pool_destroy(server.pool);
}

static void test_files(void)
{
    const char *error_log_path = temporary_path("error_log_access");
    log_use(log_open_file(error_log_path), LOG_LEVEL_WARN);

    server_config server;
    config_parse parse;
    server_init(&server, &parse);
    run_directive(&parse, "CustomLog", 2, (const char *[]){ "access_log", "common" });
    run_directive(&parse, "CustomLog", 2, (const char *[]){ "agent_log", "%{User-Agent}i" });
    access_log_module.post_config(&parse, &server);
    is_int(access_log_open(&server), WEFT_OK, "access_log_open opens the logs");
    int fd = log_settings(&server)->access_logs->files[0].fd;
    ok(fd > STDERR_FILENO && (fcntl(fd, F_GETFL) & O_APPEND) && (fcntl(fd, F_GETFD) & FD_CLOEXEC),
       "access logs are O_APPEND and close-on-exec");

    pool *request_pool = pool_create(4096);
    fake_request f;
    fake_request_init(&f, request_pool);
    f.r.server = &server;
    setenv("TZ", "UTC", 1);
    tzset();
    char *long_agent = xmalloc(40001);
    memset(long_agent, 'x', 40000);
    long_agent[40000] = '\0';
    test_header agent[] = { { "User-Agent", long_agent } };
    set_headers(&f.r, agent, 1);
    access_log_write(&f.r);
    is_int(access_log_open(&server), WEFT_OK, "access_log_open again reopens");
    access_log_write(&f.r);
    char *common = read_file(temporary_path("access_log"), NULL);
    is_line(common,
              "192.0.2.7 - - [10/Oct/2026:13:55:36 +0000] \"GET /index.html?x=1 HTTP/1.1\" 200 -\n"
              "192.0.2.7 - - [10/Oct/2026:13:55:36 +0000] \"GET /index.html?x=1 HTTP/1.1\" 200 -\n",
              "access_log_write appends one line per response");
    size_t agent_length;
    char *agents = read_file(temporary_path("agent_log"), &agent_length);
    ok(agent_length == 2 * 40001 && agents[40000] == '\n' && strspn(agents, "x") == 40000,
       "a line longer than the thread buffer is written whole");
    free(common);
    free(agents);
    free(long_agent);

    /* A failing write is reported once in the error log and never stops. */
    int bad = open("/dev/null", O_RDONLY);
    int good = log_settings(&server)->access_logs->files[0].fd;
    log_settings(&server)->access_logs->files[0].fd = bad;
    set_headers(&f.r, NULL, 0);
    access_log_write(&f.r);
    access_log_write(&f.r);
    log_settings(&server)->access_logs->files[0].fd = good;
    close(bad);
    char *errors = read_file(error_log_path, NULL);
    is_int(count_lines(errors), 1, "write failures reported once");
    ok(strstr(errors, pool_printf(request_pool, "writing to access log %s failed; lines are lost until it "
                                  "works again: Bad file descriptor (EBADF)", temporary_path("access_log"))) != NULL,
       "the report names the file and the reason");
    free(errors);

    access_log_close(&server);
    ok(log_settings(&server)->access_logs->files[0].fd == -1 && fcntl(good, F_GETFD) < 0, "access_log_close closes the logs");
    access_log_write(&f.r);  /* closed logs are skipped */
    pool_destroy(server.pool);

    server_init(&server, &parse);
    run_directive(&parse, "CustomLog", 2, (const char *[]){ "ok_log", "common" });
    run_directive(&parse, "CustomLog", 2, (const char *[]){ "missing/dir/log", "common" });
    access_log_module.post_config(&parse, &server);
    is_int(access_log_open(&server), WEFT_ERROR, "access_log_open fails for an impossible path");
    ok(log_settings(&server)->access_logs->files[0].fd == -1, "after a failure nothing stays open");
    errors = read_file(error_log_path, NULL);
    ok(strstr(errors, pool_printf(request_pool, "] could not open access log %s: No such file or directory (ENOENT)\n",
                                  temporary_path("missing/dir/log"))) != NULL, "the error names the file and the reason");
    free(errors);
    pool_destroy(server.pool);
    pool_destroy(request_pool);
    log_use(STDERR_FILENO, LOG_LEVEL_WARN);
}

static server_config *thread_server;

static void *access_log_thread(void *argument)
{
    int thread = (int)(intptr_t)argument;
    pool *request_pool = pool_create(4096);
    char padding[301], thread_text[16], line_text[16];
    memset(padding, 'a' + thread, 300);
    padding[300] = '\0';
    snprintf(thread_text, sizeof thread_text, "%d", thread);
    fake_request f;
    fake_request_init(&f, request_pool);
    f.r.server = thread_server;
    test_header headers[] = { { "X-Thread", thread_text }, { "X-Line", line_text }, { "User-Agent", padding } };
    set_headers(&f.r, headers, 3);
    for (int i = 0; i < LINES_PER_THREAD; i++) {
        snprintf(line_text, sizeof line_text, "%d", i);
        access_log_write(&f.r);
        pool_reset(request_pool);
    }
    pool_destroy(request_pool);
    return NULL;
}

static void test_access_log_threads(void)
{
    server_config server;
    config_parse parse;
    server_init(&server, &parse);
    run_directive(&parse, "CustomLog", 2,
                  (const char *[]){ "threads_log", "%h %t thread %{X-Thread}i line %{X-Line}i %{User-Agent}i" });
    access_log_module.post_config(&parse, &server);
    access_log_open(&server);
    thread_server = &server;
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&threads[i], NULL, access_log_thread, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    access_log_close(&server);

    char *text = read_file(temporary_path("threads_log"), NULL);
    int lines = 0;
    bool intact = check_thread_lines(text, "^192\\.0\\.2\\.7 \\[10/Oct/2026:13:55:36 \\+0000\\] thread ", &lines);
    is_int(lines, THREADS * LINES_PER_THREAD, "8 threads x 1000 access log lines all arrived");
    ok(intact, "no access log line is interleaved, cut or duplicated");
    free(text);
    pool_destroy(server.pool);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

int main(void)
{
    umask(022);
    if (!mkdtemp(temporary_directory)) {
        perror("mkdtemp");
        return 1;
    }
    test_levels();
    test_line_format();
    test_standard_streams();
    test_write_failures();
    test_threads();

    pool *p = pool_create(16384);
    test_common_and_combined(p);
    test_directives(p);
    test_times(p);
    test_conditions_and_errors(p);
    pool_destroy(p);
    test_configuration();
    test_files();
    test_access_log_threads();

    nftw(temporary_directory, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return done_testing();
}
