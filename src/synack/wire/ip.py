"""IP packets of either version, and TCP-in-IP packets: what links carry and hosts exchange.

``parse_ip`` dispatches on the version nibble; ``emit_ip`` chooses IPv4 or IPv6 from the
form of the addresses. ``parse_packet``/``emit_packet`` add the TCP segment, computing or
checking its checksum over the matching pseudo-header (RFC 9293 §3.1 MUST-2, MUST-3).
Every header value has ``.src``, ``.dst``, ``.proto``, ``.ttl`` and ``.version``.
"""

from __future__ import annotations


from . import tcp as _tcp
from .checksum import address_info
from .errors import MalformedPacket
from .ipv4 import IPv4Header, _ipv4_header, _parse_ipv4
from .ipv6 import IPv6Header, _ipv6_header, _parse_ipv6
from .tcp import TcpSegment

__all__ = ["IpHeader", "PROTO_TCP", "parse_ip", "emit_ip", "parse_packet", "emit_packet", "ecn_of"]

PROTO_TCP = 6

IpHeader = IPv4Header | IPv6Header

_parse_tcp = _tcp._parse
_emit_tcp = _tcp._emit


def _parse_ip(packet: bytes) -> tuple[IpHeader, bytes, int]:
    """``parse_ip`` plus the word sum of the two addresses (for the TCP pseudo-header)."""
    if type(packet) is not bytes:
        packet = bytes(packet)
    if not packet:
        raise MalformedPacket("truncated-ip-header", "empty packet")
    v = packet[0] >> 4
    if v == 4:
        return _parse_ipv4(packet)
    if v == 6:
        return _parse_ipv6(packet)
    raise MalformedPacket("bad-ip-version", f"IP version {v}")


def parse_ip(packet: bytes) -> tuple[IpHeader, bytes]:
    """Parse an IPv4 or IPv6 packet into ``(header, upper-layer payload)``.

    Reasons raised: ``truncated-ip-header``, ``bad-ip-version``, ``bad-ihl``,
    ``bad-ip-length``, ``bad-ip-checksum``, ``bad-ext-header``, ``fragment``.
    """
    hdr, payload, _ = _parse_ip(packet)
    return hdr, payload


# (src, dst) -> (version, src packed, dst packed, word sum of both): one lookup per packet.
_pairs: dict[tuple[str, str], tuple[int, bytes, bytes, int]] = {}


def _pair(src: str, dst: str) -> tuple[int, bytes, bytes, int]:
    s = address_info(src)
    d = address_info(dst)
    if s[2] != d[2]:
        raise ValueError(f"address families differ: {src!r} -> {dst!r}")
    info = (s[2], s[0], d[0], s[1] + d[1])
    if len(_pairs) >= 4096:
        _pairs.clear()
    _pairs[(src, dst)] = info
    return info


def emit_ip(src: str, dst: str, proto: int, payload: bytes, ttl: int = 64) -> bytes:
    """Build an IP packet; IPv4 or IPv6 follows the address form. ``ValueError`` on misuse."""
    v, s, d, asum = _pairs.get((src, dst)) or _pair(src, dst)
    if v == 4:
        return _ipv4_header(s, d, asum, proto, len(payload), ttl, 0, 0, True, b"") + payload
    return _ipv6_header(s, d, proto, len(payload), ttl, 0, 0, ()) + payload


def parse_packet(packet: bytes, verify: bool = True) -> tuple[IpHeader, TcpSegment]:
    """Parse an IP packet carrying TCP into ``(header, segment)``, verifying both checksums.

    A packet for another protocol raises ``MalformedPacket("not-tcp")``. ``verify=False``
    skips the TCP checksum (RFC 9293 §3.1 MUST-3 requires it; use only where the bytes are
    known intact); the IPv4 header checksum is always checked.
    """
    hdr, payload, asum = _parse_ip(packet)
    if hdr.proto != PROTO_TCP:
        raise MalformedPacket("not-tcp", f"IP protocol {hdr.proto}")
    return hdr, _parse_tcp(payload, asum, verify)


def emit_packet(src: str, dst: str, seg: TcpSegment, ttl: int = 64, ecn: int = 0) -> bytes:
    """Encode ``seg`` inside an IP packet from ``src`` to ``dst`` (DF set for IPv4).

    ``ecn`` is the ECN field (RFC 3168 §5: 0 not-ECT, 2 ECT(0), 1 ECT(1), 3 CE): the low two
    bits of the IPv4 TOS octet or of the IPv6 Traffic Class."""
    v, s, d, asum = _pairs.get((src, dst)) or _pair(src, dst)
    body = _emit_tcp(seg, asum)
    if v == 4:
        return _ipv4_header(s, d, asum, PROTO_TCP, len(body), ttl, ecn, 0, True, b"") + body
    return _ipv6_header(s, d, PROTO_TCP, len(body), ttl, ecn, 0, ()) + body


def ecn_of(hdr: IpHeader) -> int:
    """The ECN field of an IPv4 or IPv6 header (RFC 3168 §5): 3 is Congestion Experienced."""
    return (hdr.tos if isinstance(hdr, IPv4Header) else hdr.traffic_class) & 3
