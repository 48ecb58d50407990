/* upf_pkt: parsing and building of user-plane packets (see upf_pkt.h).
 *
 * Loads and stores go through memcpy: headers in an mbuf sit at any
 * alignment (an IPv4 header after Ethernet is only 2-byte aligned), and
 * the compiler turns these into plain moves. Checksums are summed in the
 * host's load order and stored the same way, which RFC 1071 shows gives
 * the right bytes on the wire on any host. */
#include "upf_pkt.h"

#include <errno.h>
#include <string.h>

#define GTPU_FLAG_VERSION_MASK 0xe0
#define GTPU_FLAG_VERSION_1 0x20
#define GTPU_FLAG_PT 0x10
#define GTPU_FLAG_E 0x04
#define GTPU_FLAG_S 0x02
#define GTPU_FLAG_PN 0x01

#define GTPU_IE_RECOVERY 14
#define GTPU_IE_TEID_DATA_I 16
#define GTPU_IE_PEER_ADDRESS 133

#define IP_FRAG_MASK 0x3fff    /* MF and fragment offset */
#define IP_FLAG_DF 0x4000
#define IP_DEFAULT_TTL 64

#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8

static const uint8_t broadcast_mac[UPF_PKT_MAC_SIZE] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

static const char *const result_names[UPF_PKT_RESULT_COUNT] = {
    [UPF_PKT_OK] = "ok",
    [UPF_PKT_TRUNCATED] = "truncated",
    [UPF_PKT_ETHERTYPE] = "ethertype",
    [UPF_PKT_BAD_ARP] = "bad_arp",
    [UPF_PKT_BAD_IP_HEADER] = "bad_ip_header",
    [UPF_PKT_BAD_IP_LENGTH] = "bad_ip_length",
    [UPF_PKT_BAD_IP_CHECKSUM] = "bad_ip_checksum",
    [UPF_PKT_IP_FRAGMENT] = "ip_fragment",
    [UPF_PKT_BAD_UDP] = "bad_udp",
    [UPF_PKT_BAD_ICMP] = "bad_icmp",
    [UPF_PKT_BAD_GTPU_HEADER] = "bad_gtpu_header",
    [UPF_PKT_BAD_GTPU_EXT] = "bad_gtpu_ext",
    [UPF_PKT_GTPU_EXT_UNKNOWN] = "gtpu_ext_unknown",
    [UPF_PKT_BAD_INNER] = "bad_inner",
    [UPF_PKT_INNER_NOT_IPV4] = "inner_not_ipv4",
};

const char *
upf_pkt_result_name(enum upf_pkt_result result)
{
    if ((unsigned int) result >= UPF_PKT_RESULT_COUNT) {
        return "unknown";
    }
    return result_names[result];
}

static inline uint16_t
get16(const uint8_t *p)
{
    return (uint16_t) ((p[0] << 8) | p[1]);
}

static inline uint32_t
get32(const uint8_t *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
           | ((uint32_t) p[2] << 8) | p[3];
}

static inline void
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t) (v >> 8);
    p[1] = (uint8_t) v;
}

static inline void
put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 24);
    p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);
    p[3] = (uint8_t) v;
}

/* The ones' complement sum of 'size' bytes, added to 'sum', not folded. */
static uint64_t
csum_partial(const uint8_t *p, size_t size, uint64_t sum)
{
    while (size >= 8) {
        uint64_t v;

        memcpy(&v, p, sizeof v);
        sum += (v & 0xffffffffu) + (v >> 32);
        p += 8;
        size -= 8;
    }
    while (size >= 2) {
        uint16_t v;

        memcpy(&v, p, sizeof v);
        sum += v;
        p += 2;
        size -= 2;
    }
    if (size) {
        uint16_t v = 0;

        memcpy(&v, p, 1);
        sum += v;
    }
    return sum;
}

static inline uint16_t
csum_fold(uint64_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t) sum;
}

/* A 16-bit field in load order, for adding to a sum. */
static inline uint16_t
load16(const uint8_t *p)
{
    uint16_t v;

    memcpy(&v, p, sizeof v);
    return v;
}

uint16_t
upf_pkt_checksum(const void *data, size_t size)
{
    return (uint16_t) ~csum_fold(csum_partial(data, size, 0));
}

static void
store_checksum(uint8_t *p, uint16_t csum)
{
    memcpy(p, &csum, sizeof csum);
}

/* RFC 1624 eqn. 3: the checksum 'check' after a 16-bit word of the summed
 * data changes from 'old' to 'new' (all in load order). */
static uint16_t
csum_replace16(uint16_t check, uint16_t old, uint16_t new)
{
    uint64_t sum = (uint16_t) ~check;

    sum += (uint16_t) ~old;
    sum += new;
    return (uint16_t) ~csum_fold(sum);
}

/* The IPv4/UDP pseudo-header sum. */
static uint64_t
csum_pseudo(const uint8_t *ip, uint8_t proto, uint16_t l4_size)
{
    uint8_t pseudo[12];

    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = proto;
    put16(pseudo + 10, l4_size);
    return csum_partial(pseudo, sizeof pseudo, 0);
}

static enum upf_pkt_result
parse_arp(const uint8_t *frame, size_t size, struct upf_pkt_meta *m)
{
    const uint8_t *arp = frame + UPF_PKT_ETH_SIZE;
    uint16_t op;

    if (size < UPF_PKT_ETH_SIZE + UPF_PKT_ARP_SIZE) {
        return UPF_PKT_TRUNCATED;
    }
    op = get16(arp + 6);
    if (get16(arp) != 1 || get16(arp + 2) != UPF_PKT_ETHER_IPV4
        || arp[4] != UPF_PKT_MAC_SIZE || arp[5] != 4 || op < 1 || op > 2) {
        return UPF_PKT_BAD_ARP;
    }
    m->kind = UPF_PKT_KIND_ARP;
    m->l3_size = UPF_PKT_ARP_SIZE;
    m->arp_op = op;
    m->src_ipv4 = get32(arp + 14);
    m->dst_ipv4 = get32(arp + 24);
    return UPF_PKT_OK;
}

enum upf_pkt_result
upf_pkt_parse_gtpu(const uint8_t *frame, size_t offset, size_t size,
                   struct upf_pkt_gtpu *gtpu)
{
    const uint8_t *g = frame + offset;
    struct upf_pkt_gtpu out = { 0 };
    size_t end, cur;
    uint8_t next;

    if (size < UPF_PKT_GTPU_SIZE) {
        return UPF_PKT_TRUNCATED;
    }
    out.flags = g[0];
    out.type = g[1];
    out.teid = get32(g + 4);
    if ((out.flags & GTPU_FLAG_VERSION_MASK) != GTPU_FLAG_VERSION_1
        || !(out.flags & GTPU_FLAG_PT)) {
        return UPF_PKT_BAD_GTPU_HEADER;
    }
    /* The length counts the bytes after the mandatory header; it must
     * account for the whole UDP payload. */
    end = UPF_PKT_GTPU_SIZE + (size_t) get16(g + 2);
    if (end != size) {
        return UPF_PKT_BAD_GTPU_HEADER;
    }
    cur = UPF_PKT_GTPU_SIZE;
    next = 0;
    if (out.flags & (GTPU_FLAG_E | GTPU_FLAG_S | GTPU_FLAG_PN)) {
        if (end < cur + UPF_PKT_GTPU_OPT_SIZE) {
            return UPF_PKT_BAD_GTPU_HEADER;
        }
        if (out.flags & GTPU_FLAG_S) {
            out.has_seq = true;
            out.seq = get16(g + 8);
        }
        if (out.flags & GTPU_FLAG_E) {
            next = g[11];
        }
        cur += UPF_PKT_GTPU_OPT_SIZE;
    }
    while (next) {
        uint8_t type = next;
        size_t ext_size;

        if (out.ext_count == UPF_PKT_MAX_EXT_HEADERS || cur >= end) {
            return UPF_PKT_BAD_GTPU_EXT;
        }
        ext_size = (size_t) g[cur] * 4;
        if (!ext_size || ext_size > end - cur) {
            return UPF_PKT_BAD_GTPU_EXT;
        }
        out.ext_count++;
        switch (type) {
        case UPF_PKT_EXT_PDU_SESSION_CONTAINER:
            /* Octet 1: PDU type in the high nibble; octet 2: QFI in the
             * low six bits, for both the DL and the UL format. */
            if (out.has_qfi || (g[cur + 1] >> 4) > 1) {
                return UPF_PKT_BAD_GTPU_EXT;
            }
            out.pdu_type = g[cur + 1] >> 4;
            out.qfi = g[cur + 2] & 0x3f;
            out.has_qfi = true;
            break;
        case UPF_PKT_EXT_UDP_PORT:
            if (ext_size != 4) {
                return UPF_PKT_BAD_GTPU_EXT;
            }
            break;
        case 0x20:  /* Service Class Indicator */
        case 0x81:  /* RAN Container */
        case 0x82:  /* Long PDCP PDU Number */
        case 0x83:  /* Xw RAN Container */
        case 0x84:  /* NR RAN Container */
        case 0xc0:  /* PDCP PDU Number */
            break;
        default:
            /* The two high bits say whether an endpoint must understand
             * the header (TS 29.281 5.2.1): 10 and 11 do. */
            if (type & 0x80) {
                return UPF_PKT_GTPU_EXT_UNKNOWN;
            }
            break;
        }
        next = g[cur + ext_size - 1];
        cur += ext_size;
    }
    out.offset = (uint16_t) offset;
    out.payload_offset = (uint16_t) (offset + cur);
    out.payload_size = (uint16_t) (end - cur);
    *gtpu = out;
    return UPF_PKT_OK;
}

static enum upf_pkt_result
parse_l4(const uint8_t *frame, unsigned int flags, struct upf_pkt_meta *m)
{
    const uint8_t *ip = frame + m->l3_offset;
    const uint8_t *l4 = frame + m->l4_offset;
    size_t l4_size = (size_t) m->l3_size - (m->l4_offset - m->l3_offset);

    if (m->ip_proto == UPF_PKT_IPPROTO_ICMP) {
        if (l4_size < UPF_PKT_ICMP_SIZE) {
            return UPF_PKT_TRUNCATED;
        }
        if (l4[0] != ICMP_ECHO_REQUEST || l4[1] != 0) {
            return UPF_PKT_OK;
        }
        if (csum_fold(csum_partial(l4, l4_size, 0)) != 0xffff) {
            return UPF_PKT_BAD_ICMP;
        }
        m->kind = UPF_PKT_KIND_ICMP_ECHO;
        return UPF_PKT_OK;
    }
    if (m->ip_proto != UPF_PKT_IPPROTO_UDP) {
        return UPF_PKT_OK;
    }
    if (l4_size < UPF_PKT_UDP_SIZE) {
        return UPF_PKT_TRUNCATED;
    }
    {
        uint16_t udp_size = get16(l4 + 4);

        if (udp_size < UPF_PKT_UDP_SIZE || udp_size > l4_size) {
            return UPF_PKT_BAD_UDP;
        }
        if (!(flags & UPF_PKT_L4_CKSUM_GOOD) && load16(l4 + 6) != 0
            && csum_fold(csum_partial(l4, udp_size,
                                      csum_pseudo(ip, UPF_PKT_IPPROTO_UDP,
                                                  udp_size))) != 0xffff) {
            return UPF_PKT_BAD_UDP;
        }
        m->src_port = get16(l4);
        m->dst_port = get16(l4 + 2);
        m->kind = UPF_PKT_KIND_UDP;
        if (m->dst_port == UPF_PKT_GTPU_PORT) {
            enum upf_pkt_result r = upf_pkt_parse_gtpu(
                frame, (size_t) m->l4_offset + UPF_PKT_UDP_SIZE,
                (size_t) udp_size - UPF_PKT_UDP_SIZE, &m->gtpu);

            if (r != UPF_PKT_OK) {
                return r;
            }
            m->kind = UPF_PKT_KIND_GTPU;
        }
    }
    return UPF_PKT_OK;
}

enum upf_pkt_result
upf_pkt_parse(const uint8_t *frame, size_t size, unsigned int flags,
              struct upf_pkt_meta *meta)
{
    struct upf_pkt_meta m;
    const uint8_t *ip;
    size_t ihl, total;
    uint16_t frag;
    enum upf_pkt_result r;

    if (size < UPF_PKT_ETH_SIZE) {
        return UPF_PKT_TRUNCATED;
    }
    memset(&m, 0, sizeof m);
    m.ether_type = get16(frame + 12);
    m.l3_offset = UPF_PKT_ETH_SIZE;
    if (m.ether_type == UPF_PKT_ETHER_ARP) {
        r = parse_arp(frame, size, &m);
        if (r == UPF_PKT_OK) {
            *meta = m;
        }
        return r;
    }
    if (m.ether_type != UPF_PKT_ETHER_IPV4) {
        return UPF_PKT_ETHERTYPE;
    }
    if (size < UPF_PKT_ETH_SIZE + UPF_PKT_IPV4_SIZE) {
        return UPF_PKT_TRUNCATED;
    }
    ip = frame + UPF_PKT_ETH_SIZE;
    ihl = (size_t) (ip[0] & 0x0f) * 4;
    if ((ip[0] >> 4) != 4 || ihl < UPF_PKT_IPV4_SIZE) {
        return UPF_PKT_BAD_IP_HEADER;
    }
    total = get16(ip + 2);
    if (total < ihl) {
        return UPF_PKT_BAD_IP_LENGTH;
    }
    if (total > size - UPF_PKT_ETH_SIZE) {
        return UPF_PKT_TRUNCATED;
    }
    if (!(flags & UPF_PKT_IP_CKSUM_GOOD)
        && csum_fold(csum_partial(ip, ihl, 0)) != 0xffff) {
        return UPF_PKT_BAD_IP_CHECKSUM;
    }
    frag = get16(ip + 6);
    m.kind = UPF_PKT_KIND_IPV4;
    m.l3_size = (uint16_t) total;
    m.l4_offset = (uint16_t) (UPF_PKT_ETH_SIZE + ihl);
    m.ip_tos = ip[1];
    m.ip_ttl = ip[8];
    m.ip_proto = ip[9];
    m.ip_fragment = (frag & IP_FRAG_MASK) != 0;
    m.src_ipv4 = get32(ip + 12);
    m.dst_ipv4 = get32(ip + 16);
    if (flags & UPF_PKT_PARSE_L4) {
        if (m.ip_fragment) {
            return UPF_PKT_IP_FRAGMENT;
        }
        r = parse_l4(frame, flags, &m);
        if (r != UPF_PKT_OK) {
            return r;
        }
    }
    *meta = m;
    return UPF_PKT_OK;
}

enum upf_pkt_result
upf_pkt_parse_inner(const uint8_t *tpdu, size_t size,
                    struct upf_pkt_inner *inner)
{
    size_t ihl, total;

    if (size < 1) {
        return UPF_PKT_BAD_INNER;
    }
    if ((tpdu[0] >> 4) == 6) {
        /* Version, then the payload length after the 40-byte header. */
        if (size < 40 || (size_t) get16(tpdu + 4) + 40 > size) {
            return UPF_PKT_BAD_INNER;
        }
        return UPF_PKT_INNER_NOT_IPV4;
    }
    if (size < UPF_PKT_IPV4_SIZE || (tpdu[0] >> 4) != 4) {
        return UPF_PKT_BAD_INNER;
    }
    ihl = (size_t) (tpdu[0] & 0x0f) * 4;
    total = get16(tpdu + 2);
    if (ihl < UPF_PKT_IPV4_SIZE || total < ihl || total > size
        || csum_fold(csum_partial(tpdu, ihl, 0)) != 0xffff) {
        return UPF_PKT_BAD_INNER;
    }
    inner->src_ipv4 = get32(tpdu + 12);
    inner->dst_ipv4 = get32(tpdu + 16);
    inner->size = (uint16_t) total;
    return UPF_PKT_OK;
}

int
upf_pkt_parse_error_indication(const uint8_t *ies, size_t size,
                               uint32_t *teid, uint32_t *peer_ipv4)
{
    bool has_teid = false, has_peer = false;
    uint32_t t = 0, peer = 0;
    size_t pos = 0;

    while (pos < size) {
        uint8_t type = ies[pos];

        if (type == GTPU_IE_RECOVERY) {
            if (size - pos < 2) {
                return -EBADMSG;
            }
            pos += 2;
        } else if (type == GTPU_IE_TEID_DATA_I) {
            if (size - pos < 5) {
                return -EBADMSG;
            }
            if (!has_teid) {
                t = get32(ies + pos + 1);
                has_teid = true;
            }
            pos += 5;
        } else if (type >= 128) {
            /* TLV: a 2-octet length follows the type. */
            size_t length;

            if (size - pos < 3) {
                return -EBADMSG;
            }
            length = get16(ies + pos + 1);
            if (size - pos - 3 < length) {
                return -EBADMSG;
            }
            if (type == GTPU_IE_PEER_ADDRESS && !has_peer) {
                if (length != 4) {
                    return -EBADMSG;    /* IPv6 peers are not used here */
                }
                peer = get32(ies + pos + 3);
                has_peer = true;
            }
            pos += 3 + length;
        } else {
            /* An unknown TV IE: its length is unknown, stop here. */
            return -EBADMSG;
        }
    }
    if (!has_teid || !has_peer) {
        return -EBADMSG;
    }
    *teid = t;
    *peer_ipv4 = peer;
    return 0;
}

void
upf_pkt_write_eth(uint8_t *frame, const uint8_t dst[UPF_PKT_MAC_SIZE],
                  const uint8_t src[UPF_PKT_MAC_SIZE], uint16_t ether_type)
{
    memcpy(frame, dst, UPF_PKT_MAC_SIZE);
    memcpy(frame + UPF_PKT_MAC_SIZE, src, UPF_PKT_MAC_SIZE);
    put16(frame + 12, ether_type);
}

/* Writes a 20-byte IPv4 header with its checksum. */
static void
write_ipv4(uint8_t *ip, uint8_t tos, uint16_t total, uint16_t id,
           uint16_t frag, uint8_t proto, uint32_t src, uint32_t dst)
{
    ip[0] = 0x45;
    ip[1] = tos;
    put16(ip + 2, total);
    put16(ip + 4, id);
    put16(ip + 6, frag);
    ip[8] = IP_DEFAULT_TTL;
    ip[9] = proto;
    put16(ip + 10, 0);
    put32(ip + 12, src);
    put32(ip + 16, dst);
    store_checksum(ip + 10, upf_pkt_checksum(ip, UPF_PKT_IPV4_SIZE));
}

static void
write_udp(uint8_t *udp, uint16_t src_port, uint16_t dst_port, uint16_t size)
{
    put16(udp, src_port);
    put16(udp + 2, dst_port);
    put16(udp + 4, size);
    put16(udp + 6, 0);
}

void
upf_pkt_encap_init(struct upf_pkt_encap *encap,
                   const struct upf_pkt_tunnel *t, uint8_t type)
{
    uint8_t *h = encap->header;
    uint8_t *g = h + UPF_PKT_IPV4_SIZE + UPF_PKT_UDP_SIZE;
    bool psc = t->has_qfi && type == UPF_PKT_GTPU_GPDU;

    memset(encap, 0, sizeof *encap);
    h[0] = 0x45;
    h[1] = t->tos;
    h[8] = IP_DEFAULT_TTL;
    h[9] = UPF_PKT_IPPROTO_UDP;
    put32(h + 12, t->src_ipv4);
    put32(h + 16, t->dst_ipv4);
    put16(h + UPF_PKT_IPV4_SIZE, UPF_PKT_GTPU_PORT);
    put16(h + UPF_PKT_IPV4_SIZE + 2, UPF_PKT_GTPU_PORT);
    g[0] = GTPU_FLAG_VERSION_1 | GTPU_FLAG_PT | (psc ? GTPU_FLAG_E : 0);
    g[1] = type;
    put32(g + 4, t->teid);
    encap->size = UPF_PKT_IPV4_SIZE + UPF_PKT_UDP_SIZE + UPF_PKT_GTPU_SIZE;
    if (psc) {
        g[11] = UPF_PKT_EXT_PDU_SESSION_CONTAINER;
        g[12] = 1;              /* length in 4-octet units */
        g[13] = 0;              /* PDU type 0: DL PDU SESSION INFORMATION */
        g[14] = t->qfi & 0x3f;
        g[15] = 0;              /* no next extension header */
        encap->size += UPF_PKT_GTPU_OPT_SIZE + UPF_PKT_PSC_DL_SIZE;
        encap->gtpu_length_base =
            UPF_PKT_GTPU_OPT_SIZE + UPF_PKT_PSC_DL_SIZE;
    }
    encap->ip_sum = csum_fold(csum_partial(h, UPF_PKT_IPV4_SIZE, 0));
}

void
upf_pkt_encap_write(uint8_t *out, const struct upf_pkt_encap *encap,
                    uint16_t payload_size, uint16_t ip_id)
{
    uint16_t total = (uint16_t) (encap->size + payload_size);
    uint64_t sum;

    memcpy(out, encap->header, encap->size);
    put16(out + 2, total);
    put16(out + 4, ip_id);
    sum = encap->ip_sum + load16(out + 2) + load16(out + 4);
    store_checksum(out + 10, (uint16_t) ~csum_fold(sum));
    put16(out + UPF_PKT_IPV4_SIZE + 4,
          (uint16_t) (total - UPF_PKT_IPV4_SIZE));
    put16(out + UPF_PKT_IPV4_SIZE + UPF_PKT_UDP_SIZE + 2,
          (uint16_t) (encap->gtpu_length_base + payload_size));
}

void
upf_pkt_arp_reply(uint8_t *frame, const struct upf_pkt_meta *meta,
                  const uint8_t mac[UPF_PKT_MAC_SIZE])
{
    uint8_t *arp = frame + meta->l3_offset;
    uint8_t sender_mac[UPF_PKT_MAC_SIZE];

    memcpy(sender_mac, arp + 8, UPF_PKT_MAC_SIZE);
    upf_pkt_write_eth(frame, sender_mac, mac, UPF_PKT_ETHER_ARP);
    put16(arp + 6, 2);
    memcpy(arp + 8, mac, UPF_PKT_MAC_SIZE);
    put32(arp + 14, meta->dst_ipv4);
    memcpy(arp + 18, sender_mac, UPF_PKT_MAC_SIZE);
    put32(arp + 24, meta->src_ipv4);
}

int
upf_pkt_arp_request(uint8_t *buf, size_t cap,
                    const uint8_t mac[UPF_PKT_MAC_SIZE], uint32_t src_ipv4,
                    uint32_t target_ipv4, size_t *size)
{
    uint8_t *arp = buf + UPF_PKT_ETH_SIZE;

    if (cap < UPF_PKT_MIN_FRAME_SIZE) {
        return -ENOSPC;
    }
    memset(buf, 0, UPF_PKT_MIN_FRAME_SIZE);
    upf_pkt_write_eth(buf, broadcast_mac, mac, UPF_PKT_ETHER_ARP);
    put16(arp, 1);
    put16(arp + 2, UPF_PKT_ETHER_IPV4);
    arp[4] = UPF_PKT_MAC_SIZE;
    arp[5] = 4;
    put16(arp + 6, 1);
    memcpy(arp + 8, mac, UPF_PKT_MAC_SIZE);
    put32(arp + 14, src_ipv4);
    put32(arp + 24, target_ipv4);
    *size = UPF_PKT_MIN_FRAME_SIZE;
    return 0;
}

void
upf_pkt_icmp_echo_reply(uint8_t *frame, const struct upf_pkt_meta *meta,
                        const uint8_t mac[UPF_PKT_MAC_SIZE])
{
    uint8_t *ip = frame + meta->l3_offset;
    uint8_t *icmp = frame + meta->l4_offset;
    size_t ihl = (size_t) (meta->l4_offset - meta->l3_offset);
    uint8_t src_mac[UPF_PKT_MAC_SIZE];
    uint16_t old_word, check;

    memcpy(src_mac, frame + UPF_PKT_MAC_SIZE, UPF_PKT_MAC_SIZE);
    upf_pkt_write_eth(frame, src_mac, mac, UPF_PKT_ETHER_IPV4);
    put32(ip + 12, meta->dst_ipv4);
    put32(ip + 16, meta->src_ipv4);
    ip[8] = IP_DEFAULT_TTL;
    put16(ip + 10, 0);
    store_checksum(ip + 10, upf_pkt_checksum(ip, ihl));
    old_word = load16(icmp);
    icmp[0] = ICMP_ECHO_REPLY;
    memcpy(&check, icmp + 2, sizeof check);
    store_checksum(icmp + 2, csum_replace16(check, old_word, load16(icmp)));
}

int
upf_pkt_gtpu_echo_response(uint8_t *frame, size_t cap,
                           const struct upf_pkt_meta *meta,
                           const uint8_t mac[UPF_PKT_MAC_SIZE], size_t *size)
{
    uint8_t peer_mac[UPF_PKT_MAC_SIZE];
    uint8_t *ip = frame + UPF_PKT_ETH_SIZE;
    uint8_t *udp = ip + UPF_PKT_IPV4_SIZE;
    uint8_t *g = udp + UPF_PKT_UDP_SIZE;
    uint16_t gtpu_size = UPF_PKT_GTPU_SIZE + UPF_PKT_GTPU_OPT_SIZE + 2;

    if (cap < UPF_PKT_ECHO_RESPONSE_SIZE) {
        return -ENOSPC;
    }
    memcpy(peer_mac, frame + UPF_PKT_MAC_SIZE, UPF_PKT_MAC_SIZE);
    upf_pkt_write_eth(frame, peer_mac, mac, UPF_PKT_ETHER_IPV4);
    write_ipv4(ip, 0, (uint16_t) (UPF_PKT_IPV4_SIZE + UPF_PKT_UDP_SIZE
                                  + gtpu_size),
               0, IP_FLAG_DF, UPF_PKT_IPPROTO_UDP, meta->dst_ipv4,
               meta->src_ipv4);
    write_udp(udp, UPF_PKT_GTPU_PORT, meta->src_port,
              (uint16_t) (UPF_PKT_UDP_SIZE + gtpu_size));
    g[0] = GTPU_FLAG_VERSION_1 | GTPU_FLAG_PT | GTPU_FLAG_S;
    g[1] = UPF_PKT_GTPU_ECHO_RESPONSE;
    put16(g + 2, (uint16_t) (gtpu_size - UPF_PKT_GTPU_SIZE));
    put32(g + 4, 0);
    put16(g + 8, meta->gtpu.has_seq ? meta->gtpu.seq : 0);
    g[10] = 0;
    g[11] = 0;
    g[12] = GTPU_IE_RECOVERY;
    g[13] = 0;
    *size = UPF_PKT_ECHO_RESPONSE_SIZE;
    return 0;
}

int
upf_pkt_gtpu_error_indication(uint8_t *frame, size_t cap,
                              const struct upf_pkt_meta *meta,
                              const uint8_t mac[UPF_PKT_MAC_SIZE],
                              size_t *size)
{
    uint8_t peer_mac[UPF_PKT_MAC_SIZE];
    uint8_t *ip = frame + UPF_PKT_ETH_SIZE;
    uint8_t *udp = ip + UPF_PKT_IPV4_SIZE;
    uint8_t *g = udp + UPF_PKT_UDP_SIZE;
    uint16_t gtpu_size = (uint16_t) (UPF_PKT_ERROR_INDICATION_SIZE
                                     - UPF_PKT_ETH_SIZE - UPF_PKT_IPV4_SIZE
                                     - UPF_PKT_UDP_SIZE);
    uint32_t teid = meta->gtpu.teid;
    uint16_t peer_port = meta->src_port;

    if (cap < UPF_PKT_ERROR_INDICATION_SIZE) {
        return -ENOSPC;
    }
    memcpy(peer_mac, frame + UPF_PKT_MAC_SIZE, UPF_PKT_MAC_SIZE);
    upf_pkt_write_eth(frame, peer_mac, mac, UPF_PKT_ETHER_IPV4);
    write_ipv4(ip, 0, (uint16_t) (UPF_PKT_IPV4_SIZE + UPF_PKT_UDP_SIZE
                                  + gtpu_size),
               0, IP_FLAG_DF, UPF_PKT_IPPROTO_UDP, meta->dst_ipv4,
               meta->src_ipv4);
    write_udp(udp, UPF_PKT_GTPU_PORT, UPF_PKT_GTPU_PORT,
              (uint16_t) (UPF_PKT_UDP_SIZE + gtpu_size));
    g[0] = GTPU_FLAG_VERSION_1 | GTPU_FLAG_PT | GTPU_FLAG_E | GTPU_FLAG_S;
    g[1] = UPF_PKT_GTPU_ERROR_INDICATION;
    put16(g + 2, (uint16_t) (gtpu_size - UPF_PKT_GTPU_SIZE));
    put32(g + 4, 0);
    put16(g + 8, 0);
    g[10] = 0;
    g[11] = UPF_PKT_EXT_UDP_PORT;
    g[12] = 1;
    put16(g + 13, peer_port);
    g[15] = 0;
    g[16] = GTPU_IE_TEID_DATA_I;
    put32(g + 17, teid);
    g[21] = GTPU_IE_PEER_ADDRESS;
    put16(g + 22, 4);
    put32(g + 24, meta->dst_ipv4);
    *size = UPF_PKT_ERROR_INDICATION_SIZE;
    return 0;
}
