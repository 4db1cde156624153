/*
 * tap.h — a minimal Test Anything Protocol harness for the C unit tests.
 * Each test program #includes the .c files under test, calls ok()/is_int()/
 * is_string() and ends with `return done_testing();`, which prints the plan.
 */
#ifndef WEFT_TAP_H
#define WEFT_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_count;
static int tap_failed;

__attribute__((format(printf, 2, 3)))
static int ok(int condition, const char *format, ...)
{
    va_list args;
    tap_count++;
    if (!condition)
        tap_failed++;
    printf("%sok %d - ", condition ? "" : "not ", tap_count);
    va_start(args, format);
    vprintf(format, args);
    va_end(args);
    printf("\n");
    fflush(stdout);
    return condition;
}

__attribute__((format(printf, 1, 2)))
static void note(const char *format, ...)
{
    va_list args;
    printf("# ");
    va_start(args, format);
    vprintf(format, args);
    va_end(args);
    printf("\n");
}

#define is_int(got, expected, ...)                                                   \
    do {                                                                             \
        long long tap_got_ = (long long)(got), tap_expected_ = (long long)(expected); \
        if (!ok(tap_got_ == tap_expected_, __VA_ARGS__))                              \
            note("  got %lld, expected %lld", tap_got_, tap_expected_);              \
    } while (0)

#define is_string(got, expected, ...)                                                    \
    do {                                                                                 \
        const char *tap_got_ = (got), *tap_expected_ = (expected);                       \
        int tap_same_ = (tap_got_ && tap_expected_) ? strcmp(tap_got_, tap_expected_) == 0 \
                                                    : tap_got_ == tap_expected_;        \
        if (!ok(tap_same_, __VA_ARGS__))                                                 \
            note("  got \"%s\", expected \"%s\"", tap_got_ ? tap_got_ : "(null)",        \
                 tap_expected_ ? tap_expected_ : "(null)");                              \
    } while (0)

static int done_testing(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}

#endif
