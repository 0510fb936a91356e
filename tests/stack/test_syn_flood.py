"""A listener under a SYN flood (stack/listener.py): the SYN queue and the accept queue
with their own bounds, SYN,ACK retransmissions with a limit, and SYN cookies (RFC 4987
§3.6) when the SYN queue overflows, keeping no state for the SYN.

The attacker's SYNs come from addresses no host owns (198.18.0.0/15, RFC 2544's
benchmarking range), put on the wire with Network.inject: the server's SYN,ACKs to them go
nowhere ("no-route").
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from synack.link.sim import Network
from synack.stack.host import Host
from synack.stack.host import Listener as HostListener
from synack.stack.listener import Listener
from synack.tcp.config import TcpConfig
from synack.tcp.state import State
from synack.timeunits import ms, sec
from synack.trace.events import ListenQueue, SegmentDropped, SegmentSent, SynCookieMode
from synack.wire.ip import emit_packet
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, CWR, ECE, RST, SYN, Mss, SackPermitted, TcpSegment, Timestamps, WindowScale

SERVER_ADDR = "10.0.0.2"
PORT = 80
LINUX_SYN = (Mss(1460), SackPermitted(), Timestamps(1000, 0), WindowScale(7))


def flood_net(seed: int = 1, **server_kw):
    net = Network(seed=seed)
    client = net.add_host("client", ["10.0.0.1"])
    server = net.add_host("server", [SERVER_ADDR], **server_kw)
    net.set_both("client", "server", delay=ms(10))
    return net, client, server


def spoof_syns(net: Network, n: int, spacing: int = ms(1), first: int = 1, options=LINUX_SYN) -> None:
    """``n`` SYNs from spoofed addresses (198.18.x.y, the ``first``-th on), ``spacing``
    apart from now."""
    for i in range(n):
        k = first + i
        seg = TcpSegment(20000 + i % 40000, PORT, Seq(7919 * k), Seq(0), SYN, 64240, b"", options)
        net.inject("client", emit_packet(f"198.18.{k // 250}.{k % 250 + 1}", SERVER_ADDR, seg), delay=i * spacing)


def sent_by(net: Network, host: str) -> list:
    return [e for e in net.recorder.events if isinstance(e, SegmentSent) and e.host == host]


def drops(net: Network, reason: str) -> list:
    return [e for e in net.recorder.events if isinstance(e, SegmentDropped) and e.reason == reason]


CONNECT_TIMEOUT = sec(200)


def connect(net, client, server_port=PORT, timeout=CONNECT_TIMEOUT, **kw):
    """Connect and wait until the client is ESTABLISHED (or gave up); returns (conn, time)."""
    start = net.now
    conn = client.connect(SERVER_ADDR, server_port, net.now, **kw)
    net.run_until(lambda: conn.state is not State.SYN_SENT, timeout)
    return conn, net.now - start


# ------------------------------------------------------------------------------ the queues
def test_listener_still_imports_from_stack_host():
    assert HostListener is Listener


def test_spoofed_syns_fill_the_syn_queue_then_get_cookies_and_leave_no_state():
    net, client, server = flood_net()
    lst = server.listen(PORT, net.now, backlog=8)
    spoof_syns(net, 40)
    net.run_for(ms(100))

    assert len(lst.pending) == 8 and len(server.conns) == 8      # the queue, and nothing more
    synacks = [e for e in sent_by(net, "server") if e.seg.flags == SYN | ACK]
    assert len(synacks) == 40
    assert [e.cause for e in synacks] == [None] * 8 + ["syncookie"] * 32
    assert not any(e.retransmit for e in synacks)
    assert lst.stats.cookies_sent == 32 and lst.stats.syn_dropped == 0
    mode = [e for e in net.recorder.events if isinstance(e, SynCookieMode)]
    assert [(m.on, m.reason) for m in mode] == [(True, "SYN queue full (8/8)")]
    sizes = [e.syn_queue for e in net.recorder.events if isinstance(e, ListenQueue)]
    assert sizes == list(range(1, 9))                              # traced as it filled


def test_a_client_connects_in_one_round_trip_during_the_flood_and_its_data_flows():
    net, client, server = flood_net()
    lst = server.listen(PORT, net.now, backlog=8)
    spoof_syns(net, 200, spacing=ms(0.5))
    net.run_for(ms(20))
    conn, took = connect(net, client)
    assert conn.state is State.ESTABLISHED and took == ms(20)
    assert net.run_until(lambda: lst.accept_queue, sec(1))
    peer = lst.accept(net.now)
    assert peer.remote_port == conn.local_port and lst.stats.cookies_accepted == 1
    assert [e.new for e in net.recorder.events if getattr(e, "conn", None) == peer.cid and e.event == "state"] \
        == ["SYN-RECEIVED", "ESTABLISHED"]
    conn.send(b"request", net.now)
    client.call(conn, net.now)
    assert net.run_until(lambda: peer.readable == 7, sec(1))
    assert peer.receive(100, net.now) == b"request"
    peer.send(b"reply" * 1000, net.now)
    server.call(peer, net.now)
    assert net.run_until(lambda: conn.readable == 5000, sec(2))
    assert len(lst.pending) == 8                                   # the flood never grew it


def test_without_cookies_the_client_waits_until_a_half_open_entry_expires():
    net, client, server = flood_net(syncookies=0)
    server.listen(PORT, net.now, backlog=8)
    spoof_syns(net, 200, spacing=ms(0.5))
    net.run_for(ms(20))
    conn, took = connect(net, client)
    assert conn.state is State.ESTABLISHED
    # The first spoofed entries give up after five SYN,ACK retransmissions (63 s). The
    # client's SYNs at 0, 1, 2, 3, 4, 5, 7, 11, 19 and 35 s (Linux's linear SYN timeouts)
    # are dropped; the one at 67 s finds room.
    assert sec(67) <= took <= sec(68)
    mine = [d for d in drops(net, "backlog-full") if d.seg.src_port == conn.local_port]
    assert len(mine) == 10 and all(d.detail == "SYN queue 8/8" for d in mine)


def test_syn_ack_is_retransmitted_synack_retries_times_then_the_entry_is_forgotten():
    for retries, times in ((5, [0, 1, 3, 7, 15, 31]), (2, [0, 1, 3])):
        net, client, server = flood_net(synack_retries=retries)
        lst = server.listen(PORT, net.now)
        spoof_syns(net, 1)
        net.run_for(sec(200))
        synacks = [e for e in sent_by(net, "server") if e.seg.flags == SYN | ACK]
        assert [e.t for e in synacks] == [sec(t) for t in times]
        assert not lst.pending and not server.conns
        assert not [e for e in sent_by(net, "server") if e.seg.flags & RST]   # given up quietly
        gone = [e for e in net.recorder.events if isinstance(e, ListenQueue) and e.cause == "removed"]
        assert [g.t for g in gone] == [sec(2 * times[-1] + 1)]     # one more backoff after the last


def test_a_full_accept_queue_drops_syns_and_holds_the_ack_that_would_complete():
    net, client, server = flood_net(syncookies=0)
    lst = server.listen(PORT, net.now, backlog=2, syn_backlog=4)
    conns = [client.connect(SERVER_ADDR, PORT, net.now) for _ in range(3)]
    net.run_for(ms(35))
    # All three SYNs were queued (the SYN queue has room for four); the third ACK found
    # the accept queue full (2/2) and was dropped: the client thinks it is connected.
    assert [c.state for c in conns] == [State.ESTABLISHED] * 3
    assert len(lst.accept_queue) == 2 and len(lst.pending) == 1
    held = drops(net, "backlog-full")
    assert [(d.conn[3], d.detail) for d in held] == [(conns[2].local_port, "accept queue 2/2")]
    fourth = client.connect(SERVER_ADDR, PORT, net.now)
    net.run_for(ms(20))
    assert drops(net, "backlog-full")[-1].seg.flags == SYN          # no room: the SYN is dropped
    first = lst.accept(net.now)
    assert first.remote_port == conns[0].local_port
    # The SYN,ACK retransmission (1 s) draws a new ACK from the third client: it completes.
    assert net.run_until(lambda: len(lst.accept_queue) == 2, sec(2))
    assert {c.remote_port for c in lst.accept_queue} == {conns[1].local_port, conns[2].local_port}
    assert fourth.state is State.SYN_SENT


def test_syncookies_2_sends_cookies_even_with_room_in_the_queue():
    net, client, server = flood_net(syncookies=2)
    lst = server.listen(PORT, net.now)
    conn, took = connect(net, client)
    assert conn.state is State.ESTABLISHED and took == ms(20)
    synack = [e for e in sent_by(net, "server") if e.seg.flags == SYN | ACK]
    assert [e.cause for e in synacks_of(synack)] == ["syncookie"]
    assert net.run_until(lambda: lst.accept_queue, sec(1))
    modes = [e for e in net.recorder.events if isinstance(e, SynCookieMode)]
    assert modes[0].on and modes[0].reason == "syncookies=2 (always)"


def synacks_of(events):
    return [e for e in events if e.seg.flags == SYN | ACK]


def _negotiated(conn) -> tuple:
    return tuple(getattr(conn, name) for name in ("snd_mss", "ws_ok", "snd_wscale", "rcv_wscale",
                                                  "sack_ok", "ts_ok", "ecn_ok"))


@pytest.mark.parametrize("client_cfg", [
    dict(), dict(timestamps=False), dict(sack=False), dict(window_scale=False, rcv_buf=65535),
    dict(ecn="on"), dict(timestamps=False, ecn="on", mss=1300),
], ids=["linux", "no-ts", "no-sack", "no-wscale", "ecn", "no-ts-ecn-mss"])
def test_a_cookie_connection_agrees_on_what_a_queued_one_would(client_cfg):
    """RFC 4987 §3.6 loses options; these cookies keep MSS, window scale, SACK-permitted,
    timestamps and ECN, with or without timestamps (``syncookie_needs_ts`` off): both ends
    agree as after a queued SYN."""
    queued = _negotiate_and_transfer(0, client_cfg)
    cookie = _negotiate_and_transfer(2, client_cfg)
    assert cookie == queued


def test_a_linux_cookie_without_timestamps_keeps_only_the_mss():
    """Linux (tcp_clear_options): a cookie SYN,ACK answering a SYN without timestamps offers
    only an MSS, so the connection has no SACK and no window scale; the peer's MSS of 1300
    is one of Linux's table and is kept; data still flows both ways."""
    cfg = dict(timestamps=False, mss=1300)
    queued = _negotiate_and_transfer(0, cfg, needs_ts=True)
    cookie = _negotiate_and_transfer(2, cfg, needs_ts=True)
    assert queued[0][4] and queued[0][1]                     # a queued SYN agrees on SACK and scaling
    for end in cookie:
        assert end[0] == 1300 and end[1:] == (False, 0, 0, False, False, False)


def _negotiate_and_transfer(cookies: int, client_cfg: dict, needs_ts: bool = False) -> tuple:
    """Connect with ``syncookies=cookies``; returns what both ends negotiated, after checking
    that data flows both ways with those options."""
    net, client, server = flood_net(syncookies=cookies,
                                    config=TcpConfig(rcv_buf=1 << 20, syncookie_needs_ts=needs_ts))
    lst = server.listen(PORT, net.now)
    cfg = replace(TcpConfig(rcv_buf=1 << 20), **client_cfg)
    conn, _ = connect(net, client, config=cfg)
    assert net.run_until(lambda: lst.accept_queue, sec(1))
    peer = lst.accept(net.now)
    negotiated = (_negotiated(conn), _negotiated(peer))
    # and data flows both ways with those options
    conn.send(bytes(range(256)) * 800, net.now)
    client.call(conn, net.now)
    peer.send(b"y" * 100_000, net.now)
    server.call(peer, net.now)
    got, back = bytearray(), bytearray()

    def done() -> bool:
        got.extend(peer.receive(1 << 20, net.now))
        server.call(peer, net.now)
        back.extend(conn.receive(1 << 20, net.now))
        client.call(conn, net.now)
        return len(got) >= 204_800 and len(back) >= 100_000

    assert net.run_until(done, sec(10))
    assert bytes(got) == bytes(range(256)) * 800 and bytes(back) == b"y" * 100_000
    return negotiated


def test_an_ack_with_a_bad_cookie_is_answered_with_a_reset():
    net, client, server = flood_net()
    lst = server.listen(PORT, net.now, backlog=1)
    spoof_syns(net, 3)
    net.run_for(ms(10))
    bogus = TcpSegment(33333, PORT, Seq(5000), Seq(123456), ACK, 65535)
    net.inject("client", emit_packet("10.0.0.1", SERVER_ADDR, bogus))
    net.run_for(ms(30))
    assert lst.stats.cookies_rejected == 1 and [d.reason for d in drops(net, "bad-cookie")] == ["bad-cookie"]
    rst = [e for e in sent_by(net, "server") if e.seg.flags & RST]
    assert [(int(e.seg.seq), e.seg.flags) for e in rst] == [(123456, RST)]   # <SEQ=SEG.ACK><CTL=RST>


def test_an_ack_without_recent_overflow_is_not_taken_for_a_cookie():
    """With syncookies=1 cookies are only checked after an overflow (Linux's
    tcp_synq_no_recent_overflow): a stray ACK just gets its RST."""
    net, client, server = flood_net()
    lst = server.listen(PORT, net.now)
    net.inject("client", emit_packet("10.0.0.1", SERVER_ADDR, TcpSegment(33333, PORT, Seq(1), Seq(2), ACK, 9)))
    net.run_for(ms(30))
    assert lst.stats.cookies_rejected == 0 and not drops(net, "bad-cookie")
    assert [e.seg.flags for e in sent_by(net, "server")] == [RST]


def test_the_first_data_segment_completes_the_handshake_when_the_ack_is_lost():
    """The cookie rides in every segment's ACK field: if the handshake's ACK is lost, the
    data segment that follows rebuilds the connection and its data is delivered."""
    net, client, server = flood_net(syncookies=2)
    lst = server.listen(PORT, net.now)
    net.drop_if(lambda p: p.seg is not None and p.seg.flags == ACK and not p.seg.payload
                and p.src_host == "client", count=1)
    conn, _ = connect(net, client)
    conn.send(b"first words", net.now)
    client.call(conn, net.now)
    assert net.run_until(lambda: lst.accept_queue, sec(1))
    peer = lst.accept(net.now)
    assert peer.state is State.ESTABLISHED and peer.receive(100, net.now) == b"first words"


def test_cookies_are_made_with_the_hosts_injected_secret():
    """Sans-IO: the secret is an argument. The same secret gives the same cookie."""
    isns = []
    for _ in range(2):
        net, client, server = flood_net(syncookies=2, cookie_secret=b"k" * 32)
        server.listen(PORT, net.now)
        spoof_syns(net, 1)
        net.run_for(ms(5))
        isns.append(int(synacks_of(sent_by(net, "server"))[0].seg.seq))
    net, client, server = flood_net(syncookies=2, cookie_secret=b"j" * 32)
    server.listen(PORT, net.now)
    spoof_syns(net, 1)
    net.run_for(ms(5))
    assert isns[0] == isns[1] != int(synacks_of(sent_by(net, "server"))[0].seg.seq)


def test_memory_stays_bounded_under_a_long_flood():
    net, client, server = flood_net(seed=3)
    net.recorder.on = False
    lst = server.listen(PORT, net.now, backlog=64)
    for burst in range(10):
        spoof_syns(net, 250, spacing=ms(0.2), first=1 + burst % 4 * 60)
        net.run_for(sec(10))
        assert len(server.conns) <= 64 and len(lst.pending) <= 64
        assert server.table.timers <= 64
    assert lst.stats.cookies_sent >= 2500 - 64 * 3


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="syncookies"):
        Host("h", ["10.0.0.9"], syncookies=3)
    with pytest.raises(ValueError, match="max_syn_backlog"):
        Host("h", ["10.0.0.9"], max_syn_backlog=0)
    with pytest.raises(ValueError, match="synack_retries"):
        Host("h", ["10.0.0.9"], synack_retries=-1)
    host = Host("h", ["10.0.0.9"])
    with pytest.raises(ValueError, match="syn_backlog"):
        host.listen(80, 0, syn_backlog=0)
    with pytest.raises(ValueError, match="fastopen"):
        host.listen(80, 0, fastopen=-1)


def test_the_syn_queue_bound_follows_backlog_and_max_syn_backlog():
    host = Host("h", ["10.0.0.9"], max_syn_backlog=16)
    assert host.listen(80, 0, backlog=4).syn_backlog == 4
    assert host.listen(81, 0, backlog=100).syn_backlog == 16
    assert host.listen(82, 0, backlog=100, syn_backlog=50).syn_backlog == 50


def test_ecn_setup_syn_through_a_cookie_keeps_ecn():
    net, client, server = flood_net(syncookies=2, config=TcpConfig(ecn="passive"))
    lst = server.listen(PORT, net.now)
    conn, _ = connect(net, client, config=TcpConfig(ecn="on"))
    syn = [e for e in sent_by(net, "client") if e.seg.flags & SYN][0]
    assert syn.seg.flags & (ECE | CWR) == ECE | CWR
    assert net.run_until(lambda: lst.accept_queue, sec(1))
    assert lst.accept(net.now).ecn_ok and conn.ecn_ok
