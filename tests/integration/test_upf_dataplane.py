#!/usr/bin/env python3
"""Integration: vigil-upf's data path against independent peers.

Builds three network namespaces joined by veth pairs (tests/lib/
upf_harness.py): the RAN (a gNB and an SMF), the UPF (vigil-upf with
net_af_packet on its two veth ends, --no-huge --no-pci), and the PDN (a
host). The kernels of the RAN and PDN namespaces resolve the UPF with ARP
and ping it; scapy plays the SMF (PFCP association and session) and the
gNB (GTP-U); kernel UDP sockets in the PDN are the far end of the user
plane, so the kernel itself checks what the UPF decapsulates.

Checks: ARP and ICMP echo on both sides; uplink G-PDUs (with and without
a PDU Session Container) decapsulated to the PDN host with the UE's
address; downlink IP encapsulated towards the gNB with the FAR's TEID, the
UPF's N3 address and the QER's QFI; per-session, per-port and per-reason
counters; GTP-U echo with the recovery counter; error indications for an
unknown TEID, rate-limited; end markers; spoofed uplink sources. Then
malformed frames of every kind are dropped and counted and the UPF still
answers; tshark decodes the captured GTP-U and PFCP without errors; and
vigil-upf exits 0 on SIGTERM (under ASan: no leak).

Run: /usr/bin/python3 tests/integration/test_upf_dataplane.py --build-dir BUILD
"""

import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))

from vigil_harness import (  # noqa: E402
    HarnessError, Suite, check, parse_build_dir, run_main)
from upf_harness import (  # noqa: E402
    PDN_IP, RAN_IP, UPF_N3_IP, UPF_N6_IP, Gnb, Smf, UpfLab, find_ie, ping,
    tshark)

UE = "10.45.0.2"
GNB_TEID = 0x100
QFI = 9
CP_SEID = 0x5eed
PDN_PORT = 40001                # ports without a tshark dissector
UE_PORT = 40000
COUNT = 20
EI_RATE = 10


class State:
    pass


def case_arp_and_ping(lab, st):
    for ns, address, side in ((lab.ran, UPF_N3_IP, "access"),
                              (lab.pdn, UPF_N6_IP, "core")):
        payload = b"vigil-upf %s" % side.encode()
        check(ping(ns, address, payload=payload) == payload,
              "echo reply payload from %s" % address)
        neigh = ns.exec("ip", "neigh", "show", address)
        check(lab.status[side]["mac"] in neigh,
              "the %s kernel resolved %s to %r, not the UPF's %s"
              % (side, address, neigh, lab.status[side]["mac"]))
    lab.wait_metric('vigil_upf_arp_replies_total{side="access"}', 1)
    lab.wait_metric('vigil_upf_icmp_echo_replies_total{side="core"}', 1)


def case_session(lab, st):
    p = st.smf.pfcp
    response = st.smf.associate()
    check(response.message_type == 6, "association setup response")
    check(st.smf.cause(response) == 1, "association accepted")
    st.up_seid, st.teid, est = st.smf.establish(CP_SEID, UE, GNB_TEID,
                                                qfi=QFI)
    fteid = find_ie(est, p.IE_FTEID)
    check(fteid.ipv4 == UPF_N3_IP, "F-TEID address %s" % fteid.ipv4)
    check(st.teid, "an uplink TEID was allocated")


def case_uplink(lab, st):
    for i in range(COUNT):
        st.gnb.uplink(st.teid, UE, PDN_IP, PDN_PORT, b"uplink %d" % i,
                      qfi=QFI if i % 2 else None, sport=UE_PORT)
    got = []
    for i in range(COUNT):
        data, addr = st.pdn.recvfrom(2048)
        check(addr == (UE, UE_PORT), "uplink source %r" % (addr,))
        got.append(data)
    check(sorted(got) == sorted(b"uplink %d" % i for i in range(COUNT)),
          "uplink payloads %r" % got)
    session = lab.api("GET", "/v1/sessions/%d" % st.up_seid).json()
    pdr = [x for x in session["pdrs"] if x["id"] == 1][0]
    check(pdr["packets"] == COUNT, "PDR 1 counted %r" % pdr)
    check(pdr["bytes"] == sum(20 + 8 + len(b"uplink %d" % i)
                              for i in range(COUNT)), "PDR 1 bytes %r" % pdr)
    lab.wait_metric('vigil_upf_forwarded_packets_total{side="access"}',
                    COUNT)
    lab.wait_metric('vigil_upf_neighbours_resolved_total{side="core"}', 1)


def case_downlink(lab, st):
    sc = st.gnb.sc
    g = st.gnb.gtp
    # The first packet makes the UPF resolve the gNB (ARP) while it
    # holds the packet; the rest then flows without queueing.
    st.pdn.sendto(b"downlink first", (UE, UE_PORT))
    packet, addr = st.gnb.receive()
    check(packet is not None and bytes(packet[sc.UDP].payload)
          == b"downlink first", "first downlink packet (held during ARP)")
    lab.wait_metric('vigil_upf_neighbours_resolved_total{side="access"}', 1)
    for i in range(COUNT):
        st.pdn.sendto(b"downlink %d" % i, (UE, UE_PORT))
    got = []
    for i in range(COUNT):
        packet, addr = st.gnb.receive()
        check(packet is not None, "downlink G-PDU %d of %d" % (i, COUNT))
        check(addr == (UPF_N3_IP, 2152), "outer source %r" % (addr,))
        check(packet.gtp_type == 255, "G-PDU type %r" % packet.gtp_type)
        check(packet.teid == GNB_TEID, "TEID %#x" % packet.teid)
        psc = packet[g.GTPPDUSessionContainer]
        check(psc.type == 0 and psc.QFI == QFI,
              "PDU session container %r" % psc)
        inner = packet[sc.IP]
        check(inner.src == PDN_IP and inner.dst == UE, "inner %r" % inner)
        check(inner[sc.UDP].dport == UE_PORT, "inner port")
        got.append(bytes(inner[sc.UDP].payload))
    check(sorted(got) == sorted(b"downlink %d" % i for i in range(COUNT)),
          "downlink payloads %r" % got)
    session = lab.api("GET", "/v1/sessions/%d" % st.up_seid).json()
    pdr = [x for x in session["pdrs"] if x["id"] == 2][0]
    check(pdr["packets"] == COUNT + 1, "PDR 2 counted %r" % pdr)
    lab.wait_metric('vigil_upf_forwarded_packets_total{side="core"}', COUNT)


def case_gtpu_echo(lab, st):
    g = st.gnb.gtp
    st.gnb.send(g.GTP_U_Header(gtp_type=1, S=1, seq=0x4242, teid=0)
                / g.GTPEchoRequest())
    packet, addr = st.gnb.receive()
    check(packet is not None, "no echo response")
    check(addr == (UPF_N3_IP, 2152), "echo response from %r" % (addr,))
    check(packet.gtp_type == 2 and packet.seq == 0x4242,
          "echo response %r" % packet)
    recovery = [ie for ie in packet[g.GTPEchoResponse].IE_list
                if isinstance(ie, g.IE_Recovery)]
    check(len(recovery) == 1 and recovery[0].restart_counter == 0,
          "Recovery IE %r" % recovery)


def case_unknown_teid(lab, st):
    sc = st.gnb.sc
    g = st.gnb.gtp
    inner = (sc.IP(src=UE, dst=PDN_IP)
             / sc.UDP(sport=UE_PORT, dport=PDN_PORT) / sc.Raw(b"lost"))
    st.gnb.send(st.gnb.gpdu(0xdeadbeef, inner))
    packet, addr = st.gnb.receive()
    check(packet is not None, "no error indication")
    check(packet.gtp_type == 26 and packet.teid == 0,
          "error indication header %r" % packet)
    # scapy stops at the UDP Port extension header: read the IEs after it.
    check(packet.next_ex == 0x40, "UDP Port extension header %r" % packet)
    ext = packet.payload
    check(ext.udp_port == 2152, "UDP Port extension %r" % ext)
    ies = g.GTPErrorIndication(bytes(ext.payload)).IE_list
    teids = [ie.TEIDI for ie in ies if isinstance(ie, g.IE_TEIDI)]
    peers = [ie.ipv4_address for ie in ies
             if isinstance(ie, g.IE_GSNAddress)]
    check(teids == [0xdeadbeef], "TEID Data I %r" % teids)
    check(peers == [UPF_N3_IP], "GTP-U peer address %r" % peers)
    lab.wait_metric('vigil_upf_gtpu_error_indications_sent_total'
                    '{side="access"}', 1)


def case_error_indication_rate(lab, st):
    sc = st.gnb.sc
    inner = (sc.IP(src=UE, dst=PDN_IP)
             / sc.UDP(sport=UE_PORT, dport=PDN_PORT) / sc.Raw(b"flood"))
    metrics = lab.metrics()
    before = metrics['vigil_upf_no_session_total{side="access"}']
    suppressed = metrics['vigil_upf_gtpu_error_indications_suppressed_total'
                         '{side="access"}']
    flood = 4 * EI_RATE
    t0 = time.monotonic()
    for i in range(flood):
        st.gnb.send(st.gnb.gpdu(0xbad00000 + i, inner))
    lab.wait_metric('vigil_upf_no_session_total{side="access"}',
                    before + flood)
    elapsed = time.monotonic() - t0
    answers = st.gnb.drain()
    # A bucket of one second's worth, refilled at the rate while the
    # flood lasted (a slow machine makes it last longer).
    allowed = EI_RATE + int(EI_RATE * elapsed) + 1
    check(0 < len(answers) <= allowed,
          "%d error indications for %d unknown TEIDs at %d/s in %.2f s"
          % (len(answers), flood, EI_RATE, elapsed))
    lab.wait_metric('vigil_upf_gtpu_error_indications_suppressed_total'
                    '{side="access"}', suppressed + flood - len(answers))


def case_end_marker(lab, st):
    g = st.gnb.gtp
    st.gnb.send(g.GTP_U_Header(gtp_type=254, teid=st.teid))
    lab.wait_metric('vigil_upf_gtpu_end_markers_received_total'
                    '{side="access"}', 1)


def case_spoofed_source(lab, st):
    st.gnb.uplink(st.teid, "10.45.9.9", PDN_IP, PDN_PORT, b"spoofed",
                  sport=UE_PORT)
    lab.wait_metric('vigil_upf_spoofed_total{side="access"}', 1)
    st.pdn.settimeout(0.3)
    try:
        data, addr = st.pdn.recvfrom(2048)
    except OSError:
        data = None
    finally:
        st.pdn.settimeout(5.0)
    check(data is None, "a spoofed packet reached the PDN: %r" % data)


def case_tshark(lab, st):
    lab.stop_capture(st.capture)
    out = tshark(st.capture_path, "-V")
    check("Malformed Packet" not in out, "tshark: malformed packet")
    check("[Expert Info (Error" not in out, "tshark: expert error")
    fields = tshark(st.capture_path, "-Y", "gtp", "-T", "fields",
                    "-e", "gtp.message", "-e", "gtp.teid")
    rows = [line.split("\t") for line in fields.splitlines() if line]
    types = {int(r[0], 0) for r in rows if r[0]}
    check({1, 2, 26, 254, 255} <= types,
          "GTP-U message types seen by tshark: %r" % sorted(types))
    teids = {int(r[1], 0) for r in rows if len(r) > 1 and r[1]}
    check(GNB_TEID in teids and st.teid in teids,
          "TEIDs seen by tshark: %r" % sorted(teids))
    qfis = tshark(st.capture_path, "-Y", "gtp.ext_hdr.pdu_ses_con.qos_flow_id",
                  "-T", "fields", "-e", "gtp.ext_hdr.pdu_ses_con.qos_flow_id",
                  "-e", "gtp.ext_hdr.pdu_ses_con.pdu_type")
    pairs = {tuple(line.split("\t")) for line in qfis.splitlines() if line}
    check(("9", "0") in pairs and ("9", "1") in pairs,
          "PDU session containers (QFI, type) seen: %r" % pairs)
    pfcp = tshark(st.capture_path, "-Y", "pfcp", "-T", "fields",
                  "-e", "pfcp.msg_type", "-e", "pfcp.cause")
    msg_types = {int(line.split("\t")[0]) for line in pfcp.splitlines()
                 if line}
    check({5, 6, 50, 51} <= msg_types,
          "PFCP message types seen by tshark: %r" % sorted(msg_types))


def frame(lab, st, l3):
    """An IPv4 frame from the gNB's veth to the UPF's access MAC."""
    sc = st.gnb.sc
    return bytes(sc.Ether(src=st.ran_mac, dst=lab.status["access"]["mac"],
                          type=0x0800) / l3)


def case_malformed_frames(lab, st):
    sc = st.gnb.sc
    raw = lab.raw(lab.ran, lab.if_access_ran)
    good_inner = (sc.IP(src=UE, dst=PDN_IP)
                  / sc.UDP(sport=UE_PORT, dport=PDN_PORT) / sc.Raw(b"x" * 20))

    def outer(payload, **ip):
        return (sc.IP(src=RAN_IP, dst=UPF_N3_IP, **ip)
                / sc.UDP(sport=2152, dport=2152) / payload)

    def gtpu(body, first_ext=None, ext=b"", teid=st.teid):
        """A G-PDU built by hand (scapy would fix what is broken)."""
        flags = 0x30
        opt = b""
        if first_ext is not None:
            flags |= 0x04
            opt = b"\0\0\0" + bytes([first_ext])
        payload = opt + ext + body
        return struct.pack("!BBHI", flags, 255, len(payload), teid) + payload

    gpdu = gtpu(bytes(good_inner))
    cases = {
        "bad_ip_checksum": frame(lab, st, outer(gpdu, chksum=0x1234)),
        "bad_ip_header": frame(lab, st, sc.Raw(
            b"\x55" + bytes(outer(gpdu))[1:])),
        "truncated": frame(lab, st, outer(gpdu))[:40],
        "bad_udp": frame(lab, st, sc.IP(src=RAN_IP, dst=UPF_N3_IP)
                         / sc.UDP(sport=2152, dport=2152, len=7) / gpdu),
        "bad_gtpu_header": frame(lab, st, outer(b"\x50" + gpdu[1:])),
        "bad_gtpu_ext": frame(lab, st, outer(gtpu(
            bytes(good_inner), 0x85, b"\x00\x10\x09\x00"))),
        "gtpu_ext_unknown": frame(lab, st, outer(gtpu(
            bytes(good_inner), 0xa0, b"\x01\x00\x00\x00"))),
        "bad_inner": frame(lab, st, outer(gtpu(b"\x45garbage"))),
        "inner_not_ipv4": frame(lab, st, outer(gtpu(bytes(
            sc.IPv6(src="fd00::1", dst="fd00::2")
            / sc.UDP(sport=UE_PORT, dport=PDN_PORT))))),
        # An ARP request whose opcode is 3 (a RARP request).
        "bad_arp": bytes(sc.Ether(src=st.ran_mac, dst="ff:ff:ff:ff:ff:ff")
                         / sc.ARP(op=1, psrc=RAN_IP, pdst=UPF_N3_IP))[:20]
        + b"\x00\x03" + bytes(sc.ARP(op=1, hwsrc=st.ran_mac, psrc=RAN_IP,
                                      pdst=UPF_N3_IP))[8:],
        "ethertype": bytes(sc.Ether(src=st.ran_mac,
                                    dst=lab.status["access"]["mac"],
                                    type=0x88b5) / sc.Raw(b"\0" * 46)),
    }
    # (A lone IP fragment cannot be shown here: net_af_packet's fanout
    # socket has the kernel reassemble fragments first. The unit tests and
    # the pcap regression cover it.)
    before = lab.metrics()
    for reason, data in cases.items():
        for _ in range(3):
            raw.send(data)
    for reason in cases:
        name = 'vigil_upf_malformed_total{side="access",reason="%s"}' % reason
        lab.wait_metric(name, before.get(name, 0) + 3)
    # Still alive and answering.
    case_gtpu_echo(lab, st)
    check(ping(lab.ran, UPF_N3_IP, seq=9) == b"vigil-upf ping",
          "ping after the malformed frames")


def case_malformed_core(lab, st):
    sc = st.gnb.sc
    raw = lab.raw(lab.pdn, lab.if_core_pdn)
    pdn_mac = lab.pdn.mac(lab.if_core_pdn)
    mac = lab.status["core"]["mac"]
    before = lab.metrics()
    bad = {
        "bad_ip_checksum": sc.Ether(src=pdn_mac, dst=mac)
        / sc.IP(src=PDN_IP, dst=UE, chksum=1)
        / sc.UDP(sport=PDN_PORT, dport=UE_PORT) / b"x",
        "bad_ip_length": sc.Ether(src=pdn_mac, dst=mac)
        / sc.IP(src=PDN_IP, dst=UE, len=10)
        / sc.UDP(sport=PDN_PORT, dport=UE_PORT) / b"x",
    }
    for reason, packet in bad.items():
        raw.send(bytes(packet))
    for reason in bad:
        name = 'vigil_upf_malformed_total{side="core",reason="%s"}' % reason
        lab.wait_metric(name, before.get(name, 0) + 1)
    unknown = before.get('vigil_upf_no_session_total{side="core"}', 0)
    st.pdn.sendto(b"to nobody", ("10.45.7.7", UE_PORT))
    lab.wait_metric('vigil_upf_no_session_total{side="core"}', unknown + 1)


def case_counters_consistent(lab, st):
    m = lab.metrics()
    for side in ("access", "core"):
        rx = m['vigil_upf_rx_packets_total{side="%s"}' % side]
        check(rx > 0, "%s rx %r" % (side, rx))
        check(m['vigil_upf_tx_dropped_total{side="%s"}' % side] == 0,
              "%s tx drops" % side)
        check(m['vigil_upf_punt_dropped_total{side="%s"}' % side] == 0,
              "%s punt drops" % side)
    session = lab.api("GET", "/v1/sessions").json()
    check(session["count"] == 1, "sessions %r" % session)


def case_exit_clean(lab, st):
    code = lab.stop_upf()
    check(code == 0, "vigil-upf exit code %r (non-zero: a crash, or a leak "
          "under ASan):\n%s" % (code, lab.upf.tail(40)))


def main():
    build_dir = parse_build_dir(description=__doc__)
    with UpfLab(build_dir, "upf-dataplane") as lab:
        suite = Suite("vigil-upf data path (netns, af_packet, scapy, "
                      "tshark)")
        st = State()
        try:
            st.capture, st.capture_path = lab.capture(
                lab.ran, lab.if_access_ran, lab.if_n4_smf, name="ran")
            lab.start_upf("--gtpu.error_indication_rate=%d" % EI_RATE)
            st.smf = Smf(lab)
            st.gnb = Gnb(lab)
            st.pdn = lab.udp(lab.pdn, PDN_IP, PDN_PORT)
            st.ran_mac = lab.ran.mac(lab.if_access_ran)
        except (HarnessError, OSError) as e:
            suite.fail("setup", str(e))
            lab.failed = True
            lab.print_logs()
            return suite.finish()
        cases = [
            ("ARP and ICMP echo from the RAN and PDN kernels",
             case_arp_and_ping),
            ("PFCP association and session (scapy SMF)", case_session),
            ("uplink: G-PDUs decapsulated to the PDN host", case_uplink),
            ("downlink: IP encapsulated with TEID and QFI", case_downlink),
            ("GTP-U echo request answered with Recovery", case_gtpu_echo),
            ("unknown TEID: error indication", case_unknown_teid),
            ("error indications rate-limited",
             case_error_indication_rate),
            ("end marker received and counted", case_end_marker),
            ("spoofed uplink source dropped", case_spoofed_source),
            ("tshark decodes the GTP-U and PFCP captured", case_tshark),
            ("malformed frames dropped by reason, UPF still up",
             case_malformed_frames),
            ("malformed and unknown downlink", case_malformed_core),
            ("counters consistent", case_counters_consistent),
            ("exit 0 on SIGTERM", case_exit_clean),
        ]
        for name, fn in cases:
            if suite.case(name, fn, lab, st) is None:
                lab.failed = True
                lab.print_logs()
        return suite.finish()


if __name__ == "__main__":
    run_main(main)
