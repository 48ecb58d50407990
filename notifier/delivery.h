/* delivery: an alarm notification and the sinks that deliver it.
 *
 * When an event moves an alarm (alarm_match.h), the evaluator describes the
 * change as a struct delivery_notification and hands it to every sink. A
 * sink is a backend behind one interface of function pointers, like OVS's
 * netdev providers: the webhook sink (webhook_sink.h) POSTs Aodh's webhook
 * body to the alarm's action URLs; a Kafka sink or a durable outbox plug in
 * the same way. A sink copies what it needs during submit() and delivers
 * asynchronously on the event loop.
 *
 * The body follows Aodh's REST notifier (aodh/notifier/rest.py) with the
 * event in reason_data as Aodh's event evaluator passes it on:
 *
 *   {"alarm_name", "alarm_id", "severity", "previous", "current", "reason",
 *    "reason_data": {"type": "event", "event": {"message_id", "event_type",
 *        "generated", "traits": [[name, dtype, value], ...], "raw": {},
 *        "message_signature": ""}},
 *    "notification_id": "<uuid>", "profiler": {"T01": ns, ..., "T08": ns}}
 *
 * where "notification_id" and "profiler" are Vigil's additions, which Aodh
 * clients ignore. Single-threaded, like the loop the sinks run on. */
#ifndef VIGIL_DELIVERY_H
#define VIGIL_DELIVERY_H

#include <jansson.h>
#include <stdint.h>

#include "alarm.h"
#include "doctor_event.h"
#include "jsonw.h"

/* Ceilometer's trait types, as Aodh sends them in the traits triples. */
enum delivery_trait_type {
    DELIVERY_TRAIT_NONE = 0,
    DELIVERY_TRAIT_TEXT = 1,
    DELIVERY_TRAIT_INT = 2,
    DELIVERY_TRAIT_FLOAT = 3,
    DELIVERY_TRAIT_DATETIME = 4,
};

/* One alarm state change (or repeat) to deliver. Everything is borrowed
 * and valid only during a sink's submit(). */
struct delivery_notification {
    char notification_id[VUUID_STRING_SIZE];  /* fresh per notification */
    const struct alarm *alarm;      /* id, name, severity, actions */
    enum alarm_state previous;
    enum alarm_state current;       /* its actions are the ones to call */
    const char *reason;
    const char *event;              /* delivery_event_text() */
    int64_t stamps[DOCTOR_STAMP_COUNT];  /* profiler so far, 0 = unset */
};

/* A backend. Implementations embed this as their first member. */
struct delivery_sink {
    const char *name;               /* "webhook", for logs and metrics */

    /* Accepts 'n' for delivery: copies what it needs and returns 0, or a
     * negative errno when it could not accept it (the sink has counted
     * and logged the loss). Must not block. */
    int (*submit)(struct delivery_sink *sink,
                  const struct delivery_notification *n);

    /* Stops delivering and frees the sink. */
    void (*free)(struct delivery_sink *sink);
};

/* Calls sink->submit(). */
int delivery_sink_submit(struct delivery_sink *sink,
                         const struct delivery_notification *n);

/* Calls sink->free(). Accepts NULL. */
void delivery_sink_free(struct delivery_sink *sink);

/* The Aodh event object for 'ev' (reason_data.event) as JSON text:
 * message_id = ev->id, event_type, generated = ev->time_ns as ISO-8601,
 * traits = the details as [name, dtype, value] triples (strings 1,
 * integers 2, reals 3, booleans as text "true"/"false"), raw {} and
 * message_signature "". Caller frees; NULL on allocation failure. */
char *delivery_event_text(const struct doctor_event *ev);

/* The webhook body of 'n' is written in two parts, so that a sink can
 * render it once and stamp T08 when it sends it: delivery_body_begin()
 * writes everything up to the profiler's stamps (T08 left out) and returns
 * how many stamps it wrote; delivery_body_end() adds T08 = 't08_ns' (none
 * when 0) and closes the body. */
size_t delivery_body_begin(struct jsonw *w,
                           const struct delivery_notification *n);
void delivery_body_end(struct jsonw *w, size_t stamps, int64_t t08_ns);

#endif
