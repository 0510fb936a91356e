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
keep-alives are turned on; its deadline is the connection's ``Timer.KEEPALIVE``
(:mod:`synack.tcp.timers`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .config import TcpConfig
from .errors import ConnectionTimeout
from .state import State
from .timers import Timer

if TYPE_CHECKING:  # pragma: no cover
    from .output import Output

#: States in which an idle connection is probed (Linux also probes in FIN-WAIT-2).
PROBED = frozenset({State.ESTABLISHED, State.CLOSE_WAIT, State.FIN_WAIT_2})


def configured(cfg: TcpConfig, on: bool, idle: int | None = None, interval: int | None = None,
               count: int | None = None) -> TcpConfig:
    """A copy of ``cfg`` (a host's config is shared) with keep-alives on or off (MUST-24)
    and the knobs given; ValueError names a value out of range."""
    changes: dict = {"keepalive": bool(on)}
    if idle is not None:
        changes["keepalive_idle"] = idle
    if interval is not None:
        changes["keepalive_interval"] = interval
    if count is not None:
        changes["keepalive_count"] = count
    new = replace(cfg, **changes)
    new.validate()
    return new


class KeepAlive:
    """One connection's keep-alive state: probes sent unanswered, when the peer was last heard."""

    __slots__ = ("conn", "probes", "heard")

    def __init__(self, conn: Output, now: int) -> None:
        self.conn = conn
        self.probes = 0
        self.heard = now

    def __repr__(self) -> str:
        return f"KeepAlive(probes={self.probes}, heard={self.heard})"

    def _arm(self, at: int, now: int) -> None:
        self.conn.timers.arm(Timer.KEEPALIVE, at, now, self.probes)

    def start(self, now: int) -> None:
        """Arm the timer ``keepalive_idle`` after the last segment heard (or now); the timer
        is re-armed from the last segment heard, as Linux does when TCP_KEEPIDLE changes."""
        at = self.heard + self.conn.config.keepalive_idle
        self._arm(at if at > now else now, now)

    def heard_from_peer(self, now: int) -> None:
        """A segment arrived: idleness counts from now, and the peer answered."""
        self.heard = now
        self.probes = 0

    def expired(self, now: int) -> None:
        """The keep-alive timer fired (Linux ``tcp_keepalive_timer``)."""
        conn = self.conn
        cfg = conn.config
        if not cfg.keepalive or conn.state not in PROBED:
            return
        idle = cfg.keepalive_idle
        snd = conn.snd
        if snd.snd_una != snd.snd_nxt or snd.unsent:
            # MUST-26: data is outstanding; the retransmission timer watches the peer.
            self._arm(now + idle, now)
            return
        if now - self.heard < idle:
            self._arm(self.heard + idle, now)
            return
        if self.probes >= cfg.keepalive_count:
            # MUST-29 satisfied: keepalive_count probes in a row went unanswered.
            conn._active_reset(now)
            conn._fail(ConnectionTimeout(f"connection timed out: {self.probes} keep-alive probes unanswered"),
                       now, "keep-alive probes unanswered", "RFC 9293 §3.8.4")
            return
        # The probe: one sequence number below SND.UNA, no data (the peer ACKs it).
        conn._send_probe(now, "keepalive")
        self.probes += 1
        self._arm(now + cfg.keepalive_interval, now)
