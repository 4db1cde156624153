/*
 * deflate.h — the DEFLATE (mod_deflate) and BROTLI_COMPRESS (mod_brotli)
 * output filters, for output_filter.c's table of filter names.
 */
#ifndef WEFT_MODULES_DEFLATE_H
#define WEFT_MODULES_DEFLATE_H

#include "../http/filter.h"

extern const output_filter_type deflate_filter_type;
extern const output_filter_type brotli_filter_type;

#endif
