"""IPv4 headers (RFC 791 §3.1) as values, and their wire format.

A fragment (RFC 791 §3.2: More Fragments set or a non-zero Fragment Offset) parses like
any packet: ``mf`` and ``frag_offset`` (in octets) say which piece of the datagram
``ident`` it is, and the payload is that piece. Putting the pieces together is the host's
work (``synack.stack.fragments``). IPv4 options are kept as raw bytes and not interpreted.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from .checksum import _by_pair, address_info, address_pair
from .errors import MalformedPacket

__all__ = ["IPv4Header", "parse_ipv4", "emit_ipv4"]

_HDR = struct.Struct("!BBHHHBBH4s4s")
_HDR_PAIR = struct.Struct("!BBHHHBBH8s")  # both addresses as one cache key
_DF = 0x4000
_MF = 0x2000
_OFFSET_MASK = 0x1FFF
_tuple_new = tuple.__new__
_from_bytes = int.from_bytes


class IPv4Header(NamedTuple):
    """An IPv4 header (RFC 791 §3.1). ``tos`` is the whole second octet (DSCP and ECN)."""

    src: str
    dst: str
    proto: int
    ttl: int = 64
    tos: int = 0
    ident: int = 0
    df: bool = True
    total_length: int = 0
    header_length: int = 20
    options: bytes = b""
    #: More Fragments (RFC 791 §3.1): more pieces of this datagram follow this one
    mf: bool = False
    #: where this piece's data starts in the datagram, in octets (the field times 8)
    frag_offset: int = 0

    @property
    def version(self) -> int:
        """4 (not a field)."""
        return 4

    @property
    def is_fragment(self) -> bool:
        """True for a piece of a larger datagram (MF set or a non-zero offset)."""
        return self.mf or self.frag_offset != 0


def _parse_ipv4(packet: bytes) -> tuple[IPv4Header, bytes, int]:
    """``parse_ipv4`` plus the word sum of the two addresses (for the TCP pseudo-header)."""
    n = len(packet)
    if n < 20:
        raise MalformedPacket("truncated-ip-header", f"{n} octets, an IPv4 header needs 20")
    ver_ihl, tos, total, ident, frag, ttl, proto, _ck, pair = _HDR_PAIR.unpack_from(packet)
    if ver_ihl >> 4 != 4:
        raise MalformedPacket("bad-ip-version", f"version {ver_ihl >> 4} in an IPv4 parser")
    hlen = (ver_ihl & 0xF) << 2
    if hlen < 20:
        raise MalformedPacket("bad-ihl", f"IHL {hlen >> 2} is below 5")
    if hlen > n:
        raise MalformedPacket("truncated-ip-header", f"IHL says {hlen} octets, buffer has {n}")
    if total < hlen or total > n:
        raise MalformedPacket("bad-ip-length", f"total length {total}, header {hlen}, buffer {n}")
    # RFC 791 §3.1 header checksum: the header's words sum to a ones'-complement zero. The
    # version nibble makes the plain sum non-zero, so "congruent to 0 mod 0xFFFF" is exact
    # (the little-endian value is 256 times the word sum; see checksum.py).
    if _from_bytes(packet[:hlen], "little") % 0xFFFF:
        raise MalformedPacket("bad-ip-checksum", "IPv4 header checksum does not verify")
    src, dst, addr_sum = _by_pair.get(pair) or address_pair(pair)
    hdr = _tuple_new(IPv4Header, (
        src, dst, proto, ttl, tos, ident, frag & _DF != 0, total, hlen,
        packet[20:hlen] if hlen > 20 else b"", frag & _MF != 0, (frag & _OFFSET_MASK) << 3,
    ))
    return hdr, packet[hlen:total], addr_sum


def parse_ipv4(packet: bytes) -> tuple[IPv4Header, bytes]:
    """Parse an IPv4 packet into its header and payload (RFC 791 §3.1).

    Octets beyond Total Length (link-layer padding) are ignored. A fragment gives its own
    header (``mf``, ``frag_offset``) and its piece of the datagram. Reasons raised:
    ``truncated-ip-header``, ``bad-ip-version``, ``bad-ihl``, ``bad-ip-length``,
    ``bad-ip-checksum``.
    """
    if type(packet) is not bytes:
        packet = bytes(packet)
    hdr, payload, _ = _parse_ipv4(packet)
    return hdr, payload


def _ipv4_header(src_packed: bytes, dst_packed: bytes, addr_sum: int, proto: int, payload_len: int,
                 ttl: int, tos: int, ident: int, df: bool, options: bytes, mf: bool = False,
                 frag_offset: int = 0) -> bytes:
    """The IPv4 header octets, with a valid header checksum; ``addr_sum`` is the addresses' word sum."""
    hlen = 20
    if options:
        olen = len(options)
        if olen & 3 or olen > 40:
            raise ValueError(f"IPv4 options must be a multiple of 4 octets, at most 40 (got {olen})")
        hlen += olen
    total = hlen + payload_len
    if total > 0xFFFF:
        raise ValueError(f"IPv4 total length {total} exceeds 65535")
    ver_ihl = 0x40 | (hlen >> 2)
    frag = _DF if df else 0
    if mf or frag_offset:
        if frag_offset & 7 or not 0 <= frag_offset <= _OFFSET_MASK << 3:
            raise ValueError(f"fragment offset {frag_offset} is not a multiple of 8 in 0..65528")
        frag |= (_MF if mf else 0) | frag_offset >> 3
    hsum = (ver_ihl << 8 | tos) + total + ident + frag + (ttl << 8 | proto) + addr_sum
    if options:
        hsum += _from_bytes(options, "big")  # whole words: congruent to their word sum
    ck = 0xFFFF - (hsum % 0xFFFF or 0xFFFF)  # hsum > 0 (version nibble), folded sum 1..0xFFFF
    try:
        h = _HDR.pack(ver_ihl, tos, total, ident, frag, ttl, proto, ck, src_packed, dst_packed)
    except struct.error as e:
        raise ValueError(f"IPv4 field out of range (ttl {ttl}, tos {tos}, ident {ident}, proto {proto})") from e
    return h + options if options else h


def emit_ipv4(src: str, dst: str, proto: int, payload: bytes, ttl: int = 64, tos: int = 0,
              ident: int = 0, df: bool = True, options: bytes = b"", mf: bool = False,
              frag_offset: int = 0) -> bytes:
    """Build an IPv4 packet around ``payload``; ``ValueError`` for out-of-range fields.

    ``mf`` and ``frag_offset`` (octets, a multiple of 8) make it a fragment (RFC 791 §3.2)."""
    s = address_info(src)
    d = address_info(dst)
    if s[2] != 4 or d[2] != 4:
        raise ValueError(f"emit_ipv4 needs IPv4 addresses, got {src!r} -> {dst!r}")
    return _ipv4_header(s[0], d[0], s[1] + d[1], proto, len(payload), ttl, tos, ident, df, options,
                        mf, frag_offset) + payload
