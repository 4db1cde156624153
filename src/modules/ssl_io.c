/*
 * ssl_io.c — TLS under a connection: the connection_io the HTTP layer reads
 * and writes through (http/request.h), driven by the child's event loop.
 *
 * Nothing here blocks.  The handshake runs inside the first read: when
 * OpenSSL needs bytes it has not got, the read says EAGAIN and the
 * connection parks in epoll like any other; when it must send first
 * (its flight did not fit the socket buffer), io_wants asks the event loop
 * to watch for output too.  A read goes on until OpenSSL reports that the
 * socket is empty or the caller's buffer is full, so that a short read
 * means what it means on a plain socket (connection.h: read_ready): the
 * socket holds nothing more, and the next bytes raise an edge.
 *
 * A write keeps OpenSSL's rule that a write that would block is retried
 * with the same bytes: the HTTP layer retries from the same vectors, so
 * the length of the refused record is all we need to remember.
 */
#include "ssl_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "../core/log.h"
#include "../core/network.h"
#include "../core/vhost.h"
#include "../http/connection.h"
#include "../http/response.h"

#define RECORD_SIZE 16384

typedef struct {
    SSL *ssl;                      /* first, so that c->io_context is the SSL (ssl.h) */
    const server_config *server;   /* whose certificate the client got */
    bool handshake_done;
    bool first_byte_checked;
    bool plain_http;               /* the client spoke plain HTTP: answered 400 by ssl_post_read */
    bool sni_given;
    int retry_length;              /* a write OpenSSL refused (WANT_WRITE): its length */
} tls_state;

/* The listeners' decision, made once per configuration (config_complete). */
typedef enum { LISTENER_PLAIN, LISTENER_TLS, LISTENER_BY_ADDRESS } listener_kind;

typedef struct ssl_listener_table {
    listener_kind *kinds;          /* per server->listens index */
    const server_config **defaults; /* LISTENER_TLS: the server whose context a connection starts with */
    int count;
    bool any;                      /* some server has SSLEngine on or some Listen says https */
} listener_table;

static SSL_CTX *context_of(const server_config *server)
{
    return server ? ssl_server_context(server) : NULL;
}

/* ---- reading ------------------------------------------------------------------ */

/* Translates an OpenSSL result into the socket convention: sets errno and
 * io_wants, returns -1 or 0 (end of stream). */
static ssize_t blocked_or_failed(connection *c, tls_state *state, int result, const char *what)
{
    int error = SSL_get_error(state->ssl, result);
    switch (error) {
    case SSL_ERROR_WANT_READ:
        c->io_wants = 0;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        c->io_wants = CONNECTION_IO_WANTS_WRITE;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        return 0;  /* close_notify */
    case SSL_ERROR_SYSCALL:
        if (errno == 0 || errno == EAGAIN)
            errno = ECONNRESET;  /* the peer went away without close_notify */
        ERR_clear_error();
        return -1;
    default: {
        unsigned long code = ERR_peek_last_error();
        const char *reason = code ? ERR_reason_error_string(code) : NULL;
        log_message(LOG_LEVEL_INFO, "TLS %s with %s failed: %s", what, c->peer_address,
                    reason ? reason : "protocol error");
        ERR_clear_error();
        errno = ECONNRESET;
        return -1;
    }
    }
}

/* The first bytes of a TLS connection are a handshake record (0x16).  A
 * letter is a plain HTTP request: it is served as such, for Apache's 400. */
static int check_first_byte(connection *c, tls_state *state)
{
    unsigned char first;
    ssize_t got = recv(c->fd, &first, 1, MSG_PEEK);
    if (got <= 0)
        return (int)got;
    state->first_byte_checked = true;
    if (first >= 'A' && first <= 'Z')
        state->plain_http = true;
    return 1;
}

static ssize_t tls_read(connection *c, void *data, size_t length)
{
    tls_state *state = c->io_context;
    if (!state->first_byte_checked) {
        int checked = check_first_byte(c, state);
        if (checked <= 0)
            return checked;
    }
    if (state->plain_http)
        return connection_plain_io.read(c, data, length);
    if (!state->handshake_done) {
        ERR_clear_error();
        int result = SSL_do_handshake(state->ssl);
        if (result != 1)
            return blocked_or_failed(c, state, result, "handshake");
        state->handshake_done = true;
        c->io_wants = 0;
    }
    size_t got = 0;
    while (got < length) {
        ERR_clear_error();
        int chunk = length - got > INT32_MAX ? INT32_MAX : (int)(length - got);
        int result = SSL_read(state->ssl, (char *)data + got, chunk);
        if (result > 0) {
            got += (size_t)result;
            continue;
        }
        if (got > 0) {
            /* Keep the reason for the next call: the socket is drained
             * (a short read is then right), or the stream ended. */
            int error = SSL_get_error(state->ssl, result);
            if (error == SSL_ERROR_WANT_WRITE)
                c->io_wants = CONNECTION_IO_WANTS_WRITE;
            ERR_clear_error();
            return (ssize_t)got;
        }
        return blocked_or_failed(c, state, result, "read");
    }
    c->io_wants = 0;
    return (ssize_t)got;
}

static size_t tls_pending(const connection *c)
{
    const tls_state *state = c->io_context;
    if (state->plain_http || !state->handshake_done)
        return 0;
    return SSL_has_pending(state->ssl) ? 1 : 0;
}

/* ---- writing ------------------------------------------------------------------ */

/* Up to `wanted` bytes of the vectors starting at byte `skip`, contiguous:
 * a pointer into the vector when one holds them all, else up to
 * GATHER_SIZE bytes copied (a response head with the start of its body
 * leave in one record; large bodies are contiguous and go uncopied).  The
 * result depends only on the arguments, so a retried write gets the same
 * bytes again. */
#define GATHER_SIZE 4096

static const char *gather(const struct iovec *vectors, int count, size_t skip, size_t wanted, char *scratch,
                          size_t *gathered)
{
    int index = 0;
    while (index < count && skip >= vectors[index].iov_len) {
        skip -= vectors[index].iov_len;
        index++;
    }
    if (index == count) {
        *gathered = 0;
        return scratch;
    }
    if (vectors[index].iov_len - skip >= wanted) {
        *gathered = wanted;
        return (const char *)vectors[index].iov_base + skip;
    }
    size_t have = 0;
    if (wanted > GATHER_SIZE)
        wanted = GATHER_SIZE;
    for (; index < count && have < wanted; index++, skip = 0) {
        size_t take = vectors[index].iov_len - skip;
        if (take > wanted - have)
            take = wanted - have;
        memcpy(scratch + have, (const char *)vectors[index].iov_base + skip, take);
        have += take;
    }
    *gathered = have;
    return scratch;
}

static ssize_t tls_writev(connection *c, const struct iovec *vectors, int count, bool more_follows)
{
    tls_state *state = c->io_context;
    if (state->plain_http)
        return connection_plain_io.writev(c, vectors, count, more_follows);
    size_t total = 0;
    for (int i = 0; i < count; i++)
        total += vectors[i].iov_len;
    /* On the stack, not in thread-local storage: every thread of every
     * child would carry it, TLS or not (docs/mpm.md: idle memory). */
    char scratch[GATHER_SIZE];
    size_t written = 0;
    while (written < total) {
        /* After a refused write, the same bytes again (OpenSSL has the
         * record already encrypted); otherwise a full record at most. */
        size_t wanted = state->retry_length ? (size_t)state->retry_length : total - written;
        if (wanted > RECORD_SIZE)
            wanted = RECORD_SIZE;
        size_t gathered;
        const char *data = gather(vectors, count, written, wanted, scratch, &gathered);
        if (!gathered)
            break;
        ERR_clear_error();
        int result = SSL_write(state->ssl, data, (int)gathered);
        if (result > 0) {
            state->retry_length = 0;
            written += (size_t)result;
            continue;
        }
        int error = SSL_get_error(state->ssl, result);
        if (error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ) {
            state->retry_length = (int)gathered;
            c->io_wants = error == SSL_ERROR_WANT_READ ? CONNECTION_IO_WANTS_READ : 0;
            ERR_clear_error();
            if (written)
                return (ssize_t)written;
            errno = EAGAIN;
            return -1;
        }
        if (written)
            return (ssize_t)written;
        /* A write never says 0: the caller would retry it for ever (a
         * client that sent close_notify and left turns EPIPE into
         * SSL_ERROR_ZERO_RETURN, and a worker thread spun on it). */
        ssize_t failed = blocked_or_failed(c, state, result, "write");
        if (failed == 0)
            errno = EPIPE;
        return failed == 0 ? -1 : failed;
    }
    c->io_wants = 0;
    return (ssize_t)written;
}

/* ---- closing ------------------------------------------------------------------ */

static int tls_shutdown(connection *c)
{
    tls_state *state = c->io_context;
    if (state->handshake_done && !state->plain_http) {
        /* close_notify, once; a full socket just loses it (the FIN follows). */
        ERR_clear_error();
        SSL_shutdown(state->ssl);
        ERR_clear_error();
    }
    return shutdown(c->fd, SHUT_WR);
}

static void tls_close(connection *c)
{
    tls_state *state = c->io_context;
    if (state) {
        /* Closed without tls_shutdown (the client had said it was done):
         * close_notify now, else OpenSSL takes the close for a truncation
         * and drops the session from the shared cache (ssl_session.c). */
        if (state->handshake_done && !state->plain_http && !(SSL_get_shutdown(state->ssl) & SSL_SENT_SHUTDOWN)) {
            ERR_clear_error();
            SSL_shutdown(state->ssl);
            ERR_clear_error();
        }
        SSL_free(state->ssl);
        free(state);
        c->io_context = NULL;
    }
    c->io = &connection_plain_io;
    c->io->close(c);
}

static const char *tls_protocol(const connection *c)
{
    const tls_state *state = c->io_context;
    const unsigned char *name;
    unsigned length;
    SSL_get0_alpn_selected(state->ssl, &name, &length);
    if (length == 8 && memcmp(name, "http/1.1", 8) == 0)
        return "http/1.1";
    if (length == 2 && memcmp(name, "h2", 2) == 0)
        return "h2";
    return NULL;
}

static const connection_io tls_io = {
    .read = tls_read,
    .writev = tls_writev,
    .sendfile = NULL,  /* user-space encryption: the HTTP layer copies the file (docs/tls.md: kTLS) */
    .shutdown = tls_shutdown,
    .close = tls_close,
    .pending = tls_pending,
    .protocol = tls_protocol,
    .secure = true,  /* https scheme, HTTPS=on (connection_is_secure) */
};

SSL *ssl_connection_handle(const connection *c)
{
    if (c->io != &tls_io)
        return NULL;
    const tls_state *state = c->io_context;
    return state->plain_http ? NULL : state->ssl;
}

const server_config *ssl_connection_server(const connection *c)
{
    if (c->io != &tls_io)
        return NULL;
    const tls_state *state = c->io_context;
    return state->server;
}

/* ---- SNI and ALPN ------------------------------------------------------------- */

/* Moves the connection to the virtual host the client named, with its
 * certificates and the settings SSL_set_SSL_CTX leaves behind: client
 * verification, options, protocol versions, security level and ciphers
 * (mod_ssl 2.4.42+ with OpenSSL 1.1.1 honours a name-based host's
 * SSLProtocol and SSLCipherSuite the same way).  Idempotent. */
static void adopt_named_server(SSL *ssl, connection *c, tls_state *state, const char *name)
{
    state->sni_given = true;
    const server_config *chosen = vhost_select(c->server, connection_local_address(c), connection_local_port(c),
                                               name, strlen(name));
    SSL_CTX *context = context_of(chosen);
    if (!context)
        return;  /* that vhost speaks no TLS: the listener's default answers */
    state->server = chosen;
    if (context == SSL_get_SSL_CTX(ssl))
        return;
    SSL_set_SSL_CTX(ssl, context);
    SSL_set_verify(ssl, SSL_CTX_get_verify_mode(context), SSL_CTX_get_verify_callback(context));
    SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(context));
    STACK_OF(X509_NAME) *names = SSL_CTX_get_client_CA_list(context);
    SSL_set_client_CA_list(ssl, names ? SSL_dup_CA_list(names) : NULL);
    SSL_clear_options(ssl, SSL_get_options(ssl));
    SSL_set_options(ssl, SSL_CTX_get_options(context));
    SSL_set_min_proto_version(ssl, SSL_CTX_get_min_proto_version(context));
    SSL_set_max_proto_version(ssl, SSL_CTX_get_max_proto_version(context));
    SSL_set_security_level(ssl, SSL_CTX_get_security_level(context));
    const ssl_server_config *settings = ssl_settings(chosen);
    if (settings->cipher_list)
        SSL_set_cipher_list(ssl, settings->cipher_list);
    SSL_set_ciphersuites(ssl, settings->cipher_suites);
    ERR_clear_error();
}

/* The host_name of a ClientHello's server_name extension (RFC 6066: a
 * list of type, 16-bit length, name). */
static bool client_hello_server_name(SSL *ssl, char *out, size_t size)
{
    const unsigned char *data;
    size_t length;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &data, &length) != 1 || length < 2 ||
        (((size_t)data[0] << 8) | data[1]) != length - 2)
        return false;
    for (size_t at = 2; at + 3 <= length;) {
        unsigned type = data[at];
        size_t name_length = ((size_t)data[at + 1] << 8) | data[at + 2];
        at += 3;
        if (name_length > length - at)
            return false;
        if (type == TLSEXT_NAMETYPE_host_name) {
            if (name_length == 0 || name_length >= size || memchr(data + at, '\0', name_length))
                return false;
            memcpy(out, data + at, name_length);
            out[name_length] = '\0';
            return true;
        }
        at += name_length;
    }
    return false;
}

/* The virtual host is chosen from the ClientHello, before OpenSSL picks the
 * protocol version (the servername callback comes after it). */
static int on_client_hello(SSL *ssl, int *alert, void *unused)
{
    connection *c = SSL_get_app_data(ssl);
    tls_state *state = c ? c->io_context : NULL;
    char name[256];
    if (state && client_hello_server_name(ssl, name, sizeof(name)))
        adopt_named_server(ssl, c, state, name);
    return SSL_CLIENT_HELLO_SUCCESS;
}

/* Acknowledges the name (and records it in the session); the move to its
 * virtual host was made by on_client_hello, which saw the same name. */
static int on_server_name(SSL *ssl, int *alert, void *unused)
{
    connection *c = SSL_get_app_data(ssl);
    tls_state *state = c ? c->io_context : NULL;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!state || !name || !*name)
        return SSL_TLSEXT_ERR_NOACK;
    if (!state->sni_given)  /* on_client_hello could not read the name */
        adopt_named_server(ssl, c, state, name);
    return SSL_TLSEXT_ERR_OK;
}

static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *out_length, const unsigned char *in,
                   unsigned in_length, void *unused)
{
    /* HTTP/1.1 only until a module provides "h2" (module.h: protocol). */
    for (unsigned at = 0; at < in_length;) {
        unsigned length = in[at];
        if (at + 1 + length > in_length)
            break;
        if (length == 8 && memcmp(in + at + 1, "http/1.1", 8) == 0) {
            *out = in + at + 1;
            *out_length = (unsigned char)length;
            return SSL_TLSEXT_ERR_OK;
        }
        at += 1 + length;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

void ssl_io_prepare_context(SSL_CTX *context)
{
    SSL_CTX_set_client_hello_cb(context, on_client_hello, NULL);
    SSL_CTX_set_tlsext_servername_callback(context, on_server_name);
    SSL_CTX_set_alpn_select_cb(context, on_alpn, NULL);
}

/* ---- listeners ------------------------------------------------------------------ */

static bool address_is_wildcard(const listen_address *listen)
{
    if (listen->address.ss_family == AF_INET)
        return ((const struct sockaddr_in *)&listen->address)->sin_addr.s_addr == htonl(INADDR_ANY);
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&listen->address;
    return memcmp(&v6->sin6_addr, &in6addr_any, sizeof(in6addr_any)) == 0;
}

/* Which listeners speak TLS: "Listen ... https", or the server a
 * connection there gets by address and port (Apache's IP-based choice,
 * before any Host) has SSLEngine on.  A wildcard listener whose vhosts
 * disagree decides per connection, by its local address. */
int ssl_config_complete(config_parse *parse, server_config *main)
{
    pool *p = config_pool(parse);
    listener_table *table = pool_calloc(p, sizeof(*table));
    table->count = main->listen_count;
    table->kinds = pool_calloc(p, sizeof(*table->kinds) * (size_t)(table->count + 1));
    table->defaults = pool_calloc(p, sizeof(*table->defaults) * (size_t)(table->count + 1));
    bool some_vhost_tls = false, some_vhost_plain = !context_of(main);
    for (int i = 0; i < vhost_count(main); i++) {
        if (context_of(vhost_server(main, i)))
            some_vhost_tls = true;
        else
            some_vhost_plain = true;
    }
    for (int i = 0; i < table->count; i++) {
        const listen_address *listen = &main->listens[i];
        char text[INET6_ADDRSTRLEN];
        int port;
        ip_address_text(&listen->address, text, sizeof(text), &port);
        bool wildcard = address_is_wildcard(listen);
        const server_config *chosen = vhost_select(main, wildcard ? NULL : text, port, NULL, 0);
        bool tls = context_of(chosen) != NULL;
        if (listen->https && !tls) {
            /* Apache: an https listener whose server has no certificate is
             * a startup error; the first server with one stands in. */
            const server_config *with_context = context_of(main) ? main : NULL;
            for (int v = 0; !with_context && v < vhost_count(main); v++)
                if (context_of(vhost_server(main, v)))
                    with_context = vhost_server(main, v);
            if (!with_context)
                return config_error_at(parse, listen->file, listen->line,
                                       "Listen %s https: no server has SSLEngine on with a certificate",
                                       listen->text);
            chosen = with_context;
            tls = true;
        }
        table->defaults[i] = chosen;
        if (tls)
            table->any = true;
        if (listen->https)
            table->kinds[i] = LISTENER_TLS;
        else if (wildcard && vhost_needs_local_address(main) && (tls ? some_vhost_plain : some_vhost_tls))
            table->kinds[i] = LISTENER_BY_ADDRESS, table->any = table->any || some_vhost_tls;
        else
            table->kinds[i] = tls ? LISTENER_TLS : LISTENER_PLAIN;
    }
    /* Set after the vhosts were copied from main: only main's struct has
     * it, and connections start with the main server. */
    ssl_server_config *settings = module_server_config(main, &ssl_module);
    settings->listeners = table;
    return WEFT_OK;
}

/* ---- a new connection ------------------------------------------------------------ */

int ssl_connection_open(connection *c)
{
    const listener_table *table = ssl_settings(c->server)->listeners;
    if (!table || !table->any || c->listen_index < 0 ||
        c->listen_index >= table->count)
        return WEFT_DECLINED;
    const server_config *server = table->defaults[c->listen_index];
    switch (table->kinds[c->listen_index]) {
    case LISTENER_PLAIN:
        return WEFT_DECLINED;
    case LISTENER_BY_ADDRESS:
        server = vhost_select(c->server, connection_local_address(c), connection_local_port(c), NULL, 0);
        if (!context_of(server))
            return WEFT_DECLINED;
        break;
    case LISTENER_TLS:
        break;
    }
    SSL *ssl = SSL_new(context_of(server));
    tls_state *state = calloc(1, sizeof(*state));
    if (!ssl || !state || SSL_set_fd(ssl, c->fd) != 1) {
        SSL_free(ssl);
        free(state);
        ERR_clear_error();
        log_message(LOG_LEVEL_ERROR, "cannot set up TLS for a connection from %s", c->peer_address);
        return WEFT_ERROR;
    }
    SSL_set_accept_state(ssl);
    SSL_set_app_data(ssl, c);
    state->ssl = ssl;
    state->server = server;
    c->io_context = state;
    c->io = &tls_io;
    return WEFT_OK;
}

/* ---- requests ------------------------------------------------------------------ */

static const char plain_http_explanation[] =
    "Your browser sent a request that this server could not understand.<br />\n"
    "Reason: You're speaking plain HTTP to an SSL-enabled server port.<br />\n"
    " Instead use the HTTPS scheme to access this URL, please.<br />\n";

int ssl_post_read(request *r)
{
    connection *c = r->connection;
    if (!c || c->io != &tls_io)
        return WEFT_DECLINED;
    const tls_state *state = c->io_context;
    if (state->plain_http) {
        /* The connection decides keep-alive after the request's hooks
         * (connection.c: prepare_response), from close_after_response:
         * r->keep_alive alone would be overwritten and the connection
         * stay open, unlike Apache's, which closes. */
        c->close_after_response = true;
        response_set_error_explained(r, 400, plain_http_explanation);
        return WEFT_DONE;
    }
    /* The certificate was chosen by SNI, the virtual host by Host: a
     * request for a host whose TLS settings differ from the ones the
     * handshake used went to the wrong place (mod_ssl: 421). */
    if (state->sni_given && r->server != state->server && context_of(r->server) &&
        context_of(r->server) != context_of(state->server))
        return 421;
    /* mod_ssl looks at both: the server the handshake used (a client
     * without SNI must not reach a name-based host behind a strict
     * default) and the one the request is for. */
    if (!state->sni_given && r->server != c->server &&
        (ssl_settings(r->server)->strict_sni || (state->server && ssl_settings(state->server)->strict_sni))) {
        log_message(LOG_LEVEL_INFO, "%s: no host name was sent by SNI, and SSLStrictSNIVHostCheck is on",
                    c->peer_address);
        return 403;
    }
    /* A resumed session carries the client certificate of the handshake
     * that made it, for the server it was made for.  Whatever path led
     * here (a session made on another virtual host of this port), a
     * server that requires a certificate gets a verified one or refuses,
     * as mod_ssl re-checks on every request. */
    if (context_of(r->server) && ssl_settings(r->server)->verify_client == SSL_VERIFY_CLIENT_REQUIRE) {
        X509 *peer = SSL_get0_peer_certificate(state->ssl);
        if (!peer || SSL_get_verify_result(state->ssl) != X509_V_OK) {
            log_message(LOG_LEVEL_INFO, "%s: %s requires a verified client certificate and this TLS session has "
                                        "none", c->peer_address, r->server->server_name ? r->server->server_name : "the server");
            return 403;
        }
    }
    return WEFT_DECLINED;
}
