/* Unit tests for common/metrics: the exact Prometheus text of counters,
 * gauges and histograms (with and without labels), name and bucket checks,
 * and the NULL-tolerant updates. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "metrics.h"

/* Renders 'reg' into a NUL-terminated string (caller frees). */
static char *
render(const struct metrics_registry *reg)
{
    struct evbuffer *buf = evbuffer_new();
    size_t n;
    char *text;

    assert_non_null(buf);
    assert_int_equal(metrics_render(reg, buf), 0);
    n = evbuffer_get_length(buf);
    text = malloc(n + 1);
    assert_non_null(text);
    assert_int_equal(evbuffer_remove(buf, text, n), (int) n);
    text[n] = '\0';
    evbuffer_free(buf);
    return text;
}

static void
test_counters_and_gauges(void **state)
{
    struct metrics_registry *reg = metrics_registry_new();
    struct metrics_counter *libvirt, *heartbeat, *plain;
    struct metrics_gauge *queue;
    char *text;

    (void) state;
    assert_non_null(reg);
    libvirt = metrics_counter_new(reg, "vigil_monitor_events_total",
                                  "Fault events sent.", "source=\"libvirt\"");
    heartbeat = metrics_counter_new(reg, "vigil_monitor_events_total",
                                    "Fault events sent.",
                                    "source=\"heartbeat\"");
    queue = metrics_gauge_new(reg, "vigil_notifier_outbox_length",
                              "Alarms waiting for delivery.", NULL);
    plain = metrics_counter_new(reg, "vigil_up", "Always 1.", NULL);
    assert_non_null(libvirt);
    assert_non_null(heartbeat);
    assert_non_null(queue);
    assert_non_null(plain);

    metrics_counter_add(libvirt, 3);
    metrics_counter_add(libvirt, 4);
    metrics_counter_add(plain, 1);
    metrics_gauge_set(queue, 10);
    metrics_gauge_add(queue, -12);
    assert_int_equal(metrics_counter_get(libvirt), 7);
    assert_int_equal(metrics_counter_get(heartbeat), 0);
    assert_int_equal(metrics_gauge_get(queue), -2);

    text = render(reg);
    assert_string_equal(text,
        "# HELP vigil_monitor_events_total Fault events sent.\n"
        "# TYPE vigil_monitor_events_total counter\n"
        "vigil_monitor_events_total{source=\"libvirt\"} 7\n"
        "vigil_monitor_events_total{source=\"heartbeat\"} 0\n"
        "# HELP vigil_notifier_outbox_length Alarms waiting for delivery.\n"
        "# TYPE vigil_notifier_outbox_length gauge\n"
        "vigil_notifier_outbox_length -2\n"
        "# HELP vigil_up Always 1.\n"
        "# TYPE vigil_up counter\n"
        "vigil_up 1\n");
    free(text);
    metrics_registry_free(reg);
}

static void
test_large_values(void **state)
{
    struct metrics_registry *reg = metrics_registry_new();
    struct metrics_counter *c;
    struct metrics_gauge *g;
    char *text;

    (void) state;
    assert_non_null(reg);
    c = metrics_counter_new(reg, "big_total", "", NULL);
    g = metrics_gauge_new(reg, "low", "", NULL);
    assert_non_null(c);
    assert_non_null(g);
    metrics_counter_add(c, UINT64_MAX);
    metrics_gauge_set(g, INT64_MIN);
    text = render(reg);
    assert_string_equal(text,
        "# HELP big_total \n# TYPE big_total counter\n"
        "big_total 18446744073709551615\n"
        "# HELP low \n# TYPE low gauge\n"
        "low -9223372036854775808\n");
    free(text);
    metrics_registry_free(reg);
}

static void
test_histogram(void **state)
{
    static const double bounds[] = { 0.001, 0.01, 0.1 };
    struct metrics_registry *reg = metrics_registry_new();
    struct metrics_histogram *h, *bare;
    char *text;

    (void) state;
    assert_non_null(reg);
    h = metrics_histogram_new(reg, "vigil_alarm_latency_seconds",
                              "Fault to webhook.", "sink=\"webhook\"", bounds,
                              3);
    bare = metrics_histogram_new(reg, "bare_seconds", "No labels.", NULL,
                                 bounds, 1);
    assert_non_null(h);
    assert_non_null(bare);
    metrics_histogram_observe(h, 0.0005);
    metrics_histogram_observe(h, 0.001);   /* on a bound: that bucket */
    metrics_histogram_observe(h, 0.005);
    metrics_histogram_observe(h, 0.05);
    metrics_histogram_observe(h, 2.0);
    metrics_histogram_observe(h, -1.0);    /* ignored */
    metrics_histogram_observe(h, NAN);     /* ignored */
    metrics_histogram_observe(bare, 0.5);

    text = render(reg);
    assert_string_equal(text,
        "# HELP vigil_alarm_latency_seconds Fault to webhook.\n"
        "# TYPE vigil_alarm_latency_seconds histogram\n"
        "vigil_alarm_latency_seconds_bucket{sink=\"webhook\",le=\"0.001\"} 2\n"
        "vigil_alarm_latency_seconds_bucket{sink=\"webhook\",le=\"0.01\"} 3\n"
        "vigil_alarm_latency_seconds_bucket{sink=\"webhook\",le=\"0.1\"} 4\n"
        "vigil_alarm_latency_seconds_bucket{sink=\"webhook\",le=\"+Inf\"} 5\n"
        "vigil_alarm_latency_seconds_sum{sink=\"webhook\"} 2.056500000\n"
        "vigil_alarm_latency_seconds_count{sink=\"webhook\"} 5\n"
        "# HELP bare_seconds No labels.\n"
        "# TYPE bare_seconds histogram\n"
        "bare_seconds_bucket{le=\"0.001\"} 0\n"
        "bare_seconds_bucket{le=\"+Inf\"} 1\n"
        "bare_seconds_sum 0.500000000\n"
        "bare_seconds_count 1\n");
    free(text);
    metrics_registry_free(reg);
}

static void
test_histogram_huge_observation(void **state)
{
    static const double bounds[] = { 1 };
    struct metrics_registry *reg = metrics_registry_new();
    struct metrics_histogram *h;
    char *text;

    (void) state;
    assert_non_null(reg);
    h = metrics_histogram_new(reg, "h", "", NULL, bounds, 1);
    assert_non_null(h);
    /* Beyond what the nanosecond sum can hold: counted, no overflow. */
    metrics_histogram_observe(h, 1e300);
    metrics_histogram_observe(h, INFINITY);
    text = render(reg);
    assert_non_null(strstr(text, "h_bucket{le=\"1\"} 0\n"
                                 "h_bucket{le=\"+Inf\"} 2\n"));
    assert_non_null(strstr(text, "h_count 2\n"));
    free(text);
    metrics_registry_free(reg);
}

static void
test_latency_bounds(void **state)
{
    struct metrics_registry *reg = metrics_registry_new();

    (void) state;
    assert_non_null(reg);
    assert_int_equal(metrics_latency_bounds_length, 16);
    assert_true(metrics_latency_bounds_length <= METRICS_MAX_BUCKETS);
    assert_true(metrics_latency_bounds[0] == 0.00005);
    assert_true(metrics_latency_bounds[metrics_latency_bounds_length - 1] ==
                10);
    assert_non_null(metrics_histogram_new(reg, "lat_seconds", "", NULL,
                                          metrics_latency_bounds,
                                          metrics_latency_bounds_length));
    metrics_registry_free(reg);
}

static void
test_bad_names(void **state)
{
    static const char *const bad[] = {
        "", "1abc", "a-b", "a b", "a.b", "a{b}", "é", "a\n",
    };
    static const char *const good[] = {
        "a", "_a", "a:b", "vigil_x_total", "A1", "a_1:2",
    };
    struct metrics_registry *reg = metrics_registry_new();
    char *text;

    (void) state;
    assert_non_null(reg);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_null(metrics_counter_new(reg, bad[i], "x", NULL));
        assert_null(metrics_gauge_new(reg, bad[i], "x", NULL));
    }
    assert_null(metrics_counter_new(reg, NULL, "x", NULL));
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_non_null(metrics_gauge_new(reg, good[i], "x", NULL));
    }
    /* The rejected ones left nothing behind. */
    text = render(reg);
    assert_null(strstr(text, "1abc"));
    assert_non_null(strstr(text, "\na_1:2 0\n"));
    free(text);
    metrics_registry_free(reg);
}

static void
test_bucket_bounds(void **state)
{
    static const double descending[] = { 0.1, 0.01 };
    static const double equal[] = { 1, 2, 2, 3 };
    static const double with_nan[] = { 1, NAN, 3 };
    double many[METRICS_MAX_BUCKETS + 1];
    struct metrics_registry *reg = metrics_registry_new();

    (void) state;
    assert_non_null(reg);
    for (size_t i = 0; i < METRICS_MAX_BUCKETS + 1; i++) {
        many[i] = (double) (i + 1);
    }
    assert_null(metrics_histogram_new(reg, "h1", "", NULL, descending, 2));
    assert_null(metrics_histogram_new(reg, "h2", "", NULL, equal, 4));
    assert_null(metrics_histogram_new(reg, "h3", "", NULL, with_nan, 3));
    assert_null(metrics_histogram_new(reg, "h4", "", NULL, many,
                                      METRICS_MAX_BUCKETS + 1));
    assert_non_null(metrics_histogram_new(reg, "h5", "", NULL, many,
                                          METRICS_MAX_BUCKETS));
    assert_null(metrics_histogram_new(reg, "bad name", "", NULL, many, 2));
    /* Only +Inf. */
    assert_non_null(metrics_histogram_new(reg, "h6", "", NULL, NULL, 0));
    metrics_registry_free(reg);
}

static void
test_null_tolerance(void **state)
{
    (void) state;
    metrics_counter_add(NULL, 1);
    metrics_gauge_set(NULL, 1);
    metrics_gauge_add(NULL, 1);
    metrics_histogram_observe(NULL, 1);
    assert_int_equal(metrics_counter_get(NULL), 0);
    assert_int_equal(metrics_gauge_get(NULL), 0);
    metrics_registry_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters_and_gauges),
        cmocka_unit_test(test_large_values),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_histogram_huge_observation),
        cmocka_unit_test(test_latency_bounds),
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_bucket_bounds),
        cmocka_unit_test(test_null_tolerance),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
