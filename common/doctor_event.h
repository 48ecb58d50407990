/* doctor_event: the fault event that crosses Vigil, in OPNFV Doctor's
 * inspector format, with the profiler's time stamps.
 *
 * On the wire (monitor -> inspector PUT/POST /events, inspector -> notifier
 * POST /v1/events) a body is a JSON list of events:
 *
 *   [{"id": "0b6e...",                       (optional; generated if absent)
 *     "time": "2026-11-22T01:53:07.123456Z", (ISO-8601; no zone means UTC)
 *     "type": "compute.instance.down",
 *     "details": {"hostname": "compute-1", "status": "down",
 *                 "monitor": "vigil-monitor", "monitor_event_id": "...",
 *                 "instance_uuid": "...", "libvirt_event": "STOPPED",
 *                 "libvirt_detail": "DESTROYED", ...},
 *     "profiler": {"T01": 123456789012, ...}}]  (optional; CLOCK_MONOTONIC ns)
 *
 * which is exactly what OPNFV Doctor's sample monitor sends, plus the
 * optional "profiler". Details are flat: string, integer, real or boolean
 * values only. "hostname" is required. compute.instance.* events need a
 * valid "instance_uuid". Every string and count is bounded (see the
 * DOCTOR_MAX_* limits); anything else is rejected with a message fit for a
 * 400 reply. */
#ifndef VIGIL_DOCTOR_EVENT_H
#define VIGIL_DOCTOR_EVENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DOCTOR_MAX_BODY_SIZE (4 * 1024 * 1024)
#define DOCTOR_MAX_EVENTS 4096         /* per list */
#define DOCTOR_MAX_DETAILS 64          /* keys per details object */
#define DOCTOR_MAX_STRING_LENGTH 1024  /* any detail string */
#define DOCTOR_ID_SIZE 128
#define DOCTOR_TYPE_SIZE 128
#define DOCTOR_HOSTNAME_SIZE 256
#define DOCTOR_SHORT_SIZE 64

/* Profiler checkpoints (OPNFV Doctor). */
enum doctor_stamp {
    DOCTOR_T00,   /* fault injected (tests only) */
    DOCTOR_T01,   /* detected by the monitor */
    DOCTOR_T02,   /* received by the inspector */
    DOCTOR_T03,   /* VMs of the host found */
    DOCTOR_T04,   /* host marked down in Nova */
    DOCTOR_T05,   /* VM states reset in Nova */
    DOCTOR_T06,   /* alarm sent by the inspector to the notifier */
    DOCTOR_T07,   /* event received by the notifier */
    DOCTOR_T08,   /* alarm fired by the notifier (webhook sent) */
    DOCTOR_T09,   /* alarm received by the consumer */
    DOCTOR_STAMP_COUNT
};

struct doctor_event {
    char id[DOCTOR_ID_SIZE];
    char type[DOCTOR_TYPE_SIZE];
    int64_t time_ns;                   /* epoch ns from "time" */
    char hostname[DOCTOR_HOSTNAME_SIZE];
    char status[DOCTOR_SHORT_SIZE];    /* "" when absent */
    char monitor[DOCTOR_SHORT_SIZE];   /* "" when absent */
    char monitor_event_id[DOCTOR_ID_SIZE];  /* "" when absent */
    char instance_uuid[40];            /* "" when absent; required by
                                        * compute.instance.* */
    json_t *details;                   /* the whole details object (owned) */
    int64_t stamps[DOCTOR_STAMP_COUNT];  /* CLOCK_MONOTONIC ns, 0 = unset */
};

/* "T00".."T09". */
const char *doctor_stamp_name(enum doctor_stamp stamp);

/* Initialises 'ev' empty (details an empty object). 0 or -ENOMEM. */
int doctor_event_init(struct doctor_event *ev);

/* Releases what 'ev' owns; leaves it empty. Accepts a zeroed event. */
void doctor_event_clear(struct doctor_event *ev);

/* Sets details[key] (string); also updates the matching struct field for
 * hostname, status, monitor, monitor_event_id, instance_uuid. 0 or -errno
 * (-EINVAL when too long). */
int doctor_event_set_detail(struct doctor_event *ev, const char *key,
                            const char *value);

/* Validates one event object; fills 'ev' (initialised by this call; 'ev'
 * owns a copy of the details) and returns 0, or -EINVAL with a reason in
 * 'err' naming the field (e.g. "details.hostname: missing"; 'err' may be
 * NULL). Nothing is written to 'ev' on failure. A missing "id" gets a fresh
 * UUID. Unknown top-level keys are ignored. */
int doctor_event_from_json(const json_t *obj, struct doctor_event *ev,
                           char *err, size_t err_size);

/* Parses a whole body (a JSON list; a single object is accepted as a list
 * of one; an empty list is malformed). On success '*events' (caller frees
 * with doctor_events_free) holds '*length' >= 1 events. -EINVAL with 'err'
 * on malformed input, the message prefixed with the event's index (e.g.
 * "event 3: details.hostname: missing"); -E2BIG when over
 * DOCTOR_MAX_BODY_SIZE or DOCTOR_MAX_EVENTS. Containers may nest 3 deep at
 * most (list > event > details), duplicate keys are rejected. Outputs are
 * written only on success. Thread-safe (no shared state). */
int doctor_events_parse(const char *body, size_t size,
                        struct doctor_event **events, size_t *length,
                        char *err, size_t err_size);

/* The same from an already parsed JSON value (e.g. from httpd_read_json):
 * a list of events or a single event object. Same results and errors. */
int doctor_events_from_json(const json_t *root, struct doctor_event **events,
                            size_t *length, char *err, size_t err_size);

void doctor_events_free(struct doctor_event *events, size_t length);

/* Serialises one event in the wire form above (new reference, NULL on
 * allocation failure). */
json_t *doctor_event_to_json(const struct doctor_event *ev);

/* False for a recovery: the type ends in ".up", or details.status is "up"
 * or "ok" (any case). True for everything else ("*.down", "*.error",
 * unknown types: a fault is never dropped for being unfamiliar). */
bool doctor_event_is_fault(const struct doctor_event *ev);

#endif
