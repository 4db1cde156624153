/*
 * access_log.c — mod_log_config's formats and the CustomLog files
 * (contract in access_log.h).
 *
 * A format is compiled once into a list of items, each a writer function
 * plus its digested argument, so that writing a line is a walk over the list
 * with no parsing.  Everything a client can influence (request line, header
 * values, user, path) goes through the same escaping as Apache's
 * ap_escape_logitem, which is what keeps a client from forging log lines.
 */
#include "access_log.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/vhost.h"
#include "../core/piped_log.h"
#include "../http/request_vars.h"


typedef struct {
    char *name;
    char *format;
} log_format_definition;

typedef struct {
    char *path;      /* resolved file name, or "|program" */
    char *format;    /* the format string, nicknames already resolved */
    char *condition; /* CustomLog's "env=[!]variable" as written, NULL = every request */
} custom_log_definition;

/* LogFormat, CustomLog and TransferLog as written, and the logs post_config
 * compiled from them (with their descriptors once open). */
typedef struct {
    log_format_definition *log_formats;
    int log_format_count;
    custom_log_definition *custom_logs;  /* CustomLog's row spans this and the count */
    int custom_log_count;
    struct access_log_set *access_logs;
} access_log_server_config;

static access_log_server_config *log_settings(const server_config *server)
{
    return module_server_config(server, &access_log_module);
}

/* Long enough for a common or combined line with large headers; longer lines
 * are formatted a second time into the request pool. */
#define ACCESS_LOG_LINE_BUFFER 16384
#define ACCESS_LOG_MAX_STATUSES 32

typedef struct {
    char *out;
    size_t capacity;            /* bytes of out usable for text (size - 1) */
    size_t length;              /* bytes the whole line needs so far */
    request *r;
    struct timespec now_monotonic;
    struct timespec now_wall;
} line_writer;

typedef struct log_item log_item;
typedef void (*item_writer)(line_writer *w, const log_item *item);

struct log_item {
    item_writer write;
    const char *text;           /* literal text, or the {argument} ("" if none) */
    size_t text_length;
    int mode;                   /* from the directive table, refined by prepare() */
    const int *statuses;        /* %400,501x: only for these statuses ... */
    int status_count;
    bool statuses_negated;      /* ... or, with '!', for all others */
};

struct access_log_format {
    log_item *items;
    int item_count;
};

typedef struct {
    const char *path;
    const char *format_text;
    struct access_log_format *format;
    const char *env;            /* env=[!]variable: only when it is set (unset); NULL = always */
    bool env_negated;
    int fd;                     /* -1 until access_log_open() */
    piped_log *pipe;            /* "|program": fd is its write end */
    bool write_failing;         /* shared by threads: atomics only */
} access_log_file;

struct access_log_set {
    access_log_file *files;
    int count;
};

/* ---- output ------------------------------------------------------------ */

static void emit(line_writer *w, const char *data, size_t length)
{
    if (w->length < w->capacity) {
        size_t room = w->capacity - w->length;
        memcpy(w->out + w->length, data, length < room ? length : room);
    }
    w->length += length;
}

static void emit_string(line_writer *w, const char *string)
{
    emit(w, string, strlen(string));
}

static void emit_dash(line_writer *w)
{
    emit(w, "-", 1);
}

static void emit_unsigned(line_writer *w, uint64_t value)
{
    char digits[24];
    emit(w, digits, format_unsigned(digits, value));
}

static inline bool log_byte_needs_escape(unsigned char c)
{
    return c < 0x20 || c >= 0x7f || c == '"' || c == '\\';
}

/* ap_escape_logitem: \" \\ \b \n \r \t \v, and \xhh for every other byte
 * that is not printable ASCII. */
static void emit_escaped(line_writer *w, const char *data, size_t length)
{
    static const char hex[] = "0123456789abcdef";
    size_t run_start = 0;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)data[i];
        if (LIKELY(!log_byte_needs_escape(c)))
            continue;
        emit(w, data + run_start, i - run_start);
        run_start = i + 1;
        char escaped[4] = { '\\', (char)c, 0, 0 };
        size_t escaped_length = 2;
        switch (c) {
        case '\b': escaped[1] = 'b'; break;
        case '\n': escaped[1] = 'n'; break;
        case '\r': escaped[1] = 'r'; break;
        case '\t': escaped[1] = 't'; break;
        case '\v': escaped[1] = 'v'; break;
        case '"': case '\\': break;
        default:
            escaped[1] = 'x';
            escaped[2] = hex[c >> 4];
            escaped[3] = hex[c & 15];
            escaped_length = 4;
        }
        emit(w, escaped, escaped_length);
    }
    emit(w, data + run_start, length - run_start);
}

/* ---- time ---------------------------------------------------------------- */

static const char access_log_month_names[12][4] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};
static const char access_log_day_names[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

/* localtime_r takes glibc's timezone lock: convert each second once per
 * thread, which also caches the "[10/Oct/2026:13:55:36 +0000]" text. */
static _Thread_local time_t access_log_cached_second = -1;
static _Thread_local struct tm access_log_cached_tm;
static _Thread_local char access_log_cached_clf[48];
static _Thread_local size_t access_log_cached_clf_length;

static const struct tm *access_log_local_time(time_t second)
{
    if (second == access_log_cached_second)
        return &access_log_cached_tm;
    struct tm *t = &access_log_cached_tm;
    if (!localtime_r(&second, t))
        memset(t, 0, sizeof *t);
    long offset = t->tm_gmtoff;
    char sign = offset < 0 ? '-' : '+';
    if (offset < 0)
        offset = -offset;
    int length = snprintf(access_log_cached_clf, sizeof access_log_cached_clf,
                          "[%02d/%s/%d:%02d:%02d:%02d %c%02ld%02ld]", t->tm_mday,
                          access_log_month_names[(unsigned)t->tm_mon % 12], t->tm_year + 1900,
                          t->tm_hour, t->tm_min, t->tm_sec, sign, offset / 3600, offset % 3600 / 60);
    access_log_cached_clf_length = length > 0 ? (size_t)length : 0;
    access_log_cached_second = second;
    return t;
}

static int64_t timespec_microseconds(struct timespec t)
{
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int64_t request_elapsed_microseconds(const line_writer *w)
{
    const struct timespec start = w->r->start_time;
    if (start.tv_sec == 0 && start.tv_nsec == 0)
        return 0;  /* never started: nothing meaningful to measure */
    int64_t elapsed = timespec_microseconds(w->now_monotonic) - timespec_microseconds(start);
    return elapsed > 0 ? elapsed : 0;
}

enum {
    TIME_CLF,
    TIME_STRFTIME,
    TIME_SECONDS,
    TIME_MILLISECONDS,
    TIME_MICROSECONDS,
    TIME_MILLISECOND_FRACTION,
    TIME_MICROSECOND_FRACTION,
    TIME_KIND_MASK = 0xff,
    TIME_AT_END = 0x100,        /* when the line is logged, not when the request began */
};

/* %t, %{format}t, %{begin:...}t, %{end:...}t */
static void write_time(line_writer *w, const log_item *item)
{
    bool at_end = item->mode & TIME_AT_END;
    int64_t microseconds = at_end ? timespec_microseconds(w->now_wall)
                                  : timespec_microseconds(w->now_wall) - request_elapsed_microseconds(w);
    /* %t must agree with r->start_seconds, which the rest of weft uses. */
    time_t second = at_end ? w->now_wall.tv_sec : w->r->start_seconds;
    char text[256];
    switch (item->mode & TIME_KIND_MASK) {
    case TIME_CLF:
        access_log_local_time(second);
        emit(w, access_log_cached_clf, access_log_cached_clf_length);
        return;
    case TIME_STRFTIME: {
        size_t length = strftime(text, sizeof text, item->text, access_log_local_time(second));
        emit(w, text, length);
        return;
    }
    case TIME_SECONDS: emit_unsigned(w, (uint64_t)second); return;
    case TIME_MILLISECONDS: emit_unsigned(w, (uint64_t)(microseconds / 1000)); return;
    case TIME_MICROSECONDS: emit_unsigned(w, (uint64_t)microseconds); return;
    case TIME_MILLISECOND_FRACTION:
        emit(w, text, (size_t)snprintf(text, sizeof text, "%03d", (int)(microseconds / 1000 % 1000)));
        return;
    case TIME_MICROSECOND_FRACTION:
        emit(w, text, (size_t)snprintf(text, sizeof text, "%06d", (int)(microseconds % 1000000)));
        return;
    }
}

static bool prepare_time(log_item *item, pool *p, char **error)
{
    static const struct { const char *name; int kind; } special[] = {
        { "sec", TIME_SECONDS }, { "msec", TIME_MILLISECONDS }, { "usec", TIME_MICROSECONDS },
        { "msec_frac", TIME_MILLISECOND_FRACTION }, { "usec_frac", TIME_MICROSECOND_FRACTION },
    };
    const char *format = item->text;
    int at_end = 0;
    if (strncmp(format, "begin", 5) == 0) {
        format += 5;
    } else if (strncmp(format, "end", 3) == 0) {
        format += 3;
        at_end = TIME_AT_END;
    }
    if (format != item->text && *format == ':')
        format++;
    item->mode = at_end | TIME_CLF;
    if (*format == '\0')
        return true;
    for (size_t i = 0; i < COUNT_OF(special); i++)
        if (strcmp(format, special[i].name) == 0) {
            item->mode = at_end | special[i].kind;
            return true;
        }
    item->mode = at_end | TIME_STRFTIME;
    item->text = format;
    item->text_length = strlen(format);
    return true;
}

enum { DURATION_SECONDS, DURATION_MILLISECONDS, DURATION_MICROSECONDS };

/* %T, %{s}T, %{ms}T, %{us}T, and %D (mode microseconds) */
static void write_duration(line_writer *w, const log_item *item)
{
    int64_t elapsed = request_elapsed_microseconds(w);
    if (item->mode == DURATION_SECONDS)
        elapsed /= 1000000;
    else if (item->mode == DURATION_MILLISECONDS)
        elapsed /= 1000;
    emit_unsigned(w, (uint64_t)elapsed);
}

/* ---- request and connection fields --------------------------------------- */

static void write_literal(line_writer *w, const log_item *item)
{
    emit(w, item->text, item->text_length);
}

static void write_dash(line_writer *w, const log_item *item)
{
    emit_dash(w);
}

enum {
    NUMBER_BODY_CLF,            /* %b: '-' rather than 0, the CLF convention */
    NUMBER_BODY,
    NUMBER_SENT,
    NUMBER_RECEIVED,
    NUMBER_TRANSFERRED,
    NUMBER_STATUS,
    NUMBER_LOCAL_PORT,
    NUMBER_PEER_PORT,
    NUMBER_PID,
    NUMBER_TID,
    NUMBER_HEX_TID,
};

static void write_number(line_writer *w, const log_item *item)
{
    const request *r = w->r;
    int64_t value = 0;
    bool dash_when_zero = true;
    switch (item->mode) {
    case NUMBER_BODY_CLF: value = (int64_t)r->body_bytes_sent; break;
    case NUMBER_BODY: value = (int64_t)r->body_bytes_sent; dash_when_zero = false; break;
    case NUMBER_SENT: value = (int64_t)r->bytes_sent; dash_when_zero = false; break;
    case NUMBER_RECEIVED: value = (int64_t)r->bytes_received; dash_when_zero = false; break;
    case NUMBER_TRANSFERRED:
        value = (int64_t)(r->bytes_received + r->bytes_sent);
        dash_when_zero = false;
        break;
    case NUMBER_STATUS: value = r->status; break;
    case NUMBER_LOCAL_PORT: value = connection_local_port(r->connection); break;
    case NUMBER_PEER_PORT: value = request_client_port(r); break;
    case NUMBER_PID: value = getpid(); break;
    case NUMBER_TID: value = gettid(); break;  /* as the error log's "tid N" */
    case NUMBER_HEX_TID: {
        char text[24];
        emit(w, text, (size_t)snprintf(text, sizeof text, "%lx", (unsigned long)gettid()));
        return;
    }
    }
    if (value > 0 || (value == 0 && !dash_when_zero))
        emit_unsigned(w, (uint64_t)value);
    else
        emit_dash(w);
}

/* Picks item->mode from the {argument}: keywords[i] gives modes[i], and no
 * argument the first. */
static bool prepare_keyword(log_item *item, pool *p, char **error, char letter,
                            const char *const *keywords, const int *modes, size_t count)
{
    item->mode = modes[0];
    if (item->text[0] == '\0')
        return true;
    for (size_t i = 0; i < count; i++)
        if (strcasecmp(item->text, keywords[i]) == 0) {
            item->mode = modes[i];
            return true;
        }
    *error = pool_printf(p, "unknown argument %%{%s}%c", item->text, letter);
    return false;
}

static bool prepare_port(log_item *item, pool *p, char **error)
{
    /* weft has no port in ServerName yet: canonical is the local port. */
    static const char *const keywords[] = { "canonical", "local", "remote" };
    static const int modes[] = { NUMBER_LOCAL_PORT, NUMBER_LOCAL_PORT, NUMBER_PEER_PORT };
    return prepare_keyword(item, p, error, 'p', keywords, modes, COUNT_OF(modes));
}

static bool prepare_process(log_item *item, pool *p, char **error)
{
    static const char *const keywords[] = { "pid", "tid", "hextid" };
    static const int modes[] = { NUMBER_PID, NUMBER_TID, NUMBER_HEX_TID };
    return prepare_keyword(item, p, error, 'P', keywords, modes, COUNT_OF(modes));
}

enum {
    FIELD_REQUEST_LINE,
    FIELD_METHOD,
    FIELD_URL_PATH,
    FIELD_FILENAME,
    FIELD_SERVER_NAME,
    FIELD_PEER_ADDRESS,      /* %{c}a: the connection's peer */
    FIELD_CLIENT_ADDRESS,    /* %a: the client (mod_remoteip's, when it found one) */
    FIELD_LOCAL_ADDRESS,
    FIELD_REMOTE_HOST,       /* %h: the client's name, else its address */
    FIELD_PEER_HOST,         /* %{c}h: the peer's address (no lookup) */
};

/* %a and %h take {c} for the connection's peer; Apache ignores any other
 * argument. */
static bool prepare_address(log_item *item, pool *p, char **error)
{
    (void)p, (void)error;
    bool peer = strcmp(item->text, "c") == 0;
    item->mode = item->mode == FIELD_REMOTE_HOST ? (peer ? FIELD_PEER_HOST : FIELD_REMOTE_HOST)
                                                 : (peer ? FIELD_PEER_ADDRESS : FIELD_CLIENT_ADDRESS);
    return true;
}

/* Text fields: escaped, '-' when absent. */
static void write_field(line_writer *w, const log_item *item)
{
    const request *r = w->r;
    const char *value = NULL;
    switch (item->mode) {
    case FIELD_REQUEST_LINE: value = r->request_line; break;
    case FIELD_METHOD: value = r->method_name; break;
    case FIELD_URL_PATH: value = r->path; break;
    case FIELD_FILENAME: value = r->file_path; break;
    case FIELD_SERVER_NAME: value = r->server ? r->server->server_name : NULL; break;
    case FIELD_PEER_ADDRESS:
    case FIELD_PEER_HOST: value = connection_peer_address(r->connection); break;
    case FIELD_CLIENT_ADDRESS: value = request_client_address(r); break;
    case FIELD_LOCAL_ADDRESS: value = connection_local_address(r->connection); break;
    case FIELD_REMOTE_HOST:
        /* HostnameLookups On/Double: the name, else the address (Apache's %h). */
        value = request_remote_host((request *)r);
        if (!value)
            value = request_client_address(r);
        break;
    }
    if (value && *value)
        emit_escaped(w, value, strlen(value));
    else
        emit_dash(w);
}

static void write_protocol(line_writer *w, const log_item *item)
{
    if (w->r->version_major <= 0) {
        emit_dash(w);
        return;
    }
    char text[32];
    emit(w, text, (size_t)snprintf(text, sizeof text, "HTTP/%d.%d", w->r->version_major,
                                   w->r->version_minor));
}

static void write_query(line_writer *w, const log_item *item)
{
    if (!w->r->query)
        return;
    emit(w, "?", 1);
    emit_escaped(w, w->r->query, strlen(w->r->query));
}

static void write_user(line_writer *w, const log_item *item)
{
    const char *user = w->r->user;
    if (user && *user == '\0')
        emit_string(w, "\"\"");  /* as Apache: an empty user is not "no user" */
    else if (user)
        emit_escaped(w, user, strlen(user));
    else
        emit_dash(w);
}

/* %V: the Host the client asked for (UseCanonicalName Off), lower-cased and
 * without its port, else ServerName. */
static void write_host(line_writer *w, const log_item *item)
{
    slice host;
    if (!request_header_slice(w->r, "Host", &host) || host.length == 0) {
        write_field(w, &(log_item){ .mode = FIELD_SERVER_NAME });
        return;
    }
    size_t length = host.length;
    const char *end = host.data[0] == '[' ? memchr(host.data, ']', host.length)
                                          : memchr(host.data, ':', host.length);
    if (end)
        length = (size_t)(end - host.data) + (host.data[0] == '[');
    char lower[256];
    if (length > sizeof lower)
        length = sizeof lower;
    for (size_t i = 0; i < length; i++)
        lower[i] = (host.data[i] >= 'A' && host.data[i] <= 'Z') ? (char)(host.data[i] + 32) : host.data[i];
    emit_escaped(w, lower, length);
}

/* %X: 'X' when the body was not sent completely (the client went away),
 * '+' when the connection stays open, '-' when it is closed. */
static void write_connection_status(line_writer *w, const log_item *item)
{
    const request *r = w->r;
    bool aborted = !r->head_only && r->body != BODY_NONE && r->body_length >= 0 &&
                   r->body_bytes_sent < (uint64_t)r->body_length;
    emit(w, aborted ? "X" : r->keep_alive ? "+" : "-", 1);
}

/* %{name}e: a variable of the request environment (SetEnvIf, SetEnv). */
static void write_environment(line_writer *w, const log_item *item)
{
    const char *value = item->text_length ? request_get_env(w->r, item->text) : NULL;
    if (value)
        emit_escaped(w, value, strlen(value));
    else
        emit_dash(w);
}

/* %{NAME}x: a request variable as expressions read it (mod_ssl's
 * %{SSL_PROTOCOL}x, %{HTTPS}x; the SSL_* come from ssl_vars); '-' when
 * unset or unknown. */
static void write_variable(line_writer *w, const log_item *item)
{
    request *r = (request *)w->r;  /* variables are computed into its pool */
    const char *value = item->text_length ? request_expr_variable(r, item->text, r->pool) : NULL;
    if (value && *value)
        emit_escaped(w, value, strlen(value));
    else
        emit_dash(w);
}

/* %{version}c, %{cipher}c, %{subjectdn}c, %{issuerdn}c: mod_ssl's older
 * names for %{SSL_PROTOCOL}x and friends; any other name logs '-'. */
static bool prepare_ssl_connection(log_item *item, pool *p, char **error)
{
    static const char *const names[][2] = {
        { "version", "SSL_PROTOCOL" },       { "cipher", "SSL_CIPHER" },
        { "subjectdn", "SSL_CLIENT_S_DN" },  { "issuerdn", "SSL_CLIENT_I_DN" },
    };
    (void)p;
    (void)error;
    const char *variable = "";
    for (size_t i = 0; i < COUNT_OF(names); i++)
        if (strcasecmp(item->text, names[i][0]) == 0)
            variable = names[i][1];
    item->text = variable;
    item->text_length = strlen(variable);
    return true;
}

static void write_request_header(line_writer *w, const log_item *item)
{
    slice value;
    if (item->text_length && request_header_slice(w->r, item->text, &value))
        emit_escaped(w, value.data, value.length);
    else
        emit_dash(w);
}

/* %{name}C: the value of one cookie of the Cookie header; names compare
 * case-insensitively and blanks around names and values are dropped. */
static void write_cookie(line_writer *w, const log_item *item)
{
    slice cookies;
    if (item->text_length && request_header_slice(w->r, "Cookie", &cookies)) {
        const char *cursor = cookies.data, *end = cookies.data + cookies.length;
        while (cursor < end) {
            const char *separator = memchr(cursor, ';', (size_t)(end - cursor));
            const char *pair_end = separator ? separator : end;
            const char *equals = memchr(cursor, '=', (size_t)(pair_end - cursor));
            if (equals) {
                slice name = slice_trim((slice){ cursor, (size_t)(equals - cursor) });
                slice value = slice_trim((slice){ equals + 1, (size_t)(pair_end - equals - 1) });
                if (value.length && slice_equal_string_nocase(name, item->text)) {
                    emit_escaped(w, value.data, value.length);
                    return;
                }
            }
            cursor = pair_end + 1;
        }
    }
    emit_dash(w);
}

static size_t format_http_date(char *out, size_t size, time_t when)
{
    struct tm t;
    if (!gmtime_r(&when, &t))
        return 0;
    int length = snprintf(out, size, "%s, %02d %s %d %02d:%02d:%02d GMT",
                          access_log_day_names[(unsigned)t.tm_wday % 7], t.tm_mday,
                          access_log_month_names[(unsigned)t.tm_mon % 12], t.tm_year + 1900,
                          t.tm_hour, t.tm_min, t.tm_sec);
    return length > 0 && (size_t)length < size ? (size_t)length : 0;
}

/* %{name}o: the extra headers a handler added, then the fields the
 * connection layer derives from the response (Content-Type without its
 * parameters, as Apache logs it). */
static void write_response_header(line_writer *w, const log_item *item)
{
    const request *r = w->r;
    const char *name = item->text;
    bool joined = strcasecmp(name, "Set-Cookie") == 0;  /* Apache logs all of them */
    bool found = false;
    for (int i = 0; i < r->header_count; i++) {
        if (strcasecmp(r->headers[i].name, name) != 0)
            continue;
        if (found)
            emit(w, ", ", 2);
        emit_escaped(w, r->headers[i].value, strlen(r->headers[i].value));
        found = true;
        if (!joined)
            break;
    }
    if (found)
        return;

    char text[64];
    if (strcasecmp(name, "Content-Type") == 0 && r->content_type) {
        const char *parameters = strchr(r->content_type, ';');
        size_t length = parameters ? (size_t)(parameters - r->content_type) : strlen(r->content_type);
        while (length && (r->content_type[length - 1] == ' ' || r->content_type[length - 1] == '\t'))
            length--;
        emit_escaped(w, r->content_type, length);
    } else if (strcasecmp(name, "Content-Length") == 0 && r->body != BODY_NONE && r->body_length >= 0) {
        emit_unsigned(w, (uint64_t)r->body_length);
    } else if (strcasecmp(name, "ETag") == 0 && r->etag) {
        emit_escaped(w, r->etag, strlen(r->etag));
    } else if (strcasecmp(name, "Last-Modified") == 0 && r->last_modified > 0 &&
               format_http_date(text, sizeof text, r->last_modified)) {
        emit_string(w, text);
    } else {
        emit_dash(w);
    }
}

static bool prepare_duration(log_item *item, pool *p, char **error)
{
    static const char *const keywords[] = { "s", "ms", "us" };
    static const int modes[] = { DURATION_SECONDS, DURATION_MILLISECONDS, DURATION_MICROSECONDS };
    return prepare_keyword(item, p, error, 'T', keywords, modes, COUNT_OF(modes));
}

/* ---- compiling a format ---------------------------------------------------- */

typedef struct {
    char letter;
    item_writer write;
    int mode;
    /* Digests the {argument} into item->mode; NULL: the argument is ignored
     * (or used as is, by %i %o %C and %t). */
    bool (*prepare)(log_item *item, pool *p, char **error);
} format_directive;

static const format_directive format_directives[] = {
    { 'a', write_field, FIELD_CLIENT_ADDRESS, prepare_address },
    { 'A', write_field, FIELD_LOCAL_ADDRESS, NULL },
    { 'b', write_number, NUMBER_BODY_CLF, NULL },
    { 'B', write_number, NUMBER_BODY, NULL },
    { 'c', write_variable, 0, prepare_ssl_connection },
    { 'C', write_cookie, 0, NULL },
    { 'D', write_duration, DURATION_MICROSECONDS, NULL },
    { 'e', write_environment, 0, NULL },
    { 'f', write_field, FIELD_FILENAME, NULL },
    { 'h', write_field, FIELD_REMOTE_HOST, prepare_address },
    { 'H', write_protocol, 0, NULL },
    { 'i', write_request_header, 0, NULL },
    { 'I', write_number, NUMBER_RECEIVED, NULL },
    { 'l', write_dash, 0, NULL },     /* identd: never */
    { 'L', write_dash, 0, NULL },     /* no error-log request ids yet */
    { 'm', write_field, FIELD_METHOD, NULL },
    { 'n', write_dash, 0, NULL },     /* no module notes */
    { 'o', write_response_header, 0, NULL },
    { 'O', write_number, NUMBER_SENT, NULL },
    { 'p', write_number, NUMBER_LOCAL_PORT, prepare_port },
    { 'P', write_number, NUMBER_PID, prepare_process },
    { 'q', write_query, 0, NULL },
    { 'r', write_field, FIELD_REQUEST_LINE, NULL },
    { 's', write_number, NUMBER_STATUS, NULL },  /* no internal redirects: %<s = %>s */
    { 'S', write_number, NUMBER_TRANSFERRED, NULL },
    { 't', write_time, 0, prepare_time },
    { 'T', write_duration, DURATION_SECONDS, prepare_duration },
    { 'u', write_user, 0, NULL },
    { 'U', write_field, FIELD_URL_PATH, NULL },
    { 'v', write_field, FIELD_SERVER_NAME, NULL },
    { 'V', write_host, 0, NULL },
    { 'x', write_variable, 0, NULL },
    { 'X', write_connection_status, 0, NULL },
};

static const format_directive *find_format_directive(char letter)
{
    for (size_t i = 0; i < COUNT_OF(format_directives); i++)
        if (format_directives[i].letter == letter)
            return &format_directives[i];
    return NULL;
}

/* Literal text up to the next '%', with the backslash escapes Apache
 * understands in formats (\n \r \t \\; any other backslash stays). */
static const char *compile_literal(log_item *item, pool *p, const char *text)
{
    const char *end = strchr(text, '%');
    if (!end)
        end = text + strlen(text);
    char *copy = pool_alloc(p, (size_t)(end - text) + 1);
    size_t length = 0;
    for (const char *s = text; s < end; s++) {
        if (*s == '\\' && s + 1 < end && strchr("nrt\\", s[1])) {
            s++;
            copy[length++] = *s == 'n' ? '\n' : *s == 'r' ? '\r' : *s == 't' ? '\t' : '\\';
        } else {
            copy[length++] = *s;
        }
    }
    copy[length] = '\0';
    item->write = write_literal;
    item->text = copy;
    item->text_length = length;
    return end;
}

/* One "%[!][status,...][<>][{argument}]letter"; text points after the '%'. */
static const char *compile_directive(log_item *item, pool *p, const char *text, char **error)
{
    int statuses[ACCESS_LOG_MAX_STATUSES];
    item->text = "";
    if (*text == '%') {
        item->write = write_literal;
        item->text = "%";
        item->text_length = 1;
        return text + 1;
    }
    for (;;) {
        char c = *text;
        if (c == '!') {
            item->statuses_negated = !item->statuses_negated;
            text++;
        } else if (c == '<' || c == '>' || c == ',') {
            text++;  /* original/final status: the same in weft */
        } else if (c >= '0' && c <= '9') {
            int status = 0;
            while (*text >= '0' && *text <= '9' && status < 100000)
                status = status * 10 + (*text++ - '0');
            if (item->status_count == ACCESS_LOG_MAX_STATUSES) {
                *error = pool_printf(p, "more than %d status codes in one format directive",
                                     ACCESS_LOG_MAX_STATUSES);
                return NULL;
            }
            statuses[item->status_count++] = status;
        } else if (c == '{') {
            const char *close = strchr(text, '}');
            if (!close) {
                *error = pool_strdup(p, "missing '}' after %{");
                return NULL;
            }
            item->text = pool_strndup(p, text + 1, (size_t)(close - text - 1));
            item->text_length = (size_t)(close - text - 1);
            text = close + 1;
        } else if (c == '\0') {
            *error = pool_strdup(p, "incomplete format directive at the end of the format");
            return NULL;
        } else {
            const format_directive *directive = find_format_directive(c);
            if (!directive) {
                if ((unsigned char)c > 0x20 && (unsigned char)c < 0x7f)
                    *error = pool_printf(p, "unknown format directive %%%c", c);
                else
                    *error = pool_printf(p, "unknown format directive %%\\x%02x", (unsigned char)c);
                return NULL;
            }
            item->write = directive->write;
            item->mode = directive->mode;
            if (directive->prepare && !directive->prepare(item, p, error))
                return NULL;
            if (item->status_count) {
                int *copy = pool_alloc(p, sizeof *copy * (size_t)item->status_count);
                memcpy(copy, statuses, sizeof *copy * (size_t)item->status_count);
                item->statuses = copy;
            }
            return text + 1;
        }
    }
}

struct access_log_format *access_log_compile(pool *p, const char *text, char **error)
{
    /* Each '%' starts at most one directive and one literal follows it. */
    size_t capacity = 1;
    for (const char *s = text; *s; s++)
        capacity += (*s == '%') * 2;
    struct access_log_format *format = pool_calloc(p, sizeof *format);
    format->items = pool_calloc(p, sizeof *format->items * capacity);
    while (*text) {
        log_item *item = &format->items[format->item_count++];
        text = *text == '%' ? compile_directive(item, p, text + 1, error)
                            : compile_literal(item, p, text);
        if (!text)
            return NULL;
    }
    return format;
}

/* ---- writing a line -------------------------------------------------------- */

static bool item_applies(const log_item *item, int status)
{
    if (!item->status_count)
        return true;
    bool listed = false;
    for (int i = 0; i < item->status_count && !listed; i++)
        listed = item->statuses[i] == status;
    return listed != item->statuses_negated;
}

static size_t render_line(const struct access_log_format *format, request *r,
                          const struct timespec *now_monotonic, const struct timespec *now_wall,
                          char *out, size_t size)
{
    line_writer w = {
        .out = out,
        .capacity = size ? size - 1 : 0,
        .r = r,
        .now_monotonic = *now_monotonic,
        .now_wall = *now_wall,
    };
    for (int i = 0; i < format->item_count; i++) {
        const log_item *item = &format->items[i];
        if (item_applies(item, r->status))
            item->write(&w, item);
        else
            emit_dash(&w);
    }
    emit(&w, "\n", 1);
    if (size)
        out[w.length < size ? w.length : size - 1] = '\0';
    return w.length;
}

size_t access_log_format(const struct access_log_format *format, request *r, char *out, size_t size)
{
    struct timespec now_monotonic, now_wall;
    clock_gettime(CLOCK_MONOTONIC, &now_monotonic);
    clock_gettime(CLOCK_REALTIME, &now_wall);
    return render_line(format, r, &now_monotonic, &now_wall, out, size);
}

static void write_line(access_log_file *file, const char *line, size_t length)
{
    ssize_t written;
    do
        written = write(file->fd, line, length);
    while (written < 0 && errno == EINTR);

    if (LIKELY(written == (ssize_t)length)) {
        if (UNLIKELY(__atomic_load_n(&file->write_failing, __ATOMIC_RELAXED)))
            __atomic_store_n(&file->write_failing, false, __ATOMIC_RELAXED);
        return;
    }
    /* Finishing a short write could interleave with other writers: the rest
     * of the line is dropped, and the failure reported once. */
    int error = written < 0 ? errno : ENOSPC;
    if (!__atomic_exchange_n(&file->write_failing, true, __ATOMIC_RELAXED))
        log_error_number(LOG_LEVEL_ERROR, error,
                         "writing to access log %s failed; lines are lost until it works again",
                         file->path);
}
/* Each thread's line buffer, allocated at its first log line and freed
 * when the thread exits.  Not a thread-local array: glibc zeroes static
 * thread-local storage at every thread start, which would cost every
 * thread of every child 16 KiB whether it logs or not. */
static pthread_key_t line_buffer_key;
static pthread_once_t line_buffer_once = PTHREAD_ONCE_INIT;

static void create_line_buffer_key(void)
{
    pthread_key_create(&line_buffer_key, free);
}

static char *thread_line_buffer(void)
{
    pthread_once(&line_buffer_once, create_line_buffer_key);
    char *line = pthread_getspecific(line_buffer_key);
    if (UNLIKELY(!line)) {
        line = xmalloc(ACCESS_LOG_LINE_BUFFER);
        pthread_setspecific(line_buffer_key, line);
    }
    return line;
}


void access_log_write(request *r)
{
    char *line_buffer = thread_line_buffer();
    const struct access_log_set *set = r->server ? log_settings(r->server)->access_logs : NULL;
    if (!set || set->count == 0)
        return;
    int saved_errno = errno;  /* the connection layer may still look at it */
    struct timespec now_monotonic, now_wall;
    clock_gettime(CLOCK_MONOTONIC, &now_monotonic);
    clock_gettime(CLOCK_REALTIME, &now_wall);

    for (int i = 0; i < set->count; i++) {
        access_log_file *file = &set->files[i];
        if (file->fd < 0)
            continue;
        if (file->env && (request_get_env(r, file->env) != NULL) == file->env_negated)
            continue;
        char *line = line_buffer;
        size_t length = render_line(file->format, r, &now_monotonic, &now_wall, line, ACCESS_LOG_LINE_BUFFER);
        if (UNLIKELY(length >= ACCESS_LOG_LINE_BUFFER)) {
            line = pool_alloc(r->pool, length + 1);
            render_line(file->format, r, &now_monotonic, &now_wall, line, length + 1);
        }
        if (file->pipe)
            piped_log_write(file->pipe, line, length);  /* losses are counted and reported */
        else
            write_line(file, line, length);
    }
    errno = saved_errno;
}

/* ---- opening and closing --------------------------------------------------- */

static void close_files(struct access_log_set *set)
{
    for (int i = 0; i < set->count; i++) {
        if (set->files[i].pipe)
            piped_log_release(set->files[i].pipe);  /* the descriptor is the pipe's */
        else if (set->files[i].fd > STDERR_FILENO)
            close(set->files[i].fd);
        set->files[i].fd = -1;
        set->files[i].pipe = NULL;
    }
}

static void close_files_cleanup(void *set)
{
    close_files(set);
}

/* Opens one log: a file (or stdout/stderr), or a piped log. */
static int open_one(const access_log_file *file, int *fd, piped_log **pipe)
{
    *pipe = NULL;
    if (file->path[0] == '|') {
        char error[512];
        *pipe = piped_log_open(file->path + 1, error, sizeof error);
        if (!*pipe) {
            log_message(LOG_LEVEL_ERROR, "%s", error);
            return WEFT_ERROR;
        }
        *fd = piped_log_fd(*pipe);
        return WEFT_OK;
    }
    *fd = log_open_file(file->path);
    if (*fd < 0) {
        log_error_number(LOG_LEVEL_ERROR, errno, "could not open access log %s", file->path);
        return WEFT_ERROR;
    }
    return WEFT_OK;
}

static int open_set(struct access_log_set *set)
{
    if (!set || set->count == 0)
        return WEFT_OK;
    /* Open everything first so that a failure leaves the logs already open
     * (by a previous call) untouched. */
    int *fds = xcalloc((size_t)set->count, sizeof *fds);
    piped_log **pipes = xcalloc((size_t)set->count, sizeof *pipes);
    for (int i = 0; i < set->count; i++) {
        if (open_one(&set->files[i], &fds[i], &pipes[i]) != WEFT_OK) {
            for (int j = 0; j < i; j++) {
                if (pipes[j])
                    piped_log_release(pipes[j]);
                else
                    close(fds[j]);
            }
            free(fds);
            free(pipes);
            return WEFT_ERROR;
        }
    }
    close_files(set);
    for (int i = 0; i < set->count; i++) {
        set->files[i].fd = fds[i];
        set->files[i].pipe = pipes[i];
        set->files[i].write_failing = false;
    }
    free(fds);
    free(pipes);
    return WEFT_OK;
}

/* A <VirtualHost> with CustomLogs of its own has its own set (vhost.h). */
int access_log_open(server_config *server)
{
    const struct access_log_set *main_logs = log_settings(server)->access_logs;
    int result = open_set(log_settings(server)->access_logs);
    for (int i = 0; result == WEFT_OK && i < vhost_count(server); i++) {
        struct access_log_set *own = log_settings(vhost_server(server, i))->access_logs;
        if (own != main_logs)
            result = open_set(own);
    }
    return result;
}

void access_log_close(server_config *server)
{
    struct access_log_set *main_logs = log_settings(server)->access_logs;
    if (main_logs)
        close_files(main_logs);
    for (int i = 0; i < vhost_count(server); i++) {
        struct access_log_set *own = log_settings(vhost_server(server, i))->access_logs;
        if (own && own != main_logs)
            close_files(own);
    }
}

/* ---- configuration ----------------------------------------------------------- */

static const log_format_definition predefined_formats[] = {
    { "common", ACCESS_LOG_FORMAT_COMMON },
    { "combined", ACCESS_LOG_FORMAT_COMBINED },
    { "combinedio", ACCESS_LOG_FORMAT_COMBINEDIO },
};

/* Checks a format where it is written, so that the error carries a line
 * number; post_config compiles it again for keeps. */
static int check_format(config_parse *parse, const char *directive, const char *text)
{
    pool *scratch = pool_create(4096);
    char *error = NULL;
    int result = WEFT_OK;
    if (!access_log_compile(scratch, text, &error))
        result = config_error(parse, "%s: %s", directive, error);
    pool_destroy(scratch);
    return result;
}

static int set_log_format(config_parse *parse, const config_directive *directive, void *target,
                          int argc, char **argv)
{
    if (check_format(parse, "LogFormat", argv[0]) != WEFT_OK)
        return WEFT_ERROR;
    server_config *server = config_server(parse);
    access_log_server_config *logs_config = log_settings(server);
    int count = logs_config->log_format_count;
    /* Few definitions: growing by one copy each time is simplest. */
    log_format_definition *formats = pool_alloc(server->pool, sizeof *formats * (size_t)(count + 1));
    if (count)
        memcpy(formats, logs_config->log_formats, sizeof *formats * (size_t)count);
    formats[count].name = argc > 1 ? pool_strdup(server->pool, argv[1]) : NULL;
    formats[count].format = pool_strdup(server->pool, argv[0]);
    logs_config->log_formats = formats;
    logs_config->log_format_count = count + 1;
    return WEFT_OK;
}

static int add_custom_log(config_parse *parse, const char *directive, const char *path, const char *format,
                          const char *condition)
{
    if (path[0] == '|' && !path[1 + (path[1] == '|' || path[1] == '$')])
        return config_error(parse, "%s: the piped log \"%s\" names no program", directive, path);
    if (path[0] == '\0')
        return config_error(parse, "%s: empty file name", directive);
    /* A format is written with '%' (or at least a blank); anything else is a
     * nickname, which may be defined further down the file. */
    if (format && strpbrk(format, "% \t") && check_format(parse, directive, format) != WEFT_OK)
        return WEFT_ERROR;
    server_config *server = config_server(parse);
    access_log_server_config *logs_config = log_settings(server);
    int count = logs_config->custom_log_count;
    custom_log_definition *logs = pool_alloc(server->pool, sizeof *logs * (size_t)(count + 1));
    if (count)
        memcpy(logs, logs_config->custom_logs, sizeof *logs * (size_t)count);
    /* A piped log is a command line, not a path. */
    logs[count].path = path[0] == '|' ? pool_strdup(server->pool, path) : config_resolve_path(parse, path);
    logs[count].format = format ? pool_strdup(server->pool, format) : NULL;  /* NULL: the default */
    logs[count].condition = condition ? pool_strdup(server->pool, condition) : NULL;
    logs_config->custom_logs = logs;
    logs_config->custom_log_count = count + 1;
    return WEFT_OK;
}

static int set_custom_log(config_parse *parse, const config_directive *directive, void *target,
                          int argc, char **argv)
{
    if (argc > 2 && (strncasecmp(argv[2], "env=", 4) != 0 || !argv[2][4 + (argv[2][4] == '!')]))
        return config_error(parse, "CustomLog: the condition '%s' is not supported: weft takes env=[!]variable",
                            argv[2]);
    return add_custom_log(parse, "CustomLog", argv[0], argv[1], argc > 2 ? argv[2] : NULL);
}

static int set_transfer_log(config_parse *parse, const config_directive *directive, void *target,
                            int argc, char **argv)
{
    return add_custom_log(parse, "TransferLog", argv[0], NULL, NULL);
}

/* The format a CustomLog means: a nickname (the last LogFormat of that name,
 * then the predefined ones), a format string, or, for TransferLog (NULL),
 * the last one-argument LogFormat, else common.  NULL: unknown nickname. */
static const char *resolve_format(const access_log_server_config *server, const char *text)
{
    for (int i = server->log_format_count - 1; i >= 0; i--) {
        const char *name = server->log_formats[i].name;
        if (text ? name && strcmp(name, text) == 0 : !name)
            return server->log_formats[i].format;
    }
    if (!text)
        return ACCESS_LOG_FORMAT_COMMON;
    for (size_t i = 0; i < COUNT_OF(predefined_formats); i++)
        if (strcmp(predefined_formats[i].name, text) == 0)
            return predefined_formats[i].format;
    return strpbrk(text, "% \t") ? text : NULL;
}

static int access_log_post_config(config_parse *parse, server_config *server)
{
    access_log_server_config *logs_config = log_settings(server);
    struct access_log_set *set = pool_calloc(server->pool, sizeof *set);
    set->files = pool_calloc(server->pool, sizeof *set->files * (size_t)(logs_config->custom_log_count + 1));
    int result = WEFT_OK;
    for (int i = 0; i < logs_config->custom_log_count; i++) {
        custom_log_definition *definition = &logs_config->custom_logs[i];
        const char *text = resolve_format(logs_config, definition->format);
        if (!text) {
            result = config_error(parse, "CustomLog %s: unknown log format nickname \"%s\"",
                                  definition->path, definition->format);
            continue;
        }
        char *error = NULL;
        struct access_log_format *format = access_log_compile(server->pool, text, &error);
        if (!format) {
            result = config_error(parse, "CustomLog: %s", error);
            continue;
        }
        if (text != definition->format)
            definition->format = pool_strdup(server->pool, text);
        access_log_file *file = &set->files[set->count++];
        file->path = definition->path;
        file->format_text = definition->format;
        file->format = format;
        if (definition->condition) {
            file->env_negated = definition->condition[4] == '!';
            file->env = definition->condition + 4 + file->env_negated;
        }
        file->fd = -1;
    }
    if (result != WEFT_OK)
        return result;
    /* Whoever retires this configuration without access_log_close() still
     * gets the descriptors closed. */
    pool_cleanup_add(server->pool, close_files_cleanup, set);
    logs_config->access_logs = set;
    return WEFT_OK;
}

/* A vhost without CustomLog or TransferLog shares the main server's logs. */
static int access_log_vhost_config(config_parse *parse, const server_config *main, server_config *vhost)
{
    bool shared = log_settings(vhost)->custom_logs == log_settings(main)->custom_logs;
    return shared ? WEFT_OK : access_log_post_config(parse, vhost);
}

/* The list and its count: a <VirtualHost> with its own CustomLog takes both (config.h). */
#define CUSTOM_LOGS_SIZE (offsetof(access_log_server_config, custom_log_count) + sizeof(int) - offsetof(access_log_server_config, custom_logs))
_Static_assert(offsetof(access_log_server_config, custom_log_count)
                   == offsetof(access_log_server_config, custom_logs) + sizeof(custom_log_definition *),
               "CustomLog's row spans custom_logs and custom_log_count");

/* weft -D DUMP_CONFIG: every definition, nicknames resolved for CustomLog
 * (TransferLog's entries are among CustomLog's, with their format). */
static void format_log_formats(FILE *out, const config_directive *d, const void *base)
{
    const access_log_server_config *server = base;
    for (int i = 0; i < server->log_format_count; i++) {
        const char *argv[2] = { server->log_formats[i].format, server->log_formats[i].name };
        config_dump_line(out, d, argv[1] ? 2 : 1, argv);
    }
}

static void format_custom_logs(FILE *out, const config_directive *d, const void *base)
{
    const access_log_server_config *server = base;
    for (int i = 0; i < server->custom_log_count; i++) {
        const char *format = server->custom_logs[i].format;
        const char *argv[3] = { server->custom_logs[i].path, format ? format : resolve_format(server, NULL),
                                server->custom_logs[i].condition };
        config_dump_line(out, d, argv[2] ? 3 : 2, argv);
    }
}

static void format_nothing(FILE *out, const config_directive *d, const void *base)
{
}

static const config_directive access_log_directives[] = {
    { "LogFormat", CONTEXT_SERVER, SCOPE_SERVER, 1, 2, set_log_format,
      offsetof(access_log_server_config, log_formats), sizeof(log_format_definition *), NULL, NULL,
      "format [nickname]",
      "Defines an access log format, named by nickname; without one, the default format",
      format_log_formats, 0 },
    { "CustomLog", CONTEXT_SERVER_OR_VHOST, SCOPE_SERVER, 2, 3, set_custom_log,
      offsetof(access_log_server_config, custom_logs), CUSTOM_LOGS_SIZE, NULL, NULL,
      "file|\"|program\" format|nickname [env=[!]variable]",
      "Logs every request to file (relative to ServerRoot), or to a program reading the lines on its "
      "standard input, in that format",
      format_custom_logs, 0 },
    { "TransferLog", CONTEXT_SERVER_OR_VHOST, SCOPE_SERVER, 1, 1, set_transfer_log,
      offsetof(access_log_server_config, custom_logs), CUSTOM_LOGS_SIZE, NULL, NULL,
      "file|\"|program\"", "Logs every request to file in the default format (LogFormat with one argument)",
      format_nothing, 0 },
    { .name = NULL },
};

const module access_log_module = {
    .name = "log_config",
    .directives = access_log_directives,
    .post_config = access_log_post_config,
    .vhost_config = access_log_vhost_config,
    .server_config_size = sizeof(access_log_server_config),
    .log = access_log_write,
    .open_logs = access_log_open,
    .close_logs = access_log_close,
};
