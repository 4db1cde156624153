/*
 * ssl_vars_lookup.c — mod_ssl's variables from an SSL, and SSLRequire's
 * language rewritten into Apache's expressions (see ssl_vars.h).  Nothing
 * here knows a request: ssl_vars.c asks on a request's behalf.
 */
#include "ssl_vars.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "../core/buffer.h"

/* ---- helpers ------------------------------------------------------------- */

/* What OpenSSL printed into a memory BIO, as a pool string; frees the BIO. */
static char *bio_text(pool *p, BIO *bio)
{
    char *data = NULL;
    long length = BIO_get_mem_data(bio, &data);
    char *text = length > 0 ? pool_strndup(p, data, (size_t)length) : NULL;
    BIO_free(bio);
    return text;
}

static char *hex_upper(pool *p, const unsigned char *data, size_t length)
{
    static const char digits[] = "0123456789ABCDEF";
    char *text = pool_alloc(p, length * 2 + 1);
    for (size_t i = 0; i < length; i++) {
        text[2 * i] = digits[data[i] >> 4];
        text[2 * i + 1] = digits[data[i] & 15];
    }
    text[length * 2] = '\0';
    return text;
}

/* "name_3" -> 3 with *base_length = 4; no "_digits" suffix -> 0. */
static int name_index(const char *name, size_t *base_length)
{
    const char *underscore = strrchr(name, '_');
    *base_length = strlen(name);
    if (!underscore || !underscore[1] || strspn(underscore + 1, "0123456789") != strlen(underscore + 1) ||
        strlen(underscore + 1) > 4)
        return 0;
    *base_length = (size_t)(underscore - name);
    return atoi(underscore + 1);
}

/* ---- distinguished names --------------------------------------------------- */

char *ssl_vars_dn_text(pool *p, const X509_NAME *name, bool legacy)
{
    if (!name)
        return NULL;
    if (legacy) {
        char *line = X509_NAME_oneline(name, NULL, 0);
        char *text = line ? pool_strdup(p, line) : NULL;
        OPENSSL_free(line);
        return text;
    }
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return NULL;
    /* mod_ssl 2.4's flags: RFC 2253, but UTF-8 left as it is */
    X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char *text = bio_text(p, bio);
    return text ? text : pool_strdup(p, "");
}

/* mod_ssl's names of DN attributes (SSL_CLIENT_S_DN_CN): its table, in its
 * order (ST before its alias SP); emailAddress is weft's alias of Email. */
static const struct {
    const char *tag;
    int nid;
} dn_tags[] = {
    { "C", NID_countryName },        { "ST", NID_stateOrProvinceName },
    { "SP", NID_stateOrProvinceName }, { "L", NID_localityName },
    { "O", NID_organizationName },   { "OU", NID_organizationalUnitName },
    { "CN", NID_commonName },        { "T", NID_title },
    { "I", NID_initials },           { "G", NID_givenName },
    { "S", NID_surname },            { "D", NID_description },
    { "UID", NID_userId },           { "Email", NID_pkcs9_emailAddress },
    { "emailAddress", NID_pkcs9_emailAddress },
};

/* An attribute's value in UTF-8, control characters escaped. */
static char *entry_text(pool *p, const X509_NAME_ENTRY *entry)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return NULL;
    ASN1_STRING_print_ex(bio, X509_NAME_ENTRY_get_data(entry), ASN1_STRFLGS_ESC_CTRL | ASN1_STRFLGS_UTF8_CONVERT);
    char *text = bio_text(p, bio);
    return text ? text : pool_strdup(p, "");
}

/* "CN", "OU_1": the index-th attribute of that kind in name. */
static char *dn_component(pool *p, const X509_NAME *name, const char *tag)
{
    size_t length;
    int index = name_index(tag, &length);
    for (size_t t = 0; t < COUNT_OF(dn_tags); t++) {
        if (strlen(dn_tags[t].tag) != length || strncmp(dn_tags[t].tag, tag, length) != 0)
            continue;
        for (int i = 0; i < X509_NAME_entry_count(name); i++) {
            const X509_NAME_ENTRY *entry = X509_NAME_get_entry(name, i);
            if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry)) == dn_tags[t].nid && index-- == 0)
                return entry_text(p, entry);
        }
        return NULL;
    }
    return NULL;
}

/* ---- certificates ------------------------------------------------------------ */

static char *time_text(pool *p, const ASN1_TIME *time)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return NULL;
    ASN1_TIME_print(bio, time);
    return bio_text(p, bio);
}

static char *certificate_pem(pool *p, X509 *certificate)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return NULL;
    PEM_write_bio_X509(bio, certificate);
    return bio_text(p, bio);
}

static char *serial_text(pool *p, const X509 *certificate)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return NULL;
    i2a_ASN1_INTEGER(bio, X509_get0_serialNumber(certificate));
    return bio_text(p, bio);
}

/* SAN_Email_n, SAN_DNS_n: the n-th subjectAltName entry of that type. */
static char *san_entry(pool *p, X509 *certificate, const char *rest)
{
    int type;
    size_t length;
    int index = name_index(rest, &length);
    if (length == 5 && strncmp(rest, "Email", 5) == 0)
        type = GEN_EMAIL;
    else if (length == 3 && strncmp(rest, "DNS", 3) == 0)
        type = GEN_DNS;
    else
        return NULL;
    if (length == strlen(rest))
        return NULL;  /* the index is required: SSL_CLIENT_SAN_DNS_0 */
    GENERAL_NAMES *names = X509_get_ext_d2i(certificate, NID_subject_alt_name, NULL, NULL);
    char *value = NULL;
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && !value; i++) {
        const GENERAL_NAME *entry = sk_GENERAL_NAME_value(names, i);
        if (entry->type != type || index-- != 0)
            continue;
        const ASN1_IA5STRING *text = entry->d.ia5;
        value = pool_strndup(p, (const char *)ASN1_STRING_get0_data(text), (size_t)ASN1_STRING_length(text));
    }
    GENERAL_NAMES_free(names);
    return value;
}

static const char *algorithm_name(int nid)
{
    return nid == NID_undef ? "UNKNOWN" : OBJ_nid2ln(nid);
}

/* SSL_CLIENT_xxx / SSL_SERVER_xxx after the prefix: M_VERSION, S_DN_CN, ... */
static const char *certificate_variable(pool *p, X509 *certificate, const char *rest, unsigned options)
{
    if (!certificate)
        return NULL;
    bool legacy = options & SSL_OPTION_LEGACY_DN_STRING_FORMAT;
    if (strcmp(rest, "M_VERSION") == 0)
        return pool_printf(p, "%ld", X509_get_version(certificate) + 1);
    if (strcmp(rest, "M_SERIAL") == 0)
        return serial_text(p, certificate);
    if (strcmp(rest, "V_START") == 0)
        return time_text(p, X509_get0_notBefore(certificate));
    if (strcmp(rest, "V_END") == 0)
        return time_text(p, X509_get0_notAfter(certificate));
    if (strcmp(rest, "V_REMAIN") == 0) {
        int days = 0, seconds = 0;
        if (!ASN1_TIME_diff(&days, &seconds, NULL, X509_get0_notAfter(certificate)))
            return NULL;
        return pool_printf(p, "%d", days > 0 ? days : 0);
    }
    if (strcmp(rest, "S_DN") == 0)
        return ssl_vars_dn_text(p, X509_get_subject_name(certificate), legacy);
    if (strcmp(rest, "I_DN") == 0)
        return ssl_vars_dn_text(p, X509_get_issuer_name(certificate), legacy);
    if (strncmp(rest, "S_DN_", 5) == 0)
        return dn_component(p, X509_get_subject_name(certificate), rest + 5);
    if (strncmp(rest, "I_DN_", 5) == 0)
        return dn_component(p, X509_get_issuer_name(certificate), rest + 5);
    if (strcmp(rest, "A_SIG") == 0)
        return algorithm_name(X509_get_signature_nid(certificate));
    if (strcmp(rest, "A_KEY") == 0) {
        const EVP_PKEY *key = X509_get0_pubkey(certificate);
        return algorithm_name(key ? EVP_PKEY_get_base_id(key) : NID_undef);
    }
    if (strcmp(rest, "CERT") == 0)
        return certificate_pem(p, certificate);
    if (strncmp(rest, "SAN_", 4) == 0)
        return san_entry(p, certificate, rest + 4);
    return NULL;
}

/* NONE, SUCCESS, GENERIC or FAILED:reason.  A session whose verification
 * failed completed its handshake only because SSLVerifyClient
 * optional_no_ca accepted the certificate: an issuer that is merely unknown
 * is then mod_ssl's GENERIC, anything else a failure. */
static const char *client_verify(pool *p, SSL *ssl)
{
    long result = SSL_get_verify_result(ssl);
    bool presented = SSL_get0_peer_certificate(ssl) != NULL;
    if (result == X509_V_OK)
        return presented ? "SUCCESS" : "NONE";
    switch (result) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
        if (presented)
            return "GENERIC";
        break;
    }
    return pool_printf(p, "FAILED:%s", X509_verify_cert_error_string(result));
}

/* SSL_CLIENT_CERT_CHAIN_n: the certificates the client sent after its own. */
static const char *client_chain(pool *p, SSL *ssl, const char *digits)
{
    if (!*digits || strspn(digits, "0123456789") != strlen(digits) || strlen(digits) > 4)
        return NULL;
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    /* a server's peer chain leaves the client's own certificate out */
    int index = atoi(digits);
    return chain && index < sk_X509_num(chain) ? certificate_pem(p, sk_X509_value(chain, index)) : NULL;
}

static const char *library_version(pool *p)
{
    /* "OpenSSL 3.0.11 19 Sep 2023" -> "OpenSSL/3.0.11", as mod_ssl */
    const char *text = OpenSSL_version(OPENSSL_VERSION);
    const char *space = strchr(text, ' ');
    if (!space)
        return text;
    size_t version_length = strcspn(space + 1, " ");
    return pool_printf(p, "%.*s/%.*s", (int)(space - text), text, (int)version_length, space + 1);
}

/* ---- the variables --------------------------------------------------------------- */

const char *ssl_vars_lookup(pool *p, SSL *ssl, const char *name, unsigned options)
{
    if (strcmp(name, "HTTPS") == 0)
        return ssl ? "on" : "off";
    if (strncmp(name, "SSL_", 4) != 0)
        return NULL;
    const char *rest = name + 4;
    if (strcmp(rest, "VERSION_LIBRARY") == 0)
        return library_version(p);
    if (strcmp(rest, "VERSION_INTERFACE") == 0)
        return WEFT_NAME "/" WEFT_VERSION;
    if (!ssl)
        return NULL;
    const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
    if (strcmp(rest, "PROTOCOL") == 0)
        return SSL_get_version(ssl);
    if (strcmp(rest, "CIPHER") == 0)
        return cipher ? SSL_CIPHER_get_name(cipher) : NULL;
    if (strcmp(rest, "CIPHER_EXPORT") == 0)
        return cipher ? "false" : NULL;
    if (strcmp(rest, "CIPHER_USEKEYSIZE") == 0 || strcmp(rest, "CIPHER_ALGKEYSIZE") == 0) {
        if (!cipher)
            return NULL;
        int algorithm_bits = 0;
        int used_bits = SSL_CIPHER_get_bits(cipher, &algorithm_bits);
        return pool_printf(p, "%d", rest[7] == 'U' ? used_bits : algorithm_bits);
    }
    if (strcmp(rest, "COMPRESS_METHOD") == 0)
        return "NULL";  /* SSLCompression is refused with OpenSSL 3's defaults */
    if (strcmp(rest, "SECURE_RENEG") == 0)
        return SSL_get_secure_renegotiation_support(ssl) ? "true" : "false";
    if (strcmp(rest, "SESSION_ID") == 0) {
        SSL_SESSION *session = SSL_get_session(ssl);
        unsigned length = 0;
        const unsigned char *id = session ? SSL_SESSION_get_id(session, &length) : NULL;
        return id && length ? hex_upper(p, id, length) : NULL;
    }
    if (strcmp(rest, "SESSION_RESUMED") == 0)
        return SSL_session_reused(ssl) ? "Resumed" : "Initial";
    if (strcmp(rest, "TLS_SNI") == 0)
        return SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (strcmp(rest, "CLIENT_VERIFY") == 0)
        return client_verify(p, ssl);
    if (strncmp(rest, "CLIENT_CERT_CHAIN_", 18) == 0)
        return client_chain(p, ssl, rest + 18);
    if (strncmp(rest, "CLIENT_", 7) == 0)
        return certificate_variable(p, SSL_get0_peer_certificate(ssl), rest + 7, options);
    if (strncmp(rest, "SERVER_", 7) == 0)
        return certificate_variable(p, SSL_get_certificate(ssl), rest + 7, options);
    return NULL;
}

/* ---- SSLOptions +StdEnvVars, +ExportCertData ------------------------------------------- */

/* mod_ssl's ssl_hook_Fixup_vars, in its order. */
static const char *const standard_names[] = {
    "SSL_VERSION_INTERFACE", "SSL_VERSION_LIBRARY", "SSL_PROTOCOL", "SSL_SECURE_RENEG",
    "SSL_COMPRESS_METHOD", "SSL_CIPHER", "SSL_CIPHER_EXPORT", "SSL_CIPHER_USEKEYSIZE",
    "SSL_CIPHER_ALGKEYSIZE", "SSL_CLIENT_VERIFY", "SSL_CLIENT_M_VERSION", "SSL_CLIENT_M_SERIAL",
    "SSL_CLIENT_V_START", "SSL_CLIENT_V_END", "SSL_CLIENT_V_REMAIN", "SSL_CLIENT_S_DN",
    "SSL_CLIENT_I_DN", "SSL_CLIENT_A_KEY", "SSL_CLIENT_A_SIG", "SSL_SERVER_M_VERSION",
    "SSL_SERVER_M_SERIAL", "SSL_SERVER_V_START", "SSL_SERVER_V_END", "SSL_SERVER_S_DN",
    "SSL_SERVER_I_DN", "SSL_SERVER_A_KEY", "SSL_SERVER_A_SIG", "SSL_SESSION_ID",
    "SSL_SESSION_RESUMED", "SSL_TLS_SNI",
};

/* Every attribute of name as prefix + tag, the second of a kind with "_1". */
static void add_dn_components(pool *p, const X509_NAME *name, const char *prefix, ssl_vars_add *add,
                              void *context)
{
    int seen[COUNT_OF(dn_tags)] = { 0 };
    for (int i = 0; name && i < X509_NAME_entry_count(name); i++) {
        const X509_NAME_ENTRY *entry = X509_NAME_get_entry(name, i);
        int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
        size_t t = 0;
        while (t < COUNT_OF(dn_tags) && dn_tags[t].nid != nid)
            t++;
        if (t == COUNT_OF(dn_tags))
            continue;
        const char *key = seen[t] ? pool_printf(p, "%s%s_%d", prefix, dn_tags[t].tag, seen[t])
                                  : pool_printf(p, "%s%s", prefix, dn_tags[t].tag);
        seen[t]++;
        add(context, key, entry_text(p, entry));
    }
}

static void add_san_entries(pool *p, X509 *certificate, const char *prefix, ssl_vars_add *add, void *context)
{
    GENERAL_NAMES *names = certificate ? X509_get_ext_d2i(certificate, NID_subject_alt_name, NULL, NULL) : NULL;
    int emails = 0, dns = 0;
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *entry = sk_GENERAL_NAME_value(names, i);
        if (entry->type != GEN_EMAIL && entry->type != GEN_DNS)
            continue;
        const char *key = entry->type == GEN_EMAIL ? pool_printf(p, "%sSAN_Email_%d", prefix, emails++)
                                                   : pool_printf(p, "%sSAN_DNS_%d", prefix, dns++);
        const ASN1_IA5STRING *text = entry->d.ia5;
        add(context, key, pool_strndup(p, (const char *)ASN1_STRING_get0_data(text), (size_t)ASN1_STRING_length(text)));
    }
    GENERAL_NAMES_free(names);
}

void ssl_vars_environment(pool *p, SSL *ssl, unsigned options, ssl_vars_add *add, void *context)
{
    if (!ssl)
        return;
    X509 *client = SSL_get0_peer_certificate(ssl);
    X509 *server = SSL_get_certificate(ssl);
    if (options & SSL_OPTION_STD_ENV_VARS) {
        if (client) {
            add_dn_components(p, X509_get_subject_name(client), "SSL_CLIENT_S_DN_", add, context);
            add_dn_components(p, X509_get_issuer_name(client), "SSL_CLIENT_I_DN_", add, context);
        }
        if (server) {
            add_dn_components(p, X509_get_subject_name(server), "SSL_SERVER_S_DN_", add, context);
            add_dn_components(p, X509_get_issuer_name(server), "SSL_SERVER_I_DN_", add, context);
        }
        add_san_entries(p, client, "SSL_CLIENT_", add, context);
        add_san_entries(p, server, "SSL_SERVER_", add, context);
        for (size_t i = 0; i < COUNT_OF(standard_names); i++) {
            const char *value = ssl_vars_lookup(p, ssl, standard_names[i], options);
            if (value && *value)
                add(context, standard_names[i], value);
        }
    }
    if (options & SSL_OPTION_EXPORT_CERT_DATA) {
        const char *value = ssl_vars_lookup(p, ssl, "SSL_SERVER_CERT", options);
        if (value)
            add(context, "SSL_SERVER_CERT", value);
        if ((value = ssl_vars_lookup(p, ssl, "SSL_CLIENT_CERT", options)))
            add(context, "SSL_CLIENT_CERT", value);
        STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
        for (int i = 0; chain && i < sk_X509_num(chain); i++)
            add(context, pool_printf(p, "SSL_CLIENT_CERT_CHAIN_%d", i), certificate_pem(p, sk_X509_value(chain, i)));
    }
}

/* ---- SSLRequire ------------------------------------------------------------------------------ */

/* word as a word of its own at `at` (not part of a name, nor ap_expr's -eq). */
static bool word_at(const char *at, const char *start, const char *word)
{
    size_t length = strlen(word);
    bool before = at == start || !(isalnum((unsigned char)at[-1]) || at[-1] == '_' || at[-1] == '-');
    return before && strncmp(at, word, length) == 0 && !(isalnum((unsigned char)at[length]) || at[length] == '_');
}

/* Copies a quoted string, a %{...} or a regex literal from *at to out. */
static bool copy_quoted(buffer *out, const char **at, char close)
{
    const char *s = *at;
    buffer_append(out, s++, 1);
    while (*s && *s != close) {
        if (*s == '\\' && s[1])
            buffer_append(out, s++, 1);
        buffer_append(out, s++, 1);
    }
    if (!*s)
        return false;
    buffer_append(out, s++, 1);
    *at = s;
    return true;
}

char *ssl_require_to_expr(pool *p, const char *text, char *error, size_t error_size)
{
    static const char *const refused[] = { "file", "PeerExtList", "SSLPeerExtList" };
    buffer out = { 0 };
    buffer_append(&out, "", 0);
    const char *s = text;
    bool ok = true;
    while (*s && ok) {
        if (*s == '"' || *s == '\'') {
            ok = copy_quoted(&out, &s, *s);
            if (!ok)
                snprintf(error, error_size, "a string without its closing quote");
        } else if (s[0] == '%' && s[1] == '{') {
            buffer_append(&out, s, 1);
            s++;
            ok = copy_quoted(&out, &s, '}');
            if (!ok)
                snprintf(error, error_size, "'%%{' without a closing '}'");
        } else if ((s[0] == '=' || s[0] == '!') && s[1] == '~') {
            /* the regex after =~ is copied as it is: its text must not be rewritten */
            buffer_append(&out, s, 2);
            s += 2;
            while (*s == ' ' || *s == '\t')
                buffer_append(&out, s++, 1);
            if (*s == 'm' && s[1] && !isalnum((unsigned char)s[1]) && !isspace((unsigned char)s[1])) {
                buffer_append(&out, s++, 1);
                ok = copy_quoted(&out, &s, *s);
            } else if (*s == '/') {
                ok = copy_quoted(&out, &s, '/');
            }
            if (!ok)
                snprintf(error, error_size, "a regular expression without its closing delimiter");
        } else if (s[0] == '<' || s[0] == '>') {
            /* mod_ssl orders by length first, then bytes: numbers compare as
             * numbers, which weft's integer comparisons do */
            bool equal = s[1] == '=';
            buffer_append_string(&out, s[0] == '<' ? (equal ? "-le" : "-lt") : (equal ? "-ge" : "-gt"));
            s += equal ? 2 : 1;
        } else if (word_at(s, text, "lt") || word_at(s, text, "le") || word_at(s, text, "gt") ||
                   word_at(s, text, "ge")) {
            buffer_append(&out, "-", 1);
            buffer_append(&out, s, 2);
            s += 2;
        } else if (word_at(s, text, "eq")) {
            buffer_append_string(&out, "==");
            s += 2;
        } else if (word_at(s, text, "ne")) {
            buffer_append_string(&out, "!=");
            s += 2;
        } else {
            for (size_t i = 0; i < COUNT_OF(refused) && ok; i++) {
                const char *name = refused[i];
                if (word_at(s, text, name)) {
                    snprintf(error, error_size, "%s() is not supported by weft", name);
                    ok = false;
                }
            }
            if (ok)
                buffer_append(&out, s++, 1);
        }
    }
    char *result = ok ? pool_strdup(p, out.data) : NULL;
    buffer_free(&out);
    return result;
}
