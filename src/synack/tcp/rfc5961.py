"""Blind in-window attack defences (RFC 5961, adopted by RFC 9293 §3.10.7.4).

The connection itself applies the three checks: an RST is accepted only at exactly
RCV.NXT, otherwise it draws a *challenge ACK* (RFC 5961 §3.2); a SYN in a synchronized
state draws a challenge ACK (§4.2); an ACK below SND.UNA - MAX.SND.WND or above SND.NXT is
dropped and answered with an ACK (§5.2, RFC 9293 MAY-12). A forger who guesses sequence
numbers can then make a host send challenge ACKs; RFC 5961 §7 asks that they be
throttled. :class:`ChallengeAckLimiter` is that throttle: at most ``limit`` challenge
ACKs per ``period`` (Linux's ``tcp_challenge_ack_limit`` was 1000 per second; RFC 5961
§7 suggests a per-host limit that the administrator can change). A host owns one and
hands it to each of its connections; a challenge over the limit is dropped silently and
counted. Sans-IO: time is the ``now`` argument.
"""

from __future__ import annotations


from ..timeunits import sec

#: Linux's historical default (net.ipv4.tcp_challenge_ack_limit before 2016).
DEFAULT_LIMIT = 1000


class ChallengeAckLimiter:
    """At most ``limit`` challenge ACKs in each ``period`` (a fixed window), per host."""

    __slots__ = ("limit", "period", "_window", "_count", "sent", "suppressed")

    def __init__(self, limit: int | None = DEFAULT_LIMIT, period: int = sec(1)) -> None:
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0 or None (no limit), not {limit}")
        if period <= 0:
            raise ValueError(f"period must be positive, not {period}")
        self.limit = limit
        self.period = period
        self._window = -1
        self._count = 0
        #: challenge ACKs allowed, and suppressed, over the limiter's life
        self.sent = 0
        self.suppressed = 0

    def allow(self, now: int) -> bool:
        """May one more challenge ACK be sent at ``now``? (Counts it if so.)"""
        if self.limit is None:
            self.sent += 1
            return True
        w = now // self.period
        if w != self._window:
            self._window = w
            self._count = 0
        if self._count >= self.limit:
            self.suppressed += 1
            return False
        self._count += 1
        self.sent += 1
        return True

    def __repr__(self) -> str:
        return (f"ChallengeAckLimiter(limit={self.limit}, period={self.period}, sent={self.sent}, "
                f"suppressed={self.suppressed})")


def oow_answer(last: int | None, now: int, gap: int | None, news: bool = False) -> tuple[bool, int | None]:
    """The per-connection rule for answering unacceptable segments (outside the window,
    acknowledging unsent data, or challenged as above): at most one ACK per ``gap``
    nanoseconds (``TcpConfig.invalid_ratelimit``, as Linux's tcp_oow_rate_limited), so a
    flood draws a trickle of ACKs, not one each. ``last``: when such an ACK last left, or
    None. ``news``: the ACK carries a D-SACK block never reported and always leaves.
    Returns (may the ACK leave, the new ``last``). A connection and its TIME-WAIT record
    both answer by it."""
    if gap is None or news:
        return True, (now if news else last)
    if last is not None and now - last < gap:
        return False, last
    return True, now


def challenge_refused(conn_allows: bool, limiter: ChallengeAckLimiter | None, now: int,
                      invalid_ratelimit: int | None, reason: str) -> str | None:
    """Why a challenge ACK (§3.2, §4.2, §5.2) is not sent, or None when it is: the
    connection answered an unacceptable segment less than ``invalid_ratelimit`` ago
    (``conn_allows`` is False, from :func:`oow_answer`), or the host's ``limiter`` says
    too many were sent (§7). The limiter counts only challenges the connection allowed."""
    if not conn_allows:
        gap = (invalid_ratelimit or 0) // 10**6
        return f"{reason}: challenge ACK suppressed (one per {gap} ms per connection, RFC 5961 §7)"
    if limiter is None or limiter.allow(now):
        return None
    return f"{reason}: challenge ACK suppressed (RFC 5961 §7)"
