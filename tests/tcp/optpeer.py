"""A scripted peer that speaks the options: timestamps (RFC 7323 §3), SACK (RFC 2018) and
window scaling (RFC 7323 §2), on top of :mod:`harness` (STYLE "Tests that read like the
RFC", 2).

``OptTcb`` is a :class:`harness.Tcb` whose peer negotiates what it is told to in its SYN or
SYN,ACK (``peer_ts``, ``peer_sack``, ``peer_wscale``) and then puts a Timestamps option on
every segment it sends, as RFC 7323 §3.2 requires: its TSval is ``peer_tsval`` (a clock the
test moves with ``peer_tick()`` or sets), its TSecr the last TSval we sent. ``sacks=[(a, b),
...]`` adds a SACK option whose blocks are given as sequence numbers (use ``t.iss`` and
``t.irs``). Everything else is the harness: ``expect_sent``, ``advance``, the states built
by replaying the exchange.

Helpers read options from our segments: ``ts_of(seg)`` (TSval, TSecr), ``tsval_of(seg)`` and
``tsecr_of(seg)`` (for a segment that must carry the option) and ``sack_of(seg)`` (the SACK
blocks as ints, or ``()``).
"""

from __future__ import annotations


from harness import LOW, PEER_MSS, Tcb

from synack.wire.seq import Seq
from synack.wire.tcp import Mss, Nop, Sack, SackPermitted, Timestamps, WindowScale

PEER_TSVAL = 5000


def ts_of(seg) -> tuple[int, int] | None:
    """(TSval, TSecr) of a segment's Timestamps option, or None."""
    for o in seg.options:
        if type(o) is Timestamps:
            return (o.tsval, o.tsecr)
    return None


def tsval_of(seg) -> int:
    """TSval of a segment that must carry the Timestamps option."""
    v = ts_of(seg)
    assert v is not None, f"no Timestamps option in {seg}"
    return v[0]


def tsecr_of(seg) -> int:
    """TSecr of a segment that must carry the Timestamps option."""
    v = ts_of(seg)
    assert v is not None, f"no Timestamps option in {seg}"
    return v[1]


def sack_of(seg) -> tuple:
    """The SACK blocks of a segment as ((left, right), ...) ints; () when it has none."""
    for o in seg.options:
        if type(o) is Sack:
            return tuple((int(a), int(b)) for a, b in o.blocks)
    return ()


def syn_options(*, ts: int | None = None, ecr: int = 0, sack: bool = False,
                wscale: int | None = None, mss: int = PEER_MSS) -> tuple:
    """A SYN's options in Linux's order: mss, sackOK, TS, nop, wscale (each when asked)."""
    opts: tuple = (Mss(mss),)
    if ts is not None:
        t = Timestamps(ts, ecr)
        opts += (SackPermitted(), t) if sack else (Nop(), Nop(), t)
    elif sack:
        opts += (Nop(), Nop(), SackPermitted())
    if wscale is not None:
        opts += (Nop(), WindowScale(wscale))
    return opts


class OptTcb(Tcb):
    """A Tcb whose peer uses timestamps, SACK and window scaling as configured."""

    def __init__(self, isns=LOW, *, peer_ts: bool = True, peer_sack: bool = True,
                 peer_wscale: int | None = None, **cfg) -> None:
        super().__init__(isns, **cfg)
        self.peer_ts = peer_ts
        self.peer_sack = peer_sack
        self.peer_wscale = peer_wscale
        self.peer_tsval = PEER_TSVAL

    # ------------------------------------------------------------------ the peer's clock
    def peer_tick(self, n: int = 1) -> None:
        self.peer_tsval = (self.peer_tsval + n) & 0xFFFFFFFF

    def our_last_tsval(self) -> int:
        """The TSval of the last segment we sent (what the peer echoes)."""
        self._pull()
        for _, seg, _ in reversed(self.sent):
            v = ts_of(seg)
            if v is not None:
                return v[0]
        return 0

    def peer_sends(self, flags="S", seq=None, ack=None, wnd: int = 65535, data: bytes = b"",
                   options=None, urg: int = 0, *, sacks=(), tsval: int | None = None,
                   tsecr: int | None = None, ts: bool = True, ce: bool = False):
        """As Tcb.peer_sends, with the peer's options added unless ``options`` is given:
        the SYN offers; later segments carry TSopt (``ts=False`` leaves it out) and
        ``sacks``."""
        if options is None:
            if "S" in str(flags):
                # A SYN,ACK echoes our SYN's TSval (RFC 7323 §3.2).
                ecr = self.our_last_tsval() if "." in str(flags) else 0
                options = syn_options(ts=(self.peer_tsval if tsval is None else tsval) if self.peer_ts else None,
                                      ecr=ecr, sack=self.peer_sack, wscale=self.peer_wscale)
            else:
                options = ()
                if self.peer_ts and ts:
                    options = (Nop(), Nop(), Timestamps(self.peer_tsval if tsval is None else tsval,
                                                        self.our_last_tsval() if tsecr is None else tsecr))
                if sacks:
                    options += (Nop(), Nop(), Sack(tuple((Seq(a), Seq(b)) for a, b in sacks)))
        if ce:
            return self._peer_sends_ce(flags, seq, ack, wnd, data, options, urg)
        return super().peer_sends(flags, seq=seq, ack=ack, wnd=wnd, data=data, options=options, urg=urg)

    def _peer_sends_ce(self, flags, seq, ack, wnd, data, options, urg):
        """The segment arrives marked Congestion Experienced (RFC 3168 §5) by the path, as
        the host reports it: ``segment_arrives(seg, now, ce=True)``."""
        conn = self.conn
        self.conn = _CeMarked(conn)  # type: ignore[assignment]
        try:
            return super().peer_sends(flags, seq=seq, ack=ack, wnd=wnd, data=data, options=options, urg=urg)
        finally:
            self.conn = conn


class _CeMarked:
    """The connection, seen through a path that marks CE on what it delivers."""

    def __init__(self, conn) -> None:
        self._conn = conn

    def segment_arrives(self, seg, now) -> None:
        self._conn.segment_arrives(seg, now, ce=True)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def opt_established(isns=LOW, rtt: int = 0, **kw) -> OptTcb:
    """The three-way handshake from our SYN, the peer offering what ``kw`` says."""
    return OptTcb(isns, **kw).established(rtt)


def opt_established_passive(isns=LOW, rtt: int = 0, **kw) -> OptTcb:
    """The three-way handshake from LISTEN, the peer's SYN offering what ``kw`` says."""
    return OptTcb(isns, **kw).established_passive(rtt)
