/*
 * uri.c — request-target parsing, path decoding and normalisation, escaping.
 *
 * The path is decoded before dot segments are removed, so "%2e%2e" counts as
 * ".." (as in Apache and nginx): the file system sees the decoded name, so
 * the check has to be made on the decoded name too.
 */
#include "uri.h"

#include <string.h>
#include <strings.h>

static const char hex_digits_upper[] = "0123456789ABCDEF";

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Bytes that can never appear in a request-target.  The parser should have
 * refused them already; checking again keeps this function safe on its own.
 * '#' starts a fragment, which a client must not send (RFC 9112 3.2). */
static bool target_byte_forbidden(unsigned char c)
{
    return c <= 0x20 || c == 0x7f || c == '#';
}

static bool is_unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_sub_delimiter(unsigned char c)
{
    return c != '\0' && strchr("!$&'()*+,;=", c) != NULL;
}

static int fail(int *error_status, int status)
{
    *error_status = status;
    return WEFT_ERROR;
}

int uri_normalize_path(pool *p, const char *raw, size_t length, char **path, int *error_status)
{
    if (length == 0 || raw[0] != '/')
        return fail(error_status, 400);

    /* Decoding never makes a path longer, so one buffer of the raw length is
     * enough for the result. */
    char *out = pool_alloc(p, length + 1);
    size_t out_length = 0;
    bool encoded_slash = false;
    size_t i = 0;

    out[out_length++] = '/';
    while (i < length) {
        /* Merging repeated slashes: skip all of them; out already ends in one. */
        while (i < length && raw[i] == '/')
            i++;
        if (i == length)
            break;

        size_t segment_start = out_length;
        while (i < length && raw[i] != '/') {
            unsigned char c = (unsigned char)raw[i];
            if (target_byte_forbidden(c))
                return fail(error_status, 400);
            if (c != '%') {
                out[out_length++] = (char)c;
                i++;
                continue;
            }
            if (length - i < 3)
                return fail(error_status, 400);
            int high = hex_value((unsigned char)raw[i + 1]);
            int low = hex_value((unsigned char)raw[i + 2]);
            if (high < 0 || low < 0)
                return fail(error_status, 400);
            unsigned char decoded = (unsigned char)(high << 4 | low);
            /* A NUL would cut the file name short behind our back. */
            if (decoded == '\0')
                return fail(error_status, 400);
            /* Remembered, not returned at once, so that a later 400 wins. */
            if (decoded == '/')
                encoded_slash = true;
            out[out_length++] = (char)decoded;
            i += 3;
        }

        size_t segment_length = out_length - segment_start;
        const char *segment = out + segment_start;
        bool is_last = i == length;
        if (segment_length == 1 && segment[0] == '.') {
            out_length = segment_start;
        } else if (segment_length == 2 && segment[0] == '.' && segment[1] == '.') {
            /* RFC 3986 would silently stop at the root; a client that tries
             * to climb above it is probing, and Apache answers 400 too. */
            if (segment_start == 1)
                return fail(error_status, 400);
            out_length = segment_start - 1;
            while (out[out_length - 1] != '/')
                out_length--;
        } else if (!is_last) {
            out[out_length++] = '/';
        }
    }
    out[out_length] = '\0';

    if (encoded_slash)
        return fail(error_status, 404);
    *path = out;
    return WEFT_OK;
}

static bool port_valid(const char *port, size_t length)
{
    /* RFC 3986 allows an empty port ("host:"), meaning the default. */
    if (length > 5)
        return false;
    unsigned value = 0;
    for (size_t i = 0; i < length; i++) {
        if (port[i] < '0' || port[i] > '9')
            return false;
        value = value * 10 + (unsigned)(port[i] - '0');
    }
    return value <= 65535;
}

/* host [ ":" port ] where host is an IP-literal or a reg-name (which also
 * covers IPv4 addresses).  Userinfo is refused: RFC 9110 4.2.4 says to treat
 * it as an error, since it is a classic phishing device. */
static bool authority_valid(const char *authority, size_t length)
{
    size_t host_end;
    if (length == 0)
        return false;
    if (authority[0] == '[') {
        const char *close = memchr(authority, ']', length);
        if (!close || close == authority + 1)
            return false;
        for (const char *c = authority + 1; c < close; c++) {
            if (hex_value((unsigned char)*c) < 0 && *c != ':' && *c != '.')
                return false;
        }
        host_end = (size_t)(close - authority) + 1;
    } else {
        host_end = 0;
        while (host_end < length && authority[host_end] != ':') {
            unsigned char c = (unsigned char)authority[host_end];
            if (!is_unreserved(c) && !is_sub_delimiter(c) && c != '%')
                return false;
            host_end++;
        }
        /* RFC 9110 4.2.1: an http URI with an empty host must be rejected. */
        if (host_end == 0)
            return false;
    }
    if (host_end == length)
        return true;
    if (authority[host_end] != ':')
        return false;
    return port_valid(authority + host_end + 1, length - host_end - 1);
}

/* Returns the length of "http://" or "https://" (any case) at the start of
 * target, or 0. */
static size_t scheme_prefix_length(const char *target, size_t length)
{
    if (length >= 7 && strncasecmp(target, "http://", 7) == 0)
        return 7;
    if (length >= 8 && strncasecmp(target, "https://", 8) == 0)
        return 8;
    return 0;
}

int uri_parse_target(pool *p, const char *target, size_t length, http_method method,
                     char **path, char **query, char **absolute_host, int *error_status)
{
    if (length == 0)
        return fail(error_status, 400);
    for (size_t i = 0; i < length; i++) {
        if (target_byte_forbidden((unsigned char)target[i]))
            return fail(error_status, 400);
    }

    if (length == 1 && target[0] == '*') {
        if (method != HTTP_METHOD_OPTIONS)
            return fail(error_status, 400);
        *path = pool_strdup(p, "*");
        *query = NULL;
        *absolute_host = NULL;
        return WEFT_OK;
    }

    const char *path_start;
    const char *host_text = NULL;
    size_t host_length = 0;
    const char *end = target + length;

    if (target[0] == '/') {
        path_start = target;
    } else {
        size_t prefix = scheme_prefix_length(target, length);
        if (prefix == 0)
            return fail(error_status, 400);
        host_text = target + prefix;
        const char *host_end = host_text;
        while (host_end < end && *host_end != '/' && *host_end != '?')
            host_end++;
        host_length = (size_t)(host_end - host_text);
        if (!authority_valid(host_text, host_length))
            return fail(error_status, 400);
        path_start = host_end;
    }

    const char *question = memchr(path_start, '?', (size_t)(end - path_start));
    const char *path_end = question ? question : end;
    char *decoded_path;
    if (path_end == path_start) {
        /* Only the absolute-form can get here: "http://host" or "http://host?q". */
        decoded_path = pool_strdup(p, "/");
    } else if (uri_normalize_path(p, path_start, (size_t)(path_end - path_start), &decoded_path,
                                  error_status) != WEFT_OK) {
        return WEFT_ERROR;
    }

    *path = decoded_path;
    *query = question ? pool_strndup(p, question + 1, (size_t)(end - question - 1)) : NULL;
    *absolute_host = host_text ? pool_strndup(p, host_text, host_length) : NULL;
    return WEFT_OK;
}

/* pchar (RFC 3986 3.3) without pct-encoded, plus the '/' between segments. */
static bool path_byte_plain(unsigned char c)
{
    return is_unreserved(c) || is_sub_delimiter(c) || c == ':' || c == '@' || c == '/';
}

char *uri_escape_path(pool *p, const char *path)
{
    size_t needed = 0;
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        needed += path_byte_plain(*c) ? 1 : 3;
    }
    char *out = pool_alloc(p, needed + 1);
    char *write = out;
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if (path_byte_plain(*c)) {
            *write++ = (char)*c;
        } else {
            *write++ = '%';
            *write++ = hex_digits_upper[*c >> 4];
            *write++ = hex_digits_upper[*c & 0x0f];
        }
    }
    *write = '\0';
    return out;
}

static const char *html_entity(char c)
{
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&#39;";
    default: return NULL;
    }
}

char *html_escape(pool *p, const char *text)
{
    size_t needed = 0;
    for (const char *c = text; *c; c++) {
        const char *entity = html_entity(*c);
        needed += entity ? strlen(entity) : 1;
    }
    char *out = pool_alloc(p, needed + 1);
    char *write = out;
    for (const char *c = text; *c; c++) {
        const char *entity = html_entity(*c);
        if (entity) {
            size_t entity_length = strlen(entity);
            memcpy(write, entity, entity_length);
            write += entity_length;
        } else {
            *write++ = *c;
        }
    }
    *write = '\0';
    return out;
}
