"""``--target sim``: synack on a virtual clock that the script owns.

This module is the thin adapter between the interpreter and synack's public surface —
:class:`~synack.stack.host.Host`, its connections and listeners, :mod:`synack.api`'s
socket, the ``wire`` codecs — kept in one place so that it is easy to repoint when that
surface changes. The Host under test is alone: the scripted peer is the runner, which
hands it IP packets (``Host.deliver``) and takes what it transmits
(``Host.take_packets``). The clock stands still between events and jumps from one timer
deadline to the next, so an 8-second script runs in milliseconds.

Sockets come from :mod:`synack.api` and never block here: a call the script makes on a
blocking socket is retried whenever the stack may have changed (a packet arrived, a
timer fired, another call ran) until it completes, and its completion time is what the
runner checks against the line's time range.
"""

from __future__ import annotations

import contextlib
from typing import Any

from .. import api
from ..stack.host import Host
from ..tcp.state import State
from ..trace.events import Recorder, SegmentReceived, SegmentSent, Tracer
from ..wire.errors import MalformedPacket
from ..wire.ip import parse_packet
from .profiles import SysctlOutcome, profile, sim_sysctl
from .calls import DrillSocket, Outcome, PendingCall, PollGen, ScriptError
from .runner import Runner

_NS = 1000          # ns per µs
#: how far ``*`` (any time) looks ahead for a packet, in script µs
ANY_HORIZON_US = 120_000_000
_OPENING = (State.SYN_SENT, State.SYN_RECEIVED)
_POLLIN, _POLLPRI, _POLLOUT, _POLLERR, _POLLHUP = 0x1, 0x2, 0x4, 0x8, 0x10
_POLLRDNORM, _POLLWRNORM, _POLLRDHUP = 0x40, 0x100, 0x2000


class _Runtime:
    """What synack's APIs need from whatever runs a Host (``synack.api.runtime.Runtime``),
    over the one Host and the script's clock. Its sockets are all non-blocking, so nothing
    here ever has to wait: a wait just reports whether the condition already holds."""

    realtime = False

    def __init__(self, target: SimTarget) -> None:
        self._t = target
        self.hosts = {target.host.name: target.host}
        self.lock = contextlib.nullcontext()
        self.hooks: list = []

    @property
    def now(self) -> int:
        return self._t.clock_ns

    def flush(self, host: Any, conn: Any = None) -> None:
        if conn is not None:
            host.call(conn, self._t.clock_ns)
        self._t.collect()

    def wait_until(self, cond: Any, deadline: int | None = None, *, what: Any = "",
                   stall_limit: float | None = None) -> bool:
        self._t.collect()
        return bool(cond())

    def start(self, loop: Any) -> None:
        raise RuntimeError("synack drill drives sockets only, not asyncio")

    async def wait(self) -> None:
        raise RuntimeError("synack drill drives sockets only, not asyncio")


class SimTarget:
    """synack's Host under test, on a clock that only the script moves."""

    name = "sim"

    def __init__(self, *, trace: bool = True) -> None:
        self.recorder = Recorder(on=trace)
        self.clock_ns = 0
        self.host: Host = None  # type: ignore[assignment]
        self.out: list[tuple[int, bytes]] = []
        self.calls: list[PendingCall] = []
        self.done: list[PendingCall] = []
        self.peer = Tracer("script", self.recorder)

    # ------------------------------------------------------------------ lifecycle
    def setup(self, runner: Runner) -> None:
        st = runner.settings
        prof = profile(runner.profile)
        config = prof.tcp_config()
        self.host = Host("synack", [st.local_ip4, st.local_ip6], seed=st.seed, recorder=self.recorder,
                         config=config, **prof.host)
        self.recorder.names[st.remote_ip4] = "script"
        self.recorder.names[st.remote_ip6] = "script"
        #: what synack.api finds on this target (``runtime_of(target)``)
        self.runtime = _Runtime(self)

    def close(self) -> None:
        self.collect()

    def now(self) -> int:
        return self.clock_ns // _NS

    def any_horizon(self) -> int:
        return ANY_HORIZON_US

    # ------------------------------------------------------------------ packets and time
    def collect(self) -> None:
        """Take what the Host transmitted, stamped with the current time."""
        for pkt in self.host.take_packets():
            self.out.append((self.clock_ns // _NS, pkt))
            if self.recorder.on:
                self._trace_peer(pkt, received=True)

    def _trace_peer(self, pkt: bytes, received: bool) -> None:
        try:
            hdr, seg = parse_packet(pkt, verify=False)
        except MalformedPacket:
            return
        ev = (SegmentReceived(self.clock_ns, "script", None, hdr.src, hdr.dst, seg)
              if received else
              SegmentSent(self.clock_ns, "script", None, hdr.src, hdr.dst, seg, False, None))
        self.peer.emit(ev)

    def _next_wake(self) -> int | None:
        """The next time (ns) something happens by itself: a timer or a call's deadline."""
        d = self.host.next_deadline()
        for c in self.calls:
            if c.wake is not None:
                w = c.wake * _NS
                d = w if d is None or w < d else d
        return d

    def advance(self, t: int) -> None:
        """Let the clock run to ``t`` µs: every timer on the way fires at its time."""
        end = t * _NS
        while True:
            d = self._next_wake()
            if d is None or d > end:
                break
            if d > self.clock_ns:
                self.clock_ns = d
            self.host.on_timeout(self.clock_ns)
            self.collect()
            self.retry()
        if end > self.clock_ns:
            self.clock_ns = end

    def inject(self, packet: bytes) -> None:
        if self.recorder.on:
            self._trace_peer(packet, received=False)
        self.host.deliver(packet, self.clock_ns)
        self.collect()
        self.retry()

    def next_outbound(self, deadline: int) -> tuple[int, bytes] | None:
        """The oldest packet the stack sent and the script has not taken; the clock runs
        (to ``deadline`` µs at most) until there is one."""
        end = deadline * _NS
        while not self.out:
            d = self._next_wake()
            if d is None or d > end:
                return None
            if d > self.clock_ns:
                self.clock_ns = d
            self.host.on_timeout(self.clock_ns)
            self.collect()
            self.retry()
        return self.out.pop(0)

    # ------------------------------------------------------------------ calls
    def start_call(self, call: PendingCall) -> None:
        self.calls.append(call)
        self._step(call)

    def _step(self, call: PendingCall) -> None:
        try:
            call.wake = next(call.gen)
        except StopIteration as e:
            call.outcome = e.value
        except OSError as e:
            call.outcome = Outcome(-1, e.errno if e.errno is not None else 110)
        except ScriptError as e:
            call.error = e
        except Exception as e:  # the stack itself failed: a synack bug, reported as such
            call.error = RuntimeError(f"synack raised {type(e).__name__}: {e}")
        else:
            return
        call.finished = self.clock_ns // _NS
        self.calls.remove(call)
        self.done.append(call)
        self.collect()

    def retry(self) -> None:
        """Give every blocked call another go (the stack may have changed)."""
        for call in list(self.calls):
            self._step(call)

    def completed(self) -> list[PendingCall]:
        done, self.done = self.done, []
        return done

    def kick(self) -> None:
        self.retry()

    # ------------------------------------------------------------------ sockets
    def new_socket(self, family: int, nonblocking: bool) -> Any:
        s = api.socket(self, self.host, family)
        s.settimeout(0.0)
        return s

    def adopt(self, obj: Any) -> None:
        obj.settimeout(0.0)

    def set_nonblocking(self, s: DrillSocket, on: bool) -> None:
        pass  # synack's sockets are always non-blocking here; the runner keeps the script's flag

    def _listening_ready(self, s: DrillSocket) -> bool:
        return any(lst.accept_queue for (addr, port), lst in self.host.listeners.items() if port == s.port)

    def revents(self, s: DrillSocket, events: int) -> int:
        """What poll(2) reports for the socket (Linux's tcp_poll, from the connection)."""
        if s.listening:
            return (_POLLIN | _POLLRDNORM) & events if self._listening_ready(s) else 0
        c = s.obj.connection
        if c is None:
            return _POLLOUT & events | _POLLHUP if s.obj.fileno() >= 0 else 0x20
        mask = 0
        st = c.state
        if c.error is not None and st is State.CLOSED:
            mask |= _POLLERR
        if st is State.CLOSED:
            mask |= _POLLHUP
        if c.fin_received:
            mask |= _POLLIN | _POLLRDNORM | _POLLRDHUP
        if st not in _OPENING:
            if c.readable:
                mask |= _POLLIN | _POLLRDNORM
            if st in (State.ESTABLISHED, State.CLOSE_WAIT) and c.send_space > 0:
                mask |= _POLLOUT | _POLLWRNORM
            if c.urgent_remaining:
                mask |= _POLLPRI
        return mask & (events | _POLLERR | _POLLHUP)

    def poll(self, runner: Runner, fds: list[tuple[DrillSocket, int]], timeout_ms: int) -> PollGen:
        deadline = None if timeout_ms < 0 else self.now() + timeout_ms * 1000
        while True:
            got = [self.revents(s, ev) for s, ev in fds]
            if any(got) or timeout_ms == 0 or (deadline is not None and self.now() >= deadline):
                return got
            yield deadline

    def ioctl(self, s: DrillSocket, request: int) -> int:
        c = s.obj.connection
        if request == 0x541B:  # SIOCINQ / FIONREAD
            return c.readable if c is not None else 0
        if request == 0x5411:  # SIOCOUTQ
            return c.status()["unacked"] + c.status()["unsent"] if c is not None else 0
        raise OSError(95, "ioctl request not supported by synack")

    def tcp_info(self, s: DrillSocket) -> tuple[bytes | None, str]:
        try:
            raw = s.obj.getsockopt(6, 11, 256)  # IPPROTO_TCP, TCP_INFO
        except OSError as e:
            return None, f"synack's socket has no TCP_INFO ({e.strerror or e})"
        return bytes(raw), ""

    def sysctl(self, key: str, value: str) -> SysctlOutcome:
        return sim_sysctl(key, value, self.host.config, self.host)

    def command(self, text: str) -> str | None:
        return "the simulator runs no shell commands"
