/* Unit tests for src/http/date.c: HTTP-date formatting and parsing (RFC 9110
 * 5.6.7) and the per-thread cached Date value. */
#include "tap.h"

#include <pthread.h>
#include <stdlib.h>

#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/http/date.c"

/* Sun, 06 Nov 1994 08:49:37 GMT, the RFC's example. */
#define RFC_EXAMPLE ((time_t)784111777)

static const char *formatted(time_t when)
{
    static char text[30];
    http_format_date(text, when);
    return text;
}

static void test_format(void)
{
    char text[30];
    is_int(http_format_date(text, RFC_EXAMPLE), 29, "format returns 29");
    is_string(text, "Sun, 06 Nov 1994 08:49:37 GMT", "RFC 9110 example");
    is_string(formatted(0), "Thu, 01 Jan 1970 00:00:00 GMT", "the epoch");
    is_string(formatted(951782400), "Tue, 29 Feb 2000 00:00:00 GMT", "leap day 2000");
    is_string(formatted(1709251199), "Thu, 29 Feb 2024 23:59:59 GMT", "leap day 2024, last second");
    is_string(formatted(2147483647), "Tue, 19 Jan 2038 03:14:07 GMT", "2^31 - 1");
    is_string(formatted(4102444800), "Fri, 01 Jan 2100 00:00:00 GMT", "2100 (not a leap year)");
    is_string(formatted(-5), "Thu, 01 Jan 1970 00:00:00 GMT", "negative times clamp to the epoch");
    is_string(formatted((time_t)400000000000), "Fri, 31 Dec 9999 23:59:59 GMT",
              "far future clamps to year 9999");

    /* Compare with the C library over many instants, including every day of
     * a few years (months, weekdays, leap years). */
    int mismatches = 0;
    for (time_t when = 0; when < (time_t)4200000000; when += 86399 * 7 + 12345) {
        struct tm broken;
        char expected[64];
        gmtime_r(&when, &broken);
        strftime(expected, sizeof expected, "%a, %d %b %Y %H:%M:%S GMT", &broken);
        if (strcmp(formatted(when), expected) != 0 && mismatches++ < 3)
            note("  %lld: got %s expected %s", (long long)when, formatted(when), expected);
    }
    is_int(mismatches, 0, "format agrees with gmtime_r/strftime from 1970 to 2103");
}

static void test_parse_forms(void)
{
    is_int(http_parse_date("Sun, 06 Nov 1994 08:49:37 GMT"), RFC_EXAMPLE, "IMF-fixdate");
    is_int(http_parse_date("Sunday, 06-Nov-94 08:49:37 GMT"), RFC_EXAMPLE, "rfc850-date");
    is_int(http_parse_date("Sun Nov  6 08:49:37 1994"), RFC_EXAMPLE, "asctime-date, padded day");
    is_int(http_parse_date("Thu Nov 16 08:49:37 1994"), RFC_EXAMPLE + 10 * 86400,
           "asctime-date, two-digit day");
    is_int(http_parse_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0, "the epoch");
    is_int(http_parse_date("Tue, 29 Feb 2000 00:00:00 GMT"), 951782400, "leap day 2000");
    is_int(http_parse_date("Tue, 19 Jan 2038 03:14:08 GMT"), (time_t)2147483648LL,
           "after 2038");
    is_int(http_parse_date("Mon, 06 Nov 1994 08:49:37 GMT"), RFC_EXAMPLE,
           "a wrong day name is tolerated");
    is_int(http_parse_date("Sun, 06 Nov 1994 08:49:60 GMT"), RFC_EXAMPLE + 23,
           "leap second 60 is the next minute");

    /* Two-digit years: never more than 50 years in the future. */
    struct tm now;
    time_t current = time(NULL);
    gmtime_r(&current, &now);
    int current_year = now.tm_year + 1900;
    char text[64];
    int near_future = (current_year + 10) % 100;
    snprintf(text, sizeof text, "Monday, 01-Jan-%02d 00:00:00 GMT", near_future);
    struct tm parsed;
    time_t when = http_parse_date(text);
    gmtime_r(&when, &parsed);
    is_int(parsed.tm_year + 1900, current_year + 10, "rfc850 year 10 years ahead stays ahead");
    int far_future = (current_year + 60) % 100;
    snprintf(text, sizeof text, "Monday, 01-Jan-%02d 00:00:00 GMT", far_future);
    when = http_parse_date(text);
    gmtime_r(&when, &parsed);
    is_int(parsed.tm_year + 1900, current_year + 60 - 100, "rfc850 year 60 years ahead is in the past");
}

static void test_round_trips(void)
{
    int failures = 0;
    for (time_t when = 0; when < (time_t)4200000000; when += 86399 * 3 + 7777) {
        char text[30];
        http_format_date(text, when);
        if (http_parse_date(text) != when && failures++ < 3)
            note("  %s parsed as %lld", text, (long long)http_parse_date(text));
    }
    is_int(failures, 0, "format then parse is the identity, 1970 to 2103");

    char text[30];
    http_format_date(text, RFC_EXAMPLE);
    is_int(http_parse_date(text), RFC_EXAMPLE, "RFC example round trip");
}

static void test_invalid(void)
{
    static const char *const invalid[] = {
        "",
        "garbage",
        "Sun, 06 Nov 1994 08:49:37",          /* no GMT */
        "Sun, 06 Nov 1994 08:49:37 UTC",      /* only GMT */
        "Sun, 06 Nov 1994 08:49:37 GMT ",     /* trailing space */
        " Sun, 06 Nov 1994 08:49:37 GMT",     /* leading space */
        "Sun, 6 Nov 1994 08:49:37 GMT",       /* day needs two digits */
        "Sun, 06 nov 1994 08:49:37 GMT",      /* names are case-sensitive */
        "sun, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",        /* IMF needs four digits */
        "Sun, 32 Oct 1994 08:49:37 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT",
        "Thu, 29 Feb 2001 00:00:00 GMT",      /* not a leap year */
        "Mon, 29 Feb 2100 00:00:00 GMT",      /* not a leap year either */
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 06 Nov 1994 08-49-37 GMT",
        "Sun,  06 Nov 1994 08:49:37 GMT",
        "Sunday, 06 Nov 1994 08:49:37 GMT",   /* long name in IMF layout */
        "Sun, 06-Nov-94 08:49:37 GMT",        /* short name in rfc850 layout */
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Funday, 06-Nov-94 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37",
        "Sun Nov 6 08:49:37 1994",            /* asctime pads with a space */
        "Sun Nov  6 08:49:37 94",
        "Sun Nov  6 08:49:37 1994 GMT",
        "Sun Nov 06 08:49:37 1994x",
        "Sun, 06 Nov 1994 08:49:37 GMT; length=1234",
    };
    for (size_t i = 0; i < COUNT_OF(invalid); i++)
        is_int(http_parse_date(invalid[i]), -1, "invalid: '%s'", invalid[i]);
    is_int(http_parse_date(NULL), -1, "NULL is invalid");
}

static void *date_in_thread(void *argument)
{
    const char **result = argument;
    *result = http_current_date();
    return NULL;
}

static void test_current_date(void)
{
    const char *date = NULL;
    char expected[30];
    /* Retry if the second changes between the two calls. */
    for (int attempt = 0; attempt < 3; attempt++) {
        time_t before = time(NULL);
        date = http_current_date();
        http_format_date(expected, before);
        if (time(NULL) == before)
            break;
    }
    is_string(date, expected, "http_current_date is the current second");
    ok(http_current_date() == date || strcmp(http_current_date(), expected) != 0,
       "same buffer within a second");
    is_int(strlen(date), 29, "29 characters");
    ok(http_parse_date(date) != -1, "the Date value parses back");

    const char *other_thread_date = NULL;
    pthread_t thread;
    pthread_create(&thread, NULL, date_in_thread, &other_thread_date);
    pthread_join(thread, NULL);
    ok(other_thread_date != NULL && other_thread_date != date,
       "each thread has its own cache");
}

int main(void)
{
    setenv("TZ", "Pacific/Chatham", 1);   /* nothing may depend on the local zone */
    tzset();
    test_format();
    test_parse_forms();
    test_round_trips();
    test_invalid();
    test_current_date();
    return done_testing();
}
