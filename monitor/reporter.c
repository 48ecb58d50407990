/* reporter: the bounded, ordered, retrying path from vigil-monitor to the
 * inspector (see reporter.h).
 *
 * States: IDLE (nothing in flight: a submission sends at once), SENDING
 * (one httpc request in flight: submissions queue up behind it), BACKOFF
 * (the last request failed after its retries: a timer re-sends). The
 * events of the request in flight stay in 'inflight' and count against
 * queue_size, so putting them back at the head after a failure never
 * overflows the queue. */
#include "reporter.h"

#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "doctor_event.h"
#include "httpc.h"
#include "metrics.h"
#include "vlog.h"
#include "vtime.h"

#define REPORTER_MODULE "reporter"
#define REPORTER_STILL_DOWN_LOG_NS (30 * 1000000000LL)

enum reporter_state {
    REPORTER_IDLE,
    REPORTER_SENDING,
    REPORTER_BACKOFF,
    REPORTER_STATE_COUNT
};

struct reporter_entry {
    struct reporter_entry *next;
    char *json;                 /* one serialised event */
    size_t size;
    int64_t detected_ns;        /* T01, for the latency histogram */
};

/* A FIFO of entries. */
struct reporter_list {
    struct reporter_entry *head;
    struct reporter_entry **tail;
    size_t length;
};

struct reporter {
    struct event_base *base;
    struct httpc *client;
    struct event *timer;
    char *url;
    char *method;
    size_t queue_size;
    size_t batch_size;
    long timeout_ms;
    struct httpc_retry retry;
    unsigned int resend_initial_ms;
    unsigned int resend_max_ms;

    enum reporter_state state;
    struct reporter_list queue;      /* waiting */
    struct reporter_list inflight;   /* in the request in flight */
    unsigned int failures;           /* consecutive failed requests */
    int64_t unreachable_ns;          /* since when, 0 when reachable */
    int64_t last_down_log_ns;
    struct vlog_rate_limit drop_rl;

    _Atomic uint64_t reported;
    _Atomic uint64_t failed;
    _Atomic uint64_t dropped;
    _Atomic uint64_t requests;

    struct metrics_counter *reported_counter;
    struct metrics_counter *failures_counter;
    struct metrics_counter *dropped_counter;
    struct metrics_gauge *depth_gauge;
    struct metrics_histogram *latency;
};

static void reporter_send(struct reporter *r);

static void
reporter_list_init(struct reporter_list *l)
{
    l->head = NULL;
    l->tail = &l->head;
    l->length = 0;
}

static void
reporter_list_append(struct reporter_list *l, struct reporter_entry *e)
{
    e->next = NULL;
    *l->tail = e;
    l->tail = &e->next;
    l->length++;
}

static struct reporter_entry *
reporter_list_pop(struct reporter_list *l)
{
    struct reporter_entry *e = l->head;

    if (e) {
        l->head = e->next;
        if (!l->head) {
            l->tail = &l->head;
        }
        l->length--;
        e->next = NULL;
    }
    return e;
}

/* Moves all of 'from' in front of 'to', keeping the order. */
static void
reporter_list_prepend(struct reporter_list *to, struct reporter_list *from)
{
    if (!from->head) {
        return;
    }
    *from->tail = to->head;
    if (!to->head) {
        to->tail = from->tail;
    }
    to->head = from->head;
    to->length += from->length;
    reporter_list_init(from);
}

static void
reporter_entry_free(struct reporter_entry *e)
{
    if (e) {
        free(e->json);
        free(e);
    }
}

static size_t
reporter_list_clear(struct reporter_list *l)
{
    struct reporter_entry *e;
    size_t n = l->length;

    while ((e = reporter_list_pop(l))) {
        reporter_entry_free(e);
    }
    return n;
}

static size_t
reporter_depth(const struct reporter *r)
{
    return r->queue.length + r->inflight.length;
}

static void
reporter_update_depth(struct reporter *r)
{
    metrics_gauge_set(r->depth_gauge, (int64_t) reporter_depth(r));
}

void
reporter_count_dropped(struct reporter *r, uint64_t n)
{
    atomic_fetch_add(&r->dropped, n);
    metrics_counter_add(r->dropped_counter, n);
}

static int
reporter_register_metrics(struct reporter *r, struct metrics_registry *reg)
{
    r->reported_counter = metrics_counter_new(
        reg, "vigil_monitor_events_reported_total",
        "Events the inspector accepted", NULL);
    r->failures_counter = metrics_counter_new(
        reg, "vigil_monitor_report_failures_total",
        "Requests to the inspector that failed after their retries", NULL);
    r->dropped_counter = metrics_counter_new(
        reg, "vigil_monitor_events_dropped_total",
        "Events dropped: queue full, rejected by the inspector, or left "
        "at shutdown", NULL);
    r->depth_gauge = metrics_gauge_new(
        reg, "vigil_monitor_queue_depth",
        "Events waiting for or in a request to the inspector", NULL);
    r->latency = metrics_histogram_new(
        reg, "vigil_monitor_report_latency_seconds",
        "From detection (T01) to the inspector's acknowledgement", NULL,
        metrics_latency_bounds, metrics_latency_bounds_length);
    if (!r->reported_counter || !r->failures_counter || !r->dropped_counter ||
        !r->depth_gauge || !r->latency) {
        return -ENOMEM;
    }
    return 0;
}

static void
reporter_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct reporter *r = arg;

    (void) fd;
    (void) what;
    r->state = REPORTER_IDLE;
    reporter_send(r);
}

static bool
reporter_valid_options(const struct reporter_options *o)
{
    return o && o->url && o->queue_size >= 1 && o->batch_size >= 1 &&
           o->batch_size <= DOCTOR_MAX_EVENTS && o->retry_attempts >= 1 &&
           o->retry_initial_ms >= 1 &&
           o->retry_max_ms >= o->retry_initial_ms && o->timeout_ms >= 0 &&
           (!o->method || !strcmp(o->method, "POST") ||
            !strcmp(o->method, "PUT"));
}

struct reporter *
reporter_new(struct event_base *base, const struct reporter_options *options,
             int *error)
{
    struct httpc_options http = { 0 };
    struct reporter *r = NULL;
    int ret = -EINVAL;

    if (!base || !reporter_valid_options(options)) {
        goto out;
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        ret = -ENOMEM;
        goto out;
    }
    r->base = base;
    reporter_list_init(&r->queue);
    reporter_list_init(&r->inflight);
    r->queue_size = options->queue_size;
    r->batch_size = options->batch_size;
    r->timeout_ms = options->timeout_ms;
    r->retry.max_attempts = options->retry_attempts;
    r->retry.initial_backoff_ms = options->retry_initial_ms;
    r->retry.max_backoff_ms = options->retry_max_ms;
    r->resend_initial_ms = options->retry_initial_ms;
    r->resend_max_ms = options->retry_max_ms;
    r->drop_rl = (struct vlog_rate_limit) VLOG_RATE_LIMIT_INIT(1, 5);
    r->url = strdup(options->url);
    r->method = strdup(options->method ? options->method : "POST");
    if (!r->url || !r->method) {
        ret = -ENOMEM;
        goto out;
    }
    if (options->metrics) {
        ret = reporter_register_metrics(r, options->metrics);
        if (ret) {
            goto out;
        }
    }
    r->timer = evtimer_new(base, reporter_on_timer, r);
    if (!r->timer) {
        ret = -ENOMEM;
        goto out;
    }
    /* One request in flight, plus room for httpc's own bookkeeping. */
    http.max_pending = 4;
    http.timeout_ms = options->timeout_ms;
    r->client = httpc_new(base, &http);
    if (!r->client) {
        ret = -ENOMEM;
        goto out;
    }
    ret = 0;
out:
    if (ret) {
        reporter_free(r);
        r = NULL;
        if (error) {
            *error = ret;
        }
    }
    return r;
}

void
reporter_free(struct reporter *r)
{
    size_t left;

    if (!r) {
        return;
    }
    /* Cancelling puts the request in flight back into the queue. */
    httpc_free(r->client);
    r->client = NULL;
    reporter_list_prepend(&r->queue, &r->inflight);
    left = reporter_list_clear(&r->queue);
    if (left) {
        reporter_count_dropped(r, left);
        VLOG_WARN(REPORTER_MODULE, "%zu events not reported to %s at "
                  "shutdown", left, r->url);
    }
    reporter_update_depth(r);
    if (r->timer) {
        event_free(r->timer);
    }
    free(r->url);
    free(r->method);
    free(r);
}

int
reporter_submit(struct reporter *r, const struct doctor_event *ev)
{
    struct reporter_entry *e = NULL;
    json_t *obj = NULL;
    int ret = -ENOBUFS;

    if (reporter_depth(r) >= r->queue_size) {
        vlog_write_rl(&r->drop_rl, VLOG_LEVEL_WARN, REPORTER_MODULE,
                      "queue full (%zu events for %s): %s of instance %s "
                      "dropped", reporter_depth(r), r->url, ev->type,
                      ev->instance_uuid);
        goto out;
    }
    ret = -ENOMEM;
    e = calloc(1, sizeof *e);
    obj = doctor_event_to_json(ev);
    if (!e || !obj) {
        goto out;
    }
    e->json = json_dumps(obj, JSON_COMPACT);
    if (!e->json) {
        goto out;
    }
    e->size = strlen(e->json);
    e->detected_ns = ev->stamps[DOCTOR_T01];
    reporter_list_append(&r->queue, e);
    e = NULL;
    reporter_update_depth(r);
    if (r->state == REPORTER_IDLE) {
        reporter_send(r);
    }
    ret = 0;
out:
    if (ret) {
        reporter_count_dropped(r, 1);
        if (ret == -ENOMEM) {
            vlog_write_rl(&r->drop_rl, VLOG_LEVEL_ERR, REPORTER_MODULE,
                          "out of memory: %s of instance %s dropped",
                          ev->type, ev->instance_uuid);
        }
    }
    json_decref(obj);
    reporter_entry_free(e);
    return ret;
}

/* Waits before the next send, longer after each consecutive failure. */
static void
reporter_backoff(struct reporter *r)
{
    unsigned int shift = r->failures > 16 ? 16 : r->failures - 1;
    uint64_t ms = (uint64_t) r->resend_initial_ms << shift;
    struct timeval tv;

    if (ms > r->resend_max_ms) {
        ms = r->resend_max_ms;
    }
    tv.tv_sec = (time_t) (ms / 1000);
    tv.tv_usec = (suseconds_t) (ms % 1000) * 1000;
    r->state = REPORTER_BACKOFF;
    evtimer_add(r->timer, &tv);
}

/* The request failed after its retries ('why' says how): put its events
 * back at the head of the queue, log, and back off. */
static void
reporter_failed(struct reporter *r, const char *why)
{
    int64_t now = vtime_mono_ns();

    atomic_fetch_add(&r->failed, 1);
    metrics_counter_add(r->failures_counter, 1);
    reporter_list_prepend(&r->queue, &r->inflight);
    r->failures++;
    if (!r->unreachable_ns) {
        r->unreachable_ns = now;
        r->last_down_log_ns = now;
        VLOG_WARN(REPORTER_MODULE, "inspector at %s unreachable (%s): %zu "
                  "events queued, retrying", r->url, why, reporter_depth(r));
    } else if (now - r->last_down_log_ns >= REPORTER_STILL_DOWN_LOG_NS) {
        r->last_down_log_ns = now;
        VLOG_WARN(REPORTER_MODULE, "inspector at %s still unreachable after "
                  "%lld s (%s): %zu events queued, %llu dropped so far",
                  r->url, (long long) ((now - r->unreachable_ns) / 1000000000),
                  why, reporter_depth(r),
                  (unsigned long long) atomic_load(&r->dropped));
    }
    reporter_backoff(r);
}

static bool
reporter_is_rejection(long status)
{
    return status == 400 || status == 413 || status == 415 || status == 422;
}

static void
reporter_on_done(const struct httpc_response *resp, void *arg)
{
    struct reporter *r = arg;
    size_t n = r->inflight.length;
    char why[64];

    if (resp->error && !strcmp(resp->error, "cancelled")) {
        reporter_list_prepend(&r->queue, &r->inflight);
        r->state = REPORTER_IDLE;
        return;
    }
    if (!resp->error && resp->status >= 200 && resp->status < 300) {
        struct reporter_entry *e;

        while ((e = reporter_list_pop(&r->inflight))) {
            if (e->detected_ns) {
                metrics_histogram_observe(
                    r->latency, (double) (resp->completed_ns -
                                          e->detected_ns) / 1e9);
            }
            reporter_entry_free(e);
        }
        atomic_fetch_add(&r->reported, n);
        metrics_counter_add(r->reported_counter, n);
        if (r->unreachable_ns) {
            VLOG_INFO(REPORTER_MODULE, "inspector at %s reachable again after "
                      "%lld ms: %zu events delivered, %zu still queued",
                      r->url, (long long) ((vtime_mono_ns() -
                                            r->unreachable_ns) / 1000000),
                      n, r->queue.length);
            r->unreachable_ns = 0;
        }
        r->failures = 0;
    } else if (!resp->error && reporter_is_rejection(resp->status)) {
        reporter_count_dropped(r, reporter_list_clear(&r->inflight));
        vlog_write_rl(&r->drop_rl, VLOG_LEVEL_ERR, REPORTER_MODULE,
                      "inspector at %s rejected %zu events (HTTP %ld): %.200s",
                      r->url, n, resp->status, resp->body ? resp->body : "");
    } else {
        if (resp->error) {
            snprintf(why, sizeof why, "%s", resp->error);
        } else {
            snprintf(why, sizeof why, "HTTP %ld", resp->status);
        }
        reporter_failed(r, why);
        reporter_update_depth(r);
        return;
    }
    reporter_update_depth(r);
    r->state = REPORTER_IDLE;
    reporter_send(r);
}

/* Sends the head of the queue as one request, if idle and not empty. */
static void
reporter_send(struct reporter *r)
{
    static const char *const headers[] = {
        "Content-Type: application/json", NULL
    };
    struct httpc_request req = { 0 };
    size_t size = 2;
    char *body = NULL, *p;
    int ret;

    if (r->state != REPORTER_IDLE || !r->queue.head || !r->client) {
        return;
    }
    while (r->queue.head && r->inflight.length < r->batch_size &&
           (!r->inflight.length ||
            size + r->queue.head->size + 1 <= REPORTER_MAX_BODY_SIZE)) {
        struct reporter_entry *e = reporter_list_pop(&r->queue);

        size += e->size + (r->inflight.length ? 1 : 0);
        reporter_list_append(&r->inflight, e);
    }
    body = malloc(size + 1);
    if (!body) {
        reporter_failed(r, "out of memory");
        return;
    }
    p = body;
    *p++ = '[';
    for (struct reporter_entry *e = r->inflight.head; e; e = e->next) {
        if (e != r->inflight.head) {
            *p++ = ',';
        }
        memcpy(p, e->json, e->size);
        p += e->size;
    }
    *p++ = ']';
    *p = '\0';
    req.method = r->method;
    req.url = r->url;
    req.body = body;
    req.body_size = size;
    req.headers = headers;
    req.retry = &r->retry;
    req.timeout_ms = r->timeout_ms;
    ret = httpc_submit(r->client, &req, reporter_on_done, r);
    free(body);
    if (ret) {
        reporter_failed(r, ret == -EINVAL ? "invalid request" : "no memory");
        return;
    }
    atomic_fetch_add(&r->requests, 1);
    r->state = REPORTER_SENDING;
}

void
reporter_get_stats(const struct reporter *r, struct reporter_stats *stats)
{
    stats->reported = atomic_load(&r->reported);
    stats->failures = atomic_load(&r->failed);
    stats->dropped = atomic_load(&r->dropped);
    stats->requests = atomic_load(&r->requests);
    stats->queued = reporter_depth(r);
}
