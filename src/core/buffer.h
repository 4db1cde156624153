/*
 * buffer.h — a growable byte buffer (heap-backed) and string slices.
 *
 * Contract: buffer functions never fail (growth aborts on out of memory, as
 * xmalloc).  data is always NUL-terminated one byte past length so a buffer
 * can be handed to C string functions, but the content may contain NULs.
 */
#ifndef WEFT_BUFFER_H
#define WEFT_BUFFER_H

#include <stdarg.h>
#include <string.h>
#include "common.h"

typedef struct {
    char *data;
    size_t length;
    size_t capacity;
} buffer;

/* A view of bytes owned by someone else. */
typedef struct {
    const char *data;
    size_t length;
} slice;

#define SLICE_LITERAL(text) ((slice){ (text), sizeof(text) - 1 })

void buffer_init(buffer *b, size_t capacity);
void buffer_free(buffer *b);
void buffer_reserve(buffer *b, size_t additional);  /* room for additional more bytes */
void buffer_append(buffer *b, const void *data, size_t length);
void buffer_append_string(buffer *b, const char *string);
void buffer_append_char(buffer *b, char c);
void buffer_append_unsigned(buffer *b, uint64_t value);
void buffer_printf(buffer *b, const char *format, ...) PRINTF_LIKE(2, 3);
void buffer_clear(buffer *b);
/* Drop the first count bytes, moving the rest to the front. */
void buffer_consume(buffer *b, size_t count);

static inline slice slice_from_string(const char *string)
{
    return (slice){ string, strlen(string) };
}

bool slice_equal(slice a, slice b);
bool slice_equal_nocase(slice a, slice b);
bool slice_equal_string_nocase(slice a, const char *string);
/* Does the comma-separated list (a field value) contain token, case-insensitively? */
bool slice_list_contains_token(slice list, const char *token);
slice slice_trim(slice s);   /* strip spaces and tabs at both ends */

/* Formats value as decimal into out (at least 21 bytes); returns the length. */
size_t format_unsigned(char *out, uint64_t value);

#endif
