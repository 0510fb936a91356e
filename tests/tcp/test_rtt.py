"""RFC 6298: SRTT/RTTVAR/RTO computation, clamping and backoff.

Expected values are worked out by hand from the RFC formulas (alpha = 1/8, beta = 1/4,
K = 4) and written literally; results are in ns, rounded down to a whole nanosecond.
"""

from __future__ import annotations

import tracemalloc

import pytest

from synack.tcp.rtt import RttEstimator
from synack.timeunits import ms, sec, us

# RFC 6298 §2, G = 1 ms, min 200 ms, max 120 s.
# step  R (ms)   RTTVAR (ms)                              SRTT (ms)                     RTO = SRTT + max(G, 4*RTTVAR)
# 1     100      100/2 = 50                               100                           100 + 200 = 300
# 2     200      3/4*50 + 1/4*|100-200| = 62.5            7/8*100 + 1/8*200 = 112.5      112.5 + 250 = 362.5
# 3     80       3/4*62.5 + 1/4*|112.5-80| = 55          7/8*112.5 + 1/8*80 = 108.4375   108.4375 + 220 = 328.4375
# 4     100      3/4*55 + 1/4*8.4375 = 43.359375          7/8*108.4375 + 12.5 = 107.3828125 -> 107.382812 (floor, ns)
#                                                                                       107.382812 + 173.4375
#                                                                                       = 280.820312
# 5     1000     (3*43.359375 + |107.382812-1000|)/4      (7*107.382812 + 1000)/8
#                = 1022.695313/4 = 255.67382825           = 1751.679684/8 = 218.9599605
#                -> 255.673828 (floor, ns)                -> 218.959960 (floor, ns)     218.959960 + 1022.695312
#                                                                                       = 1241.655272
WORKED = [
    # (R ns,         SRTT ns,      RTTVAR ns,    RTO ns)
    (100_000_000, 100_000_000, 50_000_000, 300_000_000),
    (200_000_000, 112_500_000, 62_500_000, 362_500_000),
    (80_000_000, 108_437_500, 55_000_000, 328_437_500),
    (100_000_000, 107_382_812, 43_359_375, 280_820_312),
    (1_000_000_000, 218_959_960, 255_673_828, 1_241_655_272),
]


def test_initial_rto_is_one_second_before_any_sample():
    # RFC 6298 (2.1)
    est = RttEstimator()
    assert est.srtt is None and est.rttvar is None
    assert est.rto == sec(1)
    assert est.timeout == sec(1)
    assert est.backoff == 0


def test_rfc6298_worked_table():
    est = RttEstimator()
    for step, (r, srtt, rttvar, rto) in enumerate(WORKED, 1):
        est.sample(r)
        assert (est.srtt, est.rttvar, est.rto) == (srtt, rttvar, rto), f"step {step}"
        assert est.timeout == rto


def test_first_sample_halves_r_for_rttvar_rounding_down():
    # RFC 6298 (2.2): RTTVAR = R/2; 333 ms + 1 ns is odd in ns.
    est = RttEstimator()
    est.sample(333_000_001)
    assert est.srtt == 333_000_001
    assert est.rttvar == 166_500_000
    assert est.rto == 333_000_001 + 666_000_000


def test_rttvar_uses_old_srtt():
    # RFC 6298 (2.3): RTTVAR is updated before SRTT. From SRTT=800 ms, RTTVAR=400 ms (R=800):
    # R=0: RTTVAR = 3/4*400 + 1/4*|800-0| = 500 ms (with the new SRTT 700 ms it would be 475).
    est = RttEstimator()
    est.sample(ms(800))
    est.sample(0)
    assert est.rttvar == ms(500)
    assert est.srtt == ms(700)
    assert est.rto == ms(700) + ms(2000)


@pytest.mark.parametrize(
    "granularity, r, rto",
    [
        # R = 400 us: SRTT = 400 us, RTTVAR = 200 us, 4*RTTVAR = 800 us.
        (ms(1), us(400), us(400) + ms(1)),  # G wins: 1.4 ms
        (us(500), us(400), us(400) + us(800)),  # 4*RTTVAR wins: 1.2 ms
        (0, us(400), us(1200)),
        (ms(1), 0, ms(1)),  # R = 0: RTO = 0 + max(G, 0) = G
    ],
)
def test_granularity_term(granularity, r, rto):
    est = RttEstimator(min_rto=1, granularity=granularity)
    est.sample(r)
    assert est.rto == rto


def test_granularity_term_after_steady_samples():
    # Identical samples drive RTTVAR towards 0; G then keeps RTO above SRTT.
    est = RttEstimator(min_rto=1)
    for _ in range(40):
        est.sample(ms(10))
    assert est.srtt == ms(10)
    assert est.rttvar is not None and 4 * est.rttvar < ms(1)
    assert est.rto == ms(10) + ms(1)


def test_min_rto_linux_floor_by_default():
    # RFC 6298 (2.4) with Linux's 200 ms floor: 10 ms + 4*5 ms = 30 ms -> 200 ms.
    est = RttEstimator()
    est.sample(ms(10))
    assert est.srtt == ms(10) and est.rttvar == ms(5)
    assert est.rto == ms(200)


def test_min_rto_rfc_value():
    # RFC 6298 (2.4): RTO SHOULD be rounded up to 1 s.
    est = RttEstimator(min_rto=sec(1))
    est.sample(ms(100))  # 100 + 200 = 300 ms
    assert est.rto == sec(1)


def test_max_rto_clamps_sample():
    # RFC 6298 (2.5): 100 s + 4*50 s = 300 s -> 120 s.
    est = RttEstimator()
    est.sample(sec(100))
    assert est.rto == sec(120)
    assert est.timeout == sec(120)


def test_backoff_doubles_until_max():
    # RFC 6298 (5.5), maximum from (2.5).
    est = RttEstimator()
    seen = []
    for _ in range(9):
        est.back_off()
        seen.append(est.timeout)
    assert seen == [sec(2), sec(4), sec(8), sec(16), sec(32), sec(64), sec(120), sec(120), sec(120)]
    assert est.backoff == 9
    assert est.rto == sec(1)  # the base is untouched


def test_backoff_with_small_max():
    est = RttEstimator(max_rto=sec(3))
    est.back_off()
    assert est.timeout == sec(2)
    est.back_off()
    assert est.timeout == sec(3)


def test_backoff_from_measured_rto():
    est = RttEstimator()
    est.sample(ms(100))  # RTO 300 ms
    est.back_off()
    est.back_off()
    assert est.timeout == ms(1200)


def test_sample_collapses_backoff():
    # RFC 6298 §5, note after (5.7): a new sample may collapse the doubled RTO.
    est = RttEstimator()
    for _ in range(4):
        est.back_off()
    assert est.timeout == sec(16)
    est.sample(ms(100))
    assert est.backoff == 0
    assert est.timeout == ms(300)


def test_reset_backoff():
    est = RttEstimator()
    est.back_off()
    est.back_off()
    est.reset_backoff()
    assert est.backoff == 0
    assert est.timeout == sec(1)


def test_after_syn_timeout_without_sample_is_three_seconds():
    # RFC 6298 (5.7): SYN timer expired (1 s, then 2 s), handshake done, no sample.
    est = RttEstimator()
    est.back_off()
    est.back_off()
    est.after_syn_timeout()
    assert est.syn_timed_out
    assert est.timeout == sec(3)
    est.back_off()
    assert est.timeout == sec(6)
    est.sample(ms(100))  # the first sample takes over
    assert est.timeout == ms(300)


def test_after_syn_timeout_keeps_larger_rto():
    est = RttEstimator(initial_rto=sec(5))
    est.after_syn_timeout()
    assert est.timeout == sec(5)


def test_after_syn_timeout_keeps_measured_rto():
    # A valid sample (e.g. from timestamps) beats the fallback.
    est = RttEstimator()
    est.sample(ms(100))
    est.after_syn_timeout()
    assert not est.syn_timed_out
    assert est.timeout == ms(300)


@pytest.mark.parametrize(
    "kwargs",
    [dict(min_rto=0), dict(min_rto=sec(2), max_rto=sec(1)), dict(initial_rto=0), dict(granularity=-1)],
)
def test_bad_configuration(kwargs):
    with pytest.raises(ValueError):
        RttEstimator(**kwargs)


def test_bad_samples():
    est = RttEstimator()
    with pytest.raises(ValueError):
        est.sample(-1)
    with pytest.raises(TypeError):
        est.sample(0.1)  # type: ignore[arg-type]
    assert est.srtt is None


def test_small_per_connection():
    assert not hasattr(RttEstimator(), "__dict__")
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        ests = [RttEstimator() for _ in range(10_000)]
        for e in ests:
            e.sample(ms(37))
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    assert grown / len(ests) < 250
