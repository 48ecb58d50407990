/* upf_pkt: the packets of the user plane, as pure functions on bytes.
 *
 * Validation and parsing of what arrives on the access (N3/S1-U) and core
 * (N6/SGi) sides -- Ethernet, ARP, IPv4, ICMP echo, UDP, GTP-U (TS 29.281)
 * with its extension header chain and the PDU Session Container (TS 38.415)
 * -- and the building of what the UPF sends: G-PDU outer headers from a
 * precomputed template, ARP requests and replies, ICMP echo replies, GTP-U
 * echo responses, error indications and end markers.
 *
 * No DPDK type appears here: the workers (upf_worker.c) call these on mbuf
 * data, the unit tests and the fuzz target (fuzz_upf_packet) on plain
 * arrays. Every function reads only within the size it is given. Integers
 * in the structs are in host byte order; the wire is big-endian. All
 * functions are reentrant and keep no state. */
#ifndef VIGIL_UPF_PKT_H
#define VIGIL_UPF_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UPF_PKT_ETH_SIZE 14
#define UPF_PKT_ARP_SIZE 28
#define UPF_PKT_IPV4_SIZE 20
#define UPF_PKT_UDP_SIZE 8
#define UPF_PKT_ICMP_SIZE 8
#define UPF_PKT_GTPU_SIZE 8          /* the mandatory part */
#define UPF_PKT_GTPU_OPT_SIZE 4      /* sequence, N-PDU, next extension */
#define UPF_PKT_PSC_DL_SIZE 4        /* DL PDU Session Container, no options */
#define UPF_PKT_MIN_FRAME_SIZE 60    /* Ethernet minimum, without FCS */
#define UPF_PKT_MAC_SIZE 6

#define UPF_PKT_ETHER_IPV4 0x0800
#define UPF_PKT_ETHER_ARP 0x0806
#define UPF_PKT_IPPROTO_ICMP 1
#define UPF_PKT_IPPROTO_UDP 17
#define UPF_PKT_GTPU_PORT 2152

/* An extension header chain longer than this is dropped (a bound on the
 * work one packet can cause). */
#define UPF_PKT_MAX_EXT_HEADERS 8

/* GTP-U message types (TS 29.281 6.1). */
#define UPF_PKT_GTPU_ECHO_REQUEST 1
#define UPF_PKT_GTPU_ECHO_RESPONSE 2
#define UPF_PKT_GTPU_ERROR_INDICATION 26
#define UPF_PKT_GTPU_SUPPORTED_EXT_NOTIFICATION 31
#define UPF_PKT_GTPU_END_MARKER 254
#define UPF_PKT_GTPU_GPDU 255

/* GTP-U extension header types (TS 29.281 5.2.1). */
#define UPF_PKT_EXT_UDP_PORT 0x40
#define UPF_PKT_EXT_PDU_SESSION_CONTAINER 0x85

/* The outer headers of a G-PDU the UPF sends: IPv4 + UDP + GTP-U with
 * its optional fields and a downlink PDU Session Container. */
#define UPF_PKT_ENCAP_MAX_SIZE                                          \
    (UPF_PKT_IPV4_SIZE + UPF_PKT_UDP_SIZE + UPF_PKT_GTPU_SIZE            \
     + UPF_PKT_GTPU_OPT_SIZE + UPF_PKT_PSC_DL_SIZE)

/* Sizes of the frames the builders write. */
#define UPF_PKT_ECHO_RESPONSE_SIZE                                      \
    (UPF_PKT_ETH_SIZE + UPF_PKT_IPV4_SIZE + UPF_PKT_UDP_SIZE            \
     + UPF_PKT_GTPU_SIZE + UPF_PKT_GTPU_OPT_SIZE + 2)
#define UPF_PKT_ERROR_INDICATION_SIZE                                   \
    (UPF_PKT_ETH_SIZE + UPF_PKT_IPV4_SIZE + UPF_PKT_UDP_SIZE            \
     + UPF_PKT_GTPU_SIZE + UPF_PKT_GTPU_OPT_SIZE + 4 + 5 + 7)

/* The outcome of parsing: UPF_PKT_OK, or why the packet is dropped. Each
 * reason is counted on its own (one counter per reason and port), which is
 * why these are not errno values. */
enum upf_pkt_result {
    UPF_PKT_OK,
    UPF_PKT_TRUNCATED,          /* shorter than its headers say */
    UPF_PKT_ETHERTYPE,          /* neither IPv4 nor ARP */
    UPF_PKT_BAD_ARP,            /* not Ethernet/IPv4 ARP, or bad opcode */
    UPF_PKT_BAD_IP_HEADER,      /* version or header length */
    UPF_PKT_BAD_IP_LENGTH,      /* total length */
    UPF_PKT_BAD_IP_CHECKSUM,
    UPF_PKT_IP_FRAGMENT,        /* a fragment addressed to the UPF */
    UPF_PKT_BAD_UDP,            /* UDP length or checksum */
    UPF_PKT_BAD_ICMP,           /* ICMP checksum */
    UPF_PKT_BAD_GTPU_HEADER,    /* version, protocol type, length */
    UPF_PKT_BAD_GTPU_EXT,       /* malformed or overlong extension chain */
    UPF_PKT_GTPU_EXT_UNKNOWN,   /* unknown, comprehension required */
    UPF_PKT_BAD_INNER,          /* the T-PDU is not a valid IP packet */
    UPF_PKT_INNER_NOT_IPV4,     /* an IPv6 T-PDU (sessions are IPv4) */
    UPF_PKT_RESULT_COUNT
};

/* What a valid frame is. */
enum upf_pkt_kind {
    UPF_PKT_KIND_ARP,
    UPF_PKT_KIND_IPV4,          /* IPv4; L4 not parsed or not handled */
    UPF_PKT_KIND_ICMP_ECHO,     /* ICMP echo request */
    UPF_PKT_KIND_UDP,           /* UDP to a port other than GTP-U's */
    UPF_PKT_KIND_GTPU,          /* GTP-U: see struct upf_pkt_meta.gtpu */
    UPF_PKT_KIND_COUNT
};

/* Parse flags. */
#define UPF_PKT_PARSE_L4 0x1        /* parse ICMP, UDP and GTP-U too */
#define UPF_PKT_IP_CKSUM_GOOD 0x2   /* the NIC verified the IPv4 checksum */
#define UPF_PKT_L4_CKSUM_GOOD 0x4   /* the NIC verified the L4 checksum */

struct upf_pkt_gtpu {
    uint8_t flags;              /* first octet: version, PT, E, S, PN */
    uint8_t type;               /* message type */
    uint16_t offset;            /* frame offset of the GTP-U header */
    uint16_t payload_offset;    /* frame offset of the T-PDU or the IEs */
    uint16_t payload_size;      /* bytes of T-PDU or IEs */
    uint32_t teid;
    uint16_t seq;               /* when has_seq */
    uint8_t qfi;                /* when has_qfi */
    uint8_t pdu_type;           /* PDU Session Container: 0 DL, 1 UL */
    uint8_t ext_count;          /* extension headers in the chain */
    bool has_seq;
    bool has_qfi;
};

struct upf_pkt_meta {
    enum upf_pkt_kind kind;
    uint16_t ether_type;
    uint16_t l3_offset;         /* ARP or IPv4 header */
    uint16_t l3_size;           /* IPv4 total length; ARP: 28 */
    uint16_t l4_offset;         /* after the IPv4 header and options */
    uint8_t ip_proto;
    uint8_t ip_ttl;
    uint8_t ip_tos;
    bool ip_fragment;           /* MF set or non-zero fragment offset */
    uint32_t src_ipv4;          /* ARP: sender protocol address */
    uint32_t dst_ipv4;          /* ARP: target protocol address */
    uint16_t arp_op;            /* 1 request, 2 reply */
    uint16_t src_port;          /* UDP */
    uint16_t dst_port;
    struct upf_pkt_gtpu gtpu;   /* kind == UPF_PKT_KIND_GTPU */
};

/* The IP packet a G-PDU carries. */
struct upf_pkt_inner {
    uint32_t src_ipv4;
    uint32_t dst_ipv4;
    uint16_t size;              /* IPv4 total length (<= the T-PDU) */
};

/* The outer tunnel of a G-PDU the UPF sends (a FAR's Outer Header
 * Creation plus the QER's QFI). */
struct upf_pkt_tunnel {
    uint32_t src_ipv4;          /* the UPF's N3 address */
    uint32_t dst_ipv4;          /* the peer (gNB, eNB, SGW-U) */
    uint32_t teid;              /* the peer's TEID */
    uint8_t qfi;                /* when has_qfi: DL PDU Session Container */
    bool has_qfi;
    uint8_t tos;                /* outer DSCP and ECN */
};

/* Outer headers precomputed for one tunnel; per packet only the lengths,
 * the IP identification and the IP checksum are written. */
struct upf_pkt_encap {
    uint8_t header[UPF_PKT_ENCAP_MAX_SIZE];
    uint16_t size;              /* bytes of 'header' used */
    uint16_t gtpu_length_base;  /* GTP-U length minus the payload size */
    uint16_t ip_sum;            /* folded ones' complement sum of the
                                 * template's IPv4 header */
};

/* A short lowercase name of 'result' ("truncated", "bad_ip_checksum"), for
 * metric labels and logs; "unknown" outside the enum. */
const char *upf_pkt_result_name(enum upf_pkt_result result);

/* Parses the Ethernet frame 'frame' of 'size' bytes: Ethernet II, then ARP
 * or IPv4 (header length, total length, checksum unless 'flags' has
 * UPF_PKT_IP_CKSUM_GOOD). With UPF_PKT_PARSE_L4, and unless the packet is
 * a fragment, also ICMP echo requests (checksum), UDP (length, checksum
 * when non-zero) and GTP-U to port 2152 (see upf_pkt_parse_gtpu()); a
 * fragment then fails with UPF_PKT_IP_FRAGMENT. Frames may carry padding
 * after the IPv4 packet. Returns UPF_PKT_OK with '*meta' filled, or the
 * reason to drop the frame ('*meta' untouched). */
enum upf_pkt_result upf_pkt_parse(const uint8_t *frame, size_t size,
                                  unsigned int flags,
                                  struct upf_pkt_meta *meta);

/* Parses the GTP-U message at 'frame' + 'offset', 'size' bytes long (the
 * UDP payload): version 1, protocol type GTP, a length that fits, and the
 * extension header chain (each of non-zero length, at most
 * UPF_PKT_MAX_EXT_HEADERS, the PDU Session Container decoded; an unknown
 * type whose comprehension is required fails). Offsets in '*gtpu' count
 * from 'frame'. Returns UPF_PKT_OK with '*gtpu' filled, or the reason. */
enum upf_pkt_result upf_pkt_parse_gtpu(const uint8_t *frame, size_t offset,
                                       size_t size,
                                       struct upf_pkt_gtpu *gtpu);

/* Reads the IEs of a GTP-U Error Indication ('ies', 'size' bytes: the
 * message payload after its header and extension headers): the TEID Data
 * I and the IPv4 GTP-U Peer Address, which are mandatory; Recovery and
 * Private Extension IEs are skipped. 0 with '*teid' and '*peer_ipv4' set,
 * or -EBADMSG. */
int upf_pkt_parse_error_indication(const uint8_t *ies, size_t size,
                                   uint32_t *teid, uint32_t *peer_ipv4);

/* Validates the T-PDU 'tpdu' of 'size' bytes as an IPv4 packet (version,
 * header length, checksum, total length <= size). Returns UPF_PKT_OK with
 * '*inner' filled, UPF_PKT_INNER_NOT_IPV4 for a well-formed IPv6 header,
 * or UPF_PKT_BAD_INNER. */
enum upf_pkt_result upf_pkt_parse_inner(const uint8_t *tpdu, size_t size,
                                        struct upf_pkt_inner *inner);

/* The Internet checksum (RFC 1071) of 'size' bytes at 'data', complemented
 * and in the byte order in which it is stored into a header. */
uint16_t upf_pkt_checksum(const void *data, size_t size);

/* Writes an Ethernet II header at 'frame'. */
void upf_pkt_write_eth(uint8_t *frame, const uint8_t dst[UPF_PKT_MAC_SIZE],
                       const uint8_t src[UPF_PKT_MAC_SIZE],
                       uint16_t ether_type);

/* Prepares the outer headers of tunnel 't' for GTP-U messages of 'type'
 * (UPF_PKT_GTPU_GPDU or UPF_PKT_GTPU_END_MARKER). The PDU Session
 * Container is added when t->has_qfi (qfi < 64). */
void upf_pkt_encap_init(struct upf_pkt_encap *encap,
                        const struct upf_pkt_tunnel *t, uint8_t type);

/* Writes encap->size bytes of outer headers at 'out' for a payload of
 * 'payload_size' bytes that follows them, with IP identification 'ip_id'.
 * 'payload_size' + encap->size must not exceed 65535. */
void upf_pkt_encap_write(uint8_t *out, const struct upf_pkt_encap *encap,
                         uint16_t payload_size, uint16_t ip_id);

/* Turns the ARP request 'frame' (parsed into 'meta') in place into the
 * reply that 'mac' owns meta->dst_ipv4. The size does not change. */
void upf_pkt_arp_reply(uint8_t *frame, const struct upf_pkt_meta *meta,
                       const uint8_t mac[UPF_PKT_MAC_SIZE]);

/* Writes into 'buf' (of 'cap' bytes) a broadcast ARP request from 'mac' /
 * 'src_ipv4' for 'target_ipv4' (src == target: a gratuitous ARP), padded
 * to UPF_PKT_MIN_FRAME_SIZE. 0 with '*size' set, or -ENOSPC. */
int upf_pkt_arp_request(uint8_t *buf, size_t cap,
                        const uint8_t mac[UPF_PKT_MAC_SIZE],
                        uint32_t src_ipv4, uint32_t target_ipv4,
                        size_t *size);

/* Turns the ICMP echo request 'frame' (parsed into 'meta') in place into
 * its echo reply from 'mac'. The size does not change. */
void upf_pkt_icmp_echo_reply(uint8_t *frame, const struct upf_pkt_meta *meta,
                             const uint8_t mac[UPF_PKT_MAC_SIZE]);

/* Overwrites the GTP-U echo request 'frame' (parsed into 'meta'; 'cap'
 * bytes writable from 'frame') with the echo response from 'mac': same
 * sequence number, a Recovery IE with restart counter 0 (TS 29.281 8.2).
 * 0 with '*size' = UPF_PKT_ECHO_RESPONSE_SIZE, or -ENOSPC. */
int upf_pkt_gtpu_echo_response(uint8_t *frame, size_t cap,
                               const struct upf_pkt_meta *meta,
                               const uint8_t mac[UPF_PKT_MAC_SIZE],
                               size_t *size);

/* Overwrites the G-PDU 'frame' (parsed into 'meta'; 'cap' bytes writable)
 * with the Error Indication its unknown TEID calls for (TS 29.281 7.3.1):
 * to the sender's address and port 2152, TEID 0, with the TEID Data I and
 * the GTP-U Peer Address (meta->dst_ipv4) IEs and a UDP Port extension
 * header holding the G-PDU's source port. 0 with '*size' =
 * UPF_PKT_ERROR_INDICATION_SIZE, or -ENOSPC. */
int upf_pkt_gtpu_error_indication(uint8_t *frame, size_t cap,
                                  const struct upf_pkt_meta *meta,
                                  const uint8_t mac[UPF_PKT_MAC_SIZE],
                                  size_t *size);

#endif
