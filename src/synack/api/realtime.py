"""The blocking socket on the real loop: :class:`synack.api.socket` over a real link.

A :class:`Stack` is one synack Host on a real link (a TUN device, IP-in-UDP, or any packet
pipe), run in real time by a :class:`~synack.link.driver.BackgroundDriver` in a thread of
its own, so the stack answers its peer while the application computes, as a kernel does.
Its :attr:`Stack.runtime` is a :class:`~synack.api.runtime.RealRuntime`, the interface the
socket class also has on the simulator, so the very same :class:`synack.api.blocking.socket`
runs on it, with the same exceptions as Python's socket; timeouts are real seconds.

    from synack.api.realtime import Stack
    stack = Stack.tun("10.99.0.2/24", netns="demo")       # root; kernel side 10.99.0.1
    s = stack.create_connection(("10.99.0.1", 8080), timeout=5)
    s.sendall(b"hello")
    print(s.recv(100))
    s.close()
    stack.close()

Several threads may use sockets of one stack at once: each call holds the driver's
lock while it touches the Host and releases it while it waits.
"""

from __future__ import annotations

from typing import Any

from ..link.driver import BackgroundDriver, Driver
from ..stack.host import Host
from . import blocking, functions
from .constants import AF_INET, SOCK_STREAM
from .links import LinkConstructors
from .runtime import RealRuntime


class Stack(LinkConstructors):
    """A Host on a real link, driven in real time (see the module docstring)."""

    def __init__(self, host: Host, link: Any, *, driver: Driver | None = None) -> None:
        self.host = host
        self.link = link
        self.driver = driver or BackgroundDriver(host, link)
        #: what the socket layer runs on: real time, the driver's lock and wake-ups
        self.runtime = RealRuntime(self.driver)
        self.recorder = host.recorder
        self.closed = False
        if self.driver.loop is None:
            self.driver.start()

    @property
    def now(self) -> int:
        """Real time in ns since the stack started."""
        return self.runtime.now

    # ---- sockets
    def socket(self, family: int = AF_INET, type: int = SOCK_STREAM, proto: int = 0) -> blocking.socket:
        """``socket.socket(family, SOCK_STREAM)`` on this stack."""
        return blocking.socket(self, self.host, family, type, proto)

    def create_connection(self, address: tuple, timeout: float | None = None,
                          source_address: tuple | None = None) -> blocking.socket:
        """``socket.create_connection`` on this stack (timeout in real seconds)."""
        return functions.create_connection(self, self.host, address, timeout, source_address)

    def create_server(self, address: tuple, *, family: int = AF_INET,
                      backlog: int | None = None) -> blocking.socket:
        """``socket.create_server`` on this stack."""
        return functions.create_server(self, self.host, address, family=family, backlog=backlog)

    def sleep(self, seconds: float) -> None:
        """``time.sleep`` that also resets orphaned connections that receive data."""
        functions.sleep(self, seconds)

    # ---- end
    def close(self) -> None:
        """Stop the driver and close the link; connections still open are abandoned."""
        if self.closed:
            return
        self.closed = True
        self.driver.close()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<synack.api.realtime.Stack {self.host.addrs[0]} on {self.link!r}>"
