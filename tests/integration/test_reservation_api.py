#!/usr/bin/env python3
"""Integration: vigil-reservation's REST API, end to end and under abuse.

Runs the real vigil-reservation on 127.0.0.1 with an SQLite file and:

- walks the whole API: pools, reservations (booking, 409 with the conflict
  and an offer, dry runs, PATCH that is refused and leaves the reservation
  unchanged, PATCH that fits, cancellation), allocations, the capacity
  step function in its four views, zones, list filters and pagination;
- throws malformed input at every endpoint: each must get a 4xx with a
  JSON error whose message names the field at fault;
- checks the policy limits (duration, start in the future) answer 400
  with the limit named;
- checks the daemon still answers afterwards and exits 0 on SIGTERM
  (under AddressSanitizer a leak would make that non-zero).

Run: /usr/bin/python3 tests/integration/test_reservation_api.py --build-dir BUILD
"""

import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))

from vigil_harness import (  # noqa: E402
    Harness, Suite, check, http, parse_build_dir, run_main,
    start_reservation)

HOUR = 3600
ZONE = "az-api"
BASE_T = int(time.time()) // HOUR * HOUR + 48 * HOUR   # a round hour ahead


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def expect_error(method, url, body, status, field=None, what="",
                 content_type="application/json"):
    """Sends one request; checks the status, the JSON error body and that
    the message names 'field'. Returns the error object."""
    r = http(method, url, body, content_type=content_type)
    label = "%s %s%s" % (method, url.split("/", 3)[-1],
                         " (%s)" % what if what else "")
    check(r.status == status, "%s: expected %d, got %r" % (label, status, r))
    check(r.headers.get("Content-Type", "").startswith("application/json"),
          "%s: error Content-Type %r" % (label, r.headers))
    err = r.json().get("error") if isinstance(r.json(), dict) else None
    check(isinstance(err, dict) and err.get("code") == status and
          isinstance(err.get("message"), str) and err["message"],
          "%s: bad error body %r" % (label, r.body[:300]))
    if field is not None:
        check(field in err["message"], "%s: message %r does not name %r"
              % (label, err["message"], field))
    return err


def reservation(**overrides):
    body = {"zone": ZONE, "capacity": {"cores": 4, "ram": 4096},
            "start": iso(BASE_T), "end": iso(BASE_T + HOUR)}
    body.update(overrides)
    return body


def case_pools(h):
    d = h.daemons["reservation"]
    r = http("POST", d.url("/v1/pools"),
             {"zone": ZONE, "name": "rack-1",
              "capacity": {"cores": 16, "ram": 65536, "instances": 8}})
    check(r.status == 201, "create pool: %r" % r)
    pool = r.json()
    check(r.headers.get("Location") == "/v1/pools/%s" % pool["id"],
          "Location %r" % r.headers.get("Location"))
    check(pool["capacity"]["cores"] == 16 and pool["zone"] == ZONE,
          "pool %r" % pool)
    check(pool["start"] == "1970-01-01T00:00:00Z" and
          pool["end"] == "9999-12-31T23:59:59Z", "default window %r" % pool)
    r = http("GET", d.url("/v1/pools/%s" % pool["id"]))
    check(r.status == 200 and r.json() == pool, "GET pool: %r" % r)
    r = http("GET", d.url("/v1/pools?zone=%s" % ZONE))
    check(r.status == 200 and [p["id"] for p in r.json()["pools"]] ==
          [pool["id"]], "list pools: %r" % r)
    r = http("GET", d.url("/v1/zones"))
    check(r.status == 200 and {"name": ZONE, "pools": 1, "reservations": 0,
                               "allocations": 0} in r.json()["zones"],
          "zones: %r" % r)
    h.pool = pool


def case_book_conflict_offer(h):
    d = h.daemons["reservation"]
    r = http("POST", d.url("/v1/reservations"),
             reservation(capacity={"cores": 10}, name="first",
                         project_id="tenant-a"))
    check(r.status == 201, "book: %r" % r)
    first = r.json()
    check(first["status"] == "pending" and first["name"] == "first" and
          first["project_id"] == "tenant-a" and
          first["start"] == iso(BASE_T) and first["end"] == iso(BASE_T + HOUR),
          "first %r" % first)
    check(r.headers.get("Location") == "/v1/reservations/%s" % first["id"],
          "Location")
    r = http("GET", d.url("/v1/reservations/%s" % first["id"]))
    check(r.status == 200 and r.json() == first, "GET %r" % r)
    # 8 more cores over the second half: 6 left there.
    body = reservation(capacity={"cores": 8},
                       start=iso(BASE_T + HOUR // 2),
                       end=iso(BASE_T + 2 * HOUR))
    err = expect_error("POST", d.url("/v1/reservations"), body, 409,
                       "capacity.cores")
    c, o = err["conflict"], err["offer"]
    check(c == {"key": "cores", "requested": 8, "available": 6,
                "start": iso(BASE_T + HOUR // 2), "end": iso(BASE_T + HOUR)},
          "conflict %r" % c)
    check(o["capacity"]["cores"] == 6 and o["capacity"]["ram"] == 65536 and
          o["start"] == iso(BASE_T + HOUR // 2) and
          o["end"] == iso(BASE_T + 2 * HOUR), "offer %r" % o)
    check(o["earliest_start"] == iso(BASE_T + HOUR) and
          o["earliest_end"] == iso(BASE_T + HOUR + 90 * 60),
          "earliest %r" % o)
    # The offer is good: booking it succeeds.
    r = http("POST", d.url("/v1/reservations"),
             reservation(capacity={"cores": 8}, start=o["earliest_start"],
                         end=o["earliest_end"]))
    check(r.status == 201, "booking the offer: %r" % r)
    # Dry run: 200 and nothing booked; a dry run that does not fit: 409.
    r = http("POST", d.url("/v1/reservations?dry_run=true"),
             reservation(capacity={"cores": 6}))
    check(r.status == 200 and r.json()["fits"] is True, "dry run %r" % r)
    expect_error("POST", d.url("/v1/reservations?dry_run=1"),
                 reservation(capacity={"cores": 7}), 409, "capacity.cores")
    # Epoch seconds and "duration" work as well; X-Project-Id applies.
    r = http("POST", d.url("/v1/reservations"),
             {"zone": ZONE, "capacity": {"cores": 6}, "start": BASE_T,
              "duration": 600}, headers={"X-Project-Id": "tenant-b"})
    check(r.status == 201 and r.json()["end"] == iso(BASE_T + 600) and
          r.json()["project_id"] == "tenant-b", "epoch/duration %r" % r)
    h.first = first


def case_patch(h):
    d = h.daemons["reservation"]
    url = d.url("/v1/reservations/%s" % h.first["id"])
    # Growing beyond what is left is refused and changes nothing.
    err = expect_error("PATCH", url, {"capacity": {"cores": 12}}, 409,
                       "capacity.cores")
    check(err["conflict"]["available"] == 10, "conflict %r" % err)
    r = http("GET", url)
    check(r.json() == h.first, "refused PATCH changed it: %r" % r.json())
    r = http("PATCH", url, {"name": "renamed", "end": iso(BASE_T + HOUR // 2)})
    check(r.status == 200 and r.json()["name"] == "renamed" and
          r.json()["end"] == iso(BASE_T + HOUR // 2), "PATCH %r" % r)
    check(http("GET", url).json()["name"] == "renamed", "PATCH not stored")
    expect_error("PATCH", url, {"zone": "elsewhere"}, 400, "zone")
    expect_error("PATCH", url, {}, 400, "nothing to change")


def case_capacity_views(h):
    d = h.daemons["reservation"]
    q = "/v1/capacity?zone=%s&start=%s&end=%s" % (ZONE, iso(BASE_T),
                                                  iso(BASE_T + 3 * HOUR))
    r = http("GET", d.url(q + "&type=total"))
    check(r.status == 200 and len(r.json()["intervals"]) == 1 and
          r.json()["minimum"]["cores"] == 16, "total %r" % r)
    r = http("GET", d.url(q + "&type=reserved"))
    body = r.json()
    check(r.status == 200 and body["type"] == "reserved" and
          body["truncated"] is False and body["next_start"] is None,
          "reserved %r" % r)
    first = body["intervals"][0]
    check(first["start"] == iso(BASE_T) and first["capacity"]["cores"] == 16,
          "reserved first piece %r (10 + 6 cores)" % first)
    r = http("GET", d.url(q))   # available by default
    check(r.json()["type"] == "available" and
          r.json()["minimum"]["cores"] == 0, "available %r" % r.json())
    r = http("GET", d.url(q + "&type=used"))
    check(r.json()["minimum"]["cores"] == 0, "used %r" % r.json())
    r = http("GET", d.url(q + "&type=reserved&limit=1"))
    check(r.json()["truncated"] is True and len(r.json()["intervals"]) == 1
          and r.json()["next_start"] == r.json()["intervals"][0]["end"],
          "truncated %r" % r.json())


def case_allocations(h):
    d = h.daemons["reservation"]
    now = int(time.time())
    r = http("POST", d.url("/v1/reservations"),
             {"zone": ZONE, "capacity": {"cores": 2, "instances": 2},
              "duration": HOUR})
    check(r.status == 201 and r.json()["status"] == "active",
          "active reservation %r" % r)
    active = r.json()
    r = http("POST", d.url("/v1/allocations"),
             {"reservation_id": active["id"], "instance": "vm-1",
              "capacity": {"cores": 1, "instances": 1}})
    check(r.status == 201 and r.json()["reservation_id"] == active["id"],
          "allocation %r" % r)
    alloc = r.json()
    r = http("GET", d.url("/v1/reservations/%s" % active["id"]))
    check(r.json()["allocated"]["cores"] == 1, "allocated %r" % r.json())
    expect_error("POST", d.url("/v1/allocations"),
                 {"reservation_id": active["id"], "instance": "vm-2",
                  "capacity": {"cores": 2}}, 409, "capacity.cores")
    expect_error("POST", d.url("/v1/allocations"),
                 {"reservation_id": h.first["id"], "instance": "vm-3",
                  "capacity": {"cores": 1}}, 409, "pending")
    r = http("GET", d.url("/v1/allocations?reservation_id=%s"
                          % active["id"]))
    check(r.status == 200 and [a["id"] for a in r.json()["allocations"]] ==
          [alloc["id"]], "list allocations %r" % r)
    r = http("GET", d.url("/v1/capacity?zone=%s&type=used&start=%d&end=%d"
                          % (ZONE, now + 60, now + 120)))
    check(r.json()["minimum"]["cores"] == 1, "used %r" % r.json())
    r = http("DELETE", d.url("/v1/allocations/%s" % alloc["id"]))
    check(r.status == 204, "release %r" % r)
    expect_error("DELETE", d.url("/v1/allocations/%s" % alloc["id"]), None,
                 404, "allocation")
    r = http("DELETE", d.url("/v1/reservations/%s" % active["id"]))
    check(r.status == 204, "cancel %r" % r)
    r = http("GET", d.url("/v1/reservations/%s" % active["id"]))
    check(r.json()["status"] == "cancelled", "cancelled %r" % r.json())
    expect_error("DELETE", d.url("/v1/reservations/%s" % active["id"]), None,
                 409, "cancelled")
    expect_error("PATCH", d.url("/v1/reservations/%s" % active["id"]),
                 {"name": "x"}, 409, "cancelled")


def case_lists(h):
    d = h.daemons["reservation"]
    seen, marker = [], None
    while True:
        url = "/v1/reservations?zone=%s&limit=2" % ZONE
        if marker:
            url += "&marker=" + marker
        r = http("GET", d.url(url))
        check(r.status == 200, "list %r" % r)
        page = r.json()
        seen += [x["id"] for x in page["reservations"]]
        marker = page["next_marker"]
        check(len(page["reservations"]) <= 2, "page size")
        if not marker:
            break
    check(len(seen) == len(set(seen)) == 4, "pagination saw %r" % seen)
    r = http("GET", d.url("/v1/reservations?status=cancelled"))
    check(len(r.json()["reservations"]) == 1, "status filter %r" % r.json())
    r = http("GET", d.url("/v1/reservations?project_id=tenant-a"))
    check([x["id"] for x in r.json()["reservations"]] == [h.first["id"]],
          "project filter")
    r = http("GET", d.url("/v1/reservations?start=%s&end=%s"
                          % (iso(BASE_T + 2 * HOUR), iso(BASE_T + 3 * HOUR))))
    check(len(r.json()["reservations"]) == 1, "window filter %r" % r.json())


def case_policy_limits(h):
    d = h.daemons["reservation"]
    url = d.url("/v1/reservations")
    expect_error("POST", url, reservation(end=iso(BASE_T + 400 * 24 * HOUR)),
                 400, "max_duration")
    expect_error("POST", url, reservation(start=iso(BASE_T + 800 * 24 * HOUR),
                                          end=iso(BASE_T + 801 * 24 * HOUR)),
                 400, "max_future_start")
    expect_error("POST", url, reservation(start=iso(BASE_T - 49 * HOUR)), 400,
                 "start")
    expect_error("POST", url, reservation(expiry=HOUR), 400, "expiry")


MALFORMED_RESERVATIONS = [
    ('{"zone": ', None, "malformed JSON"),
    ('[1, 2]', "body", "not an object"),
    ('"az"', "JSON", "a string"),
    (reservation(capacity=None), "capacity", "capacity null"),
    (reservation(capacity={"cores": -1}), "capacity.cores", "negative"),
    (reservation(capacity={"cores": "4"}), "capacity.cores", "string count"),
    (reservation(capacity={"cores": 1.5}), "capacity.cores", "real count"),
    (reservation(capacity={"cores": 2 ** 41}), "capacity.cores", "too big"),
    (reservation(capacity={"cpus": 4}), "capacity.cpus", "unknown key"),
    (reservation(capacity={}), "capacity", "empty vector"),
    (reservation(capacity={"cores": 0}), "capacity", "all zero"),
    (reservation(capacity=[4]), "capacity", "a list"),
    (reservation(zone=""), "zone", "empty zone"),
    (reservation(zone="x" * 300), "zone", "long zone"),
    (reservation(zone="a\u0001b"), "zone", "control character"),
    (reservation(zone=7), "zone", "zone number"),
    (reservation(start="tomorrow"), "start", "start words"),
    (reservation(start="2030-02-30T00:00:00Z"), "start", "no such day"),
    (reservation(start="2030-01-01T00:00:00.5Z"), "start", "sub-second"),
    (reservation(start=-5), "start", "negative epoch"),
    (reservation(start="1700000000"), "start", "digits as a string"),
    (reservation(end=True), "end", "boolean end"),
    (reservation(end=iso(BASE_T)), "end", "end == start"),
    (reservation(end=iso(BASE_T - 10)), "end", "end before start"),
    (dict(reservation(), duration=60), "duration", "end and duration"),
    (reservation(duration=0, end=None), "duration", "zero duration"),
    (reservation(expiry=0), "expiry", "zero expiry"),
    (reservation(expiry="1h"), "expiry", "string expiry"),
    (reservation(name=["x"]), "name", "name list"),
    (reservation(project_id=""), "project_id", "empty project"),
    (reservation(colour="red"), "colour", "unknown member"),
]


def case_malformed_reservations(h):
    url = h.daemons["reservation"].url("/v1/reservations")
    for body, field, what in MALFORMED_RESERVATIONS:
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if v is not None}
            if what == "zero duration":
                body.pop("end", None)
            data = json.dumps(body)
        else:
            data = body
        expect_error("POST", url, data, 400, field, what)
    no_zone = reservation()
    del no_zone["zone"]
    expect_error("POST", url, no_zone, 400, "zone", "missing zone")
    no_end = reservation()
    del no_end["end"]
    expect_error("POST", url, no_end, 400, "end", "missing end")
    expect_error("POST", url, reservation(zone="nowhere"), 404, "zone",
                 "unknown zone")
    expect_error("POST", url + "?dry_run=maybe", reservation(), 400,
                 "dry_run")
    expect_error("POST", url + "?colour=red", reservation(), 400, "colour")


def case_malformed_other(h):
    d = h.daemons["reservation"]
    pools = d.url("/v1/pools")
    for body, field in [
            ({"capacity": {"cores": 1}}, "zone"),
            ({"zone": ZONE}, "capacity"),
            ({"zone": ZONE, "capacity": {"cores": 0}}, "capacity"),
            ({"zone": ZONE, "capacity": {"cores": 1}, "force": "yes"},
             "force"),
            ({"zone": ZONE, "capacity": {"cores": 1}, "start": 100,
              "end": 50}, "end"),
            ({"zone": ZONE, "capacity": {"cores": 1}, "size": 3}, "size")]:
        expect_error("POST", pools, body, 400, field, json.dumps(body))
    # A negative pool that would overbook is refused with 409.
    err = expect_error("POST", pools,
                       {"zone": ZONE, "capacity": {"cores": -10},
                        "start": iso(BASE_T), "end": iso(BASE_T + HOUR)},
                       409, "force")
    check(err["conflict"]["key"] == "cores", "overbook conflict %r" % err)
    expect_error("DELETE", d.url("/v1/pools/%s" % h.pool["id"]), None, 409,
                 "force")
    expect_error("DELETE", d.url("/v1/pools/%s?force=perhaps" %
                                 h.pool["id"]), None, 400, "force")
    allocs = d.url("/v1/allocations")
    for body, field in [
            ({"zone": ZONE, "capacity": {"cores": 1}}, "instance"),
            ({"instance": "vm", "capacity": {"cores": 1}}, "zone"),
            ({"reservation_id": "nope", "instance": "vm",
              "capacity": {"cores": 1}}, "reservation_id"),
            ({"reservation_id": h.first["id"], "instance": "vm",
              "capacity": {"cores": 1}, "start": BASE_T}, "start"),
            ({"zone": ZONE, "instance": "vm", "capacity": {"cores": -1}},
             "capacity.cores")]:
        expect_error("POST", allocs, body, 400, field, json.dumps(body))
    cap = d.url("/v1/capacity")
    for query, field in [("", "zone"), ("?zone=%s&type=free" % ZONE, "type"),
                         ("?zone=%s&start=soon" % ZONE, "start"),
                         ("?zone=%s&start=100&end=50" % ZONE, "end"),
                         ("?zone=%s&limit=0" % ZONE, "limit"),
                         ("?zone=%s&zone=b" % ZONE, "zone"),
                         ("?zone=%s&step=1" % ZONE, "step")]:
        expect_error("GET", cap + query, None, 400, field, query)
    expect_error("GET", cap + "?zone=nowhere", None, 404, "zone")
    lst = d.url("/v1/reservations")
    for query, field in [("?status=done", "status"), ("?limit=x", "limit"),
                         ("?limit=100000", "limit"),
                         ("?marker=nope", "marker"),
                         ("?marker=00000000-0000-4000-8000-000000000000",
                          "marker"),
                         ("?start=1&end=1", "end")]:
        expect_error("GET", lst + query, None, 400, field, query)
    for path in ("/v1/reservations/not-a-uuid", "/v1/pools/not-a-uuid",
                 "/v1/allocations/not-a-uuid"):
        expect_error("GET", d.url(path), None, 400, "id")
    missing = "6695eb01-f6a4-4304-89aa-97f2502e193f"
    expect_error("GET", d.url("/v1/reservations/" + missing), None, 404)
    expect_error("PATCH", d.url("/v1/reservations/" + missing),
                 {"name": "x"}, 404)
    expect_error("DELETE", d.url("/v1/reservations/" + missing), None, 404)
    expect_error("DELETE", d.url("/v1/reservations/" + h.first["id"]),
                 "{}", 400, "body")
    # Methods, content types, sizes, paths.
    expect_error("PUT", lst, reservation(), 405)
    expect_error("DELETE", lst, None, 405)
    expect_error("POST", d.url("/v1/capacity"), {}, 405)
    expect_error("POST", lst, json.dumps(reservation()), 415,
                 content_type="text/plain")
    expect_error("POST", lst, '{"zone": "%s"}' % ("x" * 100000), 413)
    expect_error("GET", d.url("/v1/nothing"), None, 404)


def case_garbage_on_the_socket(h):
    d = h.daemons["reservation"]
    for data in (b"\x00\xff\x10garbage\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                 b"POST /v1/reservations HTTP/1.1\r\nContent-Length: "
                 b"99999999999\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", d.port), 5) as s:
            s.sendall(data)
            s.settimeout(5)
            try:
                reply = s.recv(200)
            except OSError:
                reply = b""
        if reply:
            check(reply.split(b" ")[1][:1] == b"4",
                  "answered %r to %r" % (reply[:60], data[:30]))
        check(d.running(), "died on %r" % data[:30])


def case_still_alive(h):
    d = h.daemons["reservation"]
    check(d.running(), "not running")
    r = http("POST", d.url("/v1/reservations"),
             reservation(start=iso(BASE_T + 5 * HOUR),
                         end=iso(BASE_T + 6 * HOUR)))
    check(r.status == 201, "book after the abuse: %r" % r)
    samples = d.metrics().body.decode()
    check("vigil_reservation_bookings_total" in samples and
          "vigil_reservation_http_requests_total{code=\"4xx\"}" in samples,
          "metrics")


def case_clean_shutdown(h):
    codes = h.stop_daemons(order=("reservation",))
    check(codes == {"reservation": 0}, "exit codes %r" % codes)


def main():
    build_dir = parse_build_dir(description=__doc__)
    with Harness(build_dir, "reservation-api") as h:
        suite = Suite("integration/test_reservation_api: the REST API, "
                      "malformed input, policy limits", h)
        if not suite.case("start vigil-reservation",
                          lambda: start_reservation(h)):
            return suite.finish()
        cases = [
            ("pools: create, get, list; zones", case_pools),
            ("reservations: book, 409 with conflict and offer, dry run",
             case_book_conflict_offer),
            ("PATCH: a refused update leaves it unchanged; an accepted one "
             "is stored", case_patch),
            ("capacity: total, reserved, available, used, truncation",
             case_capacity_views),
            ("allocations against an active reservation; cancel",
             case_allocations),
            ("lists: filters and pagination", case_lists),
            ("policy limits -> 400 naming the limit", case_policy_limits),
            ("malformed reservations -> 400 naming the field",
             case_malformed_reservations),
            ("malformed pools, allocations, queries, ids, methods, types, "
             "sizes -> 4xx", case_malformed_other),
            ("garbage on the socket -> 4xx or close, no crash",
             case_garbage_on_the_socket),
            ("still answers and books afterwards", case_still_alive),
            ("SIGTERM: exits 0", case_clean_shutdown),
        ]
        for name, fn in cases:
            if suite.case(name, fn, h) is None and name.startswith("pools"):
                break
        return suite.finish()


if __name__ == "__main__":
    run_main(main)
