/* httpc: asynchronous HTTP client, libcurl's multi interface driven by
 * libevent (see httpc.h).
 *
 * The classic "hiperfifo" arrangement: curl tells us which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION, one struct event per socket) and when to wake it
 * (CURLMOPT_TIMERFUNCTION, one evtimer); both events call
 * curl_multi_socket_action() and then collect finished transfers with
 * curl_multi_info_read(). One multi handle per client holds the connection
 * cache, so keep-alive connections are reused across requests.
 *
 * A request (struct httpc_transfer) owns a copy of everything it was given
 * and one easy handle, re-added to the multi handle for each retry after a
 * back-off timer. httpc_submit() only adds the easy handle; curl starts it
 * from its timer, so the callback never runs inside httpc_submit().
 *
 * Callbacks run only from our event handlers, never from inside a curl
 * callback, so they may submit new requests or free the client; freeing is
 * deferred until the outermost handler returns ('depth').
 *
 * Per origin (scheme, host, port) at most max_host_connections transfers
 * are in the multi handle at once; the others wait in the origin's FIFO
 * (struct httpc_host) and start as running ones end. curl could queue them
 * itself (CURLMOPT_MAX_HOST_CONNECTIONS), but a multi handle holding
 * thousands of waiting easy handles spends time linear in their number on
 * each completion: a burst of 1,000 webhooks took twice as long. */
#include "httpc.h"

#include <curl/curl.h>
#include <curl/header.h>
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vtime.h"

#define HTTPC_DEFAULT_CONNECT_TIMEOUT_MS 2000
#define HTTPC_DEFAULT_TIMEOUT_MS 5000
#define HTTPC_DEFAULT_MAX_PENDING 10000
#define HTTPC_DEFAULT_MAX_RESPONSE_SIZE (1024 * 1024)
#define HTTPC_DEFAULT_MAX_HOST_CONNECTIONS 32
#define HTTPC_ERROR_SIZE (CURL_ERROR_SIZE + 128)
#define HTTPC_IDLE_EASY_MAX 32    /* easy handles kept for reuse */

enum httpc_state {
    HTTPC_STATE_QUEUED,       /* in its origin's FIFO */
    HTTPC_STATE_RUNNING,      /* easy handle in the multi handle */
    HTTPC_STATE_WAITING,      /* back-off timer armed */
    HTTPC_STATE_COUNT
};

#define HTTPC_MAX_ORIGIN 300      /* "scheme://host:port", longer: refused */

/* One origin's running count and queue of transfers waiting for a slot. */
struct httpc_host {
    struct httpc_host *prev, *next;
    size_t users;                 /* transfers referring to it */
    size_t running;               /* of them, in the multi handle */
    struct httpc_transfer *queue_head, *queue_tail;
    char origin[HTTPC_MAX_ORIGIN + 1];
};

struct httpc_transfer {
    struct httpc *client;
    struct httpc_transfer *prev, *next;
    enum httpc_state state;
    struct httpc_host *host;
    struct httpc_transfer *queue_prev, *queue_next;  /* in host's FIFO */
    bool urgent;                  /* queued at the head, not the tail */

    CURL *easy;
    char *method;
    char *url;
    char *body;
    size_t body_size;
    struct curl_slist *headers;
    struct httpc_retry retry;
    struct event *retry_timer;

    char *response;               /* NUL-terminated, capped */
    size_t response_size;
    size_t response_capacity;
    bool too_large;

    unsigned int attempts;
    int64_t submitted_ns;
    char curl_error[CURL_ERROR_SIZE];
    char error[HTTPC_ERROR_SIZE];

    httpc_done_fn *done;
    void *arg;
};

/* A socket curl asked us to watch. */
struct httpc_socket {
    struct httpc *client;
    struct httpc_socket *prev, *next;
    curl_socket_t fd;
    struct event *event;
};

struct httpc {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;          /* curl's timeout */
    struct httpc_options options;

    struct httpc_transfer *transfers;
    size_t pending;
    struct httpc_socket *sockets;
    struct httpc_host *hosts;
    CURL *idle_easy[HTTPC_IDLE_EASY_MAX];  /* reset, ready for reuse */
    size_t idle_easy_length;

    uint64_t random;              /* xorshift64 state for back-off jitter */
    unsigned int depth;           /* nesting of our event handlers */
    bool freeing;                 /* httpc_free() has started */
};

/* ---- global initialisation --------------------------------------------- */

static pthread_once_t httpc_once = PTHREAD_ONCE_INIT;
static CURLcode httpc_global_status = CURLE_FAILED_INIT;

static void
httpc_global_init(void)
{
    httpc_global_status = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- small helpers ----------------------------------------------------- */

static uint64_t
httpc_random(struct httpc *client)
{
    uint64_t x = client->random;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    client->random = x;
    return x;
}

/* Back-off before attempt 'attempts' + 1: initial * 2^(attempts-1), capped
 * at max (0: an hour), then scaled by a random factor in [0.8, 1.2]. */
static long
httpc_backoff_ms(struct httpc *client, const struct httpc_retry *retry,
                 unsigned int attempts)
{
    uint64_t backoff = retry->initial_backoff_ms;
    uint64_t max = retry->max_backoff_ms;

    /* max 0: no cap but ours, an hour. */
    if (!max || max > 3600 * 1000) {
        max = 3600 * 1000;
    }
    for (unsigned int i = 1; i < attempts && backoff < max; i++) {
        backoff *= 2;
    }
    if (backoff > max) {
        backoff = max;
    }
    /* factor = 0.8 + 0.4 * u with u uniform in [0, 1]: in thousandths. */
    backoff = backoff * (800 + httpc_random(client) % 401) / 1000;
    return (long) backoff;
}

/* An easy handle, reused when one is idle (saves its buffers). */
static CURL *
httpc_easy_get(struct httpc *client)
{
    if (client->idle_easy_length) {
        return client->idle_easy[--client->idle_easy_length];
    }
    return curl_easy_init();
}

static void
httpc_easy_put(struct httpc *client, CURL *easy)
{
    if (!easy) {
        return;
    }
    if (client->idle_easy_length < HTTPC_IDLE_EASY_MAX && !client->freeing) {
        curl_easy_reset(easy);
        client->idle_easy[client->idle_easy_length++] = easy;
        return;
    }
    curl_easy_cleanup(easy);
}

/* ---- origins ----------------------------------------------------------- */

/* Writes the origin of 'url' ("http://host:port", lowercase, default port
 * made explicit, no user info) to 'out'. false when it does not fit. */
static bool
httpc_origin(const char *url, char out[HTTPC_MAX_ORIGIN + 1])
{
    const char *scheme_end = strstr(url, "://");
    const char *authority, *end, *at, *bracket, *colon;
    bool https;
    size_t n;
    int written;

    if (!scheme_end) {
        return false;
    }
    https = scheme_end - url == 5;
    authority = scheme_end + 3;
    end = authority + strcspn(authority, "/?#");
    at = memchr(authority, '@', (size_t) (end - authority));
    if (at) {
        authority = at + 1;
    }
    n = (size_t) (end - authority);
    bracket = memchr(authority, ']', n);
    colon = memchr(bracket ? bracket : authority, ':',
                   (size_t) (end - (bracket ? bracket : authority)));
    written = snprintf(out, HTTPC_MAX_ORIGIN + 1, "%s://%.*s%s",
                       https ? "https" : "http", (int) n, authority,
                       colon ? "" : https ? ":443" : ":80");
    if (written < 0 || written > HTTPC_MAX_ORIGIN) {
        return false;
    }
    for (char *p = out; *p; p++) {
        if (*p >= 'A' && *p <= 'Z') {
            *p = (char) (*p - 'A' + 'a');
        }
    }
    return true;
}

/* The origin record of 'url', made when new; one more user. */
static struct httpc_host *
httpc_host_get(struct httpc *client, const char *url)
{
    char origin[HTTPC_MAX_ORIGIN + 1];
    struct httpc_host *host;

    if (!httpc_origin(url, origin)) {
        return NULL;
    }
    for (host = client->hosts; host; host = host->next) {
        if (!strcmp(host->origin, origin)) {
            break;
        }
    }
    if (!host) {
        host = calloc(1, sizeof *host);
        if (!host) {
            return NULL;
        }
        memcpy(host->origin, origin, sizeof origin);
        host->next = client->hosts;
        if (host->next) {
            host->next->prev = host;
        }
        client->hosts = host;
    }
    host->users++;
    return host;
}

static void
httpc_host_put(struct httpc *client, struct httpc_host *host)
{
    if (!host || --host->users) {
        return;
    }
    if (host->prev) {
        host->prev->next = host->next;
    } else {
        client->hosts = host->next;
    }
    if (host->next) {
        host->next->prev = host->prev;
    }
    free(host);
}

static void
httpc_queue_remove(struct httpc_transfer *t)
{
    struct httpc_host *host = t->host;

    if (t->queue_prev) {
        t->queue_prev->queue_next = t->queue_next;
    } else {
        host->queue_head = t->queue_next;
    }
    if (t->queue_next) {
        t->queue_next->queue_prev = t->queue_prev;
    } else {
        host->queue_tail = t->queue_prev;
    }
    t->queue_prev = t->queue_next = NULL;
}

static void
httpc_transfer_free(struct httpc_transfer *t)
{
    if (!t) {
        return;
    }
    httpc_host_put(t->client, t->host);
    httpc_easy_put(t->client, t->easy);
    if (t->retry_timer) {
        event_free(t->retry_timer);
    }
    curl_slist_free_all(t->headers);
    free(t->method);
    free(t->url);
    free(t->body);
    free(t->response);
    free(t);
}

static void
httpc_unlink(struct httpc_transfer *t)
{
    struct httpc *client = t->client;

    if (t->prev) {
        t->prev->next = t->next;
    } else {
        client->transfers = t->next;
    }
    if (t->next) {
        t->next->prev = t->prev;
    }
    t->prev = t->next = NULL;
    client->pending--;
}

static void httpc_host_pump(struct httpc *client, struct httpc_host *host);

/* Takes 't' out of the multi handle; the next queued transfer of its
 * origin may start. */
static void
httpc_stop(struct httpc_transfer *t)
{
    struct httpc *client = t->client;

    curl_multi_remove_handle(client->multi, t->easy);
    t->host->running--;
    httpc_host_pump(client, t->host);
}

/* Detaches 't' from curl and the loop, runs its callback once with
 * 'status'/'error' and frees it. */
static void
httpc_finish(struct httpc_transfer *t, long status, const char *error)
{
    struct httpc_response response = {
        .status = status,
        .body = error ? "" : (t->response ? t->response : ""),
        .body_size = error ? 0 : t->response_size,
        .error = error,
        .attempts = t->attempts,
        .submitted_ns = t->submitted_ns,
        .transfer = t,
    };

    switch (t->state) {
    case HTTPC_STATE_RUNNING:
        httpc_stop(t);
        break;
    case HTTPC_STATE_QUEUED:
        httpc_queue_remove(t);
        break;
    case HTTPC_STATE_WAITING:
    case HTTPC_STATE_COUNT:
        event_del(t->retry_timer);
        break;
    }
    httpc_unlink(t);
    response.completed_ns = vtime_mono_ns();
    t->done(&response, t->arg);
    httpc_transfer_free(t);
}

/* Fills t->error for a failed attempt: "connect to HOST:PORT failed:
 * <strerror>" when the connection failed, curl's message otherwise. */
static const char *
httpc_describe_error(struct httpc_transfer *t, CURLcode code)
{
    char *host = NULL, *port = NULL;
    long os_errno = 0;
    CURLU *url;

    if (t->too_large) {
        snprintf(t->error, sizeof t->error, "response too large (over %zu "
                 "bytes)", t->client->options.max_response_size);
        return t->error;
    }
    snprintf(t->error, sizeof t->error, "%s",
             t->curl_error[0] ? t->curl_error : curl_easy_strerror(code));
    if (code != CURLE_COULDNT_CONNECT
        || curl_easy_getinfo(t->easy, CURLINFO_OS_ERRNO, &os_errno)
               != CURLE_OK
        || !os_errno) {
        return t->error;
    }
    url = curl_url();
    if (url && curl_url_set(url, CURLUPART_URL, t->url, 0) == CURLUE_OK
        && curl_url_get(url, CURLUPART_HOST, &host, 0) == CURLUE_OK
        && curl_url_get(url, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT)
               == CURLUE_OK) {
        snprintf(t->error, sizeof t->error, "connect to %s:%s failed: %s",
                 host, port, strerror((int) os_errno));
    }
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(url);
    return t->error;
}

/* Whether an attempt that ended with 'code' and 'status' may succeed if
 * tried again: transport failures (refused, reset, timed out, ...) and
 * HTTP 5xx and 429; not a response over the cap nor a request curl cannot
 * make at all. */
static bool
httpc_retryable(CURLcode code, long status, bool too_large)
{
    if (too_large) {
        return false;
    }
    switch (code) {
    case CURLE_OK:
        return status >= 500 || status == 429;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
        return false;
    default:
        return true;
    }
}

/* Puts 't' into the multi handle for one attempt. 0 or -errno. */
static int
httpc_run(struct httpc_transfer *t)
{
    struct httpc *client = t->client;

    t->response_size = 0;
    if (t->response) {
        t->response[0] = '\0';
    }
    t->too_large = false;
    t->curl_error[0] = '\0';
    if (curl_multi_add_handle(client->multi, t->easy) != CURLM_OK) {
        return -ENOMEM;
    }
    t->state = HTTPC_STATE_RUNNING;
    t->host->running++;
    t->attempts++;
    return 0;
}

/* (Re)starts one attempt of 't' now, or queues it behind its origin's
 * earlier transfers (an urgent one ahead of them) when they use every
 * connection. 0 or -errno. */
static int
httpc_start(struct httpc_transfer *t)
{
    struct httpc_host *host = t->host;

    if (!host->queue_head && host->running
        < (size_t) t->client->options.max_host_connections) {
        return httpc_run(t);
    }
    t->state = HTTPC_STATE_QUEUED;
    if (t->urgent) {
        t->queue_prev = NULL;
        t->queue_next = host->queue_head;
        if (host->queue_head) {
            host->queue_head->queue_prev = t;
        } else {
            host->queue_tail = t;
        }
        host->queue_head = t;
        return 0;
    }
    t->queue_next = NULL;
    t->queue_prev = host->queue_tail;
    if (host->queue_tail) {
        host->queue_tail->queue_next = t;
    } else {
        host->queue_head = t;
    }
    host->queue_tail = t;
    return 0;
}

/* Starts queued transfers of 'host' while it has free connections. */
static void
httpc_host_pump(struct httpc *client, struct httpc_host *host)
{
    while (!client->freeing && host->queue_head && host->running
           < (size_t) client->options.max_host_connections) {
        struct httpc_transfer *t = host->queue_head;

        httpc_queue_remove(t);
        if (httpc_run(t)) {
            t->state = HTTPC_STATE_WAITING;
            httpc_finish(t, 0, "cannot start the request");
        }
    }
}

/* One attempt of 't' ended with 'code'. */
static void
httpc_attempt_done(struct httpc_transfer *t, CURLcode code)
{
    struct httpc *client = t->client;
    const char *error = NULL;
    long status = 0;

    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    if (code != CURLE_OK || t->too_large) {
        error = httpc_describe_error(t, code);
    }
    if (httpc_retryable(code, status, t->too_large)
        && t->attempts < t->retry.max_attempts) {
        struct timeval tv;
        long backoff = httpc_backoff_ms(client, &t->retry, t->attempts);

        httpc_stop(t);
        t->state = HTTPC_STATE_WAITING;
        tv.tv_sec = backoff / 1000;
        tv.tv_usec = (backoff % 1000) * 1000;
        if (evtimer_add(t->retry_timer, &tv) == 0) {
            return;
        }
        error = "cannot schedule a retry";
    }
    httpc_finish(t, status, error);
}

/* Runs the callbacks of every finished transfer. */
static void
httpc_check_completions(struct httpc *client)
{
    CURLMsg *msg;
    int left;

    while (!client->freeing
           && (msg = curl_multi_info_read(client->multi, &left))) {
        char *private = NULL;

        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &private);
        if (private) {
            httpc_attempt_done((struct httpc_transfer *) private,
                               msg->data.result);
        }
    }
}

static void httpc_destroy(struct httpc *client);

static void
httpc_enter(struct httpc *client)
{
    client->depth++;
}

/* Leaves an event handler; the outermost one frees a client whose
 * httpc_free() ran from a callback. */
static void
httpc_leave(struct httpc *client)
{
    if (--client->depth == 0 && client->freeing) {
        httpc_destroy(client);
    }
}

/* ---- curl <-> libevent ------------------------------------------------- */

static void
httpc_socket_event(evutil_socket_t fd, short what, void *arg)
{
    struct httpc_socket *s = arg;
    struct httpc *client = s->client;
    int flags = 0, running;

    if (what & EV_READ) {
        flags |= CURL_CSELECT_IN;
    }
    if (what & EV_WRITE) {
        flags |= CURL_CSELECT_OUT;
    }
    httpc_enter(client);
    /* 's' may be freed by the socket callback from here on. */
    curl_multi_socket_action(client->multi, fd, flags, &running);
    httpc_check_completions(client);
    httpc_leave(client);
}

static void
httpc_timer_event(evutil_socket_t fd, short what, void *arg)
{
    struct httpc *client = arg;
    int running;

    (void) fd;
    (void) what;
    httpc_enter(client);
    curl_multi_socket_action(client->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    httpc_check_completions(client);
    httpc_leave(client);
}

static void
httpc_retry_event(evutil_socket_t fd, short what, void *arg)
{
    struct httpc_transfer *t = arg;
    struct httpc *client = t->client;

    (void) fd;
    (void) what;
    httpc_enter(client);
    if (httpc_start(t)) {
        t->state = HTTPC_STATE_WAITING;
        httpc_finish(t, 0, "cannot start a retry");
    }
    httpc_leave(client);
}

static void
httpc_socket_free(struct httpc_socket *s)
{
    struct httpc *client = s->client;

    if (s->prev) {
        s->prev->next = s->next;
    } else {
        client->sockets = s->next;
    }
    if (s->next) {
        s->next->prev = s->prev;
    }
    event_free(s->event);
    free(s);
}

static int
httpc_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
                void *socketp)
{
    struct httpc *client = userp;
    struct httpc_socket *s = socketp;
    short kind = EV_PERSIST;

    (void) easy;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            httpc_socket_free(s);
        }
        return 0;
    }
    if (what & CURL_POLL_IN) {
        kind |= EV_READ;
    }
    if (what & CURL_POLL_OUT) {
        kind |= EV_WRITE;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) {
            return -1;
        }
        s->client = client;
        s->fd = fd;
        s->event = event_new(client->base, fd, kind, httpc_socket_event, s);
        if (!s->event) {
            free(s);
            return -1;
        }
        s->next = client->sockets;
        if (s->next) {
            s->next->prev = s;
        }
        client->sockets = s;
        curl_multi_assign(client->multi, fd, s);
    } else {
        event_del(s->event);
        event_assign(s->event, client->base, fd, kind, httpc_socket_event, s);
    }
    return event_add(s->event, NULL) ? -1 : 0;
}

static int
httpc_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct httpc *client = userp;
    struct timeval tv;

    (void) multi;
    if (timeout_ms < 0) {
        event_del(client->timer);
        return 0;
    }
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    return evtimer_add(client->timer, &tv) ? -1 : 0;
}

static size_t
httpc_write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    struct httpc_transfer *t = userp;
    size_t max = t->client->options.max_response_size;
    size_t n = size * nmemb;
    size_t need;

    if (n > max - t->response_size) {
        t->too_large = true;
        return 0;     /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    need = t->response_size + n + 1;
    if (need > t->response_capacity) {
        size_t capacity = t->response_capacity ? t->response_capacity : 512;
        char *p;

        while (capacity < need) {
            capacity *= 2;
        }
        p = realloc(t->response, capacity);
        if (!p) {
            return 0;
        }
        t->response = p;
        t->response_capacity = capacity;
    }
    memcpy(t->response + t->response_size, data, n);
    t->response_size += n;
    t->response[t->response_size] = '\0';
    return n;
}

/* ---- requests ---------------------------------------------------------- */

/* An HTTP method is a token: letters only here, at most 16. */
static bool
httpc_valid_method(const char *method)
{
    size_t n = 0;

    if (!method) {
        return false;
    }
    for (; method[n]; n++) {
        if (n == 16 || !((method[n] >= 'A' && method[n] <= 'Z')
                         || (method[n] >= 'a' && method[n] <= 'z'))) {
            return false;
        }
    }
    return n > 0;
}

static bool
httpc_valid_url(const char *url)
{
    char origin[HTTPC_MAX_ORIGIN + 1];

    return url && (!strncasecmp(url, "http://", 7)
                   || !strncasecmp(url, "https://", 8))
           && !strpbrk(url, "\r\n") && httpc_origin(url, origin);
}

/* Copies the caller's headers (refusing CR/LF, which would inject headers)
 * and adds ours. 0 or -errno. */
static int
httpc_copy_headers(struct httpc_transfer *t, const char *const *headers)
{
    bool content_type = false;
    struct curl_slist *next;

    for (size_t i = 0; headers && headers[i]; i++) {
        if (strpbrk(headers[i], "\r\n") || !strchr(headers[i], ':')) {
            return -EINVAL;
        }
        if (!strncasecmp(headers[i], "Content-Type:", 13)) {
            content_type = true;
        }
        next = curl_slist_append(t->headers, headers[i]);
        if (!next) {
            return -ENOMEM;
        }
        t->headers = next;
    }
    /* No "Expect: 100-continue" round trip before a body. */
    next = curl_slist_append(t->headers, "Expect:");
    if (!next) {
        return -ENOMEM;
    }
    t->headers = next;
    /* Vigil speaks JSON; curl's default would be a form. */
    if (t->body && !content_type) {
        next = curl_slist_append(t->headers, "Content-Type: application/json");
        if (!next) {
            return -ENOMEM;
        }
        t->headers = next;
    }
    return 0;
}

static int
httpc_setup_easy(struct httpc_transfer *t, long timeout_ms)
{
    const struct httpc_options *o = &t->client->options;
    CURL *e = t->easy;
    CURLcode rc = CURLE_OK;

#define SET(opt, value) \
    do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, value); } while (0)
    SET(CURLOPT_PRIVATE, t);
    SET(CURLOPT_URL, t->url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TCP_NODELAY, 1L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, timeout_ms);
    SET(CURLOPT_ERRORBUFFER, t->curl_error);
    SET(CURLOPT_WRITEFUNCTION, httpc_write_cb);
    SET(CURLOPT_WRITEDATA, t);
    SET(CURLOPT_HTTPHEADER, t->headers);
#ifdef VIGIL_VERSION
    SET(CURLOPT_USERAGENT, "vigil/" VIGIL_VERSION);
#endif
    if (!strcmp(t->method, "GET") && !t->body) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (!strcmp(t->method, "HEAD")) {
        SET(CURLOPT_NOBODY, 1L);
    } else {
        if (t->body || !strcmp(t->method, "POST")) {
            SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) t->body_size);
            SET(CURLOPT_POSTFIELDS, t->body ? t->body : "");
        }
        if (strcmp(t->method, "POST")) {
            SET(CURLOPT_CUSTOMREQUEST, t->method);
        }
    }
#undef SET
    return rc == CURLE_OK ? 0 : rc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
}

int
httpc_submit(struct httpc *client, const struct httpc_request *request,
             httpc_done_fn *done, void *arg)
{
    struct httpc_transfer *t = NULL;
    int ret = -EINVAL;

    if (!client || !request || !done || !httpc_valid_method(request->method)
        || !httpc_valid_url(request->url)
        || (!request->body && request->body_size)
        || (request->retry && request->retry->max_attempts == 0)
        || request->timeout_ms < 0) {
        goto out;
    }
    if (client->freeing) {
        ret = -ECANCELED;
        goto out;
    }
    if (client->pending >= client->options.max_pending) {
        ret = -ENOBUFS;
        goto out;
    }
    ret = -ENOMEM;
    t = calloc(1, sizeof *t);
    if (!t) {
        goto out;
    }
    t->client = client;
    t->urgent = request->urgent;
    t->submitted_ns = vtime_mono_ns();
    t->done = done;
    t->arg = arg;
    t->retry = request->retry ? *request->retry
                              : (struct httpc_retry) { .max_attempts = 1 };
    t->method = strdup(request->method);
    t->url = strdup(request->url);
    if (!t->method || !t->url) {
        goto out;
    }
    for (char *p = t->method; *p; p++) {
        if (*p >= 'a' && *p <= 'z') {
            *p = (char) (*p - 'a' + 'A');
        }
    }
    if (request->body) {
        /* +1: never malloc(0), and curl gets a valid pointer. */
        t->body = malloc(request->body_size + 1);
        if (!t->body) {
            goto out;
        }
        memcpy(t->body, request->body, request->body_size);
        t->body_size = request->body_size;
    }
    ret = httpc_copy_headers(t, request->headers);
    if (ret) {
        goto out;
    }
    ret = -ENOMEM;
    t->retry_timer = evtimer_new(client->base, httpc_retry_event, t);
    t->easy = httpc_easy_get(client);
    t->host = httpc_host_get(client, t->url);
    if (!t->retry_timer || !t->easy || !t->host) {
        goto out;
    }
    ret = httpc_setup_easy(t, request->timeout_ms ? request->timeout_ms
                                                  : client->options.timeout_ms);
    if (ret) {
        goto out;
    }
    /* curl starts the transfer from its timer, on the loop, after we
     * return: the callback cannot run before that. */
    ret = httpc_start(t);
    if (ret) {
        goto out;
    }
    t->next = client->transfers;
    if (t->next) {
        t->next->prev = t;
    }
    client->transfers = t;
    client->pending++;
    t = NULL;
    ret = 0;
out:
    httpc_transfer_free(t);
    return ret;
}

const char *
httpc_response_header(const struct httpc_response *response,
                      const char *name)
{
    const struct httpc_transfer *t = response ? response->transfer : NULL;
    struct curl_header *header = NULL;

    if (!t || !t->easy || !name || response->status == 0
        || curl_easy_header(t->easy, name, 0, CURLH_HEADER, -1, &header)
               != CURLHE_OK) {
        return NULL;
    }
    return header->value;
}

size_t
httpc_pending(const struct httpc *client)
{
    return client ? client->pending : 0;
}

/* ---- life cycle -------------------------------------------------------- */

struct httpc *
httpc_new(struct event_base *base, const struct httpc_options *options)
{
    struct httpc *client = NULL, *result = NULL;
    struct httpc_options o = options ? *options : (struct httpc_options) {0};

    if (!base || pthread_once(&httpc_once, httpc_global_init)
        || httpc_global_status != CURLE_OK) {
        goto out;
    }
    if (o.connect_timeout_ms <= 0) {
        o.connect_timeout_ms = HTTPC_DEFAULT_CONNECT_TIMEOUT_MS;
    }
    if (o.timeout_ms <= 0) {
        o.timeout_ms = HTTPC_DEFAULT_TIMEOUT_MS;
    }
    if (!o.max_pending) {
        o.max_pending = HTTPC_DEFAULT_MAX_PENDING;
    }
    if (!o.max_response_size) {
        o.max_response_size = HTTPC_DEFAULT_MAX_RESPONSE_SIZE;
    }
    if (o.max_host_connections <= 0) {
        o.max_host_connections = HTTPC_DEFAULT_MAX_HOST_CONNECTIONS;
    }
    client = calloc(1, sizeof *client);
    if (!client) {
        goto out;
    }
    client->base = base;
    client->options = o;
    client->random = (uint64_t) vtime_mono_ns() ^ (uint64_t) (uintptr_t) client
                     ^ 0x9e3779b97f4a7c15ULL;
    if (!client->random) {
        client->random = 1;
    }
    client->timer = evtimer_new(base, httpc_timer_event, client);
    client->multi = curl_multi_init();
    if (!client->timer || !client->multi) {
        goto out;
    }
    if (curl_multi_setopt(client->multi, CURLMOPT_SOCKETFUNCTION,
                          httpc_socket_cb) != CURLM_OK
        || curl_multi_setopt(client->multi, CURLMOPT_SOCKETDATA, client)
               != CURLM_OK
        || curl_multi_setopt(client->multi, CURLMOPT_TIMERFUNCTION,
                             httpc_timer_cb) != CURLM_OK
        || curl_multi_setopt(client->multi, CURLMOPT_TIMERDATA, client)
               != CURLM_OK
        || curl_multi_setopt(client->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                             o.max_host_connections) != CURLM_OK) {
        goto out;
    }
    result = client;
    client = NULL;
out:
    if (client) {
        httpc_destroy(client);
    }
    return result;
}

/* Frees the client once no request and no handler of ours is left. */
static void
httpc_destroy(struct httpc *client)
{
    if (client->multi) {
        curl_multi_cleanup(client->multi);
    }
    while (client->idle_easy_length) {
        curl_easy_cleanup(client->idle_easy[--client->idle_easy_length]);
    }
    /* Sockets curl did not ask us to remove during clean-up. */
    while (client->sockets) {
        httpc_socket_free(client->sockets);
    }
    if (client->timer) {
        event_free(client->timer);
    }
    free(client);
}

void
httpc_free(struct httpc *client)
{
    if (!client || client->freeing) {
        return;
    }
    client->freeing = true;
    httpc_enter(client);
    while (client->transfers) {
        httpc_finish(client->transfers, 0, "cancelled");
    }
    httpc_leave(client);
}
