"""Errors of the socket facade: the TCP core's errors as the kernel socket reports them.

Every ``OSError`` here is built as ``OSError(code, os.strerror(code))``, which Python turns
into the same subclass (``ConnectionRefusedError``, ``BrokenPipeError``, ...) and the same
message a real socket raises on Linux.
"""

from __future__ import annotations

import errno
import os

from ..tcp.errors import (
    ConnectionAborted,
    ConnectionClosing,
    ConnectionDoesNotExist,
    ConnectionExists,
    ConnectionRefused,
    ConnectionReset,
    ConnectionTimeout,
    InsufficientResources,
    TcpError,
    Unreachable,
)

__all__ = ["SimulationIdle", "oserror", "errno_for", "timed_out", "would_block"]


class SimulationIdle(RuntimeError):
    """A blocking call with no timeout cannot return and the simulation has gone idle.

    Nothing is in flight and no timer is armed, so nothing can ever make the call return:
    a real program would hang here. In a single-threaded script this is a bug in the
    order of the calls (for example ``recv()`` before the peer's ``send()``).
    """


def oserror(code: int) -> OSError:
    """``OSError(code, strerror)``: Python picks the subclass from ``code``."""
    return OSError(code, os.strerror(code))


def timed_out() -> TimeoutError:
    """What a socket with a timeout raises when the timeout expires (``socket.timeout``)."""
    return TimeoutError("timed out")


def would_block() -> BlockingIOError:
    """EAGAIN, for a non-blocking call that cannot complete now."""
    return BlockingIOError(errno.EAGAIN, os.strerror(errno.EAGAIN))


_CODES: tuple[tuple[type, int], ...] = (
    (ConnectionRefused, errno.ECONNREFUSED),
    (ConnectionReset, errno.ECONNRESET),
    (ConnectionClosing, errno.EPIPE),
    (ConnectionTimeout, errno.ETIMEDOUT),
    (ConnectionAborted, errno.ECONNABORTED),
    (ConnectionDoesNotExist, errno.ENOTCONN),
    (ConnectionExists, errno.EISCONN),
    (InsufficientResources, errno.ENOBUFS),
)


#: ICMP error reasons (tcp.errors.Unreachable) -> the errno Linux reports: its
#: icmp_err_convert and icmpv6_err_convert tables.
_UNREACHABLE = {
    "net-unreachable": errno.ENETUNREACH, "host-unreachable": errno.EHOSTUNREACH,
    "protocol-unreachable": errno.ENOPROTOOPT, "port-unreachable": errno.ECONNREFUSED,
    "frag-needed": errno.EMSGSIZE, "source-route-failed": errno.EOPNOTSUPP,
    "net-unknown": errno.ENETUNREACH, "host-unknown": errno.EHOSTDOWN,
    "host-isolated": errno.ENONET, "net-prohibited": errno.ENETUNREACH,
    "host-prohibited": errno.EHOSTUNREACH, "packet-filtered": errno.EHOSTUNREACH,
    "precedence": errno.EHOSTUNREACH, "ttl-exceeded": errno.EHOSTUNREACH,
    "parameter-problem": errno.EPROTO, "admin-prohibited": errno.EACCES,
    "beyond-scope": errno.EHOSTUNREACH, "address-unreachable": errno.EHOSTUNREACH,
    "policy-failed": errno.EACCES, "reject-route": errno.EACCES,
}


def errno_for(err: TcpError, fin_received: bool = False) -> int:
    """The errno Linux reports for the core error ``err``.

    A reset that arrives after the peer's FIN (CLOSE-WAIT) is reported as EPIPE, not
    ECONNRESET, as Linux's ``tcp_reset()`` does: the peer had already finished sending.
    """
    if isinstance(err, ConnectionReset) and fin_received:
        return errno.EPIPE
    if isinstance(err, Unreachable):
        return _UNREACHABLE.get(err.reason, errno.EHOSTUNREACH)
    for cls, code in _CODES:
        if isinstance(err, cls):
            return code
    return errno.EIO
