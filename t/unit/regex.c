/*
 * regex.c — unit tests for core/regex.c: Perl syntax as Apache's PCRE has
 * it, groups, caseless matching, error positions, and threads matching one
 * pattern at once.
 */
#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/core/regex.c"
#include "tap.h"

#include <pthread.h>

static pool *test_pool;

static weft_regex *compile(const char *pattern, unsigned flags)
{
    char error[200] = "";
    weft_regex *regex = regex_compile(test_pool, pattern, flags, error, sizeof(error));
    if (!regex)
        note("'%s': %s", pattern, error);
    return regex;
}

static bool matches(const char *pattern, unsigned flags, const char *subject)
{
    weft_regex *regex = compile(pattern, flags);
    return regex && regex_match(regex, subject, strlen(subject), NULL, 0);
}

#define THREADS 4
#define ROUNDS 20000

static void *match_many(void *argument)
{
    const weft_regex *regex = argument;
    long hits = 0;
    char subject[32];
    for (int i = 0; i < ROUNDS; i++) {
        int length = snprintf(subject, sizeof(subject), "/products/%d", i);
        regex_group groups[2];
        if (regex_match(regex, subject, (size_t)length, groups, 2) && groups[1].end - groups[1].start > 0)
            hits++;
    }
    return (void *)hits;
}

int main(void)
{
    test_pool = pool_create(4096);

    ok(matches("^/products/(\\d+)$", 0, "/products/42"), "\\d matches digits");
    ok(!matches("^/products/(\\d+)$", 0, "/products/ddd"), "\\d does not match the letter d");
    ok(matches("(?i)^/ADMIN", 0, "/admin/x"), "(?i) is accepted and caseless");
    ok(matches("^/(?:a|b)/", 0, "/b/x"), "(?:...) groups without capturing");
    ok(matches("\\.(?!php$)[a-z]+$", 0, "/x.html"), "negative look-ahead");
    ok(!matches("\\.(?!php$)[a-z]+$", 0, "/x.php"), "negative look-ahead refuses");
    ok(matches("^/abc", REGEX_CASELESS, "/ABC"), "REGEX_CASELESS");
    ok(!matches("^/abc", 0, "/ABC"), "case matters by default");

    weft_regex *lazy = compile("^/(.*?)/", 0);
    regex_group groups[REGEX_MAX_GROUPS];
    ok(lazy && regex_match(lazy, "/a/b/c", 6, groups, REGEX_MAX_GROUPS), "lazy pattern matches");
    is_int(groups[1].end - groups[1].start, 1, "lazy .*? takes the shortest: 'a'");
    is_int(groups[2].start, -1, "a group the pattern lacks is -1");
    is_int(regex_group_count(lazy), 1, "one capturing group");

    weft_regex *optional = compile("^/x(y)?(z)", 0);
    ok(optional && regex_match(optional, "/xz", 3, groups, 3), "optional group");
    ok(groups[1].start == -1 && groups[2].start == 2, "unmatched group -1, later group set");

    /* The subject is a length, not a C string. */
    weft_regex *end = compile("c$", 0);
    ok(end && regex_match(end, "abcd", 3, NULL, 0), "only length bytes are the subject");

    /* More groups than the per-thread match data holds: still a match. */
    char many[400] = "";
    for (int i = 0; i < 40; i++)
        strcat(many, "(a)");
    weft_regex *wide = compile(many, 0);
    char subject[41];
    memset(subject, 'a', 40);
    subject[40] = '\0';
    ok(wide && regex_match(wide, subject, 40, groups, REGEX_MAX_GROUPS) && groups[9].start == 8,
       "40 groups match; $9 is set");

    char error[200] = "";
    ok(!regex_compile(test_pool, "^/(abc", 0, error, sizeof(error)), "unbalanced parenthesis refused");
    ok(strstr(error, "offset 6") && strstr(error, "missing closing parenthesis"), "error names position and reason: %s",
       error);
    ok(!regex_compile(test_pool, "a{2,1}", 0, error, sizeof(error)), "bad quantifier refused: %s", error);

    weft_regex *shared = compile("^/products/(\\d+)$", 0);
    note("JIT: %s", shared && regex_is_jit(shared) ? "yes" : "no (interpreted)");
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&threads[i], NULL, match_many, shared);
    long total = 0;
    for (int i = 0; i < THREADS; i++) {
        void *hits;
        pthread_join(threads[i], &hits);
        total += (long)hits;
    }
    is_int((int)total, THREADS * ROUNDS, "threads match one pattern at once, every answer right");
    ok(strcmp(regex_pattern(shared), "^/products/(\\d+)$") == 0, "the pattern as written");

    pool_destroy(test_pool);
    return done_testing();
}
