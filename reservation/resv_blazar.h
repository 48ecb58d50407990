/* resv_blazar: a Blazar-compatible /v1/leases subset on top of the
 * reservation engine, so that the stock Blazar client (python-blazarclient,
 * the `blazar` CLI) can book capacity in vigil-reservation.
 *
 *   POST, GET /v1/leases          GET, PUT, DELETE /v1/leases/{id}
 *
 * A lease holds 1..RESV_BLAZAR_MAX_RESERVATIONS "virtual:instance"
 * reservations, all over the lease's window. Each becomes one engine
 * reservation (resv_engine.h) in the configured zone, with capacity
 * cores = amount * vcpus, ram = amount * memory_mb, instances = amount
 * and gigabytes = amount * disk_gb, and with the engine name
 * "blazar:<lease id>:<lease name>" (resv_blazar_name_encode()), which is
 * how a lease is found again after a restart. A lease is booked, changed
 * and deleted all or nothing: the sum of its reservations is checked
 * before any is booked, and a later failure cancels or reverts what was
 * already done. Answers come after the group commit, like resv_api's.
 *
 * The parsers and translators below are pure functions (thread-safe) of
 * outside input, fuzzed by tests/fuzz/fuzz_blazar.c; the API object is
 * single-threaded, on the loop of the httpd it is attached to. */
#ifndef VIGIL_RESERVATION_RESV_BLAZAR_H
#define VIGIL_RESERVATION_RESV_BLAZAR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capvec.h"
#include "resv_record.h"

#define RESV_BLAZAR_MAX_RESERVATIONS 16
#define RESV_BLAZAR_NAME_SIZE 81        /* Blazar's lease names: 80 bytes */
#define RESV_BLAZAR_RESOURCE_TYPE "virtual:instance"

struct httpd;
struct resv_engine;
struct resv_blazar;

/* One virtual:instance reservation: 'amount' instances of a flavor. */
struct resv_blazar_instance {
    int64_t amount;              /* >= 1 */
    int64_t vcpus;               /* >= 1 */
    int64_t memory_mb;           /* >= 0 */
    int64_t disk_gb;             /* >= 0 */
};

/* A lease body: POST (create) or PUT (update). */
struct resv_blazar_request {
    bool has_name, has_start, has_end;
    bool start_now;              /* "start_date": "now" */
    char name[RESV_BLAZAR_NAME_SIZE];
    int64_t start, end;          /* epoch seconds (start: unless now) */
    size_t length;               /* reservations (create only) */
    struct resv_blazar_instance reservations[RESV_BLAZAR_MAX_RESERVATIONS];
};

/* Parses a Blazar date: "now" (only with 'allow_now'; then '*now' is set
 * and '*out' untouched), Blazar's "YYYY-MM-DD HH:MM", or any time
 * resv_time_parse() takes (e.g. "2027-01-01T08:00:00.000000", what
 * GET answers). 0, or -EINVAL with 'err' naming 'field'. Outputs are
 * written only on success. */
int resv_blazar_parse_date(const json_t *value, const char *field,
                           bool allow_now, bool *now, int64_t *out,
                           char *err, size_t err_size);

/* Parses a lease body. Create ('update' false): "name", "start_date",
 * "end_date" and "reservations" (1..RESV_BLAZAR_MAX_RESERVATIONS objects
 * with "resource_type": "virtual:instance", integer "amount", "vcpus",
 * "memory_mb", "disk_gb", optional "affinity" (null or "None" only) and
 * "resource_properties" (null or "" only)) are required; "events" (only
 * []) and "before_end_date" (only null) are optional. Update: any of
 * "name", "start_date", "end_date", at least one; "reservations" is
 * refused. Unknown members are refused. 0, or -EINVAL with a message
 * naming the member (e.g. "reservations[1].resource_type: 'physical:host'
 * is not supported, only virtual:instance"); 'out' is written only on
 * success. */
int resv_blazar_parse_lease(const json_t *body, bool update,
                            struct resv_blazar_request *out, char *err,
                            size_t err_size);

/* The capacity vector of one reservation (see the file comment). 0, or
 * -ERANGE when a product would exceed CAPVEC_MAX. */
int resv_blazar_capacity(const struct resv_blazar_instance *r,
                         struct capvec *out);

/* The sum of the reservations of 'req'. 0, or -ERANGE. */
int resv_blazar_total(const struct resv_blazar_request *req,
                      struct capvec *out);

/* The reservation a capacity vector stands for (the inverse of
 * resv_blazar_capacity(); amount 0 when 'c' holds no instances). */
void resv_blazar_instance_from_capvec(const struct capvec *c,
                                      struct resv_blazar_instance *out);

/* The engine name of a reservation of lease 'lease_id' named 'name':
 * "blazar:<lease id>:<name>" into 'out' of RESV_NAME_SIZE bytes. 0, or
 * -EINVAL for an invalid id or a name of RESV_BLAZAR_NAME_SIZE bytes or
 * more. */
int resv_blazar_name_encode(const char *lease_id, const char *name,
                            char *out);

/* The reverse: 0 with the lease id and name, or -EINVAL when 'engine_name'
 * is not one resv_blazar_name_encode() makes (a reservation made through
 * the Vigil API). Outputs written only on success; 'lease_id' holds
 * VUUID_STRING_SIZE bytes, 'name' RESV_BLAZAR_NAME_SIZE. */
int resv_blazar_name_decode(const char *engine_name, char *lease_id,
                            char *name);

/* The Blazar form of the lease 'lease_id' made of the engine reservations
 * 'records' (1..RESV_BLAZAR_MAX_RESERVATIONS): id, name, project_id,
 * user_id, start_date, end_date, status (PENDING, ACTIVE, TERMINATED),
 * reservations, events, created_at, updated_at... New reference, NULL on
 * allocation failure. */
json_t *resv_blazar_lease_to_json(const char *lease_id,
                                  const struct resv_record *records,
                                  size_t length);

/* Blazar's form of a time: "YYYY-MM-DDTHH:MM:SS.000000" into 'buf' of at
 * least 32 bytes; returns 'buf'. */
char *resv_blazar_format_date(int64_t t, char *buf, size_t size);

struct resv_blazar_options {
    struct resv_engine *engine;  /* must outlive the object */
    const char *zone;            /* where leases book; 1-255 bytes */
    size_t max_list;             /* most leases per GET /v1/leases */
    size_t max_leases;           /* most leases known (live and ended) */
};

/* Adds the /v1/leases routes to 'httpd' and finds the leases of live
 * engine reservations in the database. NULL with '*error' set (-EINVAL
 * bad options, -ENOMEM, -EIO the database) on failure. Free it after the
 * engine (whose flush at shutdown answers pending lease requests). */
struct resv_blazar *resv_blazar_new(struct httpd *httpd,
                                    const struct resv_blazar_options *options,
                                    int *error);

/* Frees the object. Accepts NULL. */
void resv_blazar_free(struct resv_blazar *blazar);

#endif
