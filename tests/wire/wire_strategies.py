"""Shared helpers for the wire tests: Hypothesis strategies, a reference checksum, and
type-aware comparison of segments.

Why type-aware: the option values are NamedTuples, and tuples compare by contents only,
so ``Eol() == Nop() == SackPermitted() == ()`` and ``Mss(7) == WindowScale(7)``. A round
trip test that compared with ``==`` alone could not see one option turn into another.
"""

from __future__ import annotations

import struct
from typing import Any

from hypothesis import strategies as st

from synack.wire.seq import Seq
from synack.wire.tcp import (
    ACK, FIN, SYN, Eol, FastOpen, Mss, Nop, Sack, SackPermitted, TcpSegment, Timestamps,
    UnknownOption, WindowScale,
)

U16 = st.integers(0, 0xFFFF)
U32 = st.integers(0, 0xFFFFFFFF)
SEQS = U32.map(Seq)

KNOWN_KINDS = {0, 1, 2, 3, 4, 5, 8, 34, 254}
UNKNOWN_KINDS = sorted(set(range(2, 256)) - KNOWN_KINDS)

V4 = st.ip_addresses(v=4).map(str)
V6 = st.ip_addresses(v=6).map(str)
ADDR_PAIRS = st.one_of(st.tuples(V4, V4), st.tuples(V6, V6))


# --- reference implementations ------------------------------------------------------------

def ref_checksum(data: bytes, initial: int = 0) -> int:
    """RFC 1071 word by word, with end-around carry: the obvious, slow way."""
    if len(data) % 2:
        data += b"\x00"
    s = initial
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    for i in range(0, len(data), 2):
        s += (data[i] << 8) | data[i + 1]
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ref_pseudo_header(src: bytes, dst: bytes, length: int, proto: int = 6) -> bytes:
    """The pseudo-header spelled out: RFC 9293 §3.1 Figure 2, or RFC 8200 §8.1."""
    if len(src) == 4:
        return src + dst + bytes((0, proto)) + struct.pack("!H", length)
    return src + dst + struct.pack("!I", length) + b"\x00\x00\x00" + bytes((proto,))


def option_size(o) -> int:
    """Encoded size of one option, written out independently of the encoder."""
    t = type(o)
    if t in (Eol, Nop):
        return 1
    return {Mss: 4, WindowScale: 3, SackPermitted: 2, Timestamps: 10}.get(t) or (
        2 + 8 * len(o.blocks) if t is Sack else
        2 + len(o.cookie) if t is FastOpen else
        2 + len(o.data)
    )


def canonical(seg: TcpSegment) -> TcpSegment:
    """What ``parse(emit(seg))`` gives: a final Eol not on a word boundary is padding."""
    opts = seg.options
    if opts and type(opts[-1]) is Eol and sum(option_size(o) for o in opts[:-1]) % 4:
        return seg._replace(options=opts[:-1])
    return seg


def typed(x):
    """A comparison key that also sees the types of options, sequence numbers and flags."""
    if isinstance(x, TcpSegment):
        return (
            "TcpSegment", x.src_port, x.dst_port, type(x.seq).__name__, int(x.seq),
            type(x.ack).__name__, int(x.ack), type(x.flags).__name__, int(x.flags), x.wnd,
            bytes(x.payload), tuple(typed(o) for o in x.options), x.urg_ptr,
        )
    if isinstance(x, Sack):
        return ("Sack", tuple((type(a).__name__, int(a), type(b).__name__, int(b)) for a, b in x.blocks))
    if isinstance(x, tuple):
        return (type(x).__name__,) + tuple(x)
    return x


# --- strategies ---------------------------------------------------------------------------

SINGLE_OPTIONS = st.one_of(
    st.just(Nop()),
    st.builds(Mss, U16),
    st.builds(WindowScale, st.integers(0, 255)),
    st.just(SackPermitted()),
    st.builds(Timestamps, U32, U32),
    st.lists(st.tuples(SEQS, SEQS), min_size=1, max_size=4).map(lambda b: Sack(tuple(b))),
    st.builds(FastOpen, st.binary(max_size=16)),
    st.builds(UnknownOption, st.sampled_from(UNKNOWN_KINDS), st.binary(max_size=12)),
)


@st.composite
def option_lists(draw, eol=None):
    """Option lists that fit in 40 octets; ``eol`` True/False forces a final Eol or none."""
    opts, size = [], 0
    for o in draw(st.lists(SINGLE_OPTIONS, max_size=12)):
        n = option_size(o)
        if size + n <= 39:  # leave room for a final Eol
            opts.append(o)
            size += n
    if eol is None:
        eol = draw(st.booleans())
    if eol:
        opts.append(Eol())
    return tuple(opts)


FLAGS = st.integers(0, 0x1FF).filter(lambda f: f & 3 != 3)


@st.composite
def segments(draw, options=None, max_payload=64):
    """Any segment the parser can return (not SYN+FIN)."""
    return TcpSegment(
        draw(U16), draw(U16), draw(SEQS), draw(SEQS), draw(FLAGS), draw(U16),
        draw(st.binary(max_size=max_payload)),
        draw(options if options is not None else option_lists()),
        draw(U16),
    )


def syn(seq=0, **kw) -> TcpSegment:
    base: dict[str, Any] = dict(src_port=40000, dst_port=80, seq=Seq(seq), ack=Seq(0), flags=SYN, wnd=65535)
    base.update(kw)
    return TcpSegment(**base)


__all__ = [
    "ACK", "FIN", "SYN", "ADDR_PAIRS", "U16", "U32", "SEQS", "V4", "V6", "UNKNOWN_KINDS",
    "ref_checksum", "ref_pseudo_header", "option_size", "canonical", "typed",
    "SINGLE_OPTIONS", "option_lists", "segments", "syn", "FLAGS",
]
