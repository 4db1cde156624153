/*
 * pool.h — region allocator for memory whose lifetime is a connection, a
 * request or a configuration generation.
 *
 * Contract:
 *  - Allocations are never freed one by one; pool_reset() or pool_destroy()
 *    releases everything at once and runs the registered cleanups in reverse
 *    order of registration.
 *  - Allocation never fails: out of memory aborts (see xmalloc).
 *  - A pool is used by one thread at a time; it has no lock.
 *  - pool_reset() keeps the first block so that a recycled pool allocates
 *    nothing from malloc on the next request of the same size.
 */
#ifndef WEFT_POOL_H
#define WEFT_POOL_H

#include <stdarg.h>
#include "common.h"

typedef struct pool pool;

pool *pool_create(size_t block_size);
void pool_destroy(pool *p);
void pool_reset(pool *p);

void *pool_alloc(pool *p, size_t size);    /* aligned for any type */
void *pool_calloc(pool *p, size_t size);
char *pool_strdup(pool *p, const char *string);
char *pool_strndup(pool *p, const char *string, size_t length);
char *pool_printf(pool *p, const char *format, ...) PRINTF_LIKE(2, 3);
char *pool_vprintf(pool *p, const char *format, va_list args);

/* Runs cleanup(data) when the pool is reset or destroyed. */
void pool_cleanup_add(pool *p, void (*cleanup)(void *data), void *data);

/* Bytes currently held from malloc (for tests and the status page). */
size_t pool_footprint(const pool *p);

#endif
