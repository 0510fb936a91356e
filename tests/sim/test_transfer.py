"""Bulk transfers end to end through the simulator (STYLE "Tests that read like the RFC" 5).

Invariants checked on every transfer: the octets arrive intact and in order (length and
SHA-256), nobody sends an RST that the test did not script, corrupted packets die at the
TCP checksum (RFC 9293 §3.1 MUST-2/3), cwnd never drops below one SMSS (RFC 5681 §3.1),
and both ends reach CLOSED, the active closer through TIME-WAIT for 2*MSL (RFC 9293 §3.6.1
MUST-13). Every scenario runs with RFC 6528 ISNs and with ISNs near 2**32.

The application closes in one of two ways (``transfer(close=...)``):
"after-send" is ``sendall(); close()``: the FIN is queued behind data not yet on the wire;
"after-ack" closes once the peer has acknowledged everything.
"""

from __future__ import annotations

import hashlib

import pytest
from simhelp import (CLIENT, SERVER, CLIENT_WRAP_ISN,
                     ISNS, LOSSY, RST, SERVER_WRAP_ISN, V4, V6, app_close, assert_closed_cleanly, close_time, drops,
                     has, open_connection, payload, run_until_closed, sent, transfer, two_hosts)

from synack.trace.events import CongestionChanged
from synack.timeunits import ms, sec

BIG = 10 * 1000 * 1000

CLOSE = pytest.mark.parametrize("close", [
    pytest.param("after-send", id="close-after-send"),
    pytest.param("after-ack", id="close-after-ack"),
])


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assert_lossy_transfer_intact(addrs, wrap: bool, close: str, size: int, seed: int) -> None:
    net, client, server = two_hosts(seed, wrap=wrap, addrs=addrs, **LOSSY)
    c, s = open_connection(net, client, server)
    if wrap:
        assert (c.iss, s.iss) == (CLIENT_WRAP_ISN, SERVER_WRAP_ISN)
    up, down = payload(size, 1), payload(size, 2)

    got_by_client, got_by_server = transfer(net, c, s, up, down, close=close)

    assert (len(got_by_server), sha(got_by_server)) == (size, sha(up))
    assert (len(got_by_client), sha(got_by_client)) == (size, sha(down))
    run_until_closed(net, c, s)
    assert_closed_cleanly(net, c, s)
    # No RST while both connections were open. Once one side has deleted its TCB, a
    # late duplicate that reaches its listener is answered with an RST (RFC 9293
    # §3.10.7.2) -- legitimate, and the peer in TIME-WAIT may close on it (§3.10.7.4).
    closed_at = {CLIENT: close_time(net, c, CLIENT), SERVER: close_time(net, s, SERVER)}
    early = [e for e in sent(net) if has(e.seg, RST) and e.t < closed_at[e.host]]
    assert early == []
    # The path really was impaired, and the checksum caught the corruption.
    assert net.dropped.get("link-loss", 0) > 0
    assert drops(net, "bad-checksum"), "no corrupted packet was dropped by the TCP checksum"
    assert c.retransmits > 0 and s.retransmits > 0
    # RFC 5681 §3.1: the loss window is one SMSS; cwnd never goes below it.
    for e in net.recorder.events:
        if type(e) is CongestionChanged:
            smss = c.eff_snd_mss if e.host == CLIENT else s.eff_snd_mss  # SMSS excludes options
            assert e.cwnd >= smss, e


@pytest.mark.slow
@CLOSE
@ISNS
def test_10mb_each_way_through_loss_reordering_duplication_corruption(wrap, close):
    assert_lossy_transfer_intact(V4, wrap, close, BIG, seed=7)


def ipv6_cases():
    """Two seeds, each with both ways of closing. Seed 8 leaves a 720-octet segment at the
    head of the client's queue with unsent data behind it when an RTO fires."""
    for seed in (7, 8):
        for close in ("after-send", "after-ack"):
            yield pytest.param(seed, close, id=f"seed-{seed}-close-{close}")


@pytest.mark.slow
@pytest.mark.parametrize("seed, close", list(ipv6_cases()))
@ISNS
def test_10mb_each_way_over_ipv6(wrap, seed, close):
    assert_lossy_transfer_intact(V6, wrap, close, BIG, seed=seed)


@ISNS
def test_1mb_at_10mbps_takes_at_least_the_serialisation_time(wrap):
    net, client, server = two_hosts(3, wrap=wrap, delay=ms(25), bandwidth_bps=10_000_000)
    c, s = open_connection(net, client, server)
    data = payload(1_000_000)
    start = net.now

    _, got = transfer(net, c, s, data, b"", close=None)

    elapsed = net.now - start
    assert got == data
    # 1 MB * 8 / 10 Mbit/s = 0.8 s of payload alone, more with headers.
    assert elapsed >= sec(0.8)
    # The 64 KiB window nearly fills the 62.5 KB bandwidth-delay product, so the transfer
    # runs close to the link rate: well under twice the serialisation time.
    assert elapsed < sec(1.6), elapsed
    assert net.dropped == {}  # the 64 KiB window never overflows the 100-packet queue
    app_close(net, c)
    assert net.run_until(lambda: s.at_eof, sec(5))
    app_close(net, s)
    run_until_closed(net, c, s)
    assert_closed_cleanly(net, c, s)


# ---- the bug the "after-send" runs hit, in its smallest forms (no impairments) -------------

@ISNS
def test_data_queued_at_close_is_sent_after_peer_fin_in_fin_wait_1(wrap):
    # Both close at once; the client's 20 000 octets exceed its initial window (10 SMSS),
    # so 5 400 are still queued when the server's FIN moves it to CLOSING.
    net, client, server = two_hosts(1, wrap=wrap)
    c, s = open_connection(net, client, server)
    data = payload(20_000)

    _, got = transfer(net, c, s, data, b"", close="after-send", timeout=sec(100))

    assert got == data


@ISNS
def test_data_queued_at_close_in_close_wait_is_sent_from_last_ack(wrap):
    # Half-close: the server is done first; the client then sends and closes (LAST-ACK)
    # with 5 400 octets beyond its initial window still queued.
    net, client, server = two_hosts(1, wrap=wrap)
    c, s = open_connection(net, client, server)
    app_close(net, s)
    assert net.run_until(lambda: c.at_eof, sec(5))
    data = payload(20_000)

    _, got = transfer(net, c, s, data, b"", close="after-send", timeout=sec(100))

    assert got == data
