#!/usr/bin/env python3
"""Runs bench/bench-vm-fault against real processes (scripts/bench-vm-fault.sh
calls it after a Release build).

Starts a private libvirtd (test driver), vigil-notifier, vigil-inspector and
vigil-monitor at log level warning on free 127.0.0.1 ports, runs
bench-vm-fault (which embeds the sample VNFM endpoint and subscribes it)
for N VM faults, then stops the daemons with SIGTERM and checks they exit 0.
The benchmark prints its own figures and how they were measured; this
script adds the build it measured.

Usage: scripts/vigil_bench.py --build-dir BUILD [--count N] [--warmup N]
"""

import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "lib"))

from vigil_harness import Harness, HarnessError, Interrupted  # noqa: E402


def cache_value(build_dir, key):
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return "?"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build-dir", default="build")
    parser.add_argument("--count", type=int,
                        default=int(os.environ.get("VIGIL_BENCH_COUNT",
                                                   "1000")))
    parser.add_argument("--warmup", type=int,
                        default=int(os.environ.get("VIGIL_BENCH_WARMUP",
                                                   "10")))
    args = parser.parse_args()
    bench = os.path.join(os.path.abspath(args.build_dir), "bench",
                         "bench-vm-fault")
    if not os.access(bench, os.X_OK):
        print("no %s: build the bench-vm-fault target first" % bench)
        return 1
    print("build: %s (CMAKE_BUILD_TYPE=%s, VIGIL_SANITIZE=%s); daemons at "
          "log level warning" % (
              args.build_dir, cache_value(args.build_dir, "CMAKE_BUILD_TYPE"),
              cache_value(args.build_dir, "VIGIL_SANITIZE")), flush=True)
    os.environ["VIGIL_LOG_LEVEL"] = "warning"
    code = 1
    with Harness(args.build_dir, "bench", hostname="compute-bench") as h:
        try:
            h.start_libvirtd()
            h.start_notifier()
            h.start_inspector()
            h.start_monitor()
            print("processes: libvirtd pid %d, vigil-notifier pid %d, "
                  "vigil-inspector pid %d, vigil-monitor pid %d" % (
                      h.libvirtd.process.pid, h.daemons["notifier"].pid,
                      h.daemons["inspector"].pid, h.daemons["monitor"].pid),
                  flush=True)
            code = subprocess.call([
                bench, "--uri", h.libvirtd.uri,
                "--notifier", h.daemons["notifier"].base_url,
                "--count", str(args.count), "--warmup", str(args.warmup)])
            codes = h.stop_daemons()
            bad = {k: v for k, v in codes.items() if v != 0}
            if bad:
                raise HarnessError("unclean daemon exit: %r" % bad)
        except HarnessError as e:
            h.failed = True
            print("bench failed: %s" % e)
            h.print_logs()
            code = 1
        except Interrupted as e:
            h.failed = True
            print("interrupted (%s)" % e)
            code = 130
        if code != 0:
            h.failed = True
            h.print_logs()
    return code


if __name__ == "__main__":
    sys.exit(main())
