"""Packets between script space and the wire.

A script writes sequence numbers relative to each side's initial sequence number, as
tcpdump prints them; the live connection uses real ones. A :class:`Flow` is one
connection the script talks to: its addresses and ports, and the offsets that map the
script's numbers to live ones in both directions (the stack's own ISN, learnt from its
SYN or SYN,ACK; the scripted peer's, a random offset chosen when the script's SYN is
sent). Inbound lines become IP packets (:func:`inbound_packet`); outbound packets are
mapped back to script space and compared field by field with the line that expects them
(:func:`compare_tcp`). Both are shown the way tcpdump prints a segment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..wire.icmp import emit_icmp
from ..wire.ip import emit_packet
from ..wire.seq import Seq
from ..wire.tcp import (ACK, CWR, ECE, FIN, NS, PSH, RST, SYN, URG, Eol, FastOpen, Mss, Nop, Sack,
                        SackPermitted, TcpSegment, Timestamps, UnknownOption, WindowScale)
from . import model as m

MASK = 0xFFFFFFFF
FLAG_BITS = {"F": FIN, "S": SYN, "R": RST, "P": PSH, ".": ACK, "U": URG, "E": ECE, "W": CWR, "A": NS}
_LETTERS = ((FIN, "F"), (SYN, "S"), (RST, "R"), (PSH, "P"), (ACK, "."), (URG, "U"), (ECE, "E"),
            (CWR, "W"), (NS, "A"))
ECN_CODES = {"noecn": 0, "ect1": 1, "ect0": 2, "ce": 3}
_ECN_NAMES = {0: "noecn", 1: "ect1", 2: "ect0", 3: "ce"}
FASTOPEN_EXP_MAGIC = b"\xf9\x89"

# ICMP types and codes by the names scripts use (packetdrill's, which follow tcpdump).
ICMP4_TYPES = {"echo_reply": 0, "unreachable": 3, "source_quench": 4, "redirect": 5, "echo_request": 8,
               "time_exceeded": 11, "parameter_problem": 12, "timestamp_request": 13,
               "timestamp_reply": 14}
ICMP4_UNREACH = {"net_unreachable": 0, "host_unreachable": 1, "protocol_unreachable": 2,
                 "port_unreachable": 3, "frag_needed": 4, "source_route_failed": 5, "net_unknown": 6,
                 "host_unknown": 7, "source_host_isolated": 8, "net_prohibited": 9,
                 "host_prohibited": 10, "net_unreachable_for_tos": 11, "host_unreachable_for_tos": 12,
                 "packet_filtered": 13, "precedence_violation": 14, "precedence_cutoff": 15}
ICMP6_TYPES = {"unreachable": 1, "packet_too_big": 2, "time_exceeded": 3, "parameter_problem": 4,
               "echo_request": 128, "echo_reply": 129}
ICMP6_UNREACH = {"net_unreachable": 0, "no_route": 0, "admin_prohibited": 1, "not_neighbour": 2,
                 "address_unreachable": 3, "port_unreachable": 4}
ICMP6_CODES = {"exceeded_hop_limit": 0, "exceeded_frag_time": 1, "header_field": 0,
               "unknown_next_header": 1, "unknown_option": 2}


def flag_bits(text: str) -> int:
    bits = 0
    for ch in text:
        bits |= FLAG_BITS[ch]
    return bits


def flag_text(bits: int) -> str:
    return "".join(c for b, c in _LETTERS if bits & b) or "none"


class PacketError(ValueError):
    """A packet line that cannot become a packet (an unknown ICMP type, ...)."""


@dataclass
class Flow:
    """One connection as the script sees it (packetdrill's "socket under test")."""

    version: int
    local_addr: str          # the stack under test
    remote_addr: str         # the scripted peer
    local_port: int
    remote_port: int
    #: live = script + remote_off for the peer's sequence numbers (mod 2**32)
    remote_off: int = 0
    #: live = script + local_off for the stack's sequence numbers; None until learnt
    local_off: int | None = None
    #: script TS val -> live TS val, from outbound lines that spell TS values
    ts_map: dict[int, int] = field(default_factory=dict)
    ts_first: tuple[int, int] | None = None
    #: the latest TSval the stack sent
    last_tsval: int | None = None
    #: True for a connection the stack opened (its SYN made the flow)
    active: bool = False
    #: the script's sequence number of the peer's latest SYN; a SYN with another one
    #: starts a new incarnation, whose SYN,ACK teaches the stack's new ISN
    peer_syn: int | None = None
    relearn: bool = False

    # ---- script -> live
    def live_remote(self, seq: int) -> int:
        return (seq + self.remote_off) & MASK

    def live_local(self, seq: int) -> int:
        return (seq + (self.local_off or 0)) & MASK

    def script_local(self, seq: int) -> int:
        return (seq - (self.local_off or 0)) & MASK

    def script_remote(self, seq: int) -> int:
        return (seq - self.remote_off) & MASK

    def live_ecr(self, ecr: int) -> int:
        """The live TSecr for the script's: the TSval an outbound line named, else
        interpolated from the first one, else the stack's latest TSval."""
        if ecr in self.ts_map:
            return self.ts_map[ecr]
        if ecr == 0:
            return 0
        if self.ts_first is not None:
            s, live = self.ts_first
            return (ecr - s + live) & MASK
        if self.last_tsval is not None:
            return self.last_tsval
        return ecr

    def learn_outbound(self, spec: m.TcpPacket, seg: TcpSegment) -> None:
        """Remember what an outbound segment tells: the stack's ISN (from its first SYN
        or SYN,ACK, or whatever it sent first) and the script's names for its TSvals."""
        if self.local_off is None:
            self.local_off = (int(seg.seq) - spec.seq) & MASK
        ts = seg.option(Timestamps)
        if isinstance(ts, Timestamps):
            self.last_tsval = ts.tsval
            if spec.options:
                for o in spec.options:
                    if o.kind == "TS":
                        self.ts_map[o.val] = ts.tsval
                        if self.ts_first is None:
                            self.ts_first = (o.val, ts.tsval)


# ----------------------------------------------------------------------------- inbound
def _wire_options(opts: tuple[m.OptionSpec, ...], flow: Flow) -> tuple:
    out: list = []
    for o in opts:
        k = o.kind
        if k == "nop":
            out.append(Nop())
        elif k == "eol":
            out.append(Eol())
        elif k == "mss":
            out.append(Mss(o.value))
        elif k == "wscale":
            out.append(WindowScale(o.value))
        elif k == "sackOK":
            out.append(SackPermitted())
        elif k == "sack":
            out.append(Sack(tuple((Seq(flow.live_local(a)), Seq(flow.live_local(b))) for a, b in o.blocks)))
        elif k == "TS":
            out.append(Timestamps(o.val, flow.live_ecr(o.ecr)))
        elif k == "FO":
            out.append(FastOpen(o.cookie))
        elif k == "FOEXP":
            out.append(UnknownOption(254, FASTOPEN_EXP_MAGIC + o.cookie))
    return tuple(out)


def inbound_segment(spec: m.TcpPacket, flow: Flow) -> TcpSegment:
    bits = flag_bits(spec.flags)
    ack = flow.live_local(spec.ack) if spec.ack is not None else 0
    return TcpSegment(spec.src_port if spec.src_port is not None else flow.remote_port,
                      spec.dst_port if spec.dst_port is not None else flow.local_port,
                      Seq(flow.live_remote(spec.seq)), Seq(ack), bits, spec.win or 0,
                      bytes(spec.length), _wire_options(spec.options or (), flow), spec.urg)


def inbound_packet(spec: m.TcpPacket, flow: Flow) -> bytes:
    """The IP packet an inbound (``<``) line sends."""
    ecn = ECN_CODES.get(spec.ecn or "noecn", 0)
    if spec.tos is not None:
        ecn = spec.tos & 3
    return emit_packet(flow.remote_addr, flow.local_addr, inbound_segment(spec, flow), 64, ecn)


def icmp_type_code(spec: m.IcmpPacket, version: int) -> tuple[int, int]:
    types = ICMP4_TYPES if version == 4 else ICMP6_TYPES
    name = spec.type_name
    if name.startswith("type_") and name[5:].isdigit():
        t = int(name[5:])
    elif name in types:
        t = types[name]
    else:
        raise PacketError(f"unknown ICMP{'' if version == 4 else 'v6'} type {name!r} "
                          f"(known: {', '.join(sorted(types))})")
    c = 0
    cn = spec.code_name
    if cn is not None:
        if cn.startswith("code_") and cn[5:].isdigit():
            c = int(cn[5:])
        else:
            codes = (ICMP4_UNREACH if version == 4 else ICMP6_UNREACH) if name == "unreachable" else ICMP6_CODES
            if cn not in codes:
                raise PacketError(f"unknown ICMP code {cn!r} for type {name!r}")
            c = codes[cn]
    if t > 255 or c > 255:
        raise PacketError("ICMP type and code must fit in one octet")
    return t, c


def inbound_icmp(spec: m.IcmpPacket, flow: Flow) -> bytes:
    """The ICMP error an inbound ICMP line sends: from the peer's address, quoting the IP
    header and first eight octets (ports and sequence number) of a segment the stack sent."""
    t, c = icmp_type_code(spec, flow.version)
    info = 0
    if spec.mtu is not None:
        if flow.version == 4 and not (t == 3 and c == 4):
            raise PacketError("mtu is only valid for an IPv4 'unreachable frag_needed'")
        if flow.version == 6 and t != 2:
            raise PacketError("mtu is only valid for an IPv6 'packet_too_big'")
        info = spec.mtu & (0xFFFF if flow.version == 4 else MASK)
    seq, length = spec.echoed if spec.echoed is not None else (0, 0)
    quoted_seg = TcpSegment(flow.local_port, flow.remote_port, Seq(flow.live_local(seq)), Seq(0), ACK, 0,
                            bytes(length))
    quoted = emit_packet(flow.local_addr, flow.remote_addr, quoted_seg)
    hlen = 20 if flow.version == 4 else 40
    return emit_icmp(flow.remote_addr, flow.local_addr, t, c, info, quoted[:hlen + 8])


# ----------------------------------------------------------------------------- outbound
def _option_kind(o: object) -> str:
    t = type(o)
    return {Mss: "mss", WindowScale: "wscale", SackPermitted: "sackOK", Sack: "sack", Timestamps: "TS",
            Nop: "nop", Eol: "eol", FastOpen: "FO"}.get(t) or (
        "FOEXP" if t is UnknownOption and o.data[:2] == FASTOPEN_EXP_MAGIC  # type: ignore[attr-defined]
        else f"unknown-{getattr(o, 'kind', '?')}")


def script_options(seg: TcpSegment, flow: Flow) -> tuple[m.OptionSpec, ...]:
    """The segment's options in script space (SACK blocks relative to the peer's ISN)."""
    out = []
    for o in seg.options:
        k = _option_kind(o)
        if k == "mss":
            out.append(m.OptionSpec(k, o.value))
        elif k == "wscale":
            out.append(m.OptionSpec(k, o.shift))
        elif k == "sack":
            out.append(m.OptionSpec(k, blocks=tuple((flow.script_remote(int(a)), flow.script_remote(int(b)))
                                                    for a, b in o.blocks)))
        elif k == "TS":
            out.append(m.OptionSpec(k, val=o.tsval, ecr=o.tsecr))
        elif k == "FO":
            out.append(m.OptionSpec(k, cookie=o.cookie))
        elif k == "FOEXP":
            out.append(m.OptionSpec(k, cookie=o.data[2:]))
        else:
            out.append(m.OptionSpec(k))
    return tuple(out)


@dataclass
class Actual:
    """An outbound segment (possibly several back-to-back ones merged, as a TSO/GSO
    device would hand them over) in script space."""

    flags: int
    seq: int
    length: int
    ack: int
    win: int
    urg: int
    options: tuple[m.OptionSpec, ...]
    ecn: int
    tos: int
    payload: bytes
    ttl: int = 64
    segments: int = 1
    sizes: tuple[int, ...] = ()


def to_script(seg: TcpSegment, flow: Flow, tos: int, ttl: int = 64) -> Actual:
    return Actual(seg.flags, flow.script_local(int(seg.seq)), len(seg.payload),
                  flow.script_remote(int(seg.ack)) if seg.flags & ACK else 0, seg.wnd, seg.urg_ptr,
                  script_options(seg, flow), tos & 3, tos, seg.payload, ttl)


def merge(first: Actual, more: Actual) -> Actual:
    """``first`` followed by the contiguous segment ``more``, as one aggregate."""
    return Actual(first.flags & ~(PSH | FIN) | more.flags, first.seq, first.length + more.length, more.ack,
                  more.win, more.urg, more.options, more.ecn, more.tos, first.payload + more.payload, more.ttl,
                  first.segments + more.segments, (first.sizes or (first.length,)) + (more.sizes or (more.length,)))


def _option_text(o: m.OptionSpec) -> str:
    k = o.kind
    if k in ("mss", "wscale"):
        return f"{k} {o.value}"
    if k == "sack":
        return "sack " + " ".join(f"{a}:{b}" for a, b in o.blocks)
    if k == "TS":
        return f"TS val {o.val} ecr {o.ecr}"
    if k in ("FO", "FOEXP"):
        return f"{k} {o.cookie.hex()}" if o.cookie else k
    return k


def describe_expected(spec: m.TcpPacket) -> str:
    """The line's packet in tcpdump form; what it leaves unchecked says ``any``."""
    n = spec.length
    parts = [f"Flags [{flag_text(flag_bits(spec.flags))}]",
             f"seq {spec.seq}:{spec.seq + n}" if n else f"seq {spec.seq}"]
    if spec.ack is not None:
        parts.append(f"ack {spec.ack}")
    parts.append(f"win {spec.win}" if spec.win is not None else "win any")
    if spec.urg:
        parts.append(f"urg {spec.urg}")
    if spec.options is None:
        parts.append("options [any]")
    elif spec.options:
        parts.append("options [" + ",".join(_option_text(o) for o in spec.options) + "]")
    parts.append(f"length {n}")
    if spec.ecn:
        parts.append(f"[{spec.ecn}]")
    if spec.tos is not None:
        parts.append(f"[tos {spec.tos:#04x}]")
    if spec.ttl is not None:
        parts.append(f"[ttl {spec.ttl}]")
    return ", ".join(parts)


def describe_actual(a: Actual) -> str:
    n = a.length
    parts = [f"Flags [{flag_text(a.flags)}]", f"seq {a.seq}:{(a.seq + n) & MASK}" if n else f"seq {a.seq}"]
    if a.flags & ACK:
        parts.append(f"ack {a.ack}")
    parts.append(f"win {a.win}")
    if a.flags & URG or a.urg:
        parts.append(f"urg {a.urg}")
    if a.options:
        parts.append("options [" + ",".join(_option_text(o) for o in a.options) + "]")
    parts.append(f"length {n}")
    if a.ecn:
        parts.append(f"[{_ECN_NAMES[a.ecn]}]")
    if a.tos & ~3:
        parts.append(f"[tos {a.tos:#04x}]")
    if a.ttl != 64:
        parts.append(f"[ttl {a.ttl}]")
    if a.segments > 1:
        parts.append(f"({a.segments} segments: {' + '.join(map(str, a.sizes))})")
    return ", ".join(parts)


_CHECKED = ((SYN, "SYN"), (RST, "RST"), (ACK, "ACK"), (URG, "URG"), (ECE, "ECE"), (CWR, "CWR"), (NS, "AE"),
            (FIN, "FIN"), (PSH, "PSH"))


def compare_tcp(spec: m.TcpPacket, a: Actual) -> str | None:
    """Why the actual segment is not the one the line expects, or None when it is.

    As packetdrill: the TS option must be where the line puts it, but its values are not
    compared (they are the stack's clock); every other option is compared exactly."""
    want = flag_bits(spec.flags)
    if a.length != spec.length:
        more = f" in {a.segments} segments ({' + '.join(map(str, a.sizes))})" if a.segments > 1 else ""
        return f"payload: expected {spec.length} octets vs actual {a.length}{more}"
    if a.seq != spec.seq:
        return f"seq: expected {spec.seq} vs actual {a.seq}"
    for bit, name in _CHECKED:
        if (want & bit) != (a.flags & bit):
            return (f"flag {name} expected {'set' if want & bit else 'clear'} but is "
                    f"{'set' if a.flags & bit else 'clear'} (flags [{flag_text(want)}] vs [{flag_text(a.flags)}])")
    if want & ACK and spec.ack is not None and a.ack != spec.ack:
        return f"ack: expected {spec.ack} vs actual {a.ack}"
    if spec.win is not None and a.win != spec.win:
        return f"win: expected {spec.win} vs actual {a.win}"
    if a.urg != spec.urg:
        return f"urgent pointer: expected {spec.urg} vs actual {a.urg}"
    if spec.ecn is not None:
        if spec.ecn == "ect01":
            if a.ecn not in (1, 2):
                return f"IP ECN field: expected ECT(0) or ECT(1) vs actual {_ECN_NAMES[a.ecn]}"
        elif ECN_CODES[spec.ecn] != a.ecn:
            return f"IP ECN field: expected {spec.ecn} vs actual {_ECN_NAMES[a.ecn]}"
    if spec.tos is not None and spec.tos != a.tos:
        return f"IP TOS octet: expected {spec.tos:#04x} vs actual {a.tos:#04x}"
    if spec.ttl is not None and spec.ttl != a.ttl:
        return f"IP TTL (hop limit): expected {spec.ttl} vs actual {a.ttl}"
    if any(a.payload):
        return "payload: the data is not the zero octets the script wrote"
    if spec.options is not None:
        got = a.options
        exp = spec.options
        if [o.kind for o in got] != [o.kind for o in exp]:
            return ("options: expected [" + ",".join(o.kind for o in exp) + "] vs actual ["
                    + ",".join(o.kind for o in got) + "]")
        for e, g in zip(exp, got, strict=False):
            if e.kind in ("mss", "wscale") and e.value != g.value:
                return f"option {e.kind}: expected {e.value} vs actual {g.value}"
            if e.kind == "sack" and e.blocks != g.blocks:
                return f"option sack: expected {_option_text(e)[5:]} vs actual {_option_text(g)[5:]}"
            if e.kind in ("FO", "FOEXP") and e.cookie != g.cookie:
                return (f"option {e.kind}: expected cookie {e.cookie.hex() or '(none)'} "
                        f"vs actual {g.cookie.hex() or '(none)'}")
    return None
