#!/usr/bin/env python3
"""Integration: 64 concurrent clients never overbook vigil-reservation.

Starts the real vigil-reservation with an SQLite file, gives one zone
capacity through three pools (a base pool, an overlapping extra pool and a
negative pool that takes capacity away for a while), then lets 64 threads,
each on its own keep-alive HTTP connection, released at once by a barrier,
hammer that zone with bookings over random, heavily overlapping windows,
plus updates that grow or move their own bookings and cancellations.

Then, independently of the daemon's code: the daemon is stopped and the
SQLite file is read with Python's sqlite3; at every boundary of every
pool and every pending or active reservation, for every resource key, the
sum of what the reservations hold must not exceed what the pools give.
The test also checks that the contention was real (some requests were
refused with 409 and some instant is booked to the last core), that every
reservation acknowledged with 201 is in the file, and that the last
acknowledged state of each reservation is the one stored.

Run: /usr/bin/python3 tests/integration/test_reservation_concurrency.py --build-dir BUILD
"""

import os
import random
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))

from vigil_harness import (  # noqa: E402
    Harness, KeepAliveClient, Suite, check, http, parse_build_dir,
    run_main, start_reservation)

CLIENTS = 64
OPS_PER_CLIENT = 30
ZONE = "az-race"
KEYS = ("cores", "ram", "instances")
T = int(time.time()) // 3600 * 3600 + 24 * 3600     # tomorrow, round hour
POOLS = [
    {"capacity": {"cores": 64, "ram": 65536, "instances": 40}},
    {"capacity": {"cores": 16, "ram": 8192, "instances": 8},
     "start": T + 200, "end": T + 600},
    {"capacity": {"cores": -24, "ram": -16384}, "start": T + 700,
     "end": T + 900},
]


class Outcome:
    def __init__(self):
        self.lock = threading.Lock()
        self.codes = {}
        self.acked = {}          # id -> last acknowledged record
        self.cancelled = set()
        self.errors = []

    def count(self, code):
        with self.lock:
            self.codes[code] = self.codes.get(code, 0) + 1


def random_window(rng):
    start = T + rng.randrange(0, 1000)
    return start, start + rng.randrange(50, 400)


def client(base_url, seed, barrier, out):
    rng = random.Random(seed)
    c = KeepAliveClient(base_url)
    mine = []
    try:
        barrier.wait()
        for _ in range(OPS_PER_CLIENT):
            roll = rng.random()
            if mine and roll < 0.12:
                rid = rng.choice(mine)
                if rng.random() < 0.5:
                    body = {"capacity": {"cores": rng.randrange(1, 12),
                                         "ram": 1024}}
                else:
                    start, end = random_window(rng)
                    body = {"start": start, "end": end}
                status, reply = c.request("PATCH",
                                          "/v1/reservations/" + rid, body)
                if status == 200:
                    with out.lock:
                        out.acked[rid] = reply
            elif mine and roll < 0.20:
                rid = mine.pop(rng.randrange(len(mine)))
                status, reply = c.request("DELETE",
                                          "/v1/reservations/" + rid)
                if status == 204:
                    with out.lock:
                        out.cancelled.add(rid)
            else:
                start, end = random_window(rng)
                cores = rng.randrange(1, 9)
                body = {"zone": ZONE, "start": start, "end": end,
                        "capacity": {"cores": cores, "ram": cores * 1024,
                                     "instances": rng.randrange(0, 3)}}
                status, reply = c.request("POST", "/v1/reservations", body)
                if status == 201:
                    mine.append(reply["id"])
                    with out.lock:
                        out.acked[reply["id"]] = reply
            out.count(status)
            if status == 409:
                err = (reply or {}).get("error", {})
                if "capacity." not in err.get("message", "") and \
                        "cancelled" not in err.get("message", ""):
                    with out.lock:
                        out.errors.append("409 without a reason: %r" % reply)
            elif status not in (200, 201, 204):
                with out.lock:
                    out.errors.append("HTTP %d: %r" % (status, reply))
    except Exception as e:  # noqa: BLE001 - reported by the main thread
        with out.lock:
            out.errors.append("client %d: %s: %s"
                              % (seed, type(e).__name__, e))
    finally:
        c.close()


def case_pools(h):
    d = h.daemons["reservation"]
    for pool in POOLS:
        body = dict(pool, zone=ZONE)
        r = http("POST", d.url("/v1/pools"), body)
        check(r.status == 201, "pool %r: %r" % (body, r))


def case_hammer(h):
    d = h.daemons["reservation"]
    out = Outcome()
    barrier = threading.Barrier(CLIENTS)
    threads = [threading.Thread(target=client,
                                args=(d.base_url, seed, barrier, out))
               for seed in range(CLIENTS)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
        check(not t.is_alive(), "a client did not finish")
    elapsed = time.monotonic() - began
    check(not out.errors, "%d errors, first: %s"
          % (len(out.errors), out.errors[:3]))
    total = sum(out.codes.values())
    check(total == CLIENTS * OPS_PER_CLIENT, "requests %d" % total)
    print("  %d requests from %d clients in %.2f s: %s" % (
        total, CLIENTS, elapsed, dict(sorted(out.codes.items()))),
        flush=True)
    check(out.codes.get(201, 0) > 100, "too few bookings: %r" % out.codes)
    check(out.codes.get(409, 0) > 0, "no contention: %r" % out.codes)
    h.outcome = out


def recount(path):
    """Every (time, key) where pending/active bookings exceed the pools,
    read with nothing but SQL; also the highest utilisation seen."""
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        pools = db.execute("SELECT start_time, end_time, %s FROM pools "
                           "WHERE zone = ?" % ", ".join(KEYS),
                           (ZONE,)).fetchall()
        held = db.execute("SELECT start_time, end_time, %s FROM reservations"
                          " WHERE zone = ? AND status IN ('pending', "
                          "'active')" % ", ".join(KEYS), (ZONE,)).fetchall()
    finally:
        db.close()
    times = sorted({t for row in pools + held for t in row[:2]})
    violations, best = [], 0.0
    for t in times:
        for i, key in enumerate(KEYS):
            supply = sum(p[2 + i] for p in pools if p[0] <= t < p[1])
            demand = sum(r[2 + i] for r in held if r[0] <= t < r[1])
            if demand > supply:
                violations.append((t, key, demand, supply))
            if key == "cores" and supply > 0:
                best = max(best, demand / supply)
    return violations, best, len(times), len(held)


def case_recount(h):
    d = h.daemons["reservation"]
    codes = h.stop_daemons(order=("reservation",))
    check(codes == {"reservation": 0}, "exit codes %r" % codes)
    violations, best, instants, live = recount(d.database)
    print("  recount: %d live reservations, %d boundaries checked, peak "
          "core utilisation %.0f %%" % (live, instants, 100 * best),
          flush=True)
    check(not violations, "overbooked at %d instants, first: %r"
          % (len(violations), violations[:3]))
    check(best == 1.0, "no instant booked to the last core (%.2f): the "
          "contention was not real" % best)


def case_acknowledged_are_stored(h):
    d = h.daemons["reservation"]
    out = h.outcome
    db = sqlite3.connect("file:%s?mode=ro" % d.database, uri=True)
    try:
        rows = {r[0]: r for r in db.execute(
            "SELECT id, status, start_time, end_time, cores FROM "
            "reservations")}
    finally:
        db.close()
    missing = [rid for rid in out.acked if rid not in rows]
    check(not missing, "%d acknowledged reservations missing, e.g. %s"
          % (len(missing), missing[:3]))
    for rid, rec in out.acked.items():
        row = rows[rid]
        want = "cancelled" if rid in out.cancelled else "pending"
        check(row[1] == want, "%s: status %s, expected %s" % (rid, row[1],
                                                              want))
        check(row[4] == rec["capacity"]["cores"],
              "%s: %d cores stored, %d acknowledged" % (
                  rid, row[4], rec["capacity"]["cores"]))
        check(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(row[2])) ==
              rec["start"], "%s: start differs" % rid)
    check(len(rows) == out.codes.get(201, 0), "%d rows for %d bookings"
          % (len(rows), out.codes.get(201, 0)))


def main():
    build_dir = parse_build_dir(description=__doc__)
    with Harness(build_dir, "reservation-race") as h:
        suite = Suite("integration/test_reservation_concurrency: %d clients, "
                      "no overbooking, recounted from SQLite" % CLIENTS, h)
        if not suite.case("start vigil-reservation",
                          lambda: start_reservation(h)):
            return suite.finish()
        for name, fn in [
                ("pools: base, overlapping, negative", case_pools),
                ("%d clients x %d requests on keep-alive connections"
                 % (CLIENTS, OPS_PER_CLIENT), case_hammer),
                ("independent recount from the SQLite file: never above "
                 "capacity", case_recount),
                ("every acknowledged reservation is stored as acknowledged",
                 case_acknowledged_are_stored)]:
            if suite.case(name, fn, h) is None:
                break
        return suite.finish()


if __name__ == "__main__":
    run_main(main)
