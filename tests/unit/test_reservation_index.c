/* Unit tests of reservation/timeline.c and reservation/resv_index.c, the
 * interval index behind every capacity check: the boundaries (back-to-back
 * windows, zero-length windows, overlapping and negative pools, the far
 * future), conflicts and offers, step functions, the bulk load, and a
 * randomised comparison of every query against a brute-force model with
 * the tree's invariants checked after each change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "capvec.h"
#include "resv_index.h"
#include "timeline.h"

#define YEAR_9999_END INT64_C(253402300799)

static struct capvec
vec3(int64_t cores, int64_t ram, int64_t instances)
{
    struct capvec v;

    memset(&v, 0, sizeof v);
    v.v[CAPVEC_CORES] = cores;
    v.v[CAPVEC_RAM] = ram;
    v.v[CAPVEC_INSTANCES] = instances;
    return v;
}

/* ---- timeline ---------------------------------------------------------- */

static void
test_timeline_empty(void **state)
{
    struct timeline t = { 0 };
    int64_t max = 1, min = 1, at = 0;

    (void) state;
    assert_int_equal(timeline_value_at(&t, 0), 0);
    assert_int_equal(timeline_range(&t, -5, 5, &max, &min), 0);
    assert_int_equal(max, 0);
    assert_int_equal(min, 0);
    assert_false(timeline_first_above(&t, 0, 100, 0, &at));
    assert_true(timeline_first_at_or_below(&t, 0, 100, 0, &at));
    assert_int_equal(at, 0);
    assert_int_equal(timeline_verify(&t), 0);
    timeline_clear(&t);
}

static void
test_timeline_back_to_back(void **state)
{
    struct timeline t = { 0 };
    int64_t max, min, at;

    (void) state;
    /* [0, 10) and [10, 20) touch but never overlap: the end of one and
     * the start of the next cancel at the shared boundary. */
    assert_int_equal(timeline_add_range(&t, 0, 10, 5), 0);
    assert_int_equal(timeline_add_range(&t, 10, 20, 5), 0);
    assert_int_equal(t.length, 2);   /* 0: +5, 10: 0 dropped, 20: -5 */
    assert_int_equal(timeline_value_at(&t, -1), 0);
    assert_int_equal(timeline_value_at(&t, 0), 5);
    assert_int_equal(timeline_value_at(&t, 9), 5);
    assert_int_equal(timeline_value_at(&t, 10), 5);
    assert_int_equal(timeline_value_at(&t, 19), 5);
    assert_int_equal(timeline_value_at(&t, 20), 0);
    assert_int_equal(timeline_range(&t, 0, 20, &max, &min), 0);
    assert_int_equal(max, 5);
    assert_int_equal(min, 5);
    assert_int_equal(timeline_range(&t, 19, 21, &max, &min), 0);
    assert_int_equal(max, 5);
    assert_int_equal(min, 0);
    /* The window ends where the value changes: [20, 30) sees only 0. */
    assert_int_equal(timeline_range(&t, 20, 30, &max, &min), 0);
    assert_int_equal(max, 0);
    assert_false(timeline_first_above(&t, 20, 30, 0, &at));
    assert_true(timeline_first_above(&t, 15, 30, 4, &at));
    assert_int_equal(at, 15);
    assert_true(timeline_first_at_or_below(&t, 15, 30, 4, &at));
    assert_int_equal(at, 20);
    /* Window [-10, 0) ends just before the first boundary. */
    assert_false(timeline_first_above(&t, -10, 0, 0, &at));
    assert_int_equal(timeline_verify(&t), 0);
    timeline_clear(&t);
}

static void
test_timeline_zero_length(void **state)
{
    struct timeline t = { 0 };
    int64_t max = 7, at;

    (void) state;
    assert_int_equal(timeline_add_range(&t, 50, 50, 9), 0);
    assert_int_equal(t.length, 0);
    assert_null(t.root);
    assert_int_equal(timeline_add_range(&t, 10, 60, 3), 0);
    assert_int_equal(timeline_add_range(&t, 30, 30, 100), 0);
    assert_int_equal(timeline_value_at(&t, 30), 3);
    assert_int_equal(timeline_range(&t, 30, 30, &max, NULL), -EINVAL);
    assert_int_equal(max, 7);
    assert_false(timeline_first_above(&t, 30, 30, -100, &at));
    assert_int_equal(timeline_add_range(&t, 40, 39, 1), -EINVAL);
    /* Adding and removing the same range leaves nothing behind. */
    assert_int_equal(timeline_add_range(&t, 10, 60, -3), 0);
    assert_int_equal(t.length, 0);
    assert_null(t.root);
    timeline_clear(&t);
}

static void
test_timeline_far_future(void **state)
{
    struct timeline t = { 0 };
    int64_t max, at;

    (void) state;
    assert_int_equal(timeline_add_range(&t, YEAR_9999_END - 10,
                                        YEAR_9999_END, 2), 0);
    assert_int_equal(timeline_add_range(&t, TIMELINE_TIME_MAX - 1,
                                        TIMELINE_TIME_MAX, 4), 0);
    assert_int_equal(timeline_add_range(&t, TIMELINE_TIME_MIN,
                                        TIMELINE_TIME_MIN + 1, 8), 0);
    assert_int_equal(timeline_add_range(&t, 0, TIMELINE_TIME_MAX + 1, 1),
                     -ERANGE);
    assert_int_equal(timeline_add(&t, TIMELINE_TIME_MIN - 1, 1), -ERANGE);
    assert_int_equal(timeline_add(&t, INT64_MAX, 1), -ERANGE);
    assert_int_equal(timeline_value_at(&t, YEAR_9999_END - 1), 2);
    assert_int_equal(timeline_value_at(&t, YEAR_9999_END), 0);
    assert_int_equal(timeline_value_at(&t, TIMELINE_TIME_MAX - 1), 4);
    assert_int_equal(timeline_value_at(&t, TIMELINE_TIME_MAX), 0);
    assert_int_equal(timeline_value_at(&t, INT64_MAX), 0);
    assert_int_equal(timeline_value_at(&t, TIMELINE_TIME_MIN), 8);
    assert_int_equal(timeline_range(&t, 0, INT64_MAX, &max, NULL), 0);
    assert_int_equal(max, 4);
    assert_true(timeline_first_above(&t, 0, INT64_MAX, 3, &at));
    assert_int_equal(at, TIMELINE_TIME_MAX - 1);
    assert_true(timeline_first_at_or_below(&t, TIMELINE_TIME_MAX - 1,
                                           INT64_MAX, 0, &at));
    assert_int_equal(at, TIMELINE_TIME_MAX);
    assert_int_equal(timeline_verify(&t), 0);
    timeline_clear(&t);
}

/* ---- randomised comparison with a brute-force model ------------------- */

#define MODEL_SPAN 600          /* times in [0, MODEL_SPAN) */

struct model {
    int64_t delta[MODEL_SPAN];
};

static int64_t
model_value(const struct model *m, int64_t t)
{
    int64_t v = 0;

    for (int64_t i = 0; i <= t && i < MODEL_SPAN; i++) {
        v += m->delta[i];
    }
    return v;
}

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int64_t
rng_in(int64_t lo, int64_t hi)
{
    return lo + (int64_t) (rng() % (uint64_t) (hi - lo));
}

static void
check_against_model(const struct timeline *t, const struct model *m)
{
    int64_t values[MODEL_SPAN], v = 0;

    for (int i = 0; i < MODEL_SPAN; i++) {
        v += m->delta[i];
        values[i] = v;
    }
    for (int q = 0; q < 40; q++) {
        int64_t s = rng_in(0, MODEL_SPAN - 1), e = rng_in(s + 1, MODEL_SPAN);
        int64_t max = INT64_MIN, min = INT64_MAX, gmax, gmin, thr, at;
        int64_t want_above = -1, want_below = -1;

        for (int64_t i = s; i < e; i++) {
            max = values[i] > max ? values[i] : max;
            min = values[i] < min ? values[i] : min;
        }
        assert_int_equal(timeline_value_at(t, s), values[s]);
        assert_int_equal(timeline_range(t, s, e, &gmax, &gmin), 0);
        assert_int_equal(gmax, max);
        assert_int_equal(gmin, min);
        thr = rng_in(min - 1, max + 1);
        for (int64_t i = s; i < e; i++) {
            if (want_above < 0 && values[i] > thr) {
                want_above = i;
            }
            if (want_below < 0 && values[i] <= thr) {
                want_below = i;
            }
        }
        if (want_above >= 0) {
            assert_true(timeline_first_above(t, s, e, thr, &at));
            assert_int_equal(at, want_above);
        } else {
            assert_false(timeline_first_above(t, s, e, thr, &at));
        }
        if (want_below >= 0) {
            assert_true(timeline_first_at_or_below(t, s, e, thr, &at));
            assert_int_equal(at, want_below);
        } else {
            assert_false(timeline_first_at_or_below(t, s, e, thr, &at));
        }
    }
    assert_int_equal(model_value(m, MODEL_SPAN), values[MODEL_SPAN - 1]);
}

struct window {
    int64_t start, end, value;
};

static void
test_timeline_random_against_model(void **state)
{
    static struct model m;
    struct window held[400];
    struct timeline t = { 0 };
    size_t count = 0;

    (void) state;
    memset(&m, 0, sizeof m);
    for (int round = 0; round < 3000; round++) {
        bool remove = count == sizeof held / sizeof held[0] ||
                      (count && rng() % 3 == 0);

        if (remove) {
            size_t i = (size_t) rng_in(0, (int64_t) count);
            struct window w = held[i];

            held[i] = held[--count];
            assert_int_equal(timeline_add_range(&t, w.start, w.end,
                                                -w.value), 0);
            m.delta[w.start] -= w.value;
            m.delta[w.end] += w.value;
        } else {
            struct window w;

            w.start = rng_in(0, MODEL_SPAN - 1);
            w.end = rng_in(w.start, MODEL_SPAN);
            w.value = rng_in(-50, 100);
            assert_int_equal(timeline_add_range(&t, w.start, w.end,
                                                w.value), 0);
            if (w.start != w.end) {
                m.delta[w.start] += w.value;
                m.delta[w.end] -= w.value;
            }
            held[count++] = w;
        }
        assert_int_equal(timeline_verify(&t), 0);
        if (round % 50 == 0) {
            check_against_model(&t, &m);
        }
    }
    check_against_model(&t, &m);
    while (count) {
        struct window w = held[--count];

        assert_int_equal(timeline_add_range(&t, w.start, w.end, -w.value),
                         0);
    }
    assert_int_equal(t.length, 0);
    assert_int_equal(t.nodes, 0);
    assert_null(t.root);
    timeline_clear(&t);
}

/* Many boundaries: splits, deep trees, the bulk load. */
static void
test_timeline_bulk_equals_incremental(void **state)
{
    enum { N = 20000 };
    struct timeline_entry *entries = calloc(N, sizeof *entries);
    struct timeline inc = { 0 }, bulk = { 0 };
    size_t length;

    (void) state;
    assert_non_null(entries);
    for (size_t i = 0; i < N; i++) {
        entries[i].time = rng_in(0, 50000);
        entries[i].delta = rng_in(-5, 6);
        assert_int_equal(timeline_add(&inc, entries[i].time,
                                      entries[i].delta), 0);
    }
    length = timeline_normalize(entries, N);
    assert_int_equal(length, inc.length);
    assert_int_equal(timeline_build(&bulk, entries, length), 0);
    assert_int_equal(timeline_verify(&bulk), 0);
    assert_int_equal(timeline_verify(&inc), 0);
    assert_true(inc.nodes > 100);
    assert_int_equal(bulk.length, inc.length);
    for (int q = 0; q < 2000; q++) {
        int64_t s = rng_in(-10, 50010), e = rng_in(s + 1, 50020);
        int64_t a1, b1, a2, b2;

        assert_int_equal(timeline_value_at(&inc, s),
                         timeline_value_at(&bulk, s));
        assert_int_equal(timeline_range(&inc, s, e, &a1, &b1), 0);
        assert_int_equal(timeline_range(&bulk, s, e, &a2, &b2), 0);
        assert_int_equal(a1, a2);
        assert_int_equal(b1, b2);
    }
    /* Searches against a brute force over the sorted boundaries, with
     * thresholds around the values, so that subtrees are skipped at every
     * depth and the answers land anywhere. */
    for (int q = 0; q < 400; q++) {
        int64_t s = rng_in(-10, 50010), e = rng_in(s + 1, 50020);
        int64_t base = 0, v, thr, at, want_above = INT64_MIN;
        int64_t want_below = INT64_MIN;
        size_t i = 0;

        for (; i < length && entries[i].time <= s; i++) {
            base += entries[i].delta;
        }
        thr = base + rng_in(-40, 41);
        v = base;
        if (v > thr) {
            want_above = s;
        }
        if (v <= thr) {
            want_below = s;
        }
        for (; i < length && entries[i].time < e; i++) {
            v += entries[i].delta;
            if (want_above == INT64_MIN && v > thr) {
                want_above = entries[i].time;
            }
            if (want_below == INT64_MIN && v <= thr) {
                want_below = entries[i].time;
            }
        }
        if (want_above != INT64_MIN) {
            assert_true(timeline_first_above(&bulk, s, e, thr, &at));
            assert_int_equal(at, want_above);
        } else {
            assert_false(timeline_first_above(&bulk, s, e, thr, &at));
        }
        if (want_below != INT64_MIN) {
            assert_true(timeline_first_at_or_below(&inc, s, e, thr, &at));
            assert_int_equal(at, want_below);
        } else {
            assert_false(timeline_first_at_or_below(&inc, s, e, thr, &at));
        }
    }
    /* The bulk-loaded tree takes changes like any other. */
    for (size_t i = 0; i < length; i += 3) {
        assert_int_equal(timeline_add(&bulk, entries[i].time,
                                      -entries[i].delta), 0);
    }
    assert_int_equal(timeline_verify(&bulk), 0);
    /* Bad input to the bulk load. */
    assert_int_equal(timeline_build(&bulk, entries, length), -EINVAL);
    timeline_clear(&inc);
    entries[1].time = entries[0].time;
    assert_int_equal(timeline_build(&inc, entries, 2), -EINVAL);
    assert_null(inc.root);
    timeline_clear(&bulk);
    free(entries);
}

/* ---- the zone index ---------------------------------------------------- */

static void
test_index_overlapping_pools(void **state)
{
    struct resv_index idx;
    struct resv_conflict c;
    struct capvec pool_a = vec3(10, 1000, 5), pool_b = vec3(5, 500, 0);
    struct capvec req = vec3(12, 100, 0), largest;

    (void) state;
    memset(&idx, 0, sizeof idx);
    assert_int_equal(resv_index_apply(&idx, RESV_INDEX_SUPPLY, 0, 100,
                                      &pool_a, 1), 0);
    assert_int_equal(resv_index_apply(&idx, RESV_INDEX_SUPPLY, 50, 150,
                                      &pool_b, 1), 0);
    /* 15 cores only where both pools overlap: [50, 100). */
    assert_int_equal(resv_index_check(&idx, 60, 90, &req, &c), 0);
    assert_int_equal(resv_index_check(&idx, 50, 100, &req, &c), 0);
    assert_int_equal(resv_index_check(&idx, 40, 60, &req, &c), -ENOSPC);
    assert_int_equal(c.key, CAPVEC_CORES);
    assert_int_equal(c.requested, 12);
    assert_int_equal(c.available, 10);
    assert_int_equal(c.start, 40);
    assert_int_equal(c.end, 50);
    assert_int_equal(resv_index_check(&idx, 90, 101, &req, &c), -ENOSPC);
    assert_int_equal(c.start, 100);
    assert_int_equal(c.end, 101);
    assert_int_equal(c.available, 5);
    resv_index_largest(&idx, 40, 120, &largest);
    assert_int_equal(largest.v[CAPVEC_CORES], 5);
    assert_int_equal(largest.v[CAPVEC_RAM], 500);
    assert_int_equal(largest.v[CAPVEC_INSTANCES], 0);
    /* A hold of 12 in the overlap leaves 3 there and blocks a second. */
    assert_int_equal(resv_index_apply(&idx, RESV_INDEX_RESERVED, 60, 90,
                                      &req, 1), 0);
    assert_int_equal(resv_index_check(&idx, 80, 95, &req, &c), -ENOSPC);
    assert_int_equal(c.available, 3);
    assert_int_equal(c.start, 80);
    assert_int_equal(c.end, 90);
    resv_index_clear(&idx);
}

static void
test_index_negative_pool(void **state)
{
    struct resv_index idx;
    struct resv_conflict c;
    struct capvec pool = vec3(10, 0, 0), cut = vec3(-4, 0, 0);
    struct capvec req = vec3(8, 0, 0), hold = vec3(7, 0, 0);

    (void) state;
    memset(&idx, 0, sizeof idx);
    assert_int_equal(resv_index_apply(&idx, RESV_INDEX_SUPPLY, 0, 100,
                                      &pool, 1), 0);
    assert_int_equal(resv_index_apply(&idx, RESV_INDEX_SUPPLY, 20, 30,
                                      &cut, 1), 0);
    assert_int_equal(resv_index_check(&idx, 10, 40, &req, &c), -ENOSPC);
    assert_int_equal(c.available, 6);
    assert_int_equal(c.start, 20);
    assert_int_equal(c.end, 30);
    assert_int_equal(resv_index_check(&idx, 30, 40, &req, &c), 0);
    assert_int_equal(resv_index_overbooked(&idx, 0, 100, &c), 0);
    /* A hold made before more capacity is removed: overbooked there. */
    assert_int_equal(resv_index_apply(&idx, RESV_INDEX_RESERVED, 40, 60,
                                      &hold, 1), 0);
    assert_int_equal(resv_index_apply(&idx, RESV_INDEX_SUPPLY, 45, 50,
                                      &cut, 1), 0);
    assert_int_equal(resv_index_overbooked(&idx, 0, 100, &c), -ENOSPC);
    assert_int_equal(c.key, CAPVEC_CORES);
    assert_int_equal(c.available, -1);
    assert_int_equal(c.start, 45);
    assert_int_equal(c.end, 50);
    resv_index_clear(&idx);
}

static void
test_index_earliest_start(void **state)
{
    struct resv_index idx;
    struct capvec pool = vec3(10, 100, 0), big = vec3(8, 10, 0);
    struct capvec req = vec3(5, 10, 0), huge = vec3(11, 0, 0);
    int64_t at = -1;

    (void) state;
    memset(&idx, 0, sizeof idx);
    assert_int_equal(resv_index_apply(&idx, RESV_INDEX_SUPPLY, 0, 1000,
                                      &pool, 1), 0);
    assert_int_equal(resv_index_apply(&idx, RESV_INDEX_RESERVED, 100, 200,
                                      &big, 1), 0);
    assert_int_equal(resv_index_apply(&idx, RESV_INDEX_RESERVED, 230, 300,
                                      &big, 1), 0);
    /* 50 s needing 5 cores: [50, 100) fits just before the first hold. */
    assert_int_equal(resv_index_earliest(&idx, 50, 50, &req, 900, 100, &at),
                     0);
    assert_int_equal(at, 50);
    /* From 60 on, the gap [200, 230) is too short: 300 is the answer. */
    assert_int_equal(resv_index_earliest(&idx, 60, 50, &req, 900, 100, &at),
                     0);
    assert_int_equal(at, 300);
    /* A 30 s job from 80 on fits exactly into the gap (back-to-back with
     * the holds on both sides). */
    assert_int_equal(resv_index_earliest(&idx, 80, 30, &req, 900, 100, &at),
                     0);
    assert_int_equal(at, 200);
    /* Not before 'latest', not past the pool's end, not with too few jumps. */
    assert_int_equal(resv_index_earliest(&idx, 60, 50, &req, 250, 100, &at),
                     -ENOENT);
    assert_int_equal(resv_index_earliest(&idx, 960, 50, &req, 990, 100,
                                         &at), -ENOENT);
    assert_int_equal(resv_index_earliest(&idx, 0, 10, &huge, 900, 100, &at),
                     -ENOENT);
    assert_int_equal(resv_index_earliest(&idx, 60, 50, &req, 900, 1, &at),
                     -E2BIG);
    assert_int_equal(resv_index_earliest(&idx, 60, 0, &req, 900, 1, &at),
                     -EINVAL);
    resv_index_clear(&idx);
}

static void
test_index_steps(void **state)
{
    struct resv_index idx;
    struct capvec pool = vec3(10, 100, 4), hold = vec3(4, 40, 0);
    struct capvec free_alloc = vec3(1, 0, 1), resv_alloc = vec3(2, 20, 0);
    struct resv_step *steps = NULL;
    enum resv_index_view view;
    size_t length = 0;
    bool truncated = true;

    (void) state;
    memset(&idx, 0, sizeof idx);
    assert_int_equal(resv_index_apply(&idx, RESV_INDEX_SUPPLY, 0, 100,
                                      &pool, 1), 0);
    assert_int_equal(resv_index_apply(&idx, RESV_INDEX_RESERVED, 10, 20,
                                      &hold, 1), 0);
    assert_int_equal(resv_index_apply(&idx, RESV_INDEX_RESV_ALLOC, 10, 20,
                                      &resv_alloc, 1), 0);
    assert_int_equal(resv_index_apply(&idx, RESV_INDEX_FREE_ALLOC, 15, 30,
                                      &free_alloc, 1), 0);

    assert_int_equal(resv_index_steps(&idx, RESV_VIEW_AVAILABLE, 0, 50, 100,
                                      &steps, &length, &truncated), 0);
    assert_false(truncated);
    assert_int_equal(length, 5);
    assert_int_equal(steps[0].start, 0);
    assert_int_equal(steps[0].end, 10);
    assert_int_equal(steps[0].value.v[CAPVEC_CORES], 10);
    assert_int_equal(steps[1].end, 15);
    assert_int_equal(steps[1].value.v[CAPVEC_CORES], 6);
    assert_int_equal(steps[2].end, 20);
    assert_int_equal(steps[2].value.v[CAPVEC_CORES], 5);
    assert_int_equal(steps[2].value.v[CAPVEC_INSTANCES], 3);
    assert_int_equal(steps[3].start, 20);
    assert_int_equal(steps[3].end, 30);
    assert_int_equal(steps[3].value.v[CAPVEC_CORES], 9);
    assert_int_equal(steps[4].start, 30);
    assert_int_equal(steps[4].end, 50);
    assert_int_equal(steps[4].value.v[CAPVEC_CORES], 10);
    free(steps);

    assert_int_equal(resv_index_steps(&idx, RESV_VIEW_RESERVED, 0, 50, 100,
                                      &steps, &length, &truncated), 0);
    assert_int_equal(length, 3);
    assert_int_equal(steps[1].start, 10);
    assert_int_equal(steps[1].end, 20);
    assert_int_equal(steps[1].value.v[CAPVEC_CORES], 4);
    assert_int_equal(steps[1].value.v[CAPVEC_RAM], 40);
    assert_int_equal(steps[2].value.v[CAPVEC_CORES], 0);
    free(steps);

    assert_int_equal(resv_index_steps(&idx, RESV_VIEW_USED, 0, 50, 100,
                                      &steps, &length, &truncated), 0);
    assert_int_equal(length, 5);
    assert_int_equal(steps[1].value.v[CAPVEC_CORES], 2);
    assert_int_equal(steps[2].value.v[CAPVEC_CORES], 3);
    assert_int_equal(steps[3].value.v[CAPVEC_CORES], 1);
    assert_int_equal(steps[4].value.v[CAPVEC_CORES], 0);
    free(steps);

    assert_int_equal(resv_index_steps(&idx, RESV_VIEW_TOTAL, 50, 150, 100,
                                      &steps, &length, &truncated), 0);
    assert_int_equal(length, 2);
    assert_int_equal(steps[0].value.v[CAPVEC_CORES], 10);
    assert_int_equal(steps[1].start, 100);
    assert_int_equal(steps[1].end, 150);
    assert_int_equal(steps[1].value.v[CAPVEC_CORES], 0);
    free(steps);

    /* Truncation: two pieces asked, the answer stops where the third
     * would begin. */
    assert_int_equal(resv_index_steps(&idx, RESV_VIEW_AVAILABLE, 0, 50, 2,
                                      &steps, &length, &truncated), 0);
    assert_int_equal(length, 2);
    assert_true(truncated);
    assert_int_equal(steps[1].end, 15);
    free(steps);

    assert_int_equal(resv_index_steps(&idx, RESV_VIEW_TOTAL, 5, 5, 10,
                                      &steps, &length, &truncated), -EINVAL);
    assert_int_equal(resv_index_view_from_name("used", &view), 0);
    assert_int_equal(view, RESV_VIEW_USED);
    assert_int_equal(resv_index_view_from_name("free", &view), -EINVAL);
    resv_index_clear(&idx);
}

static void
test_index_many_reservations(void **state)
{
    enum { N = 50000 };
    struct resv_index idx;
    struct capvec pool = vec3(N, 0, 0), one = vec3(1, 0, 0);
    struct resv_conflict c;
    int64_t max;

    (void) state;
    memset(&idx, 0, sizeof idx);
    assert_int_equal(resv_index_apply(&idx, RESV_INDEX_SUPPLY, 0,
                                      YEAR_9999_END, &pool, 1), 0);
    for (int i = 0; i < N; i++) {
        int64_t s = rng_in(0, 1000000);

        assert_int_equal(resv_index_check(&idx, s, s + 3600, &one, &c), 0);
        assert_int_equal(resv_index_apply(&idx, RESV_INDEX_RESERVED, s,
                                          s + 3600, &one, 1), 0);
    }
    assert_int_equal(timeline_verify(&idx.net[CAPVEC_CORES]), 0);
    assert_int_equal(timeline_range(&idx.net[CAPVEC_CORES], 0, 2000000,
                                    &max, NULL), 0);
    assert_true(max <= 0);
    assert_true(resv_index_length(&idx) > (size_t) N);
    resv_index_clear(&idx);
    assert_int_equal(resv_index_length(&idx), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeline_empty),
        cmocka_unit_test(test_timeline_back_to_back),
        cmocka_unit_test(test_timeline_zero_length),
        cmocka_unit_test(test_timeline_far_future),
        cmocka_unit_test(test_timeline_random_against_model),
        cmocka_unit_test(test_timeline_bulk_equals_incremental),
        cmocka_unit_test(test_index_overlapping_pools),
        cmocka_unit_test(test_index_negative_pool),
        cmocka_unit_test(test_index_earliest_start),
        cmocka_unit_test(test_index_steps),
        cmocka_unit_test(test_index_many_reservations),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
