/*
 * config_lexer.c — Apache configuration syntax below the level of
 * directives: physical lines to logical lines, logical lines to arguments,
 * and arguments to values (the generic setters of config.h).
 */
#include "config_internal.h"

#include <limits.h>
#include <string.h>
#include <strings.h>

void config_reader_init(config_reader *reader, const char *text, size_t length, int first_line)
{
    reader->text = text;
    reader->length = length;
    reader->position = 0;
    reader->next_line = first_line;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void trim_in_place(buffer *line)
{
    size_t start = 0;
    while (start < line->length && is_blank(line->data[start]))
        start++;
    size_t end = line->length;
    while (end > start && is_blank(line->data[end - 1]))
        end--;
    if (start > 0)
        memmove(line->data, line->data + start, end - start);
    line->length = end - start;
    line->data[line->length] = '\0';
}

bool config_reader_next(config_reader *reader, buffer *line, int *line_number)
{
    if (reader->position >= reader->length)
        return false;
    buffer_clear(line);
    *line_number = reader->next_line;

    /* As in Apache, continuation is joined before anything else looks at
     * the line, so a comment ending in a backslash swallows the next line. */
    for (;;) {
        const char *start = reader->text + reader->position;
        size_t remaining = reader->length - reader->position;
        const char *newline = memchr(start, '\n', remaining);
        size_t length = newline ? (size_t)(newline - start) : remaining;
        reader->position += newline ? length + 1 : length;
        reader->next_line++;

        if (length > 0 && start[length - 1] == '\r')
            length--;
        bool continued = length > 0 && start[length - 1] == '\\' && reader->position < reader->length;
        buffer_append(line, start, continued ? length - 1 : length);
        if (!continued)
            break;
    }
    trim_in_place(line);
    return true;
}

/* Reads a quoted argument starting after the opening quote.  Only the quote
 * character and the backslash can be escaped: other backslashes are kept, so
 * that "C:\dir" style text and regular expressions survive unchanged. */
static const char *read_quoted(const char *cursor, char quote, buffer *word)
{
    while (*cursor && *cursor != quote) {
        if (cursor[0] == '\\' && (cursor[1] == quote || cursor[1] == '\\'))
            cursor++;
        buffer_append_char(word, *cursor++);
    }
    return *cursor == quote ? cursor + 1 : NULL;
}

int config_split_words(pool *p, const char *text, char ***argv, const char **problem)
{
    int count = 0, capacity = 8;
    char **words = pool_alloc(p, sizeof(char *) * (size_t)capacity);
    buffer word = { 0 };
    const char *cursor = text;

    for (;;) {
        while (is_blank(*cursor))
            cursor++;
        if (!*cursor)
            break;
        buffer_clear(&word);
        buffer_reserve(&word, 16);
        if (*cursor == '"' || *cursor == '\'') {
            char quote = *cursor;
            cursor = read_quoted(cursor + 1, quote, &word);
            if (!cursor) {
                *problem = quote == '"' ? "Unterminated quoted string: missing closing \""
                                        : "Unterminated quoted string: missing closing '";
                buffer_free(&word);
                return -1;
            }
        } else {
            const char *end = cursor;
            while (*end && !is_blank(*end))
                end++;
            buffer_append(&word, cursor, (size_t)(end - cursor));
            cursor = end;
        }
        if (count + 1 >= capacity) {
            char **bigger = pool_alloc(p, sizeof(char *) * (size_t)capacity * 2);
            memcpy(bigger, words, sizeof(char *) * (size_t)count);
            words = bigger;
            capacity *= 2;
        }
        words[count++] = pool_strndup(p, word.data, word.length);
    }
    words[count] = NULL;
    buffer_free(&word);
    *argv = words;
    return count;
}

/* ---- ${VAR} ------------------------------------------------------------- */

/* As Apache's ap_resolve_env, on the whole logical line before it is split
 * into words (so one variable may supply several arguments, or the
 * directive's name): no nesting and no escape; "${" without a closing brace
 * stays as written; an unknown name stays as written and is reported,
 * except one holding ':' (mod_rewrite's ${map:key} belongs to its module). */
char *config_expand_variables(pool *p, const char *text, config_variable_lookup lookup, void *context,
                              void (*undefined)(void *context, const char *name))
{
    const char *dollar = strstr(text, "${");
    if (!dollar)
        return (char *)text;
    buffer out = { 0 };
    buffer_reserve(&out, strlen(text) + 64);
    const char *cursor = text;
    while (dollar) {
        const char *close = strchr(dollar + 2, '}');
        if (!close)
            break;
        buffer_append(&out, cursor, (size_t)(dollar - cursor));
        char *name = pool_strndup(p, dollar + 2, (size_t)(close - dollar - 2));
        const char *value = lookup(context, name);
        if (value) {
            buffer_append_string(&out, value);
        } else {
            if (!strchr(name, ':') && undefined)
                undefined(context, name);
            buffer_append(&out, dollar, (size_t)(close + 1 - dollar));
        }
        cursor = close + 1;
        dollar = strstr(cursor, "${");
    }
    buffer_append_string(&out, cursor);
    char *result = pool_strndup(p, out.data, out.length);
    buffer_free(&out);
    return result;
}

/* ---- generic setters --------------------------------------------------- */

/* Digits only: unlike Apache's atoi, "10x" or "-1" is an error, not 10 or a
 * huge number. */
static bool parse_decimal(const char *text, size_t length, int64_t max, int64_t *value)
{
    if (length == 0)
        return false;
    int64_t result = 0;
    for (const char *c = text; c < text + length; c++) {
        if (*c < '0' || *c > '9')
            return false;
        int digit = *c - '0';
        if (result > (max - digit) / 10)
            return false;
        result = result * 10 + digit;
    }
    *value = result;
    return true;
}

int config_set_flag(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    if (strcasecmp(argv[0], "On") == 0)
        *(bool *)target = true;
    else if (strcasecmp(argv[0], "Off") == 0)
        *(bool *)target = false;
    else
        return config_error(parse, "%s must be On or Off", d->name);
    return WEFT_OK;
}

int config_set_integer(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    int64_t value;
    if (!parse_decimal(argv[0], strlen(argv[0]), INT_MAX, &value))
        return config_error(parse, "%s requires a non-negative integer, not '%s'", d->name, argv[0]);
    *(int *)target = (int)value;
    return WEFT_OK;
}

int config_set_seconds(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    int64_t value;
    if (!parse_decimal(argv[0], strlen(argv[0]), INT_MAX, &value))
        return config_error(parse, "%s requires a non-negative number of seconds, not '%s'", d->name,
                            argv[0]);
    *(int *)target = (int)value;
    return WEFT_OK;
}

int config_set_milliseconds(config_parse *parse, const config_directive *d, void *target, int argc,
                            char **argv)
{
    size_t length = strlen(argv[0]);
    bool in_milliseconds = length > 2 && strcasecmp(argv[0] + length - 2, "ms") == 0;
    size_t digits = in_milliseconds ? length - 2 : length;
    int64_t value;
    if (!parse_decimal(argv[0], digits, in_milliseconds ? INT_MAX : INT_MAX / 1000, &value))
        return config_error(parse, "%s requires seconds or milliseconds (like 5 or 300ms), not '%s'",
                            d->name, argv[0]);
    *(int *)target = (int)(in_milliseconds ? value : value * 1000);
    return WEFT_OK;
}

int config_set_size(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    int64_t value;
    if (!parse_decimal(argv[0], strlen(argv[0]), INT64_MAX, &value))
        return config_error(parse, "%s requires a non-negative number of bytes, not '%s'", d->name, argv[0]);
    *(int64_t *)target = value;
    return WEFT_OK;
}

int config_set_string(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    *(char **)target = pool_strdup(config_pool(parse), argv[0]);
    return WEFT_OK;
}

int config_set_path(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    *(char **)target = config_resolve_path(parse, argv[0]);
    return WEFT_OK;
}

int config_set_ignored(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    config_warning(parse, "%s is accepted but not needed by weft", d->name);
    return WEFT_OK;
}

bool config_parse_port(const char *text, int *port)
{
    int value = 0;
    if (!*text || strlen(text) > 5)
        return false;
    for (const char *c = text; *c; c++) {
        if (*c < '0' || *c > '9')
            return false;
        value = value * 10 + (*c - '0');
    }
    if (value < 1 || value > 65535)
        return false;
    *port = value;
    return true;
}
