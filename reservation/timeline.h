/* timeline: a step function of time held as deltas at time boundaries,
 * answering "the maximum (or minimum) over a window" in O(log n).
 *
 * The function's value at time t is the sum of every delta at a boundary
 * <= t: adding 'v' over [start, end) is +v at start and -v at end. One
 * timeline holds one resource key of one zone (resv_index.c combines
 * them). The boundaries live in a treap of chunks: each node holds up to
 * TIMELINE_CHUNK consecutive boundaries in a sorted array, and caches, for
 * its chunk and for its whole subtree, the sum of the deltas and the
 * largest and smallest prefix sum. So:
 *
 *   - adding a delta is O(log n) (plus moving at most TIMELINE_CHUNK
 *     entries inside one chunk);
 *   - the value at t, the maximum/minimum over [start, end), and the first
 *     time in a window where the value goes above (or back to at most) a
 *     threshold are O(log n): whole subtrees are answered by their cached
 *     aggregates, only two root-to-leaf paths are walked, and at most a few
 *     chunks are scanned;
 *   - a bulk load from sorted boundaries is O(n).
 *
 * Chunking keeps the memory near 16 bytes per boundary (a time and a
 * delta) instead of a tree node's worth. Times are seconds in
 * [TIMELINE_TIME_MIN, TIMELINE_TIME_MAX]; the caller keeps every prefix
 * sum within +/-2^62 (capvec.h bounds guarantee it).
 *
 * Not thread-safe: one timeline is used from one thread at a time. */
#ifndef VIGIL_RESERVATION_TIMELINE_H
#define VIGIL_RESERVATION_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIMELINE_CHUNK 64
#define TIMELINE_TIME_MIN (-(INT64_C(1) << 62))
#define TIMELINE_TIME_MAX (INT64_C(1) << 62)

struct timeline_node;

struct timeline_entry {
    int64_t time;
    int64_t delta;
};

/* An empty timeline is all zeros ({ 0 } or memset); timeline_clear()
 * empties one again. */
struct timeline {
    struct timeline_node *root;
    size_t length;                 /* boundaries held */
    size_t nodes;                  /* chunks */
    uint64_t seed;                 /* treap priorities */
};

/* Frees every boundary; 't' is empty afterwards. Accepts an empty one. */
void timeline_clear(struct timeline *t);

/* Adds 'delta' at boundary 'time' (a boundary whose delta sums to 0 is
 * removed). 0; -ERANGE for a time out of range; -ENOMEM, with 't'
 * unchanged. */
int timeline_add(struct timeline *t, int64_t time, int64_t delta);

/* Adds 'value' over [start, end): +value at start, -value at end. An
 * empty window (start == end) or a zero value changes nothing. 0;
 * -EINVAL when start > end; -ERANGE; -ENOMEM with 't' unchanged (if even
 * taking the first half back out runs out of memory, the process aborts
 * rather than keep a half-applied range). */
int timeline_add_range(struct timeline *t, int64_t start, int64_t end,
                       int64_t value);

/* The value at 'time': the sum of the deltas at boundaries <= time. */
int64_t timeline_value_at(const struct timeline *t, int64_t time);

/* The largest and smallest value over [start, end) (either pointer may be
 * NULL). 0, or -EINVAL for an empty window (start >= end). */
int timeline_range(const struct timeline *t, int64_t start, int64_t end,
                   int64_t *max, int64_t *min);

/* The first time in [start, end) at which the value is above 'threshold'
 * (true, '*at' set), or false when there is none. */
bool timeline_first_above(const struct timeline *t, int64_t start,
                          int64_t end, int64_t threshold, int64_t *at);

/* The first time in [start, end) at which the value is at most
 * 'threshold' (true, '*at' set), or false when there is none. */
bool timeline_first_at_or_below(const struct timeline *t, int64_t start,
                                int64_t end, int64_t threshold, int64_t *at);

/* Calls 'fn' for each boundary with start <= time < end, in time order,
 * until it returns non-zero, which is returned; 0 when all were visited.
 * 'fn' must not change 't'. */
typedef int timeline_walk_fn(int64_t time, int64_t delta, void *arg);
int timeline_walk(const struct timeline *t, int64_t start, int64_t end,
                  timeline_walk_fn *fn, void *arg);

/* Loads 'length' boundaries sorted by strictly increasing time, with
 * non-zero deltas, into the empty timeline 't' in O(length). 0; -EINVAL
 * when 't' is not empty or the entries are not as described; -ERANGE;
 * -ENOMEM with 't' still empty. */
int timeline_build(struct timeline *t, const struct timeline_entry *entries,
                   size_t length);

/* Sorts 'length' entries by time and merges equal times (dropping zero
 * sums) in place, ready for timeline_build(). Returns the new length. */
size_t timeline_normalize(struct timeline_entry *entries, size_t length);

/* Checks every invariant of the structure (order, chunk bounds, heap
 * order, cached aggregates, counts): 0, or -EUCLEAN when one is broken.
 * O(n); for tests. */
int timeline_verify(const struct timeline *t);

#endif
