/* upf_worker: one run-to-completion data-plane worker of vigil-upf.
 *
 * A worker owns RX and TX queue 'queue' of the access and the core port.
 * Each poll: report an RCU quiescent state, receive a burst from each
 * port, parse every frame (upf_pkt), answer what it can alone -- ARP
 * requests for the UPF's addresses, ICMP echo to them, GTP-U echo -- and
 * look up the G-PDUs by TEID and the downlink packets by UE address in
 * bulk (upf_table_lookup_bulk), prefetching the results. Uplink G-PDUs of
 * a known TEID are decapsulated and sent to the core side; downlink
 * packets of a known UE are encapsulated with their FAR's outer header
 * (and the QER's QFI) and sent to the access side; the PDR's counters,
 * gates and MBR meters apply on the way. An unknown TEID gets an Error
 * Indication, at most 'error_indication_rate' per second. Packets whose
 * next hop has no MAC yet, ARP replies, buffered downlink data and
 * GTP-U signalling go to the main lcore on the 'punt' ring; what the main
 * lcore wants sent comes in on the 'inject' ring. Frames that TX did not
 * take are freed and counted. Nothing is allocated or logged per packet.
 *
 * Threading: upf_worker_poll() and upf_worker_main() on the worker's
 * lcore; the rest on the main lcore (upf_worker_stats() while it runs). */
#ifndef VIGIL_UPF_WORKER_H
#define VIGIL_UPF_WORKER_H

#include <stdint.h>

#include "upf_dp.h"

struct rte_rcu_qsbr;
struct rte_ring;
struct upf_neigh_table;
struct upf_worker;

struct upf_worker_conf {
    unsigned int lcore_id;      /* its RCU thread id */
    unsigned int index;         /* 0..workers-1: its counter slot */
    uint16_t queue;             /* its RX/TX queue on both ports */
    struct upf_iface ifaces[UPF_SIDE_COUNT];
    struct upf_table *uplink;
    struct upf_table *downlink;
    struct rte_rcu_qsbr *qsv;
    uint16_t ring_size;         /* punt and inject rings (power of 2) */
    uint32_t error_indication_rate;  /* per second; 0: never sent */
    uint32_t idle_sleep_us;     /* nap after idle polls; 0: busy poll */
    const uint32_t *stop;       /* non-zero: upf_worker_main() returns */
};

/* Creates a worker and its rings. NULL with '*error' set. */
struct upf_worker *upf_worker_new(const struct upf_worker_conf *conf,
                                  int *error);

/* Frees the worker; packets left in its rings are freed. Accepts NULL. */
void upf_worker_free(struct upf_worker *w);

/* One iteration: RX, process, drain the inject ring, TX. Returns the
 * number of packets received and injected. */
unsigned int upf_worker_poll(struct upf_worker *w);

/* The lcore entry point (rte_eal_remote_launch): goes RCU-online, polls
 * until '*conf->stop', goes offline. 'arg' is the struct upf_worker. */
int upf_worker_main(void *arg);

/* The ring the worker punts to (the main lcore dequeues). */
struct rte_ring *upf_worker_punt_ring(struct upf_worker *w);

/* Queues 'm' (with upf_mbuf_priv(m)->side set) for sending by the worker.
 * Takes ownership. 0 or -ENOBUFS (ring full; 'm' freed). Main lcore. */
int upf_worker_inject(struct upf_worker *w, struct rte_mbuf *m);

/* Adds the worker's counters for 'side' to '*sum'. */
void upf_worker_stats(const struct upf_worker *w, enum upf_side side,
                      struct upf_side_stats *sum);

#endif
