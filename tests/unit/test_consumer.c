/* test_consumer: the sample VNFM's webhook body validation (vnfm_alarm) and
 * its endpoint (vnfm) driven over real HTTP on 127.0.0.1: webhooks are
 * recorded with T09, malformed ones rejected with 400, GET /alarms lists
 * them, DELETE /alarms clears them, the record list is bounded. */
#include <errno.h>
#include <event2/event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "httpc.h"
#include "vlog.h"
#include "vnfm.h"
#include "vnfm_alarm.h"
#include "vtime.h"

#define UUID "6695eb01-f6a4-8304-79aa-97f2502e193f"

/* A webhook body as vigil-notifier sends it. */
static const char valid_body[] =
    "{\"alarm_name\": \"vnfm-1\", \"alarm_id\": \"a1\","
    " \"severity\": \"critical\", \"previous\": \"ok\", \"current\": \"alarm\","
    " \"reason\": \"Event (message_id=m1) hit the query of alarm a1\","
    " \"reason_data\": {\"type\": \"event\", \"event\": {"
    "   \"message_id\": \"m1\", \"event_type\": \"compute.instance.down\","
    "   \"generated\": \"2026-11-22T01:53:07.123456\","
    "   \"traits\": [[\"hostname\", 1, \"compute-1\"],"
    "                [\"instance_uuid\", 1, \"" UUID "\"],"
    "                [\"libvirt_event\", 1, \"STOPPED\"],"
    "                [\"libvirt_detail\", 1, \"DESTROYED\"],"
    "                [\"vcpus\", 2, 4], [\"extra\", \"string\", null]]}},"
    " \"notification_id\": \"n1\","
    " \"profiler\": {\"T01\": 100, \"T02\": 200, \"T06\": 300,"
    "                \"T07\": 400, \"T08\": 500, \"other\": \"x\"}}";

static json_t *
load(const char *text)
{
    json_error_t error;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);

    if (!v) {
        fail_msg("test body does not parse: %s: %s", error.text, text);
    }
    return v;
}

static void
test_alarm_valid(void **state)
{
    struct vnfm_alarm alarm;
    json_t *body = load(valid_body);
    char err[256] = "";

    (void) state;
    assert_int_equal(vnfm_alarm_from_json(body, &alarm, err, sizeof err), 0);
    assert_string_equal(alarm.alarm_name, "vnfm-1");
    assert_string_equal(alarm.alarm_id, "a1");
    assert_string_equal(alarm.severity, "critical");
    assert_string_equal(alarm.previous, "ok");
    assert_string_equal(alarm.current, "alarm");
    assert_string_equal(alarm.event_type, "compute.instance.down");
    assert_string_equal(alarm.message_id, "m1");
    assert_string_equal(alarm.notification_id, "n1");
    assert_string_equal(alarm.hostname, "compute-1");
    assert_string_equal(alarm.instance_uuid, UUID);
    assert_string_equal(alarm.libvirt_event, "STOPPED");
    assert_string_equal(alarm.libvirt_detail, "DESTROYED");
    assert_int_equal(alarm.stamps[DOCTOR_T00], 0);
    assert_int_equal(alarm.stamps[DOCTOR_T01], 100);
    assert_int_equal(alarm.stamps[DOCTOR_T02], 200);
    assert_int_equal(alarm.stamps[DOCTOR_T06], 300);
    assert_int_equal(alarm.stamps[DOCTOR_T07], 400);
    assert_int_equal(alarm.stamps[DOCTOR_T08], 500);
    assert_int_equal(alarm.stamps[DOCTOR_T09], 0);
    json_decref(body);
}

static void
test_alarm_minimal(void **state)
{
    /* Aodh itself sends no notification_id nor profiler, and may send an
     * event without any trait. */
    static const char text[] =
        "{\"alarm_name\": \"n\", \"alarm_id\": \"i\", \"severity\": \"low\","
        " \"previous\": \"insufficient data\", \"current\": \"alarm\","
        " \"reason\": \"\", \"reason_data\": {\"type\": \"event\","
        " \"event\": {\"message_id\": \"m\", \"event_type\": \"x.y\","
        " \"generated\": \"2026-01-01T00:00:00Z\", \"traits\": []}}}";
    struct vnfm_alarm alarm;
    json_t *body = load(text);

    (void) state;
    assert_int_equal(vnfm_alarm_from_json(body, &alarm, NULL, 0), 0);
    assert_string_equal(alarm.notification_id, "");
    assert_string_equal(alarm.hostname, "");
    assert_string_equal(alarm.instance_uuid, "");
    for (int s = 0; s < DOCTOR_STAMP_COUNT; s++) {
        assert_int_equal(alarm.stamps[s], 0);
    }
    json_decref(body);
}

/* Sets 'path' (a dotted path of object keys) in a copy of the valid body to
 * 'value' (JSON text, or NULL to delete it) and expects a rejection whose
 * message contains 'expect'. */
static void
expect_rejected(const char *path, const char *value, const char *expect)
{
    json_t *body = load(valid_body), *parent = body;
    char *copy = strdup(path), *save = NULL, *key, *next;
    struct vnfm_alarm alarm, before;
    char err[256] = "";

    assert_non_null(copy);
    key = strtok_r(copy, ".", &save);
    while ((next = strtok_r(NULL, ".", &save))) {
        parent = json_object_get(parent, key);
        assert_non_null(parent);
        key = next;
    }
    if (value) {
        assert_int_equal(json_object_set_new(parent, key, load(value)), 0);
    } else {
        assert_int_equal(json_object_del(parent, key), 0);
    }
    memset(&alarm, 0x5a, sizeof alarm);
    before = alarm;
    assert_int_equal(vnfm_alarm_from_json(body, &alarm, err, sizeof err),
                     -EINVAL);
    if (!strstr(err, expect)) {
        fail_msg("%s=%s: message '%s' lacks '%s'", path,
                 value ? value : "(deleted)", err, expect);
    }
    /* Outputs are written only on success. */
    assert_memory_equal(&alarm, &before, sizeof alarm);
    free(copy);
    json_decref(body);
}

static void
test_alarm_malformed(void **state)
{
    char long_name[VNFM_ALARM_NAME_SIZE + 16];
    char long_trait[VNFM_ALARM_MAX_STRING_LENGTH + 64];
    char many_traits[VNFM_ALARM_MAX_TRAITS * 24 + 16];
    size_t n;

    (void) state;
    expect_rejected("alarm_name", NULL, "alarm_name: missing");
    expect_rejected("alarm_name", "42", "alarm_name: expected a string");
    expect_rejected("alarm_name", "\"\"", "alarm_name: empty");
    snprintf(long_name, sizeof long_name, "\"%0*d\"", VNFM_ALARM_NAME_SIZE,
             0);
    expect_rejected("alarm_name", long_name, "alarm_name: longer than");
    expect_rejected("alarm_name", "\"a\\u0000b\"", "alarm_name: contains a NUL");
    expect_rejected("alarm_id", NULL, "alarm_id: missing");
    expect_rejected("alarm_id", "[]", "alarm_id: expected a string");
    expect_rejected("severity", "\"fatal\"", "severity: unexpected value");
    expect_rejected("previous", "null", "previous: expected a string");
    expect_rejected("current", "\"down\"", "current: unexpected value");
    expect_rejected("current", NULL, "current: missing");
    expect_rejected("reason", NULL, "reason: expected a string");
    expect_rejected("reason", "{}", "reason: expected a string");
    expect_rejected("notification_id", "7", "notification_id: expected a");
    expect_rejected("reason_data", NULL, "reason_data: expected an object");
    expect_rejected("reason_data", "\"event\"", "reason_data: expected an");
    expect_rejected("reason_data.type", "\"threshold\"",
                    "reason_data.type: expected \"event\"");
    expect_rejected("reason_data.type", NULL, "reason_data.type");
    expect_rejected("reason_data.event", "[]",
                    "reason_data.event: expected an object");
    expect_rejected("reason_data.event.message_id", NULL,
                    "reason_data.event.message_id: missing");
    expect_rejected("reason_data.event.event_type", "1",
                    "reason_data.event.event_type: expected a string");
    expect_rejected("reason_data.event.event_type", "\"\"",
                    "reason_data.event.event_type: empty");
    expect_rejected("reason_data.event.generated", "\"yesterday\"",
                    "reason_data.event.generated: not an ISO-8601 time");
    expect_rejected("reason_data.event.generated", "\"2026-02-30T00:00:00\"",
                    "not an ISO-8601 time");
    expect_rejected("reason_data.event.traits", NULL,
                    "reason_data.event.traits: expected a list");
    expect_rejected("reason_data.event.traits", "{\"hostname\": \"h\"}",
                    "reason_data.event.traits: expected a list");
    expect_rejected("reason_data.event.traits", "[[\"hostname\", 1]]",
                    "traits[0]: expected [name, type, value]");
    expect_rejected("reason_data.event.traits", "[\"hostname\"]",
                    "traits[0]: expected [name, type, value]");
    expect_rejected("reason_data.event.traits", "[[1, 1, \"h\"]]",
                    "traits[0]: name: expected a string");
    expect_rejected("reason_data.event.traits", "[[\"\", 1, \"h\"]]",
                    "traits[0]: name: expected a string");
    expect_rejected("reason_data.event.traits", "[[\"h\", 9, \"h\"]]",
                    "traits[0]: type: expected 0..4");
    expect_rejected("reason_data.event.traits", "[[\"h\", 1.5, \"h\"]]",
                    "traits[0]: type: expected 0..4");
    expect_rejected("reason_data.event.traits",
                    "[[\"a\", 1, \"x\"], [\"b\", 1, {\"deep\": 1}]]",
                    "traits[1]: value: expected a scalar");
    expect_rejected("reason_data.event.traits", "[[\"hostname\", 1, 5]]",
                    "traits[0]: hostname: expected a string value");
    expect_rejected("reason_data.event.traits",
                    "[[\"instance_uuid\", 1, \"not-a-uuid\"]]",
                    "traits[0]: instance_uuid: not a UUID");
    expect_rejected("reason_data.event.traits",
                    "[[\"libvirt_event\", 1, "
                    "\"0123456789012345678901234567890123456789"
                    "012345678901234567890123456789\"]]",
                    "traits[0]: libvirt_event: longer than");
    n = (size_t) snprintf(long_trait, sizeof long_trait, "[[\"x\", 1, \"");
    memset(long_trait + n, 'v', VNFM_ALARM_MAX_STRING_LENGTH + 1);
    n += VNFM_ALARM_MAX_STRING_LENGTH + 1;
    snprintf(long_trait + n, sizeof long_trait - n, "\"]]");
    expect_rejected("reason_data.event.traits", long_trait,
                    "traits[0]: value: expected a scalar of at most");
    n = (size_t) snprintf(many_traits, sizeof many_traits, "[");
    for (int i = 0; i <= VNFM_ALARM_MAX_TRAITS; i++) {
        n += (size_t) snprintf(many_traits + n, sizeof many_traits - n,
                               "%s[\"t%d\", 1, \"v\"]", i ? "," : "", i);
    }
    snprintf(many_traits + n, sizeof many_traits - n, "]");
    expect_rejected("reason_data.event.traits", many_traits,
                    "more than 64 traits");
    expect_rejected("profiler", "[1, 2]", "profiler: expected an object");
    expect_rejected("profiler", "{\"T01\": \"12\"}",
                    "profiler.T01: expected a non-negative integer");
    expect_rejected("profiler", "{\"T08\": -5}",
                    "profiler.T08: expected a non-negative integer");
    expect_rejected("profiler", "{\"T02\": 1.5}",
                    "profiler.T02: expected a non-negative integer");
}

static void
test_alarm_not_object(void **state)
{
    static const char *const bodies[] = { "[]", "[{}]", "\"alarm\"", "42",
                                          "null", "true", "{}" };
    struct vnfm_alarm alarm;
    char err[128];

    (void) state;
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        json_t *body = json_loads(bodies[i], JSON_DECODE_ANY, NULL);

        assert_non_null(body);
        assert_int_equal(vnfm_alarm_from_json(body, &alarm, err, sizeof err),
                         -EINVAL);
        json_decref(body);
    }
    assert_int_equal(vnfm_alarm_from_json(NULL, &alarm, err, sizeof err),
                     -EINVAL);
    /* A tiny error buffer truncates, never overflows. */
    assert_int_equal(vnfm_alarm_from_json(NULL, &alarm, err, 4), -EINVAL);
    assert_int_equal(strlen(err), 3);
}

/* The endpoint, driven by a real HTTP client on the same loop. */
struct endpoint_fixture {
    struct event_base *base;
    struct vnfm *vnfm;
    struct httpc *client;
    char base_url[64];
    int callbacks;
    struct vnfm_alarm last;
    long status;
    char *body;
};

static void
on_alarm(const struct vnfm_alarm *alarm, const json_t *body, void *arg)
{
    struct endpoint_fixture *f = arg;

    assert_non_null(body);
    f->callbacks++;
    f->last = *alarm;
}

static void
on_response(const struct httpc_response *response, void *arg)
{
    struct endpoint_fixture *f = arg;

    f->status = response->status;
    free(f->body);
    f->body = strdup(response->body ? response->body : "");
    event_base_loopbreak(f->base);
}

/* Sends one request and runs the loop until its answer; returns the status
 * (the body is in f->body). */
static long
request(struct endpoint_fixture *f, const char *method, const char *path,
        const char *content_type, const char *body)
{
    char url[128], header[128];
    const char *headers[] = { header, NULL };
    struct httpc_request req;

    snprintf(url, sizeof url, "%s%s", f->base_url, path);
    snprintf(header, sizeof header, "Content-Type: %s", content_type);
    memset(&req, 0, sizeof req);
    req.method = method;
    req.url = url;
    req.body = body;
    req.body_size = body ? strlen(body) : 0;
    req.headers = headers;
    req.timeout_ms = 5000;
    f->status = -1;
    assert_int_equal(httpc_submit(f->client, &req, on_response, f), 0);
    event_base_dispatch(f->base);
    assert_int_not_equal(f->status, -1);
    return f->status;
}

static int
endpoint_setup(void **state)
{
    struct endpoint_fixture *f = calloc(1, sizeof *f);
    struct vnfm_options opts;
    int error = 0;

    assert_non_null(f);
    vlog_init("test_consumer", VLOG_LEVEL_ERR);
    f->base = event_base_new();
    assert_non_null(f->base);
    memset(&opts, 0, sizeof opts);
    opts.address = "127.0.0.1";
    opts.port = 0;
    opts.max_alarms = 3;
    f->vnfm = vnfm_new(f->base, &opts, &error);
    assert_non_null(f->vnfm);
    vnfm_set_alarm_callback(f->vnfm, on_alarm, f);
    f->client = httpc_new(f->base, NULL);
    assert_non_null(f->client);
    snprintf(f->base_url, sizeof f->base_url, "http://127.0.0.1:%u",
             (unsigned) vnfm_port(f->vnfm));
    *state = f;
    return 0;
}

static int
endpoint_teardown(void **state)
{
    struct endpoint_fixture *f = *state;

    httpc_free(f->client);
    vnfm_free(f->vnfm);
    event_base_free(f->base);
    free(f->body);
    free(f);
    return 0;
}

static void
test_endpoint_records(void **state)
{
    struct endpoint_fixture *f = *state;
    char expect_url[96];
    int64_t before, after;
    json_t *list, *first;

    snprintf(expect_url, sizeof expect_url, "%s/alarm", f->base_url);
    assert_string_equal(vnfm_callback_url(f->vnfm), expect_url);

    before = vtime_mono_ns();
    assert_int_equal(request(f, "POST", "/alarm", "application/json",
                             valid_body), 200);
    after = vtime_mono_ns();
    assert_int_equal(f->callbacks, 1);
    assert_string_equal(f->last.instance_uuid, UUID);
    assert_true(f->last.stamps[DOCTOR_T09] >= before);
    assert_true(f->last.stamps[DOCTOR_T09] <= after);
    assert_int_equal(f->last.stamps[DOCTOR_T08], 500);

    /* Any path under /alarm is a webhook. */
    assert_int_equal(request(f, "POST", "/alarm/vnf-42", "application/json",
                             valid_body), 200);
    assert_int_equal(f->callbacks, 2);

    assert_int_equal(request(f, "GET", "/alarms", "application/json", NULL),
                     200);
    list = json_loads(f->body, 0, NULL);
    assert_true(json_is_array(list));
    assert_int_equal(json_array_size(list), 2);
    first = json_array_get(list, 0);
    assert_int_equal(json_integer_value(json_object_get(first, "seq")), 1);
    assert_true(json_integer_value(json_object_get(
                    first, "received_mono_ns")) >= before);
    assert_true(json_integer_value(json_object_get(
                    first, "received_mono_ns")) <= after);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(list, 1), "received_mono_ns")),
                     f->last.stamps[DOCTOR_T09]);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(first, "body"), "alarm_id")),
                        "a1");
    json_decref(list);

    assert_int_equal(request(f, "GET", "/alarms?after=1", "application/json",
                             NULL), 200);
    list = json_loads(f->body, 0, NULL);
    assert_int_equal(json_array_size(list), 1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(list, 0), "seq")), 2);
    json_decref(list);
    assert_int_equal(request(f, "GET", "/alarms?after=x", "application/json",
                             NULL), 400);
    assert_int_equal(request(f, "GET", "/alarms?limit=1", "application/json",
                             NULL), 200);
    list = json_loads(f->body, 0, NULL);
    assert_int_equal(json_array_size(list), 1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(list, 0), "seq")), 1);
    json_decref(list);
    assert_int_equal(request(f, "GET", "/alarms?limit=100001",
                             "application/json", NULL), 400);
    assert_int_equal(request(f, "GET", "/alarms?limit=-1",
                             "application/json", NULL), 400);

    assert_int_equal(vnfm_received(f->vnfm), 2);
    assert_int_equal(request(f, "DELETE", "/alarms", "application/json",
                             NULL), 204);
    assert_int_equal(request(f, "GET", "/alarms", "application/json", NULL),
                     200);
    list = json_loads(f->body, 0, NULL);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    assert_int_equal(vnfm_received(f->vnfm), 2);
}

static void
test_endpoint_bounded(void **state)
{
    struct endpoint_fixture *f = *state;
    json_t *list;

    /* max_alarms is 3: five webhooks keep the last three. */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(request(f, "POST", "/alarm", "application/json",
                                 valid_body), 200);
    }
    assert_int_equal(request(f, "GET", "/alarms", "application/json", NULL),
                     200);
    list = json_loads(f->body, 0, NULL);
    assert_int_equal(json_array_size(list), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(json_integer_value(json_object_get(
                             json_array_get(list, i), "seq")), 3 + i);
    }
    json_decref(list);
}

static void
test_endpoint_rejects(void **state)
{
    struct endpoint_fixture *f = *state;
    json_t *reply;

    assert_int_equal(request(f, "POST", "/alarm", "application/json",
                             "{\"alarm_name\": \"x\"}"), 400);
    reply = json_loads(f->body, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(reply, "error"), "code")), 400);
    assert_non_null(strstr(json_string_value(json_object_get(
                               json_object_get(reply, "error"), "message")),
                           "alarm_id: missing"));
    json_decref(reply);
    assert_int_equal(request(f, "POST", "/alarm", "application/json",
                             "{not json"), 400);
    assert_int_equal(request(f, "POST", "/alarm", "text/plain", valid_body),
                     415);
    assert_int_equal(request(f, "GET", "/alarm", "application/json", NULL),
                     405);
    assert_int_equal(request(f, "POST", "/alarms", "application/json",
                             valid_body), 405);
    assert_int_equal(request(f, "POST", "/elsewhere", "application/json",
                             valid_body), 404);
    assert_int_equal(f->callbacks, 0);
    assert_int_equal(vnfm_received(f->vnfm), 0);
    assert_int_equal(vnfm_rejected(f->vnfm), 3);
    assert_int_equal(request(f, "GET", "/alarms", "application/json", NULL),
                     200);
    assert_string_equal(f->body, "[]");
}

static void
on_subscribe_done(int status, const char *alarm_id, const char *reason,
                  void *arg)
{
    struct endpoint_fixture *f = arg;

    assert_null(alarm_id);
    assert_non_null(reason);
    f->status = status;
    event_base_loopbreak(f->base);
}

static void
test_subscribe_unreachable(void **state)
{
    struct endpoint_fixture *f = *state;
    struct vnfm_options opts;
    struct vnfm *v;
    int error = 0;

    /* A notifier URL on a port nobody listens on: the one try fails. */
    memset(&opts, 0, sizeof opts);
    opts.port = 0;
    opts.subscribe_attempts = 1;
    opts.notifier_url = "http://127.0.0.1:1/";
    v = vnfm_new(f->base, &opts, &error);
    assert_non_null(v);
    assert_int_equal(vnfm_subscribe(v, on_subscribe_done, f), 0);
    assert_int_equal(vnfm_subscribe(v, on_subscribe_done, f), -EBUSY);
    f->status = 1;
    event_base_dispatch(f->base);
    assert_int_equal(f->status, -EHOSTUNREACH);
    assert_null(vnfm_alarm_id(v));
    assert_int_equal(vnfm_unsubscribe(v, 100, on_subscribe_done, f), -ENOENT);
    vnfm_free(v);

    /* Bad options are refused up front. */
    opts.notifier_url = "ftp://x";
    assert_null(vnfm_new(f->base, &opts, &error));
    assert_int_equal(error, -EINVAL);
    opts.notifier_url = NULL;
    opts.query = "hostname";
    assert_null(vnfm_new(f->base, &opts, &error));
    assert_int_equal(error, -EINVAL);
    opts.query = "host name=x";
    assert_null(vnfm_new(f->base, &opts, &error));
    opts.query = "hostname=compute-1;instance_uuid=" UUID;
    v = vnfm_new(f->base, &opts, &error);
    assert_non_null(v);
    assert_int_equal(vnfm_subscribe(v, on_subscribe_done, f), -EINVAL);
    vnfm_free(v);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alarm_valid),
        cmocka_unit_test(test_alarm_minimal),
        cmocka_unit_test(test_alarm_malformed),
        cmocka_unit_test(test_alarm_not_object),
        cmocka_unit_test_setup_teardown(test_endpoint_records, endpoint_setup,
                                        endpoint_teardown),
        cmocka_unit_test_setup_teardown(test_endpoint_bounded, endpoint_setup,
                                        endpoint_teardown),
        cmocka_unit_test_setup_teardown(test_endpoint_rejects, endpoint_setup,
                                        endpoint_teardown),
        cmocka_unit_test_setup_teardown(test_subscribe_unreachable,
                                        endpoint_setup, endpoint_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
