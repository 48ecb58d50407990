/* capvec: capacity vectors (see capvec.h). */
#include "capvec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const capvec_names[CAPVEC_KEY_COUNT] = {
    [CAPVEC_CORES] = "cores",
    [CAPVEC_RAM] = "ram",
    [CAPVEC_INSTANCES] = "instances",
    [CAPVEC_NETWORKS] = "networks",
    [CAPVEC_PORTS] = "ports",
    [CAPVEC_ROUTERS] = "routers",
    [CAPVEC_SUBNETS] = "subnets",
    [CAPVEC_ADDRESSES] = "addresses",
    [CAPVEC_GIGABYTES] = "gigabytes",
    [CAPVEC_SNAPSHOTS] = "snapshots",
    [CAPVEC_VOLUMES] = "volumes",
};

const char *
capvec_key_name(enum capvec_key key)
{
    return (unsigned) key < CAPVEC_KEY_COUNT ? capvec_names[key] : "?";
}

int
capvec_key_from_name(const char *name, enum capvec_key *key)
{
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        if (!strcmp(name, capvec_names[k])) {
            *key = (enum capvec_key) k;
            return 0;
        }
    }
    return -ENOENT;
}

bool
capvec_is_zero(const struct capvec *vec)
{
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        if (vec->v[k]) {
            return false;
        }
    }
    return true;
}

bool
capvec_any_positive(const struct capvec *vec)
{
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        if (vec->v[k] > 0) {
            return true;
        }
    }
    return false;
}

bool
capvec_le(const struct capvec *a, const struct capvec *b)
{
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        if (a->v[k] > b->v[k]) {
            return false;
        }
    }
    return true;
}

void
capvec_add(struct capvec *out, const struct capvec *a, const struct capvec *b)
{
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        out->v[k] = a->v[k] + b->v[k];
    }
}

void
capvec_sub(struct capvec *out, const struct capvec *a, const struct capvec *b)
{
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        out->v[k] = a->v[k] - b->v[k];
    }
}

void
capvec_neg(struct capvec *out, const struct capvec *a)
{
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        out->v[k] = -a->v[k];
    }
}

int
capvec_from_json(const json_t *obj, const char *field, bool allow_negative,
                 struct capvec *out, char *err, size_t err_size)
{
    int64_t min = allow_negative ? -CAPVEC_MAX : 0;
    struct capvec vec;
    const char *name;
    json_t *value;

    if (!json_is_object(obj)) {
        snprintf(err, err_size, "%s: expected an object of counts such as "
                 "{\"cores\": 4, \"ram\": 8192}", field);
        return -EINVAL;
    }
    memset(&vec, 0, sizeof vec);
    json_object_foreach((json_t *) obj, name, value) {
        enum capvec_key key;
        json_int_t n;

        if (capvec_key_from_name(name, &key)) {
            snprintf(err, err_size, "%s.%.64s: unknown resource key (known: "
                     "cores, ram, instances, networks, ports, routers, "
                     "subnets, addresses, gigabytes, snapshots, volumes)",
                     field, name);
            return -EINVAL;
        }
        n = json_is_integer(value) ? json_integer_value(value) : 0;
        if (!json_is_integer(value) || n < min || n > CAPVEC_MAX) {
            snprintf(err, err_size, "%s.%s: expected an integer in [%" PRId64
                     ", %" PRId64 "]", field, name, min, CAPVEC_MAX);
            return -EINVAL;
        }
        vec.v[key] = (int64_t) n;
    }
    *out = vec;
    return 0;
}

json_t *
capvec_to_json(const struct capvec *vec, bool all)
{
    json_t *obj = json_object();

    if (!obj) {
        return NULL;
    }
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        if (!all && !vec->v[k]) {
            continue;
        }
        if (json_object_set_new(obj, capvec_names[k],
                                json_integer((json_int_t) vec->v[k]))) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}
