/* Unit tests for notifier/delivery: the Aodh event object and the webhook
 * body written as text (delivery_event_text, delivery_body_begin/end),
 * read back with jansson: every member, trait types (string, integer,
 * real, boolean as text), escaping of names and reasons, the profiler with
 * and without T08 and with no stamps at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "alarm.h"
#include "delivery.h"
#include "doctor_event.h"
#include "jsonw.h"

struct fixture {
    struct doctor_event ev;
    struct alarm *alarm;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    json_t *obj = json_pack(
        "{s:s, s:s, s:s, s:[s], s:{s:s}}", "name", "vnfm \"faults\"\n",
        "type", "event", "severity", "critical", "alarm_actions",
        "http://127.0.0.1:9/a", "event_rule", "event_type", "compute.*");
    char err[256];

    assert_non_null(f);
    assert_non_null(obj);
    assert_int_equal(alarm_from_json(obj, &f->alarm, err, sizeof err), 0);
    json_decref(obj);
    snprintf(f->alarm->id, sizeof f->alarm->id,
             "1e79c4f5-8a0b-4d55-9a57-2f3f5d1c0b6a");
    assert_int_equal(doctor_event_init(&f->ev), 0);
    snprintf(f->ev.id, sizeof f->ev.id, "ev-1");
    snprintf(f->ev.type, sizeof f->ev.type, "compute.instance.down");
    f->ev.time_ns = 1795312987123456000LL;    /* 2026-11-22T02:03:07.123456Z */
    assert_int_equal(doctor_event_set_detail(&f->ev, "hostname",
                                             "compute-1"), 0);
    assert_int_equal(json_object_set_new(f->ev.details, "hostname",
                                         json_string("compute-\"1\"\t")),
                     0);
    assert_int_equal(json_object_set_new(f->ev.details, "vcpus",
                                         json_integer(-4)), 0);
    assert_int_equal(json_object_set_new(f->ev.details, "load",
                                         json_real(0.25)), 0);
    assert_int_equal(json_object_set_new(f->ev.details, "evacuate",
                                         json_false()), 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    doctor_event_clear(&f->ev);
    alarm_free(f->alarm);
    free(f);
    return 0;
}

/* The body of 'n' with T08 = 't08', parsed. */
static json_t *
body(const struct delivery_notification *n, int64_t t08)
{
    struct jsonw w;
    size_t stamps, length;
    char *text;
    json_error_t error;
    json_t *v;

    jsonw_init(&w, 0);
    stamps = delivery_body_begin(&w, n);
    delivery_body_end(&w, stamps, t08);
    text = jsonw_finish(&w, &length);
    assert_non_null(text);
    v = json_loadb(text, length, 0, &error);
    if (!v) {
        fail_msg("not JSON (%s): %s", error.text, text);
    }
    free(text);
    return v;
}

static void
assert_trait(json_t *trait, const char *name, int type)
{
    assert_true(json_is_array(trait));
    assert_int_equal(json_array_size(trait), 3);
    assert_string_equal(json_string_value(json_array_get(trait, 0)), name);
    assert_int_equal(json_integer_value(json_array_get(trait, 1)), type);
}

static void
test_event_text(void **state)
{
    struct fixture *f = *state;
    char *text = delivery_event_text(&f->ev);
    json_t *ev, *traits;

    assert_non_null(text);
    ev = json_loads(text, 0, NULL);
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(ev, "message_id")),
                        "ev-1");
    assert_string_equal(json_string_value(json_object_get(ev, "event_type")),
                        "compute.instance.down");
    assert_string_equal(json_string_value(json_object_get(ev, "generated")),
                        "2026-11-22T02:03:07.123456Z");
    assert_true(json_is_object(json_object_get(ev, "raw")));
    assert_int_equal(json_object_size(json_object_get(ev, "raw")), 0);
    assert_string_equal(json_string_value(json_object_get(
        ev, "message_signature")), "");
    traits = json_object_get(ev, "traits");
    assert_int_equal(json_array_size(traits), 4);
    for (size_t i = 0; i < 4; i++) {
        json_t *t = json_array_get(traits, i);
        const char *name = json_string_value(json_array_get(t, 0));

        if (!strcmp(name, "hostname")) {
            assert_trait(t, "hostname", DELIVERY_TRAIT_TEXT);
            assert_string_equal(json_string_value(json_array_get(t, 2)),
                                "compute-\"1\"\t");
        } else if (!strcmp(name, "vcpus")) {
            assert_trait(t, "vcpus", DELIVERY_TRAIT_INT);
            assert_int_equal(json_integer_value(json_array_get(t, 2)), -4);
        } else if (!strcmp(name, "load")) {
            assert_trait(t, "load", DELIVERY_TRAIT_FLOAT);
            assert_true(json_real_value(json_array_get(t, 2)) == 0.25);
        } else {
            assert_trait(t, "evacuate", DELIVERY_TRAIT_TEXT);
            assert_string_equal(json_string_value(json_array_get(t, 2)),
                                "false");
        }
    }
    json_decref(ev);
    free(text);
}

static void
test_body(void **state)
{
    struct fixture *f = *state;
    char *event = delivery_event_text(&f->ev);
    struct delivery_notification n = {
        .notification_id = "d7ac4a8e-8c3a-4a44-9d4b-3f7e0c3a1b2c",
        .alarm = f->alarm,
        .previous = ALARM_STATE_INSUFFICIENT_DATA,
        .current = ALARM_STATE_ALARM,
        .reason = "Event <id=ev-1> hits \"the\" query\\",
        .event = event,
    };
    json_t *b, *profiler, *reason_data;

    n.stamps[DOCTOR_T01] = 11;
    n.stamps[DOCTOR_T06] = 66;
    n.stamps[DOCTOR_T07] = 77;
    b = body(&n, 88);
    assert_string_equal(json_string_value(json_object_get(b, "alarm_name")),
                        "vnfm \"faults\"\n");
    assert_string_equal(json_string_value(json_object_get(b, "alarm_id")),
                        f->alarm->id);
    assert_string_equal(json_string_value(json_object_get(b, "severity")),
                        "critical");
    assert_string_equal(json_string_value(json_object_get(b, "previous")),
                        "insufficient data");
    assert_string_equal(json_string_value(json_object_get(b, "current")),
                        "alarm");
    assert_string_equal(json_string_value(json_object_get(b, "reason")),
                        n.reason);
    assert_string_equal(json_string_value(json_object_get(
        b, "notification_id")), n.notification_id);
    reason_data = json_object_get(b, "reason_data");
    assert_string_equal(json_string_value(json_object_get(reason_data,
                                                          "type")), "event");
    assert_string_equal(json_string_value(json_object_get(json_object_get(
        reason_data, "event"), "message_id")), "ev-1");
    profiler = json_object_get(b, "profiler");
    assert_int_equal(json_object_size(profiler), 4);
    assert_int_equal(json_integer_value(json_object_get(profiler, "T01")), 11);
    assert_int_equal(json_integer_value(json_object_get(profiler, "T06")), 66);
    assert_int_equal(json_integer_value(json_object_get(profiler, "T07")), 77);
    assert_int_equal(json_integer_value(json_object_get(profiler, "T08")), 88);
    assert_int_equal(json_object_size(b), 9);
    json_decref(b);

    /* No stamps: T08 alone; no T08 either: an empty profiler. A T08 in
     * the notification's stamps is replaced by the sink's. */
    memset(n.stamps, 0, sizeof n.stamps);
    n.stamps[DOCTOR_T08] = 5;
    b = body(&n, 9);
    profiler = json_object_get(b, "profiler");
    assert_int_equal(json_object_size(profiler), 1);
    assert_int_equal(json_integer_value(json_object_get(profiler, "T08")), 9);
    json_decref(b);
    b = body(&n, 0);
    assert_int_equal(json_object_size(json_object_get(b, "profiler")), 0);
    json_decref(b);
    free(event);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_event_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
