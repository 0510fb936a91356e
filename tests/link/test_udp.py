"""synack's IP packets inside UDP datagrams (synack.link.udp), on 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket

import pytest

from synack.api import streams
from synack.apps import echo
from synack.link.driver import real_host
from synack.link.udp import UdpLink, parse_peer


def linked_pair():
    a = UdpLink(0, ("127.0.0.1", 9))   # the peer is fixed below, once both ports exist
    b = UdpLink(0, a.local)
    a.peer = b.local
    return a, b


def test_two_stacks_talk_through_udp_datagrams():
    a, b = linked_pair()
    data = os.urandom(1 << 20)
    stray = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    async def main() -> bytes:
        sa = streams.Stack(real_host("10.99.0.1"), a)
        sb = streams.Stack(real_host("10.99.0.2"), b)
        try:
            await streams.start_server(echo, None, 7, stack=sb)
            reader, writer = await streams.open_connection("10.99.0.2", 7, stack=sa, timeout=5)
            # a datagram from someone who is not the peer is ignored
            stray.sendto(b"\x45" + bytes(39), b.local)

            async def send() -> None:
                writer.write(data)
                await writer.drain()
                writer.write_eof()

            t = asyncio.ensure_future(send())
            back = await reader.read()
            await t
            writer.close()
            await writer.wait_closed()
            return back
        finally:
            sa.close()
            sb.close()

    try:
        back = asyncio.run(asyncio.wait_for(main(), 30))
    finally:
        stray.close()
    assert hashlib.sha256(back).digest() == hashlib.sha256(data).digest()
    assert b.rx_foreign == 1
    assert a.tx_packets > 700 and b.rx_packets > 700   # one IP packet per datagram


@pytest.mark.parametrize("text, err", [
    ("127.0.0.1", "--peer: '127.0.0.1' is not ADDRESS:PORT"),
    ("localhost:9", "--peer: 'localhost:9' is not ADDRESS:PORT"),
    ("127.0.0.1:0", "with a port 1-65535"),
])
def test_bad_peer_is_named(text, err):
    with pytest.raises(ValueError, match=err):
        parse_peer(text)


def test_peer_parses():
    assert parse_peer("127.0.0.1:9001") == ("127.0.0.1", 9001)
    assert parse_peer("[::1]:9001") == ("::1", 9001)
