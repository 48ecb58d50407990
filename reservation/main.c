/* vigil-reservation: Promise-style capacity booking over REST.
 *
 * main() reads as: parse the configuration -> open the database -> create
 * the loop, metrics, the notifier sender, the engine (which rebuilds the
 * indexes from the database), the HTTP server and API -> run the loop
 * until SIGTERM/SIGINT -> commit what is queued (answering those
 * requests), stop serving, give the notifier a bounded time to take the
 * events still queued -> tear down in reverse order. */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "httpd.h"
#include "metrics.h"
#include "resv_api.h"
#include "resv_blazar.h"
#include "resv_db.h"
#include "resv_engine.h"
#include "resv_notify.h"
#include "vlog.h"
#include "vtime.h"

#define MOD "main"

static const struct config_option reservation_options[] = {
    DAEMON_COMMON_OPTIONS,
    { "api", "listen", CONFIG_STRING, "127.0.0.1:1234", 0, 0,
      "Address and port of the REST API (host:port, [v6]:port); 1234 is "
      "Blazar's port." },
    { "api", "max_body_size", CONFIG_INT, "65536", 1024, 16777216,
      "Largest request body accepted, in bytes." },
    { "api", "max_list", CONFIG_INT, "1000", 1, 100000,
      "Most items in one list answer (the limit parameter's maximum)." },
    { "api", "max_intervals", CONFIG_INT, "10000", 1, 1000000,
      "Most pieces of a GET /v1/capacity step function; a window holding "
      "more is answered in parts (truncated, next_start)." },
    { "reservation", "database", CONFIG_STRING, ":memory:", 0, 0,
      "SQLite file (WAL, synchronous=FULL) holding pools, reservations "
      "and allocations; \":memory:\" keeps nothing across restarts." },
    { "reservation", "default_project_id", CONFIG_STRING, "vigil", 0, 0,
      "project_id of reservations made without one and without an "
      "X-Project-Id header." },
    { "reservation", "max_reservations", CONFIG_INT, "2000000", 1, 4194304,
      "Most pending and active reservations; more are refused (403)." },
    { "reservation", "max_pools", CONFIG_INT, "100000", 1, 4194304,
      "Most pools." },
    { "reservation", "max_allocations", CONFIG_INT, "1000000", 1, 4194304,
      "Most allocations." },
    { "reservation", "max_zones", CONFIG_INT, "1024", 1, 1000000,
      "Most zones." },
    { "reservation", "max_pending", CONFIG_INT, "100000", 1, 10000000,
      "Writes waiting for their commit; more are refused (503)." },
    { "reservation", "batch_max_ops", CONFIG_INT, "4096", 1, 1000000,
      "Most writes per group-commit transaction." },
    { "reservation", "offer_max_jumps", CONFIG_INT, "200", 1, 1000000,
      "Bound on the earliest-start search of a 409's offer: runs of time "
      "short of capacity skipped, each O(log n) per requested key; past "
      "it the offer has no earliest start." },
    { "reservation", "lifecycle_max_per_turn", CONFIG_INT, "1000", 1,
      1000000,
      "Lifecycle transitions handled per turn of the event loop before "
      "serving requests again." },
    { "policy", "max_duration", CONFIG_INT, "31622400", 1,
      253402300799,
      "Longest reservation, in seconds (default 366 days)." },
    { "policy", "max_future_start", CONFIG_INT, "63244800", 0,
      253402300799,
      "How far ahead a reservation may start, in seconds (default 732 "
      "days)." },
    { "policy", "max_past_start", CONFIG_INT, "300", 0, 86400,
      "A start at most this many seconds in the past is taken as now "
      "(client clock skew); older starts are refused." },
    { "notifier", "url", CONFIG_STRING, "http://127.0.0.1:8042/v1/events",
      0, 0,
      "vigil-notifier's event intake, where reservation.* events go; empty: "
      "events are only logged and counted." },
    { "notifier", "queue_size", CONFIG_INT, "100000", 1, 10000000,
      "Events held while the notifier is unreachable; more are dropped "
      "and counted." },
    { "notifier", "max_attempts", CONFIG_INT, "3", 1, 100,
      "HTTP attempts per request before the notifier counts as "
      "unreachable." },
    { "notifier", "initial_backoff_ms", CONFIG_INT, "100", 1, 60000,
      "First retry delay; doubles on each failure." },
    { "notifier", "max_backoff_ms", CONFIG_INT, "5000", 1, 600000,
      "Longest retry delay, also while probing an unreachable notifier." },
    { "notifier", "timeout_ms", CONFIG_INT, "5000", 1, 600000,
      "Timeout of one HTTP attempt." },
    { "notifier", "drain_timeout_ms", CONFIG_INT, "2000", 0, 60000,
      "At shutdown, how long queued events may still be delivered." },
    { "blazar", "zone", CONFIG_STRING, "default", 0, 0,
      "Zone where leases of the Blazar-compatible /v1/leases API book "
      "(its pools give them capacity)." },
    { "blazar", "max_leases", CONFIG_INT, "100000", 1, 4194304,
      "Most leases known at once; terminated ones are forgotten first." },
    { NULL, NULL, CONFIG_STRING, NULL, 0, 0, NULL },
};

static const struct daemon_desc reservation_desc = {
    .name = "vigil-reservation",
    .summary = "Vigil reservation service: Promise-style capacity booking "
               "over time windows, REST, durable in SQLite.",
    .options = reservation_options,
};

struct reservation {
    struct config *cfg;
    struct event_base *base;
    struct daemon_signals *signals;
    struct metrics_registry *metrics;
    struct resv_db *db;
    struct resv_db *write_db;
    struct resv_notify *notify;
    struct resv_engine *engine;
    struct httpd *httpd;
    struct resv_api *api;
    struct resv_blazar *blazar;
};

static int64_t
reservation_int(const struct reservation *r, const char *section,
                const char *key)
{
    return daemon_config_int(r->cfg, reservation_options, section, key);
}

static const char *
reservation_string(const struct reservation *r, const char *section,
                   const char *key)
{
    const char *v = config_get_string(r->cfg, reservation_options, section,
                                      key);

    return v ? v : "";
}

static void
reservation_on_stop(void *arg, int signo)
{
    struct reservation *r = arg;

    VLOG_INFO(MOD, "received %s, shutting down", strsignal(signo));
    event_base_loopbreak(r->base);
}

static void
reservation_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    (void) arg;
}

/* Runs the loop until the notifier took every queued event or the
 * configured time passed. */
static void
reservation_drain(struct reservation *r)
{
    int64_t timeout_ms = reservation_int(r, "notifier", "drain_timeout_ms");
    int64_t deadline = vtime_mono_ns() + timeout_ms * 1000000;
    struct timeval tick = { 0, 10000 };
    struct event *timer;

    if (!r->notify || !resv_notify_queued(r->notify) || timeout_ms <= 0) {
        return;
    }
    timer = event_new(r->base, -1, EV_PERSIST, reservation_drain_tick, NULL);
    if (!timer || event_add(timer, &tick)) {
        if (timer) {
            event_free(timer);
        }
        return;
    }
    while (resv_notify_queued(r->notify) && vtime_mono_ns() < deadline) {
        event_base_loop(r->base, EVLOOP_ONCE);
    }
    event_free(timer);
    if (resv_notify_queued(r->notify)) {
        VLOG_WARN(MOD, "%zu reservation event(s) not delivered to the "
                  "notifier are dropped at shutdown",
                  resv_notify_queued(r->notify));
    }
}

static int
reservation_start(struct reservation *r)
{
    struct resv_engine_options eo = { 0 };
    struct resv_notify_options no = { 0 };
    struct resv_engine_error eerr = { .message = "" };
    struct resv_engine_stats stats;
    struct resv_api_options ao = { 0 };
    struct resv_blazar_options bo = { 0 };
    struct httpd_options ho = { 0 };
    const char *listen = reservation_string(r, "api", "listen");
    const char *database = reservation_string(r, "reservation", "database");
    char host[256], err[512] = "";
    int ret;

    if (daemon_split_hostport(listen, host, sizeof host, &ho.port)) {
        VLOG_ERR(MOD, "[api] listen: expected host:port, got '%s'", listen);
        return -EINVAL;
    }
    r->base = event_base_new();
    r->metrics = metrics_registry_new();
    if (!r->base || !r->metrics) {
        return -ENOMEM;
    }
    r->signals = daemon_signals_new(r->base, reservation_on_stop, r);
    if (!r->signals) {
        return -ENOMEM;
    }
    ret = resv_db_open(*database ? database : ":memory:", true, &r->db, err,
                       sizeof err);
    if (ret) {
        VLOG_ERR(MOD, "cannot open the database: %s", err);
        return ret;
    }
    /* A file gets a second connection for the writer thread of the group
     * commit; a private in-memory database cannot be shared, so its
     * commits run on the loop. */
    if (*database && strcmp(database, ":memory:")) {
        ret = resv_db_open(database, true, &r->write_db, err, sizeof err);
        if (ret) {
            VLOG_ERR(MOD, "cannot open the database for writing: %s", err);
            return ret;
        }
    }

    no.url = reservation_string(r, "notifier", "url");
    no.queue_size = (size_t) reservation_int(r, "notifier", "queue_size");
    no.max_attempts = (unsigned int) reservation_int(r, "notifier",
                                                     "max_attempts");
    no.initial_backoff_ms =
        (unsigned int) reservation_int(r, "notifier", "initial_backoff_ms");
    no.max_backoff_ms = (unsigned int) reservation_int(r, "notifier",
                                                       "max_backoff_ms");
    if (no.max_backoff_ms < no.initial_backoff_ms) {
        no.max_backoff_ms = no.initial_backoff_ms;
    }
    no.timeout_ms = (long) reservation_int(r, "notifier", "timeout_ms");
    no.metrics = r->metrics;
    r->notify = resv_notify_new(r->base, &no, &ret);
    if (!r->notify) {
        VLOG_ERR(MOD, "[notifier] url: cannot send events to '%s': %s",
                 no.url, ret == -EINVAL ? "expected an http:// or https:// "
                                          "URL" : strerror(-ret));
        return ret;
    }

    eo.base = r->base;
    eo.db = r->db;
    eo.write_db = r->write_db;
    eo.metrics = r->metrics;
    eo.max_duration = reservation_int(r, "policy", "max_duration");
    eo.max_future_start = reservation_int(r, "policy", "max_future_start");
    eo.max_past_start = reservation_int(r, "policy", "max_past_start");
    eo.max_reservations = (size_t) reservation_int(r, "reservation",
                                                   "max_reservations");
    eo.max_pools = (size_t) reservation_int(r, "reservation", "max_pools");
    eo.max_allocations = (size_t) reservation_int(r, "reservation",
                                                  "max_allocations");
    eo.max_zones = (size_t) reservation_int(r, "reservation", "max_zones");
    eo.max_pending = (size_t) reservation_int(r, "reservation",
                                              "max_pending");
    eo.batch_max_ops = (size_t) reservation_int(r, "reservation",
                                                "batch_max_ops");
    eo.offer_max_jumps = (unsigned int) reservation_int(r, "reservation",
                                                        "offer_max_jumps");
    eo.lifecycle_max_per_turn =
        (size_t) reservation_int(r, "reservation", "lifecycle_max_per_turn");
    eo.default_project_id = reservation_string(r, "reservation",
                                               "default_project_id");
    eo.on_event = resv_notify_event;
    eo.arg = r->notify;
    ret = resv_engine_new(&eo, &r->engine, &eerr);
    if (ret) {
        VLOG_ERR(MOD, "cannot start the engine: %s", eerr.message);
        return ret;
    }
    resv_engine_get_stats(r->engine, &stats);
    VLOG_INFO(MOD, "loaded %zu pools, %zu pending/active reservations and "
              "%zu allocations in %zu zones from %s in %.3f s (%zu index "
              "boundaries)", stats.pools, stats.reservations,
              stats.allocations, stats.zones, *database ? database
                                                       : ":memory:",
              (double) stats.rebuild_ns / 1e9, stats.index_boundaries);
    if (!*database || !strcmp(database, ":memory:")) {
        VLOG_WARN(MOD, "[reservation] database is \":memory:\": nothing "
                  "survives a restart");
    }

    ho.address = host;
    ho.max_body_size = (size_t) reservation_int(r, "api", "max_body_size");
    ho.metrics = r->metrics;
    ho.name = "vigil_reservation";
    r->httpd = httpd_new(r->base, &ho, &ret);
    if (!r->httpd) {
        VLOG_ERR(MOD, "cannot listen on %s: %s", listen, strerror(-ret));
        return ret;
    }
    ao.engine = r->engine;
    ao.max_list = (size_t) reservation_int(r, "api", "max_list");
    ao.max_intervals = (size_t) reservation_int(r, "api", "max_intervals");
    r->api = resv_api_new(r->httpd, &ao, &ret);
    if (!r->api) {
        VLOG_ERR(MOD, "cannot set up the API: %s", strerror(-ret));
        return ret;
    }
    bo.engine = r->engine;
    bo.zone = reservation_string(r, "blazar", "zone");
    bo.max_list = ao.max_list;
    bo.max_leases = (size_t) reservation_int(r, "blazar", "max_leases");
    r->blazar = resv_blazar_new(r->httpd, &bo, &ret);
    if (!r->blazar) {
        VLOG_ERR(MOD, "cannot set up the /v1/leases API ([blazar] zone "
                 "'%s'): %s", bo.zone, strerror(-ret));
        return ret;
    }
    VLOG_INFO(MOD, "vigil-reservation %s listening on http://%s:%u/v1; "
              "events to %s", VIGIL_VERSION, host,
              (unsigned) httpd_port(r->httpd),
              *no.url ? no.url : "the log only");
    return 0;
}

static void
reservation_stop(struct reservation *r)
{
    if (r->engine) {
        resv_engine_flush(r->engine);
    }
    httpd_free(r->httpd);
    resv_api_free(r->api);
    resv_engine_free(r->engine);
    resv_blazar_free(r->blazar);
    if (r->base) {
        reservation_drain(r);
    }
    resv_notify_free(r->notify);
    resv_db_close(r->write_db);
    resv_db_close(r->db);
    daemon_signals_free(r->signals);
    metrics_registry_free(r->metrics);
    if (r->base) {
        event_base_free(r->base);
    }
    config_free(r->cfg);
}

int
main(int argc, char **argv)
{
    struct reservation r = { 0 };
    int ret = daemon_parse_args(&reservation_desc, argc, argv, &r.cfg);

    if (ret) {
        return ret > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    ret = reservation_start(&r);
    if (ret) {
        VLOG_ERR(MOD, "start-up failed: %s", strerror(-ret));
    } else if (event_base_dispatch(r.base) < 0) {
        VLOG_ERR(MOD, "event loop failed");
        ret = -EIO;
    } else {
        VLOG_INFO(MOD, "stopped");
    }
    reservation_stop(&r);
    return ret ? EXIT_FAILURE : EXIT_SUCCESS;
}
