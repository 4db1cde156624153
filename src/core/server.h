/*
 * server.h — the configuration as the rest of weft reads it.
 *
 * server_config holds everything set at server (and later vhost) level;
 * dir_config holds what <Directory> and <Location> sections may change.  The
 * fields are the core's (core_module.c, mpm_module.c, vhost.c); every module
 * under src/modules keeps its own structs, reached through module_config
 * (module.h, docs/modules.md), except RequestReadTimeout, which the
 * connection layer applies itself.  After config_load() both are read-only
 * and shared by all threads of a process.
 *
 * Field defaults live in the directive tables (default_value), never here.
 */
#ifndef WEFT_SERVER_H
#define WEFT_SERVER_H

#include <sys/socket.h>
#include "common.h"
#include "config.h"
#include "pool.h"
#include "regex.h"

/* Options bits (Options directive). */
enum {
    OPTION_INDEXES = 1 << 0,
    OPTION_FOLLOW_SYMLINKS = 1 << 1,
    OPTION_EXEC_CGI = 1 << 2,
    OPTION_INCLUDES = 1 << 3,
    OPTION_MULTIVIEWS = 1 << 4,
    OPTION_SYMLINKS_IF_OWNER_MATCH = 1 << 5,
};
#define OPTION_ALL (OPTION_INDEXES | OPTION_FOLLOW_SYMLINKS | OPTION_EXEC_CGI | OPTION_INCLUDES | OPTION_SYMLINKS_IF_OWNER_MATCH)

/* UseCanonicalName (request.h, request_self_url). */
enum { CANONICAL_NAME_OFF = 0, CANONICAL_NAME_ON = 1, CANONICAL_NAME_DNS = 2 };

/* "Options +A -B" is relative (applied on top of the enclosing value);
 * "Options A B" replaces it. */
typedef struct options_setting {
    unsigned value;   /* absolute form */
    unsigned add;     /* relative form */
    unsigned remove;
    bool relative;
} options_setting;

enum { SERVER_SIGNATURE_OFF = 0, SERVER_SIGNATURE_ON = 1, SERVER_SIGNATURE_EMAIL = 2 };
enum { HOSTNAME_LOOKUPS_OFF = 0, HOSTNAME_LOOKUPS_ON = 1, HOSTNAME_LOOKUPS_DOUBLE = 2 };

typedef struct mime_addition {
    struct mime_addition *next;
    char *extension;  /* lower case, without the dot */
    char *type;
} mime_addition;

typedef struct {
    options_setting options;
    char **directory_index;        /* NULL-terminated; empty list = "disabled" */
    char *handler;                 /* SetHandler; NULL = default (static files) */
    int64_t limit_request_body;    /* bytes; 0 = unlimited */
    bool enable_sendfile;          /* EnableSendfile: Off sends files with pread + send */
    int use_canonical_name;        /* UseCanonicalName: CANONICAL_NAME_* */
    int server_signature;          /* ServerSignature: SERVER_SIGNATURE_* */
    int hostname_lookups;          /* HostnameLookups: HOSTNAME_LOOKUPS_* */

    /* Each module's own directory struct (module_dir_config), indexed by the
     * module's position in weft_modules; NULL where its dir_config_size is 0.
     * A per-request merge shares the structs of root_dir and copies one only
     * when a section sets a row of that module (config_merge.c). */
    void **module_config;
    uint64_t module_config_private;  /* bit i: module_config[i] is this struct's own copy */

    unsigned char set[CONFIG_MAX_DIRECTIVES / 8];
} dir_config;

/* Merged per request in this order (config_merge.c, docs/config.md):
 * Directory (shortest first) < DirectoryMatch < Files/FilesMatch <
 * Location/LocationMatch, each group in file order; then the <If> sections
 * whose condition holds (config_merge_conditions). */
typedef enum {
    SECTION_DIRECTORY,        /* <Directory path>; wildcards match whole components */
    SECTION_DIRECTORY_MATCH,  /* <DirectoryMatch regex>, <Directory ~ regex> */
    SECTION_FILES,            /* <Files name>, wildcards allowed */
    SECTION_FILES_MATCH,      /* <FilesMatch regex>, <Files ~ regex> */
    SECTION_LOCATION,         /* <Location url-path>, wildcards allowed */
    SECTION_LOCATION_MATCH,   /* <LocationMatch regex>, <Location ~ regex> */
    SECTION_IF,               /* <If expr>, <ElseIf expr>, <Else> */
} section_kind;

/* What an <If>, <ElseIf> or <Else> section holds beyond a path section.
 * A chain is an <If> and the <ElseIf>/<Else> sections that follow it in
 * the same scope; a member applies when the enclosing section (within)
 * and the enclosing <If> (parent) apply, no earlier member of its chain
 * did, and its own expression holds. */
typedef struct section_condition {
    const struct weft_expr *expr;              /* NULL for <Else> */
    bool continues_chain;                      /* <ElseIf>, <Else> */
    const struct section_condition *previous;  /* the chain member before this one */
    const struct section_condition *parent;    /* the enclosing <If>, NULL at its scope's top */
} section_condition;

typedef struct config_section {
    section_kind kind;
    char *path;          /* Directory: absolute, no trailing slash ("/" stays); Location: URL
                          * prefix; Files: a name; the *_MATCH kinds: the regex as written */
    weft_regex *regex;   /* the *_MATCH kinds (PCRE2, as Apache) */
    const char *regex_prefix;  /* literal text every match starts with ("" if none) */
    bool wildcard;       /* path has *, ? or [: matched with fnmatch(3) */
    int depth;           /* Directory: number of path components ("/" is 0) */
    const struct config_section *within;  /* <Files> nested in a <Directory>, <If> in any
                                           * section: applies only where that one applies */
    const section_condition *condition;   /* SECTION_IF */
    dir_config *config;
    const char *file;
    int line;
} config_section;

typedef struct {
    char *text;                        /* as written, for messages: "127.0.0.1:8080" */
    struct sockaddr_storage address;
    socklen_t address_length;
    bool https;                        /* "Listen 443 https": TLS even without SSLEngine (modules/ssl) */
    const char *file;
    int line;
} listen_address;

typedef enum {
    SERVER_TOKENS_PROD,     /* "weft" */
    SERVER_TOKENS_MAJOR,    /* "weft/0" */
    SERVER_TOKENS_MINOR,    /* "weft/0.1" */
    SERVER_TOKENS_MINIMAL,  /* "weft/0.1.0" */
    SERVER_TOKENS_OS,       /* "weft/0.1.0 (Unix)" */
    SERVER_TOKENS_FULL,     /* same as OS: weft has no modules to list */
} server_tokens_level;

typedef struct {
    int header_initial;   /* seconds to receive the head (0 = no limit) */
    int header_maximum;   /* extended by the rate up to this (0 = no upper bound) */
    int header_min_rate;  /* bytes per second that extend the deadline (0 = none) */
    int body_initial;
    int body_maximum;
    int body_min_rate;
} request_read_timeout_setting;

enum { ACCEPT_FILTER_DATA = 0, ACCEPT_FILTER_NONE = 1 };  /* zero: the default */

typedef struct server_config {
    pool *pool;
    int config_generation;           /* bumped on every successful reload */

    /* core */
    char *server_root;
    char *server_name;
    char *document_root;
    listen_address *listens;
    int listen_count;
    char *pid_file;
    int timeout;                     /* seconds */
    bool keep_alive;
    int keep_alive_timeout_ms;
    int max_keep_alive_requests;     /* 0 = unlimited */
    int limit_request_line;
    int limit_request_field_size;
    int limit_request_fields;        /* 0 = unlimited */
    int limit_request_head_size;     /* bytes of a whole request head */
    int64_t request_buffer_budget;   /* bytes of heads and bodies a child buffers; 0 = no budget */
    server_tokens_level server_tokens;
    char *server_header;             /* the Server field value ServerTokens implies */
    char *server_admin;              /* ServerAdmin: mailto in signatures, the 500 page, SERVER_ADMIN */
    char **access_file_names;        /* AccessFileName: NULL-terminated (core/htaccess.h) */
    char *default_runtime_dir;       /* DefaultRuntimeDir: relative runtime files go here */

    /* log */
    char *error_log;
    int log_level;                   /* log.h LOG_LEVEL_* */
    char **log_module_levels;        /* LogLevel's "module:level" words, NULL-terminated (a module
                                      * reads its own: rewrite:trace3); the LogLevel row spans both */

    /* mpm */
    int start_servers;
    int min_spare_threads;
    int max_spare_threads;
    int threads_per_child;
    int thread_limit;
    int server_limit;
    int max_clients;                 /* processes (the seed's meaning) */
    int max_request_workers;         /* threads (Apache 2.4's meaning) */
    int max_processes;               /* the reconciled process cap */
    int max_connections_per_child;   /* 0 = never recycle */
    int listen_backlog;
    int accept_filter;               /* AcceptFilter http: ACCEPT_FILTER_DATA (default) or _NONE */
    int send_buffer_size;
    int receive_buffer_size;
    char *scoreboard_file;
    char *user;
    char *group;
    char *core_dump_directory;
    char *chroot_dir;                /* ChrootDir: children chroot here (privileges.c) */
    int graceful_shutdown_timeout;   /* seconds; 0 = wait forever */
    int connections_per_thread;      /* parked connections a child may hold, per thread */
    int drain_delay;                 /* DrainDelay: seconds -k graceful-stop drains before closing listeners */
    char *drain_file;                /* DrainFile: the server drains while this file exists; NULL = none */

    /* reqtimeout: RequestReadTimeout (mod_reqtimeout's semantics); here
     * because the connection layer and the body reader apply it */
    request_read_timeout_setting request_read_timeout;

    /* sections, in file order (a virtual host: the main server's, then its own) */
    config_section *sections;
    int section_count;
    const config_section **merge_order;  /* the same sections in the order they merge */
    dir_config *root_dir;            /* server-level values of dir_config directives */

    /* virtual hosts (core/vhost.h) */
    struct vhost_table *vhosts;      /* main server: the <VirtualHost> sections; NULL if none */
    char **server_aliases;           /* ServerAlias names, NULL-terminated; NULL = none */

    /* Each module's own server struct (module_server_config), indexed by the
     * module's position in weft_modules; NULL where its server_config_size is 0. */
    void **module_config;

    unsigned char set[CONFIG_MAX_DIRECTIVES / 8];
} server_config;

/* Computes the dir_config for a request: root_dir, then every section that
 * applies, in merge_order: Directory sections whose path contains file_path
 * (shortest first), DirectoryMatch sections matching file_path, Files and
 * FilesMatch sections matching its last component, then Location and
 * LocationMatch sections matching url_path.  Returns root_dir itself when
 * no section applies (no allocation), else a merged copy in p. */
const dir_config *config_dir_for_request(const server_config *server, const char *file_path,
                                         const char *url_path, pool *p);

/* Merges into merged (what config_dir_for_request returned) the <If>,
 * <ElseIf> and <Else> sections that apply, as Apache's if-walk does after
 * its location walk: in the merge order of their enclosing sections, in
 * file order within one.  context supplies the request's variables.
 * Returns merged itself when there are none (no allocation, no evaluation). */
struct expr_context;
const dir_config *config_merge_conditions(const server_config *server, const dir_config *merged,
                                          const char *file_path, const char *url_path,
                                          struct expr_context *context, pool *p);

#endif
