"""synack's asyncio transports (synack.api.transports) against Linux's TCP over a TUN device,
in a namespace each test creates: an h11 server written for asyncio answers curl, and
asyncio's own StreamReader/StreamWriter talk to a kernel socket."""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets

import h11
import pytest
from kernel_helpers import KERNEL_ADDR, PREFIX, SYNACK_ADDR, Capture, in_thread

from synack.api import transports


@pytest.fixture
def tbed(netns, tmp_path):
    dev = f"sk{secrets.token_hex(3)}"
    stack = transports.Stack.tun(PREFIX, name=dev, netns=netns.name)
    cap = Capture(netns, dev, str(tmp_path / "transports.pcap"))
    try:
        yield netns, stack
    finally:
        stack.close()
        cap.stop()
    bad = cap.bad()
    assert not bad, "malformed packets in the capture:\n" + "\n".join(bad[:20])


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


class HttpServer(asyncio.Protocol):
    """HTTP/1.1 on h11, as one writes it for asyncio: nothing here knows synack."""

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
                body = (b"x" * 200_000) if self.target == "/big" else f"hello {self.target}\n".encode()
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


async def curl(ns, *args: str) -> tuple[int, bytes]:
    proc = await asyncio.create_subprocess_exec("ip", "netns", "exec", ns.name, "curl", "-sS", "-m", "20", *args,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return proc.returncode, out


def test_an_h11_server_on_synack_transports_answers_curl(tbed):
    ns, stack = tbed

    async def main():
        server = await transports.create_server(HttpServer, None, 8080, stack=stack)
        async with server:
            _, small = await curl(ns, f"http://{SYNACK_ADDR}:8080/hello")
            # two requests on one kept-alive connection, the second one large
            _, both = await curl(ns, f"http://{SYNACK_ADDR}:8080/a", f"http://{SYNACK_ADDR}:8080/big")
        return small, both

    small, both = run(main())
    assert small == b"hello /hello\n"
    assert both == b"hello /a\n" + b"x" * 200_000


def test_asyncio_streams_on_synack_transports_talk_to_a_kernel_socket(tbed):
    ns, stack = tbed
    srv = ns.socket()
    srv.bind((KERNEL_ADDR, 7500))
    srv.listen()
    srv.settimeout(10)
    data = os.urandom(1 << 20)

    def kernel_echo() -> None:
        c, _ = srv.accept()
        c.settimeout(10)
        while chunk := c.recv(65536):
            c.sendall(chunk)
        c.close()

    done = in_thread(kernel_echo)

    async def main() -> bytes:
        reader, writer = await transports.open_connection(KERNEL_ADDR, 7500, stack=stack)
        assert isinstance(reader, asyncio.StreamReader) and isinstance(writer, asyncio.StreamWriter)
        assert writer.get_extra_info("peername") == (KERNEL_ADDR, 7500)
        sender = asyncio.ensure_future(_send_all(writer, data))
        back = await reader.read()           # to the kernel's FIN
        await sender
        writer.close()
        await writer.wait_closed()
        with pytest.raises(ConnectionRefusedError, match="Connect call failed"):
            await transports.open_connection(KERNEL_ADDR, 7501, stack=stack)
        return back

    back = run(main())
    done.result(10)
    assert hashlib.sha256(back).digest() == hashlib.sha256(data).digest()


async def _send_all(writer: asyncio.StreamWriter, data: bytes) -> None:
    for i in range(0, len(data), 50_000):
        writer.write(data[i:i + 50_000])
        await writer.drain()
    writer.write_eof()
