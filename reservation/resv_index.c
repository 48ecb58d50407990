/* resv_index: a zone's capacity index (see resv_index.h). */
#include "resv_index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const resv_index_views[RESV_VIEW_COUNT] = {
    [RESV_VIEW_TOTAL] = "total",
    [RESV_VIEW_RESERVED] = "reserved",
    [RESV_VIEW_USED] = "used",
    [RESV_VIEW_AVAILABLE] = "available",
};

const char *
resv_index_view_name(enum resv_index_view view)
{
    return (unsigned) view < RESV_VIEW_COUNT ? resv_index_views[view] : "?";
}

int
resv_index_view_from_name(const char *name, enum resv_index_view *view)
{
    for (int v = 0; v < RESV_VIEW_COUNT; v++) {
        if (!strcmp(name, resv_index_views[v])) {
            *view = (enum resv_index_view) v;
            return 0;
        }
    }
    return -EINVAL;
}

void
resv_index_clear(struct resv_index *idx)
{
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        timeline_clear(&idx->net[k]);
        timeline_clear(&idx->supply[k]);
        timeline_clear(&idx->free_alloc[k]);
        timeline_clear(&idx->resv_alloc[k]);
    }
}

/* The layer's own timeline for 'key' (NULL for RESERVED, which lives in
 * 'net' only) and the sign it enters 'net' with (0: not at all). */
static struct timeline *
resv_index_layer_tree(struct resv_index *idx, enum resv_index_layer layer,
                      int key, int *net_sign)
{
    switch (layer) {
    case RESV_INDEX_SUPPLY:
        *net_sign = -1;
        return &idx->supply[key];
    case RESV_INDEX_RESERVED:
        *net_sign = 1;
        return NULL;
    case RESV_INDEX_FREE_ALLOC:
        *net_sign = 1;
        return &idx->free_alloc[key];
    case RESV_INDEX_RESV_ALLOC:
    case RESV_INDEX_LAYER_COUNT:
    default:
        *net_sign = 0;
        return &idx->resv_alloc[key];
    }
}

/* Applies sign * vec[key] to the layer's timelines of 'key'. */
static int
resv_index_apply_key(struct resv_index *idx, enum resv_index_layer layer,
                     int key, int64_t start, int64_t end, int64_t value)
{
    int net_sign;
    struct timeline *own = resv_index_layer_tree(idx, layer, key, &net_sign);
    int ret = 0;

    if (own) {
        ret = timeline_add_range(own, start, end, value);
        if (ret) {
            return ret;
        }
    }
    if (net_sign) {
        ret = timeline_add_range(&idx->net[key], start, end,
                                 net_sign * value);
        if (ret && own && timeline_add_range(own, start, end, -value)) {
            abort();   /* see timeline_add_range() */
        }
    }
    return ret;
}

int
resv_index_apply(struct resv_index *idx, enum resv_index_layer layer,
                 int64_t start, int64_t end, const struct capvec *vec,
                 int sign)
{
    int ret = 0, k;

    if ((sign != 1 && sign != -1) || start > end ||
        (unsigned) layer >= RESV_INDEX_LAYER_COUNT) {
        return -EINVAL;
    }
    for (k = 0; k < CAPVEC_KEY_COUNT; k++) {
        ret = resv_index_apply_key(idx, layer, k, start, end,
                                   sign * vec->v[k]);
        if (ret) {
            break;
        }
    }
    if (ret) {
        while (k-- > 0) {
            if (resv_index_apply_key(idx, layer, k, start, end,
                                     -sign * vec->v[k])) {
                abort();   /* see timeline_add_range() */
            }
        }
    }
    return ret;
}

/* The conflict of 'key' whose net goes above 'thr' at 'at' in the
 * window ending at 'end'. */
static void
resv_index_describe(const struct resv_index *idx, int key, int64_t at,
                    int64_t end, int64_t requested, int64_t thr,
                    struct resv_conflict *c)
{
    const struct timeline *net = &idx->net[key];
    int64_t stop = end, max = 0;

    if (at < INT64_MAX &&
        !timeline_first_at_or_below(net, at + 1, end, thr, &stop)) {
        stop = end;
    }
    timeline_range(net, at, stop, &max, NULL);
    c->key = (enum capvec_key) key;
    c->requested = requested;
    c->available = -max;
    c->start = at;
    c->end = stop;
}

int
resv_index_check(const struct resv_index *idx, int64_t start, int64_t end,
                 const struct capvec *request, struct resv_conflict *conflict)
{
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        int64_t r = request->v[k], at;

        if (r <= 0) {
            continue;
        }
        if (timeline_first_above(&idx->net[k], start, end, -r, &at)) {
            resv_index_describe(idx, k, at, end, r, -r, conflict);
            if (conflict->available < 0) {
                conflict->available = 0;
            }
            return -ENOSPC;
        }
    }
    return 0;
}

int
resv_index_overbooked(const struct resv_index *idx, int64_t start,
                      int64_t end, struct resv_conflict *conflict)
{
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        int64_t at;

        if (timeline_first_above(&idx->net[k], start, end, 0, &at)) {
            resv_index_describe(idx, k, at, end, 0, 0, conflict);
            return -ENOSPC;
        }
    }
    return 0;
}

void
resv_index_largest(const struct resv_index *idx, int64_t start, int64_t end,
                   struct capvec *out)
{
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        int64_t max = 0;

        if (start < end) {
            timeline_range(&idx->net[k], start, end, &max, NULL);
        }
        out->v[k] = max < 0 ? -max : 0;
    }
}

int
resv_index_earliest(const struct resv_index *idx, int64_t from,
                    int64_t duration, const struct capvec *request,
                    int64_t latest, unsigned int max_jumps, int64_t *at)
{
    int64_t t = from;

    if (duration <= 0 || from > TIMELINE_TIME_MAX ||
        latest > TIMELINE_TIME_MAX - duration) {
        return -EINVAL;
    }
    for (unsigned int jump = 0; jump <= max_jumps; jump++) {
        int64_t next = t;
        bool short_of = false;

        if (t > latest) {
            return -ENOENT;
        }
        for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
            int64_t r = request->v[k], u, v;

            if (r <= 0 ||
                !timeline_first_above(&idx->net[k], t, t + duration, -r,
                                      &u)) {
                continue;
            }
            short_of = true;
            /* No start before the run short of capacity ends can fit. */
            if (!timeline_first_at_or_below(&idx->net[k], u + 1,
                                            TIMELINE_TIME_MAX, -r, &v)) {
                return -ENOENT;
            }
            if (v > next) {
                next = v;
            }
        }
        if (!short_of) {
            *at = t;
            return 0;
        }
        t = next;
    }
    return -E2BIG;
}

/* ---- step functions ---------------------------------------------------- */

struct resv_index_change {
    int64_t time;
    int key;
    int64_t delta;
};

struct resv_index_collect {
    struct resv_index_change *changes;
    size_t length, capacity;
    size_t taken;              /* from the current timeline */
    size_t max;                /* per timeline */
    int key, sign;
    int64_t cut;               /* exclusive end of what is complete */
    bool failed;
};

static int
resv_index_collect_one(int64_t time, int64_t delta, void *arg)
{
    struct resv_index_collect *c = arg;

    if (time >= c->cut) {
        return 1;
    }
    if (c->taken == c->max) {
        /* Everything from here on may be incomplete. */
        c->cut = time;
        return 1;
    }
    if (c->length == c->capacity) {
        size_t capacity = c->capacity ? c->capacity * 2 : 256;
        struct resv_index_change *bigger =
            realloc(c->changes, capacity * sizeof *bigger);

        if (!bigger) {
            c->failed = true;
            return 1;
        }
        c->changes = bigger;
        c->capacity = capacity;
    }
    c->changes[c->length].time = time;
    c->changes[c->length].key = c->key;
    c->changes[c->length].delta = c->sign * delta;
    c->length++;
    c->taken++;
    return 0;
}

static int
resv_index_change_cmp(const void *a, const void *b)
{
    const struct resv_index_change *x = a, *y = b;

    return (x->time > y->time) - (x->time < y->time);
}

/* The timelines summed by 'view' for 'key', with their signs. */
static size_t
resv_index_terms(const struct resv_index *idx, enum resv_index_view view,
                 int key, const struct timeline **trees, int *signs)
{
    switch (view) {
    case RESV_VIEW_TOTAL:
        trees[0] = &idx->supply[key];
        signs[0] = 1;
        return 1;
    case RESV_VIEW_RESERVED:
        trees[0] = &idx->net[key];
        trees[1] = &idx->supply[key];
        trees[2] = &idx->free_alloc[key];
        signs[0] = 1;
        signs[1] = 1;
        signs[2] = -1;
        return 3;
    case RESV_VIEW_USED:
        trees[0] = &idx->free_alloc[key];
        trees[1] = &idx->resv_alloc[key];
        signs[0] = 1;
        signs[1] = 1;
        return 2;
    case RESV_VIEW_AVAILABLE:
    case RESV_VIEW_COUNT:
    default:
        trees[0] = &idx->net[key];
        signs[0] = -1;
        return 1;
    }
}

int
resv_index_steps(const struct resv_index *idx, enum resv_index_view view,
                 int64_t start, int64_t end, size_t max_steps,
                 struct resv_step **steps, size_t *length, bool *truncated)
{
    struct resv_index_collect c = { .max = max_steps, .cut = end };
    struct resv_step *out = NULL;
    struct capvec value;
    size_t used = 0;
    int ret = -EINVAL;

    if (start >= end || max_steps == 0 ||
        (unsigned) view >= RESV_VIEW_COUNT) {
        return -EINVAL;
    }
    memset(&value, 0, sizeof value);
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        const struct timeline *trees[3];
        int signs[3];
        size_t terms = resv_index_terms(idx, view, k, trees, signs);

        for (size_t i = 0; i < terms; i++) {
            value.v[k] += signs[i] * timeline_value_at(trees[i], start);
            c.key = k;
            c.sign = signs[i];
            c.taken = 0;
            timeline_walk(trees[i], start + 1, c.cut,
                          resv_index_collect_one, &c);
            if (c.failed) {
                ret = -ENOMEM;
                goto out;
            }
        }
    }
    if (c.length) {
        qsort(c.changes, c.length, sizeof *c.changes, resv_index_change_cmp);
    }

    ret = -ENOMEM;
    out = malloc((max_steps < c.length + 1 ? max_steps : c.length + 1)
                 * sizeof *out);
    if (!out) {
        goto out;
    }
    out[0].start = start;
    out[0].value = value;
    used = 1;
    for (size_t i = 0; i < c.length && c.changes[i].time < c.cut;) {
        int64_t time = c.changes[i].time;

        for (; i < c.length && c.changes[i].time == time; i++) {
            value.v[c.changes[i].key] += c.changes[i].delta;
        }
        if (!memcmp(&value, &out[used - 1].value, sizeof value)) {
            continue;
        }
        if (used == max_steps) {
            c.cut = time;
            break;
        }
        out[used - 1].end = time;
        out[used].start = time;
        out[used].value = value;
        used++;
    }
    out[used - 1].end = c.cut;
    *steps = out;
    *length = used;
    *truncated = c.cut < end;
    out = NULL;
    ret = 0;
out:
    free(out);
    free(c.changes);
    return ret;
}

size_t
resv_index_length(const struct resv_index *idx)
{
    size_t n = 0;

    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        n += idx->net[k].length + idx->supply[k].length +
             idx->free_alloc[k].length + idx->resv_alloc[k].length;
    }
    return n;
}

/* ---- bulk load --------------------------------------------------------- */

/* Tree numbers of the loader: net, supply, free_alloc, resv_alloc. */
enum { RESV_BULK_NET, RESV_BULK_SUPPLY, RESV_BULK_FREE, RESV_BULK_RESV };

static int
resv_index_bulk_push(struct resv_index_bulk *b, int tree, int key,
                     int64_t time, int64_t delta)
{
    if (b->length[tree][key] == b->capacity[tree][key]) {
        size_t capacity = b->capacity[tree][key]
                              ? b->capacity[tree][key] * 2 : 1024;
        struct timeline_entry *bigger =
            realloc(b->entries[tree][key], capacity * sizeof *bigger);

        if (!bigger) {
            return -ENOMEM;
        }
        b->entries[tree][key] = bigger;
        b->capacity[tree][key] = capacity;
    }
    b->entries[tree][key][b->length[tree][key]].time = time;
    b->entries[tree][key][b->length[tree][key]].delta = delta;
    b->length[tree][key]++;
    return 0;
}

static int
resv_index_bulk_range(struct resv_index_bulk *b, int tree, int key,
                      int64_t start, int64_t end, int64_t value)
{
    if (start == end || value == 0) {
        return 0;
    }
    return resv_index_bulk_push(b, tree, key, start, value) ||
                   resv_index_bulk_push(b, tree, key, end, -value)
               ? -ENOMEM : 0;
}

int
resv_index_bulk_add(struct resv_index_bulk *bulk, enum resv_index_layer layer,
                    int64_t start, int64_t end, const struct capvec *vec)
{
    static const int own[RESV_INDEX_LAYER_COUNT] = {
        [RESV_INDEX_SUPPLY] = RESV_BULK_SUPPLY,
        [RESV_INDEX_RESERVED] = -1,
        [RESV_INDEX_FREE_ALLOC] = RESV_BULK_FREE,
        [RESV_INDEX_RESV_ALLOC] = RESV_BULK_RESV,
    };
    static const int net_sign[RESV_INDEX_LAYER_COUNT] = {
        [RESV_INDEX_SUPPLY] = -1,
        [RESV_INDEX_RESERVED] = 1,
        [RESV_INDEX_FREE_ALLOC] = 1,
        [RESV_INDEX_RESV_ALLOC] = 0,
    };

    if (start > end || (unsigned) layer >= RESV_INDEX_LAYER_COUNT) {
        return -EINVAL;
    }
    if (start < TIMELINE_TIME_MIN || end > TIMELINE_TIME_MAX) {
        return -ERANGE;
    }
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        if ((own[layer] >= 0 &&
             resv_index_bulk_range(bulk, own[layer], k, start, end,
                                   vec->v[k])) ||
            (net_sign[layer] &&
             resv_index_bulk_range(bulk, RESV_BULK_NET, k, start, end,
                                   net_sign[layer] * vec->v[k]))) {
            return -ENOMEM;
        }
    }
    return 0;
}

static struct timeline *
resv_index_bulk_tree(struct resv_index *idx, int tree, int key)
{
    switch (tree) {
    case RESV_BULK_NET:
        return &idx->net[key];
    case RESV_BULK_SUPPLY:
        return &idx->supply[key];
    case RESV_BULK_FREE:
        return &idx->free_alloc[key];
    default:
        return &idx->resv_alloc[key];
    }
}

int
resv_index_bulk_build(struct resv_index_bulk *bulk, struct resv_index *idx)
{
    int ret = 0;

    if (resv_index_length(idx)) {
        return -EINVAL;
    }
    for (int tree = 0; tree < 4 && !ret; tree++) {
        for (int k = 0; k < CAPVEC_KEY_COUNT && !ret; k++) {
            size_t n = timeline_normalize(bulk->entries[tree][k],
                                          bulk->length[tree][k]);

            ret = timeline_build(resv_index_bulk_tree(idx, tree, k),
                                 bulk->entries[tree][k], n);
        }
    }
    if (ret) {
        resv_index_clear(idx);
    }
    resv_index_bulk_clear(bulk);
    return ret;
}

void
resv_index_bulk_clear(struct resv_index_bulk *bulk)
{
    for (int tree = 0; tree < 4; tree++) {
        for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
            free(bulk->entries[tree][k]);
        }
    }
    memset(bulk, 0, sizeof *bulk);
}
