"""What applications call: a blocking, socket-like facade over a Host.

``synack.api.socket(net, host, family)`` behaves like ``socket.socket(family, SOCK_STREAM)``
and raises what Python's own socket raises on Linux; on the simulator a call that would
block advances the simulation instead. asyncio streams are in ``synack.api.streams``,
asyncio transports and protocols in ``synack.api.transports``, the event loop whose clock
is the simulator's in ``synack.api.simloop``. See docs/api.md.
"""

import socket as _socket

from .blocking import socket
from .constants import (
    AF_INET,
    AF_INET6,
    IP_TOS,
    IP_TTL,
    IPPROTO_IP,
    IPPROTO_IPV6,
    IPPROTO_TCP,
    IPV6_TCLASS,
    IPV6_UNICAST_HOPS,
    MSG_DONTWAIT,
    MSG_FASTOPEN,
    MSG_OOB,
    MSG_PEEK,
    SHUT_RD,
    SHUT_RDWR,
    SHUT_WR,
    SO_ERROR,
    SO_KEEPALIVE,
    SO_LINGER,
    SO_OOBINLINE,
    SO_RCVBUF,
    SO_SNDBUF,
    SO_REUSEADDR,
    SO_TYPE,
    SOCK_STREAM,
    SOL_SOCKET,
    SOMAXCONN,
    TCP_CONGESTION,
    TCP_FASTOPEN,
    TCP_INFO,
    TCP_KEEPCNT,
    TCP_KEEPIDLE,
    TCP_KEEPINTVL,
    TCP_MAXSEG,
    TCP_NODELAY,
    TCP_QUICKACK,
    TCP_USER_TIMEOUT,
)
from .errors import SimulationIdle
from .functions import create_connection, create_server, has_dualstack_ipv6, sleep
from .runtime import RealRuntime, Runtime, SimRuntime, runtime_of

#: aliases Python's socket module has
error = OSError
timeout = TimeoutError
gaierror = _socket.gaierror

__all__ = [
    "socket", "create_connection", "create_server", "has_dualstack_ipv6", "sleep", "SimulationIdle",
    "Runtime", "SimRuntime", "RealRuntime", "runtime_of",
    "error", "timeout", "gaierror",
    "AF_INET", "AF_INET6", "SOCK_STREAM", "SHUT_RD", "SHUT_WR", "SHUT_RDWR", "SOL_SOCKET",
    "SO_LINGER", "SO_REUSEADDR", "SO_ERROR", "SO_TYPE", "IPPROTO_TCP", "TCP_NODELAY", "TCP_CONGESTION",
    "MSG_DONTWAIT", "SOMAXCONN",
    # urgent data, keep-alive, Fast Open
    "MSG_OOB", "MSG_FASTOPEN", "SO_KEEPALIVE", "SO_OOBINLINE", "TCP_KEEPIDLE", "TCP_KEEPINTVL",
    "TCP_KEEPCNT", "TCP_FASTOPEN",
    # the segment size, the connection's state (struct tcp_info), reading without taking
    "TCP_MAXSEG", "TCP_INFO", "MSG_PEEK",
    # the receive buffer, the user timeout (R2 for one connection)
    "SO_RCVBUF", "SO_SNDBUF", "TCP_USER_TIMEOUT",
    # the delayed ACK: Linux's ping-pong mode
    "TCP_QUICKACK",
    # the IP header's fields per socket
    "IPPROTO_IP", "IPPROTO_IPV6", "IP_TOS", "IP_TTL", "IPV6_TCLASS", "IPV6_UNICAST_HOPS",
]
