/* metrics: Prometheus counters, gauges and histograms (see metrics.h). */
#include "metrics.h"

#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum metrics_kind {
    METRICS_COUNTER,
    METRICS_GAUGE,
    METRICS_HISTOGRAM,
    METRICS_KIND_COUNT
};

struct metrics_counter {
    _Atomic uint64_t value;
};

struct metrics_gauge {
    _Atomic int64_t value;
};

struct metrics_histogram {
    double bounds[METRICS_MAX_BUCKETS];
    size_t length;
    _Atomic uint64_t counts[METRICS_MAX_BUCKETS + 1];
    _Atomic uint64_t sum_nano;  /* sum of observations, in 1e-9 units */
};

struct metrics_series {
    enum metrics_kind kind;
    char *name;
    char *help;
    char *labels;
    union {
        struct metrics_counter counter;
        struct metrics_gauge gauge;
        struct metrics_histogram histogram;
    } u;
    struct metrics_series *next;
};

struct metrics_registry {
    struct metrics_series *head;
    struct metrics_series **tail;
};

const double metrics_latency_bounds[] = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
    0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
};
const size_t metrics_latency_bounds_length =
    sizeof metrics_latency_bounds / sizeof metrics_latency_bounds[0];

struct metrics_registry *
metrics_registry_new(void)
{
    struct metrics_registry *reg = calloc(1, sizeof *reg);

    if (reg) {
        reg->tail = &reg->head;
    }
    return reg;
}

void
metrics_registry_free(struct metrics_registry *reg)
{
    struct metrics_series *s, *next;

    if (!reg) {
        return;
    }
    for (s = reg->head; s; s = next) {
        next = s->next;
        free(s->name);
        free(s->help);
        free(s->labels);
        free(s);
    }
    free(reg);
}

static bool
metrics_valid_name(const char *name)
{
    if (!name || !(isalpha((unsigned char) *name) || *name == '_')) {
        return false;
    }
    for (; *name; name++) {
        if (!isalnum((unsigned char) *name) && *name != '_' && *name != ':') {
            return false;
        }
    }
    return true;
}

static struct metrics_series *
metrics_add(struct metrics_registry *reg, enum metrics_kind kind,
            const char *name, const char *help, const char *labels)
{
    struct metrics_series *s;

    if (!metrics_valid_name(name)) {
        return NULL;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        return NULL;
    }
    s->kind = kind;
    s->name = strdup(name);
    s->help = strdup(help ? help : "");
    s->labels = labels ? strdup(labels) : NULL;
    if (!s->name || !s->help || (labels && !s->labels)) {
        free(s->name);
        free(s->help);
        free(s->labels);
        free(s);
        return NULL;
    }
    *reg->tail = s;
    reg->tail = &s->next;
    return s;
}

struct metrics_counter *
metrics_counter_new(struct metrics_registry *reg, const char *name,
                    const char *help, const char *labels)
{
    struct metrics_series *s = metrics_add(reg, METRICS_COUNTER, name, help,
                                           labels);

    return s ? &s->u.counter : NULL;
}

struct metrics_gauge *
metrics_gauge_new(struct metrics_registry *reg, const char *name,
                  const char *help, const char *labels)
{
    struct metrics_series *s = metrics_add(reg, METRICS_GAUGE, name, help,
                                           labels);

    return s ? &s->u.gauge : NULL;
}

struct metrics_histogram *
metrics_histogram_new(struct metrics_registry *reg, const char *name,
                      const char *help, const char *labels,
                      const double *bounds, size_t length)
{
    struct metrics_series *s;

    if (length > METRICS_MAX_BUCKETS) {
        return NULL;
    }
    for (size_t i = 1; i < length; i++) {
        if (!(bounds[i] > bounds[i - 1])) {
            return NULL;
        }
    }
    s = metrics_add(reg, METRICS_HISTOGRAM, name, help, labels);
    if (!s) {
        return NULL;
    }
    if (length) {               /* 'bounds' may be NULL when empty */
        memcpy(s->u.histogram.bounds, bounds, length * sizeof *bounds);
    }
    s->u.histogram.length = length;
    return &s->u.histogram;
}

void
metrics_counter_add(struct metrics_counter *c, uint64_t n)
{
    if (c) {
        atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
    }
}

uint64_t
metrics_counter_get(const struct metrics_counter *c)
{
    return c ? atomic_load_explicit(&c->value, memory_order_relaxed) : 0;
}

void
metrics_gauge_set(struct metrics_gauge *g, int64_t value)
{
    if (g) {
        atomic_store_explicit(&g->value, value, memory_order_relaxed);
    }
}

void
metrics_gauge_add(struct metrics_gauge *g, int64_t delta)
{
    if (g) {
        atomic_fetch_add_explicit(&g->value, delta, memory_order_relaxed);
    }
}

int64_t
metrics_gauge_get(const struct metrics_gauge *g)
{
    return g ? atomic_load_explicit(&g->value, memory_order_relaxed) : 0;
}

void
metrics_histogram_observe(struct metrics_histogram *h, double value)
{
    size_t i = 0;

    if (!h || !(value >= 0)) {
        return;
    }
    while (i < h->length && value > h->bounds[i]) {
        i++;
    }
    atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
    /* Converting a double beyond UINT64_MAX (or +Inf) is undefined:
     * saturate (2^64 is exact as a double). */
    atomic_fetch_add_explicit(&h->sum_nano,
                              value * 1e9 < 18446744073709551616.0
                              ? (uint64_t) (value * 1e9) : UINT64_MAX,
                              memory_order_relaxed);
}

/* Writes 'name{labels,extra}' ('extra' may be NULL). */
static void
metrics_series_name(struct evbuffer *out, const struct metrics_series *s,
                    const char *suffix, const char *extra)
{
    evbuffer_add_printf(out, "%s%s", s->name, suffix);
    if (s->labels || extra) {
        evbuffer_add_printf(out, "{%s%s%s}", s->labels ? s->labels : "",
                            s->labels && extra ? "," : "", extra ? extra : "");
    }
}

static void
metrics_render_histogram(struct evbuffer *out, const struct metrics_series *s)
{
    const struct metrics_histogram *h = &s->u.histogram;
    uint64_t cumulative = 0;
    char le[48];

    for (size_t i = 0; i <= h->length; i++) {
        cumulative += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
        if (i < h->length) {
            snprintf(le, sizeof le, "le=\"%g\"", h->bounds[i]);
        } else {
            snprintf(le, sizeof le, "le=\"+Inf\"");
        }
        metrics_series_name(out, s, "_bucket", le);
        evbuffer_add_printf(out, " %llu\n", (unsigned long long) cumulative);
    }
    metrics_series_name(out, s, "_sum", NULL);
    evbuffer_add_printf(out, " %.9f\n",
                        atomic_load_explicit(&h->sum_nano,
                                             memory_order_relaxed) / 1e9);
    metrics_series_name(out, s, "_count", NULL);
    evbuffer_add_printf(out, " %llu\n", (unsigned long long) cumulative);
}

int
metrics_render(const struct metrics_registry *reg, struct evbuffer *out)
{
    static const char *const types[] = { "counter", "gauge", "histogram" };
    const char *last = "";

    for (const struct metrics_series *s = reg->head; s; s = s->next) {
        if (strcmp(last, s->name)) {
            evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", s->name,
                                s->help, s->name, types[s->kind]);
            last = s->name;
        }
        switch (s->kind) {
        case METRICS_COUNTER:
            metrics_series_name(out, s, "", NULL);
            evbuffer_add_printf(out, " %llu\n", (unsigned long long)
                                metrics_counter_get(&s->u.counter));
            break;
        case METRICS_GAUGE:
            metrics_series_name(out, s, "", NULL);
            evbuffer_add_printf(out, " %lld\n",
                                (long long) metrics_gauge_get(&s->u.gauge));
            break;
        case METRICS_HISTOGRAM:
            metrics_render_histogram(out, s);
            break;
        case METRICS_KIND_COUNT:
            return -EINVAL;
        }
    }
    return 0;
}
