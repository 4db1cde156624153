/*
 * ssl_session.h — TLS session resumption shared by every child (module
 * "ssl_session"): mod_ssl's SSLSessionCache, SSLSessionCacheTimeout,
 * SSLSessionTickets and SSLSessionTicketKeyFile.
 *
 * Both stores are shared memory the control process maps before it forks,
 * so a client resumes whichever child accepts it:
 *  - the session cache (ssl_session.c): one anonymous MAP_SHARED region per
 *    configuration, fixed-size slots (session ID -> the DER of the
 *    SSL_SESSION, its expiry) in sets of SESSION_CACHE_WAYS, under a
 *    process-shared robust mutex.  It serves TLS 1.2 session IDs and
 *    OpenSSL's stateful TLS 1.3 tickets (SSLSessionTickets Off).
 *  - the ticket keys (ssl_tickets.c): one region for the life of the
 *    control process (it survives graceful restarts), the current key and
 *    the previous one, which still decrypts for one more period.
 * A child that dies while it holds either lock leaves a half-written slot
 * at worst: every slot carries a checksum and is ignored when it does not
 * match.
 */
#ifndef WEFT_MODULES_SSL_SESSION_H
#define WEFT_MODULES_SSL_SESSION_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ---- the session cache --------------------------------------------------- */

/* Slots per set: a session ID's hash picks a set, and a full set evicts its
 * expired entries first, then its oldest. */
#define SESSION_CACHE_WAYS 8
/* Bytes of one slot (456 of them for the session): a server's session is
 * 130-200 bytes, more with the client's certificate; one that does not fit
 * (an RSA client certificate) is not cached, and resumes only by ticket. */
#define SESSION_CACHE_SLOT_BYTES 512
/* The smallest and largest SSLSessionCache shmcb sizes. */
#define SESSION_CACHE_MIN_BYTES ((size_t)SESSION_CACHE_WAYS * SESSION_CACHE_SLOT_BYTES)
#define SESSION_CACHE_MAX_BYTES ((size_t)256 << 20)
#define SESSION_CACHE_DEFAULT_BYTES 512000

typedef struct session_cache session_cache;

typedef struct {
    uint64_t stores, hits, misses, evictions, too_large, corrupt;
} session_cache_stats;

/* Maps a cache of about `bytes` (rounded down to whole sets); NULL with a
 * reason in error when the size is out of range or mmap fails. */
session_cache *session_cache_create(size_t bytes, char *error, size_t size);
void session_cache_destroy(session_cache *cache);
int session_cache_slot_count(const session_cache *cache);

/* WEFT_OK, or WEFT_DECLINED when the entry does not fit a slot. */
int session_cache_store(session_cache *cache, const unsigned char *id, size_t id_length,
                        const unsigned char *der, size_t der_length, time_t expires);
/* Copies the DER of a live entry into der (capacity bytes, at least one
 * slot's worth): its length, or 0 when there is none (or it was corrupt). */
size_t session_cache_fetch(session_cache *cache, const unsigned char *id, size_t id_length,
                           unsigned char *der, size_t capacity);
void session_cache_remove(session_cache *cache, const unsigned char *id, size_t id_length);
session_cache_stats session_cache_statistics(session_cache *cache);

/* Makes ctx store and look up its sessions in cache only (no per-process
 * cache), with `timeout` seconds of life.  cache NULL: no shared cache
 * (SSLSessionCache none; send_ids keeps non-empty session IDs for the
 * clients that need one, "nonenotnull").  Harmless when repeated. */
void session_cache_attach(SSL_CTX *ctx, session_cache *cache, bool send_ids, long timeout);

/* ---- the ticket keys ----------------------------------------------------- */

/* A ticket key as SSLSessionTicketKeyFile holds it (Apache's layout): key
 * name, HMAC secret, AES-128 key. */
#define TICKET_KEY_FILE_BYTES 48

/* Called in the control process for every configuration (startup and each
 * reload): the first call maps the store and makes the first key (or takes
 * file_key, 48 bytes, when not NULL); each later call rotates — to file_key
 * when given (unless it is the current key already), else to a new random
 * key — so that a graceful restart renews the key while the one it replaces
 * still decrypts for `period` seconds.  Keys made here rotate again every
 * `period` seconds; a key from a file never does.  WEFT_ERROR when the
 * store cannot be mapped. */
int ticket_keys_configure(const unsigned char *file_key, int period);
/* Rotates now (what a reload does), unless the key came from a file. */
void ticket_keys_rotate(void);
/* Makes ctx encrypt and decrypt its tickets with the shared keys. */
void ticket_keys_attach(SSL_CTX *ctx);
/* How many rotations the store has seen (for tests and the log). */
uint64_t ticket_keys_rotations(void);

/* Seconds added to the wall clock by both stores (unit tests move time). */
extern time_t ssl_session_clock_offset;
time_t ssl_session_now(void);

#endif
