/* Unit tests of notifier/alarm.c: the Aodh alarm body parser and
 * serialiser, with valid bodies (defaults, round trip) and malformed ones,
 * each of which must be refused with a reason naming the field. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "alarm.h"

/* Parses 'text' as JSON, then as an alarm. Returns the alarm_from_json
 * result; on failure 'err' holds the reason. */
static int
parse_text(const char *text, struct alarm **alarm, char *err, size_t size)
{
    json_error_t jerr;
    json_t *obj = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    int ret;

    assert_non_null(obj);
    err[0] = '\0';
    ret = alarm_from_json(obj, alarm, err, size);
    json_decref(obj);
    return ret;
}

/* Asserts that 'text' is refused and that the reason contains 'needle'. */
static void
assert_refused(const char *text, const char *needle)
{
    struct alarm *alarm = NULL;
    char err[512];
    int ret = parse_text(text, &alarm, err, sizeof err);

    if (ret != -EINVAL || !strstr(err, needle)) {
        fail_msg("body %s: expected -EINVAL with '%s', got %d '%s'", text,
                 needle, ret, err);
    }
    assert_null(alarm);
}

static void
test_minimal_defaults(void **state)
{
    struct alarm *alarm = NULL;
    char err[256];

    (void) state;
    assert_int_equal(parse_text("{\"name\": \"a1\", \"type\": \"event\", "
                                "\"event_rule\": {}}", &alarm, err,
                                sizeof err), 0);
    assert_string_equal(alarm->name, "a1");
    assert_string_equal(alarm->event_type, "*");
    assert_int_equal(alarm->n_queries, 0);
    assert_true(alarm->enabled);
    assert_false(alarm->repeat_actions);
    assert_int_equal(alarm->state, ALARM_STATE_INSUFFICIENT_DATA);
    assert_int_equal(alarm->severity, ALARM_SEVERITY_LOW);
    assert_string_equal(alarm->description, "Alarm when * event occurred.");
    assert_string_equal(alarm->state_reason, "");
    assert_null(alarm->project_id);
    assert_string_equal(alarm->id, "");
    for (int s = 0; s < ALARM_STATE_COUNT; s++) {
        assert_int_equal(alarm->actions[s].length, 0);
    }
    alarm_free(alarm);
}

static void
test_full_body(void **state)
{
    static const char body[] =
        "{\"name\": \"vm-down\", \"description\": \"d\", \"type\": \"event\","
        " \"enabled\": false, \"state\": \"ok\", \"severity\": \"critical\","
        " \"repeat_actions\": true,"
        " \"alarm_actions\": [\"http://127.0.0.1:9/a\", \"https://h/b?x=1\","
        "                     \"http://127.0.0.1:9/a\"],"
        " \"ok_actions\": [\"http://[::1]:8080/ok\"],"
        " \"insufficient_data_actions\": null,"
        " \"time_constraints\": [],"
        " \"event_rule\": {\"event_type\": \"compute.instance.down\","
        "   \"query\": [{\"field\": \"traits.instance_uuid\", \"op\": \"eq\","
        "                \"value\": \"abc\", \"type\": \"string\"},"
        "               {\"field\": \"traits.count\", \"op\": \"ge\","
        "                \"value\": \"3\", \"type\": \"integer\"},"
        "               {\"field\": \"traits.load\", \"value\": \" 0.5 \","
        "                \"type\": \"float\"},"
        "               {\"field\": \"traits.up\", \"op\": \"ne\","
        "                \"value\": \"Yes\", \"type\": \"boolean\"},"
        "               {\"field\": \"traits.hostname\", \"value\": 7,"
        "                \"type\": \"\"}]},"
        " \"project_id\": \"p1\", \"user_id\": \"u1\"}";
    struct alarm *alarm = NULL;
    char err[256];

    (void) state;
    assert_int_equal(parse_text(body, &alarm, err, sizeof err), 0);
    assert_false(alarm->enabled);
    assert_true(alarm->repeat_actions);
    assert_int_equal(alarm->state, ALARM_STATE_OK);
    assert_int_equal(alarm->severity, ALARM_SEVERITY_CRITICAL);
    /* The duplicate URL is dropped, as Aodh does. */
    assert_int_equal(alarm->actions[ALARM_STATE_ALARM].length, 2);
    assert_string_equal(alarm->actions[ALARM_STATE_ALARM].urls[1],
                        "https://h/b?x=1");
    assert_int_equal(alarm->actions[ALARM_STATE_OK].length, 1);
    assert_int_equal(alarm->actions[ALARM_STATE_INSUFFICIENT_DATA].length, 0);
    assert_string_equal(alarm->event_type, "compute.instance.down");
    assert_int_equal(alarm->n_queries, 5);
    assert_string_equal(alarm->queries[0].trait, "instance_uuid");
    assert_int_equal(alarm->queries[1].op, ALARM_OP_GE);
    assert_int_equal(alarm->queries[1].converted.integer, 3);
    assert_int_equal(alarm->queries[2].op, ALARM_OP_EQ);
    assert_true(alarm->queries[2].converted.real == 0.5);
    assert_true(alarm->queries[3].converted.boolean);
    assert_int_equal(alarm->queries[4].type, ALARM_VALUE_STRING);
    assert_string_equal(alarm->queries[4].value, "7");
    assert_string_equal(alarm->project_id, "p1");
    assert_string_equal(alarm->user_id, "u1");
    alarm_free(alarm);
}

/* alarm_to_json then alarm_from_json gives the same alarm, and the JSON has
 * Aodh's members. */
static void
test_round_trip(void **state)
{
    static const char body[] =
        "{\"name\": \"n\", \"type\": \"event\", \"severity\": \"moderate\","
        " \"alarm_id\": \"0b6e38c4-1f5c-4bcb-8f7a-5d8f9d2b7a10\","
        " \"timestamp\": \"2026-11-22T01:53:07.123456Z\","
        " \"state_timestamp\": \"2026-11-22T01:53:08Z\","
        " \"state_reason\": \"because\","
        " \"alarm_actions\": [\"http://h:1/x\"],"
        " \"event_rule\": {\"event_type\": \"compute.*\", \"query\":"
        "   [{\"field\": \"traits.hostname\", \"value\": \"c1\"}]}}";
    struct alarm *alarm = NULL, *again = NULL;
    json_t *out, *out2, *q;
    char err[256];

    (void) state;
    assert_int_equal(parse_text(body, &alarm, err, sizeof err), 0);
    out = alarm_to_json(alarm);
    assert_non_null(out);
    assert_string_equal(json_string_value(json_object_get(out, "alarm_id")),
                        "0b6e38c4-1f5c-4bcb-8f7a-5d8f9d2b7a10");
    assert_string_equal(json_string_value(json_object_get(out, "type")),
                        "event");
    assert_string_equal(json_string_value(json_object_get(out, "state")),
                        "insufficient data");
    assert_string_equal(json_string_value(json_object_get(out, "timestamp")),
                        "2026-11-22T01:53:07.123456Z");
    assert_string_equal(
        json_string_value(json_object_get(out, "state_timestamp")),
        "2026-11-22T01:53:08.000000Z");
    assert_true(json_is_array(json_object_get(out, "time_constraints")));
    assert_true(json_is_array(json_object_get(out, "ok_actions")));
    assert_true(json_is_null(json_object_get(out, "project_id")));
    q = json_array_get(json_object_get(json_object_get(out, "event_rule"),
                                       "query"), 0);
    assert_string_equal(json_string_value(json_object_get(q, "op")), "eq");
    assert_null(json_object_get(q, "type"));   /* not given, not invented */
    assert_int_equal(alarm_from_json(out, &again, err, sizeof err), 0);
    out2 = alarm_to_json(again);
    assert_true(json_equal(out, out2));
    json_decref(out);
    json_decref(out2);
    alarm_free(alarm);
    alarm_free(again);
}

static void
test_not_an_object(void **state)
{
    (void) state;
    assert_refused("[]", "JSON object");
    assert_refused("\"alarm\"", "JSON object");
    assert_refused("42", "JSON object");
}

static void
test_missing_or_bad_name(void **state)
{
    (void) state;
    assert_refused("{\"type\": \"event\", \"event_rule\": {}}", "name: missing");
    assert_refused("{\"name\": null, \"type\": \"event\", \"event_rule\": {}}",
                   "name: missing");
    assert_refused("{\"name\": 5, \"type\": \"event\", \"event_rule\": {}}",
                   "name: expected a string");
    assert_refused("{\"name\": \"\", \"type\": \"event\", \"event_rule\": {}}",
                   "name: must not be empty");
    assert_refused("{\"name\": \"a\\u0000b\", \"type\": \"event\", "
                   "\"event_rule\": {}}", "name: contains a NUL");
}

static void
test_bad_type(void **state)
{
    (void) state;
    assert_refused("{\"name\": \"a\", \"event_rule\": {}}", "type: missing");
    assert_refused("{\"name\": \"a\", \"type\": \"threshold\", "
                   "\"threshold_rule\": {}}",
                   "only event alarms are supported");
    assert_refused("{\"name\": \"a\", \"type\": \"threshold\"}",
                   "only event alarms are supported");
    assert_refused("{\"name\": \"a\", \"type\": \"gnocchi_resources_threshold\""
                   "}", "only event alarms are supported");
    assert_refused("{\"name\": \"a\", \"type\": 1}",
                   "only event alarms are supported");
    assert_refused("{\"name\": \"a\", \"type\": \"event\"}",
                   "event_rule: must be set");
    assert_refused("{\"name\": \"a\", \"type\": \"event\", \"event_rule\": 3}",
                   "event_rule: expected an object");
    assert_refused("{\"name\": \"a\", \"type\": \"event\", \"event_rule\": {},"
                   " \"colour\": \"red\"}", "unknown attribute 'colour'");
}

static void
test_bad_enums_and_booleans(void **state)
{
    (void) state;
    assert_refused("{\"name\": \"a\", \"type\": \"event\", \"event_rule\": {},"
                   " \"severity\": \"huge\"}", "severity: expected one of");
    assert_refused("{\"name\": \"a\", \"type\": \"event\", \"event_rule\": {},"
                   " \"state\": \"firing\"}", "state: expected one of");
    assert_refused("{\"name\": \"a\", \"type\": \"event\", \"event_rule\": {},"
                   " \"enabled\": \"yes\"}", "enabled: expected true or false");
    assert_refused("{\"name\": \"a\", \"type\": \"event\", \"event_rule\": {},"
                   " \"repeat_actions\": 1}", "repeat_actions: expected");
    assert_refused("{\"name\": \"a\", \"type\": \"event\", \"event_rule\": {},"
                   " \"alarm_id\": \"not-a-uuid\"}", "alarm_id: expected a UUID");
    assert_refused("{\"name\": \"a\", \"type\": \"event\", \"event_rule\": {},"
                   " \"timestamp\": \"yesterday\"}", "timestamp: expected");
    assert_refused("{\"name\": \"a\", \"type\": \"event\", \"event_rule\": {},"
                   " \"time_constraints\": [{\"name\": \"tc\"}]}",
                   "time_constraints: not supported");
    assert_refused("{\"name\": \"a\", \"type\": \"event\", \"event_rule\": {},"
                   " \"project_id\": \"p\\n1\"}", "project_id: contains a "
                   "control");
}

static void
test_bad_urls(void **state)
{
    static const char *const bad[][2] = {
        { "\"ftp://h/x\"", "only http:// and https://" },
        { "\"log://\"", "only http:// and https://" },
        { "\"trust+http://h/x\"", "only http:// and https://" },
        { "\"http://\"", "no host" },
        { "\"http:///path\"", "no host" },
        { "\"http://:80/x\"", "no host" },
        { "\"http://h:0/x\"", "port out of range" },
        { "\"http://h:99999/x\"", "port out of range" },
        { "\"http://h:8a/x\"", "malformed port" },
        { "\"http://h:/x\"", "malformed port" },
        { "\"http://[::1/x\"", "IPv6" },
        { "\"http://h/a b\"", "space" },
        { "\"http://h/\\u00e9\"", "non-ASCII" },
        { "\"http://h/\\u0000\"", "NUL" },
        { "42", "expected a string" },
    };
    char body[256];

    (void) state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(body, sizeof body, "{\"name\": \"a\", \"type\": \"event\", "
                 "\"event_rule\": {}, \"ok_actions\": [\"http://ok/\", %s]}",
                 bad[i][0]);
        assert_refused(body, bad[i][1]);
        assert_refused(body, "ok_actions[1]");
    }
    assert_refused("{\"name\": \"a\", \"type\": \"event\", \"event_rule\": {},"
                   " \"alarm_actions\": \"http://h/\"}",
                   "alarm_actions: expected a list");
}

static void
test_too_many_actions_and_long_url(void **state)
{
    char body[8192];
    size_t n;

    (void) state;
    n = (size_t) snprintf(body, sizeof body, "{\"name\": \"a\", \"type\": "
                          "\"event\", \"event_rule\": {}, \"alarm_actions\": [");
    for (int i = 0; i <= ALARM_MAX_ACTIONS; i++) {
        n += (size_t) snprintf(body + n, sizeof body - n,
                               "%s\"http://h/%d\"", i ? ", " : "", i);
    }
    snprintf(body + n, sizeof body - n, "]}");
    assert_refused(body, "alarm_actions: too many actions");

    n = (size_t) snprintf(body, sizeof body, "{\"name\": \"a\", \"type\": "
                          "\"event\", \"event_rule\": {}, "
                          "\"insufficient_data_actions\": [\"http://h/");
    memset(body + n, 'x', ALARM_MAX_URL_LENGTH);
    snprintf(body + n + ALARM_MAX_URL_LENGTH, sizeof body - n -
             ALARM_MAX_URL_LENGTH, "\"]}");
    assert_refused(body, "insufficient_data_actions[0]: URL too long");
}

static void
test_bad_queries(void **state)
{
    static const char *const bad[][2] = {
        { "{\"field\": \"traits.a\", \"op\": \"like\", \"value\": \"x\"}",
          "query[0].op: expected one of" },
        { "{\"field\": \"traits.a\", \"op\": 1, \"value\": \"x\"}",
          "query[0].op" },
        { "{\"field\": \"traits.a\", \"value\": \"x\", \"type\": \"datetime\"}",
          "query[0].type: expected one of" },
        { "{\"field\": \"traits.a\", \"value\": \"x\", \"type\": \"int\"}",
          "query[0].type" },
        { "{\"field\": \"traits.a\", \"value\": \"x\", \"type\": \"integer\"}",
          "unable to convert 'x' to integer" },
        { "{\"field\": \"traits.a\", \"value\": \"99999999999999999999\","
          " \"type\": \"integer\"}", "to integer" },
        { "{\"field\": \"traits.a\", \"value\": \"1.5x\", \"type\": \"float\"}",
          "to float" },
        { "{\"field\": \"traits.a\", \"value\": \"maybe\", \"type\": "
          "\"boolean\"}", "to boolean" },
        { "{\"field\": \"traits.a\"}", "query[0].value: missing" },
        { "{\"field\": \"traits.a\", \"value\": [1]}", "value: expected" },
        { "{\"value\": \"x\"}", "query[0].field: missing" },
        { "{\"field\": \"resource_id\", \"value\": \"x\"}",
          "only traits.<name> fields" },
        { "{\"field\": \"traits.\", \"value\": \"x\"}",
          "only traits.<name> fields" },
        { "{\"field\": \"traits.a b\", \"value\": \"x\"}",
          "invalid character" },
        { "{\"field\": \"traits.a\", \"value\": \"x\", \"extra\": 1}",
          "unknown attribute 'extra'" },
        { "\"traits.a=x\"", "query[0]: expected an object" },
    };
    char body[512];

    (void) state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(body, sizeof body, "{\"name\": \"a\", \"type\": \"event\", "
                 "\"event_rule\": {\"query\": [%s]}}", bad[i][0]);
        assert_refused(body, bad[i][1]);
    }
    assert_refused("{\"name\": \"a\", \"type\": \"event\", \"event_rule\": "
                   "{\"query\": {}}}", "event_rule.query: expected a list");
    assert_refused("{\"name\": \"a\", \"type\": \"event\", \"event_rule\": "
                   "{\"event_type\": 5}}", "event_rule.event_type: expected");
    assert_refused("{\"name\": \"a\", \"type\": \"event\", \"event_rule\": "
                   "{\"other\": 5}}", "event_rule: unknown attribute");
}

static void
test_too_many_queries(void **state)
{
    char body[8192];
    size_t n;

    (void) state;
    n = (size_t) snprintf(body, sizeof body, "{\"name\": \"a\", \"type\": "
                          "\"event\", \"event_rule\": {\"query\": [");
    for (int i = 0; i <= ALARM_MAX_QUERIES; i++) {
        n += (size_t) snprintf(body + n, sizeof body - n,
                               "%s{\"field\": \"traits.t%d\", \"value\": "
                               "\"v\"}", i ? ", " : "", i);
    }
    snprintf(body + n, sizeof body - n, "]}}");
    assert_refused(body, "too many conditions");
}

/* Every string member refuses one byte over its bound. */
static void
test_oversized_strings(void **state)
{
    static const struct {
        const char *format;   /* %s is the long string */
        size_t limit;
        const char *needle;
    } cases[] = {
        { "{\"name\": \"%s\", \"type\": \"event\", \"event_rule\": {}}",
          ALARM_MAX_NAME_LENGTH, "name: too long" },
        { "{\"name\": \"a\", \"description\": \"%s\", \"type\": \"event\", "
          "\"event_rule\": {}}", ALARM_MAX_DESCRIPTION_LENGTH,
          "description: too long" },
        { "{\"name\": \"a\", \"project_id\": \"%s\", \"type\": \"event\", "
          "\"event_rule\": {}}", ALARM_MAX_ID_LENGTH, "project_id: too long" },
        { "{\"name\": \"a\", \"user_id\": \"%s\", \"type\": \"event\", "
          "\"event_rule\": {}}", ALARM_MAX_ID_LENGTH, "user_id: too long" },
        { "{\"name\": \"a\", \"type\": \"event\", \"event_rule\": "
          "{\"event_type\": \"%s\"}}", ALARM_MAX_EVENT_TYPE_LENGTH,
          "event_rule.event_type: too long" },
        { "{\"name\": \"a\", \"type\": \"event\", \"event_rule\": "
          "{\"query\": [{\"field\": \"traits.%s\", \"value\": \"v\"}]}}",
          ALARM_MAX_FIELD_LENGTH - 7, "query[0].field: too long" },
        { "{\"name\": \"a\", \"type\": \"event\", \"event_rule\": "
          "{\"query\": [{\"field\": \"traits.a\", \"value\": \"%s\"}]}}",
          ALARM_MAX_VALUE_LENGTH, "query[0].value: too long" },
        { "{\"name\": \"a\", \"state_reason\": \"%s\", \"type\": \"event\", "
          "\"event_rule\": {}}", ALARM_MAX_STATE_REASON_LENGTH,
          "state_reason: too long" },
    };

    (void) state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t size = cases[i].limit + 512;
        char *text = malloc(cases[i].limit + 2), *body = malloc(size);
        struct alarm *alarm = NULL;
        char err[256];

        assert_non_null(text);
        assert_non_null(body);
        /* At the limit: accepted. */
        memset(text, 'x', cases[i].limit);
        text[cases[i].limit] = '\0';
        snprintf(body, size, cases[i].format, text);
        assert_int_equal(parse_text(body, &alarm, err, sizeof err), 0);
        alarm_free(alarm);
        /* One over: refused. */
        text[cases[i].limit] = 'x';
        text[cases[i].limit + 1] = '\0';
        snprintf(body, size, cases[i].format, text);
        assert_refused(body, cases[i].needle);
        free(text);
        free(body);
    }
}

static void
test_enum_strings(void **state)
{
    enum alarm_state s;
    enum alarm_severity v;

    (void) state;
    assert_int_equal(alarm_state_from_string("insufficient data", &s), 0);
    assert_int_equal(s, ALARM_STATE_INSUFFICIENT_DATA);
    assert_int_equal(alarm_state_from_string("insufficient_data", &s),
                     -EINVAL);
    assert_string_equal(alarm_state_to_string(ALARM_STATE_OK), "ok");
    assert_int_equal(alarm_severity_from_string("critical", &v), 0);
    assert_int_equal(v, ALARM_SEVERITY_CRITICAL);
    assert_int_equal(alarm_severity_from_string("Critical", &v), -EINVAL);
    assert_string_equal(alarm_op_to_string(ALARM_OP_GE), "ge");
    assert_string_equal(alarm_value_type_to_string(ALARM_VALUE_BOOLEAN),
                        "boolean");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_defaults),
        cmocka_unit_test(test_full_body),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_not_an_object),
        cmocka_unit_test(test_missing_or_bad_name),
        cmocka_unit_test(test_bad_type),
        cmocka_unit_test(test_bad_enums_and_booleans),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_too_many_actions_and_long_url),
        cmocka_unit_test(test_bad_queries),
        cmocka_unit_test(test_too_many_queries),
        cmocka_unit_test(test_oversized_strings),
        cmocka_unit_test(test_enum_strings),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
