/* vnfm_alarm: validation of Aodh webhook bodies (see vnfm_alarm.h). */
#include "vnfm_alarm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "vtime.h"
#include "vuuid.h"

#define VNFM_ALARM_MAX_PROFILER_KEYS 32

static int __attribute__((format(printf, 3, 4)))
vnfm_alarm_fail(char *err, size_t err_size, const char *fmt, ...)
{
    va_list args;

    if (err && err_size) {
        va_start(args, fmt);
        vsnprintf(err, err_size, fmt, args);
        va_end(args);
    }
    return -EINVAL;
}

/* Copies the string member 'key' of 'obj' into 'out' (of 'size' bytes).
 * A missing member is an error when 'required', else leaves 'out' empty.
 * 'path' prefixes the member's name in messages. */
static int
vnfm_alarm_get_string(const json_t *obj, const char *path, const char *key,
                      bool required, char *out, size_t size, char *err,
                      size_t err_size)
{
    const json_t *v = json_object_get(obj, key);
    size_t n;

    if (!v) {
        if (required) {
            return vnfm_alarm_fail(err, err_size, "%s%s: missing", path, key);
        }
        out[0] = '\0';
        return 0;
    }
    if (!json_is_string(v)) {
        return vnfm_alarm_fail(err, err_size, "%s%s: expected a string", path,
                               key);
    }
    n = json_string_length(v);
    if (n >= size) {
        return vnfm_alarm_fail(err, err_size, "%s%s: longer than %zu bytes",
                               path, key, size - 1);
    }
    if (memchr(json_string_value(v), '\0', n)) {
        return vnfm_alarm_fail(err, err_size, "%s%s: contains a NUL byte",
                               path, key);
    }
    if (required && n == 0) {
        return vnfm_alarm_fail(err, err_size, "%s%s: empty", path, key);
    }
    memcpy(out, json_string_value(v), n + 1);
    return 0;
}

/* Checks that 'value' is one of the NULL-terminated 'allowed' words. */
static int
vnfm_alarm_check_word(const char *key, const char *value,
                      const char *const *allowed, char *err, size_t err_size)
{
    for (const char *const *a = allowed; *a; a++) {
        if (!strcmp(value, *a)) {
            return 0;
        }
    }
    return vnfm_alarm_fail(err, err_size, "%s: unexpected value '%.64s'", key,
                           value);
}

/* Stores the string trait value 'value' of trait 'name' in the matching
 * field of 'alarm', when it is one the VNFM acts on. */
static int
vnfm_alarm_known_trait(struct vnfm_alarm *alarm, size_t index,
                       const char *name, const json_t *value, char *err,
                       size_t err_size)
{
    static const struct {
        const char *name;
        size_t offset;
        size_t size;
    } known[] = {
        { "hostname", offsetof(struct vnfm_alarm, hostname),
          sizeof ((struct vnfm_alarm *) 0)->hostname },
        { "instance_uuid", offsetof(struct vnfm_alarm, instance_uuid),
          sizeof ((struct vnfm_alarm *) 0)->instance_uuid },
        { "instance_id", offsetof(struct vnfm_alarm, instance_uuid),
          sizeof ((struct vnfm_alarm *) 0)->instance_uuid },
        { "libvirt_event", offsetof(struct vnfm_alarm, libvirt_event),
          sizeof ((struct vnfm_alarm *) 0)->libvirt_event },
        { "libvirt_detail", offsetof(struct vnfm_alarm, libvirt_detail),
          sizeof ((struct vnfm_alarm *) 0)->libvirt_detail },
    };

    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        char *field = (char *) alarm + known[i].offset;
        size_t n;

        if (strcmp(name, known[i].name)) {
            continue;
        }
        if (!json_is_string(value)) {
            return vnfm_alarm_fail(err, err_size, "reason_data.event.traits"
                                   "[%zu]: %s: expected a string value",
                                   index, name);
        }
        n = json_string_length(value);
        if (n >= known[i].size) {
            return vnfm_alarm_fail(err, err_size, "reason_data.event.traits"
                                   "[%zu]: %s: longer than %zu bytes", index,
                                   name, known[i].size - 1);
        }
        memcpy(field, json_string_value(value), n + 1);
        if (field == alarm->instance_uuid && !vuuid_is_valid(field)) {
            return vnfm_alarm_fail(err, err_size, "reason_data.event.traits"
                                   "[%zu]: %s: not a UUID", index, name);
        }
        return 0;
    }
    return 0;
}

/* Validates the traits list [[name, dtype, value], ...]. */
static int
vnfm_alarm_parse_traits(const json_t *traits, struct vnfm_alarm *alarm,
                        char *err, size_t err_size)
{
    size_t index;
    json_t *trait;

    if (!json_is_array(traits)) {
        return vnfm_alarm_fail(err, err_size,
                               "reason_data.event.traits: expected a list");
    }
    if (json_array_size(traits) > VNFM_ALARM_MAX_TRAITS) {
        return vnfm_alarm_fail(err, err_size, "reason_data.event.traits: "
                               "more than %d traits", VNFM_ALARM_MAX_TRAITS);
    }
    json_array_foreach(traits, index, trait) {
        const json_t *name, *dtype, *value;
        int ret;

        if (!json_is_array(trait) || json_array_size(trait) != 3) {
            return vnfm_alarm_fail(err, err_size, "reason_data.event.traits"
                                   "[%zu]: expected [name, type, value]",
                                   index);
        }
        name = json_array_get(trait, 0);
        dtype = json_array_get(trait, 1);
        value = json_array_get(trait, 2);
        if (!json_is_string(name) || json_string_length(name) == 0 ||
            json_string_length(name) >= VNFM_ALARM_SHORT_SIZE) {
            return vnfm_alarm_fail(err, err_size, "reason_data.event.traits"
                                   "[%zu]: name: expected a string of 1 to "
                                   "%d bytes", index,
                                   VNFM_ALARM_SHORT_SIZE - 1);
        }
        /* Ceilometer's trait types are 0..4 (none, text, int, float,
         * datetime); some senders name them instead. */
        if (!(json_is_integer(dtype) && json_integer_value(dtype) >= 0 &&
              json_integer_value(dtype) <= 4) &&
            !(json_is_string(dtype) &&
              json_string_length(dtype) < VNFM_ALARM_SHORT_SIZE)) {
            return vnfm_alarm_fail(err, err_size, "reason_data.event.traits"
                                   "[%zu]: type: expected 0..4 or a type "
                                   "name", index);
        }
        if (json_is_object(value) || json_is_array(value) ||
            (json_is_string(value) &&
             json_string_length(value) > VNFM_ALARM_MAX_STRING_LENGTH)) {
            return vnfm_alarm_fail(err, err_size, "reason_data.event.traits"
                                   "[%zu]: value: expected a scalar of at most "
                                   "%d bytes", index,
                                   VNFM_ALARM_MAX_STRING_LENGTH);
        }
        ret = vnfm_alarm_known_trait(alarm, index, json_string_value(name),
                                     value, err, err_size);
        if (ret) {
            return ret;
        }
    }
    return 0;
}

/* Validates the optional "profiler" object {"T01": ns, ...}. Keys other
 * than T00..T09 are ignored. */
static int
vnfm_alarm_parse_profiler(const json_t *profiler, struct vnfm_alarm *alarm,
                          char *err, size_t err_size)
{
    const char *key;
    json_t *value;

    if (!json_is_object(profiler)) {
        return vnfm_alarm_fail(err, err_size, "profiler: expected an object");
    }
    if (json_object_size(profiler) > VNFM_ALARM_MAX_PROFILER_KEYS) {
        return vnfm_alarm_fail(err, err_size, "profiler: more than %d keys",
                               VNFM_ALARM_MAX_PROFILER_KEYS);
    }
    json_object_foreach((json_t *) profiler, key, value) {
        for (int s = 0; s < DOCTOR_STAMP_COUNT; s++) {
            if (strcmp(key, doctor_stamp_name((enum doctor_stamp) s))) {
                continue;
            }
            if (!json_is_integer(value) || json_integer_value(value) < 0) {
                return vnfm_alarm_fail(err, err_size, "profiler.%s: expected "
                                       "a non-negative integer", key);
            }
            alarm->stamps[s] = json_integer_value(value);
        }
    }
    return 0;
}

int
vnfm_alarm_from_json(const json_t *body, struct vnfm_alarm *out, char *err,
                     size_t err_size)
{
    static const char *const severities[] = { "low", "moderate", "critical",
                                              NULL };
    static const char *const states[] = { "ok", "alarm", "insufficient data",
                                          NULL };
    const json_t *reason_data, *event, *type, *reason, *profiler;
    struct vnfm_alarm alarm;
    char generated[VNFM_ALARM_SHORT_SIZE];
    int64_t generated_ns;
    int ret;

    memset(&alarm, 0, sizeof alarm);
    if (!json_is_object(body)) {
        return vnfm_alarm_fail(err, err_size, "body: expected an object");
    }
    if ((ret = vnfm_alarm_get_string(body, "", "alarm_name", true,
                                     alarm.alarm_name, sizeof alarm.alarm_name,
                                     err, err_size)) ||
        (ret = vnfm_alarm_get_string(body, "", "alarm_id", true,
                                     alarm.alarm_id, sizeof alarm.alarm_id,
                                     err, err_size)) ||
        (ret = vnfm_alarm_get_string(body, "", "severity", true,
                                     alarm.severity, sizeof alarm.severity,
                                     err, err_size)) ||
        (ret = vnfm_alarm_check_word("severity", alarm.severity, severities,
                                     err, err_size)) ||
        (ret = vnfm_alarm_get_string(body, "", "previous", true,
                                     alarm.previous, sizeof alarm.previous,
                                     err, err_size)) ||
        (ret = vnfm_alarm_check_word("previous", alarm.previous, states, err,
                                     err_size)) ||
        (ret = vnfm_alarm_get_string(body, "", "current", true,
                                     alarm.current, sizeof alarm.current,
                                     err, err_size)) ||
        (ret = vnfm_alarm_check_word("current", alarm.current, states, err,
                                     err_size)) ||
        (ret = vnfm_alarm_get_string(body, "", "notification_id", false,
                                     alarm.notification_id,
                                     sizeof alarm.notification_id, err,
                                     err_size))) {
        return ret;
    }
    reason = json_object_get(body, "reason");
    if (!json_is_string(reason) ||
        json_string_length(reason) > VNFM_ALARM_MAX_STRING_LENGTH) {
        return vnfm_alarm_fail(err, err_size, "reason: expected a string of "
                               "at most %d bytes",
                               VNFM_ALARM_MAX_STRING_LENGTH);
    }
    reason_data = json_object_get(body, "reason_data");
    if (!json_is_object(reason_data)) {
        return vnfm_alarm_fail(err, err_size,
                               "reason_data: expected an object");
    }
    type = json_object_get(reason_data, "type");
    if (!json_is_string(type) || strcmp(json_string_value(type), "event")) {
        return vnfm_alarm_fail(err, err_size,
                               "reason_data.type: expected \"event\"");
    }
    event = json_object_get(reason_data, "event");
    if (!json_is_object(event)) {
        return vnfm_alarm_fail(err, err_size,
                               "reason_data.event: expected an object");
    }
    if ((ret = vnfm_alarm_get_string(event, "reason_data.event.",
                                     "message_id", true, alarm.message_id,
                                     sizeof alarm.message_id, err,
                                     err_size)) ||
        (ret = vnfm_alarm_get_string(event, "reason_data.event.",
                                     "event_type", true, alarm.event_type,
                                     sizeof alarm.event_type, err,
                                     err_size)) ||
        (ret = vnfm_alarm_get_string(event, "reason_data.event.",
                                     "generated", true, generated,
                                     sizeof generated, err, err_size))) {
        return ret;
    }
    if (vtime_parse_iso(generated, &generated_ns)) {
        return vnfm_alarm_fail(err, err_size, "reason_data.event.generated: "
                               "not an ISO-8601 time: '%s'", generated);
    }
    ret = vnfm_alarm_parse_traits(json_object_get(event, "traits"), &alarm,
                                  err, err_size);
    if (ret) {
        return ret;
    }
    profiler = json_object_get(body, "profiler");
    if (profiler) {
        ret = vnfm_alarm_parse_profiler(profiler, &alarm, err, err_size);
        if (ret) {
            return ret;
        }
    }
    *out = alarm;
    return 0;
}
