#!/usr/bin/python3
"""Integration: PFCP messages encoded by vigil-upf's codec, read by tshark
and scapy, two implementations independent of ours.

The unit test test_upf_pfcp encodes one message of every type the codec
knows, with every IE and flag it supports (IPv6, packet counts, C-TAG and
S-TAG, CH/CHID, three-octet triggers, ...), and writes each to a directory
when PFCP_WRITE_CORPUS is set. This test runs it, wraps the messages in
IPv4/UDP 8805 in a pcap, and checks that
  - tshark dissects each as PFCP of the message type we wrote, with no
    malformed packet and no expert info of warning severity or above
    (and that the same filter does flag a truncated message);
  - scapy (scapy.contrib.pfcp) parses each into known IEs only and builds
    the same bytes back.

Run: /usr/bin/python3 tests/integration/test_upf_pfcp_tshark.py \
         --build-dir BUILD
"""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))

from vigil_harness import (  # noqa: E402
    Suite, check, parse_build_dir, run_main)

from scapy.contrib.pfcp import PFCP, IE_NotImplemented  # noqa: E402
from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.packet import Raw  # noqa: E402
from scapy.utils import wrpcap  # noqa: E402

BAD_FILTER = '_ws.malformed || _ws.expert.severity >= "warning"'


def encode_messages(build_dir, out_dir):
    binary = os.path.join(build_dir, "tests", "test_upf_pfcp")
    check(os.access(binary, os.X_OK), "%s not built" % binary)
    env = dict(os.environ, PFCP_WRITE_CORPUS=out_dir)
    r = subprocess.run([binary], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    check(r.returncode == 0, "test_upf_pfcp failed:\n%s"
          % r.stdout.decode(errors="replace")[-2000:])
    names = sorted(os.listdir(out_dir))
    check(len(names) >= 25, "only %d messages written" % len(names))
    messages = []
    for name in names:
        with open(os.path.join(out_dir, name), "rb") as f:
            messages.append((name, f.read()))
    return messages


def write_pcap(path, payloads):
    wrpcap(path, [IP(src="192.0.2.1", dst="192.0.2.2") /
                  UDP(sport=8805, dport=8805) / Raw(p) for p in payloads])


def tshark(*args):
    r = subprocess.run(["tshark"] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    check(r.returncode == 0, "tshark %s: %s" % (" ".join(args),
                                                r.stderr.decode()[-500:]))
    return r.stdout.decode()


def case_tshark(messages, workdir):
    pcap = os.path.join(workdir, "ours.pcap")
    write_pcap(pcap, [m for _, m in messages])
    types = tshark("-r", pcap, "-T", "fields", "-e", "pfcp.msg_type")
    lines = types.splitlines()
    check(len(lines) == len(messages),
          "%d frames dissected, %d written" % (len(lines), len(messages)))
    for (name, data), line in zip(messages, lines):
        check(line.strip() == str(data[1]),
              "%s: tshark message type %r, we wrote %d" % (name, line,
                                                          data[1]))
    bad = tshark("-r", pcap, "-Y", BAD_FILTER, "-T", "fields",
                 "-e", "frame.number", "-e", "_ws.expert.message")
    check(not bad.strip(), "tshark complains:\n%s\nframes: %s" % (
        bad, [messages[int(x.split()[0]) - 1][0]
              for x in bad.splitlines() if x.strip()]))


def case_tshark_flags_truncation(messages, workdir):
    """The filter above must be able to fail: a message cut short inside
    an IE (length field unchanged) is reported by tshark."""
    pcap = os.path.join(workdir, "cut.pcap")
    name, data = max(messages, key=lambda m: len(m[1]))
    write_pcap(pcap, [data[:len(data) // 2]])
    bad = tshark("-r", pcap, "-Y", BAD_FILTER)
    check(bad.strip(), "tshark did not flag half of %s" % name)


def scapy_ies(pkt):
    layer = pkt
    while layer:
        for ie in getattr(layer, "IE_list", None) or []:
            yield ie
            yield from scapy_ies(ie)
        layer = layer.payload if layer.payload else None


def forget_raw(pkt):
    """Drops scapy's cache of the dissected bytes (recursively), so that
    bytes(pkt) really builds the message from the parsed fields."""
    layer = pkt
    while layer:
        layer.raw_packet_cache = None
        for ie in getattr(layer, "IE_list", None) or []:
            forget_raw(ie)
        layer = layer.payload if layer.payload else None


def case_scapy(messages):
    for name, data in messages:
        pkt = PFCP(data)
        forget_raw(pkt)
        check(pkt.message_type == data[1], "%s: type %r" % (name,
                                                           pkt.message_type))
        if Raw in pkt:
            check(False, "%s: scapy left raw bytes: %r" % (
                name, bytes(pkt[Raw])[:32]))
        unknown = [ie.ietype for ie in scapy_ies(pkt)
                   if isinstance(ie, IE_NotImplemented)]
        check(not unknown, "%s: IE types unknown to scapy: %r" % (name,
                                                                 unknown))
        check(bytes(pkt) == data, "%s: scapy rebuilds other bytes" % name)


def main():
    build_dir = parse_build_dir(description=__doc__)
    suite = Suite("integration/test_upf_pfcp_tshark: our PFCP encodings "
                  "through tshark and scapy")
    with tempfile.TemporaryDirectory(prefix="vigil-pfcp-") as workdir:
        out_dir = os.path.join(workdir, "messages")
        os.mkdir(out_dir)
        messages = suite.case("test_upf_pfcp encodes every message type",
                              encode_messages, build_dir, out_dir)
        if not messages:
            return suite.finish()
        suite.case("tshark: right message types, nothing malformed",
                   case_tshark, messages, workdir)
        suite.case("tshark: the check does flag a truncated message",
                   case_tshark_flags_truncation, messages, workdir)
        suite.case("scapy: known IEs only, same bytes rebuilt", case_scapy,
                   messages)
    return suite.finish()


if __name__ == "__main__":
    run_main(main)
