"""Trace records: the plain-dict form of trace events that every file format shares.

A record is a ``dict`` of JSON values (see ``docs/trace.md`` for the schema). The JSON Lines
export writes one record a line; captures (pcap, pcapng) read back into the same records;
the terminal ladder draws records. So a simulated run, a saved trace and a tcpdump capture
all reach the screen through one path.

This module holds what the formats have in common: the conversion of one typed event into
a record (:func:`event_record`), tcpdump's flag letters (:func:`flags_text`,
:func:`flags_bits`), endpoint and connection spellings, and the schema check
(:func:`check_record`).
"""

from __future__ import annotations

import functools
import math
from collections import deque
from typing import Any
from collections.abc import Mapping

from ..wire.tcp import ACK, CWR, ECE, FIN, NS, PSH, RST, SYN, URG, option_summary
from .events import fields_of

__all__ = [
    "FLAG_LETTERS", "SEGMENT_EVENTS", "EVENT_FIELDS", "flags_text", "flags_bits", "endpoint",
    "conn_text", "host_name", "event_record", "segment_record", "check_record", "seconds",
    "segment_key", "match_segments", "SegmentMatch", "segment_notes", "SegmentNotes", "duration",
    "TIMER_NAMES",
]

#: timer names as people say them
TIMER_NAMES = {"rto": "RTO", "time-wait": "TIME-WAIT", "delayed-ack": "delayed ACK",
               "persist": "persist", "keepalive": "keepalive", "tlp": "tail loss probe"}

#: tcpdump's flag letters, in its order (F S R P . U E W N); "." is ACK.
FLAG_LETTERS: tuple[tuple[int, str], ...] = (
    (FIN, "F"), (SYN, "S"), (RST, "R"), (PSH, "P"), (ACK, "."),
    (URG, "U"), (ECE, "E"), (CWR, "W"), (NS, "N"),
)
_BIT_OF = {c: bit for bit, c in FLAG_LETTERS}

#: events that describe one segment
SEGMENT_EVENTS = frozenset({"send", "recv", "drop"})

# ---- the schema ------------------------------------------------------------------------
# field -> allowed JSON types ("int" excludes bool; "num" is int or float; "?x" allows null)
_COMMON = {"t": "num", "host": "str", "event": "str", "conn": "?str"}
_SEGMENT = {
    "src": "?str", "dst": "?str", "src_addr": "?str", "src_port": "?int", "dst_addr": "?str",
    "dst_port": "?int", "flags": "?str", "seq": "?int", "ack": "?int", "len": "?int",
    "win": "?int", "urg": "?int", "options": "?list",
}
#: event kind -> its fields beyond ``t``, ``host``, ``event`` and ``conn``, with their types
EVENT_FIELDS: dict[str, dict[str, str]] = {
    "send": {**_SEGMENT, "retransmit": "bool", "cause": "?str"},
    "recv": dict(_SEGMENT),
    "drop": {**_SEGMENT, "reason": "str", "detail": "str"},
    "state": {"from": "str", "to": "str", "cause": "str", "rule": "str"},
    "timer-armed": {"name": "str", "deadline": "num", "backoff": "int"},
    "timer-cancelled": {"name": "str"},
    "timer-fired": {"name": "str", "backoff": "int"},
    "rtt": {"rtt": "num", "srtt": "num", "rttvar": "num", "rto": "num"},
    "cwnd": {"cwnd": "int", "ssthresh": "int", "flight_size": "int", "snd_wnd": "int", "cause": "str"},
    "app": {"call": "str", "args": "str", "result": "any", "error": "?str"},
    "error": {"error": "str", "detail": "str"},
    "listen-queue": {"addr": "str", "port": "int", "syn_queue": "int", "syn_backlog": "int",
                     "accept_queue": "int", "backlog": "int", "cause": "str"},
    "syncookies": {"addr": "str", "port": "int", "on": "bool", "reason": "str"},
    "icmp": {"src": "?str", "dst": "?str", "src_addr": "?str", "dst_addr": "?str", "version": "int", "type": "int",
             "code": "int", "kind": "str", "action": "str", "detail": "str"},
    "fastopen": {"action": "str", "detail": "str"},
}
#: event kind -> fields a record may have (older traces lack them), with their types
OPTIONAL_FIELDS: dict[str, dict[str, str]] = {
    "app": {"caused": "int"},
}
#: segment fields that are null only in a drop whose packet could not be parsed
_SEG_REQUIRED = ("src_port", "dst_port", "flags", "seq", "ack", "len", "win", "options")


def seconds(ns: int) -> float:
    """Integer nanoseconds to float seconds, the unit of every time in a record."""
    return ns / 1e9


@functools.lru_cache(maxsize=512)
def flags_text(bits: int) -> str:
    """Control bits as tcpdump's letters: ``S``, ``S.``, ``P.``, ``F.``, ``R.``; "" for none."""
    return "".join(c for bit, c in FLAG_LETTERS if bits & bit)


def flags_bits(text: str) -> int:
    """The inverse of :func:`flags_text`. ValueError on a letter tcpdump does not use."""
    bits = 0
    for c in text:
        bit = _BIT_OF.get(c)
        if bit is None:
            raise ValueError(f"unknown flag letter {c!r} in {text!r} (letters: FSRP.UEWN)")
        bits |= bit
    return bits


def endpoint(addr: str | None, port: int | None) -> str:
    """``addr:port``, with IPv6 addresses in brackets (``[fd00::1]:80``)."""
    a = addr or "?"
    return f"[{a}]:{port}" if ":" in a else f"{a}:{port}"


def conn_text(conn: Any) -> str | None:
    """A connection ``(local_addr, local_port, remote_addr, remote_port)`` as
    ``"local-remote"`` endpoints, e.g. ``"10.0.0.1:42068-10.0.0.2:80"``; None stays None."""
    if conn is None:
        return None
    la, lp, ra, rp = conn
    return f"{endpoint(la, lp)}-{endpoint(ra, rp)}"


def host_name(addr: str | None, names: Mapping[str, str] | None, port: int | None = None) -> str | None:
    """The host name of ``addr`` from ``names`` (keys ``"addr:port"`` first, then
    ``"addr"``); the address itself when ``names`` has neither; None for no address."""
    if not addr:
        return None
    if names:
        if port is not None:
            n = names.get(endpoint(addr, port))
            if n is not None:
                return n
        n = names.get(addr)
        if n is not None:
            return n
    return addr


def _json_value(x: Any) -> Any:
    """``x`` as a JSON value: tuples become lists, bytes their length, the rest ``repr``."""
    if x is None or isinstance(x, (bool, int, str)):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else repr(x)
    if isinstance(x, (tuple, list)):
        return [_json_value(v) for v in x]
    if isinstance(x, (bytes, bytearray, memoryview)):
        return memoryview(x).nbytes
    return repr(x)


def segment_record(t: float, host: str, event: str, src_addr: str | None, dst_addr: str | None,
                   seg: Any, names: Mapping[str, str] | None) -> dict:
    """The common part of a ``send``/``recv``/``drop`` record. ``conn`` is the segment's
    4-tuple seen from ``host``: the sender's for a send or a link drop, the receiver's
    otherwise; null when the packet could not be parsed."""
    rec: dict = {"t": t, "host": host, "event": event, "conn": None}
    sp = dp = None
    if seg is not None:
        sp, dp = seg.src_port, seg.dst_port
    src = host_name(src_addr, names, sp)
    dst = host_name(dst_addr, names, dp)
    if seg is not None and src_addr and dst_addr:
        if event == "send" or (event == "drop" and host == src and host != dst):
            rec["conn"] = f"{endpoint(src_addr, sp)}-{endpoint(dst_addr, dp)}"
        else:
            rec["conn"] = f"{endpoint(dst_addr, dp)}-{endpoint(src_addr, sp)}"
    rec["src"] = src
    rec["dst"] = dst
    rec["src_addr"] = src_addr or None
    rec["src_port"] = sp
    rec["dst_addr"] = dst_addr or None
    rec["dst_port"] = dp
    if seg is None:
        rec.update(flags=None, seq=None, ack=None, len=None, win=None, urg=None, options=None)
    else:
        rec["flags"] = flags_text(seg.flags)
        rec["seq"] = int(seg.seq)
        rec["ack"] = int(seg.ack)
        rec["len"] = len(seg.payload)
        rec["win"] = seg.wnd
        rec["urg"] = seg.urg_ptr
        rec["options"] = [option_summary(o) for o in seg.options]
    return rec


def event_record(ev: Any, names: Mapping[str, str] | None = None) -> dict:
    """One typed event of ``synack.trace.events`` as a record (see ``docs/trace.md``)."""
    kind = ev.event
    t = seconds(ev.t)
    if kind in SEGMENT_EVENTS:
        rec = segment_record(t, ev.host, kind, ev.src, ev.dst, ev.seg, names)
        if kind == "send":
            rec["retransmit"] = bool(ev.retransmit)
            rec["cause"] = ev.cause
        elif kind == "drop":
            rec["reason"] = ev.reason
            rec["detail"] = ev.detail or ""
        return rec
    rec = {"t": t, "host": ev.host, "event": kind, "conn": conn_text(ev.conn)}
    if kind == "state":
        rec.update({"from": ev.old, "to": ev.new, "cause": ev.cause, "rule": ev.rule or ""})
    elif kind == "timer-armed":
        rec.update(name=ev.name, deadline=seconds(ev.deadline), backoff=ev.backoff)
    elif kind == "timer-cancelled":
        rec["name"] = ev.name
    elif kind == "timer-fired":
        rec.update(name=ev.name, backoff=ev.backoff)
    elif kind == "rtt":
        rec.update(rtt=seconds(ev.rtt), srtt=seconds(ev.srtt), rttvar=seconds(ev.rttvar), rto=seconds(ev.rto))
    elif kind == "cwnd":
        rec.update(cwnd=ev.cwnd, ssthresh=ev.ssthresh, flight_size=ev.flight_size, snd_wnd=ev.snd_wnd,
                   cause=ev.cause or "")
    elif kind == "app":
        rec.update(call=ev.call, args=ev.args or "", result=_json_value(ev.result), error=ev.error)
        caused = getattr(ev, "caused", None)
        if caused is not None:
            rec["caused"] = caused
    elif kind == "error":
        rec.update(error=ev.error, detail=ev.detail or "")
    elif kind == "listen-queue":
        rec.update(addr=ev.addr or "", port=ev.port, syn_queue=ev.syn_queue, syn_backlog=ev.syn_backlog,
                   accept_queue=ev.accept_queue, backlog=ev.backlog, cause=ev.cause or "")
    elif kind == "syncookies":
        rec.update(addr=ev.addr or "", port=ev.port, on=bool(ev.on), reason=ev.reason or "")
    elif kind == "icmp":
        rec.update(src=host_name(ev.src, names), dst=host_name(ev.dst, names), src_addr=ev.src or None,
                   dst_addr=ev.dst or None, version=ev.version, type=ev.type, code=ev.code, kind=ev.kind,
                   action=ev.action, detail=ev.detail or "")
    elif kind == "fastopen":
        rec.update(action=ev.action, detail=ev.detail or "")
    else:  # an event kind this module does not know: keep its fields as JSON values
        for k, v in fields_of(ev).items():
            if k not in rec:
                rec[k] = _json_value(v)
    return rec


def _type_ok(value: Any, spec: str) -> bool:
    if spec.startswith("?"):
        if value is None:
            return True
        spec = spec[1:]
    if spec == "any":
        return True
    if spec == "str":
        return isinstance(value, str)
    if spec == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if spec == "num":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if spec == "bool":
        return isinstance(value, bool)
    if spec == "list":
        return isinstance(value, list)
    return False


_TYPE_NAMES = {"str": "a string", "int": "an integer", "num": "a number", "bool": "true or false",
               "list": "a list", "any": "any value"}


def _expect(spec: str) -> str:
    if spec.startswith("?"):
        return _TYPE_NAMES[spec[1:]] + " or null"
    return _TYPE_NAMES[spec]


def check_record(rec: Any) -> None:
    """Raise ValueError (one sentence naming the field) if ``rec`` breaks the schema.

    Records of unknown event kinds need only the common fields, so newer traces stay
    readable; known kinds must have every field with its type.
    """
    if not isinstance(rec, dict):
        raise ValueError(f"a record is a JSON object, got {type(rec).__name__}")
    for name, spec in _COMMON.items():
        if name not in rec:
            if name == "conn":
                continue  # optional for unknown kinds; checked below for known ones
            raise ValueError(f"missing field {name!r}")
        if not _type_ok(rec[name], spec):
            raise ValueError(f"field {name!r} must be {_expect(spec)}, got {rec[name]!r}")
    kind = rec["event"]
    fields = EVENT_FIELDS.get(kind)
    if fields is None:
        return
    for name, spec in {"conn": "?str", **fields}.items():
        if name not in rec:
            raise ValueError(f"{kind} record: missing field {name!r}")
        if not _type_ok(rec[name], spec):
            raise ValueError(f"{kind} record: field {name!r} must be {_expect(spec)}, got {rec[name]!r}")
    for name, spec in OPTIONAL_FIELDS.get(kind, {}).items():
        if name in rec and not _type_ok(rec[name], spec):
            raise ValueError(f"{kind} record: field {name!r} must be {_expect(spec)}, got {rec[name]!r}")
    if kind in SEGMENT_EVENTS:
        parsed = rec["flags"] is not None
        if kind != "drop" or parsed:
            for name in _SEG_REQUIRED:
                if rec[name] is None:
                    raise ValueError(f"{kind} record: field {name!r} must not be null")
            for name in ("src", "dst"):
                if rec[name] is None:
                    raise ValueError(f"{kind} record: field {name!r} must not be null")
        if parsed:
            flags_bits(rec["flags"])
            for name, hi in (("seq", 0xFFFFFFFF), ("ack", 0xFFFFFFFF), ("win", 0xFFFF), ("len", 0xFFFF),
                             ("src_port", 0xFFFF), ("dst_port", 0xFFFF)):
                if not 0 <= rec[name] <= hi:
                    raise ValueError(f"{kind} record: field {name!r} out of range: {rec[name]}")
            if not all(isinstance(o, str) for o in rec["options"]):
                raise ValueError(f"{kind} record: field 'options' must be a list of strings")


# ==========================================================================================
# What views share: which arrival belongs to which departure, and why a segment was sent
# ==========================================================================================


def duration(seconds: float | None, compact: bool = False) -> str:
    """A duration for people: ``2.0 s``, ``59.99 s``, ``200 ms`` (``2.0s`` when compact)."""
    sp = "" if compact else " "
    if seconds is None:
        return "?"
    if seconds >= 1:
        s = f"{seconds:.3f}".rstrip("0")
        if s.endswith("."):
            s += "0"
        return f"{s}{sp}s"
    return f"{seconds * 1000:.3f}".rstrip("0").rstrip(".") + f"{sp}ms"


def segment_key(r: dict) -> tuple:
    """What identifies a segment between its departure and its arrival records."""
    return (r.get("src_addr"), r.get("src_port"), r.get("dst_addr"), r.get("dst_port"), r.get("flags"),
            r.get("seq"), r.get("ack"), r.get("len"), r.get("win"))


class SegmentMatch:
    """Departures matched to arrivals (first in, first out, by addresses and header), link
    losses, duplicates, and segments the receiving host discarded. Keys are record indices."""

    __slots__ = ("arrival", "departure", "lost", "dup", "discarded", "unmatched_drops", "link_drop")

    def __init__(self) -> None:
        self.arrival: dict[int, int] = {}     # send index -> recv index
        self.departure: dict[int, int] = {}   # recv index -> send index
        self.lost: dict[int, str] = {}        # send index -> why the network lost it
        self.link_drop: dict[int, int] = {}   # send index -> index of its link drop record
        self.dup: set = set()                 # recv indices of extra copies (link duplicates)
        self.discarded: dict[int, str] = {}   # recv index -> why the receiver discarded it
        self.unmatched_drops: set = set()     # drop indices that belong to no send or recv


def _why(r: dict) -> str:
    return r["reason"] + (f" ({r['detail']})" if r.get("detail") else "")


def match_segments(recs: list) -> SegmentMatch:
    """Pair each ``recv`` with the oldest unmatched ``send`` of the same segment; a ``drop``
    recorded by the sender (the network's) marks the oldest such send lost; a ``drop`` the
    receiver recorded right after an arrival says why it discarded that arrival."""
    m = SegmentMatch()
    pending: dict[tuple, deque] = {}
    sent_keys: set = set()
    last_recv: dict[tuple, int] = {}
    for i, r in enumerate(recs):
        k = r["event"]
        if k == "send":
            key = segment_key(r)
            pending.setdefault(key, deque()).append(i)
            sent_keys.add(key)
        elif k == "recv":
            key = segment_key(r)
            q = pending.get(key)
            if q:
                s = q.popleft()
                m.arrival[s] = i
                m.departure[i] = s
            elif key in sent_keys:
                m.dup.add(i)
            last_recv[(r["host"],) + key] = i
        elif k == "drop":
            if r.get("flags") is not None:
                key = segment_key(r)
                q = pending.get(key)
                if (r["host"] == r.get("src") and r["host"] != r.get("dst") and q
                        and recs[q[0]]["host"] == r["host"]):
                    s = q.popleft()
                    m.lost[s] = _why(r)
                    m.link_drop[s] = i
                    continue
                j = last_recv.get((r["host"],) + key)
                if j is not None and recs[j]["t"] == r["t"]:
                    m.discarded[j] = _why(r)
                    continue
            m.unmatched_drops.add(i)
    return m


class SegmentNotes:
    """Why segments were sent: ``cause`` (send index -> "RTO #2, rto=2.0s", "fast
    retransmit", ...), ``timer`` (send index -> the timer that made it, e.g. "delayed ACK
    timer"), ``consumed`` (timer-fired indices explained by a send), ``rto_fired``."""

    __slots__ = ("cause", "timer", "consumed", "rto_fired")

    def __init__(self) -> None:
        self.cause: dict[int, str] = {}
        self.timer: dict[int, str] = {}
        self.consumed: set = set()
        self.rto_fired: dict = {}  # (host, conn) -> (time, "RTO #n, rto=x")


def segment_notes(recs: list) -> SegmentNotes:
    """Retransmission causes with the RTO count and the timeout that expired (from the
    ``timer-armed``/``timer-fired`` records of the same connection), and the timers
    (delayed ACK, persist, keepalive) whose expiry sent a segment."""
    out = SegmentNotes()
    rto_len: dict = {}
    fired_pending: dict = {}
    for i, r in enumerate(recs):
        k = r["event"]
        key = (r["host"], r.get("conn"))
        if k == "timer-armed" and r.get("name") == "rto":
            rto_len[key] = r["deadline"] - r["t"]
        elif k == "timer-fired":
            if r.get("name") == "rto":
                d = rto_len.get(key)
                out.rto_fired[key] = (r["t"], f"RTO #{r['backoff'] + 1}"
                                      + (f", rto={duration(d, True)}" if d is not None else ""))
            fired_pending.setdefault((r["host"], r["t"]), []).append(i)
        elif k == "send":
            cause = r.get("cause")
            if r.get("retransmit"):
                if cause == "rto":
                    f = out.rto_fired.get(key)
                    out.cause[i] = f[1] if f and f[0] == r["t"] else "RTO retransmission"
                elif cause == "fast-retransmit":
                    out.cause[i] = "fast retransmit"
                else:
                    out.cause[i] = f"retransmission ({cause})" if cause else "retransmission"
            elif cause:
                out.cause[i] = cause.replace("-", " ")
            fp = fired_pending.pop((r["host"], r["t"]), None)
            for j in fp or ():
                name = recs[j]["name"]
                if name == "rto" and cause == "rto":
                    out.consumed.add(j)
                elif name != "rto":  # delayed ACK, persist, keepalive, tail loss probe, ...
                    out.consumed.add(j)
                    out.timer[i] = f"{TIMER_NAMES.get(name, name)} timer"
    return out
