/* hostevent: the Doctor events of host-level faults that vigil-monitor
 * detects itself (heartbeats, NIC links, watched processes), as opposed to
 * the VM faults libvirt tells it about (vmevent).
 *
 * Every host event is a struct doctor_event of type "compute.host.*" with
 * the details every Doctor consumer reads (hostname, status, monitor =
 * "vigil-monitor", monitor_event_id = the event's id, a fresh UUID), the
 * wall-clock time and the profiler's T01 (CLOCK_MONOTONIC, stamped by the
 * detector at detection). The detectors (heartbeat, linkwatch, procwatch)
 * add their own details with hostevent_set_*() and hand the event to a
 * hostevent_fn, which main.c points at the doctor_sender.
 *
 * Thread-safe: no shared state. */
#ifndef VIGIL_HOSTEVENT_H
#define VIGIL_HOSTEVENT_H

#include <stdbool.h>
#include <stdint.h>

struct doctor_event;

#define HOSTEVENT_MONITOR "vigil-monitor"

/* Receives a detected host event on the loop. The event is valid during
 * the call only (the caller clears it afterwards): copy or serialise what
 * is needed (doctor_sender_send() does). */
typedef void hostevent_fn(const struct doctor_event *ev, void *arg);

/* Builds '*out' (initialised by this call; the caller clears it with
 * doctor_event_clear()): 'type' (e.g. "compute.host.down"), a fresh UUID
 * as id and monitor_event_id, 'time_ns' (epoch ns) as time, 'detected_ns'
 * (CLOCK_MONOTONIC) as T01, and details hostname = 'hostname', status
 * "up" or "down" (from 'up'), monitor "vigil-monitor". 0, -EINVAL (type or
 * hostname too long or empty) or -ENOMEM; '*out' is written only on
 * success. */
int hostevent_init(struct doctor_event *out, const char *type,
                   const char *hostname, bool up, int64_t detected_ns,
                   int64_t time_ns);

/* Sets details[key] to an integer, a boolean or a string (the string is
 * copied; at most DOCTOR_MAX_STRING_LENGTH bytes). 0, -EINVAL or -ENOMEM;
 * 'ev' is unchanged on failure. */
int hostevent_set_int(struct doctor_event *ev, const char *key,
                      int64_t value);
int hostevent_set_bool(struct doctor_event *ev, const char *key, bool value);
int hostevent_set_string(struct doctor_event *ev, const char *key,
                         const char *value);

#endif
