"""Scripted scenarios on the simulator (link/sim.py) that the RFC 9293 figures need: a
crafted packet put on the wire (``inject``), a packet held in the network (``hold_if``),
and a host that crashes and comes back with no memory (``reboot``)."""

from __future__ import annotations

import pytest

from synack.link.sim import Network
from synack.tcp.config import TcpConfig
from synack.tcp.errors import ConnectionReset
from synack.tcp.isn import FixedIsn
from synack.tcp.state import State
from synack.timeunits import ms, sec
from synack.trace.events import SegmentDropped, SegmentReceived, SegmentSent, StateChanged
from synack.wire.ip import emit_packet
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, RST, SYN, TcpSegment

C, S = "10.0.0.1", "10.0.0.2"


def two_hosts(**kw):
    net = Network(seed=7)
    net.default_path.delay = ms(10)
    cfg = dict(config=TcpConfig(delayed_ack=None), **kw)
    return net, net.add_host("client", [C], **cfg), net.add_host("server", [S], **cfg)


def of(net, cls, host=None):
    return [e for e in net.recorder.events if isinstance(e, cls) and (host is None or e.host == host)]


# ------------------------------------------------------------------- inject

def test_inject_delivers_crafted_bytes_after_the_delay_without_tracing_a_send():
    net, c, s = two_hosts()
    s.listen(80, net.now)
    syn = TcpSegment(4000, 80, Seq(90), Seq(0), SYN, 1000)
    net.inject("client", emit_packet(C, S, syn), delay=ms(3))
    net.run_for(ms(5))
    [got] = of(net, SegmentReceived, "server")
    assert (got.t, got.src, got.dst, got.seg) == (ms(3), C, S, syn)
    assert of(net, SegmentSent, "client") == []
    [answer] = of(net, SegmentSent, "server")
    assert answer.seg.flags == SYN | ACK and answer.seg.ack == 91


def test_inject_to_an_address_nobody_owns_is_a_traced_no_route_drop():
    net, c, s = two_hosts()
    net.inject("client", emit_packet(C, "10.9.9.9", TcpSegment(1, 2, Seq(0), Seq(0), RST, 0)))
    [drop] = of(net, SegmentDropped)
    assert (drop.host, drop.reason, drop.dst) == ("client", "no-route", "10.9.9.9")
    assert net.dropped == {"no-route": 1}


def test_inject_checks_its_arguments():
    net, c, s = two_hosts()
    with pytest.raises(ValueError):
        net.inject("client", b"", delay=-1)
    with pytest.raises(KeyError):
        net.inject("nobody", emit_packet(C, S, TcpSegment(1, 2, Seq(0), Seq(0), RST, 0)))


# ------------------------------------------------------------------- hold_if

def is_syn(pkt) -> bool:
    return pkt.seg is not None and pkt.seg.flags == SYN


def test_a_held_packet_arrives_only_when_released():
    net, c, s = two_hosts()
    lst = s.listen(80, net.now)
    hold = net.hold_if(is_syn, count=1)
    conn = c.connect(S, 80, net.now)
    net.run_for(ms(500))  # before the SYN's retransmission timeout (1 s)
    assert of(net, SegmentReceived, "server") == []
    assert of(net, SegmentDropped) == []  # held, not lost
    assert hold.hits == 1 and not hold.active  # count reached: no longer holding
    assert hold.release() == 1
    assert net.run_until(lambda: lst.accept_queue and conn.state is State.ESTABLISHED, sec(1))
    [arrival] = of(net, SegmentReceived, "server")[:1]
    assert arrival.t == ms(500) + ms(10)  # the path's delay from the release
    assert conn.retransmits == 0


def test_release_keeps_order_and_takes_an_explicit_delay():
    net, c, s = two_hosts()
    s.listen(80, net.now)
    hold = net.hold_if(lambda p: p.src_host == "client")
    c.connect(S, 80, net.now)
    net.run_for(sec(1) + ms(1))  # the SYN and its retransmission, both held
    assert hold.hits == 2 and hold.active
    assert hold.release(delay=ms(2)) == 2 and not hold.active
    t0 = net.now
    net.run_for(ms(2))
    got = of(net, SegmentReceived, "server")
    assert [e.t for e in got] == [t0 + ms(2)] * 2
    assert hold.release() == 0
    with pytest.raises(ValueError):
        hold.release(delay=-1)


def test_scripted_drops_come_before_holds():
    net, c, s = two_hosts()
    drop = net.drop_if(is_syn, count=1)
    hold = net.hold_if(is_syn, count=1)
    c.connect(S, 80, net.now)
    net.run_for(ms(1))
    assert (drop.hits, hold.hits) == (1, 0)
    with pytest.raises(ValueError):
        net.hold_if(is_syn, count=0)


# ------------------------------------------------------------------- reboot

def test_reboot_replaces_the_host_by_one_without_memory():
    net, c, s = two_hosts()
    lst = s.listen(80, net.now)
    conn = c.connect(S, 80, net.now, local_port=5000)
    assert net.run_until(lambda: lst.accept_queue, sec(1))
    peer = lst.accept()
    net.run_for(ms(50))

    conn.send(b"lost with the host", net.now)
    c.call(conn, net.now)  # queued in the old host, never handed to the network
    t_crash = net.now
    new = net.reboot("client", isn=FixedIsn(400))
    assert new is not c and net.host("client") is new and net.hosts["client"] is new
    assert new.name == "client" and new.addrs == c.addrs and new.conns == {} and new.listeners == {}
    [gone] = [e for e in of(net, StateChanged, "client") if e.cause == "host reboot"]
    assert (gone.old, gone.new, gone.conn, gone.t) == ("ESTABLISHED", "CLOSED", conn.cid, net.now)
    assert new.connect(S, 80, net.now, local_port=6000).iss == 400  # keyword arguments reach Host

    net.run_for(sec(5))
    # The old host's data never reached the wire, and its retransmission timer never fires.
    assert not any(e.seg.payload for e in of(net, SegmentReceived, "server"))
    assert not any(e.retransmit for e in of(net, SegmentSent, "client") if e.t > t_crash)
    assert peer.state is State.ESTABLISHED and peer.readable == 0


def test_packets_in_flight_reach_the_rebooted_host():
    net, c, s = two_hosts()
    lst = s.listen(80, net.now)
    conn = c.connect(S, 80, net.now)
    assert net.run_until(lambda: lst.accept_queue, sec(1))
    peer = lst.accept()
    net.run_for(ms(50))
    peer.send(b"hello", net.now)
    s.call(peer, net.now)
    net.flush()  # on the wire now
    new = net.reboot("client")
    assert net.run_until(lambda: peer.state is State.CLOSED, sec(1))
    [arrival] = [e for e in of(net, SegmentReceived, "client") if e.seg.payload == b"hello"]
    [rst] = [e for e in of(net, SegmentSent, "client") if e.t == arrival.t]
    assert rst.seg.flags == RST and rst.conn is None  # no TCB: RFC 9293 §3.10.7.1
    assert isinstance(peer.error, ConnectionReset)
    assert conn.state is State.ESTABLISHED  # the old object is simply forgotten
    assert new.conns == {}


def test_reboot_of_an_unknown_host_is_a_key_error():
    net, c, s = two_hosts()
    with pytest.raises(KeyError):
        net.reboot("nobody")
