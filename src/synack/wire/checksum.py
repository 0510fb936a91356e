"""The Internet checksum (RFC 1071) and the TCP pseudo-header (RFC 9293 §3.1, RFC 8200 §8.1).

The ones'-complement sum of 16-bit big-endian words is computed with one big-integer
operation: because ``2**16 == 1 (mod 0xFFFF)``, the integer ``int.from_bytes(data, "big")``
is congruent modulo ``0xFFFF`` to the plain sum of its 16-bit words. The end-around-carry
("folded") sum of RFC 1071 is that sum reduced modulo ``0xFFFF``, except that ones'
complement has two zeros: the folded sum of words whose plain sum is non-zero is never
``0x0000`` but ``0xFFFF``. :func:`fold` applies that rule, so results equal the
word-by-word reference algorithm bit for bit.

The hot paths in ``tcp.py``, ``ipv4.py`` and ``ip.py`` use a second identity:
``int.from_bytes(data, "little") * 256`` is also congruent to the big-endian word sum
(a byte swap is multiplication by 256 modulo 0xFFFF, and 256 * 256 == 1), it handles an
odd trailing octet without padding, and CPython converts little-endian bytes faster.

This module also keeps the address caches that every pseudo-header needs: a text address
("10.0.0.1", "fd00::1") to its packed bytes and word sum, and packed bytes back to text.
Both are plain dicts, cleared when they grow past :data:`_CACHE_LIMIT` so that fuzzing
with random addresses cannot grow them without bound.
"""

from __future__ import annotations

import ipaddress
import struct

__all__ = [
    "internet_checksum",
    "ones_sum",
    "fold",
    "pseudo_header_sum",
    "pseudo_header_v4",
    "pseudo_header_v6",
    "pack_address",
    "address_version",
]

_from_bytes = int.from_bytes


def ones_sum(data: bytes) -> int:
    """An integer congruent (mod 0xFFFF) to the sum of ``data``'s 16-bit words, zero only if
    every octet is zero. An odd length is padded with one zero octet (RFC 9293 §3.1)."""
    return _from_bytes(data, "little") << 8  # see the module docstring


def fold(total: int) -> int:
    """The 16-bit end-around-carry sum for a non-negative ``total`` (RFC 1071 §4.1 folding).

    ``0`` only when ``total`` is ``0``; otherwise in ``1 .. 0xFFFF``.
    """
    r = total % 0xFFFF
    return r if r or not total else 0xFFFF


def internet_checksum(data: bytes, initial: int = 0) -> int:
    """The Internet checksum of ``data`` (RFC 1071): ones' complement of the ones'-complement sum.

    ``initial`` is a partial sum to include, such as :func:`pseudo_header_sum`; any
    non-negative int whose value is a plain (unfolded or folded) sum of 16-bit words.
    Verifying a buffer that carries its own checksum gives ``0``.
    """
    return 0xFFFF - fold(initial + ones_sum(data))


# --- addresses -----------------------------------------------------------------------------

_CACHE_LIMIT = 4096

# text -> (packed, word sum, version)
_by_text: dict[str, tuple[bytes, int, int]] = {}
# packed -> (text, word sum)
_by_packed: dict[bytes, tuple[str, int]] = {}

_W2 = struct.Struct("!2H")
_W8 = struct.Struct("!8H")


def _word_sum(packed: bytes) -> int:
    return sum((_W2 if len(packed) == 4 else _W8).unpack(packed))


def _dotted_quad(addr: str) -> bytes | None:
    """The 4 octets of an IPv4 address in the form ``ipaddress`` accepts (four decimal
    octets, no leading zeros), or None for anything else."""
    parts = addr.split(".")
    if len(parts) != 4:
        return None
    for p in parts:
        if not (0 < len(p) <= 3 and p.isascii() and p.isdigit()) or (p[0] == "0" and len(p) > 1):
            return None
    octets = [int(p) for p in parts]
    return bytes(octets) if max(octets) <= 255 else None


def address_info(addr: str) -> tuple[bytes, int, int]:
    """``(packed, word_sum, version)`` for a text address; ``ValueError`` if it is not one."""
    info = _by_text.get(addr)
    if info is None:
        packed = _dotted_quad(addr)
        if packed is not None:  # (a flood from spoofed sources: a new address per packet)
            info = (packed, _word_sum(packed), 4)
        else:
            ip = ipaddress.ip_address(addr)  # raises ValueError for anything else
            packed = ip.packed
            info = (packed, _word_sum(packed), ip.version)
        if len(_by_text) >= _CACHE_LIMIT:
            _by_text.clear()
        _by_text[addr] = info
    return info


def address_text(packed: bytes) -> tuple[str, int]:
    """``(text, word_sum)`` for a packed 4- or 16-octet address, in canonical text form."""
    info = _by_packed.get(packed)
    if info is None:
        text = ".".join(map(str, packed)) if len(packed) == 4 else str(ipaddress.IPv6Address(packed))
        info = (text, _word_sum(packed))
        if len(_by_packed) >= _CACHE_LIMIT:
            _by_packed.clear()
        _by_packed[packed] = info
    return info


# packed src + packed dst (8 or 32 octets) -> (src text, dst text, word sum of both)
_by_pair: dict[bytes, tuple[str, str, int]] = {}


def address_pair(pair: bytes) -> tuple[str, str, int]:
    """``(src, dst, word_sum)`` for packed source and destination addresses back to back."""
    info = _by_pair.get(pair)
    if info is None:
        half = len(pair) >> 1
        s_text, s_sum = address_text(pair[:half])
        d_text, d_sum = address_text(pair[half:])
        info = (s_text, d_text, s_sum + d_sum)
        if len(_by_pair) >= _CACHE_LIMIT:
            _by_pair.clear()
        _by_pair[pair] = info
    return info


def pack_address(addr: str) -> bytes:
    """The network-order octets of a text IPv4 or IPv6 address."""
    return address_info(addr)[0]


def address_version(addr: str) -> int:
    """4 or 6, from the form of a text address."""
    return address_info(addr)[2]


# --- pseudo-header --------------------------------------------------------------------------

def pseudo_header_sum(src_packed: bytes, dst_packed: bytes, proto: int, length: int) -> int:
    """Plain sum of the pseudo-header's 16-bit words, to pass as ``initial``.

    IPv4 (RFC 9293 §3.1 Figure 2): src, dst, zero, PTCL, TCP Length (16 bits).
    IPv6 (RFC 8200 §8.1): src, dst, Upper-Layer Packet Length (32 bits), three zero
    octets, Next Header. Both reduce to the same word sum; the 32-bit length contributes
    its two halves.
    """
    return _word_sum(src_packed) + _word_sum(dst_packed) + proto + (length >> 16) + (length & 0xFFFF)


_PH4 = struct.Struct("!4s4sxBH")
_PH6 = struct.Struct("!16s16sI3xB")


def pseudo_header_v4(src_packed: bytes, dst_packed: bytes, proto: int, length: int) -> bytes:
    """The 12-octet IPv4 pseudo-header (RFC 9293 §3.1 Figure 2)."""
    return _PH4.pack(src_packed, dst_packed, proto, length)


def pseudo_header_v6(src_packed: bytes, dst_packed: bytes, proto: int, length: int) -> bytes:
    """The 40-octet IPv6 pseudo-header (RFC 8200 §8.1)."""
    return _PH6.pack(src_packed, dst_packed, length, proto)
