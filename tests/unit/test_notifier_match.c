/* Unit tests of notifier/alarm_match.c and notifier/alarm_store.c: event
 * type patterns, trait queries of each type and operator, the Aodh state
 * machine with repeat_actions and Vigil's ".up" -> ok extension, and the
 * store's index (exact types, keyed buckets, wildcards, disabled alarms,
 * replace, remove, unique names, capacity). */
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
#include "alarm_match.h"
#include "alarm_store.h"
#include "vtime.h"

/* An alarm from a JSON body given as printf arguments; 'id' is a UUID
 * suffix (1..99) so every test alarm has a distinct, valid id. */
static struct alarm * __attribute__((format(printf, 2, 3)))
make_alarm(int id, const char *fmt, ...)
{
    struct alarm *alarm = NULL;
    json_error_t jerr;
    char text[4096], err[256];
    json_t *obj;
    va_list args;

    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    obj = json_loads(text, 0, &jerr);
    if (!obj) {
        fail_msg("bad test JSON %s: %s", text, jerr.text);
    }
    if (alarm_from_json(obj, &alarm, err, sizeof err)) {
        fail_msg("alarm %s refused: %s", text, err);
    }
    json_decref(obj);
    snprintf(alarm->id, sizeof alarm->id,
             "00000000-0000-4000-8000-0000000000%02d", id);
    return alarm;
}

/* An alarm named 'name' for 'type' with the query list 'query' (JSON). */
static struct alarm *
rule_alarm(int id, const char *type, const char *query)
{
    return make_alarm(id, "{\"name\": \"a%d\", \"type\": \"event\", "
                      "\"event_rule\": {\"event_type\": \"%s\", \"query\": "
                      "%s}}", id, type, query);
}

static json_t *
traits(const char *text)
{
    json_error_t jerr;
    json_t *obj = json_loads(text, 0, &jerr);

    assert_non_null(obj);
    return obj;
}

static void
test_event_type_patterns(void **state)
{
    (void) state;
    assert_false(alarm_match_is_pattern("compute.host.down"));
    assert_true(alarm_match_is_pattern("compute.*"));
    assert_true(alarm_match_is_pattern("compute.host.?own"));
    assert_true(alarm_match_is_pattern("compute.[hi]*"));
    assert_true(alarm_match_event_type("*", "compute.host.down"));
    assert_true(alarm_match_event_type("compute.*", "compute.host.down"));
    assert_true(alarm_match_event_type("*.down", "compute.instance.down"));
    assert_false(alarm_match_event_type("*.down", "compute.instance.up"));
    assert_true(alarm_match_event_type("compute.host.?own",
                                       "compute.host.down"));
    assert_true(alarm_match_event_type("compute.[hi]*.down",
                                       "compute.instance.down"));
    assert_false(alarm_match_event_type("compute.[!hi]*.down",
                                        "compute.instance.down"));
    assert_true(alarm_match_event_type("compute.host.down",
                                       "compute.host.down"));
    assert_false(alarm_match_event_type("compute.host.down",
                                        "Compute.host.down"));
    assert_false(alarm_match_event_type("compute.host", "compute.host.down"));
    assert_true(alarm_match_event_type("a\\b", "a\\b"));
    /* Classes as Python's fnmatch reads them. */
    assert_true(alarm_match_event_type("x[]]", "x]"));
    assert_true(alarm_match_event_type("x[!]]", "xa"));
    assert_false(alarm_match_event_type("x[!a-c]", "xb"));
    assert_true(alarm_match_event_type("x[!a-c]", "xd"));
    assert_true(alarm_match_event_type("a[bc", "a[bc"));
    assert_false(alarm_match_event_type("a?c", "ac"));
    assert_true(alarm_match_event_type("**.down", "x.down"));
    assert_true(alarm_match_event_type("*", ""));
    assert_false(alarm_match_event_type("?", ""));
}

/* A pattern built to make back-tracking matchers explode returns at once. */
static void
test_event_type_pattern_cost(void **state)
{
    char pattern[256], text[200];
    int64_t start;
    size_t n = 0;

    (void) state;
    for (int i = 0; i < 60; i++) {
        n += (size_t) snprintf(pattern + n, sizeof pattern - n, "*a");
    }
    snprintf(pattern + n, sizeof pattern - n, "*b");
    memset(text, 'a', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    start = vtime_mono_ns();
    for (int i = 0; i < 100; i++) {
        assert_false(alarm_match_event_type(pattern, text));
    }
    text[sizeof text - 2] = 'b';
    assert_true(alarm_match_event_type(pattern, text));
    /* 100 tries of 250 x 200 steps: far below a second even under ASan. */
    assert_true(vtime_mono_ns() - start < 1000000000);
}

static void
test_recovery_type(void **state)
{
    char buf[64];

    (void) state;
    assert_int_equal(alarm_match_recovery_type("compute.host.up", buf,
                                               sizeof buf), 0);
    assert_string_equal(buf, "compute.host.down");
    assert_int_equal(alarm_match_recovery_type("x.up", buf, sizeof buf), 0);
    assert_string_equal(buf, "x.down");
    assert_int_equal(alarm_match_recovery_type("compute.host.down", buf,
                                               sizeof buf), -EINVAL);
    assert_int_equal(alarm_match_recovery_type(".up", buf, sizeof buf),
                     -EINVAL);
    assert_int_equal(alarm_match_recovery_type("backup", buf, sizeof buf),
                     -EINVAL);
    assert_int_equal(alarm_match_recovery_type("abcdef.up", buf, 10),
                     -ENAMETOOLONG);
}

/* One query, checked against one trait set. */
static bool
query_hits(const char *query, const char *trait_json)
{
    struct alarm *alarm = rule_alarm(1, "x", query);
    json_t *t = traits(trait_json);
    bool hit = alarm_match_queries(alarm, t);

    json_decref(t);
    alarm_free(alarm);
    return hit;
}

static void
test_string_queries(void **state)
{
    static const char *const host = "{\"hostname\": \"compute-2\"}";

    (void) state;
    assert_true(query_hits("[{\"field\": \"traits.hostname\", \"value\": "
                           "\"compute-2\"}]", host));
    assert_false(query_hits("[{\"field\": \"traits.hostname\", \"value\": "
                            "\"compute-1\"}]", host));
    assert_true(query_hits("[{\"field\": \"traits.hostname\", \"op\": \"ne\","
                           " \"value\": \"compute-1\"}]", host));
    assert_true(query_hits("[{\"field\": \"traits.hostname\", \"op\": \"gt\","
                           " \"value\": \"compute-1\"}]", host));
    assert_true(query_hits("[{\"field\": \"traits.hostname\", \"op\": \"ge\","
                           " \"value\": \"compute-2\"}]", host));
    assert_false(query_hits("[{\"field\": \"traits.hostname\", \"op\": \"lt\","
                            " \"value\": \"compute-2\"}]", host));
    assert_true(query_hits("[{\"field\": \"traits.hostname\", \"op\": \"le\","
                           " \"value\": \"compute-2\"}]", host));
    assert_true(query_hits("[{\"field\": \"traits.hostname\", \"value\": "
                           "\"compute-2\", \"type\": \"\"}]", host));
    /* A string query never equals a number (Python: 5 != "5"). */
    assert_false(query_hits("[{\"field\": \"traits.n\", \"value\": \"5\"}]",
                            "{\"n\": 5}"));
    assert_true(query_hits("[{\"field\": \"traits.n\", \"op\": \"ne\", "
                           "\"value\": \"5\"}]", "{\"n\": 5}"));
    assert_false(query_hits("[{\"field\": \"traits.n\", \"op\": \"lt\", "
                            "\"value\": \"9\"}]", "{\"n\": 5}"));
}

static void
test_numeric_queries(void **state)
{
    static const char *const t = "{\"n\": 5, \"r\": 2.5, \"s\": \"5\"}";

    (void) state;
    assert_true(query_hits("[{\"field\": \"traits.n\", \"value\": \"5\", "
                           "\"type\": \"integer\"}]", t));
    assert_true(query_hits("[{\"field\": \"traits.n\", \"value\": \"5.0\", "
                           "\"type\": \"float\"}]", t));
    assert_true(query_hits("[{\"field\": \"traits.n\", \"op\": \"gt\", "
                           "\"value\": \"4\", \"type\": \"integer\"}]", t));
    assert_false(query_hits("[{\"field\": \"traits.n\", \"op\": \"gt\", "
                            "\"value\": \"5\", \"type\": \"integer\"}]", t));
    assert_true(query_hits("[{\"field\": \"traits.n\", \"op\": \"ge\", "
                           "\"value\": \"5\", \"type\": \"integer\"}]", t));
    assert_true(query_hits("[{\"field\": \"traits.n\", \"op\": \"lt\", "
                           "\"value\": \"6\", \"type\": \"integer\"}]", t));
    assert_true(query_hits("[{\"field\": \"traits.n\", \"op\": \"le\", "
                           "\"value\": \"5\", \"type\": \"integer\"}]", t));
    assert_false(query_hits("[{\"field\": \"traits.n\", \"op\": \"ne\", "
                            "\"value\": \"5\", \"type\": \"integer\"}]", t));
    assert_true(query_hits("[{\"field\": \"traits.r\", \"op\": \"lt\", "
                           "\"value\": \"3\", \"type\": \"integer\"}]", t));
    assert_true(query_hits("[{\"field\": \"traits.r\", \"op\": \"gt\", "
                           "\"value\": \"2.25\", \"type\": \"float\"}]", t));
    assert_false(query_hits("[{\"field\": \"traits.r\", \"value\": \"nan\", "
                            "\"type\": \"float\"}]", t));
    assert_true(query_hits("[{\"field\": \"traits.r\", \"op\": \"ne\", "
                           "\"value\": \"nan\", \"type\": \"float\"}]", t));
    /* A numeric query never equals a string trait. */
    assert_false(query_hits("[{\"field\": \"traits.s\", \"value\": \"5\", "
                            "\"type\": \"integer\"}]", t));
    assert_false(query_hits("[{\"field\": \"traits.s\", \"op\": \"ge\", "
                            "\"value\": \"1\", \"type\": \"integer\"}]", t));
}

static void
test_boolean_and_missing_queries(void **state)
{
    static const char *const t = "{\"up\": true, \"dead\": false}";

    (void) state;
    assert_true(query_hits("[{\"field\": \"traits.up\", \"value\": \"yes\", "
                           "\"type\": \"boolean\"}]", t));
    assert_true(query_hits("[{\"field\": \"traits.dead\", \"value\": "
                           "\"False\", \"type\": \"boolean\"}]", t));
    assert_false(query_hits("[{\"field\": \"traits.up\", \"value\": \"0\", "
                            "\"type\": \"boolean\"}]", t));
    assert_true(query_hits("[{\"field\": \"traits.up\", \"op\": \"ne\", "
                           "\"value\": \"off\", \"type\": \"boolean\"}]", t));
    assert_true(query_hits("[{\"field\": \"traits.up\", \"value\": \"1\", "
                           "\"type\": \"integer\"}]", t));
    /* A missing trait satisfies only "ne". */
    assert_false(query_hits("[{\"field\": \"traits.nope\", \"value\": "
                            "\"x\"}]", t));
    assert_true(query_hits("[{\"field\": \"traits.nope\", \"op\": \"ne\", "
                           "\"value\": \"x\"}]", t));
    assert_false(query_hits("[{\"field\": \"traits.nope\", \"op\": \"ge\", "
                            "\"value\": \"1\", \"type\": \"integer\"}]", t));
    /* Conditions are ANDed; none at all matches everything. */
    assert_false(query_hits("[{\"field\": \"traits.up\", \"value\": \"1\", "
                            "\"type\": \"boolean\"}, {\"field\": "
                            "\"traits.dead\", \"value\": \"1\", \"type\": "
                            "\"boolean\"}]", t));
    assert_true(query_hits("[]", t));
}

/* Applies an event of 'kind' to 'alarm' as the evaluator does. */
static bool
apply(struct alarm *alarm, enum alarm_match_kind kind, int64_t now)
{
    struct alarm_transition t;

    alarm_match_transition(alarm, kind, &t);
    assert_int_equal(t.previous, alarm->state);
    if (t.notify) {
        assert_int_equal(alarm_match_commit(alarm, &t, "why", now), 0);
    }
    return t.notify;
}

static void
test_state_machine(void **state)
{
    struct alarm *alarm = rule_alarm(1, "compute.host.down", "[]");
    struct alarm_transition t;

    (void) state;
    /* insufficient data -> alarm notifies once. */
    assert_true(apply(alarm, ALARM_MATCH_EVENT, 100));
    assert_int_equal(alarm->state, ALARM_STATE_ALARM);
    assert_int_equal(alarm->state_timestamp_ns, 100);
    assert_string_equal(alarm->state_reason, "why");
    /* Already in alarm, no repeat_actions: nothing happens. */
    alarm_match_transition(alarm, ALARM_MATCH_EVENT, &t);
    assert_false(t.notify);
    assert_int_equal(t.current, ALARM_STATE_ALARM);
    assert_false(apply(alarm, ALARM_MATCH_EVENT, 200));
    assert_int_equal(alarm->state_timestamp_ns, 100);
    /* Recovery: alarm -> ok, ok_actions. */
    alarm_match_transition(alarm, ALARM_MATCH_RECOVERY, &t);
    assert_true(t.notify);
    assert_int_equal(t.previous, ALARM_STATE_ALARM);
    assert_int_equal(t.current, ALARM_STATE_OK);
    assert_true(apply(alarm, ALARM_MATCH_RECOVERY, 300));
    assert_int_equal(alarm->state, ALARM_STATE_OK);
    assert_int_equal(alarm->state_timestamp_ns, 300);
    /* A second recovery does nothing. */
    assert_false(apply(alarm, ALARM_MATCH_RECOVERY, 400));
    /* ok -> alarm fires again. */
    assert_true(apply(alarm, ALARM_MATCH_EVENT, 500));
    assert_int_equal(alarm->state, ALARM_STATE_ALARM);
    alarm_free(alarm);

    /* A recovery of an alarm that never fired does nothing. */
    alarm = rule_alarm(2, "compute.host.down", "[]");
    assert_false(apply(alarm, ALARM_MATCH_RECOVERY, 100));
    assert_int_equal(alarm->state, ALARM_STATE_INSUFFICIENT_DATA);
    alarm_free(alarm);
}

static void
test_state_machine_repeat_actions(void **state)
{
    struct alarm *alarm = make_alarm(3, "{\"name\": \"r\", \"type\": "
                                     "\"event\", \"repeat_actions\": true, "
                                     "\"event_rule\": {}}");
    struct alarm_transition t;

    (void) state;
    assert_true(apply(alarm, ALARM_MATCH_EVENT, 100));
    assert_true(apply(alarm, ALARM_MATCH_EVENT, 200));
    /* Repeats keep the time of the state change. */
    assert_int_equal(alarm->state_timestamp_ns, 100);
    assert_true(apply(alarm, ALARM_MATCH_RECOVERY, 300));
    assert_int_equal(alarm->state, ALARM_STATE_OK);
    alarm_match_transition(alarm, ALARM_MATCH_RECOVERY, &t);
    assert_true(t.notify);
    assert_int_equal(t.previous, ALARM_STATE_OK);
    assert_int_equal(t.current, ALARM_STATE_OK);
    alarm_free(alarm);
}

static void
test_reason_format(void **state)
{
    struct alarm *alarm = rule_alarm(1, "compute.host.down",
                                     "[{\"field\": \"traits.hostname\", "
                                     "\"value\": \"c\\u00e9\", \"type\": "
                                     "\"string\"}, {\"field\": \"traits.n\", "
                                     "\"op\": \"gt\", \"value\": \"1\"}]");
    char *reason;

    (void) state;
    reason = alarm_match_reason(alarm, "ev-1", "compute.host.down");
    assert_non_null(reason);
    /* Python's json.dumps(sort_keys=True): ", " and ": ", ASCII only. */
    assert_string_equal(reason,
                        "Event <id=ev-1,event_type=compute.host.down> hits "
                        "the query <query=[{\"field\": \"traits.hostname\", "
                        "\"op\": \"eq\", \"type\": \"string\", \"value\": "
                        "\"c\\u00e9\"}, {\"field\": \"traits.n\", \"op\": "
                        "\"gt\", \"value\": \"1\"}]>.");
    free(reason);
    alarm_free(alarm);
}

/* ---- the store ---- */

struct hits {
    struct alarm *alarms[16];
    enum alarm_match_kind kinds[16];
    size_t length;
};

static void
collect(struct alarm *alarm, enum alarm_match_kind kind, void *arg)
{
    struct hits *hits = arg;

    assert_true(hits->length < 16);
    hits->alarms[hits->length] = alarm;
    hits->kinds[hits->length] = kind;
    hits->length++;
}

/* The kind 'alarm' was hit as, or -1. */
static int
hit_kind(const struct hits *hits, const struct alarm *alarm)
{
    for (size_t i = 0; i < hits->length; i++) {
        if (hits->alarms[i] == alarm) {
            return (int) hits->kinds[i];
        }
    }
    return -1;
}

static size_t
match(struct alarm_store *store, const char *type, const char *trait_json,
      struct hits *hits)
{
    json_t *t = traits(trait_json);
    size_t n;

    memset(hits, 0, sizeof *hits);
    n = alarm_store_match(store, type, t, collect, hits);
    json_decref(t);
    assert_int_equal(n, hits->length);
    return n;
}

static void
test_store_exact_keyed_and_wildcard(void **state)
{
    struct alarm_store *store = alarm_store_new(100);
    struct alarm *vm1 = rule_alarm(1, "compute.instance.down",
                                   "[{\"field\": \"traits.instance_uuid\", "
                                   "\"value\": \"vm-1\"}]");
    struct alarm *vm2 = rule_alarm(2, "compute.instance.down",
                                   "[{\"field\": \"traits.instance_uuid\", "
                                   "\"value\": \"vm-2\"}]");
    struct alarm *host = rule_alarm(3, "compute.instance.down",
                                    "[{\"field\": \"traits.hostname\", "
                                    "\"value\": \"c1\"}]");
    struct alarm *any_vm = rule_alarm(4, "compute.instance.down", "[]");
    struct alarm *wild = rule_alarm(5, "compute.*", "[{\"field\": "
                                    "\"traits.hostname\", \"op\": \"ne\", "
                                    "\"value\": \"c9\"}]");
    struct alarm *host_down = rule_alarm(6, "compute.host.down", "[]");
    struct hits hits;

    (void) state;
    assert_non_null(store);
    assert_int_equal(alarm_store_add(store, vm1), 0);
    assert_int_equal(alarm_store_add(store, vm2), 0);
    assert_int_equal(alarm_store_add(store, host), 0);
    assert_int_equal(alarm_store_add(store, any_vm), 0);
    assert_int_equal(alarm_store_add(store, wild), 0);
    assert_int_equal(alarm_store_add(store, host_down), 0);
    assert_int_equal(alarm_store_count(store), 6);

    assert_int_equal(match(store, "compute.instance.down",
                           "{\"instance_uuid\": \"vm-1\", \"hostname\": "
                           "\"c1\"}", &hits), 4);
    assert_int_equal(hit_kind(&hits, vm1), ALARM_MATCH_EVENT);
    assert_int_equal(hit_kind(&hits, vm2), -1);
    assert_int_equal(hit_kind(&hits, host), ALARM_MATCH_EVENT);
    assert_int_equal(hit_kind(&hits, any_vm), ALARM_MATCH_EVENT);
    assert_int_equal(hit_kind(&hits, wild), ALARM_MATCH_EVENT);

    assert_int_equal(match(store, "compute.instance.down",
                           "{\"instance_uuid\": \"vm-2\", \"hostname\": "
                           "\"c9\"}", &hits), 2);
    assert_int_equal(hit_kind(&hits, vm2), ALARM_MATCH_EVENT);
    assert_int_equal(hit_kind(&hits, any_vm), ALARM_MATCH_EVENT);

    assert_int_equal(match(store, "compute.host.down", "{\"hostname\": "
                           "\"c1\"}", &hits), 2);
    assert_int_equal(hit_kind(&hits, host_down), ALARM_MATCH_EVENT);
    assert_int_equal(hit_kind(&hits, wild), ALARM_MATCH_EVENT);

    assert_int_equal(match(store, "network.link.down", "{\"hostname\": "
                           "\"c1\"}", &hits), 0);
    alarm_store_free(store);
}

static void
test_store_recovery(void **state)
{
    struct alarm_store *store = alarm_store_new(100);
    struct alarm *vm = rule_alarm(1, "compute.instance.down",
                                  "[{\"field\": \"traits.instance_uuid\", "
                                  "\"value\": \"vm-1\"}]");
    struct alarm *up = rule_alarm(2, "*.up", "[]");
    struct alarm *wild = rule_alarm(3, "compute.*", "[]");
    struct alarm *other = rule_alarm(4, "compute.host.down", "[]");
    struct alarm *wild_down = rule_alarm(5, "*.down", "[]");
    struct hits hits;

    (void) state;
    assert_int_equal(alarm_store_add(store, wild_down), 0);
    assert_int_equal(alarm_store_add(store, vm), 0);
    assert_int_equal(alarm_store_add(store, up), 0);
    assert_int_equal(alarm_store_add(store, wild), 0);
    assert_int_equal(alarm_store_add(store, other), 0);

    assert_int_equal(match(store, "compute.instance.up",
                           "{\"instance_uuid\": \"vm-1\"}", &hits), 4);
    assert_int_equal(hit_kind(&hits, vm), ALARM_MATCH_RECOVERY);
    assert_int_equal(hit_kind(&hits, wild_down), ALARM_MATCH_RECOVERY);
    /* A pattern that matches the ".up" type itself is evaluated as Aodh
     * would, even though it covers the ".down" type too. */
    assert_int_equal(hit_kind(&hits, wild), ALARM_MATCH_EVENT);
    /* A subscriber of "*.up" gets the event like any other. */
    assert_int_equal(hit_kind(&hits, up), ALARM_MATCH_EVENT);
    assert_int_equal(hit_kind(&hits, other), -1);
    /* Direct hits come first, recoveries after. */
    assert_int_equal(hits.kinds[0], ALARM_MATCH_EVENT);
    assert_int_equal(hits.kinds[3], ALARM_MATCH_RECOVERY);
    /* Recovery requires the query to match too. */
    assert_int_equal(match(store, "compute.instance.up",
                           "{\"instance_uuid\": \"vm-2\"}", &hits), 3);
    assert_int_equal(hit_kind(&hits, vm), -1);
    alarm_store_free(store);
}

static void
test_store_disabled(void **state)
{
    struct alarm_store *store = alarm_store_new(100);
    struct alarm *off = make_alarm(1, "{\"name\": \"off\", \"type\": "
                                   "\"event\", \"enabled\": false, "
                                   "\"event_rule\": {\"event_type\": "
                                   "\"compute.host.down\"}}");
    struct alarm *wild_off = make_alarm(2, "{\"name\": \"w\", \"type\": "
                                        "\"event\", \"enabled\": false, "
                                        "\"event_rule\": {}}");
    struct hits hits;

    (void) state;
    assert_int_equal(alarm_store_add(store, off), 0);
    assert_int_equal(alarm_store_add(store, wild_off), 0);
    assert_int_equal(match(store, "compute.host.down", "{}", &hits), 0);
    assert_int_equal(match(store, "compute.host.up", "{}", &hits), 0);
    alarm_store_free(store);
}

static void
test_store_names_ids_capacity(void **state)
{
    struct alarm_store *store = alarm_store_new(3);
    struct alarm *a = rule_alarm(1, "t", "[]");
    struct alarm *same_id = rule_alarm(1, "t", "[]");
    struct alarm *same_name = rule_alarm(2, "t", "[]");
    struct alarm *b, *c, *d;

    (void) state;
    free(same_name->name);
    same_name->name = strdup("a1");
    assert_int_equal(alarm_store_add(store, a), 0);
    assert_int_equal(alarm_store_add(store, same_id), -EEXIST);
    assert_int_equal(alarm_store_add(store, same_name), -ENOTUNIQ);
    /* The same name in another project is fine. */
    same_name->project_id = strdup("other");
    assert_int_equal(alarm_store_add(store, same_name), 0);
    assert_ptr_equal(alarm_store_find_name(store, NULL, "a1"), a);
    assert_ptr_equal(alarm_store_find_name(store, "other", "a1"), same_name);
    assert_null(alarm_store_find_name(store, "third", "a1"));
    b = rule_alarm(3, "t", "[]");
    assert_int_equal(alarm_store_add(store, b), 0);
    c = rule_alarm(4, "t", "[]");
    assert_int_equal(alarm_store_add(store, c), -ENOSPC);
    assert_int_equal(alarm_store_count(store), 3);
    assert_int_equal(alarm_store_max(store), 3);
    assert_ptr_equal(alarm_store_get(store, b->id), b);
    assert_int_equal(alarm_store_remove(store, b->id), 0);
    assert_null(alarm_store_get(store, "00000000-0000-4000-8000-000000000003"));
    assert_int_equal(alarm_store_remove(store,
                                        "00000000-0000-4000-8000-000000000003"),
                     -ENOENT);
    assert_int_equal(alarm_store_add(store, c), 0);
    d = rule_alarm(0, "t", "[]");
    d->id[0] = '\0';
    assert_int_equal(alarm_store_add(store, d), -EINVAL);
    alarm_free(same_id);
    alarm_free(d);
    alarm_store_free(store);
}

static void
test_store_replace(void **state)
{
    struct alarm_store *store = alarm_store_new(10);
    struct alarm *a = rule_alarm(1, "compute.host.down",
                                 "[{\"field\": \"traits.hostname\", "
                                 "\"value\": \"c1\"}]");
    struct alarm *b = rule_alarm(2, "x", "[]");
    struct alarm *a2, *clash, *ghost;
    struct hits hits;

    (void) state;
    assert_int_equal(alarm_store_add(store, a), 0);
    assert_int_equal(alarm_store_add(store, b), 0);
    assert_int_equal(match(store, "compute.host.down", "{\"hostname\": "
                           "\"c1\"}", &hits), 1);
    /* Replace: new type and key, and a new name. */
    a2 = rule_alarm(1, "compute.instance.down",
                    "[{\"field\": \"traits.instance_uuid\", \"value\": "
                    "\"vm\"}]");
    free(a2->name);
    a2->name = strdup("renamed");
    assert_int_equal(alarm_store_replace(store, a2), 0);
    assert_ptr_equal(alarm_store_get(store, a2->id), a2);
    assert_int_equal(match(store, "compute.host.down", "{\"hostname\": "
                           "\"c1\"}", &hits), 0);
    assert_int_equal(match(store, "compute.instance.down",
                           "{\"instance_uuid\": \"vm\"}", &hits), 1);
    assert_ptr_equal(hits.alarms[0], a2);
    assert_null(alarm_store_find_name(store, NULL, "a1"));
    assert_ptr_equal(alarm_store_find_name(store, NULL, "renamed"), a2);
    /* Renaming onto another alarm's name is refused. */
    clash = rule_alarm(1, "t", "[]");
    free(clash->name);
    clash->name = strdup("a2");
    assert_int_equal(alarm_store_replace(store, clash), -ENOTUNIQ);
    alarm_free(clash);
    ghost = rule_alarm(9, "t", "[]");
    assert_int_equal(alarm_store_replace(store, ghost), -ENOENT);
    alarm_free(ghost);
    assert_int_equal(alarm_store_count(store), 2);
    alarm_store_free(store);
}

static bool
count_one(const struct alarm *alarm, void *arg)
{
    size_t *n = arg;

    (void) alarm;
    return ++*n < 2;
}

/* Many alarms keyed by instance: an event only visits its own; removing
 * them all leaves a store that matches nothing. */
static void
test_store_many_keyed(void **state)
{
    struct alarm_store *store = alarm_store_new(1000);
    struct hits hits;
    char id[40], query[128], uuid_traits[64];
    size_t n = 0;

    (void) state;
    for (int i = 0; i < 500; i++) {
        struct alarm *alarm;

        snprintf(query, sizeof query, "[{\"field\": \"traits.instance_uuid\","
                 " \"value\": \"vm-%d\"}]", i);
        alarm = rule_alarm(1, "compute.instance.down", query);
        snprintf(alarm->id, sizeof alarm->id,
                 "00000000-0000-4000-8000-%012d", i);
        free(alarm->name);
        assert_true(asprintf(&alarm->name, "vm-alarm-%d", i) > 0);
        assert_int_equal(alarm_store_add(store, alarm), 0);
    }
    snprintf(uuid_traits, sizeof uuid_traits, "{\"instance_uuid\": "
             "\"vm-%d\"}", 321);
    assert_int_equal(match(store, "compute.instance.down", uuid_traits,
                           &hits), 1);
    assert_string_equal(hits.alarms[0]->name, "vm-alarm-321");
    alarm_store_foreach(store, count_one, &n);
    assert_int_equal(n, 2);
    for (int i = 0; i < 500; i++) {
        snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", i);
        assert_int_equal(alarm_store_remove(store, id), 0);
    }
    assert_int_equal(match(store, "compute.instance.down", uuid_traits,
                           &hits), 0);
    assert_int_equal(alarm_store_count(store), 0);
    alarm_store_free(store);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_type_patterns),
        cmocka_unit_test(test_event_type_pattern_cost),
        cmocka_unit_test(test_recovery_type),
        cmocka_unit_test(test_string_queries),
        cmocka_unit_test(test_numeric_queries),
        cmocka_unit_test(test_boolean_and_missing_queries),
        cmocka_unit_test(test_state_machine),
        cmocka_unit_test(test_state_machine_repeat_actions),
        cmocka_unit_test(test_reason_format),
        cmocka_unit_test(test_store_exact_keyed_and_wildcard),
        cmocka_unit_test(test_store_recovery),
        cmocka_unit_test(test_store_disabled),
        cmocka_unit_test(test_store_names_ids_capacity),
        cmocka_unit_test(test_store_replace),
        cmocka_unit_test(test_store_many_keyed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
