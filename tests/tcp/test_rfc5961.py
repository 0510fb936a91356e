"""Blind in-window attacks (RFC 5961, as RFC 9293 §3.10.7.4 adopts it): what an off-path
attacker who guesses sequence numbers can do, and the throttle on challenge ACKs (§7).

The per-state checks (exact RST resets, in-window RST and any SYN draw a challenge ACK,
ACK values outside SND.UNA - MAX.SND.WND .. SND.NXT are refused) are in
test_segment_checks.py; here the attack is played out end to end and the limiter tested.
"""

from __future__ import annotations

import random

import pytest
from harness import established, ms, sec

from synack.link.sim import Network
from synack.tcp.config import TcpConfig
from synack.tcp.rfc5961 import ChallengeAckLimiter
from synack.tcp.state import State
from synack.trace.events import SegmentDropped, SegmentSent
from synack.wire.ip import emit_packet
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, RST, SYN, Mss, TcpSegment, Timestamps

PORT = 80


def pair(seed: int = 1, **server_kw):
    net = Network(seed=seed)
    client = net.add_host("client", ["10.0.0.1"])
    server = net.add_host("server", ["10.0.0.2"], **server_kw)
    net.set_both("client", "server", delay=ms(10))
    lst = server.listen(PORT, net.now)
    conn = client.connect("10.0.0.2", PORT, net.now)
    assert net.run_until(lambda: lst.accept_queue, sec(1))
    peer = lst.accept()
    conn.send(b"hello", net.now)
    client.call(conn, net.now)
    assert net.run_until(lambda: peer.readable, sec(1))
    peer.receive(100, net.now)
    net.run_for(ms(100))
    return net, client, server, conn, peer


def forge(net: Network, conn, seg_kw: dict, at: int = 0) -> None:
    """Inject a segment that claims to come from the client ``conn`` to the server."""
    base = dict(src_port=conn.local_port, dst_port=PORT, seq=Seq(0), ack=Seq(0), flags=RST, wnd=0)
    base.update(seg_kw)
    net.inject("client", emit_packet(conn.local_addr, conn.remote_addr, TcpSegment(**base)), delay=at)


def server_drops(net: Network) -> list:
    return [e for e in net.recorder.events if isinstance(e, SegmentDropped) and e.host == "server"]


def challenge_acks(net: Network, peer) -> list:
    return [e for e in net.recorder.events if isinstance(e, SegmentSent) and e.host == "server"
            and e.seg.flags == ACK and not e.seg.payload and e.conn == peer.cid]


def test_a_blind_sweep_of_rsts_never_resets_the_connection():
    """RFC 9293 §3.10.7.4 (RFC 5961 §3): 2,000 random sequence numbers, the odds of a
    blind attacker, leave the connection ESTABLISHED; those that land in the window get
    challenge ACKs (sent to the real client, who ignores them)."""
    net, client, server, conn, peer = pair()
    rng = random.Random(5)
    for i in range(2000):
        forge(net, conn, dict(seq=Seq(rng.getrandbits(32))), at=i * ms(1))
    net.run_for(sec(3))
    assert peer.state is State.ESTABLISHED and conn.state is State.ESTABLISHED
    reasons = {d.reason for d in server_drops(net)}
    assert reasons <= {"out-of-window", "rst-not-exact", "challenge-ack-limit"}
    conn.send(b"still here", net.now)
    client.call(conn, net.now)
    assert net.run_until(lambda: peer.readable == 10, sec(1))


def test_only_an_rst_exactly_at_rcv_nxt_resets():
    net, client, server, conn, peer = pair()
    for off in (1, 100, 65000):
        forge(net, conn, dict(seq=peer.rcv_nxt + off))
    net.run_for(ms(5))
    assert peer.state is State.ESTABLISHED
    # (the first draws a challenge ACK; the next two come within the connection's 500 ms)
    assert [d.reason for d in server_drops(net)][-3:] == ["rst-not-exact"] + ["challenge-ack-limit"] * 2
    forge(net, conn, dict(seq=peer.rcv_nxt))
    net.run_for(ms(5))
    assert peer.state is State.CLOSED and peer.error.code == "reset"


def test_challenge_acks_are_limited_per_host_and_per_second():
    """RFC 5961 §7: over the host's limit (here 10 a second), in-window RSTs and SYNs are
    dropped without an answer; the next second the budget is back. The budget is shared by
    all the host's connections. (Each connection's own limit, one per 500 ms, is off here.)"""
    net, client, server, conn, peer = pair(challenge_ack_limit=10, config=TcpConfig(invalid_ratelimit=None))
    # a second connection on the same server host shares the budget
    conn2 = client.connect("10.0.0.2", PORT, net.now)
    lst = next(iter(server.listeners.values()))
    assert net.run_until(lambda: lst.accept_queue, sec(1))
    peer2 = lst.accept()
    net.run_for(sec(1) - net.now % sec(1))                          # start of a second
    before = len(challenge_acks(net, peer)) + len(challenge_acks(net, peer2))
    for i in range(8):
        forge(net, conn, dict(seq=peer.rcv_nxt + 1 + i), at=i * ms(10))
        forge(net, conn2, dict(seq=peer2.rcv_nxt + 1 + i), at=i * ms(10) + ms(1))
    net.run_for(ms(500))
    sent = len(challenge_acks(net, peer)) + len(challenge_acks(net, peer2)) - before
    limited = [d for d in server_drops(net) if d.reason == "challenge-ack-limit"]
    assert sent == 10 and len(limited) == 6
    assert server.challenge.suppressed == 6
    net.run_for(sec(1))
    ts = (Timestamps(peer.ts_recent + 1, 0),) if peer.ts_ok else ()   # (else RFC 7323 drops it first)
    forge(net, conn, dict(flags=SYN, seq=Seq(12345), wnd=65535, options=(Mss(1460),) + ts))
    net.run_for(ms(5))
    assert len(challenge_acks(net, peer)) + len(challenge_acks(net, peer2)) - before == 11


def test_a_syn_outside_the_window_also_draws_a_limited_challenge_ack():
    """RFC 5961 §4.2: "irrespective of the sequence number"; the throttle applies to it."""
    net, client, server, conn, peer = pair(challenge_ack_limit=1, config=TcpConfig(invalid_ratelimit=None))
    ts = (Timestamps(peer.ts_recent + 1, 0),) if peer.ts_ok else ()
    for i, seq in enumerate((peer.rcv_nxt + 2**31, peer.rcv_nxt - 5000)):
        forge(net, conn, dict(flags=SYN, seq=seq, wnd=65535, options=(Mss(1460),) + ts), at=i * ms(1))
    net.run_for(ms(5))
    assert [d.reason for d in server_drops(net)][-2:] == ["syn-in-synchronized", "challenge-ack-limit"]
    assert peer.state is State.ESTABLISHED


def test_data_with_a_stale_ack_is_not_accepted_even_with_nothing_outstanding():
    """RFC 9293 §3.10.7.4 fifth, MAY-12 (RFC 5961 §5): a blind data injection must guess
    the ACK value too; one below SND.UNA - MAX.SND.WND is refused, its data not delivered."""
    net, client, server, conn, peer = pair()
    assert peer.snd_una == peer.snd_nxt                           # nothing of the server's in flight
    ts = (Timestamps(peer.ts_recent + 1, 0),) if peer.ts_ok else ()
    forge(net, conn, dict(flags=ACK, seq=peer.rcv_nxt, ack=peer.snd_una - peer.max_snd_wnd - 1,
                          wnd=65535, payload=b"injected", options=ts))
    net.run_for(ms(5))
    assert server_drops(net)[-1].reason == "ack-too-old" and peer.readable == 0


def test_the_limiter_counts_in_fixed_windows():
    lim = ChallengeAckLimiter(3, period=sec(1))
    assert [lim.allow(t) for t in (0, 1, 2, 3, 999_999_999)] == [True, True, True, False, False]
    assert lim.allow(sec(1)) and (lim.sent, lim.suppressed) == (4, 2)
    unlimited = ChallengeAckLimiter(None)
    assert all(unlimited.allow(0) for _ in range(10_000))
    with pytest.raises(ValueError, match="limit"):
        ChallengeAckLimiter(-1)
    with pytest.raises(ValueError, match="period"):
        ChallengeAckLimiter(5, period=0)


def test_a_tcb_without_a_limiter_always_answers():
    """The core without a host and without its own limit: every challenge is sent."""
    t = established(invalid_ratelimit=None)
    for i in range(50):
        t.peer_sends("R", seq=t.peer_nxt + 10 + i)
        t.expect_sent(".", seq=t.our_nxt, ack=t.peer_nxt, len=0)
    t.expect_state("ESTABLISHED")
