/*
 * module.h — what a weft module is: a directive table plus optional hooks.
 *
 * Modules are compiled in; modules.c lists them in the order their hooks run.
 * <IfModule X> is true when X names one of them as "X", "mod_X", "mod_X.c"
 * or "X_module".
 */
#ifndef WEFT_MODULE_H
#define WEFT_MODULE_H

#include "config.h"
#include "server.h"

struct request;

typedef struct module {
    const char *name;                       /* e.g. "status" */
    const config_directive *directives;     /* terminated by a row with name NULL; may be NULL */
    /* After all files are read and defaults applied: check and derive values.
     * Report problems with config_error() (no line) and return WEFT_ERROR. */
    int (*post_config)(config_parse *parse, server_config *server);
    /* Content handler: WEFT_DECLINED if the request is not for it. */
    int (*handler)(struct request *r);
} module;

extern const module *const weft_modules[];

bool module_is_present(const char *name);

#endif
