#!/usr/bin/env python3
"""Integration: the Blazar-compatible /v1/leases subset of vigil-reservation,
driven by the stock Blazar client (Debian's python3-blazarclient).

Runs the real vigil-reservation on 127.0.0.1 with an SQLite file and a
pool in its [blazar] zone, and, through blazarclient.v1 (a keystoneauth1
session whose token_endpoint plugin points at the daemon: no Keystone):

- creates a lease of two virtual:instance reservations ("now" and Blazar's
  "YYYY-MM-DD HH:MM"), gets, lists and updates it (name, end_date, and
  prolong_for, which the client computes from the dates GET answers), and
  checks through Vigil's own API that the engine holds exactly
  amount * vcpus cores, amount * memory_mb MB, amount instances and
  amount * disk_gb gigabytes per reservation;
- books a lease that does not fit: 409 with Vigil's reason, and one that
  fits reservation by reservation but not as a whole: 409 and nothing
  booked (all or nothing);
- books a lease whose third reservation is refused by a quota after two
  were booked: 403, and the two are cancelled (all or nothing across the
  group commit);
- refuses physical:host, updates of reservations and malformed bodies
  with 4xx naming the field (Blazar's error_message and Vigil's error);
- drives the `blazar` CLI of the same package the same way (create,
  prolong, show, a refused physical:host lease, delete);
- restarts the daemon on the same file: the lease comes back;
- deletes the lease (404 afterwards, engine reservations cancelled) and
  checks the daemon exits 0 on SIGTERM (a leak under ASan would not).

The client is required: without python3-blazarclient the test fails.

Run: /usr/bin/python3 tests/integration/test_reservation_blazar.py --build-dir BUILD
"""

import datetime
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))

from vigil_harness import (  # noqa: E402
    Harness, Suite, check, http, parse_build_dir, run_main,
    start_reservation)

ZONE = "az-blazar"
POOL = {"cores": 16, "ram": 32768, "instances": 8, "gigabytes": 400}


def blazar_client(daemon):
    """The stock client on a keystoneauth1 session without Keystone."""
    try:
        from blazarclient import client as blazar
        from blazarclient import exception as blazar_exception
        from keystoneauth1 import session as ks_session
        from keystoneauth1 import token_endpoint
    except ImportError as e:
        raise AssertionError("python3-blazarclient is required (apt-get "
                             "install python3-blazarclient): %s" % e)
    auth = token_endpoint.Token(daemon.url("/v1"), "no-keystone")
    sess = ks_session.Session(auth=auth)
    return (blazar.Client(version="1", session=sess,
                          endpoint_override=daemon.url("/v1")),
            blazar_exception.BlazarClientException)


def api_date(t):
    return datetime.datetime.utcfromtimestamp(t).strftime("%Y-%m-%d %H:%M")


def instance(amount, vcpus, memory_mb, disk_gb):
    # As `blazar lease-create --reservation resource_type=virtual:instance,
    # ...` sends it: affinity "None" and resource_properties "".
    return {"resource_type": "virtual:instance", "amount": amount,
            "vcpus": vcpus, "memory_mb": memory_mb, "disk_gb": disk_gb,
            "affinity": "None", "resource_properties": ""}


def engine_reservations(d, status=None):
    url = d.url("/v1/reservations?zone=%s&limit=1000" % ZONE)
    if status:
        url += "&status=" + status
    r = http("GET", url)
    check(r.status == 200, "list reservations: %r" % r)
    return r.json()["reservations"]


def reserved_cores(d, start, end):
    r = http("GET", d.url("/v1/capacity?zone=%s&type=reserved&start=%d&"
                          "end=%d" % (ZONE, start, end)))
    check(r.status == 200, "capacity: %r" % r)
    return max(i["capacity"]["cores"] for i in r.json()["intervals"])


def expect_blazar_error(exc_type, code, words, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc_type as e:
        got = e.kwargs.get("code")
        check(got == code, "expected %d, got %r (%s)" % (code, got, e))
        for w in words:
            check(w in str(e), "error %r does not name %r" % (str(e), w))
        return str(e)
    raise AssertionError("expected a %d error" % code)


class State:
    pass


def case_setup(h, s):
    s.d = start_reservation(h, "--blazar.zone=" + ZONE)
    r = http("POST", s.d.url("/v1/pools"), {"zone": ZONE, "capacity": POOL})
    check(r.status == 201, "pool: %r" % r)
    s.client, s.error = blazar_client(s.d)
    check(s.client.lease.list() == [], "no lease yet")
    return True


def case_create(h, s):
    s.start = int(time.time()) // 3600 * 3600 + 48 * 3600
    s.end = s.start + 4 * 3600
    lease = s.client.lease.create(
        "vepc-scale-out", api_date(s.start), api_date(s.end),
        [instance(2, 2, 4096, 20), instance(1, 4, 8192, 40)], [])
    s.lease_id = lease["id"]
    check(lease["name"] == "vepc-scale-out" and lease["status"] == "PENDING",
          "lease %r" % lease)
    check(lease["start_date"] == datetime.datetime.utcfromtimestamp(
        s.start).strftime("%Y-%m-%dT%H:%M:%S.000000"), "start %r" % lease)
    res = lease["reservations"]
    check(len(res) == 2 and all(r["resource_type"] == "virtual:instance" and
                                r["status"] == "pending" and
                                r["lease_id"] == s.lease_id for r in res),
          "reservations %r" % res)
    check([(r["amount"], r["vcpus"], r["memory_mb"], r["disk_gb"])
           for r in res] == [(2, 2, 4096, 20), (1, 4, 8192, 40)],
          "flavors %r" % res)
    # What the engine holds: the Promise keys of each reservation.
    mine = {r["id"]: r for r in engine_reservations(s.d)}
    check(set(mine) == {r["id"] for r in res}, "engine %r" % mine)
    check(mine[res[0]["id"]]["capacity"] ==
          {"cores": 4, "ram": 8192, "instances": 2, "gigabytes": 40} and
          mine[res[1]["id"]]["capacity"] ==
          {"cores": 4, "ram": 8192, "instances": 1, "gigabytes": 40},
          "capacity %r" % mine)
    check(reserved_cores(s.d, s.start, s.end) == 8, "8 cores reserved")
    # A lease starting now.
    now_lease = s.client.lease.create("now-lease", "now",
                                      api_date(s.start),
                                      [instance(1, 1, 512, 0)], [])
    check(now_lease["status"] == "ACTIVE" and
          now_lease["reservations"][0]["status"] == "active",
          "now lease %r" % now_lease)
    s.now_lease_id = now_lease["id"]
    return True


def case_get_list_update(h, s):
    lease = s.client.lease.get(s.lease_id)
    check(lease["id"] == s.lease_id and len(lease["reservations"]) == 2,
          "get %r" % lease)
    ids = sorted(l["id"] for l in s.client.lease.list())
    check(ids == sorted([s.lease_id, s.now_lease_id]), "list %r" % ids)
    lease = s.client.lease.update(s.lease_id, name="renamed",
                                  end_date=api_date(s.end + 3600))
    check(lease["name"] == "renamed" and lease["end_date"].startswith(
        datetime.datetime.utcfromtimestamp(s.end + 3600).strftime(
            "%Y-%m-%dT%H:%M")), "update %r" % lease)
    # prolong_for: the client reads end_date in Blazar's format and adds.
    lease = s.client.lease.update(s.lease_id, prolong_for="1h")
    s.end += 2 * 3600
    check(lease["end_date"] == datetime.datetime.utcfromtimestamp(
        s.end).strftime("%Y-%m-%dT%H:%M:%S.000000"), "prolong %r" % lease)
    lease = s.client.lease.update(s.lease_id, defer_by="30m")
    check(lease["start_date"] == datetime.datetime.utcfromtimestamp(
        s.start + 1800).strftime("%Y-%m-%dT%H:%M:%S.000000"),
          "defer %r" % lease)
    s.start += 1800
    for r in engine_reservations(s.d):
        if r["name"].startswith("blazar:%s:" % s.lease_id):
            check(r["name"] == "blazar:%s:renamed" % s.lease_id,
                  "engine name %r" % r)
    # The active lease cannot move its start (as in Blazar).
    expect_blazar_error(s.error, 400, ["start_date"], s.client.lease.update,
                        s.now_lease_id, start_date=api_date(s.start))


def case_conflicts(h, s):
    before = len(engine_reservations(s.d))
    # 8 cores are booked of 16 over the window: 9 do not fit.
    msg = expect_blazar_error(s.error, 409, ["capacity.cores", ZONE],
                              s.client.lease.create, "too-big",
                              api_date(s.start), api_date(s.end),
                              [instance(9, 1, 1, 0)], [])
    check("Not enough resources" in msg, "message %r" % msg)
    # Each fits alone (8 cores free), not both: all or nothing.
    expect_blazar_error(s.error, 409, ["capacity.cores"],
                        s.client.lease.create, "half-fits",
                        api_date(s.start), api_date(s.end),
                        [instance(3, 2, 1024, 0), instance(1, 4, 1024, 0)],
                        [])
    check(len(engine_reservations(s.d)) == before, "nothing booked")
    check(reserved_cores(s.d, s.start, s.end) == 8, "still 8 cores")
    # An update that does not fit leaves the lease as it was: with 6
    # cores free after its end, its first reservation (4 cores) moves and
    # is put back when the second (4 more) is refused.
    blocker = s.client.lease.create("blocker", api_date(s.end),
                                    api_date(s.end + 3600),
                                    [instance(5, 2, 1024, 0)], [])
    expect_blazar_error(s.error, 409, ["capacity.cores"],
                        s.client.lease.update, s.lease_id,
                        end_date=api_date(s.end + 3600))
    lease = s.client.lease.get(s.lease_id)
    check(lease["end_date"] == datetime.datetime.utcfromtimestamp(
        s.end).strftime("%Y-%m-%dT%H:%M:%S.000000") and
          lease["name"] == "renamed", "unchanged %r" % lease)
    check(all(r["end"] == datetime.datetime.utcfromtimestamp(s.end).strftime(
        "%Y-%m-%dT%H:%M:%SZ") for r in engine_reservations(s.d)
        if r["name"].startswith("blazar:%s:" % s.lease_id)),
          "engine reservations unchanged")
    s.client.lease.delete(blocker["id"])


def case_malformed(h, s):
    expect_blazar_error(s.error, 400, ["resource_type", "physical:host"],
                        s.client.lease.create, "hosts", api_date(s.start),
                        api_date(s.end),
                        [{"resource_type": "physical:host", "min": 1,
                          "max": 1, "hypervisor_properties": "",
                          "resource_properties": ""}], [])
    expect_blazar_error(s.error, 400, ["reservations"],
                        s.client.lease.update, s.lease_id,
                        reservations=[{"id": "x", "amount": 3}])
    expect_blazar_error(s.error, 404, [], s.client.lease.get,
                        "01a201d9-0000-7000-8000-000000000000")
    url = s.d.url("/v1/leases")
    good = {"name": "x", "start_date": api_date(s.start),
            "end_date": api_date(s.end),
            "reservations": [instance(1, 1, 1, 1)], "events": []}
    bad = [
        ("POST", url, b"{not json", 400, None),
        ("POST", url, [], 400, "body"),
        ("POST", url, dict(good, start_date="2027-02-30 10:00"), 400,
         "start_date"),
        ("POST", url, dict(good, end_date=12), 400, "end_date"),
        ("POST", url, dict(good, extra=1), 400, "extra"),
        ("POST", url, dict(good, name="x" * 81), 400, "name"),
        ("POST", url, dict(good, reservations=[dict(instance(1, 1, 1, 1),
                                                    amount="2")]), 400,
         "reservations[0].amount"),
        ("POST", url, dict(good, reservations=[dict(instance(1, 1, 1, 1),
                                                    affinity=True)]), 400,
         "affinity"),
        ("POST", url, dict(good, events=[{"event_type": "before_end_lease",
                                          "event_date": "2027-01-01 00:00"}]),
         400, "events"),
        ("GET", url + "/not-a-uuid", None, 400, "lease id"),
        ("GET", url + "?limit=3", None, 400, "query"),
        ("PUT", url + "/" + s.lease_id, {}, 400, "name, start_date"),
        ("PUT", url + "/" + s.lease_id, {"end_date": "soon"}, 400,
         "end_date"),
        ("DELETE", url + "/" + s.lease_id, b"{}", 400, "body"),
        ("PATCH", url + "/" + s.lease_id, {}, 405, None),
    ]
    for method, u, body, status, field in bad:
        r = http(method, u, body)
        check(r.status == status, "%s %s %r: expected %d, got %r"
              % (method, u, body, status, r))
        j = r.json()
        check(isinstance(j, dict), "%s: no JSON %r" % (method, r.body[:200]))
        if field:
            check(field in j.get("error_message", "") and
                  j["error"]["code"] == status,
                  "%s %r: %r does not name %r" % (method, body, j, field))
    check(s.client.lease.get(s.lease_id)["name"] == "renamed",
          "still there")


def case_quota_rollback(h, s):
    # A daemon where the third reservation of a lease hits the quota after
    # two were booked: the lease is refused and the two are cancelled.
    q = start_reservation(h, "--blazar.zone=" + ZONE,
                          "--reservation.max_reservations=3",
                          key="reservation-quota")
    check(http("POST", q.url("/v1/pools"),
               {"zone": ZONE, "capacity": POOL}).status == 201, "pool")
    client, error = blazar_client(q)
    first = client.lease.create("one", api_date(s.start), api_date(s.end),
                                [instance(1, 1, 1, 0)], [])
    expect_blazar_error(error, 403, ["max_reservations"],
                        client.lease.create, "three", api_date(s.start),
                        api_date(s.end),
                        [instance(1, 1, 1, 0), instance(1, 1, 1, 0),
                         instance(1, 1, 1, 0)], [])
    live = engine_reservations(q, "pending")
    check([r["id"] for r in live] == [first["reservations"][0]["id"]],
          "only the first lease holds: %r" % live)
    cancelled = engine_reservations(q, "cancelled")
    check(len(cancelled) == 2 and
          all(r["name"].startswith("blazar:") and r["name"].endswith(
              ":three") for r in cancelled), "rolled back %r" % cancelled)
    check([l["id"] for l in client.lease.list()] == [first["id"]],
          "leases after the refusal")
    check(reserved_cores(q, s.start, s.end) == 1, "one core reserved")
    check(q.stop() == 0, "quota daemon exit code")


def case_restart(h, s):
    before = s.client.lease.get(s.lease_id)
    check(s.d.stop() == 0, "exit code on SIGTERM")
    s.d = start_reservation(h, "--blazar.zone=" + ZONE,
                            database=s.d.database)
    s.client, s.error = blazar_client(s.d)
    after = s.client.lease.get(s.lease_id)
    check(after == before, "after restart %r != %r" % (after, before))
    ids = sorted(l["id"] for l in s.client.lease.list())
    check(ids == sorted([s.lease_id, s.now_lease_id]), "list %r" % ids)


def case_delete(h, s):
    res_ids = [r["id"] for r in s.client.lease.get(s.lease_id)
               ["reservations"]]
    s.client.lease.delete(s.lease_id)
    expect_blazar_error(s.error, 404, [s.lease_id], s.client.lease.get,
                        s.lease_id)
    expect_blazar_error(s.error, 404, [], s.client.lease.delete, s.lease_id)
    by_id = {r["id"]: r for r in engine_reservations(s.d)}
    check(all(by_id[i]["status"] == "cancelled" for i in res_ids),
          "engine reservations cancelled: %r" % by_id)
    check(reserved_cores(s.d, s.start, s.end) == 0, "nothing reserved")
    check([l["id"] for l in s.client.lease.list()] == [s.now_lease_id],
          "list after delete")
    s.client.lease.delete(s.now_lease_id)
    check(s.client.lease.list() == [], "empty")


def blazar_cli(d, *args):
    """Runs the stock `blazar` CLI against the daemon: keystoneauth1's
    admin_token plugin sends the token to the endpoint given, no Keystone.
    Returns (exit code, output)."""
    cli = shutil.which("blazar")
    check(cli is not None, "the blazar CLI (python3-blazarclient) is "
          "required")
    p = subprocess.run([cli, "--os-auth-type", "admin_token",
                        "--os-endpoint", d.url("/v1"), "--os-token", "x"] +
                       list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60, text=True)
    return p.returncode, p.stdout


def case_cli(h, s):
    code, out = blazar_cli(
        s.d, "lease-create", "--reservation",
        "resource_type=virtual:instance,vcpus=2,memory_mb=1024,disk_gb=10,"
        "amount=2", "--start-date", api_date(s.start), "--end-date",
        api_date(s.end), "-f", "json", "cli-lease")
    check(code == 0, "lease-create: %d %s" % (code, out))
    lease = json.loads(out[out.index("{"):])
    check(lease["name"] == "cli-lease" and lease["status"] == "PENDING",
          "created %r" % lease)
    code, out = blazar_cli(s.d, "lease-update", "--prolong-for", "2h",
                           "cli-lease")
    check(code == 0, "lease-update: %d %s" % (code, out))
    code, out = blazar_cli(s.d, "lease-show", "-f", "value", "-c",
                           "end_date", "cli-lease")
    check(code == 0 and out.strip().endswith(
        datetime.datetime.utcfromtimestamp(s.end + 7200).strftime(
            "%Y-%m-%dT%H:%M:%S.000000")), "lease-show: %d %r" % (code, out))
    code, out = blazar_cli(
        s.d, "lease-create", "--physical-reservation", "min=1,max=2",
        "--start-date", api_date(s.start), "--end-date", api_date(s.end),
        "hosts")
    check("physical:host" in out and "not supported" in out,
          "physical reservation: %d %s" % (code, out))
    code, out = blazar_cli(s.d, "lease-delete", "cli-lease")
    check(code == 0, "lease-delete: %d %s" % (code, out))
    check("cli-lease" not in [l["name"] for l in s.client.lease.list()],
          "deleted")


def case_clean_shutdown(h, s):
    check(s.d.stop() == 0, "exit code %r" % s.d.returncode)


def main():
    build_dir = parse_build_dir(description=__doc__)
    with Harness(build_dir, "reservation-blazar") as h:
        suite = Suite("integration/test_reservation_blazar: /v1/leases with "
                      "the stock Blazar client", h)
        s = State()
        if suite.case("start vigil-reservation; the stock blazarclient",
                      case_setup, h, s) is None:
            return suite.finish()
        cases = [
            ("create leases of virtual:instance reservations; the engine "
             "holds their capacity", case_create),
            ("get, list, update (name, end_date, prolong, defer)",
             case_get_list_update),
            ("conflicts: 409 with Vigil's reason, all or nothing, refused "
             "update unchanged", case_conflicts),
            ("physical:host, reservation updates, malformed input -> 4xx "
             "naming the field", case_malformed),
            ("a quota refusal after two bookings cancels them",
             case_quota_rollback),
            ("the blazar CLI: lease-create, -update, -show, -delete",
             case_cli),
            ("restart: the leases come back from SQLite", case_restart),
            ("delete: 404 afterwards, capacity released", case_delete),
            ("SIGTERM: exits 0", case_clean_shutdown),
        ]
        for name, fn in cases:
            if suite.case(name, fn, h, s) is None and name.startswith(
                    "create"):
                break
        return suite.finish()


if __name__ == "__main__":
    run_main(main)
