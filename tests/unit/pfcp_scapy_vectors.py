#!/usr/bin/python3
"""Byte-exact PFCP test vectors, built with scapy (scapy.contrib.pfcp), an
implementation independent of vigil-upf's codec (vnf-dataplane/pfcp.c).

The C unit test tests/unit/test_upf_pfcp.c holds these bytes frozen
between its "BEGIN scapy vectors" / "END scapy vectors" markers; the fuzz
target fuzz_pfcp starts from them (tests/fuzz/corpus/fuzz_pfcp/).
IEs are listed in the order the codec writes them, so that the codec's
encoding of the decoded struct must equal scapy's bytes.

Usage (Debian's python3 with python3-scapy):
  pfcp_scapy_vectors.py --update-test tests/unit/test_upf_pfcp.c
  pfcp_scapy_vectors.py --corpus tests/fuzz/corpus/fuzz_pfcp
  pfcp_scapy_vectors.py --pcap /tmp/pfcp.pcap   (then: tshark -r it)
"""
import argparse
import os
import re
import sys

from scapy.contrib.pfcp import (
    PFCP, IE_ApplyAction, IE_Cause, IE_CPFunctionFeatures, IE_CreateFAR,
    IE_CreatePDR, IE_CreateQER, IE_CreateURR, IE_CreatedPDR,
    IE_DestinationInterface, IE_EndTime, IE_FAR_Id, IE_ForwardingParameters,
    IE_FSEID, IE_FTEID, IE_GateStatus, IE_MBR, IE_MeasurementMethod,
    IE_NetworkInstance, IE_NodeId, IE_NodeReportType, IE_OffendingIE,
    IE_OuterHeaderCreation, IE_OuterHeaderRemoval, IE_PDI, IE_PDNType,
    IE_PDR_Id, IE_PFCPSMReqFlags, IE_Precedence, IE_QER_Id, IE_QFI,
    IE_RecoveryTimeStamp, IE_RemoteGTP_U_Peer, IE_RemovePDR, IE_ReportType,
    IE_ReportingTriggers, IE_SDF_Filter, IE_SourceInterface, IE_StartTime,
    IE_UE_IP_Address, IE_UPFunctionFeatures,
    IE_UpdateFAR, IE_UpdateForwardingParameters, IE_URR_Id, IE_UR_SEQN,
    IE_UsageReportTrigger, IE_UsageReport_SDR, IE_UsageReport_SRR,
    IE_UserPlaneIPResourceInformation, IE_UserPlanePathFailureReport,
    IE_VolumeMeasurement, IE_VolumeThreshold, IE_DurationMeasurement,
    PFCPAssociationReleaseRequest, PFCPAssociationReleaseResponse,
    PFCPAssociationSetupRequest, PFCPAssociationSetupResponse,
    PFCPHeartbeatRequest, PFCPHeartbeatResponse, PFCPNodeReportRequest,
    PFCPSessionDeletionRequest, PFCPSessionDeletionResponse,
    PFCPSessionEstablishmentRequest, PFCPSessionEstablishmentResponse,
    PFCPSessionModificationRequest, PFCPSessionModificationResponse,
    PFCPSessionReportRequest, PFCPSessionReportResponse)

RECOVERY = 3913056000          # NTP seconds, 2024-01-01T00:00:00Z
CP_SEID = 0x1122334455667788
UP_SEID = 0x0000000000000101



def establishment_request():
    uplink_pdr = IE_CreatePDR(IE_list=[
        IE_PDR_Id(id=1),
        IE_Precedence(precedence=100),
        IE_PDI(IE_list=[
            IE_SourceInterface(interface="Access"),
            IE_FTEID(V4=1, TEID=0x1000, ipv4="192.168.1.10"),
            IE_NetworkInstance(instance="access"),
            IE_QFI(QFI=9),
        ]),
        IE_OuterHeaderRemoval(header="GTP-U/UDP/IPv4"),
        IE_FAR_Id(id=1),
        IE_URR_Id(id=1),
        IE_QER_Id(id=1),
    ])
    downlink_pdr = IE_CreatePDR(IE_list=[
        IE_PDR_Id(id=2),
        IE_Precedence(precedence=200),
        IE_PDI(IE_list=[
            IE_SourceInterface(interface="Core"),
            IE_NetworkInstance(instance="internet"),
            IE_UE_IP_Address(V4=1, SD=1, ipv4="10.45.0.2"),
            IE_SDF_Filter(FD=1, flow_description=(
                b"permit out ip from any to assigned")),
        ]),
        IE_FAR_Id(id=2),
        IE_URR_Id(id=1),
        IE_QER_Id(id=1),
    ])
    uplink_far = IE_CreateFAR(IE_list=[
        IE_FAR_Id(id=1),
        IE_ApplyAction(FORW=1),
        IE_ForwardingParameters(IE_list=[
            IE_DestinationInterface(interface="Core"),
            IE_NetworkInstance(instance="internet"),
        ]),
    ])
    downlink_far = IE_CreateFAR(IE_list=[
        IE_FAR_Id(id=2),
        IE_ApplyAction(FORW=1),
        IE_ForwardingParameters(IE_list=[
            IE_DestinationInterface(interface="Access"),
            IE_NetworkInstance(instance="access"),
            IE_OuterHeaderCreation(GTPUUDPIPV4=1, TEID=0x2000,
                                   ipv4="192.168.1.20"),
        ]),
    ])
    urr = IE_CreateURR(IE_list=[
        IE_URR_Id(id=1),
        IE_MeasurementMethod(VOLUM=1),
        IE_ReportingTriggers(volume_threshold=1),
        IE_VolumeThreshold(TOVOL=1, total=1000000000),
    ])
    qer = IE_CreateQER(IE_list=[
        IE_QER_Id(id=1),
        IE_GateStatus(ul="OPEN", dl="OPEN"),
        IE_MBR(ul=100000, dl=200000),
        IE_QFI(QFI=9),
    ])
    return PFCP(version=1, S=1, seid=0, seq=3) / \
        PFCPSessionEstablishmentRequest(IE_list=[
            IE_NodeId(id_type="IPv4", ipv4="10.0.0.1"),
            IE_FSEID(v4=1, seid=CP_SEID, ipv4="10.0.0.1"),
            uplink_pdr, downlink_pdr, uplink_far, downlink_far, urr, qer,
            IE_PDNType(pdn_type=1),  # IPv4; scapy's names are off by one
        ])


def establishment_request_choose():
    """The UP function allocates the F-TEID (CH, CHID): the usual 5G SMF."""
    pdr = IE_CreatePDR(IE_list=[
        IE_PDR_Id(id=1),
        IE_Precedence(precedence=255),
        IE_PDI(IE_list=[
            IE_SourceInterface(interface="Access"),
            IE_FTEID(V4=1, CH=1, CHID=1, choose_id=5),
        ]),
        IE_OuterHeaderRemoval(header="GTP-U/UDP/IPv4", length=2,
                              pdu_session_container=1),
        IE_FAR_Id(id=1),
    ])
    far = IE_CreateFAR(IE_list=[
        IE_FAR_Id(id=1),
        IE_ApplyAction(DROP=1),
    ])
    return PFCP(version=1, S=1, seid=0, seq=9) / \
        PFCPSessionEstablishmentRequest(IE_list=[
            IE_NodeId(id_type="FQDN", id="smf.vigil.test"),
            IE_FSEID(v4=1, v6=1, seid=7, ipv4="10.0.0.1",
                     ipv6="2001:db8::1"),
            pdr, far,
        ])


def establishment_response():
    return PFCP(version=1, S=1, seid=CP_SEID, seq=3) / \
        PFCPSessionEstablishmentResponse(IE_list=[
            IE_NodeId(id_type="IPv4", ipv4="10.0.0.2"),
            IE_Cause(cause=1),
            IE_FSEID(v4=1, seid=UP_SEID, ipv4="10.0.0.2"),
            IE_CreatedPDR(IE_list=[
                IE_PDR_Id(id=1),
                IE_FTEID(V4=1, TEID=0x00abcdef, ipv4="192.168.1.10"),
            ]),
        ])


def modification_request():
    """Handover: the downlink FAR gets a new eNB/gNB address and TEID."""
    return PFCP(version=1, S=1, seid=UP_SEID, seq=4) / \
        PFCPSessionModificationRequest(IE_list=[
            IE_RemovePDR(IE_list=[IE_PDR_Id(id=7)]),
            IE_UpdateFAR(IE_list=[
                IE_FAR_Id(id=2),
                IE_ApplyAction(FORW=1),
                IE_UpdateForwardingParameters(IE_list=[
                    IE_OuterHeaderCreation(GTPUUDPIPV4=1, TEID=0x3000,
                                           ipv4="192.168.1.30"),
                    IE_PFCPSMReqFlags(SNDEM=1),
                ]),
            ]),
        ])


def modification_response_rejected():
    return PFCP(version=1, S=1, seid=CP_SEID, seq=4) / \
        PFCPSessionModificationResponse(IE_list=[
            IE_Cause(cause=66),
            IE_OffendingIE(type=56),
        ])


def usage_report(cls, trigger, seqn):
    return cls(IE_list=[
        IE_URR_Id(id=1),
        IE_UR_SEQN(number=seqn),
        trigger,
        IE_StartTime(timestamp=RECOVERY + 10),
        IE_EndTime(timestamp=RECOVERY + 70),
        IE_VolumeMeasurement(TOVOL=1, ULVOL=1, DLVOL=1, total=3000,
                             uplink=1000, downlink=2000),
        IE_DurationMeasurement(duration=60),
    ])


def deletion_response():
    return PFCP(version=1, S=1, seid=CP_SEID, seq=5) / \
        PFCPSessionDeletionResponse(IE_list=[
            IE_Cause(cause=1),
            usage_report(IE_UsageReport_SDR, IE_UsageReportTrigger(TERMR=1),
                         2),
        ])


def report_request():
    return PFCP(version=1, S=1, seid=CP_SEID, seq=6) / \
        PFCPSessionReportRequest(IE_list=[
            IE_ReportType(USAR=1),
            usage_report(IE_UsageReport_SRR, IE_UsageReportTrigger(VOLTH=1),
                         1),
        ])


VECTORS = [
    ("heartbeat_request",
     PFCP(version=1, S=0, seq=1) /
     PFCPHeartbeatRequest(IE_list=[IE_RecoveryTimeStamp(timestamp=RECOVERY)])),
    ("heartbeat_response",
     PFCP(version=1, S=0, seq=1) /
     PFCPHeartbeatResponse(IE_list=[
         IE_RecoveryTimeStamp(timestamp=RECOVERY + 1)])),
    ("association_setup_request",
     PFCP(version=1, S=0, seq=2) /
     PFCPAssociationSetupRequest(IE_list=[
         IE_NodeId(id_type="IPv4", ipv4="10.0.0.1"),
         IE_RecoveryTimeStamp(timestamp=RECOVERY),
         IE_CPFunctionFeatures(LOAD=1),
     ])),
    ("association_setup_response",
     PFCP(version=1, S=0, seq=2) /
     PFCPAssociationSetupResponse(IE_list=[
         IE_NodeId(id_type="FQDN", id="upf1.vigil.test"),
         IE_Cause(cause=1),
         IE_RecoveryTimeStamp(timestamp=RECOVERY + 1),
         IE_UPFunctionFeatures(TREU=0, HEEU=0, PFDM=0, FTUP=1, TRST=0,
                               DLBD=0, DDND=0, BUCP=0, spare=0, PFDE=0,
                               FRRT=0, TRACE=0, QUOAC=0, UDBC=0, PDIU=0,
                               EMPU=1),
         IE_UserPlaneIPResourceInformation(V4=1, ASSONI=1, ASSOSI=1,
                                           ipv4="192.168.1.10",
                                           network_instance="access",
                                           interface="Access"),
     ])),
    ("association_release_request",
     PFCP(version=1, S=0, seq=7) /
     PFCPAssociationReleaseRequest(IE_list=[
         IE_NodeId(id_type="IPv6", ipv6="2001:db8::2")])),
    ("association_release_response",
     PFCP(version=1, S=0, seq=7) /
     PFCPAssociationReleaseResponse(IE_list=[
         IE_NodeId(id_type="IPv4", ipv4="10.0.0.1"),
         IE_Cause(cause=1)])),
    ("node_report_request",
     PFCP(version=1, S=0, seq=8) /
     PFCPNodeReportRequest(IE_list=[
         IE_NodeId(id_type="IPv4", ipv4="10.0.0.2"),
         IE_NodeReportType(UPFR=1),
         IE_UserPlanePathFailureReport(IE_list=[
             IE_RemoteGTP_U_Peer(V4=1, ipv4="192.168.1.20"),
             IE_RemoteGTP_U_Peer(V6=1, ipv6="2001:db8::20"),
         ]),
     ])),
    ("session_establishment_request", establishment_request()),
    ("session_establishment_request_choose", establishment_request_choose()),
    ("session_establishment_response", establishment_response()),
    ("session_modification_request", modification_request()),
    ("session_modification_response", modification_response_rejected()),
    ("session_deletion_request",
     PFCP(version=1, S=1, seid=UP_SEID, seq=5) /
     PFCPSessionDeletionRequest()),
    ("session_deletion_response", deletion_response()),
    ("session_report_request", report_request()),
    ("session_report_response",
     PFCP(version=1, S=1, seid=UP_SEID, seq=6) /
     PFCPSessionReportResponse(IE_list=[IE_Cause(cause=1)])),
]


def c_array(name, data):
    lines = ["static const uint8_t v_%s[] = {" % name]
    for i in range(0, len(data), 12):
        chunk = ", ".join("0x%02x" % b for b in data[i:i + 12])
        lines.append("    %s," % chunk)
    lines.append("};")
    return "\n".join(lines)


def c_source():
    parts = ["/* BEGIN scapy vectors: generated by "
             "tests/unit/pfcp_scapy_vectors.py */"]
    for name, pkt in VECTORS:
        parts.append(c_array(name, bytes(pkt)))
    parts.append("/* END scapy vectors */")
    return "\n".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--update-test", metavar="C_FILE")
    ap.add_argument("--corpus", metavar="DIR")
    ap.add_argument("--pcap", metavar="FILE")
    args = ap.parse_args()
    if args.update_test:
        with open(args.update_test) as f:
            text = f.read()
        new, n = re.subn(r"/\* BEGIN scapy vectors.*?/\* END scapy vectors \*/",
                         lambda m: c_source(), text, flags=re.S)
        if n != 1:
            sys.exit("markers not found in %s" % args.update_test)
        with open(args.update_test, "w") as f:
            f.write(new)
    if args.corpus:
        os.makedirs(args.corpus, exist_ok=True)
        for name, pkt in VECTORS:
            with open(os.path.join(args.corpus, "scapy-" + name), "wb") as f:
                f.write(bytes(pkt))
    if args.pcap:
        from scapy.layers.inet import IP, UDP
        from scapy.utils import wrpcap
        wrpcap(args.pcap, [IP(src="10.0.0.1", dst="10.0.0.2") /
                           UDP(sport=8805, dport=8805) / pkt
                           for _, pkt in VECTORS])
    if not (args.update_test or args.corpus or args.pcap):
        print(c_source())


if __name__ == "__main__":
    main()
