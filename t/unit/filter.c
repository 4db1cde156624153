/* Unit tests for src/http/filter.c: bodies pulled through the output filter
 * chain byte-exact (an identity chain, a copying filter, gzip through
 * compress.c), from memory, files, file ranges and pieces, chunked and
 * close-delimited framing, HEAD, and the header fields the chain adjusts. */
#include "tap.h"

#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/core/log.c"
#include "../../src/core/blocking.c"
#include "../../src/core/piped_log.c"
#include "../../src/http/negotiate.c"
#include "../../src/modules/compress.c"
#include "../../src/http/filter.c"

#include <stdlib.h>
#include <zlib.h>

/* response.c's, without the rest of it. */
static response_header *add_slot(request *r)
{
    if (r->header_count == r->header_capacity) {
        int capacity = r->header_capacity ? r->header_capacity * 2 : 8;
        response_header *grown = pool_alloc(r->pool, sizeof(*grown) * (size_t)capacity);
        if (r->header_count)
            memcpy(grown, r->headers, sizeof(*grown) * (size_t)r->header_count);
        r->headers = grown;
        r->header_capacity = capacity;
    }
    return &r->headers[r->header_count++];
}

void response_add_header_constant(request *r, const char *name, const char *value)
{
    response_header *slot = add_slot(r);
    slot->name = (char *)name;
    slot->value = (char *)value;
}

static char *make_text(size_t length)
{
    char *data = malloc(length + 1);
    uint64_t state = 12345;
    static const char *words[] = { "<p>", "filter ", "chain ", "weft ", "body ", "</p>\n" };
    size_t at = 0;
    while (at < length) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        const char *word = words[(state >> 33) % 6];
        for (size_t i = 0; word[i] && at < length; i++)
            data[at++] = word[i];
    }
    data[length] = '\0';
    return data;
}

static int temp_file_with(const char *data, size_t length)
{
    char name[] = "/tmp/weft-filter-XXXXXX";
    int fd = mkstemp(name);
    unlink(name);
    size_t done = 0;
    while (done < length) {
        ssize_t n = write(fd, data + done, length - done);
        if (n <= 0)
            abort();
        done += (size_t)n;
    }
    return fd;
}

/* ---- filters for the tests ---- */

static int copy_start(request *r, output_filter *f)
{
    f->chunk_hint = 1000;  /* odd sizes: chunks that do not line up with anything */
    response_add_header_constant(r, "X-Copied", "yes");
    return WEFT_OK;
}

static int copy_write(request *r, output_filter *f, const char *data, size_t length, bool last, buffer *out)
{
    (*(int *)f->context)++;
    buffer_append(out, data, length);
    return WEFT_OK;
}

static const output_filter_type copy_type = { "COPY", copy_start, copy_write };

static int decline_start(request *r, output_filter *f) { return WEFT_DECLINED; }
static int never_write(request *r, output_filter *f, const char *d, size_t n, bool last, buffer *out)
{
    return WEFT_ERROR;
}
static const output_filter_type decline_type = { "DECLINE", decline_start, never_write };

static int gzip_start(request *r, output_filter *f)
{
    gzip_settings settings = { 6, 15, 9 };
    f->context = compressor_create(r->pool, CODING_GZIP, &settings, NULL);
    f->chunk_hint = 8096;
    return f->context ? WEFT_OK : WEFT_ERROR;
}

static int gzip_write(request *r, output_filter *f, const char *data, size_t length, bool last, buffer *out)
{
    return compressor_write(f->context, data, length, last, out);
}

static const output_filter_type gzip_type = { "GZIPTEST", gzip_start, gzip_write };

/* ---- helpers ---- */

static void new_request(request *r, pool *p, int minor)
{
    memset(r, 0, sizeof(*r));
    r->pool = p;
    r->status = 200;
    r->version_major = 1;
    r->version_minor = minor;
    r->keep_alive = true;
    r->body_file = -1;
    response_add_header_constant(r, "Content-Length", "999");
    response_add_header_constant(r, "Accept-Ranges", "bytes");
}

/* Pulls the whole body; false on an error or more than `limit` pulls. */
static bool pull_all(request *r, buffer *wire, int *pulls)
{
    *pulls = 0;
    for (int i = 0; i < 1000000; i++) {
        const char *data;
        size_t length;
        int rc = output_filters_pull(r, &data, &length);
        if (rc == WEFT_ERROR)
            return false;
        buffer_append(wire, data, length);
        (*pulls)++;
        if (rc == WEFT_DONE)
            return true;
    }
    return false;
}

/* Removes chunked framing; false if it is malformed. */
static bool dechunk(const buffer *wire, buffer *body)
{
    size_t at = 0;
    for (;;) {
        char *end;
        unsigned long size = strtoul(wire->data + at, &end, 16);
        if (end == wire->data + at || strncmp(end, "\r\n", 2) != 0)
            return false;
        at = (size_t)(end - wire->data) + 2;
        if (size == 0)
            return strncmp(wire->data + at, "\r\n", 2) == 0 && at + 2 == wire->length;
        if (at + size + 2 > wire->length || strncmp(wire->data + at + size, "\r\n", 2) != 0)
            return false;
        buffer_append(body, wire->data + at, size);
        at += size + 2;
    }
}

static bool inflate_gzip(const buffer *in, buffer *out)
{
    z_stream z = { 0 };
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return false;
    z.next_in = (Bytef *)in->data;
    z.avail_in = (uInt)in->length;
    int status;
    do {
        buffer_reserve(out, 65536);
        z.next_out = (Bytef *)out->data + out->length;
        z.avail_out = 65536;
        status = inflate(&z, Z_NO_FLUSH);
        out->length += 65536 - z.avail_out;
    } while (status == Z_OK);
    inflateEnd(&z);
    return status == Z_STREAM_END && z.avail_in == 0;
}

static const char *header(const request *r, const char *name) { return response_header_value(r, name); }

int main(void)
{
    pool *p = pool_create(4096);
    const size_t size = 300 * 1024 + 17;
    char *text = make_text(size);
    int fd = temp_file_with(text, size);
    request r;
    int calls = 0;

    /* A chain whose filters all decline: nothing changes. */
    new_request(&r, p, 1);
    r.body = BODY_MEMORY;
    r.body_data = text;
    r.body_length = (int64_t)size;
    output_filter_add(&r, &decline_type, NULL);
    ok(!output_filters_start(&r), "all filters declined: the body is not filtered");
    ok(!output_filters_active(&r), "not active");
    ok(header(&r, "Content-Length") && header(&r, "Accept-Ranges"), "Content-Length and Accept-Ranges kept");
    ok(output_filters_start(&r) == false, "start answers the same the second time");
    pool_reset(p);

    /* Copy filter, memory body, chunked: byte-exact. */
    new_request(&r, p, 1);
    r.body = BODY_MEMORY;
    r.body_data = text;
    r.body_length = (int64_t)size;
    output_filter_add(&r, &copy_type, &calls);
    ok(output_filter_add(&r, &copy_type, &calls) == output_filter_find(&r, &copy_type), "a type is added once");
    ok(output_filters_start(&r), "copy filter: active");
    ok(!header(&r, "Content-Length") && !header(&r, "Accept-Ranges"), "Content-Length and Accept-Ranges dropped");
    is_string(header(&r, "X-Copied"), "yes", "start() set its header");
    ok(output_filters_chunked(&r) && r.keep_alive, "HTTP/1.1: chunked, keep-alive");
    buffer wire = { 0 }, body = { 0 };
    int pulls;
    ok(pull_all(&r, &wire, &pulls), "pulled");
    ok(dechunk(&wire, &body), "well-formed chunked framing");
    ok(body.length == size && memcmp(body.data, text, size) == 0, "memory body through the copy filter: byte-exact");
    ok(pulls >= (int)(size / 8192), "pulled in chunks (%d pulls)", pulls);
    const char *data;
    size_t length;
    is_int(output_filters_pull(&r, &data, &length), WEFT_DONE, "after the end: done");
    pool_reset(p);

    /* File body, HTTP/1.0: close-delimited, keep-alive off. */
    buffer_clear(&wire);
    buffer_clear(&body);
    new_request(&r, p, 0);
    r.body = BODY_FILE;
    r.body_file = fd;
    r.body_offset = 0;
    r.body_length = (int64_t)size;
    calls = 0;
    output_filter_add(&r, &copy_type, &calls);
    ok(output_filters_start(&r), "HTTP/1.0 file: active");
    ok(!output_filters_chunked(&r) && !r.keep_alive, "HTTP/1.0: not chunked, the connection closes");
    ok(pull_all(&r, &wire, &pulls), "pulled the file");
    ok(wire.length == size && memcmp(wire.data, text, size) == 0, "file body, unframed: byte-exact");
    is_int(calls, (int)((size + 8191) / 8192), "one write() per 8 KiB chunk (the default; hint 1000 is smaller)");
    pool_reset(p);

    /* A range of the uncompressed file (what a 206 sends) and pieces. */
    buffer_clear(&wire);
    buffer_clear(&body);
    new_request(&r, p, 1);
    r.body = BODY_FILE;
    r.body_file = fd;
    r.body_offset = 12345;
    r.body_length = 54321;
    output_filter_add(&r, &copy_type, &calls);
    output_filters_start(&r);
    ok(pull_all(&r, &wire, &pulls) && dechunk(&wire, &body), "range pulled");
    ok(body.length == 54321 && memcmp(body.data, text + 12345, 54321) == 0, "file range: byte-exact");
    pool_reset(p);

    buffer_clear(&wire);
    buffer_clear(&body);
    new_request(&r, p, 1);
    body_piece pieces[] = {
        { "--head--", 0, 8 }, { NULL, 100, 20000 }, { "--mid--", 0, 7 }, { NULL, 200000, 5 }, { "", 0, 0 },
    };
    r.body = BODY_PIECES;
    r.body_file = fd;
    r.body_pieces = pieces;
    r.body_piece_count = 5;
    output_filter_add(&r, &copy_type, &calls);
    output_filters_start(&r);
    buffer expected = { 0 };
    buffer_append(&expected, "--head--", 8);
    buffer_append(&expected, text + 100, 20000);
    buffer_append(&expected, "--mid--", 7);
    buffer_append(&expected, text + 200000, 5);
    ok(pull_all(&r, &wire, &pulls) && dechunk(&wire, &body), "pieces pulled");
    ok(body.length == expected.length && memcmp(body.data, expected.data, expected.length) == 0,
       "memory and file pieces: byte-exact, in order");
    pool_reset(p);

    /* gzip: compressed on the way, inflates to the file. */
    for (int minor = 0; minor <= 1; minor++) {
        buffer_clear(&wire);
        buffer_clear(&body);
        new_request(&r, p, minor);
        r.body = BODY_FILE;
        r.body_file = fd;
        r.body_offset = 0;
        r.body_length = (int64_t)size;
        output_filter_add(&r, &decline_type, NULL);
        output_filter_add(&r, &gzip_type, NULL);
        ok(output_filters_start(&r), "gzip (HTTP/1.%d): active", minor);
        ok(pull_all(&r, &wire, &pulls), "gzip: pulled");
        buffer *compressed = &wire;
        if (minor == 1) {
            ok(dechunk(&wire, &body), "gzip: chunked framing");
            compressed = &body;
        }
        buffer inflated = { 0 };
        ok(inflate_gzip(compressed, &inflated), "gzip: a valid gzip stream");
        ok(inflated.length == size && memcmp(inflated.data, text, size) == 0, "gzip: inflates to the file, byte-exact");
        ok(compressed->length < size / 2, "gzip: compressed (%zu of %zu bytes)", compressed->length, size);
        buffer_free(&inflated);
        pool_reset(p);
    }

    /* Empty body through gzip: a complete (empty) stream. */
    buffer_clear(&wire);
    new_request(&r, p, 0);
    r.body = BODY_MEMORY;
    r.body_data = "";
    r.body_length = 0;
    output_filter_add(&r, &gzip_type, NULL);
    output_filters_start(&r);
    buffer inflated = { 0 };
    ok(pull_all(&r, &wire, &pulls) && inflate_gzip(&wire, &inflated) && inflated.length == 0,
       "empty body: a valid empty gzip stream");
    buffer_free(&inflated);
    pool_reset(p);

    /* HEAD: the header fields change, no body is framed. */
    new_request(&r, p, 1);
    r.head_only = true;
    r.body = BODY_MEMORY;
    r.body_data = text;
    r.body_length = (int64_t)size;
    output_filter_add(&r, &copy_type, &calls);
    ok(output_filters_start(&r), "HEAD: the filter starts (same header fields as GET)");
    ok(!header(&r, "Content-Length"), "HEAD: no Content-Length");
    ok(!output_filters_chunked(&r) && r.keep_alive, "HEAD: not chunked, keep-alive stays");
    pool_reset(p);

    /* Streamed (pushed) bodies. */
    new_request(&r, p, 1);
    output_filter_add(&r, &copy_type, &calls);
    output_filters_start(&r);
    ok(output_filters_push(&r, "hello", 5, false, &data, &length) == WEFT_OK && length == 10 &&
       memcmp(data, "5\r\nhello\r\n", 10) == 0, "push: one chunk");
    ok(output_filters_push(&r, NULL, 0, true, &data, &length) == WEFT_OK && length == 5 &&
       memcmp(data, "0\r\n\r\n", 5) == 0, "push last: the last chunk");
    pool_reset(p);

    /* Vary merging. */
    new_request(&r, p, 1);
    response_merge_header_token(&r, "Vary", "Accept-Encoding");
    response_merge_header_token(&r, "Vary", "accept-encoding");
    is_string(header(&r, "Vary"), "Accept-Encoding", "Vary: added once");
    pool_reset(p);
    new_request(&r, p, 1);
    response_add_header_constant(&r, "Vary", "Cookie");
    response_merge_header_token(&r, "Vary", "Accept-Encoding");
    is_string(header(&r, "Vary"), "Cookie, Accept-Encoding", "Vary: merged into an existing field");

    buffer_free(&wire);
    buffer_free(&body);
    buffer_free(&expected);
    close(fd);
    free(text);
    pool_destroy(p);
    return done_testing();
}
