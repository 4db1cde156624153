/*
 * shared_memory.c — memory and locks shared by the control process and its
 * children (the TLS session cache, ticket keys and OCSP responses; os.h).
 */
#include "os.h"

#include <errno.h>
#include <sys/mman.h>

void *os_shared_region(size_t size)
{
    void *region = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return region == MAP_FAILED ? NULL : region;
}

int os_shared_mutex_init(pthread_mutex_t *mutex)
{
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
    int status = pthread_mutex_init(mutex, &attributes);
    pthread_mutexattr_destroy(&attributes);
    return status;
}

bool os_shared_mutex_lock(pthread_mutex_t *mutex)
{
    int status = pthread_mutex_lock(mutex);
    if (status == EOWNERDEAD) {
        pthread_mutex_consistent(mutex);
        return true;
    }
    return status == 0;
}
