"""A blocking, socket-like facade over one :class:`~synack.stack.host.Host` on the simulator.

:class:`socket` behaves like Python's ``socket.socket(AF_INET/AF_INET6, SOCK_STREAM)`` on
Linux, down to the exception class, errno and message of each failure, but it runs on a
:class:`~synack.link.sim.Network`: a call that would block advances the simulation
(``Network.run_until``) until it can return. Timeouts are in simulated seconds.

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

import errno
import functools
import itertools
import operator
import socket as _socket
import struct
import weakref
from dataclasses import replace
from math import isnan
from typing import Any, Callable, Optional

from ..tcp import cc as _cc
from ..tcp import fastopen as _fastopen
from ..tcp.errors import TcpError
from ..tcp.state import State
from ..timeunits import sec
from ..trace.events import AppCall
from . import addresses
from .addresses import WILDCARD, is_wildcard, overlap, sockaddr
from .errors import SimulationIdle, errno_for, oserror, timed_out, would_block

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
SOMAXCONN = _socket.SOMAXCONN

CLOSED = State.CLOSED
LISTEN = State.LISTEN
SYN_SENT = State.SYN_SENT
SYN_RECEIVED = State.SYN_RECEIVED
ESTABLISHED = State.ESTABLISHED
FIN_WAIT_2 = State.FIN_WAIT_2
CLOSE_WAIT = State.CLOSE_WAIT
TIME_WAIT = State.TIME_WAIT

_OPENING = (SYN_SENT, SYN_RECEIVED)
_SENDING = (ESTABLISHED, CLOSE_WAIT)

# The socket-layer state (Linux's sock->state), apart from the TCP state.
_UNCONNECTED = "unconnected"
_CONNECTING = "connecting"
_CONNECTED = "connected"


# ------------------------------------------------------------------------------ registry
class _Registry:
    """What one network's sockets share: file numbers and port reservations.

    Kept per :class:`Network` (not global) so that two simulations never see each other.
    """

    def __init__(self) -> None:
        self.fds = itertools.count(3)  # 0-2 are stdin, stdout, stderr
        #: host name -> open sockets of that host
        self.sockets: dict[str, weakref.WeakSet] = {}
        #: connection -> SO_REUSEADDR of the socket that owned it (for bind conflicts)
        self.conn_reuse: dict[Any, bool] = {}

    def of(self, host: Any) -> weakref.WeakSet:
        s = self.sockets.get(host.name)
        if s is None:
            s = self.sockets[host.name] = weakref.WeakSet()
        return s


_registries: "weakref.WeakKeyDictionary[Any, _Registry]" = weakref.WeakKeyDictionary()


def _registry(net: Any) -> _Registry:
    reg = _registries.get(net)
    if reg is None:
        reg = _registries[net] = _Registry()
    return reg


# ------------------------------------------------------------------------------ helpers
def _close_for_good(conn: Any, now: int) -> None:
    """close(): the core's CLOSE for a user who will not read again (RFC 9293 §3.6.1)."""
    conn.close(now, keep_receiving=False)


def _summary(x: Any) -> str:
    if isinstance(x, (bytes, bytearray, memoryview)):
        return str(memoryview(x).nbytes)
    return repr(x)


def _traced(method: Callable) -> Callable:
    """Record the call as an AppCall event: name, argument summary, result, error class."""
    name = method.__name__

    @functools.wraps(method)
    def wrapper(self: "socket", *args: Any, **kwargs: Any) -> Any:
        lock = self._lock
        if lock is None:
            return traced(self, *args, **kwargs)
        # On a real-time stack (synack.api.realtime) the driver's thread touches the same
        # Host: hold its lock; waiting for the network (Condition.wait) releases it.
        with lock:
            return traced(self, *args, **kwargs)

    def traced(self: "socket", *args: Any, **kwargs: Any) -> Any:
        if not self._host.tracer.on:
            return method(self, *args, **kwargs)
        try:
            result = method(self, *args, **kwargs)
        except BaseException as e:
            self._trace(name, args, kwargs, None, type(e).__name__, self._cid())
            raise
        cid = self._cid()
        shown = result
        if name == "accept":
            cid = result[0]._cid()
            shown = result[1]
        elif isinstance(result, (bytes, bytearray)):
            shown = len(result)
        self._trace(name, args, kwargs, shown, None, cid)
        return result

    return wrapper


def _buffer(data: Any) -> memoryview:
    try:
        return memoryview(data).cast("B")
    except TypeError:
        raise TypeError(f"a bytes-like object is required, not '{type(data).__name__}'") from None


def _timeout_value(value: Any) -> Optional[float]:
    """CPython's ``socket_parse_timeout``."""
    if value is None:
        return None
    if isinstance(value, float):
        if isnan(value):
            raise ValueError("Invalid value NaN (not a number)")
        t = value
    else:
        t = float(operator.index(value))
    if t < 0:
        raise ValueError("Timeout value out of range")
    return t


# ------------------------------------------------------------------------------ socket
class socket:  # noqa: N801 - named after the class it imitates
    """``socket.socket(family, SOCK_STREAM)`` running on ``host`` inside ``net``.

    ``host`` is a :class:`~synack.stack.host.Host` attached to ``net`` or its name.
    """

    #: A blocking call with no timeout gives up with SimulationIdle after this many
    #: simulated seconds without the event it waits for (None: never). The simulation can
    #: stay busy for ever without progress, e.g. probing a zero window (RFC 9293 §3.8.6.1).
    stall_limit: Optional[float] = 3600.0

    def __init__(self, net: Any, host: Any, family: int = AF_INET, type: int = SOCK_STREAM,
                 proto: int = 0) -> None:
        if isinstance(host, str):
            try:
                host = net.hosts[host]
            except KeyError:
                raise ValueError(f"no host named {host!r} in this network") from None
        elif net.hosts.get(getattr(host, "name", None)) is not host:
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
        self._setup(net, host, family)
        if type & SOCK_NONBLOCK:
            self._timeout = 0.0

    def _setup(self, net: Any, host: Any, family: int) -> None:
        self._net = net
        self._host = host
        #: the real-time driver's lock (synack.api.realtime), None on the simulator
        self._lock = getattr(net, "lock", None)
        self._family = _socket.AddressFamily(family)
        self._reg = _registry(net)
        self._fd = next(self._reg.fds)
        self._timeout: Optional[float] = None
        self._state = _UNCONNECTED
        #: local address (a wildcard until known) and port (0 until bound)
        self._laddr = WILDCARD[family]
        self._lport = 0
        #: the (addr, port) this socket holds against other binds, or None
        self._reserved: Optional[tuple[str, int]] = None
        self._bound = False        # bind() was called (Linux's SOCK_BINDPORT_LOCK)
        self._listeners: list = []
        self._backlog = 0
        self._conn: Any = None
        self._done = False         # the connection's end has been taken into account
        self._sk_err = 0           # pending error, reported once (Linux's sk_err)
        self._shut_rd = False
        self._shut_wr = False
        self._reuseaddr = 0
        self._linger = (0, 0)
        self._nodelay = 0
        self._congestion: Optional[str] = None  # TCP_CONGESTION; None: the host's default
        #: SO_KEEPALIVE, TCP_KEEPIDLE (s), TCP_KEEPINTVL (s), TCP_KEEPCNT (Linux defaults)
        self._keepalive = (0, 7200, 75, 9)
        self._oobinline = 0        # SO_OOBINLINE
        self._fastopen = 0         # TCP_FASTOPEN: Fast Open queue length of a listener
        #: MSG_OOB state (Linux's urg_data): the urgent mark seen, its octet, read or not
        self._oob_mark: Optional[int] = None
        self._oob_byte: Optional[int] = None
        self._oob_read = False
        self._reg.of(host).add(self)

    @classmethod
    def _accepted(cls, parent: "socket", conn: Any) -> "socket":
        s = cls.__new__(cls)
        s._setup(parent._net, parent._host, parent._family)
        # Options inherited from the listening socket, as Linux copies them.
        s._reuseaddr = parent._reuseaddr
        s._linger = parent._linger
        s._nodelay = parent._nodelay
        s._congestion = parent._congestion
        s._keepalive = parent._keepalive
        s._oobinline = parent._oobinline
        s._state = _CONNECTED
        s._conn = conn
        s._laddr = conn.local_addr
        s._lport = conn.local_port
        s._reg.conn_reuse[conn] = bool(s._reuseaddr)
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
    def timeout(self) -> Optional[float]:
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
            try:
                parts.append(f"raddr={self._peername()}")
            except OSError:
                pass
            parts.append(f"state={self._tcp().value}")
        return ", ".join(parts) + ">"

    def __enter__(self) -> "socket":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -------------------------------------------------------------- internals
    def _cid(self) -> Optional[tuple]:
        return self._conn.cid if self._conn is not None else None

    def _trace(self, name: str, args: tuple, kwargs: dict, result: Any, error: Optional[str],
               cid: Optional[tuple]) -> None:
        shown = [_summary(a) for a in args] + [f"{k}={_summary(v)}" for k, v in kwargs.items()]
        self._host.tracer.emit(AppCall(self._net.now, self._host.name, cid, name,
                                       f"{name}({', '.join(shown)})", result, error))

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

    def _take_error(self, default: int = 0) -> Optional[OSError]:
        code = self._sk_err or default
        self._sk_err = 0
        return oserror(code) if code else None

    def _core(self, fn: Callable, *args: Any) -> Any:
        """Call into the connection, then let the host transmit and the network schedule."""
        c = self._conn
        now = self._net.now
        try:
            return fn(*args, now)
        except TcpError as e:
            raise oserror(errno_for(e, c.fin_received)) from None
        finally:
            self._host.call(c, now)
            self._net.flush()

    def _deadline(self, dontwait: bool = False) -> Optional[int]:
        """Absolute deadline (ns) of a call starting now; 0 means non-blocking."""
        t = self._timeout
        if dontwait or t == 0.0:
            return 0
        if t is None:
            return None
        return self._net.now + sec(t)

    def _wait(self, call: str, ready: Callable[[], bool], deadline: Optional[int]) -> None:
        """Advance the simulation until ``ready()``; TimeoutError at ``deadline``,
        SimulationIdle if there is no deadline and nothing is left to happen."""
        net = self._net
        cond = ready

        if deadline is None and getattr(net, "realtime", False):
            # Real time: the peer may act at any moment, so "idle" means nothing; wait.
            net.run_until(cond)
            return
        if deadline is None:
            limit = self.stall_limit
            end = None if limit is None else net.now + sec(limit)
            while True:
                net.flush()
                if cond():
                    return
                t = net.next_time()
                if t is None:
                    raise SimulationIdle(
                        f"{call} on {self!r} would block forever: the simulation is idle "
                        f"(nothing in flight, no timer armed), so nothing can make it return. "
                        f"In a single-threaded script, make the peer act first or set a timeout.")
                if end is not None and t > end:
                    raise SimulationIdle(
                        f"{call} on {self!r} would block forever: nothing it waits for happened "
                        f"in {limit:g} s of simulated time, only timers ran (for example "
                        f"zero-window probes to a peer that does not read). In a "
                        f"single-threaded script, make the peer act first or set a timeout.")
                net.step()
        if not net.run_until(cond, max(deadline - net.now, 0)):
            raise timed_out()

    def _sockname(self) -> tuple:
        return sockaddr(self._family, self._laddr, self._lport)

    def _peername(self) -> tuple:
        st = self._tcp()
        c = self._conn
        if c is None or st is CLOSED or st is SYN_SENT or st is LISTEN:
            raise oserror(errno.ENOTCONN)
        return sockaddr(self._family, c.remote_addr, c.remote_port)

    # ---- ports
    def _port_taken(self, addr: str, port: int, reuse: bool) -> bool:
        """bind(2)'s conflict rule: a listener always conflicts; another socket or a
        connection on the port conflicts unless both sides set SO_REUSEADDR."""
        host = self._host
        for (laddr, lport) in host.listeners:
            if lport == port and overlap(addr, laddr):
                return True
        for o in list(self._reg.of(host)):
            if o is self or o._fd < 0 or o._reserved is None:
                continue
            oaddr, oport = o._reserved
            if oport == port and overlap(addr, oaddr) and not (reuse and o._reuseaddr):
                return True
        conn_reuse = self._reg.conn_reuse
        for key, conn in host.conns.items():
            if key[1] == port and overlap(addr, key[0]) and not (reuse and conn_reuse.get(conn)):
                return True
        return False

    def _ephemeral(self, addr: str, code: int) -> int:
        lo, hi = self._host.ephemeral_ports
        span = hi - lo + 1
        start = self._host.rng.randrange(span)
        for i in range(span):
            port = lo + (start + i) % span
            if not self._port_taken(addr, port, False):
                return port
        raise oserror(code)

    def _prune_conn_reuse(self) -> None:
        reg = self._reg.conn_reuse
        if len(reg) > 64:
            for conn in [c for c in reg if c.state is CLOSED]:
                del reg[conn]

    # -------------------------------------------------------------- bind / listen / accept
    @_traced
    def bind(self, address: Any) -> None:
        """Give the socket a local address. Port 0 picks an ephemeral port."""
        addr, port = addresses.parse(self._net, self._family, address, "bind")
        self._check_open()
        if self._bound or self._reserved is not None or self._listeners or self._state != _UNCONNECTED:
            raise oserror(errno.EINVAL)
        if not is_wildcard(addr) and addr not in self._host.addrs:
            raise oserror(errno.EADDRNOTAVAIL)
        if port == 0:
            port = self._ephemeral(addr, errno.EADDRINUSE)
        elif self._port_taken(addr, port, bool(self._reuseaddr)):
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
            self._lport = self._ephemeral(self._laddr, errno.EADDRINUSE)
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
                made.append(host.listen(self._lport, self._net.now, addr=a, backlog=backlog,
                                        config=config, fastopen=self._fastopen))
        except OSError as e:
            for lst in made:
                lst.close(self._net.now)
            raise oserror(e.errno or errno.EADDRINUSE) from None
        self._listeners = made
        self._backlog = backlog
        self._reserved = (self._laddr, self._lport)

    def _acceptable(self) -> bool:
        return not self._listeners or any(lst.accept_queue for lst in self._listeners)

    @_traced
    def accept(self) -> tuple["socket", tuple]:
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
            conn = lst.accept(self._net.now)
            if conn is not None:
                break
        s = socket._accepted(self, conn)
        self._prune_conn_reuse()
        return s, sockaddr(self._family, conn.remote_addr, conn.remote_port)

    # -------------------------------------------------------------- connect
    @_traced
    def connect(self, address: Any) -> None:
        """Active OPEN (RFC 9293 §3.10.1); blocks until the handshake ends."""
        addr, port = addresses.parse(self._net, self._family, address, "connect")
        self._check_open()
        self._connect(addr, port)

    @_traced
    def connect_ex(self, address: Any) -> int:
        """connect() that returns an errno (0 on success) instead of raising it."""
        addr, port = addresses.parse(self._net, self._family, address, "connect_ex")
        try:
            self._check_open()
            self._connect(addr, port)
        except OSError as e:
            if e.errno is None:  # TimeoutError("timed out"): CPython reports EWOULDBLOCK
                return errno.EWOULDBLOCK
            return e.errno
        return 0

    def _opened(self) -> bool:
        return self._conn.state not in _OPENING

    def _connect(self, addr: str, port: int, fastopen: Optional[bytes] = None) -> None:
        if self._listeners or self._state == _CONNECTED:
            raise oserror(errno.EISCONN)
        if self._state == _CONNECTING:
            if self._conn.state in _OPENING:
                if self._timeout is not None:
                    raise oserror(errno.EALREADY)
                self._wait("connect()", self._opened, None)
            self._connected_or_raise()
            return
        # A fresh active OPEN.
        host = self._host
        now = self._net.now
        if is_wildcard(addr):
            # Linux connects to 0.0.0.0 / :: as to the local host.
            mine = [a for a in host.addrs if (":" in a) == (self._family == AF_INET6)]
            if not mine:
                raise oserror(errno.ENETUNREACH)
            addr = mine[0]
        if self._reserved is None:
            self._lport = self._ephemeral(self._laddr, errno.EADDRNOTAVAIL)
        config = self._tcp_config(host)
        try:
            conn = host.connect(addr, port, now, local_addr=None if is_wildcard(self._laddr) else self._laddr,
                                local_port=self._lport, config=config, fastopen=fastopen)
        except OSError as e:
            raise oserror(e.errno or errno.EINVAL) from None
        self._net.flush()
        self._conn = conn
        self._done = False
        self._sk_err = 0
        self._shut_rd = self._shut_wr = False
        self._state = _CONNECTING
        self._laddr = conn.local_addr
        self._reserved = (self._reserved[0] if self._bound else conn.local_addr, self._lport)
        self._reg.conn_reuse[conn] = bool(self._reuseaddr)
        self._prune_conn_reuse()
        deadline = self._deadline()
        if deadline == 0:
            if conn.state in _OPENING:
                raise oserror(errno.EINPROGRESS)
        elif conn.state in _OPENING:
            self._wait("connect()", self._opened, deadline)
        self._connected_or_raise()

    def _connected_or_raise(self) -> None:
        """The end of a connect: connected, or the error, and the socket unconnected again
        (Linux's ``__inet_stream_connect`` ``sock_error`` path)."""
        self._sync()
        if self._tcp() is not CLOSED:
            self._state = _CONNECTED
            return
        err = self._take_error(errno.ECONNABORTED)
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
        if st not in _SENDING and st not in _OPENING:
            raise self._take_error(errno.EPIPE)
        err = self._take_error()
        if err is not None:
            raise err
        if self._shut_wr:
            raise oserror(errno.EPIPE)

    def _writable(self) -> bool:
        self._sync()
        st = self._tcp()
        if st in _OPENING and not self._sk_err and not _fastopen.server_may_send(self._conn):
            return False
        if st not in _SENDING or self._sk_err or self._shut_wr:
            return True
        return self._conn.send_space > 0

    def _try_send(self, view: memoryview, urgent: bool = False) -> Optional[int]:
        """One non-blocking SEND: octets accepted, or None if it would block. ``urgent``
        (MSG_OOB) moves the urgent pointer past them (RFC 9293 §3.8.5)."""
        self._send_error()
        if self._tcp() in _OPENING and not _fastopen.server_may_send(self._conn):
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
        addr, port = addresses.parse(self._net, self._family, address, "sendto")
        self._check_open()
        if flags & MSG_FASTOPEN and self._state == _UNCONNECTED and not self._listeners:
            return self._fastopen_connect(view, addr, port, dontwait)
        every = self._timeout is None and not dontwait
        return self._send_loop(view, "sendto()", every, dontwait, bool(flags & MSG_OOB))

    def _fastopen_connect(self, view: memoryview, addr: str, port: int, dontwait: bool) -> int:
        nonblocking = dontwait or self._timeout == 0.0
        host = self._host
        cfg = self._tcp_config(host) or host.config
        entry = host.fastopen_cache.get(addr)
        if nonblocking:
            # Only what fits in the SYN is taken now (Linux tcp_send_syn_data).
            room = (entry.mss if entry is not None and entry.mss else 536) if entry and entry.cookie else 0
            data = view[:room].tobytes()
        else:
            data = view[:cfg.snd_buf].tobytes()
        saved, self._timeout = self._timeout, (0.0 if nonblocking else self._timeout)
        try:
            self._connect(addr, port, fastopen=data)
        except BlockingIOError as e:
            if e.errno == errno.EINPROGRESS and data and self._conn is not None and _fastopen.syn_data(self._conn):
                return len(data)
            raise
        finally:
            self._timeout = saved
        if len(data) < len(view):
            return len(data) + self._send_loop(view[len(data):], "sendto()", not nonblocking, nonblocking)
        return len(data)

    # -------------------------------------------------------------- receive
    def _readable(self) -> bool:
        if self._listeners:
            return True
        c = self._conn
        if c is None:
            return True
        self._sync()
        return bool(c.readable or c.fin_received or self._done or self._sk_err or self._shut_rd)

    def _try_recv(self, n: int) -> Optional[bytes]:
        """One non-blocking RECEIVE (``tcp_recvmsg``): data, b"" at end of stream, or None."""
        if self._listeners:
            raise oserror(errno.ENOTCONN)
        self._sync()
        c = self._conn
        if c is not None and c.readable:
            if c.urgent_mark is None:
                return self._core(c.receive, n)
            data = self._read_around_mark(c, n)
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

    def _recv(self, n: int, call: str, dontwait: bool) -> bytes:
        if self._listeners:
            raise oserror(errno.ENOTCONN)
        if n == 0:
            return b""
        deadline = self._deadline(dontwait)
        while True:
            data = self._try_recv(n)
            if data is not None:
                return data
            if deadline == 0:
                raise would_block()
            self._wait(call, self._readable, deadline)

    # ---- urgent data, as Linux's tcp_recvmsg / tcp_recv_urg present it
    def _oob_note(self, c: Any) -> Optional[int]:
        """Track the connection's urgent mark (RCV.UP as a stream offset) and capture its
        octet while it is still in the receive buffer. Returns the mark."""
        mark = c.urgent_mark
        if mark != self._oob_mark:
            self._oob_mark = mark
            self._oob_byte = None
            self._oob_read = False
        if mark is not None and self._oob_byte is None:
            self._oob_byte = c.urgent_octet()
        return mark

    def _read_around_mark(self, c: Any, n: int) -> Optional[bytes]:
        """A read never crosses the urgent mark (Linux stops before the last urgent
        octet), and without SO_OOBINLINE that octet is taken out of the stream: it is
        read only with MSG_OOB (RFC 9293 §3.8.5 as BSD sockets present it)."""
        mark = self._oob_note(c)
        off = c.read_offset
        stop = mark - 1  # stream offset of the last urgent octet
        if off < stop:
            return self._core(c.receive, min(n, stop - off))
        if off == stop and not self._oobinline:
            self._core(c.receive, 1)  # skip it (captured above)
            if not c.readable:
                return None
        return self._core(c.receive, n)

    def _recv_oob(self, n: int) -> bytes:
        """recv(MSG_OOB): the last urgent octet, once (Linux ``tcp_recv_urg``): EINVAL
        with SO_OOBINLINE, when none arrived or it was read; EAGAIN while the pointer is
        known but the octet has not arrived (it never blocks)."""
        if self._listeners:
            raise oserror(errno.ENOTCONN)
        c = self._conn
        mark = self._oob_note(c) if c is not None else None
        if self._oobinline or mark is None or self._oob_read:
            raise oserror(errno.EINVAL)
        if self._oob_byte is not None:
            self._oob_read = True
            return bytes((self._oob_byte,))[:n]
        self._sync()
        if self._done or self._shut_rd:
            return b""
        raise would_block()

    def sockatmark(self) -> bool:
        """Whether the next octet recv() would return is where urgent data ends (the
        POSIX ``sockatmark``; Python's socket module lacks it)."""
        self._check_open()
        c = self._conn
        if c is None:
            return False
        mark = self._oob_note(c)
        return mark is not None and c.read_offset == mark - 1

    @property
    def urgent_remaining(self) -> int:
        """Octets of urgent data still to be read (RFC 9293 §3.8.5 MUST-33); 0 if none.
        A synack extra: BSD sockets only say whether the mark is reached."""
        c = self._conn
        return c.urgent_remaining if c is not None else 0

    @_traced
    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """RECEIVE (RFC 9293 §3.10.3): up to ``bufsize`` octets; b"" at end of stream.
        ``MSG_OOB`` reads the urgent octet instead, as Linux does."""
        bufsize = operator.index(bufsize)
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        dontwait = self._flags(flags, MSG_DONTWAIT | MSG_OOB)
        self._check_open()
        if operator.index(flags) & MSG_OOB:
            return self._recv_oob(bufsize)
        return self._recv(bufsize, "recv()", dontwait)

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
        now = self._net.now
        for lst in self._listeners:
            lst.close(now)
        self._listeners = []
        self._net.flush()

    @_traced
    def close(self) -> None:
        """Close the socket. An open connection gets the core's half-duplex CLOSE (RFC 9293
        §3.6.1): a FIN, and the connection lives on in the host; with unread data, or data
        that arrives later, the core sends an RST instead (SHLD-3). With SO_LINGER (1, 0)
        it is aborted (RST). Closing a closed socket does nothing."""
        if self._fd < 0:
            return
        self._reg.of(self._host).discard(self)
        if self._listeners:
            self._close_listeners()
        c = self._conn
        if c is not None:
            self._sync()
            st = c.state
            onoff, seconds = self._linger
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

                        self._net.run_until(fin_acked, sec(seconds))
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
    def settimeout(self, value: Optional[float]) -> None:
        """None blocks; 0 is non-blocking; a positive number is a timeout in *simulated*
        seconds after which a call raises TimeoutError('timed out')."""
        t = _timeout_value(value)
        self._timeout = t  # CPython stores it before the ioctl fails with EBADF
        self._check_open()

    def gettimeout(self) -> Optional[float]:
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        self._timeout = None if flag else 0.0
        self._check_open()

    def getblocking(self) -> bool:
        return self._timeout != 0.0

    # -------------------------------------------------------------- options
    def _tcp_config(self, host: Any) -> Any:
        """The TcpConfig for a connection or listener of this socket: the host's, with this
        socket's TCP_NODELAY and TCP_CONGESTION (None when neither was set)."""
        changes: dict = {}
        if self._nodelay:
            changes["nodelay"] = True
        if self._congestion is not None:
            changes["congestion"] = self._congestion
        if self._keepalive != (0, 7200, 75, 9):
            changes.update(self._keepalive_config())
        return replace(host.config, **changes) if changes else None

    def _keepalive_config(self) -> dict:
        on, idle, intvl, cnt = self._keepalive
        return {"keepalive": bool(on), "keepalive_idle": sec(idle), "keepalive_interval": sec(intvl),
                "keepalive_count": cnt}

    def _set_keepalive(self, optname: int, value: int) -> None:
        """SO_KEEPALIVE and TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT (RFC 9293 §3.8.4
        MUST-24, MUST-27), with Linux's ranges (EINVAL outside): idle and interval
        1..32767 s, count 1..127. They apply to the connection at once (the idle time
        counts from the last segment received) and to connections a listener accepts."""
        on, idle, intvl, cnt = self._keepalive
        if optname == SO_KEEPALIVE:
            on = 1 if value else 0
        elif optname == TCP_KEEPIDLE:
            if not 1 <= value <= 32767:
                raise oserror(errno.EINVAL)
            idle = value
        elif optname == TCP_KEEPINTVL:
            if not 1 <= value <= 32767:
                raise oserror(errno.EINVAL)
            intvl = value
        else:
            if not 1 <= value <= 127:
                raise oserror(errno.EINVAL)
            cnt = value
        self._keepalive = (on, idle, intvl, cnt)
        c = self._conn
        if c is not None and c.state is not CLOSED:
            now = self._net.now
            c.set_keepalive(bool(on), now, idle=sec(idle), interval=sec(intvl), count=cnt)
            self._host.call(c, now)
            self._net.flush()
        for lst in self._listeners:
            lst.config = replace(lst.config, **self._keepalive_config())

    def _congestion_name(self) -> str:
        if self._conn is not None:
            return self._conn.cc.name
        return self._congestion if self._congestion is not None else self._host.config.congestion

    def _set_congestion(self, raw: Any) -> None:
        """TCP_CONGESTION (Linux tcp_set_congestion_control): the name up to the first NUL,
        at most TCP_CA_NAME_MAX - 1 octets; ENOENT for a name no algorithm has. It applies
        to the connection at once, keeping cwnd and ssthresh, and to connections a
        listening socket accepts later."""
        if isinstance(raw, int):
            raw = struct.pack("i", raw)  # the C int's octets, read as a name
        if not raw:
            raise oserror(errno.EINVAL)
        name = bytes(raw[:_cc.NAME_MAX - 1]).split(b"\0", 1)[0].decode("latin-1")
        if name not in _cc.ALGORITHMS:
            raise oserror(errno.ENOENT)
        self._congestion = name
        if self._conn is not None:
            self._conn.set_congestion_control(name)
        for lst in self._listeners:
            lst.config = replace(lst.config, congestion=name)

    @_traced
    def setsockopt(self, level: int, optname: int, value: Any, optlen: Any = None) -> None:
        """SO_REUSEADDR, SO_LINGER (``struct.pack('ii', onoff, seconds)`` or a tuple) and
        TCP_NODELAY and TCP_CONGESTION (a name: ``b"cubic"``, ``b"reno"``); anything else
        is ENOPROTOOPT."""
        level = operator.index(level)
        optname = operator.index(optname)
        if optlen is not None:
            if value is not None:
                raise TypeError("setsockopt() takes 3 or 4 arguments with a None value for 4")
            raise oserror(errno.EINVAL)
        linger = None
        if isinstance(value, tuple) and level == SOL_SOCKET and optname == SO_LINGER:
            onoff, seconds = (operator.index(v) for v in value)
            linger = (onoff, seconds)
            raw = None
        elif isinstance(value, int):
            raw = value
        else:
            buf = _buffer(value).tobytes()
            raw = buf
        self._check_open()
        if level == SOL_SOCKET and optname == SO_LINGER:
            if linger is None:
                if isinstance(raw, int) or len(raw) < 8:
                    raise oserror(errno.EINVAL)
                linger = struct.unpack("ii", raw[:8])
            self._linger = (1 if linger[0] else 0, max(linger[1], 0))
            return
        if level == IPPROTO_TCP and optname == TCP_CONGESTION:
            self._set_congestion(raw)
            return
        if isinstance(raw, (bytes, bytearray)):
            if len(raw) < 4:
                raise oserror(errno.EINVAL)
            raw = struct.unpack("i", raw[:4])[0]
        flag = 1 if raw else 0
        if level == SOL_SOCKET and optname == SO_REUSEADDR:
            self._reuseaddr = flag
            if self._conn is not None:
                self._reg.conn_reuse[self._conn] = bool(flag)
        elif level == IPPROTO_TCP and optname == TCP_NODELAY:
            self._nodelay = flag
            # Each connection gets its own copy: the host's config is shared.
            if self._conn is not None:
                # Connection.set_nodelay copies the config and, when Nagle goes off, sends
                # what it was holding at once, as Linux does (RFC 9293 §3.7.4 MUST-17).
                self._conn.set_nodelay(bool(flag), self._net.now)
                self._host.call(self._conn, self._net.now)
            for lst in self._listeners:
                lst.config = replace(lst.config, nodelay=bool(flag))
        elif (level == SOL_SOCKET and optname == SO_KEEPALIVE) or (
                level == IPPROTO_TCP and optname in (TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT)):
            self._set_keepalive(optname if level == IPPROTO_TCP else SO_KEEPALIVE, raw)
        elif level == SOL_SOCKET and optname == SO_OOBINLINE:
            self._oobinline = flag
        elif level == IPPROTO_TCP and optname == TCP_FASTOPEN:
            # RFC 7413 server side: the queue of Fast Open connections in SYN-RECEIVED.
            # Linux accepts it on a closed or listening socket only.
            if raw < 0 or (self._conn is not None and self._tcp() is not CLOSED):
                raise oserror(errno.EINVAL)
            self._fastopen = raw
            for lst in self._listeners:
                lst.fastopen = raw
        else:
            raise oserror(errno.ENOPROTOOPT)

    def getsockopt(self, level: int, optname: int, buflen: Optional[int] = None) -> Any:
        """An int, or with ``buflen`` the option's bytes (SO_LINGER: ``struct linger``)."""
        level = operator.index(level)
        optname = operator.index(optname)
        if buflen is not None:
            buflen = operator.index(buflen)
            if not 0 < buflen <= 1024:
                raise OSError("getsockopt buflen out of range")
        self._check_open()
        if level == SOL_SOCKET and optname == SO_LINGER:
            raw = struct.pack("ii", *self._linger)
        elif level == SOL_SOCKET and optname == SO_REUSEADDR:
            raw = struct.pack("i", self._reuseaddr)
        elif level == SOL_SOCKET and optname == SO_ERROR:
            self._sync()
            code, self._sk_err = self._sk_err, 0
            raw = struct.pack("i", code)
        elif level == SOL_SOCKET and optname == SO_TYPE:
            raw = struct.pack("i", SOCK_STREAM)
        elif level == SOL_SOCKET and optname == SO_ACCEPTCONN:
            raw = struct.pack("i", 1 if self._listeners else 0)
        elif level == IPPROTO_TCP and optname == TCP_NODELAY:
            raw = struct.pack("i", self._nodelay)
        elif level == SOL_SOCKET and optname == SO_KEEPALIVE:
            raw = struct.pack("i", self._keepalive[0])
        elif level == IPPROTO_TCP and optname in (TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT):
            raw = struct.pack("i", self._keepalive[(TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT).index(optname) + 1])
        elif level == SOL_SOCKET and optname == SO_OOBINLINE:
            raw = struct.pack("i", self._oobinline)
        elif level == IPPROTO_TCP and optname == TCP_FASTOPEN:
            raw = struct.pack("i", self._fastopen)
        elif level == IPPROTO_TCP and optname == TCP_CONGESTION:
            # Linux copies the name NUL-padded to TCP_CA_NAME_MAX (16) octets; without a
            # buflen, Python reads its first four octets as an int, as on a real socket.
            raw = self._congestion_name().encode("ascii").ljust(_cc.NAME_MAX, b"\0")
        else:
            raise oserror(errno.ENOPROTOOPT)
        if buflen is None:
            return struct.unpack("i", raw[:4])[0]
        return raw[:buflen]


# ------------------------------------------------------------------------------ helpers
def create_connection(net: Any, host: Any, address: tuple, timeout: Optional[float] = None,
                      source_address: Optional[tuple] = None, *, all_errors: bool = False) -> socket:
    """Connect to ``address`` = (host, port), where host may be an address or the name of
    a host in ``net``; try each of its addresses, as ``socket.create_connection`` does."""
    name, port = address
    candidates = addresses.resolve_all(net, name)
    errors: list[BaseException] = []
    for family, addr in candidates:
        sock = socket(net, host, family)
        try:
            if timeout is not None:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect((addr, port))
            return sock
        except OSError as e:
            errors.append(e)
            sock.close()
    if not errors:
        raise OSError("getaddrinfo returns an empty list")
    if all_errors:
        raise ExceptionGroup("create_connection failed", errors)
    raise errors[0]


def create_server(net: Any, host: Any, address: tuple, *, family: int = AF_INET,
                  backlog: Optional[int] = None, reuse_port: bool = False,
                  dualstack_ipv6: bool = False) -> socket:
    """A listening socket bound to ``address``, with SO_REUSEADDR set (as
    ``socket.create_server`` does on POSIX)."""
    if reuse_port:
        raise ValueError("SO_REUSEPORT not supported on this platform")
    if dualstack_ipv6:
        raise ValueError("dualstack_ipv6 not supported on this platform")
    sock = socket(net, host, family)
    try:
        sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as err:
            raise OSError(err.errno, f"{err.strerror} (while attempting to bind on address "
                                     f"{address!r})") from None
        if backlog is None:
            sock.listen()
        else:
            sock.listen(backlog)
        return sock
    except BaseException:
        sock.close()
        raise


def sleep(net: Any, seconds: float) -> None:
    """Let ``seconds`` of simulated time pass, as ``time.sleep`` would for a real program
    while the kernel keeps working (the same as ``net.run_for``, in seconds)."""
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    net.run_until(lambda: False, sec(seconds))


def has_dualstack_ipv6() -> bool:
    """False: an AF_INET6 socket here never accepts IPv4 (as with IPV6_V6ONLY)."""
    return False
