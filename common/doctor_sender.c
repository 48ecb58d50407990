/* doctor_sender: one ordered, bounded, retrying pipe of Doctor events to an
 * HTTP peer (see doctor_sender.h).
 *
 * The pipe is IDLE (nothing in flight: a hand-over sends at once), SENDING
 * (one httpc request in flight: hand-overs queue up behind it) or BACKOFF
 * (the last request failed after its retries: a timer re-sends). The
 * events of the request in flight stay in 'inflight' and count against
 * queue_size, so putting them back at the head after a failure never
 * overflows the queue. */
#include "doctor_sender.h"

#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "metrics.h"
#include "vtime.h"

#define DOCTOR_SENDER_MAX_SHIFT 16

enum doctor_sender_pipe {
    DOCTOR_SENDER_IDLE,
    DOCTOR_SENDER_SENDING,
    DOCTOR_SENDER_BACKOFF,
    DOCTOR_SENDER_PIPE_COUNT
};

struct doctor_sender_entry {
    struct doctor_sender_entry *next;
    char *json;                 /* one serialised event */
    size_t size;
    int64_t stamp_ns;           /* options.latency_stamp, 0 when unset */
};

/* A FIFO of entries. */
struct doctor_sender_list {
    struct doctor_sender_entry *head;
    struct doctor_sender_entry **tail;
    size_t length;
};

struct doctor_sender {
    /* As given, defaults filled in; 'url' and 'method' point to the copies
     * below, 'metrics' and 'metrics_prefix' are not used after creation. */
    struct doctor_sender_options o;
    char *url;
    char *method;
    struct httpc *client;
    struct event *timer;

    enum doctor_sender_pipe pipe;
    struct doctor_sender_list queue;     /* waiting */
    struct doctor_sender_list inflight;  /* in the request in flight */
    bool reachable;
    bool stopping;                       /* doctor_sender_free() runs */
    unsigned int failures;               /* consecutive failed requests */
    int64_t unreachable_ns;              /* since when, if unreachable */

    uint64_t reported;
    uint64_t failed;
    uint64_t requests;
    _Atomic uint64_t drops[DOCTOR_SENDER_DROP_REASON_COUNT];

    struct metrics_counter *m_reported;
    struct metrics_counter *m_failures;
    struct metrics_counter *m_dropped;
    struct metrics_gauge *m_depth;
    struct metrics_histogram *m_latency;
};

static void doctor_sender_pump(struct doctor_sender *s);

static void
doctor_sender_list_init(struct doctor_sender_list *l)
{
    l->head = NULL;
    l->tail = &l->head;
    l->length = 0;
}

static void
doctor_sender_list_append(struct doctor_sender_list *l,
                          struct doctor_sender_entry *e)
{
    e->next = NULL;
    *l->tail = e;
    l->tail = &e->next;
    l->length++;
}

static struct doctor_sender_entry *
doctor_sender_list_pop(struct doctor_sender_list *l)
{
    struct doctor_sender_entry *e = l->head;

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

/* Moves all of 'from' to the head (or the tail) of 'to', keeping the
 * order, and leaves 'from' empty. */
static void
doctor_sender_list_move(struct doctor_sender_list *to,
                        struct doctor_sender_list *from, bool at_head)
{
    if (!from->head) {
        return;
    }
    if (at_head) {
        *from->tail = to->head;
        if (!to->head) {
            to->tail = from->tail;
        }
        to->head = from->head;
    } else {
        *to->tail = from->head;
        to->tail = from->tail;
    }
    to->length += from->length;
    doctor_sender_list_init(from);
}

static void
doctor_sender_entry_free(struct doctor_sender_entry *e)
{
    if (e) {
        free(e->json);
        free(e);
    }
}

/* Frees every entry of 'l'; returns how many there were. */
static size_t
doctor_sender_list_clear(struct doctor_sender_list *l)
{
    struct doctor_sender_entry *e;
    size_t n = l->length;

    while ((e = doctor_sender_list_pop(l))) {
        doctor_sender_entry_free(e);
    }
    return n;
}

static size_t
doctor_sender_depth(const struct doctor_sender *s)
{
    return s->queue.length + s->inflight.length;
}

static void
doctor_sender_update_depth(struct doctor_sender *s)
{
    metrics_gauge_set(s->m_depth, (int64_t) doctor_sender_depth(s));
}

static void
doctor_sender_count(struct doctor_sender *s,
                    enum doctor_sender_drop_reason reason, uint64_t n)
{
    atomic_fetch_add(&s->drops[reason], n);
    metrics_counter_add(s->m_dropped, n);
}

/* Counts the drop 'd' and tells the daemon. */
static void
doctor_sender_drop(struct doctor_sender *s, const struct doctor_sender_drop *d)
{
    doctor_sender_count(s, d->reason, d->length);
    if (s->o.on_drop) {
        s->o.on_drop(s, d, s->o.arg);
    }
}

void
doctor_sender_count_dropped(struct doctor_sender *s, uint64_t n)
{
    doctor_sender_count(s, DOCTOR_SENDER_DROP_UPSTREAM, n);
}

/* The peer answered: ends an outage, if there was one. */
static void
doctor_sender_reached(struct doctor_sender *s, size_t delivered)
{
    struct doctor_sender_state st = { .reachable = true, .changed = true };

    s->failures = 0;
    if (s->reachable) {
        return;
    }
    s->reachable = true;
    st.outage_ns = vtime_mono_ns() - s->unreachable_ns;
    st.delivered = delivered;
    if (s->o.on_state) {
        s->o.on_state(s, &st, s->o.arg);
    }
}

/* Waits before the next send, longer after each consecutive failure. */
static void
doctor_sender_backoff(struct doctor_sender *s)
{
    unsigned int shift = s->failures > DOCTOR_SENDER_MAX_SHIFT
                         ? DOCTOR_SENDER_MAX_SHIFT : s->failures - 1;
    uint64_t ms = (uint64_t) s->o.retry.initial_backoff_ms << shift;
    struct timeval tv;

    if (ms > s->o.retry.max_backoff_ms) {
        ms = s->o.retry.max_backoff_ms;
    }
    tv.tv_sec = (time_t) (ms / 1000);
    tv.tv_usec = (suseconds_t) (ms % 1000) * 1000;
    s->pipe = DOCTOR_SENDER_BACKOFF;
    evtimer_add(s->timer, &tv);
}

/* The request failed after its retries ('why' says how): puts its events
 * back at the head of the queue, backs off and tells the daemon. */
static void
doctor_sender_failed(struct doctor_sender *s, const char *why)
{
    struct doctor_sender_state st = { .reachable = false, .error = why };
    int64_t now = vtime_mono_ns();

    s->failed++;
    metrics_counter_add(s->m_failures, 1);
    doctor_sender_list_move(&s->queue, &s->inflight, true);
    s->failures++;
    doctor_sender_backoff(s);
    st.changed = s->reachable;
    if (s->reachable) {
        s->reachable = false;
        s->unreachable_ns = now;
    }
    st.failures = s->failures;
    st.outage_ns = now - s->unreachable_ns;
    if (s->o.on_state) {
        s->o.on_state(s, &st, s->o.arg);
    }
}

/* 4xx that no re-send will change; 408 and 429 are worth retrying. */
static bool
doctor_sender_is_refusal(long status)
{
    return status >= 400 && status < 500 && status != 408 && status != 429;
}

static void
doctor_sender_on_done(const struct httpc_response *resp, void *arg)
{
    struct doctor_sender *s = arg;
    size_t n = s->inflight.length;
    struct doctor_sender_entry *e;
    struct doctor_sender_drop drop = { .reason = DOCTOR_SENDER_DROP_REJECTED };
    char why[128];

    if (resp->error && !strcmp(resp->error, "cancelled")) {
        /* doctor_sender_free() is tearing the client down. */
        doctor_sender_list_move(&s->queue, &s->inflight, true);
        s->pipe = DOCTOR_SENDER_IDLE;
        return;
    }
    if (!resp->error && resp->status >= 200 && resp->status < 300) {
        while ((e = doctor_sender_list_pop(&s->inflight))) {
            if (e->stamp_ns) {
                metrics_histogram_observe(
                    s->m_latency,
                    (double) (resp->completed_ns - e->stamp_ns) / 1e9);
            }
            doctor_sender_entry_free(e);
        }
        s->reported += n;
        metrics_counter_add(s->m_reported, n);
        doctor_sender_update_depth(s);
        s->pipe = DOCTOR_SENDER_IDLE;
        doctor_sender_reached(s, n);
    } else if (!resp->error && doctor_sender_is_refusal(resp->status)) {
        drop.length = doctor_sender_list_clear(&s->inflight);
        drop.status = resp->status;
        drop.answer = resp->body ? resp->body : "";
        doctor_sender_update_depth(s);
        s->pipe = DOCTOR_SENDER_IDLE;
        doctor_sender_reached(s, 0);
        doctor_sender_drop(s, &drop);
    } else {
        if (resp->error) {
            snprintf(why, sizeof why, "%s", resp->error);
        } else {
            snprintf(why, sizeof why, "HTTP %ld", resp->status);
        }
        doctor_sender_failed(s, why);
        doctor_sender_update_depth(s);
        return;
    }
    doctor_sender_pump(s);
}

/* Sends the head of the queue as one request, if the pipe is idle. */
static void
doctor_sender_pump(struct doctor_sender *s)
{
    static const char *const headers[] = {
        "Content-Type: application/json", "Accept: application/json", NULL
    };
    struct httpc_request req = { 0 };
    size_t size = 2;
    char *body, *p;
    int ret;

    if (s->pipe != DOCTOR_SENDER_IDLE || !s->queue.head || s->stopping) {
        return;
    }
    while (s->queue.head && s->inflight.length < s->o.batch_size &&
           (!s->inflight.length ||
            size + 1 + s->queue.head->size <= s->o.max_body_size)) {
        struct doctor_sender_entry *e = doctor_sender_list_pop(&s->queue);

        size += e->size + (s->inflight.length ? 1 : 0);
        doctor_sender_list_append(&s->inflight, e);
    }
    body = malloc(size + 1);
    if (!body) {
        doctor_sender_failed(s, "out of memory");
        return;
    }
    p = body;
    *p++ = '[';
    for (struct doctor_sender_entry *e = s->inflight.head; e; e = e->next) {
        if (e != s->inflight.head) {
            *p++ = ',';
        }
        memcpy(p, e->json, e->size);
        p += e->size;
    }
    *p++ = ']';
    *p = '\0';
    req.method = s->method;
    req.url = s->url;
    req.body = body;
    req.body_size = size;
    req.headers = headers;
    req.retry = &s->o.retry;
    req.timeout_ms = s->o.timeout_ms;
    ret = httpc_submit(s->client, &req, doctor_sender_on_done, s);
    free(body);
    if (ret) {
        doctor_sender_failed(s, strerror(-ret));
        return;
    }
    s->requests++;
    s->pipe = DOCTOR_SENDER_SENDING;
}

static void
doctor_sender_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct doctor_sender *s = arg;

    (void) fd;
    (void) what;
    s->pipe = DOCTOR_SENDER_IDLE;
    doctor_sender_pump(s);
}

/* Writes PREFIX_SUFFIX into 'name'; false when it does not fit. */
static bool
doctor_sender_metric_name(char *name, size_t size, const char *prefix,
                          const char *suffix)
{
    int n = snprintf(name, size, "%s_%s", prefix, suffix);

    return n > 0 && (size_t) n < size;
}

static int
doctor_sender_register_metrics(struct doctor_sender *s,
                               struct metrics_registry *reg,
                               const char *prefix)
{
    char name[5][160];
    static const char *const suffixes[5] = {
        "events_reported_total", "report_failures_total",
        "events_dropped_total", "queue_depth", "report_latency_seconds",
    };

    for (size_t i = 0; i < 5; i++) {
        if (!doctor_sender_metric_name(name[i], sizeof name[i], prefix,
                                       suffixes[i])) {
            return -EINVAL;
        }
    }
    s->m_reported = metrics_counter_new(reg, name[0],
        "Events the peer acknowledged", NULL);
    s->m_failures = metrics_counter_new(reg, name[1],
        "Requests to the peer that failed after their retries", NULL);
    s->m_dropped = metrics_counter_new(reg, name[2],
        "Events dropped: queue full, refused by the peer, left at "
        "shutdown, or lost before reaching the queue", NULL);
    s->m_depth = metrics_gauge_new(reg, name[3],
        "Events waiting for or in a request to the peer", NULL);
    s->m_latency = metrics_histogram_new(reg, name[4],
        "From the event's profiler stamp to the peer's acknowledgement",
        NULL, metrics_latency_bounds, metrics_latency_bounds_length);
    if (!s->m_reported || !s->m_failures || !s->m_dropped || !s->m_depth ||
        !s->m_latency) {
        return -ENOMEM;
    }
    return 0;
}

static bool
doctor_sender_valid_options(const struct doctor_sender_options *o)
{
    return o && o->url && (!strncasecmp(o->url, "http://", 7) ||
                           !strncasecmp(o->url, "https://", 8)) &&
           (!o->method || !strcmp(o->method, "POST") ||
            !strcmp(o->method, "PUT")) &&
           o->queue_size >= 1 && o->batch_size <= DOCTOR_MAX_EVENTS &&
           o->timeout_ms >= 0 && o->retry.max_attempts >= 1 &&
           o->retry.initial_backoff_ms >= 1 &&
           o->retry.max_backoff_ms >= o->retry.initial_backoff_ms &&
           (!o->metrics || o->metrics_prefix) &&
           (unsigned int) o->latency_stamp < DOCTOR_STAMP_COUNT;
}

struct doctor_sender *
doctor_sender_new(struct event_base *base,
                  const struct doctor_sender_options *o, int *error)
{
    struct httpc_options http = { 0 };
    struct doctor_sender *s = NULL;
    int ret = -EINVAL;

    if (!base || !doctor_sender_valid_options(o)) {
        goto out;
    }
    ret = -ENOMEM;
    s = calloc(1, sizeof *s);
    if (!s) {
        goto out;
    }
    doctor_sender_list_init(&s->queue);
    doctor_sender_list_init(&s->inflight);
    s->o = *o;
    if (!s->o.batch_size) {
        s->o.batch_size = DOCTOR_SENDER_BATCH_SIZE;
    }
    if (!s->o.max_body_size) {
        s->o.max_body_size = DOCTOR_SENDER_MAX_BODY_SIZE;
    }
    s->o.url = s->url = strdup(o->url);
    s->o.method = s->method = strdup(o->method ? o->method : "POST");
    s->reachable = true;
    s->timer = evtimer_new(base, doctor_sender_on_timer, s);
    /* One request in flight, plus room for httpc's own bookkeeping. */
    http.max_pending = 4;
    http.timeout_ms = o->timeout_ms;
    s->client = httpc_new(base, &http);
    if (!s->url || !s->method || !s->timer || !s->client) {
        goto out;
    }
    if (o->metrics) {
        ret = doctor_sender_register_metrics(s, o->metrics,
                                             o->metrics_prefix);
        if (ret) {
            goto out;
        }
    }
    ret = 0;
out:
    if (ret) {
        doctor_sender_free(s);
        s = NULL;
        if (error) {
            *error = ret;
        }
    }
    return s;
}

void
doctor_sender_free(struct doctor_sender *s)
{
    struct doctor_sender_drop drop = { .reason = DOCTOR_SENDER_DROP_SHUTDOWN };

    if (!s) {
        return;
    }
    s->stopping = true;
    /* Cancelling puts the request in flight back at the head. */
    httpc_free(s->client);
    s->client = NULL;
    doctor_sender_list_move(&s->queue, &s->inflight, true);
    drop.length = s->queue.length;
    if (drop.length) {
        doctor_sender_drop(s, &drop);
    }
    doctor_sender_list_clear(&s->queue);
    doctor_sender_update_depth(s);
    if (s->timer) {
        event_free(s->timer);
    }
    free(s->url);
    free(s->method);
    free(s);
}

/* A queue entry for 'ev', or NULL when out of memory. */
static struct doctor_sender_entry *
doctor_sender_entry_new(const struct doctor_sender *s,
                        const struct doctor_event *ev)
{
    struct doctor_sender_entry *e = calloc(1, sizeof *e);
    json_t *obj = doctor_event_to_json(ev);

    if (e && obj) {
        e->json = json_dumps(obj, JSON_COMPACT);
    }
    json_decref(obj);
    if (!e || !e->json) {
        doctor_sender_entry_free(e);
        return NULL;
    }
    e->size = strlen(e->json);
    e->stamp_ns = ev->stamps[s->o.latency_stamp];
    return e;
}

int
doctor_sender_send(struct doctor_sender *s, const struct doctor_event *events,
                   size_t length)
{
    struct doctor_sender_drop drop = { .length = length, .events = events };
    struct doctor_sender_list batch;
    int ret = -EINVAL;

    doctor_sender_list_init(&batch);
    if (length == 0) {
        goto out;
    }
    ret = -ENOBUFS;
    if (length > s->o.queue_size - doctor_sender_depth(s)) {
        goto out;
    }
    ret = -ENOMEM;
    for (size_t i = 0; i < length; i++) {
        struct doctor_sender_entry *e = doctor_sender_entry_new(s,
                                                                &events[i]);

        if (!e) {
            goto out;
        }
        doctor_sender_list_append(&batch, e);
    }
    doctor_sender_list_move(&s->queue, &batch, false);
    doctor_sender_update_depth(s);
    doctor_sender_pump(s);
    ret = 0;
out:
    doctor_sender_list_clear(&batch);
    if (ret == -ENOBUFS || ret == -ENOMEM) {
        drop.reason = ret == -ENOBUFS ? DOCTOR_SENDER_DROP_FULL
                                      : DOCTOR_SENDER_DROP_NOMEM;
        doctor_sender_drop(s, &drop);
    }
    return ret;
}

size_t
doctor_sender_queued(const struct doctor_sender *s)
{
    return doctor_sender_depth(s);
}

void
doctor_sender_get_stats(const struct doctor_sender *s,
                        struct doctor_sender_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    stats->reported = s->reported;
    stats->failures = s->failed;
    stats->requests = s->requests;
    for (int i = 0; i < DOCTOR_SENDER_DROP_REASON_COUNT; i++) {
        stats->drops[i] = atomic_load(&s->drops[i]);
        stats->dropped += stats->drops[i];
    }
    stats->queued = doctor_sender_depth(s);
}
