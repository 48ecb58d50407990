/* upf_dp: the data-plane context (see upf_dp.h): the mbuf pool, the RCU
 * QSBR variable, the session and neighbour tables, the ports and the
 * workers, and the main lcore's half of the punt/inject exchange. */
#include "upf_dp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_meter.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "upf_neigh.h"
#include "upf_port.h"
#include "upf_table.h"
#include "upf_worker.h"
#include "vtime.h"

#define NEIGH_RETRANS_NS INT64_C(1000000000)
#define NEIGH_PROBES 3
#define POOL_CACHE 256
#define HUGE_PAGE (2u << 20)
#define RT_SLACK 4096           /* snapshots replaced but not yet freed */

/* Under AddressSanitizer, a freed snapshot is poisoned so that a worker
 * touching one after its grace period is reported, as with malloc. */
#if defined(__SANITIZE_ADDRESS__)
#define UPF_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UPF_ASAN 1
#endif
#endif
#ifdef UPF_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void) (p), (void) (n))
#define UNPOISON(p, n) ((void) (p), (void) (n))
#endif

/* The snapshots (struct upf_pdr_rt) live in one region of their own,
 * backed by transparent huge pages where the kernel allows it: workers
 * reach 100,000s of them at random, and with 4 KiB pages nearly every
 * access would also miss the TLB. Fixed-size objects, a free list, the
 * main lcore only. */
struct upf_rt_slab {
    uint8_t *map;               /* what mmap() returned */
    size_t map_size;
    uint8_t *base;              /* 2 MiB aligned */
    size_t object_size;
    uint32_t capacity;
    uint32_t used;              /* objects ever handed out */
    void *free_head;            /* freed objects, oldest first: reuse */
    void *free_tail;            /* is as late as can be (and ASan sees a
                                 * late access as one to freed memory) */
};
struct upf_dp_side {
    struct upf_dp *dp;
    enum upf_side side;
};

/* With --no-huge the EAL's memory is 4 KiB pages (with Debian's DPDK a
 * memfd, i.e. shmem, which gets no transparent huge pages unless the
 * kernel's shmem_enabled allows it). The session tables and the mbufs,
 * which workers touch at random for every packet, then go to an external
 * heap on anonymous memory advised for transparent huge pages. */
struct upf_heap {
    uint8_t *map;
    size_t map_size;
    uint8_t *base;              /* 2 MiB aligned */
    size_t size;
    bool created;
    bool added;
};

#define HEAP_NAME "upf_thp"

struct upf_dp {
    struct upf_dp_conf conf;
    struct upf_heap heap;
    int socket;                 /* for the tables and the pool */
    struct upf_rt_slab slab;
    struct rte_mempool *pool;
    struct rte_rcu_qsbr *qsv;
    struct upf_table *uplink;
    struct upf_table *downlink;
    struct upf_iface ifaces[UPF_SIDE_COUNT];
    struct upf_dp_side xmit_args[UPF_SIDE_COUNT];
    bool ports_started[UPF_SIDE_COUNT];
    unsigned int workers_length;
    struct upf_worker *workers[UPF_MAX_WORKERS];
    unsigned int lcores[UPF_MAX_WORKERS];
    bool running;
    uint32_t stop;
};

/* Sends a frame from the main lcore through worker 0. */
static int
dp_xmit(void *arg, struct rte_mbuf *m)
{
    struct upf_dp_side *s = arg;

    upf_mbuf_priv(m)->side = (uint8_t) s->side;
    return upf_worker_inject(s->dp->workers[0], m);
}

static int
slab_init(struct upf_rt_slab *slab, size_t object_size, uint32_t capacity)
{
    size_t size = RTE_ALIGN((size_t) capacity * object_size, HUGE_PAGE);

    slab->map_size = size + HUGE_PAGE;
    slab->map = mmap(NULL, slab->map_size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (slab->map == MAP_FAILED) {
        slab->map = NULL;
        return -ENOMEM;
    }
    slab->base = (uint8_t *) RTE_ALIGN((uintptr_t) slab->map, HUGE_PAGE);
    /* Best effort: without THP the region is simply 4 KiB pages. */
    madvise(slab->base, size, MADV_HUGEPAGE);
    slab->object_size = object_size;
    slab->capacity = capacity;
    POISON(slab->base, size);
    return 0;
}

static void
slab_destroy(struct upf_rt_slab *slab)
{
    if (slab->map) {
        UNPOISON(slab->base, (size_t) slab->capacity * slab->object_size);
        munmap(slab->map, slab->map_size);
    }
}

/* Sets up the external heap (see struct upf_heap) of 'size' bytes; on
 * any failure the default heap is used (returns its socket). */
static int
heap_init(struct upf_heap *heap, size_t size)
{
    int socket;

    heap->size = RTE_ALIGN(size, HUGE_PAGE);
    heap->map_size = heap->size + HUGE_PAGE;
    heap->map = mmap(NULL, heap->map_size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (heap->map == MAP_FAILED) {
        heap->map = NULL;
        return (int) rte_socket_id();
    }
    heap->base = (uint8_t *) RTE_ALIGN((uintptr_t) heap->map, HUGE_PAGE);
    madvise(heap->base, heap->size, MADV_HUGEPAGE);
    if (rte_malloc_heap_create(HEAP_NAME)) {
        return (int) rte_socket_id();
    }
    heap->created = true;
    if (rte_malloc_heap_memory_add(HEAP_NAME, heap->base, heap->size, NULL,
                                   0, 4096)) {
        return (int) rte_socket_id();
    }
    heap->added = true;
    socket = rte_malloc_heap_get_socket(HEAP_NAME);
    return socket < 0 ? (int) rte_socket_id() : socket;
}

static void
heap_destroy(struct upf_heap *heap)
{
    if (heap->added) {
        rte_malloc_heap_memory_remove(HEAP_NAME, heap->base, heap->size);
    }
    if (heap->created) {
        rte_malloc_heap_destroy(HEAP_NAME);
    }
    if (heap->map) {
        munmap(heap->map, heap->map_size);
    }
}

static uint32_t
prefix_mask(uint8_t length)
{
    return length ? UINT32_MAX << (32 - length) : 0;
}

static int
dp_start_ports(struct upf_dp *dp, char *why, size_t why_size)
{
    const struct upf_dp_conf *c = &dp->conf;
    int ret;

    if (c->port_ids[UPF_SIDE_ACCESS] == c->port_ids[UPF_SIDE_CORE]) {
        snprintf(why, why_size, "the access and core ports must differ "
                 "(both are port %u)", c->port_ids[UPF_SIDE_ACCESS]);
        return -EINVAL;
    }
    for (int s = 0; s < UPF_SIDE_COUNT; s++) {
        struct upf_iface *ifc = &dp->ifaces[s];

        ifc->port_id = c->port_ids[s];
        ifc->ipv4 = c->ipv4[s];
        ifc->service_ipv4 = c->service_ipv4[s];
        ifc->netmask = prefix_mask(c->prefix_length[s]);
        ifc->gateway = c->gateway[s];
        ret = upf_port_start(ifc->port_id, (uint16_t) dp->workers_length,
                             c->rx_desc, c->tx_desc, dp->pool, ifc->mac, why,
                             why_size);
        if (ret) {
            return ret;
        }
        dp->ports_started[s] = true;
    }
    return 0;
}

static int
dp_new_neigh(struct upf_dp *dp, char *why, size_t why_size)
{
    static const char *const names[UPF_SIDE_COUNT] = {
        "upf_neigh_access", "upf_neigh_core",
    };

    for (int s = 0; s < UPF_SIDE_COUNT; s++) {
        struct upf_neigh_conf nc = {
            .name = names[s],
            .max_entries = dp->conf.neigh_max,
            .queue_length = dp->conf.neigh_queue,
            /* A quarter of the pool for both sides together. */
            .queue_total = dp->conf.mbufs / 8,
            .reachable_ns = (int64_t) dp->conf.neigh_reachable_ms * 1000000,
            .retrans_ns = NEIGH_RETRANS_NS,
            .probes = NEIGH_PROBES,
            .mac = dp->ifaces[s].mac,
            .ipv4 = dp->ifaces[s].ipv4,
            .pool = dp->pool,
            .qsv = dp->qsv,
            .xmit = dp_xmit,
            .xmit_arg = &dp->xmit_args[s],
        };
        int ret = 0;

        dp->xmit_args[s].dp = dp;
        dp->xmit_args[s].side = (enum upf_side) s;
        dp->ifaces[s].neigh = upf_neigh_new(&nc, &ret);
        if (!dp->ifaces[s].neigh) {
            snprintf(why, why_size, "neighbour table: %s", strerror(-ret));
            return ret;
        }
    }
    return 0;
}

static int
dp_new_workers(struct upf_dp *dp, char *why, size_t why_size)
{
    unsigned int i = 0;

    for (i = 0; i < dp->workers_length; i++) {
        struct upf_worker_conf wc = {
            .lcore_id = dp->lcores[i],
            .index = i,
            .queue = (uint16_t) i,
            .uplink = dp->uplink,
            .downlink = dp->downlink,
            .qsv = dp->qsv,
            .ring_size = dp->conf.ring_size,
            .error_indication_rate = dp->conf.error_indication_rate,
            .idle_sleep_us = dp->conf.idle_sleep_us,
            .stop = &dp->stop,
        };
        int ret = 0;

        memcpy(wc.ifaces, dp->ifaces, sizeof wc.ifaces);
        if (rte_rcu_qsbr_thread_register(dp->qsv, dp->lcores[i])) {
            snprintf(why, why_size, "RCU: cannot register lcore %u",
                     dp->lcores[i]);
            return -EINVAL;
        }
        dp->workers[i] = upf_worker_new(&wc, &ret);
        if (!dp->workers[i]) {
            snprintf(why, why_size, "worker %u: %s", i, strerror(-ret));
            return ret;
        }
    }
    return 0;
}

struct upf_dp *
upf_dp_new(const struct upf_dp_conf *conf, int *error, char *why,
           size_t why_size)
{
    struct upf_dp *dp = calloc(1, sizeof *dp);
    unsigned int lcore;
    size_t size;
    int ret = -ENOMEM;

    if (!dp) {
        snprintf(why, why_size, "out of memory");
        goto out;
    }
    dp->conf = *conf;
    dp->socket = (int) rte_socket_id();
    if (!rte_eal_has_hugepages()) {
        /* Two session tables of max_pdrs, the mbufs, and room. */
        dp->socket = heap_init(&dp->heap,
                               ((size_t) 64 << 20)
                               + (size_t) conf->max_pdrs * 2 * 128
                               + (size_t) conf->mbufs * 2560);
    }
    RTE_LCORE_FOREACH_WORKER(lcore) {
        if (dp->workers_length == UPF_MAX_WORKERS) {
            snprintf(why, why_size, "at most %d worker lcores",
                     UPF_MAX_WORKERS);
            ret = -EINVAL;
            goto out;
        }
        dp->lcores[dp->workers_length++] = lcore;
    }
    if (!dp->workers_length) {
        snprintf(why, why_size, "no worker lcore: give the EAL at least two "
                 "lcores (e.g. -l 0-1), the first is the main lcore");
        ret = -EINVAL;
        goto out;
    }
    if (slab_init(&dp->slab,
                  RTE_ALIGN(sizeof(struct upf_pdr_rt)
                            + sizeof(struct upf_pdr_counter_slot)
                              * dp->workers_length, RTE_CACHE_LINE_SIZE),
                  conf->max_pdrs + RT_SLACK)) {
        snprintf(why, why_size, "no memory for %u PDR snapshots",
                 conf->max_pdrs);
        goto out;
    }
    dp->pool = rte_pktmbuf_pool_create(
        "upf_mbufs", conf->mbufs, POOL_CACHE,
        (uint16_t) RTE_ALIGN(sizeof(struct upf_mbuf_priv),
                             RTE_MBUF_PRIV_ALIGN),
        RTE_MBUF_DEFAULT_BUF_SIZE, dp->socket);
    if (!dp->pool) {
        snprintf(why, why_size, "mbuf pool of %u: %s (give the EAL more "
                 "memory with -m)", conf->mbufs, rte_strerror(rte_errno));
        goto out;
    }
    size = rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE);
    dp->qsv = rte_zmalloc("upf_rcu", size, RTE_CACHE_LINE_SIZE);
    if (!dp->qsv || rte_rcu_qsbr_init(dp->qsv, RTE_MAX_LCORE)) {
        snprintf(why, why_size, "RCU QSBR variable");
        goto out;
    }
    dp->uplink = upf_table_new("upf_uplink", conf->max_pdrs, dp->qsv,
                               dp->socket, &ret);
    if (dp->uplink) {
        dp->downlink = upf_table_new("upf_downlink", conf->max_pdrs, dp->qsv,
                                     dp->socket, &ret);
    }
    if (!dp->downlink) {
        snprintf(why, why_size, "session tables of %u entries: %s (give the "
                 "EAL more memory with -m)", conf->max_pdrs, strerror(-ret));
        goto out;
    }
    ret = dp_start_ports(dp, why, why_size);
    if (!ret) {
        ret = dp_new_neigh(dp, why, why_size);
    }
    if (!ret) {
        ret = dp_new_workers(dp, why, why_size);
    }
    if (ret) {
        goto out;
    }
    return dp;

out:
    upf_dp_free(dp);
    *error = ret;
    return NULL;
}

void
upf_dp_free(struct upf_dp *dp)
{
    if (!dp) {
        return;
    }
    upf_dp_stop(dp);
    for (unsigned int i = 0; i < dp->workers_length; i++) {
        upf_worker_free(dp->workers[i]);
    }
    for (int s = 0; s < UPF_SIDE_COUNT; s++) {
        upf_neigh_free(dp->ifaces[s].neigh);
        if (dp->ports_started[s]) {
            upf_port_stop(dp->ifaces[s].port_id);
        }
    }
    upf_table_free(dp->uplink);
    upf_table_free(dp->downlink);
    rte_free(dp->qsv);
    rte_mempool_free(dp->pool);
    heap_destroy(&dp->heap);
    slab_destroy(&dp->slab);
    free(dp);
}

int
upf_dp_start(struct upf_dp *dp)
{
    __atomic_store_n(&dp->stop, 0, __ATOMIC_RELAXED);
    for (unsigned int i = 0; i < dp->workers_length; i++) {
        int ret = rte_eal_remote_launch(upf_worker_main, dp->workers[i],
                                        dp->lcores[i]);

        if (ret) {
            upf_dp_stop(dp);
            return ret < 0 ? ret : -EBUSY;
        }
        dp->running = true;
    }
    return 0;
}

void
upf_dp_stop(struct upf_dp *dp)
{
    if (!dp->running) {
        return;
    }
    __atomic_store_n(&dp->stop, 1, __ATOMIC_RELAXED);
    for (unsigned int i = 0; i < dp->workers_length; i++) {
        rte_eal_wait_lcore(dp->lcores[i]);
    }
    dp->running = false;
}

bool
upf_dp_running(const struct upf_dp *dp)
{
    return dp->running;
}

int
upf_dp_add_neighbour(struct upf_dp *dp, enum upf_side side, uint32_t ipv4,
                     const uint8_t mac[UPF_PKT_MAC_SIZE])
{
    return upf_neigh_add_static(dp->ifaces[side].neigh, ipv4, mac);
}

void
upf_dp_synchronize(struct upf_dp *dp)
{
    rte_rcu_qsbr_synchronize(dp->qsv, RTE_QSBR_THRID_INVALID);
}

struct upf_worker *
upf_dp_worker(struct upf_dp *dp, unsigned int i)
{
    return i < dp->workers_length ? dp->workers[i] : NULL;
}

struct rte_rcu_qsbr *
upf_dp_rcu(struct upf_dp *dp)
{
    return dp->qsv;
}

struct upf_table *
upf_dp_uplink(struct upf_dp *dp)
{
    return dp->uplink;
}

struct upf_table *
upf_dp_downlink(struct upf_dp *dp)
{
    return dp->downlink;
}

const struct upf_iface *
upf_dp_iface(const struct upf_dp *dp, enum upf_side side)
{
    return &dp->ifaces[side];
}

unsigned int
upf_dp_workers(const struct upf_dp *dp)
{
    return dp->workers_length;
}

struct rte_mempool *
upf_dp_pool(struct upf_dp *dp)
{
    return dp->pool;
}

struct upf_pdr_rt *
upf_dp_rt_new(struct upf_dp *dp)
{
    struct upf_rt_slab *slab = &dp->slab;
    void *rt;

    if (slab->used < slab->capacity) {
        rt = slab->base + (size_t) slab->used++ * slab->object_size;
        UNPOISON(rt, slab->object_size);
    } else if (slab->free_head) {
        rt = slab->free_head;
        UNPOISON(rt, slab->object_size);
        slab->free_head = *(void **) rt;
        if (!slab->free_head) {
            slab->free_tail = NULL;
        }
    } else {
        return NULL;
    }
    memset(rt, 0, slab->object_size);
    return rt;
}

void
upf_dp_rt_free(struct upf_dp *dp, struct upf_pdr_rt *rt)
{
    struct upf_rt_slab *slab = &dp->slab;

    if (!rt) {
        return;
    }
    *(void **) rt = NULL;
    if (slab->free_tail) {
        UNPOISON(slab->free_tail, sizeof(void *));
        *(void **) slab->free_tail = rt;
        POISON(slab->free_tail, sizeof(void *));
    } else {
        slab->free_head = rt;
    }
    slab->free_tail = rt;
    POISON(rt, slab->object_size);
}

void
upf_dp_rt_counters(const struct upf_dp *dp, const struct upf_pdr_rt *rt,
                   struct upf_pdr_counter_slot *sum)
{
    for (unsigned int i = 0; i < dp->workers_length; i++) {
        const struct upf_pdr_counter_slot *s = &rt->counters[i];

        sum->packets += upf_ctr_read(&s->packets);
        sum->bytes += upf_ctr_read(&s->bytes);
        sum->dropped_packets += upf_ctr_read(&s->dropped_packets);
        sum->dropped_bytes += upf_ctr_read(&s->dropped_bytes);
    }
}

struct upf_meter *
upf_dp_meter_new(const struct upf_dp *dp, uint64_t rate_kbps,
                 uint32_t burst_ms, int *error)
{
    struct rte_meter_trtcm_params params;
    struct upf_meter *meter;
    uint64_t rate = rate_kbps * 1000 / 8;
    uint64_t burst;
    size_t size = sizeof *meter
                  + sizeof(struct upf_meter_slot) * dp->workers_length;

    if (!rate || rate_kbps > UINT64_MAX / 1000) {
        *error = -EINVAL;
        return NULL;
    }
    burst = rate / 1000 * burst_ms;
    if (burst < 2 * 1500) {
        burst = 2 * 1500;
    }
    size = RTE_ALIGN(size, RTE_CACHE_LINE_SIZE);
    meter = aligned_alloc(RTE_CACHE_LINE_SIZE, size);
    if (!meter) {
        *error = -ENOMEM;
        return NULL;
    }
    memset(meter, 0, size);
    params.cir = rate;
    params.pir = rate;
    params.cbs = burst;
    params.pbs = burst;
    if (rte_meter_trtcm_profile_config(&meter->profile, &params)) {
        free(meter);
        *error = -EINVAL;
        return NULL;
    }
    for (unsigned int i = 0; i < dp->workers_length; i++) {
        rte_meter_trtcm_config(&meter->slots[i].trtcm, &meter->profile);
    }
    return meter;
}

void
upf_dp_meter_free(struct upf_meter *meter)
{
    free(meter);
}

void
upf_dp_stats(const struct upf_dp *dp, enum upf_side side,
             struct upf_side_stats *out)
{
    memset(out, 0, sizeof *out);
    for (unsigned int i = 0; i < dp->workers_length; i++) {
        upf_worker_stats(dp->workers[i], side, out);
    }
}

uint32_t
upf_dp_next_hop(const struct upf_dp *dp, enum upf_side side,
                uint32_t dst_ipv4)
{
    const struct upf_iface *ifc = &dp->ifaces[side];

    if ((dst_ipv4 & ifc->netmask) == (ifc->ipv4 & ifc->netmask)) {
        return dst_ipv4;
    }
    return ifc->gateway;
}

int
upf_dp_send(struct upf_dp *dp, enum upf_side side, uint32_t nh_ipv4,
            struct rte_mbuf *m)
{
    if (!nh_ipv4) {
        rte_pktmbuf_free(m);
        return -EHOSTUNREACH;
    }
    return upf_neigh_resolve(dp->ifaces[side].neigh, nh_ipv4, m,
                             vtime_mono_ns());
}

/* A punted ARP reply or announcement: learn the sender. */
static void
dp_learn(struct upf_dp *dp, struct rte_mbuf *m, int64_t now_ns)
{
    const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
    enum upf_side side = (enum upf_side) upf_mbuf_priv(m)->side;
    struct upf_pkt_meta meta;

    if (upf_pkt_parse(frame, m->data_len, 0, &meta) == UPF_PKT_OK
        && meta.kind == UPF_PKT_KIND_ARP) {
        /* The sender hardware address follows the 8-octet ARP header. */
        upf_neigh_learn(dp->ifaces[side].neigh, meta.src_ipv4,
                        frame + meta.l3_offset + 8, now_ns);
    }
    rte_pktmbuf_free(m);
}

unsigned int
upf_dp_poll(struct upf_dp *dp, int64_t now_ns, upf_dp_punt_fn *handler,
            void *arg)
{
    struct rte_mbuf *pkts[UPF_BURST];
    unsigned int total = 0;

    for (unsigned int i = 0; i < dp->workers_length; i++) {
        struct rte_ring *ring = upf_worker_punt_ring(dp->workers[i]);
        unsigned int n;

        do {
            n = rte_ring_sc_dequeue_burst(ring, (void **) pkts, UPF_BURST,
                                          NULL);
            for (unsigned int j = 0; j < n; j++) {
                struct rte_mbuf *m = pkts[j];
                struct upf_mbuf_priv *priv = upf_mbuf_priv(m);

                switch (priv->reason) {
                case UPF_PUNT_ARP:
                    dp_learn(dp, m, now_ns);
                    break;
                case UPF_PUNT_RESOLVE:
                    upf_neigh_resolve(dp->ifaces[priv->side].neigh,
                                      priv->nh_ipv4, m, now_ns);
                    break;
                default:
                    if (handler) {
                        handler(arg, m);
                    } else {
                        rte_pktmbuf_free(m);
                    }
                    break;
                }
            }
            total += n;
        } while (n == UPF_BURST);
    }
    for (int s = 0; s < UPF_SIDE_COUNT; s++) {
        upf_neigh_age(dp->ifaces[s].neigh, now_ns);
    }
    return total;
}
