#!/usr/bin/env python3
"""Integration: reservation lifecycle events reach a VNFM through the
notifier, in order and not before their time.

Runs the real vigil-notifier, the sample VNFM subscribed (an Aodh event
alarm on "reservation.*" with repeat_actions) and vigil-reservation
posting its events to the notifier's POST /v1/events. Then:

- A reservation that starts 2 s ahead and lasts 2 s: reservation.start,
  then reservation.end;
- one with a 1 s expiry and nothing allocated: start, then
  reservation.expired with status "expired" and its capacity released;
- one that is active at once with a 3 s expiry and one of its 3 cores
  allocated: start, then reservation.expired with status still "active",
  2 cores released and 1 kept;
- one in the future, cancelled: reservation.cancelled.

For each, the events must arrive at the VNFM in lifecycle order, carry
the reservation's traits, and be generated no earlier than the second
they belong to (the timers fire on time, never early). Nothing asserts
how fast they come: only that they come, within a generous deadline that
bounds a failing test. The stored reservations must show the final
statuses, and every daemon must exit 0 on SIGTERM.

Run: /usr/bin/python3 tests/integration/test_reservation_events.py --build-dir BUILD
"""

import calendar
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))

from vigil_harness import (  # noqa: E402
    Harness, Suite, alarm_traits, check, http, parse_build_dir, run_main,
    start_reservation)

ZONE = "az-events"
ALARM = "vnfm-reservations"


def parse_iso(text):
    """Epoch seconds (float) of an ISO-8601 UTC time with an optional
    fraction."""
    whole, _, frac = text.rstrip("Z").partition(".")
    t = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
    return t + (float("0." + frac) if frac else 0.0)


def book(d, **body):
    body.setdefault("zone", ZONE)
    r = http("POST", d.url("/v1/reservations"), body)
    check(r.status == 201, "book %r: %r" % (body, r))
    return r.json()


def case_start(h):
    h.start_notifier()
    h.start_consumer("--consumer.event_type=reservation.*",
                     "--consumer.alarm_name=%s" % ALARM)
    d = start_reservation(
        h, notifier_url=h.daemons["notifier"].url("/v1/events"))
    r = http("POST", d.url("/v1/pools"),
             {"zone": ZONE, "capacity": {"cores": 20}})
    check(r.status == 201, "pool %r" % r)


def case_book(h):
    d = h.daemons["reservation"]
    now = int(time.time())
    # Active at once, 3 s expiry, one core of three allocated right away.
    h.partial = book(d, capacity={"cores": 3}, duration=60, expiry=3)
    check(h.partial["status"] == "active", "partial %r" % h.partial)
    r = http("POST", d.url("/v1/allocations"),
             {"reservation_id": h.partial["id"], "instance": "vm-1",
              "capacity": {"cores": 1}})
    check(r.status == 201, "allocation %r" % r)
    s = now + 2
    h.short = book(d, capacity={"cores": 2}, start=s, end=s + 2)
    h.idle = book(d, capacity={"cores": 4}, start=s, end=s + 30, expiry=1)
    h.cancelled = book(d, capacity={"cores": 1}, start=now + 600,
                       end=now + 700)
    r = http("DELETE", d.url("/v1/reservations/%s" % h.cancelled["id"]))
    check(r.status == 204, "cancel %r" % r)


def events_of(h, reservation):
    """The (event_type, traits, generated) the VNFM got for one
    reservation, in arrival order."""
    out = []
    for record in h.daemons["consumer"].alarms():
        event = record["body"]["reason_data"]["event"]
        traits = alarm_traits(record)
        if traits.get("reservation_id") == reservation["id"]:
            out.append((event["event_type"], traits,
                        parse_iso(event["generated"])))
    return out


def wait_events(h, reservation, count):
    deadline = time.monotonic() + 60
    while True:
        got = events_of(h, reservation)
        if len(got) >= count:
            return got
        check(time.monotonic() < deadline,
              "only %r for %s after 60 s" % ([g[0] for g in got],
                                              reservation["id"]))
        time.sleep(0.05)


def transition(record, field, offset=0):
    return parse_iso(record[field]) + offset


def case_start_end(h):
    got = wait_events(h, h.short, 2)
    check([g[0] for g in got] == ["reservation.start", "reservation.end"],
          "order %r" % [g[0] for g in got])
    start, end = got
    check(start[1]["status"] == "active" and end[1]["status"] == "ended",
          "statuses %r %r" % (start[1]["status"], end[1]["status"]))
    check(start[1]["hostname"] == ZONE and start[1]["zone"] == ZONE and
          start[1]["monitor"] == "vigil-reservation" and
          start[1]["capacity_cores"] == 2 and
          start[1]["monitor_event_id"] == h.short["id"] + ":start",
          "traits %r" % start[1])
    check(start[2] >= transition(h.short, "start"),
          "start event generated before the start")
    check(end[2] >= transition(h.short, "end"),
          "end event generated before the end")


def case_expired_idle(h):
    got = wait_events(h, h.idle, 2)
    check([g[0] for g in got] == ["reservation.start",
                                  "reservation.expired"],
          "order %r" % [g[0] for g in got])
    expired = got[1]
    check(expired[1]["status"] == "expired" and
          expired[1]["released_cores"] == 4, "traits %r" % expired[1])
    check(expired[2] >= transition(h.idle, "start", 1),
          "expired before start + expiry")
    r = http("GET", h.daemons["reservation"].url(
        "/v1/reservations/%s" % h.idle["id"]))
    check(r.json()["status"] == "expired", "stored %r" % r.json())


def case_expired_partly(h):
    got = wait_events(h, h.partial, 2)
    check([g[0] for g in got] == ["reservation.start",
                                  "reservation.expired"],
          "order %r" % [g[0] for g in got])
    expired = got[1]
    check(expired[1]["status"] == "active" and
          expired[1]["released_cores"] == 2 and
          expired[1]["capacity_cores"] == 1, "traits %r" % expired[1])
    check(expired[2] >= transition(h.partial, "start", 3),
          "expired before start + expiry")
    r = http("GET", h.daemons["reservation"].url(
        "/v1/reservations/%s" % h.partial["id"]))
    stored = r.json()
    check(stored["status"] == "active" and stored["expired"] is True and
          stored["capacity"]["cores"] == 1 and
          stored["allocated"]["cores"] == 1, "stored %r" % stored)


def case_cancelled(h):
    got = wait_events(h, h.cancelled, 1)
    check([g[0] for g in got] == ["reservation.cancelled"],
          "events %r" % [g[0] for g in got])
    check(got[0][1]["status"] == "cancelled", "traits %r" % got[0][1])
    d = h.daemons["reservation"]
    check(d.metric('vigil_reservation_events_total'
                   '{type="reservation.cancelled"}') == 1, "metric")


def case_clean_shutdown(h):
    codes = h.stop_daemons(order=("reservation", "consumer", "notifier"))
    bad = {k: v for k, v in codes.items() if v != 0}
    check(not bad, "exit codes %r" % bad)


def main():
    build_dir = parse_build_dir(description=__doc__)
    with Harness(build_dir, "reservation-events") as h:
        suite = Suite("integration/test_reservation_events: lifecycle "
                      "events to a VNFM through the notifier", h)
        if not suite.case("start notifier, VNFM (reservation.*) and "
                          "vigil-reservation", case_start, h):
            return suite.finish()
        if not suite.case("book: short, idle with expiry, partly used with "
                          "expiry, cancelled", case_book, h):
            return suite.finish()
        for name, fn in [
                ("start then end, not before their second", case_start_end),
                ("nothing allocated: start then expired, all released",
                 case_expired_idle),
                ("partly allocated: start then expired, the rest released",
                 case_expired_partly),
                ("cancelled", case_cancelled),
                ("SIGTERM: every daemon exits 0", case_clean_shutdown)]:
            suite.case(name, fn, h)
        return suite.finish()


if __name__ == "__main__":
    run_main(main)
