/*
 * module.c — hooks the control process runs over every module (module.h);
 * the request phases run in src/http/request.c.
 */
#include "module.h"

int modules_open_logs(server_config *server)
{
    int result = WEFT_OK;
    for (const module *const *m = weft_modules; *m; m++)
        if ((*m)->open_logs && (*m)->open_logs(server) != WEFT_OK)
            result = WEFT_ERROR;
    return result;
}

void modules_close_logs(server_config *server)
{
    for (const module *const *m = weft_modules; *m; m++)
        if ((*m)->close_logs)
            (*m)->close_logs(server);
}
