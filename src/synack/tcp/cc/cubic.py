"""CUBIC congestion control (RFC 9438) with HyStart++ slow start (RFC 9406).

After a congestion event CUBIC grows the window as a cubic function of the time since
congestion avoidance began, not of the number of ACKs, so flows with different RTTs grow
alike (RFC 9438 §4.2)::

    W_cubic(t) = C * (t - K)**3 + W_max          (RFC 9438 Figure 1)
    K = cbrt((W_max - cwnd_epoch) / C)           (RFC 9438 Figure 2)

fast at first, flat near W_max (the window of the last congestion event), then probing
beyond it. Where standard AIMD would do better (a small bandwidth-delay product) the window
follows W_est, an estimate of what Reno would have, instead (the Reno-friendly region,
§4.3). On a congestion event ssthresh and cwnd drop to ``beta_cubic`` = 0.7 of FlightSize
(§4.6) and, if the window had not recovered to the previous W_max, W_max is lowered further
to release bandwidth to newer flows (fast convergence, §4.7).

Windows are computed in segments as floats, as the RFC writes them, and held in bytes in
``cwnd``; times are integer ns, converted to seconds only inside the formula. Fast recovery
itself is RFC 6582 NewReno's (§4 of RFC 9438 leaves loss recovery unchanged).
"""

from __future__ import annotations

import math

from .hystart import HyStart
from .reno import INITIAL_SSTHRESH, CongestionControl, slow_start_increase

#: RFC 9438 §4.1.1 constants: the multiplicative decrease factor and the growth constant
#: (segments / second**3).
BETA_CUBIC = 0.7
C = 0.4
#: RFC 9438 §4.3 Figure 4: the AIMD additive factor that matches Reno's average window.
ALPHA_CUBIC = 3 * (1 - BETA_CUBIC) / (1 + BETA_CUBIC)

_NS = 1e9


def w_cubic(t: float, k: float, w_max: float, c: float = C) -> float:
    """RFC 9438 Figure 1: the window (segments) ``t`` seconds into congestion avoidance."""
    d = t - k
    return c * d * d * d + w_max


def cubic_k(w_max: float, cwnd_epoch: float, c: float = C) -> float:
    """RFC 9438 Figure 2: K, the seconds W_cubic takes to climb from cwnd_epoch to W_max."""
    return math.cbrt((w_max - cwnd_epoch) / c)


class Cubic(CongestionControl):
    """RFC 9438 CUBIC, with HyStart++ (RFC 9406) in the initial slow start."""

    name = "cubic"
    partial_ack_recovery = True
    #: RFC 9438 §4.7 SHOULD; class attributes so a subclass (or a test) can turn them off
    fast_convergence = True
    hystart = True
    __slots__ = ("w_max", "k", "t_epoch", "cwnd_epoch", "w_est", "cwnd_prior", "srtt",
                 "_w", "_reset_origin", "hs")

    def __init__(self, smss: int, initial_window: int = 10) -> None:
        CongestionControl.__init__(self, smss, initial_window)
        #: W_max (segments): the window just before the last reduction; None until one
        self.w_max: float | None = None
        #: K (seconds) of the current congestion-avoidance stage
        self.k = 0.0
        #: t_epoch (ns): when the current congestion-avoidance stage began; None outside one
        self.t_epoch: int | None = None
        #: cwnd_epoch (segments): cwnd when that stage began
        self.cwnd_epoch = 0.0
        #: W_est (segments): the Reno-friendly estimate (RFC 9438 §4.3)
        self.w_est = 0.0
        #: cwnd_prior (segments): cwnd at the last congestion event
        self.cwnd_prior = 0.0
        #: SRTT (ns) as the connection last reported it
        self.srtt: int | None = None
        #: cwnd in bytes as a float, so that sub-byte increments add up
        self._w = float(self.cwnd)
        #: the next stage starts with K = 0 and W_max = its cwnd (after a timeout, or a
        #: slow start that HyStart++ ended without a loss: RFC 9438 §4.8, §4.10)
        self._reset_origin = False
        self.hs: HyStart | None = HyStart(smss) if self.hystart else None

    def set_smss(self, smss: int, initial_window: int) -> None:
        super().set_smss(smss, initial_window)
        if self.hs is not None:
            self.hs.smss = smss

    def resume(self, cwnd: int, ssthresh: int) -> None:
        super().resume(cwnd, ssthresh)
        self._w = float(self.cwnd)
        if ssthresh < INITIAL_SSTHRESH and self.hs is not None:
            self.hs.stop()  # HyStart++ is for the initial slow start only (RFC 9406 §4.3)

    def on_rtt_sample(self, rtt: int, now: int) -> None:
        hs = self.hs
        if hs is not None and hs.phase != "done":
            hs.on_rtt_sample(rtt)

    # ------------------------------------------------------------------ growth
    def on_ack(self, acked: int, flight_size: int, now: int = 0, rtt: int | None = None) -> None:
        """New data acknowledged outside recovery: slow start (HyStart++) or RFC 9438 §4.2-§4.5."""
        if rtt is not None:
            self.srtt = rtt
        smss = self.smss
        if flight_size + acked + smss <= self.cwnd:
            return  # not cwnd-limited (RFC 9438 §5.8): no growth
        if self.cwnd < self.ssthresh:
            hs = self.hs
            if hs is not None and hs.phase != "done":
                inc = hs.on_ack(acked, flight_size)
                if hs.phase == "done":
                    # CSS ran its rounds: congestion avoidance from here (RFC 9406 §4.2),
                    # with W_max undefined (RFC 9438 §4.10).
                    self.cwnd += inc
                    self.ssthresh = self.cwnd
                    self.cwnd_prior = self.cwnd / smss
                    self._reset_origin = True
                    return
            else:
                # RFC 5681 slow start, L = 1 SMSS (after a timeout); stretch ACKs counted whole.
                inc = slow_start_increase(acked, smss, smss)
            acked = self._slow_start_to_ssthresh(inc, acked)
            if not acked:
                return
        self._congestion_avoidance(acked, now)

    def _congestion_avoidance(self, acked: int, now: int) -> None:
        smss = self.smss
        if int(self._w) != self.cwnd:
            self._w = float(self.cwnd)  # recovery or a PRR module set cwnd
        cwnd = self._w / smss
        if self.t_epoch is None:
            # The start of a congestion-avoidance stage (RFC 9438 §4.2).
            self.t_epoch = now
            self.cwnd_epoch = cwnd
            self.w_est = cwnd
            if self.w_max is None or self._reset_origin:
                # RFC 9438 §4.8 (after a timeout) and §4.10 (slow start ended without loss).
                self.w_max = cwnd
                self.k = 0.0
                self._reset_origin = False
            else:
                self.k = cubic_k(self.w_max, cwnd)
        t = (now - self.t_epoch) / _NS
        w_max = self.w_max
        assert w_max is not None  # (set at the start of every epoch above)
        rtt = (self.srtt or 0) / _NS
        # RFC 9438 §4.2: target = W_cubic(t + RTT), within [cwnd, 1.5 * cwnd].
        target = w_cubic(t + rtt, self.k, w_max)
        if target < cwnd:
            target = cwnd
        elif target > 1.5 * cwnd:
            target = 1.5 * cwnd
        segments_acked = acked / smss
        # RFC 9438 §4.3 Figure 4; alpha becomes 1 once W_est reaches cwnd_prior.
        alpha = 1.0 if self.w_est >= self.cwnd_prior else ALPHA_CUBIC
        self.w_est += alpha * segments_acked / cwnd
        if w_cubic(t, self.k, w_max) < self.w_est:
            # Reno-friendly region (§4.3): cwnd follows W_est.
            new = self.w_est if self.w_est > cwnd else cwnd
        else:
            # Concave (§4.4) and convex (§4.5) regions: (target - cwnd) / cwnd per segment.
            new = cwnd + (target - cwnd) / cwnd * segments_acked
        self._w = new * smss
        self.cwnd = int(self._w)

    # ------------------------------------------------------------------ reductions
    def ssthresh_after_loss(self, flight_size: int) -> int:
        """RFC 9438 §4.6: ssthresh = flight_size * beta_cubic, at least 2 SMSS."""
        return max(int(flight_size * BETA_CUBIC), 2 * self.smss)

    def on_congestion_event(self, flight_size: int, now: int = 0) -> int:
        """RFC 9438 §4.6 and §4.7: remember the window, lower W_max, new ssthresh."""
        cwnd = self.cwnd / self.smss
        if self.fast_convergence and self.w_max is not None and cwnd < self.w_max:
            self.w_max = cwnd * (1 + BETA_CUBIC) / 2   # release bandwidth to newer flows
        else:
            self.w_max = cwnd
        self.cwnd_prior = cwnd
        self.t_epoch = None
        self._reset_origin = False
        if self.hs is not None:
            self.hs.stop()
        self.ssthresh = self.ssthresh_after_loss(flight_size)
        return self.ssthresh

    def on_rto(self, flight_size: int, now: int = 0) -> None:
        """RFC 9438 §4.8: ssthresh by beta_cubic, cwnd to one SMSS; the next congestion
        avoidance starts with K = 0 and W_max = its initial cwnd."""
        self.cwnd_prior = self.cwnd / self.smss
        self.ssthresh = self.ssthresh_after_loss(flight_size)
        self.cwnd = self.smss
        self._w = float(self.cwnd)
        self.t_epoch = None
        self._reset_origin = True
        if self.hs is not None:
            self.hs.stop()

    def on_ecn(self, flight_size: int, now: int = 0) -> None:
        """RFC 9438 §4.6: on ECN-Echo, cwnd = ssthresh (at least 1 SMSS), no inflation."""
        self.on_congestion_event(flight_size, now)
        new = max(int(flight_size * BETA_CUBIC), self.smss)
        self.cwnd = new if new < self.cwnd else self.cwnd
        if self.cwnd < self.smss:
            self.cwnd = self.smss


__all__ = ["ALPHA_CUBIC", "BETA_CUBIC", "C", "Cubic", "cubic_k", "w_cubic", "INITIAL_SSTHRESH"]
