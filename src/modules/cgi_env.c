/*
 * cgi_env.c — what a CGI script is told: its environment (RFC 3875 4.1, and
 * the extras Apache 2.4 sets) and its command line (RFC 3875 4.4).
 *
 * The environment is clean: nothing of weft's own environment goes through
 * except what PassEnv names, and PATH is a safe default unless SetEnv or
 * PassEnv sets it.  Precedence, as it comes out of Apache's tables: the
 * server's own variables win over SetEnv/PassEnv, except PATH and HTTP_*,
 * where SetEnv/PassEnv win over the default and over request headers.
 *
 * Request headers become HTTP_* except those that carry credentials
 * (Authorization, Proxy-Authorization: RFC 3875 4.1.18 says to drop them,
 * Apache does unless CGIPassAuth), Proxy (no HTTP_PROXY: the "httpoxy"
 * hole, where a script's HTTP client takes it for its proxy setting), and
 * names with characters other than letters, digits and '-' (Apache 2.4:
 * "Foo_Bar" would collide with "Foo-Bar").  Repeated fields are joined with
 * ", ".  Content-Type and Content-Length become CONTENT_TYPE and
 * CONTENT_LENGTH.
 */
#include "cgi.h"
#include "../http/response.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../http/connection.h"

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define MAX_ARGUMENTS 256

typedef struct {
    pool *pool;
    char **items;     /* "NAME=value" */
    size_t *name_lengths;
    int count;
    int capacity;
} environment;

static int find(const environment *e, const char *name, size_t length)
{
    for (int i = 0; i < e->count; i++)
        if (e->name_lengths[i] == length && memcmp(e->items[i], name, length) == 0)
            return i;
    return -1;
}

static void append(environment *e, const char *name, size_t name_length, const char *value,
                   size_t value_length)
{
    if (e->count == e->capacity) {
        int capacity = e->capacity ? e->capacity * 2 : 64;
        char **items = pool_alloc(e->pool, sizeof(char *) * (size_t)(capacity + 1));
        size_t *lengths = pool_alloc(e->pool, sizeof(size_t) * (size_t)capacity);
        if (e->count) {
            memcpy(items, e->items, sizeof(char *) * (size_t)e->count);
            memcpy(lengths, e->name_lengths, sizeof(size_t) * (size_t)e->count);
        }
        e->items = items;
        e->name_lengths = lengths;
        e->capacity = capacity;
    }
    char *item = pool_alloc(e->pool, name_length + 1 + value_length + 1);
    memcpy(item, name, name_length);
    item[name_length] = '=';
    memcpy(item + name_length + 1, value, value_length);
    item[name_length + 1 + value_length] = '\0';
    e->name_lengths[e->count] = name_length;
    e->items[e->count++] = item;
}

static void set(environment *e, const char *name, const char *value)
{
    if (find(e, name, strlen(name)) < 0)
        append(e, name, strlen(name), value, strlen(value));
}

static void set_number(environment *e, const char *name, long long value)
{
    char text[24];
    snprintf(text, sizeof(text), "%lld", value);
    set(e, name, text);
}

/* Host field -> SERVER_NAME and its port (Apache with UseCanonicalName
 * Off: the name the client used, brackets of an IPv6 literal removed). */
static void host_name_and_port(request *r, const char **name, int *port)
{
    slice host;
    *name = NULL;
    *port = 0;
    if (!request_header_slice(r, "Host", &host) || host.length == 0)
        return;
    const char *end = host.data + host.length;
    const char *name_start = host.data;
    const char *name_end;
    const char *colon;
    if (host.data[0] == '[') {
        const char *close = memchr(host.data, ']', host.length);
        if (!close)
            return;
        name_start = host.data + 1;
        name_end = close;
        colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = memchr(host.data, ':', host.length);
        name_end = colon ? colon : end;
    }
    char *lower = pool_strndup(r->pool, name_start, (size_t)(name_end - name_start));
    for (char *c = lower; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    *name = lower;
    if (colon) {
        int value = 0;
        for (const char *c = colon + 1; c < end && *c >= '0' && *c <= '9' && value < 65536; c++)
            value = value * 10 + (*c - '0');
        *port = value;
    }
}

static void add_server_variables(environment *e, request *r, const cgi_script *script)
{
    const server_config *server = r->server;
    connection *c = r->connection;
    const char *host_name;
    int host_port;
    host_name_and_port(r, &host_name, &host_port);
    if (r->dir->use_canonical_name != CANONICAL_NAME_OFF || !host_name || !*host_name) {
        /* UseCanonicalName's host (request.h), as a name: no brackets. */
        host_name = request_server_name(r);
        size_t length = strlen(host_name);
        if (host_name[0] == '[' && length > 2 && host_name[length - 1] == ']')
            host_name = pool_strndup(r->pool, host_name + 1, length - 2);
    }
    host_port = request_server_port(r);  /* Apache's ap_get_server_port */

    set(e, "SERVER_SIGNATURE", response_signature(r, ""));
    if (server->server_admin)
        set(e, "SERVER_ADMIN", server->server_admin);
    set(e, "SERVER_SOFTWARE", server->server_header ? server->server_header : WEFT_NAME);
    set(e, "SERVER_NAME", host_name);
    set(e, "SERVER_ADDR", connection_local_address(c));
    set_number(e, "SERVER_PORT", host_port);
    set(e, "REMOTE_ADDR", request_client_address(r));
    const char *remote_host = request_remote_host(r);
    if (remote_host)
        set(e, "REMOTE_HOST", remote_host);
    set(e, "DOCUMENT_ROOT", server->document_root);
    set(e, "REQUEST_SCHEME", request_scheme(r));
    set(e, "CONTEXT_PREFIX", script->context_prefix ? script->context_prefix : "");
    set(e, "CONTEXT_DOCUMENT_ROOT", script->context_root ? script->context_root : server->document_root);
    set(e, "SCRIPT_FILENAME", script->filename);
    set_number(e, "REMOTE_PORT", request_client_port(r));
    if (r->user) {
        set(e, "REMOTE_USER", r->user);
        slice authorization;
        if (request_header_slice(r, "Authorization", &authorization)) {
            size_t length = 0;
            while (length < authorization.length && authorization.data[length] != ' ')
                length++;
            set(e, "AUTH_TYPE", pool_strndup(r->pool, authorization.data, length));
        }
    }
    if (r->redirect_url) {
        /* 200 after a script's Location; the error's status for an ErrorDocument. */
        set_number(e, "REDIRECT_STATUS", r->error_status ? r->error_status : 200);
        set(e, "REDIRECT_URL", r->redirect_url);
        if (r->redirect_query)
            set(e, "REDIRECT_QUERY_STRING", r->redirect_query);
    }

    set(e, "GATEWAY_INTERFACE", "CGI/1.1");
    set(e, "SERVER_PROTOCOL", pool_printf(r->pool, "HTTP/%d.%d", r->version_major, r->version_minor));
    set(e, "REQUEST_METHOD", r->method_name);
    set(e, "QUERY_STRING", r->query ? r->query : "");
    set(e, "REQUEST_URI", r->target);
    set(e, "SCRIPT_NAME", script->name);
    if (script->path_info[0]) {
        set(e, "PATH_INFO", script->path_info);
        /* RFC 3875 4.1.6: PATH_INFO mapped as if it were a URL-path. */
        char *translated = request_map_path(r, script->path_info);
        if (translated)
            set(e, "PATH_TRANSLATED", translated);
    }
    /* After an internal redirect the request has no body any more (but
     * for mod_rewrite's, which keeps the method and the body). */
    if ((!r->redirect_url || r->redirect_kept_body) && r->parser.content_length >= 0)
        set_number(e, "CONTENT_LENGTH", (long long)r->parser.content_length);
}

/* SetEnv, PassEnv and UnsetEnv, newest first: the first entry for a name
 * decides.  Names already set by the server keep the server's value,
 * except PATH (set later, only if still absent). */
static void add_configured_variables(environment *e, request *r)
{
    const environment_setting *first = cgi_dir_settings(r->dir)->environment;
    for (const environment_setting *s = first; s; s = s->next) {
        bool decided = false;
        for (const environment_setting *earlier = first; earlier != s; earlier = earlier->next)
            if (strcmp(earlier->name, s->name) == 0)
                decided = true;
        if (!decided && s->value)
            set(e, s->name, s->value);
    }
    /* The request's environment (SetEnvIf, BrowserMatch), with the names
     * made valid for a shell as Apache's ap_create_environment does. */
    for (int i = 0; i < r->env_count; i++) {
        char *name = pool_strdup(r->pool, r->env[i].name);
        if (isdigit((unsigned char)name[0]))
            name[0] = '_';
        for (char *c = name; *c; c++)
            if (!isalnum((unsigned char)*c) && *c != '_')
                *c = '_';
        set(e, name, r->env[i].value);
    }
}

static bool header_name_exportable(const char *name, size_t length)
{
    for (size_t i = 0; i < length; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '-')
            return false;
    return true;
}

static void add_header_variables(environment *e, request *r, int configured_end)
{
    const http_parser *parser = &r->parser;
    char name[256];
    for (uint32_t i = 0; i < parser->field_count; i++) {
        const http_field *field = &parser->fields[i];
        const char *field_name = r->head + field->name.offset;
        size_t name_length = field->name.length;
        const char *value = r->head + field->value.offset;
        size_t value_length = field->value.length;
        slice named = { field_name, name_length };
        if (slice_equal_string_nocase(named, "Content-Length") ||
            slice_equal_string_nocase(named, "Authorization") ||
            slice_equal_string_nocase(named, "Proxy-Authorization") ||
            slice_equal_string_nocase(named, "Proxy") ||
            !header_name_exportable(field_name, name_length) || name_length + 6 > sizeof(name))
            continue;
        size_t length = 0;
        if (!slice_equal_string_nocase(named, "Content-Type")) {
            memcpy(name, "HTTP_", 5);
            length = 5;
        }
        for (size_t j = 0; j < name_length; j++)
            name[length++] = field_name[j] == '-' ? '_' : (char)toupper((unsigned char)field_name[j]);
        int existing = find(e, name, length);
        if (existing < 0) {
            append(e, name, length, value, value_length);
        } else if (existing >= configured_end) {
            /* The same field again: one value with the same meaning. */
            e->items[existing] = pool_printf(r->pool, "%s, %.*s", e->items[existing], (int)value_length, value);
        }
    }
}

char **cgi_build_environment(request *r, const cgi_script *script)
{
    environment e = { .pool = r->pool };
    add_server_variables(&e, r, script);
    add_configured_variables(&e, r);
    add_header_variables(&e, r, e.count);
    set(&e, "PATH", DEFAULT_PATH);
    e.items[e.count] = NULL;
    return e.items;
}

/* ---- the command line ---------------------------------------------------- */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One search-word: percent-decoded, then the Bourne shell's active
 * characters escaped with a backslash (RFC 3875 7.2; Apache's
 * ap_escape_shell_cmd). */
static char *search_word(pool *p, const char *word, size_t length)
{
    char *decoded = pool_alloc(p, length + 1);
    size_t out = 0;
    for (size_t i = 0; i < length; i++) {
        if (word[i] == '%' && i + 2 < length && hex_digit(word[i + 1]) >= 0 && hex_digit(word[i + 2]) >= 0) {
            decoded[out++] = (char)(hex_digit(word[i + 1]) * 16 + hex_digit(word[i + 2]));
            i += 2;
        } else {
            decoded[out++] = word[i];
        }
    }
    char *escaped = pool_alloc(p, out * 2 + 1);
    size_t length_escaped = 0;
    for (size_t i = 0; i < out; i++) {
        if (decoded[i] == '\0')
            break;
        if (strchr("&;`'\"|*?~<>^()[]{}$\\\n", decoded[i]) || (unsigned char)decoded[i] == 0xff)
            escaped[length_escaped++] = '\\';
        escaped[length_escaped++] = decoded[i];
    }
    escaped[length_escaped] = '\0';
    return escaped;
}

char **cgi_build_arguments(request *r, const cgi_script *script)
{
    /* RFC 3875 4.4: only an "indexed" query (no '=') becomes arguments. */
    const char *query = r->query;
    bool indexed = query && query[0] && !strchr(query, '=');
    int words = 1;
    if (indexed)
        for (const char *c = query; *c; c++)
            words += *c == '+';
    if (words > MAX_ARGUMENTS)
        words = MAX_ARGUMENTS;
    char **argv = pool_alloc(r->pool, sizeof(char *) * (size_t)(words + 2));
    int count = 0;
    argv[count++] = script->filename;
    if (indexed) {
        const char *start = query;
        while (count <= words) {
            const char *end = strchr(start, '+');
            size_t length = end ? (size_t)(end - start) : strlen(start);
            argv[count++] = search_word(r->pool, start, length);
            if (!end)
                break;
            start = end + 1;
        }
    }
    argv[count] = NULL;
    return argv;
}
