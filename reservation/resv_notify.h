/* resv_notify: turns committed lifecycle transitions into Doctor events
 * (common/doctor_event.h) and posts them to vigil-notifier's
 * POST /v1/events with common/doctor_sender, so that a VNFM subscribes to
 * reservation events exactly as to faults (an Aodh event alarm on
 * "reservation.*", with repeat_actions).
 *
 * An event is {"type": "reservation.start" | "reservation.expired" |
 * "reservation.end" | "reservation.cancelled", "details": {"hostname":
 * <zone>, "zone", "status" (the reservation's status after the
 * transition), "monitor": "vigil-reservation", "monitor_event_id":
 * "<reservation id>:<start|expired|end|cancelled>", "reservation_id",
 * "project_id", "name", "start", "end" (ISO-8601), "capacity_<key>" and,
 * for an expiry, "released_<key>" for every non-zero count}}. Doctor
 * requires "hostname"; a reservation's place is its zone.
 *
 * Without a notifier URL the events are only logged (rate-limited) and
 * counted. Single-threaded: use it from the loop it was made with. */
#ifndef VIGIL_RESERVATION_RESV_NOTIFY_H
#define VIGIL_RESERVATION_RESV_NOTIFY_H

#include <stddef.h>

#include "doctor_event.h"
#include "resv_engine.h"

struct event_base;
struct metrics_registry;
struct resv_notify;

struct resv_notify_options {
    const char *url;               /* NULL or "": log only */
    size_t queue_size;             /* events held while the notifier is
                                    * unreachable */
    unsigned int max_attempts;
    unsigned int initial_backoff_ms;
    unsigned int max_backoff_ms;
    long timeout_ms;
    struct metrics_registry *metrics;   /* may be NULL */
};

/* NULL on failure with '*error' set (-EINVAL bad options, -ENOMEM). */
struct resv_notify *resv_notify_new(struct event_base *base,
                                    const struct resv_notify_options *o,
                                    int *error);

/* Frees it; events not yet acknowledged are dropped (and logged).
 * Accepts NULL. */
void resv_notify_free(struct resv_notify *notify);

/* The engine's event callback (resv_engine_event_fn); 'arg' is the
 * struct resv_notify. */
void resv_notify_event(enum resv_event_type type, const struct resv_record *r,
                       const struct capvec *released, void *arg);

/* Events accepted and not yet acknowledged by the notifier. */
size_t resv_notify_queued(const struct resv_notify *notify);

/* Builds the Doctor event of a transition into 'ev' (initialised by the
 * call; the caller clears it). 0 or -ENOMEM. Exposed for tests. */
int resv_notify_build(enum resv_event_type type, const struct resv_record *r,
                      const struct capvec *released, struct doctor_event *ev);

#endif
