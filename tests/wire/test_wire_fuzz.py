"""Hostile input: arbitrary and mutated bytes raise MalformedPacket and nothing else, and the
checksum catches every single-bit error (RFC 9293 §3.1 MUST-3)."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synack.wire import (
    MalformedPacket, emit_packet, emit_tcp, parse_ip, parse_ipv4, parse_ipv6, parse_packet, parse_tcp,
)
from synack.wire.tcp import parse_options
from wire_strategies import ADDR_PAIRS, ref_checksum, ref_pseudo_header, segments, typed
import contextlib

A4, B4, A6, B6 = "10.0.0.1", "10.0.0.2", "fd00::1", "fd00::2"

PARSERS: list[tuple[str, Callable[[bytes], object]]] = [
    ("parse_packet", parse_packet),
    ("parse_ip", parse_ip),
    ("parse_ipv4", parse_ipv4),
    ("parse_ipv6", parse_ipv6),
    ("parse_tcp v4", lambda b: parse_tcp(b, A4, B4)),
    ("parse_tcp v6", lambda b: parse_tcp(b, A6, B6)),
    ("parse_tcp unverified", lambda b: parse_tcp(b, A4, B4, verify=False)),
    ("parse_options", parse_options),
]


def only_malformed(data: bytes) -> None:
    for _name, parse in PARSERS:
        try:
            parse(data)
        except MalformedPacket as e:
            assert e.reason and isinstance(e.reason, str)


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_malformed_packet(data):
    only_malformed(data)


# Bytes that look like the start of a header reach the deeper checks.
PLAUSIBLE = st.tuples(
    st.sampled_from([b"\x45", b"\x46", b"\x4f", b"\x44", b"\x60", b"\x6f"]),
    st.binary(max_size=120),
).map(lambda t: t[0] + t[1])


@settings(max_examples=500)
@given(PLAUSIBLE)
def test_plausible_headers_raise_only_malformed_packet(data):
    only_malformed(data)


def _with_plausible_data_offset(b: bytes) -> bytes:
    """Set the data offset to 5..15 words so that option parsing is reached often."""
    doff = 5 + b[0] % 11
    return b[:12] + bytes([(doff << 4) | (b[12] & 0x0F)]) + b[13:]


TCP_LIKE = st.binary(min_size=20, max_size=80).map(_with_plausible_data_offset)


@settings(max_examples=500)
@given(TCP_LIKE)
def test_unverified_tcp_with_any_options_raises_only_malformed_packet(data):
    # verify=False reaches option parsing for every input, not only for checksummed ones.
    with contextlib.suppress(MalformedPacket):
        parse_tcp(data, A4, B4, verify=False)


# --- mutated valid packets ----------------------------------------------------------------------

def fix_checksums(p: bytearray) -> None:
    """Recompute the IPv4 header and TCP checksums of a (mutated) packet, where its shape allows."""
    if len(p) < 1:
        return
    if p[0] >> 4 == 4 and len(p) >= 20:
        ihl = (p[0] & 0xF) * 4
        total = struct.unpack_from("!H", p, 2)[0]
        if 20 <= ihl <= len(p):
            p[10:12] = b"\x00\x00"
            p[10:12] = ref_checksum(bytes(p[:ihl])).to_bytes(2, "big")
            src, dst, start, end = bytes(p[12:16]), bytes(p[16:20]), ihl, min(total, len(p))
        else:
            return
    elif p[0] >> 4 == 6 and len(p) >= 40:
        src, dst, start = bytes(p[8:24]), bytes(p[24:40]), 40
        end = min(40 + struct.unpack_from("!H", p, 4)[0], len(p))
    else:
        return
    if end - start >= 20:
        seg = bytearray(p[start:end])
        seg[16:18] = b"\x00\x00"
        ck = ref_checksum(ref_pseudo_header(src, dst, len(seg)) + bytes(seg))
        p[start + 16:start + 18] = ck.to_bytes(2, "big")


MUTATION = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10_000)),
    st.tuples(st.just("truncate"), st.integers(0, 10_000)),
    st.tuples(st.just("set"), st.integers(0, 10_000), st.integers(0, 255)),
    st.tuples(st.just("insert"), st.integers(0, 10_000), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.integers(0, 10_000), st.integers(1, 8)),
)


def mutate(p: bytearray, m: tuple) -> None:
    if not p:
        return
    kind, at = m[0], m[1] % (len(p) * (8 if m[0] == "flip" else 1))
    if kind == "flip":
        p[at // 8] ^= 1 << (at % 8)
    elif kind == "truncate":
        del p[at:]
    elif kind == "set":
        p[at] = m[2]
    elif kind == "insert":
        p[at:at] = m[2]
    else:
        del p[at:at + m[2]]


@settings(max_examples=400)
@given(ADDR_PAIRS, segments(), st.lists(MUTATION, min_size=1, max_size=4), st.booleans())
def test_mutated_packets_raise_only_malformed_packet(addrs, seg, mutations, fix):
    src, dst = addrs
    p = bytearray(emit_packet(src, dst, seg))
    for m in mutations:
        mutate(p, m)
    if fix:
        fix_checksums(p)  # get past the checksums to the structural checks behind them
    only_malformed(bytes(p))


@settings(max_examples=300)
@given(segments(), st.lists(MUTATION, min_size=1, max_size=3))
def test_mutated_tcp_with_fixed_checksum_parses_or_raises_malformed(seg, mutations):
    p = bytearray(emit_tcp(seg, A4, B4))
    for m in mutations:
        mutate(p, m)
    if len(p) >= 18:
        p[16:18] = b"\x00\x00"
        pseudo = ref_pseudo_header(bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]), len(p))
        p[16:18] = ref_checksum(pseudo + bytes(p)).to_bytes(2, "big")
    with contextlib.suppress(MalformedPacket):
        parse_tcp(bytes(p), A4, B4)


# --- whatever parses can be emitted again, and settles after one round ---------------------

@settings(max_examples=400)
@given(TCP_LIKE)
def test_anything_that_parses_re_emits_to_a_fixed_point(data):
    try:
        seg = parse_tcp(data, A4, B4, verify=False)
    except MalformedPacket:
        return
    once = emit_tcp(seg, A4, B4)         # never raises ValueError for a parsed segment
    seg2 = parse_tcp(once, A4, B4)
    twice = emit_tcp(seg2, A4, B4)
    assert once == twice
    assert typed(parse_tcp(twice, A4, B4)) == typed(seg2)
    assert seg2.payload == seg.payload and seg2.flags == seg.flags


# --- the checksum catches every single-bit error -------------------------------------------------

@settings(max_examples=60)
@given(ADDR_PAIRS, segments(max_payload=40))
def test_every_single_bit_flip_in_a_segment_fails_the_checksum(addrs, seg):
    src, dst = addrs
    wire = emit_tcp(seg, src, dst)
    for bit in range(len(wire) * 8):
        bad = bytearray(wire)
        bad[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(MalformedPacket) as e:
            parse_tcp(bytes(bad), src, dst)
        assert e.value.reason == "bad-checksum"


@settings(max_examples=40)
@given(st.tuples(st.ip_addresses(v=4).map(str), st.ip_addresses(v=4).map(str)), segments(max_payload=24))
def test_every_single_bit_flip_in_an_ipv4_packet_is_rejected(addrs, seg):
    src, dst = addrs
    packet = emit_packet(src, dst, seg)
    for bit in range(len(packet) * 8):
        bad = bytearray(packet)
        bad[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(MalformedPacket):
            parse_packet(bytes(bad))


@settings(max_examples=40)
@given(st.tuples(st.ip_addresses(v=6).map(str), st.ip_addresses(v=6).map(str)), segments(max_payload=24))
def test_every_single_bit_flip_in_ipv6_addresses_or_tcp_is_rejected(addrs, seg):
    # IPv6 has no header checksum: Traffic Class, Flow Label and Hop Limit are unprotected;
    # the addresses are covered through the TCP pseudo-header.
    src, dst = addrs
    packet = emit_packet(src, dst, seg)
    for bit in range(8 * 8, len(packet) * 8):
        bad = bytearray(packet)
        bad[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(MalformedPacket):
            parse_packet(bytes(bad))
