/*
 * ssl.c — mod_ssl's configuration on OpenSSL 3: the directives, and one
 * SSL_CTX per server (main or vhost) with SSLEngine on (ssl.h).
 *
 * Contexts are built while the configuration is read, in the control
 * process, as root: the children inherit the keys through fork and never
 * need to open the files (they could not, after dropping privileges).  A
 * certificate that does not load, or a key that does not match it, is a
 * configuration error at the line that named it, so a graceful restart
 * with a broken renewal keeps the old configuration serving.
 *
 * Defaults are Mozilla's "intermediate" profile: TLS 1.2 and 1.3, forward
 * secret AEAD ciphers only, the client's cipher preference.
 */
#include "ssl_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../core/buffer.h"
#include "../core/log.h"
#include "../core/vhost.h"
#include "../http/connection.h"

#define INTERMEDIATE_CIPHERS                                                                              \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"         \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"           \
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"
#define INTERMEDIATE_GROUPS "X25519:P-256:P-384"

/* ---- OpenSSL's error queue as a sentence ---------------------------------- */

static const char *openssl_reason(char *out, size_t size)
{
    unsigned long code = ERR_peek_last_error();
    if (!code) {
        snprintf(out, size, "unknown OpenSSL error");
    } else {
        const char *reason = ERR_reason_error_string(code);
        snprintf(out, size, "%s", reason ? reason : "unknown OpenSSL error");
    }
    ERR_clear_error();
    return out;
}

/* ---- directive setters ------------------------------------------------------ */

static ssl_file_reference reference_here(config_parse *parse, const char *path)
{
    return (ssl_file_reference){ .path = path, .file = config_file_name(parse), .line = config_line_number(parse) };
}

static int set_engine(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    ssl_engine_setting *engine = target;
    if (strcasecmp(argv[0], "optional") == 0)
        return config_error(parse, "SSLEngine optional (RFC 2817 upgrade to TLS) is not supported: use On");
    if (strcasecmp(argv[0], "on") != 0 && strcasecmp(argv[0], "off") != 0)
        return config_error(parse, "SSLEngine must be On or Off, not '%s'", argv[0]);
    *engine = (ssl_engine_setting){ .on = strcasecmp(argv[0], "on") == 0, .file = config_file_name(parse),
                                    .line = config_line_number(parse) };
    return WEFT_OK;
}

static int set_file_list(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    ssl_file_list *list = target;
    pool *p = config_pool(parse);
    ssl_file_reference *grown = pool_alloc(p, sizeof(*grown) * (size_t)(list->count + 1));
    if (list->count)
        memcpy(grown, list->items, sizeof(*grown) * (size_t)list->count);
    grown[list->count] = reference_here(parse, config_resolve_path(parse, argv[0]));
    list->items = grown;
    list->count++;
    return WEFT_OK;
}

static int set_file(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    *(ssl_file_reference *)target = reference_here(parse, config_resolve_path(parse, argv[0]));
    return WEFT_OK;
}

static int set_verify_client(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    static const char *const names[] = { [SSL_VERIFY_CLIENT_NONE] = "none",
                                         [SSL_VERIFY_CLIENT_OPTIONAL] = "optional",
                                         [SSL_VERIFY_CLIENT_REQUIRE] = "require",
                                         [SSL_VERIFY_CLIENT_OPTIONAL_NO_CA] = "optional_no_ca" };
    for (size_t i = 0; i < COUNT_OF(names); i++) {
        if (strcasecmp(argv[0], names[i]) == 0) {
            *(int *)target = (int)i;
            return WEFT_OK;
        }
    }
    return config_error(parse, "SSLVerifyClient must be none, optional, require or optional_no_ca, not '%s'",
                        argv[0]);
}

static unsigned protocol_bits(const char *name)
{
    if (strcasecmp(name, "all") == 0)
        return SSL_PROTOCOL_ALL;
    if (strcasecmp(name, "TLSv1") == 0)
        return SSL_PROTOCOL_TLS1;
    if (strcasecmp(name, "TLSv1.1") == 0)
        return SSL_PROTOCOL_TLS1_1;
    if (strcasecmp(name, "TLSv1.2") == 0)
        return SSL_PROTOCOL_TLS1_2;
    if (strcasecmp(name, "TLSv1.3") == 0)
        return SSL_PROTOCOL_TLS1_3;
    return 0;
}

/* Apache's syntax: a word without + or - starts over from that set; +X
 * adds, -X removes.  SSLv2 and SSLv3 are gone from OpenSSL 3: removing
 * them is accepted (Debian's "all -SSLv3"), asking for them is an error. */
static int set_protocol(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    unsigned bits = 0;
    for (int i = 0; i < argc; i++) {
        const char *word = argv[i];
        char sign = (word[0] == '+' || word[0] == '-') ? word[0] : 0;
        const char *name = sign ? word + 1 : word;
        unsigned these = protocol_bits(name);
        if (!these) {
            if (strcasecmp(name, "SSLv3") == 0 || strcasecmp(name, "SSLv2") == 0) {
                if (sign == '-')
                    continue;
                return config_error(parse, "SSLProtocol: %s is insecure and not supported by OpenSSL 3", name);
            }
            return config_error(parse, "SSLProtocol: unknown protocol '%s' (all, TLSv1, TLSv1.1, TLSv1.2, "
                                       "TLSv1.3, each with an optional + or -)", word);
        }
        if (sign == '-')
            bits &= ~these;
        else if (sign == '+')
            bits |= these;
        else
            bits = these;
    }
    if (!bits)
        return config_error(parse, "SSLProtocol leaves no protocol enabled");
    *(unsigned *)target = bits;
    return WEFT_OK;
}

static int set_cipher_suite(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    ssl_cipher_setting *setting = target;
    const char *protocol = argc == 2 ? argv[0] : "SSL";
    const char *list = argv[argc - 1];
    /* Checked now, so that a typo is reported at its line. */
    SSL_CTX *probe = SSL_CTX_new(TLS_server_method());
    bool good;
    if (strcasecmp(protocol, "TLSv1.3") == 0) {
        good = SSL_CTX_set_ciphersuites(probe, list) == 1;
        setting->tls13 = pool_strdup(config_pool(parse), list);
    } else if (strcasecmp(protocol, "SSL") == 0) {
        good = SSL_CTX_set_cipher_list(probe, list) == 1;
        setting->tls12 = pool_strdup(config_pool(parse), list);
    } else {
        SSL_CTX_free(probe);
        return config_error(parse, "SSLCipherSuite: the protocol must be SSL or TLSv1.3, not '%s'", protocol);
    }
    SSL_CTX_free(probe);
    ERR_clear_error();
    if (!good)
        return config_error(parse, "SSLCipherSuite: '%s' selects no cipher OpenSSL knows", list);
    return WEFT_OK;
}

static int set_conf_command(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    ssl_conf_command_list *list = target;
    pool *p = config_pool(parse);
    /* Unknown names are found now; values are checked on the real context. */
    SSL_CONF_CTX *probe = SSL_CONF_CTX_new();
    SSL_CONF_CTX_set_flags(probe, SSL_CONF_FLAG_FILE | SSL_CONF_FLAG_SERVER | SSL_CONF_FLAG_CERTIFICATE |
                                      SSL_CONF_FLAG_SHOW_ERRORS);
    int type = SSL_CONF_cmd_value_type(probe, argv[0]);
    SSL_CONF_CTX_free(probe);
    if (type == SSL_CONF_TYPE_UNKNOWN)
        return config_error(parse, "SSLOpenSSLConfCmd: OpenSSL knows no command '%s'", argv[0]);
    ssl_conf_command *grown = pool_alloc(p, sizeof(*grown) * (size_t)(list->count + 1));
    if (list->count)
        memcpy(grown, list->items, sizeof(*grown) * (size_t)list->count);
    grown[list->count] = (ssl_conf_command){ .name = pool_strdup(p, argv[0]), .value = pool_strdup(p, argv[1]),
                                             .file = config_file_name(parse), .line = config_line_number(parse) };
    list->items = grown;
    list->count++;
    return WEFT_OK;
}

static int set_pass_phrase_dialog(config_parse *parse, const config_directive *d, void *target, int argc,
                                  char **argv)
{
    if (strcasecmp(argv[0], "builtin") != 0 && strncmp(argv[0], "exec:", 5) != 0)
        return config_error(parse, "SSLPassPhraseDialog must be builtin or exec:/path/to/program, not '%s'",
                            argv[0]);
    if (strncmp(argv[0], "exec:", 5) == 0 && argv[0][5] == '\0')
        return config_error(parse, "SSLPassPhraseDialog exec: needs the program's path");
    *(const char **)target = pool_strdup(config_pool(parse), argv[0]);
    return WEFT_OK;
}

/* OpenSSL seeds itself from the kernel; Debian's ssl.conf still names
 * sources, so they are accepted without a word. */
static int set_random_seed(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    if (strcasecmp(argv[0], "startup") != 0 && strcasecmp(argv[0], "connect") != 0)
        return config_error(parse, "SSLRandomSeed: the context must be startup or connect, not '%s'", argv[0]);
    return WEFT_OK;
}

/* ---- pass phrases ------------------------------------------------------------ */

typedef struct {
    const char *dialog;      /* SSLPassPhraseDialog */
    const char *server;      /* "name:port" for exec: programs */
    const char *key_type;    /* "RSA", "EC", ... */
    const char *key_path;
    char problem[256];       /* why no pass phrase could be had */
} pass_phrase_request;

static int read_pass_phrase_from(const char *program, const char *server, const char *type, char *out, int size,
                                 char *problem, size_t problem_size)
{
    int pipe_ends[2];
    if (pipe(pipe_ends) != 0) {
        snprintf(problem, problem_size, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(pipe_ends[0]);
        close(pipe_ends[1]);
        snprintf(problem, problem_size, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        dup2(pipe_ends[1], STDOUT_FILENO);
        close(pipe_ends[0]);
        close(pipe_ends[1]);
        execl(program, program, server, type, (char *)NULL);
        _exit(127);
    }
    close(pipe_ends[1]);
    int length = 0;
    ssize_t got;
    while (length < size - 1 && (got = read(pipe_ends[0], out + length, (size_t)(size - 1 - length))) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        length += (int)got;
    }
    close(pipe_ends[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(problem, problem_size, "SSLPassPhraseDialog exec:%s failed (exit status %d)", program,
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return -1;
    }
    out[length] = '\0';
    while (length > 0 && (out[length - 1] == '\n' || out[length - 1] == '\r'))
        out[--length] = '\0';
    return length;
}

static int pass_phrase_callback(char *out, int size, int writing, void *data)
{
    pass_phrase_request *asking = data;
    if (strncmp(asking->dialog, "exec:", 5) == 0)
        return read_pass_phrase_from(asking->dialog + 5, asking->server, asking->key_type, out, size,
                                     asking->problem, sizeof(asking->problem));
    /* builtin: only with a terminal to ask on. */
    if (!isatty(STDIN_FILENO)) {
        snprintf(asking->problem, sizeof(asking->problem),
                 "the key is encrypted and SSLPassPhraseDialog builtin needs a terminal, but weft is not "
                 "started from one: use SSLPassPhraseDialog exec:/path/to/program, or decrypt the key");
        return -1;
    }
    char prompt[512];
    snprintf(prompt, sizeof(prompt), "Enter pass phrase for %s (%s): ", asking->key_path, asking->server);
    if (EVP_read_pw_string(out, size, prompt, 0) != 0) {
        snprintf(asking->problem, sizeof(asking->problem), "no pass phrase was entered");
        return -1;
    }
    return (int)strlen(out);
}

/* ---- building a context ------------------------------------------------------- */

static void free_context(void *data)
{
    SSL_CTX_free(data);
}

/* The second argument of an SSLPassPhraseDialog exec: program, as mod_ssl
 * names the certificate's key algorithm. */
static const char *key_type_name(SSL_CTX *context)
{
    X509 *certificate = SSL_CTX_get0_certificate(context);
    EVP_PKEY *public_key = certificate ? X509_get0_pubkey(certificate) : NULL;
    switch (public_key ? EVP_PKEY_get_base_id(public_key) : EVP_PKEY_NONE) {
    case EVP_PKEY_RSA:
        return "RSA";
    case EVP_PKEY_DSA:
        return "DSA";
    case EVP_PKEY_EC:
        return "ECC";
    default:
        return "UNKNOWN";
    }
}

static EVP_PKEY *load_key(config_parse *parse, const server_config *main, const server_config *server,
                          const ssl_file_reference *reference, const char *key_type)
{
    BIO *file = BIO_new_file(reference->path, "r");
    if (!file) {
        config_error_at(parse, reference->file, reference->line, "cannot read key file %s: %s", reference->path,
                        strerror(errno));
        ERR_clear_error();
        return NULL;
    }
    const ssl_server_config *main_settings = ssl_settings(main);
    pass_phrase_request asking = {
        .dialog = main_settings->pass_phrase_dialog ? main_settings->pass_phrase_dialog : "builtin",
        .server = pool_printf(config_pool(parse), "%s:%d",
                              server->server_name ? server->server_name : "localhost", 443),
        .key_type = key_type,
        .key_path = reference->path,
    };
    EVP_PKEY *key = PEM_read_bio_PrivateKey(file, NULL, pass_phrase_callback, &asking);
    BIO_free(file);
    if (!key) {
        char reason[256];
        if (asking.problem[0])
            config_error_at(parse, reference->file, reference->line, "%s: %s", reference->path, asking.problem);
        else
            config_error_at(parse, reference->file, reference->line, "%s holds no private key OpenSSL can read "
                                                                     "(%s)", reference->path,
                            openssl_reason(reason, sizeof(reason)));
        ERR_clear_error();
    }
    return key;
}

/* Apache warns and starts with a certificate outside its validity: a
 * renewal that failed must not take the site down, and clients say why
 * they refuse it. */
static void warn_if_out_of_date(config_parse *parse, SSL_CTX *context, const ssl_file_reference *certificate)
{
    X509 *x509 = SSL_CTX_get0_certificate(context);  /* the one just loaded */
    if (!x509)
        return;
    const ASN1_TIME *not_after = X509_get0_notAfter(x509);
    const ASN1_TIME *not_before = X509_get0_notBefore(x509);
    bool expired = X509_cmp_current_time(not_after) < 0;
    bool early = !expired && X509_cmp_current_time(not_before) > 0;
    if (!expired && !early)
        return;
    char when[64] = "?";
    BIO *text = BIO_new(BIO_s_mem());
    if (text && ASN1_TIME_print(text, expired ? not_after : not_before) == 1) {
        int length = BIO_read(text, when, (int)sizeof(when) - 1);
        when[length > 0 ? length : 0] = '\0';
    }
    BIO_free(text);
    ERR_clear_error();
    config_warning_at(parse, certificate->file, certificate->line,
                      expired ? "the certificate in %s expired on %s; clients will refuse it"
                              : "the certificate in %s is not valid before %s; clients will refuse it",
                      certificate->path, when);
}

static bool load_pair(config_parse *parse, const server_config *main, const server_config *server, SSL_CTX *context,
                      const ssl_file_reference *certificate, const ssl_file_reference *key_reference)
{
    char reason[256];
    if (access(certificate->path, R_OK) != 0)
        return config_error_at(parse, certificate->file, certificate->line, "cannot read certificate file %s: %s",
                               certificate->path, strerror(errno)), false;
    if (SSL_CTX_use_certificate_chain_file(context, certificate->path) != 1)
        return config_error_at(parse, certificate->file, certificate->line,
                               "%s holds no certificate OpenSSL can read (%s)", certificate->path,
                               openssl_reason(reason, sizeof(reason))), false;
    warn_if_out_of_date(parse, context, certificate);
    /* Apache 2.4.8+: without SSLCertificateKeyFile the key is in the
     * certificate's file. */
    const ssl_file_reference *from = key_reference ? key_reference : certificate;
    EVP_PKEY *key = load_key(parse, main, server, from, key_type_name(context));
    if (!key)
        return false;
    bool good = SSL_CTX_use_PrivateKey(context, key) == 1 && SSL_CTX_check_private_key(context) == 1;
    EVP_PKEY_free(key);
    if (!good) {
        ERR_clear_error();
        config_error_at(parse, from->file, from->line, "the private key in %s does not match the certificate in %s",
                        from->path, certificate->path);
    }
    return good;
}

static bool apply_protocols(SSL_CTX *context, unsigned bits)
{
    static const struct {
        unsigned bit;
        int version;
        uint64_t disable;
    } table[] = {
        { SSL_PROTOCOL_TLS1, TLS1_VERSION, SSL_OP_NO_TLSv1 },
        { SSL_PROTOCOL_TLS1_1, TLS1_1_VERSION, SSL_OP_NO_TLSv1_1 },
        { SSL_PROTOCOL_TLS1_2, TLS1_2_VERSION, SSL_OP_NO_TLSv1_2 },
        { SSL_PROTOCOL_TLS1_3, TLS1_3_VERSION, SSL_OP_NO_TLSv1_3 },
    };
    int lowest = 0, highest = 0;
    for (size_t i = 0; i < COUNT_OF(table); i++) {
        if (bits & table[i].bit) {
            if (!lowest)
                lowest = table[i].version;
            highest = table[i].version;
        }
    }
    /* A hole in the range (TLSv1 and TLSv1.2 without 1.1) needs the old
     * per-version options inside it. */
    for (size_t i = 0; i < COUNT_OF(table); i++)
        if (!(bits & table[i].bit) && table[i].version > lowest && table[i].version < highest)
            SSL_CTX_set_options(context, table[i].disable);
    /* TLS 1.0 and 1.1 also need "@SECLEVEL=0" in SSLCipherSuite, as with
     * Apache on OpenSSL 3: the security level is not lowered behind the
     * administrator's back ("all -SSLv3" then means TLS 1.2 and 1.3). */
    return SSL_CTX_set_min_proto_version(context, lowest) == 1 && SSL_CTX_set_max_proto_version(context, highest) == 1;
}

/* mod_ssl's SSLVerifyDepth counts the certificates above the client's,
 * the trusted CA included: depth 1 accepts a certificate its CA signed
 * directly, not one below an intermediate.  OpenSSL's own limit does not
 * count the trust anchor (one more), so the depth is checked here, as
 * mod_ssl's verify callback does. */
static bool chain_too_long(X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    int depth = ssl ? SSL_get_verify_depth(ssl) : -1;
    if (depth < 0 || X509_STORE_CTX_get_error_depth(store) <= depth)
        return false;
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_CHAIN_TOO_LONG);
    return true;
}

static int verify_client(int good, X509_STORE_CTX *store)
{
    return good && !chain_too_long(store);
}

/* optional_no_ca: a certificate of an unknown CA passes (the application
 * looks at SSL_CLIENT_VERIFY); any other failure (expired, bad signature)
 * still ends the handshake, as in mod_ssl. */
static int verify_client_unknown_issuers(int good, X509_STORE_CTX *store)
{
    if (chain_too_long(store))
        return 0;
    switch (X509_STORE_CTX_get_error(store)) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
        return 1;
    default:
        return good;
    }
}

static bool apply_conf_commands(config_parse *parse, SSL_CTX *context, const ssl_conf_command_list *commands)
{
    if (!commands->count)
        return true;
    SSL_CONF_CTX *conf = SSL_CONF_CTX_new();
    SSL_CONF_CTX_set_flags(conf, SSL_CONF_FLAG_FILE | SSL_CONF_FLAG_SERVER | SSL_CONF_FLAG_CERTIFICATE |
                                     SSL_CONF_FLAG_SHOW_ERRORS);
    SSL_CONF_CTX_set_ssl_ctx(conf, context);
    bool good = true;
    for (int i = 0; i < commands->count; i++) {
        const ssl_conf_command *command = &commands->items[i];
        if (SSL_CONF_cmd(conf, command->name, command->value) <= 0) {
            char reason[256];
            config_error_at(parse, command->file, command->line, "SSLOpenSSLConfCmd %s '%s' failed: %s",
                            command->name, command->value, openssl_reason(reason, sizeof(reason)));
            good = false;
        }
    }
    if (good && SSL_CONF_CTX_finish(conf) != 1) {
        char reason[256];
        config_error_at(parse, commands->items[0].file, commands->items[0].line, "SSLOpenSSLConfCmd: %s",
                        openssl_reason(reason, sizeof(reason)));
        good = false;
    }
    SSL_CONF_CTX_free(conf);
    return good;
}

/* The context's final cipher lists as texts, once, so that a connection
 * moved to this server by SNI gets them without rebuilding them. */
static void record_cipher_lists(pool *p, ssl_server_config *config, SSL_CTX *context)
{
    buffer tls12 = { 0 }, tls13 = { 0 };
    STACK_OF(SSL_CIPHER) *ciphers = SSL_CTX_get_ciphers(context);
    for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); i++) {
        const SSL_CIPHER *cipher = sk_SSL_CIPHER_value(ciphers, i);
        buffer *list = strcmp(SSL_CIPHER_get_version(cipher), "TLSv1.3") == 0 ? &tls13 : &tls12;
        if (list->length)
            buffer_append(list, ":", 1);
        buffer_append_string(list, SSL_CIPHER_get_name(cipher));
    }
    config->cipher_list = tls12.length ? pool_strndup(p, tls12.data, tls12.length) : NULL;
    config->cipher_suites = pool_strndup(p, tls13.data ? tls13.data : "", tls13.length);
    buffer_free(&tls12);
    buffer_free(&tls13);
}

int ssl_build_context(config_parse *parse, const server_config *main, server_config *server)
{
    ssl_server_config *config = module_server_config(server, &ssl_module);
    config->context = NULL;
    if (!config->engine.on)
        return WEFT_OK;
    const ssl_engine_setting *where = &config->engine;
    if (config->certificates.count == 0)
        return config_error_at(parse, where->file, where->line,
                               "SSLEngine is on but no SSLCertificateFile is set for this server");
    if (config->keys.count > config->certificates.count)
        return config_error_at(parse, config->keys.items[config->certificates.count].file,
                               config->keys.items[config->certificates.count].line,
                               "SSLCertificateKeyFile without an SSLCertificateFile to pair with");

    SSL_CTX *context = SSL_CTX_new(TLS_server_method());
    if (!context) {
        char reason[256];
        return config_error_at(parse, where->file, where->line, "cannot create a TLS context: %s",
                               openssl_reason(reason, sizeof(reason)));
    }
    pool_cleanup_add(config_pool(parse), free_context, context);
    bool good = true;

    /* RELEASE_BUFFERS: an idle keep-alive connection holds no record
     * buffers.  Partial writes with a moving buffer: the connection layer
     * retries a write from its own vectors, not from one fixed pointer. */
    SSL_CTX_set_mode(context, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* IGNORE_UNEXPECTED_EOF: most clients close without close_notify; that
     * is an end of stream, not an error to log. */
    SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                                     (config->compression ? 0 : SSL_OP_NO_COMPRESSION) |
                                     (config->honor_cipher_order ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0));
    if (!apply_protocols(context, config->protocols ? config->protocols : SSL_PROTOCOL_TLS1_2 | SSL_PROTOCOL_TLS1_3))
        good = false;
    SSL_CTX_set_cipher_list(context, config->ciphers.tls12 ? config->ciphers.tls12 : INTERMEDIATE_CIPHERS);
    if (config->ciphers.tls13)
        SSL_CTX_set_ciphersuites(context, config->ciphers.tls13);
    SSL_CTX_set1_groups_list(context, INTERMEDIATE_GROUPS);
    SSL_CTX_set_dh_auto(context, 1);
    ERR_clear_error();

    for (int i = 0; i < config->certificates.count; i++)
        if (!load_pair(parse, main, server, context, &config->certificates.items[i],
                       i < config->keys.count ? &config->keys.items[i] : NULL))
            good = false;

    if (config->chain.path) {
        STACK_OF(X509_INFO) *infos = NULL;
        BIO *file = BIO_new_file(config->chain.path, "r");
        if (file)
            infos = PEM_X509_INFO_read_bio(file, NULL, NULL, NULL);
        BIO_free(file);
        if (!infos || sk_X509_INFO_num(infos) == 0) {
            config_error_at(parse, config->chain.file, config->chain.line,
                            "SSLCertificateChainFile %s holds no certificate", config->chain.path);
            good = false;
        } else {
            for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
                X509_INFO *info = sk_X509_INFO_value(infos, i);
                if (info->x509 && SSL_CTX_add_extra_chain_cert(context, info->x509) == 1)
                    info->x509 = NULL;  /* the context owns it now */
            }
        }
        sk_X509_INFO_pop_free(infos, X509_INFO_free);
        ERR_clear_error();
    }

    if (config->ca_file.path || config->ca_path.path) {
        if (SSL_CTX_load_verify_locations(context, config->ca_file.path, config->ca_path.path) != 1) {
            const ssl_file_reference *ca = config->ca_file.path ? &config->ca_file : &config->ca_path;
            char reason[256];
            config_error_at(parse, ca->file, ca->line, "cannot load the CA certificates from %s: %s", ca->path,
                            openssl_reason(reason, sizeof(reason)));
            good = false;
        } else {
            /* The names sent in the certificate request: mod_ssl takes
             * them from both the file and the directory. */
            STACK_OF(X509_NAME) *names = config->ca_file.path ? SSL_load_client_CA_file(config->ca_file.path) : NULL;
            if (!names)
                names = sk_X509_NAME_new_null();
            if (names && config->ca_path.path)
                SSL_add_dir_cert_subjects_to_stack(names, config->ca_path.path);
            if (names && sk_X509_NAME_num(names) > 0)
                SSL_CTX_set_client_CA_list(context, names);
            else
                sk_X509_NAME_pop_free(names, X509_NAME_free);
            ERR_clear_error();
        }
    }
    if (config->verify_client != SSL_VERIFY_CLIENT_NONE) {
        if (config->verify_client != SSL_VERIFY_CLIENT_OPTIONAL_NO_CA && !config->ca_file.path &&
            !config->ca_path.path) {
            config_error_at(parse, where->file, where->line,
                            "SSLVerifyClient %s needs SSLCACertificateFile or SSLCACertificatePath",
                            config->verify_client == SSL_VERIFY_CLIENT_REQUIRE ? "require" : "optional");
            good = false;
        }
        int mode = SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE;
        if (config->verify_client == SSL_VERIFY_CLIENT_REQUIRE)
            mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(context, mode, config->verify_client == SSL_VERIFY_CLIENT_OPTIONAL_NO_CA
                                              ? verify_client_unknown_issuers : verify_client);
        /* Read back by the callbacks, which enforce Apache's meaning. */
        SSL_CTX_set_verify_depth(context, config->verify_depth);
    }

    /* Sessions of one server resume only there: the context id is the
     * server's name and its place in the configuration, which a graceful
     * restart keeps (a ticket issued before it still resumes after). */
    int place = -1;
    for (int i = 0; i < vhost_count(main); i++)
        if (vhost_server(main, i) == server)
            place = i;
    char id[SSL_MAX_SID_CTX_LENGTH + 1];
    snprintf(id, sizeof(id), "%.24s#%d", server->server_name ? server->server_name : "weft", place);
    SSL_CTX_set_session_id_context(context, (const unsigned char *)id, (unsigned)strlen(id));

    if (!apply_conf_commands(parse, context, &config->conf_commands))
        good = false;
    record_cipher_lists(config_pool(parse), config, context);
    ssl_io_prepare_context(context);
    if (!good)
        return WEFT_ERROR;
    config->context = context;
    return WEFT_OK;
}

/* ---- the module ------------------------------------------------------------------- */

static int ssl_post_config(config_parse *parse, server_config *server)
{
    return ssl_build_context(parse, server, server);
}

/* A vhost that changed nothing of TLS shares the main server's context;
 * one that set anything (an SSLEngine of its own, another certificate)
 * gets its own, built from what it inherited plus what it set. */
static int ssl_vhost_config(config_parse *parse, const server_config *main, server_config *vhost)
{
    const ssl_server_config *inherited = ssl_settings(main);
    ssl_server_config *own = module_server_config(vhost, &ssl_module);
    ssl_server_config compare = *own;
    compare.context = inherited->context;
    if (memcmp(&compare, inherited, sizeof(compare)) == 0)
        return WEFT_OK;
    return ssl_build_context(parse, main, vhost);
}

SSL_CTX *ssl_server_context(const server_config *server)
{
    return ssl_settings(server)->context;
}

/* ---- weft -D DUMP_CONFIG ------------------------------------------------------------ */

static const void *row_field(const config_directive *d, const void *base)
{
    return (const char *)base + d->offset;
}

static void format_engine(FILE *out, const config_directive *d, const void *base)
{
    const ssl_engine_setting *engine = row_field(d, base);
    const char *word = engine->on ? "On" : "Off";
    config_dump_line(out, d, 1, &word);
}

static void format_file_list(FILE *out, const config_directive *d, const void *base)
{
    const ssl_file_list *list = row_field(d, base);
    for (int i = 0; i < list->count; i++)
        config_dump_line(out, d, 1, &list->items[i].path);
}

static void format_file(FILE *out, const config_directive *d, const void *base)
{
    const ssl_file_reference *reference = row_field(d, base);
    if (reference->path)
        config_dump_line(out, d, 1, &reference->path);
}

static void format_verify_client(FILE *out, const config_directive *d, const void *base)
{
    static const char *const names[] = { "none", "optional", "require", "optional_no_ca" };
    int value = *(const int *)row_field(d, base);
    const char *word = value >= 0 && (size_t)value < COUNT_OF(names) ? names[value] : "none";
    config_dump_line(out, d, 1, &word);
}

static void format_protocol(FILE *out, const config_directive *d, const void *base)
{
    static const char *const names[] = { "+TLSv1", "+TLSv1.1", "+TLSv1.2", "+TLSv1.3" };
    unsigned bits = *(const unsigned *)row_field(d, base);
    const char *words[5] = { "-all" };
    int count = 1;
    for (size_t i = 0; i < COUNT_OF(names); i++)
        if (bits & (1u << i))
            words[count++] = names[i];
    config_dump_line(out, d, count, words);
}

static void format_cipher_suite(FILE *out, const config_directive *d, const void *base)
{
    const ssl_cipher_setting *setting = row_field(d, base);
    const char *tls12 = setting->tls12 ? setting->tls12 : INTERMEDIATE_CIPHERS;
    config_dump_line(out, d, 1, &tls12);
    if (setting->tls13) {
        const char *words[2] = { "TLSv1.3", setting->tls13 };
        config_dump_line(out, d, 2, words);
    }
}

static void format_conf_commands(FILE *out, const config_directive *d, const void *base)
{
    const ssl_conf_command_list *list = row_field(d, base);
    for (int i = 0; i < list->count; i++) {
        const char *words[2] = { list->items[i].name, list->items[i].value };
        config_dump_line(out, d, 2, words);
    }
}

static void format_nothing(FILE *out, const config_directive *d, const void *base)
{
}

#define SERVER_FIELD(field) .scope = SCOPE_SERVER, .offset = offsetof(ssl_server_config, field), \
                            .size = sizeof(((ssl_server_config *)0)->field)

static const config_directive ssl_directives[] = {
    { .name = "SSLEngine", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(engine), .min_args = 1,
      .max_args = 1, .set = set_engine, .syntax = "On|Off",
      .format = format_engine,
      .help = "serve this server's connections over TLS (its Listen may also say https)" },
    { .name = "SSLCertificateFile", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(certificates),
      .min_args = 1, .max_args = 1, .set = set_file_list, .syntax = "file",
      .format = format_file_list,
      .help = "a PEM certificate, followed by its chain; repeat for another key type (RSA and ECDSA side by "
              "side: each client gets the one it supports)" },
    { .name = "SSLCertificateKeyFile", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(keys), .min_args = 1,
      .max_args = 1, .set = set_file_list, .syntax = "file",
      .format = format_file_list,
      .help = "the private key of the SSLCertificateFile at the same position (omitted: the key is in the "
              "certificate's file); read by the control process as root" },
    { .name = "SSLCertificateChainFile", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(chain), .min_args = 1,
      .max_args = 1, .set = set_file, .syntax = "file",
      .format = format_file,
      .help = "intermediate CA certificates sent after a certificate whose file has no chain (obsolete: put "
              "the chain in SSLCertificateFile)" },
    { .name = "SSLCACertificateFile", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(ca_file),
      .min_args = 1, .max_args = 1, .set = set_file, .syntax = "file",
      .format = format_file,
      .help = "CA certificates that client certificates are verified against; their names are sent to "
              "clients" },
    { .name = "SSLCACertificatePath", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(ca_path),
      .min_args = 1, .max_args = 1, .set = set_file, .syntax = "directory",
      .format = format_file,
      .help = "a directory of hashed CA certificates (c_rehash) for verifying client certificates" },
    { .name = "SSLVerifyClient", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(verify_client),
      .min_args = 1, .max_args = 1, .set = set_verify_client, .default_value = "none",
      .syntax = "none|optional|require|optional_no_ca",
      .format = format_verify_client,
      .help = "ask the client for a certificate during the handshake (server and virtual host level)" },
    { .name = "SSLVerifyDepth", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(verify_depth),
      .min_args = 1, .max_args = 1, .set = config_set_integer, .default_value = "1", .syntax = "number",
      .help = "how far a client certificate may be from a trusted CA: 0 self-signed only, 1 signed by a "
              "trusted CA, 2 with one intermediate CA between, ..." },
    { .name = "SSLProtocol", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(protocols), .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_protocol, .default_value = "-all +TLSv1.2 +TLSv1.3",
      .syntax = "[+|-]protocol ...", .format = format_protocol,
      .help = "the TLS versions offered (all, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)" },
    { .name = "SSLCipherSuite", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(ciphers), .min_args = 1,
      .max_args = 2, .set = set_cipher_suite, .syntax = "[SSL|TLSv1.3] cipher-spec",
      .format = format_cipher_suite,
      .help = "OpenSSL cipher list for TLS 1.2 and below (default: Mozilla's intermediate profile), or with "
              "TLSv1.3 first, the TLS 1.3 cipher suites" },
    { .name = "SSLHonorCipherOrder", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(honor_cipher_order),
      .min_args = 1, .max_args = 1, .set = config_set_flag, .default_value = "Off", .syntax = "On|Off",
      .help = "On: the server's cipher order wins over the client's" },
    { .name = "SSLCompression", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(compression), .min_args = 1,
      .max_args = 1, .set = config_set_flag, .default_value = "Off", .syntax = "On|Off",
      .help = "TLS-level compression (CRIME); Debian's OpenSSL has none, so On changes nothing" },
    { .name = "SSLStrictSNIVHostCheck", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(strict_sni),
      .min_args = 1, .max_args = 1, .set = config_set_flag, .default_value = "Off", .syntax = "On|Off",
      .help = "On: a client that sends no SNI is refused (403) by a name-based virtual host" },
    { .name = "SSLOpenSSLConfCmd", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(conf_commands),
      .min_args = 2, .max_args = 2, .set = set_conf_command, .syntax = "command value",
      .format = format_conf_commands,
      .help = "an OpenSSL SSL_CONF command applied to the context last (Curves, Options, ...)" },
    { .name = "SSLPassPhraseDialog", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(pass_phrase_dialog),
      .min_args = 1, .max_args = 1, .set = set_pass_phrase_dialog, .default_value = "builtin",
      .syntax = "builtin|exec:/path",
      .format = config_format_string,
      .help = "how an encrypted key's pass phrase is had: asked on the terminal (builtin), or printed by a "
              "program called with server:port and the key type" },
    { .name = "SSLRandomSeed", .contexts = CONTEXT_SERVER_ONLY, .scope = SCOPE_SERVER, .min_args = 2,
      .max_args = 3, .set = set_random_seed, .syntax = "startup|connect source [bytes]",
      .format = format_nothing,
      .help = "accepted for Apache's files; OpenSSL seeds itself from the kernel" },
    { .name = NULL },
};
#undef SERVER_FIELD

const module ssl_module = {
    .name = "ssl",
    .directives = ssl_directives,
    .server_config_size = sizeof(ssl_server_config),
    .post_config = ssl_post_config,
    .vhost_config = ssl_vhost_config,
    .config_complete = ssl_config_complete,
    .connection_open = ssl_connection_open,
    .post_read = ssl_post_read,
};
