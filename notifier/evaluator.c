/* evaluator: event -> alarm transitions -> notifications (see
 * evaluator.h). */
#include "evaluator.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "vlog.h"
#include "vtime.h"
#include "vuuid.h"

struct evaluator {
    struct alarm_store *store;
    struct delivery_sink *sinks[EVALUATOR_MAX_SINKS];
    size_t n_sinks;
    struct metrics_counter *events;
    struct metrics_counter *matched;
    struct metrics_counter *notifications;
};

/* State of one evaluator_process() call. */
struct evaluator_run {
    struct evaluator *evaluator;
    const struct doctor_event *ev;
    char *event;                /* Aodh form of 'ev' (JSON text), built on
                                 * first use */
    size_t matched;
    size_t notified;
    int error;
};

static struct vlog_rate_limit evaluator_rl = VLOG_RATE_LIMIT_INIT(5, 20);

struct evaluator *
evaluator_new(struct alarm_store *store, struct metrics_registry *metrics)
{
    struct evaluator *e = calloc(1, sizeof *e);

    if (!e) {
        return NULL;
    }
    e->store = store;
    if (metrics) {
        e->events = metrics_counter_new(metrics,
            "vigil_notifier_events_received_total",
            "Events received from the inspector.", NULL);
        e->matched = metrics_counter_new(metrics,
            "vigil_notifier_alarms_matched_total",
            "Alarms hit by an event (recoveries included).", NULL);
        e->notifications = metrics_counter_new(metrics,
            "vigil_notifier_notifications_total",
            "Alarm notifications handed to the sinks.", NULL);
        if (!e->events || !e->matched || !e->notifications) {
            free(e);
            return NULL;
        }
    }
    return e;
}

void
evaluator_free(struct evaluator *evaluator)
{
    if (!evaluator) {
        return;
    }
    for (size_t i = 0; i < evaluator->n_sinks; i++) {
        delivery_sink_free(evaluator->sinks[i]);
    }
    free(evaluator);
}

int
evaluator_add_sink(struct evaluator *evaluator, struct delivery_sink *sink)
{
    if (evaluator->n_sinks == EVALUATOR_MAX_SINKS) {
        delivery_sink_free(sink);
        return -ENOSPC;
    }
    evaluator->sinks[evaluator->n_sinks++] = sink;
    return 0;
}

static void
evaluator_count(struct metrics_counter *c)
{
    if (c) {
        metrics_counter_add(c, 1);
    }
}

/* alarm_store_match callback: one alarm hit by the event. */
static void
evaluator_hit(struct alarm *alarm, enum alarm_match_kind kind, void *arg)
{
    struct evaluator_run *run = arg;
    struct evaluator *e = run->evaluator;
    struct delivery_notification n;
    struct alarm_transition t;
    char *reason = NULL;

    run->matched++;
    evaluator_count(e->matched);
    alarm_match_transition(alarm, kind, &t);
    if (!t.notify) {
        return;
    }
    reason = alarm_match_reason(alarm, run->ev->id, run->ev->type);
    if (!run->event) {
        run->event = delivery_event_text(run->ev);
    }
    if (!reason || !run->event ||
        alarm_match_commit(alarm, &t, reason, vtime_real_ns())) {
        run->error = -ENOMEM;
        vlog_write_rl(&evaluator_rl, VLOG_LEVEL_ERR, "evaluator",
                      "out of memory: alarm %s not notified of event %s",
                      alarm->id, run->ev->id);
        free(reason);
        return;
    }
    memset(&n, 0, sizeof n);
    if (vuuid_generate(n.notification_id)) {
        run->error = -EIO;
        free(reason);
        return;
    }
    n.alarm = alarm;
    n.previous = t.previous;
    n.current = t.current;
    n.reason = reason;
    n.event = run->event;
    memcpy(n.stamps, run->ev->stamps, sizeof n.stamps);
    VLOG_DBG("evaluator", "alarm %s (%s): %s -> %s on event %s (%s)",
             alarm->id, alarm->name, alarm_state_to_string(t.previous),
             alarm_state_to_string(t.current), run->ev->id, run->ev->type);
    for (size_t i = 0; i < e->n_sinks; i++) {
        delivery_sink_submit(e->sinks[i], &n);
    }
    run->notified++;
    evaluator_count(e->notifications);
    free(reason);
}

int
evaluator_process(struct evaluator *evaluator, const struct doctor_event *ev,
                  size_t *matched, size_t *notified)
{
    struct evaluator_run run = { .evaluator = evaluator, .ev = ev };

    evaluator_count(evaluator->events);
    alarm_store_match(evaluator->store, ev->type, ev->details, evaluator_hit,
                      &run);
    free(run.event);
    if (matched) {
        *matched = run.matched;
    }
    if (notified) {
        *notified = run.notified;
    }
    return run.error;
}
