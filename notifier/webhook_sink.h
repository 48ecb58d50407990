/* webhook_sink: the delivery sink that POSTs Aodh webhook bodies.
 *
 * For each notification it POSTs the body of delivery.h to every URL in
 * the actions of the alarm's new state, with "Content-Type:
 * application/json" and an "x-openstack-request-id: req-<uuid>" header as
 * Aodh's REST notifier sends. Requests go out at once on an httpc client of
 * its own (connection reuse, TCP_NODELAY), with retries and exponential
 * back-off for transport errors, 5xx and 429. The "T08" profiler stamp is
 * taken just before each request is handed to httpc.
 *
 * When httpc holds max_pending requests, further ones wait in a bounded
 * FIFO of the sink's own and go out as earlier ones complete; when that is
 * full too, the delivery is dropped, counted in
 * vigil_notifier_deliveries_dropped_total and logged (rate-limited).
 *
 * Single-threaded: runs on the loop it was made with. */
#ifndef VIGIL_WEBHOOK_SINK_H
#define VIGIL_WEBHOOK_SINK_H

#include <stddef.h>

#include "delivery.h"
#include "httpc.h"

struct event_base;
struct metrics_registry;

struct webhook_sink_options {
    struct httpc_options http;     /* timeouts, max_pending, connections */
    struct httpc_retry retry;      /* attempts and back-off per POST */
    size_t max_queued;             /* FIFO behind httpc; 0: 100000 */
};

/* A webhook sink on 'base' that registers its metrics (sink="webhook") in
 * 'metrics' (may be NULL). NULL on failure. Free it with
 * delivery_sink_free(): deliveries still in flight or queued then are
 * abandoned (and counted in the log line it writes). */
struct delivery_sink *webhook_sink_new(struct event_base *base,
                                       const struct webhook_sink_options *opts,
                                       struct metrics_registry *metrics);

/* Deliveries in flight in httpc plus those waiting in the FIFO. 'sink'
 * must come from webhook_sink_new(). */
size_t webhook_sink_pending(const struct delivery_sink *sink);

#endif
