"""ICMP errors at the host: passed to the connection they are about, and sent as a REJECT.

RFC 9293 §3.9.2.2: a TCP implementation MUST act on ICMP errors passed up from IP,
directing each to the connection that caused it (MUST-54) through the TCP header quoted
inside; it MUST silently discard Source Quench (MUST-55); it MUST NOT abort on soft errors
(MUST-56: IPv4 Destination Unreachable codes 0, 1, 5, Time Exceeded, Parameter Problem;
IPv6 Destination Unreachable codes 0 and 3, Time Exceeded, Parameter Problem) but SHOULD
make them available to the application (SHLD-25); it SHOULD abort on hard errors
(SHLD-26). Which codes are hard beyond RFC 9293's list, and the errno each becomes, follow
Linux's ``icmp_err_convert`` / ``icmpv6_err_convert`` tables. Fragmentation Needed and
Packet Too Big shrink the segment size (RFC 1191, RFC 8201) and never abort.

Before acting, the quoted sequence number must lie in SND.UNA..SND.NXT (RFC 5927 §4.1,
as Linux checks): an off-path attacker cannot then reset connections with forged ICMP
without guessing that window.

:func:`deliver` is what :meth:`Host.deliver <synack.stack.host.Host.deliver>` calls for a
packet that is not TCP, whatever link brought it (the simulator, TUN). :func:`reject`
answers a segment for a closed port with an ICMP error instead of an RST when the host's
``reject_with`` says so, as a firewall's REJECT rule or a host without TCP does. Both work
on the host's :class:`~synack.stack.demux.ConnectionTable` and the services it lends.
"""

from __future__ import annotations


from ..trace.events import IcmpEvent, SegmentDropped
from ..wire.errors import MalformedPacket
from ..wire.icmp import (DEST_UNREACH, PARAM_PROBLEM, PROTO_ICMP, PROTO_ICMPV6, SOURCE_QUENCH,
                         TIME_EXCEEDED, V6_DEST_UNREACH, V6_PACKET_TOO_BIG, V6_PARAM_PROBLEM,
                         V6_TIME_EXCEEDED, emit_icmp_error, parse_icmp)
from ..wire.ip import _parse_ip
from ..wire.tcp import RST, TcpSegment
from .demux import ConnectionTable, HostServices

#: IPv4 Destination Unreachable code -> (reason, hard). Hard as Linux's icmp_err_convert
#: has ``fatal``; RFC 9293 MUST-56 codes 0, 1, 5 are soft; code 4 is PMTU discovery.
_V4_UNREACH = {
    0: ("net-unreachable", False), 1: ("host-unreachable", False),
    2: ("protocol-unreachable", True), 3: ("port-unreachable", True),
    4: ("frag-needed", False), 5: ("source-route-failed", False),
    6: ("net-unknown", True), 7: ("host-unknown", True), 8: ("host-isolated", True),
    9: ("net-prohibited", True), 10: ("host-prohibited", True),
    11: ("net-unreachable", False), 12: ("host-unreachable", False),
    13: ("packet-filtered", True), 14: ("precedence", True), 15: ("precedence", True),
}
#: IPv6 Destination Unreachable code -> (reason, hard) (RFC 4443 §3.1; MUST-56: 0, 3 soft).
_V6_UNREACH = {
    0: ("net-unreachable", False), 1: ("admin-prohibited", True), 2: ("beyond-scope", False),
    3: ("address-unreachable", False), 4: ("port-unreachable", True),
    5: ("policy-failed", True), 6: ("reject-route", True),
}

#: ``Host.reject_with`` values -> (IPv4 (type, code), IPv6 (type, code)), as iptables'
#: and ip6tables' ``--reject-with`` spell them.
REJECTS = {
    "icmp-net-unreachable": ((DEST_UNREACH, 0), (V6_DEST_UNREACH, 0)),
    "icmp-host-unreachable": ((DEST_UNREACH, 1), (V6_DEST_UNREACH, 3)),
    "icmp-proto-unreachable": ((DEST_UNREACH, 2), (V6_PARAM_PROBLEM, 1)),
    "icmp-port-unreachable": ((DEST_UNREACH, 3), (V6_DEST_UNREACH, 4)),
    "icmp-admin-prohibited": ((DEST_UNREACH, 13), (V6_DEST_UNREACH, 1)),
}


def check_reject(value: str) -> str:
    """Validate a ``reject_with`` value; ValueError lists the allowed ones."""
    if value in ("tcp-reset", "drop") or value in REJECTS:
        return value
    raise ValueError(f"reject_with must be one of tcp-reset, drop, {', '.join(REJECTS)}; not {value!r}")


def classify(version: int, type_: int, code: int) -> tuple[str, bool] | None:
    """(reason, hard) for an ICMP error, "source-quench" for Source Quench, None for a
    message TCP does not act on (echo, redirect, unknown types and codes)."""
    if version == 4:
        if type_ == DEST_UNREACH:
            return _V4_UNREACH.get(code)
        if type_ == SOURCE_QUENCH:
            return ("source-quench", False)
        if type_ == TIME_EXCEEDED:
            return ("ttl-exceeded", False)
        if type_ == PARAM_PROBLEM:
            return ("parameter-problem", False)
        return None
    if type_ == V6_DEST_UNREACH:
        return _V6_UNREACH.get(code)
    if type_ == V6_PACKET_TOO_BIG:
        return ("frag-needed", False)
    if type_ == V6_TIME_EXCEEDED:
        return ("ttl-exceeded", False)
    if type_ == V6_PARAM_PROBLEM:
        return ("parameter-problem", False)  # MUST-56 (Linux treats it as fatal)
    return None


def _event(host: HostServices, now: int, conn, hdr, msg, kind: str, action: str, detail: str = "") -> None:
    tr = host.tracer
    if tr.on:
        tr.emit(IcmpEvent(now, host.name, conn, hdr.src, hdr.dst, msg.version, msg.type, msg.code,
                          kind, action, detail))


def deliver(table: ConnectionTable, packet: bytes, now: int) -> None:
    """A packet that is not TCP reached the host of ``table``: act on it if it is an ICMP
    error about one of its connections (RFC 9293 §3.9.2.2), else drop it (traced)."""
    host = table.host
    tr = host.tracer
    try:
        hdr, payload, _ = _parse_ip(packet)
        if hdr.proto != (PROTO_ICMP if hdr.version == 4 else PROTO_ICMPV6):
            raise MalformedPacket("not-tcp", f"IP protocol {hdr.proto}")
        msg = parse_icmp(payload, hdr.src, hdr.dst, hdr.version)
    except MalformedPacket as e:
        if tr.on:
            tr.emit(SegmentDropped(now, host.name, None, "", "", None, e.reason, e.detail))
        return
    if not host.owns(hdr.dst):
        _event(host, now, None, hdr, msg, "", "ignored", "not addressed to this host")
        return
    cls = classify(msg.version, msg.type, msg.code)
    if cls is None or msg.orig is None:
        _event(host, now, None, hdr, msg, "", "ignored", f"ICMPv{msg.version} type {msg.type} code {msg.code}: "
                                                          "not an error TCP acts on")
        return
    kind, hard = cls
    if kind == "source-quench":
        _event(host, now, None, hdr, msg, kind, "ignored", "RFC 9293 §3.9.2.2 MUST-55: silently discarded")
        return
    orig = msg.orig
    if orig.proto != 6 or orig.seq is None:
        _event(host, now, None, hdr, msg, kind, "ignored", f"about IP protocol {orig.proto}, not a TCP segment")
        return
    key = (orig.src, orig.src_port, orig.dst, orig.dst_port)
    conn = table.conns.get(key)
    if conn is None:
        _event(host, now, None, hdr, msg, kind, "ignored", "no connection matches the quoted segment")
        return
    # RFC 5927 §4.1: the quoted segment must be one we may still have in flight.
    if not (conn.snd_una.le(orig.seq) and orig.seq.le(conn.snd_nxt)):
        _event(host, now, key, hdr, msg, kind, "ignored",
               f"quoted seq {int(orig.seq)} outside SND.UNA..SND.NXT (RFC 5927 §4.1)")
        return
    detail = f"ICMPv{msg.version} {kind} (type {msg.type} code {msg.code}) from {hdr.src}"
    mtu = msg.mtu
    action = conn.icmp_received(kind, hard, now, mtu=mtu, detail=detail)
    _event(host, now, key, hdr, msg, kind, action,
           detail + (f", MTU {mtu}" if mtu else "") + ("" if action != "soft" else " (MUST-56: not aborted)"))
    host.updated(conn, now)  # what the connection does about it (a retransmission, an RST...)


def reject(table: ConnectionTable, packet: bytes, src: str, dst: str, seg: TcpSegment, now: int) -> None:
    """Answer ``packet`` (a segment from ``src`` to ``dst`` for no connection and no
    listener) as the host's ``reject_with`` says: an ICMP error, or nothing for "drop". An
    RST is never answered (RFC 9293 §3.10.7.1)."""
    host = table.host
    how = host.reject_with
    if how == "drop" or seg.flags & RST:
        return
    version = 6 if ":" in dst else 4
    v4, v6 = REJECTS[how]
    type_, code = v4 if version == 4 else v6
    info = 0
    if version == 6 and type_ == V6_PARAM_PROBLEM:
        info = 6  # the pointer: the Next Header octet of the IPv6 header (RFC 4443 §3.4)
    host.send_packet(emit_icmp_error(dst, packet, type_, code, info, host.ttl))
    tr = host.tracer
    if tr.on:
        tr.emit(IcmpEvent(now, host.name, None, dst, src, version, type_, code, how[5:],
                          "sent", f"REJECT of {src}:{seg.src_port} -> port {seg.dst_port}"))
