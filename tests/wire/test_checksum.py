"""The Internet checksum (RFC 1071) and the TCP pseudo-header (RFC 9293 §3.1, RFC 8200 §8.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synack.wire import checksum
from synack.wire.checksum import (
    address_info, address_pair, address_text, fold, internet_checksum, ones_sum, pack_address,
    pseudo_header_sum, pseudo_header_v4, pseudo_header_v6,
)
from wire_strategies import V4, V6, ref_checksum, ref_pseudo_header


@pytest.mark.parametrize("desc, data, expected", [
    ("empty input sums to ones'-complement zero", b"", 0xFFFF),
    ("all-zero words", b"\x00\x00\x00\x00", 0xFFFF),
    ("RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2",
     bytes.fromhex("0001f203f4f5f6f7"), (~0xDDF2) & 0xFFFF),
    ("odd length pads a zero octet on the right", b"\x01", (~0x0100) & 0xFFFF),
    ("a sum of 0xFFFF (negative zero) gives 0", b"\xff\xff", 0x0000),
    ("words that sum to 0x1FFFE fold to 0xFFFF", b"\xff\xff\xff\xff", 0x0000),
    ("end-around carry: ffff + 0001 = 0001", b"\xff\xff\x00\x01", 0xFFFE),
    ("IPv4 header from RFC 791 style example", bytes.fromhex("45000073000040004011" "0000" "c0a80001c0a800c7"),
     0xB861),
])
def test_checksum_vectors(desc, data, expected):
    assert internet_checksum(data) == expected == ref_checksum(data)


@given(st.binary(max_size=2000), st.integers(0, 0x3FFFF))
def test_checksum_matches_the_word_by_word_reference(data, initial):
    assert internet_checksum(data, initial) == ref_checksum(data, initial)


@given(st.lists(st.sampled_from([b"\x00\x00", b"\xff\xff", b"\x00\x01", b"\xff\xfe", b"\x80\x00"]), max_size=40),
       st.sampled_from([0, 0xFFFF, 0x1FFFE, 1]))
def test_checksum_zero_and_negative_zero_edge_cases(words, initial):
    # Inputs built from 0x0000/0xFFFF words are where a "mod 0xFFFF" shortcut goes wrong.
    data = b"".join(words)
    assert internet_checksum(data, initial) == ref_checksum(data, initial)


@given(st.binary(max_size=600))
def test_appending_the_checksum_verifies_to_zero(data):
    if len(data) % 2:
        data += b"\x00"
    ck = internet_checksum(data)
    assert internet_checksum(data + ck.to_bytes(2, "big")) == 0


@given(st.binary(max_size=600))
def test_ones_sum_is_congruent_to_the_word_sum(data):
    padded = data + b"\x00" * (len(data) % 2)
    words = sum(int.from_bytes(padded[i:i + 2], "big") for i in range(0, len(padded), 2))
    assert ones_sum(data) % 0xFFFF == words % 0xFFFF
    assert (ones_sum(data) == 0) == (words == 0)
    assert fold(ones_sum(data)) == fold(words)


def test_fold_keeps_zero_and_negative_zero_apart():
    assert fold(0) == 0
    assert fold(0xFFFF) == 0xFFFF
    assert fold(0x1FFFE) == 0xFFFF
    assert fold(0x10000) == 1


@given(V4, V4, st.integers(0, 255), st.integers(0, 0xFFFF))
def test_ipv4_pseudo_header_matches_figure_2(src, dst, proto, length):
    s, d = pack_address(src), pack_address(dst)
    raw = pseudo_header_v4(s, d, proto, length)
    assert raw == ref_pseudo_header(s, d, length, proto) and len(raw) == 12
    assert internet_checksum(b"", pseudo_header_sum(s, d, proto, length)) == ref_checksum(raw)


@given(V6, V6, st.integers(0, 255), st.integers(0, 0xFFFFFFFF))
def test_ipv6_pseudo_header_matches_rfc_8200(src, dst, proto, length):
    s, d = pack_address(src), pack_address(dst)
    raw = pseudo_header_v6(s, d, proto, length)
    assert raw == ref_pseudo_header(s, d, length, proto) and len(raw) == 40
    assert internet_checksum(b"", pseudo_header_sum(s, d, proto, length)) == ref_checksum(raw)


@pytest.mark.parametrize("text, packed, version", [
    ("10.0.0.1", bytes([10, 0, 0, 1]), 4),
    ("255.255.255.255", b"\xff" * 4, 4),
    ("fd00::1", bytes.fromhex("fd000000000000000000000000000001"), 6),
    ("::", bytes(16), 6),
])
def test_address_conversion_and_caches(text, packed, version):
    assert pack_address(text) == packed
    assert address_info(text)[2] == version
    assert address_text(packed)[0] == text
    assert address_pair(packed + packed)[:2] == (text, text)


@pytest.mark.parametrize("bad", ["", "10.0.0", "10.0.0.256", "fd00:::1", "host.example", "010.0.0.1"])
def test_bad_text_addresses_raise_value_error(bad):
    with pytest.raises(ValueError):
        pack_address(bad)


def test_address_caches_are_bounded():
    for i in range(checksum._CACHE_LIMIT + 10):
        pack_address(f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}")
    assert len(checksum._by_text) <= checksum._CACHE_LIMIT
    assert pack_address("10.0.0.1") == bytes([10, 0, 0, 1])
