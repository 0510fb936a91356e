"""Selective acknowledgments: the receiver's SACK blocks (RFC 2018, D-SACK RFC 2883) and the
sender's scoreboard (RFC 6675).

Both sides work on absolute stream offsets (plain ints), never on sequence numbers (STYLE
rule 6): the connection converts at the TCB edge. Offsets grow without wrapping, so ``<``
is safe here.

Receiver (:class:`SackReceiver`)
    Remembers which out-of-order blocks it reported most recently and which duplicate
    (if any) the next ACK must report, and builds the SACK option's blocks from the
    reassembly queue (RFC 2018 §4): the block holding the segment that triggered the ACK
    first, then the most recently reported blocks that still exist. A duplicate segment is
    reported once, as a D-SACK block in first place, followed by the queue block that
    contains it if there is one (RFC 2883 §4).

Sender (:class:`Scoreboard`)
    One :class:`SegmentRecord` per segment sent and not yet cumulatively acknowledged, in
    sequence order: ``start``, ``end`` (exclusive; a FIN counts one octet), ``sent_at`` (the
    last transmission), ``flags``, ``order`` (numbering transmissions, so that two sent
    at the same instant still have a first and a second, which RACK's "sent after" needs)
    and ``mss``. A TSO super-segment (many wire segments of ``mss`` octets, split by the
    link) is one record until loss recovery needs to tell its pieces apart: a SACK block
    that covers part of it splits it at wire-segment boundaries (as Linux's
    ``tcp_fragment`` does), and so does a retransmission of part of it; the pieces keep
    the transmission's time and order. ``flags`` has
    ``SACKED`` (the receiver holds it), ``LOST`` (deemed lost: by RFC 6675 IsLost, by RACK,
    or by an RTO), ``RETRANS`` (a retransmission of it is in flight since it was last
    marked lost, or it was retransmitted without being lost) and ``EVER_RTX``. The RFC
    6675 quantities follow from the flags, the way Linux counts them:

        pipe = sum over records not SACKED of  len * ((not LOST) + (RETRANS))

    which is RFC 6675 SetPipe(): an octet counts once if it is not lost, and once more if
    it was retransmitted (is at or below HighRxt).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from operator import attrgetter
from typing import Protocol

__all__ = ["SACKED", "LOST", "RETRANS", "EVER_RTX", "DUPTHRESH", "SackReceiver", "SegmentRecord",
           "Scoreboard", "is_dsack"]

SACKED, LOST, RETRANS, EVER_RTX = 1, 2, 4, 8
#: DupThresh (RFC 6675 §2, RFC 5681 §3.2): three duplicate ACKs.
DUPTHRESH = 3



# ==========================================================================================
# Receiver
# ==========================================================================================

class SackReceiver:
    """The data receiver's SACK state (RFC 2018 §4, RFC 2883 §4), on absolute offsets.

    Building the blocks of one ACK costs O(log n) in the pieces the reassembly queue holds:
    at most 8 remembered blocks are looked up by binary search (``block_at``), and only the
    few highest pieces are read when a block was never reported (``last``)."""

    __slots__ = ("recent", "dsack")

    def __init__(self) -> None:
        #: blocks in the order they were most recently reported or received, newest first
        self.recent: list[tuple[int, int]] = []
        #: a duplicate range the next ACK reports as a D-SACK block (RFC 2883), or None
        self.dsack: tuple[int, int] | None = None

    def arrived(self, start: int, end: int) -> None:
        """Out-of-order octets [start, end) just arrived: the next ACK's first block is the
        queue block holding them (RFC 2018 §4: "the segment which triggered this ACK")."""
        recent = self.recent
        recent.insert(0, (start, end))
        if len(recent) > 8:
            del recent[8:]

    def duplicate(self, start: int, end: int) -> None:
        """Octets [start, end) arrived again: report them once as a D-SACK block (RFC 2883
        §4 (1)-(3)). A later duplicate replaces an unreported earlier one."""
        if start < end:
            self.dsack = (start, end)

    def blocks(self, held: HeldBlocks | list, max_blocks: int) -> list[tuple[int, int]]:
        """The SACK blocks for the ACK being built, at most ``max_blocks`` (4, or 3 beside
        the timestamps option). ``held`` is the reassembly queue (or a list of its disjoint
        (start, end) ranges above RCV.NXT, in ascending order). A pending D-SACK block is
        consumed (RFC 2883 §4 (2): each duplicate is reported in one ACK)."""
        q: HeldBlocks = _ListBlocks(held) if isinstance(held, list) else held
        out: list[tuple[int, int]] = []
        d = self.dsack
        if d is not None:
            self.dsack = None
            out.append(d)
            h = q.block_at(d[0], d[1])
            if h is not None and h != d:
                out.append(h)  # RFC 2883 §4 (4): the larger block holding the duplicate
        reported: list[tuple[int, int]] = []
        for s, e in self.recent:
            if len(out) >= max_blocks:
                break
            h = q.block_at(s, e)
            if h is None or h in reported:
                continue
            reported.append(h)
            if h not in out:
                out.append(h)
        # Blocks never reported yet (none in the usual order of events): newest offsets first.
        if len(out) < max_blocks:
            for h in q.last(max_blocks + len(reported) + len(out)):
                if len(out) >= max_blocks:
                    break
                if h not in reported and h not in out:
                    reported.append(h)
                    out.append(h)
        self.recent = reported
        return out


class HeldBlocks(Protocol):
    """What :meth:`SackReceiver.blocks` asks of the reassembly queue."""

    def block_at(self, start: int, end: int | None = None) -> tuple[int, int] | None: ...

    def last(self, k: int) -> list[tuple[int, int]]: ...


class _ListBlocks:
    """A sorted list of disjoint (start, end) ranges, seen as a reassembly queue."""

    __slots__ = ("held",)

    def __init__(self, held: list) -> None:
        self.held = held

    def block_at(self, start: int, end: int | None = None) -> tuple[int, int] | None:
        return _containing(self.held, start, start + 1 if end is None else end)

    def last(self, k: int) -> list[tuple[int, int]]:
        return list(reversed(self.held[-k:])) if k > 0 else []


def _containing(held: list, s: int, e: int) -> tuple[int, int] | None:
    """The held block overlapping [s, e), or None (blocks are sorted and disjoint)."""
    i = bisect_right(held, (s, 1 << 62)) - 1
    if i >= 0 and held[i][1] > s:
        return held[i]
    if i + 1 < len(held) and held[i + 1][0] < e:
        return held[i + 1]
    return None


# ==========================================================================================
# Sender
# ==========================================================================================

def is_dsack(blocks: list, una: int) -> bool:
    """Does the first SACK block report a duplicate (RFC 2883 §4): it lies below the
    cumulative ACK, or inside the second block?"""
    if not blocks:
        return False
    s, e = blocks[0]
    if e <= una:
        return True
    if len(blocks) > 1:
        s2, e2 = blocks[1]
        return s2 <= s and e <= e2
    return False


class SegmentRecord:
    """One segment on the RFC 6675 scoreboard: octets [start, end) as stream offsets."""

    __slots__ = ("start", "end", "sent_at", "flags", "order", "mss")

    def __init__(self, start: int, end: int, sent_at: int, flags: int = 0, order: int = 0, mss: int = 0) -> None:
        #: first octet (absolute stream offset)
        self.start = start
        #: the octet after the last (a FIN counts one)
        self.end = end
        #: when it was last (re)transmitted, ns
        self.sent_at = sent_at
        #: SACKED, LOST, RETRANS, EVER_RTX
        self.flags = flags
        #: the number of that transmission, counting every one of the connection
        self.order = order
        #: octets of data per wire segment when the record is a super-segment the link
        #: splits (its pieces' boundaries); 0: one segment
        self.mss = mss

    def __repr__(self) -> str:
        names = "|".join(n for bit, n in ((SACKED, "SACKED"), (LOST, "LOST"), (RETRANS, "RETRANS"),
                                          (EVER_RTX, "EVER_RTX")) if self.flags & bit)
        return f"SegmentRecord({self.start}:{self.end} at {self.sent_at} #{self.order} {names or '-'})"


_start = attrgetter("start")


class Scoreboard:
    """RFC 6675 scoreboard over segment records (see the module docstring)."""

    __slots__ = ("segs", "sacked_bytes", "nsacked", "high_sacked")

    def __init__(self) -> None:
        self.segs: list[SegmentRecord] = []
        #: octets SACKed above the cumulative ACK, and in how many records
        self.sacked_bytes = 0
        self.nsacked = 0
        #: end of the highest SACKed octet ever (RFC 6675's "highest octet covered by a SACK")
        self.high_sacked = 0

    def __len__(self) -> int:
        return len(self.segs)

    def __repr__(self) -> str:
        return f"Scoreboard({self.segs!r})"

    # -- updates -----------------------------------------------------------------------
    def sent(self, start: int, end: int, ts: int, order: int = 0, mss: int = 0) -> None:
        """A new segment [start, end) left at ``ts`` (the ``order``-th transmission); ``mss``:
        it is a super-segment of wire segments of that size."""
        self.segs.append(SegmentRecord(start, end, ts, 0, order, mss))

    def _split(self, i: int, at: int) -> SegmentRecord:
        """Cut record ``i`` at offset ``at`` (start < at < end); returns the second piece,
        which follows it. Both keep the transmission's time, order and flags."""
        r = self.segs[i]
        q = SegmentRecord(at, r.end, r.sent_at, r.flags, r.order, r.mss)
        r.end = at
        self.segs.insert(i + 1, q)
        if r.flags & SACKED:
            self.nsacked += 1
        return q

    def split(self, r: SegmentRecord, at: int) -> SegmentRecord:
        """Cut record ``r`` at offset ``at`` (start < at < end); returns the second piece."""
        return self._split(bisect_left(self.segs, r.start, key=_start), at)

    def retransmitted(self, start: int, end: int, ts: int, order: int = 0) -> int:
        """[start, end) was sent again at ``ts``: mark the records it covers, splitting a
        record only part of which was sent again. Returns the octets so marked."""
        segs = self.segs
        i = bisect_right(segs, start, key=_start) - 1
        if i < 0:
            i = 0
        elif segs[i].start < start < segs[i].end:
            self._split(i, start)
            i += 1
        n = 0
        while i < len(segs):
            r = segs[i]
            if r.start >= end:
                break
            if r.end > start:
                if r.end > end:
                    self._split(i, end)
                r.sent_at = ts
                r.order = order
                r.flags |= RETRANS | EVER_RTX
                n += r.end - r.start
            i += 1
        return n

    def advance(self, una: int) -> list[SegmentRecord]:
        """The cumulative ACK moved to ``una``: drop the records below it and return those
        that were not SACKed before (newly delivered). A record ACKed in part keeps its
        unacknowledged tail."""
        segs = self.segs
        k = 0
        n = len(segs)
        while k < n and segs[k].end <= una:
            k += 1
        gone = segs[:k]
        if k:
            del segs[:k]
            for r in gone:
                if r.flags & SACKED:
                    self.sacked_bytes -= r.end - r.start
                    self.nsacked -= 1
            gone = [r for r in gone if not r.flags & SACKED]
        if segs and segs[0].start < una:
            segs[0].start = una
        return gone

    def advance_plain(self, una: int) -> tuple[SegmentRecord | None, int]:
        """advance() when nothing is SACKed: drop the records below ``una``; returns the
        highest record wholly acknowledged (or None) and the octets newly delivered."""
        segs = self.segs
        k = 0
        for r in segs:
            if r.end > una:
                break
            k += 1
        delivered = 0
        last = None
        if k:
            last = segs[k - 1]
            delivered = last.end - segs[0].start
            del segs[:k]
        if segs and segs[0].start < una:
            delivered += una - segs[0].start
            segs[0].start = una
        return last, delivered

    def sack(self, blocks: list, una: int) -> list[SegmentRecord]:
        """Mark the records wholly inside SACK blocks (absolute (start, end) pairs) as
        SACKED. A super-segment that a block covers in part is split at the boundaries of
        the wire segments the block covers whole (so at most two cuts per block, and
        never finer than the wire segments); blocks at or below ``una`` (D-SACK) and
        segments covered in part are left alone. Returns the newly SACKed records."""
        segs = self.segs
        new = []
        for s, e in blocks:
            if e <= una or e <= s:
                continue
            i = bisect_left(segs, s, key=_start)
            if i:
                r = segs[i - 1]
                m = r.mss
                if m and r.end > s and not r.flags & SACKED:
                    # The block starts inside a super-segment: cut at the first wire
                    # segment boundary at or after its start.
                    cut = r.start + -(-(s - r.start) // m) * m
                    if cut < r.end and cut < e:
                        self._split(i - 1, cut)
            while i < len(segs):
                r = segs[i]
                if r.end > e:
                    m = r.mss
                    if not m or r.start >= e or r.flags & SACKED:
                        break
                    # The block ends inside a super-segment: cut after the last wire
                    # segment it covers whole.
                    cut = r.start + (e - r.start) // m * m
                    if cut <= r.start:
                        break
                    self._split(i, cut)
                if not r.flags & SACKED:
                    r.flags = (r.flags | SACKED) & ~(LOST | RETRANS)
                    self.sacked_bytes += r.end - r.start
                    self.nsacked += 1
                    if r.end > self.high_sacked:
                        self.high_sacked = r.end
                    new.append(r)
                i += 1
        return new

    def renege(self) -> bool:
        """If the receiver discarded SACKed data (the record at SND.UNA is SACKed), forget
        every SACK (RFC 2018 §8, RFC 6675 §5.1). Returns True if it did."""
        segs = self.segs
        if not segs or not segs[0].flags & SACKED:
            return False
        for r in segs:
            r.flags &= ~SACKED
        self.sacked_bytes = 0
        self.nsacked = 0
        self.high_sacked = 0
        return True

    def mark_all_lost(self, ts_now: int) -> None:
        """After a retransmission timeout every record not SACKed is lost (RFC 6675 §5.1,
        RFC 8985 §6.3 for the RTO case)."""
        for r in self.segs:
            if not r.flags & SACKED:
                r.flags = (r.flags | LOST) & ~RETRANS

    # -- RFC 6675 §4 -------------------------------------------------------------------
    def is_lost(self, seq: int, smss: int, dupthresh: int = DUPTHRESH) -> bool:
        """IsLost(SeqNum): DupThresh SACKed segments lie above ``seq``, or more than
        (DupThresh - 1) * SMSS SACKed octets do."""
        count = octets = 0
        for r in reversed(self.segs):
            if r.end <= seq:
                break
            if r.flags & SACKED and r.start >= seq:
                count += 1
                octets += r.end - r.start
                if count >= dupthresh or octets > (dupthresh - 1) * smss:
                    return True
        return False

    def mark_lost(self, high_rxt: int, smss: int, dupthresh: int = DUPTHRESH) -> int:
        """Mark LOST every record that IsLost() says is lost and that was not retransmitted
        in this recovery (start >= HighRxt): the candidates of NextSeg() rule (1). Returns
        how many records were newly marked."""
        segs = self.segs
        count = octets = 0
        for i in range(len(segs) - 1, -1, -1):
            r = segs[i]
            if r.flags & SACKED:
                count += 1
                octets += r.end - r.start
                continue
            if count >= dupthresh or octets > (dupthresh - 1) * smss:
                marked = 0
                for j in range(i, -1, -1):
                    q = segs[j]
                    if q.start < high_rxt:
                        break
                    if not q.flags & (SACKED | LOST):
                        q.flags |= LOST
                        marked += 1
                return marked
        return 0

    def pipe(self) -> int:
        """RFC 6675 SetPipe(): octets estimated to be in the network."""
        p = 0
        for r in self.segs:
            f = r.flags
            if f & SACKED:
                continue
            n = r.end - r.start
            if not f & LOST:
                p += n
            if f & RETRANS:
                p += n
        return p

    def next_lost(self) -> SegmentRecord | None:
        """NextSeg() rule (1): the first record marked lost and not yet retransmitted."""
        for r in self.segs:
            if r.flags & (LOST | RETRANS | SACKED) == LOST:
                return r
        return None

    def next_rule3(self, high_rxt: int) -> SegmentRecord | None:
        """NextSeg() rule (3): the first record not SACKed, not yet retransmitted, above
        HighRxt and below the highest SACKed octet."""
        hs = self.high_sacked
        for r in self.segs:
            if r.start >= hs:
                return None
            if r.start >= high_rxt and not r.flags & (SACKED | RETRANS):
                return r
        return None

    def last_unsacked(self) -> SegmentRecord | None:
        """The highest record not SACKed (NextSeg() rule (4), the tail loss probe)."""
        for r in reversed(self.segs):
            if not r.flags & SACKED:
                return r
        return None

    def lost_pending(self) -> bool:
        """Is any record waiting to be retransmitted?"""
        return self.next_lost() is not None
