"""`synack listen`, `synack connect` and `synack get` without root: over UDP on 127.0.0.1,
the one-line error without root, and arguments that are named when they are wrong."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synack.apps import body_bytes
from synack.cli import main

CLI = [sys.executable, "-m", "synack.cli"]


def free_udp_ports(n: int) -> list[int]:
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def start_listen(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    err = tmp_path / "listen.err"
    with open(err, "wb") as stderr:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(CLI + ["listen", *args], stdout=subprocess.DEVNULL, stderr=stderr)
    end = time.monotonic() + 15
    while b"listening on" not in err.read_bytes():
        assert proc.poll() is None, err.read_text()
        assert time.monotonic() < end, "synack listen did not start"
        time.sleep(0.02)
    return proc, err


def test_listen_and_connect_over_udp_without_root(tmp_path):
    p1, p2 = free_udp_ports(2)
    proc, err = start_listen(tmp_path, "7", "--app", "echo", "--count", "1",
                             "--udp", str(p1), "--peer", f"127.0.0.1:{p2}")
    data = os.urandom(100_000)
    try:
        r = subprocess.run(CLI + ["connect", "10.99.0.2", "7", "--udp", str(p2), "--peer", f"127.0.0.1:{p1}"],
                           input=data, capture_output=True, timeout=30)
        assert r.returncode == 0, r.stderr
        assert r.stdout == data                              # echoed back, then EOF
        ladder = r.stderr.decode()
        assert "CLOSED -> SYN-SENT" in ladder and "ESTABLISHED -> FIN-WAIT-1" in ladder
        assert proc.wait(15) == 0                            # --count 1: served, exits
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    listen_ladder = err.read_text()
    assert "10.99.0.2:7 <- 10.99.0.1:" in listen_ladder and "LISTEN -> SYN-RECEIVED" in listen_ladder


def test_get_over_udp_from_synack_listen_http(tmp_path):
    p1, p2 = free_udp_ports(2)
    proc, _ = start_listen(tmp_path, "80", "--app", "http", "--count", "1", "--quiet",
                           "--udp", str(p1), "--peer", f"127.0.0.1:{p2}")
    out = tmp_path / "body"
    try:
        r = subprocess.run(CLI + ["get", "http://10.99.0.2/bytes/300000", "-o", str(out), "--quiet",
                                  "--udp", str(p2), "--peer", f"127.0.0.1:{p1}"], capture_output=True, timeout=30)
        assert r.returncode == 0, r.stderr
        assert r.stderr == b""
        assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(body_bytes(300_000)).digest()
    finally:
        proc.wait(15)


def test_without_root_one_line_points_to_demo():
    cmd = CLI + ["listen", "80"]
    if os.geteuid() == 0:
        # run it without CAP_NET_ADMIN, as a user or a container's root is: the real
        # situation, not a simulation of it (the same uid, so a checkout only root may read,
        # as in a fresh `mktemp -d`, still imports)
        if subprocess.run(["which", "setpriv"], capture_output=True).returncode != 0:
            pytest.skip("setpriv (util-linux) is needed to drop CAP_NET_ADMIN")
        cmd = ["setpriv", "--bounding-set=-all", "--inh-caps=-all"] + cmd
    r = subprocess.run(cmd, capture_output=True, timeout=30)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("synack: ")
    assert "root" in err and "`synack demo`" in err


@pytest.mark.parametrize("argv, message", [
    (["connect", "10.99.0.2", "7", "--udp", "0", "--peer", "nope"], "--peer: 'nope' is not ADDRESS:PORT"),
    (["connect", "10.99.0.2", "7", "--udp", "0"], "--udp needs --peer HOST:PORT"),
    (["listen", "7", "--udp", "0", "--peer", "127.0.0.1:9", "--addr", "bogus"],
     "--addr: 'bogus' is not ADDRESS/PREFIX"),
    (["listen", "0", "--udp", "0", "--peer", "127.0.0.1:9"], "port must be between 1 and 65535, not 0"),
    (["listen", "7", "--peer", "127.0.0.1:9"], "--peer goes with --udp LOCAL_PORT"),
    (["get", "ftp://10.99.0.2/x"], "URL: only http:// is supported"),
    (["get", "http://example.com/"], "URL: the host must be an IP address (no DNS here)"),
    (["get", "http://[::1"], "URL: invalid IPv6 URL: 'http://[::1'"),
    (["get", "http://10.99.0.2:99999/"], "URL: bad port in 'http://10.99.0.2:99999/'"),
    (["get", "http://10.99.0.2:0/"], "URL: bad port in 'http://10.99.0.2:0/'"),
    (["connect", "10.99.0.2", "7", "--mtu", "100"], "--mtu must be between 576 and 65535, not 100"),
    (["listen", "7", "--backlog", "0"], "--backlog must be at least 1, not 0"),
    (["connect", "10.99.0.2", "7", "--offload", "maybe"], "--offload: 'maybe' is not on or off"),
    (["get", "http://10.99.0.2/", "--pcap", "/nonexistent/dir/run.pcapng"],
     "--pcap: cannot write /nonexistent/dir/run.pcapng: No such file or directory"),
])
def test_bad_arguments_are_one_line_naming_the_argument(capsys, argv, message):
    rc = main(argv)
    out, err = capsys.readouterr()
    assert rc != 0
    assert err.count("\n") == 1 and err.startswith("synack: ") and message in err, err
    assert out == ""


def test_connect_to_a_silent_udp_peer_times_out_in_one_line(capsys):
    p1, p2 = free_udp_ports(2)
    rc = main(["connect", "10.99.0.2", "7", "--udp", str(p1), "--peer", f"127.0.0.1:{p2}",
               "--timeout", "0.5", "--quiet"])
    _, err = capsys.readouterr()
    assert rc == 1
    assert err == "synack: connect to 10.99.0.2:7: timed out\n"
