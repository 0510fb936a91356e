"""TCP segments as frozen values, and their wire format (RFC 9293 §3.1).

A :class:`TcpSegment` is what ``tcp/`` sees: ports, ``seq``/``ack`` as :class:`Seq`,
control bits, window, urgent pointer, options (in wire order, unknown ones kept
intact) and payload. ``parse_tcp``/``emit_tcp`` convert to and from bytes, checking
and computing the checksum over the IPv4 or IPv6 pseudo-header.
"""

from __future__ import annotations

import enum
import struct as _struct
from typing import Any, NamedTuple, TypeVar

from .checksum import address_info as _address_info
from .errors import MalformedPacket
from .seq import Seq

_O = TypeVar("_O")


class Flags(enum.IntFlag):
    """The nine control bits (RFC 9293 §3.1, RFC 3168 for ECE/CWR, RFC 3540 for NS)."""

    FIN = 0x001
    SYN = 0x002
    RST = 0x004
    PSH = 0x008
    ACK = 0x010
    URG = 0x020
    ECE = 0x040
    CWR = 0x080
    NS = 0x100


# The same bits as plain ints. ``TcpSegment.flags`` holds an int: enum arithmetic costs
# microseconds per operation, and the stack tests flags on every segment. ``Flags(x)``
# turns a value into the enum for display.
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, NS = 0x001, 0x002, 0x004, 0x008, 0x010, 0x020, 0x040, 0x080, 0x100

# Option kinds (IANA "TCP Option Kind Numbers").
OPT_EOL, OPT_NOP, OPT_MSS, OPT_WSCALE, OPT_SACK_PERM, OPT_SACK, OPT_TS, OPT_TFO = 0, 1, 2, 3, 4, 5, 8, 34


class Eol(NamedTuple):
    """End of option list (kind 0)."""


class Nop(NamedTuple):
    """No-operation padding (kind 1)."""


class Mss(NamedTuple):
    """Maximum segment size (kind 2, RFC 9293 §3.7.1)."""

    value: int


class WindowScale(NamedTuple):
    """Window scale shift count (kind 3, RFC 7323 §2)."""

    shift: int


class SackPermitted(NamedTuple):
    """SACK permitted (kind 4, RFC 2018)."""


class Sack(NamedTuple):
    """SACK blocks (kind 5, RFC 2018): ``((left, right), ...)`` as :class:`Seq` pairs."""

    blocks: tuple[tuple[Seq, Seq], ...]


class Timestamps(NamedTuple):
    """Timestamps (kind 8, RFC 7323 §3): TSval and TSecr."""

    tsval: int
    tsecr: int


class FastOpen(NamedTuple):
    """TCP Fast Open cookie (kind 34, RFC 7413). An empty cookie is a cookie request."""

    cookie: bytes


class UnknownOption(NamedTuple):
    """Any other option, kept intact: its kind and the bytes after the length octet."""

    kind: int
    data: bytes


TcpOption = Eol | Nop | Mss | WindowScale | SackPermitted | Sack | Timestamps | FastOpen | UnknownOption


class TcpSegment(NamedTuple):
    """One TCP segment as a value (RFC 9293 §3.1 header fields plus payload)."""

    src_port: int
    dst_port: int
    seq: Seq
    ack: Seq
    flags: int  # control bits as an int (see Flags)
    wnd: int
    payload: bytes = b""
    options: tuple = ()
    urg_ptr: int = 0

    @property
    def len(self) -> int:
        """SEG.LEN: octets of data plus one for SYN and one for FIN."""
        f = self.flags
        return len(self.payload) + (1 if f & SYN else 0) + (1 if f & FIN else 0)

    def option(self, cls: type[_O]) -> _O | None:
        """The first option of type ``cls``, or ``None``."""
        for o in self.options:
            if type(o) is cls:
                return o
        return None

    @property
    def mss(self) -> int | None:
        o = self.option(Mss)
        return o.value if o is not None else None


# ==========================================================================================
# Wire format (RFC 9293 §3.1, options §3.2)
# ==========================================================================================
#
# Option lists and EOL: what round-trips
# --------------------------------------
# ``emit_tcp`` encodes ``seg.options`` exactly as given (explicit ``Nop`` and ``Eol``
# included), then pads with zero octets to a 32-bit boundary (RFC 9293 §3.1 MUST-69). On
# the wire a zero octet *is* an EOL, so the padding for ``(Mss, WindowScale)`` (7 octets +
# one zero) is byte-for-byte the same as ``(Mss, WindowScale, Eol)``. No parser can tell
# the two apart; ``parse_tcp`` therefore uses one rule:
#
#     An EOL is recorded as ``Eol()`` only when it starts a 32-bit word of the option
#     area (its offset from the first option octet is a multiple of 4). An EOL anywhere
#     else is taken as padding and not recorded. Everything after an EOL is ignored.
#
# Emit never starts a word with padding, so the rule gives, for every encodable segment
# (not SYN+FIN, ``UnknownOption`` only for kinds this module does not parse):
#
#     parse_tcp(emit_tcp(seg)) == seg           when seg.options has no Eol, or ends
#                                               with one Eol that falls on a word boundary;
#     parse_tcp(emit_tcp(seg)) == canonical(seg) otherwise, where canonical() drops the
#                                               final, unaligned Eol (emit(canonical(seg))
#                                               is the same bytes as emit(seg)).
#
# ``Eol`` may only be the last option given to ``emit_tcp`` (options after it would be
# invisible to the receiver and break MUST-69). A ``FastOpen`` parsed from the
# experimental kind 254 (magic 0xF989, RFC 7413 §4.1.1) is re-emitted as kind 34.

_HDR = _struct.Struct("!HHIIHHHH")
_II = _struct.Struct("!II")
_OPT_MSS = _struct.Struct("!BBH")
_OPT_WS = _struct.Struct("!BBB")
_OPT_TS = _struct.Struct("!BBII")
_OPT_NNTS = _struct.Struct("!BBBBII")  # NOP, NOP, TS
_TS_LAYOUT = b"\x01\x01\x08\x0a"  # NOP, NOP, kind 8, length 10
_OPT_SYN = _struct.Struct("!BBHBBBBIIBBBB")  # MSS, SACK-permitted, TS, NOP, wscale (Linux's SYN)
_SYN_LAYOUT = (b"\x02\x04", b"\x04\x02\x08\x0a", b"\x01\x03\x03")  # at 0, 4 and 16
_SACK_BLOCKS = {n: _struct.Struct(f"!{2 * n}I") for n in range(1, 32)}
_SACK_OPT = {n: _struct.Struct(f"!BB{2 * n}I") for n in range(1, 32)}

OPT_TFO_EXP = 254
TFO_EXP_MAGIC = b"\xf9\x89"  # RFC 7413 §4.1.1, experimental TFO option (RFC 6994)

_EOL, _NOP, _SACK_PERM = Eol(), Nop(), SackPermitted()
_tuple_new = tuple.__new__
_int_new = int.__new__
_from_bytes = int.from_bytes
_int = int


def _bad_len(kind: int, length: int, why: str) -> MalformedPacket:
    return MalformedPacket("bad-option-length", f"option kind {kind} length {length}: {why}")


def _parse_options(data: bytes, start: int, end: int) -> tuple:
    """Decode the option area ``data[start:end]`` into option values, in wire order.

    Options may start on any octet (RFC 9293 §3.2 MUST-64). Unknown options with a length
    field are kept as ``UnknownOption`` and otherwise ignored (RFC 9293 §3.1 MUST-6). An
    illegal length raises ``bad-option-length`` (RFC 9293 §3.1 MUST-7); the caller decides
    what to do about it.
    """
    opts: list = []
    append = opts.append
    i = start
    while i < end:
        kind = data[i]
        if kind == OPT_NOP:
            append(_NOP)
            i += 1
            continue
        if kind == OPT_EOL:
            # Recorded only at a word boundary; see "Option lists and EOL" above.
            if not (i - start) & 3:
                append(_EOL)
            break
        if i + 1 >= end:
            raise MalformedPacket("bad-option-length", f"option kind {kind} has no length octet")
        olen = data[i + 1]
        if olen < 2:
            raise _bad_len(kind, olen, "below 2 (RFC 9293 §3.1 MUST-7)")
        nxt = i + olen
        if nxt > end:
            raise _bad_len(kind, olen, f"overruns the header by {nxt - end} octets")
        if kind == OPT_MSS:
            if olen != 4:
                raise _bad_len(kind, olen, "MSS is 4 octets (RFC 9293 §3.2)")
            append(Mss((data[i + 2] << 8) | data[i + 3]))
        elif kind == OPT_WSCALE:
            if olen != 3:
                raise _bad_len(kind, olen, "window scale is 3 octets (RFC 7323 §2.2)")
            append(WindowScale(data[i + 2]))
        elif kind == OPT_SACK_PERM:
            if olen != 2:
                raise _bad_len(kind, olen, "SACK-permitted is 2 octets (RFC 2018 §2)")
            append(_SACK_PERM)
        elif kind == OPT_TS:
            if olen != 10:
                raise _bad_len(kind, olen, "timestamps is 10 octets (RFC 7323 §3.2)")
            append(Timestamps(*_II.unpack_from(data, i + 2)))
        elif kind == OPT_SACK:
            nblocks, rem = divmod(olen - 2, 8)
            if rem or not nblocks:
                raise _bad_len(kind, olen, "SACK is 2 + 8n octets, n >= 1 (RFC 2018 §3)")
            v = _SACK_BLOCKS[nblocks].unpack_from(data, i + 2)
            append(Sack(tuple((_int_new(Seq, v[j]), _int_new(Seq, v[j + 1])) for j in range(0, len(v), 2))))
        elif kind == OPT_TFO:
            append(FastOpen(bytes(data[i + 2:nxt])))
        elif kind == OPT_TFO_EXP and olen >= 4 and data[i + 2:i + 4] == TFO_EXP_MAGIC:
            append(FastOpen(bytes(data[i + 4:nxt])))
        else:
            append(UnknownOption(kind, bytes(data[i + 2:nxt])))
        i = nxt
    return tuple(opts)


def parse_options(data: bytes) -> tuple:
    """Decode a bare option area (the octets between the fixed header and the data)."""
    return _parse_options(data, 0, len(data))


def _parse(data: bytes, addr_sum: int, verify: bool) -> TcpSegment:
    """Parse a TCP segment; ``addr_sum`` is the word sum of the two pseudo-header addresses."""
    n = len(data)
    if n < 20:
        raise MalformedPacket("truncated-header", f"{n} octets, a TCP header needs 20")
    # RFC 9293 §3.1 MUST-3: check the checksum over pseudo-header, header and data.
    # The plain sum is never 0 (PTCL is 6), so a valid segment is exactly one whose
    # sum is congruent to 0 mod 0xFFFF (a folded sum of 0xFFFF). Little-endian
    # conversion yields 256 times the word sum (see checksum.py), and 2**16 == 1, so
    # the pseudo-header's length needs no splitting into 16-bit halves.
    if verify and (((addr_sum + 6 + n) << 8) + _from_bytes(data, "little")) % 0xFFFF:
        raise MalformedPacket("bad-checksum", "TCP checksum does not verify")
    sport, dport, seqn, ackn, off_flags, wnd, _ck, urg = _HDR.unpack_from(data)
    hlen = (off_flags >> 12) << 2
    if hlen < 20:
        raise MalformedPacket("bad-data-offset", f"data offset {hlen >> 2} is below 5")
    if hlen > n:
        raise MalformedPacket("truncated-header", f"data offset says {hlen} octets, segment has {n}")
    flags = off_flags & 0x1FF  # the 3 reserved bits are ignored (RFC 9293 §3.1)
    if flags & 3 == 3:
        raise MalformedPacket("syn-and-fin", "SYN and FIN are both set")
    options: tuple[Any, ...]
    if hlen == 32 and data.startswith(_TS_LAYOUT, 20):
        # The layout nearly every segment of a timestamps connection has (NOP, NOP, TS,
        # RFC 7323 Appendix A), decoded without the general loop: the same values result.
        options = (_NOP, _NOP, _tuple_new(Timestamps, _II.unpack_from(data, 24)))
    elif hlen == 40 and data.startswith(_SYN_LAYOUT[0], 20) and data.startswith(_SYN_LAYOUT[1], 24) \
            and data.startswith(_SYN_LAYOUT[2], 36):
        # Linux's SYN and SYN,ACK (mss, sackOK, TS, nop, wscale), likewise.
        v = _OPT_SYN.unpack_from(data, 20)
        options = (_tuple_new(Mss, (v[2],)), _SACK_PERM, _tuple_new(Timestamps, (v[7], v[8])), _NOP,
                   _tuple_new(WindowScale, (v[12],)))
    else:
        options = _parse_options(data, 20, hlen) if hlen > 20 else ()
    return _tuple_new(TcpSegment, (
        sport, dport, _int_new(Seq, seqn), _int_new(Seq, ackn), flags, wnd,
        data[hlen:], options, urg,
    ))


def parse_tcp(data: bytes | bytearray | memoryview, src: str, dst: str, verify: bool = True) -> TcpSegment:
    """Parse a TCP segment (RFC 9293 §3.1) that travelled from ``src`` to ``dst``.

    With ``verify`` the checksum is checked over the IPv4 or IPv6 pseudo-header built
    from the two addresses (RFC 9293 §3.1 MUST-3). Malformed input raises
    ``MalformedPacket`` with one of the reasons ``truncated-header``, ``bad-checksum``,
    ``bad-data-offset``, ``bad-option-length``, ``syn-and-fin``.
    """
    if type(data) is not bytes:
        data = bytes(data)
    if not verify:
        return _parse(data, 0, False)
    return _parse(data, _address_info(src)[1] + _address_info(dst)[1], True)


def _emit_options(options) -> bytes:
    """Encode options in the given order, zero-padded to a 32-bit boundary (RFC 9293 §3.1 MUST-69)."""
    if len(options) == 3 and type(options[2]) is Timestamps and type(options[0]) is Nop \
            and type(options[1]) is Nop:
        # NOP, NOP, TS (RFC 7323 Appendix A): on every segment of a timestamps connection.
        ts = options[2]
        try:
            return _OPT_NNTS.pack(1, 1, OPT_TS, 10, ts.tsval, ts.tsecr)
        except _struct.error as e:
            raise ValueError(f"TCP option field out of range: {e}") from e
    if len(options) == 5 and type(options[0]) is Mss and type(options[1]) is SackPermitted \
            and type(options[2]) is Timestamps and type(options[3]) is Nop \
            and type(options[4]) is WindowScale:
        # Linux's SYN layout: mss, sackOK, TS, nop, wscale (20 octets, no padding).
        ts = options[2]
        try:
            return _OPT_SYN.pack(OPT_MSS, 4, options[0].value, OPT_SACK_PERM, 2, OPT_TS, 10,
                                 ts.tsval, ts.tsecr, OPT_NOP, OPT_WSCALE, 3, options[4].shift)
        except _struct.error as e:
            raise ValueError(f"TCP option field out of range: {e}") from e
    parts: list[bytes] = []
    append = parts.append
    last = len(options) - 1
    try:
        for idx, o in enumerate(options):
            t = type(o)
            if t is Nop:
                append(b"\x01")
            elif t is Mss:
                append(_OPT_MSS.pack(OPT_MSS, 4, o.value))
            elif t is WindowScale:
                append(_OPT_WS.pack(OPT_WSCALE, 3, o.shift))
            elif t is SackPermitted:
                append(b"\x04\x02")
            elif t is Timestamps:
                append(_OPT_TS.pack(OPT_TS, 10, o.tsval, o.tsecr))
            elif t is Sack:
                nb = len(o.blocks)
                if not 1 <= nb <= 4:
                    raise ValueError(f"a SACK option carries 1..4 blocks, got {nb}")
                append(_SACK_OPT[nb].pack(OPT_SACK, 2 + 8 * nb, *[e for b in o.blocks for e in b]))
            elif t is Eol:
                if idx != last:
                    raise ValueError("Eol must be the last option (RFC 9293 §3.1 MUST-69)")
                append(b"\x00")
            elif t is FastOpen:
                c = bytes(o.cookie)
                if len(c) > 38:
                    raise ValueError(f"a {len(c)}-octet Fast Open cookie does not fit in 40 octets of options")
                append(bytes((OPT_TFO, 2 + len(c))) + c)
            elif t is UnknownOption:
                if not 2 <= o.kind <= 255:
                    raise ValueError(f"UnknownOption kind {o.kind} must be 2..255 (0 and 1 have no length)")
                d = bytes(o.data)
                if len(d) > 38:
                    raise ValueError(f"a {len(d)}-octet option body does not fit in 40 octets of options")
                append(bytes((o.kind, 2 + len(d))) + d)
            else:
                raise ValueError(f"not a TCP option: {o!r}")
    except _struct.error as e:
        raise ValueError(f"TCP option field out of range: {e}") from e
    out = b"".join(parts)
    n = len(out)
    if n > 40:
        raise ValueError(f"TCP options take {n} octets, at most 40 fit")
    pad = -n & 3
    return out + bytes(pad) if pad else out


def emit_options(options) -> bytes:
    """Encode an option list as ``emit_tcp`` does (in order, zero-padded to a word)."""
    return _emit_options(options)


def _emit(seg: TcpSegment, addr_sum: int, partial: bool = False) -> bytes:
    """Encode ``seg``; ``addr_sum`` is the word sum of the two pseudo-header addresses.
    ``partial``: the checksum field holds the folded pseudo-header sum only, for a link
    that completes the checksum itself (virtio-net ``NEEDS_CSUM``, Linux's CHECKSUM_PARTIAL);
    the data is then never summed."""
    sport, dport, seqn, ackn, flags, wnd, payload, options, urg = seg
    if options:
        ob = _emit_options(options)
        hlen = 20 + len(ob)
    else:
        ob = b""
        hlen = 20
    f = _int(flags)  # a plain int: IntFlag's own operators are slow
    if f >> 9 or f < 0:
        raise ValueError(f"flags {flags!r} do not fit in 9 bits")
    off_flags = (hlen << 10) | f  # data offset in 32-bit words, top 4 bits
    try:
        h = _HDR.pack(sport, dport, seqn, ackn, off_flags, wnd, 0, urg)
    except _struct.error as e:
        raise ValueError(
            f"TCP field out of range (ports {sport}/{dport}, seq {seqn}, ack {ackn}, wnd {wnd}, urg {urg})"
        ) from e
    # RFC 9293 §3.1 MUST-2: the checksum covers pseudo-header, header, options and data.
    # Every piece starts at an even offset, so the little-endian value of each is
    # congruent to 256 times its word sum (an odd payload's last octet is padded on the
    # right for free); multiplying by 256 again (256 * 256 == 1) gives the word sum.
    n = hlen + len(payload)
    if partial:
        ps = (addr_sum + 6 + n) % 0xFFFF or 0xFFFF
        h = _HDR.pack(sport, dport, seqn, ackn, off_flags, wnd, ps, urg)
        return h + ob + payload
    total = ((addr_sum + 6 + n) << 8) + _from_bytes(h, "little")
    if ob:
        total += _from_bytes(ob, "little")
    if payload:
        total += _from_bytes(payload, "little")
    # total > 0 (PTCL is 6), so the folded sum F is 1..0xFFFF and the checksum 0xFFFF - F
    # is 0..0xFFFE: exactly the residue of -(word sum).
    ck = -((total % 0xFFFF) << 8) % 0xFFFF
    h = _HDR.pack(sport, dport, seqn, ackn, off_flags, wnd, ck, urg)
    if ob:
        return h + ob + payload if payload else h + ob
    return h + payload if payload else h


def emit_tcp(seg: TcpSegment, src: str, dst: str) -> bytes:
    """Encode ``seg`` travelling from ``src`` to ``dst`` (RFC 9293 §3.1).

    The checksum is computed over the IPv4 or IPv6 pseudo-header (MUST-2); options are
    written in order and padded with zeros (MUST-69). Out-of-range fields, or options
    longer than 40 octets, raise ``ValueError``. SYN+FIN and malformed ``UnknownOption``
    values are emitted as given, which lets tests build hostile segments.
    """
    return _emit(seg, _address_info(src)[1] + _address_info(dst)[1])


# --- tcpdump-like text ------------------------------------------------------------------

_FLAG_LETTERS = ((FIN, "F"), (SYN, "S"), (RST, "R"), (PSH, "P"), (ACK, "."),
                 (URG, "U"), (ECE, "E"), (CWR, "W"), (NS, "N"))


def option_summary(o) -> str:
    """One option as tcpdump prints it ("mss 1460", "nop", "wscale 7", "sackOK", ...)."""
    t = type(o)
    if t is Mss:
        return f"mss {o.value}"
    if t is Nop:
        return "nop"
    if t is Eol:
        return "eol"
    if t is WindowScale:
        return f"wscale {o.shift}"
    if t is SackPermitted:
        return "sackOK"
    if t is Timestamps:
        return f"TS val {o.tsval} ecr {o.tsecr}"
    if t is Sack:
        return f"sack {len(o.blocks)} " + "".join(f"{{{int(a)}:{int(b)}}}" for a, b in o.blocks)
    if t is FastOpen:
        return f"tfo cookie {o.cookie.hex()}" if o.cookie else "tfo cookiereq"
    if t is UnknownOption:
        return f"unknown-{o.kind} {o.data.hex()}" if o.data else f"unknown-{o.kind}"
    return repr(o)


def seg_summary(seg: TcpSegment) -> str:
    """tcpdump-style text: ``Flags [S.], seq 300, ack 101, win 65535, options [mss 1460], length 0``.

    Flag letters follow tcpdump's order F S R P . U E W N (``.`` is ACK, ``none`` when no
    flag is set); ``seq a:b`` spans the data when there is any; ``ack`` is shown only with
    ACK and ``urg`` only with URG.
    """
    f = seg.flags
    letters = "".join(c for bit, c in _FLAG_LETTERS if f & bit) or "none"
    n = len(seg.payload)
    s = int(seg.seq)
    parts = [f"Flags [{letters}]", f"seq {s}:{(s + n) & 0xFFFFFFFF}" if n else f"seq {s}"]
    if f & ACK:
        parts.append(f"ack {int(seg.ack)}")
    parts.append(f"win {seg.wnd}")
    if f & URG:
        parts.append(f"urg {seg.urg_ptr}")
    if seg.options:
        parts.append("options [" + ",".join(option_summary(o) for o in seg.options) + "]")
    parts.append(f"length {n}")
    return ", ".join(parts)
