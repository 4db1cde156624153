/*
 * negotiate.h — proactive negotiation (RFC 9110 12): what a request's
 * Accept-Encoding allows.
 */
#ifndef WEFT_HTTP_NEGOTIATE_H
#define WEFT_HTTP_NEGOTIATE_H

#include "../core/buffer.h"

/* Does an Accept-Encoding field value (RFC 9110 12.5.3) accept coding?
 * The coding's own member decides when it is listed ("gzip;q=0" refuses
 * it even after "*"), else "*" does; "x-gzip" counts as "gzip".  q-values
 * are compared to 0 with the RFC's three decimals.  A malformed member is
 * ignored (a refusal is never read from it).  An absent field (data NULL)
 * or an empty one accepts nothing but identity. */
bool http_accepts_encoding(slice accept_encoding, const char *coding);

/* The weight (q-value in thousandths, 0-1000) the field gives coding: its
 * own member's (the best if listed twice), else that of "*"; -1 if neither
 * is listed or the field is absent.  Same rules as above. */
int http_encoding_weight(slice accept_encoding, const char *coding);

/* One member of an Accept or Accept-Language field: the media range or
 * language range (up to ';', ',' or white space), its weight in thousandths
 * and whether a q parameter gave it (Apache lowers "*" ranges without one). */
typedef struct {
    slice value;
    int weight;
    bool explicit_weight;
} http_accept_member;

/* Reads up to capacity members of field into out; returns how many.
 * Malformed members (a bad q-value) are skipped. */
int http_accept_parse(slice field, http_accept_member *out, int capacity);

#endif
