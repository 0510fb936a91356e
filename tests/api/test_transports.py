"""asyncio transports and protocols over synack (synack.api.transports), on the simulator:
what a protocol sees, flow control both ways, servers, an h11 HTTP server and client, and
the exceptions compared with asyncio's own on Linux loopback sockets."""

from __future__ import annotations

import asyncio
import errno
import socket

import h11
import pytest
from api_helpers import make_net

from synack.api import simloop, transports
from synack.tcp.state import State
from synack.timeunits import ms


class Recorder(asyncio.Protocol):
    """Writes down every callback, in order."""

    def __init__(self, reading: bool = True) -> None:
        self.events: list = []
        self.data = bytearray()
        self.reading = reading
        self.lost: asyncio.Future = asyncio.get_running_loop().create_future()

    def connection_made(self, transport):
        self.transport = transport
        self.events.append("made")
        if not self.reading:
            transport.pause_reading()

    def data_received(self, data):
        self.data += data
        if not self.events or self.events[-1] != "data":
            self.events.append("data")

    def eof_received(self):
        self.events.append("eof")
        return True  # keep the transport open: a half-close

    def pause_writing(self):
        self.events.append("pause_writing")

    def resume_writing(self):
        self.events.append("resume_writing")

    def connection_lost(self, exc):
        self.events.append(("lost", type(exc).__name__ if exc else None))
        self.lost.set_result(exc)


def keep(served: list[Recorder], proto: Recorder) -> Recorder:
    served.append(proto)
    return proto


def setup(delay_ms: float = 5):
    net = make_net()
    net.default_path.delay = ms(delay_ms)
    return net, transports.Stack("client", net), transports.Stack("server", net)


def test_a_protocol_sees_made_data_eof_and_lost_in_order():
    net, cs, ss = setup()
    served: list[Recorder] = []

    def factory():
        served.append(Recorder())
        return served[-1]

    async def main():
        server = await transports.create_server(factory, "10.0.0.2", 80, stack=ss)
        tr, proto = await transports.create_connection(Recorder, "10.0.0.2", 80, stack=cs)
        assert isinstance(proto, Recorder)
        assert tr.get_extra_info("peername") == ("10.0.0.2", 80)
        assert tr.get_extra_info("sockname")[0] == "10.0.0.1"
        assert tr.get_extra_info("connection").state is State.ESTABLISHED
        tr.write(b"hello ")
        tr.writelines([b"wor", b"ld"])
        tr.write_eof()                        # FIN after the data; reading goes on
        assert tr.can_write_eof() and not tr.is_closing()
        await asyncio.sleep(0.1)
        peer = served[0]
        peer.transport.write(b"back")
        peer.transport.close()
        await peer.lost
        await asyncio.sleep(0.1)
        half_closed = list(proto.events)     # asyncio keeps a transport whose protocol said so
        state = tr.get_extra_info("connection").state
        tr.close()
        await proto.lost
        server.close()
        await server.wait_closed()
        return proto, peer, half_closed, state

    proto, peer, half_closed, state = simloop.run(main(), net)
    assert bytes(peer.data) == b"hello world" and bytes(proto.data) == b"back"
    assert peer.events == ["made", "data", "eof", ("lost", None)]
    assert half_closed == ["made", "data", "eof"] and state is State.TIME_WAIT
    assert proto.events[-1] == ("lost", None)


def test_writes_pause_the_protocol_above_the_high_water_mark_and_resume_it():
    net, cs, ss = setup()
    served: list[Recorder] = []

    async def main():
        await transports.create_server(lambda: keep(served, Recorder()), None, 80, stack=ss)
        tr, proto = await transports.create_connection(Recorder, "10.0.0.2", 80, stack=cs)
        tr.set_write_buffer_limits(high=4096)
        assert tr.get_write_buffer_limits() == (1024, 4096)
        tr.write(b"x" * 1_000_000)            # far more than the send buffer takes at once
        queued = tr.get_write_buffer_size()
        while tr.get_write_buffer_size():
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        return queued, proto, served[0]

    queued, proto, peer = simloop.run(main(), net)
    assert queued > 4096
    assert proto.events[:3] == ["made", "pause_writing", "resume_writing"]
    assert len(peer.data) == 1_000_000


def test_pause_reading_closes_the_receive_window_and_resume_delivers_everything():
    net, cs, ss = setup()
    served: list[Recorder] = []

    async def main():
        await transports.create_server(lambda: keep(served, Recorder(reading=False)), None, 80, stack=ss)
        tr, _ = await transports.create_connection(Recorder, "10.0.0.2", 80, stack=cs)
        tr.write(b"y" * 3_000_000)
        await asyncio.sleep(5)
        peer = served[0]
        stalled = (len(peer.data), tr.get_write_buffer_size(), peer.transport.is_reading())
        peer.transport.resume_reading()
        while len(peer.data) < 3_000_000:
            await asyncio.sleep(0.05)
        return stalled, peer

    (got, left, reading), peer = simloop.run(main(), net)
    assert got == 0 and left > 0 and not reading   # the window closed: the sender waits
    assert len(peer.data) == 3_000_000


def test_a_server_accepts_many_and_serve_forever_ends_with_close():
    net, cs, ss = setup()
    seen = []

    async def handle(reader, writer):
        seen.append(await reader.readline())
        writer.write(b"ok\n")
        await writer.drain()
        writer.close()

    async def main():
        server = await transports.start_server(handle, None, 0, stack=ss)
        port = server.sockets[0].getsockname()[1]
        assert server.is_serving() and port > 0
        forever = asyncio.ensure_future(server.serve_forever())
        answers = []
        for i in range(3):
            r, w = await transports.open_connection("server", port, stack=cs)
            w.write(f"hello {i}\n".encode())
            answers.append(await r.readline())
            w.close()
            await w.wait_closed()
        server.close()
        with pytest.raises(asyncio.CancelledError):
            await forever
        await server.wait_closed()
        return answers, server.is_serving()

    answers, serving = simloop.run(main(), net)
    assert answers == [b"ok\n"] * 3 and not serving
    assert sorted(seen) == [b"hello 0\n", b"hello 1\n", b"hello 2\n"]


def test_binding_a_busy_port_is_worded_as_asyncio_words_it_on_linux():
    async def real():
        first = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        addr = first.sockets[0].getsockname()
        with pytest.raises(OSError) as e:
            await asyncio.start_server(lambda r, w: None, *addr)
        first.close()
        return _shape(e.value, addr)

    net, cs, ss = setup()

    async def sim():
        await transports.create_server(asyncio.Protocol, "10.0.0.2", 80, stack=ss)
        with pytest.raises(OSError) as e:
            await transports.create_server(asyncio.Protocol, "10.0.0.2", 80, stack=ss)
        return _shape(e.value, ("10.0.0.2", 80))

    kernel = asyncio.run(real())
    assert simloop.run(sim(), net) == kernel
    assert kernel[1] == errno.EADDRINUSE


# ------------------------------------------------------------------------ h11
class HttpServer(asyncio.Protocol):
    """An HTTP/1.1 server written for asyncio with h11, knowing nothing of synack."""

    def connection_made(self, transport):
        self.transport = transport
        self.http = h11.Connection(h11.SERVER)

    def data_received(self, data):
        self.http.receive_data(data)
        self._drive()

    def eof_received(self):
        self.http.receive_data(b"")
        self._drive()
        return True

    def _drive(self):
        while True:
            event = self.http.next_event()
            if event in (h11.NEED_DATA, h11.PAUSED):
                return
            if isinstance(event, h11.Request):
                self.target = event.target.decode()
            elif isinstance(event, h11.EndOfMessage):
                body = f"hello from synack, you asked for {self.target}\n".encode()
                headers = [("content-type", "text/plain"), ("content-length", str(len(body)))]
                self.transport.write(self.http.send(h11.Response(status_code=200, headers=headers)))
                self.transport.write(self.http.send(h11.Data(data=body)))
                self.transport.write(self.http.send(h11.EndOfMessage()))
                if self.http.our_state is h11.MUST_CLOSE:
                    self.transport.close()
                    return
                self.http.start_next_cycle()
            elif isinstance(event, h11.ConnectionClosed):
                self.transport.close()
                return


async def http_get(host: str, port: int, target: str, stack) -> tuple[int, bytes]:
    """An h11 client over asyncio's StreamReader/StreamWriter."""
    reader, writer = await transports.open_connection(host, port, stack=stack)
    http = h11.Connection(h11.CLIENT)
    writer.write(http.send(h11.Request(method="GET", target=target, headers=[("host", host)])))
    writer.write(http.send(h11.EndOfMessage()))
    await writer.drain()
    status, body = 0, b""
    while True:
        event = http.next_event()
        if event is h11.NEED_DATA:
            http.receive_data(await reader.read(4096))
        elif isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            break
    writer.close()
    await writer.wait_closed()
    return status, body


def test_an_h11_server_and_client_talk_http_over_synack_transports():
    net, cs, ss = setup(delay_ms=25)

    async def main():
        server = await transports.create_server(HttpServer, None, 8080, stack=ss)
        first = await http_get("server", 8080, "/index.html", cs)
        second = await http_get("10.0.0.2", 8080, "/again", cs)
        server.close()
        await server.wait_closed()
        return first, second, asyncio.get_running_loop().time()

    first, second, t = simloop.run(main(), net)
    assert first == (200, b"hello from synack, you asked for /index.html\n")
    assert second == (200, b"hello from synack, you asked for /again\n")
    assert t >= 0.2   # two handshakes and two exchanges of 50 ms round trips


# ------------------------------------------------------------------------ parity with asyncio on Linux
def _closed_loopback_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _shape(exc: BaseException, addr: tuple) -> tuple:
    return type(exc), getattr(exc, "errno", None), str(exc).replace(repr(addr), "ADDR")


def test_a_refused_connect_raises_what_asyncio_raises_on_linux():
    port = _closed_loopback_port()

    async def real():
        with pytest.raises(OSError) as e:
            await asyncio.open_connection("127.0.0.1", port)
        return _shape(e.value, ("127.0.0.1", port))

    net, cs, _ = setup()

    async def sim():
        with pytest.raises(OSError) as e:
            await transports.open_connection("10.0.0.2", 4444, stack=cs)
        return _shape(e.value, ("10.0.0.2", 4444))

    kernel = asyncio.run(real())
    assert simloop.run(sim(), net) == kernel
    assert kernel[0] is ConnectionRefusedError and kernel[1] == errno.ECONNREFUSED


async def _reset_scenario(open_connection, start_server, settle):
    """A server that aborts with a reset (SO_LINGER 0 on Linux, abort() of synack's
    socket-like streams); what the client's asyncio streams then raise."""
    out: list[tuple] = []
    reader, writer = await open_connection()
    writer.write(b"hello")
    await writer.drain()
    for _ in range(2):
        try:
            out.append(("read", await reader.read(10)))
        except OSError as e:
            out.append(("read", type(e), e.errno))
    try:
        writer.write(b"more")
        await writer.drain()
        out.append(("drain", "ok"))
    except OSError as e:
        out.append(("drain", type(e), e.errno, str(e)))
    writer.close()
    try:
        await writer.wait_closed()
        out.append(("wait_closed", "ok"))
    except OSError as e:
        out.append(("wait_closed", type(e), e.errno))
    return out


def test_a_reset_surfaces_as_it_does_with_asyncio_on_linux():
    async def real():
        async def rude(reader, writer):
            await reader.read(5)
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            writer.transport.abort()

        server = await asyncio.start_server(rude, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await _reset_scenario(lambda: asyncio.open_connection("127.0.0.1", port), None, None)

    net, cs, ss = setup()

    async def sim():
        from synack.api import streams

        async def rude(reader, writer):
            await reader.read(5)
            writer.abort()   # RST (RFC 9293 §3.10.5), as SO_LINGER (1, 0) does on Linux

        await streams.start_server(rude, None, 80, stack=streams.Stack(ss.host, net))
        return await _reset_scenario(lambda: transports.open_connection("10.0.0.2", 80, stack=cs), None, None)

    kernel = asyncio.run(asyncio.wait_for(real(), 10))
    assert simloop.run(sim(), net) == kernel
    assert kernel[0][1] is ConnectionResetError


def test_a_reset_after_the_peers_fin_surfaces_on_the_next_write_as_on_linux():
    async def scenario(open_connection):
        reader, writer = await open_connection()
        out: list = [await reader.read()]          # the data, then the peer's FIN
        await asyncio.sleep(0.2)                   # meanwhile the peer resets
        out.append(writer.transport.is_closing())
        writer.write(b"late")
        try:
            await writer.drain()
            out.append("drained")
        except OSError as e:
            out.append((type(e), e.errno))
        writer.write(b"dropped")                   # after the loss: dropped, no error
        out.append(writer.transport.is_closing())
        return out

    async def real():
        async def fin_then_reset(reader, writer):
            writer.write(b"bye")
            writer.write_eof()
            await asyncio.sleep(0.05)
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            writer.transport.abort()

        server = await asyncio.start_server(fin_then_reset, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await scenario(lambda: asyncio.open_connection("127.0.0.1", port))

    net, cs, ss = setup()

    async def sim():
        from synack.api import streams

        async def fin_then_reset(reader, writer):
            writer.write(b"bye")
            writer.write_eof()
            await asyncio.sleep(0.05)
            writer.abort()

        await streams.start_server(fin_then_reset, None, 80, stack=streams.Stack(ss.host, net))
        return await scenario(lambda: transports.open_connection("10.0.0.2", 80, stack=cs))

    kernel = asyncio.run(asyncio.wait_for(real(), 10))
    assert simloop.run(sim(), net) == kernel
    assert kernel[0] == b"bye" and issubclass(kernel[2][0], ConnectionError)
