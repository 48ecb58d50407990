/* resv_engine: the reservation service without its HTTP face: zones and
 * their pools, reservations and allocations in memory, the capacity index
 * of each zone (resv_index.h), the lifecycle timers (resv_lifecycle.h)
 * and the group commit to SQLite (resv_batch.h).
 *
 * Check-and-book is atomic because everything runs on one thread: a
 * request is checked against the index and, when it fits, its capacity is
 * taken in the index at once, before any other request is looked at. The
 * write then waits in the group commit; its 'done' callback runs after
 * the transaction committed (status 0) or failed (-EIO, the change undone
 * in memory), never from inside the call that queued it. An object whose
 * creation has not committed yet is invisible to updates, cancellations,
 * allocations and the lifecycle, so no later write can depend on a write
 * that might still be undone -- except through the capacity it holds,
 * which is the point.
 *
 * Only pending and active reservations are in memory; every reservation
 * ever made is in the database, where reads (resv_engine_get/_list) come
 * from. At start the engine rebuilds memory and index from the database
 * with the index's bulk load.
 *
 * Lifecycle: a reservation becomes active at its start, is reduced to
 * what was allocated when its expiry passes (expired, released entirely,
 * when nothing was), and ends at its end; a DELETE cancels it. Each
 * transition is written through the group commit and, once committed,
 * reported to the event callback (reservation.start/.expired/.end/
 * .cancelled), so a transition that did not survive a crash fires again
 * after the restart: events are at least once.
 *
 * Errors: functions return 0 or a negative errno with 'err->message' (a
 * reason fit for a client, naming the field at fault): -EINVAL (bad
 * request or policy: 400), -ENOENT (no such object: 404), -EBUSY (does not
 * fit: 409, with 'err->conflict' and an offer), -EALREADY (the object's
 * state forbids it: 409), -EDQUOT (a configured maximum: 403), -ENOBUFS
 * (too many writes waiting for the disk: 503), -ENOMEM, -EIO (500).
 *
 * Single-threaded: use the engine from the loop it was made with. */
#ifndef VIGIL_RESERVATION_RESV_ENGINE_H
#define VIGIL_RESERVATION_RESV_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resv_index.h"
#include "resv_record.h"
#include "resv_request.h"

struct event_base;
struct metrics_registry;
struct resv_db;
struct resv_engine;

enum resv_event_type {
    RESV_EVENT_START,
    RESV_EVENT_EXPIRED,
    RESV_EVENT_END,
    RESV_EVENT_CANCELLED,
    RESV_EVENT_COUNT
};

/* "reservation.start", "reservation.expired", "reservation.end",
 * "reservation.cancelled". */
const char *resv_event_type_name(enum resv_event_type type);

/* Called after the transition committed; 'r' is the reservation as
 * written (valid during the call). For a partial expiry (something was
 * allocated) the status stays active and 'released' holds what was
 * given back; otherwise 'released' is the whole capacity or zero. */
typedef void resv_engine_event_fn(enum resv_event_type type,
                                  const struct resv_record *r,
                                  const struct capvec *released, void *arg);

/* Called once per accepted write, after its commit (0) or failure. */
typedef void resv_engine_done_fn(int status, void *arg);

struct resv_engine_options {
    struct event_base *base;       /* NULL: no timers (tests drive
                                    * resv_engine_flush/_run by hand) */
    struct resv_db *db;            /* required; owned by the caller: the
                                    * loop's connection (loads, reads) */
    struct resv_db *write_db;      /* may be NULL; else a second
                                    * connection to the same file, for
                                    * the writer thread (with 'base') */
    struct metrics_registry *metrics;   /* may be NULL */
    int64_t max_duration;          /* seconds a reservation may last */
    int64_t max_future_start;      /* how far ahead a start may be */
    int64_t max_past_start;        /* a start this far in the past is
                                    * taken as now (clock skew) */
    size_t max_reservations;       /* pending + active, all zones */
    size_t max_pools;
    size_t max_allocations;
    size_t max_zones;
    size_t max_pending;            /* writes waiting for their commit */
    size_t batch_max_ops;          /* writes per transaction */
    unsigned int offer_max_jumps;  /* earliest-start search bound */
    size_t lifecycle_max_per_turn;
    const char *default_project_id;
    resv_engine_event_fn *on_event;     /* may be NULL */
    void *arg;
};

/* Details of a refusal, filled on error. */
struct resv_engine_error {
    char message[512];
    bool has_conflict;
    struct resv_conflict conflict;
    bool has_offer;
    int64_t window_start, window_end;   /* the window asked for */
    struct capvec largest;         /* fits that window */
    bool has_earliest;             /* the request fits from then */
    int64_t earliest_start, earliest_end;
};

/* Loads pools, live reservations and allocations from the database and
 * builds the indexes. On failure returns a negative errno with 'err'
 * filled. */
int resv_engine_new(const struct resv_engine_options *options,
                    struct resv_engine **out, struct resv_engine_error *err);

/* Flushes queued writes (their callbacks run) and frees everything.
 * Accepts NULL. */
void resv_engine_free(struct resv_engine *engine);

/* Commits every queued write now. 0 or -EIO. */
int resv_engine_flush(struct resv_engine *engine);

/* Runs the lifecycle transitions due at 'now' (the timer does this;
 * exposed for tests). Returns how many fired. */
size_t resv_engine_run(struct resv_engine *engine, int64_t now);

/* The database, for reads. */
struct resv_db *resv_engine_db(struct resv_engine *engine);

/* ---- pools ---- */

/* Adds capacity to (or, negative, removes it from) a zone, creating the
 * zone. A pool that removes capacity where bookings hold it is refused
 * (-EBUSY, the overbooked interval in err->conflict) unless 'force'. */
int resv_engine_pool_create(struct resv_engine *engine,
                            const struct resv_pool_request *req,
                            struct resv_pool_record *out,
                            resv_engine_done_fn *done, void *arg,
                            struct resv_engine_error *err);

/* Deletes a pool; refused like a negative pool when it would overbook,
 * unless 'force'. */
int resv_engine_pool_delete(struct resv_engine *engine, const char *id,
                            bool force, resv_engine_done_fn *done, void *arg,
                            struct resv_engine_error *err);

int resv_engine_pool_get(struct resv_engine *engine, const char *id,
                         struct resv_pool_record *out);

typedef int resv_engine_pool_fn(const struct resv_pool_record *p,
                                void *arg);
/* Calls 'fn' for each committed pool ('zone' NULL: all) until it
 * returns non-zero. */
int resv_engine_pool_list(struct resv_engine *engine, const char *zone,
                          resv_engine_pool_fn *fn, void *arg);

/* ---- reservations ---- */

/* Books 'req' if it fits ('out' gets the reservation as it will be
 * stored). With 'dry_run', only checks (nothing is queued, 'done' is not
 * called). */
int resv_engine_reserve(struct resv_engine *engine,
                        const struct resv_reservation_request *req,
                        bool dry_run, struct resv_record *out,
                        resv_engine_done_fn *done, void *arg,
                        struct resv_engine_error *err);

/* Changes a pending or active reservation, re-checking capacity
 * atomically; a refused update leaves it unchanged. */
int resv_engine_update(struct resv_engine *engine, const char *id,
                       const struct resv_reservation_request *req,
                       struct resv_record *out, resv_engine_done_fn *done,
                       void *arg, struct resv_engine_error *err);

/* Cancels a pending or active reservation (its allocations go with it). */
int resv_engine_cancel(struct resv_engine *engine, const char *id,
                       struct resv_record *out, resv_engine_done_fn *done,
                       void *arg, struct resv_engine_error *err);

/* ---- allocations ---- */

int resv_engine_allocate(struct resv_engine *engine,
                         const struct resv_alloc_request *req,
                         struct resv_alloc_record *out,
                         resv_engine_done_fn *done, void *arg,
                         struct resv_engine_error *err);

int resv_engine_release(struct resv_engine *engine, const char *id,
                        resv_engine_done_fn *done, void *arg,
                        struct resv_engine_error *err);

int resv_engine_allocation_get(struct resv_engine *engine, const char *id,
                               struct resv_alloc_record *out);

typedef int resv_engine_alloc_fn(const struct resv_alloc_record *a,
                                 void *arg);
/* Committed allocations, filtered by reservation and zone (NULL: any). */
int resv_engine_allocation_list(struct resv_engine *engine,
                                const char *reservation_id,
                                const char *zone, resv_engine_alloc_fn *fn,
                                void *arg);

/* ---- capacity and zones ---- */

/* The step function of 'view' for 'zone' (see resv_index_steps()).
 * -ENOENT for an unknown zone. */
int resv_engine_capacity(struct resv_engine *engine, const char *zone,
                         enum resv_index_view view, int64_t start,
                         int64_t end, size_t max_steps,
                         struct resv_step **steps, size_t *length,
                         bool *truncated);

struct resv_zone_info {
    const char *name;
    size_t pools, reservations, allocations;
};
typedef int resv_engine_zone_fn(const struct resv_zone_info *z, void *arg);
int resv_engine_zone_list(struct resv_engine *engine,
                          resv_engine_zone_fn *fn, void *arg);

struct resv_engine_stats {
    size_t zones, pools, reservations, allocations;
    size_t index_boundaries;
    size_t pending_writes;
    int64_t rebuild_ns;            /* the load at start */
};
void resv_engine_get_stats(const struct resv_engine *engine,
                           struct resv_engine_stats *stats);

#endif
