"""Process-level test harness for Vigil: real libvirtd, daemons and HTTP.

The integration tests (tests/integration/test_*.py), the demo
(scripts/vigil_demo.py) and the benchmark wrapper use it to:

- run a private libvirtd with its test driver in a temporary directory
  (its own socket, no system state touched), restart it, kill -9 it;
- run vigil-notifier, vigil-inspector, vigil-monitor and the sample VNFM
  (vigil-vnfm-sample) from a build directory on free ephemeral ports, wired
  to each other, and wait until each answers GET /metrics;
- stop them with SIGTERM and check that each exited 0 (a clean shutdown;
  under AddressSanitizer a leak makes the exit code non-zero);
- talk REST (urllib) and virsh, and wait for a condition with a bounded
  deadline, polling every 10 ms (tests never assert on durations);
- keep every log in the temporary directory and print their tails when a
  test fails.

Every process it starts is killed when the harness is closed, when the
Python process gets SIGTERM/SIGINT/SIGHUP, and (through PR_SET_PDEATHSIG)
when the Python process dies in any other way.

Only the standard library is used; it runs under Debian's /usr/bin/python3.
"""

import contextlib
import ctypes
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

POLL_INTERVAL_S = 0.01
DEFAULT_TIMEOUT_S = 30.0
TEST_DOMAIN = "test"
TEST_DOMAIN_UUID = "6695eb01-f6a4-8304-79aa-97f2502e193f"
STAMPS = ["T%02d" % i for i in range(10)]
STAMP_OWNERS = {
    "T00": "test (fault injected)",
    "T01": "vigil-monitor (detected)",
    "T02": "vigil-inspector (received)",
    "T03": "vigil-inspector (VMs found)",
    "T04": "vigil-inspector (host marked down)",
    "T05": "vigil-inspector (VM states reset)",
    "T06": "vigil-inspector (alarm sent)",
    "T07": "vigil-notifier (received)",
    "T08": "vigil-notifier (webhook sent)",
    "T09": "VNFM (webhook received)",
}


class HarnessError(Exception):
    """A process or condition of the harness did not behave."""


class Interrupted(BaseException):
    """The harness process got a termination signal."""


def mono_ns():
    """CLOCK_MONOTONIC in ns, the clock of the profiler stamps."""
    return time.monotonic_ns()


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout=DEFAULT_TIMEOUT_S, what="condition",
             interval=POLL_INTERVAL_S):
    """Calls condition() every 'interval' seconds until it returns a true
    value, which is returned; raises HarnessError after 'timeout' seconds.
    The deadline only bounds a failing test: it is not a measurement."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise HarnessError("timed out after %.0f s waiting for %s"
                               % (timeout, what))
        time.sleep(interval)


# ---- REST -------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8")) if self.body else None

    def __repr__(self):
        return "HTTP %d %s" % (self.status, self.body[:300])


def http(method, url, body=None, content_type="application/json",
         headers=None, timeout=10.0):
    """One HTTP request. 'body' may be bytes, str, or any JSON value (then
    serialised). Returns a Response for every HTTP status (4xx and 5xx
    included); raises OSError (urllib.error.URLError) when nothing
    answered."""
    data = None
    if body is not None:
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode("utf-8")
        else:
            data = json.dumps(body).encode("utf-8")
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None and content_type:
        req.add_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Response(r.status, dict(r.headers), r.read())
    except urllib.error.HTTPError as e:
        with contextlib.closing(e):
            return Response(e.code, dict(e.headers), e.read())


def answers(url):
    """True when 'url' answers GET with 200."""
    try:
        return http("GET", url, timeout=2.0).status == 200
    except OSError:
        return False


PROMETHEUS_LINE = re.compile(
    r'^[a-zA-Z_:][a-zA-Z0-9_:]*'
    r'(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"'
    r'(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})?'
    r' (?:[-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf|NaN))'
    r'( -?[0-9]+)?$')
PROMETHEUS_COMMENT = re.compile(
    r'^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*'
    r'|TYPE [a-zA-Z_:][a-zA-Z0-9_:]*'
    r' (counter|gauge|histogram|summary|untyped))$')


def check_prometheus_text(text):
    """Raises HarnessError unless 'text' is Prometheus text exposition with
    at least one sample; returns {series: value}."""
    samples = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        if line.startswith("#"):
            if not PROMETHEUS_COMMENT.match(line):
                raise HarnessError("metrics line %d is not a HELP/TYPE "
                                   "comment: %r" % (number, line))
            continue
        if not PROMETHEUS_LINE.match(line):
            raise HarnessError("metrics line %d is not a sample: %r"
                               % (number, line))
        name, value = line.rsplit(" ", 1)
        samples[name] = float(value)
    if not samples:
        raise HarnessError("no metric samples")
    return samples


# ---- processes --------------------------------------------------------------

def _die_with_parent():
    """preexec_fn: SIGKILL this child when the harness process dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _tail(path, lines=30):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            text = f.read().decode("utf-8", "replace")
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)
    return "\n".join(text.splitlines()[-lines:])


class Process:
    """A child process whose output goes to a log file."""

    def __init__(self, name, argv, log_path, env=None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = env
        self.proc = None
        self.returncode = None

    def start(self):
        log = open(self.log_path, "ab")
        try:
            log.write(("# %s\n" % " ".join(self.argv)).encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env=self.env,
                preexec_fn=_die_with_parent)
        finally:
            log.close()
        self.returncode = None
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, signo):
        if self.running():
            self.proc.send_signal(signo)

    def wait(self, timeout):
        """Waits for the exit; returns the exit code (negative: signal)."""
        self.returncode = self.proc.wait(timeout=timeout)
        return self.returncode

    def stop(self, timeout=15.0):
        """SIGTERM, wait; SIGKILL when it does not exit in time. Returns the
        exit code, or raises HarnessError when it had to be killed."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            self.returncode = self.proc.returncode
            return self.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise HarnessError("%s did not exit within %.0f s of SIGTERM"
                               % (self.name, timeout))

    def kill(self):
        """SIGKILL and reap, whatever state it is in."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if self.proc is not None:
            self.returncode = self.proc.returncode

    def tail(self, lines=30):
        return _tail(self.log_path, lines)


class Libvirtd:
    """A private libvirtd serving the test driver on its own socket."""

    def __init__(self, workdir, log_path):
        self.dir = workdir
        self.log_path = log_path
        self.run_dir = os.path.join(workdir, "run")
        self.drv_dir = os.path.join(workdir, "drv")
        self.conf = os.path.join(workdir, "libvirtd.conf")
        self.pid_file = os.path.join(workdir, "libvirtd.pid")
        self.socket = os.path.join(self.run_dir, "libvirt-sock")
        self.uri = "test+unix:///default?socket=%s" % self.socket
        self.process = None
        binary = shutil.which("libvirtd") or "/usr/sbin/libvirtd"
        self.binary = binary
        os.makedirs(self.run_dir, exist_ok=True)
        os.makedirs(self.drv_dir, exist_ok=True)
        with open(self.conf, "w") as f:
            f.write('unix_sock_dir = "%s"\n'
                    'unix_sock_rw_perms = "0777"\n'
                    'auth_unix_rw = "none"\n'
                    'auth_unix_ro = "none"\n'
                    'listen_tls = 0\n'
                    'listen_tcp = 0\n' % self.run_dir)

    def start(self, timeout=DEFAULT_TIMEOUT_S):
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        env = dict(os.environ, LIBVIRT_DRIVER_DIR=self.drv_dir,
                   XDG_RUNTIME_DIR=self.run_dir)
        self.process = Process("libvirtd", [
            self.binary, "--config", self.conf, "--pid-file", self.pid_file],
            self.log_path, env).start()

        def ready():
            if not self.process.running():
                raise HarnessError("libvirtd exited with %s:\n%s" % (
                    self.process.proc.returncode, self.process.tail()))
            if not os.path.exists(self.socket):
                return False
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                try:
                    s.connect(self.socket)
                except OSError:
                    return False
            return self.virsh_ok("domstate", TEST_DOMAIN)
        wait_for(ready, timeout, "libvirtd to answer on %s" % self.socket)
        return self

    def kill9(self):
        """kill -9, as a crash would."""
        self.process.signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self):
        if self.process:
            try:
                self.process.stop(10)
            except HarnessError:
                pass

    def kill(self):
        if self.process:
            self.process.kill()

    def virsh(self, *args, check=True, timeout=30):
        """Runs 'virsh -c URI ARGS'; returns stdout (raises on failure when
        'check')."""
        r = subprocess.run(["virsh", "-c", self.uri] + list(args),
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise HarnessError("virsh %s failed (%d): %s" % (
                " ".join(args), r.returncode, (r.stderr or r.stdout).strip()))
        return r.stdout.strip()

    def shell(self):
        """A VirshShell connected to this libvirtd (caller closes it)."""
        return VirshShell(self.uri)

    def virsh_ok(self, *args):
        try:
            self.virsh(*args, timeout=10)
            return True
        except (HarnessError, subprocess.TimeoutExpired):
            return False


class VirshShell:
    """One virsh kept running with its connection open, fed commands on
    stdin: a command then reaches libvirtd within a fraction of a
    millisecond, without the tens of milliseconds of starting virsh and
    connecting that 'virsh -c URI CMD' costs (the demo stamps T00 just
    before sending one)."""

    def __init__(self, uri):
        self.proc = subprocess.Popen(
            ["virsh", "-q", "-c", uri], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent)
        self.count = 0
        self.sent_ns = 0     # CLOCK_MONOTONIC when the last command went
        self.run("echo connected")

    def send(self, command):
        """Writes one command line and returns at once, with a marker for
        wait(); 'sent_ns' is stamped just before the write."""
        self.count += 1
        marker = "__vigil_done_%d__" % self.count
        line = ("%s\necho %s\n" % (command, marker)).encode()
        self.sent_ns = mono_ns()
        self.proc.stdin.write(line)
        self.proc.stdin.flush()
        return marker

    def wait(self, marker, timeout=30.0):
        """Reads the output up to 'marker'; returns it, raising HarnessError
        when virsh reported an error."""
        # virsh echoes each command after its prompt when stdin is not a
        # terminal, so the marker counts only where it is not an echo.
        done = re.compile(r"(?<!echo )%s" % marker)
        deadline = time.monotonic() + timeout
        out = b""
        fd = self.proc.stdout.fileno()
        while not done.search(out.decode("utf-8", "replace")):
            left = deadline - time.monotonic()
            if left <= 0:
                raise HarnessError("virsh shell: no answer within %.0f s: %r"
                                   % (timeout, out[-300:]))
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise HarnessError("virsh shell exited: %r" % out[-300:])
                out += chunk
        text = out.decode("utf-8", "replace")
        if "error:" in text:
            raise HarnessError("virsh: %s" % text.strip())
        return text

    def run(self, command, timeout=30.0):
        return self.wait(self.send(command), timeout)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


class Daemon(Process):
    """A Vigil daemon with an HTTP API on 127.0.0.1:port."""

    def __init__(self, name, binary, port, args, log_path):
        argv = [binary, "--api.listen=127.0.0.1:%d" % port] + list(args)
        super().__init__(name, argv, log_path)
        self.port = port
        self.base_url = "http://127.0.0.1:%d" % port

    def url(self, path):
        return self.base_url + path

    def wait_ready(self, timeout=DEFAULT_TIMEOUT_S):
        def ready():
            if not self.running():
                raise HarnessError("%s exited with %s before answering:\n%s"
                                   % (self.name, self.proc.returncode,
                                      self.tail()))
            return answers(self.url("/metrics"))
        wait_for(ready, timeout, "%s to answer GET /metrics" % self.name)
        return self

    def metrics(self):
        r = http("GET", self.url("/metrics"))
        if r.status != 200:
            raise HarnessError("%s GET /metrics: %r" % (self.name, r))
        return r

    def metric(self, name, default=0.0):
        """The value of one series ('name' with its labels, if any)."""
        samples = check_prometheus_text(self.metrics().body.decode())
        return samples.get(name, default)


class Consumer(Daemon):
    """The sample VNFM: its recorded alarms through GET /alarms."""

    def alarms(self):
        r = http("GET", self.url("/alarms"))
        if r.status != 200:
            raise HarnessError("consumer GET /alarms: %r" % r)
        return r.json()

    def clear(self):
        r = http("DELETE", self.url("/alarms"))
        if r.status != 204:
            raise HarnessError("consumer DELETE /alarms: %r" % r)

    def matching(self, **want):
        """Recorded alarms whose fields match 'want': alarm_name, alarm_id,
        event_type, current, path, and any trait (by name)."""
        return [a for a in self.alarms() if alarm_matches(a, **want)]

    def wait_alarms(self, count=1, timeout=DEFAULT_TIMEOUT_S, **want):
        """Waits until at least 'count' matching alarms were recorded;
        returns them."""
        def enough():
            found = self.matching(**want)
            return found if len(found) >= count else None
        return wait_for(enough, timeout, "%d alarm(s) matching %s at the VNFM"
                        % (count, want))


def alarm_traits(record):
    """{name: value} of the traits of a recorded alarm."""
    event = record["body"]["reason_data"]["event"]
    return {t[0]: t[2] for t in event.get("traits", [])}


def alarm_matches(record, **want):
    body = record["body"]
    event = body.get("reason_data", {}).get("event", {})
    traits = alarm_traits(record)
    for key, value in want.items():
        if key == "event_type":
            got = event.get("event_type")
        elif key in ("alarm_name", "alarm_id", "current", "previous",
                     "severity"):
            got = body.get(key)
        else:
            got = traits.get(key)
        if got != value:
            return False
    return True


def alarm_stamps(record, t00=None):
    """The profiler stamps of a recorded alarm, T09 from the receipt time,
    T00 from 't00' when given: {"T01": ns, ...}."""
    stamps = {k: v for k, v in record["body"].get("profiler", {}).items()
              if k in STAMPS and isinstance(v, int)}
    stamps["T09"] = record["received_mono_ns"]
    if t00 is not None:
        stamps["T00"] = t00
    return stamps


# ---- the whole set ----------------------------------------------------------

class Harness:
    """Owns a temporary directory, a private libvirtd and the daemons.

    Use as a context manager: on exit every process still running is
    killed, and the directory is removed unless something failed (then
    its path is printed; set VIGIL_KEEP_LOGS=1 to always keep it)."""

    def __init__(self, build_dir, name="vigil", hostname="compute-test"):
        self.build_dir = os.path.abspath(build_dir)
        self.hostname = hostname
        self.dir = tempfile.mkdtemp(prefix="vigil-%s-" % name)
        self.log_level = os.environ.get("VIGIL_LOG_LEVEL", "info")
        self.libvirtd = None
        self.daemons = {}
        self.failed = False
        self._old_handlers = {}

    # binaries
    def binary(self, name):
        sub = {"vigil-monitor": "monitor", "vigil-inspector": "inspector",
               "vigil-notifier": "notifier",
               "vigil-vnfm-sample": "tests/consumer"}[name]
        path = os.path.join(self.build_dir, sub, name)
        if not os.access(path, os.X_OK):
            raise HarnessError("%s not built (no %s)" % (name, path))
        return path

    def log(self, name):
        return os.path.join(self.dir, name + ".log")

    # lifecycle
    def __enter__(self):
        for signo in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            self._old_handlers[signo] = signal.signal(signo, self._on_signal)
        return self

    def __exit__(self, kind, value, tb):
        if kind is not None:
            self.failed = True
        self.close()
        for signo, handler in self._old_handlers.items():
            signal.signal(signo, handler)
        return False

    def _on_signal(self, signo, frame):
        raise Interrupted("signal %d" % signo)

    def close(self):
        """Kills whatever still runs; keeps or removes the directory."""
        for daemon in reversed(list(self.daemons.values())):
            daemon.kill()
        if self.libvirtd:
            self.libvirtd.kill()
        if self.failed or os.environ.get("VIGIL_KEEP_LOGS"):
            print("logs kept in %s" % self.dir, flush=True)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    # libvirtd
    def start_libvirtd(self):
        self.libvirtd = Libvirtd(os.path.join(self.dir, "libvirt"),
                                 self.log("libvirtd")).start()
        return self.libvirtd

    # daemons
    def _start(self, cls, key, binary_name, args, ready=True):
        port = free_port()
        daemon = cls(key, self.binary(binary_name), port,
                     ["--log-level", self.log_level] + list(args),
                     self.log(key))
        self.daemons[key] = daemon
        daemon.start()
        if ready:
            daemon.wait_ready()
        return daemon

    def start_notifier(self, *args):
        return self._start(Daemon, "notifier", "vigil-notifier", args)

    def start_inspector(self, *args):
        notifier = self.daemons["notifier"]
        return self._start(Daemon, "inspector", "vigil-inspector", [
            "--notifier.url=%s" % notifier.url("/v1/events")] + list(args))

    def start_monitor(self, *args):
        """Starts vigil-monitor and waits until it is connected to
        libvirtd (its vigil_monitor_libvirt_connected gauge is 1), so that
        a fault injected next is seen."""
        inspector = self.daemons["inspector"]
        monitor = self._start(Daemon, "monitor", "vigil-monitor", [
            "--libvirt.uri=%s" % self.libvirtd.uri,
            "--inspector.url=%s" % inspector.url("/events"),
            "--monitor.hostname=%s" % self.hostname] + list(args))
        self.wait_monitor_connected()
        return monitor

    def wait_monitor_connected(self, timeout=DEFAULT_TIMEOUT_S):
        monitor = self.daemons["monitor"]
        wait_for(lambda: monitor.metric("vigil_monitor_libvirt_connected")
                 == 1, timeout, "vigil-monitor to connect to libvirtd")

    def start_consumer(self, *args, subscribe=True):
        """Starts the sample VNFM; with 'subscribe', waits until its alarm
        exists in the notifier."""
        notifier = self.daemons["notifier"]
        consumer = self._start(Consumer, "consumer", "vigil-vnfm-sample", [
            "--consumer.notifier_url=%s" % (
                notifier.base_url if subscribe else "")] + list(args))
        if subscribe:
            name = "vigil-vnfm-sample"
            for arg in args:
                if arg.startswith("--consumer.alarm_name="):
                    name = arg.split("=", 1)[1]
            wait_for(lambda: self.find_alarm(name),
                     what="the VNFM's subscription '%s' in the notifier"
                     % name)
        return consumer

    def start_all(self):
        """libvirtd, notifier, inspector, monitor, consumer, in that order."""
        self.start_libvirtd()
        self.start_notifier()
        self.start_inspector()
        self.start_monitor()
        return self.start_consumer()

    def find_alarm(self, name):
        """The notifier's alarm named 'name', or None."""
        r = http("GET", self.daemons["notifier"].url("/v2/alarms"))
        if r.status != 200:
            raise HarnessError("notifier GET /v2/alarms: %r" % r)
        for alarm in r.json():
            if alarm.get("name") == name:
                return alarm
        return None

    def stop_daemons(self, order=("consumer", "monitor", "inspector",
                                  "notifier")):
        """SIGTERM each daemon in 'order'; returns {name: exit code}."""
        codes = {}
        for key in order:
            daemon = self.daemons.get(key)
            if daemon is None:
                continue
            try:
                codes[key] = daemon.stop()
            except HarnessError as e:
                codes[key] = str(e)
        return codes

    def print_logs(self, lines=25, out=sys.stdout):
        """Prints the tail of every log (for a failed test)."""
        procs = list(self.daemons.values())
        if self.libvirtd and self.libvirtd.process:
            procs.append(self.libvirtd.process)
        for p in procs:
            print("----- %s (%s), last %d lines -----" % (
                p.name, p.log_path, lines), file=out)
            print(p.tail(lines), file=out)
        out.flush()


# ---- vigil-reservation ------------------------------------------------------

def reservation_binary(build_dir):
    """The vigil-reservation binary of 'build_dir' (raises when not built)."""
    path = os.path.join(os.path.abspath(build_dir), "reservation",
                        "vigil-reservation")
    if not os.access(path, os.X_OK):
        raise HarnessError("vigil-reservation not built (no %s)" % path)
    return path


def start_reservation(harness, *args, key="reservation", database=None,
                      notifier_url=""):
    """Starts vigil-reservation on a free port of 127.0.0.1 with its SQLite
    file in the harness directory (or 'database'), its events posted to
    'notifier_url' ("" = logged only), and waits until it answers GET
    /metrics. Returns the Daemon, also kept as harness.daemons[key]
    (starting again under the same key, e.g. after a kill -9, replaces the
    entry). Its log is harness.log(key)."""
    database = database or os.path.join(harness.dir, key + ".db")
    daemon = Daemon(key, reservation_binary(harness.build_dir), free_port(),
                    ["--log-level", harness.log_level,
                     "--reservation.database=%s" % database,
                     "--notifier.url=%s" % notifier_url] + list(args),
                    harness.log(key))
    daemon.database = database
    harness.daemons[key] = daemon
    daemon.start()
    daemon.wait_ready()
    return daemon


class KeepAliveClient:
    """One HTTP/1.1 connection kept open (http.client), for tests that
    hammer a daemon from many threads: JSON in, (status, parsed JSON or
    None) out. Reconnects once when the server closed an idle
    connection."""

    def __init__(self, base_url, timeout=30.0):
        import http.client
        import urllib.parse
        u = urllib.parse.urlsplit(base_url)
        self._factory = lambda: http.client.HTTPConnection(
            u.hostname, u.port, timeout=timeout)
        self.conn = self._factory()

    def request(self, method, path, body=None):
        import http.client
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data else {}
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                raw = r.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError):
                self.conn.close()
                self.conn = self._factory()
                if attempt == 2:
                    raise
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return r.status, parsed

    def close(self):
        self.conn.close()


# ---- a minimal test runner --------------------------------------------------

class Suite:
    """Runs named cases in order, prints "PASS: name" / "FAIL: name: why"
    per case and "N passed, M failed" at the end."""

    def __init__(self, title, harness=None):
        self.title = title
        self.harness = harness
        self.passed = 0
        self.failed = 0
        print("== %s" % title, flush=True)

    def case(self, name, fn, *args, **kwargs):
        """Runs fn(*args, **kwargs); an exception (AssertionError,
        HarnessError, anything) fails the case. Returns fn's value, or None
        when it failed."""
        try:
            value = fn(*args, **kwargs)
        except Interrupted:
            raise
        except Exception as e:  # noqa: BLE001 - every failure is reported
            self.failed += 1
            if self.harness:
                self.harness.failed = True
            print("FAIL: %s: %s" % (name, _describe(e)), flush=True)
            if os.environ.get("VIGIL_TRACEBACK"):
                traceback.print_exc()
            if self.harness:
                self.harness.print_logs()
            return None
        self.passed += 1
        print("PASS: %s" % name, flush=True)
        return value if value is not None else True

    def fail(self, name, why):
        self.failed += 1
        if self.harness:
            self.harness.failed = True
        print("FAIL: %s: %s" % (name, why), flush=True)

    def finish(self):
        """Prints the closing line; returns the process exit code."""
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        return 0 if self.failed == 0 else 1


def _describe(e):
    if isinstance(e, AssertionError):
        tb = traceback.extract_tb(e.__traceback__)
        where = "%s:%d" % (os.path.basename(tb[-1].filename), tb[-1].lineno) \
            if tb else "?"
        return "assertion failed at %s: %s" % (where, e or "(no message)")
    return "%s: %s" % (type(e).__name__, e)


def check(condition, message):
    """assert that survives python -O."""
    if not condition:
        raise AssertionError(message)


def parse_build_dir(argv=None, description=""):
    import argparse
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--build-dir", required=True,
                        help="CMake build directory holding the daemons")
    return parser.parse_args(argv).build_dir


def run_main(main):
    """Runs main() -> exit code; Ctrl-C and SIGTERM exit non-zero after
    cleanup (the harness context manager kills its processes)."""
    try:
        code = main()
    except Interrupted as e:
        print("interrupted: %s" % e, flush=True)
        code = 130
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        code = 130
    sys.exit(code)



# ---- network namespaces (host-fault tests and benchmark) --------------------

class NetnsDaemon(Daemon):
    """A Vigil daemon whose HTTP API listens on 'host' rather than
    127.0.0.1, run inside network namespace 'netns' (ip netns exec, which
    execs the daemon: the pid is the daemon's) when one is given."""

    def __init__(self, name, binary, port, args, log_path, host="127.0.0.1",
                 netns=None):
        argv = [binary, "--api.listen=%s:%d" % (host, port)] + list(args)
        if netns:
            argv = ["ip", "netns", "exec", netns] + argv
        Process.__init__(self, name, argv, log_path)
        self.port = port
        self.host = host
        self.netns = netns
        self.base_url = "http://%s:%d" % (host, port)


def start_daemon_at(harness, key, binary_name, host, args, netns=None,
                    ready=True):
    """Starts a daemon of 'harness' (registered under 'key', replacing a
    dead one of that name) with its API on 'host' and, with 'netns', inside
    that network namespace; waits until it answers GET /metrics when
    'ready'."""
    daemon = NetnsDaemon(key, harness.binary(binary_name), free_port(),
                         ["--log-level", harness.log_level] + list(args),
                         harness.log(key), host=host, netns=netns)
    harness.daemons[key] = daemon
    daemon.start()
    if ready:
        daemon.wait_ready()
    return daemon


class Netns:
    """Network namespaces, veth pairs and addresses for one test, under
    names unique to this process. remove() deletes every namespace and
    root-side interface it made (call it in a finally: it never raises);
    nftables rules made inside a namespace go with it. Needs root."""

    def __init__(self, tag):
        self.prefix = "v%s%d" % (tag, os.getpid() % 100000)
        self.namespaces = []
        self.root_links = []
        self.subnet = None

    def name(self, suffix):
        return self.prefix + suffix

    def add(self, suffix):
        """Creates namespace PREFIX+suffix with lo up; returns its name."""
        ns = self.name(suffix)
        subprocess.run(["ip", "netns", "add", ns], check=True,
                       capture_output=True)
        self.namespaces.append(ns)
        self.run(ns, "ip", "link", "set", "lo", "up")
        return ns

    def run(self, ns, *argv, check=True, timeout=30):
        """Runs argv inside 'ns' (None: the root namespace); returns the
        CompletedProcess (raises HarnessError on failure with 'check')."""
        cmd = (["ip", "netns", "exec", ns] if ns else []) + list(argv)
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise HarnessError("%s failed (%d): %s" % (
                " ".join(cmd), r.returncode, (r.stderr or r.stdout).strip()))
        return r

    def free_subnet(self):
        """A 10.N.0.0/16 (N in 100..249) no address or route of the root
        namespace touches; the same one on every call."""
        if self.subnet is None:
            used = self.run(None, "ip", "-4", "addr").stdout + \
                self.run(None, "ip", "-4", "route").stdout
            start = 100 + os.getpid() % 150
            for i in range(150):
                n = 100 + (start - 100 + i) % 150
                if ("10.%d." % n) not in used:
                    self.subnet = n
                    break
            else:
                raise HarnessError("no free 10.N.0.0/16 for the test")
        return self.subnet

    def veth(self, ns_a, name_a, addr_a, ns_b, name_b, addr_b):
        """A veth pair name_a (in ns_a; None: root) <-> name_b (in ns_b),
        with addresses "a.b.c.d/len" (None: none), both ends up."""
        tmp_a, tmp_b = self.name("t%d" % len(self.root_links)), \
            self.name("u%d" % len(self.root_links))
        self.run(None, "ip", "link", "add", tmp_a, "type", "veth", "peer",
                 "name", tmp_b)
        for tmp, ns, name, addr in ((tmp_a, ns_a, name_a, addr_a),
                                    (tmp_b, ns_b, name_b, addr_b)):
            if ns:
                self.run(None, "ip", "link", "set", tmp, "netns", ns)
            else:
                self.root_links.append(name)
            self.run(ns, "ip", "link", "set", tmp, "name", name)
            if addr:
                self.run(ns, "ip", "addr", "add", addr, "dev", name)
            self.run(ns, "ip", "link", "set", name, "up")
        return name_a, name_b

    def wait_link_up(self, ns, name, timeout=DEFAULT_TIMEOUT_S):
        """Waits until 'name' in 'ns' is operationally up (carrier)."""
        wait_for(lambda: "state UP" in self.run(ns, "ip", "link", "show",
                                                name).stdout,
                 timeout, "%s to be up in %s" % (name, ns or "root"))

    def remove(self):
        for name in self.root_links:
            subprocess.run(["ip", "link", "del", name],
                           capture_output=True)
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.root_links = []
        self.namespaces = []


__all__ = [
    "Consumer", "Daemon", "Harness", "HarnessError", "Interrupted",
    "Libvirtd", "Process", "Response", "STAMPS", "STAMP_OWNERS", "Suite",
    "TEST_DOMAIN", "TEST_DOMAIN_UUID", "VirshShell", "alarm_matches",
    "alarm_stamps", "alarm_traits", "answers", "check",
    "check_prometheus_text", "free_port", "http", "mono_ns",
    "parse_build_dir", "run_main", "wait_for",
]
