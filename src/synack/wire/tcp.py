"""TCP segments as frozen values, and their wire format (RFC 9293 §3.1).

A :class:`TcpSegment` is what ``tcp/`` sees: ports, ``seq``/``ack`` as :class:`Seq`,
control bits, window, urgent pointer, options (in wire order, unknown ones kept
intact) and payload. ``parse_tcp``/``emit_tcp`` convert to and from bytes, checking
and computing the checksum over the IPv4 or IPv6 pseudo-header.
"""

from __future__ import annotations

import enum
from typing import NamedTuple, Union

from .seq import Seq


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


FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, NS = (
    Flags.FIN, Flags.SYN, Flags.RST, Flags.PSH, Flags.ACK, Flags.URG, Flags.ECE, Flags.CWR, Flags.NS,
)

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


TcpOption = Union[Eol, Nop, Mss, WindowScale, SackPermitted, Sack, Timestamps, FastOpen, UnknownOption]


class TcpSegment(NamedTuple):
    """One TCP segment as a value (RFC 9293 §3.1 header fields plus payload)."""

    src_port: int
    dst_port: int
    seq: Seq
    ack: Seq
    flags: Flags
    wnd: int
    payload: bytes = b""
    options: tuple = ()
    urg_ptr: int = 0

    @property
    def len(self) -> int:
        """SEG.LEN: octets of data plus one for SYN and one for FIN."""
        f = self.flags
        return len(self.payload) + (1 if f & SYN else 0) + (1 if f & FIN else 0)

    def option(self, cls: type) -> object | None:
        """The first option of type ``cls``, or ``None``."""
        for o in self.options:
            if type(o) is cls:
                return o
        return None

    @property
    def mss(self) -> int | None:
        o = self.option(Mss)
        return o.value if o is not None else None  # type: ignore[union-attr]
