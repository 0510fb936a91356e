"""The virtio-net header of a TUN device with ``IFF_VNET_HDR``, and what it lets a link do.

Every packet read from or written to such a device starts with a 10-byte
``struct virtio_net_hdr`` (``<linux/virtio_net.h>``, little-endian on x86)::

    flags u8         NEEDS_CSUM (1): the TCP checksum field holds only the pseudo-header
                     sum; the rest is computed from csum_start. DATA_VALID (2): verified.
    gso_type u8      NONE (0), TCPV4 (1), TCPV6 (4); | ECN (0x80) when CWR is set
    hdr_len le16     IP + TCP header length (a hint)
    gso_size le16    payload octets per wire segment of a super-segment
    csum_start le16  where the checksummed part starts (the TCP header)
    csum_offset le16 where the checksum field is, from csum_start (16 for TCP)

Receiving, the link reads what the kernel's TSO built: one IP packet with one TCP header
and up to 64 KB of data, with a partial checksum. The Host takes it as one segment and
skips verifying a checksum the kernel never computed (the data never left the machine).

Sending, :func:`plan_writes` turns the Host's packets into ``writev`` vectors: a packet
larger than the MTU, or a :class:`~synack.stack.packet.SuperSegment` (which says its
``gso_size`` and may carry only the pseudo-header sum as its checksum), becomes one GSO
write (the kernel splits it into ``gso_size`` segments and completes the checksums), and
a run of consecutive full-sized segments of one flow, as a sender emits
them in one burst, is merged into one such write the way wireguard-go's GRO does, without
copying a payload (each payload is a memoryview in the vector). Merging is safe only for
segments that differ in nothing but their sequence numbers and data: same addresses,
ports, ACK, window, options (timestamps included), flags ACK (PSH only on the last), equal
sizes except a shorter last one.

:func:`complete_checksum` and :func:`gso_split` remain for whoever needs wire-sized,
fully checksummed packets (tests, captures).
"""

from __future__ import annotations

import struct

VNET_HDR = struct.Struct("<BBHHHH")  # flags, gso_type, hdr_len, gso_size, csum_start, csum_offset
VNET_HDR_LEN = VNET_HDR.size          # 10

F_NEEDS_CSUM = 1
F_DATA_VALID = 2
GSO_NONE = 0
GSO_TCPV4 = 1
GSO_TCPV6 = 4
GSO_ECN = 0x80

#: the header of a packet written as it is: complete checksum, no segmentation
NO_OFFLOAD = VNET_HDR.pack(0, GSO_NONE, 0, 0, 0, 0)

_PSH, _ACK, _CWR = 0x08, 0x10, 0x80
_H = struct.Struct("!H")
_I = struct.Struct("!I")
_from_bytes = int.from_bytes
#: most payload octets one super-segment may carry: an IPv4 total length is 16 bits
MAX_GSO_BYTES = 65535


def _fold(total: int) -> int:
    r = total % 0xFFFF
    return r if r or not total else 0xFFFF


def pseudo_partial(pkt: bytes, ihl: int, tcp_len: int) -> int:
    """The folded, non-inverted pseudo-header sum of a TCP packet of ``tcp_len`` octets:
    what the checksum field holds under ``NEEDS_CSUM`` (Linux's CHECKSUM_PARTIAL)."""
    addrs = pkt[12:20] if ihl == 20 else pkt[8:40]
    return _fold((_from_bytes(addrs, "little") << 8) + 6 + tcp_len)


def _ipv4_checksum(h: bytearray) -> None:
    h[10] = h[11] = 0
    s = _from_bytes(h[:20], "little") << 8
    struct.pack_into("!H", h, 10, 0xFFFF - _fold(s))


def gso_header(pkt: bytes, ihl: int, hl: int, gso_size: int, ecn_ok: bool) -> bytes:
    """The virtio header of a super-segment whose headers are ``pkt[:hl]``."""
    gso = GSO_TCPV4 if ihl == 20 else GSO_TCPV6
    if ecn_ok and pkt[ihl + 13] & _CWR:
        gso |= GSO_ECN
    return VNET_HDR.pack(F_NEEDS_CSUM, gso, hl, gso_size, ihl, 16)


def _tcp_layout(p: bytes) -> tuple[int, int] | None:
    """(IP header length, IP+TCP header length) of a TCP packet synack emits, or None."""
    if len(p) < 40:
        return None
    b0 = p[0]
    if b0 == 0x45 and p[9] == 6:
        ihl = 20
    elif b0 >> 4 == 6 and p[6] == 6 and len(p) >= 60:
        ihl = 40
    else:
        return None  # not TCP, IPv4 options, IPv6 extension headers: written as they are
    hl = ihl + (p[ihl + 12] >> 4) * 4
    if hl > len(p):
        return None
    return ihl, hl


def _same_flow(p: bytes, q: bytes, ihl: int, hl: int) -> bool:
    """``q`` may follow ``p`` in one super-segment: every header field but the IP length,
    ID and checksum, and the TCP sequence number and checksum, is the same."""
    if ihl == 20:
        if q[0] != 0x45 or q[1] != p[1] or q[6:10] != p[6:10] or q[12:20] != p[12:20]:
            return False
    elif q[0:4] != p[0:4] or q[6:40] != p[6:40]:
        return False
    return (q[ihl:ihl + 4] == p[ihl:ihl + 4]              # ports
            and q[ihl + 8:ihl + 13] == p[ihl + 8:ihl + 13]  # ACK, data offset
            and q[ihl + 14:ihl + 16] == p[ihl + 14:ihl + 16]  # window
            and q[ihl + 18:hl] == p[ihl + 18:hl])          # urgent pointer, options


def plan_writes(packets: list, mtu: int, ecn_ok: bool = True, merge: bool = True,
                log: list | None = None) -> list:
    """The ``writev`` vectors that put ``packets`` on a vnet TUN device, in order.

    A packet larger than ``mtu`` becomes a GSO write; with ``merge``, runs of consecutive
    segments of one flow become one GSO write too. ``log``, if given, gets one
    ``(first packet index, packets merged, payload octets, gso_size)`` per merged write.
    """
    out: list = []
    append = out.append
    n = len(packets)
    i = 0
    while i < n:
        p = packets[i]
        lay = _tcp_layout(p) if (merge or len(p) > mtu) else None
        if lay is None:
            append((NO_OFFLOAD, p))
            i += 1
            continue
        ihl, hl = lay
        size = len(p) - hl
        g = getattr(p, "gso_size", 0)
        if g or len(p) > mtu:
            # A super-segment the Host built itself: the kernel cuts it where the Host says
            # (a SuperSegment: the peer's MSS), else at the MTU, and completes the checksum.
            gso_size = g if 0 < g <= mtu - hl else mtu - hl
            if getattr(p, "partial_checksum", False):
                append((gso_header(p, ihl, hl, gso_size, ecn_ok), p))
            else:
                h = bytearray(p[:hl])
                _H.pack_into(h, ihl + 16, pseudo_partial(p, ihl, len(p) - ihl))
                append((gso_header(p, ihl, hl, gso_size, ecn_ok), h, memoryview(p)[hl:]))
            i += 1
            continue
        flags = p[ihl + 13]
        if size == 0 or not merge or flags & _PSH or (flags & ~_PSH) != _ACK or i + 1 == n:
            append((NO_OFFLOAD, p))
            i += 1
            continue
        # A run: p, then segments of the same flow, each starting where the last ended.
        limit = MAX_GSO_BYTES - (hl if ihl == 20 else hl - 40)
        seq = _I.unpack_from(p, ihl + 4)[0]
        total = size
        j = i + 1
        while j < n and total + size <= limit:
            q = packets[j]
            qsize = len(q) - hl
            if not 0 < qsize <= size or len(q) > mtu:
                break
            qflags = q[ihl + 13]
            if (qflags & ~_PSH) != _ACK or _I.unpack_from(q, ihl + 4)[0] != (seq + total) & 0xFFFFFFFF:
                break
            if not _same_flow(p, q, ihl, hl):
                break
            total += qsize
            j += 1
            if qflags & _PSH or qsize < size:
                break  # PSH, or a short segment, ends a run
        if j - i == 1:
            append((NO_OFFLOAD, p))
            i += 1
            continue
        h = bytearray(p[:hl])
        last = packets[j - 1]
        h[ihl + 13] = last[ihl + 13]  # the last segment's PSH
        if ihl == 20:
            _H.pack_into(h, 2, hl + total)
            _ipv4_checksum(h)
        else:
            _H.pack_into(h, 4, hl - 40 + total)
        _H.pack_into(h, ihl + 16, pseudo_partial(p, ihl, hl - ihl + total))
        vec: list = [gso_header(p, ihl, hl, size, ecn_ok), h]
        vec.extend(memoryview(packets[k])[hl:] for k in range(i, j))
        append(vec)
        if log is not None:
            log.append((i, j - i, total, size))
        i = j
    return out


def parse_header(raw: bytes) -> tuple[int, int, int, int, int, int]:
    """(flags, gso_type, hdr_len, gso_size, csum_start, csum_offset) of a read's header."""
    return VNET_HDR.unpack_from(raw, 0)


def complete_checksum(pkt: bytes, start: int, offset: int) -> bytes:
    """A packet whose checksum field at ``start + offset`` holds the pseudo-header sum
    (CHECKSUM_PARTIAL) with the final Internet checksum computed from ``start`` on."""
    if start + offset + 2 > len(pkt):
        return pkt
    b = bytearray(pkt)
    total = _from_bytes(b[start:], "little") << 8  # congruent to the big-endian word sum
    struct.pack_into("!H", b, start + offset, 0xFFFF - _fold(total))
    return bytes(b)


def gso_split(pkt: bytes, mss: int) -> list:
    """Cut an IPv4/IPv6 TCP super-segment into segments of ``mss`` payload octets, each
    with correct lengths, sequence numbers, checksums (PSH/FIN only on the last), as the
    kernel's GSO does on the way to a wire."""
    v = pkt[0] >> 4
    if v == 4:
        ihl = (pkt[0] & 0x0F) * 4
    elif v == 6:
        ihl = 40
    else:
        return [pkt]
    thl = (pkt[ihl + 12] >> 4) * 4
    hl = ihl + thl
    payload = memoryview(pkt)[hl:]
    if len(payload) <= mss:
        return [_finish(bytearray(pkt), v, ihl)]
    seq = _from_bytes(pkt[ihl + 4:ihl + 8], "big")
    out = []
    n = len(payload)
    for off in range(0, n, mss):
        chunk = payload[off:off + mss]
        b = bytearray(pkt[:hl])
        b += chunk
        struct.pack_into("!I", b, ihl + 4, (seq + off) & 0xFFFFFFFF)
        if off + mss < n:
            b[ihl + 13] &= ~0x09 & 0xFF  # PSH and FIN only on the last segment
        if off:
            b[ihl + 13] &= ~_CWR & 0xFF  # CWR only on the first (RFC 3168 §6.1.2, as TSO does)
        out.append(_finish(b, v, ihl))
    return out


def _finish(b: bytearray, v: int, ihl: int) -> bytes:
    """Fix the IP length (and IPv4 header checksum) and compute the TCP checksum."""
    total = len(b)
    if v == 4:
        struct.pack_into("!H", b, 2, total)
        _ipv4_checksum(b) if ihl == 20 else _ipv4_checksum_any(b, ihl)
        pseudo = b[12:20] + struct.pack("!BBH", 0, 6, total - ihl)
    else:
        struct.pack_into("!H", b, 4, total - 40)
        pseudo = b[8:40] + struct.pack("!IxxxB", total - 40, 6)
    struct.pack_into("!H", b, ihl + 16, 0)
    s = (_from_bytes(pseudo, "little") << 8) + (_from_bytes(b[ihl:], "little") << 8)
    struct.pack_into("!H", b, ihl + 16, 0xFFFF - _fold(s))
    return bytes(b)


def _ipv4_checksum_any(b: bytearray, ihl: int) -> None:
    b[10] = b[11] = 0
    struct.pack_into("!H", b, 10, 0xFFFF - _fold(_from_bytes(b[:ihl], "little") << 8))
