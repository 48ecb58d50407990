/* resv_record: records and their JSON (see resv_record.h). */
#include "resv_record.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "resv_time.h"
#include "vtime.h"

static const char *const resv_status_names[RESV_STATUS_COUNT] = {
    [RESV_STATUS_PENDING] = "pending",
    [RESV_STATUS_ACTIVE] = "active",
    [RESV_STATUS_EXPIRED] = "expired",
    [RESV_STATUS_ENDED] = "ended",
    [RESV_STATUS_CANCELLED] = "cancelled",
};

const char *
resv_status_name(enum resv_status status)
{
    return (unsigned) status < RESV_STATUS_COUNT ? resv_status_names[status]
                                                 : "?";
}

int
resv_status_from_name(const char *name, enum resv_status *status)
{
    for (int s = 0; s < RESV_STATUS_COUNT; s++) {
        if (!strcmp(name, resv_status_names[s])) {
            *status = (enum resv_status) s;
            return 0;
        }
    }
    return -EINVAL;
}

bool
resv_status_is_live(enum resv_status status)
{
    return status == RESV_STATUS_PENDING || status == RESV_STATUS_ACTIVE;
}

int
resv_record_new_id(char out[VUUID_STRING_SIZE])
{
    uint64_t ms = (uint64_t) (vtime_real_ns() / 1000000);
    char id[VUUID_STRING_SIZE], stamp[16];
    int ret = vuuid_generate(id);

    if (ret) {
        return ret;
    }
    /* "tttttttt-tttt-7rrr-vrrr-rrrrrrrrrrrr" from a random version 4 one:
     * the variant bits are already right. */
    snprintf(stamp, sizeof stamp, "%012llx",
             (unsigned long long) (ms & UINT64_C(0xffffffffffff)));
    memcpy(id, stamp, 8);
    memcpy(id + 9, stamp + 8, 4);
    id[14] = '7';
    memcpy(out, id, VUUID_STRING_SIZE);
    return 0;
}

void
resv_record_copy_name(char *dst, const char *src)
{
    size_t n = src ? strnlen(src, RESV_NAME_SIZE - 1) : 0;

    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

/* Sets obj[key] = value (stolen); -ENOMEM when either is missing. */
static int
resv_record_set(json_t *obj, const char *key, json_t *value)
{
    return value && !json_object_set_new(obj, key, value) ? 0 : -ENOMEM;
}

json_t *
resv_record_to_json(const struct resv_record *r)
{
    json_t *obj = json_object();

    if (!obj ||
        resv_record_set(obj, "id", json_string(r->id)) ||
        resv_record_set(obj, "zone", json_string(r->zone)) ||
        resv_record_set(obj, "project_id", json_string(r->project_id)) ||
        resv_record_set(obj, "name", json_string(r->name)) ||
        resv_record_set(obj, "status",
                        json_string(resv_status_name(r->status))) ||
        resv_record_set(obj, "start", resv_time_to_json(r->start)) ||
        resv_record_set(obj, "end", resv_time_to_json(r->end)) ||
        resv_record_set(obj, "expiry",
                        r->expiry ? json_integer(r->expiry) : json_null()) ||
        resv_record_set(obj, "expired", json_boolean(r->expired)) ||
        resv_record_set(obj, "capacity",
                        capvec_to_json(&r->capacity, false)) ||
        resv_record_set(obj, "allocated",
                        capvec_to_json(&r->allocated, false)) ||
        resv_record_set(obj, "created_at", resv_time_to_json(r->created)) ||
        resv_record_set(obj, "updated_at", resv_time_to_json(r->updated))) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

json_t *
resv_pool_record_to_json(const struct resv_pool_record *p)
{
    json_t *obj = json_object();

    if (!obj ||
        resv_record_set(obj, "id", json_string(p->id)) ||
        resv_record_set(obj, "zone", json_string(p->zone)) ||
        resv_record_set(obj, "name", json_string(p->name)) ||
        resv_record_set(obj, "start", resv_time_to_json(p->start)) ||
        resv_record_set(obj, "end", resv_time_to_json(p->end)) ||
        resv_record_set(obj, "capacity",
                        capvec_to_json(&p->capacity, false)) ||
        resv_record_set(obj, "created_at", resv_time_to_json(p->created))) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

json_t *
resv_alloc_record_to_json(const struct resv_alloc_record *a)
{
    json_t *obj = json_object();

    if (!obj ||
        resv_record_set(obj, "id", json_string(a->id)) ||
        resv_record_set(obj, "reservation_id",
                        a->reservation_id[0] ? json_string(a->reservation_id)
                                             : json_null()) ||
        resv_record_set(obj, "zone", json_string(a->zone)) ||
        resv_record_set(obj, "instance", json_string(a->instance)) ||
        resv_record_set(obj, "start", resv_time_to_json(a->start)) ||
        resv_record_set(obj, "end", resv_time_to_json(a->end)) ||
        resv_record_set(obj, "capacity",
                        capvec_to_json(&a->capacity, false)) ||
        resv_record_set(obj, "created_at", resv_time_to_json(a->created))) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

/* A bounded writer into a caller's buffer. */
struct resv_record_out {
    char *p, *end;
    bool full;
};

static void
resv_record_put(struct resv_record_out *o, const char *text, size_t n)
{
    if (o->full || (size_t) (o->end - o->p) <= n) {
        o->full = true;
        return;
    }
    memcpy(o->p, text, n);
    o->p += n;
}

static void
resv_record_puts(struct resv_record_out *o, const char *text)
{
    resv_record_put(o, text, strlen(text));
}

/* A JSON string: '"' and '\' escaped, control characters as \u00XX. */
static void
resv_record_put_string(struct resv_record_out *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";

    resv_record_put(o, "\"", 1);
    for (const unsigned char *c = (const unsigned char *) s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            char esc[2] = { '\\', (char) *c };

            resv_record_put(o, esc, 2);
        } else if (*c < 0x20) {
            char esc[6] = { '\\', 'u', '0', '0', hex[*c >> 4],
                            hex[*c & 15] };

            resv_record_put(o, esc, 6);
        } else {
            resv_record_put(o, (const char *) c, 1);
        }
    }
    resv_record_put(o, "\"", 1);
}

static void
resv_record_put_int(struct resv_record_out *o, int64_t v)
{
    char text[24];
    int n = snprintf(text, sizeof text, "%lld", (long long) v);

    resv_record_put(o, text, (size_t) n);
}

static void
resv_record_put_time(struct resv_record_out *o, int64_t t)
{
    char text[RESV_TIME_SIZE];

    resv_record_put(o, "\"", 1);
    resv_record_puts(o, resv_time_format(t, text, sizeof text));
    resv_record_put(o, "\"", 1);
}

static void
resv_record_put_vec(struct resv_record_out *o, const struct capvec *vec)
{
    bool first = true;

    resv_record_put(o, "{", 1);
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        if (!vec->v[k]) {
            continue;
        }
        resv_record_puts(o, first ? "\"" : ",\"");
        resv_record_puts(o, capvec_key_name((enum capvec_key) k));
        resv_record_puts(o, "\":");
        resv_record_put_int(o, vec->v[k]);
        first = false;
    }
    resv_record_put(o, "}", 1);
}

int
resv_record_format_json(const struct resv_record *r, char *buf, size_t size)
{
    struct resv_record_out o = { buf, buf + size, size == 0 };

    resv_record_puts(&o, "{\"id\":");
    resv_record_put_string(&o, r->id);
    resv_record_puts(&o, ",\"zone\":");
    resv_record_put_string(&o, r->zone);
    resv_record_puts(&o, ",\"project_id\":");
    resv_record_put_string(&o, r->project_id);
    resv_record_puts(&o, ",\"name\":");
    resv_record_put_string(&o, r->name);
    resv_record_puts(&o, ",\"status\":\"");
    resv_record_puts(&o, resv_status_name(r->status));
    resv_record_puts(&o, "\",\"start\":");
    resv_record_put_time(&o, r->start);
    resv_record_puts(&o, ",\"end\":");
    resv_record_put_time(&o, r->end);
    resv_record_puts(&o, ",\"expiry\":");
    if (r->expiry) {
        resv_record_put_int(&o, r->expiry);
    } else {
        resv_record_puts(&o, "null");
    }
    resv_record_puts(&o, r->expired ? ",\"expired\":true"
                                    : ",\"expired\":false");
    resv_record_puts(&o, ",\"capacity\":");
    resv_record_put_vec(&o, &r->capacity);
    resv_record_puts(&o, ",\"allocated\":");
    resv_record_put_vec(&o, &r->allocated);
    resv_record_puts(&o, ",\"created_at\":");
    resv_record_put_time(&o, r->created);
    resv_record_puts(&o, ",\"updated_at\":");
    resv_record_put_time(&o, r->updated);
    resv_record_put(&o, "}", 1);
    if (o.full) {
        return -E2BIG;
    }
    *o.p = '\0';
    return (int) (o.p - buf);
}
