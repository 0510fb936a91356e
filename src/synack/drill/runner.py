"""The interpreter: plays a parsed script against a target and judges what happens.

The runner is the same for every target. It keeps the script's clock (integer
microseconds since the first event), resolves relative times as packetdrill does
(relative to when the previous event finished; consecutive inbound packets relative to
each other's script time), injects inbound packets when their time comes, takes the
stack's packets in the order it sent them and compares each with the next outbound line,
runs system calls and checks their results, and runs ``%{ }%`` blocks and backtick
commands. A target (:mod:`synack.drill.sim`, :mod:`synack.drill.kernel`) supplies time,
packets and sockets.

Timing follows packetdrill: an event is on time within ``--tolerance_usecs`` (4 ms by
default) or 12.5 % of the time since the previous event, whichever is larger.
"""

from __future__ import annotations

import ipaddress
import random
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..trace.events import Recorder
from ..wire.errors import MalformedPacket
from ..wire.icmp import parse_icmp_packet
from ..wire.ip import parse_packet
from ..wire.tcp import ACK, SYN, TcpSegment
from . import model as m
from . import packets as pk
from .calls import DrillSocket, PendingCall, PollGen, _ScriptError
from .profiles import SysctlOutcome

DEFAULT_TOLERANCE_US = 4000
TOLERANCE_PERCENT = 12.5

class ScriptFailure(Exception):
    """The stack did not do what the script says (or the script asked for the impossible)."""

    def __init__(self, message: str, event: m.Event | None = None, expected: str = "", actual: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.event = event
        self.expected = expected
        self.actual = actual


@dataclass
class Settings:
    """How to run: from the command line, the script's header options and the profile."""

    ip_version: int = 4
    tolerance_usecs: int | None = None      # None: the script's --tolerance_usecs or 4000
    tolerance_floor_usecs: int = 0             # never less than this (busy machines)
    tolerance_percent: float = TOLERANCE_PERCENT
    seed: int = 1
    profile: str | None = None              # None: the script's own
    bind_port: int = 8080
    connect_port: int = 8080
    local_ip4: str = "192.168.0.1"
    remote_ip4: str = "192.0.2.1"
    local_ip6: str = "fd3d:fa7b:d17d::1"
    remote_ip6: str = "2001:db8::1"

    @property
    def local_ip(self) -> str:
        return self.local_ip4 if self.ip_version == 4 else self.local_ip6

    @property
    def remote_ip(self) -> str:
        return self.remote_ip4 if self.ip_version == 4 else self.remote_ip6


@dataclass
class Failure:
    line: int
    message: str
    script_line: str = ""
    expected: str = ""
    actual: str = ""


@dataclass
class Result:
    """What happened when a script ran on a target."""

    path: str
    target: str
    profile: str
    status: str                       # "pass", "fail" or "error" (the script itself is bad)
    failure: Failure | None = None
    skipped: list[str] = field(default_factory=list)   # checks that could not run here
    script_seconds: float = 0.0       # the script's own time at the end
    wall_seconds: float = 0.0
    events: list = field(default_factory=list)         # trace events (views)
    names: dict = field(default_factory=dict)
    log: list = field(default_factory=list)            # (µs, text): what happened, in order

    @property
    def ok(self) -> bool:
        return self.status == "pass"


class Target(Protocol):
    """What the runner needs from a place to run scripts (see sim.py, kernel.py)."""

    name: str
    recorder: Recorder

    def setup(self, runner: Runner) -> None: ...
    def close(self) -> None: ...
    def now(self) -> int: ...
    def advance(self, t: int) -> None: ...
    def inject(self, packet: bytes) -> None: ...
    def next_outbound(self, deadline: int) -> tuple[int, bytes] | None: ...
    def start_call(self, call: PendingCall) -> None: ...
    def completed(self) -> list[PendingCall]: ...
    def kick(self) -> None: ...
    def new_socket(self, family: int, nonblocking: bool) -> Any: ...
    def poll(self, runner: Runner, fds: list[tuple[DrillSocket, int]], timeout_ms: int) -> PollGen: ...
    def adopt(self, obj: Any) -> None: ...
    def set_nonblocking(self, s: DrillSocket, on: bool) -> None: ...
    def ioctl(self, s: DrillSocket, request: int) -> int: ...
    def tcp_info(self, s: DrillSocket) -> tuple[bytes | None, str]: ...
    def sysctl(self, key: str, value: str) -> SysctlOutcome: ...
    def command(self, text: str) -> str | None: ...
    def any_horizon(self) -> int: ...


class Runner:
    """Runs one script on one target; :meth:`run` returns a :class:`Result`."""

    def __init__(self, script: m.Script, target: Target, settings: Settings | None = None) -> None:
        self.script = script
        self.target = target
        self.settings = settings or Settings()
        self.rng = random.Random(self.settings.seed)
        opt = script.options
        if self.settings.tolerance_usecs is not None:
            tol = self.settings.tolerance_usecs
        elif "tolerance_usecs" in opt:
            try:
                tol = int(opt["tolerance_usecs"])
            except ValueError:
                raise ScriptFailure(f"--tolerance_usecs must be a number of microseconds, not "
                                    f"{opt['tolerance_usecs']!r}") from None
        else:
            tol = DEFAULT_TOLERANCE_US
        self.tolerance = max(tol, self.settings.tolerance_floor_usecs)
        if "ip_version" in opt:
            v = opt["ip_version"]
            if v not in ("ipv4", "ipv6"):
                raise ScriptFailure(f"--ip_version must be ipv4 or ipv6, not {v!r}")
            self.settings.ip_version = 4 if v == "ipv4" else 6
        for key in ("bind_port", "connect_port"):
            if key in opt:
                try:
                    setattr(self.settings, key, int(opt[key]))
                except ValueError:
                    raise ScriptFailure(f"--{key} must be a port number, not {opt[key]!r}") from None
        for key in ("local_ip", "remote_ip"):
            if key in opt:
                try:
                    addr = ipaddress.ip_address(opt[key].split("/")[0])
                except ValueError:
                    raise ScriptFailure(f"--{key} must be an IP address, not {opt[key]!r}") from None
                setattr(self.settings, f"{key}{addr.version}", str(addr))
        self.profile = self.settings.profile or script.profile or "linux"
        self.fds: dict[int, DrillSocket] = {}
        self.sockets: list[DrillSocket] = []
        self.under_test: DrillSocket | None = None   # packetdrill's socket under test
        self.flow: pk.Flow | None = None  # the connection packets without ports belong to
        self.fresh_listener = False       # a listen() since the last passive connection began
        self.pending: list[PendingCall] = []
        #: a segment taken but left for the next outbound line
        self._held: tuple[int, tuple[int, int], TcpSegment] | None = None
        self.skipped: list[str] = []
        self.code_ns: dict[str, Any] = {}
        self.event: m.Event | None = None
        self.last_time: int | None = None    # resolved script time of the previous event
        #: when the previous event actually happened (a call's start, a packet's time):
        #: relative times count from here
        self.anchor = 0
        #: what happened, for --verbose: (time µs, text)
        self.log: list[tuple[int, str]] = []
        self.last_inbound = False

    # ------------------------------------------------------------------ public
    def run(self) -> Result:
        t0 = time.monotonic()
        failure: Failure | None = None
        status = "pass"
        script_s = 0.0
        try:
            try:
                self.target.setup(self)
                for cmd in self.script.init_commands:
                    self.event = cmd
                    self.command(cmd.action)  # type: ignore[arg-type]
                for ev in self.script.events:
                    self.event = ev
                    self.run_event(ev)
                    self.drain()
                self.finish()
                for cmd in self.script.cleanup_commands:
                    self.event = cmd
                    self.command(cmd.action)  # type: ignore[arg-type]
            finally:
                script_s = self.target.now() / 1e6
                self.target.close()
        except ScriptFailure as f:
            where = f.event or self.event
            failure = Failure(where.line if where else 0, f.message, where.source if where else "", f.expected,
                              f.actual)
            status = "fail"
        except _ScriptError as e:
            where = self.event
            failure = Failure(where.line if where else 0, str(e), where.source if where else "")
            status = "error"
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as e:  # the stack (or the target) broke on this line: say where, no traceback
            where = self.event
            failure = Failure(where.line if where else 0, f"{self.target.name} raised {type(e).__name__}: {e}",
                              where.source if where else "")
            status = "error"
        rec = self.target.recorder
        return Result(self.script.path, self.target.name, self.profile, status, failure, self.skipped,
                      script_s, time.monotonic() - t0, list(rec.events), dict(rec.names), sorted(self.log))

    # ------------------------------------------------------------------ time
    def resolve(self, ev: m.Event) -> tuple[int, int | None]:
        """The event's time (µs) and, for a range, its end. A relative time counts from when
        the previous event happened, or from the previous inbound packet's script time for
        consecutive inbound packets (packetdrill's rule)."""
        ts = ev.time
        if ts.kind in (m.ABSOLUTE, m.ABSOLUTE_RANGE):
            return ts.start, ts.end
        if ts.kind == m.ANY:
            return self.target.now(), None
        inbound = _is_inbound(ev)
        base = self.last_time if inbound and self.last_inbound and self.last_time is not None else self.anchor
        return base + ts.start, (base + ts.end if ts.end is not None else None)

    def tolerance_for(self, t: int) -> int:
        tol = self.tolerance
        if self.last_time is not None and t > self.last_time:
            tol = max(tol, int((t - self.last_time) * self.settings.tolerance_percent / 100))
        return tol

    def check_time(self, what: str, t: int, end: int | None, actual: int, ev: m.Event,
                   expected: str = "", got: str = "") -> None:
        if ev.time.kind == m.ANY:
            return
        tol = self.tolerance_for(t)
        lo, hi = t - tol, (end if end is not None else t) + tol
        if lo <= actual <= hi:
            return
        when = f"in {t / 1e6:.6f}~{end / 1e6:.6f} s" if end is not None else f"at {t / 1e6:.6f} s"
        raise ScriptFailure(f"timing error: expected {what} {when} but it happened at {actual / 1e6:.6f} s "
                            f"(tolerance {tol / 1e6:.6f} s)", ev, expected, got)

    # ------------------------------------------------------------------ events
    def run_event(self, ev: m.Event) -> None:
        a = ev.action
        t, end = self.resolve(ev)
        if isinstance(a, (m.TcpPacket, m.IcmpPacket)) and a.direction == ">":
            self.outbound(ev, a, t, end)
            self.last_inbound = False
        else:
            self.target.advance(t)
            self.drain()
            self.check_time(_event_what(a), t, None, self.target.now(), ev)
            self.anchor = self.target.now()
            if isinstance(a, m.TcpPacket):
                self.inbound_tcp(ev, a)
            elif isinstance(a, m.IcmpPacket):
                self.inbound_icmp(ev, a)
            elif isinstance(a, m.Syscall):
                self.syscall(ev, a, t)
            elif isinstance(a, m.Code):
                self.code(ev, a)
            else:
                self.command(a)
            self.last_inbound = _is_inbound(ev)
        self.last_time = t
        self.target.kick()

    def drain(self) -> None:
        """Check the blocking calls that returned meanwhile."""
        for call in self.target.completed():
            if call in self.pending:
                self.pending.remove(call)
            self.check_call(call)

    def finish(self) -> None:
        """The script is over: blocking calls still running get until their end time."""
        while self.pending:
            call = self.pending[0]
            end = call.end if call.end is not None else self.target.now()
            self.target.advance(end + self.tolerance_for(end))
            self.drain()
            if call in self.pending:
                raise ScriptFailure(f"{call.call.name}() was still blocked when the script ended "
                                    f"(it should have returned at {end / 1e6:.6f} s)", call.event)

    # ------------------------------------------------------------------ packets in
    def new_flow(self, local_port: int, remote_port: int | None = None, *, local_addr: str | None = None,
                 remote_addr: str | None = None, active: bool = False) -> pk.Flow:
        """A connection the script talks to; the peer's ISN gets a random offset."""
        st = self.settings
        flow = pk.Flow(st.ip_version, local_addr or st.local_ip, remote_addr or st.remote_ip, local_port,
                       remote_port if remote_port is not None else self.rng.randrange(20000, 60000),
                       remote_off=self.rng.getrandbits(32), active=active)
        self.flow = flow
        return flow

    def inbound_tcp(self, ev: m.Event, spec: m.TcpPacket) -> None:
        flow = self.flow
        bits = pk.flag_bits(spec.flags)
        if flow is None or (self.fresh_listener and bits & SYN and not bits & ACK):
            # A SYN to a new listener (or any segment when there is no connection yet): a
            # new connection from a fresh port of the peer, as packetdrill makes one.
            ut = self.under_test
            flow = self.new_flow(ut.port if ut is not None and ut.port else self.settings.bind_port)
            self.fresh_listener = False
        if bits & SYN and not bits & ACK:
            if flow.peer_syn is not None and flow.peer_syn != spec.seq:
                flow.relearn = True  # a new connection on the same ports: new ISNs
            flow.peer_syn = spec.seq
        self.log.append((self.target.now(), f"inbound  {pk.describe_expected(spec).replace('win any, ', '')}"))
        self.target.inject(pk.inbound_packet(spec, flow))

    def inbound_icmp(self, ev: m.Event, spec: m.IcmpPacket) -> None:
        if self.flow is None:
            raise ScriptFailure("an ICMP error needs a connection to quote, and there is none yet", ev)
        try:
            pkt = pk.inbound_icmp(spec, self.flow)
        except pk.PacketError as e:
            raise _ScriptError(str(e)) from None
        self.target.inject(pkt)

    # ------------------------------------------------------------------ packets out
    def _belongs(self, seg: TcpSegment, src: str, dst: str) -> bool:
        """Is this outbound segment the socket under test's? An active open's first SYN
        makes the flow."""
        f = self.flow
        if f is not None:
            return (src, seg.src_port, dst, seg.dst_port) == (f.local_addr, f.local_port, f.remote_addr, f.remote_port)
        ut = self.under_test
        if ut is not None and ut.connecting and seg.flags & SYN and not seg.flags & ACK:
            self.new_flow(seg.src_port, seg.dst_port, local_addr=src, remote_addr=dst, active=True)
            return True
        return False

    def next_packet(self, deadline: int) -> tuple[int, bytes] | None:
        return self.target.next_outbound(deadline)

    def outbound(self, ev: m.Event, spec: m.Packet, t: int, end: int | None) -> None:
        any_time = ev.time.kind == m.ANY
        tol = self.tolerance_for(t)
        deadline = self.target.now() + self.target.any_horizon() if any_time else (end if end is not None else t) + tol
        if isinstance(spec, m.IcmpPacket):
            self.outbound_icmp(ev, spec, t, end, deadline)
            return
        got = self._take(deadline)
        if got is None:
            self._missing(ev, spec, t, end, deadline)
        when, ip, seg = got  # type: ignore[misc]
        flow = self.flow
        assert flow is not None
        if seg.flags & SYN and (flow.local_off is None or flow.relearn):
            flow.local_off = (int(seg.seq) - spec.seq) & pk.MASK
            flow.relearn = False
        actual = pk.to_script(seg, flow, *ip)
        if seg.flags & pk.RST and int(seg.seq) == 0 and spec.seq == 0:
            actual.seq = 0  # <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (§3.10.7.1): a real 0
        sizes = [actual.length]
        while 0 < actual.length < spec.length and not actual.flags & pk.FIN:
            more = self._take(deadline)
            if more is None:
                break
            _, ip2, seg2 = more
            nxt = pk.to_script(seg2, flow, *ip2)
            if not nxt.length:
                # a segment without data is no piece of a larger one: the line's packet is
                # incomplete, and this one is for the next line
                self._held = more
                break
            if nxt.seq != (actual.seq + actual.length) & pk.MASK or (nxt.flags ^ actual.flags) & ~(pk.PSH | pk.FIN):
                raise ScriptFailure("outbound segments do not add up to the line's segment: the next one is "
                                    f"{pk.describe_actual(nxt)}", ev, pk.describe_expected(spec),
                                    pk.describe_actual(actual))
            sizes.append(nxt.length)
            actual = pk.merge(actual, nxt)
        why = pk.compare_tcp(spec, actual)
        if why is None and len(sizes) > 2 and len(set(sizes[:-1])) > 1:
            why = ("the line covers several segments, which must be equal in size but for the last: "
                   + " + ".join(map(str, sizes)))
        if why is not None:
            raise ScriptFailure(why, ev, pk.describe_expected(spec),
                                pk.describe_actual(actual) + f" at {when / 1e6:.6f} s")
        flow.learn_outbound(spec, seg)
        self.anchor = when
        self.check_time("outbound packet", t, end, when, ev, pk.describe_expected(spec), pk.describe_actual(actual))

    def _take(self, deadline: int) -> tuple[int, tuple[int, int], TcpSegment] | None:
        """The next outbound TCP segment of the socket under test, before ``deadline``."""
        if self._held is not None:
            held, self._held = self._held, None
            return held
        while True:
            got = self.next_packet(deadline)
            if got is None:
                return None
            when, raw = got
            try:
                hdr, seg = parse_packet(raw, verify=False)
            except MalformedPacket:
                continue  # not TCP (or not for us): the socket under test ignores it
            if self._belongs(seg, hdr.src, hdr.dst):
                v4 = hdr.version == 4
                ip = (int(hdr.tos if v4 else hdr.traffic_class),  # type: ignore[union-attr]
                      int(hdr.ttl if v4 else hdr.hop_limit))  # type: ignore[union-attr]
                if self.flow is not None:
                    f = self.flow
                    if seg.flags & SYN and (f.local_off is None or f.relearn):
                        shown = "(its SYN: the stack's ISN is 0 here)"
                    else:
                        shown = pk.describe_actual(pk.to_script(seg, f, *ip))
                    self.log.append((when, f"outbound {shown}"))
                return when, ip, seg
            self.log.append((when, f"ignored  {hdr.src}:{seg.src_port} > {hdr.dst}:{seg.dst_port} (not the "
                                   "connection under test)"))

    def _missing(self, ev: m.Event, spec: m.TcpPacket, t: int, end: int | None, deadline: int) -> None:
        """No packet by the deadline: say what came later, if anything did soon."""
        later = self._take(deadline + self.target.any_horizon() // 6)
        when = f"in {t / 1e6:.6f}~{end / 1e6:.6f} s" if end is not None else f"at {t / 1e6:.6f} s"
        if ev.time.kind == m.ANY:
            when = "at any time"
        if later is None:
            raise ScriptFailure(f"expected an outbound packet {when}, but the stack sent none",
                                ev, pk.describe_expected(spec), "(nothing)")
        lt, ip, seg = later
        flow = self.flow
        assert flow is not None
        if seg.flags & SYN and flow.local_off is None:
            flow.local_off = (int(seg.seq) - spec.seq) & pk.MASK
        a = pk.to_script(seg, flow, *ip)
        raise ScriptFailure(f"timing error: expected an outbound packet {when}, but the next one came at "
                            f"{lt / 1e6:.6f} s", ev, pk.describe_expected(spec),
                            pk.describe_actual(a) + f" at {lt / 1e6:.6f} s")

    def outbound_icmp(self, ev: m.Event, spec: m.IcmpPacket, t: int, end: int | None, deadline: int) -> None:
        while True:
            got = self.next_packet(deadline)
            if got is None:
                raise ScriptFailure("expected an outbound ICMP message, but the stack sent none", ev,
                                    f"icmp {spec.type_name} {spec.code_name or ''}".strip(), "(nothing)")
            when, raw = got
            try:
                _, msg = parse_icmp_packet(raw)
            except MalformedPacket:
                continue
            flow = self.flow
            version = flow.version if flow is not None else self.settings.ip_version
            try:
                want = pk.icmp_type_code(spec, version)
            except pk.PacketError as e:
                raise _ScriptError(str(e)) from None
            if (msg.type, msg.code) != want:
                raise ScriptFailure(f"ICMP type/code: expected {want[0]}/{want[1]} vs actual {msg.type}/{msg.code}",
                                    ev, f"icmp type {want[0]} code {want[1]}",
                                    f"icmp type {msg.type} code {msg.code}")
            self.check_time("outbound packet", t, end, when, ev)
            return

    # ------------------------------------------------------------------ system calls
    def syscall(self, ev: m.Event, call: m.Syscall, t: int) -> None:
        from . import syscalls

        op = syscalls.TABLE.get(call.name)
        if op is None:
            raise _ScriptError(f"unknown system call {call.name}() (known: {', '.join(sorted(syscalls.TABLE))})")
        try:
            gen = op(self, call)
        except syscalls.ArgumentError as e:
            raise _ScriptError(f"{call.name}(): {e}") from None
        end = None
        if call.end is not None:
            end = call.end + (t - ev.time.start) if ev.time.relative else call.end
        pc = PendingCall(ev, call, gen, self.target.now(), end)
        self.log.append((pc.started, f"call     {ev.source}"))
        self.target.start_call(pc)
        done = [c for c in self.target.completed()]
        finished = pc in done or pc.outcome is not None or pc.error is not None
        for c in done:
            if c is not pc:
                self.pending = [p for p in self.pending if p is not c]
                self.check_call(c)
        if finished:
            # a call that returned at once: the next relative time counts from its return
            if pc.finished is not None:
                self.anchor = max(self.anchor, pc.finished)
            self.check_call(pc)
            return
        if call.end is None:
            raise ScriptFailure(f"{call.name}() would block here; a call that may block needs a time range "
                                f"such as '+0...0.100 {call.name}(...)'", ev)
        self.pending.append(pc)

    def check_call(self, pc: PendingCall) -> None:
        ev, call = pc.event, pc.call
        if pc.error is not None:
            if isinstance(pc.error, _ScriptError):
                self.event = ev
                raise pc.error
            raise ScriptFailure(f"{call.name}(): {pc.error}", ev)
        out = pc.outcome
        assert out is not None
        from . import syscalls

        try:
            want = syscalls.expected_result(call)
        except syscalls.ArgumentError as e:
            self.event = ev
            raise _ScriptError(f"{call.name}(): {e}") from None
        got_text = syscalls.describe_outcome(out)
        self.log.append((pc.finished if pc.finished is not None else pc.started,
                         f"return   {call.name}() = {got_text}"))
        want_text = syscalls.describe_expected(call)
        if out.errno is not None:
            if want is not None and want != -1:
                raise ScriptFailure(f"{call.name}() returned {got_text}, expected {want_text}", ev, want_text, got_text)
            if call.errno is not None and syscalls.errno_value(call.errno) != out.errno:
                raise ScriptFailure(f"{call.name}() failed with the wrong errno: {got_text}, expected {want_text}",
                                    ev, want_text, got_text)
        else:
            if want is not None and want != out.retval and not (call.name in ("socket", "accept", "accept4")
                                                                 and want >= 0):
                raise ScriptFailure(f"{call.name}() returned {got_text}, expected {want_text}", ev, want_text, got_text)
        if out.mismatch:
            raise ScriptFailure(f"{call.name}(): {out.mismatch}", ev)
        if out.new_socket is not None and want is not None and want >= 0:
            self.fds[want] = out.new_socket
        if pc.end is not None and pc.finished is not None:
            self.check_time(f"{call.name}() to return", pc.end, None, pc.finished, ev)
        elif pc.finished is not None and pc.end is None:
            pass

    # ------------------------------------------------------------------ code and commands
    def code(self, ev: m.Event, code: m.Code) -> None:
        from .tcpinfo import namespace

        s = self._info_socket()
        if s is None:
            self.skipped.append(f"line {ev.line}: %{{ }}% block skipped: no socket to read TCP_INFO from")
            return
        raw, why = self.target.tcp_info(s)
        if raw is None:
            self.skipped.append(f"line {ev.line}: %{{ }}% block skipped: {why}")
            return
        ns = self.code_ns
        ns.update(namespace(raw))
        try:
            exec(compile(code.text.strip(), f"{self.script.path}:{ev.line}", "exec"), ns)  # noqa: S102
        except AssertionError as e:
            raise ScriptFailure(f"assertion in %{{ }}% block failed: {e}" if str(e)
                                else "assertion in %{ } block failed", ev) from None
        except Exception as e:  # the script's Python is the script's problem
            raise ScriptFailure(f"%{{ }}% block raised {type(e).__name__}: {e}", ev) from None

    def _info_socket(self) -> DrillSocket | None:
        for s in reversed(self.sockets):
            if not s.listening and s.obj is not None:
                return s
        return None

    def command(self, cmd: m.Command) -> None:
        from .profiles import parse_command

        ev = self.event
        line = ev.line if ev else 0
        for item in parse_command(cmd.text):
            if item.sysctl is not None:
                key, value = item.sysctl
                res = self.target.sysctl(key, value)
                if not res.applied:
                    self.skipped.append(f"line {line}: sysctl {key}={value} skipped: {res.reason}")
            else:
                why = self.target.command(item.text)
                if why is not None:
                    self.skipped.append(f"line {line}: command `{item.text}` skipped: {why}")

    # ------------------------------------------------------------------ helpers for syscalls
    def socket_of(self, fd: int) -> DrillSocket:
        s = self.fds.get(fd)
        if s is None:
            from . import syscalls

            raise syscalls.BadFd(fd)
        return s

    def add_socket(self, s: DrillSocket) -> None:
        self.sockets.append(s)
        self.under_test = s


def _is_inbound(ev: m.Event) -> bool:
    a = ev.action
    return isinstance(a, (m.TcpPacket, m.IcmpPacket)) and a.direction == "<"


def _event_what(a: m.Action) -> str:
    if isinstance(a, (m.TcpPacket, m.IcmpPacket)):
        return "inbound packet"
    if isinstance(a, m.Syscall):
        return f"{a.name}() to start"
    if isinstance(a, m.Code):
        return "code block"
    return "command"

