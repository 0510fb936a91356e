"""IPv4 (RFC 791 §3.1) and IPv6 (RFC 8200) headers, and TCP-in-IP packets."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synack.wire import (
    IPv4Header, IPv6Header, MalformedPacket, emit_ip, emit_ipv4, emit_ipv6, emit_packet, parse_ip,
    parse_ipv4, parse_ipv6, parse_packet,
)
from synack.wire.ip import fragment_packet
from synack.wire.checksum import pack_address
from synack.wire.tcp import emit_tcp
from wire_strategies import V4, V6, ref_checksum, segments, syn

A4, B4 = "10.0.0.1", "10.0.0.2"
A6, B6 = "fd00::1", "fd00::2"


def raw_v4(payload: bytes = b"", *, ihl: int = 5, total: int | None = None, proto: int = 6,
           frag: int = 0x4000, version: int = 4, options: bytes = b"", ttl: int = 64,
           good_checksum: bool = True) -> bytes:
    """An IPv4 packet built field by field, checksummed with the reference implementation."""
    if total is None:
        total = ihl * 4 + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, total, 0x1234, frag, ttl, proto, 0,
                    pack_address(A4), pack_address(B4)) + options
    ck = ref_checksum(h)
    if not good_checksum:
        ck ^= 0x0100
    return h[:10] + ck.to_bytes(2, "big") + h[12:] + payload


def raw_v6(payload: bytes = b"", *, nh: int = 6, plen: int | None = None, version: int = 6,
           exts: bytes = b"") -> bytes:
    if plen is None:
        plen = len(exts) + len(payload)
    return struct.pack("!IHBB16s16s", (version << 28) | (0xAB << 20) | 0x12345, plen, nh, 9,
                       pack_address(A6), pack_address(B6)) + exts + payload


def ext(next_header: int, body: bytes) -> bytes:
    """One RFC 8200 §4 TLV-style extension header; ``body`` makes the header 8n octets."""
    return bytes((next_header, (len(body) + 2) // 8 - 1)) + body


# --- IPv4 ----------------------------------------------------------------------------------------

def test_ipv4_header_fields_and_defaults():
    hdr, payload = parse_ipv4(emit_ipv4(A4, B4, 17, b"abc"))
    assert hdr == IPv4Header(A4, B4, 17, ttl=64, tos=0, ident=0, df=True, total_length=23,
                             header_length=20, options=b"")
    assert payload == b"abc"
    assert hdr.version == 4 and hdr.ttl == 64
    assert hdr._fields[:4] == ("src", "dst", "proto", "ttl")


def test_ipv4_parse_reads_a_hand_built_packet():
    hdr, payload = parse_ipv4(raw_v4(b"xyz", ttl=3, frag=0))
    assert (hdr.src, hdr.dst, hdr.proto, hdr.ttl, hdr.ident, hdr.df) == (A4, B4, 6, 3, 0x1234, False)
    assert payload == b"xyz"


def test_ipv4_trailing_link_padding_is_ignored():
    packet = raw_v4(b"abc") + b"\x00" * 17  # e.g. Ethernet minimum-frame padding
    assert parse_ipv4(packet)[1] == b"abc"


def test_ipv4_options_are_kept():
    opts = b"\x01\x01\x01\x00"  # NOP NOP NOP EOL
    hdr, payload = parse_ipv4(raw_v4(b"p", ihl=6, options=opts))
    assert hdr.options == opts and hdr.header_length == 24 and payload == b"p"


@given(V4, V4, st.integers(0, 255), st.binary(max_size=300), st.integers(0, 255), st.integers(0, 255),
       st.integers(0, 0xFFFF), st.booleans(),
       st.integers(0, 10).flatmap(lambda n: st.binary(min_size=4 * n, max_size=4 * n)))
def test_ipv4_round_trip(src, dst, proto, payload, ttl, tos, ident, df, options):
    packet = emit_ipv4(src, dst, proto, payload, ttl=ttl, tos=tos, ident=ident, df=df, options=options)
    assert ref_checksum(packet[:20 + len(options)]) == 0
    hdr, back = parse_ipv4(packet)
    assert hdr == IPv4Header(src, dst, proto, ttl, tos, ident, df, len(packet), 20 + len(options), options)
    assert back == payload


BAD_V4_EMIT = [
    ("ttl 256", dict(ttl=256)),
    ("negative tos", dict(tos=-1)),
    ("ident beyond 16 bits", dict(ident=1 << 16)),
    ("options not a multiple of 4", dict(options=b"\x01")),
    ("options beyond 40 octets", dict(options=bytes(44))),
    ("proto 256", dict(proto=256)),
    ("total length beyond 65535", dict(payload=bytes(65516))),
    ("IPv6 address given to emit_ipv4", dict(dst=B6)),
]


@pytest.mark.parametrize("desc, change", BAD_V4_EMIT, ids=[b[0] for b in BAD_V4_EMIT])
def test_ipv4_emit_rejects_out_of_range_fields(desc, change):
    args: dict[str, Any] = dict(src=A4, dst=B4, proto=6, payload=b"")
    args.update(change)
    with pytest.raises(ValueError):
        emit_ipv4(**args)


# --- IPv6 ----------------------------------------------------------------------------------------

def test_ipv6_header_fields():
    hdr, payload = parse_ipv6(raw_v6(b"abcd"))
    assert hdr == IPv6Header(A6, B6, 6, hop_limit=9, traffic_class=0xAB, flow_label=0x12345,
                             payload_length=4, ext_headers=())
    assert payload == b"abcd"
    assert hdr.version == 6 and hdr.ttl == 9 and hdr.next_header == 6


def test_ipv6_skips_hop_by_hop_routing_and_destination_options():
    exts = ext(43, b"\x01\x04" + bytes(4)) + ext(60, bytes(14)) + ext(6, bytes(6))
    hdr, payload = parse_ipv6(raw_v6(b"tcp!", nh=0, exts=exts))
    assert hdr.proto == 6 and hdr.next_header == 0
    assert [t for t, _ in hdr.ext_headers] == [0, 43, 60]
    assert payload == b"tcp!"


def test_ipv6_unknown_next_header_ends_the_walk():
    hdr, payload = parse_ipv6(raw_v6(bytes(8), nh=0, exts=ext(59, bytes(6))))  # No Next Header
    assert hdr.proto == 59 and payload == bytes(8)


def test_ipv6_trailing_padding_is_ignored():
    assert parse_ipv6(raw_v6(b"ab") + bytes(10))[1] == b"ab"


EXT_BODIES = st.lists(
    st.tuples(st.sampled_from([0, 43, 60]), st.integers(0, 3).flatmap(
        lambda n: st.binary(min_size=6 + 8 * n, max_size=6 + 8 * n))), max_size=3).map(tuple)


@given(V6, V6, st.integers(0, 255), st.binary(max_size=300), st.integers(0, 255), st.integers(0, 255),
       st.integers(0, 0xFFFFF), EXT_BODIES)
def test_ipv6_round_trip(src, dst, proto, payload, hops, tc, flow, exts):
    if proto in (0, 43, 44, 60):
        proto = 6
    packet = emit_ipv6(src, dst, proto, payload, hop_limit=hops, traffic_class=tc, flow_label=flow,
                       ext_headers=exts)
    hdr, back = parse_ipv6(packet)
    assert hdr == IPv6Header(src, dst, proto, hops, tc, flow, len(packet) - 40, exts)
    assert back == payload


BAD_V6_EMIT = [
    ("hop limit 256", dict(hop_limit=256)),
    ("traffic class 256", dict(traffic_class=256)),
    ("flow label beyond 20 bits", dict(flow_label=1 << 20)),
    ("payload beyond 65535 (no jumbograms)", dict(payload=bytes(65536))),
    ("extension header of the wrong size", dict(ext_headers=((0, bytes(5)),))),
    ("fragment header data not 6 octets", dict(ext_headers=((44, bytes(5)),))),
    ("unknown extension header type", dict(ext_headers=((51, bytes(6)),))),
    ("IPv4 address given to emit_ipv6", dict(src=A4)),
]


@pytest.mark.parametrize("desc, change", BAD_V6_EMIT, ids=[b[0] for b in BAD_V6_EMIT])
def test_ipv6_emit_rejects_out_of_range_fields(desc, change):
    args: dict[str, Any] = dict(src=A6, dst=B6, proto=6, payload=b"")
    args.update(change)
    with pytest.raises(ValueError):
        emit_ipv6(**args)


# --- either version ----------------------------------------------------------------------------

@pytest.mark.parametrize("src, dst, cls", [(A4, B4, IPv4Header), (A6, B6, IPv6Header)])
def test_emit_ip_chooses_the_version_from_the_addresses(src, dst, cls):
    hdr, payload = parse_ip(emit_ip(src, dst, 17, b"udp?", ttl=5))
    assert type(hdr) is cls and hdr.proto == 17 and hdr.ttl == 5 and payload == b"udp?"
    assert (hdr.src, hdr.dst) == (src, dst)


@pytest.mark.parametrize("src, dst", [(A4, B6), (A6, B4)])
def test_mixed_families_raise_value_error(src, dst):
    with pytest.raises(ValueError):
        emit_ip(src, dst, 6, b"")
    with pytest.raises(ValueError):
        emit_packet(src, dst, syn())


def test_addresses_come_back_in_canonical_form():
    hdr, _ = parse_packet(emit_packet("FD00:0000::0001", "fd00:0:0:0:0:0:0:2", syn()))
    assert (hdr.src, hdr.dst) == ("fd00::1", "fd00::2")


@given(st.one_of(st.tuples(V4, V4), st.tuples(V6, V6)), segments(max_payload=300), st.integers(0, 255))
def test_packet_round_trip_both_versions(addrs, seg, ttl):
    src, dst = addrs
    hdr, back = parse_packet(emit_packet(src, dst, seg, ttl=ttl))
    assert (hdr.src, hdr.dst, hdr.proto, hdr.ttl) == (src, dst, 6, ttl)
    assert hdr.version == (4 if "." in src and ":" not in src else 6)
    assert back.payload == seg.payload and back.seq == seg.seq


def test_tcp_behind_ipv6_extension_headers_verifies_with_the_final_next_header():
    body = emit_tcp(syn(payload=b"hi"), A6, B6)
    packet = emit_ipv6(A6, B6, 6, body, ext_headers=((0, bytes(6)), (60, bytes(14))))
    hdr, seg = parse_packet(packet)
    assert isinstance(hdr, IPv6Header)
    assert hdr.next_header == 0 and hdr.proto == 6 and seg.payload == b"hi"


def test_parse_packet_verify_false_skips_only_the_tcp_checksum():
    packet = bytearray(emit_packet(A4, B4, syn(payload=b"x")))
    packet[-1] ^= 0xFF
    assert parse_packet(bytes(packet), verify=False)[1].payload == bytes([ord("x") ^ 0xFF])
    with pytest.raises(MalformedPacket):
        parse_packet(bytes(packet))


# --- malformed input: every reason ---------------------------------------------------------

SYN4 = emit_tcp(syn(), A4, B4)
SYN6 = emit_tcp(syn(), A6, B6)

MALFORMED = [
    ("empty packet", "truncated-ip-header", b""),
    ("19 octets of IPv4", "truncated-ip-header", raw_v4(SYN4)[:19]),
    ("IHL 6 with a 20-octet buffer", "truncated-ip-header", raw_v4(ihl=6)[:20]),
    ("39 octets of IPv6", "truncated-ip-header", raw_v6(SYN6)[:39]),
    ("version 5", "bad-ip-version", raw_v4(SYN4, version=5)),
    ("version 0", "bad-ip-version", b"\x00" * 40),
    ("IHL 4", "bad-ihl", raw_v4(SYN4, ihl=4)),
    ("IHL 0", "bad-ihl", raw_v4(SYN4, ihl=0)),
    ("total length beyond the buffer", "bad-ip-length", raw_v4(SYN4, total=20 + len(SYN4) + 1)),
    ("total length below the header length", "bad-ip-length", raw_v4(SYN4, total=19)),
    ("IPv6 payload length beyond the buffer", "bad-ip-length", raw_v6(SYN6, plen=len(SYN6) + 1)),
    ("IPv4 header checksum wrong", "bad-ip-checksum", raw_v4(SYN4, good_checksum=False)),
    ("IPv6 extension header longer than the payload", "bad-ext-header",
     raw_v6(b"", nh=0, exts=bytes((6, 3)) + bytes(6))),
    ("IPv6 extension header cut short", "bad-ext-header", raw_v6(b"", nh=60, exts=bytes(4))),
    ("UDP, not TCP", "not-tcp", raw_v4(b"\x00" * 8, proto=17)),
    ("IPv6 ICMPv6, not TCP", "not-tcp", raw_v6(b"\x00" * 8, nh=58)),
    ("IPv6 No Next Header after Destination Options", "not-tcp", raw_v6(b"", nh=60, exts=ext(59, bytes(6)))),
    ("TCP inside is malformed too", "truncated-header", raw_v4(SYN4[:10])),
    ("TCP checksum over the IPv6 pseudo-header", "bad-checksum", raw_v6(SYN4)),
]


@pytest.mark.parametrize("desc, reason, packet", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_packets(desc, reason, packet):
    with pytest.raises(MalformedPacket) as e:
        parse_packet(packet)
    assert e.value.reason == reason
    assert e.value.detail


NOT_WHOLE = [
    ("IPv4 More Fragments set", "fragment", raw_v4(SYN4, frag=0x2000)),
    ("IPv4 fragment offset non-zero", "fragment", raw_v4(SYN4, frag=0x0001)),
    ("IPv4 last fragment (offset, DF clear)", "fragment", raw_v4(SYN4, frag=0x00B9)),
    ("IPv6 Fragment header, M set", "fragment", raw_v6(SYN6, nh=44, exts=ext(6, b"\x00\x01" + bytes(4)))),
    ("IPv6 Fragment header behind Hop-by-Hop, offset 8", "fragment",
     raw_v6(SYN6, nh=0, exts=ext(44, bytes(6)) + ext(6, b"\x00\x08" + bytes(4)))),
    ("a UDP fragment is a fragment before it is not TCP", "fragment", raw_v4(b"\x00" * 8, proto=17, frag=0x2000)),
]


@pytest.mark.parametrize("desc, reason, packet", NOT_WHOLE, ids=[m[0] for m in NOT_WHOLE])
def test_parse_packet_hands_fragments_back_for_reassembly(desc, reason, packet):
    with pytest.raises(MalformedPacket) as e:
        parse_packet(packet)
    assert e.value.reason == "fragment" and "reassembled" in e.value.detail
    hdr, _ = parse_ip(packet)  # while the IP layer reads them like any packet
    assert hdr.is_fragment


@pytest.mark.parametrize("desc, reason, packet", [m for m in MALFORMED if m[1] not in
                                                  ("not-tcp", "truncated-header", "bad-checksum")],
                         ids=[m[0] for m in MALFORMED if m[1] not in ("not-tcp", "truncated-header", "bad-checksum")])
def test_malformed_packets_fail_in_parse_ip_too(desc, reason, packet):
    with pytest.raises(MalformedPacket) as e:
        parse_ip(packet)
    assert e.value.reason == reason


def test_version_specific_parsers_reject_the_other_version():
    with pytest.raises(MalformedPacket) as e:
        parse_ipv4(raw_v6(SYN6))
    assert e.value.reason == "bad-ip-version"
    with pytest.raises(MalformedPacket) as e:
        parse_ipv6(raw_v4(SYN4) + bytes(40))
    assert e.value.reason == "bad-ip-version"


# --- fragments (RFC 791 §3.2, RFC 8200 §4.5) ----------------------------------------------------

def test_ipv4_fragment_fields():
    hdr, piece = parse_ipv4(raw_v4(b"12345678", frag=0x2000 | 0x00B9))  # MF, offset 185 * 8
    assert (hdr.mf, hdr.frag_offset, hdr.ident, hdr.df) == (True, 1480, 0x1234, False)
    assert hdr.is_fragment and piece == b"12345678"
    last, _ = parse_ipv4(raw_v4(b"tail", frag=0x00B9))
    assert (last.mf, last.frag_offset, last.is_fragment) == (False, 1480, True)
    whole, _ = parse_ipv4(raw_v4(b"x"))  # DF alone: not a fragment
    assert (whole.mf, whole.frag_offset, whole.is_fragment) == (False, 0, False)


def test_ipv6_fragment_fields():
    frag = b"\x05\xc9" + (0xDEADBEEF).to_bytes(4, "big")  # offset 1480 (185 * 8), M set
    hdr, piece = parse_ipv6(raw_v6(b"piece!!!", nh=0, exts=ext(44, bytes(6)) + bytes((6, 0)) + frag))
    assert (hdr.proto, hdr.ident, hdr.frag_offset, hdr.mf) == (6, 0xDEADBEEF, 1480, True)
    assert [t for t, _ in hdr.ext_headers] == [0, 44] and hdr.ext_headers[1][1] == frag
    assert hdr.is_fragment and piece == b"piece!!!"


def test_ipv6_atomic_fragment_is_read_as_the_whole_datagram():
    """RFC 6946 §4: offset 0 and M clear is a whole datagram; read on past the header."""
    atomic = raw_v6(SYN6, nh=44, exts=ext(6, b"\x00\x00" + (7).to_bytes(4, "big")))
    hdr, seg = parse_packet(atomic)
    assert isinstance(hdr, IPv6Header)
    assert not hdr.is_fragment and hdr.proto == 6 and hdr.next_header == 44
    assert seg.flags == syn().flags


def test_emit_ipv4_fragment_fields_round_trip():
    packet = emit_ipv4(A4, B4, 6, b"abcdefgh", ident=77, df=False, mf=True, frag_offset=2960)
    assert ref_checksum(packet[:20]) == 0
    hdr, piece = parse_ipv4(packet)
    assert (hdr.ident, hdr.mf, hdr.frag_offset, hdr.df) == (77, True, 2960, False) and piece == b"abcdefgh"


@pytest.mark.parametrize("offset", [1, 7, 65536])
def test_emit_ipv4_rejects_offsets_it_cannot_encode(offset):
    with pytest.raises(ValueError, match="fragment offset"):
        emit_ipv4(A4, B4, 6, b"", frag_offset=offset)


def _join(frags: list) -> tuple:
    """Reassemble by hand (in order, no checks): the first header and the joined pieces."""
    parsed = [parse_ip(f) for f in frags]
    return parsed[0][0], b"".join(p for _, p in parsed)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.one_of(st.tuples(V4, V4), st.tuples(V6, V6)), segments(max_payload=600), st.integers(68, 300),
       st.integers(0, 0xFFFF))
def test_fragment_packet_pieces_cover_the_datagram_exactly(addrs, seg, mtu, ident):
    src, dst = addrs
    packet = emit_packet(src, dst, seg)
    v6 = ":" in src
    if v6:
        mtu += 60  # room for 40 + 8 octets of headers and 8 of data
    frags = fragment_packet(packet, mtu, ident)
    body = packet[40:] if v6 else packet[20:]
    if len(packet) <= mtu:
        assert frags == [packet]
        return
    offsets = []
    for i, f in enumerate(frags):
        assert len(f) <= mtu
        hdr, piece = parse_ip(f)
        assert hdr.is_fragment and hdr.ident == ident and hdr.proto == 6
        assert hdr.mf == (i < len(frags) - 1)
        assert hdr.frag_offset % 8 == 0
        if hdr.mf:
            assert len(piece) % 8 == 0  # RFC 8200 §4.5: every piece but the last
        offsets.append((hdr.frag_offset, len(piece)))
        with pytest.raises(MalformedPacket, match="fragment"):
            parse_packet(f)
    assert [o for o, _ in offsets] == [sum(n for _, n in offsets[:i]) for i in range(len(offsets))]
    assert _join(frags)[1] == body


def test_fragment_packet_keeps_the_unfragmentable_ipv6_part_in_every_fragment():
    body = emit_tcp(syn(payload=bytes(300)), A6, B6)
    packet = emit_ipv6(A6, B6, 6, body, ext_headers=((0, bytes(6)), (60, bytes(14))))
    frags = fragment_packet(packet, 200, ident=9)
    for f in frags:
        hdr, _ = parse_ip(f)
        assert isinstance(hdr, IPv6Header)
        assert [t for t, _ in hdr.ext_headers] == [0, 44]  # Hop-by-Hop repeated; Dest Opts fragmented
        assert hdr.proto == 60
    assert _join(frags)[1] == bytes((6, 1)) + bytes(14) + body


def test_fragment_packet_rejects_misuse():
    packet = emit_packet(A4, B4, syn(payload=bytes(100)))
    with pytest.raises(ValueError, match="no room"):
        fragment_packet(packet, 27)
    with pytest.raises(ValueError, match="already a fragment"):
        fragment_packet(fragment_packet(packet, 68)[0], 68)


def test_dpkt_reads_our_ipv4_fragments():
    import dpkt

    packet = emit_packet(A4, B4, syn(payload=bytes(range(200))))
    for f in fragment_packet(packet, 100, ident=4242):
        d = dpkt.ip.IP(f)
        hdr, piece = parse_ip(f)
        assert d.id == 4242 and bool(d.mf) == hdr.mf and d.offset * 8 == hdr.frag_offset and not d.df
        assert bytes(d.data) == piece
        d.sum = 0  # dpkt computes the header checksum itself
        assert bytes(d)[10:12] == f[10:12]


def test_dpkt_built_ipv6_fragment_parses_here():
    import dpkt

    fh = dpkt.ip6.IP6FragmentHeader(nxt=6, id=0xCAFE)
    fh.frag_off, fh.m_flag = 1480 // 8, 1  # dpkt counts the offset in 8-octet units
    raw = raw_v6(bytes(fh) + b"12345678", nh=44)
    hdr, piece = parse_ip(raw)
    assert (hdr.proto, hdr.ident, hdr.frag_offset, hdr.mf, piece) == (6, 0xCAFE, 1480, True, b"12345678")


@given(st.binary(max_size=300), st.integers(0, 2000))
def test_fragment_packet_on_arbitrary_bytes_raises_only_its_own_errors(data, mtu):
    try:
        frags = fragment_packet(data, mtu)
    except (MalformedPacket, ValueError):
        return
    assert all(len(f) <= max(mtu, len(data)) for f in frags)
