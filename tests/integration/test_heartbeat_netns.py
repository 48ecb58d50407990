#!/usr/bin/env python3
"""Integration: host faults seen by vigil-monitor (heartbeats, NIC links,
processes) reach a subscribed VNFM, across veth pairs in network
namespaces this test creates.

Topology (10.N.0.0/16 with an N no root address or route uses; every name
carries this process's pid; all removed at the end, also on failure):

    root: vigil-notifier, vigil-vnfm-sample (127.0.0.1),
          vigil-inspector on 10.N.1.1 (reachable from both namespaces)
      |  veth 10.N.1.1 <-> 10.N.1.2           veth 10.N.2.1 <-> 10.N.2.2  |
    namespace A: vigil-monitor "hb-a"     namespace B: vigil-monitor "hb-b"
          hb0 10.N.3.1 <------- veth: heartbeats -------> hb0 10.N.3.2
          nic0 <-> nic1 (a veth pair inside A, watched by A's monitor)

The monitors run with [libvirt] enabled = false and heartbeat each other
every 5 ms (the defaults: down when 7 in a row are missing, up after 20).
Cases:
  (a) nftables 'numgen random mod 100 < 5 drop' on both heartbeat inputs
      for LOSS_S seconds: heartbeats are lost, no host is declared down;
  (b) forged datagrams (scapy sniffs a genuine heartbeat on hb0; replays,
      altered bytes, a wrong key, a stale incarnation, an unknown sender
      built with Python's own HMAC, a runt) are counted by reason and
      change nothing;
  (c) NIC: nic1 down -> compute.host.nic.down (carrier lost on nic0), up
      -> compute.host.nic.up;
  (d) process: the "nova-compute" stand-in (a copy of sleep, watched
      through its pidfile) killed -> compute.host.process.down; restarted
      -> compute.host.process.up;
  (e) kill -STOP monitor A -> compute.host.down for hb-a (from hb-b), kill
      -CONT -> compute.host.up;
  (f) kill -9 and restart monitor A -> down, then up with restarted = true
      and the new incarnation;
  (g) a clean stop (SIGTERM) announces itself: no alarm; every daemon
      exits 0.
Timings are not asserted (a deadline only bounds a failing wait).

Run as root: /usr/bin/python3 tests/integration/test_heartbeat_netns.py
--build-dir BUILD (VIGIL_HB_LOSS_S=N changes the loss run, default 30 s).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))

from vigil_harness import (  # noqa: E402
    Harness, HarnessError, Netns, Process, Suite, alarm_traits, check,
    parse_build_dir, run_main, start_daemon_at, wait_for)

HOST_A, HOST_B = "hb-a", "hb-b"
KEY = "vigil heartbeat test key, 32 by"
LOSS_S = float(os.environ.get("VIGIL_HB_LOSS_S", "30"))
ALARM = "hb-test-vnfm"

FORGE = r'''
import hashlib, hmac, json, socket, struct, sys
from scapy.all import sniff, IP, UDP
key, iface, src, dst, port = sys.argv[1].encode(), sys.argv[2], \
    sys.argv[3], sys.argv[4], int(sys.argv[5])

def genuine(p):
    return IP in p and UDP in p and p[IP].src == src and \
        p[UDP].dport == port
got = sniff(iface=iface, count=1, lfilter=genuine, timeout=10)
if not got:
    sys.exit("no heartbeat seen on %s" % iface)
real = bytes(got[0][UDP].payload)
magic, version, flags, hlen, _, interval, inc, seq, sent = \
    struct.unpack(">IBBBBIQQQ", real[:36])
host = real[36:36 + hlen].decode()

def packet(k, name, incarnation, sequence):
    head = struct.pack(">IBBBBIQQQ", 0x56474842, 1, 0, len(name), 0,
                       5000, incarnation, sequence, 1) + name.encode()
    return head + hmac.new(k, head, hashlib.sha256).digest()[:16]

altered = bytearray(real); altered[-1] ^= 1
moved = bytearray(real); moved[20:28] = struct.pack(">Q", seq + 1000)
sent = {
    "replayed": [real, real, real],
    "bad_mac": [bytes(altered), bytes(moved),
                packet(b"not the key but 32 bytes long...", host, inc,
                       seq + 5000)],
    "unknown_sender": [packet(key, "intruder", inc, seq + 1)],
    "stale_incarnation": [packet(key, host, inc - 1, seq + 10000)],
    "malformed": [b"\x56\x47\x48\x42 too short"],
}
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for datagrams in sent.values():
    for d in datagrams:
        s.sendto(d, (dst, port))
print(json.dumps({"host": host, "incarnation": "%016x" % inc,
                  "counts": {k: len(v) for k, v in sent.items()}}))
'''


class Net:
    """Addresses, ports and namespaces of the test."""
    nets = None
    ns_a = ns_b = None
    n = 0
    port = 0             # heartbeat port (both monitors)
    inspector_port = 0
    incarnation_a = None
    nets_dir = None
    key_file = None
    pidfile = None
    nova = None          # the stand-in process
    nova_binary = None


def addr(last, third):
    return "10.%d.%d.%d" % (Net.n, third, last)


def monitor_args(name, peer, own_hb, peer_hb, extra=()):
    return ["--libvirt.enabled=false",
            "--monitor.hostname=%s" % name,
            "--inspector.url=http://%s:%d/events" % (
                addr(1, 1), Net.inspector_port),
            "--heartbeat.listen=%s:%d" % (own_hb, Net.port),
            "--heartbeat.send_to=%s:%d" % (peer_hb, Net.port),
            "--heartbeat.peers=%s" % peer,
            "--heartbeat.key_file=%s" % Net.key_file] + list(extra)


def start_monitor_a(h):
    return start_daemon_at(h, "monitor-a", "vigil-monitor", addr(2, 1),
                           monitor_args(HOST_A, HOST_B, addr(1, 3),
                                        addr(2, 3), [
                               "--linkwatch.interfaces=nic0",
                               "--procwatch.processes=nova-compute:%s"
                               % Net.pidfile]), netns=Net.ns_a)


def start_monitor_b(h):
    return start_daemon_at(h, "monitor-b", "vigil-monitor", addr(2, 2),
                           monitor_args(HOST_B, HOST_A, addr(2, 3),
                                        addr(1, 3)), netns=Net.ns_b)


def peer_state(monitor, peer):
    return monitor.metric('vigil_monitor_heartbeat_peer_state{peer="%s"}'
                          % peer, -1)


def wait_peers_up(h):
    wait_for(lambda: peer_state(h.daemons["monitor-a"], HOST_B) == 1,
             what="monitor A to see %s up" % HOST_B)
    wait_for(lambda: peer_state(h.daemons["monitor-b"], HOST_A) == 1,
             what="monitor B to see %s up" % HOST_A)


def start_nova():
    """The nova-compute stand-in: a copy of sleep named nova-compute (its
    comm), its pid in the pidfile (written aside and renamed)."""
    Net.nova = Process("nova-compute", [Net.nova_binary, "3600"],
                       Net.pidfile + ".log").start()
    tmp = Net.pidfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % Net.nova.pid)
    os.rename(tmp, Net.pidfile)
    return Net.nova


def setup(h):
    nets = Net.nets
    Net.n = nets.free_subnet()
    Net.ns_a, Net.ns_b = nets.add("a"), nets.add("b")
    nets.veth(None, nets.name("ra"), "%s/24" % addr(1, 1),
              Net.ns_a, "eth0", "%s/24" % addr(2, 1))
    nets.veth(None, nets.name("rb"), "%s/24" % addr(1, 2),
              Net.ns_b, "eth0", "%s/24" % addr(2, 2))
    nets.veth(Net.ns_a, "hb0", "%s/24" % addr(1, 3),
              Net.ns_b, "hb0", "%s/24" % addr(2, 3))
    nets.veth(Net.ns_a, "nic0", None, Net.ns_a, "nic1", None)
    nets.run(Net.ns_a, "ip", "route", "add", "default", "via", addr(1, 1))
    nets.run(Net.ns_b, "ip", "route", "add", "default", "via", addr(1, 2))
    nets.wait_link_up(Net.ns_a, "nic0")
    nets.wait_link_up(Net.ns_a, "hb0")
    nets.wait_link_up(Net.ns_b, "hb0")

    Net.key_file = os.path.join(h.dir, "heartbeat.key")
    with open(Net.key_file, "w") as f:
        f.write(KEY + "\n")
    os.chmod(Net.key_file, 0o600)
    Net.port = 17000 + os.getpid() % 20000
    Net.pidfile = os.path.join(h.dir, "nova-compute.pid")
    Net.nova_binary = os.path.join(h.dir, "nova-compute")
    shutil.copy(shutil.which("sleep"), Net.nova_binary)
    start_nova()

    h.start_notifier()
    inspector = start_daemon_at(h, "inspector", "vigil-inspector", addr(1, 1),
                                ["--notifier.url=%s" % h.daemons[
                                    "notifier"].url("/v1/events")])
    Net.inspector_port = inspector.port
    h.start_consumer("--consumer.alarm_name=%s" % ALARM,
                     "--consumer.event_type=compute.host.*")
    start_monitor_a(h)
    start_monitor_b(h)
    wait_peers_up(h)


def host_alarms(h, **want):
    return h.daemons["consumer"].matching(**want)


def downs(h):
    return [a for a in h.daemons["consumer"].alarms()
            if a["body"].get("reason_data", {}).get("event", {}).get(
                "event_type") == "compute.host.down"]


def nft(ns, script):
    path = os.path.join(Net.nets_dir, "rules-%s.nft" % ns)
    with open(path, "w") as f:
        f.write(script)
    Net.nets.run(ns, "nft", "-f", path)


def case_loss(h):
    """(a) 5 % random loss on both heartbeat paths: no host goes down."""
    a, b = h.daemons["monitor-a"], h.daemons["monitor-b"]
    missed_before = (a.metric("vigil_monitor_heartbeats_missed_total") +
                     b.metric("vigil_monitor_heartbeats_missed_total"))
    rules = ("table inet vigil_hb_loss {\n"
             "  chain input {\n"
             "    type filter hook input priority 0; policy accept;\n"
             "    udp dport %d numgen random mod 100 < 5 drop\n"
             "  }\n}\n" % Net.port)
    for ns in (Net.ns_a, Net.ns_b):
        nft(ns, rules)
    time.sleep(LOSS_S)
    for ns in (Net.ns_a, Net.ns_b):
        Net.nets.run(ns, "nft", "delete", "table", "inet", "vigil_hb_loss")
    missed = (a.metric("vigil_monitor_heartbeats_missed_total") +
              b.metric("vigil_monitor_heartbeats_missed_total")) - \
        missed_before
    sent = LOSS_S * 1000 / 5 * 2
    print("  %.0f s at 5 %% loss: %d of ~%d heartbeats lost" % (
        LOSS_S, missed, sent), flush=True)
    # The loss did happen (about 5 %: far more than 1 % of them).
    check(missed > sent * 0.01, "only %d heartbeats lost" % missed)
    for m, peer in ((a, HOST_B), (b, HOST_A)):
        check(m.metric('vigil_monitor_heartbeat_events_total{type="down"}')
              == 0, "%s declared a host down" % m.name)
        check(peer_state(m, peer) == 1, "%s: %s not up" % (m.name, peer))
    check(not downs(h), "host.down alarms: %r" % downs(h))


def case_forged(h):
    """(b) forged, replayed, stale and unknown heartbeats are counted per
    reason and change nothing."""
    a = h.daemons["monitor-a"]
    reasons = ("replayed", "too_old", "bad_mac", "unknown_sender",
               "stale_incarnation", "malformed")

    def rejected():
        return {r: a.metric('vigil_monitor_heartbeats_rejected_total'
                            '{reason="%s"}' % r) for r in reasons}
    before = rejected()
    script = os.path.join(Net.nets_dir, "forge.py")
    with open(script, "w") as f:
        f.write(FORGE)
    # Sniffs B's heartbeat on A's hb0 and sends the forgeries to A.
    r = Net.nets.run(Net.ns_a, "/usr/bin/python3", script, KEY, "hb0",
                     addr(2, 3), addr(1, 3), str(Net.port), timeout=60)
    report = json.loads(r.stdout.strip().splitlines()[-1])
    check(report["host"] == HOST_B, "sniffed %r" % report)

    def counted():
        now = rejected()
        delta = {k: now[k] - before[k] for k in reasons}
        delta["replayed"] += delta.pop("too_old")
        return delta if all(delta[k] >= report["counts"][k]
                            for k in report["counts"]) else None
    delta = wait_for(counted, what="the forgeries to be counted")
    for reason, count in report["counts"].items():
        check(delta[reason] == count, "%s: %d counted, %d sent" % (
            reason, delta[reason], count))
    time.sleep(0.2)
    check(peer_state(a, HOST_B) == 1, "hb-b no longer up at A")
    check(a.metric("vigil_monitor_heartbeat_restarts_total") == 0,
          "a forgery passed for a restart")
    check(not downs(h), "host.down alarms: %r" % downs(h))


def case_nic(h):
    """(c) the far end of nic0 goes down: nic0 loses its carrier."""
    Net.nets.run(Net.ns_a, "ip", "link", "set", "nic1", "down")
    alarm = h.daemons["consumer"].wait_alarms(
        event_type="compute.host.nic.down", hostname=HOST_A)[0]
    traits = alarm_traits(alarm)
    check(traits.get("interface") == "nic0", "traits: %r" % traits)
    check(traits.get("status") == "down", "traits: %r" % traits)
    check(traits.get("monitor") == "vigil-monitor", "traits: %r" % traits)
    check(traits.get("operstate") == "LOWERLAYERDOWN", "traits: %r" % traits)
    Net.nets.run(Net.ns_a, "ip", "link", "set", "nic1", "up")
    h.daemons["consumer"].wait_alarms(event_type="compute.host.nic.up",
                                      hostname=HOST_A, interface="nic0")


def case_process(h):
    """(d) the nova-compute stand-in dies, then comes back."""
    pid = Net.nova.pid
    Net.nova.kill()
    alarm = h.daemons["consumer"].wait_alarms(
        event_type="compute.host.process.down", hostname=HOST_A)[0]
    traits = alarm_traits(alarm)
    check(traits.get("process") == "nova-compute", "traits: %r" % traits)
    check(str(traits.get("pid")) == str(pid), "traits: %r" % traits)
    check(traits.get("pidfile") == Net.pidfile, "traits: %r" % traits)
    start_nova()
    alarm = h.daemons["consumer"].wait_alarms(
        event_type="compute.host.process.up", hostname=HOST_A)[0]
    check(str(alarm_traits(alarm).get("pid")) == str(Net.nova.pid),
          "traits: %r" % alarm_traits(alarm))


def case_stop_resume(h):
    """(e) monitor A stops (SIGSTOP): B reports hb-a down; SIGCONT: up."""
    a = h.daemons["monitor-a"]
    a.signal(signal.SIGSTOP)
    try:
        alarm = h.daemons["consumer"].wait_alarms(
            event_type="compute.host.down", hostname=HOST_A)[0]
    finally:
        a.signal(signal.SIGCONT)
    traits = alarm_traits(alarm)
    for key, value in (("status", "down"), ("monitor", "vigil-monitor"),
                       ("observer", HOST_B)):
        check(traits.get(key) == value, "%s: %r" % (key, traits))
    check(str(traits.get("k")) == "7" and str(traits.get("n")) == "7",
          "k, n: %r" % traits)
    check(int(traits.get("missed")) >= 7, "missed: %r" % traits)
    check(traits.get("monitor_event_id"), "monitor_event_id: %r" % traits)
    Net.incarnation_a = traits.get("incarnation")
    up = h.daemons["consumer"].wait_alarms(
        event_type="compute.host.up", hostname=HOST_A)[0]
    up_traits = alarm_traits(up)
    check(up_traits.get("incarnation") == Net.incarnation_a,
          "a resumed monitor is the same incarnation: %r" % up_traits)
    check(str(up_traits.get("restarted")).lower() == "false",
          "restarted: %r" % up_traits)
    # A, resumed, did not take its own pause for B's fault.
    check(a.metric('vigil_monitor_heartbeat_events_total{type="down"}') == 0,
          "monitor A declared hb-b down after its pause")


def case_kill_restart(h):
    """(f) monitor A killed (-9): down; restarted: up, a new incarnation."""
    consumer = h.daemons["consumer"]
    h.daemons["monitor-a"].kill()
    consumer.wait_alarms(count=2, event_type="compute.host.down",
                         hostname=HOST_A)
    start_monitor_a(h)
    ups = consumer.wait_alarms(count=2, event_type="compute.host.up",
                               hostname=HOST_A)
    traits = alarm_traits(ups[-1])
    check(str(traits.get("restarted")).lower() == "true",
          "restarted: %r" % traits)
    check(traits.get("incarnation") != Net.incarnation_a,
          "the same incarnation after a restart: %r" % traits)
    b = h.daemons["monitor-b"]
    check(b.metric("vigil_monitor_heartbeat_restarts_total") >= 1,
          "monitor B did not count the restart")
    wait_peers_up(h)


def case_clean_stop(h):
    """(g) SIGTERM: A says goodbye, B does not report it down; every
    daemon exits 0."""
    consumer = h.daemons["consumer"]
    before = len(downs(h))
    code = h.daemons["monitor-a"].stop()
    check(code == 0, "monitor A exited %r" % code)
    b = h.daemons["monitor-b"]
    wait_for(lambda: peer_state(b, HOST_A) == 3,
             what="monitor B to see hb-a leave")
    time.sleep(0.3)
    check(len(downs(h)) == before, "a clean stop raised host.down")
    check(consumer is h.daemons["consumer"], "consumer replaced")
    codes = h.stop_daemons(order=("monitor-b", "consumer", "inspector",
                                  "notifier"))
    check(all(c == 0 for c in codes.values()), "exit codes: %r" % codes)


def main():
    build_dir = parse_build_dir(description=__doc__.split("\n")[0])
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces, nftables)")
        print("0 passed, 0 failed")
        return 0
    Net.nets = Netns("hb")
    try:
        with Harness(build_dir, "heartbeat") as h:
            Net.nets_dir = h.dir
            suite = Suite("host faults on veth pairs in network namespaces",
                          h)
            if suite.case("set up namespaces, veths and daemons", setup, h):
                suite.case("(a) %.0f s at 5 %% random loss: no false alarm"
                           % LOSS_S, case_loss, h)
                suite.case("(b) forged and replayed heartbeats change "
                           "nothing", case_forged, h)
                suite.case("(c) NIC link down/up", case_nic, h)
                suite.case("(d) watched process killed and restarted",
                           case_process, h)
                suite.case("(e) monitor stopped (SIGSTOP) and resumed",
                           case_stop_resume, h)
                suite.case("(f) monitor killed and restarted: new "
                           "incarnation", case_kill_restart, h)
                suite.case("(g) clean stop is not a fault; clean exits",
                           case_clean_stop, h)
            if Net.nova:
                Net.nova.kill()
            return suite.finish()
    except HarnessError as e:
        print("FAIL: %s" % e)
        print("0 passed, 1 failed")
        return 1
    finally:
        if Net.nova:
            Net.nova.kill()
        Net.nets.remove()


if __name__ == "__main__":
    run_main(main)
