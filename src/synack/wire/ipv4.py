"""IPv4 headers (RFC 791 §3.1) as values, and their wire format.

synack does not reassemble IP fragments: a fragment (MF set or a non-zero fragment
offset) is reported as ``MalformedPacket("fragment")``. IPv4 options are kept as raw
bytes and not interpreted.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from .checksum import address_info, address_text
from .errors import MalformedPacket

__all__ = ["IPv4Header", "parse_ipv4", "emit_ipv4"]

_HDR = struct.Struct("!BBHHHBBH4s4s")
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
    version = 4  # class attribute, not a field


def parse_ipv4(packet: bytes) -> tuple[IPv4Header, bytes]:
    """Parse an IPv4 packet into its header and payload (RFC 791 §3.1).

    Octets beyond Total Length (link-layer padding) are ignored.
    """
    n = len(packet)
    if n < 20:
        raise MalformedPacket("truncated-ip-header", f"{n} octets, an IPv4 header needs 20")
    ver_ihl, tos, total, ident, frag, ttl, proto, _cksum, src, dst = _HDR.unpack_from(packet)
    if ver_ihl >> 4 != 4:
        raise MalformedPacket("bad-ip-version", f"version {ver_ihl >> 4} in an IPv4 parser")
    hlen = (ver_ihl & 0xF) * 4
    if hlen < 20:
        raise MalformedPacket("bad-ihl", f"IHL {hlen // 4} is below 5")
    if hlen > n:
        raise MalformedPacket("truncated-ip-header", f"IHL says {hlen} octets, buffer has {n}")
    if total < hlen or total > n:
        raise MalformedPacket("bad-ip-length", f"total length {total}, header {hlen}, buffer {n}")
    # The header checksum verifies to a ones'-complement zero (0xFFFF sum); the version
    # nibble makes the plain sum non-zero, so "congruent to 0 mod 0xFFFF" is exact.
    if _from_bytes(packet[:hlen], "big") % 0xFFFF:
        raise MalformedPacket("bad-ip-checksum", "IPv4 header checksum does not verify")
    if frag & (_MF | _OFFSET_MASK):
        raise MalformedPacket("fragment", "IP fragments are not reassembled")
    hdr = _tuple_new(IPv4Header, (
        address_text(src)[0], address_text(dst)[0], proto, ttl, tos, ident, bool(frag & _DF),
        total, hlen, packet[20:hlen] if hlen > 20 else b"",
    ))
    return hdr, packet[hlen:total]


def _ipv4_header(src_packed: bytes, dst_packed: bytes, proto: int, payload_len: int,
                 ttl: int, tos: int, ident: int, df: bool, options: bytes) -> bytes:
    """The IPv4 header octets, with a valid header checksum."""
    olen = len(options)
    if olen & 3 or olen > 40:
        raise ValueError(f"IPv4 options must be a multiple of 4 octets, at most 40 (got {olen})")
    hlen = 20 + olen
    total = hlen + payload_len
    if total > 0xFFFF:
        raise ValueError(f"IPv4 total length {total} exceeds 65535")
    ver_ihl = 0x40 | (hlen >> 2)
    frag = _DF if df else 0
    try:
        h = _HDR.pack(ver_ihl, tos, total, ident, frag, ttl, proto, 0, src_packed, dst_packed)
    except struct.error as e:
        raise ValueError(f"IPv4 field out of range (ttl {ttl}, tos {tos}, ident {ident}, proto {proto})") from e
    if olen:
        h += options
    r = _from_bytes(h, "big") % 0xFFFF  # never 0: the version nibble is set
    ck = 0xFFFF - r
    return h[:10] + ck.to_bytes(2, "big") + h[12:]


def emit_ipv4(src: str, dst: str, proto: int, payload: bytes, ttl: int = 64, tos: int = 0,
              ident: int = 0, df: bool = True, options: bytes = b"") -> bytes:
    """Build an IPv4 packet around ``payload``; ``ValueError`` for out-of-range fields."""
    s = address_info(src)
    d = address_info(dst)
    if s[2] != 4 or d[2] != 4:
        raise ValueError(f"emit_ipv4 needs IPv4 addresses, got {src!r} -> {dst!r}")
    return _ipv4_header(s[0], d[0], proto, len(payload), ttl, tos, ident, df, options) + payload
