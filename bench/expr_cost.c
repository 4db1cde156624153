/*
 * expr_cost.c — what one <If> costs a request: parse once, then evaluate
 * typical conditions (string comparison, regex with a capture, -ipmatch,
 * a list) many times against a fixed variable callback, on one thread.
 *
 *   cc -O2 -std=c17 -D_GNU_SOURCE -pthread -Isrc -o build/expr_cost bench/expr_cost.c -lpcre2-8
 *   build/expr_cost [iterations]
 */
#include "../src/core/buffer.c"
#include "../src/core/pool.c"
#include "../src/core/regex.c"
#include "../src/core/expr.c"
#include "../src/core/expr_eval.c"
#include "../src/core/network.c"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char *lookup(void *request, const char *name, pool *p)
{
    if (strcmp(name, "HTTP_HOST") == 0)
        return "www.example.com";
    if (strcmp(name, "REQUEST_URI") == 0)
        return "/products/12345/details";
    if (strcmp(name, "REMOTE_ADDR") == 0)
        return "192.0.2.77";
    if (strcmp(name, "REQUEST_METHOD") == 0)
        return "GET";
    return NULL;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    long iterations = argc > 1 ? atol(argv[1]) : 1000000;
    static const char *const conditions[] = {
        "%{HTTP_HOST} == 'example.com'",
        "%{REQUEST_URI} =~ m#^/products/(\\d+)# && $1 -gt 100",
        "%{REMOTE_ADDR} -ipmatch '10.0.0.0/8' || -R '192.0.2.0/24'",
        "%{REQUEST_METHOD} in { 'GET', 'HEAD', 'OPTIONS' } && !(%{HTTP_HOST} =~ /^admin\\./i)",
    };
    pool *config = pool_create(4096);
    for (size_t i = 0; i < sizeof(conditions) / sizeof(conditions[0]); i++) {
        char error[512];
        weft_expr *expr = expr_parse(config, conditions[i], error, sizeof(error));
        if (!expr) {
            fprintf(stderr, "%s\n", error);
            return 1;
        }
        pool *request = pool_create(4096);
        expr_context context = { .variable = lookup, .pool = request };
        long held = 0;
        double start = now();
        for (long n = 0; n < iterations; n++) {
            held += expr_evaluate(expr, &context);
            if ((n & 63) == 63)
                pool_reset(request);  /* as the request pool is, between requests */
        }
        double elapsed = now() - start;
        printf("%7.1f ns/evaluation  (%s, %s)  %s\n", elapsed / (double)iterations * 1e9,
               held ? "true" : "false", held == iterations || held == 0 ? "stable" : "UNSTABLE", conditions[i]);
        pool_destroy(request);
    }
    pool_destroy(config);
    return 0;
}
