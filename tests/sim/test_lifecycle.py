"""Many connections over a host's life: ephemeral ports, the listen backlog, table cleanup.

Every scenario runs with RFC 6528 ISNs and with ISNs near 2**32.
"""

from __future__ import annotations

from simhelp import (CLIENT, ISNS, PORT, SERVER, app_close, app_send, drops, is_syn, open_connection,
                     payload, run_until_closed, sent, states, transfer, two_hosts)

from synack.stack.host import EPHEMERAL_PORTS
from synack.tcp.connection import Connection
from synack.tcp.state import State
from synack.timeunits import ms, sec


@ISNS
def test_200_sequential_connections_all_succeed_on_distinct_ephemeral_ports(wrap):
    net, client, server = two_hosts(1, wrap=wrap)
    lst = server.listen(PORT, net.now)
    pairs = []
    for i in range(200):
        request, reply = payload(1500, 2 * i), payload(1100 + i, 2 * i + 1)
        c, s = open_connection(net, client, server, listener=lst)

        got_by_client, got_by_server = transfer(net, c, s, request, reply)

        assert (got_by_server, got_by_client) == (request, reply), f"connection {i}"
        pairs.append((c, s))
    # Each cycle takes well under 0.3 s: every earlier client connection is still in
    # TIME-WAIT (60 s), holding its port, so each new one had to pick a fresh port.
    assert net.now < sec(60)
    ports = [c.local_port for c, _ in pairs]
    assert len(set(ports)) == 200
    assert all(EPHEMERAL_PORTS[0] <= p <= EPHEMERAL_PORTS[1] for p in ports)
    assert [s.remote_port for _, s in pairs] == ports
    run_until_closed(net, *(conn for pair in pairs for conn in pair))
    assert all(c.error is None and s.error is None for c, s in pairs)
    assert client.conns == {} and server.conns == {}
    assert drops(net, "no-listener") == [] and lst.queued == 0


@ISNS
def test_backlog_full_drops_the_third_syn_until_the_server_accepts(wrap):
    net, client, server = two_hosts(1, wrap=wrap)
    # The bound itself, without SYN cookies: with them (the default, as Linux), the third
    # SYN, which finds the SYN queue full, gets a cookie (tests/stack/test_syn_flood.py).
    server.syncookies = 0
    lst = server.listen(PORT, net.now, backlog=2)
    first, second, third = (client.connect(server.addrs[0], PORT, net.now) for _ in range(3))

    net.run_for(sec(5))  # the server never calls accept meanwhile

    assert first.state is State.ESTABLISHED and second.state is State.ESTABLISHED
    assert third.state is State.SYN_SENT
    assert len(lst.accept_queue) == 2 and lst.queued == 2
    full = drops(net, "backlog-full")
    assert full and all(d.host == SERVER and is_syn(d.seg) and d.seg.src_port == third.local_port
                        for d in full)
    third_syns = [e for e in sent(net, CLIENT) if e.conn == third.cid]
    # (Linux's linear SYN timeouts: one a second at first)
    assert [(e.t, e.retransmit, e.cause) for e in third_syns] == [
        (0, False, None)] + [(sec(k), True, "rto") for k in range(1, 6)]
    assert [d.t for d in full] == [e.t + ms(10) for e in third_syns[:5]]  # (the 5 s one is on its way)

    one, two = lst.accept(), lst.accept()
    assert one is not None and two is not None
    accepted = [one, two]
    assert [a.remote_port for a in accepted] == [first.local_port, second.local_port]
    assert net.run_until(lambda: bool(lst.accept_queue), sec(10))

    late = lst.accept()
    assert late is not None
    assert late.remote_port == third.local_port
    # The SYN that got in is the retransmission at 5 s, which arrives after the accepts.
    assert states(net, third, CLIENT)[-1] == (sec(5) + ms(20), "ESTABLISHED")
    assert len(drops(net, "backlog-full")) == 5
    request = payload(3000)
    app_send(net, third, request)
    assert net.run_until(lambda: late.readable >= len(request), sec(1))
    assert late.receive(len(request), net.now) == request
    for conn in (first, second, third):
        app_close(net, conn)
    for peer in accepted + [late]:
        def at_eof(peer: Connection = peer) -> bool:
            return peer.at_eof

        assert net.run_until(at_eof, sec(1))
        app_close(net, peer)
    run_until_closed(net, first, second, third, *accepted, late)
    assert all(conn.error is None for conn in (first, second, third, *accepted, late))
