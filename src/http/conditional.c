/*
 * conditional.c — entity tags and the evaluation of conditional requests
 * (see conditional.h).
 */
#include "conditional.h"

#include <string.h>

#include "response.h"

/* etagc (RFC 9110 8.8.3): VCHAR except DQUOTE, or obs-text. */
static bool is_etag_char(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x7e) || c >= 0x80;
}

/* Reads one entity-tag at text[*at..length).  On success *opaque is the
 * part between the quotes, *weak tells about W/, *at is past the closing
 * quote.  False if no well-formed tag starts there. */
static bool read_etag(const char *text, size_t length, size_t *at, slice *opaque, bool *weak)
{
    size_t i = *at;
    *weak = false;
    if (i + 1 < length && text[i] == 'W' && text[i + 1] == '/') {
        *weak = true;
        i += 2;
    }
    if (i >= length || text[i] != '"')
        return false;
    size_t start = ++i;
    while (i < length && text[i] != '"') {
        if (!is_etag_char((unsigned char)text[i]))
            return false;
        i++;
    }
    if (i >= length)
        return false;
    *opaque = (slice){ text + start, i - start };
    *at = i + 1;
    return true;
}

/* One whole entity-tag, nothing before or after. */
static bool parse_single_etag(slice text, slice *opaque, bool *weak)
{
    if (!text.data)
        return false;
    size_t at = 0;
    return read_etag(text.data, text.length, &at, opaque, weak) && at == text.length;
}

bool http_etag_strong_equal(slice a, slice b)
{
    slice opaque_a, opaque_b;
    bool weak_a, weak_b;
    return parse_single_etag(a, &opaque_a, &weak_a) && parse_single_etag(b, &opaque_b, &weak_b) &&
           !weak_a && !weak_b && slice_equal(opaque_a, opaque_b);
}

bool http_etag_weak_equal(slice a, slice b)
{
    slice opaque_a, opaque_b;
    bool weak_a, weak_b;
    return parse_single_etag(a, &opaque_a, &weak_a) && parse_single_etag(b, &opaque_b, &weak_b) &&
           slice_equal(opaque_a, opaque_b);
}

/* current == NULL: the representation has no entity tag, so only "*"
 * can match it. */
static bool list_matches(slice list, const slice *current, bool weak_comparison)
{
    const char *text = list.data;
    size_t length = list.length;
    size_t at = 0;
    for (;;) {
        while (at < length && (text[at] == ' ' || text[at] == '\t' || text[at] == ','))
            at++;
        if (at >= length)
            return false;
        if (text[at] == '*') {
            /* "any current representation": ours exists */
            size_t after = at + 1;
            while (after < length && (text[after] == ' ' || text[after] == '\t'))
                after++;
            if (after == length || text[after] == ',')
                return true;
        }
        slice opaque;
        bool weak;
        if (read_etag(text, length, &at, &opaque, &weak)) {
            if (current && (weak_comparison || !weak) && slice_equal(opaque, *current))
                return true;
            continue;
        }
        /* A malformed member: skip it, but never resynchronise inside a
         * quoted string, where a comma is an ordinary character. */
        while (at < length && text[at] != ',') {
            if (text[at] == '"') {
                const char *close = memchr(text + at + 1, '"', length - at - 1);
                if (!close)
                    return false;
                at = (size_t)(close - text);
            }
            at++;
        }
    }
}

bool http_etag_list_matches(slice list, slice etag, bool weak_comparison)
{
    slice current;
    bool current_weak;
    if (!list.data || !parse_single_etag(etag, &current, &current_weak))
        return false;
    /* A weak tag never matches strongly, whatever the list says, except
     * through "*". */
    return list_matches(list, weak_comparison || !current_weak ? &current : NULL, weak_comparison);
}

time_t http_parse_date_slice(slice text)
{
    /* The longest valid form (RFC 850 with "Wednesday") has 33 bytes. */
    char copy[40];
    if (!text.data || text.length == 0 || text.length >= sizeof(copy))
        return -1;
    memcpy(copy, text.data, text.length);
    copy[text.length] = '\0';
    return http_parse_date(copy);
}

static bool etag_list_holds(slice list, const char *etag, bool weak_comparison)
{
    if (!etag)
        return list_matches(list, NULL, weak_comparison);
    return http_etag_list_matches(list, slice_from_string(etag), weak_comparison);
}

int http_evaluate_preconditions(const http_conditionals *fields, http_method method,
                                const char *etag, time_t last_modified, time_t now)
{
    bool get_or_head = method == HTTP_METHOD_GET || method == HTTP_METHOD_HEAD;

    /* 1. If-Match, strong comparison; 2. otherwise If-Unmodified-Since. */
    if (fields->if_match.data) {
        if (!etag_list_holds(fields->if_match, etag, false))
            return 412;
    } else if (fields->if_unmodified_since.data) {
        time_t date = http_parse_date_slice(fields->if_unmodified_since);
        if (date != -1 && (last_modified == -1 || last_modified > date))
            return 412;
    }

    /* 3. If-None-Match, weak comparison; 4. otherwise If-Modified-Since,
     * which only GET and HEAD look at. */
    if (fields->if_none_match.data) {
        if (etag_list_holds(fields->if_none_match, etag, true))
            return get_or_head ? 304 : 412;
    } else if (get_or_head && fields->if_modified_since.data && last_modified != -1) {
        time_t date = http_parse_date_slice(fields->if_modified_since);
        /* A date in the future cannot be a Last-Modified we sent: ignored,
         * as in Apache, so a client with a fast clock never gets a stale 304. */
        if (date != -1 && date <= now && last_modified <= date)
            return 304;
    }
    return 0;
}

bool http_if_range_holds(slice if_range, const char *etag, time_t last_modified, time_t now)
{
    if (!if_range.data)
        return true;
    if (if_range.length > 0 && (if_range.data[0] == '"' || if_range.data[0] == 'W'))
        return etag && http_etag_strong_equal(if_range, slice_from_string(etag));
    time_t date = http_parse_date_slice(if_range);
    /* A Last-Modified is only a strong validator when the file has not
     * changed in the second it was read (RFC 9110 8.8.2.2). */
    return date != -1 && last_modified != -1 && date == last_modified && last_modified < now;
}
