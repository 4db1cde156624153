/*
 * ssl_stapling.h — OCSP stapling (module "ssl_stapling"), as mod_ssl's
 * SSLUseStapling, SSLStaplingCache and the SSLStapling* family.
 *
 * How it works:
 *  - Configuration time (control process, config_complete, after the ssl
 *    module built its contexts): for every certificate of every SSL_CTX of
 *    a server with SSLUseStapling on, the issuer (from the chain or the CA
 *    store), the responder URL (authorityInfoAccess OCSP, or
 *    SSLStaplingForceURL) and the OCSP CertID are found, and one slot of a
 *    shared memory region (anonymous MAP_SHARED, inherited by every child)
 *    is assigned to it.  A certificate without an issuer or a responder is
 *    served without stapling, with a warning.
 *  - Each child starts one background thread (child_init) that fetches a
 *    response when a slot is due, right away at startup and then before it
 *    goes stale; a lease in the slot makes one child fetch for all.
 *  - A handshake only copies what the slot holds (status callback); it
 *    never waits for the responder.
 *
 * This header is the module's internal contract (ssl_stapling.c: the
 * configuration, the region and the callback; ssl_stapling_fetch.c: the
 * background thread) and what its unit test reaches.
 */
#ifndef WEFT_MODULES_SSL_STAPLING_H
#define WEFT_MODULES_SSL_STAPLING_H

#include <pthread.h>
#include <stdint.h>

#include <openssl/ocsp.h>
#include <openssl/ssl.h>

#include "../core/server.h"

/* One server's settings (the main server's or a vhost's). */
typedef struct stapling_table stapling_table;
typedef struct {
    bool on;
    const char *file;           /* where it was written, for errors */
    int line;
} stapling_use_setting;

typedef struct {
    char *spec;                 /* as written; NULL when not set */
    int64_t size;               /* its (bytes) */
} stapling_cache_setting;

typedef struct {
    stapling_use_setting use;   /* SSLUseStapling */
    stapling_cache_setting cache; /* SSLStaplingCache */
    int responder_timeout;      /* SSLStaplingResponderTimeout, seconds */
    int standard_timeout;       /* SSLStaplingStandardCacheTimeout */
    int error_timeout;          /* SSLStaplingErrorCacheTimeout */
    bool return_errors;         /* SSLStaplingReturnResponderErrors */
    int max_age;                /* SSLStaplingResponseMaxAge, -1 = no limit */
    int time_skew;              /* SSLStaplingResponseTimeSkew */
    char *force_url;            /* SSLStaplingForceURL */
    bool fake_try_later;        /* SSLStaplingFakeTryLater */
    stapling_table *table;      /* main server only: built by config_complete */
} stapling_server_config;

/* What a slot holds. */
enum {
    STAPLING_NONE = 0,          /* nothing fetched yet */
    STAPLING_GOOD,              /* a verified response: certificate status good */
    STAPLING_NOT_GOOD,          /* a verified response saying revoked or unknown, or a
                                 * responder status other than successful */
    STAPLING_FAILED,            /* the last fetch failed; response kept if still valid */
};

/* The shared region: a head, then `count` slots of `slot_size` bytes. */
typedef struct {
    pthread_mutex_t lock;       /* process-shared, robust: held only to copy */
    uint32_t count;
    uint32_t slot_size;
} stapling_region;

typedef struct {
    int64_t fetched_at;         /* time of the last response stored, 0 = none */
    int64_t refresh_at;         /* when a fetch is due */
    int64_t lease_until;        /* a fetch in progress until then (0 = none) */
    int64_t valid_until;        /* the stored response may be stapled until then */
    int32_t lease_pid;
    int32_t state;              /* STAPLING_* */
    int32_t response_state;     /* STAPLING_GOOD or _NOT_GOOD: what the stored response says */
    uint32_t response_length;   /* 0 = no response stored */
    unsigned char response[];   /* DER OCSPResponse */
} stapling_slot;

/* A certificate to staple (process-local; built in the control process,
 * inherited by the children). */
typedef struct {
    X509 *cert;                 /* the context's (up-referenced) */
    X509 *issuer;
    STACK_OF(X509) *untrusted;  /* issuer and chain: candidates for the responder's certificate */
    X509_STORE *trusted;        /* the issuer as trust anchor */
    OCSP_CERTID *id;
    char *url;                  /* responder */
    char *host, *port, *path;
    const stapling_server_config *settings;
    uint32_t slot;
    bool shares_slot;           /* the same certificate in another context fetches for it */
} stapling_cert;

struct stapling_table {
    stapling_cert *certs;
    int count;
    int capacity;
    int slot_count;             /* distinct certificates */
    stapling_region *region;
    size_t region_size;
    stapling_table *older;      /* the control process's list of live tables */
};

/* ---- ssl_stapling.c ---- */

/* "shmcb:/path(bytes)", "shmcb:/path" (512000 bytes): WEFT_OK with *size,
 * or WEFT_ERROR with a reason in error. */
int stapling_parse_cache_spec(const char *spec, int64_t *size, char *error, size_t error_size);
/* The responder: force_url if set, else the first OCSP URI of the
 * certificate's authorityInfoAccess; NULL if none.  malloc'ed. */
char *stapling_responder_url(X509 *cert, const char *force_url);
/* Splits an http:// URL into malloc'ed host, port ("80" when absent) and
 * path ("/" when absent, query included).  WEFT_ERROR for anything else
 * (https responders are not supported: their own certificate would need
 * checking while we check ours). */
int stapling_split_url(const char *url, char **host, char **port, char **path);

stapling_slot *stapling_slot_at(const stapling_region *region, uint32_t index);
void stapling_region_lock(stapling_region *region);
void stapling_region_unlock(stapling_region *region);
/* Under the lock: is the slot due, and not leased by a live fetch?  If so
 * takes the lease for lease_seconds and returns true. */
bool stapling_slot_claim(stapling_slot *slot, int64_t now, int32_t pid, int lease_seconds);
/* Under the lock: when the slot needs looking at again (its refresh time,
 * or when another child's lease runs out). */
int64_t stapling_slot_next_check(const stapling_slot *slot);
/* The response a handshake at `now` gets: a malloc'ed (OPENSSL_malloc) DER
 * copy and its length, or 0 for none.  Takes the lock itself. */
long stapling_response_for(stapling_table *table, const stapling_cert *cert, int64_t now, unsigned char **der);
/* The SSL_CTX_set_tlsext_status_cb callback (arg: the table). */
int stapling_status_callback(SSL *ssl, void *arg);

/* ---- ssl_stapling_fetch.c ---- */

/* Fetches, verifies and stores one certificate's response (the caller
 * holds its lease); returns the new state. */
int stapling_refresh(stapling_table *table, stapling_cert *cert, int64_t now);
/* Checks a DER response for cert: WEFT_OK with *state (STAPLING_GOOD or
 * STAPLING_NOT_GOOD) and *valid_until / *next_update (0 if absent), or
 * WEFT_ERROR with a reason. */
int stapling_check_response(const stapling_cert *cert, const unsigned char *der, long length, int64_t now,
                            int *state, int64_t *valid_until, int64_t *next_update, char *reason,
                            size_t reason_size);
/* The background thread of this process: started once (child_init),
 * stopped and joined before its table goes (the configuration's cleanup,
 * in single-process mode). */
void stapling_thread_start(stapling_table *table);
void stapling_thread_stop(stapling_table *table);

#endif
