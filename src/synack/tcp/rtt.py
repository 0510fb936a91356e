"""Round-trip time estimation and the retransmission timeout (RFC 6298).

:class:`RttEstimator` keeps the RFC 6298 state variables ``srtt`` (SRTT), ``rttvar``
(RTTVAR) and ``rto`` (RTO) in integer nanoseconds, plus ``backoff``, the number of times the
timer has been doubled since the last RTT sample (RFC 6298 (5.5)). The timeout to arm is
:attr:`RttEstimator.timeout`.

Arithmetic. alpha = 1/8, beta = 1/4 and K = 4 (RFC 6298 §2) are applied in integer
arithmetic on nanoseconds::

    RTTVAR = (3 * RTTVAR + |SRTT - R|) // 4        # (1 - beta) * RTTVAR + beta * |SRTT - R'|
    SRTT   = (7 * SRTT + R) // 8                   # (1 - alpha) * SRTT + alpha * R'
    RTO    = SRTT + max(G, 4 * RTTVAR)

and ``RTTVAR = R // 2`` on the first sample. Each result is the exact RFC value rounded
down to a whole nanosecond, so it is never more than 1 ns below the real-valued formula and
the rounding does not accumulate beyond that per step.

Karn's algorithm is the caller's job (RFC 9293 §3.8.1 MUST-18, RFC 6298 §3): the connection
never calls :meth:`RttEstimator.sample` with a measurement taken from a segment that was
retransmitted (unless the measurement is unambiguous, e.g. from RFC 7323 timestamps). The
estimator itself cannot tell.

The minimum RTO defaults to 200 ms, Linux's ``TCP_RTO_MIN``. RFC 6298 (2.4) says RTO SHOULD
be rounded up to 1 second; pass ``min_rto=sec(1)`` for the RFC's value.
"""

from __future__ import annotations

from synack.timeunits import ms, sec

#: RFC 6298 (5.7): the RTO once data flows after a handshake whose SYN timer expired.
SYN_FALLBACK_RTO = sec(3)


class RttEstimator:
    """RFC 6298 SRTT/RTTVAR/RTO estimator with exponential backoff; times are int ns."""

    __slots__ = (
        "srtt",
        "rttvar",
        "rto",
        "backoff",
        "syn_timed_out",
        "min_rto",
        "max_rto",
        "granularity",
    )

    srtt: int | None
    """SRTT, the smoothed round-trip time; ``None`` until the first sample."""
    rttvar: int | None
    """RTTVAR, the round-trip time variation; ``None`` until the first sample."""
    rto: int
    """RTO, the base retransmission timeout (before backoff), clamped to [min_rto, max_rto]."""
    backoff: int
    """How many times the timer has been doubled since the last sample (RFC 6298 (5.5))."""
    syn_timed_out: bool
    """Whether :meth:`after_syn_timeout` applied RFC 6298 (5.7)."""

    def __init__(
        self,
        initial_rto: int = sec(1),
        min_rto: int = ms(200),
        max_rto: int = sec(120),
        granularity: int = ms(1),
    ) -> None:
        if not 0 < min_rto <= max_rto:
            raise ValueError(f"need 0 < min_rto <= max_rto, got min_rto={min_rto}, max_rto={max_rto}")
        if initial_rto <= 0:
            raise ValueError(f"initial_rto must be positive, got {initial_rto}")
        if granularity < 0:
            raise ValueError(f"granularity must not be negative, got {granularity}")
        self.srtt = None
        self.rttvar = None
        # RFC 6298 (2.1): until a measurement is made, RTO = the initial RTO (1 s).
        self.rto = initial_rto
        self.backoff = 0
        self.syn_timed_out = False
        self.min_rto = min_rto
        self.max_rto = max_rto
        self.granularity = granularity

    @property
    def timeout(self) -> int:
        """The timeout to arm now: RTO doubled ``backoff`` times (RFC 6298 (5.5)), at most
        ``max_rto`` (RFC 6298 (2.5))."""
        t = self.rto << self.backoff
        return t if t < self.max_rto else self.max_rto

    def sample(self, r: int) -> None:
        """Take an RTT measurement ``r`` (ns): RFC 6298 (2.2)/(2.3), then RTO (2.4)/(2.5).

        A new sample also collapses the backoff (RFC 6298 §5, the note after (5.7)).
        """
        if not isinstance(r, int):
            raise TypeError(f"RTT sample must be an int number of nanoseconds, got {r!r}")
        if r < 0:
            raise ValueError(f"RTT sample must not be negative, got {r}")
        srtt = self.srtt
        if srtt is None:
            # RFC 6298 (2.2): SRTT <- R, RTTVAR <- R/2.
            srtt = r
            rttvar = r // 2
        else:
            # RFC 6298 (2.3): RTTVAR first, from the old SRTT; then SRTT.
            rttvar = (3 * self.rttvar + abs(srtt - r)) // 4  # type: ignore[operator]
            srtt = (7 * srtt + r) // 8
        self.srtt = srtt
        self.rttvar = rttvar
        # RFC 6298 (2.2)/(2.3): RTO <- SRTT + max(G, K*RTTVAR), K = 4.
        kvar = rttvar << 2
        rto = srtt + (kvar if kvar > self.granularity else self.granularity)
        # RFC 6298 (2.4) minimum (200 ms by default, see the module docstring), (2.5) maximum.
        if rto < self.min_rto:
            rto = self.min_rto
        elif rto > self.max_rto:
            rto = self.max_rto
        self.rto = rto
        self.backoff = 0

    def back_off(self) -> None:
        """Double the timeout: RFC 6298 (5.5), called when the retransmission timer expires."""
        self.backoff += 1

    def reset_backoff(self) -> None:
        """Forget the doublings so that :attr:`timeout` is the base ``rto`` again."""
        self.backoff = 0

    def after_syn_timeout(self) -> None:
        """Apply RFC 6298 (5.7) when data transmission begins after a SYN timeout.

        Call this once the handshake has completed if the SYN (or SYN,ACK) retransmission
        timer expired during it. Do not call it from the SYN timeout handler itself: the SYN
        retransmissions back off from the initial RTO with :meth:`back_off` as usual.

        If no RTT sample has been taken (Karn's algorithm forbids sampling the retransmitted
        SYN), RTO is re-initialized to max(3 s, RTO) and the backoff is cleared, so
        :attr:`timeout` is 3 s with the default initial RTO until the first sample arrives.
        ``syn_timed_out`` records that this happened. If a valid sample exists (for example
        from timestamps), the measured RTO is kept.
        """
        if self.srtt is not None:
            return
        self.syn_timed_out = True
        if self.rto < SYN_FALLBACK_RTO:
            self.rto = SYN_FALLBACK_RTO
        self.backoff = 0

    def __repr__(self) -> str:
        return (
            f"RttEstimator(srtt={self.srtt}, rttvar={self.rttvar}, rto={self.rto}, "
            f"backoff={self.backoff}, timeout={self.timeout})"
        )
