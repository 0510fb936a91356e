"""An asyncio event loop whose clock is the simulator's: asyncio code on a simulated network.

:class:`SimEventLoop` is a normal asyncio event loop (tasks, futures, ``call_later``,
``asyncio.sleep``, ``asyncio.timeout``) except for its clock: ``loop.time()`` is the
network's virtual clock, and when every task waits, the loop advances the simulation
instead of sleeping, up to its next timer or until a packet or timer wakes a task. So
``await asyncio.sleep(60)``, or a connection's 60 s TIME-WAIT, takes no wall time, and the
same seed gives the same run. (Compare trio's ``MockClock`` with ``autojump_threshold=0``
and aiotools' ``VirtualClock``.)

    from synack.api import simloop, transports
    from synack.api.streams import Stack

    async def main():
        reader, writer = await transports.open_connection("10.0.0.2", 80, stack=Stack(client, net))
        ...

    simloop.run(main(), net)

Computation takes no simulated time: the clock moves only while every task waits. A wait
that nothing can ever end (no callback ready, no timer, the network idle) raises
:class:`~synack.api.errors.SimulationIdle` out of :func:`run`, as does a wait during which
only the hosts' timers run for ``stall_limit`` simulated seconds. Real file descriptors
(``call_soon_threadsafe`` from other threads, real sockets) are polled without blocking.
"""

from __future__ import annotations

import asyncio
import math
import selectors
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

from ..link.sim import Network
from ..timeunits import NS_PER_S, sec
from .errors import SimulationIdle
from .runtime import STALL_LIMIT, SimRuntime, runtime_of

__all__ = ["SimEventLoop", "run", "new_event_loop"]

T = TypeVar("T")


class _SimSelector(selectors.BaseSelector):
    """A real selector for the loop's own file descriptors (its self-pipe), polled without
    blocking; the time the loop would block for is spent advancing the simulation."""

    def __init__(self) -> None:
        self._real = selectors.DefaultSelector()
        self.loop: SimEventLoop | None = None

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if not ready and self.loop is not None:
            self.loop._advance(timeout)
            ready = self._real.select(0)
        return ready


class SimEventLoop(asyncio.SelectorEventLoop):
    """The event loop of one simulated network (see the module docstring)."""

    def __init__(self, net: Network, *, stall_limit: float | None = STALL_LIMIT) -> None:
        selector = _SimSelector()
        super().__init__(selector)
        selector.loop = self
        rt = runtime_of(net)
        if not isinstance(rt, SimRuntime):
            raise TypeError(f"expected a simulated Network, not {type(net).__name__}")
        #: the network's runtime; streams and transports of its hosts run on this loop
        self.runtime: SimRuntime = rt
        self.net = net
        self.stall_limit = stall_limit
        self._clock_resolution = 1e-9  # the simulator counts whole nanoseconds

    def time(self) -> float:
        """The simulator's clock, in seconds."""
        return self.net.now / NS_PER_S

    def _has_ready(self) -> bool:
        return bool(self._ready)  # type: ignore[attr-defined]  # callbacks due on this iteration

    def _advance(self, timeout: float | None) -> None:
        """Every task waits: run the network until a callback is ready, or for ``timeout``
        seconds of simulated time (the loop's next timer is then due)."""
        rt = self.runtime
        net = self.net
        now = net.now
        end = None if timeout is None else now + max(0, math.ceil(timeout * NS_PER_S))
        stall_end = None if end is not None or self.stall_limit is None else now + sec(self.stall_limit)
        while not self._has_ready():
            t = net.next_time()
            if t is None or (end is not None and t > end):
                if end is None:
                    raise SimulationIdle(
                        "the event loop would wait forever: every task waits, no timer is scheduled "
                        "and the simulated network is idle, so nothing can wake them")
                if end > net.now:
                    net.run_for(end - net.now)  # nothing happens before it: the clock moves on
                return
            if stall_end is not None and t > stall_end:
                raise SimulationIdle(
                    f"the event loop would wait forever: every task waits and for {self.stall_limit:g} s "
                    f"of simulated time only the hosts' timers ran (for example zero-window probes to "
                    f"a peer that does not read)")
            rt.step()

    def __repr__(self) -> str:
        return f"<SimEventLoop at {self.net.now / NS_PER_S:g} s running={self.is_running()}>"


def new_event_loop(net: Network, *, stall_limit: float | None = STALL_LIMIT) -> SimEventLoop:
    """A :class:`SimEventLoop` for ``net``."""
    return SimEventLoop(net, stall_limit=stall_limit)


def run(main: Coroutine[Any, Any, T], net: Network, *, stall_limit: float | None = STALL_LIMIT,
        debug: bool | None = None) -> T:
    """``asyncio.run(main)`` on the simulator: run the coroutine on a new
    :class:`SimEventLoop` of ``net``, then close the loop. The network itself stays as it is
    (connections, the clock), so a script can go on with it."""
    with asyncio.Runner(debug=debug, loop_factory=lambda: SimEventLoop(net, stall_limit=stall_limit)) as runner:
        return runner.run(main)
