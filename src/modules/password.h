/*
 * password.h — checking a password against a hash from an htpasswd file,
 * exactly as Apache's apr_password_validate() does on Unix:
 *
 *   $apr1$salt$...   APR's MD5-crypt (htpasswd -m, openssl passwd -apr1),
 *                    computed here with OpenSSL's MD5: libcrypt lacks it
 *   {SHA}base64      base64 of the password's SHA-1 (htpasswd -s)
 *   anything else    crypt(3) (libxcrypt): bcrypt $2y$/$2b$/$2a$ (-B),
 *                    SHA-256 $5$ (-2), SHA-512 $6$ (-5), MD5 $1$, DES (-d)
 *
 * Plain text (htpasswd -p) is not a format on Unix: Apache feeds it to
 * crypt(), which never gives the same text back, so the password never
 * matches; weft does the same (password_is_plain_text tells the loader,
 * which warns).  The final comparison takes the same time wherever the
 * texts differ.
 */
#ifndef WEFT_MODULES_PASSWORD_H
#define WEFT_MODULES_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

/* Does password match hash? */
bool password_verify(const char *password, const char *hash);

/* Is checking this hash expensive (everything but {SHA}): worth announcing
 * to the dispatcher first and caching the result? */
bool password_is_expensive(const char *hash);

/* A hash no scheme produces: neither apr1 nor {SHA} and not a crypt(3)
 * setting libxcrypt knows (htpasswd -p's plain text). */
bool password_is_plain_text(const char *hash);

/* APR's MD5-crypt of password with the salt of setting ("$apr1$salt[$...]"
 * or just the salt) into out: "$apr1$salt$hash"; false if it does not fit. */
bool password_apr1(const char *password, const char *setting, char *out, size_t size);

/* "{SHA}" + base64(SHA-1(password)) into out (at least 34 bytes). */
void password_sha1(const char *password, char *out, size_t size);

#endif
