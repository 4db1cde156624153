/*
 * fastcgi.c — FastCGI records (see fastcgi.h).
 */
#include "fastcgi.h"

#include <string.h>

#include "../core/common.h"

static void append_header(buffer *out, int type, uint16_t request_id, size_t content_length, size_t padding)
{
    unsigned char header[FCGI_HEADER_LENGTH] = {
        FCGI_VERSION, (unsigned char)type, (unsigned char)(request_id >> 8), (unsigned char)request_id,
        (unsigned char)(content_length >> 8), (unsigned char)content_length, (unsigned char)padding, 0,
    };
    buffer_append(out, header, sizeof(header));
}

void fcgi_append_record(buffer *out, int type, uint16_t request_id, const void *content, size_t content_length)
{
    append_header(out, type, request_id, content_length, 0);
    if (content_length)
        buffer_append(out, content, content_length);
}

void fcgi_append_begin(buffer *out, uint16_t request_id, bool keep_conn)
{
    unsigned char body[8] = { 0, FCGI_RESPONDER, keep_conn ? FCGI_KEEP_CONN : 0, 0, 0, 0, 0, 0 };
    fcgi_append_record(out, FCGI_BEGIN_REQUEST, request_id, body, sizeof(body));
}

static void append_length(buffer *out, size_t length)
{
    if (length < 128) {
        buffer_append_char(out, (char)length);
        return;
    }
    unsigned char bytes[4] = { (unsigned char)(0x80 | ((length >> 24) & 0x7F)), (unsigned char)(length >> 16),
                               (unsigned char)(length >> 8), (unsigned char)length };
    buffer_append(out, bytes, sizeof(bytes));
}

void fcgi_append_pair(buffer *out, const char *name, size_t name_length, const char *value, size_t value_length)
{
    append_length(out, name_length);
    append_length(out, value_length);
    buffer_append(out, name, name_length);
    buffer_append(out, value, value_length);
}

/* The length of the pair at data (whose lengths fit in length), 0 if it
 * does not. */
static size_t pair_size(const unsigned char *data, size_t length)
{
    size_t at = 0, total = 0;
    for (int part = 0; part < 2; part++) {
        if (at >= length)
            return 0;
        size_t value;
        if (data[at] < 128) {
            value = data[at];
            at += 1;
        } else {
            if (at + 4 > length)
                return 0;
            value = ((size_t)(data[at] & 0x7F) << 24) | ((size_t)data[at + 1] << 16) | ((size_t)data[at + 2] << 8) |
                    data[at + 3];
            at += 4;
        }
        total += value;
    }
    return at + total <= length ? at + total : 0;
}

bool fcgi_append_params(buffer *out, uint16_t request_id, const char *pairs, size_t length)
{
    const unsigned char *data = (const unsigned char *)pairs;
    size_t start = 0;
    while (start < length) {
        size_t end = start;
        while (end < length) {
            size_t size = pair_size(data + end, length - end);
            if (size == 0)
                return false;
            if (end + size - start > FCGI_MAX_CONTENT)
                break;
            end += size;
        }
        if (end == start)
            return false;  /* one pair larger than a record */
        fcgi_append_record(out, FCGI_PARAMS, request_id, pairs + start, end - start);
        start = end;
    }
    fcgi_append_record(out, FCGI_PARAMS, request_id, NULL, 0);
    return true;
}

void fcgi_append_stream(buffer *out, int type, uint16_t request_id, const char *data, size_t length)
{
    while (length > 0) {
        size_t take = length < FCGI_MAX_CONTENT ? length : FCGI_MAX_CONTENT;
        fcgi_append_record(out, type, request_id, data, take);
        data += take;
        length -= take;
    }
}

void fcgi_decoder_init(fcgi_decoder *d)
{
    memset(d, 0, sizeof(*d));
}

int fcgi_decode(fcgi_decoder *d, const char *data, size_t length, size_t *consumed, fcgi_piece *piece)
{
    size_t at = 0;
    memset(piece, 0, sizeof(*piece));
    for (;;) {
        if (!d->in_record) {
            size_t take = FCGI_HEADER_LENGTH - d->header_have;
            if (take > length - at)
                take = length - at;
            if (take)
                memcpy(d->header + d->header_have, data + at, take);
            d->header_have += take;
            at += take;
            if (d->header_have < FCGI_HEADER_LENGTH) {
                *consumed = at;
                return WEFT_AGAIN;
            }
            if (d->header[0] != FCGI_VERSION) {
                *consumed = at;
                return WEFT_ERROR;
            }
            d->type = d->header[1];
            d->request_id = (uint16_t)((d->header[2] << 8) | d->header[3]);
            d->content_left = ((size_t)d->header[4] << 8) | d->header[5];
            d->padding_left = d->header[6];
            d->small_have = 0;
            d->in_record = true;
            if (d->type == FCGI_END_REQUEST && d->content_left != 8) {
                *consumed = at;
                return WEFT_ERROR;
            }
        }
        piece->type = d->type;
        piece->request_id = d->request_id;
        if (d->content_left > 0) {
            size_t take = d->content_left < length - at ? d->content_left : length - at;
            if (take == 0) {
                *consumed = at;
                return WEFT_AGAIN;
            }
            d->content_left -= take;
            if (d->type == FCGI_STDOUT || d->type == FCGI_STDERR) {
                piece->data = data + at;
                piece->length = take;
                *consumed = at + take;
                return WEFT_OK;
            }
            if (d->type == FCGI_END_REQUEST)
                memcpy(d->small + d->small_have, data + at, take);
            d->small_have += take;
            at += take;
            continue;
        }
        if (d->padding_left > 0) {
            size_t take = d->padding_left < length - at ? d->padding_left : length - at;
            if (take == 0) {
                *consumed = at;
                return WEFT_AGAIN;
            }
            d->padding_left -= take;
            at += take;
            continue;
        }
        piece->record_end = true;
        if (d->type == FCGI_END_REQUEST) {
            piece->app_status = ((uint32_t)d->small[0] << 24) | ((uint32_t)d->small[1] << 16) |
                                ((uint32_t)d->small[2] << 8) | d->small[3];
            piece->protocol_status = d->small[4];
        }
        d->in_record = false;
        d->header_have = 0;
        *consumed = at;
        return WEFT_OK;
    }
}
