"""The two personalities of TcpConfig (docs/personalities.md): ``profile="linux"`` (Linux
6.x on the wire, the default) and ``profile="rfc"`` (RFC 9293 and its companions strictly),
every knob overridable, and what each does on the wire against a scripted peer."""

from __future__ import annotations

import dataclasses

import pytest
from harness import LOW, Tcb, ms, sec
from optpeer import OptTcb

from synack.tcp.config import DEFAULT_PROFILE, PROFILES, TcpConfig, profile_defaults
from synack.wire.tcp import WindowScale


def wscale_of(seg):
    for o in seg.options:
        if type(o) is WindowScale:
            return o.shift
    return None


# ----------------------------------------------------------------- the config itself

def test_the_default_profile_is_linux_and_both_profiles_set_the_same_knobs():
    assert DEFAULT_PROFILE == "linux" and TcpConfig().profile == "linux"
    assert set(profile_defaults("linux")) == set(profile_defaults("rfc"))
    names = {f.name for f in dataclasses.fields(TcpConfig)}
    for p in PROFILES:
        cfg = TcpConfig(profile=p)
        cfg.validate()
        assert {n for n in names if not hasattr(cfg, n)} == set(), "every knob has a value"


@pytest.mark.parametrize("knob,linux,rfc", [
    ("min_rto", ms(200), sec(1)),            # TCP_RTO_MIN; RFC 6298 (2.4)
    ("msl", sec(30), sec(120)),              # TIME-WAIT 60 s; RFC 9293 §3.4.2
    ("delayed_ack", ms(40), ms(200)),
    ("syn_quick_retry", True, False),
    ("initial_window", 10, 3),               # RFC 6928; RFC 5681 with RFC 3390
    ("congestion", "cubic", "newreno"),
    ("syn_linear_timeouts", 4, 0),
    ("rst_ack", True, False),
    ("rfc1337", False, False),               # RFC 9293 closes TIME-WAIT on RST, Linux too
])
def test_each_profile_sets_its_values(knob, linux, rfc):
    assert getattr(TcpConfig(profile="linux"), knob) == linux
    assert getattr(TcpConfig(profile="rfc"), knob) == rfc


def test_every_knob_can_still_be_given():
    cfg = TcpConfig(profile="rfc", min_rto=ms(200), initial_window=4)
    assert (cfg.profile, cfg.min_rto, cfg.initial_window, cfg.msl) == ("rfc", ms(200), 4, sec(120))
    assert dataclasses.replace(cfg, nodelay=True).min_rto == ms(200)  # replace keeps every value


def test_bad_profiles_and_knobs_are_named():
    with pytest.raises(ValueError, match="profile must be one of linux, rfc, not 'bsd'"):
        TcpConfig(profile="bsd")
    with pytest.raises(TypeError, match="unexpected keyword argument 'min_rtt'"):
        TcpConfig(min_rtt=1)
    with pytest.raises(ValueError, match="psh_every"):
        TcpConfig(psh_every=-1).validate()
    with pytest.raises(ValueError, match="syn_retries"):
        TcpConfig(syn_retries=0).validate()


@pytest.mark.parametrize("kw,shift", [
    ({}, 10),                                       # Linux: from tcp_rmem[2] = 32 MiB
    ({"profile": "rfc"}, 0),                        # the smallest shift that fits 65535
    ({"rcv_buf": 1 << 20}, 5),                      # a chosen buffer fixes the shift (SO_RCVBUF)
    ({"profile": "rfc", "rcv_buf": 1 << 20}, 5),
    ({"rcv_buf": 1 << 20, "rcv_buf_max": 6 << 20}, 7),  # upstream Linux's 6 MiB
])
def test_the_window_scale_comes_from_the_largest_receive_buffer(kw, shift):
    assert TcpConfig(**kw).window_shift() == shift


# ----------------------------------------------------------------- on the wire

@pytest.mark.parametrize("profile,wnd,shift", [("linux", 64240, 10), ("rfc", 65535, 0)])
def test_syn_offers_the_profiles_window_and_scale(profile, wnd, shift):
    """RFC 7323 §2.2: the SYN's window is unscaled; Linux offers whole segments of its MSS
    (44 * 1460) and the scale of its largest buffer; the rfc profile its whole buffer."""
    t = OptTcb(LOW, profile=profile)
    t.open_active()
    syn = t.expect_sent("S")
    assert (syn.wnd, wscale_of(syn)) == (wnd, shift)


def test_linux_syn_ack_offers_whole_segments_less_the_timestamps():
    """Linux's SYN,ACK answering a SYN with timestamps: 45 segments of 1448 (65160)."""
    t = OptTcb(LOW).listen()
    t.peer_sends("S", seq=t.irs)
    assert t.expect_sent("S.").wnd == 45 * 1448


def test_linux_r2_is_tcp_retries2_as_time():
    """Linux's tcp_retries2 = 15 with a 200 ms RTO floor: about 924.6 s before giving up on
    data; the rfc profile keeps RFC 9293 SHLD-11's 100 s."""
    assert TcpConfig().r2 == ms(924_600)
    assert TcpConfig(profile="rfc").r2 == sec(100)
    t = Tcb(LOW, config=TcpConfig(delayed_ack=None)).established(rtt=ms(100))
    t.send(b"x")
    t.advance(sec(924))
    t.expect_state("ESTABLISHED")
    t.advance(sec(1))
    t.expect_state("CLOSED")


# ----------------------------------------------------------------- RFC 1337

@pytest.mark.parametrize("rfc1337", [False, True])
def test_an_rst_in_time_wait_ends_it_unless_rfc1337_is_on(rfc1337):
    """RFC 9293 §3.10.7.4: an RST at RCV.NXT in TIME-WAIT closes the connection (both
    profiles, as Linux's tcp_rfc1337 = 0); ``rfc1337=True`` ignores it (RFC 1337 §3, against
    TIME-WAIT assassination) and TIME-WAIT runs its 2*MSL."""
    t = Tcb(LOW, rfc1337=rfc1337).time_wait()
    t.peer_sends("R", seq=t.irs + 2)
    t.expect_silence()
    t.expect_state("TIME-WAIT" if rfc1337 else "CLOSED")


@pytest.mark.parametrize("rfc1337", [False, True])
def test_the_time_wait_record_honours_rfc1337(rfc1337):
    """The same on a host, where a TIME-WAIT record stands in for the connection."""
    from synack.link.sim import Network
    from synack.stack.packet import Packet
    from synack.tcp.state import State
    from synack.tcp.timewait import TimeWait
    from synack.wire.seq import Seq
    from synack.wire.tcp import RST, TcpSegment

    net = Network(seed=3)
    client = net.add_host("client", ["10.0.0.1"], config=TcpConfig(rfc1337=rfc1337))
    server = net.add_host("server", ["10.0.0.2"])
    lst = server.listen(80, net.now)
    c = client.connect("10.0.0.2", 80, net.now)
    assert net.run_until(lambda: lst.accept_queue, sec(1))
    s = lst.accept()
    c.close(net.now)
    assert net.run_until(lambda: s.state is State.CLOSE_WAIT, sec(1))
    s.close(net.now)
    assert net.run_until(lambda: c.state is State.TIME_WAIT and s.state is State.CLOSED, sec(1))
    (rec,) = client.conns.values()
    assert type(rec) is TimeWait
    rst = TcpSegment(80, c.local_port, Seq(int(c.rcv_nxt)), Seq(0), RST, 0)
    client.deliver_packet(Packet("10.0.0.2", "10.0.0.1", rst), net.now)
    assert (len(client.conns) == 1) is rfc1337
