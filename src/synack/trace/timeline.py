"""One timeline that every view reads: what happened, in order, with the analysis views share.

A :class:`Timeline` is built from trace *records* (``synack.trace.records``: a simulated run,
a JSON Lines file or a capture all become records) and holds, once, everything the ladder,
the HTML report, the stream graphs and the capture comments need to agree on:

- **matching**: which arrival belongs to which departure, which segments the network lost,
  which arrivals were duplicates or were discarded (:class:`~synack.trace.records.SegmentMatch`);
- **numbering**: sequence and acknowledgment numbers and SACK blocks relative to each
  direction's initial sequence number, as tcpdump prints them;
- **causes**: why segments were sent (``RTO #2, rto=2.0s``, fast retransmit, the timer
  that sent an ACK);
- **analysis flags** like Wireshark's TCP expert (retransmission, fast retransmission,
  spurious retransmission, dup ACK n, out-of-order, zero window, window full, keep-alive,
  zero-window probe, window update, D-SACK), computed from the segments alone, so a capture
  of any TCP gets them;
- **states**: for a simulated run, the stack's own ``state`` records plus the listener's
  (``listen()`` is LISTEN, closing the listening socket CLOSED); for a capture, states
  inferred from the segments by an observer that follows a transition table the caller
  passes in (``synack.tcp.state.TRANSITIONS``: the core's own RFC 9293 Figure 5), so the
  guess can never take a step the stack itself could not.

``trace/`` imports nothing from ``tcp/``: the table is injected (``cli/trace_cmd.py`` does).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from .records import (
    SegmentMatch,
    SegmentNotes,
    conn_text,
    endpoint,
    match_segments,
    segment_notes,
)

__all__ = ["Timeline", "infer_states", "parse_sack", "INFERRED", "display_width", "LISTENER_CALLS"]

_MASK = 0xFFFFFFFF
INFERRED = "inferred from the segments on the wire"
#: calls on a listening socket that change its state
LISTENER_CALLS = frozenset({"listen", "close"})

_SACK = re.compile(r"^sack (\d+) ((?:\{\d+:\d+\})*)$")
_BLOCK = re.compile(r"\{(\d+):(\d+)\}")
_WSCALE = re.compile(r"^wscale (\d+)$")


def parse_sack(option: str) -> list[tuple[int, int]] | None:
    """The blocks of a ``"sack N {l:r}{l:r}"`` option string; None for any other option."""
    m = _SACK.match(option)
    if not m:
        return None
    return [(int(a), int(b)) for a, b in _BLOCK.findall(m.group(2))]


def display_width(s: str) -> int:
    """Terminal columns ``s`` takes: wide characters (Hangul, CJK) count two, combining none."""
    import unicodedata

    n = 0
    for ch in s:
        if ord(ch) < 0x300:
            n += 1
        elif unicodedata.combining(ch):
            continue
        else:
            n += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return n


def _flow(r: dict) -> tuple:
    return (r.get("src_addr"), r.get("src_port"), r.get("dst_addr"), r.get("dst_port"))


def _rev(f: tuple) -> tuple:
    return (f[2], f[3], f[0], f[1])


# ==========================================================================================
# States of a capture, inferred by an observer on the wire
# ==========================================================================================

# What an observer sees a side do, and the states that observation may lead to. The
# transition table picks the one reachable from where the side is: a FIN sent from
# ESTABLISHED is FIN-WAIT-1, from CLOSE-WAIT it is LAST-ACK.
_LEADS_TO: dict[str, tuple[str, ...]] = {
    "sent SYN": ("SYN-SENT",),
    "sent SYN,ACK": ("SYN-RECEIVED",),
    "SYN received": ("SYN-RECEIVED",),
    "SYN,ACK received": ("ESTABLISHED",),
    "ACK of SYN received": ("ESTABLISHED",),
    "FIN sent": ("FIN-WAIT-1", "LAST-ACK"),
    "ACK of FIN received": ("FIN-WAIT-2", "TIME-WAIT", "CLOSED"),
    "FIN received": ("CLOSE-WAIT", "CLOSING", "TIME-WAIT"),
    "RST sent": ("CLOSED", "LISTEN"),
    "RST received": ("CLOSED", "LISTEN"),
}


def _table(transitions: Iterable) -> frozenset[tuple[str, str]]:
    """The transition table as pairs of state names (``State`` members print as RFC names)."""
    out = set()
    for a, b in transitions:
        out.add((str(getattr(a, "value", a)), str(getattr(b, "value", b))))
    return frozenset(out)


def infer_states(recs: Sequence[dict], transitions: Iterable) -> list[dict]:
    """``recs`` (a capture: segments only) with the ``state`` records an observer on the
    wire can infer, per connection and side, each right after the segment that shows it.

    ``transitions`` is the table of allowed ``(from, to)`` state pairs (``State`` members or
    their names): ``synack.tcp.state.TRANSITIONS``. Each observation (a SYN sent, an ACK of
    a FIN received, ...) may lead to a few states; the one the table allows from the side's
    current state is taken, and an observation the table allows nothing for changes
    nothing. A side is unknown until it acts: one that answers a SYN with SYN,ACK was
    LISTEN (its change is put where the SYN arrived), one that answers with RST had no
    listener and stays CLOSED. Every captured segment is taken to arrive when it was
    captured (true on loopback; roughly so for a capture near either end); the records
    say ``cause`` = "... (inferred from the segments on the wire)".
    """
    table = _table(transitions)
    st: dict[tuple, str] = {}          # side (its 4-tuple, local first) -> state
    fin_end: dict[tuple, int] = {}     # side -> sequence number just past its FIN
    syn_end: dict[tuple, int] = {}     # side -> sequence number just past its SYN
    syn_seen_at: dict[tuple, int] = {}  # unknown side -> index of the SYN it received
    after: dict[int, list[dict]] = {}  # record index -> inferred records to put after it
    lost = match_segments(list(recs)).lost

    def rec(i: int, side: tuple, host: str, old: str, new: str, t: float, why: str) -> None:
        after.setdefault(i, []).append({"t": t, "host": host, "event": "state", "conn": conn_text(side),
                                        "from": old, "to": new, "cause": f"{why} ({INFERRED})", "rule": ""})

    def step(i: int, side: tuple, host: str, t: float, what: str) -> None:
        cur = st.get(side)
        if cur is None or cur in _LEADS_TO[what]:
            return
        for new in _LEADS_TO[what]:
            if new != cur and (cur, new) in table:
                st[side] = new
                rec(i, side, host, cur, new, t, what)
                return

    for i, r in enumerate(recs):
        if r.get("event") != "send" or r.get("flags") is None:
            continue
        f = r["flags"]
        a = _flow(r)
        b = _rev(a)
        src, dst, t = r.get("src") or "?", r.get("dst") or "?", r["t"]
        syn, ack, fin, rst = "S" in f, "." in f, "F" in f, "R" in f
        # --- the sender, from what it sent
        if st.get(a) is None:
            if syn and not ack:
                st[a] = "CLOSED"
            elif syn and ack:
                j = syn_seen_at.pop(a, None)
                st[a] = "LISTEN"
                if j is not None:  # it was listening when the SYN arrived
                    step(j, a, src, recs[j]["t"], "SYN received")
                    st[a] = "SYN-RECEIVED"
            elif rst:
                syn_seen_at.pop(a, None)
                st[a] = "CLOSED"  # an answer from no connection: nothing was listening
            else:
                st[a] = "ESTABLISHED"  # joined mid-connection
        if rst:
            step(i, a, src, t, "RST sent")
        elif syn and not ack:
            step(i, a, src, t, "sent SYN")
        elif syn and st[a] == "LISTEN":
            step(i, a, src, t, "SYN received")
        if syn:
            syn_end[a] = (r["seq"] + 1) & _MASK
        if fin:
            fin_end[a] = (r["seq"] + r["len"] + (1 if syn else 0) + 1) & _MASK
            step(i, a, src, t, "FIN sent")
        if i in lost:
            continue  # it never arrived
        # --- the receiver, from what arrived
        cur = st.get(b)
        if cur is None:
            if syn and not ack:
                syn_seen_at[b] = i  # LISTEN or nothing: its answer will tell
            elif not rst:
                st[b] = "ESTABLISHED"
            continue
        if rst:
            step(i, b, dst, t, "RST received")
            continue
        if syn and not ack:
            step(i, b, dst, t, "SYN received")
            continue
        if syn and ack:
            step(i, b, dst, t, "SYN,ACK received")
        elif ack and st[b] == "SYN-RECEIVED" and r["ack"] == syn_end.get(b):
            step(i, b, dst, t, "ACK of SYN received")
        if ack and b in fin_end and r["ack"] == fin_end[b]:
            step(i, b, dst, t, "ACK of FIN received")
            del fin_end[b]  # acknowledged: later ACKs are not news
        if fin:
            step(i, b, dst, t, "FIN received")
    out: list[dict] = []
    for i, r in enumerate(recs):
        out.append(r)
        out.extend(after.get(i, ()))
    return out


# ==========================================================================================
# The timeline
# ==========================================================================================


class Timeline:
    """The records of one trace and the analysis every view shares (see the module doc).

    ``transitions``: the state transition table used to infer states when the records are
    a capture (no ``recv`` and no ``state`` records); without it a capture has no states.
    """

    def __init__(self, records: Iterable[dict], transitions: Iterable | None = None,
                 calls_where_they_began: bool = False) -> None:
        recs = [r for r in records if isinstance(r, dict) and "event" in r and "host" in r and "t" in r]
        self.is_capture = bool(recs) and not any(r["event"] in ("state", "recv") for r in recs)
        self.inferred = False
        if calls_where_they_began:
            recs = _reorder_app_calls(recs)
        if self.is_capture and transitions is not None:
            recs = infer_states(recs, transitions)
            self.inferred = True
        elif not self.is_capture:
            recs = _with_listener_states(recs)
        self.records: list[dict] = recs
        #: app record index -> the listening socket (``addr:port``) it was a call on
        self.listener_call: dict[int, str] = {
            i - 1: r["listener"] for i, r in enumerate(recs)
            if r["event"] == "state" and "listener" in r and i and recs[i - 1]["event"] == "app"}
        self.has_recv = any(r["event"] == "recv" for r in recs)
        self.addr_names = _addr_names(recs)
        self.match: SegmentMatch = match_segments(recs)
        self.notes: SegmentNotes = segment_notes(recs)
        self._number()
        self._analyse()

    # ---- hosts ---------------------------------------------------------------------------
    def hosts(self) -> list[str]:
        """Hosts in order of first appearance: segment senders and receivers first (so the
        side that opens is on the left), then any other host that recorded something."""
        order: list[str] = []
        seen: set = set()
        recording = {r["host"] for r in self.records}
        for r in self.records:
            if r["event"] in ("send", "recv"):
                for h in (r.get("src"), r.get("dst")):
                    if h and h not in seen and h in recording:
                        seen.add(h)
                        order.append(h)
        for r in self.records:
            h = r["host"]
            if h and h not in seen:
                seen.add(h)
                order.append(h)
        return order

    def initial_state(self, host: str) -> str:
        """``host``'s state before the first record: the ``from`` of its first state
        record; CLOSED when the trace has states but none for it; "" for a capture whose
        states are unknown."""
        for r in self.records:
            if r["event"] == "state" and r["host"] == host:
                return r["from"]
        if self.is_capture and not self.inferred:
            return ""
        return "CLOSED"

    # ---- numbers -------------------------------------------------------------------------
    def _number(self) -> None:
        """Relative numbers per direction of each connection: the base is the latest SYN's
        sequence number in that direction, else the first sequence number seen."""
        base: dict[tuple, int] = {}
        self.rel: dict[int, tuple[int, int]] = {}
        self.sack: dict[int, list[tuple[int, int]]] = {}
        self.base_of: dict[int, tuple[int | None, int | None]] = {}
        for i, r in enumerate(self.records):
            if r["event"] not in ("send", "recv", "drop") or r.get("flags") is None:
                continue
            if i in self.match.departure:
                s = self.match.departure[i]
                self.rel[i], self.base_of[i] = self.rel[s], self.base_of[s]
                if s in self.sack:
                    self.sack[i] = self.sack[s]
                continue
            fwd = _flow(r)
            rev = _rev(fwd)
            flags = r["flags"]
            if "S" in flags or fwd not in base:
                base[fwd] = r["seq"]
            acked = "." in flags
            if acked and rev not in base:
                base[rev] = r["ack"]
            s = (r["seq"] - base[fwd]) & _MASK
            a = (r["ack"] - base[rev]) & _MASK if acked else r["ack"]
            self.rel[i] = (s, a)
            self.base_of[i] = (base[fwd], base.get(rev))
            for o in r.get("options") or ():
                blocks = parse_sack(o)
                if blocks is not None:
                    rb = base.get(rev, 0)
                    self.sack[i] = [((x - rb) & _MASK, (y - rb) & _MASK) for x, y in blocks]

    def numbers(self, i: int, absolute: bool = False) -> tuple[int, int]:
        """(seq, ack) of segment record ``i``: relative unless ``absolute``."""
        r = self.records[i]
        if absolute:
            return r["seq"], r["ack"]
        return self.rel[i]

    def label(self, i: int, absolute: bool = False, syn_options: bool = True) -> str:
        """Segment record ``i`` in tcpdump's words: ``[S.] seq 0, ack 1, win 65535,
        [mss 1460,sackOK,TS,wscale 7]``, ``[.] seq 1, ack 2897, win 62639, [sack 2
        {4345:5793}{7241:8689}]``, ``[P.] seq 1:33, ack 1, win 65535, len 32``.

        Options: every one but padding, in wire order; SACK blocks relative like the
        numbers. With relative numbers, timestamps are shortened to ``TS`` on SYNs and
        left out elsewhere (their raw clock values are noise there); ``absolute=True``
        shows them as tcpdump does (``TS val 1 ecr 0``)."""
        r = self.records[i]
        seq, ack = self.numbers(i, absolute)
        n = r["len"] or 0
        flags = r["flags"]
        parts = [f"[{flags or 'none'}] seq {seq}:{(seq + n) & _MASK}" if n else f"[{flags or 'none'}] seq {seq}"]
        if "." in flags:
            parts.append(f"ack {ack}")
        parts.append(f"win {r['win']}")
        if "U" in flags:
            parts.append(f"urg {r.get('urg', 0)}")
        opts = self.option_words(i, absolute)
        if opts and ("S" in flags and syn_options or "S" not in flags):
            parts.append("[" + ",".join(opts) + "]")   # tcpdump's own separator
        if n:
            parts.append(f"len {n}")
        return ", ".join(parts)

    def option_words(self, i: int, absolute: bool = False) -> list[str]:
        """The options of segment record ``i`` as the label shows them (see :meth:`label`)."""
        r = self.records[i]
        syn = "S" in (r.get("flags") or "")
        out = []
        for o in r.get("options") or ():
            if o in ("nop", "eol"):
                continue
            if o.startswith("TS val ") and not absolute:
                if syn:
                    out.append("TS")
                continue
            if not absolute and o.startswith("sack ") and i in self.sack:
                blocks = self.sack[i]
                o = f"sack {len(blocks)} " + "".join(f"{{{a}:{b}}}" for a, b in blocks)
            out.append(o)
        return out

    # ---- Wireshark-style analysis ----------------------------------------------------------
    def _analyse(self) -> None:
        """Per segment departure, the flags Wireshark's TCP analysis would give it."""
        self.flags: dict[int, list[str]] = {}
        nxt: dict[tuple, int] = {}          # direction -> highest sequence number sent + SEG.LEN (absolute)
        sent: dict[tuple, list] = {}        # direction -> [(seq, end)] data ranges seen
        last_ack: dict[tuple, tuple] = {}   # direction -> (ack, win) of its last pure ACK
        dups: dict[tuple, int] = {}         # direction -> duplicate ACKs in a row
        acked: dict[tuple, int] = {}        # direction -> highest ACK the peer sent for it
        win: dict[tuple, int] = {}          # direction -> its last advertised window, scaled
        shift: dict[tuple, int | None] = {}  # direction -> window scale it announced
        for i, r in enumerate(self.records):
            if r["event"] != "send" or r.get("flags") is None:
                continue
            fl: list[str] = []
            f = r["flags"]
            d = _flow(r)
            back = _rev(d)
            seq, n = r["seq"], r["len"] or 0
            seg_len = n + ("S" in f) + ("F" in f)
            syn, rst = "S" in f, "R" in f
            if syn:
                ws = next((int(m.group(1)) for o in r.get("options") or () if (m := _WSCALE.match(o))), None)
                shift[d] = ws
            a_shift = shift.get(d)
            scale = a_shift if (a_shift is not None and shift.get(back) is not None and not syn) else 0
            wnd = (r["win"] or 0) << scale
            # sequence analysis of this direction
            if d in nxt and not rst:
                hi = nxt[d]
                end = (seq + seg_len) & _MASK
                if not syn and n <= 1 and "F" not in f and ((hi - seq) & _MASK) == 1:
                    fl.append("keep-alive")
                elif seg_len and _before(seq, hi):
                    overlap = any(_before(s0, end) and _before(seq, e0) for s0, e0 in sent.get(d, ()))
                    if overlap:
                        if d in acked and not _before(acked[d], end):
                            fl.append("spurious retransmission")
                        elif dups.get(back, 0) >= 2 and last_ack.get(back, (None,))[0] == seq:
                            fl.append("fast retransmission")
                        else:
                            fl.append("retransmission")
                    elif not syn:
                        fl.append("out-of-order")
                if n and back in win and d in acked and end == (acked[d] + win[back]) & _MASK:
                    fl.append("window full")
                if n == 1 and win.get(back) == 0 and seq == hi:
                    fl.append("zero-window probe")
            if seg_len:
                end = (seq + seg_len) & _MASK
                if d not in nxt or _before(nxt[d], end):
                    nxt[d] = end
                sent.setdefault(d, []).append((seq, end))
                if len(sent[d]) > 4096:
                    del sent[d][:2048]
            # acknowledgment analysis of this direction's ACKs (about the other direction)
            if "." in f and not syn and not rst:
                ack = r["ack"]
                if seg_len == 0 and "F" not in f:
                    prev = last_ack.get(d)
                    outstanding = back in nxt and _before(ack, nxt[back])
                    if prev is not None and prev[0] == ack and prev[1] == wnd and outstanding:
                        dups[d] = dups.get(d, 0) + 1
                        fl.append(f"dup ACK #{dups[d]}")
                    else:
                        if prev is not None and prev[0] == ack and prev[1] != wnd:
                            fl.append("window update")
                        dups[d] = 0
                    last_ack[d] = (ack, wnd)
                else:
                    dups[d] = 0
                if back not in acked or _before(acked[back], ack):
                    acked[back] = ack
                if i in self.sack and self.sack[i]:
                    x, y = self.sack[i][0]
                    second = self.sack[i][1] if len(self.sack[i]) > 1 else None
                    if _before(x, self.rel[i][1]) or (second and not _before(x, second[0])
                                                      and not _before(second[1], y)):
                        fl.append(f"D-SACK {{{x}:{y}}}")
            if wnd == 0 and not rst and not syn:
                fl.append("zero window")
            win[d] = wnd
            if fl:
                self.flags[i] = fl

    # ---- states --------------------------------------------------------------------------
    def queue_notes(self) -> set[int]:
        """The ``listen-queue`` records worth showing: a queue at least half full (RFC 4987
        §2.2: what a SYN flood fills) whose occupancy changed, so ordinary runs stay quiet."""
        out: set[int] = set()
        seen: dict = {}
        for i, r in enumerate(self.records):
            if r["event"] != "listen-queue":
                continue
            occ = (r.get("syn_queue"), r.get("accept_queue"))
            key = (r["host"], r.get("addr"), r.get("port"))
            pressure = (2 * (occ[0] or 0) >= (r.get("syn_backlog") or 1)
                        or 2 * (occ[1] or 0) >= (r.get("backlog") or 1))
            if pressure and seen.get(key) != occ:
                seen[key] = occ
                out.add(i)
        return out

    def arrival_changes_state(self, j: int) -> bool:
        """Whether the arrival record ``j`` changed its host's state (a state record of that
        host follows it in the same processing step)."""
        recs = self.records
        h, t = recs[j]["host"], recs[j]["t"]
        for x in range(j + 1, len(recs)):
            q = recs[x]
            if q["t"] != t:
                return False
            if q["host"] != h:
                continue
            k = q["event"]
            if k == "state":
                return True
            if k in ("recv", "app", "timer-fired"):
                return False
        return False

    def cause_text(self, i: int) -> str | None:
        """Why send record ``i`` was sent, for people: ``RTO #2, rto=2.0s``, ``fast
        retransmit``, ``zero window probe``; None for new data."""
        return self.notes.cause.get(i)

    def timer_text(self, i: int) -> str | None:
        """The timer whose expiry sent record ``i`` (``delayed ACK timer``), if any."""
        return self.notes.timer.get(i)


def _reorder_app_calls(recs: list[dict]) -> list[dict]:
    """Move each application call to where it began, when that is knowable.

    Calls are recorded when they return. A record that says how many of its host's events
    the call ``caused`` after it began, or after the wait that held it ended (synack's
    socket API records this), is moved before exactly those: ``close()`` before its FIN, a
    ``recv()`` woken by an arrival after the ACK TCP sent for it and before the window
    update the read itself sent. Without that field (older traces), a call whose host did
    nothing else at that instant since its previous call or arrival is moved before the
    events it caused, and a call that returned because a segment arrived or a timer fired is
    shown before any segment its host sent in that same processing step.
    """
    before: dict[int, list[int]] = {}  # record index -> app calls to show just before it
    moved: set = set()
    for i, r in enumerate(recs):
        if r["event"] != "app":
            continue
        h, t = r["host"], r["t"]
        n = r.get("caused")
        if type(n) is int:
            target = None
            for j in range(i - 1, -1, -1):
                if n <= 0 or recs[j]["t"] != t:
                    break
                if recs[j]["host"] == h:
                    n -= 1
                    target = j
            if target is not None:
                before.setdefault(target, []).append(i)
                moved.add(i)
            continue
        target = None
        first_send = None
        blocked = False
        for j in range(i - 1, -1, -1):  # walk back over this instant, in recorded order
            q = recs[j]
            if q["t"] != t:
                break
            if q["host"] != h:
                continue
            k = q["event"]
            if k in ("recv", "timer-fired"):
                blocked = True
                break
            if k == "app":
                break
            if k == "send":
                first_send = j
            target = j
        if blocked:
            target = first_send  # it returned because of that arrival: before the reply
        if target is not None:
            before.setdefault(target, []).append(i)
            moved.add(i)
    if not moved:
        return list(recs)
    out: list[dict] = []
    for i, r in enumerate(recs):
        for k in before.get(i, ()):
            out.append(recs[k])
        if i not in moved:
            out.append(r)
    return out


def _before(a: int, b: int) -> bool:
    """a < b in sequence space (RFC 9293 §3.4)."""
    return 0 < ((b - a) & _MASK) < 0x80000000


def _addr_names(recs: list[dict]) -> dict[str, str]:
    out: dict[str, str] = {}
    for r in recs:
        if r["event"] in ("send", "recv", "drop"):
            for a, nm in ((r.get("src_addr"), r.get("src")), (r.get("dst_addr"), r.get("dst"))):
                if a and nm and a not in out:
                    out[a] = nm
    return out


_BIND = re.compile(r"bind\(\('([^']*)', (\d+)")


def _with_listener_states(recs: list[dict]) -> list[dict]:
    """``recs`` with a ``state`` record after each successful ``listen()`` (CLOSED ->
    LISTEN, RFC 9293 §3.10.1) and each ``close()`` of a listening socket (LISTEN ->
    CLOSED, §3.10.4): the stack keeps no connection for a listener, so it records no state,
    but a ladder must show it."""
    out: list[dict] = []
    bound: dict[str, str] = {}
    listening: dict[str, set] = {}
    for r in recs:
        out.append(r)
        if r["event"] != "app" or r.get("conn") is not None or r.get("error"):
            continue
        h = r["host"]
        call = r.get("call")
        if call == "bind":
            m = _BIND.match(r.get("args") or "")
            if m:
                bound[h] = endpoint(m.group(1) or "0.0.0.0", int(m.group(2)))
        elif call == "listen":
            where = bound.get(h, "")
            listening.setdefault(h, set()).add(where)
            out.append({"t": r["t"], "host": h, "event": "state", "conn": None, "from": "CLOSED", "to": "LISTEN",
                        "cause": f"passive OPEN: listen() on {where}".rstrip(" on"),
                        "rule": "RFC 9293 §3.10.1", "listener": where})
        elif call == "close" and listening.get(h):
            where = sorted(listening[h])[0]
            listening[h].discard(where)
            out.append({"t": r["t"], "host": h, "event": "state", "conn": None, "from": "LISTEN", "to": "CLOSED",
                        "cause": "CLOSE of the listening socket", "rule": "RFC 9293 §3.10.4", "listener": where})
    return out
