"""The out-of-order receive queue (RFC 9293 §3.10.7.4 SHLD-31), on absolute stream offsets.

Offsets are plain ints, not :class:`~synack.wire.seq.Seq`: offset 0 is the first data octet
after the SYN, and the connection converts at the TCB edge (STYLE rule 6). Segments that
arrive beyond RCV.NXT are held here until the gap before them is filled.

The queue is a sorted list of ``(start, bytearray)`` blocks that neither overlap nor touch:
an insert merges every block it overlaps or is adjacent to, and each octet is stored once
(octets already held win over a retransmission's copy). Extending a block at its end grows
its bytearray in place, so filling a long queue segment by segment stays linear.

Memory is bounded by ``limit`` (octets held in total) and by ``max_segments``, the number of
pieces held apart (segments that overlap or touch coalesce into one piece, as in Linux's
out-of-order queue; so a peer that sends many tiny segments each after a hole is what the
bound stops). An insert that would go over either is refused whole: nothing is stored,
:meth:`Reassembly.add` returns ``False`` and :attr:`Reassembly.refused` says which bound
bit, so the caller can count and trace the drop; the peer retransmits. Only the newest
arrival is refused: what is held stays held, and a segment that fills a hole or extends a
piece is always taken while the octets fit. An empty queue holds no list at all, so an idle
connection pays only for the object itself.

Work per segment is bounded: an insert, a lookup (:meth:`Reassembly.block_at`,
:meth:`Reassembly.overlap`, :meth:`Reassembly.last`) and a pop find their place by binary
search, O(log n) in the pieces held, and touch only the pieces they merge (each piece is
merged away once). The list insertion itself moves pointers in C (a memmove bounded by
``max_segments``). Nothing on the per-segment path walks the whole queue; only
:meth:`Reassembly.blocks` (for views and tests) does.
"""

from __future__ import annotations

from bisect import bisect_right
from operator import itemgetter

_start = itemgetter(0)


class Reassembly:
    """Out-of-order octets keyed by absolute stream offset: at most ``limit`` octets held, in
    at most ``max_segments`` pieces (None: no bound on pieces)."""

    __slots__ = ("limit", "max_segments", "refused", "_held", "_blocks")

    def __init__(self, limit: int, max_segments: int | None = None) -> None:
        if not isinstance(limit, int) or limit < 0:
            raise ValueError(f"limit must be a non-negative int, got {limit!r}")
        if max_segments is not None and (not isinstance(max_segments, int) or max_segments < 1):
            raise ValueError(f"max_segments must be a positive int or None, got {max_segments!r}")
        self.limit = limit
        self.max_segments = max_segments
        #: why the last refused insert was refused: "octets" or "segments" ("" before any)
        self.refused = ""
        self._held = 0
        # None while empty (allocation-free idle connections); else sorted (start, bytearray).
        self._blocks: list[tuple[int, bytearray]] | None = None

    # -- queries --------------------------------------------------------------------------
    @property
    def held(self) -> int:
        """Octets held in total."""
        return self._held

    def __len__(self) -> int:
        """Octets held (same as :attr:`held`)."""
        return self._held

    def __bool__(self) -> bool:
        return self._held != 0

    def blocks(self) -> list[tuple[int, int]]:
        """The held ranges as ``(start, end)`` offsets, end exclusive, in ascending order.

        These are the SACK blocks' raw material (RFC 2018); ordering them most recent first
        is the SACK module's business.
        """
        if not self._blocks:
            return []
        return [(s, s + len(d)) for s, d in self._blocks]

    def first_start(self) -> int | None:
        """Offset of the lowest held octet, or ``None`` when empty."""
        return self._blocks[0][0] if self._blocks else None

    @property
    def segments(self) -> int:
        """Pieces held apart (what ``max_segments`` bounds)."""
        return len(self._blocks) if self._blocks else 0

    def block_at(self, start: int, end: int | None = None) -> tuple[int, int] | None:
        """The held piece that overlaps octets [start, end) (end defaults to start + 1), as
        ``(start, end)``; the lowest one if several do; None if none. O(log n)."""
        blocks = self._blocks
        if not blocks:
            return None
        if end is None:
            end = start + 1
        i = bisect_right(blocks, start, key=_start) - 1
        if i >= 0:
            s, d = blocks[i]
            if s + len(d) > start:
                return (s, s + len(d))
        i += 1
        if i < len(blocks) and blocks[i][0] < end:
            s, d = blocks[i]
            return (s, s + len(d))
        return None

    def overlap(self, start: int, end: int) -> tuple[int, tuple[int, int] | None]:
        """How many of octets [start, end) are held, and the first run of them (or None).
        O(log n) plus the pieces the range covers."""
        blocks = self._blocks
        if not blocks or end <= start:
            return 0, None
        i = bisect_right(blocks, start, key=_start) - 1
        if i < 0 or blocks[i][0] + len(blocks[i][1]) <= start:
            i += 1
        covered = 0
        first = None
        n = len(blocks)
        while i < n:
            s, d = blocks[i]
            if s >= end:
                break
            e = s + len(d)
            lo = s if s > start else start
            hi = e if e < end else end
            if first is None:
                first = (lo, hi)
            covered += hi - lo
            i += 1
        return covered, first

    def last(self, k: int) -> list[tuple[int, int]]:
        """The ``k`` highest held pieces as ``(start, end)``, highest first. O(k)."""
        blocks = self._blocks
        if not blocks or k <= 0:
            return []
        return [(s, s + len(d)) for s, d in blocks[: -k - 1 : -1]]

    # -- updates --------------------------------------------------------------------------
    def add(self, start: int, data: bytes | bytearray | memoryview, rcv_nxt: int) -> bool:
        """Hold the part of ``data`` (which begins at offset ``start``) at or beyond ``rcv_nxt``.

        Returns ``True`` when the octets are held (or there was nothing new to hold), and
        ``False``, storing nothing, when holding them would exceed ``limit``. Octets already
        held below ``rcv_nxt`` are discarded first.
        """
        if start < 0 or rcv_nxt < 0:
            raise ValueError(f"offsets must not be negative, got start={start}, rcv_nxt={rcv_nxt}")
        end = start + len(data)
        if end <= rcv_nxt or end == start:
            return True  # empty, or an old duplicate: nothing new
        blocks = self._blocks
        if blocks and blocks[0][0] < rcv_nxt:
            self._trim(rcv_nxt)
            blocks = self._blocks
        mv = memoryview(data)
        if start < rcv_nxt:
            mv = mv[rcv_nxt - start :]
            start = rcv_nxt
        if blocks is None:
            if end - start > self.limit:
                self.refused = "octets"
                return False
            self._blocks = [(start, bytearray(mv))]
            self._held = end - start
            return True

        # Blocks i..j-1 overlap or touch [start, end).
        i = bisect_right(blocks, start, key=_start) - 1
        if i < 0 or blocks[i][0] + len(blocks[i][1]) < start:
            i += 1
        j = bisect_right(blocks, end, key=_start)
        if i < j:
            ustart = min(start, blocks[i][0])
            last_s, last_d = blocks[j - 1]
            uend = max(end, last_s + len(last_d))
            already = 0
            for k in range(i, j):
                already += len(blocks[k][1])
        else:
            ustart, uend, already = start, end, 0
        added = (uend - ustart) - already
        if added == 0:
            return True  # every octet is already held
        if self._held + added > self.limit:
            self.refused = "octets"
            return False
        if i == j and self.max_segments is not None and len(blocks) >= self.max_segments:
            self.refused = "segments"  # a piece apart from all the others, one too many
            return False

        if i < j and blocks[i][0] <= start:
            acc = blocks[i][1]  # extend the first block in place
            pos = ustart + len(acc)
            k = i + 1
        else:
            acc = bytearray()
            pos = start
            k = i
        for bs, bd in blocks[k:j]:
            if pos < bs:
                acc += mv[pos - start : bs - start]
            acc += bd
            pos = bs + len(bd)
        if pos < end:
            acc += mv[pos - start :]
        blocks[i:j] = [(ustart, acc)]
        self._held += added
        return True

    def pop(self, rcv_nxt: int) -> bytes:
        """Remove and return the octets held contiguously from ``rcv_nxt``.

        Octets below ``rcv_nxt`` are discarded. Returns ``b""`` when the first held octet is
        beyond ``rcv_nxt`` (the gap is still open) or nothing is held.
        """
        if not self._blocks:
            return b""
        if self._blocks[0][0] < rcv_nxt:
            self._trim(rcv_nxt)
            if not self._blocks:
                return b""
        blocks = self._blocks
        s, d = blocks[0]
        if s != rcv_nxt:
            return b""
        del blocks[0]
        self._held -= len(d)
        if not blocks:
            self._blocks = None
        return bytes(d)

    def clear(self) -> None:
        """Drop everything held (e.g. when the connection is reset)."""
        self._blocks = None
        self._held = 0

    def _trim(self, rcv_nxt: int) -> None:
        """Discard held octets below ``rcv_nxt``."""
        blocks = self._blocks
        if not blocks:
            return
        drop = 0
        while drop < len(blocks) and blocks[drop][0] + len(blocks[drop][1]) <= rcv_nxt:
            self._held -= len(blocks[drop][1])
            drop += 1
        if drop:
            del blocks[:drop]
        if blocks and blocks[0][0] < rcv_nxt:
            s, d = blocks[0]
            cut = rcv_nxt - s
            del d[:cut]
            blocks[0] = (rcv_nxt, d)
            self._held -= cut
        if not blocks:
            self._blocks = None

    def __repr__(self) -> str:
        return (f"Reassembly(limit={self.limit}, max_segments={self.max_segments}, held={self._held}, "
                f"segments={self.segments})")
