"""An RST from the peer, with data the application has not read yet: Linux (the linux
profile) hands the data over, then reports ECONNRESET once, then end of stream; RFC 9293
§3.10.7.4 (the rfc profile) flushes it and reports the reset at once."""

from __future__ import annotations

import struct

import pytest
from api_helpers import connected_pair, make_net

from synack import api
from synack.tcp.config import TcpConfig


def reset_with_unread_data(profile: str):
    net = make_net(config=TcpConfig(profile=profile))
    cli, conn, _ = connected_pair(net)
    cli.sendall(b"last words")
    api.sleep(net, 0.1)
    cli.setsockopt(api.SOL_SOCKET, api.SO_LINGER, struct.pack("ii", 1, 0))
    cli.close()                                  # RST
    api.sleep(net, 0.1)
    return conn


def test_linux_reads_the_data_then_the_reset_then_end_of_stream():
    conn = reset_with_unread_data("linux")
    assert conn.recv(5) == b"last "
    assert conn.recv(100) == b"words"
    with pytest.raises(ConnectionResetError):
        conn.recv(100)
    assert conn.recv(100) == b""
    with pytest.raises(BrokenPipeError):
        conn.send(b"x")


def test_rfc_flushes_the_data_and_reports_the_reset():
    conn = reset_with_unread_data("rfc")
    with pytest.raises(ConnectionResetError):
        conn.recv(100)
    assert conn.recv(100) == b""
