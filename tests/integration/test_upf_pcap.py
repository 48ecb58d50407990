#!/usr/bin/env python3
"""Integration: pcap regression cases of vigil-upf through net_pcap.

For each case directory in tests/upf-pcaps/ (made by make_pcaps.py, which
builds the expected frames with scapy from the protocol definitions):
vigil-upf starts as a standby with net_pcap ports reading access_in.pcap
and core_in.pcap and writing what it sends to pcap files, with the case's
static neighbours; a scapy SMF sets up the case's sessions over PFCP (on
a veth in network namespaces, as in the other UPF tests); the data plane
is activated (POST /v1/activate), reads every input frame, and is stopped
with SIGTERM (which closes the output pcaps). The output must equal
access_out.pcap and core_out.pcap frame for frame, byte for byte, and the
case's counters must match. vigil-upf must exit 0.

Run: /usr/bin/python3 tests/integration/test_upf_pcap.py --build-dir BUILD
"""

import json
import logging
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))

from vigil_harness import (  # noqa: E402
    Suite, check, parse_build_dir, run_main)
from upf_harness import Smf, UpfLab  # noqa: E402

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import Ether, rdpcap  # noqa: E402

CASES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                     "upf-pcaps")
UPF_MACS = {"access": "02:70:63:61:70:00", "core": "02:70:63:61:70:01"}


def frames(path):
    return [bytes(p) for p in rdpcap(path)] if os.path.getsize(path) else []


def compare(side, got, expected):
    """Raises with the first difference between two frame lists."""
    for i, (g, e) in enumerate(zip(got, expected)):
        if g != e:
            raise AssertionError(
                "%s frame %d differs:\n got      %s\n expected %s\n%s\n%s"
                % (side, i, g.hex(), e.hex(),
                   Ether(g).show2(dump=True), Ether(e).show2(dump=True)))
    check(len(got) == len(expected), "%s: %d frames out, expected %d"
          % (side, len(got), len(expected)))


def run_case(build_dir, name):
    d = os.path.join(CASES, name)
    with open(os.path.join(d, "case.json")) as f:
        case = json.load(f)
    with UpfLab(build_dir, "upf-pcap-" + name) as lab:
        try:
            out = {side: os.path.join(lab.dir, side + "_out.pcap")
                   for side in ("access", "core")}
            vdevs = ["net_pcap%d,rx_pcap=%s,tx_pcap=%s"
                     % (i, os.path.join(d, side + "_in.pcap"), out[side])
                     for i, side in enumerate(("access", "core"))]
            lab.start_upf("--dataplane.standby=true",
                          "--access.neighbours=" + case["neighbours"]["access"],
                          "--core.neighbours=" + case["neighbours"]["core"],
                          "--gtpu.error_indication_rate=1000",
                          vdevs=vdevs)
            for side in ("access", "core"):
                check(lab.status[side]["mac"] == UPF_MACS[side],
                      "net_pcap %s MAC %s, the case expects %s"
                      % (side, lab.status[side]["mac"], UPF_MACS[side]))
            check(lab.status["active"] is False, "standby at start")
            smf = Smf(lab)
            check(smf.cause(smf.associate()) == 1, "association")
            for s in case["sessions"]:
                smf.establish(s["cp_seid"], s["ue"], s["gnb_teid"],
                              qfi=s["qfi"], ul_teid=s["ul_teid"])
            r = lab.api("POST", "/v1/activate", {})
            check(r.status == 200, "activate: %r" % r)
            inputs = {side: len(frames(os.path.join(d, side + "_in.pcap")))
                      for side in ("access", "core")}
            for side, n in inputs.items():
                lab.wait_metric('vigil_upf_rx_packets_total{side="%s"}'
                                % side, n)
            expected_out = {side: frames(os.path.join(d, side + "_out.pcap"))
                            for side in ("access", "core")}
            for side, exp in expected_out.items():
                lab.wait_metric('vigil_upf_tx_packets_total{side="%s"}'
                                % side, len(exp))
            metrics = lab.metrics()
            code = lab.stop_upf()
            check(code == 0, "exit code %r:\n%s" % (code, lab.upf.tail(30)))
            for side in ("access", "core"):
                compare(side, frames(out[side]), expected_out[side])
            for series, value in case["counters"].items():
                check(metrics.get(series, 0) == value,
                      "%s = %r, expected %r" % (series, metrics.get(series),
                                                value))
        except BaseException:
            lab.failed = True
            lab.print_logs()
            raise


def main():
    build_dir = parse_build_dir(description=__doc__)
    suite = Suite("vigil-upf pcap regression (net_pcap)")
    names = sorted(n for n in os.listdir(CASES)
                   if os.path.isfile(os.path.join(CASES, n, "case.json")))
    if not names:
        suite.fail("cases", "no case in %s" % CASES)
    for name in names:
        suite.case("pcap case %s" % name, run_case, build_dir, name)
    return suite.finish()


if __name__ == "__main__":
    run_main(main)
