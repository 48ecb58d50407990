#!/usr/bin/env python3
"""Integration: a compute host fails in a real OpenStack.

Real processes end to end, nothing stubbed: the OpenStack testbed of
tests/openstack/up.sh (Keystone, Nova api/conductor/scheduler and
nova-compute services with the fake driver (this test fails fake-compute-2
and keeps fake-compute-3 up), Placement, Glance, Neutron,
RabbitMQ; started when it is not running, and stopped again at the end in
that case), vigil-notifier, vigil-inspector with [nova] enabled, the
sample VNFM subscribed over the notifier's Aodh API, and the host fault
source: vigil-monitor heartbeats when this build's monitor has them (two
monitors, one of them speaking for fake-compute-2, stopped with SIGSTOP),
else a Doctor compute.host.down event PUT to the inspector exactly as
OPNFV Doctor's sample monitor sends it. The test says which it used.

The inspector authenticates through a recording pass-through proxy in
front of Keystone (the test needs to know the inspector's token to revoke
it: DELETE /v3/auth/tokens with an admin token and X-Subject-Token). The
token is revoked just before the fault: the inspector must re-authenticate
and lose no call.

Asserted: the VNFM gets the host alarm and one alarm per VM of the host
(each naming the host fault as its cause) and none for the other host's
VM; Nova shows the host's nova-compute service forced_down and down (the
other one untouched); every server of the host is ERROR (the other host's
stays ACTIVE); the host's port has data_plane_status DOWN; the host was
fenced once (fencing required, by command); a per-VM event from the failed
host is absorbed; repeated down events and an inspector restart (state
database) repeat neither fencing nor Nova calls; recovery unsets
forced_down; the old force-down body (microversion 2.11) works too; every
daemon exits 0 on SIGTERM.

If OpenStack cannot be installed or started here the test FAILS, saying so.

Run: /usr/bin/python3 tests/integration/test_openstack.py --build-dir BUILD
"""

import http.client as httpclient
import http.server as httpserver
import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))

from vigil_harness import (  # noqa: E402
    Daemon, Harness, Suite, alarm_traits, check, http,
    mono_ns, parse_build_dir, run_main, wait_for)
import vigil_openstack as vo  # noqa: E402

HOST = "fake-compute-2"
OTHER = "fake-compute-3"
PREFIX = "vigil-it-"
VMS = 4                  # booted before the inspector starts
ALARM = "vnfm-openstack"
HB_KEY = "vigil openstack test heartbeat key"
NOVA_TIMEOUT_S = 120.0


class State:
    env = None
    admin = None
    user = None
    started_testbed = False
    servers = []         # ids on HOST
    other_server = None
    port_id = None
    proxy = None
    fence_file = None
    state_db = None
    inspector_args = []
    source = None        # "heartbeat" or "doctor"
    monitors = []
    alarms_before_restart = 0


# ---- a recording pass-through proxy in front of Keystone -------------------

class KeystoneProxy:
    """Forwards every request to Keystone unchanged and remembers the
    tokens Keystone issued through it (X-Subject-Token of 201 answers to
    POST /v3/auth/tokens), so that the test can revoke the inspector's."""

    def __init__(self, upstream_host, upstream_port):
        self.tokens = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(httpserver.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def _forward(self):
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size) if size else None
                conn = httpclient.HTTPConnection(upstream_host,
                                                  upstream_port, timeout=30)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body, headers)
                r = conn.getresponse()
                data = r.read()
                token = r.getheader("X-Subject-Token")
                if (self.command == "POST" and r.status == 201
                        and self.path.startswith("/v3/auth/tokens")
                        and token):
                    with proxy.lock:
                        proxy.tokens.append(token)
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("connection", "content-length",
                                         "transfer-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = \
                _forward

        self.server = httpserver.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def issued(self):
        with self.lock:
            return list(self.tokens)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ---- helpers ----------------------------------------------------------------

def inspector(h):
    return h.daemons["inspector"]


def metric(h, name):
    return inspector(h).metric(name)


def servers_on(host):
    return [s for s in State.admin.servers(host=host)
            if s["name"].startswith(PREFIX)]


def host_alarms(consumer, event_type, **traits):
    return consumer.matching(alarm_name=ALARM, event_type=event_type,
                             **traits)


def heartbeat_monitor_available(h):
    """True when this build's vigil-monitor takes heartbeat options."""
    r = subprocess.run([h.binary("vigil-monitor"), "--help"],
                       capture_output=True, text=True, timeout=30)
    return "[heartbeat]" in r.stdout


def put_doctor_event(h, host, status):
    """A Doctor host event as OPNFV Doctor's sample monitor sends it."""
    now = time.time()
    event = [{"time": time.strftime("%Y-%m-%dT%H:%M:%S",
                                    time.gmtime(now))
              + ".%06d" % int((now % 1) * 1e6),
              "type": "compute.host.%s" % status,
              "details": {"hostname": host, "status": status,
                          "monitor": "doctor-sample-monitor",
                          "monitor_event_id": "it-%s-%d" % (status,
                                                           mono_ns())}}]
    r = http("PUT", inspector(h).url("/events"), event)
    check(r.status == 200, "PUT /events: %r" % r)
    return r.json()


# ---- cases -----------------------------------------------------------------

def case_testbed(h):
    log = h.log("openstack-up")
    State.started_testbed = not vo.testbed_running()
    print("    %s (tests/openstack/up.sh; log %s)"
          % ("starting the OpenStack testbed" if State.started_testbed
             else "reusing the running OpenStack testbed", log), flush=True)
    t0 = time.monotonic()
    try:
        State.env = vo.start_testbed(log)
    except vo.OpenStackError as e:
        raise AssertionError("OpenStack is required by this test and could "
                             "not be set up: %s" % e)
    print("    testbed ready in %.0f s" % (time.monotonic() - t0), flush=True)
    env = State.env
    State.admin = vo.Session(env["OS_AUTH_URL"],
                             env["VIGIL_OS_ADMIN_USERNAME"],
                             env["VIGIL_OS_ADMIN_PASSWORD"],
                             env["VIGIL_OS_ADMIN_PROJECT"])
    State.user = vo.Session(env["OS_AUTH_URL"], env["OS_USERNAME"],
                            env["OS_PASSWORD"], env["OS_PROJECT_NAME"])


def cleanup_openstack():
    """Removes what earlier runs left: our servers, ports, forced_down.
    Servers are deleted one at a time and deleted again if a delete did not
    go through (the testbed's SQLite databases refuse concurrent writers
    now and then: "database is locked")."""
    admin = State.admin
    for host in (HOST, OTHER):
        if admin.service(host)["forced_down"]:
            admin.set_forced_down(host, False)
    ports = admin.call("GET", "network", "/v2.0/ports?fields=id&fields=name",
                       expect=200).json()["ports"]
    for p in ports:
        if p.get("name", "").startswith(PREFIX):
            admin.call("DELETE", "network", "/v2.0/ports/%s" % p["id"],
                       expect=(204, 404))
    for attempt in range(5):
        left = [s for s in admin.servers() if s["name"].startswith(PREFIX)]
        if not left:
            return
        for s in left:
            if s.get("OS-EXT-STS:task_state") != "deleting":
                admin.delete_server(s["id"])
                time.sleep(0.2)
        try:
            vo.wait(lambda: not [s for s in admin.servers()
                                 if s["name"].startswith(PREFIX)],
                    30, "old test servers to be deleted")
            return
        except vo.OpenStackError:
            continue
    raise vo.OpenStackError("test servers left after 5 deletion rounds: %r"
                            % [(s["name"], s["status"]) for s in
                               admin.servers()
                               if s["name"].startswith(PREFIX)])


def case_prepare(h):
    cleanup_openstack()
    user = State.user
    flavor = user.flavor_id(State.env["VIGIL_OS_FLAVOR"])
    image = user.image_id(State.env["VIGIL_OS_IMAGE"])
    user.boot(PREFIX + "a", HOST, flavor, image, count=VMS)
    user.boot(PREFIX + "other", OTHER, flavor, image, count=1)

    def booted():
        mine = [s for s in State.admin.servers()
                if s["name"].startswith(PREFIX)]
        if len(mine) == VMS + 1 and all(s["status"] == "ACTIVE"
                                        for s in mine):
            return mine
        bad = [s for s in mine if s["status"] == "ERROR"]
        if bad:
            raise AssertionError("a server failed to boot: %r" % bad[0])
        return None
    mine = vo.wait(booted, NOVA_TIMEOUT_S, "%d fake servers ACTIVE"
                   % (VMS + 1))
    State.servers = [s["id"] for s in mine
                     if s["OS-EXT-SRV-ATTR:host"] == HOST]
    others = [s["id"] for s in mine if s["OS-EXT-SRV-ATTR:host"] == OTHER]
    check(len(State.servers) == VMS and len(others) == 1,
          "servers not where they were asked to be: %r"
          % [(s["name"], s["OS-EXT-SRV-ATTR:host"]) for s in mine])
    State.other_server = others[0]
    net = State.admin.ensure_network(PREFIX + "net")
    State.port_id = State.admin.create_port(PREFIX + "port", net, HOST)["id"]
    print("    servers on %s: %s; on %s: %s; port %s bound to %s" % (
        HOST, ", ".join(State.servers), OTHER, State.other_server,
        State.port_id, HOST), flush=True)


def start_inspector(h, *extra):
    """Starts vigil-inspector; a restart keeps its port, where the
    monitors send their events."""
    args = ["--log-level", h.log_level, "--notifier.url=%s"
            % h.daemons["notifier"].url("/v1/events")]
    args += list(State.inspector_args) + list(extra)
    old = h.daemons.get("inspector")
    if old is None:
        return h._start(Daemon, "inspector", "vigil-inspector", args[2:])
    daemon = Daemon("inspector", h.binary("vigil-inspector"), old.port, args,
                    h.log("inspector"))
    h.daemons["inspector"] = daemon
    daemon.start()
    return daemon.wait_ready()


def wait_inventory(h, count):
    wait_for(lambda: metric(h, "vigil_inspector_inventory_synced") == 1
             and metric(h, "vigil_inspector_inventory_servers") >= count,
             NOVA_TIMEOUT_S, "the inspector's host -> VM map to hold %d "
             "server(s)" % count)


def case_start_vigil(h):
    env = State.env
    State.proxy = KeystoneProxy("127.0.0.1", 5000)
    State.fence_file = os.path.join(h.dir, "fenced")
    State.state_db = os.path.join(h.dir, "inspector-state.db")
    State.inspector_args = [
        "--nova.enabled=true",
        "--keystone.auth_url=http://127.0.0.1:%d/v3" % State.proxy.port,
        "--keystone.username=%s" % env["OS_USERNAME"],
        "--keystone.password=%s" % env["OS_PASSWORD"],
        "--keystone.project_name=%s" % env["OS_PROJECT_NAME"],
        "--keystone.region_name=%s" % env["OS_REGION_NAME"],
        "--nova.refresh_interval_s=1",
        "--neutron.data_plane_status=true",
        "--fence.mode=command",
        "--fence.command=echo \"$1 $(date +%%s.%%N)\" >> %s"
        % State.fence_file,
        "--fence.required=true",
        "--fence.timeout_ms=5000",
        "--host_fault.recovery_hold_ms=500",
        "--inspector.state_db=%s" % State.state_db,
    ]
    h.start_notifier()
    start_inspector(h)
    h.start_consumer("--consumer.alarm_name=%s" % ALARM,
                     "--consumer.event_type=compute.*")
    wait_inventory(h, VMS + 1)


def case_changes_since(h):
    """A server booted after the inspector's full listing reaches its map
    through the periodic changes-since refresh."""
    user = State.user
    before = metric(h, "vigil_inspector_inventory_servers")
    user.boot(PREFIX + "late", HOST, user.flavor_id(State.env[
        "VIGIL_OS_FLAVOR"]), user.image_id(State.env["VIGIL_OS_IMAGE"]))
    late = vo.wait(lambda: [s for s in servers_on(HOST)
                            if s["name"] == PREFIX + "late"
                            and s["status"] == "ACTIVE"],
                   NOVA_TIMEOUT_S, "the late server ACTIVE")
    State.servers.append(late[0]["id"])
    wait_inventory(h, before + 1)
    r = http("GET", inspector(h).url("/events?limit=1000"))
    check(r.status == 200, "GET /events: %r" % r)


def start_heartbeat_monitors(h):
    """Two vigil-monitors on 127.0.0.1 ([libvirt] enabled = false): one
    speaks for HOST and sends it heartbeats, the other (OTHER) observes it
    and reports host faults to the inspector. Returns (sender, observer)
    once the observer has seen HOST's heartbeats."""
    port = free_port_udp()
    common = ["--libvirt.enabled=false", "--heartbeat.key=%s" % HB_KEY,
              "--inspector.url=%s" % inspector(h).url("/events")]
    observer = h._start(Daemon, "monitor-" + OTHER, "vigil-monitor", common + [
        "--monitor.hostname=%s" % OTHER,
        "--heartbeat.listen=127.0.0.1:%d" % port,
        "--heartbeat.peers=%s" % HOST])
    sender = h._start(Daemon, "monitor-" + HOST, "vigil-monitor", common + [
        "--monitor.hostname=%s" % HOST,
        "--heartbeat.send_to=127.0.0.1:%d" % port])
    State.monitors = [sender, observer]

    state = 'vigil_monitor_heartbeat_peer_state{peer="%s"}' % HOST
    wait_for(lambda: observer.metric(state) == 1, 30,
             "the observer to see %s up (its heartbeats)" % HOST)
    return sender, observer


def free_port_udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def case_revoke_token(h):
    tokens = State.proxy.issued()
    check(len(tokens) == 1, "the inspector authenticated %d times before "
          "the revocation" % len(tokens))
    State.admin.revoke(tokens[0])
    check(not State.admin.token_valid(tokens[0]),
          "Keystone still accepts the revoked token")
    print("    revoked the inspector's token (DELETE /v3/auth/tokens, "
          "X-Subject-Token %s...)" % tokens[0][:12], flush=True)


def case_host_fault(h):
    consumer = h.daemons["consumer"]
    # Every server Nova has on the host is alarmed and reset, ours or not.
    State.servers = [s["id"] for s in State.admin.servers(host=HOST)]
    check(len(State.servers) >= VMS + 1, "servers on %s: %r"
          % (HOST, State.servers))
    if heartbeat_monitor_available(h):
        State.source = "heartbeat"
        sender, _ = start_heartbeat_monitors(h)
        print("    fault source: vigil-monitor heartbeats; %s's monitor is "
              "stopped (SIGSTOP) and the observer on %s reports it down"
              % (HOST, OTHER), flush=True)
        t0 = mono_ns()
        sender.signal(signal.SIGSTOP)
    else:
        State.source = "doctor"
        print("    fault source: a Doctor compute.host.down PUT to the "
              "inspector (OPNFV Doctor's sample monitor; this build's "
              "vigil-monitor has no heartbeat options)", flush=True)
        t0 = mono_ns()
        reply = put_doctor_event(h, HOST, "down")
        check(reply.get("host_events") == 1, "reply: %r" % reply)
    found = consumer.wait_alarms(count=1 + len(State.servers),
                                 alarm_name=ALARM, hostname=HOST,
                                 timeout=60)
    t_alarms = mono_ns()
    host = [a for a in found
            if a["body"]["reason_data"]["event"]["event_type"]
            == "compute.host.down"]
    vms = [a for a in found
           if a["body"]["reason_data"]["event"]["event_type"]
           == "compute.instance.down"]
    check(len(host) == 1, "host alarms: %d" % len(host))
    cause_id = alarm_traits(host[0]).get("monitor_event_id")
    check(cause_id, "host alarm traits: %r" % alarm_traits(host[0]))
    uuids = sorted(alarm_traits(a).get("instance_uuid") for a in vms)
    check(uuids == sorted(State.servers), "VM alarms for %r, expected %r"
          % (uuids, sorted(State.servers)))
    for a in vms:
        t = alarm_traits(a)
        check(t.get("cause") == "compute.host.down"
              and t.get("cause_event_id") and t.get("hostname") == HOST,
              "VM alarm traits: %r" % t)
    print("    %d VM alarms + the host alarm at the VNFM within %.1f ms of "
          "the fault (%s)" % (len(vms), (t_alarms - t0) / 1e6,
                              "SIGSTOP" if State.source == "heartbeat"
                              else "PUT"), flush=True)

    # Nova: forced down, every server ERROR, the other host untouched.
    def nova_done():
        svc = State.admin.service(HOST)
        states = {s["id"]: s["status"]
                  for s in State.admin.servers(host=HOST)}
        return (svc["forced_down"] and svc["state"] == "down"
                and all(states.get(i) == "ERROR" for i in State.servers))
    vo.wait(nova_done, NOVA_TIMEOUT_S, "Nova: %s forced down and its "
            "servers ERROR" % HOST)
    other = State.admin.service(OTHER)
    check(not other["forced_down"], "%s forced down too" % OTHER)
    other_vm = [s for s in servers_on(OTHER)
                if s["id"] == State.other_server]
    check(other_vm and other_vm[0]["status"] == "ACTIVE",
          "the other host's server: %r" % other_vm)
    port = vo.wait(lambda: State.admin.port(State.port_id).get(
        "data_plane_status") == "DOWN" and State.admin.port(State.port_id),
        NOVA_TIMEOUT_S, "data_plane_status DOWN on the host's port")
    check(port["binding:host_id"] == HOST, "port: %r" % port)
    # No alarm for the other host.
    check(not consumer.matching(alarm_name=ALARM, hostname=OTHER),
          "alarms for %s" % OTHER)
    # Fenced once, before Nova was told (fencing required).
    with open(State.fence_file) as f:
        fenced = f.read().split("\n")
    fenced = [line for line in fenced if line]
    check(len(fenced) == 1 and fenced[0].startswith(HOST + " "),
          "fencing runs: %r" % fenced)
    # The incident's stamps in GET /events.
    r = http("GET", inspector(h).url("/events?limit=1000"))
    incidents = [e for e in r.json()["events"]
                 if e.get("class") == "host_fault"
                 and e.get("hostname") == HOST]
    check(len(incidents) == 1, "host_fault entries: %r" % incidents)
    inc = incidents[0]
    prof = inc["profiler"]
    for stamp in ("T02", "T03", "T04", "T05"):
        check(stamp in prof, "incident stamps: %r" % prof)
    check(prof["T02"] <= prof["T03"] <= prof["T04"] and
          prof["T03"] <= prof["T05"], "stamps out of order: %r" % prof)
    check(inc["nova"]["forced_down"] is True
          and inc["nova"]["reset_done"] == len(State.servers)
          and inc["nova"]["microversion"] == "2.53"
          and inc["fence"]["state"] == "fenced", "incident: %r" % inc)
    check(inc.get("neutron", {}).get("ports_down") == 1, "neutron: %r" % inc)
    print("    incident: T03 +%.3f ms (VMs found, alarms handed over), "
          "T04 +%.1f ms (forced down), T05 +%.1f ms (%d servers reset), "
          "from receipt (T02)" % ((prof["T03"] - prof["T02"]) / 1e6,
                                  (prof["T04"] - prof["T02"]) / 1e6,
                                  (prof["T05"] - prof["T02"]) / 1e6,
                                  len(State.servers)), flush=True)


def case_reauth(h):
    """The revoked token was refused (401), the inspector authenticated
    again and replayed the refused calls: none was lost."""
    tokens = State.proxy.issued()
    check(len(tokens) == 2, "authentications through the proxy: %d"
          % len(tokens))
    check(metric(h, "vigil_inspector_keystone_unauthorized_total") >= 1,
          "no call was refused with 401")
    check(metric(h, "vigil_inspector_keystone_replayed_total") >= 1,
          "no call was replayed")
    check(metric(h, 'vigil_inspector_keystone_authentications_total'
                 '{result="ok"}') == 2, "authentications")
    failed = metric(h, 'vigil_inspector_nova_calls_total{result="failed"}')
    ok = metric(h, 'vigil_inspector_nova_calls_total{result="ok"}')
    check(failed == 0, "%d Nova call(s) failed" % failed)
    check(ok == 1 + len(State.servers), "Nova calls ok: %d" % ok)
    print("    401 answers: %d, replayed: %d, Nova calls ok: %d, failed: %d"
          % (metric(h, "vigil_inspector_keystone_unauthorized_total"),
             metric(h, "vigil_inspector_keystone_replayed_total"), ok,
             failed), flush=True)


def case_absorb(h):
    consumer = h.daemons["consumer"]
    before = len(consumer.alarms())
    event = [{"time": "2026-01-01T00:00:00.000001", "type":
              "compute.instance.down", "details": {
                  "hostname": HOST, "status": "down",
                  "instance_uuid": State.servers[0],
                  "monitor": "doctor-sample-monitor",
                  "monitor_event_id": "it-vm"}}]
    r = http("PUT", inspector(h).url("/events"), event)
    check(r.status == 200 and r.json().get("absorbed") == 1,
          "PUT /events: %r" % r)
    reply = put_doctor_event(h, HOST, "down")
    check(reply.get("host_events") == 1, "reply: %r" % reply)
    time.sleep(1.0)
    check(len(consumer.alarms()) == before,
          "%d new alarm(s)" % (len(consumer.alarms()) - before))
    check(metric(h, 'vigil_inspector_nova_calls_total{result="ok"}')
          == 1 + len(State.servers), "Nova was called again")
    check(metric(h, 'vigil_inspector_host_events_total'
                 '{outcome="repeated"}') == 1, "outcome repeated")
    State.alarms_before_restart = len(consumer.alarms())


def case_restart(h):
    code = inspector(h).stop()
    check(code == 0, "inspector exit code %r" % code)
    start_inspector(h)
    wait_inventory(h, len(State.servers) + 1)
    reply = put_doctor_event(h, HOST, "down")
    check(reply.get("host_events") == 1, "reply: %r" % reply)
    time.sleep(1.0)
    check(metric(h, 'vigil_inspector_nova_calls_total{result="ok"}') == 0,
          "the restarted inspector called Nova for the fault again")
    check(metric(h, 'vigil_inspector_host_events_total{outcome="repeated"}')
          == 1, "not taken as a repeat")
    with open(State.fence_file) as f:
        runs = [line for line in f.read().split("\n") if line]
    check(len(runs) == 1, "fenced again: %r" % runs)
    check(len(h.daemons["consumer"].alarms()) == State.alarms_before_restart,
          "new alarms after the restart")


def case_recovery(h):
    consumer = h.daemons["consumer"]
    if State.source == "doctor":
        put_doctor_event(h, HOST, "up")
    else:
        # The frozen host's monitor resumes its heartbeats.
        State.monitors[0].signal(signal.SIGCONT)
    consumer.wait_alarms(count=1, alarm_name=ALARM,
                         event_type="compute.host.up", hostname=HOST,
                         timeout=60)
    ups = consumer.wait_alarms(count=len(State.servers), alarm_name=ALARM,
                               event_type="compute.instance.up",
                               hostname=HOST, timeout=60)
    check(all(alarm_traits(a).get("cause") == "compute.host.up"
              for a in ups), "recovery alarms: %r"
          % [alarm_traits(a) for a in ups])
    vo.wait(lambda: not State.admin.service(HOST)["forced_down"],
            NOVA_TIMEOUT_S, "forced_down unset on %s" % HOST)
    print("    %s up: forced_down unset, %d recovery alarms" % (
        HOST, 1 + len(ups)), flush=True)


def case_old_microversion(h):
    """The 2.11 force-down body against the same Nova (override)."""
    code = inspector(h).stop()
    check(code == 0, "inspector exit code %r" % code)
    start_inspector(h, "--nova.microversion=2.11", "--fence.mode=none")
    wait_inventory(h, len(State.servers) + 1)
    consumer = h.daemons["consumer"]
    put_doctor_event(h, OTHER, "down")
    consumer.wait_alarms(count=2, alarm_name=ALARM, hostname=OTHER,
                         timeout=60)
    vo.wait(lambda: State.admin.service(OTHER)["forced_down"]
            and [s for s in servers_on(OTHER)
                 if s["id"] == State.other_server][0]["status"] == "ERROR",
            NOVA_TIMEOUT_S, "%s forced down with the 2.11 body" % OTHER)
    r = http("GET", inspector(h).url("/events?limit=1000"))
    inc = [e for e in r.json()["events"] if e.get("class") == "host_fault"
           and e.get("hostname") == OTHER]
    check(inc and inc[0]["nova"]["microversion"] == "2.11",
          "incident: %r" % inc)
    put_doctor_event(h, OTHER, "up")
    vo.wait(lambda: not State.admin.service(OTHER)["forced_down"],
            NOVA_TIMEOUT_S, "forced_down unset on %s (2.11 body)" % OTHER)


def case_shutdown(h):
    codes = h.stop_daemons()
    bad = {k: v for k, v in codes.items() if v != 0}
    check(not bad, "exit codes: %r" % bad)


def main():
    build_dir = parse_build_dir(description=__doc__)
    lock = vo.TestbedLock()
    try:
        lock.__enter__()
    except vo.OpenStackError as e:
        print("FAIL: the OpenStack testbed is free for this test: %s" % e)
        print("0 passed, 1 failed", flush=True)
        return 1
    try:
        return run(build_dir)
    finally:
        lock.__exit__(None, None, None)


def run(build_dir):
    with Harness(build_dir, "openstack") as h:
        suite = Suite("integration/test_openstack: a compute host fails in "
                      "a real OpenStack (Keystone, Nova)", h)
        try:
            if not suite.case("the OpenStack testbed is up "
                              "(tests/openstack/up.sh)", case_testbed, h):
                return suite.finish()
            if not suite.case("%d fake servers on %s, 1 on %s, a port bound "
                              "to %s" % (VMS, HOST, OTHER, HOST),
                              case_prepare, h):
                return suite.finish()
            if not suite.case("notifier, inspector ([nova] enabled, Keystone "
                              "auth, fencing required) and VNFM; the "
                              "inspector's host -> VM map is filled from "
                              "Nova", case_start_vigil, h):
                return suite.finish()
            suite.case("a server booted later reaches the map through "
                       "changes-since", case_changes_since, h)
            suite.case("the inspector's Keystone token is revoked",
                       case_revoke_token, h)
            if not suite.case("host fault: the VNFM gets the host alarm and "
                              "one per VM; Nova shows the service forced "
                              "down and every server ERROR; port DOWN; "
                              "fenced once", case_host_fault, h):
                return suite.finish()
            suite.case("after the revocation the inspector re-authenticated "
                       "and lost no call", case_reauth, h)
            suite.case("a VM event of the failed host is absorbed; a "
                       "repeated host down calls nothing again",
                       case_absorb, h)
            suite.case("a restarted inspector (state database) neither "
                       "fences nor calls Nova again", case_restart, h)
            suite.case("recovery: forced_down unset, recovery alarms",
                       case_recovery, h)
            suite.case("microversion 2.11: the old force-down body works "
                       "against the same Nova", case_old_microversion, h)
            suite.case("SIGTERM: every daemon exits 0", case_shutdown, h)
        finally:
            for m in State.monitors:
                m.signal(signal.SIGCONT)
            # Nothing may call Nova while the test cleans up.
            for daemon in h.daemons.values():
                daemon.kill()
            if State.proxy:
                State.proxy.close()
            if State.admin:
                try:
                    cleanup_openstack()
                except (vo.OpenStackError, OSError) as e:
                    print("cleanup: %s" % e, flush=True)
            if State.started_testbed:
                vo.stop_testbed(h.log("openstack-down"))
                print("    stopped the testbed this test started "
                      "(tests/openstack/down.sh)", flush=True)
        return suite.finish()


if __name__ == "__main__":
    run_main(main)
