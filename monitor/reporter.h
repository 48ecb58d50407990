/* reporter: sends vigil-monitor's Doctor events to the inspector.
 *
 * Each event is serialised once, on submission, and queued. One request is
 * in flight at a time: an event submitted while the pipe is idle goes out
 * at once, alone (no batching delay); events submitted while a request is
 * in flight go out together in the next one (a list of up to batch_size
 * events), so a burst of a thousand VM faults costs a handful of requests.
 * One pipe keeps the events of every instance in order.
 *
 * Each request is retried by httpc (transport errors, 5xx, 429) with
 * exponential back-off. When it still fails the events go back to the head
 * of the queue and the reporter waits (retry_initial_ms doubling up to
 * retry_max_ms) before sending again, for as long as the inspector is
 * unreachable. A request the inspector rejects as malformed (400, 413, 415,
 * 422) is not retried: its events are dropped and logged. The queue holds
 * at most queue_size events (queued and in flight); an event submitted to a
 * full queue is dropped. Every drop is counted
 * (vigil_monitor_events_dropped_total) and logged (rate-limited); losing
 * and regaining the inspector are logged too.
 *
 * Single-threaded: use it from the loop it was made with, except
 * reporter_count_dropped(), which any thread may call. */
#ifndef VIGIL_REPORTER_H
#define VIGIL_REPORTER_H

#include <stddef.h>
#include <stdint.h>

struct doctor_event;
struct event_base;
struct metrics_registry;

#define REPORTER_MAX_BODY_SIZE (512 * 1024)  /* per request (one event may
                                              * exceed it alone) */

struct reporter_options {
    const char *url;                  /* inspector, e.g.
                                       * "http://127.0.0.1:12345/events" */
    const char *method;               /* "POST" or "PUT"; NULL: "POST" */
    size_t queue_size;                /* >= 1 */
    size_t batch_size;                /* 1..DOCTOR_MAX_EVENTS */
    long timeout_ms;                  /* per attempt; 0: httpc's default */
    unsigned int retry_attempts;      /* tries per request, >= 1 */
    unsigned int retry_initial_ms;    /* >= 1 */
    unsigned int retry_max_ms;        /* >= retry_initial_ms */
    /* Registers vigil_monitor_events_reported_total,
     * vigil_monitor_report_failures_total,
     * vigil_monitor_events_dropped_total, vigil_monitor_queue_depth and
     * vigil_monitor_report_latency_seconds (T01 to the inspector's
     * answer); may be NULL. */
    struct metrics_registry *metrics;
};

/* Counters for tests and diagnostics. */
struct reporter_stats {
    uint64_t reported;        /* events the inspector accepted */
    uint64_t failures;        /* requests that failed after their retries */
    uint64_t dropped;         /* events dropped (full queue, rejected, ...) */
    uint64_t requests;        /* requests sent */
    size_t queued;            /* events queued or in flight */
};

struct reporter;

/* A reporter on the loop of 'base', with its own HTTP client. NULL on
 * failure with '*error' (may be NULL) set to a negative errno. */
struct reporter *reporter_new(struct event_base *base,
                              const struct reporter_options *options,
                              int *error);

/* Cancels the request in flight, logs and counts as dropped the events
 * still queued, and frees 'r'. Accepts NULL. */
void reporter_free(struct reporter *r);

/* Queues 'ev' (serialised now; the caller keeps 'ev') and sends it at once
 * when no request is in flight. 0; -ENOBUFS when the queue is full and
 * -ENOMEM when serialising failed: the event is dropped and counted. */
int reporter_submit(struct reporter *r, const struct doctor_event *ev);

/* Counts 'n' events dropped before they reached the reporter (e.g. by a
 * full hand-off queue). Thread-safe. */
void reporter_count_dropped(struct reporter *r, uint64_t n);

/* Fills 'stats' with the counters so far. From the loop's thread. */
void reporter_get_stats(const struct reporter *r,
                        struct reporter_stats *stats);

#endif
