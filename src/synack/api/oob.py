"""Urgent data as Linux's sockets present it (``tcp_recvmsg``, ``tcp_recv_urg``).

The core keeps RFC 9293 §3.8.5's urgent pointer (``conn.urgent_mark``, a stream offset)
and lets the application read urgent octets in order. BSD sockets instead take the last
urgent octet out of the stream and hand it over alone with ``recv(1, MSG_OOB)`` (unless
``SO_OOBINLINE``), and a read never crosses the mark. :class:`UrgentState` keeps what
Linux keeps for that (``urg_data``): the mark seen, its octet, whether it was read.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from .errors import oserror, would_block


class UrgentState:
    """One socket's view of the urgent mark."""

    __slots__ = ("mark", "octet", "read")

    def __init__(self) -> None:
        self.mark: int | None = None
        self.octet: int | None = None
        self.read = False

    def note(self, conn: Any) -> int | None:
        """Track the connection's urgent mark and capture its octet while it is still in
        the receive buffer. Returns the mark (a stream offset one past the urgent octet)."""
        mark = conn.urgent_mark
        if mark != self.mark:
            self.mark = mark
            self.octet = None
            self.read = False
        if mark is not None and self.octet is None:
            self.octet = conn.urgent_octet()
        return mark

    def read_around_mark(self, conn: Any, n: int, oobinline: bool,
                         receive: Callable[[int], bytes]) -> bytes | None:
        """A read that stops before the last urgent octet and, without SO_OOBINLINE, skips
        it (it is read only with MSG_OOB). ``receive(k)`` is the core's RECEIVE; None when
        nothing is left to read after the skipped octet."""
        mark = self.note(conn)
        if mark is None:
            return receive(n)
        off = conn.read_offset
        stop = mark - 1  # stream offset of the last urgent octet
        if off < stop:
            return receive(min(n, stop - off))
        if off == stop and not oobinline:
            receive(1)  # skip it (captured above)
            if not conn.readable:
                return None
        return receive(n)

    def recv_oob(self, conn: Any, n: int, oobinline: bool, ended: bool) -> bytes:
        """recv(MSG_OOB): the last urgent octet, once. EINVAL with SO_OOBINLINE, when none
        arrived or it was read; EAGAIN while the pointer is known but the octet has not
        arrived (it never blocks); b"" once the connection ``ended``."""
        mark = self.note(conn) if conn is not None else None
        if oobinline or mark is None or self.read:
            raise oserror(errno.EINVAL)
        if self.octet is not None:
            self.read = True
            return bytes((self.octet,))[:n]
        if ended:
            return b""
        raise would_block()

    def at_mark(self, conn: Any) -> bool:
        """Whether the next octet a read returns is where urgent data ends (``sockatmark``)."""
        mark = self.note(conn)
        return mark is not None and conn.read_offset == mark - 1
