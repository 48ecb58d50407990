"""A small OpenStack client for Vigil's tests and benchmarks (stdlib only).

It talks to the testbed of tests/openstack/up.sh: starts it (the script is
idempotent and reuses a running stack), reads the credentials it wrote
($VIGIL_OS_BASE/openstack.env), authenticates with Keystone v3 and calls
Nova, Neutron and Keystone directly over HTTP - independently of the C
clients under test (common/keystone.c, inspector/nova.c).

Runs under Debian's /usr/bin/python3.
"""

import fcntl
import json
import os
import subprocess
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
UP_SH = os.path.join(HERE, "..", "openstack", "up.sh")
NOVA_VERSION = "2.53"


class OpenStackError(Exception):
    """The testbed could not be started or an API call failed."""


def base_dir():
    return os.environ.get("VIGIL_OS_BASE", "/tmp/vigil-os")


DOWN_SH = os.path.join(HERE, "..", "openstack", "down.sh")


def testbed_running():
    """True when up.sh's Keystone and nova-api are alive (PID files)."""
    for name in ("keystone", "nova-api"):
        path = os.path.join(base_dir(), "run", "pids", name + ".pid")
        try:
            with open(path) as f:
                os.kill(int(f.read().strip()), 0)
        except (OSError, ValueError):
            return False
    return True


def stop_testbed(log_path):
    """Runs tests/openstack/down.sh."""
    with open(log_path, "ab") as log:
        subprocess.run(["bash", DOWN_SH], stdin=subprocess.DEVNULL,
                       stdout=log, stderr=subprocess.STDOUT, timeout=300)


class TestbedLock:
    """An exclusive lock on the testbed ($VIGIL_OS_BASE/use.lock) for the
    whole of a test or benchmark: their servers, hosts and forced_down
    states would collide with another run's. Waits up to 'timeout'
    seconds, saying so."""

    def __init__(self, timeout=3600):
        self.timeout = timeout
        self.file = None

    def __enter__(self):
        os.makedirs(base_dir(), exist_ok=True)
        self.file = open(os.path.join(base_dir(), "use.lock"), "w")
        deadline = time.monotonic() + self.timeout
        said = False
        while True:
            try:
                fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if not said:
                    print("    another test or benchmark uses the OpenStack "
                          "testbed; waiting for it (%s)" % os.path.join(
                              base_dir(), "use.lock"), flush=True)
                    said = True
                if time.monotonic() > deadline:
                    raise OpenStackError("the testbed stayed in use by "
                                         "another run for %d s"
                                         % self.timeout)
                time.sleep(1)

    def __exit__(self, kind, value, tb):
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()
        return False


def start_testbed(log_path, timeout=1800):
    """Runs tests/openstack/up.sh (installing, starting or reusing the
    stack); raises OpenStackError with the tail of its output when it
    fails. Returns the credentials (read_env())."""
    with open(log_path, "ab") as log:
        try:
            r = subprocess.run(["bash", UP_SH], stdin=subprocess.DEVNULL,
                               stdout=log, stderr=subprocess.STDOUT,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            raise OpenStackError("tests/openstack/up.sh did not finish "
                                 "within %d s (log: %s)" % (timeout,
                                                            log_path))
    if r.returncode != 0:
        with open(log_path, "rb") as f:
            tail = f.read()[-3000:].decode("utf-8", "replace")
        raise OpenStackError("tests/openstack/up.sh failed with exit "
                             "status %d; the OpenStack testbed cannot run "
                             "here. Last output:\n%s" % (r.returncode, tail))
    return read_env()


def read_env():
    """The variables of $VIGIL_OS_BASE/openstack.env as a dict."""
    path = os.path.join(base_dir(), "openstack.env")
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("export "):
                key, _, value = line[len("export "):].partition("=")
                env[key] = value.strip('"')
    return env


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8")) if self.body else None

    def __repr__(self):
        return "HTTP %d %s" % (self.status, self.body[:400])


def request(method, url, body=None, headers=None, timeout=60.0):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Response(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        with e:
            return Response(e.code, e.headers, e.read())


class Session:
    """A project-scoped Keystone token and the catalog's public URLs."""

    def __init__(self, auth_url, username, password, project,
                 user_domain="Default", project_domain="Default"):
        self.auth_url = auth_url.rstrip("/")
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": username, "domain": {"name": user_domain},
                "password": password}}},
            "scope": {"project": {"name": project,
                                  "domain": {"name": project_domain}}}}}
        r = request("POST", self.auth_url + "/auth/tokens", body)
        if r.status != 201:
            raise OpenStackError("Keystone auth as %s: %r" % (username, r))
        self.token = r.headers["X-Subject-Token"]
        token = r.json()["token"]
        self.project_id = token["project"]["id"]
        self.endpoints = {}
        for service in token.get("catalog", []):
            for ep in service["endpoints"]:
                if ep["interface"] == "public":
                    self.endpoints[service["type"]] = ep["url"].rstrip("/")

    def call(self, method, service, path, body=None, expect=None,
             microversion=NOVA_VERSION):
        headers = {"X-Auth-Token": self.token}
        if service == "compute":
            headers["X-OpenStack-Nova-API-Version"] = microversion
        url = (self.endpoints[service] if service != "identity"
               else self.auth_url) + path
        r = request(method, url, body, headers)
        if expect is not None and r.status not in (
                expect if isinstance(expect, tuple) else (expect,)):
            raise OpenStackError("%s %s: %r" % (method, path, r))
        return r

    # ---- Keystone
    def revoke(self, token):
        """DELETE /v3/auth/tokens: revokes 'token' (this session must be an
        admin's)."""
        r = request("DELETE", self.auth_url + "/auth/tokens",
                    headers={"X-Auth-Token": self.token,
                             "X-Subject-Token": token})
        if r.status != 204:
            raise OpenStackError("revoking a token: %r" % r)

    def token_valid(self, token):
        r = request("HEAD", self.auth_url + "/auth/tokens",
                    headers={"X-Auth-Token": self.token,
                             "X-Subject-Token": token})
        return r.status == 200

    # ---- Nova
    def services(self, host=None):
        path = "/os-services?binary=nova-compute"
        if host:
            path += "&host=" + host
        return self.call("GET", "compute", path, expect=200).json()["services"]

    def service(self, host):
        found = self.services(host)
        if len(found) != 1:
            raise OpenStackError("nova-compute services on %s: %r"
                                 % (host, found))
        return found[0]

    def set_forced_down(self, host, forced_down):
        s = self.service(host)
        self.call("PUT", "compute", "/os-services/%s" % s["id"],
                  {"forced_down": forced_down}, expect=200)

    def servers(self, host=None, name=None):
        path = "/servers/detail?all_tenants=1&limit=1000"
        if host:
            path += "&host=" + host
        if name:
            path += "&name=" + name
        out, marker = [], None
        while True:
            page = path + ("&marker=" + marker if marker else "")
            body = self.call("GET", "compute", page, expect=200).json()
            out.extend(body["servers"])
            nxt = [l for l in body.get("servers_links", [])
                   if l.get("rel") == "next"]
            if not nxt or not body["servers"]:
                return out
            marker = body["servers"][-1]["id"]

    def flavor_id(self, name):
        for f in self.call("GET", "compute", "/flavors", expect=200).json()[
                "flavors"]:
            if f["name"] == name:
                return f["id"]
        raise OpenStackError("no flavor %s" % name)

    def image_id(self, name):
        r = self.call("GET", "image", "/v2/images?name=" + name, expect=200)
        images = r.json()["images"]
        if not images:
            raise OpenStackError("no image %s" % name)
        return images[0]["id"]

    def boot(self, name, host, flavor, image, count=1):
        """Boots 'count' fake servers named NAME-N on 'host' (one request,
        min_count = max_count = count); returns the reservation."""
        body = {"server": {"name": name, "flavorRef": flavor,
                           "imageRef": image, "networks": "none",
                           "availability_zone": "nova:%s" % host,
                           "min_count": count, "max_count": count}}
        r = self.call("POST", "compute", "/servers", body,
                      expect=(202,), microversion="2.37")
        return r.json()

    def delete_server(self, server_id):
        self.call("DELETE", "compute", "/servers/%s" % server_id,
                  expect=(204, 404))

    def reset_state(self, server_id, state):
        self.call("POST", "compute", "/servers/%s/action" % server_id,
                  {"os-resetState": {"state": state}}, expect=(202,))

    # ---- Neutron
    def create_port(self, name, network_id, host):
        body = {"port": {"name": name, "network_id": network_id,
                         "binding:host_id": host}}
        return self.call("POST", "network", "/v2.0/ports", body,
                         expect=201).json()["port"]

    def port(self, port_id):
        return self.call("GET", "network", "/v2.0/ports/%s" % port_id,
                         expect=200).json()["port"]

    def ensure_network(self, name):
        r = self.call("GET", "network", "/v2.0/networks?name=" + name,
                      expect=200).json()["networks"]
        if r:
            return r[0]["id"]
        return self.call("POST", "network", "/v2.0/networks",
                         {"network": {"name": name}},
                         expect=201).json()["network"]["id"]


def wait(condition, timeout, what, interval=0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise OpenStackError("timed out after %.0f s waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)
