"""Sequence numbers modulo 2**32 (RFC 9293 §3.4): arithmetic and comparison across the wrap."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synack.wire.seq import HALF, MOD, Seq, seq

U32 = st.integers(0, MOD - 1)
# Distances a sequence comparison can resolve unambiguously: |d| < 2**31.
DIST = st.integers(-(HALF - 1), HALF - 1)


# --- construction and arithmetic ------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (0, 0), (MOD - 1, MOD - 1), (MOD, 0), (MOD + 5, 5), (-1, MOD - 1), (-MOD, 0),
])
def test_construction_wraps_modulo_2_32(value, expected):
    assert int(Seq(value)) == expected
    assert int(seq(value)) == expected


def test_adding_wraps_and_stays_a_seq():
    s = Seq(MOD - 2) + 5
    assert type(s) is Seq and int(s) == 3
    assert type(5 + Seq(MOD - 2)) is Seq and int(5 + Seq(MOD - 2)) == 3


def test_subtracting_an_int_wraps_and_stays_a_seq():
    s = Seq(3) - 5
    assert type(s) is Seq and int(s) == MOD - 2


@pytest.mark.parametrize("a, b, d", [
    (10, 3, 7),
    (3, 10, -7),
    (2, MOD - 3, 5),            # a just after the wrap, b just before it
    (MOD - 3, 2, -5),
    (0, 0, 0),
    (HALF - 1, 0, HALF - 1),    # the largest forward distance
    (HALF, 0, -HALF),           # exactly half the space away reads as behind
])
def test_seq_minus_seq_is_the_signed_distance(a, b, d):
    assert Seq(a) - Seq(b) == d
    assert type(Seq(a) - Seq(b)) is int
    assert Seq(a).dist(Seq(b)) == d


@given(U32, DIST)
def test_distance_inverts_addition(a, d):
    assert (Seq(a) + d) - Seq(a) == d
    assert (Seq(a) + d).dist(Seq(a)) == d


# --- ordering -------------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["__lt__", "__le__", "__gt__", "__ge__"])
def test_plain_ordering_operators_raise_type_error(op):
    with pytest.raises(TypeError):
        getattr(Seq(1), op)(Seq(2))


def test_plain_less_than_raises_even_against_an_int():
    with pytest.raises(TypeError):
        Seq(1) < 2  # noqa: B015
    with pytest.raises(TypeError):
        Seq(1) >= Seq(0)  # noqa: B015
    with pytest.raises(TypeError):
        sorted([Seq(2), Seq(1)])


def test_equality_and_hash_are_those_of_int():
    assert Seq(5) == 5 and Seq(MOD + 5) == Seq(5) and hash(Seq(5)) == hash(5)
    assert Seq(5) != Seq(6)


@pytest.mark.parametrize("a, b", [
    (1, 2),
    (MOD - 1, 0),              # across the wrap
    (MOD - 10, 10),
    (0, HALF - 1),             # the farthest "later" value
])
def test_modular_predicates_across_the_wrap(a, b):
    x, y = Seq(a), Seq(b)
    assert x.lt(y) and x.le(y) and not x.gt(y) and not x.ge(y)
    assert y.gt(x) and y.ge(x) and not y.lt(x) and not y.le(x)
    assert x.max(y) == y and x.min(y) == x and y.max(x) == y and y.min(x) == x


def test_equal_values_are_le_and_ge_but_not_lt_or_gt():
    for v in (0, 1, HALF, MOD - 1):
        x = Seq(v)
        assert x.le(Seq(v)) and x.ge(Seq(v)) and not x.lt(Seq(v)) and not x.gt(Seq(v))


@given(U32, st.integers(1, HALF - 1))
def test_lt_matches_the_sign_of_the_distance(a, d):
    x, y = Seq(a), Seq(a) + d
    assert x.lt(y) and y.gt(x) and not y.lt(x) and not x.gt(y)
    assert y - x == d


# --- windows --------------------------------------------------------------------------------

@pytest.mark.parametrize("value, start, size, inside", [
    (100, 100, 10, True),          # left edge is in
    (109, 100, 10, True),          # last octet is in
    (110, 100, 10, False),         # right edge is out
    (99, 100, 10, False),
    (100, 100, 0, False),          # an empty window holds nothing, not even its start
    (0, 0, 0, False),
    (MOD - 1, MOD - 5, 10, True),  # window straddling the wrap
    (2, MOD - 5, 10, True),
    (5, MOD - 5, 10, False),
    (MOD - 6, MOD - 5, 10, False),
    (12345, 7, MOD, True),         # the whole space
    (6, 7, MOD, True),
    (7, 7, 1, True),
    (8, 7, 1, False),
])
def test_in_window(value, start, size, inside):
    assert Seq(value).in_window(Seq(start), size) is inside


@given(U32, U32, st.integers(0, MOD))
def test_in_window_agrees_with_distance(a, start, size):
    assert Seq(a).in_window(Seq(start), size) == ((a - start) % MOD < size)


def test_repr_and_pickle():
    assert repr(Seq(7)) == "Seq(7)"
    s = pickle.loads(pickle.dumps(Seq(MOD - 1)))
    assert type(s) is Seq and s == MOD - 1
