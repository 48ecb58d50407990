"""Test harness for vigil-upf: network namespaces, veth pairs, real peers.

The integration tests of the user plane (tests/integration/test_upf_*.py)
use it to build, per test, a small network of their own:

    ns RAN  (gNB, SMF)              ns UPF                      ns PDN
    a<id>r 10.1.0.2 ----veth---- a<id>u  [DPDK access port, 10.1.0.1]
    n<id>s 10.4.0.2 ----veth---- n<id>u 10.4.0.1  (PFCP, kernel socket)
                                 c<id>u  [DPDK core port, 10.2.0.1] --veth-- c<id>p 10.2.0.2

vigil-upf runs in the UPF namespace with --no-huge --no-pci, a unique
--file-prefix and net_af_packet on the two DPDK-side veth ends. The peers
are independent implementations: the Linux kernels of the RAN and PDN
namespaces (ARP, ICMP, UDP), scapy's GTP-U and PFCP layers for the gNB and
the SMF, and tshark to decode what was captured. Sockets are opened inside
a namespace with setns(2) on the calling thread (Netns.enter()), so one
Python process plays every peer.

Everything is removed on close, on SIGTERM/SIGINT/SIGHUP and (for the
processes) when the Python process dies: namespaces (which takes their
veths with them), the DPDK runtime directory, captures and logs (kept when
a test failed, or with VIGIL_KEEP_LOGS=1).

Runs as root under Debian's /usr/bin/python3 with python3-scapy.
"""

import contextlib
import ctypes
import fcntl
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from vigil_harness import (  # noqa: E402
    HarnessError, Interrupted, Process, check_prometheus_text, http,
    wait_for)

CLONE_NEWNET = 0x40000000
SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM = 0x00000017

RAN_IP = "10.1.0.2"
UPF_N3_IP = "10.1.0.1"
PDN_IP = "10.2.0.2"
UPF_N6_IP = "10.2.0.1"
SMF_IP = "10.4.0.2"
UPF_N4_IP = "10.4.0.1"
UE_POOL = "10.45.0.0/16"
API_PORT = 9105
PFCP_PORT = 8805
GTPU_PORT = 2152

_libc = ctypes.CDLL(None, use_errno=True)
_counter = [0]


def run(*argv, check=True, timeout=20):
    """Runs a command; raises HarnessError with its output on failure."""
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise HarnessError("%s: exit %d: %s" % (" ".join(argv), r.returncode,
                                                 r.stdout.decode(errors="replace")))
    return r.stdout.decode(errors="replace")


def unique_id():
    """A short id unique to this process and call (fits interface names)."""
    _counter[0] += 1
    return "%x%x" % (os.getpid() & 0xfffff, _counter[0])


class Netns:
    """A named network namespace (ip netns) that can be entered by the
    calling thread."""

    def __init__(self, name):
        self.name = name
        self.created = False

    def create(self):
        run("ip", "netns", "add", self.name)
        self.created = True
        self.exec("ip", "link", "set", "lo", "up")
        # No IPv6: no router solicitations or MLD reports on the links.
        self.exec("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1")
        self.exec("sysctl", "-q", "-w",
                  "net.ipv6.conf.default.disable_ipv6=1")
        return self

    def delete(self):
        if self.created:
            run("ip", "netns", "del", self.name, check=False)
            self.created = False

    def exec(self, *argv, check=True, timeout=20):
        return run("ip", "netns", "exec", self.name, *argv, check=check,
                   timeout=timeout)

    def argv(self, *argv):
        """The command line that runs argv inside the namespace."""
        return ["ip", "netns", "exec", self.name] + list(argv)

    @contextlib.contextmanager
    def enter(self):
        """Moves the calling thread into the namespace for the block:
        sockets created there belong to it for their whole life."""
        here = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        there = os.open("/var/run/netns/" + self.name, os.O_RDONLY)
        try:
            if _libc.setns(there, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, "setns(%s): %s" % (self.name,
                                                       os.strerror(err)))
            try:
                yield self
            finally:
                if _libc.setns(here, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, "setns back: %s" % os.strerror(err))
        finally:
            os.close(here)
            os.close(there)

    def socket(self, family=socket.AF_INET, kind=socket.SOCK_DGRAM,
               proto=0):
        with self.enter():
            return socket.socket(family, kind, proto)

    def tx_checksum_off(self, ifname):
        """Turns TX checksum offload off on a veth end, so that the frames
        it sends carry complete checksums (a veth otherwise hands partial
        ones to AF_PACKET on its peer)."""
        with self.enter():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                value = ctypes.create_string_buffer(
                    struct.pack("II", ETHTOOL_STXCSUM, 0))
                ifr = struct.pack("16sP", ifname.encode(),
                                  ctypes.addressof(value))
                ifr += b"\0" * (40 - len(ifr))
                fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifr)

    def mac(self, ifname):
        out = self.exec("ip", "-o", "link", "show", ifname)
        m = re.search(r"link/ether ([0-9a-f:]{17})", out)
        if not m:
            raise HarnessError("no MAC for %s: %s" % (ifname, out))
        return m.group(1)


class UpfLab:
    """Three namespaces, four veth pairs, vigil-upf, and the sockets of
    the peers. Use as a context manager."""

    def __init__(self, build_dir, name="upf"):
        self.build_dir = os.path.abspath(build_dir)
        self.id = unique_id()
        self.dir = tempfile.mkdtemp(prefix="vigil-%s-" % name)
        self.ran = Netns("vran-" + self.id)
        self.upf_ns = Netns("vupf-" + self.id)
        self.pdn = Netns("vpdn-" + self.id)
        self.if_access_upf = "a%su" % self.id
        self.if_access_ran = "a%sr" % self.id
        self.if_core_upf = "c%su" % self.id
        self.if_core_pdn = "c%sp" % self.id
        self.if_n4_upf = "n%su" % self.id
        self.if_n4_smf = "n%ss" % self.id
        self.file_prefix = "vigil-upf-" + self.id
        self.upf = None
        self.captures = []
        self.sockets = []
        self.cleanups = []
        self.failed = False
        self._old_handlers = {}

    # ---- lifecycle ---------------------------------------------------------

    def __enter__(self):
        for signo in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            self._old_handlers[signo] = signal.signal(signo, self._on_signal)
        try:
            self.build()
        except BaseException:
            self.failed = True
            self.close()
            raise
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
        for cleanup in self.cleanups:
            cleanup()
        self.cleanups = []
        for s in self.sockets:
            s.close()
        self.sockets = []
        for p in self.captures:
            p.kill()
        if self.upf:
            self.upf.kill()
        for ns in (self.ran, self.upf_ns, self.pdn):
            ns.delete()
        shutil.rmtree("/var/run/dpdk/" + self.file_prefix, ignore_errors=True)
        if self.failed or os.environ.get("VIGIL_KEEP_LOGS"):
            print("logs kept in %s" % self.dir, flush=True)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def log(self, name):
        return os.path.join(self.dir, name + ".log")

    # ---- the network -------------------------------------------------------

    def _veth(self, ns_a, if_a, ns_b, if_b):
        run("ip", "link", "add", if_a, "netns", ns_a.name, "type", "veth",
            "peer", "name", if_b, "netns", ns_b.name)
        ns_a.exec("ip", "link", "set", if_a, "up")
        ns_b.exec("ip", "link", "set", if_b, "up")

    def build(self):
        for ns in (self.ran, self.upf_ns, self.pdn):
            ns.create()
        self._veth(self.upf_ns, self.if_access_upf, self.ran,
                   self.if_access_ran)
        self._veth(self.upf_ns, self.if_core_upf, self.pdn, self.if_core_pdn)
        self._veth(self.upf_ns, self.if_n4_upf, self.ran, self.if_n4_smf)
        self.ran.exec("ip", "addr", "add", RAN_IP + "/24", "dev",
                      self.if_access_ran)
        self.ran.exec("ip", "addr", "add", SMF_IP + "/24", "dev",
                      self.if_n4_smf)
        self.upf_ns.exec("ip", "addr", "add", UPF_N4_IP + "/24", "dev",
                         self.if_n4_upf)
        self.pdn.exec("ip", "addr", "add", PDN_IP + "/24", "dev",
                      self.if_core_pdn)
        self.pdn.exec("ip", "route", "add", UE_POOL, "via", UPF_N6_IP)
        self.ran.tx_checksum_off(self.if_access_ran)
        self.pdn.tx_checksum_off(self.if_core_pdn)

    # ---- vigil-upf ---------------------------------------------------------

    def binary(self):
        path = os.path.join(self.build_dir, "vnf-dataplane", "vigil-upf")
        if not os.access(path, os.X_OK):
            raise HarnessError("vigil-upf not built (no %s)" % path)
        return path

    def start_upf(self, *args, workers=1, vdevs=None):
        """Starts vigil-upf in its namespace and waits for its API. The
        ports are net_af_packet on the UPF's veth ends unless 'vdevs'
        (two EAL --vdev values: access, core) says otherwise."""
        lcores = "0-%d" % workers if workers > 0 else "0"
        if vdevs is None:
            vdevs = ["net_af_packet0,iface=%s,qpairs=%d"
                     % (self.if_access_upf, max(workers, 1)),
                     "net_af_packet1,iface=%s,qpairs=%d"
                     % (self.if_core_upf, max(workers, 1))]
        eal = " ".join([
            "-l", lcores, "--no-huge", "--no-pci", "-m", "256",
            "--file-prefix=" + self.file_prefix, "--no-telemetry",
            "--log-level=lib.eal:warning"]
            + ["--vdev=" + v for v in vdevs])
        argv = self.upf_ns.argv(
            self.binary(), "--log-level",
            os.environ.get("VIGIL_LOG_LEVEL", "info"),
            "--eal.args=" + eal,
            "--access.address=%s/24" % UPF_N3_IP,
            "--core.address=%s/24" % UPF_N6_IP,
            "--pfcp.listen=%s:%d" % (UPF_N4_IP, PFCP_PORT),
            "--api.listen=127.0.0.1:%d" % API_PORT,
            "--dataplane.max_sessions=1024", "--dataplane.mbufs=4095",
            "--dataplane.rx_desc=256", "--dataplane.tx_desc=256",
            "--dataplane.idle_sleep_us=200", *args)
        self.upf = Process("vigil-upf", argv, self.log("vigil-upf"))
        self.upf.start()

        def ready():
            if not self.upf.running():
                raise HarnessError("vigil-upf exited with %s:\n%s"
                                   % (self.upf.proc.returncode,
                                      self.upf.tail()))
            try:
                return self.api("GET", "/v1/status").status == 200
            except OSError:
                return False
        wait_for(ready, 60, "vigil-upf to answer /v1/status")
        self.status = self.api("GET", "/v1/status").json()
        return self.upf

    def stop_upf(self, timeout=30.0):
        """SIGTERM; returns the exit code (0: clean, no leak under ASan)."""
        code = self.upf.stop(timeout)
        return code

    def api(self, method, path, body=None):
        with self.upf_ns.enter():
            return http(method, "http://127.0.0.1:%d%s" % (API_PORT, path),
                        body)

    def metrics(self):
        r = self.api("GET", "/metrics")
        if r.status != 200:
            raise HarnessError("GET /metrics: %r" % r)
        return check_prometheus_text(r.body.decode())

    def metric(self, name, default=0.0):
        return self.metrics().get(name, default)

    def wait_metric(self, name, at_least, timeout=20.0):
        """Waits until metric 'name' >= at_least; returns its value."""
        last = [None]

        def reached():
            last[0] = self.metric(name)
            return last[0] >= at_least
        try:
            wait_for(reached, timeout, "%s >= %s" % (name, at_least))
        except HarnessError:
            raise HarnessError("%s is %s, expected >= %s"
                               % (name, last[0], at_least))
        return last[0]

    # ---- peers -------------------------------------------------------------

    def udp(self, ns, address, port):
        """A UDP socket bound in namespace 'ns'."""
        s = ns.socket()
        s.bind((address, port))
        s.settimeout(5.0)
        self.sockets.append(s)
        return s

    def raw(self, ns, ifname):
        """An AF_PACKET socket on 'ifname' (to send hand-made frames)."""
        s = ns.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        s.bind((ifname, 0))
        self.sockets.append(s)
        return s

    def capture(self, ns, *ifnames, name="capture"):
        """Starts dumpcap on the interfaces; returns the pcapng path once
        dumpcap captures."""
        path = os.path.join(self.dir, name + ".pcapng")
        argv = ["dumpcap", "-q", "-w", path]
        for ifname in ifnames:
            argv += ["-i", ifname]
        p = Process("dumpcap-" + name, ns.argv(*argv), self.log(name))
        p.start()
        self.captures.append(p)
        wait_for(lambda: os.path.exists(path) and os.path.getsize(path) > 0,
                 15, "dumpcap to start")
        # dumpcap writes its file header before the capture is armed.
        time.sleep(0.5)
        return p, path

    def stop_capture(self, proc):
        proc.signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()

    def print_logs(self, lines=40):
        if self.upf:
            print("----- vigil-upf (%s), last %d lines -----"
                  % (self.upf.log_path, lines))
            print(self.upf.tail(lines), flush=True)


# ---- scapy peers ------------------------------------------------------------

def _scapy():
    """Imports scapy lazily (it is slow to load and noisy)."""
    import logging
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    from scapy.contrib import gtp, pfcp  # noqa: F401
    from scapy import all as sc  # noqa: F401
    return sc, gtp, pfcp


def find_ies(packet, cls):
    """Every IE of class 'cls' in 'packet', grouped IEs searched too."""
    found = []

    def walk(ies):
        for ie in ies or []:
            if isinstance(ie, cls):
                found.append(ie)
            walk(getattr(ie, "IE_list", None))
    layer = packet
    while layer is not None and not hasattr(layer, "IE_list"):
        layer = layer.payload if layer.payload else None
    if layer is not None:
        walk(layer.IE_list)
    return found


def find_ie(packet, cls):
    ies = find_ies(packet, cls)
    if not ies:
        raise HarnessError("no %s in %s" % (cls.__name__, packet.summary()))
    return ies[0]


class Smf:
    """The SMF: PFCP with scapy over a UDP socket in the RAN namespace,
    bound to port 8805. A reader thread takes every datagram: responses
    are matched to requests by sequence number; requests from the UPF
    (session reports, heartbeats) go to 'inbox', except heartbeats, which
    are answered at once while 'answer_heartbeats' is set (as a live SMF
    would, however long a test case takes)."""

    def __init__(self, lab, recovery=3900000000, address=SMF_IP):
        self.sc, self.gtp, self.pfcp = _scapy()
        self.sock = lab.udp(lab.ran, address, PFCP_PORT)
        self.sock.settimeout(0.2)
        self.address = address
        self.upf = (UPF_N4_IP, PFCP_PORT)
        self.seq = 1000
        self.recovery = recovery
        self.inbox = []
        self.responses = {}
        self.answer_heartbeats = True
        self.heartbeats_answered = 0
        self.cond = threading.Condition()
        self.running = True
        self.thread = threading.Thread(target=self._reader, daemon=True)
        self.thread.start()
        lab.cleanups.append(self.stop)

    def stop(self):
        self.running = False
        self.thread.join(5)

    def _reader(self):
        while self.running:
            try:
                data, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                packet = self.pfcp.PFCP(data)
            except Exception:  # noqa: BLE001 - kept for the test to see
                packet = None
            with self.cond:
                if packet is None:
                    self.responses.setdefault(None, []).append(data)
                elif self._is_request(packet.message_type):
                    if packet.message_type == 1 and self.answer_heartbeats:
                        self.answer(packet, 2, [self.pfcp.IE_RecoveryTimeStamp(
                            timestamp=self.recovery)])
                        self.heartbeats_answered += 1
                    else:
                        self.inbox.append(packet)
                else:
                    self.responses.setdefault(packet.seq, []).append(
                        (packet, data))
                self.cond.notify_all()

    def next_seq(self):
        self.seq += 1
        return self.seq

    def node_id(self):
        return self.pfcp.IE_NodeId(id_type=0, ipv4=self.address)

    def header(self, message_type, seid=None, seq=None):
        P = self.pfcp.PFCP
        if seid is None:
            return P(version=1, S=0, message_type=message_type,
                     seq=self.next_seq() if seq is None else seq)
        return P(version=1, S=1, message_type=message_type, seid=seid,
                 seq=self.next_seq() if seq is None else seq)

    def send(self, message):
        data = message if isinstance(message, bytes) else bytes(message)
        self.sock.sendto(data, self.upf)
        return data

    def _is_request(self, message_type):
        return message_type in (1, 5, 7, 9, 12, 50, 52, 54, 56)

    def response(self, seq, timeout=5.0):
        """The next response with sequence number 'seq' as (packet, bytes),
        or (None, None) after 'timeout' seconds."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.responses.get(seq):
                left = deadline - time.monotonic()
                if left <= 0:
                    return None, None
                self.cond.wait(left)
            return self.responses[seq].pop(0)

    def request(self, message, timeout=5.0):
        """Sends a request and returns (response, bytes)."""
        data = self.send(message)
        seq = self.pfcp.PFCP(data).seq
        packet, raw = self.response(seq, timeout)
        if packet is None:
            raise HarnessError("no PFCP response to seq %d within %.0f s"
                               % (seq, timeout))
        return packet, raw

    def wait_request(self, message_type, timeout=10.0):
        """The next request of 'message_type' from the UPF."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i, packet in enumerate(self.inbox):
                    if packet.message_type == message_type:
                        return self.inbox.pop(i)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise HarnessError("no PFCP request of type %d within "
                                       "%.0f s" % (message_type, timeout))
                self.cond.wait(left)

    def answer(self, request, message_type, ies):
        """Sends the response to a request of the UPF."""
        P = self.pfcp.PFCP
        if request.S:
            header = P(version=1, S=1, message_type=message_type,
                       seid=request.seid, seq=request.seq)
        else:
            header = P(version=1, S=0, message_type=message_type,
                       seq=request.seq)
        cls = {2: self.pfcp.PFCPHeartbeatResponse,
               57: self.pfcp.PFCPSessionReportResponse}[message_type]
        self.send(header / cls(IE_list=ies))

    def cause(self, response):
        return find_ie(response, self.pfcp.IE_Cause).cause

    def associate(self):
        p = self.pfcp
        response, _ = self.request(
            self.header(5) / p.PFCPAssociationSetupRequest(IE_list=[
                self.node_id(),
                p.IE_RecoveryTimeStamp(timestamp=self.recovery)]))
        return response

    def session_ies(self, cp_seid, ue, gnb_teid, qfi=9, urr=None, qer=None,
                    dl_action="FORW", ul_teid=None):
        """The IEs of a Session Establishment Request for one UE: PDR 1
        uplink (F-TEID chosen by the UPF unless 'ul_teid'), PDR 2 downlink
        (UE address), FAR 1 to the core, FAR 2 to the gNB (TEID
        'gnb_teid') with 'dl_action', QER 1 (QFI, and the IEs in 'qer'),
        URR 1 (the IEs in 'urr' added). 'qfi' None: no QFI."""
        p = self.pfcp
        if ul_teid is None:
            fteid = p.IE_FTEID(V4=1, CH=1, CHID=1, choose_id=1)
        else:
            fteid = p.IE_FTEID(V4=1, TEID=ul_teid, ipv4=UPF_N3_IP)
        dl_far = [p.IE_FAR_Id(id=2),
                  p.IE_ApplyAction(**{dl_action: 1})]
        if dl_action == "FORW":
            dl_far.append(p.IE_ForwardingParameters(IE_list=[
                p.IE_DestinationInterface(interface=0),
                p.IE_OuterHeaderCreation(GTPUUDPIPV4=1, TEID=gnb_teid,
                                         ipv4=RAN_IP)]))
        return [
            self.node_id(),
            p.IE_FSEID(v4=1, seid=cp_seid, ipv4=self.address),
            p.IE_CreatePDR(IE_list=[
                p.IE_PDR_Id(id=1), p.IE_Precedence(precedence=100),
                p.IE_PDI(IE_list=[
                    p.IE_SourceInterface(interface=0), fteid,
                    p.IE_UE_IP_Address(V4=1, ipv4=ue)]),
                p.IE_OuterHeaderRemoval(header=0), p.IE_FAR_Id(id=1),
                p.IE_URR_Id(id=1), p.IE_QER_Id(id=1)]),
            p.IE_CreatePDR(IE_list=[
                p.IE_PDR_Id(id=2), p.IE_Precedence(precedence=100),
                p.IE_PDI(IE_list=[
                    p.IE_SourceInterface(interface=1),
                    p.IE_UE_IP_Address(V4=1, SD=1, ipv4=ue)]),
                p.IE_FAR_Id(id=2), p.IE_URR_Id(id=1), p.IE_QER_Id(id=1)]),
            p.IE_CreateFAR(IE_list=[
                p.IE_FAR_Id(id=1), p.IE_ApplyAction(FORW=1),
                p.IE_ForwardingParameters(IE_list=[
                    p.IE_DestinationInterface(interface=1)])]),
            p.IE_CreateFAR(IE_list=dl_far),
            p.IE_CreateURR(IE_list=[
                p.IE_URR_Id(id=1), p.IE_MeasurementMethod(VOLUM=1)]
                + list(urr or [p.IE_ReportingTriggers()])),
            p.IE_CreateQER(IE_list=[
                p.IE_QER_Id(id=1), p.IE_GateStatus(ul=0, dl=0)]
                + ([] if qfi is None else [p.IE_QFI(QFI=qfi)])
                + list(qer or [])),
        ]

    def establish(self, cp_seid, ue, gnb_teid, **kwargs):
        """Establishes a session; returns (UP SEID, uplink TEID,
        response). Raises unless the cause is 1 (accepted)."""
        p = self.pfcp
        response, _ = self.request(
            self.header(50, seid=0)
            / p.PFCPSessionEstablishmentRequest(IE_list=self.session_ies(
                cp_seid, ue, gnb_teid, **kwargs)))
        if response.message_type != 51 or self.cause(response) != 1:
            raise HarnessError("session establishment refused: %s"
                               % response.show2(dump=True))
        if response.seid != cp_seid:
            raise HarnessError("response SEID %#x, expected the CP SEID "
                               "%#x" % (response.seid, cp_seid))
        up_seid = find_ie(response, p.IE_FSEID).seid
        teids = [ie.TEID for ie in find_ies(response, p.IE_FTEID)]
        return up_seid, (teids[0] if teids else kwargs.get("ul_teid")), \
            response

    def modify(self, up_seid, ies):
        p = self.pfcp
        response, _ = self.request(
            self.header(52, seid=up_seid)
            / p.PFCPSessionModificationRequest(IE_list=ies))
        return response

    def delete(self, up_seid):
        p = self.pfcp
        response, _ = self.request(
            self.header(54, seid=up_seid) / p.PFCPSessionDeletionRequest())
        return response


class Gnb:
    """The gNB: GTP-U with scapy over a UDP socket on 10.1.0.2:2152."""

    def __init__(self, lab):
        self.sc, self.gtp, _ = _scapy()
        self.sock = lab.udp(lab.ran, RAN_IP, GTPU_PORT)
        self.upf = (UPF_N3_IP, GTPU_PORT)

    def gpdu(self, teid, inner, qfi=None):
        g = self.gtp
        if qfi is None:
            return g.GTP_U_Header(teid=teid) / inner
        return (g.GTP_U_Header(teid=teid, E=1, next_ex=0x85)
                / g.GTPPDUSessionContainer(type=1, QFI=qfi) / inner)

    def uplink(self, teid, ue, dst, dport, payload, qfi=None, sport=5000):
        sc = self.sc
        inner = (sc.IP(src=ue, dst=dst) / sc.UDP(sport=sport, dport=dport)
                 / sc.Raw(payload))
        self.sock.sendto(bytes(self.gpdu(teid, inner, qfi)), self.upf)

    def send(self, message):
        self.sock.sendto(message if isinstance(message, bytes)
                         else bytes(message), self.upf)

    def receive(self, timeout=5.0):
        """(GTP-U packet, source address) or (None, None)."""
        self.sock.settimeout(timeout)
        try:
            data, addr = self.sock.recvfrom(65535)
        except socket.timeout:
            return None, None
        return self.gtp.GTP_U_Header(data), addr

    def drain(self, timeout=0.2):
        """Everything that arrives within 'timeout' s of silence."""
        out = []
        while True:
            packet, addr = self.receive(timeout)
            if packet is None:
                return out
            out.append((packet, addr))


def inet_checksum(data):
    """The Internet checksum (RFC 1071) of 'data', as an int."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def ping(ns, dst, seq=1, payload=b"vigil-upf ping", timeout=3.0):
    """Sends one ICMP echo request from namespace 'ns' through its kernel
    (which resolves the next hop with ARP) and waits for the reply.
    Returns the reply's ICMP payload; raises HarnessError without one."""
    ident = os.getpid() & 0xffff
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    csum = inet_checksum(header + payload)
    packet = struct.pack("!BBHHH", 8, 0, csum, ident, seq) + payload
    s = ns.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    try:
        s.settimeout(timeout)
        s.sendto(packet, (dst, 0))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data, addr = s.recvfrom(4096)
            except socket.timeout:
                break
            ihl = (data[0] & 0x0f) * 4
            icmp = data[ihl:]
            if (addr[0] == dst and len(icmp) >= 8 and icmp[0] == 0
                    and struct.unpack("!HH", icmp[4:8]) == (ident, seq)):
                if inet_checksum(icmp) != 0:
                    raise HarnessError("echo reply from %s: bad checksum"
                                       % dst)
                return icmp[8:]
    finally:
        s.close()
    raise HarnessError("no echo reply from %s within %.0f s"
                       % (dst, timeout))


def tshark(path, *args):
    """tshark -r path args...: its standard output (raises on a non-zero
    exit; its standard error, e.g. the warning about running as root, is
    left out)."""
    r = subprocess.run(["tshark", "-r", path] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    if r.returncode != 0:
        raise HarnessError("tshark -r %s %s: exit %d: %s"
                           % (path, " ".join(args), r.returncode,
                              r.stderr.decode(errors="replace")))
    return r.stdout.decode(errors="replace")


__all__ = [
    "API_PORT", "GTPU_PORT", "Gnb", "Netns", "PDN_IP", "PFCP_PORT",
    "RAN_IP", "Smf", "find_ie", "find_ies",
    "SMF_IP", "UE_POOL", "UPF_N3_IP", "UPF_N4_IP", "UPF_N6_IP", "UpfLab",
    "inet_checksum", "ping", "run", "tshark", "unique_id",
]
