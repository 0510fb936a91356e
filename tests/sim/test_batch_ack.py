"""Segments that arrive together are all processed before one ACK (RFC 9293 §3.10.7.4
MUST-58, MUST-59): on the simulator, packets that reach a host at the same instant; through
``Host.deliver_batch``, one read of a link (a TUN device's batch)."""

from __future__ import annotations

from typing import Any

from simhelp import CLIENT, SERVER, open_connection, sent, two_hosts

from synack.stack.host import Host
from synack.stack.packet import Packet
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.timeunits import ms
from synack.wire.tcp import ACK, ECE, Sack

MSS_PAYLOAD = 1448  # a full segment beside the timestamps option


def _four_full_segments(drop_third: bool = False):
    """Client sends four full segments at once (they arrive at one instant); the server's
    application reads nothing. Returns (net, ACKs the server sent for them)."""
    net, client, server = two_hosts(delay=ms(10))
    c, s = open_connection(net, client, server)
    net.run_for(ms(100))  # the handshake's delayed ACKs, if any, are over
    start = len(sent(net, SERVER))
    if drop_third:
        net.drop_nth(CLIENT, SERVER, 3 + sum(1 for e in sent(net, CLIENT)))
    assert c.send(bytes(4 * MSS_PAYLOAD), net.now) == 4 * MSS_PAYLOAD
    net.run_for(ms(15))
    data = [e for e in sent(net, CLIENT) if e.seg.payload]
    assert len(data) == 4 and len({e.t for e in data}) == 1
    acks = [e for e in sent(net, SERVER)[start:] if e.seg.flags == ACK and not e.seg.payload]
    return data, s, acks


def test_four_segments_arriving_at_one_instant_get_exactly_one_ack():
    data, s, acks = _four_full_segments()
    assert len(acks) == 1                                   # not one per two full segments
    assert acks[0].seg.ack == data[-1].seg.seq + MSS_PAYLOAD  # it acknowledges all four
    assert s.readable == 4 * MSS_PAYLOAD


def test_a_hole_in_the_batch_is_still_reported_at_once_by_each_later_segment():
    # Segments 1, 2, (3 lost), 4: the ACK of 1-2 rides on the duplicate ACK that segment 4
    # draws at once (RFC 5681 §4.2), which tells the sender of the hole with SACK.
    data, s, acks = _four_full_segments(drop_third=True)
    assert len(acks) == 1
    assert acks[0].seg.ack == data[2].seg.seq               # segments 1 and 2
    (sack,) = [o for o in acks[0].seg.options if type(o) is Sack]
    assert sack.blocks == ((data[3].seg.seq, data[3].seg.seq + MSS_PAYLOAD),)  # and segment 4


def _pair_of_hosts(**knobs: Any) -> tuple[Host, Host, Connection, Connection]:
    """Two hosts wired by hand: what one sends, the test hands to the other. No quick-ACK
    mode (the linux profile's first 16 segments would each be ACKed at once)."""
    cfg = TcpConfig(delayed_ack=ms(40), quick_acks=0, **knobs)
    a = Host("a", ["10.0.0.1"], seed=1, config=cfg)
    b = Host("b", ["10.0.0.2"], seed=2, config=cfg)
    lst = b.listen(80, 0)
    conn = a.connect("10.0.0.2", 80, 0)
    for _ in range(3):
        for p in a.take_packets():
            b.deliver(p, 0)
        for p in b.take_packets():
            a.deliver(p, 0)
    peer = lst.accept()
    assert peer is not None
    return a, b, conn, peer


def test_deliver_batch_acks_once_and_deliver_per_packet_every_second_segment():
    a, b, conn, peer = _pair_of_hosts()
    conn.send(bytes(4 * MSS_PAYLOAD), 1)
    burst = a.take_packets()
    assert len(burst) == 4
    # One packet at a time (as a drill script injects them): every second full segment.
    for p in burst:
        b.deliver(p, 2)
    assert len(b.take_packets()) == 2
    conn.send(bytes(4 * MSS_PAYLOAD), 3)
    burst = a.take_packets()
    # The same through one batch (one read of a TUN device): one ACK, after all four.
    b.deliver_batch(burst, 4)
    (ack,) = b.take_packets()
    a.deliver(ack, 5)
    assert conn.snd_una == conn.snd_nxt and peer.readable == 8 * MSS_PAYLOAD


def test_a_ce_mark_in_a_batch_is_echoed_at_once():
    # RFC 3168 §6.1.3: the receiver tells the sender of congestion at once; the batch's
    # other segments still share one ACK (as Linux's GRO never merges a CE packet).
    a, b, conn, peer = _pair_of_hosts(ecn="on")
    assert conn.ecn_ok and peer.ecn_ok
    conn.send(bytes(4 * MSS_PAYLOAD), 1)
    burst = [p for p in a.take_outgoing() if isinstance(p, Packet)]
    assert len(burst) == 4
    burst[1] = burst[1].marked(3)  # (the second one Congestion Experienced)
    b.deliver_batch(burst, 2)
    acks = [p.seg for p in b.take_outgoing()]  # type: ignore[union-attr]
    assert [a.flags & ECE for a in acks] == [ECE, ECE]
    assert acks[0].ack == burst[1].seg.seq + MSS_PAYLOAD    # at the CE segment: 1 and 2
    assert acks[1].ack == burst[3].seg.seq + MSS_PAYLOAD    # at the end: all four
