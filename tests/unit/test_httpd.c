/* Unit tests for common/httpd: a real server on 127.0.0.1 (port 0) and
 * libevent's own HTTP client as an independent peer, one event_base per
 * test. Covers routing and captured parameters, 404/405/413/415/400 JSON
 * errors, /metrics, query parameters and TCP_NODELAY on accepted sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "httpd.h"
#include "metrics.h"

struct fixture {
    struct event_base *base;
    struct metrics_registry *metrics;
    struct httpd *httpd;
    struct evhttp_connection *conn;
    int nodelay;                  /* TCP_NODELAY seen by a handler */
};

struct reply {
    bool done;
    int code;
    char *body;
    char *content_type;
    char *allow;
};

static void
reply_clear(struct reply *r)
{
    free(r->body);
    free(r->content_type);
    free(r->allow);
    memset(r, 0, sizeof *r);
}

static char *
dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void
client_done(struct evhttp_request *req, void *arg)
{
    struct reply *r = arg;

    r->done = true;
    if (!req) {
        return;
    }
    r->code = evhttp_request_get_response_code(req);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t size = evbuffer_get_length(in);
    r->body = calloc(1, size + 1);
    assert_non_null(r->body);
    evbuffer_remove(in, r->body, size);
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    r->content_type = dup_or_null(evhttp_find_header(h, "Content-Type"));
    r->allow = dup_or_null(evhttp_find_header(h, "Allow"));
}

static void
request(struct fixture *f, enum evhttp_cmd_type type, const char *uri,
        const char *content_type, const char *body, size_t body_size,
        struct reply *r)
{
    struct evhttp_request *req;

    memset(r, 0, sizeof *r);
    req = evhttp_request_new(client_done, r);
    assert_non_null(req);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Host",
                      "127.0.0.1");
    if (content_type) {
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "Content-Type", content_type);
    }
    if (body) {
        evbuffer_add(evhttp_request_get_output_buffer(req), body, body_size);
    }
    assert_int_equal(evhttp_make_request(f->conn, req, type, uri), 0);
    while (!r->done) {
        assert_int_equal(event_base_loop(f->base, EVLOOP_ONCE), 0);
    }
}

/* Asserts that 'r' carries {"error": {"code": code, "message": ...}}. */
static void
assert_json_error(const struct reply *r, int code)
{
    json_error_t error;
    json_t *body, *e;

    assert_int_equal(r->code, code);
    assert_non_null(r->content_type);
    assert_string_equal(r->content_type, "application/json");
    body = json_loads(r->body, 0, &error);
    assert_non_null(body);
    e = json_object_get(body, "error");
    assert_true(json_is_object(e));
    assert_int_equal(json_integer_value(json_object_get(e, "code")), code);
    assert_true(json_is_string(json_object_get(e, "message")));
    json_decref(body);
}

/* ---- handlers ---------------------------------------------------------- */

static void
handle_echo_params(struct evhttp_request *req,
                   const struct httpd_params *params, void *arg)
{
    json_t *list = json_array();
    const char *tag = arg;

    for (size_t i = 0; i < params->length; i++) {
        json_array_append_new(list, json_string(params->values[i]));
    }
    httpd_reply_json(req, 200, json_pack("{s:s,s:o}", "route", tag,
                                         "params", list));
}

static void
handle_post_json(struct evhttp_request *req,
                 const struct httpd_params *params, void *arg)
{
    json_t *body = httpd_read_json(req);

    (void) params;
    (void) arg;
    if (!body) {
        return;
    }
    httpd_reply_json(req, 201, json_pack("{s:o}", "got", body));
}

static void
handle_no_content(struct evhttp_request *req,
                  const struct httpd_params *params, void *arg)
{
    (void) params;
    (void) arg;
    httpd_reply_json(req, 204, NULL);
}

static void
handle_nodelay(struct evhttp_request *req,
               const struct httpd_params *params, void *arg)
{
    struct fixture *f = arg;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    evutil_socket_t fd = bufferevent_getfd(
        evhttp_connection_get_bufferevent(evcon));
    socklen_t size = sizeof f->nodelay;

    (void) params;
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &f->nodelay,
                                &size), 0);
    httpd_reply_text(req, 200, "text/plain", "ok", 2);
}

static void
handle_query(struct evhttp_request *req, const struct httpd_params *params,
             void *arg)
{
    char small[4], value[64];
    int ret_small, ret_value, ret_missing;

    (void) params;
    (void) arg;
    ret_value = httpd_query_param(req, "name", value, sizeof value);
    ret_small = httpd_query_param(req, "name", small, sizeof small);
    ret_missing = httpd_query_param(req, "missing", small, sizeof small);
    httpd_reply_json(req, 200, json_pack("{s:i,s:s,s:i,s:i}", "ret", ret_value,
                                         "value", ret_value ? "" : value,
                                         "small", ret_small,
                                         "missing", ret_missing));
}

static void
handle_error(struct evhttp_request *req, const struct httpd_params *params,
             void *arg)
{
    char big[4096];

    (void) params;
    (void) arg;
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    httpd_reply_error(req, 409, "conflict: %s", big);
}

/* ---- fixtures ---------------------------------------------------------- */

static int
setup(void **state)
{
    struct httpd_options options = {
        .address = "127.0.0.1",
        .port = 0,
        .max_body_size = 1024,
        .timeout_s = 5,
        .name = "vigil_test",
    };
    struct fixture *f = calloc(1, sizeof *f);
    int error = 0;

    assert_non_null(f);
    f->base = event_base_new();
    assert_non_null(f->base);
    f->metrics = metrics_registry_new();
    assert_non_null(f->metrics);
    options.metrics = f->metrics;
    f->httpd = httpd_new(f->base, &options, &error);
    assert_non_null(f->httpd);
    assert_int_equal(error, 0);
    assert_int_not_equal(httpd_port(f->httpd), 0);

    assert_int_equal(httpd_route(f->httpd, EVHTTP_REQ_GET, "/v1/things",
                                 handle_echo_params, "list"), 0);
    assert_int_equal(httpd_route(f->httpd, EVHTTP_REQ_GET | EVHTTP_REQ_PUT,
                                 "/v1/things/{}", handle_echo_params, "one"),
                     0);
    assert_int_equal(httpd_route(f->httpd, EVHTTP_REQ_GET,
                                 "/v1/things/{}/parts/{}", handle_echo_params,
                                 "part"), 0);
    assert_int_equal(httpd_route(f->httpd, EVHTTP_REQ_POST, "/v1/things",
                                 handle_post_json, NULL), 0);
    assert_int_equal(httpd_route(f->httpd, EVHTTP_REQ_DELETE,
                                 "/v1/things/{}", handle_no_content, NULL), 0);
    assert_int_equal(httpd_route(f->httpd, EVHTTP_REQ_GET, "/nodelay",
                                 handle_nodelay, f), 0);
    assert_int_equal(httpd_route(f->httpd, EVHTTP_REQ_GET, "/query",
                                 handle_query, NULL), 0);
    assert_int_equal(httpd_route(f->httpd, EVHTTP_REQ_GET, "/error",
                                 handle_error, NULL), 0);

    f->conn = evhttp_connection_base_new(f->base, NULL, "127.0.0.1",
                                         httpd_port(f->httpd));
    assert_non_null(f->conn);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    evhttp_connection_free(f->conn);
    httpd_free(f->httpd);
    metrics_registry_free(f->metrics);
    event_base_free(f->base);
    free(f);
    return 0;
}

/* ---- tests ------------------------------------------------------------- */

static json_t *
reply_json(const struct reply *r)
{
    json_error_t error;
    json_t *v = json_loads(r->body, 0, &error);

    assert_non_null(v);
    return v;
}

static void
assert_params(const struct reply *r, const char *route, size_t length, ...)
{
    json_t *v = reply_json(r);
    json_t *params = json_object_get(v, "params");
    va_list args;

    assert_int_equal(r->code, 200);
    assert_string_equal(r->content_type, "application/json");
    assert_string_equal(json_string_value(json_object_get(v, "route")), route);
    assert_int_equal(json_array_size(params), length);
    va_start(args, length);
    for (size_t i = 0; i < length; i++) {
        assert_string_equal(json_string_value(json_array_get(params, i)),
                            va_arg(args, const char *));
    }
    va_end(args);
    json_decref(v);
}

static void
test_routing(void **state)
{
    struct fixture *f = *state;
    struct reply r;

    request(f, EVHTTP_REQ_GET, "/v1/things", NULL, NULL, 0, &r);
    assert_params(&r, "list", 0);
    reply_clear(&r);

    /* Trailing slash tolerated, query string ignored for routing. */
    request(f, EVHTTP_REQ_GET, "/v1/things/?limit=3", NULL, NULL, 0, &r);
    assert_params(&r, "list", 0);
    reply_clear(&r);

    request(f, EVHTTP_REQ_GET, "/v1/things/abc", NULL, NULL, 0, &r);
    assert_params(&r, "one", 1, "abc");
    reply_clear(&r);

    request(f, EVHTTP_REQ_PUT, "/v1/things/abc/", NULL, NULL, 0, &r);
    assert_params(&r, "one", 1, "abc");
    reply_clear(&r);

    request(f, EVHTTP_REQ_GET, "/v1/things/a%20b%2Bc+d/parts/%C3%A9t%C3%A9",
            NULL, NULL, 0, &r);
    assert_params(&r, "part", 2, "a b+c+d", "\xc3\xa9t\xc3\xa9");
    reply_clear(&r);

    request(f, EVHTTP_REQ_DELETE, "/v1/things/abc", NULL, NULL, 0, &r);
    assert_int_equal(r.code, 204);
    assert_string_equal(r.body, "");
    assert_null(r.content_type);
    reply_clear(&r);
}

static void
test_bad_segments(void **state)
{
    struct fixture *f = *state;
    char uri[1024];
    struct reply r;

    /* A decoded '/' or NUL, a broken escape, a segment too long: 400. */
    request(f, EVHTTP_REQ_GET, "/v1/things/a%2Fb", NULL, NULL, 0, &r);
    assert_json_error(&r, 400);
    reply_clear(&r);

    request(f, EVHTTP_REQ_GET, "/v1/things/a%00b", NULL, NULL, 0, &r);
    assert_json_error(&r, 400);
    reply_clear(&r);

    request(f, EVHTTP_REQ_GET, "/v1/things/a%2", NULL, NULL, 0, &r);
    assert_json_error(&r, 400);
    reply_clear(&r);

    strcpy(uri, "/v1/things/");
    memset(uri + strlen(uri), 'y', 257);
    uri[11 + 257] = '\0';
    request(f, EVHTTP_REQ_GET, uri, NULL, NULL, 0, &r);
    assert_json_error(&r, 400);
    reply_clear(&r);

    /* Exactly 256 bytes is fine. */
    uri[11 + 256] = '\0';
    request(f, EVHTTP_REQ_GET, uri, NULL, NULL, 0, &r);
    assert_params(&r, "one", 1, uri + 11);
    reply_clear(&r);

    /* 256 bytes written as escapes (768 raw bytes) is fine too. */
    strcpy(uri, "/v1/things/");
    for (size_t i = 0; i < 256; i++) {
        strcat(uri, "%41");
    }
    request(f, EVHTTP_REQ_GET, uri, NULL, NULL, 0, &r);
    assert_int_equal(r.code, 200);
    reply_clear(&r);
}

static void
test_not_found_and_method(void **state)
{
    struct fixture *f = *state;
    struct reply r;

    request(f, EVHTTP_REQ_GET, "/v2/nothing", NULL, NULL, 0, &r);
    assert_json_error(&r, 404);
    reply_clear(&r);

    request(f, EVHTTP_REQ_GET, "/v1/things/a/b", NULL, NULL, 0, &r);
    assert_json_error(&r, 404);
    reply_clear(&r);

    request(f, EVHTTP_REQ_GET, "/v1//things", NULL, NULL, 0, &r);
    assert_json_error(&r, 404);
    reply_clear(&r);

    request(f, EVHTTP_REQ_PATCH, "/v1/things/abc", NULL, NULL, 0, &r);
    assert_json_error(&r, 405);
    assert_non_null(r.allow);
    assert_string_equal(r.allow, "GET, HEAD, PUT, DELETE, OPTIONS");
    reply_clear(&r);

    request(f, EVHTTP_REQ_DELETE, "/metrics", NULL, NULL, 0, &r);
    assert_json_error(&r, 405);
    assert_string_equal(r.allow, "GET, HEAD, OPTIONS");
    reply_clear(&r);

    request(f, EVHTTP_REQ_OPTIONS, "/v1/things", NULL, NULL, 0, &r);
    assert_int_equal(r.code, 204);
    assert_string_equal(r.allow, "GET, HEAD, POST, OPTIONS");
    reply_clear(&r);

    /* HEAD is served by the GET route, without a body. */
    request(f, EVHTTP_REQ_HEAD, "/v1/things/abc", NULL, NULL, 0, &r);
    assert_int_equal(r.code, 200);
    assert_string_equal(r.body, "");
    reply_clear(&r);
}

static void
test_json_body(void **state)
{
    struct fixture *f = *state;
    const char *good = "{\"a\":[1,2,{\"b\":null}]}";
    json_t *v;
    struct reply r;

    request(f, EVHTTP_REQ_POST, "/v1/things", "application/json", good,
            strlen(good), &r);
    assert_int_equal(r.code, 201);
    v = reply_json(&r);
    assert_int_equal(json_array_size(json_object_get(json_object_get(v, "got"),
                                                     "a")), 3);
    json_decref(v);
    reply_clear(&r);

    /* Parameters on the media type and case are ignored; absent is OK. */
    request(f, EVHTTP_REQ_POST, "/v1/things",
            "Application/JSON; charset=utf-8", good, strlen(good), &r);
    assert_int_equal(r.code, 201);
    reply_clear(&r);
    request(f, EVHTTP_REQ_POST, "/v1/things", NULL, good, strlen(good), &r);
    assert_int_equal(r.code, 201);
    reply_clear(&r);

    request(f, EVHTTP_REQ_POST, "/v1/things", "text/plain", good,
            strlen(good), &r);
    assert_json_error(&r, 415);
    reply_clear(&r);
    request(f, EVHTTP_REQ_POST, "/v1/things", "application/jsonx", good,
            strlen(good), &r);
    assert_json_error(&r, 415);
    reply_clear(&r);

    request(f, EVHTTP_REQ_POST, "/v1/things", "application/json",
            "{\"a\": 1,\n \"b\": }", 17, &r);
    assert_json_error(&r, 400);
    assert_non_null(strstr(r.body, "line 2"));
    reply_clear(&r);

    request(f, EVHTTP_REQ_POST, "/v1/things", "application/json",
            "{\"a\":1,\"a\":2}", 13, &r);
    assert_json_error(&r, 400);
    assert_non_null(strstr(r.body, "duplicate"));
    reply_clear(&r);

    request(f, EVHTTP_REQ_POST, "/v1/things", "application/json", "", 0, &r);
    assert_json_error(&r, 400);
    reply_clear(&r);
}

static void
test_body_too_large(void **state)
{
    struct fixture *f = *state;
    char body[4096];
    struct reply r;

    /* {"k":"xxx..."} of 1025 bytes, one over the cap of 1024. */
    memset(body, 'x', sizeof body);
    memcpy(body, "{\"k\":\"", 6);
    memcpy(body + 1025 - 2, "\"}", 2);
    request(f, EVHTTP_REQ_POST, "/v1/things", "application/json", body, 1025,
            &r);
    assert_json_error(&r, 413);
    reply_clear(&r);

    /* Over the hard limit evhttp refuses it itself (HTML, same status). */
    {
        size_t big = HTTPD_HARD_BODY_FACTOR * 1024 + 1;
        char *huge = malloc(big);

        assert_non_null(huge);
        memset(huge, ' ', big);
        huge[0] = '[';
        huge[big - 1] = ']';
        request(f, EVHTTP_REQ_POST, "/v1/things", "application/json", huge,
                big, &r);
        assert_int_equal(r.code, 413);
        reply_clear(&r);
        free(huge);
    }

    /* Exactly at the cap is accepted. */
    memcpy(body + 1024 - 2, "\"}", 2);
    request(f, EVHTTP_REQ_POST, "/v1/things", "application/json", body, 1024,
            &r);
    assert_int_equal(r.code, 201);
    reply_clear(&r);

    /* And the server still answers afterwards. */
    request(f, EVHTTP_REQ_GET, "/v1/things", NULL, NULL, 0, &r);
    assert_int_equal(r.code, 200);
    reply_clear(&r);
}

static void
test_metrics(void **state)
{
    struct fixture *f = *state;
    struct reply r;

    request(f, EVHTTP_REQ_GET, "/v1/things", NULL, NULL, 0, &r);
    reply_clear(&r);
    request(f, EVHTTP_REQ_GET, "/nowhere", NULL, NULL, 0, &r);
    reply_clear(&r);

    request(f, EVHTTP_REQ_GET, "/metrics", NULL, NULL, 0, &r);
    assert_int_equal(r.code, 200);
    assert_non_null(r.content_type);
    assert_non_null(strstr(r.content_type, "text/plain; version=0.0.4"));
    assert_non_null(strstr(r.body, "# TYPE vigil_test_http_requests_total "
                                   "counter\n"));
    assert_non_null(strstr(r.body, "vigil_test_http_requests_total"
                                   "{code=\"2xx\"} 1\n"));
    assert_non_null(strstr(r.body, "vigil_test_http_requests_total"
                                   "{code=\"4xx\"} 1\n"));
    reply_clear(&r);

    /* The /metrics reply itself was counted once written. */
    request(f, EVHTTP_REQ_GET, "/metrics", NULL, NULL, 0, &r);
    assert_non_null(strstr(r.body, "vigil_test_http_requests_total"
                                   "{code=\"2xx\"} 2\n"));
    reply_clear(&r);
}

static void
test_query_and_errors(void **state)
{
    struct fixture *f = *state;
    json_t *v, *e;
    struct reply r;

    request(f, EVHTTP_REQ_GET, "/query?name=a%20b+c&x=1", NULL, NULL, 0, &r);
    assert_int_equal(r.code, 200);
    v = reply_json(&r);
    assert_int_equal(json_integer_value(json_object_get(v, "ret")), 0);
    assert_string_equal(json_string_value(json_object_get(v, "value")),
                        "a b c");
    assert_int_equal(json_integer_value(json_object_get(v, "small")), -E2BIG);
    assert_int_equal(json_integer_value(json_object_get(v, "missing")),
                     -ENOENT);
    json_decref(v);
    reply_clear(&r);

    request(f, EVHTTP_REQ_GET, "/query", NULL, NULL, 0, &r);
    v = reply_json(&r);
    assert_int_equal(json_integer_value(json_object_get(v, "ret")), -ENOENT);
    json_decref(v);
    reply_clear(&r);

    /* Error messages are capped at 1 KiB. */
    request(f, EVHTTP_REQ_GET, "/error", NULL, NULL, 0, &r);
    assert_json_error(&r, 409);
    v = reply_json(&r);
    e = json_object_get(v, "error");
    assert_int_equal(strlen(json_string_value(json_object_get(e, "message"))),
                     1024);
    json_decref(v);
    reply_clear(&r);
}

static void
test_nodelay(void **state)
{
    struct fixture *f = *state;
    struct reply r;

    request(f, EVHTTP_REQ_GET, "/nodelay", NULL, NULL, 0, &r);
    assert_int_equal(r.code, 200);
    assert_string_equal(r.body, "ok");
    assert_string_equal(r.content_type, "text/plain");
    assert_int_not_equal(f->nodelay, 0);
    reply_clear(&r);
}

static void
test_new_errors(void **state)
{
    struct httpd_options options = { .address = "127.0.0.1" };
    struct event_base *base = event_base_new();
    struct httpd *a, *b;
    int error = 0;

    (void) state;
    assert_non_null(base);
    a = httpd_new(base, &options, &error);
    assert_non_null(a);

    /* The same port twice: EADDRINUSE, and 'error' is set. */
    options.port = httpd_port(a);
    b = httpd_new(base, &options, &error);
    assert_null(b);
    assert_int_equal(error, -EADDRINUSE);

    options.port = 0;
    options.address = "not-an-address";
    error = 0;
    assert_null(httpd_new(base, &options, &error));
    assert_int_not_equal(error, 0);

    /* Bad routes. */
    assert_int_equal(httpd_route(a, EVHTTP_REQ_GET, "relative", handle_query,
                                 NULL), -EINVAL);
    assert_int_equal(httpd_route(a, 0, "/x", handle_query, NULL), -EINVAL);
    assert_int_equal(httpd_route(a, EVHTTP_REQ_GET, "/x", NULL, NULL),
                     -EINVAL);
    assert_int_equal(httpd_route(a, EVHTTP_REQ_GET, "/a//b", handle_query,
                                 NULL), -EINVAL);
    assert_int_equal(httpd_route(a, EVHTTP_REQ_GET, "/{}/{}/{}/{}/{}",
                                 handle_query, NULL), -EINVAL);
    assert_int_equal(httpd_route(a, EVHTTP_REQ_GET, "/{}/{}/{}/{}",
                                 handle_query, NULL), 0);

    httpd_free(a);
    httpd_free(NULL);
    event_base_free(base);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_routing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found_and_method, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_json_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_and_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_nodelay, setup, teardown),
        cmocka_unit_test(test_new_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
