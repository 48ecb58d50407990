/* timeline: step functions as a treap of chunks of boundaries (see
 * timeline.h).
 *
 * Each node owns a sorted array of 1..2*TIMELINE_CHUNK entries (split in
 * two when it grows past TIMELINE_CHUNK; shrunk when it is mostly empty;
 * removed when empty). In-order, the chunks are disjoint and ascending.
 * A node caches the sum and the max/min prefix sums of its own chunk and
 * of its subtree (the prefixes run over the subtree's entries in time
 * order, starting from the subtree's first entry), plus the subtree's
 * first and last time, so that any window is answered from O(log n)
 * nodes. Priorities are random (xorshift), as a treap needs. */
#include "timeline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct timeline_node {
    /* Nodes are cache-line aligned, and what a search reads when it
     * passes or skips a whole subtree is in the first line; the chunk's
     * own fields are in the second, its entries elsewhere. */
    _Alignas(64) struct timeline_node *left;
    struct timeline_node *right;
    int64_t first, last;           /* subtree's first and last time */
    int64_t sum, max, min;         /* over the subtree */
    int64_t chunk_first;
    int64_t chunk_last;
    int64_t chunk_sum, chunk_max, chunk_min;
    struct timeline_entry *entries;
    uint32_t length, capacity;
    uint32_t priority;
};

/* Prefix aggregate of a run of entries: empty until something is added. */
struct timeline_agg {
    bool empty;
    int64_t sum, max, min;
};

#define TIMELINE_MIN_CAPACITY 4

static int64_t
timeline_max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int64_t
timeline_min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static uint32_t
timeline_random(struct timeline *t)
{
    uint64_t x = t->seed ? t->seed : UINT64_C(0x9e3779b97f4a7c15)
                                         ^ (uint64_t) (uintptr_t) t;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    t->seed = x;
    return (uint32_t) (x >> 32);
}

static void
timeline_agg_append(struct timeline_agg *a, int64_t sum, int64_t max,
                    int64_t min)
{
    if (a->empty) {
        a->empty = false;
        a->sum = sum;
        a->max = max;
        a->min = min;
        return;
    }
    a->max = timeline_max64(a->max, a->sum + max);
    a->min = timeline_min64(a->min, a->sum + min);
    a->sum += sum;
}

/* Recomputes the chunk aggregates of 'n' from its entries. */
static void
timeline_chunk_update(struct timeline_node *n)
{
    int64_t sum = 0, max = INT64_MIN, min = INT64_MAX;

    for (uint32_t i = 0; i < n->length; i++) {
        sum += n->entries[i].delta;
        max = timeline_max64(max, sum);
        min = timeline_min64(min, sum);
    }
    n->chunk_sum = sum;
    n->chunk_max = max;
    n->chunk_min = min;
    n->chunk_first = n->entries[0].time;
    n->chunk_last = n->entries[n->length - 1].time;
}

/* Recomputes the subtree aggregates of 'n' from its children. */
static void
timeline_update(struct timeline_node *n)
{
    struct timeline_agg a = { .empty = true };

    if (n->left) {
        timeline_agg_append(&a, n->left->sum, n->left->max, n->left->min);
    }
    timeline_agg_append(&a, n->chunk_sum, n->chunk_max, n->chunk_min);
    if (n->right) {
        timeline_agg_append(&a, n->right->sum, n->right->max,
                            n->right->min);
    }
    n->sum = a.sum;
    n->max = a.max;
    n->min = a.min;
    n->first = n->left ? n->left->first : n->chunk_first;
    n->last = n->right ? n->right->last : n->chunk_last;
}

static struct timeline_node *
timeline_rotate_right(struct timeline_node *x)
{
    struct timeline_node *y = x->left;

    x->left = y->right;
    y->right = x;
    timeline_update(x);
    timeline_update(y);
    return y;
}

static struct timeline_node *
timeline_rotate_left(struct timeline_node *x)
{
    struct timeline_node *y = x->right;

    x->right = y->left;
    y->left = x;
    timeline_update(x);
    timeline_update(y);
    return y;
}

/* Joins two treaps, every time in 'a' before every time in 'b'. */
static struct timeline_node *
timeline_merge(struct timeline_node *a, struct timeline_node *b)
{
    if (!a) {
        return b;
    }
    if (!b) {
        return a;
    }
    if (a->priority > b->priority) {
        a->right = timeline_merge(a->right, b);
        timeline_update(a);
        return a;
    }
    b->left = timeline_merge(a, b->left);
    timeline_update(b);
    return b;
}

/* Inserts the single node 'n' as the first in-order node of 'sub'. */
static struct timeline_node *
timeline_insert_first(struct timeline_node *sub, struct timeline_node *n)
{
    if (!sub) {
        timeline_update(n);
        return n;
    }
    sub->left = timeline_insert_first(sub->left, n);
    if (sub->left->priority > sub->priority) {
        return timeline_rotate_right(sub);
    }
    timeline_update(sub);
    return sub;
}

static void
timeline_node_free(struct timeline_node *n)
{
    if (n) {
        free(n->entries);
        free(n);
    }
}

static struct timeline_node *
timeline_node_new(struct timeline *t, uint32_t capacity)
{
    struct timeline_node *n = aligned_alloc(_Alignof(struct timeline_node),
                                            sizeof *n);

    if (!n) {
        return NULL;
    }
    memset(n, 0, sizeof *n);
    n->entries = malloc(capacity * sizeof *n->entries);
    if (!n->entries) {
        free(n);
        return NULL;
    }
    n->capacity = capacity;
    n->priority = timeline_random(t);
    return n;
}

/* First index in the chunk of 'n' whose time is >= 'time'. */
static uint32_t
timeline_lower_bound(const struct timeline_node *n, int64_t time)
{
    uint32_t lo = 0, hi = n->length;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (n->entries[mid].time < time) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Splits the upper half of the full chunk of 'n' into a new node and puts
 * it right after 'n'. Returns the subtree root replacing 'n'. On -ENOMEM
 * the chunk simply stays over-full (it has room: capacity is twice the
 * chunk size). */
static struct timeline_node *
timeline_split(struct timeline *t, struct timeline_node *n)
{
    uint32_t keep = n->length / 2, move = n->length - keep;
    struct timeline_node *upper = timeline_node_new(t, TIMELINE_CHUNK);

    if (!upper) {
        return n;
    }
    memcpy(upper->entries, n->entries + keep, move * sizeof *n->entries);
    upper->length = move;
    n->length = keep;
    timeline_chunk_update(upper);
    timeline_chunk_update(n);
    t->nodes++;
    n->right = timeline_insert_first(n->right, upper);
    if (n->right->priority > n->priority) {
        return timeline_rotate_left(n);
    }
    timeline_update(n);
    return n;
}

/* Adds 'delta' at 'time' inside the chunk of 'n'. Returns the subtree
 * root replacing 'n' (NULL when the node went away); '*ret' gets -ENOMEM
 * when nothing could be changed. */
static struct timeline_node *
timeline_add_here(struct timeline *t, struct timeline_node *n, int64_t time,
                  int64_t delta, int *ret)
{
    uint32_t i = timeline_lower_bound(n, time);

    if (i < n->length && n->entries[i].time == time) {
        n->entries[i].delta += delta;
        if (n->entries[i].delta == 0) {
            memmove(n->entries + i, n->entries + i + 1,
                    (n->length - i - 1) * sizeof *n->entries);
            n->length--;
            t->length--;
            if (n->length == 0) {
                struct timeline_node *rest = timeline_merge(n->left,
                                                            n->right);

                timeline_node_free(n);
                t->nodes--;
                return rest;
            }
            if (n->capacity > TIMELINE_MIN_CAPACITY &&
                n->length <= n->capacity / 4) {
                struct timeline_entry *smaller =
                    realloc(n->entries, n->capacity / 2 * sizeof *smaller);

                if (smaller) {
                    n->entries = smaller;
                    n->capacity /= 2;
                }
            }
        }
    } else {
        if (n->length == n->capacity) {
            uint32_t capacity = n->capacity * 2;
            struct timeline_entry *bigger =
                realloc(n->entries, capacity * sizeof *bigger);

            if (!bigger) {
                *ret = -ENOMEM;
                return n;
            }
            n->entries = bigger;
            n->capacity = capacity;
        }
        memmove(n->entries + i + 1, n->entries + i,
                (n->length - i) * sizeof *n->entries);
        n->entries[i].time = time;
        n->entries[i].delta = delta;
        n->length++;
        t->length++;
    }
    timeline_chunk_update(n);
    if (n->length > TIMELINE_CHUNK) {
        return timeline_split(t, n);
    }
    timeline_update(n);
    return n;
}

static struct timeline_node *
timeline_add_rec(struct timeline *t, struct timeline_node *n, int64_t time,
                 int64_t delta, int *ret)
{
    if (time < n->chunk_first && n->left) {
        n->left = timeline_add_rec(t, n->left, time, delta, ret);
        if (n->left && n->left->priority > n->priority) {
            return timeline_rotate_right(n);
        }
    } else if (time > n->chunk_last && n->right) {
        n->right = timeline_add_rec(t, n->right, time, delta, ret);
        if (n->right && n->right->priority > n->priority) {
            return timeline_rotate_left(n);
        }
    } else {
        return timeline_add_here(t, n, time, delta, ret);
    }
    timeline_update(n);
    return n;
}

int
timeline_add(struct timeline *t, int64_t time, int64_t delta)
{
    int ret = 0;

    if (time < TIMELINE_TIME_MIN || time > TIMELINE_TIME_MAX) {
        return -ERANGE;
    }
    if (delta == 0) {
        return 0;
    }
    if (!t->root) {
        struct timeline_node *n = timeline_node_new(t, TIMELINE_MIN_CAPACITY);

        if (!n) {
            return -ENOMEM;
        }
        n->entries[0].time = time;
        n->entries[0].delta = delta;
        n->length = 1;
        timeline_chunk_update(n);
        timeline_update(n);
        t->root = n;
        t->length = 1;
        t->nodes = 1;
        return 0;
    }
    t->root = timeline_add_rec(t, t->root, time, delta, &ret);
    return ret;
}

int
timeline_add_range(struct timeline *t, int64_t start, int64_t end,
                   int64_t value)
{
    int ret;

    if (start > end) {
        return -EINVAL;
    }
    if (start < TIMELINE_TIME_MIN || end > TIMELINE_TIME_MAX) {
        return -ERANGE;
    }
    if (start == end || value == 0) {
        return 0;
    }
    ret = timeline_add(t, start, value);
    if (ret) {
        return ret;
    }
    ret = timeline_add(t, end, -value);
    if (ret && timeline_add(t, start, -value)) {
        /* Taking the delta back out needs memory only when the first add
         * cancelled an existing boundary and its chunk has no room left
         * for it: a half-applied range would make every later answer
         * wrong, so give up rather than go on. */
        abort();
    }
    return ret;
}

int64_t
timeline_value_at(const struct timeline *t, int64_t time)
{
    const struct timeline_node *n = t->root;
    int64_t acc = 0;

    while (n) {
        if (time < n->chunk_first) {
            n = n->left;
            continue;
        }
        if (n->left) {
            acc += n->left->sum;
        }
        if (time >= n->chunk_last) {
            acc += n->chunk_sum;
            n = n->right;
            continue;
        }
        for (uint32_t i = 0; i < n->length && n->entries[i].time <= time;
             i++) {
            acc += n->entries[i].delta;
        }
        break;
    }
    return acc;
}

/* Appends the entries with lo <= time < hi of the subtree 'n' to 'a'. */
static void
timeline_fold(const struct timeline_node *n, int64_t lo, int64_t hi,
              struct timeline_agg *a)
{
    if (!n || n->last < lo || n->first >= hi) {
        return;
    }
    if (lo <= n->first && n->last < hi) {
        timeline_agg_append(a, n->sum, n->max, n->min);
        return;
    }
    timeline_fold(n->left, lo, hi, a);
    if (lo <= n->chunk_first && n->chunk_last < hi) {
        timeline_agg_append(a, n->chunk_sum, n->chunk_max, n->chunk_min);
    } else {
        for (uint32_t i = 0; i < n->length; i++) {
            const struct timeline_entry *e = &n->entries[i];

            if (e->time >= lo && e->time < hi) {
                timeline_agg_append(a, e->delta, e->delta, e->delta);
            }
        }
    }
    timeline_fold(n->right, lo, hi, a);
}

int
timeline_range(const struct timeline *t, int64_t start, int64_t end,
               int64_t *max, int64_t *min)
{
    struct timeline_agg a = { .empty = true };
    int64_t base, hi, lo;

    if (start >= end) {
        return -EINVAL;
    }
    base = timeline_value_at(t, start);
    hi = lo = base;
    if (start < INT64_MAX) {
        timeline_fold(t->root, start + 1, end, &a);
    }
    if (!a.empty) {
        hi = timeline_max64(hi, base + a.max);
        lo = timeline_min64(lo, base + a.min);
    }
    if (max) {
        *max = hi;
    }
    if (min) {
        *min = lo;
    }
    return 0;
}

/* One search of timeline_first_above / _at_or_below in a single pass
 * down the tree: everything before 'lo' only adds to 'acc' (whole
 * subtrees and chunks by their cached sums), and inside [lo, hi) whole
 * subtrees and chunks whose cached extremes cannot cross the threshold
 * are skipped the same way, so only the two paths to 'lo' and 'hi' and
 * the one to the answer are walked. 'above' looks for a value > thr,
 * otherwise for a value <= thr. */
struct timeline_scan {
    int64_t lo, hi, thr;
    bool above;
    bool started;                  /* the value at 'lo' was looked at */
    int64_t acc;                   /* the value so far */
    int64_t at;
};

static bool
timeline_scan_hit(const struct timeline_scan *s, int64_t value)
{
    return s->above ? value > s->thr : value <= s->thr;
}

/* Called before the first boundary >= lo is taken, 'first' being its
 * time: unless a boundary sits exactly at lo, the value at lo is the
 * value so far. True when that already is the answer. */
static bool
timeline_scan_begin(struct timeline_scan *s, int64_t first)
{
    if (s->started) {
        return false;
    }
    s->started = true;
    if (first > s->lo && timeline_scan_hit(s, s->acc)) {
        s->at = s->lo;
        return true;
    }
    return false;
}

static bool
timeline_scan(const struct timeline_node *n, struct timeline_scan *s)
{
    if (!n || n->first >= s->hi) {
        return false;
    }
    if (n->last < s->lo) {
        s->acc += n->sum;
        return false;
    }
    /* No value anywhere in this subtree crosses the threshold: neither
     * does any inside the window, wherever the window cuts it. Only the
     * value at 'lo' when the window starts before the subtree is not one
     * of its prefixes, and is looked at first. This skip at the root
     * answers a zone with room everywhere in O(1). */
    if (!timeline_scan_hit(s, s->acc + (s->above ? n->max : n->min))) {
        if (n->first >= s->lo) {
            if (timeline_scan_begin(s, n->first)) {
                return true;
            }
        } else {
            s->started = true;
        }
        s->acc += n->sum;
        return false;
    }
    if (n->first >= s->lo && n->last < s->hi &&
        timeline_scan_begin(s, n->first)) {
        return true;
    }
    if (timeline_scan(n->left, s)) {
        return true;
    }
    if (n->chunk_first >= s->hi) {
        return false;              /* and so is everything after it */
    }
    if (n->chunk_last < s->lo) {
        s->acc += n->chunk_sum;
    } else if (!timeline_scan_hit(s, s->acc + (s->above ? n->chunk_max
                                                         : n->chunk_min))) {
        /* As for subtrees: nothing in this chunk crosses. */
        if (n->chunk_first >= s->lo) {
            if (timeline_scan_begin(s, n->chunk_first)) {
                return true;
            }
        } else {
            s->started = true;
        }
        s->acc += n->chunk_sum;
    } else {
        for (uint32_t i = 0; i < n->length; i++) {
            const struct timeline_entry *e = &n->entries[i];

            if (e->time < s->lo) {
                s->acc += e->delta;
                continue;
            }
            if (e->time >= s->hi) {
                return false;
            }
            if (timeline_scan_begin(s, e->time)) {
                return true;
            }
            s->acc += e->delta;
            if (timeline_scan_hit(s, s->acc)) {
                s->at = e->time;
                return true;
            }
        }
    }
    return timeline_scan(n->right, s);
}

static bool
timeline_first(const struct timeline *t, int64_t start, int64_t end,
               int64_t thr, bool above, int64_t *at)
{
    struct timeline_scan s = {
        .lo = start, .hi = end, .thr = thr, .above = above,
    };

    if (start >= end) {
        return false;
    }
    if (timeline_scan(t->root, &s)) {
        *at = s.at;
        return true;
    }
    /* No boundary in the window: the value is the one at its start. */
    if (!s.started && timeline_scan_hit(&s, s.acc)) {
        *at = start;
        return true;
    }
    return false;
}

bool
timeline_first_above(const struct timeline *t, int64_t start, int64_t end,
                     int64_t threshold, int64_t *at)
{
    return timeline_first(t, start, end, threshold, true, at);
}

bool
timeline_first_at_or_below(const struct timeline *t, int64_t start,
                           int64_t end, int64_t threshold, int64_t *at)
{
    return timeline_first(t, start, end, threshold, false, at);
}

static int
timeline_walk_rec(const struct timeline_node *n, int64_t lo, int64_t hi,
                  timeline_walk_fn *fn, void *arg)
{
    int ret;

    if (!n || n->last < lo || n->first >= hi) {
        return 0;
    }
    ret = timeline_walk_rec(n->left, lo, hi, fn, arg);
    if (ret) {
        return ret;
    }
    for (uint32_t i = n->chunk_first >= lo ? 0 : timeline_lower_bound(n, lo);
         i < n->length && n->entries[i].time < hi; i++) {
        ret = fn(n->entries[i].time, n->entries[i].delta, arg);
        if (ret) {
            return ret;
        }
    }
    return timeline_walk_rec(n->right, lo, hi, fn, arg);
}

int
timeline_walk(const struct timeline *t, int64_t start, int64_t end,
              timeline_walk_fn *fn, void *arg)
{
    return start < end ? timeline_walk_rec(t->root, start, end, fn, arg) : 0;
}

static void
timeline_free_rec(struct timeline_node *n)
{
    while (n) {
        struct timeline_node *right = n->right;

        timeline_free_rec(n->left);
        timeline_node_free(n);
        n = right;
    }
}

void
timeline_clear(struct timeline *t)
{
    timeline_free_rec(t->root);
    t->root = NULL;
    t->length = 0;
    t->nodes = 0;
}

static void
timeline_update_all(struct timeline_node *n)
{
    if (n) {
        timeline_update_all(n->left);
        timeline_update_all(n->right);
        timeline_update(n);
    }
}

int
timeline_build(struct timeline *t, const struct timeline_entry *entries,
               size_t length)
{
    /* Chunks are filled to 3/4 so that the first inserts do not split. */
    const size_t fill = TIMELINE_CHUNK * 3 / 4;
    size_t count = (length + fill - 1) / fill;
    struct timeline_node **stack = NULL, **nodes = NULL;
    size_t depth = 0;
    int ret = -EINVAL;

    if (t->root) {
        return -EINVAL;
    }
    for (size_t i = 0; i < length; i++) {
        if (entries[i].time < TIMELINE_TIME_MIN ||
            entries[i].time > TIMELINE_TIME_MAX) {
            return -ERANGE;
        }
        if (entries[i].delta == 0 ||
            (i && entries[i].time <= entries[i - 1].time)) {
            return -EINVAL;
        }
    }
    if (length == 0) {
        return 0;
    }
    ret = -ENOMEM;
    nodes = calloc(count, sizeof *nodes);
    stack = calloc(count, sizeof *stack);
    if (!nodes || !stack) {
        goto out;
    }
    for (size_t c = 0; c < count; c++) {
        size_t first = c * fill;
        size_t n = length - first < fill ? length - first : fill;

        nodes[c] = timeline_node_new(t, TIMELINE_CHUNK);
        if (!nodes[c]) {
            goto out;
        }
        memcpy(nodes[c]->entries, entries + first, n * sizeof *entries);
        nodes[c]->length = (uint32_t) n;
        timeline_chunk_update(nodes[c]);
    }
    /* Cartesian tree of the chunks in order, by priority: a right-spine
     * stack, O(count). */
    for (size_t c = 0; c < count; c++) {
        struct timeline_node *x = nodes[c], *last = NULL;

        while (depth && stack[depth - 1]->priority < x->priority) {
            last = stack[--depth];
        }
        x->left = last;
        if (depth) {
            stack[depth - 1]->right = x;
        }
        stack[depth++] = x;
    }
    timeline_update_all(stack[0]);
    t->root = stack[0];
    t->length = length;
    t->nodes = count;
    ret = 0;
out:
    if (ret && nodes) {
        for (size_t c = 0; c < count; c++) {
            timeline_node_free(nodes[c]);
        }
    }
    free(nodes);
    free(stack);
    return ret;
}

static int
timeline_entry_cmp(const void *a, const void *b)
{
    const struct timeline_entry *x = a, *y = b;

    return (x->time > y->time) - (x->time < y->time);
}

size_t
timeline_normalize(struct timeline_entry *entries, size_t length)
{
    size_t out = 0;

    if (length == 0) {
        return 0;
    }
    qsort(entries, length, sizeof *entries, timeline_entry_cmp);
    for (size_t i = 0; i < length;) {
        int64_t time = entries[i].time, delta = 0;

        for (; i < length && entries[i].time == time; i++) {
            delta += entries[i].delta;
        }
        if (delta) {
            entries[out].time = time;
            entries[out].delta = delta;
            out++;
        }
    }
    return out;
}

/* Checks the subtree 'n'; '*prev' is the last time seen in order. */
static int
timeline_verify_rec(const struct timeline_node *n, bool *seen, int64_t *prev,
                    size_t *length, size_t *nodes)
{
    struct timeline_node copy;

    if (!n) {
        return 0;
    }
    if ((n->left && n->left->priority > n->priority) ||
        (n->right && n->right->priority > n->priority) ||
        n->length == 0 || n->length > n->capacity ||
        n->length > TIMELINE_CHUNK ||
        timeline_verify_rec(n->left, seen, prev, length, nodes)) {
        return -EUCLEAN;
    }
    for (uint32_t i = 0; i < n->length; i++) {
        if (n->entries[i].delta == 0 ||
            (*seen && n->entries[i].time <= *prev)) {
            return -EUCLEAN;
        }
        *seen = true;
        *prev = n->entries[i].time;
    }
    *length += n->length;
    (*nodes)++;
    if (timeline_verify_rec(n->right, seen, prev, length, nodes)) {
        return -EUCLEAN;
    }
    copy = *n;
    timeline_chunk_update(&copy);
    timeline_update(&copy);
    if (copy.chunk_sum != n->chunk_sum || copy.chunk_max != n->chunk_max ||
        copy.chunk_min != n->chunk_min ||
        copy.chunk_first != n->chunk_first ||
        copy.chunk_last != n->chunk_last || copy.sum != n->sum ||
        copy.max != n->max || copy.min != n->min ||
        copy.first != n->first || copy.last != n->last) {
        return -EUCLEAN;
    }
    return 0;
}

int
timeline_verify(const struct timeline *t)
{
    size_t length = 0, nodes = 0;
    int64_t prev = 0;
    bool seen = false;

    if (timeline_verify_rec(t->root, &seen, &prev, &length, &nodes) ||
        length != t->length || nodes != t->nodes) {
        return -EUCLEAN;
    }
    return 0;
}
