"""Application calls as a person who knows sockets writes them, not as Python prints them.

``app`` records carry the call as recorded (``setsockopt(1, 2, 1)``, ``sendto(32,
<MsgFlag.MSG_FASTOPEN: 536870912>, ('10.0.0.2', 80))``); :func:`call_text` gives what the
ladder and the HTML report show: ``setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)``,
``sendto(32, MSG_FASTOPEN, server:80)``, endpoints by host name with IPv6 addresses in
brackets (``[fd00:99::2]:8081``), ``shutdown(SHUT_WR)``, and the listening socket's calls
told apart from a connection's (``listen() on :80``, ``close() of listener :80``).
Numbers are Linux's (the values ``synack.api`` uses), so a trace from any machine reads
the same.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Mapping

__all__ = ["call_text", "housekeeping", "SOCKOPTS", "MSG_FLAGS"]

#: (level, option) -> names, as Linux numbers them
SOCKOPTS: dict[tuple[int, int], tuple[str, str]] = {
    (1, 2): ("SOL_SOCKET", "SO_REUSEADDR"), (1, 3): ("SOL_SOCKET", "SO_TYPE"),
    (1, 4): ("SOL_SOCKET", "SO_ERROR"), (1, 7): ("SOL_SOCKET", "SO_SNDBUF"),
    (1, 8): ("SOL_SOCKET", "SO_RCVBUF"), (1, 9): ("SOL_SOCKET", "SO_KEEPALIVE"),
    (1, 10): ("SOL_SOCKET", "SO_OOBINLINE"), (1, 13): ("SOL_SOCKET", "SO_LINGER"),
    (1, 15): ("SOL_SOCKET", "SO_REUSEPORT"), (1, 30): ("SOL_SOCKET", "SO_ACCEPTCONN"),
    (6, 1): ("IPPROTO_TCP", "TCP_NODELAY"), (6, 2): ("IPPROTO_TCP", "TCP_MAXSEG"),
    (6, 4): ("IPPROTO_TCP", "TCP_KEEPIDLE"), (6, 5): ("IPPROTO_TCP", "TCP_KEEPINTVL"),
    (6, 6): ("IPPROTO_TCP", "TCP_KEEPCNT"), (6, 12): ("IPPROTO_TCP", "TCP_QUICKACK"),
    (6, 13): ("IPPROTO_TCP", "TCP_CONGESTION"), (6, 18): ("IPPROTO_TCP", "TCP_USER_TIMEOUT"),
    (6, 23): ("IPPROTO_TCP", "TCP_FASTOPEN"),
}
#: send/recv flag bits, as Linux numbers them
MSG_FLAGS: tuple[tuple[int, str], ...] = (
    (0x1, "MSG_OOB"), (0x2, "MSG_PEEK"), (0x40, "MSG_DONTWAIT"), (0x100, "MSG_WAITALL"),
    (0x4000, "MSG_NOSIGNAL"), (0x20000000, "MSG_FASTOPEN"),
)
_SHUT = {"0": "SHUT_RD", "1": "SHUT_WR", "2": "SHUT_RDWR"}
_LEVELS = {1: "SOL_SOCKET", 6: "IPPROTO_TCP", 0: "IPPROTO_IP", 41: "IPPROTO_IPV6"}

#: calls that say nothing about TCP (a server's set-up): left off the drawings
_QUIET = frozenset({"bind", "settimeout", "setblocking", "getsockopt", "getsockname", "getpeername", "fileno",
                    "gettimeout", "getblocking", "detach"})

_ENUM = re.compile(r"<(?:[A-Za-z_][\w]*\.)?([A-Z][A-Z0-9_]*(?:\|[A-Z][A-Z0-9_]*)*): -?\d+>")
_ADDR = re.compile(r"\('([^']*)', (\d+)(?:, \d+, \d+)?\)")
_FLAG_ARG = re.compile(r"^(send|sendall|recv|recv_into|recvfrom|sendto)\((\d+), (\d+)(\)|, )")


def msg_flags(value: int) -> str:
    """``MSG_OOB|MSG_DONTWAIT`` for a flags value (the number itself for unknown bits)."""
    names = [n for bit, n in MSG_FLAGS if value & bit]
    rest = value & ~sum(bit for bit, _ in MSG_FLAGS)
    if rest or not names:
        names.append(str(rest) if names else str(value))
    return "|".join(names)


def housekeeping(r: Mapping) -> bool:
    """Whether an ``app`` record is set-up that says nothing about TCP (``bind``,
    ``settimeout``, ``setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)``): left off the drawings."""
    call = r.get("call", "")
    if call in _QUIET:
        return True
    return call == "setsockopt" and (r.get("args") or "").startswith("setsockopt(1, 2,")


def _endpoint(addr: str, port: str, names: Mapping[str, str]) -> str:
    if not addr:
        return f"*:{port}"
    name = names.get(addr)
    if name is not None:
        return f"{name}:{port}"
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def call_text(r: Mapping, names: Mapping[str, str] | None = None, listener: str | None = None) -> str:
    """The ``app`` record ``r`` as people write the call, with its result or error:
    ``connect(server:80)``, ``recv(1024) = 18``, ``connect(server:81) → ConnectionRefusedError``.
    ``names``: address -> host name; ``listener``: the listening socket's ``addr:port``
    when ``r`` is a call on it (``listen() on :80``)."""
    names = names or {}
    call = r.get("call", "")
    args = r.get("args") or f"{call}()"
    if not args.startswith(call):
        args = f"{call}({args})"
    args = _ENUM.sub(lambda m: m.group(1), args)
    args = _ADDR.sub(lambda m: _endpoint(m.group(1), m.group(2), names), args)
    if call == "setsockopt":
        m = re.match(r"setsockopt\((\d+), (\d+)(.*)$", args)
        if m:
            level, opt = int(m.group(1)), int(m.group(2))
            lv, on = SOCKOPTS.get((level, opt), (_LEVELS.get(level, str(level)), str(opt)))
            args = f"setsockopt({lv}, {on}{m.group(3)}"
    elif call == "shutdown":
        m = re.match(r"shutdown\((\d)\)", args)
        if m and m.group(1) in _SHUT:
            args = f"shutdown({_SHUT[m.group(1)]})"
    else:
        m = _FLAG_ARG.match(args)
        if m:
            args = f"{m.group(1)}({m.group(2)}, {msg_flags(int(m.group(3)))}{m.group(4)}" + args[m.end():]
    if listener is not None and r.get("conn") is None:
        where = listener.split("]:")[-1].rsplit(":", 1)[-1] if listener else ""
        if call == "listen":
            args += f" on :{where}" if where else ""
        elif call == "close":
            args += f" of listener :{where}" if where else " of the listener"
    err = r.get("error")
    if err:
        return f"{args} → {err}"
    res = r.get("result")
    if res is None:
        return args
    if isinstance(res, list) and len(res) >= 2 and isinstance(res[0], str):
        res = _endpoint(res[0], str(res[1]), names)
    elif call == "connect_ex" and isinstance(res, int) and res:
        res = errno.errorcode.get(res, res)  # connect_ex returns an errno: EINPROGRESS
    return f"{args} = {res}"
