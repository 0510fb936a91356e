"""CUBIC (RFC 9438): window growth, the Reno-friendly region, multiplicative decrease, fast
convergence and timeouts, as tables worked out by hand.

SMSS = 1000 octets, so a window of 25.2 segments is 25 200 bytes. The worked example uses
W_max = 36 segments: beta_cubic = 0.7 takes cwnd to 25.2, and

    K = cbrt((W_max - cwnd_epoch) / C) = cbrt((36 - 25.2) / 0.4) = cbrt(27) = 3 s

so W_cubic(t) = 0.4 * (t - 3)**3 + 36 (RFC 9438 Figures 1 and 2). One ACK that acknowledges
a whole cwnd moves cwnd by (target - cwnd) / cwnd per segment, i.e. exactly to the target
(RFC 9438 §4.4, §4.5), which makes the curve visible one point per ACK.
"""

from __future__ import annotations

import pytest

from synack.tcp.cc.cubic import ALPHA_CUBIC, BETA_CUBIC, C, Cubic, cubic_k, w_cubic
from synack.tcp.cc.reno import INITIAL_SSTHRESH
from synack.timeunits import ms, sec

SMSS = 1000
BIG = 10**9  # FlightSize that says "the window is in use"


class NoHyStart(Cubic):
    name = "cubic-test"
    hystart = False
    __slots__ = ()


class NoFastConvergence(Cubic):
    name = "cubic-nofc"
    fast_convergence = False
    __slots__ = ()


def test_constants():
    # RFC 9438 §4.1.1 and §4.3 Figure 4: alpha = 3 * (1 - 0.7) / (1 + 0.7) = 0.9 / 1.7
    assert (BETA_CUBIC, C) == (0.7, 0.4)
    assert pytest.approx(0.5294117647) == ALPHA_CUBIC


# W_cubic(t) = 0.4 * (t - 3)**3 + 36
W_CUBIC = [
    # (t s,  W_cubic segments)
    (0, 25.2),    # 0.4 * -27 + 36: where the stage starts
    (1, 32.8),    # 0.4 * -8 + 36: concave, fast at first
    (2, 35.6),    # 0.4 * -1 + 36
    (3, 36.0),    # t = K: back at W_max, the plateau
    (4, 36.4),    # convex: probing beyond W_max
    (5, 39.2),    # 0.4 * 8 + 36
    (6, 46.8),    # 0.4 * 27 + 36
]


@pytest.mark.parametrize("t,w", W_CUBIC)
def test_w_cubic_formula(t, w):
    assert w_cubic(t, 3.0, 36.0) == pytest.approx(w)


K_TABLE = [
    # (W_max, cwnd_epoch, K)
    (36.0, 25.2, 3.0),        # cbrt(27)
    (100.0, 70.0, 4.2171633), # cbrt(75)
    (10.0, 9.6, 1.0),         # cbrt(1)
    (20.0, 20.0, 0.0),        # no reduction: the plateau is now
]


@pytest.mark.parametrize("w_max,cwnd,k", K_TABLE)
def test_k_formula(w_max, cwnd, k):
    assert cubic_k(w_max, cwnd) == pytest.approx(k)


def after_loss_at_36_segments() -> Cubic:
    """A CUBIC sender that grew to 36 segments, lost a segment with 36 in flight, and
    finished fast recovery with cwnd = ssthresh = 25.2 segments."""
    alg = NoHyStart(SMSS, 10)
    for _ in range(26):
        alg.on_ack(1000, BIG, now=0)
    assert alg.cwnd == 36_000
    alg.enter_recovery(36_000, now=0)
    assert alg.ssthresh == 25_200                       # 0.7 * FlightSize (RFC 9438 §4.6)
    assert alg.w_max == 36.0
    alg.exit_recovery(36_000, now=0)                    # full ACK: cwnd = ssthresh
    assert alg.cwnd == 25_200
    return alg


def test_the_curve_one_full_window_ack_per_second():
    alg = after_loss_at_36_segments()
    alg.on_ack(1, BIG, now=0)                           # the first ACK of the stage: t_epoch = 0
    assert alg.k == pytest.approx(3.0)
    for t, w in W_CUBIC[1:]:
        alg.on_ack(alg.cwnd, BIG, now=sec(t))           # acknowledges a whole window
        assert alg.cwnd == pytest.approx(w * SMSS, abs=1), t


def test_target_looks_one_srtt_ahead():
    # RFC 9438 §4.2: target = W_cubic(t + RTT). At t = 0.5 s with SRTT 0.5 s: W_cubic(1) = 32.8.
    alg = after_loss_at_36_segments()
    alg.on_ack(1, BIG, now=0, rtt=ms(500))
    alg.on_ack(alg.cwnd, BIG, now=ms(500), rtt=ms(500))
    assert alg.cwnd == pytest.approx(32_800, abs=1)


def test_target_is_at_most_one_and_a_half_cwnd():
    # W_cubic(10) = 0.4 * 343 + 36 = 173.2 segments, but target <= 1.5 * 25.2 = 37.8.
    alg = after_loss_at_36_segments()
    alg.on_ack(1, BIG, now=0)
    alg.on_ack(alg.cwnd, BIG, now=sec(10))
    assert alg.cwnd == pytest.approx(37_800, abs=1)


def test_reno_friendly_region_follows_w_est():
    # At t = 0, W_cubic(0) = 25.2 = cwnd: the cubic target adds nothing, while
    # W_est = 25.2 + alpha * segments_acked / cwnd grows alpha per window acked (§4.3).
    alg = after_loss_at_36_segments()
    alg.on_ack(25_200, BIG, now=0)
    assert alg.w_est == pytest.approx(25.2 + 0.5294117647)
    assert alg.cwnd == pytest.approx(25_729, abs=1)     # cwnd = W_est
    alg.on_ack(alg.cwnd, BIG, now=0)
    assert alg.cwnd == pytest.approx(26_259, abs=1)     # + 0.5294 segment per window


def test_alpha_becomes_one_once_w_est_reaches_cwnd_prior():
    # §4.3: once W_est >= cwnd_prior (36 segments) the Reno-friendly increase is 1 segment
    # per window, Reno's own. From 25.2, 21 windows of alpha take W_est past 36.
    alg = after_loss_at_36_segments()
    steps = []
    for _ in range(24):
        before = alg.cwnd
        alg.on_ack(max(alg.cwnd, 1), BIG, now=0)
        steps.append(alg.cwnd - before)
    assert steps[0] == pytest.approx(529, abs=1)
    assert steps[-1] == pytest.approx(1000, abs=1)
    assert alg.w_est >= alg.cwnd_prior == 36.0


MULTIPLICATIVE_DECREASE = [
    # (FlightSize, ssthresh = max(0.7 * F, 2 SMSS))
    (100_000, 70_000),
    (36_000, 25_200),
    (2000, 2000),
]


@pytest.mark.parametrize("flight,ssthresh", MULTIPLICATIVE_DECREASE)
def test_multiplicative_decrease(flight, ssthresh):
    alg = NoHyStart(SMSS, 10)
    assert alg.on_congestion_event(flight, now=0) == ssthresh
    assert alg.ssthresh == ssthresh


def second_loss_at_30_segments(cls) -> Cubic:
    """After the first loss at 36 segments, the window is 30 segments (the recovery module
    left it there, through ``set_cwnd``) when the next loss comes, with 30 in flight."""
    alg = cls(SMSS, 10)
    for _ in range(26):
        alg.on_ack(1000, BIG, now=0)
    alg.enter_recovery(36_000, now=0)
    alg.set_cwnd(30_000, now=0)
    alg.exit_recovery(30_000, now=0)                    # cwnd = min(ssthresh, F + SMSS) = 25 200
    alg.set_cwnd(30_000, now=sec(1))
    alg.enter_recovery(30_000, now=sec(1))
    return alg


def test_fast_convergence_lowers_w_max_below_the_window_of_the_loss():
    # RFC 9438 §4.7: cwnd (30) < W_max (36), so W_max = 30 * (1 + 0.7) / 2 = 25.5.
    alg = second_loss_at_30_segments(NoHyStart)
    assert alg.cwnd_prior == 30.0
    assert alg.w_max == pytest.approx(25.5)
    assert alg.ssthresh == 21_000                       # 0.7 * 30 000
    alg.exit_recovery(30_000, now=sec(1))
    alg.on_ack(1, BIG, now=sec(1))
    # K = cbrt((25.5 - 21) / 0.4) = cbrt(11.25) = 2.2407 s (2.8231 s without fast convergence)
    assert alg.k == pytest.approx(2.2407, abs=1e-4)


def test_without_fast_convergence_w_max_is_the_window_of_the_loss():
    alg = second_loss_at_30_segments(NoFastConvergence)
    assert alg.w_max == 30.0
    alg.exit_recovery(30_000, now=sec(1))
    alg.on_ack(1, BIG, now=sec(1))
    assert alg.k == pytest.approx(2.8231, abs=1e-4)     # cbrt((30 - 21) / 0.4) = cbrt(22.5)


def test_timeout_loss_window_then_k_zero():
    # RFC 9438 §4.8: ssthresh by beta_cubic, cwnd = 1 SMSS; slow start back to ssthresh;
    # the first congestion avoidance stage has K = 0 and W_max = its starting cwnd.
    alg = NoHyStart(SMSS, 10)
    for _ in range(30):
        alg.on_ack(1000, BIG, now=0)                    # cwnd 40 segments
    alg.on_rto(40_000, now=sec(1))
    assert (alg.cwnd, alg.ssthresh) == (1000, 28_000)   # 0.7 * 40 000
    while alg.cwnd < alg.ssthresh:
        alg.on_ack(2000, BIG, now=sec(2))               # RFC 5681 slow start: + 1 SMSS per ACK
    assert alg.cwnd == 28_000
    alg.on_ack(1000, BIG, now=sec(2))                   # stage starts: K = 0, W_max = 28
    assert (alg.k, alg.w_max) == (0.0, 28.0)
    alg.on_ack(alg.cwnd, BIG, now=sec(4))
    # W_cubic(2) = 0.4 * 2**3 + 28 = 31.2 segments
    assert alg.cwnd == pytest.approx(31_200, abs=1)


def test_ecn_echo_reduces_to_beta_without_inflation():
    alg = NoHyStart(SMSS, 10)
    for _ in range(30):
        alg.on_ack(1000, BIG, now=0)
    alg.on_ecn(40_000, now=0)
    assert (alg.cwnd, alg.ssthresh) == (28_000, 28_000)
    assert alg.w_max == 40.0


def test_no_growth_while_the_sender_does_not_fill_the_window():
    alg = after_loss_at_36_segments()
    alg.on_ack(1, BIG, now=0)
    alg.on_ack(2000, 10_000, now=sec(2))                # 12 000 in flight of a 25 200 window
    assert alg.cwnd == 25_200


def test_initial_state():
    alg = Cubic(SMSS, 10)
    assert (alg.cwnd, alg.ssthresh, alg.w_max) == (10_000, INITIAL_SSTHRESH, None)
    assert alg.hs is not None and alg.hs.active
