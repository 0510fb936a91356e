"""One endpoint against a scripted peer (STYLE "Tests that read like the RFC", 2).

Everything is named from our side. ``Tcb`` wraps one :class:`~synack.tcp.connection.Connection`
at local 10.0.0.1:5000, remote 10.0.0.2:80, with an injected ISS, a clock ``now`` (int ns)
starting at 0, and a recorder of typed trace events:

- ``peer_sends("S.", seq=..., ack=..., wnd=..., data=b"", options=(...), urg=0)`` builds a
  segment and calls ``segment_arrives``. Flags are tcpdump letters: ``S`` SYN, ``F`` FIN,
  ``R`` RST, ``P`` PSH, ``U`` URG, ``.`` (or ``A``) ACK, ``E`` ECE, ``W`` CWR.
- ``expect_sent(flags=..., seq=..., ack=..., ...)`` takes the next segment we sent and checks
  only the fields given; ``expect_silence()`` checks that nothing (more) was sent.
- ``advance(d)`` moves ``now`` forward by ``d``, running ``on_timeout`` at every deadline on
  the way; ``expect_state("ESTABLISHED")``.
- User calls: ``open_active()``, ``open_passive()``, ``send()``, ``receive()``, ``close()``,
  ``abort()``, ``status()``.

States are reached only by replaying the real exchange (never by setting fields):
``Tcb(isns).established()`` opens actively, expects the SYN, has the peer answer SYN,ACK and
expects the ACK. Each builder checks every segment on the way, so a broken handshake fails
in the builder with a clear message.

The peer model is deliberately small. ``peer_nxt`` is the peer's SND.NXT (what it has sent
in order: our RCV.NXT if everything arrived) and ``our_nxt`` the highest sequence number
we have sent plus one (our SND.NXT as the peer sees it on the wire); both come from the
segments exchanged, not from the connection under test. ``peer_nxt`` advances whenever the
peer sends in order, whether or not we accept the segment, so a test that expects the ACK
of a refused segment reads ``rcv_nxt = t.peer_nxt`` before the peer sends it. ``peer_sends`` defaults ``seq`` to
``peer_nxt``, ``ack`` to the last acceptable ACK the peer sent (so a default segment never
acknowledges anything new), ``wnd`` to 65535 and, for a SYN, ``options`` to an MSS of 1460.

ISNs: every state test runs twice, with ISS = 100, IRS = 300 (RFC 9293 figure style) and with
ISS = 2**32 - 3, IRS = 2**32 - 2, so that SYN, the first octets of data and FIN cross 2**32
(STYLE rule 5). Tests write sequence numbers relative to ``t.iss`` and ``t.irs``.

The harness's default config is ``TcpConfig(delayed_ack=None)`` (every ACK immediate): tests
about delayed ACKs, or about the defaults (RTO times), pass ``config=TcpConfig()`` or
``delayed_ack=ms(40)``.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable
from typing import Self

import pytest

from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.isn import FixedIsn
from synack.timeunits import ms, sec  # noqa: F401  (re-exported for the tests)
from synack.trace.events import Recorder, SegmentDropped, StateChanged, Tracer
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, CWR, ECE, FIN, PSH, RST, SYN, URG, Flags, Mss, TcpSegment

LOCAL_ADDR, LOCAL_PORT = "10.0.0.1", 5000
REMOTE_ADDR, REMOTE_PORT = "10.0.0.2", 80

#: ISS and IRS, as in the RFC figures, and near 2**32 so that everything wraps.
LOW = (100, 300)
WRAP = (2**32 - 3, 2**32 - 2)
ISN_PAIRS = [pytest.param(LOW, id="isn-low"), pytest.param(WRAP, id="isn-wrap")]

PEER_WND = 65535
PEER_MSS = 1460

_LETTERS = {"S": SYN, "F": FIN, "R": RST, "P": PSH, "U": URG, ".": ACK, "A": ACK, "E": ECE, "W": CWR}
# The order the RFC writes control bits in: <CTL=SYN,ACK>, <CTL=RST,ACK>, <CTL=FIN,ACK>.
_CTL_ORDER = ((SYN, "SYN"), (FIN, "FIN"), (RST, "RST"), (PSH, "PSH"), (URG, "URG"), (ACK, "ACK"),
              (ECE, "ECE"), (CWR, "CWR"))
_UNSET = object()


def flags_of(spec) -> Flags:
    """``"S."`` -> SYN|ACK; a :class:`Flags` value is returned as it is."""
    if isinstance(spec, int):
        return Flags(spec)
    f = Flags(0)
    for ch in spec:
        if ch not in _LETTERS:
            raise ValueError(f"unknown flag letter {ch!r} in {spec!r} (use S F R P U . E W)")
        f |= _LETTERS[ch]
    return f


def ctl(flags: int) -> str:
    """Control bits as the RFC writes them: ``SYN,ACK``."""
    return ",".join(name for bit, name in _CTL_ORDER if flags & bit) or "none"


def rfc(seg: TcpSegment) -> str:
    """A segment in RFC 9293 notation, ``<SEQ=100><ACK=301><CTL=SYN,ACK>``, plus the window,
    options and data that a failing test wants to see."""
    s = f"<SEQ={int(seg.seq)}>"
    if seg.flags & ACK:
        s += f"<ACK={int(seg.ack)}>"
    s += f"<CTL={ctl(seg.flags)}><WND={seg.wnd}>"
    for o in seg.options:
        s += f"<{type(o).__name__.upper()}={','.join(str(v) for v in o)}>" if o else f"<{type(o).__name__.upper()}>"
    if seg.payload:
        shown = seg.payload if len(seg.payload) <= 16 else seg.payload[:16] + b"..."
        s += f"<DATA={len(seg.payload)} octets {shown!r}>"
    if seg.urg_ptr:
        s += f"<UP={seg.urg_ptr}>"
    return s


def _secs(ns: int) -> str:
    return f"{ns / 1e9:.6f} s"


class Tcb:
    """A Connection driven by a scripted peer; see the module docstring."""

    def __init__(self, isns=LOW, *, config: TcpConfig | None = None, **overrides) -> None:
        iss, irs = isns
        self.iss = Seq(iss)
        self.irs = Seq(irs)
        if config is None:
            cfg = TcpConfig(**{"delayed_ack": None, **overrides})
        else:
            cfg = dataclasses.replace(config, **overrides) if overrides else config
        cfg.validate()
        self.config = cfg
        self.recorder = Recorder()
        self.conn = Connection(LOCAL_ADDR, LOCAL_PORT, REMOTE_ADDR, REMOTE_PORT, config=cfg,
                               isn=FixedIsn(iss), tracer=Tracer("us", self.recorder))
        self.now = 0
        self._queue: deque = deque()      # (time, segment, cause) sent and not yet expected
        self.sent: list = []              # every (time, segment, cause) we ever sent
        self.received: list = []          # every (time, segment) the peer sent us
        self.wire: list = []              # (time, "peer -> us" | "us -> peer", segment, cause), in order
        self.peer_nxt = self.irs          # the peer's SND.NXT
        self.peer_ack: Seq | None = None  # the last acceptable ACK the peer sent
        self.our_nxt: Seq | None = None   # highest sequence number we sent + 1

    # ------------------------------------------------------------------ plumbing
    def _pull(self) -> None:
        """Move what the connection queued into our expectation queue, stamped with ``now``."""
        out = self.conn.out
        for seg, cause in out:
            self._queue.append((self.now, seg, cause))
            self.sent.append((self.now, seg, cause))
            self.wire.append((self.now, "us -> peer", seg, cause))
            if not seg.flags & RST:
                end = seg.seq + seg.len
                if self.our_nxt is None or end.gt(self.our_nxt):
                    self.our_nxt = end
        out.clear()

    @property
    def state(self) -> str:
        return str(self.conn.state)

    @property
    def window_edge(self) -> Seq:
        """RCV.NXT + RCV.WND as we last advertised them on the wire (the peer's view)."""
        for _, seg, _ in reversed(self.sent):
            if seg.flags & ACK:
                # RFC 7323 §2: the field is scaled by our shift, except in a SYN.
                return seg.ack + (seg.wnd if seg.flags & SYN else seg.wnd << self.conn.rcv_wscale)
        raise AssertionError("we have not advertised a window yet")

    def ladder(self, last: int = 12) -> str:
        """The last segments each way, then recent drops and state changes, for failure messages."""
        lines = [f"  {_secs(t)}  {way}  {rfc(seg)}" + (f" [{c}]" if c else "")
                 for t, way, seg, c in self.wire[-last:]]
        for ev in self.recorder.events[-40:]:
            if isinstance(ev, SegmentDropped):
                lines.append(f"  {_secs(ev.t)}  dropped {rfc(ev.seg) if ev.seg else '?'}: {ev.reason} {ev.detail}")
            elif isinstance(ev, StateChanged):
                lines.append(f"  {_secs(ev.t)}  {ev.old} -> {ev.new} ({ev.cause})")
        return "\n".join(lines)

    # ------------------------------------------------------------------ the peer
    def peer_sends(self, flags="S", seq=None, ack=None, wnd: int = PEER_WND, data: bytes = b"",
                   options=_UNSET, urg: int = 0) -> TcpSegment:
        """The peer sends a segment; SEGMENT ARRIVES (RFC 9293 §3.10.7) runs at ``now``."""
        f = flags_of(flags)
        if seq is None:
            seq = self.peer_nxt
        if ack is None:
            ack = self.peer_ack if (f & ACK and self.peer_ack is not None) else 0
        if options is _UNSET:
            options = (Mss(PEER_MSS),) if f & SYN else ()
        seg = TcpSegment(REMOTE_PORT, LOCAL_PORT, Seq(seq), Seq(ack), f, wnd, bytes(data),
                         tuple(options), urg)
        self._pull()
        self.received.append((self.now, seg))
        self.wire.append((self.now, "peer -> us", seg, None))
        self.conn.segment_arrives(seg, self.now)
        self._pull()
        # The peer model: in-order sending advances the peer; a valid new ACK is remembered.
        if seg.seq == self.peer_nxt and not f & RST:
            self.peer_nxt = seg.seq + seg.len
        if f & ACK and self.our_nxt is not None and seg.ack.le(self.our_nxt) and (
                self.peer_ack is None or seg.ack.ge(self.peer_ack)):
            self.peer_ack = seg.ack
        return seg

    # ------------------------------------------------------------------ expectations
    def expect_sent(self, flags=None, *, seq=None, ack=None, wnd=None, data=None, len=None,
                    mss=_UNSET, options=None, urg=None, cause=_UNSET, at=None) -> TcpSegment:
        """Take the next segment we sent and check the fields given (all others are free).

        ``flags`` must match exactly; ``len`` is SEG.LEN (SYN and FIN count one); ``mss`` the
        MSS option's value (None: no MSS option); ``cause`` the retransmission cause (None: an
        original transmission); ``at`` the time it was sent.
        """
        self._pull()
        # (field, how to read it from (time, segment, cause), the value expected)
        want: list[tuple[str, Callable[[int, TcpSegment, str | None], object], object]] = []
        if flags is not None:
            want.append(("CTL", lambda _t, s, _c: ctl(s.flags), ctl(flags_of(flags))))
        if seq is not None:
            want.append(("SEQ", lambda _t, s, _c: int(s.seq), int(Seq(seq))))
        if ack is not None:
            want.append(("ACK", lambda _t, s, _c: int(s.ack), int(Seq(ack))))
        if wnd is not None:
            want.append(("WND", lambda _t, s, _c: s.wnd, wnd))
        if data is not None:
            want.append(("DATA", lambda _t, s, _c: bytes(s.payload), bytes(data)))
        if len is not None:
            want.append(("LEN", lambda _t, s, _c: s.len, len))
        if mss is not _UNSET:
            want.append(("MSS", lambda _t, s, _c: s.mss, mss))
        if options is not None:
            want.append(("options", lambda _t, s, _c: tuple(s.options), tuple(options)))
        if urg is not None:
            want.append(("UP", lambda _t, s, _c: s.urg_ptr, urg))
        if cause is not _UNSET:
            want.append(("cause", lambda _t, _s, c: c, cause))
        if at is not None:
            want.append(("time", lambda t, _s, _c: t, at))
        wanted = "".join(f"<{name}={v}>" for name, _, v in want)
        if not self._queue:
            pytest.fail(f"expected us to send {wanted} but nothing was sent "
                        f"(state {self.state}, now {_secs(self.now)})\n{self.ladder()}")
        t, seg, c = self._queue.popleft()
        bad = []
        for name, get, v in want:
            got = get(t, seg, c)
            if got != v:
                if name == "time":
                    bad.append(f"sent at {_secs(t)}, expected at {_secs(at)}")
                else:
                    bad.append(f"{name}: got {got!r}, expected {v!r}")
        if bad:
            pytest.fail(f"expected us to send {wanted}\n"
                        f"   but we sent {rfc(seg)} at {_secs(t)}" + (f" [{c}]" if c else "") + "\n"
                        + "\n".join("   " + b for b in bad) + f"\n(state {self.state})\n{self.ladder()}")
        return seg

    def expect_silence(self) -> None:
        """Nothing (more) was sent."""
        self._pull()
        if self._queue:
            sent = "\n".join(f"   {rfc(s)} at {_secs(t)}" + (f" [{c}]" if c else "") for t, s, c in self._queue)
            pytest.fail(f"expected silence, but we sent:\n{sent}\n(state {self.state})\n{self.ladder()}")

    def expect_state(self, name: str) -> None:
        if self.state != name:
            pytest.fail(f"expected state {name}, but the connection is {self.state}\n{self.ladder()}")

    def drain(self) -> list:
        """Forget what was sent so far (returns it)."""
        self._pull()
        items = list(self._queue)
        self._queue.clear()
        return items

    # ------------------------------------------------------------------ time
    def advance(self, d: int) -> None:
        """Move ``now`` forward by ``d`` ns, running ``on_timeout`` at each deadline reached."""
        self.advance_to(self.now + d)

    def advance_to(self, target: int) -> None:
        for _ in range(100_000):
            dl = self.conn.next_deadline()
            if dl is None or dl > target:
                break
            self.now = max(self.now, dl)
            self.conn.on_timeout(self.now)
            self._pull()
        else:
            pytest.fail(f"timers keep firing at {_secs(self.now)}: a deadline is never cleared")
        self.now = max(self.now, target)

    # ------------------------------------------------------------------ user calls
    def open_active(self) -> None:
        self.conn.open(self.now, active=True)
        self._pull()

    def open_passive(self) -> None:
        self.conn.open(self.now, active=False)
        self._pull()

    def send(self, data: bytes) -> int:
        n = self.conn.send(data, self.now)
        self._pull()
        return n

    def receive(self, n: int = 1 << 20) -> bytes:
        data = self.conn.receive(n, self.now)
        self._pull()
        return data

    def close(self) -> None:
        self.conn.close(self.now)
        self._pull()

    def abort(self) -> None:
        self.conn.abort(self.now)
        self._pull()

    def status(self) -> dict:
        return self.conn.status()

    # ------------------------------------------------------------------ states, by replay
    def listen(self) -> Self:
        """CLOSED -> LISTEN by a passive OPEN (RFC 9293 §3.10.1)."""
        self.open_passive()
        self.expect_silence()
        self.expect_state("LISTEN")
        return self

    def syn_sent(self) -> Self:
        """CLOSED -> SYN-SENT: <SEQ=ISS><CTL=SYN> (RFC 9293 §3.10.1)."""
        self.open_active()
        self.expect_sent("S", seq=self.iss, mss=self.conn.rcv_mss)
        self.expect_silence()
        self.expect_state("SYN-SENT")
        return self

    def syn_received(self) -> Self:
        """LISTEN -> SYN-RECEIVED (passive): the peer's SYN, our <SEQ=ISS><ACK=IRS+1><CTL=SYN,ACK>."""
        self.listen()
        self.peer_sends("S", seq=self.irs)
        self.expect_sent("S.", seq=self.iss, ack=self.irs + 1, mss=self.conn.rcv_mss)
        self.expect_silence()
        self.expect_state("SYN-RECEIVED")
        return self

    def syn_received_active(self) -> Self:
        """SYN-SENT -> SYN-RECEIVED by simultaneous open (RFC 9293 §3.5 MUST-10)."""
        self.syn_sent()
        self.peer_sends("S", seq=self.irs)
        self.expect_sent("S.", seq=self.iss, ack=self.irs + 1)
        self.expect_silence()
        self.expect_state("SYN-RECEIVED")
        return self

    def established(self, rtt: int = 0) -> Self:
        """The three-way handshake from our SYN; the SYN,ACK arrives ``rtt`` after it."""
        self.syn_sent()
        self.advance(rtt)
        self.peer_sends("S.", seq=self.irs, ack=self.iss + 1)
        self.expect_sent(".", seq=self.iss + 1, ack=self.irs + 1)
        self.expect_silence()
        self.expect_state("ESTABLISHED")
        return self

    def established_passive(self, rtt: int = 0) -> Self:
        """The three-way handshake from LISTEN; the ACK arrives ``rtt`` after our SYN,ACK."""
        self.syn_received()
        self.advance(rtt)
        self.peer_sends(".", seq=self.irs + 1, ack=self.iss + 1)
        self.expect_silence()
        self.expect_state("ESTABLISHED")
        return self

    def fin_wait_1(self) -> Self:
        """ESTABLISHED -> FIN-WAIT-1 by CLOSE: <SEQ=ISS+1><ACK=IRS+1><CTL=FIN,ACK>."""
        self.established()
        self.close()
        self.expect_sent("F.", seq=self.iss + 1, ack=self.irs + 1)
        self.expect_silence()
        self.expect_state("FIN-WAIT-1")
        return self

    def fin_wait_2(self) -> Self:
        """FIN-WAIT-1 -> FIN-WAIT-2: the peer acknowledges our FIN."""
        self.fin_wait_1()
        self.peer_sends(".", seq=self.irs + 1, ack=self.iss + 2)
        self.expect_silence()
        self.expect_state("FIN-WAIT-2")
        return self

    def closing(self) -> Self:
        """FIN-WAIT-1 -> CLOSING: the peer's FIN crosses ours (simultaneous close)."""
        self.fin_wait_1()
        self.peer_sends("F.", seq=self.irs + 1, ack=self.iss + 1)
        self.expect_sent(".", seq=self.iss + 2, ack=self.irs + 2)
        self.expect_silence()
        self.expect_state("CLOSING")
        return self

    def time_wait(self) -> Self:
        """FIN-WAIT-2 -> TIME-WAIT: the peer's FIN, which we acknowledge."""
        self.fin_wait_2()
        self.peer_sends("F.", seq=self.irs + 1, ack=self.iss + 2)
        self.expect_sent(".", seq=self.iss + 2, ack=self.irs + 2)
        self.expect_silence()
        self.expect_state("TIME-WAIT")
        return self

    def close_wait(self) -> Self:
        """ESTABLISHED -> CLOSE-WAIT: the peer's FIN, which we acknowledge."""
        self.established()
        self.peer_sends("F.", seq=self.irs + 1, ack=self.iss + 1)
        delay = self.config.delayed_ack
        if self.config.quick_acks and delay is not None:
            self.expect_silence()
            self.advance(delay)  # Linux's ping-pong mode: the FIN's ACK waits for the timer
        self.expect_sent(".", seq=self.iss + 1, ack=self.irs + 2)
        self.expect_silence()
        self.expect_state("CLOSE-WAIT")
        return self

    def last_ack(self) -> Self:
        """CLOSE-WAIT -> LAST-ACK by CLOSE: <SEQ=ISS+1><ACK=IRS+2><CTL=FIN,ACK>."""
        self.close_wait()
        self.close()
        self.expect_sent("F.", seq=self.iss + 1, ack=self.irs + 2)
        self.expect_silence()
        self.expect_state("LAST-ACK")
        return self


#: Builders by the name of the state they reach. "SYN-RECEIVED" is the passive one;
#: "SYN-RECEIVED (active)" comes from a simultaneous open.
BUILDERS = {
    "LISTEN": Tcb.listen,
    "SYN-SENT": Tcb.syn_sent,
    "SYN-RECEIVED": Tcb.syn_received,
    "SYN-RECEIVED (active)": Tcb.syn_received_active,
    "ESTABLISHED": Tcb.established,
    "FIN-WAIT-1": Tcb.fin_wait_1,
    "FIN-WAIT-2": Tcb.fin_wait_2,
    "CLOSE-WAIT": Tcb.close_wait,
    "CLOSING": Tcb.closing,
    "LAST-ACK": Tcb.last_ack,
    "TIME-WAIT": Tcb.time_wait,
}

SYNCHRONIZED = ["ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK",
                "TIME-WAIT"]
#: The states of RFC 9293 §3.10.7.4 ("Other states").
OTHER_STATES = ["SYN-RECEIVED", "SYN-RECEIVED (active)"] + SYNCHRONIZED
#: States that deliver segment text (§3.10.7.4, seventh check).
RECEIVING = ["ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2"]


def at_state(name: str, isns=LOW, **cfg) -> Tcb:
    """A Tcb brought to state ``name`` (a key of BUILDERS) by replaying the exchange."""
    return BUILDERS[name](Tcb(isns, **cfg))


def closed(isns=LOW, **cfg) -> Tcb:
    return Tcb(isns, **cfg)


def listen(isns=LOW, **cfg) -> Tcb:
    return Tcb(isns, **cfg).listen()


def syn_sent(isns=LOW, **cfg) -> Tcb:
    return Tcb(isns, **cfg).syn_sent()


def syn_received(isns=LOW, **cfg) -> Tcb:
    return Tcb(isns, **cfg).syn_received()


def syn_received_active(isns=LOW, **cfg) -> Tcb:
    return Tcb(isns, **cfg).syn_received_active()


def established(isns=LOW, rtt: int = 0, **cfg) -> Tcb:
    return Tcb(isns, **cfg).established(rtt)


def established_passive(isns=LOW, rtt: int = 0, **cfg) -> Tcb:
    return Tcb(isns, **cfg).established_passive(rtt)


def fin_wait_1(isns=LOW, **cfg) -> Tcb:
    return Tcb(isns, **cfg).fin_wait_1()


def fin_wait_2(isns=LOW, **cfg) -> Tcb:
    return Tcb(isns, **cfg).fin_wait_2()


def closing(isns=LOW, **cfg) -> Tcb:
    return Tcb(isns, **cfg).closing()


def time_wait(isns=LOW, **cfg) -> Tcb:
    return Tcb(isns, **cfg).time_wait()


def close_wait(isns=LOW, **cfg) -> Tcb:
    return Tcb(isns, **cfg).close_wait()


def last_ack(isns=LOW, **cfg) -> Tcb:
    return Tcb(isns, **cfg).last_ack()
