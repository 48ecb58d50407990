/* resv_engine: zones, pools, reservations and allocations; check-and-book
 * on the capacity index; lifecycle; group commit (see resv_engine.h).
 *
 * Every change follows the same path: validate, check the index, change
 * memory and the index at once, queue a struct resv_op on the batch. The
 * op carries a snapshot of the rows to write and what undo() needs to put
 * memory back. An object stays allocated while ops refer to it ('ops') or
 * while it is linked into the maps ('linked'); whichever ends last frees
 * it. */
#include "resv_engine.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "metrics.h"
#include "resv_batch.h"
#include "resv_db.h"
#include "resv_lifecycle.h"
#include "resv_time.h"
#include "vlog.h"
#include "vtime.h"
#include "vuuid.h"

#define MOD "engine"

struct resv_zone {
    char name[RESV_NAME_SIZE];
    struct resv_index index;
    size_t pools, reservations, allocations;
};

struct resv_pool {
    char id[VUUID_STRING_SIZE];
    bool committed, linked;
    uint32_t ops;
    struct resv_zone *zone;
    char *name;
    int64_t start, end, created;
    struct capvec capacity;
};

/* Project ids are shared by many reservations: interned, counted. */
struct resv_project {
    size_t refs;
    char name[RESV_NAME_SIZE];
};

struct resv_allocation;

struct resv_reservation {
    char id[VUUID_STRING_SIZE];
    bool committed, linked, expired;
    uint8_t status;
    uint32_t ops;
    struct resv_zone *zone;
    struct resv_project *project;
    char *name;                        /* NULL: "" */
    int64_t start, end, expiry, created, updated;
    struct resv_lifecycle_item timer;
    struct capvec capacity;
    struct capvec *allocated;          /* NULL: nothing allocated */
    struct resv_allocation *allocations;
};

struct resv_allocation {
    char id[VUUID_STRING_SIZE];
    bool committed, linked;
    bool listed;                            /* in its reservation's list */
    uint32_t ops;
    struct resv_zone *zone;
    struct resv_reservation *reservation;   /* NULL: free-standing */
    struct resv_allocation *next;           /* in the reservation's list */
    char *instance;
    int64_t start, end, created;
    struct capvec capacity;
};

struct resv_engine {
    struct resv_engine_options o;
    char default_project_id[RESV_NAME_SIZE];
    struct resv_batch *batch;
    struct resv_lifecycle *lifecycle;
    struct idmap zones, pools, reservations, allocations, projects;
    int64_t rebuild_ns;
    struct metrics_gauge *g_reservations, *g_pools, *g_allocations;
    struct metrics_gauge *g_zones, *g_rebuild_ms;
    struct metrics_counter *c_bookings, *c_conflicts, *c_updates;
    struct metrics_counter *c_events[RESV_EVENT_COUNT];
    struct metrics_histogram *h_check;
    struct resv_op *spare_ops;
    size_t spare_count;
};

enum resv_op_kind {
    RESV_OP_POOL_CREATE,
    RESV_OP_POOL_DELETE,
    RESV_OP_RESV_CREATE,
    RESV_OP_RESV_CHANGE,       /* update, start, partial expiry */
    RESV_OP_RESV_CLOSE,        /* cancel, end, full expiry */
    RESV_OP_ALLOC_CREATE,
    RESV_OP_ALLOC_DELETE,
};

/* The changeable state of a reservation, for undo. */
struct resv_saved {
    uint8_t status;
    bool expired;
    int64_t start, end, expiry, updated;
    struct capvec capacity;
    char *name;
};

struct resv_op {
    struct resv_batch_op base;
    enum resv_op_kind kind;
    struct resv_engine *engine;
    struct resv_pool *pool;
    struct resv_reservation *resv;
    struct resv_allocation *alloc;
    resv_engine_done_fn *done;
    void *arg;
    int event;                          /* enum resv_event_type, or -1 */
    struct capvec released;
    struct resv_saved saved;            /* RESV_CHANGE: before */
    bool renamed;                       /* RESV_CHANGE: this op replaced the
                                         * name and owns saved.name */
    struct resv_record row;             /* reservation row to write */
    union {
        struct resv_pool_record pool_row;
        struct resv_alloc_record alloc_row;
    };
    struct resv_op *next_free;          /* in the engine's spare ops */
};

/* Spare ops kept for reuse: a booking then allocates nothing large, which
 * spares malloc the consolidations that large blocks trigger. */
#define RESV_ENGINE_SPARE_OPS 4096

static const double resv_engine_check_bounds[] = {
    1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 1e-2,
};

static struct vlog_rate_limit resv_engine_rl = VLOG_RATE_LIMIT_INIT(1, 5);

const char *
resv_event_type_name(enum resv_event_type type)
{
    static const char *const names[RESV_EVENT_COUNT] = {
        [RESV_EVENT_START] = "reservation.start",
        [RESV_EVENT_EXPIRED] = "reservation.expired",
        [RESV_EVENT_END] = "reservation.end",
        [RESV_EVENT_CANCELLED] = "reservation.cancelled",
    };

    return (unsigned) type < RESV_EVENT_COUNT ? names[type] : "?";
}

static void __attribute__((format(printf, 2, 3)))
resv_engine_fail(struct resv_engine_error *err, const char *fmt, ...)
{
    va_list args;

    if (!err) {
        return;
    }
    va_start(args, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, args);
    va_end(args);
}

/* An index change that must not fail (taking back what was put in): when
 * memory is so short that it does, the index would lie; stop instead, and
 * let the restart rebuild it from the database. */
static void
resv_engine_must(int ret, const char *what)
{
    if (ret) {
        VLOG_ERR(MOD, "cannot %s: %s; the index would be inconsistent, "
                 "aborting (the database is intact)", what, strerror(-ret));
        abort();
    }
}

static char *
resv_engine_strdup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

/* ---- zones and projects ------------------------------------------------ */

static struct resv_zone *
resv_engine_zone(struct resv_engine *e, const char *name)
{
    return idmap_get(&e->zones, name);
}

/* The zone 'name', created when 'create'. NULL: -ENOENT, -EDQUOT or
 * -ENOMEM in '*ret'. */
static struct resv_zone *
resv_engine_zone_get(struct resv_engine *e, const char *name, bool create,
                     int *ret)
{
    struct resv_zone *z = resv_engine_zone(e, name);

    if (z || !create) {
        *ret = z ? 0 : -ENOENT;
        return z;
    }
    if (e->zones.length >= e->o.max_zones) {
        *ret = -EDQUOT;
        return NULL;
    }
    z = calloc(1, sizeof *z);
    if (!z) {
        *ret = -ENOMEM;
        return NULL;
    }
    resv_record_copy_name(z->name, name);
    if (idmap_put(&e->zones, z)) {
        free(z);
        *ret = -ENOMEM;
        return NULL;
    }
    metrics_gauge_set(e->g_zones, (int64_t) e->zones.length);
    *ret = 0;
    return z;
}

static size_t
resv_engine_zone_objects(const struct resv_zone *z)
{
    return z->pools + z->reservations + z->allocations;
}

static struct resv_project *
resv_engine_project_ref(struct resv_engine *e, const char *name)
{
    struct resv_project *p = idmap_get(&e->projects, name);

    if (p) {
        p->refs++;
        return p;
    }
    p = calloc(1, sizeof *p);
    if (!p) {
        return NULL;
    }
    resv_record_copy_name(p->name, name);
    p->refs = 1;
    if (idmap_put(&e->projects, p)) {
        free(p);
        return NULL;
    }
    return p;
}

static void
resv_engine_project_unref(struct resv_engine *e, struct resv_project *p)
{
    if (p && --p->refs == 0) {
        idmap_remove(&e->projects, p->name);
        free(p);
    }
}

static void
resv_engine_update_gauges(struct resv_engine *e)
{
    metrics_gauge_set(e->g_reservations, (int64_t) e->reservations.length);
    metrics_gauge_set(e->g_pools, (int64_t) e->pools.length);
    metrics_gauge_set(e->g_allocations, (int64_t) e->allocations.length);
}

/* ---- objects ----------------------------------------------------------- */

static void
resv_engine_pool_free(struct resv_pool *p)
{
    if (p) {
        free(p->name);
        free(p);
    }
}

static void
resv_engine_alloc_free(struct resv_allocation *a)
{
    if (a) {
        free(a->instance);
        free(a);
    }
}

static void
resv_engine_resv_free(struct resv_engine *e, struct resv_reservation *r)
{
    struct resv_allocation *a, *next;

    if (!r) {
        return;
    }
    for (a = r->allocations; a; a = next) {
        next = a->next;
        resv_engine_alloc_free(a);
    }
    resv_engine_project_unref(e, r->project);
    free(r->name);
    free(r->allocated);
    free(r);
}

static void
resv_engine_snapshot(const struct resv_reservation *r, struct resv_record *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->id, r->id, sizeof out->id);
    resv_record_copy_name(out->zone, r->zone->name);
    resv_record_copy_name(out->project_id, r->project->name);
    resv_record_copy_name(out->name, r->name);
    out->start = r->start;
    out->end = r->end;
    out->expiry = r->expiry;
    out->expired = r->expired;
    out->status = (enum resv_status) r->status;
    out->capacity = r->capacity;
    if (r->allocated) {
        out->allocated = *r->allocated;
    }
    out->created = r->created;
    out->updated = r->updated;
}

static void
resv_engine_pool_snapshot(const struct resv_pool *p,
                          struct resv_pool_record *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->id, p->id, sizeof out->id);
    resv_record_copy_name(out->zone, p->zone->name);
    resv_record_copy_name(out->name, p->name);
    out->start = p->start;
    out->end = p->end;
    out->capacity = p->capacity;
    out->created = p->created;
}

static void
resv_engine_alloc_snapshot(const struct resv_allocation *a,
                           struct resv_alloc_record *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->id, a->id, sizeof out->id);
    if (a->reservation) {
        memcpy(out->reservation_id, a->reservation->id,
               sizeof out->reservation_id);
    }
    resv_record_copy_name(out->zone, a->zone->name);
    resv_record_copy_name(out->instance, a->instance);
    out->start = a->start;
    out->end = a->end;
    out->capacity = a->capacity;
    out->created = a->created;
}

/* Takes (sign +1) or gives back (-1) what 'r' holds in its zone's index:
 * its capacity over its window, and the allocated part of it. */
static int
resv_engine_hold(struct resv_reservation *r, int sign)
{
    struct resv_index *idx = &r->zone->index;
    int ret = resv_index_apply(idx, RESV_INDEX_RESERVED, r->start, r->end,
                               &r->capacity, sign);

    if (ret || !r->allocated) {
        return ret;
    }
    ret = resv_index_apply(idx, RESV_INDEX_RESV_ALLOC, r->start, r->end,
                           r->allocated, sign);
    if (ret) {
        resv_engine_must(resv_index_apply(idx, RESV_INDEX_RESERVED, r->start,
                                          r->end, &r->capacity, -sign),
                         "undo a hold");
    }
    return ret;
}

/* The next lifecycle deadline of a live reservation. */
static int64_t
resv_engine_deadline(const struct resv_reservation *r)
{
    if (r->status == RESV_STATUS_PENDING) {
        return r->start;
    }
    if (r->expiry && !r->expired && r->start + r->expiry < r->end) {
        return r->start + r->expiry;
    }
    return r->end;
}

static void
resv_engine_schedule(struct resv_engine *e, struct resv_reservation *r)
{
    if (!r->linked || !r->committed) {
        return;
    }
    if (resv_lifecycle_set(e->lifecycle, &r->timer,
                           resv_engine_deadline(r))) {
        vlog_write_rl(&resv_engine_rl, VLOG_LEVEL_ERR, MOD,
                      "out of memory: reservation %s has no lifecycle "
                      "timer until the next restart", r->id);
    }
}

/* Puts a reservation's allocations into (or out of) the allocation map
 * and its zone's count. */
static void
resv_engine_link_allocs(struct resv_engine *e, struct resv_reservation *r,
                        bool link)
{
    for (struct resv_allocation *a = r->allocations; a; a = a->next) {
        if (link) {
            resv_engine_must(idmap_put(&e->allocations, a),
                             "re-link an allocation");
            r->zone->allocations++;
        } else {
            idmap_remove(&e->allocations, a->id);
            r->zone->allocations--;
        }
        a->linked = link;
    }
}

/* Removes a live reservation from memory and the index (it stays
 * allocated for the ops that refer to it). */
static void
resv_engine_unlink(struct resv_engine *e, struct resv_reservation *r)
{
    resv_engine_must(resv_engine_hold(r, -1), "release a reservation");
    idmap_remove(&e->reservations, r->id);
    resv_lifecycle_remove(e->lifecycle, &r->timer);
    resv_engine_link_allocs(e, r, false);
    r->zone->reservations--;
    r->linked = false;
}

static void
resv_engine_relink(struct resv_engine *e, struct resv_reservation *r)
{
    resv_engine_must(resv_engine_hold(r, 1), "re-take a reservation");
    resv_engine_must(idmap_put(&e->reservations, r), "re-link a "
                     "reservation");
    resv_engine_link_allocs(e, r, true);
    r->zone->reservations++;
    r->linked = true;
    resv_engine_schedule(e, r);
}

static void
resv_engine_save(const struct resv_reservation *r, struct resv_saved *s)
{
    s->status = r->status;
    s->expired = r->expired;
    s->start = r->start;
    s->end = r->end;
    s->expiry = r->expiry;
    s->updated = r->updated;
    s->capacity = r->capacity;
    s->name = r->name;
}

/* ---- ops ------------------------------------------------------------- */

static int
resv_op_write(struct resv_batch_op *base, struct resv_db *db)
{
    struct resv_op *op = (struct resv_op *) base;

    switch (op->kind) {
    case RESV_OP_POOL_CREATE:
        return resv_db_put_pool(db, &op->pool_row);
    case RESV_OP_POOL_DELETE:
        return resv_db_delete_pool(db, op->pool_row.id);
    case RESV_OP_RESV_CREATE:
    case RESV_OP_RESV_CHANGE:
        return resv_db_put_reservation(db, &op->row);
    case RESV_OP_RESV_CLOSE:
        return resv_db_put_reservation(db, &op->row) ||
                       resv_db_delete_allocations_of(db, op->row.id)
                   ? -EIO : 0;
    case RESV_OP_ALLOC_CREATE:
        return resv_db_put_allocation(db, &op->alloc_row) ||
                       (op->resv && resv_db_put_reservation(db, &op->row))
                   ? -EIO : 0;
    case RESV_OP_ALLOC_DELETE:
        return resv_db_delete_allocation(db, op->alloc_row.id) ||
                       (op->resv && resv_db_put_reservation(db, &op->row))
                   ? -EIO : 0;
    }
    return -EINVAL;
}

/* Adds (sign +1) or takes out (-1) an allocation's capacity: in the
 * index, and in its reservation's allocated part and list. 0 or -ENOMEM
 * (nothing changed). */
static int
resv_engine_alloc_attach(struct resv_allocation *a, int sign)
{
    struct resv_reservation *r = a->reservation;
    int ret;

    if (!r) {
        return resv_index_apply(&a->zone->index, RESV_INDEX_FREE_ALLOC,
                                a->start, a->end, &a->capacity, sign);
    }
    ret = resv_index_apply(&r->zone->index, RESV_INDEX_RESV_ALLOC, r->start,
                           r->end, &a->capacity, sign);
    if (ret) {
        return ret;
    }
    if (sign > 0) {
        capvec_add(r->allocated, r->allocated, &a->capacity);
        a->next = r->allocations;
        r->allocations = a;
        a->listed = true;
    } else {
        struct resv_allocation **p = &r->allocations;

        capvec_sub(r->allocated, r->allocated, &a->capacity);
        while (*p != a) {
            p = &(*p)->next;
        }
        *p = a->next;
        a->next = NULL;
        a->listed = false;
    }
    return 0;
}

/* Puts an allocation into (or out of) the map and its zone's count. 0 or
 * -ENOMEM. */
static int
resv_engine_alloc_map(struct resv_engine *e, struct resv_allocation *a,
                      bool link)
{
    if (link) {
        if (idmap_put(&e->allocations, a)) {
            return -ENOMEM;
        }
        a->zone->allocations++;
    } else {
        idmap_remove(&e->allocations, a->id);
        a->zone->allocations--;
    }
    a->linked = link;
    return 0;
}

/* Links an allocation back (undo): both halves, or abort. */
static void
resv_engine_alloc_link(struct resv_engine *e, struct resv_allocation *a,
                       bool link)
{
    resv_engine_must(resv_engine_alloc_attach(a, link ? 1 : -1),
                     "move an allocation");
    resv_engine_must(resv_engine_alloc_map(e, a, link), "map an allocation");
}

/* Gives a reservation's allocations its window. */
static void
resv_engine_sync_allocs(struct resv_reservation *r)
{
    for (struct resv_allocation *a = r->allocations; a; a = a->next) {
        a->start = r->start;
        a->end = r->end;
    }
}

/* Restores a reservation to 's' (index included) and reschedules it. */
static void
resv_engine_restore(struct resv_engine *e, struct resv_reservation *r,
                    const struct resv_saved *s)
{
    resv_engine_must(resv_engine_hold(r, -1), "undo a change");
    if (r->name != s->name) {
        free(r->name);
    }
    r->status = s->status;
    r->expired = s->expired;
    r->start = s->start;
    r->end = s->end;
    r->expiry = s->expiry;
    r->updated = s->updated;
    r->capacity = s->capacity;
    r->name = s->name;
    resv_engine_must(resv_engine_hold(r, 1), "undo a change");
    resv_engine_sync_allocs(r);
    resv_engine_schedule(e, r);
}

static void
resv_op_undo(struct resv_batch_op *base)
{
    struct resv_op *op = (struct resv_op *) base;
    struct resv_engine *e = op->engine;

    switch (op->kind) {
    case RESV_OP_POOL_CREATE:
    case RESV_OP_POOL_DELETE: {
        struct resv_pool *p = op->pool;
        bool link = op->kind == RESV_OP_POOL_DELETE;

        resv_engine_must(resv_index_apply(&p->zone->index, RESV_INDEX_SUPPLY,
                                          p->start, p->end, &p->capacity,
                                          link ? 1 : -1), "undo a pool");
        if (link) {
            resv_engine_must(idmap_put(&e->pools, p), "re-link a pool");
            p->zone->pools++;
        } else {
            idmap_remove(&e->pools, p->id);
            p->zone->pools--;
        }
        p->linked = link;
        break;
    }
    case RESV_OP_RESV_CREATE:
        resv_engine_unlink(e, op->resv);
        break;
    case RESV_OP_RESV_CHANGE:
        resv_engine_restore(e, op->resv, &op->saved);
        break;
    case RESV_OP_RESV_CLOSE:
        op->resv->status = op->saved.status;
        op->resv->updated = op->saved.updated;
        resv_engine_relink(e, op->resv);
        break;
    case RESV_OP_ALLOC_CREATE:
        resv_engine_alloc_link(e, op->alloc, false);
        break;
    case RESV_OP_ALLOC_DELETE:
        resv_engine_alloc_link(e, op->alloc, true);
        break;
    }
}

/* Frees an op, or keeps it for reuse. */
static void
resv_op_release(struct resv_engine *e, struct resv_op *op)
{
    if (!op) {
        return;
    }
    if (e->spare_count < RESV_ENGINE_SPARE_OPS) {
        op->next_free = e->spare_ops;
        e->spare_ops = op;
        e->spare_count++;
        return;
    }
    free(op);
}

static void
resv_op_finish(struct resv_batch_op *base, int status)
{
    struct resv_op *op = (struct resv_op *) base;
    struct resv_engine *e = op->engine;

    if (!status) {
        switch (op->kind) {
        case RESV_OP_POOL_CREATE:
            op->pool->committed = true;
            break;
        case RESV_OP_RESV_CREATE:
            op->resv->committed = true;
            resv_engine_schedule(e, op->resv);
            break;
        case RESV_OP_RESV_CHANGE:
            /* The old name is no longer needed for an undo. Only the op
             * that replaced it frees it: an earlier change without a name
             * saved the same pointer. */
            if (op->renamed) {
                free(op->saved.name);
            }
            break;
        case RESV_OP_ALLOC_CREATE:
            op->alloc->committed = true;
            break;
        default:
            break;
        }
        if (op->event >= 0) {
            metrics_counter_add(e->c_events[op->event], 1);
            if (e->o.on_event) {
                e->o.on_event((enum resv_event_type) op->event, &op->row,
                              &op->released, e->o.arg);
            }
        }
    } else {
        vlog_write_rl(&resv_engine_rl, VLOG_LEVEL_ERR, MOD,
                      "a group commit failed and was undone: %s",
                      resv_batch_last_error(e->batch));
    }
    if (op->done) {
        op->done(status, op->arg);
    }
    if (op->pool && --op->pool->ops == 0 && !op->pool->linked) {
        resv_engine_pool_free(op->pool);
    }
    if (op->alloc && --op->alloc->ops == 0 && !op->alloc->linked &&
        !op->alloc->listed) {
        resv_engine_alloc_free(op->alloc);
    }
    if (op->resv && --op->resv->ops == 0 && !op->resv->linked) {
        resv_engine_resv_free(e, op->resv);
    }
    resv_engine_update_gauges(e);
    resv_op_release(e, op);
}

static const struct resv_batch_op_class resv_op_class = {
    .write = resv_op_write,
    .undo = resv_op_undo,
    .finish = resv_op_finish,
};

static struct resv_op *
resv_op_new(struct resv_engine *e, enum resv_op_kind kind,
            resv_engine_done_fn *done, void *arg)
{
    struct resv_op *op = e->spare_ops;

    if (op) {
        e->spare_ops = op->next_free;
        e->spare_count--;
        memset(op, 0, sizeof *op);
    } else {
        op = calloc(1, sizeof *op);
        if (!op) {
            return NULL;
        }
    }
    op->base.class = &resv_op_class;
    op->kind = kind;
    op->engine = e;
    op->done = done;
    op->arg = arg;
    op->event = -1;
    return op;
}

/* Queues 'op' after taking references on its objects. */
static void
resv_op_queue(struct resv_engine *e, struct resv_op *op)
{
    if (op->pool) {
        op->pool->ops++;
    }
    if (op->resv) {
        op->resv->ops++;
    }
    if (op->alloc) {
        op->alloc->ops++;
    }
    resv_batch_add(e->batch, &op->base);
}

static int
resv_engine_writable(struct resv_engine *e, struct resv_engine_error *err)
{
    if (resv_batch_pending(e->batch) >= e->o.max_pending) {
        resv_engine_fail(err, "too many writes waiting for the disk (%zu); "
                         "try again", resv_batch_pending(e->batch));
        return -ENOBUFS;
    }
    return 0;
}

/* ---- conflicts and offers ------------------------------------------- */

static void
resv_engine_conflict(struct resv_engine *e, const struct resv_zone *z,
                     int64_t start, int64_t end, const struct capvec *req,
                     const struct resv_conflict *c, int64_t now,
                     struct resv_engine_error *err)
{
    char from[RESV_TIME_SIZE], to[RESV_TIME_SIZE];
    int64_t at;

    metrics_counter_add(e->c_conflicts, 1);
    if (!err) {
        return;
    }
    resv_engine_fail(err, "capacity.%s: requested %" PRId64 ", available %"
                     PRId64 " from %s to %s in zone '%s'",
                     capvec_key_name(c->key), c->requested, c->available,
                     resv_time_format(c->start, from, sizeof from),
                     resv_time_format(c->end, to, sizeof to), z->name);
    err->has_conflict = true;
    err->conflict = *c;
    err->has_offer = true;
    err->window_start = start;
    err->window_end = end;
    resv_index_largest(&z->index, start, end, &err->largest);
    if (resv_index_earliest(&z->index, start > now ? start : now,
                            end - start, req, now + e->o.max_future_start,
                            e->o.offer_max_jumps, &at) == 0) {
        err->has_earliest = true;
        err->earliest_start = at;
        err->earliest_end = at + (end - start);
    }
}

/* The timed check, counted in the latency histogram. */
static int
resv_engine_check(struct resv_engine *e, const struct resv_zone *z,
                  int64_t start, int64_t end, const struct capvec *req,
                  struct resv_conflict *c)
{
    int64_t t0 = vtime_mono_ns();
    int ret = resv_index_check(&z->index, start, end, req, c);

    metrics_histogram_observe(e->h_check,
                              (double) (vtime_mono_ns() - t0) / 1e9);
    return ret;
}

/* Applies the policy to a window: a start slightly in the past becomes
 * 'now', the duration and how far ahead are bounded. */
static int
resv_engine_window(struct resv_engine *e, int64_t now, int64_t *start,
                   int64_t *end, bool start_given,
                   struct resv_engine_error *err)
{
    if (*start < now) {
        if (start_given && now - *start > e->o.max_past_start) {
            resv_engine_fail(err, "start: %" PRId64 " s in the past (at most "
                             "%" PRId64 " s are taken as now)",
                             now - *start, e->o.max_past_start);
            return -EINVAL;
        }
        *start = now;
    }
    if (*end <= *start) {
        resv_engine_fail(err, "end: must be after start and in the future");
        return -EINVAL;
    }
    if (*end > RESV_TIME_MAX) {
        resv_engine_fail(err, "end: after 9999-12-31T23:59:59Z");
        return -EINVAL;
    }
    if (*end - *start > e->o.max_duration) {
        resv_engine_fail(err, "end: the reservation would last %" PRId64
                         " s, more than the maximum of %" PRId64 " s "
                         "([policy] max_duration)", *end - *start,
                         e->o.max_duration);
        return -EINVAL;
    }
    if (*start - now > e->o.max_future_start) {
        resv_engine_fail(err, "start: %" PRId64 " s ahead, more than the "
                         "maximum of %" PRId64 " s ([policy] "
                         "max_future_start)", *start - now,
                         e->o.max_future_start);
        return -EINVAL;
    }
    return 0;
}

/* ---- pools ----------------------------------------------------------- */

/* True when some count is negative: the pool takes capacity away. */
static bool
resv_engine_removes(const struct capvec *vec)
{
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        if (vec->v[k] < 0) {
            return true;
        }
    }
    return false;
}

int
resv_engine_pool_create(struct resv_engine *e,
                        const struct resv_pool_request *req,
                        struct resv_pool_record *out,
                        resv_engine_done_fn *done, void *arg,
                        struct resv_engine_error *err)
{
    struct resv_pool *p = NULL;
    struct resv_conflict c;
    struct resv_zone *z;
    struct resv_op *op = NULL;
    int ret;

    ret = resv_engine_writable(e, err);
    if (ret) {
        return ret;
    }
    if (e->pools.length >= e->o.max_pools) {
        resv_engine_fail(err, "at most %zu pools ([reservation] max_pools)",
                         e->o.max_pools);
        return -EDQUOT;
    }
    z = resv_engine_zone_get(e, req->zone, true, &ret);
    if (!z) {
        resv_engine_fail(err, ret == -EDQUOT ? "zone: at most %zu zones "
                         "([reservation] max_zones)" : "zone: out of memory",
                         e->o.max_zones);
        return ret;
    }
    if (resv_engine_zone_objects(z) >= (size_t) CAPVEC_MAX_OBJECTS) {
        resv_engine_fail(err, "zone: holds the most objects a zone may");
        return -EDQUOT;
    }
    p = calloc(1, sizeof *p);
    op = resv_op_new(e, RESV_OP_POOL_CREATE, done, arg);
    ret = -ENOMEM;
    if (!p || !op || resv_record_new_id(p->id)) {
        goto fail;
    }
    p->zone = z;
    p->name = resv_engine_strdup_or_null(req->name);
    if (req->name[0] && !p->name) {
        goto fail;
    }
    p->start = req->has_start ? req->start : RESV_TIME_MIN;
    p->end = req->has_end ? req->end : RESV_TIME_MAX;
    if (p->end <= p->start) {
        resv_engine_fail(err, "end: must be after start");
        ret = -EINVAL;
        goto fail;
    }
    p->capacity = req->capacity;
    p->created = resv_time_now();
    ret = resv_index_apply(&z->index, RESV_INDEX_SUPPLY, p->start, p->end,
                           &p->capacity, 1);
    if (ret) {
        goto fail;
    }
    if (!req->force && resv_engine_removes(&p->capacity) &&
        resv_index_overbooked(&z->index, p->start, p->end, &c)) {
        char from[RESV_TIME_SIZE], to[RESV_TIME_SIZE];

        resv_engine_must(resv_index_apply(&z->index, RESV_INDEX_SUPPLY,
                                          p->start, p->end, &p->capacity,
                                          -1), "undo a pool");
        resv_engine_fail(err, "capacity.%s: removing it would leave "
                         "bookings %" PRId64 " over capacity from %s to %s; "
                         "give \"force\": true to remove it anyway",
                         capvec_key_name(c.key), -c.available,
                         resv_time_format(c.start, from, sizeof from),
                         resv_time_format(c.end, to, sizeof to));
        if (err) {
            err->has_conflict = true;
            err->conflict = c;
        }
        ret = -EBUSY;
        goto fail;
    }
    if (idmap_put(&e->pools, p)) {
        resv_engine_must(resv_index_apply(&z->index, RESV_INDEX_SUPPLY,
                                          p->start, p->end, &p->capacity,
                                          -1), "undo a pool");
        ret = -ENOMEM;
        goto fail;
    }
    p->linked = true;
    z->pools++;
    op->pool = p;
    resv_engine_pool_snapshot(p, &op->pool_row);
    if (out) {
        *out = op->pool_row;
    }
    resv_op_queue(e, op);
    return 0;
fail:
    if (ret == -ENOMEM) {
        resv_engine_fail(err, "out of memory");
    }
    resv_engine_pool_free(p);
    resv_op_release(e, op);
    return ret;
}

int
resv_engine_pool_delete(struct resv_engine *e, const char *id, bool force,
                        resv_engine_done_fn *done, void *arg,
                        struct resv_engine_error *err)
{
    struct resv_pool *p = idmap_get(&e->pools, id);
    struct resv_conflict c;
    struct resv_op *op;
    int ret;

    if (!p || !p->committed) {
        resv_engine_fail(err, "no pool %s", id);
        return -ENOENT;
    }
    ret = resv_engine_writable(e, err);
    if (ret) {
        return ret;
    }
    op = resv_op_new(e, RESV_OP_POOL_DELETE, done, arg);
    if (!op) {
        resv_engine_fail(err, "out of memory");
        return -ENOMEM;
    }
    ret = resv_index_apply(&p->zone->index, RESV_INDEX_SUPPLY, p->start,
                           p->end, &p->capacity, -1);
    if (ret) {
        resv_op_release(e, op);
        resv_engine_fail(err, "out of memory");
        return ret;
    }
    if (!force && capvec_any_positive(&p->capacity) &&
        resv_index_overbooked(&p->zone->index, p->start, p->end, &c)) {
        char from[RESV_TIME_SIZE], to[RESV_TIME_SIZE];

        resv_engine_must(resv_index_apply(&p->zone->index, RESV_INDEX_SUPPLY,
                                          p->start, p->end, &p->capacity, 1),
                         "undo a pool deletion");
        resv_op_release(e, op);
        resv_engine_fail(err, "capacity.%s: deleting the pool would leave "
                         "bookings %" PRId64 " over capacity from %s to %s; "
                         "add ?force=true to delete it anyway",
                         capvec_key_name(c.key), -c.available,
                         resv_time_format(c.start, from, sizeof from),
                         resv_time_format(c.end, to, sizeof to));
        if (err) {
            err->has_conflict = true;
            err->conflict = c;
        }
        return -EBUSY;
    }
    idmap_remove(&e->pools, p->id);
    p->linked = false;
    p->zone->pools--;
    op->pool = p;
    resv_engine_pool_snapshot(p, &op->pool_row);
    resv_op_queue(e, op);
    return 0;
}

int
resv_engine_pool_get(struct resv_engine *e, const char *id,
                     struct resv_pool_record *out)
{
    struct resv_pool *p = idmap_get(&e->pools, id);

    if (!p || !p->committed) {
        return -ENOENT;
    }
    resv_engine_pool_snapshot(p, out);
    return 0;
}

int
resv_engine_pool_list(struct resv_engine *e, const char *zone,
                      resv_engine_pool_fn *fn, void *arg)
{
    struct resv_pool_record rec;
    struct resv_pool *p;
    size_t cursor = 0;
    int ret;

    while ((p = idmap_next(&e->pools, &cursor))) {
        if (!p->committed || (zone && strcmp(zone, p->zone->name))) {
            continue;
        }
        resv_engine_pool_snapshot(p, &rec);
        ret = fn(&rec, arg);
        if (ret) {
            return ret;
        }
    }
    return 0;
}

/* ---- reservations ------------------------------------------------------ */

/* The live, committed reservation 'id'; else -ENOENT, or -EALREADY when
 * the database knows it in a final state. */
static struct resv_reservation *
resv_engine_find_live(struct resv_engine *e, const char *id,
                      struct resv_engine_error *err, int *ret)
{
    struct resv_reservation *r = idmap_get(&e->reservations, id);
    struct resv_record rec;

    if (r && r->committed) {
        *ret = 0;
        return r;
    }
    if (!r && resv_db_get_reservation(e->o.db, id, &rec, NULL) == 0) {
        resv_engine_fail(err, "reservation %s is %s: only pending and "
                         "active reservations change", id,
                         resv_status_name(rec.status));
        *ret = -EALREADY;
        return NULL;
    }
    resv_engine_fail(err, "no reservation %s", id);
    *ret = -ENOENT;
    return NULL;
}

int
resv_engine_reserve(struct resv_engine *e,
                    const struct resv_reservation_request *req, bool dry_run,
                    struct resv_record *out, resv_engine_done_fn *done,
                    void *arg, struct resv_engine_error *err)
{
    int64_t now = resv_time_now(), start, end;
    struct resv_reservation *r = NULL;
    struct resv_op *op = NULL;
    struct resv_conflict c;
    struct resv_zone *z;
    int ret;

    z = resv_engine_zone(e, req->zone);
    if (!z) {
        resv_engine_fail(err, "zone: no zone '%s' (a zone exists once a pool "
                         "gives it capacity)", req->zone);
        return -ENOENT;
    }
    start = req->has_start ? req->start : now;
    end = req->has_end ? req->end
                       : (start < now ? now : start) + req->duration;
    ret = resv_engine_window(e, now, &start, &end, req->has_start, err);
    if (ret) {
        return ret;
    }
    if (req->has_expiry && req->expiry >= end - start) {
        resv_engine_fail(err, "expiry: must be shorter than the reservation "
                         "(%" PRId64 " s)", end - start);
        return -EINVAL;
    }
    if (!dry_run) {
        if (e->reservations.length >= e->o.max_reservations ||
            resv_engine_zone_objects(z) >= (size_t) CAPVEC_MAX_OBJECTS) {
            resv_engine_fail(err, "at most %zu pending and active "
                             "reservations ([reservation] max_reservations)",
                             e->o.max_reservations);
            return -EDQUOT;
        }
        ret = resv_engine_writable(e, err);
        if (ret) {
            return ret;
        }
    }
    if (resv_engine_check(e, z, start, end, &req->capacity, &c)) {
        resv_engine_conflict(e, z, start, end, &req->capacity, &c, now, err);
        return -EBUSY;
    }
    if (dry_run) {
        if (out) {
            memset(out, 0, sizeof *out);
            resv_record_copy_name(out->zone, z->name);
            resv_record_copy_name(out->project_id,
                                  req->has_project_id
                                      ? req->project_id
                                      : e->default_project_id);
            resv_record_copy_name(out->name, req->name);
            out->start = start;
            out->end = end;
            out->expiry = req->has_expiry ? req->expiry : 0;
            out->status = start <= now ? RESV_STATUS_ACTIVE
                                       : RESV_STATUS_PENDING;
            out->capacity = req->capacity;
            out->created = out->updated = now;
        }
        return 0;
    }

    ret = -ENOMEM;
    r = calloc(1, sizeof *r);
    op = resv_op_new(e, RESV_OP_RESV_CREATE, done, arg);
    if (!r || !op || resv_record_new_id(r->id)) {
        goto fail;
    }
    r->zone = z;
    r->project = resv_engine_project_ref(e, req->has_project_id
                                                ? req->project_id
                                                : e->default_project_id);
    r->name = resv_engine_strdup_or_null(req->name);
    if (!r->project || (req->name[0] && !r->name)) {
        goto fail;
    }
    r->start = start;
    r->end = end;
    r->expiry = req->has_expiry ? req->expiry : 0;
    r->created = r->updated = now;
    r->capacity = req->capacity;
    r->status = start <= now ? RESV_STATUS_ACTIVE : RESV_STATUS_PENDING;
    resv_lifecycle_item_init(&r->timer);
    if (idmap_put(&e->reservations, r)) {
        goto fail;
    }
    ret = resv_engine_hold(r, 1);
    if (ret) {
        idmap_remove(&e->reservations, r->id);
        goto fail;
    }
    r->linked = true;
    z->reservations++;
    op->resv = r;
    if (r->status == RESV_STATUS_ACTIVE) {
        op->event = RESV_EVENT_START;
    }
    resv_engine_snapshot(r, &op->row);
    if (out) {
        *out = op->row;
    }
    metrics_counter_add(e->c_bookings, 1);
    resv_op_queue(e, op);
    return 0;
fail:
    resv_engine_fail(err, "out of memory");
    resv_engine_resv_free(e, r);
    resv_op_release(e, op);
    return ret;
}

int
resv_engine_update(struct resv_engine *e, const char *id,
                   const struct resv_reservation_request *req,
                   struct resv_record *out, resv_engine_done_fn *done,
                   void *arg, struct resv_engine_error *err)
{
    int64_t now = resv_time_now(), start, end, expiry;
    struct resv_reservation *r;
    struct resv_op *op = NULL;
    struct resv_conflict c;
    struct capvec capacity;
    char *name = NULL;
    bool start_given;
    int ret;

    r = resv_engine_find_live(e, id, err, &ret);
    if (!r) {
        return ret;
    }
    ret = resv_engine_writable(e, err);
    if (ret) {
        return ret;
    }
    start = r->start;
    start_given = req->has_start && req->start != r->start;
    if (start_given) {
        if (r->status != RESV_STATUS_PENDING) {
            resv_engine_fail(err, "start: the reservation is active; its "
                             "start cannot change");
            return -EINVAL;
        }
        start = req->start;
    }
    end = req->has_end ? req->end
                       : req->has_duration ? (start < now ? now : start) +
                                                 req->duration
                                           : r->end;
    if (r->status == RESV_STATUS_ACTIVE) {
        /* The start of an active reservation is in the past: check the
         * rest of the window against the policy. */
        if (end <= now) {
            resv_engine_fail(err, "end: must be in the future");
            return -EINVAL;
        }
        if (end - start > e->o.max_duration) {
            resv_engine_fail(err, "end: the reservation would last %" PRId64
                             " s, more than the maximum of %" PRId64 " s "
                             "([policy] max_duration)", end - start,
                             e->o.max_duration);
            return -EINVAL;
        }
        if (end > RESV_TIME_MAX) {
            resv_engine_fail(err, "end: after 9999-12-31T23:59:59Z");
            return -EINVAL;
        }
    } else {
        ret = resv_engine_window(e, now, &start, &end, start_given, err);
        if (ret) {
            return ret;
        }
    }
    expiry = req->has_expiry ? req->expiry : r->expiry;
    if (req->has_expiry && r->expired) {
        resv_engine_fail(err, "expiry: already passed");
        return -EALREADY;
    }
    if (expiry && expiry >= end - start) {
        resv_engine_fail(err, "expiry: must be shorter than the reservation "
                         "(%" PRId64 " s)", end - start);
        return -EINVAL;
    }
    capacity = req->has_capacity ? req->capacity : r->capacity;
    if (r->allocated && !capvec_le(r->allocated, &capacity)) {
        for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
            if (r->allocated->v[k] > capacity.v[k]) {
                resv_engine_fail(err, "capacity.%s: %" PRId64 " is below "
                                 "the %" PRId64 " already allocated",
                                 capvec_key_name((enum capvec_key) k),
                                 capacity.v[k], r->allocated->v[k]);
                break;
            }
        }
        return -EALREADY;
    }
    if (req->has_name) {
        name = strdup(req->name);
        if (!name) {
            resv_engine_fail(err, "out of memory");
            return -ENOMEM;
        }
    }
    op = resv_op_new(e, RESV_OP_RESV_CHANGE, done, arg);
    if (!op) {
        free(name);
        resv_engine_fail(err, "out of memory");
        return -ENOMEM;
    }

    /* Atomically: give back the old hold, check the new one, and either
     * take it or take the old one back. */
    resv_engine_must(resv_engine_hold(r, -1), "release for an update");
    if (resv_engine_check(e, r->zone, start, end, &capacity, &c)) {
        resv_engine_must(resv_engine_hold(r, 1), "restore after a refused "
                         "update");
        resv_engine_conflict(e, r->zone, start, end, &capacity, &c, now,
                             err);
        free(name);
        resv_op_release(e, op);
        return -EBUSY;
    }
    resv_engine_save(r, &op->saved);
    r->start = start;
    r->end = end;
    r->expiry = expiry;
    r->capacity = capacity;
    if (name) {
        r->name = name;
        op->renamed = true;
    }
    r->updated = now;
    ret = resv_engine_hold(r, 1);
    if (ret) {
        /* Out of memory taking the new hold: put everything back. */
        r->start = op->saved.start;
        r->end = op->saved.end;
        r->expiry = op->saved.expiry;
        r->capacity = op->saved.capacity;
        r->name = op->saved.name;
        r->updated = op->saved.updated;
        resv_engine_must(resv_engine_hold(r, 1), "restore after a failed "
                         "update");
        free(name);
        resv_op_release(e, op);
        resv_engine_fail(err, "out of memory");
        return ret;
    }
    resv_engine_sync_allocs(r);
    resv_engine_schedule(e, r);
    op->resv = r;
    resv_engine_snapshot(r, &op->row);
    if (out) {
        *out = op->row;
    }
    metrics_counter_add(e->c_updates, 1);
    resv_op_queue(e, op);
    return 0;
}

/* Closes a live reservation with 'status' (cancelled, ended, expired):
 * out of memory and the index, allocations included. */
static int
resv_engine_close(struct resv_engine *e, struct resv_reservation *r,
                  enum resv_status status, enum resv_event_type event,
                  int64_t now, resv_engine_done_fn *done, void *arg,
                  struct resv_record *out)
{
    struct resv_op *op = resv_op_new(e, RESV_OP_RESV_CLOSE, done, arg);

    if (!op) {
        return -ENOMEM;
    }
    op->saved.status = r->status;
    op->saved.updated = r->updated;
    op->released = r->capacity;
    resv_engine_unlink(e, r);
    r->status = status;
    r->updated = now;
    op->resv = r;
    op->event = event;
    resv_engine_snapshot(r, &op->row);
    if (out) {
        *out = op->row;
    }
    resv_op_queue(e, op);
    return 0;
}

int
resv_engine_cancel(struct resv_engine *e, const char *id,
                   struct resv_record *out, resv_engine_done_fn *done,
                   void *arg, struct resv_engine_error *err)
{
    struct resv_reservation *r;
    int ret;

    r = resv_engine_find_live(e, id, err, &ret);
    if (!r) {
        return ret;
    }
    ret = resv_engine_writable(e, err);
    if (ret) {
        return ret;
    }
    ret = resv_engine_close(e, r, RESV_STATUS_CANCELLED, RESV_EVENT_CANCELLED,
                            resv_time_now(), done, arg, out);
    if (ret) {
        resv_engine_fail(err, "out of memory");
    }
    return ret;
}

/* A status or capacity change made by the lifecycle. */
static int
resv_engine_transition(struct resv_engine *e, struct resv_reservation *r,
                       enum resv_event_type event, int64_t now)
{
    struct resv_op *op = resv_op_new(e, RESV_OP_RESV_CHANGE, NULL, NULL);

    if (!op) {
        return -ENOMEM;
    }
    resv_engine_save(r, &op->saved);
    if (event == RESV_EVENT_START) {
        r->status = RESV_STATUS_ACTIVE;
    } else {
        /* Partial expiry: keep what is allocated, give back the rest. */
        struct capvec keep = *r->allocated;
        int ret;

        resv_engine_must(resv_engine_hold(r, -1), "release at expiry");
        capvec_sub(&op->released, &r->capacity, &keep);
        r->capacity = keep;
        r->expired = true;
        ret = resv_engine_hold(r, 1);
        if (ret) {
            r->capacity = op->saved.capacity;
            r->expired = false;
            resv_engine_must(resv_engine_hold(r, 1), "restore at expiry");
            resv_op_release(e, op);
            return ret;
        }
    }
    r->updated = now;
    op->resv = r;
    op->event = event;
    resv_engine_snapshot(r, &op->row);
    resv_op_queue(e, op);
    return 0;
}

static void
resv_engine_fire(struct resv_lifecycle_item *item, int64_t now, void *arg)
{
    struct resv_reservation *r = (struct resv_reservation *)
        ((char *) item - offsetof(struct resv_reservation, timer));
    struct resv_engine *e = arg;
    int ret = 0;

    if (r->status == RESV_STATUS_PENDING && now >= r->start) {
        ret = resv_engine_transition(e, r, RESV_EVENT_START, now);
    } else if (r->status == RESV_STATUS_ACTIVE && r->expiry && !r->expired &&
               now >= r->start + r->expiry && r->start + r->expiry < r->end) {
        if (!r->allocated || capvec_is_zero(r->allocated)) {
            ret = resv_engine_close(e, r, RESV_STATUS_EXPIRED,
                                    RESV_EVENT_EXPIRED, now, NULL, NULL,
                                    NULL);
        } else {
            ret = resv_engine_transition(e, r, RESV_EVENT_EXPIRED, now);
        }
    } else if (r->status == RESV_STATUS_ACTIVE && now >= r->end) {
        ret = resv_engine_close(e, r, RESV_STATUS_ENDED, RESV_EVENT_END, now,
                                NULL, NULL, NULL);
    }
    if (ret) {
        vlog_write_rl(&resv_engine_rl, VLOG_LEVEL_ERR, MOD,
                      "out of memory in the lifecycle of %s; retrying in "
                      "1 s", r->id);
        if (resv_lifecycle_set(e->lifecycle, &r->timer, now + 1)) {
            vlog_write_rl(&resv_engine_rl, VLOG_LEVEL_ERR, MOD,
                          "reservation %s lost its lifecycle timer", r->id);
        }
        return;
    }
    if (r->linked) {
        resv_engine_schedule(e, r);
    }
}

size_t
resv_engine_run(struct resv_engine *e, int64_t now)
{
    return resv_lifecycle_run(e->lifecycle, now);
}

/* ---- allocations ------------------------------------------------------- */

int
resv_engine_allocate(struct resv_engine *e,
                     const struct resv_alloc_request *req,
                     struct resv_alloc_record *out,
                     resv_engine_done_fn *done, void *arg,
                     struct resv_engine_error *err)
{
    int64_t now = resv_time_now();
    struct resv_reservation *r = NULL;
    struct resv_allocation *a = NULL;
    struct resv_op *op = NULL;
    struct resv_conflict c;
    struct resv_zone *z;
    int ret;

    ret = resv_engine_writable(e, err);
    if (ret) {
        return ret;
    }
    if (e->allocations.length >= e->o.max_allocations) {
        resv_engine_fail(err, "at most %zu allocations ([reservation] "
                         "max_allocations)", e->o.max_allocations);
        return -EDQUOT;
    }
    if (req->has_reservation) {
        r = resv_engine_find_live(e, req->reservation_id, err, &ret);
        if (!r) {
            return ret;
        }
        if (req->has_zone && strcmp(req->zone, r->zone->name)) {
            resv_engine_fail(err, "zone: the reservation is in zone '%s'",
                             r->zone->name);
            return -EINVAL;
        }
        if (r->status != RESV_STATUS_ACTIVE) {
            char at[RESV_TIME_SIZE];

            resv_engine_fail(err, "reservation %s is pending: allocations "
                             "start at %s", r->id,
                             resv_time_format(r->start, at, sizeof at));
            return -EALREADY;
        }
        z = r->zone;
        for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
            int64_t left = r->capacity.v[k] -
                           (r->allocated ? r->allocated->v[k] : 0);

            if (req->capacity.v[k] > left) {
                char from[RESV_TIME_SIZE], to[RESV_TIME_SIZE];

                resv_engine_fail(err, "capacity.%s: requested %" PRId64
                                 ", the reservation has %" PRId64 " left "
                                 "from %s to %s",
                                 capvec_key_name((enum capvec_key) k),
                                 req->capacity.v[k], left,
                                 resv_time_format(r->start, from,
                                                  sizeof from),
                                 resv_time_format(r->end, to, sizeof to));
                if (err) {
                    err->has_conflict = true;
                    err->conflict.key = (enum capvec_key) k;
                    err->conflict.requested = req->capacity.v[k];
                    err->conflict.available = left;
                    err->conflict.start = r->start;
                    err->conflict.end = r->end;
                    err->has_offer = true;
                    err->window_start = r->start;
                    err->window_end = r->end;
                    capvec_sub(&err->largest, &r->capacity,
                               r->allocated ? r->allocated
                                            : &(struct capvec) { { 0 } });
                }
                metrics_counter_add(e->c_conflicts, 1);
                return -EBUSY;
            }
        }
    } else {
        int64_t start = req->has_start ? req->start : now;
        int64_t end = req->has_end ? req->end : RESV_TIME_MAX;

        z = resv_engine_zone(e, req->zone);
        if (!z) {
            resv_engine_fail(err, "zone: no zone '%s'", req->zone);
            return -ENOENT;
        }
        if (start < now) {
            start = now;
        }
        if (end <= start) {
            resv_engine_fail(err, "end: must be after start and in the "
                             "future");
            return -EINVAL;
        }
        if (resv_engine_check(e, z, start, end, &req->capacity, &c)) {
            resv_engine_conflict(e, z, start, end, &req->capacity, &c, now,
                                 err);
            return -EBUSY;
        }
        a = calloc(1, sizeof *a);
        if (a) {
            a->start = start;
            a->end = end;
        }
    }
    if (resv_engine_zone_objects(z) >= (size_t) CAPVEC_MAX_OBJECTS) {
        free(a);
        resv_engine_fail(err, "zone: holds the most objects a zone may");
        return -EDQUOT;
    }
    if (r) {
        a = calloc(1, sizeof *a);
        if (a) {
            a->start = r->start;
            a->end = r->end;
        }
    }
    ret = -ENOMEM;
    op = resv_op_new(e, RESV_OP_ALLOC_CREATE, done, arg);
    if (!a || !op || resv_record_new_id(a->id)) {
        goto fail;
    }
    a->instance = strdup(req->instance);
    if (!a->instance) {
        goto fail;
    }
    if (r && !r->allocated) {
        r->allocated = calloc(1, sizeof *r->allocated);
        if (!r->allocated) {
            goto fail;
        }
    }
    a->zone = z;
    a->reservation = r;
    a->capacity = req->capacity;
    a->created = now;
    if (resv_engine_alloc_map(e, a, true)) {
        goto fail;
    }
    ret = resv_engine_alloc_attach(a, 1);
    if (ret) {
        resv_engine_alloc_map(e, a, false);
        goto fail;
    }
    op->alloc = a;
    op->resv = r;
    resv_engine_alloc_snapshot(a, &op->alloc_row);
    if (r) {
        r->updated = now;
        resv_engine_snapshot(r, &op->row);
    }
    if (out) {
        *out = op->alloc_row;
    }
    resv_op_queue(e, op);
    return 0;
fail:
    resv_engine_fail(err, "out of memory");
    resv_engine_alloc_free(a);
    resv_op_release(e, op);
    return ret;
}

int
resv_engine_release(struct resv_engine *e, const char *id,
                    resv_engine_done_fn *done, void *arg,
                    struct resv_engine_error *err)
{
    struct resv_allocation *a = idmap_get(&e->allocations, id);
    struct resv_op *op;
    int ret;

    if (!a || !a->committed) {
        resv_engine_fail(err, "no allocation %s", id);
        return -ENOENT;
    }
    ret = resv_engine_writable(e, err);
    if (ret) {
        return ret;
    }
    op = resv_op_new(e, RESV_OP_ALLOC_DELETE, done, arg);
    if (!op) {
        resv_engine_fail(err, "out of memory");
        return -ENOMEM;
    }
    op->alloc = a;
    op->resv = a->reservation;
    resv_engine_alloc_snapshot(a, &op->alloc_row);
    ret = resv_engine_alloc_attach(a, -1);
    if (ret) {
        resv_op_release(e, op);
        resv_engine_fail(err, "out of memory");
        return ret;
    }
    resv_engine_alloc_map(e, a, false);
    if (a->reservation) {
        a->reservation->updated = resv_time_now();
        resv_engine_snapshot(a->reservation, &op->row);
    }
    resv_op_queue(e, op);
    return 0;
}

int
resv_engine_allocation_get(struct resv_engine *e, const char *id,
                           struct resv_alloc_record *out)
{
    struct resv_allocation *a = idmap_get(&e->allocations, id);

    if (!a || !a->committed) {
        return -ENOENT;
    }
    resv_engine_alloc_snapshot(a, out);
    return 0;
}

int
resv_engine_allocation_list(struct resv_engine *e, const char *reservation_id,
                            const char *zone, resv_engine_alloc_fn *fn,
                            void *arg)
{
    struct resv_alloc_record rec;
    struct resv_allocation *a;
    size_t cursor = 0;
    int ret;

    while ((a = idmap_next(&e->allocations, &cursor))) {
        if (!a->committed || (zone && strcmp(zone, a->zone->name)) ||
            (reservation_id &&
             (!a->reservation ||
              strcmp(reservation_id, a->reservation->id)))) {
            continue;
        }
        resv_engine_alloc_snapshot(a, &rec);
        ret = fn(&rec, arg);
        if (ret) {
            return ret;
        }
    }
    return 0;
}

/* ---- capacity, zones, stats -------------------------------------------- */

int
resv_engine_capacity(struct resv_engine *e, const char *zone,
                     enum resv_index_view view, int64_t start, int64_t end,
                     size_t max_steps, struct resv_step **steps,
                     size_t *length, bool *truncated)
{
    struct resv_zone *z = resv_engine_zone(e, zone);

    if (!z) {
        return -ENOENT;
    }
    return resv_index_steps(&z->index, view, start, end, max_steps, steps,
                            length, truncated);
}

int
resv_engine_zone_list(struct resv_engine *e, resv_engine_zone_fn *fn,
                      void *arg)
{
    struct resv_zone *z;
    size_t cursor = 0;
    int ret;

    while ((z = idmap_next(&e->zones, &cursor))) {
        struct resv_zone_info info = {
            .name = z->name,
            .pools = z->pools,
            .reservations = z->reservations,
            .allocations = z->allocations,
        };

        ret = fn(&info, arg);
        if (ret) {
            return ret;
        }
    }
    return 0;
}

void
resv_engine_get_stats(const struct resv_engine *e,
                      struct resv_engine_stats *stats)
{
    struct resv_zone *z;
    size_t cursor = 0;

    memset(stats, 0, sizeof *stats);
    stats->zones = e->zones.length;
    stats->pools = e->pools.length;
    stats->reservations = e->reservations.length;
    stats->allocations = e->allocations.length;
    stats->pending_writes = resv_batch_pending(e->batch);
    stats->rebuild_ns = e->rebuild_ns;
    while ((z = idmap_next(&e->zones, &cursor))) {
        stats->index_boundaries += resv_index_length(&z->index);
    }
}

struct resv_db *
resv_engine_db(struct resv_engine *e)
{
    return e->o.db;
}

int
resv_engine_flush(struct resv_engine *e)
{
    return resv_batch_flush(e->batch);
}

/* ---- start-up: rebuild from the database ----------------------------- */

/* Zone name -> loader, while loading. */
struct resv_load_zone {
    char name[RESV_NAME_SIZE];
    struct resv_index_bulk bulk;
};

struct resv_load {
    struct resv_engine *engine;
    struct idmap zones;            /* of struct resv_load_zone */
    size_t skipped;
    int error;
};

static struct resv_zone *
resv_load_zone(struct resv_load *l, const char *name,
               struct resv_index_bulk **bulk)
{
    struct resv_load_zone *lz = idmap_get(&l->zones, name);
    struct resv_zone *z;
    int ret;

    z = resv_engine_zone_get(l->engine, name, true, &ret);
    if (!z) {
        l->error = ret;
        return NULL;
    }
    if (!lz) {
        lz = calloc(1, sizeof *lz);
        if (!lz) {
            l->error = -ENOMEM;
            return NULL;
        }
        resv_record_copy_name(lz->name, name);
        if (idmap_put(&l->zones, lz)) {
            free(lz);
            l->error = -ENOMEM;
            return NULL;
        }
    }
    *bulk = &lz->bulk;
    return z;
}

static int
resv_load_pool(const struct resv_pool_record *rec, void *arg)
{
    struct resv_load *l = arg;
    struct resv_index_bulk *bulk;
    struct resv_zone *z = resv_load_zone(l, rec->zone, &bulk);
    struct resv_pool *p;

    if (!z) {
        return l->error;
    }
    if (rec->end <= rec->start) {
        l->skipped++;
        return 0;
    }
    p = calloc(1, sizeof *p);
    if (!p) {
        return -ENOMEM;
    }
    memcpy(p->id, rec->id, sizeof p->id);
    p->zone = z;
    p->name = resv_engine_strdup_or_null(rec->name);
    p->start = rec->start;
    p->end = rec->end;
    p->created = rec->created;
    p->capacity = rec->capacity;
    p->committed = p->linked = true;
    if ((rec->name[0] && !p->name) ||
        resv_index_bulk_add(bulk, RESV_INDEX_SUPPLY, p->start, p->end,
                            &p->capacity) ||
        idmap_put(&l->engine->pools, p)) {
        resv_engine_pool_free(p);
        return -ENOMEM;
    }
    z->pools++;
    return 0;
}

static int
resv_load_reservation(const struct resv_record *rec, int64_t seq, void *arg)
{
    struct resv_load *l = arg;
    struct resv_engine *e = l->engine;
    struct resv_index_bulk *bulk;
    struct resv_reservation *r;
    struct resv_zone *z;

    (void) seq;
    if (rec->end <= rec->start ||
        !capvec_le(&rec->allocated, &rec->capacity)) {
        l->skipped++;
        return 0;
    }
    z = resv_load_zone(l, rec->zone, &bulk);
    if (!z) {
        return l->error;
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        return -ENOMEM;
    }
    memcpy(r->id, rec->id, sizeof r->id);
    r->zone = z;
    r->project = resv_engine_project_ref(e, rec->project_id[0]
                                                ? rec->project_id
                                                : e->default_project_id);
    r->name = resv_engine_strdup_or_null(rec->name);
    r->start = rec->start;
    r->end = rec->end;
    r->expiry = rec->expiry;
    r->expired = rec->expired;
    r->status = (uint8_t) rec->status;
    r->created = rec->created;
    r->updated = rec->updated;
    r->capacity = rec->capacity;
    r->committed = r->linked = true;
    resv_lifecycle_item_init(&r->timer);
    if (!r->project || (rec->name[0] && !r->name) ||
        resv_index_bulk_add(bulk, RESV_INDEX_RESERVED, r->start, r->end,
                            &r->capacity) ||
        idmap_put(&e->reservations, r)) {
        resv_engine_resv_free(e, r);
        return -ENOMEM;
    }
    z->reservations++;
    /* The allocated part is rebuilt from the allocations themselves. */
    return 0;
}

static int
resv_load_allocation(const struct resv_alloc_record *rec, void *arg)
{
    struct resv_load *l = arg;
    struct resv_engine *e = l->engine;
    struct resv_reservation *r = NULL;
    struct resv_index_bulk *bulk;
    struct resv_allocation *a;
    struct resv_zone *z;

    if (rec->reservation_id[0]) {
        r = idmap_get(&e->reservations, rec->reservation_id);
        if (!r) {
            /* Its reservation is over: nothing left to consume. */
            l->skipped++;
            return 0;
        }
    } else if (rec->end <= rec->start) {
        l->skipped++;
        return 0;
    }
    z = resv_load_zone(l, r ? r->zone->name : rec->zone, &bulk);
    if (!z) {
        return l->error;
    }
    a = calloc(1, sizeof *a);
    if (!a) {
        return -ENOMEM;
    }
    memcpy(a->id, rec->id, sizeof a->id);
    a->zone = z;
    a->reservation = r;
    a->instance = strdup(rec->instance);
    a->start = r ? r->start : rec->start;
    a->end = r ? r->end : rec->end;
    a->created = rec->created;
    a->capacity = rec->capacity;
    a->committed = a->linked = true;
    if (r && !r->allocated) {
        r->allocated = calloc(1, sizeof *r->allocated);
    }
    if (!a->instance || (r && !r->allocated) ||
        resv_index_bulk_add(bulk, r ? RESV_INDEX_RESV_ALLOC
                                    : RESV_INDEX_FREE_ALLOC,
                            a->start, a->end, &a->capacity) ||
        idmap_put(&e->allocations, a)) {
        resv_engine_alloc_free(a);
        return -ENOMEM;
    }
    if (r) {
        capvec_add(r->allocated, r->allocated, &a->capacity);
        a->next = r->allocations;
        r->allocations = a;
        a->listed = true;
    }
    z->allocations++;
    return 0;
}

static int
resv_engine_load(struct resv_engine *e, struct resv_engine_error *err)
{
    struct resv_load l = { .engine = e };
    struct resv_load_zone *lz;
    struct resv_reservation *r;
    int64_t t0 = vtime_mono_ns();
    size_t cursor = 0;
    int ret;

    idmap_init(&l.zones, offsetof(struct resv_load_zone, name));
    ret = resv_db_load_pools(e->o.db, resv_load_pool, &l);
    if (!ret) {
        ret = resv_db_load_reservations(e->o.db, true, resv_load_reservation,
                                        &l);
    }
    if (!ret) {
        ret = resv_db_load_allocations(e->o.db, resv_load_allocation, &l);
    }
    if (ret) {
        resv_engine_fail(err, "cannot load the database: %s",
                         ret == -EIO ? resv_db_error(e->o.db)
                                     : strerror(-ret));
        goto out;
    }
    while ((lz = idmap_next(&l.zones, &cursor))) {
        struct resv_zone *z = resv_engine_zone(e, lz->name);

        ret = resv_index_bulk_build(&lz->bulk, &z->index);
        if (ret) {
            resv_engine_fail(err, "cannot build the index of zone '%s': %s",
                             lz->name, strerror(-ret));
            goto out;
        }
    }
    cursor = 0;
    while ((r = idmap_next(&e->reservations, &cursor))) {
        /* A reservation whose allocations exceed it cannot be rebuilt. */
        if (r->allocated && !capvec_le(r->allocated, &r->capacity)) {
            VLOG_WARN(MOD, "reservation %s: its allocations exceed its "
                      "capacity; keeping them", r->id);
        }
        resv_engine_schedule(e, r);
    }
    if (l.skipped) {
        VLOG_WARN(MOD, "%zu inconsistent or finished rows skipped while "
                  "loading", l.skipped);
    }
    e->rebuild_ns = vtime_mono_ns() - t0;
    ret = 0;
out:
    cursor = 0;
    while ((lz = idmap_next(&l.zones, &cursor))) {
        resv_index_bulk_clear(&lz->bulk);
        free(lz);
    }
    idmap_clear(&l.zones);
    return ret;
}

static void
resv_engine_register_metrics(struct resv_engine *e)
{
    struct metrics_registry *m = e->o.metrics;

    if (!m) {
        return;
    }
    e->g_reservations = metrics_gauge_new(
        m, "vigil_reservation_reservations",
        "Pending and active reservations held", NULL);
    e->g_pools = metrics_gauge_new(m, "vigil_reservation_pools",
                                   "Capacity pools", NULL);
    e->g_allocations = metrics_gauge_new(m, "vigil_reservation_allocations",
                                         "Allocations held", NULL);
    e->g_zones = metrics_gauge_new(m, "vigil_reservation_zones",
                                   "Zones", NULL);
    e->g_rebuild_ms = metrics_gauge_new(
        m, "vigil_reservation_rebuild_milliseconds",
        "Time taken at start to load the database and build the indexes",
        NULL);
    e->c_bookings = metrics_counter_new(
        m, "vigil_reservation_bookings_total",
        "Reservations booked (queued for commit)", NULL);
    e->c_conflicts = metrics_counter_new(
        m, "vigil_reservation_conflicts_total",
        "Requests refused for lack of capacity (409)", NULL);
    e->c_updates = metrics_counter_new(
        m, "vigil_reservation_updates_total",
        "Reservations changed by PATCH", NULL);
    for (int t = 0; t < RESV_EVENT_COUNT; t++) {
        char labels[64];

        snprintf(labels, sizeof labels, "type=\"%s\"",
                 resv_event_type_name((enum resv_event_type) t));
        e->c_events[t] = metrics_counter_new(
            m, "vigil_reservation_events_total",
            "Lifecycle events committed, by type", labels);
    }
    e->h_check = metrics_histogram_new(
        m, "vigil_reservation_check_seconds",
        "Time of one capacity check against a zone's index", NULL,
        resv_engine_check_bounds,
        sizeof resv_engine_check_bounds / sizeof resv_engine_check_bounds[0]);
}

int
resv_engine_new(const struct resv_engine_options *o,
                struct resv_engine **out, struct resv_engine_error *err)
{
    struct resv_engine *e = calloc(1, sizeof *e);
    int ret = -ENOMEM;

    if (!e) {
        resv_engine_fail(err, "out of memory");
        return -ENOMEM;
    }
    if (!o->db || resv_request_check_name(o->default_project_id
                                              ? o->default_project_id
                                              : "",
                                          "default_project_id", err->message,
                                          sizeof err->message)) {
        if (!o->db) {
            resv_engine_fail(err, "no database");
        }
        free(e);
        return -EINVAL;
    }
    e->o = *o;
    resv_record_copy_name(e->default_project_id, o->default_project_id);
    e->o.default_project_id = e->default_project_id;
    idmap_init(&e->zones, offsetof(struct resv_zone, name));
    idmap_init(&e->pools, offsetof(struct resv_pool, id));
    idmap_init(&e->reservations, offsetof(struct resv_reservation, id));
    idmap_init(&e->allocations, offsetof(struct resv_allocation, id));
    idmap_init(&e->projects, offsetof(struct resv_project, name));
    resv_engine_register_metrics(e);
    e->batch = resv_batch_new(&(struct resv_batch_options) {
        .base = o->base,
        .db = o->db,
        .writer = o->write_db,
        .max_ops = o->batch_max_ops,
        .metrics = o->metrics,
    });
    e->lifecycle = resv_lifecycle_new(o->base, o->lifecycle_max_per_turn,
                                      resv_engine_fire, e);
    if (!e->batch || !e->lifecycle) {
        resv_engine_fail(err, "out of memory");
        goto out;
    }
    ret = resv_engine_load(e, err);
    if (ret) {
        goto out;
    }
    resv_engine_update_gauges(e);
    metrics_gauge_set(e->g_zones, (int64_t) e->zones.length);
    metrics_gauge_set(e->g_rebuild_ms, e->rebuild_ns / 1000000);
    *out = e;
    e = NULL;
out:
    resv_engine_free(e);
    return ret;
}

void
resv_engine_free(struct resv_engine *e)
{
    struct resv_reservation *r;
    struct resv_allocation *a;
    struct resv_zone *z;
    struct resv_pool *p;
    size_t cursor = 0;

    if (!e) {
        return;
    }
    if (e->batch) {
        resv_batch_flush(e->batch);
    }
    resv_batch_free(e->batch);
    resv_lifecycle_free(e->lifecycle);
    while ((a = idmap_next(&e->allocations, &cursor))) {
        if (!a->reservation) {
            resv_engine_alloc_free(a);
        }
    }
    cursor = 0;
    while ((r = idmap_next(&e->reservations, &cursor))) {
        resv_engine_resv_free(e, r);
    }
    cursor = 0;
    while ((p = idmap_next(&e->pools, &cursor))) {
        resv_engine_pool_free(p);
    }
    cursor = 0;
    while ((z = idmap_next(&e->zones, &cursor))) {
        resv_index_clear(&z->index);
        free(z);
    }
    while (e->spare_ops) {
        struct resv_op *next = e->spare_ops->next_free;

        free(e->spare_ops);
        e->spare_ops = next;
    }
    idmap_clear(&e->allocations);
    idmap_clear(&e->reservations);
    idmap_clear(&e->pools);
    idmap_clear(&e->zones);
    idmap_clear(&e->projects);
    free(e);
}
