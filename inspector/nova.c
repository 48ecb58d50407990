/* nova: Nova compute API client on keystone/httpc (see nova.h).
 *
 * Each call is a 'struct nova_op' on the client's list until its keystone
 * callback runs; nova_free() orphans the outstanding ones (op->nova NULL)
 * so that their callbacks only free them. A server listing is one op that
 * issues its pages one after the other. */
#include "nova.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keystone.h"

#define NOVA_MAX_SERVICES 100000
#define NOVA_DEFAULT_PAGE_SIZE 200
#define NOVA_PATH_SIZE 2048
#define NOVA_ERROR_SIZE 512
#define NOVA_BY_ID_MINOR 53
#define NOVA_BY_HOST_MINOR 11

enum nova_op_kind {
    NOVA_OP_DISCOVER,
    NOVA_OP_RESULT,
    NOVA_OP_SERVICES,
    NOVA_OP_SERVERS,
    NOVA_OP_KIND_COUNT
};

struct nova_op {
    struct nova *nova;              /* NULL: orphaned by nova_free() */
    struct nova_op *prev, *next;
    enum nova_op_kind kind;
    nova_result_fn *result_done;
    nova_services_fn *services_done;
    nova_servers_fn *servers_done;
    void *arg;
    /* NOVA_OP_SERVERS */
    char *query;                    /* "&changes-since=...&host=..." */
    char marker[NOVA_UUID_SIZE];
    unsigned int pages;
    bool urgent;                    /* service calls: ahead of the resets */
    int64_t submitted_ns;
};

struct nova {
    struct keystone *ks;
    char override[NOVA_VERSION_SIZE];
    char version[NOVA_VERSION_SIZE];      /* "" until discovered */
    char max_version[NOVA_VERSION_SIZE];
    enum nova_force_down_api api;
    bool ready;
    char version_header[64];
    char api_version_header[64];
    long timeout_ms;
    struct httpc_retry retry;
    unsigned int page_size;
    struct nova_op *ops;
};

static const char *const nova_api_names[NOVA_FORCE_DOWN_API_COUNT] = {
    [NOVA_FORCE_DOWN_NONE] = "none",
    [NOVA_FORCE_DOWN_BY_HOST] = "PUT /os-services/force-down (2.11)",
    [NOVA_FORCE_DOWN_BY_ID] = "PUT /os-services/{id} (2.53)",
};

const char *
nova_force_down_api_name(enum nova_force_down_api api)
{
    return api < NOVA_FORCE_DOWN_API_COUNT ? nova_api_names[api] : "?";
}

/* ---- pure parts --------------------------------------------------------- */

static int
nova_parse_number(const char **p, unsigned int *value)
{
    unsigned int v = 0;
    int digits = 0;

    while (**p >= '0' && **p <= '9') {
        if (++digits > 9) {
            return -EINVAL;
        }
        v = v * 10 + (unsigned int) (**p - '0');
        (*p)++;
    }
    if (!digits) {
        return -EINVAL;
    }
    *value = v;
    return 0;
}

int
nova_parse_version(const char *text, unsigned int *major,
                   unsigned int *minor)
{
    const char *p = text;
    unsigned int a, b;

    if (!text || nova_parse_number(&p, &a) || *p++ != '.'
        || nova_parse_number(&p, &b) || *p) {
        return -EINVAL;
    }
    *major = a;
    *minor = b;
    return 0;
}

static enum nova_force_down_api
nova_api_for(unsigned int minor)
{
    return minor >= NOVA_BY_ID_MINOR ? NOVA_FORCE_DOWN_BY_ID
           : minor >= NOVA_BY_HOST_MINOR ? NOVA_FORCE_DOWN_BY_HOST
           : NOVA_FORCE_DOWN_NONE;
}

int
nova_select_microversion(const char *max_version, const char *override,
                         char version[NOVA_VERSION_SIZE],
                         enum nova_force_down_api *api)
{
    unsigned int max_major = 2, max_minor = 1, major, minor;

    if (max_version && max_version[0]
        && (nova_parse_version(max_version, &max_major, &max_minor)
            || max_major != 2 || max_minor < 1)) {
        return -EINVAL;
    }
    if (override && override[0]) {
        if (nova_parse_version(override, &major, &minor) || major != 2
            || minor < 1) {
            return -EINVAL;
        }
        if (minor > max_minor) {
            return -ENOTSUP;
        }
    } else {
        major = 2;
        minor = max_minor >= NOVA_BY_ID_MINOR ? NOVA_BY_ID_MINOR
                : max_minor >= NOVA_BY_HOST_MINOR ? NOVA_BY_HOST_MINOR : 1;
    }
    snprintf(version, NOVA_VERSION_SIZE, "%u.%u", major, minor);
    *api = nova_api_for(minor);
    return 0;
}

/* The "version" string of one version object into 'max'. */
static int
nova_take_version(const json_t *v, char max[NOVA_VERSION_SIZE])
{
    const char *s = json_string_value(json_object_get(v, "version"));
    unsigned int major, minor;

    if (!s || (s[0] && nova_parse_version(s, &major, &minor))) {
        return -EINVAL;
    }
    snprintf(max, NOVA_VERSION_SIZE, "%s", s);
    return 0;
}

int
nova_parse_version_document(const char *body, size_t size,
                            char max[NOVA_VERSION_SIZE])
{
    json_t *root = body ? json_loadb(body, size, JSON_REJECT_DUPLICATES,
                                     NULL) : NULL;
    const json_t *version, *versions, *v;
    int ret = -EINVAL;
    size_t i;

    if (!root) {
        goto out;
    }
    version = json_object_get(root, "version");
    versions = json_object_get(root, "versions");
    if (json_is_object(version)) {
        ret = nova_take_version(version, max);
    } else if (json_is_array(versions)) {
        json_array_foreach(versions, i, v) {
            const char *id = json_string_value(json_object_get(v, "id"));

            if (id && !strcmp(id, "v2.1")) {
                ret = nova_take_version(v, max);
                break;
            }
        }
    }
out:
    json_decref(root);
    return ret;
}

/* Copies JSON string 'key' of 'obj' into 'out'; "" for null or absent.
 * -EINVAL when it is not a string or too long. */
static int
nova_copy_string(const json_t *obj, const char *key, char *out, size_t size)
{
    const json_t *v = json_object_get(obj, key);
    const char *s;

    if (!v || json_is_null(v)) {
        out[0] = '\0';
        return 0;
    }
    s = json_string_value(v);
    if (!s || strlen(s) >= size) {
        return -EINVAL;
    }
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

int
nova_parse_services(const char *body, size_t size,
                    struct nova_service **services, size_t *length)
{
    json_t *root = body ? json_loadb(body, size, JSON_REJECT_DUPLICATES,
                                     NULL) : NULL;
    struct nova_service *out = NULL;
    const json_t *list, *s;
    size_t i, n;
    int ret = -EINVAL;

    list = json_object_get(root, "services");
    if (!json_is_array(list) || json_array_size(list) > NOVA_MAX_SERVICES) {
        goto out;
    }
    n = json_array_size(list);
    out = calloc(n ? n : 1, sizeof *out);
    if (!out) {
        ret = -ENOMEM;
        goto out;
    }
    json_array_foreach(list, i, s) {
        struct nova_service *sv = &out[i];
        const json_t *id = json_object_get(s, "id");
        const json_t *forced = json_object_get(s, "forced_down");

        if (json_is_integer(id)) {
            snprintf(sv->id, sizeof sv->id, "%" JSON_INTEGER_FORMAT,
                     json_integer_value(id));
        } else if (nova_copy_string(s, "id", sv->id, sizeof sv->id)) {
            goto out;
        }
        if (!sv->id[0]
            || nova_copy_string(s, "host", sv->host, sizeof sv->host)
            || !sv->host[0]
            || nova_copy_string(s, "binary", sv->binary, sizeof sv->binary)
            || nova_copy_string(s, "state", sv->state, sizeof sv->state)
            || nova_copy_string(s, "status", sv->status, sizeof sv->status)
            || (forced && !json_is_boolean(forced))) {
            goto out;
        }
        sv->forced_down = json_is_true(forced);
    }
    *services = out;
    *length = n;
    out = NULL;
    ret = 0;
out:
    free(out);
    json_decref(root);
    return ret;
}

int
nova_parse_servers(const char *body, size_t size,
                   struct nova_server **servers, size_t *length, bool *more)
{
    json_t *root = body ? json_loadb(body, size, JSON_REJECT_DUPLICATES,
                                     NULL) : NULL;
    struct nova_server *out = NULL;
    const json_t *list, *links, *s, *link;
    bool next = false;
    size_t i, n;
    int ret = -EINVAL;

    list = json_object_get(root, "servers");
    links = json_object_get(root, "servers_links");
    if (!json_is_array(list) || (links && !json_is_array(links))) {
        goto out;
    }
    n = json_array_size(list);
    out = calloc(n ? n : 1, sizeof *out);
    if (!out) {
        ret = -ENOMEM;
        goto out;
    }
    json_array_foreach(list, i, s) {
        struct nova_server *sv = &out[i];

        if (!json_is_object(s)
            || nova_copy_string(s, "id", sv->id, sizeof sv->id)
            || !sv->id[0]
            || nova_copy_string(s, "OS-EXT-SRV-ATTR:host", sv->host,
                                sizeof sv->host)
            || nova_copy_string(s, "status", sv->status, sizeof sv->status)) {
            goto out;
        }
    }
    json_array_foreach(links, i, link) {
        const char *rel = json_string_value(json_object_get(link, "rel"));

        if (rel && !strcmp(rel, "next")) {
            next = true;
        }
    }
    *servers = out;
    *length = n;
    *more = next;
    out = NULL;
    ret = 0;
out:
    free(out);
    json_decref(root);
    return ret;
}

char *
nova_force_down_body(enum nova_force_down_api api, const char *host,
                     bool forced_down)
{
    json_t *body = NULL;
    char *text;

    if (api == NOVA_FORCE_DOWN_BY_ID) {
        body = json_pack("{s:b}", "forced_down", forced_down);
    } else if (api == NOVA_FORCE_DOWN_BY_HOST && host) {
        body = json_pack("{s:s,s:s,s:b}", "host", host, "binary",
                         "nova-compute", "forced_down", forced_down);
    }
    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    return text;
}

/* Percent-encodes 'in' into 'out' (RFC 3986 unreserved characters pass).
 * 0 or -ENAMETOOLONG. */
static int
nova_escape(const char *in, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (const unsigned char *p = (const unsigned char *) in; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                     || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'
                     || *p == '_' || *p == '~';

        if (n + (plain ? 1 : 3) >= size) {
            return -ENAMETOOLONG;
        }
        if (plain) {
            out[n++] = (char) *p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
    return 0;
}

/* ---- calls -------------------------------------------------------------- */

static void
nova_op_unlink(struct nova_op *op)
{
    if (!op->nova) {
        return;
    }
    if (op->prev) {
        op->prev->next = op->next;
    } else {
        op->nova->ops = op->next;
    }
    if (op->next) {
        op->next->prev = op->prev;
    }
    op->prev = op->next = NULL;
}

static void
nova_op_free(struct nova_op *op)
{
    if (op) {
        free(op->query);
        free(op);
    }
}

static struct nova_op *
nova_op_new(struct nova *nova, enum nova_op_kind kind, void *arg)
{
    struct nova_op *op = calloc(1, sizeof *op);

    if (!op) {
        return NULL;
    }
    op->nova = nova;
    op->kind = kind;
    op->arg = arg;
    op->next = nova->ops;
    if (op->next) {
        op->next->prev = op;
    }
    nova->ops = op;
    return op;
}

/* Fills 'result' from 'r'; 'error' is the buffer for a made-up message. */
static void
nova_fill_result(const struct httpc_response *r, struct nova_result *result,
                 char *error, size_t size)
{
    result->status = r->status;
    result->submitted_ns = r->submitted_ns;
    result->completed_ns = r->completed_ns;
    if (r->error) {
        result->error = r->error;
    } else if (r->status < 200 || r->status > 299) {
        /* Nova's faults are short JSON: keep the start of the body. */
        snprintf(error, size, "HTTP %ld: %.200s", r->status,
                 r->body ? r->body : "");
        result->error = error;
    } else {
        result->error = NULL;
    }
}

static void nova_call_done(const struct httpc_response *r, void *arg);

/* Submits one call for 'op'. 0 or -errno. */
static int
nova_submit(struct nova *nova, struct nova_op *op, const char *method,
            const char *path, const char *body)
{
    const char *headers[] = {
        nova->version_header, nova->api_version_header, NULL
    };
    struct keystone_call call = {
        .service_type = "compute",
        .method = method,
        .path = path,
        .body = body,
        .body_size = body ? strlen(body) : 0,
        .headers = nova->ready ? headers : NULL,
        .retry = &nova->retry,
        .timeout_ms = nova->timeout_ms,
        .urgent = op->urgent,
    };

    return keystone_call(nova->ks, &call, nova_call_done, op);
}

static void
nova_finish_discover(struct nova *nova, struct nova_op *op,
                     const struct httpc_response *r, struct nova_result *res,
                     char *error, size_t size)
{
    char max[NOVA_VERSION_SIZE];
    int ret;

    if (res->error) {
        return;
    }
    if (nova_parse_version_document(r->body, r->body_size, max)) {
        snprintf(error, size, "malformed version document: %.200s",
                 r->body);
        res->error = error;
        return;
    }
    ret = nova_select_microversion(max, nova->override, nova->version,
                                   &nova->api);
    if (ret) {
        snprintf(error, size, "microversion %s is not supported by this "
                 "cloud (maximum %s)", nova->override, max[0] ? max : "2.1");
        res->error = error;
        return;
    }
    snprintf(nova->max_version, sizeof nova->max_version, "%s",
             max[0] ? max : "2.1");
    snprintf(nova->version_header, sizeof nova->version_header,
             "X-OpenStack-Nova-API-Version: %s", nova->version);
    snprintf(nova->api_version_header, sizeof nova->api_version_header,
             "OpenStack-API-Version: compute %s", nova->version);
    nova->ready = true;
    (void) op;
}

static void
nova_finish_services(struct nova *nova, struct nova_op *op,
                     const struct httpc_response *r, struct nova_result *res,
                     char *error, size_t size)
{
    struct nova_service *services = NULL;
    size_t length = 0;

    if (!res->error && nova_parse_services(r->body, r->body_size, &services,
                                           &length)) {
        snprintf(error, size, "malformed os-services answer");
        res->error = error;
    }
    op->services_done(nova, res, res->error ? NULL : services,
                      res->error ? 0 : length, op->arg);
    free(services);
}

static int nova_request_page(struct nova *nova, struct nova_op *op);

/* One page arrived. True when the op is finished (the caller frees it). */
static bool
nova_finish_page(struct nova *nova, struct nova_op *op,
                 const struct httpc_response *r, struct nova_result *res,
                 char *error, size_t size)
{
    struct nova_server *servers = NULL;
    size_t length = 0;
    bool more = false;
    int ret;

    res->submitted_ns = op->submitted_ns;
    if (!res->error && nova_parse_servers(r->body, r->body_size, &servers,
                                          &length, &more)) {
        snprintf(error, size, "malformed servers/detail answer");
        res->error = error;
    }
    if (res->error) {
        op->servers_done(nova, res, NULL, 0, true, op->arg);
        return true;
    }
    op->pages++;
    more = more && length && op->pages < NOVA_MAX_PAGES;
    if (more) {
        snprintf(op->marker, sizeof op->marker, "%s", servers[length - 1].id);
    }
    op->servers_done(nova, res, servers, length, !more, op->arg);
    free(servers);
    if (!more || !op->nova) {
        return true;
    }
    ret = nova_request_page(nova, op);
    if (ret) {
        snprintf(error, size, "cannot request the next page: %s",
                 strerror(-ret));
        res->error = error;
        res->status = 0;
        op->servers_done(nova, res, NULL, 0, true, op->arg);
        return true;
    }
    return false;
}

static void
nova_call_done(const struct httpc_response *r, void *arg)
{
    struct nova_op *op = arg;
    struct nova *nova = op->nova;
    struct nova_result res;
    char error[NOVA_ERROR_SIZE];
    bool finished = true;

    if (!nova) {
        nova_op_free(op);
        return;
    }
    nova_fill_result(r, &res, error, sizeof error);
    switch (op->kind) {
    case NOVA_OP_DISCOVER:
        nova_finish_discover(nova, op, r, &res, error, sizeof error);
        op->result_done(nova, &res, op->arg);
        break;
    case NOVA_OP_RESULT:
        op->result_done(nova, &res, op->arg);
        break;
    case NOVA_OP_SERVICES:
        nova_finish_services(nova, op, r, &res, error, sizeof error);
        break;
    case NOVA_OP_SERVERS:
        finished = nova_finish_page(nova, op, r, &res, error, sizeof error);
        break;
    case NOVA_OP_KIND_COUNT:
    default:
        break;
    }
    if (finished) {
        nova_op_unlink(op);
        nova_op_free(op);
    }
}

/* Starts 'op' with 'method path body'; on failure unlinks and frees it. */
static int
nova_start(struct nova *nova, struct nova_op *op, const char *method,
           const char *path, const char *body)
{
    int ret = nova_submit(nova, op, method, path, body);

    if (ret) {
        nova_op_unlink(op);
        nova_op_free(op);
    }
    return ret;
}

int
nova_discover(struct nova *nova, nova_result_fn *done, void *arg)
{
    struct nova_op *op;

    if (!nova || !done) {
        return -EINVAL;
    }
    op = nova_op_new(nova, NOVA_OP_DISCOVER, arg);
    if (!op) {
        return -ENOMEM;
    }
    op->result_done = done;
    return nova_start(nova, op, "GET", "", NULL);
}

const char *
nova_microversion(const struct nova *nova)
{
    return nova->ready ? nova->version : "";
}

const char *
nova_max_microversion(const struct nova *nova)
{
    return nova->ready ? nova->max_version : "";
}

enum nova_force_down_api
nova_force_down_api(const struct nova *nova)
{
    return nova->ready ? nova->api : NOVA_FORCE_DOWN_NONE;
}

bool
nova_ready(const struct nova *nova)
{
    return nova && nova->ready;
}

int
nova_list_services(struct nova *nova, const char *host,
                   nova_services_fn *done, void *arg)
{
    char path[NOVA_PATH_SIZE], escaped[NOVA_HOST_SIZE * 3];
    struct nova_op *op;

    if (!nova || !done) {
        return -EINVAL;
    }
    if (!nova->ready) {
        return -EAGAIN;
    }
    if (host && nova_escape(host, escaped, sizeof escaped)) {
        return -EINVAL;
    }
    snprintf(path, sizeof path, "/os-services?binary=nova-compute%s%s",
             host ? "&host=" : "", host ? escaped : "");
    op = nova_op_new(nova, NOVA_OP_SERVICES, arg);
    if (!op) {
        return -ENOMEM;
    }
    op->services_done = done;
    op->urgent = true;
    return nova_start(nova, op, "GET", path, NULL);
}

int
nova_force_down(struct nova *nova, const char *host, const char *service_id,
                bool forced_down, nova_result_fn *done, void *arg)
{
    char path[NOVA_PATH_SIZE], escaped[NOVA_ID_SIZE * 3];
    struct nova_op *op;
    char *body;
    int ret;

    if (!nova || !done || !host || !host[0]) {
        return -EINVAL;
    }
    if (!nova->ready) {
        return -EAGAIN;
    }
    switch (nova->api) {
    case NOVA_FORCE_DOWN_BY_ID:
        if (!service_id || !service_id[0]
            || nova_escape(service_id, escaped, sizeof escaped)) {
            return -EINVAL;
        }
        snprintf(path, sizeof path, "/os-services/%s", escaped);
        break;
    case NOVA_FORCE_DOWN_BY_HOST:
        snprintf(path, sizeof path, "/os-services/force-down");
        break;
    case NOVA_FORCE_DOWN_NONE:
    case NOVA_FORCE_DOWN_API_COUNT:
    default:
        return -ENOTSUP;
    }
    body = nova_force_down_body(nova->api, host, forced_down);
    op = body ? nova_op_new(nova, NOVA_OP_RESULT, arg) : NULL;
    if (!op) {
        free(body);
        return -ENOMEM;
    }
    op->result_done = done;
    op->urgent = true;
    ret = nova_start(nova, op, "PUT", path, body);
    free(body);
    return ret;
}

int
nova_reset_state(struct nova *nova, const char *server_id, const char *state,
                 nova_result_fn *done, void *arg)
{
    char path[NOVA_PATH_SIZE], escaped[NOVA_UUID_SIZE * 3];
    struct nova_op *op;
    char *body;
    json_t *j;
    int ret;

    if (!nova || !done || !server_id || !state
        || (strcmp(state, "error") && strcmp(state, "active"))
        || nova_escape(server_id, escaped, sizeof escaped)) {
        return -EINVAL;
    }
    if (!nova->ready) {
        return -EAGAIN;
    }
    snprintf(path, sizeof path, "/servers/%s/action", escaped);
    j = json_pack("{s:{s:s}}", "os-resetState", "state", state);
    body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    op = body ? nova_op_new(nova, NOVA_OP_RESULT, arg) : NULL;
    if (!op) {
        free(body);
        return -ENOMEM;
    }
    op->result_done = done;
    ret = nova_start(nova, op, "POST", path, body);
    free(body);
    return ret;
}

static int
nova_request_page(struct nova *nova, struct nova_op *op)
{
    char path[NOVA_PATH_SIZE];

    snprintf(path, sizeof path, "/servers/detail?all_tenants=1&limit=%u%s%s%s",
             nova->page_size, op->query, op->marker[0] ? "&marker=" : "",
             op->marker);
    return nova_submit(nova, op, "GET", path, NULL);
}

int
nova_list_servers(struct nova *nova, const char *changes_since,
                  const char *host, nova_servers_fn *done, void *arg)
{
    char since[128] = "", escaped_host[NOVA_HOST_SIZE * 3] = "";
    struct nova_op *op;
    int ret;

    if (!nova || !done) {
        return -EINVAL;
    }
    if (!nova->ready) {
        return -EAGAIN;
    }
    if ((changes_since && nova_escape(changes_since, since, sizeof since))
        || (host && nova_escape(host, escaped_host, sizeof escaped_host))) {
        return -EINVAL;
    }
    op = nova_op_new(nova, NOVA_OP_SERVERS, arg);
    if (!op) {
        return -ENOMEM;
    }
    op->servers_done = done;
    op->submitted_ns = 0;
    if (asprintf(&op->query, "%s%s%s%s", since[0] ? "&changes-since=" : "",
                 since, escaped_host[0] ? "&host=" : "", escaped_host) < 0) {
        op->query = NULL;
        nova_op_unlink(op);
        nova_op_free(op);
        return -ENOMEM;
    }
    ret = nova_request_page(nova, op);
    if (ret) {
        nova_op_unlink(op);
        nova_op_free(op);
    }
    return ret;
}

/* ---- life cycle --------------------------------------------------------- */

struct nova *
nova_new(struct keystone *ks, const struct nova_options *o, int *error)
{
    struct nova *nova = NULL;
    unsigned int major, minor;
    int ret = -EINVAL;

    if (!ks || !o) {
        goto out;
    }
    if (o->microversion && o->microversion[0]
        && (strlen(o->microversion) >= NOVA_VERSION_SIZE
            || nova_parse_version(o->microversion, &major, &minor)
            || major != 2 || minor < 1)) {
        goto out;
    }
    ret = -ENOMEM;
    nova = calloc(1, sizeof *nova);
    if (!nova) {
        goto out;
    }
    nova->ks = ks;
    snprintf(nova->override, sizeof nova->override, "%s",
             o->microversion ? o->microversion : "");
    nova->timeout_ms = o->timeout_ms;
    nova->retry = o->retry;
    if (!nova->retry.max_attempts) {
        nova->retry = (struct httpc_retry) {
            .max_attempts = 3, .initial_backoff_ms = 50,
            .max_backoff_ms = 1000,
        };
    }
    nova->page_size = o->page_size ? o->page_size : NOVA_DEFAULT_PAGE_SIZE;
    ret = 0;
out:
    if (error) {
        *error = ret;
    }
    return nova;
}

void
nova_free(struct nova *nova)
{
    if (!nova) {
        return;
    }
    while (nova->ops) {
        struct nova_op *op = nova->ops;

        nova->ops = op->next;
        op->nova = NULL;
        op->prev = op->next = NULL;
    }
    free(nova);
}
