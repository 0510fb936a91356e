"""One interface under every API: how a socket, a stream or a transport reaches its Host.

The socket facade (``api.blocking``), the asyncio streams (``api.streams``) and the asyncio
transports (``api.transports``) never drive a link themselves. They ask a :class:`Runtime`:

* ``now``: the Host's clock, int ns (simulated, or real time since the stack started);
* ``flush(host, conn)``: a user call touched ``host`` (and ``conn``); transmit what it
  queued and keep its timers scheduled. This is the only place where output leaves a Host
  on behalf of an application, so the day hosts pull their output (``take_packets()``
  draining every connection) it changes here and nowhere else;
* ``wait_until(cond, deadline)``: block the calling thread until ``cond()`` (False at the
  deadline); the simulator advances its clock instead of sleeping;
* ``wait()`` (asyncio): return after the next batch of packets or timers;
* ``lock``: held while a thread touches the Host (real time; a no-op on the simulator);
* ``hooks``: callables run after every batch (stream writers pushing data, accept loops).

Two implementations: :class:`SimRuntime` over a :class:`~synack.link.sim.Network` (one per
network, shared by its hosts; its asyncio side runs on :class:`synack.api.simloop.SimEventLoop`)
and :class:`RealRuntime` over a :class:`~synack.link.driver.Driver` (a TUN device, UDP or a
pipe in real time).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from ..link.driver import Driver
from ..link.sim import Network
from ..timeunits import NS_PER_S, sec
from .errors import SimulationIdle

__all__ = ["Runtime", "SimRuntime", "RealRuntime", "runtime_of", "wait_for"]

#: Default for ``stall_limit``: simulated seconds a wait with no deadline may run with only
#: timers firing before it is declared hopeless.
STALL_LIMIT = 3600.0


@runtime_checkable
class Runtime(Protocol):
    """What the APIs need from whatever runs a Host (see the module docstring)."""

    #: True when time is real: a wait without a deadline simply waits
    realtime: bool
    #: host name -> Host, for resolving names and checking that a host belongs here
    hosts: Mapping[str, Any]
    #: held while a thread touches a Host
    lock: contextlib.AbstractContextManager[Any]
    #: run after every batch of packets or timers, lock held
    hooks: list[Callable[[], None]]

    @property
    def now(self) -> int: ...

    def flush(self, host: Any, conn: Any = None) -> None: ...

    def wait_until(self, cond: Callable[[], bool], deadline: int | None = None, *,
                   what: str | Callable[[], str] = "", stall_limit: float | None = STALL_LIMIT) -> bool: ...

    def start(self, loop: asyncio.AbstractEventLoop) -> None: ...

    async def wait(self) -> None: ...


class _NoLock(contextlib.AbstractContextManager):
    """The simulator is single-threaded: nothing to hold."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


NO_LOCK = _NoLock()


class SimRuntime:
    """The simulator: time is ``net.now``, waiting advances the network."""

    realtime = False

    def __init__(self, net: Network) -> None:
        self.net = net
        self.hosts: Mapping[str, Any] = net.hosts
        self.lock: contextlib.AbstractContextManager[Any] = NO_LOCK
        self.hooks: list[Callable[[], None]] = []
        #: the SimEventLoop running this network's asyncio code, once one started
        self.loop: asyncio.AbstractEventLoop | None = None
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def now(self) -> int:
        return self.net.now

    def flush(self, host: Any, conn: Any = None) -> None:
        """Transmit what a user call on ``host`` queued and reschedule its timers."""
        if conn is not None:
            host.call(conn, self.net.now)
        self.net.flush()

    # ---- advancing
    def busy(self) -> bool:
        """Whether anything (a hook or an asyncio waiter) wants to hear about each event."""
        return bool(self.hooks or self._waiters)

    def step(self) -> bool:
        """Process the next network event (the clock jumps to it), then run the hooks and
        wake asyncio waiters. False if the network is idle."""
        if not self.net.step():
            return False
        self.after()
        return True

    def after(self) -> None:
        """After a batch: hooks, transmission, wake-ups."""
        if self.hooks:
            for hook in tuple(self.hooks):  # a hook may remove itself
                hook()
        self.net.flush()
        waiters = self._waiters
        if waiters:
            self._waiters = []
            for f in waiters:
                if not f.done():
                    f.set_result(None)

    def wait_until(self, cond: Callable[[], bool], deadline: int | None = None, *,
                   what: str | Callable[[], str] = "", stall_limit: float | None = STALL_LIMIT) -> bool:
        """Advance the simulation until ``cond()``; False once the clock reaches ``deadline``
        (ns, absolute; the clock then stands there). With no deadline, a wait that nothing
        can end raises :class:`SimulationIdle`: the network went idle, or ``stall_limit``
        simulated seconds passed with only timers running. ``what`` (or what it returns,
        when a function) names the waiting call in that message."""
        net = self.net
        if deadline is not None:
            if not self.busy():
                return net.run_until(cond, max(deadline - net.now, 0))
            while True:
                net.flush()
                if cond():
                    return True
                t = net.next_time()
                if t is None or t > deadline:
                    if deadline > net.now:
                        net.run_for(deadline - net.now)  # no event before it: the clock moves
                    return cond()
                self.step()
        end = None if stall_limit is None else net.now + sec(stall_limit)
        while True:
            net.flush()
            if cond():
                return True
            t = net.next_time()
            if t is None:
                what = what() if callable(what) else what
                raise SimulationIdle(
                    f"{what} would block forever: the simulation is idle (nothing in flight, no "
                    f"timer armed), so nothing can make it return. In a single-threaded script, "
                    f"make the peer act first or set a timeout.")
            if end is not None and t > end:
                what = what() if callable(what) else what
                raise SimulationIdle(
                    f"{what} would block forever: nothing it waits for happened in {stall_limit:g} s "
                    f"of simulated time, only timers ran (for example zero-window probes to a peer "
                    f"that does not read). In a single-threaded script, make the peer act first "
                    f"or set a timeout.")
            self.step()

    # ---- asyncio
    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Check that ``loop`` is the event loop that runs this network."""
        if getattr(loop, "runtime", None) is not self:
            raise RuntimeError(
                "a simulated network runs asyncio code on its own event loop, whose clock is the "
                "simulator's: use synack.api.simloop.run(main(), net) instead of asyncio.run(main())")
        self.loop = loop

    async def wait(self) -> None:
        """Return after the next network event (on the network's SimEventLoop)."""
        loop = asyncio.get_running_loop()
        self.start(loop)
        f: asyncio.Future[None] = loop.create_future()
        self._waiters.append(f)
        await f

    def __repr__(self) -> str:
        return f"<SimRuntime {len(self.hosts)} hosts at {self.net.now / NS_PER_S:g} s>"


class RealRuntime:
    """Real time: a :class:`~synack.link.driver.Driver` feeds one Host from a real link."""

    realtime = True

    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.hosts: Mapping[str, Any] = {driver.host.name: driver.host}
        self.lock: contextlib.AbstractContextManager[Any] = driver.lock
        self.hooks: list[Callable[[], None]] = driver.hooks

    @property
    def now(self) -> int:
        return self.driver.clock()

    def flush(self, host: Any, conn: Any = None) -> None:
        """Transmit what a user call queued now, and re-arm the driver's timer."""
        if conn is not None:
            host.call(conn, self.driver.clock())
        self.driver.kick()

    def wait_until(self, cond: Callable[[], bool], deadline: int | None = None, *,
                   what: str | Callable[[], str] = "", stall_limit: float | None = STALL_LIMIT) -> bool:
        """Wait (really) until ``cond()``; False at ``deadline`` (ns on the driver's clock).
        The peer may act at any moment, so there is no idle check."""
        timeout = None if deadline is None else max(deadline - self.driver.clock(), 0) / NS_PER_S
        with self.lock:
            return self.driver.wait_thread(cond, timeout)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach the driver to ``loop`` the first time an asyncio API uses it."""
        d = self.driver
        if d.closed:
            raise OSError(9, "the synack stack is closed")
        if d.loop is None:
            d.start(loop)

    async def wait(self) -> None:
        await self.driver.wait()

    def __repr__(self) -> str:
        return f"<RealRuntime {self.driver.host!r} on {self.driver.link!r}>"


def runtime_of(where: Any) -> Runtime:
    """The runtime of ``where``: a :class:`~synack.link.sim.Network` (one runtime per
    network), a stack that has one (``stack.runtime``), or a runtime itself."""
    if isinstance(where, Network):
        # Kept on the network itself, so that it lives exactly as long as the network.
        rt = vars(where).get("_api_runtime")
        if rt is None:
            rt = where._api_runtime = SimRuntime(where)  # type: ignore[attr-defined]
        return rt
    rt = getattr(where, "runtime", None)
    if rt is not None:
        return rt
    if isinstance(where, (SimRuntime, RealRuntime)):
        return where
    raise TypeError(f"expected a synack Network or a stack, not {type(where).__name__}")


async def wait_for(rt: Runtime, cond: Callable[[], bool], timeout: float | None = None) -> bool:
    """(asyncio) Wait until ``cond()``; False if ``timeout`` seconds of the running loop's
    clock pass first (simulated seconds on a SimEventLoop)."""
    if cond():
        return True
    loop = asyncio.get_running_loop()
    end = None if timeout is None else loop.time() + timeout
    while not cond():
        if end is None:
            await rt.wait()
            continue
        left = end - loop.time()
        if left <= 0:
            return False
        try:
            await asyncio.wait_for(rt.wait(), left)
        except TimeoutError:
            return cond()
    return True
