"""Socket options as a table: for each ``(level, optname)`` how ``getsockopt`` reads it and
how ``setsockopt`` applies it, with Linux's checks and errors.

An option's value lives in the socket's :class:`Options` (what the kernel keeps per socket);
a setter also applies it to the socket's connection at once and to its listeners, whose
config the connections they accept inherit, as Linux copies options to accepted sockets.
"""

from __future__ import annotations

import errno
import operator
import struct
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..tcp import cc as _cc
from ..timeunits import ms, sec
from .constants import (
    CLOSED,
    IP_TOS,
    IP_TTL,
    IPPROTO_IP,
    IPPROTO_IPV6,
    IPPROTO_TCP,
    IPV6_TCLASS,
    IPV6_UNICAST_HOPS,
    KEEPALIVE_DEFAULTS,
    SO_ACCEPTCONN,
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
    TCP_CONGESTION,
    TCP_FASTOPEN,
    TCP_KEEPCNT,
    TCP_KEEPIDLE,
    TCP_INFO,
    TCP_KEEPINTVL,
    TCP_MAXSEG,
    TCP_NODELAY,
    TCP_QUICKACK,
    TCP_USER_TIMEOUT,
)
from .errors import oserror


@dataclass
class Options:
    """The option values one socket holds (Linux's defaults)."""

    reuseaddr: int = 0
    #: SO_LINGER (onoff, seconds)
    linger: tuple[int, int] = (0, 0)
    nodelay: int = 0
    #: TCP_CONGESTION; None: the host's default
    congestion: str | None = None
    #: SO_KEEPALIVE, TCP_KEEPIDLE (s), TCP_KEEPINTVL (s), TCP_KEEPCNT
    keepalive: tuple[int, int, int, int] = KEEPALIVE_DEFAULTS
    oobinline: int = 0
    #: TCP_FASTOPEN: the Fast Open queue length of a listener
    fastopen: int = 0
    #: TCP_MAXSEG (Linux's user_mss); 0: none set
    maxseg: int = 0
    #: IP_TOS / IPV6_TCLASS (the whole octet as set; the ECN bits on the wire are the stack's)
    tos: int = 0
    #: IP_TTL / IPV6_UNICAST_HOPS; None: the host's default
    ttl: int | None = None
    #: SO_RCVBUF as Linux reports it (doubled); 0: none set
    rcvbuf: int = 0
    #: SO_SNDBUF as Linux reports it (doubled); 0: none set
    sndbuf: int = 0
    #: TCP_USER_TIMEOUT (ms); 0: none set
    user_timeout: int = 0

    def inherited(self) -> Options:
        """What a socket returned by accept() starts with (Linux copies all but Fast Open)."""
        return replace(self, fastopen=0)

    def tcp_changes(self) -> dict[str, Any]:
        """The TcpConfig fields these options change from the host's defaults."""
        changes: dict[str, Any] = {}
        if self.nodelay:
            changes["nodelay"] = True
        if self.congestion is not None:
            changes["congestion"] = self.congestion
        if self.keepalive != KEEPALIVE_DEFAULTS:
            changes.update(self.keepalive_config())
        if self.maxseg:
            changes["mss"] = self.maxseg
        if self.tos:
            changes["tos"] = self.tos
        if self.ttl is not None:
            changes["ttl"] = self.ttl
        if self.rcvbuf:
            # Half the doubled size is the window's space; the scale comes from it alone.
            changes["rcv_buf"] = self.rcvbuf // 2
            changes["rcv_buf_max"] = None
        if self.sndbuf:
            changes["snd_buf"] = self.sndbuf // 2  # the octets SEND holds (Linux: half is overhead)
        if self.user_timeout:
            changes["user_timeout"] = ms(self.user_timeout)
        return changes

    def keepalive_config(self) -> dict[str, Any]:
        on, idle, intvl, cnt = self.keepalive
        return {"keepalive": bool(on), "keepalive_idle": sec(idle), "keepalive_interval": sec(intvl),
                "keepalive_count": cnt}


def _int(value: int) -> bytes:
    return struct.pack("i", value)


def _flag(raw: int) -> int:
    return 1 if raw else 0


def _retune_listeners(sock: Any, **changes: Any) -> None:
    for lst in sock._listeners:
        lst.config = replace(lst.config, **changes)


# ---- setters: (socket, value) -> None; the value is a C int unless the option says otherwise
def _set_linger(sock: Any, value: tuple[int, int]) -> None:
    sock._opts.linger = (1 if value[0] else 0, max(value[1], 0))


def _set_reuseaddr(sock: Any, raw: int) -> None:
    sock._opts.reuseaddr = _flag(raw)
    if sock._conn is not None:
        sock._ports.conn_reuse[sock._conn] = bool(raw)


def _set_nodelay(sock: Any, raw: int) -> None:
    flag = _flag(raw)
    sock._opts.nodelay = flag
    conn = sock._conn
    if conn is not None:
        # Connection.set_nodelay copies the config (the host's is shared) and, when Nagle
        # goes off, sends what it was holding at once, as Linux does (RFC 9293 §3.7.4 MUST-17).
        conn.set_nodelay(bool(flag), sock._rt.now)
        sock._rt.flush(sock._host, conn)
    _retune_listeners(sock, nodelay=bool(flag))


def _set_quickack(sock: Any, raw: int) -> None:
    """TCP_QUICKACK (Linux): 0 delays the ACKs of arriving data (ping-pong mode) until the
    delayed-ACK timer fires once; 1 ends that and sends an ACK that is owed at once. It has
    effect on a connection only, and is not kept: Linux leaves ping-pong mode by itself."""
    conn = sock._conn
    if conn is not None and hasattr(conn, "set_quickack"):
        conn.set_quickack(bool(raw), sock._rt.now)
        sock._rt.flush(sock._host, conn)


def _get_quickack(sock: Any) -> bytes:
    conn = sock._conn
    return _int(0 if conn is not None and not getattr(conn, "quickack", True) else 1)


def _set_keepalive(optname: int) -> Callable[[Any, int], None]:
    """SO_KEEPALIVE and TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT (RFC 9293 §3.8.4 MUST-24,
    MUST-27), with Linux's ranges (EINVAL outside): idle and interval 1..32767 s, count
    1..127. They apply to the connection at once (the idle time counts from the last
    segment received) and to connections a listener accepts."""

    def setter(sock: Any, value: int) -> None:
        on, idle, intvl, cnt = sock._opts.keepalive
        if optname == SO_KEEPALIVE:
            on = _flag(value)
        elif optname == TCP_KEEPCNT:
            if not 1 <= value <= 127:
                raise oserror(errno.EINVAL)
            cnt = value
        else:
            if not 1 <= value <= 32767:
                raise oserror(errno.EINVAL)
            if optname == TCP_KEEPIDLE:
                idle = value
            else:
                intvl = value
        sock._opts.keepalive = (on, idle, intvl, cnt)
        conn = sock._conn
        if conn is not None and conn.state is not CLOSED:
            conn.set_keepalive(bool(on), sock._rt.now, idle=sec(idle), interval=sec(intvl), count=cnt)
            sock._rt.flush(sock._host, conn)
        _retune_listeners(sock, **sock._opts.keepalive_config())

    return setter


def _set_oobinline(sock: Any, raw: int) -> None:
    sock._opts.oobinline = _flag(raw)


def _set_fastopen(sock: Any, raw: int) -> None:
    """RFC 7413 server side: the queue of Fast Open connections in SYN-RECEIVED. Linux
    accepts it on a closed or listening socket only."""
    if raw < 0 or (sock._conn is not None and sock._tcp() is not CLOSED):
        raise oserror(errno.EINVAL)
    sock._opts.fastopen = raw
    for lst in sock._listeners:
        lst.fastopen = raw


def _set_congestion(sock: Any, raw: int | bytes) -> None:
    """TCP_CONGESTION (Linux tcp_set_congestion_control): the name up to the first NUL, at
    most TCP_CA_NAME_MAX - 1 octets; ENOENT for a name no algorithm has. It applies to the
    connection at once, keeping cwnd and ssthresh, and to connections a listening socket
    accepts later."""
    if isinstance(raw, int):
        raw = struct.pack("i", raw)  # the C int's octets, read as a name
    if not raw:
        raise oserror(errno.EINVAL)
    name = bytes(raw[:_cc.NAME_MAX - 1]).split(b"\0", 1)[0].decode("latin-1")
    if name not in _cc.ALGORITHMS:
        raise oserror(errno.ENOENT)
    sock._opts.congestion = name
    if sock._conn is not None:
        sock._conn.set_congestion_control(name)
    _retune_listeners(sock, congestion=name)


def _set_maxseg(sock: Any, raw: int) -> None:
    """TCP_MAXSEG (Linux do_tcp_setsockopt): 0 or 88 to 32767 (EINVAL otherwise). Set before
    connect() or listen(), it is the MSS the SYN offers and a cap on the segments sent
    (RFC 9293 §3.7.1 MUST-16); on a connection already open it changes nothing, as on Linux."""
    if raw != 0 and not 88 <= raw <= 32767:
        raise oserror(errno.EINVAL)
    sock._opts.maxseg = raw
    _retune_listeners(sock, mss=raw or None)


def _set_tos(tclass: bool) -> Callable[[Any, int], None]:
    """IP_TOS (any int, its low octet kept) and IPV6_TCLASS (-1 for the default, 0 to 255,
    else EINVAL): the DS field of the segments sent from now on (RFC 9293 §3.9.1.9 MUST-48,
    SHLD-21/22), for the connection and those a listener accepts. As on Linux, the ECN bits
    of the value are not used: ECN is the stack's (RFC 3168)."""

    def setter(sock: Any, raw: int) -> None:
        if tclass:
            if not -1 <= raw <= 255:
                raise oserror(errno.EINVAL)
            raw = max(raw, 0)
        tos = raw & 0xFF
        sock._opts.tos = tos
        if sock._conn is not None:
            sock._conn.set_ip_fields(tos=tos)
        _retune_listeners(sock, tos=tos)

    return setter


def _set_ttl(v6: bool) -> Callable[[Any, int], None]:
    """IP_TTL (1 to 255, or -1 for the default) and IPV6_UNICAST_HOPS (0 to 255, or -1):
    the TTL / Hop Limit of the segments sent from now on (RFC 9293 §3.9.2 MUST-49)."""

    def setter(sock: Any, raw: int) -> None:
        if not (-1 <= raw <= 255 if v6 else (raw == -1 or 1 <= raw <= 255)):
            raise oserror(errno.EINVAL)
        ttl = None if raw == -1 else raw or None
        sock._opts.ttl = ttl
        if sock._conn is not None:
            sock._conn.set_ip_fields(ttl=ttl)
        _retune_listeners(sock, ttl=ttl)

    return setter


#: Linux: net.core.rmem_max caps SO_RCVBUF; SOCK_MIN_RCVBUF floors the doubled value;
#: tcp_rmem[1] is a TCP socket's receive buffer until one is set.
RMEM_MAX = 212992
SOCK_MIN_RCVBUF = 2304
RCVBUF_DEFAULT = 131072


def _set_rcvbuf(sock: Any, raw: int) -> None:
    """SO_RCVBUF (Linux sock_setsockopt): the value capped at rmem_max, doubled for the
    kernel's bookkeeping (and reported doubled), at least SOCK_MIN_RCVBUF. Set before
    connect() or listen(), half of it is the receive window's space and fixes the window
    scale the SYN offers (RFC 7323 §2.2); on an open connection it is only recorded."""
    size = max(min(raw, RMEM_MAX), 0) * 2
    sock._opts.rcvbuf = max(size, SOCK_MIN_RCVBUF)
    _retune_listeners(sock, rcv_buf=sock._opts.rcvbuf // 2, rcv_buf_max=None)


#: Linux: net.core.wmem_max caps SO_SNDBUF; SOCK_MIN_SNDBUF floors the doubled value;
#: tcp_wmem[1] is a TCP socket's send buffer until its connection opens, tcp_wmem[2] the most
#: it grows to.
WMEM_MAX = 212992
SOCK_MIN_SNDBUF = 4608
SNDBUF_DEFAULT = 16384
TCP_WMEM_MAX = 4194304


def _set_sndbuf(sock: Any, raw: int) -> None:
    """SO_SNDBUF (Linux sock_setsockopt): the value capped at wmem_max, doubled for the
    kernel's bookkeeping (and reported doubled), at least SOCK_MIN_SNDBUF. Half of it is
    what SEND holds, unsent and unacknowledged (``TcpConfig.snd_buf``), at once on an open
    connection; Linux counts the memory of its buffers instead, so it holds about as much."""
    size = max(min(raw, WMEM_MAX), 0) * 2
    sock._opts.sndbuf = max(size, SOCK_MIN_SNDBUF)
    conn = sock._conn
    if conn is not None and hasattr(conn, "set_snd_buf"):
        conn.set_snd_buf(sock._opts.sndbuf // 2)
    _retune_listeners(sock, snd_buf=sock._opts.sndbuf // 2)


def _get_sndbuf(sock: Any) -> bytes:
    """SO_SNDBUF as Linux reports it: the doubled value set; else tcp_wmem[1] until the
    connection opens, then what tcp_sndbuf_expand makes room for: twice 10 segments, each
    counted as the power of two above the MSS plus 576 octets (MAX_TCP_HEADER and
    skb_shared_info as this machine's kernel has them), plus 256 for the sk_buff (46080 for
    an MSS of 1460)."""
    if sock._opts.sndbuf:
        return _int(sock._opts.sndbuf)
    conn = sock._conn
    if conn is None or not hasattr(conn, "snd_mss") or not conn.state.synchronized:
        return _int(SNDBUF_DEFAULT)
    per_mss = (1 << (max(conn.snd_mss, 536) + 576 - 1).bit_length()) + 256
    return _int(min(2 * 10 * per_mss, TCP_WMEM_MAX))


def _set_user_timeout(sock: Any, raw: int) -> None:
    """TCP_USER_TIMEOUT (ms; RFC 5482, RFC 9293 §3.8.3 MUST-21): data unacknowledged that
    long after its first retransmission times the connection out (ETIMEDOUT); 0: the
    system's R2 again. Negative: EINVAL, as on Linux."""
    if raw < 0:
        raise oserror(errno.EINVAL)
    sock._opts.user_timeout = raw
    ut = ms(raw) if raw else None
    if sock._conn is not None:
        sock._conn.set_user_timeout(ut)
    _retune_listeners(sock, user_timeout=ut)


# ---- getters: socket -> the option's octets
def _get_ttl(sock: Any) -> bytes:
    ttl = sock._opts.ttl
    return _int(ttl if ttl is not None else sock._host.ttl)


def _get_maxseg(sock: Any) -> bytes:
    # Linux: the current send MSS once connected, else the value set, else 536 (TCP_MSS_DEFAULT).
    conn = sock._conn
    if conn is not None and conn.state is not CLOSED:
        return _int(conn.snd.eff_mss())
    return _int(sock._opts.maxseg or 536)


#: struct tcp_info (linux/tcp.h, 6.x: 248 octets), field by field in C's layout
TCP_INFO_LAYOUT: tuple[tuple[str, str], ...] = (
    tuple((n, "B") for n in ("state", "ca_state", "retransmits", "probes", "backoff", "options", "wscale", "flags"))
    + tuple((n, "I") for n in (
        "rto", "ato", "snd_mss", "rcv_mss", "unacked", "sacked", "lost", "retrans", "fackets",
        "last_data_sent", "last_ack_sent", "last_data_recv", "last_ack_recv", "pmtu", "rcv_ssthresh",
        "rtt", "rttvar", "snd_ssthresh", "snd_cwnd", "advmss", "reordering", "rcv_rtt", "rcv_space",
        "total_retrans"))
    + tuple((n, "Q") for n in ("pacing_rate", "max_pacing_rate", "bytes_acked", "bytes_received"))
    + tuple((n, "I") for n in ("segs_out", "segs_in", "notsent_bytes", "min_rtt", "data_segs_in",
                               "data_segs_out"))
    + tuple((n, "Q") for n in ("delivery_rate", "busy_time", "rwnd_limited", "sndbuf_limited"))
    + (("delivered", "I"), ("delivered_ce", "I"), ("bytes_sent", "Q"), ("bytes_retrans", "Q"),
       ("dsack_dups", "I"), ("reord_seen", "I"), ("rcv_ooopack", "I"), ("snd_wnd", "I"), ("rcv_wnd", "I"),
       ("rehash", "I"), ("total_rto", "H"), ("total_rto_recoveries", "H"), ("total_rto_time", "I"))
)
_TCP_INFO = struct.Struct("@" + "".join(f for _, f in TCP_INFO_LAYOUT))
_MASKS = {"B": 0xFF, "H": 0xFFFF, "I": 0xFFFFFFFF, "Q": (1 << 64) - 1}


def _get_tcp_info(sock: Any) -> bytes:
    """TCP_INFO: Linux's ``struct tcp_info`` (Connection.tcp_info); a socket without a
    connection reads as CLOSED (a listener as LISTEN), the rest zero."""
    conn = sock._conn
    if conn is not None:
        sock._sync()
        info = conn.tcp_info(sock._rt.now)
    else:
        info = {"state": 10 if sock._listeners else 7}
    info["wscale"] = (info.pop("snd_wscale", 0) & 0xF) | ((info.pop("rcv_wscale", 0) & 0xF) << 4)
    return _TCP_INFO.pack(*(info.get(n, 0) & _MASKS[f] for n, f in TCP_INFO_LAYOUT))


def _get_error(sock: Any) -> bytes:
    sock._sync()
    code, sock._sk_err = sock._sk_err, 0
    return _int(code)


def _get_congestion(sock: Any) -> bytes:
    # Linux copies the name NUL-padded to TCP_CA_NAME_MAX (16) octets; without a buflen,
    # Python reads its first four octets as an int, as on a real socket.
    if sock._conn is not None:
        name = sock._conn.cc.name
    else:
        name = sock._opts.congestion if sock._opts.congestion is not None else sock._host.config.congestion
    return name.encode("ascii").ljust(_cc.NAME_MAX, b"\0")


def _keepalive_field(i: int) -> Callable[[Any], bytes]:
    return lambda sock: _int(sock._opts.keepalive[i])


@dataclass(frozen=True)
class Option:
    """One row of the table. ``kind``: "int" (a C int, or its four octets), "linger"
    (``struct linger``, or a tuple as a synack convenience), "name" (octets, e.g.
    ``b"cubic"``). ``set`` is None for a read-only option."""

    name: str
    get: Callable[[Any], bytes]
    set: Callable[[Any, Any], None] | None = None
    kind: str = "int"


OPTIONS: dict[tuple[int, int], Option] = {
    (SOL_SOCKET, SO_LINGER): Option("SO_LINGER", lambda s: struct.pack("ii", *s._opts.linger), _set_linger,
                                    "linger"),
    (SOL_SOCKET, SO_REUSEADDR): Option("SO_REUSEADDR", lambda s: _int(s._opts.reuseaddr), _set_reuseaddr),
    (SOL_SOCKET, SO_ERROR): Option("SO_ERROR", _get_error),
    (SOL_SOCKET, SO_TYPE): Option("SO_TYPE", lambda s: _int(SOCK_STREAM)),
    (SOL_SOCKET, SO_ACCEPTCONN): Option("SO_ACCEPTCONN", lambda s: _int(1 if s._listeners else 0)),
    (SOL_SOCKET, SO_KEEPALIVE): Option("SO_KEEPALIVE", _keepalive_field(0), _set_keepalive(SO_KEEPALIVE)),
    (SOL_SOCKET, SO_OOBINLINE): Option("SO_OOBINLINE", lambda s: _int(s._opts.oobinline), _set_oobinline),
    (IPPROTO_TCP, TCP_NODELAY): Option("TCP_NODELAY", lambda s: _int(s._opts.nodelay), _set_nodelay),
    (IPPROTO_TCP, TCP_QUICKACK): Option("TCP_QUICKACK", _get_quickack, _set_quickack),
    (IPPROTO_TCP, TCP_KEEPIDLE): Option("TCP_KEEPIDLE", _keepalive_field(1), _set_keepalive(TCP_KEEPIDLE)),
    (IPPROTO_TCP, TCP_KEEPINTVL): Option("TCP_KEEPINTVL", _keepalive_field(2), _set_keepalive(TCP_KEEPINTVL)),
    (IPPROTO_TCP, TCP_KEEPCNT): Option("TCP_KEEPCNT", _keepalive_field(3), _set_keepalive(TCP_KEEPCNT)),
    (IPPROTO_TCP, TCP_FASTOPEN): Option("TCP_FASTOPEN", lambda s: _int(s._opts.fastopen), _set_fastopen),
    (IPPROTO_TCP, TCP_CONGESTION): Option("TCP_CONGESTION", _get_congestion, _set_congestion, "name"),
    (IPPROTO_TCP, TCP_MAXSEG): Option("TCP_MAXSEG", _get_maxseg, _set_maxseg),
    (IPPROTO_TCP, TCP_INFO): Option("TCP_INFO", _get_tcp_info),
    (SOL_SOCKET, SO_RCVBUF): Option("SO_RCVBUF", lambda s: _int(s._opts.rcvbuf or RCVBUF_DEFAULT), _set_rcvbuf),
    (SOL_SOCKET, SO_SNDBUF): Option("SO_SNDBUF", _get_sndbuf, _set_sndbuf),
    (IPPROTO_TCP, TCP_USER_TIMEOUT): Option("TCP_USER_TIMEOUT", lambda s: _int(s._opts.user_timeout),
                                            _set_user_timeout),
    (IPPROTO_IP, IP_TOS): Option("IP_TOS", lambda s: _int(s._opts.tos), _set_tos(False)),
    (IPPROTO_IPV6, IPV6_TCLASS): Option("IPV6_TCLASS", lambda s: _int(s._opts.tos), _set_tos(True)),
    (IPPROTO_IP, IP_TTL): Option("IP_TTL", _get_ttl, _set_ttl(False)),
    (IPPROTO_IPV6, IPV6_UNICAST_HOPS): Option("IPV6_UNICAST_HOPS", _get_ttl, _set_ttl(True)),
}


def _buffer(value: Any) -> bytes:
    try:
        return memoryview(value).cast("B").tobytes()
    except TypeError:
        raise TypeError(f"a bytes-like object is required, not '{type(value).__name__}'") from None


def setsockopt(sock: Any, level: Any, optname: Any, value: Any, optlen: Any = None) -> None:
    """``socket.setsockopt`` with CPython's argument checks and Linux's errors."""
    level = operator.index(level)
    optname = operator.index(optname)
    if optlen is not None:
        if value is not None:
            raise TypeError("setsockopt() takes 3 or 4 arguments with a None value for 4")
        raise oserror(errno.EINVAL)
    opt = OPTIONS.get((level, optname))
    raw: Any
    if isinstance(value, tuple) and opt is not None and opt.kind == "linger":
        raw = tuple(operator.index(v) for v in value)
    elif isinstance(value, int):
        raw = value
    else:
        raw = _buffer(value)
    sock._check_open()
    if opt is not None and opt.kind == "linger":
        if not isinstance(raw, tuple):
            if isinstance(raw, int) or len(raw) < 8:
                raise oserror(errno.EINVAL)
            raw = struct.unpack("ii", raw[:8])
    elif (opt is None or opt.kind == "int") and isinstance(raw, bytes):
        if len(raw) < 4:
            raise oserror(errno.EINVAL)
        raw = struct.unpack("i", raw[:4])[0]
    if opt is None or opt.set is None:
        raise oserror(errno.ENOPROTOOPT)
    opt.set(sock, raw)


def getsockopt(sock: Any, level: Any, optname: Any, buflen: Any = None) -> Any:
    """An int, or with ``buflen`` the option's octets (SO_LINGER: ``struct linger``)."""
    level = operator.index(level)
    optname = operator.index(optname)
    if buflen is not None:
        buflen = operator.index(buflen)
        if not 0 < buflen <= 1024:
            raise OSError("getsockopt buflen out of range")
    sock._check_open()
    opt = OPTIONS.get((level, optname))
    if opt is None:
        raise oserror(errno.ENOPROTOOPT)
    raw = opt.get(sock)
    if buflen is None:
        return struct.unpack("i", raw[:4])[0]
    return raw[:buflen]
