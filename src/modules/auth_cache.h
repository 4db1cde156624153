/*
 * auth_cache.h — what makes a protected page cheap and guessing expensive,
 * per child process:
 *
 * The credential cache (mod_authn_socache's idea): a successful password
 * check is remembered for AuthnCacheTimeout seconds, so a page costs one
 * bcrypt per user, password and period, not one per request.  An entry's
 * key is a SipHash-2-4-128 keyed with a random per-process secret, of the
 * user file, the realm, the user and the password: the password itself is
 * never kept, and without the secret a key reveals nothing of it.
 * An entry also holds the user file's generation (auth_file.h): a changed
 * file makes every entry of its older reading stale at once.  A fixed
 * table (AUTH_CACHE_SLOTS, 4-way): a full set loses its oldest entry.
 *
 * Failed attempts per client address: AuthBasicFailureLimit's count of
 * wrong passwords or unknown users within its window locks the address out
 * of further checks until the window ends (the caller answers 429 with
 * Retry-After).  A fixed table too; an address pushed out of it is
 * forgotten, so an attacker with many addresses is limited per address, and
 * each child counts on its own.
 *
 * Thread-safe (a lock each).
 */
#ifndef WEFT_MODULES_AUTH_CACHE_H
#define WEFT_MODULES_AUTH_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#define AUTH_CACHE_SLOTS 4096
#define AUTH_FAILURE_SLOTS 1024

typedef struct {
    unsigned char digest[16];
} auth_cache_key;

/* The key of one set of credentials. */
void auth_cache_key_of(auth_cache_key *key, const char *user_file, const char *realm, const char *user,
                       const char *password);

/* Was this key checked successfully against the file's generation less
 * than timeout seconds ago? */
bool auth_cache_holds(const auth_cache_key *key, uint64_t generation, int timeout);

/* One check per key at a time: a browser opens several connections and
 * sends the same credentials on each, and a cold cache would otherwise pay
 * a bcrypt for every one of them at once.  auth_cache_begin() answers
 * AUTH_CHECK_YOURS (check the password, then call auth_cache_end with the
 * result and *ticket), or, after waiting for another thread that was
 * checking the same key (at most AUTH_CHECK_WAIT_SECONDS), its result:
 * AUTH_CHECK_MATCHED or AUTH_CHECK_MISMATCHED.  The caller announces the
 * wait (core/blocking.h) before. */
enum { AUTH_CHECK_YOURS, AUTH_CHECK_MATCHED, AUTH_CHECK_MISMATCHED };
#define AUTH_CHECK_WAIT_SECONDS 10
int auth_cache_begin(const auth_cache_key *key, uint64_t generation, int timeout, int *ticket);
/* The check's result; a match is stored (for timeout seconds, 0: not). */
void auth_cache_end(const auth_cache_key *key, uint64_t generation, int timeout, int ticket, bool matched);

/* Failed attempts of one client address (its numeric text).  locked: 0 if
 * the address may try, else the seconds until it may again. */
int auth_failures_locked(const char *address, int limit, int window);
void auth_failures_note(const char *address, int window);

#endif
