/*
 * stall_shim.c — fault injection for t/77-stalled-threads.t: an LD_PRELOAD
 * library that makes open, openat, openat2 (through syscall()) and pread of
 * a file whose name contains STALL_SHIM_MARKER (default "stall-marker")
 * sleep STALL_SHIM_MS milliseconds (default 2000) first, as a slow disk
 * would, without the server announcing the wait (core/blocking.h).
 *
 * Built by the Makefile into build/t/stall_shim.so (no sanitizer: with an
 * ASan binary, the test preloads libasan first).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static int marked(const char *path)
{
    const char *marker = getenv("STALL_SHIM_MARKER");
    if (!marker || !*marker)
        marker = "stall-marker";
    return path && strstr(path, marker) != NULL;
}

static void stall(void)
{
    const char *text = getenv("STALL_SHIM_MS");
    long ms = text ? atol(text) : 2000;
    struct timespec pause = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&pause, &pause) != 0)
        ;
}

static int marked_fd(int fd)
{
    char link[64], target[4096];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n <= 0)
        return 0;
    target[n] = '\0';
    return marked(target);
}

#define NEXT(type, name) ((type)dlsym(RTLD_NEXT, name))

static mode_t mode_argument(int flags, va_list ap)
{
    return (flags & (O_CREAT | __O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_argument(flags, ap);
    va_end(ap);
    if (marked(path))
        stall();
    return NEXT(int (*)(const char *, int, ...), "open")(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_argument(flags, ap);
    va_end(ap);
    if (marked(path))
        stall();
    return NEXT(int (*)(const char *, int, ...), "open64")(path, flags, mode);
}

int openat(int directory, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_argument(flags, ap);
    va_end(ap);
    if (marked(path))
        stall();
    return NEXT(int (*)(int, const char *, int, ...), "openat")(directory, path, flags, mode);
}

int openat64(int directory, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_argument(flags, ap);
    va_end(ap);
    if (marked(path))
        stall();
    return NEXT(int (*)(int, const char *, int, ...), "openat64")(directory, path, flags, mode);
}

ssize_t pread(int fd, void *buffer, size_t count, off_t offset)
{
    if (marked_fd(fd))
        stall();
    return NEXT(ssize_t (*)(int, void *, size_t, off_t), "pread")(fd, buffer, count, offset);
}

ssize_t pread64(int fd, void *buffer, size_t count, off_t offset)
{
    if (marked_fd(fd))
        stall();
    return NEXT(ssize_t (*)(int, void *, size_t, off_t), "pread64")(fd, buffer, count, offset);
}

long syscall(long number, ...)
{
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
#ifdef SYS_openat2
    if (number == SYS_openat2 && marked((const char *)a[1]))
        stall();
#else
    if (number == 437 && marked((const char *)a[1]))
        stall();
#endif
    return NEXT(long (*)(long, ...), "syscall")(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
