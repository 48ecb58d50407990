/* doctor_sender: batched, retried delivery of Doctor events (see
 * doctor_sender.h). */
#include "doctor_sender.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

struct doctor_batch {
    struct doctor_batch *next;
    struct doctor_sender *sender;
    char *body;
    size_t size;
    size_t length;                 /* events in the batch */
};

struct doctor_sender {
    struct httpc *client;
    struct doctor_sender_options o;
    char *url;
    struct doctor_batch *head;     /* outbox, oldest first */
    struct doctor_batch **tail;
    size_t queued;                 /* events in the outbox and in flight */
    size_t in_flight;              /* batches */
    bool reachable;
    bool stopping;
    unsigned int probe_backoff_ms;
    struct event *probe_timer;
    struct doctor_sender_stats stats;
    struct metrics_counter *m_sent, *m_rejected, *m_dropped, *m_failures;
    struct metrics_gauge *m_queued;
};

static void doctor_sender_pump(struct doctor_sender *s);

static void
doctor_batch_free(struct doctor_batch *b)
{
    if (b) {
        free(b->body);
        free(b);
    }
}

static void
doctor_sender_push_front(struct doctor_sender *s, struct doctor_batch *b)
{
    b->next = s->head;
    s->head = b;
    if (s->tail == &s->head) {
        s->tail = &b->next;
    }
}

static struct doctor_batch *
doctor_sender_pop(struct doctor_sender *s)
{
    struct doctor_batch *b = s->head;

    if (b) {
        s->head = b->next;
        if (!s->head) {
            s->tail = &s->head;
        }
        b->next = NULL;
    }
    return b;
}

/* Removes a finished batch's events from the queue count. */
static void
doctor_sender_settle(struct doctor_sender *s, struct doctor_batch *b)
{
    s->queued -= b->length;
    metrics_gauge_set(s->m_queued, (int64_t) s->queued);
    doctor_batch_free(b);
}

static void
doctor_sender_set_reachable(struct doctor_sender *s, bool reachable,
                            const char *error)
{
    if (s->reachable == reachable) {
        return;
    }
    s->reachable = reachable;
    if (reachable) {
        s->probe_backoff_ms = 0;
    }
    if (s->o.on_state) {
        s->o.on_state(s, reachable, error, s->o.arg);
    }
}

static bool
doctor_status_is_final_refusal(long status)
{
    return status >= 400 && status < 500 && status != 408 && status != 429;
}

static void
doctor_sender_done(const struct httpc_response *r, void *arg)
{
    struct doctor_batch *b = arg;
    struct doctor_sender *s = b->sender;
    char error[256];

    s->in_flight--;
    if (r->status == 0 && r->error && !strcmp(r->error, "cancelled")) {
        /* httpc_free() is tearing down: keep the batch for the count. */
        s->stopping = true;
        doctor_sender_push_front(s, b);
        return;
    }
    if (r->status >= 200 && r->status < 300) {
        s->stats.sent += b->length;
        metrics_counter_add(s->m_sent, b->length);
        doctor_sender_settle(s, b);
        doctor_sender_set_reachable(s, true, NULL);
    } else if (doctor_status_is_final_refusal(r->status)) {
        s->stats.rejected += b->length;
        metrics_counter_add(s->m_rejected, b->length);
        doctor_sender_settle(s, b);
    } else {
        s->stats.failures++;
        metrics_counter_add(s->m_failures, 1);
        doctor_sender_push_front(s, b);
        if (r->error) {
            snprintf(error, sizeof error, "%s", r->error);
        } else {
            snprintf(error, sizeof error, "HTTP %ld", r->status);
        }
        if (!s->stopping) {
            doctor_sender_set_reachable(s, false, error);
        }
    }
    if (!s->stopping) {
        doctor_sender_pump(s);
    }
}

/* Submits 'b' to httpc; on refusal puts it back at the head. */
static int
doctor_sender_submit(struct doctor_sender *s, struct doctor_batch *b)
{
    static const char *const headers[] = {
        "Content-Type: application/json", "Accept: application/json", NULL
    };
    struct httpc_request req = {
        .method = s->o.method,
        .url = s->url,
        .body = b->body,
        .body_size = b->size,
        .headers = headers,
        .retry = &s->o.retry,
        .timeout_ms = s->o.timeout_ms,
    };
    int ret = httpc_submit(s->client, &req, doctor_sender_done, b);

    if (ret) {
        doctor_sender_push_front(s, b);
        return ret;
    }
    s->in_flight++;
    return 0;
}

static void
doctor_sender_probe(evutil_socket_t fd, short what, void *arg)
{
    struct doctor_sender *s = arg;
    struct doctor_batch *b = doctor_sender_pop(s);

    (void) fd;
    (void) what;
    if (b && doctor_sender_submit(s, b)) {
        doctor_sender_pump(s);
    }
}

static void
doctor_sender_arm_probe(struct doctor_sender *s)
{
    struct timeval tv;
    unsigned int cap = s->o.probe_backoff_max_ms;

    if (evtimer_pending(s->probe_timer, NULL)) {
        return;
    }
    s->probe_backoff_ms = s->probe_backoff_ms ? s->probe_backoff_ms * 2
                                              : s->o.retry.initial_backoff_ms;
    if (s->probe_backoff_ms == 0) {
        s->probe_backoff_ms = 50;
    }
    if (s->probe_backoff_ms > cap) {
        s->probe_backoff_ms = cap;
    }
    tv.tv_sec = s->probe_backoff_ms / 1000;
    tv.tv_usec = (s->probe_backoff_ms % 1000) * 1000;
    evtimer_add(s->probe_timer, &tv);
}

static void
doctor_sender_pump(struct doctor_sender *s)
{
    if (!s->reachable) {
        /* One probe at a time while the peer is down. */
        if (s->in_flight == 0 && s->head) {
            doctor_sender_arm_probe(s);
        }
        return;
    }
    while (s->head && s->in_flight < s->o.max_in_flight) {
        if (doctor_sender_submit(s, doctor_sender_pop(s))) {
            break;   /* httpc is full: the next completion pumps again */
        }
    }
}

static char *
doctor_sender_name(const char *prefix, const char *suffix, char *buf,
                   size_t size)
{
    snprintf(buf, size, "%s_%s", prefix, suffix);
    return buf;
}

static void
doctor_sender_register_metrics(struct doctor_sender *s)
{
    struct metrics_registry *reg = s->o.metrics;
    const char *p = s->o.metrics_prefix ? s->o.metrics_prefix : "doctor_sender";
    char name[128];

    if (!reg) {
        return;
    }
    s->m_sent = metrics_counter_new(reg,
        doctor_sender_name(p, "events_sent_total", name, sizeof name),
        "Events acknowledged by the peer.", NULL);
    s->m_rejected = metrics_counter_new(reg,
        doctor_sender_name(p, "events_rejected_total", name, sizeof name),
        "Events the peer refused with a 4xx status.", NULL);
    s->m_dropped = metrics_counter_new(reg,
        doctor_sender_name(p, "events_dropped_total", name, sizeof name),
        "Events dropped because the outbox was full.", NULL);
    s->m_failures = metrics_counter_new(reg,
        doctor_sender_name(p, "batch_failures_total", name, sizeof name),
        "Batches that failed after the HTTP client's retries.", NULL);
    s->m_queued = metrics_gauge_new(reg,
        doctor_sender_name(p, "queue_depth", name, sizeof name),
        "Events waiting for the peer's acknowledgement.", NULL);
}

struct doctor_sender *
doctor_sender_new(struct event_base *base, struct httpc *client,
                  const struct doctor_sender_options *o)
{
    struct doctor_sender *s = NULL;

    if (!o->url || !o->max_queue || !client) {
        goto fail;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        goto fail;
    }
    s->client = client;
    s->o = *o;
    s->o.method = o->method ? o->method : "POST";
    s->o.max_in_flight = o->max_in_flight ? o->max_in_flight : 16;
    s->o.probe_backoff_max_ms = o->probe_backoff_max_ms
                                ? o->probe_backoff_max_ms : 5000;
    if (s->o.retry.max_attempts == 0) {
        s->o.retry.max_attempts = 1;
    }
    s->url = strdup(o->url);
    s->tail = &s->head;
    s->reachable = true;
    s->probe_timer = evtimer_new(base, doctor_sender_probe, s);
    if (!s->url || !s->probe_timer) {
        goto fail;
    }
    doctor_sender_register_metrics(s);
    return s;
fail:
    doctor_sender_free(s);
    return NULL;
}

void
doctor_sender_free(struct doctor_sender *s)
{
    struct doctor_batch *b;

    if (!s) {
        return;
    }
    s->stopping = true;
    while ((b = doctor_sender_pop(s))) {
        s->stats.dropped += b->length;
        doctor_batch_free(b);
    }
    if (s->probe_timer) {
        event_free(s->probe_timer);
    }
    free(s->url);
    free(s);
}

int
doctor_sender_send(struct doctor_sender *s, const struct doctor_event *events,
                   size_t length)
{
    struct doctor_batch *b = NULL;
    json_t *list = NULL;
    int ret = -ENOMEM;

    if (length == 0) {
        return -EINVAL;
    }
    if (s->queued + length > s->o.max_queue) {
        s->stats.dropped += length;
        metrics_counter_add(s->m_dropped, length);
        return -ENOBUFS;
    }
    list = json_array();
    b = calloc(1, sizeof *b);
    if (!list || !b) {
        goto out;
    }
    for (size_t i = 0; i < length; i++) {
        if (json_array_append_new(list, doctor_event_to_json(&events[i]))) {
            goto out;
        }
    }
    b->body = json_dumps(list, JSON_COMPACT);
    if (!b->body) {
        goto out;
    }
    b->size = strlen(b->body);
    b->length = length;
    b->sender = s;
    *s->tail = b;
    s->tail = &b->next;
    b = NULL;
    s->queued += length;
    metrics_gauge_set(s->m_queued, (int64_t) s->queued);
    doctor_sender_pump(s);
    ret = 0;
out:
    doctor_batch_free(b);
    json_decref(list);
    return ret;
}

size_t
doctor_sender_queued(const struct doctor_sender *s)
{
    return s->queued;
}

void
doctor_sender_get_stats(const struct doctor_sender *s,
                        struct doctor_sender_stats *stats)
{
    *stats = s->stats;
}
