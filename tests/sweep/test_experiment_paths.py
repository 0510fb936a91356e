"""What the experiment bench adds for sweeps and plots: flows with different round trips
that share one queue, RTT percentiles, goodput and queue occupancy over time, progress."""

from __future__ import annotations

from collections import defaultdict

import pytest

from synack.scenarios.experiment import SENDER, ExperimentConfig, percentile, run
from synack.timeunits import ms, sec
from synack.trace.events import RttSample


def test_rtt_ratio_gives_the_last_flow_a_longer_round_trip_through_the_same_queue():
    cfg = ExperimentConfig(bandwidth_bps=4e6, rtt=ms(20), flows=3, cc=("reno",), rtt_ratio=4.0,
                           queue_packets=30, duration=sec(3))
    result = run(cfg)
    assert [f.rtt for f in result.flows] == [ms(20), ms(40), ms(80)]
    lowest: defaultdict[tuple | None, int] = defaultdict(lambda: 10**12)
    for ev in result.events:
        if type(ev) is RttSample and ev.host == SENDER:
            lowest[ev.conn] = min(lowest[ev.conn], ev.rtt)
    # the smallest RTT each sender measured is its path's (timestamps tick in 1 ms)
    assert [lowest[f.conn] // ms(1) for f in result.flows] == [20, 40, 80]
    # the short flow wins the shared queue: RTT unfairness
    g = result.goodput_bps
    assert g[0] > g[1] > g[2] and result.fairness < 0.95
    assert result.queue_series is not None and result.queue_series.drops == result.drops["queue-full"] > 0


def test_rtt_percentiles_come_from_the_senders_samples():
    result = run(ExperimentConfig(bandwidth_bps=2e6, rtt=ms(40), queue_packets=20, duration=sec(2), trace="rtt"))
    samples = result.rtt_samples()
    assert samples and not any(type(e) is not RttSample for e in result.events)
    p50, p99 = result.rtt_percentile(50), result.rtt_percentile(99)
    assert p50 is not None and p99 is not None
    assert p50 == percentile(samples, 50) and p99 >= p50 >= ms(40)
    assert percentile([5, 1, 4, 2, 3], 50) == 3 and percentile([], 50) is None and percentile([7], 99) == 7


def test_goodput_and_queue_over_time_add_up_to_the_run():
    result = run(ExperimentConfig(bandwidth_bps=2e6, rtt=ms(40), queue_packets=12, flows=2, duration=sec(4),
                                  cc=("cubic", "reno")))
    gs, q = result.goodput_series, result.queue_series
    assert gs is not None and q is not None
    assert gs.t[0] == 0 and gs.t[-1] == pytest.approx(4.0)
    assert [ys[-1] for ys in gs.octets] == [f.bytes for f in result.flows]
    mids, rates = gs.rates()
    assert len(mids) == len(gs.t) - 1 and len(rates) == 2
    assert q.capacity == 12 and max(q.packets) == 12 and min(q.packets) == 0
    assert q.t == sorted(q.t)
    assert q.drops == result.drops.get("queue-full", 0)


def test_progress_is_reported_in_simulated_time():
    seen = []
    run(ExperimentConfig(bandwidth_bps=1e6, duration=sec(1), trace="none"), progress=lambda d, t: seen.append((d, t)))
    assert 50 <= len(seen) <= 102
    assert seen == sorted(seen) and seen[-1] == (sec(1), sec(1))


def test_bad_rtt_ratio_is_refused():
    with pytest.raises(ValueError, match="rtt_ratio"):
        run(ExperimentConfig(rtt_ratio=0.5))
