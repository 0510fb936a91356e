"""Constants of the socket facade (Python's own values, Linux's where Python lacks one) and
the sets of TCP states that every API (sockets, streams, transports) reasons with."""

from __future__ import annotations

import socket as _socket

from ..tcp.state import State

AF_INET = _socket.AF_INET
AF_INET6 = _socket.AF_INET6
SOCK_STREAM = _socket.SOCK_STREAM
SOCK_NONBLOCK = getattr(_socket, "SOCK_NONBLOCK", 0)
SOCK_CLOEXEC = getattr(_socket, "SOCK_CLOEXEC", 0)
SHUT_RD = _socket.SHUT_RD
SHUT_WR = _socket.SHUT_WR
SHUT_RDWR = _socket.SHUT_RDWR
SOL_SOCKET = _socket.SOL_SOCKET
SO_LINGER = _socket.SO_LINGER
SO_REUSEADDR = _socket.SO_REUSEADDR
SO_ERROR = _socket.SO_ERROR
SO_TYPE = _socket.SO_TYPE
SO_ACCEPTCONN = _socket.SO_ACCEPTCONN
SO_RCVBUF = _socket.SO_RCVBUF
SO_SNDBUF = _socket.SO_SNDBUF
IPPROTO_TCP = _socket.IPPROTO_TCP
TCP_NODELAY = _socket.TCP_NODELAY
TCP_CONGESTION = getattr(_socket, "TCP_CONGESTION", 13)  # Linux's value
MSG_DONTWAIT = _socket.MSG_DONTWAIT
# Urgent data, keep-alive and Fast Open; Linux values.
MSG_OOB = _socket.MSG_OOB
MSG_FASTOPEN = getattr(_socket, "MSG_FASTOPEN", 0x20000000)
SO_KEEPALIVE = _socket.SO_KEEPALIVE
SO_OOBINLINE = _socket.SO_OOBINLINE
TCP_KEEPIDLE = getattr(_socket, "TCP_KEEPIDLE", 4)
TCP_KEEPINTVL = getattr(_socket, "TCP_KEEPINTVL", 5)
TCP_KEEPCNT = getattr(_socket, "TCP_KEEPCNT", 6)
TCP_FASTOPEN = getattr(_socket, "TCP_FASTOPEN", 23)
TCP_USER_TIMEOUT = getattr(_socket, "TCP_USER_TIMEOUT", 18)
TCP_QUICKACK = getattr(_socket, "TCP_QUICKACK", 12)
# The segment size, the connection's state, reading without taking; Linux values.
TCP_MAXSEG = _socket.TCP_MAXSEG
TCP_INFO = getattr(_socket, "TCP_INFO", 11)
MSG_PEEK = _socket.MSG_PEEK
# The IP header's fields per socket; Linux values.
IPPROTO_IP = _socket.IPPROTO_IP
IPPROTO_IPV6 = _socket.IPPROTO_IPV6
IP_TOS = _socket.IP_TOS
IP_TTL = _socket.IP_TTL
IPV6_TCLASS = getattr(_socket, "IPV6_TCLASS", 67)
IPV6_UNICAST_HOPS = _socket.IPV6_UNICAST_HOPS
SOMAXCONN = _socket.SOMAXCONN

CLOSED = State.CLOSED
LISTEN = State.LISTEN
SYN_SENT = State.SYN_SENT
SYN_RECEIVED = State.SYN_RECEIVED
ESTABLISHED = State.ESTABLISHED
FIN_WAIT_2 = State.FIN_WAIT_2
CLOSE_WAIT = State.CLOSE_WAIT
TIME_WAIT = State.TIME_WAIT

#: the handshake is still going on
OPENING = (SYN_SENT, SYN_RECEIVED)
#: the application may still SEND (RFC 9293 §3.10.2)
SENDING = (ESTABLISHED, CLOSE_WAIT)
#: the connection is over as far as an application can tell (TIME-WAIT is CLOSE to Linux)
ENDED = (CLOSED, TIME_WAIT)

#: Linux's keep-alive defaults: off, TCP_KEEPIDLE 7200 s, TCP_KEEPINTVL 75 s, TCP_KEEPCNT 9
KEEPALIVE_DEFAULTS = (0, 7200, 75, 9)
