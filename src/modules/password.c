/*
 * password.c — htpasswd hashes (see password.h).
 */
#include "password.h"

#include <crypt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

static const char apr1_magic[] = "$apr1$";
static const char sha_magic[] = "{SHA}";
static const char itoa64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static char *to64(char *out, unsigned long value, int count)
{
    while (count-- > 0) {
        *out++ = itoa64[value & 0x3f];
        value >>= 6;
    }
    return out;
}

/* Poul-Henning Kamp's MD5-crypt with APR's magic, as apr_md5_encode. */
bool password_apr1(const char *password, const char *setting, char *out, size_t size)
{
    const char *salt = setting;
    if (strncmp(salt, apr1_magic, sizeof(apr1_magic) - 1) == 0)
        salt += sizeof(apr1_magic) - 1;
    size_t salt_length = 0;
    while (salt_length < 8 && salt[salt_length] && salt[salt_length] != '$')
        salt_length++;
    size_t password_length = strlen(password);
    /* magic + salt + '$' + 22 characters + NUL */
    if (size < sizeof(apr1_magic) - 1 + salt_length + 1 + 22 + 1)
        return false;

    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return false;
    unsigned char final[16];
    unsigned int final_length;
    bool done = false;

    if (!EVP_DigestInit_ex(md, EVP_md5(), NULL))
        goto out;
    EVP_DigestUpdate(md, password, password_length);
    EVP_DigestUpdate(md, salt, salt_length);
    EVP_DigestUpdate(md, password, password_length);
    EVP_DigestFinal_ex(md, final, &final_length);

    EVP_DigestInit_ex(md, EVP_md5(), NULL);
    EVP_DigestUpdate(md, password, password_length);
    EVP_DigestUpdate(md, apr1_magic, sizeof(apr1_magic) - 1);
    EVP_DigestUpdate(md, salt, salt_length);
    for (size_t left = password_length; left > 0; left -= left > 16 ? 16 : left)
        EVP_DigestUpdate(md, final, left > 16 ? 16 : left);
    memset(final, 0, sizeof(final));
    for (size_t bits = password_length; bits; bits >>= 1)
        EVP_DigestUpdate(md, (bits & 1) ? (const void *)final : (const void *)password, 1);
    EVP_DigestFinal_ex(md, final, &final_length);

    /* 1000 rounds, to slow down guessing (1990s slow). */
    for (int round = 0; round < 1000; round++) {
        EVP_DigestInit_ex(md, EVP_md5(), NULL);
        if (round & 1)
            EVP_DigestUpdate(md, password, password_length);
        else
            EVP_DigestUpdate(md, final, 16);
        if (round % 3)
            EVP_DigestUpdate(md, salt, salt_length);
        if (round % 7)
            EVP_DigestUpdate(md, password, password_length);
        if (round & 1)
            EVP_DigestUpdate(md, final, 16);
        else
            EVP_DigestUpdate(md, password, password_length);
        EVP_DigestFinal_ex(md, final, &final_length);
    }

    char *p = out;
    memcpy(p, apr1_magic, sizeof(apr1_magic) - 1);
    p += sizeof(apr1_magic) - 1;
    memcpy(p, salt, salt_length);
    p += salt_length;
    *p++ = '$';
    p = to64(p, ((unsigned long)final[0] << 16) | ((unsigned long)final[6] << 8) | final[12], 4);
    p = to64(p, ((unsigned long)final[1] << 16) | ((unsigned long)final[7] << 8) | final[13], 4);
    p = to64(p, ((unsigned long)final[2] << 16) | ((unsigned long)final[8] << 8) | final[14], 4);
    p = to64(p, ((unsigned long)final[3] << 16) | ((unsigned long)final[9] << 8) | final[15], 4);
    p = to64(p, ((unsigned long)final[4] << 16) | ((unsigned long)final[10] << 8) | final[5], 4);
    p = to64(p, final[11], 2);
    *p = '\0';
    done = true;
out:
    OPENSSL_cleanse(final, sizeof(final));
    EVP_MD_CTX_free(md);
    return done;
}

void password_sha1(const char *password, char *out, size_t size)
{
    unsigned char digest[20];
    unsigned int digest_length = 0;
    if (size < sizeof(sha_magic) + 28 || !EVP_Digest(password, strlen(password), digest, &digest_length, EVP_sha1(), NULL)) {
        if (size)
            out[0] = '\0';
        return;
    }
    memcpy(out, sha_magic, sizeof(sha_magic) - 1);
    EVP_EncodeBlock((unsigned char *)out + sizeof(sha_magic) - 1, digest, (int)digest_length);
}

/* Equal texts, in a time that depends on their lengths only. */
static bool same_text(const char *a, const char *b)
{
    size_t length = strlen(a);
    return length == strlen(b) && CRYPTO_memcmp(a, b, length) == 0;
}

bool password_verify(const char *password, const char *hash)
{
    char sample[200];
    bool matches = false;
    if (strncmp(hash, apr1_magic, sizeof(apr1_magic) - 1) == 0) {
        matches = password_apr1(password, hash, sample, sizeof(sample)) && same_text(sample, hash);
    } else if (strncmp(hash, sha_magic, sizeof(sha_magic) - 1) == 0) {
        password_sha1(password, sample, sizeof(sample));
        matches = sample[0] && same_text(sample, hash);
    } else {
        /* struct crypt_data is 32 KiB: too much for a worker's stack. */
        struct crypt_data *data = calloc(1, sizeof(*data));
        if (!data)
            return false;
        const char *result = crypt_rn(password, hash, data, (int)sizeof(*data));
        /* libxcrypt fails with a text that starts with '*' (never a hash) */
        matches = result && result[0] != '*' && same_text(result, hash);
        OPENSSL_cleanse(data, sizeof(*data));
        free(data);
    }
    OPENSSL_cleanse(sample, sizeof(sample));
    return matches;
}

bool password_is_expensive(const char *hash)
{
    return strncmp(hash, sha_magic, sizeof(sha_magic) - 1) != 0;
}

bool password_is_plain_text(const char *hash)
{
    if (strncmp(hash, apr1_magic, sizeof(apr1_magic) - 1) == 0 || strncmp(hash, sha_magic, sizeof(sha_magic) - 1) == 0)
        return false;
    if (hash[0] == '$')
        return crypt_checksalt(hash) == CRYPT_SALT_INVALID;
    /* DES: 13 characters of the crypt alphabet */
    if (strlen(hash) != 13)
        return true;
    for (const char *c = hash; *c; c++)
        if (!strchr(itoa64, *c))
            return true;
    return false;
}
