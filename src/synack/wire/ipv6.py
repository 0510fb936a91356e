"""IPv6 headers (RFC 8200 §3) as values, and their wire format.

The parser skips the extension headers that share the generic TLV layout of RFC 8200 §4
(Hop-by-Hop Options 0, Routing 43, Destination Options 60) to reach the upper-layer
header; ``proto`` is that upper-layer protocol. Any other Next Header value (ESP, AH, No
Next Header, ...) ends the walk and becomes ``proto``. Jumbograms (RFC 2675) are not
supported.

A Fragment header (44, RFC 8200 §4.5) ends the walk too when the packet is a real
fragment: ``proto`` is the Fragment header's Next Header, ``ident``, ``frag_offset``
(octets) and ``mf`` say which piece of which datagram it is, the payload is the piece,
and ``ext_headers`` ends with ``(44, the header's last 6 octets)`` after the
unfragmentable part. Putting the pieces together is the host's work
(``synack.stack.fragments``). An *atomic* fragment (offset 0, M clear: the whole
datagram) is read on past its Fragment header, as RFC 6946 §4 requires.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from .checksum import _by_pair, address_info, address_pair
from .errors import MalformedPacket

__all__ = ["IPv6Header", "parse_ipv6", "emit_ipv6", "HOP_BY_HOP", "ROUTING", "FRAGMENT", "DEST_OPTS"]

HOP_BY_HOP, ROUTING, FRAGMENT, DEST_OPTS = 0, 43, 44, 60
_SKIPPABLE = frozenset((HOP_BY_HOP, ROUTING, DEST_OPTS))

_HDR = struct.Struct("!IHBB16s16s")
_HDR_PAIR = struct.Struct("!IHBB32s")  # both addresses as one cache key
_tuple_new = tuple.__new__
_from_bytes = int.from_bytes


class IPv6Header(NamedTuple):
    """An IPv6 header (RFC 8200 §3) plus the extension headers skipped to reach ``proto``.

    ``ext_headers`` is ``((type, data), ...)`` in wire order, where ``data`` is the
    header's octets after its Next Header and Hdr Ext Len octets (RFC 8200 §4.3).
    """

    src: str
    dst: str
    proto: int
    hop_limit: int = 64
    traffic_class: int = 0
    flow_label: int = 0
    payload_length: int = 0
    ext_headers: tuple = ()
    #: Identification of the Fragment header (RFC 8200 §4.5), 0 without one
    ident: int = 0
    #: where this piece's data starts in the datagram, in octets
    frag_offset: int = 0
    #: the M flag: more pieces of this datagram follow this one
    mf: bool = False

    @property
    def version(self) -> int:
        """6 (not a field)."""
        return 6

    @property
    def is_fragment(self) -> bool:
        """True for a piece of a larger datagram (M set or a non-zero offset)."""
        return self.mf or self.frag_offset != 0

    @property
    def ttl(self) -> int:
        """The Hop Limit, under the name IPv4 uses for it."""
        return self.hop_limit

    @property
    def next_header(self) -> int:
        """The Next Header field of the fixed header (the first extension header, if any)."""
        return self.ext_headers[0][0] if self.ext_headers else self.proto


def _parse_ipv6(packet: bytes) -> tuple[IPv6Header, bytes, int]:
    """``parse_ipv6`` plus the word sum of the two addresses (for the TCP pseudo-header)."""
    n = len(packet)
    if n < 40:
        raise MalformedPacket("truncated-ip-header", f"{n} octets, an IPv6 header needs 40")
    word0, plen, nh, hops, pair = _HDR_PAIR.unpack_from(packet)
    if word0 >> 28 != 6:
        raise MalformedPacket("bad-ip-version", f"version {word0 >> 28} in an IPv6 parser")
    end = 40 + plen
    if end > n:
        raise MalformedPacket("bad-ip-length", f"payload length {plen}, buffer has {n - 40}")
    off = 40
    ext: tuple = ()
    ident = frag_offset = 0
    mf = False
    if nh in _SKIPPABLE or nh == FRAGMENT:
        exts = []
        while nh in _SKIPPABLE or nh == FRAGMENT:
            # RFC 8200 §4.3-§4.6: Next Header, Hdr Ext Len (8-octet units beyond the first 8);
            # the Fragment header (§4.5) is 8 octets, its second one reserved.
            if off + 8 > end:
                raise MalformedPacket("bad-ext-header", f"extension header {nh} overruns the payload")
            if nh == FRAGMENT:
                word = packet[off + 2] << 8 | packet[off + 3]
                exts.append((nh, packet[off + 2:off + 8]))
                nh = packet[off]
                off += 8
                if word & 0xFFF9:  # offset or M: a piece of a larger datagram
                    frag_offset, mf = word & 0xFFF8, word & 1 == 1
                    ident = _from_bytes(packet[off - 4:off], "big")
                    break
                continue  # RFC 6946 §4: an atomic fragment is the whole datagram
            hlen = (packet[off + 1] + 1) << 3
            if off + hlen > end:
                raise MalformedPacket("bad-ext-header", f"extension header {nh} of {hlen} octets overruns the payload")
            exts.append((nh, packet[off + 2:off + hlen]))
            nh = packet[off]
            off += hlen
        ext = tuple(exts)
    src, dst, addr_sum = _by_pair.get(pair) or address_pair(pair)
    hdr = _tuple_new(IPv6Header, (
        src, dst, nh, hops, (word0 >> 20) & 0xFF, word0 & 0xFFFFF, plen, ext, ident, frag_offset, mf,
    ))
    return hdr, packet[off:end], addr_sum


def parse_ipv6(packet: bytes) -> tuple[IPv6Header, bytes]:
    """Parse an IPv6 packet into its header and upper-layer payload (RFC 8200 §3, §4).

    Octets beyond 40 + Payload Length (link-layer padding) are ignored. A fragment gives
    its header (``ident``, ``frag_offset``, ``mf``) and its piece of the datagram. Reasons
    raised: ``truncated-ip-header``, ``bad-ip-version``, ``bad-ip-length``, ``bad-ext-header``.
    """
    if type(packet) is not bytes:
        packet = bytes(packet)
    hdr, payload, _ = _parse_ipv6(packet)
    return hdr, payload


def _ipv6_header(src_packed: bytes, dst_packed: bytes, proto: int, payload_len: int,
                 hop_limit: int, traffic_class: int, flow_label: int, ext_headers: tuple) -> bytes:
    """The IPv6 header octets, followed by any extension headers."""
    if traffic_class >> 8 or traffic_class < 0:
        raise ValueError(f"traffic class {traffic_class} out of range 0..255")
    if flow_label >> 20 or flow_label < 0:
        raise ValueError(f"flow label {flow_label} out of range 0..0xFFFFF")
    ext = b""
    first = proto
    if ext_headers:
        # Build back to front so each header's Next Header names the one after it.
        nxt = proto
        for typ, data in reversed(ext_headers):
            if typ == FRAGMENT:
                # RFC 8200 §4.5: 8 octets, the second reserved; data is the last six.
                if len(data) != 6:
                    raise ValueError("a Fragment header's data is 6 octets (offset and M, identification)")
                ext = bytes((nxt, 0)) + bytes(data) + ext
                nxt = typ
                continue
            if typ not in _SKIPPABLE:
                raise ValueError(f"extension header type {typ} is not Hop-by-Hop, Routing, Fragment "
                                 "or Destination Options")
            if (len(data) + 2) % 8 or len(data) + 2 > 2048:
                raise ValueError("extension header data must make the header a multiple of 8 octets, at most 2048")
            ext = bytes((nxt, (len(data) + 2) // 8 - 1)) + data + ext
            nxt = typ
        first = nxt
    plen = len(ext) + payload_len
    if plen > 0xFFFF:
        raise ValueError(f"IPv6 payload length {plen} exceeds 65535 (jumbograms are not supported)")
    try:
        h = _HDR.pack(0x60000000 | (traffic_class << 20) | flow_label, plen, first, hop_limit,
                      src_packed, dst_packed)
    except struct.error as e:
        raise ValueError(f"IPv6 field out of range (hop limit {hop_limit}, next header {first})") from e
    return h + ext if ext else h


def emit_ipv6(src: str, dst: str, proto: int, payload: bytes, hop_limit: int = 64,
              traffic_class: int = 0, flow_label: int = 0, ext_headers: tuple = ()) -> bytes:
    """Build an IPv6 packet around ``payload``; ``ValueError`` for out-of-range fields.

    ``ext_headers`` are ``(type, data)`` pairs in wire order, as parsing gives them: types
    0, 43, 60 (``data`` makes the header a multiple of 8 octets) and 44, the Fragment
    header (``data`` is its last 6 octets: offset and M, then the identification)."""
    s = address_info(src)
    d = address_info(dst)
    if s[2] != 6 or d[2] != 6:
        raise ValueError(f"emit_ipv6 needs IPv6 addresses, got {src!r} -> {dst!r}")
    return _ipv6_header(s[0], d[0], proto, len(payload), hop_limit, traffic_class, flow_label,
                        ext_headers) + payload
