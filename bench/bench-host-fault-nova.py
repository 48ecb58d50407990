#!/usr/bin/env python3
"""bench-host-fault-nova: mass failure of a compute host
(scripts/bench-host-fault-nova.sh builds Vigil in Release and runs this).

Part 1 - 1,000 VM alarms (no OpenStack). vigil-inspector loads a static
host -> VM map ([inventory] static_map, the benchmark/offline option): a
host with --vms VMs (default 1,000) and a second host with 10.
vigil-notifier and the sample VNFM (vigil-vnfm-sample, subscribed to
compute.instance.down over the notifier's Aodh API) run beside it, all at
log level warning. For each of --runs faults the benchmark stamps T00 and
PUTs one Doctor compute.host.down for the big host to the inspector (as
OPNFV Doctor's sample monitor does); the inspector raises one
compute.instance.down alarm per VM, the notifier fires one webhook per
alarm. Measured per fault: from T00 to the VNFM's receipt (T09, its
CLOCK_MONOTONIC receipt stamp; all processes share the clock) of the
first and of the last of the 1,000 VM alarms, and the inspector's own
part (T02 received -> T06 all alarms handed to the notifier). The host is
then reported up (hold 0, no per-VM recovery alarms) so the next fault is
a new incident.

Part 2 - against the real Nova (--nova-servers N, default 100; 0 skips
it). tests/openstack/up.sh starts (or reuses) the OpenStack testbed; the
benchmark keeps up to N fake servers named vigil-bench-* on fake-compute-1,
booting the missing ones ten at a time (the testbed boots about one every
3 s on this kind of machine: SQLite, 2 cores), for at most --boot-budget-s
seconds -
as many servers as the testbed holds in that time, and it says how many.
vigil-inspector runs with [nova] enabled; after its first full listing one
compute.host.down for fake-compute-1 starts the incident. Measured (from
the inspector's GET /events incident entry): T02 -> T03 (VMs found,
alarms handed over), T04 (force-down done), T05 (all os-resetState calls
done), all requests in flight at once on the inspector's curl-multi
client; and the VNFM's receipt of the last VM alarm. Nova is then checked
(service forced down, every server ERROR), the host is reported up
(forced_down unset) and the servers are reset to active for the next run.
The servers stay for the next invocation (--delete-servers removes them).

It prints the figures and how they were measured and ends with one JSON
line. It asserts nothing about timings.

Usage: bench/bench-host-fault-nova.py --build-dir BUILD [--vms 1000]
       [--runs 20] [--nova-servers 100] [--nova-runs 3]
       [--boot-budget-s 900] [--delete-servers]
"""

import argparse
import concurrent.futures
import json
import os
import platform
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "lib"))

from vigil_harness import (  # noqa: E402
    Harness, HarnessError, Interrupted, alarm_traits, http, mono_ns,
    wait_for)
import vigil_openstack as vo  # noqa: E402

BIG_HOST = "bench-host"
NOVA_HOST = "fake-compute-1"
PREFIX = "vigil-bench-"
ALARM = "bench-mass-failure"


def percentile(values, p):
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def iso_now():
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + \
        ".%06dZ" % int((now % 1) * 1e6)


def host_event(host, status):
    return [{"time": iso_now(), "type": "compute.host.%s" % status,
             "details": {"hostname": host, "status": status,
                         "monitor": "bench", "monitor_event_id":
                         "bench-%d" % mono_ns()}}]


def cpu_seconds(daemon):
    """User + system CPU time the daemon's process used so far."""
    with open("/proc/%d/stat" % daemon.proc.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def received_count(consumer):
    return consumer.metric("vigil_vnfm_alarms_received_total")


def put(inspector, body):
    r = http("PUT", inspector.url("/events"), body, timeout=30)
    if r.status != 200:
        raise HarnessError("PUT /events: %r" % r)
    return r.json()


def wait_alarms(consumer, target, timeout=60):
    """Waits (polling the VNFM's received counter, which is cheap) until
    it counted 'target' alarms."""
    wait_for(lambda: received_count(consumer) >= target, timeout,
             "%d alarms at the VNFM" % target, interval=0.05)


def run_static(args, h):
    """Part 1: one host with args.vms VMs in a static map."""
    path = os.path.join(h.dir, "static-map.json")
    vms = [str(uuid.uuid4()) for _ in range(args.vms)]
    with open(path, "w") as f:
        json.dump({"hosts": {BIG_HOST: vms, "other-host":
                             [str(uuid.uuid4()) for _ in range(10)]}}, f)
    h.start_notifier("--delivery.max_host_connections=%d"
                     % args.notifier_connections)
    h.start_inspector("--inventory.static_map=%s" % path,
                      "--host_fault.recovery_hold_ms=0",
                      "--host_fault.recover_instances=false",
                      "--correlation.dedup_window_ms=0",
                      "--notifier.batch_size=%d" % args.batch_size,
                      "--notifier.max_body_size=4194304")
    consumer = h.start_consumer("--consumer.alarm_name=%s" % ALARM,
                                "--consumer.event_type=compute.instance.down",
                                "--consumer.max_alarms=%d"
                                % (2 * args.vms + 10))
    inspector = h.daemons["inspector"]
    first, last, inspector_ms = [], [], []
    cpu = {}
    stages = {"T06->T07": [], "T07->T08 (last)": [], "T08->T09 (max)": [],
              "T06->T08 (first)": []}
    for i in range(args.runs + args.warmup):
        if i == args.warmup:
            cpu = {name: cpu_seconds(d) for name, d in h.daemons.items()}
        consumer.clear()
        base = received_count(consumer)
        t00 = mono_ns()
        reply = put(inspector, host_event(BIG_HOST, "down"))
        if reply.get("host_events") != 1:
            raise HarnessError("reply %r" % reply)
        wait_alarms(consumer, base + args.vms)
        records = consumer.alarms()
        vm = [r for r in records
              if r["body"]["reason_data"]["event"]["event_type"]
              == "compute.instance.down"]
        if len(vm) != args.vms:
            raise HarnessError("%d VM alarms, expected %d"
                               % (len(vm), args.vms))
        uuids = {alarm_traits(r).get("instance_uuid") for r in vm}
        if uuids != set(vms):
            raise HarnessError("the alarms name other VMs than the map")
        t09 = sorted(r["received_mono_ns"] for r in vm)
        prof = vm[0]["body"].get("profiler", {})
        if i >= args.warmup:
            profs = [(r["body"].get("profiler", {}), r["received_mono_ns"])
                     for r in vm]
            t06 = min(p.get("T06", 0) for p, _ in profs)
            stages["T06->T07"].append(
                (max(p.get("T07", 0) for p, _ in profs) - t06) / 1e6)
            stages["T06->T08 (first)"].append(
                (min(p.get("T08", 0) for p, _ in profs) - t06) / 1e6)
            stages["T07->T08 (last)"].append(
                (max(p.get("T08", 0) for p, _ in profs)
                 - max(p.get("T07", 0) for p, _ in profs)) / 1e6)
            stages["T08->T09 (max)"].append(
                max(t9 - p.get("T08", 0) for p, t9 in profs) / 1e6)
            first.append((t09[0] - t00) / 1e6)
            last.append((t09[-1] - t00) / 1e6)
            inspector_ms.append((prof.get("T06", 0) - prof.get("T02", 0))
                                / 1e6)
        put(inspector, host_event(BIG_HOST, "up"))
        # The host is up again (hold 0) before the next fault.
        wait_for(lambda: inspector.metric(
            'vigil_inspector_host_events_total{outcome="recovered"}')
                 >= i + 1, 30, "recovery %d" % (i + 1))
    cpu_us = {name: round((cpu_seconds(h.daemons[name]) - before) * 1e6
                          / (args.runs * args.vms), 1)
              for name, before in cpu.items()}
    codes = h.stop_daemons()
    bad = {k: v for k, v in codes.items() if v != 0}
    if bad:
        raise HarnessError("unclean daemon exit: %r" % bad)
    h.daemons.clear()
    print("\nPart 1: a host with %d VMs fails (static host -> VM map, "
          "no OpenStack)" % args.vms)
    print("  %d faults (after %d warm-up), each: T00 stamped, one Doctor "
          "compute.host.down PUT to vigil-inspector; it hands 1 host alarm "
          "+ %d VM alarms to vigil-notifier (batches of <= %d), which "
          "fires one webhook per VM alarm to the sample VNFM (T09 = its "
          "receipt)." % (args.runs, args.warmup, args.vms, args.batch_size))
    for name, values in (("first VM alarm at the VNFM", first),
                         ("all %d VM alarms at the VNFM" % args.vms, last),
                         ("inspector: received -> all handed over (T02->"
                          "T06)", inspector_ms)):
        print("  %-46s p50 %8.2f ms  p99 %8.2f ms  min %8.2f  max %8.2f"
              % (name, percentile(values, 50), percentile(values, 99),
                 min(values), max(values)))
    for name, values in stages.items():
        print("    notifier stage %-31s p50 %8.2f ms  p99 %8.2f ms"
              % (name, percentile(values, 50), percentile(values, 99)))
    print("  CPU per VM alarm (user + system, /proc/PID/stat over the %d "
          "measured faults; the VNFM's includes the harness reading its "
          "records): %s" % (args.runs, ", ".join(
              "%s %.1f us" % (k, v) for k, v in sorted(cpu_us.items()))))
    return {"vms": args.vms, "faults": args.runs,
            "all_alarms_ms_p50": round(percentile(last, 50), 3),
            "all_alarms_ms_p99": round(percentile(last, 99), 3),
            "all_alarms_ms_max": round(max(last), 3),
            "first_alarm_ms_p50": round(percentile(first, 50), 3),
            "cpu_us_per_alarm": cpu_us,
            "inspector_t02_t06_ms_p50": round(percentile(inspector_ms, 50),
                                              3)}


# ---- part 2: the real Nova ----------------------------------------------

def ensure_servers(admin, user, env, want, budget_s):
    """Keeps 'want' vigil-bench-* servers ACTIVE on NOVA_HOST, booting the
    missing ones for at most budget_s seconds. Returns their ids."""
    flavor = user.flavor_id(env["VIGIL_OS_FLAVOR"])
    image = user.image_id(env["VIGIL_OS_IMAGE"])
    deadline = time.monotonic() + budget_s
    t0 = time.monotonic()

    def mine():
        return [s for s in admin.servers(host=NOVA_HOST)
                if s["name"].startswith(PREFIX)]
    servers = mine()
    missing = want - len(servers)
    if missing > 0:
        print("  booting %d fake server(s) on %s (have %d; budget %d s), "
              "10 at a time" % (missing, NOVA_HOST, len(servers), budget_s),
              flush=True)
    last_print = 0
    building = []
    # Ten at a time: a larger burst overloads the testbed's conductor.
    while time.monotonic() < deadline:
        servers = mine()
        building = [s for s in servers if s["status"] == "BUILD"]
        missing = want - len(servers)
        if not building and missing <= 0:
            break
        if not building:
            user.boot("%s%d" % (PREFIX, int(time.time() * 1000)), NOVA_HOST,
                      flavor, image, count=min(10, missing))
        if time.monotonic() - last_print > 30:
            print("    %d ACTIVE, %d building after %.0f s" % (
                len(servers) - len(building), len(building),
                time.monotonic() - t0), flush=True)
            last_print = time.monotonic()
        time.sleep(2)
    servers = mine()
    building = [s for s in servers if s["status"] == "BUILD"]
    active = [s["id"] for s in servers if s["status"] == "ACTIVE"]
    print("  %d server(s) ACTIVE on %s (%d still building, %d in another "
          "state) after %.0f s" % (len(active), NOVA_HOST, len(building),
                                   len(servers) - len(active) - len(building),
                                   time.monotonic() - t0), flush=True)
    return active


def reset_active(admin, ids):
    """os-resetState active for 'ids', 16 at a time."""
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: admin.reset_state(i, "active"), ids))


def run_nova(args, h):
    log = h.log("openstack-up")
    print("\nPart 2: the same against the real Nova of tests/openstack/up.sh "
          "(log %s)" % log, flush=True)
    env = vo.start_testbed(log)
    admin = vo.Session(env["OS_AUTH_URL"], env["VIGIL_OS_ADMIN_USERNAME"],
                       env["VIGIL_OS_ADMIN_PASSWORD"],
                       env["VIGIL_OS_ADMIN_PROJECT"])
    user = vo.Session(env["OS_AUTH_URL"], env["OS_USERNAME"],
                      env["OS_PASSWORD"], env["OS_PROJECT_NAME"])
    if admin.service(NOVA_HOST)["forced_down"]:
        admin.set_forced_down(NOVA_HOST, False)
    ids = ensure_servers(admin, user, env, args.nova_servers,
                         args.boot_budget_s)
    del ids
    listed = admin.servers(host=NOVA_HOST)
    on_host = [s["id"] for s in listed]
    reset_active(admin, [s["id"] for s in listed if s["status"] == "ERROR"])
    h.start_notifier()
    h.start_inspector("--nova.enabled=true",
                      "--keystone.auth_url=%s" % env["OS_AUTH_URL"],
                      "--keystone.username=%s" % env["OS_USERNAME"],
                      "--keystone.password=%s" % env["OS_PASSWORD"],
                      "--keystone.project_name=%s" % env["OS_PROJECT_NAME"],
                      "--nova.refresh_interval_s=5",
                      "--nova.max_connections=%d" % args.nova_connections,
                      "--nova.timeout_ms=120000",
                      "--host_fault.recovery_hold_ms=0",
                      "--host_fault.recover_instances=false",
                      "--correlation.dedup_window_ms=0",
                      "--notifier.batch_size=%d" % args.batch_size,
                      "--notifier.max_body_size=4194304")
    consumer = h.start_consumer("--consumer.alarm_name=%s" % ALARM,
                                "--consumer.event_type=compute.instance.down")
    inspector = h.daemons["inspector"]
    wait_for(lambda: inspector.metric("vigil_inspector_inventory_synced") == 1
             and inspector.metric("vigil_inspector_inventory_servers")
             >= len(on_host), 300, "the inspector's first full listing")
    results = []
    seen = set()
    for run in range(args.nova_runs):
        consumer.clear()
        base = received_count(consumer)
        t00 = mono_ns()
        put(inspector, host_event(NOVA_HOST, "down"))

        def newest():
            r = http("GET", inspector.url("/events?limit=1000"))
            for e in reversed(r.json()["events"]):
                if e.get("class") == "host_fault" and \
                        e.get("hostname") == NOVA_HOST:
                    return None if e["id"] in seen else e
            return None
        # The incident's VMs: the inspector's map (it may know a server
        # Nova's host listing above did not yet, e.g. one being scheduled).
        vms = wait_for(newest, 30, "the incident of run %d" % run)["vms"]
        wait_alarms(consumer, base + vms, timeout=120)
        t_alarms = max(r["received_mono_ns"] for r in consumer.alarms())

        def incident():
            # This run's incident: the newest host_fault entry of the host.
            r = http("GET", inspector.url("/events?limit=1000"))
            for e in reversed(r.json()["events"]):
                if e.get("class") == "host_fault" and \
                        e.get("hostname") == NOVA_HOST:
                    nova = e["nova"]
                    if e["id"] in seen or not nova["forced_down"] \
                            or nova["reset_running"] \
                            or nova["reset_done"] + nova["reset_failed"] \
                            != e["vms"]:
                        return None
                    return e
            return None
        inc = wait_for(incident, 600, "the Nova calls of run %d" % run,
                       interval=0.05)
        seen.add(inc["id"])
        prof = inc["profiler"]
        svc = admin.service(NOVA_HOST)
        states = [s["status"] for s in admin.servers(host=NOVA_HOST)]
        errors = sum(1 for s in states if s == "ERROR")
        res = {"servers": inc["vms"],
               "alarms_ms": (t_alarms - t00) / 1e6,
               "t03_ms": (prof["T03"] - prof["T02"]) / 1e6,
               "t04_ms": (prof["T04"] - prof["T02"]) / 1e6,
               "t05_ms": (prof.get("T05", 0) - prof["T02"]) / 1e6
               if "T05" in prof else None,
               "reset_done": inc["nova"]["reset_done"],
               "reset_failed": inc["nova"]["reset_failed"],
               "forced_down": svc["forced_down"], "state": svc["state"],
               "error_servers": errors,
               "nova_failed_calls": inspector.metric(
                   'vigil_inspector_nova_calls_total{result="failed"}')}
        results.append(res)
        print("  run %d: %d servers: VM alarms at the VNFM +%.1f ms; "
              "inspector: VMs found +%.2f ms (T03), forced down +%.0f ms "
              "(T04), %d/%d reset-state done +%s ms (T05); Nova shows "
              "forced_down=%s state=%s, %d servers ERROR" % (
                  run, res["servers"], res["alarms_ms"], res["t03_ms"],
                  res["t04_ms"], res["reset_done"], res["servers"],
                  "%.0f" % res["t05_ms"] if res["t05_ms"] is not None
                  else "-", res["forced_down"], res["state"], errors),
              flush=True)
        put(inspector, host_event(NOVA_HOST, "up"))
        vo.wait(lambda: not admin.service(NOVA_HOST)["forced_down"], 120,
                "forced_down unset")
        reset_active(admin, [s["id"] for s in admin.servers(host=NOVA_HOST)
                             if s["status"] == "ERROR"])
    codes = h.stop_daemons()
    bad = {k: v for k, v in codes.items() if v != 0}
    if bad:
        raise HarnessError("unclean daemon exit: %r" % bad)
    if args.delete_servers:
        for s in admin.servers(host=NOVA_HOST):
            if s["name"].startswith(PREFIX):
                admin.delete_server(s["id"])
                time.sleep(0.1)
    print("  how: one compute.host.down PUT per run; T02..T05 from the "
          "inspector's incident entry (GET /events): force-down (PUT "
          "/os-services/{id}, microversion 2.53) and one os-resetState per "
          "server, all in flight at once on the inspector's curl-multi "
          "client (%d connections to nova-api); the testbed's Nova checks "
          "every token with Keystone (token_cache_time = -1) and runs on "
          "SQLite with one API worker." % args.nova_connections)
    t04 = [r["t04_ms"] for r in results]
    t05 = [r["t05_ms"] for r in results if r["t05_ms"] is not None]
    return {"servers": len(on_host), "runs": len(results),
            "connections": args.nova_connections,
            "alarms_ms_p50": round(percentile([r["alarms_ms"]
                                               for r in results], 50), 1),
            "force_down_ms_p50": round(percentile(t04, 50), 1),
            "all_reset_ms_p50": round(percentile(t05, 50), 1) if t05
            else None,
            "reset_failed_max": max(r["reset_failed"] for r in results)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--notifier-connections", type=int, default=32,
                        help="[delivery] max_host_connections of the "
                        "notifier (its default: 32)")
    parser.add_argument("--nova-servers", type=int, default=100)
    parser.add_argument("--nova-runs", type=int, default=3)
    parser.add_argument("--nova-connections", type=int, default=64,
                        help="the inspector's [nova] max_connections")
    parser.add_argument("--boot-budget-s", type=int, default=900)
    parser.add_argument("--delete-servers", action="store_true")
    args = parser.parse_args()
    os.environ["VIGIL_LOG_LEVEL"] = "warning"
    print("bench-host-fault-nova: build %s; %s, %d CPUs" % (
        args.build_dir, platform.platform(), os.cpu_count()), flush=True)
    result = {"bench": "host-fault-nova"}
    code = 1
    try:
        with Harness(args.build_dir, "bench-mass") as h:
            try:
                if args.runs > 0:
                    result["static"] = run_static(args, h)
                if args.nova_servers > 0:
                    with vo.TestbedLock(), \
                            Harness(args.build_dir, "bench-nova") as h2:
                        try:
                            result["nova"] = run_nova(args, h2)
                        except (HarnessError, vo.OpenStackError) as e:
                            h2.failed = True
                            h2.print_logs()
                            raise
                code = 0
            except (HarnessError, vo.OpenStackError) as e:
                h.failed = True
                print("bench failed: %s" % e)
                result["error"] = str(e)
    except Interrupted:
        code = 130
    print(json.dumps(result, sort_keys=True))
    return code


if __name__ == "__main__":
    sys.exit(main())
