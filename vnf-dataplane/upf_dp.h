/* upf_dp: the data-plane context of vigil-upf -- what the workers read and
 * the control plane (main lcore) writes.
 *
 * Two sides: access (N3/S1-U, GTP-U) and core (N6/SGi, plain IPv4), each a
 * DPDK port with the UPF's own MAC and IPv4 address, a subnet, an optional
 * gateway and a neighbour table (upf_neigh). Two session tables (upf_table)
 * map a TEID (uplink) and a UE IPv4 address (downlink) to a struct
 * upf_pdr_rt: an immutable snapshot of one PDR with its FAR, QERs and
 * counters, built by upf_session. The control plane replaces snapshots
 * and waits for an RCU QSBR grace period (upf_dp_synchronize()) before
 * freeing the old ones; workers report a quiescent state once per loop.
 *
 * Each worker (upf_worker) owns RX and TX queue N of both ports, its
 * counters (one cache-line-aligned block, summed by upf_dp_stats()), and
 * two single-producer single-consumer rings: 'punt' carries packets the
 * worker cannot finish (ARP replies to learn from, packets waiting for a
 * neighbour, buffered downlink data, GTP-U signalling) to the main lcore;
 * 'inject' carries packets from the main lcore (ARP requests, queued
 * packets, end markers, echo requests) to be sent on the worker's queues.
 *
 * Threading: upf_dp_new/free/start/stop and everything that writes run on
 * the main lcore; the worker entry points run on worker lcores. */
#ifndef VIGIL_UPF_DP_H
#define VIGIL_UPF_DP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_mbuf.h>
#include <rte_meter.h>

#include "upf_pkt.h"

#define UPF_MAX_WORKERS 16
#define UPF_BURST 32
#define UPF_MAX_PDR_METERS 4    /* QERs with an MBR applied to one PDR */

enum upf_side {
    UPF_SIDE_ACCESS,            /* N3 / S1-U: GTP-U to and from the RAN */
    UPF_SIDE_CORE,              /* N6 / SGi: IP to and from the PDN */
    UPF_SIDE_COUNT
};

/* Counters kept per worker and side (see upf_dp_stats()). */
enum upf_ctr {
    UPF_CTR_RX_PACKETS,
    UPF_CTR_RX_BYTES,
    UPF_CTR_TX_PACKETS,
    UPF_CTR_TX_BYTES,
    UPF_CTR_TX_DROPPED,         /* the TX queue was full */
    UPF_CTR_FORWARDED,          /* access: decapsulated; core: encapsulated */
    UPF_CTR_FORWARDED_BYTES,    /* inner IP bytes */
    UPF_CTR_NO_SESSION,         /* unknown TEID / unknown UE address */
    UPF_CTR_FAR_DROPPED,        /* the FAR says drop */
    UPF_CTR_GATE_DROPPED,       /* a QER gate is closed */
    UPF_CTR_MBR_DROPPED,        /* a QER's MBR meter said red */
    UPF_CTR_SPOOFED,            /* uplink source is not the UE's address */
    UPF_CTR_NOT_LOCAL,          /* not to our MAC or (GTP-U) our address */
    UPF_CTR_UNHANDLED,          /* valid, but nothing the UPF handles */
    UPF_CTR_NO_ROUTE,           /* next hop off-link and no gateway */
    UPF_CTR_SEGMENTED,          /* multi-segment mbuf */
    UPF_CTR_TOO_BIG,            /* no room to encapsulate */
    UPF_CTR_ARP_REPLIES,
    UPF_CTR_ICMP_REPLIES,
    UPF_CTR_GTPU_ECHO_REPLIES,
    UPF_CTR_GTPU_ERROR_IND_SENT,
    UPF_CTR_GTPU_ERROR_IND_SUPPRESSED,  /* over the rate limit */
    UPF_CTR_GTPU_ERROR_IND_RECEIVED,
    UPF_CTR_GTPU_END_MARKERS,   /* received */
    UPF_CTR_GTPU_UNSUPPORTED,   /* other GTP-U message types */
    UPF_CTR_PUNTED,
    UPF_CTR_PUNT_DROPPED,       /* the punt ring was full */
    UPF_CTR_INJECTED,           /* sent for the main lcore */
    UPF_CTR_COUNT
};

/* Why a packet goes to the main lcore. */
enum upf_punt {
    UPF_PUNT_ARP,               /* an ARP reply or announcement */
    UPF_PUNT_RESOLVE,           /* needs the next hop's MAC */
    UPF_PUNT_BUFFER,            /* downlink data for a buffering FAR */
    UPF_PUNT_GTPU,              /* GTP-U echo response, error indication */
    UPF_PUNT_COUNT
};

/* Stored in each mbuf's private area (the pool's priv_size). */
struct upf_mbuf_priv {
    uint64_t seid;              /* UPF_PUNT_BUFFER: the session */
    uint32_t nh_ipv4;           /* UPF_PUNT_RESOLVE: the next hop */
    uint16_t pdr_id;            /* UPF_PUNT_BUFFER */
    uint8_t side;               /* enum upf_side it came from / goes to */
    uint8_t reason;             /* enum upf_punt */
};

struct upf_side_stats {
    uint64_t ctr[UPF_CTR_COUNT];
    uint64_t parse[UPF_PKT_RESULT_COUNT];   /* drops by parse result */
};

/* Per-PDR counters: one cache line per worker, written only by it. */
struct upf_pdr_counter_slot {
    uint64_t packets;
    uint64_t bytes;             /* inner IP bytes */
    uint64_t dropped_packets;   /* by the FAR, a gate or a meter */
    uint64_t dropped_bytes;
} __rte_cache_aligned;


/* An MBR meter (one direction of one QER): a shared profile and one
 * trTCM state per worker (each worker polices what it forwards). */
struct upf_meter_slot {
    struct rte_meter_trtcm trtcm;
} __rte_cache_aligned;

/* One slot per worker; see upf_dp_meter_new(). */
struct upf_meter {
    struct rte_meter_trtcm_profile profile;
    struct upf_meter_slot slots[];
};

/* struct upf_pdr_rt flags. */
#define UPF_RT_FORWARD 0x01     /* else dropped (or buffered) */
#define UPF_RT_BUFFER 0x02      /* downlink: hand to the main lcore */
#define UPF_RT_ENCAP 0x04       /* add 'encap' (to the access side) */
#define UPF_RT_DECAP 0x08       /* remove GTP-U/UDP/IP (to the core side) */
#define UPF_RT_UE_CHECK 0x10    /* uplink source must be 'ue_ipv4' */
#define UPF_RT_GATE_CLOSED 0x20 /* a QER gate is closed for this direction */

/* One PDR as the workers see it: immutable once published in a table,
 * except its counters. The first cache line holds everything a forwarded
 * packet needs, outer headers included; the second what only buffering
 * and metering need; then one counter line per worker. All at fixed
 * offsets from the snapshot's address, so that a worker prefetches them
 * together right after the lookup. A snapshot's counters start at zero;
 * when the control plane replaces it, it adds the old snapshot's final
 * counts to the PDR's totals (upf_session). */
struct upf_pdr_rt {
    uint16_t flags;             /* UPF_RT_* */
    uint8_t out_side;           /* enum upf_side forwarded packets go to */
    uint8_t meters_length;
    uint32_t ue_ipv4;           /* UPF_RT_UE_CHECK */
    uint32_t peer_ipv4;         /* UPF_RT_ENCAP: the tunnel's far end */
    struct upf_pkt_encap encap; /* UPF_RT_ENCAP */
    /* second line */
    uint64_t seid __rte_cache_aligned;  /* the UPF's SEID of the session */
    uint16_t pdr_id;
    struct upf_meter *meters[UPF_MAX_PDR_METERS];  /* owned by QERs */
    struct upf_pdr_counter_slot counters[];    /* one per worker */
};

_Static_assert(offsetof(struct upf_pdr_rt, encap)
               + sizeof(struct upf_pkt_encap) <= RTE_CACHE_LINE_SIZE,
               "a packet's part of a snapshot fits in one cache line");

/* One side's addressing. */
struct upf_iface {
    uint16_t port_id;
    uint8_t mac[UPF_PKT_MAC_SIZE];
    uint32_t ipv4;              /* the UPF's own address */
    uint32_t service_ipv4;      /* a second own address (the N3 address of
                                 * the tunnels, when it is not ipv4); 0:
                                 * none */
    uint32_t netmask;
    uint32_t gateway;           /* 0: none (only on-link next hops) */
    struct upf_neigh_table *neigh;
};

struct upf_dp_conf {
    uint16_t port_ids[UPF_SIDE_COUNT];
    uint32_t ipv4[UPF_SIDE_COUNT];
    uint32_t service_ipv4[UPF_SIDE_COUNT];   /* 0: none */
    uint8_t prefix_length[UPF_SIDE_COUNT];
    uint32_t gateway[UPF_SIDE_COUNT];
    uint32_t max_pdrs;          /* entries of each session table */
    uint32_t mbufs;             /* mbufs in the pool */
    uint16_t rx_desc, tx_desc;
    uint16_t ring_size;         /* punt and inject rings, power of 2 */
    uint32_t error_indication_rate;  /* per worker and second, 0: none */
    uint32_t idle_sleep_us;     /* a worker without traffic naps; 0: poll */
    uint32_t neigh_queue;       /* packets held per unresolved neighbour */
    uint32_t neigh_max;         /* neighbours per side */
    uint32_t neigh_reachable_ms;  /* a resolved entry is re-probed after */
};

struct upf_dp;
struct upf_table;
struct upf_worker;

/* Creates the context on the main lcore after rte_eal_init(): the mbuf
 * pool, the RCU QSBR variable, both session tables and both neighbour
 * tables, one struct upf_worker per worker lcore (with its rings), and
 * starts both ports with one RX and one TX queue per worker. Returns NULL
 * with '*error' a negative errno, and a message in 'why' (of 'why_size'
 * bytes) naming what failed. */
struct upf_dp *upf_dp_new(const struct upf_dp_conf *conf, int *error,
                          char *why, size_t why_size);

/* Stops the workers if running, stops and closes both ports and frees
 * everything the context owns. Sessions (their upf_pdr_rt) must have been
 * removed from the tables before. Accepts NULL. */
void upf_dp_free(struct upf_dp *dp);

/* Launches the workers on their lcores. 0 or a negative errno. */
int upf_dp_start(struct upf_dp *dp);

/* Tells the workers to stop and waits for them. The ports stay up and
 * the tables keep their sessions (a standby data plane). */
void upf_dp_stop(struct upf_dp *dp);

/* True while the workers run. */
bool upf_dp_running(const struct upf_dp *dp);

/* A permanent neighbour (static ARP entry) on 'side'. 0 or a negative
 * errno (-EEXIST, -ENOSPC). */
int upf_dp_add_neighbour(struct upf_dp *dp, enum upf_side side,
                         uint32_t ipv4, const uint8_t mac[UPF_PKT_MAC_SIZE]);

/* Waits until every worker has passed a quiescent state: after it, no
 * worker holds a pointer read from a table before the call. */
void upf_dp_synchronize(struct upf_dp *dp);

/* Worker 'i' (0..upf_dp_workers()-1), for tests and the benchmark,
 * which drive upf_worker_poll() themselves while the workers are not
 * launched. */
struct upf_worker *upf_dp_worker(struct upf_dp *dp, unsigned int i);

/* The RCU QSBR variable the workers report to (thread id = lcore id). */
struct rte_rcu_qsbr *upf_dp_rcu(struct upf_dp *dp);

/* Accessors for the control plane. */
struct upf_table *upf_dp_uplink(struct upf_dp *dp);    /* by TEID */
struct upf_table *upf_dp_downlink(struct upf_dp *dp);  /* by UE IPv4 */
const struct upf_iface *upf_dp_iface(const struct upf_dp *dp,
                                     enum upf_side side);
unsigned int upf_dp_workers(const struct upf_dp *dp);
struct rte_mempool *upf_dp_pool(struct upf_dp *dp);

/* A zeroed snapshot with one counter slot per worker, cache-line
 * aligned, or NULL when max_pdrs (plus some slack for snapshots awaiting
 * their grace period) are in use. Give it back with upf_dp_rt_free()
 * (accepts NULL) once no worker can see it. Main lcore only. */
struct upf_pdr_rt *upf_dp_rt_new(struct upf_dp *dp);
void upf_dp_rt_free(struct upf_dp *dp, struct upf_pdr_rt *rt);

/* Adds the counters of every worker in 'rt' to '*sum'. */
void upf_dp_rt_counters(const struct upf_dp *dp, const struct upf_pdr_rt *rt,
                        struct upf_pdr_counter_slot *sum);

/* An MBR meter of 'rate_kbps' (kbit/s, > 0) with one trTCM per worker,
 * committed and peak rates equal, bursts of 'burst_ms' at that rate (at
 * least two 1500-byte packets). NULL with '*error' set (-EINVAL for a rate
 * DPDK refuses, -ENOMEM). Free with upf_dp_meter_free(). */
struct upf_meter *upf_dp_meter_new(const struct upf_dp *dp,
                                   uint64_t rate_kbps, uint32_t burst_ms,
                                   int *error);
void upf_dp_meter_free(struct upf_meter *meter);

/* Sums every worker's counters for 'side' into '*out'. Main lcore; the
 * values are a consistent-enough snapshot (each counter is read once). */
void upf_dp_stats(const struct upf_dp *dp, enum upf_side side,
                  struct upf_side_stats *out);

/* Sends 'm' (a complete Ethernet frame except the destination MAC) out of
 * 'side' to next hop 'nh_ipv4' through a worker: resolves the MAC first
 * (holding the packet while ARP runs). Takes ownership of 'm' whatever the
 * outcome. 0, or a negative errno when it was dropped. Main lcore. */
int upf_dp_send(struct upf_dp *dp, enum upf_side side, uint32_t nh_ipv4,
                struct rte_mbuf *m);

/* The next hop for 'dst_ipv4' on 'side' (itself when on-link, else the
 * gateway); 0 when off-link without a gateway. */
uint32_t upf_dp_next_hop(const struct upf_dp *dp, enum upf_side side,
                         uint32_t dst_ipv4);

/* Handler of punted packets for which the data plane has no use itself
 * (UPF_PUNT_BUFFER and UPF_PUNT_GTPU): takes ownership of 'm'. */
typedef void upf_dp_punt_fn(void *arg, struct rte_mbuf *m);

/* Drains the punt rings (learning from ARP, resolving neighbours, giving
 * the rest to 'handler') and ages the neighbour tables; 'now_ns' is
 * CLOCK_MONOTONIC. Call periodically on the main lcore. Returns the number
 * of packets drained. */
unsigned int upf_dp_poll(struct upf_dp *dp, int64_t now_ns,
                         upf_dp_punt_fn *handler, void *arg);

/* The private area of a pool mbuf. */
static inline struct upf_mbuf_priv *
upf_mbuf_priv(struct rte_mbuf *m)
{
    return (struct upf_mbuf_priv *) rte_mbuf_to_priv(m);
}

/* True when 'ipv4' is one of the addresses the UPF owns on 'ifc'. */
static inline bool
upf_iface_owns(const struct upf_iface *ifc, uint32_t ipv4)
{
    return ipv4 == ifc->ipv4 || (ifc->service_ipv4 && ipv4 == ifc->service_ipv4);
}

/* Adds 'n' to a counter that one thread writes and others read. */
static inline void
upf_ctr_add(uint64_t *ctr, uint64_t n)
{
    __atomic_store_n(ctr, __atomic_load_n(ctr, __ATOMIC_RELAXED) + n,
                     __ATOMIC_RELAXED);
}

static inline uint64_t
upf_ctr_read(const uint64_t *ctr)
{
    return __atomic_load_n(ctr, __ATOMIC_RELAXED);
}

#endif
