/*
 * password.c — the htpasswd hash checks against vectors made by Debian's
 * htpasswd (apache2-utils 2.4) and openssl passwd.
 */
#include "tap.h"

#include "../../src/modules/password.c"

static const struct {
    const char *password;
    const char *hash;
    const char *what;
} vectors[] = {
    { "secret", "$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/", "apr1 (openssl passwd -apr1)" },
    { "", "$apr1$12345678$sHuPAw7VA9xjRbJz7zKV7/", "apr1, empty password" },
    { "a much longer password of more than sixteen bytes", "$apr1$Ab1$elE2uTzFj4eFFGm7ybVRF.",
      "apr1, short salt, long password" },
    { "pässwörd", "$apr1$Kx5Ec/Uc$1HWjE.5n1f6kPcLMq43NV/", "apr1, UTF-8 (htpasswd -m)" },
    { "secret", "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", "{SHA} (htpasswd -s)" },
    { "p@ss:word", "$2y$04$4065E5dt3EGVsHwWVTabAemIFFmQv/H9Yql/jugX6AY2x8CKEu0.a", "bcrypt $2y$ (htpasswd -B)" },
    { "p@ss:word", "$2b$04$4065E5dt3EGVsHwWVTabAemIFFmQv/H9Yql/jugX6AY2x8CKEu0.a", "bcrypt $2b$, same hash" },
    { "secret", "$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA", "SHA-256 crypt (openssl passwd -5)" },
    { "secret", "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1",
      "SHA-512 crypt (openssl passwd -6)" },
    { "secret", "$1$saltsalt$9xy1btjgzLYfb7hivXtC//", "MD5 crypt $1$ (openssl passwd -1)" },
    { "secret", "e9Mrg.XFBdk7s", "DES crypt (htpasswd -d)" },
};

int main(void)
{
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        ok(password_verify(vectors[i].password, vectors[i].hash), "%s: the password matches", vectors[i].what);
        ok(!password_verify("Secret", vectors[i].hash), "%s: another password does not", vectors[i].what);
        ok(!password_is_plain_text(vectors[i].hash), "%s: is a hash", vectors[i].what);
    }

    char out[120];
    ok(password_apr1("secret", "$apr1$abcdefgh$whatever", out, sizeof(out)), "apr1 computes");
    is_string(out, "$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/", "apr1 takes the salt from a full hash");
    ok(!password_apr1("secret", "abcdefgh", out, 20), "apr1 refuses a short buffer");
    password_sha1("secret", out, sizeof(out));
    is_string(out, "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", "{SHA} computes");

    /* Apache on Unix: plain text goes to crypt() and never matches. */
    ok(!password_verify("secret", "secret"), "plain text does not match itself");
    ok(password_is_plain_text("secret"), "plain text is recognised as such");
    ok(password_is_plain_text("$9$nonsense"), "an unknown $id$ is not a hash");
    ok(!password_verify("", ""), "an empty hash matches nothing");
    ok(!password_verify("x", "*"), "a locked entry matches nothing");
    /* A truncated hash of a known scheme must not match a prefix. */
    ok(!password_verify("secret", "$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ"), "a truncated apr1 hash does not match");
    ok(!password_verify("secret", "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ"), "a truncated {SHA} does not match");
    ok(!password_verify("p@ss:word", "$2y$04$4065E5dt3EGVsHwWVTabAemIFFmQv/H9Yql/jugX6AY2x8CKEu0."),
       "a truncated bcrypt hash does not match");
    ok(password_is_expensive("$2y$04$x") && password_is_expensive("$apr1$x") && !password_is_expensive("{SHA}x"),
       "bcrypt and apr1 are expensive, {SHA} is not");
    return done_testing();
}
