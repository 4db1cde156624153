/*
 * Unit tests: the JSON string writer of /server-status?json
 * (modules/status_format.c) — quotes, backslashes and control characters
 * escaped, well-formed UTF-8 kept, every other byte (overlong forms,
 * surrogates, truncated sequences, stray continuation bytes) written as the
 * Latin-1 character \u00XX — and the scoreboard's ring of regulation
 * decisions (mpm/scoreboard.c): the newest at count - 1, wrapping, and codes
 * no version wrote named as nothing.
 */
#include "tap.h"

#include "core/buffer.c"
#include "core/log.c"
#include "core/pool.c"
#include "core/blocking.c"
#include "core/piped_log.c"
#include "modules/status_format.c"
#include "mpm/scoreboard.c"

static void check(const char *input, size_t length, const char *expected, const char *what)
{
    buffer b;
    buffer_init(&b, 16);
    status_json_string(&b, input, length);
    int same = b.length == strlen(expected) && memcmp(b.data, expected, b.length) == 0;
    ok(same, "%s: %s", what, expected);
    if (!same)
        note("got %.*s", (int)b.length, b.data);
    buffer_free(&b);
}

#define CHECK(literal, expected, what) check(literal, sizeof literal - 1, expected, what)

static void test_escaping(void)
{
    CHECK("", "\"\"", "empty");
    CHECK("GET / HTTP/1.1", "\"GET / HTTP/1.1\"", "plain ASCII as it is");
    CHECK("a\"b\\c", "\"a\\\"b\\\\c\"", "quote and backslash");
    CHECK("\n\r\t", "\"\\n\\r\\t\"", "newline, return, tab");
    CHECK("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"", "other control characters and DEL");
    CHECK("<script>&", "\"\\u003cscript\\u003e\\u0026\"", "'<', '>' and '&' (inert if pasted into HTML)");
    check("a\0b", 3, "\"a\\u0000b\"", "a NUL byte inside the length");
    CHECK("caf\xc3\xa9", "\"caf\xc3\xa9\"", "two-byte UTF-8 kept");
    CHECK("\xe2\x82\xac", "\"\xe2\x82\xac\"", "three-byte UTF-8 kept");
    CHECK("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"", "four-byte UTF-8 kept");
    CHECK("caf\xe9", "\"caf\\u00e9\"", "a Latin-1 byte as its character");
    CHECK("\xc0\xaf", "\"\\u00c0\\u00af\"", "an overlong '/' is two Latin-1 characters");
    CHECK("\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\"", "an overlong three-byte form");
    CHECK("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"", "a UTF-16 surrogate is no UTF-8");
    CHECK("\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\"", "above U+10FFFF");
    CHECK("\xf5\x80", "\"\\u00f5\\u0080\"", "a byte no UTF-8 starts with");
    CHECK("\x80x", "\"\\u0080x\"", "a stray continuation byte");
    CHECK("ab\xc3", "\"ab\\u00c3\"", "a sequence cut by the end");
    CHECK("\xe2\x82x", "\"\\u00e2\\u0082x\"", "a sequence cut by an ASCII byte");
    /* Every single byte value gives output in the JSON string grammar:
     * printable ASCII other than '"' and '\', escapes, or UTF-8 kept. */
    int valid = 1;
    for (int c = 0; c < 256; c++) {
        char in = (char)c;
        buffer b;
        buffer_init(&b, 16);
        status_json_string(&b, &in, 1);
        for (size_t i = 1; i + 1 < b.length; i++) {
            unsigned char o = (unsigned char)b.data[i];
            if (o < 0x20 || o >= 0x7f || o == '"')
                valid = 0;
            if (o == '\\')
                i++;  /* the escaped character */
        }
        buffer_free(&b);
    }
    ok(valid, "each byte alone: ASCII or an escape, never a raw control, quote or high byte");
}

static void test_ring(void)
{
    scoreboard board;
    ok(scoreboard_create(&board, 2, 2, NULL) == WEFT_OK, "a scoreboard");
    ok(board.regulation != NULL && (char *)board.regulation + SCOREBOARD_REGULATION_SIZE ==
                                       (char *)board.header + board.size,
       "the regulation block is the mapping's last %d bytes", SCOREBOARD_REGULATION_SIZE);
    ok(board.regulation->decisions == 0, "no decision yet");
    for (int i = 0; i < SCOREBOARD_DECISIONS + 3; i++)
        scoreboard_note_decision(&board, (uint64_t)i, REGULATION_FORK, REASON_SHORTAGE, i, 0, 1);
    uint64_t count = board.regulation->decisions;
    ok(count == SCOREBOARD_DECISIONS + 3, "the count is the number recorded (%llu)", (unsigned long long)count);
    ok(board.regulation->decision[(count - 1) % SCOREBOARD_DECISIONS].count == SCOREBOARD_DECISIONS + 2,
       "the newest at (count - 1) %% SCOREBOARD_DECISIONS");
    ok(board.regulation->decision[count % SCOREBOARD_DECISIONS].count == 3, "the oldest kept right after it");
    ok(strcmp(scoreboard_action_name(REGULATION_RETIRE), "retire") == 0, "action names");
    ok(scoreboard_action_name(0) == NULL && scoreboard_action_name(REGULATION_ACTIONS) == NULL &&
           scoreboard_action_name(255) == NULL,
       "no name for 0 or a code beyond the last");
    ok(scoreboard_reason_text(REASON_SURPLUS) != NULL && strstr(scoreboard_reason_text(REASON_SURPLUS), "MaxSpare"),
       "reason texts");
    int named = 1;
    for (unsigned r = 1; r < REGULATION_REASONS; r++)
        named &= scoreboard_reason_text(r) != NULL;
    ok(named, "every reason has a text");
    ok(scoreboard_reason_text(REGULATION_REASONS) == NULL && scoreboard_reason_text(255) == NULL,
       "none for unknown codes");
    scoreboard_destroy(&board);
}

int main(void)
{
    test_escaping();
    test_ring();
    return done_testing();
}
