"""Reno and NewReno congestion control (RFC 5681, RFC 6582). cwnd and ssthresh in bytes.

The algorithm owns ``cwnd`` and ``ssthresh``; the connection reads them and tells the
algorithm what happened. It never writes into the sender (STYLE anti-patterns).
"""

from __future__ import annotations


class Reno:
    """RFC 5681: slow start, congestion avoidance, fast retransmit / fast recovery."""

    name = "reno"
    #: NewReno stays in recovery across partial ACKs (RFC 6582); Reno leaves on the first.
    partial_ack_recovery = False
    __slots__ = ("smss", "cwnd", "ssthresh", "_ca_acc")

    def __init__(self, smss: int, initial_window: int = 10) -> None:
        self.smss = smss
        # RFC 5681 §3.1 IW, raised to Linux's ten segments by RFC 6928.
        self.cwnd = initial_window * smss
        self.ssthresh = 1 << 30  # "arbitrarily high" (RFC 5681 §3.1)
        self._ca_acc = 0

    def set_smss(self, smss: int, initial_window: int) -> None:
        """The MSS became known at the end of the handshake."""
        self.smss = smss
        self.cwnd = initial_window * smss

    def on_ack(self, acked: int, flight_size: int) -> None:
        """New data acknowledged outside recovery (RFC 5681 §3.1, (2) and (3))."""
        if self.cwnd < self.ssthresh:
            # Slow start with appropriate byte counting, L = 1 SMSS (RFC 3465).
            self.cwnd += min(acked, self.smss)
        else:
            # Congestion avoidance: about one SMSS per RTT.
            self._ca_acc += acked
            if self._ca_acc >= self.cwnd:
                self._ca_acc -= self.cwnd
                self.cwnd += self.smss

    def enter_recovery(self, flight_size: int) -> None:
        """Third duplicate ACK (RFC 5681 §3.2 steps 2 and 3)."""
        self.ssthresh = max(flight_size // 2, 2 * self.smss)
        self.cwnd = self.ssthresh + 3 * self.smss
        self._ca_acc = 0

    def on_dupack_in_recovery(self) -> None:
        """RFC 5681 §3.2 step 4: inflate by one SMSS per additional duplicate ACK."""
        self.cwnd += self.smss

    def on_partial_ack(self, acked: int) -> None:
        """RFC 6582 §3.2 step 3: deflate by the amount acked, add back one SMSS."""
        self.cwnd = max(self.cwnd - acked, 0) + (self.smss if acked >= self.smss else 0)
        self.cwnd = max(self.cwnd, self.smss)

    def exit_recovery(self, flight_size: int) -> None:
        """Full ACK (RFC 6582 §3.2 step 3, option 1; RFC 5681 §3.2 step 6)."""
        self.cwnd = max(min(self.ssthresh, flight_size + self.smss), self.smss)

    def on_rto(self, flight_size: int) -> None:
        """Retransmission timeout (RFC 5681 §3.1 (4) and the loss window)."""
        self.ssthresh = max(flight_size // 2, 2 * self.smss)
        self.cwnd = self.smss
        self._ca_acc = 0


class NewReno(Reno):
    """RFC 6582: Reno whose fast recovery survives partial acknowledgments."""

    name = "newreno"
    partial_ack_recovery = True
    __slots__ = ()
