/* doctor_sender: delivers Doctor event lists to an HTTP endpoint (the
 * inspector's /events, the notifier's /v1/events) and never loses one
 * silently.
 *
 * Each doctor_sender_send() call becomes one batch: the events are
 * serialised at once into a JSON list and POSTed (or PUT) with httpc, up to
 * 'max_in_flight' batches at a time. A batch that fails (transport error,
 * 5xx, after httpc's own retries) goes back to the head of a bounded outbox;
 * the sender then holds new batches back and probes with the oldest one at
 * an exponential back-off until the peer answers, then drains the outbox in
 * order. A batch the peer refuses with 4xx is dropped (it would never be
 * accepted) and counted as rejected. When the outbox holds 'max_queue'
 * events, new batches are refused, counted as dropped and the caller is
 * told (-ENOBUFS).
 *
 * The sender reports reachability changes through a callback so that the
 * daemon can log them once ("inspector unreachable ... / reachable again").
 * Single-threaded: use it from the loop it was made with. */
#ifndef VIGIL_DOCTOR_SENDER_H
#define VIGIL_DOCTOR_SENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doctor_event.h"
#include "httpc.h"

struct event_base;
struct metrics_registry;
struct doctor_sender;

/* Called when the peer becomes unreachable (reachable false, with the last
 * error) or reachable again. */
typedef void doctor_sender_state_fn(struct doctor_sender *sender,
                                    bool reachable, const char *error,
                                    void *arg);

struct doctor_sender_options {
    const char *url;               /* copied */
    const char *method;            /* "POST" (default) or "PUT" */
    size_t max_queue;              /* events held while the peer is down */
    size_t max_in_flight;          /* concurrent batches, 0: 16 */
    struct httpc_retry retry;      /* per-batch retries inside httpc */
    unsigned int probe_backoff_max_ms;  /* outage probing cap, 0: 5000 */
    long timeout_ms;               /* per attempt, 0: httpc default */
    struct metrics_registry *metrics;   /* may be NULL */
    const char *metrics_prefix;    /* e.g. "vigil_monitor_report" */
    doctor_sender_state_fn *on_state;   /* may be NULL */
    void *arg;
};

/* 'client' stays owned by the caller and must outlive the sender. NULL on
 * failure (bad options, out of memory). */
struct doctor_sender *doctor_sender_new(struct event_base *base,
                                        struct httpc *client,
                                        const struct doctor_sender_options *o);

/* Frees the sender; batches not yet acknowledged are lost and counted as
 * dropped (the caller logs doctor_sender_queued() before, if it cares).
 * Free the httpc client first (its cancelled callbacks return in-flight
 * batches to the sender), then the sender. Accepts NULL. */
void doctor_sender_free(struct doctor_sender *sender);

/* Queues 'events' (serialised now; the caller keeps ownership) as one
 * batch. 0; -ENOBUFS when the outbox is full (counted as dropped); -ENOMEM;
 * -EINVAL for an empty batch. */
int doctor_sender_send(struct doctor_sender *sender,
                       const struct doctor_event *events, size_t length);

/* Events accepted but not yet acknowledged by the peer. */
size_t doctor_sender_queued(const struct doctor_sender *sender);

/* Totals since creation. */
struct doctor_sender_stats {
    uint64_t sent;        /* events acknowledged with 2xx */
    uint64_t rejected;    /* events refused with 4xx */
    uint64_t dropped;     /* events refused because the outbox was full */
    uint64_t failures;    /* batch attempts that failed after httpc retries */
};
void doctor_sender_get_stats(const struct doctor_sender *sender,
                             struct doctor_sender_stats *stats);

#endif
