"""Half-open connections kept as records beyond ``full_half_open`` (stack/synqueue.py): what
reaches the wire and the trace is what full connections in SYN-RECEIVED would have made.

Each comparison runs the same flood twice: once with every half-open connection a full
connection (``full_half_open`` huge), once with every one a record (``full_half_open`` 0).
"""

from __future__ import annotations

import random

import pytest

from synack.stack.packet import Packet
from synack.stack.synqueue import BATCH, FULL_HALF_OPEN, SynAckBytes
from synack.tcp.config import TcpConfig
from synack.tcp.state import State
from synack.timeunits import ms, sec
from synack.trace.events import ListenQueue, SegmentDropped, StateChanged
from synack.wire.checksum import address_info
from synack.wire.ip import emit_packet
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, CWR, ECE, RST, SYN, Mss, SackPermitted, TcpSegment, Timestamps, WindowScale

from test_syn_flood import LINUX_SYN, PORT, SERVER_ADDR, connect, flood_net, sent_by, spoof_syns

ALL_FULL = 10**9


def observed(net, lst, sort: bool = False) -> dict:
    """What a user sees of the server: its segments, its state changes and queue sizes."""
    segs = [(e.t, e.src, e.dst, e.seg, e.retransmit, e.cause) for e in sent_by(net, "server")]
    states = [(e.t, e.conn, e.old, e.new, e.cause) for e in net.recorder.events
              if isinstance(e, StateChanged) and e.host == "server"]
    queue = [(e.t, e.conn, e.cause, e.syn_queue) for e in net.recorder.events if isinstance(e, ListenQueue)]
    dropped = [(e.t, e.conn, e.reason, e.detail) for e in net.recorder.events
               if isinstance(e, SegmentDropped) and e.host == "server"]
    if sort:  # (a closing listener resets its connections in no particular order)
        segs, states = sorted(segs, key=repr), sorted(states, key=repr)
    return {"segments": segs, "states": states, "queue": queue, "dropped": dropped, "stats": lst.stats.as_dict()}


def flood_and_client(full: int, options: tuple, close: bool) -> dict:
    """Six spoofed SYNs, then a real client connects (its SYN lands in the SYN queue too)
    and is accepted; optionally the listener closes with the spoofed entries still there."""
    net, client, server = flood_net()
    lst = server.listen(PORT, net.now, backlog=8)
    lst.full_half_open = full
    spoof_syns(net, 6, options=options)
    net.run_for(ms(1500))
    conn, _ = connect(net, client)
    net.run_for(ms(100))
    peer = lst.accept(net.now)
    assert conn.state is State.ESTABLISHED and peer is not None and peer.state is State.ESTABLISHED
    if close:
        lst.close(net.now)
    net.run_for(sec(100))
    return observed(net, lst, sort=close)


@pytest.mark.parametrize("close", [False, True])
@pytest.mark.parametrize("options", [LINUX_SYN, (Mss(1460),), (Mss(1400), SackPermitted(), WindowScale(3))],
                         ids=["linux", "mss-only", "no-timestamps"])
def test_records_put_on_the_wire_and_in_the_trace_what_connections_would(options, close):
    full = flood_and_client(ALL_FULL, options, close)
    records = flood_and_client(0, options, close)
    assert records == full
    assert len(full["segments"]) > 12                     # SYN,ACKs, retransmissions, the client's data


def spoofed(net, i: int, flags: int, seq: int, delay: int, options: tuple = LINUX_SYN) -> None:
    seg = TcpSegment(20000 + i, PORT, Seq(seq), Seq(0), flags, 64240, b"", options if flags & SYN else ())
    net.inject("client", emit_packet(f"198.18.0.{i + 1}", SERVER_ADDR, seg), delay=delay)


@pytest.mark.parametrize("what", ["ecn", "syn-again", "syn-again-late", "rst", "rst-ack", "other-syn"])
def test_segments_for_a_record_are_answered_as_its_connection_would(what):
    def run(full: int) -> dict:
        net, _, server = flood_net()
        ecn = what == "ecn"
        lst = server.listen(PORT, net.now, backlog=8, config=TcpConfig(ecn="on") if ecn else None)
        lst.full_half_open = full
        for i in range(4):
            spoofed(net, i, SYN | (ECE | CWR if ecn else 0), 7919 * i, i * ms(1))
        later = {"syn-again": (1, SYN, 7919, ms(500)), "syn-again-late": (2, SYN, 7919 * 2, sec(2)),
                 "rst": (1, RST, 7920, ms(300)), "rst-ack": (1, RST | ACK, 7920, ms(300)),
                 "other-syn": (3, SYN, 5, ms(300))}.get(what)
        if later is not None:
            spoofed(net, *later)
        net.run_for(sec(100))
        return observed(net, lst)

    assert run(0) == run(ALL_FULL)


def test_beyond_full_half_open_the_syn_queue_holds_records_not_connections():
    net, client, server = flood_net()
    lst = server.listen(PORT, net.now, backlog=64)
    lst.full_half_open = 8
    spoof_syns(net, 40)
    net.run_for(ms(100))
    assert len(lst.pending) == 8 and len(server.conns) == 8     # full connections
    assert len(lst.requests) == 32 and lst.half_open == 40       # and records
    assert "syn=40/64" in repr(lst)
    assert [e.syn_queue for e in net.recorder.events if isinstance(e, ListenQueue)] == list(range(1, 41))
    assert lst.stats.cookies_sent == 0


def test_records_are_forgotten_after_synack_retries_and_leave_no_timer():
    net, client, server = flood_net(synack_retries=2)
    lst = server.listen(PORT, net.now, backlog=64)
    lst.full_half_open = 0
    spoof_syns(net, 10)
    net.run_for(sec(200))
    synacks = [e for e in sent_by(net, "server") if e.seg.flags == SYN | ACK]
    assert len(synacks) == 30 and sum(e.retransmit for e in synacks) == 20
    assert lst.half_open == 0 and lst.stats.half_open_dropped == 10
    assert server.next_deadline() is None and not server.syn_queues
    gone = [e for e in net.recorder.events if isinstance(e, StateChanged) and e.new == "LISTEN"]
    assert len(gone) == 10 and gone[0].t == sec(7) and gone[0].cause == "SYN,ACK retransmissions exhausted"


def test_the_ack_of_a_record_waits_while_the_accept_queue_is_full():
    def run(full: int) -> tuple[dict, int]:
        net, client, server = flood_net()
        lst = server.listen(PORT, net.now, backlog=1, syn_backlog=4)
        lst.full_half_open = full
        a = client.connect(SERVER_ADDR, PORT, net.now)
        b = client.connect(SERVER_ADDR, PORT, net.now)
        assert net.run_until(lambda: a.state is b.state is State.ESTABLISHED, sec(1))
        net.run_for(ms(100))
        assert len(lst.accept_queue) == 1 and lst.half_open == 1     # b's ACK was dropped
        held = lst.stats.accept_overflows
        assert lst.accept(net.now) is not None
        assert net.run_until(lambda: lst.accept_queue, sec(5))      # b's SYN,ACK again, its ACK again
        assert lst.accept(net.now).remote_port == b.local_port
        return observed(net, lst), held

    records, held = run(0)
    assert held == 1 and records == run(ALL_FULL)[0]


def test_defaults():
    assert FULL_HALF_OPEN == 256 and BATCH >= 64


@pytest.mark.parametrize("v6", [False, True], ids=["ipv4", "ipv6"])
@pytest.mark.parametrize("options", [LINUX_SYN, (Mss(1460),), ()], ids=["timestamps", "mss-only", "no-options"])
def test_syn_ack_bytes_from_a_template_are_what_emit_packet_makes(v6, options):
    rng = random.Random(f"{v6}{options}")
    src, first = ("fd00::2", "fd00::9") if v6 else ("10.0.0.2", "198.18.0.1")
    seg = TcpSegment(PORT, 1000, Seq(1), Seq(2), SYN | ACK | ECE, 65160, b"", options)
    template = SynAckBytes(Packet(src, first, seg, 0x20, 61))
    for _ in range(200):
        dst = f"fd00::{rng.randrange(1, 0xFFFF):x}" if v6 else f"198.18.{rng.randrange(256)}.{rng.randrange(1, 256)}"
        port, seq, ack = rng.randrange(65536), rng.getrandbits(32), rng.getrandbits(32)
        ts = (rng.getrandbits(32), rng.getrandbits(32))
        stamped = tuple(Timestamps(*ts) if type(o) is Timestamps else o for o in options)
        want = Packet(src, dst, seg._replace(dst_port=port, seq=Seq(seq), ack=Seq(ack), options=stamped), 0x20, 61).raw
        assert template.make(address_info(dst)[0], port, seq, ack, ts) == want
