"""Congestion control: the registry, Reno/NewReno (RFC 5681, RFC 6582), HyStart++ (RFC 9406),
and the choice of algorithm per connection (TcpConfig, TCP_CONGESTION).

Synthetic ACK and loss events with explicit ``now`` (STYLE "Tests that read like the RFC"
4); windows are in bytes with SMSS = 1000 so the numbers can be checked by eye.
"""

from __future__ import annotations

import errno
import socket as real_socket
from collections.abc import Callable

import pytest

from synack import api
from synack.link.sim import Network
from synack.tcp import cc
from synack.tcp.cc import hystart
from synack.tcp.cc.cubic import Cubic
from synack.tcp.cc.hystart import CSS, DONE, SLOW_START, HyStart, rtt_thresh
from synack.tcp.cc.reno import INITIAL_SSTHRESH, NewReno, Reno
from synack.tcp.config import TcpConfig
from synack.timeunits import ms

SMSS = 1000
BIG_FLIGHT = 10**9  # "the window is in use": the sender is cwnd-limited


def ack(alg, acked: int, now: int = 0, flight: int = BIG_FLIGHT, rtt=None) -> None:
    alg.on_ack(acked, flight, now, rtt)


# ------------------------------------------------------------------------------ registry
def test_registry_knows_reno_newreno_and_cubic():
    assert cc.available() == ["cubic", "newreno", "reno"]
    assert type(cc.create("reno", SMSS, 10)) is Reno
    assert type(cc.create("newreno", SMSS, 10)) is NewReno
    assert type(cc.create("cubic", SMSS, 10)) is Cubic


def test_unknown_name_is_a_value_error_listing_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown congestion control 'vegas' \(known: cubic, newreno, reno\)"):
        cc.create("vegas", SMSS, 10)


def test_a_new_algorithm_is_one_small_class():
    class Timid(Reno):
        name = "timid-test"
        __slots__ = ()

        def ssthresh_after_loss(self, flight_size):
            return max(flight_size // 4, 2 * self.smss)

    cc.register(Timid)
    try:
        alg = cc.create("timid-test", SMSS, 10)
        alg.enter_recovery(40_000, now=0)
        assert (alg.ssthresh, alg.cwnd) == (10_000, 13_000)
        TcpConfig(congestion="timid-test").validate()  # (raises for an unknown algorithm)
    finally:
        del cc.ALGORITHMS["timid-test"]


@pytest.mark.parametrize("name", ["", "x" * 16, "has space", "naïve", 7])
def test_register_refuses_names_tcp_congestion_cannot_carry(name):
    bad = type("Bad", (Reno,), {"name": name, "__slots__": ()})
    with pytest.raises(ValueError, match="congestion control name"):
        cc.register(bad)


def test_cubic_is_the_default_and_config_checks_the_name():
    assert TcpConfig().congestion == "cubic" == cc.DEFAULT
    with pytest.raises(ValueError, match="unknown congestion control 'bbr'"):
        TcpConfig(congestion="bbr").validate()


# ------------------------------------------------------------------------------ Reno, NewReno
def test_initial_window_is_ten_segments_and_ssthresh_arbitrarily_high():
    # RFC 6928 IW10; RFC 5681 §3.1: ssthresh "arbitrarily high".
    alg = Reno(SMSS, 10)
    assert (alg.cwnd, alg.ssthresh) == (10_000, INITIAL_SSTHRESH)
    assert alg.in_slow_start


# RFC 5681 §3.1 (2): slow start, cwnd += min(N, SMSS) per ACK.
RENO_SLOW_START = [
    # (acked octets, cwnd after)
    (1000, 11_000),
    (2000, 12_000),   # a delayed ACK of two segments still adds one SMSS (L = 1 SMSS)
    (500, 12_500),
]


def test_reno_slow_start_adds_at_most_one_smss_per_ack():
    alg = Reno(SMSS, 10)
    for acked, cwnd in RENO_SLOW_START:
        ack(alg, acked)
        assert alg.cwnd == cwnd


def test_reno_congestion_avoidance_adds_one_smss_per_window_of_acked_data():
    # RFC 5681 §3.1 (3): about SMSS*SMSS/cwnd per ACK, i.e. one SMSS per cwnd acked.
    alg = Reno(SMSS, 10)
    alg.enter_recovery(20_000)            # ssthresh = 10000
    alg.exit_recovery(20_000)             # cwnd = min(ssthresh, flight + SMSS) = 10000
    assert (alg.cwnd, alg.ssthresh) == (10_000, 10_000)
    for _ in range(9):
        ack(alg, 1000)
    assert alg.cwnd == 10_000
    ack(alg, 1000)                        # 10 000 octets acked: one SMSS more
    assert alg.cwnd == 11_000


def test_the_window_does_not_grow_when_the_sender_does_not_use_it():
    # RFC 7661 / RFC 9438 §5.8: an application-limited sender keeps its cwnd.
    alg = Reno(SMSS, 10)
    ack(alg, 1000, flight=2000)           # 3000 in flight before this ACK, cwnd 10000
    assert alg.cwnd == 10_000
    ack(alg, 1000, flight=8500)           # 9500 before: less than one SMSS unused
    assert alg.cwnd == 11_000


# RFC 5681 §3.2 and RFC 6582 §3.2, FlightSize 20 000 at the third duplicate ACK.
RECOVERY: list[tuple[tuple[str, *tuple[int, ...]], int, int]] = [
    # (event,                      cwnd after, ssthresh after)
    (("enter", 20_000),            13_000, 10_000),   # ssthresh = max(F/2, 2 SMSS); cwnd = ssthresh + 3 SMSS
    (("dupack",),                  14_000, 10_000),   # step 4: inflate by one SMSS
    (("dupack",),                  15_000, 10_000),
    (("partial", 4000),            12_000, 10_000),   # RFC 6582: deflate by 4000, add back one SMSS
    (("partial", 500),             11_500, 10_000),   # less than one SMSS acked: nothing added back
    (("exit", 15_000),             10_000, 10_000),   # full ACK: min(ssthresh, F + SMSS)
]


def test_newreno_fast_recovery_table():
    alg = NewReno(SMSS, 10)
    for (kind, *arg), cwnd, ssthresh in RECOVERY:
        steps: dict[str, Callable[..., object]] = {
            "enter": lambda f: alg.enter_recovery(f, 0), "dupack": alg.on_dupack_in_recovery,
            "partial": alg.on_partial_ack, "exit": lambda f: alg.exit_recovery(f, 0)}
        steps[kind](*arg)
        assert (alg.cwnd, alg.ssthresh) == (cwnd, ssthresh), kind


def test_exit_recovery_with_little_in_flight_does_not_burst():
    alg = NewReno(SMSS, 10)
    alg.enter_recovery(20_000)
    alg.exit_recovery(2000)               # min(10000, 2000 + 1000)
    assert alg.cwnd == 3000


def test_reno_leaves_recovery_on_a_partial_ack_newreno_does_not():
    assert Reno.partial_ack_recovery is False
    assert NewReno.partial_ack_recovery is True
    assert Cubic.partial_ack_recovery is True


RTO = [
    # (FlightSize, ssthresh after an RTO: max(F/2, 2 SMSS)); cwnd is always one SMSS
    (30_000, 15_000),
    (3000, 2000),
]


@pytest.mark.parametrize("flight,ssthresh", RTO)
def test_reno_timeout_sets_the_loss_window(flight, ssthresh):
    alg = Reno(SMSS, 10)
    alg.on_rto(flight, now=ms(300))
    assert (alg.cwnd, alg.ssthresh) == (1000, ssthresh)


def test_ecn_echo_halves_without_inflation():
    # RFC 3168 §6.1.2: cwnd and ssthresh halve; no fast-recovery inflation.
    alg = Reno(SMSS, 10)
    for _ in range(10):
        ack(alg, 1000)
    alg.on_ecn(20_000, now=0)
    assert (alg.cwnd, alg.ssthresh) == (10_000, 10_000)


def test_a_recovery_module_may_set_cwnd_but_not_below_one_smss():
    # RFC 9937 (PRR): cwnd = pipe + sndcnt, reported through set_cwnd.
    alg = NewReno(SMSS, 10)
    assert alg.on_congestion_event(20_000, now=0) == 10_000
    assert alg.cwnd == 10_000             # on_congestion_event leaves cwnd to the caller
    alg.set_cwnd(7000)
    assert alg.cwnd == 7000
    alg.set_cwnd(0)
    assert alg.cwnd == SMSS


def test_switching_algorithm_keeps_cwnd_and_ssthresh():
    old = Reno(SMSS, 10)
    old.enter_recovery(30_000)
    new = cc.switch(old, "cubic")
    assert type(new) is Cubic
    assert (new.cwnd, new.ssthresh, new.smss) == (old.cwnd, old.ssthresh, SMSS)
    assert new.hs is not None and not new.hs.active  # HyStart++ is for the initial slow start only


# ------------------------------------------------------------------------------ HyStart++
# RFC 9406 §4.2: RttThresh = max(MIN_RTT_THRESH, min(lastRoundMinRTT / MIN_RTT_DIVISOR, MAX_RTT_THRESH))
RTT_THRESH = [
    # (lastRoundMinRTT, RttThresh)
    (ms(10), ms(4)),      # 1.25 ms -> at least 4 ms
    (ms(50), ms(6.25)),   # 50 / 8
    (ms(100), ms(12.5)),
    (ms(200), ms(16)),    # 25 ms -> at most 16 ms
]


@pytest.mark.parametrize("last,thresh", RTT_THRESH)
def test_hystart_rtt_threshold(last, thresh):
    assert rtt_thresh(last) == thresh


def round_of(hs: HyStart, rtt: int, samples: int = 8, acks: int = 8, acked: int = 2000) -> int:
    """One round: ``samples`` RTT samples of ``rtt``, then ``acks`` ACKs; returns the growth.
    The first ACK of the round is the one that passes windowEnd (FlightSize 2 * acks * acked)."""
    grown = 0
    for i in range(acks):
        grown += hs.on_ack(acked, flight_size=2 * acks * acked if i == 0 else BIG_FLIGHT)
        if i == 0:
            for _ in range(samples):
                hs.on_rtt_sample(rtt)
    return grown


def _new_round(hs: HyStart) -> None:
    """Ack everything up to windowEnd so the next ACK starts a round."""
    hs.on_ack(hs.window_end - hs.delivered, BIG_FLIGHT)


def test_hystart_slow_start_grows_by_the_bytes_acked_up_to_l_segments_per_ack():
    hs = HyStart(SMSS)
    assert hs.on_ack(2000, 20_000) == 2000
    # A stretch ACK of twelve segments stands for six delayed ACKs, each allowed L = 8
    # segments without pacing: all twelve count.
    assert hs.on_ack(12_000, 20_000) == 12_000
    assert hystart.L_UNPACED * SMSS < 12_000


# Stretch ACKs (a TSO super-segment acknowledged once) count as the delayed ACKs, one per
# two full-sized segments, that they stand for, each adding at most L = 1 SMSS.
RENO_STRETCH = [
    # (acked octets, cwnd growth)
    (2000, 1000),     # an ordinary delayed ACK: one SMSS (L = 1 SMSS)
    (3000, 2000),     # one and a half delayed ACKs' worth: two
    (45_000, 23_000),  # a 45-segment super-segment acknowledged once: 23
]


def test_reno_slow_start_counts_a_stretch_ack_as_the_acks_it_stands_for():
    for acked, inc in RENO_STRETCH:
        alg = Reno(SMSS, 10)
        ack(alg, acked)
        assert alg.cwnd == 10_000 + inc


def test_reno_slow_start_stops_at_ssthresh_and_the_rest_counts_in_congestion_avoidance():
    alg = Reno(SMSS, 10)
    alg.resume(10_000, 12_000)            # cwnd two SMSS below ssthresh
    ack(alg, 40_000)                      # +2000 to ssthresh, 38 000 more in avoidance
    assert alg.cwnd == 12_000 + 3 * SMSS  # 38 000 acked: three windows of 12 000


def test_reno_congestion_avoidance_counts_a_stretch_ack_of_several_windows():
    alg = Reno(SMSS, 10)
    alg.enter_recovery(20_000)            # ssthresh = 10000
    alg.exit_recovery(20_000)             # cwnd = 10000
    ack(alg, 25_000)                      # two and a half windows in one ACK
    assert alg.cwnd == 12_000


def test_hystart_enters_css_when_the_round_min_rtt_rises_by_the_threshold():
    hs = HyStart(SMSS)
    round_of(hs, ms(50))                  # round 1: min RTT 50 ms
    _new_round(hs)
    round_of(hs, ms(56))                  # 56 < 50 + 6.25: still slow start
    assert hs.phase == SLOW_START
    _new_round(hs)
    round_of(hs, ms(63))                  # 63 >= 56 + 7: conservative slow start
    assert hs.phase == CSS
    assert hs.css_baseline_min_rtt == ms(63)


def test_hystart_needs_n_rtt_sample_samples_in_the_round():
    hs = HyStart(SMSS)
    round_of(hs, ms(50))
    _new_round(hs)
    round_of(hs, ms(80), samples=hystart.N_RTT_SAMPLE - 1)
    assert hs.phase == SLOW_START


def test_css_grows_a_quarter_as_fast_and_ends_slow_start_after_five_rounds():
    hs = HyStart(SMSS)
    round_of(hs, ms(50))
    _new_round(hs)
    round_of(hs, ms(60))
    assert hs.phase == CSS
    assert hs.on_ack(2000, BIG_FLIGHT) == 500          # CSS_GROWTH_DIVISOR = 4
    for _ in range(hystart.CSS_ROUNDS - 1):
        _new_round(hs)
        round_of(hs, ms(60))
        assert hs.phase == CSS
    _new_round(hs)
    assert hs.phase == DONE                            # CSS_ROUNDS rounds in CSS


def test_css_returns_to_slow_start_when_the_rtt_falls_below_the_baseline():
    hs = HyStart(SMSS)
    round_of(hs, ms(50))
    _new_round(hs)
    round_of(hs, ms(60))
    assert hs.phase == CSS
    _new_round(hs)
    round_of(hs, ms(55))                  # below the 60 ms baseline: the rise was spurious
    assert hs.phase == SLOW_START


def test_cubic_enters_congestion_avoidance_at_the_end_of_css_without_a_loss():
    alg = Cubic(SMSS, 10)
    hs = alg.hs
    assert hs is not None
    # Round 1 at 50 ms, round 2 at 60 ms (CSS), then CSS_ROUNDS more rounds.
    for rnd, rtt in enumerate([ms(50)] + [ms(60)] * (hystart.CSS_ROUNDS + 1)):
        for i in range(4):
            flight = 8000 if i == 0 else BIG_FLIGHT
            alg.on_ack(2000, flight, now=rnd * ms(60), rtt=rtt)
            if i == 0:
                for _ in range(8):
                    alg.on_rtt_sample(rtt, rnd * ms(60))
        alg.on_ack(hs.window_end - hs.delivered, BIG_FLIGHT, now=rnd * ms(60), rtt=rtt)
        if hs.phase == DONE:
            break
    assert hs.phase == DONE
    assert alg.ssthresh == alg.cwnd < INITIAL_SSTHRESH
    assert not alg.in_slow_start


def test_a_loss_ends_hystart():
    alg = Cubic(SMSS, 10)
    alg.enter_recovery(10_000, now=0)
    assert alg.hs is not None and not alg.hs.active


# ------------------------------------------------------------------------------ TCP_CONGESTION
@pytest.fixture
def net():
    net = Network(seed=1)
    net.add_host("client", ["10.0.0.1"])
    net.add_host("server", ["10.0.0.2"])
    return net


def name_of(sock) -> bytes:
    return sock.getsockopt(api.IPPROTO_TCP, api.TCP_CONGESTION, 16)


def test_tcp_congestion_is_linux_option_13():
    assert api.TCP_CONGESTION == 13 == getattr(real_socket, "TCP_CONGESTION", 13)


def test_tcp_congestion_before_connect_picks_the_connection_algorithm(net):
    server = api.create_server(net, "server", ("", 80))
    s = api.socket(net, "client")
    assert name_of(s) == b"cubic" + b"\0" * 11          # NUL-padded to TCP_CA_NAME_MAX
    s.setsockopt(api.IPPROTO_TCP, api.TCP_CONGESTION, b"reno")
    s.connect(("10.0.0.2", 80))
    conn, _ = server.accept()
    assert type(s.connection.cc) is Reno
    assert name_of(s) == b"reno" + b"\0" * 12
    assert name_of(conn) == b"cubic" + b"\0" * 11       # the server's own default


def test_accepted_sockets_inherit_the_listener_algorithm(net):
    server = api.create_server(net, "server", ("", 80))
    server.setsockopt(api.IPPROTO_TCP, api.TCP_CONGESTION, b"newreno")
    api.create_connection(net, "client", ("10.0.0.2", 80))
    conn, _ = server.accept()
    assert type(conn.connection.cc) is NewReno
    assert name_of(conn).rstrip(b"\0") == b"newreno"


def test_tcp_congestion_on_a_live_connection_switches_and_keeps_the_window(net):
    api.create_server(net, "server", ("", 80))
    s = api.create_connection(net, "client", ("10.0.0.2", 80))
    before = s.connection.cc.cwnd
    s.setsockopt(api.IPPROTO_TCP, api.TCP_CONGESTION, b"reno\0ignored")
    assert type(s.connection.cc) is Reno and s.connection.cc.cwnd == before


@pytest.mark.parametrize("value,code", [
    (b"bogus", errno.ENOENT),
    (b"cubicXXXXXXXXXXXXXXXX", errno.ENOENT),    # cut to 15 octets: no such name
    (1, errno.ENOENT),                           # an int's four octets, read as a name
    (b"", errno.EINVAL),
])
def test_tcp_congestion_errors_are_linux_errors(net, value, code):
    s = api.socket(net, "client")
    with pytest.raises(OSError) as info:
        s.setsockopt(api.IPPROTO_TCP, api.TCP_CONGESTION, value)
    assert info.value.errno == code
    assert name_of(s).rstrip(b"\0") == b"cubic"


def test_getsockopt_without_buflen_reads_the_name_as_an_int_like_the_kernel(net):
    s = api.socket(net, "client")
    s.setsockopt(api.IPPROTO_TCP, api.TCP_CONGESTION, b"reno")
    assert s.getsockopt(api.IPPROTO_TCP, api.TCP_CONGESTION) == int.from_bytes(b"reno", "little")
    assert s.getsockopt(api.IPPROTO_TCP, api.TCP_CONGESTION, 64) == b"reno" + b"\0" * 12


def test_same_answers_as_a_real_linux_socket(net):
    """Reno is built into every Linux kernel: compare what the kernel says."""
    real = real_socket.socket()
    try:
        try:
            real.setsockopt(real_socket.IPPROTO_TCP, 13, b"reno")
        except OSError as e:  # pragma: no cover - not Linux, or reno not allowed
            pytest.skip(f"this kernel refuses TCP_CONGESTION reno: {e}")
        ours = api.socket(net, "client")
        ours.setsockopt(api.IPPROTO_TCP, api.TCP_CONGESTION, b"reno")
        for buflen in (None, 4, 16, 32):
            args = () if buflen is None else (buflen,)
            assert ours.getsockopt(api.IPPROTO_TCP, 13, *args) == real.getsockopt(real_socket.IPPROTO_TCP, 13, *args)
        for bad in (b"bogus", b""):
            with pytest.raises(OSError) as theirs:
                real.setsockopt(real_socket.IPPROTO_TCP, 13, bad)
            with pytest.raises(OSError) as mine:
                ours.setsockopt(api.IPPROTO_TCP, api.TCP_CONGESTION, bad)
            assert (type(mine.value), mine.value.errno) == (type(theirs.value), theirs.value.errno)
    finally:
        real.close()
