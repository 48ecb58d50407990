/* resv_record: records and their JSON (see resv_record.h). */
#include "resv_record.h"

#include <errno.h>
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
        resv_record_set(obj, "capacity", capvec_to_json(&r->capacity)) ||
        resv_record_set(obj, "allocated", capvec_to_json(&r->allocated)) ||
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
        resv_record_set(obj, "capacity", capvec_to_json(&p->capacity)) ||
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
        resv_record_set(obj, "capacity", capvec_to_json(&a->capacity)) ||
        resv_record_set(obj, "created_at", resv_time_to_json(a->created))) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}
