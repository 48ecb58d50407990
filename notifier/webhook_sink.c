/* webhook_sink: Aodh-style webhooks over httpc (see webhook_sink.h). */
#include "webhook_sink.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "vlog.h"
#include "vtime.h"
#include "vuuid.h"

#define WEBHOOK_DEFAULT_MAX_QUEUED 100000
#define WEBHOOK_REQUEST_ID_SIZE (4 + VUUID_STRING_SIZE)

/* One POST of one notification to one URL. */
struct webhook_item {
    struct webhook_item *next;     /* in the FIFO */
    struct webhook_sink *sink;
    char *url;
    char *body;                    /* the body up to T08 (delivery.h) */
    size_t body_length;
    size_t stamps;                 /* profiler stamps in 'body' */
    char alarm_id[VUUID_STRING_SIZE];
    char request_id[WEBHOOK_REQUEST_ID_SIZE];
};

struct webhook_sink {
    struct delivery_sink up;       /* first: the interface */
    struct httpc *client;
    struct httpc_retry retry;
    size_t max_queued;
    struct webhook_item *queue_head, *queue_tail;
    size_t queued;
    size_t in_flight;
    size_t abandoned;              /* cancelled by shutdown */
    bool closing;

    struct metrics_counter *sent;
    struct metrics_counter *succeeded;
    struct metrics_counter *failed;
    struct metrics_counter *retried;
    struct metrics_counter *dropped;
    struct metrics_gauge *depth;
    struct metrics_histogram *latency;
};

static struct vlog_rate_limit webhook_fail_rl = VLOG_RATE_LIMIT_INIT(5, 20);
static struct vlog_rate_limit webhook_drop_rl = VLOG_RATE_LIMIT_INIT(1, 5);

static struct webhook_sink *
webhook_sink_cast(const struct delivery_sink *sink)
{
    return (struct webhook_sink *) sink;
}

/* Metric updates that accept a NULL metric (no registry). */
static void
webhook_count(struct metrics_counter *c, uint64_t n)
{
    if (c && n) {
        metrics_counter_add(c, n);
    }
}

static void
webhook_update_depth(struct webhook_sink *s)
{
    if (s->depth) {
        metrics_gauge_set(s->depth, (int64_t) (s->in_flight + s->queued));
    }
}

/* Writes the host and path of 'url' (no user info, query or fragment) to
 * 'buf', for logs. */
static const char *
webhook_log_url(const char *url, char *buf, size_t size)
{
    const char *start = strstr(url, "://"), *at, *end;

    start = start ? start + 3 : url;
    end = start + strcspn(start, "/?#");
    at = memchr(start, '@', end - start);
    if (at) {
        start = at + 1;
    }
    snprintf(buf, size, "%.*s", (int) strcspn(start, "?#"), start);
    return buf;
}

static void
webhook_item_free(struct webhook_item *item)
{
    if (item) {
        free(item->url);
        free(item->body);
        free(item);
    }
}

static void webhook_done(const struct httpc_response *response, void *arg);

/* Stamps T08 and hands 'item' to httpc. 0 (httpc owns the request and
 * will call webhook_done) or the negative errno of httpc_submit. */
static int
webhook_send(struct webhook_sink *s, struct webhook_item *item)
{
    char request_id_header[32 + WEBHOOK_REQUEST_ID_SIZE];
    const char *headers[] = {
        "Content-Type: application/json", request_id_header, NULL,
    };
    struct httpc_request request = {
        .method = "POST",
        .url = item->url,
        .headers = headers,
        .retry = &s->retry,
    };
    struct jsonw w;
    char *text;
    int ret;

    snprintf(request_id_header, sizeof request_id_header,
             "x-openstack-request-id: %s", item->request_id);
    jsonw_init(&w, item->body_length + 48);
    jsonw_raw(&w, item->body, item->body_length);
    delivery_body_end(&w, item->stamps, vtime_mono_ns());
    text = jsonw_finish(&w, &request.body_size);
    if (!text) {
        return -ENOMEM;
    }
    request.body = text;
    ret = httpc_submit(s->client, &request, webhook_done, item);
    free(text);
    if (!ret) {
        s->in_flight++;
        webhook_count(s->sent, 1);
    }
    return ret;
}

/* Counts and logs a delivery that will not happen. */
static void
webhook_lost(struct webhook_sink *s, struct webhook_item *item, int error)
{
    char where[256];

    webhook_log_url(item->url, where, sizeof where);
    if (error == -ENOBUFS) {
        webhook_count(s->dropped, 1);
        vlog_write_rl(&webhook_drop_rl, VLOG_LEVEL_WARN, "webhook",
                      "queue full (%zu in flight, %zu queued): dropped the "
                      "notification of alarm %s to %s", s->in_flight,
                      s->queued, item->alarm_id, where);
    } else {
        webhook_count(s->failed, 1);
        vlog_write_rl(&webhook_fail_rl, VLOG_LEVEL_WARN, "webhook",
                      "cannot send the notification of alarm %s to %s: %s",
                      item->alarm_id, where, strerror(-error));
    }
}

static void
webhook_enqueue(struct webhook_sink *s, struct webhook_item *item)
{
    item->next = NULL;
    if (s->queue_tail) {
        s->queue_tail->next = item;
    } else {
        s->queue_head = item;
    }
    s->queue_tail = item;
    s->queued++;
}

/* Sends queued items while httpc takes them. */
static void
webhook_drain(struct webhook_sink *s)
{
    while (s->queue_head && !s->closing) {
        struct webhook_item *item = s->queue_head;
        int ret = webhook_send(s, item);

        if (ret == -ENOBUFS || ret == -ECANCELED) {
            break;
        }
        s->queue_head = item->next;
        if (!s->queue_head) {
            s->queue_tail = NULL;
        }
        s->queued--;
        if (ret) {
            webhook_lost(s, item, ret);
            webhook_item_free(item);
        }
    }
    webhook_update_depth(s);
}

static void
webhook_done(const struct httpc_response *response, void *arg)
{
    struct webhook_item *item = arg;
    struct webhook_sink *s = item->sink;
    char where[256];

    s->in_flight--;
    if (response->attempts > 1) {
        webhook_count(s->retried, response->attempts - 1);
    }
    if (s->closing) {
        s->abandoned++;
    } else if (response->status >= 200 && response->status < 300) {
        webhook_count(s->succeeded, 1);
        if (s->latency) {
            metrics_histogram_observe(s->latency,
                                      (double) (response->completed_ns -
                                                response->submitted_ns) / 1e9);
        }
        VLOG_DBG("webhook", "alarm %s delivered to %s (%ld, %u attempts)",
                 item->alarm_id, webhook_log_url(item->url, where,
                                                 sizeof where),
                 response->status, response->attempts);
    } else {
        webhook_count(s->failed, 1);
        webhook_log_url(item->url, where, sizeof where);
        if (response->error) {
            vlog_write_rl(&webhook_fail_rl, VLOG_LEVEL_WARN, "webhook",
                          "delivery of alarm %s to %s failed after %u "
                          "attempts: %s", item->alarm_id, where,
                          response->attempts, response->error);
        } else {
            vlog_write_rl(&webhook_fail_rl, VLOG_LEVEL_WARN, "webhook",
                          "delivery of alarm %s to %s failed after %u "
                          "attempts: HTTP %ld", item->alarm_id, where,
                          response->attempts, response->status);
        }
    }
    webhook_item_free(item);
    webhook_drain(s);
}

static int
webhook_submit(struct delivery_sink *sink,
               const struct delivery_notification *n)
{
    struct webhook_sink *s = webhook_sink_cast(sink);
    const struct alarm_actions *actions = &n->alarm->actions[n->current];
    struct jsonw w;
    size_t stamps, length;
    char *body;
    int ret = 0;

    if (actions->length == 0 || s->closing) {
        return 0;
    }
    jsonw_init(&w, 1024);
    stamps = delivery_body_begin(&w, n);
    body = jsonw_finish(&w, &length);
    if (!body) {
        webhook_count(s->failed, actions->length);
        return -ENOMEM;
    }
    for (size_t i = 0; i < actions->length; i++) {
        struct webhook_item *item = calloc(1, sizeof *item);
        char uuid[VUUID_STRING_SIZE];
        int err = -ENOMEM;

        if (!item || !(item->url = strdup(actions->urls[i]))
            || !(item->body = i + 1 == actions->length ? body
                              : strdup(body))) {
            if (item) {
                free(item->url);
            }
            free(item);
            webhook_count(s->failed, 1);
            ret = -ENOMEM;
            continue;
        }
        if (item->body == body) {
            body = NULL;            /* the last URL's item owns it */
        }
        item->sink = s;
        item->body_length = length;
        item->stamps = stamps;
        memcpy(item->alarm_id, n->alarm->id, sizeof item->alarm_id);
        if (vuuid_generate(uuid)) {
            memcpy(uuid, n->notification_id, sizeof uuid);
        }
        snprintf(item->request_id, sizeof item->request_id, "req-%s", uuid);
        if (!s->queue_head) {
            err = webhook_send(s, item);
            if (!err) {
                continue;
            }
        }
        if (s->queue_head || err == -ENOBUFS) {
            if (s->queued < s->max_queued) {
                webhook_enqueue(s, item);
                continue;
            }
            err = -ENOBUFS;
        }
        webhook_lost(s, item, err);
        webhook_item_free(item);
        ret = err;
    }
    free(body);
    webhook_update_depth(s);
    return ret;
}

static void
webhook_free(struct delivery_sink *sink)
{
    struct webhook_sink *s = webhook_sink_cast(sink);
    struct webhook_item *item, *next;
    size_t lost;

    s->closing = true;
    httpc_free(s->client);          /* runs webhook_done for each request */
    for (item = s->queue_head; item; item = next) {
        next = item->next;
        webhook_item_free(item);
    }
    lost = s->abandoned + s->queued;
    if (lost) {
        VLOG_WARN("webhook", "%zu webhook deliveries abandoned at shutdown "
                  "(%zu in flight, %zu queued)", lost, s->abandoned,
                  s->queued);
    }
    free(s);
}

size_t
webhook_sink_pending(const struct delivery_sink *sink)
{
    const struct webhook_sink *s = webhook_sink_cast(sink);

    return s->in_flight + s->queued;
}

struct delivery_sink *
webhook_sink_new(struct event_base *base,
                 const struct webhook_sink_options *opts,
                 struct metrics_registry *metrics)
{
    static const char labels[] = "sink=\"webhook\"";
    struct webhook_sink *s = calloc(1, sizeof *s);

    if (!s) {
        return NULL;
    }
    s->up.name = "webhook";
    s->up.submit = webhook_submit;
    s->up.free = webhook_free;
    s->retry = opts->retry;
    if (s->retry.max_attempts == 0) {
        s->retry.max_attempts = 1;
    }
    s->max_queued = opts->max_queued ? opts->max_queued
                                     : WEBHOOK_DEFAULT_MAX_QUEUED;
    s->client = httpc_new(base, &opts->http);
    if (!s->client) {
        free(s);
        return NULL;
    }
    if (metrics) {
        s->sent = metrics_counter_new(metrics,
            "vigil_notifier_deliveries_sent_total",
            "Webhook POSTs handed to the HTTP client.", labels);
        s->succeeded = metrics_counter_new(metrics,
            "vigil_notifier_deliveries_succeeded_total",
            "Webhook deliveries answered with 2xx.", labels);
        s->failed = metrics_counter_new(metrics,
            "vigil_notifier_deliveries_failed_total",
            "Webhook deliveries that failed after their last attempt.",
            labels);
        s->retried = metrics_counter_new(metrics,
            "vigil_notifier_deliveries_retried_total",
            "Webhook attempts beyond the first.", labels);
        s->dropped = metrics_counter_new(metrics,
            "vigil_notifier_deliveries_dropped_total",
            "Webhook deliveries dropped because every queue was full.",
            labels);
        s->depth = metrics_gauge_new(metrics,
            "vigil_notifier_delivery_queue_depth",
            "Webhook deliveries in flight or queued.", labels);
        s->latency = metrics_histogram_new(metrics,
            "vigil_notifier_delivery_latency_seconds",
            "Time from handing a webhook to the HTTP client to its 2xx "
            "answer, retries included.", labels, metrics_latency_bounds,
            metrics_latency_bounds_length);
        if (!s->sent || !s->succeeded || !s->failed || !s->retried ||
            !s->dropped || !s->depth || !s->latency) {
            webhook_free(&s->up);
            return NULL;
        }
    }
    return &s->up;
}
