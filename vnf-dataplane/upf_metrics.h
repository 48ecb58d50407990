/* upf_metrics: vigil-upf's data-plane counters as Prometheus metrics.
 *
 * The workers count in their own cache lines (upf_dp_stats), the neighbour
 * tables and the session store keep their own statistics, and the ports
 * have DPDK's (rte_eth_stats). upf_metrics_sync(), called periodically on
 * the main lcore, adds what changed since the last call to the registry
 * that GET /metrics renders: per side (label side="access"|"core") the
 * RX/TX, forwarding and drop counters, drops by parse reason (label
 * reason), ARP and GTP-U signalling; the neighbours; the sessions.
 *
 * Threading: main lcore only. */
#ifndef VIGIL_UPF_METRICS_H
#define VIGIL_UPF_METRICS_H

struct metrics_registry;
struct upf_dp;
struct upf_metrics;
struct upf_sessions;

/* Registers the metrics. NULL on allocation failure. */
struct upf_metrics *upf_metrics_new(struct metrics_registry *reg,
                                    struct upf_dp *dp,
                                    struct upf_sessions *sessions);

/* Accepts NULL. The registry keeps the series. */
void upf_metrics_free(struct upf_metrics *m);

/* Brings the registry up to date. */
void upf_metrics_sync(struct upf_metrics *m);

#endif
