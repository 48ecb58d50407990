/* Unit tests for vnf-dataplane/upf_session: PFCP rules (as the codec
 * decodes them) turned into the data plane's table entries, on a real EAL
 * with ring ports. Covers F-TEID allocation (CHOOSE ID sharing), the
 * snapshots installed per PDR (flags, UE check, outer header, QFI),
 * precedence between PDRs of equal key, refusals with cause 73/75 and the
 * Failed Rule ID (tables untouched), all-or-nothing modification, counters
 * kept across changes, URR usage on query, removal, deletion and
 * thresholds/periods, buffering and its flush, end markers (SNDEM),
 * error indication reports, deletion by owner, and the JSON view. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "pfcp.h"
#include "upf_dp.h"
#include "upf_pkt.h"
#include "upf_session.h"
#include "upf_table.h"
#include "upf_test_eal.h"
#include "upf_worker.h"
#include "vtime.h"

#define IP4(a, b, c, d) \
    (((uint32_t) (a) << 24) | ((uint32_t) (b) << 16) | ((c) << 8) | (d))

#define N3_IP IP4(10, 1, 0, 1)
#define N6_IP IP4(10, 2, 0, 1)
#define GNB_IP IP4(10, 1, 0, 2)
#define UE1 IP4(10, 45, 0, 2)
#define UE2 IP4(10, 45, 0, 3)

static const uint8_t gnb_mac[6] = { 2, 0, 0, 0, 1, 2 };
static unsigned int instance;
static const int owner_a = 1, owner_b = 2;

struct fixture {
    struct rte_ring *in[UPF_SIDE_COUNT];
    struct rte_ring *out[UPF_SIDE_COUNT];
    struct upf_dp *dp;
    struct upf_sessions *ss;
    struct pfcp_report_request reports[8];
    struct upf_session *reported[8];
    unsigned int reports_length;
};

static int
group_setup(void **state)
{
    (void) state;
    return upf_test_eal_init("test_upf_session");
}

static int
group_teardown(void **state)
{
    (void) state;
    return upf_test_eal_cleanup();
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct upf_dp_conf c = {
        .ipv4 = { N3_IP, N6_IP },
        .prefix_length = { 24, 24 },
        .max_pdrs = 64,
        .mbufs = 1023,
        .rx_desc = 64,
        .tx_desc = 64,
        .ring_size = 128,
        .neigh_queue = 4,
        .neigh_max = 8,
        .neigh_reachable_ms = 1000,
    };
    struct upf_sessions_conf sc = {
        .max_sessions = 3,
        .n3_ipv4 = N3_IP,
        .meter_burst_ms = 10,
        .buffer_packets = 2,
    };
    char name[RTE_RING_NAMESIZE], why[256];
    int error = 0;

    assert_non_null(f);
    instance++;
    for (int s = 0; s < UPF_SIDE_COUNT; s++) {
        int port;

        snprintf(name, sizeof name, "s%u_in%d", instance, s);
        f->in[s] = rte_ring_create(name, 256, 0, 0);
        snprintf(name, sizeof name, "s%u_out%d", instance, s);
        f->out[s] = rte_ring_create(name, 256, 0, 0);
        snprintf(name, sizeof name, "s%u_port%d", instance, s);
        port = rte_eth_from_rings(name, &f->in[s], 1, &f->out[s], 1, 0);
        assert_true(port >= 0);
        c.port_ids[s] = (uint16_t) port;
    }
    f->dp = upf_dp_new(&c, &error, why, sizeof why);
    if (!f->dp) {
        fail_msg("upf_dp_new: %s", why);
    }
    assert_int_equal(upf_dp_add_neighbour(f->dp, UPF_SIDE_ACCESS, GNB_IP,
                                          gnb_mac), 0);
    sc.dp = f->dp;
    f->ss = upf_sessions_new(&sc, &error);
    assert_non_null(f->ss);
    *state = f;
    return 0;
}

static void
drain(struct rte_ring *r)
{
    void *m;

    while (rte_ring_dequeue(r, &m) == 0) {
        rte_pktmbuf_free(m);
    }
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    upf_sessions_free(f->ss);
    /* The mbufs go back to the pool before it goes. */
    for (int s = 0; s < UPF_SIDE_COUNT; s++) {
        drain(f->in[s]);
        drain(f->out[s]);
    }
    upf_dp_free(f->dp);
    for (int s = 0; s < UPF_SIDE_COUNT; s++) {
        rte_ring_free(f->in[s]);
        rte_ring_free(f->out[s]);
    }
    free(f);
    return 0;
}

static void
on_report(void *arg, struct upf_session *session,
          const struct pfcp_report_request *report)
{
    struct fixture *f = arg;

    assert_true(f->reports_length < 8);
    f->reported[f->reports_length] = session;
    f->reports[f->reports_length++] = *report;
}

/* ---- requests ----------------------------------------------------------- */

/* A PDR on 'source_interface' for UE address 'ue' to FAR 'far_id', with
 * URR 1 and QER 1. */
static void
pdr_fill(struct pfcp_pdr *p, uint16_t id, uint32_t precedence,
         uint8_t source_interface, uint8_t ue_flags, uint32_t ue,
         uint32_t far_id)
{
    memset(p, 0, sizeof *p);
    p->pdr_id = id;
    p->has_precedence = true;
    p->precedence = precedence;
    p->has_pdi = true;
    p->pdi.source_interface = source_interface;
    p->pdi.has_ue_ip = true;
    p->pdi.ue_ip.flags = ue_flags;
    p->pdi.ue_ip.ipv4.s_addr = htonl(ue);
    p->has_far_id = true;
    p->far_id = far_id;
    p->urr_ids_length = 1;
    p->urr_ids[0] = 1;
    p->qer_ids_length = 1;
    p->qer_ids[0] = 1;
}

static void
pdr_access(struct pfcp_pdr *p, uint16_t id, uint32_t precedence,
           uint8_t choose_id, uint32_t ue)
{
    pdr_fill(p, id, precedence, PFCP_INTERFACE_ACCESS, PFCP_UE_IP_V4, ue, 1);
    p->pdi.has_local_fteid = true;
    p->pdi.local_fteid.flags = PFCP_FTEID_V4 | PFCP_FTEID_CH
                               | PFCP_FTEID_CHID;
    p->pdi.local_fteid.choose_id = choose_id;
    p->has_outer_header_removal = true;
}

static void
pdr_core(struct pfcp_pdr *p, uint16_t id, uint32_t ue)
{
    pdr_fill(p, id, 100, PFCP_INTERFACE_CORE, PFCP_UE_IP_V4 | PFCP_UE_IP_SD,
             ue, 2);
}

static void
far_to_access(struct pfcp_far *far, uint32_t id, uint32_t teid)
{
    memset(far, 0, sizeof *far);
    far->far_id = id;
    far->has_apply_action = true;
    far->apply_action = PFCP_ACTION_FORW;
    far->has_forwarding = true;
    far->forwarding.has_destination_interface = true;
    far->forwarding.destination_interface = PFCP_INTERFACE_ACCESS;
    far->forwarding.has_outer_header_creation = true;
    far->forwarding.outer_header_creation.description =
        PFCP_OHC_GTPU_UDP_IPV4;
    far->forwarding.outer_header_creation.teid = teid;
    far->forwarding.outer_header_creation.ipv4.s_addr = htonl(GNB_IP);
}

/* One UE: PDR 1 up, PDR 2 down, FAR 1 to core, FAR 2 to the gNB's 'teid',
 * QER 1 with QFI 9, URR 1 measuring volume. */
static struct pfcp_establishment_request *
request(uint64_t cp_seid, uint32_t ue, uint32_t teid)
{
    struct pfcp_establishment_request *r = calloc(1, sizeof *r);

    assert_non_null(r);
    r->node_id.type = PFCP_NODE_ID_IPV4;
    r->cp_fseid.flags = PFCP_FSEID_V4;
    r->cp_fseid.seid = cp_seid;
    r->create_pdrs_length = 2;
    pdr_access(&r->create_pdrs[0], 1, 100, 1, ue);
    pdr_core(&r->create_pdrs[1], 2, ue);
    r->create_fars_length = 2;
    r->create_fars[0].far_id = 1;
    r->create_fars[0].has_apply_action = true;
    r->create_fars[0].apply_action = PFCP_ACTION_FORW;
    r->create_fars[0].has_forwarding = true;
    r->create_fars[0].forwarding.has_destination_interface = true;
    r->create_fars[0].forwarding.destination_interface = PFCP_INTERFACE_CORE;
    far_to_access(&r->create_fars[1], 2, teid);
    r->create_qers_length = 1;
    r->create_qers[0].qer_id = 1;
    r->create_qers[0].has_gate_status = true;
    r->create_qers[0].has_qfi = true;
    r->create_qers[0].qfi = 9;
    r->create_urrs_length = 1;
    r->create_urrs[0].urr_id = 1;
    r->create_urrs[0].has_measurement_method = true;
    r->create_urrs[0].measurement_method = PFCP_MEASURE_VOLUM;
    r->create_urrs[0].has_reporting_triggers = true;
    return r;
}

static struct upf_session *
establish(struct fixture *f, const void *owner,
          struct pfcp_establishment_request *req,
          struct pfcp_establishment_response *resp)
{
    struct upf_session *s = NULL;

    memset(resp, 0, sizeof *resp);
    assert_int_equal(upf_sessions_establish(f->ss, owner, req, resp, &s), 0);
    assert_int_equal(resp->cause, PFCP_CAUSE_REQUEST_ACCEPTED);
    return s;
}

/* The GTP-U header a snapshot's template writes (for an empty payload). */
static void
template_gtpu(const struct upf_pdr_rt *rt, struct upf_pkt_gtpu *g)
{
    uint8_t out[UPF_PKT_ENCAP_MAX_SIZE];

    upf_pkt_encap_write(out, &rt->encap, 0, 0);
    assert_int_equal(upf_pkt_parse_gtpu(out, 28, rt->encap.size - 28, g),
                     UPF_PKT_OK);
}

static struct upf_pdr_rt *
lookup(struct fixture *f, bool uplink, uint32_t key)
{
    void *value = NULL;

    if (upf_table_lookup(uplink ? upf_dp_uplink(f->dp)
                                : upf_dp_downlink(f->dp), key, &value)) {
        return NULL;
    }
    return value;
}

/* Counts traffic on a PDR as worker 0 would. */
static void
traffic(struct upf_pdr_rt *rt, uint64_t packets, uint64_t bytes)
{
    rt->counters[0].packets += packets;
    rt->counters[0].bytes += bytes;
}

/* ---- tests -------------------------------------------------------------- */

static void
test_establish(void **state)
{
    struct fixture *f = *state;
    struct pfcp_establishment_request *req = request(0x11, UE1, 0x100);
    struct pfcp_establishment_response resp;
    struct upf_pkt_gtpu g;
    struct upf_pdr_rt *up, *down;
    struct upf_session *s;
    uint32_t teid;

    /* PDR 3 shares PDR 1's CHOOSE ID (same TEID) at a worse precedence. */
    req->create_pdrs_length = 3;
    pdr_access(&req->create_pdrs[2], 3, 200, 1, UE1);
    s = establish(f, &owner_a, req, &resp);
    assert_true(resp.has_up_fseid);
    assert_int_equal(resp.up_fseid.seid, upf_session_seid(s));
    assert_int_equal(upf_session_cp_seid(s), 0x11);
    assert_ptr_equal(upf_sessions_find(f->ss, upf_session_seid(s)), s);
    assert_int_equal(resp.created_pdrs_length, 2);
    teid = resp.created_pdrs[0].local_fteid.teid;
    assert_int_not_equal(teid, 0);
    assert_int_equal(resp.created_pdrs[1].local_fteid.teid, teid);
    assert_int_equal(ntohl(resp.created_pdrs[0].local_fteid.ipv4.s_addr),
                     N3_IP);
    up = lookup(f, true, teid);
    assert_non_null(up);
    assert_int_equal(up->pdr_id, 1);
    assert_int_equal(up->flags, UPF_RT_FORWARD | UPF_RT_DECAP
                                | UPF_RT_UE_CHECK);
    assert_int_equal(up->ue_ipv4, UE1);
    assert_int_equal(up->out_side, UPF_SIDE_CORE);
    down = lookup(f, false, UE1);
    assert_non_null(down);
    assert_int_equal(down->pdr_id, 2);
    assert_int_equal(down->flags, UPF_RT_FORWARD | UPF_RT_ENCAP);
    assert_int_equal(down->peer_ipv4, GNB_IP);
    template_gtpu(down, &g);
    assert_int_equal(g.teid, 0x100);
    assert_true(g.has_qfi);
    assert_int_equal(g.qfi, 9);
    free(req);
}

static void
test_refusals(void **state)
{
    struct fixture *f = *state;
    struct pfcp_establishment_request *req = request(0x21, UE1, 0x100);
    struct pfcp_establishment_response resp;
    struct upf_session *s = NULL;
    struct upf_sessions_stats st;

    establish(f, &owner_a, req, &resp);
    /* The same UE address again. */
    memset(&resp, 0, sizeof resp);
    assert_int_equal(upf_sessions_establish(f->ss, &owner_a, req, &resp, &s),
                     -EEXIST);
    assert_int_equal(resp.cause, PFCP_CAUSE_RULE_CREATION_MODIFICATION_FAILURE);
    assert_true(resp.has_failed_rule_id);
    assert_int_equal(resp.failed_rule_id.type, PFCP_RULE_PDR);
    assert_int_equal(resp.failed_rule_id.id, 2);
    /* A PDR pointing to a FAR that is not there. */
    free(req);
    req = request(0x22, UE2, 0x100);
    req->create_pdrs[0].far_id = 9;
    memset(&resp, 0, sizeof resp);
    assert_int_not_equal(upf_sessions_establish(f->ss, &owner_a, req, &resp,
                                                &s), 0);
    assert_int_equal(resp.failed_rule_id.type, PFCP_RULE_PDR);
    assert_int_equal(resp.failed_rule_id.id, 1);
    /* Forward to the access side without an outer header. */
    req->create_pdrs[0].far_id = 1;
    req->create_fars[1].forwarding.has_outer_header_creation = false;
    memset(&resp, 0, sizeof resp);
    assert_int_not_equal(upf_sessions_establish(f->ss, &owner_a, req, &resp,
                                                &s), 0);
    assert_int_equal(resp.failed_rule_id.type, PFCP_RULE_FAR);
    assert_int_equal(resp.failed_rule_id.id, 2);
    /* A TEID given by the CP function on another address. */
    free(req);
    req = request(0x23, UE2, 0x100);
    req->create_pdrs[0].pdi.local_fteid.flags = PFCP_FTEID_V4;
    req->create_pdrs[0].pdi.local_fteid.teid = 77;
    req->create_pdrs[0].pdi.local_fteid.ipv4.s_addr = htonl(IP4(1, 2, 3, 4));
    memset(&resp, 0, sizeof resp);
    assert_int_not_equal(upf_sessions_establish(f->ss, &owner_a, req, &resp,
                                                &s), 0);
    assert_int_equal(resp.cause, PFCP_CAUSE_RULE_CREATION_MODIFICATION_FAILURE);
    /* The UPF allocating UE addresses is not offered. */
    req->create_pdrs[0].pdi.local_fteid.ipv4.s_addr = htonl(N3_IP);
    req->create_pdrs[1].pdi.ue_ip.flags |= PFCP_UE_IP_CHV4;
    memset(&resp, 0, sizeof resp);
    assert_int_not_equal(upf_sessions_establish(f->ss, &owner_a, req, &resp,
                                                &s), 0);
    assert_int_equal(resp.failed_rule_id.id, 2);
    /* Nothing of the refused ones is in the tables. */
    assert_int_equal(upf_table_count(upf_dp_uplink(f->dp)), 1);
    assert_int_equal(upf_table_count(upf_dp_downlink(f->dp)), 1);
    assert_null(lookup(f, true, 77));
    /* max_sessions (3). */
    free(req);
    req = request(0x24, UE2, 0x100);
    establish(f, &owner_a, req, &resp);
    req->create_pdrs[1].pdi.ue_ip.ipv4.s_addr = htonl(IP4(10, 45, 0, 4));
    req->create_pdrs[0].pdi.ue_ip.ipv4.s_addr = htonl(IP4(10, 45, 0, 4));
    establish(f, &owner_a, req, &resp);
    req->create_pdrs[1].pdi.ue_ip.ipv4.s_addr = htonl(IP4(10, 45, 0, 5));
    memset(&resp, 0, sizeof resp);
    assert_int_equal(upf_sessions_establish(f->ss, &owner_a, req, &resp, &s),
                     -ENOSPC);
    assert_int_equal(resp.cause, PFCP_CAUSE_NO_RESOURCES_AVAILABLE);
    upf_sessions_get_stats(f->ss, &st);
    assert_int_equal(st.sessions, 3);
    assert_int_equal(st.rejected, 6);
    free(req);
}

static void
test_modify_all_or_nothing(void **state)
{
    struct fixture *f = *state;
    struct pfcp_establishment_request *req = request(0x31, UE1, 0x100);
    struct pfcp_modification_request *mod = calloc(1, sizeof *mod);
    struct pfcp_modification_response *resp = calloc(1, sizeof *resp);
    struct pfcp_establishment_response eresp;
    struct upf_pdr_rt *down, *up;
    struct upf_session *s;
    struct upf_pkt_gtpu g;
    uint32_t teid;

    s = establish(f, &owner_a, req, &eresp);
    teid = eresp.created_pdrs[0].local_fteid.teid;
    down = lookup(f, false, UE1);
    up = lookup(f, true, teid);
    traffic(up, 3, 300);
    traffic(down, 2, 200);
    /* A good FAR update with a bad removal: nothing changes. */
    mod->update_fars_length = 1;
    far_to_access(&mod->update_fars[0], 2, 0x200);
    mod->update_fars[0].has_apply_action = false;
    mod->remove_qers_length = 1;
    mod->remove_qers[0] = 5;
    assert_int_not_equal(upf_sessions_modify(f->ss, s, mod, resp), 0);
    assert_int_equal(resp->cause, PFCP_CAUSE_RULE_CREATION_MODIFICATION_FAILURE);
    assert_int_equal(resp->failed_rule_id.type, PFCP_RULE_QER);
    assert_ptr_equal(lookup(f, false, UE1), down);
    /* Without the bad removal: a new snapshot, same counters. */
    mod->remove_qers_length = 0;
    memset(resp, 0, sizeof *resp);
    mod->query_urrs_length = 1;
    mod->query_urrs[0] = 1;
    assert_int_equal(upf_sessions_modify(f->ss, s, mod, resp), 0);
    assert_int_equal(resp->cause, PFCP_CAUSE_REQUEST_ACCEPTED);
    down = lookup(f, false, UE1);
    assert_non_null(down);
    template_gtpu(down, &g);
    assert_int_equal(g.teid, 0x200);
    /* (The old snapshots are gone; their counts are in the usage.) */
    /* The queried URR: everything so far. */
    assert_int_equal(resp->usage_reports_length, 1);
    assert_int_equal(resp->usage_reports[0].urr_id, 1);
    assert_int_equal(resp->usage_reports[0].trigger,
                     PFCP_USAGE_TRIGGER_IMMER);
    assert_true(resp->usage_reports[0].has_volume_measurement);
    assert_int_equal(resp->usage_reports[0].volume_measurement.uplink, 300);
    assert_int_equal(resp->usage_reports[0].volume_measurement.downlink, 200);
    assert_int_equal(resp->usage_reports[0].volume_measurement.total, 500);
    assert_int_equal(resp->usage_reports[0].volume_measurement.total_packets,
                     5);
    /* Removing PDR 2 and URR 1: the key goes, the URR reports its last. */
    traffic(lookup(f, true, teid), 1, 50);
    memset(mod, 0, sizeof *mod);
    memset(resp, 0, sizeof *resp);
    mod->remove_pdrs_length = 1;
    mod->remove_pdrs[0] = 2;
    mod->update_pdrs_length = 1;
    mod->update_pdrs[0].pdr_id = 1;
    mod->update_pdrs[0].urr_ids_length = 0;
    mod->remove_urrs_length = 1;
    mod->remove_urrs[0] = 1;
    /* PDR 1 still lists URR 1: refused. */
    assert_int_not_equal(upf_sessions_modify(f->ss, s, mod, resp), 0);
    assert_int_equal(resp->failed_rule_id.type, PFCP_RULE_PDR);
    assert_int_equal(resp->failed_rule_id.id, 1);
    mod->remove_urrs_length = 0;
    memset(resp, 0, sizeof *resp);
    assert_int_equal(upf_sessions_modify(f->ss, s, mod, resp), 0);
    assert_null(lookup(f, false, UE1));
    assert_non_null(lookup(f, true, teid));
    free(req);
    free(mod);
    free(resp);
}

static void
test_usage_and_deletion(void **state)
{
    struct fixture *f = *state;
    struct pfcp_establishment_request *req = request(0x41, UE1, 0x100);
    struct pfcp_deletion_response *del = calloc(1, sizeof *del);
    struct pfcp_establishment_response resp;
    struct upf_session *s;
    struct upf_pdr_rt *up;
    json_t *json;

    req->create_urrs[0].reporting_triggers = PFCP_TRIGGER_VOLTH
                                             | PFCP_TRIGGER_PERIO;
    req->create_urrs[0].has_volume_threshold = true;
    req->create_urrs[0].volume_threshold.flags = PFCP_VOLUME_TOVOL;
    req->create_urrs[0].volume_threshold.total = 1000;
    req->create_urrs[0].has_measurement_period = true;
    req->create_urrs[0].measurement_period = 60;
    s = establish(f, &owner_a, req, &resp);
    up = lookup(f, true, resp.created_pdrs[0].local_fteid.teid);
    traffic(up, 4, 900);
    upf_sessions_tick(f->ss, vtime_mono_ns(), on_report, f);
    assert_int_equal(f->reports_length, 0);
    traffic(up, 1, 200);
    upf_sessions_tick(f->ss, vtime_mono_ns(), on_report, f);
    assert_int_equal(f->reports_length, 1);
    assert_ptr_equal(f->reported[0], s);
    assert_int_equal(f->reports[0].report_type, PFCP_REPORT_USAR);
    assert_int_equal(f->reports[0].usage_reports_length, 1);
    assert_int_equal(f->reports[0].usage_reports[0].trigger,
                     PFCP_USAGE_TRIGGER_VOLTH);
    assert_int_equal(f->reports[0].usage_reports[0].volume_measurement.total,
                     1100);
    assert_int_equal(f->reports[0].usage_reports[0].ur_seqn, 0);
    /* Measured afresh after a report; the period elapses later. */
    upf_sessions_tick(f->ss, vtime_mono_ns(), on_report, f);
    assert_int_equal(f->reports_length, 1);
    traffic(up, 1, 10);
    upf_sessions_tick(f->ss, vtime_mono_ns() + 61 * INT64_C(1000000000),
                      on_report, f);
    assert_int_equal(f->reports_length, 2);
    assert_int_equal(f->reports[1].usage_reports[0].trigger,
                     PFCP_USAGE_TRIGGER_PERIO);
    assert_int_equal(f->reports[1].usage_reports[0].volume_measurement.total,
                     10);
    assert_int_equal(f->reports[1].usage_reports[0].ur_seqn, 1);
    /* The JSON view. */
    json = upf_session_to_json(f->ss, s);
    assert_non_null(json);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(json, "pdrs"), 0),
                         "packets")), 6);
    json_decref(json);
    /* Deletion: the rest, trigger TERMR, keys gone. */
    traffic(up, 2, 77);
    upf_sessions_delete(f->ss, s, del);
    assert_int_equal(del->cause, PFCP_CAUSE_REQUEST_ACCEPTED);
    assert_int_equal(del->usage_reports_length, 1);
    assert_int_equal(del->usage_reports[0].trigger, PFCP_USAGE_TRIGGER_TERMR);
    assert_int_equal(del->usage_reports[0].volume_measurement.uplink, 77);
    assert_int_equal(del->usage_reports[0].volume_measurement.uplink_packets,
                     2);
    assert_int_equal(upf_table_count(upf_dp_uplink(f->dp)), 0);
    assert_int_equal(upf_table_count(upf_dp_downlink(f->dp)), 0);
    free(req);
    free(del);
}

static void
test_owner_and_error_indication(void **state)
{
    struct fixture *f = *state;
    struct pfcp_establishment_request *req = request(0x51, UE1, 0x100);
    struct pfcp_establishment_response resp;
    struct upf_sessions_stats st;
    struct upf_session *a;

    a = establish(f, &owner_a, req, &resp);
    req->create_pdrs[0].pdi.ue_ip.ipv4.s_addr = htonl(UE2);
    req->create_pdrs[1].pdi.ue_ip.ipv4.s_addr = htonl(UE2);
    req->create_fars[1].forwarding.outer_header_creation.teid = 0x101;
    establish(f, &owner_b, req, &resp);
    assert_int_equal(upf_sessions_error_indication(f->ss, 0x100, GNB_IP,
                                                   on_report, f), 0);
    assert_int_equal(f->reports_length, 1);
    assert_ptr_equal(f->reported[0], a);
    assert_int_equal(f->reports[0].report_type, PFCP_REPORT_ERIR);
    assert_int_equal(f->reports[0].remote_fteids[0].teid, 0x100);
    assert_int_equal(upf_sessions_error_indication(f->ss, 0x999, GNB_IP,
                                                   on_report, f), -ENOENT);
    upf_sessions_delete_owner(f->ss, &owner_a);
    upf_sessions_get_stats(f->ss, &st);
    assert_int_equal(st.sessions, 1);
    assert_null(lookup(f, false, UE1));
    assert_non_null(lookup(f, false, UE2));
    assert_int_equal(upf_sessions_error_indication(f->ss, 0x100, GNB_IP,
                                                   on_report, f), -ENOENT);
    free(req);
}

/* A downlink frame to 'ue' as the worker punts it for a BUFF FAR. */
static struct rte_mbuf *
punted(struct fixture *f, uint64_t seid, uint32_t ue, uint8_t tag)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(upf_dp_pool(f->dp));
    uint8_t *p = (uint8_t *) rte_pktmbuf_append(m, 14 + 29);
    uint16_t csum;

    memset(p, 0, 14 + 29);
    p[12] = 0x08;
    p[14] = 0x45;
    p[14 + 3] = 29;
    p[14 + 8] = 64;
    p[14 + 9] = 17;
    p[14 + 12] = 10;
    p[14 + 13] = 2;
    p[14 + 15] = 2;
    p[14 + 16] = (uint8_t) (ue >> 24);
    p[14 + 17] = (uint8_t) (ue >> 16);
    p[14 + 18] = (uint8_t) (ue >> 8);
    p[14 + 19] = (uint8_t) ue;
    p[14 + 28] = tag;
    csum = upf_pkt_checksum(p + 14, 20);
    memcpy(p + 14 + 10, &csum, 2);
    upf_mbuf_priv(m)->seid = seid;
    upf_mbuf_priv(m)->pdr_id = 2;
    upf_mbuf_priv(m)->reason = UPF_PUNT_BUFFER;
    return m;
}

/* What the worker sends on the access side, parsed. */
static unsigned int
sent(struct fixture *f, struct upf_pkt_meta *metas, uint8_t *tags)
{
    unsigned int n = 0;
    void *m;

    upf_worker_poll(upf_dp_worker(f->dp, 0));
    while (rte_ring_dequeue(f->out[UPF_SIDE_ACCESS], &m) == 0) {
        struct rte_mbuf *mb = m;
        const uint8_t *d = rte_pktmbuf_mtod(mb, const uint8_t *);

        assert_int_equal(upf_pkt_parse(d, mb->data_len, UPF_PKT_PARSE_L4,
                                       &metas[n]), UPF_PKT_OK);
        tags[n] = d[mb->data_len - 1];
        n++;
        rte_pktmbuf_free(mb);
    }
    return n;
}

static void
test_buffering_and_end_marker(void **state)
{
    struct fixture *f = *state;
    struct pfcp_establishment_request *req = request(0x61, UE1, 0x100);
    struct pfcp_modification_request *mod = calloc(1, sizeof *mod);
    struct pfcp_modification_response *resp = calloc(1, sizeof *resp);
    struct pfcp_establishment_response eresp;
    struct upf_pkt_meta metas[8];
    struct upf_sessions_stats st;
    struct upf_session *s;
    uint8_t tags[8];
    uint64_t seid;

    req->create_fars[1].apply_action = PFCP_ACTION_BUFF;
    req->create_fars[1].has_forwarding = false;
    s = establish(f, &owner_a, req, &eresp);
    seid = upf_session_seid(s);
    assert_int_equal(lookup(f, false, UE1)->flags, UPF_RT_BUFFER);
    for (uint8_t i = 1; i <= 3; i++) {
        upf_sessions_buffer(f->ss, punted(f, seid, UE1, i), on_report, f);
    }
    /* One Downlink Data Report; two held (buffer_packets), one dropped. */
    assert_int_equal(f->reports_length, 1);
    assert_int_equal(f->reports[0].report_type, PFCP_REPORT_DLDR);
    assert_int_equal(f->reports[0].downlink_pdrs[0], 2);
    upf_sessions_get_stats(f->ss, &st);
    assert_int_equal(st.buffered, 2);
    assert_int_equal(st.buffer_dropped, 1);
    /* Forward now: the held packets leave, encapsulated. */
    mod->update_fars_length = 1;
    far_to_access(&mod->update_fars[0], 2, 0x300);
    assert_int_equal(upf_sessions_modify(f->ss, s, mod, resp), 0);
    assert_int_equal(sent(f, metas, tags), 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(metas[i].gtpu.type, UPF_PKT_GTPU_GPDU);
        assert_int_equal(metas[i].gtpu.teid, 0x300);
        assert_int_equal(metas[i].gtpu.qfi, 9);
        assert_int_equal(tags[i], i + 1);
    }
    /* A path switch with SNDEM: an end marker down the old tunnel. */
    memset(mod, 0, sizeof *mod);
    memset(resp, 0, sizeof *resp);
    mod->update_fars_length = 1;
    far_to_access(&mod->update_fars[0], 2, 0x400);
    mod->update_fars[0].forwarding.has_smreq_flags = true;
    mod->update_fars[0].forwarding.smreq_flags = PFCP_SMREQ_SNDEM;
    assert_int_equal(upf_sessions_modify(f->ss, s, mod, resp), 0);
    assert_int_equal(sent(f, metas, tags), 1);
    assert_int_equal(metas[0].gtpu.type, UPF_PKT_GTPU_END_MARKER);
    assert_int_equal(metas[0].gtpu.teid, 0x300);
    assert_int_equal(metas[0].dst_ipv4, GNB_IP);
    upf_sessions_get_stats(f->ss, &st);
    assert_int_equal(st.end_markers, 1);
    free(req);
    free(mod);
    free(resp);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_establish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modify_all_or_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_usage_and_deletion, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_owner_and_error_indication,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffering_and_end_marker, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
