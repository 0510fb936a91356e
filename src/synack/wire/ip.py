"""IP packets of either version, and TCP-in-IP packets: what links carry and hosts exchange.

``parse_ip`` dispatches on the version nibble; ``emit_ip`` chooses IPv4 or IPv6 from the
form of the addresses. ``parse_packet``/``emit_packet`` add the TCP segment, computing or
checking its checksum over the matching pseudo-header (RFC 9293 §3.1 MUST-2, MUST-3).
Every header value has ``.src``, ``.dst``, ``.proto``, ``.ttl`` and ``.version``, and
the fragment fields ``.ident``, ``.mf``, ``.frag_offset`` and ``.is_fragment``.

A fragment is a piece of a datagram: ``parse_ip`` gives its header and its piece, while
``parse_packet``, which needs a whole TCP segment, reports it as
``MalformedPacket("fragment")`` for the host to reassemble (``synack.stack.fragments``).
``fragment_packet`` cuts a packet into fragments, as a router or a sender with a small MTU
would.
"""

from __future__ import annotations


from . import tcp as _tcp
from .checksum import address_info
from .errors import MalformedPacket
from .ipv4 import IPv4Header, _ipv4_header, _parse_ipv4
from .ipv6 import IPv6Header, _ipv6_header, _parse_ipv6
from .tcp import TcpSegment

__all__ = ["IpHeader", "PROTO_TCP", "parse_ip", "emit_ip", "parse_packet", "emit_packet", "ecn_of",
           "fragment_packet"]

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

    A fragment parses too: its header says which piece it is (``mf``, ``frag_offset``,
    ``ident``) and the payload is that piece. Reasons raised: ``truncated-ip-header``,
    ``bad-ip-version``, ``bad-ihl``, ``bad-ip-length``, ``bad-ip-checksum``,
    ``bad-ext-header``.
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

    A fragment raises ``MalformedPacket("fragment")`` (reassemble it first: it holds only a
    piece of a segment); a packet for another protocol ``MalformedPacket("not-tcp")``.
    ``verify=False`` skips the TCP checksum (RFC 9293 §3.1 MUST-3 requires it; use only
    where the bytes are known intact); the IPv4 header checksum is always checked.
    """
    hdr, payload, asum = _parse_ip(packet)
    if hdr.mf or hdr.frag_offset:
        raise MalformedPacket("fragment", f"a fragment (offset {hdr.frag_offset}{', more follow' if hdr.mf else ''}) "
                                          f"of datagram {hdr.ident}: to be reassembled")
    if hdr.proto != PROTO_TCP:
        raise MalformedPacket("not-tcp", f"IP protocol {hdr.proto}")
    return hdr, _parse_tcp(payload, asum, verify)


def emit_packet(src: str, dst: str, seg: TcpSegment, ttl: int = 64, ecn: int = 0,
                partial_checksum: bool = False) -> bytes:
    """Encode ``seg`` inside an IP packet from ``src`` to ``dst`` (DF set for IPv4).

    ``ecn`` is the ECN field (RFC 3168 §5: 0 not-ECT, 2 ECT(0), 1 ECT(1), 3 CE): the low two
    bits of the IPv4 TOS octet or of the IPv6 Traffic Class. ``partial_checksum``: the TCP
    checksum field holds only the pseudo-header sum, for a link that completes it (a TUN
    device's ``NEEDS_CSUM``)."""
    v, s, d, asum = _pairs.get((src, dst)) or _pair(src, dst)
    body = _emit_tcp(seg, asum, partial_checksum)
    if v == 4:
        return _ipv4_header(s, d, asum, PROTO_TCP, len(body), ttl, ecn, 0, True, b"") + body
    return _ipv6_header(s, d, PROTO_TCP, len(body), ttl, ecn, 0, ()) + body


def ecn_of(hdr: IpHeader) -> int:
    """The ECN field of an IPv4 or IPv6 header (RFC 3168 §5): 3 is Congestion Experienced."""
    return (hdr.tos if isinstance(hdr, IPv4Header) else hdr.traffic_class) & 3


def fragment_packet(packet: bytes, mtu: int, ident: int | None = None) -> list[bytes]:
    """Cut the IP packet ``packet`` into fragments of at most ``mtu`` octets.

    IPv4 (RFC 791 §3.2): each fragment repeats the header with More Fragments and the
    offset set and Don't Fragment clear; options stay in the first fragment only.
    IPv6 (RFC 8200 §4.5): the unfragmentable part (the header, Hop-by-Hop Options, and
    everything up to the last Routing header) is repeated, followed by a Fragment header.
    ``ident`` defaults to the IPv4 Identification (IPv6: 0). A packet that already fits
    is returned alone. ``ValueError`` on misuse (an MTU too small for 8 octets of data).
    """
    hdr, payload, _ = _parse_ip(packet)
    if hdr.mf or hdr.frag_offset:
        raise ValueError("packet is already a fragment")
    if len(packet) <= mtu:
        return [packet]
    v, s, d, asum = _pairs.get((hdr.src, hdr.dst)) or _pair(hdr.src, hdr.dst)
    out = []
    if isinstance(hdr, IPv4Header):
        step = (mtu - hdr.header_length) & ~7
        if step < 8:
            raise ValueError(f"mtu {mtu} leaves no room for 8 octets of data after the IPv4 header")
        ident = hdr.ident if ident is None else ident
        for off in range(0, len(payload), step):
            piece = payload[off:off + step]
            opts = hdr.options if off == 0 else b""
            out.append(_ipv4_header(s, d, asum, hdr.proto, len(piece), hdr.ttl, hdr.tos, ident, False, opts,
                                    off + len(piece) < len(payload), off) + piece)
        return out
    # IPv6: the unfragmentable part ends after Hop-by-Hop and the last Routing header.
    exts = hdr.ext_headers
    cut = 0
    for i, (typ, _data) in enumerate(exts):
        if typ in (0, 43):
            cut = i + 1
    unfrag, later = exts[:cut], exts[cut:]
    nxt = later[0][0] if later else hdr.proto
    rest = b"".join(bytes((later[i + 1][0] if i + 1 < len(later) else hdr.proto, (len(data) + 2) // 8 - 1)) + data
                    for i, (_t, data) in enumerate(later)) + payload
    head_len = 40 + sum(len(data) + 2 for _t, data in unfrag) + 8
    step = (mtu - head_len) & ~7
    if step < 8:
        raise ValueError(f"mtu {mtu} leaves no room for 8 octets of data after the IPv6 headers")
    ident = 0 if ident is None else ident
    if not 0 <= ident <= 0xFFFFFFFF:
        raise ValueError(f"ident {ident} out of range 0..0xFFFFFFFF")
    for off in range(0, len(rest), step):
        piece = rest[off:off + step]
        word = off | (1 if off + len(piece) < len(rest) else 0)
        frag = (44, word.to_bytes(2, "big") + ident.to_bytes(4, "big"))
        out.append(_ipv6_header(s, d, nxt, len(piece), hdr.hop_limit, hdr.traffic_class, hdr.flow_label,
                                unfrag + (frag,)) + piece)
    return out
