/* correlator: what the inspector does with each Doctor event it accepts.
 *
 * Events of one request are ordered by their time, classified by type
 * (compute.instance.*, compute.host.*, anything else), checked against the
 * last state of their subject (dedup.h), recorded in the history
 * (event_log.h) and, when new, stamped T06 and handed to the notifier in
 * one doctor_sender_send() call: they go out at once, or with the next
 * request if one is in flight, in order. Each class has its own handler in
 * a table. compute.host.down/up go to the host fault handler
 * (host_fault.h: fencing, per-VM alarms, Nova), which keeps its own state
 * and is therefore given repeated reports too (only stale ones are
 * dropped); every other event of a host that is down is absorbed there.
 * Instance events and monitors' domain lists ("domains") also keep the
 * host -> VM inventory current (inventory.h).
 *
 * Not thread-safe: runs on the inspector's event loop. */
#ifndef VIGIL_INSPECTOR_CORRELATOR_H
#define VIGIL_INSPECTOR_CORRELATOR_H

#include <stddef.h>
#include <stdint.h>

#include "dedup.h"
#include "doctor_event.h"

struct correlator;
struct doctor_sender;
struct event_log;
struct host_fault;
struct inventory;
struct metrics_registry;

struct correlator_options {
    int64_t dedup_window_ns;
    size_t max_tracked;            /* subjects remembered by dedup */
    struct host_fault *host_fault; /* NULL: host events are forwarded as
                                    * they are */
    struct inventory *inventory;   /* NULL: events do not feed it */
};

/* 'sender', 'log' and the host fault handler and inventory of 'options'
 * stay owned by the caller and must outlive the correlator. NULL on
 * failure. */
struct correlator *correlator_new(const struct correlator_options *options,
                                  struct doctor_sender *sender,
                                  struct event_log *log,
                                  struct metrics_registry *metrics);
void correlator_free(struct correlator *c);

/* Counts of what became of a batch. */
struct correlator_summary {
    size_t verdicts[DEDUP_VERDICT_COUNT];
    size_t forwarded;              /* handed to the notifier */
    size_t refused;                /* the notifier's outbox was full */
    size_t host_events;            /* taken by the host fault handler */
    size_t absorbed;               /* events of a host that is down */
};

/* Handles 'events' (T02 already stamped); sorts them in place by time.
 * Fills 'summary'. 0, or -ENOBUFS when the notifier's outbox had no room
 * for them, or -ENOMEM: then none was handed over (the sender counted them
 * as dropped and reported them to its drop callback). */
int correlator_handle(struct correlator *c, struct doctor_event *events,
                      size_t length, struct correlator_summary *summary);

#endif
