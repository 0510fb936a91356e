"""Small simulated runs whose traces the view tests look at (JSON Lines, ladder, pcapng).

Each function builds a fresh network, drives it through synack.api like an application
would, runs it until idle, and returns the Network (its recorder holds the events, its
``recorder.names`` the address -> host name map).
"""

from __future__ import annotations

from synack import api
from synack.link.sim import Network
from synack.timeunits import ms

CLIENT_ADDR, SERVER_ADDR, THIRD_ADDR = "10.0.0.1", "10.0.0.2", "10.0.0.3"


def _net(seed: int = 1, v6: bool = False) -> Network:
    net = Network(seed=seed)
    net.add_host("client", ["fd00::1" if v6 else CLIENT_ADDR])
    net.add_host("server", ["fd00::2" if v6 else SERVER_ADDR])
    net.default_path.delay = ms(10)
    return net


def session(seed: int = 1, drops: tuple = (), v6: bool = False, rack: bool = True) -> Network:
    """Handshake, a request and a reply, the client closes first, TIME-WAIT runs out.
    ``drops``: (from, to, n) triples for ``drop_nth``; ``rack=False`` turns RACK-TLP off."""
    net = _net(seed, v6)
    for h in net.hosts.values():
        h.config.rack = rack
        h.config.syn_linear_timeouts = 0  # (the SYN backoff doubles from the first: 1 s, 2 s)
    for a, b, n in drops:
        net.drop_nth(a, b, n)
    server_addr = "fd00::2" if v6 else SERVER_ADDR
    srv = api.create_server(net, "server", (server_addr, 80), family=api.AF_INET6 if v6 else api.AF_INET)
    cli = api.create_connection(net, "client", (server_addr, 80))
    conn, _ = srv.accept()
    cli.sendall(b"GET / HTTP/1.0\r\n\r\n")
    conn.recv(1024)
    conn.sendall(b"HTTP/1.0 200 OK\r\n\r\nhello")
    cli.recv(1024)
    cli.close()
    conn.recv(1024)
    conn.close()
    srv.close()
    net.run()
    return net


def lossy_session() -> Network:
    """``session`` with the first two SYNs lost (two RTO retransmissions with backoff) and
    the server's reply lost once (an RTO retransmission of data: without RACK-TLP, whose
    probe would go out at the RTO's time in its place, RFC 8985 §7.2)."""
    return session(drops=(("client", "server", 1), ("client", "server", 2), ("server", "client", 3)), rack=False)


def refused() -> Network:
    """A connect to a port nobody listens on: RST, ConnectionRefusedError."""
    net = _net()
    try:
        api.create_connection(net, "client", (SERVER_ADDR, 81))
    except ConnectionRefusedError:
        pass
    else:  # pragma: no cover - the stack would be broken
        raise AssertionError("connect to a closed port succeeded")
    net.run()
    return net


def half_close() -> Network:
    """The client shuts down its sending side and still receives the reply."""
    net = _net()
    srv = api.create_server(net, "server", (SERVER_ADDR, 80))
    cli = api.create_connection(net, "client", (SERVER_ADDR, 80))
    conn, _ = srv.accept()
    cli.sendall(b"x" * 100)
    cli.shutdown(api.SHUT_WR)
    assert conn.recv(1024) == b"x" * 100
    assert conn.recv(1024) == b""
    conn.sendall(b"y" * 50)
    conn.close()
    assert cli.recv(1024) == b"y" * 50
    cli.close()
    srv.close()
    net.run()
    return net


def three_hosts() -> Network:
    """Two clients (alice, bob) open connections to one server; bob's first SYN is lost."""
    net = Network(seed=2)
    net.add_host("alice", [CLIENT_ADDR])
    net.add_host("server", [SERVER_ADDR])
    net.add_host("bob", [THIRD_ADDR])
    net.default_path.delay = ms(10)
    net.drop_nth("bob", "server", 1)
    srv = api.create_server(net, "server", (SERVER_ADDR, 80))
    a = api.create_connection(net, "alice", (SERVER_ADDR, 80))
    b = api.create_connection(net, "bob", (SERVER_ADDR, 80))
    ca, _ = srv.accept()
    cb, _ = srv.accept()
    a.close()
    b.close()
    ca.close()
    cb.close()
    srv.close()
    net.run()
    return net
