#!/usr/bin/env python3
"""Integration: a VM fault on a compute host reaches a subscribed VNFM.

Real processes end to end: a private libvirtd (test driver) ->
vigil-monitor -> (Doctor PUT /events) vigil-inspector -> (POST /v1/events)
vigil-notifier -> (Aodh webhook) vigil-vnfm-sample, which subscribed over
the notifier's Aodh API at start-up. The test destroys and starts the
"test" domain with virsh, kills libvirtd with SIGKILL and restarts it (the
monitor must reconnect and reconcile), checks every alarm the VNFM got
(exactly one per fault and subscription, traits, profiler stamps in order),
the notifier's alarm API, /metrics of every daemon, and that every daemon
exits 0 on SIGTERM.

Run: /usr/bin/python3 tests/integration/test_vm_fault.py --build-dir BUILD
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))

from vigil_harness import (  # noqa: E402
    STAMPS, TEST_DOMAIN, TEST_DOMAIN_UUID, Harness, Suite, alarm_stamps,
    alarm_traits, check, check_prometheus_text, http, mono_ns,
    parse_build_dir, run_main, wait_for)

HOST = "compute-test"
CONSUMER_ALARM = "vigil-vnfm-sample"
DIRECT_ALARM = "direct-hostname-down"
OTHER_ALARM = "other-host"
# Stamps every VM fault alarm must carry; T03..T05 (Nova work) are optional.
REQUIRED_STAMPS = ["T01", "T02", "T06", "T07", "T08"]
SETTLE_S = 0.5      # how long "no duplicate" waits for a late duplicate
RECONNECT_TIMEOUT_S = 60.0


class State:
    consumer_alarm_id = None
    direct_alarm_id = None
    other_alarm_id = None


def create_alarm(notifier, body):
    r = http("POST", notifier.url("/v2/alarms"), body)
    check(r.status == 201, "POST /v2/alarms: expected 201, got %r" % r)
    alarm = r.json()
    check(isinstance(alarm.get("alarm_id"), str) and alarm["alarm_id"],
          "POST /v2/alarms answer has no alarm_id: %r" % alarm)
    return alarm["alarm_id"]


def case_alarm_api(h):
    """The notifier's Aodh API, used directly: create two event alarms, read
    them back, list them beside the VNFM's own subscription."""
    notifier, consumer = h.daemons["notifier"], h.daemons["consumer"]
    own = h.find_alarm(CONSUMER_ALARM)
    check(own is not None, "the VNFM's subscription is not listed")
    State.consumer_alarm_id = own["alarm_id"]
    check(own.get("type") == "event", "type: %r" % own.get("type"))
    check(own.get("repeat_actions") is True, "repeat_actions: %r" % own)
    check(own.get("alarm_actions") == [consumer.url("/alarm")],
          "alarm_actions: %r" % own.get("alarm_actions"))
    check(own.get("event_rule", {}).get("event_type") == "compute.instance.*",
          "event_rule: %r" % own.get("event_rule"))

    direct = {
        "name": DIRECT_ALARM, "type": "event", "severity": "critical",
        "repeat_actions": True,
        "alarm_actions": [consumer.url("/alarm/direct")],
        "event_rule": {
            "event_type": "compute.instance.down",
            "query": [{"field": "traits.hostname", "op": "eq",
                       "type": "string", "value": HOST}]},
    }
    State.direct_alarm_id = create_alarm(notifier, direct)
    other = dict(direct, name=OTHER_ALARM,
                 alarm_actions=[consumer.url("/alarm/other")],
                 event_rule={"event_type": "compute.instance.*",
                             "query": [{"field": "traits.hostname",
                                        "op": "eq", "type": "string",
                                        "value": "compute-elsewhere"}]})
    State.other_alarm_id = create_alarm(notifier, other)

    r = http("GET", notifier.url("/v2/alarms/%s" % State.direct_alarm_id))
    check(r.status == 200, "GET /v2/alarms/ID: %r" % r)
    got = r.json()
    check(got.get("alarm_id") == State.direct_alarm_id, "alarm_id: %r" % got)
    check(got.get("name") == DIRECT_ALARM, "name: %r" % got.get("name"))
    check(got.get("severity") == "critical", "severity: %r" % got)
    check(got.get("alarm_actions") == direct["alarm_actions"],
          "alarm_actions: %r" % got.get("alarm_actions"))
    rule = got.get("event_rule", {})
    check(rule.get("event_type") == "compute.instance.down",
          "event_rule.event_type: %r" % rule)
    queries = rule.get("query", [])
    check(len(queries) == 1 and queries[0].get("field") == "traits.hostname"
          and queries[0].get("value") == HOST,
          "event_rule.query: %r" % queries)

    r = http("GET", notifier.url("/v2/alarms"))
    check(r.status == 200, "GET /v2/alarms: %r" % r)
    ids = {a.get("alarm_id") for a in r.json()}
    for wanted in (State.consumer_alarm_id, State.direct_alarm_id,
                   State.other_alarm_id):
        check(wanted in ids, "alarm %s not listed in %r" % (wanted, ids))


def case_vnfm_restart(h):
    """A VNFM killed without unsubscribing comes back on another port: its
    POST gets 409 (the name is taken), so it takes the alarm over (PUT with
    its new webhook URL) instead of failing or duplicating it."""
    old = h.daemons["consumer"]
    before = h.find_alarm(CONSUMER_ALARM)
    check(before is not None, "no subscription before the restart")
    old.kill()
    new = h.start_consumer()
    check(new.port != old.port, "the new VNFM reused port %d" % old.port)
    def repointed():
        alarm = h.find_alarm(CONSUMER_ALARM)
        if alarm and alarm.get("alarm_actions") == [new.url("/alarm")]:
            return alarm
        return None
    after = wait_for(repointed, what="the alarm to point at the restarted "
                     "VNFM")
    check(after["alarm_id"] == before["alarm_id"],
          "alarm id changed: %s -> %s" % (before["alarm_id"],
                                          after["alarm_id"]))
    r = http("GET", h.daemons["notifier"].url("/v2/alarms"))
    names = [a.get("name") for a in r.json()]
    check(names.count(CONSUMER_ALARM) == 1, "alarms: %r" % names)


def check_stamps(record, t00):
    """T00 <= T01 <= ... <= T09, with the stamps every hop must set."""
    stamps = alarm_stamps(record, t00)
    for name in REQUIRED_STAMPS:
        check(name in stamps, "profiler stamp %s missing: %r"
              % (name, record["body"].get("profiler")))
    previous_name, previous = None, None
    for name in STAMPS:
        if name not in stamps:
            continue
        if previous is not None:
            check(stamps[name] >= previous,
                  "profiler stamps out of order: %s=%d < %s=%d"
                  % (name, stamps[name], previous_name, previous))
        previous_name, previous = name, stamps[name]
    return stamps


def print_timeline(stamps):
    t00 = stamps["T00"]
    parts = ["%s +%.0f us" % (n, (stamps[n] - t00) / 1e3)
             for n in STAMPS if n in stamps]
    print("    timeline: " + ", ".join(parts), flush=True)


def check_fault_alarm(record, alarm_id):
    body = record["body"]
    traits = alarm_traits(record)
    check(body.get("alarm_id") == alarm_id, "alarm_id %r, expected %r"
          % (body.get("alarm_id"), alarm_id))
    check(body.get("current") == "alarm", "current: %r" % body.get("current"))
    check(body["reason_data"].get("type") == "event", "reason_data.type")
    expect = {"hostname": HOST, "instance_uuid": TEST_DOMAIN_UUID,
              "libvirt_event": "STOPPED", "libvirt_detail": "DESTROYED"}
    for name, value in expect.items():
        check(traits.get(name) == value, "trait %s: %r, expected %r (traits "
              "%r)" % (name, traits.get(name), value, traits))


def case_destroy(h):
    consumer, libvirtd = h.daemons["consumer"], h.libvirtd
    t00 = mono_ns()
    libvirtd.virsh("destroy", TEST_DOMAIN)
    found = consumer.wait_alarms(alarm_name=CONSUMER_ALARM,
                                 event_type="compute.instance.down",
                                 instance_uuid=TEST_DOMAIN_UUID)
    check(len(found) == 1, "expected one down alarm, got %d" % len(found))
    check_fault_alarm(found[0], State.consumer_alarm_id)
    stamps = check_stamps(found[0], t00)
    print_timeline(stamps)
    # The direct subscription (down events of this host only) fires too.
    direct = consumer.wait_alarms(alarm_name=DIRECT_ALARM,
                                  event_type="compute.instance.down")
    check(len(direct) == 1, "direct subscription: %d alarms" % len(direct))
    check_fault_alarm(direct[0], State.direct_alarm_id)


def count(consumer, **want):
    return len(consumer.matching(**want))


def case_no_duplicates(h):
    consumer = h.daemons["consumer"]
    time.sleep(SETTLE_S)
    n = count(consumer, alarm_name=CONSUMER_ALARM,
              event_type="compute.instance.down")
    check(n == 1, "VNFM subscription: %d down alarms after %.1f s" %
          (n, SETTLE_S))
    n = count(consumer, alarm_name=DIRECT_ALARM)
    check(n == 1, "direct subscription: %d alarms" % n)
    n = count(consumer, alarm_name=OTHER_ALARM)
    check(n == 0, "a subscription for another host got %d alarms" % n)


def case_start(h):
    consumer, libvirtd = h.daemons["consumer"], h.libvirtd
    t00 = mono_ns()
    libvirtd.virsh("start", TEST_DOMAIN)
    found = consumer.wait_alarms(alarm_name=CONSUMER_ALARM,
                                 event_type="compute.instance.up",
                                 instance_uuid=TEST_DOMAIN_UUID)
    check(len(found) == 1, "expected one up alarm, got %d" % len(found))
    traits = alarm_traits(found[0])
    check(traits.get("hostname") == HOST, "hostname: %r" % traits)
    check(traits.get("libvirt_event") == "STARTED",
          "libvirt_event: %r" % traits.get("libvirt_event"))
    check_stamps(found[0], t00)
    # The up alarm came after the down one: a late duplicate down would be
    # there by now as well.
    n = count(consumer, alarm_name=CONSUMER_ALARM,
              event_type="compute.instance.down")
    check(n == 1, "%d down alarms after the up alarm" % n)
    n = count(consumer, alarm_name=DIRECT_ALARM)
    check(n == 1, "the down-only subscription got %d alarms" % n)


def case_libvirtd_restart(h):
    consumer, libvirtd = h.daemons["consumer"], h.libvirtd
    consumer.clear()
    check(consumer.alarms() == [], "DELETE /alarms left records")
    libvirtd.virsh("destroy", TEST_DOMAIN)
    down = consumer.wait_alarms(alarm_name=CONSUMER_ALARM,
                                event_type="compute.instance.down",
                                instance_uuid=TEST_DOMAIN_UUID)
    check(len(down) == 1, "expected one down alarm, got %d" % len(down))

    t_kill = mono_ns()
    libvirtd.kill9()
    check(h.daemons["monitor"].running(),
          "vigil-monitor died with libvirtd")
    # The test driver comes back in its default state: "test" running.
    libvirtd.start()
    up = consumer.wait_alarms(alarm_name=CONSUMER_ALARM,
                              event_type="compute.instance.up",
                              instance_uuid=TEST_DOMAIN_UUID,
                              libvirt_event="RECONCILE",
                              timeout=RECONNECT_TIMEOUT_S)
    check(len(up) == 1, "expected one RECONCILE up alarm, got %d" % len(up))
    check(alarm_traits(up[0]).get("hostname") == HOST, "hostname")
    t01 = up[0]["body"].get("profiler", {}).get("T01", 0)
    check(t01 >= t_kill, "the RECONCILE event was detected (T01=%d) before "
          "libvirtd was killed (%d)" % (t01, t_kill))
    state = libvirtd.virsh("domstate", TEST_DOMAIN)
    check(state == "running", "domain state after restart: %r" % state)
    # Only the reconciliation: no second down, no stray up.
    n = count(consumer, alarm_name=CONSUMER_ALARM,
              event_type="compute.instance.down")
    check(n == 1, "%d down alarms" % n)


def case_metrics(h):
    for name, daemon in h.daemons.items():
        r = daemon.metrics()
        ctype = r.headers.get("Content-Type", "")
        check(ctype.startswith("text/plain"),
              "%s /metrics Content-Type %r" % (name, ctype))
        try:
            check_prometheus_text(r.body.decode("utf-8"))
        except Exception as e:
            raise AssertionError("%s /metrics: %s" % (name, e))
    received = h.daemons["consumer"].metric(
        "vigil_vnfm_alarms_received_total")
    check(received >= 4, "consumer counted %s alarms" % received)


def case_unsubscribe_direct(h):
    notifier = h.daemons["notifier"]
    for alarm_id in (State.direct_alarm_id, State.other_alarm_id):
        r = http("DELETE", notifier.url("/v2/alarms/%s" % alarm_id))
        check(r.status == 204, "DELETE /v2/alarms/%s: %r" % (alarm_id, r))
        r = http("GET", notifier.url("/v2/alarms/%s" % alarm_id))
        check(r.status == 404, "GET after DELETE: %r" % r)


def case_clean_shutdown(h):
    # The VNFM first: it deletes its own subscription on the way out.
    consumer_alarm = State.consumer_alarm_id
    codes = h.stop_daemons(order=("consumer",))
    if consumer_alarm:
        r = http("GET", h.daemons["notifier"].url(
            "/v2/alarms/%s" % consumer_alarm))
        check(r.status == 404, "the VNFM's alarm survived its shutdown: %r"
              % r)
    codes.update(h.stop_daemons())
    bad = {k: v for k, v in codes.items() if v != 0}
    check(not bad, "exit codes: %r" % bad)


def main():
    build_dir = parse_build_dir(description=__doc__)
    with Harness(build_dir, "vm-fault", hostname=HOST) as h:
        suite = Suite("integration/test_vm_fault: VM fault -> VNFM webhook",
                      h)
        if not suite.case("start libvirtd (test driver), notifier, "
                          "inspector, monitor and the VNFM, which subscribes "
                          "over the Aodh API", h.start_all):
            return suite.finish()
        wait_for(lambda: h.libvirtd.virsh("domstate", TEST_DOMAIN)
                 == "running", what="domain test running")
        suite.case("a VNFM restarted after kill -9 takes its alarm over "
                   "(409 -> PUT with its new URL)", case_vnfm_restart, h)
        suite.case("notifier alarm API: create, read and list event alarms",
                   case_alarm_api, h)
        suite.case("virsh destroy: exactly one compute.instance.down alarm "
                   "per matching subscription, traits and T00<=..<=T09",
                   case_destroy, h)
        suite.case("no duplicate alarm, none for a non-matching "
                   "subscription", case_no_duplicates, h)
        suite.case("virsh start: one compute.instance.up alarm",
                   case_start, h)
        suite.case("libvirtd kill -9 and restart: the monitor reconnects, "
                   "reconciles, the VNFM gets compute.instance.up "
                   "(RECONCILE)", case_libvirtd_restart, h)
        suite.case("GET /metrics of every daemon is Prometheus text",
                   case_metrics, h)
        suite.case("DELETE /v2/alarms/ID removes a subscription",
                   case_unsubscribe_direct, h)
        suite.case("SIGTERM: every daemon exits 0 (the VNFM unsubscribes)",
                   case_clean_shutdown, h)
        return suite.finish()


if __name__ == "__main__":
    run_main(main)
