#include "buffer.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

void buffer_init(buffer *b, size_t capacity)
{
    b->capacity = capacity ? capacity : 64;
    b->data = xmalloc(b->capacity + 1);
    b->length = 0;
    b->data[0] = '\0';
}

void buffer_free(buffer *b)
{
    free(b->data);
    b->data = NULL;
    b->length = b->capacity = 0;
}

void buffer_reserve(buffer *b, size_t additional)
{
    if (!b->data)
        buffer_init(b, additional > 64 ? additional : 64);
    if (b->capacity - b->length >= additional)
        return;
    size_t wanted = b->length + additional;
    size_t capacity = b->capacity * 2;
    if (capacity < wanted)
        capacity = wanted;
    b->data = xrealloc(b->data, capacity + 1);
    b->capacity = capacity;
}

void buffer_append(buffer *b, const void *data, size_t length)
{
    buffer_reserve(b, length);
    memcpy(b->data + b->length, data, length);
    b->length += length;
    b->data[b->length] = '\0';
}

void buffer_append_string(buffer *b, const char *string)
{
    buffer_append(b, string, strlen(string));
}

void buffer_append_char(buffer *b, char c)
{
    buffer_reserve(b, 1);
    b->data[b->length++] = c;
    b->data[b->length] = '\0';
}

size_t format_unsigned(char *out, uint64_t value)
{
    char digits[21];
    size_t count = 0;
    do {
        digits[count++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    for (size_t i = 0; i < count; i++)
        out[i] = digits[count - 1 - i];
    out[count] = '\0';
    return count;
}

void buffer_append_unsigned(buffer *b, uint64_t value)
{
    buffer_reserve(b, 21);
    b->length += format_unsigned(b->data + b->length, value);
}

void buffer_printf(buffer *b, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    va_list copy;
    va_copy(copy, args);
    int length = vsnprintf(NULL, 0, format, copy);
    va_end(copy);
    if (length > 0) {
        buffer_reserve(b, (size_t)length);
        vsnprintf(b->data + b->length, (size_t)length + 1, format, args);
        b->length += (size_t)length;
    }
    va_end(args);
}

void buffer_clear(buffer *b)
{
    b->length = 0;
    if (b->data)
        b->data[0] = '\0';
}

void buffer_consume(buffer *b, size_t count)
{
    if (count >= b->length) {
        buffer_clear(b);
        return;
    }
    memmove(b->data, b->data + count, b->length - count);
    b->length -= count;
    b->data[b->length] = '\0';
}

bool slice_equal(slice a, slice b)
{
    return a.length == b.length && memcmp(a.data, b.data, a.length) == 0;
}

bool slice_equal_nocase(slice a, slice b)
{
    return a.length == b.length && strncasecmp(a.data, b.data, a.length) == 0;
}

bool slice_equal_string_nocase(slice a, const char *string)
{
    return slice_equal_nocase(a, slice_from_string(string));
}

slice slice_trim(slice s)
{
    while (s.length && (s.data[0] == ' ' || s.data[0] == '\t')) {
        s.data++;
        s.length--;
    }
    while (s.length && (s.data[s.length - 1] == ' ' || s.data[s.length - 1] == '\t'))
        s.length--;
    return s;
}

bool slice_list_contains_token(slice list, const char *token)
{
    slice wanted = slice_from_string(token);
    size_t start = 0;
    for (size_t i = 0; i <= list.length; i++) {
        if (i == list.length || list.data[i] == ',') {
            slice item = slice_trim((slice){ list.data + start, i - start });
            if (slice_equal_nocase(item, wanted))
                return true;
            start = i + 1;
        }
    }
    return false;
}
