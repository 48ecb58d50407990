/* bench-upf: throughput of vigil-upf's data plane and PFCP node.
 *
 * One process, two lcores. The data plane (upf_dp) gets two ports made of
 * rings (net_ring's rte_eth_from_rings): each port reads one ring and
 * writes another, so nothing is copied by a device. 100,000 sessions are
 * established through the real PFCP node (upf_node) over UDP on loopback,
 * by a client in the same thread that keeps 64 requests in flight: that
 * gives establishments per second, PFCP decode, session rules, tables and
 * encode included (and the client's own encode/decode).
 *
 * Then, for each direction, the worker lcore runs the worker's poll
 * (upf_worker_poll, with an RCU quiescent state per poll, as in
 * production) while the main lcore is the traffic generator: it takes
 * what the worker sent out of the output ring, rewrites each mbuf into the
 * next input frame (one template, the session's addresses and TEID
 * patched in, sessions in a shuffled order) and puts it back on the input
 * ring. The uplink frames are G-PDUs with a
 * UL PDU Session Container around a 64-byte inner IPv4/UDP packet, to the
 * TEIDs the UPF allocated; the downlink frames are 64-byte IPv4/UDP
 * packets to the UEs, encapsulated with a DL PDU Session Container (QFI).
 * The same generator also drives a bare loop (rte_eth_rx_burst on the
 * access port, rte_eth_tx_burst on the core port, nothing else): the I/O
 * ceiling of these devices on this machine.
 *
 * Cycles are counted with rte_rdtsc() around the polls that found work
 * ("busy" cycles); cycles per packet = busy cycles / packets, and the
 * per-core rate = TSC Hz / cycles per packet (what one core does when it
 * is never starved). The wall-clock rate achieved is printed too; when
 * the generator cannot keep up, it is lower than the per-core rate.
 *
 * Usage: bench-upf [--sessions N] [--seconds S] [EAL args...]
 * Prints the figures and how they were measured, then one JSON line. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "metrics.h"
#include "pfcp.h"
#include "upf_dp.h"
#include "upf_node.h"
#include "upf_pkt.h"
#include "upf_session.h"
#include "upf_worker.h"

#define IP4(a, b, c, d) \
    (((uint32_t) (a) << 24) | ((uint32_t) (b) << 16) | ((c) << 8) | (d))

#define N3_IP IP4(10, 1, 0, 1)
#define N6_IP IP4(10, 2, 0, 1)
#define PDN_IP IP4(10, 2, 0, 2)
#define GNB_BASE IP4(10, 1, 0, 2)
#define GNBS 16
#define UE_BASE IP4(10, 64, 0, 0)
#define INNER_SIZE 64               /* bytes of the inner IPv4 packet */
#define QFI 9
#define RING_SIZE 4096
#define WINDOW 64                   /* PFCP requests in flight */
#define MAX_SESSIONS 1000000
#define TEMPLATE 128

static const uint8_t gnb_mac[6] = { 2, 0, 0, 0, 1, 2 };
static const uint8_t pdn_mac[6] = { 2, 0, 0, 0, 2, 2 };

enum mode {
    MODE_UPLINK,
    MODE_DOWNLINK,
    MODE_BARE,
};

struct counters {
    uint64_t busy_cycles;
    uint64_t packets;
    uint64_t polls;
    uint64_t interrupted;       /* polls left out (see INTERRUPTED_US) */
};

/* A poll that took longer than this was interrupted (the scheduler gave
 * the CPU to another process on a shared machine): it and its packets are
 * left out of the figures, and counted. A full poll takes a few us. */
#define INTERRUPTED_US 100

struct bench {
    unsigned int sessions;
    double seconds;
    struct rte_ring *in[UPF_SIDE_COUNT];
    struct rte_ring *out[UPF_SIDE_COUNT];
    uint16_t ports[UPF_SIDE_COUNT];
    struct upf_dp *dp;
    struct upf_sessions *ss;
    uint32_t *teids;                /* per session, from the UPF */
    uint32_t *order;                /* shuffled session indexes */
    uint8_t template[TEMPLATE];     /* the frame, patched per session */
    size_t template_size;
    enum mode mode;
    uint32_t stop;
    uint32_t go;                    /* a batch waits for the worker */
    struct counters counters;       /* written by the worker lcore
                                     * while 'go' is set */
    unsigned int worker_lcore;
};


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

/* An IPv4/UDP packet of 'total' bytes. */
static void
ipv4_udp(uint8_t *p, uint32_t src, uint32_t dst, uint16_t sport,
         uint16_t dport, size_t total)
{
    uint16_t csum;

    memset(p, 0, total);
    p[0] = 0x45;
    put16(p + 2, (uint16_t) total);
    p[8] = 64;
    p[9] = 17;
    put32(p + 12, src);
    put32(p + 16, dst);
    csum = upf_pkt_checksum(p, 20);
    memcpy(p + 10, &csum, 2);
    put16(p + 20, sport);
    put16(p + 22, dport);
    put16(p + 24, (uint16_t) (total - 20));
    for (size_t i = 28; i < total; i++) {
        p[i] = (uint8_t) i;
    }
}

static uint32_t
ue_of(unsigned int i)
{
    return UE_BASE + i;
}

static uint32_t
gnb_of(unsigned int i)
{
    return GNB_BASE + i % GNBS;
}

/* One frame per direction; refill() patches the session's fields in.
 * (A template per session would make the generator's own working set
 * compete with the UPF's for the shared cache.) */
static void
make_uplink_template(struct bench *b)
{
    const uint8_t *mac = upf_dp_iface(b->dp, UPF_SIDE_ACCESS)->mac;
    uint8_t *f = b->template;
    uint8_t *g = f + 14 + 28;

    b->template_size = 14 + 20 + 8 + 16 + INNER_SIZE;
    upf_pkt_write_eth(f, mac, gnb_mac, UPF_PKT_ETHER_IPV4);
    ipv4_udp(f + 14, gnb_of(0), N3_IP, 2152, 2152, 28 + 16 + INNER_SIZE);
    /* UDP checksum 0 on the outer header (allowed for IPv4). */
    put16(f + 14 + 26, 0);
    memcpy(g, "\x34\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x85"
              "\x01\x10\x09\x00", 16);
    put16(g + 2, 8 + INNER_SIZE);
    ipv4_udp(g + 16, ue_of(0), PDN_IP, 40000, 40001, INNER_SIZE);
}

static void
make_downlink_template(struct bench *b)
{
    const uint8_t *mac = upf_dp_iface(b->dp, UPF_SIDE_CORE)->mac;

    b->template_size = 14 + INNER_SIZE;
    upf_pkt_write_eth(b->template, mac, pdn_mac, UPF_PKT_ETHER_IPV4);
    ipv4_udp(b->template + 14, PDN_IP, ue_of(0), 40001, 40000, INNER_SIZE);
}

/* Writes the address at 'ip' + 'offset' and the header's checksum. */
static void
set_ipv4(uint8_t *ip, size_t offset, uint32_t address)
{
    uint16_t csum;

    put32(ip + offset, address);
    put16(ip + 10, 0);
    csum = upf_pkt_checksum(ip, 20);
    memcpy(ip + 10, &csum, 2);
}

/* ---- PFCP --------------------------------------------------------------- */

static void
build_establishment(struct pfcp_msg *msg, unsigned int i)
{
    struct pfcp_establishment_request *r = &msg->establishment_request;
    struct pfcp_pdr *up = &r->create_pdrs[0], *down = &r->create_pdrs[1];
    struct pfcp_far *f;

    pfcp_msg_init(msg, PFCP_MSG_SESSION_ESTABLISHMENT_REQUEST, 0, i + 1);
    r->node_id.type = PFCP_NODE_ID_IPV4;
    r->node_id.ipv4.s_addr = htonl(IP4(127, 0, 0, 1));
    r->cp_fseid.flags = PFCP_FSEID_V4;
    r->cp_fseid.seid = i + 1;
    r->cp_fseid.ipv4.s_addr = htonl(IP4(127, 0, 0, 1));
    r->create_pdrs_length = 2;
    up->pdr_id = 1;
    up->has_precedence = true;
    up->precedence = 100;
    up->has_pdi = true;
    up->pdi.source_interface = PFCP_INTERFACE_ACCESS;
    up->pdi.has_local_fteid = true;
    up->pdi.local_fteid.flags = PFCP_FTEID_V4 | PFCP_FTEID_CH;
    up->pdi.has_ue_ip = true;
    up->pdi.ue_ip.flags = PFCP_UE_IP_V4;
    up->pdi.ue_ip.ipv4.s_addr = htonl(ue_of(i));
    up->has_outer_header_removal = true;
    up->has_far_id = true;
    up->far_id = 1;
    up->urr_ids_length = 1;
    up->urr_ids[0] = 1;
    up->qer_ids_length = 1;
    up->qer_ids[0] = 1;
    *down = *up;
    down->pdr_id = 2;
    down->pdi.source_interface = PFCP_INTERFACE_CORE;
    down->pdi.has_local_fteid = false;
    down->pdi.ue_ip.flags = PFCP_UE_IP_V4 | PFCP_UE_IP_SD;
    down->has_outer_header_removal = false;
    down->far_id = 2;
    r->create_fars_length = 2;
    f = &r->create_fars[0];
    f->far_id = 1;
    f->has_apply_action = true;
    f->apply_action = PFCP_ACTION_FORW;
    f->has_forwarding = true;
    f->forwarding.has_destination_interface = true;
    f->forwarding.destination_interface = PFCP_INTERFACE_CORE;
    f = &r->create_fars[1];
    f->far_id = 2;
    f->has_apply_action = true;
    f->apply_action = PFCP_ACTION_FORW;
    f->has_forwarding = true;
    f->forwarding.has_destination_interface = true;
    f->forwarding.destination_interface = PFCP_INTERFACE_ACCESS;
    f->forwarding.has_outer_header_creation = true;
    f->forwarding.outer_header_creation.description = PFCP_OHC_GTPU_UDP_IPV4;
    f->forwarding.outer_header_creation.teid = 0x10000 + i;
    f->forwarding.outer_header_creation.ipv4.s_addr = htonl(gnb_of(i));
    r->create_qers_length = 1;
    r->create_qers[0].qer_id = 1;
    r->create_qers[0].has_gate_status = true;
    r->create_qers[0].has_qfi = true;
    r->create_qers[0].qfi = QFI;
    r->create_urrs_length = 1;
    r->create_urrs[0].urr_id = 1;
    r->create_urrs[0].has_measurement_method = true;
    r->create_urrs[0].measurement_method = PFCP_MEASURE_VOLUM;
    r->create_urrs[0].has_reporting_triggers = true;
}

static int
client_send(int fd, const struct sockaddr_in *to, struct pfcp_msg *msg,
            uint8_t *buf)
{
    size_t size = 0;

    if (pfcp_encode(msg, buf, PFCP_MAX_MSG_SIZE, &size)) {
        return -EINVAL;
    }
    return sendto(fd, buf, size, 0, (const struct sockaddr *) to,
                  sizeof *to) < 0 ? -errno : 0;
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Establishes b->sessions sessions through the PFCP node; returns the
 * rate, or a negative value on failure. */
static double
establish_sessions(struct bench *b)
{
    struct metrics_registry *reg = metrics_registry_new();
    struct event_base *base = event_base_new();
    struct upf_node_conf nc = {
        .base = base, .address = "127.0.0.1", .port = 0,
        .node_ipv4 = IP4(127, 0, 0, 1), .n3_ipv4 = N3_IP,
        .sessions = b->ss, .metrics = reg, .heartbeat_interval_ms = 0,
        .t1_ms = 3000, .n1 = 3, .max_associations = 4,
        .cache_entries = 4096, .cache_ttl_ms = 1000, .tick_ms = 100,
    };
    struct pfcp_msg *msg = malloc(sizeof *msg);
    uint8_t *buf = malloc(PFCP_MAX_MSG_SIZE);
    struct sockaddr_in to = { .sin_family = AF_INET };
    struct sockaddr_in me = { .sin_family = AF_INET };
    unsigned int sent = 0, done = 0, failed = 0;
    struct upf_node *node = NULL;
    double rate = -1, t0;
    int fd = -1, error = 0;

    if (!reg || !base || !msg || !buf) {
        goto out;
    }
    node = upf_node_new(&nc, &error);
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (!node || fd < 0) {
        fprintf(stderr, "bench-upf: PFCP node: %s\n", strerror(-error));
        goto out;
    }
    me.sin_addr.s_addr = htonl(IP4(127, 0, 0, 1));
    to.sin_addr.s_addr = htonl(IP4(127, 0, 0, 1));
    to.sin_port = htons(upf_node_port(node));
    if (bind(fd, (struct sockaddr *) &me, sizeof me)) {
        goto out;
    }
    pfcp_msg_init(msg, PFCP_MSG_ASSOCIATION_SETUP_REQUEST, 0, 0);
    msg->association_setup_request.node_id.type = PFCP_NODE_ID_IPV4;
    msg->association_setup_request.node_id.ipv4.s_addr =
        htonl(IP4(127, 0, 0, 1));
    msg->association_setup_request.recovery_time_stamp = 1;
    client_send(fd, &to, msg, buf);
    event_base_loop(base, EVLOOP_NONBLOCK);
    while (recv(fd, buf, PFCP_MAX_MSG_SIZE, 0) < 0) {
        event_base_loop(base, EVLOOP_NONBLOCK);
    }
    t0 = now_s();
    while (done < b->sessions) {
        ssize_t got;

        while (sent < b->sessions && sent - done < WINDOW) {
            build_establishment(msg, sent);
            if (client_send(fd, &to, msg, buf)) {
                break;
            }
            sent++;
        }
        event_base_loop(base, EVLOOP_NONBLOCK);
        while ((got = recv(fd, buf, PFCP_MAX_MSG_SIZE, 0)) > 0) {
            const struct pfcp_establishment_response *r =
                &msg->establishment_response;

            if (pfcp_decode(buf, (size_t) got, msg, NULL)
                || msg->header.type != PFCP_MSG_SESSION_ESTABLISHMENT_RESPONSE
                || r->cause != PFCP_CAUSE_REQUEST_ACCEPTED
                || r->created_pdrs_length != 1
                || msg->header.sequence < 1
                || msg->header.sequence > b->sessions) {
                failed++;
            } else {
                b->teids[msg->header.sequence - 1] =
                    r->created_pdrs[0].local_fteid.teid;
            }
            done++;
        }
    }
    rate = b->sessions / (now_s() - t0);
    if (failed) {
        fprintf(stderr, "bench-upf: %u establishments failed\n", failed);
        rate = -1;
    }

out:
    if (fd >= 0) {
        close(fd);
    }
    upf_node_free(node);
    if (base) {
        event_base_free(base);
    }
    metrics_registry_free(reg);
    free(msg);
    free(buf);
    return rate;
}

/* ---- the worker lcore --------------------------------------------------- */

/* Runs a batch whenever 'go' is set: polls until the input ring is empty,
 * then clears 'go'. Cycles of the polls that found work are counted. */
static int
worker_loop(void *arg)
{
    struct bench *b = arg;
    struct upf_worker *w = upf_dp_worker(b->dp, 0);
    struct rte_mbuf *pkts[UPF_BURST];
    unsigned int id = rte_lcore_id();
    struct rte_rcu_qsbr *qsv = upf_dp_rcu(b->dp);
    uint64_t interrupted = rte_get_tsc_hz() / 1000000 * INTERRUPTED_US;

    rte_rcu_qsbr_thread_online(qsv, id);
    while (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE)) {
        struct counters *c = &b->counters;
        uint64_t t0, t1;
        unsigned int n;

        rte_rcu_qsbr_quiescent(qsv, id);
        if (!__atomic_load_n(&b->go, __ATOMIC_ACQUIRE)) {
            rte_pause();
            continue;
        }
        t0 = rte_rdtsc();
        if (b->mode == MODE_BARE) {
            uint16_t sent;

            n = rte_eth_rx_burst(b->ports[UPF_SIDE_ACCESS], 0, pkts,
                                 UPF_BURST);
            sent = n ? rte_eth_tx_burst(b->ports[UPF_SIDE_CORE], 0, pkts,
                                        (uint16_t) n) : 0;
            if (sent < n) {
                rte_pktmbuf_free_bulk(pkts + sent, n - sent);
            }
        } else {
            n = upf_worker_poll(w);
        }
        t1 = rte_rdtsc();
        if (!n) {
            /* Everything this batch (the main lcore reads the counters
             * once it sees 'go' cleared). */
            __atomic_store_n(&b->go, 0, __ATOMIC_RELEASE);
            continue;
        }
        c->polls++;
        if (t1 - t0 > interrupted) {
            c->interrupted++;
        } else {
            c->busy_cycles += t1 - t0;
            c->packets += n;
        }
    }
    rte_rcu_qsbr_thread_offline(qsv, id);
    return 0;
}

/* ---- the generator (main lcore) ----------------------------------------- */

static void
refill(struct bench *b, struct rte_mbuf *m, unsigned int *next)
{
    unsigned int i = b->order[*next];
    uint8_t *f;

    m->data_off = RTE_PKTMBUF_HEADROOM;
    f = rte_pktmbuf_mtod(m, uint8_t *);
    memcpy(f, b->template, b->template_size);
    if (b->mode == MODE_DOWNLINK) {
        set_ipv4(f + 14, 16, ue_of(i));
    } else {
        /* The gNB, the TEID the UPF chose, the UE as inner source. */
        set_ipv4(f + 14, 12, gnb_of(i));
        put32(f + 14 + 28 + 4, b->teids[i]);
        set_ipv4(f + 14 + 28 + 16, 12, ue_of(i));
    }
    m->data_len = (uint16_t) b->template_size;
    m->pkt_len = (uint32_t) b->template_size;
    if (++*next == b->sessions) {
        *next = 0;
    }
}

/* A run is a series of batches of BATCH frames: the main lcore fills the
 * input ring while the worker waits, then the worker drains it in full
 * bursts while the main lcore waits -- so the worker always has work and
 * the generator's speed does not matter. The figures are the median batch
 * and the best one (the least disturbed by other processes on a shared
 * machine). */
#define BATCH 2048
#define WARM_BATCHES 20
#define MAX_BATCHES 100000

struct result {
    double cycles_per_packet;       /* median batch */
    double best_cycles_per_packet;  /* best batch */
    double per_core_mpps;           /* from the median */
    double best_per_core_mpps;
    uint64_t packets;
    uint64_t polls;
    uint64_t interrupted;           /* polls left out */
    unsigned int batches;
};

static int
compare_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}

static int
run(struct bench *b, enum mode mode, struct result *res)
{
    enum upf_side in_side = mode == MODE_DOWNLINK ? UPF_SIDE_CORE
                                                  : UPF_SIDE_ACCESS;
    enum upf_side out_side = mode == MODE_DOWNLINK ? UPF_SIDE_ACCESS
                                                   : UPF_SIDE_CORE;
    struct rte_mempool *pool = upf_dp_pool(b->dp);
    static struct rte_mbuf *pkts[BATCH];
    static double per_batch[MAX_BATCHES];
    uint64_t hz = rte_get_tsc_hz(), end;
    unsigned int next = 0, have = 0, batches = 0, round = 0;
    struct counters total = { 0 };

    b->mode = mode;
    if (mode == MODE_DOWNLINK) {
        make_downlink_template(b);
    } else {
        make_uplink_template(b);
    }
    memset(&b->counters, 0, sizeof b->counters);
    __atomic_store_n(&b->go, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&b->stop, 0, __ATOMIC_RELEASE);
    if (rte_eal_remote_launch(worker_loop, b, b->worker_lcore)) {
        return -EBUSY;
    }
    end = rte_rdtsc() + (uint64_t) (b->seconds * (double) hz);
    while (rte_rdtsc() < end && batches < MAX_BATCHES) {
        struct counters before;

        /* Frames the worker dropped come back from the pool. */
        while (have < BATCH) {
            struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

            if (!m) {
                break;
            }
            pkts[have++] = m;
        }
        for (unsigned int i = 0; i < have; i++) {
            refill(b, pkts[i], &next);
        }
        if (rte_ring_enqueue_bulk(b->in[in_side], (void **) pkts, have,
                                  NULL) != have) {
            rte_pktmbuf_free_bulk(pkts, have);
            have = 0;
            break;
        }
        have = 0;
        before = b->counters;
        __atomic_store_n(&b->go, 1, __ATOMIC_RELEASE);
        while (__atomic_load_n(&b->go, __ATOMIC_ACQUIRE)) {
            rte_pause();
        }
        if (++round > WARM_BATCHES) {
            const struct counters *c = &b->counters;
            uint64_t packets = c->packets - before.packets;

            if (packets) {
                per_batch[batches++] =
                    (double) (c->busy_cycles - before.busy_cycles)
                    / (double) packets;
            }
            total.packets += packets;
            total.polls += c->polls - before.polls;
            total.interrupted += c->interrupted - before.interrupted;
        }
        have = rte_ring_dequeue_burst(b->out[out_side], (void **) pkts,
                                      BATCH, NULL);
    }
    __atomic_store_n(&b->stop, 1, __ATOMIC_RELEASE);
    rte_eal_wait_lcore(b->worker_lcore);
    rte_pktmbuf_free_bulk(pkts, have);
    for (int s = 0; s < UPF_SIDE_COUNT; s++) {
        void *m = NULL;

        while (rte_ring_dequeue(b->in[s], &m) == 0) {
            rte_pktmbuf_free(m);
        }
        while (rte_ring_dequeue(b->out[s], &m) == 0) {
            rte_pktmbuf_free(m);
        }
    }
    if (!batches) {
        return -EIO;
    }
    qsort(per_batch, batches, sizeof per_batch[0], compare_double);
    res->batches = batches;
    res->packets = total.packets;
    res->polls = total.polls;
    res->interrupted = total.interrupted;
    res->cycles_per_packet = per_batch[batches / 2];
    res->best_cycles_per_packet = per_batch[0];
    res->per_core_mpps = (double) hz / res->cycles_per_packet / 1e6;
    res->best_per_core_mpps = (double) hz / res->best_cycles_per_packet
                              / 1e6;
    return 0;
}

/* ---- setup -------------------------------------------------------------- */

static int
setup(struct bench *b)
{
    struct upf_dp_conf c = {
        .ipv4 = { N3_IP, N6_IP },
        .prefix_length = { 24, 24 },
        .max_pdrs = 2 * b->sessions + 1024,
        .mbufs = 16383,
        .rx_desc = 512,
        .tx_desc = 512,
        .ring_size = 1024,
        .neigh_queue = 16,
        .neigh_max = 64,
        .neigh_reachable_ms = 3600000,
    };
    struct upf_sessions_conf sc = {
        .max_sessions = b->sessions,
        .n3_ipv4 = N3_IP,
        .meter_burst_ms = 10,
        .buffer_packets = 0,
    };
    char name[RTE_RING_NAMESIZE], why[256];
    int error = 0;

    for (int s = 0; s < UPF_SIDE_COUNT; s++) {
        int port;

        snprintf(name, sizeof name, "bench_in%d", s);
        b->in[s] = rte_ring_create(name, RING_SIZE, 0, 0);
        snprintf(name, sizeof name, "bench_out%d", s);
        b->out[s] = rte_ring_create(name, RING_SIZE, 0, 0);
        if (!b->in[s] || !b->out[s]) {
            fprintf(stderr, "bench-upf: rings: %s\n",
                    rte_strerror(rte_errno));
            return -ENOMEM;
        }
        snprintf(name, sizeof name, "bench_port%d", s);
        port = rte_eth_from_rings(name, &b->in[s], 1, &b->out[s], 1, 0);
        if (port < 0) {
            return -ENODEV;
        }
        b->ports[s] = (uint16_t) port;
        c.port_ids[s] = (uint16_t) port;
    }
    b->dp = upf_dp_new(&c, &error, why, sizeof why);
    if (!b->dp) {
        fprintf(stderr, "bench-upf: data plane: %s\n", why);
        return error;
    }
    upf_dp_add_neighbour(b->dp, UPF_SIDE_CORE, PDN_IP, pdn_mac);
    for (unsigned int g = 0; g < GNBS; g++) {
        upf_dp_add_neighbour(b->dp, UPF_SIDE_ACCESS, GNB_BASE + g, gnb_mac);
    }
    sc.dp = b->dp;
    b->ss = upf_sessions_new(&sc, &error);
    b->teids = calloc(b->sessions, sizeof *b->teids);
    b->order = calloc(b->sessions, sizeof *b->order);
    if (!b->ss || !b->teids || !b->order) {
        return -ENOMEM;
    }
    /* A fixed shuffle: every session once per round, no locality. */
    srand(1);
    for (unsigned int i = 0; i < b->sessions; i++) {
        b->order[i] = i;
    }
    for (unsigned int i = b->sessions - 1; i > 0; i--) {
        unsigned int j = (unsigned int) rand() % (i + 1), t = b->order[i];

        b->order[i] = b->order[j];
        b->order[j] = t;
    }
    b->worker_lcore = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
    return 0;
}

static void
teardown(struct bench *b)
{
    upf_sessions_free(b->ss);
    upf_dp_free(b->dp);
    for (int s = 0; s < UPF_SIDE_COUNT; s++) {
        rte_ring_free(b->in[s]);
        rte_ring_free(b->out[s]);
    }
    free(b->teids);
    free(b->order);
}

static void
cpu_model(char *buf, size_t size)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];

    snprintf(buf, size, "unknown");
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "model name", 10)) {
            char *v = strchr(line, ':');

            if (v) {
                v += 2;
                v[strcspn(v, "\n\"\\")] = '\0';
                snprintf(buf, size, "%s", v);
            }
            break;
        }
    }
    if (f) {
        fclose(f);
    }
}

static void
print_result(const char *name, const struct result *r)
{
    printf("  %-27s %6.1f cycles/packet %6.2f Mpps per core (best batch "
           "%6.1f, %6.2f Mpps); %llu packets in %u batches, %llu of %llu "
           "polls interrupted\n", name, r->cycles_per_packet,
           r->per_core_mpps, r->best_cycles_per_packet, r->best_per_core_mpps,
           (unsigned long long) r->packets, r->batches,
           (unsigned long long) r->interrupted,
           (unsigned long long) r->polls);
}

/* Transparent huge pages backing this process (kB), -1 if unknown. */
static long
anon_huge_kb(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    long kb = -1;

    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1) {
            break;
        }
    }
    if (f) {
        fclose(f);
    }
    return kb;
}

static double
load_average(void)
{
    double load = -1;
    FILE *f = fopen("/proc/loadavg", "r");

    if (f) {
        if (fscanf(f, "%lf", &load) != 1) {
            load = -1;
        }
        fclose(f);
    }
    return load;
}

/* The EAL leaves its (empty, with --no-shconf) runtime directory. */
static void
eal_cleanup(const char *prefix_arg)
{
    char path[128];

    rte_eal_cleanup();
    snprintf(path, sizeof path, "/var/run/dpdk/%s",
             prefix_arg + strlen("--file-prefix="));
    rmdir(path);
}

int
main(int argc, char **argv)
{
    char prefix[64], cpu[128];
    char *eal[32] = {
        argv[0], (char *) "-l", (char *) "0-1", (char *) "--no-huge",
        (char *) "--no-pci", (char *) "-m", (char *) "1024", prefix,
        (char *) "--no-shconf", (char *) "--no-telemetry",
        (char *) "--log-level=lib.eal:error",
    };
    int eal_argc = 11;
    struct bench b = { .sessions = 100000, .seconds = 2.0 };
    struct result up, down, bare;
    double est_rate;
    int ret;

    snprintf(prefix, sizeof prefix, "--file-prefix=bench-upf-%d",
             (int) getpid());
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--sessions") && i + 1 < argc) {
            b.sessions = (unsigned int) strtoul(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            b.seconds = strtod(argv[++i], NULL);
        } else if (eal_argc < 31) {
            eal[eal_argc++] = argv[i];
        }
    }
    if (!b.sessions || b.sessions > MAX_SESSIONS || b.seconds <= 0) {
        fprintf(stderr, "usage: bench-upf [--sessions 1..%d] [--seconds S] "
                "[EAL args]\n", MAX_SESSIONS);
        return 2;
    }
    if (rte_eal_init(eal_argc, eal) < 0) {
        fprintf(stderr, "bench-upf: rte_eal_init failed\n");
        return 1;
    }
    if (rte_lcore_count() < 2) {
        fprintf(stderr, "bench-upf: needs two lcores\n");
        return 1;
    }
    ret = setup(&b);
    if (ret) {
        teardown(&b);
        eal_cleanup(prefix);
        return 1;
    }
    cpu_model(cpu, sizeof cpu);
    printf("bench-upf: vigil-upf data plane and PFCP node\n");
    printf("  cpu: %s, TSC %.3f GHz, lcores: main %u (PFCP client, "
           "traffic generator), worker %u\n", cpu,
           (double) rte_get_tsc_hz() / 1e9, rte_get_main_lcore(),
           b.worker_lcore);
    printf("  devices: net_ring ports (rte_eth_from_rings), one queue "
           "each; %u sessions, %d-byte inner IPv4/UDP packets\n",
           b.sessions, INNER_SIZE);
    est_rate = establish_sessions(&b);
    if (est_rate < 0) {
        teardown(&b);
        eal_cleanup(prefix);
        return 1;
    }
    printf("  PFCP: %u Session Establishment Requests over UDP loopback, "
           "%d in flight: %.0f establishments/s\n", b.sessions, WINDOW,
           est_rate);
    printf("  forwarding, %.1f s per run: batches of %d frames, the worker "
           "drains each in full bursts while the generator waits (the first "
           "%d batches warm up); per core = TSC Hz / busy cycles per packet "
           "(polls over %d us, interrupted by the scheduler, left out); the "
           "median batch and the best one; load average before: %.2f\n",
           b.seconds, BATCH, WARM_BATCHES, INTERRUPTED_US, load_average());
    if (run(&b, MODE_BARE, &bare) || run(&b, MODE_UPLINK, &up)
        || run(&b, MODE_DOWNLINK, &down)) {
        fprintf(stderr, "bench-upf: a run forwarded nothing\n");
        teardown(&b);
        eal_cleanup(prefix);
        return 1;
    }
    print_result("bare rx->tx (I/O ceiling)", &bare);
    print_result("uplink decap (GTP-U+PSC)", &up);
    print_result("downlink encap (QFI)", &down);
    printf("  memory: %s; %ld MB on transparent huge pages\n",
           rte_eal_has_hugepages() ? "hugepages" : "no hugepages (--no-huge)",
           anon_huge_kb() / 1024);
    printf("  ratio to the I/O ceiling (medians): uplink %.2f, downlink "
           "%.2f; target 10 Mpps per core\n",
           up.per_core_mpps / bare.per_core_mpps,
           down.per_core_mpps / bare.per_core_mpps);
    printf("{\"bench\": \"upf\", \"sessions\": %u, \"inner_packet_bytes\": %d, "
           "\"uplink_mpps_per_core\": %.2f, \"uplink_cycles_per_packet\": "
           "%.1f, \"downlink_mpps_per_core\": %.2f, "
           "\"downlink_cycles_per_packet\": %.1f, \"io_mpps_per_core\": %.2f, "
           "\"io_cycles_per_packet\": %.1f, \"uplink_ratio_to_io\": %.3f, "
           "\"downlink_ratio_to_io\": %.3f, "
           "\"uplink_mpps_per_core_best\": %.2f, "
           "\"downlink_mpps_per_core_best\": %.2f, "
           "\"io_mpps_per_core_best\": %.2f, \"load_average\": %.2f, "
           "\"pfcp_establishments_per_s\": %.0f, \"tsc_hz\": %llu, "
           "\"cpu\": \"%s\", \"target_mpps_per_core\": 10}\n",
           b.sessions, INNER_SIZE, up.per_core_mpps, up.cycles_per_packet,
           down.per_core_mpps, down.cycles_per_packet, bare.per_core_mpps,
           bare.cycles_per_packet, up.per_core_mpps / bare.per_core_mpps,
           down.per_core_mpps / bare.per_core_mpps,
           up.best_per_core_mpps, down.best_per_core_mpps,
           bare.best_per_core_mpps, load_average(), est_rate,
           (unsigned long long) rte_get_tsc_hz(), cpu);
    teardown(&b);
    eal_cleanup(prefix);
    return 0;
}
