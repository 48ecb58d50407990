/* libFuzzer target for alarm_from_json(), the parser of every alarm body
 * that reaches the notifier's POST/PUT /v2/alarms (and of the alarms it
 * reloads from its database). Link with notifier_core and libvigil.
 *
 * Beyond "no crash, no leak, no undefined behaviour" it checks that:
 *   - a rejection is -EINVAL with a non-empty reason (or -ENOMEM);
 *   - an accepted alarm survives alarm_to_json() and a second parse
 *     unchanged (the serialiser writes only what the parser accepts);
 *   - the matching code runs on it: the event_type pattern against a few
 *     types and against itself, the queries against traits made of the
 *     query values themselves, and the reason text, which stays within
 *     ALARM_MAX_STATE_REASON_LENGTH. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alarm.h"
#include "alarm_match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Traits {trait: value} from the alarm's own queries, so that eq queries
 * on strings hold and the typed comparisons all get exercised. */
static json_t *
own_traits(const struct alarm *alarm)
{
    json_t *traits = json_object();

    for (size_t i = 0; traits && i < alarm->n_queries; i++) {
        const struct alarm_query *q = &alarm->queries[i];
        json_t *value;

        switch (q->type) {
        case ALARM_VALUE_INTEGER:
            value = json_integer(q->converted.integer);
            break;
        case ALARM_VALUE_FLOAT:
            value = json_real(q->converted.real);
            break;
        case ALARM_VALUE_BOOLEAN:
            value = json_boolean(q->converted.boolean);
            break;
        case ALARM_VALUE_STRING:
        case ALARM_VALUE_TYPE_COUNT:
        default:
            value = json_string(q->value);
            break;
        }
        json_object_set_new(traits, q->trait, value);
    }
    return traits;
}

static void
exercise_matching(struct alarm *alarm)
{
    static const char *const types[] = {
        "compute.host.down", "compute.instance.up", "", "x", "[", "*",
    };
    struct alarm_transition t;
    json_t *traits = own_traits(alarm);
    char *reason;

    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        alarm_match_event_type(alarm->event_type, types[i]);
    }
    if (!alarm_match_is_pattern(alarm->event_type) &&
        !alarm_match_event_type(alarm->event_type, alarm->event_type)) {
        abort();   /* an exact type must match itself */
    }
    if (traits) {
        alarm_match_queries(alarm, traits);
        json_decref(traits);
    }
    reason = alarm_match_reason(alarm, "fuzz-event", "compute.host.down");
    if (reason) {
        if (strlen(reason) > ALARM_MAX_STATE_REASON_LENGTH) {
            abort();
        }
        for (int kind = 0; kind < ALARM_MATCH_KIND_COUNT; kind++) {
            alarm_match_transition(alarm, (enum alarm_match_kind) kind, &t);
            if (t.notify) {
                alarm_match_commit(alarm, &t, reason, 1);
            }
        }
        free(reason);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct alarm *alarm = NULL, *again = NULL;
    json_t *obj, *out = NULL, *out2 = NULL;
    json_error_t jerr;
    char err[512] = "";
    int ret;

    if (size > 256 * 1024) {
        return 0;
    }
    obj = json_loadb((const char *) data, size,
                     JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!obj) {
        return 0;
    }
    ret = alarm_from_json(obj, &alarm, err, sizeof err);
    json_decref(obj);
    if (ret) {
        if ((ret != -EINVAL && ret != -ENOMEM) || alarm ||
            (ret == -EINVAL && !err[0])) {
            abort();
        }
        return 0;
    }
    out = alarm_to_json(alarm);
    if (out) {
        err[0] = '\0';
        if (alarm_from_json(out, &again, err, sizeof err) == 0) {
            out2 = alarm_to_json(again);
            if (out2 && !json_equal(out, out2)) {
                abort();
            }
        } else if (err[0]) {
            abort();   /* our own output refused (not just out of memory) */
        }
    }
    exercise_matching(alarm);
    json_decref(out);
    json_decref(out2);
    alarm_free(again);
    alarm_free(alarm);
    return 0;
}
