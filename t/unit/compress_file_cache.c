/* Unit tests for the compressed-variant cache together with the real file
 * cache (src/modules/file_cache.c, file_watch.c): a variant goes when its
 * file changes, whether inotify reports it or a stat(2) sees it, and when
 * its entry is evicted. */
/* This test defines module_server_config itself (module.h). */
#define WEFT_MODULE_CONFIG_STUBS
#include "tap.h"

#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/core/log.c"
#include "../../src/core/blocking.c"
#include "../../src/core/piped_log.c"
#include "../../src/http/negotiate.c"
#include "../../src/modules/compress.c"
#include "../../src/modules/compress_cache.c"
/* file_watch.c and file_cache.c are separate files with static names in
 * common: renamed here, where they share one translation unit. */
#define buckets watch_buckets
#define forget watch_forget
#define watch_count watch_total
#include "../../src/modules/file_watch.c"
#undef buckets
#undef forget
#undef watch_count
#undef BUCKETS
#include "../../src/modules/file_cache.c"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

/* file_cache.c's directive table refers to these; nothing here parses. */
int config_error(config_parse *parse, const char *format, ...)
{
    return WEFT_ERROR;
}

int config_set_flag(config_parse *parse, const config_directive *directive, void *target, int argc, char **argv)
{
    return WEFT_ERROR;
}

static server_config server;
static file_cache_config cache_config;  /* the file cache module's own, as the configuration would make it */

void *module_server_config(const server_config *config, const module *m)
{
    return &cache_config;
}
static char directory[] = "/tmp/weft-compress-cache-XXXXXX";

static void write_file(const char *path, const char *content)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content)) {
        perror(path);
        exit(1);
    }
    close(fd);
}

/* One request for path: from the file cache (inserted on a miss), then its
 * gzip variant.  Returns whether the variant was a hit before the call. */
static const void *serve(const char *path, bool *was_hit, size_t *length)
{
    request r = { 0 };
    r.pool = pool_create(4096);
    r.server = &server;
    struct stat info;
    const file_cache_entry *entry = file_cache_lookup(&r, path, true, &info);
    if (!entry) {
        int fd = open(path, O_RDONLY);
        fstat(fd, &info);
        entry = file_cache_insert(&r, path, true, fd, &info);
        close(fd);
    }
    static char copy[4096];
    const void *result = NULL;
    if (entry) {
        size_t cached_length;
        *was_hit = compress_cache_lookup(&r, entry, CODING_GZIP, NULL, NULL, &cached_length) != NULL;
        const void *bytes = compress_cache_variant(&r, entry, (size_t)info.st_size, CODING_GZIP, NULL, NULL, length);
        if (bytes && *length <= sizeof(copy)) {
            memcpy(copy, bytes, *length);
            result = copy;
        }
    }
    pool_destroy(r.pool);
    return result;
}

static bool gunzips_to(const void *data, size_t length, const char *expected)
{
    char out[4096];
    z_stream s = { 0 };
    inflateInit2(&s, 16 + 15);
    s.next_in = (Bytef *)data;
    s.avail_in = (uInt)length;
    s.next_out = (Bytef *)out;
    s.avail_out = sizeof(out);
    int status = inflate(&s, Z_FINISH);
    size_t produced = sizeof(out) - s.avail_out;
    inflateEnd(&s);
    return status == Z_STREAM_END && produced == strlen(expected) && memcmp(out, expected, produced) == 0;
}

static void run(bool use_inotify)
{
    cache_config.file_cache_watch = use_inotify;
    char path[128];
    snprintf(path, sizeof(path), "%s/page-%d.html", directory, (int)use_inotify);
    const char *first = "<p>first version, first version, first version</p>\n";
    const char *second = "<p>the second version is longer: second, second, second</p>\n";
    write_file(path, first);
    bool hit;
    size_t length;
    const void *body = serve(path, &hit, &length);
    ok(body && !hit && gunzips_to(body, length, first), "%s: first request compresses the file",
       use_inotify ? "inotify" : "stat");
    body = serve(path, &hit, &length);
    ok(body && hit && gunzips_to(body, length, first), "  the second is a hit");

    /* The new content has another length, so the stat comparison sees
     * the change whatever the file system's time resolution. */
    write_file(path, second);
    if (use_inotify)
        on_watch_event();  /* what the child's event loop runs when inotify reports */
    body = serve(path, &hit, &length);
    ok(body && !hit && gunzips_to(body, length, second), "  after the file changed: compressed again, new content");
    body = serve(path, &hit, &length);
    ok(body && hit && gunzips_to(body, length, second), "  and then a hit again");
}

int main(void)
{
    log_threshold = LOG_LEVEL_CRIT;
    if (!mkdtemp(directory)) {
        perror("mkdtemp");
        return 1;
    }
    cache_config.file_cache_size = 1024 * 1024;
    cache_config.file_cache_max_file = 64 * 1024;
    cache_config.compressed_cache_size = 1024 * 1024;
    note("files in %s", directory);
    ok(file_watch_open() >= 0, "inotify is available");
    run(true);
    run(false);

    /* Eviction: a file cache too small for two files drops the first, and
     * its variant with it. */
    cache_config.file_cache_watch = false;
    cache_config.file_cache_size = 3000;
    char a[128], b[128];
    snprintf(a, sizeof(a), "%s/a.html", directory);
    snprintf(b, sizeof(b), "%s/b.html", directory);
    char text[1801];
    memset(text, 'a', 1800);
    text[1800] = '\0';
    write_file(a, text);
    memset(text, 'b', 1800);
    write_file(b, text);
    bool hit;
    size_t length;
    serve(a, &hit, &length);
    serve(a, &hit, &length);
    ok(hit, "a.html's variant is kept");
    serve(b, &hit, &length);
    serve(a, &hit, &length);
    ok(!hit, "b.html evicted a.html from the file cache, and a.html's variant went with it");

    char command[200];
    snprintf(command, sizeof(command), "rm -rf %s", directory);
    ok(system(command) == 0, "temporary directory removed");
    return done_testing();
}
