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

static int64_t realtime_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

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
    size_t size = header_size + processes_size + threads_size;

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
    if (thread_count > board->header->thread_limit)
        thread_count = board->header->thread_limit;
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
            busy_count++;
            break;
        }
    }
    if (idle)
        *idle = idle_count;
    if (busy)
        *busy = busy_count;
}
