"""IP packets of either version, and TCP-in-IP packets: what links carry and hosts exchange.

``parse_ip`` dispatches on the version nibble; ``emit_ip`` chooses IPv4 or IPv6 from the
form of the addresses. ``parse_packet``/``emit_packet`` add the TCP segment, computing or
checking its checksum over the matching pseudo-header (RFC 9293 §3.1 MUST-2, MUST-3).
Every header value has ``.src``, ``.dst``, ``.proto``, ``.ttl`` and ``.version``.
"""

from __future__ import annotations

from typing import Union

from . import tcp as _tcp
from .checksum import address_info
from .errors import MalformedPacket
from .ipv4 import IPv4Header, _ipv4_header, parse_ipv4
from .ipv6 import IPv6Header, _ipv6_header, parse_ipv6
from .tcp import TcpSegment

__all__ = ["IpHeader", "PROTO_TCP", "parse_ip", "emit_ip", "parse_packet", "emit_packet"]

PROTO_TCP = 6

IpHeader = Union[IPv4Header, IPv6Header]

_parse_tcp = _tcp._parse
_emit_tcp = _tcp._emit


def parse_ip(packet: bytes) -> tuple[IpHeader, bytes]:
    """Parse an IPv4 or IPv6 packet into ``(header, upper-layer payload)``."""
    if type(packet) is not bytes:
        packet = bytes(packet)
    if not packet:
        raise MalformedPacket("truncated-ip-header", "empty packet")
    v = packet[0] >> 4
    if v == 4:
        return parse_ipv4(packet)
    if v == 6:
        return parse_ipv6(packet)
    raise MalformedPacket("bad-ip-version", f"IP version {v}")


def emit_ip(src: str, dst: str, proto: int, payload: bytes, ttl: int = 64) -> bytes:
    """Build an IP packet; IPv4 or IPv6 follows the address form. ``ValueError`` on misuse."""
    s = address_info(src)
    d = address_info(dst)
    if s[2] != d[2]:
        raise ValueError(f"address families differ: {src!r} -> {dst!r}")
    if s[2] == 4:
        return _ipv4_header(s[0], d[0], proto, len(payload), ttl, 0, 0, True, b"") + payload
    return _ipv6_header(s[0], d[0], proto, len(payload), ttl, 0, 0, ()) + payload


def parse_packet(packet: bytes) -> tuple[IpHeader, TcpSegment]:
    """Parse an IP packet carrying TCP into ``(header, segment)``, verifying both checksums.

    A packet for another protocol raises ``MalformedPacket("not-tcp")``.
    """
    hdr, payload = parse_ip(packet)
    if hdr.proto != PROTO_TCP:
        raise MalformedPacket("not-tcp", f"IP protocol {hdr.proto}")
    # The header's text addresses came from the packed-address cache, so these lookups hit.
    return hdr, _parse_tcp(payload, address_info(hdr.src)[1] + address_info(hdr.dst)[1], True)


def emit_packet(src: str, dst: str, seg: TcpSegment, ttl: int = 64) -> bytes:
    """Encode ``seg`` inside an IP packet from ``src`` to ``dst`` (DF set for IPv4)."""
    s = address_info(src)
    d = address_info(dst)
    if s[2] != d[2]:
        raise ValueError(f"address families differ: {src!r} -> {dst!r}")
    body = _emit_tcp(seg, s[1] + d[1])
    if s[2] == 4:
        return _ipv4_header(s[0], d[0], PROTO_TCP, len(body), ttl, 0, 0, True, b"") + body
    return _ipv6_header(s[0], d[0], PROTO_TCP, len(body), ttl, 0, 0, ()) + body
