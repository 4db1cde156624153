/*
 * ssl_session_cache.c — the session cache every child shares (see
 * ssl_session.h): SSLSessionCache shmcb.
 *
 * The region is an anonymous MAP_SHARED mapping made by the control process
 * while it reads the configuration, so that every child forked afterwards
 * sees the same memory; the path of "shmcb:/path(bytes)" names no file.
 * A set-associative table of fixed slots keeps every operation bounded (one
 * set, SESSION_CACHE_WAYS slots) and needs no allocator in shared memory.
 * The lock is held only to copy bytes: the DER is encoded before and
 * decoded after, outside it.
 */
#include "ssl_session.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "../os/os.h"
#include "../core/common.h"
#include "../core/log.h"

#define CACHE_MAGIC 0x77656674u  /* "weft" */
#define SESSION_ID_MAX 32        /* SSL_MAX_SSL_SESSION_ID_LENGTH */

typedef struct {
    uint32_t checksum;  /* over everything below; 0 with id_length 0 = empty */
    uint16_t id_length;
    uint16_t der_length;
    int64_t expires;
    uint64_t stamp;     /* insertion order: the smallest in a set is evicted */
    unsigned char id[SESSION_ID_MAX];
    unsigned char der[SESSION_CACHE_SLOT_BYTES - 56];
} cache_slot;

_Static_assert(sizeof(cache_slot) == SESSION_CACHE_SLOT_BYTES, "a slot is SESSION_CACHE_SLOT_BYTES");

typedef struct {
    pthread_mutex_t lock;
    uint32_t magic;
    uint32_t set_count;
    uint64_t next_stamp;
    session_cache_stats stats;
} cache_header;

struct session_cache {
    cache_header *header;
    cache_slot *slots;
    size_t mapped_bytes;
};

time_t ssl_session_clock_offset;

time_t ssl_session_now(void)
{
    return time(NULL) + ssl_session_clock_offset;
}

static uint64_t hash_bytes(uint64_t hash, const void *data, size_t length)
{
    const unsigned char *bytes = data;
    for (size_t i = 0; i < length; i++)
        hash = (hash ^ bytes[i]) * 0x100000001b3ull;
    return hash;
}

static uint32_t slot_checksum(const cache_slot *slot)
{
    uint64_t hash = 0xcbf29ce484222325ull;
    hash = hash_bytes(hash, &slot->id_length, sizeof slot->id_length);
    hash = hash_bytes(hash, &slot->der_length, sizeof slot->der_length);
    hash = hash_bytes(hash, &slot->expires, sizeof slot->expires);
    hash = hash_bytes(hash, slot->id, slot->id_length <= SESSION_ID_MAX ? slot->id_length : 0);
    hash = hash_bytes(hash, slot->der, slot->der_length <= sizeof slot->der ? slot->der_length : 0);
    uint32_t folded = (uint32_t)(hash ^ (hash >> 32));
    return folded ? folded : 1;  /* 0 is left to empty slots */
}

/* A slot whose lengths are out of range or whose checksum does not match
 * was being written by a child that died: it holds nothing. */
static bool slot_is_valid(const cache_slot *slot)
{
    return slot->id_length > 0 && slot->id_length <= SESSION_ID_MAX && slot->der_length > 0 &&
           slot->der_length <= sizeof slot->der && slot->checksum == slot_checksum(slot);
}

static bool slot_holds(const cache_slot *slot, const unsigned char *id, size_t id_length)
{
    return slot->id_length == id_length && memcmp(slot->id, id, id_length) == 0;
}

static void slot_clear(cache_slot *slot)
{
    slot->checksum = 0;
    slot->id_length = 0;
    slot->der_length = 0;
}

/* The lock, also when its last holder died holding it (EOWNERDEAD): the
 * checksums make whatever it left half-written harmless. */
static bool cache_lock(session_cache *cache)
{
    return os_shared_mutex_lock(&cache->header->lock);
}

static void cache_unlock(session_cache *cache)
{
    pthread_mutex_unlock(&cache->header->lock);
}

static cache_slot *set_of(session_cache *cache, const unsigned char *id, size_t id_length)
{
    uint64_t hash = hash_bytes(0xcbf29ce484222325ull, id, id_length);
    return cache->slots + (size_t)(hash % cache->header->set_count) * SESSION_CACHE_WAYS;
}

session_cache *session_cache_create(size_t bytes, char *error, size_t size)
{
    if (bytes < SESSION_CACHE_MIN_BYTES || bytes > SESSION_CACHE_MAX_BYTES) {
        snprintf(error, size, "the size must be from %zu to %zu bytes, not %zu", SESSION_CACHE_MIN_BYTES,
                 SESSION_CACHE_MAX_BYTES, bytes);
        return NULL;
    }
    size_t set_count = bytes / SESSION_CACHE_MIN_BYTES;
    size_t header_bytes = (sizeof(cache_header) + 63) & ~(size_t)63;
    size_t mapped = header_bytes + set_count * SESSION_CACHE_MIN_BYTES;
    /* Anonymous memory comes zeroed: every slot starts empty. */
    void *region = os_shared_region(mapped);
    if (!region) {
        snprintf(error, size, "cannot map %zu bytes of shared memory: %s", mapped, strerror(errno));
        return NULL;
    }
    session_cache *cache = xmalloc(sizeof *cache);
    cache->header = region;
    cache->slots = (cache_slot *)((char *)region + header_bytes);
    cache->mapped_bytes = mapped;
    int status = os_shared_mutex_init(&cache->header->lock);
    if (status != 0) {
        snprintf(error, size, "cannot make its process-shared lock: %s", strerror(status));
        munmap(region, mapped);
        free(cache);
        return NULL;
    }
    cache->header->magic = CACHE_MAGIC;
    cache->header->set_count = (uint32_t)set_count;
    return cache;
}

void session_cache_destroy(session_cache *cache)
{
    if (!cache)
        return;
    /* Children forked earlier keep their own mapping of it. */
    munmap(cache->header, cache->mapped_bytes);
    free(cache);
}

int session_cache_slot_count(const session_cache *cache)
{
    return (int)(cache->header->set_count * SESSION_CACHE_WAYS);
}

int session_cache_store(session_cache *cache, const unsigned char *id, size_t id_length,
                        const unsigned char *der, size_t der_length, time_t expires)
{
    if (id_length == 0 || id_length > SESSION_ID_MAX || der_length == 0 ||
        der_length > sizeof(((cache_slot *)0)->der)) {
        if (cache_lock(cache)) {
            cache->header->stats.too_large++;
            cache_unlock(cache);
        }
        return WEFT_DECLINED;
    }
    if (!cache_lock(cache))
        return WEFT_ERROR;
    time_t now = ssl_session_now();
    cache_slot *set = set_of(cache, id, id_length);
    cache_slot *target = NULL;
    int target_rank = -1;  /* 4 same ID, 3 empty, 2 corrupt, 1 expired, 0 oldest */
    for (int i = 0; i < SESSION_CACHE_WAYS && target_rank < 4; i++) {
        cache_slot *slot = &set[i];
        int rank;
        if (slot->id_length == 0 && slot->checksum == 0)
            rank = 3;
        else if (!slot_is_valid(slot))
            rank = 2;
        else if (slot_holds(slot, id, id_length))
            rank = 4;
        else if (slot->expires <= now)
            rank = 1;
        else
            rank = 0;
        if (rank > target_rank || (rank == 0 && target_rank == 0 && slot->stamp < target->stamp)) {
            target = slot;
            target_rank = rank;
        }
    }
    if (target_rank == 0)
        cache->header->stats.evictions++;
    /* Invalid while it is written, so that a death half-way leaves a slot
     * the checksum rejects. */
    target->checksum = 0;
    target->id_length = (uint16_t)id_length;
    target->der_length = (uint16_t)der_length;
    target->expires = (int64_t)expires;
    target->stamp = cache->header->next_stamp++;
    memcpy(target->id, id, id_length);
    memcpy(target->der, der, der_length);
    target->checksum = slot_checksum(target);
    cache->header->stats.stores++;
    cache_unlock(cache);
    return WEFT_OK;
}

size_t session_cache_fetch(session_cache *cache, const unsigned char *id, size_t id_length,
                           unsigned char *der, size_t capacity)
{
    if (id_length == 0 || id_length > SESSION_ID_MAX || !cache_lock(cache))
        return 0;
    time_t now = ssl_session_now();
    size_t length = 0;
    cache_slot *set = set_of(cache, id, id_length);
    for (int i = 0; i < SESSION_CACHE_WAYS; i++) {
        cache_slot *slot = &set[i];
        if (!slot_holds(slot, id, id_length))
            continue;
        if (!slot_is_valid(slot)) {
            cache->header->stats.corrupt++;
            slot_clear(slot);
        } else if (slot->expires <= now) {
            slot_clear(slot);
        } else if (slot->der_length <= capacity) {
            length = slot->der_length;
            memcpy(der, slot->der, length);
        }
        break;
    }
    if (length)
        cache->header->stats.hits++;
    else
        cache->header->stats.misses++;
    cache_unlock(cache);
    return length;
}

void session_cache_remove(session_cache *cache, const unsigned char *id, size_t id_length)
{
    if (id_length == 0 || id_length > SESSION_ID_MAX || !cache_lock(cache))
        return;
    cache_slot *set = set_of(cache, id, id_length);
    for (int i = 0; i < SESSION_CACHE_WAYS; i++)
        if (slot_holds(&set[i], id, id_length))
            slot_clear(&set[i]);
    cache_unlock(cache);
}

session_cache_stats session_cache_statistics(session_cache *cache)
{
    session_cache_stats stats = { 0 };
    if (cache_lock(cache)) {
        stats = cache->header->stats;
        cache_unlock(cache);
    }
    return stats;
}

/* ---- OpenSSL's callbacks --------------------------------------------------- */

static int cache_index = -1;
static pthread_once_t cache_index_once = PTHREAD_ONCE_INIT;

static void make_cache_index(void)
{
    cache_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* The cache of the context the session lookups go to (OpenSSL keeps using
 * the listener's first context for them after SNI moves a connection). */
static session_cache *context_cache(SSL_CTX *ctx)
{
    return ctx && cache_index >= 0 ? SSL_CTX_get_ex_data(ctx, cache_index) : NULL;
}

static int on_new_session(SSL *ssl, SSL_SESSION *session)
{
    session_cache *cache = context_cache(SSL_get_SSL_CTX(ssl));
    /* OpenSSL hands over TLS 1.3 sessions sealed in stateless tickets too:
     * nothing will look them up by ID, they would only take slots. */
    if (!cache || (SSL_version(ssl) >= TLS1_3_VERSION && !(SSL_get_options(ssl) & SSL_OP_NO_TICKET)))
        return 0;
    unsigned int id_length;
    const unsigned char *id = SSL_SESSION_get_id(session, &id_length);
    int der_length = i2d_SSL_SESSION(session, NULL);
    unsigned char der[SESSION_CACHE_SLOT_BYTES];
    unsigned char *end = der;
    if (der_length <= 0)
        return 0;
    if ((size_t)der_length <= sizeof der)
        i2d_SSL_SESSION(session, &end);
    time_t expires = (time_t)SSL_SESSION_get_time(session) + (time_t)SSL_SESSION_get_timeout(session) +
                     ssl_session_clock_offset;
    if (session_cache_store(cache, id, id_length, der, (size_t)der_length, expires) == WEFT_DECLINED)
        log_message(LOG_LEVEL_DEBUG, "ssl_session: a session of %d bytes does not fit a cache slot", der_length);
    return 0;  /* OpenSSL keeps its reference: the cache holds a copy */
}

static SSL_SESSION *on_get_session(SSL *ssl, const unsigned char *id, int id_length, int *copy)
{
    *copy = 0;
    session_cache *cache = context_cache(SSL_get_SSL_CTX(ssl));
    if (!cache || id_length <= 0)
        return NULL;
    unsigned char der[SESSION_CACHE_SLOT_BYTES];
    size_t length = session_cache_fetch(cache, id, (size_t)id_length, der, sizeof der);
    if (length == 0)
        return NULL;
    const unsigned char *cursor = der;
    /* A checksum that matched over garbage still fails here, safely. */
    return d2i_SSL_SESSION(NULL, &cursor, (long)length);
}

static void on_remove_session(SSL_CTX *ctx, SSL_SESSION *session)
{
    session_cache *cache = context_cache(ctx);
    unsigned int id_length;
    const unsigned char *id = SSL_SESSION_get_id(session, &id_length);
    if (cache)
        session_cache_remove(cache, id, id_length);
}

void session_cache_attach(SSL_CTX *ctx, session_cache *cache, bool send_ids, long timeout)
{
    pthread_once(&cache_index_once, make_cache_index);
    SSL_CTX_set_timeout(ctx, timeout);
    if (cache) {
        SSL_CTX_set_ex_data(ctx, cache_index, cache);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
        SSL_CTX_sess_set_new_cb(ctx, on_new_session);
        SSL_CTX_sess_set_get_cb(ctx, on_get_session);
        SSL_CTX_sess_set_remove_cb(ctx, on_remove_session);
    } else {
        SSL_CTX_set_ex_data(ctx, cache_index, NULL);
        /* "nonenotnull": session IDs are sent, but no process can find
         * them again; "none": none are sent. */
        SSL_CTX_set_session_cache_mode(ctx, send_ids ? SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL
                                                     : SSL_SESS_CACHE_OFF);
        SSL_CTX_sess_set_new_cb(ctx, NULL);
        SSL_CTX_sess_set_get_cb(ctx, NULL);
        SSL_CTX_sess_set_remove_cb(ctx, NULL);
    }
}
