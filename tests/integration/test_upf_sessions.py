#!/usr/bin/env python3
"""Integration: vigil-upf's PFCP node and sessions against a scapy SMF.

Same network as test_upf_dataplane.py (tests/lib/upf_harness.py): the
UPF in its namespace with net_af_packet ports, the RAN namespace with the
SMF (scapy.contrib.pfcp on UDP 8805) and the gNB (scapy.contrib.gtp), the
PDN namespace with a kernel UDP socket.

Checks the PFCP procedures and what they do to the traffic: association
setup (Node ID, Recovery Time Stamp, UP features), heartbeats both ways,
retransmitted requests answered from the response cache without being
executed twice, establishment refused without an association or with a
broken rule (cause and Failed Rule ID), modification with SNDEM (end
marker to the old tunnel, traffic to the new one), Query URR (exact
volumes), a volume threshold (Session Report Request), an MBR (rte_meter)
and a closed gate, downlink buffering (Downlink Data Report, then the
buffered packets delivered), an Error Indication Report, deletion (final
usage), a peer restart (new Recovery Time Stamp), release, and a peer that
stops answering heartbeats. tshark decodes the PFCP captured without
errors. Then malformed PFCP -- garbage, a wrong version, missing mandatory
IEs, unknown SEIDs -- gets the right cause or is dropped and counted, and
vigil-upf exits 0 on SIGTERM.

Run: /usr/bin/python3 tests/integration/test_upf_sessions.py --build-dir BUILD
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))

from vigil_harness import (  # noqa: E402
    HarnessError, Suite, check, parse_build_dir, run_main, wait_for)
from upf_harness import (  # noqa: E402
    PDN_IP, RAN_IP, UPF_N3_IP, UPF_N4_IP, UPF_N6_IP, Gnb, Smf, UpfLab,
    find_ie, find_ies, ping, tshark)

PDN_PORT = 40001
UE_PORT = 40000
HEARTBEAT_MS = 400
T1_MS = 300
N1 = 2


class State:
    pass


def sessions(lab):
    return lab.api("GET", "/v1/sessions").json()["count"]


def uplink(st, teid, ue, payloads):
    for payload in payloads:
        st.gnb.uplink(teid, ue, PDN_IP, PDN_PORT, payload, sport=UE_PORT)


def pdn_drain(st, timeout=0.3):
    got = []
    st.pdn.settimeout(timeout)
    try:
        while True:
            data, addr = st.pdn.recvfrom(4096)
            got.append((data, addr))
    except OSError:
        pass
    finally:
        st.pdn.settimeout(5.0)
    return got


def case_association(lab, st):
    p = st.smf.pfcp
    request = st.smf.header(5) / p.PFCPAssociationSetupRequest(IE_list=[
        st.smf.node_id(), p.IE_RecoveryTimeStamp(timestamp=st.smf.recovery)])
    response, raw = st.smf.request(request)
    check(response.message_type == 6, "type %r" % response.message_type)
    check(st.smf.cause(response) == 1, "cause")
    node = find_ie(response, p.IE_NodeId)
    check(node.id_type == 0 and node.ipv4 == UPF_N4_IP, "Node ID %r" % node)
    st.recovery = find_ie(response, p.IE_RecoveryTimeStamp).timestamp
    now_ntp = int(time.time()) + 2208988800
    check(now_ntp - 600 < st.recovery <= now_ntp,
          "Recovery Time Stamp %r (now %r)" % (st.recovery, now_ntp))
    features = find_ie(response, p.IE_UPFunctionFeatures)
    check(features.FTUP == 1 and features.BUCP == 1 and features.EMPU == 1,
          "UP function features %r" % features)
    # The same request again (a retransmission): the same bytes back.
    again, raw_again = st.smf.request(bytes(request))
    check(raw_again == raw, "retransmitted association setup answered "
          "differently")
    assocs = lab.api("GET", "/v1/associations").json()["associations"]
    check(len(assocs) == 1 and assocs[0]["node_id"] == st.smf.address,
          "associations %r" % assocs)


def case_heartbeats(lab, st):
    p = st.smf.pfcp
    response, _ = st.smf.request(
        st.smf.header(1) / p.PFCPHeartbeatRequest(IE_list=[
            p.IE_RecoveryTimeStamp(timestamp=st.smf.recovery)]))
    check(response.message_type == 2, "heartbeat response")
    check(find_ie(response, p.IE_RecoveryTimeStamp).timestamp
          == st.recovery, "heartbeat recovery time stamp")
    wait_for(lambda: st.smf.heartbeats_answered >= 2, 10,
             "two heartbeat requests from the UPF")


def case_no_association(lab, st):
    p = st.smf.pfcp
    ies = st.smf.session_ies(0x99, "10.45.0.99", 0x999)
    ies[0] = p.IE_NodeId(id_type=0, ipv4="10.4.0.99")
    response, _ = st.smf.request(
        st.smf.header(50, seid=0)
        / p.PFCPSessionEstablishmentRequest(IE_list=ies))
    check(response.message_type == 51, "establishment response")
    check(st.smf.cause(response) == 72,
          "cause %r, expected 72 (no established association)"
          % st.smf.cause(response))


def case_retransmitted_establishment(lab, st):
    p = st.smf.pfcp
    before = sessions(lab)
    dup = lab.metric("vigil_upf_pfcp_duplicates_total")
    request = bytes(st.smf.header(50, seid=0)
                    / p.PFCPSessionEstablishmentRequest(
                        IE_list=st.smf.session_ies(0xa, "10.45.0.10",
                                                   0x100)))
    first, raw1 = st.smf.request(request)
    second, raw2 = st.smf.request(request)
    check(st.smf.cause(first) == 1, "first establishment accepted")
    check(raw1 == raw2, "the retransmission got a different response")
    check(sessions(lab) == before + 1,
          "a retransmitted establishment created %d sessions"
          % (sessions(lab) - before))
    check(lab.metric("vigil_upf_pfcp_duplicates_total") == dup + 1,
          "duplicates counter")
    st.a_seid = find_ie(first, p.IE_FSEID).seid
    st.a_teid = find_ie(first, p.IE_FTEID).TEID
    st.a_ue = "10.45.0.10"


def case_rule_errors(lab, st):
    p = st.smf.pfcp

    def refused(ies, rule_type, rule_id):
        response, _ = st.smf.request(
            st.smf.header(50, seid=0)
            / p.PFCPSessionEstablishmentRequest(IE_list=ies))
        check(st.smf.cause(response) == 73,
              "cause %r, expected 73" % st.smf.cause(response))
        failed = response.getlayer(p.IE_FailedRuleId)
        check(failed is not None, "no Failed Rule ID")
        raw = bytes(failed)
        check(raw[4] & 0x0f == rule_type,
              "Failed Rule ID type %d, expected %d" % (raw[4] & 0xf,
                                                       rule_type))
        check(int.from_bytes(raw[5:], "big") == rule_id,
              "Failed Rule ID %r, expected %d" % (raw[5:], rule_id))

    # PDR 1 points to FAR 7, which does not exist.
    ies = st.smf.session_ies(0xb, "10.45.0.11", 0x111)
    ies[2] = p.IE_CreatePDR(IE_list=[
        p.IE_PDR_Id(id=1), p.IE_Precedence(precedence=1),
        p.IE_PDI(IE_list=[p.IE_SourceInterface(interface=0),
                          p.IE_FTEID(V4=1, CH=1)]),
        p.IE_FAR_Id(id=7)])
    refused(ies, 0, 1)
    # FAR 2 forwards to the access side without an outer header.
    ies = st.smf.session_ies(0xc, "10.45.0.12", 0x112)
    ies[5] = p.IE_CreateFAR(IE_list=[
        p.IE_FAR_Id(id=2), p.IE_ApplyAction(FORW=1),
        p.IE_ForwardingParameters(IE_list=[
            p.IE_DestinationInterface(interface=0)])])
    refused(ies, 1, 2)
    # The UE address of session A again: PDR 2 (downlink key) refused.
    refused(st.smf.session_ies(0xd, st.a_ue, 0x113), 0, 2)
    lab.wait_metric("vigil_upf_sessions_rejected_total", 3)


def case_modification_sndem(lab, st):
    p = st.smf.pfcp
    sc = st.gnb.sc
    st.pdn.sendto(b"before", (st.a_ue, UE_PORT))
    packet, _ = st.gnb.receive()
    check(packet is not None and packet.teid == 0x100,
          "downlink before the switch %r" % packet)
    response = st.smf.modify(st.a_seid, [
        p.IE_UpdateFAR(IE_list=[
            p.IE_FAR_Id(id=2),
            p.IE_UpdateForwardingParameters(IE_list=[
                p.IE_OuterHeaderCreation(GTPUUDPIPV4=1, TEID=0x200,
                                         ipv4=RAN_IP),
                p.IE_PFCPSMReqFlags(SNDEM=1)])])])
    check(response.message_type == 53 and st.smf.cause(response) == 1,
          "modification accepted")
    check(response.seid == 0xa, "response SEID %#x" % response.seid)
    marker, _ = st.gnb.receive()
    check(marker is not None and marker.gtp_type == 254
          and marker.teid == 0x100, "end marker to the old TEID: %r"
          % marker)
    st.pdn.sendto(b"after", (st.a_ue, UE_PORT))
    packet, _ = st.gnb.receive()
    check(packet is not None and packet.teid == 0x200
          and bytes(packet[sc.UDP].payload) == b"after",
          "downlink after the switch %r" % packet)
    lab.wait_metric("vigil_upf_gtpu_end_markers_sent_total", 1)


def case_query_urr(lab, st):
    p = st.smf.pfcp
    ul = [b"q" * n for n in (10, 20, 30)]
    uplink(st, st.a_teid, st.a_ue, ul)
    check(len(pdn_drain(st)) == 3, "uplink delivered")
    response = st.smf.modify(st.a_seid, [
        p.IE_QueryURR(IE_list=[p.IE_URR_Id(id=1)])])
    check(st.smf.cause(response) == 1, "query accepted")
    reports = find_ies(response, p.IE_UsageReport_SMR)
    check(len(reports) == 1, "usage reports %r" % reports)
    check(find_ie(reports[0], p.IE_UsageReportTrigger).IMMER == 1,
          "trigger IMMER")
    v = find_ie(reports[0], p.IE_VolumeMeasurement)
    # Since the session began: "before" and "after" downlink (IP + UDP +
    # payload), and the three uplink packets.
    dl = (28 + 6) + (28 + 5)
    up = sum(28 + len(x) for x in ul)
    check((v.uplink, v.downlink, v.total) == (up, dl, up + dl),
          "volume %r, expected ul %d dl %d" % (v, up, dl))


def case_volume_threshold(lab, st):
    p = st.smf.pfcp
    seid, teid, _ = st.smf.establish(
        0xe, "10.45.0.14", 0x140,
        urr=[p.IE_ReportingTriggers(volume_threshold=1),
             p.IE_VolumeThreshold(TOVOL=1, total=1000)])
    uplink(st, teid, "10.45.0.14", [b"t" * 100] * 12)
    request = st.smf.wait_request(56)
    check(request.seid == 0xe, "report SEID %#x" % request.seid)
    check(find_ie(request, p.IE_ReportType).USAR == 1, "report type USAR")
    report = find_ie(request, p.IE_UsageReport_SRR)
    check(find_ie(report, p.IE_UsageReportTrigger).VOLTH == 1,
          "trigger VOLTH")
    total = find_ie(report, p.IE_VolumeMeasurement).total
    check(1000 <= total <= 12 * 128, "volume %d" % total)
    st.smf.answer(request, 57, [p.IE_Cause(cause=1)])
    st.smf.delete(seid)
    pdn_drain(st)


def case_mbr(lab, st):
    p = st.smf.pfcp
    seid, teid, _ = st.smf.establish(
        0xf, "10.45.0.15", 0x150, qer=[p.IE_MBR(ul=16, dl=16)])
    uplink(st, teid, "10.45.0.15", [b"m" * 1000] * 30)
    got = pdn_drain(st, 0.5)
    check(1 <= len(got) < 30, "%d of 30 packets passed a 16 kbit/s MBR"
          % len(got))
    lab.wait_metric('vigil_upf_mbr_dropped_total{side="access"}', 30 - len(got))
    pdr = [x for x in lab.api("GET", "/v1/sessions/%d" % seid)
           .json()["pdrs"] if x["id"] == 1][0]
    check(pdr["dropped_packets"] == 30 - len(got), "PDR counters %r" % pdr)
    st.smf.delete(seid)


def case_gate_closed(lab, st):
    p = st.smf.pfcp
    seid, teid, _ = st.smf.establish(0x10, "10.45.0.16", 0x160)
    response = st.smf.modify(seid, [p.IE_UpdateQER(IE_list=[
        p.IE_QER_Id(id=1), p.IE_GateStatus(ul=1, dl=0)])])
    check(st.smf.cause(response) == 1, "gate update accepted")
    uplink(st, teid, "10.45.0.16", [b"gated"] * 3)
    lab.wait_metric('vigil_upf_gate_dropped_total{side="access"}', 3)
    check(not pdn_drain(st), "a packet passed a closed gate")
    st.smf.delete(seid)


def case_buffering(lab, st):
    p = st.smf.pfcp
    sc = st.gnb.sc
    ue = "10.45.0.17"
    seid, teid, _ = st.smf.establish(0x11, ue, 0, dl_action="BUFF")
    for i in range(3):
        st.pdn.sendto(b"held %d" % i, (ue, UE_PORT))
    request = st.smf.wait_request(56)
    check(find_ie(request, p.IE_ReportType).DLDR == 1, "report type DLDR")
    check(find_ie(find_ie(request, p.IE_DownlinkDataReport),
                  p.IE_PDR_Id).id == 2, "DLDR PDR ID")
    st.smf.answer(request, 57, [p.IE_Cause(cause=1)])
    lab.wait_metric("vigil_upf_buffered_packets_total", 3)
    check(not st.gnb.drain(0.2), "buffered packets leaked")
    response = st.smf.modify(seid, [p.IE_UpdateFAR(IE_list=[
        p.IE_FAR_Id(id=2), p.IE_ApplyAction(FORW=1),
        p.IE_UpdateForwardingParameters(IE_list=[
            p.IE_DestinationInterface(interface=0),
            p.IE_OuterHeaderCreation(GTPUUDPIPV4=1, TEID=0x500,
                                     ipv4=RAN_IP)])])])
    check(st.smf.cause(response) == 1, "FAR update accepted")
    got = sorted(bytes(pk[sc.UDP].payload) for pk, _ in st.gnb.drain(0.5)
                 if pk.teid == 0x500)
    check(got == [b"held 0", b"held 1", b"held 2"],
          "buffered packets delivered: %r" % got)
    st.smf.delete(seid)


def case_error_indication_report(lab, st):
    p = st.smf.pfcp
    g = st.gnb.gtp
    st.gnb.send(g.GTP_U_Header(gtp_type=26, S=1, teid=0)
                / g.GTPErrorIndication(IE_list=[
                    g.IE_TEIDI(TEIDI=0x200),
                    # scapy leaves the length at 0 unless told.
                    g.IE_GSNAddress(length=4, ipv4_address=RAN_IP)]))
    request = st.smf.wait_request(56)
    check(request.seid == 0xa, "report for session A, SEID %#x"
          % request.seid)
    check(find_ie(request, p.IE_ReportType).ERIR == 1, "report type ERIR")
    fteid = find_ie(find_ie(request, p.IE_ErrorIndicationReport),
                    p.IE_FTEID)
    check(fteid.TEID == 0x200 and fteid.ipv4 == RAN_IP,
          "remote F-TEID %r" % fteid)
    st.smf.answer(request, 57, [p.IE_Cause(cause=1)])


def case_deletion(lab, st):
    p = st.smf.pfcp
    ul = [b"d" * 50, b"d" * 60]
    uplink(st, st.a_teid, st.a_ue, ul)
    check(len(pdn_drain(st)) == 2, "uplink before deletion")
    response = st.smf.delete(st.a_seid)
    check(response.message_type == 55 and st.smf.cause(response) == 1,
          "deletion accepted")
    check(response.seid == 0xa, "deletion response SEID")
    report = find_ie(response, p.IE_UsageReport_SDR)
    check(find_ie(report, p.IE_UsageReportTrigger).TERMR == 1,
          "trigger TERMR")
    v = find_ie(report, p.IE_VolumeMeasurement)
    up = sum(28 + len(x) for x in ul)
    check((v.uplink, v.downlink) == (up, 0),
          "final volume %r, expected uplink %d" % (v, up))
    check(lab.api("GET", "/v1/sessions/%d" % st.a_seid).status == 404,
          "session still listed")
    uplink(st, st.a_teid, st.a_ue, [b"gone"])
    packet, _ = st.gnb.receive()
    check(packet is not None and packet.gtp_type == 26,
          "uplink after deletion: %r" % packet)


def case_tshark(lab, st):
    lab.stop_capture(st.capture)
    out = tshark(st.capture_path, "-V")
    check("Malformed Packet" not in out, "tshark: malformed packet")
    check("[Expert Info (Error" not in out, "tshark: expert error")
    fields = tshark(st.capture_path, "-Y", "pfcp", "-T", "fields",
                    "-e", "pfcp.msg_type")
    types = {int(x) for x in fields.split() if x}
    check({1, 2, 5, 6, 50, 51, 52, 53, 54, 55, 56, 57} <= types,
          "PFCP message types decoded by tshark: %r" % sorted(types))


def case_malformed(lab, st):
    p = st.smf.pfcp
    malformed = lab.metric("vigil_upf_pfcp_malformed_total")
    # Garbage: dropped without an answer.
    st.smf.send(b"\x21\x01\x00")
    st.smf.send(b"\x00" * 40)
    # Version 2: Version Not Supported Response.
    hb = bytearray(bytes(st.smf.header(1, seq=77) / p.PFCPHeartbeatRequest(
        IE_list=[p.IE_RecoveryTimeStamp(timestamp=1)])))
    hb[0] = (hb[0] & 0x1f) | (2 << 5)
    st.smf.send(bytes(hb))
    response, _ = st.smf.response(77)
    check(response is not None and response.message_type == 11,
          "version not supported: %r" % response)
    # Establishment without the CP F-SEID: Mandatory IE missing.
    ies = st.smf.session_ies(0x20, "10.45.0.20", 0x200)
    del ies[1]
    response, _ = st.smf.request(st.smf.header(50, seid=0)
                                 / p.PFCPSessionEstablishmentRequest(
                                     IE_list=ies))
    check(st.smf.cause(response) == 66, "cause %r, expected 66"
          % st.smf.cause(response))
    check(find_ie(response, p.IE_OffendingIE).type == 57,
          "Offending IE %r, expected 57 (F-SEID)"
          % find_ie(response, p.IE_OffendingIE).type)
    # A Create PDR without its PDR ID.
    ies = st.smf.session_ies(0x21, "10.45.0.21", 0x210)
    ies[2] = p.IE_CreatePDR(IE_list=[
        p.IE_Precedence(precedence=1),
        p.IE_PDI(IE_list=[p.IE_SourceInterface(interface=0),
                          p.IE_FTEID(V4=1, CH=1)]),
        p.IE_FAR_Id(id=1)])
    response, _ = st.smf.request(st.smf.header(50, seid=0)
                                 / p.PFCPSessionEstablishmentRequest(
                                     IE_list=ies))
    check(st.smf.cause(response) == 66 and find_ie(
        response, p.IE_OffendingIE).type == 56,
        "missing PDR ID: %s" % response.summary())
    # An IE whose length runs past the message: Invalid length.
    good = bytearray(bytes(st.smf.header(50, seid=0)
                           / p.PFCPSessionEstablishmentRequest(
                               IE_list=st.smf.session_ies(
                                   0x22, "10.45.0.22", 0x220))))
    good[16 + 2:16 + 4] = (0x4000).to_bytes(2, "big")
    st.smf.send(bytes(good))
    seq = int.from_bytes(good[12:15], "big")
    response, _ = st.smf.response(seq)
    check(response is not None and st.smf.cause(response) in (68, 69),
          "overlong IE: %r" % (response and response.summary()))
    # Unknown SEIDs.
    response = st.smf.modify(0x123456789, [])
    check(st.smf.cause(response) == 65 and response.seid == 0,
          "modification of an unknown session: %s" % response.summary())
    response = st.smf.delete(0x123456789)
    check(st.smf.cause(response) == 65, "deletion of an unknown session")
    lab.wait_metric("vigil_upf_pfcp_malformed_total", malformed + 5)
    # Still there.
    case_heartbeats(lab, st)


def case_peer_restart(lab, st):
    p = st.smf.pfcp
    seid, _, _ = st.smf.establish(0x30, "10.45.0.30", 0x300)
    check(sessions(lab) >= 1, "a session to lose")
    st.smf.recovery += 1
    response, _ = st.smf.request(
        st.smf.header(1) / p.PFCPHeartbeatRequest(IE_list=[
            p.IE_RecoveryTimeStamp(timestamp=st.smf.recovery)]))
    check(response.message_type == 2, "heartbeat answered")
    check(sessions(lab) == 0, "sessions kept across a peer restart")
    lab.wait_metric("vigil_upf_pfcp_peers_restarted_total", 1)


def case_release(lab, st):
    p = st.smf.pfcp
    st.smf.establish(0x31, "10.45.0.31", 0x310)
    response, _ = st.smf.request(
        st.smf.header(9) / p.PFCPAssociationReleaseRequest(IE_list=[
            st.smf.node_id()]))
    check(response.message_type == 10 and st.smf.cause(response) == 1,
          "release accepted")
    check(sessions(lab) == 0, "sessions kept after release")
    ies = st.smf.session_ies(0x32, "10.45.0.32", 0x320)
    response, _ = st.smf.request(st.smf.header(50, seid=0)
                                 / p.PFCPSessionEstablishmentRequest(
                                     IE_list=ies))
    check(st.smf.cause(response) == 72, "establishment after release")


def case_lost_peer(lab, st):
    response = st.smf.associate()
    check(st.smf.cause(response) == 1, "associated again")
    st.smf.establish(0x33, "10.45.0.33", 0x330)
    st.smf.answer_heartbeats = False
    lab.wait_metric("vigil_upf_pfcp_peers_lost_total", 1,
                    timeout=HEARTBEAT_MS / 1000 + T1_MS * (N1 + 2) / 1000
                    + 10)
    check(sessions(lab) == 0, "sessions of a lost peer kept")
    check(lab.metric("vigil_upf_pfcp_associations") == 0, "association kept")
    heartbeats = [r for r in st.smf.inbox if r.message_type == 1]
    check(len(heartbeats) == N1 + 1,
          "%d heartbeat transmissions, expected %d" % (len(heartbeats),
                                                       N1 + 1))
    check(len({r.seq for r in heartbeats}) == 1,
          "retransmissions must keep the sequence number")


def case_exit_clean(lab, st):
    code = lab.stop_upf()
    check(code == 0, "vigil-upf exit code %r:\n%s" % (code,
                                                     lab.upf.tail(40)))


def main():
    build_dir = parse_build_dir(description=__doc__)
    with UpfLab(build_dir, "upf-sessions") as lab:
        suite = Suite("vigil-upf PFCP sessions (scapy SMF and gNB)")
        st = State()
        try:
            st.capture, st.capture_path = lab.capture(
                lab.ran, lab.if_n4_smf, lab.if_access_ran, name="n4")
            lab.start_upf("--pfcp.heartbeat_interval_ms=%d" % HEARTBEAT_MS,
                          "--pfcp.t1_ms=%d" % T1_MS, "--pfcp.n1=%d" % N1,
                          "--pfcp.tick_ms=50")
            st.smf = Smf(lab)
            st.gnb = Gnb(lab)
            st.pdn = lab.udp(lab.pdn, PDN_IP, PDN_PORT)
            ping(lab.ran, UPF_N3_IP)
            ping(lab.pdn, UPF_N6_IP)
        except (HarnessError, OSError) as e:
            suite.fail("setup", str(e))
            lab.failed = True
            lab.print_logs()
            return suite.finish()
        cases = [
            ("association setup, retransmission answered from the cache",
             case_association),
            ("heartbeats both ways", case_heartbeats),
            ("establishment without association: cause 72",
             case_no_association),
            ("retransmitted establishment executed once",
             case_retransmitted_establishment),
            ("rule errors: cause 73 with the Failed Rule ID",
             case_rule_errors),
            ("modification with SNDEM: end marker, new tunnel",
             case_modification_sndem),
            ("Query URR: exact volumes", case_query_urr),
            ("volume threshold: Session Report Request",
             case_volume_threshold),
            ("QER MBR polices uplink", case_mbr),
            ("closed QER gate drops", case_gate_closed),
            ("buffering: DLDR, then delivery", case_buffering),
            ("GTP-U error indication: Error Indication Report",
             case_error_indication_report),
            ("deletion: final usage, TEID gone", case_deletion),
            ("tshark decodes the PFCP captured", case_tshark),
            ("malformed PFCP: causes, drops, still up", case_malformed),
            ("peer restart: its sessions deleted", case_peer_restart),
            ("association release", case_release),
            ("peer lost after N1 heartbeat retransmissions",
             case_lost_peer),
            ("exit 0 on SIGTERM", case_exit_clean),
        ]
        for name, fn in cases:
            if suite.case(name, fn, lab, st) is None:
                lab.failed = True
                lab.print_logs()
        return suite.finish()


if __name__ == "__main__":
    run_main(main)
