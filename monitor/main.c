/* vigil-monitor: detects VM and host faults on one compute host and
 * reports them to the inspector as Doctor events.
 *
 * Threads: the libvirt thread (vmwatch) detects VM faults and hands each
 * one, through handoff, to the main thread's libevent loop, which turns it
 * into a Doctor event and sends it to the inspector with a doctor_sender
 * (one ordered pipe, coalescing, retries, bounded queue). The host-level
 * detectors hand the loop Doctor events: linkwatch (NIC links, rtnetlink)
 * and procwatch (vital processes, pidfds and the proc connector) run on
 * the loop; heartbeat (peers' liveness: UDP heartbeats, k-of-n) runs on a
 * real-time thread of its own. The loop also serves /metrics (httpd) and
 * handles SIGTERM/SIGINT. The sender does not log: the callbacks here log
 * the inspector's reachability and every drop.
 *
 * main() reads: parse the command line and configuration -> metrics ->
 * sender (HTTP client) -> HTTP server -> hand-off and libvirt watcher ->
 * heartbeat -> link watcher -> process watcher -> signals -> libvirt
 * thread -> loop -> tear down in reverse. */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "doctor_event.h"
#include "doctor_sender.h"
#include "handoff.h"
#include "heartbeat.h"
#include "heartbeat_wire.h"
#include "httpd.h"
#include "linkwatch.h"
#include "metrics.h"
#include "procwatch.h"
#include "vlog.h"
#include "vmevent.h"
#include "vmwatch.h"
#include "vtime.h"

#define MONITOR_MODULE "monitor"
#define MONITOR_REPORT_MODULE "reporter"
#define MONITOR_STILL_DOWN_LOG_NS (30 * 1000000000LL)

/* Longest comma-separated list option, in bytes. */
#define MONITOR_LIST_MAX_LENGTH 65536

static const struct config_option monitor_options[] = {
    DAEMON_COMMON_OPTIONS,
    { "libvirt", "enabled", CONFIG_BOOL, "true", 0, 0,
      "Watch the host's VMs through libvirt; false for a monitor that only "
      "watches hosts (heartbeats, NICs, processes)." },
    { "libvirt", "uri", CONFIG_STRING, "qemu:///system", 0, 0,
      "libvirt connection URI." },
    { "libvirt", "read_only", CONFIG_BOOL, "true", 0, 0,
      "Open a read-only connection (enough for events and domain states)." },
    { "libvirt", "keepalive_interval", CONFIG_INT, "1", 0, 3600,
      "Seconds between keepalive probes to libvirtd; 0 turns keepalive off. "
      "A hung libvirtd is detected after interval * (count + 1) seconds; a "
      "dead one at once (its socket closes)." },
    { "libvirt", "keepalive_count", CONFIG_INT, "3", 0, 100,
      "Unanswered keepalive probes after which the connection is dropped "
      "and re-established." },
    { "libvirt", "reconnect_initial_ms", CONFIG_INT, "100", 1, 60000,
      "First delay before reconnecting to libvirt; doubles after each "
      "failed attempt." },
    { "libvirt", "reconnect_max_ms", CONFIG_INT, "5000", 1, 3600000,
      "Longest delay between reconnection attempts." },
    { "monitor", "hostname", CONFIG_STRING, NULL, 0, 0,
      "Host name put in events (Nova's name for this compute host); "
      "default: the system host name." },
    { "monitor", "events", CONFIG_STRING, "all", 0, 0,
      "Comma-separated libvirt event kinds to report: lifecycle, watchdog, "
      "io_error, io_error_reason, control_error, reconcile, or all." },
    { "inspector", "url", CONFIG_STRING, "http://127.0.0.1:12345/events", 0,
      0, "Where to send Doctor events (the inspector's /events)." },
    { "inspector", "method", CONFIG_STRING, "POST", 0, 0,
      "HTTP method for events: POST or PUT (OPNFV Doctor's sample "
      "inspector takes PUT)." },
    { "inspector", "queue_size", CONFIG_INT, "10000", 1, 1000000,
      "Events held while the inspector is slow or unreachable; more are "
      "dropped and counted in vigil_monitor_events_dropped_total." },
    { "inspector", "batch_size", CONFIG_INT, "256", 1, DOCTOR_MAX_EVENTS,
      "Most events sent in one request (events queued behind a request in "
      "flight go out together)." },
    { "inspector", "timeout_ms", CONFIG_INT, "2000", 1, 600000,
      "Time limit of one attempt to send events." },
    { "inspector", "retry_attempts", CONFIG_INT, "3", 1, 100,
      "Attempts per request before the events go back into the queue." },
    { "inspector", "retry_initial_ms", CONFIG_INT, "50", 1, 60000,
      "First back-off between attempts; doubles up to retry_max_ms, also "
      "between re-sends while the inspector is unreachable." },
    { "inspector", "retry_max_ms", CONFIG_INT, "2000", 1, 3600000,
      "Longest back-off between attempts and re-sends." },
    { "inspector", "drain_ms", CONFIG_INT, "1000", 0, 60000,
      "At shutdown, how long to keep sending events already detected "
      "before giving up on them (they are then counted as dropped)." },
    { "api", "listen", CONFIG_STRING, "127.0.0.1:12347", 0, 0,
      "Address and port of the HTTP API (GET /metrics)." },
    { "heartbeat", "send_to", CONFIG_STRING, NULL, 0, 0,
      "Comma-separated host:port ([v6addr]:port) of the observers this "
      "host sends its heartbeats to; unset: it sends none." },
    { "heartbeat", "listen", CONFIG_STRING, NULL, 0, 0,
      "host:port to receive the peers' heartbeats on; unset: this monitor "
      "observes no peer." },
    { "heartbeat", "peers", CONFIG_STRING, NULL, 0, 0,
      "Comma-separated host names ([monitor] hostname of each peer) this "
      "monitor observes; heartbeats of anyone else are refused. Needs "
      "listen." },
    { "heartbeat", "key", CONFIG_STRING, NULL, 0, 0,
      "Shared HMAC-SHA256 key of the heartbeats, at least 16 bytes (better "
      "32 random ones); or key_file." },
    { "heartbeat", "key_file", CONFIG_STRING, NULL, 0, 0,
      "File holding the shared key (one trailing newline is ignored)." },
    { "heartbeat", "interval_ms", CONFIG_INT, "5", 1, 60000,
      "Time between two heartbeats sent." },
    { "heartbeat", "k", CONFIG_INT, "7", 1, HEARTBEAT_DETECT_MAX_WINDOW,
      "A peer is down when k of its last n expected heartbeats are "
      "missing." },
    { "heartbeat", "n", CONFIG_INT, "7", 1, HEARTBEAT_DETECT_MAX_WINDOW,
      "The window of k; n = k means k in a row." },
    { "heartbeat", "grace_ms", CONFIG_INT, "2", 0, 60000,
      "How late an expected heartbeat may be before it counts as "
      "missing." },
    { "heartbeat", "up_run", CONFIG_INT, "20", 1, HEARTBEAT_DETECT_MAX_WINDOW,
      "Heartbeats in a row after which a peer is up (again)." },
    { "heartbeat", "dscp", CONFIG_INT, "48", -1, 63,
      "DSCP of heartbeat packets (48 = CS6, network control); -1 leaves "
      "the system default." },
    { "heartbeat", "realtime_priority", CONFIG_INT, "10", 0, 99,
      "SCHED_FIFO priority of the heartbeat thread (sending and observing; "
      "it does nothing else), so that a busy host neither silences its "
      "heartbeats nor delays its decisions; needs CAP_SYS_NICE; 0: normal "
      "scheduling." },
    { "heartbeat", "announce_leave", CONFIG_BOOL, "true", 0, 0,
      "On a clean stop, tell the observers, so that they do not report this "
      "host down." },
    { "linkwatch", "interfaces", CONFIG_STRING, NULL, 0, 0,
      "Comma-separated network interfaces whose link state is watched "
      "(compute.host.nic.down/up); unset: none." },
    { "procwatch", "processes", CONFIG_STRING, NULL, 0, 0,
      "Comma-separated processes whose death is reported "
      "(compute.host.process.down/up): a name (comm or argv[0], e.g. "
      "nova-compute, libvirtd) or name:/absolute/pidfile; unset: none." },
    { NULL, NULL, CONFIG_TYPE_COUNT, NULL, 0, 0, NULL },
};

static const struct daemon_desc monitor_desc = {
    .name = "vigil-monitor",
    .summary = "Detects VM faults (libvirt) and host faults (heartbeats, "
               "NIC links, processes) and reports them to the Vigil (OPNFV "
               "Doctor) inspector.",
    .options = monitor_options,
};

/* A comma-separated option, split: 'items' point into 'buf'. */
struct monitor_list {
    char *buf;
    const char **items;
    size_t length;
};

struct monitor {
    struct config *cfg;
    char hostname[DOCTOR_HOSTNAME_SIZE];
    bool libvirt_enabled;
    struct vmwatch_options watch_options;
    struct doctor_sender_options sender_options;
    char listen_host[256];
    unsigned short listen_port;
    int64_t drain_ms;
    bool heartbeat_enabled;
    struct heartbeat_wire_key heartbeat_key;
    struct heartbeat_options heartbeat_options;
    struct monitor_list send_to, peers, interfaces;
    struct procwatch_spec processes[PROCWATCH_MAX_PROCESSES];
    size_t processes_length;

    struct metrics_registry *metrics;
    struct event_base *base;
    struct doctor_sender *sender;
    struct httpd *httpd;
    struct handoff *handoff;
    struct vmwatch *watch;
    struct heartbeat *heartbeat;
    struct linkwatch *linkwatch;
    struct procwatch *procwatch;
    struct daemon_signals *signals;
    struct event *drain_timer;
    bool stopping;
    int64_t drain_deadline_ns;
    struct vlog_rate_limit drop_rl;   /* libvirt thread only */
    struct vlog_rate_limit error_rl;  /* loop only */
    struct vlog_rate_limit report_rl; /* loop only: the sender's drops */
    int64_t last_down_log_ns;         /* last "still unreachable" line */
};

/* Reads an integer option that the configuration already validated. */
static int64_t
monitor_int(const struct config *cfg, const char *section, const char *key)
{
    int64_t value = 0;

    config_get_int(cfg, monitor_options, section, key, &value);
    return value;
}

static void
monitor_list_clear(struct monitor_list *list)
{
    free(list->buf);
    free(list->items);
    memset(list, 0, sizeof *list);
}

/* Splits option [section] key (unset: an empty list) at commas into
 * trimmed items; at most 'max' of them, none empty. */
static int
monitor_split(const struct config *cfg, const char *section, const char *key,
              size_t max, struct monitor_list *list)
{
    const char *text = config_get_string(cfg, monitor_options, section, key);
    char *p, *save = NULL, *item;
    size_t capacity;

    memset(list, 0, sizeof *list);
    if (!text || !text[strspn(text, " \t")]) {
        return 0;                       /* unset or blank: an empty list */
    }
    if (strlen(text) > MONITOR_LIST_MAX_LENGTH) {
        fprintf(stderr, "vigil-monitor: [%s] %s: longer than %d bytes\n",
                section, key, MONITOR_LIST_MAX_LENGTH);
        return -EINVAL;
    }
    list->buf = strdup(text);
    capacity = 1;
    for (p = list->buf; p && *p; p++) {
        capacity += *p == ',';
    }
    list->items = calloc(capacity, sizeof *list->items);
    if (!list->buf || !list->items) {
        monitor_list_clear(list);
        fprintf(stderr, "vigil-monitor: out of memory\n");
        return -ENOMEM;
    }
    /* strtok_r would skip empty items: walk the commas instead. */
    for (p = list->buf; p; p = save) {
        char *end;

        save = strchr(p, ',');
        if (save) {
            *save++ = '\0';
        }
        item = p;
        while (*item == ' ' || *item == '\t') {
            item++;
        }
        end = item + strlen(item);
        while (end > item && (end[-1] == ' ' || end[-1] == '\t')) {
            *--end = '\0';
        }
        if (!*item) {
            fprintf(stderr, "vigil-monitor: [%s] %s: empty item in '%s'\n",
                    section, key, text);
            monitor_list_clear(list);
            return -EINVAL;
        }
        if (list->length == max) {
            fprintf(stderr, "vigil-monitor: [%s] %s: more than %zu items\n",
                    section, key, max);
            monitor_list_clear(list);
            return -EINVAL;
        }
        list->items[list->length++] = item;
    }
    return 0;
}

/* [heartbeat], [linkwatch], [procwatch]. */
static int
monitor_read_host_config(struct monitor *m)
{
    const struct config *cfg = m->cfg;
    struct heartbeat_options *h = &m->heartbeat_options;
    const char *key = config_get_string(cfg, monitor_options, "heartbeat",
                                        "key");
    const char *key_file = config_get_string(cfg, monitor_options,
                                             "heartbeat", "key_file");
    const char *processes = config_get_string(cfg, monitor_options,
                                              "procwatch", "processes");
    bool announce_leave = true;
    char err[256];
    int ret;

    if ((ret = monitor_split(cfg, "heartbeat", "send_to",
                             HEARTBEAT_MAX_DESTINATIONS, &m->send_to)) ||
        (ret = monitor_split(cfg, "heartbeat", "peers", HEARTBEAT_MAX_PEERS,
                             &m->peers)) ||
        (ret = monitor_split(cfg, "linkwatch", "interfaces",
                             LINKWATCH_MAX_INTERFACES, &m->interfaces))) {
        return ret;
    }
    h->listen = config_get_string(cfg, monitor_options, "heartbeat",
                                  "listen");
    m->heartbeat_enabled = m->send_to.length || h->listen;
    if (m->peers.length && !h->listen) {
        fprintf(stderr, "vigil-monitor: [heartbeat] peers: set listen too "
                "(where their heartbeats arrive)\n");
        return -EINVAL;
    }
    if (h->listen && !m->peers.length) {
        fprintf(stderr, "vigil-monitor: [heartbeat] listen: set peers too "
                "(whom to observe)\n");
        return -EINVAL;
    }
    if (m->heartbeat_enabled) {
        if (!heartbeat_wire_hostname_valid(m->hostname)) {
            fprintf(stderr, "vigil-monitor: [monitor] hostname '%s': "
                    "heartbeats need letters, digits, '.', '-' and '_' "
                    "only\n", m->hostname);
            return -EINVAL;
        }
        if (!key == !key_file) {
            fprintf(stderr, "vigil-monitor: [heartbeat]: set one of key and "
                    "key_file\n");
            return -EINVAL;
        }
        ret = key ? heartbeat_wire_key_set(&m->heartbeat_key, key,
                                           strlen(key))
                  : heartbeat_wire_key_load(&m->heartbeat_key, key_file);
        if (ret) {
            fprintf(stderr, "vigil-monitor: [heartbeat] %s: %s\n",
                    key ? "key" : key_file,
                    ret == -EINVAL ? "the key must be at least 16 bytes"
                    : ret == -EFBIG ? "the key must be at most 1024 bytes"
                    : strerror(-ret));
            return -EINVAL;
        }
        for (size_t i = 0; i < m->peers.length; i++) {
            if (!heartbeat_wire_hostname_valid(m->peers.items[i]) ||
                !strcmp(m->peers.items[i], m->hostname)) {
                fprintf(stderr, "vigil-monitor: [heartbeat] peers: '%s' is "
                        "not a valid peer host name\n", m->peers.items[i]);
                return -EINVAL;
            }
        }
    }
    config_get_bool(cfg, monitor_options, "heartbeat", "announce_leave",
                    &announce_leave);
    h->hostname = m->hostname;
    h->key = &m->heartbeat_key;
    h->interval_us = (uint32_t) monitor_int(cfg, "heartbeat",
                                            "interval_ms") * 1000;
    h->dscp = (int) monitor_int(cfg, "heartbeat", "dscp");
    h->realtime_priority = (int) monitor_int(cfg, "heartbeat",
                                             "realtime_priority");
    h->announce_leave = announce_leave;
    h->destinations = m->send_to.items;
    h->destinations_length = m->send_to.length;
    h->peers = m->peers.items;
    h->peers_length = m->peers.length;
    h->detect.k = (unsigned int) monitor_int(cfg, "heartbeat", "k");
    h->detect.n = (unsigned int) monitor_int(cfg, "heartbeat", "n");
    h->detect.grace_ns = monitor_int(cfg, "heartbeat", "grace_ms") *
                         1000000;
    h->detect.up_run = (unsigned int) monitor_int(cfg, "heartbeat",
                                                  "up_run");
    if (h->detect.k > h->detect.n) {
        fprintf(stderr, "vigil-monitor: [heartbeat] k (%u) is above n "
                "(%u)\n", h->detect.k, h->detect.n);
        return -EINVAL;
    }
    for (size_t i = 0; i < m->interfaces.length; i++) {
        if (!linkwatch_name_valid(m->interfaces.items[i])) {
            fprintf(stderr, "vigil-monitor: [linkwatch] interfaces: '%s' is "
                    "not an interface name\n", m->interfaces.items[i]);
            return -EINVAL;
        }
    }
    if (processes && procwatch_parse(processes, m->processes,
                                     PROCWATCH_MAX_PROCESSES,
                                     &m->processes_length, err,
                                     sizeof err)) {
        fprintf(stderr, "vigil-monitor: [procwatch] processes: %s\n", err);
        return -EINVAL;
    }
    return 0;
}

static int
monitor_read_config(struct monitor *m)
{
    const struct config *cfg = m->cfg;
    const char *hostname = config_get_string(cfg, monitor_options, "monitor",
                                             "hostname");
    const char *listen = config_get_string(cfg, monitor_options, "api",
                                           "listen");
    const char *method = config_get_string(cfg, monitor_options, "inspector",
                                           "method");
    struct vmwatch_options *w = &m->watch_options;
    struct doctor_sender_options *r = &m->sender_options;
    bool read_only = true;
    char err[256];

    if (hostname) {
        if (!hostname[0] || strlen(hostname) >= sizeof m->hostname) {
            fprintf(stderr, "vigil-monitor: [monitor] hostname: must be 1 "
                    "to %zu bytes\n", sizeof m->hostname - 1);
            return -EINVAL;
        }
        snprintf(m->hostname, sizeof m->hostname, "%s", hostname);
    } else if (gethostname(m->hostname, sizeof m->hostname - 1)) {
        fprintf(stderr, "vigil-monitor: cannot read the host name: %s; set "
                "[monitor] hostname\n", strerror(errno));
        return -errno;
    }
    config_get_bool(cfg, monitor_options, "libvirt", "enabled",
                    &m->libvirt_enabled);
    config_get_bool(cfg, monitor_options, "libvirt", "read_only", &read_only);
    w->uri = config_get_string(cfg, monitor_options, "libvirt", "uri");
    w->read_only = read_only;
    w->keepalive_interval_s = (int) monitor_int(cfg, "libvirt",
                                                "keepalive_interval");
    w->keepalive_count = (unsigned int) monitor_int(cfg, "libvirt",
                                                    "keepalive_count");
    w->reconnect_initial_ms = (unsigned int) monitor_int(
        cfg, "libvirt", "reconnect_initial_ms");
    w->reconnect_max_ms = (unsigned int) monitor_int(cfg, "libvirt",
                                                     "reconnect_max_ms");
    if (w->reconnect_max_ms < w->reconnect_initial_ms) {
        fprintf(stderr, "vigil-monitor: [libvirt] reconnect_max_ms (%u) is "
                "below reconnect_initial_ms (%u)\n", w->reconnect_max_ms,
                w->reconnect_initial_ms);
        return -EINVAL;
    }
    if (vmevent_parse_kinds(config_get_string(cfg, monitor_options,
                                              "monitor", "events"),
                            &w->kinds, err, sizeof err)) {
        fprintf(stderr, "vigil-monitor: [monitor] events: %s\n", err);
        return -EINVAL;
    }
    r->url = config_get_string(cfg, monitor_options, "inspector", "url");
    if (strcmp(method, "POST") && strcmp(method, "PUT")) {
        fprintf(stderr, "vigil-monitor: [inspector] method: expected POST "
                "or PUT, got '%s'\n", method);
        return -EINVAL;
    }
    r->method = method;
    r->queue_size = (size_t) monitor_int(cfg, "inspector", "queue_size");
    r->batch_size = (size_t) monitor_int(cfg, "inspector", "batch_size");
    r->timeout_ms = (long) monitor_int(cfg, "inspector", "timeout_ms");
    r->retry.max_attempts = (unsigned int) monitor_int(cfg, "inspector",
                                                       "retry_attempts");
    r->retry.initial_backoff_ms = (unsigned int) monitor_int(
        cfg, "inspector", "retry_initial_ms");
    r->retry.max_backoff_ms = (unsigned int) monitor_int(cfg, "inspector",
                                                         "retry_max_ms");
    if (r->retry.max_backoff_ms < r->retry.initial_backoff_ms) {
        fprintf(stderr, "vigil-monitor: [inspector] retry_max_ms (%u) is "
                "below retry_initial_ms (%u)\n", r->retry.max_backoff_ms,
                r->retry.initial_backoff_ms);
        return -EINVAL;
    }
    r->metrics_prefix = "vigil_monitor";
    r->latency_stamp = DOCTOR_T01;
    m->drain_ms = monitor_int(cfg, "inspector", "drain_ms");
    if (daemon_split_hostport(listen, m->listen_host, sizeof m->listen_host,
                              &m->listen_port)) {
        fprintf(stderr, "vigil-monitor: [api] listen: expected host:port, "
                "got '%s'\n", listen);
        return -EINVAL;
    }
    return monitor_read_host_config(m);
}

/* Libvirt thread: passes a detected event to the loop. */
static void
monitor_emit(struct vmevent *ev, void *arg)
{
    struct monitor *m = arg;

    if (handoff_push(m->handoff, ev)) {
        doctor_sender_count_dropped(m->sender, 1);
        vlog_write_rl(&m->drop_rl, VLOG_LEVEL_WARN, MONITOR_MODULE,
                      "hand-off queue full: event of instance %s dropped",
                      ev->instance_uuid);
        free(ev);
    }
}

/* Loop: sends one detected event. */
static void
monitor_on_event(void *item, void *arg)
{
    struct vmevent *ev = item;
    struct monitor *m = arg;
    struct doctor_event de;
    int ret;

    ret = vmevent_to_doctor(ev, m->hostname, &de);
    if (ret) {
        doctor_sender_count_dropped(m->sender, 1);
        vlog_write_rl(&m->error_rl, VLOG_LEVEL_ERR, MONITOR_MODULE,
                      "cannot build the event of instance %s: %s",
                      ev->instance_uuid, strerror(-ret));
    } else {
        /* A refusal is counted and logged by monitor_on_drop(). */
        doctor_sender_send(m->sender, &de, 1);
        doctor_event_clear(&de);
    }
    free(ev);
}

/* Loop: a host-level detector (heartbeat, linkwatch, procwatch) found a
 * fault or a recovery. */
static void
monitor_on_host_event(const struct doctor_event *ev, void *arg)
{
    struct monitor *m = arg;

    /* A refusal is counted and logged by monitor_on_drop(). */
    doctor_sender_send(m->sender, ev, 1);
}

/* What a dropped event is about, for the log. */
static const char *
monitor_subject(const struct doctor_event *ev)
{
    return ev->instance_uuid[0] ? ev->instance_uuid : ev->hostname;
}

/* Loop: the inspector was lost, is still lost, or answers again. */
static void
monitor_on_inspector_state(struct doctor_sender *sender,
                           const struct doctor_sender_state *st, void *arg)
{
    struct monitor *m = arg;
    const char *url = m->sender_options.url;
    struct doctor_sender_stats stats;
    int64_t now = vtime_mono_ns();

    doctor_sender_get_stats(sender, &stats);
    if (st->reachable) {
        VLOG_INFO(MONITOR_REPORT_MODULE, "inspector at %s reachable again "
                  "after %lld ms: %zu events delivered, %zu still queued",
                  url, (long long) (st->outage_ns / 1000000), st->delivered,
                  stats.queued);
    } else if (st->changed) {
        m->last_down_log_ns = now;
        VLOG_WARN(MONITOR_REPORT_MODULE, "inspector at %s unreachable (%s): "
                  "%zu events queued, retrying", url, st->error,
                  stats.queued);
    } else if (now - m->last_down_log_ns >= MONITOR_STILL_DOWN_LOG_NS) {
        m->last_down_log_ns = now;
        VLOG_WARN(MONITOR_REPORT_MODULE, "inspector at %s still unreachable "
                  "after %lld s (%s): %zu events queued, %llu dropped so far",
                  url, (long long) (st->outage_ns / 1000000000), st->error,
                  stats.queued, (unsigned long long) stats.dropped);
    }
}

/* Loop: events the sender dropped (already counted). */
static void
monitor_on_drop(struct doctor_sender *sender,
                const struct doctor_sender_drop *drop, void *arg)
{
    struct monitor *m = arg;
    const char *url = m->sender_options.url;

    switch (drop->reason) {
    case DOCTOR_SENDER_DROP_FULL:
        vlog_write_rl(&m->report_rl, VLOG_LEVEL_WARN, MONITOR_REPORT_MODULE,
                      "queue full (%zu events for %s): %s of %s dropped",
                      doctor_sender_queued(sender), url,
                      drop->events[0].type,
                      monitor_subject(&drop->events[0]));
        break;
    case DOCTOR_SENDER_DROP_NOMEM:
        vlog_write_rl(&m->report_rl, VLOG_LEVEL_ERR, MONITOR_REPORT_MODULE,
                      "out of memory: %s of %s dropped",
                      drop->events[0].type,
                      monitor_subject(&drop->events[0]));
        break;
    case DOCTOR_SENDER_DROP_REJECTED:
        vlog_write_rl(&m->report_rl, VLOG_LEVEL_ERR, MONITOR_REPORT_MODULE,
                      "inspector at %s rejected %zu events (HTTP %ld): "
                      "%.200s", url, drop->length, drop->status,
                      drop->answer);
        break;
    case DOCTOR_SENDER_DROP_SHUTDOWN:
        VLOG_WARN(MONITOR_REPORT_MODULE, "%zu events not reported to %s at "
                  "shutdown", drop->length, url);
        break;
    case DOCTOR_SENDER_DROP_UPSTREAM:
    case DOCTOR_SENDER_DROP_REASON_COUNT:
        break;
    }
}

static void
monitor_free_event(void *item)
{
    free(item);
}

/* Events detected but not yet accepted by the inspector. */
static size_t
monitor_undelivered(const struct monitor *m)
{
    return (m->handoff ? handoff_length(m->handoff) : 0) +
           doctor_sender_queued(m->sender);
}

/* Stops every detector: nothing new is detected after this. The heartbeat
 * says goodbye to its observers (when configured), so that a clean stop is
 * not taken for a host fault. */
static void
monitor_stop_detectors(struct monitor *m)
{
    /* Joins the libvirt thread: nothing is pushed into the hand-off after
     * this. */
    vmwatch_free(m->watch);
    m->watch = NULL;
    procwatch_free(m->procwatch);
    m->procwatch = NULL;
    linkwatch_free(m->linkwatch);
    m->linkwatch = NULL;
    heartbeat_free(m->heartbeat);
    m->heartbeat = NULL;
}

/* Shutting down: stops the loop once every detected event is delivered or
 * the drain time is over. */
static void
monitor_on_drain(evutil_socket_t fd, short what, void *arg)
{
    struct monitor *m = arg;
    struct timeval tick = { 0, 10000 };

    (void) fd;
    (void) what;
    if (monitor_undelivered(m) == 0 ||
        vtime_mono_ns() >= m->drain_deadline_ns) {
        event_base_loopbreak(m->base);
        return;
    }
    evtimer_add(m->drain_timer, &tick);
}

static void
monitor_stop(void *arg, int signo)
{
    struct monitor *m = arg;
    const char *name = signo == SIGINT ? "SIGINT" : "SIGTERM";
    size_t undelivered;

    if (m->stopping) {
        VLOG_INFO(MONITOR_MODULE, "%s received again: stopping now", name);
        event_base_loopbreak(m->base);
        return;
    }
    m->stopping = true;
    monitor_stop_detectors(m);
    undelivered = monitor_undelivered(m);
    if (undelivered == 0 || m->drain_ms == 0) {
        VLOG_INFO(MONITOR_MODULE, "%s received: shutting down", name);
        event_base_loopbreak(m->base);
        return;
    }
    VLOG_INFO(MONITOR_MODULE, "%s received: shutting down once %zu events "
              "are delivered (at most %lld ms)", name, undelivered,
              (long long) m->drain_ms);
    m->drain_deadline_ns = vtime_mono_ns() + m->drain_ms * 1000000;
    monitor_on_drain(-1, 0, m);
}

/* The detectors on the loop: heartbeat, links, processes (as configured). */
static int
monitor_start_host_detectors(struct monitor *m)
{
    struct linkwatch_options links = {
        .hostname = m->hostname, .interfaces = m->interfaces.items,
        .interfaces_length = m->interfaces.length, .metrics = m->metrics,
    };
    struct procwatch_options processes = {
        .hostname = m->hostname, .specs = m->processes,
        .specs_length = m->processes_length, .metrics = m->metrics,
    };
    int ret;

    if (m->heartbeat_enabled) {
        m->heartbeat_options.metrics = m->metrics;
        m->heartbeat = heartbeat_new(m->base, &m->heartbeat_options,
                                     monitor_on_host_event, m, &ret);
        if (!m->heartbeat) {
            VLOG_ERR(MONITOR_MODULE, "cannot set up the heartbeats (listen "
                     "%s, %zu destinations): %s",
                     m->heartbeat_options.listen
                     ? m->heartbeat_options.listen : "none",
                     m->send_to.length, strerror(-ret));
            return ret;
        }
    }
    if (m->interfaces.length) {
        m->linkwatch = linkwatch_new(m->base, &links, monitor_on_host_event,
                                     m, &ret);
        if (!m->linkwatch) {
            VLOG_ERR(MONITOR_MODULE, "cannot watch the network interfaces: "
                     "%s", strerror(-ret));
            return ret;
        }
    }
    if (m->processes_length) {
        m->procwatch = procwatch_new(m->base, &processes,
                                     monitor_on_host_event, m, &ret);
        if (!m->procwatch) {
            VLOG_ERR(MONITOR_MODULE, "cannot watch the processes: %s",
                     strerror(-ret));
            return ret;
        }
    }
    return 0;
}

static int
monitor_start(struct monitor *m)
{
    struct httpd_options http = { 0 };
    int ret;

    m->drop_rl = (struct vlog_rate_limit) VLOG_RATE_LIMIT_INIT(1, 5);
    m->error_rl = (struct vlog_rate_limit) VLOG_RATE_LIMIT_INIT(1, 5);
    m->report_rl = (struct vlog_rate_limit) VLOG_RATE_LIMIT_INIT(1, 5);
    m->metrics = metrics_registry_new();
    m->base = event_base_new();
    if (!m->metrics || !m->base) {
        VLOG_ERR(MONITOR_MODULE, "out of memory");
        return -ENOMEM;
    }
    m->sender_options.metrics = m->metrics;
    m->sender_options.on_state = monitor_on_inspector_state;
    m->sender_options.on_drop = monitor_on_drop;
    m->sender_options.arg = m;
    m->sender = doctor_sender_new(m->base, &m->sender_options, &ret);
    if (!m->sender) {
        VLOG_ERR(MONITOR_MODULE, "cannot set up the sender to %s: %s",
                 m->sender_options.url, strerror(-ret));
        return ret;
    }
    http.address = m->listen_host;
    http.port = m->listen_port;
    http.metrics = m->metrics;
    http.name = "vigil_monitor";
    m->httpd = httpd_new(m->base, &http, &ret);
    if (!m->httpd) {
        VLOG_ERR(MONITOR_MODULE, "cannot listen on %s:%u: %s",
                 m->listen_host, m->listen_port, strerror(-ret));
        return ret;
    }
    if (m->libvirt_enabled) {
        m->handoff = handoff_new(m->base, m->sender_options.queue_size,
                                 monitor_on_event, monitor_free_event, m,
                                 &ret);
        if (!m->handoff) {
            VLOG_ERR(MONITOR_MODULE, "cannot set up the event hand-off: %s",
                     strerror(-ret));
            return ret;
        }
        m->watch_options.metrics = m->metrics;
        m->watch = vmwatch_new(&m->watch_options, monitor_emit, m, &ret);
        if (!m->watch) {
            VLOG_ERR(MONITOR_MODULE, "cannot set up the libvirt watcher: %s",
                     strerror(-ret));
            return ret;
        }
    }
    ret = monitor_start_host_detectors(m);
    if (ret) {
        return ret;
    }
    m->drain_timer = evtimer_new(m->base, monitor_on_drain, m);
    m->signals = daemon_signals_new(m->base, monitor_stop, m);
    if (!m->drain_timer || !m->signals) {
        VLOG_ERR(MONITOR_MODULE, "cannot install signal handlers");
        return -ENOMEM;
    }
    if (m->watch) {
        ret = vmwatch_start(m->watch);
        if (ret) {
            VLOG_ERR(MONITOR_MODULE, "cannot start the libvirt thread: %s",
                     strerror(-ret));
            return ret;
        }
    }
    VLOG_INFO(MONITOR_MODULE, "vigil-monitor %s on host %s: libvirt %s, "
              "%zu heartbeat destinations, %zu peers observed%s%s, %zu "
              "interfaces, %zu processes watched; inspector %s %s, metrics "
              "on http://%s:%u/metrics", VIGIL_VERSION, m->hostname,
              m->libvirt_enabled ? m->watch_options.uri : "off",
              m->send_to.length, m->peers.length,
              m->heartbeat_options.listen ? " on " : "",
              m->heartbeat_options.listen ? m->heartbeat_options.listen : "",
              m->interfaces.length, m->processes_length,
              m->sender_options.method, m->sender_options.url,
              m->listen_host, httpd_port(m->httpd));
    return 0;
}

static void
monitor_teardown(struct monitor *m)
{
    size_t left;

    daemon_signals_free(m->signals);
    if (m->drain_timer) {
        event_free(m->drain_timer);
    }
    monitor_stop_detectors(m);
    left = m->handoff ? handoff_length(m->handoff) : 0;
    if (left) {
        doctor_sender_count_dropped(m->sender, left);
        VLOG_WARN(MONITOR_MODULE, "%zu detected events not sent at shutdown",
                  left);
    }
    handoff_free(m->handoff);
    httpd_free(m->httpd);
    /* Events still queued are logged by monitor_on_drop(). */
    doctor_sender_free(m->sender);
    if (m->base) {
        event_base_free(m->base);
    }
    metrics_registry_free(m->metrics);
    monitor_list_clear(&m->send_to);
    monitor_list_clear(&m->peers);
    monitor_list_clear(&m->interfaces);
    memset(&m->heartbeat_key, 0, sizeof m->heartbeat_key);
    config_free(m->cfg);
}

int
main(int argc, char **argv)
{
    struct monitor m;
    int ret;

    memset(&m, 0, sizeof m);
    ret = daemon_parse_args(&monitor_desc, argc, argv, &m.cfg);
    if (ret) {
        return ret > 0 ? EXIT_SUCCESS : 2;
    }
    ret = monitor_read_config(&m);
    if (!ret) {
        ret = monitor_start(&m);
    }
    if (!ret && event_base_dispatch(m.base) < 0) {
        VLOG_ERR(MONITOR_MODULE, "event loop failed");
        ret = -EIO;
    }
    monitor_teardown(&m);
    if (!ret) {
        VLOG_INFO(MONITOR_MODULE, "stopped");
    }
    return ret ? EXIT_FAILURE : EXIT_SUCCESS;
}
