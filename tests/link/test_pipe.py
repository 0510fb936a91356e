"""The Host over an application's packet pipe (synack.link.pipe): no device, no root.
Two stacks wired to each other in one process talk through synack's asyncio streams and
through the blocking socket on the real loop, with Python's exceptions."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import struct
import threading

import pytest

from synack.api import streams
from synack.api.realtime import Stack as RealStack
from synack.apps import echo
from synack.link.driver import real_host
from synack.link.pipe import PipeLink, pipe_pair
from synack.trace.events import Recorder


def two_stacks(**kw):
    a, b = pipe_pair()
    return (streams.Stack(real_host("10.7.0.1", name="a", **kw), a),
            streams.Stack(real_host("10.7.0.2", name="b"), b))


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_streams_echo_over_a_pipe_with_half_close():
    sa, sb = two_stacks()
    data = os.urandom(1 << 20)

    async def main() -> bytes:
        server = await streams.start_server(echo, None, 7, stack=sb)
        reader, writer = await streams.open_connection("10.7.0.2", 7, stack=sa, timeout=5)

        async def send() -> None:
            writer.write(data)
            await writer.drain()
            writer.write_eof()

        t = asyncio.ensure_future(send())
        back = await reader.read()
        await t
        writer.close()
        await writer.wait_closed()
        server.close()
        return back

    try:
        back = run(main())
    finally:
        sa.close()
        sb.close()
    assert hashlib.sha256(back).digest() == hashlib.sha256(data).digest()


def test_an_applications_lossy_pipe_still_delivers_everything():
    """The application's send function loses every 20th packet: real retransmission timers
    and duplicate ACKs repair it."""
    box: list = []
    n = [0]

    def lossy(pkt: bytes) -> None:
        n[0] += 1
        if n[0] % 20:
            box[0].deliver(pkt)

    b = PipeLink(lambda p: a.deliver(p))
    a = PipeLink(lossy)
    box.append(b)
    sa = streams.Stack(real_host("10.7.0.1"), a)
    sb = streams.Stack(real_host("10.7.0.2"), b)
    data = os.urandom(200_000)

    async def main() -> bytes:
        got = bytearray()
        done = asyncio.Event()

        async def sink(reader, writer):
            got.extend(await reader.read())
            writer.close()
            done.set()

        await streams.start_server(sink, None, 9, stack=sb)
        reader, writer = await streams.open_connection("10.7.0.2", 9, stack=sa, timeout=10)
        writer.write(data)
        writer.write_eof()
        await done.wait()
        return bytes(got)

    try:
        got = run(main())
    finally:
        sa.close()
        sb.close()
    assert got == data
    assert n[0] > 70  # the pipe really carried (and lost) packets


def test_refused_and_reset_over_a_pipe():
    sa, sb = two_stacks()

    async def main() -> None:
        await sb.start()  # made outside the loop, and nothing else would start it yet
        with pytest.raises(ConnectionRefusedError):
            await streams.open_connection("10.7.0.2", 1234, stack=sa, timeout=5)

        async def rude(reader, writer):
            await reader.read(1)
            writer.abort()

        await streams.start_server(rude, "10.7.0.2", 80, stack=sb)
        reader, writer = await streams.open_connection("10.7.0.2", 80, stack=sa, timeout=5)
        writer.write(b"x")
        with pytest.raises(ConnectionResetError):
            await reader.read(10)
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            writer.write(b"more")
            await writer.drain()

    try:
        run(main())
    finally:
        sa.close()
        sb.close()


def test_garbage_from_the_pipe_is_a_traced_drop():
    rec = Recorder()
    a, b = pipe_pair()
    sa = streams.Stack(real_host("10.7.0.1", recorder=rec), a)
    sb = streams.Stack(real_host("10.7.0.2"), b)

    async def main() -> None:
        await streams.start_server(echo, None, 7, stack=sb)
        reader, writer = await streams.open_connection("10.7.0.2", 7, stack=sa, timeout=5)
        a.deliver(b"\x45garbage")           # the application's pipe hands us junk
        a.deliver(b"")
        writer.write(b"still fine")
        writer.write_eof()
        assert await reader.read() == b"still fine"

    try:
        run(main())
    finally:
        sa.close()
        sb.close()
    drops = [e for e in rec.events if e.event == "drop"]
    assert len(drops) == 2 and all(e.seg is None for e in drops)


def test_pipe_link_refuses_a_send_that_is_not_a_function():
    with pytest.raises(TypeError, match="send must be a function"):
        PipeLink(b"not callable")  # type: ignore[arg-type]  # on purpose: the TypeError is the test


def test_blocking_sockets_on_the_real_loop_over_a_pipe():
    """synack.api.realtime: the socket class of the simulator, now in real time, with
    the stack answering in a thread of its own while the application blocks."""
    a, b = pipe_pair()
    client = RealStack(real_host("10.7.0.1"), a)
    server = RealStack(real_host("10.7.0.2"), b)
    try:
        with pytest.raises(ConnectionRefusedError):
            client.create_connection(("10.7.0.2", 81), timeout=5)
        srv = server.create_server(("", 80))
        srv.settimeout(5)
        results: dict = {}

        def serve() -> None:
            conn, addr = srv.accept()
            results["addr"] = addr
            conn.settimeout(5)
            data = bytearray()
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            conn.sendall(hashlib.sha256(data).digest())
            conn.close()

        t = threading.Thread(target=serve)
        t.start()
        s = client.create_connection(("10.7.0.2", 80), timeout=5)
        payload = os.urandom(500_000)
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        assert s.recv(100) == hashlib.sha256(payload).digest()
        assert s.recv(100) == b""
        t.join(10)
        assert results["addr"] == s.getsockname()
        s.close()
        # a timeout is real time now, and raises what Python's socket raises
        lone = server.create_server(("", 82))
        c = client.create_connection(("10.7.0.2", 82), timeout=5)
        c.settimeout(0.2)
        with pytest.raises(TimeoutError, match="timed out"):
            c.recv(10)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        lone.close()
    finally:
        client.close()
        server.close()

