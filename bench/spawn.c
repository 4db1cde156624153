/*
 * spawn.c — what it costs to start a CGI script from a weft child
 * (docs/cgi.md, "Why posix_spawn").
 *
 *   cc -O2 -pthread -o /tmp/spawn bench/spawn.c && /tmp/spawn [iterations]
 *
 * For each parent shape (threads idle in the background as in a weft child,
 * and a resident size: a weft child's few MiB, then larger), it times
 * starting /bin/true and reaping it, from one thread:
 *   fork+exec    fork(), execve in the child, waitpid
 *   vfork+exec   vfork(), execve in the child, waitpid
 *   posix_spawn  glibc's (clone with CLONE_VM|CLONE_VFORK), waitpid
 * The exec and the exit of /bin/true are in every wall-clock figure; the
 * CPU figure is the parent's alone (getrusage RUSAGE_SELF, user + system):
 * what starting a script costs the weft child itself, which is also what a
 * loaded machine does not blur.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void *idle_thread(void *argument)
{
    (void)argument;
    for (;;)
        pause();
    return NULL;
}

static char *const true_argv[] = { "/bin/true", NULL };

static void run_fork(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        execve("/bin/true", true_argv, environ);
        _exit(127);
    }
    waitpid(pid, NULL, 0);
}

static void run_vfork(void)
{
    pid_t pid = vfork();
    if (pid == 0) {
        execve("/bin/true", true_argv, environ);
        _exit(127);
    }
    waitpid(pid, NULL, 0);
}

static void run_spawn(void)
{
    pid_t pid;
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &empty);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (posix_spawn(&pid, "/bin/true", NULL, &attributes, true_argv, environ) == 0)
        waitpid(pid, NULL, 0);
    posix_spawnattr_destroy(&attributes);
}

static double cpu_us(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec * 1e6 + usage.ru_utime.tv_usec + usage.ru_stime.tv_sec * 1e6 +
           usage.ru_stime.tv_usec;
}

typedef struct {
    double wall;
    double cpu;
} cost;

static cost measure(void (*run)(void), int iterations)
{
    for (int i = 0; i < iterations / 10 + 1; i++)
        run();  /* warm up */
    double start = now_us(), start_cpu = cpu_us();
    for (int i = 0; i < iterations; i++)
        run();
    return (cost){ (now_us() - start) / iterations, (cpu_us() - start_cpu) / iterations };
}

int main(int argc, char **argv)
{
    int iterations = argc > 1 ? atoi(argv[1]) : 500;
    static const int threads = 25;          /* ThreadsPerChild in conf/weft.conf */
    static const size_t sizes_mib[] = { 4, 64, 512 };
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, 512 * 1024);
    for (int i = 0; i < threads; i++) {
        pthread_t thread;
        pthread_create(&thread, &attributes, idle_thread, NULL);
    }
    printf("%d iterations each, %d idle threads, /bin/true\n", iterations, threads);
    printf("%-10s %24s %24s %24s\n", "", "fork+exec", "vfork+exec", "posix_spawn");
    printf("%-10s %12s %11s %12s %11s %12s %11s\n", "RSS (MiB)", "wall", "parent CPU", "wall", "parent CPU",
           "wall", "parent CPU");
    size_t resident = 0;
    for (size_t s = 0; s < sizeof(sizes_mib) / sizeof(sizes_mib[0]); s++) {
        size_t want = sizes_mib[s] << 20;
        if (want > resident) {
            char *block = mmap(NULL, want - resident, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (block == MAP_FAILED)
                return 1;
            memset(block, 1, want - resident);  /* resident, and written: fork must copy its page tables */
            resident = want;
        }
        cost forked = measure(run_fork, iterations);
        cost vforked = measure(run_vfork, iterations);
        cost spawned = measure(run_spawn, iterations);
        printf("%-10zu %9.0f us %8.0f us %9.0f us %8.0f us %9.0f us %8.0f us\n", sizes_mib[s], forked.wall,
               forked.cpu, vforked.wall, vforked.cpu, spawned.wall, spawned.cpu);
    }
    return 0;
}
