"""synack's asyncio streams (synack.api.streams) against Linux's TCP over a TUN device."""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import socket
import struct

import pytest
from kernel_helpers import KERNEL_ADDR, PREFIX, SYNACK_ADDR, Capture, in_thread, recv_all

from synack.api import streams
from synack.apps import echo


@pytest.fixture
def sbed(netns, tmp_path):
    dev = f"sk{secrets.token_hex(3)}"
    stack = streams.Stack.tun(PREFIX, name=dev, netns=netns.name)
    cap = Capture(netns, dev, str(tmp_path / "streams.pcap"))
    try:
        yield netns, stack
    finally:
        stack.close()
        cap.stop()
    bad = cap.bad()
    assert not bad, "malformed packets in the capture:\n" + "\n".join(bad[:20])


def kernel_listener(ns, port: int) -> socket.socket:
    s = ns.socket()
    s.bind((KERNEL_ADDR, port))
    s.listen()
    s.settimeout(10)
    return s


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_open_connection_echo_and_write_eof(sbed):
    ns, stack = sbed
    srv = kernel_listener(ns, 7100)

    def kernel_echo() -> None:
        c, _ = srv.accept()
        c.settimeout(10)
        while True:
            b = c.recv(65536)
            if not b:
                break
            c.sendall(b)
        c.close()

    fut = in_thread(kernel_echo)
    data = os.urandom(1 << 20)

    async def main() -> bytes:
        reader, writer = await streams.open_connection(KERNEL_ADDR, 7100, stack=stack, timeout=5)
        assert writer.get_extra_info("peername") == (KERNEL_ADDR, 7100)
        assert writer.get_extra_info("sockname")[0] == SYNACK_ADDR

        async def send() -> None:
            writer.write(data)
            await writer.drain()
            writer.write_eof()     # half-close: the echo keeps coming

        t = asyncio.ensure_future(send())
        back = await reader.read()  # to EOF
        await t
        assert reader.at_eof()
        writer.close()
        await writer.wait_closed()
        return back

    back = run(main())
    fut.result(10)
    assert hashlib.sha256(back).digest() == hashlib.sha256(data).digest()


def test_start_server_with_kernel_client(sbed):
    ns, stack = sbed
    data = os.urandom(1 << 20)

    def kernel_client() -> bytes:
        k = ns.socket()
        k.settimeout(10)
        k.connect((SYNACK_ADDR, 7200))
        sender = in_thread(lambda: (k.sendall(data), k.shutdown(socket.SHUT_WR)))
        back = recv_all(k)
        sender.result(10)
        k.close()
        return back

    async def main() -> bytes:
        server = await streams.start_server(echo, None, 7200, stack=stack)
        async with server:
            back = await asyncio.get_running_loop().run_in_executor(None, kernel_client)
        return back

    back = run(main())
    assert hashlib.sha256(back).digest() == hashlib.sha256(data).digest()


def test_readline_readexactly_and_incomplete_read(sbed):
    ns, stack = sbed
    srv = kernel_listener(ns, 7300)

    def kernel_side() -> None:
        c, _ = srv.accept()
        c.sendall(b"first line\nsecond line\n0123456789tail")
        c.close()

    fut = in_thread(kernel_side)

    async def main() -> None:
        reader, writer = await streams.open_connection(KERNEL_ADDR, 7300, stack=stack, timeout=5)
        assert await reader.readline() == b"first line\n"
        assert [line async for line in _two(reader)] == [b"second line\n"]
        assert await reader.readexactly(10) == b"0123456789"
        with pytest.raises(asyncio.IncompleteReadError) as e:
            await reader.readexactly(10)
        assert e.value.partial == b"tail"
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()

    run(main())
    fut.result(10)


async def _two(reader):
    yield await reader.readline()


def test_refused_and_reset_are_pythons_errors(sbed):
    ns, stack = sbed
    srv = kernel_listener(ns, 7400)

    def kernel_abort() -> None:
        c, _ = srv.accept()
        c.recv(10)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()

    fut = in_thread(kernel_abort)

    async def main() -> None:
        with pytest.raises(ConnectionRefusedError):
            await streams.open_connection(KERNEL_ADDR, 7401, stack=stack, timeout=5)
        reader, writer = await streams.open_connection(KERNEL_ADDR, 7400, stack=stack, timeout=5)
        writer.write(b"hello")
        await writer.drain()
        with pytest.raises(ConnectionResetError):
            await reader.read(100)
        assert await reader.read(100) == b""  # reported once, then end of stream

    run(main())
    fut.result(10)
