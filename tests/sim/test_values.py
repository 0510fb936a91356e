"""The simulator carries packets as values beside their bytes (stack/packet.py): a host
takes the segment without parsing it, and bytes are made only where they matter. That must
change nothing anyone can see: the same run with bytes all the way (hosts that hand out and
take bytes, as any link but the simulator does) gives the same trace, event for event."""

from __future__ import annotations

from dataclasses import fields

from simhelp import LOSSY, open_connection, payload, run_until_closed, transfer, two_hosts

from synack.link.sim import Network
from synack.stack.host import Host
from synack.stack.packet import Packet, tcp_header_len
from synack.trace.events import SegmentDropped
from synack.wire.ip import emit_packet
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, Mss, Nop, Sack, SackPermitted, TcpSegment, Timestamps, WindowScale


class BytesHost(Host):
    """A host that hands out and takes bytes only (its own take_packets and deliver)."""

    def take_packets(self) -> list[bytes]:
        return super().take_packets()

    def deliver(self, packet: bytes, now: int, checksum_ok: bool = False) -> None:
        assert type(packet) is bytes
        super().deliver(packet, now, checksum_ok)


class ValueHost(Host):
    """A host that counts the packets it took as values."""

    values = 0

    def deliver_packet(self, pkt: Packet, now: int, raw: bytes | None = None) -> None:
        if raw is None:
            ValueHost.values += 1
        super().deliver_packet(pkt, now, raw)


def history(host_class: type, seed: int = 5) -> list:
    net = Network(seed=seed)
    for name, addr in (("client", "10.0.0.1"), ("server", "10.0.0.2")):
        net.attach(host_class(name, [addr], seed=net.rng.getrandbits(64), recorder=net.recorder))
    net.set_both("client", "server", **LOSSY)
    c, s = open_connection(net, net.host("client"), net.host("server"))
    transfer(net, c, s, payload(60_000, 1), payload(40_000, 2), close="after-ack")
    run_until_closed(net, c, s)
    return net.recorder.events


def test_values_and_bytes_give_the_same_trace_through_loss_reordering_and_corruption():
    ValueHost.values = 0
    with_values = history(ValueHost)
    assert ValueHost.values > 100                       # the segments really travelled as values
    with_bytes = history(BytesHost)
    as_tuples = [[(type(e).__name__, *(getattr(e, f.name) for f in fields(e))) for e in run]
                 for run in (with_values, with_bytes)]
    assert len(as_tuples[0]) > 300 and as_tuples[0] == as_tuples[1]
    reasons = {e.reason for e in with_values if type(e) is SegmentDropped}
    assert {"link-loss", "bad-checksum"} <= reasons      # corrupted copies were bytes, and caught


def test_a_corrupted_value_is_a_traced_checksum_drop():
    net, client, server = two_hosts(3, corrupt=1.0)
    net.host("server").listen(80, net.now)
    net.host("client").connect("10.0.0.2", 80, net.now)
    net.run_for(10**9)
    drops = [e for e in net.recorder.events if type(e) is SegmentDropped and e.host == "server"]
    assert drops and all(e.reason == "bad-checksum" for e in drops)


def test_a_packet_value_knows_its_size_without_its_bytes():
    blocks = ((Seq(5), Seq(9)), (Seq(12), Seq(20)))
    seg_options = [(), (Nop(), Nop(), Timestamps(1, 2)),
                   (Mss(1460), SackPermitted(), Timestamps(3, 0), Nop(), WindowScale(7)),
                   (Nop(), Nop(), Timestamps(1, 2), Nop(), Nop(), Sack(blocks))]
    for options in seg_options:
        for src, dst in (("10.0.0.1", "10.0.0.2"), ("fd00::1", "fd00::2")):
            seg = TcpSegment(1, 2, Seq(3), Seq(4), ACK, 100, b"x" * 37, options)
            pkt = Packet(src, dst, seg)
            assert pkt.size == len(pkt.raw) == len(emit_packet(src, dst, seg))
            assert tcp_header_len(seg.options) == pkt.size - (40 if ":" in src else 20) - 37
