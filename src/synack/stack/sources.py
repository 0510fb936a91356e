"""Which source addresses a connection may come from (RFC 9293 §3.9.2.3 MUST-63, RFC 1122
§3.2.1.3).

A SYN, or any segment that matches no connection, from a source no host can have is
ignored: no SYN,ACK, no reset, no half-open entry. Answering it would send a SYN,ACK or an
RST to a whole subnet (broadcast), to a group (multicast), to nobody (0.0.0.0), to
ourselves (a loopback address arriving from outside, or our own address: the LAND attack,
where every answer comes straight back as a new segment). Such sources are:

* multicast (224.0.0.0/4, ff00::/8), the limited broadcast 255.255.255.255, the
  broadcast address of a subnet the host is on (when its address was given with a
  prefix, "10.0.0.2/24"), and the unspecified address (0.0.0.0, ::);
* a loopback address (127.0.0.0/8, ::1), unless the segment is addressed to one: only
  the host itself sends from there;
* one of the host's own addresses, unless the host itself opened the connection the
  segment answers (a connection to its own address, whose SYN comes back to it).

Segments *to* a broadcast or multicast address never get this far: the host drops
everything not addressed to one of its own unicast addresses (RFC 9293 §3.9.2.3 MUST-57).
"""

from __future__ import annotations

import ipaddress

from ..wire.checksum import address_info

__all__ = ["SourceCheck"]

_CACHE_MAX = 4096
_ZERO4, _ONES4 = bytes(4), b"\xff" * 4


class SourceCheck:
    """``why(src, dst)``: why ``src`` cannot open a connection to ``dst``, or None."""

    __slots__ = ("own", "broadcasts", "_seen")

    def __init__(self, own: frozenset[str], broadcasts: frozenset[str] = frozenset()) -> None:
        #: the host's own addresses (normal text form)
        self.own = own
        #: the broadcast addresses of the subnets the host is on
        self.broadcasts = broadcasts
        # address text -> the reason it is invalid ("" when valid); bounded, since spoofed
        # sources can be anything
        self._seen: dict[str, str] = {}

    def why(self, src: str, dst: str) -> str | None:
        """The reason a segment from ``src`` to ``dst`` (one of ours) must be ignored, or None."""
        if src in self.own:
            return "own address (LAND)"
        seen = self._seen
        why = seen.get(src)
        if why is None:
            why = self._classify(src)
            if len(seen) >= _CACHE_MAX:
                seen.clear()
            seen[src] = why
        if why == "loopback" and _is_loopback(dst):
            return None
        return why or None

    def _classify(self, src: str) -> str:
        try:
            packed, _, version = address_info(src)  # (cached, and shared with the answer's encoding)
        except ValueError:
            return "not an address"
        if version == 4:
            # (a spoofing flood brings a new IPv4 source with every SYN: no ipaddress object)
            first = packed[0]
            if 224 <= first <= 239:
                return "multicast"
            if packed == _ZERO4:
                return "unspecified"
            if packed == _ONES4:
                return "limited broadcast"
            if src in self.broadcasts:
                return "subnet broadcast"
            return "loopback" if first == 127 else ""
        try:
            a = ipaddress.ip_address(src)
        except ValueError:
            return "not an address"
        if a.is_multicast:
            return "multicast"
        if a.is_unspecified:
            return "unspecified"
        if a.version == 4 and int(a) == 0xFFFFFFFF:
            return "limited broadcast"
        if src in self.broadcasts:
            return "subnet broadcast"
        if a.is_loopback:
            return "loopback"
        return ""


def _is_loopback(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr).is_loopback
    except ValueError:
        return False
