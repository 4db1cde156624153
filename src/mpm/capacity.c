/*
 * capacity.c — reconciliation of the process and thread limits (see
 * capacity.h; the order follows reference 6.2).
 */
#include "capacity.h"

#include <stdarg.h>
#include <stdio.h>

PRINTF_LIKE(2, 3)
static void warn(mpm_capacity *c, const char *format, ...)
{
    if (c->warning_count >= CAPACITY_MAX_WARNINGS)
        return;
    va_list args;
    va_start(args, format);
    vsnprintf(c->warnings[c->warning_count++], CAPACITY_WARNING_SIZE, format, args);
    va_end(args);
}

static void reconcile_limits(mpm_capacity *c)
{
    if (c->server_limit > MPM_HARD_SERVER_LIMIT) {
        warn(c, "ServerLimit of %d exceeds compile-time limit of %d servers, decreasing to %d.",
             c->server_limit, MPM_HARD_SERVER_LIMIT, MPM_HARD_SERVER_LIMIT);
        c->server_limit = MPM_HARD_SERVER_LIMIT;
    } else if (c->server_limit < 1) {
        warn(c, "ServerLimit of %d not allowed, increasing to 1.", c->server_limit);
        c->server_limit = 1;
    }
    if (c->thread_limit > MPM_HARD_THREAD_LIMIT) {
        warn(c, "ThreadLimit of %d exceeds compile-time limit of %d threads, decreasing to %d.",
             c->thread_limit, MPM_HARD_THREAD_LIMIT, MPM_HARD_THREAD_LIMIT);
        c->thread_limit = MPM_HARD_THREAD_LIMIT;
    } else if (c->thread_limit < 1) {
        warn(c, "ThreadLimit of %d not allowed, increasing to 1.", c->thread_limit);
        c->thread_limit = 1;
    }
    if (c->threads_per_child > c->thread_limit) {
        warn(c, "ThreadsPerChild of %d exceeds ThreadLimit of %d threads, decreasing to %d. "
                "To increase, please see the ThreadLimit directive.",
             c->threads_per_child, c->thread_limit, c->thread_limit);
        c->threads_per_child = c->thread_limit;
    } else if (c->threads_per_child < 1) {
        warn(c, "ThreadsPerChild of %d not allowed, increasing to 1.", c->threads_per_child);
        c->threads_per_child = 1;
    }
}

/* MaxRequestWorkers (threads) -> processes, with Apache's two corrections. */
static int processes_from_workers(mpm_capacity *c)
{
    int tpc = c->threads_per_child;
    if (c->max_request_workers < tpc) {
        warn(c, "MaxRequestWorkers of %d is less than ThreadsPerChild of %d, increasing to %d. "
                "MaxRequestWorkers must be at least as large as the number of threads in a "
                "single server.",
             c->max_request_workers, tpc, tpc);
        c->max_request_workers = tpc;
    }
    int processes = c->max_request_workers / tpc;
    if (c->max_request_workers % tpc != 0) {
        warn(c, "MaxRequestWorkers of %d is not an integer multiple of ThreadsPerChild of %d, "
                "decreasing to nearest multiple %d, for a maximum of %d servers.",
             c->max_request_workers, tpc, processes * tpc, processes);
        c->max_request_workers = processes * tpc;
    }
    return processes;
}

static void reconcile_process_cap(mpm_capacity *c)
{
    int tpc = c->threads_per_child;
    int processes;
    enum { FROM_DEFAULT, FROM_MAX_CLIENTS, FROM_MAX_REQUEST_WORKERS } source;

    if (c->max_clients_set && c->max_clients < 1) {
        warn(c, "MaxClients of %d not allowed, increasing to 1.", c->max_clients);
        c->max_clients = 1;
    }
    if (c->max_clients_set && c->max_request_workers_set) {
        int from_workers = processes_from_workers(c);
        processes = c->max_clients < from_workers ? c->max_clients : from_workers;
        if (c->max_clients != from_workers)
            warn(c, "MaxClients of %d processes and MaxRequestWorkers of %d threads (%d processes "
                    "of %d threads) disagree, using the smaller: %d processes.",
                 c->max_clients, c->max_request_workers, from_workers, tpc, processes);
        source = processes == c->max_clients ? FROM_MAX_CLIENTS : FROM_MAX_REQUEST_WORKERS;
    } else if (c->max_clients_set) {
        processes = c->max_clients;
        source = FROM_MAX_CLIENTS;
    } else if (c->max_request_workers_set) {
        processes = processes_from_workers(c);
        source = FROM_MAX_REQUEST_WORKERS;
    } else {
        processes = MPM_DEFAULT_MAX_WORKERS / tpc;
        if (processes < 1)
            processes = 1;
        source = FROM_DEFAULT;
    }

    if (processes > c->server_limit) {
        /* Capping the built-in default is not news to anyone who set
         * neither MaxClients nor MaxRequestWorkers: no warning then. */
        if (source == FROM_DEFAULT)
            ;
        else if (source == FROM_MAX_CLIENTS)
            warn(c, "MaxClients of %d would exceed ServerLimit of %d, decreasing to %d. To increase, "
                    "please see the ServerLimit directive.",
                 processes, c->server_limit, c->server_limit);
        else
            warn(c, "MaxRequestWorkers of %d would require %d servers and would exceed ServerLimit "
                    "of %d, decreasing to %d. To increase, please see the ServerLimit directive.",
                 c->max_request_workers, processes, c->server_limit, c->server_limit * tpc);
        if (source == FROM_MAX_CLIENTS)
            c->max_clients = c->server_limit;
        if (c->max_request_workers_set && c->max_request_workers > c->server_limit * tpc)
            c->max_request_workers = c->server_limit * tpc;
        processes = c->server_limit;
    }
    c->max_processes = processes;
}

static void reconcile_spares(mpm_capacity *c)
{
    if (c->start_servers < 1) {
        warn(c, "StartServers of %d not allowed, increasing to 1.", c->start_servers);
        c->start_servers = 1;
    } else if (c->start_servers > c->max_processes) {
        warn(c, "StartServers of %d exceeds the process limit of %d, decreasing to %d.",
             c->start_servers, c->max_processes, c->max_processes);
        c->start_servers = c->max_processes;
    }
    if (c->min_spare_threads < 1) {
        warn(c, "MinSpareThreads of %d not allowed, increasing to 1 to avoid almost certain "
                "server failure. Please read the documentation.",
             c->min_spare_threads);
        c->min_spare_threads = 1;
    }
    /* One whole child of slack between the two thresholds, or retiring a
     * child would at once push the idle count below MinSpareThreads and the
     * server would fork and retire in a loop. */
    int floor = c->min_spare_threads + c->threads_per_child + 1;
    if (c->max_spare_threads < floor) {
        warn(c, "MaxSpareThreads of %d is less than MinSpareThreads (%d) + ThreadsPerChild (%d) + 1, "
                "increasing to %d.",
             c->max_spare_threads, c->min_spare_threads, c->threads_per_child, floor);
        c->max_spare_threads = floor;
    }
    if (c->connections_per_thread < 1) {
        warn(c, "ConnectionsPerThread of %d not allowed, increasing to 1.", c->connections_per_thread);
        c->connections_per_thread = 1;
    } else if (c->connections_per_thread > MPM_MAX_CONNECTIONS_PER_THREAD) {
        /* The directive refuses such values; this keeps the function total. */
        warn(c, "ConnectionsPerThread of %d exceeds the maximum of %d, decreasing to %d.",
             c->connections_per_thread, MPM_MAX_CONNECTIONS_PER_THREAD, MPM_MAX_CONNECTIONS_PER_THREAD);
        c->connections_per_thread = MPM_MAX_CONNECTIONS_PER_THREAD;
    }
}

void mpm_capacity_reconcile(mpm_capacity *c)
{
    c->warning_count = 0;
    reconcile_limits(c);
    reconcile_process_cap(c);
    reconcile_spares(c);
}
