"""Packet captures: write a trace as pcapng, read pcap and pcapng back as trace records.

:func:`write_pcapng` puts every segment a host sent into a pcapng file that Wireshark and
tshark open: one Section Header Block, one Interface Description Block (``LINKTYPE_RAW``:
bare IPv4/IPv6 packets, timestamps in nanoseconds of simulated time, ``if_tsresol`` = 9),
one Name Resolution Block (address -> host name, so Wireshark can show ``client`` and
``server``), and one Enhanced Packet Block per ``send`` event, holding the IP packet
re-encoded with ``synack.wire.ip.emit_packet``: the same bytes the host put on the link,
checksums included. A packet the network then lost is still in the file (it was sent);
its comment says so. Comments (``opt_comment``, one per fact) name:

- the state changes the segment caused: ``client: CLOSED -> SYN-SENT (active OPEN; RFC 9293
  §3.10.1)`` on the sending side (the call or timer that sent it), ``server: LISTEN ->
  SYN-RECEIVED (SYN received; RFC 9293 §3.10.7.2)`` on the receiving side, and connection
  errors it caused (``client: error: connection refused``);
- ``retransmission: <cause>`` (``rto``, ``fast-retransmit``, ...) with the detail
  (``RTO #2, rto=2.0s``), or ``cause: <cause>`` for other reasons (a zero-window probe);
- ``lost: <reason>`` when the network dropped it, ``<host> discarded it: <reason>`` when
  the receiver did.

:func:`read_capture` reads classic pcap (both byte orders, micro- and nanosecond
timestamps) and pcapng, with link types RAW, IPv4, IPv6, ETHERNET (with VLAN tags),
LINUX_SLL, LINUX_SLL2, NULL and LOOP, into the records of ``synack.trace.records``: one
``send`` record per TCP packet, named by host (``names``, then the file's Name Resolution
Block, then the address). A packet that does not parse becomes a ``drop`` record, never
an exception; packets that are not TCP over IP are skipped. The comments written above are
read back: ``retransmit``/``cause`` of the send, and a ``drop`` record for a lost one, so
``read_capture(write_pcapng(events))`` gives the ``send`` records and the network's
``drop`` records of ``to_records(events)``.

The TCP checksum of captured packets is not checked: captures from a loopback interface
carry checksums the kernel never filled in (offload).
"""

from __future__ import annotations

import ipaddress
import os
import re
import struct
import warnings
from typing import Any
from collections.abc import Callable, Iterable, Iterator, Mapping

from .. import __version__
from ..wire.errors import MalformedPacket
from ..wire.ip import emit_packet, parse_packet
from .records import endpoint, event_record, match_segments, segment_notes, segment_record

__all__ = ["write_pcapng", "read_capture", "packet_comments", "LINKTYPE_RAW", "CaptureTruncated"]

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276
_RAW_TYPES = {LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6, 12, 14}  # DLT_RAW is 12 or 14 on some BSDs
_SUPPORTED = _RAW_TYPES | {LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_LOOP, LINKTYPE_LINUX_SLL,
                           LINKTYPE_LINUX_SLL2}

_SHB, _IDB, _PB, _SPB, _NRB, _EPB = 0x0A0D0D0A, 1, 2, 3, 4, 6
_BOM = 0x1A2B3C4D
_PCAP_MAGIC = {0xA1B2C3D4: 1_000_000, 0xA1B23C4D: 1_000_000_000}

# ==========================================================================================
# Writing
# ==========================================================================================


def _opt(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


_OPT_END = struct.pack("<HH", 0, 0)


def _block(btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    total = len(body) + 12
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total)


def _state_text(r: dict) -> str:
    why = "; ".join(x for x in (r.get("cause"), r.get("rule")) if x)
    return f"{r['host']}: {r['from']} -> {r['to']}" + (f" ({why})" if why else "")


def packet_comments(records: list) -> dict[int, list[str]]:
    """For each ``send`` record index, the comments :func:`write_pcapng` attaches (see the
    module docstring). Works on records, so any trace can be annotated the same way."""
    m = match_segments(records)
    notes = segment_notes(records)
    out: dict[int, list[str]] = {}
    n = len(records)
    for i, r in enumerate(records):
        if r["event"] != "send":
            continue
        h, t = r["host"], r["t"]
        comments: list[str] = []
        # Sending side: state changes of the step that sent it (a call or a timer), not of
        # an arrival it answers (those belong to the arriving segment).
        mine: list[str] = []
        for j in range(i - 1, -1, -1):
            q = records[j]
            if q["t"] != t:
                break
            if q["host"] != h:
                continue
            k = q["event"]
            if k == "recv":
                mine = []
                break
            if k in ("send", "app", "timer-fired"):
                break
            if k == "state":
                mine.append(_state_text(q))
        comments.extend(reversed(mine))
        arrival = m.arrival.get(i)
        if arrival is not None:  # receiving side: what its arrival did
            j = arrival
            rh, rt = records[j]["host"], records[j]["t"]
            for x in range(j + 1, n):
                q = records[x]
                if q["t"] != rt:
                    break
                if q["host"] != rh:
                    continue
                if q["event"] in ("recv", "timer-fired", "app"):
                    break
                if q["event"] == "state":
                    comments.append(_state_text(q))
                elif q["event"] == "error":
                    comments.append(f"{rh}: error: {q.get('detail') or q['error']}")
            if j in m.discarded:
                comments.append(f"{rh} discarded it: {m.discarded[j]}")
        if r.get("retransmit"):
            comments.append(f"retransmission: {r.get('cause') or 'unknown'}")
            detail = notes.cause.get(i)
            if detail and detail.startswith("RTO #"):
                comments.append(detail)
        elif r.get("cause"):
            comments.append(f"cause: {r['cause']}")
        if i in notes.timer:
            comments.append(f"sent when the {notes.timer[i]} expired")
        if i in m.lost:
            comments.append(f"lost: {m.lost[i]}")
        out[i] = comments
    return out


def _default_names(events: list) -> dict[str, str]:
    names: dict[str, str] = {}
    for ev in events:
        if ev.event == "send" and ev.src:
            names.setdefault(ev.src, ev.host)
        elif ev.event == "recv" and ev.dst:
            names.setdefault(ev.dst, ev.host)
    return names


def _nrb(names: Mapping[str, str]) -> bytes:
    body = b""
    for addr, name in names.items():
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            continue  # "addr:port" keys and the like: not for the NRB
        value = ip.packed + name.encode("utf-8") + b"\0"
        body += _opt(1 if ip.version == 4 else 2, value)
    return body + _OPT_END


def write_pcapng(events: Iterable, path: str | os.PathLike, names: Mapping[str, str] | None = None,
                 ttl: int = 64) -> int:
    """Write every ``send`` event of ``events`` as a packet of a pcapng file at ``path``
    (see the module docstring); returns the number of packets. ``names`` maps addresses
    to host names (``net.recorder.names``; default: learned from the events); ``ttl`` is
    the hosts' IP TTL (synack's default 64), so the bytes match what was sent."""
    events = list(events)
    if names is None:
        names = _default_names(events)
    records = [event_record(ev, names) for ev in events]
    comments = packet_comments(records)
    shb = _block(_SHB, struct.pack("<IHHq", _BOM, 1, 0, -1)
                 + _opt(4, f"synack {__version__}".encode()) + _OPT_END)
    idb = _block(_IDB, struct.pack("<HHI", LINKTYPE_RAW, 0, 0)
                 + _opt(2, b"synack") + _opt(3, b"synack simulated network (simulated time)")
                 + _opt(9, b"\x09") + _OPT_END)
    count = 0
    with open(path, "wb") as f:
        f.write(shb)
        f.write(idb)
        if names:
            f.write(_block(_NRB, _nrb(names)))
        for i, ev in enumerate(events):
            if ev.event != "send":
                continue
            packet = emit_packet(ev.src, ev.dst, ev.seg, ttl)
            ts = int(ev.t)
            opts = b"".join(_opt(1, c.encode("utf-8")) for c in comments.get(i, ()))
            body = struct.pack("<IIIII", 0, (ts >> 32) & 0xFFFFFFFF, ts & 0xFFFFFFFF, len(packet), len(packet))
            body += packet + b"\0" * (-len(packet) % 4)
            if opts:
                body += opts + _OPT_END
            f.write(_block(_EPB, body))
            count += 1
    return count


# ==========================================================================================
# Reading
# ==========================================================================================


class _Packet:
    __slots__ = ("t", "linktype", "data", "comments", "big")

    def __init__(self, t: float, linktype: int, data: bytes, comments: list[str], big: bool) -> None:
        self.t = t
        self.linktype = linktype
        self.data = data
        self.comments = comments
        self.big = big


def _bad(path: str, what: str) -> ValueError:
    return ValueError(f"{path}: {what}")


def _check_linktype(path: str, lt: int) -> None:
    if lt not in _SUPPORTED:
        raise _bad(path, f"link type {lt} is not supported (RAW, IPv4, IPv6, ETHERNET, LINUX_SLL, "
                         "LINUX_SLL2, NULL and LOOP are)")


class CaptureTruncated(UserWarning):
    """A capture ends in the middle of a packet: the packets before the cut were read."""


def _pcap(data: bytes, path: str, cut: list) -> Iterator[_Packet]:
    magic_le = struct.unpack_from("<I", data)[0]
    if magic_le in _PCAP_MAGIC:
        e, per_s = "<", _PCAP_MAGIC[magic_le]
    else:
        e, per_s = ">", _PCAP_MAGIC[struct.unpack_from(">I", data)[0]]
    if len(data) < 24:
        raise _bad(path, "truncated pcap file header")
    _, _, _, _, _, _, network = struct.unpack_from(e + "IHHiIII", data)
    lt = network & 0xFFFF
    _check_linktype(path, lt)
    off = 24
    n = len(data)
    while off < n:
        if off + 16 > n:
            cut.append(f"truncated pcap record header at byte {off}")
            return
        sec, frac, incl, _orig = struct.unpack_from(e + "IIII", data, off)
        off += 16
        if off + incl > n:
            cut.append(f"truncated pcap record at byte {off - 16} ({incl} bytes announced, {n - off} there)")
            return
        yield _Packet(sec + frac / per_s, lt, data[off:off + incl], [], e == ">")
        off += incl


def _options(body: bytes, off: int, end: int, e: str) -> Iterator[tuple[int, bytes]]:
    while off + 4 <= end:
        code, length = struct.unpack_from(e + "HH", body, off)
        off += 4
        if code == 0:
            return
        if off + length > end:
            return  # a broken option list ends the options, not the file
        yield code, body[off:off + length]
        off += length + (-length % 4)


def _pcapng(data: bytes, path: str, nrb_names: dict, cut: list) -> Iterator[_Packet]:
    off = 0
    n = len(data)
    e = "<"
    ifaces: list[tuple[int, int, bool, int]] = []  # (linktype, ticks per second, decimal?, offset s)
    last_t = 0.0
    while off < n:
        if off + 12 > n:
            if off == 0:
                raise _bad(path, f"truncated pcapng block at byte {off}")
            cut.append(f"truncated pcapng block at byte {off}")
            return
        btype = struct.unpack_from(e + "I", data, off)[0]
        if btype == _SHB:
            if off + 12 > n:
                raise _bad(path, f"truncated section header at byte {off}")
            bom = data[off + 8:off + 12]
            if bom == b"\x4d\x3c\x2b\x1a":
                e = "<"
            elif bom == b"\x1a\x2b\x3c\x4d":
                e = ">"
            else:
                raise _bad(path, f"bad byte-order magic in the section header at byte {off}")
            ifaces = []
        total = struct.unpack_from(e + "I", data, off + 4)[0]
        if total < 12 or total % 4:
            raise _bad(path, f"bad pcapng block at byte {off} (length {total})")
        if off + total > n:
            if off == 0:
                raise _bad(path, f"truncated pcapng block at byte {off} (length {total})")
            cut.append(f"truncated pcapng block at byte {off} ({total} bytes announced, {n - off} there)")
            return
        if struct.unpack_from(e + "I", data, off + total - 4)[0] != total:
            raise _bad(path, f"pcapng block at byte {off}: trailing length does not match")
        body = data[off + 8:off + total - 4]
        blen = len(body)
        if btype == _IDB:
            if blen < 8:
                raise _bad(path, f"short interface description block at byte {off}")
            lt, _, _snap = struct.unpack_from(e + "HHI", body)
            _check_linktype(path, lt)
            ticks, offset_s = 1_000_000, 0
            for code, val in _options(body, 8, blen, e):
                if code == 9 and val:
                    v = val[0]
                    ticks = (1 << (v & 0x7F)) if v & 0x80 else 10 ** v
                elif code == 14 and len(val) == 8:
                    offset_s = struct.unpack(e + "q", val)[0]
            ifaces.append((lt, ticks, True, offset_s))
        elif btype in (_EPB, _PB):
            if blen < 20:
                raise _bad(path, f"short packet block at byte {off}")
            if btype == _EPB:
                iface, hi, lo, cap, _orig = struct.unpack_from(e + "IIIII", body)
            else:
                iface, _drops, hi, lo, cap, _orig = struct.unpack_from(e + "HHIIII", body)
            if iface >= len(ifaces):
                raise _bad(path, f"packet block at byte {off} names interface {iface}, which was not described")
            if 20 + cap > blen:
                raise _bad(path, f"packet block at byte {off}: {cap} captured bytes do not fit")
            lt, ticks, _, offset_s = ifaces[iface]
            ts = (hi << 32) | lo
            last_t = offset_s + ts / ticks
            comments = [v.decode("utf-8", "replace") for c, v in
                        _options(body, 20 + cap + (-cap % 4), blen, e) if c == 1]
            yield _Packet(last_t, lt, body[20:20 + cap], comments, e == ">")
        elif btype == _SPB:
            if not ifaces or blen < 4:
                raise _bad(path, f"simple packet block at byte {off} without an interface")
            orig = struct.unpack_from(e + "I", body)[0]
            yield _Packet(last_t, ifaces[0][0], body[4:4 + min(orig, blen - 4)], [], e == ">")
        elif btype == _NRB:
            p = 0
            while p + 4 <= blen:
                rtype, rlen = struct.unpack_from(e + "HH", body, p)
                p += 4
                if rtype == 0 or p + rlen > blen:
                    break
                val = body[p:p + rlen]
                size = 4 if rtype == 1 else 16 if rtype == 2 else 0
                if size and rlen > size:
                    addr = str(ipaddress.ip_address(val[:size]))
                    first = val[size:].split(b"\0")[0].decode("utf-8", "replace")
                    if first:
                        nrb_names.setdefault(addr, first)
                p += rlen + (-rlen % 4)
        off += total


def _ip_of(pkt: _Packet) -> bytes | None:
    """The IP packet inside a link-layer frame; None for frames that carry something else."""
    d = pkt.data
    lt = pkt.linktype
    if lt in _RAW_TYPES:
        return d
    if lt == LINKTYPE_ETHERNET:
        if len(d) < 14:
            return None
        et = int.from_bytes(d[12:14], "big")
        off = 14
        while et in (0x8100, 0x88A8, 0x9100) and len(d) >= off + 4:
            et = int.from_bytes(d[off + 2:off + 4], "big")
            off += 4
        return d[off:] if et in (0x0800, 0x86DD) else None
    if lt == LINKTYPE_LINUX_SLL:
        return d[16:] if len(d) >= 16 and int.from_bytes(d[14:16], "big") in (0x0800, 0x86DD) else None
    if lt == LINKTYPE_LINUX_SLL2:
        return d[20:] if len(d) >= 20 and int.from_bytes(d[0:2], "big") in (0x0800, 0x86DD) else None
    if lt in (LINKTYPE_NULL, LINKTYPE_LOOP):
        if len(d) < 4:
            return None
        fams = {int.from_bytes(d[:4], "big")} if lt == LINKTYPE_LOOP else \
            {int.from_bytes(d[:4], "little"), int.from_bytes(d[:4], "big")}
        return d[4:] if fams & {2, 24, 28, 30} else None
    return None


def _raw_addresses(ip: bytes) -> tuple[str | None, str | None]:
    if ip:
        v = ip[0] >> 4
        if v == 4 and len(ip) >= 20:
            return str(ipaddress.ip_address(ip[12:16])), str(ipaddress.ip_address(ip[16:20]))
        if v == 6 and len(ip) >= 40:
            return str(ipaddress.ip_address(ip[8:24])), str(ipaddress.ip_address(ip[24:40]))
    return None, None


_LOST = re.compile(r"^lost: (\S+)(?: \((.*)\))?$")


def read_capture(path: str | os.PathLike, names: Mapping[str, str] | None = None, *,
                 strict: bool = False, warn: Callable[[str], None] | None = None) -> list[dict]:
    """The TCP packets of the pcap or pcapng file ``path`` as trace records (see the
    module docstring). ``names`` maps ``"addr"`` or ``"addr:port"`` to host names. When a
    packet's two addresses are the same (loopback traffic), unnamed ends are named
    ``addr:port`` so the two sides stay apart. OSError if the file cannot be read;
    ValueError if it is not a capture or its framing is broken.

    A file cut short in the middle of a packet (a capture still being written, a copy
    that stopped) is read up to the cut, as tshark does: ``warn`` is called with one
    sentence saying where (default: a :class:`CaptureTruncated` warning). ``strict=True``
    makes the cut a ValueError instead."""
    p = os.fspath(path)
    with open(p, "rb") as f:
        data = f.read()
    if len(data) < 4:
        raise _bad(p, "not a pcap or pcapng capture (too short)")
    head_le = struct.unpack_from("<I", data)[0]
    head_be = struct.unpack_from(">I", data)[0]
    file_names: dict = {}
    cut: list[str] = []
    if head_le == _SHB:
        packets = list(_pcapng(data, p, file_names, cut))
    elif head_le in _PCAP_MAGIC or head_be in _PCAP_MAGIC:
        packets = list(_pcap(data, p, cut))
    else:
        raise _bad(p, "not a pcap or pcapng capture (unknown magic number)")
    if cut:
        if strict:
            raise _bad(p, cut[0])
        message = f"{p}: {cut[0]}: read the {len(packets)} packets before the cut"
        if warn is not None:
            warn(message)
        else:
            warnings.warn(message, CaptureTruncated, stacklevel=2)
    all_names = dict(file_names)
    all_names.update(names or {})

    parsed: list[tuple[_Packet, bytes | None, Any, Any, MalformedPacket | None]] = []
    loopback = False
    for pkt in packets:
        ip = _ip_of(pkt)
        if ip is None:
            continue
        try:
            hdr, seg = parse_packet(ip, verify=False)
        except MalformedPacket as e:
            if e.reason == "not-tcp":
                continue
            parsed.append((pkt, ip, None, None, e))
            continue
        if hdr.src == hdr.dst:
            loopback = True
        parsed.append((pkt, ip, hdr, seg, None))

    def lookup(addr: str | None, port: int | None) -> str | None:
        if not addr:
            return None
        if port is not None and endpoint(addr, port) in all_names:
            return all_names[endpoint(addr, port)]
        if addr in all_names:
            return all_names[addr]
        return endpoint(addr, port) if loopback and port is not None else addr

    out: list[dict] = []
    for pkt, ip, hdr, seg, err in parsed:
        if err is not None:
            src, dst = _raw_addresses(ip or b"")
            nm: dict[str, str] = {a: lookup(a, None) or a for a in (src, dst) if a}
            rec = segment_record(pkt.t, nm.get(src or "") or "?", "drop", src, dst, None, nm)
            rec["reason"] = err.reason
            rec["detail"] = err.detail or ""
            out.append(rec)
            continue
        nm = {endpoint(hdr.src, seg.src_port): lookup(hdr.src, seg.src_port) or hdr.src,
              endpoint(hdr.dst, seg.dst_port): lookup(hdr.dst, seg.dst_port) or hdr.dst}
        host = nm[endpoint(hdr.src, seg.src_port)]
        rec = segment_record(pkt.t, host, "send", hdr.src, hdr.dst, seg, nm)
        rec["retransmit"] = False
        rec["cause"] = None
        lost = None
        for c in pkt.comments:
            if c.startswith("retransmission: "):
                rec["retransmit"] = True
                rec["cause"] = c[len("retransmission: "):]
            elif c.startswith("cause: "):
                rec["cause"] = c[len("cause: "):]
            else:
                mm = _LOST.match(c)
                if mm:
                    lost = (mm.group(1), mm.group(2) or "")
        out.append(rec)
        if lost is not None:
            drop = segment_record(pkt.t, host, "drop", hdr.src, hdr.dst, seg, nm)
            drop["reason"], drop["detail"] = lost
            out.append(drop)
    return out
