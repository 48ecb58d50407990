/* resv_api: REST handlers of vigil-reservation (see resv_api.h). */
#include "resv_api.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "httpd.h"
#include "resv_db.h"
#include "resv_engine.h"
#include "resv_request.h"
#include "resv_time.h"
#include "vlog.h"
#include "vuuid.h"

#define MOD "api"
#define RESV_API_MAX_QUERY_PARAMS 16
#define RESV_API_DEFAULT_LIST 100
#define RESV_API_DEFAULT_WINDOW 86400

struct resv_api {
    struct resv_engine *engine;
    size_t max_list;
    size_t max_intervals;
};

/* A write waiting for its commit: the answer is ready, the status is
 * not. */
struct resv_api_pending {
    struct evhttp_request *req;
    int code;
    json_t *body;
    size_t prepared;           /* body bytes already in the output buffer */
    char location[96];
};

/* The largest reservation record written without jansson (three names of
 * at most 255 bytes, escaped, and the rest); larger ones fall back. */
#define RESV_API_RECORD_SIZE 2048

static struct vlog_rate_limit resv_api_rl = VLOG_RATE_LIMIT_INIT(1, 5);

/* ---- replies ------------------------------------------------------------ */

int
resv_api_http_status(int ret)
{
    switch (ret) {
    case -EINVAL:
        return 400;
    case -EDQUOT:
        return 403;
    case -ENOENT:
        return 404;
    case -EBUSY:
    case -EALREADY:
        return 409;
    case -ENOBUFS:
        return 503;
    default:
        return 500;
    }
}

/* The offer and conflict members of a 409. NULL on allocation failure. */
static json_t *
resv_api_error_body(int code, const struct resv_engine_error *err)
{
    json_t *body = json_object(), *error = json_object();

    if (!body || !error || json_object_set(body, "error", error) ||
        json_object_set_new(error, "code", json_integer(code)) ||
        json_object_set_new(error, "message", json_string(err->message))) {
        goto fail;
    }
    if (err->has_conflict) {
        json_t *c = json_pack("{s:s, s:I, s:I, s:o, s:o}",
                              "key", capvec_key_name(err->conflict.key),
                              "requested",
                              (json_int_t) err->conflict.requested,
                              "available",
                              (json_int_t) err->conflict.available,
                              "start", resv_time_to_json(err->conflict.start),
                              "end", resv_time_to_json(err->conflict.end));

        if (!c || json_object_set_new(error, "conflict", c)) {
            goto fail;
        }
    }
    if (err->has_offer) {
        json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:o}",
                              "capacity", capvec_to_json(&err->largest, true),
                              "start", resv_time_to_json(err->window_start),
                              "end", resv_time_to_json(err->window_end),
                              "earliest_start",
                              err->has_earliest
                                  ? resv_time_to_json(err->earliest_start)
                                  : json_null(),
                              "earliest_end",
                              err->has_earliest
                                  ? resv_time_to_json(err->earliest_end)
                                  : json_null());

        if (!o || json_object_set_new(error, "offer", o)) {
            goto fail;
        }
    }
    json_decref(error);
    return body;
fail:
    json_decref(error);
    json_decref(body);
    return NULL;
}

/* Replies to a refusal from the engine. */
static void
resv_api_refuse(struct evhttp_request *req, int ret,
                const struct resv_engine_error *err)
{
    int code = resv_api_http_status(ret);
    json_t *body;

    if (code == 500) {
        vlog_write_rl(&resv_api_rl, VLOG_LEVEL_ERR, MOD, "request failed: "
                      "%s", err->message[0] ? err->message : strerror(-ret));
    }
    if (!err->has_conflict && !err->has_offer) {
        httpd_reply_error(req, code, "%s", err->message[0] ? err->message
                                                          : strerror(-ret));
        return;
    }
    body = resv_api_error_body(code, err);
    if (!body) {
        httpd_reply_error(req, code, "%s", err->message);
        return;
    }
    httpd_reply_json(req, code, body);
}

static void
resv_api_done(int status, void *arg)
{
    struct resv_api_pending *p = arg;

    if (status) {
        json_decref(p->body);
        evbuffer_drain(evhttp_request_get_output_buffer(p->req),
                       p->prepared);
        httpd_reply_error(p->req, 500, "the change could not be written to "
                          "the database and was undone");
    } else {
        struct evkeyvalq *headers = evhttp_request_get_output_headers(p->req);

        if (p->location[0]) {
            evhttp_add_header(headers, "Location", p->location);
        }
        if (p->prepared) {
            evhttp_add_header(headers, "Content-Type", "application/json");
            evhttp_send_reply(p->req, p->code, NULL, NULL);
        } else {
            httpd_reply_json(p->req, p->code, p->body);
        }
    }
    free(p);
}

/* A pending answer 'code' with 'body' (stolen; may be NULL for 204).
 * NULL (and a 500 sent) on allocation failure. */
static struct resv_api_pending *
resv_api_pending_new(struct evhttp_request *req, int code, json_t *body,
                     bool needs_body)
{
    struct resv_api_pending *p;

    if (needs_body && !body) {
        httpd_reply_error(req, 500, "out of memory");
        return NULL;
    }
    p = calloc(1, sizeof *p);
    if (!p) {
        json_decref(body);
        httpd_reply_error(req, 500, "out of memory");
        return NULL;
    }
    p->req = req;
    p->code = code;
    p->body = body;
    return p;
}

/* The answer of a pending write: a reservation record, written straight
 * into the request's output buffer (a booking's answer costs no JSON
 * values), with jansson for the rare record too large for that. */
static void
resv_api_pending_record(struct resv_api_pending *p,
                        const struct resv_record *rec)
{
    char text[RESV_API_RECORD_SIZE];
    int n = resv_record_format_json(rec, text, sizeof text);

    if (n > 0 &&
        !evbuffer_add(evhttp_request_get_output_buffer(p->req), text,
                      (size_t) n)) {
        p->prepared = (size_t) n;
        return;
    }
    p->body = resv_record_to_json(rec);
}

static void
resv_api_pending_drop(struct resv_api_pending *p)
{
    if (p) {
        json_decref(p->body);
        free(p);
    }
}

/* ---- query strings ---------------------------------------------------- */

/* Parses the query of 'req', refusing keys not in 'known' and repeated
 * keys. 0 (the caller clears 'fields'), or -EINVAL after a 400. */
static int
resv_api_query(struct evhttp_request *req, const char *const *known,
               struct evkeyvalq *fields)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyval *kv;
    size_t count = 0;

    TAILQ_INIT(fields);
    if (!query || !*query) {
        return 0;
    }
    if (evhttp_parse_query_str(query, fields)) {
        evhttp_clear_headers(fields);
        httpd_reply_error(req, 400, "query: malformed");
        return -EINVAL;
    }
    TAILQ_FOREACH(kv, fields, next) {
        bool found = false;

        if (++count > RESV_API_MAX_QUERY_PARAMS) {
            evhttp_clear_headers(fields);
            httpd_reply_error(req, 400, "query: more than %d parameters",
                              RESV_API_MAX_QUERY_PARAMS);
            return -EINVAL;
        }
        for (size_t i = 0; known[i]; i++) {
            if (!strcmp(kv->key, known[i])) {
                found = true;
                break;
            }
        }
        if (!found) {
            httpd_reply_error(req, 400, "%.64s: unknown query parameter",
                              kv->key);
            evhttp_clear_headers(fields);
            return -EINVAL;
        }
        for (struct evkeyval *o = TAILQ_FIRST(fields); o != kv;
             o = TAILQ_NEXT(o, next)) {
            if (!strcmp(o->key, kv->key)) {
                httpd_reply_error(req, 400, "%.64s: given twice", kv->key);
                evhttp_clear_headers(fields);
                return -EINVAL;
            }
        }
    }
    return 0;
}

/* A time parameter: 1 present, 0 absent, -EINVAL after a 400. */
static int
resv_api_query_time(struct evhttp_request *req, struct evkeyvalq *fields,
                    const char *key, int64_t *out)
{
    const char *v = evhttp_find_header(fields, key);

    if (!v) {
        return 0;
    }
    if (resv_time_parse(v, out)) {
        httpd_reply_error(req, 400, "%s: expected epoch seconds or an "
                          "ISO-8601 time such as 2026-11-22T08:00:00Z", key);
        return -EINVAL;
    }
    return 1;
}

/* A name parameter (zone, project_id): 1 present, 0 absent, -EINVAL. */
static int
resv_api_query_name(struct evhttp_request *req, struct evkeyvalq *fields,
                    const char *key, const char **out)
{
    const char *v = evhttp_find_header(fields, key);
    char err[128];

    if (!v) {
        return 0;
    }
    if (resv_request_check_name(v, key, err, sizeof err)) {
        httpd_reply_error(req, 400, "%s", err);
        return -EINVAL;
    }
    *out = v;
    return 1;
}

/* limit=N in [1, max]; 'def' when absent. 0 or -EINVAL after a 400. */
static int
resv_api_query_limit(struct evhttp_request *req, struct evkeyvalq *fields,
                     size_t max, size_t def, size_t *out)
{
    const char *v = evhttp_find_header(fields, "limit");
    unsigned long long n = 0;
    size_t digits;

    if (!v) {
        *out = def < max ? def : max;
        return 0;
    }
    digits = strspn(v, "0123456789");
    if (digits && !v[digits] && digits <= 9) {
        n = strtoull(v, NULL, 10);
    }
    if (n < 1 || n > max) {
        httpd_reply_error(req, 400, "limit: expected an integer in [1, %zu]",
                          max);
        return -EINVAL;
    }
    *out = (size_t) n;
    return 0;
}

/* A boolean parameter: 0 with '*out', or -EINVAL after a 400. */
static int
resv_api_query_bool(struct evhttp_request *req, struct evkeyvalq *fields,
                    const char *key, bool *out)
{
    const char *v = evhttp_find_header(fields, key);

    if (!v) {
        *out = false;
        return 0;
    }
    if (!strcmp(v, "true") || !strcmp(v, "1")) {
        *out = true;
    } else if (!strcmp(v, "false") || !strcmp(v, "0")) {
        *out = false;
    } else {
        httpd_reply_error(req, 400, "%s: expected true or false", key);
        return -EINVAL;
    }
    return 0;
}

/* The id in the path: 0, or -EINVAL after a 400. */
static int
resv_api_path_id(struct evhttp_request *req,
                 const struct httpd_params *params, const char *what)
{
    if (params->length < 1 || !vuuid_is_valid(params->values[0])) {
        httpd_reply_error(req, 400, "%s id: expected a UUID", what);
        return -EINVAL;
    }
    return 0;
}

/* Refuses a body on a request that takes none. */
static int
resv_api_no_body(struct evhttp_request *req)
{
    if (evbuffer_get_length(evhttp_request_get_input_buffer(req))) {
        httpd_reply_error(req, 400, "body: this request takes none");
        return -EINVAL;
    }
    return 0;
}

/* The project from X-Project-Id when the body has none. 0 or -EINVAL
 * after a 400. */
static int
resv_api_project_header(struct evhttp_request *req,
                        struct resv_reservation_request *r)
{
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(req),
                                       "X-Project-Id");
    char err[128];

    if (r->has_project_id || !v || !*v) {
        return 0;
    }
    if (resv_request_check_name(v, "X-Project-Id", err, sizeof err)) {
        httpd_reply_error(req, 400, "%s", err);
        return -EINVAL;
    }
    resv_record_copy_name(r->project_id, v);
    r->has_project_id = true;
    return 0;
}

/* ---- pools ------------------------------------------------------------- */

struct resv_api_list {
    json_t *items;
    size_t limit;
    bool failed;
};

/* Answers 200 {"<name>": items}, or 500 when filling the list failed. */
static void
resv_api_reply_list(struct evhttp_request *req, struct resv_api_list *l,
                    const char *name)
{
    if (!l->items || l->failed) {
        json_decref(l->items);
        httpd_reply_error(req, 500, "out of memory");
        return;
    }
    httpd_reply_json(req, 200, json_pack("{s:o}", name, l->items));
}

static int
resv_api_add_pool(const struct resv_pool_record *p, void *arg)
{
    struct resv_api_list *l = arg;

    if (json_array_append_new(l->items, resv_pool_record_to_json(p))) {
        l->failed = true;
        return 1;
    }
    return json_array_size(l->items) >= l->limit;
}

static void
resv_api_pools(struct evhttp_request *req, const struct httpd_params *params,
               void *arg)
{
    static const char *const known[] = { "zone", "limit", NULL };
    struct resv_api *api = arg;
    struct resv_api_list l = { 0 };
    struct resv_engine_error err = { .message = "" };
    struct resv_pool_request pr;
    struct resv_pool_record rec;
    struct resv_api_pending *p;
    struct evkeyvalq fields;
    const char *zone = NULL;
    json_t *body;
    char why[512];
    int ret;

    (void) params;
    if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
        if (resv_api_query(req, known, &fields)) {
            return;
        }
        if (resv_api_query_name(req, &fields, "zone", &zone) < 0 ||
            resv_api_query_limit(req, &fields, api->max_list, api->max_list,
                                 &l.limit)) {
            evhttp_clear_headers(&fields);
            return;
        }
        l.items = json_array();
        if (l.items) {
            resv_engine_pool_list(api->engine, zone, resv_api_add_pool, &l);
        }
        evhttp_clear_headers(&fields);
        resv_api_reply_list(req, &l, "pools");
        return;
    }
    body = httpd_read_json(req);
    if (!body) {
        return;
    }
    ret = resv_request_pool(body, &pr, why, sizeof why);
    json_decref(body);
    if (ret) {
        httpd_reply_error(req, 400, "%s", why);
        return;
    }
    p = resv_api_pending_new(req, 201, NULL, false);
    if (!p) {
        return;
    }
    ret = resv_engine_pool_create(api->engine, &pr, &rec, resv_api_done, p,
                                  &err);
    if (ret) {
        resv_api_pending_drop(p);
        resv_api_refuse(req, ret, &err);
        return;
    }
    p->body = resv_pool_record_to_json(&rec);
    snprintf(p->location, sizeof p->location, "/v1/pools/%s", rec.id);
    VLOG_INFO(MOD, "pool %s in zone '%s' created", rec.id, rec.zone);
}

static void
resv_api_pool(struct evhttp_request *req, const struct httpd_params *params,
              void *arg)
{
    static const char *const known[] = { "force", NULL };
    struct resv_api *api = arg;
    struct resv_engine_error err = { .message = "" };
    struct resv_pool_record rec;
    struct resv_api_pending *p;
    struct evkeyvalq fields;
    bool force = false;
    int ret;

    if (resv_api_path_id(req, params, "pool") ||
        resv_api_query(req, evhttp_request_get_command(req) ==
                                EVHTTP_REQ_DELETE ? known : known + 1,
                       &fields)) {
        return;
    }
    ret = resv_api_query_bool(req, &fields, "force", &force);
    evhttp_clear_headers(&fields);
    if (ret) {
        return;
    }
    if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
        if (resv_engine_pool_get(api->engine, params->values[0], &rec)) {
            httpd_reply_error(req, 404, "no pool %s", params->values[0]);
            return;
        }
        httpd_reply_json(req, 200, resv_pool_record_to_json(&rec));
        return;
    }
    if (resv_api_no_body(req)) {
        return;
    }
    p = resv_api_pending_new(req, 204, NULL, false);
    if (!p) {
        return;
    }
    ret = resv_engine_pool_delete(api->engine, params->values[0], force,
                                  resv_api_done, p, &err);
    if (ret) {
        resv_api_pending_drop(p);
        resv_api_refuse(req, ret, &err);
        return;
    }
    VLOG_INFO(MOD, "pool %s deleted%s", params->values[0],
              force ? " (forced)" : "");
}

/* ---- reservations ----------------------------------------------------- */

struct resv_api_resv_list {
    json_t *items;
    bool failed;
    char last[VUUID_STRING_SIZE];
};

static int
resv_api_add_reservation(const struct resv_record *r, int64_t seq, void *arg)
{
    struct resv_api_resv_list *l = arg;

    (void) seq;
    if (json_array_append_new(l->items, resv_record_to_json(r))) {
        l->failed = true;
        return 1;
    }
    memcpy(l->last, r->id, sizeof l->last);
    return 0;
}

static void
resv_api_list_reservations(struct resv_api *api, struct evhttp_request *req)
{
    static const char *const known[] = { "zone", "project_id", "status",
                                         "start", "end", "limit", "marker",
                                         NULL };
    struct resv_api_resv_list l = { 0 };
    struct resv_db_filter f = { 0 };
    struct evkeyvalq fields;
    const char *status, *marker;
    int n1, n2, ret = -EINVAL;

    if (resv_api_query(req, known, &fields)) {
        return;
    }
    if (resv_api_query_name(req, &fields, "zone", &f.zone) < 0 ||
        resv_api_query_name(req, &fields, "project_id", &f.project_id) < 0 ||
        resv_api_query_limit(req, &fields, api->max_list,
                             RESV_API_DEFAULT_LIST, &f.limit)) {
        goto out;
    }
    status = evhttp_find_header(&fields, "status");
    if (status) {
        if (resv_status_from_name(status, &f.status)) {
            httpd_reply_error(req, 400, "status: expected pending, active, "
                              "expired, ended or cancelled");
            goto out;
        }
        f.has_status = true;
    }
    f.start = RESV_TIME_MIN;
    f.end = RESV_TIME_MAX;
    n1 = resv_api_query_time(req, &fields, "start", &f.start);
    n2 = n1 < 0 ? 0 : resv_api_query_time(req, &fields, "end", &f.end);
    if (n1 < 0 || n2 < 0) {
        goto out;
    }
    f.has_window = n1 || n2;
    if (f.has_window && f.end <= f.start) {
        httpd_reply_error(req, 400, "end: must be after start");
        goto out;
    }
    marker = evhttp_find_header(&fields, "marker");
    if (marker) {
        struct resv_record rec;

        if (!vuuid_is_valid(marker)) {
            httpd_reply_error(req, 400, "marker: expected a reservation id");
            goto out;
        }
        if (resv_db_get_reservation(resv_engine_db(api->engine), marker, &rec,
                                    &f.after_seq)) {
            httpd_reply_error(req, 400, "marker: no reservation %s", marker);
            goto out;
        }
    }
    l.items = json_array();
    if (!l.items) {
        httpd_reply_error(req, 500, "out of memory");
        goto out;
    }
    ret = resv_db_list_reservations(resv_engine_db(api->engine), &f,
                                    resv_api_add_reservation, &l);
    if (ret || l.failed) {
        json_decref(l.items);
        httpd_reply_error(req, 500, "cannot read the database");
        goto out;
    }
    httpd_reply_json(req, 200, json_pack("{s:o, s:o}", "reservations",
                                         l.items, "next_marker",
                                         json_array_size(l.items) == f.limit
                                             ? json_string(l.last)
                                             : json_null()));
out:
    evhttp_clear_headers(&fields);
}

static void
resv_api_reservations(struct evhttp_request *req,
                      const struct httpd_params *params, void *arg)
{
    static const char *const known[] = { "dry_run", NULL };
    struct resv_api *api = arg;
    struct resv_engine_error err = { .message = "" };
    struct resv_reservation_request rr;
    struct resv_api_pending *p = NULL;
    struct resv_record rec;
    struct evkeyvalq fields;
    bool dry_run = false;
    json_t *body;
    char why[512];
    int ret;

    (void) params;
    if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
        resv_api_list_reservations(api, req);
        return;
    }
    if (resv_api_query(req, known, &fields)) {
        return;
    }
    ret = resv_api_query_bool(req, &fields, "dry_run", &dry_run);
    evhttp_clear_headers(&fields);
    if (ret) {
        return;
    }
    body = httpd_read_json(req);
    if (!body) {
        return;
    }
    ret = resv_request_reservation(body, false, &rr, why, sizeof why);
    json_decref(body);
    if (ret) {
        httpd_reply_error(req, 400, "%s", why);
        return;
    }
    if (resv_api_project_header(req, &rr)) {
        return;
    }
    if (!dry_run) {
        p = resv_api_pending_new(req, 201, NULL, false);
        if (!p) {
            return;
        }
    }
    ret = resv_engine_reserve(api->engine, &rr, dry_run, &rec,
                              resv_api_done, p, &err);
    if (ret) {
        resv_api_pending_drop(p);
        resv_api_refuse(req, ret, &err);
        return;
    }
    if (dry_run) {
        httpd_reply_json(req, 200, json_pack("{s:b, s:o}", "fits", 1,
                                             "reservation",
                                             resv_record_to_json(&rec)));
        return;
    }
    resv_api_pending_record(p, &rec);
    snprintf(p->location, sizeof p->location, "/v1/reservations/%s", rec.id);
    VLOG_DBG(MOD, "reservation %s booked in zone '%s'", rec.id, rec.zone);
}

static void
resv_api_reservation(struct evhttp_request *req,
                     const struct httpd_params *params, void *arg)
{
    static const char *const none[] = { NULL };
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    struct resv_api *api = arg;
    struct resv_engine_error err = { .message = "" };
    struct resv_reservation_request rr;
    struct resv_api_pending *p;
    struct resv_record rec;
    struct evkeyvalq fields;
    const char *id;
    json_t *body;
    char why[512];
    int ret;

    if (resv_api_path_id(req, params, "reservation") ||
        resv_api_query(req, none, &fields)) {
        return;
    }
    evhttp_clear_headers(&fields);
    id = params->values[0];
    if (method == EVHTTP_REQ_GET) {
        ret = resv_db_get_reservation(resv_engine_db(api->engine), id, &rec,
                                      NULL);
        if (ret) {
            httpd_reply_error(req, ret == -ENOENT ? 404 : 500,
                              ret == -ENOENT ? "no reservation %s"
                                             : "cannot read reservation %s",
                              id);
            return;
        }
        {
            char text[RESV_API_RECORD_SIZE];
            int n = resv_record_format_json(&rec, text, sizeof text);

            if (n > 0) {
                httpd_reply_text(req, 200, "application/json", text,
                                 (size_t) n);
            } else {
                httpd_reply_json(req, 200, resv_record_to_json(&rec));
            }
        }
        return;
    }
    if (method == EVHTTP_REQ_DELETE) {
        if (resv_api_no_body(req)) {
            return;
        }
        p = resv_api_pending_new(req, 204, NULL, false);
        if (!p) {
            return;
        }
        ret = resv_engine_cancel(api->engine, id, &rec, resv_api_done, p,
                                 &err);
        if (ret) {
            resv_api_pending_drop(p);
            resv_api_refuse(req, ret, &err);
            return;
        }
        VLOG_INFO(MOD, "reservation %s cancelled", id);
        return;
    }
    body = httpd_read_json(req);
    if (!body) {
        return;
    }
    ret = resv_request_reservation(body, true, &rr, why, sizeof why);
    json_decref(body);
    if (ret) {
        httpd_reply_error(req, 400, "%s", why);
        return;
    }
    p = resv_api_pending_new(req, 200, NULL, false);
    if (!p) {
        return;
    }
    ret = resv_engine_update(api->engine, id, &rr, &rec, resv_api_done, p,
                             &err);
    if (ret) {
        resv_api_pending_drop(p);
        resv_api_refuse(req, ret, &err);
        return;
    }
    resv_api_pending_record(p, &rec);
}

/* ---- allocations ------------------------------------------------------- */

static int
resv_api_add_allocation(const struct resv_alloc_record *a, void *arg)
{
    struct resv_api_list *l = arg;

    if (json_array_append_new(l->items, resv_alloc_record_to_json(a))) {
        l->failed = true;
        return 1;
    }
    return json_array_size(l->items) >= l->limit;
}

static void
resv_api_allocations(struct evhttp_request *req,
                     const struct httpd_params *params, void *arg)
{
    static const char *const known[] = { "reservation_id", "zone", "limit",
                                         NULL };
    struct resv_api *api = arg;
    struct resv_engine_error err = { .message = "" };
    struct resv_alloc_request ar;
    struct resv_alloc_record rec;
    struct resv_api_list l = { 0 };
    struct resv_api_pending *p;
    struct evkeyvalq fields;
    const char *zone = NULL, *rid;
    json_t *body;
    char why[512];
    int ret;

    (void) params;
    if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
        if (resv_api_query(req, known, &fields)) {
            return;
        }
        rid = evhttp_find_header(&fields, "reservation_id");
        if (rid && !vuuid_is_valid(rid)) {
            httpd_reply_error(req, 400, "reservation_id: expected a UUID");
            evhttp_clear_headers(&fields);
            return;
        }
        if (resv_api_query_name(req, &fields, "zone", &zone) < 0 ||
            resv_api_query_limit(req, &fields, api->max_list, api->max_list,
                                 &l.limit)) {
            evhttp_clear_headers(&fields);
            return;
        }
        l.items = json_array();
        if (l.items) {
            resv_engine_allocation_list(api->engine, rid, zone,
                                        resv_api_add_allocation, &l);
        }
        evhttp_clear_headers(&fields);
        resv_api_reply_list(req, &l, "allocations");
        return;
    }
    body = httpd_read_json(req);
    if (!body) {
        return;
    }
    ret = resv_request_allocation(body, &ar, why, sizeof why);
    json_decref(body);
    if (ret) {
        httpd_reply_error(req, 400, "%s", why);
        return;
    }
    p = resv_api_pending_new(req, 201, NULL, false);
    if (!p) {
        return;
    }
    ret = resv_engine_allocate(api->engine, &ar, &rec, resv_api_done, p,
                               &err);
    if (ret) {
        resv_api_pending_drop(p);
        resv_api_refuse(req, ret, &err);
        return;
    }
    p->body = resv_alloc_record_to_json(&rec);
    snprintf(p->location, sizeof p->location, "/v1/allocations/%s", rec.id);
}

static void
resv_api_allocation(struct evhttp_request *req,
                    const struct httpd_params *params, void *arg)
{
    static const char *const none[] = { NULL };
    struct resv_api *api = arg;
    struct resv_engine_error err = { .message = "" };
    struct resv_alloc_record rec;
    struct resv_api_pending *p;
    struct evkeyvalq fields;
    int ret;

    if (resv_api_path_id(req, params, "allocation") ||
        resv_api_query(req, none, &fields)) {
        return;
    }
    evhttp_clear_headers(&fields);
    if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
        if (resv_engine_allocation_get(api->engine, params->values[0],
                                       &rec)) {
            httpd_reply_error(req, 404, "no allocation %s",
                              params->values[0]);
            return;
        }
        httpd_reply_json(req, 200, resv_alloc_record_to_json(&rec));
        return;
    }
    if (resv_api_no_body(req)) {
        return;
    }
    p = resv_api_pending_new(req, 204, NULL, false);
    if (!p) {
        return;
    }
    ret = resv_engine_release(api->engine, params->values[0], resv_api_done,
                              p, &err);
    if (ret) {
        resv_api_pending_drop(p);
        resv_api_refuse(req, ret, &err);
    }
}

/* ---- capacity and zones ---------------------------------------------- */

static void
resv_api_capacity(struct evhttp_request *req,
                  const struct httpd_params *params, void *arg)
{
    static const char *const known[] = { "zone", "start", "end", "type",
                                         "limit", NULL };
    struct resv_api *api = arg;
    struct resv_step *steps = NULL;
    enum resv_index_view view = RESV_VIEW_AVAILABLE;
    json_t *intervals = NULL, *minimum = NULL, *body;
    struct capvec min;
    struct evkeyvalq fields;
    const char *zone = NULL, *type;
    int64_t start = resv_time_now(), end;
    size_t length = 0, limit;
    bool truncated = false;
    int n, ret;

    (void) params;
    if (resv_api_query(req, known, &fields)) {
        return;
    }
    n = resv_api_query_name(req, &fields, "zone", &zone);
    if (n <= 0) {
        if (n == 0) {
            httpd_reply_error(req, 400, "zone: missing");
        }
        goto out;
    }
    if (resv_api_query_time(req, &fields, "start", &start) < 0) {
        goto out;
    }
    end = start + RESV_API_DEFAULT_WINDOW;
    n = resv_api_query_time(req, &fields, "end", &end);
    if (n < 0) {
        goto out;
    }
    if (end <= start) {
        httpd_reply_error(req, 400, "end: must be after start");
        goto out;
    }
    type = evhttp_find_header(&fields, "type");
    if (type && resv_index_view_from_name(type, &view)) {
        httpd_reply_error(req, 400, "type: expected total, reserved, used or "
                          "available");
        goto out;
    }
    if (resv_api_query_limit(req, &fields, api->max_intervals,
                             api->max_intervals, &limit)) {
        goto out;
    }
    ret = resv_engine_capacity(api->engine, zone, view, start, end, limit,
                               &steps, &length, &truncated);
    if (ret) {
        httpd_reply_error(req, ret == -ENOENT ? 404 : 500,
                          ret == -ENOENT ? "zone: no zone '%s'"
                                         : "cannot compute the capacity of "
                                           "'%s'", zone);
        goto out;
    }
    intervals = json_array();
    min = steps[0].value;
    for (size_t i = 0; intervals && i < length; i++) {
        json_t *piece = json_pack("{s:o, s:o, s:o}",
                                  "start", resv_time_to_json(steps[i].start),
                                  "end", resv_time_to_json(steps[i].end),
                                  "capacity",
                                  capvec_to_json(&steps[i].value, true));

        if (!piece || json_array_append_new(intervals, piece)) {
            json_decref(intervals);
            intervals = NULL;
            break;
        }
        for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
            if (steps[i].value.v[k] < min.v[k]) {
                min.v[k] = steps[i].value.v[k];
            }
        }
    }
    minimum = capvec_to_json(&min, true);
    body = intervals && minimum
               ? json_pack("{s:s, s:s, s:o, s:o, s:O, s:O, s:b, s:o}",
                           "zone", zone, "type", resv_index_view_name(view),
                           "start", resv_time_to_json(start),
                           "end", resv_time_to_json(end),
                           "intervals", intervals, "minimum", minimum,
                           "truncated", truncated,
                           "next_start",
                           truncated ? resv_time_to_json(steps[length - 1].end)
                                     : json_null())
               : NULL;
    if (!body) {
        httpd_reply_error(req, 500, "out of memory");
    } else {
        httpd_reply_json(req, 200, body);
    }
out:
    json_decref(intervals);
    json_decref(minimum);
    free(steps);
    evhttp_clear_headers(&fields);
}

static int
resv_api_add_zone(const struct resv_zone_info *z, void *arg)
{
    struct resv_api_list *l = arg;
    json_t *item = json_pack("{s:s, s:I, s:I, s:I}", "name", z->name,
                             "pools", (json_int_t) z->pools,
                             "reservations", (json_int_t) z->reservations,
                             "allocations", (json_int_t) z->allocations);

    if (json_array_append_new(l->items, item)) {
        l->failed = true;
        return 1;
    }
    return 0;
}

static void
resv_api_zones(struct evhttp_request *req, const struct httpd_params *params,
               void *arg)
{
    static const char *const none[] = { NULL };
    struct resv_api *api = arg;
    struct resv_api_list l = { 0 };
    struct evkeyvalq fields;

    (void) params;
    if (resv_api_query(req, none, &fields)) {
        return;
    }
    evhttp_clear_headers(&fields);
    l.items = json_array();
    if (l.items) {
        resv_engine_zone_list(api->engine, resv_api_add_zone, &l);
    }
    resv_api_reply_list(req, &l, "zones");
}

/* ---- set-up ----------------------------------------------------------- */

struct resv_api *
resv_api_new(struct httpd *httpd, const struct resv_api_options *o,
             int *error)
{
    static const struct {
        unsigned int methods;
        const char *pattern;
        httpd_handler_fn *handler;
    } routes[] = {
        { EVHTTP_REQ_GET | EVHTTP_REQ_POST, "/v1/pools", resv_api_pools },
        { EVHTTP_REQ_GET | EVHTTP_REQ_DELETE, "/v1/pools/{}",
          resv_api_pool },
        { EVHTTP_REQ_GET | EVHTTP_REQ_POST, "/v1/reservations",
          resv_api_reservations },
        { EVHTTP_REQ_GET | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE,
          "/v1/reservations/{}", resv_api_reservation },
        { EVHTTP_REQ_GET | EVHTTP_REQ_POST, "/v1/allocations",
          resv_api_allocations },
        { EVHTTP_REQ_GET | EVHTTP_REQ_DELETE, "/v1/allocations/{}",
          resv_api_allocation },
        { EVHTTP_REQ_GET, "/v1/capacity", resv_api_capacity },
        { EVHTTP_REQ_GET, "/v1/zones", resv_api_zones },
    };
    struct resv_api *api;
    int ret;

    if (!o->engine || !o->max_list || !o->max_intervals) {
        *error = -EINVAL;
        return NULL;
    }
    api = calloc(1, sizeof *api);
    if (!api) {
        *error = -ENOMEM;
        return NULL;
    }
    api->engine = o->engine;
    api->max_list = o->max_list;
    api->max_intervals = o->max_intervals;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        ret = httpd_route(httpd, routes[i].methods, routes[i].pattern,
                          routes[i].handler, api);
        if (ret) {
            free(api);
            *error = ret;
            return NULL;
        }
    }
    return api;
}

void
resv_api_free(struct resv_api *api)
{
    free(api);
}
