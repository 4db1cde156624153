/*
 * fuzz_uri.c — libFuzzer harness for request-target parsing and path
 * normalisation (src/http/uri.c), the code that decides which file a
 * request names.
 *
 * Invariants of every path accepted:
 *  - it starts with '/' (or is "*" for OPTIONS *), has no NUL before its
 *    end and is no longer than the raw target;
 *  - it has no "//", no "." or ".." segment: nothing a file system would
 *    resolve differently from the string;
 *  - it is a fixed point: escaping it for a Location header and
 *    normalising that again gives the same path (so a redirect can never
 *    name a different file than the request did);
 *  - uri_normalize_path on the raw path agrees with uri_parse_target.
 * Input: byte 0 picks the method, the rest is the request-target.
 */
#include "../src/core/buffer.c"
#include "../src/core/pool.c"
#include "../src/http/uri.c"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(condition)                                                        \
    do {                                                                        \
        if (!(condition)) {                                                     \
            fprintf(stderr, "fuzz_uri: check failed: %s (line %d)\n",           \
                    #condition, __LINE__);                                      \
            abort();                                                            \
        }                                                                       \
    } while (0)

static void check_path_shape(const char *path, size_t raw_length)
{
    size_t length = strlen(path);
    CHECK(length >= 1 && length <= raw_length + 1);
    CHECK(path[0] == '/');
    CHECK(strstr(path, "//") == NULL);
    CHECK(strstr(path, "/./") == NULL);
    CHECK(strstr(path, "/../") == NULL);
    CHECK(!(length >= 2 && strcmp(path + length - 2, "/.") == 0));
    CHECK(!(length >= 3 && strcmp(path + length - 3, "/..") == 0));
}

static void check_fixed_point(pool *p, const char *path)
{
    char *escaped = uri_escape_path(p, path);
    char *again = NULL;
    int status = 0;
    CHECK(uri_normalize_path(p, escaped, strlen(escaped), &again, &status) == WEFT_OK);
    CHECK(strcmp(again, path) == 0);
    char *html = html_escape(p, path);
    CHECK(strpbrk(html, "<>\"'") == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const http_method methods[] = { HTTP_METHOD_GET, HTTP_METHOD_OPTIONS, HTTP_METHOD_POST };
    http_method method = methods[data[0] % COUNT_OF(methods)];
    size--;
    /* An exact-size copy: ASan sees any read past the target. */
    char *target = malloc(size ? size : 1);
    memcpy(target, data + 1, size);
    pool *p = pool_create(1024);

    char *path = NULL, *query = NULL, *host = NULL;
    int status = 0;
    int rc = uri_parse_target(p, target, size, method, &path, &query, &host, &status);
    if (rc == WEFT_OK) {
        if (strcmp(path, "*") == 0) {
            CHECK(method == HTTP_METHOD_OPTIONS && size == 1);
        } else {
            check_path_shape(path, size);
            check_fixed_point(p, path);
        }
        if (query)
            CHECK(strlen(query) < size);
        if (host)
            CHECK(strlen(host) < size);
        if (target[0] == '/' && size > 0) {
            /* Origin-form: the path part alone normalises to the same. */
            const char *question = memchr(target, '?', size);
            size_t path_length = question ? (size_t)(question - target) : size;
            char *alone = NULL;
            int alone_status = 0;
            CHECK(uri_normalize_path(p, target, path_length, &alone, &alone_status) == WEFT_OK);
            CHECK(strcmp(alone, path) == 0);
        }
    } else {
        CHECK(rc == WEFT_ERROR);
        CHECK(status == 400 || status == 404);
    }

    /* The normaliser on its own, for raw bytes the target check would refuse. */
    if (size > 0 && target[0] == '/') {
        char *normal = NULL;
        int normal_status = 0;
        if (uri_normalize_path(p, target, size, &normal, &normal_status) == WEFT_OK)
            check_path_shape(normal, size);
        else
            CHECK(normal_status == 400 || normal_status == 404);
    }

    pool_destroy(p);
    free(target);
    return 0;
}
