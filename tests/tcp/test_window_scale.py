"""RFC 7323 §2: the Window Scale option. Negotiated in the SYN and SYN,ACK; the shift comes
from the receive buffer; every window field after the handshake is scaled, the SYNs'
never; the right edge the peer sees never moves left (§2.4, RFC 9293 SHLD-14)."""

from __future__ import annotations

import pytest
from optpeer import OptTcb, opt_established, opt_established_passive

from synack.tcp import timestamps as T
from synack.tcp.config import TcpConfig
from synack.wire.seq import Seq
from synack.wire.tcp import WindowScale

# (receive buffer, shift): the smallest shift whose 16-bit field, rounded up, covers it.
SHIFT_CASES = [
    (1, 0),
    (65535, 0),
    (65536, 1),
    (131070, 1),
    (131071, 2),
    (1 << 20, 5),
    (6 * 1024 * 1024, 7),          # Linux's tcp_rmem maximum: wscale 7
    (65535 << 14, 14),             # RFC 7323 §2.3: at most 14
]


@pytest.mark.parametrize("buf,shift", SHIFT_CASES)
def test_shift_comes_from_the_receive_buffer(buf, shift):
    assert T.shift_for(buf) == shift
    assert (buf + (1 << shift) - 1) >> shift <= 0xFFFF


def wscale_of(seg):
    return next((o.shift for o in seg.options if type(o) is WindowScale), None)


def test_syn_offers_the_shift_with_an_unscaled_window(isns):
    """RFC 7323 §2.2: the SYN carries Rcv.Wind.Shift; its own window field is never scaled
    (the rfc profile offers the whole 65535, Linux's whole segments of the MSS)."""
    t = OptTcb(isns, profile="rfc", rcv_buf=1 << 20)
    t.open_active()
    syn = t.expect_sent("S")
    assert wscale_of(syn) == 5 and syn.wnd == 65535


def test_syn_offers_shift_zero_for_a_small_buffer(isns):
    """A shift of 0 still lets the peer scale its own window (RFC 7323 §2.2): the rfc
    profile's 65535-octet buffer needs no more."""
    t = OptTcb(isns, profile="rfc")
    t.open_active()
    assert wscale_of(t.expect_sent("S")) == 0


def test_no_window_scale_option_when_switched_off(isns):
    t = OptTcb(isns, window_scale=False)
    t.open_active()
    assert wscale_of(t.expect_sent("S")) is None


def test_syn_received_answers_window_scale_only_if_offered(isns):
    for offered, expect in ((None, None), (3, 5)):
        t = OptTcb(isns, rcv_buf=1 << 20, peer_wscale=offered).listen()
        t.peer_sends("S", seq=t.irs)
        assert wscale_of(t.expect_sent("S.")) == expect


def test_established_peer_window_is_scaled_except_in_its_syn(isns):
    """RFC 7323 §2.3: SND.WND = SEG.WND << Snd.Wind.Shift, but the SYN,ACK's is unscaled."""
    t = OptTcb(isns, peer_wscale=7)
    t.syn_sent()
    t.peer_sends("S.", seq=t.irs, ack=t.iss + 1, wnd=1000)
    t.expect_sent(".")
    assert t.conn.snd_wnd == 1000
    t.peer_sends(".", ack=t.iss + 1, wnd=100)
    assert t.conn.snd_wnd == 100 << 7


def test_established_shift_above_14_is_taken_as_14(isns):
    """RFC 7323 §2.3: "... it MUST use 14 instead of the received value"."""
    t = opt_established(isns, peer_wscale=15)
    t.peer_sends(".", ack=t.iss + 1, wnd=2)
    assert t.conn.snd_wscale == 14 and t.conn.snd_wnd == 2 << 14


def test_established_scaled_peer_window_lets_more_than_64k_fly(isns):
    t = opt_established(isns, peer_wscale=2, initial_window=100, nodelay=True)
    t.peer_sends(".", ack=t.iss + 1, wnd=40000)  # 160000 octets
    t.send(bytes(100_000))
    sent = sum(len(seg.payload) for _, seg, _ in t.drain())
    assert sent == 100_000


def test_established_our_window_field_is_scaled_and_rounded_up(isns):
    """RFC 7323 §2.3: the field is RCV.WND >> Rcv.Wind.Shift; rounding up (as Linux does)
    keeps the right edge the peer computes from moving left."""
    t = opt_established(isns, rcv_buf=1 << 20, peer_wscale=0)
    c = t.conn
    assert c.rcv_wscale == 5
    t.peer_sends("P.", data=bytes(1000))
    ack = t.expect_sent(".", ack=t.irs + 1001)
    assert ack.wnd == -(-((1 << 20) - 1000) // 32)


def test_established_right_edge_never_retreats_under_scaling(isns):
    """RFC 9293 SHLD-14 with RFC 7323 §2.4: odd-sized segments, read or not, never make
    SEG.ACK + (SEG.WND << shift) smaller than it was."""
    t = opt_established(isns, rcv_buf=1 << 17, peer_wscale=0)
    assert t.conn.rcv_wscale == 2
    edge = None
    for i, n in enumerate((1, 3, 5, 7, 1000, 13, 1, 2, 3)):
        t.peer_sends("P.", data=bytes(n))
        if i % 3 == 2:
            t.receive()
        for _, seg, _ in t.drain():
            right = int(seg.ack) + (seg.wnd << 2)
            if edge is not None:
                assert Seq(right).ge(Seq(edge)), (edge, right)
            edge = right


def test_established_without_peer_scaling_our_window_stays_below_64k(isns):
    t = opt_established(isns, rcv_buf=1 << 20, peer_wscale=None)
    t.peer_sends("P.", data=b"x")
    ack = t.expect_sent(".", ack=t.irs + 2)
    assert t.conn.rcv_wscale == 0 and 64000 < ack.wnd <= 65535


def test_established_data_beyond_the_scaled_window_is_trimmed(isns):
    t = opt_established(isns, rcv_buf=1 << 17, peer_wscale=0)
    edge = t.window_edge                                  # the right edge, scaled (2**17)
    assert edge == t.irs + 1 + (1 << 17)
    t.peer_sends("P.", seq=edge - 10, data=b"x" * 30)  # the last 20 octets lie beyond
    t.expect_sent(".", ack=t.irs + 1)
    gap = edge - 10 - (t.irs + 1)
    t.peer_sends("P.", seq=t.irs + 1, data=b"y" * gap)
    t.expect_sent(".", ack=edge)  # the hole is filled up to the right edge, no further
    assert t.receive(1 << 20) == b"y" * gap + b"x" * 10


def test_passive_connection_scales_both_ways(isns):
    t = opt_established_passive(isns, rcv_buf=1 << 18, peer_wscale=3)
    assert (t.conn.snd_wscale, t.conn.rcv_wscale) == (3, 3)


@pytest.mark.parametrize("kw,message", [
    (dict(rcv_buf=65536, window_scale=False), "rcv_buf must be between 1 and 65535"),
    (dict(rcv_buf=(65535 << 14) + 1), "rcv_buf must be between 1 and 1073725440"),
    (dict(rcv_buf=0), "rcv_buf must be between 1"),
])
def test_config_bounds_the_receive_buffer_by_what_scaling_can_offer(kw, message):
    with pytest.raises(ValueError, match=message):
        TcpConfig(**kw).validate()


def test_config_allows_a_large_buffer_with_scaling():
    TcpConfig(rcv_buf=1 << 29).validate()
    assert TcpConfig().window_scale is True
