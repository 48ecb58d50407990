/* resv_request: parsers of the request bodies of vigil-reservation's API
 * (the outside input; fuzzed by tests/fuzz/fuzz_reservation.c).
 *
 * Each parser takes a JSON value (from httpd_read_json()), checks every
 * member's type and bounds, refuses unknown members, and on failure
 * returns -EINVAL with a message naming the member at fault, e.g.
 * "capacity.cores: expected an integer in [0, 1099511627775]" or
 * "end: must be after start". Policy limits that depend on the clock
 * (maximum duration, how far ahead) are checked by resv_engine.c, not
 * here. Outputs are written only on success. Pure functions,
 * thread-safe. */
#ifndef VIGIL_RESERVATION_RESV_REQUEST_H
#define VIGIL_RESERVATION_RESV_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capvec.h"
#include "resv_record.h"

/* POST /v1/pools: {"zone", "capacity", "name"?, "start"?, "end"?,
 * "force"?}. */
struct resv_pool_request {
    char zone[RESV_NAME_SIZE];
    char name[RESV_NAME_SIZE];
    struct capvec capacity;      /* non-zero; counts may be negative */
    bool has_start, has_end;
    int64_t start, end;          /* start < end when both are given */
    bool force;
};

/* POST /v1/reservations (create) and PATCH /v1/reservations/{id}
 * (update): {"zone", "capacity", "start"?, "end" or "duration",
 * "expiry"?, "project_id"?, "name"?}. An update may carry any of
 * capacity, start, end, duration, expiry (null clears it) and name. */
struct resv_reservation_request {
    bool has_zone, has_project_id, has_name, has_capacity;
    bool has_start, has_end, has_duration, has_expiry;
    char zone[RESV_NAME_SIZE];
    char project_id[RESV_NAME_SIZE];
    char name[RESV_NAME_SIZE];
    struct capvec capacity;      /* >= 0, some count > 0 */
    int64_t start, end;
    int64_t duration;            /* > 0 */
    int64_t expiry;              /* > 0; 0 with has_expiry: cleared */
};

/* POST /v1/allocations: {"instance", "capacity", "reservation_id"?,
 * "zone"?, "start"?, "end"?}: with a reservation, its window applies and
 * start/end are refused; without one, "zone" is required. */
struct resv_alloc_request {
    bool has_reservation, has_zone, has_start, has_end;
    char reservation_id[VUUID_STRING_SIZE];
    char zone[RESV_NAME_SIZE];
    char instance[RESV_NAME_SIZE];
    struct capvec capacity;      /* >= 0, some count > 0 */
    int64_t start, end;
};

int resv_request_pool(const json_t *body, struct resv_pool_request *out,
                      char *err, size_t err_size);

/* 'update' selects the PATCH rules (nothing required, zone and
 * project_id refused, at least one member). */
int resv_request_reservation(const json_t *body, bool update,
                             struct resv_reservation_request *out,
                             char *err, size_t err_size);

int resv_request_allocation(const json_t *body,
                            struct resv_alloc_request *out, char *err,
                            size_t err_size);

/* Checks a zone, project, name or instance string from anywhere (a
 * query parameter, a header): 1..RESV_NAME_SIZE-1 bytes, no control
 * characters. 0 or -EINVAL with 'err' naming 'field'. */
int resv_request_check_name(const char *value, const char *field, char *err,
                            size_t err_size);

#endif
