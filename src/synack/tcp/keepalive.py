"""Keep-alives (RFC 9293 §3.8.4, MUST-24..29): probing an idle connection's peer.

Off by default (MUST-25) and switched per connection (MUST-24), with Linux's three knobs
(MUST-27): ``keepalive_idle`` (TCP_KEEPIDLE: quiet time before the first probe; at least
two hours by default, MUST-28), ``keepalive_interval`` (TCP_KEEPINTVL: time between
unanswered probes) and ``keepalive_count`` (TCP_KEEPCNT: unanswered probes before the
connection is declared dead). They live in :class:`~synack.tcp.config.TcpConfig`.

The timer works as Linux's ``tcp_keepalive_timer``: idleness is measured from the last
segment received, which costs one store per segment instead of re-arming a timer. When the
timer fires, a connection with data outstanding is left to its retransmission timer
(MUST-26: probes only when nothing sent is unacknowledged); otherwise, once ``idle`` has
passed, it sends a probe, ``<SEQ=SND.UNA-1><ACK=RCV.NXT><CTL=ACK>`` with no data, which the
peer must answer with an ACK because it lies below its window. Any segment from the peer
resets the count. A probe that goes unanswered is not enough to declare the peer dead
(MUST-29): only after ``keepalive_count`` of them, ``keepalive_interval`` apart, does the
connection end: an RST (as Linux sends) and ConnectionTimeout, which the socket API
reports as TimeoutError(ETIMEDOUT).

The state lives in a small :class:`KeepAlive` record that a connection allocates only when
keep-alives are turned on.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

from ..trace.events import TimerArmed, TimerCancelled, TimerFired
from ..wire.tcp import ACK
from .errors import ConnectionTimeout
from .state import State

#: States in which an idle connection is probed (Linux also probes in FIN-WAIT-2).
PROBED = frozenset({State.ESTABLISHED, State.CLOSE_WAIT, State.FIN_WAIT_2})


class KeepAlive:
    """One connection's keep-alive timer: deadline, probes sent unanswered, last heard."""

    __slots__ = ("at", "probes", "heard")

    def __init__(self, now: int) -> None:
        self.at: Optional[int] = None
        self.probes = 0
        self.heard = now

    def __repr__(self) -> str:
        return f"KeepAlive(at={self.at}, probes={self.probes}, heard={self.heard})"


def _arm(conn, ka: KeepAlive, at: int, now: int) -> None:
    ka.at = at
    tr = conn.tr
    if tr.on:
        tr.emit(TimerArmed(now, tr.host, conn.cid, "keepalive", at, ka.probes))


def configure(conn, on: bool, now: int, idle: Optional[int] = None, interval: Optional[int] = None,
              count: Optional[int] = None) -> None:
    """Turn keep-alives on or off for ``conn`` (MUST-24) and set its knobs; the timer is
    re-armed from the last segment heard, as Linux does when TCP_KEEPIDLE changes."""
    changes = {"keepalive": bool(on)}
    if idle is not None:
        changes["keepalive_idle"] = idle
    if interval is not None:
        changes["keepalive_interval"] = interval
    if count is not None:
        changes["keepalive_count"] = count
    cfg = replace(conn.config, **changes)  # a copy: the host's config is shared
    cfg.validate()
    conn.config = cfg
    if on:
        if conn.state in PROBED:
            start(conn, now)
    else:
        stop(conn, now)


def start(conn, now: int) -> None:
    """Arm the timer ``keepalive_idle`` after the last segment heard (or now)."""
    ka = conn._ka
    if ka is None:
        ka = conn._ka = KeepAlive(now)
    at = ka.heard + conn.config.keepalive_idle
    _arm(conn, ka, at if at > now else now, now)


def stop(conn, now: int) -> None:
    """Cancel the timer (keep-alives off, or the connection is closing)."""
    ka = conn._ka
    if ka is not None and ka.at is not None:
        ka.at = None
        tr = conn.tr
        if tr.on:
            tr.emit(TimerCancelled(now, tr.host, conn.cid, "keepalive"))


def on_timer(conn, now: int) -> None:
    """The keep-alive timer fired (Linux ``tcp_keepalive_timer``)."""
    ka: KeepAlive = conn._ka
    ka.at = None
    tr = conn.tr
    if tr.on:
        tr.emit(TimerFired(now, tr.host, conn.cid, "keepalive", ka.probes))
    cfg = conn.config
    if not cfg.keepalive or conn.state not in PROBED:
        return
    idle = cfg.keepalive_idle
    if conn.snd_una != conn.snd_nxt or conn.unsent:
        # MUST-26: data is outstanding; the retransmission timer watches the peer.
        _arm(conn, ka, now + idle, now)
        return
    elapsed = now - ka.heard
    if elapsed < idle:
        _arm(conn, ka, ka.heard + idle, now)
        return
    if ka.probes >= cfg.keepalive_count:
        # MUST-29 satisfied: keepalive_count probes in a row went unanswered.
        conn._send_rst(conn.snd_nxt, now)
        conn._fail(ConnectionTimeout(
            f"connection timed out: {ka.probes} keep-alive probes unanswered"),
            now, "keep-alive probes unanswered", "RFC 9293 §3.8.4")
        return
    # The probe: one sequence number below SND.UNA, no data (the peer ACKs it).
    conn._emit(conn._segment(conn.snd_una - 1, conn.rcv_nxt, ACK), now, "keepalive")
    ka.probes += 1
    _arm(conn, ka, now + cfg.keepalive_interval, now)
