"""Congestion control end to end on the simulator: bulk flows through one bottleneck
(synack.scenarios.experiment), measured the way the issue asks.

- a single flow keeps a 10 Mbit/s, 50 ms path with a one-BDP queue at least 90 % busy,
  with CUBIC and with Reno (and so does the loss-driven sawtooth on a 2 Mbit/s path, where
  the window, not the receiver, is what limits the sender today);
- Reno's goodput at 1 % random loss is within a factor of 1.5 of the Mathis et al. bound
  MSS/RTT * sqrt(3/2)/sqrt(p);
- two competing flows share the bottleneck with Jain's fairness index >= 0.9;
- and the invariants: cwnd never below one SMSS, CUBIC's ssthresh is 0.7 of FlightSize at
  each fast retransmit (RFC 9438 §4.6), the same seed gives the same figures.

Each run simulates tens of seconds in well under a second of wall time.
"""

from __future__ import annotations

from typing import Any

import pytest

from synack.scenarios.experiment import ExperimentConfig, jain, mathis_bps, run
from synack.timeunits import ms, sec
from synack.trace.events import CongestionChanged

MBIT = 1e6
RTT = ms(50)


def one_bdp(bandwidth_bps: float, rtt: int = RTT) -> int:
    """The bandwidth-delay product in 1500-octet packets: the classic router buffer."""
    return max(1, round(bandwidth_bps * rtt / 1e9 / 8 / 1500))


def cc_events(result, cause=None) -> list:
    conns = {f.conn for f in result.flows}
    return [e for e in result.events if type(e) is CongestionChanged and e.conn in conns
            and (cause is None or e.cause == cause)]


def test_jain_index():
    assert jain([5.0, 5.0]) == 1.0
    assert jain([10.0, 0.0]) == 0.5                    # 1/n when one flow has it all
    assert jain([1.0, 2.0, 3.0]) == pytest.approx(36 / 42)


def test_mathis_bound():
    # 1460 * 8 / 0.05 * 1.2247 / 0.1 = 2.861 Mbit/s
    assert mathis_bps(1460, ms(50), 0.01) == pytest.approx(2.8612e6, rel=1e-4)


# ------------------------------------------------------------------------------ utilisation
@pytest.mark.parametrize("cc", ["cubic", "reno"])
def test_one_flow_keeps_a_10mbit_50ms_path_busy(cc):
    cfg = ExperimentConfig(bandwidth_bps=10 * MBIT, rtt=RTT, queue_packets=one_bdp(10 * MBIT),
                           cc=(cc,), duration=sec(20), seed=1)
    r = run(cfg)
    assert cfg.queue_packets == 42
    assert r.utilisation >= 0.9, r.as_dict()
    assert r.flows[0].goodput_bps >= 0.9 * 10 * MBIT * 1460 / 1500


@pytest.mark.parametrize("cc", ["cubic", "reno"])
def test_the_loss_driven_sawtooth_keeps_the_link_busy(cc):
    """2 Mbit/s: BDP 8 packets plus 8 queued is less than the receive window, so the flow
    overflows the queue again and again and congestion control alone sets the pace."""
    cfg = ExperimentConfig(bandwidth_bps=2 * MBIT, rtt=RTT, queue_packets=one_bdp(2 * MBIT),
                           cc=(cc,), duration=sec(30), seed=1)
    r = run(cfg)
    assert r.drops.get("queue-full", 0) >= 10                      # the queue did overflow
    assert len(cc_events(r, "fast-retransmit")) >= 10
    assert r.utilisation >= 0.9, r.as_dict()


# ------------------------------------------------------------------------------ Mathis
def test_reno_goodput_is_within_1_5_of_the_mathis_bound_at_1_percent_loss():
    cfg = ExperimentConfig(bandwidth_bps=10 * MBIT, rtt=RTT, loss=0.01, queue_packets=one_bdp(10 * MBIT),
                           cc=("reno",), duration=sec(60), seed=1)
    r = run(cfg)
    sender = r.flows[0].sender
    assert sender is not None
    bound = mathis_bps(sender.snd_mss, RTT, 0.01)
    ratio = r.flows[0].goodput_bps / bound
    assert 1 / 1.5 <= ratio <= 1.5, (ratio, r.as_dict())
    assert r.drops.get("link-loss", 0) > 100                       # the loss really was ~1 %


# ------------------------------------------------------------------------------ fairness
@pytest.mark.parametrize("cc", ["cubic", "reno"])
@pytest.mark.parametrize("mbit", [2, 10])
def test_two_competing_flows_share_fairly(cc, mbit):
    cfg = ExperimentConfig(bandwidth_bps=mbit * MBIT, rtt=RTT, queue_packets=one_bdp(mbit * MBIT),
                           flows=2, cc=(cc,), duration=sec(30), seed=1)
    r = run(cfg)
    assert r.drops.get("queue-full", 0) > 0                        # they did compete
    assert r.fairness >= 0.9, r.as_dict()
    assert r.utilisation >= 0.8


# ------------------------------------------------------------------------------ invariants
def test_cwnd_never_below_one_smss_and_cubic_backs_off_to_0_7():
    cfg = ExperimentConfig(bandwidth_bps=2 * MBIT, rtt=RTT, loss=0.005, queue_packets=8,
                           flows=2, cc=("cubic",), duration=sec(20), seed=3)
    r = run(cfg)
    sender = r.flows[0].sender
    assert sender is not None
    smss = sender.cc.smss      # the MSS less any options every segment carries
    events = cc_events(r)
    assert events and all(e.cwnd >= smss for e in events)          # RFC 5681 §3.1 loss window
    fr = cc_events(r, "fast-retransmit")
    assert len(fr) >= 10
    for e in fr:                                                  # RFC 9438 §4.6: 0.7 * FlightSize
        assert abs(e.ssthresh - 0.7 * e.flight_size) <= smss, e


def test_same_seed_same_figures_other_seed_other_figures():
    cfg: dict[str, Any] = dict(bandwidth_bps=2 * MBIT, rtt=RTT, loss=0.01, queue_packets=8, flows=2,
               cc=("cubic", "reno"), duration=sec(10), trace="none")
    a = run(ExperimentConfig(seed=5, **cfg)).as_dict()
    b = run(ExperimentConfig(seed=5, **cfg)).as_dict()
    c = run(ExperimentConfig(seed=6, **cfg)).as_dict()
    assert a == b
    assert a != c


def test_each_flow_runs_the_algorithm_it_was_given():
    r = run(ExperimentConfig(bandwidth_bps=2 * MBIT, flows=3, cc=("cubic", "reno", "newreno"),
                             duration=sec(2), trace="none"))
    assert [f.cc for f in r.flows] == ["cubic", "reno", "newreno"]
    senders = [f.sender for f in r.flows if f.sender is not None]
    assert [type(s.cc).__name__ for s in senders] == ["Cubic", "Reno", "NewReno"]


@pytest.mark.parametrize("field,value,message", [
    ("bandwidth_bps", 0, "bandwidth"),
    ("loss", 1.0, "loss"),
    ("queue_packets", 0, "queue"),
    ("flows", 0, "flows"),
    ("cc", ("vegas",), "unknown congestion control"),
    ("duration", 0, "duration"),
])
def test_bad_configuration_names_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        run(ExperimentConfig(**{field: value}))
