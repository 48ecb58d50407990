/* upf_port: bring-up and teardown of one DPDK port for vigil-upf.
 *
 * A port is whatever device the EAL arguments gave (a NIC, net_af_packet
 * on a veth, net_pcap, net_ring, net_null, net_tap). It gets one RX and
 * one TX queue per worker, RSS over IPv4 when it has several queues and
 * supports it, and the RX IPv4/UDP checksum offloads it supports (the
 * workers then skip those checks).
 *
 * Threading: main lcore only, before the workers start / after they
 * stop. */
#ifndef VIGIL_UPF_PORT_H
#define VIGIL_UPF_PORT_H

#include <stddef.h>
#include <stdint.h>

struct rte_mempool;

/* Configures and starts 'port_id' with 'queues' RX and TX queues of
 * 'rx_desc' / 'tx_desc' descriptors (adjusted to what the device allows),
 * receiving into 'pool'. Its MAC goes to 'mac'. 0, or a negative errno
 * with a message in 'why' (of 'why_size' bytes). */
int upf_port_start(uint16_t port_id, uint16_t queues, uint16_t rx_desc,
                   uint16_t tx_desc, struct rte_mempool *pool,
                   uint8_t mac[6], char *why, size_t why_size);

/* Stops and closes the port (ignores errors; safe on a port that was never
 * started). */
void upf_port_stop(uint16_t port_id);

/* The device name of 'port_id' ("net_af_packet0") into 'buf'. */
void upf_port_name(uint16_t port_id, char *buf, size_t size);

#endif
