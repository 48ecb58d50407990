/* vnfm_alarm: the alarm a VNFM receives from an Aodh-compatible notifier.
 *
 * The sample VNFM (vnfm.c) and the fault benchmark receive webhook POSTs in
 * Aodh's event-alarm body format, the one vigil-notifier sends:
 *
 *   {"alarm_name": "vnfm-1", "alarm_id": "...", "severity": "critical",
 *    "previous": "ok", "current": "alarm", "reason": "...",
 *    "reason_data": {"type": "event",
 *                    "event": {"message_id": "...",
 *                              "event_type": "compute.instance.down",
 *                              "generated": "2026-11-22T01:53:07.123456",
 *                              "traits": [["hostname", 1, "compute-1"],
 *                                         ...]}},
 *    "notification_id": "...",                     (Vigil, optional)
 *    "profiler": {"T01": 123456789012, ...}}       (Vigil, optional)
 *
 * vnfm_alarm_from_json() checks that shape and pulls out the fields a VNFM
 * acts on. Every string is bounded; anything else is rejected with a reason
 * fit for a 400 reply. No I/O, no logging; thread-safe (no shared state). */
#ifndef VIGIL_VNFM_ALARM_H
#define VIGIL_VNFM_ALARM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "doctor_event.h"

#define VNFM_ALARM_MAX_TRAITS 64
#define VNFM_ALARM_NAME_SIZE 256
#define VNFM_ALARM_ID_SIZE 128
#define VNFM_ALARM_SHORT_SIZE 64
#define VNFM_ALARM_MAX_STRING_LENGTH 4096   /* reason, trait values */

struct vnfm_alarm {
    char alarm_name[VNFM_ALARM_NAME_SIZE];
    char alarm_id[VNFM_ALARM_ID_SIZE];
    char severity[VNFM_ALARM_SHORT_SIZE];       /* low, moderate, critical */
    char previous[VNFM_ALARM_SHORT_SIZE];       /* ok, alarm, insufficient data */
    char current[VNFM_ALARM_SHORT_SIZE];
    char event_type[VNFM_ALARM_ID_SIZE];
    char message_id[VNFM_ALARM_ID_SIZE];
    char notification_id[VNFM_ALARM_ID_SIZE];   /* "" when absent */
    /* Traits a VNFM acts on; "" when the event does not carry them. */
    char hostname[VNFM_ALARM_NAME_SIZE];
    char instance_uuid[VNFM_ALARM_SHORT_SIZE];
    char libvirt_event[VNFM_ALARM_SHORT_SIZE];
    char libvirt_detail[VNFM_ALARM_SHORT_SIZE];
    /* Profiler stamps (CLOCK_MONOTONIC ns), 0 = unset. The receiver sets
     * stamps[DOCTOR_T09] itself. */
    int64_t stamps[DOCTOR_STAMP_COUNT];
};

/* Validates one webhook body 'body' (any JSON value) and fills '*alarm'.
 *
 * Returns 0 on success. Returns -EINVAL for a body of the wrong shape, with
 * a reason such as "reason_data.event.traits[2]: expected [name, type,
 * value]" written to 'err' (of 'err_size' bytes, may be 0 with 'err'
 * NULL); '*alarm' is then left unchanged. 'body' is not modified nor kept. */
int vnfm_alarm_from_json(const json_t *body, struct vnfm_alarm *alarm,
                         char *err, size_t err_size);

#endif
