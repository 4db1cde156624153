/*
 * auth_cache.c — the credential cache's keyed hash (SipHash-2-4 against the
 * reference vectors and OpenSSL's SIPHASH), the cache itself, one check at
 * a time per key, and the failure counts.
 */
#include "tap.h"

#include <stdatomic.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "../../src/modules/auth_cache.c"

/* OpenSSL's SipHash-2-4, 8 or 16 bytes of output. */
static void openssl_siphash(const unsigned char key[16], const unsigned char *data, size_t length, size_t size,
                            unsigned char *out)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = { OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size), OSSL_PARAM_construct_end() };
    size_t written = 0;
    memset(out, 0, size);
    if (ctx && EVP_MAC_init(ctx, key, 16, params) && EVP_MAC_update(ctx, data, length))
        EVP_MAC_final(ctx, out, &written, size);
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
}

static void mine(const unsigned char key[16], const unsigned char *data, size_t length, bool wide,
                 unsigned char *out)
{
    uint64_t k0 = 0, k1 = 0;
    for (int i = 7; i >= 0; i--) {
        k0 = k0 << 8 | key[i];
        k1 = k1 << 8 | key[8 + i];
    }
    siphash s;
    siphash_start(&s, k0, k1, wide);
    /* in two pieces, to exercise the streaming */
    siphash_update(&s, data, length / 3);
    siphash_update(&s, data + length / 3, length - length / 3);
    siphash_finish(&s, wide, out);
}

static void test_siphash(void)
{
    unsigned char key[16], data[64], out[16], theirs[16];
    for (int i = 0; i < 16; i++)
        key[i] = (unsigned char)i;
    for (int i = 0; i < 64; i++)
        data[i] = (unsigned char)i;
    /* The paper's vectors: the 64-bit output of 0, and of 15 bytes. */
    mine(key, data, 0, false, out);
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--)
        value = value << 8 | out[i];
    ok(value == 0x726fdb47dd0e0e31u, "SipHash-2-4 of nothing: the reference vector");
    mine(key, data, 15, false, out);
    value = 0;
    for (int i = 7; i >= 0; i--)
        value = value << 8 | out[i];
    ok(value == 0xa129ca6149be45e5u, "SipHash-2-4 of 15 bytes: the reference vector");
    int same64 = 0, same128 = 0;
    for (size_t length = 0; length < 64; length++) {
        mine(key, data, length, false, out);
        openssl_siphash(key, data, length, 8, theirs);
        same64 += memcmp(out, theirs, 8) == 0;
        mine(key, data, length, true, out);
        openssl_siphash(key, data, length, 16, theirs);
        same128 += memcmp(out, theirs, 16) == 0;
    }
    is_int(same64, 64, "64-bit output as OpenSSL's for 0 to 63 bytes");
    is_int(same128, 64, "128-bit output as OpenSSL's for 0 to 63 bytes");
}

static void test_cache(void)
{
    auth_cache_key a, b, c, d;
    auth_cache_key_of(&a, "/f", "realm", "alice", "secret");
    auth_cache_key_of(&b, "/f", "realm", "alice", "Secret");
    auth_cache_key_of(&c, "/f", "realm", "alices", "ecret");
    auth_cache_key_of(&d, "/f", "realm", "alice", "secret");
    ok(memcmp(a.digest, b.digest, sizeof(a.digest)) != 0, "another password, another key");
    ok(memcmp(a.digest, c.digest, sizeof(a.digest)) != 0, "the parts cannot run together");
    ok(memcmp(a.digest, d.digest, sizeof(a.digest)) == 0, "the same credentials, the same key");

    ok(!auth_cache_holds(&a, 1, 300), "nothing cached at first");
    int ticket = -1;
    is_int(auth_cache_begin(&a, 1, 300, &ticket), AUTH_CHECK_YOURS, "the first check is the caller's");
    ok(ticket >= 0, "... with a place");
    auth_cache_end(&a, 1, 300, ticket, true);
    ok(auth_cache_holds(&a, 1, 300), "a match is cached");
    is_int(auth_cache_begin(&a, 1, 300, &ticket), AUTH_CHECK_MATCHED, "then begin answers from the cache");
    ok(!auth_cache_holds(&a, 2, 300), "not for another reading of the user file");
    ok(!auth_cache_holds(&b, 1, 300), "not for another password");
    ok(!auth_cache_holds(&a, 1, 0), "not with a timeout of 0");
    is_int(auth_cache_begin(&b, 1, 300, &ticket), AUTH_CHECK_YOURS, "a mismatch to be");
    auth_cache_end(&b, 1, 300, ticket, false);
    ok(!auth_cache_holds(&b, 1, 300), "a mismatch is not cached");
    /* A full set loses its oldest: many keys, the table stays bounded. */
    int held = 0;
    for (int i = 0; i < 3 * AUTH_CACHE_SLOTS; i++) {
        char user[32];
        snprintf(user, sizeof(user), "user%d", i);
        auth_cache_key k;
        auth_cache_key_of(&k, "/f", "realm", user, "pw");
        auth_cache_end(&k, 1, 300, -1, true);
    }
    for (int i = 0; i < 3 * AUTH_CACHE_SLOTS; i++) {
        char user[32];
        snprintf(user, sizeof(user), "user%d", i);
        auth_cache_key k;
        auth_cache_key_of(&k, "/f", "realm", user, "pw");
        held += auth_cache_holds(&k, 1, 300);
    }
    ok(held <= AUTH_CACHE_SLOTS && held > AUTH_CACHE_SLOTS / 2, "bounded: %d of %d held in %d places", held,
       3 * AUTH_CACHE_SLOTS, AUTH_CACHE_SLOTS);
}

/* A second thread with the same credentials waits for the first's check. */
static auth_cache_key shared_key;
static atomic_int waiter_result = -1;

static void *waiter(void *unused)
{
    int ticket;
    atomic_store(&waiter_result, auth_cache_begin(&shared_key, 7, 300, &ticket));
    return NULL;
}

static void test_one_check_at_a_time(void)
{
    auth_cache_key_of(&shared_key, "/g", "realm", "bob", "pw");
    int ticket = -1;
    is_int(auth_cache_begin(&shared_key, 7, 300, &ticket), AUTH_CHECK_YOURS, "the first thread checks");
    pthread_t thread;
    pthread_create(&thread, NULL, waiter, NULL);
    /* bounded: the waiter is registered within a few milliseconds */
    unsigned waiting = 0;
    for (int i = 0; i < 200 && waiting == 0; i++) {
        struct timespec pause = { 0, 5000000 };
        nanosleep(&pause, NULL);
        pthread_mutex_lock(&cache_lock);
        waiting = flights[ticket].waiters;
        pthread_mutex_unlock(&cache_lock);
    }
    is_int(waiting, 1, "the second thread waits for it");
    auth_cache_end(&shared_key, 7, 300, ticket, false);
    pthread_join(thread, NULL);
    is_int(atomic_load(&waiter_result), AUTH_CHECK_MISMATCHED, "and gets its answer without checking itself");
}

static void test_failures(void)
{
    ok(auth_failures_locked("192.0.2.1", 3, 60) == 0, "an unknown address may try");
    auth_failures_note("192.0.2.1", 60);
    auth_failures_note("192.0.2.1", 60);
    ok(auth_failures_locked("192.0.2.1", 3, 60) == 0, "two failures of three: may try");
    auth_failures_note("192.0.2.1", 60);
    int wait = auth_failures_locked("192.0.2.1", 3, 60);
    ok(wait > 0 && wait <= 60, "three: locked for %d s", wait);
    ok(auth_failures_locked("192.0.2.2", 3, 60) == 0, "another address is not");
    ok(auth_failures_locked("192.0.2.1", 0, 60) == 0, "no limit: never locked");
    ok(auth_failures_locked("192.0.2.1", 4, 60) == 0, "a higher limit: not yet");
    auth_failures_note("2001:db8::1234:5678:9abc:def0:1234", 60);
    ok(auth_failures_locked("2001:db8::1234:5678:9abc:def0:1234", 1, 60) > 0, "IPv6 addresses count too");
}

int main(void)
{
    test_siphash();
    test_cache();
    test_one_check_at_a_time();
    test_failures();
    return done_testing();
}
