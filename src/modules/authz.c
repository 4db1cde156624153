/*
 * authz.c — Require and its containers (see authz.h): a tree per section,
 * built while the configuration is read and evaluated by the access hook
 * after mapping, before any handler.
 */
#include "authz.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/buffer.h"
#include "../core/log.h"
#include "../http/connection.h"
#include "../http/request.h"
#include "access_compat.h"
#include "auth_basic.h"
#include "../http/request_vars.h"

/* AuthMerging: how a section's Require combines with what it inherits. */
typedef enum { MERGING_UNSET, MERGING_OFF, MERGING_AND, MERGING_OR } authz_merging;

/* Require and its containers: NULL = no Require applies.  authz first: the
 * Require rows' merge reads the section's merging through its address. */
typedef struct {
    struct authz_container *authz;
    unsigned char merging;  /* authz_merging */
} authz_dir_config;

extern const module authz_core_module;

#define AUTHZ_DEPTH_MAX 16

/* AUTHZ_DENIED_NO_USER: denied, but an authenticated user could change
 * that (Require user, group, valid-user without one); AUTHZ_ERROR: a group
 * file could not be read (500). */
typedef enum { AUTHZ_DENIED, AUTHZ_GRANTED, AUTHZ_NEUTRAL, AUTHZ_DENIED_NO_USER, AUTHZ_ERROR } authz_result;
typedef enum { CONTAINER_ANY, CONTAINER_ALL, CONTAINER_NONE } container_kind;
typedef enum { ITEM_CONTAINER, ITEM_ALL_GRANTED, ITEM_ALL_DENIED, ITEM_IP, ITEM_LOCAL, ITEM_EXPR, ITEM_USER,
               ITEM_GROUP, ITEM_VALID_USER } item_kind;

typedef struct authz_item {
    item_kind kind;
    bool negated;
    unsigned methods;                   /* <Limit>: CONFIG_METHOD_* it applies to */
    struct authz_container *container;  /* ITEM_CONTAINER */
    ip_network *networks;            /* ITEM_IP */
    int network_count;
    const weft_expr *expr;              /* ITEM_EXPR */
    char **names;                       /* ITEM_USER, ITEM_GROUP: NULL-terminated */
} authz_item;

struct authz_container {
    container_kind kind;
    unsigned methods;  /* the union of its items' */
    authz_item *items;
    int count;
};

static const char *const container_names[] = { "RequireAny", "RequireAll", "RequireNone" };

/* ---- evaluation -------------------------------------------------------- */

typedef struct {
    bool known;
    int family;
    unsigned char address[16];
} client_address;

static bool is_local(request *r, const client_address *client)
{
    static const ip_network loopback4 = { .family = AF_INET, .address = { 127 }, .prefix = 8 };
    static const ip_network loopback6 = { .family = AF_INET6, .address = { [15] = 1 }, .prefix = 128 };
    if (ip_network_contains(&loopback4, client->family, client->address)
        || ip_network_contains(&loopback6, client->family, client->address))
        return true;
    int family;
    unsigned char local[16];
    return ip_address_parse(connection_local_address(r->connection), &family, local)
        && family == client->family && memcmp(local, client->address, family == AF_INET ? 4 : 16) == 0;
}

static authz_result evaluate_container(request *r, const struct authz_container *container,
                                       const client_address *client, unsigned method);

unsigned authz_request_method_bit(const request *r)
{
    switch (r->method) {
    case HTTP_METHOD_GET:
    case HTTP_METHOD_HEAD: return CONFIG_METHOD_GET;
    case HTTP_METHOD_POST: return CONFIG_METHOD_POST;
    case HTTP_METHOD_PUT: return CONFIG_METHOD_PUT;
    case HTTP_METHOD_DELETE: return CONFIG_METHOD_DELETE;
    case HTTP_METHOD_CONNECT: return CONFIG_METHOD_CONNECT;
    case HTTP_METHOD_OPTIONS: return CONFIG_METHOD_OPTIONS;
    case HTTP_METHOD_TRACE: return CONFIG_METHOD_TRACE;
    case HTTP_METHOD_PATCH: return CONFIG_METHOD_PATCH;
    default: return CONFIG_METHOD_OTHER;
    }
}

static authz_result evaluate_item(request *r, const authz_item *item, const client_address *client,
                                  container_kind parent, unsigned method)
{
    /* Apache: a requirement <Limit>ed to other methods grants inside an
     * "all" and is neutral elsewhere. */
    if (!(item->methods & method))
        return parent == CONTAINER_ALL ? AUTHZ_GRANTED : AUTHZ_NEUTRAL;
    authz_result result = AUTHZ_DENIED;
    switch (item->kind) {
    case ITEM_CONTAINER:
        result = evaluate_container(r, item->container, client, method);
        break;
    case ITEM_ALL_GRANTED:
        result = AUTHZ_GRANTED;
        break;
    case ITEM_ALL_DENIED:
        result = AUTHZ_DENIED;
        break;
    case ITEM_IP:
        for (int i = 0; client->known && i < item->network_count && result != AUTHZ_GRANTED; i++)
            if (ip_network_contains(&item->networks[i], client->family, client->address))
                result = AUTHZ_GRANTED;
        break;
    case ITEM_LOCAL:
        result = client->known && is_local(r, client) ? AUTHZ_GRANTED : AUTHZ_DENIED;
        break;
    case ITEM_EXPR:
        result = request_expr_holds(r, item->expr, "Require expr") ? AUTHZ_GRANTED : AUTHZ_DENIED;
        break;
    case ITEM_VALID_USER:
        result = r->user ? AUTHZ_GRANTED : AUTHZ_DENIED_NO_USER;
        break;
    case ITEM_USER:
        result = r->user ? AUTHZ_DENIED : AUTHZ_DENIED_NO_USER;
        for (char **name = item->names; r->user && *name && result != AUTHZ_GRANTED; name++)
            if (strcmp(*name, r->user) == 0)
                result = AUTHZ_GRANTED;
        break;
    case ITEM_GROUP: {
        bool member = false;
        if (!r->user)
            result = AUTHZ_DENIED_NO_USER;
        else if (auth_basic_user_in_groups(r, item->names, &member) != WEFT_OK)
            result = AUTHZ_ERROR;
        else
            result = member ? AUTHZ_GRANTED : AUTHZ_DENIED;
        break;
    }
    }
    if (item->negated && result != AUTHZ_ERROR)
        result = result == AUTHZ_GRANTED ? AUTHZ_DENIED : AUTHZ_NEUTRAL;
    return result;
}

/* Apache's apply_authz_sections: Any stops at the first grant, All at the
 * first refusal; neutral results do not count.  Between refusals, "denied
 * without a user" is kept when a user could still change the answer: in
 * All unless something else refused, in Any over a plain refusal.  None is
 * Any, negated. */
static authz_result evaluate_container(request *r, const struct authz_container *container,
                                       const client_address *client, unsigned method)
{
    authz_result result = AUTHZ_NEUTRAL;
    for (int i = 0; i < container->count; i++) {
        authz_result child = evaluate_item(r, &container->items[i], client, container->kind, method);
        if (child == AUTHZ_ERROR)
            return AUTHZ_ERROR;
        if (child == AUTHZ_NEUTRAL)
            continue;
        if (container->kind == CONTAINER_ALL) {
            if (child == AUTHZ_DENIED) {
                result = child;
                break;
            }
            if ((child == AUTHZ_DENIED_NO_USER && result != AUTHZ_DENIED) || result == AUTHZ_NEUTRAL)
                result = child;
        } else {
            if (child == AUTHZ_GRANTED) {
                result = child;
                break;
            }
            if ((child == AUTHZ_DENIED_NO_USER && result == AUTHZ_DENIED) || result == AUTHZ_NEUTRAL)
                result = child;
        }
    }
    if (container->kind == CONTAINER_NONE)
        result = result == AUTHZ_GRANTED ? AUTHZ_DENIED : AUTHZ_NEUTRAL;
    return result;
}

static int authz_access(request *r)
{
    /* Apache 2.4 runs mod_access_compat (Order, Allow, Deny) first: with
     * Satisfy All both must let the request in, with Satisfy Any either. */
    bool satisfy_any = false;
    int compat = access_compat_check(r, &satisfy_any);
    if (satisfy_any ? compat == WEFT_OK : compat != WEFT_OK)
        return compat;
    const authz_dir_config *config = module_dir_config(r->dir, &authz_core_module);
    const struct authz_container *root = config->authz;
    unsigned method = authz_request_method_bit(r);
    if (!root || !(root->methods & method)) {
        /* no Require, or every one is <Limit>ed to other methods */
        if (!root && auth_basic_type(r)) {
            log_message(LOG_LEVEL_WARN, "AuthType configured with no corresponding authorization directives: %s",
                        auth_basic_log_text(r->pool, r->path));
            return 500;
        }
        return WEFT_OK;
    }
    client_address client = { 0 };
    client.known = ip_address_parse(request_client_address(r), &client.family, client.address);
    /* Apache's sequence: Require without a user first; authentication only
     * when a user could change the answer; then Require with the user. */
    authz_result result = evaluate_container(r, root, &client, method);
    if (result == AUTHZ_DENIED_NO_USER) {
        if (!auth_basic_type(r)) {
            log_message(LOG_LEVEL_ERROR, "configuration error: couldn't perform authentication. "
                        "AuthType not set!: %s", auth_basic_log_text(r->pool, r->path));
            return 500;
        }
        int authenticated = auth_basic_authenticate(r);
        if (authenticated == WEFT_DECLINED) {
            log_message(LOG_LEVEL_ERROR, "configuration error: couldn't check user. "
                        "Check your authn provider!: %s", auth_basic_log_text(r->pool, r->path));
            return 500;
        }
        if (authenticated != WEFT_OK)
            return authenticated;
        result = evaluate_container(r, root, &client, method);
        if (result == AUTHZ_GRANTED)
            return WEFT_OK;
        if (result == AUTHZ_DENIED_NO_USER) {
            log_message(LOG_LEVEL_ERROR, "authorization failure (no authenticated user): %s",
                        auth_basic_log_text(r->pool, r->path));
            return 401;
        }
        if (result == AUTHZ_DENIED || result == AUTHZ_NEUTRAL) {
            log_message(LOG_LEVEL_ERROR, "client %s: user %s: authorization failure for \"%s\": ",
                        request_client_address(r), auth_basic_log_text(r->pool, r->user),
                        auth_basic_log_text(r->pool, r->path));
            auth_basic_note_failure(r);
            return 401;
        }
    }
    if (result == AUTHZ_GRANTED)
        return WEFT_OK;
    if (result == AUTHZ_ERROR)
        return 500;
    if (log_enabled(LOG_LEVEL_INFO))
        log_message(LOG_LEVEL_INFO, "client %s denied by server configuration: %s",
                    request_client_address(r), r->file_path ? r->file_path : r->path);
    return 403;
}

/* ---- configuration ----------------------------------------------------- */

/* The containers being read: the configuration is read by one thread, and
 * the engine reports every open and close (config.h), so this stack stays
 * balanced.  Each level remembers the field it writes to, so a stray
 * leftover could never attach to another section. */
static struct {
    struct authz_container *container;
    const void *target;
} building[AUTHZ_DEPTH_MAX];
static int building_depth;

static struct authz_container *current_container(config_parse *parse, void *target)
{
    if (building_depth > 0 && building[building_depth - 1].target == target)
        return building[building_depth - 1].container;
    building_depth = 0;
    struct authz_container **root = target;
    if (!*root) {
        *root = pool_calloc(config_pool(parse), sizeof(**root));
        (*root)->kind = CONTAINER_ANY;
    }
    return *root;
}

static authz_item *add_item(config_parse *parse, struct authz_container *container)
{
    authz_item *grown = pool_alloc(config_pool(parse), sizeof(*grown) * (size_t)(container->count + 1));
    if (container->count)
        memcpy(grown, container->items, sizeof(*grown) * (size_t)container->count);
    container->items = grown;
    authz_item *item = &container->items[container->count++];
    memset(item, 0, sizeof(*item));
    return item;
}

static int parse_networks(config_parse *parse, authz_item *item, int argc, char **argv)
{
    if (argc == 0)
        return config_error(parse, "Require ip needs at least one address or network");
    item->networks = pool_alloc(config_pool(parse), sizeof(ip_network) * (size_t)argc);
    for (int i = 0; i < argc; i++) {
        if (!ip_network_parse(argv[i], &item->networks[i]))
            return config_error(parse, "Require ip: '%s' is not an IP address or network "
                                       "(a.b.c.d, a.b, a.b.c.d/nn, a.b.c.d/m.m.m.m, IPv6[/nn])", argv[i]);
    }
    item->network_count = argc;
    return WEFT_OK;
}

static int set_require(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    bool negated = strcasecmp(argv[0], "not") == 0;
    argv += negated;
    argc -= negated;
    if (argc == 0)
        return config_error(parse, "Require not needs an entity type, like ip");
    struct authz_container *container = current_container(parse, target);
    if (negated && container->kind != CONTAINER_ALL)
        return config_error(parse, "negative Require directive has no effect in <%s> directive",
                            container_names[container->kind]);

    authz_item item = { .negated = negated, .methods = config_limit_methods(parse) };
    const char *type = argv[0];
    if (strcasecmp(type, "all") == 0) {
        if (argc != 2 || (strcasecmp(argv[1], "granted") != 0 && strcasecmp(argv[1], "denied") != 0))
            return config_error(parse, "Require all takes granted or denied");
        item.kind = strcasecmp(argv[1], "granted") == 0 ? ITEM_ALL_GRANTED : ITEM_ALL_DENIED;
    } else if (strcasecmp(type, "ip") == 0) {
        item.kind = ITEM_IP;
        if (parse_networks(parse, &item, argc - 1, argv + 1) != WEFT_OK)
            return WEFT_ERROR;
    } else if (strcasecmp(type, "local") == 0) {
        if (argc != 1)
            return config_error(parse, "Require local takes no arguments");
        item.kind = ITEM_LOCAL;
    } else if (strcasecmp(type, "expr") == 0) {
        if (argc < 2)
            return config_error(parse, "Require expr needs an expression");
        /* Apache reads the rest of the line as written: one quoted
         * argument is the expression, several words are the line's own
         * text, quotes and all (config_raw_arguments), so that
         * Require expr %{SSL_CLIENT_S_DN_CN} == 'alice' works as in mod_ssl's
         * docs.  Without the line (never, from a file), words are joined. */
        const char *raw = argc > 2 ? config_raw_arguments(parse) : NULL;
        for (int word = 0; raw && word < (negated ? 2 : 1); word++) {
            raw += strcspn(raw, " \t");  /* past "not" and "expr" */
            raw += strspn(raw, " \t");
        }
        buffer text = { 0 };
        if (raw) {
            buffer_append_string(&text, raw);
        } else {
            for (int i = 1; i < argc; i++) {
                if (i > 1)
                    buffer_append(&text, " ", 1);
                buffer_append_string(&text, argv[i]);
            }
        }
        item.kind = ITEM_EXPR;
        item.expr = config_compile_expr(parse, text.data);
        buffer_free(&text);
        if (!item.expr)
            return argc > 2 ? config_error(parse, "Require expr: write the expression as one quoted argument, "
                                                  "e.g. Require expr \"%%{HTTP_HOST} == 'example.com'\"")
                            : WEFT_ERROR;
    } else if (strcasecmp(type, "valid-user") == 0) {
        if (argc != 1)
            return config_error(parse, "Require valid-user takes no arguments");
        item.kind = ITEM_VALID_USER;
    } else if (strcasecmp(type, "user") == 0 || strcasecmp(type, "group") == 0) {
        if (argc < 2)
            return config_error(parse, "Require %s needs at least one name", type);
        item.kind = strcasecmp(type, "user") == 0 ? ITEM_USER : ITEM_GROUP;
        item.names = pool_alloc(config_pool(parse), sizeof(char *) * (size_t)argc);
        for (int i = 1; i < argc; i++)
            item.names[i - 1] = pool_strdup(config_pool(parse), argv[i]);
        item.names[argc - 1] = NULL;
    } else if (strcasecmp(type, "host") == 0 || strcasecmp(type, "forward-dns") == 0) {
        return config_error(parse, "Require %s is not supported: weft makes no DNS lookups (use Require ip)",
                            type);
    } else {
        return config_error(parse, "Require %s is not supported: weft authorizes by address, expression "
                                   "and user (all, ip, local, expr, user, group, valid-user)", type);
    }
    *add_item(parse, container) = item;
    container->methods |= item.methods;
    return WEFT_OK;
}

static container_kind kind_of_row(const config_directive *d)
{
    const char *name = d->name + (d->name[1] == '/' ? 2 : 1);
    for (int kind = 0; kind < (int)COUNT_OF(container_names); kind++)
        if (strcasecmp(name, container_names[kind]) == 0)
            return (container_kind)kind;
    return CONTAINER_ANY;
}

static int open_container(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    struct authz_container *parent = current_container(parse, target);
    if (building_depth == AUTHZ_DEPTH_MAX)
        return config_error(parse, "<%s> nested more than %d deep", d->name + 1, AUTHZ_DEPTH_MAX);
    struct authz_container *container = pool_calloc(config_pool(parse), sizeof(*container));
    container->kind = kind_of_row(d);
    authz_item *item = add_item(parse, parent);
    item->kind = ITEM_CONTAINER;
    item->container = container;
    building[building_depth].container = container;
    building[building_depth].target = target;
    building_depth++;
    return WEFT_OK;
}

static int close_container(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    if (building_depth == 0)
        return WEFT_OK;
    struct authz_container *container = building[--building_depth].container;
    /* The container's item in its parent (the parent's last: nothing else
     * was added to the parent while it was open) answers for its methods. */
    struct authz_container *parent = building_depth > 0 ? building[building_depth - 1].container
                                                        : *(struct authz_container **)target;
    if (parent && parent->count > 0 && parent->items[parent->count - 1].container == container) {
        parent->items[parent->count - 1].methods = container->methods;
        parent->methods |= container->methods;
    }
    if (container->count == 0)
        return config_error(parse, "<%s> contains no Require directive", container_names[container->kind]);
    bool only_negative = true;
    for (int i = 0; i < container->count; i++)
        only_negative = only_negative && container->items[i].negated;
    if (only_negative)
        return config_error(parse, "<%s> directive contains only negative authorization directives",
                            container_names[container->kind]);
    return WEFT_OK;
}

/* ---- AuthMerging ------------------------------------------------------- */

static int set_merging(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    static const char *const names[] = { [MERGING_OFF] = "Off", [MERGING_AND] = "And", [MERGING_OR] = "Or" };
    for (int i = MERGING_OFF; i <= MERGING_OR; i++) {
        if (strcasecmp(argv[0], names[i]) == 0) {
            *(unsigned char *)target = (unsigned char)i;
            return WEFT_OK;
        }
    }
    return config_error(parse, "AuthMerging must be one of: Off | And | Or");
}

static void format_merging(FILE *out, const config_directive *d, const void *base)
{
    static const char *const names[] = { [MERGING_OFF] = "Off", [MERGING_AND] = "And", [MERGING_OR] = "Or" };
    unsigned char merging = *((const unsigned char *)base + d->offset);
    if (merging > MERGING_UNSET && merging <= MERGING_OR)
        config_dump_line(out, d, 1, &names[merging]);
}

/* Apache's merge_authz_core_dir_config: a section with Require replaces
 * what it inherits, unless its AuthMerging says And or Or; then both trees
 * become the two requirements of a <RequireAll> or <RequireAny>. */
static void merge_authz(void *merged, const void *child, pool *p)
{
    struct authz_container **into = merged;
    const authz_dir_config *section = child;  /* authz is its first field */
    if (!section->authz)
        return;
    if (!*into || (section->merging != MERGING_AND && section->merging != MERGING_OR)) {
        *into = section->authz;
        return;
    }
    struct authz_container *both = pool_calloc(p, sizeof(*both));
    both->kind = section->merging == MERGING_AND ? CONTAINER_ALL : CONTAINER_ANY;
    both->items = pool_calloc(p, 2 * sizeof(*both->items));
    both->count = 2;
    both->items[0] = (authz_item){ .kind = ITEM_CONTAINER, .methods = (*into)->methods, .container = *into };
    both->items[1] = (authz_item){ .kind = ITEM_CONTAINER, .methods = section->authz->methods,
                                   .container = section->authz };
    both->methods = (*into)->methods | section->authz->methods;
    *into = both;
}

/* ---- DUMP_CONFIG ------------------------------------------------------- */

static void format_items(FILE *out, const config_directive *require, const struct authz_container *container)
{
    static const char *const kinds[] = { [ITEM_ALL_GRANTED] = "all", [ITEM_ALL_DENIED] = "all",
                                         [ITEM_IP] = "ip", [ITEM_LOCAL] = "local", [ITEM_EXPR] = "expr",
                                         [ITEM_USER] = "user", [ITEM_GROUP] = "group",
                                         [ITEM_VALID_USER] = "valid-user" };
    for (int i = 0; i < container->count; i++) {
        const authz_item *item = &container->items[i];
        if (item->kind == ITEM_CONTAINER) {
            fprintf(out, "<%s>\n", container_names[item->container->kind]);
            format_items(out, require, item->container);
            fprintf(out, "</%s>\n", container_names[item->container->kind]);
            continue;
        }
        int names = 0;
        while (item->names && item->names[names])
            names++;
        int count = item->kind == ITEM_IP ? item->network_count : names > 0 ? names : 1;
        const char **argv = xcalloc((size_t)count + 3, sizeof(*argv));
        char (*networks)[INET6_ADDRSTRLEN + 8] = xcalloc((size_t)count, sizeof(*networks));
        int argc = 0;
        if (item->negated)
            argv[argc++] = "not";
        argv[argc++] = kinds[item->kind];
        if (item->kind == ITEM_ALL_GRANTED || item->kind == ITEM_ALL_DENIED)
            argv[argc++] = item->kind == ITEM_ALL_GRANTED ? "granted" : "denied";
        if (item->kind == ITEM_EXPR)
            argv[argc++] = expr_text(item->expr);
        for (int n = 0; n < names; n++)
            argv[argc++] = item->names[n];
        for (int n = 0; item->kind == ITEM_IP && n < item->network_count; n++) {
            const ip_network *network = &item->networks[n];
            char address[INET6_ADDRSTRLEN];
            inet_ntop(network->family, network->address, address, sizeof(address));
            snprintf(networks[n], sizeof(networks[n]), "%s/%d", address, network->prefix);
            argv[argc++] = networks[n];
        }
        config_dump_line(out, require, argc, argv);
        free(networks);
        free(argv);
    }
}

/* The Require row prints the whole tree; the container rows share its
 * field and print nothing. */
static void format_require(FILE *out, const config_directive *d, const void *base)
{
    const struct authz_container *root = *(struct authz_container *const *)((const char *)base + d->offset);
    if (root)
        format_items(out, d, root);
}

static void format_nothing(FILE *out, const config_directive *d, const void *base) {}

#define AUTHZ_ROW(row_name, minimum, maximum, setter, row_syntax, row_help)                         \
    { .name = row_name, .contexts = CONTEXT_SECTIONS, .scope = SCOPE_DIRECTORY,                     \
      .offset = offsetof(authz_dir_config, authz), .size = sizeof(struct authz_container *),             \
      .min_args = minimum, .max_args = maximum, .set = setter, .syntax = row_syntax, .help = row_help,      \
      .merge = merge_authz, .format = setter == set_require ? format_require : format_nothing,            \
      .overrides = OVERRIDE_AUTHCONFIG }

static const config_directive authz_directives[] = {
    AUTHZ_ROW("Require", 1, ARGS_UNLIMITED, set_require, "[not] all granted|denied | ip address ... | local | expr expression | user name ... | group name ... | valid-user",
              "who may access this section"),
    AUTHZ_ROW("<RequireAny", 0, 0, open_container, "<RequireAny> Require ... </RequireAny>",
              "granted when one requirement inside is"),
    AUTHZ_ROW("</RequireAny", 0, 0, close_container, "", "closes <RequireAny>"),
    AUTHZ_ROW("<RequireAll", 0, 0, open_container, "<RequireAll> Require ... </RequireAll>",
              "granted when none inside is denied and one is granted"),
    AUTHZ_ROW("</RequireAll", 0, 0, close_container, "", "closes <RequireAll>"),
    AUTHZ_ROW("<RequireNone", 0, 0, open_container, "<RequireNone> Require ... </RequireNone>",
              "denied when one requirement inside would grant, never granted by itself"),
    AUTHZ_ROW("</RequireNone", 0, 0, close_container, "", "closes <RequireNone>"),
    { .name = "AuthMerging", .contexts = CONTEXT_SECTIONS, .scope = SCOPE_DIRECTORY,
      .offset = offsetof(authz_dir_config, merging), .size = sizeof(unsigned char), .min_args = 1,
      .max_args = 1, .set = set_merging, .format = format_merging, .syntax = "Off|And|Or",
      .help = "how this section's Require combines with the one it inherits (Off: replaces it)",
      .overrides = OVERRIDE_AUTHCONFIG },
    { .name = NULL },
};

const module authz_core_module = {
    .name = "authz_core",
    .directives = authz_directives,
    .dir_config_size = sizeof(authz_dir_config),
    .access = authz_access,
};

/* Require ip and local live above (one parser); this module answers
 * <IfModule authz_host> as Apache's would. */
const module authz_host_module = {
    .name = "authz_host",
};
