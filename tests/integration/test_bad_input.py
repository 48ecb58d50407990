#!/usr/bin/env python3
"""Integration: hostile and malformed input to the inspector and notifier.

Runs the real vigil-notifier, vigil-inspector and sample VNFM on 127.0.0.1
and throws at their REST APIs what a broken or hostile client would send:
malformed JSON, wrong types, JSON that is not a list, missing fields, a
5 MB body, unknown alarm ids, bad alarm definitions, wrong methods, wrong
content types, garbage on the socket. Each must get the right 4xx status
with a JSON body {"error": {"code": <status>, "message": "..."}}. After all
of it both daemons must still answer, a valid Doctor event must still flow
from the inspector through the notifier to the VNFM, and every daemon must
exit 0 on SIGTERM.

Run: /usr/bin/python3 tests/integration/test_bad_input.py --build-dir BUILD
"""

import json
import os
import socket
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))

from vigil_harness import (  # noqa: E402
    Harness, Suite, check, http, parse_build_dir, run_main)

HOST = "compute-bad-input"
BIG_BODY_SIZE = 5 * 1024 * 1024
ISO_TIME = "2026-11-22T01:53:07.123456Z"


def doctor_event(**overrides):
    event = {"time": ISO_TIME, "type": "compute.host.down",
             "details": {"hostname": HOST, "status": "down",
                         "monitor": "test", "monitor_event_id": "e1"}}
    event.update(overrides)
    return event


def alarm_body(**overrides):
    body = {"name": "bad-input-%s" % uuid.uuid4().hex[:8], "type": "event",
            "severity": "low", "repeat_actions": False,
            "alarm_actions": ["http://127.0.0.1:9/alarm"],
            "event_rule": {"event_type": "compute.instance.*", "query": []}}
    body.update(overrides)
    return body


def expect_error(method, url, body, status, content_type="application/json",
                 what=""):
    """Sends one request and checks the status and the JSON error body."""
    r = http(method, url, body, content_type=content_type)
    label = "%s %s%s" % (method, url.split("/", 3)[-1],
                         " (%s)" % what if what else "")
    check(r.status == status, "%s: expected %d, got %r" % (label, status, r))
    ctype = r.headers.get("Content-Type", "")
    check(ctype.startswith("application/json"),
          "%s: error Content-Type %r (body %r)" % (label, ctype, r.body[:200]))
    try:
        err = r.json()["error"]
    except (ValueError, KeyError, TypeError):
        raise AssertionError("%s: not a JSON error body: %r"
                             % (label, r.body[:200]))
    check(err.get("code") == status, "%s: error.code %r" % (label, err))
    check(isinstance(err.get("message"), str) and err["message"],
          "%s: error.message %r" % (label, err))
    return err["message"]


def big_list():
    """A syntactically valid JSON list just over 5 MB."""
    filler = "x" * 1000
    events = []
    size = 2
    while size < BIG_BODY_SIZE:
        event = doctor_event(details={"hostname": HOST, "pad": filler})
        events.append(event)
        size += len(json.dumps(event)) + 2
    return json.dumps(events)


# ---- inspector ------------------------------------------------------------

def case_inspector_malformed_json(h):
    url = h.daemons["inspector"].url("/events")
    for method in ("PUT", "POST"):
        for text in ('[{"time": ', "{not json}", "[1, 2,]", "\x00\x01",
                     '[{"type": "a", "type": "b"}]'):
            expect_error(method, url, text, 400, what=repr(text))


def case_inspector_not_a_list(h):
    url = h.daemons["inspector"].url("/events")
    for body in ('"compute.host.down"', "42", "null", "true", "[]",
                 '[["nested"]]', "[42]"):
        expect_error("PUT", url, body, 400, what=body)


def case_inspector_wrong_types(h):
    url = h.daemons["inspector"].url("/events")
    bodies = [
        [doctor_event(time=5)],
        [doctor_event(time="yesterday")],
        [doctor_event(type=["compute.host.down"])],
        [doctor_event(type="")],
        [doctor_event(details="compute-1")],
        [doctor_event(details={"hostname": 42})],
        [doctor_event(details={"hostname": HOST, "nested": {"a": 1}})],
        [doctor_event(details={"hostname": HOST, "list": [1]})],
        [doctor_event(profiler={"T01": "soon"})],
        [doctor_event(id=7)],
    ]
    for body in bodies:
        expect_error("PUT", url, body, 400, what=json.dumps(body)[:80])


def case_inspector_missing_fields(h):
    url = h.daemons["inspector"].url("/events")
    no_type = doctor_event()
    del no_type["type"]
    no_time = doctor_event()
    del no_time["time"]
    no_details = doctor_event()
    del no_details["details"]
    bodies = [
        [no_type], [no_time], [no_details],
        [doctor_event(details={"status": "down"})],
        [doctor_event(type="compute.instance.down")],
        [doctor_event(type="compute.instance.down",
                      details={"hostname": HOST,
                               "instance_uuid": "not-a-uuid"})],
        [doctor_event(), no_type],
    ]
    for body in bodies:
        expect_error("POST", url, body, 400, what=json.dumps(body)[:80])


def case_inspector_big_body(h):
    url = h.daemons["inspector"].url("/events")
    expect_error("PUT", url, big_list(), 413, what="5 MB")


def case_inspector_methods_and_types(h):
    inspector = h.daemons["inspector"]
    url = inspector.url("/events")
    expect_error("DELETE", url, None, 405)
    expect_error("PATCH", url, [doctor_event()], 405)
    expect_error("PUT", url, json.dumps([doctor_event()]), 415,
                 content_type="text/plain")
    expect_error("PUT", url, json.dumps([doctor_event()]), 415,
                 content_type="application/x-www-form-urlencoded")
    expect_error("GET", inspector.url("/no/such/thing"), None, 404)
    expect_error("GET", inspector.url("/events?limit=0"), None, 400)
    expect_error("GET", inspector.url("/events?limit=abc"), None, 400)


# ---- notifier -------------------------------------------------------------

def case_notifier_malformed(h):
    url = h.daemons["notifier"].url("/v2/alarms")
    for text in ('{"name": ', "[]", '"alarm"', "42", "null",
                 '{"name": "a", "name": "b"}'):
        expect_error("POST", url, text, 400, what=repr(text))


def case_notifier_bad_definitions(h):
    url = h.daemons["notifier"].url("/v2/alarms")
    no_name = alarm_body()
    del no_name["name"]
    bodies = [
        no_name,
        alarm_body(name=42),
        alarm_body(name=""),
        alarm_body(name="n" * 300),
        alarm_body(type="threshold"),
        alarm_body(type=7),
        alarm_body(severity="fatal"),
        alarm_body(state="broken"),
        alarm_body(enabled="yes"),
        alarm_body(repeat_actions="yes"),
        alarm_body(alarm_actions="http://127.0.0.1:9/alarm"),
        alarm_body(alarm_actions=["ftp://127.0.0.1/alarm"]),
        alarm_body(alarm_actions=[42]),
        alarm_body(alarm_actions=["http://x/%d" % i for i in range(100)]),
        alarm_body(event_rule="compute.instance.*"),
        alarm_body(event_rule={"event_type": 5}),
        alarm_body(event_rule={"event_type": "x", "query": "hostname=h"}),
        alarm_body(event_rule={"event_type": "x", "query": [
            {"field": "traits.hostname", "op": "like", "value": "h"}]}),
        alarm_body(event_rule={"event_type": "x", "query": [
            {"field": "traits.vcpus", "op": "eq", "type": "integer",
             "value": "many"}]}),
        alarm_body(event_rule={"event_type": "x", "query": [
            {"op": "eq", "value": "h"}]}),
    ]
    for body in bodies:
        expect_error("POST", url, body, 400, what=json.dumps(body)[:80])


def case_notifier_unknown_ids(h):
    notifier = h.daemons["notifier"]
    unknown = str(uuid.uuid4())
    url = notifier.url("/v2/alarms/%s" % unknown)
    expect_error("GET", url, None, 404)
    expect_error("PUT", url, alarm_body(), 404)
    expect_error("DELETE", url, None, 404)
    expect_error("GET", url + "/state", None, 404)
    expect_error("PUT", url + "/state", '"alarm"', 404)


def case_notifier_conflict(h):
    notifier = h.daemons["notifier"]
    body = alarm_body(name="bad-input-duplicate")
    r = http("POST", notifier.url("/v2/alarms"), body)
    check(r.status == 201, "first POST: %r" % r)
    alarm_id = r.json()["alarm_id"]
    expect_error("POST", notifier.url("/v2/alarms"), body, 409,
                 what="same name")
    r = http("DELETE", notifier.url("/v2/alarms/%s" % alarm_id))
    check(r.status == 204, "DELETE: %r" % r)


def case_notifier_big_body(h):
    notifier = h.daemons["notifier"]
    big = json.dumps(alarm_body(description="d" * BIG_BODY_SIZE))
    expect_error("POST", notifier.url("/v2/alarms"), big, 413, what="5 MB")
    expect_error("POST", notifier.url("/v1/events"), big_list(), 413,
                 what="5 MB events")


def case_notifier_methods_and_types(h):
    notifier = h.daemons["notifier"]
    url = notifier.url("/v2/alarms")
    expect_error("PATCH", url, alarm_body(), 405)
    expect_error("DELETE", url, None, 405)
    expect_error("PUT", url, alarm_body(), 405)
    expect_error("POST", url, json.dumps(alarm_body()), 415,
                 content_type="text/plain")
    expect_error("GET", notifier.url("/v3/alarms"), None, 404)
    events = notifier.url("/v1/events")
    expect_error("POST", events, "[{", 400)
    expect_error("POST", events, [doctor_event(type=5)], 400)
    expect_error("POST", events, json.dumps([doctor_event()]), 415,
                 content_type="text/plain")


# ---- both ----------------------------------------------------------------

def raw_exchange(port, data):
    """Sends raw bytes; returns what came back before the server closed or
    went quiet (the daemon must not crash either way)."""
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass    # the server answered and closed before reading it all
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except OSError:
            pass    # reset or quiet: only the daemon's survival matters
    return b"".join(chunks)


def case_garbage_on_the_socket(h):
    garbage = [
        b"GARBAGE\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,
        b"PUT /events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
        b"GET /metrics HTTP/1.1\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n",
        b"POST /v2/alarms HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
    ]
    for key in ("inspector", "notifier"):
        daemon = h.daemons[key]
        for data in garbage:
            reply = raw_exchange(daemon.port, data)
            if reply:
                status = reply.split(b" ", 2)[1:2]
                check(status and status[0].startswith(b"4"),
                      "%s answered %r to %r" % (key, reply[:80], data[:40]))
            check(daemon.running(), "%s died on %r" % (key, data[:40]))


def case_still_alive_and_flowing(h):
    inspector, consumer = h.daemons["inspector"], h.daemons["consumer"]
    for key in ("inspector", "notifier"):
        check(h.daemons[key].running(), "%s is not running" % key)
        h.daemons[key].metrics()
    instance = str(uuid.uuid4())
    event = doctor_event(type="compute.instance.down",
                         details={"hostname": HOST, "status": "down",
                                  "monitor": "test_bad_input",
                                  "monitor_event_id": str(uuid.uuid4()),
                                  "instance_uuid": instance,
                                  "libvirt_event": "STOPPED",
                                  "libvirt_detail": "CRASHED"})
    r = http("PUT", inspector.url("/events"), [event])
    check(r.status == 200, "PUT /events: %r" % r)
    found = consumer.wait_alarms(event_type="compute.instance.down",
                                 instance_uuid=instance)
    check(len(found) == 1, "%d alarms" % len(found))
    check(found[0]["body"]["current"] == "alarm", "current")


def case_clean_shutdown(h):
    codes = h.stop_daemons()
    bad = {k: v for k, v in codes.items() if v != 0}
    check(not bad, "exit codes: %r" % bad)


def main():
    build_dir = parse_build_dir(description=__doc__)
    with Harness(build_dir, "bad-input", hostname=HOST) as h:
        suite = Suite("integration/test_bad_input: malformed and hostile "
                      "input", h)

        def start():
            h.start_notifier()
            h.start_inspector()
            h.start_consumer()
        if not suite.case("start notifier, inspector and the VNFM", start):
            return suite.finish()
        cases = [
            ("inspector: malformed JSON -> 400",
             case_inspector_malformed_json),
            ("inspector: JSON that is not a list of events -> 400",
             case_inspector_not_a_list),
            ("inspector: wrong types -> 400", case_inspector_wrong_types),
            ("inspector: missing fields -> 400",
             case_inspector_missing_fields),
            ("inspector: 5 MB body -> 413", case_inspector_big_body),
            ("inspector: wrong methods 405, content types 415, paths 404, "
             "queries 400", case_inspector_methods_and_types),
            ("notifier: malformed JSON and non-objects -> 400",
             case_notifier_malformed),
            ("notifier: bad alarm definitions -> 400",
             case_notifier_bad_definitions),
            ("notifier: unknown alarm ids (GET/PUT/DELETE, state) -> 404",
             case_notifier_unknown_ids),
            ("notifier: duplicate alarm name -> 409",
             case_notifier_conflict),
            ("notifier: 5 MB bodies -> 413", case_notifier_big_body),
            ("notifier: wrong methods 405, content types 415, paths 404",
             case_notifier_methods_and_types),
            ("inspector and notifier: garbage on the socket -> 4xx or "
             "close, no crash", case_garbage_on_the_socket),
            ("both still answer; a valid event still reaches the VNFM",
             case_still_alive_and_flowing),
            ("SIGTERM: every daemon exits 0", case_clean_shutdown),
        ]
        for name, fn in cases:
            suite.case(name, fn, h)
        return suite.finish()


if __name__ == "__main__":
    run_main(main)
