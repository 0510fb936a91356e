"""synack against Linux's TCP over a TUN device, both directions: handshake, echo with
SHA-256 checks, both close orders (TIME-WAIT on the side that closed first, as `ss` shows
it), half-close, refused ports, abortive close, and transfers through netem impairments.

Every test runs with the TUN offloads on (TSO super-segments both ways, partial checksums)
and off (wire-sized packets); the handshake, the 50 MB echo, both close orders and the
resets also run over IPv6.

The synack side uses the blocking socket on the real loop (synack.api.realtime); the
kernel side is Python's own socket, created inside the test's network namespace.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import struct
import time

import pytest
from kernel_helpers import in_thread, recv_all, wait_until

from synack.api import blocking

from synack.tcp.state import State

T = 10  # seconds any single blocking call may take before the test fails


def port() -> int:
    return 20000 + secrets.randbelow(20000)


#: the beds of the tests that also run over IPv6
WITH_IPV6 = pytest.mark.parametrize("bed", ["offload", "no-offload", "ipv6"], indirect=True)


def kernel_listener(bed, p: int) -> socket.socket:
    s = bed.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((bed.kernel_addr, p))
    s.listen(8)
    s.settimeout(T)
    return s


def synack_listener(bed, p: int):
    s = bed.stack.create_server(("", p), family=blocking.AF_INET6 if bed.v6 else blocking.AF_INET)
    s.settimeout(T)
    return s


def pair(bed, kernel_is_client: bool):
    """An established connection: (kernel socket, synack socket)."""
    p = port()
    if kernel_is_client:
        srv = synack_listener(bed, p)
        k = bed.socket()
        k.settimeout(T)
        fut = in_thread(k.connect, (bed.synack_addr, p))
        s, _ = srv.accept()
        fut.result(T)
        srv.close()
    else:
        srv = kernel_listener(bed, p)
        fut = in_thread(srv.accept)
        s = bed.stack.create_connection((bed.kernel_addr, p), timeout=T)
        k, _ = fut.result(T)
        srv.close()
    k.settimeout(T)
    s.settimeout(T)
    return k, s


def ends(k: socket.socket) -> tuple[str, str]:
    """``addr:port`` of the kernel socket's local and remote ends, as ss prints them."""
    la, lp = k.getsockname()[:2]
    ra, rp = k.getpeername()[:2]
    if ":" in la:
        return f"[{la}]:{lp}", f"[{ra}]:{rp}"
    return f"{la}:{lp}", f"{ra}:{rp}"


DIRECTIONS = [pytest.param(True, id="kernel-client"), pytest.param(False, id="synack-client")]


# ------------------------------------------------------------------------ handshake
@WITH_IPV6
@pytest.mark.parametrize("kernel_is_client", DIRECTIONS)
def test_handshake(bed, kernel_is_client):
    k, s = pair(bed, kernel_is_client)
    local, remote = ends(k)
    assert s.connection.state is State.ESTABLISHED
    assert bed.ns.states(local, remote) == ["ESTAB"]
    assert s.getpeername() == k.getsockname()
    assert s.getsockname() == k.getpeername()
    # the kernel's SYN or SYN-ACK offered an MSS of 1460 (1440 over IPv6), which synack took
    assert s.connection.snd_mss == (1440 if bed.v6 else 1460)
    k.close()
    s.close()


# ------------------------------------------------------------------------ echo
def _synack_echo(sock) -> None:
    while True:
        b = sock.recv(65536)
        if not b:
            break
        sock.sendall(b)
    sock.close()


def _kernel_echo(sock) -> None:
    while True:
        b = sock.recv(65536)
        if not b:
            break
        sock.sendall(b)
    sock.close()


#: seconds a bulk transfer may take: Python's sendall() timeout covers the whole call, and
#: the CI machine's two cores are shared (50 MB takes 3-10 s there)
BULK_T = 120


def _echo(bed, kernel_is_client: bool, size: int) -> float:
    data = os.urandom(size)
    k, s = pair(bed, kernel_is_client)
    k.settimeout(BULK_T)
    s.settimeout(BULK_T)
    t0 = time.monotonic()
    if kernel_is_client:
        # synack echoes; the kernel sends and reads back
        server = in_thread(_synack_echo, s)
        sender = in_thread(lambda: (k.sendall(data), k.shutdown(socket.SHUT_WR)))
        back = recv_all(k)
        k.close()
    else:
        server = in_thread(_kernel_echo, k)
        sender = in_thread(lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
        back = recv_all(s)
        s.close()
    sender.result(BULK_T)
    server.result(BULK_T)
    elapsed = time.monotonic() - t0
    assert len(back) == size
    assert hashlib.sha256(back).digest() == hashlib.sha256(data).digest()
    return elapsed


@pytest.mark.parametrize("kernel_is_client", DIRECTIONS)
def test_echo_1mb(bed, kernel_is_client):
    _echo(bed, kernel_is_client, 1 << 20)


@pytest.mark.parametrize("bulk_bed", ["offload", "no-offload", "ipv6"], indirect=True)
@pytest.mark.parametrize("kernel_is_client", DIRECTIONS)
def test_echo_50mb(bulk_bed, kernel_is_client):
    elapsed = _echo(bulk_bed, kernel_is_client, 50 * 1000 * 1000)
    print(f"50 MB echo ({bulk_bed.kind}, {'kernel' if kernel_is_client else 'synack'} client): {elapsed:.2f} s")


# ------------------------------------------------------------------------ close orders
@WITH_IPV6
@pytest.mark.parametrize("kernel_is_client", DIRECTIONS)
@pytest.mark.parametrize("first", ["kernel", "synack"])
def test_close_order_puts_time_wait_on_the_side_that_closed_first(bed, kernel_is_client, first):
    k, s = pair(bed, kernel_is_client)
    local, remote = ends(k)
    conn = s.connection
    k.sendall(b"x")
    assert s.recv(1) == b"x"
    if first == "kernel":
        k.close()
        assert s.recv(10) == b""     # the kernel's FIN: synack is in CLOSE-WAIT
        assert conn.state is State.CLOSE_WAIT
        s.close()                    # LAST-ACK, then CLOSED when the kernel ACKs
        assert wait_until(lambda: conn.state is State.CLOSED)
        assert wait_until(lambda: bed.ns.states(local, remote) == ["TIME-WAIT"])
    else:
        s.close()
        assert k.recv(10) == b""
        k.close()
        assert wait_until(lambda: conn.state is State.TIME_WAIT)
        # the kernel went through LAST-ACK to CLOSED: no socket left for this 4-tuple
        assert wait_until(lambda: bed.ns.states(local, remote) == [])
        assert conn.state is State.TIME_WAIT  # 2*MSL = 60 s; the stack keeps it


# ------------------------------------------------------------------------ half-close
@pytest.mark.parametrize("kernel_closes", [True, False], ids=["kernel-shuts-write", "synack-shuts-write"])
def test_half_close(bed, kernel_closes):
    k, s = pair(bed, kernel_is_client=kernel_closes)
    a, b = (k, s) if kernel_closes else (s, k)
    a.sendall(b"request, then my FIN")
    a.shutdown(socket.SHUT_WR)
    assert recv_all(b) == b"request, then my FIN"   # EOF after the data
    reply = os.urandom(200_000)                       # the other way still works
    b.sendall(reply)
    b.close()
    assert recv_all(a) == reply
    a.close()


# ------------------------------------------------------------------------ refused
def resets_from(bed, src: str) -> str:
    """A display filter for the RSTs ``src`` sent."""
    return f"ip{'v6' if bed.v6 else ''}.src == {src} && tcp.flags.reset == 1"


def test_kernel_connect_to_closed_synack_port_is_refused(bed):
    k = bed.socket()
    k.settimeout(T)
    with pytest.raises(ConnectionRefusedError):
        k.connect((bed.synack_addr, port()))
    k.close()
    assert bed.capture.count(resets_from(bed, bed.synack_addr), 1) == 1


def test_synack_connect_to_closed_kernel_port_is_refused(bed):
    with pytest.raises(ConnectionRefusedError) as e:
        bed.stack.create_connection((bed.kernel_addr, port()), timeout=T)
    assert e.value.errno == 111
    assert bed.capture.count(resets_from(bed, bed.kernel_addr), 1) == 1


# ------------------------------------------------------------------------ abort
@WITH_IPV6
@pytest.mark.parametrize("kernel_aborts", [True, False], ids=["kernel-aborts", "synack-aborts"])
def test_abortive_close_resets_the_peer(bed, kernel_aborts):
    k, s = pair(bed, kernel_is_client=not kernel_aborts)
    local, remote = ends(k)
    a, b = (k, s) if kernel_aborts else (s, k)
    src = bed.kernel_addr if kernel_aborts else bed.synack_addr
    a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    a.close()
    with pytest.raises(ConnectionResetError):
        b.recv(100)
    b.close()
    assert bed.capture.count(resets_from(bed, src), 1) == 1
    assert bed.ns.states(local, remote) == []
    if not kernel_aborts:
        assert s.connection is None or s.connection.state is State.CLOSED


# ------------------------------------------------------------------------ impairments
NETEM = "loss 5% delay 20ms reorder 25% 50% duplicate 1% corrupt 1%"


@pytest.mark.parametrize("kernel_sends", [True, False], ids=["kernel-to-synack", "synack-to-kernel"])
def test_transfer_through_netem(bed, kernel_sends):
    """netem on the device impairs everything the kernel sends to synack: data in one
    test, ACKs in the other. The bytes arrive intact and in order anyway."""
    how = bed.netem(NETEM)
    data = os.urandom(1 << 20)
    k, s = pair(bed, kernel_is_client=kernel_sends)
    k.settimeout(60)
    s.settimeout(60)
    a, b = (k, s) if kernel_sends else (s, k)
    sender = in_thread(lambda: (a.sendall(data), a.shutdown(socket.SHUT_WR)))
    got = recv_all(b)
    sender.result(60)
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
    b.close()
    a.close()
    # the impairment really happened: segments were lost and sent again
    assert bed.capture.count("tcp.analysis.retransmission || tcp.analysis.fast_retransmission", 1) >= 1
    if how == "synack-side":
        counts = bed.stack.link.impairment.counts
        assert counts["lost"] and counts["reordered"], counts
