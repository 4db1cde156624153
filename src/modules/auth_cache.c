/*
 * auth_cache.c — the credential cache and the failure counts (see
 * auth_cache.h).
 */
#include "auth_cache.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define CACHE_WAYS 4
#define FAILURE_WAYS 4
#define ADDRESS_MAX 48

typedef struct {
    auth_cache_key key;
    uint64_t generation;
    time_t stored;  /* monotonic seconds; 0 = empty */
} cache_entry;

typedef struct {
    char address[ADDRESS_MAX];
    time_t window_start;  /* monotonic seconds; 0 = empty */
    int failures;
} failure_entry;

/* A check in progress, and the threads waiting for its result. */
typedef struct {
    auth_cache_key key;
    uint64_t generation;
    bool busy;
    bool matched;
    unsigned waiters;  /* a place is reused only when nobody waits on it */
} flight;

#define FLIGHTS 32

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cache_entry cache[AUTH_CACHE_SLOTS];
static flight flights[FLIGHTS];
static pthread_cond_t flight_landed = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t failures_lock = PTHREAD_MUTEX_INITIALIZER;
static failure_entry failures[AUTH_FAILURE_SLOTS];

static pthread_once_t secret_once = PTHREAD_ONCE_INIT;
static unsigned char secret[32];
/* Fetched once: OpenSSL 3 looks EVP_sha256() up again on every
 * EVP_DigestInit_ex, which costs more than the hash of a few bytes. */
static EVP_MD *sha256;

/* Per process: a child forked from another has its own after the fork only
 * if it makes it; each child makes it at its first use. */
static void make_secret(void)
{
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (RAND_bytes(secret, sizeof(secret)) != 1) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        memcpy(secret, &now, sizeof(now) < sizeof(secret) ? sizeof(now) : sizeof(secret));
    }
}

static time_t monotonic_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return now.tv_sec + 1;  /* never 0, which marks an empty slot */
}

static void hash_part(EVP_MD_CTX *md, const char *text)
{
    EVP_DigestUpdate(md, text, strlen(text) + 1);  /* with its NUL: parts cannot run together */
}

void auth_cache_key_of(auth_cache_key *key, const char *user_file, const char *realm, const char *user,
                       const char *password)
{
    pthread_once(&secret_once, make_secret);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int length = 0;
    if (!md || !sha256 || !EVP_DigestInit_ex(md, sha256, NULL)) {
        /* No key: fill it with randomness, so that it matches nothing. */
        RAND_bytes(key->digest, sizeof(key->digest));
        EVP_MD_CTX_free(md);
        return;
    }
    EVP_DigestUpdate(md, secret, sizeof(secret));
    hash_part(md, user_file ? user_file : "");
    hash_part(md, realm ? realm : "");
    hash_part(md, user);
    hash_part(md, password);
    EVP_DigestFinal_ex(md, key->digest, &length);
    EVP_MD_CTX_free(md);
}

static size_t cache_set(const auth_cache_key *key)
{
    size_t index = ((size_t)key->digest[0] << 8 | key->digest[1]) % (AUTH_CACHE_SLOTS / CACHE_WAYS);
    return index * CACHE_WAYS;
}

static bool holds_locked(const auth_cache_key *key, uint64_t generation, int timeout)
{
    if (timeout <= 0)
        return false;
    time_t now = monotonic_seconds();
    size_t set = cache_set(key);
    bool found = false;
    for (size_t i = set; i < set + CACHE_WAYS && !found; i++)
        found = cache[i].stored && now - cache[i].stored < timeout && cache[i].generation == generation
             && CRYPTO_memcmp(cache[i].key.digest, key->digest, sizeof(key->digest)) == 0;
    return found;
}

bool auth_cache_holds(const auth_cache_key *key, uint64_t generation, int timeout)
{
    pthread_mutex_lock(&cache_lock);
    bool found = holds_locked(key, generation, timeout);
    pthread_mutex_unlock(&cache_lock);
    return found;
}

static bool same_flight(const flight *f, const auth_cache_key *key, uint64_t generation)
{
    return f->generation == generation && memcmp(f->key.digest, key->digest, sizeof(key->digest)) == 0;
}

int auth_cache_begin(const auth_cache_key *key, uint64_t generation, int timeout, int *ticket)
{
    *ticket = -1;
    pthread_mutex_lock(&cache_lock);
    if (holds_locked(key, generation, timeout)) {
        pthread_mutex_unlock(&cache_lock);
        return AUTH_CHECK_MATCHED;
    }
    flight *free_place = NULL;
    for (int i = 0; i < FLIGHTS; i++) {
        flight *f = &flights[i];
        if (f->busy && same_flight(f, key, generation)) {
            struct timespec deadline;
            clock_gettime(CLOCK_REALTIME, &deadline);
            deadline.tv_sec += AUTH_CHECK_WAIT_SECONDS;
            f->waiters++;
            int waited = 0;
            while (f->busy && waited == 0)
                waited = pthread_cond_timedwait(&flight_landed, &cache_lock, &deadline);
            f->waiters--;
            int result = f->busy ? AUTH_CHECK_YOURS : f->matched ? AUTH_CHECK_MATCHED : AUTH_CHECK_MISMATCHED;
            pthread_mutex_unlock(&cache_lock);
            return result;  /* YOURS after a timeout: check without a place */
        }
        if (!free_place && !f->busy && f->waiters == 0)
            free_place = f;
    }
    if (free_place) {
        *free_place = (flight){ .key = *key, .generation = generation, .busy = true };
        *ticket = (int)(free_place - flights);
    }
    pthread_mutex_unlock(&cache_lock);
    return AUTH_CHECK_YOURS;
}

static void store_locked(const auth_cache_key *key, uint64_t generation)
{
    time_t now = monotonic_seconds();
    size_t set = cache_set(key);
    size_t victim = set;
    for (size_t i = set; i < set + CACHE_WAYS; i++) {
        if (memcmp(cache[i].key.digest, key->digest, sizeof(key->digest)) == 0) {
            victim = i;  /* the same credentials again: renew */
            break;
        }
        if (cache[i].stored < cache[victim].stored)
            victim = i;
    }
    cache[victim] = (cache_entry){ .key = *key, .generation = generation, .stored = now };
}

void auth_cache_end(const auth_cache_key *key, uint64_t generation, int timeout, int ticket, bool matched)
{
    pthread_mutex_lock(&cache_lock);
    if (matched && timeout > 0)
        store_locked(key, generation);
    if (ticket >= 0 && ticket < FLIGHTS) {
        flights[ticket].matched = matched;
        flights[ticket].busy = false;
        if (flights[ticket].waiters)
            pthread_cond_broadcast(&flight_landed);
    }
    pthread_mutex_unlock(&cache_lock);
}

/* FNV-1a of the address text. */
static size_t failure_set(const char *address)
{
    uint32_t hash = 2166136261u;
    for (const char *c = address; *c; c++)
        hash = (hash ^ (unsigned char)*c) * 16777619u;
    return (hash % (AUTH_FAILURE_SLOTS / FAILURE_WAYS)) * FAILURE_WAYS;
}

int auth_failures_locked(const char *address, int limit, int window)
{
    if (limit <= 0 || window <= 0 || !address)
        return 0;
    time_t now = monotonic_seconds();
    size_t set = failure_set(address);
    int wait = 0;
    pthread_mutex_lock(&failures_lock);
    for (size_t i = set; i < set + FAILURE_WAYS; i++) {
        failure_entry *entry = &failures[i];
        if (entry->window_start && strcmp(entry->address, address) == 0) {
            time_t ends = entry->window_start + window;
            if (now < ends && entry->failures >= limit)
                wait = (int)(ends - now);
            break;
        }
    }
    pthread_mutex_unlock(&failures_lock);
    return wait;
}

void auth_failures_note(const char *address, int window)
{
    if (window <= 0 || !address || strlen(address) >= ADDRESS_MAX)
        return;
    time_t now = monotonic_seconds();
    size_t set = failure_set(address);
    pthread_mutex_lock(&failures_lock);
    failure_entry *entry = NULL, *oldest = &failures[set];
    for (size_t i = set; i < set + FAILURE_WAYS && !entry; i++) {
        if (failures[i].window_start && strcmp(failures[i].address, address) == 0)
            entry = &failures[i];
        else if (failures[i].window_start < oldest->window_start)
            oldest = &failures[i];
    }
    if (!entry) {
        entry = oldest;
        memset(entry, 0, sizeof(*entry));
        strcpy(entry->address, address);
    }
    if (!entry->window_start || now - entry->window_start >= window) {
        entry->window_start = now;
        entry->failures = 0;
    }
    entry->failures++;
    pthread_mutex_unlock(&failures_lock);
}
