/* resv_blazar: the Blazar-compatible /v1/leases subset (see resv_blazar.h):
 * the lease body parsers, the translation between leases and engine
 * reservations, and the REST handlers with their all-or-nothing
 * bookkeeping across the engine's group commit. */
#include "resv_blazar.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "idmap.h"
#include "resv_api.h"
#include "resv_db.h"
#include "resv_engine.h"
#include "resv_request.h"
#include "resv_time.h"
#include "vlog.h"
#include "vuuid.h"

#define MOD "blazar"
#define RESV_BLAZAR_PREFIX "blazar:"
#define RESV_BLAZAR_PREFIX_SIZE (sizeof RESV_BLAZAR_PREFIX - 1)
#define RESV_BLAZAR_DATE_MAX 64          /* bytes of a date string */
#define RESV_BLAZAR_DATE_SIZE 32

static struct vlog_rate_limit resv_blazar_rl = VLOG_RATE_LIMIT_INIT(1, 5);

/* ---- parsers ----------------------------------------------------------- */

int
resv_blazar_parse_date(const json_t *value, const char *field,
                       bool allow_now, bool *now, int64_t *out, char *err,
                       size_t err_size)
{
    char text[RESV_BLAZAR_DATE_MAX + 4];
    const char *s = json_string_value(value);
    size_t n = json_string_length(value);
    bool reported = false;
    int ret = -EINVAL;
    int64_t t;

    if (!s || n == 0 || n > RESV_BLAZAR_DATE_MAX || strlen(s) != n) {
        goto out;
    }
    if (!strcmp(s, "now")) {
        if (allow_now) {
            *now = true;
            ret = 0;
        } else {
            snprintf(err, err_size, "%s: \"now\" is not accepted here",
                     field);
            reported = true;
        }
        goto out;
    }
    /* Blazar's "YYYY-MM-DD HH:MM": add the seconds resv_time wants. */
    memcpy(text, s, n + 1);
    if (n == 16 && text[10] == ' ' && text[13] == ':') {
        memcpy(text + 16, ":00", 4);
    }
    if (!resv_time_parse(text, &t)) {
        *now = false;
        *out = t;
        ret = 0;
    }
out:
    if (ret && !reported) {
        snprintf(err, err_size, "%s: expected %s\"YYYY-MM-DD HH:MM\" (UTC)",
                 field, allow_now ? "\"now\" or " : "");
    }
    return ret;
}

/* A lease name: 1..RESV_BLAZAR_NAME_SIZE-1 bytes, no control characters
 * and no NUL. */
static int
resv_blazar_parse_name(const json_t *value, char *out, char *err,
                       size_t err_size)
{
    const char *s = json_string_value(value);
    size_t n = json_string_length(value);

    if (!s || n == 0 || n >= RESV_BLAZAR_NAME_SIZE || strlen(s) != n) {
        snprintf(err, err_size, "name: expected a string of 1 to %d bytes",
                 RESV_BLAZAR_NAME_SIZE - 1);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];

        if (c < 0x20 || c == 0x7f) {
            snprintf(err, err_size, "name: contains a control character");
            return -EINVAL;
        }
    }
    memcpy(out, s, n + 1);
    return 0;
}

/* An integer member of reservation 'i' in [min, CAPVEC_MAX]. */
static int
resv_blazar_parse_count(const json_t *r, size_t i, const char *key,
                        int64_t min, int64_t *out, char *err,
                        size_t err_size)
{
    const json_t *v = json_object_get(r, key);
    json_int_t n;

    if (!v) {
        snprintf(err, err_size, "reservations[%zu].%s: missing", i, key);
        return -EINVAL;
    }
    n = json_is_integer(v) ? json_integer_value(v) : -1;
    if (!json_is_integer(v) || n < min || n > CAPVEC_MAX) {
        snprintf(err, err_size, "reservations[%zu].%s: expected an integer "
                 "in [%" PRId64 ", %" PRId64 "]", i, key, min, CAPVEC_MAX);
        return -EINVAL;
    }
    *out = n;
    return 0;
}

static int
resv_blazar_parse_reservation(const json_t *r, size_t i,
                              struct resv_blazar_instance *out, char *err,
                              size_t err_size)
{
    static const char *const known[] = {
        "resource_type", "amount", "vcpus", "memory_mb", "disk_gb",
        "affinity", "resource_properties", NULL
    };
    struct resv_blazar_instance inst;
    const json_t *type, *v;
    struct capvec c;
    const char *key;
    json_t *value;

    if (!json_is_object(r)) {
        snprintf(err, err_size, "reservations[%zu]: expected an object", i);
        return -EINVAL;
    }
    type = json_object_get(r, "resource_type");
    if (!json_is_string(type)) {
        snprintf(err, err_size, "reservations[%zu].resource_type: expected "
                 "\"%s\"", i, RESV_BLAZAR_RESOURCE_TYPE);
        return -EINVAL;
    }
    if (strcmp(json_string_value(type), RESV_BLAZAR_RESOURCE_TYPE) ||
        json_string_length(type) != strlen(RESV_BLAZAR_RESOURCE_TYPE)) {
        snprintf(err, err_size, "reservations[%zu].resource_type: '%.64s' "
                 "is not supported, only %s", i, json_string_value(type),
                 RESV_BLAZAR_RESOURCE_TYPE);
        return -EINVAL;
    }
    json_object_foreach((json_t *) r, key, value) {
        bool found = false;

        for (size_t k = 0; known[k]; k++) {
            found = found || !strcmp(key, known[k]);
        }
        if (!found) {
            snprintf(err, err_size, "reservations[%zu].%.64s: not supported "
                     "for %s", i, key, RESV_BLAZAR_RESOURCE_TYPE);
            return -EINVAL;
        }
    }
    if (resv_blazar_parse_count(r, i, "amount", 1, &inst.amount, err,
                                err_size) ||
        resv_blazar_parse_count(r, i, "vcpus", 1, &inst.vcpus, err,
                                err_size) ||
        resv_blazar_parse_count(r, i, "memory_mb", 0, &inst.memory_mb, err,
                                err_size) ||
        resv_blazar_parse_count(r, i, "disk_gb", 0, &inst.disk_gb, err,
                                err_size)) {
        return -EINVAL;
    }
    v = json_object_get(r, "affinity");
    if (v && !json_is_null(v) &&
        !(json_is_string(v) && !strcmp(json_string_value(v), "None"))) {
        snprintf(err, err_size, "reservations[%zu].affinity: only None is "
                 "supported (vigil-reservation books capacity in a zone, "
                 "not on hosts)", i);
        return -EINVAL;
    }
    v = json_object_get(r, "resource_properties");
    if (v && !json_is_null(v) &&
        !(json_is_string(v) && json_string_length(v) == 0)) {
        snprintf(err, err_size, "reservations[%zu].resource_properties: only "
                 "an empty value is supported (no host properties)", i);
        return -EINVAL;
    }
    if (resv_blazar_capacity(&inst, &c)) {
        snprintf(err, err_size, "reservations[%zu]: amount times vcpus, "
                 "memory_mb or disk_gb is above %" PRId64, i, CAPVEC_MAX);
        return -EINVAL;
    }
    *out = inst;
    return 0;
}

int
resv_blazar_parse_lease(const json_t *body, bool update,
                        struct resv_blazar_request *out, char *err,
                        size_t err_size)
{
    static const char *const known[] = {
        "name", "start_date", "end_date", "reservations", "events",
        "before_end_date", NULL
    };
    struct resv_blazar_request *req;
    const json_t *v;
    struct capvec total;
    const char *key;
    json_t *value;
    int ret = -EINVAL;

    if (!json_is_object(body)) {
        snprintf(err, err_size, "body: expected a JSON object");
        return -EINVAL;
    }
    json_object_foreach((json_t *) body, key, value) {
        bool found = false;

        for (size_t k = 0; known[k]; k++) {
            found = found || !strcmp(key, known[k]);
        }
        if (!found) {
            snprintf(err, err_size, "%.64s: unknown member", key);
            return -EINVAL;
        }
    }
    req = calloc(1, sizeof *req);
    if (!req) {
        snprintf(err, err_size, "out of memory");
        return -ENOMEM;
    }
    v = json_object_get(body, "name");
    if (v) {
        if (resv_blazar_parse_name(v, req->name, err, err_size)) {
            goto out;
        }
        req->has_name = true;
    }
    v = json_object_get(body, "start_date");
    if (v) {
        if (resv_blazar_parse_date(v, "start_date", true, &req->start_now,
                                   &req->start, err, err_size)) {
            goto out;
        }
        req->has_start = true;
    }
    v = json_object_get(body, "end_date");
    if (v) {
        bool now = false;

        if (resv_blazar_parse_date(v, "end_date", false, &now, &req->end,
                                   err, err_size)) {
            goto out;
        }
        req->has_end = true;
    }
    if (req->has_start && !req->start_now && req->has_end &&
        req->end <= req->start) {
        snprintf(err, err_size, "end_date: must be after start_date");
        goto out;
    }
    v = json_object_get(body, "events");
    if (v && !(json_is_array(v) && json_array_size(v) == 0)) {
        snprintf(err, err_size, "events: only [] is supported (no "
                 "before_end events)");
        goto out;
    }
    v = json_object_get(body, "before_end_date");
    if (v && !json_is_null(v)) {
        snprintf(err, err_size, "before_end_date: not supported (only "
                 "null)");
        goto out;
    }
    v = json_object_get(body, "reservations");
    if (update) {
        if (v) {
            snprintf(err, err_size, "reservations: changing the reservations "
                     "of a lease is not supported (only name, start_date "
                     "and end_date)");
            goto out;
        }
        if (!req->has_name && !req->has_start && !req->has_end) {
            snprintf(err, err_size, "body: expected name, start_date or "
                     "end_date");
            goto out;
        }
    } else {
        const char *missing = !req->has_name ? "name"
                              : !req->has_start ? "start_date"
                              : !req->has_end ? "end_date"
                              : !v ? "reservations" : NULL;

        if (missing) {
            snprintf(err, err_size, "%s: missing", missing);
            goto out;
        }
        if (!json_is_array(v) || json_array_size(v) == 0 ||
            json_array_size(v) > RESV_BLAZAR_MAX_RESERVATIONS) {
            snprintf(err, err_size, "reservations: expected an array of 1 to "
                     "%d reservations", RESV_BLAZAR_MAX_RESERVATIONS);
            goto out;
        }
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (resv_blazar_parse_reservation(json_array_get(v, i), i,
                                              &req->reservations[i], err,
                                              err_size)) {
                goto out;
            }
        }
        req->length = json_array_size(v);
        if (resv_blazar_total(req, &total)) {
            snprintf(err, err_size, "reservations: the sum of the "
                     "reservations is above %" PRId64, CAPVEC_MAX);
            goto out;
        }
    }
    *out = *req;
    ret = 0;
out:
    free(req);
    return ret;
}

/* ---- translation --------------------------------------------------------- */

/* a * b into '*out' when it stays within CAPVEC_MAX (a, b >= 0). */
static int
resv_blazar_mul(int64_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b < 0 || (b && a > CAPVEC_MAX / b)) {
        return -ERANGE;
    }
    *out = a * b;
    return 0;
}

int
resv_blazar_capacity(const struct resv_blazar_instance *r, struct capvec *out)
{
    struct capvec c = { { 0 } };

    if (r->amount < 0 || r->amount > CAPVEC_MAX ||
        resv_blazar_mul(r->amount, r->vcpus, &c.v[CAPVEC_CORES]) ||
        resv_blazar_mul(r->amount, r->memory_mb, &c.v[CAPVEC_RAM]) ||
        resv_blazar_mul(r->amount, r->disk_gb, &c.v[CAPVEC_GIGABYTES])) {
        return -ERANGE;
    }
    c.v[CAPVEC_INSTANCES] = r->amount;
    *out = c;
    return 0;
}

int
resv_blazar_total(const struct resv_blazar_request *req, struct capvec *out)
{
    struct capvec sum = { { 0 } }, c;

    for (size_t i = 0; i < req->length; i++) {
        if (resv_blazar_capacity(&req->reservations[i], &c)) {
            return -ERANGE;
        }
        for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
            if (c.v[k] > CAPVEC_MAX - sum.v[k]) {
                return -ERANGE;
            }
            sum.v[k] += c.v[k];
        }
    }
    *out = sum;
    return 0;
}

void
resv_blazar_instance_from_capvec(const struct capvec *c,
                                 struct resv_blazar_instance *out)
{
    int64_t n = c->v[CAPVEC_INSTANCES];

    out->amount = n > 0 ? n : 0;
    out->vcpus = n > 0 ? c->v[CAPVEC_CORES] / n : 0;
    out->memory_mb = n > 0 ? c->v[CAPVEC_RAM] / n : 0;
    out->disk_gb = n > 0 ? c->v[CAPVEC_GIGABYTES] / n : 0;
}

int
resv_blazar_name_encode(const char *lease_id, const char *name, char *out)
{
    size_t n = strnlen(name, RESV_BLAZAR_NAME_SIZE);

    if (!vuuid_is_valid(lease_id) || n >= RESV_BLAZAR_NAME_SIZE) {
        return -EINVAL;
    }
    /* 7 + 36 + 1 + 80 bytes: always fits RESV_NAME_SIZE. */
    snprintf(out, RESV_NAME_SIZE, "%s%s:%s", RESV_BLAZAR_PREFIX, lease_id,
             name);
    return 0;
}

int
resv_blazar_name_decode(const char *engine_name, char *lease_id, char *name)
{
    const size_t id_length = VUUID_STRING_SIZE - 1;
    char id[VUUID_STRING_SIZE];
    const char *rest;
    size_t n;

    if (strncmp(engine_name, RESV_BLAZAR_PREFIX, RESV_BLAZAR_PREFIX_SIZE)) {
        return -EINVAL;
    }
    rest = engine_name + RESV_BLAZAR_PREFIX_SIZE;
    if (strnlen(rest, id_length + 1) < id_length + 1 ||
        rest[id_length] != ':') {
        return -EINVAL;
    }
    memcpy(id, rest, id_length);
    id[id_length] = '\0';
    rest += id_length + 1;
    n = strnlen(rest, RESV_BLAZAR_NAME_SIZE);
    if (!vuuid_is_valid(id) || n >= RESV_BLAZAR_NAME_SIZE) {
        return -EINVAL;
    }
    memcpy(lease_id, id, VUUID_STRING_SIZE);
    memcpy(name, rest, n + 1);
    return 0;
}

char *
resv_blazar_format_date(int64_t t, char *buf, size_t size)
{
    char iso[RESV_TIME_SIZE];

    resv_time_format(t, iso, sizeof iso);
    /* "YYYY-MM-DDTHH:MM:SSZ" -> "YYYY-MM-DDTHH:MM:SS.000000" */
    snprintf(buf, size, "%.19s.000000", iso);
    return buf;
}

static json_t *
resv_blazar_date_json(int64_t t)
{
    char buf[RESV_BLAZAR_DATE_SIZE];

    return json_string(resv_blazar_format_date(t, buf, sizeof buf));
}

/* Blazar's reservation status: pending, active, deleted. */
static const char *
resv_blazar_reservation_status(enum resv_status status)
{
    return status == RESV_STATUS_PENDING ? "pending"
           : status == RESV_STATUS_ACTIVE ? "active" : "deleted";
}

static json_t *
resv_blazar_reservation_to_json(const char *lease_id,
                                const struct resv_record *r)
{
    struct resv_blazar_instance inst;

    resv_blazar_instance_from_capvec(&r->capacity, &inst);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:I, s:I, s:I, "
                     "s:I, s:n, s:s, s:n, s:n, s:n, s:s, s:o, s:o, s:o}",
                     "id", r->id, "lease_id", lease_id,
                     "resource_id", r->id,
                     "resource_type", RESV_BLAZAR_RESOURCE_TYPE,
                     "status", resv_blazar_reservation_status(r->status),
                     "missing_resources", 0, "resources_changed", 0,
                     "amount", (json_int_t) inst.amount,
                     "vcpus", (json_int_t) inst.vcpus,
                     "memory_mb", (json_int_t) inst.memory_mb,
                     "disk_gb", (json_int_t) inst.disk_gb,
                     "affinity", "resource_properties", "",
                     "flavor_id", "server_group_id", "aggregate_id",
                     "zone", r->zone,
                     "capacity", capvec_to_json(&r->capacity, false),
                     "created_at", resv_blazar_date_json(r->created),
                     "updated_at", resv_blazar_date_json(r->updated));
}

json_t *
resv_blazar_lease_to_json(const char *lease_id,
                          const struct resv_record *records, size_t length)
{
    char id[VUUID_STRING_SIZE], name[RESV_BLAZAR_NAME_SIZE] = "";
    json_t *reservations = json_array(), *events;
    bool any_active = false, any_pending = false;
    int64_t created = 0, updated = 0, now = resv_time_now();
    const char *status;

    if (!reservations || length == 0) {
        json_decref(reservations);
        return NULL;
    }
    if (resv_blazar_name_decode(records[0].name, id, name)) {
        name[0] = '\0';
    }
    for (size_t i = 0; i < length; i++) {
        const struct resv_record *r = &records[i];

        any_active = any_active || r->status == RESV_STATUS_ACTIVE;
        any_pending = any_pending || r->status == RESV_STATUS_PENDING;
        created = i == 0 || r->created < created ? r->created : created;
        updated = r->updated > updated ? r->updated : updated;
        if (json_array_append_new(reservations,
                                  resv_blazar_reservation_to_json(lease_id,
                                                                  r))) {
            json_decref(reservations);
            return NULL;
        }
    }
    status = any_active ? "ACTIVE" : any_pending ? "PENDING" : "TERMINATED";
    events = json_pack("[{s:s, s:o, s:s}, {s:s, s:o, s:s}]",
                       "event_type", "start_lease",
                       "event_date", resv_blazar_date_json(records[0].start),
                       "status", any_pending || records[0].start > now
                                     ? "UNDONE" : "DONE",
                       "event_type", "end_lease",
                       "event_date", resv_blazar_date_json(records[0].end),
                       "status", any_active || any_pending ? "UNDONE"
                                                           : "DONE");
    return json_pack("{s:s, s:s, s:s, s:n, s:n, s:o, s:o, s:s, s:b, s:o, "
                     "s:o, s:o, s:o}",
                     "id", lease_id, "name", name,
                     "project_id", records[0].project_id,
                     "user_id", "trust_id",
                     "start_date", resv_blazar_date_json(records[0].start),
                     "end_date", resv_blazar_date_json(records[0].end),
                     "status", status, "degraded", 0,
                     "reservations", reservations,
                     "events", events ? events : json_null(),
                     "created_at", resv_blazar_date_json(created),
                     "updated_at", resv_blazar_date_json(updated));
}

/* ---- the API --------------------------------------------------------- */

/* A known lease: its engine reservations, in the order asked for. */
struct resv_blazar_lease {
    char id[VUUID_STRING_SIZE];              /* the idmap key */
    char name[RESV_BLAZAR_NAME_SIZE];
    bool busy;                               /* a change is in flight */
    size_t length;
    char reservation_ids[RESV_BLAZAR_MAX_RESERVATIONS][VUUID_STRING_SIZE];
};

struct resv_blazar {
    struct resv_engine *engine;
    char zone[RESV_NAME_SIZE];
    size_t max_list;
    size_t max_leases;
    struct idmap leases;                     /* struct resv_blazar_lease */
};

enum resv_blazar_op_kind {
    RESV_BLAZAR_OP_CREATE,
    RESV_BLAZAR_OP_UPDATE,
    RESV_BLAZAR_OP_DELETE,
    RESV_BLAZAR_OP_COUNT
};

struct resv_blazar_op;

/* The 'done' argument of the i-th write of an operation. */
struct resv_blazar_slot {
    struct resv_blazar_op *op;
    size_t index;
};

/* A lease request whose writes wait for their commit. */
struct resv_blazar_op {
    struct resv_blazar *blazar;
    struct evhttp_request *req;
    enum resv_blazar_op_kind kind;
    struct resv_blazar_lease *lease;   /* CREATE: owned until inserted */
    size_t waiting;                    /* done callbacks to come */
    bool io_failed;                    /* a write did not commit */
    int refusal;                       /* 0, or the engine's refusal */
    struct resv_engine_error err;
    bool rolled_back;                  /* CREATE: cancellations queued */
    bool queued[RESV_BLAZAR_MAX_RESERVATIONS];
    int status[RESV_BLAZAR_MAX_RESERVATIONS];
    struct resv_blazar_slot slots[RESV_BLAZAR_MAX_RESERVATIONS];
    struct resv_record records[RESV_BLAZAR_MAX_RESERVATIONS];
};

/* Blazar's error names for the codes answered here. */
static const char *
resv_blazar_error_name(int code)
{
    switch (code) {
    case 400:
        return "MalformedRequestBody";
    case 403:
        return "PolicyNotAuthorized";
    case 404:
        return "NotFound";
    case 409:
        return "NotEnoughResourcesAvailable";
    case 503:
        return "ServiceUnavailable";
    default:
        return "InternalError";
    }
}

/* Replies 'code' in Blazar's form ({"error_code", "error_message",
 * "error_name"}) and Vigil's ({"error": {"code", "message", "conflict"?,
 * "offer"?}}). 'err' may be NULL. */
static void
resv_blazar_reply_error(struct evhttp_request *req, int code,
                        const struct resv_engine_error *err,
                        const char *message)
{
    json_t *body, *error;

    if (code == 500) {
        vlog_write_rl(&resv_blazar_rl, VLOG_LEVEL_ERR, MOD,
                      "lease request failed: %s", message);
    }
    error = json_pack("{s:i, s:s}", "code", code, "message", message);
    body = json_pack("{s:i, s:s, s:s, s:O}", "error_code", code,
                     "error_message", message,
                     "error_name", resv_blazar_error_name(code),
                     "error", error ? error : json_null());
    if (error && body && err && err->has_conflict) {
        json_object_set_new(error, "conflict",
                            json_pack("{s:s, s:I, s:I, s:o, s:o}",
                                      "key",
                                      capvec_key_name(err->conflict.key),
                                      "requested",
                                      (json_int_t) err->conflict.requested,
                                      "available",
                                      (json_int_t) err->conflict.available,
                                      "start",
                                      resv_time_to_json(err->conflict.start),
                                      "end",
                                      resv_time_to_json(err->conflict.end)));
    }
    if (error && body && err && err->has_offer) {
        json_object_set_new(error, "offer",
                            json_pack("{s:o, s:o, s:o, s:o, s:o}",
                                      "capacity",
                                      capvec_to_json(&err->largest, true),
                                      "start",
                                      resv_time_to_json(err->window_start),
                                      "end",
                                      resv_time_to_json(err->window_end),
                                      "earliest_start",
                                      err->has_earliest
                                          ? resv_time_to_json(
                                                err->earliest_start)
                                          : json_null(),
                                      "earliest_end",
                                      err->has_earliest
                                          ? resv_time_to_json(
                                                err->earliest_end)
                                          : json_null()));
    }
    json_decref(error);
    if (!body) {
        httpd_reply_error(req, code, "%s", message);
        return;
    }
    httpd_reply_json(req, code, body);
}

static void
resv_blazar_refuse(struct evhttp_request *req, int ret,
                   const struct resv_engine_error *err)
{
    resv_blazar_reply_error(req, resv_api_http_status(ret), err,
                            err->message[0] ? err->message
                                            : strerror(-ret));
}

/* Reads the engine reservations of 'lease' from the database into
 * 'records' (lease->length of them). 0 or a negative errno. */
static int
resv_blazar_read(struct resv_blazar *b, const struct resv_blazar_lease *lease,
                 struct resv_record *records)
{
    for (size_t i = 0; i < lease->length; i++) {
        int ret = resv_db_get_reservation(resv_engine_db(b->engine),
                                          lease->reservation_ids[i],
                                          &records[i], NULL);

        if (ret) {
            return ret;
        }
    }
    return 0;
}

/* True when no reservation of 'records' holds capacity any more. */
static bool
resv_blazar_all_over(const struct resv_record *records, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        if (resv_status_is_live(records[i].status)) {
            return false;
        }
    }
    return true;
}

/* Makes room under max_leases by forgetting terminated leases. True when
 * there is room. */
static bool
resv_blazar_make_room(struct resv_blazar *b)
{
    struct resv_blazar_lease **over = NULL, *l;
    struct resv_record *records;
    size_t cursor = 0, length = 0;

    if (b->leases.length < b->max_leases) {
        return true;
    }
    records = calloc(RESV_BLAZAR_MAX_RESERVATIONS, sizeof *records);
    over = calloc(b->leases.length, sizeof *over);
    while (records && over && (l = idmap_next(&b->leases, &cursor))) {
        if (!l->busy && !resv_blazar_read(b, l, records) &&
            resv_blazar_all_over(records, l->length)) {
            over[length++] = l;
        }
    }
    for (size_t i = 0; i < length; i++) {
        idmap_remove(&b->leases, over[i]->id);
        free(over[i]);
    }
    free(over);
    free(records);
    return b->leases.length < b->max_leases;
}

static struct resv_blazar_op *
resv_blazar_op_new(struct resv_blazar *b, struct evhttp_request *req,
                   enum resv_blazar_op_kind kind)
{
    struct resv_blazar_op *op = calloc(1, sizeof *op);

    if (!op) {
        resv_blazar_reply_error(req, 500, NULL, "out of memory");
        return NULL;
    }
    op->blazar = b;
    op->req = req;
    op->kind = kind;
    for (size_t i = 0; i < RESV_BLAZAR_MAX_RESERVATIONS; i++) {
        op->slots[i].op = op;
        op->slots[i].index = i;
    }
    return op;
}

/* Replies with the lease as the operation left it. */
static void
resv_blazar_reply_lease(struct resv_blazar_op *op, int code)
{
    json_t *lease = resv_blazar_lease_to_json(op->lease->id, op->records,
                                              op->lease->length);

    if (!lease) {
        resv_blazar_reply_error(op->req, 500, NULL, "out of memory");
        return;
    }
    httpd_reply_json(op->req, code, json_pack("{s:o}", "lease", lease));
}

static resv_engine_done_fn resv_blazar_revert_done;

/* Every write of 'op' is committed or undone: answer, keep or undo
 * (which may queue more writes and come back here once they are done). */
static void
resv_blazar_op_finish(struct resv_blazar_op *op)
{
    struct resv_blazar *b = op->blazar;
    struct resv_engine_error err = { .message = "" };
    bool failed = op->refusal || op->io_failed;

    switch (op->kind) {
    case RESV_BLAZAR_OP_CREATE:
        if (!failed && idmap_put(&b->leases, op->lease)) {
            op->refusal = -ENOMEM;
            snprintf(op->err.message, sizeof op->err.message,
                     "out of memory");
            failed = true;
        }
        if (failed && !op->rolled_back) {
            /* All or nothing: cancel what did commit, and answer once
             * the cancellations are committed too. */
            op->rolled_back = true;
            for (size_t i = 0; i < op->lease->length; i++) {
                if (!op->queued[i] || op->status[i]) {
                    continue;
                }
                if (resv_engine_cancel(b->engine, op->records[i].id,
                                       &op->records[i],
                                       resv_blazar_revert_done, op, &err)) {
                    VLOG_ERR(MOD, "lease %s: cannot cancel reservation %s "
                             "of a refused lease: %s", op->lease->id,
                             op->records[i].id, err.message);
                    continue;
                }
                op->waiting++;
            }
            if (op->waiting) {
                return;
            }
        }
        if (failed) {
            free(op->lease);
        } else {
            VLOG_INFO(MOD, "lease %s '%s' booked in zone '%s' (%zu "
                      "reservations)", op->lease->id, op->lease->name,
                      b->zone, op->lease->length);
            resv_blazar_reply_lease(op, 201);
        }
        op->lease = NULL;
        break;
    case RESV_BLAZAR_OP_UPDATE:
        op->lease->busy = false;
        if (!failed) {
            resv_blazar_name_decode(op->records[0].name, op->lease->id,
                                    op->lease->name);
            resv_blazar_reply_lease(op, 200);
        }
        break;
    case RESV_BLAZAR_OP_DELETE:
        op->lease->busy = false;
        if (!failed) {
            idmap_remove(&b->leases, op->lease->id);
            VLOG_INFO(MOD, "lease %s deleted", op->lease->id);
            free(op->lease);
            op->lease = NULL;
            evhttp_send_reply(op->req, 204, NULL, NULL);
        }
        break;
    default:
        break;
    }
    if (failed) {
        if (op->refusal) {
            resv_blazar_refuse(op->req, op->refusal, &op->err);
        } else {
            resv_blazar_reply_error(op->req, 500, NULL, "a change could not "
                                    "be written to the database and was "
                                    "undone");
        }
    }
    free(op);
}

static void
resv_blazar_done(int status, void *arg)
{
    struct resv_blazar_slot *slot = arg;
    struct resv_blazar_op *op = slot->op;

    op->status[slot->index] = status;
    if (status) {
        op->io_failed = true;
    }
    if (--op->waiting == 0) {
        resv_blazar_op_finish(op);
    }
}

/* A revert (of an update, of a refused lease's booking): only its
 * failure matters. */
static void
resv_blazar_revert_done(int status, void *arg)
{
    struct resv_blazar_op *op = arg;

    if (status) {
        op->io_failed = true;
    }
    if (--op->waiting == 0) {
        resv_blazar_op_finish(op);
    }
}

/* The lease named in the path: the entry, or NULL after a reply. */
static struct resv_blazar_lease *
resv_blazar_find(struct resv_blazar *b, struct evhttp_request *req,
                 const struct httpd_params *params)
{
    struct resv_blazar_lease *l;
    char message[128];

    if (params->length < 1 || !vuuid_is_valid(params->values[0])) {
        resv_blazar_reply_error(req, 400, NULL,
                                "lease id: expected a UUID");
        return NULL;
    }
    l = idmap_get(&b->leases, params->values[0]);
    if (!l) {
        snprintf(message, sizeof message, "Object with {'lease_id': '%s'} "
                 "not found", params->values[0]);
        resv_blazar_reply_error(req, 404, NULL, message);
    }
    return l;
}

/* The project of a request: X-Project-Id (as keystonemiddleware sets it),
 * else the engine's default. 0 (has_project_id set or not), or -EINVAL
 * after a 400. */
static int
resv_blazar_project(struct evhttp_request *req,
                    struct resv_reservation_request *rr)
{
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(req),
                                       "X-Project-Id");
    char err[128];

    if (!v || !*v) {
        return 0;
    }
    if (resv_request_check_name(v, "X-Project-Id", err, sizeof err)) {
        resv_blazar_reply_error(req, 400, NULL, err);
        return -EINVAL;
    }
    resv_record_copy_name(rr->project_id, v);
    rr->has_project_id = true;
    return 0;
}

static void
resv_blazar_create(struct resv_blazar *b, struct evhttp_request *req)
{
    struct resv_reservation_request *rr = NULL;
    struct resv_blazar_request *lr = NULL;
    struct resv_blazar_op *op = NULL;
    struct resv_record probe;
    char why[512];
    json_t *body;
    int ret;

    body = httpd_read_json(req);
    if (!body) {
        return;
    }
    lr = calloc(1, sizeof *lr);
    rr = calloc(1, sizeof *rr);
    if (!lr || !rr) {
        resv_blazar_reply_error(req, 500, NULL, "out of memory");
        goto out;
    }
    ret = resv_blazar_parse_lease(body, false, lr, why, sizeof why);
    if (ret) {
        resv_blazar_reply_error(req, ret == -EINVAL ? 400 : 500, NULL, why);
        goto out;
    }
    if (resv_blazar_project(req, rr)) {
        goto out;
    }
    if (!resv_blazar_make_room(b)) {
        snprintf(why, sizeof why, "leases: %zu leases are known, the "
                 "maximum ([blazar] max_leases)", b->max_leases);
        resv_blazar_reply_error(req, 403, NULL, why);
        goto out;
    }
    op = resv_blazar_op_new(b, req, RESV_BLAZAR_OP_CREATE);
    if (!op) {
        goto out;
    }
    op->lease = calloc(1, sizeof *op->lease);
    if (!op->lease || resv_record_new_id(op->lease->id)) {
        resv_blazar_reply_error(req, 500, NULL, "cannot make a lease id");
        goto out;
    }
    memcpy(op->lease->name, lr->name, sizeof lr->name);
    op->lease->length = lr->length;
    resv_record_copy_name(rr->zone, b->zone);
    rr->has_zone = true;
    rr->has_name = true;
    resv_blazar_name_encode(op->lease->id, lr->name, rr->name);
    rr->has_capacity = true;
    rr->has_start = true;
    rr->start = lr->start_now ? resv_time_now() : lr->start;
    rr->has_end = true;
    rr->end = lr->end;
    /* All or nothing: the whole lease is checked first, as one vector
     * over the one window its reservations share. */
    resv_blazar_total(lr, &rr->capacity);
    ret = resv_engine_reserve(b->engine, rr, true, &probe, NULL, NULL,
                              &op->err);
    if (ret == -EBUSY) {
        char reason[sizeof op->err.message];

        memcpy(reason, op->err.message, sizeof reason);
        snprintf(op->err.message, sizeof op->err.message, "Not enough "
                 "resources available for lease '%.80s' (all %zu "
                 "reservations together): %.300s", lr->name, lr->length,
                 reason);
    }
    if (ret) {
        resv_blazar_refuse(req, ret, &op->err);
        goto out;
    }
    for (size_t i = 0; i < lr->length; i++) {
        resv_blazar_capacity(&lr->reservations[i], &rr->capacity);
        ret = resv_engine_reserve(b->engine, rr, false, &op->records[i],
                                  resv_blazar_done, &op->slots[i], &op->err);
        if (ret) {
            /* Not for lack of capacity (checked above): a quota, the
             * disk queue. Undo the rest once it committed. */
            op->refusal = ret;
            break;
        }
        op->queued[i] = true;
        op->waiting++;
        memcpy(op->lease->reservation_ids[i], op->records[i].id,
               VUUID_STRING_SIZE);
    }
    if (op->waiting == 0) {
        resv_blazar_op_finish(op);
    }
    op = NULL;
out:
    if (op) {
        free(op->lease);
        free(op);
    }
    free(lr);
    free(rr);
    json_decref(body);
}

/* The request that puts back what 'rr' changed of reservation 'r'. The
 * name is only named when it changed: resv_engine_update() of a name
 * right after an uncommitted update without one frees the old name twice
 * at commit (an engine bug, reported). */
static void
resv_blazar_revert_request(const struct resv_record *r,
                           struct resv_reservation_request *rr)
{
    bool name_changed = rr->has_name;

    memset(rr, 0, sizeof *rr);
    rr->has_start = true;
    rr->start = r->start;
    rr->has_end = true;
    rr->end = r->end;
    if (name_changed) {
        rr->has_name = true;
        memcpy(rr->name, r->name, sizeof rr->name);
    }
}

static void
resv_blazar_update(struct resv_blazar *b, struct evhttp_request *req,
                   struct resv_blazar_lease *lease)
{
    struct resv_reservation_request *rr = NULL;
    struct resv_record *old = NULL;
    struct resv_blazar_request lr;
    struct resv_blazar_op *op = NULL;
    struct resv_engine_error err = { .message = "" };
    char why[512];
    json_t *body;
    size_t done = 0;
    int ret;

    body = httpd_read_json(req);
    if (!body) {
        return;
    }
    ret = resv_blazar_parse_lease(body, true, &lr, why, sizeof why);
    if (ret) {
        resv_blazar_reply_error(req, ret == -EINVAL ? 400 : 500, NULL, why);
        goto out;
    }
    old = calloc(RESV_BLAZAR_MAX_RESERVATIONS, sizeof *old);
    rr = calloc(1, sizeof *rr);
    op = resv_blazar_op_new(b, req, RESV_BLAZAR_OP_UPDATE);
    if (!old || !rr || !op) {
        if (op) {
            resv_blazar_reply_error(req, 500, NULL, "out of memory");
        }
        goto out;
    }
    ret = resv_blazar_read(b, lease, old);
    if (ret) {
        resv_blazar_reply_error(req, 500, NULL, "cannot read the lease");
        goto out;
    }
    if (resv_blazar_all_over(old, lease->length)) {
        snprintf(why, sizeof why, "lease %s is terminated: it cannot "
                 "change", lease->id);
        resv_blazar_reply_error(req, 409, NULL, why);
        goto out;
    }
    if (lr.has_start && old[0].status != RESV_STATUS_PENDING) {
        resv_blazar_reply_error(req, 400, NULL, "start_date: cannot modify "
                                "the start date of already started leases");
        goto out;
    }
    if (lr.has_name) {
        rr->has_name = true;
        resv_blazar_name_encode(lease->id, lr.name, rr->name);
    }
    if (lr.has_start) {
        rr->has_start = true;
        rr->start = lr.start_now ? resv_time_now() : lr.start;
    }
    if (lr.has_end) {
        rr->has_end = true;
        rr->end = lr.end;
    }
    if (rr->has_start && !rr->has_end && old[0].end <= rr->start) {
        resv_blazar_reply_error(req, 400, NULL, "start_date: must be before "
                                "end_date");
        goto out;
    }
    op->lease = lease;
    lease->busy = true;
    /* Each reservation is checked with its own hold set aside and the
     * others' held where they are; as they share one window, the
     * sequence fits exactly when the final state does. */
    for (; done < lease->length; done++) {
        if (!resv_status_is_live(old[done].status)) {
            op->records[done] = old[done];
            continue;
        }
        ret = resv_engine_update(b->engine, lease->reservation_ids[done], rr,
                                 &op->records[done], resv_blazar_done,
                                 &op->slots[done], &op->err);
        if (ret) {
            op->refusal = ret;
            break;
        }
        op->waiting++;
    }
    if (op->refusal) {
        /* Put back what changed: it fit before, nothing else moved. */
        for (size_t i = 0; i < done; i++) {
            struct resv_record ignored;

            if (!resv_status_is_live(old[i].status)) {
                continue;
            }
            resv_blazar_revert_request(&old[i], rr);
            if (resv_engine_update(b->engine, old[i].id, rr, &ignored,
                                   resv_blazar_revert_done, op, &err)) {
                VLOG_ERR(MOD, "lease %s: cannot put reservation %s back: %s",
                         lease->id, old[i].id, err.message);
                continue;
            }
            op->waiting++;
        }
    }
    if (op->waiting == 0) {
        resv_blazar_op_finish(op);
    }
    op = NULL;
out:
    free(op);
    free(old);
    free(rr);
    json_decref(body);
}

static void
resv_blazar_delete(struct resv_blazar *b, struct evhttp_request *req,
                   struct resv_blazar_lease *lease)
{
    struct resv_blazar_op *op;
    int ret;

    if (evbuffer_get_length(evhttp_request_get_input_buffer(req))) {
        resv_blazar_reply_error(req, 400, NULL,
                                "body: this request takes none");
        return;
    }
    op = resv_blazar_op_new(b, req, RESV_BLAZAR_OP_DELETE);
    if (!op) {
        return;
    }
    op->lease = lease;
    lease->busy = true;
    for (size_t i = 0; i < lease->length; i++) {
        ret = resv_engine_cancel(b->engine, lease->reservation_ids[i],
                                 &op->records[i], resv_blazar_done,
                                 &op->slots[i], &op->err);
        if (ret == -EALREADY || ret == -ENOENT) {
            continue;              /* over already: nothing holds */
        }
        if (ret) {
            /* The cancellations queued stay: a lease half deleted is
             * reported, the client deletes it again. */
            op->refusal = ret;
            break;
        }
        op->waiting++;
    }
    if (op->waiting == 0) {
        resv_blazar_op_finish(op);
    }
}

static int
resv_blazar_lease_cmp(const void *a, const void *b)
{
    const struct resv_blazar_lease *const *x = a, *const *y = b;

    return strcmp((*x)->id, (*y)->id);
}

static void
resv_blazar_list(struct resv_blazar *b, struct evhttp_request *req)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    struct resv_blazar_lease **all = NULL, *l;
    struct resv_record *records = NULL;
    json_t *leases = NULL;
    size_t length = 0, cursor = 0;

    if (uri && evhttp_uri_get_query(uri)) {
        resv_blazar_reply_error(req, 400, NULL,
                                "query: GET /v1/leases takes no parameters");
        return;
    }
    all = calloc(b->leases.length + 1, sizeof *all);
    records = calloc(RESV_BLAZAR_MAX_RESERVATIONS, sizeof *records);
    leases = json_array();
    if (!all || !records || !leases) {
        goto out;
    }
    while ((l = idmap_next(&b->leases, &cursor))) {
        all[length++] = l;
    }
    /* UUIDv7 ids sort in creation order. */
    qsort(all, length, sizeof *all, resv_blazar_lease_cmp);
    for (size_t i = 0; i < length && json_array_size(leases) < b->max_list;
         i++) {
        if (resv_blazar_read(b, all[i], records)) {
            continue;
        }
        if (json_array_append_new(leases,
                                  resv_blazar_lease_to_json(all[i]->id,
                                                            records,
                                                            all[i]->length))) {
            goto out;
        }
    }
    httpd_reply_json(req, 200, json_pack("{s:o}", "leases", leases));
    leases = NULL;
out:
    if (leases || !all || !records) {
        resv_blazar_reply_error(req, 500, NULL, "out of memory");
    }
    json_decref(leases);
    free(all);
    free(records);
}

static void
resv_blazar_leases(struct evhttp_request *req,
                   const struct httpd_params *params, void *arg)
{
    struct resv_blazar *b = arg;

    (void) params;
    if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
        resv_blazar_list(b, req);
    } else {
        resv_blazar_create(b, req);
    }
}

static void
resv_blazar_lease(struct evhttp_request *req,
                  const struct httpd_params *params, void *arg)
{
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    struct resv_blazar *b = arg;
    struct resv_blazar_lease *lease = resv_blazar_find(b, req, params);
    struct resv_record *records;
    char message[160];

    if (!lease) {
        return;
    }
    if (method != EVHTTP_REQ_GET && lease->busy) {
        snprintf(message, sizeof message, "lease %s is being changed; try "
                 "again", lease->id);
        resv_blazar_reply_error(req, 409, NULL, message);
        return;
    }
    if (method == EVHTTP_REQ_PUT) {
        resv_blazar_update(b, req, lease);
        return;
    }
    if (method == EVHTTP_REQ_DELETE) {
        resv_blazar_delete(b, req, lease);
        return;
    }
    records = calloc(RESV_BLAZAR_MAX_RESERVATIONS, sizeof *records);
    if (!records || resv_blazar_read(b, lease, records)) {
        resv_blazar_reply_error(req, 500, NULL, "cannot read the lease");
    } else {
        json_t *l = resv_blazar_lease_to_json(lease->id, records,
                                              lease->length);

        if (!l) {
            resv_blazar_reply_error(req, 500, NULL, "out of memory");
        } else {
            httpd_reply_json(req, 200, json_pack("{s:o}", "lease", l));
        }
    }
    free(records);
}

/* Collects the live engine reservations made for leases (at start). */
static int
resv_blazar_load_one(const struct resv_record *r, int64_t seq, void *arg)
{
    struct resv_blazar *b = arg;
    char id[VUUID_STRING_SIZE], name[RESV_BLAZAR_NAME_SIZE];
    struct resv_blazar_lease *l;

    (void) seq;
    if (strcmp(r->zone, b->zone) || resv_blazar_name_decode(r->name, id,
                                                            name)) {
        return 0;
    }
    l = idmap_get(&b->leases, id);
    if (!l) {
        l = calloc(1, sizeof *l);
        if (!l) {
            return -ENOMEM;
        }
        memcpy(l->id, id, sizeof id);
        memcpy(l->name, name, sizeof name);
        if (idmap_put(&b->leases, l)) {
            free(l);
            return -ENOMEM;
        }
    }
    if (l->length < RESV_BLAZAR_MAX_RESERVATIONS) {
        memcpy(l->reservation_ids[l->length++], r->id, VUUID_STRING_SIZE);
    }
    return 0;
}

struct resv_blazar *
resv_blazar_new(struct httpd *httpd, const struct resv_blazar_options *o,
                int *error)
{
    struct resv_blazar *b;
    char err[128];
    int ret;

    if (!o->engine || !o->zone || !o->max_list || !o->max_leases ||
        resv_request_check_name(o->zone, "zone", err, sizeof err)) {
        *error = -EINVAL;
        return NULL;
    }
    b = calloc(1, sizeof *b);
    if (!b) {
        *error = -ENOMEM;
        return NULL;
    }
    b->engine = o->engine;
    resv_record_copy_name(b->zone, o->zone);
    b->max_list = o->max_list;
    b->max_leases = o->max_leases;
    idmap_init(&b->leases, offsetof(struct resv_blazar_lease, id));
    ret = resv_db_load_reservations(resv_engine_db(o->engine), true,
                                    resv_blazar_load_one, b);
    if (ret) {
        ret = ret == -ENOMEM ? -ENOMEM : -EIO;
        goto out;
    }
    ret = httpd_route(httpd, EVHTTP_REQ_GET | EVHTTP_REQ_POST, "/v1/leases",
                      resv_blazar_leases, b);
    if (!ret) {
        ret = httpd_route(httpd, EVHTTP_REQ_GET | EVHTTP_REQ_PUT |
                                     EVHTTP_REQ_DELETE,
                          "/v1/leases/{}", resv_blazar_lease, b);
    }
out:
    if (ret) {
        resv_blazar_free(b);
        *error = ret;
        return NULL;
    }
    return b;
}

void
resv_blazar_free(struct resv_blazar *b)
{
    struct resv_blazar_lease *l;
    size_t cursor = 0;

    if (!b) {
        return;
    }
    while ((l = idmap_next(&b->leases, &cursor))) {
        free(l);
    }
    idmap_clear(&b->leases);
    free(b);
}
