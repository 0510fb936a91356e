"""asyncio on the simulator: the event loop's clock is the network's, so sleeping and TIME-WAIT
cost no wall time, and the same application code runs on the simulator and on a real link."""

from __future__ import annotations

import asyncio

import pytest
from api_helpers import make_net

from synack.api import SimulationIdle, runtime_of, simloop, streams, transports
from synack.api.runtime import RealRuntime, Runtime, SimRuntime
from synack.link.driver import real_host
from synack.link.pipe import pipe_pair
from synack.tcp.state import State
from synack.timeunits import ms, sec


def sim_stacks(net):
    return transports.Stack("client", net), transports.Stack("server", net)


def test_asyncio_sleep_advances_the_simulated_clock_only():
    net = make_net()

    async def main():
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.sleep(60)
        return start, loop.time()

    start, end = simloop.run(main(), net)
    assert (start, end) == (0.0, 60.0)
    assert net.now == sec(60)


def test_timers_fire_in_simulated_order_with_call_later_and_wait_for():
    net = make_net()

    async def main():
        loop = asyncio.get_running_loop()
        fired: list[str] = []
        loop.call_later(2.5, fired.append, "b")
        loop.call_later(0.001, fired.append, "a")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.Event().wait(), 3)
        return fired, loop.time()

    fired, t = simloop.run(main(), net)
    assert fired == ["a", "b"]
    assert t == pytest.approx(3.0, abs=1e-9)


async def echo_once(reader, writer):
    writer.write(await reader.read())
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def client_app(client_stack, server_stack, server_addr: str, data: bytes) -> bytes:
    """One piece of asyncio code, unchanged on every link: an echo over asyncio's streams."""
    server = await transports.start_server(echo_once, None, 7, stack=server_stack)
    reader, writer = await transports.open_connection(server_addr, 7, stack=client_stack)
    writer.write(data)
    writer.write_eof()
    back = await reader.read()
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()
    return back


def test_the_same_application_code_runs_on_the_simulator_and_on_a_pipe():
    data = bytes(range(256)) * 400
    net = make_net()
    net.default_path.delay = ms(20)
    client, server = sim_stacks(net)
    on_sim = simloop.run(client_app(client, server, "10.0.0.2", data), net)
    a, b = pipe_pair()
    ca, cb = transports.Stack(real_host("10.7.0.1", name="a"), a), transports.Stack(real_host("10.7.0.2"), b)
    try:
        on_pipe = asyncio.run(asyncio.wait_for(client_app(ca, cb, "10.7.0.2", data), 30))
    finally:
        ca.close()
        cb.close()
    assert on_sim == on_pipe == data
    assert net.now >= ms(80)  # two round trips of simulated time went by


def test_time_wait_runs_out_in_simulated_time():
    net = make_net()
    net.default_path.delay = ms(5)
    cs, ss = sim_stacks(net)

    async def main():
        server = await transports.start_server(echo_once, None, 7, stack=ss)
        reader, writer = await transports.open_connection("10.0.0.2", 7, stack=cs)
        conn = writer.get_extra_info("connection")
        writer.write_eof()                 # we close first: our side ends in TIME-WAIT
        assert await reader.read() == b""
        await asyncio.sleep(0.1)
        states = [conn.state]
        await asyncio.sleep(2 * 30)        # 2 MSL (TcpConfig.msl = 30 s)
        states.append(conn.state)
        server.close()
        return states

    assert simloop.run(main(), net) == [State.TIME_WAIT, State.CLOSED]


def test_the_old_streams_run_on_the_simulator_too():
    net = make_net()
    cs, ss = streams.Stack("client", net), streams.Stack("server", net)

    async def main():
        await streams.start_server(echo_once, None, 9, stack=ss)
        reader, writer = await streams.open_connection("server", 9, stack=cs)
        writer.write(b"ping")
        writer.write_eof()
        return await reader.read()

    assert simloop.run(main(), net) == b"ping"


def test_a_wait_nothing_can_end_raises_simulation_idle():
    net = make_net()
    cs, ss = sim_stacks(net)

    async def main():
        await transports.start_server(lambda r, w: None, None, 7, stack=ss)
        reader, _ = await transports.open_connection("10.0.0.2", 7, stack=cs)
        await reader.read(1)   # the server never writes

    with pytest.raises(SimulationIdle, match="every task waits"):
        simloop.run(main(), net)


def test_a_simulated_stack_refuses_a_foreign_event_loop():
    net = make_net()
    cs, _ = sim_stacks(net)

    async def main():
        await transports.open_connection("10.0.0.2", 7, stack=cs)

    with pytest.raises(RuntimeError, match=r"simloop.run\(main\(\), net\)"):
        asyncio.run(main())


def test_a_stack_names_a_host_the_network_does_not_have():
    net = make_net()
    with pytest.raises(ValueError, match="no host named 'nobody'"):
        transports.Stack("nobody", net)


def test_every_link_has_one_runtime_interface():
    net = make_net()
    rt = runtime_of(net)
    assert isinstance(rt, SimRuntime) and runtime_of(net) is rt and isinstance(rt, Runtime)
    assert transports.Stack("client", net).runtime is rt
    a, _ = pipe_pair()
    real = transports.Stack(real_host("10.7.0.1"), a)
    try:
        assert isinstance(real.runtime, RealRuntime) and isinstance(real.runtime, Runtime)
    finally:
        real.close()
    with pytest.raises(TypeError, match="expected a synack Network or a stack"):
        runtime_of(object())
