/*
 * module.h — what a weft module is: a directive table plus optional hooks.
 *
 * Modules are compiled in; modules.c lists them in the order their hooks run.
 * <IfModule X> is true when X names an Apache module whose directives weft
 * implements, as "X_module", "mod_X.c", "mod_X" or "X"
 * (modules/apache_modules.c).
 */
#ifndef WEFT_MODULE_H
#define WEFT_MODULE_H

#include "config.h"
#include "server.h"

struct request;
struct connection;
struct connection_protocol;

typedef struct module {
    const char *name;                       /* e.g. "status" */
    const config_directive *directives;     /* terminated by a row with name NULL; may be NULL */
    /* The module's own configuration (docs/modules.md): bytes of its server
     * struct and of its directory struct, 0 = none.  The engine allocates
     * them zeroed; the module's SCOPE_SERVER rows then have `offset` into
     * its server struct and its SCOPE_DIRECTORY rows into its directory
     * struct, with defaults, "set" bits, per-request merging, vhost
     * inheritance and DUMP_CONFIG exactly as for core fields. */
    size_t server_config_size;
    size_t dir_config_size;
    /* After all files are read and defaults applied: check and derive values.
     * Report problems with config_error() (no line) and return WEFT_ERROR. */
    int (*post_config)(config_parse *parse, server_config *server);
    /* After post_config, once per <VirtualHost>: vhost is already a copy of
     * main with the section's own directives on top (core/vhost.h); derive
     * what post_config derived for main, where the vhost set its own. */
    int (*vhost_config)(config_parse *parse, const server_config *main, server_config *vhost);
    /* URL-path to file (request.c, before DocumentRoot): return WEFT_OK
     * after setting r->file_path to an absolute path, WEFT_DECLINED to let
     * the next module or DocumentRoot map it, WEFT_DONE after setting up a
     * complete response (a redirect), or an HTTP status >= 400.  A mapping
     * that implies a handler also sets r->handler (ScriptAlias:
     * "cgi-script").  Hooks also run for internal redirects, and for
     * PATH_TRANSLATED (request_map_path, whose changes to r are undone). */
    int (*translate)(struct request *r);
    /* Access control, after mapping and r->dir, before any handler:
     * WEFT_OK (or WEFT_DECLINED) lets the request go on, an HTTP status
     * (403) refuses it. */
    int (*access)(struct request *r);
    /* Content handler: WEFT_DECLINED if the request is not for it. */
    int (*handler)(struct request *r);
    /* In each child, before its threads start: a descriptor of the
     * module's own for the child's event loop to watch (edge-triggered), or
     * -1.  When it becomes readable, child_event runs on a worker thread,
     * before the other events that thread took with it, and must read it
     * until it would block.  Several threads may run it at once. */
    int (*child_event_fd)(const server_config *server);
    void (*child_event)(void);

    /* ---- request phases (docs/modules.md), appended: in the order they
     * run.  translate, access and handler above keep their place in it:
     * post_read, translate, map_to_storage, check_user, access, fixups,
     * handler, then response_head (or error_response first), then log.
     * Hooks of one phase run in weft_modules order. */

    /* The head is parsed, the target decoded and the virtual host chosen,
     * before translate: WEFT_OK/WEFT_DECLINED go on, WEFT_DONE after setting
     * up a complete response, an HTTP status refuses. */
    int (*post_read)(struct request *r);
    /* After translate, with r->file_path and r->dir (the merged directory
     * configuration) known, before check_user: as post_read. */
    int (*map_to_storage)(struct request *r);
    /* Authentication: who the client is (r->user).  WEFT_DECLINED: not
     * this module's business; WEFT_OK: the first to answer OK ends the
     * phase; an HTTP status (401) refuses. */
    int (*check_user)(struct request *r);
    /* Last changes before the handler (after access): WEFT_OK/WEFT_DECLINED
     * go on, an HTTP status refuses. */
    int (*fixups)(struct request *r);
    /* The final response head, just before it is serialised (also for
     * error pages and streamed responses): add or change header fields
     * (Header, Expires, AddDefaultCharset).  No return value. */
    void (*response_head)(struct request *r);
    /* The request failed with `status` (>= 400): WEFT_OK after answering it
     * another way (ErrorDocument), WEFT_DECLINED for the built-in page. */
    int (*error_response)(struct request *r, int status);
    /* After the response went out (or the connection failed): every log
     * hook runs. */
    void (*log)(struct request *r);
    /* In the control process, for a configuration about to serve (startup
     * and every reload): open what the children inherit (log files, pipes).
     * WEFT_ERROR fails a startup; a reload keeps going without them. */
    int (*open_logs)(server_config *server);
    /* The control process retires a configuration: close what open_logs
     * opened (called also when open_logs was not). */
    void (*close_logs)(server_config *server);
    /* A protocol that may take connections over from HTTP/1.1 (HTTP/2),
     * after ALPN or an Upgrade; see http/connection.h.  NULL = none. */
    const struct connection_protocol *protocol;
    /* The handler names this module answers (SetHandler, AddHandler),
     * NULL-terminated; NULL = none.  Checked at configuration time. */
    const char *const *handlers;

    /* ---- appended for TLS (modules/ssl.c) ---- */
    /* After every vhost_config: the whole configuration is built (tables
     * that span the main server and all vhosts, e.g. which listeners speak
     * TLS).  As post_config. */
    int (*config_complete)(config_parse *parse, server_config *main);
    /* In each child, after privileges are dropped and before its threads
     * start (a module's background thread starts here). */
    void (*child_init)(const server_config *server);
    /* A connection was accepted, before anything is read: a module may put
     * its own I/O layer under it (c->io, TLS).  WEFT_OK/WEFT_DECLINED go
     * on; WEFT_ERROR closes the connection. */
    int (*connection_open)(struct connection *c);
    /* A request variable the module knows (mod_ssl's SSL_*: ssl_vars.c),
     * asked for names the http layer does not know itself by expressions'
     * %{NAME}, LogFormat's %{NAME}x and whoever else reads request
     * variables (http/request_vars.h): the value, or NULL when the module
     * does not know the name or it is unset.  Allocates from r->pool. */
    const char *(*variable)(struct request *r, const char *name);
} module;

extern const module *const weft_modules[];

/* modules/apache_modules.c.  Is the Apache module of this name (any of
 * its spellings) built into weft? */
bool module_is_present(const char *name);
/* Is it one weft replaces (mpm_event, mpm_prefork): absent, but nothing is
 * missing? */
bool module_is_replaced(const char *name);
/* Any spelling -> "mod_X", for messages. */
void module_apache_name(const char *name, char *out, size_t size);
/* The Apache module ("mod_rewrite") of a directive weft does not implement,
 * or of a section as "<Proxy"; NULL if it is not a well-known one. */
const char *module_of_directive(const char *directive);
/* Is name a handler some module declares (or None, default-handler)? */
bool module_handler_exists(const char *name);
/* "default-handler, cgi-script, ..." for messages. */
void module_handler_names(char *out, size_t size);
/* The Apache module ("mod_negotiation") of a handler weft lacks, NULL if
 * it is not a well-known one; *source_is_secret tells whether serving the
 * files as they are would disclose a script's source. */
const char *module_of_handler(const char *name, bool *source_is_secret);

/* The position of m in weft_modules, -1 if it is not there. */
int module_index(const module *m);

/* The module's own struct in a server_config (the main server's or a
 * vhost's) or in a dir_config (root_dir, a section's, or r->dir, merged for
 * the request).  Never NULL when the module declared a non-zero size and
 * the struct came from config_load; read-only after it.
 *
 * Inline, because a request asks a dozen times: the module structs' addresses
 * differ in a few bits, which config_merge.c picks at the first load
 * (module_direct_shift) to index a small table; a module the table does not
 * hold takes the slow path.  A unit
 * test that defines these two functions itself defines
 * WEFT_MODULE_CONFIG_STUBS first. */
extern unsigned module_direct_shift;
extern const module *module_direct_keys[256];
extern unsigned char module_direct_values[256];
/* The same without the table (a module it does not hold, or none built). */
void *module_server_config_slow(const server_config *server, const module *m);
void *module_dir_config_slow(const dir_config *dir, const module *m);

#ifdef WEFT_MODULE_CONFIG_STUBS
void *module_server_config(const server_config *server, const module *m);
void *module_dir_config(const dir_config *dir, const module *m);
#else
static inline void *module_server_config(const server_config *server, const module *m)
{
    unsigned slot = (unsigned)((uintptr_t)m >> module_direct_shift) % 256;
    if (module_direct_keys[slot] == m && server->module_config)
        return server->module_config[module_direct_values[slot]];
    return module_server_config_slow(server, m);
}

static inline void *module_dir_config(const dir_config *dir, const module *m)
{
    unsigned slot = (unsigned)((uintptr_t)m >> module_direct_shift) % 256;
    if (module_direct_keys[slot] == m && dir->module_config)
        return dir->module_config[module_direct_values[slot]];
    return module_dir_config_slow(dir, m);
}
#endif

/* The control process's hooks (core/module.c): open_logs of every module,
 * WEFT_ERROR if one failed (all are still tried); close_logs of every one. */
int modules_open_logs(server_config *server);
void modules_close_logs(server_config *server);

#endif
