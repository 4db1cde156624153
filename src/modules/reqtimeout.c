/*
 * reqtimeout.c — RequestReadTimeout, as Apache's mod_reqtimeout: a deadline
 * for receiving the request head (and body), extended as long as the client
 * keeps up a minimum rate.  This is what stops a slowloris client from
 * holding a connection open for ever by trickling header bytes: weft parks
 * such a connection without a thread, and this bounds how long.
 *
 *   RequestReadTimeout [header=timeout[-maxtimeout][,MinRate=rate]]
 *                      [body=timeout[-maxtimeout][,MinRate=rate]]
 *
 * timeout 0 turns a stage off.  The default is Apache 2.4's:
 * header=20-40,MinRate=500 body=20,MinRate=500.  The connection layer
 * (connection.c) computes the deadlines; this module only parses.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/module.h"

typedef struct {
    int initial;
    int maximum;
    int min_rate;
} stage_setting;

static bool parse_number(const char *text, size_t length, int *value)
{
    if (length == 0 || length > 9)
        return false;
    int result = 0;
    for (size_t i = 0; i < length; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        result = result * 10 + (text[i] - '0');
    }
    *value = result;
    return true;
}

/* "20-40,MinRate=500" or "20" or "0". */
static bool parse_stage(const char *text, stage_setting *stage)
{
    stage->maximum = 0;
    stage->min_rate = 0;
    const char *comma = strchr(text, ',');
    size_t range_length = comma ? (size_t)(comma - text) : strlen(text);
    const char *dash = memchr(text, '-', range_length);
    if (dash) {
        if (!parse_number(text, (size_t)(dash - text), &stage->initial) ||
            !parse_number(dash + 1, range_length - (size_t)(dash - text) - 1, &stage->maximum) ||
            stage->maximum < stage->initial)
            return false;
    } else if (!parse_number(text, range_length, &stage->initial)) {
        return false;
    }
    if (comma) {
        const char *option = comma + 1;
        if (strncasecmp(option, "MinRate=", 8) != 0 || !parse_number(option + 8, strlen(option + 8), &stage->min_rate) ||
            stage->min_rate == 0)
            return false;
    }
    /* A maximum without a rate could never be reached, and a rate without a
     * maximum means "no upper bound" in Apache; keep both meanings. */
    if (dash && !comma)
        return false;
    return true;
}

static int set_request_read_timeout(config_parse *parse, const config_directive *directive, void *target,
                                    int argc, char **argv)
{
    request_read_timeout_setting *setting = target;
    for (int i = 0; i < argc; i++) {
        stage_setting stage;
        const char *value;
        bool header;
        if (strncasecmp(argv[i], "header=", 7) == 0) {
            header = true;
            value = argv[i] + 7;
        } else if (strncasecmp(argv[i], "body=", 5) == 0) {
            header = false;
            value = argv[i] + 5;
        } else if (strncasecmp(argv[i], "handshake=", 10) == 0) {
            continue;  /* TLS handshake stage: weft has no TLS yet */
        } else {
            return config_error(parse, "RequestReadTimeout: unknown stage '%s' (header= or body=)", argv[i]);
        }
        if (!parse_stage(value, &stage))
            return config_error(parse,
                                "RequestReadTimeout: bad value '%s' (timeout[-maxtimeout][,MinRate=rate]; "
                                "a maximum needs a MinRate)",
                                argv[i]);
        if (header) {
            setting->header_initial = stage.initial;
            setting->header_maximum = stage.maximum;
            setting->header_min_rate = stage.min_rate;
        } else {
            setting->body_initial = stage.initial;
            setting->body_maximum = stage.maximum;
            setting->body_min_rate = stage.min_rate;
        }
    }
    (void)directive;
    return WEFT_OK;
}

static const config_directive reqtimeout_directives[] = {
    { .name = "RequestReadTimeout", .contexts = CONTEXT_SERVER_OR_VHOST, .scope = SCOPE_SERVER,
      .min_args = 1, .max_args = 3, .set = set_request_read_timeout,
      .offset = offsetof(server_config, request_read_timeout),
      .size = sizeof(((server_config *)0)->request_read_timeout),
      .default_value = "header=20-40,MinRate=500 body=20,MinRate=500",
      .syntax = "[header=timeout[-maxtimeout][,MinRate=rate]] [body=timeout[-maxtimeout][,MinRate=rate]]",
      .help = "deadlines for receiving the request head and body, extended by a minimum data rate" },
    { .name = NULL },
};

const module reqtimeout_module = {
    .name = "reqtimeout",
    .directives = reqtimeout_directives,
};
