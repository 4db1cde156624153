/*
 * regex.c — PCRE2 behind the small interface of regex.h.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "regex.h"

#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct weft_regex {
    pcre2_code *code;
    const char *pattern;
    int group_count;
    bool jit;
};

static void release_compiled_pattern(void *data)
{
    pcre2_code_free(((weft_regex *)data)->code);
}

weft_regex *regex_compile(pool *p, const char *pattern, unsigned flags, char *error, size_t error_size)
{
    /* Apache 2.4's RegexDefaultOptions: DOTALL DOLLAR_ENDONLY. */
    uint32_t options = PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY;
    if (flags & REGEX_CASELESS)
        options |= PCRE2_CASELESS;
    if (flags & REGEX_NO_GROUPS)
        options |= PCRE2_NO_AUTO_CAPTURE;
    int code_error;
    PCRE2_SIZE error_offset;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, options, &code_error,
                                     &error_offset, NULL);
    if (!code) {
        PCRE2_UCHAR reason[160];
        if (pcre2_get_error_message(code_error, reason, sizeof(reason)) < 0)
            snprintf((char *)reason, sizeof(reason), "error %d", code_error);
        snprintf(error, error_size, "%s at offset %zu", (const char *)reason, (size_t)error_offset);
        return NULL;
    }
    weft_regex *regex = pool_calloc(p, sizeof(*regex));
    regex->code = code;
    regex->pattern = pool_strdup(p, pattern);
    uint32_t groups = 0;
    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &groups);
    regex->group_count = (int)groups;
    /* Without JIT (no executable memory, an old CPU), pcre2_match
     * interprets: slower, same answers. */
    regex->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    pool_cleanup_add(p, release_compiled_pattern, regex);
    return regex;
}

/* ---- per-thread match data ------------------------------------------------
 * A match needs scratch space for the group offsets.  One block per thread,
 * made at the thread's first match and freed at its exit, keeps matching
 * free of locks and of allocation.  Patterns with more groups than it holds
 * still match: PCRE2 fills what fits and returns 0, which regex_match takes
 * as a match. */
#define MATCH_DATA_PAIRS 32

static pthread_key_t match_data_key;
static pthread_once_t match_data_once = PTHREAD_ONCE_INIT;

static void free_match_data(void *data)
{
    pcre2_match_data_free(data);
}

static void create_match_data_key(void)
{
    pthread_key_create(&match_data_key, free_match_data);
}

static pcre2_match_data *thread_match_data(void)
{
    pthread_once(&match_data_once, create_match_data_key);
    pcre2_match_data *data = pthread_getspecific(match_data_key);
    if (UNLIKELY(!data)) {
        data = pcre2_match_data_create(MATCH_DATA_PAIRS, NULL);
        if (!data)
            return NULL;
        pthread_setspecific(match_data_key, data);
    }
    return data;
}

bool regex_match(const weft_regex *regex, const char *subject, size_t length, regex_group *groups,
                 int capacity)
{
    pcre2_match_data *data = thread_match_data();
    if (!data)
        return false;
    int rc = pcre2_match(regex->code, (PCRE2_SPTR)subject, length, 0, 0, data, NULL);
    if (rc < 0)
        return false;  /* PCRE2_ERROR_NOMATCH, or a limit */
    if (groups) {
        uint32_t pairs = pcre2_get_ovector_count(data);
        const PCRE2_SIZE *vector = pcre2_get_ovector_pointer(data);
        uint32_t filled = rc == 0 ? pairs : (uint32_t)rc;
        for (int i = 0; i < capacity; i++) {
            if ((uint32_t)i < filled && vector[2 * i] != PCRE2_UNSET) {
                groups[i].start = (int)vector[2 * i];
                groups[i].end = (int)vector[2 * i + 1];
            } else {
                groups[i].start = groups[i].end = -1;
            }
        }
    }
    return true;
}

const char *regex_pattern(const weft_regex *regex)
{
    return regex->pattern;
}

int regex_group_count(const weft_regex *regex)
{
    return regex->group_count;
}

bool regex_is_jit(const weft_regex *regex)
{
    return regex->jit;
}
