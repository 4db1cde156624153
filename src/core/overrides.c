/*
 * overrides.c — AllowOverride and AllowOverrideList.  weft reads no
 * .htaccess files, so the only value that tells the truth is None (Apache
 * 2.4's default): it is accepted, and anything else is a configuration
 * error rather than a promise weft would silently break.
 */
#include <strings.h>

#include "config.h"
#include "module.h"

static int set_none_only(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    if (argc == 1 && strcasecmp(argv[0], "None") == 0)
        return WEFT_OK;
    return config_error(parse, "%s %s: weft reads no .htaccess files, so only %s None is accepted", d->name,
                        argv[0], d->name);
}

static const config_directive override_directives[] = {
    { .name = "AllowOverride", .contexts = CONTEXT_DIRECTORY, .scope = SCOPE_DIRECTORY, .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_none_only, .syntax = "None",
      .help = "which .htaccess directives may apply: weft reads no .htaccess files" },
    { .name = "AllowOverrideList", .contexts = CONTEXT_DIRECTORY, .scope = SCOPE_DIRECTORY, .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_none_only, .syntax = "None",
      .help = "which single .htaccess directives may apply: weft reads no .htaccess files" },
    { .name = NULL },
};

const module overrides_module = {
    .name = "overrides",
    .directives = override_directives,
};
