/* vigil-inspector: receives Doctor events from monitors, correlates and
 * de-duplicates them and raises alarms through the notifier.
 *
 * main() reads: configuration -> metrics -> notifier sender (its own HTTP
 * client: one ordered pipe, alarms coalesced, retried, bounded) -> history
 * and correlator -> HTTP API -> event loop -> teardown in reverse. The
 * sender does not log: the callbacks here log the notifier's reachability
 * and every alarm dropped. Host faults, fencing and Nova come with the correlator's host
 * handler (correlator.c). */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlator.h"
#include "daemon.h"
#include "doctor_sender.h"
#include "event_log.h"
#include "httpd.h"
#include "inspector_api.h"
#include "metrics.h"
#include "vlog.h"

#define MOD "inspector"

static const struct config_option inspector_options[] = {
    DAEMON_COMMON_OPTIONS,
    { "api", "listen", CONFIG_STRING, "127.0.0.1:12345", 0, 0,
      "Address and port of the Doctor inspector API (PUT /events)." },
    { "api", "max_body_size", CONFIG_INT, "4194304", 1024, 64 << 20,
      "Largest request body accepted, in bytes." },
    { "notifier", "url", CONFIG_STRING, "http://127.0.0.1:8042/v1/events",
      0, 0, "Where alarms are handed to vigil-notifier." },
    { "notifier", "max_queue", CONFIG_INT, "100000", 1, 10000000,
      "Alarms held while the notifier is unreachable; more are refused "
      "(503 to the monitor) and counted." },
    { "notifier", "max_attempts", CONFIG_INT, "3", 1, 100,
      "HTTP attempts per request before the notifier counts as "
      "unreachable." },
    { "notifier", "initial_backoff_ms", CONFIG_INT, "20", 1, 60000,
      "First retry delay; doubles on each failure." },
    { "notifier", "max_backoff_ms", CONFIG_INT, "2000", 1, 600000,
      "Longest retry delay, also while probing an unreachable notifier." },
    { "notifier", "timeout_ms", CONFIG_INT, "5000", 10, 600000,
      "Timeout of one HTTP attempt." },
    { "correlation", "dedup_window_ms", CONFIG_INT, "10000", 0, 86400000,
      "A report of the same state for the same subject within this window "
      "is a duplicate and raises no alarm." },
    { "correlation", "max_tracked", CONFIG_INT, "200000", 1, 100000000,
      "Fault subjects (instances, hosts) remembered for de-duplication." },
    { "events", "history", CONFIG_INT, "1000", 1, 1000000,
      "Handled events kept for GET /events." },
    { NULL, NULL, 0, NULL, 0, 0, NULL },
};

static const struct daemon_desc inspector_desc = {
    .name = "vigil-inspector",
    .summary = "Vigil inspector: the OPNFV Doctor inspector API; correlates "
               "faults and raises alarms through vigil-notifier.",
    .options = inspector_options,
};

struct inspector {
    struct config *cfg;
    struct event_base *base;
    struct daemon_signals *signals;
    struct metrics_registry *metrics;
    struct doctor_sender *sender;
    struct event_log *log;
    struct correlator *correlator;
    struct httpd *httpd;
    struct inspector_api *api;
    struct vlog_rate_limit drop_rl;    /* the sender's drops */
};

static int64_t
inspector_int(const struct inspector *in, const char *section, const char *key)
{
    return daemon_config_int(in->cfg, inspector_options, section, key);
}

static void
inspector_on_stop(void *arg, int signo)
{
    struct inspector *in = arg;

    VLOG_INFO(MOD, "received %s, shutting down", strsignal(signo));
    event_base_loopbreak(in->base);
}

static const char *
inspector_notifier_url(const struct inspector *in)
{
    return config_get_string(in->cfg, inspector_options, "notifier", "url");
}

/* The notifier was lost or answers again (further failures while it is
 * lost are not logged: the first line said it all). */
static void
inspector_on_notifier_state(struct doctor_sender *sender,
                            const struct doctor_sender_state *st, void *arg)
{
    struct inspector *in = arg;

    if (st->reachable) {
        VLOG_INFO(MOD, "notifier at %s reachable again after %lld ms; "
                  "delivering %zu queued alarm(s)", inspector_notifier_url(in),
                  (long long) (st->outage_ns / 1000000),
                  doctor_sender_queued(sender));
    } else if (st->changed) {
        VLOG_WARN(MOD, "notifier at %s unreachable (%s); holding alarms "
                  "(%zu queued) and retrying", inspector_notifier_url(in),
                  st->error, doctor_sender_queued(sender));
    }
}

/* Alarms the sender dropped (already counted). */
static void
inspector_on_notifier_drop(struct doctor_sender *sender,
                           const struct doctor_sender_drop *drop, void *arg)
{
    struct inspector *in = arg;

    switch (drop->reason) {
    case DOCTOR_SENDER_DROP_FULL:
        vlog_write_rl(&in->drop_rl, VLOG_LEVEL_WARN, MOD, "notifier outbox "
                      "full (%zu alarm(s) queued): %zu alarm(s) refused, the "
                      "monitor is told to retry", doctor_sender_queued(sender),
                      drop->length);
        break;
    case DOCTOR_SENDER_DROP_NOMEM:
        vlog_write_rl(&in->drop_rl, VLOG_LEVEL_ERR, MOD, "out of memory: "
                      "%zu alarm(s) not handed to the notifier", drop->length);
        break;
    case DOCTOR_SENDER_DROP_REJECTED:
        vlog_write_rl(&in->drop_rl, VLOG_LEVEL_ERR, MOD, "notifier at %s "
                      "rejected %zu alarm(s) (HTTP %ld): %.200s",
                      inspector_notifier_url(in), drop->length, drop->status,
                      drop->answer);
        break;
    case DOCTOR_SENDER_DROP_SHUTDOWN:
        VLOG_WARN(MOD, "%zu alarm(s) not yet acknowledged by the notifier "
                  "are dropped at shutdown", drop->length);
        break;
    case DOCTOR_SENDER_DROP_UPSTREAM:
    case DOCTOR_SENDER_DROP_REASON_COUNT:
        break;
    }
}

static int
inspector_start_api(struct inspector *in)
{
    const char *listen = config_get_string(in->cfg, inspector_options, "api",
                                           "listen");
    struct httpd_options ho = { 0 };
    char host[256];
    int error = 0;

    if (daemon_split_hostport(listen, host, sizeof host, &ho.port)) {
        VLOG_ERR(MOD, "[api] listen: expected HOST:PORT, got '%s'", listen);
        return -EINVAL;
    }
    ho.address = host;
    ho.max_body_size = (size_t) inspector_int(in, "api", "max_body_size");
    ho.metrics = in->metrics;
    ho.name = "vigil_inspector";
    in->httpd = httpd_new(in->base, &ho, &error);
    if (!in->httpd) {
        VLOG_ERR(MOD, "cannot listen on %s: %s", listen, strerror(-error));
        return error;
    }
    in->api = inspector_api_new(in->httpd, in->correlator, in->log);
    if (!in->api) {
        return -ENOMEM;
    }
    VLOG_INFO(MOD, "Doctor inspector API listening on http://%s:%u/events",
              host, httpd_port(in->httpd));
    return 0;
}

static int
inspector_start(struct inspector *in)
{
    struct doctor_sender_options so = { 0 };
    struct correlator_options co = { 0 };
    int error = 0;

    in->drop_rl = (struct vlog_rate_limit) VLOG_RATE_LIMIT_INIT(1, 5);
    in->base = event_base_new();
    in->metrics = metrics_registry_new();
    if (!in->base || !in->metrics) {
        return -ENOMEM;
    }
    in->signals = daemon_signals_new(in->base, inspector_on_stop, in);
    if (!in->signals) {
        return -ENOMEM;
    }
    so.url = inspector_notifier_url(in);
    so.queue_size = (size_t) inspector_int(in, "notifier", "max_queue");
    so.timeout_ms = (long) inspector_int(in, "notifier", "timeout_ms");
    so.retry.max_attempts =
        (unsigned int) inspector_int(in, "notifier", "max_attempts");
    so.retry.initial_backoff_ms =
        (unsigned int) inspector_int(in, "notifier", "initial_backoff_ms");
    so.retry.max_backoff_ms =
        (unsigned int) inspector_int(in, "notifier", "max_backoff_ms");
    if (so.retry.max_backoff_ms < so.retry.initial_backoff_ms) {
        VLOG_ERR(MOD, "[notifier] max_backoff_ms (%u) is below "
                 "initial_backoff_ms (%u)", so.retry.max_backoff_ms,
                 so.retry.initial_backoff_ms);
        return -EINVAL;
    }
    so.metrics = in->metrics;
    so.metrics_prefix = "vigil_inspector_notifier";
    so.latency_stamp = DOCTOR_T06;
    so.on_state = inspector_on_notifier_state;
    so.on_drop = inspector_on_notifier_drop;
    so.arg = in;
    in->sender = doctor_sender_new(in->base, &so, &error);
    if (!in->sender) {
        VLOG_ERR(MOD, "cannot set up the sender to the notifier at %s: %s",
                 so.url, strerror(-error));
        return error;
    }
    in->log = event_log_new((size_t) inspector_int(in, "events", "history"));
    co.dedup_window_ns =
        inspector_int(in, "correlation", "dedup_window_ms") * 1000000;
    co.max_tracked = (size_t) inspector_int(in, "correlation", "max_tracked");
    if (!in->log) {
        return -ENOMEM;
    }
    in->correlator = correlator_new(&co, in->sender, in->log, in->metrics);
    if (!in->correlator) {
        return -ENOMEM;
    }
    VLOG_INFO(MOD, "alarms go to the notifier at %s", so.url);
    return inspector_start_api(in);
}

static void
inspector_stop(struct inspector *in)
{
    httpd_free(in->httpd);
    inspector_api_free(in->api);
    correlator_free(in->correlator);
    event_log_free(in->log);
    /* Alarms still queued are logged by inspector_on_notifier_drop(). */
    doctor_sender_free(in->sender);
    daemon_signals_free(in->signals);
    metrics_registry_free(in->metrics);
    if (in->base) {
        event_base_free(in->base);
    }
    config_free(in->cfg);
}

int
main(int argc, char **argv)
{
    struct inspector in = { 0 };
    int ret = daemon_parse_args(&inspector_desc, argc, argv, &in.cfg);

    if (ret) {
        return ret > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    ret = inspector_start(&in);
    if (ret) {
        VLOG_ERR(MOD, "start-up failed: %s", strerror(-ret));
    } else {
        event_base_dispatch(in.base);
        VLOG_INFO(MOD, "stopped");
    }
    inspector_stop(&in);
    return ret ? EXIT_FAILURE : EXIT_SUCCESS;
}
