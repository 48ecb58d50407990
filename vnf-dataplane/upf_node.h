/* upf_node: the PFCP node of vigil-upf (TS 29.244) on UDP, on the main
 * lcore's libevent loop.
 *
 * It answers CP functions (SMF, SGW-C, PGW-C): Association Setup, Update
 * and Release, Heartbeat, and Session Establishment, Modification and
 * Deletion (the rules themselves are upf_session's). It sends its own
 * requests -- Heartbeats to every associated peer, Session Report Requests
 * (usage, downlink data, error indication) -- and retransmits them every
 * T1 up to N1 times; a peer that answers no heartbeat is considered lost
 * and its sessions are deleted, as are those of a peer whose Recovery Time
 * Stamp changed (it restarted).
 *
 * Inbound messages are decoded by the codec (pfcp.h). A malformed request
 * whose header could be read gets the response of its type with the cause
 * and Offending IE the codec found; anything else malformed is dropped and
 * counted. Responses are kept in a response cache (upf_rcache): a
 * retransmitted request gets the same response and is not executed again.
 *
 * Requests to a peer go to the address and port its Association Setup
 * Request came from.
 *
 * Threading: the loop of 'base' (the main lcore). */
#ifndef VIGIL_UPF_NODE_H
#define VIGIL_UPF_NODE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct metrics_registry;
struct rte_mbuf;
struct upf_node;
struct upf_sessions;

struct upf_node_conf {
    struct event_base *base;
    const char *address;            /* IPv4 to bind, "0.0.0.0" for any */
    uint16_t port;                  /* 8805; 0: any free port */
    uint32_t node_ipv4;             /* Node ID and F-SEID address */
    uint32_t n3_ipv4;               /* advertised as UP IP resource */
    struct upf_sessions *sessions;
    struct metrics_registry *metrics;
    unsigned int heartbeat_interval_ms;  /* 0: send no heartbeats */
    unsigned int t1_ms;             /* retransmission timer */
    unsigned int n1;                /* retransmissions before giving up */
    unsigned int max_associations;
    size_t cache_entries;           /* response cache */
    unsigned int cache_ttl_ms;
    unsigned int tick_ms;           /* timers and URR checks */
};

/* Binds the socket and starts the timers. NULL with '*error' set (e.g.
 * -EADDRINUSE). The registry, base and sessions must outlive the node. */
struct upf_node *upf_node_new(const struct upf_node_conf *conf, int *error);

/* Closes the socket. Sessions stay (upf_sessions_free deletes them).
 * Accepts NULL. */
void upf_node_free(struct upf_node *node);

/* The UDP port bound. */
uint16_t upf_node_port(const struct upf_node *node);

/* The NTP time stamp (s since 1900) of this node's start. */
uint32_t upf_node_recovery_time_stamp(const struct upf_node *node);

/* Handles a packet the workers punted to the main lcore for the control
 * plane (buffered downlink data; GTP-U error indications, which become
 * Error Indication Reports). Takes ownership. An upf_dp_punt_fn. */
void upf_node_punt(void *arg, struct rte_mbuf *m);

/* The associations as a JSON array, for the REST API. */
json_t *upf_node_associations_to_json(const struct upf_node *node);

#endif
