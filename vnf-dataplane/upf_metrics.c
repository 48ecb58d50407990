/* upf_metrics: counters of the data plane into the metrics registry (see
 * upf_metrics.h). Each source counter is monotonic; the registry gets the
 * difference from the value seen at the previous sync. */
#include "upf_metrics.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>

#include "metrics.h"
#include "upf_dp.h"
#include "upf_neigh.h"
#include "upf_session.h"

static const char *const side_names[UPF_SIDE_COUNT] = { "access", "core" };

/* Names and help of the enum upf_ctr counters. */
static const struct {
    const char *name;
    const char *help;
} ctr_info[UPF_CTR_COUNT] = {
    [UPF_CTR_RX_PACKETS] = { "vigil_upf_rx_packets_total",
                             "Frames received." },
    [UPF_CTR_RX_BYTES] = { "vigil_upf_rx_bytes_total", "Bytes received." },
    [UPF_CTR_TX_PACKETS] = { "vigil_upf_tx_packets_total", "Frames sent." },
    [UPF_CTR_TX_BYTES] = { "vigil_upf_tx_bytes_total", "Bytes sent." },
    [UPF_CTR_TX_DROPPED] = { "vigil_upf_tx_dropped_total",
                             "Frames the TX queue did not take (freed)." },
    [UPF_CTR_FORWARDED] = { "vigil_upf_forwarded_packets_total",
                            "Packets forwarded: decapsulated (access) or "
                            "encapsulated (core)." },
    [UPF_CTR_FORWARDED_BYTES] = { "vigil_upf_forwarded_bytes_total",
                                  "Inner IP bytes forwarded." },
    [UPF_CTR_NO_SESSION] = { "vigil_upf_no_session_total",
                             "Packets for an unknown TEID (access) or UE "
                             "address (core)." },
    [UPF_CTR_FAR_DROPPED] = { "vigil_upf_far_dropped_total",
                              "Packets dropped by their FAR." },
    [UPF_CTR_GATE_DROPPED] = { "vigil_upf_gate_dropped_total",
                               "Packets dropped by a closed QER gate." },
    [UPF_CTR_MBR_DROPPED] = { "vigil_upf_mbr_dropped_total",
                              "Packets over a QER's MBR." },
    [UPF_CTR_SPOOFED] = { "vigil_upf_spoofed_total",
                          "Uplink packets whose source is not the UE's "
                          "address." },
    [UPF_CTR_NOT_LOCAL] = { "vigil_upf_not_local_total",
                            "Frames not addressed to the UPF." },
    [UPF_CTR_UNHANDLED] = { "vigil_upf_unhandled_total",
                            "Valid frames the UPF has no use for." },
    [UPF_CTR_NO_ROUTE] = { "vigil_upf_no_route_total",
                           "Packets to an off-link next hop without a "
                           "gateway." },
    [UPF_CTR_SEGMENTED] = { "vigil_upf_segmented_total",
                            "Multi-segment frames (dropped)." },
    [UPF_CTR_TOO_BIG] = { "vigil_upf_too_big_total",
                          "Packets without room for the outer headers." },
    [UPF_CTR_ARP_REPLIES] = { "vigil_upf_arp_replies_total",
                              "ARP requests for the UPF's address "
                              "answered." },
    [UPF_CTR_ICMP_REPLIES] = { "vigil_upf_icmp_echo_replies_total",
                               "ICMP echo requests answered." },
    [UPF_CTR_GTPU_ECHO_REPLIES] = { "vigil_upf_gtpu_echo_replies_total",
                                    "GTP-U echo requests answered." },
    [UPF_CTR_GTPU_ERROR_IND_SENT] = {
        "vigil_upf_gtpu_error_indications_sent_total",
        "GTP-U error indications sent for unknown TEIDs." },
    [UPF_CTR_GTPU_ERROR_IND_SUPPRESSED] = {
        "vigil_upf_gtpu_error_indications_suppressed_total",
        "Error indications not sent: over the rate limit." },
    [UPF_CTR_GTPU_ERROR_IND_RECEIVED] = {
        "vigil_upf_gtpu_error_indications_received_total",
        "GTP-U error indications received." },
    [UPF_CTR_GTPU_END_MARKERS] = { "vigil_upf_gtpu_end_markers_received_total",
                                   "GTP-U end markers received." },
    [UPF_CTR_GTPU_UNSUPPORTED] = { "vigil_upf_gtpu_unsupported_total",
                                   "GTP-U messages of other types." },
    [UPF_CTR_PUNTED] = { "vigil_upf_punted_total",
                         "Packets handed to the main lcore." },
    [UPF_CTR_PUNT_DROPPED] = { "vigil_upf_punt_dropped_total",
                               "Packets dropped: the punt ring was full." },
    [UPF_CTR_INJECTED] = { "vigil_upf_injected_total",
                           "Packets sent for the main lcore." },
};

enum neigh_metric {
    NEIGH_RESOLVED,
    NEIGH_FAILED,
    NEIGH_EXPIRED,
    NEIGH_REQUESTS,
    NEIGH_QUEUED,
    NEIGH_QUEUE_DROPPED,
    NEIGH_TABLE_FULL,
    NEIGH_METRIC_COUNT
};

enum session_metric {
    SESS_ESTABLISHED,
    SESS_MODIFIED,
    SESS_DELETED,
    SESS_REJECTED,
    SESS_REPORTS,
    SESS_BUFFERED,
    SESS_BUFFER_DROPPED,
    SESS_END_MARKERS,
    SESS_METRIC_COUNT
};

enum port_metric {
    PORT_RX_MISSED,
    PORT_RX_ERRORS,
    PORT_RX_NOMBUF,
    PORT_TX_ERRORS,
    PORT_METRIC_COUNT
};

struct series {
    struct metrics_counter *counter;
    uint64_t last;
};

struct upf_metrics {
    struct upf_dp *dp;
    struct upf_sessions *sessions;
    struct series ctr[UPF_SIDE_COUNT][UPF_CTR_COUNT];
    struct series parse[UPF_SIDE_COUNT][UPF_PKT_RESULT_COUNT];
    struct series neigh[UPF_SIDE_COUNT][NEIGH_METRIC_COUNT];
    struct series port[UPF_SIDE_COUNT][PORT_METRIC_COUNT];
    struct metrics_gauge *neighbours[UPF_SIDE_COUNT];
    struct series sess[SESS_METRIC_COUNT];
    struct metrics_gauge *session_count;
};

static const struct {
    const char *name;
    const char *help;
} neigh_info[NEIGH_METRIC_COUNT] = {
    [NEIGH_RESOLVED] = { "vigil_upf_neighbours_resolved_total",
                         "Next hops whose MAC was learned." },
    [NEIGH_FAILED] = { "vigil_upf_neighbours_failed_total",
                       "Next hops that answered no ARP request." },
    [NEIGH_EXPIRED] = { "vigil_upf_neighbours_expired_total",
                        "Neighbour entries aged out." },
    [NEIGH_REQUESTS] = { "vigil_upf_arp_requests_sent_total",
                         "ARP requests sent." },
    [NEIGH_QUEUED] = { "vigil_upf_neighbour_queued_total",
                       "Packets held while their next hop resolved." },
    [NEIGH_QUEUE_DROPPED] = { "vigil_upf_neighbour_queue_dropped_total",
                              "Packets dropped while resolving (queue full "
                              "or resolution failed)." },
    [NEIGH_TABLE_FULL] = { "vigil_upf_neighbour_table_full_total",
                           "Packets dropped: neighbour table full." },
};

static const struct {
    const char *name;
    const char *help;
} sess_info[SESS_METRIC_COUNT] = {
    [SESS_ESTABLISHED] = { "vigil_upf_sessions_established_total",
                           "PFCP sessions established." },
    [SESS_MODIFIED] = { "vigil_upf_sessions_modified_total",
                        "PFCP session modifications applied." },
    [SESS_DELETED] = { "vigil_upf_sessions_deleted_total",
                       "PFCP sessions deleted." },
    [SESS_REJECTED] = { "vigil_upf_sessions_rejected_total",
                        "Session establishments and modifications "
                        "rejected." },
    [SESS_REPORTS] = { "vigil_upf_session_reports_total",
                       "Session Report Requests generated." },
    [SESS_BUFFERED] = { "vigil_upf_buffered_packets_total",
                        "Downlink packets buffered for a BUFF FAR." },
    [SESS_BUFFER_DROPPED] = { "vigil_upf_buffer_dropped_total",
                              "Buffered downlink packets dropped." },
    [SESS_END_MARKERS] = { "vigil_upf_gtpu_end_markers_sent_total",
                           "GTP-U end markers sent on a path switch." },
};

static const struct {
    const char *name;
    const char *help;
} port_info[PORT_METRIC_COUNT] = {
    [PORT_RX_MISSED] = { "vigil_upf_port_rx_missed_total",
                         "Frames the device dropped: RX queue full." },
    [PORT_RX_ERRORS] = { "vigil_upf_port_rx_errors_total",
                         "Erroneous frames received by the device." },
    [PORT_RX_NOMBUF] = { "vigil_upf_port_rx_nombuf_total",
                         "RX mbuf allocation failures." },
    [PORT_TX_ERRORS] = { "vigil_upf_port_tx_errors_total",
                         "Frames the device failed to send." },
};

static void
add(struct series *s, uint64_t value)
{
    if (value > s->last) {
        metrics_counter_add(s->counter, value - s->last);
    }
    s->last = value;
}

struct upf_metrics *
upf_metrics_new(struct metrics_registry *reg, struct upf_dp *dp,
                struct upf_sessions *sessions)
{
    struct upf_metrics *m = calloc(1, sizeof *m);
    char labels[96];

    if (!m) {
        return NULL;
    }
    m->dp = dp;
    m->sessions = sessions;
    for (int s = 0; s < UPF_SIDE_COUNT; s++) {
        snprintf(labels, sizeof labels, "side=\"%s\"", side_names[s]);
        for (int c = 0; c < UPF_CTR_COUNT; c++) {
            m->ctr[s][c].counter = metrics_counter_new(
                reg, ctr_info[c].name, ctr_info[c].help, labels);
            if (!m->ctr[s][c].counter) {
                goto fail;
            }
        }
        for (int n = 0; n < NEIGH_METRIC_COUNT; n++) {
            m->neigh[s][n].counter = metrics_counter_new(
                reg, neigh_info[n].name, neigh_info[n].help, labels);
            if (!m->neigh[s][n].counter) {
                goto fail;
            }
        }
        for (int p = 0; p < PORT_METRIC_COUNT; p++) {
            m->port[s][p].counter = metrics_counter_new(
                reg, port_info[p].name, port_info[p].help, labels);
            if (!m->port[s][p].counter) {
                goto fail;
            }
        }
        m->neighbours[s] = metrics_gauge_new(reg, "vigil_upf_neighbours",
                                             "Neighbour entries.", labels);
        if (!m->neighbours[s]) {
            goto fail;
        }
        for (int r = 1; r < UPF_PKT_RESULT_COUNT; r++) {
            snprintf(labels, sizeof labels, "side=\"%s\",reason=\"%s\"",
                     side_names[s],
                     upf_pkt_result_name((enum upf_pkt_result) r));
            m->parse[s][r].counter = metrics_counter_new(
                reg, "vigil_upf_malformed_total",
                "Frames dropped as malformed, by reason.", labels);
            if (!m->parse[s][r].counter) {
                goto fail;
            }
        }
    }
    for (int i = 0; i < SESS_METRIC_COUNT; i++) {
        m->sess[i].counter = metrics_counter_new(reg, sess_info[i].name,
                                                 sess_info[i].help, NULL);
        if (!m->sess[i].counter) {
            goto fail;
        }
    }
    m->session_count = metrics_gauge_new(reg, "vigil_upf_sessions",
                                         "PFCP sessions.", NULL);
    if (!m->session_count) {
        goto fail;
    }
    return m;

fail:
    free(m);
    return NULL;
}

void
upf_metrics_free(struct upf_metrics *m)
{
    free(m);
}

void
upf_metrics_sync(struct upf_metrics *m)
{
    struct upf_sessions_stats ss;

    for (int s = 0; s < UPF_SIDE_COUNT; s++) {
        const struct upf_iface *ifc = upf_dp_iface(m->dp, (enum upf_side) s);
        struct upf_side_stats st;
        struct upf_neigh_stats ns;
        struct rte_eth_stats es;

        upf_dp_stats(m->dp, (enum upf_side) s, &st);
        for (int c = 0; c < UPF_CTR_COUNT; c++) {
            add(&m->ctr[s][c], st.ctr[c]);
        }
        for (int r = 1; r < UPF_PKT_RESULT_COUNT; r++) {
            add(&m->parse[s][r], st.parse[r]);
        }
        upf_neigh_get_stats(ifc->neigh, &ns);
        add(&m->neigh[s][NEIGH_RESOLVED], ns.resolved);
        add(&m->neigh[s][NEIGH_FAILED], ns.failed);
        add(&m->neigh[s][NEIGH_EXPIRED], ns.expired);
        add(&m->neigh[s][NEIGH_REQUESTS], ns.requests_sent);
        add(&m->neigh[s][NEIGH_QUEUED], ns.queued);
        add(&m->neigh[s][NEIGH_QUEUE_DROPPED], ns.queue_dropped);
        add(&m->neigh[s][NEIGH_TABLE_FULL], ns.table_full);
        metrics_gauge_set(m->neighbours[s], (int64_t) ns.entries);
        if (!rte_eth_stats_get(ifc->port_id, &es)) {
            add(&m->port[s][PORT_RX_MISSED], es.imissed);
            add(&m->port[s][PORT_RX_ERRORS], es.ierrors);
            add(&m->port[s][PORT_RX_NOMBUF], es.rx_nombuf);
            add(&m->port[s][PORT_TX_ERRORS], es.oerrors);
        }
    }
    upf_sessions_get_stats(m->sessions, &ss);
    add(&m->sess[SESS_ESTABLISHED], ss.established);
    add(&m->sess[SESS_MODIFIED], ss.modified);
    add(&m->sess[SESS_DELETED], ss.deleted);
    add(&m->sess[SESS_REJECTED], ss.rejected);
    add(&m->sess[SESS_REPORTS], ss.reports);
    add(&m->sess[SESS_BUFFERED], ss.buffered);
    add(&m->sess[SESS_BUFFER_DROPPED], ss.buffer_dropped);
    add(&m->sess[SESS_END_MARKERS], ss.end_markers);
    metrics_gauge_set(m->session_count, (int64_t) ss.sessions);
}
