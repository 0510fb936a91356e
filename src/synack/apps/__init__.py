"""Small servers for ``synack listen --app NAME``, written on synack's asyncio streams
(any reader/writer pair with the asyncio interface works): echo (RFC 862), discard
(RFC 863), chargen (RFC 864) and an HTTP/1.1 server (RFC 9112, ``apps/http.py``, with h11)."""

from __future__ import annotations

import asyncio
from typing import Any
from collections.abc import Callable

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
from .http import body_bytes, serve  # noqa: E402  (h11: RFC 9112 with keep-alive, HEAD, chunked)

app("http")(serve)

__all__ = ["APPS", "app", "echo", "discard", "chargen", "chargen_lines", "body_bytes", "serve"]
