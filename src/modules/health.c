/*
 * health.c — the "health-check" handler a load balancer polls:
 *
 *   <Location "/healthz">
 *       SetHandler health-check
 *   </Location>
 *
 * 200 "OK" while the server serves normally, 503 "draining" while it drains
 * (docs/fleet.md: DrainFile present, the DrainDelay of -k graceful-stop),
 * which the control process tells the children through the scoreboard
 * header.  The answer is never cached and says nothing else about the
 * server: mod_status is there for that.
 */
#include <strings.h>

#include "../core/module.h"
#include "../http/request.h"
#include "../http/response.h"
#include "../mpm/control.h"
#include "../mpm/scoreboard.h"

static int health_handler(request *r)
{
    if (!r->dir || !r->dir->handler || strcasecmp(r->dir->handler, "health-check") != 0)
        return WEFT_DECLINED;
    if (r->method != HTTP_METHOD_GET && r->method != HTTP_METHOD_HEAD) {
        response_add_header(r, "Allow", "GET, HEAD, OPTIONS");
        return 405;
    }
    bool draining = weft_scoreboard && scoreboard_draining(weft_scoreboard->header);
    static const char ok[] = "OK\n", busy[] = "draining\n";
    r->status = draining ? 503 : 200;
    r->content_type = "text/plain; charset=utf-8";
    response_add_header(r, "Cache-Control", "no-store");
    if (draining)
        response_set_body_memory(r, busy, sizeof busy - 1);
    else
        response_set_body_memory(r, ok, sizeof ok - 1);
    return WEFT_OK;
}

static const char *const health_handlers[] = { "health-check", NULL };

const module health_module = {
    .name = "health",
    .handlers = health_handlers,
    .handler = health_handler,
};
