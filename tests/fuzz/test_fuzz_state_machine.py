"""A Hypothesis state machine that throws arbitrary, mutated and replayed segments at one
connection in every state, mixed with user calls and the passing of time, and checks after
every step:

* no exception escapes the core except the TcpError a user call may raise;
* data is delivered in order and exactly once: every octet the peer sends carries a value
  fixed by its sequence number, so what RECEIVE returns must be exactly the octets that
  follow IRS, in order, without gaps or repeats, however the segments were cut, mangled,
  reordered or replayed;
* every state change is one RFC 9293 allows (synack.tcp.state.TRANSITIONS);
* memory stays bounded: receive buffer, out-of-order queue and send buffer within their
  limits, no timer in the past after the timers ran.

Each run starts from a state reached by replaying a real exchange (tests/tcp/harness.py).
"""

from __future__ import annotations

from harness import BUILDERS, LOW, WRAP, Tcb
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from synack.tcp.config import TcpConfig
from synack.tcp.errors import TcpError
from synack.tcp.state import TRANSITIONS, State
from synack.timeunits import ms, sec
from synack.trace.events import StateChanged
from synack.wire.seq import Seq
from synack.wire.tcp import (ACK, CWR, ECE, FIN, PSH, RST, SYN, URG, FastOpen, Mss, Nop, Sack, SackPermitted,
                             TcpSegment, Timestamps, UnknownOption, WindowScale)

STATE_OF = {s.value: s for s in State}


def octet(seq: int) -> int:
    """The value the peer's octet at sequence number ``seq`` always has."""
    return ((seq * 2654435761) >> 13) & 0xFF


def payload_at(start: int, n: int) -> bytes:
    return bytes(octet((start + i) & 0xFFFFFFFF) for i in range(n))


FLAGS = st.integers(0, 0x1FF).filter(lambda f: f & (SYN | FIN) != SYN | FIN)
COMMON_FLAGS = st.sampled_from([ACK, ACK | PSH, ACK | FIN, ACK | PSH | FIN, RST, RST | ACK, SYN, SYN | ACK,
                                ACK | URG | PSH, 0, FIN, ACK | ECE, ACK | CWR])
OPTIONS = st.lists(st.one_of(
    st.builds(Mss, st.integers(0, 0xFFFF)), st.builds(WindowScale, st.integers(0, 20)),
    st.just(SackPermitted()), st.just(Nop()),
    st.builds(Timestamps, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
    st.builds(lambda a, n: Sack(((Seq(a), Seq(a + n)),)), st.integers(0, 2**32 - 1), st.integers(0, 3000)),
    st.builds(FastOpen, st.binary(max_size=8)), st.builds(UnknownOption, st.integers(2, 255), st.binary(max_size=4)),
), max_size=3)


class ConnectionFuzz(RuleBasedStateMachine):
    """One TCB against a hostile peer; see the module docstring."""

    @initialize(state=st.sampled_from(sorted(BUILDERS)), isns=st.sampled_from([LOW, WRAP]),
                cfg=st.sampled_from([
                    dict(), dict(rcv_buf=3000), dict(delayed_ack=ms(40)), dict(timestamps=False, sack=False),
                    dict(rcv_buf=1 << 20), dict(nodelay=True, snd_buf=5000), dict(ooo_limit=2000),
                ]))
    def start(self, state, isns, cfg):
        self.t = Tcb(isns, config=TcpConfig(**{"delayed_ack": None, **cfg}))
        BUILDERS[state](self.t)
        self.t.drain()
        self.conn = self.t.conn
        self.seen = len(self.t.recorder.events)
        self.delivered = 0                 # octets RECEIVE returned so far (this incarnation)
        self.irs = int(self.conn.irs)
        self.history: list[TcpSegment] = []

    # ------------------------------------------------------------------ the peer
    def _deliver(self, seg: TcpSegment) -> None:
        self.history.append(seg)
        if len(self.history) > 50:
            del self.history[0]
        self.t.peer_sends(seg.flags, seq=seg.seq, ack=seg.ack, wnd=seg.wnd, data=seg.payload,
                          options=seg.options, urg=seg.urg_ptr)

    def _segment(self, seq: int, flags: int, n: int, ack: int, wnd: int, options=(), urg: int = 0) -> TcpSegment:
        start = seq + (1 if flags & SYN else 0)
        return TcpSegment(80, 5000, Seq(seq & 0xFFFFFFFF), Seq(ack & 0xFFFFFFFF), flags, wnd,
                          payload_at(start, n), tuple(options), urg)

    def _near_ack(self, choice: int) -> int:
        c = self.conn
        return [int(c.snd_una), int(c.snd_nxt), int(c.snd_una) - 1, int(c.snd_nxt) + 1,
                int(c.snd_una) - 70000, int(c.iss), int(c.iss) + 1][choice]

    @rule(off=st.one_of(st.just(0), st.integers(-1500, 3000), st.integers(-3000, 70000)),
          n=st.integers(0, 3000), flags=COMMON_FLAGS, ack=st.integers(0, 6), wnd=st.integers(0, 0xFFFF),
          options=OPTIONS)
    def plausible_segment(self, off, n, flags, ack, wnd, options):
        """Near RCV.NXT, with an ACK near what we sent: what reaches the deep checks."""
        seq = int(self.conn.rcv_nxt) + off
        ts = [o for o in options if type(o) is Timestamps]
        if self.conn.ts_ok and not ts:
            options = list(options) + [Timestamps(self.conn.ts_recent + 1, 0)]
        self._deliver(self._segment(seq, flags, n, self._near_ack(ack), wnd, options))

    @rule(n=st.integers(1, 2000), ahead=st.sampled_from([0, 0, 0, 1, 500, 1460, 3000]))
    def next_data(self, n, ahead):
        """The peer's next data, in order or a little ahead of a hole, acknowledging all."""
        c = self.conn
        opts = (Timestamps(c.ts_recent + 1, 0),) if c.ts_ok else ()
        self._deliver(self._segment(int(c.rcv_nxt) + ahead, ACK | PSH, n, int(c.snd_nxt), 65535, opts))

    @rule(seq=st.integers(0, 2**32 - 1), ack=st.integers(0, 2**32 - 1), flags=FLAGS,
          n=st.integers(0, 200), wnd=st.integers(0, 0xFFFF), options=OPTIONS, urg=st.integers(0, 0xFFFF))
    def arbitrary_segment(self, seq, ack, flags, n, wnd, options, urg):
        self._deliver(self._segment(seq, flags, n, ack, wnd, options, urg))

    @precondition(lambda self: self.history)
    @rule(i=st.integers(0, 49), field=st.sampled_from(["seq", "ack", "flags", "wnd", "len", "urg"]),
          delta=st.integers(-70000, 70000))
    def mutated_segment(self, i, field, delta):
        s = self.history[i % len(self.history)]
        seq, ack, flags, n, wnd, urg = int(s.seq), int(s.ack), s.flags, len(s.payload), s.wnd, s.urg_ptr
        if field == "seq":
            seq += delta
        elif field == "ack":
            ack += delta
        elif field == "flags":
            flags ^= 1 << (abs(delta) % 9)
            if flags & (SYN | FIN) == SYN | FIN:
                flags &= ~FIN
        elif field == "wnd":
            wnd = (wnd + delta) & 0xFFFF
        elif field == "len":
            n = max(0, n + delta % 3000 - 1500)
        else:
            urg = (urg + delta) & 0xFFFF
        self._deliver(self._segment(seq, flags, n, ack, wnd, s.options, urg))

    @precondition(lambda self: self.history)
    @rule(i=st.integers(0, 49))
    def replayed_segment(self, i):
        self._deliver(self.history[i % len(self.history)])

    # ------------------------------------------------------------------ the user and time
    def _user(self, fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except TcpError:
            return None

    @rule(n=st.integers(1, 5000))
    def receive(self, n):
        data = self._user(self.t.receive, n)
        if not data:
            return
        if int(self.conn.irs) != self.irs:                  # a new incarnation (back to LISTEN)
            self.irs, self.delivered = int(self.conn.irs), 0
        expect = payload_at(self.irs + 1 + self.delivered, len(data))
        assert data == expect, f"octets {self.delivered}.. delivered out of order or twice"
        self.delivered += len(data)

    @rule(n=st.integers(0, 3000), urgent=st.booleans())
    def send(self, n, urgent):
        self._user(self.conn.send, bytes(n), self.t.now, urgent)

    @rule(keep=st.booleans())
    def close(self, keep):
        self._user(self.conn.close, self.t.now, keep_receiving=keep)

    @rule()
    def abort(self):
        self._user(self.t.abort)

    @rule(on=st.booleans())
    def keepalive(self, on):
        self._user(self.conn.set_keepalive, on, self.t.now, idle=sec(5), interval=sec(1), count=2)

    @rule(reason=st.sampled_from(["port-unreachable", "host-unreachable", "frag-needed", "ttl-exceeded",
                                  "protocol-unreachable"]),
          hard=st.booleans(), mtu=st.one_of(st.none(), st.integers(0, 2000)))
    def icmp_error(self, reason, hard, mtu):
        """An ICMP error the host matched to this connection (RFC 9293 §3.9.2.2)."""
        self.conn.icmp_received(reason, hard, self.t.now, mtu=mtu)

    @rule(d=st.sampled_from([0, ms(1), ms(40), ms(200), sec(1), sec(7), sec(70), sec(400)]))
    def advance(self, d):
        self.t.advance(d)
        dl = self.conn.next_deadline()
        assert dl is None or dl > self.t.now, "a timer is left in the past"

    # ------------------------------------------------------------------ invariants
    @invariant()
    def transitions_are_legal(self):
        if not hasattr(self, "t"):
            return
        events = self.t.recorder.events
        for ev in events[self.seen:]:
            if isinstance(ev, StateChanged):
                pair = (STATE_OF[ev.old], STATE_OF[ev.new])
                assert pair in TRANSITIONS, f"illegal transition {ev.old} -> {ev.new} ({ev.cause})"
        self.seen = len(events)
        self.t.drain()

    @invariant()
    def memory_is_bounded(self):
        if not hasattr(self, "t"):
            return
        c = self.conn
        cfg = c.config
        assert c.readable <= cfg.rcv_buf
        assert len(c.snd.buf) <= cfg.snd_buf
        if c.rcv.ooo is not None:
            limit = cfg.ooo_limit if cfg.ooo_limit is not None else cfg.rcv_buf
            assert c.rcv.ooo.held <= limit
        assert len(c.out) + len(self.t.drain()) < 2000    # no step makes a storm of segments


ConnectionFuzz.TestCase.settings = settings(max_examples=70, stateful_step_count=30, deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.filter_too_much])
test_connection_fuzz = ConnectionFuzz.TestCase
