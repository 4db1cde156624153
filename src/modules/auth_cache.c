/*
 * auth_cache.c — the credential cache and the failure counts (see
 * auth_cache.h).
 */
#include "auth_cache.h"

#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
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
static uint64_t secret[2];

/* Per process, made at the first use (in the child, after the fork). */
static void make_secret(void)
{
    if (RAND_bytes((unsigned char *)secret, sizeof(secret)) != 1) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        secret[0] = (uint64_t)now.tv_nsec * 0x9e3779b97f4a7c15u ^ (uint64_t)getpid();
        secret[1] = (uint64_t)now.tv_sec * 0xc2b2ae3d27d4eb4fu ^ (uintptr_t)&now;
    }
}

/* SipHash-2-4 with 128 bits of output (Aumasson and Bernstein), fed in
 * pieces: a keyed pseudo-random function, so that without the process's
 * secret a key tells nothing about the password and cannot be forged, at
 * a fraction of the cost of SHA-256 through OpenSSL's EVP (every request
 * to a protected page computes one). */
typedef struct {
    uint64_t v0, v1, v2, v3;
    uint64_t tail;
    unsigned tail_bytes;
    uint64_t length;
} siphash;

#define ROTATE(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIP_ROUND(s)                                                                                    \
    do {                                                                                                \
        (s)->v0 += (s)->v1; (s)->v1 = ROTATE((s)->v1, 13); (s)->v1 ^= (s)->v0; (s)->v0 = ROTATE((s)->v0, 32); \
        (s)->v2 += (s)->v3; (s)->v3 = ROTATE((s)->v3, 16); (s)->v3 ^= (s)->v2;                             \
        (s)->v0 += (s)->v3; (s)->v3 = ROTATE((s)->v3, 21); (s)->v3 ^= (s)->v0;                             \
        (s)->v2 += (s)->v1; (s)->v1 = ROTATE((s)->v1, 17); (s)->v1 ^= (s)->v2; (s)->v2 = ROTATE((s)->v2, 32); \
    } while (0)

static void siphash_start(siphash *s, uint64_t k0, uint64_t k1, bool wide)
{
    s->v0 = 0x736f6d6570736575u ^ k0;
    s->v1 = 0x646f72616e646f6du ^ k1 ^ (wide ? 0xee : 0);
    s->v2 = 0x6c7967656e657261u ^ k0;
    s->v3 = 0x7465646279746573u ^ k1;
    s->tail = 0;
    s->tail_bytes = 0;
    s->length = 0;
}

static void siphash_block(siphash *s, uint64_t m)
{
    s->v3 ^= m;
    SIP_ROUND(s);
    SIP_ROUND(s);
    s->v0 ^= m;
}

static void siphash_update(siphash *s, const void *data, size_t length)
{
    const unsigned char *p = data;
    s->length += length;
    for (size_t i = 0; i < length; i++) {
        s->tail |= (uint64_t)p[i] << (8 * s->tail_bytes);
        if (++s->tail_bytes == 8) {
            siphash_block(s, s->tail);
            s->tail = 0;
            s->tail_bytes = 0;
        }
    }
}

/* out: 8 bytes, or 16 when started wide. */
static void siphash_finish(siphash *s, bool wide, unsigned char *out)
{
    siphash_block(s, s->tail | s->length << 56);
    s->v2 ^= wide ? 0xee : 0xff;
    for (int i = 0; i < 4; i++)
        SIP_ROUND(s);
    uint64_t first = s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(first >> (8 * i));
    if (!wide)
        return;
    s->v1 ^= 0xdd;
    for (int i = 0; i < 4; i++)
        SIP_ROUND(s);
    uint64_t second = s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
    for (int i = 0; i < 8; i++)
        out[8 + i] = (unsigned char)(second >> (8 * i));
}

static time_t monotonic_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return now.tv_sec + 1;  /* never 0, which marks an empty slot */
}

static void hash_part(siphash *s, const char *text)
{
    siphash_update(s, text, strlen(text) + 1);  /* with its NUL: parts cannot run together */
}

void auth_cache_key_of(auth_cache_key *key, const char *user_file, const char *realm, const char *user,
                       const char *password)
{
    pthread_once(&secret_once, make_secret);
    siphash s;
    siphash_start(&s, secret[0], secret[1], true);
    hash_part(&s, user_file ? user_file : "");
    hash_part(&s, realm ? realm : "");
    hash_part(&s, user);
    hash_part(&s, password);
    siphash_finish(&s, true, key->digest);
    OPENSSL_cleanse(&s, sizeof(s));
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
