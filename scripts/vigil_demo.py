#!/usr/bin/env python3
"""Vigil's embedded demo (README command 1; scripts/demo.sh runs it).

On one machine, with real processes and no OpenStack: a private libvirtd
(libvirt's test driver, no QEMU), vigil-notifier, vigil-inspector,
vigil-monitor and the sample VNF manager, which subscribes to instance
alarms over the notifier's Aodh API. The demo destroys the VM "test",
shows the alarm as the VNF manager received it and the profiler timeline
(which part saw the fault when), starts the VM again (the recovery alarm),
and shuts everything down cleanly.

Usage: scripts/vigil_demo.py --build-dir BUILD
"""

import argparse
import json
import os
import sys
import textwrap

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "lib"))

from vigil_harness import (  # noqa: E402
    STAMPS, TEST_DOMAIN, TEST_DOMAIN_UUID, Harness, HarnessError,
    Interrupted, alarm_stamps, alarm_traits, wait_for)

HOST = "compute-1"
WIDTH = 78

COMPONENTS = {
    "T00": ("demo", "fault injected (virsh destroy)"),
    "T01": ("vigil-monitor", "fault detected (libvirt event)"),
    "T02": ("vigil-inspector", "event received"),
    "T03": ("vigil-inspector", "VMs of the host found"),
    "T04": ("vigil-inspector", "host marked down in Nova"),
    "T05": ("vigil-inspector", "VM states reset in Nova"),
    "T06": ("vigil-inspector", "alarm sent to the notifier"),
    "T07": ("vigil-notifier", "event received"),
    "T08": ("vigil-notifier", "webhook sent"),
    "T09": ("VNF manager", "alarm received"),
}


def pretty(value, indent=0):
    """JSON with one member per line, except that each trait
    [name, type, value] stays on one line, as an operator reads it."""
    pad = "  " * indent
    if isinstance(value, dict) and value:
        items = ["%s  %s: %s" % (pad, json.dumps(k), pretty(v, indent + 1))
                 for k, v in value.items()]
    elif isinstance(value, list) and value and all(
            isinstance(v, list) for v in value):
        items = ["%s  %s" % (pad, json.dumps(v)) for v in value]
    elif isinstance(value, list) and any(
            isinstance(v, (dict, list)) for v in value):
        items = ["%s  %s" % (pad, pretty(v, indent + 1)) for v in value]
    else:
        return json.dumps(value)
    opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
    return opening + "\n" + ",\n".join(items) + "\n" + pad + closing


class Demo:
    def __init__(self, harness):
        self.h = harness
        self.step_number = 0
        self.virsh = None

    def step(self, text):
        self.step_number += 1
        print()
        print("\033[1m[%d] %s\033[0m" % (self.step_number, text)
              if sys.stdout.isatty() else "[%d] %s" % (self.step_number,
                                                       text))
        sys.stdout.flush()

    @staticmethod
    def say(text="", indent=4):
        for line in text.splitlines() or [""]:
            print(" " * indent + line)
        sys.stdout.flush()

    def start(self):
        h = self.h
        self.step("Starting a private libvirtd (libvirt's test driver: no "
                  "QEMU, no root-wide state)")
        libvirtd = h.start_libvirtd()
        self.say("working directory  %s" % h.dir)
        self.say("libvirt URI        %s" % libvirtd.uri)
        self.say("VM                 %s (%s): %s" % (
            TEST_DOMAIN, TEST_DOMAIN_UUID,
            libvirtd.virsh("domstate", TEST_DOMAIN)))

        self.step("Starting the Vigil daemons on 127.0.0.1 (free ports)")
        notifier = h.start_notifier()
        self.say("vigil-notifier   %-24s Aodh-compatible alarm API, "
                 "webhooks" % notifier.base_url)
        inspector = h.start_inspector()
        self.say("vigil-inspector  %-24s Doctor inspector API (PUT /events)"
                 % inspector.base_url)
        monitor = h.start_monitor()
        self.say("vigil-monitor    %-24s watches libvirt on host '%s'"
                 % (monitor.base_url, HOST))

        self.step("Starting the sample VNF manager; it subscribes to "
                  "instance alarms")
        consumer = h.start_consumer()
        alarm = h.find_alarm("vigil-vnfm-sample")
        self.say("vigil-vnfm-sample %s  webhook %s" % (
            consumer.base_url, consumer.url("/alarm")))
        self.say("subscription (POST %s/v2/alarms), as the notifier holds "
                 "it:" % notifier.base_url)
        shown = {k: alarm[k] for k in ("alarm_id", "name", "type",
                                       "event_rule", "alarm_actions",
                                       "repeat_actions", "severity")
                 if k in alarm}
        self.say(pretty(shown), indent=6)
        # One virsh kept connected: the fault then reaches libvirtd at
        # once, so T00 -> T01 is not the start-up of a virsh process.
        self.virsh = h.libvirtd.shell()
        return consumer

    def inject(self, consumer):
        h = self.h
        self.step("Injecting a VM fault: virsh destroy %s" % TEST_DOMAIN)
        self.say(textwrap.fill(
            "T00 is stamped just before the command goes to a virsh shell "
            "already connected to libvirtd; every stamp is CLOCK_MONOTONIC, "
            "one clock for all the processes on this host.", WIDTH - 4))
        marker = self.virsh.send("destroy %s" % TEST_DOMAIN)
        t00 = self.virsh.sent_ns
        found = consumer.wait_alarms(alarm_name="vigil-vnfm-sample",
                                     event_type="compute.instance.down",
                                     instance_uuid=TEST_DOMAIN_UUID)
        record = found[0]
        self.virsh.wait(marker)
        self.say("VM state now: %s" % h.libvirtd.virsh("domstate",
                                                       TEST_DOMAIN))

        self.step("The alarm, as the VNF manager received it (POST /alarm, "
                  "Aodh webhook body)")
        self.say(pretty(record["body"]), indent=6)

        self.step("Profiler timeline: when each part saw the fault")
        self.timeline(alarm_stamps(record, t00))
        return record

    def timeline(self, stamps):
        header = "%-5s %-17s %-32s %11s %11s" % (
            "stamp", "component", "checkpoint", "at (us)", "delta (us)")
        self.say(header)
        self.say("-" * len(header))
        t00 = stamps["T00"]
        previous = None
        for name in STAMPS:
            component, what = COMPONENTS[name]
            if name not in stamps:
                self.say("%-5s %-17s %-32s %11s %11s" % (
                    name, component, what, "-", "-"))
                continue
            at = (stamps[name] - t00) / 1e3
            delta = "" if previous is None else "%11.1f" % (
                (stamps[name] - previous) / 1e3)
            self.say("%-5s %-17s %-32s %11.1f %11s" % (
                name, component, what, at, delta))
            previous = stamps[name]
        self.say("-" * len(header))
        missing = [n for n in STAMPS if n not in stamps]
        if missing:
            self.say(textwrap.fill(
                "'-': not stamped for a single VM fault (%s are the Nova "
                "steps of a host fault: finding the host's VMs, forcing the "
                "host down, resetting VM states; this demo runs without "
                "Nova)." % ", ".join(missing), WIDTH - 4))
        self.say(textwrap.fill(
            "The first alarm also pays for opening each TCP connection "
            "(monitor -> inspector -> notifier -> VNF manager); later ones "
            "reuse them. scripts/bench-vm-fault.sh measures 1,000 faults.",
            WIDTH - 4))
        total = (stamps["T09"] - t00) / 1e6
        self.say("fault injected -> VNF manager notified: %.3f ms" % total)
        if "T01" in stamps:
            self.say("fault detected -> VNF manager notified: %.3f ms" % (
                (stamps["T09"] - stamps["T01"]) / 1e6))

    def recover(self, consumer):
        h = self.h
        self.step("Recovering the VM: virsh start %s" % TEST_DOMAIN)
        marker = self.virsh.send("start %s" % TEST_DOMAIN)
        t00 = self.virsh.sent_ns
        record = consumer.wait_alarms(alarm_name="vigil-vnfm-sample",
                                      event_type="compute.instance.up",
                                      instance_uuid=TEST_DOMAIN_UUID)[0]
        self.virsh.wait(marker)
        body, traits = record["body"], alarm_traits(record)
        self.say("VM state now: %s" % h.libvirtd.virsh("domstate",
                                                       TEST_DOMAIN))
        self.say("the VNF manager got: %s for instance %s on %s (%s/%s), "
                 "%.3f ms after virsh start" % (
                     body["reason_data"]["event"]["event_type"],
                     traits.get("instance_uuid"), traits.get("hostname"),
                     traits.get("libvirt_event"),
                     traits.get("libvirt_detail"),
                     (record["received_mono_ns"] - t00) / 1e6))

    def shutdown(self):
        h = self.h
        self.step("Shutting down (SIGTERM to each daemon, then libvirtd)")
        self.virsh.close()
        codes = h.stop_daemons()
        for name, code in codes.items():
            self.say("%-18s %s" % (
                name, "exited cleanly (0)" if code == 0
                else "exit status %s" % code))
        h.libvirtd.stop()
        self.say("%-18s stopped" % "libvirtd")
        bad = {k: v for k, v in codes.items() if v != 0}
        if bad:
            raise HarnessError("unclean shutdown: %r" % bad)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build-dir", default="build",
                        help="CMake build directory (default: build)")
    args = parser.parse_args()
    print("Vigil demo: a VM fails on a compute host. How soon does its VNF "
          "manager know?")
    print("(libvirtd -> vigil-monitor -> vigil-inspector -> vigil-notifier "
          "-> VNF manager)")
    code = 1
    with Harness(args.build_dir, "demo", hostname=HOST) as h:
        demo = Demo(h)
        try:
            consumer = demo.start()
            wait_for(lambda: h.libvirtd.virsh("domstate", TEST_DOMAIN)
                     == "running", what="the VM to run")
            demo.inject(consumer)
            demo.recover(consumer)
            demo.shutdown()
            print()
            print("Done: every process stopped, the fault reached the VNF "
                  "manager with its full timeline.")
            code = 0
        except (HarnessError, OSError, KeyError, ValueError) as e:
            h.failed = True
            print()
            print("DEMO FAILED: %s" % e)
            h.print_logs()
        except Interrupted as e:
            h.failed = True
            print("\ninterrupted (%s): stopping everything" % e)
            code = 130
    return code


if __name__ == "__main__":
    sys.exit(main())
