"""System calls as a script writes them, run on a target's sockets.

Every call is written against the interface of Python's ``socket.socket`` (which
synack's :class:`synack.api.socket` shares), so the same code drives the kernel's sockets
and synack's. Each call is a generator: it yields while the call would block and returns
an :class:`~synack.drill.runner.Outcome`; an ``OSError`` it raises is the call's errno.
A socket the script made blocking is driven by the target: the kernel target runs the
call in a thread on a blocking socket, the simulator retries it as the stack changes
(its sockets never block: the script's clock must keep running).

Arguments follow packetdrill: ``...`` is the default (the script's addresses, a buffer
of zero octets), ``[1]`` an int passed by reference, ``{l_onoff=1, l_linger=0}`` a
``struct linger``, ``{fd=4, events=POLLIN, revents=POLLIN}`` a ``struct pollfd``.
"""

from __future__ import annotations

import errno as _errno
import struct
from typing import TYPE_CHECKING, Any
from collections.abc import Callable

from . import model as m
from . import symbols
from .calls import CallGen, DrillSocket, Outcome

if TYPE_CHECKING:  # pragma: no cover
    from .runner import Runner

AF_INET, AF_INET6 = 2, 10
O_NONBLOCK = symbols.value("O_NONBLOCK") or 0o4000
MSG_FASTOPEN = 0x20000000
SOCK_NONBLOCK = 0o4000


class ArgumentError(ValueError):
    """An argument the interpreter cannot turn into a value (the script's fault)."""


class BadFd(OSError):
    def __init__(self, fd: int) -> None:
        super().__init__(_errno.EBADF, f"file descriptor {fd} is not open in this script")


# ----------------------------------------------------------------------------- values
def ival(e: m.Expr, what: str = "argument") -> int:
    """An expression as an int: numbers, symbols, ``A|B``, ``[n]``, ``htons(n)``."""
    if isinstance(e, m.Int):
        return e.value
    if isinstance(e, m.Word):
        v = symbols.value(e.name)
        if v is None:
            raise ArgumentError(f"unknown symbol {e.name} for the {what}")
        return v
    if isinstance(e, m.Binary) and e.op == "|":
        return ival(e.lhs, what) | ival(e.rhs, what)
    if isinstance(e, m.Array) and len(e.items) == 1:
        return ival(e.items[0], what)
    if isinstance(e, m.Call) and e.name in ("htons", "htonl", "ntohs", "ntohl") and len(e.args) == 1:
        return ival(e.args[0], what)
    raise ArgumentError(f"the {what} must be a number or a symbol, not {_show(e)}")


def _show(e: m.Expr) -> str:
    if isinstance(e, m.Ellipsis_):
        return "..."
    if isinstance(e, m.Int):
        return e.text or str(e.value)
    if isinstance(e, m.Word):
        return e.name
    if isinstance(e, m.String):
        return repr(e.value)
    return type(e).__name__.lower()


def _arg(call: m.Syscall, i: int, what: str) -> m.Expr:
    if i >= len(call.args):
        raise ArgumentError(f"needs a {what} (argument {i + 1})")
    return call.args[i]


def _fd(call: m.Syscall) -> int:
    return ival(_arg(call, 0, "file descriptor"), "file descriptor")


def _length(call: m.Syscall, i: int) -> int:
    n = ival(_arg(call, i, "length"), "length")
    if n < 0:
        raise ArgumentError(f"the length must not be negative, not {n}")
    return n


def _buffer(call: m.Syscall, i: int, n: int) -> bytes:
    e = call.args[i] if i < len(call.args) else m.Ellipsis_()
    if isinstance(e, m.String):
        data = e.value.encode("latin-1", "replace")
        return (data + bytes(n))[:n]
    return bytes(n)


def _iov_total(e: m.Expr) -> int:
    if not isinstance(e, m.Array):
        raise ArgumentError("an iovec array looks like [{..., 1000}, {..., 500}]")
    total = 0
    for it in e.items:
        if not isinstance(it, m.Struct) or len(it.fields) != 2:
            raise ArgumentError("each iovec looks like {..., LENGTH}")
        total += ival(it.fields[1][1], "iovec length")
    return total


def sockaddr(r: Runner, e: m.Expr, default: tuple[str, int], family: int) -> tuple:
    """A ``struct sockaddr`` argument as a Python address tuple."""
    if isinstance(e, m.Ellipsis_):
        addr, port = default
    elif isinstance(e, m.Struct):
        port_e = e.get("sin_port", "sin6_port")
        addr_e = e.get("sin_addr", "sin6_addr")
        port = ival(port_e, "port") if port_e is not None else default[1]
        if addr_e is None:
            addr = default[0]
        elif isinstance(addr_e, m.Call) and addr_e.args and isinstance(addr_e.args[0], m.String):
            addr = addr_e.args[0].value
        elif isinstance(addr_e, m.Word) and addr_e.name in ("INADDR_ANY", "in6addr_any"):
            addr = "0.0.0.0" if family == AF_INET else "::"
        else:
            raise ArgumentError("sin_addr must be inet_addr(\"a.b.c.d\") or inet6_addr(\"...\")")
    else:
        raise ArgumentError("an address must be ... or {sa_family=..., sin_port=htons(N), "
                            f"sin_addr=inet_addr(\"...\")}}, "
                            f"not {_show(e)}")
    return (addr, port) if family == AF_INET else (addr, port, 0, 0)


def expected_result(call: m.Syscall) -> int | None:
    """The value the script expects, or None when it says ``...``."""
    if isinstance(call.result, m.Ellipsis_):
        return None
    return ival(call.result, "expected result")


def errno_value(name: str) -> int | None:
    return symbols.errno_code(name)


def describe_expected(call: m.Syscall) -> str:
    want = "..." if isinstance(call.result, m.Ellipsis_) else _show(call.result)
    return f"{want} {call.errno}" if call.errno else want


def describe_outcome(out: Outcome) -> str:
    if out.errno is not None:
        return f"-1 {symbols.errno_name(out.errno)} ({_errno_text(out.errno)})"
    return str(out.retval)


def _errno_text(code: int) -> str:
    import os

    return os.strerror(code)


# ----------------------------------------------------------------------------- calls
def _wait_for(s: DrillSocket, attempt: Callable[[], Any]) -> Any:
    """Run ``attempt`` until it does not raise BlockingIOError; a non-blocking socket
    returns EAGAIN (or EINPROGRESS) to the script instead."""
    while True:
        try:
            return attempt()
        except BlockingIOError:
            if s.nonblocking:
                raise
        yield None


def _socket(r: Runner, call: m.Syscall) -> CallGen:
    dom = _arg(call, 0, "domain")
    family = (AF_INET if r.settings.ip_version == 4 else AF_INET6) if isinstance(dom, m.Ellipsis_) else ival(dom)
    typ = ival(_arg(call, 1, "type"), "type")
    if family not in (AF_INET, AF_INET6):
        raise ArgumentError("only AF_INET and AF_INET6 sockets are supported")
    if typ & 0xF != 1:
        raise ArgumentError("only SOCK_STREAM sockets are supported: synack drill tests TCP")

    def run() -> CallGen:
        obj = r.target.new_socket(family, bool(typ & SOCK_NONBLOCK))
        s = DrillSocket(obj, family, bool(typ & SOCK_NONBLOCK))
        r.add_socket(s)
        return Outcome(obj.fileno(), new_socket=s)
        yield  # pragma: no cover

    return run()


def _bind(r: Runner, call: m.Syscall) -> CallGen:
    fd = _fd(call)
    st = r.settings

    def run() -> CallGen:
        s = r.socket_of(fd)
        addr = sockaddr(r, _arg(call, 1, "address"), (st.local_ip, st.bind_port), s.family)
        s.obj.bind(addr)
        s.port = s.obj.getsockname()[1]
        return Outcome(0)
        yield  # pragma: no cover

    return run()


def _listen(r: Runner, call: m.Syscall) -> CallGen:
    fd = _fd(call)
    backlog = ival(_arg(call, 1, "backlog"), "backlog")

    def run() -> CallGen:
        s = r.socket_of(fd)
        s.obj.listen(backlog)
        s.listening = True
        s.port = s.obj.getsockname()[1]
        r.under_test = s
        r.fresh_listener = True  # the next SYN from the peer opens a new connection
        return Outcome(0)
        yield  # pragma: no cover

    return run()


def _accept(r: Runner, call: m.Syscall) -> CallGen:
    fd = _fd(call)

    def run() -> CallGen:
        s = r.socket_of(fd)
        obj, _addr = yield from _wait_for(s, s.obj.accept)
        r.target.adopt(obj)
        new = DrillSocket(obj, s.family)
        new.port = s.port
        r.add_socket(new)
        return Outcome(obj.fileno(), new_socket=new)

    return run()


def _connect(r: Runner, call: m.Syscall) -> CallGen:
    fd = _fd(call)
    st = r.settings

    def run() -> CallGen:
        s = r.socket_of(fd)
        addr = sockaddr(r, _arg(call, 1, "address"), (st.remote_ip, st.connect_port), s.family)
        if not s.connecting:
            # a new active OPEN: its first SYN makes the connection the script talks to
            r.under_test = s
            s.connecting = True
            r.flow = None
        try:
            s.obj.connect(addr)
            return Outcome(0)
        except BlockingIOError:
            if s.nonblocking:
                raise
        while True:
            yield None
            try:
                s.obj.connect(addr)
                return Outcome(0)
            except BlockingIOError:
                continue
            except OSError as e:
                if e.errno == _errno.EISCONN:
                    return Outcome(0)
                raise

    return run()


def _recv_common(r: Runner, fd: int, n: int, flags: int) -> CallGen:
    def run() -> CallGen:
        s = r.socket_of(fd)
        data = yield from _wait_for(s, lambda: s.obj.recv(n, flags) if flags else s.obj.recv(n))
        return Outcome(len(data))

    return run()


def _read(r: Runner, call: m.Syscall) -> CallGen:
    return _recv_common(r, _fd(call), _length(call, 2), 0)


def _recv(r: Runner, call: m.Syscall) -> CallGen:
    flags = ival(call.args[3], "flags") if len(call.args) > 3 else 0
    return _recv_common(r, _fd(call), _length(call, 2), flags)


def _readv(r: Runner, call: m.Syscall) -> CallGen:
    return _recv_common(r, _fd(call), _iov_total(_arg(call, 1, "iovec")), 0)


def _recvmsg(r: Runner, call: m.Syscall) -> CallGen:
    msg = _arg(call, 1, "msghdr")
    if not isinstance(msg, m.Struct) or msg.get("msg_iov") is None:
        raise ArgumentError("recvmsg needs {msg_name(...)=..., msg_iov(1)=[{..., N}], msg_flags=0}")
    flags = ival(call.args[2], "flags") if len(call.args) > 2 else 0
    return _recv_common(r, _fd(call), _iov_total(msg.get("msg_iov")), flags)  # type: ignore[arg-type]


def _send_common(r: Runner, fd: int, data: bytes, flags: int, to: m.Expr | None = None) -> CallGen:
    def run() -> CallGen:
        s = r.socket_of(fd)
        if flags & MSG_FASTOPEN:
            return (yield from _fastopen(r, s, data, flags, to))
        sent = 0
        while True:
            try:
                n = s.obj.send(data[sent:], flags) if flags else s.obj.send(data[sent:])
            except BlockingIOError:
                if s.nonblocking:
                    if sent:
                        return Outcome(sent)
                    raise
                yield None
                continue
            except OSError:
                if sent:
                    return Outcome(sent)
                raise
            sent += n
            if sent >= len(data) or s.nonblocking:
                return Outcome(sent)
            yield None

    return run()


def _fastopen(r: Runner, s: DrillSocket, data: bytes, flags: int, to: m.Expr | None) -> CallGen:
    """sendto(MSG_FASTOPEN): a TCP Fast Open connect (RFC 7413) with ``data``."""
    st = r.settings
    addr = sockaddr(r, to if to is not None else m.Ellipsis_(), (st.remote_ip, st.connect_port), s.family)
    if not s.connecting:
        r.under_test = s
        s.connecting = True
        r.flow = None
    try:
        n = s.obj.sendto(data, flags, addr)
    except BlockingIOError:
        if s.nonblocking:
            raise
        n = 0
    if n >= len(data) or s.nonblocking:
        return Outcome(n)
    # A blocking socket on a target whose sockets never block: wait for the handshake,
    # then send the rest, as the kernel's blocking sendto() does.
    while True:
        try:
            s.obj.getpeername()
            break
        except OSError as e:
            if e.errno != _errno.ENOTCONN:
                raise
            err = s.obj.getsockopt(1, 4)  # SOL_SOCKET, SO_ERROR
            if err:
                raise OSError(err, _errno_text(err)) from None
        yield None
    sent = n
    while sent < len(data):
        try:
            sent += s.obj.send(data[sent:])
        except BlockingIOError:
            yield None
    return Outcome(sent)


def _write(r: Runner, call: m.Syscall) -> CallGen:
    n = _length(call, 2)
    return _send_common(r, _fd(call), _buffer(call, 1, n), 0)


def _send(r: Runner, call: m.Syscall) -> CallGen:
    n = _length(call, 2)
    flags = ival(call.args[3], "flags") if len(call.args) > 3 else 0
    return _send_common(r, _fd(call), _buffer(call, 1, n), flags)


def _sendto(r: Runner, call: m.Syscall) -> CallGen:
    n = _length(call, 2)
    flags = ival(call.args[3], "flags") if len(call.args) > 3 else 0
    to = call.args[4] if len(call.args) > 4 else None
    return _send_common(r, _fd(call), _buffer(call, 1, n), flags, to)


def _writev(r: Runner, call: m.Syscall) -> CallGen:
    return _send_common(r, _fd(call), bytes(_iov_total(_arg(call, 1, "iovec"))), 0)


def _sendmsg(r: Runner, call: m.Syscall) -> CallGen:
    msg = _arg(call, 1, "msghdr")
    if not isinstance(msg, m.Struct) or msg.get("msg_iov") is None:
        raise ArgumentError("sendmsg needs {msg_name(...)=..., msg_iov(1)=[{..., N}], msg_flags=0}")
    flags = ival(call.args[2], "flags") if len(call.args) > 2 else 0
    return _send_common(r, _fd(call), bytes(_iov_total(msg.get("msg_iov"))), flags)  # type: ignore[arg-type]


def _close(r: Runner, call: m.Syscall) -> CallGen:
    fd = _fd(call)

    def run() -> CallGen:
        s = r.socket_of(fd)
        s.obj.close()
        del r.fds[fd]
        return Outcome(0)
        yield  # pragma: no cover

    return run()


def _shutdown(r: Runner, call: m.Syscall) -> CallGen:
    fd = _fd(call)
    how = ival(_arg(call, 1, "how"), "how")

    def run() -> CallGen:
        r.socket_of(fd).obj.shutdown(how)
        return Outcome(0)
        yield  # pragma: no cover

    return run()


def _option_value(e: m.Expr) -> Any:
    if isinstance(e, m.Struct):
        onoff = e.get("l_onoff", "onoff")
        linger = e.get("l_linger", "linger")
        if onoff is None or linger is None:
            raise ArgumentError("a struct linger looks like {l_onoff=1, l_linger=0}")
        return struct.pack("ii", ival(onoff), ival(linger))
    if isinstance(e, m.String):
        return e.value.encode()
    return ival(e, "option value")


def _setsockopt(r: Runner, call: m.Syscall) -> CallGen:
    fd = _fd(call)
    level = ival(_arg(call, 1, "level"), "level")
    name = ival(_arg(call, 2, "option name"), "option name")
    value = _option_value(_arg(call, 3, "option value"))

    def run() -> CallGen:
        r.socket_of(fd).obj.setsockopt(level, name, value)
        return Outcome(0)
        yield  # pragma: no cover

    return run()


def _getsockopt(r: Runner, call: m.Syscall) -> CallGen:
    fd = _fd(call)
    level = ival(_arg(call, 1, "level"), "level")
    name = ival(_arg(call, 2, "option name"), "option name")
    want = call.args[3] if len(call.args) > 3 else m.Ellipsis_()

    def run() -> CallGen:
        s = r.socket_of(fd)
        mismatch = None
        if isinstance(want, m.Struct):
            raw = s.obj.getsockopt(level, name, 8)
            got = struct.unpack("ii", raw[:8])
            exp = struct.unpack("ii", _option_value(want))
            if got != exp:
                mismatch = f"option value: expected {{l_onoff={exp[0]}, l_linger={exp[1]}}} vs actual " \
                           f"{{l_onoff={got[0]}, l_linger={got[1]}}}"
        elif isinstance(want, m.String):
            raw = s.obj.getsockopt(level, name, 64)
            got_s = raw.split(b"\0", 1)[0].decode("latin-1")
            if got_s != want.value:
                mismatch = f"option value: expected {want.value!r} vs actual {got_s!r}"
        elif isinstance(want, m.Ellipsis_):
            s.obj.getsockopt(level, name, 256)
        else:
            got_i = s.obj.getsockopt(level, name)
            exp_i = ival(want, "option value")
            if got_i != exp_i:
                mismatch = f"option value: expected {exp_i} vs actual {got_i}"
        return Outcome(0, mismatch=mismatch)
        yield  # pragma: no cover

    return run()


def _fcntl(r: Runner, call: m.Syscall) -> CallGen:
    fd = _fd(call)
    cmd = ival(_arg(call, 1, "command"), "command")
    arg = ival(call.args[2], "argument") if len(call.args) > 2 else 0

    def run() -> CallGen:
        s = r.socket_of(fd)
        if cmd == 3:  # F_GETFL
            return Outcome(2 | (O_NONBLOCK if s.nonblocking else 0))
        if cmd == 4:  # F_SETFL
            s.nonblocking = bool(arg & O_NONBLOCK)
            r.target.set_nonblocking(s, s.nonblocking)
            return Outcome(0)
        if cmd in (1, 2):  # F_GETFD / F_SETFD
            return Outcome(0)
        raise OSError(_errno.EINVAL, "fcntl command not supported by synack drill")
        yield  # pragma: no cover

    return run()


def _poll(r: Runner, call: m.Syscall) -> CallGen:
    arr = _arg(call, 0, "pollfd array")
    if not isinstance(arr, m.Array):
        raise ArgumentError("poll needs [{fd=N, events=POLLIN, revents=...}, ...]")
    specs = []
    for it in arr.items:
        if not isinstance(it, m.Struct) or it.get("fd") is None or it.get("events") is None:
            raise ArgumentError("each pollfd looks like {fd=N, events=POLLIN, revents=POLLIN}")
        rev = it.get("revents")
        specs.append((ival(it.get("fd")), ival(it.get("events")), ival(rev) if rev is not None else 0))  # type: ignore[arg-type]
    timeout = ival(_arg(call, 2, "timeout"), "timeout")

    def run() -> CallGen:
        fds = [(r.socket_of(fd), ev) for fd, ev, _ in specs]
        got = yield from r.target.poll(r, fds, timeout)
        mismatch = None
        for (fd, _ev, exp), rev in zip(specs, got, strict=False):
            if rev != exp:
                mismatch = f"revents of fd {fd}: expected {_poll_text(exp)} vs actual {_poll_text(rev)}"
                break
        return Outcome(sum(1 for x in got if x), mismatch=mismatch)

    return run()


_POLL_NAMES = ("POLLIN", "POLLPRI", "POLLOUT", "POLLERR", "POLLHUP", "POLLNVAL", "POLLRDNORM", "POLLRDBAND",
               "POLLWRNORM", "POLLWRBAND", "POLLMSG", "POLLRDHUP")


def _poll_text(v: int) -> str:
    names = [n for n in _POLL_NAMES if v & (symbols.value(n) or 0)]
    return "|".join(names) if names else "0"


def _ioctl(r: Runner, call: m.Syscall) -> CallGen:
    fd = _fd(call)
    req = ival(_arg(call, 1, "request"), "request")
    want = call.args[2] if len(call.args) > 2 else m.Ellipsis_()

    def run() -> CallGen:
        s = r.socket_of(fd)
        got = r.target.ioctl(s, req)
        mismatch = None
        if not isinstance(want, m.Ellipsis_):
            exp = ival(want, "ioctl value")
            if exp != got:
                mismatch = f"ioctl value: expected {exp} vs actual {got}"
        return Outcome(0, mismatch=mismatch)
        yield  # pragma: no cover

    return run()


TABLE: dict[str, Callable[[Runner, m.Syscall], CallGen]] = {
    "socket": _socket, "bind": _bind, "listen": _listen, "accept": _accept, "accept4": _accept,
    "connect": _connect, "read": _read, "recv": _recv, "recvfrom": _recv, "readv": _readv,
    "recvmsg": _recvmsg, "write": _write, "send": _send, "sendto": _sendto, "writev": _writev,
    "sendmsg": _sendmsg, "close": _close, "shutdown": _shutdown, "setsockopt": _setsockopt,
    "getsockopt": _getsockopt, "fcntl": _fcntl, "poll": _poll, "ioctl": _ioctl,
}
