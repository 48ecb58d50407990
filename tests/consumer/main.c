/* vigil-vnfm-sample: a sample VNFM that subscribes to vigil-notifier's
 * Aodh-compatible alarm API and receives the alarms on a webhook, as OPNFV
 * Doctor's sample consumer does (and on the same default port, 12346).
 *
 * It logs one line per alarm, keeps the last alarms for GET /alarms (the
 * integration tests read them there), and can append them to a JSON-lines
 * file. On SIGTERM or SIGINT it deletes its subscription (bounded wait)
 * and exits 0. The endpoint itself is tests/consumer/vnfm.[ch]. */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "metrics.h"
#include "vlog.h"
#include "vnfm.h"

#define MAIN_MODULE "main"
#define MAIN_UNSUBSCRIBE_TIMEOUT_MS 1000

static const struct config_option main_options[] = {
    DAEMON_COMMON_OPTIONS,
    { "api", "listen", CONFIG_STRING, "127.0.0.1:12346", 0, 0,
      "Address and port of the webhook endpoint (and GET /metrics, "
      "GET/DELETE /alarms)." },
    { "consumer", "notifier_url", CONFIG_STRING, "http://127.0.0.1:8042", 0,
      0, "Base URL of the notifier's Aodh alarm API (POST /v2/alarms); "
      "empty: do not subscribe (another party subscribes this endpoint)." },
    { "consumer", "callback_url", CONFIG_STRING, NULL, 0, 0,
      "Webhook URL given to the notifier; default http://LISTEN/alarm." },
    { "consumer", "alarm_name", CONFIG_STRING, VNFM_DEFAULT_ALARM_NAME, 0, 0,
      "Name of the event alarm created in the notifier." },
    { "consumer", "event_type", CONFIG_STRING, VNFM_DEFAULT_EVENT_TYPE, 0, 0,
      "Event type pattern of the alarm (Aodh event_rule.event_type)." },
    { "consumer", "query", CONFIG_STRING, NULL, 0, 0,
      "Trait filter, 'name=value[;name=value...]', e.g. "
      "'hostname=compute-1'." },
    { "consumer", "output", CONFIG_STRING, NULL, 0, 0,
      "File to append each received alarm to, one JSON object per line." },
    { "consumer", "max_alarms", CONFIG_INT, "100000", 1, 10000000,
      "Received alarms kept for GET /alarms (oldest dropped first)." },
    { "consumer", "subscribe_attempts", CONFIG_INT, "60", 1, 10000,
      "Tries of the subscription while the notifier does not answer "
      "(back-off 20 ms to 500 ms)." },
    { "consumer", "unsubscribe_on_exit", CONFIG_BOOL, "true", 0, 0,
      "Delete the alarm from the notifier on SIGTERM." },
    { NULL, NULL, CONFIG_STRING, NULL, 0, 0, NULL },
};

static const struct daemon_desc main_desc = {
    "vigil-vnfm-sample",
    "Sample VNFM: subscribes to vigil-notifier and receives alarm webhooks.",
    main_options,
};

struct main_state {
    struct event_base *base;
    struct vnfm *vnfm;
    bool unsubscribe_on_exit;
    bool stopping;
    int exit_code;
};

static void
main_on_subscribed(int status, const char *alarm_id, const char *reason,
                   void *arg)
{
    struct main_state *st = arg;

    if (status) {
        if (status != -ECANCELED) {
            VLOG_ERR(MAIN_MODULE, "cannot subscribe: %s", reason);
            st->exit_code = EXIT_FAILURE;
        }
        event_base_loopbreak(st->base);
        return;
    }
    VLOG_INFO(MAIN_MODULE, "subscribed: alarm %s, webhook %s (%s)", alarm_id,
              vnfm_callback_url(st->vnfm), reason);
}

static void
main_on_unsubscribed(int status, const char *alarm_id, const char *reason,
                     void *arg)
{
    struct main_state *st = arg;

    if (status) {
        VLOG_WARN(MAIN_MODULE, "could not delete the subscription: %s",
                  reason);
    } else {
        VLOG_INFO(MAIN_MODULE, "unsubscribed: alarm %s (%s)", alarm_id,
                  reason);
    }
    event_base_loopbreak(st->base);
}

static void
main_on_stop(void *arg, int signo)
{
    struct main_state *st = arg;

    if (st->stopping) {
        return;
    }
    st->stopping = true;
    VLOG_INFO(MAIN_MODULE, "signal %d: shutting down", signo);
    if (st->unsubscribe_on_exit && vnfm_alarm_id(st->vnfm) &&
        !vnfm_unsubscribe(st->vnfm, MAIN_UNSUBSCRIBE_TIMEOUT_MS,
                          main_on_unsubscribed, st)) {
        return;
    }
    event_base_loopbreak(st->base);
}

/* Fills 'opts' from 'cfg'; strings point into 'cfg' and 'host'. */
static int
main_read_options(const struct config *cfg, struct vnfm_options *opts,
                  char *host, size_t host_size)
{
    const char *listen = config_get_string(cfg, main_options, "api", "listen");
    unsigned short port;

    if (!listen || daemon_split_hostport(listen, host, host_size, &port)) {
        VLOG_ERR(MAIN_MODULE, "[api] listen: expected HOST:PORT, got '%s'",
                 listen ? listen : "");
        return -EINVAL;
    }
    memset(opts, 0, sizeof *opts);
    opts->address = host;
    opts->port = port;
    opts->notifier_url = config_get_string(cfg, main_options, "consumer",
                                           "notifier_url");
    opts->callback_url = config_get_string(cfg, main_options, "consumer",
                                           "callback_url");
    opts->alarm_name = config_get_string(cfg, main_options, "consumer",
                                         "alarm_name");
    opts->event_type = config_get_string(cfg, main_options, "consumer",
                                         "event_type");
    opts->query = config_get_string(cfg, main_options, "consumer", "query");
    opts->output_path = config_get_string(cfg, main_options, "consumer",
                                          "output");
    opts->max_alarms = (size_t) daemon_config_int(cfg, main_options,
                                                  "consumer", "max_alarms");
    opts->subscribe_attempts = (unsigned int) daemon_config_int(
        cfg, main_options, "consumer", "subscribe_attempts");
    return 0;
}

int
main(int argc, char **argv)
{
    struct main_state st = { NULL, NULL, false, false, EXIT_FAILURE };
    struct metrics_registry *metrics = NULL;
    struct daemon_signals *signals = NULL;
    struct config *cfg = NULL;
    struct vnfm_options opts;
    char host[256];
    int ret;

    ret = daemon_parse_args(&main_desc, argc, argv, &cfg);
    if (ret) {
        return ret > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    if (main_read_options(cfg, &opts, host, sizeof host)) {
        goto out;
    }
    st.unsubscribe_on_exit = daemon_config_bool(cfg, main_options, "consumer",
                                                "unsubscribe_on_exit");
    st.base = event_base_new();
    metrics = metrics_registry_new();
    if (!st.base || !metrics) {
        VLOG_ERR(MAIN_MODULE, "out of memory");
        goto out;
    }
    opts.metrics = metrics;
    st.vnfm = vnfm_new(st.base, &opts, &ret);
    if (!st.vnfm) {
        VLOG_ERR(MAIN_MODULE, "cannot start the endpoint on %s:%u: %s "
                 "(check [api] listen, [consumer] notifier_url, query and "
                 "output)", host, (unsigned) opts.port, strerror(-ret));
        goto out;
    }
    signals = daemon_signals_new(st.base, main_on_stop, &st);
    if (!signals) {
        VLOG_ERR(MAIN_MODULE, "cannot install signal handlers");
        goto out;
    }
    VLOG_INFO(MAIN_MODULE, "listening on %s:%u, webhook %s", host,
              (unsigned) vnfm_port(st.vnfm), vnfm_callback_url(st.vnfm));
    st.exit_code = EXIT_SUCCESS;
    if (opts.notifier_url && opts.notifier_url[0]) {
        ret = vnfm_subscribe(st.vnfm, main_on_subscribed, &st);
        if (ret) {
            VLOG_ERR(MAIN_MODULE, "cannot subscribe: %s", strerror(-ret));
            st.exit_code = EXIT_FAILURE;
            goto out;
        }
    } else {
        VLOG_INFO(MAIN_MODULE, "no [consumer] notifier_url: not subscribing");
    }
    event_base_dispatch(st.base);
    VLOG_INFO(MAIN_MODULE, "stopped after %llu alarms (%llu rejected)",
              (unsigned long long) vnfm_received(st.vnfm),
              (unsigned long long) vnfm_rejected(st.vnfm));
out:
    daemon_signals_free(signals);
    vnfm_free(st.vnfm);
    metrics_registry_free(metrics);
    if (st.base) {
        event_base_free(st.base);
    }
    config_free(cfg);
    return st.exit_code;
}
