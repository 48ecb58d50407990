/* vnfm: a sample VNFM's alarm endpoint, as OPNFV Doctor's consumer is.
 *
 * It subscribes to an Aodh-compatible notifier (vigil-notifier, or Aodh
 * itself) with an event alarm (POST /v2/alarms: type "event", an event type
 * pattern, an optional trait query, repeat_actions, and its own webhook URL
 * as the alarm action), then receives the webhooks on POST /alarm (any path
 * under /alarm). Each received alarm is stamped with the profiler's T09 on
 * arrival, validated (vnfm_alarm.h), recorded in a bounded list, optionally
 * appended to a JSON-lines file, logged, and handed to a callback.
 *
 * HTTP API (on the same server, with GET /metrics):
 *   POST   /alarm[/...]  webhook from the notifier (Aodh body); 200, or 400
 *   GET    /alarms       [{"seq", "received_mono_ns", "body"}, ...] oldest
 *                        first; "?after=SEQ" returns only later records,
 *                        "?limit=N" at most N (default 10000, max 100000)
 *   DELETE /alarms       forgets every record; 204
 *
 * Used by vigil-vnfm-sample (tests/consumer/main.c) and embedded by
 * bench/bench-vm-fault.c. Single-threaded: everything runs on the loop of
 * the event_base given to vnfm_new(). */
#ifndef VIGIL_VNFM_H
#define VIGIL_VNFM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vnfm_alarm.h"

struct event_base;
struct metrics_registry;

#define VNFM_DEFAULT_PORT 12346
#define VNFM_DEFAULT_MAX_ALARMS 100000
#define VNFM_DEFAULT_ALARM_NAME "vigil-vnfm-sample"
#define VNFM_DEFAULT_EVENT_TYPE "compute.instance.*"
#define VNFM_DEFAULT_SUBSCRIBE_ATTEMPTS 60
#define VNFM_MAX_QUERY_TERMS 8
#define VNFM_DEFAULT_LIST_LIMIT 10000
#define VNFM_MAX_LIST_LIMIT 100000
#define VNFM_URL_SIZE 512

struct vnfm_options {
    const char *address;        /* listen address; NULL: "127.0.0.1" */
    uint16_t port;              /* 0: any free port (see vnfm_port) */
    /* Webhook URL given to the notifier; NULL: "http://ADDRESS:PORT/alarm"
     * (set it when listening on a wildcard address). */
    const char *callback_url;
    /* Base URL of the notifier's alarm API, e.g. "http://127.0.0.1:8042";
     * NULL: vnfm_subscribe() is refused. */
    const char *notifier_url;
    const char *alarm_name;     /* NULL: VNFM_DEFAULT_ALARM_NAME */
    const char *event_type;     /* NULL: VNFM_DEFAULT_EVENT_TYPE */
    /* Trait filter "name=value[;name=value...]" (each an Aodh query term
     * {"field": "traits.NAME", "op": "eq", "type": "string", ...}), at most
     * VNFM_MAX_QUERY_TERMS; NULL or "": every event of the type. */
    const char *query;
    const char *output_path;    /* JSON-lines file appended to; NULL: none */
    size_t max_alarms;          /* records kept; 0: VNFM_DEFAULT_MAX_ALARMS */
    /* Tries of the subscription POST (retried on transport errors and 5xx,
     * with back-off up to 500 ms); 0: VNFM_DEFAULT_SUBSCRIBE_ATTEMPTS. */
    unsigned int subscribe_attempts;
    /* Registry for the vigil_vnfm_* metrics and GET /metrics; may be NULL. */
    struct metrics_registry *metrics;
};

/* Called for each valid alarm received, after it was recorded. 'alarm' has
 * stamps[DOCTOR_T09] set; 'body' is the webhook body. Both are valid only
 * during the call. */
typedef void vnfm_alarm_fn(const struct vnfm_alarm *alarm, const json_t *body,
                           void *arg);

/* Called once when a subscription request ends: 'status' 0 with the
 * notifier's 'alarm_id', or a negative errno ('alarm_id' NULL) with a
 * human-readable 'reason'. */
typedef void vnfm_done_fn(int status, const char *alarm_id,
                          const char *reason, void *arg);

struct vnfm;

/* Creates the endpoint and starts listening on 'base'. Options are copied.
 * Returns NULL with '*error' set to a negative errno on failure (e.g.
 * -EADDRINUSE, -EINVAL for a malformed query or URL, or an output file
 * that cannot be opened). */
struct vnfm *vnfm_new(struct event_base *base,
                      const struct vnfm_options *options, int *error);

/* Stops listening, cancels outstanding subscription requests (their
 * callbacks run with -ECANCELED) and frees everything. Accepts NULL. */
void vnfm_free(struct vnfm *vnfm);

/* The port the endpoint listens on. */
uint16_t vnfm_port(const struct vnfm *vnfm);

/* The webhook URL the endpoint gives the notifier (owned by 'vnfm'). */
const char *vnfm_callback_url(const struct vnfm *vnfm);

/* Sets the per-alarm callback (NULL: none). */
void vnfm_set_alarm_callback(struct vnfm *vnfm, vnfm_alarm_fn *fn, void *arg);

/* Creates the event alarm in the notifier (POST NOTIFIER/v2/alarms),
 * retrying until the notifier answers or the attempts run out; 'done' runs
 * once from the loop. When an alarm of the same name exists already (409,
 * e.g. left by a previous run), it is looked up and updated to this
 * definition (PUT) and taken over. On success the alarm id is kept for
 * vnfm_unsubscribe(). Returns 0 when the request is under way, -EINVAL
 * without a notifier URL, -EBUSY while another request is under way,
 * -ENOMEM. */
int vnfm_subscribe(struct vnfm *vnfm, vnfm_done_fn *done, void *arg);

/* Deletes the alarm created by vnfm_subscribe() (DELETE
 * NOTIFIER/v2/alarms/ID, one try of at most 'timeout_ms'); 'done' runs
 * once from the loop with that id. Returns 0 when under way, -ENOENT when
 * not subscribed, -EBUSY, -ENOMEM. */
int vnfm_unsubscribe(struct vnfm *vnfm, long timeout_ms, vnfm_done_fn *done,
                     void *arg);

/* The alarm id of the current subscription, or NULL. */
const char *vnfm_alarm_id(const struct vnfm *vnfm);

/* Valid alarms received since start (not reset by DELETE /alarms). */
uint64_t vnfm_received(const struct vnfm *vnfm);

/* Webhook bodies rejected since start. */
uint64_t vnfm_rejected(const struct vnfm *vnfm);

#endif
