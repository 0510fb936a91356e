"""dpkt as an independent checker: packets it builds parse to the same fields here, and
packets built here parse in dpkt to the same fields and checksums."""

from __future__ import annotations

import struct

import dpkt
from hypothesis import given
from hypothesis import strategies as st

from synack.wire import emit_packet, parse_packet
from synack.wire.checksum import pack_address
from synack.wire.seq import Seq
from synack.wire.tcp import (
    ACK, SYN, Eol, FastOpen, Mss, Nop, Sack, SackPermitted, TcpSegment, Timestamps, UnknownOption,
    WindowScale,
)
from wire_strategies import ADDR_PAIRS, canonical, option_lists, segments, typed


def ref_option_bytes(o) -> bytes:
    """Each option encoded by hand from RFC 9293 §3.2, RFC 7323, RFC 2018 and RFC 7413."""
    t = type(o)
    if t is Eol:
        return b"\x00"
    if t is Nop:
        return b"\x01"
    if t is Mss:
        return b"\x02\x04" + struct.pack("!H", o.value)
    if t is WindowScale:
        return b"\x03\x03" + bytes((o.shift,))
    if t is SackPermitted:
        return b"\x04\x02"
    if t is Timestamps:
        return b"\x08\x0a" + struct.pack("!II", o.tsval, o.tsecr)
    if t is Sack:
        body = b"".join(struct.pack("!II", a, b) for a, b in o.blocks)
        return bytes((5, 2 + len(body))) + body
    if t is FastOpen:
        return bytes((34, 2 + len(o.cookie))) + o.cookie
    return bytes((o.kind, 2 + len(o.data))) + o.data


def dpkt_packet(src: str, dst: str, seg: TcpSegment, ttl: int = 64) -> bytes:
    """Serialise ``seg`` with dpkt, which computes both checksums itself."""
    opts = b"".join(ref_option_bytes(o) for o in seg.options)
    opts += b"\x00" * (-len(opts) % 4)
    tcp = dpkt.tcp.TCP(sport=seg.src_port, dport=seg.dst_port, seq=int(seg.seq), ack=int(seg.ack),
                       win=seg.wnd, urp=seg.urg_ptr, sum=0, opts=opts, data=bytes(seg.payload))
    tcp.off = 5 + len(opts) // 4
    tcp.flags = int(seg.flags)
    if ":" in src:
        ip = dpkt.ip6.IP6(src=pack_address(src), dst=pack_address(dst), nxt=6, hlim=ttl,
                          plen=len(tcp), data=tcp)
    else:
        ip = dpkt.ip.IP(src=pack_address(src), dst=pack_address(dst), p=6, ttl=ttl, id=0, data=tcp)
        ip.df = 1
    return bytes(ip)


def dpkt_options(raw: bytes) -> list:
    """dpkt's option list, cut at the first EOL (dpkt reads padding zeros as more EOLs)."""
    out = []
    for kind, data in dpkt.tcp.parse_opts(raw):
        out.append((kind, data))
        if kind == 0:
            break
    return out


def our_options(options) -> list:
    return [(b[0], b[2:]) for b in (ref_option_bytes(o) for o in options)]


SEGMENTS = segments(max_payload=1500)


@given(ADDR_PAIRS, SEGMENTS, st.integers(1, 255))
def test_dpkt_built_packets_parse_to_the_same_fields(addrs, seg, ttl):
    src, dst = addrs
    hdr, got = parse_packet(dpkt_packet(src, dst, seg, ttl))
    assert (hdr.src, hdr.dst, hdr.proto, hdr.ttl) == (src, dst, 6, ttl)
    assert typed(got) == typed(canonical(seg))


@given(ADDR_PAIRS, segments(options=option_lists(eol=False), max_payload=1500))
def test_emit_is_byte_identical_to_dpkt(addrs, seg):
    src, dst = addrs
    assert emit_packet(src, dst, seg) == dpkt_packet(src, dst, seg)


@given(ADDR_PAIRS, SEGMENTS)
def test_dpkt_reads_our_packets_and_agrees_with_the_checksums(addrs, seg):
    src, dst = addrs
    packet = emit_packet(src, dst, seg)
    ip = dpkt.ip6.IP6(packet) if ":" in src else dpkt.ip.IP(packet)
    tcp = ip.data
    assert isinstance(tcp, dpkt.tcp.TCP)
    assert (tcp.sport, tcp.dport, tcp.seq, tcp.ack, tcp.flags, tcp.win, tcp.urp) == (
        seg.src_port, seg.dst_port, int(seg.seq), int(seg.ack), int(seg.flags), seg.wnd, seg.urg_ptr)
    assert bytes(tcp.data) == seg.payload
    # dpkt sees the options as given, plus an EOL where zero padding follows a non-EOL option.
    expected = our_options(seg.options)
    unpadded = sum(len(ref_option_bytes(o)) for o in seg.options)
    if len(tcp.opts) > unpadded and (not expected or expected[-1][0] != 0):
        expected.append((0, b""))
    assert dpkt_options(tcp.opts) == expected
    # Let dpkt recompute both checksums from scratch: they must equal ours.
    ours_tcp, ours_ip = tcp.sum, getattr(ip, "sum", None)
    tcp.sum = 0
    if ours_ip is not None:
        ip.sum = 0
    again = dpkt.ip6.IP6(bytes(ip)) if ":" in src else dpkt.ip.IP(bytes(ip))
    assert again.data.sum == ours_tcp
    if ours_ip is not None:
        assert again.sum == ours_ip


def test_a_linux_style_syn_matches_dpkt_field_by_field():
    seg = TcpSegment(40000, 80, Seq(0x12345678), Seq(0), SYN, 64240, b"",
                     (Mss(1460), SackPermitted(), Timestamps(1, 0), Nop(), WindowScale(7)))
    packet = emit_packet("10.0.0.1", "10.0.0.2", seg)
    assert packet == dpkt_packet("10.0.0.1", "10.0.0.2", seg)
    ip = dpkt.ip.IP(packet)
    assert ip.df == 1 and ip.mf == 0 and ip.offset == 0 and ip.len == len(packet)
    assert dpkt.tcp.parse_opts(ip.data.opts) == [
        (2, b"\x05\xb4"), (4, b""), (8, struct.pack("!II", 1, 0)), (1, b""), (3, b"\x07")]


def test_unknown_options_survive_a_trip_through_dpkt():
    seg = TcpSegment(1, 2, Seq(3), Seq(4), ACK, 5, b"",
                     (UnknownOption(30, b"\x10\x20\x30"), Nop(), Mss(1000)))
    _, got = parse_packet(dpkt_packet("10.0.0.1", "10.0.0.2", seg))
    assert typed(got) == typed(seg)
