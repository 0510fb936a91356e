"""A small driver for end-to-end simulation tests: two hosts on a simulated network, a
handshake, and a bidirectional transfer that behaves like a careful application (it
respects ``send_space``, reads whatever arrives, closes when it has nothing more to send).

Helpers are named from the test's point of view: ``two_hosts`` builds the network,
``open_connection`` does the three-way handshake, ``transfer`` moves data both ways until
both sides have seen the other's FIN, ``run_until_closed`` waits out TIME-WAIT.
Nothing here reads or writes private fields of the stack.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import pytest

from synack.link.sim import Network
from synack.stack.host import Host
from synack.tcp.connection import Connection
from synack.tcp.isn import FixedIsn
from synack.tcp.state import State
from synack.timeunits import ms, sec
from synack.trace.events import SegmentDropped, SegmentSent, StateChanged, TimerArmed
from synack.wire.tcp import ACK, FIN, RST, SYN, TcpSegment

CLIENT, SERVER = "client", "server"
V4 = ("10.0.0.1", "10.0.0.2")
V6 = ("fd00::1", "fd00::2")
PORT = 80

#: ISNs close to 2**32: the client's sequence numbers wrap after its first 999 data octets;
#: the server's SYN takes the very last sequence number, so its first data octet is 0.
CLIENT_WRAP_ISN = 2**32 - 1000
SERVER_WRAP_ISN = 2**32 - 1

#: Every scenario runs twice: ISNs from the RFC 6528 generator, and ISNs near 2**32.
ISNS = pytest.mark.parametrize("wrap", [pytest.param(False, id="isn-rfc6528"),
                                        pytest.param(True, id="isn-near-2**32")])

#: The impaired path of the big transfer: 5 % loss with reordering, duplication, corruption.
LOSSY: dict[str, Any] = dict(delay=ms(5), jitter=ms(5), loss=0.05, reorder=0.05, duplicate=0.02, corrupt=0.02)



def two_hosts(seed: int = 1, *, wrap: bool = False, addrs: tuple[str, str] = V4,
              **path) -> tuple[Network, Host, Host]:
    """A network with hosts "client" and "server"; ``path`` sets both directions
    (``delay`` defaults to 10 ms). With ``wrap`` the hosts use ISNs near 2**32."""
    net = Network(seed=seed)
    ck: dict = {}
    sk: dict = {}
    if wrap:
        ck["isn"] = FixedIsn(CLIENT_WRAP_ISN)
        sk["isn"] = FixedIsn(SERVER_WRAP_ISN)
    client = net.add_host(CLIENT, [addrs[0]], **ck)
    server = net.add_host(SERVER, [addrs[1]], **sk)
    path.setdefault("delay", ms(10))
    net.set_both(CLIENT, SERVER, **path)
    return net, client, server


def host_of(net: Network, conn: Connection) -> Host:
    """The host that owns ``conn`` (by its local address)."""
    for h in net.hosts.values():
        if conn.local_addr in h.addrs:
            return h
    raise LookupError(f"no host owns {conn.local_addr}")


def open_connection(net: Network, client, server, port: int = PORT, timeout: int = sec(200),
                    listener=None) -> tuple[Connection, Connection]:
    """Listen on ``server``, connect from ``client``, and return (client conn, server conn)
    once the server has an established connection to accept."""
    lst = listener if listener is not None else server.listen(port, net.now)
    c = client.connect(server.addrs[0], port, net.now)
    if not net.run_until(lambda: lst.accept_queue or c.state is State.CLOSED, timeout):
        raise AssertionError(f"no connection after {timeout / 1e9} s: client {c.state}, error {c.error!r}")
    s = lst.accept()
    if s is None:
        raise AssertionError(f"connection failed: client {c.state}, error {c.error!r}")
    return c, s


@dataclass
class _Side:
    conn: Connection
    host: Host
    data: memoryview
    #: octets this side expects from its peer
    expect: int
    off: int = 0
    closed: bool = False
    got: list = field(default_factory=list)

    @property
    def pending(self) -> int:
        return len(self.data) - self.off


#: States a connection reaches only after the application's CLOSE.
_AFTER_CLOSE = frozenset({State.FIN_WAIT_1, State.FIN_WAIT_2, State.CLOSING, State.LAST_ACK,
                          State.TIME_WAIT})

#: Offer SEND at least this much at a time (or the rest), so a 10 MB transfer does not
#: copy its buffer on every ACK.
CHUNK = 64 * 1024


def transfer(net: Network, a: Connection, b: Connection, data_a: bytes, data_b: bytes,
             timeout: int = sec(3600), close: str | None = "after-send") -> tuple[bytes, bytes]:
    """Send ``data_a`` from ``a`` and ``data_b`` from ``b`` at the same time, reading on
    both sides as data arrives. Each side CLOSEs when ``close`` says:

    - ``"after-send"``: as soon as SEND has taken all its data (``sendall(); close()``),
      so the FIN is queued behind data not yet transmitted;
    - ``"after-ack"``: once the peer has acknowledged all its data;
    - ``None``: never.

    Returns (what ``a`` received, what ``b`` received) once both have reached end of
    stream (or, with ``close=None``, once both have everything the other sent).

    Raises AssertionError if a connection fails or ``timeout`` ns of simulated time pass.
    """
    if close not in ("after-send", "after-ack", None):
        raise ValueError(f"close must be 'after-send', 'after-ack' or None, not {close!r}")
    sides = [_Side(a, host_of(net, a), memoryview(data_a), len(data_b)),
             _Side(b, host_of(net, b), memoryview(data_b), len(data_a))]
    for s in sides:
        s.closed = s.conn.state in _AFTER_CLOSE  # the application closed it already
    end = net.now + timeout

    def received(s: _Side) -> int:
        return sum(map(len, s.got))

    def done() -> bool:
        if close is not None:
            return all(s.conn.at_eof and s.closed for s in sides)
        return all(received(s) >= s.expect for s in sides)

    def work() -> bool:
        """Something for the application to do (or a failure to report)."""
        for s in sides:
            c = s.conn
            if c.state is State.CLOSED and c.error is not None:
                return True
            if c.readable:
                return True
            if s.pending and c.send_space >= min(CHUNK, s.pending):
                return True
            if may_close(s):
                return True
        return done()

    def may_close(s: _Side) -> bool:
        if close is None or s.pending or s.closed:
            return False
        return close == "after-send" or s.conn.all_acked

    while True:
        for s in sides:
            c = s.conn
            if c.error is not None:
                raise AssertionError(f"{s.host.name}: connection failed in {c.state}: {c.error!r} "
                                     f"(sent {s.off} octets, received {received(s)})")
            acted = False
            if c.readable:
                s.got.append(c.receive(c.readable, net.now))
                acted = True
            if s.pending and c.send_space:
                n = min(c.send_space, s.pending)
                if n >= min(CHUNK, s.pending):
                    s.off += c.send(s.data[s.off:s.off + n].tobytes(), net.now)
                    acted = True
            if may_close(s):
                c.close(net.now)
                s.closed = True
                acted = True
            if acted:
                s.host.call(c, net.now)
        if done():
            return b"".join(sides[0].got), b"".join(sides[1].got)
        if not net.run_until(work, end - net.now):
            raise AssertionError(
                f"transfer stuck at t={net.now / 1e9:.3f} s: " + "; ".join(
                    f"{s.host.name} {s.conn.state} sent {s.off}/{len(s.data)} received {received(s)} "
                    f"eof={s.conn.at_eof} error={s.conn.error!r}" for s in sides))


def run_until_closed(net: Network, *conns: Connection, timeout: int = sec(600)) -> None:
    """Run the network until every connection is CLOSED (TIME-WAIT included)."""
    if not net.run_until(lambda: all(c.state is State.CLOSED for c in conns), timeout):
        raise AssertionError("not closed: " + ", ".join(f"{c!r} error={c.error!r}" for c in conns))


# ---------------------------------------------------------------- user calls

def app_send(net: Network, conn: Connection, data: bytes) -> int:
    """SEND, then let the host transmit."""
    n = conn.send(data, net.now)
    host_of(net, conn).call(conn, net.now)
    return n


def app_receive(net: Network, conn: Connection) -> bytes:
    """RECEIVE everything buffered."""
    data = conn.receive(max(conn.readable, 1), net.now)
    host_of(net, conn).call(conn, net.now)
    return data


def app_close(net: Network, conn: Connection) -> None:
    """CLOSE, then let the host transmit."""
    conn.close(net.now)
    host_of(net, conn).call(conn, net.now)


def app_abort(net: Network, conn: Connection) -> None:
    """ABORT, then let the host transmit."""
    conn.abort(net.now)
    host_of(net, conn).call(conn, net.now)


# ---------------------------------------------------------------- trace queries

def sent(net: Network, host: str | None = None) -> list[SegmentSent]:
    """SegmentSent events (of ``host`` if given), in order."""
    return [e for e in net.recorder.events
            if type(e) is SegmentSent and (host is None or e.host == host)]


def drops(net: Network, reason: str | None = None) -> list[SegmentDropped]:
    """SegmentDropped events (with ``reason`` if given), in order."""
    return [e for e in net.recorder.events
            if type(e) is SegmentDropped and (reason is None or e.reason == reason)]


def states(net: Network, conn: Connection, host: str) -> list[tuple[int, str]]:
    """(time, new state) of every transition of ``conn`` recorded by ``host``."""
    return [(e.t, e.new) for e in net.recorder.events
            if type(e) is StateChanged and e.host == host and e.conn == conn.cid]


def close_time(net: Network, conn: Connection, host: str) -> int:
    """When ``conn`` reached CLOSED (its last transition)."""
    t, new = states(net, conn, host)[-1]
    assert new == "CLOSED", (host, new)
    return t


def close_cause(net: Network, conn: Connection, host: str) -> str:
    """The cause recorded with ``conn``'s last transition."""
    return [e.cause for e in net.recorder.events
            if type(e) is StateChanged and e.host == host and e.conn == conn.cid][-1]


def assert_closed_cleanly(net: Network, c: Connection, s: Connection, msl2: int = sec(60)) -> None:
    """Both ends CLOSED without an error; whoever passed through TIME-WAIT left it exactly
    2*MSL after the last (re)start of its timer and at least 2*MSL after entering it; the
    other end left through LAST-ACK (RFC 9293 §3.6.1 MUST-13, §3.10.8)."""
    passed_time_wait = 0
    for conn, host in ((c, CLIENT), (s, SERVER)):
        assert conn.state is State.CLOSED and conn.error is None, f"{host}: {conn!r} {conn.error!r}"
        history = states(net, conn, host)
        (closed_at, last), (entered_at, before) = history[-1], history[-2]
        assert last == "CLOSED"
        assert before in ("TIME-WAIT", "LAST-ACK"), f"{host}: {history}"
        if before == "TIME-WAIT":
            passed_time_wait += 1
            deadlines = time_wait_deadlines(net, conn, host)
            assert deadlines[0] == entered_at + msl2
            if close_cause(net, conn, host) == "RST received":
                # A reset at exactly RCV.NXT ends TIME-WAIT (RFC 9293 §3.10.7.4); on a
                # lossy path the peer sends one when a stale duplicate reaches it after
                # it deleted its TCB. It must come from a peer that had already closed.
                peer, peer_host = (s, SERVER) if conn is c else (c, CLIENT)
                assert close_time(net, peer, peer_host) <= closed_at
                continue
            assert closed_at == deadlines[-1], (closed_at, deadlines)
            assert closed_at - entered_at >= msl2
    assert passed_time_wait >= 1


def time_wait_deadlines(net: Network, conn: Connection, host: str) -> list[int]:
    """Deadlines of every (re)start of ``conn``'s TIME-WAIT timer."""
    return [e.deadline for e in net.recorder.events if type(e) is TimerArmed
            and e.host == host and e.conn == conn.cid and e.name == "time-wait"]


def is_syn(seg: TcpSegment | None) -> TypeGuard[TcpSegment]:
    """A bare SYN (the active opener's segment)."""
    return seg is not None and bool(seg.flags & SYN) and not seg.flags & ACK


def has(seg, flag) -> bool:
    return seg is not None and bool(seg.flags & flag)


def payload(size: int, seed: int = 0) -> bytes:
    """``size`` pseudo-random octets: misplaced, duplicated or lost octets change the digest."""
    return random.Random(seed).randbytes(size)


__all__ = [
    "ACK", "CLIENT", "close_cause", "close_time", "CLIENT_WRAP_ISN",
    "FIN", "ISNS", "LOSSY", "PORT", "RST", "SERVER", "SERVER_WRAP_ISN", "SYN", "V4", "V6", "app_abort",
    "app_close", "app_receive", "app_send", "assert_closed_cleanly", "drops", "has", "host_of",
    "is_syn", "open_connection", "payload", "run_until_closed", "sent", "states",
    "time_wait_deadlines", "transfer", "two_hosts",
]
