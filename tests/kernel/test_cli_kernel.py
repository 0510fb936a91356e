"""The `synack` command against the kernel's programs: curl fetching pages from
`synack listen 80 --app http`, `synack get` from Python's http.server, and
`synack connect` used like nc. Each run is captured on the device and checked by tshark."""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import sys

import pytest
from kernel_helpers import KERNEL_ADDR, SYNACK_ADDR, Capture, in_thread, wait_until

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
    return subprocess.Popen([sys.executable, "-m", "synack.cli", *args, "--netns", ns.name, "--tun", dev],
                            stdout=subprocess.DEVNULL, stderr=open(err_path, "wb"))


def ready(err_path) -> str:
    assert wait_until(lambda: b"listening on" in err_path.read_bytes(), 15), err_path.read_text()
    return err_path.read_text().splitlines()[0]


def test_curl_fetches_pages_from_synack_listen_http(cli_bed, tmp_path):
    ns, dev, cap = cli_bed
    err_path = tmp_path / "listen.err"
    proc = synack(ns, dev, err_path, "listen", "80", "--app", "http", "--count", "2")
    try:
        assert f"{SYNACK_ADDR}:80" in ready(err_path)
        page = ns.run("curl", "-sS", "-m", "10", f"http://{SYNACK_ADDR}/")
        assert "Hello from synack" in page.stdout
        big = subprocess.run(["ip", "netns", "exec", ns.name, "curl", "-sS", "-m", "20",
                              f"http://{SYNACK_ADDR}/bytes/2000000"], capture_output=True, timeout=30)
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
    assert "Flags [S.]" in ladder and "<- 10.99.0.1:" in ladder
    assert cap.count(f"ip.src == {KERNEL_ADDR} && http.request.method == \"GET\"", 2) == 2


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
