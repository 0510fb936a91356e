"""Explicit Congestion Notification (RFC 3168): negotiation in the SYN and SYN,ACK
(§6.1.1), ECT on new data only (§6.1.1-§6.1.6), the receiver's ECE echo until CWR
(§6.1.3), and the sender's response at most once per window of data (§6.1.2)."""

from __future__ import annotations

import pytest
from harness import ms
from optpeer import OptTcb

from synack.tcp.config import TcpConfig
from synack.tcp.connection import CE, ECT0
from synack.trace.events import CongestionChanged
from synack.wire.ip import ecn_of, emit_packet, parse_packet
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, CWR, ECE, SYN, TcpSegment

MSS = 1448

# (our ecn setting, the peer's SYN flags, our SYN,ACK's ECN bits, ECN in use)
PASSIVE = [
    ("passive", "SEW", ECE, True),
    ("passive", "S", 0, False),
    ("passive", "SE", 0, False),    # ECE alone is not an ECN-setup SYN
    ("on", "SEW", ECE, True),
    ("off", "SEW", 0, False),
]


@pytest.mark.parametrize("ours,syn,answer,used", PASSIVE)
def test_syn_received_answers_an_ecn_setup_syn(isns, ours, syn, answer, used):
    t = OptTcb(isns, ecn=ours).listen()
    t.peer_sends(syn, seq=t.irs)
    syn_ack = t.expect_sent("S." + ("E" if answer else ""))
    assert syn_ack.flags & (ECE | CWR) == answer
    assert t.conn.ecn_ok is used


# (our ecn setting, our SYN's ECN bits, the peer's SYN,ACK flags, ECN in use)
ACTIVE = [
    ("on", ECE | CWR, "S.E", True),
    ("on", ECE | CWR, "S.", False),
    ("on", ECE | CWR, "S.EW", False),  # both bits: not an ECN-setup SYN,ACK (§6.1.1)
    ("passive", 0, "S.E", False),
    ("off", 0, "S.E", False),
]


@pytest.mark.parametrize("ours,bits,synack,used", ACTIVE)
def test_syn_sent_asks_for_ecn_when_on(isns, ours, bits, synack, used):
    t = OptTcb(isns, ecn=ours)
    t.open_active()
    syn = t.expect_sent("S" + ("EW" if bits else ""))
    assert syn.flags & (ECE | CWR) == bits
    t.peer_sends(synack, seq=t.irs, ack=t.iss + 1)
    t.expect_sent(".")
    assert t.conn.ecn_ok is used


def test_retransmitted_syn_goes_without_ecn(isns):
    """RFC 3168 §6.1.1.1: the ECN-setup SYN may be what is dropped; try again without."""
    t = OptTcb(isns, ecn="on")
    t.open_active()
    t.expect_sent("SEW")
    t.advance(ms(1000))
    t.expect_sent("S", cause="rto")


def ecn_established(isns, **kw) -> OptTcb:
    kw.setdefault("congestion", "newreno")
    t = OptTcb(isns, ecn="on", nodelay=True, **kw)
    t.open_active()
    t.expect_sent("SEW", seq=t.iss)
    t.advance(ms(20))
    t.peer_sends("S.E", seq=t.irs, ack=t.iss + 1)
    t.expect_sent(".")
    assert t.conn.ecn_ok
    return t


# ----------------------------------------------------------------- receiver (§6.1.3)

def test_receiver_echoes_ce_with_ece_until_cwr(isns):
    t = ecn_established(isns)
    t.peer_sends("P.", data=b"a", ce=True)
    assert t.expect_sent(".E", ack=t.irs + 2).flags & ECE    # at once, with ECE
    t.peer_sends("P.", data=b"b")
    t.expect_sent(".E", ack=t.irs + 3)                        # still echoing
    t.peer_sends("P.W", data=b"c")                            # the sender's CWR
    t.expect_sent(".", ack=t.irs + 4)
    t.peer_sends("P.", data=b"d")
    t.expect_sent(".", ack=t.irs + 5)


def test_receiver_ignores_ce_without_ecn(isns):
    t = OptTcb(isns).established()
    t.peer_sends("P.", data=b"a", ce=True)
    assert not t.expect_sent(".").flags & ECE


# ----------------------------------------------------------------- sender (§6.1.2)

def cwnd_events(t, cause):
    return [e for e in t.recorder.events if isinstance(e, CongestionChanged) and e.cause == cause]


def test_sender_halves_the_window_once_per_window_and_sets_cwr(isns):
    t = ecn_established(isns)
    t.send(bytes(10 * MSS))
    t.drain()
    t.advance(ms(20))
    t.peer_sends(".E", ack=t.iss + 1 + MSS)
    (ev,) = cwnd_events(t, "ecn")
    # RFC 5681 (4), no loss: half the flight the ECE ACK found (10 segments), not of the 9 it left
    assert ev.ssthresh == 10 * MSS // 2 and ev.cwnd == ev.ssthresh
    t.peer_sends(".E", ack=t.iss + 1 + 2 * MSS)                    # same window: no more
    assert len(cwnd_events(t, "ecn")) == 1
    t.peer_sends(".", ack=t.iss + 1 + 10 * MSS)
    t.send(bytes(MSS))
    cwr = [seg for _, seg, _ in t.drain() if seg.flags & CWR]
    assert len(cwr) == 1 and cwr[0].payload                       # on the next new data
    assert t.conn.retransmits == 0


def test_sender_responds_again_in_a_later_window(isns):
    t = ecn_established(isns)
    t.send(bytes(4 * MSS))
    t.drain()
    t.advance(ms(20))
    t.peer_sends(".E", ack=t.iss + 1 + MSS)
    t.peer_sends(".", ack=t.iss + 1 + 4 * MSS)                    # the window is done
    t.send(bytes(2 * MSS))
    t.drain()
    t.advance(ms(20))
    t.peer_sends(".E", ack=t.iss + 1 + 5 * MSS)
    assert len(cwnd_events(t, "ecn")) == 2


def test_ect_codepoint_only_on_new_data(isns):
    """§6.1.1: not on SYNs; §6.1.4: not on pure ACKs; §6.1.5: not on retransmissions;
    §6.1.6: not on window probes."""
    t = ecn_established(isns)
    c = t.conn
    data = TcpSegment(1, 2, Seq(1), Seq(1), ACK, 100, b"x")
    assert c.ect(data, None) == ECT0
    assert c.ect(data, "rto") == 0
    assert c.ect(data._replace(payload=b""), None) == 0
    assert c.ect(data._replace(flags=SYN | ACK), None) == 0
    assert c.ect(data._replace(payload=b""), "zero-window-probe") == 0


@pytest.mark.parametrize("src,dst", [("10.0.0.1", "10.0.0.2"), ("fd00::1", "fd00::2")])
@pytest.mark.parametrize("ecn", [0, 1, ECT0, CE])
def test_ecn_field_round_trips_through_the_ip_header(src, dst, ecn):
    seg = TcpSegment(1000, 80, Seq(5), Seq(6), ACK, 100, b"data")
    hdr, back = parse_packet(emit_packet(src, dst, seg, 64, ecn))
    assert ecn_of(hdr) == ecn and back == seg


def test_config_names_a_bad_ecn_setting():
    with pytest.raises(ValueError, match="ecn must be 'off', 'passive' or 'on'"):
        TcpConfig(ecn=True).validate()
