"""The real-time driver without a device: two stacks joined by a packet pipe in one
process. What it must do when a stack goes away (SIGINT, SIGTERM, close()): what the Host
queued reaches the link, open connections are reset in front of the peer, and a FIN in
flight gets a bounded grace period. And waiting: a coroutine waiting on its condition is
resumed once it holds, not after every batch."""

from __future__ import annotations

import asyncio

import pytest

from synack.api import streams
from synack.link.driver import real_host
from synack.link.pipe import PipeLink
from synack.tcp.state import State


class Wire:
    """Two PipeLinks joined; ``cut_to_a`` drops what b sends to a (a's FIN then stays
    unacknowledged)."""

    def __init__(self) -> None:
        self.cut_to_a = False
        self.a = PipeLink(lambda p: self.b.deliver(p))
        self.b = PipeLink(lambda p: None if self.cut_to_a else self.a.deliver(p))


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


async def connected(wire: Wire):
    sa = streams.Stack(real_host("10.7.0.1", name="a"), wire.a)
    sb = streams.Stack(real_host("10.7.0.2", name="b"), wire.b)
    accepted: asyncio.Future = asyncio.get_running_loop().create_future()

    async def keep(reader, writer) -> None:
        accepted.set_result((reader, writer))

    await streams.start_server(keep, None, 7, stack=sb)
    reader, writer = await streams.open_connection("10.7.0.2", 7, stack=sa, timeout=5)
    b_reader, b_writer = await asyncio.wait_for(accepted, 5)
    return sa, sb, (reader, writer), (b_reader, b_writer)


def test_shutdown_resets_open_connections_in_front_of_the_peer():
    async def main():
        wire = Wire()
        sa, sb, (r, w), (br, bw) = await connected(wire)
        report = await sa.driver.shutdown(grace=0.5)
        assert sa.driver.closed
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(br.read(100), 5)
        sb.close()
        return str(report), bw.connection.state

    said, state = run(main())
    assert said == "reset 1 open connection, 0 closing connections finished their FIN exchange"
    assert state is State.CLOSED


def test_shutdown_gives_a_fin_in_flight_its_grace_period_then_resets():
    async def main():
        wire = Wire()
        sa, sb, (r, w), (br, bw) = await connected(wire)
        wire.cut_to_a = True            # nothing comes back: a's FIN is never acknowledged
        w.close()
        conn = w.connection
        await asyncio.sleep(0.05)
        assert conn.state is State.FIN_WAIT_1
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        report = await sa.driver.shutdown(grace=0.3)
        waited = loop.time() - t0
        assert await asyncio.wait_for(br.read(100), 5) == b""   # the FIN arrived ...
        await asyncio.sleep(0.05)
        assert bw.connection.state is State.CLOSED               # ... and then the RST
        sb.close()
        return str(report), waited

    said, waited = run(main())
    assert said == ("reset 0 open connections, 0 closing connections finished their FIN exchange, "
                    "1 more reset after the 0.3 s grace period")
    assert 0.3 <= waited < 2


def test_shutdown_lets_a_fin_exchange_finish():
    """a's data and FIN are out but unacknowledged when the stack shuts down; the path
    comes back during the grace period, a retransmits, and the exchange completes."""
    async def main():
        wire = Wire()
        sa, sb, (r, w), (br, bw) = await connected(wire)
        wire.cut_to_a = True
        w.write(b"last words")
        w.close()
        await asyncio.sleep(0.05)
        assert w.connection.state is State.FIN_WAIT_1
        shutdown = asyncio.ensure_future(sa.driver.shutdown(grace=3))
        await asyncio.sleep(0.1)
        wire.cut_to_a = False           # the ACKs get through again
        report = await shutdown
        got = await asyncio.wait_for(br.read(), 5)
        sb.close()
        return str(report), got

    said, got = run(main())
    assert got == b"last words"
    assert said == "reset 0 open connections, 1 closing connection finished its FIN exchange"


def test_close_transmits_what_the_host_queued():
    """An abort just before close(): the RST is written, not dropped with the link."""
    async def main():
        wire = Wire()
        sa, sb, (r, w), (br, bw) = await connected(wire)
        conn = w.connection
        conn.abort(sa.driver.clock())
        sa.host.call(conn, sa.driver.clock())   # the RST is queued, not yet transmitted
        sa.close()
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(br.read(100), 5)
        sb.close()

    run(main())


def test_wait_for_resumes_only_when_the_condition_holds():
    async def main():
        wire = Wire()
        sa, sb, (r, w), (br, bw) = await connected(wire)
        d = sb.driver
        checks = 0
        conn = bw.connection

        def readable() -> bool:
            nonlocal checks
            checks += 1
            return conn.readable >= 3

        waiter = asyncio.ensure_future(d.wait_for(readable, 5))
        for _ in range(3):
            w.write(b"x")
            await w.drain()
            await asyncio.sleep(0.02)
        ok = await waiter
        timed_out = await d.wait_for(lambda: False, 0.05)
        sa.close()
        sb.close()
        return ok, checks, timed_out

    ok, checks, timed_out = run(main())
    assert ok is True and timed_out is False
    assert checks >= 2     # checked by the driver after batches, returned once it held


def test_shutdown_says_how_many_arriving_packets_overload_dropped():
    async def main():
        wire = Wire()
        sa, sb, _, _ = await connected(wire)
        sa.driver.fair.dropped = 1234   # (as link/fair.py counts a SYN flood beyond syn_limit)
        report = await sa.driver.shutdown(grace=0)
        sb.close()
        return str(report)

    said = run(main())
    assert said.endswith(", 1234 arriving packets dropped while synack was overloaded")
