"""The real-time driver: one synack Host on a real link, in real time, on asyncio.

The Host is the same sans-IO object the simulator drives (``deliver``, ``take_packets``,
``next_deadline``, ``on_timeout``, ``changed``). Here time is ``time.monotonic_ns()``
minus the moment the driver started, so the Host's clock starts at 0 as in the
simulator; ISNs are keyed with a secret from ``os.urandom`` (RFC 6528) and ephemeral
ports come from an unseeded generator (:func:`real_host`).

A link is any object with::

    features            # LinkFeatures (at least ``mtu``)
    start(loop, receive)  # from now on call receive(list_of_ip_packets) on ``loop``
    send(list_of_ip_packets)  # transmit (may be called from any thread holding the lock)
    close()

(:class:`synack.link.tun.TunLink`, :class:`synack.link.udp.UdpLink`,
:class:`synack.link.pipe.PipeLink`).

Per wake-up the driver delivers the whole batch of packets that arrived, runs the timers
that are due, and only then transmits what the Host queued, so that several segments
are answered by one ACK where the TCP rules allow it (RFC 9293 §3.8.6.3). One asyncio
timer is kept, for the Host's earliest deadline.

Applications reach the Host in two ways, both built on :meth:`Driver.kick` (transmit what
a user call queued) and the wake-ups the driver gives after every batch:

* asyncio code on the driver's own loop (``synack.api.streams``) awaits :meth:`Driver.wait`;
* threads (``synack.api.realtime``, the blocking socket) hold :attr:`Driver.lock` while
  they touch the Host and wait on :attr:`Driver.cond`; the driver then runs its loop in a
  thread of its own (:class:`BackgroundDriver`).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from ..stack.host import Host
from .fair import FairBatches
from ..tcp.config import TcpConfig
from ..trace.events import Recorder

NS = 1_000_000_000
#: seconds a FIN in flight may take to be acknowledged when the stack shuts down
SHUTDOWN_GRACE = 2.0
_OPEN = frozenset({"SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT"})
_FIN_IN_FLIGHT = frozenset({"FIN-WAIT-1", "CLOSING", "LAST-ACK"})


class ShutdownReport:
    """What :meth:`Driver.shutdown` did: ``reset`` open connections, ``finished`` FIN
    exchanges completed within the grace period, ``late`` ones reset when it ran out; and
    ``dropped``, the arriving packets the driver dropped while the stack was overloaded
    (link/fair.py: a full backlog, or a SYN flood beyond ``syn_limit``)."""

    def __init__(self, grace: float = SHUTDOWN_GRACE) -> None:
        self.grace = grace
        self.reset = self.finished = self.late = self.dropped = 0

    def __str__(self) -> str:
        def n(k: int, what: str) -> str:
            return f"{k} {what}{'' if k == 1 else 's'}"

        parts = [f"reset {n(self.reset, 'open connection')}"]
        parts.append(f"{n(self.finished, 'closing connection')} finished {'its' if self.finished == 1 else 'their'} "
                     f"FIN exchange")
        if self.late:
            parts.append(f"{self.late} more reset after the {self.grace:g} s grace period")
        if self.dropped:
            parts.append(f"{n(self.dropped, 'arriving packet')} dropped while synack was overloaded")
        return ", ".join(parts)


def real_host(addr: str, *, name: str = "synack", mtu: int = 1500, recorder: Recorder | None = None,
              config: TcpConfig | None = None, **host_options: Any) -> Host:
    """A Host for the real world: ISN secret from ``os.urandom`` (RFC 6528), ports from an
    unseeded generator, the link's MTU. ``host_options`` go to :class:`Host` as they are
    (``max_syn_backlog``, ``syncookies``, ...)."""
    return Host(name, [addr], seed=None, isn_secret=os.urandom(16), mtu=mtu, recorder=recorder,
                config=config, **host_options)


class Clock:
    """``time.monotonic_ns()`` shifted so that it starts at 0 (the Host works in ns)."""

    __slots__ = ("t0",)

    def __init__(self) -> None:
        self.t0 = time.monotonic_ns()

    def __call__(self) -> int:
        return time.monotonic_ns() - self.t0

    def loop_time(self, t: int) -> float:
        """Host time ``t`` (ns) as asyncio loop time (``time.monotonic()`` seconds)."""
        return (t + self.t0) / NS


class Driver:
    """Feeds a link's packets and the clock's deadlines into ``host`` on an asyncio loop."""

    def __init__(self, host: Host, link: Any, *, clock: Clock | None = None) -> None:
        self.host = host
        self.link = link
        # What the link does for the host: with GSO, TSO super-segments by default.
        use_link = getattr(host, "use_link", None)  # (a stand-in host may have none)
        if use_link is not None:
            use_link(getattr(link, "features", None))
        self.clock = clock or Clock()
        #: held while the Host is touched; threads wait on ``cond`` for wake-ups
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        #: callables run after every batch, lock held (stream writers pushing data, accept loops)
        self.hooks: list[Callable[[], None]] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: int | None = None
        self._waiters: list[asyncio.Future] = []
        #: (condition, future) of wait_for(): resolved by the driver once the condition holds
        self._conds: list[tuple[Callable[[], bool], asyncio.Future]] = []
        self._thread_waiting = 0
        self._loop_ident: int | None = None
        self.closed = False
        self.batches = 0
        #: a budget of packets per connection per wake-up (link/fair.py)
        self.fair = FairBatches()
        self._round_due = False

    @property
    def now(self) -> int:
        return self.clock()

    # ---------------------------------------------------------------- running
    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Attach to ``loop`` (default: the running loop) and start receiving."""
        self.loop = loop or asyncio.get_running_loop()
        self._loop_ident = threading.get_ident()  # start() runs on the loop's thread
        self.link.start(self.loop, self._receive)
        with self.lock:
            self._flush()

    def close(self) -> None:
        """Stop: transmit what the Host has queued (an RST an abort just produced, a FIN),
        then no more timers or packets. Connections still open are abandoned; call
        :meth:`shutdown` first to end them in front of the peer."""
        if self.closed:
            return
        with self.lock:
            self._send_queued()
            self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.link.close()
        self._wake()

    def _receive(self, packets: list, checksum_ok: Any = False) -> None:
        """A batch of IP packets arrived (on the loop). ``checksum_ok``: True or False for
        all of them, or one bool per packet: the link vouches for the TCP checksum."""
        host = self.host
        with self.lock:
            now = self.clock()
            # At most fair.budget packets per connection this wake-up; the rest after the
            # loop has let the others in (link/fair.py). One batch: each connection ACKs
            # once, after all of them (RFC 9293 §3.10.7.4 MUST-59).
            taken = self.fair.take(packets, checksum_ok)
            batch = getattr(host, "deliver_batch", None)
            if batch is not None and len(taken) > 1:
                batch([p for p, _ in taken], now, [ok for _, ok in taken])
            else:
                for p, ok in taken:
                    host.deliver(p, now, ok)
            d = host.next_deadline()
            if d is not None and d <= now:
                host.on_timeout(now)
            self._after()
            self._next_round()

    def _next_round(self) -> None:
        """Lock held: if packets over a connection's budget wait, take them on the next
        turn of the loop (after what else is ready: other links' packets, timers)."""
        if self.fair.pending and not self._round_due and self.loop is not None and not self.closed:
            self._round_due = True
            self.loop.call_soon(self._round)

    def _round(self) -> None:
        self._round_due = False
        if self.closed:
            return
        self._receive([])

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        if self.closed:
            return
        with self.lock:
            now = self.clock()
            d = self.host.next_deadline()
            if d is not None and d <= now:
                self.host.on_timeout(now)
            self._after()
            self._arm(self.host.next_deadline())  # fired early or nothing changed: keep it

    def _after(self) -> None:
        """Lock held: run hooks, transmit, re-arm the timer, wake whoever waits."""
        self.batches += 1
        if self.hooks:
            for hook in tuple(self.hooks):  # a hook may remove itself
                hook()
        self._flush()
        self._wake()

    def _flush(self) -> None:
        """Lock held: transmit what the Host queued and keep the timer on its deadline."""
        host = self.host
        if not host.changed:
            return
        host.changed = False
        pkts = host.take_packets()
        if pkts and not self.closed:
            self.link.send(pkts)
        self._arm(host.next_deadline())

    def _send_queued(self) -> None:
        """Lock held: hand everything the Host queued to the link, whatever ``changed`` says."""
        if self.closed:
            return
        self.host.changed = False
        pkts = self.host.take_packets()
        if pkts:
            self.link.send(pkts)

    # ---------------------------------------------------------------- shutdown
    async def shutdown(self, grace: float = SHUTDOWN_GRACE) -> ShutdownReport:
        """(asyncio, on the driver's loop) End every connection in front of its peer, then
        :meth:`close`. For SIGINT and SIGTERM: the peer learns at once that synack is gone.

        Listeners close (connections not accepted yet are reset, as Linux does). Open
        connections (SYN-SENT, SYN-RECEIVED, ESTABLISHED, CLOSE-WAIT) are aborted: an RST
        (RFC 9293 §3.10.5). Connections whose FIN is not acknowledged yet (FIN-WAIT-1,
        CLOSING, LAST-ACK) get up to ``grace`` seconds to finish, retransmitting as usual;
        those still waiting then are aborted too. FIN-WAIT-2 and TIME-WAIT have nothing
        left to say. Everything queued reaches the link before it closes."""
        rep = ShutdownReport(grace=grace)
        rep.dropped = self.fair.dropped
        if self.closed:
            return rep
        host = self.host
        finishing: list = []
        with self.lock:
            now = self.clock()
            for lst in list(host.listeners.values()):
                lst.close(now)
            for conn in list(host.conns.values()):
                st = conn.state.value
                if st in _FIN_IN_FLIGHT:
                    finishing.append(conn)
                elif st in _OPEN:
                    conn.abort(now)
                    host.call(conn, now)
                    rep.reset += 1
            self._send_queued()
            self._arm(host.next_deadline())
        if finishing and self.loop is not None and grace > 0:
            await self.wait_for(lambda: all(c.state.value not in _FIN_IN_FLIGHT for c in finishing), grace)
        with self.lock:
            now = self.clock()
            for conn in finishing:
                if conn.state.value in _FIN_IN_FLIGHT:
                    conn.abort(now)
                    host.call(conn, now)
                    rep.late += 1
                else:
                    rep.finished += 1
            self._send_queued()
        self.close()
        return rep

    def _arm(self, d: int | None) -> None:
        """Lock held: make sure a timer fires at ``d`` at the latest (one asyncio timer)."""
        if d is None or self.closed or self.loop is None:
            return  # a stale timer firing early does no harm: it finds nothing due
        at = self._timer_at
        if at is not None and at <= d:
            return
        self._timer_at = d
        if threading.get_ident() == self._loop_ident:
            self._set_timer(d)
        else:  # a thread of the application: the loop sets its own timers
            self.loop.call_soon_threadsafe(self._arm_from_loop, d)

    def _set_timer(self, d: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_at(self.clock.loop_time(d), self._on_timer)  # type: ignore[union-attr]

    def _arm_from_loop(self, d: int) -> None:
        with self.lock:
            if self._timer_at == d and not self.closed:
                self._set_timer(d)

    def _wake(self) -> None:
        waiters = self._waiters
        if waiters:
            self._waiters = []
            for f in waiters:
                if not f.done():
                    f.set_result(None)
        conds = self._conds
        if conds:
            # Conditions are checked here, so that a coroutine resumes only when its own
            # condition holds: with a thousand connections waiting, a batch that concerns
            # one of them wakes one coroutine, not a thousand.
            closed = self.closed
            keep = []
            for entry in conds:
                cond, f = entry
                if f.done():
                    continue
                try:
                    ready = closed or cond()
                except Exception:
                    ready = True  # the waiter evaluates it again and sees the error itself
                if ready:
                    f.set_result(None)
                else:
                    keep.append(entry)
            self._conds = keep
        if self._thread_waiting:
            self.cond.notify_all()

    # ---------------------------------------------------------------- applications
    def kick(self) -> None:
        """After a user call touched the Host: transmit now and re-arm the timer."""
        with self.lock:
            self._flush()

    async def wait(self) -> None:
        """(asyncio, on the driver's loop) Return after the next batch or timer."""
        if self.closed:
            raise ConnectionAbortedError("the synack stack was closed")
        f = self.loop.create_future()  # type: ignore[union-attr]
        self._waiters.append(f)
        await f

    async def wait_for(self, cond: Callable[[], bool], timeout: float | None = None) -> bool:
        """(asyncio, on the driver's loop) Wait until ``cond()``; False if ``timeout``
        seconds pass first. The driver checks ``cond`` after every batch and resumes the
        caller only once it holds (or the driver closes), unlike :meth:`wait`, which
        resumes every waiter after every batch."""
        if cond():
            return True
        if self.closed:
            return False
        f = self.loop.create_future()  # type: ignore[union-attr]
        self._conds.append((cond, f))
        try:
            if timeout is None:
                await f
            else:
                await asyncio.wait_for(f, timeout)
        except TimeoutError:
            pass
        return cond()

    def wait_thread(self, cond: Callable[[], bool], timeout: float | None = None) -> bool:
        """(threads, lock held) Wait until ``cond()``; False after ``timeout`` seconds."""
        end = None if timeout is None else time.monotonic() + timeout
        self._flush()
        while not cond():
            if self.closed:
                return cond()
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                return False
            self._thread_waiting += 1
            try:
                self.cond.wait(left)
            finally:
                self._thread_waiting -= 1
            self._flush()
        return True


class BackgroundDriver(Driver):
    """A :class:`Driver` whose asyncio loop runs in a daemon thread of its own, so the
    stack keeps answering the peer (ACKs, handshakes, TIME-WAIT) while threads of the
    application compute or block, as a kernel would."""

    def __init__(self, host: Host, link: Any, *, clock: Clock | None = None) -> None:
        super().__init__(host, link, clock=clock)
        self._thread: threading.Thread | None = None

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:  # noqa: ARG002
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        err: list = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                Driver.start(self, loop)
            except BaseException as e:  # handed to start()'s caller
                err.append(e)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name=f"synack-{self.host.name}", daemon=True)
        self._thread.start()
        ready.wait()
        if err:
            raise err[0]

    def close(self) -> None:
        if self.closed:
            return
        loop = self.loop

        def stop() -> None:
            with self.lock:
                Driver.close(self)
            loop.stop()  # type: ignore[union-attr]

        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(stop)
            if self._thread is not None and self._thread is not threading.current_thread():
                self._thread.join(5)
        else:
            Driver.close(self)
