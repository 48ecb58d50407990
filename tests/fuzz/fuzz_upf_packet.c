/* libFuzzer target for the user plane's packet parser (vnf-dataplane/
 * upf_pkt), which reads every frame that arrives on the access and core
 * ports. The first input byte picks the parse flags; the rest is the
 * frame. Besides not crashing, an accepted frame must satisfy the parser's
 * promises: offsets and sizes inside the frame, and whatever reply the
 * worker would build from it (ARP reply, ICMP echo reply, GTP-U echo
 * response, error indication, re-encapsulated G-PDU) parses back as what
 * it claims to be. The IEs of an error indication are read too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "upf_pkt.h"

#define MAX_FRAME 2048
#define ROOM 128

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
expect(int condition)
{
    if (!condition) {
        abort();
    }
}

static void
check_reply(uint8_t *work, size_t size, const struct upf_pkt_meta *m)
{
    static const uint8_t mac[UPF_PKT_MAC_SIZE] = { 2, 0, 0, 0, 0, 1 };
    struct upf_pkt_meta r;
    size_t out = 0;

    switch (m->kind) {
    case UPF_PKT_KIND_ARP:
        upf_pkt_arp_reply(work, m, mac);
        expect(upf_pkt_parse(work, size, 0, &r) == UPF_PKT_OK);
        expect(r.kind == UPF_PKT_KIND_ARP && r.arp_op == 2);
        expect(r.src_ipv4 == m->dst_ipv4 && r.dst_ipv4 == m->src_ipv4);
        break;
    case UPF_PKT_KIND_ICMP_ECHO:
        upf_pkt_icmp_echo_reply(work, m, mac);
        expect(upf_pkt_parse(work, size, UPF_PKT_PARSE_L4, &r) == UPF_PKT_OK);
        expect(r.kind == UPF_PKT_KIND_IPV4);
        expect(r.src_ipv4 == m->dst_ipv4 && r.dst_ipv4 == m->src_ipv4);
        break;
    case UPF_PKT_KIND_GTPU:
        if (m->gtpu.type == UPF_PKT_GTPU_ECHO_REQUEST) {
            expect(upf_pkt_gtpu_echo_response(work, size + ROOM, m, mac,
                                              &out) == 0);
            /* It goes to the requester's source port, maybe not 2152:
             * read the UDP payload as GTP-U directly. */
            expect(upf_pkt_parse(work, out, UPF_PKT_PARSE_L4, &r)
                   == UPF_PKT_OK);
            expect(r.kind == UPF_PKT_KIND_GTPU || r.kind == UPF_PKT_KIND_UDP);
            expect(upf_pkt_parse_gtpu(work, r.l4_offset + UPF_PKT_UDP_SIZE,
                                      r.l3_size - UPF_PKT_IPV4_SIZE
                                      - UPF_PKT_UDP_SIZE, &r.gtpu)
                   == UPF_PKT_OK);
            expect(r.gtpu.type == UPF_PKT_GTPU_ECHO_RESPONSE);
            expect(r.dst_port == m->src_port);
        } else if (m->gtpu.type == UPF_PKT_GTPU_GPDU) {
            expect(upf_pkt_gtpu_error_indication(work, size + ROOM, m, mac,
                                                 &out) == 0);
            expect(upf_pkt_parse(work, out, UPF_PKT_PARSE_L4, &r)
                   == UPF_PKT_OK);
            expect(r.kind == UPF_PKT_KIND_GTPU
                   && r.gtpu.type == UPF_PKT_GTPU_ERROR_INDICATION);
        }
        break;
    default:
        break;
    }
}

/* Decapsulates the G-PDU's T-PDU and encapsulates it again: the result
 * must parse with the same TEID, QFI and payload. */
static void
check_reencap(const uint8_t *frame, const struct upf_pkt_meta *m)
{
    static const uint8_t mac[UPF_PKT_MAC_SIZE] = { 2, 0, 0, 0, 0, 1 };
    struct upf_pkt_tunnel t = {
        .src_ipv4 = m->dst_ipv4, .dst_ipv4 = m->src_ipv4,
        .teid = m->gtpu.teid, .qfi = m->gtpu.qfi,
        .has_qfi = m->gtpu.has_qfi,
    };
    struct upf_pkt_inner inner;
    struct upf_pkt_encap e;
    struct upf_pkt_meta r;
    uint8_t *out;
    size_t out_size;

    if (upf_pkt_parse_inner(frame + m->gtpu.payload_offset,
                            m->gtpu.payload_size, &inner) != UPF_PKT_OK) {
        return;
    }
    expect(inner.size <= m->gtpu.payload_size);
    upf_pkt_encap_init(&e, &t, UPF_PKT_GTPU_GPDU);
    out_size = UPF_PKT_ETH_SIZE + e.size + inner.size;
    out = malloc(out_size);
    expect(out != NULL);
    upf_pkt_write_eth(out, mac, mac, UPF_PKT_ETHER_IPV4);
    upf_pkt_encap_write(out + UPF_PKT_ETH_SIZE, &e, inner.size, 1);
    memcpy(out + UPF_PKT_ETH_SIZE + e.size, frame + m->gtpu.payload_offset,
           inner.size);
    expect(upf_pkt_parse(out, out_size, UPF_PKT_PARSE_L4, &r) == UPF_PKT_OK);
    expect(r.kind == UPF_PKT_KIND_GTPU && r.gtpu.teid == t.teid);
    expect(r.gtpu.has_qfi == t.has_qfi && r.gtpu.qfi == t.qfi);
    expect(r.gtpu.payload_size == inner.size);
    expect(!memcmp(out + r.gtpu.payload_offset,
                   frame + m->gtpu.payload_offset, inner.size));
    free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct upf_pkt_meta m;
    unsigned int flags;
    uint8_t *frame, *work;

    if (size < 1 || size - 1 > MAX_FRAME) {
        return 0;
    }
    flags = data[0] & (UPF_PKT_PARSE_L4 | UPF_PKT_IP_CKSUM_GOOD
                       | UPF_PKT_L4_CKSUM_GOOD);
    data++;
    size--;
    /* An exact-size copy: ASan catches any read past the frame. */
    frame = malloc(size ? size : 1);
    expect(frame != NULL);
    memcpy(frame, data, size);
    if (upf_pkt_parse(frame, size, flags, &m) != UPF_PKT_OK) {
        free(frame);
        return 0;
    }
    expect(m.kind < UPF_PKT_KIND_COUNT);
    expect((size_t) m.l3_offset + m.l3_size <= size);
    if (m.kind == UPF_PKT_KIND_GTPU) {
        expect((size_t) m.gtpu.payload_offset + m.gtpu.payload_size
               <= (size_t) m.l3_offset + m.l3_size);
        expect(m.gtpu.ext_count <= UPF_PKT_MAX_EXT_HEADERS);
        expect(!m.gtpu.has_qfi || m.gtpu.qfi < 64);
        if (m.gtpu.type == UPF_PKT_GTPU_GPDU) {
            check_reencap(frame, &m);
        } else if (m.gtpu.type == UPF_PKT_GTPU_ERROR_INDICATION) {
            uint32_t teid, peer;

            upf_pkt_parse_error_indication(frame + m.gtpu.payload_offset,
                                           m.gtpu.payload_size, &teid, &peer);
        }
    }
    /* Replies are built in place, with room to grow as in an mbuf. */
    work = malloc(size + ROOM);
    expect(work != NULL);
    memcpy(work, frame, size);
    check_reply(work, size, &m);
    free(work);
    free(frame);
    return 0;
}
