/* upf_worker: the data-plane loop (see upf_worker.h).
 *
 * A burst goes through two passes: the first parses every frame, answers
 * local traffic and collects the lookup keys; one bulk lookup follows;
 * the second pass forwards with the results, which were prefetched. The
 * neighbour entry of the last next hop is remembered within one poll (a
 * pointer read under RCU stays valid until the next quiescent state). */
#include "upf_worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_meter.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "upf_neigh.h"
#include "upf_table.h"

#define TX_BUFFER (2 * UPF_BURST)
#define IDLE_POLLS 256          /* empty polls before a nap */
#define PREFETCH_AHEAD 8
#define NH_CACHE 64             /* next hops remembered per side */

struct upf_tx {
    struct rte_mbuf *pkts[TX_BUFFER];
    uint16_t length;
};

/* A next hop and its neighbour entry, kept across polls until the
 * table's generation changes (an entry was removed). */
struct upf_nh_cache {
    uint32_t ipv4;
    struct upf_neigh *neigh;
};

struct upf_worker {
    struct upf_worker_conf conf;
    struct rte_ring *punt;
    struct rte_ring *inject;
    uint16_t ip_id;
    unsigned int idle;
    /* Error indication token bucket, in TSC cycles of credit. */
    uint64_t ei_interval;
    uint64_t ei_credit_max;
    uint64_t ei_credit;
    uint64_t ei_last;
    uint64_t now;               /* TSC of the current poll, when now_valid */
    bool now_valid;
    uint64_t nh_generation[UPF_SIDE_COUNT];
    struct upf_nh_cache nh[UPF_SIDE_COUNT][NH_CACHE];
    struct upf_tx tx[UPF_SIDE_COUNT];
    struct upf_side_stats stats[UPF_SIDE_COUNT] __rte_cache_aligned;
};

static const uint8_t broadcast_mac[UPF_PKT_MAC_SIZE] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

struct upf_worker *
upf_worker_new(const struct upf_worker_conf *conf, int *error)
{
    struct upf_worker *w = rte_zmalloc("upf_worker", sizeof *w,
                                       RTE_CACHE_LINE_SIZE);
    char name[RTE_RING_NAMESIZE];
    uint64_t hz = rte_get_tsc_hz();
    int ret = -ENOMEM;

    if (!w) {
        goto out;
    }
    w->conf = *conf;
    snprintf(name, sizeof name, "upf_punt_%u", conf->index);
    w->punt = rte_ring_create(name, conf->ring_size, (int) rte_socket_id(),
                              RING_F_SP_ENQ | RING_F_SC_DEQ);
    snprintf(name, sizeof name, "upf_inject_%u", conf->index);
    w->inject = rte_ring_create(name, conf->ring_size, (int) rte_socket_id(),
                                RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!w->punt || !w->inject) {
        goto out;
    }
    if (conf->error_indication_rate) {
        w->ei_interval = hz / conf->error_indication_rate;
        if (!w->ei_interval) {
            w->ei_interval = 1;
        }
        /* A burst of up to one second's worth, at least one. */
        w->ei_credit_max = w->ei_interval * conf->error_indication_rate;
        w->ei_credit = w->ei_credit_max;
    }
    w->ei_last = rte_rdtsc();
    return w;

out:
    upf_worker_free(w);
    *error = ret;
    return NULL;
}

static void
drain_ring(struct rte_ring *r)
{
    void *obj;

    while (r && rte_ring_dequeue(r, &obj) == 0) {
        rte_pktmbuf_free(obj);
    }
}

void
upf_worker_free(struct upf_worker *w)
{
    if (!w) {
        return;
    }
    for (int s = 0; s < UPF_SIDE_COUNT; s++) {
        for (uint16_t i = 0; i < w->tx[s].length; i++) {
            rte_pktmbuf_free(w->tx[s].pkts[i]);
        }
    }
    drain_ring(w->punt);
    drain_ring(w->inject);
    rte_ring_free(w->punt);
    rte_ring_free(w->inject);
    rte_free(w);
}

struct rte_ring *
upf_worker_punt_ring(struct upf_worker *w)
{
    return w->punt;
}

int
upf_worker_inject(struct upf_worker *w, struct rte_mbuf *m)
{
    if (rte_ring_sp_enqueue(w->inject, m)) {
        rte_pktmbuf_free(m);
        return -ENOBUFS;
    }
    return 0;
}

void
upf_worker_stats(const struct upf_worker *w, enum upf_side side,
                 struct upf_side_stats *sum)
{
    const struct upf_side_stats *s = &w->stats[side];

    for (int i = 0; i < UPF_CTR_COUNT; i++) {
        sum->ctr[i] += upf_ctr_read(&s->ctr[i]);
    }
    for (int i = 0; i < UPF_PKT_RESULT_COUNT; i++) {
        sum->parse[i] += upf_ctr_read(&s->parse[i]);
    }
}

static inline void
count(struct upf_worker *w, enum upf_side side, enum upf_ctr ctr)
{
    upf_ctr_add(&w->stats[side].ctr[ctr], 1);
}

static inline void
drop(struct upf_worker *w, enum upf_side side, enum upf_ctr ctr,
     struct rte_mbuf *m)
{
    count(w, side, ctr);
    rte_pktmbuf_free(m);
}

static void
tx_flush(struct upf_worker *w, enum upf_side side)
{
    struct upf_tx *tx = &w->tx[side];
    struct upf_side_stats *st = &w->stats[side];
    uint64_t bytes = 0;
    uint16_t sent;

    if (!tx->length) {
        return;
    }
    for (uint16_t i = 0; i < tx->length; i++) {
        bytes += rte_pktmbuf_pkt_len(tx->pkts[i]);
    }
    sent = rte_eth_tx_burst(w->conf.ifaces[side].port_id, w->conf.queue,
                            tx->pkts, tx->length);
    if (sent < tx->length) {
        for (uint16_t i = sent; i < tx->length; i++) {
            bytes -= rte_pktmbuf_pkt_len(tx->pkts[i]);
        }
        rte_pktmbuf_free_bulk(tx->pkts + sent, (unsigned int) (tx->length
                                                               - sent));
        upf_ctr_add(&st->ctr[UPF_CTR_TX_DROPPED],
                    (uint64_t) (tx->length - sent));
    }
    upf_ctr_add(&st->ctr[UPF_CTR_TX_PACKETS], sent);
    upf_ctr_add(&st->ctr[UPF_CTR_TX_BYTES], bytes);
    tx->length = 0;
}

static inline void
tx_enqueue(struct upf_worker *w, enum upf_side side, struct rte_mbuf *m)
{
    struct upf_tx *tx = &w->tx[side];

    if (tx->length == TX_BUFFER) {
        tx_flush(w, side);
    }
    tx->pkts[tx->length++] = m;
}

static void
punt(struct upf_worker *w, enum upf_side side, enum upf_punt reason,
     struct rte_mbuf *m)
{
    struct upf_mbuf_priv *priv = upf_mbuf_priv(m);

    priv->side = (uint8_t) side;
    priv->reason = (uint8_t) reason;
    if (rte_ring_sp_enqueue(w->punt, m)) {
        drop(w, side, UPF_CTR_PUNT_DROPPED, m);
        return;
    }
    count(w, side, UPF_CTR_PUNTED);
}

/* Sets the length of a single-segment mbuf whose data was rewritten. */
static inline void
set_length(struct rte_mbuf *m, size_t size)
{
    m->data_len = (uint16_t) size;
    m->pkt_len = (uint32_t) size;
}

static inline size_t
writable(const struct rte_mbuf *m)
{
    return (size_t) (m->buf_len - m->data_off);
}

/* The TSC, read at most once per poll and only when needed (meters,
 * the error indication rate): rdtsc is not free, in a VM least of all. */
static inline uint64_t
worker_now(struct upf_worker *w)
{
    if (!w->now_valid) {
        w->now = rte_rdtsc();
        w->now_valid = true;
    }
    return w->now;
}

/* Sends a frame whose source MAC and type are written to the next hop
 * for 'dst_ipv4' on 'side'. */
static void
send_routed(struct upf_worker *w, enum upf_side side, uint32_t dst_ipv4,
            struct rte_mbuf *m)
{
    const struct upf_iface *ifc = &w->conf.ifaces[side];
    uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
    struct upf_nh_cache *cache;
    uint32_t nh = dst_ipv4;

    if ((dst_ipv4 & ifc->netmask) != (ifc->ipv4 & ifc->netmask)) {
        nh = ifc->gateway;
        if (!nh) {
            drop(w, side, UPF_CTR_NO_ROUTE, m);
            return;
        }
    }
    cache = &w->nh[side][(nh * UINT32_C(2654435761)) >> 26];
    if (cache->ipv4 != nh || !cache->neigh) {
        cache->ipv4 = nh;
        cache->neigh = upf_neigh_find(ifc->neigh, nh);
    }
    if (!cache->neigh || !upf_neigh_mac(cache->neigh, frame)) {
        upf_mbuf_priv(m)->nh_ipv4 = nh;
        punt(w, side, UPF_PUNT_RESOLVE, m);
        return;
    }
    upf_neigh_touch(cache->neigh);
    tx_enqueue(w, side, m);
}

static void
handle_arp(struct upf_worker *w, enum upf_side side, struct rte_mbuf *m,
           const struct upf_pkt_meta *meta)
{
    const struct upf_iface *ifc = &w->conf.ifaces[side];
    uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);

    if (meta->arp_op == 1 && upf_iface_owns(ifc, meta->dst_ipv4)
        && !upf_iface_owns(ifc, meta->src_ipv4)) {
        upf_pkt_arp_reply(frame, meta, ifc->mac);
        count(w, side, UPF_CTR_ARP_REPLIES);
        tx_enqueue(w, side, m);
        return;
    }
    if (meta->arp_op == 2 || meta->src_ipv4 == meta->dst_ipv4) {
        /* A reply, or an announcement: the main lcore learns from it. */
        punt(w, side, UPF_PUNT_ARP, m);
        return;
    }
    drop(w, side, UPF_CTR_UNHANDLED, m);
}

static void
handle_icmp(struct upf_worker *w, enum upf_side side, struct rte_mbuf *m,
            const struct upf_pkt_meta *meta)
{
    const struct upf_iface *ifc = &w->conf.ifaces[side];

    if (!upf_iface_owns(ifc, meta->dst_ipv4)) {
        drop(w, side, UPF_CTR_NOT_LOCAL, m);
        return;
    }
    upf_pkt_icmp_echo_reply(rte_pktmbuf_mtod(m, uint8_t *), meta, ifc->mac);
    count(w, side, UPF_CTR_ICMP_REPLIES);
    tx_enqueue(w, side, m);
}

static bool
error_indication_allowed(struct upf_worker *w)
{
    uint64_t now, elapsed;

    if (!w->ei_interval) {
        return false;
    }
    now = worker_now(w);
    elapsed = now - w->ei_last;
    w->ei_last = now;
    w->ei_credit = elapsed >= w->ei_credit_max - w->ei_credit
                   ? w->ei_credit_max : w->ei_credit + elapsed;
    if (w->ei_credit < w->ei_interval) {
        return false;
    }
    w->ei_credit -= w->ei_interval;
    return true;
}

static void
unknown_teid(struct upf_worker *w, struct rte_mbuf *m,
             const struct upf_pkt_meta *meta)
{
    const struct upf_iface *ifc = &w->conf.ifaces[UPF_SIDE_ACCESS];
    size_t size = 0;

    count(w, UPF_SIDE_ACCESS, UPF_CTR_NO_SESSION);
    if (!error_indication_allowed(w)) {
        drop(w, UPF_SIDE_ACCESS, UPF_CTR_GTPU_ERROR_IND_SUPPRESSED, m);
        return;
    }
    if (upf_pkt_gtpu_error_indication(rte_pktmbuf_mtod(m, uint8_t *),
                                      writable(m), meta, ifc->mac, &size)) {
        drop(w, UPF_SIDE_ACCESS, UPF_CTR_GTPU_ERROR_IND_SUPPRESSED, m);
        return;
    }
    set_length(m, size);
    count(w, UPF_SIDE_ACCESS, UPF_CTR_GTPU_ERROR_IND_SENT);
    tx_enqueue(w, UPF_SIDE_ACCESS, m);
}

/* The PDR's gates and meters: true when the packet may pass. Counts the
 * drop against the PDR and the side otherwise. */
static inline bool
police(struct upf_worker *w, enum upf_side side, struct upf_pdr_rt *rt,
       uint32_t size)
{
    struct upf_pdr_counter_slot *slot = &rt->counters[w->conf.index];
    enum upf_ctr why;

    if (!(rt->flags & UPF_RT_FORWARD)) {
        why = UPF_CTR_FAR_DROPPED;
        goto dropped;
    }
    if (rt->flags & UPF_RT_GATE_CLOSED) {
        why = UPF_CTR_GATE_DROPPED;
        goto dropped;
    }
    for (uint8_t i = 0; i < rt->meters_length; i++) {
        struct upf_meter *meter = rt->meters[i];

        if (rte_meter_trtcm_color_blind_check(
                &meter->slots[w->conf.index].trtcm, &meter->profile,
                worker_now(w), size) == RTE_COLOR_RED) {
            why = UPF_CTR_MBR_DROPPED;
            goto dropped;
        }
    }
    return true;

dropped:
    upf_ctr_add(&slot->dropped_packets, 1);
    upf_ctr_add(&slot->dropped_bytes, size);
    count(w, side, why);
    return false;
}

static inline void
account(struct upf_worker *w, enum upf_side side, struct upf_pdr_rt *rt,
        uint32_t size)
{
    struct upf_pdr_counter_slot *slot = &rt->counters[w->conf.index];

    upf_ctr_add(&slot->packets, 1);
    upf_ctr_add(&slot->bytes, size);
    upf_ctr_add(&w->stats[side].ctr[UPF_CTR_FORWARDED], 1);
    upf_ctr_add(&w->stats[side].ctr[UPF_CTR_FORWARDED_BYTES], size);
}

static void
uplink(struct upf_worker *w, struct rte_mbuf *m,
       const struct upf_pkt_meta *meta, struct upf_pdr_rt *rt)
{
    const struct upf_iface *core = &w->conf.ifaces[UPF_SIDE_CORE];
    struct upf_pkt_inner inner;
    enum upf_pkt_result r;
    uint16_t offset;
    uint8_t *frame;

    if (!rt) {
        unknown_teid(w, m, meta);
        return;
    }
    r = upf_pkt_parse_inner(rte_pktmbuf_mtod_offset(m, uint8_t *,
                                                    meta->gtpu.payload_offset),
                            meta->gtpu.payload_size, &inner);
    if (r != UPF_PKT_OK) {
        upf_ctr_add(&w->stats[UPF_SIDE_ACCESS].parse[r], 1);
        rte_pktmbuf_free(m);
        return;
    }
    if ((rt->flags & UPF_RT_UE_CHECK) && inner.src_ipv4 != rt->ue_ipv4) {
        drop(w, UPF_SIDE_ACCESS, UPF_CTR_SPOOFED, m);
        return;
    }
    if (!police(w, UPF_SIDE_ACCESS, rt, inner.size)) {
        rte_pktmbuf_free(m);
        return;
    }
    offset = (uint16_t) (meta->gtpu.payload_offset - UPF_PKT_ETH_SIZE);
    frame = (uint8_t *) rte_pktmbuf_adj(m, offset);
    set_length(m, UPF_PKT_ETH_SIZE + (size_t) inner.size);
    upf_pkt_write_eth(frame, broadcast_mac, core->mac, UPF_PKT_ETHER_IPV4);
    account(w, UPF_SIDE_ACCESS, rt, inner.size);
    send_routed(w, UPF_SIDE_CORE, inner.dst_ipv4, m);
}

static void
downlink(struct upf_worker *w, struct rte_mbuf *m,
         const struct upf_pkt_meta *meta, struct upf_pdr_rt *rt)
{
    const struct upf_iface *access = &w->conf.ifaces[UPF_SIDE_ACCESS];
    uint16_t size = meta->l3_size;
    uint8_t *frame;

    if (!rt) {
        drop(w, UPF_SIDE_CORE, UPF_CTR_NO_SESSION, m);
        return;
    }
    if (rt->flags & UPF_RT_BUFFER) {
        struct upf_mbuf_priv *priv = upf_mbuf_priv(m);

        priv->seid = rt->seid;
        priv->pdr_id = rt->pdr_id;
        punt(w, UPF_SIDE_CORE, UPF_PUNT_BUFFER, m);
        return;
    }
    if (!police(w, UPF_SIDE_CORE, rt, size)) {
        rte_pktmbuf_free(m);
        return;
    }
    if (!(rt->flags & UPF_RT_ENCAP)
        || rte_pktmbuf_headroom(m) < rt->encap.size
        || (size_t) rt->encap.size + size > UINT16_MAX) {
        drop(w, UPF_SIDE_CORE, UPF_CTR_TOO_BIG, m);
        return;
    }
    set_length(m, UPF_PKT_ETH_SIZE + (size_t) size);
    frame = (uint8_t *) rte_pktmbuf_prepend(m, rt->encap.size);
    upf_pkt_write_eth(frame, broadcast_mac, access->mac, UPF_PKT_ETHER_IPV4);
    upf_pkt_encap_write(frame + UPF_PKT_ETH_SIZE, &rt->encap, size,
                        w->ip_id++);
    account(w, UPF_SIDE_CORE, rt, size);
    send_routed(w, UPF_SIDE_ACCESS, rt->peer_ipv4, m);
}

static inline unsigned int
parse_flags(const struct rte_mbuf *m, unsigned int flags)
{
    if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK)
        == RTE_MBUF_F_RX_IP_CKSUM_GOOD) {
        flags |= UPF_PKT_IP_CKSUM_GOOD;
    }
    if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK)
        == RTE_MBUF_F_RX_L4_CKSUM_GOOD) {
        flags |= UPF_PKT_L4_CKSUM_GOOD;
    }
    return flags;
}

/* Frames for us: our MAC, or broadcast (ARP requests). */
static inline bool
for_us(const uint8_t *frame, const struct upf_iface *ifc)
{
    return !memcmp(frame, ifc->mac, UPF_PKT_MAC_SIZE)
           || !memcmp(frame, broadcast_mac, UPF_PKT_MAC_SIZE);
}

/* First pass over a burst: parse, answer, classify. Returns with the
 * indexes of the packets to look up in 'todo' and their keys in 'keys'. */
static unsigned int
classify(struct upf_worker *w, enum upf_side side, struct rte_mbuf **pkts,
         uint16_t n, struct upf_pkt_meta *metas, uint32_t *keys,
         uint16_t *todo)
{
    const struct upf_iface *ifc = &w->conf.ifaces[side];
    struct upf_side_stats *st = &w->stats[side];
    unsigned int flags0 = side == UPF_SIDE_ACCESS ? UPF_PKT_PARSE_L4 : 0;
    unsigned int length = 0;
    uint64_t bytes = 0;

    /* (The frames' first lines are in cache: process() read them.) */
    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = pkts[i];
        struct upf_pkt_meta *meta = &metas[i];
        const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
        enum upf_pkt_result r;

        bytes += rte_pktmbuf_pkt_len(m);
        if (m->nb_segs != 1) {
            drop(w, side, UPF_CTR_SEGMENTED, m);
            continue;
        }
        r = upf_pkt_parse(frame, m->data_len, parse_flags(m, flags0), meta);
        if (r != UPF_PKT_OK) {
            upf_ctr_add(&st->parse[r], 1);
            rte_pktmbuf_free(m);
            continue;
        }
        if (!for_us(frame, ifc)) {
            drop(w, side, UPF_CTR_NOT_LOCAL, m);
            continue;
        }
        if (meta->kind == UPF_PKT_KIND_ARP) {
            handle_arp(w, side, m, meta);
            continue;
        }
        if (side == UPF_SIDE_CORE) {
            if (!upf_iface_owns(ifc, meta->dst_ipv4)) {
                keys[length] = meta->dst_ipv4;
                todo[length++] = i;
                continue;
            }
            /* To the UPF itself: look at L4 now. */
            r = upf_pkt_parse(frame, m->data_len,
                              parse_flags(m, UPF_PKT_PARSE_L4), meta);
            if (r != UPF_PKT_OK) {
                upf_ctr_add(&st->parse[r], 1);
                rte_pktmbuf_free(m);
                continue;
            }
        }
        if (meta->kind == UPF_PKT_KIND_ICMP_ECHO) {
            handle_icmp(w, side, m, meta);
            continue;
        }
        if (meta->kind != UPF_PKT_KIND_GTPU || side != UPF_SIDE_ACCESS) {
            drop(w, side, UPF_CTR_UNHANDLED, m);
            continue;
        }
        if (!upf_iface_owns(ifc, meta->dst_ipv4)) {
            drop(w, side, UPF_CTR_NOT_LOCAL, m);
            continue;
        }
        switch (meta->gtpu.type) {
        case UPF_PKT_GTPU_GPDU:
            keys[length] = meta->gtpu.teid;
            todo[length++] = i;
            break;
        case UPF_PKT_GTPU_ECHO_REQUEST: {
            size_t size = 0;

            if (upf_pkt_gtpu_echo_response(rte_pktmbuf_mtod(m, uint8_t *),
                                           writable(m), meta, ifc->mac,
                                           &size)) {
                drop(w, side, UPF_CTR_UNHANDLED, m);
                break;
            }
            set_length(m, size);
            count(w, side, UPF_CTR_GTPU_ECHO_REPLIES);
            tx_enqueue(w, side, m);
            break;
        }
        case UPF_PKT_GTPU_ERROR_INDICATION:
            count(w, side, UPF_CTR_GTPU_ERROR_IND_RECEIVED);
            punt(w, side, UPF_PUNT_GTPU, m);
            break;
        case UPF_PKT_GTPU_ECHO_RESPONSE:
            punt(w, side, UPF_PUNT_GTPU, m);
            break;
        case UPF_PKT_GTPU_END_MARKER:
            drop(w, side, UPF_CTR_GTPU_END_MARKERS, m);
            break;
        default:
            drop(w, side, UPF_CTR_GTPU_UNSUPPORTED, m);
            break;
        }
    }
    upf_ctr_add(&st->ctr[UPF_CTR_RX_PACKETS], n);
    upf_ctr_add(&st->ctr[UPF_CTR_RX_BYTES], bytes);
    return length;
}

/* The lookup key of a frame at a glance -- the TEID of what looks like a
 * G-PDU on the access side, the destination of what looks like IPv4 not
 * for the UPF on the core side -- read before the frame is validated, so
 * that the snapshot is on its way from memory while classify() checks the
 * frame. A frame whose key turns out otherwise is looked up again. */
static inline bool
quick_key(enum upf_side side, const struct upf_iface *ifc,
          const struct rte_mbuf *m, uint32_t *key)
{
    const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
    size_t size = m->data_len, ihl;
    const uint8_t *udp;

    if (m->nb_segs != 1 || size < UPF_PKT_ETH_SIZE + UPF_PKT_IPV4_SIZE
        || f[12] != 0x08 || f[13] != 0x00) {
        return false;
    }
    if (side == UPF_SIDE_CORE) {
        uint32_t dst = (uint32_t) f[30] << 24 | (uint32_t) f[31] << 16
                       | (uint32_t) f[32] << 8 | f[33];

        if (upf_iface_owns(ifc, dst)) {
            return false;
        }
        *key = dst;
        return true;
    }
    ihl = (size_t) (f[14] & 0x0f) * 4;
    udp = f + UPF_PKT_ETH_SIZE + ihl;
    if (f[23] != UPF_PKT_IPPROTO_UDP
        || size < UPF_PKT_ETH_SIZE + ihl + UPF_PKT_UDP_SIZE
                  + UPF_PKT_GTPU_SIZE
        || udp[2] != (UPF_PKT_GTPU_PORT >> 8)
        || udp[3] != (UPF_PKT_GTPU_PORT & 0xff)
        || udp[UPF_PKT_UDP_SIZE + 1] != UPF_PKT_GTPU_GPDU) {
        return false;
    }
    udp += UPF_PKT_UDP_SIZE + 4;
    *key = (uint32_t) udp[0] << 24 | (uint32_t) udp[1] << 16
           | (uint32_t) udp[2] << 8 | udp[3];
    return true;
}

static void
process(struct upf_worker *w, enum upf_side side, struct rte_mbuf **pkts,
        uint16_t n)
{
    struct upf_table *table = side == UPF_SIDE_ACCESS ? w->conf.uplink
                                                      : w->conf.downlink;
    const struct upf_iface *ifc = &w->conf.ifaces[side];
    struct upf_pkt_meta metas[UPF_BURST];
    uint32_t quick[UPF_BURST], keys[UPF_BURST];
    int8_t slot[UPF_BURST];
    uint16_t todo[UPF_BURST];
    void *rts[UPF_BURST];
    unsigned int quick_length = 0, length;

    /* 1. Keys at a glance, one bulk lookup, the snapshots prefetched:
     * everything a packet needs sits at fixed offsets from its snapshot,
     * so no load here waits for another. */
    for (uint16_t i = 0; i < n; i++) {
        rte_prefetch0(pkts[i]);
    }
    for (uint16_t i = 0; i < n && i < PREFETCH_AHEAD; i++) {
        rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
        rte_prefetch0(rte_pktmbuf_mtod_offset(pkts[i], char *, 64));
    }
    for (uint16_t i = 0; i < n; i++) {
        if (i + PREFETCH_AHEAD < n) {
            /* Two lines: the outer headers and, for a G-PDU, the inner
             * one that classify() checks too. */
            rte_prefetch0(rte_pktmbuf_mtod(pkts[i + PREFETCH_AHEAD], void *));
            rte_prefetch0(rte_pktmbuf_mtod_offset(pkts[i + PREFETCH_AHEAD],
                                                  char *, 64));
        }
        slot[i] = -1;
        if (quick_key(side, ifc, pkts[i], &quick[quick_length])) {
            slot[i] = (int8_t) quick_length++;
        }
    }
    if (quick_length) {
        upf_table_lookup_bulk(table, quick, quick_length, rts);
    }
    for (unsigned int j = 0; j < quick_length; j++) {
        struct upf_pdr_rt *rt = rts[j];

        if (rt) {
            rte_prefetch0(rt);
            rte_prefetch0(&rt->counters[w->conf.index]);
        }
    }
    /* 2. Validation, local answers, the keys for real. */
    length = classify(w, side, pkts, n, metas, keys, todo);
    /* 3. Forwarding. */
    for (unsigned int j = 0; j < length; j++) {
        uint16_t i = todo[j];
        struct upf_pdr_rt *rt = NULL;

        if (slot[i] >= 0 && quick[slot[i]] == keys[j]) {
            rt = rts[slot[i]];
        } else {
            void *value;

            if (!upf_table_lookup(table, keys[j], &value)) {
                rt = value;
            }
        }
        if (side == UPF_SIDE_ACCESS) {
            uplink(w, pkts[i], &metas[i], rt);
        } else {
            downlink(w, pkts[i], &metas[i], rt);
        }
    }
}

unsigned int
upf_worker_poll(struct upf_worker *w)
{
    struct rte_mbuf *pkts[UPF_BURST];
    unsigned int total = 0;
    unsigned int n;

    w->now_valid = false;
    for (int side = 0; side < UPF_SIDE_COUNT; side++) {
        uint64_t generation = upf_neigh_generation(
            w->conf.ifaces[side].neigh);

        if (generation != w->nh_generation[side]) {
            memset(w->nh[side], 0, sizeof w->nh[side]);
            w->nh_generation[side] = generation;
        }
    }
    for (int side = 0; side < UPF_SIDE_COUNT; side++) {
        n = rte_eth_rx_burst(w->conf.ifaces[side].port_id, w->conf.queue,
                             pkts, UPF_BURST);
        if (n) {
            process(w, (enum upf_side) side, pkts, (uint16_t) n);
            total += n;
        }
    }
    n = rte_ring_sc_dequeue_burst(w->inject, (void **) pkts, UPF_BURST,
                                  NULL);
    for (unsigned int i = 0; i < n; i++) {
        enum upf_side side = (enum upf_side) upf_mbuf_priv(pkts[i])->side;

        count(w, side, UPF_CTR_INJECTED);
        tx_enqueue(w, side, pkts[i]);
    }
    total += n;
    tx_flush(w, UPF_SIDE_ACCESS);
    tx_flush(w, UPF_SIDE_CORE);
    return total;
}

int
upf_worker_main(void *arg)
{
    struct upf_worker *w = arg;
    struct rte_rcu_qsbr *qsv = w->conf.qsv;
    unsigned int id = w->conf.lcore_id;

    rte_rcu_qsbr_thread_online(qsv, id);
    while (!__atomic_load_n(w->conf.stop, __ATOMIC_RELAXED)) {
        rte_rcu_qsbr_quiescent(qsv, id);
        if (upf_worker_poll(w)) {
            w->idle = 0;
            continue;
        }
        if (w->conf.idle_sleep_us && ++w->idle >= IDLE_POLLS) {
            /* Offline while asleep: grace periods need not wait. */
            rte_rcu_qsbr_thread_offline(qsv, id);
            rte_delay_us_sleep(w->conf.idle_sleep_us);
            rte_rcu_qsbr_thread_online(qsv, id);
        }
    }
    rte_rcu_qsbr_thread_offline(qsv, id);
    return 0;
}
