"""The out-of-order queue (RFC 9293 §3.10.7.4 SHLD-31) on absolute stream offsets."""

from __future__ import annotations

import tracemalloc
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synack.tcp.reassembly import Reassembly

S = bytes(range(65, 91)) * 4  # "ABC...Z" x4: offset i holds S[i]


def add(a: int, b: int, rcv_nxt: int = 0, ok: bool = True):
    """Insert S[a:b] at offset a."""
    return ("add", a, b, rcv_nxt, ok)


def pop(rcv_nxt: int, a: int, b: int):
    """Pop at rcv_nxt, expecting S[a:b]."""
    return ("pop", rcv_nxt, a, b)


# (description, limit, ops, expected blocks after the ops)
CASES = [
    ("empty queue pops nothing", 100, [pop(0, 0, 0)], []),
    ("in-order segment pops at once", 100, [add(0, 10), pop(0, 0, 10)], []),
    ("gap keeps data held", 100, [add(10, 20), pop(0, 0, 0)], [(10, 20)]),
    ("two separate holes", 100, [add(10, 20), add(30, 40)], [(10, 20), (30, 40)]),
    ("inserted out of order stays sorted", 100, [add(30, 40), add(10, 20), add(50, 55)],
     [(10, 20), (30, 40), (50, 55)]),
    ("adjacent after merges", 100, [add(10, 20), add(20, 30)], [(10, 30)]),
    ("adjacent before merges", 100, [add(20, 30), add(10, 20)], [(10, 30)]),
    ("bridge between two blocks", 100, [add(10, 20), add(30, 40), add(20, 30)], [(10, 40)]),
    ("overlap at the tail", 100, [add(10, 20), add(15, 25)], [(10, 25)]),
    ("overlap at the head", 100, [add(10, 20), add(5, 15)], [(5, 20)]),
    ("exact duplicate", 100, [add(10, 20), add(10, 20)], [(10, 20)]),
    ("duplicate inside a block", 100, [add(10, 20), add(12, 18)], [(10, 20)]),
    ("superset covers several blocks", 100,
     [add(10, 12), add(14, 16), add(18, 20), add(5, 25)], [(5, 25)]),
    ("superset overlapping ends of two blocks", 100,
     [add(10, 20), add(30, 40), add(50, 60), add(15, 35)], [(10, 40), (50, 60)]),
    ("fill the gap then pop everything", 100,
     [add(10, 20), add(20, 30), add(0, 10), pop(0, 0, 30)], []),
    ("pop only the first contiguous run", 100,
     [add(10, 20), add(30, 40), add(0, 10), pop(0, 0, 20)], [(30, 40)]),
    ("gaps filled back to front", 100,
     [add(30, 40), add(20, 30), add(10, 20), pop(0, 0, 0), add(0, 10), pop(0, 0, 40)], []),
    ("gaps filled middle first", 100,
     [add(20, 30), add(0, 5), add(40, 50), add(30, 40), add(5, 20), pop(0, 0, 50)], []),
    ("old duplicate below rcv_nxt is ignored", 100, [add(0, 10, rcv_nxt=20)], []),
    ("segment straddling rcv_nxt is trimmed", 100, [add(10, 30, rcv_nxt=20)], [(20, 30)]),
    ("pop trims held octets below rcv_nxt", 100, [add(10, 30), pop(15, 15, 30)], []),
    ("pop drops blocks wholly below rcv_nxt", 100,
     [add(10, 20), add(30, 40), pop(30, 30, 40)], []),
    ("pop below a gap after trimming", 100,
     [add(10, 20), add(30, 40), pop(25, 0, 0)], [(30, 40)]),
    ("add trims stale octets first", 100, [add(10, 20), add(40, 45, rcv_nxt=15)], [(15, 20), (40, 45)]),
    ("exactly at the limit", 20, [add(10, 20), add(30, 40)], [(10, 20), (30, 40)]),
    ("over the limit is refused whole", 15, [add(10, 20), add(30, 40, ok=False)], [(10, 20)]),
    ("first segment larger than the limit", 5, [add(10, 20, ok=False)], []),
    ("only new octets count towards the limit", 14,
     [add(10, 20), add(8, 22), add(15, 25, ok=False)], [(8, 22)]),
    ("duplicates fit at the limit", 10, [add(10, 20), add(12, 18)], [(10, 20)]),
    ("trimmed part does not count", 10, [add(0, 20, rcv_nxt=10)], [(10, 20)]),
    ("popping frees room", 10,
     [add(10, 20), add(0, 10, ok=False), add(0, 5, ok=False), pop(10, 10, 20), add(25, 35, rcv_nxt=20)],
     [(25, 35)]),
    ("zero limit holds nothing", 0, [add(10, 11, ok=False), add(0, 0)], []),
    ("empty data", 100, [add(10, 10)], []),
]


@pytest.mark.parametrize("limit, ops, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_table(limit, ops, expected):
    q = Reassembly(limit)
    for op in ops:
        if op[0] == "add":
            _, a, b, rcv_nxt, ok = op
            assert q.add(a, S[a:b], rcv_nxt) is ok, op
        else:
            _, rcv_nxt, a, b = op
            assert q.pop(rcv_nxt) == S[a:b], op
        check_invariants(q)
    assert q.blocks() == expected
    assert q.held == len(q) == sum(e - s for s, e in expected)
    assert bool(q) == bool(expected)


def check_invariants(q: Reassembly) -> None:
    blocks = q.blocks()
    assert q.held == sum(e - s for s, e in blocks)
    assert q.held <= q.limit
    for s, e in blocks:
        assert s < e
    for (_, e1), (s2, _) in pairwise(blocks):
        assert e1 < s2, "blocks must neither overlap nor touch"


def test_held_octets_are_the_right_ones():
    q = Reassembly(100)
    q.add(20, S[20:30], 0)
    q.add(5, S[5:12], 0)
    q.add(10, S[10:25], 0)
    assert q.blocks() == [(5, 30)]
    assert q.pop(5) == S[5:30]


def test_existing_octets_win_over_a_retransmission():
    q = Reassembly(100)
    q.add(10, b"abcde", 0)
    q.add(8, b"XXXXXXXXXX", 0)  # 8..18, different bytes in 10..15
    assert q.pop(8) == b"XX" + b"abcde" + b"XXX"


def test_accepts_bytes_like():
    q = Reassembly(100)
    q.add(3, bytearray(b"def"), 0)
    q.add(0, memoryview(b"abc"), 0)
    assert q.pop(0) == b"abcdef"


def test_pop_returns_bytes_and_later_adds_do_not_alias():
    q = Reassembly(100)
    q.add(0, b"abc", 0)
    out = q.pop(0)
    assert type(out) is bytes
    q.add(3, b"def", 3)
    assert out == b"abc"


def test_clear():
    q = Reassembly(100)
    q.add(10, b"x" * 10, 0)
    q.clear()
    assert not q and q.held == 0 and q.blocks() == [] and q.pop(10) == b""


def test_first_start():
    q = Reassembly(100)
    assert q.first_start() is None
    q.add(30, b"x", 0)
    q.add(10, b"y", 0)
    assert q.first_start() == 10


@pytest.mark.parametrize("limit", [-1, 1.5, None])
def test_bad_limit(limit):
    with pytest.raises(ValueError, match="limit"):
        Reassembly(limit)


def test_negative_offset():
    with pytest.raises(ValueError):
        Reassembly(10).add(-1, b"x", 0)


def test_large_queue_filled_segment_by_segment():
    # 1000 segments behind one hole, then the hole: one block, popped whole.
    q = Reassembly(10**7)
    seg = 1460
    data = bytes(i % 251 for i in range(seg * 1001))
    for k in range(1, 1001):
        assert q.add(k * seg, data[k * seg : (k + 1) * seg], 0)
    assert q.blocks() == [(seg, seg * 1001)]
    q.add(0, data[:seg], 0)
    assert q.pop(0) == data
    assert not q


def test_idle_queue_is_small_and_allocation_free():
    q = Reassembly(65535)
    assert not hasattr(q, "__dict__")
    q.add(10, b"x", 0)
    q.pop(0)
    q.pop(10)
    assert q.blocks() == []
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        qs = [Reassembly(65535) for _ in range(10_000)]
        for x in qs:
            x.pop(0)
            x.blocks()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    assert grown / len(qs) < 100


@st.composite
def stream_and_chunks(draw):
    data = draw(st.binary(min_size=1, max_size=300))
    n = len(data)
    # A partition of the stream guarantees full coverage...
    cuts = sorted(set(draw(st.lists(st.integers(1, n - 1), max_size=20)) if n > 1 else []))
    bounds = [0, *cuts, n]
    chunks = list(pairwise(bounds))
    # ...plus arbitrary overlapping extras and exact duplicates.
    extras = draw(st.lists(st.tuples(st.integers(0, n), st.integers(0, 40)), max_size=20))
    chunks += [(a, min(n, a + length)) for a, length in extras]
    chunks += draw(st.lists(st.sampled_from(chunks), max_size=5))
    order = draw(st.permutations(chunks))
    return data, order


@settings(max_examples=300, deadline=None)
@given(stream_and_chunks())
def test_random_order_reproduces_stream(case):
    data, order = case
    q = Reassembly(len(data))
    out = bytearray()
    model: set[int] = set()  # offsets held, per a trivial model
    for a, b in order:
        rcv_nxt = len(out)
        assert q.add(a, data[a:b], rcv_nxt)
        model |= {i for i in range(a, b) if i >= rcv_nxt}
        check_invariants(q)
        assert q.held == len(model)
        got = q.pop(rcv_nxt)
        out += got
        model -= set(range(rcv_nxt, rcv_nxt + len(got)))
        assert q.pop(len(out)) == b""  # everything contiguous came out at once
        check_invariants(q)
        assert q.held == len(model)
        held_offsets = {i for s, e in q.blocks() for i in range(s, e)}
        assert held_offsets == model
    assert bytes(out) == data
    assert not q and q.blocks() == []


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 60),
    st.lists(st.tuples(st.integers(0, 100), st.integers(0, 30), st.integers(0, 40)), max_size=25),
)
def test_limit_is_never_exceeded_and_refusals_store_nothing(limit, ops):
    data = bytes(i % 256 for i in range(200))
    q = Reassembly(limit)
    rcv_nxt = 0
    for a, length, advance in ops:
        rcv_nxt += advance % 5
        before = q.blocks()
        if q.add(a, data[a : a + length], rcv_nxt):
            assert q.held <= limit
        else:
            # Nothing is added; only stale octets below rcv_nxt may have been discarded.
            assert q.blocks() == [(max(s, rcv_nxt), e) for s, e in before if e > rcv_nxt]
        check_invariants(q)
        out = q.pop(rcv_nxt)
        assert out == data[rcv_nxt : rcv_nxt + len(out)]
        rcv_nxt += len(out)
