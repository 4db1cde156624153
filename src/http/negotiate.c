/*
 * negotiate.c — Accept-Encoding (see negotiate.h).
 */
#include "negotiate.h"

#include <string.h>
#include <strings.h>

typedef struct {
    const char *text;
    size_t length;
    size_t at;
} list_cursor;

static bool is_token_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static void skip_whitespace(list_cursor *cursor)
{
    while (cursor->at < cursor->length && (cursor->text[cursor->at] == ' ' || cursor->text[cursor->at] == '\t'))
        cursor->at++;
}

static slice read_token(list_cursor *cursor)
{
    size_t start = cursor->at;
    while (cursor->at < cursor->length && is_token_char((unsigned char)cursor->text[cursor->at]))
        cursor->at++;
    return (slice){ cursor->text + start, cursor->at - start };
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), as
 * thousandths; -1 if malformed. */
static int parse_qvalue(slice value)
{
    if (value.length == 0 || value.length > 5 || (value.data[0] != '0' && value.data[0] != '1'))
        return -1;
    int thousandths = (value.data[0] - '0') * 1000;
    if (value.length > 1) {
        if (value.data[1] != '.')
            return -1;
        int scale = 100;
        for (size_t i = 2; i < value.length; i++, scale /= 10) {
            if (value.data[i] < '0' || value.data[i] > '9')
                return -1;
            thousandths += (value.data[i] - '0') * scale;
        }
    }
    return thousandths <= 1000 ? thousandths : -1;
}

/* One member: a coding and its weight.  False if malformed; the cursor is
 * then at the next comma (or the end) either way. */
static bool read_member(list_cursor *cursor, slice *coding, int *weight)
{
    *coding = read_token(cursor);
    *weight = 1000;
    bool good = coding->length > 0;
    skip_whitespace(cursor);
    while (good && cursor->at < cursor->length && cursor->text[cursor->at] == ';') {
        cursor->at++;
        skip_whitespace(cursor);
        slice name = read_token(cursor);
        if (cursor->at >= cursor->length || cursor->text[cursor->at] != '=') {
            good = false;
            break;
        }
        cursor->at++;
        slice value = read_token(cursor);
        if (name.length == 1 && (name.data[0] == 'q' || name.data[0] == 'Q')) {
            *weight = parse_qvalue(value);
            good = *weight >= 0;
        }
        skip_whitespace(cursor);
    }
    if (cursor->at < cursor->length && cursor->text[cursor->at] != ',')
        good = false;
    while (cursor->at < cursor->length && cursor->text[cursor->at] != ',')
        cursor->at++;
    return good;
}

static bool names_coding(slice member, const char *coding)
{
    if (slice_equal_string_nocase(member, coding))
        return true;
    /* RFC 9110 8.4.1.3: x-gzip is gzip (and x-compress is compress). */
    return member.length > 2 && (member.data[0] == 'x' || member.data[0] == 'X') && member.data[1] == '-' &&
           slice_equal_string_nocase((slice){ member.data + 2, member.length - 2 }, coding);
}

int http_encoding_weight(slice accept_encoding, const char *coding)
{
    if (!accept_encoding.data)
        return -1;
    list_cursor cursor = { accept_encoding.data, accept_encoding.length, 0 };
    int named = -1, wildcard = -1;
    while (cursor.at < cursor.length) {
        skip_whitespace(&cursor);
        if (cursor.at < cursor.length && cursor.text[cursor.at] == ',') {
            cursor.at++;
            continue;
        }
        slice member;
        int weight;
        if (!read_member(&cursor, &member, &weight))
            continue;
        if (names_coding(member, coding)) {
            if (named < 0 || weight > named)
                named = weight;
        } else if (member.length == 1 && member.data[0] == '*') {
            wildcard = weight;
        }
    }
    return named >= 0 ? named : wildcard;
}

bool http_accepts_encoding(slice accept_encoding, const char *coding)
{
    return http_encoding_weight(accept_encoding, coding) > 0;
}

int http_accept_parse(slice field, http_accept_member *out, int capacity)
{
    int count = 0;
    list_cursor cursor = { field.data, field.data ? field.length : 0, 0 };
    while (cursor.at < cursor.length && count < capacity) {
        skip_whitespace(&cursor);
        size_t start = cursor.at;
        while (cursor.at < cursor.length && !strchr(",; \t", cursor.text[cursor.at]))
            cursor.at++;
        http_accept_member member = { { cursor.text + start, cursor.at - start }, 1000, false };
        bool good = member.value.length > 0;
        skip_whitespace(&cursor);
        while (cursor.at < cursor.length && cursor.text[cursor.at] == ';') {
            cursor.at++;
            skip_whitespace(&cursor);
            slice name = read_token(&cursor);
            skip_whitespace(&cursor);
            if (cursor.at < cursor.length && cursor.text[cursor.at] == '=') {
                cursor.at++;
                skip_whitespace(&cursor);
                size_t value_start = cursor.at;
                while (cursor.at < cursor.length && !strchr(",; \t", cursor.text[cursor.at]))
                    cursor.at++;
                slice value = { cursor.text + value_start, cursor.at - value_start };
                if (name.length == 1 && (name.data[0] == 'q' || name.data[0] == 'Q')) {
                    member.weight = parse_qvalue(value);
                    member.explicit_weight = true;
                    good = good && member.weight >= 0;
                }
            }
            skip_whitespace(&cursor);
        }
        while (cursor.at < cursor.length && cursor.text[cursor.at] != ',')
            cursor.at++;
        if (cursor.at < cursor.length)
            cursor.at++;
        if (good)
            out[count++] = member;
    }
    return count;
}
