/* Unit tests for inspector/host_fault: the host fault state machine with
 * real parts around it - a doctor_sender delivering alarms over HTTP to an
 * httpd on 127.0.0.1 that plays the notifier and records every event, the
 * inventory, real fencing commands (/bin/sh, counted in a file) and a real
 * SQLite state database. Nova is left out here (it runs for real in
 * tests/integration/test_openstack.py).
 *
 * Covered: the incident (fencing started, host alarm plus one alarm per VM
 * naming the host fault as cause, in one batch, stamped T03), idempotence
 * (a repeated down event neither fences nor alarms again), absorption of
 * the host's other events, the recovery hold with a flap inside it, the
 * recovery alarms, a second incident after a recovery, restart from the
 * state database without fencing again, fencing required but failing, and
 * alarms refused by a full outbox being re-sent by the next down event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doctor_event.h"
#include "doctor_sender.h"
#include "event_log.h"
#include "fence.h"
#include "host_fault.h"
#include "httpd.h"
#include "inventory.h"
#include "metrics.h"
#include "vtime.h"

#define HOST "compute-1"
#define HOLD_MS 80
#define VM(n) "c0000000-0000-4000-8000-00000000000" #n

struct fixture {
    struct event_base *base;
    struct httpd *httpd;
    struct doctor_sender *sender;
    struct event_log *log;
    struct inventory *inventory;
    struct fence *fence;
    struct metrics_registry *metrics;
    struct host_fault *hf;
    char dir[64];
    char db[128];
    char fenced_file[128];
    json_t *received;            /* every event the "notifier" got */
    int reply;                   /* status the "notifier" answers */
    int64_t time_ns;             /* event times, increasing */
};

static void
handle_events(struct evhttp_request *req, const struct httpd_params *params,
              void *arg)
{
    struct fixture *f = arg;
    json_t *body;

    (void) params;
    if (f->reply != 200) {
        httpd_reply_error(req, f->reply, "busy");
        return;
    }
    body = httpd_read_json(req);
    if (!body) {
        return;
    }
    assert_true(json_is_array(body));
    json_array_extend(f->received, body);
    json_decref(body);
    httpd_reply_json(req, 200, json_object());
}

static void
make_fence(struct fixture *f, const char *command)
{
    struct fence_options o = { .mode = FENCE_COMMAND, .command = command,
                               .timeout_ms = 5000 };

    f->fence = fence_new(f->base, NULL, &o, NULL);
    assert_non_null(f->fence);
}

static void
make_hf(struct fixture *f, bool required)
{
    struct host_fault_options o = {
        .base = f->base, .sender = f->sender, .log = f->log,
        .inventory = f->inventory, .fence = f->fence, .metrics = f->metrics,
        .fence_required = required, .force_down = true, .reset_state = true,
        .unset_forced_down = true, .recover_instances = true,
        .recovery_hold_ns = HOLD_MS * 1000000LL, .state_db = f->db,
    };
    char err[256] = "";
    int error = 1;

    f->hf = host_fault_new(&o, &error, err, sizeof err);
    if (!f->hf) {
        fail_msg("host_fault_new: %d %s", error, err);
    }
    assert_int_equal(error, 0);
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct httpd_options ho = { .address = "127.0.0.1" };
    struct doctor_sender_options so = {
        .queue_size = 100, .timeout_ms = 2000,
        .retry = { .max_attempts = 1, .initial_backoff_ms = 10,
                   .max_backoff_ms = 40 },
    };
    char url[128], cmd[256];
    int error = 0;

    assert_non_null(f);
    f->base = event_base_new();
    f->metrics = metrics_registry_new();
    f->received = json_array();
    f->reply = 200;
    f->time_ns = vtime_real_ns();
    f->httpd = httpd_new(f->base, &ho, &error);
    assert_non_null(f->httpd);
    assert_int_equal(httpd_route(f->httpd, EVHTTP_REQ_POST, "/v1/events",
                                 handle_events, f), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/events",
             httpd_port(f->httpd));
    so.url = url;
    f->sender = doctor_sender_new(f->base, &so, &error);
    assert_non_null(f->sender);
    f->log = event_log_new(100);
    f->inventory = inventory_new(NULL);
    snprintf(f->dir, sizeof f->dir, "/tmp/vigil-hf-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof f->db, "%s/state.db", f->dir);
    snprintf(f->fenced_file, sizeof f->fenced_file, "%s/fenced", f->dir);
    assert_int_equal(inventory_set(f->inventory, VM(1), HOST),
                     INVENTORY_ADDED);
    assert_int_equal(inventory_set(f->inventory, VM(2), HOST),
                     INVENTORY_ADDED);
    assert_int_equal(inventory_set(f->inventory, VM(3), HOST),
                     INVENTORY_ADDED);
    assert_int_equal(inventory_set(f->inventory, VM(9), "compute-2"),
                     INVENTORY_ADDED);
    snprintf(cmd, sizeof cmd, "echo \"$1\" >> %s", f->fenced_file);
    make_fence(f, cmd);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];

    host_fault_free(f->hf);
    fence_free(f->fence);
    httpd_free(f->httpd);
    doctor_sender_free(f->sender);
    inventory_free(f->inventory);
    event_log_free(f->log);
    metrics_registry_free(f->metrics);
    event_base_free(f->base);
    json_decref(f->received);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Runs the loop until 'cond' holds (at most 10 s). */
static void
run_until(struct fixture *f, bool (*cond)(struct fixture *))
{
    int64_t deadline = vtime_mono_ns() + 10LL * 1000000000LL;

    while (!cond(f)) {
        assert_true(vtime_mono_ns() < deadline);
        event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        usleep(1000);
    }
}

/* Runs the loop for 'ms' milliseconds. */
static void
run_for(struct fixture *f, int ms)
{
    int64_t end = vtime_mono_ns() + (int64_t) ms * 1000000;

    while (vtime_mono_ns() < end) {
        event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        usleep(1000);
    }
}

static int
fence_runs(struct fixture *f)
{
    FILE *in = fopen(f->fenced_file, "r");
    char line[128];
    int n = 0;

    if (!in) {
        return 0;
    }
    while (fgets(line, sizeof line, in)) {
        n++;
    }
    fclose(in);
    return n;
}

static void
event(struct fixture *f, struct doctor_event *ev, const char *type,
      const char *host, const char *instance)
{
    assert_int_equal(doctor_event_init(ev), 0);
    snprintf(ev->id, sizeof ev->id, "ev-%lld", (long long) f->time_ns);
    snprintf(ev->type, sizeof ev->type, "%s", type);
    ev->time_ns = f->time_ns;
    f->time_ns += 1000;
    assert_int_equal(doctor_event_set_detail(ev, "hostname", host), 0);
    assert_int_equal(doctor_event_set_detail(ev, "status",
        strstr(type, ".up") ? "up" : "down"), 0);
    assert_int_equal(doctor_event_set_detail(ev, "monitor", "unit"), 0);
    assert_int_equal(doctor_event_set_detail(ev, "monitor_event_id", "m-1"),
                     0);
    if (instance) {
        assert_int_equal(doctor_event_set_detail(ev, "instance_uuid",
                                                 instance), 0);
    }
    ev->stamps[DOCTOR_T02] = vtime_mono_ns();
}

static enum host_fault_outcome
handle(struct fixture *f, const char *type, const char *host, int expect)
{
    enum host_fault_outcome outcome = HOST_FAULT_OUTCOME_COUNT;
    struct doctor_event ev;

    event(f, &ev, type, host, NULL);
    assert_int_equal(host_fault_handle(f->hf, &ev, &outcome), expect);
    doctor_event_clear(&ev);
    return outcome;
}

static size_t
received(struct fixture *f)
{
    return json_array_size(f->received);
}

static const char *
detail(json_t *e, const char *key)
{
    return json_string_value(json_object_get(json_object_get(e, "details"),
                                             key));
}

static bool
got_four(struct fixture *f)
{
    return received(f) >= 4;
}

static bool
got_eight(struct fixture *f)
{
    return received(f) >= 8;
}

static bool
fenced_once(struct fixture *f)
{
    struct host_fault_state s;

    return host_fault_get_state(f->hf, HOST, &s) == 0 && s.fenced;
}

/* The incident: fencing, then one batch of alarms: the host event and one
 * compute.instance.down per VM, naming the host fault as cause. */
static void
test_incident(void **state)
{
    struct fixture *f = *state;
    struct host_fault_state s;
    json_t *host_alarm;
    bool seen[4] = { false };
    const char *cause_id;

    make_hf(f, false);
    assert_int_equal(handle(f, "compute.host.down", HOST, 0),
                     HOST_FAULT_INCIDENT);
    run_until(f, got_four);
    run_until(f, fenced_once);
    assert_int_equal(fence_runs(f), 1);
    assert_int_equal(received(f), 4);
    host_alarm = json_array_get(f->received, 0);
    assert_string_equal(json_string_value(json_object_get(host_alarm,
                                                          "type")),
                        "compute.host.down");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(
        host_alarm, "details"), "vm_count")), 3);
    cause_id = json_string_value(json_object_get(host_alarm, "id"));
    for (size_t i = 1; i < 4; i++) {
        json_t *e = json_array_get(f->received, i);
        json_t *profiler = json_object_get(e, "profiler");
        const char *uuid = detail(e, "instance_uuid");

        assert_string_equal(json_string_value(json_object_get(e, "type")),
                            "compute.instance.down");
        assert_string_equal(detail(e, "hostname"), HOST);
        assert_string_equal(detail(e, "status"), "down");
        assert_string_equal(detail(e, "cause"), "compute.host.down");
        assert_string_equal(detail(e, "cause_event_id"), cause_id);
        assert_string_equal(detail(e, "monitor"), "unit");
        assert_true(json_integer_value(json_object_get(profiler, "T03"))
                    >= json_integer_value(json_object_get(profiler, "T02")));
        assert_true(json_integer_value(json_object_get(profiler, "T06"))
                    >= json_integer_value(json_object_get(profiler, "T03")));
        assert_non_null(uuid);
        seen[uuid[35] - '0'] = true;
    }
    assert_true(seen[1] && seen[2] && seen[3]);
    assert_int_equal(host_fault_get_state(f->hf, HOST, &s), 0);
    assert_true(s.down);
    assert_false(s.recovering);
    assert_int_equal(s.vms, 3);
    assert_int_equal(s.fence_runs, 1);
    assert_int_equal(host_fault_down_hosts(f->hf), 1);
    assert_int_equal(host_fault_get_state(f->hf, "compute-2", &s), -ENOENT);
}

/* Repeated down events: absorbed, no fencing, no alarm. The host's other
 * events are absorbed; another host's are not. */
static void
test_idempotent_and_absorbing(void **state)
{
    struct fixture *f = *state;
    struct host_fault_state s;
    struct doctor_event ev;

    make_hf(f, false);
    handle(f, "compute.host.down", HOST, 0);
    run_until(f, got_four);
    run_until(f, fenced_once);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(handle(f, "compute.host.down", HOST, 0),
                         HOST_FAULT_REPEATED);
    }
    run_for(f, 100);
    assert_int_equal(received(f), 4);
    assert_int_equal(fence_runs(f), 1);

    event(f, &ev, "compute.instance.down", HOST, VM(2));
    assert_true(host_fault_absorbs(f->hf, &ev));
    doctor_event_clear(&ev);
    /* By the inventory: reported with another host name. */
    event(f, &ev, "compute.instance.down", "elsewhere", VM(3));
    assert_true(host_fault_absorbs(f->hf, &ev));
    doctor_event_clear(&ev);
    event(f, &ev, "compute.host.nic.down", HOST, NULL);
    assert_true(host_fault_absorbs(f->hf, &ev));
    doctor_event_clear(&ev);
    event(f, &ev, "compute.instance.down", "compute-2", VM(9));
    assert_false(host_fault_absorbs(f->hf, &ev));
    doctor_event_clear(&ev);
    assert_int_equal(host_fault_get_state(f->hf, HOST, &s), 0);
    assert_int_equal(s.absorbed, 5 + 3);
    assert_int_equal(s.fence_runs, 1);
}

static bool
recovered(struct fixture *f)
{
    struct host_fault_state s;

    return host_fault_get_state(f->hf, HOST, &s) == 0 && !s.down;
}

/* up -> hold; down during the hold is a flap (nothing repeated); up again
 * and the hold passes: recovery alarms. Then a new incident fences again. */
static void
test_hold_flap_recovery(void **state)
{
    struct fixture *f = *state;
    struct host_fault_state s;
    struct doctor_event ev;

    make_hf(f, false);
    handle(f, "compute.host.down", HOST, 0);
    run_until(f, got_four);
    run_until(f, fenced_once);

    assert_int_equal(handle(f, "compute.host.up", HOST, 0),
                     HOST_FAULT_HOLDING);
    assert_int_equal(host_fault_get_state(f->hf, HOST, &s), 0);
    assert_true(s.down && s.recovering);
    assert_int_equal(handle(f, "compute.host.up", HOST, 0),
                     HOST_FAULT_UP_REPEATED);
    assert_int_equal(handle(f, "compute.host.down", HOST, 0),
                     HOST_FAULT_FLAP);
    run_for(f, 2 * HOLD_MS);
    assert_int_equal(host_fault_get_state(f->hf, HOST, &s), 0);
    assert_true(s.down);
    assert_false(s.recovering);
    assert_int_equal(received(f), 4);
    assert_int_equal(fence_runs(f), 1);

    assert_int_equal(handle(f, "compute.host.up", HOST, 0),
                     HOST_FAULT_HOLDING);
    run_until(f, recovered);
    run_until(f, got_eight);
    assert_string_equal(json_string_value(json_object_get(
        json_array_get(f->received, 4), "type")), "compute.host.up");
    for (size_t i = 5; i < 8; i++) {
        json_t *e = json_array_get(f->received, i);

        assert_string_equal(json_string_value(json_object_get(e, "type")),
                            "compute.instance.up");
        assert_string_equal(detail(e, "cause"), "compute.host.up");
        assert_string_equal(detail(e, "status"), "up");
    }
    assert_int_equal(host_fault_down_hosts(f->hf), 0);
    event(f, &ev, "compute.instance.down", HOST, VM(1));
    assert_false(host_fault_absorbs(f->hf, &ev));
    doctor_event_clear(&ev);
    /* An up for a host that is up goes on as it is. */
    assert_int_equal(handle(f, "compute.host.up", HOST, 0),
                     HOST_FAULT_FORWARDED);
    assert_int_equal(handle(f, "compute.host.up", "compute-9", 0),
                     HOST_FAULT_FORWARDED);

    assert_int_equal(handle(f, "compute.host.down", HOST, 0),
                     HOST_FAULT_INCIDENT);
    run_until(f, fenced_once);
    assert_int_equal(fence_runs(f), 2);
}

/* A restarted inspector reads its state database: the host is still down
 * and fenced, a repeated down event neither fences nor alarms. */
static void
test_restart(void **state)
{
    struct fixture *f = *state;
    struct host_fault_state s;

    make_hf(f, false);
    handle(f, "compute.host.down", HOST, 0);
    run_until(f, got_four);
    run_until(f, fenced_once);
    host_fault_free(f->hf);
    f->hf = NULL;
    make_hf(f, false);
    assert_int_equal(host_fault_get_state(f->hf, HOST, &s), 0);
    assert_true(s.down);
    assert_true(s.fenced);
    assert_int_equal(s.vms, 3);
    assert_int_equal(host_fault_down_hosts(f->hf), 1);
    assert_int_equal(handle(f, "compute.host.down", HOST, 0),
                     HOST_FAULT_REPEATED);
    run_for(f, 100);
    assert_int_equal(fence_runs(f), 1);
    assert_int_equal(received(f), 4);
    /* Its recovery still names its VMs. */
    assert_int_equal(handle(f, "compute.host.up", HOST, 0),
                     HOST_FAULT_HOLDING);
    run_until(f, got_eight);
    run_until(f, recovered);
    host_fault_free(f->hf);
    f->hf = NULL;
    /* Recovered hosts are gone from the database. */
    make_hf(f, false);
    assert_int_equal(host_fault_down_hosts(f->hf), 0);
}

static bool
fence_failed(struct fixture *f)
{
    struct host_fault_state s;

    return host_fault_get_state(f->hf, HOST, &s) == 0 && !s.fence_running
           && s.fence_runs >= 1;
}

/* Fencing required and failing: the alarms still go first; the host is
 * not taken as fenced. */
static void
test_fence_required_fails(void **state)
{
    struct fixture *f = *state;
    struct host_fault_state s;

    fence_free(f->fence);
    make_fence(f, "exit 1");
    make_hf(f, true);
    assert_int_equal(handle(f, "compute.host.down", HOST, 0),
                     HOST_FAULT_INCIDENT);
    run_until(f, got_four);
    run_until(f, fence_failed);
    assert_int_equal(host_fault_get_state(f->hf, HOST, &s), 0);
    assert_true(s.down);
    assert_false(s.fenced);
    assert_false(s.forced_down);
}

static bool
sender_idle(struct fixture *f)
{
    return doctor_sender_queued(f->sender) == 0;
}

static bool
got_eight_any(struct fixture *f)
{
    return received(f) >= 8;
}

/* The notifier's outbox is full: the incident is recorded, its alarms are
 * re-sent (same ids) by the next down event of the host. */
static void
test_refused_then_resent(void **state)
{
    struct fixture *f = *state;
    struct doctor_sender_options so = {
        .queue_size = 6, .timeout_ms = 2000,
        .retry = { .max_attempts = 1, .initial_backoff_ms = 10,
                   .max_backoff_ms = 20 },
    };
    char url[128];
    const char *first_id;
    json_t *ids = json_object();

    for (int i = 4; i <= 6; i++) {
        char uuid[40];

        snprintf(uuid, sizeof uuid, "c0000000-0000-4000-8000-00000000000%d",
                 i);
        assert_int_equal(inventory_set(f->inventory, uuid, "compute-2"),
                         INVENTORY_ADDED);
    }
    doctor_sender_free(f->sender);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/events",
             httpd_port(f->httpd));
    so.url = url;
    f->sender = doctor_sender_new(f->base, &so, NULL);
    assert_non_null(f->sender);
    fence_free(f->fence);
    f->fence = NULL;
    make_hf(f, false);
    f->reply = 503;                 /* the notifier is busy */
    assert_int_equal(handle(f, "compute.host.down", HOST, 0),
                     HOST_FAULT_INCIDENT);
    /* 4 alarms held; compute-2's 5 do not fit into the 6 places. */
    assert_int_equal(handle(f, "compute.host.down", "compute-2", -ENOBUFS),
                     HOST_FAULT_INCIDENT);
    f->reply = 200;
    run_until(f, got_four);
    run_until(f, sender_idle);
    assert_int_equal(received(f), 4);
    assert_int_equal(handle(f, "compute.host.down", "compute-2", 0),
                     HOST_FAULT_REPEATED);
    run_until(f, got_eight_any);
    run_for(f, 50);
    assert_int_equal(received(f), 4 + 5);
    first_id = json_string_value(json_object_get(json_array_get(f->received,
                                                                4), "id"));
    assert_non_null(first_id);
    for (size_t i = 4; i < 9; i++) {
        json_t *e = json_array_get(f->received, i);

        assert_string_equal(detail(e, "hostname"), "compute-2");
        json_object_set(ids, json_string_value(json_object_get(e, "id")),
                        json_true());
    }
    assert_int_equal(json_object_size(ids), 5);
    json_decref(ids);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_incident, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotent_and_absorbing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hold_flap_recovery, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fence_required_fails, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refused_then_resent, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
