/*
 * common.h — the vocabulary every weft layer shares.
 *
 * Return values: every function that can fail, block or pass returns one of
 * the five codes below (or a count >= 0 where it says so).  Nothing else.
 *   WEFT_OK        done, result is valid
 *   WEFT_ERROR     failed; the caller reports or closes, details are in the object
 *   WEFT_AGAIN     not finished: more input is needed or the operation would block
 *   WEFT_DECLINED  "not mine": try the next handler / use the default
 *   WEFT_DONE      finished early and completely (e.g. a response was already sent)
 */
#ifndef WEFT_COMMON_H
#define WEFT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define WEFT_NAME "weft"
#define WEFT_VERSION "0.1.0"
#define WEFT_VERSION_MAJOR 0
#define WEFT_VERSION_MINOR 1
#define WEFT_VERSION_PATCH 0

enum {
    WEFT_OK = 0,
    WEFT_ERROR = -1,
    WEFT_AGAIN = -2,
    WEFT_DECLINED = -3,
    WEFT_DONE = -4,
};

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define COLD __attribute__((cold, noinline))
#define PRINTF_LIKE(fmt, first) __attribute__((format(printf, fmt, first)))

/* Allocation that cannot fail: out of memory aborts with a message.  For
 * long-lived objects; request-scoped memory comes from a pool (pool.h). */
void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *pointer, size_t size);
char *xstrdup(const char *string);
/* Zeroed memory that costs nothing until it is touched, for tables sized for
 * the most a child may ever hold (connection slots, the dispatch queue).
 * calloc gives that only above malloc's mmap threshold, which glibc raises
 * as large blocks are freed; below it, calloc reuses freed heap and writes
 * zeros over it: in a child forked from the control process, every such
 * page becomes a private copy.  A private anonymous mapping, always.  Free
 * with the same size. */
void *xcalloc_untouched(size_t count, size_t size);
void free_untouched(void *pointer, size_t count, size_t size);
char *xstrndup(const char *string, size_t length);

/* CLOCK_MONOTONIC in milliseconds: every deadline and interval in weft is
 * measured with it (vDSO: no system call). */
static inline int64_t monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* CLOCK_REALTIME in milliseconds since the epoch: only for times shown to
 * people (the scoreboard's start and last-use times); never for intervals,
 * since the wall clock can be set back. */
static inline int64_t realtime_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

#endif
