"""Small servers for ``synack listen --app NAME``, written on synack's asyncio streams
(any reader/writer pair with the asyncio interface works): echo (RFC 862), discard
(RFC 863), chargen (RFC 864) and a minimal HTTP/1.1 server (RFC 9112)."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any, Callable

APPS: dict[str, Callable] = {}


def app(name: str) -> Callable:
    def register(fn: Callable) -> Callable:
        APPS[name] = fn
        return fn

    return register


@app("echo")
async def echo(reader: Any, writer: Any) -> None:
    """RFC 862: send back everything received; close after the peer's FIN."""
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        writer.abort() if hasattr(writer, "abort") else writer.close()
        return
    writer.close()
    await writer.wait_closed()


@app("discard")
async def discard(reader: Any, writer: Any) -> None:
    """RFC 863: read and throw away everything; close after the peer's FIN."""
    try:
        while await reader.read(65536):
            pass
    except (ConnectionError, OSError):
        return
    writer.close()
    await writer.wait_closed()


def chargen_lines(n: int) -> bytes:
    """``n`` lines of RFC 864's rotating pattern of the 95 printable ASCII characters."""
    chars = bytes(range(32, 127))
    out = bytearray()
    for i in range(n):
        start = i % 95
        out += (chars[start:] + chars[:start])[:72] + b"\r\n"
    return bytes(out)


_CHARGEN = chargen_lines(95)  # one full rotation


@app("chargen")
async def chargen(reader: Any, writer: Any) -> None:
    """RFC 864: send the character pattern until the peer closes or resets."""
    eof = asyncio.ensure_future(reader.read())  # anything the peer sends is discarded
    try:
        while not eof.done():
            writer.write(_CHARGEN)
            await writer.drain()
            await asyncio.sleep(0)
    except (ConnectionError, OSError):
        pass
    finally:
        eof.cancel()
    writer.close()


# ------------------------------------------------------------------------ HTTP
def body_bytes(n: int) -> bytes:
    """The deterministic body of ``GET /bytes/N``: SHA-256 counter blocks, cut to ``n``."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(i.to_bytes(8, "big")).digest() * 64
        i += 1
    return bytes(out[:n])


INDEX = (b"<!doctype html>\n<html><head><title>synack</title></head>\n"
         b"<body><h1>Hello from synack</h1>\n"
         b"<p>This page travelled over TCP as RFC 9293 defines it, written in Python.</p>\n"
         b"</body></html>\n")
MAX_BYTES = 200_000_000


def _response(status: str, body: bytes, ctype: str = "text/plain; charset=utf-8", head: bool = False) -> bytes:
    hdr = (f"HTTP/1.1 {status}\r\nServer: synack\r\nContent-Type: {ctype}\r\n"
           f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    return hdr if head else hdr + body


@app("http")
async def http(reader: Any, writer: Any) -> None:
    """A minimal HTTP/1.1 server: ``GET /`` is a small page, ``GET /bytes/N`` N octets
    (see :func:`body_bytes`); one request per connection (``Connection: close``)."""
    try:
        request = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        writer.write(_response("400 Bad Request", b"bad request\n"))
        writer.close()
        return
    except (ConnectionError, OSError):
        return
    line = request.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        resp = _response("400 Bad Request", b"bad request\n")
    elif parts[0] not in ("GET", "HEAD"):
        resp = _response("405 Method Not Allowed", b"only GET and HEAD\n")
    else:
        head = parts[0] == "HEAD"
        path = parts[1]
        if path in ("/", "/index.html"):
            resp = _response("200 OK", INDEX, "text/html; charset=utf-8", head)
        elif path.startswith("/bytes/") and path[7:].isdigit() and int(path[7:]) <= MAX_BYTES:
            resp = _response("200 OK", body_bytes(int(path[7:])), "application/octet-stream", head)
        else:
            resp = _response("404 Not Found", b"not found\n", head=head)
    try:
        writer.write(resp)
        await writer.drain()
        writer.close()
        await writer.wait_closed()
    except (ConnectionError, OSError):
        pass
