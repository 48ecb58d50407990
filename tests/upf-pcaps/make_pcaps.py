#!/usr/bin/env python3
"""Generates the pcap regression cases of vigil-upf (tests/upf-pcaps/).

Each case is a directory with the frames that enter the UPF on each side
(access_in.pcap, core_in.pcap), the sessions the SMF sets up before the
data plane is activated (case.json), and the frames the UPF must send
(access_out.pcap, core_out.pcap), in order, byte for byte, plus counters
it must show. tests/integration/test_upf_pcap.py replays them through
net_pcap (rx_pcap/tx_pcap).

The expected frames are built here with scapy from the protocol
definitions (TS 29.281 for GTP-U, RFC 826 / 792 for ARP and ICMP), not
from vigil-upf's output: they are the oracle. The UPF's MACs are those of
DPDK's net_pcap ports (02:70:63:61:70:00 access, :01 core); its
neighbours are static (case.json), so the output is deterministic. The
outer IPv4 identification of encapsulated packets counts from 0 per
worker (one worker here).

Run after changing a case, and commit the result:
    /usr/bin/python3 tests/upf-pcaps/make_pcaps.py
"""

import json
import logging
import os
import struct

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

from scapy.all import (ARP, ICMP, IP, IPv6, UDP, Ether, IPOption_RR,  # noqa
                       Raw, wrpcap)
from scapy.contrib.gtp import (GTP_U_Header, GTPEchoRequest,  # noqa: E402
                               GTPEchoResponse, GTPPDUSessionContainer,
                               IE_Recovery)

HERE = os.path.dirname(os.path.abspath(__file__))

UPF_ACCESS_MAC = "02:70:63:61:70:00"
UPF_CORE_MAC = "02:70:63:61:70:01"
GNB_MAC = "02:00:00:00:01:02"
PDN_MAC = "02:00:00:00:02:02"
N3 = "10.1.0.1"
N6 = "10.2.0.1"
GNB = "10.1.0.2"
PDN = "10.2.0.2"
UE1 = "10.45.0.2"
UE2 = "10.45.0.3"
UL_TEID = 0x1001
DL_TEID1 = 0x2001
DL_TEID2 = 0x2002
QFI = 9

NEIGHBOURS = {
    "access": "%s=%s" % (GNB, GNB_MAC),
    "core": "%s=%s" % (PDN, PDN_MAC),
}
SESSION1 = {"cp_seid": 1, "ue": UE1, "ul_teid": UL_TEID,
            "gnb_teid": DL_TEID1, "qfi": QFI}
SESSION2 = {"cp_seid": 2, "ue": UE2, "ul_teid": UL_TEID + 1,
            "gnb_teid": DL_TEID2, "qfi": None}


def pad(frame, size=60):
    data = bytes(frame)
    return data + b"\0" * max(0, size - len(data))


def to_upf_access(l3):
    return Ether(src=GNB_MAC, dst=UPF_ACCESS_MAC) / l3


def to_upf_core(l3):
    return Ether(src=PDN_MAC, dst=UPF_CORE_MAC) / l3


def gtpu(teid, inner, qfi=None, sport=2152, **ip):
    # The message type is given: over a Raw payload scapy would write 0.
    if qfi is None:
        g = GTP_U_Header(teid=teid, gtp_type=255) / inner
    else:
        g = (GTP_U_Header(teid=teid, gtp_type=255, E=1, next_ex=0x85)
             / GTPPDUSessionContainer(type=1, QFI=qfi) / inner)
    return IP(src=GNB, dst=N3, **ip) / UDP(sport=sport, dport=2152) / g


def inner_ul(size, sport=40000):
    return (IP(src=UE1, dst=PDN, id=size) / UDP(sport=sport, dport=40001)
            / Raw(bytes(range(256)) * (size // 256) + bytes(size % 256)))


def decapsulated(inner):
    """What leaves the core port for an uplink T-PDU."""
    return bytes(Ether(src=UPF_CORE_MAC, dst=PDN_MAC) / IP(bytes(inner)))


def encapsulated(inner, teid, qfi, ip_id):
    """What leaves the access port for a downlink packet (TS 29.281, with
    a DL PDU Session Container of TS 38.415 when there is a QFI)."""
    if qfi is None:
        g = GTP_U_Header(teid=teid)
    else:
        g = (GTP_U_Header(teid=teid, E=1, next_ex=0x85)
             / GTPPDUSessionContainer(type=0, QFI=qfi))
    return bytes(Ether(src=UPF_ACCESS_MAC, dst=GNB_MAC)
                 / IP(src=N3, dst=GNB, id=ip_id, flags=0, ttl=64)
                 / UDP(sport=2152, dport=2152, chksum=0)
                 / g / IP(bytes(inner)))


def write_case(name, access_in, core_in, access_out, core_out, sessions,
               counters, note):
    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    for file, frames in (("access_in.pcap", access_in),
                         ("core_in.pcap", core_in),
                         ("access_out.pcap", access_out),
                         ("core_out.pcap", core_out)):
        wrpcap(os.path.join(d, file), [Ether(bytes(f)) for f in frames])
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump({"note": note, "neighbours": NEIGHBOURS,
                   "sessions": sessions, "counters": counters}, f,
                  indent=2, sort_keys=True)
        f.write("\n")


def case_uplink():
    inners = [inner_ul(n) for n in (0, 18, 100, 1400)]
    frames, expect = [], []
    for i, inner in enumerate(inners):
        frames.append(to_upf_access(gtpu(UL_TEID, inner,
                                         qfi=QFI if i % 2 else None)))
        expect.append(decapsulated(inner))
    # No UDP checksum on the outer header.
    inner = inner_ul(50)
    p = to_upf_access(gtpu(UL_TEID, inner))
    p[UDP].chksum = 0
    frames.append(p)
    expect.append(decapsulated(inner))
    # Outer IP options.
    inner = inner_ul(60)
    frames.append(to_upf_access(gtpu(UL_TEID, inner,
                                     options=[IPOption_RR()])))
    expect.append(decapsulated(inner))
    # A T-PDU longer than its IP packet: the excess is not forwarded.
    inner = inner_ul(70)
    frames.append(to_upf_access(gtpu(UL_TEID, Raw(bytes(inner) + b"pad"))))
    expect.append(decapsulated(inner))
    # The second session's TEID, from a different source port.
    inner = IP(src=UE2, dst=PDN) / UDP(sport=1, dport=2) / Raw(b"ue2")
    frames.append(to_upf_access(gtpu(UL_TEID + 1, inner, sport=40000)))
    expect.append(decapsulated(inner))
    write_case("uplink_decap", frames, [], [], expect, [SESSION1, SESSION2],
               {'vigil_upf_forwarded_packets_total{side="access"}': 8},
               "Uplink G-PDUs, with and without PDU Session Container, "
               "decapsulated to the PDN host.")


def case_downlink():
    frames, expect = [], []
    ip_id = 0
    for i, size in enumerate((0, 22, 100, 1400)):
        ue, teid, qfi = ((UE1, DL_TEID1, QFI) if i % 2 == 0
                         else (UE2, DL_TEID2, None))
        inner = (IP(src=PDN, dst=ue, id=100 + i) / UDP(sport=53, dport=4000)
                 / Raw(bytes(size)))
        frames.append(pad(to_upf_core(inner)))
        expect.append(encapsulated(inner, teid, qfi, ip_id))
        ip_id += 1
    # A fragment to a UE is forwarded like any packet.
    inner = (IP(src=PDN, dst=UE1, id=7, flags="MF") / UDP(sport=1, dport=2)
             / Raw(b"f" * 64))
    frames.append(to_upf_core(inner))
    expect.append(encapsulated(inner, DL_TEID1, QFI, ip_id))
    ip_id += 1
    # Not for a UE: dropped (no session).
    frames.append(pad(to_upf_core(IP(src=PDN, dst="10.45.9.9") / UDP())))
    write_case("downlink_encap", [], frames, expect, [],
               [SESSION1, SESSION2],
               {'vigil_upf_forwarded_packets_total{side="core"}': 5,
                'vigil_upf_no_session_total{side="core"}': 1},
               "Downlink IP encapsulated with the FAR's TEID and the QER's "
               "QFI; Ethernet padding not carried into the tunnel.")


def error_indication(teid, sport):
    """TS 29.281 7.3.1: to the sender, TEID 0, sequence number, UDP Port
    extension header, TEID Data I and GTP-U Peer Address IEs."""
    ies = (struct.pack("!BI", 16, teid)
           + struct.pack("!BH4s", 133, 4, bytes(map(int, N3.split(".")))))
    ext = struct.pack("!BHB", 1, sport, 0)
    opt = struct.pack("!HBB", 0, 0, 0x40)
    body = opt + ext + ies
    g = struct.pack("!BBHI", 0x36, 26, len(body), 0) + body
    return bytes(Ether(src=UPF_ACCESS_MAC, dst=GNB_MAC)
                 / IP(src=N3, dst=GNB, id=0, flags="DF", ttl=64)
                 / UDP(sport=2152, dport=2152, chksum=0) / Raw(g))


def case_local():
    access_in, access_out, core_in, core_out = [], [], [], []
    # ARP for the N3 address: answered; for another address: not.
    access_in.append(pad(Ether(src=GNB_MAC, dst="ff:ff:ff:ff:ff:ff")
                         / ARP(op=1, hwsrc=GNB_MAC, psrc=GNB, pdst=N3)))
    access_out.append(pad(Ether(src=UPF_ACCESS_MAC, dst=GNB_MAC)
                          / ARP(op=2, hwsrc=UPF_ACCESS_MAC, psrc=N3,
                                hwdst=GNB_MAC, pdst=GNB)))
    access_in.append(pad(Ether(src=GNB_MAC, dst="ff:ff:ff:ff:ff:ff")
                         / ARP(op=1, hwsrc=GNB_MAC, psrc=GNB,
                               pdst="10.1.0.77")))
    # ICMP echo to each side's address.
    req = IP(src=GNB, dst=N3, id=42, flags="DF") / ICMP(id=7, seq=1) / \
        Raw(b"ping N3")
    access_in.append(to_upf_access(req))
    access_out.append(bytes(Ether(src=UPF_ACCESS_MAC, dst=GNB_MAC)
                            / IP(src=N3, dst=GNB, id=42, flags="DF", ttl=64)
                            / ICMP(type=0, id=7, seq=1) / Raw(b"ping N3")))
    req = IP(src=PDN, dst=N6, id=43) / ICMP(id=8, seq=2) / Raw(b"ping N6")
    core_in.append(pad(to_upf_core(req)))
    core_out.append(pad(Ether(src=UPF_CORE_MAC, dst=PDN_MAC)
                        / IP(src=N6, dst=PDN, id=43, ttl=64)
                        / ICMP(type=0, id=8, seq=2) / Raw(b"ping N6")))
    # GTP-U echo, from a source port other than 2152.
    access_in.append(to_upf_access(
        IP(src=GNB, dst=N3) / UDP(sport=33000, dport=2152)
        / GTP_U_Header(gtp_type=1, S=1, seq=0x1234) / GTPEchoRequest()))
    access_out.append(bytes(
        Ether(src=UPF_ACCESS_MAC, dst=GNB_MAC)
        / IP(src=N3, dst=GNB, id=0, flags="DF", ttl=64)
        / UDP(sport=2152, dport=33000, chksum=0)
        / GTP_U_Header(gtp_type=2, S=1, seq=0x1234)
        / GTPEchoResponse(IE_list=[IE_Recovery(restart_counter=0)])))
    # A G-PDU for an unknown TEID: error indication.
    access_in.append(to_upf_access(gtpu(0xdead, inner_ul(10),
                                        sport=33001)))
    access_out.append(error_indication(0xdead, 33001))
    # An end marker: counted, nothing sent.
    access_in.append(pad(to_upf_access(
        IP(src=GNB, dst=N3) / UDP(sport=2152, dport=2152)
        / GTP_U_Header(gtp_type=254, teid=0x5))))
    # Not for us (another MAC): dropped.
    access_in.append(pad(Ether(src=GNB_MAC, dst="02:00:00:00:09:09")
                         / IP(src=GNB, dst=N3) / ICMP()))
    write_case("local", access_in, core_in, access_out, core_out, [],
               {'vigil_upf_arp_replies_total{side="access"}': 1,
                'vigil_upf_icmp_echo_replies_total{side="access"}': 1,
                'vigil_upf_icmp_echo_replies_total{side="core"}': 1,
                'vigil_upf_gtpu_echo_replies_total{side="access"}': 1,
                'vigil_upf_gtpu_error_indications_sent_total'
                '{side="access"}': 1,
                'vigil_upf_gtpu_end_markers_received_total'
                '{side="access"}': 1,
                'vigil_upf_not_local_total{side="access"}': 1,
                'vigil_upf_unhandled_total{side="access"}': 1},
               "What the UPF answers by itself: ARP, ICMP echo, GTP-U echo, "
               "error indication.")


def gtpu_bytes(body, first_ext=None, ext=b"", teid=UL_TEID, version=1):
    flags = (version << 5) | 0x10
    opt = b""
    if first_ext is not None:
        flags |= 0x04
        opt = b"\0\0\0" + bytes([first_ext])
    payload = opt + ext + body
    return struct.pack("!BBHI", flags, 255, len(payload), teid) + payload


def case_malformed():
    good = bytes(inner_ul(20))
    outer = IP(src=GNB, dst=N3) / UDP(sport=2152, dport=2152)
    access = {
        "bad_ip_checksum": to_upf_access(IP(src=GNB, dst=N3, chksum=1)
                                         / UDP(sport=2152, dport=2152)
                                         / Raw(gtpu_bytes(good))),
        "bad_ip_header": Ether(src=GNB_MAC, dst=UPF_ACCESS_MAC, type=0x800)
        / Raw(b"\x65" + bytes(outer / Raw(gtpu_bytes(good)))[1:]),
        "bad_ip_length": Ether(src=GNB_MAC, dst=UPF_ACCESS_MAC)
        / IP(src=GNB, dst=N3, len=10) / UDP(sport=2152, dport=2152),
        "truncated": Raw(bytes(to_upf_access(outer / Raw(
            gtpu_bytes(good))))[:44]),
        "ip_fragment": to_upf_access(IP(src=GNB, dst=N3, flags="MF")
                                     / UDP(sport=2152, dport=2152)
                                     / Raw(gtpu_bytes(good))),
        "bad_udp": to_upf_access(IP(src=GNB, dst=N3)
                                 / UDP(sport=2152, dport=2152, chksum=0x1)
                                 / Raw(gtpu_bytes(good))),
        "bad_gtpu_header": to_upf_access(outer / Raw(
            gtpu_bytes(good, version=2))),
        "bad_gtpu_ext": to_upf_access(outer / Raw(
            gtpu_bytes(good, 0x85, b"\x00\x10\x09\x00"))),
        "gtpu_ext_unknown": to_upf_access(outer / Raw(
            gtpu_bytes(good, 0xc1, b"\x01\x00\x00\x00"))),
        "bad_inner": to_upf_access(outer / Raw(gtpu_bytes(b"\x45" * 30))),
        "inner_not_ipv4": to_upf_access(outer / Raw(gtpu_bytes(bytes(
            IPv6(src="fd00::1", dst="fd00::2") / UDP())))),
        "bad_arp": Raw(bytes(pad(Ether(src=GNB_MAC, dst="ff:ff:ff:ff:ff:ff")
                                 / ARP(op=1, psrc=GNB, pdst=N3)))[:20]
                       + b"\x00\x09" + bytes(46 - 22)),
        "ethertype": Ether(src=GNB_MAC, dst=UPF_ACCESS_MAC, type=0x86dd)
        / Raw(bytes(46)),
    }
    core = {
        "bad_ip_checksum": to_upf_core(IP(src=PDN, dst=UE1, chksum=2)
                                       / UDP()),
        "truncated": Raw(bytes(to_upf_core(IP(src=PDN, dst=UE1)
                                           / UDP() / Raw(bytes(40))))[:30]),
    }
    counters = {}
    for reason in access:
        counters['vigil_upf_malformed_total{side="access",reason="%s"}'
                 % reason] = 1
    for reason in core:
        counters['vigil_upf_malformed_total{side="core",reason="%s"}'
                 % reason] = 1
    counters['vigil_upf_tx_packets_total{side="access"}'] = 0
    counters['vigil_upf_tx_packets_total{side="core"}'] = 0
    write_case("malformed", [pad(f) for f in access.values()],
               [pad(f) for f in core.values()], [], [], [SESSION1],
               counters, "Each malformed frame dropped and counted by "
               "reason; nothing sent.")


def main():
    case_uplink()
    case_downlink()
    case_local()
    case_malformed()


if __name__ == "__main__":
    main()
