/* conn.c -- connecting to a NATS server, and NATS statuses as cloister errors.
 *
 * One natsConnection and one JetStream context per struct bus. The URL is parsed here before
 * NATS sees it, for two reasons: messages must name the server without the credentials a URL may
 * carry, and a plain nats:// URL to another machine deserves a warning (the payloads are
 * ciphertext, but ids, sizes and the credentials travel in clear; production uses tls://).
 * Reconnection is the NATS client's: publishes made while it reconnects are buffered (8 MiB)
 * and wait for their ack, so they go through if the server is back within the timeout, and
 * otherwise fail with a timeout that says the connection is lost. Callbacks run on NATS threads
 * with the struct bus as closure; bus_close waits for the last of them before freeing it. */
#include "bus/bus_impl.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLOG_MODULE "bus"
#include "util/log.h"

#define BUS_DEFAULT_TIMEOUT_MS 5000
#define BUS_DEFAULT_RECONNECT 60
#define BUS_DEFAULT_RECONNECT_WAIT_MS 250
#define BUS_DEFAULT_ASYNC_PENDING 64
/* Socket buffers of the client: shuffle chunks are 64 KiB to 1 MiB, and the default 32 KiB
 * splits each into many reads and writes. */
#define BUS_IO_BUF (1 << 20)
#define BUS_CLOSE_WAIT_S 5

/* ---- Errors ---- */

static int code_of(natsStatus s, jsErrCode jerr)
{
    switch (jerr) {
    case JSStreamNotFoundErr:
    case JSConsumerNotFoundErr: return CLOISTER_E_NOT_FOUND;
    case JSStreamNameExistErr:
    case JSStreamSubjectOverlapErr:
    case JSConsumerNameExistErr: return CLOISTER_E_EXISTS;
    case JSStreamMessageExceedsMaximumErr:
    case JSStreamStoreFailedErr: return CLOISTER_E_TOO_BIG; /* maximum bytes or messages */
    case JSStreamInvalidConfig: return CLOISTER_E_INVALID;
    default: break;
    }
    switch (s) {
    case NATS_TIMEOUT: return CLOISTER_E_TIMEOUT;
    case NATS_NOT_FOUND:
    case NATS_NO_RESPONDERS: return CLOISTER_E_NOT_FOUND;
    case NATS_MAX_PAYLOAD: return CLOISTER_E_TOO_BIG;
    case NATS_NO_MEMORY: return CLOISTER_E_NO_MEMORY;
    case NATS_INVALID_ARG: return CLOISTER_E_INVALID;
    default: return CLOISTER_E_FAILED;
    }
}

/* What went wrong, in words: ours for the connection's state, else the server's or the client's
 * own text without the client's "(file.c:123): " prefix. */
static const char *reason_of(natsStatus s, const char *text)
{
    switch (s) {
    case NATS_NO_RESPONDERS: return "no stream captures this subject";
    case NATS_NO_SERVER: return "no server listening";
    case NATS_CONNECTION_CLOSED: return "the connection is closed (the server went away)";
    case NATS_CONNECTION_DISCONNECTED: return "disconnected from the server";
    case NATS_STALE_CONNECTION: return "the server stopped answering";
    case NATS_TIMEOUT: return "no answer in time";
    default: break;
    }
    if (!text || !*text)
        return natsStatus_GetText(s);
    const char *end = text[0] == '(' ? strstr(text, "): ") : NULL;
    return end ? end + 3 : text;
}

/* The connection's state when it explains a failure, unless the status s already says it. */
static const char *conn_state(struct bus *b, natsStatus s)
{
    if (!b || !b->nc || s == NATS_CONNECTION_CLOSED || s == NATS_CONNECTION_DISCONNECTED)
        return "";
    switch (natsConnection_Status(b->nc)) {
    case NATS_CONN_STATUS_CONNECTED: return "";
    case NATS_CONN_STATUS_RECONNECTING: return " (connection lost; reconnecting)";
    default: return " (connection closed)";
    }
}

int bus_fail(struct bus *b, struct cloister_err *err, natsStatus s, jsErrCode jerr, const char *fmt,
             ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const char *reason = reason_of(s, nats_GetLastError(NULL));
    return cloister_errf(err, code_of(s, jerr), "%s: %s%s", what, reason, conn_state(b, s));
}

/* ---- URLs ---- */

/* Splits nats://[user[:pass]@]HOST[:PORT] into "HOST:PORT" (for messages) and whether HOST is
 * loopback. Returns false for anything else. */
static bool parse_url(const char *url, char *server, size_t cap, bool *tls, bool *loopback)
{
    const char *p;
    if (strncmp(url, "nats://", 7) == 0) {
        p = url + 7;
        *tls = false;
    } else if (strncmp(url, "tls://", 6) == 0) {
        p = url + 6;
        *tls = true;
    } else {
        return false;
    }
    const char *at = strrchr(p, '@');
    if (at)
        p = at + 1;
    char host[100];
    const char *port;
    if (*p == '[') { /* [v6]:port */
        const char *close = strchr(p, ']');
        if (!close || (size_t)(close - p - 1) >= sizeof host)
            return false;
        memcpy(host, p + 1, (size_t)(close - p - 1));
        host[close - p - 1] = '\0';
        port = close[1] == ':' ? close + 2 : close[1] ? NULL : "4222";
    } else {
        size_t n = strcspn(p, ":");
        if (n >= sizeof host)
            return false;
        memcpy(host, p, n);
        host[n] = '\0';
        port = p[n] == ':' ? p + n + 1 : "4222";
    }
    if (!*host || !port || !*port || strspn(port, "0123456789") != strlen(port) ||
        atoi(port) <= 0 || atoi(port) > 65535 || strpbrk(host, "/?# "))
        return false;
    struct in_addr a4;
    struct in6_addr a6;
    *loopback = strcmp(host, "localhost") == 0 ||
                (inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127) ||
                (inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6));
    snprintf(server, cap, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
    return true;
}

/* ---- Callbacks (on NATS threads) ---- */

static void on_disconnected(natsConnection *nc, void *closure)
{
    struct bus *b = closure;
    if (natsConnection_IsClosed(nc)) /* bus_close */
        return;
    clog_warn("lost the connection to the NATS server %s; reconnecting", b->server);
}

static void on_reconnected(natsConnection *nc, void *closure)
{
    struct bus *b = closure;
    clog_info("reconnected to the NATS server %s", b->server);
}

static void on_closed(natsConnection *nc, void *closure)
{
    struct bus *b = closure;
    pthread_mutex_lock(&b->lock);
    b->closed = true;
    pthread_cond_signal(&b->closed_cv);
    pthread_mutex_unlock(&b->lock);
}

static void on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus s, void *closure)
{
    struct bus *b = closure;
    clog_warn("NATS server %s: %s", b->server, natsStatus_GetText(s));
}

static void on_pub_ack_error(jsCtx *js, jsPubAckErr *pae, void *closure)
{
    struct bus *b = closure;
    pthread_mutex_lock(&b->lock);
    if (b->async_failed++ == 0)
        cloister_errf(&b->async_first, code_of(pae->Err, pae->ErrCode), "publish to %s: %s",
                      natsMsg_GetSubject(pae->Msg), reason_of(pae->Err, pae->ErrText));
    pthread_mutex_unlock(&b->lock);
}

/* ---- Connecting ---- */

static natsStatus set_options(natsOptions *no, struct bus *b, const char *url,
                              const struct bus_options *o, bool tls)
{
    natsStatus s = natsOptions_SetURL(no, url);
    if (s == NATS_OK)
        s = natsOptions_SetName(no, o->name ? o->name : "cloister");
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(no, b->timeout_ms);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(no, o->max_reconnect ? o->max_reconnect
                                                             : BUS_DEFAULT_RECONNECT);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(no, o->reconnect_wait_ms ? o->reconnect_wait_ms
                                                                  : BUS_DEFAULT_RECONNECT_WAIT_MS);
    if (s == NATS_OK)
        s = natsOptions_SetIOBufSize(no, BUS_IO_BUF);
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(no, on_disconnected, b);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(no, on_reconnected, b);
    if (s == NATS_OK)
        s = natsOptions_SetErrorHandler(no, on_async_error, b);
    if (s == NATS_OK)
        s = natsOptions_SetClosedCB(no, on_closed, b);
    if (s == NATS_OK && o->send_asap)
        s = natsOptions_SetSendAsap(no, true);
    if (s == NATS_OK && tls)
        s = natsOptions_SetSecure(no, true);
    if (s == NATS_OK && tls && o->tls_ca)
        s = natsOptions_LoadCATrustedCertificates(no, o->tls_ca);
    return s;
}

static int open_conn(struct bus *b, const char *url, const struct bus_options *o, bool tls,
                     struct cloister_err *err)
{
    natsOptions *no = NULL;
    natsStatus s = natsOptions_Create(&no);
    if (s == NATS_OK)
        s = set_options(no, b, url, o, tls);
    if (s != NATS_OK) {
        natsOptions_Destroy(no);
        return bus_fail(NULL, err, s, 0, "NATS options for %s", b->server);
    }
    s = natsConnection_Connect(&b->nc, no);
    natsOptions_Destroy(no);
    if (s != NATS_OK)
        return bus_fail(NULL, err, s, 0, "cannot connect to the NATS server %s", b->server);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = b->timeout_ms;
    jo.PublishAsync.MaxPending = o->max_async_pending ? o->max_async_pending
                                                      : BUS_DEFAULT_ASYNC_PENDING;
    jo.PublishAsync.ErrHandler = on_pub_ack_error;
    jo.PublishAsync.ErrHandlerClosure = b;
    jo.PublishAsync.StallWait = b->timeout_ms;
    s = natsConnection_JetStream(&b->js, b->nc, &jo);
    if (s != NATS_OK)
        return bus_fail(b, err, s, 0, "JetStream on %s", b->server);
    return CLOISTER_OK;
}

struct bus *bus_connect(const char *url, const struct bus_options *opts, struct cloister_err *err)
{
    static const struct bus_options defaults;
    const struct bus_options *o = opts ? opts : &defaults;
    bool tls, loopback;
    char server[128];
    if (!url || !parse_url(url, server, sizeof server, &tls, &loopback)) {
        cloister_errf(err, CLOISTER_E_INVALID,
                      "bad NATS URL: expected nats://HOST:PORT or tls://HOST:PORT");
        return NULL;
    }
    if (!tls && !loopback)
        clog_warn("plain nats:// to %s: NATS sees only ciphertext, but ids, sizes and any "
                  "credentials travel in clear; use tls:// with authentication in production",
                  server);
    struct bus *b = calloc(1, sizeof *b);
    if (!b) {
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "NATS connection: out of memory");
        return NULL;
    }
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->closed_cv, NULL);
    memcpy(b->server, server, sizeof server);
    b->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : BUS_DEFAULT_TIMEOUT_MS;
    if (open_conn(b, url, o, tls, err) != CLOISTER_OK) {
        bus_close(b);
        return NULL;
    }
    return b;
}

void bus_close(struct bus *b)
{
    if (!b)
        return;
    jsCtx_Destroy(b->js);
    if (b->nc) {
        natsConnection_Close(b->nc);
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += BUS_CLOSE_WAIT_S;
        pthread_mutex_lock(&b->lock);
        while (!b->closed && pthread_cond_timedwait(&b->closed_cv, &b->lock, &deadline) == 0)
            ;
        bool closed = b->closed;
        pthread_mutex_unlock(&b->lock);
        natsConnection_Destroy(b->nc);
        if (!closed) { /* a callback may still come: leak b rather than let it touch freed memory */
            clog_error("NATS connection to %s: no close notification in %d s", b->server,
                       BUS_CLOSE_WAIT_S);
            return;
        }
    }
    pthread_cond_destroy(&b->closed_cv);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

size_t bus_max_payload(const struct bus *b)
{
    int64_t n = natsConnection_GetMaxPayload(b->nc);
    return n > 0 ? (size_t)n : 0;
}

int bus_flush(struct bus *b, int64_t timeout_ms, struct cloister_err *err)
{
    natsStatus s = natsConnection_FlushTimeout(b->nc, timeout_ms);
    return s == NATS_OK ? CLOISTER_OK : bus_fail(b, err, s, 0, "flush to %s", b->server);
}
