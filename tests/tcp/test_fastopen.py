"""TCP Fast Open (RFC 7413) on the simulator: cookies, data in the SYN delivered before the
handshake completes, and the fallbacks when the cookie is refused or the SYN data lost."""

from __future__ import annotations

import errno

import pytest

from synack import api
from synack.link.sim import Network
from synack.tcp.fastopen import COOKIE_LEN, FastOpenKey
from synack.tcp.state import State
from synack.timeunits import ms, sec
from synack.trace.events import FastOpenEvent, SegmentSent
from synack.wire.ip import emit_packet
from synack.wire.seq import Seq
from synack.wire.tcp import RST, SYN, FastOpen, TcpSegment

SERVER_ADDR = "10.0.0.2"
PORT = 80
REQUEST = b"GET /index.html HTTP/1.1\r\n\r\n"


def net_pair(seed: int = 1, **server_kw):
    net = Network(seed=seed)
    client = net.add_host("client", ["10.0.0.1"])
    server = net.add_host("server", [SERVER_ADDR], **server_kw)
    net.set_both("client", "server", delay=ms(10))
    return net, client, server


def syns(net, host="client") -> list:
    return [e.seg for e in net.recorder.events if isinstance(e, SegmentSent) and e.host == host
            and e.seg.flags & SYN]


def tfo_events(net, action: str) -> list:
    return [e for e in net.recorder.events if isinstance(e, FastOpenEvent) and e.action == action]


def fetch(net, client, lst, data=REQUEST):
    """One Fast Open connection: returns (client conn, accepted server conn)."""
    conn = client.connect(SERVER_ADDR, PORT, net.now, fastopen=data)
    assert net.run_until(lambda: lst.accept_queue, sec(10))
    return conn, lst.accept(net.now)


def read_all(net, host, conn, n) -> bytes:
    got = bytearray()

    def done() -> bool:
        got.extend(conn.receive(1 << 20, net.now))
        host.call(conn, net.now)
        return len(got) >= n

    assert net.run_until(done, sec(10))
    return bytes(got)


def test_the_first_connection_asks_for_a_cookie_and_gets_one():
    """RFC 7413 §4.1.3: no cookie cached, so the SYN carries an empty option and no data;
    the server answers with its cookie, which the client stores."""
    net, client, server = net_pair()
    lst = server.listen(PORT, net.now, fastopen=16)
    conn, peer = fetch(net, client, lst)
    syn = syns(net)[0]
    assert syn.option(FastOpen) == FastOpen(b"") and syn.payload == b""
    synack = syns(net, "server")[0]
    cookie = synack.option(FastOpen).cookie
    assert len(cookie) == COOKIE_LEN and cookie == server.fastopen_key.cookie("10.0.0.1")
    assert client.fastopen_cache.cookie(SERVER_ADDR) == cookie
    assert read_all(net, server, peer, len(REQUEST)) == REQUEST     # after the handshake
    assert [e.action for e in net.recorder.events if isinstance(e, FastOpenEvent)] == \
        ["cookie-requested", "cookie-issued", "cookie-stored"]


def test_a_server_without_fast_open_ignores_the_option():
    net, client, server = net_pair()
    lst = server.listen(PORT, net.now)                           # fastopen=0
    conn, peer = fetch(net, client, lst)
    assert syns(net, "server")[0].option(FastOpen) is None
    assert client.fastopen_cache.cookie(SERVER_ADDR) == b""
    assert read_all(net, server, peer, len(REQUEST)) == REQUEST


def test_with_a_cookie_the_request_rides_in_the_syn_and_is_read_before_the_handshake_ends():
    """RFC 7413 §4.2: the server delivers the SYN's data at once; the connection is in
    the accept queue while still SYN-RECEIVED, and the SYN,ACK acknowledges the data."""
    net, client, server = net_pair()
    lst = server.listen(PORT, net.now, fastopen=16)
    fetch(net, client, lst)
    net.run_for(sec(1))
    start = net.now
    conn, peer = fetch(net, client, lst)
    assert net.now - start == ms(10)                               # one way: the SYN
    assert peer.state is State.SYN_RECEIVED and peer.receive(100, net.now) == REQUEST
    syn = syns(net)[-1]
    assert syn.payload == REQUEST and syn.option(FastOpen).cookie == client.fastopen_cache.cookie(SERVER_ADDR)
    synack = syns(net, "server")[-1]
    assert synack.ack == syn.seq + 1 + len(REQUEST) and synack.option(FastOpen) is None
    net.run_for(ms(30))
    assert conn.state is State.ESTABLISHED and peer.state is State.ESTABLISHED
    data_from_client = [e for e in net.recorder.events if isinstance(e, SegmentSent)
                        and e.host == "client" and e.conn == conn.cid and e.seg.payload]
    assert [s.seg.flags & SYN for s in data_from_client] == [SYN]    # never sent again
    assert conn.all_acked


def test_the_server_answers_before_the_handshake_completes_saving_a_round_trip():
    """The reply leaves right behind the SYN,ACK: request to reply in one RTT (20 ms), not
    two (40 ms) as without Fast Open."""
    took = []
    for fastopen in (0, 16):
        net, client, server = net_pair()
        lst = server.listen(PORT, net.now, fastopen=fastopen)
        fetch(net, client, lst)                              # gets a cookie if allowed
        net.run_for(sec(1))
        start = net.now
        conn, peer = fetch(net, client, lst)
        assert read_all(net, server, peer, len(REQUEST)) == REQUEST
        peer.send(b"200 OK", net.now)
        server.call(peer, net.now)
        assert read_all(net, client, conn, 6) == b"200 OK"
        took.append(net.now - start)
    assert took == [ms(40), ms(20)]


def test_a_refused_cookie_falls_back_and_the_data_arrives_once():
    """RFC 7413 §4.2.1: the server acknowledges only the SYN (its key changed, say), so the
    client sends the data again after the handshake; the server issues a fresh cookie."""
    net, client, server = net_pair(fastopen_secret=b"a" * 32)
    lst = server.listen(PORT, net.now, fastopen=16)
    fetch(net, client, lst)
    net.run_for(sec(1))
    server.fastopen_key = FastOpenKey(b"b" * 32)                # the server rotated its key
    conn, peer = fetch(net, client, lst)
    assert syns(net)[-1].payload == REQUEST
    synack = syns(net, "server")[-1]
    assert synack.ack == syns(net)[-1].seq + 1                   # only the SYN
    assert read_all(net, server, peer, len(REQUEST)) == REQUEST
    net.run_for(ms(50))
    assert peer.readable == 0 and conn.all_acked                 # exactly once
    assert client.fastopen_cache.cookie(SERVER_ADDR) == FastOpenKey(b"b" * 32).cookie("10.0.0.1")
    assert [e.action for e in tfo_events(net, "cookie-refused")] == ["cookie-refused"]


def test_lost_syn_data_is_sent_again_after_the_handshake_and_remembered():
    """The SYN with data is lost: the retransmitted SYN carries none (the data follows the
    handshake), and the next connection to that server sends no data in its SYN."""
    net, client, server = net_pair()
    lst = server.listen(PORT, net.now, fastopen=16)
    fetch(net, client, lst)
    net.run_for(sec(1))
    net.drop_if(lambda p: p.seg is not None and p.seg.flags == SYN and bool(p.seg.payload), count=1)
    conn, peer = fetch(net, client, lst)
    first, again = syns(net)[-2:]
    assert first.payload == REQUEST and again.payload == b"" and again.seq == first.seq
    assert read_all(net, server, peer, len(REQUEST)) == REQUEST
    assert tfo_events(net, "fallback")
    net.run_for(sec(1))
    fetch(net, client, lst)
    assert syns(net)[-1].payload == b"" and syns(net)[-1].option(FastOpen).cookie


def test_the_fast_open_queue_bounds_pending_fast_open_connections():
    net, client, server = net_pair()
    lst = server.listen(PORT, net.now, fastopen=1)
    fetch(net, client, lst)
    net.run_for(sec(1))
    a = client.connect(SERVER_ADDR, PORT, net.now, fastopen=b"one")
    b = client.connect(SERVER_ADDR, PORT, net.now, fastopen=b"two")
    net.run_for(ms(11))                                           # both SYNs arrived
    assert lst.stats.fastopen_accepted == 1                       # the first one only
    assert [e.detail for e in tfo_events(net, "cookie-refused")][-1].startswith("1 Fast Open")
    net.run_for(ms(50))
    assert a.state is State.ESTABLISHED and b.state is State.ESTABLISHED


def test_fast_open_data_must_be_bytes():
    net, client, server = net_pair()
    with pytest.raises(TypeError, match="fastopen must be bytes"):
        client.connect(SERVER_ADDR, PORT, net.now, fastopen=5)
    assert not client.conns


def test_a_cookie_belongs_to_the_client_address():
    key = FastOpenKey(b"s" * 16)
    c = key.cookie("10.0.0.1")
    assert key.valid("10.0.0.1", c) and not key.valid("10.0.0.3", c) and not key.valid("10.0.0.1", c[:-1])
    with pytest.raises(ValueError, match="secret"):
        FastOpenKey(b"short")


def test_a_reset_fast_open_connection_reports_the_reset_to_its_holder():
    """A Fast Open connection the user already holds cannot go back to LISTEN quietly
    (RFC 9293 §3.10.7.4 returns a plain passive SYN-RECEIVED there): its RST is an error."""
    net, client, server = net_pair()
    lst = server.listen(PORT, net.now, fastopen=16)
    fetch(net, client, lst)
    net.run_for(sec(1))
    conn, peer = fetch(net, client, lst)
    assert peer.state is State.SYN_RECEIVED
    rst = TcpSegment(conn.local_port, PORT, peer.rcv_nxt, Seq(0), RST, 0, b"going away")
    net.inject("client", emit_packet("10.0.0.1", SERVER_ADDR, rst))
    net.run_for(ms(1))
    assert peer.state is State.CLOSED and peer.error.code == "reset"
    assert peer.error.diagnostic == b"going away"                 # RFC 9293 SHLD-2


# ------------------------------------------------------------------------------ socket API
def sockets():
    net = Network(seed=1)
    net.add_host("client", ["10.0.0.1"])
    net.add_host("server", [SERVER_ADDR])
    net.default_path.delay = ms(10)
    srv = api.socket(net, "server")
    srv.bind(("", PORT))
    srv.setsockopt(api.IPPROTO_TCP, api.TCP_FASTOPEN, 8)
    srv.listen()
    return net, srv


def test_sendto_msg_fastopen_connects_and_sends():
    net, srv = sockets()
    assert srv.getsockopt(api.IPPROTO_TCP, api.TCP_FASTOPEN) == 8
    for _ in range(2):
        c = api.socket(net, "client")
        assert c.sendto(REQUEST, api.MSG_FASTOPEN, (SERVER_ADDR, PORT)) == len(REQUEST)
        conn, addr = srv.accept()
        assert conn.recv(100) == REQUEST and addr == c.getsockname()
        conn.sendall(b"ok")
        assert c.recv(10) == b"ok"
        c.close()
        conn.close()
    assert syns(net)[-1].payload == REQUEST


def test_non_blocking_sendto_without_a_cookie_is_in_progress_and_with_one_returns_the_syn_data():
    net, srv = sockets()
    c = api.socket(net, "client")
    c.setblocking(False)
    with pytest.raises(BlockingIOError) as e:
        c.sendto(REQUEST, api.MSG_FASTOPEN, (SERVER_ADDR, PORT))
    assert e.value.errno == errno.EINPROGRESS
    api.sleep(net, 0.1)
    assert c.connect_ex((SERVER_ADDR, PORT)) == 0
    c2 = api.socket(net, "client")
    c2.setblocking(False)
    assert c2.sendto(REQUEST, api.MSG_FASTOPEN, (SERVER_ADDR, PORT)) == len(REQUEST)
    conn, _ = srv.accept()
    conn2, _ = srv.accept()
    assert conn2.recv(100) == REQUEST


def test_tcp_fastopen_on_a_connected_socket_is_einval():
    net, srv = sockets()
    c = api.create_connection(net, "client", (SERVER_ADDR, PORT))
    with pytest.raises(OSError) as e:
        c.setsockopt(api.IPPROTO_TCP, api.TCP_FASTOPEN, 5)
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        api.socket(net, "client").setsockopt(api.IPPROTO_TCP, api.TCP_FASTOPEN, -1)
    assert e.value.errno == errno.EINVAL
