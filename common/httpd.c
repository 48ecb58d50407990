/* httpd: the HTTP server of every Vigil daemon, on libevent's evhttp (see
 * httpd.h).
 *
 * evhttp parses requests and enforces the header and body caps and the idle
 * timeout; one generic callback (httpd_dispatch) routes every request through
 * the table of patterns built by httpd_route(), answering 404/405 itself.
 * Captured segments are percent-decoded into buffers on the stack, so routing
 * allocates nothing. Replies are serialised straight into the request's
 * output buffer (no intermediate copy). Accepted sockets inherit TCP_NODELAY
 * from the listening socket (Linux copies it on accept), because replies are
 * small and latency matters more than segment count. */
#include "httpd.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "metrics.h"

#define HTTPD_MAX_HEADERS_SIZE (16 * 1024)
#define HTTPD_DEFAULT_TIMEOUT_S 60
#define HTTPD_MAX_SEGMENTS 32
#define HTTPD_MAX_PARAM_SIZE 256       /* decoded captured segment, bytes */
#define HTTPD_MAX_MESSAGE_SIZE 1024    /* error message, bytes */
#define HTTPD_STATUS_CLASSES 5         /* 1xx .. 5xx */

#define HTTPD_METHODS (EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT \
                       | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH           \
                       | EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS)

struct httpd_segment {
    char *literal;          /* NULL for a '{}' capture */
    size_t size;
};

struct httpd_route {
    unsigned int methods;
    struct httpd_segment segments[HTTPD_MAX_SEGMENTS];
    size_t length;          /* segments used */
    httpd_handler_fn *handler;
    void *arg;
    struct httpd_route *next;
};

struct httpd {
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    uint16_t port;
    size_t max_body_size;
    struct metrics_registry *metrics;
    struct metrics_counter *requests[HTTPD_STATUS_CLASSES];
    struct httpd_route *routes;
    struct httpd_route **tail;
    struct httpd *next_instance;
};

/* Live servers, so that httpd_read_json() (which only gets the request) can
 * find the body cap of the server a request arrived on. */
static pthread_mutex_t httpd_instances_lock = PTHREAD_MUTEX_INITIALIZER;
static struct httpd *httpd_instances;

static void
httpd_instances_add(struct httpd *httpd)
{
    pthread_mutex_lock(&httpd_instances_lock);
    httpd->next_instance = httpd_instances;
    httpd_instances = httpd;
    pthread_mutex_unlock(&httpd_instances_lock);
}

static void
httpd_instances_remove(struct httpd *httpd)
{
    struct httpd **p;

    pthread_mutex_lock(&httpd_instances_lock);
    for (p = &httpd_instances; *p; p = &(*p)->next_instance) {
        if (*p == httpd) {
            *p = httpd->next_instance;
            break;
        }
    }
    pthread_mutex_unlock(&httpd_instances_lock);
}

static size_t
httpd_body_cap(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct evhttp *http = evcon ? evhttp_connection_get_server(evcon) : NULL;
    size_t cap = HTTPD_DEFAULT_MAX_BODY_SIZE;

    pthread_mutex_lock(&httpd_instances_lock);
    for (const struct httpd *h = httpd_instances; h; h = h->next_instance) {
        if (h->http == http) {
            cap = h->max_body_size;
            break;
        }
    }
    pthread_mutex_unlock(&httpd_instances_lock);
    return cap;
}

/* ---- replies ---------------------------------------------------------- */

static int
httpd_dump_cb(const char *buffer, size_t size, void *data)
{
    return evbuffer_add(data, buffer, size) ? -1 : 0;
}

void
httpd_reply_json(struct evhttp_request *req, int code, json_t *body)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);

    if (body) {
        if (json_dump_callback(body, httpd_dump_cb, out, JSON_COMPACT)) {
            json_decref(body);
            evbuffer_drain(out, evbuffer_get_length(out));
            httpd_reply_error(req, 500, "cannot serialise the response");
            return;
        }
        json_decref(body);
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "Content-Type", "application/json");
    }
    evhttp_send_reply(req, code, NULL, NULL);
}

/* A JSON string for 'text' of 'size' bytes; bytes that are not valid UTF-8
 * (e.g. a message cut in the middle of a character) become '?'. */
static json_t *
httpd_safe_string(char *text, size_t size)
{
    json_t *s = json_stringn(text, size);

    if (!s) {
        for (size_t i = 0; i < size; i++) {
            if ((unsigned char) text[i] >= 0x80) {
                text[i] = '?';
            }
        }
        s = json_stringn(text, size);
    }
    return s;
}

void
httpd_reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
{
    char message[HTTPD_MAX_MESSAGE_SIZE + 1];
    json_t *body = NULL, *error = NULL, *text;
    va_list args;
    int n;

    va_start(args, fmt);
    n = vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    if (n < 0) {
        n = 0;
    } else if ((size_t) n >= sizeof message) {
        n = sizeof message - 1;
    }

    text = httpd_safe_string(message, (size_t) n);
    error = json_object();
    body = json_object();
    if (!text || !error || !body
        || json_object_set_new(error, "code", json_integer(code))
        || json_object_set_new(error, "message", text)
        || json_object_set_new(body, "error", error)) {
        /* Out of memory: still reply, without a body. */
        if (error && json_object_get(error, "message") != text) {
            json_decref(text);
        }
        if (body && json_object_get(body, "error") != error) {
            json_decref(error);
        }
        json_decref(body);
        evhttp_send_reply(req, code, NULL, NULL);
        return;
    }
    httpd_reply_json(req, code, body);
}

void
httpd_reply_text(struct evhttp_request *req, int code,
                 const char *content_type, const char *text, size_t size)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);

    if (size && evbuffer_add(out, text, size)) {
        evbuffer_drain(out, evbuffer_get_length(out));
        httpd_reply_error(req, 500, "out of memory");
        return;
    }
    if (content_type) {
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "Content-Type", content_type);
    }
    evhttp_send_reply(req, code, NULL, NULL);
}

/* ---- request bodies and queries ---------------------------------------- */

/* True when 'value' is absent or names application/json (parameters such
 * as "; charset=utf-8" ignored, case-insensitive). */
static bool
httpd_is_json_type(const char *value)
{
    static const char json_type[] = "application/json";
    size_t size = sizeof json_type - 1;

    if (!value) {
        return true;
    }
    value += strspn(value, " \t");
    if (strncasecmp(value, json_type, size)) {
        return false;
    }
    value += size;
    value += strspn(value, " \t");
    return *value == '\0' || *value == ';';
}

json_t *
httpd_read_json(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    const char *type = evhttp_find_header(evhttp_request_get_input_headers(req),
                                          "Content-Type");
    size_t size = evbuffer_get_length(in);
    json_error_t error;
    const char *data;
    json_t *value;

    if (!httpd_is_json_type(type)) {
        httpd_reply_error(req, 415, "Content-Type must be application/json");
        return NULL;
    }
    if (size > httpd_body_cap(req)) {
        httpd_reply_error(req, 413, "request body larger than %zu bytes",
                          httpd_body_cap(req));
        return NULL;
    }
    if (size == 0) {
        httpd_reply_error(req, 400, "empty request body, expected JSON");
        return NULL;
    }
    data = (const char *) evbuffer_pullup(in, -1);
    if (!data) {
        httpd_reply_error(req, 500, "out of memory");
        return NULL;
    }
    value = json_loadb(data, size, JSON_REJECT_DUPLICATES, &error);
    if (!value) {
        httpd_reply_error(req, 400, "malformed JSON: %s (line %d, column %d)",
                          error.text, error.line, error.column);
        return NULL;
    }
    return value;
}

int
httpd_query_param(struct evhttp_request *req, const char *name, char *buf,
                  size_t size)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq fields;
    const char *value;
    size_t length;
    int ret = -ENOENT;

    if (!query) {
        return -ENOENT;
    }
    TAILQ_INIT(&fields);
    if (evhttp_parse_query_str(query, &fields)) {
        ret = -EINVAL;
        goto out;
    }
    value = evhttp_find_header(&fields, name);
    if (!value) {
        goto out;
    }
    length = strlen(value);
    if (length >= size) {
        ret = -E2BIG;
        goto out;
    }
    memcpy(buf, value, length + 1);
    ret = 0;
out:
    evhttp_clear_headers(&fields);
    return ret;
}

/* ---- routing ----------------------------------------------------------- */

static int
httpd_hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Percent-decodes the path segment 'raw' of 'size' bytes into 'out' (of
 * HTTPD_MAX_PARAM_SIZE + 1 bytes). '+' stays '+' (this is a path, not a
 * form). -EINVAL for a bad escape, an empty result, or one holding '/' or
 * NUL; -E2BIG when longer than HTTPD_MAX_PARAM_SIZE. */
static int
httpd_decode_segment(const char *raw, size_t size, char *out)
{
    size_t n = 0;

    for (size_t i = 0; i < size; i++) {
        char c = raw[i];

        if (c == '%') {
            int hi, lo;

            if (size - i < 3) {
                return -EINVAL;
            }
            hi = httpd_hex(raw[i + 1]);
            lo = httpd_hex(raw[i + 2]);
            if (hi < 0 || lo < 0) {
                return -EINVAL;
            }
            c = (char) (hi << 4 | lo);
            i += 2;
        }
        if (c == '\0' || c == '/') {
            return -EINVAL;
        }
        if (n == HTTPD_MAX_PARAM_SIZE) {
            return -E2BIG;
        }
        out[n++] = c;
    }
    if (n == 0) {
        return -EINVAL;
    }
    out[n] = '\0';
    return 0;
}

/* Splits 'path' (starting with '/') into segments, tolerating one trailing
 * slash. Returns the number of segments, or -1 when there are more than
 * HTTPD_MAX_SEGMENTS. */
static int
httpd_split_path(const char *path, const char **starts, size_t *sizes)
{
    size_t total = strlen(path);
    size_t length = 0;
    const char *p, *end;

    if (total > 1 && path[total - 1] == '/') {
        total--;
    }
    end = path + total;
    p = path + 1;
    if (p >= end) {
        return 0;
    }
    for (;;) {
        const char *slash = memchr(p, '/', (size_t) (end - p));
        const char *stop = slash ? slash : end;

        if (length == HTTPD_MAX_SEGMENTS) {
            return -1;
        }
        starts[length] = p;
        sizes[length] = (size_t) (stop - p);
        length++;
        if (!slash) {
            break;
        }
        p = slash + 1;
    }
    return (int) length;
}

static bool
httpd_route_matches(const struct httpd_route *route, const char **starts,
                    const size_t *sizes, size_t length)
{
    if (route->length != length) {
        return false;
    }
    for (size_t i = 0; i < length; i++) {
        const struct httpd_segment *s = &route->segments[i];

        if (s->literal) {
            if (s->size != sizes[i] || memcmp(s->literal, starts[i], s->size)) {
                return false;
            }
        } else if (sizes[i] == 0) {
            return false;
        }
    }
    return true;
}

static bool
httpd_method_allowed(unsigned int methods, enum evhttp_cmd_type method)
{
    if (methods & (unsigned int) method) {
        return true;
    }
    /* HEAD is GET without a body (evhttp drops it). */
    return method == EVHTTP_REQ_HEAD && (methods & EVHTTP_REQ_GET);
}

static void
httpd_format_allow(unsigned int methods, char *buf, size_t size)
{
    static const struct {
        unsigned int method;
        const char *name;
    } names[] = {
        { EVHTTP_REQ_GET, "GET" },         { EVHTTP_REQ_HEAD, "HEAD" },
        { EVHTTP_REQ_POST, "POST" },       { EVHTTP_REQ_PUT, "PUT" },
        { EVHTTP_REQ_PATCH, "PATCH" },     { EVHTTP_REQ_DELETE, "DELETE" },
        { EVHTTP_REQ_OPTIONS, "OPTIONS" },
    };
    size_t used = 0;

    buf[0] = '\0';
    if (methods & EVHTTP_REQ_GET) {
        methods |= EVHTTP_REQ_HEAD;
    }
    methods |= EVHTTP_REQ_OPTIONS;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (methods & names[i].method) {
            int n = snprintf(buf + used, size - used, "%s%s",
                             used ? ", " : "", names[i].name);

            if (n < 0 || (size_t) n >= size - used) {
                return;
            }
            used += (size_t) n;
        }
    }
}

static void
httpd_count(struct evhttp_request *req, void *arg)
{
    struct httpd *httpd = arg;
    int code = evhttp_request_get_response_code(req);

    if (code >= 100 && code < 600) {
        metrics_counter_add(httpd->requests[code / 100 - 1], 1);
    }
}

static void
httpd_dispatch(struct evhttp_request *req, void *arg)
{
    struct httpd *httpd = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    char values[HTTPD_MAX_PARAMS][HTTPD_MAX_PARAM_SIZE + 1];
    const char *starts[HTTPD_MAX_SEGMENTS];
    size_t sizes[HTTPD_MAX_SEGMENTS];
    unsigned int allowed = 0;
    char allow[64];
    int length;

    if (httpd->requests[0]) {
        evhttp_request_set_on_complete_cb(req, httpd_count, httpd);
    }
    if (!path || !*path) {
        path = "/";
    }
    if (path[0] != '/') {
        httpd_reply_error(req, 400, "bad request path");
        return;
    }
    length = httpd_split_path(path, starts, sizes);
    if (length < 0) {
        httpd_reply_error(req, 404, "no such resource");
        return;
    }

    for (const struct httpd_route *r = httpd->routes; r; r = r->next) {
        struct httpd_params params = { .length = 0 };

        if (!httpd_route_matches(r, starts, sizes, (size_t) length)) {
            continue;
        }
        if (!httpd_method_allowed(r->methods, method)) {
            allowed |= r->methods;
            continue;
        }
        for (size_t i = 0; i < r->length; i++) {
            if (r->segments[i].literal) {
                continue;
            }
            if (httpd_decode_segment(starts[i], sizes[i],
                                     values[params.length])) {
                httpd_reply_error(req, 400, "bad path segment %zu", i + 1);
                return;
            }
            params.values[params.length] = values[params.length];
            params.length++;
        }
        r->handler(req, &params, r->arg);
        return;
    }

    if (!allowed) {
        httpd_reply_error(req, 404, "no such resource");
        return;
    }
    httpd_format_allow(allowed, allow, sizeof allow);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
    if (method == EVHTTP_REQ_OPTIONS) {
        evhttp_send_reply(req, 204, NULL, NULL);
        return;
    }
    httpd_reply_error(req, 405, "method not allowed (allowed: %s)", allow);
}

static void
httpd_serve_metrics(struct evhttp_request *req,
                    const struct httpd_params *params, void *arg)
{
    struct httpd *httpd = arg;
    struct evbuffer *out = evhttp_request_get_output_buffer(req);

    (void) params;
    if (metrics_render(httpd->metrics, out)) {
        evbuffer_drain(out, evbuffer_get_length(out));
        httpd_reply_error(req, 500, "cannot render metrics");
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    evhttp_send_reply(req, 200, NULL, NULL);
}

static void
httpd_route_free(struct httpd_route *route)
{
    if (!route) {
        return;
    }
    for (size_t i = 0; i < route->length; i++) {
        free(route->segments[i].literal);
    }
    free(route);
}

int
httpd_route(struct httpd *httpd, unsigned int methods, const char *pattern,
            httpd_handler_fn *handler, void *arg)
{
    const char *starts[HTTPD_MAX_SEGMENTS];
    size_t sizes[HTTPD_MAX_SEGMENTS];
    struct httpd_route *route = NULL;
    size_t captures = 0;
    int length;
    int ret = -EINVAL;

    if (!httpd || !pattern || pattern[0] != '/' || !handler || !methods
        || (methods & ~(unsigned int) HTTPD_METHODS)) {
        goto out;
    }
    length = httpd_split_path(pattern, starts, sizes);
    if (length < 0) {
        goto out;
    }
    route = calloc(1, sizeof *route);
    if (!route) {
        ret = -ENOMEM;
        goto out;
    }
    route->methods = methods;
    route->handler = handler;
    route->arg = arg;
    for (int i = 0; i < length; i++) {
        struct httpd_segment *s = &route->segments[i];

        if (sizes[i] == 0) {
            goto out;
        }
        route->length++;
        if (sizes[i] == 2 && !memcmp(starts[i], "{}", 2)) {
            if (++captures > HTTPD_MAX_PARAMS) {
                goto out;
            }
            continue;
        }
        s->literal = strndup(starts[i], sizes[i]);
        if (!s->literal) {
            ret = -ENOMEM;
            goto out;
        }
        s->size = sizes[i];
    }
    *httpd->tail = route;
    httpd->tail = &route->next;
    route = NULL;
    ret = 0;
out:
    httpd_route_free(route);
    return ret;
}

/* ---- life cycle -------------------------------------------------------- */

static int
httpd_register_metrics(struct httpd *httpd, const char *prefix)
{
    static const char *const labels[HTTPD_STATUS_CLASSES] = {
        "code=\"1xx\"", "code=\"2xx\"", "code=\"3xx\"", "code=\"4xx\"",
        "code=\"5xx\"",
    };
    char name[128];
    int n;

    n = snprintf(name, sizeof name, "%s_http_requests_total",
                 prefix ? prefix : "vigil");
    if (n < 0 || (size_t) n >= sizeof name) {
        return -EINVAL;
    }
    for (size_t i = 0; i < HTTPD_STATUS_CLASSES; i++) {
        httpd->requests[i] = metrics_counter_new(
            httpd->metrics, name, "HTTP requests answered, by status class",
            labels[i]);
        if (!httpd->requests[i]) {
            return -EINVAL;
        }
    }
    return 0;
}

static int
httpd_bound_port(evutil_socket_t fd, uint16_t *port)
{
    struct sockaddr_storage ss;
    socklen_t size = sizeof ss;

    if (getsockname(fd, (struct sockaddr *) &ss, &size)) {
        return -errno;
    }
    if (ss.ss_family == AF_INET) {
        *port = ntohs(((struct sockaddr_in *) &ss)->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        *port = ntohs(((struct sockaddr_in6 *) &ss)->sin6_port);
    } else {
        return -EAFNOSUPPORT;
    }
    return 0;
}

struct httpd *
httpd_new(struct event_base *base, const struct httpd_options *options,
          int *error)
{
    struct httpd *httpd = NULL, *result = NULL;
    const char *address;
    evutil_socket_t fd;
    int one = 1;
    int ret = -EINVAL;

    if (!base || !options) {
        goto out;
    }
    address = options->address ? options->address : "127.0.0.1";
    httpd = calloc(1, sizeof *httpd);
    if (!httpd) {
        ret = -ENOMEM;
        goto out;
    }
    httpd->base = base;
    httpd->tail = &httpd->routes;
    httpd->max_body_size = options->max_body_size
                               ? options->max_body_size
                               : HTTPD_DEFAULT_MAX_BODY_SIZE;
    httpd->metrics = options->metrics;

    httpd->http = evhttp_new(base);
    if (!httpd->http) {
        ret = -ENOMEM;
        goto out;
    }
    /* evhttp refuses bodies over its own limit with an HTML page before any
     * route runs; keep that limit well above the cap so that an oversized
     * body within reason gets the JSON 413 from httpd_read_json(), while
     * memory stays bounded by the hard limit. */
    evhttp_set_max_body_size(httpd->http,
                             (ev_ssize_t) (HTTPD_HARD_BODY_FACTOR *
                                           httpd->max_body_size));
    evhttp_set_max_headers_size(httpd->http, HTTPD_MAX_HEADERS_SIZE);
    evhttp_set_timeout(httpd->http, options->timeout_s > 0
                                        ? options->timeout_s
                                        : HTTPD_DEFAULT_TIMEOUT_S);
    evhttp_set_allowed_methods(httpd->http, HTTPD_METHODS);
    /* Read and drop an oversized body before answering 413, so that the
     * client sees the answer instead of a reset. */
    evhttp_set_flags(httpd->http, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_gencb(httpd->http, httpd_dispatch, httpd);

    if (httpd->metrics) {
        ret = httpd_register_metrics(httpd, options->name);
        if (ret) {
            goto out;
        }
        ret = httpd_route(httpd, EVHTTP_REQ_GET, "/metrics",
                          httpd_serve_metrics, httpd);
        if (ret) {
            goto out;
        }
    }

    errno = 0;
    httpd->bound = evhttp_bind_socket_with_handle(httpd->http, address,
                                                  options->port);
    if (!httpd->bound) {
        ret = errno ? -errno : -EINVAL;
        goto out;
    }
    fd = evhttp_bound_socket_get_fd(httpd->bound);
    /* Inherited by every accepted socket. */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one)) {
        ret = -errno;
        goto out;
    }
    ret = httpd_bound_port(fd, &httpd->port);
    if (ret) {
        goto out;
    }
    httpd_instances_add(httpd);
    result = httpd;
    httpd = NULL;
    ret = 0;
out:
    httpd_free(httpd);
    if (ret && error) {
        *error = ret;
    }
    return result;
}

void
httpd_free(struct httpd *httpd)
{
    struct httpd_route *r, *next;

    if (!httpd) {
        return;
    }
    httpd_instances_remove(httpd);
    if (httpd->http) {
        evhttp_free(httpd->http);
    }
    for (r = httpd->routes; r; r = next) {
        next = r->next;
        httpd_route_free(r);
    }
    free(httpd);
}

uint16_t
httpd_port(const struct httpd *httpd)
{
    return httpd->port;
}

struct event_base *
httpd_base(const struct httpd *httpd)
{
    return httpd->base;
}
