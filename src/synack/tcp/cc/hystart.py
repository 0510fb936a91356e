"""HyStart++: leaving slow start on rising delay, before the queue overflows (RFC 9406).

Standard slow start doubles cwnd every round trip until a loss, which at a large
bandwidth-delay product means losing up to a window's worth of segments at once.
HyStart++ watches the minimum RTT of each round: when it rises by more than a threshold
(the queue is building), the sender switches to Conservative Slow Start (CSS), growing
four times more slowly for up to five rounds, then enters congestion avoidance with
ssthresh = cwnd. If the RTT falls back below the baseline during CSS, the rise was
spurious and slow start resumes (RFC 9406 §4.2).

Rounds are counted without reading the sender: ``delivered`` sums the octets acknowledged,
and a round ends when it passes ``window_end`` = delivered + FlightSize at the round's
start, which is the RFC's "windowEnd = SND.NXT" in acknowledged-octet space.

Times are integer ns. Used only in the initial slow start (RFC 9406 §4.3): after a loss
or a timeout the owner calls :meth:`HyStart.stop`.
"""

from __future__ import annotations

from ...timeunits import ms
from .reno import slow_start_increase

#: RFC 9406 §4.3 recommended constants
MIN_RTT_THRESH = ms(4)
MAX_RTT_THRESH = ms(16)
MIN_RTT_DIVISOR = 8
N_RTT_SAMPLE = 8
CSS_GROWTH_DIVISOR = 4
CSS_ROUNDS = 5
#: L, the slow-start growth limit per ACK in segments, for a sender that does not pace
L_UNPACED = 8

INFINITY = 1 << 62

SLOW_START = "slow-start"
CSS = "css"
DONE = "done"


def rtt_thresh(last_round_min_rtt: int) -> int:
    """RttThresh = max(MIN_RTT_THRESH, min(lastRoundMinRTT / MIN_RTT_DIVISOR, MAX_RTT_THRESH))."""
    return max(MIN_RTT_THRESH, min(last_round_min_rtt // MIN_RTT_DIVISOR, MAX_RTT_THRESH))


class HyStart:
    """The HyStart++ state of one connection's initial slow start (RFC 9406 §4.2)."""

    __slots__ = ("smss", "phase", "delivered", "window_end", "last_round_min_rtt",
                 "current_round_min_rtt", "rtt_sample_count", "css_baseline_min_rtt", "css_rounds",
                 "rounds", "n_rtt_sample")

    def __init__(self, smss: int, n_rtt_sample: int = N_RTT_SAMPLE) -> None:
        self.smss = smss
        #: SLOW_START, CSS, or DONE (HyStart++ no longer applies)
        self.phase = SLOW_START
        #: octets acknowledged since the start (the round clock)
        self.delivered = 0
        #: the round ends once ``delivered`` reaches this; -1 before the first round
        self.window_end = -1
        self.last_round_min_rtt = INFINITY
        self.current_round_min_rtt = INFINITY
        self.rtt_sample_count = 0
        self.css_baseline_min_rtt = INFINITY
        #: rounds completed in CSS
        self.css_rounds = 0
        #: rounds started since slow start began
        self.rounds = 0
        self.n_rtt_sample = n_rtt_sample

    def __repr__(self) -> str:
        return (f"<HyStart {self.phase} round {self.rounds} min_rtt last={self.last_round_min_rtt} "
                f"current={self.current_round_min_rtt} samples={self.rtt_sample_count}>")

    @property
    def active(self) -> bool:
        return self.phase is not DONE

    def stop(self) -> None:
        """A loss, ECN mark or timeout ended the initial slow start (RFC 9406 §4.2)."""
        self.phase = DONE

    def on_rtt_sample(self, rtt: int) -> None:
        """Track the round's minimum RTT; decide between slow start and CSS."""
        if self.phase is DONE:
            return
        if rtt < self.current_round_min_rtt:
            self.current_round_min_rtt = rtt
        self.rtt_sample_count += 1
        if self.rtt_sample_count < self.n_rtt_sample:
            return
        cur = self.current_round_min_rtt
        if self.phase is SLOW_START:
            last = self.last_round_min_rtt
            if last != INFINITY and cur != INFINITY and cur >= last + rtt_thresh(last):
                # The delay rose: Conservative Slow Start.
                self.css_baseline_min_rtt = cur
                self.phase = CSS
                self.css_rounds = 0
        elif cur < self.css_baseline_min_rtt:
            # The rise was spurious: back to slow start.
            self.css_baseline_min_rtt = INFINITY
            self.phase = SLOW_START

    def on_ack(self, acked: int, flight_size: int) -> int:
        """An ACK of ``acked`` octets in slow start; ``flight_size`` is FlightSize after it.
        Returns how many octets cwnd grows by. After the last CSS round ``phase`` is DONE:
        the owner then sets ssthresh = cwnd and enters congestion avoidance."""
        self.delivered += acked
        if self.delivered >= self.window_end:
            # A new round (RFC 9406 §4.2: windowEnd = SND.NXT).
            self.rounds += 1
            self.window_end = self.delivered + flight_size
            self.last_round_min_rtt = self.current_round_min_rtt
            self.current_round_min_rtt = INFINITY
            self.rtt_sample_count = 0
            if self.phase is CSS:
                self.css_rounds += 1
                if self.css_rounds >= CSS_ROUNDS:
                    self.phase = DONE
                    return 0
        inc = slow_start_increase(acked, self.smss, L_UNPACED * self.smss)
        if self.phase is CSS:
            inc //= CSS_GROWTH_DIVISOR
        return inc
