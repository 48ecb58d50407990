/* resv_request: request body parsers (see resv_request.h). */
#include "resv_request.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "resv_time.h"

/* The members a body may hold; anything else is refused. */
static int
resv_request_known(const json_t *body, const char *const *known, char *err,
                   size_t err_size)
{
    const char *key;
    json_t *value;

    if (!json_is_object(body)) {
        snprintf(err, err_size, "body: expected a JSON object");
        return -EINVAL;
    }
    json_object_foreach((json_t *) body, key, value) {
        bool found = false;

        for (size_t i = 0; known[i]; i++) {
            if (!strcmp(key, known[i])) {
                found = true;
                break;
            }
        }
        if (!found) {
            snprintf(err, err_size, "%.64s: unknown member", key);
            return -EINVAL;
        }
    }
    return 0;
}

int
resv_request_check_name(const char *value, const char *field, char *err,
                        size_t err_size)
{
    size_t n = strnlen(value, RESV_NAME_SIZE);

    if (n == 0 || n >= RESV_NAME_SIZE) {
        snprintf(err, err_size, "%s: expected 1 to %d bytes", field,
                 RESV_NAME_SIZE - 1);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) value[i];

        if (c < 0x20 || c == 0x7f) {
            snprintf(err, err_size, "%s: contains a control character",
                     field);
            return -EINVAL;
        }
    }
    return 0;
}

/* Reads the string member 'key' into 'out' (RESV_NAME_SIZE bytes).
 * Returns 1 when present, 0 when absent, -EINVAL. */
static int
resv_request_name(const json_t *body, const char *key, char *out, char *err,
                  size_t err_size)
{
    const json_t *v = json_object_get(body, key);
    const char *s;

    if (!v) {
        return 0;
    }
    s = json_string_value(v);
    if (!s || strlen(s) != json_string_length(v)) {
        snprintf(err, err_size, "%s: expected a string without NUL", key);
        return -EINVAL;
    }
    if (resv_request_check_name(s, key, err, err_size)) {
        return -EINVAL;
    }
    memcpy(out, s, strlen(s) + 1);
    return 1;
}

/* Reads the time member 'key'. 1 present, 0 absent, -EINVAL. */
static int
resv_request_time(const json_t *body, const char *key, int64_t *out,
                  char *err, size_t err_size)
{
    const json_t *v = json_object_get(body, key);

    if (!v) {
        return 0;
    }
    if (resv_time_from_json(v, out)) {
        snprintf(err, err_size, "%s: expected epoch seconds (integer) or an "
                 "ISO-8601 time such as \"2026-11-22T08:00:00Z\" (whole "
                 "seconds, 1970 to 9999)", key);
        return -EINVAL;
    }
    return 1;
}

/* Reads a count of seconds in [1, RESV_TIME_MAX]; null gives 0 when
 * 'nullable'. 1 present, 0 absent, -EINVAL. */
static int
resv_request_seconds(const json_t *body, const char *key, bool nullable,
                     int64_t *out, char *err, size_t err_size)
{
    const json_t *v = json_object_get(body, key);
    json_int_t n;

    if (!v) {
        return 0;
    }
    if (nullable && json_is_null(v)) {
        *out = 0;
        return 1;
    }
    n = json_is_integer(v) ? json_integer_value(v) : 0;
    if (!json_is_integer(v) || n < 1 || n > RESV_TIME_MAX) {
        snprintf(err, err_size, "%s: expected a number of seconds in [1, "
                 "%lld]%s", key, (long long) RESV_TIME_MAX,
                 nullable ? " or null" : "");
        return -EINVAL;
    }
    *out = (int64_t) n;
    return 1;
}

/* Reads the capacity member: 1 present, 0 absent, -EINVAL. Counts >= 0
 * with some > 0 unless 'pool' (any sign, not all zero). */
static int
resv_request_capacity(const json_t *body, bool pool, struct capvec *out,
                      char *err, size_t err_size)
{
    const json_t *v = json_object_get(body, "capacity");
    struct capvec vec;

    if (!v) {
        return 0;
    }
    if (capvec_from_json(v, "capacity", pool, &vec, err, err_size)) {
        return -EINVAL;
    }
    if (pool ? capvec_is_zero(&vec) : !capvec_any_positive(&vec)) {
        snprintf(err, err_size, pool ? "capacity: every count is 0"
                                     : "capacity: at least one count must "
                                       "be above 0");
        return -EINVAL;
    }
    *out = vec;
    return 1;
}

static int
resv_request_missing(const char *key, char *err, size_t err_size)
{
    snprintf(err, err_size, "%s: missing", key);
    return -EINVAL;
}

int
resv_request_pool(const json_t *body, struct resv_pool_request *out,
                  char *err, size_t err_size)
{
    static const char *const known[] = { "zone", "name", "capacity",
                                         "start", "end", "force", NULL };
    struct resv_pool_request r;
    const json_t *force;
    int n;

    memset(&r, 0, sizeof r);
    if (resv_request_known(body, known, err, err_size)) {
        return -EINVAL;
    }
    n = resv_request_name(body, "zone", r.zone, err, err_size);
    if (n <= 0) {
        return n ? n : resv_request_missing("zone", err, err_size);
    }
    if (resv_request_name(body, "name", r.name, err, err_size) < 0) {
        return -EINVAL;
    }
    n = resv_request_capacity(body, true, &r.capacity, err, err_size);
    if (n <= 0) {
        return n ? n : resv_request_missing("capacity", err, err_size);
    }
    n = resv_request_time(body, "start", &r.start, err, err_size);
    if (n < 0) {
        return n;
    }
    r.has_start = n;
    n = resv_request_time(body, "end", &r.end, err, err_size);
    if (n < 0) {
        return n;
    }
    r.has_end = n;
    if (r.has_start && r.has_end && r.end <= r.start) {
        snprintf(err, err_size, "end: must be after start");
        return -EINVAL;
    }
    force = json_object_get(body, "force");
    if (force && !json_is_boolean(force)) {
        snprintf(err, err_size, "force: expected true or false");
        return -EINVAL;
    }
    r.force = force && json_is_true(force);
    *out = r;
    return 0;
}

int
resv_request_reservation(const json_t *body, bool update,
                         struct resv_reservation_request *out, char *err,
                         size_t err_size)
{
    static const char *const known[] = { "zone", "project_id", "name",
                                         "capacity", "start", "end",
                                         "duration", "expiry", NULL };
    struct resv_reservation_request r;
    int n;

    memset(&r, 0, sizeof r);
    if (resv_request_known(body, known, err, err_size)) {
        return -EINVAL;
    }
    if (update && (json_object_get(body, "zone") ||
                   json_object_get(body, "project_id"))) {
        snprintf(err, err_size, "%s: cannot be changed; cancel and book "
                 "again", json_object_get(body, "zone") ? "zone"
                                                          : "project_id");
        return -EINVAL;
    }
    if ((n = resv_request_name(body, "zone", r.zone, err, err_size)) < 0) {
        return n;
    }
    r.has_zone = n;
    n = resv_request_name(body, "project_id", r.project_id, err, err_size);
    if (n < 0) {
        return n;
    }
    r.has_project_id = n;
    if ((n = resv_request_name(body, "name", r.name, err, err_size)) < 0) {
        return n;
    }
    r.has_name = n;
    n = resv_request_capacity(body, false, &r.capacity, err, err_size);
    if (n < 0) {
        return n;
    }
    r.has_capacity = n;
    if ((n = resv_request_time(body, "start", &r.start, err, err_size)) < 0) {
        return n;
    }
    r.has_start = n;
    if ((n = resv_request_time(body, "end", &r.end, err, err_size)) < 0) {
        return n;
    }
    r.has_end = n;
    n = resv_request_seconds(body, "duration", false, &r.duration, err,
                             err_size);
    if (n < 0) {
        return n;
    }
    r.has_duration = n;
    n = resv_request_seconds(body, "expiry", update, &r.expiry, err,
                             err_size);
    if (n < 0) {
        return n;
    }
    r.has_expiry = n;

    if (r.has_end && r.has_duration) {
        snprintf(err, err_size, "duration: give end or duration, not both");
        return -EINVAL;
    }
    if (r.has_start && r.has_end && r.end <= r.start) {
        snprintf(err, err_size, "end: must be after start");
        return -EINVAL;
    }
    if (update) {
        if (!r.has_name && !r.has_capacity && !r.has_start && !r.has_end &&
            !r.has_duration && !r.has_expiry) {
            snprintf(err, err_size, "body: nothing to change (give "
                     "capacity, start, end, duration, expiry or name)");
            return -EINVAL;
        }
    } else if (!r.has_zone) {
        return resv_request_missing("zone", err, err_size);
    } else if (!r.has_capacity) {
        return resv_request_missing("capacity", err, err_size);
    } else if (!r.has_end && !r.has_duration) {
        snprintf(err, err_size, "end: missing (give end or duration)");
        return -EINVAL;
    }
    *out = r;
    return 0;
}

int
resv_request_allocation(const json_t *body, struct resv_alloc_request *out,
                        char *err, size_t err_size)
{
    static const char *const known[] = { "reservation_id", "zone",
                                         "instance", "capacity", "start",
                                         "end", NULL };
    struct resv_alloc_request r;
    const json_t *rid;
    int n;

    memset(&r, 0, sizeof r);
    if (resv_request_known(body, known, err, err_size)) {
        return -EINVAL;
    }
    rid = json_object_get(body, "reservation_id");
    if (rid && !json_is_null(rid)) {
        const char *s = json_string_value(rid);

        if (!s || strlen(s) != json_string_length(rid) ||
            !vuuid_is_valid(s)) {
            snprintf(err, err_size, "reservation_id: expected a UUID");
            return -EINVAL;
        }
        memcpy(r.reservation_id, s, VUUID_STRING_SIZE - 1);
        r.reservation_id[VUUID_STRING_SIZE - 1] = '\0';
        r.has_reservation = true;
    }
    if ((n = resv_request_name(body, "zone", r.zone, err, err_size)) < 0) {
        return n;
    }
    r.has_zone = n;
    n = resv_request_name(body, "instance", r.instance, err, err_size);
    if (n <= 0) {
        return n ? n : resv_request_missing("instance", err, err_size);
    }
    n = resv_request_capacity(body, false, &r.capacity, err, err_size);
    if (n <= 0) {
        return n ? n : resv_request_missing("capacity", err, err_size);
    }
    if ((n = resv_request_time(body, "start", &r.start, err, err_size)) < 0) {
        return n;
    }
    r.has_start = n;
    if ((n = resv_request_time(body, "end", &r.end, err, err_size)) < 0) {
        return n;
    }
    r.has_end = n;
    if (r.has_reservation && (r.has_start || r.has_end)) {
        snprintf(err, err_size, "%s: an allocation against a reservation "
                 "takes the reservation's window", r.has_start ? "start"
                                                               : "end");
        return -EINVAL;
    }
    if (!r.has_reservation && !r.has_zone) {
        snprintf(err, err_size, "zone: missing (required without "
                 "reservation_id)");
        return -EINVAL;
    }
    if (r.has_start && r.has_end && r.end <= r.start) {
        snprintf(err, err_size, "end: must be after start");
        return -EINVAL;
    }
    *out = r;
    return 0;
}
