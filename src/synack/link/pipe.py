"""The Host over any packet pipe an application hands it: no device, no root.

VPNs and device-tunnel tools already move IP packets themselves (a WireGuard or
OpenVPN-style tunnel, a user-space switch, an emulator's network backend). They can run a
synack Host over that pipe with two pieces:

* a function that sends one IP packet (``send(packet: bytes)``), given to :class:`PipeLink`;
* :meth:`PipeLink.deliver`, which the application calls with every IP packet it receives
  for the Host, from any thread.

    link = PipeLink(tunnel.send)             # outgoing IP packets go to the tunnel
    tunnel.on_packet = link.deliver          # incoming IP packets come to synack
    stack = Stack(real_host("10.7.0.2"), link)   # synack.api.realtime, or the streams API

Packets handed to :meth:`deliver` are batched and delivered on the driver's loop (never
inside the caller's stack frame), so two PipeLinks wired to each other in one process
cannot recurse into each other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .tun import LinkFeatures


class PipeLink:
    """A link whose packets go out through ``send`` and come in through :meth:`deliver`."""

    def __init__(self, send: Callable[[bytes], Any], *, mtu: int = 1500) -> None:
        if not callable(send):
            raise TypeError(f"send must be a function that takes an IP packet, not {type(send).__name__}")
        self._send = send
        self.features = LinkFeatures(mtu=mtu)
        self._loop: Any = None
        self._loop_ident: int | None = None
        self._receive: Callable[[list], None] | None = None
        self._pending: list = []
        self._scheduled = False
        self._lock = threading.Lock()
        self.closed = False
        self.rx_packets = self.tx_packets = self.tx_errors = 0

    # ---- link interface
    def start(self, loop: Any, receive: Callable[[list], None]) -> None:
        self._loop = loop
        self._loop_ident = threading.get_ident()
        self._receive = receive
        with self._lock:
            if self._pending and not self._scheduled:
                self._scheduled = True
                loop.call_soon(self._drain)

    def send(self, packets: list) -> None:
        if self.closed:
            return
        fn = self._send
        for p in packets:
            try:
                fn(p)
            except Exception:
                self.tx_errors += 1  # the pipe refused it: as a full queue, a drop
        self.tx_packets += len(packets)

    def close(self) -> None:
        self.closed = True
        self._pending = []

    # ---- the application's side
    def deliver(self, packet: bytes) -> None:
        """An IP packet arrived from the pipe for the Host (thread-safe)."""
        if self.closed:
            return
        with self._lock:
            self._pending.append(bytes(packet))
            if self._scheduled or self._loop is None:
                return
            self._scheduled = True
        if threading.get_ident() == self._loop_ident:
            self._loop.call_soon(self._drain)
        else:
            self._loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
            self._scheduled = False
        if batch and not self.closed:
            self.rx_packets += len(batch)
            self._receive(batch)  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"<PipeLink rx={self.rx_packets} tx={self.tx_packets}>"


def pipe_pair(*, mtu: int = 1500) -> tuple[PipeLink, PipeLink]:
    """Two PipeLinks wired to each other: what one sends, the other receives."""
    a_box: list = []
    b = PipeLink(lambda p: a_box[0].deliver(p), mtu=mtu)
    a = PipeLink(b.deliver, mtu=mtu)
    a_box.append(a)
    return a, b
