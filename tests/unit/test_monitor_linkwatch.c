/* Unit tests for monitor/linkwatch against the real kernel: the test moves
 * itself into a network namespace of its own (unshare(CLONE_NEWNET); it
 * skips without the privilege), makes veth pairs with ip(8) and checks the
 * events rtnetlink brings: an interface down or missing at start is
 * reported at once, admin down and a lost carrier are NIC faults, coming
 * back is a recovery (only after a fault), deletion and renaming are
 * faults, unwatched interfaces say nothing, bad options are refused. */
#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "doctor_event.h"
#include "linkwatch.h"
#include "vlog.h"
#include "vtime.h"

#define MS 1000000LL
#define MAX_CAPTURED 32
#define WAIT_MS 5000

static bool have_netns;

struct captured {
    char type[DOCTOR_TYPE_SIZE];
    json_t *details;
};

struct fixture {
    struct event_base *base;
    struct event *tick;
    struct linkwatch *lw;
    struct captured events[MAX_CAPTURED];
    size_t length;
};

static void
on_event(const struct doctor_event *ev, void *arg)
{
    struct fixture *f = arg;
    struct captured *e;

    assert_true(f->length < MAX_CAPTURED);
    assert_string_equal(ev->hostname, "compute-nic");
    assert_true(ev->stamps[DOCTOR_T01] > 0);
    e = &f->events[f->length++];
    snprintf(e->type, sizeof e->type, "%s", ev->type);
    e->details = json_deep_copy(ev->details);
    assert_non_null(e->details);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    (void) arg;
}

static void
sh(const char *fmt, ...)
{
    char command[256];
    va_list args;

    va_start(args, fmt);
    vsnprintf(command, sizeof command, fmt, args);
    va_end(args);
    assert_int_equal(system(command), 0);
}

/* Runs the loop until 'count' events in all, or fails after WAIT_MS. */
static void
wait_events(struct fixture *f, size_t count)
{
    int64_t deadline = vtime_mono_ns() + WAIT_MS * MS;

    while (f->length < count) {
        assert_true(vtime_mono_ns() < deadline);
        event_base_loop(f->base, EVLOOP_ONCE);
    }
}

static void
run_for(struct fixture *f, int64_t ms)
{
    int64_t deadline = vtime_mono_ns() + ms * MS;

    while (vtime_mono_ns() < deadline) {
        event_base_loop(f->base, EVLOOP_ONCE);
    }
}

/* Waits until the kernel reports 'name' operationally up (carrier changes
 * reach operstate through the kernel's deferred link work). ip(8), since
 * /sys still shows the namespace it was mounted in. */
static void
wait_operstate_up(const char *name)
{
    int64_t deadline = vtime_mono_ns() + WAIT_MS * MS;
    char command[128];

    snprintf(command, sizeof command,
             "ip link show %s | grep -q 'state UP'", name);
    while (system(command) != 0) {
        assert_true(vtime_mono_ns() < deadline);
        usleep(1000);
    }
}

static const char *
detail_string(const struct captured *e, const char *key)
{
    const char *v = json_string_value(json_object_get(e->details, key));

    assert_non_null(v);
    return v;
}

static bool
detail_bool(const struct captured *e, const char *key)
{
    json_t *v = json_object_get(e->details, key);

    assert_true(json_is_boolean(v));
    return json_is_true(v);
}

static void
start(struct fixture *f, const char *const *names, size_t length)
{
    struct linkwatch_options o = {
        .hostname = "compute-nic", .interfaces = names,
        .interfaces_length = length,
    };
    int err = 0;

    f->lw = linkwatch_new(f->base, &o, on_event, f, &err);
    assert_int_equal(err, 0);
    assert_non_null(f->lw);
}

static int
setup(void **state)
{
    struct fixture *f;
    struct timeval tick = { 0, 10000 };

    *state = NULL;
    if (!have_netns) {
        return 0;
    }
    f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->base = event_base_new();
    assert_non_null(f->base);
    f->tick = event_new(f->base, -1, EV_PERSIST, on_tick, NULL);
    assert_non_null(f->tick);
    assert_int_equal(event_add(f->tick, &tick), 0);
    sh("ip link add vw0 type veth peer name vw1");
    sh("ip link add vx0 type veth peer name vx1");
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    if (!f) {
        return 0;
    }
    linkwatch_free(f->lw);
    for (size_t i = 0; i < f->length; i++) {
        json_decref(f->events[i].details);
    }
    event_free(f->tick);
    event_base_free(f->base);
    free(f);
    /* Deleting one end of a pair deletes both; some may be gone. */
    if (system("ip link del vw0 2>/dev/null; ip link del vx0 2>/dev/null; "
               "ip link del vw9 2>/dev/null; true")) {
        return -1;
    }
    return 0;
}

static void
test_down_at_start_then_up_and_faults(void **state)
{
    struct fixture *f = *state;
    const char *names[] = { "vw0", "vw1" };
    struct linkwatch_link link;
    struct linkwatch_stats stats;
    const struct captured *e;

    if (!f) {
        skip();
    }

    /* New veths are down: both reported at start. */
    start(f, names, 2);
    wait_events(f, 2);
    for (size_t i = 0; i < 2; i++) {
        e = &f->events[i];
        assert_string_equal(e->type, "compute.host.nic.down");
        assert_string_equal(detail_string(e, "status"), "down");
        assert_string_equal(detail_string(e, "monitor"), "vigil-monitor");
        assert_string_equal(detail_string(e, "operstate"), "DOWN");
        assert_false(detail_bool(e, "admin_up"));
        assert_true(detail_bool(e, "initial"));
        assert_string_equal(detail_string(e, "netlink_event"), "DUMP");
    }
    assert_string_not_equal(detail_string(&f->events[0], "interface"),
                            detail_string(&f->events[1], "interface"));
    linkwatch_get_stats(f->lw, &stats);
    assert_true(stats.dumps == 1);

    /* Both up: two recoveries. */
    sh("ip link set vw0 up && ip link set vw1 up");
    wait_events(f, 4);
    for (size_t i = 2; i < 4; i++) {
        e = &f->events[i];
        assert_string_equal(e->type, "compute.host.nic.up");
        assert_string_equal(detail_string(e, "status"), "up");
        assert_string_equal(detail_string(e, "operstate"), "UP");
        assert_true(detail_bool(e, "carrier"));
        assert_true(detail_bool(e, "admin_up"));
        assert_null(json_object_get(e->details, "initial"));
        assert_string_equal(detail_string(e, "netlink_event"), "NEWLINK");
        assert_true(json_is_integer(json_object_get(e->details, "ifindex")));
    }
    assert_int_equal(linkwatch_get_link(f->lw, "vw0", &link), 0);
    assert_true(link.up && link.present && link.carrier && link.admin_up);

    /* The far end goes down: vw1 admin down, vw0 loses its carrier. */
    sh("ip link set vw1 down");
    wait_events(f, 6);
    for (size_t i = 4; i < 6; i++) {
        e = &f->events[i];
        assert_string_equal(e->type, "compute.host.nic.down");
        if (!strcmp(detail_string(e, "interface"), "vw0")) {
            assert_true(detail_bool(e, "admin_up"));
            assert_false(detail_bool(e, "carrier"));
            assert_string_equal(detail_string(e, "operstate"),
                                "LOWERLAYERDOWN");
        } else {
            assert_string_equal(detail_string(e, "interface"), "vw1");
            assert_false(detail_bool(e, "admin_up"));
            assert_string_equal(detail_string(e, "operstate"), "DOWN");
        }
    }
    sh("ip link set vw1 up");
    wait_events(f, 8);
    assert_string_equal(f->events[6].type, "compute.host.nic.up");
    assert_string_equal(f->events[7].type, "compute.host.nic.up");

    /* Deleted: both ends down (the kernel closes them before it deletes
     * them: NEWLINK down, then DELLINK), then gone. */
    sh("ip link del vw0");
    wait_events(f, 10);
    for (size_t i = 8; i < 10; i++) {
        assert_string_equal(f->events[i].type, "compute.host.nic.down");
    }
    run_for(f, 50);
    assert_int_equal(f->length, 10);
    assert_int_equal(linkwatch_get_link(f->lw, "vw0", &link), 0);
    assert_false(link.present);
    assert_int_equal(link.operstate, 1);    /* IF_OPER_NOTPRESENT */
    /* Back, but down: still down, nothing new. Up: recovered. */
    sh("ip link add vw0 type veth peer name vw1");
    run_for(f, 100);
    assert_int_equal(f->length, 10);
    sh("ip link set vw0 up && ip link set vw1 up");
    wait_events(f, 12);
    assert_string_equal(f->events[10].type, "compute.host.nic.up");
    assert_string_equal(f->events[11].type, "compute.host.nic.up");
    linkwatch_get_stats(f->lw, &stats);
    assert_true(stats.downs == 6 && stats.ups == 6);
}

static void
test_unwatched_and_renamed(void **state)
{
    struct fixture *f = *state;
    const char *names[] = { "vx0", "missing0" };
    struct linkwatch_link link;
    const struct captured *e;

    if (!f) {
        skip();
    }

    sh("ip link set vx0 up && ip link set vx1 up");
    wait_operstate_up("vx0");
    start(f, names, 2);
    /* missing0 does not exist: reported at start; vx0 is up: not. */
    wait_events(f, 1);
    e = &f->events[0];
    assert_string_equal(e->type, "compute.host.nic.down");
    assert_string_equal(detail_string(e, "interface"), "missing0");
    assert_string_equal(detail_string(e, "operstate"), "NOTPRESENT");
    assert_true(detail_bool(e, "initial"));
    /* Interfaces nobody watches change nothing. */
    sh("ip link set vw0 up && ip link set vw1 up && ip link set vw1 down");
    run_for(f, 100);
    assert_int_equal(f->length, 1);
    assert_int_equal(linkwatch_get_link(f->lw, "vw0", &link), -ENOENT);
    /* vx0 renamed (it must be down for that) and up again as vw9: vx0 is
     * gone. */
    sh("ip link set vx0 down && ip link set vx0 name vw9 && "
       "ip link set vw9 up");
    wait_events(f, 2);
    run_for(f, 100);
    assert_int_equal(f->length, 2);
    e = &f->events[1];
    assert_string_equal(e->type, "compute.host.nic.down");
    assert_string_equal(detail_string(e, "interface"), "vx0");
    assert_int_equal(linkwatch_get_link(f->lw, "vx0", &link), 0);
    assert_false(link.present);
    assert_false(link.up);
    /* missing0 appears, up (a veth whose peer is up): recovered. */
    sh("ip link add missing0 type veth peer name missing1 && "
       "ip link set missing1 up && ip link set missing0 up");
    wait_events(f, 3);
    e = &f->events[2];
    assert_string_equal(e->type, "compute.host.nic.up");
    assert_string_equal(detail_string(e, "interface"), "missing0");
    sh("ip link del missing0");
}

static void
test_options_checked(void **state)
{
    struct fixture *f = *state;
    const char *bad[] = { "has space" };
    const char *dup[] = { "eth0", "eth0" };
    const char *long_name[] = { "0123456789abcdef" };
    struct linkwatch_options o = { .hostname = "compute-nic",
                                   .interfaces = bad,
                                   .interfaces_length = 1 };
    int err = 0;

    if (!f) {
        skip();
    }

    assert_null(linkwatch_new(f->base, &o, on_event, f, &err));
    assert_int_equal(err, -EINVAL);
    o.interfaces = dup;
    o.interfaces_length = 2;
    assert_null(linkwatch_new(f->base, &o, on_event, f, &err));
    assert_int_equal(err, -EINVAL);
    o.interfaces = long_name;
    o.interfaces_length = 1;
    assert_null(linkwatch_new(f->base, &o, on_event, f, &err));
    assert_int_equal(err, -EINVAL);
    o.interfaces_length = 0;
    assert_null(linkwatch_new(f->base, &o, on_event, f, &err));
    assert_int_equal(err, -EINVAL);
    assert_true(linkwatch_name_valid("eth0.100"));
    assert_false(linkwatch_name_valid("a/b"));
    assert_false(linkwatch_name_valid("a\"b"));
    assert_string_equal(linkwatch_operstate_name(6), "UP");
    assert_null(linkwatch_operstate_name(7));
    linkwatch_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_down_at_start_then_up_and_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwatched_and_renamed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_options_checked, setup,
                                        teardown),
    };

    vlog_init("test_monitor_linkwatch", VLOG_LEVEL_ERR);
    /* A network namespace of our own: nothing of the host is touched. */
    have_netns = unshare(CLONE_NEWNET) == 0;
    if (!have_netns) {
        fprintf(stderr, "cannot unshare the network namespace (%s): "
                "skipping\n", strerror(errno));
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
