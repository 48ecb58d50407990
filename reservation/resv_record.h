/* resv_record: the flat records of pools, reservations and allocations as
 * they are stored (resv_db.c), snapshotted for a group commit
 * (resv_engine.c) and answered on the wire (resv_api.c).
 *
 * A reservation moves pending -> active -> ended, or to expired (nothing
 * allocated when its expiry passed) or cancelled (DELETE) on the way;
 * only pending and active reservations hold capacity. Strings are bounded
 * by RESV_NAME_SIZE; ids are UUIDs. On the wire a record's capacity
 * vectors list their non-zero counts (a missing key is 0). Pure
 * functions, thread-safe. */
#ifndef VIGIL_RESERVATION_RESV_RECORD_H
#define VIGIL_RESERVATION_RESV_RECORD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "capvec.h"
#include "vuuid.h"

#define RESV_NAME_SIZE 256       /* zone, project, name, instance + NUL */

enum resv_status {
    RESV_STATUS_PENDING,
    RESV_STATUS_ACTIVE,
    RESV_STATUS_EXPIRED,
    RESV_STATUS_ENDED,
    RESV_STATUS_CANCELLED,
    RESV_STATUS_COUNT
};

struct resv_record {
    char id[VUUID_STRING_SIZE];
    char zone[RESV_NAME_SIZE];
    char project_id[RESV_NAME_SIZE];
    char name[RESV_NAME_SIZE];
    int64_t start, end;
    int64_t expiry;              /* seconds after start; 0: none */
    bool expired;                /* the expiry passed and released what
                                  * was not allocated */
    enum resv_status status;
    struct capvec capacity;      /* held while pending or active */
    struct capvec allocated;     /* by allocations against it */
    int64_t created, updated;
};

struct resv_pool_record {
    char id[VUUID_STRING_SIZE];
    char zone[RESV_NAME_SIZE];
    char name[RESV_NAME_SIZE];
    int64_t start, end;
    struct capvec capacity;      /* negative counts remove capacity */
    int64_t created;
};

struct resv_alloc_record {
    char id[VUUID_STRING_SIZE];
    char reservation_id[VUUID_STRING_SIZE];   /* "" without one */
    char zone[RESV_NAME_SIZE];
    char instance[RESV_NAME_SIZE];
    int64_t start, end;
    struct capvec capacity;
    int64_t created;
};

/* "pending", "active", "expired", "ended", "cancelled"; and back
 * (0 or -EINVAL). */
const char *resv_status_name(enum resv_status status);
int resv_status_from_name(const char *name, enum resv_status *status);

/* True for the statuses that hold capacity (pending, active). */
bool resv_status_is_live(enum resv_status status);

/* The wire forms (new references, NULL on allocation failure). */
json_t *resv_record_to_json(const struct resv_record *r);
json_t *resv_pool_record_to_json(const struct resv_pool_record *p);
json_t *resv_alloc_record_to_json(const struct resv_alloc_record *a);

/* Writes resv_record_to_json(r) as compact JSON text into 'buf' of
 * 'size' bytes, without building JSON values (the answer to every
 * booking). Returns the length written (NUL not counted), or -E2BIG when
 * 'buf' is too small. */
int resv_record_format_json(const struct resv_record *r, char *buf,
                            size_t size);

/* A new id: a UUID version 7 (RFC 9562), i.e. the current Unix time in
 * milliseconds in its first 48 bits and random bits after, so that ids
 * created one after the other sort together and the database's id index
 * grows at its end instead of at random pages. 0, or a negative errno
 * when the kernel gives no random bytes. Thread-safe. */
int resv_record_new_id(char out[VUUID_STRING_SIZE]);

/* Copies the string 'src' into the fixed buffer 'dst' of RESV_NAME_SIZE
 * bytes (truncating, always terminated). */
void resv_record_copy_name(char *dst, const char *src);

#endif
