"""What applications call: a blocking, socket-like facade over a Host on the simulator.

``synack.api.socket(net, host, family)`` behaves like ``socket.socket(family, SOCK_STREAM)``
and raises what Python's own socket raises on Linux; a call that would block advances the
simulation instead. See docs/api.md.
"""

import socket as _socket

from .blocking import (
    AF_INET,
    AF_INET6,
    IPPROTO_TCP,
    MSG_DONTWAIT,
    MSG_FASTOPEN,
    MSG_OOB,
    SHUT_RD,
    SHUT_RDWR,
    SHUT_WR,
    SO_ERROR,
    SO_LINGER,
    SO_KEEPALIVE,
    SO_OOBINLINE,
    SO_REUSEADDR,
    SO_TYPE,
    SOCK_STREAM,
    SOL_SOCKET,
    SOMAXCONN,
    TCP_CONGESTION,
    TCP_FASTOPEN,
    TCP_KEEPCNT,
    TCP_KEEPIDLE,
    TCP_KEEPINTVL,
    TCP_NODELAY,
    create_connection,
    create_server,
    has_dualstack_ipv6,
    sleep,
    socket,
)
from .errors import SimulationIdle

#: aliases Python's socket module has
error = OSError
timeout = TimeoutError
gaierror = _socket.gaierror

__all__ = [
    "socket", "create_connection", "create_server", "has_dualstack_ipv6", "sleep", "SimulationIdle",
    "error", "timeout", "gaierror",
    "AF_INET", "AF_INET6", "SOCK_STREAM", "SHUT_RD", "SHUT_WR", "SHUT_RDWR", "SOL_SOCKET",
    "SO_LINGER", "SO_REUSEADDR", "SO_ERROR", "SO_TYPE", "IPPROTO_TCP", "TCP_NODELAY", "TCP_CONGESTION",
    "MSG_DONTWAIT", "SOMAXCONN",
    # urgent data, keep-alive, Fast Open
    "MSG_OOB", "MSG_FASTOPEN", "SO_KEEPALIVE", "SO_OOBINLINE", "TCP_KEEPIDLE", "TCP_KEEPINTVL",
    "TCP_KEEPCNT", "TCP_FASTOPEN",
]
