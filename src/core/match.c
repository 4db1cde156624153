/*
 * match.c — URL-path prefixes and $N substitution (see match.h).
 */
#include "match.h"

#include <ctype.h>
#include <string.h>

size_t url_prefix_match(const char *prefix, const char *path)
{
    if (!*prefix)
        return 0;
    const char *p = prefix, *u = path;
    while (*p) {
        if (*p == '/') {
            if (*u != '/')
                return 0;
            while (*p == '/')
                p++;
            while (*u == '/')
                u++;
        } else if (*u++ != *p++) {
            return 0;
        }
    }
    /* The last segment of the prefix must end where one of the path does. */
    if (p[-1] != '/' && *u != '\0' && *u != '/')
        return 0;
    return (size_t)(u - path);
}

char *regex_substitute(pool *p, const char *template, const char *subject, const regex_group *match,
                       size_t match_count)
{
    /* Two passes: measure, then copy into an exact allocation. */
    char *out = NULL;
    size_t length = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t written = 0;
        for (const char *c = template; *c; c++) {
            const char *piece = c;
            size_t piece_length = 1;
            if (c[0] == '\\' && c[1]) {
                piece = ++c;
            } else if (c[0] == '$' && isdigit((unsigned char)c[1])) {
                size_t group = (size_t)(*++c - '0');
                bool present = group < match_count && match[group].start >= 0;
                piece = present ? subject + match[group].start : "";
                piece_length = present ? (size_t)(match[group].end - match[group].start) : 0;
            }
            if (out)
                memcpy(out + written, piece, piece_length);
            written += piece_length;
        }
        if (out) {
            out[written] = '\0';
            return out;
        }
        length = written;
        out = pool_alloc(p, length + 1);
    }
    return out;
}
