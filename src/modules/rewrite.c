/*
 * rewrite.c — mod_rewrite's entry points as Apache 2.4 has them: server
 * context in translate (Apache's translate_name, before Alias and
 * DocumentRoot), directory context (<Directory>, .htaccess, <Location>) in
 * fixups, where the directory's path is stripped before matching and added
 * back after, and a changed URL becomes an internal redirect; [T=] and
 * [CO=] on the final response; prg: maps started in each child.
 *
 * The directives: rewrite_config.c; running a rule list: rewrite_apply.c;
 * conditions and expansion: rewrite_cond.c; maps: rewrite_map.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "../core/log.h"
#include "../core/module.h"
#include "../core/vhost.h"
#include "../http/response.h"
#include "file_cache.h"
#include "file_open.h"
#include "rewrite_internal.h"

extern const module rewrite_module;

/* LogLevel's "rewrite:traceN" (core keeps the module:level words). */
static int trace_level_of(const server_config *server)
{
    int level = server->log_level;
    for (char **word = server->log_module_levels; word && *word; word++) {
        const char *colon = strchr(*word, ':');
        size_t length = (size_t)(colon - *word);
        if ((length == 7 && strncmp(*word, "rewrite", 7) == 0) ||
            (length == 14 && strncmp(*word, "rewrite_module", 14) == 0) ||
            (length == 11 && strncmp(*word, "mod_rewrite", 11) == 0))
            level = log_level_parse(colon + 1);
    }
    return level >= LOG_LEVEL_TRACE1 ? level - LOG_LEVEL_TRACE1 + 1 : 0;
}

static int rewrite_vhost_config(config_parse *parse, const server_config *main, server_config *vhost)
{
    const rewrite_slot *main_slot = module_server_config(main, &rewrite_module);
    rewrite_slot *slot = module_server_config(vhost, &rewrite_module);
    /* Still the main server's (the section had no Rewrite* line): a
     * virtual host has its own engine (Off) and rules, as in Apache; the
     * main server's maps stay visible to per-directory rules. */
    if (slot->conf == main_slot->conf) {
        slot->conf = NULL;
        if (main_slot->conf && main_slot->conf->maps) {
            slot->conf = pool_calloc(config_pool(parse), sizeof(rewrite_conf));
            slot->conf->maps = main_slot->conf->maps;
        }
    }
    return WEFT_OK;
}

static void rewrite_child_init(const server_config *server)
{
    const rewrite_slot *slot = module_server_config(server, &rewrite_module);
    if (slot->conf)
        rewrite_map_start_programs(slot->conf);
    for (int i = 0; i < vhost_count(server); i++) {
        const rewrite_slot *own = module_server_config(vhost_server(server, i), &rewrite_module);
        if (own->conf)
            rewrite_map_start_programs(own->conf);
    }
}

/* ---- running ------------------------------------------------------------- */

void rewrite_log(const rewrite_run *run, int level, const char *format, ...)
{
    if (level > run->trace_level)
        return;
    char message[2048];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    const char *address = run->r->connection ? connection_peer_address(run->r->connection) : NULL;
    log_module_message_forced(LOG_LEVEL_TRACE1 + level - 1, "rewrite", "[client %s] %s%s%s%s",
                              address ? address : "-", run->perdir ? "[perdir " : "", run->perdir ? run->perdir : "",
                              run->perdir ? "] " : "", message);
}

rewrite_note *rewrite_request_note(request *r)
{
    if (!r->rewrite_state)
        r->rewrite_state = pool_calloc(r->pool, sizeof(rewrite_note));
    return r->rewrite_state;
}

static bool rewriting_ended(const request *r)
{
    const rewrite_note *note = r->rewrite_state;
    return note && note->end;
}

/* -U and -F look a URL up through translate: not through our own rules. */
static __thread int looking_up;

/* What a run leaves for later phases ([T=], [H=], [END]). */
static void keep_results(rewrite_run *run)
{
    if (run->handler)
        run->r->handler = run->handler;
    if (run->type || run->end) {
        rewrite_note *note = rewrite_request_note(run->r);
        if (run->type)
            note->type = run->type;
        if (run->end)
            note->end = true;
    }
}

/* The redirect of a rule list that ended in an absolute URL: its path is
 * escaped unless [NE], its query too unless [NE] or unchanged. */
static int redirect_to(rewrite_run *run, int action, const char *old_query)
{
    request *r = run->r;
    char *location = run->filename;
    size_t skip = rewrite_absolute_uri(location, NULL);
    if (action != REWRITE_CHANGED_NO_ESCAPE) {
        const char *path = location + skip;
        if (location[skip - 1] == '/')
            path += strcspn(path, "/");
        if (*path && path[1]) {
            rewrite_log(run, 1, "escaping %s for redirect", location);
            location = pool_printf(r->pool, "%.*s%s", (int)(path - location), location, rewrite_escape_uri(r->pool, path));
        }
    }
    if (run->query) {
        bool raw = action == REWRITE_CHANGED_NO_ESCAPE || (old_query && strcmp(run->query, old_query) == 0);
        location = pool_printf(r->pool, "%s?%s", location, raw ? run->query : rewrite_escape_uri(r->pool, run->query));
    }
    int status = run->status >= 300 && run->status < 400 ? run->status : 302;
    rewrite_log(run, 1, "redirect to %s [REDIRECT/%d]", location, status);
    keep_results(run);
    response_set_redirect(r, status, location);
    return WEFT_DONE;
}

static void start_run(rewrite_run *run, request *r)
{
    const rewrite_slot *slot = module_server_config(r->server, &rewrite_module);
    *run = (rewrite_run){ .r = r, .server = slot->conf, .trace_level = trace_level_of(r->server) };
    run->query = r->query ? pool_strdup(r->pool, r->query) : NULL;
}

/* Server context, before Alias and DocumentRoot. */
static int rewrite_translate(request *r)
{
    const rewrite_slot *slot = module_server_config(r->server, &rewrite_module);
    const rewrite_conf *conf = slot->conf;
    if (!conf || !conf->engine || !conf->rule_count || looking_up || rewriting_ended(r))
        return WEFT_DECLINED;
    rewrite_run run;
    start_run(&run, r);
    run.filename = pool_strdup(r->pool, r->path);
    if (!r->redirect_url) {
        request_set_env(r, "SCRIPT_URL", r->path);
        request_set_env(r, "SCRIPT_URI", request_self_url(r, r->path));
    }
    rewrite_log(&run, 2, "init rewrite engine with requested uri %s", r->path);
    looking_up++;
    int action = rewrite_apply_list(&run, conf->rules, conf->rule_count);
    looking_up--;
    if (action == REWRITE_UNCHANGED) {
        rewrite_log(&run, 1, "pass through %s", r->path);
        keep_results(&run);
        return WEFT_DECLINED;
    }
    if (action == REWRITE_STATUS) {
        keep_results(&run);
        return run.status;
    }
    if (rewrite_absolute_uri(run.filename, NULL))
        return redirect_to(&run, action, r->query);
    keep_results(&run);
    r->query = run.query;
    if (strncmp(run.filename, "passthrough:", 12) == 0) {
        /* The URL-path for the next translate hooks (Alias), not a file. */
        char *path = run.filename + 12;
        if (path[0] != '/')
            return 400;
        r->path = path;
        return WEFT_DECLINED;
    }
    if (run.filename[0] != '/')
        return 400;
    /* Apache's prefix_stat: a path whose first component exists at the
     * file system's root is a file's path, anything else is a URL-path
     * under DocumentRoot. */
    size_t first = strcspn(run.filename + 1, "/") + 1;
    char *component = pool_strndup(r->pool, run.filename, first);
    struct stat info;
    if (stat(component, &info) == 0) {
        r->file_path = run.filename;
    } else {
        r->file_path = pool_printf(r->pool, "%s%s", r->server->document_root, run.filename);
        rewrite_log(&run, 2, "prefixed with document_root to %s", r->file_path);
    }
    rewrite_log(&run, 1, "go-ahead with %s [OK]", r->file_path);
    return WEFT_OK;
}

/* Apache's subst_prefix_path: prefix replaced by base when path starts
 * with it. */
static char *replace_prefix(request *r, const char *path, const char *prefix, const char *base)
{
    size_t length = strlen(prefix);
    if (length && prefix[length - 1] == '/')
        length--;
    if (strncmp(path, prefix, length) != 0 || (path[length] != '/' && path[length] != '\0'))
        return (char *)path;
    const char *rest = path + length;
    size_t base_length = strlen(base);
    if (base_length && base[base_length - 1] == '/' && rest[0] == '/')
        rest++;
    return pool_printf(r->pool, "%s%s", base, rest);
}

/* Apache's directory walk, as far as the rules see it: the mapped path
 * up to an existing regular file or the first missing component is the
 * file (REQUEST_FILENAME), the rest is PATH_INFO (added back to what the
 * patterns match).  A file the file cache holds, or a path that exists,
 * is all file and costs no walk. */
static void split_path_info(rewrite_run *run, const char *path)
{
    request *r = run->r;
    struct stat info;
    bool follow = (file_effective_options(r->dir) & OPTION_FOLLOW_SYMLINKS) != 0;
    if ((file_cache_enabled(r->server) && file_cache_lookup(r, path, follow, &info)) || stat(path, &info) == 0)
        return;
    const char *root = r->server->document_root;
    size_t root_length = strlen(root);
    while (root_length && root[root_length - 1] == '/')
        root_length--;
    const char *next = strncmp(path, root, root_length) == 0 && path[root_length] == '/' ? path + root_length
                                                                                          : path;
    for (;;) {
        const char *end = strchr(next + 1, '/');
        char *prefix = pool_strndup(r->pool, path, end ? (size_t)(end - path) : strlen(path));
        bool exists = stat(prefix, &info) == 0;
        if (!end)
            return;
        if (!exists || !S_ISDIR(info.st_mode)) {
            run->filename = prefix;
            run->path_info = pool_strdup(r->pool, end);
            rewrite_log(run, 3, "path info: %s + %s", prefix, end);
            return;
        }
        next = end;
    }
}

/* Directory context (<Directory>, .htaccess, <Location>), after access
 * control: the rules see the file's path with the directory's prefix
 * stripped; a changed result is served by an internal redirect. */
static int rewrite_fixups(request *r)
{
    const rewrite_slot *slot = r->dir ? module_dir_config(r->dir, &rewrite_module) : NULL;
    const rewrite_conf *conf = slot ? slot->conf : NULL;
    if (!conf || !conf->directory || !conf->engine || !conf->rule_count || rewriting_ended(r))
        return WEFT_DECLINED;
    if (!(file_effective_options(r->dir) & (OPTION_FOLLOW_SYMLINKS | OPTION_SYMLINKS_IF_OWNER_MATCH))) {
        log_module_message(LOG_LEVEL_ERROR, "rewrite", "Options FollowSymLinks and SymLinksIfOwnerMatch are both "
                           "off, so the RewriteRule directive is also forbidden due to its similar ability to "
                           "circumvent directory restrictions : %s", r->file_path ? r->file_path : r->path);
        return 403;
    }
    rewrite_run run;
    start_run(&run, r);
    run.perdir = conf->directory;
    run.filename = pool_strdup(r->pool, r->file_path ? r->file_path : r->path);
    if (r->file_path)
        split_path_info(&run, run.filename);
    const char *original = run.filename;
    const char *original_query = r->query;
    int action = rewrite_apply_list(&run, conf->rules, conf->rule_count);
    if (action == REWRITE_UNCHANGED) {
        rewrite_log(&run, 1, "pass through %s", original);
        keep_results(&run);
        return WEFT_DECLINED;
    }
    if (action == REWRITE_STATUS) {
        keep_results(&run);
        return run.status;
    }
    size_t absolute = rewrite_absolute_uri(run.filename, NULL);
    if (absolute) {
        /* A redirect: a RewriteBase replaces the directory in its path. */
        const char *path = run.filename + absolute;
        path += strcspn(path, "/");
        if (conf->base && *path) {
            rewrite_log(&run, 2, "trying to replace prefix %s with %s", conf->directory, conf->base);
            char *replaced = replace_prefix(r, path, conf->directory, conf->base);
            run.filename = pool_printf(r->pool, "%.*s%s", (int)(path - run.filename), run.filename, replaced);
        }
        return redirect_to(&run, action, original_query);
    }
    char *filename = run.filename;
    if (strncmp(filename, "passthrough:", 12) == 0)
        filename += 12;  /* [PT] means nothing in directory context */
    if (filename[0] != '/')
        return 400;
    if (strcmp(filename, original) == 0) {
        r->query = run.query;
        keep_results(&run);
        rewrite_log(&run, 1, "initial URL equal rewritten URL: %s [IGNORING REWRITE]", filename);
        return WEFT_OK;
    }
    if (r->lookup_depth > 0) {
        /* A sub-request (a DirectoryIndex or FallbackResource candidate):
         * weft cannot redirect it internally; it stays as it was. */
        rewrite_log(&run, 1, "sub-request rewritten to %s: not followed", filename);
        return WEFT_DECLINED;
    }
    r->query = run.query;
    keep_results(&run);
    if (conf->base) {
        rewrite_log(&run, 2, "trying to replace prefix %s with %s", conf->directory, conf->base);
        filename = replace_prefix(r, filename, conf->directory, conf->base);
    } else {
        const char *root = r->server->document_root;
        size_t length = strlen(root);
        while (length && root[length - 1] == '/')
            length--;
        if (strncmp(filename, root, length) == 0) {
            rewrite_log(&run, 2, "strip document_root prefix: %s -> %s", filename, filename + length);
            filename += length;
        }
    }
    /* Apache's internal redirect renames the environment to REDIRECT_*
     * (what applications read: REDIRECT_HTTP_AUTHORIZATION); weft keeps
     * the variables and adds those names, so both are there. */
    int count = r->env_count;
    for (int i = 0; i < count; i++)
        if (strncmp(r->env[i].name, "REDIRECT_", 9) != 0)
            request_set_env(r, pool_printf(r->pool, "REDIRECT_%s", r->env[i].name), r->env[i].value);
    rewrite_log(&run, 1, "internal redirect with %s [INTERNAL REDIRECT]", filename);
    const char *location = run.query ? pool_printf(r->pool, "%s?%s", filename, run.query) : filename;
    int rc = request_internal_redirect_keep_method(r, location);
    if (rc == WEFT_OK)
        return WEFT_DONE;
    return rc == WEFT_ERROR ? 500 : rc;
}

/* [T=] and [CO=], on the final response. */
static void rewrite_response_head(request *r)
{
    const rewrite_note *note = r->rewrite_state;
    if (!note)
        return;
    if (note->type && ((r->status >= 200 && r->status < 300) || r->status == 304))
        r->content_type = note->type;
    for (int i = 0; i < note->cookie_count; i++)
        response_add_header(r, "Set-Cookie", note->cookies[i]);
}

const module rewrite_module = {
    .name = "rewrite",
    .directives = rewrite_directives,
    .server_config_size = sizeof(rewrite_slot),
    .dir_config_size = sizeof(rewrite_slot),
    .vhost_config = rewrite_vhost_config,
    .child_init = rewrite_child_init,
    .translate = rewrite_translate,
    .fixups = rewrite_fixups,
    .response_head = rewrite_response_head,
};
