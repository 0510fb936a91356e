"""Bounded work per segment against a hostile peer: the out-of-order queue (RFC 9293
§3.10.7.4 SHLD-31), SACK and D-SACK blocks (RFC 2018 §4, RFC 2883 §4).

A peer that sends thousands of one-octet segments, each after a one-octet hole, must not
make each new segment cost more than the last. Work is measured without a clock: as the
number of lines of synack's code that run for one arriving segment (``sys.settrace``
counts them, and a loop over what is held counts once per turn), compared between a
queue of a few pieces and one of hundreds. Before the bound, each segment rebuilt the
whole list of held blocks for its SACK option and D-SACK check: the count grew with every
segment held.

The queue itself is bounded in octets and in pieces held apart (512 at the default
64 KiB receive buffer): the newest segment beyond the bound is dropped, counted and
traced, never SACKed, and arrives again once the holes before it are filled."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest
from optpeer import OptTcb, opt_established, sack_of

from synack.tcp.reassembly import Reassembly
from synack.tcp.receiver import ooo_segments
from synack.trace.events import SegmentDropped


def lines_run(fn: Callable[[], object]) -> int:
    """How many lines of synack's own code run during ``fn()``."""
    count = 0

    def local(frame, event, arg):  # noqa: ANN001
        nonlocal count
        if event == "line":
            count += 1
        return local

    def calls(frame, event, arg):  # noqa: ANN001
        return local if "/synack/" in frame.f_code.co_filename else None

    old = sys.gettrace()
    sys.settrace(calls)
    try:
        fn()
    finally:
        sys.settrace(old)
    return count


def flooded(isns, held: int, **kw) -> OptTcb:
    """An established connection holding ``held`` one-octet segments, each after a hole."""
    t = opt_established(isns, **kw)
    for i in range(held):
        t.peer_sends(".", seq=t.irs + 2 + 2 * i, data=b"o")
    t.drain()
    return t


def cost(t: OptTcb, send: Callable[[OptTcb], object]) -> int:
    n = lines_run(lambda: send(t))
    t.drain()
    return n


def ooo_held(t: OptTcb) -> int:
    """The pieces in the out-of-order queue (allocated with the first one)."""
    ooo = t.conn.rcv.ooo
    assert ooo is not None
    return ooo.segments


def next_piece(t: OptTcb) -> None:
    held = ooo_held(t)
    t.peer_sends(".", seq=t.irs + 2 + 2 * held, data=b"o")


def duplicate_of_a_held_piece(t: OptTcb) -> None:
    t.peer_sends(".", seq=t.irs + 2 + 2 * (ooo_held(t) // 2), data=b"o")


def piece_overlapping_two(t: OptTcb) -> None:
    t.peer_sends(".", seq=t.irs + 6, data=b"ooo")  # (covers the hole between two pieces)


def old_data(t: OptTcb) -> None:
    t.peer_sends(".", seq=t.irs - 10, data=b"0123456789")  # before RCV.NXT: a D-SACK


def in_order_octet_before_the_hole(t: OptTcb) -> None:
    t.peer_sends(".", seq=t.irs + 1, data=b"x")  # fills the first hole: delivers the first piece


ARRIVALS = {
    "a new piece after a hole": next_piece,
    "a duplicate of a held piece (D-SACK)": duplicate_of_a_held_piece,
    "a segment joining held pieces": piece_overlapping_two,
    "old data below RCV.NXT (D-SACK)": old_data,
    "the octet that fills the first hole": in_order_octet_before_the_hole,
}


@pytest.mark.parametrize("sack", [True, False], ids=["sack", "no-sack"])
@pytest.mark.parametrize("arrival", list(ARRIVALS))
def test_established_one_segment_costs_the_same_whatever_the_queue_holds(isns, arrival, sack):
    small = cost(flooded(isns, 20, sack=sack, peer_sack=sack), ARRIVALS[arrival])
    large = cost(flooded(isns, 500, sack=sack, peer_sack=sack), ARRIVALS[arrival])
    # O(log n) at most: a binary search over 500 pieces takes a few more turns than over 20
    assert large <= small + 60, f"{small} lines with 20 pieces held, {large} with 500"


def test_established_one_segment_costs_the_same_with_a_large_receive_buffer(isns):
    """With a 1 MiB buffer the bound is 8,192 pieces: 2,000 held cost what 20 do."""
    kw = {"rcv_buf": 1 << 20}
    small = cost(flooded(isns, 20, **kw), next_piece)
    large = cost(flooded(isns, 2000, **kw), next_piece)
    assert large <= small + 60, f"{small} lines with 20 pieces held, {large} with 2,000"


# ------------------------------------------------------------------ the bound on pieces
def test_ooo_segments_follow_the_buffer():
    assert ooo_segments(65535) == 511
    assert ooo_segments(1 << 20) == 8192
    assert ooo_segments(1000) == 64


def test_established_the_newest_piece_beyond_the_bound_is_dropped_counted_and_traced(isns):
    t = opt_established(isns, timestamps=False)
    bound = ooo_segments(t.conn.config.rcv_buf)
    for i in range(bound):
        t.peer_sends(".", seq=t.irs + 2 + 2 * i, data=b"o")
    t.drain()
    assert ooo_held(t) == bound
    beyond = t.irs + 2 + 2 * bound
    t.peer_sends(".", seq=beyond, data=b"!")
    ack = t.expect_sent(".", ack=t.irs + 1)  # still a duplicate ACK at once (RFC 5681 §4.2)
    assert all(int(left) != int(beyond) for left, _ in sack_of(ack)), "the dropped segment was SACKed"
    assert ooo_held(t) == bound and t.conn.rcv.ofo_drops == 1
    drops = [e for e in t.recorder.events if isinstance(e, SegmentDropped) and e.reason == "ooo-full"]
    assert len(drops) == 1 and f"{bound} pieces" in drops[0].detail

    # What joins a held piece is still taken; filling the first hole delivers everything.
    t.peer_sends(".", seq=t.irs + 3, data=b"+")  # between the first two pieces: joins them
    assert t.conn.rcv.ofo_drops == 1
    t.drain()
    t.peer_sends(".", seq=t.irs + 1, data=b"x")
    t.expect_sent(".", ack=t.irs + 5)
    assert t.receive() == b"xo+o"


def test_established_filling_every_hole_delivers_the_stream_intact(isns):
    t = opt_established(isns, timestamps=False, ooo_limit=4096)  # (a bound of 64 pieces)
    n = ooo_segments(4096) + 50  # 50 segments are dropped on the way
    data = bytes(i % 251 for i in range(2 * n + 1))
    for i in range(n):
        t.peer_sends(".", seq=t.irs + 2 + 2 * i, data=data[1 + 2 * i:2 + 2 * i])
    # The peer fills the holes from the front and sends again what was not acknowledged.
    got = b""
    for _ in range(3):
        for i in range(n):
            off = 2 * i
            t.peer_sends(".", seq=t.irs + 1 + off, data=data[off:off + 2])
        got += t.receive()
    assert got == data[:2 * n]
    assert t.conn.rcv.ofo_drops == 50


# ------------------------------------------------------------------ Reassembly, as a unit
def test_reassembly_refuses_a_piece_apart_beyond_max_segments():
    q = Reassembly(1000, max_segments=3)
    assert q.add(10, b"a", 0) and q.add(20, b"b", 0) and q.add(30, b"c", 0)
    assert not q.add(40, b"d", 0) and q.refused == "segments"
    assert q.add(11, b"a", 0)        # extends a piece
    assert q.add(12, b"x" * 8, 0)    # joins two pieces: two are left
    assert q.add(40, b"d", 0)        # and there is room again
    assert q.blocks() == [(10, 21), (30, 31), (40, 41)]
    assert not q.add(0, b"y" * 1001, 0) and q.refused == "octets"


def test_reassembly_lookups():
    q = Reassembly(1000)
    for s in (10, 20, 30):
        q.add(s, b"xy", 0)
    assert q.block_at(21) == (20, 22) and q.block_at(22) is None and q.block_at(15, 25) == (20, 22)
    assert q.overlap(11, 31) == (4, (11, 12))
    assert q.overlap(0, 10) == (0, None)
    assert q.last(2) == [(30, 32), (20, 22)] and q.last(9) == [(30, 32), (20, 22), (10, 12)]
    assert q.segments == 3


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_reassembly_max_segments_must_be_positive(bad):
    with pytest.raises(ValueError, match="max_segments"):
        Reassembly(100, max_segments=bad)
