"""ICMP (RFC 792) and ICMPv6 (RFC 4443) messages as values, and their wire format.

TCP acts on ICMP *errors* (RFC 9293 §3.9.2.2 MUST-54): each carries the start of the
datagram that caused it, and the TCP header inside (ports and sequence number) names the
connection. :func:`parse_icmp` turns an ICMP message into an :class:`IcmpMessage` whose
``orig`` is that embedded datagram as an :class:`Embedded` value (``None`` for messages
that are not errors, such as echo). :func:`emit_icmp_error` builds a whole IP packet
carrying an error about a given packet, as a router or a host would send it; the
simulator and the hosts use it to answer too-big packets and closed ports.

Only what TCP needs is decoded. Checksums are verified (ICMPv4 over the message, ICMPv6
with the RFC 8200 §8.1 pseudo-header); the embedded IP header is *not* checked, since the
sender includes the datagram as it saw it. Malformed input raises
:class:`~synack.wire.errors.MalformedPacket` and nothing else.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from .checksum import address_info, address_text, pseudo_header_sum
from .errors import MalformedPacket
from .ip import IpHeader, _parse_ip, emit_ip
from .seq import Seq

__all__ = [
    "PROTO_ICMP", "PROTO_ICMPV6", "Embedded", "IcmpMessage", "parse_icmp", "parse_icmp_packet",
    "emit_icmp", "emit_icmp_error", "is_error",
    # ICMPv4 types and codes (RFC 792, RFC 1191)
    "DEST_UNREACH", "SOURCE_QUENCH", "REDIRECT", "TIME_EXCEEDED", "PARAM_PROBLEM", "ECHO_REPLY",
    "ECHO_REQUEST", "NET_UNREACH", "HOST_UNREACH", "PROTO_UNREACH", "PORT_UNREACH", "FRAG_NEEDED",
    "SOURCE_ROUTE_FAILED", "ADMIN_PROHIBITED",
    # ICMPv6 types and codes (RFC 4443)
    "V6_DEST_UNREACH", "V6_PACKET_TOO_BIG", "V6_TIME_EXCEEDED", "V6_PARAM_PROBLEM",
    "V6_ECHO_REQUEST", "V6_ECHO_REPLY", "V6_NO_ROUTE", "V6_ADMIN_PROHIBITED", "V6_BEYOND_SCOPE",
    "V6_ADDR_UNREACH", "V6_PORT_UNREACH",
]

PROTO_ICMP = 1
PROTO_ICMPV6 = 58

# ICMPv4 (RFC 792; code 4 carries the next-hop MTU, RFC 1191 §4).
ECHO_REPLY, DEST_UNREACH, SOURCE_QUENCH, REDIRECT, ECHO_REQUEST = 0, 3, 4, 5, 8
TIME_EXCEEDED, PARAM_PROBLEM = 11, 12
NET_UNREACH, HOST_UNREACH, PROTO_UNREACH, PORT_UNREACH, FRAG_NEEDED, SOURCE_ROUTE_FAILED = 0, 1, 2, 3, 4, 5
ADMIN_PROHIBITED = 13  # RFC 1812 §5.2.7.1 "communication administratively prohibited"

# ICMPv6 (RFC 4443 §3).
V6_DEST_UNREACH, V6_PACKET_TOO_BIG, V6_TIME_EXCEEDED, V6_PARAM_PROBLEM = 1, 2, 3, 4
V6_ECHO_REQUEST, V6_ECHO_REPLY = 128, 129
V6_NO_ROUTE, V6_ADMIN_PROHIBITED, V6_BEYOND_SCOPE, V6_ADDR_UNREACH, V6_PORT_UNREACH = 0, 1, 2, 3, 4

_ERRORS_V4 = frozenset((DEST_UNREACH, SOURCE_QUENCH, REDIRECT, TIME_EXCEEDED, PARAM_PROBLEM))
_ERRORS_V6 = frozenset((V6_DEST_UNREACH, V6_PACKET_TOO_BIG, V6_TIME_EXCEEDED, V6_PARAM_PROBLEM))

#: IPv6 extension headers with the generic layout (RFC 8200 §4), and the Fragment header.
_V6_SKIPPABLE = frozenset((0, 43, 60))
_V6_FRAGMENT = 44

#: How much of the offending datagram an error carries: RFC 1812 §4.3.2.3 (the whole error
#: within 576 octets) and RFC 4443 §2.4 (c) (within the IPv6 minimum MTU, 1280).
_QUOTE_V4 = 576 - 20 - 8
_QUOTE_V6 = 1280 - 40 - 8

_HDR = struct.Struct("!BBHI")
_PORTS_SEQ = struct.Struct("!HHI")


class Embedded(NamedTuple):
    """The start of the datagram an ICMP error is about: its addresses, upper-layer
    protocol, and (for TCP and UDP) ports; ``seq`` is the TCP sequence number, or None."""

    src: str
    dst: str
    proto: int
    src_port: int
    dst_port: int
    seq: Seq | None


class IcmpMessage(NamedTuple):
    """One ICMP or ICMPv6 message. ``info`` is the 32-bit field after the checksum: the
    next-hop MTU (v4 Fragmentation Needed, low 16 bits; v6 Packet Too Big), the pointer of
    a Parameter Problem, or identifier and sequence of an echo. ``orig`` is the offending
    datagram for error messages, None otherwise; ``body`` is everything after ``info``."""

    version: int
    type: int
    code: int
    info: int = 0
    orig: Embedded | None = None
    body: bytes = b""

    @property
    def mtu(self) -> int | None:
        """The MTU of a v4 Fragmentation Needed (RFC 1191 §4) or v6 Packet Too Big
        (RFC 4443 §3.2); None for other messages (0 from an RFC 792-era router)."""
        if self.version == 4:
            return self.info & 0xFFFF if self.type == DEST_UNREACH and self.code == FRAG_NEEDED else None
        return self.info if self.type == V6_PACKET_TOO_BIG else None


def is_error(version: int, type_: int) -> bool:
    """True for the ICMP types that report a problem with a datagram (they quote it)."""
    return type_ in (_ERRORS_V4 if version == 4 else _ERRORS_V6)


def _embedded(data: bytes, start: int, version: int) -> Embedded:
    """The quoted datagram in ``data[start:]``: IP header (v4 or v6, with v6 extension
    headers) followed by at least the first 8 octets of its payload (RFC 792 p. 4)."""
    n = len(data)
    if start >= n:
        raise MalformedPacket("truncated-icmp", "the error quotes no datagram")
    v = data[start] >> 4
    if v != version:
        raise MalformedPacket("bad-icmp-quote", f"an ICMPv{version} error quotes an IPv{v} datagram")
    if v == 4:
        if n - start < 20:
            raise MalformedPacket("truncated-icmp", "quoted IPv4 header shorter than 20 octets")
        ihl = (data[start] & 0x0F) << 2
        if ihl < 20:
            raise MalformedPacket("bad-icmp-quote", f"quoted IHL {ihl >> 2} is below 5")
        proto = data[start + 9]
        frag = (data[start + 6] << 8 | data[start + 7]) & 0x1FFF
        src = address_text(data[start + 12:start + 16])[0]
        dst = address_text(data[start + 16:start + 20])[0]
        off = start + ihl
    else:
        if n - start < 40:
            raise MalformedPacket("truncated-icmp", "quoted IPv6 header shorter than 40 octets")
        proto = data[start + 6]
        src = address_text(data[start + 8:start + 24])[0]
        dst = address_text(data[start + 24:start + 40])[0]
        off = start + 40
        frag = 0
        while proto in _V6_SKIPPABLE or proto == _V6_FRAGMENT:
            if off + 8 > n:
                raise MalformedPacket("truncated-icmp", f"quoted extension header {proto} is cut off")
            if proto == _V6_FRAGMENT:
                frag = (data[off + 2] << 8 | data[off + 3]) >> 3
                nxt, off = data[off], off + 8
            else:
                nxt, off = data[off], off + ((data[off + 1] + 1) << 3)
            proto = nxt
    if frag:
        # Not the first fragment: it holds no transport header (RFC 5927 §4.1 cannot demux).
        return Embedded(src, dst, proto, 0, 0, None)
    if off + 8 > n:
        raise MalformedPacket("truncated-icmp", "the quote holds fewer than 8 octets of the transport header")
    sport, dport, seqn = _PORTS_SEQ.unpack_from(data, off)
    return Embedded(src, dst, proto, sport, dport, Seq(seqn) if proto == 6 else None)


def parse_icmp(data: bytes, src: str, dst: str, version: int) -> IcmpMessage:
    """Parse an ICMP (``version`` 4) or ICMPv6 (6) message that travelled ``src`` -> ``dst``.

    The checksum is verified (RFC 792; RFC 4443 §2.3 with the pseudo-header). Reasons
    raised: ``truncated-icmp``, ``bad-icmp-checksum``, ``bad-icmp-quote``.
    """
    if type(data) is not bytes:
        data = bytes(data)
    n = len(data)
    if n < 8:
        raise MalformedPacket("truncated-icmp", f"{n} octets, an ICMP header needs 8")
    if version == 4:
        initial = 0
    elif version == 6:
        initial = pseudo_header_sum(address_info(src)[0], address_info(dst)[0], PROTO_ICMPV6, n)
    else:
        raise ValueError(f"version must be 4 or 6, not {version!r}")
    # Ones'-complement sum over the message (and pseudo-header) is zero when it verifies.
    if ((initial << 8) + int.from_bytes(data, "little")) % 0xFFFF:
        raise MalformedPacket("bad-icmp-checksum", f"ICMPv{version} checksum does not verify")
    typ, code, _ck, info = _HDR.unpack_from(data)
    orig = _embedded(data, 8, version) if is_error(version, typ) else None
    return IcmpMessage(version, typ, code, info, orig, data[8:])


def parse_icmp_packet(packet: bytes) -> tuple[IpHeader, IcmpMessage]:
    """Parse an IP packet carrying ICMP or ICMPv6 into ``(header, message)``.

    A packet for another protocol raises ``MalformedPacket("not-icmp")``; the IP layer's
    own reasons (``truncated-ip-header``, ``fragment``, ...) pass through.
    """
    hdr, payload, _ = _parse_ip(packet)
    if hdr.mf or hdr.frag_offset:
        raise MalformedPacket("fragment", "a fragment: to be reassembled before it is read as ICMP")
    want = PROTO_ICMP if hdr.version == 4 else PROTO_ICMPV6
    if hdr.proto != want:
        raise MalformedPacket("not-icmp", f"IP protocol {hdr.proto}")
    return hdr, parse_icmp(payload, hdr.src, hdr.dst, hdr.version)


def emit_icmp(src: str, dst: str, type_: int, code: int, info: int = 0, body: bytes = b"",
              ttl: int = 64) -> bytes:
    """A whole IP packet carrying one ICMP (IPv4 addresses) or ICMPv6 (IPv6) message."""
    version = address_info(src)[2]
    if not (0 <= type_ <= 255 and 0 <= code <= 255 and 0 <= info <= 0xFFFFFFFF):
        raise ValueError(f"ICMP field out of range (type {type_}, code {code}, info {info})")
    n = 8 + len(body)
    if version == 4:
        initial = 0
        proto = PROTO_ICMP
    else:
        initial = pseudo_header_sum(address_info(src)[0], address_info(dst)[0], PROTO_ICMPV6, n)
        proto = PROTO_ICMPV6
    msg = _HDR.pack(type_, code, 0, info) + body
    total = (initial << 8) + int.from_bytes(msg, "little")
    ck = -((total % 0xFFFF) << 8) % 0xFFFF  # as in tcp.py: the residue of -(word sum)
    msg = _HDR.pack(type_, code, ck, info) + body
    return emit_ip(src, dst, proto, msg, ttl)


def emit_icmp_error(src: str, offending: bytes, type_: int, code: int, info: int = 0,
                    ttl: int = 64) -> bytes:
    """An ICMP error from ``src`` about the IP packet ``offending``, sent back to that
    packet's source and quoting as much of it as RFC 1812 §4.3.2.3 / RFC 4443 §2.4 allow.

    For v4 Fragmentation Needed pass the next-hop MTU as ``info`` (RFC 1191 §4 puts it in
    the low 16 bits); for v6 Packet Too Big the MTU is the whole ``info``.
    ``ValueError`` if ``offending`` is not an IP packet of ``src``'s family.
    """
    if not offending:
        raise ValueError("offending packet is empty")
    v = offending[0] >> 4
    if v == 4 and len(offending) >= 20:
        back_to = address_text(offending[12:16])[0]
        quote = offending[:_QUOTE_V4]
    elif v == 6 and len(offending) >= 40:
        back_to = address_text(offending[8:24])[0]
        quote = offending[:_QUOTE_V6]
    else:
        raise ValueError("offending packet is not an IPv4 or IPv6 packet")
    if address_info(src)[2] != v:
        raise ValueError(f"an IPv{v} packet gets an ICMP error from an IPv{v} address, not {src!r}")
    return emit_icmp(src, back_to, type_, code, info, quote, ttl)
