/* upf_neigh: neighbour resolution and ageing (see upf_neigh.h).
 *
 * Entries live in an rte_hash (IPv4 -> entry) for the workers and in a
 * doubly-linked list for the main lcore's timers. A removed entry leaves
 * the hash at once and goes to the retired list with an RCU token; it is
 * freed when rte_rcu_qsbr_check() says every worker has moved on. */
#include "upf_neigh.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

struct upf_neigh_table {
    struct upf_neigh_conf conf;
    uint8_t mac[UPF_PKT_MAC_SIZE];
    struct rte_hash *hash;
    struct upf_neigh *live;         /* list head */
    struct upf_neigh *retired;
    uint32_t count;                 /* live entries */
    uint32_t held;                  /* packets in all queues */
    uint64_t generation;            /* bumped on each removal */
    struct upf_neigh_stats stats;
};

static void
list_add(struct upf_neigh **head, struct upf_neigh *n)
{
    n->prev = NULL;
    n->next = *head;
    if (*head) {
        (*head)->prev = n;
    }
    *head = n;
}

static void
list_remove(struct upf_neigh **head, struct upf_neigh *n)
{
    if (n->prev) {
        n->prev->next = n->next;
    } else {
        *head = n->next;
    }
    if (n->next) {
        n->next->prev = n->prev;
    }
    n->prev = n->next = NULL;
}

struct upf_neigh_table *
upf_neigh_new(const struct upf_neigh_conf *conf, int *error)
{
    struct rte_hash_parameters params = {
        .name = conf->name,
        .entries = conf->max_entries < 8 ? 8 : conf->max_entries,
        .key_len = sizeof(uint32_t),
        .hash_func = rte_hash_crc,
        .socket_id = (int) rte_socket_id(),
        .extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF
                      | RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
    };
    struct rte_hash_rcu_config rcu = {
        .v = conf->qsv,
        .mode = RTE_HASH_QSBR_MODE_DQ,
    };
    struct upf_neigh_table *t = calloc(1, sizeof *t);
    int ret = -ENOMEM;

    if (!t) {
        goto out;
    }
    t->conf = *conf;
    memcpy(t->mac, conf->mac, sizeof t->mac);
    t->conf.mac = t->mac;
    t->conf.name = NULL;
    t->hash = rte_hash_create(&params);
    if (!t->hash) {
        ret = rte_errno ? -rte_errno : -ENOMEM;
        goto out;
    }
    if (conf->qsv && rte_hash_rcu_qsbr_add(t->hash, &rcu)) {
        ret = rte_errno ? -rte_errno : -ENOMEM;
        goto out;
    }
    return t;

out:
    upf_neigh_free(t);
    *error = ret;
    return NULL;
}

static void
drop_queue(struct upf_neigh_table *t, struct upf_neigh *n)
{
    for (unsigned int i = 0; i < n->queue_length; i++) {
        rte_pktmbuf_free(n->queue[i]);
    }
    t->stats.queue_dropped += n->queue_length;
    t->held -= n->queue_length;
    n->queue_length = 0;
}

static void
entry_free(struct upf_neigh *n)
{
    if (!n) {
        return;
    }
    for (unsigned int i = 0; i < n->queue_length; i++) {
        rte_pktmbuf_free(n->queue[i]);
    }
    free(n->queue);
    free(n);
}

void
upf_neigh_free(struct upf_neigh_table *t)
{
    if (!t) {
        return;
    }
    while (t->live) {
        struct upf_neigh *n = t->live;

        list_remove(&t->live, n);
        entry_free(n);
    }
    while (t->retired) {
        struct upf_neigh *n = t->retired;

        list_remove(&t->retired, n);
        entry_free(n);
    }
    rte_hash_free(t->hash);
    free(t);
}

uint64_t
upf_neigh_generation(const struct upf_neigh_table *t)
{
    return __atomic_load_n(&t->generation, __ATOMIC_ACQUIRE);
}

struct upf_neigh *
upf_neigh_find(const struct upf_neigh_table *t, uint32_t ipv4)
{
    void *data;

    if (rte_hash_lookup_data(t->hash, &ipv4, &data) < 0) {
        return NULL;
    }
    return data;
}

static void
send_request(struct upf_neigh_table *t, struct upf_neigh *n)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(t->conf.pool);
    size_t size = 0;
    uint8_t *frame;

    n->probes++;
    if (!m) {
        return;
    }
    frame = (uint8_t *) rte_pktmbuf_append(m, UPF_PKT_MIN_FRAME_SIZE);
    if (!frame || upf_pkt_arp_request(frame, UPF_PKT_MIN_FRAME_SIZE, t->mac,
                                      t->conf.ipv4, n->ipv4, &size)) {
        rte_pktmbuf_free(m);
        return;
    }
    t->stats.requests_sent++;
    t->conf.xmit(t->conf.xmit_arg, m);
}

/* Writes the MAC into the frame's destination and sends it. */
static void
send_to(struct upf_neigh_table *t, const uint8_t mac[UPF_PKT_MAC_SIZE],
        struct rte_mbuf *m)
{
    memcpy(rte_pktmbuf_mtod(m, uint8_t *), mac, UPF_PKT_MAC_SIZE);
    t->conf.xmit(t->conf.xmit_arg, m);
}

/* Takes 'n' out of the hash and the live list; freed after a grace
 * period. */
static void
retire(struct upf_neigh_table *t, struct upf_neigh *n)
{
    __atomic_store_n(&n->mac_word, 0, __ATOMIC_RELEASE);
    rte_hash_del_key(t->hash, &n->ipv4);
    __atomic_store_n(&t->generation, t->generation + 1, __ATOMIC_RELEASE);
    drop_queue(t, n);
    list_remove(&t->live, n);
    t->count--;
    n->retire_token = t->conf.qsv ? rte_rcu_qsbr_start(t->conf.qsv) : 0;
    list_add(&t->retired, n);
}

int
upf_neigh_resolve(struct upf_neigh_table *t, uint32_t ipv4,
                  struct rte_mbuf *m, int64_t now_ns)
{
    struct upf_neigh *n = upf_neigh_find(t, ipv4);
    uint8_t mac[UPF_PKT_MAC_SIZE];

    if (n && upf_neigh_mac(n, mac)) {
        send_to(t, mac, m);
        return 0;
    }
    if (n && n->state == UPF_NEIGH_FAILED) {
        t->stats.queue_dropped++;
        rte_pktmbuf_free(m);
        return -EHOSTUNREACH;
    }
    if (!n) {
        if (t->count >= t->conf.max_entries) {
            t->stats.table_full++;
            rte_pktmbuf_free(m);
            return -ENOSPC;
        }
        n = calloc(1, sizeof *n);
        if (n && t->conf.queue_length) {
            n->queue = calloc(t->conf.queue_length, sizeof *n->queue);
        }
        if (!n || (t->conf.queue_length && !n->queue)
            || rte_hash_add_key_data(t->hash, &ipv4, n) < 0) {
            entry_free(n);
            t->stats.table_full++;
            rte_pktmbuf_free(m);
            return -ENOSPC;
        }
        n->ipv4 = ipv4;
        n->state = UPF_NEIGH_INCOMPLETE;
        list_add(&t->live, n);
        t->count++;
        send_request(t, n);
        n->deadline_ns = now_ns + t->conf.retrans_ns;
    }
    if (n->queue_length >= t->conf.queue_length
        || t->held >= t->conf.queue_total) {
        t->stats.queue_dropped++;
        rte_pktmbuf_free(m);
        return -ENOBUFS;
    }
    n->queue[n->queue_length++] = m;
    t->held++;
    t->stats.queued++;
    return 0;
}

static uint64_t
mac_word(const uint8_t mac[UPF_PKT_MAC_SIZE])
{
    uint64_t word = UPF_NEIGH_VALID;

    for (int i = 0; i < UPF_PKT_MAC_SIZE; i++) {
        word |= (uint64_t) mac[i] << (8 * (UPF_PKT_MAC_SIZE - 1 - i));
    }
    return word;
}

int
upf_neigh_add_static(struct upf_neigh_table *t, uint32_t ipv4,
                     const uint8_t mac[UPF_PKT_MAC_SIZE])
{
    struct upf_neigh *n;

    if (upf_neigh_find(t, ipv4)) {
        return -EEXIST;
    }
    if (t->count >= t->conf.max_entries) {
        return -ENOSPC;
    }
    n = calloc(1, sizeof *n);
    if (!n) {
        return -ENOMEM;
    }
    n->ipv4 = ipv4;
    n->state = UPF_NEIGH_PERMANENT;
    n->mac_word = mac_word(mac);
    if (rte_hash_add_key_data(t->hash, &ipv4, n) < 0) {
        free(n);
        return -ENOSPC;
    }
    list_add(&t->live, n);
    t->count++;
    return 0;
}

void
upf_neigh_learn(struct upf_neigh_table *t, uint32_t ipv4,
                const uint8_t mac[UPF_PKT_MAC_SIZE], int64_t now_ns)
{
    struct upf_neigh *n = upf_neigh_find(t, ipv4);
    uint64_t word = mac_word(mac);

    if (!n || n->state == UPF_NEIGH_FAILED
        || n->state == UPF_NEIGH_PERMANENT) {
        return;
    }
    if (n->state == UPF_NEIGH_INCOMPLETE) {
        t->stats.resolved++;
    }
    __atomic_store_n(&n->mac_word, word, __ATOMIC_RELEASE);
    __atomic_store_n(&n->used, 0, __ATOMIC_RELAXED);
    n->state = UPF_NEIGH_REACHABLE;
    n->probes = 0;
    n->deadline_ns = now_ns + t->conf.reachable_ns;
    for (unsigned int i = 0; i < n->queue_length; i++) {
        send_to(t, mac, n->queue[i]);
    }
    t->held -= n->queue_length;
    n->queue_length = 0;
}

void
upf_neigh_age(struct upf_neigh_table *t, int64_t now_ns)
{
    struct upf_neigh *n, *next;

    for (n = t->live; n; n = next) {
        next = n->next;
        if (n->state == UPF_NEIGH_PERMANENT || now_ns < n->deadline_ns) {
            continue;
        }
        switch (n->state) {
        case UPF_NEIGH_INCOMPLETE:
            if (n->probes < t->conf.probes) {
                send_request(t, n);
                n->deadline_ns = now_ns + t->conf.retrans_ns;
            } else {
                /* Hold the failure for a while so that a stream of
                 * packets to a dead next hop does not become a stream
                 * of ARP requests. */
                drop_queue(t, n);
                t->stats.failed++;
                n->state = UPF_NEIGH_FAILED;
                n->deadline_ns = now_ns + t->conf.retrans_ns
                                 * (int64_t) t->conf.probes;
            }
            break;
        case UPF_NEIGH_REACHABLE:
            if (__atomic_load_n(&n->used, __ATOMIC_RELAXED)) {
                n->state = UPF_NEIGH_PROBE;
                n->probes = 0;
                send_request(t, n);
                n->deadline_ns = now_ns + t->conf.retrans_ns;
            } else {
                t->stats.expired++;
                retire(t, n);
            }
            break;
        case UPF_NEIGH_PROBE:
            if (n->probes < t->conf.probes) {
                send_request(t, n);
                n->deadline_ns = now_ns + t->conf.retrans_ns;
            } else {
                t->stats.expired++;
                retire(t, n);
            }
            break;
        default:
            retire(t, n);
            break;
        }
    }
    for (n = t->retired; n; n = next) {
        next = n->next;
        if (!t->conf.qsv
            || rte_rcu_qsbr_check(t->conf.qsv, n->retire_token, false)
               == 1) {
            list_remove(&t->retired, n);
            entry_free(n);
        }
    }
}

void
upf_neigh_flush(struct upf_neigh_table *t)
{
    while (t->live) {
        retire(t, t->live);
    }
}

void
upf_neigh_get_stats(const struct upf_neigh_table *t,
                    struct upf_neigh_stats *stats)
{
    *stats = t->stats;
    stats->entries = t->count;
}

int
upf_neigh_state(const struct upf_neigh_table *t, uint32_t ipv4,
                enum upf_neigh_state *state, uint8_t mac[UPF_PKT_MAC_SIZE])
{
    struct upf_neigh *n = upf_neigh_find(t, ipv4);

    if (!n) {
        return -ENOENT;
    }
    *state = n->state;
    if (!upf_neigh_mac(n, mac)) {
        memset(mac, 0, UPF_PKT_MAC_SIZE);
    }
    return 0;
}
