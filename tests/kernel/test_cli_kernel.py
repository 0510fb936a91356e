"""The `synack` command against the kernel's programs: curl fetching pages from
`synack listen 80 --app http` (offloads on and off, IPv4 and IPv6), `synack get` from
Python's http.server, `synack connect` used like nc, SIGINT and SIGTERM ending a run in
front of the kernel, and a run saved with --pcap/--jsonl/--html. Each run is captured on
the device and checked by tshark."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kernel_helpers import KERNEL_ADDR, SYNACK_ADDR, SYNACK_ADDR6, Capture, in_thread, recv_all, wait_until

from synack.apps import body_bytes


@pytest.fixture
def cli_bed(netns, tmp_path):
    """A TUN device made in advance (persistent, up) so the capture can start before
    synack attaches to it; synack's --tun NAME then opens that device."""
    dev = f"sk{secrets.token_hex(3)}"
    netns.run("ip", "tuntap", "add", "dev", dev, "mode", "tun")
    netns.run("ip", "link", "set", "dev", dev, "addrgenmode", "none")
    netns.run("ip", "link", "set", "dev", dev, "up")
    cap = Capture(netns, dev, str(tmp_path / "cli.pcap"))
    yield netns, dev, cap
    cap.stop()
    bad = cap.bad()
    assert not bad, "malformed packets in the capture:\n" + "\n".join(bad[:20])


def synack(ns, dev, err_path, *args) -> subprocess.Popen:
    """`synack ARGS --netns NS --tun DEV` in the background; stderr (the live ladder) goes
    to a file, so a long ladder never blocks it on a full pipe."""
    with open(err_path, "wb") as err:
        return subprocess.Popen([sys.executable, "-m", "synack.cli", *args, "--netns", ns.name, "--tun", dev],
                                stdout=subprocess.DEVNULL, stderr=err)


def ready(err_path) -> str:
    assert wait_until(lambda: b"listening on" in err_path.read_bytes(), 15), err_path.read_text()
    return err_path.read_text().splitlines()[0]


@pytest.mark.parametrize("offload, v6", [("on", False), ("off", False), ("on", True)],
                         ids=["offload", "no-offload", "ipv6"])
def test_curl_fetches_pages_from_synack_listen_http(cli_bed, tmp_path, offload, v6):
    ns, dev, cap = cli_bed
    err_path = tmp_path / "listen.err"
    addr = ("--addr", f"{SYNACK_ADDR6}/64") if v6 else ()
    proc = synack(ns, dev, err_path, "listen", "80", "--app", "http", "--count", "2", "--offload", offload, *addr)
    url = f"http://[{SYNACK_ADDR6}]" if v6 else f"http://{SYNACK_ADDR}"
    try:
        line = ready(err_path)
        assert (f"[{SYNACK_ADDR6}]:80" if v6 else f"{SYNACK_ADDR}:80") in line or f"{SYNACK_ADDR6}:80" in line
        assert ("offloads on (csum, tso4, tso6, tso-ecn, gso out)" if offload == "on" else "offloads off") in line
        page = ns.run("curl", "-gsS", "-m", "10", f"{url}/")
        assert "Hello from synack" in page.stdout
        big = subprocess.run(["ip", "netns", "exec", ns.name, "curl", "-gsS", "-m", "20",
                              f"{url}/bytes/2000000"], capture_output=True, timeout=30)
        assert big.returncode == 0, big.stderr
        assert hashlib.sha256(big.stdout).digest() == hashlib.sha256(body_bytes(2_000_000)).digest()
        proc.wait(15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    ladder = err_path.read_text()
    # the live ladder showed both connections open and close
    assert ladder.count("LISTEN -> SYN-RECEIVED") == 2
    assert "Flags [S.]" in ladder and ("<- fd00:99::1:" if v6 else "<- 10.99.0.1:") in ladder
    assert cap.count("http.request.method == \"GET\"", 2) == 2


def test_synack_get_from_kernel_http_server(cli_bed, tmp_path):
    ns, dev, cap = cli_bed
    www = tmp_path / "www"
    www.mkdir()
    data = os.urandom(1_500_000)
    (www / "file.bin").write_bytes(data)
    server = ns.popen(sys.executable, "-m", "http.server", "--bind", "0.0.0.0", "8000",
                      "--directory", str(www), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def up() -> bool:
            s = ns.socket()
            try:
                return s.connect_ex(("127.0.0.1", 8000)) == 0
            finally:
                s.close()

        assert wait_until(up, 10)
        out = tmp_path / "got.bin"
        r = subprocess.run([sys.executable, "-m", "synack.cli", "get", f"http://{KERNEL_ADDR}:8000/file.bin",
                            "-o", str(out), "--netns", ns.name, "--tun", dev, "--quiet"],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(data).digest()
        missing = subprocess.run([sys.executable, "-m", "synack.cli", "get", f"http://{KERNEL_ADDR}:8000/nope",
                                  "--netns", ns.name, "--tun", dev, "--quiet"], capture_output=True, timeout=60)
        assert missing.returncode == 1
        assert missing.stderr.decode().strip() == "synack: HTTP 404 File not found"
    finally:
        server.kill()
        server.wait()


def test_synack_connect_works_like_nc(cli_bed):
    """stdin goes to the connection, the connection to stdout; EOF on stdin sends a FIN
    (half-close) and the reply still arrives."""
    ns, dev, cap = cli_bed
    srv = ns.socket()
    srv.bind(("0.0.0.0", 7007))
    srv.listen()
    srv.settimeout(20)

    def kernel_side() -> bytes:
        c, _ = srv.accept()
        c.settimeout(20)
        got = bytearray()
        while True:
            b = c.recv(65536)
            if not b:
                break  # synack's FIN: stdin ended
            got += b
        c.sendall(b"reply after your FIN: " + hashlib.sha256(got).hexdigest().encode())
        c.close()
        return bytes(got)

    fut = in_thread(kernel_side)
    data = os.urandom(300_000)
    r = subprocess.run([sys.executable, "-m", "synack.cli", "connect", KERNEL_ADDR, "7007",
                        "--netns", ns.name, "--tun", dev], input=data, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert fut.result(10) == data
    assert r.stdout == b"reply after your FIN: " + hashlib.sha256(data).hexdigest().encode()
    assert "ESTABLISHED -> FIN-WAIT-1" in r.stderr.decode()   # our FIN went first
    srv.close()


def test_connect_to_closed_port_is_one_line(cli_bed):
    ns, dev, cap = cli_bed
    r = subprocess.run([sys.executable, "-m", "synack.cli", "connect", KERNEL_ADDR, "9", "--quiet",
                        "--netns", ns.name, "--tun", dev], input=b"", capture_output=True, timeout=30)
    assert r.returncode == 1
    assert r.stderr.decode() == f"synack: connect to {KERNEL_ADDR}:9: Connection refused\n"


def test_listen_in_a_missing_namespace_is_one_line():
    from kernel_helpers import skip_or_fail_without_kernel

    skip_or_fail_without_kernel()
    name = f"synack-test-absent-{secrets.token_hex(3)}"
    r = subprocess.run([sys.executable, "-m", "synack.cli", "listen", "80", "--netns", name],
                       capture_output=True, timeout=30)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert err.count("\n") == 1 and f"ip netns add {name}" in err


# ------------------------------------------------------------------------ signals
def listening(ns, dev, tmp_path, *args) -> tuple[subprocess.Popen, Path]:
    err_path = tmp_path / "listen.err"
    proc = synack(ns, dev, err_path, "listen", *args)
    ready(err_path)
    return proc, err_path


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_resets_open_connections_in_front_of_the_kernel(cli_bed, tmp_path, sig, code):
    ns, dev, cap = cli_bed
    proc, err_path = listening(ns, dev, tmp_path, "7", "--app", "echo")
    try:
        k = ns.socket()
        k.settimeout(10)
        k.connect((SYNACK_ADDR, 7))
        k.sendall(b"hello")
        assert k.recv(5) == b"hello"
        t0 = time.monotonic()
        proc.send_signal(sig)
        with pytest.raises(ConnectionResetError):
            k.recv(10)             # the kernel's reader sees the RST at once, not at a timeout
        assert time.monotonic() - t0 < 3
        assert proc.wait(10) == code
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    last = err_path.read_text().splitlines()[-1]
    assert last == f"synack: {sig.name}: reset 1 open connection, 0 closing connections finished their FIN exchange"
    assert cap.count(f"ip.src == {SYNACK_ADDR} && tcp.flags.reset == 1", 1) == 1


def test_a_signal_lets_a_fin_in_flight_finish_within_the_grace_period(cli_bed, tmp_path):
    """`synack connect` has sent what stdin held and queued its FIN, but the kernel's
    server reads nothing yet, so data and FIN wait for its window (FIN-WAIT-1). SIGTERM
    then: the server starts reading, and gets everything and the end of the stream."""
    ns, dev, cap = cli_bed
    srv = ns.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # a small window: synack must wait
    srv.bind(("0.0.0.0", 7008))
    srv.listen()
    srv.settimeout(20)
    data = os.urandom(150_000)
    err_path = tmp_path / "connect.err"
    with open(err_path, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "synack.cli", "connect", KERNEL_ADDR, "7008", "--netns",
                                 ns.name, "--tun", dev], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
    try:
        c, _ = srv.accept()
        c.settimeout(20)
        proc.stdin.write(data)                                   # type: ignore[union-attr]
        proc.stdin.close()                                       # type: ignore[union-attr]
        assert wait_until(lambda: b"ESTABLISHED -> FIN-WAIT-1" in err_path.read_bytes(), 15)
        proc.send_signal(signal.SIGTERM)
        got = recv_all(c)                                        # all of it, then EOF: a FIN, not an RST
        assert got == data
        assert proc.wait(10) == 143
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        srv.close()
    last = err_path.read_text().splitlines()[-1]
    assert last == "synack: SIGTERM: reset 0 open connections, 1 closing connection finished its FIN exchange"
    assert cap.count(f"ip.src == {SYNACK_ADDR} && tcp.flags.reset == 1", 0, timeout=0.5) == 0


# ------------------------------------------------------------------------ captures
def test_a_run_with_offloads_saves_a_clean_wire_sized_capture_and_the_trace(cli_bed, tmp_path):
    ns, dev, cap = cli_bed
    pcap, jsonl, html = tmp_path / "run.pcapng", tmp_path / "run.jsonl", tmp_path / "run.html"
    proc, err_path = listening(ns, dev, tmp_path, "7", "--app", "echo", "--count", "1", "--quiet",
                               "--pcap", str(pcap), "--jsonl", str(jsonl), "--html", str(html))
    data = os.urandom(400_000)
    try:
        k = ns.socket()
        k.settimeout(20)
        k.connect((SYNACK_ADDR, 7))
        sender = in_thread(lambda: (k.sendall(data), k.shutdown(socket.SHUT_WR)))
        assert recv_all(k) == data
        sender.result(20)
        k.close()
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "saved" in err_path.read_text().splitlines()[-1]
    saved = Capture.__new__(Capture)                      # tshark's view of synack's own file
    saved.path = str(pcap)
    assert saved.bad() == []
    sizes = [int(x) for x in saved.packets("", ("frame.len",))]
    assert sizes and max(sizes) <= 1500                   # wire-sized, although TSO was at work
    comments = saved.packets("frame.comment", ("frame.comment",))
    assert any("tso: wire segment" in c for c in comments)       # the kernel's super-segments, cut
    # synack's own: super-segments (TSO) the kernel cut, or runs of segments merged on write
    assert any("synack wrote these" in c or "gso: segment" in c for c in comments)
    covered: set[int] = set()                            # every octet the kernel sent, once (a busy
    for row in saved.packets(f"ip.src == {KERNEL_ADDR} && tcp.len > 0", ("tcp.seq", "tcp.len")):
        seq, length = (int(x) for x in row.split("\t"))  # machine may add a retransmission)
        covered.update(range(seq, seq + length))
    assert covered == set(range(1, len(data) + 1))       # relative sequence numbers: 1 .. 400,000
    hosts = {json.loads(line)["host"] for line in jsonl.read_text().splitlines()}
    assert hosts == {"synack", "kernel"}
    assert "<svg" in html.read_text()
