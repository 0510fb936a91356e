"""One TCP connection as a sans-IO state machine: RFC 9293 §3.10 event processing.

Inputs are the §3.10 events, each taking ``now`` (integer nanoseconds): the user calls
``open``, ``send``, ``receive``, ``close``, ``abort``, ``status``; the arrival of a segment
(``segment_arrives``); and the timeouts (``on_timeout`` when ``next_deadline()`` has come).
Outputs are segments appended to ``out`` as ``(TcpSegment, cause)`` pairs, where ``cause``
names why a retransmission happened (``"rto"``, ``"fast-retransmit"``, ...) or is ``None``.

Nothing here touches sockets, clocks or randomness: the ISN comes from an injected
callable, time from the caller. Errors the peer causes become RSTs, ACKs or traced drops;
errors of the local user raise :mod:`synack.tcp.errors` exceptions.

Sequence numbers are :class:`~synack.wire.seq.Seq` values compared only modulo 2**32;
buffers work on stream positions derived from them.
"""

from __future__ import annotations

from typing import Callable, Optional

from ..trace.events import (
    NULL_TRACER,
    CongestionChanged,
    ConnectionError_,
    RttSample,
    SegmentDropped,
    StateChanged,
    TimerArmed,
    TimerCancelled,
    TimerFired,
    Tracer,
)
from ..wire.seq import HALF, MASK, Seq
from ..wire.tcp import (
    ACK, CWR, ECE, FIN, PSH, RST, SYN, URG, FastOpen, Mss, Nop, Sack, SackPermitted, TcpSegment,
    Timestamps, WindowScale,
)
from . import cc as cc_registry
from . import fastopen as _fastopen
from . import keepalive as _keepalive
from . import timestamps as _ts
from .config import TcpConfig
from .errors import (
    ConnectionAborted,
    ConnectionClosing,
    ConnectionDoesNotExist,
    ConnectionExists,
    ConnectionRefused,
    ConnectionReset,
    ConnectionTimeout,
    TcpError,
    Unreachable,
)
from .reassembly import Reassembly
from .recovery import OPEN as _OPEN, RECOVERY as _RECOVERY, Recovery
from .rtt import RttEstimator
from .sack import SackReceiver
from .state import State

# Companion mechanisms live in their own modules; the connection keeps one lazily
# allocated record of each and calls into them: keep-alive (RFC 9293 §3.8.4, ``_ka``),
# Fast Open (RFC 7413, ``_tfo``), SACK and D-SACK receiving (RFC 2018, RFC 2883,
# ``_sackr``) and loss recovery on the sending side (RFC 6675, RFC 8985, RFC 9937, ``_lr``);
# window scaling, timestamps (RFC 7323) and ECN (RFC 3168) are a few negotiated flags.

_NOP = Nop()
_SACK_PERM = SackPermitted()
_tuple_new = tuple.__new__
_WSCALE: dict[int, WindowScale] = {}  # rcv_buf -> its WindowScale option


def _wscale_option(rcv_buf: int) -> WindowScale:
    """The Window Scale option for a receive buffer (RFC 7323 §2.3), made once per size."""
    o = _WSCALE.get(rcv_buf)
    if o is None:
        if len(_WSCALE) >= 64:
            _WSCALE.clear()
        o = _WSCALE[rcv_buf] = WindowScale(_ts.shift_for(rcv_buf))
    return o
_TS_TICK = _ts.TS_TICK
#: RFC 3168 §5: the ECN field's codepoints (ECT(0) is what a data sender sets).
ECT0, CE = 0b10, 0b11

CLOSED = State.CLOSED
LISTEN = State.LISTEN
SYN_SENT = State.SYN_SENT
SYN_RECEIVED = State.SYN_RECEIVED
ESTABLISHED = State.ESTABLISHED
FIN_WAIT_1 = State.FIN_WAIT_1
FIN_WAIT_2 = State.FIN_WAIT_2
CLOSE_WAIT = State.CLOSE_WAIT
CLOSING = State.CLOSING
LAST_ACK = State.LAST_ACK
TIME_WAIT = State.TIME_WAIT

#: States in which data and FIN may be (re)transmitted once the SYN is acknowledged.
_SENDING = frozenset({ESTABLISHED, CLOSE_WAIT, FIN_WAIT_1, CLOSING, LAST_ACK})
#: States in which arriving segment text is delivered (RFC 9293 §3.10.7.4, seventh).
_RECEIVING = frozenset({ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2})

_DEFAULT_SND_MSS_V4 = 536  # RFC 9293 §3.7.1 MUST-15
_DEFAULT_SND_MSS_V6 = 1220

IsnSource = Callable[[str, int, str, int, int], Seq]

_EMPTY = b""

# Hot-path arithmetic on Seq values through int's own slots: the result of
# ``((_isub(a, b) + HALF) & MASK) - HALF`` is the signed distance a - b modulo 2**32 (what
# ``Seq.__sub__`` computes), and ``_seq(_iadd(a, n) & MASK)`` is ``a + n``, without a
# Python-level call per operation. Comparisons still go through the Seq predicates.
_isub = int.__sub__
_iadd = int.__add__
_int_new = int.__new__


def _seq(v: int) -> Seq:
    return _int_new(Seq, v)


def reset_for(seg: TcpSegment) -> Optional[TcpSegment]:
    """The reset RFC 9293 §3.10.7.1 sends for a segment that matches no connection:
    <SEQ=SEG.ACK><CTL=RST> if it had ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>;
    None for an incoming RST, which is never answered."""
    f = seg.flags
    if f & RST:
        return None
    if f & ACK:
        return TcpSegment(seg.dst_port, seg.src_port, seg.ack, Seq(0), RST, 0)
    return TcpSegment(seg.dst_port, seg.src_port, Seq(0), seg.seq + seg.len, RST | ACK, 0)


class Connection:
    """A TCB and the procedures of RFC 9293 §3.10 that act on it."""

    __slots__ = (
        # identity
        "local_addr", "local_port", "remote_addr", "remote_port", "cid", "config", "tr", "isn",
        "state", "passive", "ipv6",
        # RFC 9293 §3.3.1 send sequence variables
        "snd_una",   # SND.UNA: oldest unacknowledged sequence number
        "snd_nxt",   # SND.NXT: next sequence number to be sent (the highest ever sent + 1)
        "snd_wnd",   # SND.WND: send window offered by the peer
        "snd_up",    # SND.UP: send urgent pointer
        "snd_wl1",   # SND.WL1: segment sequence number used for the last window update
        "snd_wl2",   # SND.WL2: segment acknowledgment number used for the last window update
        "iss",       # ISS: initial send sequence number
        "max_snd_wnd",  # MAX.SND.WND: largest window the peer ever offered (RFC 5961 §5)
        # RFC 9293 §3.3.1 receive sequence variables
        "rcv_nxt",   # RCV.NXT: next sequence number expected
        "rcv_up",    # RCV.UP: receive urgent pointer
        "irs",       # IRS: initial receive sequence number
        "rcv_adv",   # RCV.NXT + RCV.WND as last advertised: the right edge we promised
        # segment sizes (RFC 9293 §3.7.1)
        "snd_mss", "rcv_mss", "mss_limit",
        # send buffer: unacknowledged and unsent data; _sbuf[0] has sequence number _sbuf_seq
        "_sbuf", "_sbuf_seq", "_fin_queued", "_rtx_nxt", "_rtx_cause",
        # receive side
        "_rbuf", "_rcv_abs", "_ooo", "_ooo_fin", "fin_received", "_unacked", "_ack_now",
        # retransmission (RFC 6298) and congestion control (RFC 5681/6582)
        "rtt", "cc", "_rtt_seq", "_rtt_time", "_rtx_since", "_retries", "_dupacks", "_recover",
        # timers: absolute deadlines in ns, or None
        "_rto_at", "_tw_at", "_dack_at", "_persist_at", "_persist_backoff",
        # outputs and results
        "out", "error", "soft_error", "retransmits", "segs_in", "segs_out",
        # edges, each None/0 until used:
        "_ka",         # keep-alive record (tcp/keepalive.py), RFC 9293 §3.8.4
        "_tfo",        # Fast Open record (tcp/fastopen.py), RFC 7413
        "_urg",        # urgent flags: 1 = SND.UP is live (send), 2 = RCV.UP is valid (receive)
        "_rd_closed",  # the user closed for reading: data arriving now is lost (SHLD-3)
        "challenge",   # the host's RFC 5961 §7 challenge-ACK limiter (tcp/rfc5961.py), or None
        "icmp_error",  # the last soft ICMP error (an Unreachable), reported if R2 is reached
        # flow control and loss recovery:
        "ws_ok", "snd_wscale", "rcv_wscale",  # RFC 7323 §2: negotiated; Snd.Wind.Shift, Rcv.Wind.Shift
        "ts_ok", "ts_recent", "ts_recent_age",  # RFC 7323 §3-5: negotiated; TS.Recent and when it was set
        "last_ack_sent",  # RFC 7323 §4.3 Last.ACK.sent: the ACK field of our last segment
        "_ts_off",     # TSval offset of this connection (tcp/timestamps.py)
        "_now",        # time of the event being processed: the TSval clock reads it
        "sack_ok", "_sackr",  # RFC 2018 negotiated; receiver's SACK blocks (tcp/sack.py), or None
        "_lr", "_lr_at", "_una_abs",  # SACK recovery (tcp/recovery.py) or None; its timer; SND.UNA as a stream offset
        "ecn_ok", "_ecn", "_ecn_rec",  # RFC 3168 negotiated; 1 = echo ECE, 2 = send CWR; SND.NXT at the last reduction
    )

    def __init__(
        self,
        local_addr: str,
        local_port: int,
        remote_addr: str,
        remote_port: int,
        *,
        config: Optional[TcpConfig] = None,
        isn: Optional[IsnSource] = None,
        tracer: Tracer = NULL_TRACER,
        mss_limit: Optional[int] = None,
    ) -> None:
        self.local_addr = local_addr
        self.local_port = local_port
        self.remote_addr = remote_addr
        self.remote_port = remote_port
        self.cid = (local_addr, local_port, remote_addr, remote_port)
        self.config = config if config is not None else TcpConfig()
        self.tr = tracer
        self.isn = isn
        self.state = CLOSED
        self.passive = False
        self.ipv6 = ":" in local_addr
        zero = Seq(0)
        self.snd_una = self.snd_nxt = self.snd_wl1 = self.snd_wl2 = self.iss = self.snd_up = zero
        self.rcv_nxt = self.rcv_up = self.irs = self.rcv_adv = zero
        self.snd_wnd = 0
        self.max_snd_wnd = 0
        # MMS_S - 20 for the fixed TCP header: 1460 on a 1500-byte IPv4 link (MUST-16/67).
        self.mss_limit = mss_limit if mss_limit is not None else (1440 if self.ipv6 else 1460)
        self.rcv_mss = min(self.config.mss or self.mss_limit, self.mss_limit)
        self.snd_mss = _DEFAULT_SND_MSS_V6 if self.ipv6 else _DEFAULT_SND_MSS_V4
        self._sbuf = bytearray()
        self._sbuf_seq = zero
        self._fin_queued = False
        self._rtx_nxt: Optional[Seq] = None
        self._rtx_cause: Optional[str] = None
        self._rbuf = bytearray()
        self._rcv_abs = 0
        self._ooo: Optional[Reassembly] = None
        self._ooo_fin: Optional[int] = None
        self.fin_received = False
        self._unacked = 0
        self._ack_now = False
        cfg = self.config
        self.rtt = RttEstimator(initial_rto=cfg.initial_rto, min_rto=cfg.min_rto, max_rto=cfg.max_rto)
        self.cc = cc_registry.create(cfg.congestion, self.snd_mss, cfg.initial_window)
        self._rtt_seq: Optional[Seq] = None
        self._rtt_time = 0
        self._rtx_since: Optional[int] = None
        self._retries = 0
        self._dupacks = 0
        self._recover: Optional[Seq] = None
        self._rto_at: Optional[int] = None
        self._tw_at: Optional[int] = None
        self._dack_at: Optional[int] = None
        self._persist_at: Optional[int] = None
        self._persist_backoff = 0
        self.out: list = []
        self.error: Optional[TcpError] = None
        self.soft_error: Optional[str] = None
        self.retransmits = 0
        self.segs_in = 0
        self.segs_out = 0
        self._ka = None
        self._tfo = None
        self._urg = 0
        self._rd_closed = False
        self.challenge = None
        self.icmp_error: Optional[Unreachable] = None
        # Nothing is negotiated until the peer's SYN or SYN,ACK says so (_negotiate).
        self.ws_ok = self.ts_ok = self.sack_ok = self.ecn_ok = False
        self.snd_wscale = self.rcv_wscale = 0
        self.ts_recent = self.ts_recent_age = self._ts_off = self._now = 0
        self.last_ack_sent = zero
        self._sackr: Optional[SackReceiver] = None
        self._lr: Optional[Recovery] = None
        self._lr_at: Optional[int] = None
        self._una_abs = 0
        self._ecn = 0
        self._ecn_rec: Optional[Seq] = None

    def __repr__(self) -> str:
        return (f"<Connection {self.local_addr}:{self.local_port} -> "
                f"{self.remote_addr}:{self.remote_port} {self.state}>")

    # ------------------------------------------------------------------ helpers
    @property
    def rcv_wnd(self) -> int:
        """RCV.WND: what is left of the window we last advertised."""
        w = ((_isub(self.rcv_adv, self.rcv_nxt) + HALF) & MASK) - HALF
        return w if w > 0 else 0

    @property
    def eff_snd_mss(self) -> int:
        """Eff.snd.MSS (RFC 9293 §3.7.1): the data a full-sized segment carries, SendMSS
        (``snd_mss``) less the options on every segment (12 octets with timestamps)."""
        return self._eff_mss()

    @property
    def flight_size(self) -> int:
        """FlightSize (RFC 5681 §2): octets sent but not yet acknowledged."""
        return self.snd_nxt - self.snd_una

    @property
    def readable(self) -> int:
        """Octets the user can RECEIVE now."""
        return len(self._rbuf)

    @property
    def at_eof(self) -> bool:
        """The peer's FIN has arrived and every octet before it has been read."""
        return self.fin_received and not self._rbuf

    @property
    def send_space(self) -> int:
        """How many more octets SEND accepts now."""
        if self._fin_queued:
            return 0
        return max(self.config.snd_buf - len(self._sbuf), 0)

    @property
    def unsent(self) -> int:
        """Octets SEND accepted that have not been transmitted yet."""
        return len(self._sbuf) - max(self.snd_nxt - self._sbuf_seq, 0)

    @property
    def all_acked(self) -> bool:
        """Everything sent and queued, FIN included, has been acknowledged."""
        return not self._sbuf and self.snd_una == self.snd_nxt

    @property
    def fin_acked(self) -> bool:
        """Our FIN was sent and acknowledged."""
        return self._fin_queued and self.snd_una == self._fin_seq() + 1

    def _fin_seq(self) -> Seq:
        return self._sbuf_seq + len(self._sbuf)

    # -- urgent data, receive side (RFC 9293 §3.8.5 MUST-30..33, MUST-62) --
    @property
    def read_offset(self) -> int:
        """Stream offset (octets from the start of the peer's data) of the next octet
        RECEIVE returns."""
        return self._rcv_abs - len(self._rbuf)

    @property
    def urgent_mark(self) -> Optional[int]:
        """Stream offset of the octet *following* the urgent data (RCV.UP, MUST-62), or
        None if no urgent pointer has arrived."""
        if not self._urg & 2:
            return None
        nxt = self.rcv_nxt - 1 if self.fin_received else self.rcv_nxt  # data-only RCV.NXT
        return self._rcv_abs + (self.rcv_up - nxt)

    @property
    def urgent_remaining(self) -> int:
        """MUST-33: how many octets of urgent data the user has still to read (counting
        those that have not arrived yet); 0 when none."""
        mark = self.urgent_mark
        if mark is None:
            return 0
        left = mark - self.read_offset
        return left if left > 0 else 0

    def urgent_octet(self) -> Optional[int]:
        """The last octet of urgent data (the one before RCV.UP) if it has arrived and has
        not been read yet, else None: what a BSD socket reads with MSG_OOB."""
        mark = self.urgent_mark
        if mark is None:
            return None
        i = mark - 1 - self.read_offset
        if 0 <= i < len(self._rbuf):
            return self._rbuf[i]
        return None

    def _set_state(self, new: State, now: int, cause: str, rule: str = "") -> None:
        old = self.state
        self.state = new
        if new is ESTABLISHED and self.retransmits and self.rtt.srtt is None:
            # RFC 6298 (5.7): the SYN timed out, so data starts with an RTO of 3 s.
            self.rtt.after_syn_timeout()
        if self.tr.on:
            self.tr.emit(StateChanged(now, self.tr.host, self.cid, old.value, new.value, cause, rule))
        if new is ESTABLISHED and self.config.keepalive:
            _keepalive.start(self, now)  # RFC 9293 §3.8.4: idle time counts from here

    def _fail(self, err: TcpError, now: int, cause: str, rule: str) -> None:
        """Record an asynchronous error for the user and enter CLOSED (delete the TCB)."""
        if self.icmp_error is not None and type(err) is ConnectionTimeout:
            # A soft ICMP error explains the timeout: report it instead, as Linux's
            # tcp_write_err does (sk_err_soft ?: ETIMEDOUT); RFC 9293 §3.9.2.2 SHLD-25.
            err = self.icmp_error
        self.error = err
        if self.tr.on:
            self.tr.emit(ConnectionError_(now, self.tr.host, self.cid, err.code, str(err)))
        self._enter_closed(now, cause, rule)

    def _enter_closed(self, now: int, cause: str, rule: str) -> None:
        self._cancel_all(now)
        self._sbuf.clear()
        self._ooo = None
        self._set_state(CLOSED, now, cause, rule)

    def _segment(self, seq: Seq, ack: Optional[Seq], flags: int, payload: bytes = _EMPTY,
                 options: tuple = ()) -> TcpSegment:
        if flags & SYN:
            # RFC 7323 §2.2: "The window field in a segment where the SYN bit is set
            # MUST NOT be scaled". RFC 3168 §6.1.1: the ECN-setup bits.
            wnd = self._window_to_advertise()
            if wnd > 65535:
                wnd = 65535
            flags |= self._syn_ecn_bits(flags)
        elif flags & ACK:
            wnd = self._window_to_advertise()
            if self.rcv_wscale:
                wnd = self._scaled_window(wnd)
            elif wnd > 65535:
                wnd = 65535
            if self._sackr is not None:
                options = self._ack_options()  # RFC 7323 §3.2 TSopt, RFC 2018 SACK blocks
            elif self.ts_ok:
                options = (_NOP, _NOP, _tuple_new(Timestamps, (  # (the common case, inline)
                    (self._now // _TS_TICK + self._ts_off) & MASK, self.ts_recent)))
            if self._ecn & 1:
                flags |= ECE  # RFC 3168 §6.1.3: echo congestion until the sender's CWR
        else:
            wnd = 0
        if self._urg & 1 and flags & ACK:
            # Urgent mode (RFC 9293 §3.8.5 MUST-30/62): URG and the offset of the octet
            # following the urgent data, on every segment that starts before SND.UP.
            up = ((_isub(self.snd_up, seq) + HALF) & MASK) - HALF
            if up > 0:
                return TcpSegment(self.local_port, self.remote_port, seq,
                                  ack if ack is not None else Seq(0), flags | URG, wnd, payload,
                                  options, up if up <= 0xFFFF else 0xFFFF)
        return TcpSegment(self.local_port, self.remote_port, seq, ack if ack is not None else Seq(0),
                          flags, wnd, payload, options)

    def _emit(self, seg: TcpSegment, now: int, cause: Optional[str] = None) -> None:
        """Queue ``seg`` for transmission; any segment with ACK carries our receive state."""
        self.out.append((seg, cause))
        self.segs_out += 1
        if seg.flags & ACK:
            self.last_ack_sent = seg.ack  # RFC 7323 §4.3 Last.ACK.sent
            self._ack_now = False
            self._unacked = 0
            if self._dack_at is not None:
                self._cancel("delayed-ack", now)

    def _send_ack(self, now: int) -> None:
        """<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>."""
        self._emit(self._segment(self.snd_nxt, self.rcv_nxt, ACK), now)

    def _send_rst(self, seq: Seq, now: int, ack: Optional[Seq] = None) -> None:
        flags = RST | ACK if ack is not None else RST
        self._emit(TcpSegment(self.local_port, self.remote_port, seq, ack if ack is not None else Seq(0),
                              flags, 0), now)

    def _window_to_advertise(self) -> int:
        """RCV.WND to offer, with receiver-side SWS avoidance (RFC 9293 §3.8.6.2.2 MUST-39).

        The right edge moves only when it can move by at least min(RCV.BUFF/2, Eff.snd.MSS),
        and it never moves left (SHLD-14).
        """
        buf = self.config.rcv_buf
        free = buf - len(self._rbuf)
        if free < 0:
            free = 0
        elif free > 0xFFFF << self.rcv_wscale:
            free = 0xFFFF << self.rcv_wscale  # the most the 16-bit field can offer (RFC 7323 §2)
        rn = self.rcv_nxt
        adv = self.rcv_adv
        new_right = _iadd(rn, free) & MASK
        if ((new_right - adv + HALF) & MASK) - HALF >= min(buf >> 1, self.rcv_mss):
            self.rcv_adv = adv = _int_new(Seq, new_right)
        w = ((_isub(adv, rn) + HALF) & MASK) - HALF
        return w if w > 0 else 0

    # ------------------------------------------------------------------ timers
    def _arm(self, name: str, at: int, now: int, backoff: int = 0) -> None:
        if name == "rto":
            self._rto_at = at
        elif name == "time-wait":
            self._tw_at = at
        elif name == "delayed-ack":
            self._dack_at = at
        elif name == "tlp" or name == "rack":
            self._lr_at = at  # RFC 8985 §7.2 PTO or §6.2 reordering timer (one slot)
            self._lr.timer = name
        else:
            self._persist_at = at  # "persist", or "sws-override" (RFC 9293 §3.8.6.2.1 (4))
        if self.tr.on:
            self.tr.emit(TimerArmed(now, self.tr.host, self.cid, name, at, backoff))

    def _cancel(self, name: str, now: int) -> None:
        if name == "rto":
            was, self._rto_at = self._rto_at, None
        elif name == "time-wait":
            was, self._tw_at = self._tw_at, None
        elif name == "delayed-ack":
            was, self._dack_at = self._dack_at, None
        elif name == "tlp" or name == "rack":
            was, self._lr_at = self._lr_at, None
        else:
            was, self._persist_at = self._persist_at, None
        if was is not None and self.tr.on:
            self.tr.emit(TimerCancelled(now, self.tr.host, self.cid, name))

    def _cancel_all(self, now: int) -> None:
        for name in ("rto", "time-wait", "delayed-ack", "persist"):
            self._cancel(name, now)
        if self._lr_at is not None:
            self._cancel(self._lr.timer, now)
        if self._ka is not None:
            _keepalive.stop(self, now)

    def _arm_rto(self, now: int) -> None:
        """(Re)start the retransmission timer (RFC 6298 (5.1)/(5.3)), capped by R2."""
        at = now + self.rtt.timeout
        r2 = self.config.r2_syn if self.state in (SYN_SENT, SYN_RECEIVED) else self.config.r2
        if r2 is not None and self._rtx_since is not None:
            at = min(at, self._rtx_since + r2)
        self._arm("rto", at, now, self.rtt.backoff)

    def next_deadline(self) -> Optional[int]:
        """The earliest pending timer, or None."""
        d = self._rto_at
        for t in (self._tw_at, self._dack_at, self._persist_at, self._lr_at):
            if t is not None and (d is None or t < d):
                d = t
        ka = self._ka
        if ka is not None and ka.at is not None and (d is None or ka.at < d):
            d = ka.at  # the keep-alive timer (RFC 9293 §3.8.4)
        return d

    def on_timeout(self, now: int) -> None:
        """RFC 9293 §3.10.8: run whichever timers are due at ``now``."""
        self._now = now
        if self._tw_at is not None and self._tw_at <= now:
            self._tw_at = None
            if self.tr.on:
                self.tr.emit(TimerFired(now, self.tr.host, self.cid, "time-wait"))
            # TIME-WAIT timeout: delete the TCB (RFC 9293 §3.10.8).
            self._enter_closed(now, "2*MSL elapsed", "RFC 9293 §3.10.8")
            return
        if self._rto_at is not None and self._rto_at <= now:
            self._rto_at = None
            if self.tr.on:
                self.tr.emit(TimerFired(now, self.tr.host, self.cid, "rto", self.rtt.backoff))
            self._retransmission_timeout(now)
        if self._lr_at is not None and self._lr_at <= now:
            # RFC 8985: the tail loss probe (§7.3) or the RACK reordering timer (§6.2).
            self._lr_at = None
            kind = self._lr.timer
            if self.tr.on:
                self.tr.emit(TimerFired(now, self.tr.host, self.cid, kind))
            if kind == "tlp":
                self._tlp_timeout(now)
            else:
                self._rack_timeout(now)
        if self._persist_at is not None and self._persist_at <= now:
            self._persist_at = None
            if self.tr.on:
                name = "persist" if self.snd_wnd == 0 else "sws-override"
                self.tr.emit(TimerFired(now, self.tr.host, self.cid, name, self._persist_backoff))
            self._persist_timeout(now)
        if self._dack_at is not None and self._dack_at <= now:
            self._dack_at = None
            if self.tr.on:
                self.tr.emit(TimerFired(now, self.tr.host, self.cid, "delayed-ack"))
            if self.state.synchronized and self.state is not TIME_WAIT:
                self._send_ack(now)
        ka = self._ka
        if ka is not None and ka.at is not None and ka.at <= now and self.state is not CLOSED:
            _keepalive.on_timer(self, now)  # RFC 9293 §3.8.4 keep-alive probe or give up

    def _retransmission_timeout(self, now: int) -> None:
        """RFC 6298 (5.4)-(5.7) and RFC 9293 §3.8.3: back off, retransmit the earliest
        unacknowledged segment, or give up once R2 has passed."""
        st = self.state
        if self.snd_una == self.snd_nxt or st in (CLOSED, LISTEN, TIME_WAIT):
            return
        since = self._rtx_since if self._rtx_since is not None else now
        r2 = self.config.r2_syn if st in (SYN_SENT, SYN_RECEIVED) else self.config.r2
        if r2 is not None and now - since >= r2:
            # MUST-20: close the connection at R2 (MUST-22: for a SYN too).
            self._fail(ConnectionTimeout("connection timed out: retransmissions reached R2"),
                       now, "R2 reached", "RFC 9293 §3.8.3 MUST-20")
            return
        limit = self.config.synack_retries
        if st is SYN_RECEIVED and self.passive and limit is not None and self._retries >= limit:
            # A half-open passive connection gets `synack_retries` SYN,ACK retransmissions
            # (Linux tcp_synack_retries, RFC 4987 §3.2: bound what a SYN flood can hold).
            self._abandon_passive(now, "SYN,ACK retransmissions exhausted",
                                  ConnectionTimeout("connection timed out: no ACK of our SYN,ACK"))
            return
        self._retries += 1
        if self._retries == self.config.r1:
            # MUST-20 / SHLD-9: at R1, report the delivery problem (negative advice).
            self.soft_error = f"R1 reached: {self._retries} retransmissions without acknowledgment"
        self.rtt.back_off()                       # RFC 6298 (5.5)
        self._rtt_seq = None                      # Karn's algorithm (RFC 6298 §3)
        if st not in (SYN_SENT, SYN_RECEIVED):
            flight = self.flight_size
            self.cc.on_rto(flight, now)           # RFC 5681 §3.1 (4): loss window
            self._recover = self.snd_nxt          # RFC 6582 §3.2 step 1 after a timeout
            self._dupacks = 0
            self._trace_cc(now, "rto")
        lr = self._lr
        if lr is not None and st not in (SYN_SENT, SYN_RECEIVED):
            # RFC 6675 §5.1, RFC 8985 §6.3: every segment not SACKed is now lost; they go
            # out again, head first, as slow start allows, and what the peer holds is not
            # sent again. No fast recovery begins before RecoveryPoint (= SND.NXT).
            if self._lr_at is not None:
                self._cancel(lr.timer, now)
            lr.enter_loss(self._abs(self.snd_nxt), now)
        self._retransmit_head(now, "rto")
        if lr is not None:
            self._rtx_nxt = None  # the scoreboard, not go-back-N, says what follows
        # Go back: everything after the head is resent as the window allows (RFC 5681 §3.1).
        self._arm_rto(now)

    def _retransmit_head(self, now: int, cause: str) -> None:
        """Retransmit the segment at SND.UNA (the SYN, SYN-ACK, data or FIN)."""
        self.retransmits += 1
        st = self.state
        una = self.snd_una
        if una == self.iss and st in (SYN_SENT, SYN_RECEIVED, FIN_WAIT_1):
            # Our SYN is not acknowledged yet: send it again.
            if st is SYN_SENT:
                if self._tfo is not None:
                    _fastopen.client_syn_timeout(self, now)  # RFC 7413: again, without data
                self._emit(self._segment(self.iss, None, SYN, options=self._syn_options()), now, cause)
            else:
                self._emit(self._segment(self.iss, self.rcv_nxt, SYN | ACK,
                                         options=self._syn_options()), now, cause)
            return
        off = una - self._sbuf_seq
        # Only octets already sent: a retransmission never reaches past SND.NXT.
        n = min(len(self._sbuf) - off, self._eff_mss(), self.snd_nxt - una)
        flags = ACK
        if n > 0:
            payload = bytes(self._sbuf[off:off + n])
            if off + n == len(self._sbuf):
                flags |= PSH
                if self._fin_queued and self.snd_nxt.gt(self._fin_seq()):
                    flags |= FIN
        else:
            payload = _EMPTY
            if not (self._fin_queued and self.snd_nxt.gt(self._fin_seq())):
                return
            flags |= FIN
        seg = self._segment(una, self.rcv_nxt, flags, payload)
        self._emit(seg, now, cause)
        if self._lr is not None:
            self._lr.resent(self._una_abs, self._una_abs + seg.len, now)
        nxt = una + seg.len
        if nxt.lt(self.snd_nxt):
            self._rtx_nxt = nxt
            self._rtx_cause = cause
        else:
            self._rtx_nxt = None

    def _persist_timeout(self, now: int) -> None:
        """Zero-window probe (RFC 9293 §3.8.6.1 MUST-35/36): a segment the peer must answer
        with an ACK carrying its current window. Probes continue, backing off (SHLD-30), for
        as long as the peer answers (MUST-37); once none has been answered for R2, the
        connection times out as for unanswered retransmissions (RFC 9293 §3.8.3, as Linux's
        tcp_probe_timer does). With a non-zero window the same timer is the sender's SWS
        override timeout (RFC 9293 §3.8.6.2.1 (4), MUST-38)."""
        st = self.state
        if st in _SENDING and self.snd_wnd > 0 and self.unsent and self.snd_una == self.snd_nxt:
            # The override timeout: send what the (small) window allows now.
            self._persist_backoff = 0
            self._send_data(now, force=True)
            return
        if st not in _SENDING or self.snd_wnd > 0 or not self.unsent:
            self._persist_backoff = 0
            return
        r2 = self.config.r2
        if self._rtx_since is None:
            self._rtx_since = now  # the first probe not answered yet (_ack_field clears it)
        elif r2 is not None and now - self._rtx_since >= r2:
            self._fail(ConnectionTimeout("connection timed out: zero-window probes unanswered"),
                       now, "R2 reached (window probes)", "RFC 9293 §3.8.6.1 MUST-37")
            return
        # One octet of sequence space below SND.UNA, no data: out of window for the peer,
        # so it answers with <SEQ=..><ACK=RCV.NXT><WND=..> (the way Linux probes). This is
        # the "retransmit" form of RFC 9293 §3.8.6.1's probe; the other form, one octet of
        # new data, would put data beyond a zero window into flight, where the
        # retransmission timer and its R2 limit would take over from the persist timer
        # (MUST-37 asks that probes the peer answers keep the connection open).
        self._emit(self._segment(self.snd_una - 1, self.rcv_nxt, ACK), now, "zero-window-probe")
        self._persist_backoff += 1
        timeout = min(self.rtt.timeout << self._persist_backoff, self.config.max_rto)
        self._arm("persist", now + timeout, now, self._persist_backoff)

    def _trace_cc(self, now: int, cause: str) -> None:
        if self.tr.on:
            self.tr.emit(CongestionChanged(now, self.tr.host, self.cid, self.cc.cwnd, self.cc.ssthresh,
                                           self.flight_size, self.snd_wnd, cause))

    # ------------------------------------------------------------------ user calls
    def _syn_options(self) -> tuple:
        # RFC 9293 §3.7.1 MUST-14 / SHLD-5: announce our MSS in every SYN; then SACK,
        # timestamps and window scale as this connection offers or accepts them.
        opts = (Mss(self.rcv_mss),) + self._syn_offer()
        tfo = self._tfo
        if tfo is not None and (tfo.cookie or not self.passive):
            # RFC 7413 §4.1.1: a client's cookie (empty: a request), a server's new cookie.
            opts += (FastOpen(tfo.cookie),)
        return opts

    def open(self, now: int, active: bool = True, trace: bool = True) -> None:
        """OPEN call (RFC 9293 §3.10.1): active sends a SYN; passive enters LISTEN.

        ``trace=False`` enters LISTEN silently: a host uses it for the connection record it
        makes for each SYN that reaches a listening socket.
        """
        if not trace and not active and self.state is CLOSED:
            self.passive = True
            self.state = LISTEN
            return
        if self.state is not CLOSED:
            if self.state is LISTEN and active:
                self._active_open(now)
                return
            raise ConnectionExists("connection already exists")
        if active:
            self._active_open(now)
        else:
            self.passive = True
            self._set_state(LISTEN, now, "passive OPEN", "RFC 9293 §3.10.1")

    def _new_iss(self, now: int) -> Seq:
        if self.isn is None:
            raise ValueError("Connection needs an isn source to open")
        return Seq(self.isn(self.local_addr, self.local_port, self.remote_addr, self.remote_port, now))

    def _active_open(self, now: int) -> None:
        self._now = now
        self.iss = self._new_iss(now)
        self.snd_una = self.iss
        self.snd_nxt = self.iss + 1
        self._sbuf_seq = self.iss + 1
        self.passive = False
        self._rtx_since = now
        payload = _EMPTY
        if self._tfo is not None:
            # RFC 7413 §4.2.1: with a cookie, up to one MSS of the queued data rides in the SYN.
            tfo = self._tfo
            payload = _fastopen.client_syn_payload(
                tfo, self._sbuf, (tfo.cache.get(tfo.addr).mss if tfo.cache.get(tfo.addr) else None)
                or self.snd_mss, now)
            self.snd_nxt = self.iss + 1 + len(payload)
        self._emit(self._segment(self.iss, None, SYN, payload, options=self._syn_options()), now)
        # (with SYN data, the RTT is timed from the SYN alone: its ACK may cover only the SYN)
        self._rtt_seq, self._rtt_time = self.iss + 1, now
        self._set_state(SYN_SENT, now, "active OPEN", "RFC 9293 §3.10.1")
        self._arm_rto(now)

    def send(self, data: bytes, now: int, urgent: bool = False) -> int:
        """SEND call (RFC 9293 §3.10.2). Returns how many octets were accepted (the send
        buffer may take fewer than offered). ``urgent`` is the call's URGENT flag: SND.UP
        moves to just after the accepted octets, and the segments that start before it
        carry URG (RFC 9293 §3.8.5 MUST-30, MUST-31: urgent data of any length)."""
        self._now = now  # (every entry point notes the time: the TSval clock reads it)
        st = self.state
        if st is CLOSED:
            raise self.error if self.error is not None else ConnectionDoesNotExist("connection does not exist")
        if st in (FIN_WAIT_1, FIN_WAIT_2, CLOSING, LAST_ACK, TIME_WAIT) or self._fin_queued:
            raise ConnectionClosing("connection closing")
        if st is LISTEN:
            # RFC 9293 §3.10.2 allows switching to active; synack requires a remote to open.
            self._active_open(now)
        n = min(len(data), self.send_space)
        if n:
            self._sbuf += data[:n] if n < len(data) else data
            if urgent:
                self.snd_up = self._sbuf_seq + len(self._sbuf)  # MUST-62: the octet after
                self._urg |= 1
            if st in _SENDING or (st is SYN_RECEIVED and self._tfo is not None and self._tfo.accepted):
                # (a Fast Open server may send before the handshake completes, RFC 7413 §4.2.2)
                self._output(now)
        return n

    def receive(self, max_bytes: int, now: int) -> bytes:
        """RECEIVE call (RFC 9293 §3.10.3): up to ``max_bytes`` octets of in-order data.

        Returns b"" when nothing is buffered yet. Once the peer's FIN has arrived and every
        octet before it has been read (``at_eof``), raises ConnectionClosing.
        """
        if self.state is CLOSED and not self._rbuf:
            if self.error is not None:
                raise self.error
            raise ConnectionDoesNotExist("connection does not exist")
        self._now = now
        rb = self._rbuf
        if not rb:
            if self.fin_received:
                # RFC 9293 §3.10.3 CLOSE-WAIT: "If no text is awaiting delivery, the RECEIVE
                # will get an 'error: connection closing' response" (and in CLOSING, LAST-ACK,
                # TIME-WAIT). Data still on hand is returned first, as in CLOSE-WAIT.
                raise ConnectionClosing("connection closing")
            return _EMPTY
        if max_bytes >= len(rb):
            data = bytes(rb)
            rb.clear()
        else:
            data = bytes(rb[:max_bytes])
            del rb[:max_bytes]
        if self.state in _RECEIVING:
            # A window update when reading opened the window a lot (RFC 9293 §3.8.6.2.2).
            before = self.rcv_wnd
            if before < self.config.rcv_buf >> 1:
                self._window_to_advertise()
                if self.rcv_wnd - before >= min(self.config.rcv_buf >> 1, self.rcv_mss):
                    self._send_ack(now)
        return data

    def close(self, now: int, *, keep_receiving: bool = True) -> None:
        """CLOSE call (RFC 9293 §3.10.4): no more SENDs; a FIN follows queued data. The
        connection keeps receiving until the peer's FIN arrives (half-close).

        ``keep_receiving=False`` is the "half-duplex" close of RFC 9293 §3.6.1 (what a
        socket's close() does): the user will not RECEIVE again, so data still unread, or
        data that arrives later, is lost, and the peer is told with an RST (SHLD-3,
        RFC 2525 §2.17) instead of a FIN."""
        st = self.state
        if st is CLOSED:
            raise self.error if self.error is not None else ConnectionDoesNotExist("connection does not exist")
        self._now = now
        if st in (LISTEN, SYN_SENT):
            self._enter_closed(now, "CLOSE", "RFC 9293 §3.10.4")
            return
        if not keep_receiving:
            self._rd_closed = True
            if self._rbuf and st in (SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT):
                # RFC 9293 §3.6.1 SHLD-3: unread data is lost; say so with <SEQ=SND.NXT><CTL=RST>.
                self._send_rst(self.snd_nxt, now)
                self._rbuf.clear()
                self._enter_closed(now, "CLOSE with unread data: RST", "RFC 9293 §3.6.1 SHLD-3")
                return
            if st in (FIN_WAIT_1, FIN_WAIT_2, CLOSING, LAST_ACK, TIME_WAIT) or self._fin_queued:
                return  # already closed for sending: now closed for receiving too
        if st in (FIN_WAIT_1, FIN_WAIT_2, CLOSING, LAST_ACK, TIME_WAIT) or self._fin_queued:
            raise ConnectionClosing("connection closing")
        self._fin_queued = True
        if st in (SYN_RECEIVED, ESTABLISHED):
            self._set_state(FIN_WAIT_1, now, "CLOSE", "RFC 9293 §3.10.4")
        else:  # CLOSE-WAIT
            self._set_state(LAST_ACK, now, "CLOSE", "RFC 9293 §3.10.4")
        if self.snd_una != self.iss or st is not SYN_RECEIVED:
            self._output(now)
        elif not self._sbuf:
            # RFC 9293 §3.10.4 SYN-RECEIVED: "If no SENDs have been issued and there is no
            # pending data to send, then form a FIN segment and send it". Our SYN is not
            # acknowledged yet, so _output would hold it: send <SEQ=ISS+1><CTL=FIN,ACK> here.
            # The RTO already running retransmits the SYN,ACK first, then this FIN.
            self._emit(self._segment(self.snd_nxt, self.rcv_nxt, ACK | FIN), now)
            self.snd_nxt = self.snd_nxt + 1

    def abort(self, now: int) -> None:
        """ABORT call (RFC 9293 §3.10.5): send <SEQ=SND.NXT><CTL=RST> where the peer is
        synchronized with us, flush everything, enter CLOSED."""
        st = self.state
        if st is CLOSED:
            raise ConnectionDoesNotExist("connection does not exist")
        if st in (SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT):
            self._send_rst(self.snd_nxt, now)
        self.error = ConnectionAborted("connection aborted")
        self._rbuf.clear()
        self._enter_closed(now, "ABORT", "RFC 9293 §3.10.5")

    def status(self) -> dict:
        """STATUS call (RFC 9293 §3.10.6): the TCB as a dict."""
        return {
            "state": self.state.value,
            "local": (self.local_addr, self.local_port),
            "remote": (self.remote_addr, self.remote_port),
            "iss": int(self.iss), "snd_una": int(self.snd_una), "snd_nxt": int(self.snd_nxt),
            "snd_wnd": self.snd_wnd, "irs": int(self.irs), "rcv_nxt": int(self.rcv_nxt),
            "rcv_wnd": self.rcv_wnd, "snd_mss": self.snd_mss, "rcv_mss": self.rcv_mss,
            "cwnd": self.cc.cwnd, "ssthresh": self.cc.ssthresh, "srtt": self.rtt.srtt,
            "rttvar": self.rtt.rttvar, "rto": self.rtt.timeout, "retransmits": self.retransmits,
            "readable": len(self._rbuf), "unsent": self.unsent, "unacked": self.flight_size,
            "error": self.error.code if self.error else None, "soft_error": self.soft_error,
            "urgent": self.urgent_remaining, "keepalive": self.config.keepalive,
            # what the handshake negotiated (RFC 7323, RFC 2018, RFC 3168), and loss recovery
            "snd_wscale": self.snd_wscale if self.ws_ok else None,
            "rcv_wscale": self.rcv_wscale if self.ws_ok else None,
            "timestamps": self.ts_ok, "sack": self.sack_ok, "ecn": self.ecn_ok,
            "ca_state": self._lr.state if self._lr is not None else (
                "recovery" if self._dupacks >= 3 else "open"),
            "sacked": self._lr.sb.sacked_bytes if self._lr is not None else 0,
        }

    # ---- edges ----
    def set_keepalive(self, on: bool, now: int, *, idle: Optional[int] = None,
                      interval: Optional[int] = None, count: Optional[int] = None) -> None:
        """Turn keep-alives on or off for this connection (RFC 9293 §3.8.4 MUST-24), with
        TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT values in ns and probes (MUST-27).
        ValueError names a value out of range."""
        _keepalive.configure(self, on, now, idle, interval, count)

    def icmp_received(self, reason: str, hard: bool, now: int, mtu: Optional[int] = None,
                      detail: str = "") -> str:
        """An ICMP error about this connection (RFC 9293 §3.9.2.2 MUST-54), already matched
        to it and checked by the host. ``reason`` names it (see tcp.errors.Unreachable);
        ``hard`` is true for the errors that may end a connection (Destination Unreachable
        codes 2-4 and their kin, SHLD-26); ``mtu`` comes with "frag-needed".

        Returns what was done: "pmtu" (the segment size shrank and the data is sent again
        in smaller pieces, RFC 1191 / RFC 8201), "hard" (the connection ended with the
        error), "soft" (kept for the user, MUST-56: never abort on a soft error; SHLD-25),
        or "ignored"."""
        st = self.state
        if st in (CLOSED, LISTEN, TIME_WAIT):
            return "ignored"
        if reason == "frag-needed" and mtu:
            mss = mtu - (60 if self.ipv6 else 40)  # RFC 9293 §3.7.1: MTU - fixed headers
            if mss < 88:
                mss = 88  # (a forged tiny MTU must not shrink segments to nothing)
            if mss >= self.snd_mss:
                return "ignored"
            self.snd_mss = self.mss_limit = mss
            self.cc.set_smss(mss, self.config.initial_window)
            if self.snd_una != self.snd_nxt and st not in (SYN_SENT, SYN_RECEIVED):
                # Send everything outstanding again in segments that fit (Linux's
                # tcp_simple_retransmit after tcp_v4_mtu_reduced).
                self._rtx_nxt = self.snd_una
                self._rtx_cause = "pmtu"
                self._rtt_seq = None
                self._output(now)
            return "pmtu"
        err = Unreachable(reason, detail or reason)
        if hard and (st in (SYN_SENT, SYN_RECEIVED) or self.config.icmp_abort_synchronized):
            if reason == "port-unreachable":
                # Linux reports ECONNREFUSED, as for an RST in SYN-SENT.
                err = ConnectionRefused(f"connection refused ({detail or reason})")
            if st is SYN_RECEIVED and self.passive:
                self._abandon_passive(now, f"ICMP {reason}", err)
            else:
                self._fail(err, now, f"ICMP {reason}", "RFC 9293 §3.9.2.2 SHLD-26")
            return "hard"
        self.soft_error = detail or reason
        self.icmp_error = err
        return "soft"

    def _abandon_passive(self, now: int, cause: str, err: TcpError) -> None:
        """Give up a passive SYN-RECEIVED connection: back to LISTEN (RFC 9293 §3.10.7.4),
        or, for a Fast Open connection the user may already hold, fail with ``err``."""
        if self._tfo is not None and self._tfo.accepted:
            self._fail(err, now, cause, "RFC 7413 §4.2.2")
        else:
            self._return_to_listen(now, cause)

    def set_congestion_control(self, name: str) -> None:
        """Switch the congestion control algorithm by name, keeping cwnd and ssthresh (what
        Linux's TCP_CONGESTION does on a live connection). ValueError if ``name`` is unknown."""
        from dataclasses import replace  # rarely called: keep it off the import path

        if name != self.cc.name:
            self.cc = cc_registry.switch(self.cc, name)
        if self.config.congestion != name:
            self.config = replace(self.config, congestion=name)  # the host's config is shared

    # ------------------------------------------------------------------ output
    def _output(self, now: int) -> None:
        """Send what the windows allow (RFC 9293 §3.8.6.2.1 sender SWS avoidance and
        §3.7.4 Nagle), then a bare ACK if one is owed."""
        st = self.state
        if (self._sbuf or self._fin_queued) and (
                st in _SENDING and (self.snd_una != self.iss or self._tfo is not None and self._tfo.accepted)
                # RFC 7413 §4.2.2: a Fast Open server sends before its SYN is acknowledged
                or st is SYN_RECEIVED and self._tfo is not None and self._tfo.accepted):
            self._send_data(now)
        if self._ack_now and st is not CLOSED and st is not LISTEN:
            self._send_ack(now)

    def _send_data(self, now: int, limit: Optional[int] = None, force: bool = False) -> None:
        """Transmit new data (and go-back-N retransmissions) as the windows allow.

        ``limit``: octets of new data allowed in place of the congestion window (SACK
        recovery's budget, a loss probe); the peer's window still applies. ``force``: send
        one segment that the sender's SWS avoidance or Nagle would hold (the override
        timeout of RFC 9293 §3.8.6.2.1 (4), a loss probe)."""
        lr = self._lr
        if lr is None:
            if self.sack_ok and len(self._sbuf) > ((_isub(self.snd_nxt, self._sbuf_seq) + HALF) & MASK) - HALF:
                # RFC 6675 scoreboard and RACK-TLP from the first data segment on (a
                # connection that only ever sends its FIN needs neither).
                lr = self._lr = Recovery(self._eff_mss(), self.config.rack)
        elif lr.state is not _OPEN and limit is None:
            self._send_recovery(now)  # RFC 6675 NextSeg() with PRR, or after an RTO
            return
        sbuf = self._sbuf
        mss = self._eff_mss()
        sbuf_seq = self._sbuf_seq
        fin_seq = _seq(_iadd(sbuf_seq, len(sbuf)) & MASK)
        fin_end = _seq(_iadd(fin_seq, 1) & MASK)
        cwnd = self.cc.cwnd
        dup = self._dupacks
        if 0 < dup < 3:
            # RFC 3042 limited transmit: a new segment for each of the first two duplicate
            # ACKs, beyond cwnd (which itself does not change).
            cwnd += dup * mss
        sent_new = False
        while True:
            rtx = self._rtx_nxt is not None
            pos = self._rtx_nxt if rtx else self.snd_nxt
            off = ((_isub(pos, sbuf_seq) + HALF) & MASK) - HALF
            remaining = len(sbuf) - off
            if limit is None:
                wnd = self.snd_wnd if self.snd_wnd < cwnd else cwnd
                usable = ((_iadd(self.snd_una, wnd) - pos + HALF) & MASK) - HALF
            else:
                usable = ((_iadd(self.snd_una, self.snd_wnd) - pos + HALF) & MASK) - HALF
                if usable > limit:
                    usable = limit
            if rtx:
                # Going back over sent data: never past SND.NXT, where new data begins.
                sent = ((_isub(self.snd_nxt, pos) + HALF) & MASK) - HALF
                if remaining > sent:
                    remaining = sent
            if remaining > 0:
                if usable <= 0:
                    break  # (a window that shrank below what is in flight: SHLD-15)
                n = remaining if remaining < usable else usable
                if n > mss:
                    n = mss
                if n < mss and not rtx and not force:
                    # (only our SYN in flight counts as idle: a Fast Open server answers
                    # before the handshake completes, RFC 7413 §4.2.2; Linux's Minshall
                    # check does not hold data behind a SYN either)
                    idle = self.snd_nxt == self.snd_una or (
                        self.snd_una == self.iss and self.snd_nxt == self.iss + 1)
                    nodelay = self.config.nodelay
                    if n < remaining:
                        # Window-limited runt (RFC 9293 §3.8.6.2.1, MUST-38): rule (3) sends
                        # it once it is at least Fs = 1/2 of the largest window the peer
                        # offered ([with Nagle] only when nothing is in flight); else it
                        # waits for an ACK, or, with nothing in flight to bring one, for
                        # the override timeout of rule (4).
                        if n < (self.max_snd_wnd >> 1) or not (idle or nodelay):
                            if idle and self._persist_at is None:
                                self._arm("sws-override", now + self.config.sws_override, now)
                            break
                    elif not idle and not nodelay and not self._fin_queued:
                        break  # Nagle (SHLD-7): wait for the outstanding data's ACK
                payload = bytes(sbuf[off:off + n])
                flags = ACK
                if off + n == len(sbuf):
                    flags |= PSH  # MUST-61: PSH on the last buffered segment
                    if self._fin_queued and (not rtx or self.snd_nxt.gt(fin_seq)):
                        flags |= FIN
                        n += 1
                if self._ecn & 2 and not rtx:
                    flags |= CWR  # RFC 3168 §6.1.2: the first new data after a reduction
                    self._ecn &= ~2
                end = _seq(_iadd(pos, n) & MASK)
                self._emit(self._segment(pos, self.rcv_nxt, flags, payload), now,
                           self._rtx_cause if rtx else None)
            elif self._fin_queued and pos == fin_seq and (not rtx or self.snd_nxt.gt(fin_seq)):
                # A bare FIN, sent whatever the window (it carries no data).
                end = fin_end
                n = 1
                self._emit(self._segment(pos, self.rcv_nxt, ACK | FIN), now,
                           self._rtx_cause if rtx else None)
            else:
                break
            force = False
            if rtx:
                self.retransmits += 1
                self._rtt_seq = None  # Karn
                if lr is not None:
                    a = self._abs(pos)
                    lr.resent(a, a + n, now)
                if end.lt(self.snd_nxt):
                    self._rtx_nxt = end
                else:
                    self._rtx_nxt = None
            else:
                if lr is not None:
                    a = self._una_abs + (((_isub(pos, self.snd_una) + HALF) & MASK) - HALF)
                    lr.sent(a, a + n, now)
                    sent_new = True
                self.snd_nxt = end
                if self._rtt_seq is None:
                    self._rtt_seq, self._rtt_time = end, now
                if limit is not None:
                    limit -= n
            if self._rtx_since is None:
                self._rtx_since = now
            if self._rto_at is None:
                self._arm_rto(now)
            if self._persist_at is not None:
                self._cancel("persist", now)
                self._persist_backoff = 0
            if end == fin_end:
                break
        # Zero window with data waiting and nothing in flight: the persist timer
        # (RFC 9293 §3.8.6.1) keeps asking for a window update.
        if (self.snd_wnd == 0 and self.snd_una == self.snd_nxt and self._persist_at is None
                and len(sbuf) - (self.snd_nxt - sbuf_seq) > 0):
            self._arm("persist", now + self.rtt.timeout, now, 0)
        if sent_new and self._lr_at is None and lr.rack and lr.state is _OPEN and lr.tlp_end is None:
            # RFC 8985 §7.2: a loss probe covers the end of the flight (each ACK that
            # advances SND.UNA restarts it: _lr_ack).
            self._arm_tlp(now)

    # ------------------------------------------------------------------ flow control and loss recovery
    # Options negotiated in the handshake (RFC 7323 window scale and timestamps, RFC 2018
    # SACK, RFC 3168 ECN), the receiver's SACK blocks (RFC 2018, RFC 2883), and SACK-based
    # loss recovery (RFC 6675, RFC 8985 RACK-TLP, RFC 9937 PRR) on the sending side, whose
    # decisions tcp/recovery.py makes.

    def _eff_mss(self) -> int:
        """Octets of data a full segment carries: SendMSS less the options every segment
        bears (RFC 9293 §3.7.1 Eff.snd.MSS): 12 for timestamps (RFC 7323 §3.2), and room
        for SACK blocks while we hold out-of-order data."""
        m = self.snd_mss - 12 if self.ts_ok else self.snd_mss
        sr = self._sackr
        if sr is not None and (self._ooo or sr.dsack is not None):
            m -= 28 if self.ts_ok else 36  # NOP, NOP, kind, length, 3 or 4 blocks
        return m if m > 0 else 1

    def _abs(self, seq: Seq) -> int:
        """A send sequence number as a stream offset (SND.UNA is ``_una_abs``)."""
        return self._una_abs + (((_isub(seq, self.snd_una) + HALF) & MASK) - HALF)

    def _syn_offer(self) -> tuple:
        """The options after MSS in our SYN or SYN,ACK, in Linux's order (sackOK, TS, nop,
        wscale): a SYN offers what the config enables; a SYN,ACK answers only what the
        peer's SYN offered (RFC 7323 §2.2, §3.2; RFC 2018 §2)."""
        cfg = self.config
        if self.state in (CLOSED, LISTEN, SYN_SENT):
            sack, ts, ws, ecr = cfg.sack, cfg.timestamps, cfg.window_scale, 0
        else:
            sack, ts, ws, ecr = self.sack_ok, self.ts_ok, self.ws_ok, self.ts_recent
        opts: tuple = ()
        if ts:
            off = self._ts_off = _ts.ts_offset(self.iss)
            tso = _tuple_new(Timestamps, ((self._now // _TS_TICK + off) & MASK, ecr))
            opts = (_SACK_PERM, tso) if sack else (_NOP, _NOP, tso)
        elif sack:
            opts = (_NOP, _NOP, _SACK_PERM)
        if ws:
            opts += (_NOP, _wscale_option(cfg.rcv_buf))
        return opts

    def _syn_ecn_bits(self, flags: int) -> int:
        """RFC 3168 §6.1.1: an ECN-setup SYN carries ECE and CWR, an ECN-setup SYN,ACK ECE
        alone. A retransmitted SYN goes without them (§6.1.1.1: the peer or a middlebox
        may be dropping ECN-setup SYNs)."""
        if flags & ACK:
            return ECE if self.ecn_ok else 0
        if self.config.ecn == "on" and not self.retransmits:
            return ECE | CWR
        return 0

    def _negotiate(self, seg: TcpSegment, now: int) -> None:
        """What the peer's SYN (or SYN,ACK) says about the options: RFC 7323 §2.2 window
        scaling and §3.2 timestamps, RFC 2018 §2 SACK, RFC 3168 §6.1.1 ECN. Each is in use
        only if both ends asked for it; a SYN,ACK can only accept what our SYN offered."""
        cfg = self.config
        ws = ts = None
        sack = False
        for o in seg.options:
            t = type(o)
            if t is WindowScale:
                ws = o.shift
            elif t is Timestamps:
                ts = o
            elif t is SackPermitted:
                sack = True
        self.ws_ok = cfg.window_scale and ws is not None
        if self.ws_ok:
            # RFC 7323 §2.3: a shift above 14 "MUST use 14 instead".
            self.snd_wscale = ws if ws <= _ts.MAX_SHIFT else _ts.MAX_SHIFT
            self.rcv_wscale = _ts.shift_for(cfg.rcv_buf)
        else:
            self.snd_wscale = self.rcv_wscale = 0
        self.sack_ok = cfg.sack and sack
        self.ts_ok = cfg.timestamps and ts is not None
        if self.ts_ok:
            self.ts_recent = ts.tsval  # RFC 7323 §4.3: TS.Recent from the SYN
            self.ts_recent_age = now
        f = seg.flags
        if f & ACK:
            self.ecn_ok = cfg.ecn == "on" and f & (ECE | CWR) == ECE
        else:
            self.ecn_ok = cfg.ecn != "off" and f & (ECE | CWR) == ECE | CWR

    def _scaled_window(self, w: int) -> int:
        """The window field for ``w`` octets: w >> Rcv.Wind.Shift rounded up, so that the
        right edge the peer sees never moves left (RFC 7323 §2.4); RCV.ADV follows."""
        s = self.rcv_wscale
        f = (w + (1 << s) - 1) >> s
        if f > 0xFFFF:
            f = 0xFFFF
        edge = _iadd(self.rcv_nxt, f << s) & MASK
        if ((edge - self.rcv_adv + HALF) & MASK) - HALF > 0:
            self.rcv_adv = _int_new(Seq, edge)
        return f

    def _ack_options(self) -> tuple:
        """Options of a segment after the handshake: timestamps on every one but RSTs (RFC
        7323 §3.2), and SACK blocks while out-of-order data is held or a duplicate is to
        be reported (RFC 2018 §4, RFC 2883 §4): NOP, NOP, TS, NOP, NOP, SACK as Linux
        writes them."""
        opts: tuple = ()
        if self.ts_ok:
            opts = (_NOP, _NOP, _tuple_new(Timestamps, (
                (self._now // _ts.TS_TICK + self._ts_off) & MASK, self.ts_recent)))
        sr = self._sackr
        if sr is not None and (self._ooo or sr.dsack is not None):
            blocks = sr.blocks(self._ooo.blocks() if self._ooo else [], 3 if self.ts_ok else 4)
            if blocks:
                rn = self.rcv_nxt - 1 if self.fin_received else self.rcv_nxt
                ra = self._rcv_abs
                opts += (_NOP, _NOP, Sack(tuple(
                    (_seq(_iadd(rn, s - ra) & MASK), _seq(_iadd(rn, e - ra) & MASK)) for s, e in blocks)))
        return opts

    def _sack_state(self) -> SackReceiver:
        sr = self._sackr
        if sr is None:
            sr = self._sackr = SackReceiver()
        return sr

    def _sack_arrival(self, start: int, n: int) -> None:
        """Out-of-order octets [start, start + n) arrived: the next ACK's first SACK block
        holds them (RFC 2018 §4); octets the queue already holds are a duplicate, reported
        in a D-SACK block (RFC 2883 §4)."""
        if self._sack_overlap(start, n) < n:
            self._sack_state().arrived(start, start + n)

    def _sack_overlap(self, start: int, n: int) -> int:
        """How many of octets [start, start + n) the out-of-order queue holds already; the
        first run of them becomes the next D-SACK block (RFC 2883 §4)."""
        end = start + n
        covered = 0
        ooo = self._ooo
        if ooo:
            for hs, he in ooo.blocks():
                if he <= start:
                    continue
                if hs >= end:
                    break
                s = hs if hs > start else start
                e = he if he < end else end
                if not covered:
                    self._sack_state().duplicate(s, e)
                covered += e - s
        return covered

    def _dsack(self, start: int, end: int) -> None:
        """Report octets [start, end), received before, in the next ACK (RFC 2883 §4)."""
        if start < 0:
            start = 0
        if start < end:
            self._sack_state().duplicate(start, end)

    def _old_duplicate(self, seg: TcpSegment) -> None:
        """A segment whose data lies before RCV.NXT arrived again: D-SACK it (RFC 2883 §4)."""
        if not self.sack_ok or not seg.payload:
            return
        rn = self.rcv_nxt - 1 if self.fin_received else self.rcv_nxt
        back = ((_isub(rn, seg.seq) + HALF) & MASK) - HALF
        if back <= 0:
            return
        n = len(seg.payload)
        start = self._rcv_abs - back
        self._dsack(start, start + (n if n < back else back))

    def _sack_in(self, seg: TcpSegment) -> list:
        """The SACK blocks of an arriving ACK as stream offsets, in the order received
        (RFC 2018 §3); a block that is empty or reaches past SND.NXT is ignored."""
        for o in seg.options:
            if type(o) is Sack:
                break
        else:
            return []
        una = self.snd_una
        ua = self._una_abs
        top = ((_isub(self.snd_nxt, una) + HALF) & MASK) - HALF
        out = []
        for left, right in o.blocks:
            a = ((_isub(left, una) + HALF) & MASK) - HALF
            b = ((_isub(right, una) + HALF) & MASK) - HALF
            if a < b <= top:
                out.append((ua + a, ua + b))
        return out

    def _lr_ack(self, seg: TcpSegment, una_before: Seq, now: int) -> None:
        """An ACK in a SACK connection: the scoreboard and RACK (RFC 8985 §6.2), the loss
        probe's outcome (§7.4), entering and leaving recovery (RFC 6675 §5), PRR (RFC 9937
        §4) or window growth, and the loss-recovery timers."""
        lr = self._lr
        cc = self.cc
        o = seg.options
        # (SACK comes last in the usual layouts; NOP, NOP, TS alone has none)
        blocks = self._sack_in(seg) if o and (len(o) > 3 or type(o[-1]) is Sack) else []
        acked = ((_isub(self.snd_una, una_before) + HALF) & MASK) - HALF
        una = self._una_abs
        flight = ((_isub(self.snd_nxt, self.snd_una) + HALF) & MASK) - HALF
        delivered = lr.on_ack(una, blocks, una + flight, now)
        if not delivered and not acked:
            return  # no news for loss recovery (a window update, a duplicate)
        if delivered and lr.rack_rtt:
            cc.on_rtt_sample(lr.rack_rtt, now)  # per-ACK samples (RFC 9406 wants several)
        srtt = self.rtt.srtt
        if lr.tlp_end is not None and lr.tlp_ack(una, blocks) and lr.state is _OPEN:
            # RFC 8985 §7.4.2: the probe repaired a tail loss: respond as to a loss.
            ss = cc.on_congestion_event(self.flight_size + acked, now)
            cc.set_cwnd(cc.cwnd if cc.cwnd < ss else ss, now)
            self._trace_cc(now, "tlp-recovered")
        if lr.state is not _OPEN and una >= lr.recovery_point:
            if lr.exit() is _RECOVERY:
                cc.exit_recovery(self.flight_size, now)  # PRR brought pipe to ssthresh
                self._trace_cc(now, "recovery-exit")
        if lr.sb.nsacked or lr.state is not _OPEN or not lr.rack:
            timeout = lr.detect_loss(now, srtt)
        else:
            timeout = lr.marked = 0  # (nothing can be lost: see Recovery.detect_loss)
        if lr.state is _OPEN and lr.marked:
            self._lr_enter_recovery(now)
        state = lr.state
        if state is _RECOVERY:
            pipe = lr.sb.pipe()
            # RFC 9937 SafeACK: SND.UNA advanced and no further loss indicated.
            sndcnt = lr.prr_ack(delivered, pipe, acked > 0 and not lr.marked)
            before = cc.cwnd
            cc.set_cwnd(pipe + sndcnt, now)
            if cc.cwnd != before:
                self._trace_cc(now, "prr")
        elif acked > 0:
            before = cc.cwnd
            cc.on_ack(acked, flight, now, srtt)  # (slow start after an RTO)
            if cc.cwnd != before:
                self._trace_cc(now, "ack")
        # RFC 3042 limited transmit in _send_data, on RFC 6675 DupAcks (SACKs of new data).
        self._dupacks = (lr.dupacks if lr.dupacks < 2 else 2) if state is _OPEN else 0
        if timeout:
            self._arm("rack", now + timeout, now)  # RFC 8985 §6.2 step 5: wait reo_wnd more
        elif state is _OPEN and flight and lr.rack and lr.tlp_end is None:
            if acked > 0 or self._lr_at is None:
                self._arm_tlp(now)
        elif self._lr_at is not None and (lr.timer == "rack" or self.snd_una == self.snd_nxt
                                          or state is not _OPEN):
            self._cancel(lr.timer, now)

    def _lr_enter_recovery(self, now: int) -> None:
        """RFC 6675 §5 (4): fast recovery begins. ssthresh comes from the congestion
        control algorithm; PRR (RFC 9937) then leads cwnd down to it."""
        lr = self._lr
        flight = self.flight_size
        ss = self.cc.on_congestion_event(flight, now)
        lr.enter_recovery(self._abs(self.snd_nxt), flight, ss)
        self._rtt_seq = None
        if self._lr_at is not None:
            self._cancel(lr.timer, now)
        if self.ecn_ok:
            # RFC 3168 §6.1.2: this reduction also answers any ECE of this window.
            self._ecn |= 2
            self._ecn_rec = self.snd_nxt
        self._trace_cc(now, "fast-retransmit")

    def _send_recovery(self, now: int) -> None:
        """Transmit during SACK-based recovery: NextSeg() (RFC 6675 §4) picks what: lost
        segments, then new data, then (RFC 6675 without RACK) rules (3) and (4). How much:
        PRR's sndcnt in fast recovery (RFC 9937 §4), cwnd - pipe after a timeout (RFC 6675
        §5.1). A budget above zero allows one more segment (PRR settles the difference)."""
        lr = self._lr
        rec = lr.state is _RECOVERY
        budget = lr.budget if rec else self.cc.cwnd - lr.sb.pipe()
        mss = self._eff_mss()
        while budget > 0:
            r = lr.sb.next_lost()
            if r is not None:
                cause = "rto" if not rec else "fast-retransmit" if not lr.prr_out else "sack-recovery"
                budget -= self._resend(r, now, cause)
                continue
            before = self.snd_nxt
            self._send_data(now, limit=-(-budget // mss) * mss)
            if self.snd_nxt != before:
                budget -= ((_isub(self.snd_nxt, before) + HALF) & MASK) - HALF
                continue
            r = lr.rule3()
            if r is not None:
                budget -= self._resend(r, now, "sack-recovery")
                continue
            r = lr.rescue(self._una_abs)
            if r is None:
                break
            budget -= self._resend(r, now, "rescue", rescue=True)
        if rec:
            lr.budget = budget if budget > 0 else 0

    def _resend(self, r: list, now: int, cause: str, rescue: bool = False) -> int:
        """Retransmit scoreboard record ``r`` (one segment, with the FIN if it ends with
        it; RFC 6675 (C.1)). Returns its length in sequence space."""
        start, end = r[0], r[1]
        n = end - start
        seq = _seq(_iadd(self.snd_una, start - self._una_abs) & MASK)
        sbuf = self._sbuf
        off = ((_isub(seq, self._sbuf_seq) + HALF) & MASK) - HALF
        data = len(sbuf) - off
        if data > n:
            data = n
        flags = ACK
        if data > 0:
            payload = bytes(sbuf[off:off + data])
            if off + data == len(sbuf):
                flags |= PSH
        else:
            data = 0
            payload = _EMPTY
        if data < n and self._fin_queued:
            flags |= FIN
        self._emit(self._segment(seq, self.rcv_nxt, flags, payload), now, cause)
        self.retransmits += 1
        self._rtt_seq = None  # Karn (RFC 6298 §3)
        self._lr.resent(start, end, now, rescue)
        if self._rto_at is None:
            self._arm_rto(now)
        return n

    def _arm_tlp(self, now: int) -> None:
        """RFC 8985 §7.2: (re)start the probe timeout, PTO = 2*SRTT (plus WCDelAckT with a
        single segment in flight); a PTO that would not come before the RTO is not armed."""
        lr = self._lr
        at = now + lr.pto(self.rtt.srtt, ((_isub(self.snd_nxt, self.snd_una) + HALF) & MASK) - HALF)
        rto = self._rto_at
        if rto is not None and at >= rto:
            if self._lr_at is not None:
                self._cancel(lr.timer, now)
            return
        self._arm("tlp", at, now)

    def _tlp_timeout(self, now: int) -> None:
        """RFC 8985 §7.3: the loss probe: one segment of new data if the peer's window
        allows, else the last segment again, to draw an ACK whose SACKs let RACK find the
        losses at the tail of the flight; the RTO is then rearmed."""
        lr = self._lr
        if self.state not in _SENDING or self.snd_una == self.snd_nxt or lr.state is not _OPEN \
                or lr.tlp_end is not None:
            return
        before = self.snd_nxt
        room = ((_isub(_iadd(self.snd_una, self.snd_wnd) & MASK, before) + HALF) & MASK) - HALF
        if self.unsent and room > 0:
            self._send_data(now, limit=self._eff_mss(), force=True)
        if self.snd_nxt != before:
            lr.tlp_sent(self._abs(self.snd_nxt), False)
        else:
            r = lr.sb.last_unsacked()
            if r is None:
                return
            self._resend(r, now, "tlp")
            lr.tlp_sent(self._abs(self.snd_nxt), True)
        if self._lr_at is not None:
            self._cancel(lr.timer, now)
        self._arm_rto(now)

    def _rack_timeout(self, now: int) -> None:
        """RFC 8985 §6.3: the reordering window has passed for the segments RACK waited on:
        those not delivered now are lost."""
        lr = self._lr
        if self.state not in _SENDING or self.snd_una == self.snd_nxt:
            return
        timeout = lr.detect_loss(now, self.rtt.srtt)
        if lr.state is _OPEN and lr.marked:
            self._lr_enter_recovery(now)
        if lr.state is _RECOVERY:
            pipe = lr.sb.pipe()
            self.cc.set_cwnd(pipe + lr.prr_ack(0, pipe, False), now)
            self._trace_cc(now, "prr")
        if timeout:
            self._arm("rack", now + timeout, now)
        self._output(now)

    def _ecn_echo(self, now: int) -> None:
        """An ACK with ECE (RFC 3168 §6.1.2): reduce the window as for a loss, but at most
        once per window of data and not again within loss recovery, and set CWR on the
        next new data segment so that the receiver stops echoing."""
        rec = self._ecn_rec
        if rec is not None and self.snd_una.le(rec):
            return  # already answered for this window
        self._ecn_rec = self.snd_nxt
        self._ecn |= 2
        lr = self._lr
        if (lr is not None and lr.state is not _OPEN) or (lr is None and self._dupacks >= 3):
            return  # the loss response already reduced the window
        self.cc.on_ecn(self.flight_size, now)
        self._trace_cc(now, "ecn")

    def ect(self, seg: TcpSegment, cause: Optional[str]) -> int:
        """The IP ECN codepoint for ``seg`` on an ECN connection (RFC 3168 §6.1.1-§6.1.6):
        ECT(0) on new data; not-ECT on SYNs, pure ACKs, window probes and retransmissions."""
        return ECT0 if seg.payload and cause is None and not seg.flags & SYN else 0

    def set_nodelay(self, on: bool, now: int) -> None:
        """TCP_NODELAY (RFC 9293 §3.7.4 MUST-17): ``on`` turns Nagle's algorithm off, and
        sends at once what it was holding, as Linux does; ``False`` turns it back on."""
        from dataclasses import replace  # rarely called: keep it off the import path

        on = bool(on)
        if self.config.nodelay != on:
            self.config = replace(self.config, nodelay=on)  # the host's config is shared
        if on and self.state is not CLOSED:
            self._now = now
            self._output(now)

    # ------------------------------------------------------------------ SEGMENT ARRIVES
    def segment_arrives(self, seg: TcpSegment, now: int, ce: bool = False) -> None:
        """SEGMENT ARRIVES (RFC 9293 §3.10.7) for a segment addressed to this TCB.

        ``ce``: the IP header said Congestion Experienced (RFC 3168 §5), which the host
        reads; the connection echoes it with ECE until the sender's CWR (§6.1.3)."""
        self.segs_in += 1
        self._now = now
        if self.ecn_ok:
            if seg.flags & CWR:
                self._ecn &= ~1  # RFC 3168 §6.1.3: the sender reduced its window
            if ce:
                self._ecn |= 1
                self._ack_now = True  # tell the sender at once (as Linux's quick ACK on CE)
        ka = self._ka
        if ka is not None:
            ka.heard = now  # keep-alive idleness counts from the last segment heard
            ka.probes = 0
        st = self.state
        if st is CLOSED:
            self._closed_state(seg, now)
        elif st is LISTEN:
            self._listen_state(seg, now)
        elif st is SYN_SENT:
            self._syn_sent_state(seg, now)
        else:
            self._other_states(seg, now)

    def _drop(self, seg: TcpSegment, now: int, reason: str, detail: str = "") -> None:
        if self.tr.on:
            self.tr.emit(SegmentDropped(now, self.tr.host, self.cid, self.remote_addr, self.local_addr,
                                        seg, reason, detail))

    def _closed_state(self, seg: TcpSegment, now: int) -> None:
        """RFC 9293 §3.10.7.1: a reset answers everything but a reset."""
        self._drop(seg, now, "closed", "no TCB")
        rst = reset_for(seg)
        if rst is not None:
            self._emit(rst, now)

    def _listen_state(self, seg: TcpSegment, now: int) -> None:
        """RFC 9293 §3.10.7.2."""
        f = seg.flags
        if f & RST:  # first: an incoming RST is ignored
            self._drop(seg, now, "rst-in-listen")
            return
        if f & ACK:  # second: any ACK is bad in LISTEN -> <SEQ=SEG.ACK><CTL=RST>
            self._drop(seg, now, "ack-in-listen")
            self._send_rst(seg.ack, now)
            return
        if not f & SYN:  # fourth: anything else is dropped
            self._drop(seg, now, "no-syn-in-listen")
            return
        # third: SYN. Data carried in the SYN is not acknowledged here: the peer sends it
        # again once the connection is synchronized (Fast Open is a separate mechanism).
        self.rcv_nxt = seg.seq + 1
        self.irs = seg.seq
        self.rcv_adv = self.rcv_nxt + self.config.rcv_buf
        self._negotiate(seg, now)  # RFC 7323, RFC 2018, RFC 3168: what the SYN offers
        self._take_peer_mss(seg)
        self.iss = self._new_iss(now)
        self.snd_una = self.iss
        self.snd_nxt = self.iss + 1
        self._sbuf_seq = self.iss + 1
        self.snd_wnd = seg.wnd
        self.max_snd_wnd = seg.wnd
        self.snd_wl1 = seg.seq
        self._rtx_since = now
        self._set_state(SYN_RECEIVED, now, "SYN received", "RFC 9293 §3.10.7.2")
        if seg.payload and self._tfo is not None and self._tfo.accepted:
            # RFC 7413 §4.2.2: the host found a valid Fast Open cookie, so the SYN's data
            # is delivered now and acknowledged by the SYN,ACK.
            self._ack_now = True
            self._deliver(seg.payload, now)
        self._emit(self._segment(self.iss, self.rcv_nxt, SYN | ACK, options=self._syn_options()), now)
        self._rtt_seq, self._rtt_time = self.snd_nxt, now
        self._arm_rto(now)

    def _take_peer_mss(self, seg: TcpSegment) -> None:
        """RFC 9293 §3.7.1 MUST-15/16: the send MSS is the peer's MSS option, or 536/1220
        without one, capped by our own path limit."""
        peer = seg.mss
        if peer is None:
            peer = _DEFAULT_SND_MSS_V6 if self.ipv6 else _DEFAULT_SND_MSS_V4
        self.snd_mss = max(min(peer, self.mss_limit), 1)
        # SMSS excludes options (RFC 5681 §2): with timestamps, 12 octets fewer of data.
        self.cc.set_smss(self._eff_mss(), self.config.initial_window)

    def _syn_sent_state(self, seg: TcpSegment, now: int) -> None:
        """RFC 9293 §3.10.7.3."""
        f = seg.flags
        ack_ok = False
        if f & ACK:
            # first: SEG.ACK =< ISS or SEG.ACK > SND.NXT is unacceptable.
            if seg.ack.le(self.iss) or seg.ack.gt(self.snd_nxt):
                self._drop(seg, now, "bad-ack", "SYN-SENT: unacceptable acknowledgment")
                if not f & RST:
                    self._send_rst(seg.ack, now)
                return
            ack_ok = self.snd_una.lt(seg.ack) and seg.ack.le(self.snd_nxt)
        if f & RST:
            # second: an acceptable RST means "connection refused"; others are dropped.
            if ack_ok:
                err = ConnectionRefused("connection refused")
                err.diagnostic = bytes(seg.payload)  # RFC 9293 §3.5.3 SHLD-2: RST text
                self._fail(err, now, "RST received", "RFC 9293 §3.10.7.3")
            else:
                self._drop(seg, now, "rst-without-ack", "SYN-SENT: RST without an acceptable ACK")
            return
        if not f & SYN:
            self._drop(seg, now, "no-syn", "SYN-SENT: neither SYN nor RST")
            return
        # fourth: SYN.
        self.rcv_nxt = seg.seq + 1
        self.irs = seg.seq
        self.rcv_adv = self.rcv_nxt + self.config.rcv_buf
        self._negotiate(seg, now)  # RFC 7323, RFC 2018, RFC 3168: what the SYN,ACK accepts
        self._take_peer_mss(seg)
        if ack_ok and self._tfo is not None:
            _fastopen.client_synack(self, seg, now)  # RFC 7413: keep the cookie; SYN data acked?
        if ack_ok:
            self._new_ack(seg.ack, now)
        if self.snd_una.gt(self.iss):
            # Our SYN is acknowledged: ESTABLISHED, <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
            self.snd_wnd = seg.wnd
            self.max_snd_wnd = max(self.max_snd_wnd, seg.wnd)
            self.snd_wl1 = seg.seq
            self.snd_wl2 = seg.ack
            self._set_state(ESTABLISHED, now, "SYN,ACK received", "RFC 9293 §3.10.7.3")
            self._ack_now = True
            # Data or a FIN in the SYN,ACK continue at the sixth step (RFC 9293 §3.10.7.3).
            body = seg._replace(seq=seg.seq + 1, flags=f & ~SYN) if seg.payload or f & FIN else None
            if body is not None:
                self._text_and_fin(body, now)
            self._output(now)
        else:
            # Simultaneous open (RFC 9293 §3.5 MUST-10): SYN-RECEIVED, send SYN,ACK.
            self.snd_wnd = seg.wnd
            self.max_snd_wnd = max(self.max_snd_wnd, seg.wnd)
            self.snd_wl1 = seg.seq
            self._set_state(SYN_RECEIVED, now, "SYN received (simultaneous open)", "RFC 9293 §3.10.7.3")
            self._emit(self._segment(self.iss, self.rcv_nxt, SYN | ACK, options=self._syn_options()), now)
            self._rtt_seq = None  # the SYN was sent twice: no clean sample (Karn)

    def _acceptable(self, seg: TcpSegment) -> bool:
        """The segment acceptability test of RFC 9293 §3.10.7.4 (first check)."""
        wnd = self.rcv_wnd
        f = seg.flags
        slen = len(seg.payload) + (1 if f & SYN else 0) + (1 if f & FIN else 0)
        rn = self.rcv_nxt
        if slen == 0:
            if wnd == 0:
                return seg.seq == rn
            return seg.seq.in_window(rn, wnd)
        if wnd == 0:
            return False
        return seg.seq.in_window(rn, wnd) or ((_iadd(seg.seq, slen - 1) - rn) & MASK) < wnd

    def _other_states(self, seg: TcpSegment, now: int) -> None:
        """RFC 9293 §3.10.7.4: SYN-RECEIVED and the synchronized states."""
        f = seg.flags
        st = self.state
        if (st is SYN_RECEIVED and not self.passive and f & SYN and f & ACK and not f & RST
                and seg.seq == self.irs):
            # RFC 9293 §3.5 Figure 7 line 6 (MUST-10): in a simultaneous open the peer's
            # SYN,ACK repeats its SYN at IRS = RCV.NXT-1 and must take us to ESTABLISHED.
            # Trim the SYN, which lies before the window (§3.10.7.4 first check: "trimming
            # off any portions that lie outside the window (including SYN and FIN)"), and
            # process the rest, which now begins at RCV.NXT. (Its window, a SYN's, is not
            # scaled: shift it down so that the ACK processing's scaling restores it.)
            seg = seg._replace(seq=self.rcv_nxt, flags=f & ~SYN, wnd=seg.wnd >> self.snd_wscale)
            f = seg.flags
        if self.ts_ok and not f & RST:
            # RFC 7323 §3.2 and §5.3 R1 (PAWS), before the sequence number check.
            o = seg.options
            ts = o[2] if len(o) == 3 and type(o[2]) is Timestamps else _ts.find_timestamps(o)
            if ts is None:
                # "If a non-<RST> segment is received without a TSopt, a TCP SHOULD
                # silently drop the segment."
                self._drop(seg, now, "no-timestamp", "TSopt missing (RFC 7323 §3.2)")
                return
            if ((ts.tsval - self.ts_recent) & MASK) >= HALF and \
                    _ts.paws_rejects(ts.tsval, self.ts_recent, self.ts_recent_age, now):
                # An old duplicate: ACK (with a D-SACK for its data) and drop.
                self._drop(seg, now, "paws", f"TSval {ts.tsval} older than TS.Recent "
                                              f"{self.ts_recent} (RFC 7323 §5.3)")
                self._old_duplicate(seg)
                self._send_ack(now)
                return
        else:
            ts = None
        # First: sequence number, with RFC 5961 §3 validation of RSTs.
        if f & RST:
            if seg.seq == self.rcv_nxt:
                self._reset_received(seg, now)
            elif self.rcv_wnd and seg.seq.in_window(self.rcv_nxt, self.rcv_wnd):
                self._challenge_ack(seg, now, "rst-not-exact", "challenge ACK (RFC 5961 §3.2)")
            else:
                self._drop(seg, now, "out-of-window", "RST outside the receive window")
            return
        if not self._acceptable(seg):
            if st is TIME_WAIT and f & FIN and seg.seq + seg.len == self.rcv_nxt:
                # The peer did not get our ACK of its FIN: acknowledge it again and
                # restart the 2*MSL timeout (RFC 9293 §3.10.7.4, eighth, TIME-WAIT).
                self._drop(seg, now, "retransmitted-fin", "FIN again in TIME-WAIT: re-ACK, restart 2*MSL")
                self._send_ack(now)
                self._arm("time-wait", now + 2 * self.config.msl, now)
                return
            if self.rcv_wnd == 0 and seg.seq == self.rcv_nxt and f & ACK:
                # Zero window: valid ACKs are still processed (RFC 9293 §3.10.7.4, MUST-66).
                self._drop(seg, now, "zero-window", "data beyond a zero receive window")
                if self._ack_field(seg, now):
                    self._send_ack(now)
                return
            if f & SYN and st is not TIME_WAIT and st is not SYN_RECEIVED:
                # RFC 5961 §4.2: a SYN in a synchronized state draws a challenge ACK
                # "irrespective of the sequence number", rate-limited like the others (§7).
                self._challenge_ack(seg, now, "syn-in-synchronized", "challenge ACK (RFC 5961 §4)")
                return
            self._drop(seg, now, "out-of-window", "unacceptable segment: ACK sent")
            self._old_duplicate(seg)  # RFC 2883: report data received twice as a D-SACK
            self._send_ack(now)
            return
        # Fourth: SYN in SYN-RECEIVED (passive) or any synchronized state.
        if f & SYN:
            if st is SYN_RECEIVED and self.passive:
                self._drop(seg, now, "syn-in-syn-received", "return to LISTEN")
                self._abandon_passive(now, "SYN received in SYN-RECEIVED",
                                      ConnectionReset("connection reset by peer"))
                return
            # RFC 5961 §4: challenge ACK whatever the sequence number.
            self._challenge_ack(seg, now, "syn-in-synchronized", "challenge ACK (RFC 5961 §4)")
            return
        # Fifth: the ACK field.
        if not f & ACK:
            self._drop(seg, now, "no-ack", "segment without ACK")
            return
        if st is SYN_RECEIVED:
            if self.snd_una.lt(seg.ack) and seg.ack.le(self.snd_nxt):
                # RFC 7323 §2.3: SND.WND = SEG.WND << Snd.Wind.Shift (no SYN here).
                self.snd_wnd = seg.wnd << self.snd_wscale
                self.max_snd_wnd = max(self.max_snd_wnd, self.snd_wnd)
                self.snd_wl1 = seg.seq
                self.snd_wl2 = seg.ack
                self._set_state(ESTABLISHED, now, "ACK of SYN", "RFC 9293 §3.10.7.4")
            else:
                self._drop(seg, now, "bad-ack", "SYN-RECEIVED: unacceptable ACK")
                self._send_rst(seg.ack, now)
                return
        if not self._ack_field(seg, now):
            # The segment is done with, but the send side may now go on: queued data and
            # the FIN still leave in CLOSING and LAST-ACK (RFC 9293 §3.10.4).
            if self.state is not CLOSED:
                self._output(now)
            return
        if self.state is CLOSED:
            return
        if ts is not None and ((_isub(self.last_ack_sent, seg.seq)) & MASK) < HALF and (
                ((ts.tsval - self.ts_recent) & MASK) < HALF or now - self.ts_recent_age > _ts.PAWS_IDLE):
            # RFC 7323 §4.3 (1), §5.3 R3: an acceptable segment at or left of Last.ACK.sent
            # with SEG.TSval >= TS.Recent updates TS.Recent (any does once TS.Recent has gone
            # stale, §5.5). Only once the SYN and ACK checks passed, as Linux does: a forged
            # in-window segment (a SYN, an ACK too old, RFC 5961) must not move TS.Recent,
            # or PAWS would then drop the real peer's segments.
            self.ts_recent = ts.tsval
            self.ts_recent_age = now
        # Sixth: URG (RFC 9293 §3.10.7.4; MUST-62: the pointer names the octet after).
        # RCV.UP = max(RCV.UP, SEG.UP); the first pointer sets it (bit 2 of _urg), and a
        # zero pointer names no urgent data (RFC 6093 §3). The user learns of it through
        # urgent_mark / urgent_remaining (MUST-32, MUST-33).
        if f & URG and seg.urg_ptr and self.state in _RECEIVING:
            up = seg.seq + seg.urg_ptr
            if not self._urg & 2 or up.gt(self.rcv_up):
                self.rcv_up = up
                self._urg |= 2
        # Seventh and eighth: segment text and FIN.
        self._text_and_fin(seg, now)
        self._output(now)

    def _return_to_listen(self, now: int, cause: str) -> None:
        """MUST-11: a passive SYN-RECEIVED goes back to LISTEN, its queues flushed."""
        self._cancel_all(now)
        self._sbuf.clear()
        self._rtx_since = None
        # The next SYN starts a new attempt: its SYN,ACK is timed from RFC 6298 (2.1), not
        # with the backoff and retry count of the one that was reset.
        self.rtt.reset_backoff()
        self._retries = 0
        self.soft_error = None
        self._set_state(LISTEN, now, cause, "RFC 9293 §3.10.7.4")

    def _reset_received(self, seg: TcpSegment, now: int) -> None:
        """An RST with SEG.SEQ = RCV.NXT (RFC 9293 §3.10.7.4, first and second checks).

        Data in the RST is diagnostic text (RFC 9293 §3.5.3 SHLD-2): it is kept as the
        error's ``diagnostic`` and never delivered as stream data."""
        st = self.state
        if st is SYN_RECEIVED:
            if self.passive:
                err = ConnectionReset("connection reset by peer")
                err.diagnostic = bytes(seg.payload)
                self._abandon_passive(now, "RST received", err)
            else:
                err = ConnectionRefused("connection refused")
                err.diagnostic = bytes(seg.payload)
                self._fail(err, now, "RST received", "RFC 9293 §3.10.7.4")
        elif st in (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT):
            self._rbuf.clear()
            err = ConnectionReset("connection reset by peer")
            err.diagnostic = bytes(seg.payload)
            self._fail(err, now, "RST received", "RFC 9293 §3.10.7.4")
        else:  # CLOSING, LAST-ACK, TIME-WAIT
            self._enter_closed(now, "RST received", "RFC 9293 §3.10.7.4")

    def _challenge_ack(self, seg: TcpSegment, now: int, reason: str, detail: str) -> None:
        """Drop ``seg`` and send a challenge ACK (RFC 5961 §3.2, §4.2, §5.2), unless the
        host's limiter says too many were sent (RFC 5961 §7): then drop it silently."""
        lim = self.challenge
        if lim is None or lim.allow(now):
            self._drop(seg, now, reason, detail)
            self._send_ack(now)
        else:
            self._drop(seg, now, "challenge-ack-limit", f"{reason}: challenge ACK suppressed (RFC 5961 §7)")

    def _ack_field(self, seg: TcpSegment, now: int) -> bool:
        """Fifth check, for ESTABLISHED and later. Returns False when processing stops."""
        ack = seg.ack
        una = self.snd_una
        if ack.gt(self.snd_nxt):
            # Acknowledges something not yet sent: ACK, drop, return.
            self._drop(seg, now, "ack-of-unsent", "ACK beyond SND.NXT")
            self._send_ack(now)
            return False
        # RFC 5961 §5 (MAY-12): too old to be plausible. RFC 9293 §3.10.7.4 fifth: "All
        # incoming segments whose ACK value doesn't satisfy the above condition MUST be
        # discarded and an ACK sent back", also when nothing of ours is outstanding (that
        # is when blind data injection is easiest).
        # (SEG.ACK < SND.UNA - MAX.SND.WND, modulo 2**32)
        if ((_isub(ack, una) + max(self.max_snd_wnd, 1)) & MASK) >= HALF:
            self._challenge_ack(seg, now, "ack-too-old", "ACK below SND.UNA - MAX.SND.WND (RFC 5961 §5)")
            return False
        st = self.state
        lr = self._lr
        tsecr = None
        if self.ts_ok:
            o = seg.options
            ts = o[2] if len(o) == 3 and type(o[2]) is Timestamps else _ts.find_timestamps(o)
            if ts is not None:
                tsecr = ts.tsecr  # RFC 7323 §3.2: TSecr is valid with ACK
        if una.lt(ack):
            self._new_ack(ack, now, tsecr)
        elif lr is None and ack == una and seg.len == 0 and (seg.wnd << self.snd_wscale) == self.snd_wnd \
                and self.snd_nxt != una and st in _SENDING:
            self._duplicate_ack(now)
        if lr is not None and st in _SENDING:
            self._lr_ack(seg, una, now)  # SACK-based loss recovery (tcp/recovery.py)
        if self.ecn_ok and seg.flags & ECE and st in _SENDING:
            self._ecn_echo(now)  # RFC 3168 §6.1.2: congestion on the way to the peer
        # Window update (RFC 9293 §3.10.7.4): if SND.UNA =< SEG.ACK =< SND.NXT and the
        # segment is newer than the last update.
        if self.snd_wl1.lt(seg.seq) or (self.snd_wl1 == seg.seq and self.snd_wl2.le(ack)):
            if una.le(ack):
                old = self.snd_wnd
                w = seg.wnd << self.snd_wscale  # RFC 7323 §2.3: SEG.WND << Snd.Wind.Shift
                self.snd_wnd = w
                if w > self.max_snd_wnd:
                    self.max_snd_wnd = w
                self.snd_wl1 = seg.seq
                self.snd_wl2 = ack
                if old == 0 and w > 0 and self._persist_at is not None:
                    self._cancel("persist", now)
                    self._persist_backoff = 0
        if self.snd_wnd == 0 and self._rtx_since is not None:
            # The peer answers while its window is closed: it is alive, so neither probes
            # nor data beyond a window that shrank to zero count towards R2 (RFC 9293
            # §3.8.6.1 MUST-37, §3.8.6 SHLD-17); R2 counts from the last answer.
            self._rtx_since = None if self.snd_una == self.snd_nxt else now
        # Per-state additions.
        fin_acked = self._fin_queued and self.snd_una == self._fin_seq() + 1
        if st is FIN_WAIT_1 and fin_acked:
            self._set_state(FIN_WAIT_2, now, "ACK of FIN", "RFC 9293 §3.10.7.4")
        elif st is CLOSING:
            if fin_acked:
                self._enter_time_wait(now, "ACK of FIN")
            return False
        elif st is LAST_ACK:
            if fin_acked:
                self._enter_closed(now, "ACK of FIN", "RFC 9293 §3.10.7.4")
            return False
        elif st is TIME_WAIT:
            return False
        return True

    def _new_ack(self, ack: Seq, now: int, tsecr: Optional[int] = None) -> None:
        """SND.UNA < SEG.ACK =< SND.NXT: remove what is acknowledged, sample the RTT,
        restart or stop the retransmission timer, grow the congestion window. ``tsecr`` is
        the segment's echoed timestamp when timestamps are in use (RFC 7323 §4)."""
        una = self.snd_una
        acked = ((_isub(ack, una) + HALF) & MASK) - HALF
        self._una_abs += acked
        # Octets of buffered data covered: everything from _sbuf_seq up to ACK.
        data = ((_isub(ack, self._sbuf_seq) + HALF) & MASK) - HALF
        if data > 0:
            if data >= len(self._sbuf):
                data = len(self._sbuf)
                self._sbuf.clear()
            else:
                del self._sbuf[:data]
            self._sbuf_seq = _seq(_iadd(self._sbuf_seq, data) & MASK)
        self.snd_una = ack
        if self._urg & 1 and ack.ge(self.snd_up):
            self._urg &= ~1  # all urgent data acknowledged: leave urgent mode (RFC 9293 §3.8.5)
        if self.icmp_error is not None:
            self.icmp_error = None  # data got through: forget the soft ICMP error (as Linux)
        if self._rtx_nxt is not None and self._rtx_nxt.le(ack):
            self._rtx_nxt = ack if ack.lt(self.snd_nxt) else None
        # RTT sample (RFC 6298 (2.2)/(2.3)); Karn: only for segments sent once.
        rs = self._rtt_seq
        if tsecr and (rs is None or ack.ge(rs)):
            # RFC 7323 §4 (RTTM): the echoed TSval dates the segment this ACK answers, even
            # after a retransmission (§4.2: Karn's rule is not needed). One sample per
            # flight, as RFC 7323 Appendix G advises for the RFC 6298 estimator.
            r = _ts.ts_rtt((now // _ts.TS_TICK + self._ts_off) & MASK, tsecr)
            self._rtt_seq = self.snd_nxt if self.snd_nxt != ack else None
            self.rtt.sample(r)
            self.cc.on_rtt_sample(r, now)
            if self.tr.on:
                rt = self.rtt
                self.tr.emit(RttSample(now, self.tr.host, self.cid, r, rt.srtt, rt.rttvar, rt.timeout))
        elif rs is not None and ack.ge(rs):
            r = now - self._rtt_time
            self._rtt_seq = None
            self.rtt.sample(r)
            self.cc.on_rtt_sample(r, now)  # RFC 9406 (HyStart++) reads RTT samples
            if self.tr.on:
                rt = self.rtt
                self.tr.emit(RttSample(now, self.tr.host, self.cid, r, rt.srtt, rt.rttvar, rt.timeout))
        if una == self.iss and self.retransmits and self.rtt.srtt is None and self.state is FIN_WAIT_1:
            # RFC 6298 (5.7): the SYN timed out, so data starts with an RTO of 3 s. _set_state
            # does this on entering ESTABLISHED; a CLOSE in SYN-RECEIVED (RFC 9293 §3.10.4)
            # completes the handshake in FIN-WAIT-1 instead.
            self.rtt.after_syn_timeout()
        self.rtt.reset_backoff()
        self._retries = 0
        # Congestion control (RFC 5681 §3, RFC 6582 §3.2). With SACK, _lr_ack does it.
        st = self.state
        if st in _SENDING and self._lr is None:
            rec = self._recover
            if self._dupacks >= 3 and rec is not None:
                if ack.ge(rec) or not self.cc.partial_ack_recovery:
                    self.cc.exit_recovery(self.flight_size, now)
                    self._dupacks = 0
                    self._trace_cc(now, "recovery-exit")
                else:
                    # NewReno partial ACK: retransmit the next hole, stay in recovery.
                    self.cc.on_partial_ack(acked)
                    self._retransmit_head(now, "partial-ack")
                    # RFC 6582 §3.2 step 3: only "the first unacknowledged segment" is
                    # resent; going back over the rest of the window resent it all on
                    # every partial ACK.
                    self._rtx_nxt = None
                    self._trace_cc(now, "partial-ack")
            else:
                self._dupacks = 0
                before = self.cc.cwnd
                # RFC 9438 §4.2: CUBIC grows with time since the epoch and with SRTT.
                self.cc.on_ack(acked, self.flight_size, now, self.rtt.srtt)
                if self.cc.cwnd != before:
                    self._trace_cc(now, "ack")
        # RFC 6298 (5.2)/(5.3): stop the timer when all is acknowledged, else restart it.
        if self.snd_una == self.snd_nxt:
            self._rtx_since = None
            if self._rto_at is not None:
                self._cancel("rto", now)
        else:
            self._rtx_since = now
            self._arm_rto(now)

    def _duplicate_ack(self, now: int) -> None:
        """RFC 5681 §3.2: the third duplicate ACK triggers fast retransmit; later ones
        inflate the window during fast recovery."""
        self._dupacks += 1
        if self._dupacks == 3:
            rec = self._recover
            # RFC 6582 §3.2 step 2: only if the ACK covers more than ``recover``.
            if rec is not None and self.snd_una.le(rec) and self.cc.partial_ack_recovery:
                return
            self._recover = self.snd_nxt
            self.cc.enter_recovery(self.flight_size, now)
            self._rtt_seq = None
            self._trace_cc(now, "fast-retransmit")
            self._retransmit_head(now, "fast-retransmit")
            self._rtx_nxt = None  # only the head is resent; the rest waits for ACKs
            self._arm_rto(now)
        elif self._dupacks > 3:
            self.cc.on_dupack_in_recovery()

    def _text_and_fin(self, seg: TcpSegment, now: int) -> None:
        """Seventh (segment text) and eighth (FIN) checks of RFC 9293 §3.10.7.4."""
        st = self.state
        payload = seg.payload
        seq = seg.seq
        fin = seg.flags & FIN
        if payload and st in _RECEIVING:
            # Trim to the window: what precedes RCV.NXT, and what lies past the right edge.
            rn = self.rcv_nxt
            head = ((_isub(rn, seq) + HALF) & MASK) - HALF
            if head > 0:
                if self.sack_ok:
                    # RFC 2883 §4: the octets received before go back in a D-SACK block.
                    old = self._rcv_abs - head
                    self._dsack(old, old + (head if head < len(payload) else len(payload)))
                payload = payload[head:]
                seq = rn
            room = ((_isub(self.rcv_adv, seq) + HALF) & MASK) - HALF
            if len(payload) > room:
                payload = payload[:room if room > 0 else 0]
                fin = 0  # the FIN lies beyond the window
            if payload:
                if self._rd_closed:
                    # New data after a CLOSE that ended reading: it is lost, so tell the
                    # peer with <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.6.1 SHLD-3; Linux).
                    self._drop(seg, now, "data-after-close", "RST: the user closed for reading (SHLD-3)")
                    self._send_rst(seg.ack, now)
                    self._enter_closed(now, "data after CLOSE: RST", "RFC 9293 §3.6.1 SHLD-3")
                    return
                if seq == self.rcv_nxt:
                    if self._ooo and self.sack_ok:
                        self._sack_overlap(self._rcv_abs, len(payload))  # RFC 2883: part held already?
                    self._deliver(payload, now)
                else:
                    self._out_of_order(seq, payload, now)
        if fin:
            fin_seq = seg.seq + len(seg.payload)
            if fin_seq == self.rcv_nxt:
                self._fin_arrives(now)
            elif fin_seq.gt(self.rcv_nxt) and st in _RECEIVING:
                self._ooo_fin = self._rcv_abs + (fin_seq - self.rcv_nxt)
                self._ack_now = True

    def _deliver(self, payload: bytes, now: int) -> None:
        n = len(payload)
        self._rbuf += payload
        self.rcv_nxt = _seq(_iadd(self.rcv_nxt, n) & MASK)
        self._rcv_abs += n
        ooo = self._ooo
        if ooo:
            more = ooo.pop(self._rcv_abs)
            if more:
                self._rbuf += more
                self.rcv_nxt = self.rcv_nxt + len(more)
                self._rcv_abs += len(more)
            self._ack_now = True  # a hole was filled: ACK at once (RFC 5681 §4.2)
        if self._ooo_fin is not None and self._ooo_fin == self._rcv_abs:
            self._ooo_fin = None
            self._fin_arrives(now)
            return
        # Delayed ACK (RFC 9293 §3.8.6.3, SHLD-18/19): at least every second full segment.
        self._unacked += n
        delay = self.config.delayed_ack
        # (a full-sized segment carries 12 octets fewer beside the timestamps option)
        if delay is None or self._unacked >= 2 * (self.rcv_mss - 12 if self.ts_ok else self.rcv_mss):
            self._ack_now = True
        elif self._dack_at is None and not self._ack_now:
            self._arm("delayed-ack", now + delay, now)

    def _out_of_order(self, seq: Seq, payload: bytes, now: int) -> None:
        """Queue data beyond a hole and ACK at once (a duplicate ACK, RFC 5681 §4.2)."""
        if self._ooo is None:
            limit = self.config.ooo_limit if self.config.ooo_limit is not None else self.config.rcv_buf
            self._ooo = Reassembly(limit)
        start = self._rcv_abs + (seq - self.rcv_nxt)
        if self.sack_ok:
            self._sack_arrival(start, len(payload))  # RFC 2018 §4 blocks, RFC 2883 D-SACK
        if not self._ooo.add(start, payload, self._rcv_abs):
            self._drop(TcpSegment(self.remote_port, self.local_port, seq, Seq(0), ACK, 0, payload),
                       now, "ooo-full", "out-of-order queue full (RFC 9293 SHLD-31)")
        self._ack_now = True

    def _fin_arrives(self, now: int) -> None:
        """Eighth check: the peer's FIN, in order (RFC 9293 §3.10.7.4)."""
        self.rcv_nxt = self.rcv_nxt + 1
        self.fin_received = True
        self._ack_now = True
        st = self.state
        if st in (SYN_RECEIVED, ESTABLISHED):
            self._set_state(CLOSE_WAIT, now, "FIN received", "RFC 9293 §3.10.7.4")
        elif st is FIN_WAIT_1:
            if self.fin_acked:
                self._enter_time_wait(now, "FIN received")
            else:
                self._set_state(CLOSING, now, "FIN received (simultaneous close)", "RFC 9293 §3.10.7.4")
        elif st is FIN_WAIT_2:
            self._enter_time_wait(now, "FIN received")
        elif st is TIME_WAIT:
            self._arm("time-wait", now + 2 * self.config.msl, now)

    def _enter_time_wait(self, now: int, cause: str) -> None:
        """TIME-WAIT lasts 2*MSL (RFC 9293 §3.6.1 MUST-13); other timers stop."""
        for name in ("rto", "delayed-ack", "persist"):
            self._cancel(name, now)
        self._set_state(TIME_WAIT, now, cause, "RFC 9293 §3.10.7.4")
        self._arm("time-wait", now + 2 * self.config.msl, now)
