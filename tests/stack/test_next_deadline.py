"""A host's next deadline is always the earliest timer of the connections (and TIME-WAIT
records) it holds, whatever happened since: timers armed, moved, cancelled, connections
deleted, taken over by their TIME-WAIT record, reset, or still half-open. The host keeps
that minimum as deadlines change; this checks it against every connection's own timers
after every event of busy, lossy traffic."""

from __future__ import annotations

from contextlib import suppress

from synack.link.sim import Network
from synack.tcp.connection import Connection
from synack.tcp.errors import TcpError
from synack.timeunits import ms, sec


def _earliest(host) -> int | None:
    ds = [c.timers.next if type(c) is Connection else c.next_deadline() for c in host.conns.values()]
    ds += [host.fragments.deadline] + [lst.deadline() for lst in host.syn_queues]
    due = [d for d in ds if d is not None]
    return min(due) if due else None


def test_the_next_deadline_is_the_earliest_timer_of_every_connection_after_every_event():
    net = Network(seed=5, trace=False)
    c = net.add_host("c", ["10.0.0.1"])
    s = net.add_host("s", ["10.0.0.2"], max_syn_backlog=4)
    net.set_both("c", "s", delay=ms(2), jitter=ms(3), loss=0.05)
    lst = s.listen(80, net.now, backlog=3)
    conns = []
    checked = 0
    for i in range(60):
        conns.append(c.connect("10.0.0.2", 80, net.now))
        if i % 7 == 3:
            with suppress(TcpError):
                conns[-2].abort(net.now)
        for _ in range(5 + i % 4):
            net.step()
            for h in (c, s):
                assert h.next_deadline() == _earliest(h), (i, h.name, net.now)
                checked += 1
        while (a := lst.accept()) is not None:
            with suppress(TcpError):
                a.send(b"y" * 3000, net.now)
                if i % 2:
                    a.close(net.now)
            conns.append(a)
    for x in conns:
        with suppress(TcpError):
            x.close(net.now)
    end = net.now + sec(200)
    while net.now < end and net.step():
        for h in (c, s):
            assert h.next_deadline() == _earliest(h), (h.name, net.now)
            checked += 1
    assert checked > 1000
    assert c.table.time_wait > 0 or net.now >= sec(60)
