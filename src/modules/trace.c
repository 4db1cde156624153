/*
 * trace.c — TRACE (RFC 9110 9.3.8) and TraceEnable.
 *
 *   TraceEnable On|Off    server or virtual host, default Off
 *
 * Off (the default): this module's handler answers TRACE with 405, as
 * Apache's stock configuration would if it followed its own security advice.  On: this
 * module's handler, which runs before every other handler, reflects the
 * request head back as a message/http body: the request line and every
 * field as received, except those that carry credentials (Authorization,
 * Proxy-Authorization, Cookie), which RFC 9110 says the reflection should
 * leave out.  A TRACE with a body is refused with 413, as Apache does.
 */
#include <string.h>

#include "../core/module.h"
#include "../http/request.h"
#include "../http/response.h"

typedef struct {
    bool trace_enable;  /* TraceEnable */
} trace_server_config;

extern const module trace_module;

static bool is_sensitive(const char *name, size_t length)
{
    static const char *const sensitive[] = { "Authorization", "Proxy-Authorization", "Cookie" };
    for (size_t i = 0; i < COUNT_OF(sensitive); i++)
        if (slice_equal_string_nocase((slice){ name, length }, sensitive[i]))
            return true;
    return false;
}

static int trace_handler(request *r)
{
    if (r->method != HTTP_METHOD_TRACE)
        return WEFT_DECLINED;
    const trace_server_config *config = module_server_config(r->server, &trace_module);
    if (!config->trace_enable) {
        /* Apache's answer, field for field: its Allow is empty here
         * (RFC 9110 permits an empty Allow for a method that the
         * configuration has disabled). */
        response_add_header(r, "Allow", "");
        return 405;
    }
    if (!r->head)
        return WEFT_DECLINED;
    if (r->parser.chunked || r->parser.content_length > 0)
        return 413;

    const http_parser *parser = &r->parser;
    size_t room = strlen(r->request_line) + 4;
    for (uint32_t i = 0; i < parser->field_count; i++)
        room += parser->fields[i].name.length + parser->fields[i].value.length + 4;
    char *body = pool_alloc(r->pool, room);
    size_t length = 0;
    size_t line_length = strlen(r->request_line);
    memcpy(body, r->request_line, line_length);
    length += line_length;
    memcpy(body + length, "\r\n", 2);
    length += 2;
    for (uint32_t i = 0; i < parser->field_count; i++) {
        const http_field *field = &parser->fields[i];
        const char *name = r->head + field->name.offset;
        if (is_sensitive(name, field->name.length))
            continue;
        memcpy(body + length, name, field->name.length);
        length += field->name.length;
        memcpy(body + length, ": ", 2);
        length += 2;
        memcpy(body + length, r->head + field->value.offset, field->value.length);
        length += field->value.length;
        memcpy(body + length, "\r\n", 2);
        length += 2;
    }
    memcpy(body + length, "\r\n", 2);
    length += 2;
    r->status = 200;
    r->content_type = "message/http";
    response_set_body_memory(r, body, length);
    return WEFT_OK;
}

static const config_directive trace_directives[] = {
    { .name = "TraceEnable", .contexts = CONTEXT_SERVER_OR_VHOST, .scope = SCOPE_SERVER,
      .offset = offsetof(trace_server_config, trace_enable), .size = sizeof(bool), .min_args = 1, .max_args = 1,
      .set = config_set_flag, .default_value = "Off", .syntax = "On|Off",
      .help = "whether TRACE requests are answered (Off: 405)" },
    { .name = NULL },
};

const module trace_module = {
    .name = "trace",
    .directives = trace_directives,
    .server_config_size = sizeof(trace_server_config),
    .handler = trace_handler,
};
