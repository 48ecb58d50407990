/* correlator: ordering, de-duplication and hand-off of Doctor events (see
 * correlator.h). */
#include "correlator.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor_sender.h"
#include "event_log.h"
#include "host_fault.h"
#include "inventory.h"
#include "metrics.h"
#include "vlog.h"
#include "vtime.h"

#define MOD "correlator"

enum correlator_class {
    CORRELATOR_INSTANCE,
    CORRELATOR_HOST,
    CORRELATOR_OTHER,
    CORRELATOR_CLASS_COUNT
};

struct correlator {
    struct dedup *dedup;
    struct doctor_sender *sender;
    struct event_log *log;
    struct host_fault *host_fault;
    struct inventory *inventory;
    struct vlog_rate_limit rl;
    struct metrics_counter *m_verdicts[DEDUP_VERDICT_COUNT];
    struct metrics_counter *m_forwarded;
    struct metrics_counter *m_refused;
};

/* Builds the subject key of 'ev' for dedup: the type without its final
 * ".down"/".up" component, then the instance (for instance events) or the
 * host and, when present, the NIC or process named in the details. */
typedef void correlator_key_fn(const struct doctor_event *ev, char *key,
                               size_t size);

struct correlator_handler {
    const char *prefix;            /* type prefix; "" matches anything */
    const char *name;
    correlator_key_fn *key;
};

static size_t
correlator_stem_length(const char *type)
{
    const char *dot = strrchr(type, '.');

    return dot ? (size_t) (dot - type) : strlen(type);
}

static void
correlator_instance_key(const struct doctor_event *ev, char *key, size_t size)
{
    snprintf(key, size, "%.*s|%s", (int) correlator_stem_length(ev->type),
             ev->type, ev->instance_uuid);
}

static const char *
correlator_detail(const struct doctor_event *ev, const char *name)
{
    const char *value = json_string_value(json_object_get(ev->details, name));

    return value ? value : "";
}

static void
correlator_host_key(const struct doctor_event *ev, char *key, size_t size)
{
    snprintf(key, size, "%.*s|%s|%s|%s", (int) correlator_stem_length(ev->type),
             ev->type, ev->hostname, correlator_detail(ev, "interface"),
             correlator_detail(ev, "process"));
}

static const struct correlator_handler correlator_handlers[] = {
    [CORRELATOR_INSTANCE] = { "compute.instance.", "instance",
                              correlator_instance_key },
    [CORRELATOR_HOST] = { "compute.host.", "host", correlator_host_key },
    [CORRELATOR_OTHER] = { "", "other", correlator_host_key },
};

static enum correlator_class
correlator_classify(const struct doctor_event *ev)
{
    for (int i = 0; i < CORRELATOR_CLASS_COUNT; i++) {
        const char *prefix = correlator_handlers[i].prefix;

        if (!strncmp(ev->type, prefix, strlen(prefix))) {
            return (enum correlator_class) i;
        }
    }
    return CORRELATOR_OTHER;
}

struct correlator *
correlator_new(const struct correlator_options *o,
               struct doctor_sender *sender, struct event_log *log,
               struct metrics_registry *reg)
{
    struct correlator *c = calloc(1, sizeof *c);

    if (!c) {
        return NULL;
    }
    c->dedup = dedup_new(o->max_tracked, o->dedup_window_ns);
    if (!c->dedup) {
        free(c);
        return NULL;
    }
    c->sender = sender;
    c->log = log;
    c->host_fault = o->host_fault;
    c->inventory = o->inventory;
    c->rl = (struct vlog_rate_limit) VLOG_RATE_LIMIT_INIT(1, 5);
    if (reg) {
        for (int v = 0; v < DEDUP_VERDICT_COUNT; v++) {
            char labels[48];

            snprintf(labels, sizeof labels, "verdict=\"%s\"",
                     dedup_verdict_name((enum dedup_verdict) v));
            c->m_verdicts[v] = metrics_counter_new(reg,
                "vigil_inspector_events_total",
                "Events received, by what de-duplication made of them.",
                labels);
        }
        c->m_forwarded = metrics_counter_new(reg,
            "vigil_inspector_alarms_forwarded_total",
            "Events handed to the notifier as alarms.", NULL);
        c->m_refused = metrics_counter_new(reg,
            "vigil_inspector_alarms_refused_total",
            "Alarms refused because the notifier outbox was full.", NULL);
    }
    return c;
}

void
correlator_free(struct correlator *c)
{
    if (c) {
        dedup_free(c->dedup);
        free(c);
    }
}

static int
correlator_compare_time(const void *a, const void *b)
{
    const struct doctor_event *x = a, *y = b;

    return (x->time_ns > y->time_ns) - (x->time_ns < y->time_ns);
}

static void
correlator_record(struct correlator *c, const struct doctor_event *ev,
                  enum correlator_class cls, enum dedup_verdict verdict,
                  const char *outcome)
{
    json_t *entry = doctor_event_to_json(ev);

    if (!entry) {
        return;
    }
    json_object_set_new(entry, "class",
                        json_string(correlator_handlers[cls].name));
    json_object_set_new(entry, "verdict",
                        json_string(dedup_verdict_name(verdict)));
    if (outcome) {
        json_object_set_new(entry, "outcome", json_string(outcome));
    }
    event_log_append(c->log, entry);
}

/* What a monitor's event says about where VMs run. */
static void
correlator_feed_inventory(struct correlator *c, const struct doctor_event *ev,
                          enum correlator_class cls)
{
    const char *domains;

    if (!c->inventory || !ev->hostname[0]) {
        return;
    }
    if (cls == CORRELATOR_INSTANCE && ev->instance_uuid[0]) {
        inventory_set(c->inventory, ev->instance_uuid, ev->hostname);
    }
    domains = json_string_value(json_object_get(ev->details, "domains"));
    if (domains && inventory_merge_domains(c->inventory, ev->hostname,
                                           domains, NULL) == -EINVAL) {
        vlog_write_rl(&c->rl, VLOG_LEVEL_WARN, MOD, "event %s from %s: "
                      "\"domains\" is not a list of UUIDs; ignored", ev->id,
                      ev->hostname);
    }
}

/* Hands the 'n' events of 'out' to the notifier, stamped T06. */
static int
correlator_flush(struct correlator *c, struct doctor_event *out, size_t *n,
                 struct correlator_summary *summary)
{
    int64_t now = vtime_mono_ns();
    int ret;

    if (!*n) {
        return 0;
    }
    for (size_t i = 0; i < *n; i++) {
        out[i].stamps[DOCTOR_T06] = now;
    }
    ret = doctor_sender_send(c->sender, out, *n);
    if (ret == 0) {
        summary->forwarded += *n;
        metrics_counter_add(c->m_forwarded, *n);
    } else {
        summary->refused += *n;
        metrics_counter_add(c->m_refused, *n);
    }
    *n = 0;
    return ret;
}

int
correlator_handle(struct correlator *c, struct doctor_event *events,
                  size_t length, struct correlator_summary *summary)
{
    struct doctor_event *out;
    size_t n = 0;
    int ret = 0;

    memset(summary, 0, sizeof *summary);
    out = calloc(length ? length : 1, sizeof *out);
    if (!out) {
        return -ENOMEM;
    }
    /* A stable order for events of one request: by their own time. */
    qsort(events, length, sizeof *events, correlator_compare_time);
    for (size_t i = 0; i < length; i++) {
        struct doctor_event *ev = &events[i];
        enum correlator_class cls = correlator_classify(ev);
        const char *state = doctor_event_is_fault(ev) ? "down" : "up";
        const char *outcome = NULL;
        enum dedup_verdict verdict;
        char key[DOCTOR_TYPE_SIZE + DOCTOR_HOSTNAME_SIZE + 2 * 1024];
        bool fresh;

        correlator_feed_inventory(c, ev, cls);
        correlator_handlers[cls].key(ev, key, sizeof key);
        verdict = dedup_check(c->dedup, key, state, ev->time_ns,
                              vtime_mono_ns());
        summary->verdicts[verdict]++;
        metrics_counter_add(c->m_verdicts[verdict], 1);
        fresh = verdict == DEDUP_NEW || verdict == DEDUP_UNTRACKED;
        if (c->host_fault && host_fault_handles(ev)
            && verdict != DEDUP_STALE) {
            enum host_fault_outcome hfo;
            int r;

            /* Events before it in this request go first. */
            r = correlator_flush(c, out, &n, summary);
            if (r && !ret) {
                ret = r;
            }
            r = host_fault_handle(c->host_fault, ev, &hfo);
            summary->host_events++;
            outcome = r ? "refused" : host_fault_outcome_name(hfo);
            if (r == -ENOBUFS || r == -ENOMEM) {
                summary->refused++;
                if (!ret) {
                    ret = r;
                }
            }
        } else if (fresh && c->host_fault
                   && host_fault_absorbs(c->host_fault, ev)) {
            summary->absorbed++;
            outcome = "absorbed";
        } else if (fresh) {
            out[n++] = *ev;   /* shallow: 'events' keeps ownership */
        }
        correlator_record(c, ev, cls, verdict, outcome);
    }
    {
        int r = correlator_flush(c, out, &n, summary);

        if (r && !ret) {
            ret = r;
        }
    }
    free(out);
    return ret;
}
