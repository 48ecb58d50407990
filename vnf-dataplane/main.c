/* vigil-upf: a DPDK GTP-U user plane (SGW-U/PGW-U, 5G UPF on N3/N6)
 * driven by PFCP.
 *
 * main() reads: configuration -> EAL (from [eal] args) -> data plane
 * (pool, tables, ports, workers: upf_dp) -> sessions (upf_session) ->
 * event loop with the PFCP node (upf_node), the HTTP API (/metrics and
 * /v1/...), the punt poller and the metrics sync -> workers started ->
 * loop -> teardown in reverse, ports closed and rte_eal_cleanup(). The
 * workers run on the EAL's worker lcores; everything else, including
 * PFCP, on the main lcore. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_ethdev.h>

#include "daemon.h"
#include "httpd.h"
#include "metrics.h"
#include "upf_dp.h"
#include "upf_metrics.h"
#include "upf_node.h"
#include "upf_port.h"
#include "upf_session.h"
#include "vlog.h"
#include "vtime.h"

#define MOD "upf"
#define MAX_EAL_ARGS 64
#define PUNT_POLL_US 1000
#define METRICS_SYNC_MS 100

static const struct config_option upf_options[] = {
    DAEMON_COMMON_OPTIONS,
    { "eal", "args", CONFIG_STRING, NULL, 0, 0,
      "DPDK EAL arguments, space separated, e.g. \"-l 0-1 --no-huge "
      "--no-pci -m 512 --file-prefix=upf "
      "--vdev=net_af_packet0,iface=n3 --vdev=net_af_packet1,iface=n6\". "
      "The first lcore is the main lcore (PFCP, API); every other one runs "
      "a worker, which needs one RX/TX queue on each port." },
    { "dataplane", "access_port", CONFIG_INT, "0", 0, 1023,
      "DPDK port id of the access side (N3/S1-U, GTP-U)." },
    { "dataplane", "core_port", CONFIG_INT, "1", 0, 1023,
      "DPDK port id of the core side (N6/SGi, IP)." },
    { "dataplane", "max_sessions", CONFIG_INT, "100000", 1, 10000000,
      "PFCP sessions held at most." },
    { "dataplane", "max_pdrs", CONFIG_INT, "0", 0, 100000000,
      "Entries of each session table (TEIDs, UE addresses); 0: twice "
      "max_sessions." },
    { "dataplane", "mbufs", CONFIG_INT, "16383", 1023, 16777215,
      "Packet buffers in the pool." },
    { "dataplane", "rx_desc", CONFIG_INT, "1024", 32, 16384,
      "RX descriptors per queue." },
    { "dataplane", "tx_desc", CONFIG_INT, "1024", 32, 16384,
      "TX descriptors per queue." },
    { "dataplane", "ring_size", CONFIG_INT, "1024", 64, 65536,
      "Packets in flight between a worker and the main lcore (each way); "
      "rounded down to a power of 2." },
    { "dataplane", "idle_sleep_us", CONFIG_INT, "0", 0, 100000,
      "A worker that found no packet in a while sleeps this long (0: poll "
      "without pause, the lowest latency)." },
    { "dataplane", "meter_burst_ms", CONFIG_INT, "10", 1, 10000,
      "Depth of a QER's MBR bucket, in ms of traffic at the MBR." },
    { "dataplane", "buffer_packets", CONFIG_INT, "64", 0, 65536,
      "Downlink packets held per session while its FAR buffers." },
    { "dataplane", "standby", CONFIG_BOOL, "false", 0, 0,
      "Start as a standby: PFCP and the session tables work, but no "
      "worker forwards until POST /v1/activate." },
    { "gtpu", "error_indication_rate", CONFIG_INT, "100", 0, 1000000,
      "Error indications for unknown TEIDs, per worker and second (0: "
      "none)." },
    { "neighbours", "max", CONFIG_INT, "4096", 8, 1000000,
      "Neighbour (ARP) entries per side." },
    { "neighbours", "queue", CONFIG_INT, "16", 0, 4096,
      "Packets held per next hop while its MAC is resolved." },
    { "neighbours", "reachable_ms", CONFIG_INT, "30000", 100, 86400000,
      "A neighbour's MAC is confirmed again after this long (if used)." },
    { "access", "address", CONFIG_STRING, NULL, 0, 0,
      "The UPF's IPv4 address and prefix on the access side, e.g. "
      "10.1.0.1/24 (the N3 address of GTP-U tunnels)." },
    { "access", "gateway", CONFIG_STRING, "", 0, 0,
      "Router towards off-link gNBs/eNBs (empty: none)." },
    { "access", "n3_address", CONFIG_STRING, "", 0, 0,
      "The IPv4 address of the GTP-U tunnels (the F-TEIDs the UPF hands "
      "out, the source of what it encapsulates), when it is not the access "
      "address: a service address the UPF also answers for (ARP, ICMP, "
      "GTP-U); it moves with the service in an active/standby pair." },
    { "access", "neighbours", CONFIG_STRING, "", 0, 0,
      "Static ARP entries, \"IPv4=MAC\" separated by spaces or commas "
      "(never probed or aged)." },
    { "core", "address", CONFIG_STRING, NULL, 0, 0,
      "The UPF's IPv4 address and prefix on the core side, e.g. "
      "10.2.0.1/24." },
    { "core", "gateway", CONFIG_STRING, "", 0, 0,
      "Router towards the data network (empty: on-link destinations "
      "only)." },
    { "core", "neighbours", CONFIG_STRING, "", 0, 0,
      "Static ARP entries on the core side, as [access] neighbours." },
    { "pfcp", "listen", CONFIG_STRING, "0.0.0.0:8805", 0, 0,
      "Address and port of the PFCP (N4/Sx) socket." },
    { "pfcp", "node_id", CONFIG_STRING, "", 0, 0,
      "The UPF's Node ID and F-SEID address (IPv4); empty: the listen "
      "address, which must then be specific." },
    { "pfcp", "heartbeat_interval_ms", CONFIG_INT, "10000", 0, 3600000,
      "Heartbeat Requests to each peer every so often (0: none)." },
    { "pfcp", "t1_ms", CONFIG_INT, "3000", 10, 600000,
      "Retransmission timer of our requests." },
    { "pfcp", "n1", CONFIG_INT, "3", 0, 100,
      "Retransmissions before a request counts as unanswered (a peer "
      "answering no heartbeat is lost with its sessions)." },
    { "pfcp", "max_associations", CONFIG_INT, "64", 1, 65536,
      "Associations with CP functions held at most." },
    { "pfcp", "response_cache_ms", CONFIG_INT, "30000", 0, 3600000,
      "Responses kept for retransmitted requests." },
    { "pfcp", "response_cache_entries", CONFIG_INT, "65536", 1, 10000000,
      "Responses kept at most." },
    { "pfcp", "tick_ms", CONFIG_INT, "100", 1, 10000,
      "Period of the PFCP timers and of the URR threshold checks." },
    { "api", "listen", CONFIG_STRING, "127.0.0.1:9105", 0, 0,
      "Address and port of the HTTP API (/metrics, /v1/...)." },
    { NULL, NULL, 0, NULL, 0, 0, NULL },
};

static const struct daemon_desc upf_desc = {
    .name = "vigil-upf",
    .summary = "Vigil user plane: DPDK GTP-U (SGW-U/PGW-U, 5G UPF) driven by "
               "PFCP.",
    .options = upf_options,
};

struct upf {
    struct config *cfg;
    bool eal_ready;
    struct upf_dp *dp;
    struct upf_sessions *sessions;
    struct event_base *base;
    struct daemon_signals *signals;
    struct metrics_registry *metrics;
    struct upf_node *node;
    struct httpd *httpd;
    struct upf_metrics *upf_metrics;
    struct event *poll_ev;
    struct event *sync_ev;
};

static int64_t
upf_int(const struct upf *u, const char *section, const char *key)
{
    return daemon_config_int(u->cfg, upf_options, section, key);
}

static const char *
upf_string(const struct upf *u, const char *section, const char *key)
{
    const char *s = config_get_string(u->cfg, upf_options, section, key);

    return s ? s : "";
}

/* "a.b.c.d" into host order. */
static int
parse_ipv4(const char *text, uint32_t *ipv4)
{
    struct in_addr a;

    if (inet_pton(AF_INET, text, &a) != 1) {
        return -EINVAL;
    }
    *ipv4 = ntohl(a.s_addr);
    return 0;
}

/* "a.b.c.d/len". */
static int
parse_prefix(const char *text, uint32_t *ipv4, uint8_t *length)
{
    char buf[INET_ADDRSTRLEN + 4];
    char *slash, *end;
    long n;

    if (strlen(text) >= sizeof buf) {
        return -EINVAL;
    }
    strcpy(buf, text);
    slash = strchr(buf, '/');
    if (!slash) {
        return -EINVAL;
    }
    *slash = '\0';
    n = strtol(slash + 1, &end, 10);
    if (*end || end == slash + 1 || n < 1 || n > 32
        || parse_ipv4(buf, ipv4)) {
        return -EINVAL;
    }
    *length = (uint8_t) n;
    return 0;
}

static void
ipv4_text(uint32_t ipv4, char *buf, size_t size)
{
    struct in_addr a = { .s_addr = htonl(ipv4) };

    inet_ntop(AF_INET, &a, buf, (socklen_t) size);
}

/* Splits [eal] args and runs rte_eal_init(). */
static int
upf_start_eal(struct upf *u)
{
    const char *args = config_get_string(u->cfg, upf_options, "eal", "args");
    char *argv[MAX_EAL_ARGS + 2];
    char *copy, *save = NULL;
    int argc = 0, ret;

    if (!args || !*args) {
        VLOG_ERR(MOD, "[eal] args is not set (the DPDK EAL arguments)");
        return -EINVAL;
    }
    copy = strdup(args);
    if (!copy) {
        return -ENOMEM;
    }
    argv[argc++] = (char *) "vigil-upf";
    for (char *tok = strtok_r(copy, " \t", &save); tok;
         tok = strtok_r(NULL, " \t", &save)) {
        if (argc == MAX_EAL_ARGS + 1) {
            VLOG_ERR(MOD, "[eal] args: more than %d arguments",
                     MAX_EAL_ARGS);
            free(copy);
            return -E2BIG;
        }
        argv[argc++] = tok;
    }
    argv[argc] = NULL;
    ret = rte_eal_init(argc, argv);
    free(copy);
    if (ret < 0) {
        VLOG_ERR(MOD, "rte_eal_init failed: %s (check [eal] args)",
                 rte_strerror(rte_errno));
        return -EINVAL;
    }
    u->eal_ready = true;
    return 0;
}

/* "aa:bb:cc:dd:ee:ff" */
static int
parse_mac(const char *text, uint8_t mac[6])
{
    unsigned int b[6];
    char extra;

    if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
               &b[4], &b[5], &extra) != 6) {
        return -EINVAL;
    }
    for (int i = 0; i < 6; i++) {
        mac[i] = (uint8_t) b[i];
    }
    return 0;
}

/* [side] neighbours: "IPv4=MAC ..." as static ARP entries. */
static int
upf_add_neighbours(struct upf *u, enum upf_side side, const char *section)
{
    const char *text = upf_string(u, section, "neighbours");
    char *copy = strdup(text), *save = NULL;
    int ret = 0;

    if (!copy) {
        return -ENOMEM;
    }
    for (char *tok = strtok_r(copy, " ,\t", &save); tok && !ret;
         tok = strtok_r(NULL, " ,\t", &save)) {
        char *eq = strchr(tok, '=');
        uint8_t mac[6];
        uint32_t ipv4;

        if (!eq) {
            ret = -EINVAL;
            break;
        }
        *eq = '\0';
        if (parse_ipv4(tok, &ipv4) || parse_mac(eq + 1, mac)) {
            ret = -EINVAL;
            break;
        }
        ret = upf_dp_add_neighbour(u->dp, side, ipv4, mac);
    }
    if (ret) {
        VLOG_ERR(MOD, "[%s] neighbours: expected \"IPv4=MAC ...\", got "
                 "'%s' (%s)", section, text, strerror(-ret));
    }
    free(copy);
    return ret;
}

static int
upf_start_dataplane(struct upf *u, uint32_t *n3_ipv4)
{
    struct upf_dp_conf c = { 0 };
    static const char *const sections[UPF_SIDE_COUNT] = { "access", "core" };
    char why[256] = "";
    int64_t ring = upf_int(u, "dataplane", "ring_size");
    int ret = 0;

    for (int s = 0; s < UPF_SIDE_COUNT; s++) {
        const char *address = upf_string(u, sections[s], "address");
        const char *gateway = upf_string(u, sections[s], "gateway");

        if (parse_prefix(address, &c.ipv4[s], &c.prefix_length[s])) {
            VLOG_ERR(MOD, "[%s] address: expected IPv4/prefix (e.g. "
                     "10.1.0.1/24), got '%s'", sections[s], address);
            return -EINVAL;
        }
        if (*gateway && parse_ipv4(gateway, &c.gateway[s])) {
            VLOG_ERR(MOD, "[%s] gateway: expected an IPv4 address, got "
                     "'%s'", sections[s], gateway);
            return -EINVAL;
        }
    }
    *n3_ipv4 = c.ipv4[UPF_SIDE_ACCESS];
    {
        const char *n3 = upf_string(u, "access", "n3_address");

        if (*n3 && parse_ipv4(n3, &c.service_ipv4[UPF_SIDE_ACCESS])) {
            VLOG_ERR(MOD, "[access] n3_address: expected an IPv4 address, "
                     "got '%s'", n3);
            return -EINVAL;
        }
        if (c.service_ipv4[UPF_SIDE_ACCESS]) {
            *n3_ipv4 = c.service_ipv4[UPF_SIDE_ACCESS];
        }
    }
    c.port_ids[UPF_SIDE_ACCESS] =
        (uint16_t) upf_int(u, "dataplane", "access_port");
    c.port_ids[UPF_SIDE_CORE] = (uint16_t) upf_int(u, "dataplane",
                                                   "core_port");
    c.max_pdrs = (uint32_t) upf_int(u, "dataplane", "max_pdrs");
    if (!c.max_pdrs) {
        c.max_pdrs = 2 * (uint32_t) upf_int(u, "dataplane", "max_sessions");
    }
    c.mbufs = (uint32_t) upf_int(u, "dataplane", "mbufs");
    c.rx_desc = (uint16_t) upf_int(u, "dataplane", "rx_desc");
    c.tx_desc = (uint16_t) upf_int(u, "dataplane", "tx_desc");
    c.ring_size = 64;
    while (c.ring_size * 2 <= ring) {
        c.ring_size = (uint16_t) (c.ring_size * 2);
    }
    c.error_indication_rate =
        (uint32_t) upf_int(u, "gtpu", "error_indication_rate");
    c.idle_sleep_us = (uint32_t) upf_int(u, "dataplane", "idle_sleep_us");
    c.neigh_max = (uint32_t) upf_int(u, "neighbours", "max");
    c.neigh_queue = (uint32_t) upf_int(u, "neighbours", "queue");
    c.neigh_reachable_ms = (uint32_t) upf_int(u, "neighbours",
                                              "reachable_ms");
    u->dp = upf_dp_new(&c, &ret, why, sizeof why);
    if (!u->dp) {
        VLOG_ERR(MOD, "data plane: %s", why);
        return ret;
    }
    for (int s = 0; s < UPF_SIDE_COUNT; s++) {
        ret = upf_add_neighbours(u, (enum upf_side) s, sections[s]);
        if (ret) {
            return ret;
        }
    }
    for (int s = 0; s < UPF_SIDE_COUNT; s++) {
        const struct upf_iface *ifc = upf_dp_iface(u->dp, (enum upf_side) s);
        char name[64], ip[INET_ADDRSTRLEN];

        upf_port_name(ifc->port_id, name, sizeof name);
        ipv4_text(ifc->ipv4, ip, sizeof ip);
        VLOG_INFO(MOD, "%s side: port %u (%s), %02x:%02x:%02x:%02x:%02x:%02x, "
                  "%s/%u", sections[s], ifc->port_id, name, ifc->mac[0],
                  ifc->mac[1], ifc->mac[2], ifc->mac[3], ifc->mac[4],
                  ifc->mac[5], ip, c.prefix_length[s]);
    }
    return 0;
}

static void
upf_on_stop(void *arg, int signo)
{
    struct upf *u = arg;

    VLOG_INFO(MOD, "received %s, shutting down", strsignal(signo));
    event_base_loopbreak(u->base);
}

static void
upf_on_poll(evutil_socket_t fd, short what, void *arg)
{
    struct upf *u = arg;

    (void) fd;
    (void) what;
    upf_dp_poll(u->dp, vtime_mono_ns(), upf_node_punt, u->node);
}

static void
upf_on_sync(evutil_socket_t fd, short what, void *arg)
{
    struct upf *u = arg;

    (void) fd;
    (void) what;
    upf_metrics_sync(u->upf_metrics);
}

/* ---- HTTP API ----------------------------------------------------------- */

static void
api_status(struct evhttp_request *req, const struct httpd_params *params,
           void *arg)
{
    static const char *const names[UPF_SIDE_COUNT] = { "access", "core" };
    struct upf *u = arg;
    json_t *body = json_pack("{s:i, s:b, s:I, s:i}", "workers",
                             (int) upf_dp_workers(u->dp),
                             "active", upf_dp_running(u->dp),
                             "recovery_time_stamp",
                             (json_int_t) upf_node_recovery_time_stamp(
                                 u->node),
                             "pfcp_port", (int) upf_node_port(u->node));

    (void) params;
    for (int s = 0; body && s < UPF_SIDE_COUNT; s++) {
        const struct upf_iface *ifc = upf_dp_iface(u->dp, (enum upf_side) s);
        char mac[18], ip[INET_ADDRSTRLEN], name[64];

        snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x",
                 ifc->mac[0], ifc->mac[1], ifc->mac[2], ifc->mac[3],
                 ifc->mac[4], ifc->mac[5]);
        ipv4_text(ifc->ipv4, ip, sizeof ip);
        upf_port_name(ifc->port_id, name, sizeof name);
        json_object_set_new(body, names[s],
                            json_pack("{s:i, s:s, s:s, s:s}", "port",
                                      ifc->port_id, "device", name, "mac",
                                      mac, "ipv4", ip));
    }
    httpd_reply_json(req, body ? 200 : 500, body);
}

static void
api_sessions(struct evhttp_request *req, const struct httpd_params *params,
             void *arg)
{
    struct upf *u = arg;
    struct upf_sessions_stats st;
    char text[32];
    long limit = 100;
    json_t *list;

    (void) params;
    switch (httpd_query_param(req, "limit", text, sizeof text)) {
    case 0: {
        char *end;

        limit = strtol(text, &end, 10);
        if (*end || limit < 0 || limit > 100000) {
            httpd_reply_error(req, 400, "limit: expected 0..100000");
            return;
        }
        break;
    }
    case -ENOENT:
        break;
    default:
        httpd_reply_error(req, 400, "malformed query");
        return;
    }
    upf_sessions_get_stats(u->sessions, &st);
    list = upf_sessions_to_json(u->sessions, (size_t) limit);
    if (!list) {
        httpd_reply_error(req, 500, "out of memory");
        return;
    }
    httpd_reply_json(req, 200, json_pack("{s:I, s:o}", "count",
                                         (json_int_t) st.sessions,
                                         "sessions", list));
}

static void
api_session(struct evhttp_request *req, const struct httpd_params *params,
            void *arg)
{
    struct upf *u = arg;
    const struct upf_session *s;
    unsigned long long seid;
    char *end;
    json_t *body;

    errno = 0;
    seid = strtoull(params->values[0], &end, 0);
    if (errno || *end) {
        httpd_reply_error(req, 400, "expected a SEID, got '%s'",
                          params->values[0]);
        return;
    }
    s = upf_sessions_find(u->sessions, seid);
    if (!s) {
        httpd_reply_error(req, 404, "no session with SEID %s",
                          params->values[0]);
        return;
    }
    body = upf_session_to_json(u->sessions, s);
    if (!body) {
        httpd_reply_error(req, 500, "out of memory");
        return;
    }
    httpd_reply_json(req, 200, body);
}

static void
api_associations(struct evhttp_request *req,
                 const struct httpd_params *params, void *arg)
{
    struct upf *u = arg;
    json_t *list = upf_node_associations_to_json(u->node);

    (void) params;
    if (!list) {
        httpd_reply_error(req, 500, "out of memory");
        return;
    }
    httpd_reply_json(req, 200, json_pack("{s:o}", "associations", list));
}

static void
api_activate(struct evhttp_request *req, const struct httpd_params *params,
             void *arg)
{
    struct upf *u = arg;
    int ret = 0;

    (void) params;
    if (!upf_dp_running(u->dp)) {
        ret = upf_dp_start(u->dp);
        if (ret) {
            httpd_reply_error(req, 500, "cannot launch the workers: %s",
                              strerror(-ret));
            return;
        }
        VLOG_INFO(MOD, "activated: %u worker(s) forwarding",
                  upf_dp_workers(u->dp));
    }
    httpd_reply_json(req, 200, json_pack("{s:b}", "active", 1));
}

static void
api_deactivate(struct evhttp_request *req, const struct httpd_params *params,
               void *arg)
{
    struct upf *u = arg;

    (void) params;
    if (upf_dp_running(u->dp)) {
        upf_dp_stop(u->dp);
        VLOG_INFO(MOD, "deactivated: standby, sessions kept, no forwarding");
    }
    httpd_reply_json(req, 200, json_pack("{s:b}", "active", 0));
}

static int
upf_start_api(struct upf *u)
{
    const char *listen = upf_string(u, "api", "listen");
    struct httpd_options ho = { 0 };
    char host[256];
    int error = 0;

    if (daemon_split_hostport(listen, host, sizeof host, &ho.port)) {
        VLOG_ERR(MOD, "[api] listen: expected HOST:PORT, got '%s'", listen);
        return -EINVAL;
    }
    ho.address = host;
    ho.metrics = u->metrics;
    ho.name = "vigil_upf";
    u->httpd = httpd_new(u->base, &ho, &error);
    if (!u->httpd) {
        VLOG_ERR(MOD, "cannot listen on %s: %s", listen, strerror(-error));
        return error;
    }
    if (httpd_route(u->httpd, EVHTTP_REQ_GET, "/v1/status", api_status, u)
        || httpd_route(u->httpd, EVHTTP_REQ_GET, "/v1/sessions",
                       api_sessions, u)
        || httpd_route(u->httpd, EVHTTP_REQ_GET, "/v1/sessions/{}",
                       api_session, u)
        || httpd_route(u->httpd, EVHTTP_REQ_GET, "/v1/associations",
                       api_associations, u)
        || httpd_route(u->httpd, EVHTTP_REQ_POST, "/v1/activate",
                       api_activate, u)
        || httpd_route(u->httpd, EVHTTP_REQ_POST, "/v1/deactivate",
                       api_deactivate, u)) {
        return -ENOMEM;
    }
    VLOG_INFO(MOD, "API listening on http://%s:%u (/metrics, /v1/status, "
              "/v1/sessions, /v1/associations)", host, httpd_port(u->httpd));
    return 0;
}

static int
upf_start_pfcp(struct upf *u, uint32_t n3_ipv4)
{
    const char *listen = upf_string(u, "pfcp", "listen");
    const char *node_id = upf_string(u, "pfcp", "node_id");
    struct upf_node_conf nc = { 0 };
    char host[256];
    uint32_t listen_ipv4 = 0;
    int ret = 0;

    if (daemon_split_hostport(listen, host, sizeof host, &nc.port)
        || parse_ipv4(host, &listen_ipv4)) {
        VLOG_ERR(MOD, "[pfcp] listen: expected IPv4:PORT, got '%s'", listen);
        return -EINVAL;
    }
    if (*node_id ? parse_ipv4(node_id, &nc.node_ipv4) != 0
                 : (nc.node_ipv4 = listen_ipv4) == 0) {
        VLOG_ERR(MOD, "[pfcp] node_id: expected an IPv4 address%s, got '%s'",
                 *node_id ? "" : " (needed when listening on 0.0.0.0)",
                 node_id);
        return -EINVAL;
    }
    nc.base = u->base;
    nc.address = host;
    nc.n3_ipv4 = n3_ipv4;
    nc.sessions = u->sessions;
    nc.metrics = u->metrics;
    nc.heartbeat_interval_ms =
        (unsigned int) upf_int(u, "pfcp", "heartbeat_interval_ms");
    nc.t1_ms = (unsigned int) upf_int(u, "pfcp", "t1_ms");
    nc.n1 = (unsigned int) upf_int(u, "pfcp", "n1");
    nc.max_associations = (unsigned int) upf_int(u, "pfcp",
                                                 "max_associations");
    nc.cache_entries = (size_t) upf_int(u, "pfcp", "response_cache_entries");
    nc.cache_ttl_ms = (unsigned int) upf_int(u, "pfcp", "response_cache_ms");
    nc.tick_ms = (unsigned int) upf_int(u, "pfcp", "tick_ms");
    u->node = upf_node_new(&nc, &ret);
    if (!u->node) {
        VLOG_ERR(MOD, "PFCP: cannot listen on %s: %s", listen,
                 strerror(-ret));
        return ret;
    }
    VLOG_INFO(MOD, "PFCP listening on %s:%u, Node ID %s", host,
              upf_node_port(u->node), *node_id ? node_id : host);
    return 0;
}

static int
upf_add_timer(struct upf *u, struct event **ev, event_callback_fn cb,
              long usec)
{
    struct timeval tv = { .tv_sec = usec / 1000000,
                          .tv_usec = usec % 1000000 };

    *ev = event_new(u->base, -1, EV_PERSIST, cb, u);
    if (!*ev || event_add(*ev, &tv)) {
        return -ENOMEM;
    }
    return 0;
}

static int
upf_start(struct upf *u)
{
    struct upf_sessions_conf sc = { 0 };
    uint32_t n3_ipv4 = 0;
    int ret;

    ret = upf_start_eal(u);
    if (!ret) {
        ret = upf_start_dataplane(u, &n3_ipv4);
    }
    if (ret) {
        return ret;
    }
    sc.dp = u->dp;
    sc.max_sessions = (uint32_t) upf_int(u, "dataplane", "max_sessions");
    sc.n3_ipv4 = n3_ipv4;
    sc.meter_burst_ms = (uint32_t) upf_int(u, "dataplane", "meter_burst_ms");
    sc.buffer_packets = (uint32_t) upf_int(u, "dataplane", "buffer_packets");
    u->sessions = upf_sessions_new(&sc, &ret);
    if (!u->sessions) {
        VLOG_ERR(MOD, "session store: %s", strerror(-ret));
        return ret;
    }
    u->base = event_base_new();
    u->metrics = metrics_registry_new();
    if (!u->base || !u->metrics) {
        return -ENOMEM;
    }
    u->signals = daemon_signals_new(u->base, upf_on_stop, u);
    if (!u->signals) {
        return -ENOMEM;
    }
    ret = upf_start_pfcp(u, n3_ipv4);
    if (!ret) {
        ret = upf_start_api(u);
    }
    if (ret) {
        return ret;
    }
    u->upf_metrics = upf_metrics_new(u->metrics, u->dp, u->sessions);
    if (!u->upf_metrics
        || upf_add_timer(u, &u->poll_ev, upf_on_poll, PUNT_POLL_US)
        || upf_add_timer(u, &u->sync_ev, upf_on_sync,
                         METRICS_SYNC_MS * 1000)) {
        return -ENOMEM;
    }
    if (daemon_config_bool(u->cfg, upf_options, "dataplane", "standby")) {
        VLOG_INFO(MOD, "vigil-upf %s ready as a standby: %u worker(s) wait "
                  "for POST /v1/activate", VIGIL_VERSION,
                  upf_dp_workers(u->dp));
        return 0;
    }
    ret = upf_dp_start(u->dp);
    if (ret) {
        VLOG_ERR(MOD, "cannot launch the workers: %s", strerror(-ret));
        return ret;
    }
    VLOG_INFO(MOD, "vigil-upf %s ready: %u worker(s)", VIGIL_VERSION,
              upf_dp_workers(u->dp));
    return 0;
}

static void
upf_stop(struct upf *u)
{
    if (u->dp) {
        upf_dp_stop(u->dp);
    }
    if (u->poll_ev) {
        event_free(u->poll_ev);
    }
    if (u->sync_ev) {
        event_free(u->sync_ev);
    }
    upf_metrics_free(u->upf_metrics);
    httpd_free(u->httpd);
    upf_node_free(u->node);
    upf_sessions_free(u->sessions);
    daemon_signals_free(u->signals);
    metrics_registry_free(u->metrics);
    if (u->base) {
        event_base_free(u->base);
    }
    upf_dp_free(u->dp);
    if (u->eal_ready) {
        rte_eal_cleanup();
    }
    config_free(u->cfg);
}

int
main(int argc, char **argv)
{
    struct upf u = { 0 };
    int ret;

    vlog_init("vigil-upf", VLOG_LEVEL_INFO);
    ret = daemon_parse_args(&upf_desc, argc, argv, &u.cfg);
    if (ret) {
        return ret > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    ret = upf_start(&u);
    if (!ret) {
        event_base_dispatch(u.base);
    }
    upf_stop(&u);
    return ret ? EXIT_FAILURE : EXIT_SUCCESS;
}
