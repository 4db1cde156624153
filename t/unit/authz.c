/*
 * Unit tests for the address matching of src/modules/authz.c: the forms
 * Require ip accepts, CIDR containment at every kind of prefix, and client
 * addresses (IPv4-mapped IPv6 counts as IPv4).  Functions of other layers
 * that authz.c calls at request or configuration time are stubbed.
 */
#include "tap.h"

/* module_server_config / module_dir_config are defined below (module.h). */
#define WEFT_MODULE_CONFIG_STUBS

#include <arpa/inet.h>

#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/core/network.c"
#include "../../src/modules/authz.c"

int log_threshold;
unsigned config_limit_methods(const config_parse *parse) { return CONFIG_METHODS_ALL; }
int access_compat_check(struct request *r, bool *satisfy_any) { *satisfy_any = false; return WEFT_OK; }
void log_message(int level, const char *format, ...) {}
const char *connection_peer_address(const connection *c) { return "127.0.0.1"; }
const char *connection_local_address(const connection *c) { return "127.0.0.1"; }
int config_error(config_parse *parse, const char *format, ...) { return WEFT_ERROR; }
pool *config_pool(config_parse *parse) { return NULL; }
/* Require expr is tested in t/unit/expr.c and t/85-if-expr.t */
weft_expr *config_compile_expr(struct config_parse *parse, const char *text) { return NULL; }
const char *config_raw_arguments(const config_parse *parse) { return NULL; }
bool request_expr_holds(request *r, const weft_expr *expr, const char *user) { return false; }
const char *expr_text(const weft_expr *expr) { return ""; }
void config_dump_line(FILE *out, const config_directive *directive, int argc, const char *const *argv) {}
void *module_dir_config(const dir_config *dir, const module *m) { return NULL; }  /* authz_access is not tested here */
/* Authentication is tested in t/55-auth-basic.t; here only how "denied
 * without a user" combines. */
static bool stub_member;
int auth_basic_user_in_groups(struct request *r, char *const *groups, bool *member) { *member = stub_member; return WEFT_OK; }
const char *auth_basic_type(struct request *r) { return "Basic"; }
int auth_basic_authenticate(struct request *r) { return WEFT_OK; }
void auth_basic_note_failure(struct request *r) {}
const char *auth_basic_log_text(pool *p, const char *text) { return text; }

static bool contains(const char *network_text, const char *address_text)
{
    ip_network network;
    int family;
    unsigned char address[16];
    if (!ip_network_parse(network_text, &network)) {
        note("cannot parse %s", network_text);
        return false;
    }
    if (!ip_address_parse(address_text, &family, address)) {
        note("cannot parse %s", address_text);
        return false;
    }
    return ip_network_contains(&network, family, address);
}

static void test_parse(void)
{
    const char *good[] = { "127.0.0.1", "10.0.0.0/8", "10.1", "10", "192.168.1.0/24", "10.0.0.0/255.0.0.0",
                           "0.0.0.0/0", "::1", "2001:db8::/32", "::/0", "10.0.0.1/32", "1.2.3.4/255.255.255.255" };
    const char *bad[] = { "", "300.1.1.1", "10.0.0.0/33", "10.0.0.0/255.0.255.0", "1.2.3.4.5", "10.", ".10",
                          "1..2", "2001:db8::/129", "::g", "10.0.0.0/", "host.example", "1.2.3.4/-1", "0100.1" };
    for (size_t i = 0; i < COUNT_OF(good); i++) {
        ip_network network;
        ok(ip_network_parse(good[i], &network), "accepts '%s'", good[i]);
    }
    for (size_t i = 0; i < COUNT_OF(bad); i++) {
        ip_network network;
        ok(!ip_network_parse(bad[i], &network), "refuses '%s'", bad[i]);
    }
    ip_network network;
    ip_network_parse("10.1", &network);
    is_int(network.prefix, 16, "10.1 is a /16");
    ip_network_parse("10.0.0.0/255.255.240.0", &network);
    is_int(network.prefix, 20, "a netmask becomes its prefix length");
}

static void test_contains(void)
{
    ok(contains("127.0.0.1", "127.0.0.1"), "an address contains itself");
    ok(!contains("127.0.0.1", "127.0.0.2"), "... and no other");
    ok(contains("127.0.0.0/8", "127.1.2.3"), "/8");
    ok(!contains("10.0.0.0/8", "127.0.0.1"), "a CIDR that excludes 127.0.0.1");
    ok(contains("10.1", "10.1.255.7"), "partial address");
    ok(!contains("10.1", "10.10.0.1"), "partial address is whole octets");
    ok(contains("192.168.1.128/25", "192.168.1.200"), "/25, inside");
    ok(!contains("192.168.1.128/25", "192.168.1.127"), "/25, outside");
    ok(contains("172.16.0.0/12", "172.31.255.255"), "/12 upper edge");
    ok(!contains("172.16.0.0/12", "172.32.0.0"), "/12 just above");
    ok(contains("10.0.0.5/8", "10.9.9.9"), "host bits of the network are ignored");
    ok(contains("0.0.0.0/0", "8.8.8.8"), "/0 contains every IPv4 address");
    ok(!contains("0.0.0.0/0", "::1"), "... but no IPv6 address");
    ok(contains("::1", "::1"), "IPv6 address");
    ok(contains("2001:db8::/32", "2001:db8:ffff::1"), "IPv6 /32");
    ok(!contains("2001:db8::/32", "2001:db9::1"), "IPv6 /32, outside");
    ok(contains("2001:db8::/33", "2001:db8:7fff::1"), "IPv6 /33, inside");
    ok(!contains("2001:db8::/33", "2001:db8:8000::1"), "IPv6 /33, outside");
    ok(contains("127.0.0.0/8", "::ffff:127.0.0.1"), "an IPv4-mapped client counts as IPv4");
    ok(!contains("::/0", "::ffff:127.0.0.1"), "... and not as IPv6");
}

static authz_item item_of(item_kind kind, bool negated, char **names)
{
    return (authz_item){ .kind = kind, .negated = negated, .methods = CONFIG_METHODS_ALL, .names = names };
}

static authz_result run(container_kind kind, authz_item *items, int count, char *user)
{
    struct authz_container container = { .kind = kind, .methods = CONFIG_METHODS_ALL, .items = items, .count = count };
    request r;
    memset(&r, 0, sizeof(r));
    r.user = user;
    client_address client = { .known = true, .family = AF_INET, .address = { 127, 0, 0, 1 } };
    return evaluate_container(&r, &container, &client, CONFIG_METHOD_GET);
}

/* Apache's apply_authz_sections with AUTHZ_DENIED_NO_USER. */
static void test_user_logic(void)
{
    static char *alice[] = { "alice", NULL };
    static char *bob[] = { "bob", NULL };
    authz_item valid = item_of(ITEM_VALID_USER, false, NULL);
    authz_item denied = item_of(ITEM_ALL_DENIED, false, NULL);
    authz_item granted = item_of(ITEM_ALL_GRANTED, false, NULL);
    authz_item user_alice = item_of(ITEM_USER, false, alice);
    authz_item not_bob = item_of(ITEM_USER, true, bob);
    authz_item group = item_of(ITEM_GROUP, false, alice);

    is_int(run(CONTAINER_ANY, &valid, 1, NULL), AUTHZ_DENIED_NO_USER, "valid-user without a user: ask for one");
    is_int(run(CONTAINER_ANY, &valid, 1, "x"), AUTHZ_GRANTED, "valid-user with one: granted");
    is_int(run(CONTAINER_ANY, (authz_item[]){ denied, valid }, 2, NULL), AUTHZ_DENIED_NO_USER,
           "Any(denied, valid-user): a user could change it");
    is_int(run(CONTAINER_ANY, (authz_item[]){ valid, denied }, 2, NULL), AUTHZ_DENIED_NO_USER,
           "Any(valid-user, denied): the same in the other order");
    is_int(run(CONTAINER_ANY, (authz_item[]){ granted, valid }, 2, NULL), AUTHZ_GRANTED,
           "Any(granted, valid-user): no user needed");
    is_int(run(CONTAINER_ALL, (authz_item[]){ denied, valid }, 2, NULL), AUTHZ_DENIED,
           "All(denied, valid-user): no user could change it");
    is_int(run(CONTAINER_ALL, (authz_item[]){ valid, denied }, 2, NULL), AUTHZ_DENIED,
           "All(valid-user, denied): the same in the other order");
    is_int(run(CONTAINER_ALL, (authz_item[]){ granted, user_alice }, 2, NULL), AUTHZ_DENIED_NO_USER,
           "All(granted, user alice) without a user: ask");
    is_int(run(CONTAINER_ALL, (authz_item[]){ granted, user_alice }, 2, "alice"), AUTHZ_GRANTED, "... alice: granted");
    is_int(run(CONTAINER_ALL, (authz_item[]){ granted, user_alice }, 2, "bob"), AUTHZ_DENIED, "... bob: denied");
    is_int(run(CONTAINER_ALL, (authz_item[]){ valid, not_bob }, 2, "alice"), AUTHZ_GRANTED,
           "All(valid-user, not user bob): alice");
    is_int(run(CONTAINER_ALL, (authz_item[]){ valid, not_bob }, 2, "bob"), AUTHZ_DENIED, "... bob is refused");
    is_int(run(CONTAINER_ALL, (authz_item[]){ valid, not_bob }, 2, NULL), AUTHZ_DENIED_NO_USER, "... nobody: ask");
    is_int(run(CONTAINER_NONE, &valid, 1, NULL), AUTHZ_NEUTRAL, "None(valid-user) without a user: neutral");
    stub_member = true;
    is_int(run(CONTAINER_ANY, &group, 1, "alice"), AUTHZ_GRANTED, "group: a member");
    stub_member = false;
    is_int(run(CONTAINER_ANY, &group, 1, "alice"), AUTHZ_DENIED, "group: not a member");
    is_int(run(CONTAINER_ANY, &group, 1, NULL), AUTHZ_DENIED_NO_USER, "group without a user: ask");
}

int main(void)
{
    test_parse();
    test_contains();
    test_user_logic();
    return done_testing();
}
