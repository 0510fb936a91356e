"""One TCP connection as a sans-IO state machine: RFC 9293 §3.10 event processing.

Inputs are the §3.10 events, each taking ``now`` (integer nanoseconds): the user calls
``open``, ``send``, ``receive``, ``close``, ``abort``, ``status``; the arrival of a segment
(``segment_arrives``); and the timeouts (``on_timeout`` when ``next_deadline()`` has come).
Outputs are segments appended to ``out`` as ``(TcpSegment, cause)`` pairs, where ``cause``
names why a retransmission happened (``"rto"``, ``"fast-retransmit"``, ...) or is ``None``.
A connection given an ``owner`` tells it after every event (``owner.updated(conn, now)``),
so the owner can take the segments and reschedule the timers without being asked.

This module keeps the user calls, the first-to-eighth check dispatcher of RFC 9293
§3.10.7.4, and the one place that changes state (``_set_state``, which refuses what
``state.TRANSITIONS`` does not allow). The data has owners: :mod:`~synack.tcp.sender` (SND.*,
the send buffer, retransmission, the ACK field), :mod:`~synack.tcp.receiver` (RCV.*, the
window, reassembly, SACK blocks, delivery), :mod:`~synack.tcp.timers` (every timer),
:mod:`~synack.tcp.handshake` (SYN options, LISTEN and SYN-SENT processing).

Nothing here touches sockets, clocks or randomness: the ISN comes from an injected
callable, time from the caller. Errors the peer causes become RSTs, ACKs or traced drops;
errors of the local user raise :mod:`synack.tcp.errors` exceptions.
"""

from __future__ import annotations

from typing import Any

from ..trace.events import NULL_TRACER, ConnectionError_, StateChanged, Tracer
from ..wire.seq import Seq, seq_add, seq_dist
from ..wire.tcp import ACK, CWR, FIN, PSH, RST, SYN, URG, TcpSegment, Timestamps
from . import keepalive as _keepalive
from . import timestamps as _ts
from .config import TcpConfig
from .control import Control
from .errors import (ConnectionAborted, ConnectionClosing, ConnectionDoesNotExist, ConnectionExists,
                     ConnectionRefused, ConnectionReset, ConnectionTimeout, IllegalTransition, TcpError,
                     Unreachable)
from .fastopen import ClientFastOpen, ServerFastOpen
from .handshake import DEFAULT_SND_MSS_V4, DEFAULT_SND_MSS_V6, Handshake
from .output import CE, ECT0
from .receiver import RECEIVING, Receiver
from .rfc5961 import challenge_refused
from .sender import SENDING, Sender
from .state import TRANSITIONS, State
from .tcb import IsnSource, Owner
from .timers import Timer, Timers

__all__ = ["Connection", "IsnSource", "Owner", "reset_for", "ECT0", "CE"]

CLOSED, LISTEN, SYN_SENT, SYN_RECEIVED = State.CLOSED, State.LISTEN, State.SYN_SENT, State.SYN_RECEIVED
ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2 = State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2
CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT = State.CLOSE_WAIT, State.CLOSING, State.LAST_ACK, State.TIME_WAIT
# (module constants: an Enum member read through its class costs a lookup each time)
_RTO, _TIME_WAIT, _DELAYED_ACK, _PERSIST = Timer.RTO, Timer.TIME_WAIT, Timer.DELAYED_ACK, Timer.PERSIST
_TLP, _KEEPALIVE = Timer.TLP, Timer.KEEPALIVE
_ts_lt = _ts.ts_lt
_CLOSED_FOR_SENDING = frozenset({FIN_WAIT_1, FIN_WAIT_2, CLOSING, LAST_ACK, TIME_WAIT})
_SYNCHRONIZED_OPEN = frozenset({ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT})

_EMPTY = b""
#: state -> the states it may change to (state.TRANSITIONS, looked up by the first of each pair)
_NEXT = {st: frozenset(n for o, n in TRANSITIONS if o is st) for st in State}


def reset_for(seg: TcpSegment) -> TcpSegment | None:
    """The reset RFC 9293 §3.10.7.1 sends for a segment that matches no connection:
    <SEQ=SEG.ACK><CTL=RST> if it had ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>;
    None for an incoming RST, which is never answered."""
    f = seg.flags
    if f & RST:
        return None
    if f & ACK:
        return TcpSegment(seg.dst_port, seg.src_port, seg.ack, Seq(0), RST, 0)
    return TcpSegment(seg.dst_port, seg.src_port, Seq(0), seg.seq + seg.len, RST | ACK, 0)


class Connection(Handshake, Control):
    """A TCB and the procedures of RFC 9293 §3.10 that act on it."""

    __slots__ = ()

    def __init__(self, local_addr: str, local_port: int, remote_addr: str, remote_port: int, *,
                 config: TcpConfig | None = None, isn: IsnSource | None = None,
                 tracer: Tracer = NULL_TRACER, mss_limit: int | None = None,
                 owner: Owner | None = None, challenge: Any = None) -> None:
        self.local_addr = local_addr
        self.local_port = local_port
        self.remote_addr = remote_addr
        self.remote_port = remote_port
        self.cid = (local_addr, local_port, remote_addr, remote_port)
        cfg = self.config = config if config is not None else TcpConfig()
        self.tr = tracer
        self.isn = isn
        self.state = CLOSED
        self.passive = False
        ipv6 = self.ipv6 = ":" in local_addr
        # MMS_S - 20 for the fixed TCP header: 1460 on a 1500-byte IPv4 link (MUST-16/67).
        if mss_limit is None:
            mss_limit = 1440 if ipv6 else 1460
        self.mss_limit = mss_limit
        self.timers = Timers(self)
        mss = cfg.mss  # (the MSS we announce: min(cfg.mss or mss_limit, mss_limit))
        self.rcv = Receiver(self, mss if mss and mss < mss_limit else mss_limit)
        self.snd = Sender(self, DEFAULT_SND_MSS_V6 if ipv6 else DEFAULT_SND_MSS_V4, cfg)
        # Nothing is negotiated until the peer's SYN or SYN,ACK says so (_negotiate).
        self.ws_ok = self.ts_ok = self.sack_ok = self.ecn_ok = False
        self.snd_wscale = self.rcv_wscale = self.ts_off = self._now = 0
        self.out: list = []
        self.error: TcpError | None = None
        self.soft_error: str | None = None
        self.icmp_error: Unreachable | None = None
        self.challenge = challenge  # the host's RFC 5961 §7 challenge-ACK limiter, or None
        self.segs_in = self.segs_out = 0
        self._ka: _keepalive.KeepAlive | None = None
        self._tfo: ClientFastOpen | ServerFastOpen | None = None
        self.owner = owner
        self._told_state: State | None = None
        self._told_at: int | None = None
        self.hold_ack = False

    def __repr__(self) -> str:
        return (f"<Connection {self.local_addr}:{self.local_port} -> "
                f"{self.remote_addr}:{self.remote_port} {self.state}>")

    def urgent_octet(self) -> int | None:
        """The last octet of urgent data if it arrived and was not read yet (MSG_OOB's)."""
        return self.rcv.urgent_octet()

    def next_deadline(self) -> int | None:
        """The earliest pending timer, or None."""
        return self.timers.next_deadline()

    # ------------------------------------------------------------------ state and output
    def _settle(self, now: int) -> None:
        """The end of every event: tell the owner, which takes what was queued and keeps
        its tables current, when anything it sees changed (output, state, next deadline)."""
        owner = self.owner
        if owner is not None and (self.out or self.state is not self._told_state
                                  or self.timers.next != self._told_at):
            self._told_state = self.state
            self._told_at = self.timers.next
            owner.updated(self, now)

    def _set_state(self, new: State, now: int, cause: str, rule: str = "", trace: bool = True) -> None:
        """The one place the state changes; a change RFC 9293 does not allow is a bug."""
        old = self.state
        if new not in _NEXT[old]:
            raise IllegalTransition(old, new, cause)
        self.state = new
        established = new is ESTABLISHED
        if established:
            snd = self.snd
            if snd.retransmits and snd.rtt.srtt is None:
                # RFC 6298 (5.7): the SYN timed out, so data starts with an RTO of 3 s.
                snd.rtt.after_syn_timeout()
        tr = self.tr
        if tr.on and trace:
            tr.emit(StateChanged(now, tr.host, self.cid, old.value, new.value, cause, rule))
        if established and self.config.keepalive:
            self._keepalive_state(now).start(now)  # RFC 9293 §3.8.4: idle time counts from here

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
        self.timers.cancel_all(now)
        self.snd.clear()
        self.rcv.forget_out_of_order()
        self._set_state(CLOSED, now, cause, rule)

    def _enter_time_wait(self, now: int, cause: str) -> None:
        """TIME-WAIT lasts 2*MSL (RFC 9293 §3.6.1 MUST-13); other timers stop."""
        timers = self.timers
        for t in (_RTO, _DELAYED_ACK, _PERSIST):
            timers.cancel(t, now)
        self._set_state(TIME_WAIT, now, cause, "RFC 9293 §3.10.7.4")
        timers.arm(_TIME_WAIT, now + 2 * self.config.msl, now)

    def time_wait_ended(self, now: int, cause: str, rule: str, trace: bool = False) -> None:
        """TIME-WAIT ends elsewhere: the record that took this connection over
        (tcp/timewait.py) ended it and traced it (``trace=False``), or the host has no room
        for another TIME-WAIT entry (``trace=True``). The TCB is deleted: CLOSED."""
        if self.state is not TIME_WAIT:
            return
        if trace:
            self._enter_closed(now, cause, rule)
            return
        self.timers.forget_all()
        self.snd.clear()
        self.rcv.forget_out_of_order()
        self._set_state(CLOSED, now, cause, rule, trace=False)
        self._told_state = CLOSED

    # ------------------------------------------------------------------ timers
    def on_timeout(self, now: int) -> None:
        """RFC 9293 §3.10.8: run whichever timers are due at ``now``."""
        self._now = now
        timers = self.timers
        snd = self.snd
        if timers.expire(_TIME_WAIT, now):
            # TIME-WAIT timeout: delete the TCB (RFC 9293 §3.10.8).
            self._enter_closed(now, "2*MSL elapsed", "RFC 9293 §3.10.8")
            self._settle(now)
            return
        kind = timers.which(_TLP)
        if kind is not None and timers.expire(kind, now):
            # RFC 8985: the tail loss probe (§7.3) or the RACK reordering timer (§6.2). First:
            # a probe due with the RTO goes out in its place and restarts it (§7.2).
            if kind is _TLP:
                snd.tlp_expired(now)
            else:
                snd.rack_expired(now)
        if timers.expire(_RTO, now, snd.rtt.backoff):
            snd.rto_expired(now)
        if timers.expire(_PERSIST, now, snd.persist_backoff):
            snd.persist_expired(now)  # a zero-window probe, or the SWS override (one slot)
        if timers.expire(_DELAYED_ACK, now) and self.state.synchronized and self.state is not TIME_WAIT:
            self.rcv.delayed_ack_fired()
            self._send_ack(now)
        ka = self._ka
        if ka is not None and self.state is not CLOSED and timers.expire(_KEEPALIVE, now, ka.probes):
            ka.expired(now)  # RFC 9293 §3.8.4 keep-alive probe or give up
        self._settle(now)

    # ------------------------------------------------------------------ user calls
    def open(self, now: int, active: bool = True, trace: bool = True) -> None:
        """OPEN call (RFC 9293 §3.10.1): active sends a SYN; passive enters LISTEN.

        ``trace=False`` enters LISTEN silently: a host uses it for the connection record it
        makes for each SYN that reaches a listening socket.
        """
        if not trace and not active and self.state is CLOSED:
            self.passive = True
            self._set_state(LISTEN, now, "passive OPEN", "RFC 9293 §3.10.1", trace=False)
            return
        if self.state is not CLOSED:
            if self.state is LISTEN and active:
                self._active_open(now)
                self._settle(now)
                return
            raise ConnectionExists("connection already exists")
        if active:
            self._active_open(now)
        else:
            self.passive = True
            self._set_state(LISTEN, now, "passive OPEN", "RFC 9293 §3.10.1")
        self._settle(now)

    def send(self, data: bytes, now: int, urgent: bool = False) -> int:
        """SEND call (RFC 9293 §3.10.2). Returns how many octets were accepted (the send
        buffer may take fewer than offered). ``urgent`` is the call's URGENT flag: SND.UP
        moves to just after the accepted octets, and the segments that start before it
        carry URG (RFC 9293 §3.8.5 MUST-30, MUST-31: urgent data of any length)."""
        self._now = now  # (every entry point notes the time: the TSval clock reads it)
        st = self.state
        if st is CLOSED:
            raise self.error if self.error is not None else ConnectionDoesNotExist("connection does not exist")
        if st in _CLOSED_FOR_SENDING or self.snd.fin_queued:
            raise ConnectionClosing("connection closing")
        if st is LISTEN:
            # RFC 9293 §3.10.2 allows switching to active; synack requires a remote to open.
            self._active_open(now)
        n = self.snd.queue(data, urgent)
        tfo = self._tfo
        if n and (st in SENDING or (st is SYN_RECEIVED and tfo is not None and tfo.accepted)):
            # (a Fast Open server may send before the handshake completes, RFC 7413 §4.2.2)
            self._output(now)
        self._settle(now)
        return n

    def receive(self, max_bytes: int, now: int) -> bytes:
        """RECEIVE call (RFC 9293 §3.10.3): up to ``max_bytes`` octets of in-order data.

        Returns b"" when nothing is buffered yet. Once the peer's FIN has arrived and every
        octet before it has been read (``at_eof``), raises ConnectionClosing.
        """
        rcv = self.rcv
        if self.state is CLOSED and not rcv.buf:
            if self.error is not None:
                raise self.error
            raise ConnectionDoesNotExist("connection does not exist")
        self._now = now
        if not rcv.buf:
            if rcv.fin_received:
                # RFC 9293 §3.10.3 CLOSE-WAIT: "If no text is awaiting delivery, the RECEIVE
                # will get an 'error: connection closing' response" (and in CLOSING, LAST-ACK,
                # TIME-WAIT). Data still on hand is returned first, as in CLOSE-WAIT.
                raise ConnectionClosing("connection closing")
            return _EMPTY
        data = rcv.take(max_bytes)
        if self.state in RECEIVING:
            rcv.window_update_after_read(now)
        self._settle(now)
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
        self._close(st, now, keep_receiving)
        self._settle(now)

    def _close(self, st: State, now: int, keep_receiving: bool) -> None:
        snd, rcv = self.snd, self.rcv
        if st is LISTEN or st is SYN_SENT:
            self._enter_closed(now, "CLOSE", "RFC 9293 §3.10.4")
            return
        if not keep_receiving:
            rcv.rd_closed = True
            if rcv.buf and (st is SYN_RECEIVED or st in _SYNCHRONIZED_OPEN):
                # RFC 9293 §3.6.1 SHLD-3: unread data is lost; say so with <SEQ=SND.NXT><CTL=RST>.
                self._active_reset(now)
                rcv.discard()
                self._enter_closed(now, "CLOSE with unread data: RST", "RFC 9293 §3.6.1 SHLD-3")
                return
            if st in _CLOSED_FOR_SENDING or snd.fin_queued:
                return  # already closed for sending: now closed for receiving too
        if st in _CLOSED_FOR_SENDING or snd.fin_queued:
            raise ConnectionClosing("connection closing")
        snd.queue_fin()
        if st is SYN_RECEIVED or st is ESTABLISHED:
            self._set_state(FIN_WAIT_1, now, "CLOSE", "RFC 9293 §3.10.4")
        else:  # CLOSE-WAIT
            self._set_state(LAST_ACK, now, "CLOSE", "RFC 9293 §3.10.4")
        if snd.snd_una != snd.iss or st is not SYN_RECEIVED:
            self._output(now)
        elif not snd.buf:
            # RFC 9293 §3.10.4 SYN-RECEIVED: "If no SENDs have been issued and there is no
            # pending data to send, then form a FIN segment and send it". Our SYN is not
            # acknowledged yet, so _output would hold it: send <SEQ=ISS+1><CTL=FIN,ACK> here.
            # The RTO already running retransmits the SYN,ACK first, then this FIN.
            snd.send_fin_now(now)

    def abort(self, now: int) -> None:
        """ABORT call (RFC 9293 §3.10.5): send <SEQ=SND.NXT><CTL=RST> where the peer is
        synchronized with us (with ``rst_ack``, Linux's RST,ACK), flush everything, enter CLOSED."""
        st = self.state
        if st is CLOSED:
            raise ConnectionDoesNotExist("connection does not exist")
        if st is SYN_RECEIVED or st in _SYNCHRONIZED_OPEN:
            self._active_reset(now)
        self.error = ConnectionAborted("connection aborted")
        self.rcv.discard()
        self._enter_closed(now, "ABORT", "RFC 9293 §3.10.5")
        self._settle(now)

    def status(self) -> dict:
        """STATUS call (RFC 9293 §3.10.6): the TCB as a dict."""
        snd, rcv = self.snd, self.rcv
        lr = snd.lr
        return {
            "state": self.state.value,
            "local": (self.local_addr, self.local_port),
            "remote": (self.remote_addr, self.remote_port),
            "iss": int(snd.iss), "snd_una": int(snd.snd_una), "snd_nxt": int(snd.snd_nxt),
            "snd_wnd": snd.snd_wnd, "irs": int(rcv.irs), "rcv_nxt": int(rcv.rcv_nxt),
            "rcv_wnd": rcv.rcv_wnd, "snd_mss": snd.snd_mss, "rcv_mss": rcv.rcv_mss,
            "cwnd": snd.cc.cwnd, "ssthresh": snd.cc.ssthresh, "srtt": snd.rtt.srtt,
            "rttvar": snd.rtt.rttvar, "rto": snd.rtt.timeout, "retransmits": snd.retransmits,
            "readable": len(rcv.buf), "unsent": snd.unsent, "unacked": snd.flight_size,
            "error": self.error.code if self.error else None, "soft_error": self.soft_error,
            "urgent": self.urgent_remaining, "keepalive": self.config.keepalive,
            # what the handshake negotiated (RFC 7323, RFC 2018, RFC 3168), and loss recovery
            "snd_wscale": self.snd_wscale if self.ws_ok else None,
            "rcv_wscale": self.rcv_wscale if self.ws_ok else None,
            "timestamps": self.ts_ok, "sack": self.sack_ok, "ecn": self.ecn_ok,
            "ca_state": snd.ca_state,
            "sacked": lr.sb.sacked_bytes if lr is not None else 0,
        }

    # ------------------------------------------------------------------ SEGMENT ARRIVES
    def segment_arrives(self, seg: TcpSegment, now: int, ce: bool = False) -> None:
        """SEGMENT ARRIVES (RFC 9293 §3.10.7) for a segment addressed to this TCB.

        ``ce``: the IP header said Congestion Experienced (RFC 3168 §5), which the host
        reads; the connection echoes it with ECE until the sender's CWR (§6.1.3)."""
        self.segs_in += 1
        self._now = now
        if self.ecn_ok:
            rcv = self.rcv
            if seg.flags & CWR:
                rcv.ece = False  # RFC 3168 §6.1.3: the sender reduced its window
            if ce:
                rcv.ece = True
                rcv.ack_now = True  # tell the sender at once (as Linux's quick ACK on CE)
        ka = self._ka
        if ka is not None:
            ka.heard_from_peer(now)  # keep-alive idleness counts from the last segment heard
        st = self.state
        # (header prediction only for ACK or ACK,PSH; SYN, FIN, RST, URG, ECE, CWR take the full checks)
        if st is ESTABLISHED and seg.flags & ~PSH == ACK and self._predicted(seg, now):
            pass  # the next data in order, or an ACK of new data: done
        elif st is CLOSED:
            self._closed_state(seg, now)
        elif st is LISTEN:
            self._listen_state(seg, now)
        elif st is SYN_SENT:
            self._syn_sent_state(seg, now)
        else:
            self._other_states(seg, now)
        self._settle(now)

    def _predicted(self, seg: TcpSegment, now: int) -> bool:
        """Header prediction: RFC 9293 §3.10.7.4 for the two segments an ESTABLISHED
        connection mostly gets, the next data in order (acknowledging nothing new) and a
        pure ACK of new data, when every check but the ACK field and the text is known to
        pass. False (and nothing done) for any other segment: the full dispatch follows.
        (The caller sends only segments whose flags are ACK, or ACK and PSH.)"""
        rcv = self.rcv
        seq = seg.seq
        if seq != rcv.rcv_nxt:
            return False
        ts = None
        if self.ts_ok:
            o = seg.options  # (NOP, NOP, TS: RFC 7323 Appendix A; anything else goes the long way)
            if len(o) != 3 or type(o[2]) is not Timestamps:
                return False
            ts = o[2]
            if _ts_lt(ts.tsval, rcv.ts_recent):
                return False  # (PAWS decides)
        snd = self.snd
        payload = seg.payload
        una = snd.snd_una
        if payload:
            if (seg.ack != una or snd.lr is not None or rcv.ooo or rcv.rd_closed
                    or len(payload) > seq_dist(rcv.rcv_adv, seq)):
                return False
            # Fifth check: nothing new acknowledged. The window update (RFC 9293 §3.10.7.4)
            # of a peer whose window did not move only records SND.WL1 and SND.WL2.
            w = seg.wnd << self.snd_wscale
            if w and w == snd.snd_wnd and seq_dist(seq, snd.snd_wl1) > 0:
                snd.snd_wl1 = seq
                snd.snd_wl2 = una
            else:
                snd.window_update(seg, una, now)
        elif (d := seq_dist(seg.ack, una)) > 0 and not seg.ack.gt(snd.snd_nxt):
            snd.ack_arrives(seg, now, d)  # fifth check: new data acknowledged
        else:
            return False
        if ts is not None and not rcv.last_ack_sent.lt(seq):
            rcv.take_timestamp(ts.tsval, now)  # RFC 7323 §4.3 (1)
        if payload:
            rcv.deliver(payload, now)  # seventh check: in order, within the window
        self._output(now)
        return True

    def _closed_state(self, seg: TcpSegment, now: int) -> None:
        """RFC 9293 §3.10.7.1: a reset answers everything but a reset."""
        self._drop(seg, now, "closed", "no TCB")
        rst = reset_for(seg)
        if rst is not None:
            self._emit(rst, now)

    def _acceptable(self, seg: TcpSegment) -> bool:
        """The segment acceptability test of RFC 9293 §3.10.7.4 (first check)."""
        rcv = self.rcv
        rn = rcv.rcv_nxt
        wnd = seq_dist(rcv.rcv_adv, rn)  # RCV.WND
        if wnd < 0:
            wnd = 0
        f = seg.flags
        slen = len(seg.payload) + (1 if f & SYN else 0) + (1 if f & FIN else 0)
        if slen == 0:
            if wnd == 0:
                return seg.seq == rn
            return seg.seq.in_window(rn, wnd)
        if wnd == 0:
            # A bare FIN at RCV.NXT needs no buffer: Linux takes it into a zero window
            # (fin_in_zero_window); RFC 9293 refuses any segment with SEG.LEN > 0.
            return slen == 1 and f & FIN != 0 and seg.seq == rn and self.config.fin_in_zero_window
        return seg.seq.in_window(rn, wnd) or seq_add(seg.seq, slen - 1).in_window(rn, wnd)

    def _other_states(self, seg: TcpSegment, now: int) -> None:
        """RFC 9293 §3.10.7.4: SYN-RECEIVED and the synchronized states, check by check."""
        f = seg.flags
        st = self.state
        rcv = self.rcv
        if (st is SYN_RECEIVED and not self.passive and f & SYN and f & ACK and not f & RST
                and seg.seq == rcv.irs):
            seg = self._trim_simultaneous_syn(seg)
            f = seg.flags
            if self.config.ack_simultaneous_synack:
                rcv.ack_now = True  # Linux acknowledges the SYN,ACK that ends a simultaneous open
        ts = None
        older = False  # (SEG.TSval < TS.Recent, with timestamps)
        if self.ts_ok and not f & RST:
            # RFC 7323 §3.2 and §5.3 R1 (PAWS), before the sequence number check.
            o = seg.options
            ts = o[2] if len(o) == 3 and type(o[2]) is Timestamps else _ts.find_timestamps(o)
            if ts is None:
                # "If a non-<RST> segment is received without a TSopt, a TCP SHOULD
                # silently drop the segment."
                self._drop(seg, now, "no-timestamp", "TSopt missing (RFC 7323 §3.2)")
                return
            older = _ts_lt(ts.tsval, rcv.ts_recent)
            if older and _ts.paws_rejects(ts.tsval, rcv.ts_recent, rcv.ts_recent_age, now):
                # An old duplicate: ACK (with a D-SACK for its data) and drop.
                news = rcv.old_duplicate(seg)
                self._oow_ack(seg, now, "paws", f"TSval {ts.tsval} older than TS.Recent "
                                                 f"{rcv.ts_recent} (RFC 7323 §5.3)", news)
                return
        # First: sequence number, with RFC 5961 §3 validation of RSTs.
        if f & RST:
            if seg.seq == rcv.rcv_nxt:
                self._reset_received(seg, now)
            elif rcv.rcv_wnd and seg.seq.in_window(rcv.rcv_nxt, rcv.rcv_wnd):
                self._challenge_ack(seg, now, "rst-not-exact", "challenge ACK (RFC 5961 §3.2)")
            else:
                self._drop(seg, now, "out-of-window", "RST outside the receive window")
            return
        rn = rcv.rcv_nxt
        if (seg.seq != rn or ((seg.payload or f & (SYN | FIN)) and seq_dist(rcv.rcv_adv, rn) <= 0)) \
                and not self._acceptable(seg):
            # (a segment at RCV.NXT is acceptable if it is empty or the window is open: the
            # common case needs no more of the test, as in header prediction)
            self._unacceptable(seg, st, now)
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
        if st is SYN_RECEIVED and not self._syn_received_ack(seg, now):
            return
        if not self._ack_field(seg, now):
            # The segment is done with, but the send side may now go on: queued data and
            # the FIN still leave in CLOSING and LAST-ACK (RFC 9293 §3.10.4).
            if self.state is not CLOSED:
                self._output(now)
            return
        if self.state is CLOSED:
            return
        if ts is not None and not rcv.last_ack_sent.lt(seg.seq) and (
                not older or now - rcv.ts_recent_age > _ts.PAWS_IDLE):
            # RFC 7323 §4.3 (1), §5.3 R3: an acceptable segment at or left of Last.ACK.sent
            # with SEG.TSval >= TS.Recent updates TS.Recent (any does once TS.Recent has gone
            # stale, §5.5). Only once the SYN and ACK checks passed, as Linux does: a forged
            # in-window segment (a SYN, an ACK too old, RFC 5961) must not move TS.Recent,
            # or PAWS would then drop the real peer's segments.
            rcv.take_timestamp(ts.tsval, now)
        # Sixth: URG (the receiver keeps RCV.UP).
        if f & URG and seg.urg_ptr and self.state in RECEIVING:
            rcv.urgent(seg)
        # Seventh and eighth: segment text and FIN (the receiver; _peer_fin for the state).
        if seg.payload:
            rcv.text_and_fin(seg, now)
        elif f & FIN:
            if seg.seq == rcv.rcv_nxt:
                rcv.fin_arrives(now)  # (a bare FIN at RCV.NXT: all that text_and_fin would do)
            else:
                rcv.text_and_fin(seg, now)
        self._output(now)

    def _unacceptable(self, seg: TcpSegment, st: State, now: int) -> None:
        """First check failed: RFC 9293 §3.10.7.4 answers with an ACK, with its exceptions."""
        f = seg.flags
        rcv = self.rcv
        if st is TIME_WAIT and f & FIN and seg.seq + seg.len == rcv.rcv_nxt:
            # The peer did not get our ACK of its FIN: acknowledge it again and
            # restart the 2*MSL timeout (RFC 9293 §3.10.7.4, eighth, TIME-WAIT).
            self._drop(seg, now, "retransmitted-fin", "FIN again in TIME-WAIT: re-ACK, restart 2*MSL")
            self._send_ack(now)
            self.timers.arm(_TIME_WAIT, now + 2 * self.config.msl, now)
            return
        if rcv.rcv_wnd == 0 and seg.seq == rcv.rcv_nxt and f & ACK:
            # Zero window: valid ACKs and URGs are still processed (RFC 9293 §3.10.7.4; §3.4
            # MUST-66), the text is not: the user learns that urgent data is coming.
            self._drop(seg, now, "zero-window", "data beyond a zero receive window")
            if self._ack_field(seg, now):
                if f & URG and seg.urg_ptr and self.state in RECEIVING:
                    rcv.urgent(seg)
                self._send_ack(now)
            return
        if st is SYN_RECEIVED and f & (SYN | ACK) == SYN and seg.seq == rcv.irs and self.passive \
                and self.config.syn_received_resends_synack:
            # The peer's SYN again: our SYN,ACK was lost, so send it again (Linux
            # tcp_check_req); RFC 9293 §3.10.7.4 would answer with a bare ACK.
            self._drop(seg, now, "syn-retransmitted", "the peer's SYN again: SYN,ACK resent")
            self.snd.retransmit_head(now, "syn-retransmitted")
            return
        if f & SYN and st is not TIME_WAIT and st is not SYN_RECEIVED:
            # RFC 5961 §4.2: a SYN in a synchronized state draws a challenge ACK
            # "irrespective of the sequence number", rate-limited like the others (§7).
            self._challenge_ack(seg, now, "syn-in-synchronized", "challenge ACK (RFC 5961 §4)")
            return
        news = rcv.old_duplicate(seg)  # RFC 2883: report data received twice as a D-SACK
        if len(seg.payload) <= 1 and seq_add(seg.seq, 1) == rcv.rcv_nxt:
            # A probe: SEG.SEQ = RCV.NXT - 1 with no data or one octet is how keep-alives
            # and zero-window probes ask for an ACK (RFC 9293 §3.8.4, §3.8.6.1 MUST-37).
            news = True
        self._oow_ack(seg, now, "out-of-window", "unacceptable segment", news)

    def _ack_field(self, seg: TcpSegment, now: int) -> bool:
        """Fifth check, for ESTABLISHED and later. Returns False when processing stops."""
        snd = self.snd
        ack = seg.ack
        if ack.gt(snd.snd_nxt):
            # Acknowledges something not yet sent: ACK, drop, return.
            self._oow_ack(seg, now, "ack-of-unsent", "ACK beyond SND.NXT")
            return False
        # RFC 5961 §5 (MAY-12): too old to be plausible. RFC 9293 §3.10.7.4 fifth: "All
        # incoming segments whose ACK value doesn't satisfy the above condition MUST be
        # discarded and an ACK sent back", also when nothing of ours is outstanding (that
        # is when blind data injection is easiest). (SEG.ACK < SND.UNA - MAX.SND.WND)
        # (Only an ACK below SND.UNA can be: what is in flight, SND.NXT - SND.UNA, never
        # reaches 2**31 - MAX.SND.WND, where the sum would wrap.)
        d = seq_dist(ack, snd.snd_una)
        if d < 0 and seq_add(ack, max(snd.max_snd_wnd, 1)).lt(snd.snd_una):
            self._challenge_ack(seg, now, "ack-too-old", "ACK below SND.UNA - MAX.SND.WND (RFC 5961 §5)")
            return False
        st = self.state
        snd.ack_arrives(seg, now, d)
        # Per-state additions.
        if st is FIN_WAIT_1:
            if snd.fin_acked:
                self._set_state(FIN_WAIT_2, now, "ACK of FIN", "RFC 9293 §3.10.7.4")
        elif st is CLOSING:
            if snd.fin_acked:
                self._enter_time_wait(now, "ACK of FIN")
            return False
        elif st is LAST_ACK:
            if snd.fin_acked:
                self._enter_closed(now, "ACK of FIN", "RFC 9293 §3.10.7.4")
            return False
        elif st is TIME_WAIT:
            return False
        return True

    def _peer_fin(self, now: int) -> None:
        """Eighth check, the state part: the peer's FIN arrived in order (RFC 9293 §3.10.7.4)."""
        st = self.state
        if st is SYN_RECEIVED or st is ESTABLISHED:
            self._set_state(CLOSE_WAIT, now, "FIN received", "RFC 9293 §3.10.7.4")
        elif st is FIN_WAIT_1:
            if self.snd.fin_acked:
                self._enter_time_wait(now, "FIN received")
            else:
                self._set_state(CLOSING, now, "FIN received (simultaneous close)", "RFC 9293 §3.10.7.4")
        elif st is FIN_WAIT_2:
            self._enter_time_wait(now, "FIN received")
        elif st is TIME_WAIT:
            self.timers.arm(_TIME_WAIT, now + 2 * self.config.msl, now)

    def _reset_received(self, seg: TcpSegment, now: int) -> None:
        """An RST with SEG.SEQ = RCV.NXT (RFC 9293 §3.10.7.4, first and second checks).

        Data in the RST is diagnostic text (RFC 9293 §3.5.3 SHLD-2): it is kept as the
        error's ``diagnostic`` and never delivered as stream data."""
        st = self.state
        err: TcpError
        if st is SYN_RECEIVED:
            if self.passive:
                err = ConnectionReset("connection reset by peer")
                err.diagnostic = bytes(seg.payload)
                self._abandon_passive(now, "RST received", err)
            else:
                err = ConnectionRefused("connection refused")
                err.diagnostic = bytes(seg.payload)
                self._fail(err, now, "RST received", "RFC 9293 §3.10.7.4")
        elif st in _SYNCHRONIZED_OPEN:
            self.rcv.reset_arrives()
            err = ConnectionReset("connection reset by peer")
            err.diagnostic = bytes(seg.payload)
            self._fail(err, now, "RST received", "RFC 9293 §3.10.7.4")
        elif st is TIME_WAIT and self.config.rfc1337:
            # RFC 1337 §3 (TIME-WAIT assassination): ignore RSTs in TIME-WAIT.
            self._drop(seg, now, "rfc1337", "RST in TIME-WAIT ignored (RFC 1337)")
        else:  # CLOSING, LAST-ACK, TIME-WAIT
            self._enter_closed(now, "RST received", "RFC 9293 §3.10.7.4")

    def _challenge_ack(self, seg: TcpSegment, now: int, reason: str, detail: str) -> None:
        """Drop ``seg`` and send a challenge ACK (RFC 5961 §3.2, §4.2, §5.2), unless this
        connection answered an unacceptable segment less than ``invalid_ratelimit`` ago or
        the host's limiter says too many were sent (RFC 5961 §7): then drop it silently."""
        why = challenge_refused(self.rcv.oow_ack_allowed(now), self.challenge, now, self.config.invalid_ratelimit,
                                reason)
        if why is None:
            self._drop(seg, now, reason, detail)
            self._send_ack(now)
        else:
            self._drop(seg, now, "challenge-ack-limit", why)

    def _oow_ack(self, seg: TcpSegment, now: int, reason: str, detail: str, news: bool = False) -> None:
        """Drop an unacceptable ``seg`` and answer it with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
        (RFC 9293 §3.10.7.4), at most once per ``config.invalid_ratelimit`` per connection
        (Linux's tcp_invalid_ratelimit), so that a flood of them is not answered in kind;
        ``news``: the ACK reports a new D-SACK block, and leaves whatever the limit says."""
        if self.rcv.oow_ack_allowed(now, news):
            self._drop(seg, now, reason, detail + ": ACK sent")
            self._send_ack(now)
        else:
            gap = (self.config.invalid_ratelimit or 0) // 10**6
            self._drop(seg, now, reason, f"{detail}: no ACK (one per {gap} ms)")
