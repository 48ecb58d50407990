/* httpc: an asynchronous HTTP client on libcurl's multi interface, driven by
 * the same libevent loop as the daemon (curl_multi_socket_action on socket
 * and timer events), so no call ever blocks the loop.
 *
 * Connections are reused (keep-alive, one connection cache per client) and
 * TCP_NODELAY is on. Each request has a total timeout and a connect timeout;
 * failures that may succeed later (transport errors, HTTP 5xx, 429) are
 * retried with exponential back-off and jitter up to the request's attempt
 * limit. At most max_host_connections requests per origin (scheme, host,
 * port) are on the wire at once; the others wait in that origin's FIFO and
 * start in submission order. The number of requests queued or in flight is
 * capped (max_pending);
 * beyond it httpc_submit() refuses with -ENOBUFS and the caller decides
 * (count it, keep it in its own queue). Response bodies are capped.
 * Requests never send "Expect: 100-continue"; a body without a caller's
 * Content-Type header goes as application/json.
 *
 * The first httpc_new() runs curl_global_init() once per process
 * (pthread_once); it is never undone. Single-threaded otherwise: use one
 * struct httpc from the loop it was made with. */
#ifndef VIGIL_HTTPC_H
#define VIGIL_HTTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

struct httpc_options {
    long connect_timeout_ms;      /* 0: 2000 */
    long timeout_ms;              /* default per request, 0: 5000 */
    size_t max_pending;           /* queued + in flight, 0: 10000 */
    size_t max_response_size;     /* 0: 1 MiB; larger responses fail */
    long max_host_connections;    /* per host, 0: 32 */
};

struct httpc_retry {
    unsigned int max_attempts;    /* total tries incl. the first, >= 1 */
    unsigned int initial_backoff_ms;
    unsigned int max_backoff_ms;  /* 0: an hour */
};

struct httpc_request {
    const char *method;           /* "GET", "POST", "PUT", "DELETE", ... */
    const char *url;
    const char *body;             /* may be NULL; copied */
    size_t body_size;
    const char *const *headers;   /* NULL-terminated "Name: value"; copied */
    const struct httpc_retry *retry;  /* NULL: one attempt */
    long timeout_ms;              /* per attempt; 0: the client's default */
    bool urgent;                  /* waits ahead of its origin's queued
                                   * requests (not of those on the wire) */
};

struct httpc_response {
    long status;                  /* HTTP status; 0 when none arrived */
    const char *body;             /* NUL-terminated; valid during callback */
    size_t body_size;
    const char *error;            /* NULL when an HTTP response arrived */
    unsigned int attempts;        /* tries made */
    int64_t submitted_ns;         /* CLOCK_MONOTONIC at httpc_submit */
    int64_t completed_ns;         /* CLOCK_MONOTONIC at completion */
    void *transfer;               /* private: for httpc_response_header() */
};

/* Called exactly once per accepted request, from the loop: on the final
 * response (success, non-retryable status, or last attempt), on timeout,
 * or with error "cancelled" from httpc_free(). */
typedef void httpc_done_fn(const struct httpc_response *response, void *arg);

struct httpc;

struct httpc *httpc_new(struct event_base *base,
                        const struct httpc_options *options);

/* Cancels every outstanding request (each callback runs with "cancelled",
 * status 0) and frees the client. Accepts NULL. May be called from a done
 * callback (the memory is released when that callback returns); a callback
 * run by the cancellation that calls httpc_submit() gets -ECANCELED. */
void httpc_free(struct httpc *client);

/* Starts 'request' (everything in it is copied). 0 when accepted (the
 * callback will run exactly once, never before this returns); -ENOBUFS
 * when max_pending requests are outstanding; -EINVAL for a bad request
 * (method not a token, URL not http(s) or its scheme://host:port over 300
 * characters, CR/LF in a header, max_attempts 0);
 * -ECANCELED while httpc_free() runs; -ENOMEM. */
int httpc_submit(struct httpc *client, const struct httpc_request *request,
                 httpc_done_fn *done, void *arg);

/* The value of header 'name' (case-insensitive; the last one when it is
 * repeated) of the final response, e.g. Keystone's "X-Subject-Token"; NULL
 * when absent or when no response arrived. Call it from the done callback
 * only: the value lives as long as 'response'. */
const char *httpc_response_header(const struct httpc_response *response,
                                  const char *name);

/* Requests queued, waiting for a retry, or in flight. */
size_t httpc_pending(const struct httpc *client);

#endif
