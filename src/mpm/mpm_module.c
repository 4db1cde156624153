/*
 * mpm_module.c — the process-model directives (Apache's worker MPM and
 * mpm_common) and their reconciliation.
 *
 * All are server context only.  MaxClients / MaxRequestWorkers and
 * MaxRequestsPerChild / MaxConnectionsPerChild have no default_value on
 * purpose: defaults are applied to every row that was not set, so a default
 * on one name of a pair would overwrite what the other name set.  An unset
 * MaxConnectionsPerChild is 0 (never recycle) because server_config is
 * zeroed; the caps are computed by post_config (capacity.h).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/config.h"
#include "../core/log.h"
#include "../core/module.h"
#include "../core/server.h"
#include "../os/os.h"
#include "capacity.h"
#include "control.h"

#define SERVER_FIELD(field) .scope = SCOPE_SERVER, .offset = offsetof(server_config, field), \
                            .size = sizeof(((server_config *)0)->field)

/* AcceptFilter protocol filter.  weft listens for http only, so only that
 * protocol's filter is kept; https and others are accepted as Apache's are
 * and have nothing to apply to.  On Linux every filter but "none" means
 * TCP_DEFER_ACCEPT, as in Apache. */
static int set_accept_filter(config_parse *parse, const config_directive *directive, void *target, int argc,
                             char **argv)
{
    if (strcasecmp(argv[0], "http") != 0)
        return WEFT_OK;
    *(int *)target = strcasecmp(argv[1], "none") == 0 ? ACCEPT_FILTER_NONE : ACCEPT_FILTER_DATA;
    return WEFT_OK;
}

/* ConnectionsPerThread: refused above its maximum here, where the error
 * can name the file and line, rather than clamped later. */
static int set_connections_per_thread(config_parse *parse, const config_directive *directive, void *target,
                                      int argc, char **argv)
{
    if (config_set_integer(parse, directive, target, argc, argv) != WEFT_OK)
        return WEFT_ERROR;
    if (*(int *)target > MPM_MAX_CONNECTIONS_PER_THREAD)
        return config_error(parse, "ConnectionsPerThread %d exceeds the maximum of %d", *(int *)target,
                            MPM_MAX_CONNECTIONS_PER_THREAD);
    return WEFT_OK;
}

/* Rows post_config asks config_was_set() about, by position. */
enum { ROW_MAX_CLIENTS = 6, ROW_MAX_REQUEST_WORKERS = 7 };

static const config_directive mpm_directives[] = {
    { .name = "StartServers", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(start_servers), .min_args = 1,
      .max_args = 1, .set = config_set_integer, .default_value = "3", .syntax = "number",
      .help = "child processes created at startup and at each restart" },
    { .name = "MinSpareThreads", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(min_spare_threads),
      .min_args = 1, .max_args = 1, .set = config_set_integer, .default_value = "75", .syntax = "number",
      .help = "fewer idle threads than this in all children: fork more children" },
    { .name = "MaxSpareThreads", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(max_spare_threads),
      .min_args = 1, .max_args = 1, .set = config_set_integer, .default_value = "250", .syntax = "number",
      .help = "more idle threads than this for a second: retire a child (at least "
              "MinSpareThreads + ThreadsPerChild + 1)" },
    { .name = "ThreadsPerChild", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(threads_per_child),
      .min_args = 1, .max_args = 1, .set = config_set_integer, .default_value = "25", .syntax = "number",
      .help = "threads in each child process (at most ThreadLimit)" },
    { .name = "ThreadLimit", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(thread_limit), .min_args = 1,
      .max_args = 1, .set = config_set_integer, .default_value = "64", .syntax = "number",
      .help = "the largest ThreadsPerChild for the life of the server (sizes the scoreboard)" },
    { .name = "ServerLimit", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(server_limit), .min_args = 1,
      .max_args = 1, .set = config_set_integer, .default_value = "16", .syntax = "number",
      .help = "process slots for the life of the server, old and new generation together "
              "(sizes the scoreboard)" },
    [ROW_MAX_CLIENTS] =
    { .name = "MaxClients", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(max_clients), .min_args = 1,
      .max_args = 1, .set = config_set_integer, .syntax = "processes",
      .help = "the most child processes at once (mpmt_pthread's meaning: simultaneous clients = "
              "MaxClients x ThreadsPerChild); default: 400 / ThreadsPerChild" },
    [ROW_MAX_REQUEST_WORKERS] =
    { .name = "MaxRequestWorkers", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(max_request_workers),
      .min_args = 1, .max_args = 1, .set = config_set_integer, .syntax = "threads",
      .help = "the most threads in all children at once (Apache 2.4's meaning; a multiple of "
              "ThreadsPerChild); default 400" },
    { .name = "MaxConnectionsPerChild", .contexts = CONTEXT_SERVER_ONLY,
      SERVER_FIELD(max_connections_per_child), .min_args = 1, .max_args = 1, .set = config_set_integer,
      .syntax = "number", .help = "connections a child serves before it is replaced; 0 (the default) = never" },
    { .name = "MaxRequestsPerChild", .contexts = CONTEXT_SERVER_ONLY,
      SERVER_FIELD(max_connections_per_child), .min_args = 1, .max_args = 1, .set = config_set_integer,
      .syntax = "number", .help = "old name of MaxConnectionsPerChild (counts connections, as Apache does)" },
    { .name = "ListenBacklog", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(listen_backlog), .min_args = 1,
      .max_args = 1, .set = config_set_integer, .default_value = "511", .syntax = "number",
      .help = "the queue length of pending connections (the kernel may cap it)" },
    { .name = "SendBufferSize", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(send_buffer_size),
      .min_args = 1, .max_args = 1, .set = config_set_integer, .default_value = "0", .syntax = "bytes",
      .help = "SO_SNDBUF of the listening sockets; 0 = the system default, else at least 512" },
    { .name = "ReceiveBufferSize", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(receive_buffer_size),
      .min_args = 1, .max_args = 1, .set = config_set_integer, .default_value = "0", .syntax = "bytes",
      .help = "SO_RCVBUF of the listening sockets; 0 = the system default, else at least 512" },
    { .name = "ScoreBoardFile", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(scoreboard_file),
      .min_args = 1, .max_args = 1, .set = config_set_string, /* resolved by core's post_config */ .syntax = "file",
      .help = "keep the scoreboard in this file instead of anonymous shared memory" },
    { .name = "User", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(user), .min_args = 1, .max_args = 1,
      .set = config_set_string, .syntax = "name|#uid",
      .help = "the user children run as when started as root (default nobody; root is refused)" },
    { .name = "Group", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(group), .min_args = 1, .max_args = 1,
      .set = config_set_string, .syntax = "name|#gid",
      .help = "the group children run as when started as root (default: User's primary group)" },
    { .name = "CoreDumpDirectory", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(core_dump_directory),
      .min_args = 1, .max_args = 1, .set = config_set_path, .syntax = "directory",
      .help = "where crashing children dump core (re-enables dumps after the uid change)" },
    { .name = "ChrootDir", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(chroot_dir), .min_args = 1,
      .max_args = 1, .set = config_set_path, .syntax = "directory",
      .help = "children chroot here before dropping root; DocumentRoot is then a path inside it" },
    { .name = "GracefulShutdownTimeout", .contexts = CONTEXT_SERVER_ONLY,
      SERVER_FIELD(graceful_shutdown_timeout), .min_args = 1, .max_args = 1, .set = config_set_seconds,
      .default_value = "10", .syntax = "seconds",
      .help = "how long retiring children may finish their requests before SIGTERM; 0 = forever" },
    { .name = "ConnectionsPerThread", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(connections_per_thread),
      .min_args = 1, .max_args = 1, .set = set_connections_per_thread, .default_value = "256", .syntax = "number",
      .help = "a child holds at most ThreadsPerChild x this many connections, parked ones included "
              "(1 to 1024)" },
    { .name = "LockFile", .contexts = CONTEXT_SERVER_ONLY, .scope = SCOPE_SERVER, .min_args = 1,
      .max_args = 1, .set = config_set_ignored, .syntax = "file",
      .help = "accepted for Apache 2.2 configurations; weft needs no accept lock" },
    { .name = "AcceptFilter", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(accept_filter), .min_args = 2,
      .max_args = 2, .set = set_accept_filter, .default_value = "http data", .syntax = "protocol none|data",
      .help = "for http: 'data' (the default, as Apache's on Linux) has the kernel hand over a connection "
              "only once its first bytes arrived (TCP_DEFER_ACCEPT); 'none' at once" },
    { .name = "AcceptMutex", .contexts = CONTEXT_SERVER_ONLY, .scope = SCOPE_SERVER, .min_args = 1,
      .max_args = 1, .set = config_set_ignored, .syntax = "mechanism",
      .help = "accepted for Apache 2.2 configurations; weft needs no accept mutex" },
    { .name = "DrainDelay", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(drain_delay), .min_args = 1,
      .max_args = 1, .set = config_set_seconds, .default_value = "0", .syntax = "seconds",
      .help = "on -k graceful-stop, how long the server drains first (health-check handler 503, "
              "Connection: close on kept-alive responses) while its listeners still accept" },
    { .name = "DrainFile", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(drain_file), .min_args = 1,
      .max_args = 1, .set = config_set_path, .syntax = "file",
      .help = "while this file exists the server drains (health-check handler 503, Connection: close "
              "on kept-alive responses) and keeps serving; checked ten times a second" },
    { .name = NULL },
};

static void copy_in(const server_config *server, mpm_capacity *c)
{
    memset(c, 0, sizeof *c);
    c->server_limit = server->server_limit;
    c->thread_limit = server->thread_limit;
    c->threads_per_child = server->threads_per_child;
    c->max_clients = server->max_clients;
    c->max_clients_set = config_was_set(server, &mpm_directives[ROW_MAX_CLIENTS]);
    c->max_request_workers = server->max_request_workers;
    c->max_request_workers_set = config_was_set(server, &mpm_directives[ROW_MAX_REQUEST_WORKERS]);
    c->start_servers = server->start_servers;
    c->min_spare_threads = server->min_spare_threads;
    c->max_spare_threads = server->max_spare_threads;
    c->connections_per_thread = server->connections_per_thread;
}

static void copy_out(const mpm_capacity *c, server_config *server)
{
    server->server_limit = c->server_limit;
    server->thread_limit = c->thread_limit;
    server->threads_per_child = c->threads_per_child;
    server->max_clients = c->max_clients;
    server->max_request_workers = c->max_request_workers;
    server->max_processes = c->max_processes;
    server->start_servers = c->start_servers;
    server->min_spare_threads = c->min_spare_threads;
    server->max_spare_threads = c->max_spare_threads;
    server->connections_per_thread = c->connections_per_thread;
}

/* User and Group: names must resolve; root is refused; started as root
 * without User means "nobody"; no Group means User's primary group. */
static int check_identity(config_parse *parse, server_config *server)
{
    char error[256];
    uid_t uid;
    gid_t gid;
    int rc = WEFT_OK;
    if (!server->user && geteuid() == 0)
        server->user = pool_strdup(config_pool(parse), "nobody");
    if (server->user) {
        if (os_resolve_user(server->user, &uid, &gid, error, sizeof error) != WEFT_OK) {
            if (!config_was_set(server, config_find_directive("User")))
                rc = config_error(parse, "%s (the default User when started as root): set User", error);
            else
                rc = config_error(parse, "User: %s", error);
        } else if (uid == 0) {
            rc = config_error(parse, "User %s is not allowed: children would serve requests as root",
                              server->user);
        } else if (!server->group) {
            char name[64];
            os_group_name(gid, name, sizeof name);
            server->group = pool_strdup(config_pool(parse), name);
        }
    }
    if (server->group && os_resolve_group(server->group, &gid, error, sizeof error) != WEFT_OK)
        rc = config_error(parse, "Group: %s", error);
    return rc;
}

static int mpm_post_config(config_parse *parse, server_config *server)
{
    int rc = WEFT_OK;
    mpm_capacity capacity;
    copy_in(server, &capacity);
    mpm_capacity_reconcile(&capacity);
    copy_out(&capacity, server);
    for (int i = 0; i < capacity.warning_count; i++)
        config_warning(parse, "%s", capacity.warnings[i]);

    if (server->listen_backlog < 1)
        rc = config_error(parse, "ListenBacklog must be > 0");
    if (server->send_buffer_size > 0 && server->send_buffer_size < 512)
        rc = config_error(parse, "SendBufferSize must be >= 512 bytes, or 0 for system default.");
    if (server->receive_buffer_size > 0 && server->receive_buffer_size < 512)
        rc = config_error(parse, "ReceiveBufferSize must be >= 512 bytes, or 0 for system default.");
    if (server->core_dump_directory) {
        struct stat info;
        if (stat(server->core_dump_directory, &info) != 0 || !S_ISDIR(info.st_mode))
            rc = config_error(parse, "CoreDumpDirectory %s does not exist or is not a directory",
                              server->core_dump_directory);
    }
    if (check_identity(parse, server) != WEFT_OK)
        rc = WEFT_ERROR;
    return rc;
}

void mpm_describe_capacity(const server_config *s, char *out, size_t size)
{
    snprintf(out, size, "capacity: %d processes x %d threads = %lld simultaneous clients",
             s->max_processes, s->threads_per_child, (long long)s->max_processes * s->threads_per_child);
}

int mpm_keep_limits(server_config *server, int server_limit, int thread_limit)
{
    int changes = 0;
    if (server->server_limit != server_limit) {
        log_message(LOG_LEVEL_WARN, "changing ServerLimit to %d from original value of %d not allowed "
                                    "during restart", server->server_limit, server_limit);
        server->server_limit = server_limit;
        changes++;
    }
    if (server->thread_limit != thread_limit) {
        log_message(LOG_LEVEL_WARN, "changing ThreadLimit to %d from original value of %d not allowed "
                                    "during restart", server->thread_limit, thread_limit);
        server->thread_limit = thread_limit;
        changes++;
    }
    if (changes == 0)
        return 0;
    mpm_capacity capacity;
    copy_in(server, &capacity);
    mpm_capacity_reconcile(&capacity);
    copy_out(&capacity, server);
    for (int i = 0; i < capacity.warning_count; i++)
        log_message(LOG_LEVEL_WARN, "%s", capacity.warnings[i]);
    return changes;
}

const module mpm_module = {
    .name = "mpm_worker",
    .directives = mpm_directives,
    .post_config = mpm_post_config,
};
