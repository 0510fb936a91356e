"""asyncio transports over synack: any ``asyncio.Protocol`` runs on a synack connection.

:func:`create_connection` and :func:`create_server` are the counterparts of
``loop.create_connection(protocol_factory, host, port)`` and ``loop.create_server(...)``;
:func:`open_connection` and :func:`start_server` build asyncio's own ``StreamReader`` and
``StreamWriter`` on them, exactly as ``asyncio.open_connection`` does. Each takes
``stack=``, a :class:`~synack.api.aiostack.Stack` on the simulator or on a real link::

    transport, protocol = await transports.create_connection(MyProtocol, "10.0.0.2", 80, stack=stack)
    reader, writer = await transports.open_connection("10.0.0.2", 80, stack=stack)

The transport behaves as asyncio's socket transport does on Linux: ``write`` buffers what
the connection cannot take yet and pauses the protocol above the high-water mark;
``pause_reading`` leaves data in the connection, so its receive window closes;
``write_eof`` sends a FIN after the buffer (RFC 9293 §3.10.4); ``close`` sends what is
buffered, then closes the connection, which resets it when received data was never taken
(RFC 9293 §3.6.1, as the kernel does); ``abort`` drops the buffer and closes at once. A
refused connect raises ``ConnectionRefusedError(111, "Connect call failed (host, port)")``;
a reset ends the protocol with ``connection_lost(ConnectionResetError(104, ...))``; an
error after the peer's FIN surfaces on the next write (``connection_lost(BrokenPipeError)``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import os
from collections.abc import Callable, Iterable
from typing import Any

from ..tcp.errors import TcpError
from . import addresses
from .aiostack import Stack
from .calls import close_for_good
from .constants import AF_INET, AF_INET6, ENDED, OPENING, SENDING, SYN_SENT
from .errors import errno_for, oserror
from .runtime import wait_for

__all__ = ["Stack", "Transport", "Server", "create_connection", "create_server", "open_connection",
           "start_server"]

_HIGH = 64 * 1024  # asyncio's default write-buffer limits
_LOW = _HIGH // 4
_LIMIT = 2 ** 16   # asyncio's default StreamReader limit


def _family(addr: str) -> int:
    return AF_INET6 if ":" in addr else AF_INET


def _opened(conn: Any) -> bool:
    return conn.state not in OPENING


class Transport(asyncio.Transport):
    """One synack connection as an ``asyncio.Transport`` (see the module docstring)."""

    def __init__(self, stack: Stack, conn: Any, protocol: asyncio.BaseProtocol,
                 loop: asyncio.AbstractEventLoop, server: Server | None = None) -> None:
        fam = _family(conn.local_addr)
        super().__init__({
            "peername": addresses.sockaddr(fam, conn.remote_addr, conn.remote_port),
            "sockname": addresses.sockaddr(fam, conn.local_addr, conn.local_port),
            "socket": None, "connection": conn, "stack": stack,
        })
        self._stack = stack
        self._rt = stack.runtime
        self._host = stack.host
        self._conn = conn
        self._protocol = protocol
        self._loop = loop
        self._server = server
        self._buffer = bytearray()  # written, not yet taken by the connection
        self._high, self._low = _HIGH, _LOW
        self._writing_paused = False
        self._reading = True
        self._eof = False           # write_eof(): a FIN after the buffer
        self._fin_queued = False
        self._eof_received = False  # the protocol heard the peer's FIN
        self._closing = False
        self._lost = False          # connection_lost is called (or scheduled)
        self._held: OSError | None = None  # an error after the peer's FIN, for the next write
        self._ended = False         # the connection's end has been taken into account
        self._polling = False
        self._rt.hooks.append(self._on_batch)
        if server is not None:
            server._attach(self)

    # ---- the runtime's side
    def _on_batch(self) -> None:
        """After every batch of packets or timers: come back on the loop if there is news."""
        if self._polling or self._lost:
            return
        c = self._conn
        if (self._reading and (c.readable or (c.fin_received and not self._eof_received))) \
                or (self._buffer and c.send_space > 0) or (c.state in ENDED and not self._ended) \
                or (self._eof and not self._fin_queued):
            self._polling = True
            self._loop.call_soon(self._poll)

    def _poll(self) -> None:
        """Move data both ways and tell the protocol what happened (on the loop, outside
        segment processing)."""
        self._polling = False
        if self._lost:
            return
        c = self._conn
        rt = self._rt
        data = b""
        with rt.lock:
            self._push()
            if self._lost:
                return
            if self._reading and c.readable and not self._closing:
                data = c.receive(c.readable, rt.now)
                rt.flush(self._host, c)
            eof = self._reading and c.fin_received and not c.readable and not self._eof_received
            ended = c.state in ENDED and not c.readable
            error = c.error if ended else None
        if data:
            self._protocol.data_received(data)  # type: ignore[attr-defined]
        if eof and not self._closing:
            self._eof_received = True
            if not self._protocol.eof_received():  # type: ignore[attr-defined]
                self.close()
        if ended and (self._eof_received or error is not None):
            self._ended = True
        if error is not None and not self._lost:
            exc = oserror(errno_for(error, c.fin_received))
            if self._eof_received and not self._buffer:
                self._held = exc  # asyncio reads no more after EOF: the next write finds it
            else:
                self._fatal(exc)

    def _push(self) -> None:
        """Lock held: hand buffered data to the connection as its send buffer makes room;
        the FIN of write_eof or close after it."""
        c = self._conn
        buf = self._buffer
        if buf:
            if c.state in SENDING:
                space = c.send_space
                if space > 0:
                    try:
                        n = c.send(bytes(buf[:space]), self._rt.now)
                    except TcpError as e:
                        self._fatal(oserror(errno_for(e, c.fin_received)))
                        return
                    finally:
                        self._rt.flush(self._host, c)
                    del buf[:n]
            elif c.state not in OPENING:
                err = c.error
                self._fatal(oserror(errno_for(err, c.fin_received) if err is not None else errno.EPIPE))
                return
        if not buf:
            if self._eof and not self._fin_queued:
                self._fin_queued = True
                if c.state in SENDING:
                    with contextlib.suppress(TcpError):
                        c.close(self._rt.now)  # half-close: FIN, and reading goes on
                    self._rt.flush(self._host, c)
            if self._closing:
                self._finish_close(None)
                return
        self._maybe_resume_protocol()

    # ---- ends
    def _close_connection(self) -> None:
        """Lock held: close the connection as closing a socket does (FIN, or RST with
        received data never taken; SYN-SENT just ends)."""
        c = self._conn
        if c.state not in ENDED:
            with contextlib.suppress(TcpError):
                if c.state is SYN_SENT:
                    c.close(self._rt.now)
                else:
                    close_for_good(c, self._rt.now)
            self._rt.flush(self._host, c)

    def _finish_close(self, exc: Exception | None) -> None:
        if self._lost:
            return
        self._lost = True
        self._buffer.clear()
        with self._rt.lock:
            with contextlib.suppress(ValueError):
                self._rt.hooks.remove(self._on_batch)
            self._close_connection()
        self._loop.call_soon(self._call_connection_lost, exc)

    def _fatal(self, exc: Exception) -> None:
        """asyncio's ``_fatal_error``: close at once and tell the protocol why."""
        self._closing = True
        self._finish_close(exc)

    def _call_connection_lost(self, exc: Exception | None) -> None:
        try:
            self._protocol.connection_lost(exc)
        finally:
            if self._server is not None:
                self._server._detach(self)
                self._server = None

    # ---- asyncio.WriteTransport
    def write(self, data: Any) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data argument must be a bytes-like object, not {type(data).__name__!r}")
        if self._eof:
            raise RuntimeError("Cannot call write() after write_eof()")
        if not data or self._closing or self._lost:
            return  # asyncio drops writes to a closing or lost transport
        if self._held is not None:
            self._fatal(self._held)
            return
        self._buffer += data
        with self._rt.lock:
            self._push()
        self._maybe_pause_protocol()

    def writelines(self, list_of_data: Iterable[Any]) -> None:
        self.write(b"".join(list_of_data))

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        if self._closing or self._eof:
            return
        self._eof = True
        with self._rt.lock:
            self._push()

    def get_write_buffer_size(self) -> int:
        return len(self._buffer)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return (self._low, self._high)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        if high is None:
            high = _HIGH if low is None else 4 * low
        if low is None:
            low = high // 4
        if not high >= low >= 0:
            raise ValueError(f"high ({high!r}) must be >= low ({low!r}) must be >= 0")
        self._high, self._low = high, low
        self._maybe_pause_protocol()

    def _maybe_pause_protocol(self) -> None:
        if not self._writing_paused and len(self._buffer) > self._high:
            self._writing_paused = True
            self._protocol.pause_writing()

    def _maybe_resume_protocol(self) -> None:
        if self._writing_paused and len(self._buffer) <= self._low:
            self._writing_paused = False
            self._loop.call_soon(self._protocol.resume_writing)

    def abort(self) -> None:
        """Close now, dropping what is buffered (the connection closes as a socket does)."""
        self._closing = True
        self._finish_close(None)

    # ---- asyncio.ReadTransport
    def is_reading(self) -> bool:
        return self._reading and not self._closing

    def pause_reading(self) -> None:
        """Leave received data in the connection: its window closes (RFC 9293 §3.8.6)."""
        self._reading = False

    def resume_reading(self) -> None:
        if self._reading or self._closing:
            return
        self._reading = True
        if not self._polling and not self._lost:
            self._polling = True
            self._loop.call_soon(self._poll)

    # ---- asyncio.BaseTransport
    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        """Send what is buffered, then close the connection; ``connection_lost(None)`` follows."""
        if self._closing:
            return
        self._closing = True
        if self._held is not None or not self._buffer:
            self._finish_close(None)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._protocol

    def __repr__(self) -> str:
        c = self._conn
        return (f"<synack Transport {c.local_addr}:{c.local_port} -> {c.remote_addr}:{c.remote_port} "
                f"{c.state.value}{' closing' if self._closing else ''}>")


# ------------------------------------------------------------------------ client
def _resolve(stack: Stack, host: Any) -> list[tuple[int, str]]:
    if host is None:
        raise ValueError("host and port was not specified and no sock specified")
    return addresses.resolve_all(stack.runtime, host)


async def create_connection(protocol_factory: Callable[[], asyncio.BaseProtocol], host: Any, port: int, *,
                            stack: Stack, local_addr: tuple[str, int] | None = None
                            ) -> tuple[Transport, asyncio.BaseProtocol]:
    """``loop.create_connection`` on ``stack``: active OPEN (RFC 9293 §3.10.1) to each
    address of ``host`` in turn; the protocol's ``connection_made`` runs once established."""
    rt = stack.started()
    loop = asyncio.get_running_loop()
    port = int(port)
    if not 0 <= port <= 65535:
        raise OverflowError("connect(): port must be 0-65535.")
    exceptions: list[OSError] = []
    for _, addr in _resolve(stack, host):
        with rt.lock:
            try:
                conn = stack.host.connect(addr, port, rt.now, local_addr=local_addr[0] if local_addr else None,
                                          local_port=local_addr[1] if local_addr else 0)
            except OSError as e:
                exceptions.append(e)
                continue
            rt.flush(stack.host)
        try:
            await wait_for(rt, functools.partial(_opened, conn))
        except BaseException:
            with rt.lock:  # cancelled: the kernel closes a connecting socket without a word
                if conn.state is SYN_SENT:
                    conn.close(rt.now)
                elif conn.state in OPENING:
                    conn.abort(rt.now)
                rt.flush(stack.host, conn)
            raise
        if conn.state in ENDED:
            err = conn.error
            code = errno_for(err) if err is not None else errno.ECONNABORTED
            exceptions.append(OSError(code, f"Connect call failed {(addr, port)}"))
            continue
        protocol = protocol_factory()
        transport = Transport(stack, conn, protocol, loop)
        protocol.connection_made(transport)
        transport._on_batch()  # data may have come with the handshake
        return transport, protocol
    if len(exceptions) == 1 or all(str(e) == str(exceptions[0]) for e in exceptions):
        raise exceptions[0]
    raise OSError(f"Multiple exceptions: {', '.join(str(e) for e in exceptions)}")


# ------------------------------------------------------------------------ server
class _ListeningSocket:
    """What ``server.sockets`` lists: the address a listener is bound to."""

    def __init__(self, lst: Any, family: int) -> None:
        self.family = family
        self._addr = addresses.sockaddr(family, lst.addr or addresses.WILDCARD[family], lst.port)

    def getsockname(self) -> tuple[Any, ...]:
        return self._addr

    def __repr__(self) -> str:
        return f"<synack listening socket {self._addr}>"


class Server(asyncio.AbstractServer):
    """What :func:`create_server` returns: like ``asyncio.Server``."""

    def __init__(self, stack: Stack, listeners: list[Any], factory: Callable[[], asyncio.BaseProtocol],
                 loop: asyncio.AbstractEventLoop) -> None:
        self._stack = stack
        self._listeners = listeners
        self._factory = factory
        self._loop = loop
        self._serving = False
        self._closed = False
        self._transports: set[Transport] = set()
        self._waiters: list[asyncio.Future[None]] = []
        self._forever: asyncio.Future[None] | None = None
        self._accepting = False
        self.sockets = [_ListeningSocket(lst, _family(lst.addr) if lst.addr else AF_INET) for lst in listeners]

    # ---- accepting
    def _on_batch(self) -> None:
        if not self._accepting and any(lst.accept_queue for lst in self._listeners):
            self._accepting = True
            self._loop.call_soon(self._accept)

    def _accept(self) -> None:
        self._accepting = False
        if not self._serving:
            return
        rt = self._stack.runtime
        for lst in self._listeners:
            while True:
                with rt.lock:
                    conn = lst.accept(rt.now)
                if conn is None:
                    break
                protocol = self._factory()
                transport = Transport(self._stack, conn, protocol, self._loop, self)
                protocol.connection_made(transport)
                transport._on_batch()

    def _attach(self, transport: Transport) -> None:
        self._transports.add(transport)

    def _detach(self, transport: Transport) -> None:
        self._transports.discard(transport)
        self._wake_if_done()

    def _wake_if_done(self) -> None:
        if self._closed and not self._transports:
            for w in self._waiters:
                if not w.done():
                    w.set_result(None)
            self._waiters = []

    # ---- asyncio.AbstractServer
    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def is_serving(self) -> bool:
        return self._serving

    async def start_serving(self) -> None:
        if self._closed:
            raise RuntimeError(f"server {self!r} is closed")
        if not self._serving:
            self._serving = True
            self._stack.runtime.hooks.append(self._on_batch)
            self._on_batch()

    async def serve_forever(self) -> None:
        if self._forever is not None:
            raise RuntimeError(f"server {self!r} is already being awaited on serve_forever()")
        if self._closed:
            raise RuntimeError(f"server {self!r} is closed")
        await self.start_serving()
        self._forever = self._loop.create_future()
        try:
            await self._forever
        except asyncio.CancelledError:
            try:
                self.close()
                await self.wait_closed()
            finally:
                raise
        finally:
            self._forever = None

    def close(self) -> None:
        """Stop listening; connections not accepted yet are reset (as Linux does).
        Accepted connections go on."""
        if self._closed:
            return
        self._closed = True
        self._serving = False
        rt = self._stack.runtime
        with rt.lock:
            for lst in self._listeners:
                lst.close(rt.now)
            with contextlib.suppress(ValueError):
                rt.hooks.remove(self._on_batch)
            rt.flush(self._stack.host)
        if self._forever is not None and not self._forever.done():
            self._forever.cancel()
        self._wake_if_done()

    async def wait_closed(self) -> None:
        """Wait until the server is closed and every connection it accepted is lost."""
        if self._closed and not self._transports:
            return
        w: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append(w)
        await w

    def __repr__(self) -> str:
        return f"<synack Server sockets={self.sockets!r}>"


async def create_server(protocol_factory: Callable[[], asyncio.BaseProtocol], host: Any = None,
                        port: int = 0, *, stack: Stack, backlog: int = 100, start_serving: bool = True) -> Server:
    """``loop.create_server`` on ``stack``: passive OPEN on ``(host, port)``; ``host`` None
    or "" listens on every address of the stack's host; port 0 picks an ephemeral port.
    Each connection gets ``protocol_factory()`` and its own :class:`Transport`."""
    rt = stack.started()
    loop = asyncio.get_running_loop()
    port = int(port)
    if not 0 <= port <= 65535:
        raise OverflowError("bind(): port must be 0-65535.")
    wanted: list[str | None]
    if host in (None, ""):
        wanted = [None]
    else:
        names = [host] if isinstance(host, str) else list(host)
        wanted = []
        for name in names:
            wanted += [None if addresses.is_wildcard(a) else a for _, a in _resolve(stack, name)]
    listeners: list[Any] = []
    with rt.lock:
        try:
            for addr in wanted:
                listeners.append(stack.host.listen(port, rt.now, addr=addr, backlog=backlog))
                port = listeners[-1].port  # port 0: every address gets the same one
        except OSError as e:
            for lst in listeners:
                lst.close(rt.now)
            code = e.errno or errno.EADDRINUSE
            raise OSError(code, f"error while attempting to bind on address {(addr or '0.0.0.0', port)!r}: "
                                f"{os.strerror(code).lower()}") from None
    server = Server(stack, listeners, protocol_factory, loop)
    if start_serving:
        await server.start_serving()
    return server


# ------------------------------------------------------------------------ asyncio's streams
async def open_connection(host: Any, port: int, *, stack: Stack, limit: int = _LIMIT,
                          **kwargs: Any) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """``asyncio.open_connection`` on ``stack``: asyncio's own StreamReader and StreamWriter."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=limit, loop=loop)
    protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    transport, _ = await create_connection(lambda: protocol, host, port, stack=stack, **kwargs)
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    return reader, writer


async def start_server(client_connected_cb: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any],
                       host: Any = None, port: int = 0, *, stack: Stack, limit: int = _LIMIT,
                       **kwargs: Any) -> Server:
    """``asyncio.start_server`` on ``stack``: ``client_connected_cb(reader, writer)`` per
    connection, with asyncio's own StreamReader and StreamWriter."""
    loop = asyncio.get_running_loop()

    def factory() -> asyncio.StreamReaderProtocol:
        reader = asyncio.StreamReader(limit=limit, loop=loop)
        return asyncio.StreamReaderProtocol(reader, client_connected_cb, loop=loop)

    return await create_server(factory, host, port, stack=stack, **kwargs)

