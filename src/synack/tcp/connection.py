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
from ..wire.tcp import ACK, FIN, PSH, RST, SYN, URG, Mss, TcpSegment
from . import cc as cc_registry
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
)
from .reassembly import Reassembly
from .rtt import RttEstimator
from .state import State

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

    def _set_state(self, new: State, now: int, cause: str, rule: str = "") -> None:
        old = self.state
        self.state = new
        if new is ESTABLISHED and self.retransmits and self.rtt.srtt is None:
            # RFC 6298 (5.7): the SYN timed out, so data starts with an RTO of 3 s.
            self.rtt.after_syn_timeout()
        if self.tr.on:
            self.tr.emit(StateChanged(now, self.tr.host, self.cid, old.value, new.value, cause, rule))

    def _fail(self, err: TcpError, now: int, cause: str, rule: str) -> None:
        """Record an asynchronous error for the user and enter CLOSED (delete the TCB)."""
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
        wnd = self._window_to_advertise() if flags & ACK or flags & SYN else 0
        if wnd > 65535:
            wnd = 65535
        return TcpSegment(self.local_port, self.remote_port, seq, ack if ack is not None else Seq(0),
                          flags, wnd, payload, options)

    def _emit(self, seg: TcpSegment, now: int, cause: Optional[str] = None) -> None:
        """Queue ``seg`` for transmission; any segment with ACK carries our receive state."""
        self.out.append((seg, cause))
        self.segs_out += 1
        if seg.flags & ACK:
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
        else:
            self._persist_at = at
        if self.tr.on:
            self.tr.emit(TimerArmed(now, self.tr.host, self.cid, name, at, backoff))

    def _cancel(self, name: str, now: int) -> None:
        if name == "rto":
            was, self._rto_at = self._rto_at, None
        elif name == "time-wait":
            was, self._tw_at = self._tw_at, None
        elif name == "delayed-ack":
            was, self._dack_at = self._dack_at, None
        else:
            was, self._persist_at = self._persist_at, None
        if was is not None and self.tr.on:
            self.tr.emit(TimerCancelled(now, self.tr.host, self.cid, name))

    def _cancel_all(self, now: int) -> None:
        for name in ("rto", "time-wait", "delayed-ack", "persist"):
            self._cancel(name, now)

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
        for t in (self._tw_at, self._dack_at, self._persist_at):
            if t is not None and (d is None or t < d):
                d = t
        return d

    def on_timeout(self, now: int) -> None:
        """RFC 9293 §3.10.8: run whichever timers are due at ``now``."""
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
        if self._persist_at is not None and self._persist_at <= now:
            self._persist_at = None
            if self.tr.on:
                self.tr.emit(TimerFired(now, self.tr.host, self.cid, "persist", self._persist_backoff))
            self._persist_timeout(now)
        if self._dack_at is not None and self._dack_at <= now:
            self._dack_at = None
            if self.tr.on:
                self.tr.emit(TimerFired(now, self.tr.host, self.cid, "delayed-ack"))
            if self.state.synchronized and self.state is not TIME_WAIT:
                self._send_ack(now)

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
        self._retries += 1
        if self._retries == self.config.r1:
            # MUST-20 / SHLD-9: at R1, report the delivery problem (negative advice).
            self.soft_error = f"R1 reached: {self._retries} retransmissions without acknowledgment"
        self.rtt.back_off()                       # RFC 6298 (5.5)
        self._rtt_seq = None                      # Karn's algorithm (RFC 6298 §3)
        if st not in (SYN_SENT, SYN_RECEIVED):
            flight = self.flight_size
            self.cc.on_rto(flight)                # RFC 5681 §3.1 (4): loss window
            self._recover = self.snd_nxt          # RFC 6582 §3.2 step 1 after a timeout
            self._dupacks = 0
            self._trace_cc(now, "rto")
        self._retransmit_head(now, "rto")
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
                self._emit(self._segment(self.iss, None, SYN, options=self._syn_options()), now, cause)
            else:
                self._emit(self._segment(self.iss, self.rcv_nxt, SYN | ACK,
                                         options=self._syn_options()), now, cause)
            return
        off = una - self._sbuf_seq
        # Only octets already sent: a retransmission never reaches past SND.NXT.
        n = min(len(self._sbuf) - off, self.snd_mss, self.snd_nxt - una)
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
        nxt = una + seg.len
        if nxt.lt(self.snd_nxt):
            self._rtx_nxt = nxt
            self._rtx_cause = cause
        else:
            self._rtx_nxt = None

    def _persist_timeout(self, now: int) -> None:
        """Zero-window probe (RFC 9293 §3.8.6.1 MUST-35/36): a segment the peer must answer
        with an ACK carrying its current window. Probes continue, backing off, for as long
        as the peer answers (MUST-37)."""
        if self.state not in _SENDING or self.snd_wnd > 0 or not self.unsent:
            self._persist_backoff = 0
            return
        # One octet of sequence space below SND.UNA, no data: out of window for the peer,
        # so it answers with <SEQ=..><ACK=RCV.NXT><WND=..> (the way Linux probes).
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
        # RFC 9293 §3.7.1 MUST-14 / SHLD-5: announce our MSS in every SYN.
        return (Mss(self.rcv_mss),)

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
        self.iss = self._new_iss(now)
        self.snd_una = self.iss
        self.snd_nxt = self.iss + 1
        self._sbuf_seq = self.iss + 1
        self.passive = False
        self._rtx_since = now
        self._emit(self._segment(self.iss, None, SYN, options=self._syn_options()), now)
        self._rtt_seq, self._rtt_time = self.snd_nxt, now
        self._set_state(SYN_SENT, now, "active OPEN", "RFC 9293 §3.10.1")
        self._arm_rto(now)

    def send(self, data: bytes, now: int) -> int:
        """SEND call (RFC 9293 §3.10.2). Returns how many octets were accepted (the send
        buffer may take fewer than offered)."""
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
            if st in _SENDING:
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

    def close(self, now: int) -> None:
        """CLOSE call (RFC 9293 §3.10.4): no more SENDs; a FIN follows queued data. The
        connection keeps receiving until the peer's FIN arrives (half-close)."""
        st = self.state
        if st is CLOSED:
            raise self.error if self.error is not None else ConnectionDoesNotExist("connection does not exist")
        if st in (LISTEN, SYN_SENT):
            self._enter_closed(now, "CLOSE", "RFC 9293 §3.10.4")
            return
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
        }

    # ------------------------------------------------------------------ output
    def _output(self, now: int) -> None:
        """Send what the windows allow (RFC 9293 §3.8.6.2.1 sender SWS avoidance and
        §3.7.4 Nagle), then a bare ACK if one is owed."""
        st = self.state
        if (self._sbuf or self._fin_queued) and st in _SENDING and self.snd_una != self.iss:
            self._send_data(now)
        if self._ack_now and st is not CLOSED and st is not LISTEN:
            self._send_ack(now)

    def _send_data(self, now: int) -> None:
        sbuf = self._sbuf
        mss = self.snd_mss
        sbuf_seq = self._sbuf_seq
        fin_seq = _seq(_iadd(sbuf_seq, len(sbuf)) & MASK)
        fin_end = _seq(_iadd(fin_seq, 1) & MASK)
        while True:
            rtx = self._rtx_nxt is not None
            pos = self._rtx_nxt if rtx else self.snd_nxt
            off = ((_isub(pos, sbuf_seq) + HALF) & MASK) - HALF
            remaining = len(sbuf) - off
            wnd = self.snd_wnd if self.snd_wnd < self.cc.cwnd else self.cc.cwnd
            usable = ((_iadd(self.snd_una, wnd) - pos + HALF) & MASK) - HALF
            if rtx:
                # Going back over sent data: never past SND.NXT, where new data begins.
                sent = ((_isub(self.snd_nxt, pos) + HALF) & MASK) - HALF
                if remaining > sent:
                    remaining = sent
            if remaining > 0:
                if usable <= 0:
                    break
                n = remaining if remaining < usable else usable
                if n > mss:
                    n = mss
                if n < mss and not rtx:
                    if n < remaining:
                        # Window-limited runt: only if it is at least half the largest
                        # window the peer offered (MUST-38, Fs = 1/2) or nothing is in flight.
                        if n < (self.max_snd_wnd >> 1) and self.snd_nxt != self.snd_una:
                            break
                    elif (self.snd_nxt != self.snd_una and not self.config.nodelay
                          and not self._fin_queued):
                        break  # Nagle (SHLD-7): wait for the outstanding data's ACK
                payload = bytes(sbuf[off:off + n])
                flags = ACK
                if off + n == len(sbuf):
                    flags |= PSH  # MUST-61: PSH on the last buffered segment
                    if self._fin_queued and (not rtx or self.snd_nxt.gt(fin_seq)):
                        flags |= FIN
                        n += 1
                end = _seq(_iadd(pos, n) & MASK)
                self._emit(self._segment(pos, self.rcv_nxt, flags, payload), now,
                           self._rtx_cause if rtx else None)
            elif self._fin_queued and pos == fin_seq and (not rtx or self.snd_nxt.gt(fin_seq)):
                # A bare FIN, sent whatever the window (it carries no data).
                end = fin_end
                self._emit(self._segment(pos, self.rcv_nxt, ACK | FIN), now,
                           self._rtx_cause if rtx else None)
            else:
                break
            if rtx:
                self.retransmits += 1
                self._rtt_seq = None  # Karn
                if end.lt(self.snd_nxt):
                    self._rtx_nxt = end
                else:
                    self._rtx_nxt = None
            else:
                self.snd_nxt = end
                if self._rtt_seq is None:
                    self._rtt_seq, self._rtt_time = end, now
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

    # ------------------------------------------------------------------ SEGMENT ARRIVES
    def segment_arrives(self, seg: TcpSegment, now: int) -> None:
        """SEGMENT ARRIVES (RFC 9293 §3.10.7) for a segment addressed to this TCB."""
        self.segs_in += 1
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
        self.cc.set_smss(self.snd_mss, self.config.initial_window)

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
                self._fail(ConnectionRefused("connection refused"), now, "RST received",
                           "RFC 9293 §3.10.7.3")
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
        self._take_peer_mss(seg)
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
            # process the rest, which now begins at RCV.NXT.
            seg = seg._replace(seq=self.rcv_nxt, flags=f & ~SYN)
            f = seg.flags
        # First: sequence number, with RFC 5961 §3 validation of RSTs.
        if f & RST:
            if seg.seq == self.rcv_nxt:
                self._reset_received(seg, now)
            elif self.rcv_wnd and seg.seq.in_window(self.rcv_nxt, self.rcv_wnd):
                self._drop(seg, now, "rst-not-exact", "challenge ACK (RFC 5961 §3.2)")
                self._send_ack(now)
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
            self._drop(seg, now, "out-of-window", "unacceptable segment: ACK sent")
            self._send_ack(now)
            return
        # Fourth: SYN in SYN-RECEIVED (passive) or any synchronized state.
        if f & SYN:
            if st is SYN_RECEIVED and self.passive:
                self._drop(seg, now, "syn-in-syn-received", "return to LISTEN")
                self._return_to_listen(now, "SYN received in SYN-RECEIVED")
                return
            # RFC 5961 §4: challenge ACK whatever the sequence number.
            self._drop(seg, now, "syn-in-synchronized", "challenge ACK (RFC 5961 §4)")
            self._send_ack(now)
            return
        # Fifth: the ACK field.
        if not f & ACK:
            self._drop(seg, now, "no-ack", "segment without ACK")
            return
        if st is SYN_RECEIVED:
            if self.snd_una.lt(seg.ack) and seg.ack.le(self.snd_nxt):
                self.snd_wnd = seg.wnd
                self.max_snd_wnd = max(self.max_snd_wnd, seg.wnd)
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
        # Sixth: URG (RFC 9293 §3.10.7.4; MUST-62: the pointer names the octet after).
        if f & URG and self.state in _RECEIVING:
            up = seg.seq + seg.urg_ptr
            if up.gt(self.rcv_up):
                self.rcv_up = up
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
        """An RST with SEG.SEQ = RCV.NXT (RFC 9293 §3.10.7.4, first and second checks)."""
        st = self.state
        if st is SYN_RECEIVED:
            if self.passive:
                self._return_to_listen(now, "RST received")
            else:
                self._fail(ConnectionRefused("connection refused"), now, "RST received",
                           "RFC 9293 §3.10.7.4")
        elif st in (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT):
            self._rbuf.clear()
            self._fail(ConnectionReset("connection reset by peer"), now, "RST received",
                       "RFC 9293 §3.10.7.4")
        else:  # CLOSING, LAST-ACK, TIME-WAIT
            self._enter_closed(now, "RST received", "RFC 9293 §3.10.7.4")

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
            self._drop(seg, now, "ack-too-old", "ACK below SND.UNA - MAX.SND.WND (RFC 5961 §5)")
            self._send_ack(now)
            return False
        st = self.state
        if una.lt(ack):
            self._new_ack(ack, now)
        elif ack == una and seg.len == 0 and seg.wnd == self.snd_wnd and self.snd_nxt != una \
                and st in _SENDING:
            self._duplicate_ack(now)
        # Window update (RFC 9293 §3.10.7.4): if SND.UNA =< SEG.ACK =< SND.NXT and the
        # segment is newer than the last update.
        if self.snd_wl1.lt(seg.seq) or (self.snd_wl1 == seg.seq and self.snd_wl2.le(ack)):
            if una.le(ack):
                old = self.snd_wnd
                self.snd_wnd = seg.wnd
                if seg.wnd > self.max_snd_wnd:
                    self.max_snd_wnd = seg.wnd
                self.snd_wl1 = seg.seq
                self.snd_wl2 = ack
                if old == 0 and seg.wnd > 0 and self._persist_at is not None:
                    self._cancel("persist", now)
                    self._persist_backoff = 0
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

    def _new_ack(self, ack: Seq, now: int) -> None:
        """SND.UNA < SEG.ACK =< SND.NXT: remove what is acknowledged, sample the RTT,
        restart or stop the retransmission timer, grow the congestion window."""
        una = self.snd_una
        acked = ((_isub(ack, una) + HALF) & MASK) - HALF
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
        if self._rtx_nxt is not None and self._rtx_nxt.le(ack):
            self._rtx_nxt = ack if ack.lt(self.snd_nxt) else None
        # RTT sample (RFC 6298 (2.2)/(2.3)); Karn: only for segments sent once.
        if self._rtt_seq is not None and ack.ge(self._rtt_seq):
            r = now - self._rtt_time
            self._rtt_seq = None
            self.rtt.sample(r)
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
        # Congestion control (RFC 5681 §3, RFC 6582 §3.2).
        st = self.state
        if st in _SENDING:
            rec = self._recover
            if self._dupacks >= 3 and rec is not None:
                if ack.ge(rec) or not self.cc.partial_ack_recovery:
                    self.cc.exit_recovery(self.flight_size)
                    self._dupacks = 0
                    self._trace_cc(now, "recovery-exit")
                else:
                    # NewReno partial ACK: retransmit the next hole, stay in recovery.
                    self.cc.on_partial_ack(acked)
                    self._retransmit_head(now, "partial-ack")
                    self._trace_cc(now, "partial-ack")
            else:
                self._dupacks = 0
                before = self.cc.cwnd
                self.cc.on_ack(acked, self.flight_size)
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
            self.cc.enter_recovery(self.flight_size)
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
                payload = payload[head:]
                seq = rn
            room = ((_isub(self.rcv_adv, seq) + HALF) & MASK) - HALF
            if len(payload) > room:
                payload = payload[:room if room > 0 else 0]
                fin = 0  # the FIN lies beyond the window
            if payload:
                if seq == self.rcv_nxt:
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
        if delay is None or self._unacked >= 2 * self.rcv_mss:
            self._ack_now = True
        elif self._dack_at is None and not self._ack_now:
            self._arm("delayed-ack", now + delay, now)

    def _out_of_order(self, seq: Seq, payload: bytes, now: int) -> None:
        """Queue data beyond a hole and ACK at once (a duplicate ACK, RFC 5681 §4.2)."""
        if self._ooo is None:
            limit = self.config.ooo_limit if self.config.ooo_limit is not None else self.config.rcv_buf
            self._ooo = Reassembly(limit)
        start = self._rcv_abs + (seq - self.rcv_nxt)
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
