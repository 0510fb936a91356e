"""RFC 7323 helpers: the TSval clock, window-scale shift counts, and PAWS (§5).

Everything here is a pure function of its arguments: the connection owns the state
(``ts_recent``, ``ts_recent_age``, ``last_ack_sent``, the shift counts) and calls these.

The TSval clock (RFC 7323 §5.4) ticks once a millisecond, the finest rate the RFC allows for
PAWS to work (at most one tick per millisecond, at least one per second). It is derived from
``now`` (integer ns) plus a per-connection offset (RFC 7323 §7.1 recommends a random offset
per connection, so that TSvals reveal neither uptime nor a clock shared by connections).
synack has no randomness in the core (STYLE rule 1): a host's RFC 6528 generator gives each
4-tuple its offset, a keyed hash of the 4-tuple without the clock (``IsnGenerator.ts_offset``),
so TSvals differ from connection to connection, a trace replays byte for byte, and a new
incarnation of a 4-tuple goes on counting where the last one left off, which RFC 6191 needs
to let its SYN end a TIME-WAIT. Without such a generator (fixed ISNs in tests, a SYN
cookie's connection) the offset is :func:`ts_offset`, a mixing of the ISS.

Timestamp values are compared modulo 2**32 (RFC 7323 §5.2: "the timestamp values ... use
modular arithmetic"), like sequence numbers, through :func:`ts_lt`.
"""

from __future__ import annotations

from ..timeunits import NS_PER_MS
from ..wire.tcp import Timestamps

__all__ = [
    "TS_TICK", "PAWS_IDLE", "MAX_SHIFT", "ts_offset", "ts_clock", "ts_lt", "ts_rtt",
    "find_timestamps", "shift_for", "paws_rejects",
]

#: Nanoseconds per tick of the TSval clock: 1 ms (RFC 7323 §5.4).
TS_TICK = NS_PER_MS
#: TS.Recent becomes invalid after this much idleness (RFC 7323 §5.5: 24 days).
PAWS_IDLE = 24 * 24 * 3600 * 1_000_000_000
#: Largest window-scale shift count (RFC 7323 §2.3: "MUST use 14 instead").
MAX_SHIFT = 14

_MASK = 0xFFFFFFFF
_HALF = 0x80000000


def ts_offset(iss: int) -> int:
    """The per-connection TSval offset, a fixed 32-bit mixing of the ISS (Fibonacci
    hashing; see the module docstring)."""
    return (iss * 0x9E3779B1 >> 7) & _MASK


def ts_clock(now: int, offset: int) -> int:
    """TSval for ``now`` (ns): a 1 ms clock plus ``offset``, modulo 2**32."""
    return (now // TS_TICK + offset) & _MASK


def ts_lt(a: int, b: int) -> bool:
    """a < b for 32-bit timestamp values, modulo 2**32 (RFC 7323 §5.2)."""
    return ((a - b) & _MASK) >= _HALF


def ts_rtt(tsval_now: int, tsecr: int) -> int:
    """RTT in ns from the TSecr an ACK echoed (RFC 7323 §4.1, RTTM): now minus the TSval we
    sent, in ticks, converted to ns; 0 if the echo lies in the future (a bad peer)."""
    d = (tsval_now - tsecr) & _MASK
    return 0 if d >= _HALF else d * TS_TICK


def find_timestamps(options: tuple):
    """The Timestamps option of an option tuple, or None. The layout RFC 7323 Appendix A
    recommends (NOP, NOP, TS) is found at index 2 without a scan."""
    if len(options) > 2 and type(options[2]) is Timestamps:
        return options[2]
    for o in options:
        if type(o) is Timestamps:
            return o
    return None


def shift_for(rcv_buf: int) -> int:
    """Rcv.Wind.Shift for a receive buffer (RFC 7323 §2.2/§2.3): the smallest shift count
    whose scaled 16-bit field, rounded up, covers ``rcv_buf`` (0 when it fits unscaled)."""
    s = 0
    while s < MAX_SHIFT and (rcv_buf + (1 << s) - 1) >> s > 0xFFFF:
        s += 1
    return s


def paws_rejects(tsval: int, ts_recent: int, ts_recent_age: int, now: int) -> bool:
    """RFC 7323 §5.3 R1: the segment is an old duplicate when SEG.TSval < TS.Recent and
    TS.Recent is still valid (updated less than 24 days ago, §5.5)."""
    return ts_lt(tsval, ts_recent) and now - ts_recent_age <= PAWS_IDLE
