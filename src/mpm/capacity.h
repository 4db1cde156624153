/*
 * capacity.h — how many processes and threads weft may run: the
 * reconciliation of StartServers, Min/MaxSpareThreads, ThreadsPerChild,
 * ThreadLimit, ServerLimit, MaxClients and MaxRequestWorkers.
 *
 * A pure function (no configuration engine, no logging) so that it can be
 * tested on its own: the mpm module's post_config copies the directives in,
 * calls mpm_capacity_reconcile(), copies the results back and turns every
 * warning into a config_warning().  The order is that of Apache's
 * worker_check_config (reference 6.2), with weft's two meanings of the
 * process cap:
 *   MaxClients N         N processes (the mpmt_pthread meaning)
 *   MaxRequestWorkers N  N threads: N / ThreadsPerChild processes
 *   neither              Apache's default of 400 threads
 * One warning per value changed.
 */
#ifndef WEFT_MPM_CAPACITY_H
#define WEFT_MPM_CAPACITY_H

#include "../core/common.h"

#define MPM_HARD_SERVER_LIMIT 20000
#define MPM_HARD_THREAD_LIMIT 20000
#define MPM_DEFAULT_MAX_WORKERS 400   /* threads, when neither cap is given */
/* ConnectionsPerThread above this is a configuration error.  It bounds a
 * child's connection table, ThreadLimit x this many slots at most, so that
 * the slot count and the dispatch queue sized from it stay far inside an
 * int (20000 x 1024 = 20,480,000). */
#define MPM_MAX_CONNECTIONS_PER_THREAD 1024
_Static_assert((long long)MPM_HARD_THREAD_LIMIT * MPM_MAX_CONNECTIONS_PER_THREAD < (1LL << 30),
               "a child's connection table must fit an int with room to spare");

#define CAPACITY_MAX_WARNINGS 16
#define CAPACITY_WARNING_SIZE 256

typedef struct {
    /* Inputs, corrected in place. */
    int server_limit;
    int thread_limit;
    int threads_per_child;
    int max_clients;              /* processes; meaningful when max_clients_set */
    bool max_clients_set;
    int max_request_workers;      /* threads; meaningful when max_request_workers_set */
    bool max_request_workers_set;
    int start_servers;
    int min_spare_threads;
    int max_spare_threads;
    int connections_per_thread;
    /* Output: the cap on current-generation child processes. */
    int max_processes;
    /* What was changed, one sentence each, without a "WARNING:" prefix. */
    int warning_count;
    char warnings[CAPACITY_MAX_WARNINGS][CAPACITY_WARNING_SIZE];
} mpm_capacity;

void mpm_capacity_reconcile(mpm_capacity *capacity);

#endif
