"""The demo `make demo` runs: one TCP connection on the simulator, shown segment by segment.

A client and a server on a simulated network (10 ms each way) open a connection with the
3-way handshake, exchange a request and a reply, close with the 4-way FIN exchange, and the
side that closed first waits out TIME-WAIT. Every segment is printed tcpdump-style, with
relative sequence numbers, and every state change as RFC 9293 spells it.
"""

from __future__ import annotations

from synack import api
from synack.link.sim import Network
from synack.timeunits import ms
from synack.trace.text import format_events


def run(seed: int = 1) -> Network:
    net = Network(seed=seed)
    net.add_host("client", ["10.0.0.1"])
    net.add_host("server", ["10.0.0.2"])
    net.default_path.delay = ms(10)

    server = api.create_server(net, "server", ("10.0.0.2", 80))
    client = api.create_connection(net, "client", ("10.0.0.2", 80))
    conn, _ = server.accept()
    client.sendall(b"GET / HTTP/1.1\r\nHost: server\r\n\r\n")
    request = conn.recv(1024)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    reply = client.recv(1024)
    client.close()                # the client closes first: FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT
    assert conn.recv(1024) == b""  # end of stream: the server is in CLOSE-WAIT
    conn.close()                  # LAST-ACK, then CLOSED
    server.close()
    net.run()                     # TIME-WAIT runs out: 2*MSL = 60 s of simulated time, no wall time
    print(f"request: {request!r}")
    print(f"reply:   {reply!r}")
    return net


def main() -> None:
    net = run()
    print()
    for line in format_events(net.recorder.events):
        print(line)
    print()
    print(f"simulated time: {net.now / 1e9:.3f} s (TIME-WAIT lasts 2*MSL = 60 s; the clock jumps there)")


if __name__ == "__main__":
    main()
