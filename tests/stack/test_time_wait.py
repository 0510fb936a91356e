"""TIME-WAIT at scale (RFC 9293 §3.6.1, §3.10.7.4; RFC 6191): a small record per 4-tuple,
a cap on how many a host keeps (Linux's tcp_max_tw_buckets), and a new SYN that ends a
TIME-WAIT instead of bouncing off it.

Two hosts on the simulator, 1 ms apart. The server closes first, so the server is the one
in TIME-WAIT and the client is the peer that comes back from the same port."""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from synack.link.sim import Network
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.state import State
from synack.tcp.timewait import TW_ISN_STEP, TimeWait
from synack.timeunits import ms, sec
from synack.trace.events import SegmentDropped, SegmentSent, StateChanged, TimerArmed
from synack.wire.ip import emit_packet
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, FIN, RST, SYN, Mss, TcpSegment, Timestamps

SERVER, PORT = "10.0.0.2", 80


def pair(trace: bool = True, client_config: TcpConfig | None = None, **server_kw):
    net = Network(seed=1, trace=trace)
    # (reject_with="drop": the client does not reset what the tests forge in its name)
    client = net.add_host("client", ["10.0.0.1"], config=client_config, reject_with="drop")
    server = net.add_host("server", [SERVER], **server_kw)
    net.set_both("client", "server", delay=ms(1))
    lst = server.listen(PORT, 0, backlog=1024)
    return net, client, server, lst


def session(net, client, lst, local_port: int = 0) -> tuple[Connection, Connection, int]:
    """Connect, exchange a request and a reply, the server closes first; returns (client's
    connection, server's connection, connect time) once the client is CLOSED."""
    start = net.now
    c = client.connect(SERVER, PORT, net.now, local_port=local_port)
    assert net.run_until(lambda: c.state is not State.SYN_SENT, sec(10))
    took = net.now - start
    assert net.run_until(lambda: lst.accept_queue, sec(1))
    s = lst.accept()
    assert s is not None
    c.send(b"ping", net.now)
    assert net.run_until(lambda: s.readable, sec(1))
    s.send(s.receive(100, net.now), net.now)
    s.close(net.now)
    assert net.run_until(lambda: c.fin_received, sec(1))
    c.receive(100, net.now)
    c.close(net.now)
    assert net.run_until(lambda: c.state is State.CLOSED, sec(2))
    return c, s, took


def events(net, kind, host="server"):
    return [e for e in net.recorder.events if isinstance(e, kind) and e.host == host]


# ------------------------------------------------------------------ the record
def test_time_wait_is_a_record_that_ends_after_2_msl():
    net, client, server, lst = pair()
    _, s, _ = session(net, client, lst)
    assert s.state is State.TIME_WAIT
    (rec,) = server.conns.values()
    assert type(rec) is TimeWait and rec.connection is s and server.table.time_wait == 1
    net.run_for(2 * s.config.msl + ms(10))
    assert not server.conns and server.table.time_wait == 0
    assert s.state is State.CLOSED  # the object the application holds reads CLOSED too
    (end,) = [e for e in events(net, StateChanged) if e.old == "TIME-WAIT"]
    assert (end.new, end.cause) == ("CLOSED", "2*MSL elapsed")


def wire(a, b, now: int) -> None:
    """Carry packets between two hosts until both are quiet (no simulator: only what the
    hosts hold is measured)."""
    while True:
        moved = False
        for src, dst in ((a, b), (b, a)):
            for p in src.take_outgoing():
                dst.deliver_packet(p, now) if type(p) is not bytes else dst.deliver(p, now)
                moved = True
        if not moved:
            return


def direct_session(client, server, lst, now: int) -> None:
    c = client.connect(SERVER, PORT, now)
    wire(client, server, now)
    s = lst.accept()
    s.close(now)
    wire(client, server, now)
    c.close(now)
    wire(client, server, now)
    assert c.state is State.CLOSED and s.state is State.TIME_WAIT


def test_time_wait_record_takes_under_a_kilobyte():
    """What the server host holds per 4-tuple in TIME-WAIT once the application has let go
    of the connection: the record, its place in the table and in the deadline heap."""
    from synack.stack.host import Host

    client = Host("client", ["10.0.0.1"], seed=1)
    server = Host("server", [SERVER], seed=2)
    lst = server.listen(PORT, 0, backlog=1024)
    direct_session(client, server, lst, 0)  # (warm up: caches, first allocations)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i in range(1, 301):
            direct_session(client, server, lst, i * 1000)
        for h in (client, server):  # a few seconds later: the earlier timers' entries are gone
            h.on_timeout(sec(5))
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    n = server.table.time_wait - 1  # (a port drawn twice reopens its 4-tuple: RFC 6191)
    assert n > 250 and all(type(r) is TimeWait for r in server.conns.values())
    grown = sum(d.size_diff for d in after.compare_to(before, "filename"))
    assert grown / n < 1024, f"{grown / n:.0f} octets per TIME-WAIT entry"


def forge(net, conn, **kw):
    """A segment from the client's side of ``conn`` (the client's own TCB is gone)."""
    seg = dict(src_port=conn.local_port, dst_port=PORT, seq=conn.snd_nxt, ack=conn.rcv_nxt, flags=ACK, wnd=65535)
    seg.update(kw)
    net.inject("client", emit_packet(conn.local_addr, SERVER, TcpSegment(**seg)))
    net.run_for(ms(5))


@pytest.mark.parametrize("rcv_buf", [65535, 1 << 20], ids=["unscaled", "window-scale"])
def test_time_wait_record_answers_as_the_connection_did(rcv_buf):
    """A retransmitted FIN is acknowledged again, with the window the connection last
    offered, and restarts 2*MSL (RFC 9293 §3.10.7.4); a segment outside the window gets an
    ACK (one per 500 ms); an RST at RCV.NXT ends TIME-WAIT (Linux: tcp_rfc1337=0)."""
    cfg = TcpConfig(timestamps=False, rcv_buf=rcv_buf)
    net, client, server, lst = pair(client_config=cfg, config=cfg)
    c, s, _ = session(net, client, lst)
    last = [e for e in events(net, SegmentSent) if e.seg.flags == ACK][-1].seg  # (the ACK of the FIN)
    net.run_for(sec(5))
    forge(net, c, seq=c.snd_nxt - 1, flags=FIN | ACK)  # (no timestamps on this connection)
    acks = [e for e in events(net, SegmentSent) if e.seg.flags == ACK]
    assert acks[-1].seg.ack == c.snd_nxt and acks[-1].t >= sec(5)
    assert acks[-1].seg.wnd == last.wnd and (s.rcv_wscale > 0) == (rcv_buf > 65535)
    restarted = [e for e in events(net, TimerArmed) if e.name == "time-wait"][-1]
    assert restarted.deadline == restarted.t + 2 * s.config.msl
    n = len(events(net, SegmentSent))
    for _ in range(10):
        forge(net, c, seq=c.snd_nxt + (1 << 30))
    assert len(events(net, SegmentSent)) == n + 1
    forge(net, c, flags=RST, ack=Seq(0))
    assert not server.conns and s.state is State.CLOSED
    assert [e for e in events(net, StateChanged) if e.old == "TIME-WAIT"][0].cause == "RST received"


def test_time_wait_old_data_again_gets_a_d_sack():
    """RFC 2883 §4: the client's request, received again, is reported in a D-SACK block."""
    net, client, server, lst = pair()
    c, _, _ = session(net, client, lst)
    rec = next(iter(server.conns.values()))
    tsopt = (Timestamps((rec.ts_recent + 5) & 0xFFFFFFFF, 0),)
    request_seq = c.snd_nxt - 5  # "ping" and the client's FIN
    forge(net, c, seq=request_seq, payload=b"ping", options=tsopt)
    ack = events(net, SegmentSent)[-1].seg
    sack = [o for o in ack.options if type(o).__name__ == "Sack"]
    assert ack.ack == c.snd_nxt and sack and sack[0].blocks[0] == (request_seq, request_seq + 4)


# ------------------------------------------------------------------ the cap
def test_beyond_max_tw_buckets_a_connection_skips_time_wait_traced():
    net, client, server, lst = pair(max_tw_buckets=3)
    held = [session(net, client, lst)[1] for _ in range(5)]
    assert server.table.time_wait == 3 and server.table.tw_overflows == 2
    assert [c.state for c in held] == [State.TIME_WAIT] * 3 + [State.CLOSED] * 2
    full = [e for e in events(net, StateChanged) if "TIME-WAIT table full" in e.cause]
    assert len(full) == 2 and all(e.old == "TIME-WAIT" and e.new == "CLOSED" for e in full)
    assert "3 entries" in full[0].cause


def test_max_tw_buckets_must_be_a_count():
    with pytest.raises(ValueError, match="max_tw_buckets"):
        pair(max_tw_buckets=-1)


# ------------------------------------------------------------------ RFC 6191
@pytest.mark.parametrize("timestamps", [True, False], ids=["timestamps", "sequence-numbers"])
def test_a_new_syn_from_the_same_port_ends_time_wait_without_an_extra_round_trip(timestamps):
    """RFC 6191 (RFC 9293 §3.6.1 MAY-2, SHLD-4): the client comes back from the port whose
    4-tuple the server holds in TIME-WAIT; its SYN is newer (timestamps, or a sequence
    number beyond the old RCV.NXT) and opens the new connection at once: one round trip,
    no RST, no retransmitted SYN."""
    cfg = TcpConfig(timestamps=timestamps)
    net, client, server, lst = pair(client_config=cfg, config=cfg)
    _, old, _ = session(net, client, lst, local_port=40000)
    old_nxt = old.snd_nxt
    net.run_for(ms(50))
    c, new, took = session(net, client, lst, local_port=40000)
    assert took == ms(2)  # SYN, SYN,ACK: one round trip
    assert new.iss == old_nxt + TW_ISN_STEP  # RFC 1122 §4.2.2.13 (a): above the old sequence numbers
    assert not [e for e in events(net, SegmentSent, "client") if e.seg.flags & RST or e.retransmit]
    reopened = [e for e in events(net, StateChanged) if e.cause == "new SYN (RFC 6191)"]
    assert len(reopened) == 1 and reopened[0].old == "TIME-WAIT"


def test_an_old_syn_does_not_end_time_wait():
    """A SYN at or below the old RCV.NXT with an older timestamp is an old duplicate: it
    draws an ACK and TIME-WAIT stays (RFC 7323 §5.3 PAWS, RFC 6191 §2)."""
    net, client, server, lst = pair()
    c, _, _ = session(net, client, lst)
    rec = next(iter(server.conns.values()))
    forge(net, c, seq=c.snd_nxt - 10, ack=Seq(0), flags=SYN,
          options=(Mss(1460), Timestamps((rec.ts_recent - 100) & 0xFFFFFFFF, 0)))
    assert next(iter(server.conns.values())) is rec and not lst.accept_queue and not lst.pending
    drop = events(net, SegmentDropped)[-1]
    assert drop.reason == "paws"


def test_without_a_listener_a_syn_in_time_wait_gets_an_ack():
    net, client, server, lst = pair()
    c, _, _ = session(net, client, lst)
    lst.close(net.now)
    n = len(events(net, SegmentSent))
    rec = next(iter(server.conns.values()))
    forge(net, c, seq=c.snd_nxt + 1000, ack=Seq(0), flags=SYN,
          options=(Mss(1460), Timestamps((rec.ts_recent + 100) & 0xFFFFFFFF, 0)))
    sent = events(net, SegmentSent)[n:]
    assert [e.seg.flags for e in sent] == [ACK] and next(iter(server.conns.values())) is rec


def test_churn_through_a_narrow_port_range_pays_no_extra_round_trips():
    """200 connections from 10 client ports: every 4-tuple comes back while the server
    still holds it in TIME-WAIT, and each connect takes one round trip."""
    net, client, server, lst = pair(trace=False)
    client.ephemeral_ports = (40000, 40009)
    took = [session(net, client, lst)[2] for _ in range(200)]
    assert set(took) == {ms(2)}
    assert server.table.time_wait == 10
