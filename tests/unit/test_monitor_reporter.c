/* Tests monitor/reporter against a real HTTP server (common/httpd) playing
 * the inspector on 127.0.0.1: events go out at once and in order, events
 * queued behind a request go out together (capped by batch_size), an
 * inspector that fails (503) or is not listening gets the events later in
 * the same order, a full queue and a rejecting inspector drop events and
 * count them, and events left at shutdown are counted too. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <libvirt/libvirt.h>

#include "doctor_event.h"
#include "httpd.h"
#include "metrics.h"
#include "reporter.h"
#include "vmevent.h"
#include "vtime.h"

#define UUID "6695eb01-f6a4-8304-79aa-97f2502e193f"
#define MAX_SEEN 1024

/* The fake inspector. */
struct inspector {
    struct httpd *httpd;
    uint16_t port;
    int status;                 /* what to answer */
    size_t requests;            /* requests answered */
    int seen[MAX_SEEN];         /* sequence numbers of accepted events */
    size_t seen_length;
    size_t largest_batch;
    bool malformed;             /* a body that was not a Doctor list */
};

struct fixture {
    struct event_base *base;
    struct event *tick;
    struct metrics_registry *metrics;
    struct inspector inspector;
    struct reporter *reporter;
    char url[128];
};

static void
on_events(struct evhttp_request *req, const struct httpd_params *params,
          void *arg)
{
    struct inspector *in = arg;
    struct evbuffer *buf = evhttp_request_get_input_buffer(req);
    size_t size = evbuffer_get_length(buf);
    char *body = malloc(size + 1);
    struct doctor_event *events = NULL;
    size_t length = 0;
    char err[256];

    (void) params;
    in->requests++;
    if (!body) {
        httpd_reply_error(req, 500, "no memory");
        return;
    }
    evbuffer_copyout(buf, body, size);
    body[size] = '\0';
    if (doctor_events_parse(body, size, &events, &length, err, sizeof err)) {
        in->malformed = true;
        free(body);
        httpd_reply_error(req, 400, "%s", err);
        return;
    }
    free(body);
    if (in->status == 200) {
        if (length > in->largest_batch) {
            in->largest_batch = length;
        }
        for (size_t i = 0; i < length && in->seen_length < MAX_SEEN; i++) {
            const char *name = json_string_value(
                json_object_get(events[i].details, "instance_name"));

            in->seen[in->seen_length++] = name ? atoi(name + 3) : -1;
        }
        httpd_reply_json(req, 200, json_pack("{s:i}", "accepted",
                                             (int) length));
    } else {
        httpd_reply_error(req, in->status, "inspector says %d", in->status);
    }
    doctor_events_free(events, length);
}

static int
inspector_listen(struct fixture *fx, uint16_t port)
{
    struct httpd_options options = { .address = "127.0.0.1", .port = port };
    int error = 0;

    fx->inspector.httpd = httpd_new(fx->base, &options, &error);
    if (!fx->inspector.httpd) {
        return error;
    }
    fx->inspector.port = httpd_port(fx->inspector.httpd);
    return httpd_route(fx->inspector.httpd,
                       EVHTTP_REQ_POST | EVHTTP_REQ_PUT, "/events",
                       on_events, &fx->inspector);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    (void) arg;
}

static int
setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    struct timeval ms = { 0, 1000 };

    if (!fx) {
        return -1;
    }
    *state = fx;
    fx->base = event_base_new();
    fx->metrics = metrics_registry_new();
    if (!fx->base || !fx->metrics) {
        return -1;
    }
    /* Keeps EVLOOP_ONCE from blocking for long. */
    fx->tick = event_new(fx->base, -1, EV_PERSIST, on_tick, NULL);
    if (!fx->tick || event_add(fx->tick, &ms)) {
        return -1;
    }
    fx->inspector.status = 200;
    if (inspector_listen(fx, 0)) {
        return -1;
    }
    snprintf(fx->url, sizeof fx->url, "http://127.0.0.1:%u/events",
             fx->inspector.port);
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;

    reporter_free(fx->reporter);
    httpd_free(fx->inspector.httpd);
    if (fx->tick) {
        event_free(fx->tick);
    }
    if (fx->base) {
        event_base_free(fx->base);
    }
    metrics_registry_free(fx->metrics);
    free(fx);
    return 0;
}

static struct reporter *
new_reporter(struct fixture *fx, size_t queue_size, size_t batch_size)
{
    struct reporter_options options = {
        .url = fx->url,
        .queue_size = queue_size,
        .batch_size = batch_size,
        .timeout_ms = 1000,
        .retry_attempts = 2,
        .retry_initial_ms = 5,
        .retry_max_ms = 20,
        .metrics = fx->metrics,
    };
    int error = 0;

    fx->reporter = reporter_new(fx->base, &options, &error);
    assert_non_null(fx->reporter);
    return fx->reporter;
}

/* Submits the fault of VM number 'seq' (named "vm-<seq>"). */
static int
submit(struct fixture *fx, int seq)
{
    struct vmevent ev;
    struct doctor_event de;
    char name[32];
    int ret;

    snprintf(name, sizeof name, "vm-%d", seq);
    vmevent_init(&ev, VMEVENT_LIFECYCLE, UUID, name, vtime_mono_ns(),
                 vtime_real_ns());
    vmevent_set_lifecycle(&ev, VIR_DOMAIN_EVENT_STOPPED,
                          VIR_DOMAIN_EVENT_STOPPED_DESTROYED);
    assert_int_equal(vmevent_to_doctor(&ev, "compute-1", &de), 0);
    ret = reporter_submit(fx->reporter, &de);
    doctor_event_clear(&de);
    return ret;
}

static struct reporter_stats
stats_of(struct fixture *fx)
{
    struct reporter_stats s;

    reporter_get_stats(fx->reporter, &s);
    return s;
}

/* Runs the loop until 'n' events were accepted and nothing is queued, or
 * fails after 5 s. */
static void
run_until_seen(struct fixture *fx, size_t n)
{
    int64_t deadline = vtime_mono_ns() + 5LL * 1000000000;

    while (fx->inspector.seen_length < n || stats_of(fx).queued) {
        if (vtime_mono_ns() > deadline) {
            fail_msg("inspector saw %zu of %zu events, %zu still queued",
                     fx->inspector.seen_length, n, stats_of(fx).queued);
        }
        event_base_loop(fx->base, EVLOOP_ONCE);
    }
}

/* Runs the loop for 'ms' milliseconds. */
static void
run_for(struct fixture *fx, int ms)
{
    int64_t end = vtime_mono_ns() + (int64_t) ms * 1000000;

    while (vtime_mono_ns() < end) {
        event_base_loop(fx->base, EVLOOP_ONCE);
    }
}

static void
assert_in_order(const struct fixture *fx, int first, size_t n)
{
    assert_int_equal(fx->inspector.seen_length, n);
    for (size_t i = 0; i < n; i++) {
        if (fx->inspector.seen[i] != first + (int) i) {
            fail_msg("event %zu is vm-%d, expected vm-%d", i,
                     fx->inspector.seen[i], first + (int) i);
        }
    }
}

/* The rendered value of 'series' in the fixture's registry, or -1. */
static long long
metric(struct fixture *fx, const char *series)
{
    struct evbuffer *out = evbuffer_new();
    long long value = -1;
    char *text, *line;
    size_t n;

    assert_non_null(out);
    assert_int_equal(metrics_render(fx->metrics, out), 0);
    n = evbuffer_get_length(out);
    text = calloc(1, n + 1);
    assert_non_null(text);
    evbuffer_remove(out, text, n);
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        line = l;
        if (!strncmp(line, series, strlen(series)) &&
            line[strlen(series)] == ' ') {
            value = atoll(line + strlen(series) + 1);
        }
    }
    free(text);
    evbuffer_free(out);
    return value;
}

static void
test_one_event_at_once(void **state)
{
    struct fixture *fx = *state;
    struct reporter_stats s;

    new_reporter(fx, 100, 256);
    assert_int_equal(submit(fx, 0), 0);
    /* Sent from within the submission: in flight before the loop runs. */
    assert_int_equal(stats_of(fx).requests, 1);
    run_until_seen(fx, 1);
    assert_in_order(fx, 0, 1);
    assert_false(fx->inspector.malformed);
    s = stats_of(fx);
    assert_int_equal(s.reported, 1);
    assert_int_equal(s.requests, 1);
    assert_int_equal(s.failures, 0);
    assert_int_equal(s.dropped, 0);
    assert_int_equal(metric(fx, "vigil_monitor_events_reported_total"), 1);
    assert_int_equal(metric(fx, "vigil_monitor_queue_depth"), 0);
    assert_int_equal(metric(fx, "vigil_monitor_report_latency_seconds_count"),
                     1);
}

static void
test_burst_batches_in_order(void **state)
{
    struct fixture *fx = *state;

    new_reporter(fx, 1000, 256);
    for (int i = 0; i < 300; i++) {
        assert_int_equal(submit(fx, i), 0);
    }
    run_until_seen(fx, 300);
    assert_in_order(fx, 0, 300);
    /* The first alone, then what queued behind it, 256 at most per
     * request: 1 + 256 + 43. */
    assert_int_equal(fx->inspector.requests, 3);
    assert_int_equal(fx->inspector.largest_batch, 256);
    assert_int_equal(stats_of(fx).reported, 300);
}

static void
test_batch_size(void **state)
{
    struct fixture *fx = *state;

    new_reporter(fx, 100, 10);
    for (int i = 0; i < 35; i++) {
        assert_int_equal(submit(fx, i), 0);
    }
    run_until_seen(fx, 35);
    assert_in_order(fx, 0, 35);
    assert_int_equal(fx->inspector.requests, 5);
    assert_int_equal(fx->inspector.largest_batch, 10);
}

static void
test_inspector_failing(void **state)
{
    struct fixture *fx = *state;
    struct reporter_stats s;

    new_reporter(fx, 100, 256);
    fx->inspector.status = 503;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(submit(fx, i), 0);
    }
    run_for(fx, 150);
    s = stats_of(fx);
    assert_true(s.failures >= 1);
    assert_int_equal(s.reported, 0);
    assert_int_equal(s.queued, 5);
    assert_int_equal(metric(fx, "vigil_monitor_queue_depth"), 5);
    assert_true(metric(fx, "vigil_monitor_report_failures_total") >= 1);
    /* More events while it is down queue behind the first ones. */
    for (int i = 5; i < 8; i++) {
        assert_int_equal(submit(fx, i), 0);
    }
    fx->inspector.status = 200;
    run_until_seen(fx, 8);
    assert_in_order(fx, 0, 8);
    s = stats_of(fx);
    assert_int_equal(s.reported, 8);
    assert_int_equal(s.dropped, 0);
}

static void
test_inspector_not_listening(void **state)
{
    struct fixture *fx = *state;
    uint16_t port = fx->inspector.port;

    new_reporter(fx, 100, 256);
    httpd_free(fx->inspector.httpd);
    fx->inspector.httpd = NULL;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(submit(fx, i), 0);
    }
    run_for(fx, 100);
    assert_true(stats_of(fx).failures >= 1);
    assert_int_equal(stats_of(fx).queued, 4);
    /* Back on the same port. */
    assert_int_equal(inspector_listen(fx, port), 0);
    run_until_seen(fx, 4);
    assert_in_order(fx, 0, 4);
}

static void
test_queue_full(void **state)
{
    struct fixture *fx = *state;
    struct reporter_stats s;

    new_reporter(fx, 3, 256);
    fx->inspector.status = 503;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(submit(fx, i), 0);
    }
    assert_int_equal(submit(fx, 3), -ENOBUFS);
    assert_int_equal(submit(fx, 4), -ENOBUFS);
    run_for(fx, 50);
    assert_int_equal(submit(fx, 5), -ENOBUFS);
    s = stats_of(fx);
    assert_int_equal(s.dropped, 3);
    assert_int_equal(s.queued, 3);
    assert_int_equal(metric(fx, "vigil_monitor_events_dropped_total"), 3);
    /* Others count their drops in the same counter. */
    reporter_count_dropped(fx->reporter, 2);
    assert_int_equal(metric(fx, "vigil_monitor_events_dropped_total"), 5);
    fx->inspector.status = 200;
    run_until_seen(fx, 3);
    assert_in_order(fx, 0, 3);
    /* Room again. */
    assert_int_equal(submit(fx, 3), 0);
    run_until_seen(fx, 4);
}

static void
test_rejected(void **state)
{
    struct fixture *fx = *state;
    int64_t deadline = vtime_mono_ns() + 5LL * 1000000000;

    new_reporter(fx, 100, 256);
    fx->inspector.status = 422;
    assert_int_equal(submit(fx, 0), 0);
    assert_int_equal(submit(fx, 1), 0);
    while (stats_of(fx).dropped < 2) {
        assert_true(vtime_mono_ns() < deadline);
        event_base_loop(fx->base, EVLOOP_ONCE);
    }
    /* Not retried: one request per batch. */
    assert_int_equal(fx->inspector.requests, 2);
    assert_int_equal(stats_of(fx).queued, 0);
    assert_int_equal(stats_of(fx).failures, 0);
    fx->inspector.status = 200;
    assert_int_equal(submit(fx, 2), 0);
    run_until_seen(fx, 1);
    assert_in_order(fx, 2, 1);
}

static void
test_shutdown_counts_leftovers(void **state)
{
    struct fixture *fx = *state;

    new_reporter(fx, 100, 256);
    fx->inspector.status = 503;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(submit(fx, i), 0);
    }
    run_for(fx, 20);
    reporter_free(fx->reporter);
    fx->reporter = NULL;
    assert_int_equal(metric(fx, "vigil_monitor_events_dropped_total"), 4);
    assert_int_equal(metric(fx, "vigil_monitor_queue_depth"), 0);
}

static void
test_bad_options(void **state)
{
    struct fixture *fx = *state;
    struct reporter_options options = {
        .url = fx->url,
        .queue_size = 10,
        .batch_size = 10,
        .retry_attempts = 1,
        .retry_initial_ms = 10,
        .retry_max_ms = 10,
    };
    int error = 0;
    struct reporter *r;

    r = reporter_new(fx->base, &options, &error);
    assert_non_null(r);
    reporter_free(r);
    options.method = "GET";
    assert_null(reporter_new(fx->base, &options, &error));
    assert_int_equal(error, -EINVAL);
    options.method = "PUT";
    options.queue_size = 0;
    assert_null(reporter_new(fx->base, &options, &error));
    options.queue_size = 10;
    options.batch_size = DOCTOR_MAX_EVENTS + 1;
    assert_null(reporter_new(fx->base, &options, &error));
    options.batch_size = 10;
    options.retry_max_ms = 5;
    assert_null(reporter_new(fx->base, &options, &error));
    options.retry_max_ms = 10;
    options.retry_attempts = 0;
    assert_null(reporter_new(fx->base, &options, &error));
    reporter_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_event_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_burst_batches_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_batch_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inspector_failing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_inspector_not_listening, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_queue_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_counts_leftovers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
