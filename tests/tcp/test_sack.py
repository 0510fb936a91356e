"""Selective acknowledgments: negotiation and the receiver's blocks (RFC 2018), D-SACK
(RFC 2883), and the sender's scoreboard (RFC 6675 §4: IsLost, SetPipe, NextSeg).

The receiver cases replay the RFCs' own examples. In them a data segment is written by its
first and last octet as the RFCs do ("3000-3499") and an ACK as "ACK, SACK=left-right, ..."
with right edges exclusive; the numbers are offsets from the peer's first data octet (our
IRS + 1) plus the examples' base, so each case runs with IRS near 2**32 as well."""

from __future__ import annotations

import pytest
from harness import ms
from optpeer import OptTcb, opt_established, sack_of

from synack.tcp.sack import EVER_RTX, LOST, RETRANS, SACKED, SackReceiver, Scoreboard, is_dsack
from synack.wire.tcp import SackPermitted

# ----------------------------------------------------------------- negotiation (RFC 2018 §2)


def test_syn_offers_sack_permitted(isns):
    t = OptTcb(isns)
    t.open_active()
    assert any(type(o) is SackPermitted for o in t.expect_sent("S").options)


def test_sack_is_used_only_when_both_offer_it(isns):
    for ours, theirs, used in ((True, True, True), (True, False, False), (False, True, False)):
        t = opt_established(isns, sack=ours, peer_sack=theirs)
        assert t.conn.sack_ok is used
        t.peer_sends("P.", seq=t.irs + 11, data=b"later")  # out of order
        ack = t.expect_sent(".", ack=t.irs + 1)
        assert bool(sack_of(ack)) is used


def test_syn_received_answers_sack_permitted_only_if_offered(isns):
    for offered in (True, False):
        t = OptTcb(isns, peer_sack=offered).listen()
        t.peer_sends("S", seq=t.irs)
        assert any(type(o) is SackPermitted for o in t.expect_sent("S.").options) is offered


# ----------------------------------------------------------------- receiver: RFC 2018 §6

def replay(t, steps, base):
    """Send each (first, last) data segment of ``steps`` (None: lost) and check the ACK
    against (ack, blocks)."""
    origin = t.irs + 1

    def seq(n):
        return origin + (n - base)

    for seg, want in steps:
        first, last = seg
        t.peer_sends("P.", seq=seq(first), data=bytes(last - first + 1))
        ack = t.expect_sent(".")
        got = (int(ack.ack), tuple((int(a), int(b)) for a, b in sack_of(ack)))
        expect = (int(seq(want[0])), tuple((int(seq(a)), int(seq(b))) for a, b in want[1:]))
        assert got == expect, f"after {first}-{last}: ACK {got}, RFC says {expect}"
        t.expect_silence()


def test_rfc2018_case_2_first_segment_dropped(isns):
    """RFC 2018 §6, case 2: "The first segment is dropped but the remaining 7 are
    received"; each ACK is 5000 with one block growing from 5500."""
    t = opt_established(isns)
    steps = [((x, x + 499), (5000, (5500, x + 500))) for x in range(5500, 9000, 500)]
    replay(t, steps, 5000)


def test_rfc2018_case_3_every_other_segment_dropped_then_repaired(isns):
    """RFC 2018 §6, case 3: the 2nd, 4th, 6th and 8th segments are dropped; the blocks come
    most recent first; then the 4th and the 2nd arrive."""
    t = opt_established(isns)
    replay(t, [
        ((5000, 5499), (5500,)),
        ((6000, 6499), (5500, (6000, 6500))),
        ((7000, 7499), (5500, (7000, 7500), (6000, 6500))),
        ((8000, 8499), (5500, (8000, 8500), (7000, 7500), (6000, 6500))),
        ((6500, 6999), (5500, (6000, 7500), (8000, 8500))),   # "the 4th packet is received"
        ((5500, 5999), (7500, (8000, 8500))),                  # "the 2nd segment is received"
    ], 5000)


def test_sack_blocks_fit_beside_timestamps(isns):
    """RFC 2018 §3: at most 4 blocks, 3 beside the timestamps option (40 octets)."""
    for ts, most in ((True, 3), (False, 4)):
        t = opt_established(isns, peer_ts=ts, timestamps=ts)
        for k in range(6):
            t.peer_sends("P.", seq=t.irs + 2 + 2 * k, data=b"x")
        blocks = [sack_of(s) for _, s, _ in t.drain()]
        assert max(len(b) for b in blocks) == most
        first = [b[0] for b in blocks]
        assert [(a - int(t.irs)) % 2**32 for a, _ in first] == [2 + 2 * k for k in range(6)]  # newest first


# ----------------------------------------------------------------- receiver: RFC 2883 §4

def test_rfc2883_example_1_duplicate_below_the_cumulative_ack(isns):
    """§4.1.1: the ACKs were lost; the retransmitted 3000-3499 is reported in a D-SACK."""
    t = opt_established(isns)
    replay(t, [((3000, 3499), (3500,)), ((3500, 3999), (4000,)),
               ((3000, 3499), (4000, (3000, 3500)))], 3000)


def test_rfc2883_example_2_duplicate_and_out_of_order(isns):
    """§4.1.2: a D-SACK first, then the out-of-order block."""
    t = opt_established(isns)
    replay(t, [((3000, 3499), (3500,)), ((3500, 3999), (4000,)),
               ((4500, 4999), (4000, (4500, 5000))),
               ((3000, 3499), (4000, (3000, 3500), (4500, 5000)))], 3000)


def test_rfc2883_example_3_duplicate_of_an_out_of_order_segment(isns):
    """§4.1.3: the D-SACK block, then the larger block that contains it."""
    t = opt_established(isns)
    replay(t, [((3000, 3499), (3500,)), ((3500, 3999), (4000,)),
               ((4500, 4999), (4000, (4500, 5000))),
               ((5000, 5499), (4000, (4500, 5500))),
               ((4500, 4999), (4000, (4500, 5000), (4500, 5500)))], 3000)


def test_rfc2883_example_4_single_duplicate_subsegment(isns):
    """§4.2.1: a repacketized retransmission carries a part already held."""
    t = opt_established(isns)
    replay(t, [((500, 999), (1000,)),
               ((2000, 2499), (1000, (2000, 2500))),
               ((1000, 2499), (2500, (2000, 2500))),
               ((1000, 1499), (2500, (1000, 1500)))], 500)


def test_rfc2883_example_5_multiple_duplicate_subsegments(isns):
    """§4.2.2."""
    t = opt_established(isns)
    replay(t, [((500, 999), (1000,)),
               ((3000, 3499), (1000, (3000, 3500))),
               ((1000, 2499), (2500, (3000, 3500))),
               ((2000, 2499), (2500, (2000, 2500), (3000, 3500))),
               ((1000, 1499), (2500, (1000, 1500), (3000, 3500)))], 500)


def test_rfc2883_example_6_duplicate_subsegment_of_out_of_order_data(isns):
    """§4.2.3."""
    t = opt_established(isns)
    replay(t, [((500, 999), (1000,)),
               ((3500, 3999), (1000, (3500, 4000))),
               ((1500, 2999), (1000, (1500, 3000), (3500, 4000))),
               ((1500, 1999), (1000, (1500, 2000), (1500, 3000), (3500, 4000))),
               ((2500, 2999), (1000, (2500, 3000), (1500, 3000), (3500, 4000)))], 500)


def test_d_sack_is_reported_once(isns):
    """RFC 2883 §4 (2): each duplicate is reported in one ACK only."""
    t = opt_established(isns)
    t.peer_sends("P.", data=b"abc")
    t.expect_sent(".", ack=t.irs + 4)
    t.peer_sends("P.", seq=t.irs + 1, data=b"abc")
    assert sack_of(t.expect_sent(".", ack=t.irs + 4)) == ((int(t.irs + 1), int(t.irs + 4)),)
    t.send(b"reply")
    assert sack_of(t.expect_sent("P.")) == ()


def test_sack_receiver_unit_most_recent_first():
    sr = SackReceiver()
    held = [(10, 20), (30, 40), (50, 60)]
    for s, e in ((30, 40), (10, 20), (50, 60)):
        sr.arrived(s, e)
    assert sr.blocks(held, 4) == [(50, 60), (10, 20), (30, 40)]
    sr.arrived(40, 45)  # extends a block: it comes first again
    assert sr.blocks([(10, 20), (30, 45), (50, 60)], 2) == [(30, 45), (50, 60)]


# ----------------------------------------------------------------- sender: RFC 6675 §4

SMSS = 1000


def board(sacked=(), n=10, retrans=()):
    """Segments 0..n-1 of SMSS octets, offset k*SMSS; ``sacked`` indexes are SACKed."""
    sb = Scoreboard()
    for k in range(n):
        sb.sent(k * SMSS, (k + 1) * SMSS, k)
    sb.sack([(k * SMSS, (k + 1) * SMSS) for k in sacked], 0)
    for k in retrans:
        sb.retransmitted(k * SMSS, (k + 1) * SMSS, 100 + k)
    return sb


ISLOST = [
    # (what, SACKed segments, segment asked about, IsLost)
    ("nothing SACKed", (), 0, False),
    ("two SACKed above: not DupThresh", (2, 3), 0, False),
    ("three SACKed above", (2, 3, 4), 0, True),
    ("three SACKed above, not adjacent", (2, 5, 8), 1, True),
    ("SACKs below do not count", (0, 1, 2), 3, False),
    ("only two of three above", (2, 3, 4), 3, False),
]


@pytest.mark.parametrize("what,sacked,seg,lost", ISLOST, ids=[c[0] for c in ISLOST])
def test_rfc6675_islost(what, sacked, seg, lost):
    assert board(sacked).is_lost(seg * SMSS, SMSS) is lost


def test_rfc6675_islost_counts_octets_too():
    """More than (DupThresh - 1) * SMSS octets SACKed above means lost, whatever the count."""
    sb = Scoreboard()
    sb.sent(0, 1000, 0)
    sb.sent(1000, 3500, 1)  # one large SACKed segment of 2500 octets > 2 * SMSS
    sb.sack([(1000, 3500)], 0)
    assert sb.is_lost(0, SMSS)


PIPE = [
    # (what, SACKed, retransmitted, pipe in segments): RFC 6675 SetPipe()
    ("all in flight", (), (), 10),
    ("below three SACKed segments all are lost", (7, 8, 9), (), 0),
    ("a lost segment counts again once retransmitted", (7, 8, 9), (0,), 1),
    ("SACKed and lost segments are out of the network", (3, 4, 5), (), 4),  # 6..9 in flight
    ("two SACKs: nothing lost yet", (8, 9), (), 8),
]


@pytest.mark.parametrize("what,sacked,retrans,pipe", PIPE, ids=[c[0] for c in PIPE])
def test_rfc6675_setpipe(what, sacked, retrans, pipe):
    sb = board(sacked)
    sb.mark_lost(0, SMSS)
    for k in retrans:
        sb.retransmitted(k * SMSS, (k + 1) * SMSS, 100)
    assert sb.pipe() == pipe * SMSS


def test_rfc6675_nextseg_rule_1_takes_lost_segments_in_order():
    sb = board((3, 4, 5))
    assert sb.mark_lost(0, SMSS) == 3          # 0, 1, 2
    order = []
    while (r := sb.next_lost()) is not None:
        order.append(r.start // SMSS)
        sb.retransmitted(r.start, r.end, 100)
    assert order == [0, 1, 2]


def test_rfc6675_nextseg_rule_3_offers_an_unsacked_segment_not_yet_lost():
    """Rule (3): below the highest SACKed octet, above HighRxt, not SACKed, not yet lost."""
    sb = board((2, 6))
    assert sb.mark_lost(0, SMSS) == 0
    assert sb.next_lost() is None
    r = sb.next_rule3(0)
    assert r.start == 0
    assert sb.next_rule3(2 * SMSS).start == 3 * SMSS
    assert sb.next_rule3(6 * SMSS) is None       # nothing SACKed above it


def test_mark_lost_respects_highrxt():
    """Rule (1.a): S2 > HighRxt: what was already retransmitted is not marked again."""
    sb = board((5, 6, 7))
    assert sb.mark_lost(3 * SMSS, SMSS) == 2     # 3 and 4 only
    assert [r.start // SMSS for r in sb.segs if r.flags & LOST] == [3, 4]


def test_scoreboard_cumulative_ack_and_partial_segments():
    sb = board((4,))
    gone = sb.advance(2500)                       # segments 0, 1 and half of 2
    assert [r.start for r in gone] == [0, 1000]
    assert sb.segs[0].start == 2500 and sb.sacked_bytes == SMSS
    sb.advance(5000)                              # the SACKed segment 4 goes too
    assert sb.sacked_bytes == 0 and sb.nsacked == 0


def test_sack_blocks_only_mark_whole_segments():
    sb = board()
    sb.sack([(1500, 3000)], 0)                    # half of 1, all of 2
    assert [r.start // SMSS for r in sb.segs if r.flags & SACKED] == [2]


def test_renege_forgets_every_sack():
    """RFC 2018 §8: a receiver may discard SACKed data; the sender notices when SND.UNA
    reaches a SACKed segment."""
    sb = board((3, 4))
    sb.advance(3000)
    assert sb.renege() and sb.nsacked == 0 and not any(r.flags & SACKED for r in sb.segs)


def test_retransmission_flags():
    sb = board(retrans=(2,))
    assert sb.segs[2].flags & (RETRANS | EVER_RTX) == RETRANS | EVER_RTX
    sb.mark_all_lost(0)
    assert sb.segs[2].flags & (LOST | RETRANS) == LOST  # to be sent again after a timeout


D_SACK = [
    ("first block below the cumulative ACK", [(100, 200)], 300, True),
    ("first block inside the second", [(500, 600), (400, 700)], 300, True),
    ("an ordinary block", [(500, 600)], 300, False),
    ("two ordinary blocks", [(800, 900), (500, 600)], 300, False),
]


@pytest.mark.parametrize("what,blocks,una,dsack", D_SACK, ids=[c[0] for c in D_SACK])
def test_rfc2883_section_5_sender_recognizes_d_sack(what, blocks, una, dsack):
    assert is_dsack(blocks, una) is dsack


def test_sack_option_of_an_established_peer_is_parsed(isns):
    """The blocks a peer sends reach the scoreboard as sequence numbers converted to
    stream offsets; blocks past SND.NXT are ignored."""
    t = opt_established(isns, nodelay=True)
    t.send(bytes(3000))
    t.drain()
    t.peer_sends(".", ack=t.iss + 1, sacks=[(t.iss + 1449, t.iss + 2897), (t.iss + 5000, t.iss + 6000)])
    assert t.status()["sacked"] == 1448


@pytest.mark.parametrize("layout", ["sack-first", "sack-between-nops", "sack-after-ts-and-nop"])
def test_established_sack_option_anywhere_in_the_list_triggers_fast_retransmit(isns, layout):
    """RFC 9293 §3.2 MUST-64, RFC 2018 §3: the SACK option counts wherever it stands among
    the options. Segment 0 of four is lost; three duplicate ACKs whose SACK blocks cover
    segments 1, 1-2 and 1-3 draw the fast retransmission of segment 0 at once, and the
    SACKed segments are not sent again."""
    from synack.wire.seq import Seq
    from synack.wire.tcp import Nop, Sack, TcpOption, Timestamps

    ts = layout == "sack-after-ts-and-nop"
    t = opt_established(isns, rtt=ms(20), nodelay=True, congestion="newreno", peer_ts=ts)
    mss = 1448 if ts else 1460
    t.send(bytes(4 * mss))
    t.drain()
    t.advance(ms(20))
    una = t.iss + 1
    for k in (2, 3, 4):
        blk = Sack(((Seq(una + mss), Seq(una + k * mss)),))
        opts: tuple[TcpOption, ...]
        if layout == "sack-first":
            opts = (blk, Nop(), Nop())
        elif layout == "sack-between-nops":
            opts = (Nop(), blk, Nop())
        else:
            opts = (Timestamps(t.peer_tsval, t.our_last_tsval()), Nop(), Nop(), blk)
        t.peer_sends(".", ack=una, options=opts)
    rtx = t.expect_sent(".", seq=una, cause="fast-retransmit")
    assert len(rtx.payload) == mss
    t.advance(ms(150))
    assert [(int(s.seq - una), c) for _, s, c in t.sent if c] == [(0, "fast-retransmit")]
