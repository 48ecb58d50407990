/* vigil-notifier: holds VNFM subscriptions (Aodh event alarms) and
 * delivers alarms to their webhooks.
 *
 * main() reads as: parse the configuration -> create the loop, metrics,
 * alarm store (reloaded from SQLite), webhook sink, evaluator, HTTP server
 * and API -> run the loop until SIGTERM/SIGINT -> stop taking requests,
 * give deliveries in flight a bounded time to finish -> tear down in
 * reverse order. */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarm_db.h"
#include "alarm_store.h"
#include "api.h"
#include "config.h"
#include "daemon.h"
#include "evaluator.h"
#include "httpd.h"
#include "metrics.h"
#include "vlog.h"
#include "vtime.h"
#include "webhook_sink.h"

static const struct config_option notifier_options[] = {
    DAEMON_COMMON_OPTIONS,
    { "api", "listen", CONFIG_STRING, "127.0.0.1:8042", 0, 0,
      "Address and port of the REST API (host:port, [v6]:port); 8042 is "
      "Aodh's port." },
    { "api", "max_body_size", CONFIG_INT, "4194304", 1024, 67108864,
      "Largest request body accepted, in bytes (Doctor event lists "
      "included)." },
    { "notifier", "max_alarms", CONFIG_INT, "100000", 1, 10000000,
      "Most alarms held; creating more answers 403." },
    { "notifier", "default_project_id", CONFIG_STRING, "vigil", 0, 0,
      "project_id of alarms created without one and without an "
      "X-Project-Id header." },
    { "notifier", "default_user_id", CONFIG_STRING, "vigil", 0, 0,
      "user_id of alarms created without one and without an X-User-Id "
      "header." },
    { "notifier", "database", CONFIG_STRING, ":memory:", 0, 0,
      "SQLite file holding the alarm definitions across restarts; "
      "\":memory:\" keeps them only while the process runs." },
    { "delivery", "max_attempts", CONFIG_INT, "5", 1, 100,
      "Tries per webhook POST, the first included (transport errors, 5xx "
      "and 429 are retried)." },
    { "delivery", "initial_backoff_ms", CONFIG_INT, "100", 1, 600000,
      "Wait before the first retry; doubles per retry (with jitter)." },
    { "delivery", "max_backoff_ms", CONFIG_INT, "10000", 1, 3600000,
      "Longest wait between retries." },
    { "delivery", "timeout_ms", CONFIG_INT, "5000", 1, 600000,
      "Total time allowed for one attempt." },
    { "delivery", "connect_timeout_ms", CONFIG_INT, "2000", 1, 600000,
      "Time allowed to connect to a webhook." },
    { "delivery", "max_pending", CONFIG_INT, "10000", 1, 10000000,
      "Webhook POSTs in flight or waiting for a retry at once." },
    { "delivery", "max_queued", CONFIG_INT, "100000", 1, 10000000,
      "Webhook POSTs waiting behind max_pending; beyond it deliveries are "
      "dropped, counted and logged." },
    { "delivery", "max_host_connections", CONFIG_INT, "32", 1, 1024,
      "Connections per webhook host." },
    { "delivery", "drain_timeout_ms", CONFIG_INT, "2000", 0, 60000,
      "At shutdown, how long deliveries in flight may still finish." },
    { NULL, NULL, CONFIG_STRING, NULL, 0, 0, NULL },
};

static const struct daemon_desc notifier_desc = {
    .name = "vigil-notifier",
    .summary = "Holds VNFM alarm subscriptions (OpenStack Aodh event alarms "
               "API) and delivers alarms to their webhooks.",
    .options = notifier_options,
};

/* Reads an integer option that config_validate() has range-checked. */
static int64_t
notifier_int(const struct config *cfg, const char *section, const char *key)
{
    int64_t value = 0;

    config_get_int(cfg, notifier_options, section, key, &value);
    return value;
}

static const char *
notifier_string(const struct config *cfg, const char *section,
                const char *key)
{
    return config_get_string(cfg, notifier_options, section, key);
}

static void
notifier_stop(void *arg, int signo)
{
    VLOG_INFO("main", "%s received, shutting down",
              signo == SIGINT ? "SIGINT" : "SIGTERM");
    event_base_loopbreak(arg);
}

/* alarm_db_load callback: puts a stored alarm into the store. */
static int
notifier_load_alarm(struct alarm *alarm, void *arg)
{
    int ret = alarm_store_add(arg, alarm);

    if (ret) {
        VLOG_WARN("main", "stored alarm %s '%s' not loaded: %s", alarm->id,
                  alarm->name, strerror(-ret));
        alarm_free(alarm);
    }
    return 0;
}

static void
notifier_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    (void) arg;
}

/* Runs the loop until 'sink' has nothing in flight or 'timeout_ms' passed. */
static void
notifier_drain(struct event_base *base, const struct delivery_sink *sink,
               int64_t timeout_ms)
{
    int64_t deadline = vtime_mono_ns() + timeout_ms * 1000000;
    struct timeval tick = { 0, 10000 };
    struct event *timer;

    if (!webhook_sink_pending(sink) || timeout_ms <= 0) {
        return;
    }
    timer = event_new(base, -1, EV_PERSIST, notifier_drain_tick, NULL);
    if (!timer || event_add(timer, &tick)) {
        if (timer) {
            event_free(timer);
        }
        return;
    }
    VLOG_INFO("main", "waiting up to %lld ms for %zu deliveries in flight",
              (long long) timeout_ms, webhook_sink_pending(sink));
    while (webhook_sink_pending(sink) && vtime_mono_ns() < deadline) {
        event_base_loop(base, EVLOOP_ONCE);
    }
    event_free(timer);
}

int
main(int argc, char **argv)
{
    struct config *cfg = NULL;
    struct event_base *base = NULL;
    struct metrics_registry *metrics = NULL;
    struct alarm_store *store = NULL;
    struct alarm_db *db = NULL;
    struct delivery_sink *sink = NULL;
    struct delivery_sink *webhook = NULL;   /* borrowed from the evaluator */
    struct evaluator *evaluator = NULL;
    struct httpd *httpd = NULL;
    struct api *api = NULL;
    struct daemon_signals *signals = NULL;
    struct webhook_sink_options wopts;
    struct httpd_options hopts;
    struct api_options aopts;
    char host[256], err[512] = "";
    const char *listen, *database;
    unsigned short port;
    size_t skipped = 0;
    int ret, status = EXIT_FAILURE;

    ret = daemon_parse_args(&notifier_desc, argc, argv, &cfg);
    if (ret) {
        return ret > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    listen = notifier_string(cfg, "api", "listen");
    if (!listen || daemon_split_hostport(listen, host, sizeof host, &port)) {
        VLOG_ERR("main", "[api] listen: expected host:port, got '%s'",
                 listen ? listen : "");
        goto out;
    }

    base = event_base_new();
    metrics = metrics_registry_new();
    store = alarm_store_new((size_t) notifier_int(cfg, "notifier",
                                                  "max_alarms"));
    if (!base || !metrics || !store) {
        VLOG_ERR("main", "out of memory");
        goto out;
    }

    database = notifier_string(cfg, "notifier", "database");
    if (database && *database) {
        if (alarm_db_open(database, &db, err, sizeof err)) {
            VLOG_ERR("main", "cannot open the alarm database: %s", err);
            goto out;
        }
        if (alarm_db_load(db, notifier_load_alarm, store, &skipped, err,
                          sizeof err)) {
            VLOG_ERR("main", "cannot load alarms from %s: %s", database, err);
            goto out;
        }
        if (skipped) {
            VLOG_WARN("main", "%zu stored alarms skipped (last: %s)", skipped,
                      err);
        }
    }

    memset(&wopts, 0, sizeof wopts);
    wopts.http.connect_timeout_ms = (long) notifier_int(cfg, "delivery",
                                                        "connect_timeout_ms");
    wopts.http.timeout_ms = (long) notifier_int(cfg, "delivery", "timeout_ms");
    wopts.http.max_pending = (size_t) notifier_int(cfg, "delivery",
                                                   "max_pending");
    wopts.http.max_host_connections =
        (long) notifier_int(cfg, "delivery", "max_host_connections");
    wopts.retry.max_attempts = (unsigned int) notifier_int(cfg, "delivery",
                                                           "max_attempts");
    wopts.retry.initial_backoff_ms =
        (unsigned int) notifier_int(cfg, "delivery", "initial_backoff_ms");
    wopts.retry.max_backoff_ms = (unsigned int) notifier_int(cfg, "delivery",
                                                             "max_backoff_ms");
    wopts.max_queued = (size_t) notifier_int(cfg, "delivery", "max_queued");
    sink = webhook_sink_new(base, &wopts, metrics);
    evaluator = evaluator_new(store, metrics);
    if (!sink || !evaluator) {
        VLOG_ERR("main", "cannot create the webhook sink or the evaluator");
        goto out;
    }
    ret = evaluator_add_sink(evaluator, sink);
    webhook = ret ? NULL : sink;
    sink = NULL;
    if (ret) {
        goto out;
    }

    memset(&hopts, 0, sizeof hopts);
    hopts.address = host;
    hopts.port = port;
    hopts.max_body_size = (size_t) notifier_int(cfg, "api", "max_body_size");
    hopts.metrics = metrics;
    hopts.name = "vigil_notifier";
    httpd = httpd_new(base, &hopts, &ret);
    if (!httpd) {
        VLOG_ERR("main", "cannot listen on %s: %s", listen, strerror(-ret));
        goto out;
    }
    memset(&aopts, 0, sizeof aopts);
    aopts.store = store;
    aopts.db = db;
    aopts.evaluator = evaluator;
    aopts.metrics = metrics;
    aopts.default_project_id = notifier_string(cfg, "notifier",
                                               "default_project_id");
    aopts.default_user_id = notifier_string(cfg, "notifier",
                                            "default_user_id");
    api = api_new(httpd, &aopts, &ret);
    if (!api) {
        VLOG_ERR("main", "cannot set up the API: %s", ret == -EINVAL
                 ? "[notifier] default_project_id and default_user_id must "
                   "be at most 128 bytes" : strerror(-ret));
        goto out;
    }
    signals = daemon_signals_new(base, notifier_stop, base);
    if (!signals) {
        VLOG_ERR("main", "cannot set up the signal handlers");
        goto out;
    }

    VLOG_INFO("main", "vigil-notifier %s listening on %s:%u (%zu alarms "
              "loaded from %s)", VIGIL_VERSION, host,
              (unsigned) httpd_port(httpd), alarm_store_count(store),
              database && *database ? database : "nowhere");
    if (event_base_dispatch(base) < 0) {
        VLOG_ERR("main", "event loop failed");
        goto out;
    }
    status = EXIT_SUCCESS;
out:
    daemon_signals_free(signals);
    api_flush(api);                 /* event bodies still being evaluated */
    httpd_free(httpd);
    api_free(api);
    if (webhook && status == EXIT_SUCCESS) {
        notifier_drain(base, webhook, notifier_int(cfg, "delivery",
                                                   "drain_timeout_ms"));
    }
    evaluator_free(evaluator);
    delivery_sink_free(sink);
    alarm_db_close(db);
    alarm_store_free(store);
    metrics_registry_free(metrics);
    if (base) {
        event_base_free(base);
    }
    config_free(cfg);
    return status;
}
