"""The receiving half of a connection: RCV.*, the window, reassembly, SACK, delivery.

A :class:`Receiver` owns the receive sequence variables (RFC 9293 §3.3.1, via
:class:`~synack.tcp.tcb.ReceiveSequence`) and everything that follows from them: the
window it advertises (with receiver-side SWS avoidance, RFC 9293 §3.8.6.2.2, and RFC 7323
scaling), the receive buffer the user reads, the out-of-order queue (:mod:`synack.tcp.reassembly`),
the SACK and D-SACK blocks of its ACKs (RFC 2018, RFC 2883, :mod:`synack.tcp.sack`),
urgent data (RFC 9293 §3.8.5), TS.Recent (RFC 7323 §4.3), the ECN echo (RFC 3168 §6.1.3)
and the delayed ACK (RFC 9293 §3.8.6.3), with Linux's quick-ACK and ping-pong modes when
``config.quick_acks`` is set (the linux profile).

It acts on the seventh and eighth checks of SEGMENT ARRIVES (RFC 9293 §3.10.7.4) that the
connection's dispatcher hands it, and on RECEIVE. It asks the connection to send an ACK or
an RST, to trace a drop, and to change state when the peer's FIN arrives in order.
Buffers work on absolute stream offsets: offset 0 is the first data octet after the SYN.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..wire.seq import Seq, seq_add, seq_dist
from ..wire.tcp import ACK, FIN, Nop, Sack, TcpSegment, Timestamps
from .rcvbuf import ReceiveBuffer
from .reassembly import Reassembly
from .rfc5961 import oow_answer
from .sack import SackReceiver
from .state import State
from .tcb import ReceiveSequence
from .timers import DELAYED_ACK_SLOT, Timer

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Connection

__all__ = ["Receiver", "RECEIVING", "ooo_segments"]

#: States in which arriving segment text is delivered (RFC 9293 §3.10.7.4, seventh).
RECEIVING = frozenset({State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2})

_NOP = Nop()
_tuple_new = tuple.__new__
_EMPTY = b""
_DELAYED_ACK = Timer.DELAYED_ACK
_SYN_RECEIVED, _ESTABLISHED, _CLOSE_WAIT = State.SYN_RECEIVED, State.ESTABLISHED, State.CLOSE_WAIT
#: Linux's bounds on the delayed-ACK time: TCP_DELACK_MAX, and HZ/2 kept under the 0.5 s
#: of RFC 9293 §3.8.6.3 MUST-40
_DELACK_MAX = 200_000_000
_ATO_TOP = 499_000_000


def ooo_segments(limit: int) -> int:
    """How many pieces apart the out-of-order queue holds for a limit of ``limit`` octets:
    one per 128 octets (512 at the default 64 KiB), and never fewer than 64. Full-sized
    segments never reach it (a 64 KiB window holds 45); a peer that sends tiny segments,
    each after a hole, does."""
    return max(64, limit >> 7)


class Receiver(ReceiveSequence):
    """RCV.* and the receive side's data (see the module docstring)."""

    __slots__ = (
        "conn", "rcv_mss",
        "buf",         # octets the user can RECEIVE, in order (a ReceiveBuffer of chunks)
        "abs",         # the stream offset of RCV.NXT (data only: the FIN is not counted)
        "ooo",         # out-of-order queue (Reassembly), allocated on first use
        "ooo_fin",     # stream offset of a FIN that arrived beyond a hole, or None
        "fin_received",
        "unacked",     # octets received since our last ACK (every second segment is ACKed)
        "ack_now",     # an ACK is owed and goes out with the next output
        "sackr",       # the SACK blocks to report (SackReceiver), allocated on first use
        "up_valid",    # RCV.UP holds an urgent pointer the peer sent
        "rd_closed",   # the user closed for reading: data arriving now is lost (SHLD-3)
        "ts_recent", "ts_recent_age",  # RFC 7323 §4.3 TS.Recent and when it was set
        "last_ack_sent",               # RFC 7323 §4.3 Last.ACK.sent
        "ece",         # RFC 3168 §6.1.3: echo ECE until the sender's CWR
        "ofo_drops",   # out-of-order segments dropped because the queue was full (TCPOFODrop)
        "oow_ack_at",  # when an ACK last answered an unacceptable segment, or None
        "oow_acks_skipped",  # such ACKs not sent because of the rate limit (TCPACKSkipped*)
        "oow_dsack",   # the D-SACK block the last old duplicate gave, or None
        "quick",       # quick-ACK budget: ACKs of data still to send at once (Linux icsk_ack.quick)
        "pingpong",    # ping-pong mode: ACKs wait for the timer or for a reply to ride on
        "quick_now",   # the ACK owed now is owed only because of quick-ACK mode
        "lrcv",        # when data last arrived (Linux icsk_ack.lrcvtime), or None before any
        "mss_est",     # the peer's segment size as the quick-ACK budget sees it (icsk_ack.rcv_mss)
        "pushed",      # short segments since our last ACK, 0 to 2 (Linux ICSK_ACK_PUSHED, PUSHED2)
        "ato",         # the delayed-ACK time as Linux adapts it (icsk_ack.ato); 0 before any data
    )

    def __init__(self, conn: Connection, rcv_mss: int) -> None:
        ReceiveSequence.__init__(self)
        self.conn = conn
        #: the MSS we announce: the largest segment we accept (RFC 9293 §3.7.1)
        self.rcv_mss = rcv_mss
        self.buf = ReceiveBuffer()
        self.abs = 0
        self.ooo: Reassembly | None = None
        self.ooo_fin: int | None = None
        self.fin_received = False
        self.unacked = 0
        self.ack_now = False
        self.sackr: SackReceiver | None = None
        self.up_valid = False
        self.rd_closed = False
        self.ts_recent = self.ts_recent_age = 0
        self.last_ack_sent = self.rcv_nxt
        self.ece = False
        self.ofo_drops = 0
        self.oow_ack_at: int | None = None
        self.oow_acks_skipped = 0
        self.oow_dsack: tuple[int, int] | None = None
        self.quick = 0
        self.pingpong = self.quick_now = False
        self.lrcv: int | None = None
        self.pushed = 0
        self.ato = 0
        # Linux tcp_initialize_rcv_mss: our MSS, at most 536, until larger segments arrive
        self.mss_est = max(88, min(rcv_mss, 536))

    def __repr__(self) -> str:
        return (f"<Receiver rcv_nxt={int(self.rcv_nxt)} rcv_wnd={self.rcv_wnd} readable={len(self.buf)} "
                f"ooo={len(self.ooo) if self.ooo else 0}>")

    # ------------------------------------------------------------------ the handshake
    def start(self, irs: Seq) -> None:
        """The peer's SYN: IRS = SEG.SEQ, RCV.NXT = IRS + 1, and the window our SYN offered."""
        self.irs = irs
        self.rcv_nxt = nxt = seq_add(irs, 1)
        self.rcv_adv = seq_add(nxt, self.syn_window())

    def syn_window(self) -> int:
        """The window a SYN or SYN,ACK offers, unscaled (RFC 7323 §2.2): the receive buffer,
        at most 65535; with ``syn_window_whole_segments`` in whole segments of our MSS, less
        TSopt once timestamps are agreed (Linux: 64240 = 44 * 1460, 65160 = 45 * 1448)."""
        conn = self.conn
        cfg = conn.config
        w = cfg.rcv_buf - self.buf._len  # (len(), without a call)
        if w > 65535:
            w = 65535
        if cfg.syn_window_whole_segments:
            m = self.rcv_mss - 12 if conn.ts_ok else self.rcv_mss
            if 0 < m < w:
                w -= w % m
        return w if w > 0 else 0

    def take_timestamp(self, tsval: int, now: int) -> None:
        """TS.Recent from the peer's SYN (RFC 7323 §4.3), or updated by an acceptable
        segment (§4.3 (1), §5.3 R3)."""
        self.ts_recent = tsval
        self.ts_recent_age = now

    # ------------------------------------------------------------------ what the user sees
    @property
    def readable(self) -> int:
        """Octets the user can RECEIVE now."""
        return len(self.buf)

    @property
    def at_eof(self) -> bool:
        """The peer's FIN has arrived and every octet before it has been read."""
        return self.fin_received and not self.buf

    @property
    def read_offset(self) -> int:
        """Stream offset of the next octet RECEIVE returns."""
        return self.abs - len(self.buf)

    @property
    def urgent_mark(self) -> int | None:
        """Stream offset of the octet *following* the urgent data (RCV.UP, MUST-62), or
        None if no urgent pointer has arrived."""
        if not self.up_valid:
            return None
        nxt = self.rcv_nxt - 1 if self.fin_received else self.rcv_nxt  # data-only RCV.NXT
        return self.abs + (self.rcv_up - nxt)

    @property
    def urgent_remaining(self) -> int:
        """MUST-33: how many octets of urgent data the user has still to read (counting
        those that have not arrived yet); 0 when none."""
        mark = self.urgent_mark
        if mark is None:
            return 0
        left = mark - self.read_offset
        return left if left > 0 else 0

    def urgent_octet(self) -> int | None:
        """The last octet of urgent data (the one before RCV.UP) if it has arrived and has
        not been read yet, else None: what a BSD socket reads with MSG_OOB."""
        mark = self.urgent_mark
        if mark is None:
            return None
        i = mark - 1 - self.read_offset
        return self.buf[i] if 0 <= i < len(self.buf) else None

    def take(self, max_bytes: int) -> bytes:
        """Remove and return up to ``max_bytes`` octets from the receive buffer."""
        return self.buf.take(max_bytes)

    def window_update_after_read(self, now: int) -> None:
        """A window update when reading opened the window a lot (RFC 9293 §3.8.6.2.2); with
        ``config.quick_acks`` also the delayed ACK when the read ends its reason to wait."""
        if self.conn.config.quick_acks and self._ack_on_read():
            self.conn._send_ack(now)
            return
        half = self.conn.config.rcv_buf >> 1
        before = self.rcv_wnd
        if before < half:
            after = self.window_to_advertise()
            if after - before >= (half if half < self.rcv_mss else self.rcv_mss):
                self.conn._send_ack(now)

    def _ack_on_read(self) -> bool:
        """Linux tcp_cleanup_rbuf: a read sends the ACK the delayed-ACK timer waits for when
        more than a segment is unacknowledged, or when it emptied the receive buffer of short
        segments (two of them, or one outside ping-pong mode): nothing is left to wait for."""
        if not self.unacked and self.conn.timers.at[DELAYED_ACK_SLOT] is None:
            return False
        if self.unacked > self.mss_est:
            return True
        return not self.buf and (self.pushed > 1 or (self.pushed == 1 and not self.pingpong))

    def discard(self) -> None:
        """Forget what the user has not read (RST, ABORT, CLOSE with unread data)."""
        self.buf.clear()

    def reset_arrives(self) -> None:
        """An acceptable RST ends the connection: RFC 9293 §3.10.7.4 flushes the queues, the
        user's unread data with them; with ``config.rst_keeps_data`` (Linux tcp_reset) that
        data stays readable, and the user learns of the reset once it is read."""
        if not self.conn.config.rst_keeps_data:
            self.discard()

    # ------------------------------------------------------------------ the window
    def window_to_advertise(self) -> int:
        """RCV.WND to offer, with receiver-side SWS avoidance (RFC 9293 §3.8.6.2.2 MUST-39).

        The right edge moves only when it can move by at least min(RCV.BUFF/2, Eff.snd.MSS),
        and it never moves left (SHLD-14). :meth:`advertise` works it out, unscaled here.
        """
        return self.advertise(False)

    def advertise(self, scaled: bool = True) -> int:
        """The window field of a segment with ACK (not a SYN): the window to advertise
        (:meth:`window_to_advertise`, whose rules are worked out here, in one place with the
        scaling), scaled (RFC 7323 §2.3: rounded up, so that the right edge the peer sees
        never moves left, §2.4; RCV.ADV follows) or capped at 65535. ``scaled=False``: the
        window itself, unscaled."""
        conn = self.conn
        buf = conn.config.rcv_buf
        free = buf - self.buf._len  # (len(), without a call)
        s = conn.rcv_wscale
        if free < 0:
            free = 0
        elif free > 0xFFFF << s:
            free = 0xFFFF << s  # the most the 16-bit field can offer (RFC 7323 §2)
        rn = self.rcv_nxt
        w = seq_dist(self.rcv_adv, rn)  # the right edge, as an offset from RCV.NXT
        step = buf >> 1
        if step > self.rcv_mss:
            step = self.rcv_mss
        if free - w >= step:
            self.rcv_adv = seq_add(rn, free)
            w = free
        elif w < 0:
            w = 0
        if not scaled:
            return w
        if not s:
            return w if w <= 65535 else 65535
        f = (w + (1 << s) - 1) >> s
        if f > 0xFFFF:
            f = 0xFFFF
        if f << s > w:
            self.rcv_adv = seq_add(rn, f << s)
        return f

    def ack_options(self, tsval: int) -> tuple:
        """Options of a segment after the handshake: timestamps on every one but RSTs (RFC
        7323 §3.2), and SACK blocks while out-of-order data is held or a duplicate is to
        be reported (RFC 2018 §4, RFC 2883 §4): NOP, NOP, TS, NOP, NOP, SACK as Linux
        writes them."""
        ts_ok = self.conn.ts_ok
        opts: tuple = ()
        if ts_ok:
            opts = (_NOP, _NOP, _tuple_new(Timestamps, (tsval, self.ts_recent)))
        sr = self.sackr
        if sr is not None and (self.ooo or sr.dsack is not None):
            blocks = sr.blocks(self.ooo if self.ooo is not None else [], 3 if ts_ok else 4)
            if blocks:
                rn = self.rcv_nxt - 1 if self.fin_received else self.rcv_nxt
                ra = self.abs
                opts += (_NOP, _NOP, Sack(tuple((seq_add(rn, s - ra), seq_add(rn, e - ra)) for s, e in blocks)))
        return opts

    def sack_room(self) -> bool:
        """Do our segments carry SACK blocks now (so a full segment carries less data)?"""
        sr = self.sackr
        return sr is not None and (bool(self.ooo) or sr.dsack is not None)

    def ack_sent(self, ack: Seq, now: int) -> None:
        """A segment with ACK left: the ACK it owed is paid (RFC 7323 §4.3 Last.ACK.sent),
        and one of the quick-ACK budget spent if an ACK was owed (Linux tcp_dec_quickack_mode)."""
        self.last_ack_sent = ack
        timers = self.conn.timers
        armed = timers.at[DELAYED_ACK_SLOT] is not None
        if self.quick and (self.ack_now or self.unacked or armed):
            self.quick -= 1
            if not self.quick:
                self.ato = self.conn.config.delayed_ack or 0  # leaving quick-ACK mode deflates the ATO
        self.ack_now = self.quick_now = False
        self.unacked = self.pushed = 0
        if armed:
            timers.cancel(_DELAYED_ACK, now)

    # ------------------------------------------------------------------ quick ACKs (Linux)
    def _quick_budget(self, wnd: int) -> None:
        """Linux tcp_incr_quickack: a budget of as many immediate ACKs as half the window
        holds segments (2 if none), at most ``config.quick_acks``; never lowered."""
        n = wnd // (2 * self.mss_est)
        if n == 0:
            n = 2
        top = self.conn.config.quick_acks
        if n > top:
            n = top
        if n > self.quick:
            self.quick = n

    def data_sent(self, now: int) -> None:
        """Data left on this connection. An answer within the delayed-ACK time (the ATO) of
        the data that arrived enters ping-pong mode (Linux tcp_event_data_sent): from now on the ACK
        of the peer's data waits, for the timer or for the next answer to carry it."""
        last = self.lrcv
        if last is not None and self.conn.config.quick_acks and now - last < self.ato:
            self.pingpong = True

    def delayed_ack_fired(self) -> None:
        """The delayed-ACK timer ran out (Linux tcp_delack_timer_handler): in ping-pong mode no
        answer carried the ACK, so the mode ends (quick ACKs apply again while budget is left)
        and the ATO is back to its least; otherwise the ATO doubles, up to the RTO."""
        cfg = self.conn.config
        if not cfg.quick_acks:
            return
        if self.pingpong:
            self.pingpong = False
            self.ato = cfg.delayed_ack or 0
        elif self.ato:
            ato = self.ato << 1
            rto = self.conn.snd.rtt.rto
            self.ato = ato if ato < rto else rto

    def ack_delay(self) -> int:
        """How long the delayed ACK waits: ``config.delayed_ack``; with ``quick_acks`` the ATO
        as Linux's tcp_send_delayed_ack bounds it: above the least, at most 500 ms (under
        it, RFC 9293 MUST-40), 200 ms in ping-pong mode or after a short segment
        (TCP_DELACK_MAX), and the smoothed RTT (but not under the least)."""
        cfg = self.conn.config
        least = cfg.delayed_ack or 0
        ato = self.ato
        if not cfg.quick_acks or ato <= least:
            return least
        top = _DELACK_MAX if self.pingpong or self.pushed else _ATO_TOP
        srtt = self.conn.snd.rtt.srtt
        if srtt is not None:
            rtt = srtt if srtt > least else least
            if rtt < top:
                top = rtt
        return ato if ato < top else top

    def set_quickack(self, on: bool) -> None:
        """TCP_QUICKACK: 0 enters ping-pong mode; 1 leaves it, and an ACK owed for data that
        arrived (ESTABLISHED, CLOSE-WAIT) is to go out now (Linux __tcp_sock_set_quickack)."""
        self.pingpong = not on
        st = self.conn.state
        if on and (st is _ESTABLISHED or st is _CLOSE_WAIT) and (
                self.unacked or self.conn.timers.at[DELAYED_ACK_SLOT] is not None):
            self.ack_now = True

    def enter_quickack(self) -> None:
        """Old data arrived again (the peer retransmitted: our ACK was lost or late): ACK at
        once, with a fresh quick-ACK budget, ping-pong mode left and the ATO at its least
        (Linux tcp_enter_quickack_mode)."""
        cfg = self.conn.config
        if cfg.quick_acks:
            self._quick_budget(self.rcv_wnd)
            self.pingpong = False
            self.ato = cfg.delayed_ack or 0

    def oow_ack_allowed(self, now: int, news: bool = False) -> bool:
        """May an ACK answer an unacceptable segment (outside the window, acknowledging
        unsent data, or a challenge of RFC 5961) at ``now``? At most one per
        ``config.invalid_ratelimit``, as Linux's tcp_oow_rate_limited: a flood of such
        segments draws a trickle of ACKs, not one each. ``news``: the ACK carries a D-SACK
        block never reported (see :meth:`old_duplicate`) and always leaves. Counts what it
        refuses."""
        ok, self.oow_ack_at = oow_answer(self.oow_ack_at, now, self.conn.config.invalid_ratelimit, news)
        if not ok:
            self.oow_acks_skipped += 1
        return ok

    # ------------------------------------------------------------------ SACK and D-SACK
    def _sack_state(self) -> SackReceiver:
        sr = self.sackr
        if sr is None:
            sr = self.sackr = SackReceiver()
        return sr

    def _sack_arrival(self, start: int, n: int) -> None:
        """Out-of-order octets [start, start + n) arrived: the next ACK's first SACK block
        holds them (RFC 2018 §4); octets the queue already holds are a duplicate, reported
        in a D-SACK block (RFC 2883 §4)."""
        if self._sack_overlap(start, n) < n:
            self._sack_state().arrived(start, start + n)

    def _sack_overlap(self, start: int, n: int) -> int:
        """How many of octets [start, start + n) the out-of-order queue holds already; the
        first run of them becomes the next D-SACK block (RFC 2883 §4). O(log n)."""
        ooo = self.ooo
        if not ooo:
            return 0
        covered, first = ooo.overlap(start, start + n)
        if first is not None:
            self._sack_state().duplicate(first[0], first[1])
        return covered

    def _dsack(self, start: int, end: int) -> None:
        """Report octets [start, end), received before, in the next ACK (RFC 2883 §4)."""
        if start < 0:
            start = 0
        if start < end:
            self._sack_state().duplicate(start, end)

    def old_duplicate(self, seg: TcpSegment) -> bool:
        """A segment whose data lies before RCV.NXT arrived again: D-SACK it (RFC 2883 §4).

        True when that D-SACK block is news: not the one the last such segment gave. The
        ACK that carries news always leaves (a sender learns from it that it retransmitted
        in vain, as Linux answers every data segment); the same old data again, like every
        other unacceptable segment, is answered at most once per ``invalid_ratelimit``."""
        if not seg.payload:
            return False
        rn = self.rcv_nxt - 1 if self.fin_received else self.rcv_nxt
        back = seq_dist(rn, seg.seq)
        if back <= 0:
            return False
        self.enter_quickack()
        if not self.conn.sack_ok:
            return False
        n = len(seg.payload)
        start = self.abs - back
        end = start + (n if n < back else back)
        self._dsack(start, end)
        if start < 0:
            start = 0
        if start >= end or self.oow_dsack == (start, end):
            return False
        self.oow_dsack = (start, end)
        return True

    # ------------------------------------------------------------------ SEGMENT ARRIVES
    def urgent(self, seg: TcpSegment) -> None:
        """Sixth check (RFC 9293 §3.10.7.4; MUST-62: the pointer names the octet after):
        RCV.UP = max(RCV.UP, SEG.UP). The first pointer sets it, and a zero pointer names
        no urgent data (RFC 6093 §3). The user learns of it through urgent_mark."""
        up = seg.seq + seg.urg_ptr
        if not self.up_valid or up.gt(self.rcv_up):
            self.rcv_up = up
            self.up_valid = True

    def text_and_fin(self, seg: TcpSegment, now: int) -> None:
        """Seventh (segment text) and eighth (FIN) checks of RFC 9293 §3.10.7.4."""
        conn = self.conn
        st = conn.state
        payload = seg.payload
        seq = seg.seq
        fin = seg.flags & FIN
        if payload and st in RECEIVING:
            # Trim to the window: what precedes RCV.NXT, and what lies past the right edge.
            rn = self.rcv_nxt
            head = seq_dist(rn, seq)
            if head > 0:
                if conn.sack_ok:
                    # RFC 2883 §4: the octets received before go back in a D-SACK block.
                    old = self.abs - head
                    self._dsack(old, old + (head if head < len(payload) else len(payload)))
                payload = payload[head:]
                seq = rn
            room = seq_dist(self.rcv_adv, seq)
            if len(payload) > room:
                payload = payload[:room if room > 0 else 0]
                fin = 0  # the FIN lies beyond the window
            if payload:
                if self.rd_closed:
                    # New data after a CLOSE that ended reading: it is lost, so tell the
                    # peer with <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.6.1 SHLD-3; Linux).
                    conn._drop(seg, now, "data-after-close", "RST: the user closed for reading (SHLD-3)")
                    conn._send_rst(seg.ack, now)
                    conn._enter_closed(now, "data after CLOSE: RST", "RFC 9293 §3.6.1 SHLD-3")
                    return
                if seq == self.rcv_nxt:
                    if self.ooo and conn.sack_ok:
                        self._sack_overlap(self.abs, len(payload))  # RFC 2883: part held already?
                    self.deliver(payload, now)
                else:
                    self._out_of_order(seq, payload, now)
        if fin:
            n = len(seg.payload)
            if seq_dist(self.rcv_nxt, seg.seq) == n:  # (SEG.SEQ + text = RCV.NXT: the FIN is next)
                self.fin_arrives(now)
            else:
                fin_seq = seq_add(seg.seq, n)
                if fin_seq.gt(self.rcv_nxt) and st in RECEIVING:
                    self.ooo_fin = self.abs + (fin_seq - self.rcv_nxt)
                    self.ack_now = True

    def deliver(self, payload: bytes, now: int) -> None:
        """In-order octets at RCV.NXT: into the receive buffer, with whatever they let the
        out-of-order queue release."""
        n = len(payload)
        cfg = self.conn.config
        if cfg.quick_acks:
            # Linux tcp_event_data_recv: quick-ACK mode for the first data of a connection,
            # and again after an idle spell longer than the RTO (the sender restarts slowly).
            if n >= self.mss_est:
                self.mss_est = n if n < self.rcv_mss else self.rcv_mss
            else:
                self.pushed = 2 if self.pushed else 1  # a short segment (tcp_measure_rcv_mss)
            last = self.lrcv
            least = cfg.delayed_ack or 0
            if last is None or not self.ato:
                self._quick_budget(self.rcv_wnd)  # the first data: quick ACKs, the least ATO
                self.ato = least
            else:
                # The ATO follows the gaps between arrivals; a gap longer than the RTO means
                # the sender starts again slowly: quick ACKs again.
                m = now - last
                rto = self.conn.snd.rtt.rto
                if m <= least >> 1:
                    self.ato = (self.ato >> 1) + (least >> 1)
                elif m < self.ato:
                    ato = (self.ato >> 1) + m
                    self.ato = ato if ato < rto else rto
                elif m > rto:
                    self._quick_budget(self.rcv_wnd)
            self.lrcv = now
        self.buf.append(payload)
        self.rcv_nxt = seq_add(self.rcv_nxt, n)
        self.abs += n
        ooo = self.ooo
        if ooo:
            more = ooo.pop(self.abs)
            if more:
                self.buf.append(more)
                self.rcv_nxt = self.rcv_nxt + len(more)
                self.abs += len(more)
            self.ack_now = True  # a hole was filled: ACK at once (RFC 5681 §4.2)
        if self.ooo_fin is not None and self.ooo_fin == self.abs:
            self.ooo_fin = None
            self.fin_arrives(now)
            return
        # Delayed ACK (RFC 9293 §3.8.6.3, SHLD-18/19): at least every second full segment.
        self.unacked += n
        conn = self.conn
        delay = cfg.delayed_ack
        # (a full-sized segment carries 12 octets fewer beside the timestamps option)
        if delay is None or self.unacked >= 2 * (self.rcv_mss - 12 if conn.ts_ok else self.rcv_mss):
            self.ack_now = True
        elif self.quick and not self.pingpong:
            if not self.ack_now:
                self.quick_now = True  # (a FIN in this segment may still delay it)
                self.ack_now = True
        elif not self.ack_now:
            timers = conn.timers
            due = timers.at[DELAYED_ACK_SLOT]
            if due is None:
                timers.arm(_DELAYED_ACK, now + self.ack_delay(), now)
            elif cfg.quick_acks:
                # Linux tcp_send_delayed_ack: a timer about to fire (within a quarter of the
                # ATO) sends the ACK now; one later than the new ATO is brought forward.
                ato = self.ack_delay()
                if due <= now + (ato >> 2):
                    self.ack_now = True
                elif now + ato < due:
                    timers.arm(_DELAYED_ACK, now + ato, now)

    def _out_of_order(self, seq: Seq, payload: bytes, now: int) -> None:
        """Queue data beyond a hole and ACK at once (a duplicate ACK, RFC 5681 §4.2).

        The queue is bounded in octets and in pieces held apart (:func:`ooo_segments`): the
        newest segment beyond either bound is dropped, counted in ``ofo_drops`` and traced,
        and the peer sends it again once the holes before it are filled."""
        conn = self.conn
        ooo = self.ooo
        if ooo is None:
            cfg = conn.config
            limit = cfg.ooo_limit if cfg.ooo_limit is not None else cfg.rcv_buf
            ooo = self.ooo = Reassembly(limit, ooo_segments(limit))
        start = self.abs + (seq - self.rcv_nxt)
        if conn.sack_ok:
            self._sack_arrival(start, len(payload))  # RFC 2018 §4 blocks, RFC 2883 D-SACK
        if not ooo.add(start, payload, self.abs):
            self.ofo_drops += 1
            held = (f"{ooo.segments} pieces held apart, the most it keeps" if ooo.refused == "segments"
                    else f"{ooo.held} of {ooo.limit} octets held")
            conn._drop(TcpSegment(conn.remote_port, conn.local_port, seq, Seq(0), ACK, 0, payload),
                       now, "ooo-full", f"out-of-order queue full: {held} (RFC 9293 SHLD-31)")
        self.ack_now = True

    def fin_arrives(self, now: int) -> None:
        """Eighth check: the peer's FIN, in order (RFC 9293 §3.10.7.4): RCV.NXT covers it,
        it is acknowledged at once, and the connection changes state.

        With ``config.quick_acks`` (Linux tcp_fin) a FIN that ends ESTABLISHED enters
        ping-pong mode instead: its ACK waits for the delayed-ACK timer, so that the
        application's answer or its own FIN can carry it (unless an ACK is owed anyway)."""
        self.rcv_nxt = seq_add(self.rcv_nxt, 1)
        self.fin_received = True
        conn = self.conn
        cfg = conn.config
        delay = cfg.delayed_ack
        if cfg.quick_acks and delay is not None and (conn.state is _ESTABLISHED
                                                     or conn.state is _SYN_RECEIVED):
            self.pingpong = True
            if self.quick_now:
                self.ack_now = self.quick_now = False
            if not self.ack_now and conn.timers.at[DELAYED_ACK_SLOT] is None:
                conn.timers.arm(_DELAYED_ACK, now + self.ack_delay(), now)
        else:
            self.ack_now = True
        conn._peer_fin(now)

    def forget_out_of_order(self) -> None:
        """Drop the out-of-order queue (the TCB is being deleted)."""
        self.ooo = None

