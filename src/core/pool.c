/*
 * pool.c — bump allocator over a chain of blocks.  Large requests get a block
 * of their own so that one big allocation does not waste a whole block's tail.
 */
#include "pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>

#define POOL_ALIGN 16

typedef struct pool_block {
    struct pool_block *next;
    size_t size;  /* usable bytes after the header */
    size_t used;
    max_align_t data[];
} pool_block;

typedef struct pool_cleanup {
    struct pool_cleanup *next;
    void (*run)(void *data);
    void *data;
} pool_cleanup;

struct pool {
    pool_block *first;    /* kept across pool_reset */
    pool_block *current;  /* where bump allocation happens */
    pool_cleanup *cleanups;
    size_t block_size;
    size_t footprint;
};

void *xmalloc(size_t size)
{
    void *pointer = malloc(size ? size : 1);
    if (UNLIKELY(!pointer)) {
        fprintf(stderr, "weft: out of memory (%zu bytes)\n", size);
        abort();
    }
    return pointer;
}

void *xcalloc(size_t count, size_t size)
{
    void *pointer = calloc(count ? count : 1, size ? size : 1);
    if (UNLIKELY(!pointer)) {
        fprintf(stderr, "weft: out of memory (%zu x %zu bytes)\n", count, size);
        abort();
    }
    return pointer;
}

void *xcalloc_untouched(size_t count, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(count ? count : 1, size ? size : 1, &bytes)) {
        fprintf(stderr, "weft: out of memory (%zu x %zu bytes)\n", count, size);
        abort();
    }
    void *pointer = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (UNLIKELY(pointer == MAP_FAILED)) {
        fprintf(stderr, "weft: out of memory (%zu x %zu bytes)\n", count, size);
        abort();
    }
    return pointer;
}

void free_untouched(void *pointer, size_t count, size_t size)
{
    if (pointer)
        munmap(pointer, (count ? count : 1) * (size ? size : 1));
}

void *xrealloc(void *pointer, size_t size)
{
    void *result = realloc(pointer, size ? size : 1);
    if (UNLIKELY(!result)) {
        fprintf(stderr, "weft: out of memory (%zu bytes)\n", size);
        abort();
    }
    return result;
}

char *xstrdup(const char *string)
{
    return xstrndup(string, strlen(string));
}

char *xstrndup(const char *string, size_t length)
{
    char *copy = xmalloc(length + 1);
    memcpy(copy, string, length);
    copy[length] = '\0';
    return copy;
}

static pool_block *block_new(size_t size)
{
    pool_block *block = xmalloc(sizeof(pool_block) + size);
    block->next = NULL;
    block->size = size;
    block->used = 0;
    return block;
}

pool *pool_create(size_t block_size)
{
    if (block_size < 256)
        block_size = 256;
    pool *p = xmalloc(sizeof(*p));
    p->block_size = block_size;
    p->first = p->current = block_new(block_size);
    p->cleanups = NULL;
    p->footprint = sizeof(pool_block) + block_size;
    return p;
}

static void run_cleanups(pool *p)
{
    while (p->cleanups) {
        pool_cleanup *cleanup = p->cleanups;
        p->cleanups = cleanup->next;
        cleanup->run(cleanup->data);
    }
}

void pool_reset(pool *p)
{
    run_cleanups(p);
    pool_block *block = p->first->next;
    while (block) {
        pool_block *next = block->next;
        free(block);
        block = next;
    }
    p->first->next = NULL;
    p->first->used = 0;
    p->current = p->first;
    p->footprint = sizeof(pool_block) + p->first->size;
}

void pool_destroy(pool *p)
{
    if (!p)
        return;
    pool_reset(p);
    free(p->first);
    free(p);
}

void *pool_alloc(pool *p, size_t size)
{
    size = (size + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);
    pool_block *block = p->current;
    if (LIKELY(block->size - block->used >= size)) {
        void *pointer = (char *)block->data + block->used;
        block->used += size;
        return pointer;
    }
    if (size > p->block_size / 4) {
        /* A dedicated block, linked after the current one, keeps the
         * current block's free tail usable for later small allocations. */
        pool_block *large = block_new(size);
        large->used = size;
        large->next = block->next;
        block->next = large;
        p->footprint += sizeof(pool_block) + size;
        return large->data;
    }
    pool_block *fresh = block_new(p->block_size);
    fresh->next = block->next;
    block->next = fresh;
    p->current = fresh;
    p->footprint += sizeof(pool_block) + p->block_size;
    fresh->used = size;
    return fresh->data;
}

void *pool_calloc(pool *p, size_t size)
{
    void *pointer = pool_alloc(p, size);
    memset(pointer, 0, size);
    return pointer;
}

char *pool_strndup(pool *p, const char *string, size_t length)
{
    char *copy = pool_alloc(p, length + 1);
    memcpy(copy, string, length);
    copy[length] = '\0';
    return copy;
}

char *pool_strdup(pool *p, const char *string)
{
    return string ? pool_strndup(p, string, strlen(string)) : NULL;
}

char *pool_vprintf(pool *p, const char *format, va_list args)
{
    va_list copy;
    va_copy(copy, args);
    int length = vsnprintf(NULL, 0, format, copy);
    va_end(copy);
    if (length < 0)
        return pool_strdup(p, "");
    char *result = pool_alloc(p, (size_t)length + 1);
    vsnprintf(result, (size_t)length + 1, format, args);
    return result;
}

char *pool_printf(pool *p, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    char *result = pool_vprintf(p, format, args);
    va_end(args);
    return result;
}

void pool_cleanup_add(pool *p, void (*cleanup)(void *data), void *data)
{
    pool_cleanup *entry = pool_alloc(p, sizeof(*entry));
    entry->run = cleanup;
    entry->data = data;
    entry->next = p->cleanups;
    p->cleanups = entry;
}

size_t pool_footprint(const pool *p)
{
    return p->footprint;
}
