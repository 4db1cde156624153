/*
 * range.c — Range parsing and coalescing, multipart/byteranges bodies
 * (see range.h).
 */
#include "range.h"

#include <string.h>
#include <strings.h>

typedef struct {
    const char *text;
    size_t length;
    size_t at;
} range_cursor;

static bool at_digit(const range_cursor *cursor)
{
    return cursor->at < cursor->length && cursor->text[cursor->at] >= '0' &&
           cursor->text[cursor->at] <= '9';
}

/* 1*DIGIT, saturating at INT64_MAX.  False if there is no digit. */
static bool read_number(range_cursor *cursor, int64_t *value)
{
    if (!at_digit(cursor))
        return false;
    int64_t number = 0;
    while (at_digit(cursor)) {
        int digit = cursor->text[cursor->at++] - '0';
        number = number > (INT64_MAX - digit) / 10 ? INT64_MAX : number * 10 + digit;
    }
    *value = number;
    return true;
}

static void skip_whitespace(range_cursor *cursor)
{
    while (cursor->at < cursor->length &&
           (cursor->text[cursor->at] == ' ' || cursor->text[cursor->at] == '\t'))
        cursor->at++;
}

/* One range-spec.  *satisfiable false: valid but outside the representation.
 * False on bad syntax. */
static bool read_range_spec(range_cursor *cursor, int64_t length, http_byte_range *range,
                            bool *satisfiable)
{
    int64_t first, last;
    if (cursor->at < cursor->length && cursor->text[cursor->at] == '-') {
        cursor->at++;
        int64_t suffix;
        if (!read_number(cursor, &suffix))
            return false;
        *satisfiable = suffix > 0;
        range->first = suffix >= length ? 0 : length - suffix;
        range->last = length - 1;
        return true;
    }
    if (!read_number(cursor, &first))
        return false;
    if (cursor->at >= cursor->length || cursor->text[cursor->at] != '-')
        return false;
    cursor->at++;
    if (at_digit(cursor)) {
        if (!read_number(cursor, &last) || last < first)
            return false;
    } else {
        last = INT64_MAX;
    }
    *satisfiable = first < length;
    range->first = first;
    range->last = last >= length ? length - 1 : last;
    return true;
}

http_range_result http_range_parse(slice value, int64_t length, const http_range_limits *limits,
                                   pool *p, http_byte_range **ranges, int *count)
{
    *ranges = NULL;
    *count = 0;
    /* Lengths beyond 2^60 (no real file) are served whole: the sums below
     * (ranges, multipart part heads) then cannot overflow int64_t. */
    if (!value.data || length <= 0 || length > ((int64_t)1 << 60) || limits->max_ranges == 0)
        return RANGE_IGNORE;
    if (value.length < 6 || strncasecmp(value.data, "bytes=", 6) != 0)
        return RANGE_IGNORE;
    /* A list may have whitespace around its commas, not before its first
     * element (RFC 9110 5.6.1); Apache refuses "bytes= 0-1" too. */
    if (value.length > 6 && (value.data[6] == ' ' || value.data[6] == '\t'))
        return RANGE_IGNORE;

    /* Validate everything first: one bad range-spec voids the field, so no
     * memory is spent on a field that will be ignored. */
    range_cursor cursor = { value.data, value.length, 6 };
    size_t specs = 0, satisfiable_specs = 0;
    for (;;) {
        skip_whitespace(&cursor);
        if (cursor.at < cursor.length && cursor.text[cursor.at] == ',') {
            cursor.at++;
            continue;   /* empty list element */
        }
        if (cursor.at >= cursor.length)
            break;
        http_byte_range range;
        bool satisfiable;
        if (!read_range_spec(&cursor, length, &range, &satisfiable))
            return RANGE_IGNORE;
        specs++;
        satisfiable_specs += satisfiable;
        skip_whitespace(&cursor);
        if (cursor.at < cursor.length && cursor.text[cursor.at] != ',')
            return RANGE_IGNORE;
    }
    if (specs == 0)
        return RANGE_IGNORE;
    if (satisfiable_specs == 0)
        return RANGE_UNSATISFIABLE;

    /* Coalesce, Apache's way: each satisfiable range either joins the run
     * being built (overlapping or adjacent) or closes it. */
    http_byte_range *merged = pool_alloc(p, sizeof(*merged) * satisfiable_specs);
    int merged_count = 0;
    int overlaps = 0, reversals = 0;
    int64_t total = 0;
    bool in_run = false;
    http_byte_range run = { 0, 0 };
    cursor.at = 6;
    while (cursor.at < cursor.length) {
        skip_whitespace(&cursor);
        if (cursor.at < cursor.length && cursor.text[cursor.at] == ',') {
            cursor.at++;
            continue;
        }
        if (cursor.at >= cursor.length)
            break;
        http_byte_range range;
        bool satisfiable;
        read_range_spec(&cursor, length, &range, &satisfiable);
        if (!satisfiable)
            continue;
        if (!in_run) {
            run = range;
            in_run = true;
            continue;
        }
        bool joins = range.first >= run.first && range.last <= run.last;
        if (range.first < run.first && range.last >= run.first - 1) {
            run.first = range.first;
            reversals++;
            joins = true;
        }
        if (range.last >= run.last && range.first <= run.last + 1) {
            run.last = range.last;
            joins = true;
        }
        if (joins) {
            overlaps++;
            continue;
        }
        merged[merged_count++] = run;
        if (total <= length)  /* saturates just above length: cannot overflow */
            total += run.last - run.first + 1;
        run = range;
    }
    merged[merged_count++] = run;
    if (total <= length)
        total += run.last - run.first + 1;

    if ((limits->max_ranges != RANGE_UNLIMITED && merged_count > limits->max_ranges) ||
        (limits->max_overlaps != RANGE_UNLIMITED && overlaps > limits->max_overlaps) ||
        (limits->max_reversals != RANGE_UNLIMITED && reversals > limits->max_reversals) ||
        total > length)
        return RANGE_IGNORE;
    *ranges = merged;
    *count = merged_count;
    return RANGE_PARTIAL;
}

size_t http_content_range(char *out, const http_byte_range *range, int64_t length)
{
    size_t at = 0;
    memcpy(out, "bytes ", 6);
    at += 6;
    at += format_unsigned(out + at, (uint64_t)range->first);
    out[at++] = '-';
    at += format_unsigned(out + at, (uint64_t)range->last);
    out[at++] = '/';
    at += format_unsigned(out + at, (uint64_t)length);
    out[at] = '\0';
    return at;
}

int http_range_multipart(pool *p, const http_byte_range *ranges, int count, int64_t length,
                         const char *content_type, const char *boundary, body_piece **pieces,
                         int64_t *total)
{
    /* Each range is a memory part head plus a file range; the "\r\n" that
     * ends a part's data goes at the front of the next memory piece. */
    body_piece *out = pool_alloc(p, sizeof(*out) * (size_t)(2 * count + 1));
    size_t boundary_length = strlen(boundary);
    size_t type_length = content_type ? strlen(content_type) : 0;
    int64_t sum = 0;
    int n = 0;
    for (int i = 0; i < count; i++) {
        size_t room = 2 + 2 + boundary_length + 2 + (content_type ? 14 + type_length + 2 : 0) +
                      15 + 72 + 4 + 1;
        char *head = pool_alloc(p, room);
        size_t at = 0;
        if (i > 0) {
            memcpy(head + at, "\r\n", 2);
            at += 2;
        }
        memcpy(head + at, "--", 2);
        at += 2;
        memcpy(head + at, boundary, boundary_length);
        at += boundary_length;
        memcpy(head + at, "\r\n", 2);
        at += 2;
        if (content_type) {
            memcpy(head + at, "Content-Type: ", 14);
            at += 14;
            memcpy(head + at, content_type, type_length);
            at += type_length;
            memcpy(head + at, "\r\n", 2);
            at += 2;
        }
        memcpy(head + at, "Content-Range: ", 15);
        at += 15;
        at += http_content_range(head + at, &ranges[i], length);
        memcpy(head + at, "\r\n\r\n", 4);
        at += 4;
        out[n++] = (body_piece){ .data = head, .length = at };
        out[n++] = (body_piece){ .data = NULL, .offset = (off_t)ranges[i].first,
                                 .length = (size_t)(ranges[i].last - ranges[i].first + 1) };
        sum += (int64_t)at + (ranges[i].last - ranges[i].first + 1);
    }
    char *tail = pool_alloc(p, 2 + 2 + boundary_length + 4 + 1);
    size_t at = 0;
    memcpy(tail + at, "\r\n--", 4);
    at += 4;
    memcpy(tail + at, boundary, boundary_length);
    at += boundary_length;
    memcpy(tail + at, "--\r\n", 4);
    at += 4;
    out[n++] = (body_piece){ .data = tail, .length = at };
    sum += (int64_t)at;
    *pieces = out;
    *total = sum;
    return n;
}
