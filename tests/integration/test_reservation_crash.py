#!/usr/bin/env python3
"""Integration: kill -9 during a booking storm loses no acknowledged
reservation, and the restarted vigil-reservation serves the rebuilt index.

Starts the real vigil-reservation with an SQLite file, gives a zone room
for every booking, and lets 16 threads book as fast as they can on
keep-alive connections, recording every reservation acknowledged with
201. Once a few hundred are acknowledged, while the storm goes on, the
daemon gets SIGKILL. Then:

- every reservation acknowledged before the kill is in the SQLite file
  (read with Python's sqlite3), with the capacity and window acknowledged;
- the daemon restarts on the same file, serves each of them with GET, and
  its capacity answers (reserved cores at each boundary) match a recount
  of the file, i.e. the index was rebuilt from the database;
- a booking of exactly the capacity left at the busiest instant fits,
  and one core more is refused: the rebuilt index holds every booking.

Run: /usr/bin/python3 tests/integration/test_reservation_crash.py --build-dir BUILD
"""

import calendar
import os
import random
import signal
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))

from vigil_harness import (  # noqa: E402
    Harness, KeepAliveClient, Suite, check, http, parse_build_dir,
    run_main, start_reservation, wait_for)

CLIENTS = 16
ACKED_BEFORE_KILL = 400
ZONE = "az-crash"
CORES = 1000000
T = int(time.time()) // 3600 * 3600 + 24 * 3600


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Storm:
    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}           # id -> record, acknowledged with 201
        self.killed = threading.Event()
        self.errors = []


def booker(base_url, seed, storm):
    rng = random.Random(seed)
    c = KeepAliveClient(base_url, timeout=10)
    try:
        while not storm.killed.is_set():
            start = T + rng.randrange(0, 3600)
            body = {"zone": ZONE, "start": start,
                    "end": start + rng.randrange(60, 1800),
                    "capacity": {"cores": rng.randrange(1, 16)}}
            try:
                status, reply = c.request("POST", "/v1/reservations", body)
            except OSError:
                break           # the daemon is gone
            if status == 201:
                with storm.lock:
                    storm.acked[reply["id"]] = reply
            else:
                with storm.lock:
                    storm.errors.append("HTTP %d: %r" % (status, reply))
                break
    finally:
        c.close()


def case_storm_and_kill(h):
    d = h.daemons["reservation"]
    r = http("POST", d.url("/v1/pools"),
             {"zone": ZONE, "capacity": {"cores": CORES}})
    check(r.status == 201, "pool %r" % r)
    storm = Storm()
    threads = [threading.Thread(target=booker, args=(d.base_url, s, storm))
               for s in range(CLIENTS)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(storm.acked) >= ACKED_BEFORE_KILL or
                 storm.errors, 120, "%d acknowledged bookings"
                 % ACKED_BEFORE_KILL)
        check(not storm.errors, "errors during the storm: %r"
              % storm.errors[:3])
        # The storm is still going: kill -9 in the middle of it.
        d.signal(signal.SIGKILL)
        d.wait(10)
    finally:
        storm.killed.set()
        for t in threads:
            t.join(timeout=30)
    check(d.returncode == -signal.SIGKILL, "exit %r" % d.returncode)
    # A dead process answers nothing: every 201 the clients hold was sent
    # before the kill.
    print("  %d bookings acknowledged before SIGKILL" % len(storm.acked),
          flush=True)
    h.acked = dict(storm.acked)


def case_all_in_the_file(h):
    d = h.daemons["reservation"]
    db = sqlite3.connect("file:%s?mode=ro" % d.database, uri=True)
    try:
        rows = {r[0]: r for r in db.execute(
            "SELECT id, status, start_time, end_time, cores "
            "FROM reservations")}
    finally:
        db.close()
    lost = [rid for rid in h.acked if rid not in rows]
    check(not lost, "%d acknowledged reservations lost, e.g. %s"
          % (len(lost), lost[:3]))
    for rid, rec in h.acked.items():
        row = rows[rid]
        check(row[1] == "pending" and iso(row[2]) == rec["start"] and
              iso(row[3]) == rec["end"] and
              row[4] == rec["capacity"]["cores"],
              "%s stored as %r, acknowledged as %r" % (rid, row, rec))
    print("  %d rows in the file (%d committed but not yet acknowledged)"
          % (len(rows), len(rows) - len(h.acked)), flush=True)


def recount_reserved(path, t):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return db.execute("SELECT COALESCE(SUM(cores), 0) FROM reservations "
                          "WHERE zone = ? AND status IN ('pending', "
                          "'active') AND start_time <= ? AND end_time > ?",
                          (ZONE, t, t)).fetchone()[0]
    finally:
        db.close()


def case_restart_serves_rebuilt_index(h):
    d = start_reservation(h, database=h.daemons["reservation"].database)
    for rid in list(h.acked)[:50] + list(h.acked)[-50:]:
        r = http("GET", d.url("/v1/reservations/%s" % rid))
        check(r.status == 200 and r.json()["id"] == rid, "GET %s: %r"
              % (rid, r))
    r = http("GET", d.url("/v1/capacity?zone=%s&type=reserved&start=%d&end=%d"
                          % (ZONE, T, T + 2 * 3600)))
    check(r.status == 200 and not r.json()["truncated"], "capacity %r" % r)
    pieces = r.json()["intervals"]
    busiest = max(pieces, key=lambda p: p["capacity"]["cores"])
    for piece in pieces[:: max(1, len(pieces) // 40)] + [busiest]:
        t = calendar.timegm(time.strptime(piece["start"],
                                          "%Y-%m-%dT%H:%M:%SZ"))
        want = recount_reserved(d.database, t)
        check(piece["capacity"]["cores"] == want,
              "reserved at %s: daemon %d, file %d" % (
                  piece["start"], piece["capacity"]["cores"], want))
    left = CORES - busiest["capacity"]["cores"]
    window = {"zone": ZONE, "start": busiest["start"], "end": busiest["end"]}
    r = http("POST", d.url("/v1/reservations"),
             dict(window, capacity={"cores": left + 1}))
    check(r.status == 409 and
          r.json()["error"]["conflict"]["available"] == left,
          "one core too many: %r" % r)
    r = http("POST", d.url("/v1/reservations"),
             dict(window, capacity={"cores": left}))
    check(r.status == 201, "exactly what is left: %r" % r)


def case_clean_shutdown(h):
    codes = h.stop_daemons(order=("reservation",))
    check(codes == {"reservation": 0}, "exit codes %r" % codes)


def main():
    build_dir = parse_build_dir(description=__doc__)
    with Harness(build_dir, "reservation-crash") as h:
        suite = Suite("integration/test_reservation_crash: kill -9 during "
                      "a booking storm", h)
        if not suite.case("start vigil-reservation",
                          lambda: start_reservation(h)):
            return suite.finish()
        for name, fn in [
                ("%d clients book; SIGKILL after %d acknowledgements"
                 % (CLIENTS, ACKED_BEFORE_KILL), case_storm_and_kill),
                ("every acknowledged reservation is in the SQLite file",
                 case_all_in_the_file),
                ("the restarted daemon serves them and its rebuilt index "
                 "matches the file", case_restart_serves_rebuilt_index),
                ("SIGTERM: exits 0", case_clean_shutdown)]:
            if suite.case(name, fn, h) is None:
                break
        return suite.finish()


if __name__ == "__main__":
    run_main(main)
