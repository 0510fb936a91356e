"""A synack Host for asyncio code, on any link: the ``stack=`` of the streams and transports.

* On a simulated :class:`~synack.link.sim.Network`: ``Stack(host, net)`` (``host`` a Host of
  ``net`` or its name). The network's asyncio code runs on its
  :class:`~synack.api.simloop.SimEventLoop` (``simloop.run(main(), net)``).
* On a real link (TUN, IP-in-UDP, a packet pipe): ``Stack(host, link)``, or the constructors
  ``Stack.tun(...)``, ``Stack.udp(...)``, ``Stack.pipe(...)``. A
  :class:`~synack.link.driver.Driver` runs the Host on the event loop that first uses it.

Either way ``stack.runtime`` is the :class:`~synack.api.runtime.Runtime` the APIs use, so
the same application code runs on both.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..link.driver import Driver
from ..link.sim import Network
from .links import LinkConstructors
from .runtime import RealRuntime, Runtime, runtime_of


class Stack(LinkConstructors):
    """One Host and the runtime that runs it (see the module docstring)."""

    def __init__(self, host: Any, link: Any) -> None:
        self.link = link
        self.peer_addr: str | None = None
        self.closed = False
        self.driver: Driver | None
        if isinstance(link, Network):
            if isinstance(host, str):
                try:
                    host = link.hosts[host]
                except KeyError:
                    raise ValueError(f"no host named {host!r} in this network") from None
            elif link.hosts.get(getattr(host, "name", "")) is not host:
                raise ValueError(f"{host!r} is not attached to this network")
            self.driver = None
            self.runtime: Runtime = runtime_of(link)
        else:
            self.driver = Driver(host, link)
            self.runtime = RealRuntime(self.driver)
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None  # started by the loop that first uses it, or by start()
            if loop is not None:
                self.driver.start(loop)
        self.host = host

    async def start(self) -> Stack:
        """Start answering the peer on the running loop (the streams and transports do this
        themselves; a real-link stack made outside the loop that only answers needs it)."""
        self.started()
        return self

    def started(self) -> Runtime:
        """The runtime, attached to the running loop (an error on the wrong loop)."""
        if self.closed:
            raise OSError(9, "the synack stack is closed")
        self.runtime.start(asyncio.get_running_loop())
        return self.runtime

    @property
    def now(self) -> int:
        return self.runtime.now

    def close(self) -> None:
        """Stop the stack and close its link (a real link); open connections are abandoned.
        On the simulator the network goes on: only this handle is closed."""
        if not self.closed:
            self.closed = True
            if self.driver is not None:
                self.driver.close()

    def __repr__(self) -> str:
        where = "the simulator" if self.driver is None else repr(self.link)
        return f"<synack Stack {self.host.addrs[0]} on {where}>"
