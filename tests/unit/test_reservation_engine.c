/* Unit tests of reservation/resv_engine.c on a real SQLite file, driven
 * without an event loop (flushes and lifecycle runs by hand): booking and
 * group commit, conflicts with their offer, atomic updates, cancellation,
 * pools that would overbook, allocations, the lifecycle with its events,
 * a failed commit undone in memory, the limits, and the rebuild of the
 * same state from the database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <event2/event.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resv_db.h"
#include "resv_engine.h"
#include "resv_time.h"
#include "vtime.h"

#define HOUR 3600

struct fixture {
    char path[64];
    struct resv_db *db;
    struct resv_engine *engine;
    struct resv_engine_options options;
    /* events seen */
    enum resv_event_type events[64];
    char event_ids[64][VUUID_STRING_SIZE];
    struct capvec released[64];
    size_t event_count;
};

static void
on_event(enum resv_event_type type, const struct resv_record *r,
         const struct capvec *released, void *arg)
{
    struct fixture *f = arg;

    assert_true(f->event_count < 64);
    f->events[f->event_count] = type;
    memcpy(f->event_ids[f->event_count], r->id, VUUID_STRING_SIZE);
    f->released[f->event_count] = *released;
    f->event_count++;
}

static void
done_status(int status, void *arg)
{
    int *out = arg;

    *out = status;
}

static void
reopen(struct fixture *f)
{
    struct resv_engine_error err = { .message = "" };
    char why[256];

    resv_engine_free(f->engine);
    resv_db_close(f->db);
    assert_int_equal(resv_db_open(f->path, true, &f->db, why, sizeof why), 0);
    f->options.db = f->db;
    if (resv_engine_new(&f->options, &f->engine, &err)) {
        fail_msg("resv_engine_new: %s", err.message);
    }
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char why[256];
    int fd;

    assert_non_null(f);
    snprintf(f->path, sizeof f->path, "/tmp/vigil-resv-engine-XXXXXX");
    fd = mkstemp(f->path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(resv_db_open(f->path, true, &f->db, why, sizeof why), 0);
    f->options.db = f->db;
    f->options.max_duration = 366 * 24 * HOUR;
    f->options.max_future_start = 2 * 366 * 24 * HOUR;
    f->options.max_past_start = 300;
    f->options.max_reservations = 1000;
    f->options.max_pools = 100;
    f->options.max_allocations = 100;
    f->options.max_zones = 10;
    f->options.max_pending = 1000;
    f->options.batch_max_ops = 16;
    f->options.offer_max_jumps = 100;
    f->options.lifecycle_max_per_turn = 100;
    f->options.default_project_id = "proj";
    f->options.on_event = on_event;
    f->options.arg = f;
    assert_int_equal(resv_engine_new(&f->options, &f->engine,
                                     &(struct resv_engine_error) { 0 }), 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    char extra[80];

    resv_engine_free(f->engine);
    resv_db_close(f->db);
    unlink(f->path);
    snprintf(extra, sizeof extra, "%s-wal", f->path);
    unlink(extra);
    snprintf(extra, sizeof extra, "%s-shm", f->path);
    unlink(extra);
    free(f);
    return 0;
}

static void
add_pool(struct fixture *f, const char *zone, int64_t cores, int64_t start,
         int64_t end, char *id_out)
{
    struct resv_pool_request pr;
    struct resv_pool_record rec;
    int status = 1;

    memset(&pr, 0, sizeof pr);
    snprintf(pr.zone, sizeof pr.zone, "%s", zone);
    pr.capacity.v[CAPVEC_CORES] = cores;
    pr.capacity.v[CAPVEC_RAM] = cores * 1024;
    pr.has_start = start >= 0;
    pr.start = start;
    pr.has_end = end >= 0;
    pr.end = end;
    assert_int_equal(resv_engine_pool_create(f->engine, &pr, &rec,
                                             done_status, &status, NULL), 0);
    assert_int_equal(resv_engine_flush(f->engine), 0);
    assert_int_equal(status, 0);
    if (id_out) {
        memcpy(id_out, rec.id, VUUID_STRING_SIZE);
    }
}

static struct resv_reservation_request
request(const char *zone, int64_t cores, int64_t start, int64_t end)
{
    struct resv_reservation_request r;

    memset(&r, 0, sizeof r);
    snprintf(r.zone, sizeof r.zone, "%s", zone);
    r.has_zone = true;
    r.capacity.v[CAPVEC_CORES] = cores;
    r.has_capacity = true;
    r.has_start = true;
    r.start = start;
    r.has_end = true;
    r.end = end;
    return r;
}

/* Books and commits; returns 0 or the engine's error. */
static int
book(struct fixture *f, struct resv_reservation_request *r,
     struct resv_record *out, struct resv_engine_error *err)
{
    int status = 1, ret;

    ret = resv_engine_reserve(f->engine, r, false, out, done_status, &status,
                              err);
    if (ret) {
        return ret;
    }
    assert_int_equal(status, 1);     /* not before the commit */
    assert_int_equal(resv_engine_flush(f->engine), 0);
    assert_int_equal(status, 0);
    return 0;
}

/* The available cores at 't' in 'zone'. */
static int64_t
available(struct fixture *f, const char *zone, int64_t t)
{
    struct resv_step *steps = NULL;
    size_t length = 0;
    bool truncated;
    int64_t v;

    assert_int_equal(resv_engine_capacity(f->engine, zone,
                                          RESV_VIEW_AVAILABLE, t, t + 1, 10,
                                          &steps, &length, &truncated), 0);
    v = steps[0].value.v[CAPVEC_CORES];
    free(steps);
    return v;
}

static void
test_book_conflict_offer(void **state)
{
    struct fixture *f = *state;
    int64_t t = resv_time_now() + 10 * HOUR;
    struct resv_reservation_request r1 = request("az1", 6, t, t + HOUR);
    struct resv_reservation_request r2 = request("az1", 6, t + HOUR / 2,
                                                 t + 2 * HOUR);
    struct resv_engine_error err;
    struct resv_record rec, db_rec;

    add_pool(f, "az1", 10, -1, -1, NULL);
    assert_int_equal(book(f, &r1, &rec, NULL), 0);
    assert_int_equal(rec.status, RESV_STATUS_PENDING);
    assert_string_equal(rec.project_id, "proj");
    assert_int_equal(resv_db_get_reservation(f->db, rec.id, &db_rec, NULL),
                     0);
    assert_int_equal(db_rec.capacity.v[CAPVEC_CORES], 6);
    assert_int_equal(available(f, "az1", t), 4);

    memset(&err, 0, sizeof err);
    assert_int_equal(book(f, &r2, &rec, &err), -EBUSY);
    assert_true(err.has_conflict);
    assert_int_equal(err.conflict.key, CAPVEC_CORES);
    assert_int_equal(err.conflict.requested, 6);
    assert_int_equal(err.conflict.available, 4);
    assert_int_equal(err.conflict.start, t + HOUR / 2);
    assert_int_equal(err.conflict.end, t + HOUR);
    assert_true(err.has_offer);
    assert_int_equal(err.largest.v[CAPVEC_CORES], 4);
    assert_int_equal(err.window_start, t + HOUR / 2);
    assert_true(err.has_earliest);
    assert_int_equal(err.earliest_start, t + HOUR);
    assert_int_equal(err.earliest_end, t + HOUR + 90 * 60);
    assert_non_null(strstr(err.message, "capacity.cores"));

    /* A dry run checks without booking. */
    r2 = request("az1", 4, t, t + HOUR);
    assert_int_equal(resv_engine_reserve(f->engine, &r2, true, &rec, NULL,
                                         NULL, &err), 0);
    assert_int_equal(available(f, "az1", t), 4);
    /* Back to back with the first one fits in full. */
    r2 = request("az1", 10, t + HOUR, t + 2 * HOUR);
    assert_int_equal(book(f, &r2, &rec, NULL), 0);
    /* Unknown zone. */
    r2 = request("nowhere", 1, t, t + HOUR);
    assert_int_equal(book(f, &r2, &rec, &err), -ENOENT);
    assert_non_null(strstr(err.message, "zone"));
}

static void
test_policy(void **state)
{
    struct fixture *f = *state;
    int64_t now = resv_time_now();
    struct resv_reservation_request r;
    struct resv_engine_error err;
    struct resv_record rec;

    add_pool(f, "az1", 10, -1, -1, NULL);
    r = request("az1", 1, now - 3600, now + HOUR);
    assert_int_equal(book(f, &r, &rec, &err), -EINVAL);
    assert_non_null(strstr(err.message, "start:"));
    r = request("az1", 1, now + HOUR, now + HOUR + 400 * 24 * HOUR);
    assert_int_equal(book(f, &r, &rec, &err), -EINVAL);
    assert_non_null(strstr(err.message, "max_duration"));
    r = request("az1", 1, now + 800 * 24 * HOUR, now + 801 * 24 * HOUR);
    assert_int_equal(book(f, &r, &rec, &err), -EINVAL);
    assert_non_null(strstr(err.message, "max_future_start"));
    r = request("az1", 1, now + HOUR, now + 2 * HOUR);
    r.has_expiry = true;
    r.expiry = HOUR;
    assert_int_equal(book(f, &r, &rec, &err), -EINVAL);
    assert_non_null(strstr(err.message, "expiry"));
    /* A start a little in the past is now, and the reservation active. */
    r = request("az1", 1, now - 10, now + HOUR);
    assert_int_equal(book(f, &r, &rec, &err), 0);
    assert_true(rec.start >= now);
    assert_int_equal(rec.status, RESV_STATUS_ACTIVE);
}

static void
test_update_is_atomic(void **state)
{
    struct fixture *f = *state;
    int64_t t = resv_time_now() + 5 * HOUR;
    struct resv_reservation_request a = request("az1", 5, t, t + HOUR);
    struct resv_reservation_request b = request("az1", 4, t, t + HOUR);
    struct resv_reservation_request up;
    struct resv_engine_error err;
    struct resv_record ra, rb, rec;
    int status = 1;

    add_pool(f, "az1", 10, -1, -1, NULL);
    assert_int_equal(book(f, &a, &ra, NULL), 0);
    assert_int_equal(book(f, &b, &rb, NULL), 0);
    /* Growing a to 7 does not fit next to b's 4: refused, a unchanged. */
    memset(&up, 0, sizeof up);
    up.has_capacity = true;
    up.capacity.v[CAPVEC_CORES] = 7;
    memset(&err, 0, sizeof err);
    assert_int_equal(resv_engine_update(f->engine, ra.id, &up, &rec, NULL,
                                        NULL, &err), -EBUSY);
    assert_int_equal(err.conflict.available, 6);
    assert_int_equal(available(f, "az1", t), 1);
    assert_int_equal(resv_db_get_reservation(f->db, ra.id, &rec, NULL), 0);
    assert_int_equal(rec.capacity.v[CAPVEC_CORES], 5);
    /* Growing to 6 fits exactly (a's own 5 does not count against it). */
    up.capacity.v[CAPVEC_CORES] = 6;
    assert_int_equal(resv_engine_update(f->engine, ra.id, &up, &rec,
                                        done_status, &status, &err), 0);
    assert_int_equal(resv_engine_flush(f->engine), 0);
    assert_int_equal(status, 0);
    assert_int_equal(available(f, "az1", t), 0);
    /* Moving it later frees [t, t+1h) for b's neighbours. */
    memset(&up, 0, sizeof up);
    up.has_start = true;
    up.start = t + 2 * HOUR;
    up.has_duration = true;
    up.duration = HOUR;
    assert_int_equal(resv_engine_update(f->engine, ra.id, &up, &rec, NULL,
                                        NULL, &err), 0);
    assert_int_equal(resv_engine_flush(f->engine), 0);
    assert_int_equal(available(f, "az1", t), 6);
    assert_int_equal(available(f, "az1", t + 2 * HOUR), 4);
    assert_int_equal(resv_db_get_reservation(f->db, ra.id, &rec, NULL), 0);
    assert_int_equal(rec.start, t + 2 * HOUR);
    assert_int_equal(rec.end, t + 3 * HOUR);

    /* Two changes in one group commit, the first without a name, the
     * second renaming: the old name is freed once (ASan would see a
     * double free), the new one is stored. */
    memset(&up, 0, sizeof up);
    up.has_capacity = true;
    up.capacity.v[CAPVEC_CORES] = 5;
    assert_int_equal(resv_engine_update(f->engine, ra.id, &up, &rec, NULL,
                                        NULL, &err), 0);
    memset(&up, 0, sizeof up);
    up.has_name = true;
    snprintf(up.name, sizeof up.name, "renamed");
    assert_int_equal(resv_engine_update(f->engine, ra.id, &up, &rec, NULL,
                                        NULL, &err), 0);
    assert_int_equal(resv_engine_flush(f->engine), 0);
    assert_int_equal(resv_db_get_reservation(f->db, ra.id, &rec, NULL), 0);
    assert_string_equal(rec.name, "renamed");
    assert_int_equal(rec.capacity.v[CAPVEC_CORES], 5);

    /* Cancel: capacity back, status in the database, event. */
    status = 1;
    assert_int_equal(resv_engine_cancel(f->engine, rb.id, &rec, done_status,
                                        &status, &err), 0);
    assert_int_equal(resv_engine_flush(f->engine), 0);
    assert_int_equal(status, 0);
    assert_int_equal(available(f, "az1", t), 10);
    assert_int_equal(resv_db_get_reservation(f->db, rb.id, &rec, NULL), 0);
    assert_int_equal(rec.status, RESV_STATUS_CANCELLED);
    assert_int_equal(f->event_count, 1);
    assert_int_equal(f->events[0], RESV_EVENT_CANCELLED);
    assert_int_equal(resv_engine_cancel(f->engine, rb.id, &rec, NULL, NULL,
                                        &err), -EALREADY);
    assert_int_equal(resv_engine_update(f->engine, rb.id, &up, &rec, NULL,
                                        NULL, &err), -EALREADY);
    assert_int_equal(resv_engine_cancel(f->engine,
                                        "00000000-0000-4000-8000-000000000000",
                                        &rec, NULL, NULL, &err), -ENOENT);
}

static void
test_uncommitted_is_invisible(void **state)
{
    struct fixture *f = *state;
    int64_t t = resv_time_now() + HOUR;
    struct resv_reservation_request r = request("az1", 3, t, t + HOUR);
    struct resv_reservation_request other = request("az1", 8, t, t + HOUR);
    struct resv_engine_error err;
    struct resv_record rec, tmp;
    int status = 1;

    add_pool(f, "az1", 10, -1, -1, NULL);
    assert_int_equal(resv_engine_reserve(f->engine, &r, false, &rec,
                                         done_status, &status, &err), 0);
    /* Its capacity is taken at once... */
    assert_int_equal(resv_engine_reserve(f->engine, &other, true, &tmp, NULL,
                                         NULL, &err), -EBUSY);
    /* ...but nobody can touch or read it before the commit. */
    assert_int_equal(resv_engine_cancel(f->engine, rec.id, &tmp, NULL, NULL,
                                        &err), -ENOENT);
    assert_int_equal(resv_db_get_reservation(f->db, rec.id, &tmp, NULL),
                     -ENOENT);
    assert_int_equal(resv_engine_flush(f->engine), 0);
    assert_int_equal(status, 0);
    assert_int_equal(resv_db_get_reservation(f->db, rec.id, &tmp, NULL), 0);
}

static void
test_failed_commit_is_undone(void **state)
{
    struct fixture *f = *state;
    int64_t t = resv_time_now() + HOUR;
    struct resv_reservation_request r = request("az1", 7, t, t + HOUR);
    struct resv_engine_error err;
    struct resv_engine_stats stats;
    struct resv_record rec;
    sqlite3 *other;
    int status = 1;

    add_pool(f, "az1", 10, -1, -1, NULL);
    assert_int_equal(resv_engine_reserve(f->engine, &r, false, &rec,
                                         done_status, &status, &err), 0);
    assert_int_equal(available(f, "az1", t), 3);
    /* Another connection breaks the schema under the engine's feet: the
     * INSERT fails, the transaction rolls back, memory is put back. */
    assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "DROP TABLE reservations", NULL,
                                  NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    assert_int_equal(resv_engine_flush(f->engine), -EIO);
    assert_int_equal(status, -EIO);
    assert_int_equal(available(f, "az1", t), 10);
    resv_engine_get_stats(f->engine, &stats);
    assert_int_equal(stats.reservations, 0);
    assert_int_equal(stats.pending_writes, 0);
    assert_int_equal(resv_engine_cancel(f->engine, rec.id, &rec, NULL, NULL,
                                        &err), -ENOENT);
}

static void
test_pools_that_overbook(void **state)
{
    struct fixture *f = *state;
    int64_t t = resv_time_now() + HOUR;
    struct resv_reservation_request r = request("az1", 8, t, t + HOUR);
    struct resv_pool_request cut;
    struct resv_engine_error err;
    struct resv_pool_record rec;
    struct resv_record res;
    char pool_id[VUUID_STRING_SIZE];
    int status = 1;

    add_pool(f, "az1", 10, -1, -1, pool_id);
    assert_int_equal(book(f, &r, &res, NULL), 0);
    memset(&cut, 0, sizeof cut);
    snprintf(cut.zone, sizeof cut.zone, "az1");
    cut.capacity.v[CAPVEC_CORES] = -3;
    cut.has_start = cut.has_end = true;
    cut.start = t + HOUR / 2;
    cut.end = t + 2 * HOUR;
    memset(&err, 0, sizeof err);
    assert_int_equal(resv_engine_pool_create(f->engine, &cut, &rec, NULL,
                                             NULL, &err), -EBUSY);
    assert_int_equal(err.conflict.start, t + HOUR / 2);
    assert_int_equal(err.conflict.end, t + HOUR);
    assert_int_equal(err.conflict.available, -1);
    assert_int_equal(available(f, "az1", t + HOUR / 2), 2);
    assert_int_equal(resv_engine_pool_delete(f->engine, pool_id, false, NULL,
                                             NULL, &err), -EBUSY);
    assert_int_equal(available(f, "az1", t + HOUR / 2), 2);
    /* With force, reality wins: the zone is overbooked there. */
    cut.force = true;
    assert_int_equal(resv_engine_pool_create(f->engine, &cut, &rec,
                                             done_status, &status, &err), 0);
    assert_int_equal(resv_engine_flush(f->engine), 0);
    assert_int_equal(status, 0);
    assert_int_equal(available(f, "az1", t + HOUR / 2), -1);
    assert_int_equal(resv_engine_pool_delete(f->engine, pool_id, true,
                                             done_status, &status, &err), 0);
    assert_int_equal(resv_engine_flush(f->engine), 0);
    assert_int_equal(resv_engine_pool_get(f->engine, pool_id, &rec),
                     -ENOENT);
    assert_int_equal(available(f, "az1", t + HOUR / 2), -11);
}

static void
test_allocations(void **state)
{
    struct fixture *f = *state;
    int64_t now = resv_time_now();
    struct resv_reservation_request active = request("az1", 6, now, now +
                                                     HOUR);
    struct resv_reservation_request later = request("az1", 2, now + HOUR,
                                                    now + 2 * HOUR);
    struct resv_alloc_request ar;
    struct resv_alloc_record arec;
    struct resv_engine_error err;
    struct resv_record ra, rl, rec;
    int status = 1;

    add_pool(f, "az1", 10, -1, -1, NULL);
    assert_int_equal(book(f, &active, &ra, NULL), 0);
    assert_int_equal(book(f, &later, &rl, NULL), 0);

    memset(&ar, 0, sizeof ar);
    ar.has_reservation = true;
    memcpy(ar.reservation_id, ra.id, VUUID_STRING_SIZE);
    snprintf(ar.instance, sizeof ar.instance, "vm-1");
    ar.capacity.v[CAPVEC_CORES] = 4;
    assert_int_equal(resv_engine_allocate(f->engine, &ar, &arec, done_status,
                                          &status, &err), 0);
    assert_int_equal(resv_engine_flush(f->engine), 0);
    assert_int_equal(status, 0);
    assert_int_equal(resv_db_get_reservation(f->db, ra.id, &rec, NULL), 0);
    assert_int_equal(rec.allocated.v[CAPVEC_CORES], 4);
    /* 3 more do not fit the 2 left of the reservation. */
    ar.capacity.v[CAPVEC_CORES] = 3;
    memset(&err, 0, sizeof err);
    assert_int_equal(resv_engine_allocate(f->engine, &ar, &arec, NULL, NULL,
                                          &err), -EBUSY);
    assert_int_equal(err.conflict.available, 2);
    /* Allocating against a pending reservation is refused. */
    memcpy(ar.reservation_id, rl.id, VUUID_STRING_SIZE);
    ar.capacity.v[CAPVEC_CORES] = 1;
    assert_int_equal(resv_engine_allocate(f->engine, &ar, &arec, NULL, NULL,
                                          &err), -EALREADY);
    /* Without a reservation only unreserved capacity may be used: 4 cores
     * for the first hour, 8 for the next: 5 until further notice do not
     * fit; 3 for the first hour do. */
    memset(&ar, 0, sizeof ar);
    snprintf(ar.zone, sizeof ar.zone, "az1");
    snprintf(ar.instance, sizeof ar.instance, "vm-2");
    ar.capacity.v[CAPVEC_CORES] = 5;
    memset(&err, 0, sizeof err);
    assert_int_equal(resv_engine_allocate(f->engine, &ar, &arec, NULL, NULL,
                                          &err), -EBUSY);
    assert_int_equal(err.conflict.available, 4);
    ar.capacity.v[CAPVEC_CORES] = 3;
    ar.has_end = true;
    ar.end = now + HOUR;
    assert_int_equal(resv_engine_allocate(f->engine, &ar, &arec, done_status,
                                          &status, &err), 0);
    assert_int_equal(resv_engine_flush(f->engine), 0);
    assert_int_equal(available(f, "az1", now), 1);
    /* A capacity update may not go below what is allocated. */
    memset(&active, 0, sizeof active);
    active.has_capacity = true;
    active.capacity.v[CAPVEC_CORES] = 3;
    assert_int_equal(resv_engine_update(f->engine, ra.id, &active, &rec,
                                        NULL, NULL, &err), -EALREADY);
    /* Releasing the free-standing allocation gives its cores back. */
    assert_int_equal(resv_engine_release(f->engine, arec.id, done_status,
                                         &status, &err), 0);
    assert_int_equal(resv_engine_flush(f->engine), 0);
    assert_int_equal(available(f, "az1", now), 4);
    assert_int_equal(resv_engine_release(f->engine, arec.id, NULL, NULL,
                                         &err), -ENOENT);
    /* Cancelling the reservation takes its allocations along. */
    assert_int_equal(resv_engine_cancel(f->engine, ra.id, &rec, NULL, NULL,
                                        &err), 0);
    assert_int_equal(resv_engine_flush(f->engine), 0);
    assert_int_equal(available(f, "az1", now), 10);
    reopen(f);
    assert_int_equal(available(f, "az1", now), 10);
    assert_int_equal(available(f, "az1", now + HOUR), 8);
}

static void
test_lifecycle(void **state)
{
    struct fixture *f = *state;
    int64_t t = resv_time_now() + HOUR;
    struct resv_reservation_request idle = request("az1", 2, t, t + HOUR);
    struct resv_reservation_request used = request("az1", 3, t, t + HOUR);
    struct resv_reservation_request plain = request("az1", 1, t + 10,
                                                    t + 20);
    struct resv_alloc_request ar;
    struct resv_alloc_record arec;
    struct resv_record ri, ru, rp, rec;

    add_pool(f, "az1", 10, -1, -1, NULL);
    idle.has_expiry = used.has_expiry = true;
    idle.expiry = used.expiry = 60;
    assert_int_equal(book(f, &idle, &ri, NULL), 0);
    assert_int_equal(book(f, &used, &ru, NULL), 0);
    assert_int_equal(book(f, &plain, &rp, NULL), 0);

    assert_int_equal(resv_engine_run(f->engine, t - 1), 0);
    assert_int_equal(resv_engine_run(f->engine, t), 2);
    assert_int_equal(resv_engine_flush(f->engine), 0);
    assert_int_equal(f->event_count, 2);
    assert_int_equal(f->events[0], RESV_EVENT_START);
    assert_int_equal(f->events[1], RESV_EVENT_START);
    assert_int_equal(resv_db_get_reservation(f->db, ri.id, &rec, NULL), 0);
    assert_int_equal(rec.status, RESV_STATUS_ACTIVE);

    memset(&ar, 0, sizeof ar);
    ar.has_reservation = true;
    memcpy(ar.reservation_id, ru.id, VUUID_STRING_SIZE);
    snprintf(ar.instance, sizeof ar.instance, "vm-1");
    ar.capacity.v[CAPVEC_CORES] = 1;
    assert_int_equal(resv_engine_allocate(f->engine, &ar, &arec, NULL, NULL,
                                          NULL), 0);
    assert_int_equal(resv_engine_flush(f->engine), 0);

    /* t+10: plain starts; t+20: plain ends; t+60: both expiries. */
    assert_int_equal(resv_engine_run(f->engine, t + 10), 1);
    assert_int_equal(resv_engine_run(f->engine, t + 20), 1);
    assert_int_equal(resv_engine_run(f->engine, t + 60), 2);
    assert_int_equal(resv_engine_flush(f->engine), 0);
    assert_int_equal(f->event_count, 6);
    assert_int_equal(f->events[2], RESV_EVENT_START);
    assert_string_equal(f->event_ids[2], rp.id);
    assert_int_equal(f->events[3], RESV_EVENT_END);
    assert_string_equal(f->event_ids[3], rp.id);
    assert_int_equal(f->events[4], RESV_EVENT_EXPIRED);
    assert_int_equal(f->events[5], RESV_EVENT_EXPIRED);
    assert_int_equal(resv_db_get_reservation(f->db, ri.id, &rec, NULL), 0);
    assert_int_equal(rec.status, RESV_STATUS_EXPIRED);
    assert_int_equal(resv_db_get_reservation(f->db, ru.id, &rec, NULL), 0);
    assert_int_equal(rec.status, RESV_STATUS_ACTIVE);
    assert_true(rec.expired);
    assert_int_equal(rec.capacity.v[CAPVEC_CORES], 1);
    assert_int_equal(available(f, "az1", t + 100), 9);
    /* The idle one released its 2 cores, the used one 2 of its 3. */
    assert_int_equal(f->released[4].v[CAPVEC_CORES], 2);
    assert_int_equal(f->released[5].v[CAPVEC_CORES], 2);
    assert_true(!strcmp(f->event_ids[4], ri.id) ||
                !strcmp(f->event_ids[5], ri.id));
    assert_true(!strcmp(f->event_ids[4], ru.id) ||
                !strcmp(f->event_ids[5], ru.id));
    /* A restart keeps the shrunk reservation and its allocation. */
    reopen(f);
    assert_int_equal(available(f, "az1", t + 100), 9);
    assert_int_equal(resv_engine_allocation_get(f->engine, arec.id, &arec),
                     0);
    assert_int_equal(resv_engine_run(f->engine, t + HOUR), 1);
    assert_int_equal(resv_engine_flush(f->engine), 0);
    assert_int_equal(f->events[f->event_count - 1], RESV_EVENT_END);
    assert_int_equal(resv_db_get_reservation(f->db, ru.id, &rec, NULL), 0);
    assert_int_equal(rec.status, RESV_STATUS_ENDED);
    assert_int_equal(resv_engine_allocation_get(f->engine, arec.id, &arec),
                     -ENOENT);
    assert_int_equal(available(f, "az1", t + 100), 10);
}

static void
test_limits(void **state)
{
    struct fixture *f = *state;
    int64_t t = resv_time_now() + HOUR;
    struct resv_reservation_request r = request("az1", 1, t, t + HOUR);
    struct resv_engine_error err;
    struct resv_record rec;

    add_pool(f, "az1", 100, -1, -1, NULL);
    reopen(f);
    resv_engine_free(f->engine);
    f->options.max_pending = 1;
    f->options.max_reservations = 2;
    assert_int_equal(resv_engine_new(&f->options, &f->engine, &err), 0);
    assert_int_equal(resv_engine_reserve(f->engine, &r, false, &rec, NULL,
                                         NULL, &err), 0);
    assert_int_equal(resv_engine_reserve(f->engine, &r, false, &rec, NULL,
                                         NULL, &err), -ENOBUFS);
    assert_int_equal(resv_engine_flush(f->engine), 0);
    assert_int_equal(book(f, &r, &rec, &err), 0);
    assert_int_equal(book(f, &r, &rec, &err), -EDQUOT);
    assert_non_null(strstr(err.message, "max_reservations"));
}

static void
test_rebuild_same_state(void **state)
{
    struct fixture *f = *state;
    int64_t t = resv_time_now() + HOUR;
    struct resv_step *before = NULL, *after = NULL;
    size_t n_before, n_after;
    bool truncated;

    add_pool(f, "az1", 50, -1, -1, NULL);
    add_pool(f, "az1", 20, t + 100, t + 5000, NULL);
    add_pool(f, "az2", 5, -1, -1, NULL);
    for (int i = 0; i < 200; i++) {
        struct resv_reservation_request r =
            request(i % 3 ? "az1" : "az2", 1 + i % 4, t + i * 37,
                    t + i * 37 + 600 + i % 7 * 100);
        struct resv_record rec;

        if (resv_engine_reserve(f->engine, &r, false, &rec, NULL, NULL,
                                NULL) == 0 && i % 10 == 0) {
            assert_int_equal(resv_engine_flush(f->engine), 0);
        }
    }
    assert_int_equal(resv_engine_flush(f->engine), 0);
    assert_int_equal(resv_engine_capacity(f->engine, "az1",
                                          RESV_VIEW_RESERVED, t, t + 20000,
                                          1000, &before, &n_before,
                                          &truncated), 0);
    reopen(f);
    assert_int_equal(resv_engine_capacity(f->engine, "az1",
                                          RESV_VIEW_RESERVED, t, t + 20000,
                                          1000, &after, &n_after,
                                          &truncated), 0);
    assert_int_equal(n_before, n_after);
    assert_memory_equal(before, after, n_before * sizeof *before);
    free(before);
    free(after);
}

/* Runs 'base' until '*count' reaches 'want' (bounded: fails after 20 s). */
static void
run_until(struct event_base *base, const int *count, int want)
{
    int64_t deadline = vtime_mono_ns() + INT64_C(20) * 1000000000;

    while (*count < want) {
        assert_true(vtime_mono_ns() < deadline);
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        usleep(1000);
    }
}

struct counted {
    int done, failed;
};

static void
done_count(int status, void *arg)
{
    struct counted *c = arg;

    c->done++;
    if (status) {
        c->failed++;
    }
}

static void
test_threaded_group_commit(void **state)
{
    struct fixture *f = *state;
    struct event_base *base = event_base_new();
    struct resv_db *writer = NULL;
    struct counted c = { 0 };
    struct resv_record rec;
    int64_t t = resv_time_now() + HOUR;
    char why[256];
    sqlite3 *other;

    assert_non_null(base);
    add_pool(f, "az1", 10, -1, -1, NULL);
    resv_engine_free(f->engine);
    assert_int_equal(resv_db_open(f->path, true, &writer, why, sizeof why),
                     0);
    f->options.base = base;
    f->options.write_db = writer;
    assert_int_equal(resv_engine_new(&f->options, &f->engine,
                                     &(struct resv_engine_error) { 0 }), 0);

    /* Five bookings: answered from the loop once the writer thread
     * committed them; readable on the loop's own connection then. */
    for (int i = 0; i < 5; i++) {
        struct resv_reservation_request r = request("az1", 1, t, t + HOUR);

        assert_int_equal(resv_engine_reserve(f->engine, &r, false, &rec,
                                             done_count, &c, NULL), 0);
    }
    assert_int_equal(c.done, 0);
    run_until(base, &c.done, 5);
    assert_int_equal(c.failed, 0);
    assert_int_equal(resv_db_get_reservation(f->db, rec.id, &rec, NULL), 0);
    assert_int_equal(available(f, "az1", t), 5);

    /* A lifecycle timer on the real loop: a start one second ahead. */
    {
        struct resv_reservation_request soon =
            request("az1", 1, resv_time_now() + 1, t);
        size_t before = f->event_count;
        int64_t deadline = vtime_mono_ns() + INT64_C(20) * 1000000000;

        assert_int_equal(resv_engine_reserve(f->engine, &soon, false, &rec,
                                             done_count, &c, NULL), 0);
        run_until(base, &c.done, 6);
        while (f->event_count == before) {
            assert_true(vtime_mono_ns() < deadline);
            event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
            usleep(1000);
        }
        assert_int_equal(f->events[before], RESV_EVENT_START);
        assert_string_equal(f->event_ids[before], rec.id);
    }

    /* A failed transaction on the writer thread: undone on the loop. */
    assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "DROP TABLE reservations", NULL,
                                  NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    for (int i = 0; i < 3; i++) {
        struct resv_reservation_request r = request("az1", 1, t, t + HOUR);

        assert_int_equal(resv_engine_reserve(f->engine, &r, false, &rec,
                                             done_count, &c, NULL), 0);
    }
    assert_int_equal(available(f, "az1", t), 2);
    run_until(base, &c.done, 9);
    assert_int_equal(c.failed, 3);
    assert_int_equal(available(f, "az1", t), 5);

    resv_engine_free(f->engine);
    f->engine = NULL;
    resv_db_close(writer);
    f->options.base = NULL;
    f->options.write_db = NULL;
    event_base_free(base);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_book_conflict_offer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_is_atomic, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_uncommitted_is_invisible, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failed_commit_is_undone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pools_that_overbook, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_allocations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_same_state, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_threaded_group_commit, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
