/* resv_notify: lifecycle transitions as Doctor events to the notifier
 * (see resv_notify.h). */
#include "resv_notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor_sender.h"
#include "resv_time.h"
#include "vlog.h"
#include "vtime.h"
#include "vuuid.h"

#define MOD "notify"

struct resv_notify {
    struct doctor_sender *sender;      /* NULL: log only */
    char url[512];
};

static struct vlog_rate_limit resv_notify_rl = VLOG_RATE_LIMIT_INIT(5, 20);
static struct vlog_rate_limit resv_notify_drop_rl =
    VLOG_RATE_LIMIT_INIT(1, 5);

/* The suffix of the event type ("start", ...). */
static const char *
resv_notify_suffix(enum resv_event_type type)
{
    const char *name = resv_event_type_name(type);
    const char *dot = strchr(name, '.');

    return dot ? dot + 1 : name;
}

static int
resv_notify_set_int(struct doctor_event *ev, const char *key, int64_t value)
{
    return json_object_set_new(ev->details, key,
                               json_integer((json_int_t) value)) ? -ENOMEM
                                                                 : 0;
}

static int
resv_notify_vector(struct doctor_event *ev, const char *prefix,
                   const struct capvec *vec)
{
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        char key[64];

        if (!vec->v[k]) {
            continue;
        }
        snprintf(key, sizeof key, "%s_%s", prefix,
                 capvec_key_name((enum capvec_key) k));
        if (resv_notify_set_int(ev, key, vec->v[k])) {
            return -ENOMEM;
        }
    }
    return 0;
}

int
resv_notify_build(enum resv_event_type type, const struct resv_record *r,
                  const struct capvec *released, struct doctor_event *ev)
{
    char start[RESV_TIME_SIZE], end[RESV_TIME_SIZE];
    char event_id[VUUID_STRING_SIZE + 16];
    int ret;

    ret = doctor_event_init(ev);
    if (ret) {
        return ret;
    }
    snprintf(event_id, sizeof event_id, "%s:%s", r->id,
             resv_notify_suffix(type));
    snprintf(ev->type, sizeof ev->type, "%s", resv_event_type_name(type));
    ev->time_ns = vtime_real_ns();
    if (vuuid_generate(ev->id) ||
        doctor_event_set_detail(ev, "hostname", r->zone) ||
        doctor_event_set_detail(ev, "zone", r->zone) ||
        doctor_event_set_detail(ev, "status", resv_status_name(r->status)) ||
        doctor_event_set_detail(ev, "monitor", "vigil-reservation") ||
        doctor_event_set_detail(ev, "monitor_event_id", event_id) ||
        doctor_event_set_detail(ev, "reservation_id", r->id) ||
        doctor_event_set_detail(ev, "project_id", r->project_id) ||
        doctor_event_set_detail(ev, "name", r->name) ||
        doctor_event_set_detail(ev, "start",
                                resv_time_format(r->start, start,
                                                 sizeof start)) ||
        doctor_event_set_detail(ev, "end",
                                resv_time_format(r->end, end, sizeof end)) ||
        resv_notify_vector(ev, "capacity", &r->capacity) ||
        (type == RESV_EVENT_EXPIRED &&
         resv_notify_vector(ev, "released", released))) {
        doctor_event_clear(ev);
        return -ENOMEM;
    }
    return 0;
}

void
resv_notify_event(enum resv_event_type type, const struct resv_record *r,
                  const struct capvec *released, void *arg)
{
    struct resv_notify *n = arg;
    struct doctor_event ev;

    if (!n->sender) {
        vlog_write_rl(&resv_notify_rl, VLOG_LEVEL_INFO, MOD,
                      "%s: reservation %s in zone '%s' is %s",
                      resv_event_type_name(type), r->id, r->zone,
                      resv_status_name(r->status));
        return;
    }
    if (resv_notify_build(type, r, released, &ev)) {
        vlog_write_rl(&resv_notify_drop_rl, VLOG_LEVEL_WARN, MOD,
                      "out of memory: %s of reservation %s not sent",
                      resv_event_type_name(type), r->id);
        doctor_sender_count_dropped(n->sender, 1);
        return;
    }
    VLOG_DBG(MOD, "%s: reservation %s", ev.type, r->id);
    doctor_sender_send(n->sender, &ev, 1);
    doctor_event_clear(&ev);
}

static void
resv_notify_on_state(struct doctor_sender *sender,
                     const struct doctor_sender_state *state, void *arg)
{
    struct resv_notify *n = arg;

    if (state->reachable) {
        VLOG_INFO(MOD, "notifier at %s reachable again after %.1f s; "
                  "sending %zu queued event(s)", n->url,
                  (double) state->outage_ns / 1e9,
                  doctor_sender_queued(sender));
    } else if (state->changed) {
        VLOG_WARN(MOD, "notifier at %s unreachable (%s); holding events "
                  "and retrying", n->url, state->error ? state->error : "?");
    } else {
        vlog_write_rl(&resv_notify_drop_rl, VLOG_LEVEL_WARN, MOD,
                      "notifier at %s still unreachable (%s), %zu event(s) "
                      "held", n->url, state->error ? state->error : "?",
                      doctor_sender_queued(sender));
    }
}

static void
resv_notify_on_drop(struct doctor_sender *sender,
                    const struct doctor_sender_drop *drop, void *arg)
{
    struct resv_notify *n = arg;
    static const char *const why[DOCTOR_SENDER_DROP_REASON_COUNT] = {
        [DOCTOR_SENDER_DROP_FULL] = "the queue is full",
        [DOCTOR_SENDER_DROP_NOMEM] = "out of memory",
        [DOCTOR_SENDER_DROP_REJECTED] = "the notifier refused them",
        [DOCTOR_SENDER_DROP_SHUTDOWN] = "shutting down",
        [DOCTOR_SENDER_DROP_UPSTREAM] = "dropped upstream",
    };

    (void) sender;
    vlog_write_rl(&resv_notify_drop_rl, VLOG_LEVEL_WARN, MOD,
                  "%zu reservation event(s) for %s dropped: %s%s%s",
                  drop->length, n->url,
                  (unsigned) drop->reason < DOCTOR_SENDER_DROP_REASON_COUNT
                      ? why[drop->reason] : "?",
                  drop->answer && *drop->answer ? ": " : "",
                  drop->answer ? drop->answer : "");
}

struct resv_notify *
resv_notify_new(struct event_base *base, const struct resv_notify_options *o,
                int *error)
{
    struct resv_notify *n = calloc(1, sizeof *n);
    struct doctor_sender_options so;

    if (!n) {
        *error = -ENOMEM;
        return NULL;
    }
    if (!o->url || !*o->url) {
        return n;
    }
    snprintf(n->url, sizeof n->url, "%s", o->url);
    memset(&so, 0, sizeof so);
    so.url = o->url;
    so.queue_size = o->queue_size;
    so.timeout_ms = o->timeout_ms;
    so.retry.max_attempts = o->max_attempts;
    so.retry.initial_backoff_ms = o->initial_backoff_ms;
    so.retry.max_backoff_ms = o->max_backoff_ms;
    so.metrics = o->metrics;
    so.metrics_prefix = "vigil_reservation_notifier";
    so.latency_stamp = DOCTOR_T00;     /* never set: no latency histogram */
    so.on_state = resv_notify_on_state;
    so.on_drop = resv_notify_on_drop;
    so.arg = n;
    n->sender = doctor_sender_new(base, &so, error);
    if (!n->sender) {
        free(n);
        return NULL;
    }
    return n;
}

void
resv_notify_free(struct resv_notify *n)
{
    if (!n) {
        return;
    }
    doctor_sender_free(n->sender);
    free(n);
}

size_t
resv_notify_queued(const struct resv_notify *n)
{
    return n->sender ? doctor_sender_queued(n->sender) : 0;
}
