/* Unit tests for common/doctor_event: the OPNFV Doctor body as the sample
 * monitor sends it, every class of malformed input with its exact message,
 * the bounds, and the round trip through doctor_event_to_json(). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "doctor_event.h"
#include "vuuid.h"

/* 2026-11-22T01:53:07Z in epoch seconds. */
#define SAMPLE_EPOCH_S INT64_C(1795312387)
#define INSTANCE_UUID "6d3a1e2b-9f4c-4a7e-8b1d-2c5e7f9a0b3c"

static const char sample_body[] =
    "[{\"id\": \"7a4a0d32-7b7e-4c41-a2b4-0f7d2a6c9e11\", "
    "\"time\": \"2026-11-22T01:53:07.123456\", "
    "\"type\": \"compute.host.down\", "
    "\"details\": {\"hostname\": \"compute1\", \"status\": \"down\", "
    "\"monitor\": \"monitor_sample\", "
    "\"monitor_event_id\": \"monitor_sample_id1\"}}]";

/* Parses 'body' expecting success and exactly one event. */
static struct doctor_event *
parse_one(const char *body)
{
    struct doctor_event *events = NULL;
    size_t length = 0;
    char err[256] = "";
    int ret = doctor_events_parse(body, strlen(body), &events, &length, err,
                                  sizeof err);

    if (ret) {
        print_error("unexpected failure %d: %s\nbody: %s\n", ret, err, body);
    }
    assert_int_equal(ret, 0);
    assert_int_equal(length, 1);
    return events;
}

/* Parses 'body' expecting 'expected_ret' and the message 'expected_err'. */
static void
expect_error(const char *body, size_t size, int expected_ret,
             const char *expected_err)
{
    struct doctor_event *events = (struct doctor_event *) 0x1;
    size_t length = 12345;
    char err[512] = "";
    int ret = doctor_events_parse(body, size, &events, &length, err,
                                  sizeof err);

    if (ret != expected_ret || strcmp(err, expected_err)) {
        print_error("body: %.200s\ngot %d '%s'\nwant %d '%s'\n", body, ret,
                    err, expected_ret, expected_err);
    }
    assert_int_equal(ret, expected_ret);
    assert_string_equal(err, expected_err);
    /* Outputs are written only on success. */
    assert_ptr_equal(events, (struct doctor_event *) 0x1);
    assert_int_equal(length, 12345);
}

static void
expect_error_str(const char *body, const char *expected_err)
{
    expect_error(body, strlen(body), -EINVAL, expected_err);
}

static void
test_sample_body(void **state)
{
    struct doctor_event *ev;

    (void) state;
    ev = parse_one(sample_body);
    assert_string_equal(ev->id, "7a4a0d32-7b7e-4c41-a2b4-0f7d2a6c9e11");
    assert_string_equal(ev->type, "compute.host.down");
    assert_int_equal(ev->time_ns, SAMPLE_EPOCH_S * 1000000000 + 123456000);
    assert_string_equal(ev->hostname, "compute1");
    assert_string_equal(ev->status, "down");
    assert_string_equal(ev->monitor, "monitor_sample");
    assert_string_equal(ev->monitor_event_id, "monitor_sample_id1");
    assert_string_equal(ev->instance_uuid, "");
    assert_int_equal(json_object_size(ev->details), 4);
    assert_string_equal(json_string_value(json_object_get(ev->details,
                                                          "monitor")),
                        "monitor_sample");
    for (int i = 0; i < DOCTOR_STAMP_COUNT; i++) {
        assert_int_equal(ev->stamps[i], 0);
    }
    assert_true(doctor_event_is_fault(ev));
    doctor_events_free(ev, 1);
}

static void
test_time_zones(void **state)
{
    static const char *const times[] = {
        "2026-11-22T01:53:07.123456", "2026-11-22T01:53:07.123456Z",
        "2026-11-22T02:53:07.123456+01:00", "2026-11-21T20:23:07.123456-0530",
        "2026-11-22 01:53:07.123456",
    };

    (void) state;
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        char body[512];
        struct doctor_event *ev;

        snprintf(body, sizeof body, "[{\"time\": \"%s\", \"type\": \"a.down\","
                 " \"details\": {\"hostname\": \"h\"}}]", times[i]);
        ev = parse_one(body);
        assert_int_equal(ev->time_ns, SAMPLE_EPOCH_S * 1000000000 + 123456000);
        doctor_events_free(ev, 1);
    }
}

static void
test_single_object_and_generated_id(void **state)
{
    struct doctor_event *ev;

    (void) state;
    ev = parse_one("{\"time\": \"2026-11-22T01:53:07Z\", \"type\": "
                   "\"compute.host.up\", \"details\": {\"hostname\": "
                   "\"compute-2.example.org\", \"status\": \"up\"}}");
    assert_true(vuuid_is_valid(ev->id));
    assert_int_equal(ev->time_ns, SAMPLE_EPOCH_S * 1000000000);
    assert_string_equal(ev->hostname, "compute-2.example.org");
    assert_false(doctor_event_is_fault(ev));
    doctor_events_free(ev, 1);
}

static void
test_several_events(void **state)
{
    static const char body[] =
        "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"compute.host.down\","
        "  \"details\": {\"hostname\": \"a\"}},"
        " {\"time\": \"2026-11-22T01:53:08Z\", \"type\": "
        "  \"compute.instance.down\", \"details\": {\"hostname\": \"b\", "
        "  \"instance_uuid\": \"" INSTANCE_UUID "\", \"libvirt_event\": "
        "  \"STOPPED\", \"libvirt_detail\": \"DESTROYED\", \"vcpus\": 4, "
        "  \"load\": 0.5, \"pinned\": true},"
        "  \"profiler\": {\"T00\": 0, \"T01\": 123456789012, \"T09\": 5},"
        "  \"future_field\": {\"anything\": null}, \"future_list\": [1, 2]}]";
    struct doctor_event *events = NULL;
    size_t length = 0;
    char err[256] = "";

    (void) state;
    assert_int_equal(doctor_events_parse(body, sizeof body - 1, &events,
                                         &length, err, sizeof err), 0);
    assert_int_equal(length, 2);
    assert_string_equal(events[0].hostname, "a");
    assert_string_equal(events[1].hostname, "b");
    assert_string_equal(events[1].instance_uuid, INSTANCE_UUID);
    assert_string_equal(events[1].status, "");
    assert_int_equal(events[1].stamps[DOCTOR_T00], 0);
    assert_int_equal(events[1].stamps[DOCTOR_T01], INT64_C(123456789012));
    assert_int_equal(events[1].stamps[DOCTOR_T09], 5);
    assert_int_equal(events[1].stamps[DOCTOR_T05], 0);
    assert_int_equal(json_integer_value(json_object_get(events[1].details,
                                                        "vcpus")), 4);
    assert_true(json_is_true(json_object_get(events[1].details, "pinned")));
    assert_null(json_object_get(events[1].details, "future_field"));
    assert_string_not_equal(events[0].id, events[1].id);
    doctor_events_free(events, length);
}

static void
test_malformed(void **state)
{
    static const struct {
        const char *body;
        const char *err;
    } cases[] = {
        { "", "body: empty" },
        { "not json", "body: not valid JSON: invalid token near 'not' "
                      "(line 1, column 3)" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\",", "body: not valid JSON: "
          "string or '}' expected near end of file (line 1, column 33)" },
        { "\"compute.host.down\"", "body: expected a list of events or one "
          "event object, not a scalar" },
        { "[]", "body: empty list of events" },
        { "[1]", "event 0: expected an object, not a scalar" },
        { "[[]]", "event 0: expected an object, not a list" },
        { "[null]", "event 0: expected an object, not null" },
        { "[{\"type\": \"a.down\", \"details\": {\"hostname\": \"h\"}}]",
          "event 0: time: missing" },
        { "[{\"time\": 5, \"type\": \"a.down\", \"details\": {\"hostname\": "
          "\"h\"}}]", "event 0: time: expected a string" },
        { "[{\"time\": \"yesterday\", \"type\": \"a.down\", \"details\": "
          "{\"hostname\": \"h\"}}]",
          "event 0: time: not an ISO-8601 date-time: 'yesterday'" },
        { "[{\"time\": \"2026-02-30T00:00:00\", \"type\": \"a.down\", "
          "\"details\": {\"hostname\": \"h\"}}]",
          "event 0: time: not an ISO-8601 date-time: '2026-02-30T00:00:00'" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"details\": {\"hostname\": "
          "\"h\"}}]", "event 0: type: missing" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": [], \"details\": "
          "{\"hostname\": \"h\"}}]", "event 0: type: expected a string" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"Compute.Host\", "
          "\"details\": {\"hostname\": \"h\"}}]", "event 0: type: not a "
          "lower-case dotted identifier ([a-z0-9_.-]{1,127}): 'Compute.Host'" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"\", \"details\": "
          "{\"hostname\": \"h\"}}]", "event 0: type: not a lower-case dotted "
          "identifier ([a-z0-9_.-]{1,127}): ''" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a b'\\n\", "
          "\"details\": {\"hostname\": \"h\"}}]", "event 0: type: not a "
          "lower-case dotted identifier ([a-z0-9_.-]{1,127}): 'a b'?'" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\"}]",
          "event 0: details: missing" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
          "\"details\": [\"hostname\"]}]",
          "event 0: details: expected an object" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
          "\"details\": {\"status\": \"down\"}}]",
          "event 0: details.hostname: missing" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
          "\"details\": {\"hostname\": 7}}]",
          "event 0: details.hostname: expected a string" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
          "\"details\": {\"hostname\": \"\"}}]", "event 0: details.hostname: "
          "not a valid host name ([A-Za-z0-9_.-]{1,255}): ''" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
          "\"details\": {\"hostname\": \"comp ute/1\"}}]",
          "event 0: details.hostname: not a valid host name "
          "([A-Za-z0-9_.-]{1,255}): 'comp ute/1'" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
          "\"details\": {\"hostname\": \"h\", \"status\": false}}]",
          "event 0: details.status: expected a string" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
          "\"details\": {\"hostname\": \"h\", \"monitor\": \"a\\tb\"}}]",
          "event 0: details.monitor: contains a control character" },
        /* A single object leaves room for the nesting, caught later. */
        { "{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
          "\"details\": {\"hostname\": \"h\", \"x\": {}}}",
          "event 0: details.x: expected a string, number or boolean, "
          "not an object" },
        /* A single object leaves room for the nesting, caught later. */
        { "{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
          "\"details\": {\"hostname\": \"h\", \"x\": [1]}}",
          "event 0: details.x: expected a string, number or boolean, "
          "not a list" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
          "\"details\": {\"hostname\": \"h\", \"x\": null}}]",
          "event 0: details.x: expected a string, number or boolean, "
          "not null" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
          "\"details\": {\"hostname\": \"h\", \"\": 1}}]",
          "event 0: details: empty key" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
          "\"details\": {\"hostname\": \"h\", \"a\\u0001\": 1}}]",
          "event 0: details: key with a control character: 'a?'" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": "
          "\"compute.instance.down\", \"details\": {\"hostname\": \"h\"}}]",
          "event 0: details.instance_uuid: missing" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": "
          "\"compute.instance.down\", \"details\": {\"hostname\": \"h\", "
          "\"instance_uuid\": \"6d3a1e2b-9f4c-4a7e-8b1d-2c5e7f9a0b3\"}}]",
          "event 0: details.instance_uuid: not a valid UUID: "
          "'6d3a1e2b-9f4c-4a7e-8b1d-2c5e7f9a0b3'" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": "
          "\"compute.instance.down\", \"details\": {\"hostname\": \"h\", "
          "\"instance_uuid\": 42}}]",
          "event 0: details.instance_uuid: expected a string" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
          "\"details\": {\"hostname\": \"h\"}, \"profiler\": [1]}]",
          "event 0: profiler: expected an object" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
          "\"details\": {\"hostname\": \"h\"}, \"profiler\": {\"T10\": 1}}]",
          "event 0: profiler: unknown checkpoint 'T10' (expected T00..T09)" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
          "\"details\": {\"hostname\": \"h\"}, \"profiler\": {\"t01\": 1}}]",
          "event 0: profiler: unknown checkpoint 't01' (expected T00..T09)" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
          "\"details\": {\"hostname\": \"h\"}, \"profiler\": {\"T01\": -1}}]",
          "event 0: profiler.T01: expected a non-negative integer "
          "(CLOCK_MONOTONIC ns)" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
          "\"details\": {\"hostname\": \"h\"}, \"profiler\": {\"T02\": 1.5}}]",
          "event 0: profiler.T02: expected a non-negative integer "
          "(CLOCK_MONOTONIC ns)" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
          "\"details\": {\"hostname\": \"h\"}, \"profiler\": "
          "{\"T03\": \"12\"}}]", "event 0: profiler.T03: expected a "
          "non-negative integer (CLOCK_MONOTONIC ns)" },
        { "[{\"id\": 12, \"time\": \"2026-11-22T01:53:07Z\", \"type\": "
          "\"a.down\", \"details\": {\"hostname\": \"h\"}}]",
          "event 0: id: expected a string" },
        { "[{\"id\": \"\", \"time\": \"2026-11-22T01:53:07Z\", \"type\": "
          "\"a.down\", \"details\": {\"hostname\": \"h\"}}]",
          "event 0: id: empty or with a control character" },
        /* Duplicate keys at any level. */
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
          "\"type\": \"a.up\", \"details\": {\"hostname\": \"h\"}}]",
          "body: not valid JSON: duplicate object key near '\"type\"' "
          "(line 1, column 58)" },
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
          "\"details\": {\"hostname\": \"h\", \"hostname\": \"g\"}}]",
          "body: not valid JSON: duplicate object key near '\"hostname\"' "
          "(line 1, column 91)" },
        /* Nesting deeper than list > event > details. */
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
          "\"details\": {\"hostname\": \"h\", \"x\": {\"y\": 1}}}]",
          "body: JSON nested deeper than 3 levels" },
        { "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
          "body: JSON nested deeper than 3 levels" },
        /* The error in the second event names it. */
        { "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
          "\"details\": {\"hostname\": \"h\"}}, {\"time\": "
          "\"2026-11-22T01:53:07Z\", \"type\": \"a.down\", \"details\": "
          "{\"hostname\": \"h\"}}, {\"time\": \"2026-11-22T01:53:07Z\", "
          "\"type\": \"a.down\", \"details\": {\"hostname\": 1.5}}]",
          "event 2: details.hostname: expected a string" },
    };

    (void) state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect_error_str(cases[i].body, cases[i].err);
    }
}

static void
test_nul_and_invalid_utf8(void **state)
{
    static const char nul_body[] = "[{\"time\": \"2026\0\"}]";
    static const char latin1[] =
        "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
        "\"details\": {\"hostname\": \"h\xe9\"}}]";
    static const char escaped_nul[] =
        "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
        "\"details\": {\"hostname\": \"h\", \"x\": \"a\\u0000b\"}}]";
    char err[256] = "";
    struct doctor_event *events = NULL;
    size_t length = 0;

    (void) state;
    assert_int_equal(doctor_events_parse(nul_body, sizeof nul_body - 1,
                                         &events, &length, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "body: not valid JSON: "));
    assert_int_equal(doctor_events_parse(latin1, sizeof latin1 - 1, &events,
                                         &length, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "body: not valid JSON: "));
    /* The quoted input in the message is printable ASCII only. */
    for (const char *p = err; *p; p++) {
        assert_true(*p >= 0x20 && *p < 0x7f);
    }
    assert_int_equal(doctor_events_parse(escaped_nul, sizeof escaped_nul - 1,
                                         &events, &length, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "body: not valid JSON: "));
    /* No error buffer at all is fine. */
    assert_int_equal(doctor_events_parse("[]", 2, &events, &length, NULL, 0),
                     -EINVAL);
    assert_int_equal(doctor_events_parse(NULL, 0, &events, &length, NULL, 0),
                     -EINVAL);
}

/* Appends 'count' minimal events to a new body. Caller frees. */
static char *
body_of_events(size_t count)
{
    static const char one[] = "{\"time\": \"2026-11-22T01:53:07Z\", \"type\": "
                              "\"compute.host.down\", \"details\": "
                              "{\"hostname\": \"h\"}}";
    size_t size = 2 + count * sizeof one + 1;
    char *body = malloc(size), *p = body;

    assert_non_null(body);
    *p++ = '[';
    for (size_t i = 0; i < count; i++) {
        if (i) {
            *p++ = ',';
        }
        memcpy(p, one, sizeof one - 1);
        p += sizeof one - 1;
    }
    *p++ = ']';
    *p = '\0';
    return body;
}

static void
test_event_count_bound(void **state)
{
    struct doctor_event *events = NULL;
    size_t length = 0;
    char err[256] = "";
    char *body;

    (void) state;
    body = body_of_events(DOCTOR_MAX_EVENTS);
    assert_int_equal(doctor_events_parse(body, strlen(body), &events, &length,
                                         err, sizeof err), 0);
    assert_int_equal(length, DOCTOR_MAX_EVENTS);
    assert_string_equal(events[DOCTOR_MAX_EVENTS - 1].hostname, "h");
    doctor_events_free(events, length);
    free(body);

    body = body_of_events(DOCTOR_MAX_EVENTS + 1);
    expect_error(body, strlen(body), -E2BIG,
                 "body: 4097 events, more than the 4096 allowed");
    free(body);
}

static void
test_body_size_bound(void **state)
{
    size_t size = DOCTOR_MAX_BODY_SIZE + 1;
    char *body = malloc(size);
    char expected[128];

    (void) state;
    assert_non_null(body);
    memset(body, ' ', size);
    snprintf(expected, sizeof expected,
             "body: %zu bytes, more than the %d allowed", size,
             DOCTOR_MAX_BODY_SIZE);
    expect_error(body, size, -E2BIG, expected);
    free(body);
}

/* A body with one event whose details are 'details' (a JSON object text). */
static char *
body_with_details(const char *details)
{
    static const char fmt[] = "[{\"time\": \"2026-11-22T01:53:07Z\", "
                              "\"type\": \"a.down\", \"details\": %s}]";
    size_t size = strlen(details) + sizeof fmt;
    char *body = malloc(size);

    assert_non_null(body);
    snprintf(body, size, fmt, details);
    return body;
}

static char *
repeat(char c, size_t n)
{
    char *s = malloc(n + 1);

    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* Checks a details string bound: 'max' bytes pass, 'max' + 1 fail. */
static void
check_string_bound(const char *key, size_t max, const char *expected_err)
{
    for (size_t n = max; n <= max + 1; n++) {
        char *value = repeat('x', n);
        size_t size = n + strlen(key) + 64;
        char *details = malloc(size);
        char *body;

        assert_non_null(details);
        if (!strcmp(key, "hostname")) {
            snprintf(details, size, "{\"hostname\": \"%s\"}", value);
        } else {
            snprintf(details, size, "{\"hostname\": \"h\", \"%s\": \"%s\"}",
                     key, value);
        }
        body = body_with_details(details);
        if (n == max) {
            doctor_events_free(parse_one(body), 1);
        } else {
            expect_error_str(body, expected_err);
        }
        free(body);
        free(details);
        free(value);
    }
}

static void
test_string_bounds(void **state)
{
    char *type, *body;
    size_t size;

    (void) state;
    check_string_bound("hostname", DOCTOR_HOSTNAME_SIZE - 1,
                       "event 0: details.hostname: longer than 255 bytes");
    check_string_bound("status", DOCTOR_SHORT_SIZE - 1,
                       "event 0: details.status: longer than 63 bytes");
    check_string_bound("monitor", DOCTOR_SHORT_SIZE - 1,
                       "event 0: details.monitor: longer than 63 bytes");
    check_string_bound("monitor_event_id", DOCTOR_ID_SIZE - 1,
                       "event 0: details.monitor_event_id: longer than 127 "
                       "bytes");
    check_string_bound("libvirt_detail", DOCTOR_MAX_STRING_LENGTH,
                       "event 0: details.libvirt_detail: longer than 1024 "
                       "bytes");

    /* type: 127 bytes pass, 128 fail. */
    for (size_t n = DOCTOR_TYPE_SIZE - 1; n <= DOCTOR_TYPE_SIZE; n++) {
        type = repeat('t', n);
        size = n + 128;
        body = malloc(size);
        assert_non_null(body);
        snprintf(body, size, "[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": "
                 "\"%s\", \"details\": {\"hostname\": \"h\"}}]", type);
        if (n < DOCTOR_TYPE_SIZE) {
            doctor_events_free(parse_one(body), 1);
        } else {
            expect_error_str(body, "event 0: type: longer than 127 bytes");
        }
        free(body);
        free(type);
    }

    /* id: 127 bytes pass, 128 fail. */
    for (size_t n = DOCTOR_ID_SIZE - 1; n <= DOCTOR_ID_SIZE; n++) {
        char *id = repeat('i', n);

        size = n + 128;
        body = malloc(size);
        assert_non_null(body);
        snprintf(body, size, "[{\"id\": \"%s\", \"time\": "
                 "\"2026-11-22T01:53:07Z\", \"type\": \"a.down\", "
                 "\"details\": {\"hostname\": \"h\"}}]", id);
        if (n < DOCTOR_ID_SIZE) {
            struct doctor_event *ev = parse_one(body);

            assert_string_equal(ev->id, id);
            doctor_events_free(ev, 1);
        } else {
            expect_error_str(body, "event 0: id: longer than 127 bytes");
        }
        free(body);
        free(id);
    }

    /* A long key is rejected, and quoted truncated in the message. */
    {
        char *key = repeat('k', 128);
        char details[300];

        snprintf(details, sizeof details, "{\"hostname\": \"h\", \"%s\": 1}",
                 key);
        body = body_with_details(details);
        expect_error_str(body, "event 0: details: key longer than 127 bytes: "
                         "'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...'");
        free(body);
        free(key);
    }

    /* A garbage time is quoted truncated. */
    {
        char *garbage = repeat('y', 2000);

        size = 2200;
        body = malloc(size);
        assert_non_null(body);
        snprintf(body, size, "[{\"time\": \"%s\", \"type\": \"a.down\", "
                 "\"details\": {\"hostname\": \"h\"}}]", garbage);
        expect_error_str(body, "event 0: time: longer than 1024 bytes");
        free(body);
        free(garbage);
    }
}

static void
test_details_key_bound(void **state)
{
    (void) state;
    for (size_t count = DOCTOR_MAX_DETAILS; count <= DOCTOR_MAX_DETAILS + 1;
         count++) {
        char details[4096];
        size_t n = 0;
        char *body;

        n += snprintf(details + n, sizeof details - n, "{\"hostname\": \"h\"");
        for (size_t i = 1; i < count; i++) {
            n += snprintf(details + n, sizeof details - n, ", \"k%zu\": %zu",
                          i, i);
        }
        snprintf(details + n, sizeof details - n, "}");
        body = body_with_details(details);
        if (count == DOCTOR_MAX_DETAILS) {
            struct doctor_event *ev = parse_one(body);

            assert_int_equal(json_object_size(ev->details), count);
            doctor_events_free(ev, 1);
        } else {
            expect_error_str(body, "event 0: details: more than 64 keys");
        }
        free(body);
    }
}

static void
test_depth_counts_structure_only(void **state)
{
    struct doctor_event *ev;

    (void) state;
    /* Brackets inside strings (with escaped quotes) are not nesting. */
    ev = parse_one("[{\"time\": \"2026-11-22T01:53:07Z\", \"type\": \"a.down\","
                   " \"details\": {\"hostname\": \"h\", \"note\": "
                   "\"[[[{{{\\\"[[[\\\\\"}}]");
    assert_string_equal(json_string_value(json_object_get(ev->details,
                                                          "note")),
                        "[[[{{{\"[[[\\");
    doctor_events_free(ev, 1);
}

static void
test_round_trip(void **state)
{
    static const char body[] =
        "[{\"id\": \"e1\", \"time\": \"2026-11-22T01:53:07.654321+00:00\", "
        "\"type\": \"compute.instance.down\", \"details\": {\"hostname\": "
        "\"compute1\", \"status\": \"down\", \"monitor\": \"vigil-monitor\", "
        "\"monitor_event_id\": \"m-1\", \"instance_uuid\": \"" INSTANCE_UUID
        "\", \"libvirt_event\": \"STOPPED\", \"vcpus\": 2, \"ratio\": 0.25, "
        "\"crashed\": false}, \"profiler\": {\"T01\": 1000, \"T02\": 2000}}]";
    struct doctor_event *first, *second;
    json_t *obj;
    char *text;

    (void) state;
    first = parse_one(body);
    obj = doctor_event_to_json(first);
    assert_non_null(obj);
    assert_string_equal(json_string_value(json_object_get(obj, "time")),
                        "2026-11-22T01:53:07.654321Z");
    /* Only the stamps that are set. */
    assert_int_equal(json_object_size(json_object_get(obj, "profiler")), 2);
    text = json_dumps(obj, JSON_COMPACT);
    assert_non_null(text);
    second = parse_one(text);
    assert_string_equal(second->id, first->id);
    assert_string_equal(second->type, first->type);
    assert_int_equal(second->time_ns, first->time_ns);
    assert_string_equal(second->hostname, first->hostname);
    assert_string_equal(second->status, first->status);
    assert_string_equal(second->monitor, first->monitor);
    assert_string_equal(second->monitor_event_id, first->monitor_event_id);
    assert_string_equal(second->instance_uuid, INSTANCE_UUID);
    assert_true(json_equal(second->details, first->details));
    assert_memory_equal(second->stamps, first->stamps, sizeof first->stamps);
    free(text);
    json_decref(obj);
    doctor_events_free(second, 1);
    doctor_events_free(first, 1);
}

static void
test_build_and_round_trip(void **state)
{
    struct doctor_event ev, *back;
    json_t *obj;
    char *text;
    char long_value[DOCTOR_MAX_STRING_LENGTH + 2];

    (void) state;
    assert_int_equal(doctor_event_init(&ev), 0);
    strcpy(ev.type, "compute.instance.down");
    ev.time_ns = SAMPLE_EPOCH_S * 1000000000 + 1000;
    ev.stamps[DOCTOR_T01] = 42;
    assert_int_equal(doctor_event_set_detail(&ev, "hostname", "compute-3"), 0);
    assert_int_equal(doctor_event_set_detail(&ev, "instance_uuid",
                                             INSTANCE_UUID), 0);
    assert_int_equal(doctor_event_set_detail(&ev, "status", "down"), 0);
    assert_int_equal(doctor_event_set_detail(&ev, "libvirt_event", "CRASHED"),
                     0);
    /* Replacing a key keeps the mirror in step. */
    assert_int_equal(doctor_event_set_detail(&ev, "status", "error"), 0);
    assert_string_equal(ev.status, "error");
    assert_string_equal(ev.hostname, "compute-3");
    assert_string_equal(ev.instance_uuid, INSTANCE_UUID);

    /* Rejections leave the event as it was. */
    assert_int_equal(doctor_event_set_detail(&ev, "hostname", "bad host"),
                     -EINVAL);
    assert_int_equal(doctor_event_set_detail(&ev, "hostname", ""), -EINVAL);
    assert_int_equal(doctor_event_set_detail(&ev, "instance_uuid", "nope"),
                     -EINVAL);
    assert_int_equal(doctor_event_set_detail(&ev, "", "x"), -EINVAL);
    assert_int_equal(doctor_event_set_detail(&ev, "status",
                                             "0123456789012345678901234567890"
                                             "12345678901234567890123456789012"
                                             "3"), -EINVAL);
    memset(long_value, 'v', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    assert_int_equal(doctor_event_set_detail(&ev, "note", long_value),
                     -EINVAL);
    long_value[DOCTOR_MAX_STRING_LENGTH] = '\0';
    assert_int_equal(doctor_event_set_detail(&ev, "note", long_value), 0);
    assert_int_equal(doctor_event_set_detail(&ev, "bad", "\xff\xfe"),
                     -EINVAL);
    assert_string_equal(ev.hostname, "compute-3");
    assert_int_equal(json_object_size(ev.details), 5);

    obj = doctor_event_to_json(&ev);
    assert_non_null(obj);
    /* No id was set: none is sent (the receiver makes one). */
    assert_null(json_object_get(obj, "id"));
    text = json_dumps(obj, 0);
    assert_non_null(text);
    back = parse_one(text);
    assert_true(vuuid_is_valid(back->id));
    assert_string_equal(back->type, "compute.instance.down");
    assert_int_equal(back->time_ns, ev.time_ns);
    assert_string_equal(back->status, "error");
    assert_int_equal(back->stamps[DOCTOR_T01], 42);
    assert_true(json_equal(back->details, ev.details));
    assert_true(doctor_event_is_fault(back));
    free(text);
    json_decref(obj);
    doctor_events_free(back, 1);
    doctor_event_clear(&ev);
    assert_null(ev.details);
    assert_string_equal(ev.hostname, "");
}

static void
test_set_detail_key_bound(void **state)
{
    struct doctor_event ev;
    char key[16];

    (void) state;
    memset(&ev, 0, sizeof ev);
    /* A zeroed event gets its details object on first use. */
    assert_int_equal(doctor_event_set_detail(&ev, "hostname", "h"), 0);
    for (int i = 1; i < DOCTOR_MAX_DETAILS; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(doctor_event_set_detail(&ev, key, "v"), 0);
    }
    assert_int_equal(doctor_event_set_detail(&ev, "one_more", "v"), -E2BIG);
    /* Replacing an existing key is still allowed at the limit. */
    assert_int_equal(doctor_event_set_detail(&ev, "k1", "w"), 0);
    assert_int_equal(json_object_size(ev.details), DOCTOR_MAX_DETAILS);
    doctor_event_clear(&ev);
    doctor_event_clear(&ev);
    doctor_event_clear(NULL);
}

static void
test_from_json(void **state)
{
    json_t *obj, *details;
    struct doctor_event ev;
    char err[256] = "";

    (void) state;
    obj = json_pack("{s:s, s:s, s:{s:s}}", "time", "2026-11-22T01:53:07Z",
                    "type", "compute.host.down", "details", "hostname", "h1");
    assert_non_null(obj);
    assert_int_equal(doctor_event_from_json(obj, &ev, err, sizeof err), 0);
    /* The event owns a copy: changing the source does not change it. */
    details = json_object_get(obj, "details");
    json_object_set_new(details, "hostname", json_string("other"));
    assert_string_equal(json_string_value(json_object_get(ev.details,
                                                          "hostname")), "h1");
    doctor_event_clear(&ev);

    /* A NUL inside a string cannot come from JSON text but can come from
     * a caller's json_t. */
    json_object_set_new(details, "hostname", json_stringn("h\0x", 3));
    memset(&ev, 0x5a, sizeof ev);
    assert_int_equal(doctor_event_from_json(obj, &ev, err, sizeof err),
                     -EINVAL);
    assert_string_equal(err, "details.hostname: contains a NUL byte");
    /* Nothing written on failure. */
    assert_int_equal(ev.hostname[0], 0x5a);
    json_decref(obj);
}

static void
test_events_from_json(void **state)
{
    struct doctor_event *events = NULL;
    size_t length = 0;
    char err[256] = "";
    json_error_t jerr;
    json_t *root;

    (void) state;
    root = json_loads(sample_body, 0, &jerr);
    assert_non_null(root);
    assert_int_equal(doctor_events_from_json(root, &events, &length, err,
                                             sizeof err), 0);
    assert_int_equal(length, 1);
    assert_string_equal(events[0].hostname, "compute1");
    assert_int_equal(events[0].time_ns,
                     SAMPLE_EPOCH_S * 1000000000 + 123456000);
    /* The events own copies: the caller may change or free its tree. */
    json_object_set_new(json_object_get(json_array_get(root, 0), "details"),
                        "hostname", json_string("changed"));
    json_decref(root);
    assert_string_equal(json_string_value(json_object_get(events[0].details,
                                                          "hostname")),
                        "compute1");
    doctor_events_free(events, length);

    /* A single object is a list of one. */
    root = json_pack("{s:s, s:s, s:{s:s}}", "time", "2026-11-22T01:53:07Z",
                     "type", "compute.host.down", "details", "hostname", "h");
    assert_non_null(root);
    assert_int_equal(doctor_events_from_json(root, &events, &length, err,
                                             sizeof err), 0);
    assert_int_equal(length, 1);
    doctor_events_free(events, length);
    json_decref(root);

    /* The same errors as from text, nesting included. */
    root = json_pack("[{s:s, s:s, s:{s:s}}, {s:s, s:s, s:{s:i}}]",
                     "time", "2026-11-22T01:53:07Z", "type", "a.down",
                     "details", "hostname", "h",
                     "time", "2026-11-22T01:53:07Z", "type", "a.down",
                     "details", "hostname", 3);
    assert_non_null(root);
    events = (struct doctor_event *) 0x1;
    assert_int_equal(doctor_events_from_json(root, &events, &length, err,
                                             sizeof err), -EINVAL);
    assert_string_equal(err, "event 1: details.hostname: expected a string");
    assert_ptr_equal(events, (struct doctor_event *) 0x1);
    json_decref(root);

    root = json_pack("[{s:s, s:s, s:{s:s, s:{s:i}}}]",
                     "time", "2026-11-22T01:53:07Z", "type", "a.down",
                     "details", "hostname", "h", "x", "y", 1);
    assert_non_null(root);
    assert_int_equal(doctor_events_from_json(root, &events, &length, err,
                                             sizeof err), -EINVAL);
    assert_string_equal(err, "body: JSON nested deeper than 3 levels");
    json_decref(root);

    root = json_array();
    assert_non_null(root);
    assert_int_equal(doctor_events_from_json(root, &events, &length, err,
                                             sizeof err), -EINVAL);
    assert_string_equal(err, "body: empty list of events");
    for (int i = 0; i <= DOCTOR_MAX_EVENTS; i++) {
        assert_int_equal(json_array_append_new(root, json_object()), 0);
    }
    assert_int_equal(doctor_events_from_json(root, &events, &length, err,
                                             sizeof err), -E2BIG);
    assert_string_equal(err, "body: 4097 events, more than the 4096 allowed");
    json_decref(root);

    root = json_integer(1);
    assert_int_equal(doctor_events_from_json(root, &events, &length, err,
                                             sizeof err), -EINVAL);
    assert_string_equal(err, "body: expected a list of events or one event "
                        "object, not a scalar");
    json_decref(root);
    assert_int_equal(doctor_events_from_json(NULL, &events, &length, err,
                                             sizeof err), -EINVAL);
    assert_string_equal(err, "body: expected a list of events or one event "
                        "object, not nothing");
}

static void
test_is_fault(void **state)
{
    static const struct {
        const char *type;
        const char *status;
        bool fault;
    } cases[] = {
        { "compute.host.down", "down", true },
        { "compute.host.down", "", true },
        { "compute.instance.error", "", true },
        { "compute.instance.down", "error", true },
        { "link.nic.flapping", "", true },
        { "compute.host.up", "", false },
        { "compute.host.up", "down", false },
        { "compute.host.status", "up", false },
        { "compute.host.status", "OK", false },
        { "compute.host.upper", "", true },
    };

    (void) state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct doctor_event ev;

        memset(&ev, 0, sizeof ev);
        strcpy(ev.type, cases[i].type);
        strcpy(ev.status, cases[i].status);
        assert_int_equal(doctor_event_is_fault(&ev), cases[i].fault);
    }
}

static void
test_stamp_names(void **state)
{
    (void) state;
    assert_string_equal(doctor_stamp_name(DOCTOR_T00), "T00");
    assert_string_equal(doctor_stamp_name(DOCTOR_T05), "T05");
    assert_string_equal(doctor_stamp_name(DOCTOR_T09), "T09");
    assert_string_equal(doctor_stamp_name(DOCTOR_STAMP_COUNT), "T??");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_body),
        cmocka_unit_test(test_time_zones),
        cmocka_unit_test(test_single_object_and_generated_id),
        cmocka_unit_test(test_several_events),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_nul_and_invalid_utf8),
        cmocka_unit_test(test_event_count_bound),
        cmocka_unit_test(test_body_size_bound),
        cmocka_unit_test(test_string_bounds),
        cmocka_unit_test(test_details_key_bound),
        cmocka_unit_test(test_depth_counts_structure_only),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_build_and_round_trip),
        cmocka_unit_test(test_set_detail_key_bound),
        cmocka_unit_test(test_from_json),
        cmocka_unit_test(test_events_from_json),
        cmocka_unit_test(test_is_fault),
        cmocka_unit_test(test_stamp_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
