"""The symbolic constants a script may name (``SOCK_STREAM``, ``SO_LINGER``, ``POLLIN``,
``O_NONBLOCK``, ``MSG_FASTOPEN``, errno names, ...) with Linux's values, so that a script
means the same on the simulator and on the kernel."""

from __future__ import annotations

import errno as _errno
import socket as _socket

#: Linux values that Python's socket module may not export on every build
_LINUX = {
    "AF_INET": 2, "AF_INET6": 10, "AF_UNSPEC": 0,
    "SOCK_STREAM": 1, "SOCK_DGRAM": 2, "SOCK_NONBLOCK": 0o4000, "SOCK_CLOEXEC": 0o2000000,
    "IPPROTO_IP": 0, "IPPROTO_TCP": 6, "IPPROTO_UDP": 17, "IPPROTO_IPV6": 41,
    "SOL_SOCKET": 1, "SOL_TCP": 6, "SOL_IP": 0, "SOL_IPV6": 41,
    "SO_DEBUG": 1, "SO_REUSEADDR": 2, "SO_TYPE": 3, "SO_ERROR": 4, "SO_DONTROUTE": 5,
    "SO_BROADCAST": 6, "SO_SNDBUF": 7, "SO_RCVBUF": 8, "SO_KEEPALIVE": 9, "SO_OOBINLINE": 10,
    "SO_LINGER": 13, "SO_REUSEPORT": 15, "SO_RCVLOWAT": 18, "SO_SNDLOWAT": 19,
    "SO_RCVTIMEO": 20, "SO_SNDTIMEO": 21, "SO_ACCEPTCONN": 30, "SO_SNDBUFFORCE": 32,
    "SO_RCVBUFFORCE": 33, "SO_MARK": 36, "SO_ZEROCOPY": 60,
    "TCP_NODELAY": 1, "TCP_MAXSEG": 2, "TCP_CORK": 3, "TCP_KEEPIDLE": 4, "TCP_KEEPINTVL": 5,
    "TCP_KEEPCNT": 6, "TCP_SYNCNT": 7, "TCP_LINGER2": 8, "TCP_DEFER_ACCEPT": 9,
    "TCP_WINDOW_CLAMP": 10, "TCP_INFO": 11, "TCP_QUICKACK": 12, "TCP_CONGESTION": 13,
    "TCP_MD5SIG": 14, "TCP_THIN_LINEAR_TIMEOUTS": 16, "TCP_USER_TIMEOUT": 18, "TCP_REPAIR": 19,
    "TCP_FASTOPEN": 23, "TCP_TIMESTAMP": 24, "TCP_NOTSENT_LOWAT": 25, "TCP_CC_INFO": 26,
    "TCP_SAVE_SYN": 27, "TCP_SAVED_SYN": 28, "TCP_FASTOPEN_CONNECT": 30, "TCP_ULP": 31,
    "TCP_FASTOPEN_KEY": 33, "TCP_FASTOPEN_NO_COOKIE": 34, "TCP_ZEROCOPY_RECEIVE": 35,
    "TCP_INQ": 36, "TCP_TX_DELAY": 37,
    "IP_TOS": 1, "IP_TTL": 2, "IP_MTU_DISCOVER": 10, "IP_RECVERR": 11, "IP_MTU": 14,
    "IPV6_UNICAST_HOPS": 16, "IPV6_V6ONLY": 26, "IPV6_RECVERR": 25, "IPV6_TCLASS": 67,
    "IP_PMTUDISC_DONT": 0, "IP_PMTUDISC_WANT": 1, "IP_PMTUDISC_DO": 2, "IP_PMTUDISC_PROBE": 3,
    "MSG_OOB": 0x1, "MSG_PEEK": 0x2, "MSG_DONTROUTE": 0x4, "MSG_TRUNC": 0x20,
    "MSG_DONTWAIT": 0x40, "MSG_EOR": 0x80, "MSG_WAITALL": 0x100, "MSG_NOSIGNAL": 0x4000,
    "MSG_MORE": 0x8000, "MSG_ERRQUEUE": 0x2000, "MSG_ZEROCOPY": 0x4000000,
    "MSG_FASTOPEN": 0x20000000, "MSG_CMSG_CLOEXEC": 0x40000000,
    "SHUT_RD": 0, "SHUT_WR": 1, "SHUT_RDWR": 2,
    "F_GETFD": 1, "F_SETFD": 2, "F_GETFL": 3, "F_SETFL": 4, "FD_CLOEXEC": 1,
    "O_RDONLY": 0, "O_WRONLY": 1, "O_RDWR": 2, "O_NONBLOCK": 0o4000, "O_NDELAY": 0o4000,
    "POLLIN": 0x1, "POLLPRI": 0x2, "POLLOUT": 0x4, "POLLERR": 0x8, "POLLHUP": 0x10,
    "POLLNVAL": 0x20, "POLLRDNORM": 0x40, "POLLRDBAND": 0x80, "POLLWRNORM": 0x100,
    "POLLWRBAND": 0x200, "POLLMSG": 0x400, "POLLRDHUP": 0x2000,
    "FIONREAD": 0x541B, "SIOCINQ": 0x541B, "SIOCOUTQ": 0x5411, "SIOCOUTQNSD": 0x894B,
    "SIOCATMARK": 0x8905,
    "INADDR_ANY": 0,
}

#: TCP_INFO constants that code blocks use (linux/tcp.h)
TCP_INFO_CONSTANTS = {
    "TCPI_OPT_TIMESTAMPS": 1, "TCPI_OPT_SACK": 2, "TCPI_OPT_WSCALE": 4, "TCPI_OPT_ECN": 8,
    "TCPI_OPT_ECN_SEEN": 16, "TCPI_OPT_SYN_DATA": 32, "TCPI_OPT_USEC_TS": 64, "TCPI_OPT_TFO_CHILD": 128,
    "TCP_CA_Open": 0, "TCP_CA_Disorder": 1, "TCP_CA_CWR": 2, "TCP_CA_Recovery": 3, "TCP_CA_Loss": 4,
    "TCP_ESTABLISHED": 1, "TCP_SYN_SENT": 2, "TCP_SYN_RECV": 3, "TCP_FIN_WAIT1": 4,
    "TCP_FIN_WAIT2": 5, "TCP_TIME_WAIT": 6, "TCP_CLOSE": 7, "TCP_CLOSE_WAIT": 8,
    "TCP_LAST_ACK": 9, "TCP_LISTEN": 10, "TCP_CLOSING": 11, "TCP_NEW_SYN_RECV": 12,
}


def value(name: str) -> int | None:
    """The number a symbol names, or None for an unknown name."""
    if name in _LINUX:
        return _LINUX[name]
    if name in TCP_INFO_CONSTANTS:
        return TCP_INFO_CONSTANTS[name]
    code = getattr(_errno, name, None)
    if isinstance(code, int) and name.startswith("E"):
        return code
    v = getattr(_socket, name, None)
    if isinstance(v, int):
        return int(v)
    return None


def errno_name(code: int) -> str:
    """``ECONNREFUSED`` for 111; ``E<code>`` for a number without a name."""
    return _errno.errorcode.get(code, f"E{code}")


def errno_code(name: str) -> int | None:
    code = getattr(_errno, name, None)
    return code if isinstance(code, int) else None
