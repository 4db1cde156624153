/*
 * Unit tests: the scoreboard (anonymous and file-backed shared memory,
 * counting) and the capacity reconciliation of the mpm directives.
 */
#include "tap.h"

#include "mpm/capacity.c"
#include "mpm/scoreboard.c"

#include <stdlib.h>
#include <sys/wait.h>

/* ---- scoreboard --------------------------------------------------------- */

static void test_anonymous(void)
{
    scoreboard board;
    is_int(scoreboard_create(&board, 4, 8, NULL), WEFT_OK, "anonymous scoreboard created");
    is_int(board.fd, -1, "no backing file");
    is_int(board.header->server_limit, 4, "header server_limit");
    is_int(board.header->thread_limit, 8, "header thread_limit");
    is_int(atomic_load(&board.header->running_generation), 0, "generation starts at 0");
    ok(atomic_load(&board.header->start_time_ms) > 0, "start time set");
    int dead = 0;
    for (int slot = 0; slot < 4; slot++)
        for (int t = 0; t < 8; t++)
            dead += scoreboard_status(scoreboard_thread_at(&board, slot, t)) == THREAD_DEAD;
    is_int(dead, 32, "every thread starts as '.'");
    is_int(atomic_load(&scoreboard_process_at(&board, 3)->pid), 0, "process slots start free");
    ok((char *)scoreboard_thread_at(&board, 3, 7) + sizeof(scoreboard_thread) <=
           (char *)board.header + board.size, "last thread record inside the mapping");

    /* slot 1: 3 idle, 2 busy (R, W), one each of S, G, I, '.', K counts busy */
    const char pattern[8] = { '_', '_', '_', 'R', 'W', 'S', 'G', 'I' };
    for (int t = 0; t < 8; t++)
        scoreboard_set_status(scoreboard_thread_at(&board, 1, t), (unsigned char)pattern[t]);
    int idle = -1, busy = -1;
    scoreboard_count_process(&board, 1, 8, &idle, &busy);
    is_int(idle, 3, "idle counts '_' only");
    is_int(busy, 2, "busy excludes '_', '.', 'S', 'G', 'I'");
    scoreboard_count_process(&board, 1, 4, &idle, &busy);
    is_int(idle, 3, "only the first thread_count entries count (idle)");
    is_int(busy, 1, "only the first thread_count entries count (busy)");
    scoreboard_set_status(scoreboard_thread_at(&board, 2, 0), THREAD_KEEPALIVE);
    scoreboard_set_status(scoreboard_thread_at(&board, 2, 1), THREAD_LOGGING);
    scoreboard_set_status(scoreboard_thread_at(&board, 2, 2), THREAD_CLOSING);
    scoreboard_count_process(&board, 2, 100, &idle, &busy);
    is_int(idle, 0, "slot 2 has no idle thread");
    is_int(busy, 3, "K, L, C are busy; thread_count is capped at ThreadLimit");

    /* Shared across fork: a child's writes are the parent's reads. */
    pid_t pid = fork();
    if (pid == 0) {
        scoreboard_set_status(scoreboard_thread_at(&board, 0, 5), THREAD_READY);
        atomic_store(&scoreboard_process_at(&board, 0)->connections, 42);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    is_int(scoreboard_status(scoreboard_thread_at(&board, 0, 5)), THREAD_READY, "child's status visible");
    is_int(atomic_load(&scoreboard_process_at(&board, 0)->connections), 42, "child's counter visible");
    scoreboard_destroy(&board);
    ok(board.header == NULL, "destroyed");

    is_int(scoreboard_create(&board, 0, 8, NULL), WEFT_ERROR, "server_limit 0 refused");
}

static void test_file(void)
{
    char path[] = "/tmp/weft-scoreboard-XXXXXX";
    int fd = mkstemp(path);
    ok(fd >= 0, "temporary file");
    ssize_t ignored = write(fd, "stale", 5);
    (void)ignored;
    close(fd);

    scoreboard board;
    is_int(scoreboard_create(&board, 2, 3, path), WEFT_OK, "file-backed scoreboard over a stale file");
    ok(board.fd >= 0, "backing descriptor kept");
    struct stat info;
    ok(stat(path, &info) == 0 && (size_t)info.st_size == board.size, "file has exactly the mapping's size");
    is_int(scoreboard_status(scoreboard_thread_at(&board, 1, 2)), THREAD_DEAD, "threads '.' in the file");
    scoreboard_set_status(scoreboard_thread_at(&board, 1, 2), THREAD_WRITING);

    /* An outside reader of the file sees the same bytes. */
    int reader = open(path, O_RDONLY);
    unsigned char byte = 0;
    off_t offset = (off_t)((char *)&scoreboard_thread_at(&board, 1, 2)->status - (char *)board.header);
    ok(pread(reader, &byte, 1, offset) == 1 && byte == THREAD_WRITING, "file readers see the status");
    close(reader);
    scoreboard_destroy(&board);
    unlink(path);

    is_int(scoreboard_create(&board, 2, 3, "/nonexistent-dir/scoreboard"), WEFT_ERROR,
           "unwritable path fails");
}

/* ---- what a hostile child can write --------------------------------------- */

static void test_status_known(void)
{
    const char *letters = "._SRWKLCGID";
    int known = 0;
    for (int c = 0; c < 256; c++)
        known += scoreboard_status_known((unsigned char)c);
    is_int(known, (int)strlen(letters), "exactly the eleven letters are known states");
    for (const char *l = letters; *l; l++)
        ok(scoreboard_status_known((unsigned char)*l), "known letter");
    ok(!scoreboard_status_known(0) && !scoreboard_status_known(0xff) && !scoreboard_status_known('?'),
       "0, 0xff and '?' are no state");
}

/* The geometry lives in the handle: a header overwritten with any limits
 * moves no offset, in the parent or in a child forked later. */
static void test_private_geometry(void)
{
    scoreboard board;
    is_int(scoreboard_create(&board, 3, 5, NULL), WEFT_OK, "scoreboard 3 x 5");
    is_int(board.server_limit, 3, "handle keeps server_limit");
    is_int(board.thread_limit, 5, "handle keeps thread_limit");
    scoreboard_thread *last = scoreboard_thread_at(&board, 2, 4);
    board.header->server_limit = -1;
    board.header->thread_limit = 0x7fffffff;
    ok(scoreboard_thread_at(&board, 2, 4) == last, "a hostile header thread_limit moves no offset");
    ok((char *)last + sizeof *last <= (char *)board.header + board.size, "last record still inside the mapping");
    int idle = -1, busy = -1;
    scoreboard_count_process(&board, 2, 0x7fffffff, &idle, &busy);
    is_int(idle + busy, 0, "counting is capped at the handle's thread_limit (all '.')");

    /* Unknown letters are neither idle nor busy. */
    scoreboard_set_status(scoreboard_thread_at(&board, 1, 0), 0xff);
    scoreboard_set_status(scoreboard_thread_at(&board, 1, 1), 'Z');
    scoreboard_set_status(scoreboard_thread_at(&board, 1, 2), THREAD_READY);
    scoreboard_set_status(scoreboard_thread_at(&board, 1, 3), THREAD_WRITING);
    scoreboard_count_process(&board, 1, 5, &idle, &busy);
    is_int(idle, 1, "one idle among garbage");
    is_int(busy, 1, "one busy among garbage: unknown letters count as neither");
    scoreboard_destroy(&board);
}

static void test_check_header(void)
{
    scoreboard board;
    is_int(scoreboard_create(&board, 2, 4, NULL), WEFT_OK, "scoreboard 2 x 4");
    scoreboard_header own;
    memset(&own, 0, sizeof own);
    atomic_store(&own.running_generation, 3);
    atomic_store(&own.config_generation, 4);
    atomic_store(&own.start_time_ms, atomic_load(&board.header->start_time_ms));
    atomic_store(&own.restart_time_ms, atomic_load(&board.header->restart_time_ms));
    atomic_store(&own.children_started, 7);
    ok(scoreboard_check_header(&board, &own) > 0, "first check: the mapping lacked the generations");
    is_int(scoreboard_check_header(&board, &own), 0, "second check: nothing to report");
    is_int(atomic_load(&board.header->running_generation), 3, "generation copied from private memory");

    memset(board.header, 0xa5, sizeof *board.header);  /* a child's random bytes */
    board.header->thread_limit = 0x7fffffff;
    int found = scoreboard_check_header(&board, &own);
    is_int(found, 9, "limits and eight fields did not match (draining among them)");
    is_int(board.header->server_limit, 2, "server_limit put back");
    is_int(board.header->thread_limit, 4, "thread_limit put back");
    is_int(atomic_load(&board.header->config_generation), 4, "config generation put back");
    ok(atomic_load(&board.header->children_started) == 7, "counter put back");
    is_int(atomic_load(&board.header->draining), 0, "draining put back: a child cannot make the server drain");
    is_int(scoreboard_check_header(&board, &own), 0, "clean afterwards");
    scoreboard_destroy(&board);
}

static void test_check_slot(void)
{
    scoreboard board;
    is_int(scoreboard_create(&board, 3, 4, NULL), WEFT_OK, "scoreboard 3 x 4");
    for (int slot = 0; slot < 3; slot++)
        is_int(scoreboard_check_slot(&board, slot, 0, 0, 4), 0, "a fresh free slot is clean");
    is_int(scoreboard_check_slot(&board, -1, 0, 0, 4), 0, "slot -1 is ignored");
    is_int(scoreboard_check_slot(&board, 3, 0, 0, 4), 0, "slot server_limit is ignored");

    /* A free slot full of garbage: cleared. */
    scoreboard_process *free_slot = scoreboard_process_at(&board, 1);
    atomic_store(&free_slot->pid, 1);
    atomic_store(&free_slot->quiescing, 0xff);
    atomic_store(&free_slot->connections, -5);
    for (int t = 0; t < 4; t++)
        scoreboard_set_status(scoreboard_thread_at(&board, 1, t), (unsigned char)"_W\xffZ"[t]);
    is_int(scoreboard_check_slot(&board, 1, 0, 0, 4), 7, "free slot: pid, flag, count and four threads");
    is_int(atomic_load(&free_slot->pid), 0, "free slot: pid cleared");
    is_int(atomic_load(&free_slot->connections), 0, "free slot: connections cleared");
    is_int(scoreboard_status(scoreboard_thread_at(&board, 1, 3)), THREAD_DEAD, "free slot: threads back to '.'");
    is_int(scoreboard_check_slot(&board, 1, 0, 0, 4), 0, "free slot clean afterwards");

    /* A live slot: pid and generation are the control process's; the
     * threads' letters are their owners', only looked at. */
    scoreboard_process *live = scoreboard_process_at(&board, 2);
    atomic_store(&live->pid, 4242);
    atomic_store(&live->generation, 1);
    for (int t = 0; t < 4; t++)
        scoreboard_set_status(scoreboard_thread_at(&board, 2, t), THREAD_READY);
    is_int(scoreboard_check_slot(&board, 2, 4242, 1, 4), 0, "a healthy live slot is clean");
    atomic_store(&live->pid, 0);
    is_int(scoreboard_check_slot(&board, 2, 4242, 1, 4), 0, "pid 0 (a reset) is put back silently");
    is_int(atomic_load(&live->pid), 4242, "pid put back");
    atomic_store(&live->pid, 1);
    atomic_store(&live->generation, -9);
    atomic_store(&live->not_accepting, 7);
    scoreboard_set_status(scoreboard_thread_at(&board, 2, 0), 0);
    is_int(scoreboard_check_slot(&board, 2, 4242, 1, 4), 4, "live slot: pid, generation, flag and a letter");
    is_int(atomic_load(&live->pid), 4242, "the forked pid replaces pid 1");
    is_int(atomic_load(&live->generation), 1, "generation put back");
    is_int(scoreboard_status(scoreboard_thread_at(&board, 2, 0)), 0, "a live thread's letter is left alone");
    scoreboard_set_status(scoreboard_thread_at(&board, 2, 0), THREAD_READY);
    is_int(scoreboard_check_slot(&board, 2, 4242, 1, 4), 1, "the child's flag of 7 is only looked at");
    atomic_store(&live->not_accepting, 0);  /* as the child would write it next */
    /* A child of ThreadsPerChild 2: entries 2 and 3 belong to no thread. */
    scoreboard_set_status(scoreboard_thread_at(&board, 2, 1), 'Z');
    scoreboard_set_status(scoreboard_thread_at(&board, 2, 3), THREAD_WRITING);
    is_int(scoreboard_check_slot(&board, 2, 4242, 1, 2), 3,
           "an unknown letter, and two entries beyond the child's threads");
    is_int(scoreboard_status(scoreboard_thread_at(&board, 2, 3)), THREAD_DEAD,
           "entries beyond its threads back to '.'");
    is_int(scoreboard_status(scoreboard_thread_at(&board, 2, 1)), 'Z', "its own thread's letter is left alone");
    scoreboard_destroy(&board);
}

/* ---- capacity ----------------------------------------------------------- */

static mpm_capacity defaults(void)
{
    mpm_capacity c;
    memset(&c, 0, sizeof c);
    c.server_limit = 16;
    c.thread_limit = 64;
    c.threads_per_child = 25;
    c.start_servers = 3;
    c.min_spare_threads = 75;
    c.max_spare_threads = 250;
    c.connections_per_thread = 8;
    return c;
}

static bool warned(const mpm_capacity *c, const char *text)
{
    for (int i = 0; i < c->warning_count; i++)
        if (strstr(c->warnings[i], text))
            return true;
    return false;
}

static void test_capacity(void)
{
    mpm_capacity c = defaults();
    mpm_capacity_reconcile(&c);
    is_int(c.max_processes, 16, "defaults: 400 threads / 25 = 16 processes");
    is_int(c.warning_count, 0, "defaults: no warning");
    is_int(c.max_spare_threads, 250, "defaults: MaxSpareThreads unchanged");

    c = defaults();
    c.max_clients = 8;
    c.max_clients_set = true;
    mpm_capacity_reconcile(&c);
    is_int(c.max_processes, 8, "MaxClients is a process count");
    is_int(c.warning_count, 0, "MaxClients 8: no warning");

    c = defaults();
    c.max_request_workers = 150;
    c.max_request_workers_set = true;
    mpm_capacity_reconcile(&c);
    is_int(c.max_processes, 6, "MaxRequestWorkers 150 / 25 = 6 processes");
    is_int(c.warning_count, 0, "a multiple: no warning");

    c = defaults();
    c.max_request_workers = 160;
    c.max_request_workers_set = true;
    mpm_capacity_reconcile(&c);
    is_int(c.max_processes, 6, "MaxRequestWorkers 160 rounds down to 6 processes");
    is_int(c.max_request_workers, 150, "and to 150 threads");
    ok(warned(&c, "not an integer multiple of ThreadsPerChild of 25, decreasing to nearest multiple 150, "
                  "for a maximum of 6 servers"), "warned about the rounding");
    is_int(c.warning_count, 1, "exactly one warning");

    c = defaults();
    c.max_request_workers = 10;
    c.max_request_workers_set = true;
    mpm_capacity_reconcile(&c);
    is_int(c.max_processes, 1, "MaxRequestWorkers below ThreadsPerChild: one process");
    ok(warned(&c, "is less than ThreadsPerChild"), "warned");

    c = defaults();
    c.max_clients = 4;
    c.max_clients_set = true;
    c.max_request_workers = 150;
    c.max_request_workers_set = true;
    mpm_capacity_reconcile(&c);
    is_int(c.max_processes, 4, "both given and inconsistent: the smaller (MaxClients 4 < 6)");
    ok(warned(&c, "disagree, using the smaller: 4 processes"), "warned about the disagreement");

    c = defaults();
    c.max_clients = 6;
    c.max_clients_set = true;
    c.max_request_workers = 150;
    c.max_request_workers_set = true;
    mpm_capacity_reconcile(&c);
    is_int(c.max_processes, 6, "both given and consistent");
    is_int(c.warning_count, 0, "consistent: no warning");

    c = defaults();
    c.max_clients = 40;
    c.max_clients_set = true;
    mpm_capacity_reconcile(&c);
    is_int(c.max_processes, 16, "MaxClients above ServerLimit is capped");
    ok(warned(&c, "would exceed ServerLimit of 16"), "warned about ServerLimit");

    c = defaults();
    c.max_request_workers = 1000;
    c.max_request_workers_set = true;
    mpm_capacity_reconcile(&c);
    is_int(c.max_processes, 16, "MaxRequestWorkers 1000 needs 40 servers, capped at 16");
    ok(warned(&c, "would require 40 servers and would exceed ServerLimit of 16, decreasing to 400"),
       "warned in Apache's words");

    c = defaults();
    c.threads_per_child = 1;
    c.max_spare_threads = 250;
    mpm_capacity_reconcile(&c);
    is_int(c.max_processes, 16, "ThreadsPerChild 1, no cap given: 400 processes capped at ServerLimit");
    ok(!warned(&c, "400"), "capping the built-in default is silent");

    c = defaults();
    c.threads_per_child = 64;
    c.max_spare_threads = 250;
    mpm_capacity_reconcile(&c);
    is_int(c.max_processes, 6, "ThreadsPerChild 64: 400 / 64 = 6 processes");

    c = defaults();
    c.threads_per_child = 100;
    mpm_capacity_reconcile(&c);
    is_int(c.threads_per_child, 64, "ThreadsPerChild capped at ThreadLimit");
    ok(warned(&c, "ThreadsPerChild of 100 exceeds ThreadLimit of 64 threads, decreasing to 64"), "warned");

    c = defaults();
    c.threads_per_child = 0;
    c.server_limit = 0;
    c.thread_limit = 30000;
    mpm_capacity_reconcile(&c);
    is_int(c.server_limit, 1, "ServerLimit 0 -> 1");
    is_int(c.thread_limit, MPM_HARD_THREAD_LIMIT, "ThreadLimit capped at the hard limit");
    is_int(c.threads_per_child, 1, "ThreadsPerChild 0 -> 1");
    is_int(c.max_processes, 1, "one process slot: one process");
    is_int(c.start_servers, 1, "StartServers capped at the process limit");

    c = defaults();
    c.start_servers = 0;
    c.min_spare_threads = 0;
    mpm_capacity_reconcile(&c);
    is_int(c.start_servers, 1, "StartServers 0 -> 1");
    is_int(c.min_spare_threads, 1, "MinSpareThreads 0 -> 1");
    ok(warned(&c, "StartServers of 0 not allowed") && warned(&c, "MinSpareThreads of 0 not allowed"),
       "one warning per change");

    c = defaults();
    c.start_servers = 20;
    mpm_capacity_reconcile(&c);
    is_int(c.start_servers, 16, "StartServers above the process limit is lowered");

    c = defaults();
    c.min_spare_threads = 100;
    c.max_spare_threads = 110;
    mpm_capacity_reconcile(&c);
    is_int(c.max_spare_threads, 126, "MaxSpareThreads raised to Min + ThreadsPerChild + 1");
    ok(warned(&c, "increasing to 126"), "warned when raised");
    is_int(c.warning_count, 1, "and nothing else");

    c = defaults();
    c.min_spare_threads = 100;
    c.max_spare_threads = 126;
    mpm_capacity_reconcile(&c);
    is_int(c.warning_count, 0, "MaxSpareThreads exactly at the floor: no warning");

    c = defaults();
    c.connections_per_thread = 0;
    mpm_capacity_reconcile(&c);
    is_int(c.connections_per_thread, 1, "ConnectionsPerThread 0 -> 1");

    /* Reconciling a reconciled result changes nothing (restarts do that). */
    c = defaults();
    c.max_request_workers = 160;
    c.max_request_workers_set = true;
    c.min_spare_threads = 100;
    c.max_spare_threads = 0;
    mpm_capacity_reconcile(&c);
    mpm_capacity copy = c;
    mpm_capacity_reconcile(&copy);
    is_int(copy.warning_count, 0, "idempotent: no warning the second time");
    is_int(copy.max_processes, c.max_processes, "idempotent: same process cap");
}

int main(void)
{
    test_anonymous();
    test_file();
    test_status_known();
    test_private_geometry();
    test_check_header();
    test_check_slot();
    test_capacity();
    return done_testing();
}
