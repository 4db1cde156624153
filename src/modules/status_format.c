/*
 * status_format.c — numbers as Apache's ?auto prints them.  mod_status
 * formats with APR's "%g", which differs from C's: no leading zero before the
 * decimal point (".25"), plain notation up to four trailing zeros
 * ("12345700"), and an exponent without padding ("1.e+6").  Scrapers parse
 * either, but "byte-compatible" means this one (examples in
 * t/unit/status.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status_internal.h"

size_t status_format_apache_g(char *out, size_t size, double value)
{
    char text[64];
    size_t n = 0;
    if (value != value)
        return (size_t)snprintf(out, size, "nan");
    if (value < 0) {
        text[n++] = '-';
        value = -value;
    }
    if (value > 1e300)
        return (size_t)snprintf(out, size, "%sinf", n ? "-" : "");
    if (value == 0) {
        text[n++] = '0';
    } else {
        /* Six significant digits and the decimal exponent, from libc. */
        char scientific[32];
        snprintf(scientific, sizeof scientific, "%.5e", value);
        char digits[6];
        digits[0] = scientific[0];
        memcpy(digits + 1, scientific + 2, 5);
        int point = atoi(scientific + 8) + 1;  /* digits before the decimal point */
        int count = 6;
        while (count > 1 && digits[count - 1] == '0')
            count--;
        if ((point >= 0 && point - count > 4) || point < -3) {
            int exponent = point - 1;
            text[n++] = digits[0];
            text[n++] = '.';
            for (int i = 1; i < count; i++)
                text[n++] = digits[i];
            text[n++] = 'e';
            text[n++] = exponent < 0 ? '-' : '+';
            if (exponent < 0)
                exponent = -exponent;
            if (exponent >= 100)
                text[n++] = (char)('0' + exponent / 100);
            if (exponent >= 10)
                text[n++] = (char)('0' + exponent % 100 / 10);
            text[n++] = (char)('0' + exponent % 10);
        } else {
            if (point <= 0) {
                text[n++] = '.';
                for (int i = point; i < 0; i++)
                    text[n++] = '0';
            }
            for (int i = 1; i <= count; i++) {
                text[n++] = digits[i - 1];
                if (i == point)
                    text[n++] = '.';
            }
            for (int i = count; i < point; i++)
                text[n++] = '0';
            if (count < point)
                text[n++] = '.';
            if (text[n - 1] == '.')
                n--;
        }
    }
    text[n] = '\0';
    return (size_t)snprintf(out, size, "%s", text);
}


/* mod_status's format_byte_out: whole bytes below 5 kB, then one decimal
 * in kB, MB, GB, switching unit at half the next one; floats as there. */
size_t status_format_bytes(char *out, size_t size, uint64_t bytes)
{
    if (bytes < 5 * 1024)
        return (size_t)snprintf(out, size, "%d B", (int)bytes);
    if (bytes < 1048576 / 2)
        return (size_t)snprintf(out, size, "%.1f kB", (double)((float)bytes / 1024));
    if (bytes < 1073741824 / 2)
        return (size_t)snprintf(out, size, "%.1f MB", (double)((float)bytes / 1048576));
    return (size_t)snprintf(out, size, "%.1f GB", (double)((float)bytes / 1073741824));
}

/* mod_status's format_kbyte_out: whole kB below 1024 kB, then MB, GB. */
size_t status_format_kbytes(char *out, size_t size, uint64_t kbytes)
{
    if (kbytes < 1024)
        return (size_t)snprintf(out, size, "%d kB", (int)kbytes);
    if (kbytes < 1048576)
        return (size_t)snprintf(out, size, "%.1f MB", (double)((float)kbytes / 1024));
    return (size_t)snprintf(out, size, "%.1f GB", (double)((float)kbytes / 1048576));
}

/* ---- JSON strings ------------------------------------------------------------ */

/* The length of the well-formed UTF-8 sequence at text (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_sequence(const unsigned char *text, size_t length)
{
    unsigned char c = text[0];
    size_t need;
    unsigned char low = 0x80, high = 0xbf;  /* bounds of the second byte */
    if (c >= 0xc2 && c <= 0xdf)
        need = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        low = c == 0xe0 ? 0xa0 : 0x80;
        high = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        low = c == 0xf0 ? 0x90 : 0x80;
        high = c == 0xf4 ? 0x8f : 0xbf;
    } else
        return 0;
    if (length < need || text[1] < low || text[1] > high)
        return 0;
    for (size_t i = 2; i < need; i++)
        if (text[i] < 0x80 || text[i] > 0xbf)
            return 0;
    return need;
}

void status_json_string(buffer *b, const char *text, size_t length)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *bytes = (const unsigned char *)text;
    buffer_append_char(b, '"');
    size_t plain = 0;  /* start of the run of bytes copied as they are */
    for (size_t i = 0; i < length;) {
        unsigned char c = bytes[i];
        size_t sequence = 1;
        bool escape;
        if (c >= 0x80) {
            sequence = utf8_sequence(bytes + i, length - i);
            escape = sequence == 0;  /* a stray byte: read as Latin-1, the page's charset */
        } else {
            /* '<', '>' and '&' too, so that the document is inert wherever
             * it is pasted or sniffed. */
            escape = c < 0x20 || c == '"' || c == '\\' || c == 0x7f || c == '<' || c == '>' || c == '&';
        }
        if (!escape) {
            i += sequence;
            continue;
        }
        buffer_append(b, text + plain, i - plain);
        char out[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
        if (c == '"' || c == '\\') {
            out[1] = (char)c;
            buffer_append(b, out, 2);
        } else if (c == '\n' || c == '\r' || c == '\t') {
            out[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            buffer_append(b, out, 2);
        } else {
            buffer_append(b, out, 6);
        }
        i++;
        plain = i;
    }
    buffer_append(b, text + plain, length - plain);
    buffer_append_char(b, '"');
}
