/* doctor_sender: delivers Doctor events to an HTTP peer (the inspector's
 * /events, the notifier's /v1/events) over one pipe, in order, and never
 * loses one silently.
 *
 * Each event is serialised once, when it is handed over, and queued. One
 * request is in flight at a time: events handed over while the pipe is
 * idle go out at once (no batching delay); events handed over while a
 * request is in flight go out together in the next one, as one JSON list
 * of at most 'batch_size' events and 'max_body_size' bytes. A burst of a
 * thousand events therefore costs a handful of requests, and the single
 * pipe keeps every subject's events in the order they were handed over.
 *
 * httpc retries each request (transport errors, 5xx, 429) with exponential
 * back-off. When it still fails (or ends in 408, 429, a 3xx or a 5xx), its
 * events go back to the head of the queue and the sender waits
 * (retry.initial_backoff_ms doubling up to retry.max_backoff_ms) before
 * sending again, probing for as long as the peer is unreachable. A request
 * the peer refuses with any other 4xx would never be accepted: its events
 * are dropped. The queue holds at most
 * 'queue_size' events (waiting and in flight); events handed over to a
 * full queue are refused.
 *
 * Like every module of common/ it does not log: it reports reachability
 * changes and every drop through callbacks, so that each daemon logs them
 * once, in its own words, with its own rate limit. It counts in metrics
 * named after a prefix: PREFIX_events_reported_total,
 * PREFIX_events_dropped_total, PREFIX_report_failures_total,
 * PREFIX_queue_depth and PREFIX_report_latency_seconds.
 *
 * Single-threaded: use a sender from the loop it was made with, except
 * doctor_sender_count_dropped(), which any thread may call. */
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

#define DOCTOR_SENDER_BATCH_SIZE 256           /* default batch_size */
#define DOCTOR_SENDER_MAX_BODY_SIZE (512 * 1024)  /* default max_body_size */

/* Why events were dropped. */
enum doctor_sender_drop_reason {
    DOCTOR_SENDER_DROP_FULL,       /* the queue had no room */
    DOCTOR_SENDER_DROP_NOMEM,      /* they could not be serialised */
    DOCTOR_SENDER_DROP_REJECTED,   /* the peer refused them (4xx) */
    DOCTOR_SENDER_DROP_SHUTDOWN,   /* still queued at doctor_sender_free() */
    DOCTOR_SENDER_DROP_UPSTREAM,   /* doctor_sender_count_dropped() */
    DOCTOR_SENDER_DROP_REASON_COUNT
};

/* A drop, as reported to the drop callback. */
struct doctor_sender_drop {
    enum doctor_sender_drop_reason reason;
    size_t length;                       /* events dropped */
    const struct doctor_event *events;   /* FULL, NOMEM: the 'length'
                                          * events refused; else NULL */
    long status;                         /* REJECTED: the HTTP status */
    const char *answer;                  /* REJECTED: the peer's answer
                                          * body (may be ""); else NULL */
};

/* A reachability report, as passed to the state callback. */
struct doctor_sender_state {
    bool reachable;          /* the peer answers (2xx or a final 4xx) */
    bool changed;            /* false: one more failed request while the
                              * peer is still unreachable */
    const char *error;       /* unreachable: why the last request failed
                              * ("HTTP 503", the transport error); NULL
                              * when reachable */
    unsigned int failures;   /* consecutive failed requests, 0 when
                              * reachable */
    int64_t outage_ns;       /* how long the peer has been (reachable
                              * again: was) unreachable */
    size_t delivered;        /* reachable again: events the request that
                              * ended the outage delivered */
};

/* Called on the loop when the peer becomes unreachable, after every
 * further failed request while it stays so (changed false: the daemon
 * rate-limits its "still unreachable" line), and when it answers again.
 * 'state' is valid during the call only. The callback may hand over
 * events; it must not free the sender. */
typedef void doctor_sender_state_fn(struct doctor_sender *sender,
                                    const struct doctor_sender_state *state,
                                    void *arg);

/* Called on the loop for every drop except DOCTOR_SENDER_DROP_UPSTREAM
 * (whoever counts those knows about them), after they are counted.
 * 'drop' is valid during the call only. The callback may hand over events
 * (except during doctor_sender_free()); it must not free the sender. */
typedef void doctor_sender_drop_fn(struct doctor_sender *sender,
                                   const struct doctor_sender_drop *drop,
                                   void *arg);

struct doctor_sender_options {
    const char *url;               /* http:// or https://; copied */
    const char *method;            /* "POST" or "PUT"; NULL: "POST" */
    size_t queue_size;             /* events waiting and in flight, >= 1 */
    size_t batch_size;             /* most events per request,
                                    * <= DOCTOR_MAX_EVENTS; 0:
                                    * DOCTOR_SENDER_BATCH_SIZE */
    size_t max_body_size;          /* most bytes per request (one event
                                    * larger than that goes alone); 0:
                                    * DOCTOR_SENDER_MAX_BODY_SIZE */
    long timeout_ms;               /* per attempt, >= 0; 0: httpc's 5 s */
    /* Attempts per request inside httpc (max_attempts >= 1) and their
     * back-off; also the wait between re-sends while the peer is
     * unreachable (initial_backoff_ms >= 1 doubling up to max_backoff_ms,
     * which must be >= initial_backoff_ms). */
    struct httpc_retry retry;
    struct metrics_registry *metrics;   /* may be NULL */
    const char *metrics_prefix;    /* required with 'metrics', e.g.
                                    * "vigil_monitor" */
    /* The report latency histogram measures from this profiler stamp of
     * each event (when set) to the peer's acknowledgement. */
    enum doctor_stamp latency_stamp;
    doctor_sender_state_fn *on_state;   /* may be NULL */
    doctor_sender_drop_fn *on_drop;     /* may be NULL */
    void *arg;                          /* passed to both callbacks */
};

/* A sender on the loop of 'base', with its own HTTP client. NULL on
 * failure, with '*error' (may be NULL) set to -EINVAL (bad options) or
 * -ENOMEM (out of memory, or metrics that cannot be registered under
 * 'metrics_prefix'). Nothing of 'options' needs to outlive the call except
 * 'metrics' and 'arg'. */
struct doctor_sender *doctor_sender_new(struct event_base *base,
                                        const struct doctor_sender_options
                                        *options, int *error);

/* Cancels the request in flight, counts the events still queued as
 * dropped (reported to the drop callback as DOCTOR_SENDER_DROP_SHUTDOWN,
 * before anything is released) and frees 'sender'. Accepts NULL. */
void doctor_sender_free(struct doctor_sender *sender);

/* Queues 'events' (serialised now; the caller keeps ownership) behind
 * those already queued, and sends at once when no request is in flight.
 * All or nothing: 0 when all 'length' events are queued; -ENOBUFS when the
 * queue has no room for all of them, or -ENOMEM when serialising failed:
 * then none is queued, all are counted as dropped and reported to the drop
 * callback. -EINVAL when 'length' is 0. */
int doctor_sender_send(struct doctor_sender *sender,
                       const struct doctor_event *events, size_t length);

/* Counts 'n' events dropped before they reached the sender (e.g. by a
 * full hand-off queue), in the same counter. Thread-safe. */
void doctor_sender_count_dropped(struct doctor_sender *sender, uint64_t n);

/* Events queued or in flight: accepted, not yet acknowledged. */
size_t doctor_sender_queued(const struct doctor_sender *sender);

/* Totals since creation. */
struct doctor_sender_stats {
    uint64_t reported;    /* events the peer acknowledged with 2xx */
    uint64_t failures;    /* requests that failed after httpc's retries */
    uint64_t requests;    /* requests sent */
    uint64_t dropped;     /* events dropped, for any reason */
    uint64_t drops[DOCTOR_SENDER_DROP_REASON_COUNT];  /* by reason */
    size_t queued;        /* as doctor_sender_queued() */
};

/* Fills 'stats'. From the loop's thread. */
void doctor_sender_get_stats(const struct doctor_sender *sender,
                             struct doctor_sender_stats *stats);

#endif
