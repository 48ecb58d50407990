/* libFuzzer target for vigil-reservation's parsers of outside input:
 * the request bodies of POST /v1/pools, POST /v1/reservations, PATCH
 * /v1/reservations/{id} and POST /v1/allocations (reservation/
 * resv_request.c, capvec.c) and the times of bodies and query strings
 * (resv_time.c). Link with reservation_core and libvigil.
 *
 * The first byte picks the parser ('0' pool, '1' reservation, '2' update,
 * '3' allocation, '4' a query-string time; any byte works: (byte + 2)
 * modulo 5); the rest is the body. Beyond "no crash, no leak, no
 * undefined behaviour" it checks that:
 *   - a rejection is -EINVAL with a non-empty reason;
 *   - what is accepted keeps the documented bounds (counts, windows);
 *   - an accepted capacity vector survives capvec_to_json() and a second
 *     parse, and an accepted time survives resv_time_format() and a
 *     second parse, unchanged;
 *   - an accepted reservation window can be checked against, held in and
 *     released from a capacity index, which ends up empty again. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capvec.h"
#include "resv_index.h"
#include "resv_request.h"
#include "resv_time.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_reason(int ret, const char *err)
{
    if (ret != -EINVAL || !err[0]) {
        abort();
    }
}

/* Alternates between the two forms, by the parity of the first count. */
static bool
bool_of(const struct capvec *vec)
{
    return (vec->v[0] & 1) != 0;
}

static void
check_vector(const struct capvec *vec, bool pool)
{
    json_t *j = capvec_to_json(vec, bool_of(vec));
    struct capvec again;
    char err[256];

    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        if (vec->v[k] > CAPVEC_MAX || vec->v[k] < (pool ? -CAPVEC_MAX : 0)) {
            abort();
        }
    }
    if (!j) {
        return;
    }
    if (capvec_from_json(j, "capacity", pool, &again, err, sizeof err) ||
        memcmp(&again, vec, sizeof again)) {
        abort();
    }
    json_decref(j);
}

static void
check_time(int64_t t)
{
    char text[RESV_TIME_SIZE];
    int64_t again = -1;

    if (t < RESV_TIME_MIN || t > RESV_TIME_MAX ||
        resv_time_parse(resv_time_format(t, text, sizeof text), &again) ||
        again != t) {
        abort();
    }
}

/* Holds and releases the request in an index with one pool. */
static void
exercise_index(const struct capvec *vec, int64_t start, int64_t end)
{
    struct resv_index idx;
    struct resv_conflict c;
    struct capvec pool, largest;
    int64_t at;

    memset(&idx, 0, sizeof idx);
    memset(&pool, 0, sizeof pool);
    pool.v[CAPVEC_CORES] = 64;
    pool.v[CAPVEC_RAM] = 65536;
    if (resv_index_apply(&idx, RESV_INDEX_SUPPLY, RESV_TIME_MIN,
                         RESV_TIME_MAX, &pool, 1) ||
        resv_index_apply(&idx, RESV_INDEX_RESERVED, start, end, vec, 1)) {
        resv_index_clear(&idx);
        return;
    }
    resv_index_check(&idx, start, end, vec, &c);
    resv_index_largest(&idx, start, end, &largest);
    resv_index_earliest(&idx, start, end - start, vec, RESV_TIME_MAX - (end -
                        start), 16, &at);
    if (resv_index_apply(&idx, RESV_INDEX_RESERVED, start, end, vec, -1) ||
        resv_index_apply(&idx, RESV_INDEX_SUPPLY, RESV_TIME_MIN,
                         RESV_TIME_MAX, &pool, -1) ||
        resv_index_length(&idx) != 0) {
        abort();
    }
    resv_index_clear(&idx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512] = "";
    json_error_t jerr;
    json_t *body;
    int which, ret;

    if (size < 1) {
        return 0;
    }
    which = (data[0] + 2) % 5;     /* '0'..'4' -> 0..4 */
    if (which == 4) {
        char text[64];
        int64_t t;

        if (size - 1 >= sizeof text) {
            return 0;
        }
        memcpy(text, data + 1, size - 1);
        text[size - 1] = '\0';
        if (resv_time_parse(text, &t) == 0) {
            check_time(t);
        }
        return 0;
    }
    body = json_loadb((const char *) data + 1, size - 1,
                      JSON_REJECT_DUPLICATES, &jerr);
    if (!body) {
        return 0;
    }
    if (which == 0) {
        struct resv_pool_request p;

        ret = resv_request_pool(body, &p, err, sizeof err);
        if (ret) {
            check_reason(ret, err);
        } else {
            if (capvec_is_zero(&p.capacity) || !p.zone[0] ||
                (p.has_start && p.has_end && p.end <= p.start)) {
                abort();
            }
            check_vector(&p.capacity, true);
        }
    } else if (which == 1 || which == 2) {
        struct resv_reservation_request r;

        ret = resv_request_reservation(body, which == 2, &r, err, sizeof err);
        if (ret) {
            check_reason(ret, err);
        } else {
            if ((which == 1 && (!r.has_zone || !r.has_capacity ||
                                (!r.has_end && !r.has_duration))) ||
                (r.has_end && r.has_duration) ||
                (r.has_capacity && !capvec_any_positive(&r.capacity)) ||
                (r.has_start && r.has_end && r.end <= r.start)) {
                abort();
            }
            if (r.has_capacity) {
                check_vector(&r.capacity, false);
            }
            if (r.has_start) {
                check_time(r.start);
            }
            if (r.has_end) {
                check_time(r.end);
            }
            if (r.has_capacity && r.has_start && r.has_end) {
                exercise_index(&r.capacity, r.start, r.end);
            }
        }
    } else {
        struct resv_alloc_request a;

        ret = resv_request_allocation(body, &a, err, sizeof err);
        if (ret) {
            check_reason(ret, err);
        } else {
            if (!a.instance[0] || (!a.has_reservation && !a.has_zone) ||
                (a.has_reservation && (a.has_start || a.has_end))) {
                abort();
            }
            check_vector(&a.capacity, false);
        }
    }
    json_decref(body);
    return 0;
}
