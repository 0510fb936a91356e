"""TCP segments on the wire (RFC 9293 §3.1 header, §3.2 options): golden vectors, options,
every malformed reason, emit's range checks, round trips, and the tcpdump-like summary."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synack.wire import MalformedPacket, emit_packet, parse_packet
from synack.wire.checksum import pack_address
from synack.wire.seq import Seq
from synack.wire.tcp import (
    ACK, CWR, ECE, FIN, NS, PSH, RST, SYN, URG, Eol, FastOpen, Mss, Nop, Sack,
    SackPermitted, TcpSegment, Timestamps, UnknownOption, WindowScale, emit_options, emit_tcp,
    parse_options, parse_tcp, seg_summary,
)
from wire_strategies import (
    ADDR_PAIRS, canonical, option_lists, option_size, ref_checksum, ref_pseudo_header, segments, syn, typed,
)

A, B = "10.0.0.1", "10.0.0.2"


def raw_tcp(options: bytes = b"", payload: bytes = b"", flags: int = ACK, doff: int | None = None,
            src: str = A, dst: str = B) -> bytes:
    """A TCP segment built by hand, with a checksum from the reference implementation."""
    if doff is None:
        doff = 5 + len(options) // 4
    seg = struct.pack("!HHIIHHHH", 1000, 2000, 1, 2, (doff << 12) | flags, 100, 0, 0) + options + payload
    ck = ref_checksum(ref_pseudo_header(pack_address(src), pack_address(dst), len(seg)) + seg)
    return seg[:16] + ck.to_bytes(2, "big") + seg[18:]


# --- golden vectors -------------------------------------------------------------------------
# Each vector was cross-checked when written: dpkt reads the same fields, and the reference
# checksum over pseudo-header + segment (and the IPv4 header) verifies to zero.

GOLDEN = [
    ("SYN with Linux's option layout: mss, sackOK, TS, nop, wscale",
     A, B,
     TcpSegment(40000, 80, Seq(0x12345678), Seq(0), SYN, 64240, b"",
                (Mss(1460), SackPermitted(), Timestamps(1, 0), Nop(), WindowScale(7))),
     "4500003c00004000400626ba0a0000010a0000029c4000501234567800000000a002faf033cf0000"
     "020405b40402080a000000010000000001030307"),
    ("SYN-ACK as numbered in RFC 9293 Figure 5 (<SEQ=300><ACK=101>), mss nop wscale",
     B, A,
     TcpSegment(80, 40000, Seq(300), Seq(101), SYN | ACK, 65535, b"", (Mss(1460), Nop(), WindowScale(7))),
     "4500003000004000400626c60a0000020a00000100509c400000012c000000657012ffffd1e40000020405b401030307"),
    ("ACK carrying 5 octets: the odd length pads the checksum with a zero octet",
     A, B,
     TcpSegment(40000, 80, Seq(101), Seq(301), ACK | PSH, 502, b"hello"),
     "4500002d00004000400626c90a0000010a0000029c400050000000650000012d501801f6b7da000068656c6c6f"),
    ("RST with ACK, no options, no data",
     "192.168.1.10", "192.168.1.20",
     TcpSegment(80, 40000, Seq(0), Seq(101), RST | ACK, 0),
     "45000028000040004006b761c0a8010ac0a8011400509c400000000000000065501400008f6c0000"),
    ("FIN with ACK, sequence number 2**32-1 about to wrap",
     A, B,
     TcpSegment(1, 2, Seq(0xFFFFFFFF), Seq(0xFFFFFFF0), FIN | ACK, 1024),
     "4500002800004000400626ce0a0000010a00000200010002fffffffffffffff05011040097dd0000"),
    ("every control bit but SYN and FIN (NS sits in the low bit of octet 12), urgent pointer",
     A, B,
     TcpSegment(5000, 6000, Seq(7), Seq(8), NS | CWR | ECE | URG | ACK | PSH | RST, 100, b"!", (), 1),
     "4500002900004000400626cd0a0000010a00000213881770000000070000000851fc00644d79000121"),
    ("options ending mid-word are padded with one zero octet (RFC 9293 §3.1 MUST-69)",
     A, B,
     TcpSegment(40000, 80, Seq(1), Seq(0), SYN, 8192, b"", (Mss(536), WindowScale(0))),
     "4500003000004000400626c60a0000010a0000029c400050000000010000000070022000b82700000204021803030000"),
    ("nop nop timestamps, nop nop sack with two blocks",
     B, A,
     TcpSegment(80, 40000, Seq(5000), Seq(9000), ACK, 1000, b"",
                (Nop(), Nop(), Timestamps(0xDEADBEEF, 0x01020304), Nop(), Nop(),
                 Sack(((Seq(10000), Seq(11000)), (Seq(12000), Seq(13000)))))),
     "4500004800004000400626ae0a0000020a00000100509c400000138800002328d01003e8e01600000101080a"
     "deadbeef01020304010105120000271000002af800002ee0000032c8"),
    ("SYN over IPv6 with a Fast Open cookie request (RFC 7413)",
     "fd00::1", "fd00::2",
     TcpSegment(40000, 443, Seq(1000), Seq(0), SYN, 65535, b"", (Mss(1440), FastOpen(b""))),
     "60000000001c0640fd000000000000000000000000000001fd000000000000000000000000000002"
     "9c4001bb000003e8000000007002ffffca4c0000020405a022020000"),
    ("IPv6 data segment with an explicit EOL starting a word",
     "2001:db8::a", "2001:db8::b",
     TcpSegment(443, 40000, Seq(1), Seq(2), ACK | PSH, 300, b"data", (Mss(1220), Eol())),
     "600000000020064020010db800000000000000000000000a20010db800000000000000000000000b"
     "01bb9c4000000001000000027018012cb5840000020404c40000000064617461"),
]
GOLDEN_IDS = [g[0] for g in GOLDEN]


@pytest.mark.parametrize("desc, src, dst, seg, hexstr", GOLDEN, ids=GOLDEN_IDS)
def test_golden_emit(desc, src, dst, seg, hexstr):
    assert emit_packet(src, dst, seg).hex() == hexstr


@pytest.mark.parametrize("desc, src, dst, seg, hexstr", GOLDEN, ids=GOLDEN_IDS)
def test_golden_parse(desc, src, dst, seg, hexstr):
    hdr, got = parse_packet(bytes.fromhex(hexstr))
    assert (hdr.src, hdr.dst, hdr.proto, hdr.ttl) == (src, dst, 6, 64)
    assert typed(got) == typed(seg)


@pytest.mark.parametrize("desc, src, dst, seg, hexstr", GOLDEN, ids=GOLDEN_IDS)
def test_golden_checksum_verifies_with_the_reference(desc, src, dst, seg, hexstr):
    packet = bytes.fromhex(hexstr)
    body = packet[20:] if src.count(".") == 3 else packet[40:]
    assert ref_checksum(ref_pseudo_header(pack_address(src), pack_address(dst), len(body)) + body) == 0
    assert typed(parse_tcp(body, src, dst)) == typed(seg)
    assert emit_tcp(seg, src, dst) == body


# --- options ---------------------------------------------------------------------------------

OPTION_AREAS = [
    ("MSS alone", "020405b4", (Mss(1460),)),
    ("four NOPs are four options", "01010101", (Nop(), Nop(), Nop(), Nop())),
    ("EOL starting a word is recorded", "00000000", (Eol(),)),
    ("EOL after MSS starts a word: recorded", "020405b400000000", (Mss(1460), Eol())),
    ("bytes after EOL are ignored, even non-zero ones", "020405b400ffffff", (Mss(1460), Eol())),
    ("EOL mid-word is padding, not recorded", "020405b4030307000000", (Mss(1460), WindowScale(7))),
    ("options need not start on a word boundary (RFC 9293 §3.2 MUST-64)",
     "01020405b4030300", (Nop(), Mss(1460), WindowScale(0))),
    ("an unknown option is kept intact, in order (MUST-6)",
     "1e03000204ffff00", (UnknownOption(30, b"\x00"), Mss(0xFFFF))),
    ("unknown option with no data", "fd02", (UnknownOption(253, b""),)),
    ("SACK-permitted", "0402", (SackPermitted(),)),
    ("timestamps", "080a0000000100000002", (Timestamps(1, 2),)),
    ("SACK with one block", "050a0000000a00000014", (Sack(((Seq(10), Seq(20)),)),)),
    ("SACK with three blocks, values across the wrap",
     "051a" "fffffff000000010" "0000002000000030" "0000004000000050",
     (Sack(((Seq(0xFFFFFFF0), Seq(0x10)), (Seq(0x20), Seq(0x30)), (Seq(0x40), Seq(0x50)))),)),
    ("Fast Open cookie, kind 34", "220a0102030405060708", (FastOpen(bytes(range(1, 9))),)),
    ("Fast Open cookie request, kind 34 length 2", "2202", (FastOpen(b""),)),
    ("experimental Fast Open, kind 254 magic 0xF989", "fe0cf9890102030405060708",
     (FastOpen(bytes(range(1, 9))),)),
    ("experimental Fast Open request, kind 254 length 4", "fe04f989", (FastOpen(b""),)),
    ("kind 254 with another magic is an unknown option", "fe04abcd", (UnknownOption(254, b"\xab\xcd"),)),
    ("window scale shift above 14 is kept as sent (the TCB clamps it)", "030320", (WindowScale(32),)),
]


@pytest.mark.parametrize("desc, hexstr, expected", OPTION_AREAS, ids=[o[0] for o in OPTION_AREAS])
def test_option_parsing(desc, hexstr, expected):
    area = bytes.fromhex(hexstr)
    assert typed(parse_options(area)) == typed(expected)
    padded = area + b"\x00" * (-len(area) % 4)
    seg = parse_tcp(raw_tcp(padded, b"payload"), A, B)
    assert typed(seg.options) == typed(expected)
    assert seg.payload == b"payload"


def test_the_eol_rule_emit_side():
    # (Mss, WindowScale) is 7 octets plus one zero: identical bytes with or without a final Eol.
    assert emit_options((Mss(1460), WindowScale(7))) == emit_options((Mss(1460), WindowScale(7), Eol()))
    assert emit_options((Mss(1460), WindowScale(7))).hex() == "020405b403030700"
    # On a word boundary the Eol costs a word of its own, so it is visible and round-trips.
    assert emit_options((Mss(1460), Eol())).hex() == "020405b400000000"
    assert emit_options((Eol(),)).hex() == "00000000"
    assert emit_options(()) == b""


@given(ADDR_PAIRS, segments(options=option_lists(eol=False)))
def test_round_trip_exact_without_eol(addrs, seg):
    src, dst = addrs
    assert typed(parse_tcp(emit_tcp(seg, src, dst), src, dst)) == typed(seg)


@given(ADDR_PAIRS, segments(options=option_lists(eol=True)))
def test_round_trip_with_a_final_eol_follows_the_documented_rule(addrs, seg):
    src, dst = addrs
    wire = emit_tcp(seg, src, dst)
    back = parse_tcp(wire, src, dst)
    assert typed(back) == typed(canonical(seg))
    assert emit_tcp(canonical(seg), src, dst) == wire
    if sum(option_size(o) for o in seg.options[:-1]) % 4 == 0:
        assert typed(back) == typed(seg)  # a word-aligned Eol round-trips exactly


@given(ADDR_PAIRS, segments(max_payload=2000))
def test_round_trip_through_ip(addrs, seg):
    src, dst = addrs
    hdr, back = parse_packet(emit_packet(src, dst, seg, ttl=17))
    assert (hdr.src, hdr.dst, hdr.ttl, hdr.proto) == (src, dst, 17, 6)
    assert typed(back) == typed(canonical(seg))


def test_parse_accepts_bytearray_and_memoryview_and_returns_bytes():
    wire = emit_tcp(syn(payload=b"abc"), A, B)
    for buf in (bytearray(wire), memoryview(wire)):
        seg = parse_tcp(buf, A, B)
        assert type(seg.payload) is bytes and seg.payload == b"abc"


def test_parsed_values_have_their_types():
    seg = parse_tcp(emit_tcp(syn(seq=5, options=(Sack(((Seq(1), Seq(2)),)),)), A, B), A, B)
    assert type(seg.seq) is Seq and type(seg.ack) is Seq and type(seg.flags) is int
    assert type(seg.options[0].blocks[0][0]) is Seq


def test_reserved_bits_are_ignored_on_receipt():
    wire = bytearray(raw_tcp(flags=ACK))
    wire[12] |= 0x0E  # the three reserved bits (RFC 9293 §3.1: "must be ignored")
    seg = parse_tcp(bytes(wire), A, B, verify=False)
    assert seg.flags == ACK


def test_verify_false_skips_the_checksum():
    wire = bytearray(raw_tcp(payload=b"x"))
    wire[16] ^= 0xFF
    with pytest.raises(MalformedPacket) as e:
        parse_tcp(bytes(wire), A, B)
    assert e.value.reason == "bad-checksum"
    assert parse_tcp(bytes(wire), A, B, verify=False).payload == b"x"


def test_checksum_depends_on_the_pseudo_header():
    wire = emit_tcp(syn(), A, B)
    # (Swapping src and dst cannot be detected: the ones'-complement sum is commutative.)
    for src, dst in ((A, "10.0.0.3"), ("10.0.0.3", B), ("fd00::1", "fd00::2")):
        with pytest.raises(MalformedPacket) as e:
            parse_tcp(wire, src, dst)
        assert e.value.reason == "bad-checksum"


# --- malformed input: every reason ---------------------------------------------------------

MALFORMED = [
    ("19 octets cannot hold a header", "truncated-header", raw_tcp()[:19]),
    ("empty segment", "truncated-header", b""),
    ("data offset 6 but only 20 octets", "truncated-header", raw_tcp(doff=6)),
    ("data offset 15 with a 24-octet segment", "truncated-header", raw_tcp(b"\x01" * 4, doff=15)),
    ("data offset 4", "bad-data-offset", raw_tcp(doff=4)),
    ("data offset 0", "bad-data-offset", raw_tcp(doff=0)),
    ("option length 0 (RFC 9293 §3.1 MUST-7)", "bad-option-length", raw_tcp(bytes.fromhex("02000000"))),
    ("option length 1", "bad-option-length", raw_tcp(bytes.fromhex("fd010000"))),
    ("option overruns the header", "bad-option-length", raw_tcp(bytes.fromhex("fd080000"))),
    ("option kind in the last octet has no length octet", "bad-option-length", raw_tcp(bytes.fromhex("010101fd"))),
    ("MSS of length 5", "bad-option-length", raw_tcp(bytes.fromhex("020505b400000000"))),
    ("MSS of length 2", "bad-option-length", raw_tcp(bytes.fromhex("02020000"))),
    ("window scale of length 4", "bad-option-length", raw_tcp(bytes.fromhex("03040700"))),
    ("SACK-permitted of length 3", "bad-option-length", raw_tcp(bytes.fromhex("04030000"))),
    ("timestamps of length 8", "bad-option-length", raw_tcp(bytes.fromhex("0808000000010000"))),
    ("SACK with no blocks", "bad-option-length", raw_tcp(bytes.fromhex("05020000"))),
    ("SACK of length 2+8+1", "bad-option-length", raw_tcp(bytes.fromhex("050b" + "00" * 9 + "00"))),
    ("a bad option after good ones", "bad-option-length", raw_tcp(bytes.fromhex("01010402" + "02030000"))),
    ("checksum off by one bit", "bad-checksum",
     (lambda w: w[:16] + bytes([w[16] ^ 1]) + w[17:])(raw_tcp(payload=b"abc"))),
    ("SYN and FIN together", "syn-and-fin", raw_tcp(flags=SYN | FIN)),
]


@pytest.mark.parametrize("desc, reason, wire", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_segments(desc, reason, wire):
    with pytest.raises(MalformedPacket) as e:
        parse_tcp(wire, A, B)
    assert e.value.reason == reason
    assert e.value.detail  # a sentence for people


def test_malformed_reasons_cover_the_documented_set():
    assert {m[1] for m in MALFORMED} == {
        "truncated-header", "bad-data-offset", "bad-option-length", "bad-checksum", "syn-and-fin"}


def test_emit_builds_hostile_segments_for_tests():
    # SYN+FIN and a mis-sized MSS are emitted as asked; the parser then rejects them.
    with pytest.raises(MalformedPacket) as e:
        parse_tcp(emit_tcp(syn(flags=SYN | FIN), A, B), A, B)
    assert e.value.reason == "syn-and-fin"
    with pytest.raises(MalformedPacket) as e:
        parse_tcp(emit_tcp(syn(options=(UnknownOption(2, b"\x05"),)), A, B), A, B)
    assert e.value.reason == "bad-option-length"


# --- emit: range checks raise ValueError ----------------------------------------------------

BAD_FIELDS = [
    ("source port 65536", dict(src_port=65536)),
    ("negative destination port", dict(dst_port=-1)),
    ("window 65536 (scaling happens above the wire)", dict(wnd=65536)),
    ("urgent pointer too large", dict(urg_ptr=1 << 16)),
    ("sequence number as a plain int beyond 32 bits", dict(seq=1 << 32)),
    ("negative acknowledgment number", dict(ack=-1)),
    ("a tenth flag bit", dict(flags=0x200)),
    ("options longer than 40 octets", dict(options=(Timestamps(0, 0),) * 4 + (Mss(1),))),
    ("41 octets of options", dict(options=(Timestamps(0, 0),) * 4 + (Nop(),))),
    ("Eol before the last option (MUST-69)", dict(options=(Eol(), Mss(1460)))),
    ("two Eols", dict(options=(Eol(), Eol()))),
    ("MSS above 65535", dict(options=(Mss(70000),))),
    ("window scale shift above 255", dict(options=(WindowScale(256),))),
    ("timestamp beyond 32 bits", dict(options=(Timestamps(1 << 32, 0),))),
    ("SACK with no blocks", dict(options=(Sack(()),))),
    ("SACK with five blocks", dict(options=(Sack(((Seq(1), Seq(2)),) * 5),))),
    # a plain int on purpose: no Seq holds an edge beyond 32 bits
    ("SACK edge beyond 32 bits", dict(options=(Sack(((1 << 32, 0),)),))),  # type: ignore[arg-type]
    ("Fast Open cookie too long", dict(options=(FastOpen(bytes(39)),))),
    ("UnknownOption of kind 0", dict(options=(UnknownOption(0, b""),))),
    ("UnknownOption of kind 1", dict(options=(UnknownOption(1, b""),))),
    ("UnknownOption of kind 256", dict(options=(UnknownOption(256, b""),))),
    ("UnknownOption with 39 octets of data", dict(options=(UnknownOption(99, bytes(39)),))),
    ("not an option at all", dict(options=((2, 1460),))),
]


@pytest.mark.parametrize("desc, change", BAD_FIELDS, ids=[b[0] for b in BAD_FIELDS])
def test_emit_rejects_out_of_range_fields(desc, change):
    with pytest.raises(ValueError) as e:
        emit_tcp(syn()._replace(**change), A, B)
    assert not isinstance(e.value, MalformedPacket)


def test_emit_accepts_the_extremes():
    seg = TcpSegment(65535, 0, Seq(0xFFFFFFFF), Seq(0), 0x1FF & ~FIN, 65535, b"", (
        Nop(), Nop(), Timestamps(0xFFFFFFFF, 0xFFFFFFFF), Sack(((Seq(0), Seq(0xFFFFFFFF)),) * 3)), 65535)
    assert len(emit_tcp(seg, A, B)) == 60
    assert typed(parse_tcp(emit_tcp(seg, A, B), A, B)) == typed(seg)


@pytest.mark.parametrize("src, dst", [("10.0.0.1", "not-an-address"), ("fd00::1", "fd00::zz")])
def test_emit_with_a_bad_address_raises_value_error(src, dst):
    with pytest.raises(ValueError):
        emit_tcp(syn(), src, dst)


# --- summary ---------------------------------------------------------------------------------

SUMMARIES = [
    ("SYN-ACK from the brief",
     TcpSegment(80, 1, Seq(300), Seq(101), SYN | ACK, 65535, b"", (Mss(1460), Nop(), WindowScale(7))),
     "Flags [S.], seq 300, ack 101, win 65535, options [mss 1460,nop,wscale 7], length 0"),
    ("bare SYN shows no ack", syn(seq=100), "Flags [S], seq 100, win 65535, length 0"),
    ("data shows the sequence span",
     TcpSegment(1, 2, Seq(1000), Seq(5), PSH | ACK, 10, b"x" * 10),
     "Flags [P.], seq 1000:1010, ack 5, win 10, length 10"),
    ("the span wraps", TcpSegment(1, 2, Seq(0xFFFFFFFF), Seq(0), ACK, 1, b"ab"),
     "Flags [.], seq 4294967295:1, ack 0, win 1, length 2"),
    ("FIN-ACK", TcpSegment(1, 2, Seq(7), Seq(9), FIN | ACK, 5), "Flags [F.], seq 7, ack 9, win 5, length 0"),
    ("no flags at all", TcpSegment(1, 2, Seq(7), Seq(9), 0, 5), "Flags [none], seq 7, win 5, length 0"),
    ("letter order F S R P . U E W N",
     TcpSegment(1, 2, Seq(1), Seq(2), 0x1FF, 3, b"", (), 4),
     "Flags [FSRP.UEWN], seq 1, ack 2, win 3, urg 4, length 0"),
    ("every option kind",
     syn(options=(SackPermitted(), Timestamps(5, 6), Sack(((Seq(1), Seq(2)),)), FastOpen(b""),
                  FastOpen(b"\xab\xcd"), UnknownOption(99, b"\x01"), Eol())),
     "Flags [S], seq 0, win 65535, options [sackOK,TS val 5 ecr 6,sack 1 {1:2},tfo cookiereq,"
     "tfo cookie abcd,unknown-99 01,eol], length 0"),
]


@pytest.mark.parametrize("desc, seg, text", SUMMARIES, ids=[s[0] for s in SUMMARIES])
def test_seg_summary(desc, seg, text):
    assert seg_summary(seg) == text


@given(segments())
def test_seg_summary_never_fails(seg):
    assert seg_summary(seg).startswith("Flags [")


@given(st.sampled_from([FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, NS]))
def test_each_flag_round_trips_alone(flag):
    seg = syn(flags=flag)
    assert parse_tcp(emit_tcp(seg, A, B), A, B).flags == flag
