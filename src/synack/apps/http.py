"""HTTP/1.1 (RFC 9112) for ``synack listen --app http`` and ``synack get``, spoken by h11.

h11 is a sans-IO HTTP/1.1 state machine, as synack's TCP core is: these functions feed it
the octets a stream reader gives and write the octets it produces, on any reader/writer
pair with asyncio's interface (synack's streams, or asyncio's own).

The server (:func:`serve`) keeps a connection open for as many requests as the client
sends (persistent connections, RFC 9112 §9.3) and answers:

- ``GET /`` (or ``/index.html``): a small page;
- ``GET /bytes/N``: N octets (:func:`body_bytes`), with Content-Length;
- ``GET /chunked/N``: the same N octets in chunked transfer coding (RFC 9112 §7.1);
- ``HEAD`` of any of these: the same headers, no body;
- anything else: 404, 405 for another method, 400 for a request that is not HTTP.

The client (:func:`get`) sends one request, reads the response whatever its framing
(Content-Length, chunked, or until the server closes), and reports progress; problems are
:class:`HttpError`, one sentence a person can read.
"""

from __future__ import annotations

import hashlib
from http import HTTPStatus
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import h11
import contextlib

__all__ = ["serve", "get", "HttpError", "Response", "body_bytes", "INDEX", "MAX_BYTES"]

INDEX = (b"<!doctype html>\n<html><head><title>synack</title></head>\n"
         b"<body><h1>Hello from synack</h1>\n"
         b"<p>This page travelled over TCP as RFC 9293 defines it, written in Python.</p>\n"
         b"</body></html>\n")
#: the largest /bytes/N or /chunked/N served
MAX_BYTES = 200_000_000
_CHUNK = 16384
_READ = 65536


def body_bytes(n: int, start: int = 0) -> bytes:
    """Octets ``start`` to ``n`` of the deterministic body of ``/bytes/N``: SHA-256 counter
    blocks (2 KiB each), so a client can check what it got."""
    out = bytearray()
    block = 32 * 64
    i = start // block
    skip = start - i * block
    while len(out) < n - start + skip:
        out += hashlib.sha256(i.to_bytes(8, "big")).digest() * 64
        i += 1
    return bytes(out[skip:skip + n - start])


class HttpError(Exception):
    """An HTTP exchange failed: the message is one sentence for people."""


# ------------------------------------------------------------------------ the server

def _route(method: bytes, target: bytes) -> tuple[int, list, Any]:
    """(status, headers, body) for a request; ``body`` is bytes or an int (that many octets
    of :func:`body_bytes`, chunked when the headers carry no Content-Length)."""
    path = target.split(b"?", 1)[0]
    if method not in (b"GET", b"HEAD"):
        return 405, [("Allow", "GET, HEAD"), ("Content-Type", "text/plain; charset=utf-8")], b"only GET and HEAD\n"
    if path in (b"/", b"/index.html"):
        return 200, [("Content-Type", "text/html; charset=utf-8")], INDEX
    for prefix, chunked in ((b"/bytes/", False), (b"/chunked/", True)):
        rest = path[len(prefix):]
        if path.startswith(prefix) and rest.isdigit() and int(rest) <= MAX_BYTES:
            headers = [("Content-Type", "application/octet-stream")]
            if chunked:
                headers.append(("Transfer-Encoding", "chunked"))
            return 200, headers, int(rest)
    return 404, [("Content-Type", "text/plain; charset=utf-8")], b"not found\n"


async def serve(reader: Any, writer: Any) -> None:
    """Serve HTTP/1.1 requests on one connection until the client is done (it closes, or
    says ``Connection: close``, or the exchange breaks), then close it."""
    conn = h11.Connection(h11.SERVER)

    async def send(*events: Any) -> None:
        for ev in events:
            data = conn.send(ev)
            if data:
                writer.write(data)
        await writer.drain()

    async def next_event() -> Any:
        while True:
            ev = conn.next_event()
            if ev is not h11.NEED_DATA:
                return ev
            conn.receive_data(await reader.read(_READ))   # b"" at the end: ConnectionClosed next

    try:
        while True:
            ev = await next_event()
            if isinstance(ev, h11.ConnectionClosed) or ev is h11.PAUSED:
                break
            if isinstance(ev, h11.Request):
                await _respond(send, ev)
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                break
            if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                conn.start_next_cycle()   # a persistent connection: the next request
    except h11.RemoteProtocolError as e:
        if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            with contextlib.suppress(ConnectionError, OSError, h11.LocalProtocolError):
                await send(h11.Response(status_code=e.error_status_hint, reason=HTTPStatus(e.error_status_hint).phrase,
                                        headers=[
                    ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "12"), ("Connection", "close")]),
                    h11.Data(data=b"bad request\n"), h11.EndOfMessage())
    except (ConnectionError, OSError):
        return
    try:
        writer.close()
        await writer.wait_closed()
    except (ConnectionError, OSError):
        pass


async def _respond(send: Callable[..., Awaitable[None]], req: Any) -> None:
    status, headers, body = _route(req.method, req.target)
    chunked = any(k == "Transfer-Encoding" for k, _ in headers)
    size = body if isinstance(body, int) else len(body)
    if not chunked:
        headers.append(("Content-Length", str(size)))
    headers.append(("Server", "synack"))
    await send(h11.Response(status_code=status, headers=headers, reason=HTTPStatus(status).phrase))
    if req.method != b"HEAD":
        if isinstance(body, bytes):
            await send(h11.Data(data=body))
        else:
            step = _CHUNK if chunked else 4 * _CHUNK
            for off in range(0, size, step):
                await send(h11.Data(data=body_bytes(min(size, off + step), off)))
    await send(h11.EndOfMessage())


# ------------------------------------------------------------------------ the client

@dataclass
class Response:
    """What :func:`get` got: the status line, the headers (lower-case names) and how many
    body octets arrived."""

    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)
    received: int = 0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400


async def get(reader: Any, writer: Any, target: str, host: str, *, method: str = "GET",
              sink: Callable[[bytes], Any] | None = None,
              progress: Callable[[int, int | None], Awaitable[None] | None] | None = None,
              agent: str = "synack", keep_alive: bool = False) -> Response:
    """Send ``method target`` (GET or HEAD) with ``Host: host`` and read the response.

    Body octets go to ``sink`` as they arrive; ``progress(received, total)`` is called
    after each piece (``total`` from Content-Length, None when unknown: chunked or
    close-delimited). ``keep_alive``: leave the connection open for another request
    (otherwise ``Connection: close``). :class:`HttpError` on anything that is not a
    complete HTTP/1.1 response, with a sentence saying what."""
    conn = h11.Connection(h11.CLIENT)
    headers = [("Host", host), ("User-Agent", agent), ("Accept", "*/*")]
    if not keep_alive:
        headers.append(("Connection", "close"))
    try:
        writer.write(conn.send(h11.Request(method=method, target=target, headers=headers))
                     + (conn.send(h11.EndOfMessage()) or b""))
        await writer.drain()
    except h11.LocalProtocolError as e:
        raise HttpError(f"cannot send the request: {e}") from None
    resp: Response | None = None
    total: int | None = None
    try:
        while True:
            ev = conn.next_event()
            if ev is h11.NEED_DATA:
                data = await reader.read(_READ)
                if not data and resp is None:
                    raise HttpError("the server closed the connection without answering")
                conn.receive_data(data)
                continue
            if isinstance(ev, h11.InformationalResponse):
                continue
            if isinstance(ev, h11.Response):
                hdrs = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in ev.headers}
                resp = Response(ev.status_code, ev.reason.decode("latin-1", "replace"), hdrs)
                if method != "HEAD" and "content-length" in hdrs and hdrs["content-length"].isdigit():
                    total = int(hdrs["content-length"])
            elif isinstance(ev, h11.Data):
                assert resp is not None
                resp.received += len(ev.data)
                if sink is not None:
                    sink(bytes(ev.data))
                if progress is not None:
                    r = progress(resp.received, total)
                    if r is not None:
                        await r
            elif isinstance(ev, h11.EndOfMessage):
                assert resp is not None
                return resp
            elif isinstance(ev, h11.ConnectionClosed):
                raise HttpError("the server closed the connection in the middle of the response")
    except h11.RemoteProtocolError as e:
        if resp is not None and "complete message body" in str(e):
            of = f" of {total}" if total is not None else ""
            raise HttpError(f"the server closed the connection in the middle of the response, after "
                            f"{resp.received}{of} body octets") from None
        got = f" after {resp.received} body octets" if resp is not None else ""
        raise HttpError(f"not a valid HTTP/1.1 response{got}: {e}") from None
