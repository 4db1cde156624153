/*
 * dir.c — DirectorySlash and FallbackResource (see dir.h).
 */
#include "dir.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "../core/module.h"
#include "../http/request.h"

typedef struct {
    bool directory_slash;
    char *fallback_resource;   /* NULL when disabled */
} dir_dir_config;

extern const module dir_module;

static const dir_dir_config *dir_settings(const dir_config *dir)
{
    return module_dir_config(dir, &dir_module);
}

bool dir_slash_redirects(const dir_config *dir)
{
    return dir_settings(dir)->directory_slash;
}

static bool handler_is_default(const request *r)
{
    const char *handler = r->handler ? r->handler : r->dir->handler;
    return !handler || strcasecmp(handler, "default-handler") == 0;
}

/* Apache's fixup_dflt: only for a request that has no file and no handler
 * of its own, and never within a lookup (the fallback itself missing must
 * not look for the fallback again). */
static int dir_fixups(request *r)
{
    const char *fallback = dir_settings(r->dir)->fallback_resource;
    if (!fallback || r->lookup_depth > 0 || !r->file_path || !handler_is_default(r))
        return WEFT_DECLINED;
    struct stat info;
    if (stat(r->file_path, &info) == 0 || (errno != ENOENT && errno != ENOTDIR))
        return WEFT_DECLINED;
    const char *url = fallback;
    if (url[0] != '/') {
        const char *slash = strrchr(r->path, '/');
        url = pool_printf(r->pool, "%.*s/%s", (int)(slash - r->path), r->path, fallback);
    }
    request_mapping previous;
    int rc = request_lookup(r, url, &previous);
    if (rc != WEFT_OK)
        return rc == WEFT_ERROR ? 500 : rc;
    if (r->file_path && stat(r->file_path, &info) == 0 && S_ISREG(info.st_mode))
        return WEFT_OK;
    if (r->handler && !handler_is_default(r))
        return WEFT_OK;  /* a ScriptAlias'd fallback: its handler decides */
    request_restore(r, &previous);
    return WEFT_DECLINED;
}

static int set_fallback_resource(config_parse *parse, const config_directive *d, void *target, int argc,
                                 char **argv)
{
    *(char **)target = strcasecmp(argv[0], "disabled") == 0 ? NULL : pool_strdup(config_pool(parse), argv[0]);
    return WEFT_OK;
}

#define DIR_FIELD(field) .scope = SCOPE_DIRECTORY, .offset = offsetof(dir_dir_config, field), \
                         .size = sizeof(((dir_dir_config *)0)->field)

static const config_directive dir_directives[] = {
    { .name = "DirectorySlash", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(directory_slash), .min_args = 1,
      .max_args = 1, .set = config_set_flag, .default_value = "On", .syntax = "On|Off",
      .help = "redirect a directory's URL without its trailing slash to the URL with it (301)",
      .overrides = OVERRIDE_INDEXES },
    { .name = "FallbackResource", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(fallback_resource), .min_args = 1,
      .max_args = 1, .set = set_fallback_resource, .format = config_format_string,
      .syntax = "local-URL|disabled", .help = "the local URL that serves requests mapping to no file",
      .overrides = OVERRIDE_INDEXES },
    { .name = NULL },
};
#undef DIR_FIELD

const module dir_module = {
    .name = "dir",
    .directives = dir_directives,
    .dir_config_size = sizeof(dir_dir_config),
    .fixups = dir_fixups,
};
