"""What a connection sends: segments built from the TCB, queued for the owner to take.

:class:`Output` is the part of :class:`~synack.tcp.connection.Connection` that turns the
sender's and the receiver's state into segments: the window and options of the moment
(RFC 9293 §3.8.6.2.2, RFC 7323, RFC 2018), the ECN and urgent bits (RFC 3168 §6.1, RFC 9293
§3.8.5), and the queue ``out`` of ``(segment, cause)`` pairs that the connection's owner
drains. Every segment with ACK tells the receiver that the ACK it owed is paid.

"""

from __future__ import annotations

from ..trace.events import SegmentDropped
from ..wire.seq import MASK, Seq, seq_add, seq_dist
from ..wire.tcp import ACK, ECE, RST, SYN, URG, Nop, TcpSegment, Timestamps
from . import timestamps as _ts
from .sender import SENDING
from .state import State
from .tcb import Tcb

__all__ = ["Output", "ECT0", "CE"]

#: RFC 3168 §5: the ECN field's codepoints (ECT(0) is what a data sender sets).
ECT0, CE = 0b10, 0b11

_EMPTY = b""
_NOP = Nop()
_tuple_new = tuple.__new__
_SEQ0 = Seq(0)
_TS_TICK = _ts.TS_TICK
_CLOSED, _LISTEN, _SYN_RECEIVED, _ESTABLISHED = State.CLOSED, State.LISTEN, State.SYN_RECEIVED, State.ESTABLISHED


class Output(Tcb):
    """Building and queueing our segments (see the module docstring)."""

    __slots__ = ()

    def _segment(self, seq: Seq, ack: Seq | None, flags: int, payload: bytes = _EMPTY,
                 options: tuple = ()) -> TcpSegment:
        """A segment from us: window, options and the ECN and urgent bits of the moment."""
        rcv = self.rcv
        if flags & SYN:
            # RFC 7323 §2.2: "The window field in a segment where the SYN bit is set
            # MUST NOT be scaled". RFC 3168 §6.1.1: the ECN-setup bits.
            wnd = rcv.syn_window()
            if flags & ACK:
                rcv.rcv_adv = seq_add(rcv.rcv_nxt, wnd)  # the first window we offer
            flags |= self._syn_ecn_bits(flags)
        elif flags & ACK:
            wnd, opts, ece = self._ack_fields()
            if opts is not None:
                options = opts
            flags |= ece
        else:
            wnd = 0
        snd = self.snd
        if snd.urgent and flags & ACK:
            # Urgent mode (RFC 9293 §3.8.5 MUST-30/62): URG and the offset of the octet
            # following the urgent data, on every segment that starts before SND.UP.
            up = seq_dist(snd.snd_up, seq)
            if up > 0:
                return TcpSegment(self.local_port, self.remote_port, seq, ack if ack is not None else Seq(0),
                                  flags | URG, wnd, payload, options, up if up <= 0xFFFF else 0xFFFF)
        return _tuple_new(TcpSegment, (self.local_port, self.remote_port, seq, ack if ack is not None else _SEQ0,
                                       flags, wnd, payload, options, 0))

    def _ack_fields(self) -> tuple[int, tuple | None, int]:
        """The window, the options (None: none of our own) and the ECE bit of a segment with
        ACK but no SYN, as they are now. Several segments sent in one go share them while
        no SACK block is reported (a D-SACK block goes out once)."""
        rcv = self.rcv
        wnd = rcv.advertise()
        options: tuple | None = None
        if rcv.sackr is not None:
            options = rcv.ack_options((self._now // _TS_TICK + self.ts_off) & MASK)
        elif self.ts_ok:
            options = (_NOP, _NOP, _tuple_new(Timestamps, (  # (the common case, inline)
                (self._now // _TS_TICK + self.ts_off) & MASK, rcv.ts_recent)))
        # RFC 3168 §6.1.3: echo congestion until the sender's CWR
        return wnd, options, ECE if rcv.ece else 0

    def _emit(self, seg: TcpSegment, now: int, cause: str | None = None) -> None:
        """Queue ``seg`` for transmission; any segment with ACK carries our receive state.
        (Sender.send_data calls this for the first data segment of a loop and only queues
        the others, for which the rest would change nothing: keep it idempotent.)"""
        self.out.append((seg, cause))
        self.segs_out += 1
        if seg.payload:
            self.rcv.data_sent(now)
        if seg.flags & ACK:
            self.rcv.ack_sent(seg.ack, now)

    def _send_ack(self, now: int) -> None:
        """<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>."""
        self._emit(self._segment(self.snd.snd_nxt, self.rcv.rcv_nxt, ACK), now)

    def _active_reset(self, now: int) -> None:
        """The reset the connection sends of its own accord (ABORT, a CLOSE that loses unread
        data, keep-alives given up): <SEQ=SND.NXT><CTL=RST> (RFC 9293 §3.10.5), or with
        ``rst_ack`` <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK> as Linux's tcp_send_active_reset."""
        self._send_rst(self.snd.snd_nxt, now, self.rcv.rcv_nxt if self.config.rst_ack else None)

    def _send_rst(self, seq: Seq, now: int, ack: Seq | None = None) -> None:
        """<SEQ=seq><CTL=RST> (with ``ack``: <SEQ=seq><ACK=ack><CTL=RST,ACK>). On a connection
        that uses timestamps it carries TSopt too (RFC 7323 §3.2: "SHOULD be sent in an <RST>
        segment"), which lets a peer doing PAWS tell it from an old one."""
        flags = RST | ACK if ack is not None else RST
        options: tuple = ()
        if self.ts_ok:
            options = (_NOP, _NOP, _tuple_new(Timestamps, (
                (now // _TS_TICK + self.ts_off) & MASK, self.rcv.ts_recent)))
        self._emit(TcpSegment(self.local_port, self.remote_port, seq, ack if ack is not None else Seq(0),
                              flags, 0, _EMPTY, options), now)

    def _output(self, now: int) -> None:
        """Send what the windows allow (the sender's segmentation), then a bare ACK if one is owed."""
        st = self.state
        snd = self.snd
        tfo = self._tfo
        if (snd.buf or snd.fin_queued) and (
                st in SENDING and (snd.snd_una != snd.iss or tfo is not None and tfo.accepted)
                # RFC 7413 §4.2.2: a Fast Open server sends before its SYN is acknowledged
                or st is _SYN_RECEIVED and tfo is not None and tfo.accepted):
            snd.send_data(now)
        rcv = self.rcv
        if rcv.ack_now and st is not _CLOSED and st is not _LISTEN:
            if self.hold_ack and st is _ESTABLISHED and not rcv.ooo:
                return  # one ACK at the end of the batch (release_ack): RFC 9293 §3.10.7.4 MUST-59
            self._send_ack(now)

    def release_ack(self, now: int) -> None:
        """The end of a batch of segments (RFC 9293 §3.10.7.4 MUST-58/59): the ACK that
        in-order data owed while the batch was processed goes now, one for the whole batch."""
        self.hold_ack = False
        if self.rcv.ack_now and self.state is _ESTABLISHED:
            self._now = now
            self._send_ack(now)
            self._settle(now)

    def _send_probe(self, now: int, cause: str) -> None:
        """<SEQ=SND.UNA-1><ACK=RCV.NXT><CTL=ACK>: below the peer's window, so it must answer
        with an ACK (zero-window probes, keep-alives)."""
        self._emit(self._segment(seq_add(self.snd.snd_una, -1), self.rcv.rcv_nxt, ACK), now, cause)

    def _advise(self, problem: str) -> None:
        """Negative advice for the user (RFC 9293 §3.8.3 MUST-20, SHLD-9; SHLD-25)."""
        self.soft_error = problem

    def _drop(self, seg: TcpSegment, now: int, reason: str, detail: str = "") -> None:
        if self.tr.on:
            self.tr.emit(SegmentDropped(now, self.tr.host, self.cid, self.remote_addr, self.local_addr,
                                        seg, reason, detail))

    def ect(self, seg: TcpSegment, cause: str | None) -> int:
        """The IP ECN codepoint for ``seg`` on an ECN connection (RFC 3168 §6.1.1-§6.1.6):
        ECT(0) on new data; not-ECT on SYNs, pure ACKs, window probes and retransmissions."""
        return ECT0 if seg.payload and cause is None and not seg.flags & SYN else 0
