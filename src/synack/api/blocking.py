"""A blocking, socket-like facade over one :class:`~synack.stack.host.Host`.

:class:`socket` behaves like Python's ``socket.socket(AF_INET/AF_INET6, SOCK_STREAM)`` on
Linux, down to the exception class, errno and message of each failure. It runs on a
:class:`~synack.api.runtime.Runtime`: on the simulator a call that would block advances the
simulation until it can return (timeouts in simulated seconds); on a real link it waits.

The model follows Linux closely, because Python's socket is a thin layer over it:

* the socket keeps a pending error (``sk_err``) that the first ``recv``/``send``/
  ``connect``/``getsockopt(SO_ERROR)`` reports and clears; later calls see EOF (``b""``)
  or EPIPE, so ``send`` after a reset raises ConnectionResetError once, then BrokenPipeError;
* ``connect`` remembers that the socket was connected: a second ``connect`` raises EISCONN
  even after the connection died;
* ``close`` is the core's "half-duplex" CLOSE (RFC 9293 §3.6.1): with unread received
  data it sends a reset instead of a FIN, and so does the connection, living on in the host
  (FIN-WAIT, TIME-WAIT) without the socket, if data reaches it later (SHLD-3, as Linux
  does); ``SO_LINGER`` (1, 0) aborts it with a reset (RFC 9293 §3.10.5);
* ``MSG_OOB`` sends urgent data (RFC 9293 §3.8.5) and reads it as Linux does: the last
  urgent octet is taken out of the stream and read alone with ``recv(1, MSG_OOB)``
  (unless ``SO_OOBINLINE``); ``sendto(data, MSG_FASTOPEN, address)`` opens a TCP Fast
  Open connection (RFC 7413); ``SO_KEEPALIVE`` and ``TCP_KEEPIDLE`` / ``TCP_KEEPINTVL`` /
  ``TCP_KEEPCNT`` turn on keep-alives (RFC 9293 §3.8.4); ``TCP_FASTOPEN`` on a listening
  socket accepts Fast Open.

Each call is traced as an :class:`~synack.trace.events.AppCall` on the host's tracer.
"""

from __future__ import annotations

import contextlib
import errno
import operator
import socket as _socket
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..tcp import fastopen as _fastopen
from ..tcp.errors import TcpError
from ..tcp.state import State
from ..timeunits import sec
from ..trace.events import AppCall
from . import addresses
from . import options as _options
from .addresses import WILDCARD, is_wildcard, overlap, sockaddr
from .calls import buffer as _buffer
from .calls import close_for_good as _close_for_good
from .calls import summary as _summary
from .calls import timeout_value as _timeout_value
from .calls import events_so_far
from .calls import traced as _traced
from .constants import (
    AF_INET, AF_INET6, CLOSE_WAIT, CLOSED, ESTABLISHED, FIN_WAIT_2, IPPROTO_TCP, LISTEN, MSG_DONTWAIT,
    MSG_FASTOPEN, MSG_OOB, MSG_PEEK, OPENING, SENDING, SHUT_RD, SHUT_RDWR, SHUT_WR, SOCK_CLOEXEC, SOCK_NONBLOCK,
    SOCK_STREAM, SOMAXCONN, SYN_RECEIVED, SYN_SENT, TIME_WAIT,
)
from .errors import errno_for, oserror, timed_out, would_block
from .fastopen import fastopen_connect
from .oob import UrgentState
from .ports import registry
from .runtime import STALL_LIMIT, Runtime, runtime_of

# The socket-layer state (Linux's sock->state), apart from the TCP state.
_UNCONNECTED = "unconnected"
_CONNECTING = "connecting"
_CONNECTED = "connected"


# ------------------------------------------------------------------------------ socket
class socket:  # noqa: N801 - named after the class it imitates
    """``socket.socket(family, SOCK_STREAM)`` running on ``host`` inside ``net``.

    ``net`` is a simulated :class:`~synack.link.sim.Network`, a real-time stack
    (:class:`synack.api.realtime.Stack`) or any :class:`~synack.api.runtime.Runtime`;
    ``host`` is a :class:`~synack.stack.host.Host` of it, or its name.
    """

    #: A blocking call with no timeout gives up with SimulationIdle after this many
    #: simulated seconds without the event it waits for (None: never). The simulation can
    #: stay busy for ever without progress, e.g. probing a zero window (RFC 9293 §3.8.6.1).
    stall_limit: float | None = STALL_LIMIT
    _timeout: float | None

    def __init__(self, net: Any, host: Any, family: int = AF_INET, type: int = SOCK_STREAM,
                 proto: int = 0) -> None:
        rt = runtime_of(net)
        if isinstance(host, str):
            try:
                host = rt.hosts[host]
            except KeyError:
                raise ValueError(f"no host named {host!r} in this network") from None
        elif rt.hosts.get(getattr(host, "name", "")) is not host:
            raise ValueError(f"{host!r} is not attached to this network")
        family = operator.index(family)
        type = operator.index(type)
        proto = operator.index(proto)
        if family not in (AF_INET, AF_INET6):
            raise oserror(errno.EAFNOSUPPORT)
        if type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC) != SOCK_STREAM:
            raise oserror(errno.ESOCKTNOSUPPORT)
        if proto not in (0, IPPROTO_TCP):
            raise oserror(errno.EPROTONOSUPPORT)
        self._setup(net, rt, host, family)
        if type & SOCK_NONBLOCK:
            self._timeout = 0.0

    def _setup(self, net: Any, rt: Runtime, host: Any, family: int) -> None:
        self._net = net
        self._rt = rt
        self._host = host
        self._family = _socket.AddressFamily(family)
        self._ports = registry(rt)
        self._fd = next(self._ports.fds)
        self._timeout = None
        #: the recorder's event count when the current call began or its wait ended
        self._resumed: int | None = None
        self._state = _UNCONNECTED
        #: local address (a wildcard until known) and port (0 until bound)
        self._laddr = WILDCARD[self._family]
        self._lport = 0
        #: the (addr, port) this socket holds against other binds, or None
        self._reserved: tuple[str, int] | None = None
        self._bound = False        # bind() was called (Linux's SOCK_BINDPORT_LOCK)
        self._listeners: list[Any] = []
        self._backlog = 0
        self._conn: Any = None
        self._done = False         # the connection's end has been taken into account
        self._sk_err = 0           # pending error, reported once (Linux's sk_err)
        self._shut_rd = False
        self._shut_wr = False
        self._opts = _options.Options()
        #: MSG_OOB state (Linux's urg_data)
        self._urgent = UrgentState()
        self._ports.of(host).add(self)

    @classmethod
    def _accepted(cls, parent: socket, conn: Any) -> socket:
        s = cls.__new__(cls)
        s._setup(parent._net, parent._rt, parent._host, parent._family)
        s._opts = parent._opts.inherited()  # as Linux copies them to the accepted socket
        s._state = _CONNECTED
        s._conn = conn
        s._laddr = conn.local_addr
        s._lport = conn.local_port
        s._ports.remember(conn, bool(s._opts.reuseaddr))
        return s

    # -------------------------------------------------------------- properties
    @property
    def family(self) -> _socket.AddressFamily:
        return self._family

    @property
    def type(self) -> _socket.SocketKind:
        return _socket.SocketKind.SOCK_STREAM

    @property
    def proto(self) -> int:
        return 0

    @property
    def timeout(self) -> float | None:
        return self._timeout

    @property
    def net(self) -> Any:
        """The :class:`~synack.link.sim.Network` the socket runs in."""
        return self._net

    @property
    def host(self) -> Any:
        """The :class:`~synack.stack.host.Host` the socket belongs to."""
        return self._host

    @property
    def connection(self) -> Any:
        """The core :class:`~synack.tcp.connection.Connection`, or None (for inspection)."""
        return self._conn

    def fileno(self) -> int:
        """A fake file number, stable for the socket's life; -1 once closed."""
        return self._fd

    def __repr__(self) -> str:
        closed = self._fd < 0
        parts = [f"<synack.api.socket{' [closed]' if closed else ''} fd={self._fd}",
                 f"family={int(self._family)}", f"type={int(SOCK_STREAM)}", "proto=0",
                 f"host={self._host.name!r}"]
        if not closed:
            parts.append(f"laddr={self._sockname()}")
            with contextlib.suppress(OSError):
                parts.append(f"raddr={self._peername()}")
            parts.append(f"state={self._tcp().value}")
        return ", ".join(parts) + ">"

    def __enter__(self) -> socket:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -------------------------------------------------------------- internals
    def _cid(self) -> tuple | None:
        return self._conn.cid if self._conn is not None else None

    def _trace(self, name: str, args: tuple, kwargs: dict, result: Any, error: str | None,
               cid: tuple | None, caused: int | None = None) -> None:
        shown = [_summary(a) for a in args] + [f"{k}={_summary(v)}" for k, v in kwargs.items()]
        self._host.tracer.emit(AppCall(self._rt.now, self._host.name, cid, name,
                                       f"{name}({', '.join(shown)})", result, error, caused))

    def _check_open(self) -> None:
        if self._fd < 0:
            raise oserror(errno.EBADF)

    def _tcp(self) -> State:
        """The TCP state as the socket sees it (TIME-WAIT is already CLOSE to Linux)."""
        if self._listeners:
            return LISTEN
        c = self._conn
        if c is None:
            return CLOSED
        st = c.state
        return CLOSED if st is TIME_WAIT else st

    def _sync(self) -> None:
        """Take the end of the connection into account once: its error becomes the
        pending error, and both directions are shut (Linux's ``tcp_done()``)."""
        c = self._conn
        if c is None or self._done:
            return
        st = c.state
        if st is CLOSED or st is TIME_WAIT:
            self._done = True
            err = c.error
            if err is not None:
                self._sk_err = errno_for(err, c.fin_received)
            self._shut_rd = self._shut_wr = True

    def _take_error(self) -> OSError | None:
        """The pending error, reported once (``sock_error``)."""
        code, self._sk_err = self._sk_err, 0
        return oserror(code) if code else None

    def _error_or(self, default: int) -> OSError:
        """The pending error, or ``default`` when none is pending."""
        return self._take_error() or oserror(default)

    def _core(self, fn: Callable, *args: Any) -> Any:
        """Call into the connection, then let the host transmit and the network schedule."""
        c = self._conn
        try:
            return fn(*args, self._rt.now)
        except TcpError as e:
            raise oserror(errno_for(e, c.fin_received)) from None
        finally:
            self._rt.flush(self._host, c)

    def _deadline(self, dontwait: bool = False) -> int | None:
        """Absolute deadline (ns) of a call starting now; 0 means non-blocking."""
        t = self._timeout
        if dontwait or t == 0.0:
            return 0
        if t is None:
            return None
        return self._rt.now + sec(t)

    def _wait(self, call: str, ready: Callable[[], bool], deadline: int | None) -> None:
        """Wait (advance the simulation) until ``ready()``; TimeoutError at ``deadline``,
        SimulationIdle if there is no deadline and nothing is left to happen."""
        if not self._rt.wait_until(ready, deadline, what=lambda: f"{call} on {self!r}", stall_limit=self.stall_limit):
            raise timed_out()
        if self._host.tracer.on:
            self._resumed = events_so_far(self._host.tracer)  # what follows, the call itself caused

    def _sockname(self) -> tuple:
        return sockaddr(self._family, self._laddr, self._lport)

    def _peername(self) -> tuple:
        st = self._tcp()
        c = self._conn
        if c is None or st is CLOSED or st is SYN_SENT or st is LISTEN:
            raise oserror(errno.ENOTCONN)
        return sockaddr(self._family, c.remote_addr, c.remote_port)

    # -------------------------------------------------------------- bind / listen / accept
    @_traced
    def bind(self, address: Any) -> None:
        """Give the socket a local address. Port 0 picks an ephemeral port."""
        addr, port = addresses.parse(self._rt, self._family, address, "bind")
        self._check_open()
        if self._bound or self._reserved is not None or self._listeners or self._state != _UNCONNECTED:
            raise oserror(errno.EINVAL)
        if not is_wildcard(addr) and addr not in self._host.addrs:
            raise oserror(errno.EADDRNOTAVAIL)
        if port == 0:
            port = self._ports.ephemeral(self, self._host, addr, errno.EADDRINUSE)
        elif self._ports.taken(self, self._host, addr, port, bool(self._opts.reuseaddr)):
            raise oserror(errno.EADDRINUSE)
        self._laddr, self._lport = addr, port
        self._reserved = (addr, port)
        self._bound = True

    @_traced
    def listen(self, backlog: int = min(SOMAXCONN, 128)) -> None:
        """Passive OPEN (RFC 9293 §3.10.1): completed connections queue until accept()."""
        backlog = max(operator.index(backlog), 0)
        self._check_open()
        if self._state != _UNCONNECTED:
            raise oserror(errno.EINVAL)
        if self._listeners:
            self._backlog = backlog
            for lst in self._listeners:
                lst.backlog = max(1, backlog)
            return
        host = self._host
        if self._lport == 0 or self._reserved is None:
            self._lport = self._ports.ephemeral(self, self._host, self._laddr, errno.EADDRINUSE)
        for (laddr, lport) in host.listeners:
            if lport == self._lport and overlap(self._laddr, laddr):
                raise oserror(errno.EADDRINUSE)
        v6 = self._family == AF_INET6
        if not is_wildcard(self._laddr):
            addrs: list = [self._laddr]
        else:
            mine = [a for a in host.addrs if (":" in a) == v6]
            # The host's own wildcard listens on both families; a socket has one.
            addrs = [None] if len(mine) == len(host.addrs) else mine
        config = self._tcp_config(host)
        made = []
        try:
            for a in addrs:
                made.append(host.listen(self._lport, self._rt.now, addr=a, backlog=backlog,
                                        config=config, fastopen=self._opts.fastopen))
        except OSError as e:
            for lst in made:
                lst.close(self._rt.now)
            raise oserror(e.errno or errno.EADDRINUSE) from None
        self._listeners = made
        self._backlog = backlog
        self._reserved = (self._laddr, self._lport)

    def _acceptable(self) -> bool:
        return not self._listeners or any(lst.accept_queue for lst in self._listeners)

    @_traced
    def accept(self) -> tuple[socket, tuple]:
        """The next established connection as ``(socket, address)``."""
        self._check_open()
        if not self._listeners:
            raise oserror(errno.EINVAL)
        if not self._acceptable():
            deadline = self._deadline()
            if deadline == 0:
                raise would_block()
            self._wait("accept()", self._acceptable, deadline)
            if not self._listeners:
                raise oserror(errno.EINVAL)
        for lst in self._listeners:
            conn = lst.accept(self._rt.now)
            if conn is not None:
                break
        return socket._accepted(self, conn), sockaddr(self._family, conn.remote_addr, conn.remote_port)

    # -------------------------------------------------------------- connect
    @_traced
    def connect(self, address: Any) -> None:
        """Active OPEN (RFC 9293 §3.10.1); blocks until the handshake ends."""
        addr, port = addresses.parse(self._rt, self._family, address, "connect")
        self._check_open()
        self._connect(addr, port)

    @_traced
    def connect_ex(self, address: Any) -> int:
        """connect() that returns an errno (0 on success) instead of raising it."""
        addr, port = addresses.parse(self._rt, self._family, address, "connect_ex")
        try:
            self._check_open()
            self._connect(addr, port)
        except OSError as e:
            if e.errno is None:  # TimeoutError("timed out"): CPython reports EWOULDBLOCK
                return errno.EWOULDBLOCK
            return e.errno
        return 0

    def _opened(self) -> bool:
        return self._conn.state not in OPENING

    def _connect(self, addr: str, port: int, fastopen: bytes | None = None) -> None:
        if self._listeners or self._state == _CONNECTED:
            raise oserror(errno.EISCONN)
        if self._state == _CONNECTING:
            if self._conn.state in OPENING:
                if self._timeout is not None:
                    raise oserror(errno.EALREADY)
                self._wait("connect()", self._opened, None)
            self._connected_or_raise()
            return
        # A fresh active OPEN.
        host = self._host
        now = self._rt.now
        if is_wildcard(addr):
            # Linux connects to 0.0.0.0 / :: as to the local host.
            mine = [a for a in host.addrs if (":" in a) == (self._family == AF_INET6)]
            if not mine:
                raise oserror(errno.ENETUNREACH)
            addr = mine[0]
        if self._reserved is None:
            self._lport = self._ports.ephemeral(self, self._host, self._laddr, errno.EADDRNOTAVAIL)
        config = self._tcp_config(host)
        try:
            conn = host.connect(addr, port, now, local_addr=None if is_wildcard(self._laddr) else self._laddr,
                                local_port=self._lport, config=config, fastopen=fastopen)
        except OSError as e:
            raise oserror(e.errno or errno.EINVAL) from None
        self._rt.flush(host)
        self._conn = conn
        self._done = False
        self._sk_err = 0
        self._shut_rd = self._shut_wr = False
        self._state = _CONNECTING
        self._laddr = conn.local_addr
        self._reserved = (self._reserved[0] if self._bound and self._reserved else conn.local_addr, self._lport)
        self._ports.remember(conn, bool(self._opts.reuseaddr))
        deadline = self._deadline()
        if deadline == 0:
            if conn.state in OPENING:
                raise oserror(errno.EINPROGRESS)
        elif conn.state in OPENING:
            self._wait("connect()", self._opened, deadline)
        self._connected_or_raise()

    def _connected_or_raise(self) -> None:
        """The end of a connect: connected, or the error, and the socket unconnected again
        (Linux's ``__inet_stream_connect`` ``sock_error`` path)."""
        self._sync()
        if self._tcp() is not CLOSED:
            self._state = _CONNECTED
            return
        err = self._error_or(errno.ECONNABORTED)
        self._state = _UNCONNECTED
        self._conn = None
        self._done = False
        self._shut_rd = self._shut_wr = False
        if not self._bound:
            # The kernel releases an automatically chosen address and port.
            self._laddr = WILDCARD[self._family]
            self._reserved = None
        raise err

    # -------------------------------------------------------------- send
    def _send_error(self) -> None:
        """Raise what send() reports in this state, if anything (``tcp_sendmsg``)."""
        self._sync()
        st = self._tcp()
        if st not in SENDING and st not in OPENING:
            raise self._error_or(errno.EPIPE)
        err = self._take_error()
        if err is not None:
            raise err
        if self._shut_wr:
            raise oserror(errno.EPIPE)

    def _writable(self) -> bool:
        self._sync()
        st = self._tcp()
        if st in OPENING and not self._sk_err and not _fastopen.server_may_send(self._conn):
            return False
        if st not in SENDING or self._sk_err or self._shut_wr:
            return True
        return self._conn.send_space > 0

    def _try_send(self, view: memoryview, urgent: bool = False) -> int | None:
        """One non-blocking SEND: octets accepted, or None if it would block. ``urgent``
        (MSG_OOB) moves the urgent pointer past them (RFC 9293 §3.8.5)."""
        self._send_error()
        if self._tcp() in OPENING and not _fastopen.server_may_send(self._conn):
            return None
        if not view:
            return 0
        space = self._conn.send_space
        if space <= 0:
            return None
        chunk = view[:space].tobytes()
        if urgent:
            conn = self._conn
            return self._core(lambda now: conn.send(chunk, now, True))
        return self._core(self._conn.send, chunk)

    def _send_loop(self, view: memoryview, call: str, every: bool, dontwait: bool,
                   urgent: bool = False) -> int:
        deadline = self._deadline(dontwait)
        sent = 0
        total = len(view)
        while True:
            try:
                n = self._try_send(view[sent:], urgent)
            except OSError:
                if sent and call == "send()":
                    return sent  # the kernel returns what it copied before the error
                raise
            if n is None:
                if deadline == 0:
                    raise would_block()
                self._wait(call, self._writable, deadline)
                continue
            sent += n
            if sent >= total or not every:
                return sent

    def _flags(self, flags: Any, allowed: int = MSG_DONTWAIT) -> bool:
        flags = operator.index(flags)
        if flags & ~allowed:
            raise oserror(errno.EOPNOTSUPP)
        return bool(flags & MSG_DONTWAIT)

    @_traced
    def send(self, data: Any, flags: int = 0) -> int:
        """SEND (RFC 9293 §3.10.2): how many octets the send buffer took. A blocking
        socket waits until it took them all; with a timeout, until it took some.
        ``MSG_OOB`` makes them urgent data (RFC 9293 §3.8.5 MUST-30)."""
        view = _buffer(data)
        dontwait = self._flags(flags, MSG_DONTWAIT | MSG_OOB)
        self._check_open()
        every = self._timeout is None and not dontwait
        return self._send_loop(view, "send()", every, dontwait, bool(operator.index(flags) & MSG_OOB))

    @_traced
    def sendall(self, data: Any, flags: int = 0) -> None:
        """Send all of ``data``, advancing the simulation while the send buffer is full.
        A timeout bounds the whole call. ``MSG_OOB`` as for send()."""
        view = _buffer(data)
        dontwait = self._flags(flags, MSG_DONTWAIT | MSG_OOB)
        self._check_open()
        self._send_loop(view, "sendall()", True, dontwait, bool(operator.index(flags) & MSG_OOB))

    @_traced
    def sendto(self, data: Any, flags_or_address: Any, address: Any = None) -> int:
        """``sendto(data, address)`` or ``sendto(data, flags, address)``. On a connected
        socket TCP ignores the address, as Linux does. With ``MSG_FASTOPEN`` on a socket
        that is not connected it is a TCP Fast Open connect (RFC 7413): the SYN carries
        the cookie cached for the server and, with one, the start of ``data``; without one
        it asks for a cookie and the data follows the handshake. A blocking socket returns
        once the connection is open and ``data`` queued; a non-blocking one returns the
        octets that rode in the SYN, or raises BlockingIOError(EINPROGRESS) when none did."""
        if address is None:
            flags, address = 0, flags_or_address
        else:
            flags = operator.index(flags_or_address)
        view = _buffer(data)
        dontwait = self._flags(flags, MSG_DONTWAIT | MSG_OOB | MSG_FASTOPEN)
        addr, port = addresses.parse(self._rt, self._family, address, "sendto")
        self._check_open()
        if flags & MSG_FASTOPEN and self._state == _UNCONNECTED and not self._listeners:
            return fastopen_connect(self, view, addr, port, dontwait)
        every = self._timeout is None and not dontwait
        return self._send_loop(view, "sendto()", every, dontwait, bool(flags & MSG_OOB))

    # -------------------------------------------------------------- receive
    def _readable(self) -> bool:
        if self._listeners:
            return True
        c = self._conn
        if c is None:
            return True
        self._sync()
        return bool(c.readable or c.fin_received or self._done or self._sk_err or self._shut_rd)

    def _try_recv(self, n: int, peek: bool = False) -> bytes | None:
        """One non-blocking RECEIVE (``tcp_recvmsg``): data, b"" at end of stream, or None.
        ``peek`` (MSG_PEEK) leaves the data to be read again."""
        if self._listeners:
            raise oserror(errno.ENOTCONN)
        self._sync()
        c = self._conn
        if c is not None and c.readable:
            if peek:
                return c.peek(n)
            if c.urgent_mark is None:
                return self._core(c.receive, n)
            data = self._urgent.read_around_mark(c, n, bool(self._opts.oobinline),
                                                 lambda k: self._core(c.receive, k))
            if data is not None:
                return data
        if c is not None and c.fin_received:
            return b""
        err = self._take_error()
        if err is not None:
            raise err
        if self._shut_rd:
            return b""
        if self._tcp() is CLOSED:
            raise oserror(errno.ENOTCONN)
        return None

    def _recv(self, n: int, call: str, dontwait: bool, peek: bool = False) -> bytes:
        if self._listeners:
            raise oserror(errno.ENOTCONN)
        if n == 0:
            return b""
        deadline = self._deadline(dontwait)
        while True:
            data = self._try_recv(n, peek)
            if data is not None:
                return data
            if deadline == 0:
                raise would_block()
            self._wait(call, self._readable, deadline)

    # ---- urgent data, as Linux's tcp_recvmsg / tcp_recv_urg present it (api/oob.py)
    def _recv_oob(self, n: int) -> bytes:
        """recv(MSG_OOB): the last urgent octet, once (Linux ``tcp_recv_urg``)."""
        if self._listeners:
            raise oserror(errno.ENOTCONN)
        self._sync()
        return self._urgent.recv_oob(self._conn, n, bool(self._opts.oobinline), self._done or self._shut_rd)

    def sockatmark(self) -> bool:
        """Whether the next octet recv() would return is where urgent data ends (the
        POSIX ``sockatmark``; Python's socket module lacks it)."""
        self._check_open()
        c = self._conn
        return c is not None and self._urgent.at_mark(c)

    @property
    def urgent_remaining(self) -> int:
        """Octets of urgent data still to be read (RFC 9293 §3.8.5 MUST-33); 0 if none.
        A synack extra: BSD sockets only say whether the mark is reached."""
        c = self._conn
        return c.urgent_remaining if c is not None else 0

    @_traced
    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """RECEIVE (RFC 9293 §3.10.3): up to ``bufsize`` octets; b"" at end of stream.
        ``MSG_OOB`` reads the urgent octet instead, as Linux does; ``MSG_PEEK`` returns the
        data and leaves it to be read again."""
        bufsize = operator.index(bufsize)
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        dontwait = self._flags(flags, MSG_DONTWAIT | MSG_OOB | MSG_PEEK)
        self._check_open()
        if operator.index(flags) & MSG_OOB:
            return self._recv_oob(bufsize)
        return self._recv(bufsize, "recv()", dontwait, bool(operator.index(flags) & MSG_PEEK))

    @_traced
    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        """recv() into a writable buffer; returns the number of octets stored."""
        try:
            view = memoryview(buffer)
        except TypeError:
            view = None
        if view is None or view.readonly:
            raise TypeError("recv_into() argument 1 must be read-write bytes-like object, "
                            f"not {type(buffer).__name__}")
        view = view.cast("B")
        nbytes = operator.index(nbytes)
        if nbytes < 0:
            raise ValueError("negative buffersize in recv_into")
        if nbytes == 0:
            nbytes = len(view)
        elif nbytes > len(view):
            raise ValueError("buffer too small for requested bytes")
        dontwait = self._flags(flags)
        self._check_open()
        data = self._recv(nbytes, "recv_into()", dontwait)
        view[:len(data)] = data
        return len(data)

    # -------------------------------------------------------------- shutdown / close
    @_traced
    def shutdown(self, how: int) -> None:
        """SHUT_WR sends a FIN (CLOSE, RFC 9293 §3.10.4) and keeps receiving; SHUT_RD
        makes recv() return b"" instead of waiting (data already received is still
        returned, as on Linux); SHUT_RDWR does both."""
        how = operator.index(how)
        self._check_open()
        if how not in (SHUT_RD, SHUT_WR, SHUT_RDWR):
            raise oserror(errno.EINVAL)
        if self._listeners:
            if how != SHUT_WR:
                # Linux disconnects a listening socket on SHUT_RD: it stops listening.
                self._close_listeners()
            return
        self._sync()
        st = self._tcp()
        if st is CLOSED:
            raise oserror(errno.ENOTCONN)
        if st is SYN_SENT:
            # Linux disconnects a connecting socket: the active OPEN is abandoned.
            self._core(self._conn.close)
            self._conn = None
            self._state = _UNCONNECTED
            return
        if how != SHUT_WR:
            self._shut_rd = True
        if how != SHUT_RD and not self._shut_wr:
            self._shut_wr = True
            if st in (ESTABLISHED, CLOSE_WAIT, SYN_RECEIVED):
                self._core(self._conn.close)

    def _close_listeners(self) -> None:
        now = self._rt.now
        for lst in self._listeners:
            lst.close(now)
        self._listeners = []
        self._rt.flush(self._host)

    @_traced
    def close(self) -> None:
        """Close the socket. An open connection gets the core's half-duplex CLOSE (RFC 9293
        §3.6.1): a FIN, and the connection lives on in the host; with unread data, or data
        that arrives later, the core sends an RST instead (SHLD-3). With SO_LINGER (1, 0)
        it is aborted (RST). Closing a closed socket does nothing."""
        if self._fd < 0:
            return
        self._ports.of(self._host).discard(self)
        if self._listeners:
            self._close_listeners()
        c = self._conn
        if c is not None:
            self._sync()
            st = c.state
            onoff, seconds = self._opts.linger
            if st is not CLOSED and st is not TIME_WAIT:
                if onoff and seconds == 0:
                    self._core(c.abort)  # RFC 9293 §3.10.5 ABORT
                elif st is SYN_SENT:
                    self._core(c.close)
                else:
                    # The socket never reads again: unread data, or data arriving later,
                    # makes the core send an RST (RFC 9293 §3.6.1 SHLD-3).
                    self._core(_close_for_good, c)
                    if onoff and seconds > 0 and c.state not in (CLOSED, TIME_WAIT):
                        # SO_LINGER with a time: wait (at most that long) for the FIN's ACK.
                        def fin_acked() -> bool:
                            return c.state in (CLOSED, TIME_WAIT, FIN_WAIT_2)

                        self._rt.wait_until(fin_acked, self._rt.now + sec(seconds))
        self._fd = -1
        self._reserved = None

    # -------------------------------------------------------------- names
    def getsockname(self) -> tuple:
        """The local address: ``(host, port)``, or ``(host, port, 0, 0)`` for AF_INET6."""
        self._check_open()
        return self._sockname()

    def getpeername(self) -> tuple:
        """The remote address; OSError(ENOTCONN) unless connected."""
        self._check_open()
        self._sync()
        return self._peername()

    # -------------------------------------------------------------- timeouts
    def settimeout(self, value: float | None) -> None:
        """None blocks; 0 is non-blocking; a positive number is a timeout in *simulated*
        seconds after which a call raises TimeoutError('timed out')."""
        t = _timeout_value(value)
        self._timeout = t  # CPython stores it before the ioctl fails with EBADF
        self._check_open()

    def gettimeout(self) -> float | None:
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        self._timeout = None if flag else 0.0
        self._check_open()

    def getblocking(self) -> bool:
        return self._timeout != 0.0

    # -------------------------------------------------------------- options (api/options.py)
    def _tcp_config(self, host: Any) -> Any:
        """The TcpConfig for a connection or listener of this socket: the host's, with this
        socket's TCP_NODELAY, TCP_CONGESTION and keep-alive (None when none was set)."""
        changes = self._opts.tcp_changes()
        return replace(host.config, **changes) if changes else None

    @_traced
    def setsockopt(self, level: int, optname: int, value: Any, optlen: Any = None) -> None:
        """SO_REUSEADDR, SO_LINGER (``struct.pack('ii', onoff, seconds)`` or a tuple),
        SO_KEEPALIVE, SO_OOBINLINE, TCP_NODELAY, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT,
        TCP_FASTOPEN and TCP_CONGESTION (a name: ``b"cubic"``, ``b"reno"``); anything else
        is ENOPROTOOPT."""
        _options.setsockopt(self, level, optname, value, optlen)

    def getsockopt(self, level: int, optname: int, buflen: int | None = None) -> Any:
        """An int, or with ``buflen`` the option's bytes (SO_LINGER: ``struct linger``)."""
        return _options.getsockopt(self, level, optname, buflen)
