/*
 * access_compat.c — Order, Allow, Deny and Satisfy (see access_compat.h),
 * following Apache 2.4's mod_access_compat and core.
 */
#include "access_compat.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "../core/log.h"
#include "../http/request.h"
#include "authz.h"

typedef enum { ORDER_DENY_ALLOW, ORDER_ALLOW_DENY, ORDER_MUTUAL_FAILURE } access_order;
typedef enum { SATISFY_UNSET, SATISFY_ALL, SATISFY_ANY } satisfy_mode;
typedef enum { RULE_ALL, RULE_NETWORK, RULE_HOST, RULE_ENV, RULE_NOT_ENV } rule_kind;

typedef struct {
    rule_kind kind;
    unsigned methods;       /* CONFIG_METHOD_* (<Limit>) */
    ip_network network;  /* RULE_NETWORK */
    const char *text;       /* RULE_HOST: the (partial) domain; RULE_*ENV: the variable */
    const char *written;    /* for DUMP_CONFIG */
} access_rule;

typedef struct {
    access_rule *rules;
    int count;
} rule_list;

/* Order, Allow and Deny of one section, together: a section that has any of
 * them replaces the whole (Apache's module has no merge function). */
typedef struct {
    unsigned char order[CONFIG_METHOD_COUNT];
    rule_list allows;
    rule_list denies;
} access_rules;

typedef struct {
    access_rules *rules;
    unsigned char satisfy[CONFIG_METHOD_COUNT];  /* merged per method */
} access_compat_dir_config;

/* ---- request time --------------------------------------------------------- */

/* Apache's in_domain: "example.org" matches example.org and
 * www.example.org, never badexample.org. */
static bool in_domain(const char *domain, const char *host)
{
    size_t domain_length = strlen(domain), host_length = strlen(host);
    if (host_length < domain_length || strcasecmp(domain, host + host_length - domain_length) != 0)
        return false;
    return host_length == domain_length || domain[0] == '.' || host[host_length - domain_length - 1] == '.';
}

/* The client's name by double reverse lookup: its address to a name, and
 * the name back to addresses that include it; NULL if that fails. */
static const char *double_reverse_name(request *r)
{
    const char *peer = request_client_address(r);
    int family;
    unsigned char address[16];
    if (!peer || !ip_address_parse(peer, &family, address))
        return NULL;
    struct sockaddr_storage storage = { 0 };
    socklen_t length;
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&storage;
        in->sin_family = AF_INET;
        memcpy(&in->sin_addr, address, 4);
        length = sizeof(*in);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&storage;
        in6->sin6_family = AF_INET6;
        memcpy(&in6->sin6_addr, address, 16);
        length = sizeof(*in6);
    }
    char name[NI_MAXHOST];
    if (getnameinfo((struct sockaddr *)&storage, length, name, sizeof(name), NULL, 0, NI_NAMEREQD) != 0)
        return NULL;
    struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM }, *found = NULL;
    if (getaddrinfo(name, NULL, &hints, &found) != 0)
        return NULL;
    bool confirmed = false;
    for (struct addrinfo *a = found; a && !confirmed; a = a->ai_next) {
        if (a->ai_family == AF_INET)
            confirmed = memcmp(&((struct sockaddr_in *)a->ai_addr)->sin_addr, address, 4) == 0;
        else if (a->ai_family == AF_INET6)
            confirmed = memcmp(&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr, address, 16) == 0;
    }
    freeaddrinfo(found);
    return confirmed ? pool_strdup(r->pool, name) : NULL;
}

typedef struct {
    bool address_known;
    int family;
    unsigned char address[16];
    int host_state;  /* 0: not looked up yet, 1: no name, 2: host */
    const char *host;
} client_info;

static bool rule_matches(request *r, const access_rule *rule, client_info *client)
{
    switch (rule->kind) {
    case RULE_ALL:
        return true;
    case RULE_NETWORK:
        return client->address_known && ip_network_contains(&rule->network, client->family, client->address);
    case RULE_ENV:
        return request_get_env(r, rule->text) != NULL;
    case RULE_NOT_ENV:
        return request_get_env(r, rule->text) == NULL;
    case RULE_HOST:
        if (client->host_state == 0) {
            client->host = double_reverse_name(r);
            client->host_state = client->host ? 2 : 1;
        }
        return client->host_state == 2 && in_domain(rule->text, client->host);
    }
    return false;
}

static bool find_rule(request *r, const rule_list *list, unsigned method, client_info *client)
{
    for (int i = 0; i < list->count; i++)
        if ((list->rules[i].methods & method) && rule_matches(r, &list->rules[i], client))
            return true;
    return false;
}

int access_compat_check(request *r, bool *satisfy_any)
{
    const access_compat_dir_config *config = module_dir_config(r->dir, &access_compat_module);
    unsigned method = authz_request_method_bit(r);
    int index = __builtin_ctz(method);
    *satisfy_any = config->satisfy[index] == SATISFY_ANY;
    const access_rules *rules = config->rules;
    if (!rules)
        return WEFT_OK;
    client_info client = { 0 };
    client.address_known = ip_address_parse(request_client_address(r), &client.family,
                                               client.address);
    bool allowed = true;
    switch ((access_order)rules->order[index]) {
    case ORDER_ALLOW_DENY:
        allowed = find_rule(r, &rules->allows, method, &client) && !find_rule(r, &rules->denies, method, &client);
        break;
    case ORDER_DENY_ALLOW:
        allowed = !find_rule(r, &rules->denies, method, &client) || find_rule(r, &rules->allows, method, &client);
        break;
    case ORDER_MUTUAL_FAILURE:
        allowed = find_rule(r, &rules->allows, method, &client) && !find_rule(r, &rules->denies, method, &client);
        break;
    }
    if (allowed)
        return WEFT_OK;
    if (log_enabled(LOG_LEVEL_INFO))
        log_message(LOG_LEVEL_INFO, "client %s denied by server configuration (Order/Allow/Deny): %s",
                    request_client_address(r), r->file_path ? r->file_path : r->path);
    return 403;
}

/* ---- configuration -------------------------------------------------------- */

static access_rules *section_rules(config_parse *parse, void *target)
{
    access_rules **slot = target;
    if (!*slot)
        *slot = pool_calloc(config_pool(parse), sizeof(access_rules));
    return *slot;
}

static int set_order(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    access_order order;
    if (strcasecmp(argv[0], "Deny,Allow") == 0)
        order = ORDER_DENY_ALLOW;
    else if (strcasecmp(argv[0], "Allow,Deny") == 0)
        order = ORDER_ALLOW_DENY;
    else if (strcasecmp(argv[0], "Mutual-failure") == 0)
        order = ORDER_MUTUAL_FAILURE;
    else
        return config_error(parse, "unknown order '%s': Order takes Deny,Allow, Allow,Deny or Mutual-failure "
                                   "(without blanks)", argv[0]);
    access_rules *rules = section_rules(parse, target);
    unsigned methods = config_limit_methods(parse);
    for (int i = 0; i < CONFIG_METHOD_COUNT; i++)
        if (methods & (1u << i))
            rules->order[i] = (unsigned char)order;
    return WEFT_OK;
}

/* Apache's allow_cmd: env=, all, a network, else a host name. */
static int parse_rule(config_parse *parse, const char *directive, const char *where, access_rule *rule)
{
    rule->written = pool_strdup(config_pool(parse), where);
    if (strncasecmp(where, "env=!", 5) == 0) {
        rule->kind = RULE_NOT_ENV;
        rule->text = rule->written + 5;
    } else if (strncasecmp(where, "env=", 4) == 0) {
        rule->kind = RULE_ENV;
        rule->text = rule->written + 4;
    } else if (strcasecmp(where, "all") == 0) {
        rule->kind = RULE_ALL;
    } else if (ip_network_parse(where, &rule->network)) {
        rule->kind = RULE_NETWORK;
    } else if (where[0] && where[strlen(where) - 1] == '.' && strspn(where, "0123456789.") == strlen(where)
               && ip_network_parse(pool_strndup(config_pool(parse), where, strlen(where) - 1), &rule->network)) {
        rule->kind = RULE_NETWORK;  /* "10.1." as "10.1" */
    } else if (strchr(where, '/') || strspn(where, "0123456789.") == strlen(where) || strchr(where, ':')) {
        return config_error(parse, "%s from %s: an IP address or network was expected "
                                   "(a.b.c.d, a.b, a.b.c.d/nn, a.b.c.d/m.m.m.m, IPv6[/nn])", directive, where);
    } else {
        rule->kind = RULE_HOST;
        rule->text = rule->written;
    }
    if ((rule->kind == RULE_ENV || rule->kind == RULE_NOT_ENV) && !rule->text[0])
        return config_error(parse, "%s from %s: a variable name is missing", directive, where);
    return WEFT_OK;
}

static int set_allow_deny(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    if (strcasecmp(argv[0], "from") != 0)
        return config_error(parse, "allow and deny must be followed by 'from'");
    if (argc < 2)
        return config_error(parse, "%s from needs at least one host, network, all or env=", d->name);
    access_rules *rules = section_rules(parse, target);
    rule_list *list = strcasecmp(d->name, "Allow") == 0 ? &rules->allows : &rules->denies;
    access_rule *grown = pool_alloc(config_pool(parse), sizeof(*grown) * (size_t)(list->count + argc - 1));
    if (list->count)
        memcpy(grown, list->rules, sizeof(*grown) * (size_t)list->count);
    for (int i = 1; i < argc; i++) {
        access_rule *rule = &grown[list->count + i - 1];
        memset(rule, 0, sizeof(*rule));
        rule->methods = config_limit_methods(parse);
        if (parse_rule(parse, d->name, argv[i], rule) != WEFT_OK)
            return WEFT_ERROR;
    }
    list->rules = grown;
    list->count += argc - 1;
    return WEFT_OK;
}

static int set_satisfy(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    satisfy_mode mode;
    if (strcasecmp(argv[0], "All") == 0)
        mode = SATISFY_ALL;
    else if (strcasecmp(argv[0], "Any") == 0)
        mode = SATISFY_ANY;
    else
        return config_error(parse, "Satisfy either 'any' or 'all'.");
    unsigned char *satisfy = target;
    unsigned methods = config_limit_methods(parse);
    for (int i = 0; i < CONFIG_METHOD_COUNT; i++)
        if (methods & (1u << i))
            satisfy[i] = (unsigned char)mode;
    return WEFT_OK;
}

/* Apache's core: a section's Satisfy replaces the inherited one for the
 * methods it names. */
static void merge_satisfy(void *merged, const void *child, pool *p)
{
    unsigned char *into = merged;
    const unsigned char *from = child;
    for (int i = 0; i < CONFIG_METHOD_COUNT; i++)
        if (from[i] != SATISFY_UNSET)
            into[i] = from[i];
}

/* ---- DUMP_CONFIG ----------------------------------------------------------- */

static void format_rules(FILE *out, const config_directive *d, const void *base)
{
    const access_rules *rules = *(access_rules *const *)((const char *)base + d->offset);
    if (!rules)
        return;
    if (strcasecmp(d->name, "Order") == 0) {
        static const char *const names[] = { "Deny,Allow", "Allow,Deny", "Mutual-failure" };
        const char *argv[1] = { names[rules->order[0] % 3] };
        config_dump_line(out, d, 1, argv);
        return;
    }
    const rule_list *list = strcasecmp(d->name, "Allow") == 0 ? &rules->allows : &rules->denies;
    for (int i = 0; i < list->count; i++) {
        const char *argv[2] = { "from", list->rules[i].written };
        config_dump_line(out, d, 2, argv);
    }
}

static void format_satisfy(FILE *out, const config_directive *d, const void *base)
{
    const unsigned char *satisfy = (const unsigned char *)base + d->offset;
    if (satisfy[0] != SATISFY_UNSET) {
        const char *argv[1] = { satisfy[0] == SATISFY_ANY ? "Any" : "All" };
        config_dump_line(out, d, 1, argv);
    }
}

#define RULES_ROW(row_name, minimum, maximum, setter, row_syntax, row_help)                                  \
    { .name = row_name, .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_DIRECTORY,                              \
      .offset = offsetof(access_compat_dir_config, rules), .size = sizeof(access_rules *),                  \
      .min_args = minimum, .max_args = maximum, .set = setter, .syntax = row_syntax, .help = row_help,       \
      .format = format_rules, .overrides = OVERRIDE_LIMIT }

static const config_directive access_compat_directives[] = {
    RULES_ROW("Order", 1, 1, set_order, "Deny,Allow|Allow,Deny|Mutual-failure",
              "(deprecated) the order Allow and Deny are evaluated in, and the default"),
    RULES_ROW("Allow", 1, ARGS_UNLIMITED, set_allow_deny, "from all|address|network|host|env=[!]variable ...",
              "(deprecated) clients that may access this section"),
    RULES_ROW("Deny", 1, ARGS_UNLIMITED, set_allow_deny, "from all|address|network|host|env=[!]variable ...",
              "(deprecated) clients that may not access this section"),
    { .name = "Satisfy", .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_DIRECTORY,
      .offset = offsetof(access_compat_dir_config, satisfy), .size = CONFIG_METHOD_COUNT,
      .merge = merge_satisfy, .min_args = 1, .max_args = 1, .set = set_satisfy, .syntax = "All|Any",
      .help = "whether Order/Allow/Deny and Require must both let a request in (All) or either (Any)",
      .format = format_satisfy, .overrides = OVERRIDE_AUTHCONFIG },
    { .name = NULL },
};

const module access_compat_module = {
    .name = "access_compat",
    .directives = access_compat_directives,
    .dir_config_size = sizeof(access_compat_dir_config),
};
