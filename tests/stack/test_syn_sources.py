"""SYNs from sources no connection can come from, and SYNs to addresses that are not ours
(RFC 9293 §3.9.2.3 MUST-63 and MUST-57): silence, and no half-open connection.

The host under test owns 10.0.0.2/24 (so 10.0.0.255 is its subnet's broadcast address);
each SYN is handed to it as the bytes a link would deliver."""

from __future__ import annotations

import pytest

from synack.stack.host import Host
from synack.trace.events import Recorder, SegmentDropped
from synack.wire.ip import emit_packet, parse_packet
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, RST, SYN, Mss, TcpSegment

ME = "10.0.0.2"
PORT = 80


def server(addrs=(f"{ME}/24",)) -> Host:
    host = Host("server", list(addrs), seed=1, recorder=Recorder())
    host.listen(PORT, 0)
    return host


def syn(src: str, dst: str = ME, sport: int = 40000, flags: int = SYN) -> bytes:
    seg = TcpSegment(sport, PORT, Seq(1000), Seq(0), flags, 65535, b"", (Mss(1460),) if flags & SYN else ())
    return emit_packet(src, dst, seg)


def dropped(host: Host, reason: str) -> list:
    return [e for e in host.recorder.events if isinstance(e, SegmentDropped) and e.reason == reason]


BAD_SOURCES = [
    pytest.param("224.0.0.5", "multicast", id="multicast"),
    pytest.param("255.255.255.255", "limited broadcast", id="limited-broadcast"),
    pytest.param("10.0.0.255", "subnet broadcast", id="subnet-broadcast"),
    pytest.param("0.0.0.0", "unspecified", id="unspecified"),
    pytest.param("127.0.0.1", "loopback", id="loopback-from-outside"),
    pytest.param(ME, "own address", id="land"),
]


@pytest.mark.parametrize("src, why", BAD_SOURCES)
def test_listen_a_syn_from_an_invalid_source_is_ignored(src, why):
    """RFC 9293 §3.9.2.3 MUST-63: no SYN,ACK, no SYN-RECEIVED entry, a traced drop."""
    host = server()
    host.deliver(syn(src, sport=PORT if src == ME else 40000), 0)  # LAND: the same address and port
    assert host.take_packets() == []
    assert not host.conns
    (drop,) = dropped(host, "bad-source")
    assert why in drop.detail and "MUST-63" in drop.detail


@pytest.mark.parametrize("src", ["224.0.0.5", "255.255.255.255", "127.0.0.1", ME])
def test_closed_port_an_ack_from_an_invalid_source_gets_no_reset(src):
    """No RST goes back to a broadcast, multicast, loopback or own address either."""
    host = server()
    host.deliver(emit_packet(src, ME, TcpSegment(40000, 81, Seq(1), Seq(1), ACK, 100)), 0)
    assert host.take_packets() == []


@pytest.mark.parametrize("dst", ["10.0.0.255", "255.255.255.255", "224.0.0.1"])
def test_listen_a_syn_to_a_broadcast_or_multicast_address_is_discarded(dst):
    """RFC 9293 §3.9.2.3 MUST-57: silently discarded, whatever the source."""
    host = server()
    host.deliver(syn("10.0.0.7", dst), 0)
    assert host.take_packets() == []
    assert not host.conns
    assert dropped(host, "not-my-address")


def test_listen_a_syn_from_a_valid_source_is_answered():
    host = server()
    host.deliver(syn("10.0.0.7"), 0)
    (pkt,) = host.take_packets()
    _, seg = parse_packet(pkt)
    assert seg.flags == SYN | ACK and seg.ack == Seq(1001)


def test_a_loopback_host_accepts_syns_from_loopback():
    """Loopback sources are invalid only when they arrive from outside: a host on
    127.0.0.1 talks to itself."""
    host = server(("127.0.0.1/8",))
    host.deliver(syn("127.0.0.7", "127.0.0.1"), 0)
    (pkt,) = host.take_packets()
    assert parse_packet(pkt)[1].flags == SYN | ACK


def test_a_connection_to_our_own_address_still_opens():
    """Our own address is a valid source for a connection we opened to ourselves."""
    host = server()
    conn = host.connect(ME, PORT, 0)
    for _ in range(4):  # the SYN, the SYN,ACK, the ACK: each comes back to the same host
        for p in host.take_packets():
            host.deliver(p, 0)
    assert str(conn.state) == "ESTABLISHED"
    lst = host.listeners[(None, PORT)]
    assert lst.accept() is not None


def test_an_address_with_a_prefix_is_the_address():
    host = Host("h", ["10.1.2.3/16"], seed=1, recorder=Recorder())
    assert host.addrs == ["10.1.2.3"] and host.owns("10.1.2.3")
    host.deliver(emit_packet("10.1.255.255", "10.1.2.3", TcpSegment(1, PORT, Seq(1), Seq(0), RST, 0)), 0)
    assert "subnet broadcast" in dropped(host, "bad-source")[0].detail
