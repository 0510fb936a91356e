"""SYN cookies (RFC 4987 §3.6): a listener under a SYN flood keeps no state per SYN.

When a listener's SYN queue is full, its host answers a SYN with a SYN,ACK whose initial
sequence number *is* the state: a keyed MAC of the connection's 4-tuple and the client's
ISN, a coarse time counter, and the options the client offered. The client's ACK returns
that number plus one in SEG.ACK; if the MAC verifies, the host rebuilds the SYN-RECEIVED
TCB from it and goes on as if the SYN had been queued all along.

Layout of the cookie ISS (32 bits)::

    with timestamps:     [ t mod 16 : 4 ][ mss index : 3 ][               MAC : 25                ]
    without timestamps:  [ t mod 16 : 4 ][ mss index : 3 ][ wscale : 4 ][ sack ][ ecn ][ MAC : 19 ]

``t`` counts periods of :data:`PERIOD` (64 s); a cookie is accepted while ``t`` is the
current period or the one before (so for 64 to 128 s, like Linux's two minutes). The MSS is
an index into :data:`MSS_TABLE` (the largest entry not above what the client offered).
``wscale`` is the client's window-scale shift (0..14; 15 means "no option"), ``sack``
whether it sent SACK-permitted, ``ecn`` whether ECN was agreed (RFC 3168 §6.1.1).

When the client offered timestamps (RFC 7323), the option bits travel as Linux sends them,
in the low 6 bits of our SYN,ACK's TSval (bits 0-3 the shift, bit 4 SACK, bit 5 ECN)
that the client echoes in TSecr, which leaves 25 bits for the MAC. The MAC covers the
layout, the MSS index and the option bits in either case, so none of them can be forged,
and a client that negotiated timestamps cannot lose them: the ACK that carries TSecr is
the proof. So nothing the client negotiated is lost, also without timestamps (where Linux
drops window scale, SACK and ECN).

The MAC is the first bytes of BLAKE2b keyed with the listener's secret (injected, STYLE
rule 1) over the 4-tuple, the client's ISN, the full period number, the layout, the MSS
index and the option bits. Nothing here touches time or randomness: ``now`` is an argument.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

from ..timeunits import sec
from ..wire.seq import MASK, Seq

#: MSS values a cookie can carry (3 bits). Linux's IPv4 table is 536, 1300, 1440, 1460.
MSS_TABLE = (88, 536, 1220, 1300, 1400, 1440, 1460, 8960)
#: Length of one cookie time period (Linux counts minutes; a power of two keeps it exact).
PERIOD = sec(64)
#: A cookie is valid during its own period and the next one (RFC 4987 §3.6: "t" limits replay).
MAX_AGE = 1

NO_WSCALE = 15           # the 4-bit code for "the client sent no window-scale option"
TS_BITS = 6              # low bits of TSval that carry the options when timestamps are on
_TS_MASK = (1 << TS_BITS) - 1
_MAC_TS = (1 << 25) - 1
_MAC_PLAIN = (1 << 19) - 1

SECRET_MIN = 16
SECRET_MAX = 64


class CookieOptions(NamedTuple):
    """What a cookie remembers of the client's SYN."""

    #: the client's MSS, rounded down to an entry of MSS_TABLE
    mss: int
    #: the client's window-scale shift (RFC 7323 §2), or None when it sent no option
    wscale: int | None = None
    #: the client sent SACK-permitted (RFC 2018)
    sack: bool = False
    #: the client sent timestamps and our SYN,ACK carried them (RFC 7323 §3)
    timestamps: bool = False
    #: ECN was agreed: an ECN-setup SYN answered by an ECN-setup SYN,ACK (RFC 3168 §6.1.1)
    ecn: bool = False


def mss_index(mss: int) -> int:
    """Index of the largest MSS_TABLE entry that is not above ``mss`` (0 if all are)."""
    idx = 0
    for i, v in enumerate(MSS_TABLE):
        if v <= mss:
            idx = i
    return idx


def _endpoint(addr: str, port: int) -> bytes:
    # The address as the host's parser spells it (canonical text, the same for the SYN and
    # the ACK): no per-SYN address parsing, which random spoofed sources would make costly.
    return addr.encode("ascii") + b"/" + port.to_bytes(2, "big")


class SynCookies:
    """Make and check SYN cookies with one secret (a listener's, or its host's)."""

    __slots__ = ("_hash", "period")

    def __init__(self, secret: bytes, period: int = PERIOD) -> None:
        if not isinstance(secret, (bytes, bytearray)):
            raise TypeError(f"secret must be bytes, got {type(secret).__name__}")
        if not SECRET_MIN <= len(secret) <= SECRET_MAX:
            raise ValueError(f"secret must be {SECRET_MIN}..{SECRET_MAX} bytes long, got {len(secret)}")
        if period <= 0:
            raise ValueError(f"period must be positive, not {period}")
        self._hash = hashlib.blake2b(key=bytes(secret), digest_size=4)
        self.period = period

    def __repr__(self) -> str:
        return f"SynCookies(secret=<hidden>, period={self.period})"

    def _mac(self, cid: tuple, irs: int, t: int, ts: bool, data: int) -> int:
        h = self._hash.copy()
        h.update(_endpoint(cid[0], cid[1]))
        h.update(_endpoint(cid[2], cid[3]))
        h.update(int(irs).to_bytes(4, "big"))
        h.update((t & 0xFFFFFFFFFFFF).to_bytes(6, "big"))
        h.update(bytes((1 if ts else 0, data & 0xFF)))
        return int.from_bytes(h.digest(), "big")

    @staticmethod
    def _option_bits(opts: CookieOptions) -> int:
        w = NO_WSCALE if opts.wscale is None else min(max(opts.wscale, 0), 14)
        return w | (0x10 if opts.sack else 0) | (0x20 if opts.ecn else 0)

    def make(self, cid: tuple, irs: Seq, opts: CookieOptions, now: int) -> Seq:
        """The cookie ISS for a SYN from ``cid`` = (local addr, local port, remote addr,
        remote port) whose SEG.SEQ was ``irs``. With ``opts.timestamps`` the option bits
        go in the TSval instead (:meth:`tsval`)."""
        t = now // self.period
        idx = mss_index(opts.mss)
        bits = self._option_bits(opts)
        if opts.timestamps:
            mac = self._mac(cid, irs, t, True, idx << TS_BITS | bits) & _MAC_TS
            return Seq((t & 0xF) << 28 | idx << 25 | mac)
        data = idx << 6 | bits
        mac = self._mac(cid, irs, t, False, data) & _MAC_PLAIN
        return Seq((t & 0xF) << 28 | data << 19 | mac)

    def tsval(self, tsval: int, opts: CookieOptions) -> int:
        """The TSval to send instead of ``tsval`` in a cookie SYN,ACK with timestamps: its
        low 6 bits carry the window scale and SACK-permitted, as Linux's
        ``cookie_init_timestamp`` does. It never exceeds ``tsval``, so our timestamps stay
        monotonic (RFC 7323 §5.4)."""
        bits = self._option_bits(opts)
        ts = (tsval & ~_TS_MASK & MASK) | bits
        if ts > tsval:
            ts = (ts - (1 << TS_BITS)) & MASK
        return ts

    def fresh(self, iss: Seq, now: int) -> bool:
        """Could ``iss`` (SEG.ACK - 1) be a cookie made in the last MAX_AGE periods? Only its
        time counter can tell without the client's ISN the MAC covers: a later segment of a
        cookie connection (beyond the first octet, SEG.SEQ - 1 is not that ISN) passes, and
        so do 2 in 16 random values."""
        return ((now // self.period) - (int(iss) >> 28)) & 0xF <= MAX_AGE

    def check(self, cid: tuple, irs: Seq, iss: Seq, now: int,
              tsecr: int | None = None) -> CookieOptions | None:
        """The options a valid cookie carries, or None. ``irs`` is SEG.SEQ - 1 and ``iss``
        SEG.ACK - 1 of the ACK that returns the cookie; ``tsecr`` its TSecr when it carries
        timestamps."""
        cookie = int(iss)
        t_now = now // self.period
        age = (t_now - (cookie >> 28)) & 0xF
        if age > MAX_AGE:
            return None
        t = t_now - age
        idx = (cookie >> 25) & 7
        if tsecr is not None:
            bits = tsecr & _TS_MASK
            if self._mac(cid, irs, t, True, idx << TS_BITS | bits) & _MAC_TS != cookie & _MAC_TS:
                return None
            ts = True
        else:
            data = (cookie >> 19) & 0x1FF
            bits = data & _TS_MASK
            if self._mac(cid, irs, t, False, data) & _MAC_PLAIN != cookie & _MAC_PLAIN:
                return None
            ts = False
        w = bits & 0xF
        return CookieOptions(MSS_TABLE[idx], None if w == NO_WSCALE else w, bool(bits & 0x10), ts,
                             bool(bits & 0x20))
