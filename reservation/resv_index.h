/* resv_index: the capacity index of one zone, built from timelines.
 *
 * For every resource key a zone keeps four timelines (timeline.h):
 *
 *   supply      the pools: capacity added (or, negative, removed) over
 *               their windows;
 *   free_alloc  allocations made without a reservation;
 *   resv_alloc  the allocated part of each reservation, over the
 *               reservation's window (already inside its hold);
 *   net         demand minus supply: reservations' holds plus free
 *               allocations minus the pools.
 *
 * A request for 'r' of a key fits over [start, end) iff the maximum of
 * 'net' over the window plus 'r' is <= 0, so a check is one O(log n)
 * search per requested key, whatever the number of reservations. The
 * other views are sums of these: total = supply, available = -net,
 * reserved = net + supply - free_alloc, used = free_alloc + resv_alloc.
 *
 * Not thread-safe; vigil-reservation uses it from its event loop only,
 * which is what makes check-then-hold atomic. */
#ifndef VIGIL_RESERVATION_RESV_INDEX_H
#define VIGIL_RESERVATION_RESV_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capvec.h"
#include "timeline.h"

enum resv_index_layer {
    RESV_INDEX_SUPPLY,        /* a pool */
    RESV_INDEX_RESERVED,      /* a reservation's hold */
    RESV_INDEX_FREE_ALLOC,    /* an allocation without a reservation */
    RESV_INDEX_RESV_ALLOC,    /* the allocated part of a reservation */
    RESV_INDEX_LAYER_COUNT
};

enum resv_index_view {
    RESV_VIEW_TOTAL,
    RESV_VIEW_RESERVED,
    RESV_VIEW_USED,
    RESV_VIEW_AVAILABLE,
    RESV_VIEW_COUNT
};

struct resv_index {
    struct timeline net[CAPVEC_KEY_COUNT];
    struct timeline supply[CAPVEC_KEY_COUNT];
    struct timeline free_alloc[CAPVEC_KEY_COUNT];
    struct timeline resv_alloc[CAPVEC_KEY_COUNT];
};

/* Why a request does not fit: the first key (in enum order) that lacks
 * capacity, and the first run of time in the window where it lacks it. */
struct resv_conflict {
    enum capvec_key key;
    int64_t requested;
    int64_t available;         /* least available during [start, end) */
    int64_t start, end;
};

/* One piece of a step function: 'value' holds over [start, end). */
struct resv_step {
    int64_t start, end;
    struct capvec value;
};

/* "total", "reserved", "used", "available"; and back (0 or -EINVAL). */
const char *resv_index_view_name(enum resv_index_view view);
int resv_index_view_from_name(const char *name, enum resv_index_view *view);

/* An empty index is all zeros; resv_index_clear() frees what it holds. */
void resv_index_clear(struct resv_index *idx);

/* Adds 'sign' (+1 or -1) times 'vec' over [start, end) to 'layer', and to
 * 'net' as the layer requires. All keys or none: 0, -EINVAL (start > end,
 * bad sign), -ERANGE, -ENOMEM. */
int resv_index_apply(struct resv_index *idx, enum resv_index_layer layer,
                     int64_t start, int64_t end, const struct capvec *vec,
                     int sign);

/* Whether 'request' (counts >= 0) fits over [start, end), start < end:
 * 0, or -ENOSPC with '*conflict' filled. */
int resv_index_check(const struct resv_index *idx, int64_t start,
                     int64_t end, const struct capvec *request,
                     struct resv_conflict *conflict);

/* Whether the zone is overbooked anywhere in [start, end) (demand above
 * supply for some key, e.g. after capacity was removed): 0, or -ENOSPC
 * with '*conflict' (requested 0, available negative: the excess). */
int resv_index_overbooked(const struct resv_index *idx, int64_t start,
                          int64_t end, struct resv_conflict *conflict);

/* The largest vector that fits over the whole of [start, end): for each
 * key the least available capacity in the window, at least 0. */
void resv_index_largest(const struct resv_index *idx, int64_t start,
                        int64_t end, struct capvec *out);

/* The earliest start s in [from, latest] such that 'request' fits over
 * [s, s + duration). It jumps from one run of time short of capacity to
 * the end of that run (O(log n) per requested key per jump) and gives up
 * after 'max_jumps' jumps. 0 with '*at'; -ENOENT when no start up to
 * 'latest' fits; -E2BIG when it gave up; -EINVAL for duration <= 0. */
int resv_index_earliest(const struct resv_index *idx, int64_t from,
                        int64_t duration, const struct capvec *request,
                        int64_t latest, unsigned int max_jumps, int64_t *at);

/* The step function of 'view' over [start, end) (start < end), adjacent
 * equal pieces merged, in at most 'max_steps' (>= 1) pieces: when the
 * window holds more, the answer stops early and '*truncated' is set (the
 * last piece's end says where). On success '*steps' (caller frees) holds
 * '*length' >= 1 pieces. 0, -EINVAL, -ENOMEM. */
int resv_index_steps(const struct resv_index *idx, enum resv_index_view view,
                     int64_t start, int64_t end, size_t max_steps,
                     struct resv_step **steps, size_t *length,
                     bool *truncated);

/* A bulk load (the rebuild at start): collect every pool, hold and
 * allocation with resv_index_bulk_add(), then resv_index_bulk_build()
 * sorts each timeline's boundaries and builds it in O(n) instead of n
 * inserts. An empty loader is all zeros. */
struct resv_index_bulk {
    struct timeline_entry *entries[4][CAPVEC_KEY_COUNT];
    size_t length[4][CAPVEC_KEY_COUNT];
    size_t capacity[4][CAPVEC_KEY_COUNT];
};

/* As resv_index_apply() with sign +1, into the loader. 0, -EINVAL
 * (start > end), -ERANGE, -ENOMEM. */
int resv_index_bulk_add(struct resv_index_bulk *bulk,
                        enum resv_index_layer layer, int64_t start,
                        int64_t end, const struct capvec *vec);

/* Builds the empty index 'idx' from the loader and empties the loader.
 * 0, -EINVAL (idx not empty), -ENOMEM (idx left empty). */
int resv_index_bulk_build(struct resv_index_bulk *bulk,
                          struct resv_index *idx);

/* Frees what the loader holds. */
void resv_index_bulk_clear(struct resv_index_bulk *bulk);

/* Boundaries held over every timeline (for metrics). */
size_t resv_index_length(const struct resv_index *idx);

#endif
