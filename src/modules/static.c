/*
 * static.c — the default handler: files for GET and HEAD, with their
 * validators (FileETag, Last-Modified), conditional requests (RFC 9110 13),
 * byte ranges (RFC 9110 14) and precompressed variants.  A directory gets
 * its DirectoryIndex, or else the listing of modules/autoindex.c.
 *
 * How files are opened (symbolic links, FIFOs) is file_open.c's business.
 *
 * Directives (static_module):
 *   FileETag [+|-]INode|MTime|Size ... | All | None   anywhere; without
 *       it "MTime Size".  The ETag is Apache's: the chosen parts in hex, in
 *       the order inode-size-mtime (mtime in microseconds), weak (W/) while
 *       the file is less than a second old.  + and - work exactly as in
 *       Apache, quirks included (see set_file_etag).
 *   MaxRanges default|unlimited|none|N            anywhere, default 200
 *   MaxRangeOverlaps, MaxRangeReversals (same)    anywhere, default 20
 *       Apache's limits on a Range field (see http/range.h); beyond them
 *       the whole file is sent (200).  MaxRanges none: Range is never
 *       honoured and Accept-Ranges says "none".
 *   PrecompressedGzip On|Off                      anywhere, default Off
 *       When the client accepts gzip and NAME.gz exists next to NAME (a
 *       regular file, opened under the same symbolic-link rules), NAME.gz
 *       is sent with Content-Encoding: gzip, NAME's Content-Type and its own
 *       validators (an ETag ending in "-gzip").  Every file response here
 *       says Vary: Accept-Encoding.
 *
 * The hot path (a GET of a file with nothing of the above configured or
 * asked for) makes exactly the system calls it always made: open, fstat,
 * and the close when the response is done.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/module.h"
#include "../http/conditional.h"
#include "../http/negotiate.h"
#include "../http/range.h"
#include "../http/request.h"
#include "../http/response.h"
#include "../http/uri.h"
#include "autoindex.h"
#include "dir.h"
#include "file_cache.h"
#include "file_open.h"
#include "headers.h"
#include "mime.h"

/* FileETag components (static_dir_config.file_etag). */
enum {
    FILE_ETAG_INODE = 1 << 0,
    FILE_ETAG_MTIME = 1 << 1,
    FILE_ETAG_SIZE = 1 << 2,
    FILE_ETAG_NONE = 1 << 3,
};

/* FileETag bits (FILE_ETAG_*, + and - as for Options), MaxRanges & co.
 * (RANGE_UNLIMITED = -1), PrecompressedGzip */
typedef struct {
    options_setting file_etag;
    int max_ranges;
    int max_range_overlaps;
    int max_range_reversals;
    bool precompressed_gzip;
} static_dir_config;

extern const module static_module;

static const static_dir_config *static_settings(const dir_config *dir)
{
    return module_dir_config(dir, &static_module);
}

#define DIR_FIELD(field) .scope = SCOPE_DIRECTORY, .offset = offsetof(static_dir_config, field), \
                         .size = sizeof(((static_dir_config *)0)->field)

#define DEFAULT_FILE_ETAG (FILE_ETAG_MTIME | FILE_ETAG_SIZE)
#define DEFAULT_MAX_RANGES 200
#define DEFAULT_MAX_RANGE_OVERLAPS 20
#define DEFAULT_MAX_RANGE_REVERSALS 20

/* Where the file being served came from, so that its precompressed
 * sibling can be opened the same way. */
typedef struct {
    int directory_fd;        /* >= 0: name is an entry of this directory */
    const char *name;        /* the entry, or else the absolute path */
    bool follow_symlinks;
    const char *cache_key;   /* the absolute path, for file_cache.c */
} file_origin;

/* The request fields this handler looks at, found in one pass. */
typedef struct {
    http_conditionals conditionals;
    slice accept_encoding;
} static_fields;

static void collect_fields(const request *r, static_fields *out)
{
    memset(out, 0, sizeof(*out));
    if (!r->head)
        return;
    for (uint32_t i = 0; i < r->parser.field_count; i++) {
        const http_field *field = &r->parser.fields[i];
        slice name = { r->head + field->name.offset, field->name.length };
        slice value = { r->head + field->value.offset, field->value.length };
        slice *target = NULL;
        char first = (char)(name.data[0] | 0x20);
        if (first == 'i' && name.length > 3) {
            if (slice_equal_string_nocase(name, "If-Match"))
                target = &out->conditionals.if_match;
            else if (slice_equal_string_nocase(name, "If-None-Match"))
                target = &out->conditionals.if_none_match;
            else if (slice_equal_string_nocase(name, "If-Modified-Since"))
                target = &out->conditionals.if_modified_since;
            else if (slice_equal_string_nocase(name, "If-Unmodified-Since"))
                target = &out->conditionals.if_unmodified_since;
            else if (slice_equal_string_nocase(name, "If-Range"))
                target = &out->conditionals.if_range;
        } else if (first == 'r' && slice_equal_string_nocase(name, "Range")) {
            target = &out->conditionals.range;
        } else if (first == 'a' && slice_equal_string_nocase(name, "Accept-Encoding")) {
            target = &out->accept_encoding;
        }
        /* The first occurrence counts (a repeated Range is not valid
         * anyway, and the other lists are rarely split). */
        if (target && !target->data)
            *target = value;
    }
}

/* ---- validators --------------------------------------------------------- */

/* Apache's rule (ap_make_etag): the bits with the +/- applied; None wins;
 * nothing at all means the default, MTime Size. */
static unsigned effective_file_etag(const dir_config *dir)
{
    const options_setting *setting = &static_settings(dir)->file_etag;
    unsigned bits = (setting->value & ~setting->remove) | setting->add;
    if (bits & FILE_ETAG_NONE)
        return 0;
    return bits ? bits : DEFAULT_FILE_ETAG;
}

static char *append_hex(char *out, uint64_t value)
{
    static const char digits[] = "0123456789abcdef";
    char reversed[16];
    int count = 0;
    do {
        reversed[count++] = digits[value & 0xf];
        value >>= 4;
    } while (value);
    while (count)
        *out++ = reversed[--count];
    return out;
}

/* Apache marks a tag weak while the file is younger than a second: it may
 * change again within the timestamp's resolution.  Most files are older
 * than that, which the request's own second shows without a clock call. */
static bool modified_just_now(const request *r, const struct stat *info)
{
    if (info->st_mtim.tv_sec + 2 < r->start_seconds)
        return false;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t age_us = (int64_t)(now.tv_sec - info->st_mtim.tv_sec) * 1000000 +
                     (now.tv_nsec - info->st_mtim.tv_nsec) / 1000;
    return age_us <= 1000000;
}

/* NULL when FileETag None. */
static char *make_etag(request *r, const struct stat *info, bool gzip)
{
    unsigned bits = effective_file_etag(r->dir);
    if (!bits)
        return NULL;
    uint64_t mtime_us = (uint64_t)info->st_mtim.tv_sec * 1000000u + (uint64_t)info->st_mtim.tv_nsec / 1000u;
    char *etag = pool_alloc(r->pool, 2 + 1 + 3 * 17 + 5 + 1 + 1);
    char *at = etag;
    if (modified_just_now(r, info)) {
        *at++ = 'W';
        *at++ = '/';
    }
    *at++ = '"';
    const char *separator = "";
    if (bits & FILE_ETAG_INODE) {
        at = append_hex(at, (uint64_t)info->st_ino);
        separator = "-";
    }
    if (bits & FILE_ETAG_SIZE) {
        at = stpcpy(at, separator);
        at = append_hex(at, (uint64_t)info->st_size);
        separator = "-";
    }
    if (bits & FILE_ETAG_MTIME) {
        at = stpcpy(at, separator);
        at = append_hex(at, mtime_us);
    }
    if (gzip)
        at = stpcpy(at, "-gzip");
    *at++ = '"';
    *at = '\0';
    return etag;
}

/* ---- ranges ------------------------------------------------------------- */

static pthread_once_t boundary_once = PTHREAD_ONCE_INIT;
static char multipart_boundary[24];

/* One boundary per process, like Apache's: unpredictable, so that a file's
 * content cannot be made to contain it. */
static void choose_boundary(void)
{
    uint64_t seed;
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        seed = (uint64_t)now.tv_nsec ^ ((uint64_t)now.tv_sec << 24) ^ ((uint64_t)getpid() << 44);
    }
    snprintf(multipart_boundary, sizeof(multipart_boundary), "%016" PRIx64, seed);
}

/* Sets up a 206 or a 416 for fd and returns that status (fd is then the
 * response's or closed), or returns 0 to send the whole file. */
static int serve_ranges(request *r, int fd, int64_t size, slice range)
{
    const dir_config *dir = r->dir;
    const static_dir_config *settings = static_settings(dir);
    http_range_limits limits = { settings->max_ranges, settings->max_range_overlaps, settings->max_range_reversals };
    http_byte_range *ranges;
    int count;
    switch (http_range_parse(range, size, &limits, r->pool, &ranges, &count)) {
    case RANGE_IGNORE:
        return 0;
    case RANGE_UNSATISFIABLE: {
        close(fd);
        response_set_error(r, 416);
        char *unsatisfied = pool_alloc(r->pool, 32);
        memcpy(unsatisfied, "bytes */", 8);
        format_unsigned(unsatisfied + 8, (uint64_t)size);
        response_add_header_constant(r, "Content-Range", unsatisfied);
        return 416;
    }
    case RANGE_PARTIAL:
        break;
    }
    r->status = 206;
    if (count == 1) {
        char *content_range = pool_alloc(r->pool, 72);
        http_content_range(content_range, &ranges[0], size);
        response_add_header_constant(r, "Content-Range", content_range);
        response_set_body_file(r, fd, (off_t)ranges[0].first, ranges[0].last - ranges[0].first + 1);
        return 206;
    }
    pthread_once(&boundary_once, choose_boundary);
    const char *part_type = r->content_type ? headers_type_with_default_charset(r, r->content_type) : NULL;
    body_piece *pieces;
    int64_t total;
    int piece_count = http_range_multipart(r->pool, ranges, count, size, part_type, multipart_boundary,
                                           &pieces, &total);
    r->content_type = pool_printf(r->pool, "multipart/byteranges; boundary=%s", multipart_boundary);
    response_set_body_pieces(r, fd, pieces, piece_count);
    return 206;
}

/* ---- files -------------------------------------------------------------- */

static bool name_ends_with_gz(const char *name)
{
    size_t length = strlen(name);
    return length >= 3 && strcasecmp(name + length - 3, ".gz") == 0;
}

/* NAME.gz next to the file, when it is a regular file: its descriptor and
 * *info, or -1. */
static int open_gzip_variant(request *r, const file_origin *origin, struct stat *info)
{
    char *name = pool_printf(r->pool, "%s.gz", origin->name);
    int fd = origin->directory_fd >= 0
                 ? file_open_in_directory(origin->directory_fd, name, origin->follow_symlinks)
                 : file_open_path(r, name, origin->follow_symlinks);
    if (fd < 0)
        return -1;
    if (fstat(fd, info) != 0 || !S_ISREG(info->st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Can a response for r come from (or go into) the file cache?  Ranges and
 * precompressed variants need the file itself. */
static bool cache_applies(const request *r)
{
    slice range;
    return file_cache_enabled(r->server) && !static_settings(r->dir)->precompressed_gzip && r->error_status == 0 &&
           !request_header_slice(r, "Range", &range);
}

/* Takes ownership of fd on every path; fd is -1 when the body comes from
 * the cache entry `cached`. */
static int serve_file(request *r, int fd, const file_cache_entry *cached, const struct stat *opened,
                      const file_origin *origin)
{
    const dir_config *dir = r->dir;
    const static_dir_config *settings = static_settings(dir);
    static_fields fields;
    collect_fields(r, &fields);

    struct stat info = *opened;
    bool gzip = false;
    if (!cached && settings->precompressed_gzip && fields.accept_encoding.data &&
        http_accepts_encoding(fields.accept_encoding, "gzip") && !name_ends_with_gz(origin->name)) {
        struct stat variant;
        int variant_fd = open_gzip_variant(r, origin, &variant);
        if (variant_fd >= 0) {
            close(fd);
            fd = variant_fd;
            info = variant;
            gzip = true;
        }
    }

    const char *type;
    const char *content_language = NULL, *content_encoding = NULL;
    if (mime_has_variants(dir)) {
        mime_info classified;
        mime_classify(r->server, dir, origin->name, &classified);
        type = classified.type;
        content_encoding = classified.encoding;
        for (int i = 0; i < classified.language_count; i++)
            content_language = content_language ? pool_printf(r->pool, "%s,%s", content_language, classified.languages[i])
                                                 : classified.languages[i];
    } else {
        type = mime_type_for_path(r->server, dir, origin->name);
    }
    if (type && headers_have_charsets(dir))
        type = headers_type_with_charset(r, type, origin->name);
    r->content_type = type;
    r->etag = make_etag(r, &info, gzip);
    /* Never a Last-Modified later than the response (RFC 9110 8.8.2.1). */
    time_t modified = info.st_mtim.tv_sec < r->start_seconds ? info.st_mtim.tv_sec : r->start_seconds;
    r->last_modified = modified;

    /* An ErrorDocument (r->error_status) is, as in Apache, answered
     * neither conditionally nor partially, and has no Accept-Ranges. */
    bool fresh = r->error_status == 0;
    if (fresh) {
        int precondition = http_evaluate_preconditions(&fields.conditionals, r->method, r->etag,
                                                       modified, r->start_seconds);
        if (precondition == 412) {
            if (fd >= 0)
                close(fd);
            return 412;
        }
        if (precondition == 304) {
            /* The fields a 200 would carry, as Apache sends them, but no
             * representation metadata (RFC 9110 15.4.5). */
            if (fd >= 0)
                close(fd);
            r->status = 304;
            response_add_header_constant(r, "Accept-Ranges", settings->max_ranges == 0 ? "none" : "bytes");
            if (settings->precompressed_gzip)
                response_add_header_constant(r, "Vary", "Accept-Encoding");
            return WEFT_OK;
        }
    }

    int ranged = 0;
    if (fd >= 0 && fresh && fields.conditionals.range.data && r->method == HTTP_METHOD_GET && settings->max_ranges != 0 &&
        http_if_range_holds(fields.conditionals.if_range, r->etag, modified, r->start_seconds))
        ranged = serve_ranges(r, fd, (int64_t)info.st_size, fields.conditionals.range);
    if (ranged == 416)
        return WEFT_OK;   /* an error page: none of the fields below describe it */
    if (!ranged) {
        r->status = 200;
        if (!cached && !gzip && cache_applies(r))
            cached = file_cache_insert(r, origin->cache_key, origin->follow_symlinks, fd, &info);
        if (cached) {
            if (fd >= 0)
                close(fd);
            response_set_body_memory(r, file_cache_data(cached), (size_t)info.st_size);
            r->body_origin = cached;  /* for the compressed-variant cache (compress.h) */
        } else {
            response_set_body_file(r, fd, 0, (int64_t)info.st_size);
        }
    }
    if (fresh)
        response_add_header_constant(r, "Accept-Ranges", settings->max_ranges == 0 ? "none" : "bytes");
    if (settings->precompressed_gzip)
        response_add_header_constant(r, "Vary", "Accept-Encoding");
    if (gzip)
        response_add_header_constant(r, "Content-Encoding", "gzip");
    else if (content_encoding)
        response_add_header_constant(r, "Content-Encoding", content_encoding);
    if (content_language)
        response_add_header_constant(r, "Content-Language", content_language);
    return WEFT_OK;
}

/* ---- directories -------------------------------------------------------- */

static int redirect_to_directory(request *r)
{
    const char *location = request_self_url(r, pool_printf(r->pool, "%s/%s%s", uri_escape_path(r->pool, r->path),
                                                           r->query ? "?" : "", r->query ? r->query : ""));
    return response_set_redirect(r, 301, location);
}

/* Is the file r was switched to a regular file?  The file cache answers
 * for the files it holds, without a system call. */
static bool switched_to_regular_file(request *r)
{
    if (!r->file_path)
        return false;
    if (cache_applies(r)) {
        struct stat cached_info;
        bool follow_symlinks = (file_effective_options(r->dir) & OPTION_FOLLOW_SYMLINKS) != 0;
        if (file_cache_lookup(r, r->file_path, follow_symlinks, &cached_info))
            return true;
    }
    struct stat info;
    return stat(r->file_path, &info) == 0 && S_ISREG(info.st_mode);
}

/* Apache's mod_dir: each DirectoryIndex name is looked up as a sub-request
 * of its own URL, so that its <Files> sections, Require and the rest apply
 * to it; the first that passes and is a regular file becomes the request
 * (its own handler serves it: index.php with a CGI handler).  A name whose
 * lookup fails with anything but 404 makes the directory answer that
 * status rather than a listing, as Apache does, unless a later name
 * succeeds.  Returns WEFT_DECLINED when no name applies (or r->file_path
 * is no directory: then the caller's open tells what it is). */
static int serve_directory_index(request *r)
{
    int refused = 0;
    for (char **entry = r->dir->directory_index; entry && *entry; entry++) {
        const char *name = *entry;
        if (!*name)
            continue;
        const char *url = name[0] == '/' ? name : pool_printf(r->pool, "%s%s", r->path, name);
        request_mapping previous;
        int rc = request_lookup(r, url, &previous);
        if (rc == WEFT_DONE)
            return WEFT_OK;
        if (rc == WEFT_OK) {
            if (switched_to_regular_file(r))
                return request_run_handlers(r);
            request_restore(r, &previous);
            continue;
        }
        if (rc == WEFT_ERROR)
            rc = 500;
        if (rc != 404)
            refused = rc;
    }
    if (!refused)
        return WEFT_DECLINED;
    /* Apache looks for an index only in a directory that exists. */
    struct stat info;
    if (stat(r->file_path, &info) != 0 || !S_ISDIR(info.st_mode))
        return WEFT_DECLINED;
    return refused;
}

/* directory_fd is the opened directory; the caller closes it. */
static int serve_directory(request *r, int directory_fd, bool follow_symlinks)
{
    size_t path_length = strlen(r->path);
    bool slash = path_length > 0 && r->path[path_length - 1] == '/';
    /* DirectorySlash Off: as Apache, the slash-less URL gets no index
     * (relative links in it would resolve against the parent), only the
     * listing if Options Indexes allows one.  With the slash, the handler
     * tried the index before it opened the directory. */
    if (!slash && dir_slash_redirects(r->dir))
        return redirect_to_directory(r);
    /* No index: a listing if Options Indexes allows it, else 403.  It is
     * made here, from the descriptor opened under the symbolic-link rules,
     * so that nothing can swap the directory between the check and the
     * listing and no second path walk is needed. */
    return autoindex_serve_directory(r, directory_fd, follow_symlinks);
}

static bool handler_is_default(const dir_config *dir)
{
    const char *handler = dir ? dir->handler : NULL;
    return !handler || strcasecmp(handler, "default-handler") == 0 ||
           strcasecmp(handler, "none") == 0;
}

static int static_handler(request *r)
{
    if (!handler_is_default(r->dir) || !r->file_path)
        return WEFT_DECLINED;
    /* The index first, whatever the method: its own handler may take a POST
     * (index.php), as after Apache's mod_dir. */
    size_t length = strlen(r->path);
    if (length && r->path[length - 1] == '/') {
        int indexed = serve_directory_index(r);
        if (indexed != WEFT_DECLINED)
            return indexed;
    }
    if (r->method != HTTP_METHOD_GET && r->method != HTTP_METHOD_HEAD) {
        response_add_header(r, "Allow", "GET, HEAD, OPTIONS");
        return 405;
    }

    bool follow_symlinks = (file_effective_options(r->dir) & OPTION_FOLLOW_SYMLINKS) != 0;
    if (cache_applies(r)) {
        struct stat cached_info;
        size_t path_length = strlen(r->path);
        if (path_length && r->path[path_length - 1] != '/') {
            const file_cache_entry *cached = file_cache_lookup(r, r->file_path, follow_symlinks, &cached_info);
            if (cached) {
                file_origin origin = { -1, r->file_path, follow_symlinks, r->file_path };
                return serve_file(r, -1, cached, &cached_info, &origin);
            }
        }
    }
    int fd = file_open_path(r, r->file_path, follow_symlinks);
    if (fd < 0)
        return file_status_for_open_error(errno, r->file_path);

    struct stat info;
    if (fstat(fd, &info) != 0) {
        int error = errno;
        close(fd);
        log_error_number(LOG_LEVEL_ERROR, error, "static: cannot fstat %s", r->file_path);
        return WEFT_ERROR;
    }
    if (S_ISDIR(info.st_mode)) {
        int result = serve_directory(r, fd, follow_symlinks);
        close(fd);
        return result;
    }
    size_t path_length = strlen(r->path);
    if (!S_ISREG(info.st_mode) || (path_length > 0 && r->path[path_length - 1] == '/')) {
        /* "/file.html/" names a directory that is not there. */
        bool not_found = S_ISREG(info.st_mode);
        close(fd);
        return not_found ? 404 : 403;
    }
    file_origin origin = { -1, r->file_path, follow_symlinks, r->file_path };
    return serve_file(r, fd, NULL, &info, &origin);
}

/* ---- configuration ------------------------------------------------------ */

/* FileETag keeps Apache's three sets (core.c): value holds the plain
 * keywords (0 = none given, so + and - apply to whatever is inherited, and
 * with nothing inherited to nothing, which then means the default), add and
 * remove the + and - ones.  The setter and the merge below are Apache's,
 * so that every configuration gives the same ETags as Apache 2.4. */
static int set_file_etag(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    static const struct {
        const char *name;
        unsigned bits;
    } keywords[] = {
        { "INode", FILE_ETAG_INODE }, { "MTime", FILE_ETAG_MTIME }, { "LMTime", FILE_ETAG_MTIME },
        { "LastModified", FILE_ETAG_MTIME }, { "Size", FILE_ETAG_SIZE },
        { "All", FILE_ETAG_INODE | FILE_ETAG_MTIME | FILE_ETAG_SIZE }, { "None", FILE_ETAG_NONE },
    };
    options_setting *setting = target;
    bool first_plain = true;
    for (int i = 0; i < argc; i++) {
        char sign = argv[i][0] == '+' || argv[i][0] == '-' ? argv[i][0] : '\0';
        const char *word = argv[i] + (sign != '\0');
        size_t k = 0;
        while (k < COUNT_OF(keywords) && strcasecmp(word, keywords[k].name) != 0)
            k++;
        if (k == COUNT_OF(keywords))
            return config_error(parse, "Unknown keyword '%s' for FileETag directive", word);
        bool whole = strcasecmp(word, "All") == 0 || strcasecmp(word, "None") == 0;
        if (sign && whole)
            return config_error(parse, "FileETag keyword '%s' cannot be used with '+' or '-'", word);
        unsigned bits = keywords[k].bits;
        if (sign == '+') {
            setting->add |= bits;
            setting->remove &= ~bits;
        } else if (sign == '-') {
            setting->remove |= bits;
            setting->add &= ~bits;
        } else {
            /* The first plain keyword forgets everything inherited and every
             * + and - so far, on this line and the earlier ones. */
            if (first_plain)
                *setting = (options_setting){ 0 };
            first_plain = false;
            setting->value = whole ? bits : setting->value | bits;
            setting->add = setting->remove = 0;
        }
    }
    return WEFT_OK;
}

static void merge_file_etag(void *merged, const void *child, pool *p)
{
    options_setting *base = merged;
    const options_setting *section = child;
    if (section->value == 0) {
        base->add = (base->add & ~section->remove) | section->add;
        base->remove = (base->remove & ~section->add) | section->remove;
        base->value = (base->value & ~base->remove) | base->add;
    } else {
        *base = *section;
    }
    if (base->value != FILE_ETAG_NONE)
        base->value &= ~FILE_ETAG_NONE;
}

static int set_range_limit(config_parse *parse, const config_directive *d, void *target, int argc,
                           char **argv)
{
    int *limit = target;
    const char *value = argv[0];
    if (strcasecmp(value, "default") == 0) {
        *limit = strcasecmp(d->name, "MaxRanges") == 0 ? DEFAULT_MAX_RANGES
                 : strcasecmp(d->name, "MaxRangeOverlaps") == 0 ? DEFAULT_MAX_RANGE_OVERLAPS
                                                                 : DEFAULT_MAX_RANGE_REVERSALS;
        return WEFT_OK;
    }
    if (strcasecmp(value, "unlimited") == 0) {
        *limit = RANGE_UNLIMITED;
        return WEFT_OK;
    }
    if (strcasecmp(value, "none") == 0) {
        *limit = 0;
        return WEFT_OK;
    }
    char *end;
    errno = 0;
    long number = strtol(value, &end, 10);
    if (value[0] < '0' || value[0] > '9' || *end || errno || number < 1 || number > 1000000)
        return config_error(parse, "%s must be 'default', 'unlimited', 'none' or a positive number, not '%s'",
                            d->name, value);
    *limit = (int)number;
    return WEFT_OK;
}

/* EnableMMAP: Apache maps files to send them; weft never does (small
 * files are read into the file cache, larger ones go by sendfile or
 * pread), so both values already hold.  The argument is still checked. */
static int set_enable_mmap(config_parse *parse, const config_directive *directive, void *target, int argc,
                           char **argv)
{
    bool ignored;
    return config_set_flag(parse, directive, &ignored, argc, argv);
}

static const config_directive static_directives[] = {
    { .name = "FileETag", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(file_etag), .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_file_etag, .merge = merge_file_etag,
      .syntax = "[+|-]INode|MTime|Size ... | All | None",
      .help = "the file attributes an ETag is made of (none given: MTime Size)", .overrides = OVERRIDE_FILEINFO },
    { .name = "MaxRanges", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(max_ranges), .min_args = 1, .max_args = 1,
      .set = set_range_limit, .default_value = "default", .syntax = "default|unlimited|none|number",
      .help = "the most ranges one response serves (more: the whole file, 200)" },
    { .name = "MaxRangeOverlaps", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(max_range_overlaps), .min_args = 1,
      .max_args = 1, .set = set_range_limit, .default_value = "default",
      .syntax = "default|unlimited|none|number",
      .help = "the most overlapping ranges a Range field may have before it is ignored" },
    { .name = "MaxRangeReversals", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(max_range_reversals),
      .min_args = 1, .max_args = 1, .set = set_range_limit, .default_value = "default",
      .syntax = "default|unlimited|none|number",
      .help = "the most out-of-order ranges a Range field may have before it is ignored" },
    { .name = "PrecompressedGzip", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(precompressed_gzip),
      .min_args = 1, .max_args = 1, .set = config_set_flag, .default_value = "Off", .syntax = "On|Off",
      .help = "serve NAME.gz for NAME to clients that accept gzip" },
    { .name = "EnableMMAP", .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_DIRECTORY, .min_args = 1,
      .max_args = 1, .set = set_enable_mmap, .syntax = "On|Off",
      .help = "accepted for Apache configurations: weft never memory-maps the files it sends",
      .overrides = OVERRIDE_FILEINFO },
    { .name = NULL },
};
#undef DIR_FIELD

const module static_module = {
    .name = "static",
    .directives = static_directives,
    .dir_config_size = sizeof(static_dir_config),
    .handler = static_handler,
};
