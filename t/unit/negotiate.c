/* Unit tests for src/http/negotiate.c: Accept-Encoding and q-values. */
#include "tap.h"

#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/http/negotiate.c"

static void check(const char *value, bool expected)
{
    slice field = value ? slice_from_string(value) : (slice){ NULL, 0 };
    ok(http_accepts_encoding(field, "gzip") == expected, "Accept-Encoding: %s -> gzip %s",
       value ? value : "(absent)", expected ? "accepted" : "refused");
}

int main(void)
{
    check(NULL, false);
    check("", false);
    check("gzip", true);
    check("GZIP", true);
    check("x-gzip", true);
    check("X-Gzip", true);
    check("deflate, gzip", true);
    check("gzip, deflate, br", true);
    check("deflate", false);
    check("identity", false);
    check("br;q=1.0, gzip;q=0.8, *;q=0.1", true);
    check("gzip;q=0", false);
    check("gzip;q=0.0", false);
    check("gzip;q=0.000", false);
    check("gzip;q=0.001", true);
    check("gzip; q=0.5", true);
    check("gzip ;q=0.5", true);
    check("gzip;Q=0.5", true);
    check("gzip;q=1", true);
    check("gzip;q=1.000", true);
    check("*", true);
    check("*;q=0", false);
    check("*, gzip;q=0", false);
    check("gzip;q=0, *", false);
    check("gzip;q=0, *;q=1", false);
    check("deflate, *;q=0.5", true);
    check("identity;q=1, *;q=0", false);
    check("gzipx", false);
    check("xgzip", false);
    check("x-gzipx", false);
    check("gzip;q=2", false);        /* malformed member: ignored */
    check("gzip;q=1.5", false);
    check("gzip;q=0.0001", false);
    check("gzip;q=", false);
    check("gzip;q", false);
    check("gzip;q=abc", false);
    check("gzip;q=2, *", true);      /* the malformed member is ignored, * decides */
    check(",,gzip,,", true);
    check(" gzip ", true);
    check("gzip;level=9", true);     /* unknown parameters are no refusal */
    check("gzip;q=0.5;level=1", true);
    check("gzip deflate", false);    /* no comma: malformed */
    check("gzip, gzip;q=0", true);   /* listed twice: the best weight counts */
    slice field = slice_from_string("deflate, br");
    ok(http_accepts_encoding(field, "br"), "another coding by name");
    ok(!http_accepts_encoding(slice_from_string("x-br"), "gzip"), "x-br is not gzip");
    note("a refusal is only read from a well-formed member");

    /* The weights compress_choose compares. */
    is_int(http_encoding_weight((slice){ NULL, 0 }, "gzip"), -1, "weight: absent field");
    is_int(http_encoding_weight(slice_from_string("br"), "gzip"), -1, "weight: not listed, no *");
    is_int(http_encoding_weight(slice_from_string("gzip"), "gzip"), 1000, "weight: listed without q");
    is_int(http_encoding_weight(slice_from_string("gzip;q=0.25"), "gzip"), 250, "weight: q=0.25");
    is_int(http_encoding_weight(slice_from_string("*;q=0.3, br"), "gzip"), 300, "weight: from *");
    is_int(http_encoding_weight(slice_from_string("*;q=0.3, gzip;q=0.7"), "gzip"), 700, "weight: own member over *");
    is_int(http_encoding_weight(slice_from_string("gzip;q=0"), "gzip"), 0, "weight: refused");
    is_int(http_encoding_weight(slice_from_string("gzip;q=5"), "gzip"), -1, "weight: malformed member ignored");
    is_int(http_encoding_weight(slice_from_string("identity;q=0.5"), "identity"), 500, "weight: identity");

    /* Accept and Accept-Language members (MultiViews). */
    http_accept_member members[8];
    int count = http_accept_parse(slice_from_string("text/html, text/*;q=0.5 , */*;level=1;q=0.01,image/png;q=9"),
                                  members, 8);
    is_int(count, 3, "accept: three members, the one with a bad q skipped");
    ok(slice_equal_string_nocase(members[0].value, "text/html") && members[0].weight == 1000 &&
       !members[0].explicit_weight, "accept: a type without q weighs 1000");
    ok(slice_equal_string_nocase(members[1].value, "text/*") && members[1].weight == 500 && members[1].explicit_weight,
       "accept: spaces and an explicit q");
    ok(slice_equal_string_nocase(members[2].value, "*/*") && members[2].weight == 10,
       "accept: other parameters before q are skipped");
    count = http_accept_parse(slice_from_string("de-CH;q=0.9,en;q=0.8, *;q=0.1"), members, 2);
    is_int(count, 2, "accept-language: capacity bounds the members");
    ok(slice_equal_string_nocase(members[0].value, "de-CH") && members[0].weight == 900, "accept-language: a tag");
    is_int(http_accept_parse((slice){ NULL, 0 }, members, 8), 0, "accept: an absent field has no members");
    return done_testing();
}
