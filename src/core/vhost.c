/*
 * vhost.c — virtual hosts (see vhost.h): parsing <VirtualHost> addresses,
 * ServerAlias, building each vhost's server_config from the main server,
 * choosing one per request, and the -S dump.
 */
#include "vhost.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_internal.h"
#include "module.h"

typedef struct {
    int family;                   /* AF_INET, AF_INET6; AF_UNSPEC for "*" and _default_ */
    char text[INET6_ADDRSTRLEN];  /* inet_ntop form, compared with the connection's */
    int port;                     /* 0 = any */
} vhost_address;

typedef struct {
    server_config *server;   /* complete, once built */
    server_config *own;      /* what the section itself set */
    vhost_address *addresses;
    int address_count;
    const char *file;
    int line;
    const char *name;        /* ServerName's host part, for matching and -S */
    size_t name_length;
} virtual_host;

/* The vhosts listed with one address:port, in file order: hosts[0] is the
 * default for connections that arrive there. */
typedef struct {
    vhost_address address;
    virtual_host **hosts;
    int count;
} vhost_group;

struct vhost_table {
    virtual_host *hosts;
    int count;
    vhost_group *groups;
    int group_count;
    bool needs_local_address;
};

/* ---- names ------------------------------------------------------------- */

size_t vhost_host_name(const char *host, size_t length, const char **name)
{
    size_t end;
    if (length > 0 && host[0] == '[') {
        const char *close = memchr(host, ']', length);
        end = close ? (size_t)(close - host) : length;
        host++;
        end = end > 0 ? end - 1 : 0;
    } else {
        const char *colon = memchr(host, ':', length);
        end = colon ? (size_t)(colon - host) : length;
        if (end > 0 && host[end - 1] == '.')
            end--;
    }
    *name = host;
    return end;
}

bool vhost_name_matches(const char *pattern, const char *name, size_t length)
{
    size_t p = 0, n = 0;
    size_t star = SIZE_MAX, star_n = 0;
    while (n < length) {
        if (pattern[p] == '*') {
            star = p++;
            star_n = n;
        } else if (pattern[p] && (pattern[p] == '?' || tolower((unsigned char)pattern[p])
                                                           == tolower((unsigned char)name[n]))) {
            p++;
            n++;
        } else if (star != SIZE_MAX) {
            p = star + 1;
            n = ++star_n;
        } else {
            return false;
        }
    }
    while (pattern[p] == '*')
        p++;
    return pattern[p] == '\0';
}

static bool host_matches(const virtual_host *host, const char *name, size_t length)
{
    if (host->name_length == length && strncasecmp(host->name, name, length) == 0)
        return true;
    for (char **alias = host->server->server_aliases; alias && *alias; alias++)
        if (vhost_name_matches(*alias, name, length))
            return true;
    return false;
}

/* ---- configuration ----------------------------------------------------- */

static bool parse_vhost_port(const char *text, int *port)
{
    if (strcmp(text, "*") == 0) {
        *port = 0;
        return true;
    }
    return config_parse_port(text, port);
}

/* Returns NULL, or what is wrong with text. */
static const char *parse_address(pool *scratch, const char *text, vhost_address *out)
{
    *out = (vhost_address){ .family = AF_UNSPEC };
    char *host = pool_strdup(scratch, text);
    const char *port = NULL;
    if (host[0] == '[') {
        char *close = strchr(host, ']');
        if (!close || (close[1] != '\0' && close[1] != ':'))
            return "an IPv6 address goes in brackets, like [::1]:8080";
        if (close[1] == ':')
            port = close + 2;
        *close = '\0';
        host++;
        out->family = AF_INET6;
    } else {
        char *colon = strchr(host, ':');
        if (colon && strchr(colon + 1, ':'))
            return "an IPv6 address goes in brackets, like [::1]:8080";
        if (colon) {
            *colon = '\0';
            port = colon + 1;
        }
        if (strcmp(host, "*") != 0 && strcasecmp(host, "_default_") != 0)
            out->family = AF_INET;
    }
    if (port && !parse_vhost_port(port, &out->port))
        return "the port must be a number from 1 to 65535, or *";
    if (out->family == AF_UNSPEC)
        return NULL;
    unsigned char binary[sizeof(struct in6_addr)];
    if (inet_pton(out->family, host, binary) != 1)
        return out->family == AF_INET6 ? "not a valid IPv6 address"
                                       : "weft needs a numeric address or * (it makes no DNS lookups)";
    inet_ntop(out->family, binary, out->text, sizeof(out->text));
    return NULL;
}

server_config *vhost_open(config_parse *parse, int argc, char **argv)
{
    pool *p = config_pool(parse);
    vhost_address *addresses = pool_alloc(p, sizeof(*addresses) * (size_t)argc);
    for (int i = 0; i < argc; i++) {
        const char *problem = parse_address(p, argv[i], &addresses[i]);
        if (problem) {
            config_error(parse, "Invalid address '%s' in <VirtualHost>: %s", argv[i], problem);
            return NULL;
        }
    }
    server_config *main = config_main_server(parse);
    if (!main->vhosts)
        main->vhosts = pool_calloc(p, sizeof(*main->vhosts));
    struct vhost_table *table = main->vhosts;
    virtual_host *grown = pool_alloc(p, sizeof(*grown) * (size_t)(table->count + 1));
    if (table->count)
        memcpy(grown, table->hosts, sizeof(*grown) * (size_t)table->count);
    table->hosts = grown;

    server_config *own = pool_calloc(p, sizeof(*own));
    own->pool = p;
    own->root_dir = pool_calloc(p, sizeof(dir_config));
    config_create_module_configs(own, SCOPE_SERVER, p);
    config_create_module_configs(own->root_dir, SCOPE_DIRECTORY, p);
    table->hosts[table->count++] = (virtual_host){
        .own = own,
        .addresses = addresses,
        .address_count = argc,
        .file = config_file_name(parse),
        .line = config_line_number(parse),
    };
    return own;
}

/* SCOPE_SERVER rows the vhost set replace (or merge into) the main
 * server's values; several rows may share one field (CustomLog and
 * TransferLog): each field is taken once. */
static void inherit_server_fields(server_config *vhost, const server_config *own, pool *p)
{
    size_t taken[CONFIG_MAX_DIRECTIVES];
    int taken_count = 0;
    for (int i = 0; i < config_directive_count(); i++) {
        const config_directive *d = config_directive_at(i);
        if (d->scope != SCOPE_SERVER || !d->size || !config_was_set(own, d))
            continue;
        /* A field is its struct (the core's or a module's) and its offset. */
        char *target = (char *)config_row_base(vhost, d) + d->offset;
        const char *source = (const char *)config_row_base(own, d) + d->offset;
        bool seen = false;
        for (int j = 0; j < taken_count && !seen; j++)
            seen = taken[j] == (size_t)target;
        if (seen)
            continue;
        taken[taken_count++] = (size_t)target;
        if (d->merge)
            d->merge(target, source, p);
        else
            memcpy(target, source, d->size);
    }
    for (size_t byte = 0; byte < sizeof(vhost->set); byte++)
        vhost->set[byte] |= own->set[byte];
}

static void concatenate_sections(server_config *vhost, const server_config *main, const server_config *own,
                                 pool *p)
{
    int count = main->section_count + own->section_count;
    vhost->section_count = count;
    vhost->sections = pool_alloc(p, sizeof(config_section) * (size_t)(count ? count : 1));
    if (main->section_count)
        memcpy(vhost->sections, main->sections, sizeof(config_section) * (size_t)main->section_count);
    if (own->section_count)
        memcpy(vhost->sections + main->section_count, own->sections,
               sizeof(config_section) * (size_t)own->section_count);
    config_order_sections(vhost, p);
}

/* ServerName may be "scheme://host:port": the host part names the vhost. */
static void set_match_name(virtual_host *host)
{
    const char *server_name = host->server->server_name;
    if (!server_name) {
        host->name = "";
        host->name_length = 0;
        return;
    }
    const char *scheme_end = strstr(server_name, "://");
    if (scheme_end)
        server_name = scheme_end + 3;
    host->name_length = vhost_host_name(server_name, strlen(server_name), &host->name);
}

static bool same_vhost_address(const vhost_address *a, const vhost_address *b)
{
    return a->family == b->family && a->port == b->port && strcmp(a->text, b->text) == 0;
}

static void add_to_group(struct vhost_table *table, const vhost_address *address, virtual_host *host, pool *p)
{
    vhost_group *group = NULL;
    for (int i = 0; i < table->group_count && !group; i++)
        if (same_vhost_address(&table->groups[i].address, address))
            group = &table->groups[i];
    if (!group) {
        vhost_group *grown = pool_alloc(p, sizeof(*grown) * (size_t)(table->group_count + 1));
        if (table->group_count)
            memcpy(grown, table->groups, sizeof(*grown) * (size_t)table->group_count);
        table->groups = grown;
        group = &table->groups[table->group_count++];
        *group = (vhost_group){ .address = *address };
        group->hosts = pool_alloc(p, sizeof(*group->hosts) * (size_t)table->count);
    }
    for (int i = 0; i < group->count; i++)
        if (group->hosts[i] == host)
            return;  /* the same address twice in one section */
    group->hosts[group->count++] = host;
}

int vhost_build_all(config_parse *parse, server_config *main)
{
    struct vhost_table *table = main->vhosts;
    if (!table)
        return WEFT_OK;
    pool *p = main->pool;
    const config_directive *document_root = config_find_directive("DocumentRoot");
    const config_directive *error_log = config_find_directive("ErrorLog");
    int result = WEFT_OK;

    for (int i = 0; i < table->count; i++) {
        virtual_host *host = &table->hosts[i];
        const server_config *own = host->own;
        server_config *vhost = pool_alloc(p, sizeof(*vhost));
        *vhost = *main;
        vhost->vhosts = NULL;
        config_copy_server_modules(vhost, p);
        inherit_server_fields(vhost, own, p);
        vhost->root_dir = pool_alloc(p, sizeof(dir_config));
        config_copy_dir(vhost->root_dir, main->root_dir);
        config_merge_dir(vhost->root_dir, own->root_dir, p);
        concatenate_sections(vhost, main, own, p);
        host->server = vhost;
        set_match_name(host);

        config_set_position(parse, host->file, host->line);
        struct stat info;
        const char *root = vhost->chroot_dir ? pool_printf(p, "%s%s", vhost->chroot_dir, vhost->document_root)
                                             : vhost->document_root;  /* ChrootDir: seen inside it */
        if (document_root && config_was_set(own, document_root)
            && (stat(root, &info) != 0 || !S_ISDIR(info.st_mode)))
            result = config_error(parse, "DocumentRoot '%s' of this <VirtualHost> is not a directory", root);
        if (error_log && config_was_set(own, error_log))
            config_warning(parse, "ErrorLog in <VirtualHost> is not supported yet: this host's errors "
                                  "go to the main server's ErrorLog");
        for (int a = 0; a < host->address_count; a++) {
            add_to_group(table, &host->addresses[a], host, p);
            if (host->addresses[a].family != AF_UNSPEC || host->addresses[a].port != 0)
                table->needs_local_address = true;
        }
    }
    return result;
}

int vhost_count(const server_config *main)
{
    return main->vhosts ? main->vhosts->count : 0;
}

server_config *vhost_server(const server_config *main, int index)
{
    return main->vhosts->hosts[index].server;
}

/* The ServerAlias row; ServerName is core's. */
static int set_server_alias(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    char ***list = target;
    int existing = 0;
    char **previous = config_was_set((const char *)target - d->offset, d) ? *list : NULL;
    while (previous && previous[existing])
        existing++;
    char **names = pool_alloc(config_pool(parse), sizeof(char *) * (size_t)(existing + argc + 1));
    for (int i = 0; i < existing; i++)
        names[i] = previous[i];
    for (int i = 0; i < argc; i++) {
        const char *name;
        size_t length = vhost_host_name(argv[i], strlen(argv[i]), &name);
        if (length == 0)
            return config_error(parse, "ServerAlias '%s' names no host", argv[i]);
        names[existing + i] = pool_strndup(config_pool(parse), name, length);
    }
    names[existing + argc] = NULL;
    *list = names;
    return WEFT_OK;
}

static const config_directive vhost_directives[] = {
    { .name = "ServerAlias", .contexts = CONTEXT_VHOST, .scope = SCOPE_SERVER,
      .offset = offsetof(server_config, server_aliases), .size = sizeof(char **), .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_server_alias, .format = config_format_words, .syntax = "name ...",
      .help = "more names this virtual host answers to (wildcards * and ? allowed)" },
    { .name = NULL },
};

const module vhost_module = {
    .name = "vhost",
    .directives = vhost_directives,
};

/* ---- requests ---------------------------------------------------------- */

bool vhost_needs_local_address(const server_config *main)
{
    return main->vhosts && main->vhosts->needs_local_address;
}

/* 0 = not for this connection; higher = more specific. */
static int group_score(const vhost_group *group, const char *local_address, int local_port)
{
    int score = 1;
    if (group->address.port != 0) {
        if (group->address.port != local_port)
            return 0;
        score += 1;
    }
    if (group->address.family != AF_UNSPEC) {
        if (!local_address || strcmp(group->address.text, local_address) != 0)
            return 0;
        score += 2;
    }
    return score;
}

const server_config *vhost_select(const server_config *main, const char *local_address, int local_port,
                                  const char *host, size_t host_length)
{
    const struct vhost_table *table = main->vhosts;
    if (!table)
        return main;
    /* An IPv4 client on an IPv6 socket shows up as ::ffff:a.b.c.d. */
    if (local_address && strncasecmp(local_address, "::ffff:", 7) == 0 && strchr(local_address, '.'))
        local_address += 7;
    const vhost_group *best = NULL;
    int best_score = 0;
    for (int i = 0; i < table->group_count; i++) {
        int score = group_score(&table->groups[i], local_address, local_port);
        if (score > best_score) {
            best = &table->groups[i];
            best_score = score;
        }
    }
    if (!best)
        return main;
    if (host) {
        const char *name;
        size_t length = vhost_host_name(host, host_length, &name);
        for (int i = 0; length > 0 && i < best->count; i++)
            if (host_matches(best->hosts[i], name, length))
                return best->hosts[i]->server;
    }
    return best->hosts[0]->server;
}

/* ---- weft -S ----------------------------------------------------------- */

static void format_group_address(const vhost_address *address, char *out, size_t size)
{
    char port[8] = "*";
    if (address->port)
        snprintf(port, sizeof(port), "%d", address->port);
    if (address->family == AF_UNSPEC)
        snprintf(out, size, "*:%s", port);
    else if (address->family == AF_INET6)
        snprintf(out, size, "[%s]:%s", address->text, port);
    else
        snprintf(out, size, "%s:%s", address->text, port);
}

static const char *display_name(const virtual_host *host)
{
    static _Thread_local char name[256];
    if (host->name_length == 0)
        return "localhost";
    snprintf(name, sizeof(name), "%.*s", (int)host->name_length, host->name);
    return name;
}

static void dump_group(FILE *out, const vhost_group *group)
{
    char address[INET6_ADDRSTRLEN + 16];
    format_group_address(&group->address, address, sizeof(address));
    const virtual_host *first = group->hosts[0];
    if (group->count == 1) {
        fprintf(out, "%-22s %s (%s:%d)\n", address, display_name(first), first->file, first->line);
        return;
    }
    fprintf(out, "%-22s is a NameVirtualHost\n", address);
    fprintf(out, "%8s default server %s (%s:%d)\n", "", display_name(first), first->file, first->line);
    for (int i = 0; i < group->count; i++) {
        const virtual_host *host = group->hosts[i];
        if (group->address.port)
            fprintf(out, "%8s port %d ", "", group->address.port);
        else
            fprintf(out, "%8s port * ", "");
        fprintf(out, "namevhost %s (%s:%d)\n", display_name(host), host->file, host->line);
        for (int wild = 0; wild < 2; wild++)
            for (char **alias = host->server->server_aliases; alias && *alias; alias++)
                if ((strpbrk(*alias, "*?") != NULL) == wild)
                    fprintf(out, "%16s %s %s\n", "", wild ? "wild alias" : "alias", *alias);
    }
}

void vhost_dump(FILE *out, const server_config *main, const char *const *defines, int define_count)
{
    fprintf(out, "VirtualHost configuration:\n");
    const struct vhost_table *table = main->vhosts;
    /* Like httpd: addresses first, then the wildcard ones. */
    for (int wildcard = 0; table && wildcard < 2; wildcard++)
        for (int i = 0; i < table->group_count; i++)
            if ((table->groups[i].address.family == AF_UNSPEC) == wildcard)
                dump_group(out, &table->groups[i]);

    fprintf(out, "ServerRoot: \"%s\"\n", main->server_root);
    fprintf(out, "Main DocumentRoot: \"%s\"\n", main->document_root);
    fprintf(out, "Main ErrorLog: \"%s\"\n", main->error_log);
    fprintf(out, "PidFile: \"%s\"\n", main->pid_file);
    for (int i = 0; i < define_count; i++)
        fprintf(out, "Define: %s\n", defines[i]);
    fprintf(out, "Define: DUMP_VHOSTS\nDefine: DUMP_RUN_CFG\n");
    /* As httpd: the ids, and "not_used" when not started as root. */
    const char *not_used = geteuid() == 0 ? "" : " not_used";
    const char *user_name = main->user ? main->user : "nobody";
    struct passwd *user = user_name[0] == '#' ? getpwuid((uid_t)atol(user_name + 1)) : getpwnam(user_name);
    fprintf(out, "User: name=\"%s\" id=%ld%s\n", user_name, user ? (long)user->pw_uid : -1L, not_used);
    struct group *group = NULL;
    if (main->group)
        group = main->group[0] == '#' ? getgrgid((gid_t)atol(main->group + 1)) : getgrnam(main->group);
    else if (user)
        group = getgrgid(user->pw_gid);
    const char *group_name = main->group ? main->group : group ? group->gr_name : "nogroup";
    fprintf(out, "Group: name=\"%s\" id=%ld%s\n", group_name, group ? (long)group->gr_gid : -1L, not_used);
}
