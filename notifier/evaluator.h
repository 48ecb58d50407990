/* evaluator: turns events into alarm notifications, as Aodh's event alarm
 * evaluator does.
 *
 * For each Doctor event the inspector hands over (POST /v1/events), it asks
 * the store for the alarms the event hits (alarm_store_match), applies the
 * state machine (alarm_match_transition/commit) and, for every alarm that
 * must notify, builds one struct delivery_notification and submits it to
 * each sink at once (no batching, no timers). It owns the sinks.
 *
 * Single-threaded: runs on the loop of the HTTP server and the sinks. */
#ifndef VIGIL_EVALUATOR_H
#define VIGIL_EVALUATOR_H

#include <stddef.h>

#include "alarm_store.h"
#include "delivery.h"
#include "doctor_event.h"

struct metrics_registry;
struct evaluator;

#define EVALUATOR_MAX_SINKS 8

/* An evaluator over 'store' (borrowed; it must outlive the evaluator) that
 * registers its counters in 'metrics' (may be NULL). NULL on allocation
 * failure. */
struct evaluator *evaluator_new(struct alarm_store *store,
                                struct metrics_registry *metrics);

/* Frees the evaluator and its sinks. Accepts NULL. */
void evaluator_free(struct evaluator *evaluator);

/* Adds 'sink'; the evaluator owns it from now on, also on failure (then it
 * is freed). 0, or -ENOSPC beyond EVALUATOR_MAX_SINKS. */
int evaluator_add_sink(struct evaluator *evaluator,
                       struct delivery_sink *sink);

/* Evaluates one event: updates the state of every alarm it hits and
 * submits the notifications. 'ev' carries its profiler stamps (the caller
 * sets T07 on receipt). Stores the number of alarms hit in '*matched' and
 * of notifications submitted in '*notified' (either may be NULL). 0, or
 * -ENOMEM when some notification could not be built (the others went). */
int evaluator_process(struct evaluator *evaluator,
                      const struct doctor_event *ev, size_t *matched,
                      size_t *notified);

#endif
