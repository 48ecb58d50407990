/* delivery: notification bodies and the sink interface (see delivery.h). */
#include "delivery.h"

#include <errno.h>
#include <stdio.h>

#include "vtime.h"

int
delivery_sink_submit(struct delivery_sink *sink,
                     const struct delivery_notification *n)
{
    return sink->submit(sink, n);
}

void
delivery_sink_free(struct delivery_sink *sink)
{
    if (sink) {
        sink->free(sink);
    }
}

/* One [name, dtype, value] triple, or NULL for a value that is not a
 * scalar (doctor_event never lets one through). */
static json_t *
delivery_trait(const char *name, const json_t *value)
{
    if (json_is_string(value)) {
        return json_pack("[s, i, O]", name, DELIVERY_TRAIT_TEXT, value);
    }
    if (json_is_integer(value)) {
        return json_pack("[s, i, O]", name, DELIVERY_TRAIT_INT, value);
    }
    if (json_is_real(value)) {
        return json_pack("[s, i, O]", name, DELIVERY_TRAIT_FLOAT, value);
    }
    if (json_is_boolean(value)) {
        return json_pack("[s, i, s]", name, DELIVERY_TRAIT_TEXT,
                         json_is_true(value) ? "true" : "false");
    }
    return NULL;
}

json_t *
delivery_event_to_json(const struct doctor_event *ev)
{
    char generated[VTIME_ISO_SIZE];
    json_t *traits = json_array(), *value;
    const char *key;

    if (!traits) {
        return NULL;
    }
    json_object_foreach(ev->details, key, value) {
        json_t *trait = delivery_trait(key, value);

        if (trait && json_array_append_new(traits, trait)) {
            json_decref(traits);
            return NULL;
        }
    }
    vtime_format_iso(ev->time_ns, generated, sizeof generated);
    return json_pack("{s:s, s:s, s:s, s:o, s:{}, s:s}",
                     "message_id", ev->id,
                     "event_type", ev->type,
                     "generated", generated,
                     "traits", traits,
                     "raw",
                     "message_signature", "");
}

json_t *
delivery_notification_to_json(const struct delivery_notification *n,
                              int64_t t08_ns)
{
    json_t *profiler = json_object();

    for (int i = 0; profiler && i < DOCTOR_STAMP_COUNT; i++) {
        int64_t ns = i == DOCTOR_T08 && t08_ns ? t08_ns : n->stamps[i];

        if (ns && json_object_set_new(profiler,
                                      doctor_stamp_name((enum doctor_stamp) i),
                                      json_integer(ns))) {
            json_decref(profiler);
            profiler = NULL;
        }
    }
    if (!profiler) {
        return NULL;
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:O}, s:s, s:o}",
                     "alarm_name", n->alarm->name,
                     "alarm_id", n->alarm->id,
                     "severity", alarm_severity_to_string(n->alarm->severity),
                     "previous", alarm_state_to_string(n->previous),
                     "current", alarm_state_to_string(n->current),
                     "reason", n->reason,
                     "reason_data", "type", "event", "event", n->event,
                     "notification_id", n->notification_id,
                     "profiler", profiler);
}
