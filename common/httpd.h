/* httpd: the HTTP server every Vigil daemon exposes, on libevent's evhttp.
 *
 * Routes are "METHOD mask + path pattern" where a '{}' segment captures one
 * path segment (URL-decoded, at most HTTPD_MAX_PARAMS per pattern), e.g.
 * "/v2/alarms/{}/state". Unknown paths get 404, known paths with another
 * method 405 (with an Allow header), bodies over the cap 413; every error is
 * a JSON body {"error": {"code": 404, "message": "..."}} -- except when
 * evhttp itself refuses a request before routing (a declared body over
 * HTTPD_HARD_BODY_FACTOR times the cap: 413, a method outside GET/POST/PUT/DELETE/PATCH/HEAD/OPTIONS: 501,
 * headers over 16 KiB or an unparsable request: 400), which get libevent's
 * HTML page. GET /metrics
 * serves the registry given in the options as Prometheus text, and counts
 * answered requests as <name>_http_requests_total{code="2xx"} etc. (the
 * registry must outlive the server).
 *
 * Each handler must end the request with exactly one httpd_reply_*() call,
 * now or later from the same event loop (the request stays valid until then).
 * Single-threaded: everything runs on the loop of the base it was made with. */
#ifndef VIGIL_HTTPD_H
#define VIGIL_HTTPD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evhttp_request;
struct metrics_registry;

#define HTTPD_MAX_PARAMS 4
#define HTTPD_DEFAULT_MAX_BODY_SIZE (1024 * 1024)
/* evhttp's own limit, as a multiple of the cap: bodies between the cap and
 * this get a JSON 413, larger ones libevent's HTML 413. */
#define HTTPD_HARD_BODY_FACTOR 4

struct httpd_options {
    const char *address;          /* "127.0.0.1", "::1", "0.0.0.0" */
    uint16_t port;                /* 0: any free port (see httpd_port) */
    size_t max_body_size;         /* 0: HTTPD_DEFAULT_MAX_BODY_SIZE */
    int timeout_s;                /* idle connection timeout, 0: 60 s */
    struct metrics_registry *metrics;  /* served on /metrics; may be NULL */
    const char *name;             /* metrics prefix, e.g. "vigil_notifier" */
};

/* Valid during the handler call only: copy what a later reply needs. A
 * decoded segment is never empty and holds no '/' or NUL and at most 256
 * bytes; otherwise the request gets 400. */
struct httpd_params {
    const char *values[HTTPD_MAX_PARAMS];  /* captured segments, decoded */
    size_t length;
};

/* 'methods' is a mask of enum evhttp_cmd_type values. */
typedef void httpd_handler_fn(struct evhttp_request *req,
                              const struct httpd_params *params, void *arg);

struct httpd;

/* Binds and listens. NULL on failure with '*error' set to a negative errno
 * (e.g. -EADDRINUSE). */
struct httpd *httpd_new(struct event_base *base,
                        const struct httpd_options *options, int *error);
void httpd_free(struct httpd *httpd);

/* The port actually bound (useful with port 0). */
uint16_t httpd_port(const struct httpd *httpd);

/* The loop the server runs on. */
struct event_base *httpd_base(const struct httpd *httpd);

/* Adds a route; patterns are matched in the order added. 0 or -errno. */
int httpd_route(struct httpd *httpd, unsigned int methods, const char *pattern,
                httpd_handler_fn *handler, void *arg);

/* Parses the request body as JSON. On success returns the value (caller
 * owns it). On failure it has already replied (400 malformed JSON, 413 too
 * large, 415 for a Content-Type other than JSON) and returns NULL. */
json_t *httpd_read_json(struct evhttp_request *req);

/* Replies 'code' with 'body' serialised as JSON (steals the reference;
 * NULL sends no body, e.g. for 204). */
void httpd_reply_json(struct evhttp_request *req, int code, json_t *body);

/* Replies 'code' with {"error": {"code": code, "message": <fmt...>}}. */
void httpd_reply_error(struct evhttp_request *req, int code,
                       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Replies 'code' with a plain-text body (e.g. metrics). */
void httpd_reply_text(struct evhttp_request *req, int code,
                      const char *content_type, const char *text, size_t size);

/* The decoded value of query parameter 'name', copied into 'buf' (of
 * 'size' bytes). 0, -ENOENT when absent, -E2BIG when too long, -EINVAL
 * when the query is malformed. */
int httpd_query_param(struct evhttp_request *req, const char *name,
                      char *buf, size_t size);

#endif
