/*
 * filter.c — the output filter chain (see filter.h).
 *
 * The chain lives in the request pool; its buffers are malloc'ed (they grow
 * with the filters' output) and freed by a pool cleanup.  The source is the
 * body the handler set up, walked as a sequence of memory and file
 * segments; each pull reads one input chunk, runs it through every active
 * filter in order, and frames the result (chunk size line and CRLF) in one
 * buffer the connection writes with a single writev.
 */
#include "filter.h"

#include <errno.h>
#include <stdio.h>
#include <strings.h>
#include <unistd.h>

#include "response.h"

#define FILTER_DEFAULT_CHUNK 8192
#define FILTER_MAX_CHUNK (1u << 20)

typedef struct output_filter_chain {
    output_filter *first;
    output_filter *last;
    bool started;
    bool active;        /* some filter transforms the body */
    bool chunked;
    bool finished;      /* the last piece has been handed out */
    size_t chunk_size;
    uint64_t framing;   /* chunk size lines and CRLFs handed out */
    /* The source, a sequence of segments (BODY_MEMORY is one, BODY_FILE
     * one, BODY_PIECES several). */
    int source_index;
    const char *segment_data;  /* NULL: a file segment */
    off_t segment_offset;
    size_t segment_left;
    buffer input;       /* a file segment's chunk */
    buffer framed;      /* what the connection sends next */
} output_filter_chain;

static void free_chain(void *data)
{
    output_filter_chain *chain = data;
    for (output_filter *f = chain->first; f; f = f->next)
        buffer_free(&f->out);
    buffer_free(&chain->input);
    buffer_free(&chain->framed);
}

output_filter *output_filter_add(request *r, const output_filter_type *type, void *context)
{
    output_filter_chain *chain = r->filters;
    if (!chain) {
        chain = pool_calloc(r->pool, sizeof(*chain));
        pool_cleanup_add(r->pool, free_chain, chain);
        r->filters = chain;
    }
    output_filter *existing = output_filter_find(r, type);
    if (existing)
        return existing;
    output_filter *f = pool_calloc(r->pool, sizeof(*f));
    f->type = type;
    f->context = context;
    if (chain->last)
        chain->last->next = f;
    else
        chain->first = f;
    chain->last = f;
    return f;
}

output_filter *output_filter_find(const request *r, const output_filter_type *type)
{
    if (!r->filters)
        return NULL;
    for (output_filter *f = r->filters->first; f; f = f->next)
        if (f->type == type)
            return f;
    return NULL;
}

bool output_filters_active(const request *r)
{
    return r->filters && r->filters->active;
}

const char *response_header_value(const request *r, const char *name)
{
    for (int i = 0; i < r->header_count; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

void response_remove_header(request *r, const char *name)
{
    int kept = 0;
    for (int i = 0; i < r->header_count; i++)
        if (strcasecmp(r->headers[i].name, name) != 0)
            r->headers[kept++] = r->headers[i];
    r->header_count = kept;
}

void response_merge_header_token(request *r, const char *name, const char *token)
{
    for (int i = 0; i < r->header_count; i++) {
        if (strcasecmp(r->headers[i].name, name) != 0)
            continue;
        slice list = slice_from_string(r->headers[i].value);
        if (slice_list_contains_token(list, token) || slice_list_contains_token(list, "*"))
            return;
        r->headers[i].value = pool_printf(r->pool, "%s, %s", r->headers[i].value, token);
        return;
    }
    response_add_header_constant(r, name, token);
}

static bool body_allowed(const request *r)
{
    return r->status >= 200 && r->status != 204 && r->status != 304;
}

bool output_filters_start(request *r)
{
    output_filter_chain *chain = r->filters;
    if (!chain)
        return false;
    if (chain->started)
        return chain->active;
    chain->started = true;
    chain->chunk_size = FILTER_DEFAULT_CHUNK;
    for (output_filter *f = chain->first; f; f = f->next) {
        f->active = f->type->start(r, f) == WEFT_OK;
        if (!f->active)
            continue;
        chain->active = true;
        if (f->chunk_hint > chain->chunk_size)
            chain->chunk_size = f->chunk_hint > FILTER_MAX_CHUNK ? FILTER_MAX_CHUNK : f->chunk_hint;
    }
    if (!chain->active)
        return false;
    /* The body the client gets is not the one these described. */
    response_remove_header(r, "Content-Length");
    response_remove_header(r, "Content-MD5");
    response_remove_header(r, "Accept-Ranges");
    bool http11 = r->version_major > 1 || (r->version_major == 1 && r->version_minor >= 1);
    chain->chunked = http11 && body_allowed(r) && !r->head_only;
    if (!http11 && body_allowed(r) && !r->head_only)
        r->keep_alive = false;  /* HTTP/1.0: the end of the body is the end of the connection */
    chain->source_index = -1;
    return true;
}

void output_filters_discard(request *r)
{
    output_filter_chain *chain = r->filters;
    if (chain && !chain->started)
        chain->first = chain->last = NULL;
}

bool output_filters_chunked(const request *r)
{
    return r->filters && r->filters->active && r->filters->chunked;
}

/* Runs input through the active filters; the result is in *out. */
static int run_filters(request *r, const char *data, size_t length, bool last, const char **out,
                       size_t *out_length)
{
    if (!data)
        data = "";  /* a filter may hand its input straight to memcpy */
    for (output_filter *f = r->filters->first; f; f = f->next) {
        if (!f->active)
            continue;
        buffer_clear(&f->out);
        if (f->type->write(r, f, data, length, last, &f->out) != WEFT_OK)
            return WEFT_ERROR;
        data = f->out.data;
        length = f->out.length;
    }
    *out = data;
    *out_length = length;
    return WEFT_OK;
}

static void frame(output_filter_chain *chain, const char *data, size_t length, bool last)
{
    buffer_clear(&chain->framed);
    size_t before = length;
    if (chain->chunked && length > 0) {
        char size_line[24];
        int size_length = snprintf(size_line, sizeof(size_line), "%zx\r\n", length);
        buffer_append(&chain->framed, size_line, (size_t)size_length);
    }
    if (length > 0)
        buffer_append(&chain->framed, data, length);
    if (chain->chunked && length > 0)
        buffer_append(&chain->framed, "\r\n", 2);
    if (chain->chunked && last)
        buffer_append(&chain->framed, "0\r\n\r\n", 5);
    chain->framing += chain->framed.length - before;
}

void output_filters_uncount_framing(request *r)
{
    output_filter_chain *chain = r->filters;
    uint64_t framing = chain->framing < r->body_bytes_sent ? chain->framing : r->body_bytes_sent;
    r->body_bytes_sent -= framing;  /* exact unless the client left mid-body */
    chain->framing = 0;
}

int output_filters_push(request *r, const char *input, size_t input_length, bool last,
                        const char **data, size_t *length)
{
    output_filter_chain *chain = r->filters;
    const char *out;
    size_t out_length;
    if (run_filters(r, input, input_length, last, &out, &out_length) != WEFT_OK)
        return WEFT_ERROR;
    frame(chain, out, out_length, last);
    *data = chain->framed.data ? chain->framed.data : "";
    *length = chain->framed.length;
    return WEFT_OK;
}

/* Moves to the next segment of the source; false when there is none. */
static bool next_segment(request *r, output_filter_chain *chain)
{
    chain->source_index++;
    int index = chain->source_index;
    switch (r->body) {
    case BODY_MEMORY:
        if (index > 0)
            return false;
        chain->segment_data = r->body_data;
        chain->segment_left = (size_t)r->body_length;
        return true;
    case BODY_FILE:
        if (index > 0)
            return false;
        chain->segment_data = NULL;
        chain->segment_offset = r->body_offset;
        chain->segment_left = (size_t)r->body_length;
        return true;
    case BODY_PIECES:
        if (index >= r->body_piece_count)
            return false;
        chain->segment_data = r->body_pieces[index].data;
        chain->segment_offset = r->body_pieces[index].offset;
        chain->segment_left = r->body_pieces[index].length;
        return true;
    case BODY_NONE:
    case BODY_PULL:  /* never filtered (connection.c) */
        break;
    }
    return false;
}

/* The next input chunk: up to chunk_size bytes of the current segment. */
static int read_source(request *r, output_filter_chain *chain, const char **data, size_t *length, bool *last)
{
    while (chain->segment_left == 0) {
        if (!next_segment(r, chain)) {
            *data = "";
            *length = 0;
            *last = true;
            return WEFT_OK;
        }
    }
    size_t take = chain->segment_left < chain->chunk_size ? chain->segment_left : chain->chunk_size;
    if (chain->segment_data) {
        *data = chain->segment_data;
        chain->segment_data += take;
    } else {
        buffer_clear(&chain->input);
        buffer_reserve(&chain->input, take);
        ssize_t got;
        do
            got = pread(r->body_file, chain->input.data, take, chain->segment_offset);
        while (got < 0 && errno == EINTR);
        if (got <= 0)
            return WEFT_ERROR;  /* the file shrank under us: the promise cannot be kept */
        take = (size_t)got;
        chain->segment_offset += got;
        *data = chain->input.data;
    }
    chain->segment_left -= take;
    *length = take;
    /* Last only when nothing at all follows, so that the final write()
     * usually carries data too. */
    *last = chain->segment_left == 0 && (r->body != BODY_PIECES || chain->source_index + 1 >= r->body_piece_count);
    return WEFT_OK;
}

int output_filters_pull(request *r, const char **data, size_t *length)
{
    output_filter_chain *chain = r->filters;
    if (chain->finished) {
        *data = "";
        *length = 0;
        return WEFT_DONE;
    }
    for (;;) {
        const char *input;
        size_t input_length;
        bool last;
        if (read_source(r, chain, &input, &input_length, &last) != WEFT_OK)
            return WEFT_ERROR;
        if (output_filters_push(r, input, input_length, last, data, length) != WEFT_OK)
            return WEFT_ERROR;
        if (last) {
            chain->finished = true;
            return WEFT_DONE;
        }
        if (*length > 0)
            return WEFT_OK;
        /* The filters kept everything (a compressor filling its window):
         * feed them more before the connection writes. */
    }
}
