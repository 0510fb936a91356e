"""Fairness on the real-time driver: a budget of packets per connection per wake-up.

A link hands the driver what arrived since the last wake-up, often dozens of packets at
once. Delivered in arrival order, a flood on one connection would go first and every other
connection's segments would wait behind it. :class:`FairBatches` takes each batch and lets
through at most ``budget`` packets of each flow (a 4-tuple, read from the IP and TCP
headers without parsing them); what is over budget waits in a backlog, in order, and goes
in the next round, which the driver runs as soon as the loop has let others in (new
packets, timers, the application). A flow's packets are never reordered: once a flow has a
backlog, its new packets queue behind it.

SYNs (SYN without ACK) are one flow per destination address and port, whatever their
source: the work a listener does for new connections gets one budget per round, like one
connection's. A SYN flood from spoofed sources, each SYN a 4-tuple of its own, then waits
behind the established connections instead of ahead of them. At most ``syn_limit`` SYNs
wait for a port; beyond them SYNs are dropped as they are read (counted), as Linux drops
what overflows its backlog when it cannot keep up: a flood the CPU cannot answer costs a
read per SYN, and the segments of established connections are not queued behind it.

The backlog is bounded (``limit`` packets in all): beyond it the newest packets are
dropped and counted, as a device queue drops what overflows it; TCP retransmits them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

__all__ = ["FairBatches", "flow_of"]

#: packets of one flow delivered per wake-up
BUDGET = 16
#: packets waiting in all, at most
LIMIT = 4096
#: SYNs waiting for one port, at most
SYN_LIMIT = 1024

_SYN, _SYN_ACK = 0x02, 0x12  # TCP flags: SYN, and the SYN and ACK bits together


def flow_of(p: bytes) -> bytes:
    """The flow a raw IP packet belongs to: addresses, protocol and (for an unfragmented
    TCP or UDP packet) ports; the addresses alone for anything else; for a TCP SYN
    without ACK, the destination address and port alone (every SYN to a listener)."""
    if not p:
        return b""
    v = p[0] >> 4
    if v == 4 and len(p) >= 20:
        ihl = (p[0] & 0xF) * 4
        if p[9] in (6, 17) and not (p[6] & 0x3F or p[7]) and len(p) >= ihl + 4:
            if p[9] == 6 and len(p) >= ihl + 14 and p[ihl + 13] & _SYN_ACK == _SYN:
                return b"S" + p[16:20] + p[ihl + 2:ihl + 4]
            return p[9:10] + p[12:20] + p[ihl:ihl + 4]
        return p[12:20]
    if v == 6 and len(p) >= 44:
        if p[6] in (6, 17):
            if p[6] == 6 and len(p) >= 54 and p[53] & _SYN_ACK == _SYN:
                return b"S" + p[24:40] + p[42:44]
            return p[6:7] + p[8:44]
        return p[8:40]
    return p[:1]


def _is_syns(key: bytes) -> bool:
    """Is ``key`` the flow of every SYN to one port (b"S" and a 4- or 16-octet address and a
    port: no other key has 7 or 19 octets)?"""
    return len(key) in (7, 19) and key[0] == 0x53


class FairBatches:
    """Per-flow budgets for batches of packets (see the module docstring)."""

    __slots__ = ("budget", "limit", "syn_limit", "_backlog", "_waiting", "dropped", "deferred")

    def __init__(self, budget: int = BUDGET, limit: int = LIMIT, syn_limit: int = SYN_LIMIT) -> None:
        if budget < 1 or limit < 0 or syn_limit < 0:
            raise ValueError(f"budget must be at least 1, limit and syn_limit not negative, not {budget}, {limit}, "
                             f"{syn_limit}")
        self.budget = budget
        self.limit = limit
        self.syn_limit = syn_limit
        self._backlog: dict[bytes, deque] = {}
        self._waiting = 0
        #: packets dropped because the backlog was full, and packets that waited a round
        self.dropped = 0
        self.deferred = 0

    @property
    def pending(self) -> int:
        """Packets waiting for a later round."""
        return self._waiting

    def take(self, packets: list | tuple = (), checksum_ok: bool | Iterable[bool] = False) -> list[tuple[bytes, bool]]:
        """This round: ``(packet, checksum_ok)`` pairs, at most ``budget`` per flow, first
        from the backlog, then from ``packets`` (a new batch, in arrival order). The rest
        waits for the next round (``take()`` with no packets)."""
        backlog = self._backlog
        oks: Iterable[bool] = (checksum_ok,) * len(packets) if type(checksum_ok) is bool else checksum_ok
        if not backlog and len(packets) <= self.budget:
            return list(zip(packets, oks, strict=False))  # (the common case: nothing to share)
        budget = self.budget
        count: dict[bytes, int] = {}
        out: list[tuple[bytes, bool]] = []
        for key in list(backlog):
            waiting = backlog[key]
            k = min(budget, len(waiting))
            for _ in range(k):
                out.append(waiting.popleft())
            self._waiting -= k
            count[key] = k
            if not waiting:
                del backlog[key]
        for p, ok in zip(packets, oks, strict=False):
            key = flow_of(p)
            q = backlog.get(key)
            if q is None:
                n = count.get(key, 0)
                if n < budget:
                    count[key] = n + 1
                    out.append((p, ok))
                    continue
                q = backlog[key] = deque()
            if self._waiting >= self.limit or (len(q) >= self.syn_limit and _is_syns(key)):
                self.dropped += 1
                continue
            q.append((p, ok))
            self._waiting += 1
            self.deferred += 1
        return out
