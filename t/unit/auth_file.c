/*
 * auth_file.c — user and group files as Apache reads them (comments, blank
 * lines, blanks around a line, the hash ending at the next ':', the first
 * line of a user winning, groups over several lines), and a changed file
 * read again (at most once a second).
 */
#include "tap.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../src/core/pool.c"
#include "../../src/modules/password.c"
#include "../../src/modules/auth_file.c"

int log_threshold = LOG_LEVEL_WARN;
static int warnings;
static char last_message[512];
void log_message(int level, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(last_message, sizeof(last_message), format, args);
    va_end(args);
    warnings += level == LOG_LEVEL_WARN;
}

static char directory[] = "/tmp/weft-auth-file-XXXXXX";

static char *write_file(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", directory, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

static const char *hash_of(pool *p, const char *path, const char *user)
{
    const char *hash = NULL;
    uint64_t generation;
    if (auth_file_user_hash(path, user, p, &hash, &generation) != WEFT_OK)
        return "(error)";
    return hash;
}

static bool member(const char *path, const char *user, const char *group1, const char *group2)
{
    char *groups[] = { (char *)group1, (char *)group2, NULL };
    bool is_member = false;
    if (auth_file_user_in_groups(path, user, groups, &is_member) != WEFT_OK)
        return false;
    return is_member;
}

int main(void)
{
    if (!mkdtemp(directory)) {
        ok(0, "a temporary directory");
        return done_testing();
    }
    pool *p = pool_create(4096);
    char users[256];
    snprintf(users, sizeof(users), "%s",
             write_file("users", "# a comment\n"
                                 "\n"
                                 "alice:$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/\n"
                                 "  bob:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=  \r\n"
                                 "carol:realm:0123456789abcdef0123456789abcdef\n"
                                 "alice:{SHA}second-line-loses\n"
                                 "dave:plain\n"
                                 "erin\n"
                                 "zed:$2y$05$x"));
    is_string(hash_of(p, users, "alice"), "$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/", "a user's hash");
    is_string(hash_of(p, users, "bob"), "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", "blanks and CR around a line are dropped");
    is_string(hash_of(p, users, "carol"), "realm", "the hash ends at the next ':' (an htdigest line matches nothing)");
    is_string(hash_of(p, users, "erin"), "", "a line without ':' is a user without a hash");
    is_string(hash_of(p, users, "zed"), "$2y$05$x", "the last line needs no newline");
    ok(hash_of(p, users, "mallory") == NULL, "an unknown user: none");
    ok(hash_of(p, users, "# a comment") == NULL, "a comment is no user");
    ok(hash_of(p, users, "") == NULL, "nor is a blank line");
    ok(warnings >= 1 && strstr(last_message, "user") != NULL, "a plain-text password is warned about (%s)",
       last_message);
    ok(password_verify("secret", hash_of(p, users, "alice")), "the first line of a user wins");

    const char *missing = "/nonexistent/weft/users";
    is_string(hash_of(p, missing, "alice"), "(error)", "a missing file is an error");

    /* A change is seen once the second of the last look is over. */
    uint64_t before = 0, after = 0;
    const char *hash;
    auth_file_user_hash(users, "alice", p, &hash, &before);
    write_file("users", "alice:{SHA}changed\n");
    bool seen = false;
    for (int i = 0; i < 30 && !seen; i++) {  /* at most 3 s */
        auth_file_user_hash(users, "alice", p, &hash, &after);
        seen = hash && strcmp(hash, "{SHA}changed") == 0;
        if (!seen)
            usleep(100000);
    }
    ok(seen, "a changed file is read again");
    ok(after != before, "... with a new generation");
    ok(hash_of(p, users, "bob") == NULL, "... and users it no longer has are gone");

    char groups[256];
    snprintf(groups, sizeof(groups), "%s",
             write_file("groups", "# groups\n"
                                  "admins: alice\n"
                                  "staff:bob   carol\n"
                                  "  staff: dave\t erin \n"
                                  "empty:\n"));
    ok(member(groups, "alice", "admins", NULL), "a member");
    ok(member(groups, "carol", "staff", NULL), "... without a blank after ':'");
    ok(member(groups, "erin", "staff", NULL), "... on the group's second line, between tabs");
    ok(member(groups, "alice", "nobody", "admins"), "in the second group named");
    ok(!member(groups, "alice", "staff", NULL), "not a member");
    ok(!member(groups, "car", "staff", NULL), "a prefix of a member is not one");
    ok(!member(groups, "alice", "empty", NULL), "an empty group");
    ok(!member(groups, "admins", "admins", NULL), "the group's name is not a member");

    unlink(users);
    unlink(groups);
    rmdir(directory);
    pool_destroy(p);
    return done_testing();
}
