"""Helpers for the socket facade tests: a two-host network and a connected pair."""

from __future__ import annotations

from synack import api
from synack.link.sim import Network
from synack.timeunits import ms


def make_net(seed: int = 7, client: tuple[str, ...] = ("10.0.0.1",), server: tuple[str, ...] = ("10.0.0.2",),
             **host_kwargs) -> Network:
    net = Network(seed=seed)
    net.default_path.delay = ms(5)
    net.add_host("client", list(client), **host_kwargs)
    net.add_host("server", list(server), **host_kwargs)
    return net


def connected_pair(net: Network, port: int = 80, family: int = api.AF_INET, server_addr: str = "10.0.0.2"):
    """(client socket, accepted server socket, listening socket)."""
    srv = api.create_server(net, "server", ("", port), family=family)
    cli = api.create_connection(net, "client", (server_addr, port))
    conn, _ = srv.accept()
    return cli, conn, srv


def outcome(fn):
    """("ok", result) or (exception class, errno, args), to compare two worlds."""
    try:
        return ("ok", fn())
    except Exception as e:  # noqa: BLE001 - the point is to capture it
        return (type(e), getattr(e, "errno", None), e.args)


def failure(fn):
    """Like outcome(), but a success is just "ok" (results differ between worlds)."""
    r = outcome(fn)
    return "ok" if r[0] == "ok" else r
