"""``--target kernel``: the Linux kernel of this machine, as packetdrill tests it.

Each script gets a network namespace of its own (``ip netns add drill-...``), deleted
when it ends. Inside it a TUN device carries the stack's address (192.168.0.1/16,
fd3d:fa7b:d17d::1/48) and routes to the scripted peer (192.0.2.0/24, 2001:db8::/32), so
every packet the kernel sends to the peer is read from the device and every packet the
script injects is written to it. Congestion control is pinned to CUBIC in the namespace
(this machine's default is BBR). System calls run on real sockets made inside the
namespace, a blocking one in a thread of its own; time is real, checked with the
script's tolerance. Backtick lines run only as sysctl settings inside the namespace.

Nothing leaves the namespace: the peer's addresses exist only as routes through the
device, whose other end is this process.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import ipaddress
import os
import queue
import secrets
import select
import struct
import subprocess
import threading
import time
from typing import Any

from ..link.tun import TunLink, in_netns, missing, netns_socket
from ..trace.events import Recorder, SegmentReceived, SegmentSent, Tracer
from ..wire.errors import MalformedPacket
from ..wire.ip import parse_packet
from .profiles import SysctlOutcome
from .calls import DrillSocket, Outcome, PendingCall, PollGen, ScriptError
from .runner import Runner

ANY_HORIZON_US = 20_000_000
#: how long a call without a time range may take before it counts as blocked
NONBLOCKING_GRACE_S = 1.0
#: the congestion control every script runs with (upstream Linux's default)
PINNED_CC = "cubic"
_ICMP6_ND = {130, 131, 132, 133, 134, 135, 136, 137, 143}
_PEER4 = ipaddress.ip_network("192.0.2.0/24")
_PEER6 = ipaddress.ip_network("2001:db8::/32")


class KernelUnavailable(RuntimeError):
    """Why this machine cannot run the kernel target (no root, no TUN, no iproute2)."""


def unavailable() -> str | None:
    """One line saying why the kernel target cannot run here, or None."""
    return missing()


def _realtime_priority() -> None:
    """Run this thread (and the threads it starts) at the lowest real-time priority, as
    packetdrill does on machines with more than one CPU, so that a busy machine delays
    the script's events less. Without the privilege, or on one CPU, nothing changes."""
    if (os.cpu_count() or 1) < 2 or not hasattr(os, "sched_setscheduler"):
        return
    with contextlib.suppress(OSError):
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(os.sched_get_priority_min(os.SCHED_RR)))


class KernelTarget:
    """This machine's Linux TCP in a namespace of its own, behind a TUN device."""

    name = "kernel"

    def __init__(self, *, trace: bool = True) -> None:
        why = unavailable()
        if why is not None:
            raise KernelUnavailable(f"the kernel target needs root and /dev/net/tun: {why}")
        self.recorder = Recorder(on=trace)
        self.netns = f"drill-{os.getpid()}-{secrets.token_hex(3)}"
        self.tun: TunLink | None = None
        self.q: queue.Queue = queue.Queue()
        self.stop = threading.Event()
        self.reader: threading.Thread | None = None
        self.t0 = time.monotonic_ns()
        self.lock = threading.Lock()
        self.done: list[PendingCall] = []
        self.calls: list[PendingCall] = []
        self.sockets: list[Any] = []
        self.linux = Tracer("linux", self.recorder)
        self.peer = Tracer("script", self.recorder)
        self.created = False
        self.pin_cc = False

    # ------------------------------------------------------------------ lifecycle
    def _ip_batch(self, lines: list[str]) -> None:
        r = subprocess.run(["ip", "-n", self.netns, "-batch", "-"], input="\n".join(lines) + "\n",
                           capture_output=True, text=True, timeout=20)
        if r.returncode != 0:
            raise KernelUnavailable(f"setting up the namespace failed: {r.stderr.strip() or r.stdout.strip()}")

    def setup(self, runner: Runner) -> None:
        st = runner.settings
        if ipaddress.ip_address(st.remote_ip4) not in _PEER4 or ipaddress.ip_address(st.remote_ip6) not in _PEER6:
            raise ScriptError("on the kernel target the scripted peer lives in 192.0.2.0/24 or 2001:db8::/32 "
                              "(the routes through the device); --remote_ip must stay there")
        r = subprocess.run(["ip", "netns", "add", self.netns], capture_output=True, text=True, timeout=20)
        if r.returncode != 0:
            raise KernelUnavailable(f"ip netns add {self.netns}: {r.stderr.strip()}")
        self.created = True
        self.tun = TunLink.open("drill%d", netns=self.netns, offload=False)  # wire-sized packets
        dev = self.tun.name
        self._ip_batch([
            "link set dev lo up",
            f"link set dev {dev} addrgenmode none",
            f"addr add {st.local_ip4}/16 dev {dev}",
            f"addr add {st.local_ip6}/48 dev {dev} nodad",
            f"link set dev {dev} mtu 1500 up",
            f"route add 192.0.2.0/24 dev {dev}",
            f"route add 2001:db8::/32 dev {dev}",
        ])
        # Outside the initial namespace Linux lets the default be only an algorithm of
        # net.ipv4.tcp_allowed_congestion_control (here "reno bbr"): where writing the
        # namespace's default fails, every socket the script makes gets CUBIC instead
        # (TCP_CONGESTION; accepted connections inherit their listener's).
        self.pin_cc = not self.sysctl("net.ipv4.tcp_congestion_control", PINNED_CC).applied
        self.recorder.names[st.local_ip4] = self.recorder.names[st.local_ip6] = "linux"
        self.recorder.names[st.remote_ip4] = self.recorder.names[st.remote_ip6] = "script"
        _realtime_priority()
        self.reader = threading.Thread(target=self._read, name=f"{self.netns}-tun", daemon=True)
        self.reader.start()
        self.t0 = time.monotonic_ns()

    def close(self) -> None:
        self.stop.set()
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.shutdown(2)
            with contextlib.suppress(OSError):
                s.close()
        if self.reader is not None:
            self.reader.join(timeout=2)
        if self.tun is not None:
            self.tun.close()
        if self.created:
            subprocess.run(["ip", "netns", "del", self.netns], capture_output=True, timeout=20)
            self.created = False

    def now(self) -> int:
        return (time.monotonic_ns() - self.t0) // 1000

    def any_horizon(self) -> int:
        return ANY_HORIZON_US

    # ------------------------------------------------------------------ packets and time
    def _read(self) -> None:
        assert self.tun is not None
        fd = self.tun.fd
        while not self.stop.is_set():
            try:
                ready, _, _ = select.select([fd], [], [], 0.05)
            except (OSError, ValueError):
                return
            if not ready:
                continue
            while True:
                try:
                    pkt = os.read(fd, 65600)
                except BlockingIOError:
                    break
                except OSError:
                    return
                t = self.now()
                if self._wanted(pkt):
                    self.q.put((t, pkt))
                    self._trace(pkt, t, from_linux=True)

    @staticmethod
    def _wanted(pkt: bytes) -> bool:
        """TCP and ICMP only; IPv6 neighbour discovery and MLD are the device's own chatter."""
        if not pkt:
            return False
        v = pkt[0] >> 4
        if v == 4 and len(pkt) >= 20:
            return pkt[9] in (1, 6)
        if v == 6 and len(pkt) >= 41:
            nh = pkt[6]
            return nh == 6 or (nh == 58 and pkt[40] not in _ICMP6_ND)
        return False

    def _trace(self, pkt: bytes, t: int, from_linux: bool) -> None:
        if not self.recorder.on:
            return
        try:
            hdr, seg = parse_packet(pkt, verify=False)
        except MalformedPacket:
            return
        ns = t * 1000
        a, b = (self.linux, self.peer) if from_linux else (self.peer, self.linux)
        with self.lock:
            a.emit(SegmentSent(ns, a.host, None, hdr.src, hdr.dst, seg, False, None))
            b.emit(SegmentReceived(ns, b.host, None, hdr.src, hdr.dst, seg))

    def advance(self, t: int) -> None:
        while True:
            wait = (t - self.now()) / 1e6
            if wait <= 0:
                return
            time.sleep(min(wait, 0.5))

    def inject(self, packet: bytes) -> None:
        assert self.tun is not None
        os.write(self.tun.fd, packet)
        self._trace(packet, self.now(), from_linux=False)

    def next_outbound(self, deadline: int) -> tuple[int, bytes] | None:
        try:
            return self.q.get(timeout=max(0.0, (deadline - self.now()) / 1e6))
        except queue.Empty:
            return None

    # ------------------------------------------------------------------ calls
    def start_call(self, call: PendingCall) -> None:
        th = threading.Thread(target=self._drive, args=(call,), daemon=True, name=f"{self.netns}-call")
        with self.lock:
            self.calls.append(call)
        th.start()
        # A call without a time range must return (almost) at once; one with a range may
        # block, but most return at once: give it a moment before the script moves on.
        th.join(NONBLOCKING_GRACE_S if call.end is None else 0.005)

    def _drive(self, call: PendingCall) -> None:
        outcome: Outcome | None = None
        try:
            while True:
                wake = next(call.gen)
                time.sleep(0.001 if wake is None else max(0.0, min(0.001, (wake - self.now()) / 1e6)))
        except StopIteration as e:
            outcome = e.value
        except OSError as e:
            outcome = Outcome(-1, e.errno if e.errno is not None else errno.ETIMEDOUT)
        except ScriptError as e:
            call.error = e
        except Exception as e:
            call.error = RuntimeError(f"{type(e).__name__}: {e}")
        call.finished = self.now()
        call.outcome = outcome
        with self.lock:
            if call in self.calls:
                self.calls.remove(call)
            self.done.append(call)

    def completed(self) -> list[PendingCall]:
        with self.lock:
            done, self.done = self.done, []
        return done

    def kick(self) -> None:
        pass

    # ------------------------------------------------------------------ sockets
    def new_socket(self, family: int, nonblocking: bool) -> Any:
        s = netns_socket(self.netns, family, 1)
        if self.pin_cc:
            s.setsockopt(6, 13, PINNED_CC.encode())  # IPPROTO_TCP, TCP_CONGESTION
        if nonblocking:
            s.setblocking(False)
        self.sockets.append(s)
        return s

    def adopt(self, obj: Any) -> None:
        self.sockets.append(obj)

    def set_nonblocking(self, s: DrillSocket, on: bool) -> None:
        s.obj.setblocking(not on)

    def poll(self, runner: Runner, fds: list[tuple[DrillSocket, int]], timeout_ms: int) -> PollGen:
        p = select.poll()
        for s, ev in fds:
            p.register(s.obj.fileno(), ev)
        ready = dict(p.poll(timeout_ms))
        return [ready.get(s.obj.fileno(), 0) for s, _ in fds]
        yield  # pragma: no cover

    def ioctl(self, s: DrillSocket, request: int) -> int:
        raw = fcntl.ioctl(s.obj.fileno(), request, struct.pack("i", 0))
        return int(struct.unpack("i", raw)[0])

    def tcp_info(self, s: DrillSocket) -> tuple[bytes | None, str]:
        try:
            return bytes(s.obj.getsockopt(6, 11, 256)), ""
        except OSError as e:
            return None, f"TCP_INFO failed: {e}"

    def sysctl(self, key: str, value: str) -> SysctlOutcome:
        key = key.replace("/", ".")
        if not key.startswith("net."):
            return SysctlOutcome(False, "only net.* sysctls are set, inside the script's namespace")
        path = "/proc/sys/" + key.replace(".", "/")

        def write() -> None:
            with open(path, "w") as f:
                f.write(value)

        try:
            in_netns(self.netns, write)
        except OSError as e:
            return SysctlOutcome(False, f"cannot write {path}: {e.strerror or e}")
        return SysctlOutcome(True)

    def command(self, text: str) -> str | None:
        return "only sysctl settings run on the kernel target"
