/*
 * scoreboard.c — the shared-memory table (layout and rules in scoreboard.h).
 *
 * The memory is mapped MAP_SHARED before any child is forked, so every child
 * sees the same pages at the same address without re-attaching.  With
 * ScoreBoardFile it is a file of exactly the right size mapped shared, which
 * lets outside programs read it; a stale file from an earlier run is removed
 * first (its size may differ and a reader could still hold the old one).
 */
#include "scoreboard.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Each part starts on a 64-byte boundary so that the process records do not
 * share a cache line with the header the control process writes. */
static size_t align_up(size_t size)
{
    return (size + 63) & ~(size_t)63;
}

int scoreboard_create(scoreboard *board, int server_limit, int thread_limit, const char *path)
{
    memset(board, 0, sizeof *board);
    board->fd = -1;
    if (server_limit < 1 || thread_limit < 1) {
        errno = EINVAL;
        return WEFT_ERROR;
    }
    size_t header_size = align_up(sizeof(scoreboard_header));
    size_t processes_size = align_up(sizeof(scoreboard_process) * (size_t)server_limit);
    size_t threads_size = sizeof(scoreboard_thread) * (size_t)server_limit * (size_t)thread_limit;
    size_t threads_end = align_up(header_size + processes_size + threads_size);
    size_t size = threads_end + SCOREBOARD_REGULATION_SIZE;

    void *memory;
    if (path) {
        if (unlink(path) != 0 && errno != ENOENT)
            return WEFT_ERROR;
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            return WEFT_ERROR;
        if (ftruncate(fd, (off_t)size) != 0) {
            int error = errno;
            close(fd);
            unlink(path);
            errno = error;
            return WEFT_ERROR;
        }
        memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (memory == MAP_FAILED) {
            int error = errno;
            close(fd);
            unlink(path);
            errno = error;
            return WEFT_ERROR;
        }
        board->fd = fd;
    } else {
        memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED)
            return WEFT_ERROR;
    }
    /* Both kinds of mapping come zeroed from the kernel. */
    board->size = size;
    board->header = memory;
    board->processes = (scoreboard_process *)((char *)memory + header_size);
    board->threads = (scoreboard_thread *)((char *)memory + header_size + processes_size);
    board->regulation = (scoreboard_regulation *)((char *)memory + threads_end);

    board->server_limit = server_limit;
    board->thread_limit = thread_limit;
    board->header->server_limit = server_limit;
    board->header->thread_limit = thread_limit;
    int64_t now = realtime_ms();
    atomic_store_explicit(&board->header->start_time_ms, now, memory_order_relaxed);
    atomic_store_explicit(&board->header->restart_time_ms, now, memory_order_relaxed);
    size_t thread_count = (size_t)server_limit * (size_t)thread_limit;
    for (size_t i = 0; i < thread_count; i++)
        scoreboard_set_status(&board->threads[i], THREAD_DEAD);
    return WEFT_OK;
}

void scoreboard_destroy(scoreboard *board)
{
    if (board->header)
        munmap(board->header, board->size);
    if (board->fd >= 0)
        close(board->fd);
    memset(board, 0, sizeof *board);
    board->fd = -1;
}

void scoreboard_count_process(const scoreboard *board, int slot, int thread_count, int *idle, int *busy)
{
    int idle_count = 0, busy_count = 0;
    if (thread_count > board->thread_limit)
        thread_count = board->thread_limit;
    for (int t = 0; t < thread_count; t++) {
        unsigned char status = scoreboard_status(scoreboard_thread_at(board, slot, t));
        switch (status) {
        case THREAD_READY:
            idle_count++;
            break;
        case THREAD_DEAD:
        case THREAD_STARTING:
        case THREAD_IDLE_KILL:
        case THREAD_GRACEFUL:
            break;
        default:
            busy_count += scoreboard_status_known(status);
            break;
        }
    }
    if (idle)
        *idle = idle_count;
    if (busy)
        *busy = busy_count;
}

/* ---- the regulation's account ---------------------------------------------- */

void scoreboard_note_decision(scoreboard *board, uint64_t index, int action, int reason, int count, int idle,
                              int children)
{
    scoreboard_decision *d = &board->regulation->decision[index % SCOREBOARD_DECISIONS];
    atomic_store_explicit(&d->time_ms, realtime_ms(), memory_order_relaxed);
    atomic_store_explicit(&d->action, (unsigned char)action, memory_order_relaxed);
    atomic_store_explicit(&d->reason, (unsigned char)reason, memory_order_relaxed);
    atomic_store_explicit(&d->count, count, memory_order_relaxed);
    atomic_store_explicit(&d->idle, idle, memory_order_relaxed);
    atomic_store_explicit(&d->children, children, memory_order_relaxed);
    atomic_store_explicit(&board->regulation->decisions, index + 1, memory_order_release);
}

const char *scoreboard_action_name(unsigned action)
{
    static const char *const names[REGULATION_ACTIONS] = {
        [REGULATION_FORK] = "fork", [REGULATION_RETIRE] = "retire", [REGULATION_HOLD] = "hold",
    };
    return action < REGULATION_ACTIONS ? names[action] : NULL;
}

const char *scoreboard_reason_text(unsigned reason)
{
    static const char *const texts[REGULATION_REASONS] = {
        [REASON_STARTUP] = "StartServers",
        [REASON_SHORTAGE] = "idle threads below MinSpareThreads",
        [REASON_SURPLUS] = "idle threads above MaxSpareThreads for a second",
        [REASON_SUCCESSOR] = "a child reached MaxConnectionsPerChild: its successor",
        [REASON_RECYCLED] = "a recycled child exited: replaced",
        [REASON_CRASH] = "a child crashed: replaced in its slot",
        [REASON_CRASH_LOOP] = "crash loop: one replacement a second",
        [REASON_MAX_CLIENTS] = "MaxRequestWorkers reached",
        [REASON_SCOREBOARD_FULL] = "scoreboard full of old-generation children (ServerLimit)",
    };
    return reason < REGULATION_REASONS ? texts[reason] : NULL;
}

/* ---- checks by the control process ---------------------------------------- */

/* Stores want where the mapping holds something else; counts the mismatch. */
#define RESTORE(field, want, mismatches)                                          \
    do {                                                                          \
        if (atomic_load_explicit(&(field), memory_order_relaxed) != (want)) {     \
            atomic_store_explicit(&(field), (want), memory_order_relaxed);        \
            (mismatches)++;                                                       \
        }                                                                         \
    } while (0)

int scoreboard_check_header(scoreboard *board, const scoreboard_header *expected)
{
    scoreboard_header *header = board->header;
    scoreboard_header *want = (scoreboard_header *)expected;  /* atomic loads take non-const */
    int mismatches = 0;
    /* Plain ints, read by outside programs only: volatile so that the
     * compiler does not assume they still hold what was stored. */
    volatile int *server_limit = &header->server_limit, *thread_limit = &header->thread_limit;
    if (*server_limit != board->server_limit || *thread_limit != board->thread_limit) {
        *server_limit = board->server_limit;
        *thread_limit = board->thread_limit;
        mismatches++;
    }
    RESTORE(header->running_generation, atomic_load_explicit(&want->running_generation, memory_order_relaxed),
            mismatches);
    RESTORE(header->config_generation, atomic_load_explicit(&want->config_generation, memory_order_relaxed),
            mismatches);
    RESTORE(header->restart_time_ms, atomic_load_explicit(&want->restart_time_ms, memory_order_relaxed),
            mismatches);
    RESTORE(header->start_time_ms, atomic_load_explicit(&want->start_time_ms, memory_order_relaxed), mismatches);
    RESTORE(header->children_started, atomic_load_explicit(&want->children_started, memory_order_relaxed),
            mismatches);
    RESTORE(header->children_crashed, atomic_load_explicit(&want->children_crashed, memory_order_relaxed),
            mismatches);
    RESTORE(header->spawn_rate_events, atomic_load_explicit(&want->spawn_rate_events, memory_order_relaxed),
            mismatches);
    RESTORE(header->draining, atomic_load_explicit(&want->draining, memory_order_relaxed), mismatches);
    return mismatches;
}

int scoreboard_check_slot(scoreboard *board, int slot, pid_t pid, int generation, int threads)
{
    if (slot < 0 || slot >= board->server_limit)
        return 0;
    scoreboard_process *record = scoreboard_process_at(board, slot);
    int mismatches = 0;
    if (pid == 0) {
        RESTORE(record->pid, 0, mismatches);
        RESTORE(record->quiescing, 0, mismatches);
        RESTORE(record->not_accepting, 0, mismatches);
        RESTORE(record->connections, 0, mismatches);
        RESTORE(record->parked, 0, mismatches);
        for (int t = 0; t < board->thread_limit; t++)
            RESTORE(scoreboard_thread_at(board, slot, t)->status, THREAD_DEAD, mismatches);
        return mismatches;
    }
    pid_t shown = atomic_load_explicit(&record->pid, memory_order_relaxed);
    if (shown != pid) {
        atomic_store_explicit(&record->pid, pid, memory_order_relaxed);
        mismatches += shown != 0;
    }
    RESTORE(record->generation, generation, mismatches);
    /* The flags belong to the child (0 or 1); a fix-up could undo its own
     * next store, so they are only looked at. */
    mismatches += atomic_load_explicit(&record->quiescing, memory_order_relaxed) > 1;
    mismatches += atomic_load_explicit(&record->not_accepting, memory_order_relaxed) > 1;
    for (int t = 0; t < board->thread_limit; t++) {
        scoreboard_thread *thread = scoreboard_thread_at(board, slot, t);
        if (t < threads)
            mismatches += !scoreboard_status_known(scoreboard_status(thread));
        else
            RESTORE(thread->status, THREAD_DEAD, mismatches);  /* no thread of the child's */
    }
    return mismatches;
}

/* ---- extended status and per-request accounting --------------------------- */

static size_t copy_bounded(char *out, size_t size, const char *text, size_t length)
{
    if (length > size - 1)
        length = size - 1;
    memcpy(out, text, length);
    out[length] = '\0';
    return length;
}

static bool is_scheme_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '-' || c == '.';
}

/* Where ":password" of an absolute-form target's userinfo starts and ends
 * (the '@' after it), or false.  Only "scheme://user:password@host..." has
 * one; origin-form targets ("/path") return at once. */
static bool find_password(const char *line, size_t length, size_t *start, size_t *end)
{
    const char *space = memchr(line, ' ', length);
    if (!space)
        return false;
    size_t target = (size_t)(space - line) + 1;
    if (target >= length || line[target] == '/' || line[target] == '*')
        return false;
    size_t i = target;
    while (i < length && is_scheme_char(line[i]))
        i++;
    if (i == target || length - i < 3 || memcmp(line + i, "://", 3) != 0)
        return false;
    size_t authority = i + 3;
    size_t authority_end = authority;
    while (authority_end < length && !strchr("/?# ", line[authority_end]))
        authority_end++;
    const char *at = NULL;
    for (size_t k = authority; k < authority_end; k++)
        if (line[k] == '@')
            at = line + k;
    const char *userinfo_end = at ? at : line + authority_end;
    const char *colon = memchr(line + authority, ':', (size_t)(userinfo_end - (line + authority)));
    if (!colon)
        return false;
    if (!at) {
        /* "host:port" -- unless the caller's window ends inside the
         * authority: then the '@' may lie beyond it, and what follows the
         * colon may be a password.  Leave it out to be safe. */
        if (authority_end < length)
            return false;
        *start = (size_t)(colon - line);
        *end = length;
        return true;
    }
    *start = (size_t)(colon - line);
    *end = (size_t)(at - line);
    return true;
}

void scoreboard_note_request(scoreboard_thread *thread, const char *client, const char *request_line,
                             size_t length, const char *vhost, time_t started)
{
    copy_bounded(thread->client, sizeof thread->client, client ? client : "", client ? strlen(client) : 0);
    copy_bounded(thread->vhost, sizeof thread->vhost, vhost ? vhost : "", vhost ? strlen(vhost) : 0);
    if (!request_line)
        length = 0;
    size_t start, end;
    if (length && find_password(request_line, length, &start, &end)) {
        size_t written = copy_bounded(thread->request, sizeof thread->request, request_line, start);
        copy_bounded(thread->request + written, sizeof thread->request - written, request_line + end,
                     length - end);
    } else {
        copy_bounded(thread->request, sizeof thread->request, request_line ? request_line : "", length);
    }
    atomic_store_explicit(&thread->last_used_ms, (int64_t)started * 1000, memory_order_relaxed);
}

/* The thread is the only writer of its record: a relaxed load and store is
 * enough (readers still see whole values) and avoids a locked instruction
 * per counter on the request path. */
static inline void add_own(_Atomic uint64_t *counter, uint64_t amount)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + amount,
                          memory_order_relaxed);
}

void scoreboard_count_request(scoreboard_thread *thread, int status, uint64_t bytes, int64_t duration_us)
{
    static const int64_t bounds[] = SCOREBOARD_DURATION_BOUNDS_US;
    _Static_assert(COUNT_OF(bounds) + 1 == SCOREBOARD_DURATION_BUCKETS, "one bucket per bound, plus +Inf");
    if (duration_us < 0)
        duration_us = 0;
    add_own(&thread->access_count, 1);
    add_own(&thread->bytes_served, bytes);
    add_own(&thread->duration_total_us, (uint64_t)duration_us);
    atomic_store_explicit(&thread->last_duration_us, (uint64_t)duration_us, memory_order_relaxed);
    if (status >= 100 && status < 600)
        add_own(&thread->status_classes[status / 100 - 1], 1);
    size_t bucket = 0;
    while (bucket < COUNT_OF(bounds) && duration_us > bounds[bucket])
        bucket++;
    add_own(&thread->duration_buckets[bucket], 1);
}
