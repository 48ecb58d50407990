/* Unit tests for vigil-monitor's pure parts: monitor/vmevent (libvirt enum
 * names with unknown values, fault/recovery classification, the [monitor]
 * events filter, the Doctor event built from a detection, which the
 * inspector's parser must accept) and monitor/vmstate (de-duplication of
 * lifecycle events and the reconciliation diff between two state maps). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <libvirt/libvirt.h>

#include "doctor_event.h"
#include "vmevent.h"
#include "vmstate.h"
#include "vuuid.h"

#define UUID_A "11111111-2222-3333-4444-555555555555"
#define UUID_B "22222222-2222-3333-4444-555555555555"
#define UUID_C "33333333-2222-3333-4444-555555555555"
#define UUID_D "44444444-2222-3333-4444-555555555555"
#define UUID_E "55555555-2222-3333-4444-555555555555"

static void
test_kind_names(void **state)
{
    (void) state;
    assert_string_equal(vmevent_kind_name(VMEVENT_LIFECYCLE), "lifecycle");
    assert_string_equal(vmevent_kind_name(VMEVENT_IO_ERROR_REASON),
                        "io_error_reason");
    assert_string_equal(vmevent_kind_name(VMEVENT_RECONCILE), "reconcile");
    assert_null(vmevent_kind_name(VMEVENT_KIND_COUNT));
    assert_null(vmevent_kind_name((enum vmevent_kind) -1));
}

static void
test_lifecycle_names(void **state)
{
    char buf[VMEVENT_NAME_SIZE];

    (void) state;
    assert_string_equal(vmevent_lifecycle_name(VIR_DOMAIN_EVENT_STOPPED, buf,
                                               sizeof buf), "STOPPED");
    assert_string_equal(vmevent_lifecycle_name(VIR_DOMAIN_EVENT_CRASHED, buf,
                                               sizeof buf), "CRASHED");
    assert_string_equal(vmevent_lifecycle_name(VIR_DOMAIN_EVENT_DEFINED, buf,
                                               sizeof buf), "DEFINED");
    assert_string_equal(vmevent_lifecycle_name(9, buf, sizeof buf),
                        "UNKNOWN_9");
    assert_string_equal(vmevent_lifecycle_name(-3, buf, sizeof buf),
                        "UNKNOWN_-3");
    assert_string_equal(vmevent_lifecycle_name(INT32_MIN, buf, sizeof buf),
                        "UNKNOWN_-2147483648");

    assert_string_equal(
        vmevent_lifecycle_detail_name(VIR_DOMAIN_EVENT_STOPPED,
                                      VIR_DOMAIN_EVENT_STOPPED_DESTROYED, buf,
                                      sizeof buf), "DESTROYED");
    assert_string_equal(
        vmevent_lifecycle_detail_name(VIR_DOMAIN_EVENT_STOPPED,
                                      VIR_DOMAIN_EVENT_STOPPED_FAILED, buf,
                                      sizeof buf), "FAILED");
    assert_string_equal(
        vmevent_lifecycle_detail_name(VIR_DOMAIN_EVENT_SUSPENDED,
                                      VIR_DOMAIN_EVENT_SUSPENDED_IOERROR, buf,
                                      sizeof buf), "IOERROR");
    assert_string_equal(
        vmevent_lifecycle_detail_name(VIR_DOMAIN_EVENT_SUSPENDED,
                                      VIR_DOMAIN_EVENT_SUSPENDED_API_ERROR,
                                      buf, sizeof buf), "API_ERROR");
    assert_string_equal(
        vmevent_lifecycle_detail_name(VIR_DOMAIN_EVENT_STARTED,
                                      VIR_DOMAIN_EVENT_STARTED_BOOTED, buf,
                                      sizeof buf), "BOOTED");
    assert_string_equal(
        vmevent_lifecycle_detail_name(VIR_DOMAIN_EVENT_CRASHED,
                                      VIR_DOMAIN_EVENT_CRASHED_PANICKED, buf,
                                      sizeof buf), "PANICKED");
    /* The same number names different details under different events. */
    assert_string_equal(vmevent_lifecycle_detail_name(
                            VIR_DOMAIN_EVENT_RESUMED, 0, buf, sizeof buf),
                        "UNPAUSED");
    assert_string_equal(vmevent_lifecycle_detail_name(
                            VIR_DOMAIN_EVENT_SHUTDOWN, 0, buf, sizeof buf),
                        "FINISHED");
    /* Unknown detail of a known event, any detail of an unknown event. */
    assert_string_equal(vmevent_lifecycle_detail_name(
                            VIR_DOMAIN_EVENT_STOPPED, 7, buf, sizeof buf),
                        "UNKNOWN_7");
    assert_string_equal(vmevent_lifecycle_detail_name(
                            VIR_DOMAIN_EVENT_STOPPED, -1, buf, sizeof buf),
                        "UNKNOWN_-1");
    assert_string_equal(vmevent_lifecycle_detail_name(42, 0, buf, sizeof buf),
                        "UNKNOWN_0");
    assert_string_equal(vmevent_lifecycle_detail_name(-1, 5, buf, sizeof buf),
                        "UNKNOWN_5");
}

static void
test_other_names(void **state)
{
    char buf[VMEVENT_NAME_SIZE];

    (void) state;
    assert_string_equal(vmevent_watchdog_action_name(
                            VIR_DOMAIN_EVENT_WATCHDOG_RESET, buf, sizeof buf),
                        "RESET");
    assert_string_equal(vmevent_watchdog_action_name(
                            VIR_DOMAIN_EVENT_WATCHDOG_INJECTNMI, buf,
                            sizeof buf), "INJECTNMI");
    assert_string_equal(vmevent_watchdog_action_name(7, buf, sizeof buf),
                        "UNKNOWN_7");
    assert_string_equal(vmevent_io_error_action_name(
                            VIR_DOMAIN_EVENT_IO_ERROR_PAUSE, buf, sizeof buf),
                        "PAUSE");
    assert_string_equal(vmevent_io_error_action_name(
                            VIR_DOMAIN_EVENT_IO_ERROR_REPORT, buf, sizeof buf),
                        "REPORT");
    assert_string_equal(vmevent_io_error_action_name(3, buf, sizeof buf),
                        "UNKNOWN_3");
    assert_string_equal(vmevent_state_name(VIR_DOMAIN_SHUTOFF, buf,
                                           sizeof buf), "SHUTOFF");
    assert_string_equal(vmevent_state_name(VIR_DOMAIN_PMSUSPENDED, buf,
                                           sizeof buf), "PMSUSPENDED");
    assert_string_equal(vmevent_state_name(8, buf, sizeof buf), "UNKNOWN_8");
    assert_string_equal(vmevent_state_reason_name(
                            VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_DESTROYED,
                            buf, sizeof buf), "DESTROYED");
    assert_string_equal(vmevent_state_reason_name(
                            VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_IOERROR, buf,
                            sizeof buf), "IOERROR");
    assert_string_equal(vmevent_state_reason_name(
                            VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED, buf,
                            sizeof buf), "BOOTED");
    assert_string_equal(vmevent_state_reason_name(VIR_DOMAIN_BLOCKED, 0, buf,
                                                  sizeof buf), "UNKNOWN");
    assert_string_equal(vmevent_state_reason_name(VIR_DOMAIN_BLOCKED, 1, buf,
                                                  sizeof buf), "UNKNOWN_1");
    assert_string_equal(vmevent_state_reason_name(99, 2, buf, sizeof buf),
                        "UNKNOWN_2");
    assert_string_equal(vmevent_close_reason_name(
                            VIR_CONNECT_CLOSE_REASON_EOF, buf, sizeof buf),
                        "eof");
    assert_string_equal(vmevent_close_reason_name(
                            VIR_CONNECT_CLOSE_REASON_KEEPALIVE, buf,
                            sizeof buf), "keepalive timeout");
    assert_string_equal(vmevent_close_reason_name(17, buf, sizeof buf),
                        "UNKNOWN_17");
}

static void
test_lifecycle_status(void **state)
{
    static const struct {
        int event, detail;
        enum vmevent_status status;
        int running;
    } cases[] = {
        { VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN,
          VMEVENT_DOWN, 0 },
        { VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED,
          VMEVENT_DOWN, 0 },
        { VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_CRASHED,
          VMEVENT_DOWN, 0 },
        { VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_FAILED,
          VMEVENT_DOWN, 0 },
        { VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_SAVED,
          VMEVENT_DOWN, 0 },
        { VIR_DOMAIN_EVENT_STOPPED, 99, VMEVENT_DOWN, 0 },
        /* Migrated away: not running here, but not a fault either. */
        { VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_MIGRATED,
          VMEVENT_IGNORE, 0 },
        { VIR_DOMAIN_EVENT_CRASHED, VIR_DOMAIN_EVENT_CRASHED_PANICKED,
          VMEVENT_DOWN, 0 },
        { VIR_DOMAIN_EVENT_CRASHED, 42, VMEVENT_DOWN, 0 },
        { VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_IOERROR,
          VMEVENT_DOWN, 0 },
        { VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG,
          VMEVENT_DOWN, 0 },
        { VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_API_ERROR,
          VMEVENT_DOWN, 0 },
        { VIR_DOMAIN_EVENT_SUSPENDED,
          VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED, VMEVENT_DOWN, 0 },
        { VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_PAUSED,
          VMEVENT_IGNORE, -1 },
        { VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED,
          VMEVENT_IGNORE, -1 },
        { VIR_DOMAIN_EVENT_SUSPENDED, 77, VMEVENT_IGNORE, -1 },
        { VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_BOOTED,
          VMEVENT_UP, 1 },
        { VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_MIGRATED,
          VMEVENT_UP, 1 },
        { VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_UNPAUSED,
          VMEVENT_UP, 1 },
        { VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_ADDED,
          VMEVENT_IGNORE, -1 },
        { VIR_DOMAIN_EVENT_UNDEFINED, VIR_DOMAIN_EVENT_UNDEFINED_REMOVED,
          VMEVENT_IGNORE, -1 },
        { VIR_DOMAIN_EVENT_SHUTDOWN, VIR_DOMAIN_EVENT_SHUTDOWN_GUEST,
          VMEVENT_IGNORE, -1 },
        { VIR_DOMAIN_EVENT_PMSUSPENDED, VIR_DOMAIN_EVENT_PMSUSPENDED_MEMORY,
          VMEVENT_IGNORE, -1 },
        { 9, 0, VMEVENT_IGNORE, -1 },
        { -1, 0, VMEVENT_IGNORE, -1 },
    };

    (void) state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(vmevent_lifecycle_status(cases[i].event,
                                                  cases[i].detail),
                         cases[i].status);
        assert_int_equal(vmevent_lifecycle_running(cases[i].event,
                                                   cases[i].detail),
                         cases[i].running);
    }
}

static void
test_state_is_running(void **state)
{
    (void) state;
    assert_true(vmevent_state_is_running(VIR_DOMAIN_RUNNING, 0));
    assert_true(vmevent_state_is_running(VIR_DOMAIN_BLOCKED, 0));
    assert_true(vmevent_state_is_running(VIR_DOMAIN_SHUTDOWN, 0));
    assert_true(vmevent_state_is_running(VIR_DOMAIN_PMSUSPENDED, 0));
    assert_true(vmevent_state_is_running(VIR_DOMAIN_PAUSED,
                                         VIR_DOMAIN_PAUSED_USER));
    assert_true(vmevent_state_is_running(VIR_DOMAIN_PAUSED,
                                         VIR_DOMAIN_PAUSED_MIGRATION));
    assert_false(vmevent_state_is_running(VIR_DOMAIN_PAUSED,
                                          VIR_DOMAIN_PAUSED_IOERROR));
    assert_false(vmevent_state_is_running(VIR_DOMAIN_PAUSED,
                                          VIR_DOMAIN_PAUSED_WATCHDOG));
    assert_false(vmevent_state_is_running(VIR_DOMAIN_PAUSED,
                                          VIR_DOMAIN_PAUSED_CRASHED));
    assert_false(vmevent_state_is_running(VIR_DOMAIN_SHUTOFF,
                                          VIR_DOMAIN_SHUTOFF_DESTROYED));
    assert_false(vmevent_state_is_running(VIR_DOMAIN_CRASHED, 0));
    assert_false(vmevent_state_is_running(VIR_DOMAIN_NOSTATE, 0));
    assert_false(vmevent_state_is_running(100, 0));
    assert_false(vmevent_state_is_running(-1, 0));
}

static void
test_parse_kinds(void **state)
{
    static const struct {
        const char *text;
        unsigned int kinds;
    } good[] = {
        { "all", VMEVENT_KINDS_ALL },
        { "ALL", VMEVENT_KINDS_ALL },
        { "lifecycle", 1u << VMEVENT_LIFECYCLE },
        { " lifecycle , watchdog ", (1u << VMEVENT_LIFECYCLE) |
                                    (1u << VMEVENT_WATCHDOG) },
        { "io_error,IO_ERROR_REASON", (1u << VMEVENT_IO_ERROR) |
                                      (1u << VMEVENT_IO_ERROR_REASON) },
        { "control_error,reconcile,control_error",
          (1u << VMEVENT_CONTROL_ERROR) | (1u << VMEVENT_RECONCILE) },
        { "lifecycle,all", VMEVENT_KINDS_ALL },
        { "lifecycle,watchdog,io_error,io_error_reason,control_error,"
          "reconcile", VMEVENT_KINDS_ALL },
    };
    static const char *const bad[] = {
        "", " ", ",", "lifecycle,", ",lifecycle", "lifecycle,,watchdog",
        "lifecycle watchdog", "lifecycles", "life", "io-error", "all2",
        "lifecycle;watchdog", "\t,\t", "lifecycle,unknown",
    };
    char err[256];
    char *long_text;
    unsigned int kinds;

    (void) state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        kinds = 0xdead;
        assert_int_equal(vmevent_parse_kinds(good[i].text, &kinds, err,
                                             sizeof err), 0);
        assert_int_equal(kinds, good[i].kinds);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kinds = 0xdead;
        err[0] = '\0';
        assert_int_equal(vmevent_parse_kinds(bad[i], &kinds, err, sizeof err),
                         -EINVAL);
        /* Nothing written on failure, and the message says why. */
        assert_int_equal(kinds, 0xdead);
        assert_true(strlen(err) > 0);
    }
    assert_int_equal(vmevent_parse_kinds("lifecycle,bogus", &kinds, err,
                                         sizeof err), -EINVAL);
    assert_non_null(strstr(err, "'bogus'"));
    assert_int_equal(vmevent_parse_kinds(NULL, &kinds, err, sizeof err),
                     -EINVAL);

    /* Over the length cap, even when made of valid names. */
    long_text = malloc(VMEVENT_FILTER_MAX_LENGTH + 64);
    assert_non_null(long_text);
    long_text[0] = '\0';
    while (strlen(long_text) <= VMEVENT_FILTER_MAX_LENGTH) {
        strcat(long_text, "lifecycle,");
    }
    strcat(long_text, "watchdog");
    assert_int_equal(vmevent_parse_kinds(long_text, &kinds, err, sizeof err),
                     -EINVAL);
    assert_int_equal(kinds, 0xdead);
    free(long_text);
}

/* The string value of details[key], or NULL. */
static const char *
detail(const struct doctor_event *de, const char *key)
{
    return json_string_value(json_object_get(de->details, key));
}

/* Serialises 'de' and parses it back as the inspector would. */
static void
assert_inspector_accepts(const struct doctor_event *de)
{
    json_t *list = json_array();
    struct doctor_event *parsed = NULL;
    size_t length = 0;
    char err[256] = "";
    char *body;

    assert_non_null(list);
    assert_int_equal(json_array_append_new(list, doctor_event_to_json(de)), 0);
    body = json_dumps(list, JSON_COMPACT);
    assert_non_null(body);
    if (doctor_events_parse(body, strlen(body), &parsed, &length, err,
                            sizeof err)) {
        fail_msg("inspector rejects %s: %s", body, err);
    }
    assert_int_equal(length, 1);
    assert_string_equal(parsed[0].type, de->type);
    assert_string_equal(parsed[0].instance_uuid, de->instance_uuid);
    assert_string_equal(parsed[0].id, de->id);
    assert_int_equal(parsed[0].stamps[DOCTOR_T01], de->stamps[DOCTOR_T01]);
    assert_int_equal(parsed[0].time_ns / 1000, de->time_ns / 1000);
    doctor_events_free(parsed, length);
    free(body);
    json_decref(list);
}

static void
test_lifecycle_to_doctor(void **state)
{
    struct vmevent ev;
    struct doctor_event de;

    (void) state;
    vmevent_init(&ev, VMEVENT_LIFECYCLE, UUID_A, "web-1", 123456789,
                 1795312387123456000LL);
    vmevent_set_lifecycle(&ev, VIR_DOMAIN_EVENT_STOPPED,
                          VIR_DOMAIN_EVENT_STOPPED_DESTROYED);
    assert_false(ev.up);
    assert_int_equal(vmevent_to_doctor(&ev, "compute-1", &de), 0);
    assert_string_equal(de.type, "compute.instance.down");
    assert_string_equal(de.hostname, "compute-1");
    assert_string_equal(de.status, "down");
    assert_string_equal(de.monitor, "vigil-monitor");
    assert_string_equal(de.instance_uuid, UUID_A);
    assert_true(vuuid_is_valid(de.monitor_event_id));
    assert_string_equal(de.id, de.monitor_event_id);
    assert_int_equal(de.stamps[DOCTOR_T01], 123456789);
    assert_int_equal(de.time_ns, 1795312387123456000LL);
    assert_string_equal(detail(&de, "hostname"), "compute-1");
    assert_string_equal(detail(&de, "status"), "down");
    assert_string_equal(detail(&de, "monitor"), "vigil-monitor");
    assert_string_equal(detail(&de, "monitor_event_id"), de.monitor_event_id);
    assert_string_equal(detail(&de, "instance_uuid"), UUID_A);
    assert_string_equal(detail(&de, "instance_name"), "web-1");
    assert_string_equal(detail(&de, "libvirt_event"), "STOPPED");
    assert_string_equal(detail(&de, "libvirt_detail"), "DESTROYED");
    /* Keys of other kinds are absent, not empty. */
    assert_null(json_object_get(de.details, "libvirt_path"));
    assert_null(json_object_get(de.details, "libvirt_state"));
    assert_true(doctor_event_is_fault(&de));
    assert_inspector_accepts(&de);
    doctor_event_clear(&de);

    vmevent_init(&ev, VMEVENT_LIFECYCLE, UUID_A, "web-1", 5, 6000);
    vmevent_set_lifecycle(&ev, VIR_DOMAIN_EVENT_STARTED, 17);
    assert_true(ev.up);
    assert_int_equal(vmevent_to_doctor(&ev, "compute-1", &de), 0);
    assert_string_equal(de.type, "compute.instance.up");
    assert_string_equal(de.status, "up");
    assert_string_equal(detail(&de, "libvirt_event"), "STARTED");
    assert_string_equal(detail(&de, "libvirt_detail"), "UNKNOWN_17");
    assert_false(doctor_event_is_fault(&de));
    assert_inspector_accepts(&de);
    doctor_event_clear(&de);
}

static void
test_faults_to_doctor(void **state)
{
    struct vmevent ev;
    struct doctor_event de, untouched;
    char hostname[DOCTOR_HOSTNAME_SIZE + 10];

    (void) state;
    vmevent_init(&ev, VMEVENT_IO_ERROR_REASON, UUID_B, "db-0", 1, 2);
    vmevent_set_io_error(&ev, "/var/lib/nova/instances/x/disk",
                         "virtio-disk0", VIR_DOMAIN_EVENT_IO_ERROR_PAUSE,
                         "enospc");
    assert_int_equal(vmevent_to_doctor(&ev, "h", &de), 0);
    assert_string_equal(de.type, "compute.instance.down");
    assert_string_equal(detail(&de, "libvirt_event"), "IO_ERROR");
    assert_string_equal(detail(&de, "libvirt_detail"), "PAUSE");
    assert_string_equal(detail(&de, "libvirt_action"), "PAUSE");
    assert_string_equal(detail(&de, "libvirt_device"), "virtio-disk0");
    assert_string_equal(detail(&de, "libvirt_path"),
                        "/var/lib/nova/instances/x/disk");
    assert_string_equal(detail(&de, "libvirt_reason"), "enospc");
    assert_inspector_accepts(&de);
    doctor_event_clear(&de);

    vmevent_init(&ev, VMEVENT_IO_ERROR, UUID_B, "db-0", 1, 2);
    vmevent_set_io_error(&ev, NULL, NULL, 9, NULL);
    assert_int_equal(vmevent_to_doctor(&ev, "h", &de), 0);
    assert_string_equal(detail(&de, "libvirt_action"), "UNKNOWN_9");
    assert_null(json_object_get(de.details, "libvirt_reason"));
    assert_null(json_object_get(de.details, "libvirt_path"));
    doctor_event_clear(&de);

    vmevent_init(&ev, VMEVENT_WATCHDOG, UUID_B, "db-0", 1, 2);
    vmevent_set_watchdog(&ev, VIR_DOMAIN_EVENT_WATCHDOG_RESET);
    assert_int_equal(vmevent_to_doctor(&ev, "h", &de), 0);
    assert_string_equal(de.type, "compute.instance.down");
    assert_string_equal(detail(&de, "libvirt_event"), "WATCHDOG");
    assert_string_equal(detail(&de, "libvirt_detail"), "RESET");
    assert_string_equal(detail(&de, "libvirt_action"), "RESET");
    doctor_event_clear(&de);

    vmevent_init(&ev, VMEVENT_CONTROL_ERROR, UUID_B, NULL, 1, 2);
    vmevent_set_control_error(&ev);
    assert_int_equal(vmevent_to_doctor(&ev, "h", &de), 0);
    assert_string_equal(detail(&de, "libvirt_event"), "CONTROL_ERROR");
    assert_string_equal(detail(&de, "instance_name"), "");
    assert_inspector_accepts(&de);
    doctor_event_clear(&de);

    /* A host name over the limit fails and leaves the output alone. */
    memset(hostname, 'h', sizeof hostname - 1);
    hostname[sizeof hostname - 1] = '\0';
    memset(&untouched, 0x5a, sizeof untouched);
    de = untouched;
    assert_int_equal(vmevent_to_doctor(&ev, hostname, &de), -EINVAL);
    assert_memory_equal(&de, &untouched, sizeof de);
}

static void
test_init_cuts_long_strings(void **state)
{
    char name[600];
    char path[3000];
    struct vmevent ev;
    struct doctor_event de;

    (void) state;
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    memset(path, 'p', sizeof path - 1);
    path[sizeof path - 1] = '\0';
    vmevent_init(&ev, VMEVENT_IO_ERROR, UUID_C, name, 1, 2);
    vmevent_set_io_error(&ev, path, name, 0, name);
    assert_int_equal(strlen(ev.instance_name), VMEVENT_DOMAIN_NAME_SIZE - 1);
    assert_int_equal(strlen(ev.path), VMEVENT_PATH_SIZE - 1);
    assert_int_equal(strlen(ev.device), VMEVENT_DEVICE_SIZE - 1);
    assert_int_equal(strlen(ev.reason), VMEVENT_REASON_SIZE - 1);
    /* Still within the Doctor limits. */
    assert_int_equal(vmevent_to_doctor(&ev, "h", &de), 0);
    assert_inspector_accepts(&de);
    doctor_event_clear(&de);
}

static void
test_reconcile_to_doctor(void **state)
{
    struct vmevent ev;
    struct doctor_event de;

    (void) state;
    vmevent_init(&ev, VMEVENT_RECONCILE, UUID_D, "lb", 1, 2);
    vmevent_set_reconcile(&ev, false, VIR_DOMAIN_SHUTOFF,
                          VIR_DOMAIN_SHUTOFF_CRASHED);
    assert_int_equal(vmevent_to_doctor(&ev, "h", &de), 0);
    assert_string_equal(de.type, "compute.instance.down");
    assert_string_equal(detail(&de, "libvirt_event"), "RECONCILE");
    assert_string_equal(detail(&de, "libvirt_detail"), "CRASHED");
    assert_string_equal(detail(&de, "libvirt_state"), "SHUTOFF");
    assert_string_equal(detail(&de, "libvirt_state_reason"), "CRASHED");
    doctor_event_clear(&de);

    vmevent_init(&ev, VMEVENT_RECONCILE, UUID_D, "lb", 1, 2);
    vmevent_set_reconcile(&ev, false, -1, 0);
    assert_int_equal(vmevent_to_doctor(&ev, "h", &de), 0);
    assert_string_equal(detail(&de, "libvirt_detail"), "UNDEFINED");
    assert_string_equal(detail(&de, "libvirt_state"), "UNDEFINED");
    assert_null(json_object_get(de.details, "libvirt_state_reason"));
    doctor_event_clear(&de);

    vmevent_init(&ev, VMEVENT_RECONCILE, UUID_D, "lb", 1, 2);
    vmevent_set_reconcile(&ev, true, VIR_DOMAIN_RUNNING,
                          VIR_DOMAIN_RUNNING_BOOTED);
    assert_int_equal(vmevent_to_doctor(&ev, "h", &de), 0);
    assert_string_equal(de.type, "compute.instance.up");
    assert_string_equal(detail(&de, "libvirt_state"), "RUNNING");
    assert_string_equal(detail(&de, "libvirt_detail"), "BOOTED");
    doctor_event_clear(&de);
}

static void
test_state_map(void **state)
{
    struct vmstate *map = vmstate_new();
    const struct vmstate_entry *e;

    (void) state;
    assert_non_null(map);
    assert_int_equal(vmstate_set(map, UUID_C, "c", VIR_DOMAIN_RUNNING, 1), 0);
    assert_int_equal(vmstate_set(map, UUID_A, "a", VIR_DOMAIN_SHUTOFF, 2), 0);
    assert_int_equal(vmstate_set(map, UUID_B, "b", VIR_DOMAIN_PAUSED,
                                 VIR_DOMAIN_PAUSED_USER), 0);
    assert_int_equal(vmstate_set(map, "not-a-uuid", "x", 1, 0), -EINVAL);
    assert_int_equal(vmstate_set(map, NULL, "x", 1, 0), -EINVAL);
    assert_int_equal(vmstate_length(map), 3);
    /* Sorted by UUID. */
    assert_string_equal(vmstate_at(map, 0)->uuid, UUID_A);
    assert_string_equal(vmstate_at(map, 1)->uuid, UUID_B);
    assert_string_equal(vmstate_at(map, 2)->uuid, UUID_C);
    assert_null(vmstate_at(map, 3));
    e = vmstate_find(map, UUID_B);
    assert_non_null(e);
    assert_true(e->running);
    assert_string_equal(e->name, "b");
    assert_false(vmstate_find(map, UUID_A)->running);
    /* Replacing keeps one entry. */
    assert_int_equal(vmstate_set(map, UUID_B, "b2", VIR_DOMAIN_PAUSED,
                                 VIR_DOMAIN_PAUSED_IOERROR), 0);
    assert_int_equal(vmstate_length(map), 3);
    assert_false(vmstate_find(map, UUID_B)->running);
    assert_string_equal(vmstate_find(map, UUID_B)->name, "b2");
    /* Case does not matter. */
    assert_non_null(vmstate_find(map, "11111111-2222-3333-4444-555555555555"));
    vmstate_remove(map, UUID_B);
    vmstate_remove(map, UUID_E);
    assert_int_equal(vmstate_length(map), 2);
    assert_null(vmstate_find(map, UUID_B));
    vmstate_free(map);
    vmstate_free(NULL);
}

/* Applies a lifecycle event to 'map' and checks what it reports. */
static void
assert_apply(struct vmstate *map, const char *uuid, const char *name,
             int event, int detail, enum vmevent_status expected)
{
    enum vmevent_status got = vmstate_apply_lifecycle(map, uuid, name, event,
                                                      detail);

    if (got != expected) {
        char b1[VMEVENT_NAME_SIZE], b2[VMEVENT_NAME_SIZE];

        fail_msg("%s %s/%s: got status %d, expected %d", name,
                 vmevent_lifecycle_name(event, b1, sizeof b1),
                 vmevent_lifecycle_detail_name(event, detail, b2, sizeof b2),
                 got, expected);
    }
}

static void
test_apply_lifecycle(void **state)
{
    struct vmstate *map = vmstate_new();

    (void) state;
    assert_non_null(map);
    assert_int_equal(vmstate_set(map, UUID_A, "a", VIR_DOMAIN_RUNNING, 1), 0);

    /* Running -> destroyed: a fault; the same again: nothing new. */
    assert_apply(map, UUID_A, "a", VIR_DOMAIN_EVENT_STOPPED,
                 VIR_DOMAIN_EVENT_STOPPED_DESTROYED, VMEVENT_DOWN);
    assert_false(vmstate_find(map, UUID_A)->running);
    assert_apply(map, UUID_A, "a", VIR_DOMAIN_EVENT_STOPPED,
                 VIR_DOMAIN_EVENT_STOPPED_DESTROYED, VMEVENT_IGNORE);
    /* Started again: a recovery, once. */
    assert_apply(map, UUID_A, "a", VIR_DOMAIN_EVENT_STARTED,
                 VIR_DOMAIN_EVENT_STARTED_BOOTED, VMEVENT_UP);
    assert_true(vmstate_find(map, UUID_A)->running);
    assert_apply(map, UUID_A, "a", VIR_DOMAIN_EVENT_RESUMED,
                 VIR_DOMAIN_EVENT_RESUMED_UNPAUSED, VMEVENT_IGNORE);
    /* An operator's pause and resume are neither fault nor recovery. */
    assert_apply(map, UUID_A, "a", VIR_DOMAIN_EVENT_SUSPENDED,
                 VIR_DOMAIN_EVENT_SUSPENDED_PAUSED, VMEVENT_IGNORE);
    assert_true(vmstate_find(map, UUID_A)->running);
    assert_apply(map, UUID_A, "a", VIR_DOMAIN_EVENT_RESUMED,
                 VIR_DOMAIN_EVENT_RESUMED_UNPAUSED, VMEVENT_IGNORE);
    /* Paused on an I/O error then destroyed: one fault. Started: up. */
    assert_apply(map, UUID_A, "a", VIR_DOMAIN_EVENT_SUSPENDED,
                 VIR_DOMAIN_EVENT_SUSPENDED_IOERROR, VMEVENT_DOWN);
    assert_apply(map, UUID_A, "a", VIR_DOMAIN_EVENT_STOPPED,
                 VIR_DOMAIN_EVENT_STOPPED_DESTROYED, VMEVENT_IGNORE);
    assert_apply(map, UUID_A, "a", VIR_DOMAIN_EVENT_STARTED,
                 VIR_DOMAIN_EVENT_STARTED_BOOTED, VMEVENT_UP);
    /* A guest-initiated shutdown announces itself, then stops. */
    assert_apply(map, UUID_A, "a", VIR_DOMAIN_EVENT_SHUTDOWN,
                 VIR_DOMAIN_EVENT_SHUTDOWN_GUEST, VMEVENT_IGNORE);
    assert_true(vmstate_find(map, UUID_A)->running);
    assert_apply(map, UUID_A, "a", VIR_DOMAIN_EVENT_STOPPED,
                 VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN, VMEVENT_DOWN);
    /* Migrated away: not running, nothing reported. */
    assert_apply(map, UUID_A, "a", VIR_DOMAIN_EVENT_STARTED,
                 VIR_DOMAIN_EVENT_STARTED_BOOTED, VMEVENT_UP);
    assert_apply(map, UUID_A, "a", VIR_DOMAIN_EVENT_STOPPED,
                 VIR_DOMAIN_EVENT_STOPPED_MIGRATED, VMEVENT_IGNORE);
    assert_false(vmstate_find(map, UUID_A)->running);

    /* Unknown domains: events are taken at their word. */
    assert_apply(map, UUID_B, "b", VIR_DOMAIN_EVENT_CRASHED,
                 VIR_DOMAIN_EVENT_CRASHED_PANICKED, VMEVENT_DOWN);
    assert_non_null(vmstate_find(map, UUID_B));
    assert_apply(map, UUID_C, "c", VIR_DOMAIN_EVENT_STARTED,
                 VIR_DOMAIN_EVENT_STARTED_BOOTED, VMEVENT_UP);
    assert_true(vmstate_find(map, UUID_C)->running);

    /* DEFINED records a new domain as not running; UNDEFINED forgets a
     * stopped domain but keeps a running (now transient) one. */
    assert_apply(map, UUID_D, "d", VIR_DOMAIN_EVENT_DEFINED,
                 VIR_DOMAIN_EVENT_DEFINED_ADDED, VMEVENT_IGNORE);
    assert_false(vmstate_find(map, UUID_D)->running);
    assert_apply(map, UUID_D, "d", VIR_DOMAIN_EVENT_UNDEFINED,
                 VIR_DOMAIN_EVENT_UNDEFINED_REMOVED, VMEVENT_IGNORE);
    assert_null(vmstate_find(map, UUID_D));
    assert_apply(map, UUID_C, "c", VIR_DOMAIN_EVENT_UNDEFINED,
                 VIR_DOMAIN_EVENT_UNDEFINED_REMOVED, VMEVENT_IGNORE);
    assert_non_null(vmstate_find(map, UUID_C));
    /* Unknown event numbers change nothing. */
    assert_apply(map, UUID_C, "c", 77,
                 0, VMEVENT_IGNORE);
    assert_true(vmstate_find(map, UUID_C)->running);
    vmstate_free(map);
}

static void
test_io_error_window(void **state)
{
    struct vmstate *map = vmstate_new();
    const int64_t s = 1000000000;

    (void) state;
    assert_non_null(map);
    assert_int_equal(vmstate_set(map, UUID_A, "a", VIR_DOMAIN_RUNNING, 1), 0);
    assert_true(vmstate_allow_io_error(map, UUID_A, 10 * s, s));
    assert_false(vmstate_allow_io_error(map, UUID_A, 10 * s + 1, s));
    assert_false(vmstate_allow_io_error(map, UUID_A, 11 * s - 1, s));
    assert_true(vmstate_allow_io_error(map, UUID_A, 11 * s, s));
    /* Unknown domains are always reported. */
    assert_true(vmstate_allow_io_error(map, UUID_B, 11 * s, s));
    assert_true(vmstate_allow_io_error(map, UUID_B, 11 * s, s));
    vmstate_free(map);
}

/* The event for 'uuid' in 'events', or NULL. */
static const struct vmevent *
find_event(const struct vmevent *events, size_t length, const char *uuid)
{
    for (size_t i = 0; i < length; i++) {
        if (!strcmp(events[i].instance_uuid, uuid)) {
            return &events[i];
        }
    }
    return NULL;
}

static void
test_diff(void **state)
{
    struct vmstate *before = vmstate_new(), *after = vmstate_new();
    struct vmevent *events = NULL;
    const struct vmevent *ev;
    size_t length = 99;

    (void) state;
    assert_non_null(before);
    assert_non_null(after);
    /* A: running -> destroyed.  B: stopped -> running.  C: running, gone.
     * D: running -> paused by an operator (still running).  E: new and
     * running. */
    assert_int_equal(vmstate_set(before, UUID_A, "a", VIR_DOMAIN_RUNNING, 1),
                     0);
    assert_int_equal(vmstate_set(before, UUID_B, "b", VIR_DOMAIN_SHUTOFF, 2),
                     0);
    assert_int_equal(vmstate_set(before, UUID_C, "c", VIR_DOMAIN_RUNNING, 1),
                     0);
    assert_int_equal(vmstate_set(before, UUID_D, "d", VIR_DOMAIN_RUNNING, 1),
                     0);
    assert_int_equal(vmstate_set(after, UUID_A, "a", VIR_DOMAIN_SHUTOFF,
                                 VIR_DOMAIN_SHUTOFF_DESTROYED), 0);
    assert_int_equal(vmstate_set(after, UUID_B, "b", VIR_DOMAIN_RUNNING,
                                 VIR_DOMAIN_RUNNING_BOOTED), 0);
    assert_int_equal(vmstate_set(after, UUID_D, "d", VIR_DOMAIN_PAUSED,
                                 VIR_DOMAIN_PAUSED_USER), 0);
    assert_int_equal(vmstate_set(after, UUID_E, "e", VIR_DOMAIN_RUNNING,
                                 VIR_DOMAIN_RUNNING_RESTORED), 0);

    assert_int_equal(vmstate_diff(before, after, 777, 888, &events, &length),
                     0);
    assert_int_equal(length, 4);
    for (size_t i = 0; i < length; i++) {
        assert_int_equal(events[i].kind, VMEVENT_RECONCILE);
        assert_string_equal(events[i].event, "RECONCILE");
        assert_int_equal(events[i].detected_ns, 777);
        assert_int_equal(events[i].time_ns, 888);
        if (i) {
            assert_true(strcmp(events[i - 1].instance_uuid,
                               events[i].instance_uuid) < 0);
        }
    }
    ev = find_event(events, length, UUID_A);
    assert_non_null(ev);
    assert_false(ev->up);
    assert_string_equal(ev->state, "SHUTOFF");
    assert_string_equal(ev->state_reason, "DESTROYED");
    assert_string_equal(ev->detail, "DESTROYED");
    assert_string_equal(ev->instance_name, "a");
    ev = find_event(events, length, UUID_B);
    assert_non_null(ev);
    assert_true(ev->up);
    assert_string_equal(ev->state, "RUNNING");
    assert_string_equal(ev->detail, "BOOTED");
    ev = find_event(events, length, UUID_C);
    assert_non_null(ev);
    assert_false(ev->up);
    assert_string_equal(ev->detail, "UNDEFINED");
    assert_string_equal(ev->instance_name, "c");
    /* D paused by an operator: still running, no event. */
    assert_null(find_event(events, length, UUID_D));
    ev = find_event(events, length, UUID_E);
    assert_non_null(ev);
    assert_true(ev->up);
    assert_string_equal(ev->detail, "RESTORED");
    free(events);

    /* Nothing changed: no events, NULL array. */
    events = (struct vmevent *) 1;
    assert_int_equal(vmstate_diff(after, after, 1, 2, &events, &length), 0);
    assert_int_equal(length, 0);
    assert_null(events);

    /* Stopped domains that vanish or appear are no news. */
    vmstate_remove(after, UUID_A);
    assert_int_equal(vmstate_set(after, UUID_C, "c", VIR_DOMAIN_SHUTOFF, 0),
                     0);
    assert_int_equal(vmstate_set(before, UUID_A, "a", VIR_DOMAIN_SHUTOFF, 0),
                     0);
    vmstate_remove(before, UUID_C);
    assert_int_equal(vmstate_set(before, UUID_B, "b", VIR_DOMAIN_RUNNING, 1),
                     0);
    assert_int_equal(vmstate_set(before, UUID_D, "d", VIR_DOMAIN_PAUSED,
                                 VIR_DOMAIN_PAUSED_USER), 0);
    assert_int_equal(vmstate_set(before, UUID_E, "e", VIR_DOMAIN_RUNNING, 1),
                     0);
    assert_int_equal(vmstate_diff(before, after, 1, 2, &events, &length), 0);
    assert_int_equal(length, 0);

    /* Empty maps either side. */
    vmstate_replace(before, after);
    assert_int_equal(vmstate_length(after), 0);
    assert_int_equal(vmstate_length(before), 4);
    assert_int_equal(vmstate_diff(before, after, 1, 2, &events, &length), 0);
    /* B, D, E were running and are gone. */
    assert_int_equal(length, 3);
    for (size_t i = 0; i < length; i++) {
        assert_false(events[i].up);
        assert_string_equal(events[i].detail, "UNDEFINED");
    }
    free(events);
    assert_int_equal(vmstate_diff(after, before, 1, 2, &events, &length), 0);
    assert_int_equal(length, 3);
    for (size_t i = 0; i < length; i++) {
        assert_true(events[i].up);
    }
    free(events);
    vmstate_free(before);
    vmstate_free(after);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_lifecycle_names),
        cmocka_unit_test(test_other_names),
        cmocka_unit_test(test_lifecycle_status),
        cmocka_unit_test(test_state_is_running),
        cmocka_unit_test(test_parse_kinds),
        cmocka_unit_test(test_lifecycle_to_doctor),
        cmocka_unit_test(test_faults_to_doctor),
        cmocka_unit_test(test_init_cuts_long_strings),
        cmocka_unit_test(test_reconcile_to_doctor),
        cmocka_unit_test(test_state_map),
        cmocka_unit_test(test_apply_lifecycle),
        cmocka_unit_test(test_io_error_window),
        cmocka_unit_test(test_diff),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
