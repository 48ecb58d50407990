#!/usr/bin/env python3
"""bench-host-fault: host fault -> VNFM notified through the heartbeat
path, and false alarms at 5 % random loss (scripts/bench-host-fault.sh
builds Vigil in Release and runs this).

Set-up (as tests/integration/test_heartbeat_netns.py): two network
namespaces joined by a veth pair, vigil-monitor "hb-a" in one and "hb-b"
in the other ([libvirt] enabled = false), heartbeating each other at the
defaults (5 ms, down after 7 missing in a row, up after 20); in the root
namespace vigil-inspector (on a veth address both namespaces reach),
vigil-notifier and the sample VNFM vigil-vnfm-sample, subscribed to
compute.host.*. All daemons at log level warning.

Faults, alternating at a random phase of the heartbeat slot:
  stop  kill -STOP of hb-a's monitor: it sends nothing more (the host is
        frozen); T00 is stamped just before kill(2);
  drop  an nftables rule dropping hb-a's heartbeats on hb-b's input, added
        through a running `nft -i` in hb-b's namespace; T00 is stamped just
        before the rule is written (the rule commits within one nft -i
        round trip, measured and printed).
For each fault the VNFM's alarm for compute.host.down of hb-a carries the
profiler stamps: T01 (hb-b's monitor decided), T02 (inspector received),
T06..T08 (inspector out, notifier in, webhook sent); T09 is the VNFM's
receipt (CLOCK_MONOTONIC, all processes share the clock). Then the fault is
undone (SIGCONT / rule flushed) and the compute.host.up alarm awaited.

False alarms: both heartbeat inputs drop 5 % of datagrams at random
(`udp dport P numgen random mod 100 < 5 drop`) for --loss-seconds (default
600: 10 minutes); every compute.host.down the VNFM receives, and every
down either monitor declares, is a false alarm.

It prints the figures and how they were measured, and ends with one JSON
line. It asserts nothing about timings.

Usage: bench/bench-host-fault.py --build-dir BUILD [--count N]
       [--loss-seconds S] [--kinds stop,drop]   (needs root)
"""

import argparse
import json
import os
import platform
import random
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "lib"))

from vigil_harness import (  # noqa: E402
    Harness, HarnessError, Interrupted, Netns, alarm_stamps, alarm_traits,
    mono_ns, start_daemon_at, wait_for)

HOST_A, HOST_B = "hb-a", "hb-b"
KEY = "vigil heartbeat benchmark key 32"
ALARM = "bench-host-fault"
INTERVAL_MS, K, N, GRACE_MS, UP_RUN = 5, 7, 7, 2, 20


def cache_value(build_dir, key):
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return "?"


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(p / 100.0 *
                                                   len(ordered) + 0.5)) - 1))
    return ordered[index]


def summary(values_ns):
    ms = [v / 1e6 for v in values_ns]
    return {"n": len(ms), "p50_ms": percentile(ms, 50),
            "p90_ms": percentile(ms, 90), "p99_ms": percentile(ms, 99),
            "min_ms": min(ms) if ms else None,
            "max_ms": max(ms) if ms else None}


class NftShell:
    """A running `nft -i` in a namespace: a command takes effect within a
    fraction of a millisecond of being written (no process start)."""

    def __init__(self, ns):
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, "nft", "-i"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.fd = self.proc.stdout.fileno()

    def send(self, command):
        self.proc.stdin.write((command + "\n").encode())
        self.proc.stdin.flush()

    def round_trip(self, table, chain):
        """Sends a list command and waits for its answer; returns ns."""
        start = mono_ns()
        self.send("list chain inet %s %s" % (table, chain))
        out = b""
        deadline = time.monotonic() + 10
        while out.count(b"}") < 2:
            left = deadline - time.monotonic()
            if left <= 0:
                raise HarnessError("nft -i does not answer: %r" % out)
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    raise HarnessError("nft -i exited: %r" % out)
                out += chunk
        return mono_ns() - start

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()


class Bench:
    def __init__(self, args):
        self.args = args
        self.nets = Netns("hbb")
        self.n = 0
        self.port = 0
        self.h = None
        self.nft = None
        self.rtts = []

    def addr(self, last, third):
        return "10.%d.%d.%d" % (self.n, third, last)

    def monitor(self, name, peer, own, other, ns):
        h = self.h
        return start_daemon_at(h, "monitor-" + name[-1], "vigil-monitor",
                               self.addr(2, 1 if ns == self.ns_a else 2), [
            "--libvirt.enabled=false", "--monitor.hostname=%s" % name,
            "--inspector.url=http://%s:%d/events" % (self.addr(1, 1),
                                                     self.inspector.port),
            "--heartbeat.listen=%s:%d" % (own, self.port),
            "--heartbeat.send_to=%s:%d" % (other, self.port),
            "--heartbeat.peers=%s" % peer,
            "--heartbeat.key_file=%s" % self.key_file,
            "--heartbeat.interval_ms=%d" % INTERVAL_MS,
            "--heartbeat.k=%d" % K, "--heartbeat.n=%d" % N,
            "--heartbeat.grace_ms=%d" % GRACE_MS,
            "--heartbeat.up_run=%d" % UP_RUN], netns=ns)

    def peer_state(self, monitor, peer):
        return monitor.metric('vigil_monitor_heartbeat_peer_state'
                              '{peer="%s"}' % peer, -1)

    def setup(self, h):
        self.h = h
        nets = self.nets
        self.n = nets.free_subnet()
        self.ns_a, self.ns_b = nets.add("a"), nets.add("b")
        nets.veth(None, nets.name("ra"), "%s/24" % self.addr(1, 1),
                  self.ns_a, "eth0", "%s/24" % self.addr(2, 1))
        nets.veth(None, nets.name("rb"), "%s/24" % self.addr(1, 2),
                  self.ns_b, "eth0", "%s/24" % self.addr(2, 2))
        nets.veth(self.ns_a, "hb0", "%s/24" % self.addr(1, 3),
                  self.ns_b, "hb0", "%s/24" % self.addr(2, 3))
        nets.run(self.ns_a, "ip", "route", "add", "default", "via",
                 self.addr(1, 1))
        nets.run(self.ns_b, "ip", "route", "add", "default", "via",
                 self.addr(1, 2))
        nets.wait_link_up(self.ns_a, "hb0")
        nets.wait_link_up(self.ns_b, "hb0")
        self.key_file = os.path.join(h.dir, "heartbeat.key")
        with open(self.key_file, "w") as f:
            f.write(KEY)
        self.port = 17000 + os.getpid() % 20000

        h.start_notifier()
        inspector_args = ["--notifier.url=%s"
                          % h.daemons["notifier"].url("/v1/events")]
        help_text = subprocess.run([h.binary("vigil-inspector"), "--help"],
                                   capture_output=True, text=True).stdout
        # No hold before a recovery: the next fault can follow at once.
        if "recovery_hold_ms" in help_text:
            inspector_args.append("--host_fault.recovery_hold_ms=0")
        self.inspector = start_daemon_at(h, "inspector", "vigil-inspector",
                                         self.addr(1, 1), inspector_args)
        self.consumer = h.start_consumer(
            "--consumer.alarm_name=%s" % ALARM,
            "--consumer.event_type=compute.host.*")
        self.a = self.monitor(HOST_A, HOST_B, self.addr(1, 3),
                              self.addr(2, 3), self.ns_a)
        self.b = self.monitor(HOST_B, HOST_A, self.addr(2, 3),
                              self.addr(1, 3), self.ns_b)
        self.wait_up()
        self.nft = NftShell(self.ns_b)
        self.nft.send("add table inet vigil_bench")
        self.nft.send("add chain inet vigil_bench input { type filter hook "
                      "input priority 0; policy accept; }")
        self.nft.round_trip("vigil_bench", "input")

    def wait_up(self):
        wait_for(lambda: self.peer_state(self.b, HOST_A) == 1,
                 what="hb-b to see hb-a up")
        wait_for(lambda: self.peer_state(self.a, HOST_B) == 1,
                 what="hb-a to see hb-b up")

    def alarm(self, event_type, timeout=30.0):
        def found():
            for a in self.consumer.alarms():
                event = a["body"].get("reason_data", {}).get("event", {})
                if event.get("event_type") == event_type and \
                        alarm_traits(a).get("hostname") == HOST_A:
                    return a
            return None
        return wait_for(found, timeout, "%s of %s" % (event_type, HOST_A))

    def inject(self, kind):
        if kind == "stop":
            t00 = mono_ns()
            os.kill(self.a.pid, signal.SIGSTOP)
        else:
            t00 = mono_ns()
            self.nft.send("add rule inet vigil_bench input ip saddr %s udp "
                          "dport %d drop" % (self.addr(1, 3), self.port))
            self.rtts.append(self.nft.round_trip("vigil_bench", "input"))
        return t00

    def undo(self, kind):
        if kind == "stop":
            os.kill(self.a.pid, signal.SIGCONT)
        else:
            self.nft.send("flush chain inet vigil_bench input")
            self.nft.round_trip("vigil_bench", "input")

    def faults(self):
        kinds = self.args.kinds
        results = {k: [] for k in kinds}
        self.rtts = []
        rounds = self.args.warmup + self.args.count
        schedule = [k for _ in range(rounds) for k in kinds]
        for index, kind in enumerate(schedule):
            self.consumer.clear()
            # A random phase within the heartbeat slot, and a steady run
            # well past the up threshold before the next fault.
            time.sleep(0.05 + random.random() * 0.1)
            t00 = self.inject(kind)
            try:
                down = self.alarm("compute.host.down")
            finally:
                self.undo(kind)
            self.alarm("compute.host.up")
            if index < self.args.warmup * len(kinds):
                continue
            stamps = alarm_stamps(down, t00)
            if "T01" not in stamps:
                raise HarnessError("alarm without T01: %r" % down["body"])
            traits = alarm_traits(down)
            results[kind].append({
                "total": stamps["T09"] - stamps["T00"],
                "detect": stamps["T01"] - stamps["T00"],
                "pipeline": stamps["T09"] - stamps["T01"],
                "missed": int(traits.get("missed", 0)),
                "silent_ms": int(traits.get("silent_ms", 0)),
            })
        return results

    def counters(self):
        out = {}
        for name, m in (("a", self.a), ("b", self.b)):
            out[name] = {
                "downs": m.metric('vigil_monitor_heartbeat_events_total'
                                  '{type="down"}'),
                "missed": m.metric("vigil_monitor_heartbeats_missed_total"),
                "received": m.metric(
                    "vigil_monitor_heartbeats_received_total"),
            }
        return out

    def loss(self):
        seconds = self.args.loss_seconds
        before = self.counters()
        self.consumer.clear()
        rules = ("table inet vigil_bench_loss {\n  chain input {\n"
                 "    type filter hook input priority 0; policy accept;\n"
                 "    udp dport %d numgen random mod 100 < 5 drop\n"
                 "  }\n}\n" % self.port)
        path = os.path.join(self.h.dir, "loss.nft")
        with open(path, "w") as f:
            f.write(rules)
        for ns in (self.ns_a, self.ns_b):
            self.nets.run(ns, "nft", "-f", path)
        start = time.monotonic()
        print("loss run: %d s at 5 %% random loss on both heartbeat inputs"
              % seconds, flush=True)
        while time.monotonic() - start < seconds:
            time.sleep(min(30, max(0.1, seconds - (time.monotonic() -
                                                   start))))
            elapsed = time.monotonic() - start
            if seconds >= 120:
                now = self.counters()
                print("  %4.0f s: %d lost, %d host.down declared" % (
                    elapsed, sum(now[x]["missed"] - before[x]["missed"]
                                 for x in now),
                    sum(now[x]["downs"] - before[x]["downs"]
                        for x in now)), flush=True)
        for ns in (self.ns_a, self.ns_b):
            self.nets.run(ns, "nft", "delete", "table", "inet",
                          "vigil_bench_loss")
        after = self.counters()
        alarms = [a for a in self.consumer.alarms()
                  if a["body"].get("reason_data", {}).get("event", {}).get(
                      "event_type") == "compute.host.down"]
        lost = sum(after[x]["missed"] - before[x]["missed"] for x in after)
        received = sum(after[x]["received"] - before[x]["received"]
                       for x in after)
        return {
            "seconds": seconds,
            "peers": 2,
            "heartbeats_received": int(received),
            "heartbeats_lost": int(lost),
            "loss_percent": round(100.0 * lost / max(1, lost + received),
                                  2),
            "declared_down": int(sum(after[x]["downs"] - before[x]["downs"]
                                     for x in after)),
            "vnfm_host_down_alarms": len(alarms),
        }

    def close(self):
        if self.nft:
            self.nft.close()


def print_table(title, rows):
    print("%-36s %6s %8s %8s %8s %8s %8s" % (title, "n", "p50", "p90",
                                           "p99", "min", "max"))
    for label, s in rows:
        if s["n"] == 0:
            continue
        print("%-36s %6d %8.2f %8.2f %8.2f %8.2f %8.2f" % (
            label, s["n"], s["p50_ms"], s["p90_ms"], s["p99_ms"],
            s["min_ms"], s["max_ms"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build-dir", default="build")
    parser.add_argument("--count", type=int, default=100,
                        help="measured faults per kind (default 100)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--kinds", default="stop,drop",
                        type=lambda s: [k for k in s.split(",") if k])
    parser.add_argument("--loss-seconds", type=int, default=600,
                        help="length of the 5 %% loss run; 0 skips it")
    args = parser.parse_args()
    for kind in args.kinds:
        if kind not in ("stop", "drop"):
            parser.error("unknown fault kind %r" % kind)
    if os.geteuid() != 0:
        print("bench-host-fault needs root (network namespaces, nftables)")
        return 1
    os.environ["VIGIL_LOG_LEVEL"] = "warning"
    bench = Bench(args)
    code = 1
    try:
        with Harness(args.build_dir, "bench-host") as h:
            try:
                load = os.getloadavg()
                print("build: %s (CMAKE_BUILD_TYPE=%s, VIGIL_SANITIZE=%s); "
                      "daemons at log level warning" % (
                          args.build_dir,
                          cache_value(args.build_dir, "CMAKE_BUILD_TYPE"),
                          cache_value(args.build_dir, "VIGIL_SANITIZE")))
                print("machine: %s, %d CPUs, load average %.2f %.2f %.2f "
                      "at start" % (platform.platform(), os.cpu_count(),
                                    *load))
                print("heartbeats: every %d ms; down after %d of the last "
                      "%d missing (grace %d ms); up after %d in a row"
                      % (INTERVAL_MS, K, N, GRACE_MS, UP_RUN), flush=True)
                bench.setup(h)
                results = {}
                if args.count > 0:
                    print("faults: %d per kind (%s), after %d warm-up "
                          "rounds each" % (args.count, ",".join(args.kinds),
                                           args.warmup), flush=True)
                    results = bench.faults()
                loss = bench.loss() if args.loss_seconds > 0 else None
                codes = h.stop_daemons(order=("monitor-a", "monitor-b",
                                              "consumer", "inspector",
                                              "notifier"))
                if any(c != 0 for c in codes.values()):
                    raise HarnessError("unclean daemon exit: %r" % codes)
                report(args, results, loss, bench.rtts)
                code = 0
            except HarnessError as e:
                h.failed = True
                print("bench failed: %s" % e)
                h.print_logs()
            except Interrupted as e:
                h.failed = True
                print("interrupted (%s)" % e)
                code = 130
    finally:
        bench.close()
        bench.nets.remove()
    return code


def report(args, results, loss, rtts):
    print()
    print("How measured: T00 = CLOCK_MONOTONIC just before kill(SIGSTOP) of "
          "hb-a's monitor (stop) or just before the nftables drop rule is "
          "written to a running `nft -i` in hb-b's namespace (drop); T01 = "
          "hb-b's monitor declares hb-a down; T09 = the sample VNFM "
          "receives the compute.host.down alarm (stamped on receipt, in "
          "C). All processes share CLOCK_MONOTONIC. Faults at a random "
          "phase of the 5 ms slot.")
    if rtts:
        print("nft -i round trip (bounds when a drop rule commits after "
              "T00): p50 %.3f ms, max %.3f ms" % (
                  percentile(rtts, 50) / 1e6, max(rtts) / 1e6))
    out = {"bench": "host-fault", "interval_ms": INTERVAL_MS, "k": K,
           "n": N, "grace_ms": GRACE_MS, "up_run": UP_RUN}
    if results:
        everything = [r for kind in results for r in results[kind]]
        rows = []
        for kind in args.kinds:
            rs = results[kind]
            rows += [
                ("%s: T00->T09 fault -> VNFM" % kind,
                 summary([r["total"] for r in rs])),
                ("%s: T00->T01 detection" % kind,
                 summary([r["detect"] for r in rs])),
                ("%s: T01->T09 monitor -> VNFM" % kind,
                 summary([r["pipeline"] for r in rs])),
            ]
        rows += [("all: T00->T09 fault -> VNFM",
                  summary([r["total"] for r in everything])),
                 ("all: T00->T01 detection",
                  summary([r["detect"] for r in everything])),
                 ("all: T01->T09 monitor -> VNFM",
                  summary([r["pipeline"] for r in everything]))]
        print()
        print_table("interval (ms)", rows)
        within = sum(1 for r in everything if r["total"] <= 50e6)
        print("faults notified within 50 ms: %d of %d" % (within,
                                                         len(everything)))
        out["faults"] = len(everything)
        out["within_50ms"] = within
        for kind in args.kinds:
            rs = results[kind]
            out[kind] = {"total": summary([r["total"] for r in rs]),
                         "detection": summary([r["detect"] for r in rs]),
                         "pipeline": summary([r["pipeline"] for r in rs])}
        out["all"] = {"total": summary([r["total"] for r in everything]),
                      "detection": summary([r["detect"]
                                            for r in everything]),
                      "pipeline": summary([r["pipeline"]
                                           for r in everything])}
        if rtts:
            out["nft_round_trip_p50_ms"] = percentile(rtts, 50) / 1e6
    if loss:
        print()
        print("false alarms: %d s at %.2f %% measured loss, 2 peers "
              "observing each other: %d heartbeats lost of %d; %d host.down "
              "declared, %d alarms at the VNFM" % (
                  loss["seconds"], loss["loss_percent"],
                  loss["heartbeats_lost"],
                  loss["heartbeats_lost"] + loss["heartbeats_received"],
                  loss["declared_down"], loss["vnfm_host_down_alarms"]))
        out["false_alarms"] = loss
    print("load average at the end: %.2f %.2f %.2f" % os.getloadavg())
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    sys.exit(main())
