"""Congestion control algorithms, chosen per connection by name (like Linux's TCP_CONGESTION).

``TcpConfig(congestion="reno")`` picks one for new connections; the socket API's
``setsockopt(IPPROTO_TCP, TCP_CONGESTION, b"reno")`` picks one for a socket, before or after
it connects. A new algorithm is one small class (see :mod:`synack.tcp.cc.reno` for the events
it receives) made known by name::

    from synack.tcp.cc import register
    from synack.tcp.cc.reno import Reno

    @register
    class Timid(Reno):
        name = "timid"
        __slots__ = ()
        def ssthresh_after_loss(self, flight_size):
            return max(flight_size // 4, 2 * self.smss)
"""

from __future__ import annotations

from .cubic import Cubic
from .reno import CongestionControl, NewReno, Reno

#: Linux's TCP_CA_NAME_MAX: names are at most 15 characters plus the NUL
NAME_MAX = 16

ALGORITHMS: dict[str, type] = {}

#: the algorithm of a TcpConfig that does not name one (Linux's default since 2.6.19)
DEFAULT = "cubic"


def register(cls: type) -> type:
    """Make an algorithm available by its ``name`` attribute."""
    name = getattr(cls, "name", "")
    if not isinstance(name, str) or not 0 < len(name) < NAME_MAX or not name.isascii() \
            or any(not (ch.isalnum() or ch in "_-") for ch in name):
        raise ValueError(f"congestion control name must be 1 to {NAME_MAX - 1} ASCII letters, digits, "
                         f"'-' or '_', not {name!r}")
    ALGORITHMS[name] = cls
    return cls


for _cls in (Reno, NewReno, Cubic):
    register(_cls)


def available() -> list[str]:
    """The registered names, sorted (Linux's tcp_available_congestion_control)."""
    return sorted(ALGORITHMS)


def check(name: str) -> str:
    """``name`` if an algorithm is registered under it; ValueError listing the known ones."""
    if name not in ALGORITHMS:
        raise ValueError(f"unknown congestion control {name!r} (known: {', '.join(available())})")
    return name


def create(name: str, smss: int, initial_window: int) -> CongestionControl:
    """Instantiate the algorithm called ``name``."""
    cls = ALGORITHMS.get(name)
    if cls is None:
        cls = ALGORITHMS[check(name)]  # (ValueError: an unknown name)
    return cls(smss, initial_window)


def switch(old: CongestionControl, name: str) -> CongestionControl:
    """A fresh ``name`` algorithm that continues from ``old``'s cwnd and ssthresh (what Linux's
    tcp_reinit_congestion_control keeps when TCP_CONGESTION changes on a live connection)."""
    new = create(name, old.smss, 1)
    new.resume(old.cwnd, old.ssthresh)
    return new


__all__ = ["ALGORITHMS", "DEFAULT", "NAME_MAX", "CongestionControl", "Cubic", "NewReno", "Reno",
           "available", "check", "create", "register", "switch"]
