/*
 * parser.c — the request-head state machine and the chunked decoder
 * described in parser.h.
 *
 * The head parser keeps everything it needs to resume in the parser object
 * (state, position and a few offsets), so a call never rescans bytes an
 * earlier call already judged.  Facts that depend on several fields (Host,
 * framing, Connection, Expect) are derived once the head is complete, from
 * the recorded spans: deciding them at the end makes the error a message
 * gets independent of how its bytes arrived.
 */
#include "parser.h"

#include <string.h>

/* ---------------------------------------------------------------------- */
/* Character classes (RFC 9110 5.6.2, 5.5)                                  */

enum {
    CTL = 0,  /* controls other than HTAB, and DEL: never allowed in a head */
    WSP,      /* SP and HTAB */
    TOK,      /* tchar: may appear in a token */
    DLM,      /* visible ASCII that is not a tchar (delimiters) */
    OBS,      /* obs-text 0x80-0xFF: only inside field values */
};

static const unsigned char ascii_class[128] = {
    /* 0x00 */ CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, WSP, CTL, CTL, CTL, CTL, CTL, CTL,
    /* 0x10 */ CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL,
    /*  !"# */ WSP, TOK, DLM, TOK, TOK, TOK, TOK, TOK, DLM, DLM, TOK, TOK, DLM, TOK, TOK, DLM,
    /* 0-9: */ TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, DLM, DLM, DLM, DLM, DLM, DLM,
    /* @A-O */ DLM, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK,
    /* P-Z_ */ TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, DLM, DLM, DLM, TOK, TOK,
    /* `a-o */ TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK,
    /* p-z~ */ TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, TOK, DLM, TOK, DLM, TOK, CTL,
};

static inline int char_class(unsigned char c)
{
    return c < 128 ? ascii_class[c] : OBS;
}

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static bool equals_ignoring_case(const char *text, size_t length, const char *word)
{
    size_t i;
    for (i = 0; i < length; i++)
        if (word[i] == '\0' || lower((unsigned char)text[i]) != lower((unsigned char)word[i]))
            return false;
    return word[i] == '\0';
}

/* ---------------------------------------------------------------------- */
/* Methods                                                                  */

static const char *const method_names[] = {
    [HTTP_METHOD_UNKNOWN] = "UNKNOWN",
    [HTTP_METHOD_GET] = "GET",
    [HTTP_METHOD_HEAD] = "HEAD",
    [HTTP_METHOD_POST] = "POST",
    [HTTP_METHOD_PUT] = "PUT",
    [HTTP_METHOD_DELETE] = "DELETE",
    [HTTP_METHOD_CONNECT] = "CONNECT",
    [HTTP_METHOD_OPTIONS] = "OPTIONS",
    [HTTP_METHOD_TRACE] = "TRACE",
    [HTTP_METHOD_PATCH] = "PATCH",
};

/* "UNKNOWN" rather than NULL for methods we do not know, so that a log line
 * can print it blindly; the text as sent is in parser->method_text. */
const char *http_method_name(http_method method)
{
    if ((unsigned)method >= COUNT_OF(method_names))
        return method_names[HTTP_METHOD_UNKNOWN];
    return method_names[method];
}

/* Methods are case-sensitive (RFC 9110 9.1): "get" is an unknown method. */
static http_method method_from_text(const char *text, size_t length)
{
    for (size_t m = HTTP_METHOD_GET; m < COUNT_OF(method_names); m++)
        if (strlen(method_names[m]) == length && memcmp(method_names[m], text, length) == 0)
            return (http_method)m;
    return HTTP_METHOD_UNKNOWN;
}

/* ---------------------------------------------------------------------- */
/* Request head                                                             */

enum head_state {
    H_LINE_START = 0,    /* before the method; empty lines are skipped here */
    H_LEADING_LF,
    H_METHOD,
    H_TARGET_START,
    H_TARGET,
    H_VERSION,           /* "HTTP/" DIGIT "." DIGIT, matched from mark */
    H_REQUEST_LINE_CR,
    H_REQUEST_LINE_LF,   /* first state not counted in the request line */
    H_FIELD_START,
    H_FIELD_NAME,
    H_VALUE_START,
    H_VALUE,             /* last state counted in a field line */
    H_FIELD_LF,
    H_HEAD_END_LF,
    H_DONE,
    H_ERROR,
};

#define INITIAL_FIELD_CAPACITY 16
#define CONTENT_LENGTH_MAX ((int64_t)1 << 62)

void http_parser_init(http_parser *parser, const http_limits *limits, pool *p)
{
    memset(parser, 0, sizeof(*parser));
    parser->state = H_LINE_START;
    parser->limits = *limits;
    parser->pool = p;
    parser->method = HTTP_METHOD_UNKNOWN;
    parser->content_length = -1;
}

COLD static int fail(http_parser *parser, uint32_t position, int status, const char *reason)
{
    parser->state = H_ERROR;
    parser->position = position;
    parser->error_status = status;
    parser->error_reason = reason;
    return WEFT_ERROR;
}

/* The slot fields[field_count] must exist before the name is recorded in it. */
static void reserve_field_slot(http_parser *parser)
{
    if (parser->field_count < parser->field_capacity)
        return;
    uint32_t capacity = parser->field_capacity ? parser->field_capacity * 2 : INITIAL_FIELD_CAPACITY;
    http_field *fields = pool_alloc(parser->pool, capacity * sizeof(*fields));
    if (parser->field_count)
        memcpy(fields, parser->fields, parser->field_count * sizeof(*fields));
    parser->fields = fields;
    parser->field_capacity = capacity;
}

static int derive_message_facts(http_parser *parser, const char *data);

int http_parse_request(http_parser *parser, const char *data, size_t length)
{
    if (parser->state == H_DONE)
        return WEFT_OK;
    if (parser->state == H_ERROR)
        return WEFT_ERROR;

    /* Offsets are 32-bit; a head that large is refused below, long before
     * any sane limit would let it get there. */
    uint32_t end = length > UINT32_MAX ? UINT32_MAX : (uint32_t)length;
    const unsigned char *bytes = (const unsigned char *)data;
    const http_limits *limits = &parser->limits;
    int state = parser->state;
    uint32_t p;
    /* The whole head is bounded too: the loop stops at the limit, so the
     * check costs nothing per byte. */
    uint32_t stop = end;
    if (limits->limit_request_head && stop > limits->limit_request_head)
        stop = limits->limit_request_head;

    for (p = parser->position; p < stop; p++) {
        unsigned char c = bytes[p];
        int cls = char_class(c);

        /* Leading empty lines count toward the request line, so the bound
         * is simply the offset; the CR that ends the line is not counted. */
        if (state < H_REQUEST_LINE_LF && p >= limits->limit_request_line &&
            !(state == H_REQUEST_LINE_CR && c == '\r'))
            return fail(parser, p, 414, "request line too long");
        if (state >= H_FIELD_START && state <= H_VALUE && c != '\r' &&
            p - parser->line_start >= limits->limit_request_field_size)
            return fail(parser, p, 431, "header field too long");

        switch (state) {
        case H_LINE_START:
            if (cls == TOK) {
                parser->mark = p;
                state = H_METHOD;
            } else if (c == '\r') {
                state = H_LEADING_LF;
            } else {
                return fail(parser, p, 400, "bad request line");
            }
            break;

        case H_LEADING_LF:
            if (c != '\n')
                return fail(parser, p, 400, "bare CR");
            state = H_LINE_START;
            break;

        case H_METHOD:
            if (cls == TOK)
                break;
            if (c != ' ')
                return fail(parser, p, 400, "bad method");
            parser->method_text = (http_span){ parser->mark, p - parser->mark };
            parser->method = method_from_text(data + parser->mark, p - parser->mark);
            state = H_TARGET_START;
            break;

        case H_TARGET_START:
            if (cls != TOK && cls != DLM)
                return fail(parser, p, 400, "bad request target");
            parser->mark = p;
            state = H_TARGET;
            break;

        case H_TARGET:
            /* Raw UTF-8 (obs-text) is not valid in a URI, but browsers and
             * tools send it and Apache and nginx accept it; the URI layer
             * treats it as an opaque byte. */
            if (cls == TOK || cls == DLM || cls == OBS)
                break;
            if (c != ' ')
                return fail(parser, p, 400, "bad request target");
            parser->target = (http_span){ parser->mark, p - parser->mark };
            parser->mark = p + 1;
            state = H_VERSION;
            break;

        case H_VERSION: {
            /* Case-sensitive (RFC 9112 2.3): "http/1.1" is a 400. */
            uint32_t index = p - parser->mark;
            unsigned char expected = (unsigned char)"HTTP/#.#"[index];
            if (expected == '#' ? (c < '0' || c > '9') : c != expected)
                return fail(parser, p, 400, "bad HTTP version");
            if (index == 5)
                parser->version_major = c - '0';
            if (index == 7) {
                parser->version_minor = c - '0';
                state = H_REQUEST_LINE_CR;
            }
            break;
        }

        case H_REQUEST_LINE_CR:
            if (c != '\r')
                return fail(parser, p, 400, "bad HTTP version");
            state = H_REQUEST_LINE_LF;
            break;

        case H_REQUEST_LINE_LF:
            if (c != '\n')
                return fail(parser, p, 400, "bare CR");
            /* Only now, so that a malformed line stays a 400. */
            if (parser->version_major != 1)
                return fail(parser, p, 505, "HTTP version not supported");
            parser->line_start = p + 1;
            state = H_FIELD_START;
            break;

        case H_FIELD_START:
            if (c == '\r') {
                state = H_HEAD_END_LF;
            } else if (cls == TOK) {
                if (limits->limit_request_fields && parser->field_count >= limits->limit_request_fields)
                    return fail(parser, p, 431, "too many header fields");
                reserve_field_slot(parser);
                state = H_FIELD_NAME;
            } else if (cls == WSP) {
                /* obs-fold, or whitespace before the first field (RFC 9112
                 * 2.2): both let a field hide from some recipients. */
                return fail(parser, p, 400, "line folding");
            } else {
                return fail(parser, p, 400, "bad header field name");
            }
            break;

        case H_FIELD_NAME:
            if (cls == TOK)
                break;
            if (c != ':')
                return fail(parser, p, 400, "bad header field name");
            parser->fields[parser->field_count].name =
                (http_span){ parser->line_start, p - parser->line_start };
            state = H_VALUE_START;
            break;

        case H_VALUE_START:
            if (cls == WSP)
                break;
            if (c == '\r') {
                parser->mark = parser->value_end = p;
                state = H_FIELD_LF;
            } else if (cls == CTL) {
                return fail(parser, p, 400, "bad header field value");
            } else {
                parser->mark = p;
                parser->value_end = p + 1;
                state = H_VALUE;
            }
            break;

        case H_VALUE:
            if (cls == TOK || cls == DLM || cls == OBS)
                parser->value_end = p + 1;
            else if (c == '\r')
                state = H_FIELD_LF;
            else if (cls != WSP)
                return fail(parser, p, 400, "bad header field value");
            break;

        case H_FIELD_LF:
            if (c != '\n')
                return fail(parser, p, 400, "bare CR");
            parser->fields[parser->field_count].value =
                (http_span){ parser->mark, parser->value_end - parser->mark };
            parser->field_count++;
            parser->line_start = p + 1;
            state = H_FIELD_START;
            break;

        case H_HEAD_END_LF:
            if (c != '\n')
                return fail(parser, p, 400, "bare CR");
            parser->head_length = p + 1;
            parser->position = p + 1;
            if (derive_message_facts(parser, data) != WEFT_OK)
                return WEFT_ERROR;
            parser->state = H_DONE;
            return WEFT_OK;

        default:
            return fail(parser, p, 400, "parser state corrupt");
        }
    }

    parser->position = p;
    parser->state = state;
    if (p < end) {
        /* At limit_request_head with more to come: a request line that
         * long is a too-long URI, anything else too many header bytes. */
        if (state < H_REQUEST_LINE_LF)
            return fail(parser, p, 414, "request line longer than the request head limit");
        return fail(parser, p, 431, "request head too large");
    }
    if (end == UINT32_MAX)
        return fail(parser, p, 431, "request head too large");
    return WEFT_AGAIN;
}

const http_field *http_find_field(const http_parser *parser, const char *data, const char *name)
{
    for (uint32_t i = 0; i < parser->field_count; i++) {
        const http_field *field = &parser->fields[i];
        if (equals_ignoring_case(data + field->name.offset, field->name.length, name))
            return field;
    }
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* Field values that carry framing or connection semantics                 */

/* One element of a comma-separated list (RFC 9110 5.6.1):
 *   token *( OWS ";" OWS token "=" ( token / quoted-string ) )
 * Empty elements are skipped, as the RFC requires of recipients.  Returns
 * WEFT_OK with the token in element (and whether parameters followed),
 * WEFT_DONE at the end of the list, WEFT_ERROR on bad syntax. */
typedef struct {
    const unsigned char *text;
    size_t length;
    size_t at;
} list_cursor;

static void skip_whitespace(list_cursor *list)
{
    while (list->at < list->length && char_class(list->text[list->at]) == WSP)
        list->at++;
}

static bool take_token(list_cursor *list)
{
    size_t start = list->at;
    while (list->at < list->length && char_class(list->text[list->at]) == TOK)
        list->at++;
    return list->at > start;
}

static bool take_quoted_string(list_cursor *list)
{
    if (list->at >= list->length || list->text[list->at] != '"')
        return false;
    for (list->at++; list->at < list->length; list->at++) {
        unsigned char c = list->text[list->at];
        if (c == '"') {
            list->at++;
            return true;
        }
        if (c == '\\' && ++list->at >= list->length)
            return false;
    }
    return false;
}

static int next_list_element(list_cursor *list, http_span *element, bool *has_parameters)
{
    for (;;) {
        skip_whitespace(list);
        if (list->at >= list->length)
            return WEFT_DONE;
        if (list->text[list->at] != ',')
            break;
        list->at++;
    }
    size_t start = list->at;
    if (!take_token(list))
        return WEFT_ERROR;
    *element = (http_span){ (uint32_t)start, (uint32_t)(list->at - start) };
    *has_parameters = false;
    for (;;) {
        skip_whitespace(list);
        if (list->at >= list->length)
            return WEFT_OK;
        unsigned char c = list->text[list->at++];
        if (c == ',')
            return WEFT_OK;
        if (c != ';')
            return WEFT_ERROR;
        *has_parameters = true;
        skip_whitespace(list);
        if (!take_token(list) || list->at >= list->length || list->text[list->at++] != '=')
            return WEFT_ERROR;
        if (!take_token(list) && !take_quoted_string(list))
            return WEFT_ERROR;
    }
}

/* Host = uri-host [ ":" port ] (RFC 9110 7.2): the characters of reg-name,
 * IP-literal and port.  Anything else is an invalid Host, a 400. */
static bool is_valid_host(const unsigned char *text, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        unsigned char c = text[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  (c != '\0' && strchr("-._~!$&'()*+,;=:[]%", c) != NULL);
        if (!ok)
            return false;
    }
    return true;
}

/* Content-Length = 1*DIGIT, or a list of identical values (RFC 9110 8.6). */
static int merge_content_length(http_parser *parser, const unsigned char *value, size_t length)
{
    list_cursor list = { value, length, 0 };
    http_span element;
    bool has_parameters;
    int rc;
    bool any = false;

    while ((rc = next_list_element(&list, &element, &has_parameters)) == WEFT_OK) {
        if (has_parameters)
            return WEFT_ERROR;
        int64_t number = 0;
        for (uint32_t i = 0; i < element.length; i++) {
            unsigned char c = value[element.offset + i];
            if (c < '0' || c > '9')
                return WEFT_ERROR;
            if (number > (CONTENT_LENGTH_MAX - (c - '0')) / 10)
                return WEFT_ERROR;
            number = number * 10 + (c - '0');
        }
        if (parser->content_length >= 0 && parser->content_length != number)
            return WEFT_ERROR;
        parser->content_length = number;
        any = true;
    }
    return (rc == WEFT_DONE && any) ? WEFT_OK : WEFT_ERROR;
}

typedef struct {
    bool present;
    bool last_is_chunked;
    bool other_coding;
    unsigned chunked_count;
} transfer_codings;

static int add_transfer_codings(transfer_codings *codings, const unsigned char *value, size_t length)
{
    list_cursor list = { value, length, 0 };
    http_span element;
    bool has_parameters;
    int rc;

    codings->present = true;
    while ((rc = next_list_element(&list, &element, &has_parameters)) == WEFT_OK) {
        bool chunked = equals_ignoring_case((const char *)value + element.offset, element.length, "chunked");
        if (chunked && has_parameters)
            return WEFT_ERROR;  /* chunked defines no parameters */
        codings->chunked_count += chunked;
        codings->other_coding |= !chunked;
        codings->last_is_chunked = chunked;
    }
    return rc == WEFT_DONE ? WEFT_OK : WEFT_ERROR;
}

static int add_connection_options(http_parser *parser, const unsigned char *value, size_t length)
{
    list_cursor list = { value, length, 0 };
    http_span element;
    bool has_parameters;
    int rc;

    while ((rc = next_list_element(&list, &element, &has_parameters)) == WEFT_OK) {
        const char *option = (const char *)value + element.offset;
        if (has_parameters)
            return WEFT_ERROR;
        if (equals_ignoring_case(option, element.length, "close"))
            parser->connection_close = true;
        else if (equals_ignoring_case(option, element.length, "keep-alive"))
            parser->connection_keep_alive = true;
    }
    return rc == WEFT_DONE ? WEFT_OK : WEFT_ERROR;
}

static int derive_message_facts(http_parser *parser, const char *data)
{
    transfer_codings codings = { 0 };
    unsigned host_count = 0;
    uint32_t at = parser->head_length;

    for (uint32_t i = 0; i < parser->field_count; i++) {
        const http_field *field = &parser->fields[i];
        const char *name = data + field->name.offset;
        const unsigned char *value = (const unsigned char *)data + field->value.offset;
        size_t name_length = field->name.length, value_length = field->value.length;

        if (equals_ignoring_case(name, name_length, "host")) {
            if (++host_count > 1)
                return fail(parser, at, 400, "more than one Host");
            if (!is_valid_host(value, value_length))
                return fail(parser, at, 400, "invalid Host");
            parser->has_host = true;
            parser->host = field->value;
        } else if (equals_ignoring_case(name, name_length, "content-length")) {
            if (merge_content_length(parser, value, value_length) != WEFT_OK)
                return fail(parser, at, 400, "invalid Content-Length");
        } else if (equals_ignoring_case(name, name_length, "transfer-encoding")) {
            if (add_transfer_codings(&codings, value, value_length) != WEFT_OK)
                return fail(parser, at, 400, "invalid Transfer-Encoding");
        } else if (equals_ignoring_case(name, name_length, "connection")) {
            if (add_connection_options(parser, value, value_length) != WEFT_OK)
                return fail(parser, at, 400, "invalid Connection");
        } else if (equals_ignoring_case(name, name_length, "expect")) {
            if (equals_ignoring_case((const char *)value, value_length, "100-continue"))
                parser->expect_continue = true;
            else
                parser->expect_other = true;
        }
    }

    if (parser->version_minor >= 1 && host_count == 0)
        return fail(parser, at, 400, "missing Host");

    if (codings.present) {
        /* RFC 9112 6.1 and 6.3: each of these makes the body length
         * ambiguous between us and some other hop, the root of smuggling. */
        if (parser->version_minor == 0)
            return fail(parser, at, 400, "Transfer-Encoding in HTTP/1.0");
        if (parser->content_length >= 0)
            return fail(parser, at, 400, "both Content-Length and Transfer-Encoding");
        if (codings.chunked_count != 1 || !codings.last_is_chunked)
            return fail(parser, at, 400, "chunked must be the final coding, once");
        if (codings.other_coding)
            return fail(parser, at, 501, "unsupported transfer coding");
        parser->chunked = true;
    }
    return WEFT_OK;
}

/* ---------------------------------------------------------------------- */
/* Chunked transfer coding (RFC 9112 7.1)                                   */

enum chunked_state {
    C_SIZE_START = 0,    /* first HEXDIG of chunk-size */
    C_SIZE,
    C_EXT_BWS,           /* whitespace seen; only ";" may follow */
    C_EXT_NAME_START,
    C_EXT_NAME,
    C_EXT_AFTER_NAME,    /* whitespace after a name; "=" or ";" may follow */
    C_EXT_VALUE_START,
    C_EXT_TOKEN_VALUE,
    C_EXT_QUOTED,
    C_EXT_QUOTED_PAIR,
    C_EXT_AFTER_QUOTED,
    C_SIZE_LF,           /* first state not counted in the size line */
    C_DATA,
    C_DATA_CR,
    C_DATA_LF,
    C_TRAILER_START,
    C_TRAILER_NAME,
    C_TRAILER_VALUE,
    C_TRAILER_LF,
    C_FINAL_LF,
    C_DONE,
    C_ERROR,
};

void http_chunked_init(http_chunked_decoder *decoder, uint32_t limit_line, uint32_t limit_trailers)
{
    memset(decoder, 0, sizeof(*decoder));
    decoder->state = C_SIZE_START;
    decoder->limit_line = limit_line;
    decoder->limit_trailers = limit_trailers;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int http_chunked_decode(http_chunked_decoder *decoder, char *data, size_t length,
                        size_t *consumed, size_t *decoded)
{
    size_t p = 0, out = 0;
    int state = decoder->state;
    int rc = WEFT_AGAIN;

    *consumed = 0;
    *decoded = 0;
    if (state == C_DONE)
        return WEFT_OK;
    if (state == C_ERROR)
        return WEFT_ERROR;

    while (p < length) {
        if (state == C_DATA) {
            /* Body bytes are the bulk: move them in one go.  out <= p always,
             * so the copy never overwrites input not yet read. */
            size_t run = length - p;
            if (run > decoder->chunk_remaining)
                run = (size_t)decoder->chunk_remaining;
            memmove(data + out, data + p, run);
            out += run;
            p += run;
            decoder->chunk_remaining -= run;
            if (decoder->chunk_remaining == 0)
                state = C_DATA_CR;
            continue;
        }

        unsigned char c = (unsigned char)data[p++];
        int cls = char_class(c);

        if (state < C_SIZE_LF && c != '\r' && ++decoder->line_length > decoder->limit_line)
            goto malformed;
        /* The CRLF that ends the trailer section is not a trailer. */
        if (state >= C_TRAILER_START && state <= C_TRAILER_LF &&
            !(state == C_TRAILER_START && c == '\r') &&
            ++decoder->trailer_bytes > decoder->limit_trailers)
            goto malformed;

        switch (state) {
        case C_SIZE_START:
        case C_SIZE: {
            int digit = hex_value(c);
            if (digit >= 0) {
                if (decoder->chunk_remaining > ((uint64_t)INT64_MAX - (uint64_t)digit) / 16)
                    goto malformed;  /* 2^63 and beyond */
                decoder->chunk_remaining = decoder->chunk_remaining * 16 + (uint64_t)digit;
                state = C_SIZE;
            } else if (state == C_SIZE_START) {
                goto malformed;
            } else if (c == ';') {
                state = C_EXT_NAME_START;
            } else if (cls == WSP) {
                state = C_EXT_BWS;
            } else if (c == '\r') {
                state = C_SIZE_LF;
            } else {
                goto malformed;
            }
            break;
        }

        case C_EXT_BWS:
            if (c == ';')
                state = C_EXT_NAME_START;
            else if (cls != WSP)
                goto malformed;
            break;

        case C_EXT_NAME_START:
            if (cls == TOK)
                state = C_EXT_NAME;
            else if (cls != WSP)
                goto malformed;
            break;

        case C_EXT_NAME:
        case C_EXT_AFTER_NAME:
            if (cls == TOK && state == C_EXT_NAME)
                break;
            if (c == '=')
                state = C_EXT_VALUE_START;
            else if (c == ';')
                state = C_EXT_NAME_START;
            else if (cls == WSP)
                state = C_EXT_AFTER_NAME;
            else if (c == '\r' && state == C_EXT_NAME)
                state = C_SIZE_LF;
            else
                goto malformed;
            break;

        case C_EXT_VALUE_START:
            if (c == '"')
                state = C_EXT_QUOTED;
            else if (cls == TOK)
                state = C_EXT_TOKEN_VALUE;
            else if (cls != WSP)
                goto malformed;
            break;

        case C_EXT_TOKEN_VALUE:
        case C_EXT_AFTER_QUOTED:
            if (cls == TOK && state == C_EXT_TOKEN_VALUE)
                break;
            if (c == ';')
                state = C_EXT_NAME_START;
            else if (cls == WSP)
                state = C_EXT_BWS;
            else if (c == '\r')
                state = C_SIZE_LF;
            else
                goto malformed;
            break;

        case C_EXT_QUOTED:
            if (c == '"')
                state = C_EXT_AFTER_QUOTED;
            else if (c == '\\')
                state = C_EXT_QUOTED_PAIR;
            else if (cls == CTL)
                goto malformed;
            break;

        case C_EXT_QUOTED_PAIR:
            if (cls == CTL)
                goto malformed;
            state = C_EXT_QUOTED;
            break;

        case C_SIZE_LF:
            if (c != '\n')
                goto malformed;
            decoder->line_length = 0;
            state = decoder->chunk_remaining ? C_DATA : C_TRAILER_START;
            break;

        case C_DATA_CR:
            if (c != '\r')
                goto malformed;
            state = C_DATA_LF;
            break;

        case C_DATA_LF:
            if (c != '\n')
                goto malformed;
            state = C_SIZE_START;
            break;

        case C_TRAILER_START:
            if (c == '\r') {
                state = C_FINAL_LF;
            } else if (cls == TOK) {
                state = C_TRAILER_NAME;
            } else {
                goto malformed;  /* includes obs-fold */
            }
            break;

        case C_TRAILER_NAME:
            if (c == ':')
                state = C_TRAILER_VALUE;
            else if (cls != TOK)
                goto malformed;
            break;

        case C_TRAILER_VALUE:
            if (c == '\r')
                state = C_TRAILER_LF;
            else if (cls == CTL)
                goto malformed;
            break;

        case C_TRAILER_LF:
            if (c != '\n')
                goto malformed;
            state = C_TRAILER_START;
            break;

        case C_FINAL_LF:
            if (c != '\n')
                goto malformed;
            state = C_DONE;
            rc = WEFT_OK;
            goto finish;

        default:
            goto malformed;
        }
    }

finish:
    decoder->state = state;
    *consumed = p;
    *decoded = out;
    return rc;

malformed:
    decoder->state = C_ERROR;
    decoder->error_status = 400;
    *consumed = p;
    *decoded = out;
    return WEFT_ERROR;
}
