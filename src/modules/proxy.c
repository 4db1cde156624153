/*
 * proxy.c — mod_proxy: which requests go to a backend, and where.
 *
 * Directives:
 *   ProxyPass /prefix/ fcgi://host:port/path/   server, vhost: requests under
 *                                  the prefix go to the backend, the rest of
 *                                  their path appended to the URL's path
 *                                  (SCRIPT_FILENAME for FastCGI).
 *   ProxyPass /prefix/ !           server, vhost: not those (an exclusion
 *                                  must come before the rule it carves from)
 *   ProxyPass fcgi://...           in <Location>: the section's path is the
 *                                  prefix
 *   ProxyTimeout seconds           anywhere (server, vhost, sections): how long
 *                                  a backend may stay silent (default
 *                                  Timeout); then 504
 *   ProxyRequests Off              a forward proxy is never built: On is refused
 *   SetHandler "proxy:unix:/run/php/php8.2-fpm.sock|fcgi://localhost"
 *   SetHandler "proxy:fcgi://127.0.0.1:9000"
 *                                  the mapped file (a .php script: <FilesMatch>)
 *                                  runs in the FastCGI application server;
 *                                  SCRIPT_FILENAME is the file, PATH_INFO what
 *                                  follows it, as Debian's php8.2-fpm.conf
 *                                  expects.
 *
 * Only fcgi:// backends exist so far: http:// and the balancer are refused
 * when the configuration is read (docs/proxy.md), never accepted and
 * ignored.
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/match.h"
#include "../http/connection.h"
#include "cgi.h"

#define PROXY_HANDLER_PREFIX "proxy:"
static const char PROXY_SERVER_HANDLER[] = "proxy-server";

/* ---- addresses ------------------------------------------------------------ */

static bool parse_ip_port(const char *host, size_t host_length, int port, proxy_address *address)
{
    char name[256];
    if (host_length == 0 || host_length >= sizeof(name))
        return false;
    memcpy(name, host, host_length);
    name[host_length] = '\0';
    if (name[0] == '[' && name[host_length - 1] == ']') {
        memmove(name, name + 1, host_length - 2);
        name[host_length - 2] = '\0';
    }
    if (strcmp(name, "localhost") == 0)
        strcpy(name, "127.0.0.1");
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
    struct addrinfo *found = NULL;
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    if (getaddrinfo(name, service, &hints, &found) != 0 || !found)
        return false;
    memcpy(&address->address, found->ai_addr, found->ai_addrlen);
    address->address_length = found->ai_addrlen;
    freeaddrinfo(found);
    return true;
}

const char *proxy_parse_url(pool *p, const char *url, char **scheme, proxy_address *address, char **path)
{
    memset(address, 0, sizeof(*address));
    const char *rest = url;
    const char *socket_path = NULL;
    size_t socket_path_length = 0;
    if (strncasecmp(rest, "unix:", 5) == 0) {
        const char *bar = strchr(rest, '|');
        if (!bar)
            return "a unix: backend needs |scheme://host after the socket's path";
        socket_path = rest + 5;
        socket_path_length = (size_t)(bar - socket_path);
        rest = bar + 1;
        if (socket_path_length == 0 || socket_path[0] != '/')
            return "the unix: socket's path must be absolute";
    }
    const char *separator = strstr(rest, "://");
    if (!separator)
        return "not a URL (scheme://host[:port]/path)";
    *scheme = pool_strndup(p, rest, (size_t)(separator - rest));
    for (char *c = *scheme; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    bool http = strcmp(*scheme, "http") == 0;
    if (strcmp(*scheme, "fcgi") != 0 && !http)
        return "only fcgi:// and http:// backends are built so far (https://, ws://, balancer:// are not: "
               "docs/proxy.md)";
    if (http && socket_path)
        return "unix: sockets are for fcgi:// so far";
    const char *host = separator + 3;
    const char *slash = strchr(host, '/');
    const char *host_end = slash ? slash : host + strlen(host);
    *path = pool_strdup(p, slash ? slash : "");
    if (socket_path) {
        struct sockaddr_un *un = (struct sockaddr_un *)&address->address;
        if (socket_path_length >= sizeof(un->sun_path))
            return "the unix: socket's path is too long";
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, socket_path, socket_path_length);
        address->address_length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + socket_path_length + 1);
        address->text = pool_printf(p, "unix:%.*s", (int)socket_path_length, socket_path);
        return NULL;
    }
    /* host[:port]; [v6]:port */
    const char *colon = NULL;
    if (host[0] == '[') {
        const char *close = memchr(host, ']', (size_t)(host_end - host));
        if (!close)
            return "an IPv6 address needs its closing ]";
        if (close + 1 < host_end && close[1] == ':')
            colon = close + 1;
    } else {
        colon = memchr(host, ':', (size_t)(host_end - host));
    }
    int port = http ? 80 : 8000;  /* Apache's default for fcgi:// is 8000 */
    if (colon) {
        char *end;
        long value = strtol(colon + 1, &end, 10);
        if (end != host_end || value <= 0 || value > 65535)
            return "the port must be a number from 1 to 65535";
        port = (int)value;
    }
    const char *name_end = colon ? colon : host_end;
    if (!parse_ip_port(host, (size_t)(name_end - host), port, address))
        return "cannot resolve the backend's host";
    address->text = pool_printf(p, "%.*s", (int)(host_end - host), host);
    return NULL;
}

bool proxy_value_is_clean(const char *value, size_t length)
{
    for (size_t i = 0; i < length; i++)
        if (((unsigned char)value[i] < 32 && value[i] != '\t') || value[i] == 127)
            return false;
    return true;
}

bool proxy_field_is_ours(const char *name, size_t length)
{
    static const char *const ours[] = { "Connection", "Keep-Alive", "Transfer-Encoding", "TE", "Trailer",
                                        "Upgrade", "Proxy-Connection", "Proxy-Authenticate", "Date", "Server" };
    for (size_t i = 0; i < COUNT_OF(ours); i++)
        if (strlen(ours[i]) == length && strncasecmp(name, ours[i], length) == 0)
            return true;
    return false;
}

int proxy_connect(const proxy_address *address)
{
    int fd = socket(address->address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)&address->address, address->address_length) == 0 ||
        errno == EINPROGRESS)
        return fd;
    int error = errno;
    close(fd);
    errno = error;
    return -1;
}

/* ---- directives ------------------------------------------------------------ */

static int set_proxy_pass(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    proxy_rule **list = target;
    const config_section *section = config_current_section(parse);
    bool in_location = section && (section->kind == SECTION_LOCATION);
    if (section && !in_location)
        return config_error(parse, "ProxyPass: only in the server, a <VirtualHost> or a <Location>");
    pool *p = config_pool(parse);
    proxy_rule *rule = pool_calloc(p, sizeof(*rule));
    const char *url;
    if (in_location) {
        if (argc != 1)
            return config_error(parse, "ProxyPass in <Location> takes the URL alone (the section's path is the prefix)");
        rule->prefix = section->path;
        url = argv[0];
    } else {
        if (argc < 2)
            return config_error(parse, "ProxyPass needs a URL-path and a URL (or !)");
        if (argv[0][0] != '/')
            return config_error(parse, "ProxyPass: the URL-path must start with /");
        rule->prefix = pool_strdup(p, argv[0]);  /* argv is the parser's scratch */
        url = argv[1];
    }
    if (argc > (in_location ? 1 : 2))
        return config_error(parse, "ProxyPass: key=value parameters (%s) are not built yet (docs/proxy.md)",
                            argv[in_location ? 1 : 2]);
    if (strcmp(url, "!") == 0) {
        rule->exclude = true;
    } else {
        const char *problem = proxy_parse_url(p, url, &rule->scheme, &rule->backend, &rule->path);
        if (problem)
            return config_error(parse, "ProxyPass %s: %s", url, problem);
        rule->url = pool_strdup(p, url);
        rule->authority = rule->backend.text;
    }
    /* In the order written. */
    proxy_rule **end = list;
    while (*end)
        end = &(*end)->next;
    *end = rule;
    return WEFT_OK;
}

/* A section's rules come before the ones it inherits (a copy: both lists
 * stay the configuration's). */
static void merge_rules(void *merged, const void *child, pool *p)
{
    proxy_rule **result = merged;
    proxy_rule *const *own = child;
    if (!*own)
        return;
    proxy_rule *inherited = *result, *first = NULL, **end = &first;
    for (const proxy_rule *rule = *own; rule; rule = rule->next) {
        proxy_rule *copy = pool_alloc(p, sizeof(*copy));
        *copy = *rule;
        *end = copy;
        end = &copy->next;
    }
    *end = inherited;
    *result = first;
}

static int set_proxy_requests(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    if (strcasecmp(argv[0], "Off") == 0) {
        *(int *)target = 1;
        return WEFT_OK;
    }
    if (strcasecmp(argv[0], "On") == 0)
        return config_error(parse, "ProxyRequests On: weft is never a forward proxy");
    return config_error(parse, "ProxyRequests takes On or Off");
}

/* ProxyPassReverse [/prefix/] http://backend/path/: a Location (or
 * Content-Location, URI) of the backend's that starts with the URL is
 * turned into this server's URL under the prefix. */
static int set_proxy_pass_reverse(config_parse *parse, const config_directive *d, void *target, int argc,
                                  char **argv)
{
    proxy_rule **list = target;
    const config_section *section = config_current_section(parse);
    bool in_location = section && section->kind == SECTION_LOCATION;
    if (section && !in_location)
        return config_error(parse, "ProxyPassReverse: only in the server, a <VirtualHost> or a <Location>");
    if (argc != (in_location ? 1 : 2))
        return config_error(parse, in_location ? "ProxyPassReverse in <Location> takes the URL alone"
                                               : "ProxyPassReverse needs a URL-path and a URL");
    pool *p = config_pool(parse);
    proxy_rule *rule = pool_calloc(p, sizeof(*rule));
    rule->prefix = in_location ? section->path : pool_strdup(p, argv[0]);
    rule->url = pool_strdup(p, argv[in_location ? 0 : 1]);
    if (!strstr(rule->url, "://"))
        return config_error(parse, "ProxyPassReverse: %s is not a URL", rule->url);
    proxy_rule **end = list;
    while (*end)
        end = &(*end)->next;
    *end = rule;
    return WEFT_OK;
}

static int set_on_off(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    if (strcasecmp(argv[0], "On") == 0 || strcasecmp(argv[0], "Off") == 0) {
        *(int *)target = strcasecmp(argv[0], "On") == 0 ? 2 : 1;
        return WEFT_OK;
    }
    return config_error(parse, "%s takes On or Off", d->name);
}

/* ProxyStatus: what server-status shows of balancers.  Balancers are not
 * built yet (BalancerMember is refused), so, as Apache's page without
 * balancers, it shows nothing: the directive is taken for Debian's
 * status.conf, whose <IfModule mod_proxy.c> block sets it. */
static int set_proxy_status(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    static const char *const values[] = { "Off", "On", "Full" };
    for (size_t i = 0; i < COUNT_OF(values); i++) {
        if (strcasecmp(argv[0], values[i]) == 0) {
            *(int *)target = (int)i + 1;
            return WEFT_OK;
        }
    }
    return config_error(parse, "ProxyStatus takes On, Off or Full");
}

#define DIR_FIELD(field) .scope = SCOPE_DIRECTORY, .offset = offsetof(proxy_dir_config, field), \
                         .size = sizeof(((proxy_dir_config *)0)->field)

static const config_directive proxy_directives[] = {
    { .name = "ProxyPass", .contexts = CONTEXT_SERVER_OR_VHOST | CONTEXT_LOCATION, DIR_FIELD(rules),
      .min_args = 1, .max_args = ARGS_UNLIMITED, .set = set_proxy_pass, .merge = merge_rules,
      .syntax = "[URL-path] http://host:port/path | fcgi://host:port/path | unix:/socket|fcgi://host/path | !",
      .help = "sends requests under a URL-path to a backend (HTTP/1.1 or FastCGI)" },
    { .name = "ProxyTimeout", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(timeout_ms), .min_args = 1, .max_args = 1,
      .set = config_set_milliseconds, .syntax = "seconds|Nms",
      .help = "how long a backend may stay silent before the request fails with 504 (default: Timeout)" },
    { .name = "ProxyRequests", .contexts = CONTEXT_SERVER_OR_VHOST, DIR_FIELD(requests), .min_args = 1,
      .max_args = 1, .set = set_proxy_requests, .syntax = "Off",
      .help = "a forward proxy: Off is the only value (On is refused)" },
    { .name = "ProxyPassReverse", .contexts = CONTEXT_SERVER_OR_VHOST | CONTEXT_LOCATION, DIR_FIELD(reverse),
      .min_args = 1, .max_args = 2, .set = set_proxy_pass_reverse, .merge = merge_rules,
      .syntax = "[URL-path] http://backend/path/",
      .help = "rewrites a backend's Location, Content-Location and URI fields to this server's URL" },
    { .name = "ProxyPreserveHost", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(preserve_host), .min_args = 1,
      .max_args = 1, .set = set_on_off, .syntax = "On|Off",
      .help = "sends the client's Host to an http:// backend instead of the backend's own (default Off)" },
    { .name = "ProxyAddHeaders", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(add_headers), .min_args = 1,
      .max_args = 1, .set = set_on_off, .syntax = "On|Off",
      .help = "adds X-Forwarded-For, -Host and -Server to requests for http:// backends (default On)" },
    { .name = "ProxyStatus", .contexts = CONTEXT_SERVER_OR_VHOST, DIR_FIELD(status), .min_args = 1,
      .max_args = 1, .set = set_proxy_status, .syntax = "Off|On|Full",
      .help = "balancer members in server-status (no balancers exist yet: nothing is shown, as Apache without them)" },
    { .name = NULL },
};

/* ---- which requests ----------------------------------------------------------- */

static const proxy_rule *find_rule(request *r)
{
    for (const proxy_rule *rule = proxy_dir_settings(r->dir)->rules; rule; rule = rule->next)
        if (url_prefix_match(rule->prefix, r->path))
            return rule->exclude ? NULL : rule;
    return NULL;
}

/* As cgi.c: the longest leading part of the mapped path that exists is
 * the script, the rest PATH_INFO.  WEFT_OK or an HTTP status. */
static int locate_script(request *r, proxy_target *target)
{
    const char *full = r->file_path;
    if (!full || full[0] != '/')
        return 404;
    size_t full_length = strlen(full);
    char *path;
    size_t length;
    struct stat info;
    int rc = cgi_find_existing_prefix(r, full, &path, &length, &info);
    if (rc != WEFT_OK)
        return rc;
    if (!S_ISREG(info.st_mode))
        return S_ISDIR(info.st_mode) && length == full_length ? 403 : 404;
    target->script_filename = path;
    target->path_info = pool_strdup(r->pool, full + length);
    size_t path_length = strlen(r->path), info_length = full_length - length;
    if (info_length <= path_length && strcmp(r->path + path_length - info_length, target->path_info) == 0)
        target->script_name = pool_strndup(r->pool, r->path, path_length - info_length);
    else
        target->script_name = r->path;
    return WEFT_OK;
}

static int timeout_of(request *r)
{
    int timeout = proxy_dir_settings(r->dir)->timeout_ms;
    return timeout > 0 ? timeout : r->server->timeout * 1000;
}

static int proxy_handler(request *r)
{
    proxy_target target = { .timeout_ms = timeout_of(r) };
    const char *handler = r->handler ? r->handler : r->dir->handler;
    if (handler == PROXY_SERVER_HANDLER)
        handler = NULL;  /* proxy_translate's: the rule decides */
    if (handler && strncasecmp(handler, PROXY_HANDLER_PREFIX, strlen(PROXY_HANDLER_PREFIX)) == 0) {
        /* SetHandler proxy:...: the mapped file runs in the backend. */
        char *scheme, *path;
        const char *problem = proxy_parse_url(r->pool, handler + strlen(PROXY_HANDLER_PREFIX), &scheme,
                                              &target.backend, &path);
        if (problem) {
            log_module_message(LOG_LEVEL_ERROR, "proxy", "SetHandler %s: %s", handler, problem);
            return 500;
        }
        if (strcmp(scheme, "fcgi") != 0) {
            log_module_message(LOG_LEVEL_ERROR, "proxy", "SetHandler %s: only fcgi:// backends are built for "
                               "SetHandler so far (use ProxyPass)", handler);
            return 500;
        }
        int status = locate_script(r, &target);
        if (status != WEFT_OK)
            return status;
        return proxy_fcgi_start(r, &target);
    }
    const proxy_rule *rule = find_rule(r);
    if (!rule)
        return WEFT_DECLINED;
    target.backend = rule->backend;
    target.rule = rule;
    if (strcmp(rule->scheme, "http") == 0)
        return proxy_http_start(r, &target);
    const char *rest = r->path + strlen(rule->prefix);
    if (rule->prefix[strlen(rule->prefix) - 1] != '/' && *rest == '/' && rule->path[0] &&
        rule->path[strlen(rule->path) - 1] == '/')
        rest++;
    target.script_filename = pool_printf(r->pool, "%s%s", rule->path, rest);
    target.script_name = r->path;
    target.path_info = "";
    return proxy_fcgi_start(r, &target);
}

/* A ProxyPass'ed path is the backend's, not a file's: it needs no mapping
 * under DocumentRoot (nor the 404 a missing file would get). */
static int proxy_translate(request *r)
{
    if (!find_rule(r))
        return WEFT_DECLINED;
    r->file_path = pool_printf(r->pool, "proxy:%s", r->path);
    r->handler = PROXY_SERVER_HANDLER;  /* over a SetHandler of <FilesMatch \.php$>, as Apache's */
    return WEFT_OK;
}

/* Prefixes (a trailing ':'): SetHandler proxy:fcgi://host:port and
 * proxy:unix:/socket|fcgi://host; other schemes are refused at -t. */
static const char *const proxy_handlers[] = { "proxy:fcgi:", "proxy:unix:", NULL };

const module proxy_module = {
    .name = "proxy",
    .directives = proxy_directives,
    .dir_config_size = sizeof(proxy_dir_config),
    .handlers = proxy_handlers,
    .translate = proxy_translate,
    .handler = proxy_handler,
};

/* mod_proxy_fcgi has no directives of its own yet; its name makes
 * <IfModule proxy_fcgi_module> true. */
const module proxy_fcgi_module = {
    .name = "proxy_fcgi",
};
