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

/* One [name, dtype, value] triple; nothing for a value that is not a
 * scalar (doctor_event never lets one through). Returns whether it wrote
 * one. */
static bool
delivery_trait(struct jsonw *w, bool first, const char *name,
               const json_t *value)
{
    int type;

    if (json_is_string(value)) {
        type = DELIVERY_TRAIT_TEXT;
    } else if (json_is_integer(value)) {
        type = DELIVERY_TRAIT_INT;
    } else if (json_is_real(value)) {
        type = DELIVERY_TRAIT_FLOAT;
    } else if (json_is_boolean(value)) {
        type = DELIVERY_TRAIT_TEXT;
    } else {
        return false;
    }
    jsonw_literal(w, first ? "[" : ",[");
    jsonw_string(w, name);
    jsonw_raw(w, ",", 1);
    jsonw_int(w, type);
    jsonw_raw(w, ",", 1);
    if (json_is_boolean(value)) {
        jsonw_literal(w, json_is_true(value) ? "\"true\"" : "\"false\"");
    } else {
        jsonw_value(w, value);
    }
    jsonw_raw(w, "]", 1);
    return true;
}

char *
delivery_event_text(const struct doctor_event *ev)
{
    char generated[VTIME_ISO_SIZE];
    struct jsonw w;
    const char *key;
    json_t *value;
    bool first = true;

    jsonw_init(&w, 512);
    vtime_format_iso(ev->time_ns, generated, sizeof generated);
    jsonw_literal(&w, "{\"message_id\":");
    jsonw_string(&w, ev->id);
    jsonw_literal(&w, ",\"event_type\":");
    jsonw_string(&w, ev->type);
    jsonw_literal(&w, ",\"generated\":");
    jsonw_string(&w, generated);
    jsonw_literal(&w, ",\"traits\":[");
    json_object_foreach(ev->details, key, value) {
        if (delivery_trait(&w, first, key, value)) {
            first = false;
        }
    }
    jsonw_literal(&w, "],\"raw\":{},\"message_signature\":\"\"}");
    return jsonw_finish(&w, NULL);
}

size_t
delivery_body_begin(struct jsonw *w, const struct delivery_notification *n)
{
    size_t stamps = 0;

    jsonw_literal(w, "{\"alarm_name\":");
    jsonw_string(w, n->alarm->name);
    jsonw_literal(w, ",\"alarm_id\":");
    jsonw_string(w, n->alarm->id);
    jsonw_literal(w, ",\"severity\":");
    jsonw_string(w, alarm_severity_to_string(n->alarm->severity));
    jsonw_literal(w, ",\"previous\":");
    jsonw_string(w, alarm_state_to_string(n->previous));
    jsonw_literal(w, ",\"current\":");
    jsonw_string(w, alarm_state_to_string(n->current));
    jsonw_literal(w, ",\"reason\":");
    jsonw_string(w, n->reason);
    jsonw_literal(w, ",\"reason_data\":{\"type\":\"event\",\"event\":");
    jsonw_literal(w, n->event);
    jsonw_literal(w, "},\"notification_id\":");
    jsonw_string(w, n->notification_id);
    jsonw_literal(w, ",\"profiler\":{");
    for (int i = 0; i < DOCTOR_STAMP_COUNT; i++) {
        if (n->stamps[i] && i != DOCTOR_T08) {
            jsonw_literal(w, stamps++ ? ",\"" : "\"");
            jsonw_literal(w, doctor_stamp_name((enum doctor_stamp) i));
            jsonw_literal(w, "\":");
            jsonw_int(w, n->stamps[i]);
        }
    }
    return stamps;
}

void
delivery_body_end(struct jsonw *w, size_t stamps, int64_t t08_ns)
{
    if (t08_ns) {
        jsonw_literal(w, stamps ? ",\"T08\":" : "\"T08\":");
        jsonw_int(w, t08_ns);
    }
    jsonw_literal(w, "}}");
}
