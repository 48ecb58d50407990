/* Unit tests for common/httpc: real requests over 127.0.0.1 against a real
 * httpd (common/httpd), a listening socket that never answers, and a port
 * nobody listens on; one event_base per test. Timing checks are lower
 * bounds only (back-off and timeouts cannot finish early). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpc.h"
#include "httpd.h"

#define MAX_RESULTS 64
#define MAX_PEERS 64

struct result {
    long status;
    char *body;
    size_t body_size;
    char *error;
    unsigned int attempts;
    int64_t elapsed_ns;
};

struct fixture {
    struct event_base *base;
    struct httpd *httpd;
    struct httpc *client;
    uint16_t port;
    char url[128];

    struct result results[MAX_RESULTS];
    size_t completed;

    /* Server side. */
    int flaky_codes[8];           /* replies of /flaky before a 200 */
    size_t flaky_length;
    size_t flaky_hits;
    size_t gone_hits;
    uint16_t peers[MAX_PEERS];    /* distinct client ports seen by /peer */
    size_t peers_length;

    /* /hold/{n}: requests answered only when the test releases them. */
    struct evhttp_request *held[MAX_RESULTS];
    int held_n[MAX_RESULTS];
    size_t held_length;           /* arrived */
    size_t released;

    /* Re-entrancy checks. */
    int submit_during_free;       /* what httpc_submit said in a callback */
    bool free_in_callback;
};

/* ---- server handlers --------------------------------------------------- */

static void
handle_echo(struct evhttp_request *req, const struct httpd_params *params,
            void *arg)
{
    static const char *const names[] = { "GET", "POST", "HEAD", "PUT",
                                         "DELETE", "OPTIONS", "TRACE",
                                         "CONNECT", "PATCH" };
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    struct evkeyvalq *headers = evhttp_request_get_input_headers(req);
    enum evhttp_cmd_type type = evhttp_request_get_command(req);
    const char *method = "?";
    const char *x_test = evhttp_find_header(headers, "X-Test");
    const char *ctype = evhttp_find_header(headers, "Content-Type");
    const char *expect = evhttp_find_header(headers, "Expect");
    size_t size = evbuffer_get_length(in);

    (void) params;
    (void) arg;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if ((unsigned int) type == 1u << i) {
            method = names[i];
        }
    }
    httpd_reply_json(req, 200, json_pack(
        "{s:s,s:s%,s:s?,s:s?,s:s?}", "method", method,
        "body", size ? (const char *) evbuffer_pullup(in, -1) : "", size,
        "x_test", x_test, "content_type", ctype, "expect", expect));
}

/* Replies with the size of the body and the Expect header it came with. */
static void
handle_size(struct evhttp_request *req, const struct httpd_params *params,
            void *arg)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    const char *expect = evhttp_find_header(
        evhttp_request_get_input_headers(req), "Expect");
    size_t size = evbuffer_get_length(in);
    const char *data = size ? (const char *) evbuffer_pullup(in, -1) : "";
    size_t fill = 0;

    (void) params;
    (void) arg;
    while (fill < size && data[fill] == 'q') {
        fill++;
    }
    httpd_reply_json(req, 200, json_pack("{s:I,s:I,s:s?}",
                                         "size", (json_int_t) size,
                                         "q", (json_int_t) fill,
                                         "expect", expect));
}

static void
handle_flaky(struct evhttp_request *req, const struct httpd_params *params,
             void *arg)
{
    struct fixture *f = arg;
    size_t hit = f->flaky_hits++;

    (void) params;
    if (hit < f->flaky_length) {
        httpd_reply_error(req, f->flaky_codes[hit], "try again");
        return;
    }
    httpd_reply_json(req, 200, json_pack("{s:i}", "hits", (int) f->flaky_hits));
}

static void
handle_gone(struct evhttp_request *req, const struct httpd_params *params,
            void *arg)
{
    struct fixture *f = arg;

    (void) params;
    f->gone_hits++;
    httpd_reply_error(req, 404, "gone");
}

static void
handle_big(struct evhttp_request *req, const struct httpd_params *params,
           void *arg)
{
    size_t size = strtoul(params->values[0], NULL, 10);
    char *text = malloc(size);

    (void) arg;
    assert_non_null(text);
    memset(text, 'b', size);
    httpd_reply_text(req, 200, "text/plain", text, size);
    free(text);
}

static void
handle_peer(struct evhttp_request *req, const struct httpd_params *params,
            void *arg)
{
    struct fixture *f = arg;
    char *address = NULL;
    ev_uint16_t port = 0;
    bool known = false;

    (void) params;
    evhttp_connection_get_peer(evhttp_request_get_connection(req), &address,
                               &port);
    for (size_t i = 0; i < f->peers_length; i++) {
        known |= f->peers[i] == port;
    }
    if (!known) {
        assert_true(f->peers_length < MAX_PEERS);
        f->peers[f->peers_length++] = port;
    }
    httpd_reply_json(req, 204, NULL);
}

static void
handle_hold(struct evhttp_request *req, const struct httpd_params *params,
            void *arg)
{
    struct fixture *f = arg;

    assert_true(f->held_length < MAX_RESULTS);
    f->held_n[f->held_length] = atoi(params->values[0]);
    f->held[f->held_length++] = req;
}

/* ---- client helpers ---------------------------------------------------- */

static void
on_done(const struct httpc_response *response, void *arg)
{
    struct fixture *f = arg;
    struct result *r;

    assert_true(f->completed < MAX_RESULTS);
    r = &f->results[f->completed++];
    r->status = response->status;
    assert_non_null(response->body);
    assert_int_equal(response->body[response->body_size], '\0');
    r->body = malloc(response->body_size + 1);
    assert_non_null(r->body);
    memcpy(r->body, response->body, response->body_size + 1);
    r->body_size = response->body_size;
    r->error = response->error ? strdup(response->error) : NULL;
    r->attempts = response->attempts;
    assert_true(response->completed_ns >= response->submitted_ns);
    r->elapsed_ns = response->completed_ns - response->submitted_ns;
    if (f->free_in_callback) {
        f->free_in_callback = false;
        httpc_free(f->client);
        f->client = NULL;
    }
}

/* A callback that tries to submit again (it runs during httpc_free). */
static void
on_done_resubmit(const struct httpc_response *response, void *arg)
{
    struct fixture *f = arg;
    struct httpc_request request = { .method = "GET", .url = f->url };

    on_done(response, arg);
    f->submit_during_free = httpc_submit(f->client, &request, on_done, f);
}

static void
on_guard(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    *(bool *) arg = true;
}

/* Runs the loop until 'count' callbacks ran; fails after 10 s. */
static void
run_until(struct fixture *f, size_t count)
{
    struct timeval tv = { .tv_sec = 10 };
    bool expired = false;
    struct event *guard = evtimer_new(f->base, on_guard, &expired);

    assert_non_null(guard);
    evtimer_add(guard, &tv);
    while (f->completed < count && !expired) {
        assert_true(event_base_loop(f->base, EVLOOP_ONCE) >= 0);
    }
    event_free(guard);
    assert_false(expired);
}

static int
submit(struct fixture *f, const char *method, const char *path,
       const char *body, const char *const *headers,
       const struct httpc_retry *retry, long timeout_ms)
{
    char url[256];
    struct httpc_request request = {
        .method = method,
        .url = url,
        .body = body,
        .body_size = body ? strlen(body) : 0,
        .headers = headers,
        .retry = retry,
        .timeout_ms = timeout_ms,
    };

    snprintf(url, sizeof url, "%s%s", f->url, path);
    return httpc_submit(f->client, &request, on_done, f);
}

/* A TCP port on 127.0.0.1 that listens (never accepting) when 'listening',
 * else a port nobody listens on. Returns the socket (or -1) in '*fd'. */
static uint16_t
local_port(bool listening, int *fd)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t size = sizeof sin;
    int s = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(s >= 0);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *) &sin, sizeof sin), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *) &sin, &size), 0);
    if (listening) {
        assert_int_equal(listen(s, 16), 0);
        *fd = s;
    } else {
        /* Bound but not listening: connecting is refused. */
        *fd = s;
    }
    return ntohs(sin.sin_port);
}

/* ---- fixtures ---------------------------------------------------------- */

static int
setup_with(void **state, const struct httpc_options *options)
{
    struct httpd_options server = { .address = "127.0.0.1",
                                    .max_body_size = 4 * 1024 * 1024 };
    struct fixture *f = calloc(1, sizeof *f);
    int error = 0;

    assert_non_null(f);
    f->base = event_base_new();
    assert_non_null(f->base);
    f->httpd = httpd_new(f->base, &server, &error);
    assert_non_null(f->httpd);
    f->port = httpd_port(f->httpd);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u", f->port);
    assert_int_equal(httpd_route(f->httpd, EVHTTP_REQ_GET | EVHTTP_REQ_POST
                                 | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE
                                 | EVHTTP_REQ_PATCH, "/echo", handle_echo,
                                 NULL), 0);
    assert_int_equal(httpd_route(f->httpd, EVHTTP_REQ_GET | EVHTTP_REQ_POST,
                                 "/flaky", handle_flaky, f), 0);
    assert_int_equal(httpd_route(f->httpd, EVHTTP_REQ_PUT, "/size",
                                 handle_size, f), 0);
    assert_int_equal(httpd_route(f->httpd, EVHTTP_REQ_GET, "/gone",
                                 handle_gone, f), 0);
    assert_int_equal(httpd_route(f->httpd, EVHTTP_REQ_GET, "/big/{}",
                                 handle_big, f), 0);
    assert_int_equal(httpd_route(f->httpd, EVHTTP_REQ_GET | EVHTTP_REQ_POST,
                                 "/peer",
                                 handle_peer, f), 0);
    assert_int_equal(httpd_route(f->httpd, EVHTTP_REQ_GET, "/hold/{}",
                                 handle_hold, f), 0);
    f->client = httpc_new(f->base, options);
    assert_non_null(f->client);
    *state = f;
    return 0;
}

static int
setup(void **state)
{
    return setup_with(state, NULL);
}

static int
setup_small(void **state)
{
    struct httpc_options options = {
        .max_pending = 3,
        .max_response_size = 4096,
        .connect_timeout_ms = 1000,
        .timeout_ms = 2000,
    };

    return setup_with(state, &options);
}

static int
setup_two_connections(void **state)
{
    struct httpc_options options = { .max_host_connections = 2 };

    return setup_with(state, &options);
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    httpc_free(f->client);
    httpd_free(f->httpd);
    event_base_free(f->base);
    for (size_t i = 0; i < f->completed; i++) {
        free(f->results[i].body);
        free(f->results[i].error);
    }
    free(f);
    return 0;
}

/* ---- tests ------------------------------------------------------------- */

static json_t *
result_json(const struct result *r)
{
    json_error_t error;
    json_t *v = json_loadb(r->body, r->body_size, 0, &error);

    assert_non_null(v);
    return v;
}

static void
test_round_trips(void **state)
{
    struct fixture *f = *state;
    static const char *const methods[] = { "GET", "POST", "PUT", "DELETE",
                                           "PATCH" };
    const char *const headers[] = { "X-Test: hello", NULL };

    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        char *body = NULL;
        json_t *v;

        if (i > 0) {
            body = strdup("{\"n\": 42}");
            assert_non_null(body);
        }
        assert_int_equal(submit(f, methods[i], "/echo", body, headers, NULL,
                                0), 0);
        /* Everything was copied: the caller's buffer can go at once. */
        if (body) {
            memset(body, 'Z', strlen(body));
        }
        free(body);
        /* Never before httpc_submit() returned. */
        assert_int_equal(f->completed, i);
        assert_int_equal(httpc_pending(f->client), 1);
        run_until(f, i + 1);
        assert_int_equal(httpc_pending(f->client), 0);

        struct result *r = &f->results[i];
        assert_null(r->error);
        assert_int_equal(r->status, 200);
        assert_int_equal(r->attempts, 1);
        v = result_json(r);
        assert_string_equal(json_string_value(json_object_get(v, "method")),
                            methods[i]);
        assert_string_equal(json_string_value(json_object_get(v, "x_test")),
                            "hello");
        assert_true(json_is_null(json_object_get(v, "expect")));
        assert_string_equal(json_string_value(json_object_get(v, "body")),
                            i > 0 ? "{\"n\": 42}" : "");
        if (i > 0) {
            assert_string_equal(json_string_value(json_object_get(
                                    v, "content_type")), "application/json");
        }
        json_decref(v);
    }

    /* A caller's Content-Type wins over the JSON default. */
    const char *const typed[] = { "Content-Type: text/plain", NULL };
    assert_int_equal(submit(f, "POST", "/echo", "plain", typed, NULL, 0), 0);
    run_until(f, 6);
    json_t *v = result_json(&f->results[5]);
    assert_string_equal(json_string_value(json_object_get(v, "content_type")),
                        "text/plain");
    json_decref(v);
}

static void
test_large_body(void **state)
{
    struct fixture *f = *state;
    size_t size = 3 * 1024 * 1024 / 2;
    char *body = malloc(size + 1);
    json_t *v;

    /* Over curl's threshold for "Expect: 100-continue" (1 MiB), which
     * would cost a round trip (or a second's wait) before the body. */
    assert_non_null(body);
    memset(body, 'q', size);
    body[size] = '\0';
    assert_int_equal(submit(f, "PUT", "/size", body, NULL, NULL, 0), 0);
    memset(body, 'Z', size);
    free(body);
    run_until(f, 1);
    assert_null(f->results[0].error);
    assert_int_equal(f->results[0].status, 200);
    v = result_json(&f->results[0]);
    assert_int_equal(json_integer_value(json_object_get(v, "size")), size);
    assert_int_equal(json_integer_value(json_object_get(v, "q")), size);
    assert_true(json_is_null(json_object_get(v, "expect")));
    json_decref(v);
}

static void
test_connection_refused(void **state)
{
    struct fixture *f = *state;
    struct httpc_retry retry = {
        .max_attempts = 3,
        .initial_backoff_ms = 30,
        .max_backoff_ms = 1000,
    };
    char url[128], expected[64];
    struct httpc_request request = { .method = "POST", .url = url,
                                     .body = "{}", .body_size = 2,
                                     .retry = &retry };
    int fd;
    uint16_t port = local_port(false, &fd);

    snprintf(url, sizeof url, "http://127.0.0.1:%u/x", port);
    assert_int_equal(httpc_submit(f->client, &request, on_done, f), 0);
    run_until(f, 1);
    close(fd);

    struct result *r = &f->results[0];
    assert_int_equal(r->status, 0);
    assert_int_equal(r->attempts, 3);
    assert_non_null(r->error);
    snprintf(expected, sizeof expected, "connect to 127.0.0.1:%u failed: "
             "Connection refused", port);
    assert_string_equal(r->error, expected);
    /* Back-offs 30 ms then 60 ms, each at least 80 % of that. */
    assert_true(r->elapsed_ns >= (int64_t) (0.8 * (30 + 60)) * 1000000);
}

static void
test_retry_then_success(void **state)
{
    struct fixture *f = *state;
    struct httpc_retry retry = {
        .max_attempts = 5,
        .initial_backoff_ms = 10,
        .max_backoff_ms = 15,
    };

    f->flaky_codes[0] = 503;
    f->flaky_length = 1;
    assert_int_equal(submit(f, "GET", "/flaky", NULL, NULL, &retry, 0), 0);
    run_until(f, 1);
    assert_null(f->results[0].error);
    assert_int_equal(f->results[0].status, 200);
    assert_int_equal(f->results[0].attempts, 2);
    assert_int_equal(f->flaky_hits, 2);
    assert_true(f->results[0].elapsed_ns >= 8 * 1000000);

    /* 429, 500 and 503, then a 200: four tries; back-offs 10, 15 (capped), 15. */
    f->flaky_hits = 0;
    f->flaky_codes[0] = 429;
    f->flaky_codes[1] = 500;
    f->flaky_codes[2] = 503;
    f->flaky_length = 3;
    assert_int_equal(submit(f, "POST", "/flaky", "{}", NULL, &retry, 0), 0);
    run_until(f, 2);
    assert_int_equal(f->results[1].status, 200);
    assert_int_equal(f->results[1].attempts, 4);
    assert_true(f->results[1].elapsed_ns >= (int64_t) (0.8 * 40) * 1000000);

    /* Out of attempts: the last 503 is the answer. */
    f->flaky_hits = 0;
    f->flaky_codes[0] = 503;
    f->flaky_codes[1] = 503;
    f->flaky_length = 2;
    retry.max_attempts = 2;
    assert_int_equal(submit(f, "GET", "/flaky", NULL, NULL, &retry, 0), 0);
    run_until(f, 3);
    assert_int_equal(f->results[2].status, 503);
    assert_null(f->results[2].error);
    assert_int_equal(f->results[2].attempts, 2);
    assert_non_null(strstr(f->results[2].body, "\"code\":503"));
}

static void
test_not_retried(void **state)
{
    struct fixture *f = *state;
    struct httpc_retry retry = {
        .max_attempts = 5,
        .initial_backoff_ms = 10,
        .max_backoff_ms = 100,
    };

    assert_int_equal(submit(f, "GET", "/gone", NULL, NULL, &retry, 0), 0);
    run_until(f, 1);
    assert_int_equal(f->results[0].status, 404);
    assert_null(f->results[0].error);
    assert_int_equal(f->results[0].attempts, 1);
    assert_int_equal(f->gone_hits, 1);
    assert_non_null(strstr(f->results[0].body, "\"code\":404"));
}

static void
test_timeout(void **state)
{
    struct fixture *f = *state;
    struct httpc_retry retry = { .max_attempts = 2, .initial_backoff_ms = 10,
                                 .max_backoff_ms = 10 };
    char url[128];
    struct httpc_request request = { .method = "GET", .url = url,
                                     .retry = &retry, .timeout_ms = 150 };
    int fd;
    uint16_t port = local_port(true, &fd);

    snprintf(url, sizeof url, "http://127.0.0.1:%u/silent", port);
    assert_int_equal(httpc_submit(f->client, &request, on_done, f), 0);
    run_until(f, 1);
    close(fd);
    assert_int_equal(f->results[0].status, 0);
    assert_int_equal(f->results[0].attempts, 2);
    assert_non_null(f->results[0].error);
    assert_non_null(strstr(f->results[0].error, "timed out"));
    assert_true(f->results[0].elapsed_ns >= (150 + 150 + 8) * 1000000LL);
}

static void
test_max_pending(void **state)
{
    struct fixture *f = *state;
    char url[128];
    struct httpc_request request = { .method = "GET", .url = url };
    int fd;
    uint16_t port = local_port(true, &fd);

    snprintf(url, sizeof url, "http://127.0.0.1:%u/silent", port);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(httpc_submit(f->client, &request, on_done, f), 0);
    }
    assert_int_equal(httpc_submit(f->client, &request, on_done, f), -ENOBUFS);
    assert_int_equal(httpc_pending(f->client), 3);
    /* Let them connect and send; still three in flight. */
    for (int i = 0; i < 5; i++) {
        event_base_loop(f->base, EVLOOP_NONBLOCK);
    }
    assert_int_equal(f->completed, 0);
    assert_int_equal(httpc_submit(f->client, &request, on_done, f), -ENOBUFS);

    httpc_free(f->client);
    f->client = NULL;
    close(fd);
    assert_int_equal(f->completed, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(f->results[i].status, 0);
        assert_string_equal(f->results[i].error, "cancelled");
    }
}

static void
test_response_too_large(void **state)
{
    struct fixture *f = *state;
    struct httpc_retry retry = { .max_attempts = 3, .initial_backoff_ms = 10,
                                 .max_backoff_ms = 10 };

    /* The cap is 4096: exactly that is fine, one more byte is not. */
    assert_int_equal(submit(f, "GET", "/big/4096", NULL, NULL, &retry, 0), 0);
    run_until(f, 1);
    assert_null(f->results[0].error);
    assert_int_equal(f->results[0].body_size, 4096);

    assert_int_equal(submit(f, "GET", "/big/4097", NULL, NULL, &retry, 0), 0);
    run_until(f, 2);
    assert_non_null(f->results[1].error);
    assert_non_null(strstr(f->results[1].error, "response too large"));
    assert_int_equal(f->results[1].body_size, 0);
    assert_int_equal(f->results[1].attempts, 1);

    /* The client keeps working. */
    assert_int_equal(submit(f, "GET", "/big/10", NULL, NULL, NULL, 0), 0);
    run_until(f, 3);
    assert_int_equal(f->results[2].status, 200);
    assert_string_equal(f->results[2].body, "bbbbbbbbbb");
}

static void
test_free_cancels(void **state)
{
    struct fixture *f = *state;
    struct httpc_retry retry = { .max_attempts = 5, .initial_backoff_ms = 5000,
                                 .max_backoff_ms = 5000 };
    char silent[128], refused[128];
    struct httpc_request request = { .method = "GET" };
    int silent_fd, refused_fd;
    uint16_t silent_port = local_port(true, &silent_fd);
    uint16_t refused_port = local_port(false, &refused_fd);

    snprintf(silent, sizeof silent, "http://127.0.0.1:%u/", silent_port);
    snprintf(refused, sizeof refused, "http://127.0.0.1:%u/", refused_port);

    /* Three in flight, one of which resubmits from its callback. */
    request.url = silent;
    assert_int_equal(httpc_submit(f->client, &request, on_done, f), 0);
    assert_int_equal(httpc_submit(f->client, &request, on_done_resubmit, f),
                     0);
    assert_int_equal(httpc_submit(f->client, &request, on_done, f), 0);
    /* Two waiting for a retry after a refused connection. */
    request.url = refused;
    request.retry = &retry;
    assert_int_equal(httpc_submit(f->client, &request, on_done, f), 0);
    assert_int_equal(httpc_submit(f->client, &request, on_done, f), 0);
    for (int i = 0; i < 20; i++) {
        event_base_loop(f->base, EVLOOP_NONBLOCK);
    }
    assert_int_equal(f->completed, 0);
    assert_int_equal(httpc_pending(f->client), 5);

    f->submit_during_free = 1;
    httpc_free(f->client);
    f->client = NULL;
    assert_int_equal(f->completed, 5);
    assert_int_equal(f->submit_during_free, -ECANCELED);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(f->results[i].status, 0);
        assert_string_equal(f->results[i].error, "cancelled");
    }
    /* Exactly once: nothing more arrives from the loop. */
    for (int i = 0; i < 5; i++) {
        event_base_loop(f->base, EVLOOP_NONBLOCK);
    }
    assert_int_equal(f->completed, 5);
    close(silent_fd);
    close(refused_fd);
}

static void
test_free_from_callback(void **state)
{
    struct fixture *f = *state;
    char silent[128];
    struct httpc_request request = { .method = "GET", .url = silent };
    int fd;
    uint16_t port = local_port(true, &fd);

    snprintf(silent, sizeof silent, "http://127.0.0.1:%u/", port);
    assert_int_equal(httpc_submit(f->client, &request, on_done, f), 0);
    assert_int_equal(httpc_submit(f->client, &request, on_done, f), 0);
    /* The first answer frees the client; the two others get cancelled. */
    f->free_in_callback = true;
    assert_int_equal(submit(f, "GET", "/echo", NULL, NULL, NULL, 0), 0);
    run_until(f, 3);
    assert_null(f->client);
    assert_int_equal(f->results[0].status, 200);
    assert_string_equal(f->results[1].error, "cancelled");
    assert_string_equal(f->results[2].error, "cancelled");
    for (int i = 0; i < 5; i++) {
        event_base_loop(f->base, EVLOOP_NONBLOCK);
    }
    assert_int_equal(f->completed, 3);
    close(fd);
}

static void
test_connection_reuse(void **state)
{
    struct fixture *f = *state;

    for (size_t i = 0; i < 20; i++) {
        assert_int_equal(submit(f, i % 2 ? "POST" : "GET", "/peer",
                                i % 2 ? "{}" : NULL, NULL, NULL, 0), 0);
        run_until(f, i + 1);
        assert_int_equal(f->results[i].status, 204);
    }
    assert_int_equal(f->peers_length, 1);
}

static void
test_concurrent(void **state)
{
    struct fixture *f = *state;

    /* 40 at once over several connections, all answered. */
    for (size_t i = 0; i < 40; i++) {
        assert_int_equal(submit(f, "GET", "/peer", NULL, NULL, NULL, 0), 0);
    }
    assert_int_equal(httpc_pending(f->client), 40);
    run_until(f, 40);
    for (size_t i = 0; i < 40; i++) {
        assert_int_equal(f->results[i].status, 204);
    }
    assert_int_equal(httpc_pending(f->client), 0);
    assert_true(f->peers_length >= 1);
    assert_true(f->peers_length <= 32);
}

/* Spins the loop a while without blocking. */
static void
spin(struct fixture *f)
{
    for (int i = 0; i < 50; i++) {
        event_base_loop(f->base, EVLOOP_NONBLOCK);
        usleep(200);
    }
}

/* Runs the loop until 'count' held requests arrived; fails after 10 s. */
static void
run_until_held(struct fixture *f, size_t count)
{
    for (int i = 0; i < 10000 && f->held_length < count; i++) {
        event_base_loop(f->base, EVLOOP_NONBLOCK);
        usleep(1000);
    }
    assert_int_equal(f->held_length, count);
}

static void
test_origin_queue(void **state)
{
    struct fixture *f = *state;
    char url[256];
    struct httpc_request request = { .method = "GET", .url = url };

    /* Five to one origin with two connections: two on the wire, three
     * waiting, in order. */
    for (int i = 0; i < 5; i++) {
        snprintf(url, sizeof url, "http://127.0.0.1:%u/hold/%d", f->port, i);
        assert_int_equal(httpc_submit(f->client, &request, on_done, f), 0);
    }
    run_until_held(f, 2);
    spin(f);
    assert_int_equal(f->held_length, 2);
    assert_int_equal(httpc_pending(f->client), 5);

    /* The same origin spelled differently (scheme case, explicit host
     * case) waits behind them ... */
    snprintf(url, sizeof url, "HTTP://127.0.0.1:%u/echo", f->port);
    assert_int_equal(httpc_submit(f->client, &request, on_done, f), 0);
    spin(f);
    assert_int_equal(f->completed, 0);

    /* ... another origin (the same server by name) does not. */
    snprintf(url, sizeof url, "http://localhost:%u/echo", f->port);
    assert_int_equal(httpc_submit(f->client, &request, on_done, f), 0);
    run_until(f, 1);
    assert_int_equal(f->results[0].status, 200);
    assert_int_equal(f->held_length, 2);

    /* An urgent request waits ahead of the queued ones. */
    snprintf(url, sizeof url, "http://127.0.0.1:%u/hold/9", f->port);
    request.urgent = true;
    assert_int_equal(httpc_submit(f->client, &request, on_done, f), 0);
    request.urgent = false;
    spin(f);
    assert_int_equal(f->held_length, 2);

    /* Each answer lets the next waiting request start: the urgent one,
     * then first in first out (/echo, answered at once, between 4 and
     * nothing). */
    for (size_t i = 0; i < 6; i++) {
        static const int next[] = { 9, 2, 3, 4 };

        evhttp_send_reply(f->held[i], 200, "OK", NULL);
        run_until(f, 2 + i);
        if (i < 4) {
            run_until_held(f, i + 3);
            assert_int_equal(f->held_n[i + 2], next[i]);
        }
    }
    run_until(f, 8);
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(f->results[i].status, 200);
    }
    assert_int_equal(httpc_pending(f->client), 0);
}

static void
test_bad_requests(void **state)
{
    struct fixture *f = *state;
    struct httpc_retry none = { .max_attempts = 0 };
    const char *const crlf[] = { "X-A: b\r\nX-Evil: 1", NULL };
    const char *const no_colon[] = { "X-A", NULL };
    struct httpc_request request = { .method = "GET", .url = f->url };

    assert_int_equal(submit(f, "G ET", "/echo", NULL, NULL, NULL, 0), -EINVAL);
    assert_int_equal(submit(f, "", "/echo", NULL, NULL, NULL, 0), -EINVAL);
    assert_int_equal(submit(f, "GET", "/echo", NULL, crlf, NULL, 0), -EINVAL);
    assert_int_equal(submit(f, "GET", "/echo", NULL, no_colon, NULL, 0),
                     -EINVAL);
    assert_int_equal(submit(f, "GET", "/echo", NULL, NULL, &none, 0), -EINVAL);
    request.url = "ftp://127.0.0.1/";
    assert_int_equal(httpc_submit(f->client, &request, on_done, f), -EINVAL);
    request.url = NULL;
    assert_int_equal(httpc_submit(f->client, &request, on_done, f), -EINVAL);
    {
        /* An origin longer than httpc accepts. */
        char url[600];

        snprintf(url, sizeof url, "http://%0500d/", 0);
        request.url = url;
        assert_int_equal(httpc_submit(f->client, &request, on_done, f),
                         -EINVAL);
    }
    request.url = f->url;
    request.body_size = 3;
    assert_int_equal(httpc_submit(f->client, &request, on_done, f), -EINVAL);
    assert_int_equal(httpc_submit(f->client, &request, NULL, f), -EINVAL);
    assert_int_equal(httpc_pending(f->client), 0);
    assert_int_equal(f->completed, 0);
    httpc_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retry_then_success, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_pending, setup_small,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_response_too_large, setup_small,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_free_cancels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_from_callback, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_connection_reuse, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_origin_queue,
                                        setup_two_connections, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
