"""A peer's MSS option cannot make us send tiny segments (RFC 9293 §3.7.1 MUST-15/MUST-16,
with Linux's floor since CVE-2019-11479): an MSS of 0 counts as no option (536 octets), and
anything below 48 octets (Linux's tcp_min_snd_mss) is raised to 48."""

from __future__ import annotations

import pytest
from harness import Tcb

from synack.tcp.handshake import MIN_SND_MSS
from synack.wire.tcp import Mss


@pytest.mark.parametrize("peer_mss, smss", [(0, 536), (1, MIN_SND_MSS), (47, MIN_SND_MSS), (48, 48), (100, 100)],
                         ids=["zero-is-no-option", "one", "below-the-floor", "at-the-floor", "above-the-floor"])
def test_syn_sent_a_tiny_peer_mss_gives_segments_of_at_least_the_floor(isns, peer_mss, smss):
    t = Tcb(isns, nodelay=True, timestamps=False).syn_sent()
    t.peer_sends("S.", seq=t.irs, ack=t.iss + 1, options=(Mss(peer_mss),), wnd=65535)
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 1)
    t.send(b"x" * 3000)
    sizes = [len(seg.payload) for _, seg, _ in t.drain()]
    # (the initial window, ten segments, is what leaves before the first ACK)
    assert sizes == [smss] * min(10, 3000 // smss) + ([3000 % smss] if smss * 10 > 3000 else []), sizes


@pytest.mark.parametrize("peer_mss", [0, 1])
def test_listen_a_syn_with_a_tiny_mss_gets_no_one_octet_segments(isns, peer_mss):
    t = Tcb(isns, nodelay=True, timestamps=False).listen()
    t.peer_sends("S", seq=t.irs, ack=0, options=(Mss(peer_mss),))
    t.expect_sent("S.", seq=t.iss, ack=t.irs + 1)
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 1)
    t.expect_state("ESTABLISHED")
    t.send(b"y" * 1000)
    first = t.expect_sent(".", seq=t.iss + 1)
    assert len(first.payload) == (536 if peer_mss == 0 else MIN_SND_MSS)
