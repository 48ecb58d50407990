/* Unit tests for vigil-upf's data plane: upf_worker, upf_neigh, upf_table
 * and upf_dp, on a real EAL (--no-huge, no PCI) with ports made of rings
 * (net_ring's rte_eth_from_rings): the test puts frames on a port's RX
 * ring, runs the worker's poll itself, and reads what it sent from the
 * TX ring. Covers ARP and ICMP answers, uplink decapsulation and downlink
 * encapsulation with the snapshots a session would install, neighbour
 * resolution with its bounded queue, ageing and failure (with simulated
 * time), error indications and their rate limit, FAR/gate/MBR drops,
 * buffering hand-off, and a stress run where a worker on its own lcore
 * forwards while the main thread replaces and frees snapshots under RCU
 * (ASan would catch a use after free). */
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
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "upf_dp.h"
#include "upf_neigh.h"
#include "upf_pkt.h"
#include "upf_table.h"
#include "upf_test_eal.h"
#include "upf_worker.h"

#define IP4(a, b, c, d) \
    (((uint32_t) (a) << 24) | ((uint32_t) (b) << 16) | ((c) << 8) | (d))

#define ACCESS_IP IP4(10, 1, 0, 1)
#define CORE_IP IP4(10, 2, 0, 1)
#define GNB_IP IP4(10, 1, 0, 2)
#define PDN_IP IP4(10, 2, 0, 2)
#define UE_IP IP4(10, 45, 0, 2)
#define TEID 0x1234
#define MAX_OUT 64
#define SECOND_NS INT64_C(1000000000)

static const uint8_t gnb_mac[6] = { 2, 0, 0, 0, 1, 2 };
static const uint8_t pdn_mac[6] = { 2, 0, 0, 0, 2, 2 };
static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static unsigned int instance;

struct frame {
    uint8_t data[2048];
    size_t size;
};

struct fixture {
    struct rte_ring *in[UPF_SIDE_COUNT];
    struct rte_ring *out[UPF_SIDE_COUNT];
    uint16_t ports[UPF_SIDE_COUNT];
    struct upf_dp *dp;
    struct upf_worker *w;
    uint8_t mac[UPF_SIDE_COUNT][6];
    int64_t now;
    struct rte_mbuf *punted[MAX_OUT];
    unsigned int punted_length;
    struct frame outs[MAX_OUT];
    unsigned int outs_length;
};

/* ---- EAL and fixture ---------------------------------------------------- */

static int
group_setup(void **state)
{
    (void) state;
    return upf_test_eal_init("test_upf_worker");
}

static int
group_teardown(void **state)
{
    (void) state;
    return upf_test_eal_cleanup();
}

static struct fixture *
fixture_new_with(uint32_t ei_rate, uint32_t neigh_queue,
                 uint32_t service_ipv4)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct upf_dp_conf c = {
        .ipv4 = { ACCESS_IP, CORE_IP },
        .service_ipv4 = { service_ipv4, 0 },
        .prefix_length = { 24, 24 },
        .max_pdrs = 64,
        .mbufs = 2047,
        .rx_desc = 128,
        .tx_desc = 128,
        .ring_size = 256,
        .error_indication_rate = ei_rate,
        .neigh_queue = neigh_queue,
        .neigh_max = 16,
        .neigh_reachable_ms = 1000,
    };
    char name[RTE_RING_NAMESIZE], why[256];
    int error = 0, port;

    assert_non_null(f);
    instance++;
    for (int s = 0; s < UPF_SIDE_COUNT; s++) {
        snprintf(name, sizeof name, "t%u_in%d", instance, s);
        f->in[s] = rte_ring_create(name, 512, 0, RING_F_SP_ENQ
                                   | RING_F_SC_DEQ);
        snprintf(name, sizeof name, "t%u_out%d", instance, s);
        f->out[s] = rte_ring_create(name, 512, 0, RING_F_SP_ENQ
                                    | RING_F_SC_DEQ);
        assert_non_null(f->in[s]);
        assert_non_null(f->out[s]);
        snprintf(name, sizeof name, "t%u_port%d", instance, s);
        port = rte_eth_from_rings(name, &f->in[s], 1, &f->out[s], 1, 0);
        assert_true(port >= 0);
        f->ports[s] = (uint16_t) port;
        c.port_ids[s] = f->ports[s];
    }
    f->dp = upf_dp_new(&c, &error, why, sizeof why);
    if (!f->dp) {
        fail_msg("upf_dp_new: %s", why);
    }
    f->w = upf_dp_worker(f->dp, 0);
    for (int s = 0; s < UPF_SIDE_COUNT; s++) {
        memcpy(f->mac[s], upf_dp_iface(f->dp, (enum upf_side) s)->mac, 6);
    }
    f->now = SECOND_NS;
    return f;
}

static struct fixture *
fixture_new(uint32_t ei_rate, uint32_t neigh_queue)
{
    return fixture_new_with(ei_rate, neigh_queue, 0);
}

static void
drain(struct rte_ring *r)
{
    void *m;

    while (rte_ring_dequeue(r, &m) == 0) {
        rte_pktmbuf_free(m);
    }
}

static void
fixture_free(struct fixture *f)
{
    for (unsigned int i = 0; i < f->punted_length; i++) {
        rte_pktmbuf_free(f->punted[i]);
    }
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
}

/* ---- frames ------------------------------------------------------------- */

static void
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t) (v >> 8);
    p[1] = (uint8_t) v;
}

static void
put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t) (v >> 16));
    put16(p + 2, (uint16_t) v);
}

/* IPv4 + UDP (no UDP checksum) around 'payload'; returns the size. */
static size_t
ipv4_udp(uint8_t *p, uint32_t src, uint32_t dst, uint16_t sport,
         uint16_t dport, const void *payload, size_t n)
{
    uint16_t csum;

    memset(p, 0, 28);
    p[0] = 0x45;
    put16(p + 2, (uint16_t) (28 + n));
    p[8] = 64;
    p[9] = 17;
    put32(p + 12, src);
    put32(p + 16, dst);
    csum = upf_pkt_checksum(p, 20);
    memcpy(p + 10, &csum, 2);
    put16(p + 20, sport);
    put16(p + 22, dport);
    put16(p + 24, (uint16_t) (8 + n));
    memcpy(p + 28, payload, n);
    return 28 + n;
}

static size_t
inner_packet(uint8_t *p, uint32_t src, uint32_t dst, size_t n)
{
    uint8_t payload[1500];

    for (size_t i = 0; i < n; i++) {
        payload[i] = (uint8_t) i;
    }
    return ipv4_udp(p, src, dst, 40000, 40001, payload, n);
}

/* A G-PDU from the gNB to the UPF's address 'dst'. */
static size_t
gpdu_to(struct fixture *f, uint8_t *frame, uint32_t dst, uint32_t teid,
        const uint8_t *inner, size_t inner_size, int qfi)
{
    uint8_t g[2048];
    size_t n = 8;

    g[0] = qfi >= 0 ? 0x34 : 0x30;
    g[1] = 0xff;
    put32(g + 4, teid);
    if (qfi >= 0) {
        memcpy(g + 8, "\x00\x00\x00\x85\x01\x10", 6);
        g[14] = (uint8_t) qfi;
        g[15] = 0;
        n = 16;
    }
    memcpy(g + n, inner, inner_size);
    n += inner_size;
    put16(g + 2, (uint16_t) (n - 8));
    upf_pkt_write_eth(frame, f->mac[UPF_SIDE_ACCESS], gnb_mac,
                      UPF_PKT_ETHER_IPV4);
    return 14 + ipv4_udp(frame + 14, GNB_IP, dst, 2152, 2152, g, n);
}

static size_t
gpdu(struct fixture *f, uint8_t *frame, uint32_t teid, const uint8_t *inner,
     size_t inner_size, int qfi)
{
    return gpdu_to(f, frame, ACCESS_IP, teid, inner, inner_size, qfi);
}

static void
inject(struct fixture *f, enum upf_side side, const uint8_t *frame,
       size_t size)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(upf_dp_pool(f->dp));
    char *data;

    assert_non_null(m);
    data = rte_pktmbuf_append(m, (uint16_t) size);
    assert_non_null(data);
    memcpy(data, frame, size);
    assert_int_equal(rte_ring_enqueue(f->in[side], m), 0);
}

static void
on_punt(void *arg, struct rte_mbuf *m)
{
    struct fixture *f = arg;

    assert_true(f->punted_length < MAX_OUT);
    f->punted[f->punted_length++] = m;
}

/* Worker poll, main lcore poll, worker poll (sends what main injected). */
static void
run(struct fixture *f)
{
    upf_worker_poll(f->w);
    upf_dp_poll(f->dp, f->now, on_punt, f);
    upf_worker_poll(f->w);
}

/* Takes what the UPF sent on 'side' into f->outs. */
static unsigned int
collect(struct fixture *f, enum upf_side side)
{
    void *m;

    f->outs_length = 0;
    while (rte_ring_dequeue(f->out[side], &m) == 0) {
        struct rte_mbuf *mb = m;

        assert_true(f->outs_length < MAX_OUT);
        assert_int_equal(mb->nb_segs, 1);
        f->outs[f->outs_length].size = mb->data_len;
        memcpy(f->outs[f->outs_length].data, rte_pktmbuf_mtod(mb, void *),
               mb->data_len);
        f->outs_length++;
        rte_pktmbuf_free(mb);
    }
    return f->outs_length;
}

static uint64_t
ctr(struct fixture *f, enum upf_side side, enum upf_ctr c)
{
    struct upf_side_stats st;

    upf_dp_stats(f->dp, side, &st);
    return st.ctr[c];
}

static struct upf_pdr_rt *
rt_new(struct fixture *f, uint16_t flags)
{
    struct upf_pdr_rt *rt = upf_dp_rt_new(f->dp);

    assert_non_null(rt);
    rt->flags = flags;
    return rt;
}

static void
rt_free(struct fixture *f, struct upf_pdr_rt *rt)
{
    upf_dp_rt_free(f->dp, rt);
}

static void
rt_sum(struct fixture *f, const struct upf_pdr_rt *rt,
       struct upf_pdr_counter_slot *sum)
{
    memset(sum, 0, sizeof *sum);
    upf_dp_rt_counters(f->dp, rt, sum);
}

/* ---- tests -------------------------------------------------------------- */

static void
test_arp_and_icmp(void **state)
{
    struct fixture *f = fixture_new(100, 4);
    struct upf_pkt_meta m;
    uint8_t frame[128];
    size_t size = 0;

    (void) state;
    assert_int_equal(upf_pkt_arp_request(frame, sizeof frame, gnb_mac,
                                         GNB_IP, ACCESS_IP, &size), 0);
    inject(f, UPF_SIDE_ACCESS, frame, size);
    assert_int_equal(upf_pkt_arp_request(frame, sizeof frame, gnb_mac,
                                         GNB_IP, IP4(10, 1, 0, 99), &size),
                     0);
    inject(f, UPF_SIDE_ACCESS, frame, size);
    run(f);
    assert_int_equal(collect(f, UPF_SIDE_ACCESS), 1);
    assert_int_equal(upf_pkt_parse(f->outs[0].data, f->outs[0].size, 0, &m),
                     UPF_PKT_OK);
    assert_int_equal(m.kind, UPF_PKT_KIND_ARP);
    assert_int_equal(m.arp_op, 2);
    assert_int_equal(m.src_ipv4, ACCESS_IP);
    assert_int_equal(m.dst_ipv4, GNB_IP);
    assert_memory_equal(f->outs[0].data, gnb_mac, 6);
    assert_memory_equal(f->outs[0].data + 22, f->mac[UPF_SIDE_ACCESS], 6);
    assert_int_equal(ctr(f, UPF_SIDE_ACCESS, UPF_CTR_ARP_REPLIES), 1);
    assert_int_equal(ctr(f, UPF_SIDE_ACCESS, UPF_CTR_UNHANDLED), 1);

    /* ICMP echo to the core address. */
    {
        uint8_t *ip = frame + 14, *icmp = ip + 20;
        uint16_t csum;

        upf_pkt_write_eth(frame, f->mac[UPF_SIDE_CORE], pdn_mac,
                          UPF_PKT_ETHER_IPV4);
        size = ipv4_udp(ip, PDN_IP, CORE_IP, 0, 0, "12345678", 8);
        ip[9] = 1;
        memset(icmp, 0, 8);
        icmp[0] = 8;
        memcpy(icmp + 8, "pingdata", 8);
        put16(ip + 10, 0);
        csum = upf_pkt_checksum(ip, 20);
        memcpy(ip + 10, &csum, 2);
        csum = upf_pkt_checksum(icmp, 16);
        memcpy(icmp + 2, &csum, 2);
        inject(f, UPF_SIDE_CORE, frame, 14 + size);
    }
    run(f);
    assert_int_equal(collect(f, UPF_SIDE_CORE), 1);
    assert_int_equal(upf_pkt_parse(f->outs[0].data, f->outs[0].size,
                                   UPF_PKT_PARSE_L4, &m), UPF_PKT_OK);
    assert_int_equal(m.src_ipv4, CORE_IP);
    assert_int_equal(m.dst_ipv4, PDN_IP);
    assert_int_equal(f->outs[0].data[34], 0);   /* echo reply */
    assert_int_equal(upf_pkt_checksum(f->outs[0].data + 34, 16), 0);
    assert_int_equal(ctr(f, UPF_SIDE_CORE, UPF_CTR_ICMP_REPLIES), 1);
    fixture_free(f);
}

static void
test_uplink_decap(void **state)
{
    struct fixture *f = fixture_new(100, 4);
    struct upf_pdr_rt *rt = rt_new(f, UPF_RT_FORWARD | UPF_RT_DECAP
                                   | UPF_RT_UE_CHECK);
    struct upf_pdr_counter_slot sum;
    uint8_t inner[3][1600], frame[2048], spoofed[128];
    size_t inner_size[3], spoofed_size;

    (void) state;
    rt->ue_ipv4 = UE_IP;
    rt->out_side = UPF_SIDE_CORE;
    assert_int_equal(upf_dp_add_neighbour(f->dp, UPF_SIDE_CORE, PDN_IP,
                                          pdn_mac), 0);
    assert_int_equal(upf_table_set(upf_dp_uplink(f->dp), TEID, rt), 0);
    for (int i = 0; i < 3; i++) {
        inner_size[i] = inner_packet(inner[i], UE_IP, PDN_IP,
                                     (size_t) (i * 600));
        inject(f, UPF_SIDE_ACCESS, frame,
               gpdu(f, frame, TEID, inner[i], inner_size[i], i == 1 ? 9 : -1));
    }
    /* A spoofed source. */
    spoofed_size = inner_packet(spoofed, IP4(10, 45, 9, 9), PDN_IP, 10);
    inject(f, UPF_SIDE_ACCESS, frame,
           gpdu(f, frame, TEID, spoofed, spoofed_size, -1));
    run(f);
    assert_int_equal(collect(f, UPF_SIDE_CORE), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(f->outs[i].size, 14 + inner_size[i]);
        assert_memory_equal(f->outs[i].data, pdn_mac, 6);
        assert_memory_equal(f->outs[i].data + 6, f->mac[UPF_SIDE_CORE], 6);
        assert_memory_equal(f->outs[i].data + 14, inner[i], inner_size[i]);
    }
    rt_sum(f, rt, &sum);
    assert_int_equal(sum.packets, 3);
    assert_int_equal(sum.bytes, inner_size[0] + inner_size[1]
                                + inner_size[2]);
    assert_int_equal(ctr(f, UPF_SIDE_ACCESS, UPF_CTR_FORWARDED), 3);
    assert_int_equal(ctr(f, UPF_SIDE_ACCESS, UPF_CTR_SPOOFED), 1);
    assert_int_equal(ctr(f, UPF_SIDE_CORE, UPF_CTR_TX_PACKETS), 3);
    assert_int_equal(upf_table_del(upf_dp_uplink(f->dp), TEID), 0);
    upf_dp_synchronize(f->dp);
    rt_free(f, rt);
    fixture_free(f);
}

static void
test_resolution_queue(void **state)
{
    struct fixture *f = fixture_new(100, 4);
    struct upf_pdr_rt *rt = rt_new(f, UPF_RT_FORWARD | UPF_RT_DECAP);
    const struct upf_neigh_table *neigh =
        upf_dp_iface(f->dp, UPF_SIDE_CORE)->neigh;
    struct upf_neigh_stats ns;
    enum upf_neigh_state st;
    uint8_t inner[128], frame[256], mac[6];
    size_t size = inner_packet(inner, UE_IP, PDN_IP, 20), n;
    struct upf_pkt_meta m;

    (void) state;
    assert_int_equal(upf_table_set(upf_dp_uplink(f->dp), TEID, rt), 0);
    for (int i = 0; i < 6; i++) {
        inject(f, UPF_SIDE_ACCESS, frame, gpdu(f, frame, TEID, inner, size,
                                               -1));
    }
    run(f);
    /* Held: 4 of 6 (the queue's bound); an ARP request went out. */
    assert_int_equal(collect(f, UPF_SIDE_CORE), 1);
    assert_int_equal(upf_pkt_parse(f->outs[0].data, f->outs[0].size, 0, &m),
                     UPF_PKT_OK);
    assert_int_equal(m.kind, UPF_PKT_KIND_ARP);
    assert_int_equal(m.arp_op, 1);
    assert_int_equal(m.src_ipv4, CORE_IP);
    assert_int_equal(m.dst_ipv4, PDN_IP);
    assert_memory_equal(f->outs[0].data, broadcast, 6);
    upf_neigh_get_stats(neigh, &ns);
    assert_int_equal(ns.queued, 4);
    assert_int_equal(ns.queue_dropped, 2);
    assert_int_equal(upf_neigh_state(neigh, PDN_IP, &st, mac), 0);
    assert_int_equal(st, UPF_NEIGH_INCOMPLETE);
    /* The reply: held packets go out with the learned MAC. */
    {
        uint8_t reply[64];

        assert_int_equal(upf_pkt_arp_request(reply, sizeof reply, pdn_mac,
                                             PDN_IP, CORE_IP, &n), 0);
        put16(reply + 20, 2);
        memcpy(reply, f->mac[UPF_SIDE_CORE], 6);
        memcpy(reply + 32, f->mac[UPF_SIDE_CORE], 6);
        inject(f, UPF_SIDE_CORE, reply, n);
    }
    run(f);
    assert_int_equal(collect(f, UPF_SIDE_CORE), 4);
    for (int i = 0; i < 4; i++) {
        assert_memory_equal(f->outs[i].data, pdn_mac, 6);
        assert_memory_equal(f->outs[i].data + 14, inner, size);
    }
    assert_int_equal(upf_neigh_state(neigh, PDN_IP, &st, mac), 0);
    assert_int_equal(st, UPF_NEIGH_REACHABLE);
    assert_memory_equal(mac, pdn_mac, 6);
    /* Now straight through, no punt. */
    inject(f, UPF_SIDE_ACCESS, frame, gpdu(f, frame, TEID, inner, size, -1));
    upf_worker_poll(f->w);
    assert_int_equal(collect(f, UPF_SIDE_CORE), 1);
    upf_neigh_get_stats(neigh, &ns);
    assert_int_equal(ns.resolved, 1);
    assert_int_equal(ns.requests_sent, 1);
    upf_table_del(upf_dp_uplink(f->dp), TEID);
    upf_dp_synchronize(f->dp);
    rt_free(f, rt);
    fixture_free(f);
}

static void
test_neighbour_ageing(void **state)
{
    struct fixture *f = fixture_new(100, 4);
    const struct upf_neigh_table *neigh =
        upf_dp_iface(f->dp, UPF_SIDE_CORE)->neigh;
    struct upf_pdr_rt *rt = rt_new(f, UPF_RT_FORWARD | UPF_RT_DECAP);
    struct upf_neigh_stats ns;
    enum upf_neigh_state st;
    uint8_t inner[128], frame[256], mac[6], reply[64];
    size_t size = inner_packet(inner, UE_IP, PDN_IP, 20), n;

    (void) state;
    assert_int_equal(upf_table_set(upf_dp_uplink(f->dp), TEID, rt), 0);
    inject(f, UPF_SIDE_ACCESS, frame, gpdu(f, frame, TEID, inner, size, -1));
    run(f);
    assert_int_equal(collect(f, UPF_SIDE_CORE), 1);    /* ARP request */
    assert_int_equal(upf_pkt_arp_request(reply, sizeof reply, pdn_mac, PDN_IP,
                                         CORE_IP, &n), 0);
    put16(reply + 20, 2);
    inject(f, UPF_SIDE_CORE, reply, n);
    run(f);
    assert_int_equal(collect(f, UPF_SIDE_CORE), 1);    /* the packet */
    /* One sent by the worker itself marks the entry as used. */
    inject(f, UPF_SIDE_ACCESS, frame, gpdu(f, frame, TEID, inner, size, -1));
    run(f);
    assert_int_equal(collect(f, UPF_SIDE_CORE), 1);

    /* Used since confirmed: probed after reachable_ms, MAC kept. */
    f->now += 1100 * INT64_C(1000000);
    run(f);
    assert_int_equal(upf_neigh_state(neigh, PDN_IP, &st, mac), 0);
    assert_int_equal(st, UPF_NEIGH_PROBE);
    assert_memory_equal(mac, pdn_mac, 6);
    assert_int_equal(collect(f, UPF_SIDE_CORE), 1);    /* the probe */
    /* No answer to any probe: removed. */
    for (int i = 0; i < 3; i++) {
        f->now += SECOND_NS;
        run(f);
    }
    assert_int_equal(upf_neigh_state(neigh, PDN_IP, &st, mac), -ENOENT);
    upf_neigh_get_stats(neigh, &ns);
    assert_int_equal(ns.expired, 1);

    /* Never answering: failed, packets refused while failed, then gone. */
    inject(f, UPF_SIDE_ACCESS, frame, gpdu(f, frame, TEID, inner, size, -1));
    run(f);
    for (int i = 0; i < 3; i++) {
        f->now += SECOND_NS;
        run(f);
    }
    assert_int_equal(upf_neigh_state(neigh, PDN_IP, &st, mac), 0);
    assert_int_equal(st, UPF_NEIGH_FAILED);
    upf_neigh_get_stats(neigh, &ns);
    assert_int_equal(ns.failed, 1);
    inject(f, UPF_SIDE_ACCESS, frame, gpdu(f, frame, TEID, inner, size, -1));
    run(f);
    upf_neigh_get_stats(neigh, &ns);
    assert_int_equal(ns.queue_dropped, 2);
    f->now += 4 * SECOND_NS;
    run(f);
    assert_int_equal(upf_neigh_state(neigh, PDN_IP, &st, mac), -ENOENT);
    collect(f, UPF_SIDE_CORE);
    upf_table_del(upf_dp_uplink(f->dp), TEID);
    upf_dp_synchronize(f->dp);
    rt_free(f, rt);
    fixture_free(f);
}

static void
test_downlink_encap(void **state)
{
    struct fixture *f = fixture_new(100, 4);
    struct upf_pdr_rt *rt = rt_new(f, UPF_RT_FORWARD | UPF_RT_ENCAP);
    struct upf_pkt_tunnel t = {
        .src_ipv4 = ACCESS_IP, .dst_ipv4 = GNB_IP, .teid = 0x100,
        .qfi = 5, .has_qfi = true,
    };
    struct upf_pkt_meta m;
    uint8_t frame[256];
    size_t size;

    (void) state;
    rt->out_side = UPF_SIDE_ACCESS;
    rt->peer_ipv4 = GNB_IP;
    upf_pkt_encap_init(&rt->encap, &t, UPF_PKT_GTPU_GPDU);
    assert_int_equal(upf_dp_add_neighbour(f->dp, UPF_SIDE_ACCESS, GNB_IP,
                                          gnb_mac), 0);
    assert_int_equal(upf_table_set(upf_dp_downlink(f->dp), UE_IP, rt), 0);
    upf_pkt_write_eth(frame, f->mac[UPF_SIDE_CORE], pdn_mac,
                      UPF_PKT_ETHER_IPV4);
    size = 14 + inner_packet(frame + 14, PDN_IP, UE_IP, 4);
    memset(frame + size, 0xee, 60 - size);      /* Ethernet padding */
    inject(f, UPF_SIDE_CORE, frame, 60);
    run(f);
    assert_int_equal(collect(f, UPF_SIDE_ACCESS), 1);
    assert_memory_equal(f->outs[0].data, gnb_mac, 6);
    assert_memory_equal(f->outs[0].data + 6, f->mac[UPF_SIDE_ACCESS], 6);
    assert_int_equal(upf_pkt_parse(f->outs[0].data, f->outs[0].size,
                                   UPF_PKT_PARSE_L4, &m), UPF_PKT_OK);
    assert_int_equal(m.kind, UPF_PKT_KIND_GTPU);
    assert_int_equal(m.src_ipv4, ACCESS_IP);
    assert_int_equal(m.dst_ipv4, GNB_IP);
    assert_int_equal(m.gtpu.teid, 0x100);
    assert_true(m.gtpu.has_qfi);
    assert_int_equal(m.gtpu.qfi, 5);
    assert_int_equal(m.gtpu.pdu_type, 0);
    /* The inner packet without the padding. */
    assert_int_equal(m.gtpu.payload_size, size - 14);
    assert_memory_equal(f->outs[0].data + m.gtpu.payload_offset, frame + 14,
                        size - 14);
    assert_int_equal(ctr(f, UPF_SIDE_CORE, UPF_CTR_FORWARDED), 1);
    /* No session for another address. */
    put32(frame + 14 + 16, IP4(10, 45, 0, 99));
    put16(frame + 14 + 10, 0);
    {
        uint16_t csum = upf_pkt_checksum(frame + 14, 20);

        memcpy(frame + 14 + 10, &csum, 2);
    }
    inject(f, UPF_SIDE_CORE, frame, 60);
    run(f);
    assert_int_equal(collect(f, UPF_SIDE_ACCESS), 0);
    assert_int_equal(ctr(f, UPF_SIDE_CORE, UPF_CTR_NO_SESSION), 1);
    upf_table_del(upf_dp_downlink(f->dp), UE_IP);
    upf_dp_synchronize(f->dp);
    rt_free(f, rt);
    fixture_free(f);
}

static void
test_error_indication_rate(void **state)
{
    struct fixture *f = fixture_new(2, 4);
    uint8_t inner[128], frame[256];
    size_t size = inner_packet(inner, UE_IP, PDN_IP, 10);
    struct upf_pkt_meta m;
    uint32_t teid, peer;

    (void) state;
    for (int i = 0; i < 5; i++) {
        inject(f, UPF_SIDE_ACCESS, frame, gpdu(f, frame, 0xdead0000 + i,
                                               inner, size, -1));
    }
    run(f);
    assert_int_equal(collect(f, UPF_SIDE_ACCESS), 2);
    assert_int_equal(upf_pkt_parse(f->outs[0].data, f->outs[0].size,
                                   UPF_PKT_PARSE_L4, &m), UPF_PKT_OK);
    assert_int_equal(m.gtpu.type, UPF_PKT_GTPU_ERROR_INDICATION);
    assert_int_equal(m.dst_ipv4, GNB_IP);
    assert_int_equal(upf_pkt_parse_error_indication(
                         f->outs[0].data + m.gtpu.payload_offset,
                         m.gtpu.payload_size, &teid, &peer), 0);
    assert_int_equal(teid, 0xdead0000);
    assert_int_equal(peer, ACCESS_IP);
    assert_int_equal(ctr(f, UPF_SIDE_ACCESS, UPF_CTR_NO_SESSION), 5);
    assert_int_equal(ctr(f, UPF_SIDE_ACCESS, UPF_CTR_GTPU_ERROR_IND_SENT),
                     2);
    assert_int_equal(ctr(f, UPF_SIDE_ACCESS,
                         UPF_CTR_GTPU_ERROR_IND_SUPPRESSED), 3);
    fixture_free(f);
}

static void
test_gtpu_echo_and_signalling(void **state)
{
    struct fixture *f = fixture_new(100, 4);
    uint8_t frame[256], g[32];
    struct upf_pkt_meta m;
    size_t size;

    (void) state;
    memcpy(g, "\x32\x01\x00\x04\x00\x00\x00\x00\x00\x07\x00\x00", 12);
    upf_pkt_write_eth(frame, f->mac[UPF_SIDE_ACCESS], gnb_mac,
                      UPF_PKT_ETHER_IPV4);
    size = 14 + ipv4_udp(frame + 14, GNB_IP, ACCESS_IP, 3000, 2152, g, 12);
    inject(f, UPF_SIDE_ACCESS, frame, size);
    /* An end marker, and an error indication (punted). */
    memcpy(g, "\x30\xfe\x00\x00\x00\x00\x00\x09", 8);
    size = 14 + ipv4_udp(frame + 14, GNB_IP, ACCESS_IP, 2152, 2152, g, 8);
    inject(f, UPF_SIDE_ACCESS, frame, size);
    memcpy(g, "\x32\x1a\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00"
              "\x10\x00\x00\x01\x00\x85\x00\x04\x0a\x01\x00\x02", 24);
    size = 14 + ipv4_udp(frame + 14, GNB_IP, ACCESS_IP, 2152, 2152, g, 24);
    inject(f, UPF_SIDE_ACCESS, frame, size);
    run(f);
    assert_int_equal(collect(f, UPF_SIDE_ACCESS), 1);
    assert_int_equal(upf_pkt_parse(f->outs[0].data, f->outs[0].size,
                                   UPF_PKT_PARSE_L4, &m), UPF_PKT_OK);
    assert_int_equal(m.dst_port, 3000);
    assert_int_equal(upf_pkt_parse_gtpu(f->outs[0].data, 42,
                                        f->outs[0].size - 42, &m.gtpu),
                     UPF_PKT_OK);
    assert_int_equal(m.gtpu.type, UPF_PKT_GTPU_ECHO_RESPONSE);
    assert_int_equal(m.gtpu.seq, 7);
    assert_int_equal(ctr(f, UPF_SIDE_ACCESS, UPF_CTR_GTPU_END_MARKERS), 1);
    assert_int_equal(ctr(f, UPF_SIDE_ACCESS,
                         UPF_CTR_GTPU_ERROR_IND_RECEIVED), 1);
    assert_int_equal(f->punted_length, 1);
    assert_int_equal(upf_mbuf_priv(f->punted[0])->reason, UPF_PUNT_GTPU);
    fixture_free(f);
}

static void
test_drops_and_meter(void **state)
{
    struct fixture *f = fixture_new(100, 4);
    struct upf_pdr_rt *drop = rt_new(f, 0);
    struct upf_pdr_rt *gate = rt_new(f, UPF_RT_FORWARD | UPF_RT_DECAP
                                     | UPF_RT_GATE_CLOSED);
    struct upf_pdr_rt *mbr = rt_new(f, UPF_RT_FORWARD | UPF_RT_DECAP);
    struct upf_pdr_counter_slot sum;
    uint8_t inner[1100], frame[1400];
    size_t size = inner_packet(inner, UE_IP, PDN_IP, 1000);
    int error = 0;

    (void) state;
    mbr->meters[0] = upf_dp_meter_new(f->dp, 8, 1, &error);
    assert_non_null(mbr->meters[0]);
    mbr->meters_length = 1;
    assert_int_equal(upf_dp_add_neighbour(f->dp, UPF_SIDE_CORE, PDN_IP,
                                          pdn_mac), 0);
    upf_table_set(upf_dp_uplink(f->dp), 1, drop);
    upf_table_set(upf_dp_uplink(f->dp), 2, gate);
    upf_table_set(upf_dp_uplink(f->dp), 3, mbr);
    for (uint32_t teid = 1; teid <= 3; teid++) {
        for (int i = 0; i < 10; i++) {
            inject(f, UPF_SIDE_ACCESS, frame,
                   gpdu(f, frame, teid, inner, size, -1));
        }
        run(f);
    }
    /* 8 kbit/s with the minimum bucket (3000 bytes) passes 2 of 10. */
    assert_int_equal(collect(f, UPF_SIDE_CORE), 2);
    assert_int_equal(ctr(f, UPF_SIDE_ACCESS, UPF_CTR_FAR_DROPPED), 10);
    assert_int_equal(ctr(f, UPF_SIDE_ACCESS, UPF_CTR_GATE_DROPPED), 10);
    assert_int_equal(ctr(f, UPF_SIDE_ACCESS, UPF_CTR_MBR_DROPPED), 8);
    rt_sum(f, mbr, &sum);
    assert_int_equal(sum.packets, 2);
    assert_int_equal(sum.dropped_packets, 8);
    assert_int_equal(sum.dropped_bytes, 8 * size);
    for (uint32_t teid = 1; teid <= 3; teid++) {
        upf_table_del(upf_dp_uplink(f->dp), teid);
    }
    upf_dp_synchronize(f->dp);
    upf_dp_meter_free(mbr->meters[0]);
    rt_free(f, drop);
    rt_free(f, gate);
    rt_free(f, mbr);
    fixture_free(f);
}

static void
test_buffer_and_malformed(void **state)
{
    struct fixture *f = fixture_new(100, 4);
    struct upf_pdr_rt *rt = rt_new(f, UPF_RT_BUFFER);
    struct upf_side_stats st;
    uint8_t frame[256];
    size_t size;

    (void) state;
    rt->seid = 0xabc;
    rt->pdr_id = 2;
    upf_table_set(upf_dp_downlink(f->dp), UE_IP, rt);
    upf_pkt_write_eth(frame, f->mac[UPF_SIDE_CORE], pdn_mac,
                      UPF_PKT_ETHER_IPV4);
    size = 14 + inner_packet(frame + 14, PDN_IP, UE_IP, 30);
    inject(f, UPF_SIDE_CORE, frame, size);
    run(f);
    assert_int_equal(f->punted_length, 1);
    assert_int_equal(upf_mbuf_priv(f->punted[0])->reason, UPF_PUNT_BUFFER);
    assert_int_equal(upf_mbuf_priv(f->punted[0])->seid, 0xabc);
    assert_int_equal(upf_mbuf_priv(f->punted[0])->pdr_id, 2);
    /* To another MAC; then a bad IP checksum. */
    frame[0] ^= 1;
    inject(f, UPF_SIDE_CORE, frame, size);
    frame[0] ^= 1;
    frame[14 + 10] ^= 0xff;
    inject(f, UPF_SIDE_CORE, frame, size);
    inject(f, UPF_SIDE_CORE, frame, 13);
    run(f);
    upf_dp_stats(f->dp, UPF_SIDE_CORE, &st);
    assert_int_equal(st.ctr[UPF_CTR_NOT_LOCAL], 1);
    assert_int_equal(st.parse[UPF_PKT_BAD_IP_CHECKSUM], 1);
    assert_int_equal(st.parse[UPF_PKT_TRUNCATED], 1);
    assert_int_equal(st.ctr[UPF_CTR_RX_PACKETS], 4);
    upf_table_del(upf_dp_downlink(f->dp), UE_IP);
    upf_dp_synchronize(f->dp);
    rt_free(f, rt);
    fixture_free(f);
}

/* A second own address on the access side (the N3 service address):
 * answered for ARP, and G-PDUs to it are the UPF's. */
static void
test_service_address(void **state)
{
    const uint32_t n3 = IP4(10, 1, 0, 100);
    struct fixture *f = fixture_new_with(100, 4, n3);
    struct upf_pdr_rt *rt = rt_new(f, UPF_RT_FORWARD | UPF_RT_DECAP);
    uint8_t frame[256], inner[128];
    size_t size = 0, inner_size = inner_packet(inner, UE_IP, PDN_IP, 8);
    struct upf_pkt_meta m;

    (void) state;
    assert_int_equal(upf_pkt_arp_request(frame, sizeof frame, gnb_mac,
                                         GNB_IP, n3, &size), 0);
    inject(f, UPF_SIDE_ACCESS, frame, size);
    run(f);
    assert_int_equal(collect(f, UPF_SIDE_ACCESS), 1);
    assert_int_equal(upf_pkt_parse(f->outs[0].data, f->outs[0].size, 0, &m),
                     UPF_PKT_OK);
    assert_int_equal(m.arp_op, 2);
    assert_int_equal(m.src_ipv4, n3);
    assert_int_equal(upf_dp_add_neighbour(f->dp, UPF_SIDE_CORE, PDN_IP,
                                          pdn_mac), 0);
    assert_int_equal(upf_table_set(upf_dp_uplink(f->dp), TEID, rt), 0);
    inject(f, UPF_SIDE_ACCESS, frame,
           gpdu_to(f, frame, n3, TEID, inner, inner_size, -1));
    /* Another address of the subnet is not the UPF's. */
    inject(f, UPF_SIDE_ACCESS, frame,
           gpdu_to(f, frame, IP4(10, 1, 0, 101), TEID, inner, inner_size,
                   -1));
    run(f);
    assert_int_equal(collect(f, UPF_SIDE_CORE), 1);
    assert_memory_equal(f->outs[0].data + 14, inner, inner_size);
    assert_int_equal(ctr(f, UPF_SIDE_ACCESS, UPF_CTR_NOT_LOCAL), 1);
    upf_table_del(upf_dp_uplink(f->dp), TEID);
    upf_dp_synchronize(f->dp);
    rt_free(f, rt);
    fixture_free(f);
}

/* A worker forwards on its own lcore while the main thread keeps
 * replacing the snapshot it uses and frees the old one after a grace
 * period. Without RCU doing its job ASan reports a use after free. */
static void
test_rcu_stress(void **state)
{
    struct fixture *f = fixture_new(100, 4);
    uint8_t inner[128], frame[256];
    size_t size = inner_packet(inner, UE_IP, PDN_IP, 20);
    size_t frame_size = gpdu(f, frame, TEID, inner, size, -1);
    struct upf_pdr_rt *current = NULL;
    uint64_t forwarded;

    (void) state;
    assert_int_equal(upf_dp_add_neighbour(f->dp, UPF_SIDE_CORE, PDN_IP,
                                          pdn_mac), 0);
    assert_int_equal(upf_dp_start(f->dp), 0);
    for (int round = 0; round < 2000; round++) {
        struct upf_pdr_rt *next = rt_new(f, UPF_RT_FORWARD | UPF_RT_DECAP);

        assert_int_equal(upf_table_set(upf_dp_uplink(f->dp), TEID, next), 0);
        upf_dp_synchronize(f->dp);
        if (current) {
            rt_free(f, current);
        }
        current = next;
        for (int i = 0; i < 4; i++) {
            struct rte_mbuf *m = rte_pktmbuf_alloc(upf_dp_pool(f->dp));

            if (!m) {
                break;
            }
            memcpy(rte_pktmbuf_append(m, (uint16_t) frame_size), frame,
                   frame_size);
            if (rte_ring_enqueue(f->in[UPF_SIDE_ACCESS], m)) {
                rte_pktmbuf_free(m);
            }
        }
        drain(f->out[UPF_SIDE_CORE]);
        if (round % 200 == 0) {
            /* Now and then the key disappears altogether. */
            upf_table_del(upf_dp_uplink(f->dp), TEID);
            upf_dp_synchronize(f->dp);
        }
    }
    upf_dp_stop(f->dp);
    forwarded = ctr(f, UPF_SIDE_ACCESS, UPF_CTR_FORWARDED);
    assert_true(forwarded > 0);
    upf_table_del(upf_dp_uplink(f->dp), TEID);
    rt_free(f, current);
    fixture_free(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arp_and_icmp),
        cmocka_unit_test(test_uplink_decap),
        cmocka_unit_test(test_resolution_queue),
        cmocka_unit_test(test_neighbour_ageing),
        cmocka_unit_test(test_downlink_encap),
        cmocka_unit_test(test_error_indication_rate),
        cmocka_unit_test(test_gtpu_echo_and_signalling),
        cmocka_unit_test(test_drops_and_meter),
        cmocka_unit_test(test_buffer_and_malformed),
        cmocka_unit_test(test_service_address),
        cmocka_unit_test(test_rcu_stress),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
