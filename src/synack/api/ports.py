"""Port reservations of the socket facade: bind(2)'s conflict rule and ephemeral ports.

The Host knows its connections and listeners; sockets add what the kernel keeps per
socket: a port held by ``bind()`` before anything listens or connects, and each
connection's ``SO_REUSEADDR``. One :class:`PortRegistry` per runtime (per simulated
network, per real stack), so that two simulations never see each other.
"""

from __future__ import annotations

import itertools
import weakref
from typing import Any

from .addresses import overlap
from .constants import CLOSED
from .errors import oserror


class PortRegistry:
    """What one runtime's sockets share: file numbers and port reservations."""

    def __init__(self) -> None:
        self.fds = itertools.count(3)  # 0-2 are stdin, stdout, stderr
        #: host name -> open sockets of that host
        self.sockets: dict[str, weakref.WeakSet[Any]] = {}
        #: connection -> SO_REUSEADDR of the socket that owned it (for bind conflicts)
        self.conn_reuse: dict[Any, bool] = {}

    def of(self, host: Any) -> weakref.WeakSet[Any]:
        """The open sockets of ``host``."""
        s = self.sockets.get(host.name)
        if s is None:
            s = self.sockets[host.name] = weakref.WeakSet()
        return s

    def taken(self, me: Any, host: Any, addr: str, port: int, reuse: bool) -> bool:
        """bind(2)'s conflict rule: a listener always conflicts; another socket or a
        connection on the port conflicts unless both sides set SO_REUSEADDR."""
        for (laddr, lport) in host.listeners:
            if lport == port and overlap(addr, laddr):
                return True
        for o in list(self.of(host)):
            if o is me or o._fd < 0 or o._reserved is None:
                continue
            oaddr, oport = o._reserved
            if oport == port and overlap(addr, oaddr) and not (reuse and o._opts.reuseaddr):
                return True
        conn_reuse = self.conn_reuse
        for key, conn in host.conns.items():
            # (a 4-tuple in TIME-WAIT is a record: the socket's option is its connection's)
            conn = getattr(conn, "connection", None) or conn
            if key[1] == port and overlap(addr, key[0]) and not (reuse and conn_reuse.get(conn)):
                return True
        return False

    def ephemeral(self, me: Any, host: Any, addr: str, code: int) -> int:
        """A free port from the host's ephemeral range, from a random point of it;
        OSError(``code``) when every one is taken."""
        lo, hi = host.ephemeral_ports
        span = hi - lo + 1
        start = host.rng.randrange(span)
        for i in range(span):
            port = lo + (start + i) % span
            if not self.taken(me, host, addr, port, False):
                return port
        raise oserror(code)

    def remember(self, conn: Any, reuse: bool) -> None:
        """Note the SO_REUSEADDR of the socket that owns ``conn``; forget closed ones."""
        reg = self.conn_reuse
        reg[conn] = reuse
        if len(reg) > 64:
            for c in [c for c in reg if c.state is CLOSED]:
                del reg[c]


_registries: weakref.WeakKeyDictionary[Any, PortRegistry] = weakref.WeakKeyDictionary()


def registry(runtime: Any) -> PortRegistry:
    """The registry of ``runtime`` (made on first use)."""
    reg = _registries.get(runtime)
    if reg is None:
        reg = _registries[runtime] = PortRegistry()
    return reg

