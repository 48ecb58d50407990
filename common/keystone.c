/* keystone: Keystone v3 password authentication and authenticated calls
 * (see keystone.h).
 *
 * Calls are 'struct keystone_pending'. A call made while a usable token is
 * held goes straight to httpc ('flying' list); otherwise it joins the
 * 'waiting' FIFO and the 'kick' event (zero timeout, on the loop) either
 * dispatches the waiting calls or starts an authentication, whose answer
 * dispatches them or fails them. A 401 answer puts its call back on the
 * waiting list once, after invalidating the token it was made with (if
 * that is still the current one). keystone_free() completes everything and
 * leaves the httpc requests still in flight 'orphaned': their httpc
 * callbacks only free them. */
#include "keystone.h"
#include "keystone_private.h"

#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "metrics.h"
#include "vtime.h"

#define KEYSTONE_MAX_HEADERS 8
#define KEYSTONE_MAX_URL_SIZE 8192
#define KEYSTONE_TOKEN_HEADER "X-Subject-Token"
#define KEYSTONE_AUTH_ATTEMPTS 3
#define KEYSTONE_RENEW_RETRY_NS (5LL * 1000000000LL)

struct keystone_pending {
    struct keystone *ks;              /* NULL: orphaned by keystone_free */
    struct keystone_pending *prev, *next;
    bool flying;
    char *service_type;               /* NULL: 'path' is a URL */
    char *method;
    char *path;
    char *body;
    size_t body_size;
    char *headers[KEYSTONE_MAX_HEADERS + 1];
    size_t n_headers;
    struct httpc_retry retry;
    bool has_retry;
    long timeout_ms;
    bool urgent;
    bool replayed;                    /* a 401 was answered once */
    uint64_t token_generation;        /* of the token it was sent with */
    keystone_done_fn *done;
    void *arg;
};

/* A doubly linked list of pending calls. */
struct keystone_list {
    struct keystone_pending *head, *tail;
    size_t length;
};

/* The authentication request in flight. */
struct keystone_auth {
    struct keystone *ks;              /* NULL: orphaned */
    const char *reason;
};

struct keystone {
    struct event_base *base;
    struct httpc *client;
    char *auth_url;                   /* ".../v3/auth/tokens" */
    char *auth_body;
    char *interface;
    char *region;
    long timeout_ms;
    struct httpc_retry retry;
    int64_t renew_before_ns;
    size_t max_waiting;
    keystone_auth_fn *on_auth;
    void *arg;

    char *token;                      /* NULL: none */
    bool token_refused;               /* a call with it got 401 */
    uint64_t token_generation;
    int64_t token_expires_ns;         /* CLOCK_MONOTONIC */
    struct keystone_catalog *catalog; /* of the last token; NULL: none */
    struct keystone_auth *auth;       /* in flight; NULL: none */

    struct keystone_list waiting;
    struct keystone_list flying;
    struct event *kick;
    struct event *renew_timer;

    struct keystone_stats stats;
    struct metrics_counter *m_auth_ok;
    struct metrics_counter *m_auth_failed;
    struct metrics_counter *m_unauthorized;
    struct metrics_counter *m_replayed;
    struct metrics_gauge *m_token;
};

/* ---- pure helpers (keystone_private.h) ---------------------------------- */

static void
keystone_set_error(char *err, size_t err_size, const char *fmt, const char *a)
{
    if (err && err_size) {
        snprintf(err, err_size, fmt, a);
    }
}

static void
keystone_endpoint_clear(struct keystone_endpoint *e)
{
    free(e->type);
    free(e->interface);
    free(e->region);
    free(e->url);
    memset(e, 0, sizeof *e);
}

void
keystone_catalog_free(struct keystone_catalog *catalog)
{
    if (!catalog) {
        return;
    }
    for (size_t i = 0; i < catalog->length; i++) {
        keystone_endpoint_clear(&catalog->endpoints[i]);
    }
    free(catalog->endpoints);
    free(catalog);
}

static const char *
keystone_json_string(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s && strlen(s) <= KEYSTONE_MAX_STRING_LENGTH ? s : NULL;
}

/* Adds the usable endpoints of one catalog service to 'c'. 0 or -ENOMEM. */
static int
keystone_add_service(struct keystone_catalog *c, size_t *allocated,
                     const json_t *service)
{
    const char *type = keystone_json_string(service, "type");
    const json_t *endpoints = json_object_get(service, "endpoints");
    const json_t *ep;
    size_t i;

    if (!type || !json_is_array(endpoints)) {
        return 0;
    }
    json_array_foreach(endpoints, i, ep) {
        const char *interface = keystone_json_string(ep, "interface");
        const char *url = keystone_json_string(ep, "url");
        const char *region = keystone_json_string(ep, "region_id");
        struct keystone_endpoint *e;
        size_t url_length;

        if (!region) {
            region = keystone_json_string(ep, "region");
        }
        if (!interface || !url || c->length >= KEYSTONE_MAX_ENDPOINTS
            || (strncasecmp(url, "http://", 7)
                && strncasecmp(url, "https://", 8))) {
            continue;
        }
        if (c->length == *allocated) {
            size_t n = *allocated ? *allocated * 2 : 16;
            struct keystone_endpoint *p = realloc(c->endpoints,
                                                  n * sizeof *p);

            if (!p) {
                return -ENOMEM;
            }
            c->endpoints = p;
            *allocated = n;
        }
        e = &c->endpoints[c->length];
        memset(e, 0, sizeof *e);
        e->type = strdup(type);
        e->interface = strdup(interface);
        e->region = strdup(region ? region : "");
        e->url = strdup(url);
        if (!e->type || !e->interface || !e->region || !e->url) {
            keystone_endpoint_clear(e);
            return -ENOMEM;
        }
        url_length = strlen(e->url);
        while (url_length && e->url[url_length - 1] == '/') {
            e->url[--url_length] = '\0';
        }
        c->length++;
    }
    return 0;
}

int
keystone_parse_token(const char *body, size_t size, int64_t *lifetime_ns,
                     struct keystone_catalog **catalog, char *err,
                     size_t err_size)
{
    struct keystone_catalog *c = NULL;
    json_t *root = NULL;
    const json_t *token, *services, *service;
    const char *expires, *issued;
    int64_t expires_ns, issued_ns;
    json_error_t jerr;
    size_t allocated = 0, i;
    int ret = -EINVAL;

    if (!body) {
        keystone_set_error(err, err_size, "%s", "empty answer");
        goto out;
    }
    root = json_loadb(body, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        keystone_set_error(err, err_size, "malformed JSON: %s", jerr.text);
        goto out;
    }
    token = json_object_get(root, "token");
    if (!json_is_object(token)) {
        keystone_set_error(err, err_size, "%s", "no \"token\" object");
        goto out;
    }
    expires = keystone_json_string(token, "expires_at");
    issued = keystone_json_string(token, "issued_at");
    if (!expires || vtime_parse_iso(expires, &expires_ns)) {
        keystone_set_error(err, err_size, "%s",
                           "token.expires_at missing or not ISO-8601");
        goto out;
    }
    if (!issued || vtime_parse_iso(issued, &issued_ns)) {
        keystone_set_error(err, err_size, "%s",
                           "token.issued_at missing or not ISO-8601");
        goto out;
    }
    if (expires_ns <= issued_ns) {
        keystone_set_error(err, err_size, "%s",
                           "token.expires_at is not after issued_at");
        goto out;
    }
    services = json_object_get(token, "catalog");
    if (services && !json_is_array(services)) {
        keystone_set_error(err, err_size, "%s", "token.catalog is not a list");
        goto out;
    }
    ret = -ENOMEM;
    c = calloc(1, sizeof *c);
    if (!c) {
        goto out;
    }
    json_array_foreach(services, i, service) {
        if (keystone_add_service(c, &allocated, service)) {
            goto out;
        }
    }
    *lifetime_ns = expires_ns - issued_ns;
    *catalog = c;
    c = NULL;
    ret = 0;
out:
    if (ret == -ENOMEM) {
        keystone_set_error(err, err_size, "%s", "out of memory");
    }
    keystone_catalog_free(c);
    json_decref(root);
    return ret;
}

const char *
keystone_catalog_find(const struct keystone_catalog *catalog,
                      const char *type, const char *interface,
                      const char *region)
{
    if (!catalog || !type || !interface) {
        return NULL;
    }
    for (size_t i = 0; i < catalog->length; i++) {
        const struct keystone_endpoint *e = &catalog->endpoints[i];

        if (!strcmp(e->type, type) && !strcmp(e->interface, interface)
            && (!region || !region[0] || !strcmp(e->region, region))) {
            return e->url;
        }
    }
    return NULL;
}

int64_t
keystone_renew_delay_ns(int64_t lifetime_ns, int64_t renew_before_ns)
{
    int64_t delay;

    if (lifetime_ns <= 0) {
        return 0;
    }
    if (renew_before_ns < 0) {
        renew_before_ns = 0;
    }
    delay = renew_before_ns >= lifetime_ns ? 0 : lifetime_ns - renew_before_ns;
    return delay < lifetime_ns / 2 ? lifetime_ns / 2 : delay;
}

char *
keystone_auth_body(const char *username, const char *password,
                   const char *user_domain_name, const char *project_name,
                   const char *project_domain_name)
{
    json_t *body = json_pack(
        "{s:{s:{s:[s],s:{s:{s:s,s:{s:s},s:s}}},s:{s:{s:s,s:{s:s}}}}}",
        "auth", "identity", "methods", "password", "password", "user",
        "name", username, "domain", "name", user_domain_name,
        "password", password, "scope", "project", "name", project_name,
        "domain", "name", project_domain_name);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

    json_decref(body);
    return text;
}

/* ---- lists -------------------------------------------------------------- */

static void
keystone_list_append(struct keystone_list *l, struct keystone_pending *p)
{
    p->next = NULL;
    p->prev = l->tail;
    if (l->tail) {
        l->tail->next = p;
    } else {
        l->head = p;
    }
    l->tail = p;
    l->length++;
}

static void
keystone_list_remove(struct keystone_list *l, struct keystone_pending *p)
{
    if (p->prev) {
        p->prev->next = p->next;
    } else {
        l->head = p->next;
    }
    if (p->next) {
        p->next->prev = p->prev;
    } else {
        l->tail = p->prev;
    }
    p->prev = p->next = NULL;
    l->length--;
}

static void
keystone_pending_free(struct keystone_pending *p)
{
    if (!p) {
        return;
    }
    free(p->service_type);
    free(p->method);
    free(p->path);
    free(p->body);
    for (size_t i = 0; i < p->n_headers; i++) {
        free(p->headers[i]);
    }
    free(p);
}

/* Runs the callback of 'p' with a made-up failure and frees it; 'p' is in
 * no list. */
static void
keystone_pending_fail(struct keystone_pending *p, const char *error)
{
    struct httpc_response response = {
        .status = 0,
        .body = "",
        .error = error,
    };

    response.submitted_ns = response.completed_ns = vtime_mono_ns();
    if (p->ks) {
        p->ks->stats.calls++;
    }
    p->done(&response, p->arg);
    keystone_pending_free(p);
}

/* ---- token -------------------------------------------------------------- */

static bool
keystone_token_usable(const struct keystone *ks)
{
    return ks->token && !ks->token_refused
           && vtime_mono_ns() < ks->token_expires_ns;
}

bool
keystone_has_token(const struct keystone *ks)
{
    return ks && keystone_token_usable(ks);
}

static void
keystone_update_gauge(struct keystone *ks)
{
    metrics_gauge_set(ks->m_token, keystone_token_usable(ks) ? 1 : 0);
}

static void keystone_dispatch_waiting(struct keystone *ks);
static int keystone_start_auth(struct keystone *ks, const char *reason);

/* Fails every waiting call with 'error'. */
static void
keystone_fail_waiting(struct keystone *ks, const char *error)
{
    while (ks->waiting.head) {
        struct keystone_pending *p = ks->waiting.head;

        keystone_list_remove(&ks->waiting, p);
        keystone_pending_fail(p, error);
    }
}

static void
keystone_report(struct keystone *ks, const struct keystone_auth_report *r)
{
    if (ks->on_auth) {
        ks->on_auth(ks, r, ks->arg);
    }
}

static void
keystone_schedule_renewal(struct keystone *ks, int64_t delay_ns)
{
    struct timeval tv = {
        .tv_sec = (time_t) (delay_ns / 1000000000),
        .tv_usec = (suseconds_t) (delay_ns % 1000000000 / 1000),
    };

    evtimer_add(ks->renew_timer, &tv);
}

/* Takes a new token from a 201 answer. 0, or -EINVAL with 'err' set. */
static int
keystone_take_token(struct keystone *ks, const struct httpc_response *r,
                    int64_t *lifetime_ns, char *err, size_t err_size)
{
    const char *token = httpc_response_header(r, KEYSTONE_TOKEN_HEADER);
    struct keystone_catalog *catalog = NULL;
    char *copy;
    int ret;

    if (!token || !token[0] || strlen(token) > KEYSTONE_MAX_STRING_LENGTH) {
        snprintf(err, err_size, "no usable %s header", KEYSTONE_TOKEN_HEADER);
        return -EINVAL;
    }
    ret = keystone_parse_token(r->body, r->body_size, lifetime_ns, &catalog,
                               err, err_size);
    if (ret) {
        return ret;
    }
    copy = strdup(token);
    if (!copy) {
        keystone_catalog_free(catalog);
        snprintf(err, err_size, "out of memory");
        return -ENOMEM;
    }
    free(ks->token);
    ks->token = copy;
    ks->token_refused = false;
    ks->token_generation++;
    ks->token_expires_ns = r->completed_ns + *lifetime_ns;
    keystone_catalog_free(ks->catalog);
    ks->catalog = catalog;
    keystone_schedule_renewal(ks, keystone_renew_delay_ns(
        *lifetime_ns, ks->renew_before_ns));
    return 0;
}

static void
keystone_auth_done(const struct httpc_response *r, void *arg)
{
    struct keystone_auth *auth = arg;
    struct keystone *ks = auth->ks;
    struct keystone_auth_report report = { .status = r->status };
    char err[512] = "";
    int64_t lifetime_ns = 0;

    if (!ks) {
        free(auth);
        return;
    }
    ks->auth = NULL;
    report.reason = auth->reason;
    free(auth);
    if (r->error) {
        snprintf(err, sizeof err, "%s", r->error);
    } else if (r->status != 201) {
        snprintf(err, sizeof err, "HTTP %ld", r->status);
    } else if (keystone_take_token(ks, r, &lifetime_ns, err, sizeof err)
               == 0) {
        report.ok = true;
    }
    if (report.ok) {
        ks->stats.authentications++;
        metrics_counter_add(ks->m_auth_ok, 1);
        report.lifetime_ns = lifetime_ns;
        report.endpoints = ks->catalog->length;
    } else {
        char message[600];

        ks->stats.auth_failures++;
        metrics_counter_add(ks->m_auth_failed, 1);
        report.error = err;
        /* A failed renewal keeps the old token while it lasts. */
        if (keystone_token_usable(ks)) {
            keystone_schedule_renewal(ks, KEYSTONE_RENEW_RETRY_NS);
        }
        snprintf(message, sizeof message, "keystone: authentication failed: "
                 "%s", err);
        keystone_update_gauge(ks);
        keystone_report(ks, &report);
        if (!keystone_token_usable(ks)) {
            keystone_fail_waiting(ks, message);
        } else {
            keystone_dispatch_waiting(ks);
        }
        return;
    }
    keystone_update_gauge(ks);
    keystone_report(ks, &report);
    keystone_dispatch_waiting(ks);
}

/* Starts an authentication. 0 or -errno (from httpc). */
static int
keystone_start_auth(struct keystone *ks, const char *reason)
{
    const char *headers[] = { "Content-Type: application/json", NULL };
    struct httpc_request req = {
        .method = "POST",
        .url = ks->auth_url,
        .body = ks->auth_body,
        .body_size = strlen(ks->auth_body),
        .headers = headers,
        .retry = &ks->retry,
        .timeout_ms = ks->timeout_ms,
    };
    struct keystone_auth *auth;
    int ret;

    if (ks->auth) {
        return 0;
    }
    auth = calloc(1, sizeof *auth);
    if (!auth) {
        return -ENOMEM;
    }
    auth->ks = ks;
    auth->reason = reason;
    ret = httpc_submit(ks->client, &req, keystone_auth_done, auth);
    if (ret) {
        free(auth);
        return ret;
    }
    ks->auth = auth;
    return 0;
}

static void
keystone_renew_event(evutil_socket_t fd, short what, void *arg)
{
    struct keystone *ks = arg;

    (void) fd;
    (void) what;
    if (ks->auth) {
        return;
    }
    ks->stats.renewals++;
    if (keystone_start_auth(ks, "renew")) {
        keystone_schedule_renewal(ks, KEYSTONE_RENEW_RETRY_NS);
    }
}

/* ---- calls -------------------------------------------------------------- */

static void keystone_call_done(const struct httpc_response *r, void *arg);

/* Sends 'p' (in no list) with the current token. 0, or -errno with the
 * reason in 'err' ('p' still owned by the caller). */
static int
keystone_send(struct keystone *ks, struct keystone_pending *p, char *err,
              size_t err_size)
{
    const char *headers[KEYSTONE_MAX_HEADERS + 2];
    char *auth_header = NULL, *url = NULL;
    const char *base = NULL;
    struct httpc_request req = { 0 };
    int ret = -ENOMEM;

    if (p->service_type) {
        base = keystone_catalog_find(ks->catalog, p->service_type,
                                     ks->interface, ks->region);
        if (!base) {
            snprintf(err, err_size, "keystone: no '%s' endpoint (interface "
                     "%s, region %s) in the catalog", p->service_type,
                     ks->interface, ks->region[0] ? ks->region : "any");
            ret = -ENOENT;
            goto out;
        }
        if (asprintf(&url, "%s%s%s", base,
                     p->path[0] == '/' || !p->path[0] ? "" : "/",
                     p->path) < 0) {
            url = NULL;
            goto out;
        }
    } else {
        url = strdup(p->path);
        if (!url) {
            goto out;
        }
    }
    if (strlen(url) >= KEYSTONE_MAX_URL_SIZE) {
        snprintf(err, err_size, "keystone: URL too long");
        ret = -ENAMETOOLONG;
        goto out;
    }
    if (asprintf(&auth_header, "X-Auth-Token: %s", ks->token) < 0) {
        auth_header = NULL;
        goto out;
    }
    headers[0] = auth_header;
    for (size_t i = 0; i < p->n_headers; i++) {
        headers[i + 1] = p->headers[i];
    }
    headers[p->n_headers + 1] = NULL;
    req.method = p->method;
    req.url = url;
    req.body = p->body;
    req.body_size = p->body_size;
    req.headers = headers;
    req.retry = p->has_retry ? &p->retry : NULL;
    req.timeout_ms = p->timeout_ms;
    req.urgent = p->urgent;
    ret = httpc_submit(ks->client, &req, keystone_call_done, p);
    if (ret) {
        snprintf(err, err_size, "keystone: cannot submit the request: %s",
                 strerror(-ret));
        goto out;
    }
    p->token_generation = ks->token_generation;
    p->flying = true;
    keystone_list_append(&ks->flying, p);
out:
    if (ret == -ENOMEM && !err[0]) {
        snprintf(err, err_size, "keystone: out of memory");
    }
    free(auth_header);
    free(url);
    return ret;
}

/* Sends every waiting call when a usable token is held, else starts an
 * authentication (or fails them when it cannot start). */
static void
keystone_dispatch_waiting(struct keystone *ks)
{
    if (!ks->waiting.head) {
        return;
    }
    if (!keystone_token_usable(ks)) {
        int ret;

        if (ks->auth) {
            return;
        }
        ret = keystone_start_auth(ks, !ks->token ? "start"
                                      : ks->token_refused ? "401"
                                      : "expired");
        if (ret) {
            char message[128];

            snprintf(message, sizeof message, "keystone: cannot start the "
                     "authentication: %s", strerror(-ret));
            keystone_fail_waiting(ks, message);
        }
        return;
    }
    while (ks->waiting.head) {
        struct keystone_pending *p = ks->waiting.head;
        char err[512] = "";

        keystone_list_remove(&ks->waiting, p);
        if (keystone_send(ks, p, err, sizeof err)) {
            keystone_pending_fail(p, err);
        }
    }
}

static void
keystone_kick_event(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    keystone_dispatch_waiting(arg);
}

static void
keystone_call_done(const struct httpc_response *r, void *arg)
{
    struct keystone_pending *p = arg;
    struct keystone *ks = p->ks;

    if (!ks) {
        keystone_pending_free(p);
        return;
    }
    keystone_list_remove(&ks->flying, p);
    p->flying = false;
    if (r->status == 401) {
        ks->stats.unauthorized++;
        metrics_counter_add(ks->m_unauthorized, 1);
        if (!p->replayed) {
            if (p->token_generation == ks->token_generation) {
                ks->token_refused = true;
                keystone_update_gauge(ks);
            }
            p->replayed = true;
            ks->stats.replayed++;
            metrics_counter_add(ks->m_replayed, 1);
            keystone_list_append(&ks->waiting, p);
            keystone_dispatch_waiting(ks);
            return;
        }
    }
    ks->stats.calls++;
    p->done(r, p->arg);
    keystone_pending_free(p);
}

int
keystone_call(struct keystone *ks, const struct keystone_call *call,
              keystone_done_fn *done, void *arg)
{
    struct keystone_pending *p = NULL;
    int ret = -EINVAL;

    if (!ks || !call || !done || !call->method || !call->path
        || (!call->body && call->body_size)) {
        goto out;
    }
    if (!call->service_type && strncasecmp(call->path, "http://", 7)
        && strncasecmp(call->path, "https://", 8)) {
        goto out;
    }
    ret = -ENOMEM;
    p = calloc(1, sizeof *p);
    if (!p) {
        goto out;
    }
    p->ks = ks;
    p->done = done;
    p->arg = arg;
    p->timeout_ms = call->timeout_ms;
    p->urgent = call->urgent;
    if (call->retry) {
        p->retry = *call->retry;
        p->has_retry = true;
    }
    p->method = strdup(call->method);
    p->path = strdup(call->path);
    if (!p->method || !p->path) {
        goto out;
    }
    if (call->service_type) {
        p->service_type = strdup(call->service_type);
        if (!p->service_type) {
            goto out;
        }
    }
    if (call->body) {
        p->body = malloc(call->body_size + 1);
        if (!p->body) {
            goto out;
        }
        memcpy(p->body, call->body, call->body_size);
        p->body[call->body_size] = '\0';
        p->body_size = call->body_size;
    }
    for (size_t i = 0; call->headers && call->headers[i]; i++) {
        if (i == KEYSTONE_MAX_HEADERS) {
            ret = -EINVAL;
            goto out;
        }
        p->headers[i] = strdup(call->headers[i]);
        if (!p->headers[i]) {
            goto out;
        }
        p->n_headers++;
    }
    if (keystone_token_usable(ks) && !ks->waiting.head) {
        char err[512] = "";

        ret = keystone_send(ks, p, err, sizeof err);
        if (ret == 0) {
            p = NULL;
            goto out;
        }
        if (ret != -ENOENT) {
            goto out;
        }
        /* No such endpoint: fail it from the loop, not from here. */
    }
    if (ks->waiting.length >= ks->max_waiting) {
        ret = -ENOBUFS;
        goto out;
    }
    keystone_list_append(&ks->waiting, p);
    p = NULL;
    event_active(ks->kick, EV_TIMEOUT, 0);
    ret = 0;
out:
    keystone_pending_free(p);
    return ret;
}

int
keystone_authenticate(struct keystone *ks)
{
    if (!ks) {
        return -EINVAL;
    }
    if (keystone_token_usable(ks)) {
        return 0;
    }
    return keystone_start_auth(ks, ks->token ? "expired" : "start");
}

int
keystone_endpoint(const struct keystone *ks, const char *service_type,
                  char *url, size_t size)
{
    const char *found;

    if (!ks || !ks->catalog) {
        return -EAGAIN;
    }
    found = keystone_catalog_find(ks->catalog, service_type, ks->interface,
                                  ks->region);
    if (!found) {
        return -ENOENT;
    }
    if (strlen(found) >= size) {
        return -ENAMETOOLONG;
    }
    memcpy(url, found, strlen(found) + 1);
    return 0;
}

void
keystone_get_stats(const struct keystone *ks, struct keystone_stats *stats)
{
    *stats = ks->stats;
    stats->waiting = ks->waiting.length;
}

/* ---- life cycle --------------------------------------------------------- */

static int
keystone_register_metrics(struct keystone *ks, struct metrics_registry *reg,
                          const char *prefix)
{
    char name[4][160];
    static const char *const suffixes[] = {
        "keystone_authentications_total", "keystone_unauthorized_total",
        "keystone_replayed_total", "keystone_token_valid",
    };

    for (int i = 0; i < 4; i++) {
        int n = snprintf(name[i], sizeof name[i], "%s_%s", prefix,
                         suffixes[i]);

        if (n < 0 || (size_t) n >= sizeof name[i]) {
            return -EINVAL;
        }
    }
    ks->m_auth_ok = metrics_counter_new(reg, name[0],
        "Keystone authentications, by result.", "result=\"ok\"");
    ks->m_auth_failed = metrics_counter_new(reg, name[0],
        "Keystone authentications, by result.", "result=\"failed\"");
    ks->m_unauthorized = metrics_counter_new(reg, name[1],
        "Calls answered 401 Unauthorized.", NULL);
    ks->m_replayed = metrics_counter_new(reg, name[2],
        "Calls replayed with a fresh token after a 401.", NULL);
    ks->m_token = metrics_gauge_new(reg, name[3],
        "1 while a usable Keystone token is held.", NULL);
    if (!ks->m_auth_ok || !ks->m_auth_failed || !ks->m_unauthorized
        || !ks->m_replayed || !ks->m_token) {
        return -ENOMEM;
    }
    return 0;
}

static bool
keystone_valid_string(const char *s, bool required)
{
    if (!s || !s[0]) {
        return !required;
    }
    return strlen(s) <= KEYSTONE_MAX_STRING_LENGTH;
}

struct keystone *
keystone_new(struct event_base *base, struct httpc *client,
             const struct keystone_options *o, int *error)
{
    struct keystone *ks = NULL, *result = NULL;
    const char *udomain, *pdomain;
    size_t length;
    int ret = -EINVAL;

    if (!base || !client || !o || !keystone_valid_string(o->auth_url, true)
        || (strncasecmp(o->auth_url, "http://", 7)
            && strncasecmp(o->auth_url, "https://", 8))
        || !keystone_valid_string(o->username, true)
        || !keystone_valid_string(o->password, true)
        || !keystone_valid_string(o->project_name, true)
        || !keystone_valid_string(o->user_domain_name, false)
        || !keystone_valid_string(o->project_domain_name, false)
        || !keystone_valid_string(o->region_name, false)
        || !keystone_valid_string(o->interface, false)
        || o->timeout_ms < 0 || o->renew_before_ns < 0
        || (o->metrics && !o->metrics_prefix)) {
        goto out;
    }
    ret = -ENOMEM;
    ks = calloc(1, sizeof *ks);
    if (!ks) {
        goto out;
    }
    ks->base = base;
    ks->client = client;
    ks->timeout_ms = o->timeout_ms;
    ks->retry = o->retry;
    if (!ks->retry.max_attempts) {
        ks->retry = (struct httpc_retry) {
            .max_attempts = KEYSTONE_AUTH_ATTEMPTS,
            .initial_backoff_ms = 100, .max_backoff_ms = 1000,
        };
    }
    ks->renew_before_ns = o->renew_before_ns ? o->renew_before_ns
                                             : KEYSTONE_DEFAULT_RENEW_BEFORE_NS;
    ks->max_waiting = o->max_waiting ? o->max_waiting
                                     : KEYSTONE_DEFAULT_MAX_WAITING;
    ks->on_auth = o->on_auth;
    ks->arg = o->arg;
    udomain = o->user_domain_name && o->user_domain_name[0]
              ? o->user_domain_name : "Default";
    pdomain = o->project_domain_name && o->project_domain_name[0]
              ? o->project_domain_name : "Default";
    length = strlen(o->auth_url);
    while (length && o->auth_url[length - 1] == '/') {
        length--;
    }
    if (asprintf(&ks->auth_url, "%.*s%s/auth/tokens", (int) length,
                 o->auth_url,
                 length >= 3 && !strncmp(o->auth_url + length - 3, "/v3", 3)
                     ? "" : "/v3") < 0) {
        ks->auth_url = NULL;
        goto out;
    }
    ks->auth_body = keystone_auth_body(o->username, o->password, udomain,
                                       o->project_name, pdomain);
    ks->interface = strdup(o->interface && o->interface[0] ? o->interface
                                                           : "public");
    ks->region = strdup(o->region_name ? o->region_name : "");
    ks->kick = event_new(base, -1, 0, keystone_kick_event, ks);
    ks->renew_timer = evtimer_new(base, keystone_renew_event, ks);
    if (!ks->auth_body || !ks->interface || !ks->region || !ks->kick
        || !ks->renew_timer) {
        goto out;
    }
    if (o->metrics) {
        ret = keystone_register_metrics(ks, o->metrics, o->metrics_prefix);
        if (ret) {
            goto out;
        }
    }
    result = ks;
    ks = NULL;
    ret = 0;
out:
    keystone_free(ks);
    if (error) {
        *error = ret;
    }
    return result;
}

void
keystone_free(struct keystone *ks)
{
    if (!ks) {
        return;
    }
    if (ks->auth) {
        ks->auth->ks = NULL;     /* its httpc callback frees it */
    }
    keystone_fail_waiting(ks, "cancelled");
    while (ks->flying.head) {
        struct keystone_pending *p = ks->flying.head;
        struct httpc_response response = {
            .body = "", .error = "cancelled",
        };

        keystone_list_remove(&ks->flying, p);
        p->ks = NULL;            /* its httpc callback frees it */
        response.submitted_ns = response.completed_ns = vtime_mono_ns();
        p->done(&response, p->arg);
    }
    if (ks->kick) {
        event_free(ks->kick);
    }
    if (ks->renew_timer) {
        event_free(ks->renew_timer);
    }
    keystone_catalog_free(ks->catalog);
    free(ks->token);
    free(ks->auth_url);
    free(ks->auth_body);
    free(ks->interface);
    free(ks->region);
    free(ks);
}
