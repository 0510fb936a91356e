"""What a Host does with TCP segments larger than one MSS, as a TUN link with offloads
hands them over: Linux's TSO sends super-segments of up to 64 KB (one IP packet, one TCP
header, ``gso_size`` octets per wire segment), and the link gives each to the Host whole.

A scripted peer (hand-built packets, as the kernel would send them) talks to a real Host;
the assertions read the Host's answers on the wire: what is delivered to the application,
which ACK goes out and when, and the SACK blocks (RFC 2018) around holes that fall inside
the range of one super-segment.
"""

from __future__ import annotations

import os

import pytest

from synack.stack.host import Host
from synack.tcp.config import TcpConfig
from synack.timeunits import ms
from synack.wire.ip import emit_packet, parse_packet
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, FIN, PSH, SYN, Mss, Nop, Sack, SackPermitted, TcpSegment, Timestamps, WindowScale

SYNACK, KERNEL = "10.99.0.2", "10.99.0.1"
SYNACK6, KERNEL6 = "fd00:99::2", "fd00:99::1"
PORT, PEER_PORT = 5001, 40123
ISN = 0xFFFF0000            # the peer's ISN: its data wraps past 2**32 inside the first super-segment
MSS = 1460
GSO = MSS - 12              # gso_size beside timestamps: 1448 octets per wire segment
SUPER = 45 * GSO            # 65160 octets: the largest TSO segment of an IPv4 packet at this MSS


class Peer:
    """The kernel's side, scripted: builds its segments and reads the Host's answers."""

    def __init__(self, v6: bool = False, rcv_buf: int = 1 << 20, **knobs) -> None:
        self.us, self.them = (SYNACK6, KERNEL6) if v6 else (SYNACK, KERNEL)
        # (the SYN,ACK offers all 65535 octets, so that a 64 KB super-segment fits at once also
        # over IPv6, where whole segments of 1428 would make it 64260)
        self.host = Host("synack", [self.us], seed=1,
                         config=TcpConfig(rcv_buf=rcv_buf, syn_window_whole_segments=False, **knobs))
        self.now = 0
        self.listener = self.host.listen(PORT, self.now)
        self.ts = 1000
        self.deliver(self.segment(0, SYN, options=(Mss(MSS), SackPermitted(), Timestamps(self.ts, 0), Nop(),
                                                    WindowScale(7)), seq=ISN))
        synack = self.answers()[0]
        assert synack.flags == SYN | ACK
        self.irs = int(synack.seq)
        ts = synack.option(Timestamps)
        assert isinstance(ts, Timestamps)
        self.tsecr = ts.tsval
        self.deliver(self.segment(1, ACK))
        assert self.answers() == []
        conn = self.listener.accept()
        assert conn is not None
        self.conn = conn

    def segment(self, offset: int, flags: int = ACK | PSH, payload: bytes = b"", *, seq: int | None = None,
                options: tuple | None = None) -> TcpSegment:
        """A segment whose data starts ``offset`` octets into the peer's stream."""
        s = Seq(seq if seq is not None else (ISN + 1 + offset) & 0xFFFFFFFF)
        ack = Seq((self.irs + 1) & 0xFFFFFFFF) if flags & ACK else Seq(0)
        if options is None:
            options = (Nop(), Nop(), Timestamps(self.ts, self.tsecr))
        return TcpSegment(PEER_PORT, PORT, s, ack, flags, 502, payload, options)

    def deliver(self, seg: TcpSegment) -> None:
        self.host.deliver(emit_packet(self.them, self.us, seg), self.now)

    def answers(self) -> list[TcpSegment]:
        return [parse_packet(p)[1] for p in self.host.take_packets()]

    def acked(self, seg: TcpSegment) -> int:
        """The octets of the peer's stream that ``seg`` acknowledges."""
        return (int(seg.ack) - ISN - 1) & 0xFFFFFFFF

    def sacked(self, seg: TcpSegment) -> list[tuple[int, int]]:
        """SACK blocks of ``seg`` as stream offsets, in the order the Host sent them."""
        opt = seg.option(Sack)
        if opt is None:
            return []
        base = ISN + 1
        return [((int(a) - base) & 0xFFFFFFFF, (int(b) - base) & 0xFFFFFFFF) for a, b in opt.blocks]

    def advance(self, dt: int) -> None:
        self.now += dt
        d = self.host.next_deadline()
        if d is not None and d <= self.now:
            self.host.on_timeout(self.now)


DATA = os.urandom(4 * SUPER)


@pytest.fixture(params=[False, True], ids=["ipv4", "ipv6"])
def peer(request):
    return Peer(v6=request.param)


def test_a_64k_super_segment_is_delivered_whole_and_acked_at_once(peer):
    peer.deliver(peer.segment(0, payload=DATA[:SUPER]))
    out = peer.answers()
    # one ACK, immediately (it holds far more than two full-sized segments), for all of it
    assert len(out) == 1 and out[0].flags == ACK and not out[0].payload
    assert peer.acked(out[0]) == SUPER
    assert peer.conn.receive(1 << 20, peer.now) == DATA[:SUPER]


def test_back_to_back_super_segments_fill_a_large_window(peer):
    for i in range(4):
        peer.deliver(peer.segment(i * SUPER, payload=DATA[i * SUPER:(i + 1) * SUPER]))
    acks = peer.answers()
    assert [peer.acked(a) for a in acks] == [SUPER, 2 * SUPER, 3 * SUPER, 4 * SUPER]
    assert peer.conn.receive(1 << 20, peer.now) == DATA


def test_a_super_segment_beyond_a_hole_is_sacked_as_one_block(peer):
    # the first wire segment is lost; the rest of the window arrives as one super-segment
    peer.deliver(peer.segment(GSO, payload=DATA[GSO:SUPER]))
    ack = peer.answers()[-1]
    assert peer.acked(ack) == 0                                # a duplicate ACK, at once
    assert peer.sacked(ack) == [(GSO, SUPER)]
    assert peer.conn.receive(1 << 20, peer.now) == b""
    peer.deliver(peer.segment(0, payload=DATA[:GSO]))          # the retransmission fills the hole
    ack = peer.answers()[-1]
    assert peer.acked(ack) == SUPER and peer.sacked(ack) == []
    assert peer.conn.receive(1 << 20, peer.now) == DATA[:SUPER]


def test_holes_inside_the_range_of_one_super_segment_are_sacked(peer):
    """GSO split the super-segment on some wire and two of its 45 segments were lost: what
    arrives is the super-segment's range with two holes, in three pieces."""
    a, b, c, d = 10 * GSO, 11 * GSO, 30 * GSO, 32 * GSO
    peer.deliver(peer.segment(0, payload=DATA[:a]))
    assert peer.acked(peer.answers()[-1]) == a
    peer.deliver(peer.segment(b, payload=DATA[b:c]))
    ack = peer.answers()[-1]
    assert peer.acked(ack) == a and peer.sacked(ack) == [(b, c)]
    peer.deliver(peer.segment(d, payload=DATA[d:SUPER]))
    ack = peer.answers()[-1]
    assert peer.acked(ack) == a and peer.sacked(ack) == [(d, SUPER), (b, c)]   # the newest block first
    peer.deliver(peer.segment(a, payload=DATA[a:b]))
    ack = peer.answers()[-1]
    assert peer.acked(ack) == c and peer.sacked(ack) == [(d, SUPER)]
    peer.deliver(peer.segment(c, payload=DATA[c:d]))
    ack = peer.answers()[-1]
    assert peer.acked(ack) == SUPER and peer.sacked(ack) == []
    assert peer.conn.receive(1 << 20, peer.now) == DATA[:SUPER]


def test_a_retransmitted_super_segment_over_data_already_held_is_reported_as_dsack(peer):
    """A retransmission that covers the hole and data already received: the cumulative
    ACK jumps past all of it, and RFC 2883 D-SACK names the part that came twice."""
    peer.deliver(peer.segment(4 * GSO, payload=DATA[4 * GSO:8 * GSO]))
    peer.answers()
    peer.deliver(peer.segment(0, payload=DATA[:8 * GSO]))
    ack = peer.answers()[-1]
    assert peer.acked(ack) == 8 * GSO
    assert peer.sacked(ack) == [(4 * GSO, 8 * GSO)]
    assert peer.conn.receive(1 << 20, peer.now) == DATA[:8 * GSO]


def test_a_super_segment_that_ends_with_fin_closes_the_stream(peer):
    peer.deliver(peer.segment(0, ACK | PSH | FIN, DATA[:SUPER]))
    ack = peer.answers()[-1]
    assert peer.acked(ack) == SUPER + 1
    assert peer.conn.receive(1 << 20, peer.now) == DATA[:SUPER]
    assert peer.conn.at_eof


def test_a_super_segment_beyond_the_offered_window_is_trimmed_to_it():
    """With a 32 KB receive buffer, a TSO segment larger than the window is cut
    at the window's right edge (RFC 9293 §3.10.7.4): what fits is taken and acknowledged."""
    p = Peer(rcv_buf=32768)
    p.deliver(p.segment(0, payload=DATA[:SUPER]))
    ack = p.answers()[-1]
    got = p.conn.receive(1 << 20, p.now)
    assert 0 < len(got) <= 32768
    assert got == DATA[:len(got)]
    assert p.acked(ack) == len(got)


@pytest.mark.parametrize("v6", [False, True], ids=["ipv4", "ipv6"])
def test_a_lone_small_segment_still_waits_for_the_delayed_ack(v6):
    """The accounting is in octets: a super-segment is acknowledged at once, a segment
    smaller than two full-sized ones waits for the delayed-ACK timer (quick-ACK mode off,
    which would ACK the first segments of the connection at once)."""
    peer = Peer(v6=v6, quick_acks=0)
    peer.deliver(peer.segment(0, payload=DATA[:1000]))
    assert peer.answers() == []
    peer.advance(ms(40))
    assert [peer.acked(a) for a in peer.answers()] == [1000]
