/*
 * ssl_stapling_fetch.c — the background side of OCSP stapling: one thread
 * per child asks the responders (OpenSSL's HTTP client, bounded by
 * SSLStaplingResponderTimeout), checks what they answer and stores it in
 * the shared region.  A slot's lease makes one child fetch for all; a
 * child that dies while fetching only delays the next fetch until its
 * lease runs out.
 */
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/http.h>

#include "../core/log.h"
#include "ssl_stapling.h"

#define LEASE_MARGIN 5          /* seconds a lease outlives the responder timeout */
#define RECHECK_SECONDS 60      /* the thread looks at every slot at least this often */
#define REFRESH_MARGIN 300      /* refresh this long before nextUpdate (or halfway there) */

static int64_t unix_time(const ASN1_GENERALIZEDTIME *when)
{
    struct tm parts;
    if (!when || !ASN1_TIME_to_tm(when, &parts))
        return 0;
    return (int64_t)timegm(&parts);
}

static void openssl_reason(const char *what, char *reason, size_t size)
{
    unsigned long error = ERR_peek_last_error();
    char detail[200] = "";
    if (error)
        ERR_error_string_n(error, detail, sizeof detail);
    snprintf(reason, size, "%s%s%s", what, error ? ": " : "", detail);
    ERR_clear_error();
}

int stapling_check_response(const stapling_cert *cert, const unsigned char *der, long length, int64_t now,
                            int *state, int64_t *valid_until, int64_t *next_update, char *reason,
                            size_t reason_size)
{
    const stapling_server_config *settings = cert->settings;
    const unsigned char *cursor = der;
    OCSP_RESPONSE *response = d2i_OCSP_RESPONSE(NULL, &cursor, length);
    OCSP_BASICRESP *basic = NULL;
    int result = WEFT_ERROR;
    *next_update = 0;
    if (!response || cursor != der + length) {
        openssl_reason("not an OCSP response", reason, reason_size);
        goto done;
    }
    int status = OCSP_response_status(response);
    if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        /* The responder's own error answer (tryLater, unauthorized...):
         * mod_ssl passes it on with SSLStaplingReturnResponderErrors. */
        snprintf(reason, reason_size, "the responder answered '%s'", OCSP_response_status_str(status));
        *state = STAPLING_NOT_GOOD;
        *valid_until = now + settings->error_timeout;
        result = WEFT_OK;
        goto done;
    }
    basic = OCSP_response_get1_basic(response);
    if (!basic) {
        openssl_reason("no basic response", reason, reason_size);
        goto done;
    }
    if (OCSP_basic_verify(basic, cert->untrusted, cert->trusted, 0) <= 0) {
        openssl_reason("the response's signature does not verify against the issuer", reason, reason_size);
        goto done;
    }
    int cert_status, revocation_reason;
    ASN1_GENERALIZEDTIME *revoked_at, *this_update, *next;
    if (!OCSP_resp_find_status(basic, cert->id, &cert_status, &revocation_reason, &revoked_at, &this_update,
                               &next)) {
        snprintf(reason, reason_size, "the response does not cover this certificate");
        goto done;
    }
    if (!OCSP_check_validity(this_update, next, settings->time_skew, settings->max_age)) {
        openssl_reason("the response is not valid now (thisUpdate, nextUpdate or SSLStaplingResponseMaxAge)",
                       reason, reason_size);
        goto done;
    }
    int64_t until = INT64_MAX;
    if (next) {
        *next_update = unix_time(next);
        until = *next_update + settings->time_skew;
    }
    if (settings->max_age >= 0 && unix_time(this_update) + settings->max_age < until)
        until = unix_time(this_update) + settings->max_age;
    /* No nextUpdate ("newer information is always available"): held for
     * two refresh periods, so that one failed refresh does not lose it. */
    if (until == INT64_MAX)
        until = now + 2 * (int64_t)settings->standard_timeout;
    *valid_until = until;
    *state = cert_status == V_OCSP_CERTSTATUS_GOOD ? STAPLING_GOOD : STAPLING_NOT_GOOD;
    snprintf(reason, reason_size, "certificate status %s", OCSP_cert_status_str(cert_status));
    result = WEFT_OK;
done:
    OCSP_BASICRESP_free(basic);
    OCSP_RESPONSE_free(response);
    return result;
}

/* Asks the responder: the DER answer (OPENSSL_malloc'ed) or WEFT_ERROR. */
static int ask_responder(const stapling_cert *cert, size_t room, unsigned char **der, long *length, char *reason,
                         size_t reason_size)
{
    OCSP_REQUEST *request = OCSP_REQUEST_new();
    OCSP_CERTID *id = OCSP_CERTID_dup(cert->id);
    BIO *body = NULL, *answer = NULL;
    int result = WEFT_ERROR;
    if (!request || !id || !OCSP_request_add0_id(request, id)) {
        OCSP_CERTID_free(id);
        openssl_reason("cannot build the request", reason, reason_size);
        goto done;
    }
    body = ASN1_item_i2d_mem_bio(ASN1_ITEM_rptr(OCSP_REQUEST), (const ASN1_VALUE *)request);
    if (!body) {
        openssl_reason("cannot encode the request", reason, reason_size);
        goto done;
    }
    int timeout = cert->settings->responder_timeout > 0 ? cert->settings->responder_timeout : 10;
    /* proxy "": never a proxy from http_proxy, as mod_ssl. */
    answer = OSSL_HTTP_transfer(NULL, cert->host, cert->port, cert->path, 0, "", NULL, NULL, NULL, NULL, NULL, 0,
                                NULL, "application/ocsp-request", body, "application/ocsp-response", 1, room,
                                timeout, 0);
    if (!answer) {
        openssl_reason("no answer", reason, reason_size);
        goto done;
    }
    unsigned char *buffer = OPENSSL_malloc(room);
    size_t used = 0;
    int got;
    while (buffer && used < room && (got = BIO_read(answer, buffer + used, (int)(room - used))) > 0)
        used += (size_t)got;
    if (!buffer || used == 0 || used >= room) {
        OPENSSL_free(buffer);
        snprintf(reason, reason_size, used >= room ? "the response is larger than its SSLStaplingCache share"
                                                   : "an empty response");
        goto done;
    }
    *der = buffer;
    *length = (long)used;
    result = WEFT_OK;
done:
    BIO_free_all(answer);
    BIO_free(body);
    OCSP_REQUEST_free(request);
    ERR_clear_error();
    return result;
}

static int64_t next_refresh(const stapling_server_config *settings, int state, int64_t now, int64_t next_update)
{
    if (state != STAPLING_GOOD)
        return now + settings->error_timeout;
    int64_t when = now + settings->standard_timeout;
    if (next_update > now) {
        int64_t margin = (next_update - now) / 2 < REFRESH_MARGIN ? (next_update - now) / 2 : REFRESH_MARGIN;
        if (next_update - margin < when)
            when = next_update - margin;
    }
    return when > now + LEASE_MARGIN ? when : now + LEASE_MARGIN;
}

int stapling_refresh(stapling_table *table, stapling_cert *cert, int64_t now)
{
    const stapling_server_config *settings = cert->settings;
    stapling_slot *slot = stapling_slot_at(table->region, cert->slot);
    size_t room = table->region->slot_size - sizeof(stapling_slot);
    char reason[400] = "";
    unsigned char *der = NULL;
    long length = 0;
    int state = STAPLING_FAILED;
    int64_t valid_until = 0, next_update = 0;
    if (ask_responder(cert, room, &der, &length, reason, sizeof reason) == WEFT_OK &&
        stapling_check_response(cert, der, length, now, &state, &valid_until, &next_update, reason,
                                sizeof reason) != WEFT_OK)
        state = STAPLING_FAILED;
    int64_t done = (int64_t)time(NULL);

    stapling_region_lock(table->region);
    if (state != STAPLING_FAILED) {
        slot->response_length = 0;  /* a copier killed mid-way leaves no half response */
        memcpy(slot->response, der, (size_t)length);
        slot->response_length = (uint32_t)length;
        slot->response_state = state;
        slot->fetched_at = done;
        slot->valid_until = valid_until;
        slot->refresh_at = next_refresh(settings, state, done, next_update);
    } else {
        slot->refresh_at = done + settings->error_timeout;
    }
    slot->state = state;
    slot->lease_until = 0;
    stapling_region_unlock(table->region);
    OPENSSL_free(der);

    char name[256];
    X509_NAME_oneline(X509_get_subject_name(cert->cert), name, sizeof name);
    if (state == STAPLING_FAILED)
        log_module_message(LOG_LEVEL_ERROR, "ssl",
                           "OCSP stapling: no response for '%s' from %s: %s (retried in %d s; handshakes go on "
                           "without it)",
                           name, cert->url, reason, settings->error_timeout);
    else
        log_module_message(state == STAPLING_GOOD ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "ssl",
                           "OCSP stapling: response for '%s' from %s: %s", name, cert->url, reason);
    return state;
}

/* ---- the thread -------------------------------------------------------- */

static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static bool stop_requested;
static atomic_bool stopping;
static bool running;
static pthread_t stapler;
static stapling_table *stapler_table;

static void *stapler_main(void *arg)
{
    stapling_table *table = arg;
    int32_t pid = (int32_t)getpid();
    for (;;) {
        int64_t now = (int64_t)time(NULL);
        int64_t wake_at = now + RECHECK_SECONDS;
        for (int i = 0; i < table->count && !atomic_load(&stopping); i++) {
            stapling_cert *cert = &table->certs[i];
            if (cert->shares_slot)
                continue;
            now = (int64_t)time(NULL);  /* a fetch before this one may have taken a while */
            stapling_slot *slot = stapling_slot_at(table->region, cert->slot);
            int lease = (cert->settings->responder_timeout > 0 ? cert->settings->responder_timeout : 10) +
                        LEASE_MARGIN;
            stapling_region_lock(table->region);
            bool mine = stapling_slot_claim(slot, now, pid, lease);
            stapling_region_unlock(table->region);
            if (mine)
                stapling_refresh(table, cert, now);
            stapling_region_lock(table->region);
            int64_t check = stapling_slot_next_check(slot);
            stapling_region_unlock(table->region);
            if (check < wake_at)
                wake_at = check;
        }
        now = (int64_t)time(NULL);
        if (wake_at <= now)
            wake_at = now + 1;
        pthread_mutex_lock(&wake_lock);
        struct timespec until = { .tv_sec = (time_t)wake_at, .tv_nsec = 0 };
        while (!stop_requested && pthread_cond_timedwait(&wake, &wake_lock, &until) == 0)
            ;
        bool stop = stop_requested;
        pthread_mutex_unlock(&wake_lock);
        if (stop)
            break;
    }
    OPENSSL_thread_stop();
    return NULL;
}

void stapling_thread_start(stapling_table *table)
{
    if (running)
        return;
    stop_requested = false;
    atomic_store(&stopping, false);
    /* Signals stay blocked here as in the child's other threads (it blocked
     * them before child_init). */
    int rc = pthread_create(&stapler, NULL, stapler_main, table);
    if (rc != 0) {
        log_error_number(LOG_LEVEL_ERROR, rc, "OCSP stapling: cannot start the fetching thread; "
                                              "handshakes go on without staples");
        return;
    }
    running = true;
    stapler_table = table;
}

void stapling_thread_stop(stapling_table *table)
{
    if (!running || stapler_table != table)
        return;
    pthread_mutex_lock(&wake_lock);
    stop_requested = true;
    atomic_store(&stopping, true);
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&wake_lock);
    /* At most one fetch in progress: bounded by SSLStaplingResponderTimeout. */
    pthread_join(stapler, NULL);
    running = false;
    stapler_table = NULL;
}
