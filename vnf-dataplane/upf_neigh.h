/* upf_neigh: the neighbour (ARP) table of one side of vigil-upf.
 *
 * Maps the IPv4 address of a next hop (a gNB, a router, a host on the
 * core subnet) to its MAC. Workers read it without locks (an rte_hash with
 * RW_CONCURRENCY_LF; the MAC is one atomic 64-bit word) and hand the
 * packets of an unknown or unresolved next hop to the main lcore, which
 * owns everything else here: it creates the entry, holds up to
 * 'queue_length' packets per entry while it sends ARP requests (every
 * 'retrans_ns', at most 'probes' times), learns the MAC from the reply
 * and sends the held packets (at most 'queue_total' held in all, so that
 * unresolvable next hops cannot take the mbuf pool), and ages entries:
 * after 'reachable_ns' an
 * entry that was used is probed again (keeping its MAC meanwhile), one
 * that was not is removed. Failed and removed entries are freed after an
 * RCU grace period, without blocking. Entries are capped at 'max_entries'.
 *
 * Threading: upf_neigh_find(), upf_neigh_mac() and upf_neigh_touch() on
 * workers (RCU readers); everything else on the main lcore. */
#ifndef VIGIL_UPF_NEIGH_H
#define VIGIL_UPF_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#include "upf_pkt.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_rcu_qsbr;
struct upf_neigh_table;

#define UPF_NEIGH_VALID (UINT64_C(1) << 63)

enum upf_neigh_state {
    UPF_NEIGH_INCOMPLETE,       /* ARP sent, no reply yet */
    UPF_NEIGH_REACHABLE,        /* MAC confirmed within reachable_ns */
    UPF_NEIGH_PROBE,            /* MAC still used, being re-confirmed */
    UPF_NEIGH_FAILED,           /* no reply: held off, then removed */
    UPF_NEIGH_PERMANENT,        /* configured: never probed or aged */
    UPF_NEIGH_STATE_COUNT
};

/* One neighbour. Workers use 'mac_word' and 'used' only. */
struct upf_neigh {
    uint64_t mac_word;          /* UPF_NEIGH_VALID | MAC (bits 0-47) */
    uint32_t used;              /* set by workers, cleared by main */
    uint32_t ipv4;
    /* main lcore only */
    enum upf_neigh_state state;
    unsigned int probes;        /* ARP requests sent in this state */
    int64_t deadline_ns;        /* next probe, or removal when FAILED */
    uint64_t retire_token;      /* RCU token once removed */
    struct rte_mbuf **queue;    /* packets waiting for the MAC */
    unsigned int queue_length;
    struct upf_neigh *prev, *next;  /* live list, or the retired list */
};

/* Sends a complete frame out of the table's port. Takes ownership of 'm'
 * (frees it on failure). */
typedef int upf_neigh_xmit_fn(void *arg, struct rte_mbuf *m);

struct upf_neigh_conf {
    const char *name;           /* unique in the process */
    uint32_t max_entries;
    uint32_t queue_length;      /* packets held per unresolved entry */
    uint32_t queue_total;       /* packets held in all entries at most */
    int64_t reachable_ns;
    int64_t retrans_ns;
    unsigned int probes;
    const uint8_t *mac;         /* the side's own MAC and IPv4, for ARP */
    uint32_t ipv4;
    struct rte_mempool *pool;   /* for ARP requests */
    struct rte_rcu_qsbr *qsv;
    upf_neigh_xmit_fn *xmit;
    void *xmit_arg;
};

struct upf_neigh_stats {
    uint64_t entries;
    uint64_t resolved;          /* entries that got a MAC */
    uint64_t failed;            /* entries that never got one */
    uint64_t expired;           /* removed unused, or after failed probes */
    uint64_t requests_sent;     /* ARP requests */
    uint64_t queued;            /* packets held while resolving */
    uint64_t queue_dropped;     /* over queue_length, or entry failed */
    uint64_t table_full;        /* packets dropped: max_entries reached */
};

/* Creates an empty table. NULL with '*error' set. */
struct upf_neigh_table *upf_neigh_new(const struct upf_neigh_conf *conf,
                                      int *error);

/* Frees every entry and held packet. Workers must be stopped. Accepts
 * NULL. */
void upf_neigh_free(struct upf_neigh_table *t);

/* A number that changes whenever an entry is removed: a worker that keeps
 * entry pointers across polls drops them when it changes (the entries
 * themselves are freed only after a grace period). */
uint64_t upf_neigh_generation(const struct upf_neigh_table *t);

/* The entry of 'ipv4', or NULL (RCU reader). */
struct upf_neigh *upf_neigh_find(const struct upf_neigh_table *t,
                                 uint32_t ipv4);

/* Copies the MAC of 'n' into 'mac' when it is known; false otherwise. */
static inline bool
upf_neigh_mac(const struct upf_neigh *n, uint8_t mac[UPF_PKT_MAC_SIZE])
{
    uint64_t word = __atomic_load_n(&n->mac_word, __ATOMIC_ACQUIRE);

    if (!(word & UPF_NEIGH_VALID)) {
        return false;
    }
    for (int i = 0; i < UPF_PKT_MAC_SIZE; i++) {
        mac[i] = (uint8_t) (word >> (8 * (UPF_PKT_MAC_SIZE - 1 - i)));
    }
    return true;
}

/* Marks 'n' as in use (keeps it from ageing out). Cheap when repeated. */
static inline void
upf_neigh_touch(struct upf_neigh *n)
{
    if (!__atomic_load_n(&n->used, __ATOMIC_RELAXED)) {
        __atomic_store_n(&n->used, 1, __ATOMIC_RELAXED);
    }
}

/* Sends 'm' (a frame whose destination MAC is to be filled in) to 'ipv4':
 * at once when the MAC is known, else held (creating the entry and
 * sending the first ARP request as needed). Takes ownership of 'm'.
 * 0 when sent or held; -ENOBUFS / -ENOSPC when dropped (queue or table
 * full), -EHOSTUNREACH when the entry recently failed. */
int upf_neigh_resolve(struct upf_neigh_table *t, uint32_t ipv4,
                      struct rte_mbuf *m, int64_t now_ns);

/* Adds a permanent entry (static ARP): 'ipv4' is at 'mac', never probed
 * or aged, not changed by ARP. 0, -EEXIST or -ENOSPC. */
int upf_neigh_add_static(struct upf_neigh_table *t, uint32_t ipv4,
                         const uint8_t mac[UPF_PKT_MAC_SIZE]);

/* Records that 'ipv4' is at 'mac' (from an ARP reply or request it sent).
 * Only entries that exist are updated (no entry is created for
 * unsolicited ARP); held packets are then sent. */
void upf_neigh_learn(struct upf_neigh_table *t, uint32_t ipv4,
                     const uint8_t mac[UPF_PKT_MAC_SIZE], int64_t now_ns);

/* Runs the timers: probes, failures, ageing, freeing of retired entries
 * whose grace period has passed. */
void upf_neigh_age(struct upf_neigh_table *t, int64_t now_ns);

/* Removes every entry (held packets are dropped); they are freed once a
 * grace period has passed (upf_neigh_age) or by upf_neigh_free(). */
void upf_neigh_flush(struct upf_neigh_table *t);

void upf_neigh_get_stats(const struct upf_neigh_table *t,
                         struct upf_neigh_stats *stats);

/* The state of 'ipv4' in '*state' (for tests and the API). 0 or
 * -ENOENT. */
int upf_neigh_state(const struct upf_neigh_table *t, uint32_t ipv4,
                    enum upf_neigh_state *state,
                    uint8_t mac[UPF_PKT_MAC_SIZE]);

#endif
