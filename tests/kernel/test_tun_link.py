"""Pieces of the TUN link that need no root: the address plan behind --addr/--peer-addr,
and the virtio-net receive path (checksum completion, GSO splitting) that keeps
offloads out of tcp/."""

from __future__ import annotations

import struct

import pytest

from synack.link.tun import LinkFeatures, addresses, complete_checksum, gso_split
from synack.wire.checksum import fold, pack_address, pseudo_header_sum
from synack.wire.errors import MalformedPacket
from synack.wire.ip import emit_packet, parse_packet
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, FIN, PSH, TcpSegment


@pytest.mark.parametrize("addr, peer, expect", [
    ("10.99.0.2/24", None, ("10.99.0.2", "10.99.0.1", 24)),
    ("10.99.0.1/24", None, ("10.99.0.1", "10.99.0.2", 24)),   # synack took the first host
    ("192.168.7.9/30", None, ("192.168.7.9", "192.168.7.10", 30)),
    ("10.99.0.2/24", "10.99.0.50", ("10.99.0.2", "10.99.0.50", 24)),
    ("fd00::2/64", None, ("fd00::2", "fd00::1", 64)),
])
def test_the_kernel_side_gets_the_first_host_of_the_prefix(addr, peer, expect):
    assert addresses(addr, peer) == expect


@pytest.mark.parametrize("addr, peer, message", [
    ("10.99.0.2", None, "--addr: '10.99.0.2' needs a prefix length"),
    ("nonsense/24", None, "--addr: 'nonsense/24' is not ADDRESS/PREFIX"),
    ("10.99.0.2/24", "x", "--peer-addr: 'x' is not an IP address"),
    ("10.99.0.2/24", "fd00::1", "--peer-addr: fd00::1 is not in the address family"),
    ("10.99.0.2/24", "10.99.0.2", "--peer-addr: 10.99.0.2 is synack's own address"),
])
def test_bad_addresses_name_the_argument(addr, peer, message):
    with pytest.raises(ValueError, match=message):
        addresses(addr, peer)


def test_offloads_ask_for_checksums_whenever_tso_is_on():
    # TUN_F_TSO4 without TUN_F_CSUM is EINVAL in the kernel
    assert LinkFeatures().offload_flags() == 0
    assert LinkFeatures(rx_checksum=True).offload_flags() == 0x01
    assert LinkFeatures(rx_gso=True).offload_flags() == 0x01 | 0x02 | 0x04


def _segment(payload: bytes, flags: int = ACK | PSH) -> bytes:
    seg = TcpSegment(40000, 80, Seq(0xFFFFF000), Seq(7), flags, 65535, payload)
    return emit_packet("10.99.0.1", "10.99.0.2", seg)


def test_a_partial_checksum_is_completed_as_the_kernel_hands_it_over():
    good = _segment(b"partial checksum" * 10)
    # CHECKSUM_PARTIAL: the field holds only the pseudo-header sum, not inverted
    tcp_len = len(good) - 20
    partial = bytearray(good)
    struct.pack_into("!H", partial, 36, fold(pseudo_header_sum(pack_address("10.99.0.1"),
                                                               pack_address("10.99.0.2"), 6, tcp_len)))
    with pytest.raises(MalformedPacket):
        parse_packet(bytes(partial))            # as it stands it fails verification
    assert complete_checksum(bytes(partial), 20, 16) == good


def test_a_gso_super_segment_is_cut_into_valid_mss_segments():
    payload = bytes(range(256)) * 20            # 5120 octets, sequence numbers wrap
    big = _segment(payload, ACK | PSH | FIN)
    parts = gso_split(big, 1448)
    assert [len(p) - 40 for p in parts] == [1448, 1448, 1448, 776]
    segs = [parse_packet(p)[1] for p in parts]  # every checksum verifies
    assert b"".join(s.payload for s in segs) == payload
    assert [int(s.seq) for s in segs] == [(0xFFFFF000 + i * 1448) & 0xFFFFFFFF for i in range(4)]
    assert [bool(s.flags & PSH) for s in segs] == [False, False, False, True]
    assert [bool(s.flags & FIN) for s in segs] == [False, False, False, True]
    assert all(s.ack == Seq(7) for s in segs)
