"""RFC 6528 / RFC 9293 §3.4.1 MUST-8, MUST-9, SHLD-1: ISN = M + F(4-tuple, secret)."""

from __future__ import annotations

import hashlib

import pytest

from synack.tcp.isn import FixedIsn, IsnExhausted, IsnGenerator
from synack.wire.seq import Seq

SECRET = bytes(range(16))
TUPLE = ("10.0.0.1", 40000, "10.0.0.2", 80)


def gen(secret: bytes = SECRET) -> IsnGenerator:
    return IsnGenerator(secret)


def test_golden_value():
    # F = first 4 bytes of BLAKE2b(key=secret) over len||addr||port for local then remote.
    isn = gen()(*TUPLE, 0)
    assert isn == Seq(2350057619)
    assert type(isn) is Seq
    h = hashlib.blake2b(key=SECRET, digest_size=4)
    h.update(b"\x04" + bytes([10, 0, 0, 1]) + (40000).to_bytes(2, "big"))
    h.update(b"\x04" + bytes([10, 0, 0, 2]) + (80).to_bytes(2, "big"))
    assert int(isn) == int.from_bytes(h.digest(), "big")


def test_deterministic_for_same_inputs():
    a, b = gen(), gen()
    assert a(*TUPLE, 123_456_789) == a(*TUPLE, 123_456_789) == b(*TUPLE, 123_456_789)


@pytest.mark.parametrize(
    "other",
    [
        ("10.0.0.1", 40001, "10.0.0.2", 80),  # local port
        ("10.0.0.1", 40000, "10.0.0.2", 81),  # remote port
        ("10.0.0.3", 40000, "10.0.0.2", 80),  # local address
        ("10.0.0.1", 40000, "10.0.0.4", 80),  # remote address
        ("10.0.0.2", 80, "10.0.0.1", 40000),  # the reverse direction
        ("10.0.0.1", 80, "10.0.0.2", 40000),  # ports swapped
        ("::ffff:10.0.0.1", 40000, "::ffff:10.0.0.2", 80),  # IPv4-mapped IPv6
    ],
)
def test_different_tuples_differ(other: tuple[str, int, str, int]):
    g = gen()
    assert g(*TUPLE, 0) != g(*other, 0)


def test_address_spelling_does_not_matter():
    g = gen()
    assert g("fd00::1", 1, "fd00::2", 2, 0) == g("fd00:0:0::1", 1, "FD00::0:2", 2, 0)


def test_advances_one_per_4us():
    # RFC 9293 §3.4.1 MUST-8: M ticks every 4 microseconds.
    g = gen()
    base = g(*TUPLE, 1_000_000)  # a multiple of 4000 ns
    assert g(*TUPLE, 1_000_000 + 3_999) == base
    assert g(*TUPLE, 1_000_000 + 4_000) == base + 1
    assert g(*TUPLE, 1_000_000 + 4_000 * 250) == base + 250
    assert g(*TUPLE, 1_000_000 + 4_000 * 250).dist(base) == 250


def test_different_secrets_differ():
    # RFC 9293 §3.4.1 MUST-9: F is keyed by the secret.
    assert gen(SECRET)(*TUPLE, 0) != gen(bytes(range(1, 17)))(*TUPLE, 0)
    assert gen(SECRET)(*TUPLE, 0) != gen(bytes(range(32)))(*TUPLE, 0)


def test_wraps_mod_2_32():
    g = gen()
    f = int(g(*TUPLE, 0))  # M = 0, so this is F
    assert g(*TUPLE, 4_000 * (2**32 - f)) == Seq(0)
    assert g(*TUPLE, 4_000 * (2**32 - f + 7)) == Seq(7)
    assert g(*TUPLE, 4_000 * (2**32 - f - 1)) == Seq(2**32 - 1)
    assert g(*TUPLE, 4_000 * 2**32) == Seq(f)  # a full cycle of M


@pytest.mark.parametrize("length", [0, 1, 15, 65, 100])
def test_bad_secret_length(length):
    with pytest.raises(ValueError, match="secret"):
        IsnGenerator(b"k" * length)


@pytest.mark.parametrize("length", [16, 32, 64])
def test_good_secret_lengths(length):
    assert isinstance(IsnGenerator(b"k" * length)(*TUPLE, 0), Seq)


def test_secret_must_be_bytes():
    with pytest.raises(TypeError, match="secret"):
        IsnGenerator("0123456789abcdef")  # type: ignore[arg-type]


def test_bad_port():
    with pytest.raises(ValueError, match="port"):
        gen()("10.0.0.1", 70000, "10.0.0.2", 80, 0)


def test_repr_hides_secret():
    assert SECRET.hex() not in repr(gen()) and repr(SECRET) not in repr(gen())


def test_fixed_single_value_repeats():
    f = FixedIsn(100)
    assert [f(*TUPLE, t) for t in (0, 10, 10**12)] == [Seq(100)] * 3
    assert type(f(*TUPLE, 0)) is Seq
    assert f.remaining is None


def test_fixed_sequence_in_order_then_exhausted():
    f = FixedIsn([100, 2**32 - 2])
    assert f.remaining == 2
    assert f(*TUPLE, 0) == Seq(100)
    assert f("10.0.0.9", 1, "10.0.0.8", 2, 5) == Seq(2**32 - 2)
    assert f.remaining == 0
    with pytest.raises(IsnExhausted, match="2 ISNs"):
        f(*TUPLE, 0)


@pytest.mark.parametrize("bad", [-1, 2**32, [], [1, -5], ["x"]])
def test_fixed_bad_values(bad):
    with pytest.raises(ValueError):
        FixedIsn(bad)
