"""SO_SNDBUF: Linux's values (doubled, at least 4608, 16384 before the connection opens and
46080 after at an MSS of 1460) and the bound it puts on what a send may leave queued."""

from __future__ import annotations

import pytest
from api_helpers import connected_pair

from synack import api


def test_so_sndbuf_reads_as_linux_reports_it(net):
    s = api.socket(net, "client")
    assert s.getsockopt(api.SOL_SOCKET, api.SO_SNDBUF) == 16384
    cli, conn, _ = connected_pair(net)
    assert cli.getsockopt(api.SOL_SOCKET, api.SO_SNDBUF) == 46080
    assert conn.getsockopt(api.SOL_SOCKET, api.SO_SNDBUF) == 46080
    for asked, got in ((4096, 8192), (1, 4608), (10**9, 2 * 212992)):
        cli.setsockopt(api.SOL_SOCKET, api.SO_SNDBUF, asked)
        assert cli.getsockopt(api.SOL_SOCKET, api.SO_SNDBUF) == got


def test_without_so_sndbuf_send_takes_what_the_default_buffer_holds(pair):
    cli, _conn, _ = pair
    cli.setblocking(False)
    assert cli.send(b"x" * 100_000) == 100_000          # 256 KiB by default


def test_so_sndbuf_on_an_open_connection_limits_the_next_send(net):
    cli, conn, _ = connected_pair(net)
    cli.setsockopt(api.SOL_SOCKET, api.SO_SNDBUF, 4096)   # 8192 reported, 4096 octets held
    cli.setblocking(False)
    assert cli.send(b"x" * 100_000) == 4096
    with pytest.raises(BlockingIOError):
        cli.send(b"y")
    cli.setblocking(True)
    cli.sendall(b"z" * 20_000)                             # waits for ACKs to make room
    got = b""
    while len(got) < 24_096:
        got += conn.recv(65536)
    assert got == b"x" * 4096 + b"z" * 20_000


def test_so_sndbuf_set_before_connect_is_kept(net):
    srv = api.create_server(net, "server", ("", 81))
    cli = api.socket(net, "client")
    cli.setsockopt(api.SOL_SOCKET, api.SO_SNDBUF, 3000)
    cli.connect(("10.0.0.2", 81))
    srv.accept()
    assert cli.getsockopt(api.SOL_SOCKET, api.SO_SNDBUF) == 6000
    cli.setblocking(False)
    assert cli.send(b"x" * 10_000) == 3000
