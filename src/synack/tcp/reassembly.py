"""The out-of-order receive queue (RFC 9293 §3.10.7.4 SHLD-31), on absolute stream offsets.

Offsets are plain ints, not :class:`~synack.wire.seq.Seq`: offset 0 is the first data octet
after the SYN, and the connection converts at the TCB edge (STYLE rule 6). Segments that
arrive beyond RCV.NXT are held here until the gap before them is filled.

The queue is a sorted list of ``(start, bytearray)`` blocks that neither overlap nor touch:
an insert merges every block it overlaps or is adjacent to, and each octet is stored once
(octets already held win over a retransmission's copy). Extending a block at its end grows
its bytearray in place, so filling a long queue segment by segment stays linear.

Memory is bounded by ``limit`` (octets held in total). An insert that would go over it is
refused whole: nothing is stored and :meth:`Reassembly.add` returns ``False``, so the caller
can trace the drop; the peer retransmits. An empty queue holds no list at all, so an idle
connection pays only for the object itself.
"""

from __future__ import annotations

from bisect import bisect_right
from operator import itemgetter

_start = itemgetter(0)


class Reassembly:
    """Out-of-order octets keyed by absolute stream offset, at most ``limit`` held."""

    __slots__ = ("limit", "_held", "_blocks")

    def __init__(self, limit: int) -> None:
        if not isinstance(limit, int) or limit < 0:
            raise ValueError(f"limit must be a non-negative int, got {limit!r}")
        self.limit = limit
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

    # -- updates --------------------------------------------------------------------------
    def add(self, start: int, data: bytes, rcv_nxt: int) -> bool:
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
        return f"Reassembly(limit={self.limit}, held={self._held}, blocks={self.blocks()})"
