/* metrics: counters, gauges and histograms rendered as Prometheus text.
 *
 * A daemon creates one struct metrics_registry, registers its metrics at
 * start-up and serves metrics_render() on GET /metrics (httpd does that).
 * Updates (metrics_counter_add, metrics_gauge_set, metrics_histogram_observe)
 * are lock-free atomics and may come from any thread; registration and
 * rendering happen on the main thread. Labels are a fixed, pre-formatted
 * string such as 'sink="webhook"', so a metric with labels is one series;
 * a family of series shares one name and help text. */
#ifndef VIGIL_METRICS_H
#define VIGIL_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct metrics_registry;
struct metrics_counter;
struct metrics_gauge;
struct metrics_histogram;

#define METRICS_MAX_BUCKETS 24

struct metrics_registry *metrics_registry_new(void);
void metrics_registry_free(struct metrics_registry *reg);

/* Registration: 'name' and 'help' are copied; 'labels' may be NULL. The
 * registry owns the result. NULL on allocation failure or bad name. */
struct metrics_counter *metrics_counter_new(struct metrics_registry *reg,
                                            const char *name, const char *help,
                                            const char *labels);
struct metrics_gauge *metrics_gauge_new(struct metrics_registry *reg,
                                        const char *name, const char *help,
                                        const char *labels);
/* 'bounds' are the bucket upper bounds in ascending order (at most
 * METRICS_MAX_BUCKETS); '+Inf' is implicit. */
struct metrics_histogram *metrics_histogram_new(struct metrics_registry *reg,
                                                const char *name,
                                                const char *help,
                                                const char *labels,
                                                const double *bounds,
                                                size_t length);

/* Latency buckets in seconds from 50 us to 10 s, for the common case. */
extern const double metrics_latency_bounds[];
extern const size_t metrics_latency_bounds_length;

void metrics_counter_add(struct metrics_counter *c, uint64_t n);
uint64_t metrics_counter_get(const struct metrics_counter *c);
void metrics_gauge_set(struct metrics_gauge *g, int64_t value);
void metrics_gauge_add(struct metrics_gauge *g, int64_t delta);
int64_t metrics_gauge_get(const struct metrics_gauge *g);
void metrics_histogram_observe(struct metrics_histogram *h, double value);

/* Appends the Prometheus text exposition (version 0.0.4) to 'out'. */
int metrics_render(const struct metrics_registry *reg, struct evbuffer *out);

#endif
