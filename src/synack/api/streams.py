"""asyncio streams over synack: ``open_connection`` and ``start_server`` as in ``asyncio``.

A :class:`Stack` is a Host on a simulated network (run by its
:class:`~synack.api.simloop.SimEventLoop`) or on a real link (run by a driver on the caller's
event loop); packets and timers are handled between the application's own callbacks, and a
stream call that must wait awaits the runtime's next batch.

These readers and writers keep a socket's habits: ``writer.close()`` with received data
never read resets the connection (RFC 9293 §3.6.1, as closing a kernel socket does), and an
error is reported once. For asyncio's own ``StreamReader``/``StreamWriter`` over an
``asyncio.Transport``, see :mod:`synack.api.transports`.

    import asyncio
    from synack.api import streams

    async def main():
        stack = streams.Stack.tun("10.99.0.2/24", netns="demo")   # root; kernel at 10.99.0.1
        reader, writer = await streams.open_connection("10.99.0.1", 8080, stack=stack)
        writer.write(b"hello")
        writer.write_eof()                      # half-close: FIN, reading goes on
        print(await reader.read())              # until the peer's FIN
        writer.close()
        await writer.wait_closed()
        stack.close()

    asyncio.run(main())

Readers have ``read``, ``readexactly``, ``readline``, ``readuntil``, ``at_eof`` and async
iteration by line; writers ``write``, ``writelines``, ``drain``, ``write_eof``,
``can_write_eof``, ``close``, ``is_closing``, ``wait_closed``, ``get_extra_info``. Errors
are Python's: ``ConnectionRefusedError``, ``ConnectionResetError``, ``BrokenPipeError``,
``TimeoutError``, ``asyncio.IncompleteReadError``, ``asyncio.LimitOverrunError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket as _socket
from collections.abc import Awaitable, Callable
from typing import Any

from ..tcp.errors import TcpError
from ..tcp.state import State
from .aiostack import Stack
from .constants import OPENING, SENDING
from .errors import errno_for, oserror
from .runtime import wait_for

_LIMIT = 2 ** 16
_OPENING = OPENING
_SENDING = SENDING


# ------------------------------------------------------------------------ one connection
class _Conn:
    """What a reader and its writer share: the core connection and the runtime."""

    __slots__ = ("stack", "rt", "host", "conn", "err_reported")

    def __init__(self, stack: Stack, conn: Any) -> None:
        self.stack = stack
        self.rt = stack.runtime
        self.host = stack.host
        self.conn = conn
        self.err_reported = False

    def call(self, fn: Callable, *args: Any) -> Any:
        """A user call on the connection; the host then transmits what it queued."""
        try:
            return fn(*args, self.rt.now)
        except TcpError as e:
            raise oserror(errno_for(e, self.conn.fin_received)) from None
        finally:
            self.rt.flush(self.host, self.conn)

    def error(self) -> OSError | None:
        """The connection's asynchronous error (refused, reset, timeout), reported once."""
        c = self.conn
        if c.error is None or self.err_reported:
            return None
        self.err_reported = True
        return oserror(errno_for(c.error, c.fin_received))


class StreamReader:
    """Reads what the peer sent; like ``asyncio.StreamReader``."""

    def __init__(self, c: _Conn, limit: int = _LIMIT) -> None:
        self._c = c
        self._buf = bytearray()
        self._eof = False
        self._limit = limit

    def _pull(self) -> None:
        """Move received data from the connection into the buffer; note EOF/errors."""
        c = self._c
        conn = c.conn
        n = conn.readable
        if n:
            self._buf += c.call(conn.receive, n)
            # The FIN may have come with the last data: nothing more will wake us for it.
            if conn.fin_received and not conn.readable:
                self._eof = True
            return
        if conn.fin_received:
            self._eof = True
        elif conn.state is State.CLOSED or conn.state is State.TIME_WAIT:
            err = c.error()
            if err is not None:
                raise err
            self._eof = True

    async def _wait(self, want: Callable[[], bool]) -> None:
        rt = self._c.rt
        while True:
            self._pull()
            if want() or self._eof:
                return
            await rt.wait()

    def at_eof(self) -> bool:
        """True once the peer's FIN arrived and the buffer is empty."""
        if not self._buf and not self._eof:
            self._pull()
        return self._eof and not self._buf

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` octets (at least one unless at EOF); ``n < 0`` reads to EOF."""
        if n == 0:
            return b""
        if n < 0:
            await self._wait(lambda: False)
            data = bytes(self._buf)
            self._buf.clear()
            return data
        await self._wait(lambda: bool(self._buf))
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    async def readexactly(self, n: int) -> bytes:
        if n < 0:
            raise ValueError("readexactly size can not be less than zero")
        await self._wait(lambda: len(self._buf) >= n)
        if len(self._buf) < n:
            partial = bytes(self._buf)
            self._buf.clear()
            raise asyncio.IncompleteReadError(partial, n)
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        if not separator:
            raise ValueError("Separator should be at least one-byte string")
        await self._wait(lambda: separator in self._buf or len(self._buf) > self._limit)
        i = self._buf.find(separator)
        if i < 0:
            if len(self._buf) > self._limit:
                raise asyncio.LimitOverrunError("Separator is not found, and chunk exceed the limit",
                                                len(self._buf))
            partial = bytes(self._buf)
            self._buf.clear()
            raise asyncio.IncompleteReadError(partial, None)
        end = i + len(separator)
        if end > self._limit:
            raise asyncio.LimitOverrunError("Separator is found, but chunk is longer than limit", i)
        data = bytes(self._buf[:end])
        del self._buf[:end]
        return data

    async def readline(self) -> bytes:
        """A line ending in b"\\n", or what is left at EOF."""
        try:
            return await self.readuntil(b"\n")
        except asyncio.IncompleteReadError as e:
            return e.partial
        except asyncio.LimitOverrunError as e:
            if self._buf.startswith(b"\n", e.consumed):
                del self._buf[:e.consumed + 1]
            else:
                self._buf.clear()
            raise ValueError(e.args[0]) from None

    def __aiter__(self) -> StreamReader:
        return self

    async def __anext__(self) -> bytes:
        line = await self.readline()
        if line == b"":
            raise StopAsyncIteration
        return line


class StreamWriter:
    """Sends to the peer; like ``asyncio.StreamWriter``. Data the connection's send buffer
    cannot take yet waits here and is pushed as ACKs make room; ``drain`` waits for that."""

    def __init__(self, c: _Conn, reader: StreamReader) -> None:
        self._c = c
        self._reader = reader
        self._out = bytearray()
        self._eof = False       # write_eof() called: FIN after the buffered data
        self._closing = False   # close() called
        self._fin_sent = False
        self._hooked = False

    # ---- pushing data into the connection
    def _push(self) -> None:
        c = self._c
        conn = c.conn
        out = self._out
        if out:
            if conn.state in _SENDING or conn.state in _OPENING:
                space = conn.send_space
                if space > 0 and conn.state in _SENDING:
                    n = c.call(conn.send, bytes(out[:space]))
                    del out[:n]
            else:
                out.clear()  # the connection is gone: what is left can never be sent
        if not out and (self._eof or self._closing) and not self._fin_sent:
            if conn.state in _SENDING or conn.state is State.SYN_RECEIVED:
                self._fin_sent = True
                c.call(conn.close)
            elif conn.state not in _OPENING:
                self._fin_sent = True
        self._hook(bool(out) or ((self._eof or self._closing) and not self._fin_sent))

    def _hook(self, on: bool) -> None:
        hooks = self._c.rt.hooks
        if on and not self._hooked:
            hooks.append(self._push)
            self._hooked = True
        elif not on and self._hooked:
            with contextlib.suppress(ValueError):
                hooks.remove(self._push)
            self._hooked = False

    def _check(self) -> None:
        err = self._c.error()
        if err is not None:
            raise err
        st = self._c.conn.state
        if st not in _SENDING and st not in _OPENING and not self._fin_sent:
            raise oserror(32)  # EPIPE: the connection is gone

    def write(self, data: bytes) -> None:
        if self._eof:
            raise RuntimeError("Cannot call write() after write_eof()")
        if self._closing:
            return  # asyncio ignores writes to a closing transport
        if not data:
            return
        self._check()
        self._out += data
        self._push()

    def writelines(self, data: Any) -> None:
        for chunk in data:
            self.write(chunk)

    async def drain(self) -> None:
        """Wait until the buffered data has been handed to the connection."""
        rt = self._c.rt
        while self._out:
            self._check()
            self._push()
            if not self._out:
                break
            await rt.wait()
        self._check()

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        """Half-close: a FIN once the buffered data is sent (RFC 9293 §3.10.4); reading goes on."""
        if self._eof:
            return
        self._eof = True
        self._push()

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        """Send what is buffered, then FIN. Unread received data aborts with an RST
        instead, as closing a kernel socket does (RFC 9293 §3.6 SHLD-2)."""
        if self._closing:
            return
        self._closing = True
        c = self._c
        conn = c.conn
        if conn.readable or self._reader._buf:
            if conn.state is not State.CLOSED:
                self._out.clear()
                self._fin_sent = True
                c.call(conn.abort)
            self._hook(False)
            return
        self._push()

    def abort(self) -> None:
        """RST now (RFC 9293 §3.10.5 ABORT), like ``transport.abort()``."""
        self._closing = True
        self._out.clear()
        self._fin_sent = True
        self._hook(False)
        conn = self._c.conn
        if conn.state is not State.CLOSED:
            self._c.call(conn.abort)

    async def wait_closed(self) -> None:
        """Wait until the close has reached the connection (buffered data sent, FIN queued)."""
        c = self._c
        while not self._fin_sent and not c.stack.closed:
            if c.conn.state is State.CLOSED:
                break
            await c.rt.wait()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        conn = self._c.conn
        if name == "peername":
            return (conn.remote_addr, conn.remote_port)
        if name == "sockname":
            return (conn.local_addr, conn.local_port)
        if name == "connection":
            return conn
        if name == "stack":
            return self._c.stack
        return default

    @property
    def connection(self) -> Any:
        """The core :class:`~synack.tcp.connection.Connection` (for inspection)."""
        return self._c.conn

    def __repr__(self) -> str:
        conn = self._c.conn
        return f"<synack StreamWriter {conn.local_addr}:{conn.local_port} -> " \
               f"{conn.remote_addr}:{conn.remote_port} {conn.state.value}>"


def _pair(stack: Stack, conn: Any, limit: int) -> tuple[StreamReader, StreamWriter]:
    c = _Conn(stack, conn)
    r = StreamReader(c, limit)
    return r, StreamWriter(c, r)


def _address(stack: Stack, host: Any) -> str:
    """An IP address, or the name of a host of the stack's network (its first address)."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        other = stack.runtime.hosts.get(host) if isinstance(host, str) else None
        if other is None:
            raise _socket.gaierror(_socket.EAI_NONAME, "Name or service not known") from None
        return str(other.addrs[0])


# ------------------------------------------------------------------------ client
async def open_connection(host: str, port: int, *, stack: Stack, limit: int = _LIMIT,
                          timeout: float | None = None) -> tuple[StreamReader, StreamWriter]:
    """Active OPEN to ``(host, port)`` (an IP address); returns (reader, writer) once
    established. ConnectionRefusedError on a RST, TimeoutError after ``timeout`` s."""
    rt = stack.started()
    addr = _address(stack, host)
    if not 0 <= int(port) <= 65535:
        raise OverflowError("connect(): port must be 0-65535.")
    with rt.lock:
        conn = stack.host.connect(addr, int(port), rt.now)
        rt.flush(stack.host)
    if not await wait_for(rt, lambda: conn.state not in _OPENING, timeout):
        with rt.lock:
            conn.abort(rt.now)
            rt.flush(stack.host, conn)
        raise TimeoutError("timed out")
    if conn.state is State.CLOSED or conn.state is State.TIME_WAIT:
        err = conn.error
        raise oserror(errno_for(err, False) if err is not None else 103)
    return _pair(stack, conn, limit)


# ------------------------------------------------------------------------ server
class Server:
    """What ``start_server`` returns: like ``asyncio.Server``."""

    def __init__(self, stack: Stack, listeners: list, cb: Callable, limit: int) -> None:
        self._stack = stack
        self._listeners = listeners
        self._cb = cb
        self._limit = limit
        self._tasks: set = set()
        self._closed = asyncio.get_running_loop().create_future()
        stack.runtime.hooks.append(self._accept)

    @property
    def port(self) -> int:
        return self._listeners[0].port

    @property
    def sockets(self) -> list[tuple]:
        return [(lst.addr or "0.0.0.0", lst.port) for lst in self._listeners]

    def _accept(self) -> None:
        for lst in self._listeners:
            while lst.accept_queue:
                conn = lst.accept()
                if conn is None:
                    break
                r, w = _pair(self._stack, conn, self._limit)
                res = self._cb(r, w)
                if asyncio.iscoroutine(res):
                    t = asyncio.ensure_future(res)
                    self._tasks.add(t)
                    t.add_done_callback(self._tasks.discard)

    def is_serving(self) -> bool:
        return not self._closed.done()

    def close(self) -> None:
        """Stop listening; connections not accepted yet are reset (as Linux does)."""
        if self._closed.done():
            return
        rt = self._stack.runtime
        with rt.lock:
            for lst in self._listeners:
                lst.close(rt.now)
            with contextlib.suppress(ValueError):
                rt.hooks.remove(self._accept)
            rt.flush(self._stack.host)
        self._closed.set_result(None)

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed)

    async def serve_forever(self) -> None:
        await asyncio.shield(self._closed)

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()
        await self.wait_closed()


async def start_server(client_connected_cb: Callable[[StreamReader, StreamWriter], Awaitable | None],
                       host: str | None, port: int, *, stack: Stack, limit: int = _LIMIT,
                       backlog: int = 100) -> Server:
    """Passive OPEN on ``(host, port)``; ``host`` None or "" listens on every address of the
    stack. Each established connection runs ``client_connected_cb(reader, writer)``."""
    rt = stack.started()
    addr = None if host in (None, "", "0.0.0.0", "::") else _address(stack, host)
    if not 0 <= int(port) <= 65535:
        raise OverflowError("bind(): port must be 0-65535.")
    with rt.lock:
        lst = stack.host.listen(int(port), rt.now, addr=addr, backlog=backlog)
    return Server(stack, [lst], client_connected_cb, limit)
