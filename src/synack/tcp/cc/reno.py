"""The congestion-control interface, and Reno and NewReno (RFC 5681, RFC 6582). Bytes throughout.

An algorithm owns ``cwnd`` and ``ssthresh`` (bytes) and nothing else of the connection: the
sender reads them and reports what happened, each report carrying ``now`` (integer ns). The
algorithm never writes into the sender (STYLE anti-patterns). The events, in the order a
connection meets them:

``set_smss(smss, initial_window)``
    The send MSS became known at the end of the handshake (RFC 5681 §3.1 IW).
``on_rtt_sample(rtt, now)``
    Every valid RTT measurement (ns): the RFC 6298 sample, and per-ACK samples from
    timestamps or RACK where the sender has them (HyStart++ wants several per round).
``on_ack(acked, flight_size, now, rtt)``
    ``acked`` new octets were cumulatively acknowledged outside loss recovery;
    ``flight_size`` is FlightSize *after* this ACK (SND.NXT - SND.UNA) and ``rtt`` the
    connection's SRTT in ns (None before the first sample). The window grows here, and
    only while the sender is using it (RFC 9438 §5.8, RFC 7661): an ACK that leaves more
    than one SMSS of the window unused does not grow it.
``on_congestion_event(flight_size, now)``
    Loss detected by ACKs (or SACK), before recovery: set ``ssthresh`` and the algorithm's
    own state (CUBIC's W_max, K), leave ``cwnd`` alone, return the new ``ssthresh``. The
    building block for a recovery module that drives ``cwnd`` itself (PRR, RFC 9937),
    which then reports its window through ``set_cwnd``.
``enter_recovery(flight_size, now)``
    The third duplicate ACK with RFC 5681 fast recovery: ``on_congestion_event``, then
    cwnd = ssthresh + 3*SMSS (RFC 5681 §3.2 steps 2 and 3).
``on_dupack_in_recovery()`` / ``on_partial_ack(acked)``
    RFC 5681 §3.2 step 4 inflation; RFC 6582 §3.2 step 3 partial-ACK deflation.
``set_cwnd(cwnd, now)``
    A loss-recovery module (PRR) sets cwnd during recovery; at least one SMSS.
``exit_recovery(flight_size, now)``
    A full ACK ends recovery (RFC 6582 §3.2 step 3; RFC 5681 §3.2 step 6).
``on_rto(flight_size, now)``
    The retransmission timer expired (RFC 5681 §3.1 equation (4), the loss window).
``on_ecn(flight_size, now)``
    An ACK carried ECN-Echo (RFC 3168 §6.1.2): reduce as for a loss, without retransmitting
    and without the fast-recovery inflation; the sender calls it at most once per window
    of data (the CWR bookkeeping is the sender's).

A new algorithm is one small class: subclass :class:`CongestionControl` (or :class:`Reno`),
give it a ``name``, and pass it to :func:`synack.tcp.cc.register`.
"""

from __future__ import annotations


#: "arbitrarily high" initial ssthresh (RFC 5681 §3.1)
INITIAL_SSTHRESH = 1 << 30


def slow_start_increase(acked: int, smss: int, limit: int) -> int:
    """How much slow start grows cwnd on an ACK of ``acked`` new octets: byte counting
    (RFC 3465 §2.2, RFC 5681 §3.1), min(acked, ``limit``) where ``limit`` is L * SMSS.

    An ACK of more than two full-sized segments is a stretch ACK: a receiver (or its GRO)
    that took a TSO super-segment of 45 wire segments acknowledges it once. It counts as
    the ACKs it stands for, one per two full-sized segments (RFC 9293 §3.8.6.3), each
    limited by L, so that the window grows alike whether the receiver acknowledged every
    second segment or a whole super-segment at once (Linux counts every segment a
    stretch ACK covers, ``tcp_slow_start``; with HyStart++'s L = 8 this is the same)."""
    cap = limit * -(-acked // (2 * smss)) if acked > 2 * smss else limit
    return acked if acked < cap else cap


class CongestionControl:
    """What every algorithm has and does: RFC 5681 slow start and loss responses, in bytes.

    Subclasses override ``ssthresh_after_loss`` (the multiplicative decrease) and the
    window growth in ``on_ack``; the recovery mechanics are shared.
    """

    #: the name TCP_CONGESTION selects (at most 15 characters, as Linux's TCP_CA_NAME_MAX)
    name = ""
    #: NewReno stays in recovery across partial ACKs (RFC 6582); Reno leaves on the first.
    partial_ack_recovery = True
    __slots__ = ("smss", "cwnd", "ssthresh")

    def __init__(self, smss: int, initial_window: int = 10) -> None:
        self.smss = smss
        # RFC 5681 §3.1 IW, raised to Linux's ten segments by RFC 6928.
        self.cwnd = initial_window * smss
        self.ssthresh = INITIAL_SSTHRESH

    def __repr__(self) -> str:
        return f"<{type(self).__name__} cwnd={self.cwnd} ssthresh={self.ssthresh} smss={self.smss}>"

    @property
    def in_slow_start(self) -> bool:
        """cwnd < ssthresh (RFC 5681 §3.1)."""
        return self.cwnd < self.ssthresh

    def set_smss(self, smss: int, initial_window: int) -> None:
        """The MSS became known at the end of the handshake."""
        self.smss = smss
        self.cwnd = initial_window * smss

    def resume(self, cwnd: int, ssthresh: int) -> None:
        """Continue from another algorithm's window (TCP_CONGESTION on a live connection)."""
        self.cwnd = max(cwnd, self.smss)
        self.ssthresh = ssthresh

    def on_rtt_sample(self, rtt: int, now: int) -> None:
        """A valid RTT measurement in ns. Reno has no use for it."""

    def _cwnd_limited(self, acked: int, flight_size: int) -> bool:
        """Was the window in use when this ACK arrived? (RFC 9438 §5.8, RFC 7661 §4.3)"""
        return flight_size + acked + self.smss > self.cwnd

    def on_ack(self, acked: int, flight_size: int, now: int = 0, rtt: int | None = None) -> None:
        """New data acknowledged outside recovery (RFC 5681 §3.1, (2) and (3))."""
        raise NotImplementedError

    def ssthresh_after_loss(self, flight_size: int) -> int:
        """The multiplicative decrease: RFC 5681 §3.1 equation (4)."""
        return max(flight_size >> 1, 2 * self.smss)

    def on_congestion_event(self, flight_size: int, now: int = 0) -> int:
        """Loss detected by ACKs: set and return ssthresh; cwnd is the caller's to drive."""
        self.ssthresh = self.ssthresh_after_loss(flight_size)
        return self.ssthresh

    def enter_recovery(self, flight_size: int, now: int = 0) -> None:
        """Third duplicate ACK (RFC 5681 §3.2 steps 2 and 3)."""
        self.on_congestion_event(flight_size, now)
        self.cwnd = self.ssthresh + 3 * self.smss

    def on_dupack_in_recovery(self) -> None:
        """RFC 5681 §3.2 step 4: inflate by one SMSS per additional duplicate ACK."""
        self.cwnd += self.smss

    def on_partial_ack(self, acked: int) -> None:
        """RFC 6582 §3.2 step 3: deflate by the amount acked, add back one SMSS."""
        self.cwnd = max(self.cwnd - acked, 0) + (self.smss if acked >= self.smss else 0)
        self.cwnd = max(self.cwnd, self.smss)

    def set_cwnd(self, cwnd: int, now: int = 0) -> None:
        """cwnd as a recovery module computes it (PRR: pipe + sndcnt, RFC 9937), >= 1 SMSS."""
        self.cwnd = cwnd if cwnd > self.smss else self.smss

    def exit_recovery(self, flight_size: int, now: int = 0) -> None:
        """Full ACK (RFC 6582 §3.2 step 3, option 1; RFC 5681 §3.2 step 6)."""
        self.cwnd = max(min(self.ssthresh, flight_size + self.smss), self.smss)

    def on_rto(self, flight_size: int, now: int = 0) -> None:
        """Retransmission timeout (RFC 5681 §3.1 (4) and the loss window of one SMSS)."""
        self.ssthresh = self.ssthresh_after_loss(flight_size)
        self.cwnd = self.smss

    def on_ecn(self, flight_size: int, now: int = 0) -> None:
        """ECN-Echo (RFC 3168 §6.1.2): ssthresh as after a loss, cwnd down to it (>= 1 SMSS)."""
        self.on_congestion_event(flight_size, now)
        self.cwnd = max(min(self.ssthresh, self.cwnd), self.smss)

    def _slow_start_to_ssthresh(self, inc: int, acked: int) -> int:
        """Slow start grows cwnd by ``inc`` up to ssthresh. Returns 0 while cwnd stays
        below it; once it reaches ssthresh, the rest of the ``acked`` octets, which count in
        congestion avoidance (as Linux's tcp_slow_start returns them)."""
        room = self.ssthresh - self.cwnd
        if inc <= room:
            self.cwnd += inc
            return 0
        self.cwnd = self.ssthresh
        return acked - room


class Reno(CongestionControl):
    """RFC 5681: slow start, congestion avoidance, fast retransmit / fast recovery."""

    name = "reno"
    partial_ack_recovery = False
    __slots__ = ("_ca_acc",)

    def __init__(self, smss: int, initial_window: int = 10) -> None:
        super().__init__(smss, initial_window)
        self._ca_acc = 0

    def on_ack(self, acked: int, flight_size: int, now: int = 0, rtt: int | None = None) -> None:
        """New data acknowledged outside recovery (RFC 5681 §3.1, (2) and (3))."""
        if flight_size + acked + self.smss <= self.cwnd:
            return  # not cwnd-limited: do not grow a window nobody uses
        smss = self.smss
        if self.cwnd < self.ssthresh:
            # Slow start with appropriate byte counting, L = 1 SMSS (RFC 3465), stretch
            # ACKs counted whole; up to ssthresh, the rest of the ACK counts in
            # congestion avoidance (as Linux's tcp_slow_start returns it).
            acked = self._slow_start_to_ssthresh(slow_start_increase(acked, smss, smss), acked)
            if not acked:
                return
        # Congestion avoidance: about one SMSS per RTT (RFC 5681 §3.1 equation (3)); a
        # stretch ACK of more than a window adds as many SMSS (Linux tcp_cong_avoid_ai).
        acc = self._ca_acc + acked
        w = self.cwnd
        if acc >= w:
            k = acc // w
            acc -= k * w
            self.cwnd += k * smss
        self._ca_acc = acc

    def on_congestion_event(self, flight_size: int, now: int = 0) -> int:
        self._ca_acc = 0
        return super().on_congestion_event(flight_size, now)

    def on_rto(self, flight_size: int, now: int = 0) -> None:
        super().on_rto(flight_size, now)
        self._ca_acc = 0


class NewReno(Reno):
    """RFC 6582: Reno whose fast recovery survives partial acknowledgments."""

    name = "newreno"
    partial_ack_recovery = True
    __slots__ = ()
