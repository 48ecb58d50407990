/* resv_db: vigil-reservation's durable state in SQLite.
 *
 * Three tables, one row per pool, reservation and allocation, with one
 * integer column per resource key (named as in capvec.h; a reservation's
 * allocated part in "a_<key>" columns) so that the database can be read
 * and recounted with nothing but SQL (tests/integration does so with
 * Python's sqlite3). Times are integer epoch seconds (start_time,
 * end_time); status is the text of resv_status_name().
 *
 * The file is in WAL mode with synchronous=FULL: once resv_db_commit()
 * returns 0 the transaction survives a crash of the process or of the
 * machine. vigil-reservation batches the writes of one event-loop turn
 * into one transaction (resv_batch.c): one fsync for many bookings.
 * Opened with 'durable' false (synchronous=OFF) the file is for bulk
 * generation only (the benchmark).
 *
 * Functions return 0 or a negative errno (-EIO for an SQLite failure,
 * with the message in resv_db_error()). Not thread-safe: one connection,
 * used from one thread. */
#ifndef VIGIL_RESERVATION_RESV_DB_H
#define VIGIL_RESERVATION_RESV_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resv_record.h"

struct resv_db;

/* Opens (creating) the database at 'path' (":memory:" for a private
 * in-memory one). On failure returns -EIO with the reason in 'err'. */
int resv_db_open(const char *path, bool durable, struct resv_db **out,
                 char *err, size_t err_size);
void resv_db_close(struct resv_db *db);

/* The last SQLite error message. */
const char *resv_db_error(const struct resv_db *db);

int resv_db_begin(struct resv_db *db);
int resv_db_commit(struct resv_db *db);
void resv_db_rollback(struct resv_db *db);

/* Inserts or replaces (by id) one row. */
int resv_db_put_reservation(struct resv_db *db, const struct resv_record *r);
int resv_db_put_pool(struct resv_db *db, const struct resv_pool_record *p);
int resv_db_put_allocation(struct resv_db *db,
                           const struct resv_alloc_record *a);

/* Deletes one row (no row is not an error). */
int resv_db_delete_pool(struct resv_db *db, const char *id);
int resv_db_delete_allocation(struct resv_db *db, const char *id);
/* Deletes every allocation of the reservation 'reservation_id'. */
int resv_db_delete_allocations_of(struct resv_db *db,
                                  const char *reservation_id);

/* One reservation by id: 0 with '*out' and '*seq' (may be NULL), or
 * -ENOENT. */
int resv_db_get_reservation(struct resv_db *db, const char *id,
                            struct resv_record *out, int64_t *seq);

/* Loaders and listings call 'fn' per row until it returns non-zero
 * (which is returned). 'seq' orders reservations by creation. */
typedef int resv_db_record_fn(const struct resv_record *r, int64_t seq,
                              void *arg);
typedef int resv_db_pool_fn(const struct resv_pool_record *p, void *arg);
typedef int resv_db_alloc_fn(const struct resv_alloc_record *a, void *arg);

/* Reservations in creation order; 'live_only': pending and active. */
int resv_db_load_reservations(struct resv_db *db, bool live_only,
                              resv_db_record_fn *fn, void *arg);
int resv_db_load_pools(struct resv_db *db, resv_db_pool_fn *fn, void *arg);
int resv_db_load_allocations(struct resv_db *db, resv_db_alloc_fn *fn,
                             void *arg);

/* A listing: every member optional (NULL, false); the window selects
 * reservations overlapping [start, end); 'after_seq' continues a page. */
struct resv_db_filter {
    const char *zone;
    const char *project_id;
    bool has_status;
    enum resv_status status;
    bool has_window;
    int64_t start, end;
    int64_t after_seq;
    size_t limit;                /* >= 1 */
};

int resv_db_list_reservations(struct resv_db *db,
                              const struct resv_db_filter *filter,
                              resv_db_record_fn *fn, void *arg);

#endif
