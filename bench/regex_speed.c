/*
 * regex_speed.c — what a regular expression costs per request, before and
 * after weft moved from glibc's POSIX regexec to PCRE2 (src/core/regex.c):
 * one pattern of the kind RedirectMatch and <LocationMatch> carry, matched
 * against a mix of URL-paths by 1, 2 and 4 threads at once.  glibc's
 * regexec takes a lock inside each compiled pattern, so its threads queue;
 * PCRE2 matches with per-thread data and no lock.  Figures are nanoseconds
 * of wall time per match per thread (what a request waits), and matches per
 * second in all; run on a quiet machine.
 *
 *   cc -O2 -std=c17 -D_GNU_SOURCE -pthread -Isrc -o build/regex_speed \
 *      bench/regex_speed.c -lpcre2-8
 *   build/regex_speed [MATCHES_PER_THREAD]
 */
#include "../src/core/buffer.c"
#include "../src/core/pool.c"
#include "../src/core/regex.c"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The same meaning in both dialects: POSIX has no \d. */
#define PCRE_PATTERN "^/(products|catalog)/([0-9]+)/([a-z-]+)\\.html$"
#define POSIX_PATTERN "^/(products|catalog)/([0-9]+)/([a-z-]+)\\.html$"

static const char *const paths[] = {
    "/products/42/blue-shirt.html", "/catalog/7/index.html", "/static/css/site.css",
    "/products/x/broken.html",      "/images/logo.png",     "/catalog/123456/long-name-here.html",
};

typedef struct {
    bool posix;
    const regex_t *posix_regex;
    const weft_regex *pcre_regex;
    long matches;
    long hits;
} job;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *run(void *argument)
{
    job *j = argument;
    size_t lengths[sizeof(paths) / sizeof(paths[0])];
    for (size_t i = 0; i < COUNT_OF(paths); i++)
        lengths[i] = strlen(paths[i]);
    for (long i = 0; i < j->matches; i++) {
        size_t k = (size_t)i % COUNT_OF(paths);
        if (j->posix) {
            regmatch_t groups[10];
            j->hits += regexec(j->posix_regex, paths[k], 10, groups, 0) == 0;
        } else {
            regex_group groups[10];
            j->hits += regex_match(j->pcre_regex, paths[k], lengths[k], groups, 10);
        }
    }
    return NULL;
}

static void measure(const char *name, bool posix, const regex_t *posix_regex, const weft_regex *pcre_regex,
                    int threads, long matches)
{
    pthread_t ids[8];
    job jobs[8];
    double start = now();
    for (int t = 0; t < threads; t++) {
        jobs[t] = (job){ posix, posix_regex, pcre_regex, matches, 0 };
        pthread_create(&ids[t], NULL, run, &jobs[t]);
    }
    long hits = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(ids[t], NULL);
        hits += jobs[t].hits;
    }
    double seconds = now() - start;
    printf("%-14s %d thread%s  %8.1f ns per match per thread  %6.2f M matches/s in all  (%ld hits)\n", name,
           threads, threads == 1 ? " " : "s", seconds * 1e9 / (double)matches,
           (double)matches * threads / seconds / 1e6, hits);
}

int main(int argc, char **argv)
{
    long matches = argc > 1 ? atol(argv[1]) : 1000000;
    pool *p = pool_create(4096);
    char error[200];
    weft_regex *pcre_regex = regex_compile(p, PCRE_PATTERN, 0, error, sizeof(error));
    regex_t posix_regex;
    if (!pcre_regex || regcomp(&posix_regex, POSIX_PATTERN, REG_EXTENDED) != 0) {
        fprintf(stderr, "regex_speed: patterns do not compile: %s\n", error);
        return 1;
    }
    printf("pattern %s, %zu paths in turn, %ld matches per thread; PCRE2 JIT: %s\n", PCRE_PATTERN,
           COUNT_OF(paths), matches, regex_is_jit(pcre_regex) ? "yes" : "no");
    for (int threads = 1; threads <= 4; threads *= 2) {
        measure("glibc regexec", true, &posix_regex, NULL, threads, matches);
        measure("PCRE2 (weft)", false, NULL, pcre_regex, threads, matches);
    }
    regfree(&posix_regex);
    pool_destroy(p);
    return 0;
}
