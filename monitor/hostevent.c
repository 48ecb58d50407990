/* hostevent: Doctor events of host-level faults (see hostevent.h). */
#include "hostevent.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "doctor_event.h"
#include "vuuid.h"

int
hostevent_init(struct doctor_event *out, const char *type,
               const char *hostname, bool up, int64_t detected_ns,
               int64_t time_ns)
{
    struct doctor_event de;
    char id[VUUID_STRING_SIZE];
    int ret = -EINVAL;

    memset(&de, 0, sizeof de);
    if (!type || !type[0] || strlen(type) >= sizeof de.type || !hostname ||
        !hostname[0]) {
        goto out;
    }
    ret = vuuid_generate(id);
    if (ret) {
        goto out;
    }
    ret = doctor_event_init(&de);
    if (ret) {
        goto out;
    }
    snprintf(de.type, sizeof de.type, "%s", type);
    snprintf(de.id, sizeof de.id, "%s", id);
    de.time_ns = time_ns;
    de.stamps[DOCTOR_T01] = detected_ns;
    if ((ret = doctor_event_set_detail(&de, "hostname", hostname)) ||
        (ret = doctor_event_set_detail(&de, "status", up ? "up" : "down")) ||
        (ret = doctor_event_set_detail(&de, "monitor", HOSTEVENT_MONITOR)) ||
        (ret = doctor_event_set_detail(&de, "monitor_event_id", id))) {
        goto out;
    }
    *out = de;
    memset(&de, 0, sizeof de);
out:
    doctor_event_clear(&de);
    return ret;
}

/* Sets details[key] to 'value' (stolen, even on failure). */
static int
hostevent_set(struct doctor_event *ev, const char *key, json_t *value)
{
    if (!value) {
        return -ENOMEM;
    }
    if (!ev || !ev->details || !key || !key[0]) {
        json_decref(value);
        return -EINVAL;
    }
    return json_object_set_new(ev->details, key, value) ? -ENOMEM : 0;
}

int
hostevent_set_int(struct doctor_event *ev, const char *key, int64_t value)
{
    return hostevent_set(ev, key, json_integer((json_int_t) value));
}

int
hostevent_set_bool(struct doctor_event *ev, const char *key, bool value)
{
    return hostevent_set(ev, key, json_boolean(value));
}

int
hostevent_set_string(struct doctor_event *ev, const char *key,
                     const char *value)
{
    return doctor_event_set_detail(ev, key, value);
}
