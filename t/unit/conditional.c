/* Unit tests for src/http/conditional.c: entity-tag comparison (RFC 9110
 * 8.8.3.2's table and malformed lists), every combination of the four
 * precondition fields for GET, HEAD and POST against an oracle written
 * from RFC 9110 13.2.2, and If-Range. */
#include "tap.h"

#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/http/conditional.c"
#include "../../src/http/date.c"

#define S(text) slice_from_string(text)

static void test_comparison(void)
{
    /* RFC 9110 8.8.3.2 */
    ok(!http_etag_strong_equal(S("W/\"1\""), S("W/\"1\"")), "W/1 W/1: no strong match");
    ok(http_etag_weak_equal(S("W/\"1\""), S("W/\"1\"")), "W/1 W/1: weak match");
    ok(!http_etag_strong_equal(S("W/\"1\""), S("W/\"2\"")), "W/1 W/2: no strong match");
    ok(!http_etag_weak_equal(S("W/\"1\""), S("W/\"2\"")), "W/1 W/2: no weak match");
    ok(!http_etag_strong_equal(S("W/\"1\""), S("\"1\"")), "W/1 1: no strong match");
    ok(http_etag_weak_equal(S("W/\"1\""), S("\"1\"")), "W/1 1: weak match");
    ok(http_etag_strong_equal(S("\"1\""), S("\"1\"")), "1 1: strong match");
    ok(http_etag_weak_equal(S("\"1\""), S("\"1\"")), "1 1: weak match");
    /* Syntax */
    ok(!http_etag_strong_equal(S("1"), S("1")), "unquoted tags never match");
    ok(!http_etag_weak_equal(S("w/\"1\""), S("\"1\"")), "w/ (lower case) is not a weak prefix");
    ok(!http_etag_strong_equal(S("\"1\" "), S("\"1\"")), "trailing bytes make a tag invalid");
    ok(!http_etag_strong_equal(S("\"a b\""), S("\"a b\"")), "a space is not an etagc");
    ok(http_etag_strong_equal(S("\"\""), S("\"\"")), "the empty tag is a tag");
    ok(http_etag_strong_equal(S("\"a,b\""), S("\"a,b\"")), "a comma is an etagc");
    ok(http_etag_strong_equal(S("\"\xc3\xa9\""), S("\"\xc3\xa9\"")), "obs-text is an etagc");
    ok(!http_etag_strong_equal((slice){ NULL, 0 }, S("\"1\"")), "an absent tag matches nothing");

    /* Lists */
    slice tag = S("\"abc\"");
    ok(http_etag_list_matches(S("\"abc\""), tag, false), "list of one");
    ok(http_etag_list_matches(S("\"x\", \"abc\""), tag, false), "second member");
    ok(http_etag_list_matches(S("\"x\",\"abc\""), tag, false), "no space after the comma");
    ok(http_etag_list_matches(S(" , ,\"abc\" ,"), tag, false), "empty members are skipped");
    ok(http_etag_list_matches(S("*"), tag, false), "* matches");
    ok(http_etag_list_matches(S("* "), tag, false), "* with trailing space");
    ok(!http_etag_list_matches(S("\"ABC\""), tag, false), "tags are case-sensitive");
    ok(!http_etag_list_matches(S("W/\"abc\""), tag, false), "strong: a weak member does not match");
    ok(http_etag_list_matches(S("W/\"abc\""), tag, true), "weak: a weak member matches");
    ok(!http_etag_list_matches(S("\"abc\""), S("W/\"abc\""), false), "strong: a weak current tag never matches");
    ok(http_etag_list_matches(S("*"), S("W/\"abc\""), false), "strong: * matches a weak current tag");
    ok(http_etag_list_matches(S("\"abc\""), S("W/\"abc\""), true), "weak: a weak current tag matches");
    ok(http_etag_list_matches(S("garbage, \"abc\""), tag, false), "a malformed member is skipped");
    ok(http_etag_list_matches(S("\"x,\"abc\"\", \"abc\""), tag, false),
       "a comma inside a malformed quoted member does not resynchronise");
    ok(!http_etag_list_matches(S("\"x, abc"), tag, false), "an unterminated member ends the list");
    ok(!http_etag_list_matches(S("\"abcd\", \"ab\""), tag, false), "no prefix matches");
    ok(!http_etag_list_matches(S("*x"), tag, false), "*x is not *");
    ok(!http_etag_list_matches(S(""), tag, false), "an empty list matches nothing");
}

/* ---- every precondition combination ------------------------------------ */

#define LAST_MODIFIED ((time_t)1700000000)   /* Tue, 14 Nov 2023 22:13:20 GMT */
#define NOW ((time_t)1800000000)
static const char *const current_etag = "\"31-5e0c\"";

typedef struct {
    const char *label;
    const char *value;   /* NULL = absent */
} field_case;

static const field_case if_match_cases[] = {
    { "absent", NULL },      { "match", "\"31-5e0c\"" }, { "no match", "\"other\"" },
    { "*", "*" },            { "weak member", "W/\"31-5e0c\"" }, { "list with match", "\"a\", \"31-5e0c\"" },
};
static const field_case if_unmodified_since_cases[] = {
    { "absent", NULL },
    { "equal", "Tue, 14 Nov 2023 22:13:20 GMT" },
    { "later", "Wed, 15 Nov 2023 00:00:00 GMT" },
    { "earlier", "Mon, 13 Nov 2023 00:00:00 GMT" },
    { "invalid", "yesterday" },
};
static const field_case if_none_match_cases[] = {
    { "absent", NULL },      { "match", "\"31-5e0c\"" }, { "no match", "\"other\"" },
    { "*", "*" },            { "weak match", "W/\"31-5e0c\"" },
};
static const field_case if_modified_since_cases[] = {
    { "absent", NULL },
    { "equal", "Tue, 14 Nov 2023 22:13:20 GMT" },
    { "later", "Wed, 15 Nov 2023 00:00:00 GMT" },
    { "earlier", "Mon, 13 Nov 2023 00:00:00 GMT" },
    { "invalid", "not a date" },
    { "future", "Sat, 01 Jan 2050 00:00:00 GMT" },
    { "list", "Tue, 14 Nov 2023 22:13:20 GMT, Tue, 14 Nov 2023 22:13:20 GMT" },
};

static time_t date_of(const char *text)
{
    return text ? http_parse_date(text) : -1;
}

/* RFC 9110 13.2.2, written out step by step on the test's own terms. */
static int oracle(http_method method, const field_case *im, const field_case *ius, const field_case *inm,
                  const field_case *ims)
{
    bool get_or_head = method == HTTP_METHOD_GET || method == HTTP_METHOD_HEAD;
    /* Step 1 */
    if (im->value) {
        bool holds = strcmp(im->label, "match") == 0 || strcmp(im->label, "*") == 0 ||
                     strcmp(im->label, "list with match") == 0;
        if (!holds)
            return 412;
    } else if (ius->value) {
        /* Step 2 */
        time_t date = date_of(ius->value);
        if (date != -1 && !(LAST_MODIFIED <= date))
            return 412;
    }
    /* Step 3 */
    if (inm->value) {
        bool holds = !(strcmp(inm->label, "match") == 0 || strcmp(inm->label, "*") == 0 ||
                       strcmp(inm->label, "weak match") == 0);
        if (!holds)
            return get_or_head ? 304 : 412;
    } else if (get_or_head && ims->value) {
        /* Step 4 */
        time_t date = date_of(ims->value);
        if (date != -1 && date <= NOW && !(LAST_MODIFIED > date))
            return 304;
    }
    return 0;
}

static void test_all_combinations(void)
{
    static const struct {
        const char *name;
        http_method method;
    } methods[] = { { "GET", HTTP_METHOD_GET }, { "HEAD", HTTP_METHOD_HEAD }, { "POST", HTTP_METHOD_POST } };
    int checked = 0, wrong = 0;
    for (size_t m = 0; m < COUNT_OF(methods); m++)
        for (size_t a = 0; a < COUNT_OF(if_match_cases); a++)
            for (size_t b = 0; b < COUNT_OF(if_unmodified_since_cases); b++)
                for (size_t c = 0; c < COUNT_OF(if_none_match_cases); c++)
                    for (size_t d = 0; d < COUNT_OF(if_modified_since_cases); d++) {
                        const field_case *im = &if_match_cases[a], *ius = &if_unmodified_since_cases[b],
                                         *inm = &if_none_match_cases[c], *ims = &if_modified_since_cases[d];
                        http_conditionals fields = { 0 };
                        if (im->value)
                            fields.if_match = S(im->value);
                        if (ius->value)
                            fields.if_unmodified_since = S(ius->value);
                        if (inm->value)
                            fields.if_none_match = S(inm->value);
                        if (ims->value)
                            fields.if_modified_since = S(ims->value);
                        int got = http_evaluate_preconditions(&fields, methods[m].method, current_etag,
                                                              LAST_MODIFIED, NOW);
                        int expected = oracle(methods[m].method, im, ius, inm, ims);
                        checked++;
                        if (got != expected) {
                            wrong++;
                            note("%s If-Match %s, If-Unmodified-Since %s, If-None-Match %s, "
                                 "If-Modified-Since %s: got %d, expected %d",
                                 methods[m].name, im->label, ius->label, inm->label, ims->label, got, expected);
                        }
                    }
    ok(wrong == 0, "all %d combinations of method and the four fields follow RFC 9110 13.2.2", checked);

    /* A few rows spelled out, so that a broken oracle cannot hide them. */
    http_conditionals fields = { .if_none_match = S(current_etag) };
    is_int(http_evaluate_preconditions(&fields, HTTP_METHOD_GET, current_etag, LAST_MODIFIED, NOW), 304,
           "GET If-None-Match match: 304");
    is_int(http_evaluate_preconditions(&fields, HTTP_METHOD_POST, current_etag, LAST_MODIFIED, NOW), 412,
           "POST If-None-Match match: 412");
    fields = (http_conditionals){ .if_match = S("\"x\""), .if_none_match = S("\"x\"") };
    is_int(http_evaluate_preconditions(&fields, HTTP_METHOD_GET, current_etag, LAST_MODIFIED, NOW), 412,
           "If-Match is evaluated before If-None-Match");
    fields = (http_conditionals){ .if_match = S(current_etag), .if_unmodified_since = S("Mon, 13 Nov 2023 00:00:00 GMT") };
    is_int(http_evaluate_preconditions(&fields, HTTP_METHOD_GET, current_etag, LAST_MODIFIED, NOW), 0,
           "If-Unmodified-Since is ignored when If-Match is present");
    fields = (http_conditionals){ .if_none_match = S("\"other\""), .if_modified_since = S("Wed, 15 Nov 2023 00:00:00 GMT") };
    is_int(http_evaluate_preconditions(&fields, HTTP_METHOD_GET, current_etag, LAST_MODIFIED, NOW), 0,
           "If-Modified-Since is ignored when If-None-Match is present");
    fields = (http_conditionals){ .if_modified_since = S("Wed, 15 Nov 2023 00:00:00 GMT") };
    is_int(http_evaluate_preconditions(&fields, HTTP_METHOD_POST, current_etag, LAST_MODIFIED, NOW), 0,
           "If-Modified-Since is ignored for POST");
    fields = (http_conditionals){ .if_match = S(current_etag) };
    is_int(http_evaluate_preconditions(&fields, HTTP_METHOD_GET, "W/\"31-5e0c\"", LAST_MODIFIED, NOW), 412,
           "If-Match never matches a weak current tag");
    fields = (http_conditionals){ .if_match = S("*") };
    is_int(http_evaluate_preconditions(&fields, HTTP_METHOD_GET, NULL, LAST_MODIFIED, NOW), 0,
           "If-Match: * holds without an ETag");
    fields = (http_conditionals){ .if_none_match = S("*") };
    is_int(http_evaluate_preconditions(&fields, HTTP_METHOD_GET, NULL, LAST_MODIFIED, NOW), 304,
           "If-None-Match: * fails without an ETag too");
    fields = (http_conditionals){ .if_match = S("\"31-5e0c\"") };
    is_int(http_evaluate_preconditions(&fields, HTTP_METHOD_GET, NULL, LAST_MODIFIED, NOW), 412,
           "If-Match with a tag fails when there is no ETag");
    fields = (http_conditionals){ .if_unmodified_since = S("Tue, 14 Nov 2023 22:13:20 GMT") };
    is_int(http_evaluate_preconditions(&fields, HTTP_METHOD_GET, current_etag, -1, NOW), 412,
           "If-Unmodified-Since fails without a Last-Modified");
    fields = (http_conditionals){ .if_modified_since = S("Tue, 14 Nov 2023 22:13:20 GMT") };
    is_int(http_evaluate_preconditions(&fields, HTTP_METHOD_GET, current_etag, -1, NOW), 0,
           "If-Modified-Since is ignored without a Last-Modified");
    fields = (http_conditionals){ .if_modified_since = S("Tuesday, 14-Nov-23 22:13:20 GMT") };
    is_int(http_evaluate_preconditions(&fields, HTTP_METHOD_HEAD, current_etag, LAST_MODIFIED, NOW), 304,
           "the RFC 850 date form is understood");
    fields = (http_conditionals){ .if_modified_since = S("Tue Nov 14 22:13:20 2023") };
    is_int(http_evaluate_preconditions(&fields, HTTP_METHOD_GET, current_etag, LAST_MODIFIED, NOW), 304,
           "the asctime date form is understood");
}

static void test_if_range(void)
{
    slice absent = { NULL, 0 };
    ok(http_if_range_holds(absent, current_etag, LAST_MODIFIED, NOW), "no If-Range: the Range holds");
    ok(http_if_range_holds(S("\"31-5e0c\""), current_etag, LAST_MODIFIED, NOW), "matching strong tag");
    ok(!http_if_range_holds(S("\"other\""), current_etag, LAST_MODIFIED, NOW), "another tag");
    ok(!http_if_range_holds(S("W/\"31-5e0c\""), current_etag, LAST_MODIFIED, NOW), "a weak tag never holds");
    ok(!http_if_range_holds(S("\"31-5e0c\""), "W/\"31-5e0c\"", LAST_MODIFIED, NOW),
       "a weak current tag never holds");
    ok(!http_if_range_holds(S("\"31-5e0c\""), NULL, LAST_MODIFIED, NOW), "no current tag");
    ok(!http_if_range_holds(S("\"31-5e0c\", \"x\""), current_etag, LAST_MODIFIED, NOW), "a list is not a tag");
    ok(http_if_range_holds(S("Tue, 14 Nov 2023 22:13:20 GMT"), current_etag, LAST_MODIFIED, NOW),
       "the exact Last-Modified date");
    ok(!http_if_range_holds(S("Wed, 15 Nov 2023 00:00:00 GMT"), current_etag, LAST_MODIFIED, NOW),
       "a later date is not an exact match");
    ok(!http_if_range_holds(S("Mon, 13 Nov 2023 00:00:00 GMT"), current_etag, LAST_MODIFIED, NOW),
       "an earlier date");
    ok(!http_if_range_holds(S("Tue, 14 Nov 2023 22:13:20 GMT"), current_etag, LAST_MODIFIED, LAST_MODIFIED),
       "a Last-Modified of this very second is weak");
    ok(!http_if_range_holds(S("garbage"), current_etag, LAST_MODIFIED, NOW), "garbage never holds");
    ok(!http_if_range_holds(S(""), current_etag, LAST_MODIFIED, NOW), "empty never holds");
    ok(!http_if_range_holds(S("Tue, 14 Nov 2023 22:13:20 GMT"), current_etag, -1, NOW), "no Last-Modified");
}

static void test_dates(void)
{
    is_int(http_parse_date_slice((slice){ "Tue, 14 Nov 2023 22:13:20 GMTxyz", 29 }), LAST_MODIFIED,
           "a date is read from a slice that is not NUL-terminated");
    is_int(http_parse_date_slice(S("Tue, 14 Nov 2023 22:13:20 GMT, Tue, 14 Nov 2023 22:13:20 GMT")), -1,
           "a list of dates is invalid");
    is_int(http_parse_date_slice((slice){ NULL, 0 }), -1, "absent");
}

int main(void)
{
    test_comparison();
    test_all_combinations();
    test_if_range();
    test_dates();
    return done_testing();
}
