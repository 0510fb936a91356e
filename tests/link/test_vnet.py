"""The virtio-net side of the TUN link without a device: which of the Host's packets go
out as one GSO write, and what the kernel makes of such a write.

A GSO write is checked the way the kernel treats it: the vector's bytes are one IP packet
with a partial checksum (``NEEDS_CSUM``); splitting it at ``gso_size`` with fresh
checksums, as the kernel's GSO does, must give back exactly the packets the Host emitted.
"""

from __future__ import annotations

import struct

import pytest

from synack.link.vnet import (
    F_NEEDS_CSUM,
    GSO_ECN,
    GSO_TCPV4,
    GSO_TCPV6,
    NO_OFFLOAD,
    VNET_HDR,
    complete_checksum,
    gso_split,
    plan_writes,
)
from synack.wire.checksum import fold, pack_address, pseudo_header_sum
from synack.wire.ip import emit_packet, parse_packet
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, CWR, FIN, PSH, SYN, Nop, TcpSegment, Timestamps

MTU = 1500
GSO = 1448                    # payload of a full segment beside timestamps
V4 = ("10.99.0.2", "10.99.0.1")
V6 = ("fd00:99::2", "fd00:99::1")


def seg(i: int, size: int = GSO, flags: int = ACK, *, base: int = 0xFFFFF000, ack: int = 77, wnd: int = 502,
        ts: int = 5, sport: int = 5001, start: int | None = None) -> TcpSegment:
    """The ``i``-th full segment of a flow (sequence numbers wrap inside the run)."""
    seq = (base + (i * GSO if start is None else start)) & 0xFFFFFFFF
    return TcpSegment(sport, 40000, Seq(seq), Seq(ack), flags, wnd, bytes([i % 251]) * size,
                      (Nop(), Nop(), Timestamps(ts, 9)))


def packets(segs, addrs=V4) -> list[bytes]:
    return [emit_packet(addrs[0], addrs[1], s) for s in segs]


def joined(vec) -> bytes:
    return b"".join(bytes(part) for part in vec[1:])


def kernel_split(vec) -> list[bytes]:
    """What the kernel does with one write: take the header's word, split at gso_size."""
    flags, gso_type, hdr_len, gso_size, cstart, coff = VNET_HDR.unpack(vec[0])
    pkt = joined(vec)
    if gso_type == 0:
        return [pkt]
    return gso_split(pkt, gso_size)


@pytest.mark.parametrize("addrs", [V4, V6], ids=["ipv4", "ipv6"])
def test_a_run_of_full_segments_becomes_one_gso_write_that_splits_back_exactly(addrs):
    ihl = 20 if addrs is V4 else 40
    full = MTU - ihl - 32                                  # 1448 (IPv4) or 1428 (IPv6) beside timestamps
    pkts = packets([seg(i, full, start=i * full) for i in range(9)] + [seg(9, 700, ACK | PSH, start=9 * full)],
                   addrs)
    log: list = []
    vecs = plan_writes(pkts, MTU, log=log)
    assert len(vecs) == 1
    flags, gso_type, hdr_len, gso_size, cstart, coff = VNET_HDR.unpack(vecs[0][0])
    assert (flags, gso_type, hdr_len, gso_size, cstart, coff) == (
        F_NEEDS_CSUM, GSO_TCPV4 if addrs is V4 else GSO_TCPV6, ihl + 32, full, ihl, 16)
    big = joined(vecs[0])
    assert len(big) == ihl + 32 + 9 * full + 700
    # the partial checksum: the pseudo-header sum over the whole TCP length, not inverted
    tcp_len = len(big) - ihl
    want = fold(pseudo_header_sum(pack_address(addrs[0]), pack_address(addrs[1]), 6, tcp_len))
    assert struct.unpack_from("!H", big, ihl + 16)[0] == want
    hdr, s = parse_packet(complete_checksum(big, ihl, 16))       # a valid packet once completed
    assert s.flags == ACK | PSH and len(s.payload) == 9 * full + 700
    assert kernel_split(vecs[0]) == pkts                        # byte for byte what the Host sent
    assert log == [(0, 10, 9 * full + 700, full)]


def test_payloads_are_not_copied_into_the_write():
    pkts = packets([seg(i) for i in range(3)])
    vec = plan_writes(pkts, MTU)[0]
    assert all(isinstance(part, memoryview) and part.obj is pkts[k] for k, part in enumerate(vec[2:]))


def test_the_header_of_a_merged_ipv4_packet_is_valid():
    pkts = packets([seg(i) for i in range(4)])
    big = joined(plan_writes(pkts, MTU)[0])
    assert struct.unpack_from("!H", big, 2)[0] == len(big)
    assert fold(int.from_bytes(big[:20], "big") % 0xFFFF or 0) in (0, 0xFFFF)  # header checksum verifies


@pytest.mark.parametrize("why, segs, runs", [
    ("PSH ends a run", [seg(0), seg(1, flags=ACK | PSH), seg(2), seg(3)], [2, 2]),
    ("a short segment ends a run", [seg(0), seg(1, 100), seg(2, start=GSO + 100), seg(3, start=2 * GSO + 100)],
     [2, 2]),
    ("a gap in sequence numbers", [seg(0), seg(1), seg(3), seg(4)], [2, 2]),
    ("another flow", [seg(0), seg(1), seg(2, sport=5002), seg(3, sport=5002)], [2, 2]),
    ("a new ACK number", [seg(0), seg(1), seg(2, ack=78), seg(3, ack=78)], [2, 2]),
    ("a new window", [seg(0), seg(1), seg(2, wnd=400), seg(3, wnd=400)], [2, 2]),
    ("a new timestamp", [seg(0), seg(1), seg(2, ts=6), seg(3, ts=6)], [2, 2]),
    ("FIN is never merged", [seg(0), seg(1), seg(2, flags=ACK | FIN)], [2, 1]),
    ("CWR is never merged", [seg(0, flags=ACK | CWR), seg(1), seg(2)], [1, 2]),
    ("pure ACKs stay alone", [seg(0, 0), seg(0, 0, ack=90)], [1, 1]),
    ("a lone segment stays alone", [seg(0)], [1]),
    ("a larger segment after a smaller one", [seg(0, 1000), seg(1, start=1000)], [1, 1]),
])
def test_runs_end_where_the_kernel_could_not_rebuild_the_segments(why, segs, runs):
    pkts = packets(segs)
    vecs = plan_writes(pkts, MTU)
    sizes = [len(kernel_split(v)) for v in vecs]
    assert sizes == runs, why
    assert [p for v in vecs for p in kernel_split(v)] == pkts
    for v in vecs:
        if len(kernel_split(v)) == 1:
            assert v[0] == NO_OFFLOAD


def test_a_super_segment_holds_at_most_64k():
    pkts = packets([seg(i) for i in range(60)])          # 86,880 octets of data
    vecs = plan_writes(pkts, MTU)
    assert [len(kernel_split(v)) for v in vecs] == [45, 15]
    assert all(len(joined(v)) <= 65535 for v in vecs)
    assert [p for v in vecs for p in kernel_split(v)] == pkts


def test_without_merging_every_packet_goes_alone():
    pkts = packets([seg(i) for i in range(5)])
    assert plan_writes(pkts, MTU, merge=False) == [(NO_OFFLOAD, p) for p in pkts]


@pytest.mark.parametrize("addrs", [V4, V6], ids=["ipv4", "ipv6"])
def test_a_segment_larger_than_the_mtu_is_written_for_the_kernel_to_split(addrs):
    """What the TSO-ready sender will hand the link: one segment of many MSS."""
    ihl = 20 if addrs is V4 else 40
    big_seg = TcpSegment(5001, 40000, Seq(1000), Seq(77), ACK | PSH | CWR, 502, bytes(range(256)) * 200,
                         (Nop(), Nop(), Timestamps(5, 9)))
    pkt = packets([big_seg], addrs)[0]
    (vec,) = plan_writes([pkt], MTU, merge=False)
    flags, gso_type, hdr_len, gso_size, cstart, coff = VNET_HDR.unpack(vec[0])
    assert flags == F_NEEDS_CSUM and gso_size == MTU - ihl - 32 and (cstart, coff) == (ihl, 16)
    assert gso_type == (GSO_TCPV4 if addrs is V4 else GSO_TCPV6) | GSO_ECN   # CWR: the ECN bit (TUN_F_TSO_ECN)
    parts = [parse_packet(p)[1] for p in kernel_split(vec)]
    assert b"".join(s.payload for s in parts) == big_seg.payload
    assert all(len(p) <= MTU for p in kernel_split(vec))
    assert [bool(s.flags & CWR) for s in parts] == [True] + [False] * (len(parts) - 1)
    assert [bool(s.flags & PSH) for s in parts] == [False] * (len(parts) - 1) + [True]


def test_not_tcp_and_syns_pass_through_untouched():
    syn = emit_packet(*V4, TcpSegment(5001, 40000, Seq(1), Seq(0), SYN, 65535))
    icmp = bytes.fromhex("4500001c0000400040010000") + bytes(8) + bytes(8)
    assert plan_writes([syn, icmp], MTU) == [(NO_OFFLOAD, syn), (NO_OFFLOAD, icmp)]


# ------------------------------------------------------------- synack's own super-segments
def super_segment(n: int, gso_size: int, addrs=V4, partial: bool = True):
    from synack.stack.packet import Packet

    return Packet(addrs[0], addrs[1], seg(0, n, ACK | PSH), 0, 64, gso_size).super_segment(partial)


@pytest.mark.parametrize("addrs", [V4, V6], ids=["ipv4", "ipv6"])
def test_a_super_segment_with_a_partial_checksum_is_one_buffer_the_kernel_completes(addrs):
    g = GSO if addrs is V4 else GSO - 20    # a full segment beside timestamps over IPv6
    ss = super_segment(30_000, g, addrs)
    full = emit_packet(addrs[0], addrs[1], seg(0, 30_000, ACK | PSH))
    ihl = 20 if addrs is V4 else 40
    # the checksum field holds only the pseudo-header sum; completing it gives the real one
    assert bytes(ss) != full and ss[:ihl + 16] == full[:ihl + 16] and ss[ihl + 18:] == full[ihl + 18:]
    assert complete_checksum(bytes(ss), ihl, 16) == full
    (vec,) = plan_writes([ss], MTU)
    flags, gso_type, _, gso_size, start, off = VNET_HDR.unpack(vec[0])
    assert (flags, gso_type, gso_size, start, off) == (F_NEEDS_CSUM, GSO_TCPV4 if addrs is V4 else GSO_TCPV6,
                                                       g, ihl, 16)
    assert len(vec) == 2 and vec[1] is ss            # written as it is: no copy of the data
    assert gso_split(joined(vec), gso_size) == gso_split(full, g)


def test_a_super_segment_is_cut_where_the_host_says_not_at_the_mtu():
    # a peer that announced MSS 1000: its wire segments carry 988 octets beside timestamps
    ss = super_segment(5 * 988, 988, partial=False)
    assert len(ss) < MTU * 4
    (vec,) = plan_writes([ss], MTU)
    assert VNET_HDR.unpack(vec[0])[3] == 988
    pieces = gso_split(joined(vec), 988)
    assert [len(parse_packet(p)[1].payload) for p in pieces] == [988] * 5    # checksums verify
