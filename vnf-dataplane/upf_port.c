/* upf_port: DPDK port bring-up (see upf_port.h), after DPDK's
 * examples/skeleton/basicfwd.c port_init(). */
#include "upf_port.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>

int
upf_port_start(uint16_t port_id, uint16_t queues, uint16_t rx_desc,
               uint16_t tx_desc, struct rte_mempool *pool, uint8_t mac[6],
               char *why, size_t why_size)
{
    struct rte_eth_conf conf;
    struct rte_eth_dev_info info;
    struct rte_ether_addr addr;
    uint16_t nb_rx = rx_desc, nb_tx = tx_desc;
    int ret;

    if (!rte_eth_dev_is_valid_port(port_id)) {
        snprintf(why, why_size, "port %u does not exist (the EAL arguments "
                 "give %u port(s))", port_id, rte_eth_dev_count_avail());
        return -ENODEV;
    }
    ret = rte_eth_dev_info_get(port_id, &info);
    if (ret) {
        snprintf(why, why_size, "port %u: no device info: %s", port_id,
                 strerror(-ret));
        return ret;
    }
    if (info.max_rx_queues < queues || info.max_tx_queues < queues) {
        snprintf(why, why_size, "port %u (%s) has %u RX / %u TX queues, "
                 "the workers need %u (e.g. qpairs=%u for net_af_packet)",
                 port_id, info.driver_name, info.max_rx_queues,
                 info.max_tx_queues, queues, queues);
        return -EINVAL;
    }
    memset(&conf, 0, sizeof conf);
    if (queues > 1 && (info.flow_type_rss_offloads & RTE_ETH_RSS_IP)) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf =
            info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP);
    }
    conf.rxmode.offloads = info.rx_offload_capa
                           & (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM
                              | RTE_ETH_RX_OFFLOAD_UDP_CKSUM);
    if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE) {
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
    }
    ret = rte_eth_dev_configure(port_id, queues, queues, &conf);
    if (!ret) {
        ret = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nb_rx, &nb_tx);
    }
    for (uint16_t q = 0; !ret && q < queues; q++) {
        ret = rte_eth_rx_queue_setup(port_id, q, nb_rx,
                                     (unsigned int) rte_eth_dev_socket_id(
                                         port_id), NULL, pool);
    }
    for (uint16_t q = 0; !ret && q < queues; q++) {
        struct rte_eth_txconf txconf = info.default_txconf;

        txconf.offloads = conf.txmode.offloads;
        ret = rte_eth_tx_queue_setup(port_id, q, nb_tx,
                                     (unsigned int) rte_eth_dev_socket_id(
                                         port_id), &txconf);
    }
    if (!ret) {
        ret = rte_eth_dev_start(port_id);
    }
    if (!ret) {
        ret = rte_eth_macaddr_get(port_id, &addr);
    }
    if (ret) {
        snprintf(why, why_size, "port %u (%s): cannot start: %s", port_id,
                 info.driver_name, strerror(ret < 0 ? -ret : ret));
        return ret < 0 ? ret : -EIO;
    }
    memcpy(mac, addr.addr_bytes, RTE_ETHER_ADDR_LEN);
    return 0;
}

void
upf_port_stop(uint16_t port_id)
{
    if (!rte_eth_dev_is_valid_port(port_id)) {
        return;
    }
    rte_eth_dev_stop(port_id);
    rte_eth_dev_close(port_id);
}

void
upf_port_name(uint16_t port_id, char *buf, size_t size)
{
    char name[RTE_ETH_NAME_MAX_LEN];

    if (rte_eth_dev_get_name_by_port(port_id, name)) {
        snprintf(buf, size, "port%u", port_id);
        return;
    }
    snprintf(buf, size, "%s", name);
}
