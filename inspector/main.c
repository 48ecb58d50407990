/* vigil-inspector: receives Doctor events from monitors, correlates and
 * de-duplicates them and raises alarms through the notifier.
 *
 * main() reads: configuration -> metrics -> notifier sender (its own HTTP
 * client: one ordered pipe, alarms coalesced, retried, bounded) -> history
 * -> inventory (static map) -> OpenStack clients when [nova] enabled (one
 * HTTP client for Keystone, Nova and Neutron; keystone.h, nova.h,
 * neutron.h) -> fencing (fence.h) -> host fault handler (host_fault.h) ->
 * correlator -> Nova synchronisation of the inventory -> HTTP API -> event
 * loop -> teardown in reverse. Library modules do not log: the callbacks
 * here log the notifier's reachability, every alarm dropped, Keystone
 * authentications and the inventory's synchronisation.
 *
 * Without [nova] enabled (the default) nothing talks to OpenStack: host
 * faults still raise per-VM alarms for the VMs the monitors reported (or a
 * static map names) and absorb that host's other events. */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlator.h"
#include "daemon.h"
#include "doctor_sender.h"
#include "event_log.h"
#include "fence.h"
#include "host_fault.h"
#include "httpc.h"
#include "httpd.h"
#include "inspector_api.h"
#include "inventory.h"
#include "keystone.h"
#include "metrics.h"
#include "neutron.h"
#include "nova.h"
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
    { "notifier", "batch_size", CONFIG_INT, "1024", 1, DOCTOR_MAX_EVENTS,
      "Most alarms per request to the notifier (a host fault's per-VM "
      "alarms go in as few requests as this allows)." },
    { "notifier", "max_body_size", CONFIG_INT, "2097152", 4096, 4194304,
      "Most bytes per request to the notifier." },
    { "inspector", "state_db", CONFIG_STRING, "", 0, 0,
      "SQLite database (WAL) of the hosts that are down: fenced, forced "
      "down, alarmed VMs, so that a restart neither fences nor calls Nova "
      "again. Empty: not persisted (hosts forced down in Nova are then "
      "taken as down at start)." },
    { "host_fault", "recovery_hold_ms", CONFIG_INT, "1000", 0, 3600000,
      "compute.host.up must hold this long (no down event) before the host "
      "counts as recovered; a down event during it is a flap." },
    { "host_fault", "recover_instances", CONFIG_BOOL, "true", 0, 0,
      "On recovery, send compute.instance.up for every VM alarmed, so its "
      "alarms return to ok." },
    { "host_fault", "max_hosts", CONFIG_INT, "100000", 1, 10000000,
      "Hosts tracked by the host fault handler." },
    { "inventory", "static_map", CONFIG_STRING, "", 0, 0,
      "JSON file {\"HOST\": [\"UUID\", ...]} loaded into the host -> VM "
      "map at start: for benchmarks and offline use, without Nova." },
    { "inventory", "max_servers", CONFIG_INT, "1000000", 1, 100000000,
      "Servers the host -> VM map holds at most." },
    { "keystone", "auth_url", CONFIG_STRING, "", 0, 0,
      "Keystone v3 URL, e.g. http://controller:5000/v3 ([nova] enabled "
      "needs it)." },
    { "keystone", "username", CONFIG_STRING, "", 0, 0,
      "User of the inspector (admin role: it lists all tenants' servers, "
      "forces services down, resets server states)." },
    { "keystone", "password", CONFIG_STRING, "", 0, 0, "Its password." },
    { "keystone", "project_name", CONFIG_STRING, "", 0, 0,
      "Project the token is scoped to." },
    { "keystone", "user_domain_name", CONFIG_STRING, "Default", 0, 0,
      "Domain of the user." },
    { "keystone", "project_domain_name", CONFIG_STRING, "Default", 0, 0,
      "Domain of the project." },
    { "keystone", "region_name", CONFIG_STRING, "", 0, 0,
      "Region of the catalog endpoints; empty: any." },
    { "keystone", "interface", CONFIG_STRING, "public", 0, 0,
      "Catalog interface: public, internal or admin." },
    { "keystone", "timeout_ms", CONFIG_INT, "10000", 10, 600000,
      "Timeout of one authentication attempt." },
    { "keystone", "renew_before_s", CONFIG_INT, "300", 1, 86400,
      "Renew the token this long before it expires (at most half-way "
      "through its lifetime)." },
    { "nova", "enabled", CONFIG_BOOL, "false", 0, 0,
      "Talk to Nova: keep the host -> VM map from it, force failed hosts "
      "down, reset their servers. Needs [keystone]." },
    { "nova", "microversion", CONFIG_STRING, "", 0, 0,
      "Compute API microversion to use, e.g. 2.11; empty: 2.53 where the "
      "cloud supports it, else 2.11 (read from the version document)." },
    { "nova", "refresh_interval_s", CONFIG_INT, "60", 1, 86400,
      "Period of the changes-since refresh of the host -> VM map." },
    { "nova", "full_refresh_interval_s", CONFIG_INT, "3600", 0, 604800,
      "Period of a full re-listing of all servers; 0: only at start." },
    { "nova", "force_down", CONFIG_BOOL, "true", 0, 0,
      "Force a failed host's nova-compute service down." },
    { "nova", "reset_state", CONFIG_BOOL, "true", 0, 0,
      "Reset every server of a failed host to error." },
    { "nova", "unset_forced_down_on_recovery", CONFIG_BOOL, "true", 0, 0,
      "Unset forced_down when the host comes back." },
    { "nova", "timeout_ms", CONFIG_INT, "10000", 10, 600000,
      "Timeout of one Nova or Neutron call attempt." },
    { "nova", "max_connections", CONFIG_INT, "64", 1, 1024,
      "Parallel connections to one OpenStack endpoint." },
    { "nova", "page_size", CONFIG_INT, "200", 1, 1000,
      "Servers per page of a listing." },
    { "neutron", "data_plane_status", CONFIG_BOOL, "false", 0, 0,
      "Set data_plane_status DOWN on the ports bound to a failed host "
      "(needs [nova] enabled and Neutron's data_plane_status extension)." },
    { "fence", "mode", CONFIG_STRING, "none", 0, 0,
      "Fencing of a failed host before Nova is told: none, command or "
      "http." },
    { "fence", "command", CONFIG_STRING, "", 0, 0,
      "mode command: run as /bin/sh -c COMMAND vigil-fence HOST (also "
      "VIGIL_FENCE_HOST=HOST); exit 0 = fenced." },
    { "fence", "url", CONFIG_STRING, "", 0, 0,
      "mode http: URL to call, {host} replaced (e.g. a Redfish "
      "ComputerSystem.Reset action)." },
    { "fence", "method", CONFIG_STRING, "POST", 0, 0, "mode http: method." },
    { "fence", "body", CONFIG_STRING, "", 0, 0,
      "mode http: body, {host} replaced, e.g. {\"ResetType\": "
      "\"ForceOff\"}." },
    { "fence", "header", CONFIG_STRING, "", 0, 0,
      "mode http: one extra header, e.g. 'Authorization: Basic ...'." },
    { "fence", "timeout_ms", CONFIG_INT, "10000", 1, 600000,
      "Fencing that has not succeeded within this counts as failed (a "
      "command's process group is killed)." },
    { "fence", "required", CONFIG_BOOL, "false", 0, 0,
      "Nova is told a host is down only once it has been fenced." },
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
    struct inventory *inventory;
    struct httpc *os_client;           /* Keystone, Nova, Neutron, fencing */
    struct keystone *keystone;
    struct nova *nova;
    struct neutron *neutron;
    struct fence *fence;
    struct host_fault *host_fault;
    struct vlog_rate_limit os_rl;      /* OpenStack failures */
    bool nova_announced;
    struct metrics_gauge *m_servers;   /* host -> VM map size */
    struct metrics_gauge *m_synced;    /* a full listing completed */
};

static int64_t
inspector_int(const struct inspector *in, const char *section, const char *key)
{
    return daemon_config_int(in->cfg, inspector_options, section, key);
}

static bool
inspector_bool(const struct inspector *in, const char *section,
               const char *key)
{
    return daemon_config_bool(in->cfg, inspector_options, section, key);
}

static const char *
inspector_string(const struct inspector *in, const char *section,
                 const char *key)
{
    const char *s = config_get_string(in->cfg, inspector_options, section,
                                      key);

    return s ? s : "";
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
inspector_start_inventory(struct inspector *in)
{
    struct inventory_options io = {
        .max_servers = (size_t) inspector_int(in, "inventory", "max_servers"),
    };
    const char *path = inspector_string(in, "inventory", "static_map");
    char err[512];
    size_t loaded = 0;
    int ret;

    in->inventory = inventory_new(&io);
    in->m_servers = metrics_gauge_new(in->metrics,
        "vigil_inspector_inventory_servers",
        "Servers in the host -> VM map after its last Nova round (or "
        "the static map).", NULL);
    in->m_synced = metrics_gauge_new(in->metrics,
        "vigil_inspector_inventory_synced",
        "1 once the host -> VM map holds a full Nova listing.", NULL);
    if (!in->inventory || !in->m_servers || !in->m_synced) {
        return -ENOMEM;
    }
    if (!path[0]) {
        return 0;
    }
    ret = inventory_load_static(in->inventory, path, &loaded, err,
                                sizeof err);
    if (ret) {
        VLOG_ERR(MOD, "[inventory] static_map: %s", err);
        return ret;
    }
    VLOG_INFO(MOD, "host -> VM map: %zu server(s) on %zu host(s) from the "
              "static map %s", loaded, inventory_hosts(in->inventory), path);
    metrics_gauge_set(in->m_servers,
                      (int64_t) inventory_servers(in->inventory));
    return 0;
}

static void
inspector_on_auth(struct keystone *ks, const struct keystone_auth_report *r,
                  void *arg)
{
    struct inspector *in = arg;

    (void) ks;
    if (r->ok) {
        VLOG_INFO(MOD, "Keystone: authenticated as %s (project %s, %s): "
                  "token valid for %lld s, %zu catalog endpoint(s)",
                  inspector_string(in, "keystone", "username"),
                  inspector_string(in, "keystone", "project_name"),
                  r->reason, (long long) (r->lifetime_ns / 1000000000),
                  r->endpoints);
    } else {
        vlog_write_rl(&in->os_rl, VLOG_LEVEL_ERR, MOD, "Keystone at %s: "
                      "authentication (%s) failed: %s",
                      inspector_string(in, "keystone", "auth_url"),
                      r->reason, r->error);
    }
}

static int
inspector_start_openstack(struct inspector *in)
{
    struct keystone_options ko = { 0 };
    struct nova_options no = { 0 };
    struct httpc_options ho = { 0 };
    int error = 0;

    if (!inspector_bool(in, "nova", "enabled")) {
        if (inspector_bool(in, "neutron", "data_plane_status")) {
            VLOG_WARN(MOD, "[neutron] data_plane_status needs [nova] "
                      "enabled; ignored");
        }
        return 0;
    }
    ko.auth_url = inspector_string(in, "keystone", "auth_url");
    ko.username = inspector_string(in, "keystone", "username");
    ko.password = inspector_string(in, "keystone", "password");
    ko.project_name = inspector_string(in, "keystone", "project_name");
    if (!ko.auth_url[0] || !ko.username[0] || !ko.password[0]
        || !ko.project_name[0]) {
        VLOG_ERR(MOD, "[nova] enabled needs [keystone] auth_url, username, "
                 "password and project_name");
        return -EINVAL;
    }
    ho.timeout_ms = (long) inspector_int(in, "nova", "timeout_ms");
    ho.max_host_connections = (long) inspector_int(in, "nova",
                                                   "max_connections");
    ho.max_response_size = 16 * 1024 * 1024;
    in->os_client = httpc_new(in->base, &ho);
    if (!in->os_client) {
        return -ENOMEM;
    }
    ko.user_domain_name = inspector_string(in, "keystone",
                                           "user_domain_name");
    ko.project_domain_name = inspector_string(in, "keystone",
                                              "project_domain_name");
    ko.region_name = inspector_string(in, "keystone", "region_name");
    ko.interface = inspector_string(in, "keystone", "interface");
    ko.timeout_ms = (long) inspector_int(in, "keystone", "timeout_ms");
    ko.renew_before_ns = inspector_int(in, "keystone", "renew_before_s")
                         * 1000000000LL;
    ko.metrics = in->metrics;
    ko.metrics_prefix = "vigil_inspector";
    ko.on_auth = inspector_on_auth;
    ko.arg = in;
    in->keystone = keystone_new(in->base, in->os_client, &ko, &error);
    if (!in->keystone) {
        VLOG_ERR(MOD, "[keystone]: %s", error == -EINVAL
                 ? "auth_url must be http(s) and every value at most 2048 "
                   "characters" : strerror(-error));
        return error;
    }
    no.microversion = inspector_string(in, "nova", "microversion");
    no.timeout_ms = ho.timeout_ms;
    no.page_size = (unsigned int) inspector_int(in, "nova", "page_size");
    in->nova = nova_new(in->keystone, &no, &error);
    if (!in->nova) {
        VLOG_ERR(MOD, "[nova] microversion: expected 2.N, got '%s'",
                 no.microversion);
        return error;
    }
    if (inspector_bool(in, "neutron", "data_plane_status")) {
        struct neutron_options neo = { .timeout_ms = ho.timeout_ms };

        in->neutron = neutron_new(in->keystone, &neo);
        if (!in->neutron) {
            return -ENOMEM;
        }
    }
    return keystone_authenticate(in->keystone);
}

static int
inspector_start_fence(struct inspector *in)
{
    struct fence_options fo = { 0 };
    const char *mode = inspector_string(in, "fence", "mode");
    int error = 0;

    if (fence_mode_from_string(mode, &fo.mode)) {
        VLOG_ERR(MOD, "[fence] mode: expected none, command or http, got "
                 "'%s'", mode);
        return -EINVAL;
    }
    if (fo.mode == FENCE_NONE) {
        return 0;
    }
    fo.command = inspector_string(in, "fence", "command");
    fo.url = inspector_string(in, "fence", "url");
    fo.method = inspector_string(in, "fence", "method");
    fo.body = inspector_string(in, "fence", "body");
    fo.header = inspector_string(in, "fence", "header");
    fo.timeout_ms = (long) inspector_int(in, "fence", "timeout_ms");
    if (fo.mode == FENCE_HTTP && !in->os_client) {
        struct httpc_options ho = { .timeout_ms = fo.timeout_ms };

        in->os_client = httpc_new(in->base, &ho);
        if (!in->os_client) {
            return -ENOMEM;
        }
    }
    in->fence = fence_new(in->base, in->os_client, &fo, &error);
    if (!in->fence) {
        VLOG_ERR(MOD, "[fence] mode %s needs %s", mode,
                 fo.mode == FENCE_COMMAND ? "a command" : "an http(s) url");
        return error;
    }
    VLOG_INFO(MOD, "fencing by %s (timeout %ld ms)%s", mode, fo.timeout_ms,
              inspector_bool(in, "fence", "required")
                  ? "; Nova waits for it" : "");
    return 0;
}

static int
inspector_start_host_fault(struct inspector *in)
{
    struct host_fault_options ho = { 0 };
    char err[512] = "";
    int error = 0;

    ho.base = in->base;
    ho.sender = in->sender;
    ho.log = in->log;
    ho.inventory = in->inventory;
    ho.nova = in->nova;
    ho.neutron = in->neutron;
    ho.fence = in->fence;
    ho.metrics = in->metrics;
    ho.fence_required = inspector_bool(in, "fence", "required");
    ho.force_down = inspector_bool(in, "nova", "force_down");
    ho.reset_state = inspector_bool(in, "nova", "reset_state");
    ho.unset_forced_down = inspector_bool(in, "nova",
                                          "unset_forced_down_on_recovery");
    ho.recover_instances = inspector_bool(in, "host_fault",
                                          "recover_instances");
    ho.recovery_hold_ns = inspector_int(in, "host_fault", "recovery_hold_ms")
                          * 1000000;
    ho.state_db = inspector_string(in, "inspector", "state_db");
    ho.max_hosts = (size_t) inspector_int(in, "host_fault", "max_hosts");
    in->host_fault = host_fault_new(&ho, &error, err, sizeof err);
    if (!in->host_fault) {
        VLOG_ERR(MOD, "host fault handler: %s", err[0] ? err
                 : strerror(-error));
        return error;
    }
    return 0;
}

static void
inspector_on_inventory(struct inventory *inv,
                       const struct inventory_report *r, void *arg)
{
    struct inspector *in = arg;
    const size_t *n = r->counts;

    if (r->error) {
        vlog_write_rl(&in->os_rl, VLOG_LEVEL_WARN, MOD, "host -> VM map: "
                      "Nova %s failed (%s); retrying", r->what, r->error);
        return;
    }
    metrics_gauge_set(in->m_servers, (int64_t) r->servers);
    metrics_gauge_set(in->m_synced, inventory_synced(inv) ? 1 : 0);
    if (!in->nova_announced) {
        in->nova_announced = true;
        VLOG_INFO(MOD, "Nova: maximum microversion %s, using %s (force-down "
                  "by %s)", nova_max_microversion(in->nova),
                  nova_microversion(in->nova),
                  nova_force_down_api_name(nova_force_down_api(in->nova)));
        if (!inspector_string(in, "inspector", "state_db")[0]) {
            host_fault_adopt(in->host_fault);
        }
    }
    if (!strcmp(r->what, "full")) {
        VLOG_INFO(MOD, "host -> VM map: full listing of %zu server(s) in "
                  "%.1f ms: %zu server(s) on %zu host(s) (+%zu ~%zu -%zu)",
                  r->listed, (double) r->duration_ns / 1e6, r->servers,
                  r->hosts, n[INVENTORY_ADDED], n[INVENTORY_MOVED],
                  n[INVENTORY_REMOVED] + r->removed);
    } else if (n[INVENTORY_ADDED] || n[INVENTORY_MOVED]
               || n[INVENTORY_REMOVED]) {
        VLOG_INFO(MOD, "host -> VM map: changes-since: +%zu ~%zu -%zu, now "
                  "%zu server(s) on %zu host(s)", n[INVENTORY_ADDED],
                  n[INVENTORY_MOVED], n[INVENTORY_REMOVED], r->servers,
                  r->hosts);
    } else {
        VLOG_DBG(MOD, "host -> VM map: changes-since: no change (%zu "
                 "server(s))", r->servers);
    }
}

static int
inspector_start_sync(struct inspector *in)
{
    struct inventory_sync_options so = { 0 };
    int ret;

    if (!in->nova) {
        return 0;
    }
    so.base = in->base;
    so.nova = in->nova;
    so.interval_ns = inspector_int(in, "nova", "refresh_interval_s")
                     * 1000000000LL;
    so.full_interval_ns = inspector_int(in, "nova", "full_refresh_interval_s")
                          * 1000000000LL;
    so.on_report = inspector_on_inventory;
    so.arg = in;
    ret = inventory_start_sync(in->inventory, &so);
    if (ret) {
        return ret;
    }
    VLOG_INFO(MOD, "Nova enabled: Keystone at %s, host -> VM map refreshed "
              "every %lld s", inspector_string(in, "keystone", "auth_url"),
              (long long) inspector_int(in, "nova", "refresh_interval_s"));
    return 0;
}

static int
inspector_start(struct inspector *in)
{
    struct doctor_sender_options so = { 0 };
    struct correlator_options co = { 0 };
    int error = 0;

    in->drop_rl = (struct vlog_rate_limit) VLOG_RATE_LIMIT_INIT(1, 5);
    in->os_rl = (struct vlog_rate_limit) VLOG_RATE_LIMIT_INIT(1, 5);
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
    so.batch_size = (size_t) inspector_int(in, "notifier", "batch_size");
    so.max_body_size = (size_t) inspector_int(in, "notifier", "max_body_size");
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
    error = inspector_start_inventory(in);
    if (!error) {
        error = inspector_start_openstack(in);
    }
    if (!error) {
        error = inspector_start_fence(in);
    }
    if (!error) {
        error = inspector_start_host_fault(in);
    }
    if (error) {
        return error;
    }
    co.host_fault = in->host_fault;
    co.inventory = in->inventory;
    in->correlator = correlator_new(&co, in->sender, in->log, in->metrics);
    if (!in->correlator) {
        return -ENOMEM;
    }
    VLOG_INFO(MOD, "alarms go to the notifier at %s", so.url);
    error = inspector_start_sync(in);
    if (error) {
        return error;
    }
    return inspector_start_api(in);
}

static void
inspector_stop(struct inspector *in)
{
    httpd_free(in->httpd);
    inspector_api_free(in->api);
    correlator_free(in->correlator);
    /* The clients after the handler that calls them, the HTTP client
     * last: their outstanding calls then end unseen. */
    host_fault_free(in->host_fault);
    fence_free(in->fence);
    neutron_free(in->neutron);
    nova_free(in->nova);
    inventory_free(in->inventory);
    keystone_free(in->keystone);
    httpc_free(in->os_client);
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
