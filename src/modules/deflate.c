/*
 * deflate.c — the DEFLATE (mod_deflate) and BROTLI_COMPRESS (mod_brotli)
 * output filters: on-the-fly compression of response bodies.
 *
 * Directives (server and virtual host, as in Apache):
 *   DeflateCompressionLevel 1-9      (default 6)
 *   DeflateBufferSize bytes          input bytes compressed per step (default 8096)
 *   DeflateMemLevel 1-9              (default 9)
 *   DeflateWindowSize 1-15           (default 15)
 *   DeflateAlterETag AddSuffix|NoChange|Remove   (default AddSuffix: "etag-gzip")
 *   BrotliCompressionQuality 0-11    (default 5)
 *   BrotliCompressionWindow 10-24    (default 18; BrotliWindowSize is the same)
 *   BrotliAlterETag AddSuffix|NoChange|Remove    (default AddSuffix: "etag-br")
 * The filters are switched on by SetOutputFilter, AddOutputFilter or
 * AddOutputFilterByType (output_filter.c).
 *
 * The decision follows Apache's deflate_out_filter (and mod_brotli's), in
 * its order, when the response is final (start()):
 *   - no compression of 204, of a 206 or anything with Content-Range, of a
 *     response the environment variable no-gzip (DEFLATE) / no-brotli
 *     (BROTLI_COMPRESS) is set for, of a non-text/html response when
 *     gzip-only-text/html is "1" (DEFLATE), of a response already carrying
 *     a Content-Encoding other than identity (precompressed files);
 *   - then "Vary: Accept-Encoding" is added, whatever the client accepts;
 *   - the coding comes from Accept-Encoding (q-values honoured,
 *     compress_choose); when both filters apply, one choice is made for
 *     both, brotli winning a tie;
 *   - the chosen filter sets Content-Encoding, alters the ETag as its
 *     AlterETag says (so a cache never mixes the two bodies), and the
 *     chain drops Content-Length and Accept-Ranges; a 304 only gets those
 *     header changes, a HEAD response the same fields its GET would get.
 * A body that is a file cache entry is not compressed per request: its
 * compressed variant comes from the compressed-variant cache (compress.h)
 * and goes out with a Content-Length like any memory body.
 */
#include "deflate.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../core/module.h"
#include "../http/response.h"
#include "compress.h"
#include "output_filter.h"

enum { ETAG_ADD_SUFFIX, ETAG_NO_CHANGE, ETAG_REMOVE };

typedef struct {
    int level;
    int64_t buffer_size;
    int memory_level;
    int window_size;
    int alter_etag;
} deflate_server_config;

typedef struct {
    int quality;
    int window;
    int alter_etag;
} brotli_server_config;

extern const module deflate_module;
extern const module brotli_module;

/* ---- the decision --------------------------------------------------------- */

/* Apache's checks before Vary is added: may this filter compress r at all? */
static bool eligible(const request *r, const output_filter *f, content_coding coding)
{
    if (!f || !output_filter_type_allowed(r, f))
        return false;
    if (r->status == 204 || r->status == 206 || response_header_value(r, "Content-Range"))
        return false;
    if (output_filter_environment(r, coding == CODING_GZIP ? "no-gzip" : "no-brotli"))
        return false;
    if (coding == CODING_GZIP) {
        const char *only_html = output_filter_environment(r, "gzip-only-text/html");
        if (only_html && strcmp(only_html, "1") == 0 &&
            (!r->content_type || strncasecmp(r->content_type, "text/html", 9) != 0))
            return false;
    }
    const char *encoding = response_header_value(r, "Content-Encoding");
    return !encoding || strcasecmp(encoding, "identity") == 0;
}

/* Apache's deflate_check_etag: "abc" -> "abc-gzip", W/"abc" -> W/"abc-gzip". */
static void alter_etag(request *r, int how, const char *suffix)
{
    if (how == ETAG_REMOVE) {
        r->etag = NULL;
        return;
    }
    size_t length = r->etag ? strlen(r->etag) : 0;
    if (how == ETAG_NO_CHANGE || length <= 2 || r->etag[length - 1] != '"')
        return;
    r->etag = pool_printf(r->pool, "%.*s-%s\"", (int)(length - 1), r->etag, suffix);
}

typedef struct {
    content_coding coding;
    gzip_settings gzip;
    brotli_settings brotli;
    compressor *z;
} compress_context;

static int compress_start(request *r, output_filter *f, content_coding coding)
{
    if (!eligible(r, f, coding))
        return WEFT_DECLINED;
    response_merge_header_token(r, "Vary", "Accept-Encoding");
    const output_filter *gzip_filter = output_filter_find(r, &deflate_filter_type);
    const output_filter *brotli_filter = output_filter_find(r, &brotli_filter_type);
    content_coding chosen = compress_choose(request_header(r, "Accept-Encoding"),
                                            eligible(r, gzip_filter, CODING_GZIP),
                                            eligible(r, brotli_filter, CODING_BROTLI));
    if (chosen != coding)
        return WEFT_DECLINED;

    compress_context *context = pool_calloc(r->pool, sizeof(*context));
    context->coding = coding;
    int alter;
    if (coding == CODING_GZIP) {
        const deflate_server_config *config = module_server_config(r->server, &deflate_module);
        context->gzip = (gzip_settings){ config->level, config->window_size, config->memory_level };
        f->chunk_hint = (size_t)config->buffer_size;
        alter = config->alter_etag;
    } else {
        const brotli_server_config *config = module_server_config(r->server, &brotli_module);
        context->brotli = (brotli_settings){ config->quality, config->window ? config->window : BROTLI_DEFAULT_WINDOW };
        f->chunk_hint = 8192;
        alter = config->alter_etag;
    }
    response_remove_header(r, "Content-Encoding");  /* only "identity" can be there */
    response_add_header_constant(r, "Content-Encoding", content_coding_name(coding));
    char *identity_etag = r->etag;  /* put back if no compressor can be had */
    alter_etag(r, alter, coding == CODING_GZIP ? "gzip" : "br");
    if (r->status == 304)
        return WEFT_DECLINED;  /* header fields only */

    if (r->body == BODY_MEMORY && r->body_origin) {
        /* A file cache entry: its variant is cached, and then has a length.
         * HEAD only looks (so that it gets the Content-Length GET would
         * get when the variant exists), it never compresses. */
        size_t length;
        const void *variant =
            r->head_only ? compress_cache_lookup(r, r->body_origin, coding, &context->gzip, &context->brotli, &length)
                         : compress_cache_variant(r, r->body_origin, (size_t)r->body_length, coding,
                                                  &context->gzip, &context->brotli, &length);
        if (variant) {
            response_set_body_memory(r, variant, length);
            response_remove_header(r, "Accept-Ranges");
            return WEFT_DECLINED;  /* the body is final already: sent as it is */
        }
    }
    if (r->head_only)
        return WEFT_OK;  /* the header fields of a compressed GET, no compressor */
    context->z = compressor_create(r->pool, coding, &context->gzip, &context->brotli);
    if (!context->z) {
        /* Apache answers 500 here; the head is not out yet, but the
         * response is set up: send it uncompressed rather than fail. */
        response_remove_header(r, "Content-Encoding");
        r->etag = identity_etag;
        return WEFT_DECLINED;
    }
    f->context = context;
    return WEFT_OK;
}

static int compress_write(request *r, output_filter *f, const char *data, size_t length, bool last, buffer *out)
{
    compress_context *context = f->context;
    return compressor_write(context->z, data, length, last, out);
}

static int deflate_start(request *r, output_filter *f) { return compress_start(r, f, CODING_GZIP); }
static int brotli_start(request *r, output_filter *f) { return compress_start(r, f, CODING_BROTLI); }

const output_filter_type deflate_filter_type = {
    .name = "DEFLATE",
    .start = deflate_start,
    .write = compress_write,
};

const output_filter_type brotli_filter_type = {
    .name = "BROTLI_COMPRESS",
    .start = brotli_start,
    .write = compress_write,
};

/* ---- directives ----------------------------------------------------------- */

typedef struct {
    const char *name;
    int minimum;
    int maximum;
} bound;

static const bound bounds[] = {
    { "DeflateCompressionLevel", 1, 9 },  { "DeflateMemLevel", 1, 9 },
    { "DeflateWindowSize", 1, 15 },       { "BrotliCompressionQuality", 0, 11 },
    { "BrotliCompressionWindow", 10, 24 }, { "BrotliWindowSize", 10, 24 },
};

static int set_bounded(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    int value = 0;
    const char *c = argv[0];
    for (; *c >= '0' && *c <= '9' && value < 1000; c++)
        value = value * 10 + (*c - '0');
    for (size_t i = 0; i < COUNT_OF(bounds); i++) {
        if (strcasecmp(bounds[i].name, d->name) != 0)
            continue;
        if (*c || c == argv[0] || value < bounds[i].minimum || value > bounds[i].maximum)
            return config_error(parse, "%s must be between %d and %d", d->name, bounds[i].minimum,
                                bounds[i].maximum);
    }
    *(int *)target = value;
    return WEFT_OK;
}

static const char *const etag_words[] = { "AddSuffix", "NoChange", "Remove" };

static int set_alter_etag(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    for (size_t i = 0; i < COUNT_OF(etag_words); i++) {
        if (strcasecmp(argv[0], etag_words[i]) == 0) {
            *(int *)target = (int)i;
            return WEFT_OK;
        }
    }
    return config_error(parse, "%s must be AddSuffix, NoChange or Remove", d->name);
}

static int set_buffer_size(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    if (config_set_size(parse, d, target, argc, argv) != WEFT_OK)
        return WEFT_ERROR;
    int64_t size = *(int64_t *)target;
    if (size < 1 || size > (1 << 20))
        return config_error(parse, "DeflateBufferSize must be between 1 and 1048576 bytes");
    return WEFT_OK;
}

static void format_int(FILE *out, const config_directive *d, const void *base)
{
    char text[16];
    snprintf(text, sizeof(text), "%d", *(const int *)((const char *)base + d->offset));
    const char *argv[1] = { text };
    config_dump_line(out, d, 1, argv);
}

static void format_int64(FILE *out, const config_directive *d, const void *base)
{
    char text[24];
    snprintf(text, sizeof(text), "%lld", (long long)*(const int64_t *)((const char *)base + d->offset));
    const char *argv[1] = { text };
    config_dump_line(out, d, 1, argv);
}

static void format_int_set(FILE *out, const config_directive *d, const void *base)
{
    if (*(const int *)((const char *)base + d->offset) != 0)
        format_int(out, d, base);
}

/* An alias row: its value is dumped by the row it shares the field with. */
static void format_nothing(FILE *out, const config_directive *d, const void *base) {}

static void format_alter_etag(FILE *out, const config_directive *d, const void *base)
{
    int how = *(const int *)((const char *)base + d->offset);
    const char *argv[1] = { etag_words[how >= 0 && how < 3 ? how : 0] };
    config_dump_line(out, d, 1, argv);
}

#define INT_ROW(row_name, type, field, setter, formatter, default_text, row_syntax, row_help)          \
    { .name = row_name, .contexts = CONTEXT_SERVER_OR_VHOST, .scope = SCOPE_SERVER,                 \
      .offset = offsetof(type, field), .size = sizeof(int), .min_args = 1, .max_args = 1,           \
      .set = setter, .format = formatter, .default_value = default_text, .syntax = row_syntax,      \
      .help = row_help }

static const config_directive deflate_directives[] = {
    INT_ROW("DeflateCompressionLevel", deflate_server_config, level, set_bounded, format_int, "6", "1-9",
            "how hard DEFLATE compresses (zlib level)"),
    { .name = "DeflateBufferSize", .contexts = CONTEXT_SERVER_OR_VHOST, .scope = SCOPE_SERVER,
      .offset = offsetof(deflate_server_config, buffer_size), .size = sizeof(int64_t), .min_args = 1,
      .max_args = 1, .set = set_buffer_size, .format = format_int64, .default_value = "8096", .syntax = "bytes",
      .help = "input bytes DEFLATE compresses at a time" },
    INT_ROW("DeflateMemLevel", deflate_server_config, memory_level, set_bounded, format_int, "9", "1-9",
            "memory zlib uses for compression"),
    INT_ROW("DeflateWindowSize", deflate_server_config, window_size, set_bounded, format_int, "15", "1-15",
            "zlib compression window size (log2)"),
    INT_ROW("DeflateAlterETag", deflate_server_config, alter_etag, set_alter_etag, format_alter_etag,
            "AddSuffix", "AddSuffix|NoChange|Remove", "how the ETag of a compressed response changes"),
    { .name = NULL },
};

static const config_directive brotli_directives[] = {
    INT_ROW("BrotliCompressionQuality", brotli_server_config, quality, set_bounded, format_int, "5", "0-11",
            "how hard BROTLI_COMPRESS compresses"),
    /* No default row: the two names share the field (0 = the default). */
    INT_ROW("BrotliCompressionWindow", brotli_server_config, window, set_bounded, format_int_set, NULL, "10-24",
            "brotli window size (log2; default 18)"),
    INT_ROW("BrotliWindowSize", brotli_server_config, window, set_bounded, format_nothing, NULL, "10-24",
            "the same as BrotliCompressionWindow"),
    INT_ROW("BrotliAlterETag", brotli_server_config, alter_etag, set_alter_etag, format_alter_etag,
            "AddSuffix", "AddSuffix|NoChange|Remove", "how the ETag of a compressed response changes"),
    { .name = NULL },
};

const module deflate_module = {
    .name = "deflate",
    .directives = deflate_directives,
    .server_config_size = sizeof(deflate_server_config),
};

const module brotli_module = {
    .name = "brotli",
    .directives = brotli_directives,
    .server_config_size = sizeof(brotli_server_config),
};
