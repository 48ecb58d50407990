/* Tests common/doctor_sender against a real HTTP peer (common/httpd on
 * 127.0.0.1) on one event loop: an event goes out at once, events handed
 * over while a request is in flight go out together (capped by batch_size
 * and max_body_size) and in order, several events handed over in one call
 * are coalesced like any other; a peer that fails (503) or is not
 * listening gets the events later in the same order, with the state
 * callback reporting the outage, each probe and the recovery; 4xx refusals
 * other than 408/429 drop and report, a full queue refuses and reports,
 * events left at shutdown are counted and reported, a queue drained before
 * shutdown loses nothing; metrics carry the caller's prefix. */
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

#include "doctor_event.h"
#include "doctor_sender.h"
#include "httpd.h"
#include "metrics.h"
#include "vtime.h"

#define UUID "6695eb01-f6a4-8304-79aa-97f2502e193f"
#define MAX_SEEN 1024
#define PREFIX "vigil_monitor"

/* The peer. */
struct peer {
    struct httpd *httpd;
    uint16_t port;
    int status;                 /* what to answer */
    size_t requests;            /* requests answered */
    int seen[MAX_SEEN];         /* sequence numbers of accepted events */
    size_t seen_length;
    size_t largest_batch;
    size_t largest_body;
    bool malformed;             /* a body that was not a Doctor list */
    char method[8];             /* of the last request */
};

/* What the callbacks reported. */
struct reports {
    unsigned int down;          /* became unreachable */
    unsigned int still_down;    /* further failures while unreachable */
    unsigned int up;            /* reachable again */
    bool reachable;
    char error[128];            /* of the last failure */
    unsigned int failures;      /* of the last report */
    int64_t outage_ns;          /* of the last recovery */
    size_t delivered;           /* of the last recovery */
    unsigned int drops[DOCTOR_SENDER_DROP_REASON_COUNT];       /* calls */
    size_t dropped_events[DOCTOR_SENDER_DROP_REASON_COUNT];
    long status;                /* of the last rejection */
    char answer[256];           /* of the last rejection */
    char first_refused[DOCTOR_ID_SIZE];  /* id of a refused event */
};

struct fixture {
    struct event_base *base;
    struct event *tick;
    struct metrics_registry *metrics;
    struct peer peer;
    struct reports reports;
    struct doctor_sender *sender;
    char url[128];
};

static void
on_events(struct evhttp_request *req, const struct httpd_params *params,
          void *arg)
{
    struct peer *peer = arg;
    struct evbuffer *buf = evhttp_request_get_input_buffer(req);
    size_t size = evbuffer_get_length(buf);
    char *body = malloc(size + 1);
    struct doctor_event *events = NULL;
    size_t length = 0;
    char err[256];

    (void) params;
    peer->requests++;
    snprintf(peer->method, sizeof peer->method, "%s",
             evhttp_request_get_command(req) == EVHTTP_REQ_PUT ? "PUT"
                                                               : "POST");
    if (!body) {
        httpd_reply_error(req, 500, "no memory");
        return;
    }
    evbuffer_copyout(buf, body, size);
    body[size] = '\0';
    if (doctor_events_parse(body, size, &events, &length, err, sizeof err)) {
        peer->malformed = true;
        free(body);
        httpd_reply_error(req, 400, "%s", err);
        return;
    }
    free(body);
    if (peer->status == 200) {
        if (length > peer->largest_batch) {
            peer->largest_batch = length;
        }
        if (size > peer->largest_body) {
            peer->largest_body = size;
        }
        for (size_t i = 0; i < length && peer->seen_length < MAX_SEEN; i++) {
            peer->seen[peer->seen_length++] = atoi(events[i].id + 3);
        }
        httpd_reply_json(req, 200, json_pack("{s:i}", "accepted",
                                             (int) length));
    } else {
        httpd_reply_error(req, peer->status, "peer says %d", peer->status);
    }
    doctor_events_free(events, length);
}

static int
peer_listen(struct fixture *fx, uint16_t port)
{
    struct httpd_options options = { .address = "127.0.0.1", .port = port };
    int error = 0;

    fx->peer.httpd = httpd_new(fx->base, &options, &error);
    if (!fx->peer.httpd) {
        return error;
    }
    fx->peer.port = httpd_port(fx->peer.httpd);
    return httpd_route(fx->peer.httpd, EVHTTP_REQ_POST | EVHTTP_REQ_PUT,
                       "/events", on_events, &fx->peer);
}

static void
on_state(struct doctor_sender *sender, const struct doctor_sender_state *st,
         void *arg)
{
    struct reports *r = arg;

    assert_non_null(sender);
    r->reachable = st->reachable;
    r->failures = st->failures;
    if (!st->reachable) {
        assert_non_null(st->error);
        snprintf(r->error, sizeof r->error, "%s", st->error);
        assert_true(st->failures >= 1);
        if (st->changed) {
            r->down++;
        } else {
            r->still_down++;
        }
        return;
    }
    assert_true(st->changed);
    assert_null(st->error);
    r->up++;
    r->outage_ns = st->outage_ns;
    r->delivered = st->delivered;
}

static void
on_drop(struct doctor_sender *sender, const struct doctor_sender_drop *d,
        void *arg)
{
    struct reports *r = arg;

    assert_non_null(sender);
    assert_true(d->reason < DOCTOR_SENDER_DROP_REASON_COUNT);
    assert_int_not_equal(d->reason, DOCTOR_SENDER_DROP_UPSTREAM);
    assert_true(d->length >= 1);
    r->drops[d->reason]++;
    r->dropped_events[d->reason] += d->length;
    if (d->reason == DOCTOR_SENDER_DROP_FULL ||
        d->reason == DOCTOR_SENDER_DROP_NOMEM) {
        assert_non_null(d->events);
        snprintf(r->first_refused, sizeof r->first_refused, "%s",
                 d->events[0].id);
    } else {
        assert_null(d->events);
    }
    if (d->reason == DOCTOR_SENDER_DROP_REJECTED) {
        assert_non_null(d->answer);
        r->status = d->status;
        snprintf(r->answer, sizeof r->answer, "%s", d->answer);
    }
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
    fx->peer.status = 200;
    fx->reports.reachable = true;
    if (peer_listen(fx, 0)) {
        return -1;
    }
    snprintf(fx->url, sizeof fx->url, "http://127.0.0.1:%u/events",
             fx->peer.port);
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;

    doctor_sender_free(fx->sender);
    httpd_free(fx->peer.httpd);
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

static struct doctor_sender_options
options_of(struct fixture *fx, size_t queue_size, size_t batch_size)
{
    struct doctor_sender_options o = {
        .url = fx->url,
        .queue_size = queue_size,
        .batch_size = batch_size,
        .timeout_ms = 1000,
        .retry = { .max_attempts = 2, .initial_backoff_ms = 5,
                   .max_backoff_ms = 20 },
        .metrics = fx->metrics,
        .metrics_prefix = PREFIX,
        .latency_stamp = DOCTOR_T01,
        .on_state = on_state,
        .on_drop = on_drop,
        .arg = &fx->reports,
    };

    return o;
}

static struct doctor_sender *
new_sender_with(struct fixture *fx, const struct doctor_sender_options *o)
{
    int error = 0;

    fx->sender = doctor_sender_new(fx->base, o, &error);
    assert_non_null(fx->sender);
    return fx->sender;
}

static struct doctor_sender *
new_sender(struct fixture *fx, size_t queue_size, size_t batch_size)
{
    struct doctor_sender_options o = options_of(fx, queue_size, batch_size);

    return new_sender_with(fx, &o);
}

/* Event number 'seq': id "ev-<seq>", a VM fault detected now. */
static void
make_event(struct doctor_event *ev, int seq)
{
    assert_int_equal(doctor_event_init(ev), 0);
    snprintf(ev->id, sizeof ev->id, "ev-%04d", seq);
    snprintf(ev->type, sizeof ev->type, "compute.instance.down");
    ev->time_ns = vtime_real_ns();
    ev->stamps[DOCTOR_T01] = vtime_mono_ns();
    assert_int_equal(doctor_event_set_detail(ev, "hostname", "compute-1"), 0);
    assert_int_equal(doctor_event_set_detail(ev, "status", "down"), 0);
    assert_int_equal(doctor_event_set_detail(ev, "instance_uuid", UUID), 0);
}

/* Hands over events first..first+n-1 in one call. */
static int
send_range(struct fixture *fx, int first, size_t n)
{
    struct doctor_event events[8];
    int ret;

    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        make_event(&events[i], first + (int) i);
    }
    ret = doctor_sender_send(fx->sender, events, n);
    for (size_t i = 0; i < n; i++) {
        doctor_event_clear(&events[i]);
    }
    return ret;
}

static int
submit(struct fixture *fx, int seq)
{
    return send_range(fx, seq, 1);
}

/* Hands over events first..first+n-1, one call each. */
static void
submit_all(struct fixture *fx, int first, int n)
{
    for (int i = first; i < first + n; i++) {
        assert_int_equal(submit(fx, i), 0);
    }
}

static struct doctor_sender_stats
stats_of(struct fixture *fx)
{
    struct doctor_sender_stats s;

    doctor_sender_get_stats(fx->sender, &s);
    return s;
}

/* Runs the loop until 'n' events were accepted and nothing is queued, or
 * fails after 5 s. */
static void
run_until_seen(struct fixture *fx, size_t n)
{
    int64_t deadline = vtime_mono_ns() + 5LL * 1000000000;

    while (fx->peer.seen_length < n || doctor_sender_queued(fx->sender)) {
        if (vtime_mono_ns() > deadline) {
            fail_msg("peer saw %zu of %zu events, %zu still queued",
                     fx->peer.seen_length, n,
                     doctor_sender_queued(fx->sender));
        }
        event_base_loop(fx->base, EVLOOP_ONCE);
    }
}

/* Runs the loop until '*value' reaches 'want', or fails after 5 s. */
static void
run_until_count(struct fixture *fx, const unsigned int *value,
                unsigned int want)
{
    int64_t deadline = vtime_mono_ns() + 5LL * 1000000000;

    while (*value < want) {
        if (vtime_mono_ns() > deadline) {
            fail_msg("count at %u, expected %u", *value, want);
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
    assert_int_equal(fx->peer.seen_length, n);
    for (size_t i = 0; i < n; i++) {
        if (fx->peer.seen[i] != first + (int) i) {
            fail_msg("event %zu is ev-%d, expected ev-%d", i,
                     fx->peer.seen[i], first + (int) i);
        }
    }
}

/* The rendered value of 'series' in the fixture's registry, or -1. Every
 * sample line follows a "# TYPE" line, so it starts after a newline. */
static long long
metric(struct fixture *fx, const char *series)
{
    struct evbuffer *out = evbuffer_new();
    struct evbuffer_ptr at;
    char key[160], digits[32] = "";

    assert_non_null(out);
    assert_int_equal(metrics_render(fx->metrics, out), 0);
    snprintf(key, sizeof key, "\n%s ", series);
    at = evbuffer_search(out, key, strlen(key), NULL);
    if (at.pos >= 0) {
        assert_int_equal(evbuffer_ptr_set(out, &at, strlen(key),
                                          EVBUFFER_PTR_ADD), 0);
        assert_true(evbuffer_copyout_from(out, &at, digits,
                                          sizeof digits - 1) > 0);
    }
    evbuffer_free(out);
    return digits[0] ? atoll(digits) : -1;
}

static void
test_one_event_at_once(void **state)
{
    struct fixture *fx = *state;
    struct doctor_sender_stats s;

    new_sender(fx, 100, 256);
    assert_int_equal(submit(fx, 0), 0);
    /* Sent from within the hand-over: in flight before the loop runs. */
    assert_int_equal(stats_of(fx).requests, 1);
    assert_int_equal(doctor_sender_queued(fx->sender), 1);
    run_until_seen(fx, 1);
    assert_in_order(fx, 0, 1);
    assert_false(fx->peer.malformed);
    assert_string_equal(fx->peer.method, "POST");
    s = stats_of(fx);
    assert_int_equal(s.reported, 1);
    assert_int_equal(s.requests, 1);
    assert_int_equal(s.failures, 0);
    assert_int_equal(s.dropped, 0);
    assert_int_equal(s.queued, 0);
    assert_int_equal(fx->reports.down + fx->reports.up, 0);
    /* The monitor's metric names, from its prefix. */
    assert_int_equal(metric(fx, PREFIX "_events_reported_total"), 1);
    assert_int_equal(metric(fx, PREFIX "_events_dropped_total"), 0);
    assert_int_equal(metric(fx, PREFIX "_report_failures_total"), 0);
    assert_int_equal(metric(fx, PREFIX "_queue_depth"), 0);
    assert_int_equal(metric(fx, PREFIX "_report_latency_seconds_count"), 1);
}

/* A sender (queue 100, batch 256) to a peer that answers 'status', with
 * events 0..n-1 handed over. */
static struct reports *
start_against(struct fixture *fx, int status, int n)
{
    new_sender(fx, 100, 256);
    fx->peer.status = status;
    submit_all(fx, 0, n);
    return &fx->reports;
}

/* Hands over 'n' events one at a time, at once (the first goes out alone,
 * the others queue behind it), runs the loop until the peer has them all,
 * and checks their order and the requests they took. */
static void
check_burst(struct fixture *fx, int n, size_t requests, size_t largest)
{
    submit_all(fx, 0, n);
    run_until_seen(fx, (size_t) n);
    assert_in_order(fx, 0, (size_t) n);
    assert_int_equal(fx->peer.requests, requests);
    assert_int_equal(stats_of(fx).requests, requests);
    assert_int_equal(fx->peer.largest_batch, largest);
    assert_int_equal(stats_of(fx).reported, n);
}

static void
test_burst_coalesces_in_order(void **state)
{
    struct fixture *fx = *state;

    new_sender(fx, 1000, 256);
    /* 1 + 256 + 43. */
    check_burst(fx, 300, 3, 256);
    assert_int_equal(metric(fx, PREFIX "_report_latency_seconds_count"), 300);
}

static void
test_batch_size(void **state)
{
    struct fixture *fx = *state;

    new_sender(fx, 100, 10);
    /* 1 + 10 + 10 + 10 + 4. */
    check_burst(fx, 35, 5, 10);
}

/* The serialised size of one event of make_event(). */
static size_t
event_size(void)
{
    struct doctor_event ev;
    json_t *obj;
    char *text;
    size_t size;

    make_event(&ev, 0);
    obj = doctor_event_to_json(&ev);
    assert_non_null(obj);
    text = json_dumps(obj, JSON_COMPACT);
    assert_non_null(text);
    size = strlen(text);
    free(text);
    json_decref(obj);
    doctor_event_clear(&ev);
    return size;
}

static void
test_body_cap(void **state)
{
    struct fixture *fx = *state;
    size_t one = event_size();
    struct doctor_sender_options o = options_of(fx, 100, 256);

    /* Room for three events ("[a,b,c]") but not four. */
    o.max_body_size = 2 + 3 * one + 2;
    new_sender_with(fx, &o);
    /* 1 + 3 + 3 + 3. */
    check_burst(fx, 10, 4, 3);
    assert_true(fx->peer.largest_body <= o.max_body_size);
}

static void
test_event_over_body_cap_goes_alone(void **state)
{
    struct fixture *fx = *state;
    struct doctor_sender_options o = options_of(fx, 100, 256);

    o.max_body_size = 16;
    new_sender_with(fx, &o);
    check_burst(fx, 4, 4, 1);
}

static void
test_several_events_per_call(void **state)
{
    struct fixture *fx = *state;
    struct doctor_sender_options o = options_of(fx, 100, 256);

    o.method = "PUT";
    new_sender_with(fx, &o);
    /* Handed over while idle: one request with all three. */
    assert_int_equal(send_range(fx, 0, 3), 0);
    assert_int_equal(stats_of(fx).requests, 1);
    /* Behind it: two calls coalesce into the next request. */
    assert_int_equal(send_range(fx, 3, 3), 0);
    assert_int_equal(send_range(fx, 6, 2), 0);
    assert_int_equal(doctor_sender_queued(fx->sender), 8);
    run_until_seen(fx, 8);
    assert_in_order(fx, 0, 8);
    assert_int_equal(fx->peer.requests, 2);
    assert_int_equal(fx->peer.largest_batch, 5);
    assert_string_equal(fx->peer.method, "PUT");
    assert_int_equal(send_range(fx, 8, 0), -EINVAL);
    assert_int_equal(stats_of(fx).dropped, 0);
}

static void
test_outage_probing_recovery(void **state)
{
    struct fixture *fx = *state;
    struct reports *r = start_against(fx, 503, 5);
    struct doctor_sender_stats s;
    size_t requests;

    run_until_count(fx, &r->down, 1);
    assert_false(r->reachable);
    assert_string_equal(r->error, "HTTP 503");
    assert_int_equal(r->failures, 1);
    /* Probing goes on, each failure reported as still down. */
    run_until_count(fx, &r->still_down, 2);
    assert_int_equal(r->down, 1);
    assert_int_equal(r->up, 0);
    assert_true(r->failures >= 3);
    s = stats_of(fx);
    assert_true(s.failures >= 3);
    assert_int_equal(s.reported, 0);
    assert_int_equal(s.queued, 5);
    assert_int_equal(metric(fx, PREFIX "_queue_depth"), 5);
    assert_true(metric(fx, PREFIX "_report_failures_total") >= 3);
    /* httpc retries each request once (two attempts). */
    assert_true(fx->peer.requests >= 2 * s.failures);
    /* More events while it is down queue behind the first ones. */
    submit_all(fx, 5, 3);
    requests = (size_t) s.requests;
    fx->peer.status = 200;
    run_until_seen(fx, 8);
    assert_in_order(fx, 0, 8);
    assert_int_equal(r->up, 1);
    assert_true(r->reachable);
    assert_true(r->outage_ns > 0);
    /* The probe carried everything queued. */
    assert_int_equal(r->delivered, 8);
    assert_int_equal(stats_of(fx).requests, requests + 1);
    s = stats_of(fx);
    assert_int_equal(s.reported, 8);
    assert_int_equal(s.dropped, 0);
    assert_int_equal(metric(fx, PREFIX "_queue_depth"), 0);
}

static void
test_peer_not_listening(void **state)
{
    struct fixture *fx = *state;
    struct reports *r = &fx->reports;
    uint16_t port = fx->peer.port;

    new_sender(fx, 100, 256);
    httpd_free(fx->peer.httpd);
    fx->peer.httpd = NULL;
    submit_all(fx, 0, 4);
    run_until_count(fx, &r->down, 1);
    assert_true(strlen(r->error) > 0);
    assert_true(strncmp(r->error, "HTTP", 4) != 0);
    assert_true(stats_of(fx).failures >= 1);
    assert_int_equal(doctor_sender_queued(fx->sender), 4);
    /* Back on the same port. */
    assert_int_equal(peer_listen(fx, port), 0);
    run_until_seen(fx, 4);
    assert_in_order(fx, 0, 4);
    assert_int_equal(r->up, 1);
}

static void
test_queue_full(void **state)
{
    struct fixture *fx = *state;
    struct reports *r = &fx->reports;
    struct doctor_sender_stats s;

    new_sender(fx, 3, 256);
    fx->peer.status = 503;
    submit_all(fx, 0, 2);
    /* All or nothing: two events do not fit in the one place left. */
    assert_int_equal(send_range(fx, 2, 2), -ENOBUFS);
    assert_int_equal(r->drops[DOCTOR_SENDER_DROP_FULL], 1);
    assert_int_equal(r->dropped_events[DOCTOR_SENDER_DROP_FULL], 2);
    assert_string_equal(r->first_refused, "ev-0002");
    assert_int_equal(submit(fx, 2), 0);
    assert_int_equal(submit(fx, 3), -ENOBUFS);
    assert_string_equal(r->first_refused, "ev-0003");
    run_for(fx, 50);
    /* Still full while the peer fails: the events in flight count. */
    assert_int_equal(submit(fx, 4), -ENOBUFS);
    s = stats_of(fx);
    assert_int_equal(s.dropped, 4);
    assert_int_equal(s.drops[DOCTOR_SENDER_DROP_FULL], 4);
    assert_int_equal(s.queued, 3);
    assert_int_equal(r->drops[DOCTOR_SENDER_DROP_FULL], 3);
    assert_int_equal(metric(fx, PREFIX "_events_dropped_total"), 4);
    /* Others count their drops in the same counter, from any thread,
     * without a callback. */
    doctor_sender_count_dropped(fx->sender, 2);
    assert_int_equal(metric(fx, PREFIX "_events_dropped_total"), 6);
    s = stats_of(fx);
    assert_int_equal(s.drops[DOCTOR_SENDER_DROP_UPSTREAM], 2);
    assert_int_equal(s.dropped, 6);
    assert_int_equal(r->drops[DOCTOR_SENDER_DROP_FULL], 3);
    fx->peer.status = 200;
    run_until_seen(fx, 3);
    assert_in_order(fx, 0, 3);
    /* Room again. */
    assert_int_equal(submit(fx, 3), 0);
    run_until_seen(fx, 4);
    assert_in_order(fx, 0, 4);
}

static void
test_rejected(void **state)
{
    struct fixture *fx = *state;
    struct reports *r = start_against(fx, 422, 2);

    run_until_count(fx, &r->drops[DOCTOR_SENDER_DROP_REJECTED], 2);
    /* Not retried: one request each (the second queued behind the
     * first). */
    assert_int_equal(fx->peer.requests, 2);
    assert_int_equal(r->dropped_events[DOCTOR_SENDER_DROP_REJECTED], 2);
    assert_int_equal(r->status, 422);
    assert_non_null(strstr(r->answer, "peer says 422"));
    assert_int_equal(doctor_sender_queued(fx->sender), 0);
    assert_int_equal(stats_of(fx).failures, 0);
    assert_int_equal(stats_of(fx).drops[DOCTOR_SENDER_DROP_REJECTED], 2);
    assert_int_equal(metric(fx, PREFIX "_events_dropped_total"), 2);
    /* The peer answers: it is not unreachable. */
    assert_int_equal(r->down, 0);
    /* Any 4xx but 408 and 429 is final. */
    fx->peer.status = 404;
    assert_int_equal(submit(fx, 2), 0);
    run_until_count(fx, &r->drops[DOCTOR_SENDER_DROP_REJECTED], 3);
    assert_int_equal(r->status, 404);
    assert_int_equal(fx->peer.requests, 3);
    fx->peer.status = 200;
    assert_int_equal(submit(fx, 3), 0);
    run_until_seen(fx, 1);
    assert_in_order(fx, 3, 1);
}

static void
test_408_and_429_are_retried(void **state)
{
    struct fixture *fx = *state;
    struct reports *r = start_against(fx, 408, 1);

    run_until_count(fx, &r->down, 1);
    assert_string_equal(r->error, "HTTP 408");
    fx->peer.status = 429;
    run_until_count(fx, &r->still_down, 1);
    assert_string_equal(r->error, "HTTP 429");
    assert_int_equal(doctor_sender_queued(fx->sender), 1);
    assert_int_equal(stats_of(fx).dropped, 0);
    fx->peer.status = 200;
    run_until_seen(fx, 1);
    assert_in_order(fx, 0, 1);
    assert_int_equal(r->up, 1);
    assert_int_equal(r->drops[DOCTOR_SENDER_DROP_REJECTED], 0);
}

/* Frees the sender, as a daemon does at shutdown. */
static void
shut_down(struct fixture *fx)
{
    doctor_sender_free(fx->sender);
    fx->sender = NULL;
    assert_int_equal(metric(fx, PREFIX "_queue_depth"), 0);
}

static void
test_shutdown_counts_leftovers(void **state)
{
    struct fixture *fx = *state;
    struct reports *r = start_against(fx, 503, 4);

    /* Freed with a request in flight and events behind it. */
    run_for(fx, 2);
    assert_int_equal(doctor_sender_queued(fx->sender), 4);
    shut_down(fx);
    assert_int_equal(r->drops[DOCTOR_SENDER_DROP_SHUTDOWN], 1);
    assert_int_equal(r->dropped_events[DOCTOR_SENDER_DROP_SHUTDOWN], 4);
    assert_int_equal(metric(fx, PREFIX "_events_dropped_total"), 4);
}

/* What the monitor does at shutdown: keep the loop running until the
 * queue is empty, through an outage, then free: nothing is lost. */
static void
test_drain_before_shutdown(void **state)
{
    struct fixture *fx = *state;
    struct reports *r = start_against(fx, 503, 6);

    run_until_count(fx, &r->down, 1);
    fx->peer.status = 200;
    /* Drains: runs until nothing is queued. */
    run_until_seen(fx, 6);
    shut_down(fx);
    assert_in_order(fx, 0, 6);
    assert_int_equal(r->drops[DOCTOR_SENDER_DROP_SHUTDOWN], 0);
    assert_int_equal(metric(fx, PREFIX "_events_dropped_total"), 0);
    assert_int_equal(metric(fx, PREFIX "_events_reported_total"), 6);
}

static void
test_bad_options(void **state)
{
    struct fixture *fx = *state;
    struct doctor_sender_options o = options_of(fx, 10, 10);
    struct doctor_sender *s;
    int error = 0;

    o.metrics = NULL;
    s = doctor_sender_new(fx->base, &o, &error);
    assert_non_null(s);
    doctor_sender_free(s);
    o.method = "GET";
    assert_null(doctor_sender_new(fx->base, &o, &error));
    assert_int_equal(error, -EINVAL);
    o.method = "PUT";
    o.queue_size = 0;
    assert_null(doctor_sender_new(fx->base, &o, &error));
    o.queue_size = 10;
    o.batch_size = DOCTOR_MAX_EVENTS + 1;
    assert_null(doctor_sender_new(fx->base, &o, &error));
    o.batch_size = 0;            /* the default */
    o.retry.max_backoff_ms = 2;
    assert_null(doctor_sender_new(fx->base, &o, &error));
    o.retry.max_backoff_ms = 20;
    o.retry.max_attempts = 0;
    assert_null(doctor_sender_new(fx->base, &o, &error));
    o.retry.max_attempts = 1;
    o.url = "ftp://127.0.0.1/events";
    assert_null(doctor_sender_new(fx->base, &o, &error));
    o.url = fx->url;
    o.metrics = fx->metrics;
    o.metrics_prefix = NULL;
    assert_null(doctor_sender_new(fx->base, &o, &error));
    assert_int_equal(error, -EINVAL);
    o.metrics_prefix = "bad prefix";
    assert_null(doctor_sender_new(fx->base, &o, &error));
    assert_int_equal(error, -ENOMEM);
    assert_null(doctor_sender_new(NULL, &o, &error));
    doctor_sender_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_event_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_burst_coalesces_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_batch_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_over_body_cap_goes_alone,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_events_per_call, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_outage_probing_recovery, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_peer_not_listening, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_queue_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_408_and_429_are_retried, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_counts_leftovers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_drain_before_shutdown, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
