/* Unit tests of doctor_sender against a real HTTP peer (httpd on
 * 127.0.0.1) on one event loop: delivery, order, outage and recovery,
 * refusals and a full outbox. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <event2/event.h>
#include <event2/http.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "doctor_sender.h"
#include "httpd.h"
#include "vtime.h"

struct peer {
    int status;                 /* what the peer answers */
    size_t requests;
    size_t events;
    char last_ids[8][64];       /* ids of the events received, in order */
    size_t ids;
};

struct fixture {
    struct event_base *base;
    struct httpd *httpd;
    struct httpc *client;
    struct doctor_sender *sender;
    struct peer peer;
    int state_changes;
    bool reachable;
    char url[64];
};

static void
peer_events(struct evhttp_request *req, const struct httpd_params *params,
            void *arg)
{
    struct peer *peer = arg;
    json_t *body = httpd_read_json(req);
    size_t i;
    json_t *ev;

    (void) params;
    if (!body) {
        return;
    }
    peer->requests++;
    if (peer->status == 200) {
        json_array_foreach(body, i, ev) {
            if (peer->ids < 8) {
                snprintf(peer->last_ids[peer->ids++], 64, "%s",
                         json_string_value(json_object_get(ev, "id")));
            }
            peer->events++;
        }
    }
    json_decref(body);
    if (peer->status == 200) {
        httpd_reply_json(req, 200, json_object());
    } else {
        httpd_reply_error(req, peer->status, "test peer says %d",
                          peer->status);
    }
}

static void
on_state(struct doctor_sender *sender, bool reachable, const char *error,
         void *arg)
{
    struct fixture *f = arg;

    (void) sender;
    (void) error;
    f->state_changes++;
    f->reachable = reachable;
}

static int
setup(void **state)
{
    static struct fixture f;
    struct httpd_options ho = { .address = "127.0.0.1" };
    struct doctor_sender_options so = { 0 };
    int error = 0;

    memset(&f, 0, sizeof f);
    f.base = event_base_new();
    f.peer.status = 200;
    f.httpd = httpd_new(f.base, &ho, &error);
    assert_non_null(f.httpd);
    assert_int_equal(httpd_route(f.httpd, EVHTTP_REQ_POST, "/events",
                                 peer_events, &f.peer), 0);
    snprintf(f.url, sizeof f.url, "http://127.0.0.1:%u/events",
             httpd_port(f.httpd));
    f.client = httpc_new(f.base, &(struct httpc_options) { 0 });
    so.url = f.url;
    so.max_queue = 4;
    so.max_in_flight = 1;       /* strict order for the assertions */
    so.retry = (struct httpc_retry) { 1, 10, 20 };
    so.probe_backoff_max_ms = 20;
    so.on_state = on_state;
    so.arg = &f;
    f.reachable = true;
    f.sender = doctor_sender_new(f.base, f.client, &so);
    assert_non_null(f.sender);
    *state = &f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    httpd_free(f->httpd);
    httpc_free(f->client);
    doctor_sender_free(f->sender);
    event_base_free(f->base);
    return 0;
}

/* Runs the loop until nothing is queued or 5 s pass. */
static void
drain(struct fixture *f)
{
    int64_t deadline = vtime_mono_ns() + 5000000000LL;

    while (doctor_sender_queued(f->sender) && vtime_mono_ns() < deadline) {
        event_base_loop(f->base, EVLOOP_ONCE);
    }
}

static void
make_event(struct doctor_event *ev, const char *id)
{
    assert_int_equal(doctor_event_init(ev), 0);
    snprintf(ev->id, sizeof ev->id, "%s", id);
    snprintf(ev->type, sizeof ev->type, "compute.host.down");
    assert_int_equal(doctor_event_set_detail(ev, "hostname", "compute-1"), 0);
    ev->time_ns = 1;
}

static void
send_one(struct fixture *f, const char *id, int expected)
{
    struct doctor_event ev;

    make_event(&ev, id);
    assert_int_equal(doctor_sender_send(f->sender, &ev, 1), expected);
    doctor_event_clear(&ev);
}

static void
test_delivers_in_order(void **state)
{
    struct fixture *f = *state;
    struct doctor_sender_stats st;

    send_one(f, "e1", 0);
    send_one(f, "e2", 0);
    send_one(f, "e3", 0);
    assert_int_equal(doctor_sender_queued(f->sender), 3);
    drain(f);
    assert_int_equal(doctor_sender_queued(f->sender), 0);
    assert_int_equal(f->peer.events, 3);
    assert_string_equal(f->peer.last_ids[0], "e1");
    assert_string_equal(f->peer.last_ids[2], "e3");
    doctor_sender_get_stats(f->sender, &st);
    assert_int_equal(st.sent, 3);
    assert_int_equal(f->state_changes, 0);
}

static void
test_outage_holds_then_delivers(void **state)
{
    struct fixture *f = *state;
    struct doctor_sender_stats st;
    int64_t deadline = vtime_mono_ns() + 5000000000LL;

    f->peer.status = 503;
    send_one(f, "a", 0);
    send_one(f, "b", 0);
    while (f->reachable && vtime_mono_ns() < deadline) {
        event_base_loop(f->base, EVLOOP_ONCE);
    }
    assert_false(f->reachable);
    assert_int_equal(f->state_changes, 1);
    /* Probing goes on; nothing is acknowledged while the peer fails. */
    while (f->peer.requests < 3 && vtime_mono_ns() < deadline) {
        event_base_loop(f->base, EVLOOP_ONCE);
    }
    assert_int_equal(doctor_sender_queued(f->sender), 2);
    f->peer.status = 200;
    drain(f);
    assert_true(f->reachable);
    assert_int_equal(f->state_changes, 2);
    assert_int_equal(f->peer.events, 2);
    assert_string_equal(f->peer.last_ids[0], "a");
    assert_string_equal(f->peer.last_ids[1], "b");
    doctor_sender_get_stats(f->sender, &st);
    assert_true(st.failures >= 2);
    assert_int_equal(st.sent, 2);
}

static void
test_refused_batches_are_not_retried(void **state)
{
    struct fixture *f = *state;
    struct doctor_sender_stats st;

    f->peer.status = 400;
    send_one(f, "bad", 0);
    drain(f);
    doctor_sender_get_stats(f->sender, &st);
    assert_int_equal(st.rejected, 1);
    assert_int_equal(f->peer.requests, 1);
    assert_true(f->reachable);
}

static void
test_full_outbox_refuses(void **state)
{
    struct fixture *f = *state;
    struct doctor_sender_stats st;
    struct doctor_event evs[3];

    for (int i = 0; i < 3; i++) {
        make_event(&evs[i], "x");
    }
    assert_int_equal(doctor_sender_send(f->sender, evs, 3), 0);
    assert_int_equal(doctor_sender_send(f->sender, evs, 2), -ENOBUFS);
    assert_int_equal(doctor_sender_send(f->sender, evs, 0), -EINVAL);
    send_one(f, "fits", 0);
    doctor_sender_get_stats(f->sender, &st);
    assert_int_equal(st.dropped, 2);
    drain(f);
    assert_int_equal(f->peer.events, 4);
    for (int i = 0; i < 3; i++) {
        doctor_event_clear(&evs[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delivers_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_outage_holds_then_delivers,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_batches_are_not_retried,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_outbox_refuses, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
