"""HTTP/1.1 with h11 (``synack.apps.http``): the server answers Python's own http.client on a
persistent connection (Content-Length, chunked, HEAD, 404, 405, 400); the client reads
every framing and says what is wrong in one sentence; ``synack get`` over UDP on
127.0.0.1 fetches from ``synack listen --app http`` and reports failures in one line; the
progress bar appears only for long transfers on a terminal."""

from __future__ import annotations

import asyncio
import http.client
import importlib
import io
import subprocess
import sys
from pathlib import Path

import pytest

from synack.apps.http import HttpError, body_bytes, get, serve
from synack.apps.progress import Transfer, wanted

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
_net_cmd = importlib.import_module("test_net_cmd")   # the UDP helpers of the CLI tests
CLI, free_udp_ports, start_listen = _net_cmd.CLI, _net_cmd.free_udp_ports, _net_cmd.start_listen


def _with_server(client):
    """Run ``serve`` on 127.0.0.1 and ``client(port)`` (blocking) in a worker thread."""

    async def main():
        srv = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        try:
            return await asyncio.get_running_loop().run_in_executor(None, client, port)
        finally:
            srv.close()
            await srv.wait_closed()

    return asyncio.run(main())


def test_the_server_answers_python_on_one_persistent_connection():
    def client(port):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        out = []
        for method, path in [("GET", "/"), ("GET", "/bytes/100000"), ("GET", "/chunked/70000"),
                             ("HEAD", "/bytes/5"), ("GET", "/nope"), ("POST", "/")]:
            c.request(method, path, body=b"x" if method == "POST" else None)
            r = c.getresponse()
            out.append((method, path, r.status, r.getheader("Transfer-Encoding"), r.getheader("Content-Length"),
                        r.read()))
        sock = c.sock
        c.close()
        return out, sock is not None

    out, kept = _with_server(client)
    assert kept                                   # every request went over the same connection
    (_, _, s1, _, _, index), (_, _, s2, te2, cl2, b2), (_, _, s3, te3, cl3, b3), \
        (_, _, s4, _, cl4, b4), (_, _, s5, _, _, _), (_, _, s6, _, _, b6) = out
    assert s1 == 200 and b"Hello from synack" in index
    assert (s2, te2, cl2, b2) == (200, None, "100000", body_bytes(100_000))
    assert (s3, te3, cl3, b3) == (200, "chunked", None, body_bytes(70_000))
    assert (s4, cl4, b4) == (200, "5", b"")       # HEAD: the headers, no body
    assert s5 == 404 and s6 == 405 and b6 == b"only GET and HEAD\n"


def test_a_request_that_is_not_http_gets_400_and_the_connection_closes():
    def client(port):
        import socket

        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"garbage\r\n\r\n")
            return s.makefile("rb").read()

    reply = _with_server(client)
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n") and reply.endswith(b"bad request\n")


@pytest.mark.parametrize("path, size", [("/bytes/200000", 200_000), ("/chunked/123457", 123_457)])
def test_the_client_reads_content_length_and_chunked_bodies_with_progress(path, size):
    async def main():
        srv = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        r, w = await asyncio.open_connection("127.0.0.1", port)
        got, seen = bytearray(), []
        resp = await get(r, w, path, "x", sink=got.extend, progress=lambda n, total: seen.append((n, total)))
        w.close()
        srv.close()
        return resp, bytes(got), seen

    resp, body, seen = asyncio.run(main())
    assert resp.status == 200 and resp.reason == "OK" and body == body_bytes(size)
    assert seen[-1][0] == size and [n for n, _ in seen] == sorted(n for n, _ in seen)
    assert {t for _, t in seen} == ({size} if "bytes" in path else {None})


@pytest.mark.parametrize("reply, words", [
    (b"", "the server closed the connection without answering"),
    (b"SSH-2.0-OpenSSH\r\n\r\n", "not a valid HTTP/1.1 response"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "closed the connection in the middle of the response"),
])
def test_the_client_says_what_is_wrong_in_one_sentence(reply, words):
    async def main():
        async def fake(reader, writer):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(reply)
            await writer.drain()
            writer.close()

        srv = await asyncio.start_server(fake, "127.0.0.1", 0)
        r, w = await asyncio.open_connection("127.0.0.1", srv.sockets[0].getsockname()[1])
        try:
            with pytest.raises(HttpError) as e:
                await get(r, w, "/", "x")
            return str(e.value)
        finally:
            srv.close()

    message = asyncio.run(main())
    assert words in message and "\n" not in message


def test_synack_get_fetches_chunked_and_reports_http_errors_in_one_line(tmp_path):
    p1, p2 = free_udp_ports(2)
    proc, _ = start_listen(tmp_path, "80", "--app", "http", "--count", "2", "--quiet",
                           "--udp", str(p1), "--peer", f"127.0.0.1:{p2}")
    udp = ["--udp", str(p2), "--peer", f"127.0.0.1:{p1}", "--quiet"]
    try:
        r = subprocess.run(CLI + ["get", "http://10.99.0.2/chunked/150000", *udp], capture_output=True, timeout=30)
        assert r.returncode == 0, r.stderr
        assert r.stdout == body_bytes(150_000) and r.stderr == b""
        r = subprocess.run(CLI + ["get", "http://10.99.0.2/missing", *udp], capture_output=True, timeout=30)
        assert r.returncode == 1 and r.stderr.decode() == "synack: HTTP 404 Not Found\n"
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_synack_get_from_a_server_that_is_not_http_is_one_line(tmp_path):  # echo: the request comes back
    p1, p2 = free_udp_ports(2)
    proc, _ = start_listen(tmp_path, "80", "--app", "echo", "--count", "1", "--quiet",
                           "--udp", str(p1), "--peer", f"127.0.0.1:{p2}")
    try:
        r = subprocess.run(CLI + ["get", "http://10.99.0.2/", "--udp", str(p2), "--peer", f"127.0.0.1:{p1}",
                                  "--quiet"], capture_output=True, timeout=30)
        err = r.stderr.decode()
        assert r.returncode == 1 and err.startswith("synack: http://10.99.0.2/: not a valid HTTP/1.1 response")
        assert len(err.splitlines()) == 1
    finally:
        proc.kill()
        proc.wait()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_waits_two_seconds_and_only_on_a_terminal():
    assert wanted(False, _Tty()) and not wanted(True, _Tty()) and not wanted(False, io.StringIO())
    now = [0.0]
    from rich.console import Console

    screen = io.StringIO()
    bar = Transfer("GET /big", enabled=True, clock=lambda: now[0], console=Console(file=screen, force_terminal=True))
    bar.update(1000, 10_000_000)
    assert not bar.shown                      # a short transfer never shows a bar
    now[0] = 2.5
    bar.update(5_000_000, 10_000_000)
    assert bar.shown
    bar.print("a line of the live ladder")
    bar.close()
    assert "a line of the live ladder" in screen.getvalue() and "GET /big" in screen.getvalue()
    off = Transfer("GET /big", enabled=False, clock=lambda: 10.0)
    off.update(1, 2)
    assert not off.shown
