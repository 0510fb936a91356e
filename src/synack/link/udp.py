"""synack's IP packets inside UDP datagrams: two synack processes talk without root.

Each datagram carries exactly one IP packet, as the tunnel encapsulations do (RFC 8086 for
GRE-in-UDP; here without any header of our own). ``UdpLink(local_port, (host, port))``
binds a UDP socket (127.0.0.1 by default) and exchanges datagrams with one peer only;
datagrams from anyone else are ignored (counted in ``rx_foreign``).

    synack listen 7 --app echo --udp 9001 --peer 127.0.0.1:9002
    synack connect 10.99.0.2 7 --udp 9002 --peer 127.0.0.1:9001
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Callable
from typing import Any

from .tun import READ_BATCH, LinkFeatures


def parse_peer(text: str) -> tuple[str, int]:
    """``"127.0.0.1:9001"`` -> ("127.0.0.1", 9001); ValueError naming --peer otherwise."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
        p = int(port)
    except ValueError:
        raise ValueError(f"--peer: {text!r} is not ADDRESS:PORT (for example 127.0.0.1:9001)") from None
    if not sep or not 0 < p < 65536:
        raise ValueError(f"--peer: {text!r} is not ADDRESS:PORT with a port 1-65535")
    return host, p


class UdpLink:
    """A link that sends each IP packet as one UDP datagram to ``peer``."""

    def __init__(self, local_port: int, peer: tuple, *, bind: str = "127.0.0.1", mtu: int = 1500) -> None:
        if not 0 <= int(local_port) < 65536:
            raise ValueError(f"--udp: port {local_port} is not between 0 and 65535")
        fam = socket.AF_INET6 if ":" in bind else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            self.sock.bind((bind, int(local_port)))
        except OSError as e:
            self.sock.close()
            raise OSError(e.errno, f"--udp: cannot bind UDP {bind}:{local_port}: {e.strerror}") from None
        self.sock.setblocking(False)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        except OSError:
            pass
        self.peer = peer
        self.features = LinkFeatures(mtu=mtu)
        self.local = self.sock.getsockname()
        self.rx_packets = self.tx_packets = self.tx_errors = self.rx_foreign = 0
        self._loop: Any = None
        self._receive: Callable[[list], None] | None = None

    @property
    def peer(self) -> tuple:
        """The other end's UDP (address, port); may be set once it is known."""
        return self._peer

    @peer.setter
    def peer(self, peer: tuple) -> None:
        self._peer = (peer[0], int(peer[1]))
        self._peer_norm = {self._peer, (str(ipaddress.ip_address(peer[0])), int(peer[1]))}

    def start(self, loop: Any, receive: Callable[[list], None]) -> None:
        self._loop = loop
        self._receive = receive
        loop.add_reader(self.sock.fileno(), self._readable)

    def _readable(self) -> None:
        recv = self.sock.recvfrom
        peers = self._peer_norm
        batch = []
        for _ in range(READ_BATCH):
            try:
                data, addr = recv(65535)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break  # e.g. ECONNREFUSED reported for an earlier datagram
            if addr[:2] not in peers:
                self.rx_foreign += 1
                continue
            batch.append(data)
        if batch:
            self.rx_packets += len(batch)
            self._receive(batch)  # type: ignore[misc]

    def send(self, packets: list) -> None:
        sendto = self.sock.sendto
        peer = self.peer
        for p in packets:
            try:
                sendto(p, peer)
            except OSError:
                self.tx_errors += 1  # nobody there yet, or the buffer is full: a drop
        self.tx_packets += len(packets)

    def close(self) -> None:
        if self.sock.fileno() < 0:
            return
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self.sock.fileno())
        self.sock.close()

    def __repr__(self) -> str:
        return f"<UdpLink {self.local[0]}:{self.local[1]} <-> {self.peer[0]}:{self.peer[1]}>"
