/*
 * ssl_tickets.c — session ticket keys every child shares (see
 * ssl_session.h): SSLSessionTickets and SSLSessionTicketKeyFile.
 *
 * The store is mapped once, by the control process at its first
 * configuration, and outlives every configuration: a graceful restart
 * rotates the key instead of forgetting it, so tickets issued before the
 * restart still resume.  Rotation needs no timer: whichever process
 * handles a handshake after the period has passed rotates, under the lock.
 * A ticket sealed with the previous key is accepted for one more period and
 * renewed (the callback returns 2), so the client moves to the current key.
 */
#include "ssl_session.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "../os/os.h"
#include "../core/common.h"
#include "../core/log.h"

typedef struct {
    unsigned char name[16];
    unsigned char hmac[32];
    unsigned char aes[32];
    uint8_t hmac_length;  /* 16 from a key file, 32 when made here */
    uint8_t aes_length;   /* 16 (AES-128-CBC, a key file) or 32 (AES-256-CBC) */
    uint8_t valid;
} ticket_key;

typedef struct {
    pthread_mutex_t lock;
    int32_t period;          /* seconds a key encrypts, and decrypts after */
    bool fixed;              /* the key came from SSLSessionTicketKeyFile */
    int64_t current_since;
    int64_t previous_until;
    uint64_t rotations;
    ticket_key current;
    ticket_key previous;
} ticket_store;

/* Process-global on purpose: it is inherited by every child and kept
 * across configurations; the kernel frees it with the last process. */
static ticket_store *store;

static bool store_lock(void)
{
    /* A holder that died did so between two memcpy at worst: a torn key
     * only fails to decrypt its own tickets, and the next rotation
     * replaces it. */
    return os_shared_mutex_lock(&store->lock);
}

static bool make_random_key(ticket_key *key)
{
    key->hmac_length = sizeof key->hmac;
    key->aes_length = sizeof key->aes;
    key->valid = RAND_bytes(key->name, sizeof key->name) == 1 && RAND_bytes(key->hmac, sizeof key->hmac) == 1 &&
                 RAND_bytes(key->aes, sizeof key->aes) == 1;
    return key->valid;
}

static void key_from_file(ticket_key *key, const unsigned char *bytes)
{
    memset(key, 0, sizeof *key);
    memcpy(key->name, bytes, 16);
    memcpy(key->hmac, bytes + 16, 16);
    memcpy(key->aes, bytes + 32, 16);
    key->hmac_length = 16;
    key->aes_length = 16;
    key->valid = 1;
}

/* With the lock held. */
static void rotate_to(const ticket_key *next, time_t now)
{
    store->previous = store->current;
    store->previous_until = (int64_t)now + store->period;
    store->current = *next;
    store->current_since = (int64_t)now;
    store->rotations++;
}

static void rotate_when_due(time_t now)
{
    ticket_key next;
    if (!store->fixed && store->period > 0 && now >= store->current_since + store->period &&
        make_random_key(&next))
        rotate_to(&next, now);
    OPENSSL_cleanse(&next, sizeof next);
}

int ticket_keys_configure(const unsigned char *file_key, int period)
{
    ticket_key next = { 0 };
    if (file_key)
        key_from_file(&next, file_key);
    else if (!make_random_key(&next))
        return WEFT_ERROR;
    time_t now = ssl_session_now();
    if (!store) {
        ticket_store *made = os_shared_region(sizeof *store);
        if (!made)
            return WEFT_ERROR;
        if (os_shared_mutex_init(&made->lock) != 0) {
            munmap(made, sizeof *store);
            return WEFT_ERROR;
        }
        made->period = period;
        made->fixed = file_key != NULL;
        made->current = next;
        made->current_since = (int64_t)now;
        store = made;
        OPENSSL_cleanse(&next, sizeof next);
        return WEFT_OK;
    }
    if (!store_lock())
        return WEFT_ERROR;
    store->period = period;
    store->fixed = file_key != NULL;
    if (!file_key || memcmp(&store->current, &next, sizeof next) != 0)
        rotate_to(&next, now);
    pthread_mutex_unlock(&store->lock);
    OPENSSL_cleanse(&next, sizeof next);
    return WEFT_OK;
}

void ticket_keys_rotate(void)
{
    ticket_key next;
    if (!store || !make_random_key(&next) || !store_lock())
        return;
    if (!store->fixed)
        rotate_to(&next, ssl_session_now());
    pthread_mutex_unlock(&store->lock);
    OPENSSL_cleanse(&next, sizeof next);
}

uint64_t ticket_keys_rotations(void)
{
    if (!store || !store_lock())
        return 0;
    uint64_t rotations = store->rotations;
    pthread_mutex_unlock(&store->lock);
    return rotations;
}

/* The key to seal a new ticket with (1), or the one that opens a ticket of
 * this name: 1 the current key, 2 the previous one (renew the ticket), 0
 * none (a full handshake). */
static int find_key(bool encrypt, const unsigned char *name, ticket_key *key)
{
    if (!store || !store_lock())
        return 0;
    time_t now = ssl_session_now();
    rotate_when_due(now);
    int found = 0;
    if (encrypt || memcmp(name, store->current.name, sizeof store->current.name) == 0) {
        *key = store->current;
        found = key->valid ? 1 : 0;
    } else if (store->previous.valid && now < store->previous_until &&
               memcmp(name, store->previous.name, sizeof store->previous.name) == 0) {
        *key = store->previous;
        found = 2;
    }
    pthread_mutex_unlock(&store->lock);
    return found;
}

static int on_ticket_key(SSL *ssl, unsigned char key_name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
                         EVP_CIPHER_CTX *cipher, EVP_MAC_CTX *mac, int encrypt)
{
    ticket_key key;
    int found = find_key(encrypt != 0, key_name, &key);
    if (!found)
        return 0;  /* encrypt: no ticket this time; decrypt: a full handshake */
    const EVP_CIPHER *algorithm = key.aes_length == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
    OSSL_PARAM parameters[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.hmac, key.hmac_length),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    int result = found;
    if (encrypt) {
        memcpy(key_name, key.name, sizeof key.name);
        if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(algorithm)) != 1 ||
            EVP_EncryptInit_ex(cipher, algorithm, NULL, key.aes, iv) != 1)
            result = -1;
    } else if (EVP_DecryptInit_ex(cipher, algorithm, NULL, key.aes, iv) != 1) {
        result = 0;
    }
    if (result > 0 && EVP_MAC_CTX_set_params(mac, parameters) != 1)
        result = encrypt ? -1 : 0;
    OPENSSL_cleanse(&key, sizeof key);
    return result;
}

void ticket_keys_attach(SSL_CTX *ctx)
{
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket_key);
}
