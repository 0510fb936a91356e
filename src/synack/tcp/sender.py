"""The sending half of a connection: SND.*, the send buffer, segmentation, retransmission.

A :class:`Sender` owns the send sequence variables (RFC 9293 §3.3.1, via
:class:`~synack.tcp.tcb.SendSequence`) and everything that follows from them: the send
buffer, segmentation with Nagle's algorithm (RFC 9293 §3.7.4) and sender-side SWS avoidance
(§3.8.6.2.1), the persist timer and zero-window probes (§3.8.6.1), the retransmission timer
(RFC 6298) with RTT sampling (Karn, RFC 7323 §4), processing of the ACK field (the fifth
check of §3.10.7.4), NewReno (RFC 5681, RFC 6582) and the calls into the congestion control
algorithm, which owns cwnd and ssthresh only. With SACK, :class:`~synack.tcp.recovery.LossRecovery`
decides what is lost and what goes next (RFC 6675, RFC 8985, RFC 9937); the sender acts.

Segmentation with offloads (TSO): ``max_segment_bytes`` (default: one Eff.snd.MSS) is the
most data one segment may carry; a host whose link splits large segments raises it to
64 KiB, and the sender then emits super-segments sized as Linux's TSO autosizing does
(:meth:`Sender.tso_size`): about a millisecond of data at the current rate, at most 64 KiB,
within cwnd and the peer's window, always whole wire segments of Eff.snd.MSS (``gso_size``)
but for the tail of the data. Nagle's and SWS avoidance's "full-sized" stays one MSS, and
loss recovery stays per wire segment: the scoreboard splits a super-segment where SACK
blocks or retransmissions cut it (:mod:`synack.tcp.sack`), and a retransmission carries
the lost wire segments only.

The buffer holds unacknowledged and unsent data; ``buf[0]`` has sequence number ``buf_seq``.
Positions for the scoreboard are absolute stream offsets (``una_abs`` is SND.UNA's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..trace.events import CongestionChanged, RttSample
from ..wire.seq import MASK, Seq, seq_add, seq_dist
from ..wire.tcp import ACK, CWR, ECE, FIN, PSH, TcpSegment, Timestamps
from . import cc as cc_registry
from . import timestamps as _ts
from .errors import ConnectionTimeout
from .recovery import OPEN, LossRecovery, SackSending
from .rtt import RttEstimator
from .state import SENDING, State
from .timers import LOSS_SLOT, PROBE_SLOT, RTO_SLOT, Timer, Timers

if TYPE_CHECKING:  # pragma: no cover
    from .config import TcpConfig
    from .connection import Connection

__all__ = ["Sender", "SENDING", "MAX_SEGMENT_BYTES"]

#: States in which data and FIN may be (re)transmitted once the SYN is acknowledged.
_HANDSHAKE = frozenset({State.SYN_SENT, State.SYN_RECEIVED})
_NOT_SENDING = frozenset({State.CLOSED, State.LISTEN, State.TIME_WAIT})
#: the largest ``max_segment_bytes``: what one IP packet can carry at most (64 KiB)
MAX_SEGMENT_BYTES = 65536 - 40
#: the most data a super-segment carries: an IPv4 packet of 65535 octets with the longest
#: IP header and TCP options still holds it
_SUPER_MAX = 65535 - 60 - 60
#: Linux's sk_gso_max_size and sysctl tcp_tso_rtt_log: flows whose minimum RTT is under
#: 2**9 us get the whole 64 KiB per super-segment, half of it under 2**10 us, ...
_GSO_MAX = 65536
_TSO_RTT_LOG = 9
_EMPTY = b""
_tuple_new = tuple.__new__
_RTO, _PERSIST, _SWS, _TLP, _RACK = Timer.RTO, Timer.PERSIST, Timer.SWS_OVERRIDE, Timer.TLP, Timer.RACK
_FIN_WAIT_1, _SYN_SENT, _SYN_RECEIVED = State.FIN_WAIT_1, State.SYN_SENT, State.SYN_RECEIVED
_ts_rtt, _TS_TICK = _ts.ts_rtt, _ts.TS_TICK


class Sender(SackSending):
    """SND.* and the send side's data (see the module docstring)."""

    # (rtt_seq, retransmits, dupacks, cwr, ecn_rec and gso_size are slots of SackSending)
    __slots__ = (
        "conn", "snd_mss", "max_segment_bytes",
        "buf", "buf_seq", "fin_queued",
        "rtx_nxt", "rtx_cause",     # go-back-N: the next octet to resend, and why
        "rtt", "cc",                # RFC 6298 estimator; the congestion control algorithm
        "rtt_time",                 # when the segment being timed (rtt_seq) left
        "rtx_since", "retries",     # first unanswered (re)transmission (R2 counts from it); RTOs
        "rtx_first",                # the first RTO retransmission not answered (the user timeout counts from it)
        "recover",                  # RFC 6582 ``recover``
        "persist_backoff",
        "urgent",                   # SND.UP is live: segments before it carry URG
        "lr", "una_abs",            # SACK loss recovery (or None); SND.UNA as a stream offset
        "snd_sml",                  # the end of the last short segment sent (Minshall's Nagle)
        "psh_count",                # segments sent since the last PSH (psh_every)
    )

    def __init__(self, conn: Connection, snd_mss: int, cfg: TcpConfig) -> None:
        super().__init__()
        self.conn = conn
        #: SendMSS: the peer's MSS option (536/1220 until it is known), capped by our path
        self.snd_mss = snd_mss
        #: the most data one segment may carry; None: one Eff.snd.MSS (see the module docstring)
        self.max_segment_bytes: int | None = None
        #: data octets per wire segment of the super-segments sent last (Eff.snd.MSS then):
        #: where the link cuts them (its gso_size)
        self.gso_size = snd_mss
        self.buf = bytearray()
        self.buf_seq = self.iss
        self.fin_queued = False
        self.rtx_nxt: Seq | None = None
        self.rtx_cause: str | None = None
        self.rtt = RttEstimator(cfg.initial_rto, cfg.min_rto, cfg.max_rto)
        self.cc = cc_registry.create(cfg.congestion, snd_mss, cfg.initial_window)
        self.rtt_seq: Seq | None = None
        self.rtt_time = 0
        self.rtx_since: int | None = None
        self.retries = 0
        self.rtx_first: int | None = None
        self.dupacks = 0
        self.recover: Seq | None = None
        self.persist_backoff = 0
        self.retransmits = 0
        self.bytes_retrans = 0
        self.urgent = False
        self.lr: LossRecovery | None = None
        self.una_abs = 0
        self.snd_sml = self.iss
        self.psh_count = 0
        self.cwr = False
        self.ecn_rec: Seq | None = None

    def __repr__(self) -> str:
        return (f"<Sender snd_una={int(self.snd_una)} snd_nxt={int(self.snd_nxt)} snd_wnd={self.snd_wnd} "
                f"buffered={len(self.buf)} cwnd={self.cc.cwnd}>")

    # ------------------------------------------------------------------ what the user sees
    @property
    def flight_size(self) -> int:
        """FlightSize (RFC 5681 §2): octets sent but not yet acknowledged."""
        return seq_dist(self.snd_nxt, self.snd_una)

    @property
    def unsent(self) -> int:
        """Octets SEND accepted that have not been transmitted yet."""
        return len(self.buf) - max(seq_dist(self.snd_nxt, self.buf_seq), 0)

    @property
    def all_acked(self) -> bool:
        """Everything sent and queued, FIN included, has been acknowledged."""
        return not self.buf and self.snd_una == self.snd_nxt

    def fin_seq(self) -> Seq:
        """The sequence number of our FIN (right after the buffered data)."""
        return seq_add(self.buf_seq, len(self.buf))

    @property
    def fin_acked(self) -> bool:
        """Our FIN was sent and acknowledged."""
        return self.fin_queued and seq_dist(self.snd_una, self.fin_seq()) == 1

    @property
    def send_space(self) -> int:
        """How many more octets SEND accepts now."""
        if self.fin_queued:
            return 0
        n = self.conn.config.snd_buf - len(self.buf)
        return n if n > 0 else 0

    def eff_mss(self) -> int:
        """Octets of data a full segment carries: SendMSS less the options every segment
        bears (RFC 9293 §3.7.1 Eff.snd.MSS): 12 for timestamps (RFC 7323 §3.2), and room
        for SACK blocks while we hold out-of-order data."""
        conn = self.conn
        ts_ok = conn.ts_ok
        m = self.snd_mss - 12 if ts_ok else self.snd_mss
        if conn.rcv.sack_room():
            m -= 28 if ts_ok else 36  # NOP, NOP, kind, length, 3 or 4 blocks
        return m if m > 0 else 1

    @property
    def eff_snd_mss(self) -> int:
        """Eff.snd.MSS (RFC 9293 §3.7.1): the data a full-sized segment carries, SendMSS
        (``snd_mss``) less the options on every segment (12 octets with timestamps)."""
        return self.eff_mss()

    def abs(self, seq: Seq) -> int:
        """A send sequence number as a stream offset (SND.UNA is ``una_abs``)."""
        return self.una_abs + seq_dist(seq, self.snd_una)

    # ------------------------------------------------------------------ setting up
    def start(self, iss: Seq, now: int) -> None:
        """Our SYN is about to leave: ISS, SND.UNA = ISS, SND.NXT = ISS + 1."""
        self.iss = self.snd_una = iss
        self.snd_nxt = self.buf_seq = seq_add(iss, 1)
        self.rtx_since = now

    def time_segment(self, end: Seq, now: int) -> None:
        """Time the segment ending at ``end`` for an RTT sample (RFC 6298)."""
        self.rtt_seq, self.rtt_time = end, now

    def forget_timing(self) -> None:
        """No clean RTT sample from what is in flight (Karn: it was, or may be, sent twice)."""
        self.rtt_seq = None

    def take_window(self, wnd: int, seq: Seq, ack: Seq | None) -> None:
        """The window of the segment that synchronized us (SND.WND, SND.WL1, SND.WL2)."""
        self.snd_wnd = wnd
        if wnd > self.max_snd_wnd:
            self.max_snd_wnd = wnd
        self.snd_wl1 = seq
        if ack is not None:
            self.snd_wl2 = ack

    def take_syn_window(self, wnd: int, seq: Seq) -> None:
        """The window of the peer's SYN, in LISTEN (SND.WND = MAX.SND.WND = SEG.WND)."""
        self.snd_wnd = self.max_snd_wnd = wnd
        self.snd_wl1 = seq

    def take_peer_mss(self, peer: int) -> None:
        """RFC 9293 §3.7.1 MUST-15/16: the send MSS is the peer's MSS, capped by our path."""
        conn = self.conn
        user = conn.config.mss  # (TCP_MAXSEG clamps what we send too, as on Linux)
        self.snd_mss = max(min(peer, conn.mss_limit, user if user else peer), 1)
        # SMSS excludes options (RFC 5681 §2): with timestamps, 12 octets fewer of data.
        self.cc.set_smss(self.eff_mss(), conn.config.initial_window)

    def set_max_segment_bytes(self, n: int | None) -> None:
        """The most data one segment may carry (TSO: a link that splits segments); None for
        one Eff.snd.MSS. ValueError names a value out of range."""
        if n is not None and (not isinstance(n, int) or not 1 <= n <= MAX_SEGMENT_BYTES):
            raise ValueError(f"max_segment_bytes must be 1..{MAX_SEGMENT_BYTES} or None, not {n!r}")
        self.max_segment_bytes = n

    def most_data(self, mss: int) -> int:
        """The most data one segment may carry now: whole wire segments of ``mss`` up to
        ``max_segment_bytes`` (one ``mss`` without TSO)."""
        most = self.max_segment_bytes
        if most is None or most <= mss:
            return mss
        if most > _SUPER_MAX:
            most = _SUPER_MAX
        return most - most % mss if most > mss else mss

    def tso_size(self, mss: int) -> int:
        """How much data one super-segment carries (Linux's tcp_tso_autosize): about one
        millisecond at the pacing rate Linux would use (cwnd / SRTT, doubled in slow start
        and 1.2 times after), plus 64 KiB >> (min RTT in us >> 9) for a short path, at least
        two wire segments, at most ``most_data``; whole wire segments of ``mss``."""
        most = self.most_data(mss)
        srtt = self.rtt.srtt
        if srtt and most > 2 * mss:
            cc = self.cc
            cwnd = cc.cwnd
            # rate * 1 ms, the rate in octets per ns being cwnd * ratio / SRTT
            size = cwnd * (200 if cwnd < cc.ssthresh >> 1 else 120) * 10_000 // srtt
            lr = self.lr
            min_rtt = lr.rack.min_rtt if lr is not None and lr.rack.min_rtt else srtt
            r = (min_rtt // 1000) >> _TSO_RTT_LOG
            if r < 17:
                size += _GSO_MAX >> r
            if size < most:
                segs = size // mss
                return (segs if segs > 2 else 2) * mss
        return most

    def rewind(self, nxt: Seq) -> None:
        """Data our SYN carried was not taken (RFC 7413 §4.2.1): it leaves again, as new data,
        from ``nxt`` once the connection is established."""
        self.snd_nxt = nxt

    # ------------------------------------------------------------------ user calls
    def queue(self, data: bytes, urgent: bool) -> int:
        """SEND: take as much of ``data`` as the buffer allows; with ``urgent`` SND.UP moves
        to just after it (RFC 9293 §3.8.5 MUST-30/62). Returns the octets taken."""
        n = min(len(data), self.send_space)
        if n:
            self.buf += data[:n] if n < len(data) else data
            if urgent:
                self.snd_up = self.buf_seq + len(self.buf)  # MUST-62: the octet after
                self.urgent = True
        return n

    def queue_fin(self) -> None:
        """CLOSE: a FIN follows the queued data."""
        self.fin_queued = True

    def send_fin_now(self, now: int) -> None:
        """<SEQ=SND.NXT><CTL=FIN,ACK> at once (CLOSE in SYN-RECEIVED with nothing queued,
        RFC 9293 §3.10.4)."""
        conn = self.conn
        conn._emit(conn._segment(self.snd_nxt, conn.rcv.rcv_nxt, ACK | FIN), now)
        self.snd_nxt = self.snd_nxt + 1

    def clear(self) -> None:
        """Forget queued data (the TCB is being deleted)."""
        self.buf.clear()

    def reset_for_listen(self) -> None:
        """A passive SYN-RECEIVED goes back to LISTEN: forget the attempt. The next SYN,ACK is
        timed from RFC 6298 (2.1), not with the backoff and retry count of this one."""
        self.buf.clear()
        self.rtx_since = None
        self.rtt.reset_backoff()
        self.retries = 0
        self.rtx_first = None

    def path_mtu(self, mss: int, now: int) -> None:
        """A smaller path MTU (RFC 1191, RFC 8201): segments of ``mss``; everything outstanding
        is sent again in pieces that fit (Linux's tcp_simple_retransmit)."""
        self.snd_mss = mss
        self.cc.set_smss(mss, self.conn.config.initial_window)
        if self.snd_una != self.snd_nxt and self.conn.state not in _HANDSHAKE:
            self.rtx_nxt = self.snd_una
            self.rtx_cause = "pmtu"
            self.rtt_seq = None
            self.conn._output(now)

    def trace_cc(self, now: int, cause: str, flight: int | None = None) -> None:
        """Trace cwnd and ssthresh after a change; ``flight`` is the FlightSize the change
        was computed from when that is not the one of this moment (an ECN-Echo's)."""
        conn = self.conn
        tr = conn.tr
        if tr.on:
            tr.emit(CongestionChanged(now, tr.host, conn.cid, self.cc.cwnd, self.cc.ssthresh,
                                      self.flight_size if flight is None else flight, self.snd_wnd, cause))

    # ------------------------------------------------------------------ transmission
    def arm_rto(self, now: int) -> None:
        """(Re)start the retransmission timer (RFC 6298 (5.1)/(5.3)), capped by R2."""
        conn = self.conn
        rt = self.rtt
        at = now + rt.timeout
        cfg = conn.config
        r2 = cfg.r2_syn if conn.state in _HANDSHAKE else cfg.r2
        if r2 is not None and self.rtx_since is not None and self.rtx_since + r2 < at:
            at = self.rtx_since + r2
        first = self.rtx_first
        if first is not None and cfg.user_timeout is not None and first + cfg.user_timeout < at:
            # Linux tcp_clamp_rto_to_user_timeout: the timer fires when the user timeout ends.
            at = max(first + cfg.user_timeout, now)
        conn.timers.arm(_RTO, at, now, rt.backoff)

    def _bare_fin(self, now: int) -> None:
        """send_data's path when all data is acknowledged and the FIN has not been sent:
        <SEQ=SND.NXT><ACK=RCV.NXT><CTL=FIN,ACK>, whatever the windows (it carries no data),
        with the marks and timers a segment of new data sets, as the loop below."""
        conn = self.conn
        timers = conn.timers
        pos = self.snd_nxt
        # (Minshall's mark for a segment shorter than Eff.snd.MSS: it always is, but for an
        # MSS of 1; an MSS above 41 leaves more than 1 whatever the options take)
        short = self.snd_mss > 41 or self.eff_mss() > 1
        conn._emit(conn._segment(pos, conn.rcv.rcv_nxt, ACK | FIN), now, None)
        end = self.snd_nxt = seq_add(pos, 1)
        if short:
            self.snd_sml = end
        if self.rtt_seq is None:
            self.rtt_seq, self.rtt_time = end, now
        self._segment_left(now, timers)

    def _segment_left(self, now: int, timers: Timers) -> None:
        """A segment left (data, FIN, or a retransmission): R2 counts from now if it did not
        already, the retransmission timer runs, and the persist timer stops."""
        if self.rtx_since is None:
            self.rtx_since = now
        if timers.at[RTO_SLOT] is None:
            self.arm_rto(now)
        if timers.at[PROBE_SLOT] is not None:
            timers.cancel(_PERSIST, now)
            self.persist_backoff = 0

    def send_data(self, now: int, limit: int | None = None, force: bool = False) -> None:
        """Transmit new data (and go-back-N retransmissions) as the windows allow.

        ``limit``: octets of new data allowed in place of the congestion window (SACK
        recovery's budget, a loss probe); the peer's window still applies. ``force``: send
        one segment that the sender's SWS avoidance or Nagle would hold (the override
        timeout of RFC 9293 §3.8.6.2.1 (4), a loss probe)."""
        conn = self.conn
        timers = conn.timers
        lr = self.lr
        if lr is None and self.fin_queued and not self.buf and self.rtx_nxt is None and self.snd_nxt == self.buf_seq:
            self._bare_fin(now)  # everything acknowledged: only the FIN is left to send
            return
        if lr is None:
            if conn.sack_ok and len(self.buf) > seq_dist(self.snd_nxt, self.buf_seq):
                # RFC 6675 scoreboard and RACK-TLP from the first data segment on (a
                # connection that only ever sends its FIN needs neither).
                lr = self.lr = LossRecovery(self.eff_mss(), conn.config.rack)
        elif lr.state is not OPEN and limit is None:
            self._send_recovery(now)  # RFC 6675 NextSeg() with PRR, or after an RTO
            return
        sbuf = self.buf
        blen = len(sbuf)
        mss = self.eff_mss()
        cfg = conn.config
        if cfg.sws_half_window:
            # Linux's tcp_bound_to_half_wnd: segments of at most half the largest window the
            # peer offered (once that is above 536), so a small window is filled at once.
            half = self.max_snd_wnd >> 1 if self.max_snd_wnd > 536 else self.max_snd_wnd
            if 0 < half < mss:
                mss = half if half > 48 else 48
        seg_max = self.max_segment_bytes
        # TSO: super-segments of whole wire segments (the link cuts them at ``gso_size``);
        # not in urgent mode, whose pointer each wire segment would need of its own (Linux
        # sends urgent data without TSO, too).
        seg_max = mss if seg_max is None or seg_max <= mss or self.urgent else self.tso_size(mss)
        self.gso_size = mss
        psh_every = cfg.psh_every
        # Positions as offsets into the buffer (octet 0 is sequence number buf_seq; the FIN,
        # if queued, is offset blen): one conversion each way per segment.
        sbuf_seq = self.buf_seq
        una_off = seq_dist(self.snd_una, sbuf_seq)
        nxt_off = seq_dist(self.snd_nxt, sbuf_seq)
        cwnd = self.cc.cwnd
        dup = self.dupacks
        if 0 < dup < 3:
            # RFC 3042 limited transmit: a new segment for each of the first two duplicate
            # ACKs, beyond cwnd (which itself does not change).
            cwnd += dup * mss
        wnd = self.snd_wnd
        if limit is None and cwnd < wnd:
            wnd = cwnd
        edge = una_off + wnd  # the first octet beyond what the windows allow
        fin_queued = self.fin_queued
        segment = conn._segment
        emit = conn._emit
        rcv = conn.rcv
        sent_new = False
        shared: tuple | None = None
        opts: tuple = ()
        emitted = False
        out = conn.out
        lport, rport = conn.local_port, conn.remote_port
        while True:
            rtx_nxt = self.rtx_nxt
            if rtx_nxt is not None:
                rtx = True
                pos = rtx_nxt
                off = seq_dist(pos, sbuf_seq)
            else:
                rtx = False
                pos = self.snd_nxt
                off = nxt_off
            remaining = blen - off
            usable = edge - off
            if limit is not None and usable > limit:
                usable = limit
            if rtx:
                # Going back over sent data: never past SND.NXT, where new data begins.
                sent = nxt_off - off
                if remaining > sent:
                    remaining = sent
            if remaining > 0:
                if usable <= 0:
                    break  # (a window that shrank below what is in flight: SHLD-15)
                n = remaining if remaining < usable else usable
                if n > mss:
                    if rtx:
                        n = mss  # (going back over sent data: one wire segment at a time)
                    elif n > seg_max:
                        n = seg_max
                    elif n < remaining:
                        n -= n % mss  # whole wire segments, but for the tail of the data
                if n < mss and not rtx and not force:
                    # (only our SYN in flight counts as idle: a Fast Open server answers
                    # before the handshake completes, RFC 7413 §4.2.2; Linux's Minshall
                    # check does not hold data behind a SYN either)
                    idle = nxt_off == una_off or (self.snd_una == self.iss and nxt_off == una_off + 1)
                    nodelay = conn.config.nodelay
                    if n < remaining:
                        # Window-limited runt (RFC 9293 §3.8.6.2.1, MUST-38): rule (3) sends
                        # it once it is at least Fs = 1/2 of the largest window the peer
                        # offered ([with Nagle] only when nothing is in flight); else it
                        # waits for an ACK, or, with nothing in flight to bring one, for
                        # the override timeout of rule (4).
                        if n < (self.max_snd_wnd >> 1) or not (idle or nodelay):
                            if idle and timers.at[PROBE_SLOT] is None:
                                timers.arm(_SWS, now + conn.config.sws_override, now)
                            break
                    elif not idle and not nodelay and not fin_queued and (
                            not cfg.minshall or self.snd_una.lt(self.snd_sml)):
                        # Nagle (SHLD-7): wait for the outstanding data's ACK; Minshall's
                        # variant (Linux) waits only while a short segment is unacknowledged.
                        break
                payload = bytes(sbuf[off:off + n])
                flags = ACK
                if off + n == blen:
                    flags |= PSH  # MUST-61: PSH on the last buffered segment
                    if fin_queued and (not rtx or nxt_off > blen):
                        flags |= FIN
                        n += 1
                elif psh_every and not rtx and self.psh_count + 1 >= psh_every:
                    flags |= PSH  # (Linux pushes each buffer it queued: every other segment)
                if not rtx:
                    self.psh_count = 0 if flags & PSH else self.psh_count + 1
                if self.cwr and not rtx:
                    flags |= CWR  # RFC 3168 §6.1.2: the first new data after a reduction
                    self.cwr = False
                if shared is None and not self.urgent and not rcv.sack_room():
                    # The window, options and ECE of this moment, the same for every
                    # segment of this loop (Output._ack_fields), computed once.
                    shared = conn._ack_fields()
                    opts = shared[1] if shared[1] is not None else ()
                if shared is None:
                    emit(segment(pos, rcv.rcv_nxt, flags, payload), now, self.rtx_cause if rtx else None)
                else:
                    seg = _tuple_new(TcpSegment, (lport, rport, pos, rcv.rcv_nxt, flags | shared[2], shared[0],
                                                  payload, opts, 0))
                    if emitted:
                        # What Output._emit does beyond queueing was done for the first
                        # segment of this loop and would change nothing (the same ACK).
                        out.append((seg, self.rtx_cause if rtx else None))
                        conn.segs_out += 1
                    else:
                        emit(seg, now, self.rtx_cause if rtx else None)
                        emitted = True
            elif fin_queued and off == blen and (not rtx or nxt_off > blen):
                # A bare FIN, sent whatever the window (it carries no data).
                n = 1
                emit(segment(pos, rcv.rcv_nxt, ACK | FIN), now, self.rtx_cause if rtx else None)
            else:
                break
            end_off = off + n
            force = False
            if rtx:
                self.retransmits += 1
                self.bytes_retrans += n - (end_off == blen + 1)   # (the FIN is no data)
                self.rtt_seq = None  # Karn
                if lr is not None:
                    a = self.una_abs + (off - una_off)
                    lr.resent(a, a + n, now)
                self.rtx_nxt = seq_add(sbuf_seq, end_off) if end_off < nxt_off else None
            else:
                if lr is not None:
                    a = self.una_abs + (off - una_off)
                    lr.sent(a, a + n, now, mss if n > mss else 0)
                    sent_new = True
                nxt_off = end_off
                end = self.snd_nxt = seq_add(sbuf_seq, end_off)
                if n < mss:
                    self.snd_sml = end
                if self.rtt_seq is None:
                    self.rtt_seq, self.rtt_time = end, now
                if limit is not None:
                    limit -= n
            self._segment_left(now, timers)
            if end_off == blen + 1:
                break  # (the FIN went)
        # Zero window with data waiting and nothing in flight: the persist timer
        # (RFC 9293 §3.8.6.1) keeps asking for a window update.
        if self.snd_wnd == 0 and nxt_off == una_off and blen - nxt_off > 0 and timers.at[PROBE_SLOT] is None:
            timers.arm(_PERSIST, now + self.rtt.timeout, now, 0)
        if sent_new and lr is not None and lr.use_rack and lr.state is OPEN and lr.tlp.end is None \
                and (timers.at[LOSS_SLOT] is None or timers.loss is not _RACK):
            # RFC 8985 §7.2: the probe timer (re)starts after every transmission of new data,
            # the FIN included, so that it covers the end of the flight (each ACK that
            # advances SND.UNA restarts it too: _sack_ack).
            self._arm_tlp(now)

    def retransmit_head(self, now: int, cause: str) -> None:
        """Retransmit the segment at SND.UNA (the SYN, SYN-ACK, data or FIN)."""
        self.retransmits += 1
        conn = self.conn
        st = conn.state
        una = self.snd_una
        if una == self.iss and (st in _HANDSHAKE or st is _FIN_WAIT_1):
            conn._resend_syn(now, cause)  # our SYN is not acknowledged yet
            return
        off = una - self.buf_seq
        # Only octets already sent: a retransmission never reaches past SND.NXT.
        n = min(len(self.buf) - off, self.eff_mss(), self.snd_nxt - una)
        flags = ACK
        if n > 0:
            payload = bytes(self.buf[off:off + n])
            if off + n == len(self.buf):
                flags |= PSH
                if self.fin_queued and self.snd_nxt.gt(self.fin_seq()):
                    flags |= FIN
        else:
            payload = _EMPTY
            if not (self.fin_queued and self.snd_nxt.gt(self.fin_seq())):
                return
            flags |= FIN
        seg = conn._segment(una, conn.rcv.rcv_nxt, flags, payload)
        self.bytes_retrans += len(payload)
        conn._emit(seg, now, cause)
        if self.lr is not None:
            self.lr.resent(self.una_abs, self.una_abs + seg.len, now)
        nxt = una + seg.len
        if nxt.lt(self.snd_nxt):
            self.rtx_nxt = nxt
            self.rtx_cause = cause
        else:
            self.rtx_nxt = None

    # ------------------------------------------------------------------ timers
    def rto_expired(self, now: int) -> None:
        """RFC 6298 (5.4)-(5.7) and RFC 9293 §3.8.3: back off, retransmit the earliest
        unacknowledged segment, or give up once R2 has passed."""
        conn = self.conn
        st = conn.state
        if self.snd_una == self.snd_nxt or st in _NOT_SENDING:
            return
        cfg = conn.config
        since = self.rtx_since if self.rtx_since is not None else now
        handshake = st in _HANDSHAKE
        r2 = cfg.r2_syn if handshake else cfg.r2
        if r2 is not None and now - since >= r2:
            # MUST-20: close the connection at R2 (MUST-22: for a SYN too).
            conn._fail(ConnectionTimeout("connection timed out: retransmissions reached R2"),
                       now, "R2 reached", "RFC 9293 §3.8.3 MUST-20")
            return
        ut = cfg.user_timeout
        first = self.rtx_first
        if ut is not None and first is not None and now - first >= ut:
            # MUST-21: R2 as the application set it (TCP_USER_TIMEOUT), counted as Linux
            # counts it, from the first retransmission (tcp_retransmits_timed_out).
            conn._fail(ConnectionTimeout("connection timed out: the user timeout passed"),
                       now, "user timeout reached", "RFC 9293 §3.8.3 MUST-21")
            return
        limit = cfg.synack_retries
        if st is _SYN_RECEIVED and conn.passive and limit is not None and self.retries >= limit:
            # A half-open passive connection gets `synack_retries` SYN,ACK retransmissions
            # (Linux tcp_synack_retries, RFC 4987 §3.2: bound what a SYN flood can hold).
            conn._abandon_passive(now, "SYN,ACK retransmissions exhausted",
                                  ConnectionTimeout("connection timed out: no ACK of our SYN,ACK"))
            return
        syn_sent = st is _SYN_SENT
        if syn_sent and cfg.syn_retries is not None and self.retries >= cfg.syn_retries + cfg.syn_linear_timeouts:
            # Linux's tcp_syn_retries (plus the linear ones): the SYN is given up sooner than
            # R2 for a SYN (RFC 9293 §3.8.3 MUST-23 asks at least 3 minutes of it).
            conn._fail(ConnectionTimeout(f"connection timed out: {self.retries} SYN retransmissions unanswered"),
                       now, "SYN retries exhausted", "Linux tcp_syn_retries")
            return
        self.retries += 1
        if self.rtx_first is None:
            self.rtx_first = now
        if self.retries == cfg.r1:
            # MUST-20 / SHLD-9: at R1, report the delivery problem (negative advice).
            conn._advise(f"R1 reached: {self.retries} retransmissions without acknowledgment")
        if not (syn_sent and self.retries <= cfg.syn_linear_timeouts):
            self.rtt.back_off()                   # RFC 6298 (5.5)
        # (else Linux's tcp_syn_linear_timeouts: the first SYN retransmissions keep the RTO)
        self.rtt_seq = None                       # Karn's algorithm (RFC 6298 §3)
        if not handshake:
            self.cc.on_rto(self.flight_size, now)  # RFC 5681 §3.1 (4): loss window
            self.recover = self.snd_nxt           # RFC 6582 §3.2 step 1 after a timeout
            self.dupacks = 0
            self.trace_cc(now, "rto")
        lr = self.lr
        if lr is not None and not handshake:
            # RFC 6675 §5.1, RFC 8985 §6.3: every segment not SACKed is now lost; they go
            # out again, head first, as slow start allows, and what the peer holds is not
            # sent again. No fast recovery begins before RecoveryPoint (= SND.NXT).
            conn.timers.cancel(_TLP, now)
            lr.enter_loss(self.abs(self.snd_nxt), now)
        self.retransmit_head(now, "rto")
        if lr is not None:
            self.rtx_nxt = None  # the scoreboard, not go-back-N, says what follows
        # Go back: everything after the head is resent as the window allows (RFC 5681 §3.1).
        self.arm_rto(now)

    def persist_expired(self, now: int) -> None:
        """Zero-window probe (RFC 9293 §3.8.6.1 MUST-35/36): a segment the peer must answer
        with an ACK carrying its current window. Probes continue, backing off (SHLD-30), for
        as long as the peer answers (MUST-37); once none has been answered for R2, the
        connection times out as for unanswered retransmissions (RFC 9293 §3.8.3, as Linux's
        tcp_probe_timer does). With a non-zero window the same timer is the sender's SWS
        override timeout (RFC 9293 §3.8.6.2.1 (4), MUST-38)."""
        conn = self.conn
        sending = conn.state in SENDING
        if sending and self.snd_wnd > 0 and self.unsent and self.snd_una == self.snd_nxt:
            # The override timeout: send what the (small) window allows now.
            self.persist_backoff = 0
            self.send_data(now, force=True)
            return
        if not sending or self.snd_wnd > 0 or not self.unsent:
            self.persist_backoff = 0
            return
        r2 = conn.config.r2
        if self.rtx_since is None:
            self.rtx_since = now  # the first probe not answered yet (ack_arrives clears it)
        elif r2 is not None and now - self.rtx_since >= r2:
            conn._fail(ConnectionTimeout("connection timed out: zero-window probes unanswered"),
                       now, "R2 reached (window probes)", "RFC 9293 §3.8.6.1 MUST-37")
            return
        # One octet of sequence space below SND.UNA, no data: out of window for the peer,
        # so it answers with <SEQ=..><ACK=RCV.NXT><WND=..> (the way Linux probes). This is
        # the "retransmit" form of RFC 9293 §3.8.6.1's probe; the other form, one octet of
        # new data, would put data beyond a zero window into flight, where the
        # retransmission timer and its R2 limit would take over from the persist timer
        # (MUST-37 asks that probes the peer answers keep the connection open).
        conn._send_probe(now, "zero-window-probe")
        self.persist_backoff += 1
        timeout = min(self.rtt.timeout << self.persist_backoff, conn.config.max_rto)
        conn.timers.arm(_PERSIST, now + timeout, now, self.persist_backoff)

    # ------------------------------------------------------------------ the ACK field
    def ack_arrives(self, seg: TcpSegment, now: int, d: int | None = None) -> None:
        """The fifth check of RFC 9293 §3.10.7.4 for an acceptable ACK (SND.UNA - MAX.SND.WND
        =< SEG.ACK =< SND.NXT): what it acknowledges, duplicate ACKs, SACK loss recovery,
        ECN-Echo, and the window update. ``d``: SEG.ACK - SND.UNA, if the caller has it."""
        conn = self.conn
        ack = seg.ack
        una = self.snd_una
        st = conn.state
        lr = self.lr
        tsecr = None
        if conn.ts_ok:
            o = seg.options
            ts = o[2] if len(o) == 3 and type(o[2]) is Timestamps else _ts.find_timestamps(o)
            if ts is not None:
                tsecr = ts.tsecr  # RFC 7323 §3.2: TSecr is valid with ACK
        if d is None:
            d = seq_dist(ack, una)
        if d > 0:
            self.new_ack(ack, now, tsecr, d)
        elif lr is None and d == 0 and self.snd_nxt != una and seg.len == 0 \
                and (seg.wnd << conn.snd_wscale) == self.snd_wnd and st in SENDING:
            self._duplicate_ack(now)
        if lr is not None and st in SENDING:
            self._sack_ack(seg, una, now)  # SACK-based loss recovery (tcp/recovery.py)
        if conn.ecn_ok and seg.flags & ECE and st in SENDING:
            # RFC 3168 §6.1.2: congestion on the way to the peer. The window to halve is the
            # flight this ACK found (SND.NXT - SND.UNA as it arrived), not what is left once it
            # has acknowledged its part: one ACK for a whole flight (RFC 9293 MUST-59) would
            # otherwise leave almost nothing in flight to halve.
            self._ecn_echo(now, seq_dist(self.snd_nxt, una))
        self.window_update(seg, una, now, d >= 0)

    def window_update(self, seg: TcpSegment, una: Seq, now: int, ack_ok: bool = True) -> None:
        """The window update of the fifth check (RFC 9293 §3.10.7.4): if SND.UNA =< SEG.ACK
        =< SND.NXT and the segment is newer than the last update (``una`` is SND.UNA as the
        segment arrived; ``ack_ok``: SND.UNA =< SEG.ACK, which the caller knows). The persist
        timer stops when the window opens."""
        conn = self.conn
        ack = seg.ack
        wl1 = self.snd_wl1
        seq = seg.seq
        if ack_ok and ((wl1 == seq and self.snd_wl2.le(ack)) or wl1.lt(seq)):
            old = self.snd_wnd
            w = seg.wnd << conn.snd_wscale  # RFC 7323 §2.3: SEG.WND << Snd.Wind.Shift
            if 0 < w < old and conn.config.window_update_grows_only and ack == una and seq == wl1:
                return  # a duplicate ACK only opens the window (Linux tcp_may_update_window)
            self.snd_wnd = w
            if w > self.max_snd_wnd:
                self.max_snd_wnd = w
            self.snd_wl1 = seg.seq
            self.snd_wl2 = ack
            if old == 0 and w > 0 and conn.timers.at[PROBE_SLOT] is not None:
                conn.timers.cancel(_PERSIST, now)
                self.persist_backoff = 0
        if self.snd_wnd == 0 and self.rtx_since is not None:
            # The peer answers while its window is closed: it is alive, so neither probes
            # nor data beyond a window that shrank to zero count towards R2 (RFC 9293
            # §3.8.6.1 MUST-37, §3.8.6 SHLD-17); R2 counts from the last answer.
            self.rtx_since = None if self.snd_una == self.snd_nxt else now

    def new_ack(self, ack: Seq, now: int, tsecr: int | None = None, acked: int | None = None) -> None:
        """SND.UNA < SEG.ACK =< SND.NXT: remove what is acknowledged, sample the RTT,
        restart or stop the retransmission timer, grow the congestion window. ``tsecr`` is
        the segment's echoed timestamp when timestamps are in use (RFC 7323 §4); ``acked``
        is SEG.ACK - SND.UNA, if the caller has it."""
        conn = self.conn
        una = self.snd_una
        if acked is None:
            acked = seq_dist(ack, una)
        self.una_abs += acked
        buf = self.buf
        if buf:
            # Octets of buffered data covered: everything from buf_seq up to ACK.
            data = seq_dist(ack, self.buf_seq)
            if data > 0:
                if data >= len(buf):
                    data = len(buf)
                    buf.clear()
                else:
                    del buf[:data]
                self.buf_seq = seq_add(self.buf_seq, data)
        self.snd_una = ack
        if self.urgent and ack.ge(self.snd_up):
            self.urgent = False  # all urgent data acknowledged: leave urgent mode (RFC 9293 §3.8.5)
        if conn.icmp_error is not None:
            conn.path_confirmed()  # data got through: forget the soft ICMP error (as Linux)
        if self.rtx_nxt is not None and self.rtx_nxt.le(ack):
            self.rtx_nxt = ack if ack.lt(self.snd_nxt) else None
        left = seq_dist(self.snd_nxt, ack)  # FlightSize from now on
        # RTT sample (RFC 6298 (2.2)/(2.3)); Karn: only for segments sent once.
        rs = self.rtt_seq
        r = None
        if tsecr and (rs is None or ack.ge(rs)):
            # RFC 7323 §4 (RTTM): the echoed TSval dates the segment this ACK answers, even
            # after a retransmission (§4.2: Karn's rule is not needed). One sample per
            # flight, as RFC 7323 Appendix G advises for the RFC 6298 estimator.
            r = _ts_rtt((now // _TS_TICK + conn.ts_off) & MASK, tsecr)
            self.rtt_seq = self.snd_nxt if left else None
        elif rs is not None and ack.ge(rs):
            r = now - self.rtt_time
            self.rtt_seq = None
        if r is not None:
            rt = self.rtt
            rt.sample(r)
            if self.lr is None:
                # RFC 9406 (HyStart++) reads RTT samples. With SACK loss recovery it gets
                # the newest acknowledged segment's instead (_sack_ack): an echoed TSval
                # dates the oldest segment an ACK covers, so a delayed ACK, or one stretch
                # ACK for a whole super-segment, inflates this sample.
                self.cc.on_rtt_sample(r, now)
            tr = conn.tr
            if tr.on:
                tr.emit(RttSample(now, tr.host, conn.cid, r, rt.srtt, rt.rttvar, rt.timeout))  # type: ignore[arg-type]
        st = conn.state
        if self.retransmits and st is _FIN_WAIT_1 and una == self.iss and self.rtt.srtt is None:
            # RFC 6298 (5.7): the SYN timed out, so data starts with an RTO of 3 s. _set_state
            # does this on entering ESTABLISHED; a CLOSE in SYN-RECEIVED (RFC 9293 §3.10.4)
            # completes the handshake in FIN-WAIT-1 instead.
            self.rtt.after_syn_timeout()
        # A backed-off RTO stays until a valid RTT sample (RtoEstimator.sample) collapses it:
        # an ACK of retransmitted data gives none (Karn; RFC 9293 §3.8.1 MUST-18, RFC 6298
        # §5 after (5.7)). The count of retransmissions towards R1 and R2 starts again.
        self.retries = 0
        self.rtx_first = None
        # Congestion control (RFC 5681 §3, RFC 6582 §3.2). With SACK, _sack_ack does it.
        if st in SENDING and self.lr is None:
            cc = self.cc
            rec = self.recover
            if self.dupacks >= 3 and rec is not None:
                if ack.ge(rec) or not cc.partial_ack_recovery:
                    cc.exit_recovery(self.flight_size, now)
                    self.dupacks = 0
                    self.trace_cc(now, "recovery-exit")
                else:
                    # NewReno partial ACK: retransmit the next hole, stay in recovery.
                    cc.on_partial_ack(acked)
                    self.retransmit_head(now, "partial-ack")
                    # RFC 6582 §3.2 step 3: only "the first unacknowledged segment" is
                    # resent; going back over the rest of the window resent it all on
                    # every partial ACK.
                    self.rtx_nxt = None
                    self.trace_cc(now, "partial-ack")
            else:
                self.dupacks = 0
                before = cc.cwnd
                # RFC 9438 §4.2: CUBIC grows with time since the epoch and with SRTT.
                cc.on_ack(acked, left, now, self.rtt.srtt)
                if cc.cwnd != before:
                    self.trace_cc(now, "ack")
        # RFC 6298 (5.2)/(5.3): stop the timer when all is acknowledged, else restart it.
        if not left:
            self.rtx_since = None
            conn.timers.cancel(_RTO, now)
        else:
            self.rtx_since = now
            self.arm_rto(now)

    def _duplicate_ack(self, now: int) -> None:
        """RFC 5681 §3.2: the third duplicate ACK triggers fast retransmit; later ones
        inflate the window during fast recovery."""
        self.dupacks += 1
        if self.dupacks == 3:
            rec = self.recover
            # RFC 6582 §3.2 step 2: only if the ACK covers more than ``recover``.
            if rec is not None and self.snd_una.le(rec) and self.cc.partial_ack_recovery:
                return
            self.recover = self.snd_nxt
            self.cc.enter_recovery(self.flight_size, now)
            self.rtt_seq = None
            self.trace_cc(now, "fast-retransmit")
            self.retransmit_head(now, "fast-retransmit")
            self.rtx_nxt = None  # only the head is resent; the rest waits for ACKs
            self.arm_rto(now)
        elif self.dupacks > 3:
            self.cc.on_dupack_in_recovery()

    def _ecn_echo(self, now: int, flight: int) -> None:
        """An ACK with ECE (RFC 3168 §6.1.2): reduce the window as for a loss, but at most
        once per window of data and not again within loss recovery, and set CWR on the
        next new data segment so that the receiver stops echoing."""
        rec = self.ecn_rec
        if rec is not None and self.snd_una.le(rec):
            return  # already answered for this window
        self.ecn_rec = self.snd_nxt
        self.cwr = True
        lr = self.lr
        if (lr is not None and lr.state is not OPEN) or (lr is None and self.dupacks >= 3):
            return  # the loss response already reduced the window
        self.cc.on_ecn(flight, now)
        self.trace_cc(now, "ecn", flight)

    @property
    def ca_state(self) -> str:
        """"open", "recovery" or "loss" (Linux's ca_state names)."""
        lr = self.lr
        if lr is not None:
            return lr.state.value
        return "recovery" if self.dupacks >= 3 else "open"
